//! A compare-and-set register (Knossos's `cas-register`): a [`Register`](super::Register)
//! plus `cas [old new]`, which sets the register to `new` if it holds `old`, and cannot
//! happen otherwise. (A cas that found another value completes `fail`, and failed ops are
//! dropped before the model sees them, so an `ok` cas must have found `old`.)

use crate::error::ModelError;
use crate::model::Model;
use crate::models::intern::Interner;
use crate::models::register::{self, RegisterOp};
use serde_json::Value;

/// A read/write/cas register.
#[derive(Clone, Debug)]
pub struct CasRegister {
    values: Interner,
    initial: u32,
}

impl CasRegister {
    /// A register that starts out holding `initial`.
    pub fn new(initial: &Value) -> Self {
        let mut values = Interner::new();
        let initial = values.intern(initial);
        CasRegister { values, initial }
    }
}

impl Model for CasRegister {
    type Op = RegisterOp;
    type State = u32;

    fn name(&self) -> &'static str {
        "cas-register"
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
        match register::prepare_read_write(&mut self.values, f, invoke, completion) {
            Ok(op) => Ok(op),
            Err(Some(e)) => Err(e),
            Err(None) if f == "cas" => register::prepare_cas(&mut self.values, invoke, completion),
            Err(None) => Err(ModelError::UnknownFunction {
                model: "cas-register",
                f: f.into(),
            }),
        }
    }

    fn step(&self, state: &u32, op: &RegisterOp) -> Option<u32> {
        register::step(*state, *op)
    }

    fn show(&self, state: &u32) -> Value {
        self.values.value(*state)
    }

    fn read_only(&self, op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Read(_))
    }

    /// See [`register::simplify`] for why this is sound.
    fn simplify(&self, ops: &[(RegisterOp, bool)]) -> Vec<bool> {
        register::simplify(self.initial, ops)
    }

    /// See [`register::refute`] for why this is sound.
    fn refute(&self, ops: &[(RegisterOp, u64, Option<u64>)]) -> Option<usize> {
        register::refute(self.initial, ops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cas_needs_the_old_value() {
        let mut m = CasRegister::new(&json!(0));
        let s0 = m.init();
        let cas01 = m
            .prepare("cas", &json!([0, 1]), Some(&json!([0, 1])))
            .unwrap()
            .unwrap();
        let cas12 = m.prepare("cas", &json!([1, 2]), None).unwrap().unwrap();
        assert_eq!(m.step(&s0, &cas12), None);
        let s1 = m.step(&s0, &cas01).unwrap();
        assert_eq!(m.show(&s1), json!(1));
        assert_eq!(m.show(&m.step(&s1, &cas12).unwrap()), json!(2));
    }

    #[test]
    fn malformed_cas_and_unknown_function() {
        let mut m = CasRegister::new(&Value::Null);
        let e = m.prepare("cas", &json!(3), Some(&json!(3))).unwrap_err();
        assert_eq!(e.to_string(), "cas expects [old new], got 3");
        assert!(matches!(
            m.prepare("incr", &json!(1), None),
            Err(ModelError::UnknownFunction { .. })
        ));
    }
}
