//! `squall soak merge DIR...`: soak folders of one test — shards run on many machines, or
//! soaks resumed elsewhere — joined into one summary. Each folder must hold a soak of the
//! same test (its `soak.toml`); a seed stored in more than one counts once, the record with
//! a verdict from a whole test winning over one without.

use super::layout::SoakDir;
use super::record::SeedRecord;
use super::summary::Summary;
use anyhow::{bail, Result};
use std::collections::BTreeMap;

/// The records of the seeds stored in `dirs`, and the test they are of (its name from the
/// records' runs, else `soak`); an error names a folder that is not a soak of the first
/// folder's test.
pub fn gather(dirs: &[SoakDir]) -> Result<(String, String, Vec<SeedRecord>)> {
    let Some(first) = dirs.first() else {
        bail!("no soak folders to merge");
    };
    let test = first.test_text()?;
    let mut seeds: BTreeMap<u64, SeedRecord> = BTreeMap::new();
    for dir in dirs {
        if dir.test_text()? != test {
            bail!(
                "{} holds a soak of another test than {} (their {} differ)",
                dir.path.display(),
                first.path.display(),
                super::layout::TEST_FILE
            );
        }
        for seed in dir.stored_seeds()? {
            let r = SeedRecord::load(dir, seed);
            match seeds.get(&seed) {
                Some(have) if have.is_done() || !r.is_done() => {}
                _ => {
                    seeds.insert(seed, r);
                }
            }
        }
    }
    let name = toml::from_str::<crate::config::TestConfig>(&test)
        .map(|c| c.test_name())
        .unwrap_or_else(|_| "soak".into());
    Ok((test, name, seeds.into_values().collect()))
}

/// The merged summary of `dirs`, written into `out` (with `soak.toml`, so a merge can be
/// merged again).
pub fn merge(dirs: &[SoakDir], out: &SoakDir) -> Result<Summary> {
    let (test, name, records) = gather(dirs)?;
    std::fs::create_dir_all(&out.path)
        .map_err(|e| anyhow::anyhow!("create {}: {e}", out.path.display()))?;
    let file = out.file(super::layout::TEST_FILE);
    match std::fs::read_to_string(&file) {
        Ok(have) if have != test => bail!(
            "{} holds a soak of another test; merge into another --out",
            out.path.display()
        ),
        Ok(_) => {}
        Err(_) => std::fs::write(&file, &test)
            .map_err(|e| anyhow::anyhow!("write {}: {e}", file.display()))?,
    }
    // A merge cannot know which seeds the shards were to run: complete when every seed
    // it holds has a verdict from a whole test.
    let complete = records.iter().all(SeedRecord::is_done);
    Ok(Summary::new(&name, records, complete))
}
