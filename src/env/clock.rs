//! Clock faults on local nodes (the `clock` nemesis, [`nemeses::clock`]): libfaketime
//! preloaded into each node's process, with a control file per node in the run directory,
//! so that one node's clock moves and the host's never does.
//!
//! A node of a test with the `clock` nemesis starts with
//!
//! ```text
//! LD_PRELOAD=/usr/lib/<arch>-linux-gnu/faketime/libfaketimeMT.so.1
//! FAKETIME_TIMESTAMP_FILE=/tmp/squall-<run>/clock/<node>   (holds "+0", "+1.500", "-262.143")
//! FAKETIME_NO_CACHE=1             (the file is read at every clock read: a change is at once)
//! FAKETIME_DONT_FAKE_MONOTONIC=1  (only the wall clock moves, as with `date -s`)
//! ```
//!
//! and a fault rewrites the file (a new file renamed over it, so a reader never sees half of
//! one); a strobe is a thread flipping it every period. The environment passes on to child
//! processes, so a node started through a shell is covered.
//!
//! libfaketime changes what a program gets from libc's `clock_gettime`, `time`,
//! `gettimeofday`. A **Go** program reads the clock through the vDSO itself, and a
//! statically linked one cannot be preloaded: neither would notice, so such a node is
//! refused ([`check_program`]) — when it starts (its program), and when a fault starts (the
//! executable its process runs by then: a shell's `exec` of the real server) — rather than
//! shown a fault that did nothing.

use crate::image::elf::Elf;
use nemeses::ClockChange;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What to install when libfaketime is missing.
pub const INSTALL: &str = "apt-get install -y libfaketime";

/// The libfaketime this host has (the multi-threaded variant, which every threaded server
/// needs), or why there is none.
pub fn library() -> Result<PathBuf, String> {
    let arch = std::env::consts::ARCH;
    let candidates = [
        format!("/usr/lib/{arch}-linux-gnu/faketime/libfaketimeMT.so.1"),
        "/usr/lib/faketime/libfaketimeMT.so.1".to_string(),
        "/usr/lib64/faketime/libfaketimeMT.so.1".to_string(),
        "/usr/local/lib/faketime/libfaketimeMT.so.1".to_string(),
    ];
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| format!("libfaketime not installed ({INSTALL})"))
}

/// Whether libfaketime can change what `program` reads as the time: `Err` says why not
/// ("... is a Go program ..."). A program given by name is looked up on `PATH`. A script
/// (`#!`) is taken as covered: its interpreter is, and what it starts inherits the
/// preload (a fault checks again what the node's process runs by then).
pub fn check_program(program: &Path) -> Result<(), String> {
    let path =
        resolve(program).ok_or_else(|| format!("{}: not found on PATH", program.display()))?;
    let bytes = fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    if bytes.starts_with(b"#!") {
        return Ok(());
    }
    let elf = Elf::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let go = ["/.go.buildinfo", "/.note.go.buildid"]
        .iter()
        .any(|s| matches!(elf.section(&s[1..]), Ok(Some(_))));
    if go {
        return Err(format!(
            "{} is a Go program: it reads the time through the vDSO, not libc, so \
             libfaketime cannot move its clock",
            path.display()
        ));
    }
    match elf.interpreter() {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(format!(
            "{} is statically linked: libfaketime reaches only dynamically linked programs",
            path.display()
        )),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn resolve(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 || program.is_absolute() {
        return program.is_file().then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// The clock control files of one run's nodes, and their strobes.
pub struct Clocks {
    dir: PathBuf,
    library: PathBuf,
    strobes: Mutex<BTreeMap<String, Strobe>>,
}

struct Strobe {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Clocks {
    /// The control files in `<run_dir>/clock/`, made now; fails if libfaketime is missing.
    pub fn new(run_dir: &Path) -> Result<Clocks, String> {
        let library = library()?;
        let dir = run_dir.join("clock");
        fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        Ok(Clocks {
            dir,
            library,
            strobes: Mutex::new(BTreeMap::new()),
        })
    }

    /// Node `name`'s control file.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The environment node `name` starts with, on top of `env` (its command's own): the
    /// preload and its control file (made, at the true time, if it is not there yet: a
    /// restarted node keeps the change in force).
    pub fn env(&self, name: &str, env: &[(String, String)]) -> io::Result<Vec<(String, String)>> {
        let file = self.file(name);
        if !file.exists() {
            write_offset(&file, 0)?;
        }
        let preload = match env.iter().find(|(k, _)| k == "LD_PRELOAD") {
            Some((_, theirs)) => format!("{}:{theirs}", self.library.display()),
            None => self.library.display().to_string(),
        };
        let mut out: Vec<(String, String)> = env
            .iter()
            .filter(|(k, _)| k != "LD_PRELOAD")
            .cloned()
            .collect();
        out.extend([
            ("LD_PRELOAD".to_string(), preload),
            (
                "FAKETIME_TIMESTAMP_FILE".to_string(),
                file.display().to_string(),
            ),
            ("FAKETIME_NO_CACHE".to_string(), "1".to_string()),
            ("FAKETIME_DONT_FAKE_MONOTONIC".to_string(), "1".to_string()),
        ]);
        Ok(out)
    }

    /// Puts `change` in force on node `name`, replacing what was.
    pub fn set(&self, name: &str, change: &ClockChange) -> io::Result<()> {
        self.stop_strobe(name);
        let file = self.file(name);
        match *change {
            ClockChange::Bump { delta_ms } => write_offset(&file, delta_ms),
            ClockChange::Strobe {
                delta_ms,
                period_ms,
            } => {
                write_offset(&file, delta_ms)?;
                let stop = Arc::new(AtomicBool::new(false));
                let flag = stop.clone();
                let period = Duration::from_millis(period_ms.max(1));
                let thread = std::thread::Builder::new()
                    .name(format!("clock-{name}"))
                    .spawn(move || {
                        let mut ahead = true;
                        while !flag.load(Ordering::SeqCst) {
                            std::thread::sleep(period);
                            if flag.load(Ordering::SeqCst) {
                                break;
                            }
                            ahead = !ahead;
                            let ms = if ahead { delta_ms } else { 0 };
                            if let Err(e) = write_offset(&file, ms) {
                                tracing::warn!(file = %file.display(), error = %e, "clock strobe stopped");
                                break;
                            }
                        }
                    })?;
                lock(&self.strobes).insert(name.to_string(), Strobe { stop, thread });
                Ok(())
            }
        }
    }

    /// Node `name`'s clock is the true time again (its strobe stopped).
    pub fn reset(&self, name: &str) -> io::Result<()> {
        self.stop_strobe(name);
        write_offset(&self.file(name), 0)
    }

    /// Stops node `name`'s strobe, if one runs, and waits for its thread.
    pub fn stop_strobe(&self, name: &str) {
        let strobe = lock(&self.strobes).remove(name);
        if let Some(s) = strobe {
            s.stop.store(true, Ordering::SeqCst);
            let _ = s.thread.join();
        }
    }
}

impl Drop for Clocks {
    fn drop(&mut self) {
        let names: Vec<String> = lock(&self.strobes).keys().cloned().collect();
        for n in names {
            self.stop_strobe(&n);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// libfaketime's relative offset, in seconds: `+0`, `+1.500`, `-262.143`.
fn offset_text(ms: i64) -> String {
    if ms == 0 {
        return "+0".into();
    }
    let sign = if ms < 0 { '-' } else { '+' };
    let a = ms.unsigned_abs();
    format!("{sign}{}.{:03}", a / 1000, a % 1000)
}

/// Writes `file` whole, atomically: a reader sees the old offset or the new one.
fn write_offset(file: &Path, ms: i64) -> io::Result<()> {
    let tmp = file.with_extension("new");
    fs::write(&tmp, offset_text(ms) + "\n")?;
    fs::rename(&tmp, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(what: &str) -> Scratch {
            let d = std::env::temp_dir().join(format!("sqclock-{what}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&d);
            fs::create_dir_all(&d).unwrap();
            Scratch(d)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn offsets_are_written_as_libfaketime_reads_them() {
        assert_eq!(offset_text(0), "+0");
        assert_eq!(offset_text(1500), "+1.500");
        assert_eq!(offset_text(-262_143), "-262.143");
        assert_eq!(offset_text(-4), "-0.004");
    }

    #[test]
    fn go_and_static_programs_are_refused_libc_ones_taken() {
        // This test binary: a Rust program, dynamically linked against libc.
        let me = std::env::current_exe().unwrap();
        assert_eq!(check_program(&me), Ok(()));
        assert_eq!(check_program(Path::new("sh")), Ok(()));
        let e = check_program(Path::new("no-such-program-squall")).unwrap_err();
        assert_eq!(e, "no-such-program-squall: not found on PATH");
        let etcd = Path::new("/usr/bin/etcd");
        if etcd.is_file() {
            let e = check_program(etcd).unwrap_err();
            assert!(e.contains("/usr/bin/etcd is a Go program"), "{e}");
        } else {
            eprintln!("skipped the Go case: no /usr/bin/etcd (apt-get install etcd-server)");
        }
        let busybox = Path::new("/usr/bin/busybox");
        if let Ok(bytes) = fs::read(busybox) {
            if matches!(Elf::parse(&bytes).and_then(|e| e.interpreter()), Ok(None)) {
                let e = check_program(busybox).unwrap_err();
                assert!(e.contains("is statically linked"), "{e}");
            }
        }
        let dir = Scratch::new("check");
        let script = dir.0.join("run.sh");
        fs::write(&script, "#!/bin/sh\nexec true\n").unwrap();
        assert_eq!(check_program(&script), Ok(()));
        let junk = dir.0.join("junk");
        fs::write(&junk, "hello").unwrap();
        assert!(check_program(&junk)
            .unwrap_err()
            .ends_with("not an ELF file"));
    }

    #[test]
    fn a_strobe_flips_the_file_and_a_reset_stops_it() {
        let Ok(_) = library() else {
            eprintln!("skipped: libfaketime not installed ({INSTALL})");
            return;
        };
        let dir = Scratch::new("strobe");
        let c = Clocks::new(&dir.0).unwrap();
        let env = c
            .env("n1", &[("LD_PRELOAD".into(), "/x.so".into())])
            .unwrap();
        let get = |k: &str| env.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
        assert!(get("LD_PRELOAD")
            .unwrap()
            .ends_with("libfaketimeMT.so.1:/x.so"));
        let file = c.file("n1");
        assert_eq!(
            get("FAKETIME_TIMESTAMP_FILE"),
            Some(file.display().to_string())
        );
        let read = || fs::read_to_string(&file).unwrap();
        assert_eq!(read(), "+0\n");
        c.set("n1", &ClockChange::Bump { delta_ms: -1500 }).unwrap();
        assert_eq!(read(), "-1.500\n");
        c.set(
            "n1",
            &ClockChange::Strobe {
                delta_ms: 20,
                period_ms: 8,
            },
        )
        .unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.insert(read());
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(seen, ["+0\n".to_string(), "+0.020\n".to_string()].into());
        c.reset("n1").unwrap();
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(read(), "+0\n");
        assert!(lock(&c.strobes).is_empty());
    }
}
