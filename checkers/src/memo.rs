//! The search's memo cache: the configurations already explored, within the memory budget.
//!
//! Two search paths that reached the same configuration (same set of linearized ops, same
//! model state, same indeterminate ops used) have the same future, so the second is cut
//! (Lowe's improvement to Wing & Gong). The cache is what a hard history fills, so it is what
//! the memory budget accounts for.
//!
//! ## Exact keys, compactly
//!
//! A key is exact — two configurations are the same only if they are equal — so a cache hit
//! never prunes a path that could have succeeded. (A fingerprint could collide and turn a
//! valid history invalid: a lie.) The search hands over a configuration as a 64-bit hash, a
//! number `p`, a model state and a short list of `u32`s (see `wgl.rs` for what they mean);
//! the lists live in one arena, the table holds fixed-size entries, and probing compares the
//! hash first, the rest only on a hash match.
//!
//! ## Accounting
//!
//! Every allocation of the cache (table slots, entries, arena, and the search's trail, which
//! uses [`Account`] too) is claimed from the [`Budget`] *before* it is made, at its full
//! capacity; while a vector reallocates, both the old and the new buffers are counted.
//! Allocation failures are caught (`try_reserve`). So a search that outgrows its budget stops
//! with `Unknown` rather than take the machine down.

use crate::budget::{Budget, Exhausted};
use std::hash::{Hash, Hasher};
use std::mem::size_of;

/// Claimed from the shared budget in chunks of this much, to keep the atomics quiet.
const CHUNK: u64 = 1 << 20;

/// Bytes claimed from a [`Budget`] for one search, given back on drop.
pub(crate) struct Account<'b> {
    budget: &'b Budget,
    /// Claimed from the budget so far.
    claimed: u64,
    /// In use (≤ `claimed`).
    used: u64,
}

impl<'b> Account<'b> {
    pub(crate) fn new(budget: &'b Budget) -> Self {
        Account {
            budget,
            claimed: 0,
            used: 0,
        }
    }

    /// Bytes in use now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> u64 {
        self.used
    }

    /// Takes `bytes` more, claiming from the budget if needed.
    pub(crate) fn take(&mut self, bytes: u64) -> Result<(), Exhausted> {
        let want = self.used.saturating_add(bytes);
        if want > self.claimed {
            let exact = want - self.claimed;
            // Near the limit, claim exactly what is needed.
            let more = if self.budget.claim(exact.max(CHUNK)).is_ok() {
                exact.max(CHUNK)
            } else {
                self.budget.claim(exact)?;
                exact
            };
            self.claimed += more;
        }
        self.used = want;
        Ok(())
    }

    pub(crate) fn give(&mut self, bytes: u64) {
        self.used = self.used.saturating_sub(bytes);
    }

    /// Makes room in `v` for `additional` more elements, doubling its capacity when it must
    /// grow, with the growth (and, during the move, the old buffer) accounted for.
    pub(crate) fn reserve<T>(
        &mut self,
        v: &mut Vec<T>,
        additional: usize,
    ) -> Result<(), Exhausted> {
        let need = v.len().saturating_add(additional);
        if need <= v.capacity() {
            return Ok(());
        }
        let old = v.capacity();
        let new = need.max(old.saturating_mul(2)).max(16);
        let size = size_of::<T>() as u64;
        self.take(new as u64 * size)?;
        if v.try_reserve_exact(new - v.len()).is_err() {
            return Err(Exhausted::Memory(self.budget.memory_limit()));
        }
        // The old buffer is gone; the new one may be a little larger than asked.
        self.give(old as u64 * size);
        let extra = v.capacity().saturating_sub(new) as u64 * size;
        self.take(extra)?;
        Ok(())
    }
}

impl Drop for Account<'_> {
    fn drop(&mut self) {
        self.budget.release(self.claimed);
    }
}

/// A fast, deterministic hasher for model states (FxHash's mixing).
#[derive(Default)]
pub(crate) struct FxHasher(u64);

const FX: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i.into());
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i.into());
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(FX);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The hash of a state.
pub(crate) fn hash_of<S: Hash>(s: &S) -> u64 {
    let mut h = FxHasher::default();
    s.hash(&mut h);
    h.finish()
}

/// One stored `ok` part: its list is `arena[off .. off + len]`; `chain` is the arena offset of
/// its first stored used-vector, or `NONE`.
struct Entry<S> {
    hash: u64,
    p: u32,
    len: u32,
    off: u32,
    chain: u32,
    state: S,
}

const NONE: u32 = u32::MAX;

#[cfg(test)]
thread_local! {
    /// Evictions on this thread, for tests.
    pub(crate) static EVICTIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The bits of `p` that are `p` (the search uses the top one as a flag).
const P_MASK: u32 = u32::MAX >> 1;

/// Whether `used` (dense, its nonzero kinds ascending in `used_kinds`) is `≤` `stored` (sparse
/// `(kind, count)` pairs, kinds ascending) in every kind.
fn below(used: &[u32], used_kinds: &[u32], stored: &[u32]) -> bool {
    let mut pairs = stored.chunks_exact(2).peekable();
    used_kinds.iter().all(|&k| {
        while pairs.next_if(|kc| kc[0] < k).is_some() {}
        pairs
            .peek()
            .is_some_and(|kc| kc[0] == k && kc[1] >= used[k as usize])
    })
}

/// A set of configurations, within a memory budget, that answers "already explored, or
/// dominated by one explored?".
///
/// A configuration is an *`ok` part* — `(hash, p, state, list)`, compared exactly, `hash` a
/// function of the other three — and a *used-vector*: how many of each indeterminate kind it
/// used, given dense (`used[kind]`) with the kinds that are nonzero listed (`used_kinds`).
/// A configuration is *dominated* by a stored one with the same `ok` part whose counts are all
/// `≤` its own: that one has every choice this one has, and more (see `wgl.rs`). Each `ok` part
/// keeps the chain of used-vectors stored for it, in the arena as `[next, pairs, (kind,
/// count)…]`.
pub(crate) struct Memo<'b, S> {
    /// Open addressing, linear probing: entry index + 1, or 0 for an empty slot.
    slots: Vec<u32>,
    entries: Vec<Entry<S>>,
    arena: Vec<u32>,
    /// Words of the arena no longer reachable (unlinked vectors).
    garbage: usize,
    account: Account<'b>,
    /// Past this many bytes, the configurations furthest behind are forgotten (see
    /// [`Memo::evict`]).
    soft_limit: u64,
    /// Configurations forgotten so far.
    pub(crate) evicted: u64,
    evict_at: usize,
}

impl<'b, S: Eq> Memo<'b, S> {
    /// An empty cache.
    pub(crate) fn new(budget: &'b Budget) -> Self {
        Memo {
            slots: Vec::new(),
            entries: Vec::new(),
            arena: Vec::new(),
            garbage: 0,
            account: Account::new(budget),
            soft_limit: budget.memory_limit() / 2,
            evicted: 0,
            evict_at: 0,
        }
    }

    /// Bytes the cache holds.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> u64 {
        self.account.used()
    }

    fn memory(&self) -> Exhausted {
        Exhausted::Memory(self.account.budget.memory_limit())
    }

    /// Appends to the arena, returning the offset; `Err` past the budget or `u32` offsets.
    fn push_arena(&mut self, words: &[u32]) -> Result<u32, Exhausted> {
        let off = self.arena.len();
        if u32::try_from(off + words.len()).is_err() || off + words.len() >= NONE as usize {
            return Err(self.memory());
        }
        self.account.reserve(&mut self.arena, words.len())?;
        self.arena.extend_from_slice(words);
        Ok(off as u32)
    }

    /// Inserts the configuration: `Ok(true)` if it is new and not dominated, `Ok(false)` if an
    /// equal or dominating one is stored.
    pub(crate) fn insert(
        &mut self,
        hash: u64,
        p: u32,
        state: &S,
        list: &[u32],
        used: &[u32],
        used_kinds: &[u32],
    ) -> Result<bool, Exhausted>
    where
        S: Clone,
    {
        if self.slots.is_empty() {
            self.grow()?;
        }
        // Forget before a buffer doubles past the budget (while it moves, the old and the new
        // buffer both count: up to twice what it holds more), or past half of it.
        let growing = self.entries.len() == self.entries.capacity()
            || (self.entries.len() + 1) * 2 > self.slots.len()
            || self.arena.len() + list.len() + 2 + 2 * used_kinds.len() > self.arena.capacity();
        let held = self.account.used;
        let n = self.entries.len();
        if n >= self.evict_at
            && ((growing && held > self.soft_limit / 3 * 2) || held > self.soft_limit)
        {
            // Next time when as many are stored again (the buffers have room for them), or,
            // if nothing could go, when a quarter more are.
            self.evict_at = if self.evict(p & P_MASK)? {
                n
            } else {
                n + n / 4 + 16
            };
        }
        // Before the arena grows, reclaim it if it is mostly garbage. (Here, before any offset
        // into it is held.)
        let need = list.len() + 2 + 2 * used_kinds.len();
        if self.arena.len() + need > self.arena.capacity() && self.garbage * 2 > self.arena.len() {
            self.compact()?;
        }
        let mask = self.slots.len() - 1;
        let mut i = (hash as usize) & mask;
        let found = loop {
            let slot = self.slots[i];
            if slot == 0 {
                break None;
            }
            let e = &self.entries[slot as usize - 1];
            if e.hash == hash
                && e.p == p
                && e.state == *state
                && self.arena[e.off as usize..(e.off + e.len) as usize] == *list
            {
                break Some(slot as usize - 1);
            }
            i = (i + 1) & mask;
        };
        if let Some(n) = found {
            // Dominated by a stored used-vector? Meanwhile, unlink the stored ones this one
            // dominates (explored, but cut from now on all the same): chains stay antichains.
            let mut prev = NONE;
            let mut at = self.entries[n].chain;
            while at != NONE {
                let a = at as usize;
                let next = self.arena[a];
                let pairs = self.arena[a + 1] as usize;
                let stored = &self.arena[a + 2..a + 2 + 2 * pairs];
                if stored
                    .chunks_exact(2)
                    .all(|kc| used.get(kc[0] as usize).is_some_and(|&u| u >= kc[1]))
                {
                    return Ok(false);
                }
                if below(used, used_kinds, stored) {
                    self.garbage += 2 + 2 * pairs;
                    if prev == NONE {
                        self.entries[n].chain = next;
                    } else {
                        self.arena[prev as usize] = next;
                    }
                } else {
                    prev = at;
                }
                at = next;
            }
            let chain = self.push_used(self.entries[n].chain, used, used_kinds)?;
            self.entries[n].chain = chain;
            return Ok(true);
        }
        // A new `ok` part.
        let (Ok(len), Ok(index)) = (
            u32::try_from(list.len()),
            u32::try_from(self.entries.len() + 1),
        ) else {
            return Err(self.memory());
        };
        if index == u32::MAX {
            return Err(self.memory());
        }
        let off = self.push_arena(list)?;
        let chain = self.push_used(NONE, used, used_kinds)?;
        self.account.reserve(&mut self.entries, 1)?;
        self.entries.push(Entry {
            hash,
            p,
            len,
            off,
            chain,
            state: state.clone(),
        });
        self.slots[i] = index;
        // Keep the load at most 1/2: probes stay short.
        if self.entries.len() * 2 > self.slots.len() {
            self.grow()?;
        }
        Ok(true)
    }

    /// Copies what is reachable of the arena into a new one (half of it at least is garbage).
    fn compact(&mut self) -> Result<(), Exhausted> {
        let live = self.arena.len() - self.garbage;
        let mut arena: Vec<u32> = Vec::new();
        self.account.reserve(&mut arena, live.max(16) * 2)?;
        for e in &mut self.entries {
            let off = arena.len() as u32;
            arena.extend_from_slice(&self.arena[e.off as usize..(e.off + e.len) as usize]);
            e.off = off;
            // The chain, in order.
            let mut at = e.chain;
            let mut last = NONE;
            while at != NONE {
                let a = at as usize;
                let words = 2 + 2 * self.arena[a + 1] as usize;
                let here = arena.len() as u32;
                arena.extend_from_slice(&self.arena[a..a + words]);
                if last == NONE {
                    e.chain = here;
                } else {
                    arena[last as usize] = here;
                }
                last = here;
                at = self.arena[a];
            }
            if last != NONE {
                arena[last as usize] = NONE;
            }
        }
        let old = std::mem::replace(&mut self.arena, arena);
        self.account
            .give((old.capacity() * size_of::<u32>()) as u64);
        self.garbage = 0;
        Ok(())
    }

    /// Forgets the configurations furthest behind the search (the lowest `p`), at least a
    /// quarter of them, so that the cache stays within its share of the budget; `false` (and
    /// forgets nothing) if that many are not behind `now` (the search's `p`).
    ///
    /// Sound: a configuration is cut only if an equal or dominating one was explored (see
    /// `wgl.rs`); forgetting one only means it may be explored again. Every edge of the search
    /// linearizes an op, so no path meets a configuration twice, and the search still ends.
    fn evict(&mut self, now: u32) -> Result<bool, Exhausted> {
        let n = self.entries.len();
        if n < 16 {
            return Ok(false);
        }
        // The median `p` of what is stored, or `now` if lower.
        let mut ps: Vec<u32> = Vec::new();
        self.account.reserve(&mut ps, n)?;
        ps.extend(self.entries.iter().map(|e| e.p & P_MASK));
        let (_, &mut median, _) = ps.select_nth_unstable(n / 2);
        let threshold = median.min(now);
        let behind = ps.iter().filter(|&&p| p < threshold).count();
        self.account.give((ps.capacity() * size_of::<u32>()) as u64);
        drop(ps);
        if behind < n / 4 {
            return Ok(false);
        }
        self.entries.retain(|e| e.p & P_MASK >= threshold);
        self.garbage = self.arena.len() - self.live_words();
        self.compact()?;
        self.slots.fill(0);
        let mask = self.slots.len() - 1;
        for (n, e) in self.entries.iter().enumerate() {
            let mut i = (e.hash as usize) & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = n as u32 + 1;
        }
        self.evicted += behind as u64;
        #[cfg(test)]
        EVICTIONS.with(|e| e.set(e.get() + 1));
        Ok(true)
    }

    /// Words of the arena the stored entries reach.
    fn live_words(&self) -> usize {
        self.entries
            .iter()
            .map(|e| {
                let mut words = e.len as usize;
                let mut at = e.chain;
                while at != NONE {
                    words += 2 + 2 * self.arena[at as usize + 1] as usize;
                    at = self.arena[at as usize];
                }
                words
            })
            .sum()
    }

    /// Stores a used-vector in front of `next`; returns its offset.
    fn push_used(&mut self, next: u32, used: &[u32], used_kinds: &[u32]) -> Result<u32, Exhausted> {
        let off = self.push_arena(&[next, used_kinds.len() as u32])?;
        for &k in used_kinds {
            self.push_arena(&[k, used[k as usize]])?;
        }
        Ok(off)
    }

    /// Doubles the slot table and re-inserts every entry (their hashes are stored).
    fn grow(&mut self) -> Result<(), Exhausted> {
        let size = (self.slots.len() * 2).max(1024);
        let bytes = (size * size_of::<u32>()) as u64;
        self.account.take(bytes)?;
        let mut slots: Vec<u32> = Vec::new();
        if slots.try_reserve_exact(size).is_err() {
            return Err(self.memory());
        }
        slots.resize(size, 0);
        let mask = size - 1;
        for (n, e) in self.entries.iter().enumerate() {
            let mut i = (e.hash as usize) & mask;
            while slots[i] != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = n as u32 + 1;
        }
        let old = (self.slots.capacity() * size_of::<u32>()) as u64;
        self.slots = slots;
        self.account.give(old);
        Ok(())
    }

    /// How many `ok` parts are stored.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_exactly() {
        let budget = Budget::unlimited();
        let mut c = Memo::new(&budget);
        let none: (&[u32], &[u32]) = (&[0, 0], &[]);
        assert_eq!(c.insert(1, 0, &7u32, &[1, 2], none.0, none.1), Ok(true));
        assert_eq!(c.insert(1, 0, &7u32, &[1, 2], none.0, none.1), Ok(false));
        // Same hash, different contents: all distinct (a collision never prunes).
        assert_eq!(c.insert(1, 0, &7u32, &[1, 3], none.0, none.1), Ok(true));
        assert_eq!(c.insert(1, 1, &7u32, &[1, 2], none.0, none.1), Ok(true));
        assert_eq!(c.insert(1, 0, &8u32, &[1, 2], none.0, none.1), Ok(true));
        assert_eq!(c.insert(1, 0, &7u32, &[], none.0, none.1), Ok(true));
        assert_eq!(c.len(), 5);
        for i in 0..5000u32 {
            let key = [i];
            assert_eq!(
                c.insert(u64::from(i) * 7919, i, &0u32, &key, none.0, none.1),
                Ok(true)
            );
        }
        for i in 0..5000u32 {
            let key = [i];
            assert_eq!(
                c.insert(u64::from(i) * 7919, i, &0u32, &key, none.0, none.1),
                Ok(false)
            );
        }
    }

    #[test]
    fn fewer_indeterminate_ops_used_dominates() {
        let budget = Budget::unlimited();
        let mut c = Memo::new(&budget);
        // Used one of kind 1.
        assert_eq!(c.insert(5, 0, &0u32, &[0], &[0, 1, 0], &[1]), Ok(true));
        // Used one of kind 1 and one of kind 2: dominated.
        assert_eq!(c.insert(5, 0, &0u32, &[0], &[0, 1, 1], &[1, 2]), Ok(false));
        // Used one of kind 2 only: not comparable, new.
        assert_eq!(c.insert(5, 0, &0u32, &[0], &[0, 0, 1], &[2]), Ok(true));
        // Used none: new, and then dominates everything.
        assert_eq!(c.insert(5, 0, &0u32, &[0], &[0, 0, 0], &[]), Ok(true));
        assert_eq!(c.insert(5, 0, &0u32, &[0], &[3, 0, 0], &[0]), Ok(false));
        // Kind 0 twice dominates nothing stored; once dominates the twice (unlinked), and
        // twice is then cut by once.
        assert_eq!(c.insert(6, 0, &0u32, &[0], &[2, 0, 0], &[0]), Ok(true));
        assert_eq!(c.insert(6, 0, &0u32, &[0], &[1, 0, 0], &[0]), Ok(true));
        assert_eq!(c.insert(6, 0, &0u32, &[0], &[2, 0, 0], &[0]), Ok(false));
        assert!(below(&[1, 0, 2], &[0, 2], &[0, 1, 2, 2]));
        assert!(!below(&[1, 0, 2], &[0, 2], &[0, 1, 1, 3]));
        assert!(!below(&[1, 0, 2], &[0, 2], &[2, 5]));
        assert!(below(&[0, 0, 0], &[], &[2, 5]));
        // Another state: not comparable.
        assert_eq!(c.insert(5, 0, &1u32, &[0], &[3, 0, 0], &[0]), Ok(true));
    }

    #[test]
    fn forgets_what_is_furthest_behind() {
        let budget = Budget::new(None, 1 << 20);
        let mut c = Memo::new(&budget);
        let none: (&[u32], &[u32]) = (&[0], &[]);
        for p in 0..200_000u32 {
            let key = [p, p + 1];
            assert_eq!(
                c.insert(u64::from(p) * 7919, p, &0u32, &key, none.0, none.1),
                Ok(true),
                "insert {p}: {} bytes, {} forgotten",
                c.bytes(),
                c.evicted
            );
            assert!(c.bytes() <= 1 << 20);
        }
        assert!(c.evicted > 100_000, "{} forgotten", c.evicted);
        // The latest are remembered; the earliest forgotten, so explored again.
        let last = 199_999u32;
        let key = [last, last + 1];
        assert_eq!(
            c.insert(u64::from(last) * 7919, last, &0u32, &key, none.0, none.1),
            Ok(false)
        );
        assert_eq!(c.insert(0, 0, &0u32, &[0, 1], none.0, none.1), Ok(true));
        // Nothing behind the search: nothing to forget, so the budget answers.
        let small = Budget::new(None, 64 << 10);
        let mut c = Memo::new(&small);
        let mut i = 0u32;
        let err = loop {
            match c.insert(u64::from(i), 5, &0u32, &[i, i], none.0, none.1) {
                Ok(_) => i += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(err, Exhausted::Memory(64 << 10));
        assert_eq!(c.evicted, 0);
    }

    #[test]
    fn respects_the_budget() {
        let small = Budget::new(None, 64 << 10);
        let mut c = Memo::new(&small);
        let mut inserted = 0u32;
        let err = loop {
            // All at one `p`: nothing is behind, nothing can be forgotten.
            match c.insert(u64::from(inserted), 0, &0u32, &[inserted; 4], &[], &[]) {
                Ok(_) => inserted += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(err, Exhausted::Memory(64 << 10));
        assert!(inserted > 500, "{inserted} entries fit in 64 KiB");
        assert!(c.bytes() <= 64 << 10);
        drop(c);
        assert!(
            small.claim(64 << 10).is_ok(),
            "a dropped cache gives its memory back"
        );
    }
}
