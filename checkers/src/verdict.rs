//! The three-valued verdict every checker returns, and how verdicts merge.
//!
//! As in Jepsen, a verdict serializes as JSON `true` (valid), `false` (invalid) or
//! `"unknown"` (the checker could not decide: a budget ran out, or the history was malformed).
//! Verdicts of parts (keys, checkers) merge by priority: `Invalid` > `Unknown` > `Valid`.
//! One invalid part makes the whole invalid; otherwise one undecided part makes it unknown.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A checker's verdict on a history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Validity {
    /// The history satisfies the property (JSON `true`).
    #[default]
    Valid,
    /// The history violates the property (JSON `false`); a counterexample says where.
    Invalid,
    /// Undecided (JSON `"unknown"`): a budget ran out or the input could not be checked.
    Unknown,
}

impl Validity {
    /// Merges two verdicts by priority: `Invalid` > `Unknown` > `Valid`.
    ///
    /// ```
    /// use checkers::Validity::*;
    /// assert_eq!(Valid.merge(Unknown), Unknown);
    /// assert_eq!(Unknown.merge(Invalid), Invalid);
    /// assert_eq!(Valid.merge(Valid), Valid);
    /// ```
    #[must_use]
    pub fn merge(self, other: Validity) -> Validity {
        if self.priority() >= other.priority() {
            self
        } else {
            other
        }
    }

    /// Merges any number of verdicts; the merge of none is `Valid`.
    pub fn merge_all(verdicts: impl IntoIterator<Item = Validity>) -> Validity {
        verdicts.into_iter().fold(Validity::Valid, Validity::merge)
    }

    /// `true` for `Valid`.
    pub fn is_valid(self) -> bool {
        self == Validity::Valid
    }

    /// The word used in reports: `valid`, `invalid` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Validity::Valid => "valid",
            Validity::Invalid => "invalid",
            Validity::Unknown => "unknown",
        }
    }

    fn priority(self) -> u8 {
        match self {
            Validity::Valid => 0,
            Validity::Unknown => 1,
            Validity::Invalid => 2,
        }
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Validity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Validity::Valid => s.serialize_bool(true),
            Validity::Invalid => s.serialize_bool(false),
            Validity::Unknown => s.serialize_str("unknown"),
        }
    }
}

impl<'de> Deserialize<'de> for Validity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Validity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or \"unknown\"")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Validity, E> {
                Ok(if v {
                    Validity::Valid
                } else {
                    Validity::Invalid
                })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Validity, E> {
                match v {
                    "unknown" => Ok(Validity::Unknown),
                    other => Err(E::custom(format!("unknown verdict {other:?}"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::Validity::{self, *};

    #[test]
    fn merge_by_priority() {
        let all = [Valid, Invalid, Unknown];
        for a in all {
            for b in all {
                let m = a.merge(b);
                assert_eq!(m, b.merge(a), "merge is symmetric");
                let want = if a == Invalid || b == Invalid {
                    Invalid
                } else if a == Unknown || b == Unknown {
                    Unknown
                } else {
                    Valid
                };
                assert_eq!(m, want, "{a} + {b}");
            }
        }
        assert_eq!(Validity::merge_all([]), Valid);
        assert_eq!(Validity::merge_all([Valid, Unknown, Valid]), Unknown);
    }

    #[test]
    fn json_is_jepsens() {
        assert_eq!(serde_json::to_string(&Valid).unwrap(), "true");
        assert_eq!(serde_json::to_string(&Invalid).unwrap(), "false");
        assert_eq!(serde_json::to_string(&Unknown).unwrap(), "\"unknown\"");
        for v in [Valid, Invalid, Unknown] {
            let back: Validity = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
            assert_eq!(back, v);
        }
        assert!(serde_json::from_str::<Validity>("\"maybe\"").is_err());
    }
}
