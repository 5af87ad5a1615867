//! Property tests of the linearizability checker.
//!
//! - Histories *simulated* from a real sequential register, each op taking effect at a random
//!   instant within its interval (crashed `info` ops: at any instant after their invocation,
//!   even after their `info` was reported, or never), are valid: with and without cas, with
//!   nemesis events, cut short, and split into independent keys.
//! - Small random histories (≤ 8 ops, 3 processes, any outcomes and values, valid or not) get
//!   the verdict of a brute-force checker written here, which tries every order consistent
//!   with real time.

use checkers::{check, CheckOptions, ModelKind, Validity};
use histories::{Event, EventType, Process};
use proptest::prelude::*;
use serde_json::{json, Value};

/// A register op as generated.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Call {
    Read,
    Write(i64),
    Cas(i64, i64),
}

/// How an op is reported.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Report {
    Ok,
    Fail,
    Info,
}

fn nil_or(v: Option<i64>) -> Value {
    v.map_or(Value::Null, |v| json!(v))
}

/// One op of a built history: what the checker sees, in the terms the oracle needs.
#[derive(Clone, Debug)]
struct Op {
    key: u8,
    process: u64,
    call: Call,
    /// What a read returned.
    read: Option<i64>,
    report: Report,
    start: u64,
    end: u64,
}

/// Events for `ops` (each op: invoke at `start`, completion at `end`), with nemesis events at
/// `nemesis` times, cut at `cut` (events after it are dropped) when given.
fn events(ops: &[Op], nemesis: &[u64], cut: Option<u64>, keyed: bool) -> Vec<Event> {
    let wrap = |key: u8, v: Value| if keyed { json!([key, v]) } else { v };
    // (time, event), sorted by time, invocations first among events at one instant: real time
    // is the order of the history, and a return and a call at one instant are concurrent (to
    // the oracle), so the call must come first in the history. The sort is stable: each
    // process's own events stay in order.
    let mut timed: Vec<(u64, Event)> = Vec::new();
    for op in ops {
        let (f, invoke) = match op.call {
            Call::Read => ("read", Value::Null),
            Call::Write(v) => ("write", json!(v)),
            Call::Cas(a, b) => ("cas", json!([a, b])),
        };
        let completion = match op.call {
            Call::Read if op.report == Report::Ok => nil_or(op.read),
            Call::Read => Value::Null,
            _ => invoke.clone(),
        };
        let kind = match op.report {
            Report::Ok => EventType::Ok,
            Report::Fail => EventType::Fail,
            Report::Info => EventType::Info,
        };
        for (time, kind, value) in [
            (op.start, EventType::Invoke, invoke),
            (op.end, kind, completion),
        ] {
            timed.push((
                time,
                Event {
                    index: 0,
                    time,
                    kind,
                    process: Process::Client(op.process),
                    f: f.into(),
                    value: wrap(op.key, value),
                    error: None,
                    node: None,
                },
            ));
        }
    }
    for &time in nemesis {
        timed.push((
            time,
            Event {
                index: 0,
                time,
                kind: EventType::Info,
                process: Process::Nemesis,
                f: "start-partition".into(),
                value: json!(["n1"]),
                error: None,
                node: None,
            },
        ));
    }
    timed.sort_by_key(|(t, e)| (*t, e.kind != EventType::Invoke));
    timed
        .into_iter()
        .filter(|(t, _)| cut.is_none_or(|c| *t <= c))
        .enumerate()
        .map(|(i, (_, mut e))| {
            e.index = i as u64;
            e
        })
        .collect()
}

/// The verdict a history that should pass gets: `Valid`, or `Unknown` when it has no client
/// operation at all (no verdict on no evidence).
fn valid_unless_empty(history: &[Event]) -> Validity {
    if history.iter().any(|e| e.process.client().is_some()) {
        Validity::Valid
    } else {
        Validity::Unknown
    }
}

// ---------------------------------------------------------------------------------------
// Simulated linearizable histories

/// One generated op for the simulation.
#[derive(Clone, Debug)]
struct Spec {
    worker: usize,
    key: u8,
    call: Call,
    gap: u64,
    duration: u64,
    /// Where in its interval it takes effect, in percent.
    at: u64,
    /// 0: ok (or fail for a cas that finds another value); 1: reported info, took effect;
    /// 2: reported info, never took effect; 3: failed (never took effect).
    fate: u8,
    /// For info ops that took effect: how long after their report.
    late: u64,
}

fn spec(cas: bool) -> impl Strategy<Value = Spec> {
    let call = if cas {
        prop_oneof![
            Just(Call::Read),
            (0..4i64).prop_map(Call::Write),
            (0..4i64, 0..4i64).prop_map(|(a, b)| Call::Cas(a, b)),
        ]
        .boxed()
    } else {
        prop_oneof![Just(Call::Read), (0..4i64).prop_map(Call::Write)].boxed()
    };
    (
        0..4usize,
        0..3u8,
        call,
        0..5u64,
        0..8u64,
        0..=100u64,
        prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)],
        0..30u64,
    )
        .prop_map(|(worker, key, call, gap, duration, at, fate, late)| Spec {
            worker,
            key,
            call,
            gap,
            duration,
            at,
            fate,
            late,
        })
}

/// Runs the specs against real registers (one per key, starting at nil): each op takes
/// effect at its linearization point. Times are scaled by 4 per worker slot so that two
/// workers' events never share an instant (which would make their order in the file
/// arbitrary); one op's call and return may share one.
fn simulate(specs: &[Spec], keyed: bool) -> Vec<Op> {
    let mut free_at = [1u64; 4];
    let mut process: [u64; 4] = [0, 1, 2, 3];
    let mut next_process = 4;
    // (linearization point, op index)
    let mut points: Vec<(u64, usize)> = Vec::new();
    let mut ops: Vec<Op> = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let w = s.worker;
        let start = free_at[w] + s.gap;
        let end = start + s.duration;
        free_at[w] = end + 1;
        let report = match s.fate {
            0 => Report::Ok,
            1 | 2 => Report::Info,
            _ => Report::Fail,
        };
        // Distinct instants per worker: time × 4 + worker. The point is taken in those
        // units (× 100), so points of ops that real time orders are ordered the same way.
        let (scaled_start, scaled_end) = (start * 4 + w as u64, end * 4 + w as u64);
        let point = match s.fate {
            0 => Some(scaled_start * 100 + s.at * (scaled_end - scaled_start)),
            1 => Some(scaled_start * 100 + s.at * (scaled_end + 4 * s.late - scaled_start)),
            _ => None,
        };
        if let Some(p) = point {
            points.push((p, i));
        }
        ops.push(Op {
            key: if keyed { s.key } else { 0 },
            process: process[w],
            call: s.call,
            read: None,
            report,
            start: scaled_start,
            end: scaled_end,
        });
        if report == Report::Info {
            // Jepsen: a process whose op is indeterminate never issues another one.
            process[w] = next_process;
            next_process += 1;
        }
    }
    points.sort();
    let mut registers: [Option<i64>; 3] = [None; 3];
    for (_, i) in points {
        let op = &mut ops[i];
        let reg = &mut registers[op.key as usize];
        match op.call {
            Call::Read => op.read = *reg,
            Call::Write(v) => *reg = Some(v),
            Call::Cas(a, b) if *reg == Some(a) => *reg = Some(b),
            // A cas that finds another value does not happen: it fails (or, crashed, it is
            // indeterminate all the same).
            Call::Cas(..) => {
                if op.report == Report::Ok {
                    op.report = Report::Fail;
                }
            }
        }
    }
    ops
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn simulated_cas_register_histories_are_valid(
        specs in prop::collection::vec(spec(true), 0..60),
        nemesis in prop::collection::vec(0..400u64, 0..5),
        cut in prop::option::of(0..400u64),
    ) {
        let ops = simulate(&specs, false);
        let history = events(&ops, &nemesis, cut, false);
        let opts = CheckOptions { independent: false, ..CheckOptions::default() };
        let report = check(&history, &opts);
        prop_assert_eq!(report.valid, valid_unless_empty(&history), "{}\n{:#?}", report, history);
    }

    #[test]
    fn simulated_register_histories_are_valid(
        specs in prop::collection::vec(spec(false), 0..60),
        cut in prop::option::of(0..400u64),
    ) {
        let ops = simulate(&specs, false);
        let history = events(&ops, &[], cut, false);
        let opts = CheckOptions {
            model: ModelKind::Register,
            independent: false,
            ..CheckOptions::default()
        };
        let report = check(&history, &opts);
        prop_assert_eq!(report.valid, valid_unless_empty(&history), "{}\n{:#?}", report, history);
    }

    #[test]
    fn simulated_independent_histories_are_valid(
        specs in prop::collection::vec(spec(true), 0..80),
        nemesis in prop::collection::vec(0..400u64, 0..5),
    ) {
        let ops = simulate(&specs, true);
        let history = events(&ops, &nemesis, None, true);
        let report = check(&history, &CheckOptions::default());
        prop_assert_eq!(report.valid, valid_unless_empty(&history), "{}\n{:#?}", report, history);
    }
}

// ---------------------------------------------------------------------------------------
// Random small histories against a brute-force checker

/// One op of a random history: (worker, call, value a read returned, report, gap, duration).
type RawOp = (usize, Call, Option<i64>, Report, u64, u64);

/// One generated op for a random history: anything goes.
fn random_op() -> impl Strategy<Value = RawOp> {
    let value = prop_oneof![Just(None), (0..3i64).prop_map(Some)];
    (
        0..3usize,
        prop_oneof![
            Just(Call::Read),
            (0..3i64).prop_map(Call::Write),
            (0..3i64, 0..3i64).prop_map(|(a, b)| Call::Cas(a, b)),
        ],
        value,
        prop_oneof![5 => Just(Report::Ok), 1 => Just(Report::Fail), 2 => Just(Report::Info)],
        0..4u64,
        0..6u64,
    )
}

/// Lays out random ops on 3 sequential processes. Different processes' events may share an
/// instant: a return and a call at one instant are concurrent, to the checker and the oracle.
fn random_history(raw: &[RawOp]) -> Vec<Op> {
    let mut free_at = [1u64; 3];
    let mut process: [u64; 3] = [0, 1, 2];
    let mut next = 3;
    raw.iter()
        .map(|&(w, call, read, report, gap, duration)| {
            let start = free_at[w] + gap;
            let end = start + duration;
            free_at[w] = end + 1;
            let op = Op {
                key: 0,
                process: process[w],
                call,
                read,
                report,
                start,
                end,
            };
            if report == Report::Info {
                process[w] = next;
                next += 1;
            }
            op
        })
        .collect()
}

/// Is there an order of the `ok` ops and some of the indeterminate ones that a register
/// starting at nil accepts and that respects real time (a before b when a returned before b
/// was invoked)? Tries them all.
fn brute_force(ops: &[Op], cut: Option<u64>) -> bool {
    // What the checker is told: ops invoked after the cut do not exist; ops completed after
    // it are indeterminate.
    struct B {
        call: Call,
        read: Option<i64>,
        start: u64,
        /// `None`: may take effect any time after start, or never.
        end: Option<u64>,
    }
    let visible = |t: u64| cut.is_none_or(|c| t <= c);
    let ops: Vec<B> = ops
        .iter()
        .filter(|o| visible(o.start))
        // A failed op did not happen, unless its failure was cut off: then it is unknown.
        .filter(|o| !(o.report == Report::Fail && visible(o.end)))
        .map(|o| B {
            call: o.call,
            read: o.read,
            start: o.start,
            end: (o.report == Report::Ok && visible(o.end)).then_some(o.end),
        })
        // An indeterminate read constrains nothing.
        .filter(|b| !(b.call == Call::Read && b.end.is_none()))
        .collect();
    let optional: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].end.is_none()).collect();

    fn step(state: Option<i64>, b: &B) -> Option<Option<i64>> {
        match b.call {
            Call::Read => (b.read == state).then_some(state),
            Call::Write(v) => Some(Some(v)),
            Call::Cas(old, new) => (state == Some(old)).then_some(Some(new)),
        }
    }
    fn orders(ops: &[B], chosen: &[usize], placed: &mut Vec<bool>, state: Option<i64>) -> bool {
        if chosen.iter().all(|&i| placed[i]) {
            return true;
        }
        for &i in chosen {
            if placed[i] {
                continue;
            }
            // i may go next only if no unplaced chosen op must precede it.
            let blocked = chosen
                .iter()
                .any(|&j| j != i && !placed[j] && ops[j].end.is_some_and(|end| end < ops[i].start));
            if blocked {
                continue;
            }
            if let Some(next) = step(state, &ops[i]) {
                placed[i] = true;
                let found = orders(ops, chosen, placed, next);
                placed[i] = false;
                if found {
                    return true;
                }
            }
        }
        false
    }
    (0u32..1 << optional.len()).any(|mask| {
        let chosen: Vec<usize> = (0..ops.len())
            .filter(|&i| {
                ops[i].end.is_some()
                    || optional
                        .iter()
                        .position(|&o| o == i)
                        .is_some_and(|k| mask & (1 << k) != 0)
            })
            .collect();
        orders(&ops, &chosen, &mut vec![false; ops.len()], None)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn small_histories_agree_with_brute_force(
        raw in prop::collection::vec(random_op(), 0..=8),
        cut in prop::option::of(0..60u64),
    ) {
        let ops = random_history(&raw);
        let history = events(&ops, &[], cut, false);
        let opts = CheckOptions { independent: false, ..CheckOptions::default() };
        let report = check(&history, &opts);
        let want = if brute_force(&ops, cut) { valid_unless_empty(&history) } else { Validity::Invalid };
        prop_assert_eq!(report.valid, want, "{}\n{:#?}", report, history);
    }
}

/// The random histories above are not all trivially valid or invalid.
#[test]
fn brute_force_sees_both_verdicts() {
    let w = |process, call, read, report, start, end| Op {
        key: 0,
        process,
        call,
        read,
        report,
        start,
        end,
    };
    let stale = [
        w(0, Call::Write(1), None, Report::Ok, 1, 2),
        w(1, Call::Read, None, Report::Ok, 3, 4),
    ];
    assert!(!brute_force(&stale, None));
    assert!(
        brute_force(&stale, Some(3)),
        "cut before the read completes"
    );
    let concurrent = [
        w(0, Call::Write(1), None, Report::Ok, 1, 4),
        w(1, Call::Read, None, Report::Ok, 2, 3),
    ];
    assert!(brute_force(&concurrent, None));
}
