//! Each packet's fate, drawn from a packet fault's seed.
//!
//! A [`Decider`] is a ChaCha stream ([`workloads::Rng`]) seeded with the fault's seed: the
//! n-th packet the shaper sees gets the n-th decision, so the stream of decisions is the
//! same on every host and every replay. Which real packet is the n-th is up to the network
//! (arrival order is reality, not plan). Every decision draws the same six numbers
//! whatever the behaviour, so no behaviour shifts the stream of another.

use nemeses::Behaviour;
use std::time::Duration;
use workloads::Rng;

/// What becomes of one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Dropped.
    Drop,
    /// Delivered after `hold` (zero: at once).
    Deliver {
        /// How long it is held first.
        hold: Duration,
        /// Whether a copy is delivered too.
        twice: bool,
        /// A byte to flip, as a number reduced modulo the bytes past the IP header.
        corrupt: Option<u64>,
    },
}

/// The decision stream of one packet fault.
pub struct Decider {
    rng: Rng,
    b: Behaviour,
}

/// The stream of a packet fault's decisions (apart from the plan's own streams).
const STREAM: u64 = 0x5041_434b; // "PACK"

impl Decider {
    /// The decisions for behaviour `b` from `seed`.
    pub fn new(b: Behaviour, seed: u64) -> Decider {
        Decider {
            rng: Rng::new(seed, STREAM),
            b,
        }
    }

    /// The next packet's fate.
    pub fn next_fate(&mut self) -> Fate {
        let b = &self.b;
        let lost = self.rng.below(100) < u64::from(b.loss);
        let (lo, hi) = (
            b.delay_ms.saturating_sub(b.jitter_ms),
            b.delay_ms + b.jitter_ms,
        );
        // Microseconds: jitter is uniform over the whole range, not in whole milliseconds.
        let delay_us = self.rng.range(u64::from(lo) * 1000, u64::from(hi) * 1000);
        let ahead = self.rng.below(100) < u64::from(b.reorder);
        let twice = self.rng.below(100) < u64::from(b.duplicate);
        let corrupted = self.rng.below(100) < u64::from(b.corrupt);
        let at = self.rng.below(u64::MAX);
        if lost {
            return Fate::Drop;
        }
        let hold = if b.delay_ms == 0 || ahead {
            Duration::ZERO
        } else {
            Duration::from_micros(delay_us)
        };
        Fate::Deliver {
            hold,
            twice,
            corrupt: corrupted.then_some(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jepsen() -> Behaviour {
        Behaviour {
            delay_ms: 50,
            jitter_ms: 10,
            loss: 20,
            duplicate: 20,
            reorder: 20,
            corrupt: 20,
        }
    }

    fn fates(b: Behaviour, seed: u64, n: usize) -> Vec<Fate> {
        let mut d = Decider::new(b, seed);
        (0..n).map(|_| d.next_fate()).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_fates_and_another_seed_others() {
        assert_eq!(fates(jepsen(), 7, 500), fates(jepsen(), 7, 500));
        assert_ne!(fates(jepsen(), 7, 500), fates(jepsen(), 8, 500));
    }

    #[test]
    fn rates_and_delays_are_as_configured_within_tolerance() {
        let n = 20_000;
        let f = fates(jepsen(), 1, n);
        let share = |p: &dyn Fn(&Fate) -> bool| f.iter().filter(|x| p(x)).count() as f64 / n as f64;
        let lost = share(&|x| *x == Fate::Drop);
        assert!((lost - 0.20).abs() < 0.015, "loss {lost}");
        let delivered: Vec<_> = f
            .iter()
            .filter_map(|x| match *x {
                Fate::Deliver {
                    hold,
                    twice,
                    corrupt,
                } => Some((hold, twice, corrupt)),
                Fate::Drop => None,
            })
            .collect();
        let m = delivered.len() as f64;
        let twice = delivered.iter().filter(|d| d.1).count() as f64 / m;
        let ahead = delivered.iter().filter(|d| d.0.is_zero()).count() as f64 / m;
        let corrupt = delivered.iter().filter(|d| d.2.is_some()).count() as f64 / m;
        for (what, got) in [
            ("duplicate", twice),
            ("reorder", ahead),
            ("corrupt", corrupt),
        ] {
            assert!((got - 0.20).abs() < 0.015, "{what} {got}");
        }
        let held: Vec<Duration> = delivered
            .iter()
            .map(|d| d.0)
            .filter(|h| !h.is_zero())
            .collect();
        assert!(held
            .iter()
            .all(|h| *h >= Duration::from_millis(40) && *h <= Duration::from_millis(60)));
        let mean = held.iter().sum::<Duration>() / held.len() as u32;
        assert!(
            mean > Duration::from_millis(49) && mean < Duration::from_millis(51),
            "{mean:?}"
        );
    }

    #[test]
    fn a_behaviour_left_out_never_happens_and_does_not_shift_the_others() {
        let only_loss = Behaviour {
            loss: 20,
            ..Behaviour::default()
        };
        let f = fates(only_loss, 3, 2000);
        assert!(f.iter().all(|x| matches!(
            x,
            Fate::Drop
                | Fate::Deliver {
                    hold: Duration::ZERO,
                    twice: false,
                    corrupt: None
                }
        )));
        // Which packets are lost depends on the seed only, not on the other behaviours.
        let drops = |f: &[Fate]| f.iter().map(|x| *x == Fate::Drop).collect::<Vec<_>>();
        assert_eq!(drops(&f), drops(&fates(jepsen(), 3, 2000)));
    }
}
