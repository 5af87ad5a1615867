//! A started fault as an RAII value: it heals when dropped, unless healed explicitly first.
//! This is what makes a panic or an early return in the runner heal the cluster.

use crate::nemesis::Nemesis;
use crate::target::{FaultTarget, NemesisError};
use serde_json::Value;
use std::sync::Arc;

/// A fault in force. Heals on [`FaultGuard::heal`] or on drop.
#[must_use = "a fault heals as soon as its guard is dropped"]
pub struct FaultGuard {
    nemesis: Arc<dyn Nemesis>,
    params: Value,
    target: Arc<dyn FaultTarget>,
    healed: bool,
}

impl FaultGuard {
    /// Starts the fault. On error, whatever part of it was applied is healed again.
    pub fn start(
        nemesis: Arc<dyn Nemesis>,
        params: Value,
        target: Arc<dyn FaultTarget>,
    ) -> Result<FaultGuard, NemesisError> {
        let g = FaultGuard {
            nemesis,
            params,
            target,
            healed: false,
        };
        // On error `g` drops here, healing whatever part of the fault was applied.
        g.nemesis.start(&g.params, g.target.as_ref())?;
        Ok(g)
    }

    /// Heals the fault now.
    pub fn heal(mut self) -> Result<(), NemesisError> {
        self.healed = true;
        self.nemesis.heal(&self.params, self.target.as_ref())
    }
}

impl Drop for FaultGuard {
    fn drop(&mut self) {
        if !self.healed {
            self.healed = true;
            if let Err(e) = self.nemesis.heal(&self.params, self.target.as_ref()) {
                // Drop cannot return the error; the run's final heal-all will try again.
                eprintln!("squall: healing on drop failed: {e}");
            }
        }
    }
}
