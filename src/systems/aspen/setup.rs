//! Readiness, cluster formation and the leader hook, through `aspen-cli` from the hub.
//!
//! An `aspen-node` starts alone and uninitialised; it writes its ticket to
//! `D/cluster-ticket.txt` and its endpoint id as `D/discovery/<endpoint id>.json`. A cluster
//! is formed by hand, on node 1: `cluster init`, then `cluster add-learner --node-id N
//! --addr '{"id":"<endpoint id>","addrs":[{"Ip":"ADDR:PORT"}]}'` for every other node, then
//! `cluster change-membership 1 2 .. n`. The setup step then waits until every node serves
//! a linearizable read of a key written through node 1, and hands each node's ticket to the
//! clients (the state: `{"tickets": [..]}`), so a client talks to its own node only.

use super::classify::{self, Answer, Ran};
use super::client::{AspenWorkload, SET_SENTINEL};
use super::{Aspen, ClusterInfo};
use anyhow::{bail, Context as _};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::time::Instant;

/// The key setup writes through node 1 and reads back through every node.
const READY_KEY: &str = "squall-ready";
/// How long one setup request may take.
const STEP: Duration = Duration::from_secs(5);
/// The pause between attempts of a step that is not done yet.
const RETRY: Duration = Duration::from_millis(250);

/// The ticket node `node`'s client uses, from the setup state.
pub fn ticket_of(state: &Value, node: usize) -> Option<String> {
    state["tickets"][node].as_str().map(str::to_string)
}

/// A node's ticket, from the text of its `cluster-ticket.txt`.
fn parse_ticket(text: &[u8]) -> Option<String> {
    let ticket = String::from_utf8_lossy(text).trim().to_string();
    (!ticket.is_empty()).then_some(ticket)
}

/// A node's endpoint id, from the names in its `discovery/`: the one `*.json` file's stem.
fn parse_endpoint_id(names: &[String]) -> Option<String> {
    let mut ids = names.iter().filter_map(|n| n.strip_suffix(".json"));
    let id = ids.next()?;
    ids.next().is_none().then(|| id.to_string())
}

/// Node `node`'s ticket and endpoint id, once it has written both in `dir` (read where the
/// node runs: on the host, or in its VM), or `None` yet.
async fn identity(
    cluster: &ClusterInfo,
    node: usize,
    dir: &Path,
) -> anyhow::Result<Option<(String, String)>> {
    let (files, dir) = (cluster.files.clone(), dir.to_path_buf());
    let read = tokio::task::spawn_blocking(move || {
        let ticket = files.read(node, &dir.join("cluster-ticket.txt"))?;
        let Some(ticket) = ticket.as_deref().and_then(parse_ticket) else {
            return Ok(None);
        };
        let names = files.list(node, &dir.join("discovery"))?;
        Ok(names
            .as_deref()
            .and_then(parse_endpoint_id)
            .map(|id| (ticket, id)))
    });
    read.await
        .context("the file reader stopped")?
        .map_err(|e: String| anyhow::anyhow!(e))
}

impl Aspen {
    fn dir_of(&self, cluster: &ClusterInfo, node: usize) -> anyhow::Result<PathBuf> {
        self.data_dir(node).with_context(|| {
            format!(
                "aspen node {} was never started by this adapter (its data dir is unknown)",
                cluster.names[node]
            )
        })
    }

    /// Runs the CLI against `ticket` until `done` accepts its run, or fails at `deadline`
    /// saying what the last attempt printed.
    async fn until<T>(
        &self,
        what: &str,
        ticket: &str,
        args: &[&str],
        deadline: Instant,
        done: impl Fn(&Ran) -> Result<T, String>,
    ) -> anyhow::Result<T> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ran = self.cli.run(ticket, args, STEP.min(left)).await;
            let why = match done(&ran) {
                Ok(t) => return Ok(t),
                Err(why) => why,
            };
            if Instant::now() + RETRY >= deadline {
                bail!("aspen: {what}: {why}");
            }
            tracing::debug!(what, %why, "aspen setup step not done yet");
            tokio::time::sleep(RETRY).await;
        }
    }
}

/// Resolves once every node has written its ticket and answers the CLI (healthy, or
/// "not initialised" — which it is, before the setup step).
pub(super) async fn wait_ready(
    aspen: &Aspen,
    cluster: &ClusterInfo,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    for (node, name) in cluster.names.iter().enumerate() {
        let dir = aspen.dir_of(cluster, node)?;
        let ticket = loop {
            // A guest that is still booting does not answer yet: that is not ready either.
            let (found, failed) = match identity(cluster, node, &dir).await {
                Ok(found) => (found, None),
                Err(e) => {
                    tracing::debug!(node = %name, error = %e, "aspen identity not readable yet");
                    (None, Some(e))
                }
            };
            if let Some((t, id)) = found {
                // Kept for the setup step: later, `discovery/` may hold other nodes too.
                aspen
                    .identities
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(node, (t.clone(), id));
                break t;
            }
            if Instant::now() >= deadline {
                let why = failed
                    .map(|e| format!(" (the last read failed: {e})"))
                    .unwrap_or_default();
                bail!(
                    "aspen node {name}: no {}/cluster-ticket.txt and discovery/<id>.json after \
                     {timeout:?}{why}",
                    dir.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        aspen
            .until(
                &format!("node {name} not answering after {timeout:?}"),
                &ticket,
                &["cluster", "health"],
                deadline,
                |ran| {
                    if ran.exit == Some(0) || ran.stderr.contains("NOT_INITIALIZED") {
                        Ok(())
                    } else {
                        Err(ran.summary())
                    }
                },
            )
            .await?;
    }
    Ok(())
}

/// Forms the cluster (see the module docs) and returns the clients' state.
pub(super) async fn form(
    aspen: &Aspen,
    cluster: &ClusterInfo,
    timeout: Duration,
) -> anyhow::Result<Value> {
    let deadline = Instant::now() + timeout;
    let n = cluster.names.len();
    let mut tickets = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    for (node, name) in cluster.names.iter().enumerate() {
        let known = aspen
            .identities
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&node)
            .cloned();
        let (ticket, id) = known
            .with_context(|| format!("aspen: node {name}'s ticket is unknown (not ready?)"))?;
        tickets.push(ticket);
        ids.push(id);
    }
    let first = &tickets[0];
    aspen
        .until("cluster init", first, &["cluster", "init"], deadline, |r| {
            classify::step(r).map(drop)
        })
        .await?;
    for (node, endpoint) in ids.iter().enumerate().skip(1) {
        let addr = json!({
            "id": endpoint,
            "addrs": [{"Ip": format!("{}:{}", cluster.addrs[node], aspen.options.bind_port)}],
        })
        .to_string();
        let id = (node + 1).to_string();
        let args = ["cluster", "add-learner", "--node-id", &id, "--addr", &addr];
        let what = format!("add-learner {} ({})", id, cluster.names[node]);
        aspen
            .until(&what, first, &args, deadline, |r| {
                classify::step(r).map(drop)
            })
            .await?;
    }
    let voters: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
    let mut args = vec!["cluster", "change-membership"];
    args.extend(voters.iter().map(String::as_str));
    aspen
        .until("change-membership", first, &args, deadline, |r| {
            classify::step(r).map(drop)
        })
        .await?;

    // Written through node 1, read back through every node: each serves linearizable reads.
    let set_until_success =
        |key: &'static str| {
            let args = ["kv", "set", key, "1"];
            async move {
                aspen
                    .until(&format!("writing {key}"), first, &args, deadline, |r| {
                        match classify::write(r) {
                            Answer::Done(()) => Ok(()),
                            other => Err(other.to_string()),
                        }
                    })
                    .await
            }
        };
    set_until_success(READY_KEY).await?;
    for (node, ticket) in tickets.iter().enumerate() {
        let what = format!("node {} reading {READY_KEY}", cluster.names[node]);
        aspen
            .until(
                &what,
                ticket,
                &["kv", "get", READY_KEY],
                deadline,
                |r| match classify::read(r) {
                    Answer::Done(_) => Ok(()),
                    other => Err(other.to_string()),
                },
            )
            .await?;
    }
    if aspen.workload == AspenWorkload::Set {
        set_until_success(SET_SENTINEL).await?;
    }
    Ok(json!({ "tickets": tickets }))
}

/// The nodes whose own Raft state says they lead (`cluster metrics` on each node, asked
/// together); a node that does not answer in time is not a primary.
pub(super) async fn primaries(
    aspen: &Aspen,
    cluster: &ClusterInfo,
    state: &Value,
    timeout: Duration,
) -> anyhow::Result<Vec<usize>> {
    let asks = (0..cluster.names.len()).map(|node| async move {
        let Some(ticket) = ticket_of(state, node) else {
            return Err(format!("no ticket for {}", cluster.names[node]));
        };
        let ran = aspen
            .cli
            .run(&ticket, &["cluster", "metrics"], timeout)
            .await;
        classify::leads(&ran).map_err(|e| format!("{}: {e}", cluster.names[node]))
    });
    let answers = futures_join_all(asks).await;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (node, a) in answers.into_iter().enumerate() {
        match a {
            Ok(true) => out.push(node),
            Ok(false) => {}
            Err(e) => errors.push(e),
        }
    }
    if out.is_empty() && errors.len() == cluster.names.len() {
        bail!("no aspen node answered its metrics: {}", errors.join("; "));
    }
    Ok(out)
}

/// Awaits every future, concurrently, in order (a tiny `join_all`, without a new crate).
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *out = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tickets_and_endpoint_ids_are_read_from_the_data_dir() {
        let dir = std::env::temp_dir().join(format!("sqaspen-setup-{}", std::process::id()));
        let cluster = ClusterInfo::new(vec!["n1".into()], vec!["10.0.0.1".parse().unwrap()]);
        assert_eq!(identity(&cluster, 0, &dir).await.unwrap(), None);
        std::fs::create_dir_all(dir.join("discovery")).unwrap();
        assert_eq!(identity(&cluster, 0, &dir).await.unwrap(), None);
        std::fs::write(dir.join("cluster-ticket.txt"), "aspenXYZ\n").unwrap();
        assert_eq!(
            identity(&cluster, 0, &dir).await.unwrap(),
            None,
            "no id yet"
        );
        std::fs::write(dir.join("discovery").join("ab12.json"), "{}").unwrap();
        assert_eq!(
            identity(&cluster, 0, &dir).await.unwrap(),
            Some(("aspenXYZ".into(), "ab12".into()))
        );
        std::fs::write(dir.join("discovery").join("cd34.json"), "{}").unwrap();
        assert_eq!(
            identity(&cluster, 0, &dir).await.unwrap(),
            None,
            "two identities: which one?"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(parse_ticket(b"  \n"), None);
        let state = json!({"tickets": ["t1", "t2"]});
        assert_eq!(ticket_of(&state, 1).as_deref(), Some("t2"));
        assert_eq!(ticket_of(&state, 2), None);
    }

    #[tokio::test]
    async fn join_all_keeps_order() {
        let futs = (0..3u64).map(|i| async move {
            tokio::time::sleep(Duration::from_millis(30 - 10 * i)).await;
            i
        });
        assert_eq!(futures_join_all(futs).await, vec![0, 1, 2]);
    }
}
