//! The search's memo cache: the (linearized set, model state) pairs already explored.
//!
//! Two search paths that linearized the same set of ops and reached the same model state
//! have the same future, so the second is cut (Lowe's improvement to Wing & Gong). The cache
//! is what a hard history fills, so it is what the memory budget accounts for: each new
//! entry, and each growth of the table, is claimed from the [`Budget`] *before* it is
//! allocated, and allocation failures are caught (`try_reserve`), so a search that outgrows
//! its budget stops with `Unknown` instead of taking the machine down.

use crate::budget::{Budget, Exhausted};
use std::collections::HashSet;
use std::hash::Hash;
use std::mem::size_of;

/// Claimed from the shared budget in chunks of this much, to keep the atomics quiet.
const CHUNK: u64 = 1 << 20;
/// What the allocator adds to each boxed bit set, roughly.
const ALLOC_OVERHEAD: u64 = 16;

/// A set of (bit set, state) pairs, within a memory budget.
pub(crate) struct MemoCache<'b, S> {
    set: HashSet<(Box<[u64]>, S)>,
    budget: &'b Budget,
    /// Claimed from the budget so far (given back on drop).
    claimed: u64,
    /// Estimated bytes in use (≤ `claimed`).
    used: u64,
    /// Estimated bytes per entry outside the table (the boxed bit set).
    heap_per_entry: u64,
}

impl<'b, S: Hash + Eq + Clone> MemoCache<'b, S> {
    /// An empty cache for bit sets of `words` words.
    pub(crate) fn new(words: usize, budget: &'b Budget) -> Self {
        MemoCache {
            set: HashSet::new(),
            budget,
            claimed: 0,
            used: 0,
            heap_per_entry: (words * size_of::<u64>()) as u64 + ALLOC_OVERHEAD,
        }
    }

    /// Bytes a table of `capacity` entries takes (entries plus one control byte each, at
    /// hashbrown's 7/8 load factor).
    fn table_bytes(capacity: usize) -> u64 {
        let slot = (size_of::<(Box<[u64]>, S)>() + 1) as u64;
        (capacity as u64).saturating_mul(slot).saturating_mul(8) / 7
    }

    /// Makes `bytes` more available, claiming from the budget if needed.
    fn account(&mut self, bytes: u64) -> Result<(), Exhausted> {
        let want = self.used.saturating_add(bytes);
        if want > self.claimed {
            let more = (want - self.claimed).max(CHUNK);
            // Near the limit, claim exactly what is needed.
            let more = match self.budget.claim(more) {
                Ok(()) => more,
                Err(_) => {
                    let exact = want - self.claimed;
                    self.budget.claim(exact)?;
                    exact
                }
            };
            self.claimed += more;
        }
        self.used = want;
        Ok(())
    }

    /// Inserts the pair; `Ok(true)` if it was new, `Ok(false)` if already explored.
    pub(crate) fn insert(&mut self, bits: &[u64], state: &S) -> Result<bool, Exhausted> {
        let key = (Box::<[u64]>::from(bits), state.clone());
        if self.set.contains(&key) {
            return Ok(false);
        }
        if self.set.len() == self.set.capacity() {
            // The table is about to double. While it rehashes both tables exist: the old one
            // is already in `used`, claim the new one too.
            let old = Self::table_bytes(self.set.capacity());
            let estimate = Self::table_bytes((self.set.capacity() * 2).max(4));
            self.account(estimate)?;
            if self.set.try_reserve(1).is_err() {
                return Err(Exhausted::Memory(self.budget_limit()));
            }
            // Back to the steady state: the new table only.
            self.used -= old + estimate;
            self.account(Self::table_bytes(self.set.capacity()))?;
        }
        self.account(self.heap_per_entry)?;
        self.set.insert(key);
        Ok(true)
    }

    fn budget_limit(&self) -> u64 {
        self.budget.memory_limit()
    }

    /// How many pairs are stored.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }
}

impl<S> Drop for MemoCache<'_, S> {
    fn drop(&mut self) {
        self.budget.release(self.claimed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_respects_the_budget() {
        let budget = Budget::unlimited();
        let mut c = MemoCache::new(1, &budget);
        assert_eq!(c.insert(&[1], &7u32), Ok(true));
        assert_eq!(c.insert(&[1], &7u32), Ok(false));
        assert_eq!(c.insert(&[1], &8u32), Ok(true));
        assert_eq!(c.len(), 2);

        let small = Budget::new(None, 4096);
        let mut c = MemoCache::new(1, &small);
        let mut inserted = 0u64;
        let err = loop {
            match c.insert(&[inserted], &0u32) {
                Ok(_) => inserted += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(err, Exhausted::Memory(4096));
        assert!(inserted > 10, "{inserted} entries fit in 4 KiB");
        drop(c);
        assert!(
            small.claim(4096).is_ok(),
            "a dropped cache gives its memory back"
        );
    }
}
