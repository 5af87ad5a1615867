//! The seam to the guest image ([`crate::image`] builds it): what a VM boots, the kernel
//! command line that tells its init who it is and what to run, its data disk, and the
//! readiness line the init prints on the serial console.

use crate::env::EnvError;
use crate::image::{self, cmdline::MAX_CMDLINE, GuestImage};
use crate::systems::NodeCommand;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// The guest's block device the data disk appears as (the VM's first and only disk).
pub const DATA_DEVICE: &str = "/dev/vda";
/// Where the init mounts the data disk; node data directories live there.
pub const DATA_MOUNT: &str = "/data";

/// The TCP port of the guest init's control (`squall.control=`, see [`crate::image`]): clock
/// changes, and reads of the node's files under [`DATA_MOUNT`].
pub const CONTROL_PORT: u16 = 7790;

/// How long a control command may take to connect and to answer.
const CONTROL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Connects to the guest control at `addr` (from the calling thread's namespace).
fn connect(addr: Ipv4Addr) -> Result<(std::net::TcpStream, std::net::SocketAddr), String> {
    let sock = std::net::SocketAddr::from((addr, CONTROL_PORT));
    let conn = std::net::TcpStream::connect_timeout(&sock, CONTROL_TIMEOUT)
        .map_err(|e| format!("connect to the guest control {sock}: {e}"))?;
    conn.set_read_timeout(Some(CONTROL_TIMEOUT))
        .map_err(|e| e.to_string())?;
    conn.set_nodelay(true).map_err(|e| e.to_string())?;
    Ok((conn, sock))
}

/// The most a read of a guest file returns (its base64 is read up to a third more): what
/// a setup step reads is a ticket or an id, not data.
pub const MAX_GUEST_FILE: usize = 1 << 20;

/// Sends `line` to the guest control at `addr` and reads the whole answer: its first line,
/// and what follows (at most `limit` bytes).
fn command(addr: Ipv4Addr, line: &str, limit: usize) -> Result<(String, Vec<u8>), String> {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    let (mut conn, sock) = connect(addr)?;
    conn.write_all(format!("{line}\n").as_bytes())
        .map_err(|e| format!("send to {sock}: {e}"))?;
    let mut reader = BufReader::new(&conn);
    let mut first = String::new();
    reader
        .read_line(&mut first)
        .map_err(|e| format!("no answer from {sock}: {e}"))?;
    let mut rest = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut rest)
        .map_err(|e| format!("reading the answer of {sock}: {e}"))?;
    if rest.len() > limit {
        return Err(format!(
            "{sock}: the answer to `{line}` exceeds {limit} bytes"
        ));
    }
    let first = first.trim().to_string();
    if first.is_empty() {
        return Err(format!("{sock} closed without an answer to `{line}`"));
    }
    Ok((first, rest))
}

/// The contents of the file `path` in the guest at `addr` (under [`DATA_MOUNT`]), or `None`
/// if there is no such file. Reached from the calling thread's namespace (the hub).
pub fn read_file(addr: Ipv4Addr, path: &Path) -> Result<Option<Vec<u8>>, String> {
    use base64::Engine as _;
    let line = format!("read {}", path.display());
    let (status, body) = command(addr, &line, MAX_GUEST_FILE / 3 * 4 + 4096)?;
    match status.as_str() {
        "missing" => Ok(None),
        "ok" => {
            let text: Vec<u8> = body
                .into_iter()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(&text)
                .map(Some)
                .map_err(|e| format!("{addr}: `{line}`: not base64: {e}"))
        }
        _ => Err(format!("{addr}: `{line}`: the guest says: {status}")),
    }
}

/// The names in the directory `path` in the guest at `addr` (under [`DATA_MOUNT`]), or `None`
/// if there is no such directory.
pub fn list_dir(addr: Ipv4Addr, path: &Path) -> Result<Option<Vec<String>>, String> {
    let line = format!("list {}", path.display());
    let (status, body) = command(addr, &line, MAX_GUEST_FILE)?;
    match status.as_str() {
        "missing" => Ok(None),
        "ok" => Ok(Some(
            String::from_utf8_lossy(&body)
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        )),
        _ => Err(format!("{addr}: `{line}`: the guest says: {status}")),
    }
}

/// Sets the wall clock of the guest at `addr` (its init's control on [`CONTROL_PORT`],
/// reached from the calling thread's namespace) to the true time plus `delta_ms`. The
/// guest sets whole seconds (`date -s @N`), so the command is sent at the instant the
/// guest's clock should read a whole second — up to a second from now — and the guest is
/// then off by `delta_ms` to within the command's transit. Returns the guest's answer.
pub fn set_clock(addr: Ipv4Addr, delta_ms: i64) -> Result<String, String> {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
    let (mut conn, sock) = connect(addr)?;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis() as i64;
    let t0 = Instant::now();
    let target = now_ms + delta_ms;
    let wait = 1000 - target.rem_euclid(1000);
    let secs = (target + wait) / 1000;
    std::thread::sleep(Duration::from_millis(wait as u64).saturating_sub(t0.elapsed()));
    conn.write_all(format!("clock {secs}\n").as_bytes())
        .map_err(|e| format!("send to {sock}: {e}"))?;
    let mut answer = String::new();
    BufReader::new(&conn)
        .read_line(&mut answer)
        .map_err(|e| format!("no answer from {sock}: {e}"))?;
    let answer = answer.trim().to_string();
    if answer.starts_with("ok ") {
        Ok(answer)
    } else if answer.is_empty() {
        Err(format!("{sock} closed without an answer"))
    } else {
        Err(format!("the guest says: {answer}"))
    }
}

/// What a VM boots: a direct-boot kernel and an initramfs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootFiles {
    /// The kernel (bzImage or PVH ELF).
    pub kernel: PathBuf,
    /// The initramfs, if any.
    pub initramfs: Option<PathBuf>,
}

impl From<&GuestImage> for BootFiles {
    fn from(image: &GuestImage) -> Self {
        BootFiles {
            kernel: image.kernel.clone(),
            initramfs: Some(image.initramfs.clone()),
        }
    }
}

/// The line the init prints on the serial console when node `name` has started:
/// `squall: ready <name>`.
pub fn readiness_line(name: &str) -> String {
    format!("squall: ready {name}")
}

/// The kernel command line of node `name` at `ip/prefix` behind gateway `gw`, running
/// `cmd`, with its data disk at [`DATA_DEVICE`] ([`image::kernel_cmdline`] plus
/// `squall.data`). Fails if it is longer than the kernel takes.
pub fn kernel_cmdline(
    name: &str,
    ip: Ipv4Addr,
    prefix: u8,
    gw: Ipv4Addr,
    cmd: &NodeCommand,
) -> Result<String, EnvError> {
    let line = format!(
        "{} squall.data={DATA_DEVICE}",
        image::kernel_cmdline(name, ip, prefix, gw, cmd)
    );
    if line.len() >= MAX_CMDLINE {
        return Err(EnvError::Invalid(format!(
            "{name}: kernel command line of {} bytes exceeds the kernel's {} (node command too long)",
            line.len(),
            MAX_CMDLINE - 1
        )));
    }
    Ok(line)
}

/// Makes node data disk `path` ([`image::make_data_disk`]: a sparse file of `size_mb` MiB
/// with an empty ext4 file system), unless it exists already: a restarted node keeps its
/// data.
pub fn make_data_disk(path: &Path, size_mb: u64) -> Result<(), EnvError> {
    if path.exists() {
        return Ok(());
    }
    image::make_data_disk(path, size_mb).map_err(|e| {
        let _ = std::fs::remove_file(path);
        EnvError::Invalid(format!("make data disk {}: {e:#}", path.display()))
    })
}
