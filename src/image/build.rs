//! Assembling a guest image: the file tree (init, busybox, the system's binaries and the
//! libraries their loader resolves, `/etc`, the kernel modules), its content hash, and the
//! cache directory `<cache>/images/<hash>/` it lands in.
//!
//! The hash covers every input — the kernel package file, busybox, each binary and
//! library (path, mode, bytes), the init script, the `/etc` files and the module list —
//! plus [`FORMAT`], so a change to any of them, or to how an image is laid out, builds a
//! new image, and an unchanged host reuses the old one without unpacking anything.

use super::cpio::{self, Node, Source, Tree};
use super::elf::Elf;
use super::{kernel, kmod, GuestImage};
use anyhow::{bail, Context as _};
use sha2::{Digest as _, Sha256};
use std::io::{BufWriter, Read as _};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Bumped whenever the layout of an image changes, so old cache entries are not reused.
pub const FORMAT: &str = "squall-guest-image-1";

/// The init, PID 1 of every guest.
pub const INIT_SH: &str = include_str!("init.sh");

/// The kernel file in an image directory.
pub const KERNEL_FILE: &str = "bzImage";
/// The initramfs file in an image directory (an uncompressed newc cpio).
pub const INITRAMFS_FILE: &str = "initramfs.cpio";
/// What the image holds, for people (JSON).
pub const MANIFEST_FILE: &str = "manifest.json";

/// What to build.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// The system whose node the image runs (`etcd`): it names the image.
    pub system: String,
    /// The system's binaries the image carries, at the same paths, with their libraries
    /// (its [`crate::systems::System::image_binaries`], as the test configures it: the
    /// binaries its options name).
    pub binaries: Vec<PathBuf>,
    /// The cache directory (`/var/cache/squall` by default).
    pub cache: PathBuf,
    /// A kernel package file to use instead of downloading Debian's cloud kernel.
    pub kernel_deb: Option<PathBuf>,
    /// More host binaries to carry (at the same path), with their libraries.
    pub extra_binaries: Vec<PathBuf>,
}

impl BuildOptions {
    /// The image of the node of `system`, registered as `name` (its binaries as its test
    /// configured them), in `cache`, with Debian's cloud kernel and nothing more.
    pub fn of(
        name: &str,
        system: &dyn crate::systems::System,
        cache: &Path,
    ) -> anyhow::Result<Self> {
        Ok(BuildOptions {
            system: name.to_string(),
            binaries: system.image_binaries()?,
            cache: cache.to_path_buf(),
            kernel_deb: None,
            extra_binaries: Vec::new(),
        })
    }
}

/// A built (or reused) image.
#[derive(Clone, Debug)]
pub struct Built {
    /// The image.
    pub image: GuestImage,
    /// Whether it was already in the cache.
    pub cached: bool,
}

/// Builds the image `opts` describe, or finds it in the cache; updates the
/// `<cache>/images/<system>.latest` pointer either way.
pub fn build_with(opts: &BuildOptions) -> anyhow::Result<Built> {
    let images = opts.cache.join("images");
    std::fs::create_dir_all(&images)
        .with_context(|| format!("creating the image cache {}", images.display()))?;
    let deb = match &opts.kernel_deb {
        Some(deb) if deb.is_file() => deb.clone(),
        Some(deb) => bail!("kernel package {} not found", deb.display()),
        None => kernel::ensure_deb(&opts.cache)?,
    };

    let mut binaries = opts.binaries.clone();
    binaries.extend(opts.extra_binaries.iter().cloned());
    let tree = base_tree(&busybox()?, &binaries)?;

    let mut h = Sha256::new();
    h.update(FORMAT.as_bytes());
    h.update([0]);
    h.update(opts.system.as_bytes());
    h.update([0]);
    h.update(file_digest(&deb)?);
    for m in kmod::GUEST_MODULES {
        h.update(m.as_bytes());
        h.update([0]);
    }
    hash_tree(&tree, &mut h)?;
    let hash: String = h.finalize()[..10]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    let dir = images.join(&hash);
    let image = GuestImage {
        kernel: dir.join(KERNEL_FILE),
        initramfs: dir.join(INITRAMFS_FILE),
        system: opts.system.clone(),
        hash: hash.clone(),
    };
    let cached = dir.join(MANIFEST_FILE).is_file();
    if !cached {
        assemble(&images, &dir, &hash, &deb, tree, opts)?;
    }
    set_latest(&images, &opts.system, &hash)?;
    Ok(Built { image, cached })
}

/// Unpacks the kernel, adds the modules, and writes the image into `dir` (through a
/// temporary directory renamed at the end, so a crash never leaves half an image).
fn assemble(
    images: &Path,
    dir: &Path,
    hash: &str,
    deb: &Path,
    mut tree: Tree,
    opts: &BuildOptions,
) -> anyhow::Result<()> {
    let tmp = TempDir(images.join(format!(".tmp-{hash}-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&tmp.0);
    let out = tmp.0.join("out");
    std::fs::create_dir_all(&out)?;
    let unpacked = kernel::unpack(deb, &tmp.0.join("deb"))?;
    let modules = kmod::resolve(&unpacked.modules, kmod::GUEST_MODULES, &tmp.0.join("ko"))?;
    let mut list = String::new();
    for m in &modules {
        tree.file(
            &format!("lib/modules/{}.ko", m.name),
            0o644,
            Source::Host(m.file.clone()),
        );
        list.push_str(&m.name);
        list.push('\n');
    }
    tree.file(
        "etc/squall/modules",
        0o644,
        Source::Bytes(list.into_bytes()),
    );

    std::fs::copy(&unpacked.vmlinuz, out.join(KERNEL_FILE))
        .with_context(|| format!("copying {}", unpacked.vmlinuz.display()))?;
    let file = std::fs::File::create(out.join(INITRAMFS_FILE))?;
    let mut w = BufWriter::new(file);
    tree.write_cpio(&mut w)?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;

    let manifest = serde_json::json!({
        "format": FORMAT,
        "system": opts.system,
        "hash": hash,
        "kernel_package": deb.file_name().map(|f| f.to_string_lossy().into_owned()),
        "kernel": unpacked.vmlinuz.file_name().map(|f| f.to_string_lossy().into_owned()),
        "modules": modules.iter().map(|m| m.name.clone()).collect::<Vec<_>>(),
        "init": init_digest(),
        "files": tree.entries().filter(|(_, n)| matches!(n, Node::File { .. })).map(|(p, _)| format!("/{p}")).collect::<Vec<_>>(),
    });
    std::fs::write(
        out.join(MANIFEST_FILE),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    match std::fs::rename(&out, dir) {
        Ok(()) => Ok(()),
        // Another build of the same inputs finished first: its image is ours.
        Err(_) if dir.join(MANIFEST_FILE).is_file() => Ok(()),
        Err(e) => Err(e).with_context(|| format!("moving the image to {}", dir.display())),
    }
}

/// Removes its directory on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Points `<images>/<system>.latest` at `hash` (written to a temporary file and renamed).
fn set_latest(images: &Path, system: &str, hash: &str) -> anyhow::Result<()> {
    let pointer = images.join(format!("{system}.latest"));
    let tmp = images.join(format!(".{system}.latest.{}", std::process::id()));
    std::fs::write(&tmp, format!("{hash}\n"))?;
    std::fs::rename(&tmp, &pointer).with_context(|| format!("writing {}", pointer.display()))
}

/// The image `<cache>/images/<system>.latest` points at, if it is complete.
pub fn find_latest(system: &str, cache: &Path) -> Option<GuestImage> {
    let images = cache.join("images");
    let hash = std::fs::read_to_string(images.join(format!("{system}.latest"))).ok()?;
    let hash = hash.trim();
    if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let dir = images.join(hash);
    let image = GuestImage {
        kernel: dir.join(KERNEL_FILE),
        initramfs: dir.join(INITRAMFS_FILE),
        system: system.to_string(),
        hash: hash.to_string(),
    };
    // An image from an older squall (another init) would not speak this one's contract.
    let manifest = std::fs::read_to_string(dir.join(MANIFEST_FILE)).ok()?;
    let manifest: serde_json::Value = serde_json::from_str(&manifest).ok()?;
    let current = manifest.get("init").and_then(|v| v.as_str()) == Some(&init_digest());
    (current && image.kernel.is_file() && image.initramfs.is_file()).then_some(image)
}

/// The SHA-256 of this squall's init script, hex: what an image's manifest records, so
/// that [`find_latest`] skips an image built with another init.
fn init_digest() -> String {
    Sha256::digest(INIT_SH.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The host's busybox; the static build (`busybox-static`) is the one meant for this.
fn busybox() -> anyhow::Result<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox", "/sbin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .context("busybox not found (apt-get install -y busybox-static)")
}

/// Everything but the kernel modules: directories, device nodes, `/etc`, the init,
/// busybox and its applet links, and `binaries` with their libraries.
fn base_tree(busybox: &Path, binaries: &[PathBuf]) -> anyhow::Result<Tree> {
    let mut t = Tree::new();
    for d in ["proc", "sys", "dev", "run", "data", "root", "etc/squall"] {
        t.dir(d, 0o755);
    }
    t.dir("tmp", 0o1777);
    for (path, mode, major, minor) in [("dev/console", 0o600, 5, 1), ("dev/null", 0o666, 1, 3)] {
        t.insert(path, Node::CharDev { mode, major, minor });
    }
    let etc: [(&str, &str); 4] = [
        (
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        ),
        ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
        ("etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n"),
        (
            "etc/nsswitch.conf",
            "passwd: files\ngroup: files\nhosts: files dns\n",
        ),
    ];
    for (path, text) in etc {
        t.file(path, 0o644, Source::Bytes(text.as_bytes().to_vec()));
    }
    t.file("init", 0o755, Source::Bytes(INIT_SH.as_bytes().to_vec()));

    // Busybox and its applets (`bin/sh`, `sbin/ip`, ...), as links to it.
    let out = Command::new(busybox)
        .arg("--list-full")
        .output()
        .with_context(|| format!("running {} --list-full", busybox.display()))?;
    if !out.status.success() {
        bail!("{} --list-full failed", busybox.display());
    }
    for applet in String::from_utf8_lossy(&out.stdout).lines() {
        let applet = applet.trim().trim_start_matches('/');
        if !applet.is_empty() && applet != "bin/busybox" && !applet.contains("..") {
            t.symlink(applet, "/bin/busybox");
        }
    }
    add_binary(&mut t, busybox, "bin/busybox")?;
    if !t.contains("bin/sh") {
        bail!("{} has no sh applet", busybox.display());
    }
    for bin in binaries {
        add_binary(&mut t, bin, &cpio::guest_path(bin)?)?;
    }
    Ok(t)
}

/// Adds the host binary `host` at `guest`, and, if it is dynamically linked, its loader
/// and the libraries the loader resolves (each at the path the loader printed).
fn add_binary(t: &mut Tree, host: &Path, guest: &str) -> anyhow::Result<()> {
    t.file(guest, 0o755, Source::Host(host.to_path_buf()));
    for lib in libraries(host)? {
        t.file(&cpio::guest_path(&lib)?, 0o755, Source::Host(lib));
    }
    Ok(())
}

/// The loader and shared libraries of `binary`: none for a static binary; else its
/// interpreter (`PT_INTERP`) and what `<interpreter> --list <binary>` resolves.
pub fn libraries(binary: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let bytes = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    let interp = Elf::parse(&bytes)
        .with_context(|| binary.display().to_string())?
        .interpreter()?;
    let Some(interp) = interp else {
        return Ok(Vec::new());
    };
    let out = Command::new(&interp)
        .arg("--list")
        .arg(binary)
        .output()
        .with_context(|| format!("running {interp} --list {}", binary.display()))?;
    if !out.status.success() {
        bail!(
            "{interp} --list {}: {}",
            binary.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let mut libs = parse_loader_list(&String::from_utf8_lossy(&out.stdout))
        .with_context(|| format!("libraries of {}", binary.display()))?;
    let interp = PathBuf::from(interp);
    if !libs.contains(&interp) {
        libs.push(interp);
    }
    Ok(libs)
}

/// Parses the dynamic loader's `--list` output (the format `ldd` prints):
/// `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)`, `/lib64/ld-linux-x86-64.so.2
/// (0x...)`, and `linux-vdso.so.1 (0x...)` (in the kernel, skipped).
pub fn parse_loader_list(text: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut libs = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let target = match line.split_once(" => ") {
            Some((name, rest)) => {
                let path = rest.split(" (").next().unwrap_or_default().trim();
                if path == "not found" || path.is_empty() {
                    bail!("{name}: not found by the dynamic loader");
                }
                path
            }
            None => line.split(" (").next().unwrap_or_default().trim(),
        };
        if target.starts_with('/') {
            libs.push(PathBuf::from(target));
        }
    }
    Ok(libs)
}

/// Feeds everything in `tree` that ends up in the image into `h`: paths, kinds, modes,
/// link targets and file contents.
fn hash_tree(tree: &Tree, h: &mut Sha256) -> anyhow::Result<()> {
    for (path, node) in tree.entries() {
        h.update(path.as_bytes());
        h.update([0]);
        match node {
            Node::Dir { mode } => h.update(format!("d{mode:o}\0")),
            Node::Symlink { target } => h.update(format!("l{target}\0")),
            Node::CharDev { mode, major, minor } => {
                h.update(format!("c{mode:o}:{major}:{minor}\0"))
            }
            Node::File { mode, source } => {
                h.update(format!("f{mode:o}\0"));
                match source {
                    Source::Bytes(b) => h.update(Sha256::digest(b)),
                    Source::Host(p) => h.update(file_digest(p)?),
                }
            }
        }
    }
    Ok(())
}

/// The SHA-256 of a file's content.
fn file_digest(path: &Path) -> anyhow::Result<[u8; 32]> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

/// Creates `path` as a sparse file of `size_mb` MiB holding an empty ext4 file system
/// (`mkfs.ext4 -q -F`, from e2fsprogs).
pub fn make_data_disk(path: &Path, size_mb: u64) -> anyhow::Result<()> {
    if size_mb < 8 {
        bail!("a data disk needs at least 8 MiB (asked for {size_mb})");
    }
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    file.set_len(size_mb << 20)?;
    drop(file);
    let out = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "squall-data"])
        .arg(path)
        .output()
        .context("running mkfs.ext4 (apt-get install -y e2fsprogs)")?;
    if !out.status.success() {
        bail!(
            "mkfs.ext4 {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_loader_list() {
        let text = "\tlinux-vdso.so.1 (0x00007ffc)\n\
                    \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\
                    \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            parse_loader_list(text).unwrap(),
            [
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
        let err = parse_loader_list("\tlibfoo.so.1 => not found\n").unwrap_err();
        assert!(err.to_string().contains("libfoo.so.1"), "{err}");
    }

    /// The test binary is dynamic: its loader and libc come along.
    #[test]
    fn libraries_of_a_dynamic_binary() {
        let exe = std::env::current_exe().unwrap();
        let libs = libraries(&exe).unwrap();
        assert!(
            libs.iter().any(|l| l.to_string_lossy().contains("libc.so")),
            "{libs:?}"
        );
        assert!(libs
            .iter()
            .any(|l| l.to_string_lossy().contains("ld-linux")));
    }

    #[test]
    fn base_tree_has_init_busybox_and_etc() {
        let Ok(bb) = busybox() else {
            eprintln!("skipped: busybox not installed (apt-get install -y busybox-static)");
            return;
        };
        let t = base_tree(&bb, &[]).unwrap();
        for p in [
            "init",
            "bin/busybox",
            "bin/sh",
            "sbin/ip",
            "dev/console",
            "etc/passwd",
        ] {
            assert!(t.contains(p), "{p} missing");
        }
    }

    #[test]
    fn data_disk_is_ext4() {
        if Command::new("mkfs.ext4").arg("-V").output().is_err() {
            eprintln!("skipped: mkfs.ext4 not installed (apt-get install -y e2fsprogs)");
            return;
        }
        let dir = std::env::temp_dir().join(format!("sqdisk-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let disk = dir.join("data.img");
        make_data_disk(&disk, 16).unwrap();
        let meta = std::fs::metadata(&disk).unwrap();
        assert_eq!(meta.len(), 16 << 20);
        // ext4's superblock magic 0xEF53 at 1024 + 0x38.
        let bytes = std::fs::read(&disk).unwrap();
        assert_eq!(&bytes[1024 + 0x38..1024 + 0x3A], &[0x53, 0xEF]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(make_data_disk(&dir.join("x"), 1).is_err());
    }

    #[test]
    fn find_latest_needs_a_complete_image() {
        let cache = std::env::temp_dir().join(format!("sqfind-test-{}", std::process::id()));
        let images = cache.join("images");
        std::fs::create_dir_all(images.join("abc123")).unwrap();
        assert!(find_latest("etcd", &cache).is_none());
        set_latest(&images, "etcd", "abc123").unwrap();
        assert!(find_latest("etcd", &cache).is_none()); // no files yet
        for f in [KERNEL_FILE, INITRAMFS_FILE] {
            std::fs::write(images.join("abc123").join(f), b"x").unwrap();
        }
        let manifest = images.join("abc123").join(MANIFEST_FILE);
        // An image built with another init (an older squall's) is not this squall's.
        std::fs::write(&manifest, r#"{"init": "0123"}"#).unwrap();
        assert!(find_latest("etcd", &cache).is_none());
        std::fs::write(&manifest, b"{}").unwrap();
        assert!(find_latest("etcd", &cache).is_none());
        std::fs::write(
            &manifest,
            serde_json::json!({ "init": init_digest() }).to_string(),
        )
        .unwrap();
        let found = find_latest("etcd", &cache).unwrap();
        assert_eq!(found.hash, "abc123");
        assert_eq!(found.kernel, images.join("abc123/bzImage"));
        std::fs::remove_dir_all(&cache).unwrap();
    }
}
