//! The bank workload (Jepsen's `bank`): money moves between accounts by transfers, and reads
//! of every balance must always sum to the same total (and never go negative): a read that
//! sees half a transfer, or a transfer applied twice, shows as a wrong total.
//!
//! Ops, in Jepsen's shape: `transfer {"from": a, "to": b, "amount": n}` (completing with the
//! same value; a transfer the system refuses for want of funds is a `fail`), and `read nil`
//! completing with every balance, `{"0": 10, "1": 0, ...}` (JSON keys are strings; Jepsen's
//! EDN has integer keys). The setup op `init` carries the initial balances in the same shape:
//! every account starts with [`BankOptions::initial_balance`]. Accounts are `0..keys`.
//!
//! Its options, in the test file's `[bank]` table (or `-o bank.KEY=VALUE`):
//! `initial_balance` (10), `max_transfer` (5), `negative_allowed` (false: a read with a
//! negative balance is an anomaly).

use crate::client::Op;
use crate::generator::{Mix, OpGen};
use crate::rng::Rng;
use crate::workload::{Workload, WorkloadError, WorkloadOptions};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The bank workload's own options (its `[bank]` table).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BankOptions {
    /// Each account's balance before the test.
    pub initial_balance: i64,
    /// Transfers move `1..=max_transfer`.
    pub max_transfer: u64,
    /// Whether a balance may go negative (a system that does not refuse overdrafts).
    pub negative_allowed: bool,
}

impl Default for BankOptions {
    fn default() -> Self {
        BankOptions {
            initial_balance: 10,
            max_transfer: 5,
            negative_allowed: false,
        }
    }
}

/// One bank op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BankOp {
    /// Set every balance (the setup op).
    Init(Vec<(u64, i64)>),
    /// Move `amount` from one account to another.
    Transfer {
        /// The account debited.
        from: u64,
        /// The account credited.
        to: u64,
        /// How much.
        amount: i64,
    },
    /// Read every balance.
    Read,
}

impl BankOp {
    /// The op as data.
    pub fn to_op(&self) -> Op {
        match self {
            BankOp::Init(balances) => Op::new("init", Self::balances_value(balances)),
            BankOp::Transfer { from, to, amount } => Op::new(
                "transfer",
                json!({"from": from, "to": to, "amount": amount}),
            ),
            BankOp::Read => Op::new("read", Value::Null),
        }
    }

    /// The bank op `op` is, or why it is none.
    pub fn from_op(op: &Op) -> Result<BankOp, String> {
        let bad = || format!("not a bank op: {} {}", op.f, op.value);
        match op.f.as_str() {
            "read" => Ok(BankOp::Read),
            "transfer" => {
                let field = |k: &str| op.value.get(k).and_then(Value::as_i64).ok_or_else(bad);
                let (from, to, amount) = (field("from")?, field("to")?, field("amount")?);
                if from < 0 || to < 0 {
                    return Err(bad());
                }
                Ok(BankOp::Transfer {
                    from: from as u64,
                    to: to as u64,
                    amount,
                })
            }
            "init" => Self::parse_balances(&op.value)
                .map(BankOp::Init)
                .ok_or_else(bad),
            _ => Err(bad()),
        }
    }

    /// Balances as the history carries them: `{"0": 10, ...}`.
    pub fn balances_value(balances: &[(u64, i64)]) -> Value {
        let map: Map<String, Value> = balances
            .iter()
            .map(|(a, b)| (a.to_string(), json!(b)))
            .collect();
        Value::Object(map)
    }

    /// Balances from `{"0": 10, ...}`, by account; `None` if it is not that shape.
    pub fn parse_balances(v: &Value) -> Option<Vec<(u64, i64)>> {
        let mut out: Vec<(u64, i64)> = v
            .as_object()?
            .iter()
            .map(|(k, v)| Some((k.parse().ok()?, v.as_i64()?)))
            .collect::<Option<_>>()?;
        out.sort_unstable();
        Some(out)
    }
}

/// The bank workload.
#[derive(Clone, Debug)]
pub struct Bank {
    accounts: u64,
    options: BankOptions,
}

impl Bank {
    /// A bank of `opts.keys` accounts (at least two), with the options of its `[bank]`
    /// table; an error names a wrong one.
    pub fn new(opts: &WorkloadOptions) -> Result<Self, WorkloadError> {
        let options: BankOptions = opts.own("bank")?;
        let bad = |cause: &str| WorkloadError::Options {
            workload: "bank".into(),
            cause: cause.into(),
        };
        if options.max_transfer == 0 {
            return Err(bad("max_transfer = 0: a transfer moves at least 1"));
        }
        if options.initial_balance < 0 {
            return Err(bad("initial_balance: must not be negative"));
        }
        Ok(Bank {
            accounts: opts.keys.max(2),
            options,
        })
    }

    /// The total every read must see.
    pub fn total(&self) -> i64 {
        self.accounts as i64 * self.options.initial_balance
    }
}

impl Workload for Bank {
    fn name(&self) -> &'static str {
        "bank"
    }

    fn model(&self) -> &'static str {
        "bank"
    }

    fn ops(&self) -> &'static str {
        "bank"
    }

    fn setup(&self) -> Vec<Op> {
        let initial = self.options.initial_balance;
        let balances: Vec<(u64, i64)> = (0..self.accounts).map(|a| (a, initial)).collect();
        vec![BankOp::Init(balances).to_op()]
    }

    fn generator(&self, _worker: usize, _workers: usize) -> Box<dyn OpGen> {
        let (accounts, max_transfer) = (self.accounts, self.options.max_transfer);
        Box::new(Mix(vec![
            (1, Box::new(|_: &mut Rng| BankOp::Read.to_op())),
            (
                3,
                Box::new(move |r: &mut Rng| {
                    let from = r.below(accounts);
                    // Another account: one of the other `accounts - 1`.
                    let to = (from + 1 + r.below(accounts - 1)) % accounts;
                    let amount = 1 + r.below(max_transfer) as i64;
                    BankOp::Transfer { from, to, amount }.to_op()
                }),
            ),
        ]))
    }

    fn finals(&self) -> Vec<Op> {
        vec![BankOp::Read.to_op()]
    }

    fn checker(&self) -> Box<dyn checkers::Checker> {
        // The total is known: it is what `init` wrote.
        let bank = checkers::Bank::new(checkers::BankOptions {
            total: Some(self.total()),
            negative_allowed: self.options.negative_allowed,
        });
        Box::new(checkers::Compose::new().with(bank).with(checkers::Stats))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_move_money_between_two_accounts_and_reads_are_mixed_in() {
        let w = Bank::new(&WorkloadOptions::keys(4)).unwrap();
        let mut g = w.generator(0, 1);
        let mut rng = Rng::new(5, 1);
        let ops: Vec<BankOp> = (0..400)
            .map(|_| BankOp::from_op(&g.op(&mut rng)).unwrap())
            .collect();
        let reads = ops.iter().filter(|o| **o == BankOp::Read).count();
        assert!((50..150).contains(&reads), "{reads}");
        for o in &ops {
            if let BankOp::Transfer { from, to, amount } = *o {
                assert!(from < 4 && to < 4 && from != to, "{o:?}");
                assert!((1..=5).contains(&amount));
            }
        }
        assert_eq!(w.total(), 40);
        let init = BankOp::from_op(&w.setup()[0]).unwrap();
        assert_eq!(init, BankOp::Init((0..4).map(|a| (a, 10)).collect()));
    }

    #[test]
    fn ops_read_back_and_bad_ones_are_refused() {
        let t = BankOp::Transfer {
            from: 1,
            to: 0,
            amount: 3,
        };
        assert_eq!(t.to_op().value, json!({"from": 1, "to": 0, "amount": 3}));
        assert_eq!(BankOp::from_op(&t.to_op()), Ok(t));
        assert_eq!(BankOp::from_op(&BankOp::Read.to_op()), Ok(BankOp::Read));
        for bad in [
            Op::new("transfer", json!({"from": 1, "to": 0})),
            Op::new("transfer", json!({"from": -1, "to": 0, "amount": 1})),
            Op::new("init", json!({"x": 1})),
            Op::new("add", json!(1)),
        ] {
            assert!(BankOp::from_op(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            BankOp::parse_balances(&json!({"1": 4, "0": 6})),
            Some(vec![(0, 6), (1, 4)])
        );
    }
}
