//! `plan.jsonl`, written as the run goes.
//!
//! A plan is a lazy stream ([`crate::plan`]): a day at thousands of ops per second is far
//! too much to write before the run starts, or to hold. So a thread writes the plan file in
//! step with the run: the header and the setup ops at once, then the test ops and faults up
//! to the furthest logical time the run has reached ([`Progress::reached`]) — and never
//! more of them than the run has started, so a plan whose ops are all due at once is not
//! written faster than it runs — flushed as it goes (a crashed run leaves a prefix of its
//! plan). How it ends depends on how the test
//! phase ended:
//! - [`Progress::complete`]: every planned op ran; the rest of the plan is written, so the
//!   file is exactly what `squall plan` prints for the same seed and options.
//! - [`Progress::cut`]: the runner fell behind and stopped at the time limit; the file holds
//!   the plan up to where the run got, then the final ops (which still run): the plan of
//!   what ran.
//! - otherwise (interrupted, or an error): the plan up to where the run got.

use crate::config::TestConfig;
use crate::plan::{Phase, Plan, PlanLine};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

const RUNNING: u8 = 0;
const COMPLETE: u8 = 1;
const CUT: u8 = 2;
const STOPPED: u8 = 3;

/// How far the run has got, as the plan file's writer needs to know it.
#[derive(Debug, Default)]
pub struct Progress {
    /// The furthest logical time (ns) of a test op or fault the run has started.
    horizon: AtomicU64,
    /// Test ops and faults started.
    started: AtomicU64,
    state: AtomicU8,
}

impl Progress {
    /// The run has started a test op or a fault planned at `t`.
    pub fn reached(&self, t: u64) {
        self.horizon.fetch_max(t, Ordering::Relaxed);
        self.started.fetch_add(1, Ordering::Relaxed);
    }

    /// The test phase ran every planned op: the whole plan may be written.
    pub fn complete(&self) {
        self.finish(COMPLETE);
    }

    /// The test phase was cut at its time limit with planned ops not run: the plan up to
    /// where it got, then the final ops.
    pub fn cut(&self) {
        self.finish(CUT);
    }

    /// The run stopped early: the plan up to where it got.
    pub fn stop(&self) {
        self.finish(STOPPED);
    }

    fn finish(&self, state: u8) {
        // The first word stands: a run cut and then interrupted was cut.
        let _ = self
            .state
            .compare_exchange(RUNNING, state, Ordering::AcqRel, Ordering::Acquire);
    }

    fn state(&self) -> u8 {
        self.state.load(Ordering::Acquire)
    }
}

/// How the plan file ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Lines after the header.
    pub lines: u64,
    /// The whole plan was written (what `squall plan` prints).
    pub complete: bool,
}

/// The thread writing a run's `plan.jsonl`.
pub struct PlanFile {
    progress: Arc<Progress>,
    path: PathBuf,
    thread: Option<std::thread::JoinHandle<std::io::Result<Written>>>,
}

impl PlanFile {
    /// Creates `path` and starts writing `plan` (for `cfg`) into it, in step with
    /// [`PlanFile::progress`].
    pub fn start(plan: &Plan, cfg: &TestConfig, path: &Path) -> Result<PlanFile> {
        let file =
            std::fs::File::create(path).with_context(|| format!("create {}", path.display()))?;
        let header = plan.header(cfg).context("plan header")?;
        let progress = Arc::new(Progress::default());
        let (p, plan) = (progress.clone(), plan.clone());
        let thread = std::thread::Builder::new()
            .name("plan-file".into())
            .spawn(move || write(std::io::BufWriter::new(file), &header, &plan, &p))
            .context("start the plan file's writer")?;
        Ok(PlanFile {
            progress,
            path: path.to_path_buf(),
            thread: Some(thread),
        })
    }

    /// What the runner tells the writer.
    pub fn progress(&self) -> Arc<Progress> {
        self.progress.clone()
    }

    /// Waits for the writer to end (telling it the run stopped, if nobody said how the test
    /// phase ended) and says what it wrote.
    pub fn finish(mut self) -> Result<Written> {
        self.progress.stop();
        let thread = self.thread.take().expect("joined once");
        let done = thread
            .join()
            .map_err(|_| anyhow::anyhow!("the plan file's writer panicked"))?;
        done.with_context(|| format!("write {}", self.path.display()))
    }
}

impl Drop for PlanFile {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.progress.stop();
            let _ = t.join();
        }
    }
}

/// The writer's loop: lines as far as the progress allows, flushed, then a short wait.
fn write<W: Write>(
    mut out: W,
    header: &str,
    plan: &Plan,
    progress: &Progress,
) -> std::io::Result<Written> {
    writeln!(out, "{header}")?;
    let mut lines = plan.lines();
    let mut pending = lines.next();
    let mut n = 0u64;
    let mut put = |out: &mut W, line: &PlanLine| -> std::io::Result<()> {
        n += 1;
        writeln!(out, "{}", line.to_json()?)
    };
    // Test ops and faults written.
    let mut timed = 0u64;
    loop {
        // Read the state before the horizon: a horizon read after "complete" is final.
        let state = progress.state();
        let horizon = progress.horizon.load(Ordering::Relaxed);
        let started = progress.started.load(Ordering::Relaxed);
        while let Some(line) = &pending {
            let allowed = match line {
                PlanLine::Op(p) if p.phase == Phase::Setup => true,
                PlanLine::Op(p) if p.phase == Phase::Final => state == COMPLETE,
                other => state == COMPLETE || (other.time() <= horizon && timed < started),
            };
            if !allowed {
                break;
            }
            put(&mut out, line)?;
            if !matches!(line, PlanLine::Op(p) if p.phase != Phase::Test) {
                timed += 1;
            }
            pending = lines.next();
        }
        out.flush()?;
        match state {
            RUNNING => std::thread::sleep(Duration::from_millis(20)),
            COMPLETE => {
                return Ok(Written {
                    lines: n,
                    complete: true,
                })
            }
            CUT => {
                if let Some(line @ PlanLine::Op(p)) = &pending {
                    if p.phase == Phase::Final {
                        put(&mut out, line)?;
                    }
                }
                for line in lines.finals() {
                    put(&mut out, &line)?;
                }
                out.flush()?;
                return Ok(Written {
                    lines: n,
                    complete: false,
                });
            }
            _ => {
                return Ok(Written {
                    lines: n,
                    complete: false,
                })
            }
        }
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
    fn dir(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("sqplanfile-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn whole(plan: &Plan, cfg: &TestConfig) -> String {
        let mut out = Vec::new();
        plan.write_jsonl(cfg, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_complete_run_writes_what_squall_plan_prints() {
        let d = dir("complete");
        let cfg = TestConfig::default();
        let plan = crate::plan::build(5, &cfg).unwrap();
        let path = d.0.join("plan.jsonl");
        let f = PlanFile::start(&plan, &cfg, &path).unwrap();
        let p = f.progress();
        p.reached(1_000_000_000);
        // Partway: the header, the setup ops, and one line of the test phase (no more lines
        // than the run started).
        let want = 1 + cfg.keys as usize + 1;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let lines = || std::fs::read_to_string(&path).unwrap().lines().count();
        while lines() < want && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(lines(), want);
        p.complete();
        let w = f.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, whole(&plan, &cfg));
        assert!(w.complete);
        assert_eq!(w.lines as usize, text.lines().count() - 1);
    }

    #[test]
    fn a_cut_run_writes_the_plan_as_far_as_it_got_and_its_finals() {
        let d = dir("cut");
        let cfg = TestConfig::default();
        let plan = crate::plan::build(5, &cfg).unwrap();
        let path = d.0.join("plan.jsonl");
        let f = PlanFile::start(&plan, &cfg, &path).unwrap();
        let p = f.progress();
        let lines: Vec<PlanLine> = plan.lines().collect();
        let timed: Vec<&PlanLine> = lines
            .iter()
            .filter(|l| !matches!(l, PlanLine::Op(o) if o.phase != Phase::Test))
            .collect();
        // The run started the first 40 test ops and faults.
        for l in &timed[..40] {
            p.reached(l.time());
        }
        p.cut();
        let w = f.finish().unwrap();
        assert!(!w.complete);
        let text = std::fs::read_to_string(&path).unwrap();
        let got: Vec<&str> = text.lines().skip(1).collect();
        let keys = cfg.keys as usize;
        assert_eq!(got.len(), keys + 40 + keys, "{text}");
        let want: Vec<String> = lines[..keys + 40]
            .iter()
            .chain(&lines[lines.len() - keys..])
            .map(|l| l.to_json().unwrap())
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn an_interrupted_run_writes_a_prefix_and_all_at_once_is_not_written_ahead() {
        let d = dir("stop");
        let cfg = TestConfig::default();
        let mut plan = crate::plan::build(5, &cfg).unwrap();
        plan.timing = crate::plan::OpTiming::AllAtStart;
        let path = d.0.join("plan.jsonl");
        let f = PlanFile::start(&plan, &cfg, &path).unwrap();
        let p = f.progress();
        // Every op is due at 0: only as many as were started are written.
        for _ in 0..3 {
            p.reached(0);
        }
        std::thread::sleep(Duration::from_millis(60));
        drop(p);
        let w = f.finish().unwrap();
        assert!(!w.complete);
        let text = std::fs::read_to_string(&path).unwrap();
        let want: String = whole(&plan, &cfg)
            .lines()
            .take(1 + cfg.keys as usize + 3)
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(text, want);
    }
}
