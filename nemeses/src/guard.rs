//! A started fault as an RAII value: it heals when dropped, unless healed explicitly first.
//! This is what makes a panic or an early return in the runner heal the cluster.

use crate::fault::Fault;
use crate::target::{FaultTarget, NemesisError};
use std::sync::Arc;

/// A fault in force. Heals on [`FaultGuard::heal`] or on drop.
#[must_use = "a fault heals as soon as its guard is dropped"]
pub struct FaultGuard {
    fault: Fault,
    target: Arc<dyn FaultTarget>,
    healed: bool,
}

impl FaultGuard {
    /// Starts the fault, resolved first ([`Fault::resolve`]: the guard holds, and heals,
    /// the fault as it was applied). On error, whatever part of it was applied is healed
    /// again.
    pub fn start(fault: Fault, target: Arc<dyn FaultTarget>) -> Result<FaultGuard, NemesisError> {
        let fault = fault.resolve(target.as_ref())?;
        let g = FaultGuard {
            fault,
            target,
            healed: false,
        };
        // On error `g` drops here, healing whatever part of the fault was applied.
        g.fault.start(g.target.as_ref())?;
        Ok(g)
    }

    /// The fault in force, as it was applied (resolved).
    pub fn fault(&self) -> &Fault {
        &self.fault
    }

    /// Heals the fault now.
    pub fn heal(mut self) -> Result<(), NemesisError> {
        self.healed = true;
        self.fault.heal(self.target.as_ref())
    }
}

impl Drop for FaultGuard {
    fn drop(&mut self) {
        if !self.healed {
            self.healed = true;
            if let Err(e) = self.fault.heal(self.target.as_ref()) {
                // Drop cannot return the error; the run's final heal-all will try again.
                eprintln!("squall: healing on drop failed: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Kill, NodeSet};
    use std::sync::Mutex;

    /// Records what was done to it; `kill` of node 9 fails.
    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);

    impl Log {
        fn push(&self, s: String) -> Result<(), NemesisError> {
            self.0.lock().unwrap().push(s);
            Ok(())
        }
        fn take(&self) -> Vec<String> {
            std::mem::take(&mut self.0.lock().unwrap())
        }
    }

    impl FaultTarget for Log {
        fn node_count(&self) -> usize {
            10
        }
        fn node_name(&self, node: usize) -> String {
            format!("n{}", node + 1)
        }
        fn block(&self, a: usize, b: usize) -> Result<(), NemesisError> {
            self.push(format!("block {a} {b}"))
        }
        fn unblock(&self, a: usize, b: usize) -> Result<(), NemesisError> {
            self.push(format!("unblock {a} {b}"))
        }
        fn pause(&self, n: usize) -> Result<(), NemesisError> {
            self.push(format!("pause {n}"))
        }
        fn resume(&self, n: usize) -> Result<(), NemesisError> {
            self.push(format!("resume {n}"))
        }
        fn kill(&self, n: usize) -> Result<(), NemesisError> {
            if n == 9 {
                return Err(NemesisError::Failed {
                    what: "kill n10".into(),
                    cause: "no such process".into(),
                });
            }
            self.push(format!("kill {n}"))
        }
        fn restart(&self, n: usize) -> Result<(), NemesisError> {
            self.push(format!("restart {n}"))
        }
        fn heal_all(&self) -> Result<(), NemesisError> {
            self.push("heal-all".into())
        }
    }

    fn kill(nodes: &[usize]) -> Fault {
        Fault::new(Kill::default(), NodeSet::of(nodes.to_vec()))
    }

    #[test]
    fn a_guard_heals_once_explicitly_or_on_drop() {
        let log = Arc::new(Log::default());
        let g = FaultGuard::start(kill(&[0, 2]), log.clone()).unwrap();
        assert_eq!(g.fault(), &kill(&[0, 2]));
        assert_eq!(log.take(), ["kill 0", "kill 2"]);
        g.heal().unwrap();
        assert_eq!(log.take(), ["restart 0", "restart 2"]);
        {
            let _g = FaultGuard::start(kill(&[1]), log.clone()).unwrap();
        }
        assert_eq!(log.take(), ["kill 1", "restart 1"]);
    }

    #[test]
    fn a_fault_that_fails_to_start_heals_what_it_applied() {
        let log = Arc::new(Log::default());
        let e = FaultGuard::start(kill(&[1, 9]), log.clone()).err().unwrap();
        assert_eq!(e.to_string(), "kill n10: no such process");
        assert_eq!(log.take(), ["kill 1", "restart 1", "restart 9"]);
    }
}
