//! Stopping a run: Ctrl-C (SIGINT), SIGTERM and SIGHUP from the first instant of `squall
//! run`, and any other reason to stop early (a history that can no longer be written).
//!
//! A run is stopped through one [`Stop`]: a flag, the reason it was set, and a `watch`
//! channel the runner's tasks wait on. Every startup step checks it (namespace creation,
//! node start, readiness), the runner ends its phases on it, and whatever was made is then
//! healed and torn down in order.
//!
//! Signals never run a handler. [`install`] blocks INT, TERM and HUP in the calling thread
//! (the first thing `squall run` does, before any other thread exists: threads inherit the
//! mask of the thread that spawns them) and starts one thread that takes them with
//! `sigwait(2)` and sets the current run's [`Stop`]. So there is no instant at which a
//! signal kills squall with its namespaces, mounts and nodes still in place, and no
//! async-signal-safety to get right. A SIGHUP already ignored when squall starts (`nohup
//! squall run ...`) stays ignored; INT and TERM always stop the run, even where a shell
//! started squall with them ignored (a script's background job), so `kill -INT` works as
//! it did with a handler. Outside a run (before [`install`]'s guard is made, after
//! it is dropped) a signal has its default effect: the process ends.
//!
//! A blocked mask is inherited across `exec`, so every child squall starts (the nodes)
//! first gets an empty mask and default dispositions: [`reset_in_child`].

use std::io::{self, Write};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::watch;

/// The signals that stop a run.
pub const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// Why and whether a run must stop; cheap to clone, shared by every part of the run.
#[derive(Clone)]
pub struct Stop {
    inner: Arc<StopInner>,
}

struct StopInner {
    tx: watch::Sender<bool>,
    reason: Mutex<Option<String>>,
}

impl Default for Stop {
    fn default() -> Self {
        Stop::new()
    }
}

impl Stop {
    /// A stop that is not set.
    pub fn new() -> Stop {
        let (tx, _) = watch::channel(false);
        Stop {
            inner: Arc::new(StopInner {
                tx,
                reason: Mutex::new(None),
            }),
        }
    }

    /// Sets the stop with `reason` (e.g. `interrupted by SIGINT`). Returns whether this was
    /// the first request; a later one keeps the first reason.
    pub fn request(&self, reason: impl Into<String>) -> bool {
        let mut r = self.inner.reason.lock().unwrap_or_else(|p| p.into_inner());
        let first = r.is_none();
        if first {
            *r = Some(reason.into());
        }
        drop(r);
        // `send_replace` stores the value even when no task is waiting yet.
        self.inner.tx.send_replace(true);
        first
    }

    /// Whether the run must stop.
    pub fn is_set(&self) -> bool {
        *self.inner.tx.borrow()
    }

    /// Why the run stops, if it does.
    pub fn reason(&self) -> Option<String> {
        self.inner
            .reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A receiver that sees `true` once the stop is set (the runner's stop channel).
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.inner.tx.subscribe()
    }
}

/// What the signal thread tells the person when a signal arrives.
pub type Notify = Arc<dyn Fn(String) + Send + Sync>;

/// The run the signal thread currently stops, if any.
static CURRENT: Mutex<Option<(Stop, Notify)>> = Mutex::new(None);
/// The signals the thread waits for (those not ignored at start), once it runs.
static WAITED: OnceLock<libc::sigset_t> = OnceLock::new();

/// While this guard lives, INT, TERM and HUP set its [`Stop`] instead of ending the process.
#[must_use = "signals stop the run only while the guard lives"]
pub struct SignalGuard(());

impl Drop for SignalGuard {
    fn drop(&mut self) {
        *CURRENT.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Makes INT, TERM and HUP set `stop` (telling the person through `notify`) until the
/// returned guard is dropped. Blocks the signals in the calling thread, which must be the
/// process's first (or every other thread must block them too): call it before spawning
/// any thread. The first call starts the thread that takes the signals.
pub fn install(stop: Stop, notify: Notify) -> io::Result<SignalGuard> {
    let set = match WAITED.get() {
        Some(set) => *set,
        None => {
            let set = waited_set()?;
            let _ = WAITED.set(set);
            set
        }
    };
    // SAFETY: pthread_sigmask(3) with a valid, initialised set; affects this thread only.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    *CURRENT.lock().unwrap_or_else(|p| p.into_inner()) = Some((stop, notify));
    static THREAD: OnceLock<io::Result<()>> = OnceLock::new();
    THREAD
        .get_or_init(|| {
            std::thread::Builder::new()
                .name("squall-signals".into())
                .spawn(move || wait_for_signals(set))
                .map(|_| ())
        })
        .as_ref()
        .map_err(|e| io::Error::new(e.kind(), format!("start the signal thread: {e}")))?;
    Ok(SignalGuard(()))
}

/// [`SIGNALS`], minus SIGHUP if it is ignored at start (`nohup`).
fn waited_set() -> io::Result<libc::sigset_t> {
    // SAFETY: sigemptyset/sigaddset on a local set; sigaction(2) only reads the current
    // disposition (a null new action changes nothing).
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in SIGNALS {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0 {
                return Err(io::Error::last_os_error());
            }
            if sig != libc::SIGHUP || old.sa_sigaction != libc::SIG_IGN {
                libc::sigaddset(&mut set, sig);
            }
        }
        Ok(set)
    }
}

fn wait_for_signals(set: libc::sigset_t) {
    loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: sigwait(3) with a valid set, in a thread that has the set blocked (it
        // inherited the mask of the thread that called `install`).
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            continue;
        }
        let current = CURRENT.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match current {
            Some((stop, notify)) => {
                let name = signal_name(sig);
                if stop.request(format!("interrupted by {name}")) {
                    notify(format!(
                        "interrupted by {name}: stopping clients, healing faults, cleaning up"
                    ));
                } else {
                    notify(format!(
                        "{name}: still stopping (healing faults, cleaning up); `squall clean` \
                         removes what a killed squall leaves"
                    ));
                }
            }
            None => default_action(sig),
        }
    }
}

/// Outside a run: what the signal would have done without squall, i.e. end the process.
fn default_action(sig: libc::c_int) {
    // SAFETY: resets the disposition to the default, unblocks the signal in this thread and
    // raises it there: the process ends as if squall had never blocked it.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        let mut one: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut one);
        libc::sigaddset(&mut one, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &one, std::ptr::null_mut());
        libc::raise(sig);
    }
}

/// `SIGINT`, `SIGTERM`, `SIGHUP`, or `signal N`.
pub fn signal_name(sig: libc::c_int) -> String {
    match sig {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP".into(),
        n => format!("signal {n}"),
    }
}

/// Gives a child process (between fork and exec) an empty signal mask and the default
/// disposition of INT, TERM and HUP, so a node started from squall's blocked threads still
/// dies of SIGTERM and stops at Ctrl-C when run by hand.
///
/// # Safety
///
/// Call only between `fork` and `exec` (a `pre_exec` closure): it uses async-signal-safe
/// calls only (`sigemptyset`, `sigprocmask`, `signal`).
pub unsafe fn reset_in_child() -> io::Result<()> {
    // SAFETY: async-signal-safe calls on a local set, as the caller guarantees.
    unsafe {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        if libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
        for sig in SIGNALS {
            if libc::signal(sig, libc::SIG_DFL) == libc::SIG_ERR {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// Prints a line on stdout, ignoring failure: after SIGHUP the terminal may be gone, and a
/// run must still heal and tear down rather than panic on a closed stdout.
pub fn print_line(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_keeps_its_first_reason_and_wakes_receivers() {
        let stop = Stop::new();
        let mut rx = stop.subscribe();
        assert!(!stop.is_set());
        assert_eq!(stop.reason(), None);
        assert!(stop.request("interrupted by SIGTERM"));
        assert!(!stop.request("interrupted by SIGINT"));
        assert!(stop.is_set());
        assert_eq!(stop.reason().as_deref(), Some("interrupted by SIGTERM"));
        assert!(rx.has_changed().unwrap());
        assert!(*rx.borrow_and_update());
        // A receiver made after the request sees it too.
        assert!(*stop.clone().subscribe().borrow());
    }

    #[test]
    fn a_child_starts_with_an_empty_mask_and_default_dispositions() {
        use std::os::unix::process::CommandExt;
        // Block INT in this thread only (the test harness's other threads are untouched);
        // a child forked from it inherits the mask unless reset.
        // SAFETY: pthread_sigmask on a local set, this thread only; undone below.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        let mut cmd = std::process::Command::new("cat");
        cmd.arg("/proc/self/status");
        // SAFETY: reset_in_child is async-signal-safe.
        unsafe { cmd.pre_exec(|| reset_in_child()) };
        let out = cmd.output().expect("run cat");
        // SAFETY: as above.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
        let status = String::from_utf8_lossy(&out.stdout);
        let field = |name: &str| {
            let line = status.lines().find(|l| l.starts_with(name)).unwrap();
            u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
        };
        let bits = SIGNALS
            .iter()
            .fold(0u64, |acc, s| acc | 1 << (*s as u64 - 1));
        assert_eq!(field("SigBlk:") & bits, 0, "{status}");
        assert_eq!(field("SigIgn:") & bits, 0, "{status}");
    }
}
