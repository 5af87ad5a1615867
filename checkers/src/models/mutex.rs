//! A mutex (Knossos's `mutex`): `acquire` takes the lock, `release` gives it back.
//!
//! - `acquire` can happen only when the lock is free; it leaves it held.
//! - `release` can happen only when the lock is held; it leaves it free.
//!
//! As in Knossos, the lock does not record its holder: a history in which one process
//! releases a lock another acquired is not, by itself, an anomaly. Values are ignored. A
//! failed op (`fail`: "not held", "already held") did not happen and never reaches the model;
//! an indeterminate one (`info`) may have happened, and the search decides.

use crate::error::ModelError;
use crate::model::Model;
use serde_json::{json, Value};

/// A mutex op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MutexOp {
    /// Take the lock.
    Acquire,
    /// Give the lock back.
    Release,
}

/// A mutex, free at the start. Its state is `true` while held.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mutex;

impl Mutex {
    /// A free mutex.
    pub fn new() -> Self {
        Mutex
    }
}

impl Model for Mutex {
    type Op = MutexOp;
    type State = bool;

    fn name(&self) -> &'static str {
        "mutex"
    }

    fn init(&self) -> bool {
        false
    }

    fn prepare(
        &mut self,
        f: &str,
        _invoke: &Value,
        _completion: Option<&Value>,
    ) -> Result<Option<MutexOp>, ModelError> {
        match f {
            "acquire" => Ok(Some(MutexOp::Acquire)),
            "release" => Ok(Some(MutexOp::Release)),
            _ => Err(ModelError::UnknownFunction {
                model: "mutex",
                f: f.into(),
            }),
        }
    }

    fn step(&self, held: &bool, op: &MutexOp) -> Option<bool> {
        match op {
            MutexOp::Acquire => (!held).then_some(true),
            MutexOp::Release => held.then_some(false),
        }
    }

    fn show(&self, held: &bool) -> Value {
        json!(if *held { "held" } else { "free" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps() {
        let mut m = Mutex::new();
        let acquire = m.prepare("acquire", &Value::Null, None).unwrap().unwrap();
        let release = m
            .prepare("release", &Value::Null, Some(&Value::Null))
            .unwrap()
            .unwrap();
        let table = [
            (false, acquire, Some(true)),
            (true, acquire, None),
            (true, release, Some(false)),
            (false, release, None),
        ];
        for (state, op, want) in table {
            assert_eq!(m.step(&state, &op), want, "{op:?} from {state}");
        }
        assert_eq!(m.show(&m.init()), json!("free"));
        assert_eq!(
            m.prepare("read", &Value::Null, None)
                .unwrap_err()
                .to_string(),
            "mutex has no function \"read\""
        );
    }
}
