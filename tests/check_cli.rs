//! `squall check` end to end: the binary on history files written to a temp dir — verdicts
//! and exit codes, `--json`, input errors (malformed files, no operations, events out of
//! order), cut files, budgets, streams, `--report`.

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn squall(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_squall"))
        .args(args)
        .output()
        .expect("run squall")
}

/// Runs squall with `input` written to its stdin (by a thread: squall may stop reading).
fn squall_with_stdin(args: &[&str], input: Vec<u8>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_squall"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run squall");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        // A broken pipe is fine: squall read what it wanted.
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for squall");
    writer.join().unwrap();
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh temp dir per test, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("sqcheck-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One JSONL event.
fn jl(index: u64, kind: &str, process: u64, f: &str, value: &str) -> String {
    format!(
        "{{\"index\":{index},\"time\":{},\"type\":\"{kind}\",\"process\":{process},\"f\":\"{f}\",\"value\":{value}}}\n",
        (index + 1) * 1000
    )
}

/// write 1 then a read of 1 (valid), or of null (a stale read: invalid), as JSONL.
fn register_jsonl(read: &str) -> String {
    [
        jl(0, "invoke", 0, "write", "1"),
        jl(1, "ok", 0, "write", "1"),
        jl(2, "invoke", 1, "read", "null"),
        jl(3, "ok", 1, "read", read),
    ]
    .concat()
}

const VALID_EDN: &str = "; a register, Jepsen style\n\
[{:type :invoke, :f :write, :value 1, :process 0}\n\
 {:type :ok, :f :write, :value 1, :process 0}\n\
 {:type :invoke,\n  :f :read,\n  :value nil,\n  :process 1} ; a map over lines\n\
 {:type :ok, :f :read, :value 1, :process 1}]\n";

/// One map per line, no vector.
const INVALID_EDN: &str = "{:type :invoke, :f :write, :value 1, :process 0}\n\
{:type :ok, :f :write, :value 1, :process 0}\n\
{:type :invoke, :f :read, :value nil, :process 1}\n\
{:type :ok, :f :read, :value 2, :process 1}\n";

fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn verdicts_and_exit_codes() {
    let dir = TempDir::new("verdicts");
    let valid_jsonl = dir.file("valid.jsonl", &register_jsonl("1"));
    let invalid_jsonl = dir.file("invalid.jsonl", &register_jsonl("null"));
    let valid_edn = dir.file("valid.edn", VALID_EDN);
    let invalid_edn = dir.file("invalid.edn", INVALID_EDN);
    // Jepsen console logs: detected by extension, and by content.
    let log = |read: &str| {
        format!(
            "INFO  jepsen.core - Running test\n\
             INFO  jepsen.util - 0\t:invoke\t:write\t1\n\
             INFO  jepsen.util - 0\t:ok\t:write\t1\n\
             INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]\n\
             INFO  jepsen.util - 1\t:info\t:cas\t:timed-out\n\
             INFO  jepsen.util - 2\t:invoke\t:read\tnil\n\
             INFO  jepsen.util - 2\t:ok\t:read\t{read}\n"
        )
    };
    // The current layout: logback's timestamp, level and thread, `jepsen.util:`, tabs.
    let logback = |read: &str| {
        let at = "2021-02-26 23:39:01,303{GMT}\tINFO\t";
        format!(
            "{at}[jepsen test runner] jepsen.core: Running test\n\
             {at}[jepsen worker 0] jepsen.util: 0\t:invoke\t:write\t1\n\
             {at}[jepsen worker 0] jepsen.util: 0\t:ok\t:write\t1\n\
             {at}[jepsen nemesis] jepsen.util: :nemesis\t:info\t:start\tnil\n\
             {at}[jepsen worker 1] jepsen.util: 1\t:invoke\t:cas\t[1 2]\n\
             {at}[jepsen worker 1] jepsen.util: 1\t:info\t:cas\t[1 2]\t:timeout\n\
             {at}[jepsen worker 2] jepsen.util: 2\t:invoke\t:read\tnil\n\
             {at}[jepsen worker 2] jepsen.util: 2\t:ok\t:read\t{read}\n"
        )
    };
    let valid_logback = dir.file("valid-logback.log", &logback("2"));
    let invalid_logback = dir.file("invalid-logback.txt", &logback("3"));
    let valid_log = dir.file("valid.log", &log("2"));
    let valid_log_txt = dir.file("valid.txt", &log("1"));
    let invalid_log = dir.file("invalid.log", &log("3"));
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec![&valid_jsonl], 0),
        (vec![&valid_edn], 0),
        (vec![&valid_jsonl, &valid_edn], 0),
        (vec![&invalid_jsonl], 1),
        (vec![&invalid_edn], 1),
        (vec![&valid_jsonl, &invalid_edn, &valid_edn], 1),
        (vec!["--format", "edn", &valid_edn], 0),
        (vec!["--model", "register", &invalid_jsonl], 1),
        (vec![&valid_log], 0),
        (vec![&invalid_log], 1),
        (vec!["--format", "jepsen-log", &valid_log_txt], 0),
        (vec![&valid_log_txt], 0),
        (vec![&valid_logback], 0),
        (vec![&invalid_logback], 1),
    ];
    for (files, want) in cases {
        let mut args = vec!["check"];
        args.extend(files.iter().copied());
        let out = squall(&args);
        assert_eq!(out.status.code(), Some(want), "{args:?}: {}", stderr(&out));
    }
    let out = squall(&["check", &invalid_jsonl]);
    let text = stdout(&out);
    assert!(text.contains("invalid.jsonl: invalid"), "{text}");
    assert!(
        text.contains("read by process 1 (history index 3) returned null"),
        "{text}"
    );
}

#[test]
fn json_has_one_object_per_file() {
    let dir = TempDir::new("json");
    let valid = dir.file("valid.jsonl", &register_jsonl("1"));
    let invalid = dir.file("invalid.edn", INVALID_EDN);
    let out = squall(&["check", "--json", &valid, &invalid]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let objects = json_lines(&out);
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0]["file"], Value::from(valid));
    assert_eq!(objects[0]["valid"], Value::Bool(true));
    assert_eq!(objects[1]["valid"], Value::Bool(false));
    for o in &objects {
        assert_eq!(o["model"], "cas-register");
        assert_eq!(o["ops"], 2);
        assert!(o["check_ms"].is_u64(), "{o}");
    }
    assert_eq!(objects[1]["counterexample"]["op"]["f"], "read");
}

#[test]
fn models_and_initial_values() {
    let dir = TempDir::new("models");
    let mutex = dir.file(
        "mutex.edn",
        "[{:type :invoke, :f :acquire, :process 0} {:type :ok, :f :acquire, :process 0}\n\
          {:type :invoke, :f :acquire, :process 1} {:type :ok, :f :acquire, :process 1}]",
    );
    let kv = dir.file(
        "kv.edn",
        "[{:type :invoke, :f :append, :value [:k 1], :process 0}\n\
          {:type :ok, :f :append, :value [:k 1], :process 0}\n\
          {:type :invoke, :f :read, :value [:k nil], :process 1}\n\
          {:type :ok, :f :read, :value [:k [1]], :process 1}]",
    );
    let multi = dir.file(
        "multi.edn",
        "[{:type :invoke, :f :txn, :value [[:read :x nil]], :process 0}\n\
          {:type :ok, :f :txn, :value [[:read :x 0]], :process 0}]",
    );
    let read5 = dir.file(
        "read5.jsonl",
        &[
            jl(0, "invoke", 0, "read", "null"),
            jl(1, "ok", 0, "read", "5"),
        ]
        .concat(),
    );
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["--model", "mutex", &mutex], 1),
        (vec!["--model", "kv", &kv], 0),
        (vec!["--model", "multi-register", &multi], 0),
        (
            vec!["--model", "multi-register", "--initial", "nil", &multi],
            1,
        ),
        (
            vec!["--model", "multi-register", "--initial", "1", &multi],
            1,
        ),
        (vec!["--model", "register", &read5], 1),
        (vec!["--model", "register", "--initial", "5", &read5], 0),
    ];
    for (args, want) in cases {
        let mut all = vec!["check", "--json"];
        all.extend(args.iter().copied());
        let out = squall(&all);
        assert_eq!(
            out.status.code(),
            Some(want),
            "{all:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        let model = args[1];
        assert_eq!(json_lines(&out)[0]["model"], model);
    }
    let out = squall(&["check", "--model", "queue", &mutex]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("unknown model \"queue\""),
        "{}",
        stderr(&out)
    );
    let out = squall(&["check", "--initial", "[1", &mutex]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("--initial"), "{}", stderr(&out));
}

#[test]
fn malformed_files_are_input_errors_naming_file_and_line() {
    let dir = TempDir::new("malformed");
    let good = dir.file("good.jsonl", &register_jsonl("1"));
    let mut text = register_jsonl("1");
    text.insert_str(text.find('\n').unwrap() + 1, "{\"index\": oops}\n");
    let bad_jsonl = dir.file("bad.jsonl", &text);
    let bad_edn = dir.file(
        "bad.edn",
        "[{:type :invoke, :f :read, :process 0}\n {:type :done, :f :read, :process 0}]\n",
    );
    let bad_log = dir.file(
        "bad.log",
        "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
         INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2\n",
    );
    for (file, line) in [(&bad_jsonl, 2), (&bad_edn, 2), (&bad_log, 2)] {
        let out = squall(&["check", &good, file]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{file}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(&format!("{file}:{line}:")), "{err}");
        assert!(stdout(&out).is_empty(), "nothing checked: {}", stdout(&out));
    }
}

#[test]
fn a_history_cut_mid_line_is_checked_up_to_its_last_complete_event() {
    let dir = TempDir::new("cut");
    let mut text = register_jsonl("null");
    text.push_str(&jl(4, "invoke", 2, "read", "null")[..30]);
    let cut = dir.file("cut.jsonl", &text);
    let out = squall(&["check", "--json", &cut]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("warning: "), "{err}");
    assert!(err.contains("line 5"), "{err}");
    let o = &json_lines(&out)[0];
    assert_eq!(
        (o["valid"].clone(), o["ops"].clone()),
        (Value::Bool(false), Value::from(2))
    );
}

/// Writes a history no exhaustive search decides quickly: `n` crashed writes of 1..=n, all
/// concurrent, then sequential reads of 1, 2, ..., n, and a last read of 1 again, which no
/// order allows (write 1 happened once, before write 2). Every search that tries the writes
/// in turn before each read meets 2^n sets of done writes.
fn hard_history(n: u64) -> String {
    let mut text = String::new();
    let mut i = 0;
    let mut push = |kind: &str, p: u64, f: &str, v: String| {
        text += &jl(i, kind, p, f, &v);
        i += 1;
    };
    for p in 1..=n {
        push("invoke", p, "write", p.to_string());
    }
    for p in 1..=n {
        push("info", p, "write", p.to_string());
    }
    for v in (1..=n).chain([1]) {
        push("invoke", 0, "read", "null".into());
        push("ok", 0, "read", v.to_string());
    }
    text
}

/// A history the search needs seconds for (measured: 4.5 s, 170 MiB): 20 processes, 10k
/// ops, 2% crashed, one read changed to another value (it stays valid).
fn slow_history() -> String {
    let o = checkers::gen::GenOptions {
        seed: 508,
        processes: 20,
        ops: 10_000,
        values: 5,
        crash_per_mille: 20,
        mutate: true,
    };
    checkers::gen::cas_register_history(&o)
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect()
}

/// Neither budget depends on how fast the checker is. The time limit is 1 µs, over sooner
/// than the 20,000 events are even paired into operations (before any search, the check looks
/// at the clock): however fast the search gets, it is not reached. The memory figure is what
/// the search claims, the same on any machine at any speed (the time limit there only guards
/// against a hang).
#[test]
fn budgets_give_unknown() {
    let dir = TempDir::new("budget");
    let slow = dir.file("slow.jsonl", &slow_history());
    let out = squall(&["check", "--json", "--time-limit", "1us", &slow]);
    let o = &json_lines(&out)[0];
    assert_eq!(out.status.code(), Some(2), "{o}");
    assert_eq!(o["valid"], "unknown");
    assert_eq!(o["cause"], "time limit 1µs reached", "{o}");
    let out = squall(&[
        "check",
        "--memory-limit",
        "16MiB",
        "--time-limit",
        "60s",
        &slow,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("memory budget 16 MiB reached"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_file_too_large_for_the_memory_budget_is_not_read() {
    let dir = TempDir::new("large");
    let big_text = hard_history(200);
    let small_text = register_jsonl("1");
    assert!(small_text.len() * 8 < big_text.len() * 7);
    let big = dir.file("big.jsonl", &big_text);
    let small = dir.file("small.jsonl", &small_text);
    // A budget of less than eight bytes per byte of the file: unknown, saying why, and the
    // other files are still checked.
    let limit = format!("{}B", big_text.len() * 7);
    let out = squall(&["check", "--json", "--memory-limit", &limit, &big, &small]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let objects = json_lines(&out);
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0]["valid"], "unknown");
    assert!(
        objects[0]["cause"]
            .as_str()
            .unwrap()
            .contains("more than the memory budget"),
        "{}",
        objects[0]
    );
}

#[test]
fn report_writes_a_self_contained_page() {
    let dir = TempDir::new("report");
    let invalid = dir.file("invalid.jsonl", &register_jsonl("null"));
    let valid = dir.file("valid.edn", VALID_EDN);
    let reports = dir.path("reports");
    let out = squall(&[
        "check",
        "--json",
        "--report",
        reports.to_str().unwrap(),
        &invalid,
        &valid,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let objects = json_lines(&out);
    let page = Path::new(objects[0]["report"].as_str().unwrap());
    assert_eq!(page, reports.join("invalid.html"));
    let html = std::fs::read_to_string(page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("NOT linearizable") && html.contains("id=\"culprit\""));
    assert!(
        !html.contains("src=") && !html.contains("<link"),
        "no network"
    );
    let html = std::fs::read_to_string(reports.join("valid.html")).unwrap();
    assert!(html.contains("<h1>Linearizable</h1>"));
}

/// A history with no client operation is an input error in every format, never a verdict.
#[test]
fn no_operations_is_an_input_error() {
    let dir = TempDir::new("noops");
    let nemesis_log = "2021-02-26 23:39:01,303{GMT}\tINFO\t[jepsen nemesis] jepsen.util: \
                       :nemesis\t:info\t:start\tnil\n";
    let cases = [
        dir.file("empty.jsonl", ""),
        dir.file("blank", "\n  \n"),
        dir.file("empty.edn", "[]\n"),
        dir.file(
            "nemesis.edn",
            "[{:type :info, :f :start, :process :nemesis}]",
        ),
        dir.file("nemesis.log", nemesis_log),
        dir.file(
            "nemesis.jsonl",
            &jl(0, "info", 0, "start", "null").replace("\"process\":0", "\"process\":\"nemesis\""),
        ),
        dir.file("empty-array.json", "[]"),
    ];
    let text = dir.file("notes.txt", "some text\nwith no op lines\n");
    let good = dir.file("good.jsonl", &register_jsonl("1"));
    // Each after a good file: nothing is checked, not even the good one.
    let mut all: Vec<(Vec<&str>, &str)> = cases
        .iter()
        .map(|f| (vec![good.as_str(), f.as_str()], f.as_str()))
        .collect();
    // (The format applies to every file: this one alone.)
    all.push((vec!["--format", "jepsen-log", &text], &text));
    for (args, file) in all {
        let mut argv = vec!["check"];
        argv.extend(args);
        let out = squall(&argv);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{argv:?}: {err}");
        assert_eq!(
            err.trim_end(),
            format!("squall: no operations in {file}"),
            "{argv:?}"
        );
        assert!(stdout(&out).is_empty(), "nothing checked: {}", stdout(&out));
    }
}

/// Real time is the order of the file. Times that tie or run backwards do not change it:
/// ties are fine (the order is still the file's: here a stale read, invalid); backwards times
/// are an input error naming the line, unless `--allow-time-disorder`, which checks the file
/// in its order with a warning. A repeated or decreasing index is an input error.
#[test]
fn order_is_the_files_and_times_must_agree() {
    let dir = TempDir::new("order");
    let timed = |times: [u64; 4], read: &str| {
        let ev = |i: u64, kind: &str, p: u64, f: &str, v: &str| {
            jl(i, kind, p, f, v).replace(
                &format!("\"time\":{}", (i + 1) * 1000),
                &format!("\"time\":{}", times[i as usize]),
            )
        };
        [
            ev(0, "invoke", 0, "write", "1"),
            ev(1, "ok", 0, "write", "1"),
            ev(2, "invoke", 1, "read", "null"),
            ev(3, "ok", 1, "read", read),
        ]
        .concat()
    };
    let ties = dir.file("ties.jsonl", &timed([5, 5, 5, 5], "null"));
    let ties_ok = dir.file("ties-ok.jsonl", &timed([5, 5, 5, 5], "1"));
    let back = dir.file("back.jsonl", &timed([10, 20, 1, 2], "null"));
    let untimed = dir.file(
        "untimed.edn",
        "[{:type :invoke, :f :write, :value 1, :process 0}\n\
          {:type :ok, :f :write, :value 1, :process 0}\n\
          {:type :invoke, :f :read, :value nil, :process 1}\n\
          {:type :ok, :f :read, :value nil, :process 1}]\n",
    );
    for (file, want) in [(&ties, 1), (&ties_ok, 0), (&untimed, 1)] {
        let out = squall(&["check", file]);
        assert_eq!(
            out.status.code(),
            Some(want),
            "{file}: {}{}",
            stdout(&out),
            stderr(&out)
        );
    }
    let out = squall(&["check", &back]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "{back}:3: time 1 is before the previous event's time 20"
        )),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
    let out = squall(&["check", "--allow-time-disorder", &back]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with(&format!("warning: {back}:3: time 1 is before")),
        "{err}"
    );
    assert!(
        stdout(&out).contains("back.jsonl: invalid"),
        "{}",
        stdout(&out)
    );

    let mut dup = register_jsonl("1");
    dup = dup.replace("\"index\":2,", "\"index\":1,");
    let dup = dir.file("dup.jsonl", &dup);
    let down = dir.file(
        "down.edn",
        "[{:index 3, :type :invoke, :f :write, :value 1, :process 0}\n\
          {:index 1, :type :ok, :f :write, :value 1, :process 0}]\n",
    );
    for (file, want) in [
        (&dup, format!("{dup}:3: index 1 again")),
        (
            &down,
            format!("{down}:2: index 1 is below the previous event's index 3"),
        ),
    ] {
        let out = squall(&["check", "--allow-time-disorder", file]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(err.contains(&want), "{err}");
    }
}

/// Streams are read once, within the memory limit: stdin (`-`), a pipe, a device.
#[test]
fn streams_are_read_once_within_the_memory_limit() {
    // A valid history on stdin: read once, kept for the check (a second read would see
    // nothing: "no operations").
    let out = squall_with_stdin(&["check", "--json", "-"], register_jsonl("1").into_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let o = &json_lines(&out)[0];
    assert_eq!(
        (o["file"].as_str(), o["ops"].as_u64()),
        (Some("<stdin>"), Some(2))
    );
    let out = squall_with_stdin(&["check", "-"], register_jsonl("null").into_bytes());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // An endless device: no more than the limit allows is read; unknown, saying why.
    if Path::new("/dev/zero").exists() {
        let out = squall(&["check", "--json", "--memory-limit", "8MiB", "/dev/zero"]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let o = &json_lines(&out)[0];
        assert_eq!(o["valid"], "unknown");
        let cause = o["cause"].as_str().unwrap();
        assert!(
            cause.contains("longer than 1 MiB") && cause.contains("more than the memory budget"),
            "{cause}"
        );
    }
    // A long stream on stdin: the same, and the other files are still checked.
    let dir = TempDir::new("streams");
    let good = dir.file("good.jsonl", &register_jsonl("1"));
    let long = register_jsonl("1").repeat(4000).into_bytes();
    assert!(long.len() > (8 << 20) / 8);
    let out = squall_with_stdin(
        &["check", "--json", "--memory-limit", "8MiB", "-", &good],
        long,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let objects = json_lines(&out);
    assert_eq!(objects[0]["valid"], "unknown");
    assert!(
        objects[0]["cause"]
            .as_str()
            .unwrap()
            .contains("longer than 1 MiB"),
        "{}",
        objects[0]
    );
    assert_eq!(objects[1]["valid"], Value::Bool(true));
    // A history read from a FIFO (not stdin) is read once too.
    let fifo = dir.path("history.fifo");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) } == 0 {
        let path = fifo.clone();
        let writer = std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
            f.write_all(register_jsonl("null").as_bytes()).unwrap();
        });
        let out = squall(&["check", "--format", "jsonl", fifo.to_str().unwrap()]);
        writer.join().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    }
    let out = squall(&["check", "-", "-"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("more than once"), "{}", stderr(&out));
}

/// A file of the checkers' corpus (`checkers/tests/data/<checker>/<verdict>/`).
fn corpus(path: &str) -> String {
    format!("{}/checkers/tests/data/{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn workloads_pick_their_checkers_and_name_the_anomalous_ops() {
    let cases = [
        ("set", "set/valid/all-acknowledged-read.edn", 0),
        ("set", "set/invalid/lost-add.edn", 1),
        ("set", "set/invalid/unexpected-element.edn", 1),
        ("set", "set/invalid/stale-read.edn", 1),
        ("set", "set/unknown/no-reads.edn", 2),
        ("bank", "bank/valid/conserved.edn", 0),
        ("bank", "bank/invalid/wrong-total.edn", 1),
        ("bank", "bank/invalid/negative-balance.edn", 1),
        ("bank", "bank/unknown/no-reads.edn", 2),
    ];
    for (workload, file, want) in cases {
        let out = squall(&["check", "--workload", workload, &corpus(file)]);
        assert_eq!(
            out.status.code(),
            Some(want),
            "{file}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        // One line for the file, then one verdict per checker: the workload's and stats.
        let text = stdout(&out);
        assert!(text.contains(&format!("\n{workload}: ")), "{text}");
        assert!(text.contains("\nstats: "), "{text}");
    }

    // The lost add: the element, the add's index and its ok, the read's index.
    let lost = corpus("set/invalid/lost-add.edn");
    let out = squall(&["check", "--workload", "set", &lost]);
    let text = stdout(&out);
    assert!(text.contains("lost-add.edn: invalid"), "{text}");
    assert!(
        text.contains(
            "lost (1): 2 (added at history index 2, ok at 3; missing from the last read, at \
             history index 7)"
        ),
        "{text}"
    );
    let out = squall(&["check", "--workload", "set", "--json", &lost]);
    let o = &json_lines(&out)[0];
    assert_eq!(o["valid"], false);
    assert_eq!(o["results"][0]["checker"], "set");
    assert_eq!(o["results"][0]["valid"], false);
    let found = &o["results"][0]["details"]["lost"][0];
    assert_eq!(
        (&found["element"], &found["add_index"], &found["read_index"]),
        (&Value::from(2), &Value::from(2), &Value::from(7)),
        "{o}"
    );
    assert_eq!(o["results"][1]["checker"], "stats");
    assert_eq!(o["results"][1]["details"]["by_f"]["add"]["ok"], 3);
    assert!(o.get("model").is_none(), "no linearizability here: {o}");

    // The bank read off the total: inferred 20, or given.
    let wrong = corpus("bank/invalid/wrong-total.edn");
    let out = squall(&["check", "--workload", "bank", &wrong]);
    let text = stdout(&out);
    assert!(
        text.contains("1 of 3 reads wrong (total 20, inferred: the sum of 2 of 3 reads)"),
        "{text}"
    );
    assert!(
        text.contains("read at history index 5: sums to 15, not 20"),
        "{text}"
    );
    let out = squall(&[
        "check",
        "--workload",
        "bank",
        "--json",
        "--total",
        "15",
        &wrong,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let bank = &json_lines(&out)[0]["results"][0];
    assert_eq!(bank["details"]["bad_count"], 2, "{bank}");
    assert_eq!(bank["details"]["bad"][0]["index"], 1, "{bank}");
    assert_eq!(bank["details"]["bad"][1]["index"], 7, "{bank}");
    // A negative balance where allowed is none.
    let negative = corpus("bank/invalid/negative-balance.edn");
    let out = squall(&[
        "check",
        "--workload",
        "bank",
        "--negative-allowed",
        &negative,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // Stale reads tolerated on request.
    let stale = corpus("set/invalid/stale-read.edn");
    let out = squall(&["check", "--workload", "set", "--allow-stale", &stale]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // Unknown: the cause at the top of the JSON names each undecided checker.
    let out = squall(&[
        "check",
        "--json",
        "--workload",
        "set",
        &corpus("set/unknown/no-reads.edn"),
    ]);
    let o = &json_lines(&out)[0];
    assert_eq!(o["valid"], "unknown");
    assert_eq!(
        o["cause"], "set: no reads: no read completed ok; stats: no read ever succeeded",
        "{o}"
    );
}

#[test]
fn checker_picks_checkers_directly() {
    let dir = TempDir::new("checker");
    let valid = dir.file("valid.jsonl", &register_jsonl("1"));
    let stale = dir.file("stale.jsonl", &register_jsonl("null"));
    // Linearizability and stats on a register history: both reported, merged.
    let out = squall(&["check", "--checker", "linearizable,stats", &stale]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("stale.jsonl: invalid\n"), "{text}");
    assert!(
        text.contains("linearizable: invalid: NOT linearizable as a cas-register"),
        "{text}"
    );
    assert!(
        text.contains("stats: valid: read: 1 ok, 0 fail, 0 info; write: 1 ok, 0 fail, 0 info"),
        "{text}"
    );
    let out = squall(&["check", "--json", "--checker", "stats,linearizable", &valid]);
    assert_eq!(out.status.code(), Some(0));
    let o = &json_lines(&out)[0];
    let names: Vec<&Value> = o["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["checker"])
        .collect();
    assert_eq!(names, ["stats", "linearizable"]);
    assert_eq!(o["model"], "cas-register", "the report's fields stay: {o}");
    // The set checker on a register history: its reads are no sets, so it cannot judge.
    let out = squall(&["check", "--checker", "set", &valid]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("set: unknown: history index 3: read returned 1, not a list"),
        "{}",
        stdout(&out)
    );
    // --workload register checks as a register; the default stays a cas-register, alone.
    let out = squall(&["check", "--json", "--workload", "register", &valid]);
    assert_eq!(json_lines(&out)[0]["model"], "register");
    let out = squall(&["check", &valid]);
    let text = stdout(&out);
    assert!(!text.contains("stats"), "{text}");
    assert!(
        text.contains("valid: linearizable as a cas-register"),
        "{text}"
    );
}

#[test]
fn options_of_checkers_not_run_are_input_errors() {
    let set = corpus("set/valid/all-acknowledged-read.edn");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--workload", "set", "--model", "register"],
            "--model is an option of the linearizable checker",
        ),
        (&["--workload", "set", "--initial", "0"], "--initial"),
        (&["--workload", "set", "--report", "/tmp/x"], "--report"),
        (
            &["--workload", "set", "--total", "10"],
            "--total is an option of the bank checker",
        ),
        (&["--negative-allowed"], "--negative-allowed"),
        (
            &["--workload", "bank", "--allow-stale"],
            "--allow-stale is an option of the set checker",
        ),
        (&["--workload", "queue"], "queue"),
        (&["--checker", "set,elle"], "elle"),
    ];
    for (args, message) in cases {
        let mut all = vec!["check"];
        all.extend(args.iter().copied());
        all.push(&set);
        let out = squall(&all);
        assert_eq!(out.status.code(), Some(3), "{all:?}: {}", stdout(&out));
        assert!(stderr(&out).contains(message), "{all:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{all:?}");
    }
}
