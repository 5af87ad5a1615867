//! The set and bank workloads on etcd (the register workload is in `etcd.rs` itself).
//!
//! - set: element `e` is the key `squall-set/<e>` (value `1`); `add` is a put, `read` a
//!   range over the prefix — one range is one consistent snapshot of the store.
//! - bank: account `a` is the key `squall-bank/<a>`, its balance a decimal string; `init`
//!   puts every account in one txn; `read` is a range over the prefix (a snapshot: all
//!   balances at one revision); `transfer` reads both accounts, then commits a txn that
//!   writes both new balances only if both still hold what was read (compare by value), so a
//!   concurrent transfer makes it fail, certainly unapplied, rather than lose money.
//!
//! Outcomes follow the module's rule: a read's failure is a `Fail`; a write's is a `Fail`
//! only when it certainly did not take effect, else `Info`. A transfer whose first reads
//! fail, whose source lacks the funds, or whose compare was false wrote nothing: `Fail`.

use super::{write_failure, EtcdClient, Failure, RangeResponse, TxnResponse, B64};
use base64::Engine as _;
use serde_json::json;
use workloads::{BankOp, Op, Outcome, SetOp};

const SET_PREFIX: &str = "squall-set/";
const BANK_PREFIX: &str = "squall-bank/";

/// The end of the range of keys starting with `prefix` (its last byte plus one).
fn prefix_end(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    let last = bytes.last_mut().expect("a prefix");
    *last += 1;
    String::from_utf8(bytes).expect("ASCII prefix")
}

impl EtcdClient {
    /// Every key under `prefix`, without it, with its value (both decoded).
    async fn range_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>, Failure> {
        let body = json!({
            "key": B64.encode(prefix),
            "range_end": B64.encode(prefix_end(prefix)),
            "serializable": self.read_mode == super::ReadMode::Serializable,
        });
        let bytes = self.call("kv/range", &body).await?;
        let resp: RangeResponse = serde_json::from_slice(&bytes)
            .map_err(|e| Failure::Unknown(format!("unparseable range response: {e}")))?;
        let decode = |b64: &str| -> Result<String, Failure> {
            let raw = B64
                .decode(b64)
                .map_err(|e| Failure::Unknown(format!("{b64:?} is not base64: {e}")))?;
            Ok(String::from_utf8_lossy(&raw).into_owned())
        };
        resp.kvs
            .iter()
            .map(|kv| {
                let key = decode(&kv.key)?;
                let key = key.strip_prefix(prefix).unwrap_or(&key).to_string();
                Ok((key, decode(&kv.value)?))
            })
            .collect()
    }

    /// A set op.
    pub(super) async fn set_op(&self, op: &Op, typed: SetOp) -> Outcome {
        match typed {
            SetOp::Add(e) => match self.put(&format!("{SET_PREFIX}{e}"), 1).await {
                Ok(()) => Outcome::Ok(op.value.clone()),
                Err(e) => write_failure(e),
            },
            SetOp::Read => match self.range_prefix(SET_PREFIX).await {
                Ok(kvs) => {
                    let elements: Result<Vec<u64>, _> =
                        kvs.iter().map(|(k, _)| k.parse::<u64>()).collect();
                    match elements {
                        Ok(elements) => Outcome::Ok(SetOp::read_value(elements)),
                        Err(_) => Outcome::Fail(format!("a set key is not an element: {kvs:?}")),
                    }
                }
                Err(e) => Outcome::Fail(e.to_string()),
            },
        }
    }

    /// A bank op.
    pub(super) async fn bank_op(&self, op: &Op, typed: BankOp) -> Outcome {
        let account = |a: u64| format!("{BANK_PREFIX}{a}");
        match typed {
            BankOp::Init(balances) => {
                let puts: Vec<_> = balances
                    .iter()
                    .map(|(a, b)| {
                        json!({"request_put": {
                            "key": B64.encode(account(*a)),
                            "value": B64.encode(b.to_string()),
                        }})
                    })
                    .collect();
                match self.call("kv/txn", &json!({ "success": puts })).await {
                    Ok(_) => Outcome::Ok(op.value.clone()),
                    Err(e) => write_failure(e),
                }
            }
            BankOp::Read => match self.range_prefix(BANK_PREFIX).await {
                Ok(kvs) => {
                    let balances: Option<Vec<(u64, i64)>> = kvs
                        .iter()
                        .map(|(k, v)| Some((k.parse().ok()?, v.parse().ok()?)))
                        .collect();
                    match balances {
                        Some(b) => Outcome::Ok(BankOp::balances_value(&b)),
                        None => Outcome::Fail(format!("unreadable balances: {kvs:?}")),
                    }
                }
                Err(e) => Outcome::Fail(e.to_string()),
            },
            BankOp::Transfer { from, to, amount } => {
                let (from_key, to_key) = (account(from), account(to));
                let (old_from, old_to) =
                    match (self.range(&from_key).await, self.range(&to_key).await) {
                        (Ok(Some(a)), Ok(Some(b))) => (a, b),
                        (Ok(_), Ok(_)) => return Outcome::Fail("no such account".into()),
                        (Err(e), _) | (_, Err(e)) => return Outcome::Fail(e.to_string()),
                    };
                if old_from < amount {
                    return Outcome::Fail("insufficient funds".into());
                }
                let compare = |key: &str, v: i64| {
                    json!({"key": B64.encode(key), "target": "VALUE", "result": "EQUAL",
                           "value": B64.encode(v.to_string())})
                };
                let put = |key: &str, v: i64| json!({"request_put": {"key": B64.encode(key), "value": B64.encode(v.to_string())}});
                let body = json!({
                    "compare": [compare(&from_key, old_from), compare(&to_key, old_to)],
                    "success": [put(&from_key, old_from - amount), put(&to_key, old_to + amount)],
                });
                let resp = match self.call("kv/txn", &body).await {
                    Ok(bytes) => bytes,
                    Err(e) => return write_failure(e),
                };
                // The txn was executed; only its answer says which branch. Without it, unknown.
                match serde_json::from_slice::<TxnResponse>(&resp) {
                    Ok(r) if r.succeeded => Outcome::Ok(op.value.clone()),
                    Ok(_) => Outcome::Fail("a balance changed since it was read".into()),
                    Err(e) => Outcome::Info(format!("unparseable txn response: {e}")),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_range_ends_after_its_last_byte() {
        assert_eq!(prefix_end("squall-set/"), "squall-set0");
        assert_eq!(prefix_end("a"), "b");
    }
}
