//! What one `aspen-cli --json` run proves about its op: the pure half of the Aspen client,
//! from the process's exit status and output to [`Answer`], pinned by unit tests on
//! recorded outputs.
//!
//! # Why so little is definite
//!
//! `aspen-cli` hides outcomes, so the classification cannot take its output at face value:
//!
//! - **The server folds failures into normal answers.** A read whose ReadIndex failed is
//!   answered `ReadResult { was_found: false, error: Some(..) }`, a write that timed out
//!   `WriteResult { is_success: false, error }`, a CAS that timed out `CompareAndSwapResult
//!   { is_success: false, error }` — and the CLI prints none of those `error`s. So a failed
//!   read prints `"does_exist":false`, a failed CAS `"status":"conflict"` (exactly what a
//!   compare that was false prints), a failed write `"status":"failed"` with exit 0.
//! - **The CLI retries by itself.** A network error (a connect, stream or response timeout:
//!   the request may have reached the node) is retried up to 5 times per peer, 500 ms apart;
//!   a follower forwards a write to the leader and retries once. So the last error the CLI
//!   prints (`Error: CODE: msg` on stderr, exit 1) speaks for the last attempt only: an
//!   earlier one may have been applied. With 2 of 3 nodes paused a `kv set` exited 1 after
//!   17 s — and was committed once the nodes ran again.
//!
//! Hence:
//!
//! - `Done` only when the output proves it: a write's `"status":"success"`, a CAS's
//!   `"status":"success"`, a read's `"does_exist":true` with its value.
//! - `NotApplied` only for a definite refusal: the CLI could not be started, or it exited 1
//!   with `Error: RATE_LIMITED: ..` (the server refuses rate-limited requests before
//!   dispatching them) as the *only* thing on stderr besides its version banner — the CLI
//!   logs every failed attempt as a warning there (`WARN RPC request failed ... attempt=N`),
//!   so any other line means an earlier attempt may have been sent. The CLI runs with
//!   `RUST_LOG=off,aspen_cli=warn` ([`super::cli`]): its own warnings only, not iroh's.
//! - `Unknown` for everything else: a timeout, exit 1 with any other error (`NOT_LEADER`
//!   too: a follower may have forwarded the write before giving up), `"status":"failed"`,
//!   `"status":"conflict"` (it cannot be told from a masked timeout), `"does_exist":false`
//!   (every key the workloads read is written first, so "absent" is a masked failure, not a
//!   read of nil), output that does not parse.
//!
//! How the client turns these into `ok`/`fail`/`info` per op is in [`super::client`].

use serde::Deserialize;
use std::fmt;

/// How one CLI run ended, as the runner saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ran {
    /// The CLI could not be started (nothing was sent): why.
    pub not_started: Option<String>,
    /// It was killed at the op's deadline (it may have sent its request).
    pub timed_out: bool,
    /// Its exit code (`None`: killed by a signal, or not started).
    pub exit: Option<i32>,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

impl Ran {
    /// A short description for a history's `error` field.
    pub fn summary(&self) -> String {
        if let Some(why) = &self.not_started {
            return format!("aspen-cli not started: {why}");
        }
        if self.timed_out {
            return "aspen-cli timed out".into();
        }
        let err = error_line(&self.stderr).unwrap_or_else(|| last_line(&self.stderr));
        let out = last_line(&self.stdout);
        let retried = match failed_attempts(&self.stderr) {
            0 => String::new(),
            n => format!(" (after {n} failed attempts)"),
        };
        match self.exit {
            Some(0) => format!("aspen-cli: {out}"),
            Some(code) if !err.is_empty() => format!("aspen-cli exit {code}: {err}{retried}"),
            Some(code) => format!("aspen-cli exit {code}: {out}"),
            None => "aspen-cli killed by a signal".into(),
        }
    }
}

/// What a CLI run proves about its op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer<T> {
    /// It happened, with this result.
    Done(T),
    /// It certainly did not happen: why.
    NotApplied(String),
    /// It may or may not have happened: why.
    Unknown(String),
}

impl<T> Answer<T> {
    /// The same answer with its result mapped.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Answer<U> {
        match self {
            Answer::Done(t) => Answer::Done(f(t)),
            Answer::NotApplied(why) => Answer::NotApplied(why),
            Answer::Unknown(why) => Answer::Unknown(why),
        }
    }
}

impl<T: fmt::Debug> fmt::Display for Answer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Done(t) => write!(f, "done: {t:?}"),
            Answer::NotApplied(why) | Answer::Unknown(why) => f.write_str(why),
        }
    }
}

/// The error codes the server returns before it dispatches a request (nothing of it ran).
const REFUSED_BEFORE_DISPATCH: &[&str] = &["RATE_LIMITED"];

/// The `Error: ...` line the CLI prints on failure (anyhow's format), if any.
fn error_line(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .map(strip_ansi)
        .find(|l| l.starts_with("Error: "))
}

fn last_line(text: &str) -> String {
    text.lines()
        .map(strip_ansi)
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or_default()
}

/// The line `aspen-cli vX (commit) built at ...` the CLI prints to stderr on every run.
fn is_banner(line: &str) -> bool {
    line.starts_with("aspen-cli v") && line.contains(" built at ")
}

/// How many attempts the CLI reported as failed (its `RPC request failed` warning, one per
/// attempt that got no answer: each may have reached the node).
fn failed_attempts(stderr: &str) -> usize {
    stderr
        .lines()
        .filter(|l| l.contains("RPC request failed"))
        .count()
}

/// `line` without ANSI colour escapes (tracing colours its warnings on some terminals).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ params final-byte (0x40..=0x7e).
            for d in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&d) && d != '[' {
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// A run that did not print an answer on stdout with exit 0: a definite refusal only when
/// nothing ran, or when its only word is a refusal before dispatch (see the module docs).
fn failed_run<T>(ran: &Ran) -> Answer<T> {
    if let Some(why) = &ran.not_started {
        return Answer::NotApplied(format!("aspen-cli not started: {why}"));
    }
    if ran.timed_out || ran.exit.is_none() {
        return Answer::Unknown(ran.summary());
    }
    // What the CLI said besides its version banner (printed on every run).
    let lines: Vec<String> = ran
        .stderr
        .lines()
        .map(strip_ansi)
        .filter(|l| !l.trim().is_empty() && !is_banner(l))
        .collect();
    if let [only] = lines.as_slice() {
        let code = only
            .strip_prefix("Error: ")
            .and_then(|rest| rest.split(':').next())
            .unwrap_or_default();
        if ran.exit == Some(1) && REFUSED_BEFORE_DISPATCH.contains(&code) {
            return Answer::NotApplied(format!("aspen: {only}"));
        }
    }
    Answer::Unknown(ran.summary())
}

/// The JSON object on stdout of a run that exited 0, or why there is none.
fn json_out<T>(ran: &Ran) -> Result<serde_json::Value, Answer<T>> {
    if ran.not_started.is_some() || ran.timed_out || ran.exit != Some(0) {
        return Err(failed_run(ran));
    }
    let text = ran.stdout.trim();
    serde_json::from_str(text)
        .map_err(|e| Answer::Unknown(format!("aspen-cli printed no JSON ({e}): {text:?}")))
}

/// `kv set --json`: `{"status":"success"|"failed","key":..}`.
pub fn write(ran: &Ran) -> Answer<()> {
    #[derive(Deserialize)]
    struct Out {
        status: String,
    }
    let v = match json_out(ran) {
        Ok(v) => v,
        Err(a) => return a,
    };
    match serde_json::from_value::<Out>(v.clone()) {
        Ok(o) if o.status == "success" => Answer::Done(()),
        // The server's error (a timeout, a failed proposal) is not printed: unknown.
        Ok(o) if o.status == "failed" => {
            Answer::Unknown("aspen: write status \"failed\" (the server's error is hidden)".into())
        }
        _ => Answer::Unknown(format!("aspen-cli: unexpected write answer {v}")),
    }
}

/// `kv cas --json`: `{"status":"success"|"conflict","key":..,"is_success":bool}`. `true`
/// is a CAS that wrote; a conflict is never `Done(false)`: it prints exactly like a CAS
/// whose proposal timed out (and may still commit).
pub fn cas(ran: &Ran) -> Answer<bool> {
    #[derive(Deserialize)]
    struct Out {
        status: String,
        is_success: bool,
    }
    let v = match json_out(ran) {
        Ok(v) => v,
        Err(a) => return a,
    };
    match serde_json::from_value::<Out>(v.clone()) {
        Ok(o) if o.status == "success" && o.is_success => Answer::Done(true),
        Ok(o) if o.status == "conflict" && !o.is_success => Answer::Unknown(
            "aspen: cas \"conflict\" (a compare that was false and a failed proposal print \
             the same)"
                .into(),
        ),
        _ => Answer::Unknown(format!("aspen-cli: unexpected cas answer {v}")),
    }
}

/// `kv get --json`: `{"key":..,"does_exist":bool,"value":string|null|{"base64":..}}`: the
/// value read. `"does_exist":false` is unknown: the server answers a failed read that way.
pub fn read(ran: &Ran) -> Answer<String> {
    let v = match json_out(ran) {
        Ok(v) => v,
        Err(a) => return a,
    };
    match (v.get("does_exist"), v.get("value")) {
        (Some(serde_json::Value::Bool(true)), Some(serde_json::Value::String(s))) => {
            Answer::Done(s.clone())
        }
        (Some(serde_json::Value::Bool(false)), _) => Answer::Unknown(
            "aspen: does_exist false for a key written before (a failed read prints the same)"
                .into(),
        ),
        _ => Answer::Unknown(format!("aspen-cli: unexpected read answer {v}")),
    }
}

/// One page of `kv scan --json`: `{"entries":[{"key":..,"value":..}],"count":n,
/// "continuation_token":string|null}`. An empty page is a plain answer here; the caller
/// knows whether it can be (a failed scan prints no entries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanPage {
    /// The keys found, in order.
    pub keys: Vec<String>,
    /// Where the next page starts, if there is one.
    pub next: Option<String>,
}

/// `kv scan --json` (see [`ScanPage`]).
pub fn scan(ran: &Ran) -> Answer<ScanPage> {
    #[derive(Deserialize)]
    struct Entry {
        key: String,
    }
    #[derive(Deserialize)]
    struct Out {
        entries: Vec<Entry>,
        continuation_token: Option<String>,
    }
    let v = match json_out(ran) {
        Ok(v) => v,
        Err(a) => return a,
    };
    match serde_json::from_value::<Out>(v.clone()) {
        Ok(o) => Answer::Done(ScanPage {
            keys: o.entries.into_iter().map(|e| e.key).collect(),
            next: o.continuation_token.filter(|t| !t.is_empty()),
        }),
        Err(e) => Answer::Unknown(format!("aspen-cli: unexpected scan answer ({e}): {v}")),
    }
}

/// `cluster metrics --json`: whether the node answering says it is the leader (its own
/// Raft state, `"state":"Leader"`).
pub fn leads(ran: &Ran) -> Result<bool, String> {
    let v = json_out::<()>(ran).map_err(|a| a.to_string())?;
    match v.get("state").and_then(|s| s.as_str()) {
        Some(state) => Ok(state == "Leader"),
        None => Err(format!("aspen-cli: metrics without a state: {v}")),
    }
}

/// A setup step (`cluster init`, `add-learner`, `change-membership`): whether it exited 0
/// with JSON on stdout, or what went wrong.
pub fn step(ran: &Ran) -> Result<serde_json::Value, String> {
    json_out::<()>(ran).map_err(|a| a.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The banner every run of the recorded CLI printed first on stderr.
    const BANNER: &str = "aspen-cli v0.1.0 (8fd8417f) built at 2026-12-01 23:01:14 UTC\n";

    fn ok(stdout: &str) -> Ran {
        Ran {
            exit: Some(0),
            stdout: format!("{stdout}\n"),
            stderr: BANNER.into(),
            ..Ran::default()
        }
    }

    fn err(code: i32, stderr: &str) -> Ran {
        Ran {
            exit: Some(code),
            stderr: format!("{BANNER}{stderr}"),
            ..Ran::default()
        }
    }

    fn is_unknown<T>(a: &Answer<T>) -> bool {
        matches!(a, Answer::Unknown(_))
    }

    // RECORDED: the outputs below were printed by aspen-cli 0.1.0 (Aspen 8fd8417f) with
    // `--json` against a real 3-node cluster (RUST_LOG=off,aspen_cli=warn, as the client
    // runs it), unless marked otherwise.

    /// `kv get` of a key set to 3; then of a key never written.
    const GET_FOUND: &str =
        "{\n  \"does_exist\": true,\n  \"key\": \"squall-1\",\n  \"value\": \"3\"\n}";
    const GET_ABSENT: &str =
        "{\n  \"does_exist\": false,\n  \"key\": \"squall-9\",\n  \"value\": null\n}";
    const SET_OK: &str = r#"{"key":"squall-1","status":"success"}"#;
    const CAS_OK: &str = r#"{"is_success":true,"key":"squall-1","status":"success"}"#;
    /// A compare that was false (the key held 4, expected 3).
    const CAS_CONFLICT: &str = r#"{"is_success":false,"key":"squall-1","status":"conflict"}"#;
    /// Two of three nodes paused, `--timeout 2000`: five attempts, 12 s, exit 1 — and this
    /// `kv set squall-1 2` was committed: a read after the nodes resumed returned 2.
    const PAUSED_MAJORITY: &str = "\
2026-12-01T23:13:57.170683Z  WARN RPC request failed peer_idx=0 attempt=0 peer_id=68c3661a14e24d365f5e3512624f50f0c66d4fdca3e2008a6bf3ecd9c54468f5 error=response timeout
2026-12-01T23:13:59.678090Z  WARN RPC request failed peer_idx=0 attempt=1 peer_id=68c3661a14e24d365f5e3512624f50f0c66d4fdca3e2008a6bf3ecd9c54468f5 error=response timeout
2026-12-01T23:14:02.183351Z  WARN RPC request failed peer_idx=0 attempt=2 peer_id=68c3661a14e24d365f5e3512624f50f0c66d4fdca3e2008a6bf3ecd9c54468f5 error=response timeout
2026-12-01T23:14:04.689922Z  WARN RPC request failed peer_idx=0 attempt=3 peer_id=68c3661a14e24d365f5e3512624f50f0c66d4fdca3e2008a6bf3ecd9c54468f5 error=response timeout
2026-12-01T23:14:07.195491Z  WARN RPC request failed peer_idx=0 attempt=4 peer_id=68c3661a14e24d365f5e3512624f50f0c66d4fdca3e2008a6bf3ecd9c54468f5 error=response timeout
Error: response timeout

Caused by:
    deadline has elapsed
";
    /// The same paused majority, `--timeout 20000`: one attempt timed out, then the node
    /// (a leader that had lost its quorum) answered NOT_LEADER.
    const RETRIED_NOT_LEADER: &str = "\
2026-12-01T23:15:00.762480Z  WARN RPC request failed peer_idx=0 attempt=0 peer_id=68c3661a14e24d365f5e3512624f50f0c66d4fdca3e2008a6bf3ecd9c54468f5 error=response timeout
Error: NOT_LEADER: NOT_LEADER
";
    /// The next request to that node: NOT_LEADER at once (32 ms). Still unknown: a
    /// follower that knows a leader forwards the write before it can answer this.
    const NOT_LEADER: &str = "Error: NOT_LEADER: NOT_LEADER\n";
    /// `cluster metrics` on the leader, then on a follower.
    const METRICS_LEADER: &str = "{\n  \"current_leader\": 1,\n  \"current_term\": 1,\n  \"last_applied\": 9,\n  \"last_log_index\": 9,\n  \"snapshot_index\": 0,\n  \"state\": \"Leader\"\n}";
    const METRICS_FOLLOWER: &str = "{\n  \"current_leader\": 1,\n  \"current_term\": 1,\n  \"last_applied\": 858,\n  \"last_log_index\": 858,\n  \"snapshot_index\": 0,\n  \"state\": \"Follower\"\n}";
    /// `cluster metrics` on a node whose Raft stopped after a fatal storage error.
    const METRICS_SHUTDOWN: &str = "{\n  \"current_leader\": 2,\n  \"state\": \"Shutdown\"\n}";
    /// A scan with `--limit 1` of two keys, then one of both.
    const SCAN_PAGE: &str = "{\n  \"continuation_token\": \"squall-set/5\",\n  \"count\": 1,\n  \"entries\": [\n    {\n      \"key\": \"squall-set/5\",\n      \"value\": \"1\"\n    }\n  ]\n}";
    const SCAN_ALL: &str = "{\n  \"continuation_token\": null,\n  \"count\": 2,\n  \"entries\": [\n    {\n      \"key\": \"squall-set/5\",\n      \"value\": \"1\"\n    },\n    {\n      \"key\": \"squall-set/sentinel\",\n      \"value\": \"1\"\n    }\n  ]\n}";
    /// `cluster init` (setup).
    const INIT_OK: &str = r#"{"message":"Cluster initialized","result":"InitResultResponse { is_success: true, error: None }","status":"success"}"#;
    /// A request before `cluster init` (after the CLI's own backoff, 3 s).
    const NOT_INITIALIZED: &str =
        "Error: NOT_INITIALIZED: cluster not initialized - call InitCluster first\n";

    /// `kv set` through a follower while the cluster was loaded (no fault): exit 0, the
    /// server's error dropped — once after a first attempt timed out (its warning before
    /// it), once with nothing else said. Recorded 2026-12-07 (6 of 65 writes); whether either
    /// was applied is what the CLI does not say.
    const SET_FAILED: &str = r#"{"key":"squall-rec-0","status":"failed"}"#;
    const SET_FAILED_AFTER_A_TIMEOUT: &str = "\
2026-12-07T20:46:09.537618Z  WARN RPC request failed peer_idx=0 attempt=0 peer_id=f0f9c5288b03a0d1110960390398c5504fc46301acca58bf6743edae84842f9d error=response timeout
";
    /// A `kv set` whose five attempts lost their connection (the node refusing clients past
    /// its limit): exit 1. Recorded 2026-12-07.
    const CONNECTION_LOST: &str = "\
2026-12-07T20:46:01.275101Z  WARN RPC request failed peer_idx=0 attempt=0 peer_id=c23efd5febb392af50549a8a8d5f2f2074bc7f1e4b1c40916250504e56cb9043 error=failed to read response
2026-12-07T20:46:01.778701Z  WARN RPC request failed peer_idx=0 attempt=1 peer_id=c23efd5febb392af50549a8a8d5f2f2074bc7f1e4b1c40916250504e56cb9043 error=failed to open stream
2026-12-07T20:46:02.285440Z  WARN RPC request failed peer_idx=0 attempt=2 peer_id=c23efd5febb392af50549a8a8d5f2f2074bc7f1e4b1c40916250504e56cb9043 error=failed to read response
2026-12-07T20:46:02.803102Z  WARN RPC request failed peer_idx=0 attempt=3 peer_id=c23efd5febb392af50549a8a8d5f2f2074bc7f1e4b1c40916250504e56cb9043 error=failed to read response
2026-12-07T20:46:03.305648Z  WARN RPC request failed peer_idx=0 attempt=4 peer_id=c23efd5febb392af50549a8a8d5f2f2074bc7f1e4b1c40916250504e56cb9043 error=failed to read response
Error: failed to read response

Caused by:
    0: read error: connection lost
    1: connection lost
    2: closed by peer: 0
";

    // FROM THE CHECKED FACTS, not recorded: a rate limit never happened, and cannot through
    // this CLI — the server's token bucket is per client key, and each CLI run is a new
    // client with a full bucket and one request. The shape follows the recorded errors.
    const RATE_LIMITED: &str = "Error: RATE_LIMITED: Too many requests. Retry after 100ms\n";

    #[test]
    fn a_write_is_done_only_on_success() {
        assert_eq!(write(&ok(SET_OK)), Answer::Done(()));
        // The server's error folded into a normal answer, exit 0.
        assert!(is_unknown(&write(&ok(SET_FAILED))));
        let after_timeout = Ran {
            stderr: format!("{BANNER}{SET_FAILED_AFTER_A_TIMEOUT}"),
            ..ok(SET_FAILED)
        };
        assert!(is_unknown(&write(&after_timeout)));
        assert_eq!(
            write(&err(1, CONNECTION_LOST)),
            Answer::Unknown(
                "aspen-cli exit 1: Error: failed to read response (after 5 failed attempts)".into()
            )
        );
        assert!(is_unknown(&write(&ok("garbage"))));
        assert!(is_unknown(&write(&ok(r#"{"status":"maybe"}"#))));
        // Exit 1 after retries — committed later, in the recording.
        let paused = write(&err(1, PAUSED_MAJORITY));
        assert_eq!(
            paused,
            Answer::Unknown(
                "aspen-cli exit 1: Error: response timeout (after 5 failed attempts)".into()
            )
        );
    }

    #[test]
    fn a_cas_conflict_is_unknown() {
        assert_eq!(cas(&ok(CAS_OK)), Answer::Done(true));
        // A real compare-false, recorded; it prints exactly as a masked failure would.
        assert!(is_unknown(&cas(&ok(CAS_CONFLICT))));
        assert!(is_unknown(&cas(&ok(
            r#"{"is_success":true,"key":"squall-1","status":"conflict"}"#
        ))));
        assert!(is_unknown(&cas(&err(1, PAUSED_MAJORITY))));
    }

    #[test]
    fn a_read_of_nothing_is_unknown() {
        assert_eq!(read(&ok(GET_FOUND)), Answer::Done("3".into()));
        assert!(is_unknown(&read(&ok(GET_ABSENT))));
        assert!(is_unknown(&read(&ok(
            r#"{"does_exist":true,"key":"squall-1","value":{"base64":"AAE="}}"#
        ))));
        assert!(is_unknown(&read(&err(1, PAUSED_MAJORITY))));
    }

    #[test]
    fn only_a_refusal_before_dispatch_with_nothing_else_said_is_not_applied() {
        assert!(matches!(
            write(&err(1, RATE_LIMITED)),
            Answer::NotApplied(_)
        ));
        assert!(matches!(cas(&err(1, RATE_LIMITED)), Answer::NotApplied(_)));
        // An earlier attempt failed on the network (and may have been sent) before the
        // refusal: the CLI warned about it, so unknown.
        let retried = format!("{}{RATE_LIMITED}", PAUSED_MAJORITY.lines().next().unwrap());
        assert!(is_unknown(&write(&err(1, &retried))));
        for stderr in [NOT_LEADER, RETRIED_NOT_LEADER, NOT_INITIALIZED, ""] {
            assert!(is_unknown(&write(&err(1, stderr))), "{stderr:?}");
        }
        assert!(is_unknown(&write(&err(2, RATE_LIMITED))));
    }

    #[test]
    fn timeouts_and_signals_are_unknown_not_starting_is_not_applied() {
        let timed_out = Ran {
            timed_out: true,
            ..Ran::default()
        };
        assert!(is_unknown(&write(&timed_out)));
        assert!(is_unknown(&read(&timed_out)));
        assert!(is_unknown(&write(&Ran::default())));
        let not_started = Ran {
            not_started: Some("No such file or directory (os error 2)".into()),
            ..Ran::default()
        };
        assert!(matches!(write(&not_started), Answer::NotApplied(_)));
    }

    #[test]
    fn scan_pages_setup_steps_and_leadership() {
        assert_eq!(
            scan(&ok(SCAN_ALL)),
            Answer::Done(ScanPage {
                keys: vec!["squall-set/5".into(), "squall-set/sentinel".into()],
                next: None
            })
        );
        assert_eq!(
            scan(&ok(SCAN_PAGE)),
            Answer::Done(ScanPage {
                keys: vec!["squall-set/5".into()],
                next: Some("squall-set/5".into())
            })
        );
        assert!(step(&ok(INIT_OK)).is_ok());
        assert!(step(&err(1, NOT_INITIALIZED)).is_err());
        assert_eq!(leads(&ok(METRICS_LEADER)), Ok(true));
        assert_eq!(leads(&ok(METRICS_FOLLOWER)), Ok(false));
        assert_eq!(leads(&ok(METRICS_SHUTDOWN)), Ok(false));
        assert!(leads(&err(1, NOT_LEADER)).is_err());
    }

    #[test]
    fn ansi_escapes_and_summaries() {
        assert_eq!(strip_ansi("\u{1b}[33mWARN\u{1b}[0m x"), "WARN x");
        let limited = "\u{1b}[31mError: RATE_LIMITED: slow down\u{1b}[0m\n";
        assert!(matches!(write(&err(1, limited)), Answer::NotApplied(_)));
        assert_eq!(
            err(1, RETRIED_NOT_LEADER).summary(),
            "aspen-cli exit 1: Error: NOT_LEADER: NOT_LEADER (after 1 failed attempts)"
        );
    }
}
