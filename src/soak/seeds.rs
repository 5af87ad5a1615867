//! Which seeds a soak runs: `--seeds 1..200` (inclusive ranges and single seeds, comma
//! separated: `1..50,77`), `--count N` seeds from a base seed, or, with `--for` alone, seeds
//! from the base on until the time is up.
//!
//! The seeds form a sequence; a shard ([`super::Shard`]) takes every N-th position of it, so
//! shards of one soak never share a seed and together run exactly the single soak's seeds.

use std::fmt;

/// The soak's sequence of seeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seeds {
    /// These seeds, in this order (no repeats).
    List(Vec<u64>),
    /// `base`, `base + 1`, ... without end (a soak bounded by `--for`).
    From(u64),
}

/// Seeds in a `--seeds` list at most: more is a typo (`1..10000000000`), not a soak.
pub const MAX_LISTED: u64 = 10_000_000;

impl Seeds {
    /// Parses `--seeds`: `1..200`, `7`, `1..50,77,100..120` (ranges include both ends; the
    /// order is kept, a seed named twice runs once).
    pub fn parse(s: &str) -> Result<Seeds, String> {
        let mut out: Vec<u64> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        if s.trim().is_empty() {
            return Err("empty (e.g. 1..200, or 1..50,77)".into());
        }
        for part in s.split(',') {
            let part = part.trim();
            let num = |t: &str| {
                t.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("{t:?} is not a seed (a whole number ≥ 0)"))
            };
            let (lo, hi) = match part.split_once("..") {
                Some((a, b)) => {
                    let b = b.strip_prefix('=').unwrap_or(b);
                    (num(a)?, num(b)?)
                }
                None => {
                    let n = num(part)?;
                    (n, n)
                }
            };
            if lo > hi {
                return Err(format!("{part}: the range is empty (write it low..high)"));
            }
            if (hi - lo).saturating_add(out.len() as u64) >= MAX_LISTED {
                return Err(format!("over {MAX_LISTED} seeds"));
            }
            for seed in lo..=hi {
                if seen.insert(seed) {
                    out.push(seed);
                }
            }
        }
        Ok(Seeds::List(out))
    }

    /// `count` seeds from `base`: `base..=base+count-1`.
    pub fn count(base: u64, count: u64) -> Result<Seeds, String> {
        if count == 0 {
            return Err("0 seeds: nothing to run".into());
        }
        if count > MAX_LISTED {
            return Err(format!("over {MAX_LISTED} seeds"));
        }
        let last = base
            .checked_add(count - 1)
            .ok_or_else(|| format!("seeds from {base} overflow"))?;
        Ok(Seeds::List((base..=last).collect()))
    }

    /// The seed at `position` of the sequence, if it has one.
    pub fn get(&self, position: u64) -> Option<u64> {
        match self {
            Seeds::List(v) => v.get(usize::try_from(position).ok()?).copied(),
            Seeds::From(base) => base.checked_add(position),
        }
    }

    /// How many seeds, if there is an end.
    pub fn len(&self) -> Option<u64> {
        match self {
            Seeds::List(v) => Some(v.len() as u64),
            Seeds::From(_) => None,
        }
    }

    /// Whether the list is empty (an endless sequence never is).
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

impl fmt::Display for Seeds {
    /// `1..12`, `1..50,77`, or `7..` (endless): ranges of consecutive seeds joined.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = match self {
            Seeds::From(b) => return write!(f, "{b}.."),
            Seeds::List(v) => v,
        };
        let mut parts = Vec::new();
        let mut i = 0;
        while i < list.len() {
            let mut j = i;
            while j + 1 < list.len() && list[j].checked_add(1) == Some(list[j + 1]) {
                j += 1;
            }
            parts.push(if i == j {
                list[i].to_string()
            } else {
                format!("{}..{}", list[i], list[j])
            });
            i = j + 1;
        }
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_include_both_ends_and_keep_their_order() {
        assert_eq!(Seeds::parse("1..12").unwrap().len(), Some(12));
        assert_eq!(Seeds::parse("1..=3").unwrap(), Seeds::List(vec![1, 2, 3]));
        assert_eq!(Seeds::parse("7").unwrap(), Seeds::List(vec![7]));
        assert_eq!(
            Seeds::parse("5..6, 1,5").unwrap(),
            Seeds::List(vec![5, 6, 1])
        );
        assert_eq!(Seeds::parse("0..0").unwrap(), Seeds::List(vec![0]));
    }

    #[test]
    fn bad_seed_lists_say_what_is_wrong() {
        let cases = [
            ("", "empty (e.g. 1..200, or 1..50,77)"),
            ("5..1", "5..1: the range is empty (write it low..high)"),
            ("a..3", "\"a\" is not a seed (a whole number ≥ 0)"),
            ("1,,2", "\"\" is not a seed (a whole number ≥ 0)"),
            ("-1", "\"-1\" is not a seed (a whole number ≥ 0)"),
            ("1..100000000000", "over 10000000 seeds"),
        ];
        for (s, want) in cases {
            assert_eq!(Seeds::parse(s).unwrap_err(), want, "{s:?}");
        }
    }

    #[test]
    fn counts_and_endless_sequences() {
        assert_eq!(Seeds::count(10, 3).unwrap(), Seeds::List(vec![10, 11, 12]));
        assert!(Seeds::count(1, 0).is_err());
        assert!(Seeds::count(u64::MAX, 2).is_err());
        let endless = Seeds::From(100);
        assert_eq!(endless.get(0), Some(100));
        assert_eq!(endless.get(5), Some(105));
        assert_eq!(endless.len(), None);
        assert!(!endless.is_empty());
        assert_eq!(Seeds::List(vec![4]).get(1), None);
    }

    #[test]
    fn displayed_as_compact_ranges() {
        for s in ["1..12", "1..50,77", "3,1..2", "9"] {
            assert_eq!(Seeds::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(Seeds::From(7).to_string(), "7..");
    }
}
