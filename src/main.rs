//! The `squall` binary (being assembled).

mod env;
mod systems;

fn main() {}
