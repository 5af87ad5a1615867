//! Interning JSON values as small integers.
//!
//! `serde_json::Value` is neither `Hash` nor cheap to clone; a register's state is one value,
//! and the search hashes states millions of times. Each distinct value (compared by its
//! canonical JSON text, so `1` and `1.0` differ, as they do in Jepsen's EDN) gets a `u32`.

use serde_json::Value;
use std::collections::HashMap;

/// A table of distinct JSON values, each with a dense `u32` id.
#[derive(Clone, Debug, Default)]
pub struct Interner {
    ids: HashMap<String, u32>,
    values: Vec<Value>,
}

impl Interner {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `value`, adding it if new.
    pub fn intern(&mut self, value: &Value) -> u32 {
        let text = value.to_string();
        if let Some(&id) = self.ids.get(&text) {
            return id;
        }
        let id = u32::try_from(self.values.len()).expect("fewer than 2^32 distinct values");
        self.ids.insert(text, id);
        self.values.push(value.clone());
        id
    }

    /// The value with id `id` (`null` for an id this table never gave out).
    pub fn value(&self, id: u32) -> Value {
        self.values.get(id as usize).cloned().unwrap_or(Value::Null)
    }

    /// How many distinct values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// `true` when no value was interned.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn same_value_same_id() {
        let mut t = Interner::new();
        let a = t.intern(&json!(1));
        let b = t.intern(&json!("1"));
        assert_ne!(a, b);
        assert_eq!(t.intern(&json!(1)), a);
        assert_eq!(t.intern(&json!({"x": [1, null]})), 2);
        assert_eq!(t.value(b), json!("1"));
        assert_eq!(t.value(99), Value::Null);
        assert_eq!(t.len(), 3);
    }
}
