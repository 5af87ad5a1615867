//! How many runs a soak has going at once when `--parallel` is not given: what this host
//! can hold, from its cores and its available memory.
//!
//! The rule: `min(cores × 48, MemAvailable ÷ 128 MiB) ÷ nodes`, at least 1 — a budget of
//! node processes, shared out among clusters of the test's size. Measured on a 2-core,
//! 24 GiB host (etcd 3.4, 3 nodes, linearizable reads, the default nemeses, 30 s tests):
//! 32 clusters at once all ran with valid verdicts (see the README's "Soak runs"); a
//! cluster's node is mostly idle (20 client ops a second shared by the cluster), so cores
//! rather than memory bound it — an etcd node holds ~35 MiB resident, and 128 MiB leaves
//! room for its data directory and the run's own process. A system heavier than etcd, or
//! VMs, want `--parallel` set by hand.

/// Node processes per core the default allows.
pub const NODES_PER_CORE: u64 = 48;
/// Memory the default sets aside per node.
pub const BYTES_PER_NODE: u64 = 128 << 20;

/// The default parallelism for clusters of `nodes` on a host of `cores` cores with
/// `available` bytes of memory available.
pub fn default_parallel(cores: u64, available: u64, nodes: u64) -> u64 {
    let by_cpu = cores.saturating_mul(NODES_PER_CORE);
    let by_memory = available / BYTES_PER_NODE;
    (by_cpu.min(by_memory) / nodes.max(1)).max(1)
}

/// This host's default for clusters of `nodes`: its online cores and `MemAvailable`.
pub fn host_default(nodes: usize) -> u64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let available = mem_available().unwrap_or(BYTES_PER_NODE * cores * NODES_PER_CORE);
    default_parallel(cores, available, nodes as u64)
}

/// `MemAvailable` from `/proc/meminfo`, in bytes.
fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        const GIB: u64 = 1 << 30;
        // This host: 2 cores, ~23 GiB available: 32 three-node clusters (cores bound it).
        assert_eq!(default_parallel(2, 23 * GIB, 3), 32);
        assert_eq!(default_parallel(2, 23 * GIB, 5), 19);
        // Memory bounds a small one: 2 GiB holds 16 nodes.
        assert_eq!(default_parallel(8, 2 * GIB, 3), 5);
        // Never below one.
        assert_eq!(default_parallel(1, 0, 3), 1);
        assert_eq!(default_parallel(1, 100 * GIB, 99), 1);
        assert!(host_default(3) >= 1);
    }
}
