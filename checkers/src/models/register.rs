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
/// left, so the fixpoint is sound):
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
    use std::collections::{HashMap, HashSet};
    let mut keep = vec![true; ops.len()];
    loop {
        let kept = || ops.iter().zip(&keep).filter(|(_, k)| **k).map(|(o, _)| o);
        // How many ops left write each value (the initial value counts as written).
        let mut written: HashMap<u32, usize> = HashMap::from([(initial, 1)]);
        let mut observed: HashSet<u32> = HashSet::new();
        for (op, _) in kept() {
            match *op {
                RegisterOp::Read(v) => {
                    observed.insert(v);
                }
                RegisterOp::Write(v) => *written.entry(v).or_default() += 1,
                RegisterOp::Cas(old, new) => {
                    observed.insert(old);
                    *written.entry(new).or_default() += 1;
                }
            }
        }
        // Written by some op other than a `cas old→old` itself.
        let written_by_other =
            |old: u32, new: u32| written.get(&old).copied().unwrap_or(0) > usize::from(old == new);
        let mut changed = false;
        for (i, (op, info)) in ops.iter().enumerate() {
            if !*info || !keep[i] {
                continue;
            }
            let drop = match *op {
                RegisterOp::Read(_) => false,
                RegisterOp::Write(v) => !observed.contains(&v),
                RegisterOp::Cas(old, new) => {
                    !written_by_other(old, new) || (old != new && !observed.contains(&new))
                }
            };
            if drop {
                keep[i] = false;
                changed = true;
            }
        }
        if !changed {
            return keep;
        }
    }
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
    fn indeterminate_read_is_dropped_and_cas_is_unknown() {
        let mut m = Register::new(&json!(0));
        assert_eq!(m.prepare("read", &Value::Null, None), Ok(None));
        assert_eq!(m.show(&m.init()), json!(0));
        let e = m.prepare("cas", &json!([0, 1]), None).unwrap_err();
        assert_eq!(e.to_string(), "register has no function \"cas\"");
    }
}
