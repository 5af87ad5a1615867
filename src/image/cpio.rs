//! A tree of files and its serialisation as a `newc` cpio archive, the format of a Linux
//! initramfs (`Documentation/driver-api/early-userspace/buffer-format.rst`).
//!
//! Each entry is a 110-byte ASCII header (`070701` and thirteen 8-digit hex fields), the
//! NUL-terminated name padded to a multiple of 4, then the data padded to a multiple of 4;
//! a `TRAILER!!!` entry ends the archive. The writer is deterministic: entries go out in
//! path order (a directory before what it holds), owned by root, with mtime 0, and inode
//! numbers by position — the same tree gives the same bytes. Device nodes need no
//! privileges to write, which is why the image carries its own `/dev/console`.

use anyhow::{bail, Context as _};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read as _, Write};
use std::path::{Path, PathBuf};

/// Where a regular file's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Bytes held in memory.
    Bytes(Vec<u8>),
    /// A file on the host, read when the archive is written.
    Host(PathBuf),
}

/// One entry of a [`Tree`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A directory.
    Dir {
        /// Permission bits.
        mode: u32,
    },
    /// A regular file.
    File {
        /// Permission bits.
        mode: u32,
        /// Its content.
        source: Source,
    },
    /// A symbolic link to `target`.
    Symlink {
        /// What it points to.
        target: String,
    },
    /// A character device.
    CharDev {
        /// Permission bits.
        mode: u32,
        /// Device major number.
        major: u32,
        /// Device minor number.
        minor: u32,
    },
}

/// A file tree, keyed by path relative to the root (`bin/sh`, no leading `/`).
#[derive(Clone, Debug, Default)]
pub struct Tree {
    entries: BTreeMap<String, Node>,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Self {
        Tree::default()
    }

    /// Adds `node` at `path` (a leading `/` is ignored), creating missing parent
    /// directories (0755). A later insert at the same path replaces the earlier one.
    pub fn insert(&mut self, path: &str, node: Node) {
        let path = path.trim_start_matches('/').trim_end_matches('/');
        assert!(
            !path.is_empty() && !path.split('/').any(|c| c.is_empty() || c == ".."),
            "bad path in an image tree: {path:?}"
        );
        let mut at = 0;
        while let Some(i) = path[at..].find('/') {
            let parent = &path[..at + i];
            self.entries
                .entry(parent.to_string())
                .or_insert(Node::Dir { mode: 0o755 });
            at += i + 1;
        }
        self.entries.insert(path.to_string(), node);
    }

    /// Adds a directory.
    pub fn dir(&mut self, path: &str, mode: u32) {
        self.insert(path, Node::Dir { mode });
    }

    /// Adds a regular file.
    pub fn file(&mut self, path: &str, mode: u32, source: Source) {
        self.insert(path, Node::File { mode, source });
    }

    /// Adds a symbolic link.
    pub fn symlink(&mut self, path: &str, target: &str) {
        self.insert(
            path,
            Node::Symlink {
                target: target.to_string(),
            },
        );
    }

    /// Whether `path` is in the tree.
    pub fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(path.trim_start_matches('/'))
    }

    /// The entries in path order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.entries.iter().map(|(p, n)| (p.as_str(), n))
    }

    /// Writes the tree as a newc cpio archive; returns the number of bytes written.
    pub fn write_cpio<W: Write>(&self, out: W) -> anyhow::Result<u64> {
        let mut w = CountingWriter { out, n: 0 };
        for (ino, (path, node)) in self.entries.iter().enumerate() {
            let ino = u32::try_from(ino + 1).context("too many files for cpio")?;
            match node {
                Node::Dir { mode } => {
                    header(&mut w, ino, 0o040000 | mode, 2, 0, (0, 0), path)?;
                }
                Node::Symlink { target } => {
                    let len = target.len() as u64;
                    header(&mut w, ino, 0o120777, 1, len, (0, 0), path)?;
                    w.write_all(target.as_bytes())?;
                    pad(&mut w)?;
                }
                Node::CharDev { mode, major, minor } => {
                    header(&mut w, ino, 0o020000 | mode, 1, 0, (*major, *minor), path)?;
                }
                Node::File { mode, source } => match source {
                    Source::Bytes(bytes) => {
                        header(
                            &mut w,
                            ino,
                            0o100000 | mode,
                            1,
                            bytes.len() as u64,
                            (0, 0),
                            path,
                        )?;
                        w.write_all(bytes)?;
                        pad(&mut w)?;
                    }
                    Source::Host(host) => {
                        let mut file = File::open(host)
                            .with_context(|| format!("opening {}", host.display()))?;
                        let len = file.metadata()?.len();
                        header(&mut w, ino, 0o100000 | mode, 1, len, (0, 0), path)?;
                        let copied = io::copy(&mut (&mut file).take(len), &mut w)
                            .with_context(|| format!("reading {}", host.display()))?;
                        if copied != len {
                            bail!("{} changed size while being archived", host.display());
                        }
                        pad(&mut w)?;
                    }
                },
            }
        }
        header(&mut w, 0, 0, 1, 0, (0, 0), "TRAILER!!!")?;
        w.flush()?;
        Ok(w.n)
    }
}

/// A writer that counts bytes, so entries can be padded to the archive's 4-byte alignment.
struct CountingWriter<W> {
    out: W,
    n: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let k = self.out.write(buf)?;
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn pad<W: Write>(w: &mut CountingWriter<W>) -> io::Result<()> {
    let k = (4 - (w.n % 4) as usize) % 4;
    w.write_all(&[0; 3][..k])
}

fn header<W: Write>(
    w: &mut CountingWriter<W>,
    ino: u32,
    mode: u32,
    nlink: u32,
    size: u64,
    rdev: (u32, u32),
    name: &str,
) -> anyhow::Result<()> {
    let size = u32::try_from(size).with_context(|| format!("{name}: too large for cpio"))?;
    let namesize = name.len() + 1;
    write!(
        w,
        "070701{ino:08x}{mode:08x}{uid:08x}{gid:08x}{nlink:08x}{mtime:08x}{size:08x}\
         {dmaj:08x}{dmin:08x}{rmaj:08x}{rmin:08x}{namesize:08x}{check:08x}",
        uid = 0,
        gid = 0,
        mtime = 0,
        dmaj = 0,
        dmin = 0,
        rmaj = rdev.0,
        rmin = rdev.1,
        check = 0,
    )?;
    w.write_all(name.as_bytes())?;
    w.write_all(&[0])?;
    pad(w)?;
    Ok(())
}

/// An entry read back from an archive: path, mode (type and permission bits), the device
/// numbers of a device node, and the data (a symlink's data is its target).
pub type ReadEntry = (String, u32, (u32, u32), Vec<u8>);

/// Reads a newc archive back, trailer excluded. For the tests, and for a person checking
/// what an image holds.
#[cfg_attr(not(test), allow(dead_code))]
pub fn read_cpio(bytes: &[u8]) -> anyhow::Result<Vec<ReadEntry>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    let align = |x: usize| (x + 3) & !3;
    loop {
        let h = bytes.get(at..at + 110).context("truncated cpio header")?;
        if &h[..6] != b"070701" {
            bail!("bad cpio magic at {at}");
        }
        let field = |i: usize| -> anyhow::Result<u32> {
            let s = std::str::from_utf8(&h[6 + 8 * i..14 + 8 * i])?;
            Ok(u32::from_str_radix(s, 16)?)
        };
        let (mode, size, rmaj, rmin, namesize) =
            (field(1)?, field(6)?, field(9)?, field(10)?, field(11)?);
        let name_start = at + 110;
        let name = bytes
            .get(name_start..name_start + namesize as usize - 1)
            .context("truncated cpio name")?;
        let name = String::from_utf8(name.to_vec())?;
        let data_start = align(name_start + namesize as usize);
        let data = bytes
            .get(data_start..data_start + size as usize)
            .context("truncated cpio data")?
            .to_vec();
        at = align(data_start + size as usize);
        if name == "TRAILER!!!" {
            if at != bytes.len() {
                bail!("bytes after the cpio trailer");
            }
            return Ok(out);
        }
        out.push((name, mode, (rmaj, rmin), data));
    }
}

/// The tree path of a host file placed at the same absolute path in the guest.
pub fn guest_path(path: &Path) -> anyhow::Result<String> {
    let s = path
        .to_str()
        .with_context(|| format!("{} is not UTF-8", path.display()))?;
    if !s.starts_with('/') {
        bail!("{s}: not an absolute path");
    }
    Ok(s.trim_start_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Tree {
        let mut t = Tree::new();
        t.file("/init", 0o755, Source::Bytes(b"#!/bin/sh\n".to_vec()));
        t.file(
            "etc/hosts",
            0o644,
            Source::Bytes(b"127.0.0.1 localhost\n".to_vec()),
        );
        t.symlink("bin/sh", "busybox");
        t.insert(
            "dev/console",
            Node::CharDev {
                mode: 0o600,
                major: 5,
                minor: 1,
            },
        );
        t.file("a-b", 0o600, Source::Bytes(vec![1, 2, 3, 4, 5]));
        t
    }

    #[test]
    fn round_trips_through_the_reader() {
        let mut bytes = Vec::new();
        let n = sample().write_cpio(&mut bytes).unwrap();
        assert_eq!(n as usize, bytes.len());
        assert_eq!(bytes.len() % 4, 0);
        let entries = read_cpio(&bytes).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "a-b",
                "bin",
                "bin/sh",
                "dev",
                "dev/console",
                "etc",
                "etc/hosts",
                "init"
            ]
        );
        let get = |name: &str| entries.iter().find(|e| e.0 == name).unwrap();
        assert_eq!(get("init").1, 0o100755);
        assert_eq!(get("init").3, b"#!/bin/sh\n");
        assert_eq!(get("bin").1, 0o040755);
        assert_eq!(get("bin/sh").1, 0o120777);
        assert_eq!(get("bin/sh").3, b"busybox");
        assert_eq!(get("dev/console").1, 0o020600);
        assert_eq!(get("dev/console").2, (5, 1));
        assert_eq!(get("a-b").3, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn output_is_deterministic() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        sample().write_cpio(&mut a).unwrap();
        sample().write_cpio(&mut b).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn host_files_are_streamed() {
        let dir = std::env::temp_dir().join(format!("sqcpio-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let host = dir.join("blob");
        let blob: Vec<u8> = (0..10_001u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&host, &blob).unwrap();
        let mut t = Tree::new();
        t.file("usr/bin/blob", 0o755, Source::Host(host.clone()));
        let mut bytes = Vec::new();
        t.write_cpio(&mut bytes).unwrap();
        let entries = read_cpio(&bytes).unwrap();
        assert_eq!(entries.last().unwrap().3, blob);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// GNU cpio (or busybox cpio) lists what the writer wrote, when one is installed.
    #[test]
    fn an_external_cpio_reads_it() {
        let Some(cpio) = ["/usr/bin/cpio", "/bin/cpio"]
            .into_iter()
            .find(|p| Path::new(p).exists())
        else {
            eprintln!("skipped: no cpio binary (apt-get install cpio)");
            return;
        };
        let mut bytes = Vec::new();
        sample().write_cpio(&mut bytes).unwrap();
        let mut child = std::process::Command::new(cpio)
            .args(["-t", "--quiet"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let listed = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            listed.lines().collect::<Vec<_>>(),
            [
                "a-b",
                "bin",
                "bin/sh",
                "dev",
                "dev/console",
                "etc",
                "etc/hosts",
                "init"
            ]
        );
    }

    #[test]
    #[should_panic(expected = "bad path")]
    fn parent_references_are_refused() {
        Tree::new().dir("a/../b", 0o755);
    }
}
