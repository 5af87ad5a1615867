//! Guest images for VM environments (`squall image build --system etcd`): a direct-boot
//! kernel and an initramfs whose init starts one node of the system under test.
//!
//! # Contract with a VM environment
//!
//! **Building and finding.** [`build`]`(system, cache)` builds the image, or reuses it:
//! images are cached by a content hash of all their inputs (the kernel package file,
//! busybox, the system's binaries and their libraries, the init script, `/etc`, the module
//! list) in `<cache>/images/<hash>/`, which holds `bzImage`, `initramfs.cpio` (an
//! uncompressed newc cpio) and `manifest.json`. The default cache is [`DEFAULT_CACHE`]
//! (`/var/cache/squall`; `--cache DIR`). [`find`]`(system, cache)` returns the image last
//! built for `system` (the hash in `<cache>/images/<system>.latest`) without building.
//!
//! **What is inside.** Debian's cloud kernel (`linux-image-<abi>-cloud-amd64-unsigned`:
//! bzImage, `CONFIG_PVH=y`; ext4, serial 8250, devtmpfs built in) with its modules
//! `virtio_pci virtio_net virtio_blk virtio_console virtio_rng vmw_vsock_virtio_transport`
//! and their dependencies, loaded by the init; busybox (static) with its applets; the
//! system's binaries **at the same absolute paths as on the host** (`/usr/bin/etcd`,
//! `/usr/bin/etcdctl`), so a [`NodeCommand`] built for the host runs unchanged in the
//! guest; their dynamic loader and libraries at the paths the loader resolved on the host;
//! `/etc/{passwd,group,hosts,nsswitch.conf}`.
//!
//! **Kernel command line** ([`kernel_cmdline`] builds it; at most 2048 bytes on x86):
//!
//! ```text
//! console=ttyS0 squall.name=n1 squall.ip=198.18.1.2/24 squall.gw=198.18.1.1 squall.cmd=<base64url>
//! ```
//!
//! - `squall.name`: the node's name (also its hostname).
//! - `squall.ip`: its address and prefix, set on `eth0` (the first virtio-net device).
//!   `squall.gw`: optional; the default route's gateway (the hub side of the link).
//! - `squall.cmd`: the node's command: base64url, no padding, of NUL-terminated strings
//!   `<n>\0 KEY=VALUE\0 (n times) program\0 arg\0...` (see [`cmdline`] for the encoding;
//!   its `decode_command` is the inverse).
//! - `squall.data=/dev/vda`: optional; an ext4 block device the init mounts at `/data`
//!   (without it `/data` is a tmpfs). The host formats the disk: [`make_data_disk`] creates
//!   a sparse file with an empty ext4 file system (`mkfs.ext4`, e2fsprogs). Append it to
//!   what [`kernel_cmdline`] returns: `format!("{cmdline} squall.data=/dev/vda")`.
//!   A node's data directory in its command should then live under `/data`.
//! - `squall.control=<port>`: optional; the init serves the host's guest control on that TCP
//!   port, one command line per connection: `clock <epoch seconds>` (the `clock` nemesis)
//!   sets the wall clock with `date -s` and answers `ok <now>` (or `error <why>`), and prints
//!   `squall: clock set to @<seconds>` on the console; `read <path>` answers `ok` and the
//!   file's bytes in base64, or `missing`; `list <path>` answers `ok` and the directory's
//!   names, one a line, or `missing` — both only under `/data` (a system's setup step reads
//!   what its nodes wrote there: a ticket, an id).
//!
//! **Serial console** (ttyS0; the init's output goes to `/dev/console`, i.e. the last
//! `console=`; `hvc0` works only once `virtio_console` is loaded, so use ttyS0):
//!
//! - `squall: ready <name>` — exactly this, once `lo` and `eth0` are configured, `/data`
//!   is mounted and the node's process has been started;
//! - `squall: exited <status>` — when that process exits (128+N for signal N); the init
//!   then idles: it never reboots or powers off, the host decides;
//! - `squall: error <what>` — the init could not go on (no eth0 after 10 s, a bad
//!   `squall.cmd`, a failed mount...); it idles too;
//! - other progress lines also start with `squall: `; the node's stdout and stderr and
//!   the kernel's messages are interleaved on the same console.
//!
//! # Map
//!
//! - [`cmdline`]: the kernel command line and `squall.cmd`'s encoding.
//! - `build`: the file tree, the content hash, the cache; `init.sh`: the init.
//! - `kernel`: the kernel package (apt-get download, dpkg-deb); `kmod`: modules and their
//!   load order; `cpio`: the newc writer; `elf`: the few ELF bits needed.

pub mod build;
pub mod cmdline;
pub mod cpio;
pub mod elf;
pub mod kernel;
pub mod kmod;

pub use build::{build_with, make_data_disk, BuildOptions, Built};

use crate::systems::{NodeCommand, System};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The default cache directory (`--cache`).
pub const DEFAULT_CACHE: &str = "/var/cache/squall";

/// A built guest image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestImage {
    /// The kernel, a bzImage.
    pub kernel: PathBuf,
    /// The initramfs, an uncompressed newc cpio.
    pub initramfs: PathBuf,
    /// The system whose node it runs (`etcd`).
    pub system: String,
    /// The content hash naming it (`<cache>/images/<hash>/`).
    pub hash: String,
}

/// Builds the guest image for `system`, registered as `name` (its binaries as its test
/// configured it), into `cache`, or reuses the cached one with the same inputs. Downloads
/// Debian's cloud kernel package with apt if it is not cached.
pub fn build(name: &str, system: &dyn System, cache: &Path) -> anyhow::Result<Built> {
    build_with(&BuildOptions::of(name, system, cache)?)
}

/// The image last built for `system` in `cache`, if it is there and complete.
pub fn find(system: &str, cache: &Path) -> Option<GuestImage> {
    build::find_latest(system, cache)
}

/// The kernel command line of a guest running `cmd` as node `name` at `ip/prefix`, with
/// `gw` as its default gateway: see the module docs for the contract. The result must
/// stay under [`cmdline::MAX_CMDLINE`] bytes; a warning is logged when it does not.
pub fn kernel_cmdline(
    name: &str,
    ip: Ipv4Addr,
    prefix: u8,
    gw: Ipv4Addr,
    cmd: &NodeCommand,
) -> String {
    let encoded = cmdline::encode_command(&cmd.program.to_string_lossy(), &cmd.args, &cmd.env);
    let line = cmdline::cmdline(name, ip, prefix, gw, &encoded, None);
    if line.len() >= cmdline::MAX_CMDLINE {
        tracing::warn!(
            node = name,
            len = line.len(),
            max = cmdline::MAX_CMDLINE,
            "guest kernel command line too long; the kernel will truncate it"
        );
    }
    line
}

/// Options of `squall image build`.
#[derive(clap::Args, Debug)]
pub struct ImageBuildArgs {
    /// The system whose node the image runs: etcd, aspen (its binaries: --aspen-bin DIR).
    #[arg(long)]
    pub system: String,
    /// The system's options, as for `squall run`: which binaries the image carries.
    #[command(flatten)]
    pub plugins: crate::cmd::test_args::PluginArgs,
    /// The cache directory; images go to DIR/images/<hash>/.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_CACHE)]
    pub cache: PathBuf,
    /// Use this kernel package (.deb) instead of downloading Debian's cloud kernel.
    #[arg(long, value_name = "FILE")]
    pub kernel_deb: Option<PathBuf>,
    /// Also carry this host binary (at the same path) and its libraries; repeatable.
    #[arg(long = "binary", value_name = "PATH")]
    pub binaries: Vec<PathBuf>,
}

/// `squall image build`: builds (or finds cached) the image and prints where it is, its
/// size and whether it was cached. Exit code 0.
pub fn build_cmd(args: &ImageBuildArgs) -> anyhow::Result<i32> {
    let started = Instant::now();
    let cfg = args.plugins.config(&args.system)?;
    let system = crate::registry::get().system_of(&cfg)?;
    let built = build_with(&BuildOptions {
        kernel_deb: args.kernel_deb.clone(),
        extra_binaries: args.binaries.clone(),
        ..BuildOptions::of(&args.system, system.as_ref(), &args.cache)?
    })?;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let image = &built.image;
    let (k, i) = (size(&image.kernel), size(&image.initramfs));
    println!(
        "image {} {}: {} in {:.1} s",
        image.system,
        image.hash,
        if built.cached { "cached" } else { "built" },
        started.elapsed().as_secs_f64()
    );
    println!("kernel {} ({})", image.kernel.display(), human(k));
    println!("initramfs {} ({})", image.initramfs.display(), human(i));
    println!("size {}", human(k + i));
    Ok(0)
}

fn human(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// The shell the init runs under in the guest: busybox's. The host's `/bin/sh` is no
    /// stand-in (Debian's dash has no `read -d`, which the init's decoder needs).
    fn shell() -> Option<Vec<String>> {
        ["/bin/busybox", "/usr/bin/busybox"]
            .into_iter()
            .find(|bb| Path::new(bb).is_file())
            .map(|bb| vec![bb.to_string(), "sh".to_string()])
    }

    #[test]
    fn kernel_cmdline_of_an_etcd_node_fits() {
        use crate::systems::etcd::{Etcd, ReadMode};
        use crate::systems::{ClusterInfo, System as _};
        let cluster = ClusterInfo::new(
            (1..=5).map(|i| format!("n{i}")).collect(),
            (1..=5).map(|i| Ipv4Addr::new(198, 18, i, 2)).collect(),
        );
        let etcd = Etcd::new("/usr/bin/etcd".into(), ReadMode::Linearizable);
        let cmd = etcd.node_command(0, &cluster, Path::new("/data/etcd"));
        let line = kernel_cmdline(
            "n1",
            Ipv4Addr::new(198, 18, 1, 2),
            24,
            Ipv4Addr::new(198, 18, 1, 1),
            &cmd,
        );
        assert!(line.len() < cmdline::MAX_CMDLINE, "{} bytes", line.len());
        let value = line
            .split(' ')
            .find_map(|w| w.strip_prefix("squall.cmd="))
            .unwrap();
        let (program, args, env) = cmdline::decode_command(value).unwrap();
        assert_eq!(program, "/usr/bin/etcd");
        assert_eq!(args, cmd.args);
        assert_eq!(env, cmd.env);
    }

    /// The init's own decoder (`decode_cmd` + `run_cmd` in init.sh, run by busybox sh as in
    /// the guest) reads back what Rust encoded: argv with empty strings, spaces,
    /// newlines and `=`, and the environment.
    #[test]
    fn the_init_decodes_what_rust_encodes() {
        let Some(sh) = shell() else {
            // CI installs busybox-static (.ci/run); a machine without it cannot run the init.
            println!("skipped: no busybox (apt-get install busybox-static) to run the init under");
            return;
        };
        let dir = std::env::temp_dir().join(format!("sqinit-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let init = dir.join("init.sh");
        std::fs::write(&init, build::INIT_SH).unwrap();
        // Lengths 0..3 mod 4 exercise the padding the init restores.
        for pad in ["", "x", "xy", "xyz"] {
            let args: Vec<String> = [
                "-c",
                r#"printf '[%s]' "$0" "$@"; printf '{%s}{%s}' "$FOO" "$BAR""#,
                "argv0",
                "",
                "a b",
                "line\nbreak",
                "k=v",
                pad,
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            let env = vec![
                ("FOO".to_string(), "foo bar=baz".to_string()),
                ("BAR".to_string(), String::new()),
            ];
            let encoded = cmdline::encode_command(&sh[0], &[sh[1..].to_vec(), args].concat(), &env);
            let script = r#". "$1"; decode_cmd "$2" "$3.cmd" || exit 90; (run_cmd "$3.cmd")"#;
            let out = Command::new(&sh[0])
                .args(&sh[1..])
                .args(["-c", script, "test"])
                .arg(&init)
                .arg(&encoded)
                .arg(dir.join("out"))
                .env("SQUALL_INIT_LIB", "1")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{:?} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                format!("[argv0][][a b][line\nbreak][k=v][{pad}]{{foo bar=baz}}{{}}")
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The init's control commands, with `date` replaced by a shell function (the host's
    /// clock is never set): what it runs and what it answers.
    #[test]
    fn the_inits_control_sets_the_date_reads_data_files_and_refuses_the_rest() {
        let Some(sh) = shell() else {
            println!("skipped: no busybox (apt-get install busybox-static) to run the init under");
            return;
        };
        let dir = std::env::temp_dir().join(format!("sqinit-clock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let init = dir.join("init.sh");
        std::fs::write(&init, build::INIT_SH).unwrap();
        let script = r#". "$1"
LOG=$2
date() { echo "date $*" >>"$LOG"; [ "$1" = -s ] && return 0; echo 1700000009; }
say() { echo "say $*" >>"$LOG"; }
for l in "clock 1700000000" "clock" "clock 12x" "jump 5"; do control_cmd "$l"; done
DATA_MOUNT=$3
for l in "read $3/n1/t.txt" "read $3/n1/none" "read $3/n1" "list $3/n1" "list $3/n1/t.txt" \
    "read $3/n1/../../etc/passwd" "read /etc/passwd" "list /"; do control_cmd "$l"; done"#;
        let log = dir.join("log");
        let data = dir.join("data");
        std::fs::create_dir_all(data.join("n1").join("discovery")).unwrap();
        std::fs::write(data.join("n1").join("t.txt"), "aspen ticket\n").unwrap();
        let out = Command::new(&sh[0])
            .args(&sh[1..])
            .args(["-c", script, "test"])
            .arg(&init)
            .arg(&log)
            .arg(&data)
            .env("SQUALL_INIT_LIB", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{:?}", out.status);
        let d = data.display();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!(
                "ok 1700000009\nerror bad time: \nerror bad time: 12x\nerror unknown command: jump\n\
                 ok\nYXNwZW4gdGlja2V0Cg==\nmissing\nmissing\nok\ndiscovery\nt.txt\nmissing\n\
                 error not under {d}: {d}/n1/../../etc/passwd\nerror not under {d}: /etc/passwd\n\
                 error not under {d}: /\n"
            )
        );
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "date -s @1700000000\ndate +%s\nsay clock set to @1700000000\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
