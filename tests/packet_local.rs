//! End to end: the `packet` nemesis's userspace shaper on real namespaces and the real
//! NFQUEUE path. Two nodes' namespaces (no node process needed: a UDP echo thread in node
//! 2's namespace answers probes sent from node 1's, through the hub). Needs root and
//! `iptables-nft` (`.ci/run` installs it); skipped, saying why, without them.

use nemeses::{Behaviour, Direction, FaultTarget, PacketParams};
use squall::env::local::LocalEnv;
use squall::env::netns;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

fn skip_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root (network namespaces)".into());
    }
    if !squall::env::shaper::rules::installed() {
        return Some("iptables-nft not installed (apt-get install -y iptables)".into());
    }
    None
}

macro_rules! require_env {
    () => {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(why) = skip_reason() {
            eprintln!("skipped: {why}");
            return;
        }
    };
}

const PORT: u16 = 7007;

/// A two-node environment of a fresh run (its logs in a scratch folder) with a UDP echo
/// server in node 2's namespace; the server stops when the value drops.
struct Pair {
    env: LocalEnv,
    stop: Arc<AtomicBool>,
    server: Option<std::thread::JoinHandle<()>>,
    logs: std::path::PathBuf,
}

impl Pair {
    fn new() -> Pair {
        let run = squall::env::names::new_run_id();
        let logs = std::env::temp_dir().join(format!("sqpkt-{run}"));
        std::fs::create_dir_all(&logs).unwrap();
        let names = vec!["n1".to_string(), "n2".to_string()];
        let files = names
            .iter()
            .map(|n| logs.join(format!("{n}.log")))
            .collect();
        let env = LocalEnv::create(&run, names, files).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (ns, stop2) = (env.node_ns(1), stop.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        let server = std::thread::spawn(move || {
            netns::enter(&ns).unwrap();
            let s = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, PORT)).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            tx.send(()).unwrap();
            let mut buf = [0u8; 1500];
            while !stop2.load(Ordering::SeqCst) {
                if let Ok((n, from)) = s.recv_from(&mut buf) {
                    let _ = s.send_to(&buf[..n], from);
                }
            }
        });
        rx.recv().unwrap();
        Pair {
            env,
            stop,
            server: Some(server),
            logs,
        }
    }

    /// Probes node 2 from namespace `ns`: `count` probes `gap` apart, then waits `wait`
    /// for stragglers. Returns each answered probe's round trip (duplicates counted once).
    fn probe(&self, ns: &str, count: u32, gap: Duration, wait: Duration) -> Vec<Duration> {
        netns::run_in(ns, || {
            let s = UdpSocket::bind("0.0.0.0:0").unwrap();
            s.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
            let to = SocketAddrV4::new(self.env.node_addr(1), PORT);
            let mut sent = Vec::new();
            let mut rtt: Vec<Option<Duration>> = vec![None; count as usize];
            let mut buf = [0u8; 64];
            let mut recv = |s: &UdpSocket, sent: &Vec<Instant>, rtt: &mut Vec<Option<Duration>>| {
                while let Ok(n) = s.recv(&mut buf) {
                    if n == 4 {
                        let i = u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize;
                        if rtt[i].is_none() {
                            rtt[i] = Some(sent[i].elapsed());
                        }
                    }
                }
            };
            for i in 0..count {
                sent.push(Instant::now());
                s.send_to(&i.to_be_bytes(), to).unwrap();
                let next = Instant::now() + gap;
                while Instant::now() < next {
                    recv(&s, &sent, &mut rtt);
                }
            }
            let end = Instant::now() + wait;
            while Instant::now() < end {
                recv(&s, &sent, &mut rtt);
            }
            Ok(rtt.into_iter().flatten().collect())
        })
        .unwrap()
    }

    fn n1_to_n2(&self, count: u32) -> Vec<Duration> {
        self.probe(
            &self.env.node_ns(0),
            count,
            Duration::from_millis(5),
            Duration::from_millis(400),
        )
    }

    fn rules(&self) -> String {
        let out = netns::run_in(self.env.hub_ns(), || {
            Ok(Command::new("iptables-nft")
                .args(["-S", "FORWARD"])
                .output()
                .unwrap())
        })
        .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(s) = self.server.take() {
            let _ = s.join();
        }
        let _ = self.env.teardown();
        let _ = std::fs::remove_dir_all(&self.logs);
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    assert!(!v.is_empty(), "no probe answered");
    v.sort();
    v[v.len() / 2]
}

fn fault(direction: Direction, links: Vec<(usize, usize)>, behaviour: Behaviour) -> PacketParams {
    PacketParams {
        nodes: vec![0],
        direction,
        links,
        behaviour,
        seed: 11,
    }
}

fn host_ruleset() -> String {
    let out = Command::new("nft").args(["list", "ruleset"]).output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

#[test]
fn a_delay_fault_delays_node_to_node_packets_only_and_heals() {
    require_env!();
    let host = host_ruleset();
    let pair = Pair::new();
    assert!(matches!(
        pair.env.packet_backend(),
        squall::env::shaper::netem::Backend::Userspace | squall::env::shaper::netem::Backend::Netem
    ));
    let before = median(pair.n1_to_n2(50));
    let delay = Behaviour {
        delay_ms: 50,
        jitter_ms: 10,
        ..Behaviour::default()
    };
    let p = fault(Direction::Both, vec![(0, 1), (1, 0)], delay);
    pair.env.shape(&p).unwrap();
    pair.env.shape(&p).unwrap(); // idempotent
    assert_eq!(
        pair.rules().matches("squall-packet").count(),
        2,
        "{}",
        pair.rules()
    );
    let during = median(pair.n1_to_n2(50));
    // The hub's own traffic (clients) to node 2, during the fault.
    let client = median(pair.probe(
        pair.env.hub_ns(),
        50,
        Duration::from_millis(5),
        Duration::from_millis(200),
    ));
    pair.env.unshape(&p).unwrap();
    pair.env.unshape(&p).unwrap(); // idempotent
    assert_eq!(
        pair.rules().matches("squall-packet").count(),
        0,
        "{}",
        pair.rules()
    );
    let after = median(pair.n1_to_n2(50));
    eprintln!("RTT n1->n2 median: before {before:?}, with 50±10 ms each way {during:?}, after heal {after:?}; hub->n2 during {client:?}");
    assert!(before < Duration::from_millis(10), "{before:?}");
    assert!(
        during >= Duration::from_millis(85) && during <= Duration::from_millis(130),
        "two 50±10 ms delays: {during:?}"
    );
    assert!(
        client < Duration::from_millis(10),
        "clients are not shaped: {client:?}"
    );
    assert!(after < Duration::from_millis(10), "{after:?}");
    drop(pair);
    assert_eq!(host_ruleset(), host, "the host's tables are untouched");
}

#[test]
fn a_loss_fault_drops_about_its_rate_and_heal_all_ends_it() {
    require_env!();
    let pair = Pair::new();
    let loss = Behaviour {
        loss: 20,
        ..Behaviour::default()
    };
    // One direction: n1 -> n2 only, so a probe is lost at the configured rate.
    let p = fault(Direction::Out, vec![(0, 1)], loss);
    pair.env.shape(&p).unwrap();
    let n = 600;
    let answered = pair.n1_to_n2(n).len();
    let lost = 1.0 - answered as f64 / f64::from(n);
    pair.env.heal_all().unwrap();
    assert_eq!(pair.rules().matches("squall-packet").count(), 0);
    let healed = pair.n1_to_n2(100).len();
    eprintln!(
        "loss 20% n1->n2: {lost:.3} of {n} probes lost; after heal-all {healed}/100 answered"
    );
    // 600 probes at 20 %: σ ≈ 1.6 %; a tolerant bound.
    assert!((0.12..=0.28).contains(&lost), "lost {lost}");
    assert_eq!(healed, 100);
}

#[test]
fn corrupted_packets_fail_their_checksum_at_the_receiver() {
    require_env!();
    let pair = Pair::new();
    let b = Behaviour {
        corrupt: 30,
        ..Behaviour::default()
    };
    let p = fault(Direction::Out, vec![(0, 1)], b);
    pair.env.shape(&p).unwrap();
    let n = 400;
    let answered = pair.n1_to_n2(n).len();
    pair.env.unshape(&p).unwrap();
    // A UDP datagram with a flipped byte fails its checksum and is dropped by node 2.
    let lost = 1.0 - answered as f64 / f64::from(n);
    eprintln!("corrupt 30% n1->n2: {lost:.3} of {n} probes lost");
    assert!((0.18..=0.42).contains(&lost), "lost {lost}");
}

#[test]
fn duplicated_and_reordered_packets_arrive_twice_and_out_of_order() {
    require_env!();
    let pair = Pair::new();
    let b = Behaviour {
        delay_ms: 30,
        reorder: 30,
        duplicate: 50,
        ..Behaviour::default()
    };
    let p = fault(Direction::Out, vec![(0, 1)], b);
    // Count what node 2 receives: a second listener would race the echo server, so count
    // the echoes instead (each received datagram is echoed once).
    pair.env.shape(&p).unwrap();
    let counts = netns::run_in(&pair.env.node_ns(0), || {
        let s = UdpSocket::bind("0.0.0.0:0").unwrap();
        // Read between sends: a few hundred unread datagrams would overflow the socket's
        // receive buffer and look like loss.
        s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
        let to = SocketAddrV4::new(pair.env.node_addr(1), PORT);
        let mut order = Vec::new();
        let mut buf = [0u8; 64];
        let mut recv = |order: &mut Vec<u32>| {
            while let Ok(n) = s.recv(&mut buf) {
                if n == 4 {
                    order.push(u32::from_be_bytes(buf[..4].try_into().unwrap()));
                }
            }
        };
        for i in 0u32..200 {
            s.send_to(&i.to_be_bytes(), to).unwrap();
            recv(&mut order);
        }
        let end = Instant::now() + Duration::from_millis(300);
        while Instant::now() < end {
            recv(&mut order);
        }
        Ok(order)
    })
    .unwrap();
    pair.env.unshape(&p).unwrap();
    let mut distinct = counts.clone();
    distinct.sort();
    distinct.dedup();
    let dups = counts.len() - distinct.len();
    let inversions = counts.windows(2).filter(|w| w[0] > w[1]).count();
    eprintln!(
        "200 sent: {} received, {} duplicates, {} inversions",
        counts.len(),
        dups,
        inversions
    );
    assert_eq!(distinct.len(), 200, "nothing lost");
    assert!((60..=140).contains(&dups), "about half duplicated: {dups}");
    assert!(inversions > 10, "reordered: {inversions}");
}

fn etcd_installed() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("etcd").is_file()))
}

fn squall(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_squall"))
        .args(args)
        .output()
        .unwrap()
}

/// A scratch store (never named /tmp/squall-*: that is what `squall clean` looks for).
fn store(tag: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("sqpkt-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    p
}

/// What run `run` left on the host: its namespaces, its run directory, its processes.
fn left_by(run: &str) -> Vec<String> {
    let mut left = Vec::new();
    let prefix = format!("squall-{run}-");
    for e in std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
    {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&prefix) {
            left.push(format!("namespace {n}"));
        }
    }
    if std::path::Path::new(&format!("/tmp/squall-{run}")).exists() {
        left.push(format!("/tmp/squall-{run}"));
    }
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&format!("/tmp/squall-{run}/")) {
            left.push(format!("process {}", e.file_name().to_string_lossy()));
        }
    }
    left
}

fn host_rules() -> String {
    let out = Command::new("ip").args(["rule"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &host_ruleset()
}

#[test]
fn an_etcd_run_with_packet_faults_is_valid_and_leaves_nothing() {
    require_env!();
    if !etcd_installed() {
        eprintln!("skipped: etcd not installed");
        return;
    }
    let host = host_rules();
    let dir = store("run");
    let d = dir.to_str().unwrap();
    let out = squall(&[
        "run",
        "--nemesis",
        "packet",
        "--time-limit",
        "15s",
        "--seed",
        "4",
        "--store",
        d,
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("fault  packet "), "{text}");
    assert!(!text.contains("could not start"), "{text}");
    assert!(
        text.contains("packet faults: median ok-op latency"),
        "{text}"
    );
    assert!(text.contains("verdict: valid"), "{text}");
    let run = text
        .split("(run ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap()
        .to_string();
    assert_eq!(left_by(&run), Vec::<String>::new());
    assert_eq!(host_rules(), host, "host namespace untouched");
}

/// Starts `squall run --nemesis packet` storing in `dir`; returns it and its run id once
/// its first packet fault is in force, with the hub's NFQUEUE rules checked present.
fn run_until_packet_fault(dir: &std::path::Path) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_squall"))
        .args([
            "run",
            "--nemesis",
            "packet",
            "--time-limit",
            "30s",
            "--seed",
            "4",
            "--store",
        ])
        .arg(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut run = None;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(r) = line.split("(run ").nth(1) {
            run = r.split(')').next().map(str::to_string);
        }
        if line.starts_with("fault  packet") {
            break;
        }
    }
    // Keep reading (and dropping) its output so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let run = run.expect("a run id");
    let hub = format!("squall-{run}-hub");
    let rules = netns::run_in(&hub, || {
        Ok(Command::new("iptables-nft")
            .args(["-S", "FORWARD"])
            .output()
            .unwrap())
    })
    .unwrap();
    assert!(String::from_utf8_lossy(&rules.stdout).contains("NFQUEUE"));
    (child, run)
}

#[test]
fn ctrl_c_in_a_packet_fault_heals_and_leaves_nothing() {
    require_env!();
    if !etcd_installed() {
        eprintln!("skipped: etcd not installed");
        return;
    }
    let host = host_rules();
    let dir = store("int");
    let (mut child, run) = run_until_packet_fault(&dir);
    // SAFETY: plain kill(2) on our child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(status.code(), Some(3), "interrupted runs exit 3");
    assert_eq!(left_by(&run), Vec::<String>::new());
    assert_eq!(host_rules(), host, "host namespace untouched");
}

#[test]
fn kill_9_in_a_packet_fault_then_clean_leaves_nothing() {
    require_env!();
    if !etcd_installed() {
        eprintln!("skipped: etcd not installed");
        return;
    }
    let host = host_rules();
    let dir = store("kill");
    // Mid-fault: the rules are there and the shaper holds packets.
    let (mut child, run) = run_until_packet_fault(&dir);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let out = squall(&["clean"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(left_by(&run), Vec::<String>::new());
    assert_eq!(host_rules(), host, "host namespace untouched");
}

/// Figures, not a test (nothing asserted on time): `cargo test --release --test
/// packet_local -- --ignored --nocapture shaper_figures`. The shaper passing every packet
/// (a fault with no behaviour) on both directions between two nodes: the round trip it adds
/// (two traversals), and how many packets a second it forwards under a UDP flood.
#[test]
#[ignore]
fn shaper_figures() {
    require_env!();
    let pair = Pair::new();
    let base = median(pair.n1_to_n2(300));
    let p = fault(Direction::Both, vec![(0, 1), (1, 0)], Behaviour::default());
    let t = Instant::now();
    pair.env.shape(&p).unwrap();
    let in_force = t.elapsed();
    let shaped = median(pair.n1_to_n2(300));
    // Flood n1 -> n2 for 1 s (replies come back through the shaper too).
    let (sent, answered) = netns::run_in(&pair.env.node_ns(0), || {
        let s = UdpSocket::bind("0.0.0.0:0").unwrap();
        s.set_nonblocking(true).unwrap();
        let to = SocketAddrV4::new(pair.env.node_addr(1), PORT);
        let (mut sent, mut got) = (0u64, 0u64);
        let mut buf = [0u8; 64];
        let end = Instant::now() + Duration::from_secs(1);
        while Instant::now() < end {
            if s.send_to(&0u32.to_be_bytes(), to).is_ok() {
                sent += 1;
            }
            while s.recv(&mut buf).is_ok() {
                got += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
        while s.recv(&mut buf).is_ok() {
            got += 1;
        }
        Ok((sent, got))
    })
    .unwrap();
    pair.env.unshape(&p).unwrap();
    eprintln!(
        "shaper pass-through: RTT median {base:?} -> {shaped:?} (+{:?} per traversal); \
         fault in force in {in_force:?}; flood: {sent} sent, {answered} echoed in 1 s \
         ({} shaped packets/s, both ways)",
        shaped.saturating_sub(base) / 2,
        answered * 2
    );
}
