//! [`Fault`]: one fault as data — a nemesis together with the parameters it drew.
//!
//! A plan carries faults of any nemesis side by side, so a fault is a small trait object
//! over the nemesis's own [`Nemesis::Params`]: it describes, starts and heals itself with
//! the typed value, and gives its parameters as JSON for the plan file. [`decode`] is the
//! way back from a plan file's `fault` and `params` fields.

use crate::nemesis::Nemesis;
use crate::target::{FaultTarget, NemesisError};
use serde_json::Value;
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// One fault: which nemesis, with which parameters. Cheap to clone.
///
/// ```
/// use nemeses::{decode, Fault, Kill, NodeSet};
/// let f = Fault::new(Kill::default(), NodeSet::of(vec![0, 2]));
/// assert_eq!(f.nemesis(), "kill");
/// assert_eq!(f.params_json().to_string(), r#"{"nodes":[0,2]}"#);
/// assert_eq!(f.params::<NodeSet>().unwrap().nodes, [0, 2]);
/// assert_eq!(decode("kill", &f.params_json()).unwrap(), f);
/// ```
#[derive(Clone)]
pub struct Fault(Arc<dyn AnyFault>);

impl Fault {
    /// The fault `params` of `nemesis`.
    pub fn new<N: Nemesis + Clone + 'static>(nemesis: N, params: N::Params) -> Fault {
        Fault(Arc::new(Typed { nemesis, params }))
    }

    /// The nemesis's name, as the plan file's `fault` field gives it.
    pub fn nemesis(&self) -> &'static str {
        self.0.nemesis()
    }

    /// Its parameters as JSON, as the plan file's `params` field gives them.
    pub fn params_json(&self) -> Value {
        self.0.params_json()
    }

    /// Its parameters, if they are a `P`.
    pub fn params<P: 'static>(&self) -> Option<&P> {
        self.0.params_any().downcast_ref()
    }

    /// The fault in a few words, with the nodes called by `names`.
    pub fn describe(&self, names: &[String]) -> String {
        self.0.describe(names)
    }

    /// Starts the fault on `target`.
    pub fn start(&self, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        self.0.start(target)
    }

    /// Heals the fault on `target` (idempotent).
    pub fn heal(&self, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        self.0.heal(target)
    }

    /// The fault as it applies now on `target` ([`Nemesis::resolve`]): itself, unless the
    /// plan left something to decide at start (the nodes of a `primaries` fault).
    pub fn resolve(&self, target: &dyn FaultTarget) -> Result<Fault, NemesisError> {
        self.0.resolve(target)
    }
}

impl PartialEq for Fault {
    fn eq(&self, other: &Fault) -> bool {
        self.0.eq_any(other.0.as_ref())
    }
}

impl fmt::Debug for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt_debug(f)
    }
}

/// The fault a plan file's line names: nemesis `name` with parameters `params`. An unknown
/// nemesis or malformed parameters are an error saying which and what is wrong; the plan
/// reader adds the line.
///
/// ```
/// let e = nemeses::decode("pause", &serde_json::json!({"nodes": "n1"})).unwrap_err();
/// assert!(e.to_string().starts_with("pause parameters: invalid type"), "{e}");
/// ```
pub fn decode(name: &str, params: &Value) -> Result<Fault, NemesisError> {
    crate::by_name(name)
        .ok_or_else(|| NemesisError::Unknown(name.to_string()))?
        .decode(params)
}

/// What [`Fault`] holds: a nemesis and its typed parameters, behind one object-safe face.
trait AnyFault: Send + Sync {
    fn nemesis(&self) -> &'static str;
    fn params_json(&self) -> Value;
    fn params_any(&self) -> &dyn Any;
    fn describe(&self, names: &[String]) -> String;
    fn start(&self, target: &dyn FaultTarget) -> Result<(), NemesisError>;
    fn heal(&self, target: &dyn FaultTarget) -> Result<(), NemesisError>;
    fn resolve(&self, target: &dyn FaultTarget) -> Result<Fault, NemesisError>;
    fn eq_any(&self, other: &dyn AnyFault) -> bool;
    fn fmt_debug(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

struct Typed<N: Nemesis> {
    nemesis: N,
    params: N::Params,
}

impl<N: Nemesis + Clone + 'static> AnyFault for Typed<N> {
    fn nemesis(&self) -> &'static str {
        self.nemesis.name()
    }

    fn params_json(&self) -> Value {
        // Through a `Value`, as the plan file has always written them: an object's keys
        // come out sorted, whatever the order of the struct's fields.
        serde_json::to_value(&self.params).expect("nemesis parameters serialize to JSON")
    }

    fn params_any(&self) -> &dyn Any {
        &self.params
    }

    fn describe(&self, names: &[String]) -> String {
        self.nemesis.describe(&self.params, names)
    }

    fn start(&self, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        self.nemesis.start(&self.params, target)
    }

    fn heal(&self, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        self.nemesis.heal(&self.params, target)
    }

    fn resolve(&self, target: &dyn FaultTarget) -> Result<Fault, NemesisError> {
        let params = self.nemesis.resolve(&self.params, target)?;
        Ok(Fault::new(self.nemesis.clone(), params))
    }

    fn eq_any(&self, other: &dyn AnyFault) -> bool {
        self.nemesis() == other.nemesis()
            && other
                .params_any()
                .downcast_ref::<N::Params>()
                .is_some_and(|p| *p == self.params)
    }

    fn fmt_debug(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fault")
            .field("nemesis", &self.nemesis())
            .field("params", &self.params)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{by_name, Kill, NodeSet, Pause, NAMES};
    use serde_json::json;
    use workloads::Rng;

    #[test]
    fn every_nemesis_reads_back_the_faults_it_draws() {
        for name in NAMES {
            let n = by_name(name).unwrap();
            for seed in 0..40 {
                for nodes in [1, 3, 5, 7] {
                    let f = n.generate(&mut Rng::new(seed, 0), nodes);
                    assert_eq!(f.nemesis(), *name);
                    let back = decode(name, &f.params_json()).unwrap();
                    assert_eq!(back, f);
                    assert_eq!(back.params_json(), f.params_json());
                    assert_eq!(back.describe(&[]), f.describe(&[]));
                }
            }
        }
    }

    #[test]
    fn malformed_parameters_say_what_is_wrong() {
        let cases = [
            ("kill", json!({}), "kill parameters: missing field `nodes`"),
            (
                "pause",
                json!({"nodes": [1, "n2"]}),
                "pause parameters: invalid type: string \"n2\", expected usize",
            ),
            (
                "kill",
                json!({"nodes": [1], "node": 2}),
                "kill parameters: unknown field `node`, expected `nodes` or `target`",
            ),
            (
                "partition",
                json!({"shape": "ring", "groups": [], "blocks": []}),
                "partition parameters: unknown variant `ring`, expected one of \
                 `majority-minority`, `isolate`, `majorities-ring`, `one-way`, `bridge`, \
                 `grudge`",
            ),
            (
                "partition",
                json!({"shape": "isolate", "groups": [[0], [1, 2]], "blocks": [[0]]}),
                "partition parameters: invalid length 1, expected a tuple of size 2",
            ),
            (
                "partition",
                json!(null),
                "partition parameters: invalid type: null",
            ),
            ("flood", json!({}), "unknown nemesis \"flood\""),
        ];
        for (name, params, want) in cases {
            let e = decode(name, &params).unwrap_err().to_string();
            assert!(e.starts_with(want), "{name} {params}: {e}");
        }
    }

    #[test]
    fn faults_are_equal_only_with_the_same_nemesis_and_parameters() {
        let nodes = |v: &[usize]| NodeSet::of(v.to_vec());
        let (kill, pause) = (Kill::default(), Pause::default());
        assert_eq!(
            Fault::new(kill.clone(), nodes(&[1])),
            Fault::new(kill.clone(), nodes(&[1]))
        );
        assert_ne!(
            Fault::new(kill.clone(), nodes(&[1])),
            Fault::new(kill.clone(), nodes(&[2]))
        );
        // Same parameters' type and value, other nemesis: another fault.
        assert_ne!(
            Fault::new(kill, nodes(&[1])),
            Fault::new(pause.clone(), nodes(&[1]))
        );
        let f = Fault::new(pause, nodes(&[0, 2]));
        assert_eq!(f.params::<NodeSet>(), Some(&nodes(&[0, 2])));
        assert!(f.params::<crate::PartitionParams>().is_none());
        assert_eq!(
            format!("{f:?}"),
            "Fault { nemesis: \"pause\", params: NodeSet { nodes: [0, 2], target: None } }"
        );
    }

    #[test]
    fn parameters_are_written_with_sorted_keys() {
        // The plan file has always written them through a `Value`: pinned by the golden plan.
        let f = by_name("partition")
            .unwrap()
            .generate(&mut Rng::new(3, 0), 3);
        let text = f.params_json().to_string();
        let (b, g, s) = (
            text.find("\"blocks\"").unwrap(),
            text.find("\"groups\"").unwrap(),
            text.find("\"shape\"").unwrap(),
        );
        assert!(b < g && g < s, "{text}");
    }
}
