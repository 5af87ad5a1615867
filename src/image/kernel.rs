//! The guest kernel: Debian's cloud kernel package, fetched with `apt-get download` into
//! `<cache>/debs/` and unpacked with `dpkg-deb -x`.
//!
//! `linux-image-cloud-amd64` is a meta-package depending on the versioned
//! `linux-image-<abi>-cloud-amd64` (signed); its `-unsigned` twin holds the same bzImage
//! and modules, without the Secure Boot signature that direct boot has no use for. The
//! unsigned one is preferred; the signed one is the fallback.

use anyhow::{bail, Context as _};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The meta-package that names the current cloud kernel.
pub const META_PACKAGE: &str = "linux-image-cloud-amd64";

/// The cloud kernel package in `<cache>/debs/`, downloaded if it is not there yet.
pub fn ensure_deb(cache: &Path) -> anyhow::Result<PathBuf> {
    let versioned = versioned_package()?;
    let debs = cache.join("debs");
    std::fs::create_dir_all(&debs).with_context(|| format!("creating {}", debs.display()))?;
    let mut errors = Vec::new();
    for package in [format!("{versioned}-unsigned"), versioned.clone()] {
        let file_name = match candidate_file_name(&package) {
            Ok(f) => f,
            Err(e) => {
                errors.push(format!("{package}: {e:#}"));
                continue;
            }
        };
        let deb = debs.join(&file_name);
        if deb.is_file() {
            return Ok(deb);
        }
        tracing::info!(%package, dir = %debs.display(), "downloading the guest kernel");
        let out = Command::new("apt-get")
            .args(["download", "-q", "-o", "APT::Sandbox::User=root", &package])
            .current_dir(&debs)
            .output()
            .context("running apt-get download")?;
        if out.status.success() && deb.is_file() {
            return Ok(deb);
        }
        errors.push(format!(
            "apt-get download {package}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    bail!(
        "cannot get the guest kernel package ({}); pass --kernel-deb FILE",
        errors.join("; ")
    )
}

/// `linux-image-<abi>-cloud-amd64`, the package the meta-package depends on.
fn versioned_package() -> anyhow::Result<String> {
    let out = Command::new("apt-cache")
        .args(["depends", META_PACKAGE])
        .output()
        .context("running apt-cache (squall image needs Debian's apt)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .map(str::trim)
        .find(|p| p.starts_with("linux-image-") && p.ends_with("-cloud-amd64"))
        .map(str::to_string)
        .with_context(|| {
            format!(
                "apt-cache depends {META_PACKAGE} names no kernel (run apt-get update?) {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })
}

/// The `.deb` file name `apt-get download` gives the candidate version of `package`.
fn candidate_file_name(package: &str) -> anyhow::Result<String> {
    let out = Command::new("apt-cache")
        .args(["show", "--no-all-versions", package])
        .output()
        .context("running apt-cache show")?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let filename = text
        .lines()
        .find_map(|l| l.strip_prefix("Filename: "))
        .context("no Filename in apt-cache show")?;
    Ok(filename
        .rsplit('/')
        .next()
        .unwrap_or(filename)
        .trim()
        .to_string())
}

/// An unpacked kernel package.
#[derive(Debug)]
pub struct Unpacked {
    /// The bzImage (`boot/vmlinuz-<version>`).
    pub vmlinuz: PathBuf,
    /// `lib/modules/<version>`.
    pub modules: PathBuf,
}

/// Unpacks `deb` into `dir` with `dpkg-deb -x` and finds its kernel and module tree.
pub fn unpack(deb: &Path, dir: &Path) -> anyhow::Result<Unpacked> {
    std::fs::create_dir_all(dir)?;
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(dir)
        .output()
        .context("running dpkg-deb")?;
    if !out.status.success() {
        bail!(
            "dpkg-deb -x {}: {}",
            deb.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let only = |sub: &str, prefix: &str| -> anyhow::Result<PathBuf> {
        let parent = dir.join(sub);
        let mut found: Vec<PathBuf> = std::fs::read_dir(&parent)
            .with_context(|| format!("{} has no {sub}/", deb.display()))?
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .map(|e| e.path())
            .collect();
        found.sort();
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => bail!("{} has no {sub}/{prefix}*", deb.display()),
            _ => bail!("{} has several {sub}/{prefix}*", deb.display()),
        }
    };
    let vmlinuz = only("boot", "vmlinuz-")?;
    let modules = if dir.join("lib/modules").is_dir() {
        only("lib/modules", "")?
    } else {
        only("usr/lib/modules", "")?
    };
    check_bzimage(&vmlinuz)?;
    Ok(Unpacked { vmlinuz, modules })
}

/// A bzImage has `HdrS` at offset 0x202 (the x86 boot protocol header).
fn check_bzimage(path: &Path) -> anyhow::Result<()> {
    use std::io::Read as _;
    let mut head = [0u8; 0x206];
    std::fs::File::open(path)?
        .read_exact(&mut head)
        .with_context(|| format!("reading {}", path.display()))?;
    if &head[0x202..0x206] != b"HdrS" {
        bail!("{} is not a bzImage", path.display());
    }
    Ok(())
}
