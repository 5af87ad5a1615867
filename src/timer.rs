//! A high-resolution timer for the runner.
//!
//! tokio's timer wheel has a 1 ms resolution: a sleep wakes on the first millisecond tick
//! at or after its deadline, so an op planned at t would start anywhere in [t, t + 1 ms).
//! For a plan that says *when* ops and faults happen, that is the whole scheduling error
//! budget. This timer keeps deadlines in a heap served by one thread that sleeps on a
//! condition variable with a nanosecond deadline (futex; the kernel's default 50 µs timer
//! slack applies) and wakes the waiting task, which a tokio worker then polls.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

struct Entry {
    due: Instant,
    seq: u64,
    waker: Waker,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.due, self.seq) == (o.due, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(o.due, o.seq))
    }
}

struct Shared {
    heap: Mutex<(BinaryHeap<Reverse<Entry>>, u64)>,
    cv: Condvar,
}

fn shared() -> &'static Arc<Shared> {
    static S: OnceLock<Arc<Shared>> = OnceLock::new();
    S.get_or_init(|| {
        let s = Arc::new(Shared {
            heap: Mutex::new((BinaryHeap::new(), 0)),
            cv: Condvar::new(),
        });
        let t = s.clone();
        std::thread::Builder::new()
            .name("squall-timer".into())
            .spawn(move || serve(&t))
            .expect("spawn the timer thread");
        s
    })
}

fn serve(s: &Shared) {
    let mut g = s.heap.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let now = Instant::now();
        while g.0.peek().is_some_and(|Reverse(e)| e.due <= now) {
            if let Some(Reverse(e)) = g.0.pop() {
                e.waker.wake();
            }
        }
        g = match g.0.peek() {
            Some(Reverse(e)) => {
                let wait = e.due.saturating_duration_since(now);
                s.cv.wait_timeout(g, wait)
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
            None => s.cv.wait(g).unwrap_or_else(|p| p.into_inner()),
        };
    }
}

/// Completes at `due` (within tens of µs), like `tokio::time::sleep_until` but finer.
pub fn sleep_until(due: Instant) -> Sleep {
    Sleep { due }
}

/// The future of [`sleep_until`].
pub struct Sleep {
    due: Instant,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.due {
            return Poll::Ready(());
        }
        // Register (again) on every pending poll: the waker may have changed. A stale entry
        // only causes a spurious wake-up, which polls and re-registers.
        let s = shared();
        let mut g = s.heap.lock().unwrap_or_else(|p| p.into_inner());
        g.1 += 1;
        let seq = g.1;
        let earliest = g.0.peek().map(|Reverse(e)| e.due);
        g.0.push(Reverse(Entry {
            due: self.due,
            seq,
            waker: cx.waker().clone(),
        }));
        drop(g);
        if earliest.is_none_or(|e| self.due < e) {
            s.cv.notify_one();
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    /// What the timer is for: sub-millisecond deadlines. Many sleeps of 100–300 µs wake, in
    /// the median, well within tokio's own 1 ms granularity (tokio's timer wheel rounds a
    /// deadline up to its next millisecond tick, so its median lateness here is ~0.5 ms or
    /// more). Medians, not maxima: a busy CI machine delays some wake-ups, not most.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn short_sleeps_wake_well_within_a_millisecond() {
        let mut late = Vec::new();
        for i in 0..200u64 {
            let due = Instant::now() + Duration::from_micros(100 + (i * 37) % 201);
            sleep_until(due).await;
            let now = Instant::now();
            assert!(now >= due, "woke {:?} early", due - now);
            late.push(now - due);
        }
        late.sort();
        let median = late[late.len() / 2];
        assert!(
            median < Duration::from_micros(250),
            "median lateness {median:?} (p90 {:?})",
            late[late.len() * 9 / 10]
        );
    }

    /// Sleepers registered in any order wake in deadline order, even 50 µs apart (tokio's
    /// wheel fires everything due within one millisecond tick together, in no such order).
    /// A current-thread runtime polls woken tasks in the order they were woken.
    #[test]
    fn sleepers_wake_in_deadline_order() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let woke = std::sync::Arc::new(Mutex::new(Vec::new()));
            let start = Instant::now() + Duration::from_millis(5);
            // A fixed shuffle of 0..40 (i * 17 mod 40; 17 and 40 are coprime).
            let mut tasks = Vec::new();
            for i in 0..40u64 {
                let slot = (i * 17) % 40;
                let due = start + Duration::from_micros(50 * slot);
                let woke = woke.clone();
                tasks.push(tokio::spawn(async move {
                    sleep_until(due).await;
                    woke.lock().unwrap().push(slot);
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let order = woke.lock().unwrap().clone();
            let sorted: Vec<u64> = (0..40).collect();
            assert_eq!(order, sorted, "wake-up order");
        });
    }
}
