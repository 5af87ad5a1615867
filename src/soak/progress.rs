//! The soak's progress line on stderr, one per finished seed: what it gave, seeds done of
//! how many, how many failing, how many running, and when the rest should be done.

use std::io::Write as _;
use std::time::{Duration, Instant};

/// Counts for the progress line.
pub struct Progress {
    /// Seeds to run in this invocation, if there is an end (`--for` alone has none).
    pub to_run: Option<u64>,
    /// When the soak started starting runs.
    pub started: Instant,
    /// The `--for` deadline, if any.
    pub deadline: Option<Instant>,
    /// Seeds finished in this invocation.
    pub finished: u64,
    /// Seeds stored from before (skipped).
    pub stored: u64,
    /// Invalid seeds, stored ones included.
    pub failing: u64,
    /// Runs at once.
    pub parallel: u64,
    /// The wall time of the runs finished in this invocation, summed.
    pub run_time: Duration,
}

impl Progress {
    /// The estimated time left: the seeds left, `parallel` at a time, each as long as the
    /// runs so far took on average; bounded by the `--for` deadline; `None` before the
    /// first seed finished.
    pub fn eta(&self, now: Instant) -> Option<Duration> {
        let by_deadline = self.deadline.map(|d| d.saturating_duration_since(now));
        let by_rate = self.to_run.and_then(|n| {
            (self.finished > 0).then(|| {
                let left = n.saturating_sub(self.finished);
                let per_run = self.run_time.as_secs_f64() / self.finished as f64;
                let waves = left as f64 / self.parallel.clamp(1, left.max(1)) as f64;
                Duration::from_secs_f64(per_run * waves)
            })
        });
        match (by_rate, by_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// `seed 7 invalid (linearizable: ...): 5/12 done, 2 failing, 3 running, ETA 1m05s`.
    pub fn line(&self, what: &str, running: usize, now: Instant) -> String {
        let total = match self.to_run {
            Some(n) => format!("{}/{}", self.finished, n),
            None => self.finished.to_string(),
        };
        let stored = if self.stored > 0 {
            format!(" (+{} stored)", self.stored)
        } else {
            String::new()
        };
        let eta = self
            .eta(now)
            .map_or_else(|| "ETA —".to_string(), |d| format!("ETA {}", human(d)));
        format!(
            "soak: {what}: {total} done{stored}, {} failing, {running} running, {eta}",
            self.failing
        )
    }
}

/// `1h02m`, `4m05s`, `9s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// Prints a line on stderr, ignoring failure (a closed terminal after SIGHUP must not stop
/// the soak before its runs are torn down).
pub fn say(line: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{line}");
    let _ = e.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_from_the_rate_and_the_deadline() {
        let t0 = Instant::now();
        let mut p = Progress {
            to_run: Some(12),
            started: t0,
            deadline: None,
            finished: 0,
            stored: 3,
            failing: 1,
            parallel: 4,
            run_time: Duration::ZERO,
        };
        assert_eq!(p.eta(t0), None);
        // 4 runs of 40 s each: 8 left, 4 at a time, two waves of 40 s.
        p.finished = 4;
        p.run_time = Duration::from_secs(160);
        let now = t0 + Duration::from_secs(40);
        assert_eq!(p.eta(now), Some(Duration::from_secs(80)));
        assert_eq!(
            p.line("seed 4 valid", 3, now),
            "soak: seed 4 valid: 4/12 done (+3 stored), 1 failing, 3 running, ETA 1m20s"
        );
        // Fewer left than run at once: one wave.
        p.finished = 10;
        p.run_time = Duration::from_secs(400);
        assert_eq!(p.eta(now), Some(Duration::from_secs(40)));
        p.deadline = Some(t0 + Duration::from_secs(60));
        assert_eq!(p.eta(now), Some(Duration::from_secs(20)));
        p.finished = 4;
        p.run_time = Duration::from_secs(160);
        p.to_run = None;
        assert_eq!(p.eta(now), Some(Duration::from_secs(20)));
        assert_eq!(human(Duration::from_secs(3725)), "1h02m");
    }
}
