//! A plan file read back, as a plan that streams the file's lines: what `squall run --plan
//! FILE` runs, and what a shrunk plan (`squall shrink`) is, since it is no longer what its
//! seed gives.
//!
//! The header gives the test (nodes, workload, timing: its `config`) and the seed (which
//! names the run; nothing is drawn from it). Every other line is an op or a fault, run as
//! written. The file is checked whole before anything runs, in one streaming pass: each
//! line parses (a fault's parameters through its nemesis's `decode`), setup ops come first
//! and final ops last, test ops and faults are in time order and within the test phase
//! (the header's `time_limit`), and each op's worker exists (the header's `concurrency`).
//! A line that is not so is one error naming it: `plan.jsonl:12: worker 9, but the plan
//! has 5 workers (its concurrency)`.
//!
//! Memory does not grow with the file: the runner's workers, its nemesis and the run's own
//! plan file each read the file again as they go ([`PlanSource::lines`]), keeping one line
//! at a time. A file changed between the check and the run ends those streams at the first
//! line that no longer reads (logged), rather than running something unchecked.
//!
//! An op's `f` and `value` are the workload's business: they are passed to its client as
//! written (a client answers an op it does not know with `fail`, as for any op).

use crate::config::{format_duration, TestConfig};
use crate::plan::{Phase, PlanFault, PlanLine, PlanOp, Stream};
use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// A plan file's header line, read.
#[derive(Clone, Debug)]
pub struct Header {
    /// The header line as written.
    pub text: String,
    /// It, parsed.
    pub json: Value,
    /// The seed it names.
    pub seed: u64,
    /// The test configuration it holds.
    pub cfg: TestConfig,
}

impl Header {
    /// Whether the plan says it is not what its seed gives (a shrunk plan carries
    /// `"shrunk"`): it runs only as written (`squall run --plan`).
    pub fn is_edited(&self) -> bool {
        self.json.get("shrunk").is_some()
    }
}

/// The plan file of `path`: `path/plan.jsonl` for a folder (a run's), else `path`.
pub fn plan_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("plan.jsonl")
    } else {
        path.to_path_buf()
    }
}

/// Reads and checks `path`'s header (line 1).
pub fn read_header(path: &Path) -> Result<Header> {
    let name = path.display();
    let file = std::fs::File::open(path).with_context(|| format!("open {name}"))?;
    let mut text = String::new();
    std::io::BufReader::new(file)
        .read_line(&mut text)
        .with_context(|| format!("read {name}"))?;
    if text.is_empty() {
        bail!("{name}: empty, not a plan file");
    }
    let text = text.trim_end_matches('\n').to_string();
    let json: Value =
        serde_json::from_str(&text).map_err(|e| anyhow!("{name}:1: not a plan header: {e}"))?;
    if json["squall_plan"] != 1 {
        bail!("{name}:1: not a squall plan header (no \"squall_plan\": 1)");
    }
    let seed = json["seed"]
        .as_u64()
        .ok_or_else(|| anyhow!("{name}:1: no seed"))?;
    let cfg =
        TestConfig::from_json(&json["config"]).map_err(|e| anyhow!("{name}:1: its config: {e}"))?;
    if let Err(e) = cfg.validate() {
        bail!("{name}:1: its config: {e}");
    }
    let nodes = crate::plan::node_names(cfg.nodes);
    if json["nodes"] != serde_json::json!(nodes) {
        bail!(
            "{name}:1: nodes {} do not match the config's {} nodes",
            json["nodes"],
            cfg.nodes
        );
    }
    Ok(Header {
        text,
        json,
        seed,
        cfg,
    })
}

/// One line of a plan file after its header: an op (it has a `phase`) or a fault (a
/// `fault`). The problem, if it is neither, without the line's place.
pub fn parse_line(text: &str) -> Result<PlanLine, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if v.get("fault").is_some() {
        return PlanFault::from_value(v).map(PlanLine::Fault);
    }
    if v.get("phase").is_none() {
        return Err("neither an op (no \"phase\") nor a fault (no \"fault\")".into());
    }
    let l: OpLineIn = serde_json::from_value(v).map_err(|e| e.to_string())?;
    Ok(PlanLine::Op(PlanOp {
        phase: l.phase,
        time: l.t,
        worker: l.worker,
        op: workloads::Op::new(l.f, l.value),
    }))
}

/// An op line as read back: [`crate::plan::PlanLine::to_json`]'s fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpLineIn {
    phase: Phase,
    t: u64,
    worker: usize,
    f: String,
    value: Value,
}

/// A checked plan file, read again as the run goes.
#[derive(Debug)]
pub struct PlanSource {
    path: PathBuf,
    header: String,
    test_ops: u64,
    faults: u64,
}

impl PlanSource {
    /// Checks every line of `path` (whose header is `header`) against `cfg` (the header's
    /// config, perhaps with where-it-runs options changed) in one streaming pass.
    pub fn check(path: &Path, header: &Header, cfg: &TestConfig) -> Result<PlanSource> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).with_context(|| format!("open {name}"))?;
        let end = u64::try_from(cfg.time_limit.as_nanos()).unwrap_or(u64::MAX);
        let (mut test_ops, mut faults) = (0u64, 0u64);
        let mut phase = Phase::Setup;
        let mut last = 0u64;
        for (i, line) in std::io::BufReader::new(file).lines().enumerate().skip(1) {
            let n = i + 1;
            let line = line.with_context(|| format!("read {name}"))?;
            let at = |problem: &dyn std::fmt::Display| anyhow!("{name}:{n}: {problem}");
            let parsed = parse_line(&line).map_err(|e| at(&e))?;
            let (here, time) = match &parsed {
                PlanLine::Op(p) => {
                    if p.worker >= cfg.concurrency {
                        return Err(at(&format_args!(
                            "worker {}, but the plan has {} workers (its concurrency)",
                            p.worker, cfg.concurrency
                        )));
                    }
                    (p.phase, (p.phase == Phase::Test).then_some(p.time))
                }
                PlanLine::Fault(f) => (Phase::Test, Some(f.start)),
            };
            if rank(here) < rank(phase) {
                return Err(at(&format_args!(
                    "a {} line after the {} phase began (setup ops come first, then test ops \
                     and faults, then final ops)",
                    phase_name(here),
                    phase_name(phase)
                )));
            }
            phase = here;
            if let Some(t) = time {
                if t < last {
                    return Err(at(&format_args!(
                        "at {t} ns, before the line above it ({last} ns): test ops and faults \
                         are in time order"
                    )));
                }
                if t > end {
                    return Err(at(&format_args!(
                        "at {t} ns, after the test phase ends ({}, the header's time_limit)",
                        format_duration(cfg.time_limit)
                    )));
                }
                last = t;
            }
            match parsed {
                PlanLine::Op(_) if here == Phase::Test => test_ops += 1,
                PlanLine::Fault(_) => faults += 1,
                PlanLine::Op(_) => {}
            }
        }
        Ok(PlanSource {
            path: path.to_path_buf(),
            header: header.text.clone(),
            test_ops,
            faults,
        })
    }

    /// The header line as written.
    pub fn header(&self) -> &str {
        &self.header
    }

    /// How many test ops the file holds.
    pub fn test_ops(&self) -> u64 {
        self.test_ops
    }

    /// How many faults the file holds.
    pub fn faults(&self) -> u64 {
        self.faults
    }

    /// The file's lines after its header, read as they are asked for.
    pub fn lines(&self) -> Stream<PlanLine> {
        let path = self.path.clone();
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(path = %path.display(), "reopen the plan file: {e}");
                return Box::new(std::iter::empty());
            }
        };
        let lines = std::io::BufReader::new(file).lines().enumerate().skip(1);
        Box::new(lines.map_while(move |(i, line)| {
            let parsed = line.map_err(|e| e.to_string()).and_then(|l| parse_line(&l));
            match parsed {
                Ok(l) => Some(l),
                Err(e) => {
                    tracing::error!(
                        "{}:{}: {e} (the file changed since it was checked; the plan ends here)",
                        path.display(),
                        i + 1
                    );
                    None
                }
            }
        }))
    }
}

fn rank(p: Phase) -> u8 {
    match p {
        Phase::Setup => 0,
        Phase::Test => 1,
        Phase::Final => 2,
    }
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Setup => "setup",
        Phase::Test => "test",
        Phase::Final => "final",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn stored(name: &str, cfg: &TestConfig) -> (Dir, PathBuf, String) {
        let d = std::env::temp_dir().join(format!("sqplanread-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let mut out = Vec::new();
        crate::plan::build(11, cfg)
            .unwrap()
            .write_jsonl(cfg, &mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        let path = d.join("plan.jsonl");
        std::fs::write(&path, &text).unwrap();
        (Dir(d), path, text)
    }

    fn cfg() -> TestConfig {
        TestConfig {
            nemesis: vec!["partition".into(), "kill".into()],
            time_limit: std::time::Duration::from_secs(20),
            ..TestConfig::default()
        }
    }

    #[test]
    fn a_stored_plan_reads_back_line_for_line() {
        let cfg = cfg();
        let (_d, path, text) = stored("back", &cfg);
        let h = read_header(&plan_file(path.parent().unwrap())).unwrap();
        assert_eq!((h.seed, h.is_edited()), (11, false));
        let src = PlanSource::check(&path, &h, &h.cfg).unwrap();
        let mut again = vec![src.header().to_string()];
        again.extend(src.lines().map(|l| l.to_json().unwrap()));
        assert_eq!(again.join("\n") + "\n", text);
        let plan = crate::plan::build(11, &cfg).unwrap();
        assert_eq!(src.test_ops() as usize, plan.test_ops().count());
        assert_eq!(src.faults() as usize, plan.faults().count());
    }

    #[test]
    fn a_bad_line_is_refused_naming_the_file_and_line() {
        let cfg = cfg();
        let (_d, path, text) = stored("bad", &cfg);
        let lines: Vec<&str> = text.lines().collect();
        let test_at = lines
            .iter()
            .position(|l| l.contains("\"phase\":\"test\""))
            .unwrap();
        let fault_at = lines.iter().position(|l| l.contains("\"fault\":")).unwrap();
        let with = |i: usize, new: &str| -> String {
            let mut v: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            v[i] = new.to_string();
            v.join("\n") + "\n"
        };
        let name = path.display().to_string();
        let cut = lines[fault_at].find("\"params\":").unwrap();
        let fault_params = format!("{}\"params\":{{}}}}", &lines[fault_at][..cut]);
        let cases = [
            (
                with(test_at, "{\"phase\":\"test\""),
                test_at,
                "EOF while parsing",
            ),
            (with(test_at, "{\"t\":1}"), test_at, "neither an op"),
            (
                with(
                    test_at,
                    &lines[test_at].replace("\"worker\":", "\"worker\":9"),
                ),
                test_at,
                "but the plan has 5 workers",
            ),
            (
                with(
                    test_at + 1,
                    &lines[test_at + 1].replace("\"test\"", "\"setup\""),
                ),
                test_at + 1,
                "a setup line after the test phase began",
            ),
            (with(fault_at, &fault_params), fault_at, "parameters"),
            (
                with(
                    test_at,
                    &lines[test_at].replace("\"t\":", "\"t\":9999999999"),
                ),
                test_at,
                "after the test phase ends (20s",
            ),
        ];
        for (text, i, want) in cases {
            std::fs::write(&path, text).unwrap();
            let h = read_header(&path).unwrap();
            let e = match PlanSource::check(&path, &h, &h.cfg) {
                Ok(_) => panic!("accepted, wanted {want:?}"),
                Err(e) => e.to_string(),
            };
            let place = format!("{name}:{}: ", i + 1);
            assert!(e.starts_with(&place) && e.contains(want), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
        std::fs::write(&path, "{\"x\":1}\n").unwrap();
        let e = read_header(&path).unwrap_err().to_string();
        assert!(e.contains(":1: not a squall plan header"), "{e}");
    }
}
