//! A directory kept as one compressed file: a local node's data directory, for a
//! post-mortem (what a VM's snapshot is for the `cloud-hypervisor` environment).
//!
//! tar + gzip, written in-process (the `tar` and `flate2` crates, pure-Rust deflate), so
//! the host needs no tools, and `tar xzf` opens it anywhere. Streamed: memory stays small
//! whatever the directory's size. Symlinks are stored as links, never followed (a node's
//! data directory is the system's to fill, and a link out of it must not pull the host's
//! files into the store).

use flate2::write::GzEncoder;
use flate2::Compression;

use std::io;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// Writes the directory `src` as `dest` (`.tar.gz`, mode 0600: the system's data is no
/// one else's to read, as in its data directory), its entries under the folder name `top`;
/// returns the size of `dest`. A failed write removes `dest`.
pub fn tar_gz(src: &Path, top: &str, dest: &Path) -> io::Result<u64> {
    let write = || -> io::Result<u64> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(dest)?;
        let gz = GzEncoder::new(io::BufWriter::new(file), Compression::fast());
        let mut tar = tar::Builder::new(gz);
        tar.follow_symlinks(false);
        tar.append_dir_all(top, src)?;
        let gz = tar.into_inner()?;
        let file = gz.finish()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(file.metadata()?.len())
    };
    write().inspect_err(|_| {
        let _ = std::fs::remove_file(dest);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::fs::File;

    #[test]
    fn a_directory_round_trips_and_links_stay_links() {
        let base = std::env::temp_dir().join(format!("sqarchive-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let src = base.join("n1");
        std::fs::create_dir_all(src.join("member/wal")).unwrap();
        std::fs::write(src.join("member/wal/0.wal"), vec![7u8; 100_000]).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", src.join("outside")).unwrap();
        let dest = base.join("data.tar.gz");
        let size = tar_gz(&src, "data", &dest).unwrap();
        assert_eq!(size, std::fs::metadata(&dest).unwrap().len());
        assert!(size < 10_000, "compressed: {size}");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mut a = tar::Archive::new(GzDecoder::new(File::open(&dest).unwrap()));
        let out = base.join("out");
        a.unpack(&out).unwrap();
        assert_eq!(
            std::fs::read(out.join("data/member/wal/0.wal")).unwrap(),
            vec![7u8; 100_000]
        );
        let link = out.join("data/outside");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        // A directory that cannot be read leaves no file behind.
        let missing = tar_gz(&base.join("nope"), "data", &base.join("x.tar.gz"));
        assert!(missing.is_err());
        assert!(!base.join("x.tar.gz").exists());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
