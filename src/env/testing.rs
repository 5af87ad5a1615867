//! Helpers of the environment tests, `local` and VM alike.

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Whether `pid` is gone (or a zombie, which holds no resources but its pid).
pub(crate) fn dead(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rfind(')')
            .is_some_and(|i| stat[i + 2..].starts_with('Z')),
    }
}

/// Waits up to 5 s for every one of `pids` to be [`dead`] (a killed process leaves its
/// namespace a little before it is a zombie).
pub(crate) fn wait_dead(pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !pids.iter().all(|p| dead(*p)) {
        assert!(Instant::now() < deadline, "processes {pids:?} still alive");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The libtest name of test `name` in module `module` (a `module_path!()`).
pub(crate) fn test_path(module: &str, name: &str) -> String {
    format!("{}::{name}", &module[module.find("::").unwrap() + 2..])
}

/// Runs the ignored helper test `test` of this test binary in a child process with the
/// environment `vars` (a crashing squall, say), and checks that it succeeded.
pub(crate) fn run_helper(test: &str, vars: &[(&str, &std::ffi::OsStr)]) {
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            test,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .envs(vars.iter().copied())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "helper {test}: {status}");
}
