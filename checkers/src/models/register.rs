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
    fn indeterminate_read_is_dropped_and_cas_is_unknown() {
        let mut m = Register::new(&json!(0));
        assert_eq!(m.prepare("read", &Value::Null, None), Ok(None));
        assert_eq!(m.show(&m.init()), json!(0));
        let e = m.prepare("cas", &json!([0, 1]), None).unwrap_err();
        assert_eq!(e.to_string(), "register has no function \"cas\"");
    }
}
