//! The search's shortcuts against a brute-force oracle, and cases that pin each down.
//!
//! The search (`wgl.rs`) groups equal indeterminate ops into kinds, tries only the
//! earliest-returning of equal `ok` ops ("twins"), linearizes enabled reads at once, cuts
//! configurations dominated by one that used fewer indeterminate ops, runs a relaxed pass in
//! which indeterminate ops are unlimited, and the register models drop indeterminate writes
//! nobody observes. Each is argued sound in the code; here random small histories — few
//! values, many crashed (`info`) ops, many equal ops — get the verdict of an oracle that tries
//! every subset of the indeterminate ops in every order real time allows, and hand-made
//! histories pin the cases where a shortcut must *not* apply.

use checkers::gen::{cas_register_history, GenOptions};
use checkers::{check, CheckOptions, ModelKind, Outcome, Validity};
use histories::{Event, EventType, Process};
use proptest::prelude::*;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Call {
    Read(Option<i64>),
    Write(i64),
    Cas(i64, i64),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Ending {
    Ok,
    Fail,
    Info,
}

/// One op: process, call, ending, invoke and completion instants.
#[derive(Clone, Copy, Debug)]
struct Op {
    process: u64,
    call: Call,
    ending: Ending,
    start: u64,
    end: u64,
}

fn events(ops: &[Op]) -> Vec<Event> {
    let mut timed: Vec<(u64, usize, Event)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let (f, invoke, done) = match op.call {
            Call::Read(v) => ("read", Value::Null, v.map_or(Value::Null, |v| json!(v))),
            Call::Write(v) => ("write", json!(v), json!(v)),
            Call::Cas(a, b) => ("cas", json!([a, b]), json!([a, b])),
        };
        let kind = match op.ending {
            Ending::Ok => EventType::Ok,
            Ending::Fail => EventType::Fail,
            Ending::Info => EventType::Info,
        };
        let ev = |time, kind, value| Event {
            index: 0,
            time,
            kind,
            process: Process::Client(op.process),
            f: f.into(),
            value,
            error: None,
            node: None,
        };
        timed.push((op.start, 2 * i, ev(op.start, EventType::Invoke, invoke)));
        timed.push((op.end, 2 * i + 1, ev(op.end, kind, done)));
    }
    // Real time is the history's order. At one instant, calls come before returns: a return
    // and a call at one instant are concurrent (to the oracle too).
    timed.sort_by_key(|(t, i, _)| (*t, i % 2, *i));
    timed
        .into_iter()
        .enumerate()
        .map(|(i, (_, _, mut e))| {
            e.index = i as u64;
            e
        })
        .collect()
}

/// One cas-register from nil, not split by key.
fn cas_register() -> CheckOptions {
    CheckOptions {
        model: ModelKind::CasRegister,
        independent: false,
        ..CheckOptions::default()
    }
}

fn verdict(ops: &[Op]) -> Validity {
    let opts = cas_register();
    check(&events(ops), &opts).valid
}

/// Every subset of the indeterminate ops, every order real time allows, from nil.
fn brute_force(ops: &[Op]) -> bool {
    let ops: Vec<&Op> = ops
        .iter()
        .filter(|o| o.ending != Ending::Fail)
        .filter(|o| !(o.ending == Ending::Info && matches!(o.call, Call::Read(_))))
        .collect();
    let must = |o: &Op| o.ending == Ending::Ok;
    let optional: Vec<usize> = (0..ops.len()).filter(|&i| !must(ops[i])).collect();
    fn step(state: Option<i64>, call: Call) -> Option<Option<i64>> {
        match call {
            Call::Read(v) => (v == state).then_some(state),
            Call::Write(v) => Some(Some(v)),
            Call::Cas(a, b) => (state == Some(a)).then_some(Some(b)),
        }
    }
    fn go(ops: &[&Op], chosen: &[usize], placed: &mut [bool], state: Option<i64>) -> bool {
        if chosen.iter().all(|&i| placed[i]) {
            return true;
        }
        for &i in chosen {
            if placed[i] {
                continue;
            }
            // An ok op that returned before i was invoked must come first.
            let blocked = chosen.iter().any(|&j| {
                j != i && !placed[j] && ops[j].ending == Ending::Ok && ops[j].end < ops[i].start
            });
            if blocked {
                continue;
            }
            if let Some(next) = step(state, ops[i].call) {
                placed[i] = true;
                let found = go(ops, chosen, placed, next);
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
                must(ops[i])
                    || optional
                        .iter()
                        .position(|&o| o == i)
                        .is_some_and(|k| mask & (1 << k) != 0)
            })
            .collect();
        go(&ops, &chosen, &mut vec![false; ops.len()], None)
    })
}

/// (worker, call, ending, gap, duration)
type Raw = (usize, Call, Ending, u64, u64);

fn raw_op() -> impl Strategy<Value = Raw> {
    // Two values only: many equal ops (twins, kinds with several ops).
    let v = 0..2i64;
    (
        0..4usize,
        prop_oneof![
            prop_oneof![Just(None), v.clone().prop_map(Some)].prop_map(Call::Read),
            v.clone().prop_map(Call::Write),
            (v.clone(), v).prop_map(|(a, b)| Call::Cas(a, b)),
        ],
        prop_oneof![4 => Just(Ending::Ok), 1 => Just(Ending::Fail), 3 => Just(Ending::Info)],
        0..3u64,
        0..8u64,
    )
}

/// Lays raw ops out on sequential processes; a crashed process is replaced (Jepsen).
fn layout(raw: &[Raw]) -> Vec<Op> {
    let mut free = [1u64; 4];
    let mut process = [0u64, 1, 2, 3];
    let mut next = 4;
    raw.iter()
        .map(|&(w, call, ending, gap, duration)| {
            let start = free[w] + gap;
            let end = start + duration;
            free[w] = end + 1;
            let op = Op {
                process: process[w],
                call,
                ending,
                start,
                end,
            };
            if ending == Ending::Info {
                process[w] = next;
                next += 1;
            }
            op
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn info_heavy_histories_agree_with_brute_force(raw in prop::collection::vec(raw_op(), 0..=9)) {
        let ops = layout(&raw);
        let want = match brute_force(&ops) {
            // No client op: no verdict on no evidence.
            true if ops.is_empty() => Validity::Unknown,
            true => Validity::Valid,
            false => Validity::Invalid,
        };
        let opts = cas_register();
        let report = check(&events(&ops), &opts);
        prop_assert_eq!(report.valid, want, "{:#?}", ops);
        if let Some(c) = &report.counterexample {
            real_prefix(c).map_err(|e| TestCaseError::fail(format!("{e}: {c:#?}")))?;
        }
    }
}

/// That a counterexample's prefix is a real partial linearization of a cas-register from nil:
/// no op twice, real time respected, each state the model's, the blocked op not in it.
fn real_prefix(c: &checkers::Counterexample) -> Result<(), String> {
    let mut state = Value::Null;
    let mut seen = std::collections::HashSet::new();
    for (i, step) in c.linearized.iter().enumerate() {
        let op = &step.op;
        if !seen.insert(op.invoke_index) {
            return Err(format!("op at index {} twice", op.invoke_index));
        }
        if op.invoke_index == c.op.invoke_index {
            return Err("the blocked op is in the prefix".into());
        }
        // No later `ok` op returned before this one was invoked (a return and a call at the
        // same instant are concurrent; an `info` op's report bounds nothing).
        for later in &c.linearized[i + 1..] {
            let returned = match later.op.outcome {
                Outcome::Ok => later.op.completion_time,
                _ => None,
            };
            if returned.is_some_and(|e| e < op.invoke_time) {
                return Err(format!(
                    "{} before {} against real time",
                    op.invoke_index, later.op.invoke_index
                ));
            }
        }
        let arg = &op.invoke_value;
        state = match op.f.as_str() {
            "write" => arg.clone(),
            "cas" if arg[0] == state => arg[1].clone(),
            "read" if op.completion_value.as_ref() == Some(&state) => state,
            _ => return Err(format!("step {i} ({}) not from {state}", op.short())),
        };
        if step.state != state {
            return Err(format!("step {i} shows {} for {state}", step.state));
        }
    }
    Ok(())
}

/// Crash-heavy generated histories, a read changed to another value: the counterexample of
/// each invalid one has a prefix that is a real partial linearization.
///
/// Seeds are fixed, and the test counts the invalid ones, so that it cannot pass by checking
/// no counterexample at all: odd seeds read a value nobody wrote (always invalid), even seeds
/// another value (invalid in some cases, which are the interesting ones: the anomaly is not
/// visible from the value alone). Each invalid report must carry a counterexample.
#[test]
fn counterexample_prefixes_are_real() {
    let opts = cas_register();
    let (mut even, mut odd) = (0, 0);
    let cases = 48u64;
    for seed in 0..cases {
        let processes = 3 + (seed as usize / 2) % 9;
        let o = GenOptions {
            seed,
            processes,
            ops: 400,
            values: 20,
            crash_per_mille: 250,
            mutate: true,
        };
        let report = check(&cas_register_history(&o), &opts);
        if report.valid != Validity::Invalid {
            assert!(
                seed % 2 == 0,
                "{o:?}: a read of a value nobody wrote, yet {report}"
            );
            continue;
        }
        let c = report
            .counterexample
            .as_ref()
            .unwrap_or_else(|| panic!("{o:?}: no counterexample"));
        if let Err(e) = real_prefix(c) {
            panic!("{o:?}: {e}");
        }
        if seed % 2 == 0 {
            even += 1
        } else {
            odd += 1
        }
    }
    assert_eq!(odd, cases / 2, "every odd seed is invalid");
    assert!(
        even >= MIN_EVEN_INVALID,
        "only {even} of {} even seeds invalid",
        cases / 2
    );
}

/// Of the 24 even seeds above, how many must at least be invalid (measured: 8; with only 3
/// values, as this test once had, crashes explain every changed read and none was invalid).
const MIN_EVEN_INVALID: u64 = 4;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(60))]

    /// Simulated from a real register, crashes included: valid, whatever the seed.
    #[test]
    fn generated_histories_are_valid(seed in 0..u64::MAX, processes in 2..10usize, ops in 1..300usize) {
        let o = GenOptions { seed, processes, ops, values: 3, crash_per_mille: 150, mutate: false };
        prop_assert_eq!(verdict_of(&cas_register_history(&o)), Validity::Valid, "{:?}", o);
    }

    /// Odd seeds read a value nobody wrote: invalid.
    #[test]
    fn generated_histories_with_a_foreign_read_are_invalid(
        seed in (0..u64::MAX / 2).prop_map(|s| 2 * s + 1),
        processes in 2..10usize,
        ops in 4..300usize,
    ) {
        let o = GenOptions { seed, processes, ops, values: 3, crash_per_mille: 150, mutate: true };
        let h = cas_register_history(&o);
        let reads = h.iter().any(|e| e.kind == EventType::Ok && e.f == "read");
        prop_assume!(reads);
        prop_assert_eq!(verdict_of(&h), Validity::Invalid, "{:?}", o);
    }
}

fn verdict_of(h: &[Event]) -> Validity {
    let opts = cas_register();
    check(h, &opts).valid
}

fn op(process: u64, call: Call, ending: Ending, start: u64, end: u64) -> Op {
    Op {
        process,
        call,
        ending,
        start,
        end,
    }
}

use Call::*;
use Ending::{Info, Ok as Done};

/// An indeterminate write that a read observes must not be dropped: it is what makes the
/// history valid.
#[test]
fn an_observed_info_write_is_kept() {
    let ops = [
        op(0, Write(1), Info, 1, 2),
        op(1, Read(Some(1)), Done, 5, 6),
    ];
    assert!(brute_force(&ops));
    assert_eq!(verdict(&ops), Validity::Valid);
    // Unobserved, it may go: still valid, and a stale read stays invalid.
    let ops = [
        op(0, Write(7), Info, 1, 2),
        op(1, Write(1), Done, 3, 4),
        op(2, Read(None), Done, 5, 6),
    ];
    assert_eq!(verdict(&ops), Validity::Invalid);
}

/// An indeterminate cas whose new value a later cas expects must be kept; dropping it (its
/// value looks unread by reads) would turn this valid history invalid.
#[test]
fn an_info_cas_observed_by_a_cas_is_kept() {
    let ops = [
        op(0, Write(0), Done, 1, 2),
        op(1, Cas(0, 1), Info, 3, 4),
        op(2, Cas(1, 2), Done, 5, 6),
        op(3, Read(Some(2)), Done, 7, 8),
    ];
    assert!(brute_force(&ops));
    assert_eq!(verdict(&ops), Validity::Valid);
}

/// One indeterminate write of 1 cannot explain two separate reads of 1 with a write of 2 in
/// between: the relaxed pass finds an order using it twice, which no real op backs, and the
/// exact pass says invalid. With a second crashed write of 1, valid.
#[test]
fn the_relaxed_pass_never_decides_valid_alone() {
    let mut ops = vec![
        op(0, Write(1), Info, 1, 2),
        op(1, Read(Some(1)), Done, 3, 4),
        op(2, Write(2), Done, 5, 6),
        op(3, Read(Some(1)), Done, 7, 8),
    ];
    assert!(!brute_force(&ops));
    assert_eq!(verdict(&ops), Validity::Invalid);
    ops.push(op(4, Write(1), Info, 1, 2));
    assert!(brute_force(&ops));
    assert_eq!(verdict(&ops), Validity::Valid);
    // A second one invoked only after the last read returned is no help.
    ops.pop();
    ops.push(op(4, Write(1), Info, 9, 10));
    assert!(!brute_force(&ops));
    assert_eq!(verdict(&ops), Validity::Invalid);
}

/// The same after a long generated history, where every pass runs: the relaxed pass finds an
/// order only by using the crashed `write 9` twice, the search for a backed order finds none,
/// and refinement (that kind counted exactly) decides.
#[test]
fn a_crashed_write_counted_after_a_long_history() {
    for seed in 0..6 {
        let o = GenOptions {
            seed,
            processes: 8,
            ops: 600,
            values: 3,
            crash_per_mille: 100,
            mutate: false,
        };
        let h = cas_register_history(&o);
        let end = h.last().map_or(0, |e| e.time);
        let tail = [
            op(900, Write(1), Done, end + 1, end + 2),
            op(901, Write(9), Info, end + 3, end + 4),
            op(902, Read(Some(9)), Done, end + 5, end + 6),
            op(903, Write(1), Done, end + 7, end + 8),
            op(904, Read(Some(9)), Done, end + 9, end + 10),
        ];
        let with = |extra: &[Op]| {
            let mut all = h.clone();
            let mut more = events(&[&tail[..], extra].concat());
            for (i, e) in more.iter_mut().enumerate() {
                e.index = (h.len() + i) as u64;
            }
            all.extend(more);
            verdict_of(&all)
        };
        assert_eq!(with(&[]), Validity::Invalid, "seed {seed}");
        // A second crashed `write 9`, invoked before the second read: valid.
        assert_eq!(
            with(&[op(905, Write(9), Info, end + 7, end + 8)]),
            Validity::Valid,
            "seed {seed}"
        );
    }
}

/// Equal writes: the search tries only the earliest-returning one, and must still see that
/// the other can land later.
#[test]
fn twins_with_different_deadlines() {
    let ops = [
        op(0, Write(1), Done, 1, 20),
        op(1, Write(1), Done, 2, 4),
        op(2, Write(2), Done, 5, 6),
        op(3, Read(Some(2)), Done, 7, 8),
        op(4, Read(Some(1)), Done, 9, 10),
    ];
    assert!(brute_force(&ops));
    assert_eq!(verdict(&ops), Validity::Valid);
    // Swap the deadlines: the long write now returns before the write of 2.
    let ops = [
        op(0, Write(1), Done, 1, 4),
        op(1, Write(1), Done, 2, 4),
        op(2, Write(2), Done, 5, 6),
        op(3, Read(Some(2)), Done, 7, 8),
        op(4, Read(Some(1)), Done, 9, 10),
    ];
    assert!(!brute_force(&ops));
    assert_eq!(verdict(&ops), Validity::Invalid);
}
