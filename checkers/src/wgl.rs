//! The WGL search (Wing & Gong, with Lowe's memoisation), over one key's operations.
//!
//! ## The idea
//!
//! A history is linearizable if its ops can be put in one order that (1) the model accepts
//! and (2) respects real time: if `a` returned before `b` was invoked, `a` comes first. The
//! search walks a list of *entries* (each op's call and return, in real-time order) and
//! builds the order from the front:
//!
//! - at a **call** entry, it tries to linearize that op next: if the model accepts it from the
//!   current state, and the pair (set of linearized ops, new state) was never seen before,
//!   the op is lifted out of the list (call and return), pushed on the undo stack, and the
//!   scan restarts at the head of the list;
//! - at a **return** entry of an op not yet linearized, no order that continues the current
//!   prefix can respect real time (the op must come before every op invoked after this
//!   point), so the search undoes the last choice and tries the next call after it.
//!
//! It succeeds when every `ok` op is linearized, and fails when it must undo with an empty
//! stack. The memo cache makes it cut any prefix whose (set, state) it has already explored.
//!
//! ## Indeterminate ops
//!
//! An `info` op (or one never completed) may take effect at any time after its invocation,
//! or never. It gets a call entry and **no return entry**: its return is at infinity, so
//! nothing ever forces it to be linearized. It may be linearized wherever the model allows,
//! or left out: the search succeeds once every `ok` op is in, whatever `info` ops remain,
//! because linearizing them after everything else would be observed by nobody.
//!
//! ## Ties
//!
//! Entries are ordered by (instant, calls before returns, op order). A call and a return at the
//! same instant are taken as concurrent: the conservative reading, which can only accept more
//! orders, never report an anomaly that did not happen. (This also covers one process's own
//! consecutive ops stamped in the same nanosecond: they are treated as concurrent.)
//!
//! ## The counterexample
//!
//! When the search fails, the most informative place is the furthest it got: the latest
//! return entry it reached without being able to linearize its op (and, at that entry, the
//! longest prefix). That op is reported, with the prefix linearized then.

use crate::budget::{Budget, Exhausted};
use crate::memo::MemoCache;
use crate::model::Model;

/// Check the clock and the cancel flag every this many steps.
const STEPS_PER_CLOCK_CHECK: u64 = 4096;

/// One op as the search sees it.
#[derive(Clone, Debug)]
pub(crate) struct SearchOp<O> {
    /// The model's op.
    pub op: O,
    /// When it was invoked (ordering clock).
    pub start: u64,
    /// When it returned, `None` if never (an indeterminate op).
    pub end: Option<u64>,
}

/// What the search found.
#[derive(Debug)]
pub(crate) enum SearchResult<S> {
    /// Every `ok` op fits in one order.
    Linearizable,
    /// No order exists.
    NotLinearizable {
        /// The op whose return the search could not get past, furthest into the history.
        blocked: usize,
        /// The longest linearized prefix at that point: op ids, with the state after each.
        prefix: Vec<(usize, S)>,
    },
    /// A budget ran out.
    Exhausted(Exhausted),
}

/// A call or a return in the entry list.
#[derive(Clone, Copy, Debug)]
struct Entry {
    op: u32,
    call: bool,
}

/// The entry list as a doubly linked list over a vector, with O(1) lift and unlift
/// ("dancing links": an unlift reinserts entries where they were, in reverse order).
struct Entries {
    entries: Vec<Entry>,
    next: Vec<u32>,
    prev: Vec<u32>,
    call_of: Vec<u32>,
    return_of: Vec<Option<u32>>,
}

impl Entries {
    fn new<O>(ops: &[SearchOp<O>]) -> Entries {
        // (instant, 0 for a call / 1 for a return, op): calls first at equal instants.
        let mut keyed: Vec<(u64, u8, u32)> = Vec::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate() {
            keyed.push((op.start, 0, i as u32));
            if let Some(end) = op.end {
                keyed.push((end, 1, i as u32));
            }
        }
        keyed.sort_unstable();
        let n = keyed.len();
        let mut call_of = vec![0; ops.len()];
        let mut return_of = vec![None; ops.len()];
        let entries = keyed
            .iter()
            .enumerate()
            .map(|(pos, &(_, kind, op))| {
                if kind == 0 {
                    call_of[op as usize] = pos as u32;
                } else {
                    return_of[op as usize] = Some(pos as u32);
                }
                Entry {
                    op,
                    call: kind == 0,
                }
            })
            .collect();
        // Node n is the head sentinel, node n + 1 the end sentinel.
        let mut e = Entries {
            entries,
            next: vec![0; n + 2],
            prev: vec![0; n + 2],
            call_of,
            return_of,
        };
        // Link head → 0 → 1 → … → n-1 → end.
        let head = n as u32;
        let end = n as u32 + 1;
        let mut last = head;
        for i in 0..n as u32 {
            e.next[last as usize] = i;
            e.prev[i as usize] = last;
            last = i;
        }
        e.next[last as usize] = end;
        e.prev[end as usize] = last;
        e
    }

    fn head(&self) -> u32 {
        self.entries.len() as u32
    }

    fn end(&self) -> u32 {
        self.entries.len() as u32 + 1
    }

    fn remove(&mut self, x: u32) {
        let (p, n) = (self.prev[x as usize], self.next[x as usize]);
        self.next[p as usize] = n;
        self.prev[n as usize] = p;
    }

    fn reinsert(&mut self, x: u32) {
        let (p, n) = (self.prev[x as usize], self.next[x as usize]);
        self.next[p as usize] = x;
        self.prev[n as usize] = x;
    }

    /// Takes op's call and return out of the list.
    fn lift(&mut self, op: usize) {
        self.remove(self.call_of[op]);
        if let Some(r) = self.return_of[op] {
            self.remove(r);
        }
    }

    /// Puts back what [`Entries::lift`] took out (must be the last lifted op still out).
    fn unlift(&mut self, op: usize) {
        if let Some(r) = self.return_of[op] {
            self.reinsert(r);
        }
        self.reinsert(self.call_of[op]);
    }
}

/// A fixed-size bit set over op ids.
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

/// The furthest point the search reached: a return entry it could not pass.
struct Frontier<S> {
    entry: u32,
    depth: usize,
    blocked: usize,
    prefix: Vec<(usize, S)>,
}

/// Searches for a linearization of `ops` (the `ok` ops and the indeterminate ones of one
/// key; `fail` ops already dropped) from the model's initial state.
pub(crate) fn search<M: Model>(
    model: &M,
    ops: &[SearchOp<M::Op>],
    budget: &Budget,
) -> SearchResult<M::State> {
    let mut entries = Entries::new(ops);
    let mut remaining_ok = ops.iter().filter(|o| o.end.is_some()).count();
    let mut bits = Bits::new(ops.len());
    let mut cache = MemoCache::new(bits.0.len(), budget);
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut state = model.init();
    let mut frontier: Option<Frontier<M::State>> = None;
    let mut entry = entries.next[entries.head() as usize];
    let mut steps: u64 = 0;

    loop {
        if remaining_ok == 0 {
            return SearchResult::Linearizable;
        }
        if steps % STEPS_PER_CLOCK_CHECK == 0 {
            if let Err(e) = budget.check_time() {
                return SearchResult::Exhausted(e);
            }
        }
        steps += 1;

        // The end sentinel cannot be reached while an `ok` op is unlinearized (its return is
        // still in the list, ahead); if it were, undoing is the sound move.
        let at_end = entry == entries.end();
        if !at_end && entries.entries[entry as usize].call {
            let op = entries.entries[entry as usize].op as usize;
            if let Some(next_state) = model.step(&state, &ops[op].op) {
                bits.set(op);
                match cache.insert(&bits.0, &next_state) {
                    Err(e) => return SearchResult::Exhausted(e),
                    Ok(true) => {
                        stack.push((op, std::mem::replace(&mut state, next_state)));
                        entries.lift(op);
                        if ops[op].end.is_some() {
                            remaining_ok -= 1;
                        }
                        entry = entries.next[entries.head() as usize];
                        continue;
                    }
                    Ok(false) => bits.clear(op),
                }
            }
            entry = entries.next[entry as usize];
            continue;
        }

        // A return: the current prefix cannot be extended past it. Note how far we got.
        if !at_end {
            let further = frontier
                .as_ref()
                .is_none_or(|f| (entry, stack.len()) > (f.entry, f.depth));
            if further {
                frontier = Some(Frontier {
                    entry,
                    depth: stack.len(),
                    blocked: entries.entries[entry as usize].op as usize,
                    prefix: prefix_of(&stack, &state),
                });
            }
        }
        let Some((op, previous)) = stack.pop() else {
            return match frontier {
                Some(f) => SearchResult::NotLinearizable {
                    blocked: f.blocked,
                    prefix: f.prefix,
                },
                // Unreachable (failing means undoing at a return entry, which sets the
                // frontier); a sound answer all the same, as some `ok` op is left out.
                None => SearchResult::NotLinearizable {
                    blocked: ops.iter().position(|o| o.end.is_some()).unwrap_or(0),
                    prefix: Vec::new(),
                },
            };
        };
        state = previous;
        bits.clear(op);
        entries.unlift(op);
        if ops[op].end.is_some() {
            remaining_ok += 1;
        }
        entry = entries.next[entries.call_of[op] as usize];
    }
}

/// The linearized ops on the stack with the state after each.
fn prefix_of<S: Clone>(stack: &[(usize, S)], state: &S) -> Vec<(usize, S)> {
    // stack[i] holds op i and the state *before* it; the state after it is the next entry's
    // "before", or the current state for the last.
    stack
        .iter()
        .enumerate()
        .map(|(i, (op, _))| {
            let after = stack.get(i + 1).map_or(state, |(_, before)| before);
            (*op, after.clone())
        })
        .collect()
}
