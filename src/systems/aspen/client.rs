//! The Aspen client: register and set ops as `aspen-cli kv ...` runs against one node (its
//! own ticket), and how each [`Answer`](super::classify::Answer) becomes an outcome.
//!
//! # Register (`cas-register`)
//!
//! Register `k` is the key `squall-<k>`, its value the decimal string.
//!
//! - `read`: `kv get`. `ok` with the value only when the CLI printed one. Anything else is
//!   `info`: a read changes nothing, so an unknown read constrains nothing in the checker —
//!   and `"does_exist":false` is never reported as a read of nil: the workload writes every
//!   key in its setup phase, and a failed ReadIndex prints exactly that.
//! - `write`: `kv set`. `ok` on `"status":"success"`, `fail` on a definite refusal, else
//!   `info` (see [`super::classify`] for why a timeout, an exit 1 and `"failed"` are all
//!   unknown: the CLI retries and the server hides its errors).
//! - `cas`: a linearizable `kv get` first, then `kv cas --expected OLD --new-value NEW`.
//!   The CLI's "conflict" cannot be told from a masked failure, so a CAS sent and answered
//!   "conflict" is `info`. The read before it is what makes a `fail` honest: when it shows a
//!   value other than `old`, the compare is false at that read's instant — inside the op's
//!   interval — so the op is a CAS that failed there, and no CAS is sent at all (`fail`:
//!   certainly no effect). A read that gives no value sends no CAS either (`fail`). Only
//!   a read of `old` sends the CAS; its success is `ok`, anything else `info`.
//!
//! The cas-register workload draws its values from a small range (`0..5`, so that CAS often
//! succeeds), so values are not unique: a write the CLI retried and the server applied
//! twice is visible to the checker only when another value was written in between (it then
//! reverts the register, which no linearization allows).
//!
//! # Set (`set`)
//!
//! Element `e` is the key `squall-set/<e>` (value `1`); the setup hook writes the key
//! [`SET_SENTINEL`] too. `add` is a `kv set` (classified like a write; elements are unique,
//! so an add applied twice writes the same key twice, harmlessly). `read` is `kv scan
//! squall-set/` (linearizable on the server: ReadIndex before scanning), paged with its
//! continuation token. A failed scan prints no entries, so a read that does not find the
//! sentinel is `info`, never an empty set. A read of several pages is not one snapshot,
//! but every page is taken after the read began and before it ended, and elements are
//! only added: each element added before the read began is in it, and each element in it
//! was added before it ended — what the set checker asks of a read.
//!
//! # Bank
//!
//! Not served: a transfer must change two balances atomically and only if both still hold
//! what was read. Aspen's client API has a conditional batch write, but `aspen-cli` does not
//! offer it (its `kv batch-write` is unconditional, and `kv batch-read` reads each key on its
//! own and reports a failed key as absent).

use super::classify::{self, Answer};
use super::cli::Cli;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use workloads::{BoxFuture, Client, Op, Outcome, RegisterOp, SetOp};

/// The prefix of the set's keys.
pub const SET_PREFIX: &str = "squall-set/";
/// The key the setup hook writes under [`SET_PREFIX`]: a scan that does not find it failed.
pub const SET_SENTINEL: &str = "squall-set/sentinel";
/// How many keys one scan page asks for (Aspen's maximum is 10 000).
const SCAN_PAGE: &str = "10000";

/// The op vocabularies Aspen's client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AspenWorkload {
    /// `register`: [`workloads::RegisterOp`].
    Register,
    /// `set`: [`workloads::SetOp`].
    Set,
}

impl std::str::FromStr for AspenWorkload {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        Ok(match s {
            "register" => AspenWorkload::Register,
            "set" => AspenWorkload::Set,
            "bank" => anyhow::bail!(
                "aspen has no client for bank ops: a transfer needs a conditional multi-key \
                 write, which aspen-cli does not offer (it speaks register, set)"
            ),
            other => {
                anyhow::bail!("aspen has no client for {other:?} ops (it speaks register, set)")
            }
        })
    }
}

/// A client bound to one node: every op runs `aspen-cli` with that node's ticket.
pub struct AspenClient {
    pub(super) cli: Arc<Cli>,
    pub(super) ticket: String,
    pub(super) workload: AspenWorkload,
    /// The whole op's budget (a CAS shares it between its read and its CAS).
    pub(super) timeout: Duration,
}

fn register_key(key: u64) -> String {
    format!("squall-{key}")
}

/// A write's answer as an outcome: `fail` only when certainly not applied.
fn write_outcome(op: &Op, answer: Answer<()>) -> Outcome {
    match answer {
        Answer::Done(()) => Outcome::Ok(op.value.clone()),
        Answer::NotApplied(why) => Outcome::Fail(why),
        Answer::Unknown(why) => Outcome::Info(why),
    }
}

impl AspenClient {
    async fn cli(&self, args: &[&str], deadline: Instant) -> classify::Ran {
        let left = deadline.saturating_duration_since(Instant::now());
        self.cli.run(&self.ticket, args, left).await
    }

    /// The register's value, parsed.
    async fn get(&self, key: &str, deadline: Instant) -> Answer<i64> {
        match classify::read(&self.cli(&["kv", "get", key], deadline).await) {
            Answer::Done(text) => match text.parse() {
                Ok(v) => Answer::Done(v),
                Err(_) => Answer::Unknown(format!("aspen: value {text:?} is not an integer")),
            },
            Answer::NotApplied(why) => Answer::NotApplied(why),
            Answer::Unknown(why) => Answer::Unknown(why),
        }
    }

    async fn register_op(&self, op: &Op, typed: RegisterOp) -> Outcome {
        let deadline = Instant::now() + self.timeout;
        let key = register_key(typed.key());
        match typed {
            RegisterOp::Read { key: k } => match self.get(&key, deadline).await {
                Answer::Done(v) => Outcome::Ok(RegisterOp::read_value(k, Some(v))),
                // A read has no effect: unknown and refused alike constrain nothing.
                Answer::NotApplied(why) | Answer::Unknown(why) => Outcome::Info(why),
            },
            RegisterOp::Write { value, .. } => {
                let value = value.to_string();
                let ran = self.cli(&["kv", "set", &key, &value], deadline).await;
                write_outcome(op, classify::write(&ran))
            }
            RegisterOp::Cas { old, new, .. } => {
                // The read first: see the module docs for why its answer may decide the op.
                match self.get(&key, deadline).await {
                    Answer::Done(v) if v != old => {
                        return Outcome::Fail(format!("cas compare false: read {v} (no cas sent)"))
                    }
                    Answer::Done(_) => {}
                    Answer::NotApplied(why) | Answer::Unknown(why) => {
                        return Outcome::Fail(format!("read before the cas: {why} (no cas sent)"))
                    }
                }
                let (old, new) = (old.to_string(), new.to_string());
                let args = ["kv", "cas", &key, "--expected", &old, "--new-value", &new];
                match classify::cas(&self.cli(&args, deadline).await) {
                    Answer::Done(_) => Outcome::Ok(op.value.clone()),
                    Answer::NotApplied(why) => Outcome::Fail(why),
                    Answer::Unknown(why) => Outcome::Info(why),
                }
            }
        }
    }

    async fn set_op(&self, op: &Op, typed: SetOp) -> Outcome {
        let deadline = Instant::now() + self.timeout;
        match typed {
            SetOp::Add(e) => {
                let key = format!("{SET_PREFIX}{e}");
                let ran = self.cli(&["kv", "set", &key, "1"], deadline).await;
                write_outcome(op, classify::write(&ran))
            }
            SetOp::Read => match self.scan_set(deadline).await {
                Ok(elements) => Outcome::Ok(SetOp::read_value(elements)),
                Err(why) => Outcome::Info(why),
            },
        }
    }

    /// Every element of the set (see the module docs), or why not.
    async fn scan_set(&self, deadline: Instant) -> Result<Vec<u64>, String> {
        let mut elements = Vec::new();
        let mut sentinel = false;
        let mut token: Option<String> = None;
        loop {
            let mut args = vec!["kv", "scan", SET_PREFIX, "--limit", SCAN_PAGE];
            if let Some(t) = &token {
                args.extend(["--token", t.as_str()]);
            }
            let page = match classify::scan(&self.cli(&args, deadline).await) {
                Answer::Done(page) => page,
                Answer::NotApplied(why) | Answer::Unknown(why) => return Err(why),
            };
            for key in &page.keys {
                if key == SET_SENTINEL {
                    sentinel = true;
                    continue;
                }
                let e = key
                    .strip_prefix(SET_PREFIX)
                    .and_then(|e| e.parse::<u64>().ok())
                    .ok_or_else(|| format!("aspen: a set key is not an element: {key:?}"))?;
                elements.push(e);
            }
            match page.next {
                Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                _ => break,
            }
        }
        if !sentinel {
            return Err(format!(
                "aspen: scan without {SET_SENTINEL} (a failed scan prints no entries)"
            ));
        }
        Ok(elements)
    }
}

impl Client for AspenClient {
    fn invoke<'a>(&'a self, op: &'a Op) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let unsupported =
                |why: String| Outcome::Fail(format!("unsupported by aspen's client: {why}"));
            let outcome = match self.workload {
                AspenWorkload::Register => match RegisterOp::from_op(op) {
                    Ok(typed) => self.register_op(op, typed).await,
                    Err(why) => unsupported(why),
                },
                AspenWorkload::Set => match SetOp::from_op(op) {
                    Ok(typed) => self.set_op(op, typed).await,
                    Err(why) => unsupported(why),
                },
            };
            if !matches!(outcome, Outcome::Ok(_)) {
                tracing::debug!(f = %op.f, value = %op.value, ?outcome, "aspen op");
            }
            outcome
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A client whose "aspen-cli" is a shell script answering from a table of files: the
    /// mapping from answers to outcomes, per op.
    struct Fake {
        dir: std::path::PathBuf,
    }

    impl Fake {
        /// `script` is the body of the fake CLI (`$1` onwards are the kv args: `get KEY`, ...).
        fn new(tag: &str, script: &str) -> (Fake, AspenClient) {
            use std::os::unix::fs::PermissionsExt as _;
            let dir = std::env::temp_dir().join(format!("sqaspen-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("aspen-cli");
            std::fs::write(
                &path,
                format!("#!/bin/sh\nD={}\nshift 6\n{script}\n", dir.display()),
            )
            .unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            let client = AspenClient {
                cli: Arc::new(Cli::new(path)),
                ticket: "aspenT".into(),
                workload: AspenWorkload::Register,
                timeout: Duration::from_secs(5),
            };
            (Fake { dir }, client)
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn read(key: u64) -> Op {
        RegisterOp::Read { key }.to_op()
    }

    fn cas(key: u64, old: i64, new: i64) -> Op {
        RegisterOp::Cas { key, old, new }.to_op()
    }

    /// A register store in files; `kv cas` always answers "conflict" for key 2 (a masked
    /// failure), `kv set` of 13 prints "failed", reads of key 3 print does_exist false.
    const STORE: &str = r#"
case "$2" in squall-3) K=none;; *) K="$2";; esac
case "$1" in
get) if [ -f "$D/$K" ]; then printf '{"does_exist":true,"key":"%s","value":"%s"}\n' "$2" "$(cat "$D/$K")";
     else printf '{"does_exist":false,"key":"%s","value":null}\n' "$2"; fi;;
set) if [ "$3" = 13 ]; then echo '{"key":"x","status":"failed"}'; exit 0; fi
     printf %s "$3" > "$D/$2"; echo '{"key":"x","status":"success"}';;
cas) if [ "$2" != squall-2 ] && [ "$(cat "$D/$2")" = "$4" ]; then printf %s "$6" > "$D/$2";
     echo '{"is_success":true,"key":"x","status":"success"}';
     else echo '{"is_success":false,"key":"x","status":"conflict"}'; fi;;
esac"#;

    #[tokio::test]
    async fn register_outcomes() {
        let (_fake, client) = Fake::new("reg", STORE);
        let write = |key, value| RegisterOp::Write { key, value }.to_op();
        for k in [1, 2] {
            assert_eq!(
                client.invoke(&write(k, 0)).await,
                Outcome::Ok(json!([k, 0]))
            );
        }
        assert_eq!(client.invoke(&read(1)).await, Outcome::Ok(json!([1, 0])));
        // Never a read of nil.
        assert!(matches!(client.invoke(&read(3)).await, Outcome::Info(_)));
        assert!(matches!(
            client.invoke(&write(1, 13)).await,
            Outcome::Info(_)
        ));
        assert_eq!(
            client.invoke(&cas(1, 0, 4)).await,
            Outcome::Ok(json!([1, [0, 4]]))
        );
        // The read before shows 4: certainly a failed compare, and no cas was sent.
        assert_eq!(
            client.invoke(&cas(1, 0, 2)).await,
            Outcome::Fail("cas compare false: read 4 (no cas sent)".into())
        );
        // The read shows 0 = old, the cas answers "conflict": unknown.
        assert!(matches!(
            client.invoke(&cas(2, 0, 1)).await,
            Outcome::Info(_)
        ));
        // No value read: no cas sent.
        assert!(matches!(
            client.invoke(&cas(3, 0, 1)).await,
            Outcome::Fail(_)
        ));
        let set_op = SetOp::Add(1).to_op();
        assert!(matches!(client.invoke(&set_op).await, Outcome::Fail(_)));
    }

    #[tokio::test]
    async fn set_reads_need_the_sentinel_and_follow_pages() {
        let script = r#"
case "$1" in
set) echo '{"key":"x","status":"success"}';;
scan) if [ -f "$D/empty" ]; then echo '{"count":0,"entries":[],"continuation_token":null}'; exit 0; fi
      if [ "$5" = "--token" ]; then
        echo '{"count":2,"entries":[{"key":"squall-set/7","value":"1"},{"key":"squall-set/sentinel","value":"1"}],"continuation_token":null}'
      else
        echo '{"count":2,"entries":[{"key":"squall-set/1","value":"1"},{"key":"squall-set/12","value":"1"}],"continuation_token":"squall-set/12"}'
      fi;;
esac"#;
        let (fake, mut client) = Fake::new("set", script);
        client.workload = AspenWorkload::Set;
        assert_eq!(
            client.invoke(&SetOp::Add(7).to_op()).await,
            Outcome::Ok(json!(7))
        );
        assert_eq!(
            client.invoke(&SetOp::Read.to_op()).await,
            Outcome::Ok(json!([1, 7, 12]))
        );
        std::fs::write(fake.dir.join("empty"), "").unwrap();
        assert!(matches!(
            client.invoke(&SetOp::Read.to_op()).await,
            Outcome::Info(_)
        ));
    }

    #[test]
    fn bank_is_refused_with_the_reason() {
        let e = "bank".parse::<AspenWorkload>().unwrap_err().to_string();
        assert!(e.contains("conditional multi-key write"), "{e}");
        assert_eq!("set".parse::<AspenWorkload>().unwrap(), AspenWorkload::Set);
    }
}
