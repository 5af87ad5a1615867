//! A system that does nothing, at once, and a fault target with nothing to fault: the runner
//! measured on its own (`squall bench`), and tested without a cluster.

use nemeses::{FaultTarget, NemesisError};
use workloads::{BoxFuture, Client, Op, Outcome};

/// A system that does nothing, at once: a register read finds 0, any other op completes
/// with its own value.
pub struct Noop;

impl Client for Noop {
    fn invoke<'a>(&'a self, op: &'a Op) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            // A register read finds 0; any other op completes with its own value.
            match (op.f.as_str(), op.value.as_array().map(Vec::as_slice)) {
                ("read", Some([key, _])) => Outcome::Ok(serde_json::json!([key, 0])),
                _ => Outcome::Ok(op.value.clone()),
            }
        })
    }
}

/// A fault target with nothing to fault, over this many nodes.
pub struct NoTarget(pub usize);

impl FaultTarget for NoTarget {
    fn node_count(&self) -> usize {
        self.0
    }
    fn node_name(&self, node: usize) -> String {
        format!("n{}", node + 1)
    }
    fn block(&self, _: usize, _: usize) -> Result<(), NemesisError> {
        Ok(())
    }
    fn unblock(&self, _: usize, _: usize) -> Result<(), NemesisError> {
        Ok(())
    }
    fn pause(&self, _: usize) -> Result<(), NemesisError> {
        Ok(())
    }
    fn resume(&self, _: usize) -> Result<(), NemesisError> {
        Ok(())
    }
    fn kill(&self, _: usize) -> Result<(), NemesisError> {
        Ok(())
    }
    fn restart(&self, _: usize) -> Result<(), NemesisError> {
        Ok(())
    }
    fn heal_all(&self) -> Result<(), NemesisError> {
        Ok(())
    }
    fn link_down(&self, _: usize) -> Result<(), NemesisError> {
        Ok(())
    }
    fn rate_limit(&self, _: usize, _: &nemeses::RateLimit) -> Result<(), NemesisError> {
        Ok(())
    }
    fn shape(&self, _: &nemeses::PacketParams) -> Result<(), NemesisError> {
        Ok(())
    }
    fn set_clock(&self, _: usize, _: &nemeses::ClockChange) -> Result<(), NemesisError> {
        Ok(())
    }
}
