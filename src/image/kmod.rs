//! Kernel modules for the guest: which files to take from the kernel package and in what
//! order the init loads them.
//!
//! Debian's kernel packages carry no `modules.dep` (`depmod` writes it at install time), so
//! dependencies come from each module's own `.modinfo` section (`depends=a,b`), which is
//! what `depmod` reads too. A module name uses `_` where its file name may use `-`
//! (`virtio-rng.ko` is `virtio_rng`). A wanted module that is built into the kernel
//! (listed in `modules.builtin`) needs no file and is skipped. Modules compressed as
//! `.ko.xz` or `.ko.zst` are decompressed on the host (busybox `insmod` loads plain `.ko`).

use super::elf::Elf;
use anyhow::{bail, Context as _};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The modules a guest loads: virtio over PCI (Cloud Hypervisor and QEMU's q35 both put
/// their virtio devices on PCI), its network, block, console and entropy devices, and
/// vsock over virtio. Their dependencies come along.
pub const GUEST_MODULES: &[&str] = &[
    "virtio_pci",
    "virtio_net",
    "virtio_blk",
    "virtio_console",
    "virtio_rng",
    "vmw_vsock_virtio_transport",
];

/// A module's canonical name from its file name: `virtio-rng.ko.xz` → `virtio_rng`.
pub fn module_name(file_name: &str) -> Option<String> {
    let stem = file_name
        .strip_suffix(".ko")
        .or_else(|| file_name.strip_suffix(".ko.xz"))
        .or_else(|| file_name.strip_suffix(".ko.zst"))
        .or_else(|| file_name.strip_suffix(".ko.gz"))?;
    Some(stem.replace('-', "_"))
}

/// The `depends=` of a module file's `.modinfo` (plain, uncompressed ELF).
pub fn modinfo_depends(ko: &[u8]) -> anyhow::Result<Vec<String>> {
    let elf = Elf::parse(ko)?;
    let info = elf.section(".modinfo")?.context("no .modinfo section")?;
    Ok(info
        .split(|&b| b == 0)
        .filter_map(|field| field.strip_prefix(b"depends="))
        .flat_map(|deps| {
            String::from_utf8_lossy(deps)
                .split(',')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|d| !d.is_empty())
        .collect())
}

/// Orders `wanted` and everything they depend on so each module comes after its
/// dependencies. `deps(name)` gives a module's dependencies, or `None` when the module
/// needs no loading (built in). Ties break by name, so the order is deterministic.
pub fn load_order(
    wanted: &[&str],
    mut deps: impl FnMut(&str) -> anyhow::Result<Option<Vec<String>>>,
) -> anyhow::Result<Vec<String>> {
    fn visit(
        name: &str,
        deps: &mut dyn FnMut(&str) -> anyhow::Result<Option<Vec<String>>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
        out: &mut Vec<String>,
    ) -> anyhow::Result<()> {
        if done.contains(name) {
            return Ok(());
        }
        if path.iter().any(|p| p == name) {
            bail!("module dependency cycle: {} -> {name}", path.join(" -> "));
        }
        let Some(mut needs) = deps(name)? else {
            done.insert(name.to_string());
            return Ok(());
        };
        needs.sort();
        path.push(name.to_string());
        for dep in &needs {
            visit(dep, deps, done, path, out)?;
        }
        path.pop();
        done.insert(name.to_string());
        out.push(name.to_string());
        Ok(())
    }
    let (mut done, mut out) = (BTreeSet::new(), Vec::new());
    for name in wanted {
        visit(name, &mut deps, &mut done, &mut Vec::new(), &mut out)?;
    }
    Ok(out)
}

/// One module to put in the image.
#[derive(Clone, Debug)]
pub struct Module {
    /// Its name (`virtio_net`); the image holds it as `lib/modules/<name>.ko`.
    pub name: String,
    /// The plain `.ko` on the host (decompressed into the work dir if it was compressed).
    pub file: PathBuf,
}

/// Resolves `wanted` in the module tree `modules_dir` (`lib/modules/<version>` of an
/// extracted kernel package), decompressing into `work` where needed. The result is in
/// load order.
pub fn resolve(modules_dir: &Path, wanted: &[&str], work: &Path) -> anyhow::Result<Vec<Module>> {
    let mut files = BTreeMap::new();
    index(&modules_dir.join("kernel"), &mut files)?;
    let builtin: BTreeSet<String> = std::fs::read_to_string(modules_dir.join("modules.builtin"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.rsplit('/').next().and_then(module_name))
        .collect();
    let mut plain = BTreeMap::new();
    let order = load_order(wanted, |name| {
        if let Some(file) = files.get(name) {
            let ko = plain_module(file, work)?;
            let bytes = std::fs::read(&ko).with_context(|| format!("reading {}", ko.display()))?;
            let deps = modinfo_depends(&bytes).with_context(|| format!("module {name}"))?;
            plain.insert(name.to_string(), ko);
            Ok(Some(deps))
        } else if builtin.contains(name) {
            Ok(None)
        } else {
            bail!(
                "kernel module {name} not found in {}",
                modules_dir.display()
            )
        }
    })?;
    Ok(order
        .into_iter()
        .map(|name| Module {
            file: plain[&name].clone(),
            name,
        })
        .collect())
}

fn index(dir: &Path, files: &mut BTreeMap<String, PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            index(&path, files)?;
        } else if let Some(name) = entry.file_name().to_str().and_then(module_name) {
            files.insert(name, path);
        }
    }
    Ok(())
}

/// `file` itself if it is a plain `.ko`, else its decompressed copy in `work`.
fn plain_module(file: &Path, work: &Path) -> anyhow::Result<PathBuf> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let tool: &[&str] = if name.ends_with(".ko") {
        return Ok(file.to_path_buf());
    } else if name.ends_with(".xz") {
        &["xz", "-dc"]
    } else if name.ends_with(".zst") {
        &["zstd", "-dcq"]
    } else {
        &["gzip", "-dc"]
    };
    let out = Command::new(tool[0])
        .args(&tool[1..])
        .arg(file)
        .output()
        .with_context(|| format!("running {} (to decompress {name})", tool[0]))?;
    if !out.status.success() {
        bail!(
            "{} {}: {}",
            tool.join(" "),
            file.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    std::fs::create_dir_all(work)?;
    let plain = work.join(format!("{}.ko", module_name(name).unwrap_or_default()));
    std::fs::write(&plain, out.stdout)?;
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_file_names() {
        assert_eq!(module_name("virtio-rng.ko").as_deref(), Some("virtio_rng"));
        assert_eq!(
            module_name("virtio_net.ko.xz").as_deref(),
            Some("virtio_net")
        );
        assert_eq!(module_name("ext4.ko.zst").as_deref(), Some("ext4"));
        assert_eq!(module_name("modules.dep"), None);
    }

    fn table(entries: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        entries
            .iter()
            .map(|(n, d)| (n.to_string(), d.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn dependencies_come_first_and_once() {
        // The real shape of Debian 6.1's virtio modules.
        let t = table(&[
            ("virtio_net", &["net_failover", "virtio", "virtio_ring"]),
            ("net_failover", &["failover"]),
            ("failover", &[]),
            ("virtio", &[]),
            ("virtio_ring", &[]),
            (
                "virtio_pci",
                &[
                    "virtio_pci_modern_dev",
                    "virtio_pci_legacy_dev",
                    "virtio",
                    "virtio_ring",
                ],
            ),
            ("virtio_pci_modern_dev", &[]),
            ("virtio_pci_legacy_dev", &[]),
            ("virtio_blk", &["virtio", "virtio_ring"]),
        ]);
        let order = load_order(&["virtio_pci", "virtio_net", "virtio_blk", "ext4"], |n| {
            if n == "ext4" {
                return Ok(None); // built in
            }
            Ok(Some(t.get(n).cloned().unwrap()))
        })
        .unwrap();
        assert_eq!(
            order,
            [
                "virtio",
                "virtio_pci_legacy_dev",
                "virtio_pci_modern_dev",
                "virtio_ring",
                "virtio_pci",
                "failover",
                "net_failover",
                "virtio_net",
                "virtio_blk",
            ]
        );
        for (i, name) in order.iter().enumerate() {
            for dep in &t[name] {
                let j = order.iter().position(|o| o == dep).unwrap();
                assert!(j < i, "{dep} must load before {name}");
            }
        }
    }

    #[test]
    fn cycles_and_unknown_modules_are_errors() {
        let t = table(&[("a", &["b"]), ("b", &["a"])]);
        let err = load_order(&["a"], |n| Ok(Some(t[n].clone()))).unwrap_err();
        assert!(err.to_string().contains("cycle"), "{err}");
        let err = load_order(&["x"], |n| bail!("kernel module {n} not found")).unwrap_err();
        assert!(err.to_string().contains("x not found"), "{err}");
    }

    /// A `.modinfo` section as the kernel's build writes it, inside a minimal ELF file.
    #[test]
    fn depends_from_modinfo() {
        let elf = tiny_elf(b"license=GPL\0depends=virtio,virtio_ring\0name=virtio_blk\0");
        assert_eq!(modinfo_depends(&elf).unwrap(), ["virtio", "virtio_ring"]);
        let none = tiny_elf(b"license=GPL\0depends=\0name=virtio\0");
        assert!(modinfo_depends(&none).unwrap().is_empty());
    }

    /// An ELF64 header, a `.modinfo` section and a section-name table.
    fn tiny_elf(modinfo: &[u8]) -> Vec<u8> {
        let names = b"\0.modinfo\0.shstrtab\0";
        let mut f = vec![0u8; 64];
        f[..6].copy_from_slice(b"\x7fELF\x02\x01");
        let info_off = f.len();
        f.extend_from_slice(modinfo);
        let names_off = f.len();
        f.extend_from_slice(names);
        while f.len() % 8 != 0 {
            f.push(0);
        }
        let shoff = f.len();
        let section = |name: u32, off: usize, size: usize| {
            let mut s = vec![0u8; 64];
            s[..4].copy_from_slice(&name.to_le_bytes());
            s[24..32].copy_from_slice(&(off as u64).to_le_bytes());
            s[32..40].copy_from_slice(&(size as u64).to_le_bytes());
            s
        };
        f.extend(vec![0u8; 64]); // the null section
        f.extend(section(1, info_off, modinfo.len()));
        f.extend(section(10, names_off, names.len()));
        f[0x28..0x30].copy_from_slice(&(shoff as u64).to_le_bytes());
        f[0x3A..0x3C].copy_from_slice(&64u16.to_le_bytes());
        f[0x3C..0x3E].copy_from_slice(&3u16.to_le_bytes());
        f[0x3E..0x40].copy_from_slice(&2u16.to_le_bytes());
        f
    }
}
