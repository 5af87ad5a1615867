//! The names and addresses a run gives what it creates on the host: a leaf module (it uses
//! nothing else of squall's but [`EnvError`]), shared by every environment, the run
//! directory's claim and `squall clean`.
//!
//! Names carry the run id so that runs never collide and `squall clean` can find what a
//! crashed run left: namespaces `squall-<run>-hub` and `squall-<run>-n<i>`, hub-side links
//! `sq<run>h<i>` (veths) and `sq<run>t<i>` (TAPs) — interface names are limited to 15
//! bytes, hence the short prefix — and the run directory `/tmp/squall-<run>/`.
//!
//! Addresses come from 198.18.0.0/15 (RFC 2544, benchmarking), which exists only inside a
//! run's namespaces: node `i` (0-based) is `198.18.<i+1>.2/24`, its hub side
//! `198.18.<i+1>.1`.

use super::EnvError;
use std::fs::File;
use std::io::Read;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// The prefix of every namespace and directory squall creates.
pub const NAME_PREFIX: &str = "squall-";
/// The priority of squall's blackhole rules in the hub (lower than the `main` table's
/// 32766, so they win).
pub const RULE_PRIORITY: u32 = 100;
/// Where run directories are made: `/tmp/squall-<run>/`.
pub const RUN_PARENT: &str = "/tmp";
/// At most this many nodes: node `i` uses 198.18.`i+1`.0/24 and a two-digit link suffix.
pub const MAX_NODES: usize = 99;
/// The node's link name inside its namespace (or guest).
pub const NODE_LINK: &str = "eth0";

/// A fresh run id: 6 hex characters from the kernel's random source. Not part of any plan
/// (it names host resources only), so not derived from the seed.
pub fn new_run_id() -> String {
    let mut bytes = [0u8; 3];
    if File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_err()
    {
        // Fall back to pid and time: unique enough for names on one host.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mixed = t ^ std::process::id().rotate_left(16);
        bytes = [(mixed >> 16) as u8, (mixed >> 8) as u8, mixed as u8];
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks that `run_id` is 1 to 8 characters of `[0-9a-z]`.
pub fn validate_run_id(run_id: &str) -> Result<(), EnvError> {
    let ok = (1..=8).contains(&run_id.len())
        && run_id
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
    if ok {
        Ok(())
    } else {
        Err(EnvError::InvalidRunId(run_id.to_string()))
    }
}

/// The run directory of `run_id`: `/tmp/squall-<run>/`.
pub fn run_dir(run_id: &str) -> PathBuf {
    Path::new(RUN_PARENT).join(format!("{NAME_PREFIX}{run_id}"))
}

/// The hub namespace of `run_id`: `squall-<run>-hub`.
pub fn hub_ns_name(run_id: &str) -> String {
    format!("{NAME_PREFIX}{run_id}-hub")
}

/// The namespace of node `node` (0-based) of `run_id`: `squall-<run>-n<node+1>`.
pub fn node_ns_name(run_id: &str, node: usize) -> String {
    format!("{NAME_PREFIX}{run_id}-n{}", node + 1)
}

/// The hub-side veth of node `node`: `sq<run>h<node+1>`.
pub fn hub_link_name(run_id: &str, node: usize) -> String {
    format!("sq{run_id}h{}", node + 1)
}

/// The TAP of node `node` (0-based) of `run_id`: `sq<run>t<node+1>`.
pub fn tap_name(run_id: &str, node: usize) -> String {
    format!("sq{run_id}t{}", node + 1)
}

/// The address of node `node` (0-based): 198.18.`node+1`.2.
pub fn node_addr(node: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, (node + 1) as u8, 2)
}

/// The hub's address on node `node`'s link, the node's gateway: 198.18.`node+1`.1.
pub fn hub_addr(node: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, (node + 1) as u8, 1)
}

/// The run id in a squall namespace name `squall-<run>-hub` or `squall-<run>-n<i>`.
pub fn parse_ns_name(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(NAME_PREFIX)?;
    let (run, suffix) = rest.split_once('-')?;
    validate_run_id(run).ok()?;
    let node = suffix
        .strip_prefix('n')
        .map(|d| !d.is_empty() && d.len() <= 2 && d.bytes().all(|b| b.is_ascii_digit()));
    (suffix == "hub" || node == Some(true)).then_some(run)
}

/// Checks the node names (non-empty, file-name safe, distinct) and that there is a log
/// per node.
pub fn check_names(names: &[String], logs: &[PathBuf]) -> Result<(), EnvError> {
    if names.is_empty() || names.len() > MAX_NODES {
        return Err(EnvError::Invalid(format!(
            "{} nodes: want 1 to {MAX_NODES}",
            names.len()
        )));
    }
    if logs.len() != names.len() {
        return Err(EnvError::Invalid(format!(
            "{} log paths for {} nodes",
            logs.len(),
            names.len()
        )));
    }
    for (i, name) in names.iter().enumerate() {
        let ok = !name.is_empty()
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !ok || names[..i].contains(name) {
            return Err(EnvError::Invalid(format!(
                "bad or repeated node name {name:?}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ids_and_addresses() {
        assert!(validate_run_id("ab12cd").is_ok());
        assert!(validate_run_id("").is_err());
        assert!(validate_run_id("AB12").is_err());
        assert!(validate_run_id("abcdefghi").is_err());
        assert!(validate_run_id("ab-1").is_err());
        let id = new_run_id();
        assert_eq!(id.len(), 6);
        assert!(validate_run_id(&id).is_ok());
        assert_eq!(node_ns_name("ab12cd", 1), "squall-ab12cd-n2");
        assert_eq!(hub_ns_name("ab12cd"), "squall-ab12cd-hub");
        assert!(hub_link_name("abcdefgh", MAX_NODES - 1).len() <= 15);
        assert_eq!(tap_name("ab12cd", 0), "sqab12cdt1");
        assert!(tap_name("abcdefgh", MAX_NODES - 1).len() <= 15);
        assert_eq!(node_addr(0), Ipv4Addr::new(198, 18, 1, 2));
        assert_eq!(hub_addr(2), Ipv4Addr::new(198, 18, 3, 1));
        assert_eq!(parse_ns_name("squall-ab12cd-hub"), Some("ab12cd"));
        assert_eq!(parse_ns_name("squall-ab12cd-n12"), Some("ab12cd"));
        assert_eq!(parse_ns_name("squall-ab12cd-x"), None);
        assert_eq!(parse_ns_name("squall-AB-hub"), None);
        assert_eq!(parse_ns_name("other-ab12cd-hub"), None);
    }

    #[test]
    fn node_names_are_checked() {
        let names: Vec<String> = vec!["n1".into(), "n2".into()];
        let logs = vec![PathBuf::from("/l/n1"), PathBuf::from("/l/n2")];
        assert!(check_names(&names, &logs).is_ok());
        assert_eq!(
            check_names(&names, &logs[..1]).unwrap_err().to_string(),
            "1 log paths for 2 nodes"
        );
        assert!(check_names(&["n1".into(), "n1".into()], &logs).is_err());
        assert!(check_names(&[".x".into(), "n2".into()], &logs).is_err());
        assert!(check_names(&[], &[]).is_err());
    }
}
