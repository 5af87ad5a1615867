//! A fixed-size histogram of durations (ns) with bounded relative error, so that run
//! statistics take constant memory however long a run lasts.
//!
//! Values below 32 are counted exactly; above, each power of two is split into 32 equal
//! buckets, so a bucket's width is at most 1/32 of its lower bound: a percentile read from it
//! is within ~3% of the true one. The maximum and the count are exact. 1,920 buckets cover
//! all of `u64` (15 KiB).

/// Buckets per power of two, as a power of two.
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

/// Counts of values by bucket.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    count: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            count: 0,
            max: 0,
        }
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.count)
            .field("p50", &self.percentile(50.0))
            .field("max", &self.max)
            .finish()
    }
}

fn bucket(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // >= SUB_BITS
    let sub = (v >> (e - SUB_BITS)) & (SUB - 1);
    ((e - SUB_BITS + 1) as u64 * SUB + sub) as usize
}

/// The smallest value of bucket `i`.
fn lower_bound(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let e = i / SUB + u64::from(SUB_BITS) - 1;
    (1 << e) | ((i % SUB) << (e - u64::from(SUB_BITS)))
}

impl Histogram {
    /// Counts one value.
    pub fn record(&mut self, v: u64) {
        self.counts[bucket(v)] += 1;
        self.count += 1;
        self.max = self.max.max(v);
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.count += other.count;
        self.max = self.max.max(other.max);
    }

    /// How many values were counted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The largest value counted (0 if none).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The `p`-th percentile (0–100): the lower bound of the bucket holding it (the exact
    /// maximum for 100), or 0 if nothing was counted.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        if p >= 100.0 {
            return self.max;
        }
        // The same rank as sorting the values and taking the (p/100 × (n-1))-th, rounded.
        let rank = ((p.max(0.0) / 100.0) * (self.count - 1) as f64).round() as u64;
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen > rank {
                return lower_bound(i).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_bounded() {
        let mut prev = 0;
        for v in (0..5000u64).chain([u64::MAX / 3, u64::MAX - 1, u64::MAX]) {
            let b = bucket(v);
            assert!(b < BUCKETS, "{v}");
            assert!(b >= prev, "{v}");
            prev = b;
            let lo = lower_bound(b);
            assert!(lo <= v, "{v}: bucket {b} starts at {lo}");
            // Within 1/32 of the value.
            assert!(v - lo <= v / SUB, "{v}: {lo}");
            assert_eq!(bucket(lo), b, "{v}");
        }
    }

    #[test]
    fn percentiles_are_within_three_percent() {
        let mut h = Histogram::default();
        let mut exact: Vec<u64> = (1..=100_000u64).map(|i| i * i % 1_000_003 + 1000).collect();
        for &v in &exact {
            h.record(v);
        }
        exact.sort_unstable();
        for p in [1.0, 50.0, 90.0, 99.0, 99.9] {
            let want = exact[((p / 100.0) * (exact.len() - 1) as f64).round() as usize];
            let got = h.percentile(p);
            assert!(
                got <= want && want - got <= want / 32,
                "p{p}: {got} vs {want}"
            );
        }
        assert_eq!(h.percentile(100.0), *exact.last().unwrap());
        assert_eq!(h.count(), 100_000);
        assert_eq!(Histogram::default().percentile(50.0), 0);
    }

    #[test]
    fn merge_adds_counts() {
        let (mut a, mut b) = (Histogram::default(), Histogram::default());
        a.record(10);
        b.record(1_000_000);
        b.record(20);
        a.merge(&b);
        assert_eq!((a.count(), a.max(), a.percentile(50.0)), (3, 1_000_000, 20));
    }
}
