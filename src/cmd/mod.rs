//! The subcommands, one file each, owning its arguments ([`crate::cli::main_with`] parses
//! the command line and hands each subcommand to its file): [`run`] (and the test options
//! `plan` and `soak` share), [`plan`], [`replay`], [`soak`], [`check`], [`clean`], [`bench`],
//! [`doctor`], [`export`], [`report`], [`image`].

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
pub mod soak;
