//! `squall image ...`: guest images for the VM environments (the work is in
//! [`crate::image`]).

use clap::Subcommand;

/// `squall image ...`
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build (or reuse, cached by content hash) a guest image: Debian's cloud kernel, busybox,
    /// the system's binary and its libraries, and squall's init.
    Build(crate::image::ImageBuildArgs),
}
