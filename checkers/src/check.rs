//! The public entry: check a whole history for linearizability, with options, into a
//! [`Report`].

use crate::budget::Budget;
use crate::counterexample::Counterexample;
use crate::independent::{self, KeyHistory};
use crate::linear::{check_key, KeyResult};
use crate::models::{CasRegister, Kv, MultiRegister, Mutex, Register};
use crate::operation::{operations, Operation};
use crate::verdict::Validity;
use histories::Event;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// The models [`check`] knows. Adding a model: a file under `models/` and a variant here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// A read/write register ([`Register`]).
    Register,
    /// A read/write/compare-and-set register ([`CasRegister`]).
    #[default]
    CasRegister,
    /// A key-value store: `[key value]` values, each key a register that also takes
    /// `append` ([`Kv`]). Always checked per key.
    Kv,
    /// Registers read and written by `txn`s of `[read k v]` / `[write k v]` micro-ops
    /// ([`MultiRegister`]). Never split by key: a txn spans keys.
    MultiRegister,
    /// A lock: `acquire` / `release` ([`Mutex`]). Never split by key.
    Mutex,
}

impl ModelKind {
    /// Every model, for help texts.
    pub const ALL: [ModelKind; 5] = [
        ModelKind::Register,
        ModelKind::CasRegister,
        ModelKind::Kv,
        ModelKind::MultiRegister,
        ModelKind::Mutex,
    ];

    /// The name used in reports and on the command line: `register`, `cas-register`, `kv`,
    /// `multi-register`, `mutex`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::CasRegister => "cas-register",
            ModelKind::Kv => "kv",
            ModelKind::MultiRegister => "multi-register",
            ModelKind::Mutex => "mutex",
        }
    }

    /// Whether this model's histories are split by key whatever
    /// [`CheckOptions::independent`] says: `Some(true)` for kv, `Some(false)` for models
    /// whose values are not `[key value]` pairs, `None` where the options decide.
    pub fn keyed(self) -> Option<bool> {
        match self {
            ModelKind::Register | ModelKind::CasRegister => None,
            ModelKind::Kv => Some(true),
            ModelKind::MultiRegister | ModelKind::Mutex => Some(false),
        }
    }

    /// The initial value used when none is given: 0 for multi-register (as in Knossos's
    /// tests), null (Jepsen's nil) for the others. (The mutex ignores it: it starts free.)
    pub fn default_initial(self) -> Value {
        match self {
            ModelKind::MultiRegister => Value::from(0),
            _ => Value::Null,
        }
    }

    /// Checks one key's ops with a fresh model of this kind starting at `initial`.
    pub fn check_key(self, initial: &Value, ops: &[Operation], budget: &Budget) -> KeyResult {
        match self {
            ModelKind::Register => check_key(Register::new(initial), ops, budget),
            ModelKind::CasRegister => check_key(CasRegister::new(initial), ops, budget),
            ModelKind::Kv => check_key(Kv::new(initial), ops, budget),
            ModelKind::MultiRegister => check_key(MultiRegister::new(initial), ops, budget),
            ModelKind::Mutex => check_key(Mutex::new(), ops, budget),
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ModelKind::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = ModelKind::ALL.iter().map(|m| m.name()).collect();
                format!("unknown model {s:?} (known: {})", known.join(", "))
            })
    }
}

/// How to check a history.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckOptions {
    /// The model. Default: cas-register.
    pub model: ModelKind,
    /// The register's initial value. Default: null (Jepsen's nil); see
    /// [`CheckOptions::for_model`] for each model's own default.
    pub initial: Value,
    /// Values are `[key value]` pairs, each key an independent register. Default: true.
    /// Ignored by models that decide for themselves ([`ModelKind::keyed`]).
    pub independent: bool,
    /// Give up (`Unknown`) after this long. Default: no limit.
    pub time_limit: Option<Duration>,
    /// Give up (`Unknown`) before the searches' memo caches exceed this. Default: 1 GiB.
    pub memory_limit_bytes: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            model: ModelKind::CasRegister,
            initial: Value::Null,
            independent: true,
            time_limit: None,
            memory_limit_bytes: 1 << 30,
        }
    }
}

impl CheckOptions {
    /// The defaults for `model`: its own initial value ([`ModelKind::default_initial`]) and
    /// key splitting ([`ModelKind::keyed`]; registers are split).
    pub fn for_model(model: ModelKind) -> Self {
        CheckOptions {
            model,
            initial: model.default_initial(),
            independent: model.keyed().unwrap_or(true),
            ..CheckOptions::default()
        }
    }
}

/// The result of a check: the verdict, why, and a few figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The verdict (JSON `true`, `false` or `"unknown"`).
    pub valid: Validity,
    /// The model's name.
    pub model: String,
    /// Client operations in the history (invocations by integer processes, failed ones
    /// included).
    pub ops: usize,
    /// Keys checked: distinct keys of an independent history, else 1 (0 when it has no ops).
    pub keys: usize,
    /// Wall time the check took, in milliseconds.
    pub check_ms: u64,
    /// Why the verdict is unknown.
    pub cause: Option<String>,
    /// Why the verdict is invalid.
    pub counterexample: Option<Counterexample>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.valid {
            Validity::Valid => "linearizable",
            Validity::Invalid => "NOT linearizable",
            Validity::Unknown => "undecided",
        };
        write!(
            f,
            "{}: {what} as a {} ({} ops, {} key{}, checked in {} ms)",
            self.valid,
            self.model,
            self.ops,
            self.keys,
            if self.keys == 1 { "" } else { "s" },
            self.check_ms
        )?;
        if let Some(cause) = &self.cause {
            write!(f, "\n  cause: {cause}")?;
        }
        if let Some(c) = &self.counterexample {
            write!(f, "\n  {c}")?;
        }
        Ok(())
    }
}

/// The cause of the `Unknown` verdict on a history with no client operation.
///
/// Such a history (an empty file, a log whose lines were not op lines, a history of nemesis
/// events only) shows nothing about the system: calling it linearizable would be a verdict on
/// no evidence, and most likely the input is not what its user thinks it is.
pub const NO_OPERATIONS: &str = "no operations: the history has no client operation to check";

/// Checks `history` for linearizability as `opts` say. Never panics on bad input: a history
/// that breaks the rules (a completion with no invoke, a cas whose value is not a pair) gets
/// an `Unknown` report whose cause names the event, and so does one with no client operation
/// at all ([`NO_OPERATIONS`]): it is never `Valid`.
///
/// Real time is the order of `history` (see [`operation`](crate::operation)): events' `time`
/// is not consulted.
pub fn check(history: &[Event], opts: &CheckOptions) -> Report {
    let started = Instant::now();
    let budget = Budget::new(opts.time_limit, opts.memory_limit_bytes);
    let mut report = Report {
        valid: Validity::Unknown,
        model: opts.model.name().to_string(),
        ops: 0,
        keys: 0,
        check_ms: 0,
        cause: None,
        counterexample: None,
    };
    let finish = |mut report: Report| {
        report.check_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        report
    };
    let ops = match operations(history) {
        Ok(ops) => ops,
        Err(e) => {
            report.cause = Some(e.to_string());
            return finish(report);
        }
    };
    report.ops = ops.len();
    if ops.is_empty() {
        report.cause = Some(NO_OPERATIONS.to_string());
        return finish(report);
    }
    let keyed = opts.model.keyed().unwrap_or(opts.independent);
    let keys = if keyed {
        match independent::split(&ops) {
            Ok(keys) => keys,
            Err(e) => {
                report.cause = Some(e.to_string());
                return finish(report);
            }
        }
    } else {
        vec![KeyHistory {
            key: Value::Null,
            ops,
        }]
    };
    report.keys = keys.len();
    let results = independent::check_keys(&keys, &budget, |k, b| {
        opts.model.check_key(&opts.initial, &k.ops, b)
    });
    merge(&mut report, &keys, results, keyed);
    finish(report)
}

/// Merges per-key results into the report: the first invalid key (in key order) gives the
/// counterexample; else the first unknown key gives the cause.
fn merge(report: &mut Report, keys: &[KeyHistory], results: Vec<Option<KeyResult>>, keyed: bool) {
    let label = |i: usize| {
        if keyed {
            format!("key {}: ", keys[i].key)
        } else {
            String::new()
        }
    };
    let verdicts = results
        .iter()
        .map(|r| r.as_ref().map_or(Validity::Unknown, |r| r.valid));
    report.valid = Validity::merge_all(verdicts);
    match report.valid {
        Validity::Valid => {}
        Validity::Invalid => {
            let (i, r) = results
                .into_iter()
                .enumerate()
                .find_map(|(i, r)| r.filter(|r| r.valid == Validity::Invalid).map(|r| (i, r)))
                .expect("an invalid verdict comes from an invalid key");
            report.counterexample = r.counterexample.map(|mut c| {
                c.key = keyed.then(|| keys[i].key.clone());
                c
            });
        }
        Validity::Unknown => {
            let unknown: Vec<(usize, String)> = results
                .iter()
                .enumerate()
                .filter(|(_, r)| r.as_ref().is_none_or(|r| r.valid == Validity::Unknown))
                .map(|(i, r)| {
                    let cause = r.as_ref().and_then(|r| r.cause.clone());
                    (i, cause.unwrap_or_else(|| "not checked".into()))
                })
                .collect();
            let (i, cause) = &unknown[0];
            let more = match unknown.len() - 1 {
                0 => String::new(),
                n => format!(" (and {n} more keys undecided)"),
            };
            report.cause = Some(format!("{}{cause}{more}", label(*i)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use histories::{EventType, Process};
    use serde_json::json;

    /// A history from lines `<process> <type> <f> [<json value>] [@<time>]`, separated by
    /// `;`. Times default to 10 × the line number; `nemesis` is the nemesis.
    fn history(text: &str) -> Vec<Event> {
        text.split(';')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .enumerate()
            .map(|(i, line)| {
                let (line, time) = match line.rsplit_once(" @") {
                    Some((l, t)) => (l, t.parse().unwrap()),
                    None => (line, 10 * i as u64 + 10),
                };
                let mut parts = line.splitn(4, ' ');
                let process = match parts.next().unwrap() {
                    "nemesis" => Process::Nemesis,
                    p => Process::Client(p.trim_start_matches('p').parse().unwrap()),
                };
                let kind = EventType::parse(parts.next().unwrap()).unwrap();
                let f = parts.next().unwrap().to_string();
                let value = parts
                    .next()
                    .map_or(Value::Null, |v| serde_json::from_str(v).unwrap());
                Event {
                    index: i as u64,
                    time,
                    kind,
                    process,
                    f,
                    value,
                    error: None,
                    node: None,
                }
            })
            .collect()
    }

    fn plain(model: ModelKind) -> CheckOptions {
        CheckOptions {
            model,
            independent: false,
            ..CheckOptions::default()
        }
    }

    #[test]
    fn accepted_and_rejected_histories() {
        use ModelKind::{CasRegister as Cas, Register as Reg};
        use Validity::{Invalid, Valid};
        let table: &[(&str, ModelKind, &str, Validity)] = &[
            (
                "read of the initial nil",
                Reg,
                "p1 invoke read; p1 ok read null",
                Valid,
            ),
            (
                "read of a never-written value",
                Reg,
                "p1 invoke read; p1 ok read 3",
                Invalid,
            ),
            (
                "sequential write then read",
                Reg,
                "p1 invoke write 1; p1 ok write 1; p2 invoke read; p2 ok read 1",
                Valid,
            ),
            (
                "stale read",
                Reg,
                "p1 invoke write 1; p1 ok write 1; p2 invoke read; p2 ok read null",
                Invalid,
            ),
            (
                "read concurrent with a write sees the new value",
                Reg,
                "p1 invoke write 1; p2 invoke read; p2 ok read 1; p1 ok write 1",
                Valid,
            ),
            (
                "read concurrent with a write sees the old value",
                Reg,
                "p1 invoke write 1; p2 invoke read; p2 ok read null; p1 ok write 1",
                Valid,
            ),
            (
                "two concurrent writes, reads after see either, but consistently",
                Reg,
                "p1 invoke write 1; p2 invoke write 2; p1 ok write 1; p2 ok write 2; \
                 p3 invoke read; p3 ok read 1; p3 invoke read; p3 ok read 1",
                Valid,
            ),
            (
                "two reads after concurrent writes disagree",
                Reg,
                "p1 invoke write 1; p2 invoke write 2; p1 ok write 1; p2 ok write 2; \
                 p3 invoke read; p3 ok read 1; p3 invoke read; p3 ok read 2",
                Invalid,
            ),
            (
                "info write took effect",
                Reg,
                "p1 invoke write 1; p1 info write 1; p2 invoke read; p2 ok read 1",
                Valid,
            ),
            (
                "info write did not take effect",
                Reg,
                "p1 invoke write 1; p1 info write 1; p2 invoke read; p2 ok read null",
                Valid,
            ),
            (
                "info write takes effect late, after a read that missed it",
                Reg,
                "p1 invoke write 1; p1 info write 1; p2 invoke read; p2 ok read null; \
                 p2 invoke read; p2 ok read 1",
                Valid,
            ),
            (
                "info write cannot un-happen",
                Reg,
                "p1 invoke write 1; p1 info write 1; p2 invoke read; p2 ok read 1; \
                 p2 invoke read; p2 ok read null",
                Invalid,
            ),
            (
                "info write cannot happen before its invocation",
                Reg,
                "p2 invoke read; p2 ok read 1; p1 invoke write 1; p1 info write 1",
                Invalid,
            ),
            (
                "info read constrains nothing",
                Reg,
                "p1 invoke read; p1 info read 7",
                Valid,
            ),
            (
                "failed cas ignored",
                Cas,
                "p1 invoke cas [null, 1]; p1 fail cas [null, 1]; p2 invoke read; p2 ok read null",
                Valid,
            ),
            (
                "failed cas did not happen",
                Cas,
                "p1 invoke cas [null, 1]; p1 fail cas [null, 1]; p2 invoke read; p2 ok read 1",
                Invalid,
            ),
            (
                "failed write ignored",
                Reg,
                "p1 invoke write 1; p1 fail write 1; p2 invoke read; p2 ok read null",
                Valid,
            ),
            (
                "ok cas from the current value",
                Cas,
                "p1 invoke write 0; p1 ok write 0; p1 invoke cas [0, 1]; p1 ok cas [0, 1]; \
                 p1 invoke read; p1 ok read 1",
                Valid,
            ),
            (
                "ok cas from a value the register does not hold",
                Cas,
                "p1 invoke write 0; p1 ok write 0; p1 invoke cas [2, 1]; p1 ok cas [2, 1]",
                Invalid,
            ),
            (
                "info cas may take effect",
                Cas,
                "p1 invoke cas [null, 5]; p1 info cas [null, 5]; p2 invoke read; p2 ok read 5",
                Valid,
            ),
            (
                "nemesis events ignored",
                Reg,
                "nemesis info start-partition; p1 invoke write 1; nemesis info start-partition \
                 [\"n1\"]; p1 ok write 1; nemesis invoke stop-partition; p2 invoke read; \
                 p2 ok read 1; nemesis info stop-partition",
                Valid,
            ),
            (
                "nemesis events do not hide a stale read",
                Reg,
                "p1 invoke write 1; p1 ok write 1; nemesis info kill; p2 invoke read; \
                 p2 ok read null",
                Invalid,
            ),
            (
                "cut short: a pending write may have happened",
                Reg,
                "p1 invoke write 1; p2 invoke read; p2 ok read 1",
                Valid,
            ),
            (
                "cut short: a pending write may not have happened",
                Reg,
                "p1 invoke write 1; p2 invoke read; p2 ok read null; p3 invoke read",
                Valid,
            ),
            (
                "cut short: a pending op does not excuse a stale read",
                Reg,
                "p1 invoke write 1; p1 ok write 1; p2 invoke write 2; p3 invoke read; \
                 p3 ok read null",
                Invalid,
            ),
            (
                "equal times: event order still says the write returned first",
                Reg,
                "p1 invoke write 1 @5; p1 ok write 1 @5; p2 invoke read @5; \
                 p2 ok read null @5",
                Invalid,
            ),
            (
                "times running backwards do not reorder events",
                Reg,
                "p1 invoke write 1 @10; p1 ok write 1 @20; p2 invoke read @1; \
                 p2 ok read null @2",
                Invalid,
            ),
            (
                "event order, not times, gives real time: overlapping in the history",
                Reg,
                "p1 invoke write 1 @10; p2 invoke read @30; p1 ok write 1 @20; \
                 p2 ok read null @40",
                Valid,
            ),
        ];
        for (name, model, text, want) in table {
            let report = check(&history(text), &plain(*model));
            assert_eq!(report.valid, *want, "{name}: {report}");
            assert_eq!(report.counterexample.is_some(), *want == Invalid, "{name}");
        }
    }

    #[test]
    fn no_operations_is_never_valid() {
        let cases = [
            ("", CheckOptions::default()),
            ("", plain(ModelKind::Register)),
            (
                "nemesis info start; nemesis info stop",
                CheckOptions::default(),
            ),
            (
                "nemesis info start",
                CheckOptions::for_model(ModelKind::Mutex),
            ),
        ];
        for (text, opts) in cases {
            let report = check(&history(text), &opts);
            assert_eq!(report.valid, Validity::Unknown, "{text:?}");
            assert_eq!(report.cause.as_deref(), Some(NO_OPERATIONS), "{text:?}");
            assert_eq!((report.ops, report.keys), (0, 0));
        }
        // One op is enough to be checked.
        let report = check(
            &history("p1 invoke read; p1 fail read"),
            &plain(ModelKind::Register),
        );
        assert_eq!(report.valid, Validity::Valid);
    }

    #[test]
    fn untimed_histories_use_event_order() {
        let mut h = history("p1 invoke write 1; p1 ok write 1; p2 invoke read; p2 ok read null");
        for e in &mut h {
            e.time = 0;
        }
        assert_eq!(
            check(&h, &plain(ModelKind::Register)).valid,
            Validity::Invalid
        );
    }

    #[test]
    fn initial_value_is_configurable() {
        let h = history("p1 invoke cas [0, 1]; p1 ok cas [0, 1]");
        assert_eq!(
            check(&h, &plain(ModelKind::CasRegister)).valid,
            Validity::Invalid
        );
        let opts = CheckOptions {
            initial: json!(0),
            ..plain(ModelKind::CasRegister)
        };
        assert_eq!(check(&h, &opts).valid, Validity::Valid);
    }

    #[test]
    fn counterexample_names_the_culprit_not_a_bystander() {
        // Knossos's rethink-fail-minimal: the read of 3 is the anomaly, not the read after it.
        let h = history(
            "p0 invoke write 0; p0 ok write 0; p1 invoke read; p2 invoke write 4; \
             p1 ok read 3; p2 ok write 4; p3 invoke read; p3 ok read 4",
        );
        let report = check(&h, &plain(ModelKind::CasRegister));
        let c = report.counterexample.as_ref().unwrap();
        assert_eq!((c.op.process, c.op.completion_index), (1, Some(4)));
        assert_eq!(
            c.to_string(),
            "read by process 1 (history index 4) returned 3, but no linearization allows it; \
             last linearizable order: write 0 (p0) → write 4 (p2), leaving 4"
        );
        let text = report.to_string();
        assert!(text.starts_with("invalid: NOT linearizable as a cas-register (4 ops, 1 key,"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["valid"], json!(false));
        assert_eq!(json["counterexample"]["op"]["f"], json!("read"));
        assert_eq!(json["counterexample"]["linearized"][1]["state"], json!(4));
    }

    #[test]
    fn independent_keys_are_checked_separately() {
        // Each key alone is fine; mixed into one register they would not be.
        let h = history(
            "p1 invoke write [\"a\", 1]; p1 ok write [\"a\", 1]; \
             p2 invoke write [\"b\", 2]; p2 ok write [\"b\", 2]; \
             p1 invoke read [\"a\", null]; p1 ok read [\"a\", 1]; \
             p2 invoke read [\"c\", null]; p2 ok read [\"c\", null]",
        );
        let report = check(&h, &CheckOptions::default());
        assert_eq!(
            (report.valid, report.keys, report.ops),
            (Validity::Valid, 3, 4)
        );

        let h = history(
            "p1 invoke write [1, 1]; p1 ok write [1, 1]; \
             p2 invoke write [2, 2]; p2 ok write [2, 2]; \
             p2 invoke read [2, null]; p2 ok read [2, 1]",
        );
        let report = check(&h, &CheckOptions::default());
        assert_eq!(report.valid, Validity::Invalid);
        let c = report.counterexample.unwrap();
        assert_eq!(c.key, Some(json!(2)));
        assert!(c
            .to_string()
            .starts_with("key 2: read by process 2 (history index 5) returned 1"));
    }

    #[test]
    fn what_cannot_be_checked_is_unknown_with_a_cause() {
        let cases: &[(&str, CheckOptions, &str)] = &[
            (
                "p1 invoke cas [1, 2]; p1 ok cas [1, 2]",
                plain(ModelKind::Register),
                "history index 0: register has no function \"cas\"",
            ),
            (
                "p1 ok read 1",
                plain(ModelKind::Register),
                "history index 0: ok by process 1 with no pending invoke",
            ),
            (
                "p1 invoke write 1; p1 ok write 1",
                CheckOptions::default(),
                "history index 0: value 1 is not a [key value] pair",
            ),
        ];
        for (text, opts, cause) in cases {
            let report = check(&history(text), opts);
            assert_eq!(report.valid, Validity::Unknown, "{text}");
            assert_eq!(report.cause.as_deref(), Some(*cause), "{text}");
        }
    }

    /// 60 writes by 3 concurrent processes, then a read nobody wrote: a search with many
    /// states before it can fail.
    fn busy_history() -> Vec<Event> {
        let mut text = String::new();
        for i in 0..20 {
            for p in 1..=3 {
                text += &format!("p{p} invoke write {};", i * 3 + p);
            }
            for p in 1..=3 {
                text += &format!("p{p} ok write {};", i * 3 + p);
            }
        }
        text += "p9 invoke read; p9 ok read 1000";
        history(&text)
    }

    #[test]
    fn budgets_give_unknown() {
        let h = busy_history();
        assert_eq!(
            check(&h, &plain(ModelKind::Register)).valid,
            Validity::Invalid
        );
        let opts = CheckOptions {
            memory_limit_bytes: 1024,
            ..plain(ModelKind::Register)
        };
        let report = check(&h, &opts);
        assert_eq!(report.valid, Validity::Unknown);
        assert_eq!(report.cause.as_deref(), Some("memory budget 1 KiB reached"));
        let opts = CheckOptions {
            time_limit: Some(Duration::ZERO),
            ..plain(ModelKind::Register)
        };
        let report = check(&h, &opts);
        assert_eq!(report.cause.as_deref(), Some("time limit 0s reached"));
        assert!(report.to_string().contains("undecided"));
    }

    #[test]
    fn model_kind_names() {
        for m in ModelKind::ALL {
            assert_eq!(m.name().parse::<ModelKind>(), Ok(m));
            assert_eq!(serde_json::to_value(m).unwrap(), json!(m.name()));
        }
        let e = "queue".parse::<ModelKind>().unwrap_err();
        assert_eq!(
            e,
            "unknown model \"queue\" (known: register, cas-register, kv, multi-register, mutex)"
        );
    }

    #[test]
    fn kv_multi_register_and_mutex_histories() {
        use ModelKind::{Kv, MultiRegister as Multi, Mutex};
        use Validity::{Invalid, Valid};
        let table: &[(&str, ModelKind, &str, Validity)] = &[
            (
                "kv: appends per key, read sees both",
                Kv,
                "p1 invoke append [\"a\", 1]; p1 ok append [\"a\", 1]; \
                 p2 invoke append [\"b\", 9]; p2 ok append [\"b\", 9]; \
                 p1 invoke append [\"a\", 2]; p1 ok append [\"a\", 2]; \
                 p3 invoke read [\"a\", null]; p3 ok read [\"a\", [1, 2]]",
                Valid,
            ),
            (
                "kv: concurrent appends, either order",
                Kv,
                "p1 invoke append [\"a\", 1]; p2 invoke append [\"a\", 2]; \
                 p1 ok append [\"a\", 1]; p2 ok append [\"a\", 2]; \
                 p3 invoke read [\"a\", null]; p3 ok read [\"a\", [2, 1]]",
                Valid,
            ),
            (
                "kv: a read loses a completed append",
                Kv,
                "p1 invoke append [\"a\", 1]; p1 ok append [\"a\", 1]; \
                 p1 invoke append [\"a\", 2]; p1 ok append [\"a\", 2]; \
                 p3 invoke read [\"a\", null]; p3 ok read [\"a\", [2]]",
                Invalid,
            ),
            (
                "kv: an info append may or may not show",
                Kv,
                "p1 invoke append [\"a\", 1]; p1 info append [\"a\", 1]; \
                 p3 invoke read [\"a\", null]; p3 ok read [\"a\", null]; \
                 p3 invoke read [\"a\", null]; p3 ok read [\"a\", [1]]",
                Valid,
            ),
            (
                "kv: write, cas and read on two keys",
                Kv,
                "p1 invoke write [1, 5]; p1 ok write [1, 5]; \
                 p2 invoke cas [1, [5, 6]]; p2 ok cas [1, [5, 6]]; \
                 p2 invoke write [2, 5]; p2 ok write [2, 5]; \
                 p1 invoke read [1, null]; p1 ok read [1, 6]",
                Valid,
            ),
            (
                "kv: cas from a value another key holds",
                Kv,
                "p1 invoke write [1, 5]; p1 ok write [1, 5]; \
                 p2 invoke cas [2, [5, 6]]; p2 ok cas [2, [5, 6]]",
                Invalid,
            ),
            (
                "multi-register: a txn reads its writes, registers start at 0",
                Multi,
                "p1 invoke txn [[\"write\", \"x\", 1], [\"read\", \"y\", null]]; \
                 p1 ok txn [[\"write\", \"x\", 1], [\"read\", \"y\", 0]]; \
                 p2 invoke txn [[\"read\", \"x\", null], [\"read\", \"y\", null]]; \
                 p2 ok txn [[\"read\", \"x\", 1], [\"read\", \"y\", 0]]",
                Valid,
            ),
            (
                "multi-register: a torn txn (x written, y not)",
                Multi,
                "p1 invoke txn [[\"write\", \"x\", 1], [\"write\", \"y\", 1]]; \
                 p2 invoke txn [[\"read\", \"x\", null], [\"read\", \"y\", null]]; \
                 p2 ok txn [[\"read\", \"x\", 1], [\"read\", \"y\", 0]]; \
                 p1 ok txn [[\"write\", \"x\", 1], [\"write\", \"y\", 1]]",
                Invalid,
            ),
            (
                "multi-register: an info txn's writes may take effect",
                Multi,
                "p1 invoke txn [[\"write\", \"x\", 3]]; p1 info txn null; \
                 p2 invoke txn [[\"read\", \"x\", null]]; p2 ok txn [[\"read\", \"x\", 3]]",
                Valid,
            ),
            (
                "mutex: acquire, release, acquire",
                Mutex,
                "p1 invoke acquire; p1 ok acquire; p1 invoke release; p1 ok release; \
                 p2 invoke acquire; p2 ok acquire",
                Valid,
            ),
            (
                "mutex: two holders at once",
                Mutex,
                "p1 invoke acquire; p1 ok acquire; p2 invoke acquire; p2 ok acquire",
                Invalid,
            ),
            (
                "mutex: a failed release and an info acquire constrain nothing",
                Mutex,
                "p1 invoke release; p1 fail release; p2 invoke acquire; p2 info acquire; \
                 p3 invoke acquire; p3 ok acquire",
                Valid,
            ),
            (
                "mutex: release of a free lock",
                Mutex,
                "p1 invoke acquire; p1 ok acquire; p1 invoke release; p1 ok release; \
                 p2 invoke release; p2 ok release",
                Invalid,
            ),
        ];
        for (name, model, text, want) in table {
            // Independence is the model's choice, whatever the options say.
            let opts = CheckOptions {
                independent: model.keyed() != Some(true),
                ..CheckOptions::for_model(*model)
            };
            let report = check(&history(text), &opts);
            assert_eq!(report.valid, *want, "{name}: {report}");
            assert_eq!(report.model, model.name(), "{name}");
        }
    }
}
