//! etcd's leader hook: which members lead right now, from each member's own status
//! (`POST /v3/maintenance/status` on its JSON gateway, answered from the member's local
//! Raft state without a quorum: `header.member_id` is the member, `leader` the member it
//! follows).
//!
//! A member is a primary when its own answer names itself as leader. Asking each member
//! about itself, rather than one member about the others, finds a deposed leader cut off in
//! a minority that still believes it leads — Jepsen's "primaries" are the nodes that act as
//! leaders. A member that does not answer within the timeout is not counted.

use super::{EtcdClient, ReadMode};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

/// The indices of the members at `addrs` that say they lead.
pub(super) async fn primaries(
    addrs: Vec<SocketAddr>,
    timeout: Duration,
) -> anyhow::Result<Vec<usize>> {
    // Asked together: the hook takes the slowest answer, not the sum.
    let asks: Vec<_> = addrs
        .iter()
        .map(|&addr| {
            tokio::spawn(async move {
                let client = EtcdClient::new(addr, ReadMode::Linearizable, timeout);
                let body = client
                    .call("maintenance/status", &serde_json::json!({}))
                    .await
                    .map_err(|e| format!("{addr}: {e}"))?;
                let status: Value = serde_json::from_slice(&body)
                    .map_err(|e| format!("{addr}: unparseable status: {e}"))?;
                leads(&status)
                    .ok_or_else(|| format!("{addr}: status without member_id or leader: {status}"))
            })
        })
        .collect();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, a) in asks.into_iter().enumerate() {
        match a.await.unwrap_or_else(|e| Err(e.to_string())) {
            Ok(true) => out.push(i),
            Ok(false) => {}
            Err(e) => errors.push(e),
        }
    }
    if out.is_empty() && errors.len() == addrs.len() {
        anyhow::bail!("no etcd member answered its status: {}", errors.join("; "));
    }
    Ok(out)
}

/// Whether a status answer names its own member as leader. The gateway writes uint64s as
/// strings; numbers are accepted too.
fn leads(status: &Value) -> Option<bool> {
    let id = |v: &Value| match v {
        Value::String(s) => s.parse::<u64>().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    let member = id(status.get("header")?.get("member_id")?)?;
    // No `leader` field: the gateway omits zero values — no leader known.
    let leader = status.get("leader").map_or(Some(0), id)?;
    Some(leader != 0 && leader == member)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_member_leads_when_its_own_status_names_it() {
        let s = |m: Value, l: Option<Value>| {
            let mut v = json!({"header": {"member_id": m}});
            if let Some(l) = l {
                v["leader"] = l;
            }
            v
        };
        assert_eq!(leads(&s(json!("42"), Some(json!("42")))), Some(true));
        assert_eq!(leads(&s(json!("42"), Some(json!("7")))), Some(false));
        assert_eq!(leads(&s(json!(42), Some(json!(42)))), Some(true));
        assert_eq!(leads(&s(json!("42"), None)), Some(false));
        assert_eq!(leads(&json!({"leader": "1"})), None);
    }
}
