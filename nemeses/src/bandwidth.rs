//! Bandwidth: a rate limit on a node's link — a `tbf` qdisc on the hub side of its veth or
//! TAP (the seed document's `tc qdisc add dev ch-tapN root tbf rate 10mbit burst 32kbit
//! latency 400ms`), removed on heal. It shapes what the link carries *towards* the node:
//! requests from clients and messages from peers; what the node sends leaves unshaped (an
//! egress qdisc shapes only its own side of a link, and the node's side of a TAP is a
//! guest's).
//!
//! Its options, in the test file's `[bandwidth]` table, in `tc`'s units:
//! - `rate` (default `"10mbit"`): `bit`, `kbit`, `mbit`, `gbit` (powers of 1000), or bytes
//!   per second as `bps`, `kbps`, `mbps`;
//! - `burst` (default `"32kbit"`): the bucket, `b`, `kb`, `mb`, `kbit`, `mbit` (powers of
//!   1024, as `tc` reads sizes);
//! - `latency` (default `"400ms"`): how long a packet may queue, `us`, `ms`, `s`;
//! - `targets` ([`NodeOptions`]).

use crate::nemesis::Nemesis;
use crate::nodes::{NodeOptions, NodeSet, Targets};
use crate::target::{Capability, FaultTarget, NemesisError, RateLimit};
use serde::{Deserialize, Serialize};
use workloads::Rng;

/// The bandwidth nemesis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bandwidth {
    limit: RateLimit,
    nodes: NodeOptions,
}

impl Default for Bandwidth {
    fn default() -> Self {
        Bandwidth {
            limit: RateLimit {
                rate_bits: 10_000_000,
                burst_bytes: 32 * 1024 / 8,
                latency_us: 400_000,
            },
            nodes: NodeOptions::default(),
        }
    }
}

/// The `[bandwidth]` table.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Options {
    rate: Option<String>,
    burst: Option<String>,
    latency: Option<String>,
    targets: Vec<Targets>,
}

/// One bandwidth fault: which nodes' links, at which limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandwidthParams {
    /// The nodes.
    pub on: NodeSet,
    /// The limit on each of their links.
    pub limit: RateLimit,
}

impl Nemesis for Bandwidth {
    type Params = BandwidthParams;

    fn name(&self) -> &'static str {
        "bandwidth"
    }

    fn generate(&self, rng: &mut Rng, nodes: usize) -> BandwidthParams {
        BandwidthParams {
            on: self.nodes.draw(rng, nodes),
            limit: self.limit,
        }
    }

    fn describe(&self, p: &BandwidthParams, names: &[String]) -> String {
        let l = &p.limit;
        format!(
            "bandwidth {}: tbf rate {} burst {}b latency {}ms",
            p.on.describe(names),
            rate_text(l.rate_bits),
            l.burst_bytes,
            l.latency_us as f64 / 1000.0
        )
    }

    fn start(&self, p: &BandwidthParams, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        for &n in &p.on.nodes {
            target.rate_limit(n, &p.limit)?;
        }
        Ok(())
    }

    fn heal(&self, p: &BandwidthParams, target: &dyn FaultTarget) -> Result<(), NemesisError> {
        let mut first_err = None;
        for &n in &p.on.nodes {
            if let Err(e) = target.unlimit(n) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn with_options(&self, options: &serde_json::Value) -> Result<Self, NemesisError> {
        let o: Options = crate::nemesis::read_options("bandwidth", options)?;
        let bad = |key: &str, v: &str, want: &str| NemesisError::Options {
            nemesis: "bandwidth".into(),
            cause: format!("{key} = {v:?}: want {want}"),
        };
        let mut b = Bandwidth::default();
        if let Some(v) = &o.rate {
            b.limit.rate_bits = parse_rate(v)
                .filter(|&r| r >= 8)
                .ok_or_else(|| bad("rate", v, "a rate such as \"10mbit\" or \"500kbps\""))?;
        }
        if let Some(v) = &o.burst {
            b.limit.burst_bytes = parse_size(v)
                .filter(|&s| s > 0)
                .and_then(|s| u32::try_from(s).ok())
                .ok_or_else(|| bad("burst", v, "a size such as \"32kbit\" or \"4kb\""))?;
        }
        if let Some(v) = &o.latency {
            b.limit.latency_us =
                parse_time_us(v).ok_or_else(|| bad("latency", v, "a time such as \"400ms\""))?;
        }
        b.nodes = NodeOptions { targets: o.targets };
        Ok(b)
    }

    fn resolve(
        &self,
        p: &BandwidthParams,
        target: &dyn FaultTarget,
    ) -> Result<BandwidthParams, NemesisError> {
        Ok(BandwidthParams {
            on: p.on.resolve(target)?,
            limit: p.limit,
        })
    }

    fn needs_primaries(&self) -> bool {
        self.nodes.needs_primaries()
    }

    fn needs(&self) -> Vec<Capability> {
        vec![Capability::Qdisc("tbf")]
    }
}

/// `"10mbit"` → 10 000 000 (bits per second), as `tc` reads rates.
fn parse_rate(s: &str) -> Option<u64> {
    let (n, unit) = split_number(s)?;
    let bits = match unit {
        "bit" => 1.0,
        "kbit" => 1e3,
        "mbit" => 1e6,
        "gbit" => 1e9,
        "bps" => 8.0,
        "kbps" => 8e3,
        "mbps" => 8e6,
        _ => return None,
    };
    Some((n * bits).round() as u64)
}

/// `"32kbit"` → 4096 (bytes), as `tc` reads sizes (powers of 1024).
fn parse_size(s: &str) -> Option<u64> {
    let (n, unit) = split_number(s)?;
    let bytes = match unit {
        "" | "b" => 1.0,
        "kb" => 1024.0,
        "mb" => 1024.0 * 1024.0,
        "kbit" => 1024.0 / 8.0,
        "mbit" => 1024.0 * 1024.0 / 8.0,
        _ => return None,
    };
    Some((n * bytes).round() as u64)
}

/// `"400ms"` → 400 000 (microseconds).
fn parse_time_us(s: &str) -> Option<u64> {
    let (n, unit) = split_number(s)?;
    let us = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        _ => return None,
    };
    Some((n * us).round() as u64)
}

/// `"2.5mbit"` → `(2.5, "mbit")`; the number must be finite and not negative.
fn split_number(s: &str) -> Option<(f64, &str)> {
    let s = s.trim();
    let at = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let n: f64 = s[..at].parse().ok()?;
    (n.is_finite() && n >= 0.0).then_some((n, s[at..].trim()))
}

/// 10 000 000 → `10mbit`.
fn rate_text(bits: u64) -> String {
    for (unit, div) in [
        ("gbit", 1_000_000_000),
        ("mbit", 1_000_000),
        ("kbit", 1_000),
    ] {
        if bits >= div && bits % div == 0 {
            return format!("{}{unit}", bits / div);
        }
    }
    format!("{bits}bit")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_default_is_the_seed_documents_limit() {
        let b = Bandwidth::default();
        let p = b.generate(&mut Rng::new(1, 0), 3);
        let names = ["n1", "n2", "n3"].map(String::from);
        let d = b.describe(&p, &names);
        assert!(
            d.ends_with(": tbf rate 10mbit burst 4096b latency 400ms"),
            "{d}"
        );
        assert_eq!(p.limit.rate_bytes(), 1_250_000);
        // tc's limit from latency: rate × latency + burst.
        assert_eq!(p.limit.limit_bytes(), 500_000 + 4096);
    }

    #[test]
    fn options_read_tc_units_and_reject_nonsense() {
        let b = Bandwidth::default()
            .with_options(&json!({"rate": "500kbps", "burst": "4kb", "latency": "1s",
                                  "targets": ["majority"]}))
            .unwrap();
        let p = b.generate(&mut Rng::new(1, 0), 5);
        assert_eq!(
            p.limit,
            RateLimit {
                rate_bits: 4_000_000,
                burst_bytes: 4096,
                latency_us: 1_000_000
            }
        );
        assert_eq!(p.on.nodes.len(), 3);
        assert_eq!(parse_rate("1.5mbit"), Some(1_500_000));
        assert_eq!(parse_size("32kbit"), Some(4096));
        assert_eq!(parse_time_us("250us"), Some(250));
        for (opts, want) in [
            (
                json!({"rate": "fast"}),
                "[bandwidth]: rate = \"fast\": want a rate",
            ),
            (
                json!({"rate": "10mb"}),
                "[bandwidth]: rate = \"10mb\": want a rate",
            ),
            (
                json!({"burst": "0b"}),
                "[bandwidth]: burst = \"0b\": want a size",
            ),
            (
                json!({"latency": "-1ms"}),
                "[bandwidth]: latency = \"-1ms\": want",
            ),
            (json!({"speed": 1}), "[bandwidth]: unknown field `speed`"),
        ] {
            let e = Bandwidth::default().with_options(&opts).unwrap_err();
            assert!(e.to_string().starts_with(want), "{opts}: {e}");
        }
    }
}
