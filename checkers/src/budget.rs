//! Budgets: how long and how much memory a check may use, shared by all keys of one check.
//!
//! A search that runs out of budget stops and the key's verdict is `Unknown`, with the cause
//! as a sentence ("time limit 10s reached", "memory budget 1 GiB reached"). The search checks
//! the clock every few thousand steps, and accounts for its memo cache *before* the cache
//! grows, so a search never takes more than its budget and never OOMs.
//!
//! The memory figure is what the searches hold beyond the history itself — their memo caches
//! (the dominant cost), the trails of linearized steps and the candidate lists — summed over
//! the keys being checked at once. Each is claimed at its full allocated capacity before it is
//! allocated (and, while a vector moves, old and new buffers both), so the figure is an upper
//! bound of what the searches allocate: with the default 1 GiB budget, a check's resident
//! memory stays well under 2 GiB (the history, parsed, is the rest).

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Why a search stopped before deciding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exhausted {
    /// The time limit passed.
    Time(Duration),
    /// The memory budget (bytes) would have been exceeded.
    Memory(u64),
    /// Another key was found invalid, so this one no longer matters.
    Cancelled,
}

impl fmt::Display for Exhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exhausted::Time(limit) => write!(f, "time limit {} reached", human_duration(*limit)),
            Exhausted::Memory(limit) => {
                write!(f, "memory budget {} reached", human_bytes(*limit))
            }
            Exhausted::Cancelled => f.write_str("cancelled: another key is invalid"),
        }
    }
}

/// The limits of one check, and what its searches use of them so far.
#[derive(Debug)]
pub struct Budget {
    time_limit: Option<Duration>,
    deadline: Option<Instant>,
    memory_limit: u64,
    memory_used: AtomicU64,
    cancelled: AtomicBool,
}

impl Budget {
    /// A budget starting now: at most `time_limit` (none: no limit) and about
    /// `memory_limit_bytes` of memo caches.
    pub fn new(time_limit: Option<Duration>, memory_limit_bytes: u64) -> Self {
        Budget {
            time_limit,
            deadline: time_limit.and_then(|t| Instant::now().checked_add(t)),
            memory_limit: memory_limit_bytes,
            memory_used: AtomicU64::new(0),
            cancelled: AtomicBool::new(false),
        }
    }

    /// No time limit, and no memory limit beyond the machine's (for tests and small
    /// histories).
    pub fn unlimited() -> Self {
        Budget::new(None, u64::MAX)
    }

    /// The memory budget in bytes.
    pub fn memory_limit(&self) -> u64 {
        self.memory_limit
    }

    /// Asks every search using this budget to stop (they end `Unknown`).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether [`Budget::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// `Err` when the deadline passed or the check was cancelled.
    pub(crate) fn check_time(&self) -> Result<(), Exhausted> {
        if self.is_cancelled() {
            return Err(Exhausted::Cancelled);
        }
        match (self.deadline, self.time_limit) {
            (Some(deadline), Some(limit)) if Instant::now() >= deadline => {
                Err(Exhausted::Time(limit))
            }
            _ => Ok(()),
        }
    }

    /// Claims `bytes` more memory, or `Err` (claiming nothing) if that exceeds the budget.
    pub(crate) fn claim(&self, bytes: u64) -> Result<(), Exhausted> {
        let mut used = self.memory_used.load(Ordering::Relaxed);
        loop {
            let want = used.saturating_add(bytes);
            if want > self.memory_limit {
                return Err(Exhausted::Memory(self.memory_limit));
            }
            match self.memory_used.compare_exchange_weak(
                used,
                want,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(now) => used = now,
            }
        }
    }

    /// A budget with this one's cancel state (as of now), at most `time` from now (less if
    /// this one's deadline is sooner) and at most `bytes` of what memory this one has left:
    /// for a bounded side search.
    pub(crate) fn bounded(&self, bytes: u64, time: Duration) -> Budget {
        let left = self
            .memory_limit
            .saturating_sub(self.memory_used.load(Ordering::Relaxed));
        let (time_limit, deadline) = match (self.time_limit, self.deadline) {
            (Some(limit), Some(deadline))
                if deadline <= Instant::now().checked_add(time).unwrap_or(deadline) =>
            {
                (Some(limit), Some(deadline))
            }
            _ => (Some(time), Instant::now().checked_add(time)),
        };
        Budget {
            time_limit,
            deadline,
            memory_limit: bytes.min(left),
            memory_used: AtomicU64::new(0),
            cancelled: AtomicBool::new(self.is_cancelled()),
        }
    }

    /// Gives back memory claimed with [`Budget::claim`].
    pub(crate) fn release(&self, bytes: u64) {
        self.memory_used.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// `10s`, `1.5s`, `250ms`.
pub(crate) fn human_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d >= Duration::from_secs(1) {
        format!("{}s", d.as_secs_f64())
    } else if d.subsec_nanos() % 1_000_000 == 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{d:?}")
    }
}

/// `1 GiB`, `1.5 GiB`, `512 MiB`, `100 B`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (unit, size) in UNITS {
        if b >= size {
            return if b % size == 0 {
                format!("{} {unit}", b / size)
            } else {
                format!("{:.1} {unit}", b as f64 / size as f64)
            };
        }
    }
    format!("{b} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_read_well() {
        assert_eq!(
            Exhausted::Time(Duration::from_secs(10)).to_string(),
            "time limit 10s reached"
        );
        assert_eq!(
            Exhausted::Memory(1 << 30).to_string(),
            "memory budget 1 GiB reached"
        );
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
        assert_eq!(human_bytes(100), "100 B");
    }

    #[test]
    fn claims_stop_at_the_limit() {
        let b = Budget::new(None, 100);
        assert!(b.claim(60).is_ok());
        assert_eq!(b.claim(60), Err(Exhausted::Memory(100)));
        b.release(60);
        assert!(b.claim(100).is_ok());
        assert!(b.check_time().is_ok());
        b.cancel();
        assert_eq!(b.check_time(), Err(Exhausted::Cancelled));
        let past = Budget::new(Some(Duration::ZERO), 0);
        assert_eq!(past.check_time(), Err(Exhausted::Time(Duration::ZERO)));
    }
}
