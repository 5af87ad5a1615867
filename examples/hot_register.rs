//! A user's own workload, added to squall from outside its crate, with the whole command line.
//!
//! `hot-register` contends on one register: every worker reads, writes and compare-and-sets
//! a single key, mostly compare-and-sets — the shape that finds lost updates. Its ops are
//! register ops, so any system that speaks those (etcd does) runs it unchanged, and its
//! checkers are the cas-register workload's (linearizability over the cas-register model, and
//! stats).
//!
//! ```sh
//! cargo run --release --example hot_register -- run --workload hot-register --seed 1
//! cargo run --release --example hot_register -- plan --workload hot-register --seed 1 | head
//! ```

use squall::registry::Registry;
use workloads::{Mix, Op, OpGen, RegisterOp, Rng, Workload, WorkloadOptions};

/// One hot key, values `0..3`.
struct HotRegister;

const KEY: u64 = 0;
const VALUES: u64 = 3;

impl Workload for HotRegister {
    fn name(&self) -> &'static str {
        "hot-register"
    }

    fn model(&self) -> &'static str {
        "cas-register"
    }

    fn ops(&self) -> &'static str {
        "register"
    }

    fn setup(&self) -> Vec<Op> {
        vec![RegisterOp::Write { key: KEY, value: 0 }.to_op()]
    }

    fn generator(&self, _worker: usize, _workers: usize) -> Box<dyn OpGen> {
        let value = |r: &mut Rng| r.below(VALUES) as i64;
        Box::new(Mix(vec![
            (
                1,
                Box::new(|_: &mut Rng| RegisterOp::Read { key: KEY }.to_op()),
            ),
            (
                1,
                Box::new(move |r: &mut Rng| {
                    let value = value(r);
                    RegisterOp::Write { key: KEY, value }.to_op()
                }),
            ),
            (
                3,
                Box::new(move |r: &mut Rng| {
                    let (old, new) = (value(r), value(r));
                    RegisterOp::Cas { key: KEY, old, new }.to_op()
                }),
            ),
        ]))
    }

    fn finals(&self) -> Vec<Op> {
        vec![RegisterOp::Read { key: KEY }.to_op()]
    }

    fn checker(&self) -> Box<dyn checkers::Checker> {
        // Register ops on independent keys, as the cas-register workload's: its checkers.
        workloads::CasRegister::new(&WorkloadOptions::keys(1))
            .expect("no options given, none wrong")
            .checker()
    }
}

fn main() {
    let registry = Registry::builtin().workload("hot-register", |opts: &WorkloadOptions| {
        opts.none("hot-register")?;
        Ok(Box::new(HotRegister))
    });
    squall::main_with(registry);
}
