//! The etcd guest image, booted for real: `squall image build --system etcd` builds (or
//! reuses) the image, QEMU boots it with software emulation (TCG) — the same kernel,
//! initramfs and command line a Cloud Hypervisor VM gets — on a TAP device inside a
//! network namespace of its own, with an ext4 data disk; the test waits for the init's
//! `squall: ready n1` on the serial console, then talks to etcd inside the guest from that
//! namespace (`/health`, a put and a range over the JSON gateway), and reads a file from the
//! data disk through the init's guest control. It prints the boot figures. The host's own namespace is untouched; QEMU, the namespace and the disk go
//! away at the end, also on panic.
//!
//! Needs root, `qemu-system-x86_64` (`apt-get install -y qemu-system-x86`), busybox-static,
//! etcd, e2fsprogs, iproute2 and apt access to Debian's kernel package (once; the image is
//! cached in `$SQUALL_IMAGE_CACHE`, default `/var/cache/squall`). Skipped, saying why,
//! without them.

#[allow(dead_code)]
#[path = "../src/image/cmdline.rs"]
mod cmdline;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const GUEST: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);
const HOST: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);
/// Boot plus etcd's start and election, under software emulation.
const DEADLINE: Duration = Duration::from_secs(120);

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

fn skip_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (network namespace, TAP device)".into());
    }
    let needs = [
        ("qemu-system-x86_64", "apt-get install -y qemu-system-x86"),
        ("etcd", "apt-get install -y etcd-server etcd-client"),
        ("busybox", "apt-get install -y busybox-static"),
        ("mkfs.ext4", "apt-get install -y e2fsprogs"),
        ("debugfs", "apt-get install -y e2fsprogs"),
        ("ip", "apt-get install -y iproute2"),
        ("apt-get", "a Debian host"),
    ];
    needs
        .iter()
        .find(|(program, _)| !on_path(program))
        .map(|(program, how)| format!("{program} not found ({how})"))
}

/// What the guest leaves behind when the test ends, however it ends: QEMU is killed, the
/// namespace deleted, the scratch directory removed.
struct Guard {
    netns: String,
    scratch: PathBuf,
    qemu: Option<Child>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut qemu) = self.qemu.take() {
            let _ = qemu.kill();
            let _ = qemu.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.netns])
            .status();
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `squall image build`'s output line `<label> <path> (<size>)`.
fn image_path(stdout: &str, label: &str) -> PathBuf {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{label} ")))
        .unwrap_or_else(|| panic!("no {label} line in:\n{stdout}"));
    PathBuf::from(line.split(" (").next().unwrap())
}

fn build_image(cache: &Path) -> (PathBuf, PathBuf, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_squall"))
        .args(["image", "build", "--system", "etcd", "--cache"])
        .arg(cache)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "squall image build: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        image_path(&stdout, "kernel"),
        image_path(&stdout, "initramfs"),
        stdout,
    )
}

/// etcd's node command, as `squall run` gives it (`src/systems/etcd.rs`), for a
/// single-member cluster on the guest's address with its data on the disk.
fn etcd_args() -> Vec<String> {
    let client = format!("http://{GUEST}:2379");
    let peer = format!("http://{GUEST}:2380");
    [
        "--name",
        "n1",
        "--data-dir",
        "/data/etcd",
        "--listen-peer-urls",
        &peer,
        "--initial-advertise-peer-urls",
        &peer,
        "--listen-client-urls",
        &client,
        "--advertise-client-urls",
        &client,
        "--initial-cluster",
        &format!("n1={peer}"),
        "--initial-cluster-state",
        "new",
        "--initial-cluster-token",
        "squall-etcd",
        "--heartbeat-interval",
        "100",
        "--election-timeout",
        "1000",
        "--logger",
        "zap",
        "--log-outputs",
        "stderr",
        "--log-level",
        "info",
        "--enable-pprof=false",
        "--enable-v2=false",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// One HTTP/1.0 request to etcd at `GUEST:2379`, from inside `netns` (on a thread of its
/// own that joins it); the status line and body.
fn http_in_netns(netns: &str, method: &str, path: &str, body: &str) -> std::io::Result<String> {
    let ns = std::fs::File::open(format!("/run/netns/{netns}"))?;
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: {GUEST}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd as _;
        // SAFETY: setns on a valid namespace fd; it changes only this thread's namespace.
        if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let addr = SocketAddr::from((GUEST, 2379));
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(request.as_bytes())?;
        let mut response = String::new();
        s.read_to_string(&mut response)?;
        let status = response.lines().next().unwrap_or_default().to_string();
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        Ok(format!("{status}\n{body}"))
    })
    .join()
    .expect("http thread panicked")
}

#[test]
fn etcd_image_boots_under_qemu_and_etcd_answers() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let cache = std::env::var_os("SQUALL_IMAGE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/squall"));

    let t = Instant::now();
    let (kernel, initramfs, first) = build_image(&cache);
    let build_time = t.elapsed();
    // The same inputs again: the cached image, at once.
    let (kernel2, initramfs2, second) = build_image(&cache);
    assert_eq!((&kernel, &initramfs), (&kernel2, &initramfs2));
    assert!(second.contains(": cached in"), "{second}");
    eprintln!(
        "{first}(first build took {:.1} s)",
        build_time.as_secs_f64()
    );

    let pid = std::process::id();
    let mut guard = Guard {
        netns: format!("sqimg-{pid}"),
        scratch: std::env::temp_dir().join(format!("sqimg-{pid}")),
        qemu: None,
    };
    let ns = guard.netns.clone();
    std::fs::create_dir_all(&guard.scratch).unwrap();
    let disk = guard.scratch.join("data.img");
    let size = std::fs::File::create(&disk).unwrap();
    size.set_len(256 << 20).unwrap();
    drop(size);
    run("mkfs.ext4", &["-q", "-F", disk.to_str().unwrap()]);
    // A file the guest control must give back byte for byte: 100 KiB of every byte value
    // (its base64 spans many lines), put on the disk before boot.
    let known: Vec<u8> = (0..100 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let known_file = guard.scratch.join("known.bin");
    std::fs::write(&known_file, &known).unwrap();
    run(
        "debugfs",
        &[
            "-w",
            "-R",
            &format!("write {} known.bin", known_file.display()),
            disk.to_str().unwrap(),
        ],
    );

    run("ip", &["netns", "add", &ns]);
    run("ip", &["-n", &ns, "link", "set", "lo", "up"]);
    run(
        "ip",
        &["-n", &ns, "tuntap", "add", "dev", "tap0", "mode", "tap"],
    );
    run(
        "ip",
        &[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{HOST}/24"),
            "dev",
            "tap0",
        ],
    );
    run("ip", &["-n", &ns, "link", "set", "tap0", "up"]);

    let encoded = cmdline::encode_command("/usr/bin/etcd", &etcd_args(), &[]);
    let append = format!(
        "{} squall.control={}",
        cmdline::cmdline("n1", GUEST, 24, HOST, &encoded, Some("/dev/vda")),
        squall::vm::guest::CONTROL_PORT
    );
    assert!(append.len() < cmdline::MAX_CMDLINE);
    let boot = Instant::now();
    let mut qemu = Command::new("ip")
        .args(["netns", "exec", &ns, "qemu-system-x86_64"])
        .args([
            "-machine", "q35", "-accel", "tcg", "-m", "1024", "-smp", "1",
        ])
        .args(["-nodefaults", "-no-user-config", "-display", "none"])
        .args(["-serial", "stdio", "-monitor", "none", "-no-reboot"])
        .arg("-kernel")
        .arg(&kernel)
        .arg("-initrd")
        .arg(&initramfs)
        .args(["-append", &append])
        .args([
            "-netdev",
            "tap,id=n0,ifname=tap0,script=no,downscript=no",
            "-device",
            "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56",
        ])
        .arg("-drive")
        .arg(format!("file={},if=none,id=d0,format=raw", disk.display()))
        .args(["-device", "virtio-blk-pci,drive=d0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = qemu.stdout.take().unwrap();
    let stderr = qemu.stderr.take().unwrap();
    guard.qemu = Some(qemu);

    // The serial console, line by line, with the time each line arrived.
    let (tx, rx) = mpsc::channel::<(Duration, String)>();
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send((boot.elapsed(), line));
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx2.send((boot.elapsed(), format!("qemu stderr: {line}")));
        }
    });

    let mut serial: Vec<String> = Vec::new();
    let tail = |serial: &[String]| serial[serial.len().saturating_sub(40)..].join("\n");
    let mut first_init_line = None;
    let ready = loop {
        let left = DEADLINE.saturating_sub(boot.elapsed());
        match rx.recv_timeout(left) {
            Ok((at, line)) => {
                if line.starts_with("squall: ") && first_init_line.is_none() {
                    first_init_line = Some(at);
                }
                let done = line.trim_end() == "squall: ready n1";
                assert!(
                    !line.starts_with("squall: error") && !line.starts_with("squall: exited"),
                    "the init failed: {line}\n{}",
                    tail(&serial)
                );
                serial.push(line);
                if done {
                    break at;
                }
            }
            Err(_) => panic!(
                "no `squall: ready n1` within {DEADLINE:?}; last serial lines:\n{}",
                tail(&serial)
            ),
        }
    };
    assert!(
        serial
            .iter()
            .any(|l| l.contains("squall: data /dev/vda on /data")),
        "the data disk was not mounted:\n{}",
        tail(&serial)
    );

    // etcd: healthy (it has elected itself), then a write and a linearizable read.
    let healthy = loop {
        while let Ok((_, line)) = rx.try_recv() {
            serial.push(line);
        }
        match http_in_netns(&ns, "GET", "/health", "") {
            Ok(r) if r.contains("\"health\":\"true\"") => break boot.elapsed(),
            _ if boot.elapsed() > DEADLINE => panic!(
                "etcd not healthy within {DEADLINE:?}; last serial lines:\n{}",
                tail(&serial)
            ),
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    };
    // key "squall" = c3F1YWxs, value "guest" = Z3Vlc3Q.
    let put = http_in_netns(
        &ns,
        "POST",
        "/v3/kv/put",
        r#"{"key":"c3F1YWxs","value":"Z3Vlc3Q="}"#,
    )
    .unwrap();
    assert!(put.starts_with("HTTP/1.0 200"), "{put}");
    let range = http_in_netns(&ns, "POST", "/v3/kv/range", r#"{"key":"c3F1YWxs"}"#).unwrap();
    assert!(range.contains(r#""value":"Z3Vlc3Q=""#), "{range}");

    // The guest control reads what is on the data disk (a system's setup step reads what
    // its node wrote this way), and nothing outside it.
    let in_ns = |f: Box<dyn FnOnce() -> String + Send>| {
        let nsf = std::fs::File::open(format!("/run/netns/{ns}")).unwrap();
        std::thread::spawn(move || {
            use std::os::fd::AsRawFd as _;
            // SAFETY: setns on a valid namespace fd; it changes only this thread's namespace.
            assert_eq!(
                unsafe { libc::setns(nsf.as_raw_fd(), libc::CLONE_NEWNET) },
                0
            );
            f()
        })
        .join()
        .unwrap()
    };
    use squall::vm::guest::{list_dir, read_file};
    let got = in_ns(Box::new(|| {
        format!(
            "{:?}",
            read_file(GUEST, Path::new("/data/known.bin")).map(|b| b.map(|b| b.len()))
        )
    }));
    assert_eq!(got, format!("Ok(Some({}))", known.len()));
    let same = in_ns(Box::new(move || {
        (read_file(GUEST, Path::new("/data/known.bin")) == Ok(Some(known))).to_string()
    }));
    assert_eq!(same, "true", "the bytes read back differ");
    let listed = in_ns(Box::new(|| {
        format!("{:?}", list_dir(GUEST, Path::new("/data/etcd")))
    }));
    assert_eq!(listed, r#"Ok(Some(["member"]))"#);
    let missing = in_ns(Box::new(|| {
        format!("{:?}", read_file(GUEST, Path::new("/data/none")))
    }));
    assert_eq!(missing, "Ok(None)");
    let outside = in_ns(Box::new(|| {
        format!("{:?}", read_file(GUEST, Path::new("/etc/passwd")))
    }));
    assert!(outside.contains("not under /data"), "{outside}");

    eprintln!(
        "boot figures (QEMU TCG, 1 vCPU): first init line {:.2} s, `squall: ready n1` {:.2} s, \
         etcd healthy {:.2} s after QEMU started",
        first_init_line.unwrap_or_default().as_secs_f64(),
        ready.as_secs_f64(),
        healthy.as_secs_f64()
    );
    drop(guard);
    assert!(
        !Path::new(&format!("/run/netns/sqimg-{pid}")).exists(),
        "namespace left behind"
    );
}
