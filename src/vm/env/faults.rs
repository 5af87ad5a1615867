//! How faults reach VMs: partitions are the hub's rules (as for every environment), pause
//! and resume are `vm.pause`/`vm.resume`, a kill cuts the VM's power (its CH process is
//! killed; its data disk stays) and a restart boots it again.

use super::{failed, vmm_error, NodeStatus, VmEnv};
use nemeses::{FaultTarget, NemesisError};

impl FaultTarget for VmEnv {
    fn node_count(&self) -> usize {
        self.names.len()
    }

    fn node_name(&self, node: usize) -> String {
        self.names
            .get(node)
            .cloned()
            .unwrap_or_else(|| format!("node{node}"))
    }

    fn block(&self, from: usize, to: usize) -> Result<(), NemesisError> {
        self.hub.block(from, to)
    }

    fn unblock(&self, from: usize, to: usize) -> Result<(), NemesisError> {
        self.hub.unblock(from, to)
    }

    fn pause(&self, node: usize) -> Result<(), NemesisError> {
        self.with_node(node, "pause", |_, n| {
            if n.status == NodeStatus::Running {
                if let Some(vmm) = &mut n.vmm {
                    vmm.pause().map_err(vmm_error)?;
                }
                n.status = NodeStatus::Paused;
            }
            Ok(())
        })
    }

    fn resume(&self, node: usize) -> Result<(), NemesisError> {
        self.with_node(node, "resume", |_, n| {
            if n.status == NodeStatus::Paused {
                if let Some(vmm) = &mut n.vmm {
                    vmm.resume().map_err(vmm_error)?;
                }
                n.status = NodeStatus::Running;
            }
            Ok(())
        })
    }

    fn kill(&self, node: usize) -> Result<(), NemesisError> {
        self.with_node(node, "kill", |_, n| Self::kill_node(n))
    }

    fn restart(&self, node: usize) -> Result<(), NemesisError> {
        self.with_node(node, "restart", |env, n| match n.status {
            NodeStatus::Killed | NodeStatus::Exited => env.boot(n),
            _ => Ok(()),
        })
    }

    fn heal_all(&self) -> Result<(), NemesisError> {
        let mut result = self.hub.unblock_all();
        for node in 0..self.names.len() {
            result = result.and(
                self.rejoin(node)
                    .map_err(|e| failed(format!("rejoin {}", self.node_name(node)), e)),
            );
            result = result.and(self.resume(node));
            result = result.and(self.restart(node));
        }
        result
    }
}
