//! [`Bank`]: transfers between accounts must conserve money (Jepsen's `bank` checker).
//!
//! Ops: `transfer` (value `{"from": a, "to": b, "amount": n}`; EDN `{:from 1 :to 2 :amount
//! 5}` reads as that) and `read` (its `ok` value a map of account → balance; EDN `{0 10, 1
//! 10}` reads as `{"0": 10, "1": 10}`). Transfers move money and never create or destroy
//! it, whatever their outcome, so every `ok` read — a snapshot of all accounts — must sum to
//! the same total, and no balance may be negative (unless [`BankOptions::negative_allowed`]).
//! Transfers themselves are not examined; reads that did not complete `ok` are ignored.
//!
//! The total is [`BankOptions::total`] when given. When not, no single read is trusted to
//! define it (the first read may be the wrong one): it is inferred as the most common sum
//! among the reads (on a tie, the sum of the earliest of the tied reads), every read that
//! differs is wrong, and the explanation says the total was inferred.
//!
//! A read's balance of `null` (Jepsen's nil: an account missing) is wrong too. A read value
//! that is not a map, or a balance that is not an integer, is not a bank history: `Unknown`,
//! naming the read. With no `ok` read the verdict is `Unknown` ("no reads").

use crate::checker::{client_operations, Checker, Verdict};
use crate::operation::Outcome;
use histories::Event;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// What [`Bank`] expects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BankOptions {
    /// The total every read must sum to. Default: none, inferred (see the module docs).
    pub total: Option<i64>,
    /// Negative balances are fine (an overdraft-allowing bank). Default: false.
    pub negative_allowed: bool,
}

/// The bank checker; see the module docs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bank {
    /// Its options.
    pub options: BankOptions,
}

impl Bank {
    /// The checker's name.
    pub const NAME: &'static str = "bank";

    /// A bank checker with these options.
    pub fn new(options: BankOptions) -> Bank {
        Bank { options }
    }
}

/// How many wrong reads the explanation and details list.
const SHOWN: usize = 5;

/// A wrong read.
#[derive(Serialize)]
struct BadRead {
    /// The `ok` completion's history index.
    index: u64,
    /// Its balances' sum (nil balances count 0).
    sum: i128,
    /// Whether the sum is not the total.
    wrong_total: bool,
    /// Accounts with a negative balance.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    negative: Vec<String>,
    /// Accounts whose balance is nil.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    nil: Vec<String>,
}

impl BadRead {
    fn describe(&self, total: i128) -> String {
        let mut what = Vec::new();
        if self.wrong_total {
            what.push(format!("sums to {}, not {total}", self.sum));
        }
        if !self.negative.is_empty() {
            what.push(format!("negative balance in {}", self.negative.join(", ")));
        }
        if !self.nil.is_empty() {
            what.push(format!("nil balance in {}", self.nil.join(", ")));
        }
        format!("read at history index {}: {}", self.index, what.join("; "))
    }
}

/// One `ok` read, summed.
struct Read {
    index: u64,
    sum: i128,
    negative: Vec<String>,
    nil: Vec<String>,
}

impl Checker for Bank {
    fn name(&self) -> &str {
        Self::NAME
    }

    /// Explanation: a summary (`1 of 3 reads wrong (total 100, inferred: the sum of 2 of 3
    /// reads)`), then a line per wrong read, the first few: `read at history index 7: sums
    /// to 95, not 100; negative balance in 2`. Details: `total`, `total_inferred`, `reads`,
    /// `bad_count`, `bad` (index, sum, negative and nil accounts).
    fn check(&self, history: &[Event]) -> Verdict {
        let ops = match client_operations(Self::NAME, history) {
            Ok(ops) => ops,
            Err(unknown) => return *unknown,
        };
        let mut reads = Vec::new();
        for op in ops
            .iter()
            .filter(|o| o.f == "read" && o.outcome == Outcome::Ok)
        {
            let index = op.completion_index.unwrap_or(op.invoke_index);
            let value = op.completion_value.as_ref().unwrap_or(&Value::Null);
            match sum(value) {
                Ok((sum, negative, nil)) => reads.push(Read {
                    index,
                    sum,
                    negative,
                    nil,
                }),
                Err(why) => {
                    return Verdict::unknown(Self::NAME, format!("history index {index}: {why}"))
                }
            }
        }
        if reads.is_empty() {
            return Verdict::unknown(Self::NAME, "no reads: no read completed ok");
        }
        let (total, inferred) = match self.options.total {
            Some(t) => (i128::from(t), None),
            None => {
                // The most common sum; ties go to the earliest read's.
                let mut tally: BTreeMap<i128, (usize, usize)> = BTreeMap::new();
                for (i, r) in reads.iter().enumerate() {
                    tally.entry(r.sum).or_insert((0, i)).0 += 1;
                }
                let (&sum, &(n, _)) = tally
                    .iter()
                    .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1)))
                    .expect("at least one read");
                let tied = tally.values().filter(|(m, _)| *m == n).count() > 1;
                (sum, Some((n, tied)))
            }
        };
        let mut bad = Vec::new();
        let mut bad_count = 0;
        for r in reads.iter() {
            let negative = if self.options.negative_allowed {
                Vec::new()
            } else {
                r.negative.clone()
            };
            let wrong_total = r.sum != total;
            if wrong_total || !negative.is_empty() || !r.nil.is_empty() {
                bad_count += 1;
                if bad.len() < SHOWN {
                    bad.push(BadRead {
                        index: r.index,
                        sum: r.sum,
                        wrong_total,
                        negative,
                        nil: r.nil.clone(),
                    });
                }
            }
        }
        let n = reads.len();
        let total_text = match inferred {
            None => format!("total {total}"),
            Some((agree, tied)) => format!(
                "total {total}, inferred: the sum of {agree} of {n} read{}{}",
                if n == 1 { "" } else { "s" },
                if tied {
                    ", tied with another sum; the earliest read's chosen"
                } else {
                    ""
                }
            ),
        };
        let details = json!({
            "total": total,
            "total_inferred": inferred.is_some(),
            "negative_allowed": self.options.negative_allowed,
            "reads": n,
            "bad_count": bad_count,
            "bad": bad,
        });
        if bad_count == 0 {
            let negative = if self.options.negative_allowed {
                "negative balances allowed"
            } else {
                "no negative balance"
            };
            let all = if n == 1 {
                "the read sums"
            } else {
                "all reads sum"
            };
            let explanation = format!(
                "{all} to the total ({n} read{}; {total_text}); {negative}",
                if n == 1 { "" } else { "s" }
            );
            return Verdict::valid(Self::NAME, explanation).with_details(details);
        }
        let mut explanation = format!("{bad_count} of {n} reads wrong ({total_text})");
        for b in &bad {
            explanation += "\n";
            explanation += &b.describe(total);
        }
        if bad_count > bad.len() {
            explanation += &format!("\nand {} more", bad_count - bad.len());
        }
        Verdict::invalid(Self::NAME, explanation).with_details(details)
    }
}

/// A read's sum, its negative accounts and its nil ones; or why it is not a bank read.
fn sum(value: &Value) -> Result<(i128, Vec<String>, Vec<String>), String> {
    let Some(accounts) = value.as_object() else {
        return Err(format!(
            "read returned {value}, not a map of account to balance"
        ));
    };
    let (mut sum, mut negative, mut nil) = (0i128, Vec::new(), Vec::new());
    for (account, balance) in accounts {
        match balance {
            Value::Null => nil.push(account.clone()),
            b => {
                let Some(b) = b.as_i64() else {
                    return Err(format!("account {account}'s balance {b} is not an integer"));
                };
                sum += i128::from(b);
                if b < 0 {
                    negative.push(account.clone());
                }
            }
        }
    }
    Ok((sum, negative, nil))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::history;
    use crate::verdict::Validity;

    const T: &str = r#"p0 invoke transfer {"from":0,"to":1,"amount":5}; p0 ok transfer {"from":0,"to":1,"amount":5}"#;

    #[test]
    fn accepted_and_rejected_histories() {
        use Validity::*;
        let none = BankOptions::default();
        let total = |t| BankOptions {
            total: Some(t),
            ..none
        };
        let overdraft = BankOptions {
            negative_allowed: true,
            ..none
        };
        let table: Vec<(&str, String, BankOptions, Validity, &str)> = vec![
            (
                "reads sum to the total",
                format!(r#"{T}; p1 invoke read; p1 ok read {{"0":5,"1":15}}; p1 invoke read; p1 ok read {{"0":10,"1":10}}"#),
                total(20),
                Valid,
                "all reads sum to the total (2 reads; total 20); no negative balance",
            ),
            (
                "inferred total",
                format!(r#"{T}; p1 invoke read; p1 ok read {{"0":5,"1":15}}"#),
                none,
                Valid,
                "total 20, inferred: the sum of 1 of 1 read",
            ),
            (
                "a read off the given total",
                format!(r#"{T}; p1 invoke read; p1 ok read {{"0":5,"1":15}}; p1 invoke read; p1 ok read {{"0":5,"1":10}}"#),
                total(20),
                Invalid,
                "1 of 2 reads wrong (total 20)\nread at history index 5: sums to 15, not 20",
            ),
            (
                "the first read is the odd one out",
                format!(r#"{T}; p1 invoke read; p1 ok read {{"0":5,"1":10}}; p1 invoke read; p1 ok read {{"0":5,"1":15}}; p1 invoke read; p1 ok read {{"0":10,"1":10}}"#),
                none,
                Invalid,
                "1 of 3 reads wrong (total 20, inferred: the sum of 2 of 3 reads)\nread at history index 3: sums to 15, not 20",
            ),
            (
                "a tie picks the earliest read's sum, saying so",
                format!(r#"{T}; p1 invoke read; p1 ok read {{"0":5,"1":10}}; p1 invoke read; p1 ok read {{"0":5,"1":15}}"#),
                none,
                Invalid,
                "total 15, inferred: the sum of 1 of 2 reads, tied with another sum; the earliest read's chosen)\nread at history index 5: sums to 20, not 15",
            ),
            (
                "a negative balance",
                format!(r#"{T}; p1 invoke read; p1 ok read {{"0":-5,"1":25}}"#),
                total(20),
                Invalid,
                "read at history index 3: negative balance in 0",
            ),
            (
                "a negative balance where allowed",
                format!(r#"{T}; p1 invoke read; p1 ok read {{"0":-5,"1":25}}"#),
                overdraft,
                Valid,
                "negative balances allowed",
            ),
            (
                "a nil balance",
                format!(r#"{T}; p1 invoke read; p1 ok read {{"0":20,"1":null}}"#),
                total(20),
                Invalid,
                "read at history index 3: nil balance in 1",
            ),
            (
                "failed and indeterminate reads are ignored",
                format!(r#"{T}; p1 invoke read; p1 fail read; p2 invoke read; p2 info read; p3 invoke read; p3 ok read {{"0":20}}"#),
                total(20),
                Valid,
                "the read sums to the total (1 read; total 20)",
            ),
            (
                "no ok read",
                format!("{T}; p1 invoke read; p1 fail read"),
                none,
                Unknown,
                "no reads",
            ),
            (
                "a read that is not a map",
                format!("{T}; p1 invoke read; p1 ok read [1,2]"),
                none,
                Unknown,
                "history index 3: read returned [1,2], not a map of account to balance",
            ),
            (
                "a balance that is not an integer",
                format!(r#"{T}; p1 invoke read; p1 ok read {{"0":"x"}}"#),
                none,
                Unknown,
                "history index 3: account 0's balance \"x\" is not an integer",
            ),
        ];
        for (what, text, options, want, explanation) in table {
            let v = Bank::new(options).check(&history(&text));
            assert_eq!(v.valid, want, "{what}: {v}");
            assert!(v.explanation.contains(explanation), "{what}: {v}");
        }
    }

    #[test]
    fn details_name_the_bad_reads() {
        let text = format!(
            r#"{T}; p1 invoke read; p1 ok read {{"0":10,"1":10}}; p1 invoke read; p1 ok read {{"0":-1,"1":10}}"#
        );
        let v = Bank::new(BankOptions {
            total: Some(20),
            negative_allowed: false,
        })
        .check(&history(&text));
        assert_eq!(v.details["bad_count"], 1);
        assert_eq!(
            v.details["bad"][0],
            json!({"index": 5, "sum": 9, "wrong_total": true, "negative": ["0"]})
        );
        assert_eq!(v.details["total_inferred"], false);
    }
}
