//! The userspace shaper's verdict loop: one thread per packet fault, inside the hub
//! namespace, bound to the fault's NFQUEUE queue.
//!
//! Each queued packet gets the next [`Fate`] of the fault's [`Decider`]: dropped, accepted
//! at once, or held (kept without a verdict, in a heap ordered by due time) and accepted
//! when due. A duplicate is the original accepted plus a copy sent by a raw IP socket in
//! the hub: the copy leaves through the hub's `OUTPUT` path, not `FORWARD`, so it is not
//! queued again (an NFQUEUE verdict cannot duplicate: `NF_REPEAT` only re-runs the hook).
//! A corrupted packet has one byte past its IP header flipped (the transport checksum then
//! fails at the receiver, as with netem).
//!
//! The loop reads without blocking, then waits in `poll(2)` on the queue's socket until a
//! packet comes or the next held one is due (at most [`IDLE`], to notice a stop). `nfq`
//! does not expose that socket, so `open_queue` finds it: the one `NETLINK_NETFILTER`
//! socket that appeared while the queue was opened, under a process-wide lock. Stopping
//! (heal, teardown, drop) accepts every held packet at once, unbinds and ends the thread; a process killed outright takes its queue with it, and the rules'
//! `--queue-bypass` lets packets through until the namespace goes.

use super::decide::{Decider, Fate};
use crate::env::{netns, EnvError};
use nemeses::Behaviour;
use nfq::{Message, Queue, Verdict};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the loop waits at most when no packet came and none is due sooner.
pub const IDLE: Duration = Duration::from_millis(20);

/// What a shaper did, counted as it goes.
#[derive(Debug, Default)]
pub struct Counts {
    /// Packets queued to the shaper.
    pub seen: AtomicU64,
    /// Dropped.
    pub dropped: AtomicU64,
    /// Held before their verdict.
    pub held: AtomicU64,
    /// Delivered twice.
    pub duplicated: AtomicU64,
    /// With a byte flipped.
    pub corrupted: AtomicU64,
}

impl Counts {
    /// `seen 120 dropped 24 held 96 duplicated 25 corrupted 0`.
    pub fn summary(&self) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "seen {} dropped {} held {} duplicated {} corrupted {}",
            g(&self.seen),
            g(&self.dropped),
            g(&self.held),
            g(&self.duplicated),
            g(&self.corrupted)
        )
    }
}

/// A running verdict loop. Dropping it stops it (held packets are released).
pub struct Shaper {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// What it did so far.
    pub counts: Arc<Counts>,
}

impl Shaper {
    /// Starts the loop of queue `queue` in namespace `ns`, deciding from `b` and `seed`;
    /// returns once the queue is bound (so rules added afterwards find a listener).
    pub fn start(ns: &str, queue: u16, b: Behaviour, seed: u64) -> Result<Shaper, EnvError> {
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let (ready_tx, ready_rx) = mpsc::channel();
        let ns_name = ns.to_string();
        let (stop2, counts2) = (stop.clone(), counts.clone());
        let thread = std::thread::Builder::new()
            .name(format!("squall-shaper-{queue}"))
            .spawn(move || {
                let setup =
                    netns::enter(&ns_name).and_then(|()| Loop::open(queue, b, seed, counts2));
                match setup {
                    Ok(mut l) => {
                        let _ = ready_tx.send(Ok(()));
                        l.run(&stop2);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(|e| EnvError::io("spawn the packet shaper", e))?;
        let ready = ready_rx
            .recv()
            .unwrap_or_else(|_| Err(EnvError::Invalid("packet shaper died starting".into())));
        let mut shaper = Shaper {
            stop,
            thread: Some(thread),
            counts,
        };
        match ready {
            Ok(()) => Ok(shaper),
            Err(e) => {
                shaper.stop();
                Err(e)
            }
        }
    }

    /// Stops the loop: every held packet is accepted, the queue unbound. Idempotent.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Shaper {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Held {
    due: Instant,
    seq: u64,
    msg: Message,
    twice: bool,
}

impl PartialEq for Held {
    fn eq(&self, o: &Self) -> bool {
        (self.due, self.seq) == (o.due, o.seq)
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Held {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(o.due, o.seq))
    }
}

struct Loop {
    q: Queue,
    /// The queue's socket, to wait on (owned by `q`).
    fd: libc::c_int,
    queue: u16,
    decider: Decider,
    raw: RawSocket,
    held: BinaryHeap<Reverse<Held>>,
    seq: u64,
    counts: Arc<Counts>,
}

impl Loop {
    fn open(queue: u16, b: Behaviour, seed: u64, counts: Arc<Counts>) -> Result<Loop, EnvError> {
        let what = |s: &str| format!("NFQUEUE {queue}: {s}");
        let (mut q, fd) = open_queue().map_err(|e| EnvError::io(what("open"), e))?;
        q.bind(queue).map_err(|e| EnvError::io(what("bind"), e))?;
        // A full queue accepts rather than drops: overload must not look like a fault.
        q.set_fail_open(queue, true)
            .map_err(|e| EnvError::io(what("fail-open"), e))?;
        q.set_queue_max_len(queue, 8192)
            .map_err(|e| EnvError::io(what("queue length"), e))?;
        q.set_nonblocking(true);
        Ok(Loop {
            q,
            fd,
            queue,
            decider: Decider::new(b, seed),
            raw: RawSocket::open().map_err(|e| EnvError::io(what("raw socket"), e))?,
            held: BinaryHeap::new(),
            seq: 0,
            counts,
        })
    }

    fn run(&mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            let mut got = false;
            for _ in 0..256 {
                match self.q.recv() {
                    Ok(msg) => {
                        got = true;
                        self.handle(msg);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        tracing::warn!(queue = self.queue, error = %e, "packet shaper: receive failed");
                        break;
                    }
                }
            }
            let now = Instant::now();
            while self.held.peek().is_some_and(|h| h.0.due <= now) {
                let Reverse(h) = self.held.pop().expect("peeked");
                self.deliver(h.msg, h.twice);
            }
            if !got {
                let next = self
                    .held
                    .peek()
                    .map(|h| h.0.due.saturating_duration_since(now));
                self.wait(next.map_or(IDLE, |d| d.min(IDLE)));
            }
        }
        // Release everything held, in due order.
        while let Some(Reverse(h)) = self.held.pop() {
            self.deliver(h.msg, h.twice);
        }
        let _ = self.q.unbind(self.queue);
        tracing::info!(queue = self.queue, counts = %self.counts.summary(), "packet shaper stopped");
    }

    /// Waits until the queue's socket is readable or `limit` has passed.
    fn wait(&self, limit: Duration) {
        let mut pfd = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ts = libc::timespec {
            tv_sec: limit.as_secs() as libc::time_t,
            tv_nsec: limit.subsec_nanos().into(),
        };
        // SAFETY: one valid pollfd and timespec for the duration of the call.
        unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
    }

    fn handle(&mut self, mut msg: Message) {
        self.counts.seen.fetch_add(1, Ordering::Relaxed);
        match self.decider.next_fate() {
            Fate::Drop => {
                self.counts.dropped.fetch_add(1, Ordering::Relaxed);
                msg.set_verdict(Verdict::Drop);
                self.verdict(msg);
            }
            Fate::Deliver {
                hold,
                twice,
                corrupt,
            } => {
                if let Some(at) = corrupt {
                    // A payload borrowed mutably goes back to the kernel with the verdict.
                    if corrupt_payload(msg.get_payload_mut(), at) {
                        self.counts.corrupted.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if hold.is_zero() {
                    self.deliver(msg, twice);
                } else {
                    self.counts.held.fetch_add(1, Ordering::Relaxed);
                    self.seq += 1;
                    self.held.push(Reverse(Held {
                        due: Instant::now() + hold,
                        seq: self.seq,
                        msg,
                        twice,
                    }));
                }
            }
        }
    }

    fn deliver(&mut self, mut msg: Message, twice: bool) {
        let copy = twice.then(|| msg.get_payload().to_vec());
        msg.set_verdict(Verdict::Accept);
        self.verdict(msg);
        if let Some(p) = copy {
            match self.raw.send(&p) {
                Ok(()) => {
                    self.counts.duplicated.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => tracing::debug!(error = %e, "packet shaper: duplicate not sent"),
            }
        }
    }

    fn verdict(&mut self, msg: Message) {
        if let Err(e) = self.q.verdict(msg) {
            tracing::warn!(queue = self.queue, error = %e, "packet shaper: verdict failed");
        }
    }
}

/// Opens an NFQUEUE socket and finds its descriptor: the `NETLINK_NETFILTER` socket that
/// was not there before. The lock keeps two shapers of this process from opening at once;
/// nothing else in squall opens such sockets.
fn open_queue() -> io::Result<(Queue, libc::c_int)> {
    static OPENING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = OPENING.lock().unwrap_or_else(|e| e.into_inner());
    let before = netfilter_sockets();
    let q = Queue::open()?;
    let new: Vec<_> = netfilter_sockets()
        .into_iter()
        .filter(|fd| !before.contains(fd))
        .collect();
    match new[..] {
        [fd] => Ok((q, fd)),
        _ => Err(io::Error::other(format!(
            "cannot tell the queue's socket among {new:?}"
        ))),
    }
}

/// This process's open `NETLINK_NETFILTER` sockets.
fn netfilter_sockets() -> Vec<libc::c_int> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    let int_opt = |fd: libc::c_int, opt: libc::c_int| {
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt into an int of the size given; a non-socket just fails.
        let r = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&mut v as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        (r == 0).then_some(v)
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<libc::c_int>().ok())
        .filter(|&fd| {
            int_opt(fd, libc::SO_DOMAIN) == Some(libc::AF_NETLINK)
                && int_opt(fd, libc::SO_PROTOCOL) == Some(libc::NETLINK_NETFILTER)
        })
        .collect()
}

/// Flips one byte past the IPv4 header of `packet` (chosen by `at`); false if there is none.
fn corrupt_payload(packet: &mut [u8], at: u64) -> bool {
    let Some(&first) = packet.first() else {
        return false;
    };
    let header = usize::from(first & 0x0f) * 4;
    if packet.len() <= header {
        return false;
    }
    let i = header + (at % (packet.len() - header) as u64) as usize;
    packet[i] ^= 0xff;
    true
}

/// A raw IPv4 socket (`IPPROTO_RAW`: the packet given is sent as it is, header included).
struct RawSocket(libc::c_int);

impl RawSocket {
    fn open() -> io::Result<RawSocket> {
        // SAFETY: plain socket(2); the descriptor is owned by the value and closed on drop.
        let fd = unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::IPPROTO_RAW,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(RawSocket(fd))
    }

    /// Sends IPv4 packet `p` to its own destination address.
    fn send(&self, p: &[u8]) -> io::Result<()> {
        if p.len() < 20 || p[0] >> 4 != 4 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not IPv4"));
        }
        let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from(dst).to_be(),
            },
            sin_zero: [0; 8],
        };
        // SAFETY: `p` and `addr` are valid for the lengths given.
        let n = unsafe {
            libc::sendto(
                self.0,
                p.as_ptr().cast(),
                p.len(),
                0,
                (&addr as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

impl Drop for RawSocket {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe { libc::close(self.0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corruption_flips_one_byte_past_the_ip_header_only() {
        let mut p = vec![0x45u8; 20];
        p.extend([1, 2, 3, 4]);
        let before = p.clone();
        assert!(corrupt_payload(&mut p, 6));
        let changed: Vec<usize> = (0..p.len()).filter(|&i| p[i] != before[i]).collect();
        assert_eq!(changed, vec![22]);
        assert!(
            !corrupt_payload(&mut [0x45u8; 20], 0),
            "no payload, nothing to flip"
        );
    }
}
