//! A soak's folder: what it holds and where.
//!
//! ```text
//! <soak dir>/soak.toml            the test every seed runs (a resumed soak must match it)
//! <soak dir>/seeds/<seed>/        that seed's own store: <test>/<time>-seed<seed>/, latest
//! <soak dir>/seeds/<seed>/run.log the output of its `squall run`
//! <soak dir>/soak.json            the summary: a record per seed, findings by signature
//! <soak dir>/index.html           the same, as a page: a row per seed, links to each run
//! ```
//!
//! Each seed has a store of its own, so runs at once never race on a store's `latest`
//! links, and a rerun of a seed (resumed after an interruption) lands next to its first try.
//! The default folder is `<store>/soak-<test>-<hash>`, the hash that of the test's
//! configuration, so the same soak run again finds its seeds and another soak never does.

use crate::config::TestConfig;
use crate::soak::Shard;
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The file naming the test a soak folder holds.
pub const TEST_FILE: &str = "soak.toml";

/// A soak's folder.
#[derive(Clone, Debug)]
pub struct SoakDir {
    /// The folder.
    pub path: PathBuf,
}

impl SoakDir {
    /// The soak folder at `path` (not created).
    pub fn at(path: impl Into<PathBuf>) -> SoakDir {
        SoakDir { path: path.into() }
    }

    /// The default folder of a soak of `cfg` (its shard `shard`): `<store>/soak-<test>-<hash>`,
    /// with `-shard<I>of<N>` for a shard.
    pub fn default_for(cfg: &TestConfig, shard: Shard) -> SoakDir {
        let mut name = format!("soak-{}-{}", cfg.test_name(), config_hash(cfg));
        if !shard.is_whole() {
            name += &format!("-shard{}of{}", shard.index, shard.total);
        }
        SoakDir::at(cfg.store.join(name))
    }

    /// Creates the folder for a soak of `cfg`, or checks that the one there holds a soak of
    /// the same test (so a resumed soak never mixes verdicts of two tests).
    pub fn create_or_resume(&self, cfg: &TestConfig) -> Result<()> {
        let file = self.path.join(TEST_FILE);
        let want = identity(cfg);
        match std::fs::read_to_string(&file) {
            Ok(have) if have == want => Ok(()),
            Ok(_) => bail!(
                "{} holds a soak of another test (its {TEST_FILE} differs from these options); \
                 give this one another --soak-dir",
                self.path.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(self.path.join("seeds"))
                    .with_context(|| format!("create {}", self.path.display()))?;
                std::fs::write(&file, want).with_context(|| format!("write {}", file.display()))
            }
            Err(e) => Err(e).with_context(|| format!("read {}", file.display())),
        }
    }

    /// The test a soak folder holds (its `soak.toml`), or an error naming the folder.
    pub fn test_text(&self) -> Result<String> {
        let file = self.path.join(TEST_FILE);
        std::fs::read_to_string(&file).with_context(|| {
            format!(
                "{} is not a soak folder (no readable {TEST_FILE})",
                self.path.display()
            )
        })
    }

    /// Seed `seed`'s own store.
    pub fn seed_store(&self, seed: u64) -> PathBuf {
        self.path.join("seeds").join(seed.to_string())
    }

    /// The output of seed `seed`'s `squall run`.
    pub fn seed_log(&self, seed: u64) -> PathBuf {
        self.seed_store(seed).join("run.log")
    }

    /// The seeds this folder has a store for, ascending.
    pub fn stored_seeds(&self) -> Result<Vec<u64>> {
        let seeds = self.path.join("seeds");
        let mut out: Vec<u64> = std::fs::read_dir(&seeds)
            .with_context(|| format!("read {}", seeds.display()))?
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// A file of the summary.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

/// The test as a soak folder names it: the configuration's TOML, without the store (each
/// seed has its own).
fn identity(cfg: &TestConfig) -> String {
    let mut c = cfg.clone();
    c.store = TestConfig::default().store;
    c.to_toml()
}

/// 8 hex digits of the SHA-256 of the test's identity.
fn config_hash(cfg: &TestConfig) -> String {
    let digest = Sha256::digest(identity(cfg).as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// `path` as seen from folder `from` (both made absolute first), for links in a page.
pub fn relative(path: &Path, from: &Path) -> PathBuf {
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (path, from) = (abs(path), abs(from));
    let a: Vec<_> = path.components().collect();
    let b: Vec<_> = from.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &a[common..] {
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_test_finds_its_folder_and_another_does_not() {
        let root = std::env::temp_dir().join(format!("sqsoak-layout-{}", std::process::id()));
        let cfg = TestConfig {
            store: root.clone(),
            ..TestConfig::default()
        };
        let a = SoakDir::default_for(&cfg, Shard::WHOLE);
        // The store does not change which soak it is.
        let moved = TestConfig {
            store: "elsewhere".into(),
            ..cfg.clone()
        };
        assert_eq!(
            a.path.file_name(),
            SoakDir::default_for(&moved, Shard::WHOLE).path.file_name()
        );
        let other = TestConfig {
            keys: 9,
            ..cfg.clone()
        };
        assert_ne!(a.path, SoakDir::default_for(&other, Shard::WHOLE).path);
        let shard = SoakDir::default_for(&cfg, Shard::new(2, 3).unwrap());
        assert!(shard.path.to_string_lossy().ends_with("-shard2of3"));

        a.create_or_resume(&cfg).unwrap();
        a.create_or_resume(&cfg).unwrap();
        let e = a.create_or_resume(&other).unwrap_err().to_string();
        assert!(e.contains("holds a soak of another test"), "{e}");
        std::fs::create_dir_all(a.seed_store(12)).unwrap();
        std::fs::create_dir_all(a.seed_store(3)).unwrap();
        assert_eq!(a.stored_seeds().unwrap(), [3, 12]);
        std::fs::remove_dir_all(&root).unwrap();
        let e = format!("{:#}", a.test_text().unwrap_err());
        assert!(e.contains("is not a soak folder"), "{e}");
    }

    #[test]
    fn relative_links() {
        assert_eq!(
            relative(Path::new("/a/b/c/d"), Path::new("/a/b/x")),
            PathBuf::from("../c/d")
        );
        assert_eq!(
            relative(Path::new("/a/b/c"), Path::new("/a/b")),
            PathBuf::from("c")
        );
    }
}
