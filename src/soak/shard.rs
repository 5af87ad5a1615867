//! A shard of a soak: `--shard I/N` (1-based) runs positions `I-1`, `I-1+N`, ... of the
//! seed sequence, so N shards run every seed exactly once between them, on as many machines
//! as an existing engine gives (squall has no scheduler of its own).
//!
//! Unset, the shard comes from the engine's environment: Kubernetes Indexed Jobs set
//! `JOB_COMPLETION_INDEX` (0-based; the count is the job's `completions`, given to squall as
//! `--shards N` since the pod is not told it), GitLab's `parallel:` sets `CI_NODE_INDEX`
//! (1-based) and `CI_NODE_TOTAL`.

use std::fmt;

/// One shard of N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: u64,
    /// How many shards the soak has.
    pub total: u64,
}

impl Shard {
    /// The whole soak: shard 1 of 1.
    pub const WHOLE: Shard = Shard { index: 1, total: 1 };

    /// `index` of `total` (1-based), or why not.
    pub fn new(index: u64, total: u64) -> Result<Shard, String> {
        if total == 0 {
            return Err("0 shards".into());
        }
        if index == 0 || index > total {
            return Err(format!("shard {index} of {total}: want 1 to {total}"));
        }
        Ok(Shard { index, total })
    }

    /// Parses `--shard I/N`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| "want I/N, e.g. 2/5".to_string())?;
        let num = |t: &str| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("{t:?} is not a number (want I/N, e.g. 2/5)"))
        };
        Shard::new(num(i)?, num(n)?)
    }

    /// The shard from `--shard`, else from the environment (`env` looks a variable up):
    /// `JOB_COMPLETION_INDEX` with `shards` (`--shards N`), then `CI_NODE_INDEX` and
    /// `CI_NODE_TOTAL`; else the whole soak. Errors name the variable or flag at fault.
    pub fn resolve(
        flag: Option<Shard>,
        shards: Option<u64>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Shard, String> {
        if let Some(s) = flag {
            return Ok(s);
        }
        let var = |name: &str| -> Result<Option<u64>, String> {
            match env(name) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| format!("{name}={v:?}: not a number")),
            }
        };
        if let Some(i) = var("JOB_COMPLETION_INDEX")? {
            let n = shards.ok_or_else(|| {
                format!(
                    "JOB_COMPLETION_INDEX={i} is set but not --shards N (the Job's completions)"
                )
            })?;
            return Shard::new(i + 1, n)
                .map_err(|e| format!("JOB_COMPLETION_INDEX={i} with --shards {n}: {e}"));
        }
        if let Some(i) = var("CI_NODE_INDEX")? {
            let n = var("CI_NODE_TOTAL")?
                .ok_or_else(|| format!("CI_NODE_INDEX={i} is set but not CI_NODE_TOTAL"))?;
            return Shard::new(i, n)
                .map_err(|e| format!("CI_NODE_INDEX={i}, CI_NODE_TOTAL={n}: {e}"));
        }
        if let Some(n) = shards {
            return Err(format!(
                "--shards {n} without JOB_COMPLETION_INDEX: say which with --shard I/{n}"
            ));
        }
        Ok(Shard::WHOLE)
    }

    /// Whether position `position` (0-based) of the seed sequence is this shard's.
    pub fn owns(self, position: u64) -> bool {
        position % self.total == self.index - 1
    }

    /// Whether this is the whole soak.
    pub fn is_whole(self) -> bool {
        self.total == 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn shards_split_every_position_exactly_once() {
        for total in 1..=7u64 {
            for position in 0..50u64 {
                let owners: Vec<u64> = (1..=total)
                    .filter(|&i| Shard::new(i, total).unwrap().owns(position))
                    .collect();
                assert_eq!(owners.len(), 1, "position {position} of {total} shards");
            }
        }
        let s = Shard::parse("2/3").unwrap();
        let mine: Vec<u64> = (0..10).filter(|&p| s.owns(p)).collect();
        assert_eq!(mine, [1, 4, 7]);
        assert!((0..10).all(|p| Shard::WHOLE.owns(p)));
    }

    #[test]
    fn bad_shards_say_what_is_wrong() {
        assert_eq!(
            Shard::parse("0/3").unwrap_err(),
            "shard 0 of 3: want 1 to 3"
        );
        assert_eq!(
            Shard::parse("4/3").unwrap_err(),
            "shard 4 of 3: want 1 to 3"
        );
        assert_eq!(Shard::parse("1/0").unwrap_err(), "0 shards");
        assert_eq!(Shard::parse("3").unwrap_err(), "want I/N, e.g. 2/5");
        assert_eq!(
            Shard::parse("a/3").unwrap_err(),
            "\"a\" is not a number (want I/N, e.g. 2/5)"
        );
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn the_engines_environment_gives_the_shard() {
        let none = env(&[]);
        assert_eq!(Shard::resolve(None, None, &none), Ok(Shard::WHOLE));
        // The flag wins over the environment.
        let k8s = env(&[("JOB_COMPLETION_INDEX", "0")]);
        let flag = Shard::new(3, 4).unwrap();
        assert_eq!(Shard::resolve(Some(flag), Some(9), &k8s), Ok(flag));
        // Kubernetes: 0-based index, the count from --shards.
        assert_eq!(
            Shard::resolve(None, Some(3), &k8s),
            Ok(Shard::new(1, 3).unwrap())
        );
        let last = env(&[("JOB_COMPLETION_INDEX", "2")]);
        assert_eq!(
            Shard::resolve(None, Some(3), &last),
            Ok(Shard::new(3, 3).unwrap())
        );
        assert_eq!(
            Shard::resolve(None, None, &k8s).unwrap_err(),
            "JOB_COMPLETION_INDEX=0 is set but not --shards N (the Job's completions)"
        );
        assert_eq!(
            Shard::resolve(None, Some(2), &last).unwrap_err(),
            "JOB_COMPLETION_INDEX=2 with --shards 2: shard 3 of 2: want 1 to 2"
        );
        // GitLab: 1-based index and total.
        let gitlab = env(&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "4")]);
        assert_eq!(
            Shard::resolve(None, None, &gitlab),
            Ok(Shard::new(2, 4).unwrap())
        );
        let half = env(&[("CI_NODE_INDEX", "2")]);
        assert_eq!(
            Shard::resolve(None, None, &half).unwrap_err(),
            "CI_NODE_INDEX=2 is set but not CI_NODE_TOTAL"
        );
        let bad = env(&[("CI_NODE_INDEX", "x"), ("CI_NODE_TOTAL", "4")]);
        assert_eq!(
            Shard::resolve(None, None, &bad).unwrap_err(),
            "CI_NODE_INDEX=\"x\": not a number"
        );
        assert_eq!(
            Shard::resolve(None, Some(3), &none).unwrap_err(),
            "--shards 3 without JOB_COMPLETION_INDEX: say which with --shard I/3"
        );
    }
}
