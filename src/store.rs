//! The store: one folder per run, `<store>/<test>/<UTC time>-seed<N>/`, holding everything a
//! person needs the next morning: the effective `test.toml`, `plan.jsonl`, `history.jsonl`
//! (and `history.edn`), `results.json`, `squall.log`, and `nodes/<name>/log`. `latest`
//! symlinks (`<store>/latest` and `<store>/<test>/latest`) point at the newest run.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// One run's folder.
#[derive(Clone, Debug)]
pub struct RunDir {
    /// The folder.
    pub path: PathBuf,
}

impl RunDir {
    /// Creates `<store>/<test>/<UTC time>-seed<seed>/` (with a numeric suffix if it exists)
    /// and points the `latest` links at it.
    pub fn create(store: &Path, test: &str, seed: u64) -> Result<RunDir> {
        let stamp = utc_stamp(SystemTime::now());
        let parent = store.join(test);
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("create store folder {}", parent.display()))?;
        let mut name = format!("{stamp}-seed{seed}");
        let mut n = 1;
        while parent.join(&name).exists() {
            n += 1;
            name = format!("{stamp}-seed{seed}-{n}");
        }
        let path = parent.join(&name);
        std::fs::create_dir_all(path.join("nodes"))
            .with_context(|| format!("create {}", path.display()))?;
        relink(&parent.join("latest"), Path::new(&name))?;
        relink(&store.join("latest"), &Path::new(test).join(&name))?;
        Ok(RunDir { path })
    }

    /// A file in the run's folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// A node's log file (its folder is created).
    pub fn node_log(&self, node: &str) -> Result<PathBuf> {
        let dir = self.path.join("nodes").join(node);
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        Ok(dir.join("log"))
    }
}

fn relink(link: &Path, target: &Path) -> Result<()> {
    let tmp = link.with_extension("tmp-link");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)
        .with_context(|| format!("symlink {}", tmp.display()))?;
    std::fs::rename(&tmp, link).with_context(|| format!("rename to {}", link.display()))?;
    Ok(())
}

/// `20261128T031400Z`-style UTC time (no separators that trouble shells or file systems).
pub fn utc_stamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_835_640); // 2026-11-28T03:14:00Z
        assert_eq!(utc_stamp(t), "20261128T031400Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(utc_stamp(leap), "20000229T000000Z");
    }

    #[test]
    fn run_dirs_are_unique_and_latest_follows() {
        let store = std::env::temp_dir().join(format!("sqstoretest-{}", std::process::id()));
        let a = RunDir::create(&store, "t", 1).unwrap();
        let b = RunDir::create(&store, "t", 1).unwrap();
        assert_ne!(a.path, b.path);
        let latest = std::fs::canonicalize(store.join("latest")).unwrap();
        assert_eq!(latest, std::fs::canonicalize(&b.path).unwrap());
        let latest = std::fs::canonicalize(store.join("t/latest")).unwrap();
        assert_eq!(latest, std::fs::canonicalize(&b.path).unwrap());
        std::fs::remove_dir_all(&store).unwrap();
    }
}
