//! Delta debugging: Zeller and Hildebrandt's `ddmin` ("Simplifying and Isolating
//! Failure-Inducing Input", 2002), over the indices `0..n` of a list of parts.
//!
//! The test of a subset says whether the plan made of it still fails. ddmin splits the
//! current failing set into `g` chunks and tries each chunk alone, then each complement
//! (the set without one chunk); the first that fails becomes the current set (`g` back to
//! 2 after a chunk, one less after a complement); when none fails, the chunks are halved,
//! until they are single parts. The result is 1-minimal: taking any one part out of it no
//! longer fails (as far as each test could tell). The empty set is assumed to pass (a plan
//! with no faults at all is not what shrinking looks for) and is never tried.
//!
//! A real cluster is not deterministic, so a "passes" may be a failure that did not show:
//! the caller reruns each candidate a few times ([`crate::shrink::trial`]). Each subset is
//! tried at most once here (answers are remembered), and the search ends early, with the
//! smallest failing set found so far, when a test says the budget is spent.

use std::collections::BTreeMap;

/// What a test of a subset found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The plan made of the subset still fails.
    Fails,
    /// It did not fail.
    Passes,
    /// No budget was left to tell: the search ends.
    OutOfBudget,
}

/// What ddmin found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Minimized {
    /// The smallest failing subset found (indices, ascending).
    pub kept: Vec<usize>,
    /// The search ran to its end (the result is 1-minimal), rather than out of budget.
    pub complete: bool,
}

/// ddmin over `0..n`, all of which fail together (not tested again). `test` is asked about
/// each subset tried, in ascending order of index.
pub fn ddmin(n: usize, test: &mut dyn FnMut(&[usize]) -> Outcome) -> Minimized {
    let mut current: Vec<usize> = (0..n).collect();
    let mut seen: BTreeMap<Vec<usize>, Outcome> = BTreeMap::new();
    let mut ask = |set: &[usize], seen: &mut BTreeMap<Vec<usize>, Outcome>| {
        if let Some(o) = seen.get(set) {
            return *o;
        }
        let o = test(set);
        seen.insert(set.to_vec(), o);
        o
    };
    let mut g = 2usize;
    while current.len() >= 2 {
        let chunks = split(&current, g);
        let mut reduced = false;
        // Each chunk alone.
        for c in &chunks {
            match ask(c, &mut seen) {
                Outcome::Fails => {
                    current = c.clone();
                    g = 2;
                    reduced = true;
                    break;
                }
                Outcome::OutOfBudget => {
                    return Minimized {
                        kept: current,
                        complete: false,
                    }
                }
                Outcome::Passes => {}
            }
        }
        // Each complement (with two chunks, a complement is the other chunk: tried).
        if !reduced && chunks.len() > 2 {
            for i in 0..chunks.len() {
                let rest: Vec<usize> = chunks
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .flat_map(|(_, c)| c.iter().copied())
                    .collect();
                match ask(&rest, &mut seen) {
                    Outcome::Fails => {
                        current = rest;
                        g = (g - 1).max(2);
                        reduced = true;
                        break;
                    }
                    Outcome::OutOfBudget => {
                        return Minimized {
                            kept: current,
                            complete: false,
                        }
                    }
                    Outcome::Passes => {}
                }
            }
        }
        if !reduced {
            if g >= current.len() {
                break;
            }
            g = (g * 2).min(current.len());
        }
    }
    Minimized {
        kept: current,
        complete: true,
    }
}

/// `set` in `g` chunks of nearly equal size, in order.
fn split(set: &[usize], g: usize) -> Vec<Vec<usize>> {
    let g = g.min(set.len()).max(1);
    let (size, extra) = (set.len() / g, set.len() % g);
    let mut out = Vec::with_capacity(g);
    let mut at = 0;
    for i in 0..g {
        let len = size + usize::from(i < extra);
        out.push(set[at..at + len].to_vec());
        at += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when the subset holds every part of `cause`.
    fn holds(cause: &'static [usize]) -> impl FnMut(&[usize]) -> Outcome {
        move |s: &[usize]| {
            if cause.iter().all(|c| s.contains(c)) {
                Outcome::Fails
            } else {
                Outcome::Passes
            }
        }
    }

    #[test]
    fn finds_the_parts_that_fail_together() {
        for (n, cause) in [
            (8, &[5][..]),
            (8, &[0, 7][..]),
            (13, &[2, 3, 11][..]),
            (1, &[0][..]),
            (40, &[1, 9, 17, 33][..]),
        ] {
            let cause: &'static [usize] = Box::leak(cause.to_vec().into_boxed_slice());
            let mut asked = 0;
            let mut t = holds(cause);
            let m = ddmin(n, &mut |s| {
                asked += 1;
                t(s)
            });
            assert_eq!(m.kept, cause, "n {n}");
            assert!(m.complete);
            assert!(asked <= n * n, "{asked} tests for {n}");
        }
    }

    #[test]
    fn the_result_is_1_minimal_when_several_subsets_fail() {
        // Fails with {1,2} or with {6}: whichever ddmin meets, no part of it can go.
        let fails = |s: &[usize]| (s.contains(&1) && s.contains(&2)) || s.contains(&6);
        let m = ddmin(8, &mut |s| {
            if fails(s) {
                Outcome::Fails
            } else {
                Outcome::Passes
            }
        });
        assert!(fails(&m.kept));
        for i in 0..m.kept.len() {
            let mut less = m.kept.clone();
            less.remove(i);
            assert!(less.is_empty() || !fails(&less), "{:?} minus {i}", m.kept);
        }
    }

    #[test]
    fn a_spent_budget_ends_the_search_with_the_best_so_far() {
        let mut budget = 3;
        let mut tried = Vec::new();
        let mut t = holds(&[6]);
        let m = ddmin(16, &mut |s| {
            if budget == 0 {
                return Outcome::OutOfBudget;
            }
            budget -= 1;
            tried.push(s.to_vec());
            t(s)
        });
        assert!(!m.complete);
        assert_eq!(tried.len(), 3);
        // It kept the smallest failing set it had seen, which still holds the cause.
        assert!(m.kept.contains(&6) && m.kept.len() < 16, "{:?}", m.kept);
        // Nothing was asked twice.
        let mut sorted = tried.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), tried.len());
    }

    #[test]
    fn chunks_cover_the_set_in_order() {
        assert_eq!(split(&[1, 2, 3, 4, 5], 2), [vec![1, 2, 3], vec![4, 5]]);
        assert_eq!(split(&[1, 2], 5), [vec![1], vec![2]]);
    }
}
