//! The `squall` binary: squall's own plug-ins ([`squall::registry::Registry::builtin`]) and
//! the whole command line ([`squall::main_with`]). A user's crate does the same with its own
//! plug-ins added (see `examples/`).

fn main() {
    squall::main_with(squall::registry::Registry::builtin());
}
