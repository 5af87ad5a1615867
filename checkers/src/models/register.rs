//! A read/write register (Knossos's `register`).
//!
//! - `read`: its `ok` completion's value is the value read; it happens only when the register
//!   holds that value. A read whose outcome is unknown (`info`) constrains nothing: it is
//!   dropped. A read's invocation value (usually null) is ignored.
//! - `write v`: sets the register to `v` (the invocation's value; the completion's when the
//!   invocation carries null). A write whose outcome is unknown may or may not take effect:
//!   the search decides.
//!
//! Values are any JSON, interned; the initial value is `null` (Jepsen's `nil`) unless the test
//! says otherwise.

use crate::error::ModelError;
use crate::model::Model;
use crate::models::intern::Interner;
use serde_json::Value;

/// A register op, its values interned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOp {
    /// A read that returned this value.
    Read(u32),
    /// A write of this value.
    Write(u32),
    /// A compare-and-set from the first value to the second (cas-register only).
    Cas(u32, u32),
}

/// A read/write register.
#[derive(Clone, Debug)]
pub struct Register {
    values: Interner,
    initial: u32,
}

impl Register {
    /// A register that starts out holding `initial`.
    pub fn new(initial: &Value) -> Self {
        let mut values = Interner::new();
        let initial = values.intern(initial);
        Register { values, initial }
    }
}

/// The value an op carries: its invocation's, or its completion's when the invocation has
/// none.
fn argument<'a>(invoke: &'a Value, completion: Option<&'a Value>) -> &'a Value {
    match (invoke, completion) {
        (Value::Null, Some(c)) => c,
        _ => invoke,
    }
}

/// Prepares `read` and `write`, shared by both register models. `Err(None)` for another `f`.
pub(crate) fn prepare_read_write(
    values: &mut Interner,
    f: &str,
    invoke: &Value,
    completion: Option<&Value>,
) -> Result<Option<RegisterOp>, Option<ModelError>> {
    match f {
        "read" => Ok(completion.map(|v| RegisterOp::Read(values.intern(v)))),
        "write" => Ok(Some(RegisterOp::Write(
            values.intern(argument(invoke, completion)),
        ))),
        _ => Err(None),
    }
}

/// Prepares a `cas [old new]`.
pub(crate) fn prepare_cas(
    values: &mut Interner,
    invoke: &Value,
    completion: Option<&Value>,
) -> Result<Option<RegisterOp>, ModelError> {
    match argument(invoke, completion) {
        Value::Array(pair) if pair.len() == 2 => Ok(Some(RegisterOp::Cas(
            values.intern(&pair[0]),
            values.intern(&pair[1]),
        ))),
        other => Err(ModelError::BadValue {
            f: "cas".into(),
            expected: "[old new]",
            value: other.clone(),
        }),
    }
}

/// Which indeterminate ops the register models can do without ([`Model::simplify`]).
///
/// Two rules, applied until nothing changes (each is sound on the history the previous ones
/// left, so the fixpoint is sound; a worklist keeps it linear):
///
/// 1. **An indeterminate op that can never take effect** — a `cas a→b` where `a` is neither
///    the initial value nor written by any other op left (write or cas) — is in no
///    linearization: dropping it changes nothing.
/// 2. **An indeterminate write (or cas) of a value nobody observes.** Say `x` writes `v` (a
///    `write v`, or a `cas a→v` with `a ≠ v`), no `ok` read returned `v` and no cas left
///    expects `v` as its old value. Then `H` is linearizable iff `H` without `x` is:
///    - if `H∖x` has a linearization, it is one of `H` in which `x` never took effect, which
///      an indeterminate op may do;
///    - if `σ = α x β` linearizes `H`: after `x` the register holds `v`, so the first op of
///      `β`, if any, is accepted in state `v`: it is no read (none reads `v`) and no cas (none
///      expects `v`), so it is a write, whose result does not depend on the state before it.
///      So `α β` is accepted too; it keeps every `ok` op and the real-time order of every
///      pair, and linearizes `H∖x`.
///
/// `ok` ops are never dropped: an `ok` write must take effect inside its interval, which can
/// constrain (it may have to land where only reads of other values are linearized). Nor is a
/// `cas v→v` dropped under rule 2: it observes `v` itself.
pub(crate) fn simplify(initial: u32, ops: &[(RegisterOp, bool)]) -> Vec<bool> {
    use std::collections::HashMap;
    // How many ops left observe each value (a read of it, a cas expecting it), and how many
    // write it (the initial value counts as written once).
    let mut observed: HashMap<u32, usize> = HashMap::new();
    let mut written: HashMap<u32, usize> = HashMap::from([(initial, 1)]);
    // The indeterminate ops whose fate depends on each value's counts.
    let mut watch: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, (op, info)) in ops.iter().enumerate() {
        match *op {
            RegisterOp::Read(v) => *observed.entry(v).or_default() += 1,
            RegisterOp::Write(v) => {
                *written.entry(v).or_default() += 1;
                if *info {
                    watch.entry(v).or_default().push(i);
                }
            }
            RegisterOp::Cas(old, new) => {
                *observed.entry(old).or_default() += 1;
                *written.entry(new).or_default() += 1;
                if *info {
                    watch.entry(old).or_default().push(i);
                    watch.entry(new).or_default().push(i);
                }
            }
        }
    }
    let mut keep = vec![true; ops.len()];
    let mut work: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].1).collect();
    while let Some(i) = work.pop() {
        let count = |m: &HashMap<u32, usize>, v: u32| m.get(&v).copied().unwrap_or(0);
        let drop = keep[i]
            && match ops[i].0 {
                RegisterOp::Read(_) => false,
                RegisterOp::Write(v) => count(&observed, v) == 0,
                RegisterOp::Cas(old, new) => {
                    // Written by some op other than a `cas old→old` itself?
                    count(&written, old) <= usize::from(old == new)
                        || (old != new && count(&observed, new) == 0)
                }
            };
        if !drop {
            continue;
        }
        keep[i] = false;
        // Take its counts out; an op watching a value whose count fell to 1 or 0 may now go
        // (each count falls through those at most once: linear overall).
        let lower = |m: &mut HashMap<u32, usize>, v: u32, work: &mut Vec<usize>| {
            if let Some(c) = m.get_mut(&v) {
                *c -= 1;
                if *c <= 1 {
                    work.extend(watch.get(&v).into_iter().flatten());
                }
            }
        };
        match ops[i].0 {
            RegisterOp::Read(_) => {}
            RegisterOp::Write(v) => lower(&mut written, v, &mut work),
            RegisterOp::Cas(old, new) => {
                lower(&mut observed, old, &mut work);
                lower(&mut written, new, &mut work);
            }
        }
    }
    keep
}

/// A read that cannot see its value ([`Model::refute`]), for both register models.
///
/// An *observer* of `v` is an `ok` read of `v` or an `ok` cas expecting `v`; a *producer* of
/// `v` is any write of `v` or cas to `v` left in the history (`ok` or indeterminate), and the
/// initial value is produced at the beginning of time; a *changer* is an `ok` write or cas.
/// An observer `r` is impossible when every producer `w` of `v` that may precede `r`
/// (`w.invoked ≤ r.returned`) is *overwritten*: some changer `x` of another value has
/// `w.returned < x.invoked` and `x.returned < r.invoked` (for the initial value: any changer
/// that returned before `r` was invoked). An indeterminate producer never returns: never
/// overwritten.
///
/// Why sound: in a linearization `σ`, the state just before `r` is `v`; let `w` be the last op
/// before `r` in `σ` that changed the state (a write, or a cas, which is in `σ` only if it
/// applied), or the initial value if none did. `w` produced `v` and precedes `r`, so
/// `w.invoked ≤ r.returned`. No state change lies between `w` and `r` in `σ`; but an `x` as
/// above must, by real time, lie between them, and changes the state. So if every producer is
/// overwritten, there is no `σ`.
///
/// `O(n log n)`: per producer, the earliest return of a changer of another value invoked
/// after it (suffix minima over changers by invocation, keeping the best two values), then
/// per observer a binary search over its value's producers.
pub(crate) fn refute(initial: u32, ops: &[(RegisterOp, u64, Option<u64>)]) -> Option<usize> {
    use std::collections::HashMap;
    // Changers by invocation, with suffix minima: the earliest return after each index, and
    // the earliest among those of a value other than the best's.
    let mut changers: Vec<(u64, u64, u32)> = ops
        .iter()
        .filter_map(|&(op, start, end)| match (op, end) {
            (RegisterOp::Write(v) | RegisterOp::Cas(_, v), Some(end)) => Some((start, end, v)),
            _ => None,
        })
        .collect();
    changers.sort_unstable();
    const NEVER: (u64, u32) = (u64::MAX, u32::MAX);
    let mut suffix = vec![(NEVER, NEVER); changers.len() + 1];
    for i in (0..changers.len()).rev() {
        let (_, end, v) = changers[i];
        let (mut best, mut other) = suffix[i + 1];
        if v == best.1 {
            best.0 = best.0.min(end);
        } else if end < best.0 {
            other = best;
            best = (end, v);
        } else if end < other.0 {
            other = (end, v);
        }
        suffix[i] = (best, other);
    }
    // The earliest return of a changer of a value other than `v` invoked after `after`.
    let overwritten_at = |after: u64, v: u32| {
        let i = changers.partition_point(|c| c.0 <= after);
        let (best, other) = suffix[i];
        if best.1 != v {
            best.0
        } else {
            other.0
        }
    };
    // Per value, its producers (invoked, overwritten at), by invocation, with prefix maxima.
    let mut producers: HashMap<u32, Vec<(u64, u64)>> = HashMap::new();
    let first_change = changers.iter().map(|c| c.1).min().unwrap_or(u64::MAX);
    producers
        .entry(initial)
        .or_default()
        .push((0, first_change));
    for &(op, start, end) in ops {
        if let RegisterOp::Write(v) | RegisterOp::Cas(_, v) = op {
            let at = end.map_or(u64::MAX, |end| overwritten_at(end, v));
            producers.entry(v).or_default().push((start, at));
        }
    }
    for list in producers.values_mut() {
        list.sort_unstable();
        for i in 1..list.len() {
            list[i].1 = list[i].1.max(list[i - 1].1);
        }
    }
    ops.iter().position(|&(op, start, end)| {
        let (Some(end), RegisterOp::Read(v) | RegisterOp::Cas(v, _)) = (end, op) else {
            return false;
        };
        let Some(list) = producers.get(&v) else {
            return true;
        };
        // Producers that may precede it; is one of them not overwritten before it?
        let n = list.partition_point(|p| p.0 <= end);
        n == 0 || list[n - 1].1 < start
    })
}

/// One step of either register model.
pub(crate) fn step(state: u32, op: RegisterOp) -> Option<u32> {
    match op {
        RegisterOp::Read(v) => (v == state).then_some(state),
        RegisterOp::Write(v) => Some(v),
        RegisterOp::Cas(old, new) => (old == state).then_some(new),
    }
}

impl Model for Register {
    type Op = RegisterOp;
    type State = u32;

    fn name(&self) -> &'static str {
        "register"
    }

    fn init(&self) -> u32 {
        self.initial
    }

    fn prepare(
        &mut self,
        f: &str,
        invoke: &Value,
        completion: Option<&Value>,
    ) -> Result<Option<RegisterOp>, ModelError> {
        prepare_read_write(&mut self.values, f, invoke, completion).map_err(|e| {
            e.unwrap_or_else(|| ModelError::UnknownFunction {
                model: "register",
                f: f.into(),
            })
        })
    }

    fn step(&self, state: &u32, op: &RegisterOp) -> Option<u32> {
        step(*state, *op)
    }

    fn show(&self, state: &u32) -> Value {
        self.values.value(*state)
    }

    fn read_only(&self, op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Read(_))
    }

    fn simplify(&self, ops: &[(RegisterOp, bool)]) -> Vec<bool> {
        simplify(self.initial, ops)
    }

    fn refute(&self, ops: &[(RegisterOp, u64, Option<u64>)]) -> Option<usize> {
        refute(self.initial, ops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_see_the_last_write() {
        let mut m = Register::new(&Value::Null);
        let s0 = m.init();
        let r_nil = m
            .prepare("read", &Value::Null, Some(&Value::Null))
            .unwrap()
            .unwrap();
        let w1 = m
            .prepare("write", &json!(1), Some(&json!(1)))
            .unwrap()
            .unwrap();
        let r1 = m
            .prepare("read", &Value::Null, Some(&json!(1)))
            .unwrap()
            .unwrap();
        assert_eq!(m.step(&s0, &r_nil), Some(s0));
        assert_eq!(m.step(&s0, &r1), None);
        let s1 = m.step(&s0, &w1).unwrap();
        assert_eq!(m.show(&s1), json!(1));
        assert_eq!(m.step(&s1, &r1), Some(s1));
        assert_eq!(m.step(&s1, &r_nil), None);
    }

    #[test]
    fn simplify_drops_only_unobserved_indeterminate_writes() {
        use RegisterOp::*;
        // Initial value 0. An info write of 5 nobody reads: dropped. An info write of 1 that
        // a read sees: kept. An ok write of 7 nobody reads: kept (ok ops always are).
        let ops = [
            (Write(5), true),
            (Write(1), true),
            (Read(1), false),
            (Write(7), false),
            (Cas(9, 2), true), // 9 is never written: can never happen
            (Cas(1, 3), true), // 3 observed by the cas below, which is info and never enabled
            (Cas(3, 4), true),
            (Cas(6, 6), true), // 6 never written
        ];
        assert_eq!(
            simplify(0, &ops),
            [false, true, true, true, false, false, false, false]
        );
        // Here a cas expects 3 and may happen (3 is written): both stay.
        let ops = [(Cas(1, 3), true), (Cas(3, 4), false), (Write(1), false)];
        assert_eq!(simplify(0, &ops), [true, true, true]);
    }

    #[test]
    fn refute_finds_reads_nothing_explains() {
        use RegisterOp::*;
        let at = |op, start, end| (op, start, Some(end));
        // Initial 0. A read of 5, never written: impossible.
        assert_eq!(refute(0, &[at(Write(1), 1, 2), at(Read(5), 3, 4)]), Some(1));
        // A stale read of 1: written, then overwritten by 2 before the read.
        let stale = [at(Write(1), 1, 2), at(Write(2), 3, 4), at(Read(1), 5, 6)];
        assert_eq!(refute(0, &stale), Some(2));
        // The overwrite concurrent with the read, or with the first write: not refuted.
        let ok = [at(Write(1), 1, 2), at(Write(2), 3, 5), at(Read(1), 5, 6)];
        assert_eq!(refute(0, &ok), None);
        let ok = [at(Write(1), 1, 3), at(Write(2), 3, 4), at(Read(1), 5, 6)];
        assert_eq!(refute(0, &ok), None);
        // An indeterminate write of 1 may land late: never overwritten.
        let info = [(Write(1), 1, None), at(Write(2), 3, 4), at(Read(1), 5, 6)];
        assert_eq!(refute(0, &info), None);
        // The initial value, read after a write returned: stale; before: fine.
        assert_eq!(refute(0, &[at(Write(1), 1, 2), at(Read(0), 3, 4)]), Some(1));
        assert_eq!(refute(0, &[at(Write(1), 1, 3), at(Read(0), 3, 4)]), None);
        // An ok cas expecting a value never there.
        assert_eq!(refute(0, &[at(Cas(7, 1), 1, 2)]), Some(0));
        // Overwritten by a write of the same value: still explained.
        let same = [at(Write(1), 1, 2), at(Write(1), 3, 4), at(Read(1), 5, 6)];
        assert_eq!(refute(0, &same), None);
    }

    #[test]
    fn indeterminate_read_is_dropped_and_cas_is_unknown() {
        let mut m = Register::new(&json!(0));
        assert_eq!(m.prepare("read", &Value::Null, None), Ok(None));
        assert_eq!(m.show(&m.init()), json!(0));
        let e = m.prepare("cas", &json!([0, 1]), None).unwrap_err();
        assert_eq!(e.to_string(), "register has no function \"cas\"");
    }
}
