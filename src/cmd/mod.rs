//! The subcommands, one file each, owning its arguments ([`crate::cli::main_with`] parses
//! the command line and hands each subcommand to its file): [`run`] (the test options `plan`
//! and `soak` share are [`test_args`]; [`run_plan`]: `run --plan FILE`), [`plan`], [`replay`], [`soak`],
//! [`shrink`], [`check`], [`clean`], [`bench`], [`doctor`], [`export`], [`report`], [`image`].

pub mod bench;
pub mod check;
pub mod clean;
pub mod doctor;
pub mod export;
pub mod image;
pub mod plan;
pub mod replay;
pub mod report;
pub mod run;
pub mod run_plan;
pub mod shrink;
pub mod soak;
pub mod test_args;
