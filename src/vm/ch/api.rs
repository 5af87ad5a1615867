//! A typed client of Cloud Hypervisor's REST API (`--api-socket`): HTTP/1.1 over the
//! VMM's Unix socket, one connection per request, each request bounded by a timeout.
//!
//! The endpoints live under `/api/v1/` (see `vmm/src/api/openapi/cloud-hypervisor.yaml`).
//! Actions are `PUT` (with a JSON body where the API defines one), queries `GET`. CH answers
//! `204 No Content` for a done action, `200` with JSON for a query or a hot-plug, and on
//! failure a 4xx/5xx whose body is a JSON array of the error chain's messages, outermost
//! first (`["Error from API", "The VM could not be snapshotted", ..., "GetNestedState:
//! Invalid argument"]`). That chain is kept, joined with `: `, in [`ApiError::Status`], so
//! CH's own words reach the person.
//!
//! Why no `hyperlocal`: hyper 1's client connection works on any byte stream, so a
//! `tokio::net::UnixStream` wrapped in [`TokioIo`] is all a Unix-socket client needs.
//!
//! The client is async. Environments and fault targets are synchronous and may be called
//! from a tokio worker (e.g. inside `spawn_blocking`), where blocking on another runtime
//! would panic; [`block_on`] therefore runs a future on a fresh thread with its own small
//! runtime.

use super::types::{
    file_url, DiskConfig, NetConfig, PciDeviceInfo, RestoreConfig, VmConfig, VmCounters, VmInfo,
    VmRemoveDevice, VmResize, VmSnapshotConfig, VmmPing,
};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// How long a request may take by default (connect, send, answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `vm.snapshot` and `vm.restore` may take: they copy guest memory.
pub const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(120);

/// Why an API call failed. Each message starts with the endpoint, e.g.
/// `vm.pause: 405 Method Not Allowed: Error from API: The VM could not be paused: ...`.
#[derive(Debug, Error)]
pub enum ApiError {
    /// The socket could not be reached (no VMM listening, or it died).
    #[error("{endpoint}: connect to {}: {cause}", socket.display())]
    Connect {
        /// The endpoint, e.g. `vm.boot`.
        endpoint: &'static str,
        /// The API socket.
        socket: PathBuf,
        /// What the kernel said.
        cause: io::Error,
    },
    /// The HTTP exchange broke off (the VMM closed the connection, ...).
    #[error("{endpoint}: {cause}")]
    Http {
        /// The endpoint.
        endpoint: &'static str,
        /// hyper's account of it.
        cause: String,
    },
    /// No answer in time.
    #[error("{endpoint}: no answer within {}s", timeout.as_secs_f64())]
    Timeout {
        /// The endpoint.
        endpoint: &'static str,
        /// The limit that ran out.
        timeout: Duration,
    },
    /// CH refused or failed the request; `message` is its error chain.
    #[error("{endpoint}: {status}: {message}")]
    Status {
        /// The endpoint.
        endpoint: &'static str,
        /// The HTTP status, e.g. `405 Method Not Allowed`.
        status: StatusCode,
        /// CH's error chain, joined with `: ` (or the body as it came).
        message: String,
    },
    /// The answer was not the JSON the API documents.
    #[error("{endpoint}: unexpected answer: {cause}")]
    Decode {
        /// The endpoint.
        endpoint: &'static str,
        /// What was wrong with it.
        cause: String,
    },
}

impl ApiError {
    /// CH's own error text, for [`ApiError::Status`].
    pub fn message(&self) -> Option<&str> {
        match self {
            ApiError::Status { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// A client of one VMM's API socket.
#[derive(Clone, Debug)]
pub struct ChClient {
    socket: PathBuf,
    timeout: Duration,
}

impl ChClient {
    /// A client of the VMM listening on `socket`, with [`DEFAULT_TIMEOUT`] per request.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        ChClient {
            socket: socket.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The same client with another per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The API socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// `GET vmm.ping`: the VMM's version, pid and features.
    pub async fn ping(&self) -> Result<VmmPing, ApiError> {
        self.get("vmm.ping").await
    }

    /// `PUT vmm.shutdown`: the VMM process exits (after shutting its VM down).
    pub async fn vmm_shutdown(&self) -> Result<(), ApiError> {
        self.put("vmm.shutdown", None::<&()>).await.map(drop)
    }

    /// `PUT vm.create`: defines the VM (state `Created`); nothing runs yet.
    pub async fn create(&self, config: &VmConfig) -> Result<(), ApiError> {
        self.put("vm.create", Some(config)).await.map(drop)
    }

    /// `PUT vm.boot`: boots the created VM (state `Running`).
    pub async fn boot(&self) -> Result<(), ApiError> {
        self.put("vm.boot", None::<&()>).await.map(drop)
    }

    /// `GET vm.info`: the VM's state and effective configuration.
    pub async fn info(&self) -> Result<VmInfo, ApiError> {
        self.get("vm.info").await
    }

    /// `GET vm.counters`: device counters (bytes and packets per device, ...).
    pub async fn counters(&self) -> Result<VmCounters, ApiError> {
        self.get("vm.counters").await
    }

    /// `PUT vm.pause`: stops the vCPUs (state `Paused`).
    pub async fn pause(&self) -> Result<(), ApiError> {
        self.put("vm.pause", None::<&()>).await.map(drop)
    }

    /// `PUT vm.resume`: continues a paused VM (state `Running`).
    pub async fn resume(&self) -> Result<(), ApiError> {
        self.put("vm.resume", None::<&()>).await.map(drop)
    }

    /// `PUT vm.reboot`: resets the VM and boots it again (a hard reset, not an ACPI one).
    pub async fn reboot(&self) -> Result<(), ApiError> {
        self.put("vm.reboot", None::<&()>).await.map(drop)
    }

    /// `PUT vm.shutdown`: powers the VM off at once (state `Created` again, bootable).
    pub async fn shutdown(&self) -> Result<(), ApiError> {
        self.put("vm.shutdown", None::<&()>).await.map(drop)
    }

    /// `PUT vm.delete`: forgets the VM; `vm.create` may follow.
    pub async fn delete(&self) -> Result<(), ApiError> {
        self.put("vm.delete", None::<&()>).await.map(drop)
    }

    /// `PUT vm.snapshot` into directory `dir` (absolute, existing; CH wants the VM paused).
    pub async fn snapshot(&self, dir: &Path) -> Result<(), ApiError> {
        let body = VmSnapshotConfig {
            destination_url: file_url(dir),
        };
        self.put_with(
            "vm.snapshot",
            Some(&body),
            self.timeout.max(SNAPSHOT_TIMEOUT),
        )
        .await
        .map(drop)
    }

    /// `PUT vm.restore`: a fresh VMM (no VM created) restores a snapshot.
    pub async fn restore(&self, config: &RestoreConfig) -> Result<(), ApiError> {
        self.put_with(
            "vm.restore",
            Some(config),
            self.timeout.max(SNAPSHOT_TIMEOUT),
        )
        .await
        .map(drop)
    }

    /// `PUT vm.resize`: vCPUs, memory or balloon.
    pub async fn resize(&self, resize: &VmResize) -> Result<(), ApiError> {
        self.put("vm.resize", Some(resize)).await.map(drop)
    }

    /// `PUT vm.add-net`: hot-plugs a network device (cold-plugs into a created VM, which
    /// answers `None`).
    pub async fn add_net(&self, net: &NetConfig) -> Result<Option<PciDeviceInfo>, ApiError> {
        let body = self.put("vm.add-net", Some(net)).await?;
        decode_optional("vm.add-net", &body)
    }

    /// `PUT vm.add-disk`: hot-plugs a disk (cold-plugs into a created VM: `None`).
    pub async fn add_disk(&self, disk: &DiskConfig) -> Result<Option<PciDeviceInfo>, ApiError> {
        let body = self.put("vm.add-disk", Some(disk)).await?;
        decode_optional("vm.add-disk", &body)
    }

    /// `PUT vm.remove-device`: unplugs device `id`.
    pub async fn remove_device(&self, id: &str) -> Result<(), ApiError> {
        let body = VmRemoveDevice { id: id.to_string() };
        self.put("vm.remove-device", Some(&body)).await.map(drop)
    }

    async fn get<T: DeserializeOwned>(&self, endpoint: &'static str) -> Result<T, ApiError> {
        let body = self.call(Method::GET, endpoint, None, self.timeout).await?;
        serde_json::from_slice(&body).map_err(|e| ApiError::Decode {
            endpoint,
            cause: e.to_string(),
        })
    }

    async fn put<B: Serialize>(
        &self,
        endpoint: &'static str,
        body: Option<&B>,
    ) -> Result<Bytes, ApiError> {
        self.put_with(endpoint, body, self.timeout).await
    }

    async fn put_with<B: Serialize>(
        &self,
        endpoint: &'static str,
        body: Option<&B>,
        timeout: Duration,
    ) -> Result<Bytes, ApiError> {
        let json = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| ApiError::Decode {
                endpoint,
                cause: e.to_string(),
            })?;
        self.call(Method::PUT, endpoint, json, timeout).await
    }

    /// One request on a fresh connection; the body of a 2xx answer, or the error.
    async fn call(
        &self,
        method: Method,
        endpoint: &'static str,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Bytes, ApiError> {
        match tokio::time::timeout(timeout, self.exchange(method, endpoint, body)).await {
            Ok(result) => result,
            Err(_) => Err(ApiError::Timeout { endpoint, timeout }),
        }
    }

    async fn exchange(
        &self,
        method: Method,
        endpoint: &'static str,
        body: Option<Vec<u8>>,
    ) -> Result<Bytes, ApiError> {
        let http = |e: &dyn std::fmt::Display| ApiError::Http {
            endpoint,
            cause: e.to_string(),
        };
        let stream = tokio::net::UnixStream::connect(&self.socket)
            .await
            .map_err(|cause| ApiError::Connect {
                endpoint,
                socket: self.socket.clone(),
                cause,
            })?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| http(&e))?;
        // The connection task ends when the exchange is over (or the VMM hangs up).
        let driver = tokio::spawn(conn);
        let mut request = Request::builder()
            .method(method)
            .uri(format!("/api/v1/{endpoint}"))
            .header(hyper::header::HOST, "localhost")
            .header(hyper::header::ACCEPT, "application/json");
        if body.is_some() {
            request = request.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| http(&e))?;
        let response = sender.send_request(request).await.map_err(|e| http(&e))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| http(&e))?
            .to_bytes();
        drop(sender);
        driver.abort();
        if status.is_success() {
            Ok(bytes)
        } else {
            Err(ApiError::Status {
                endpoint,
                status,
                message: error_text(&bytes),
            })
        }
    }
}

/// CH's error body (a JSON array of the error chain's messages) as one line; any other
/// body as text, or `(no details)`.
pub fn error_text(body: &[u8]) -> String {
    if let Ok(chain) = serde_json::from_slice::<Vec<String>>(body) {
        if !chain.is_empty() {
            let chain: Vec<String> = chain.iter().map(|m| one_line(m)).collect();
            return chain.join(": ");
        }
    }
    let text = String::from_utf8_lossy(body).trim().to_string();
    if text.is_empty() {
        "(no details)".into()
    } else {
        text
    }
}

/// One message of CH's error chain on one line: without the stack backtrace some errors
/// carry (`...(os error 22)\n\nStack backtrace:\n   0: ...)`), parentheses the cut
/// left open closed again, and the remaining whitespace runs collapsed.
fn one_line(message: &str) -> String {
    let mut text = match message.find("\n\nStack backtrace:") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    };
    let open = text
        .matches('(')
        .count()
        .saturating_sub(text.matches(')').count());
    text.push_str(&")".repeat(open));
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn decode_optional(endpoint: &'static str, body: &[u8]) -> Result<Option<PciDeviceInfo>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| ApiError::Decode {
            endpoint,
            cause: e.to_string(),
        })
}

/// Runs `future` to completion on a fresh thread with its own single-threaded runtime, and
/// returns its output. Safe to call from anywhere, including a tokio worker thread.
pub fn block_on<F>(future: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime for the Cloud Hypervisor API")
                .block_on(future)
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

#[cfg(test)]
mod tests {
    //! Request shapes against a fake VMM: a Unix-socket HTTP server that records each
    //! request and answers as CH documents. The real VMM is exercised in `super::super`'s
    //! tests (`vm::ch::tests`), where a `cloud-hypervisor` binary is installed.

    use super::super::types::*;
    use super::*;
    use serde_json::{json, Value};
    use std::io::{BufRead, BufReader, Read, Write};
    use std::os::unix::net::UnixListener;
    use std::sync::{Arc, Mutex};

    /// One recorded request: method, path, JSON body (`Null` if none).
    type Seen = (String, String, Value);

    /// A fake VMM answering every request with `answer(path)`: (status line, body).
    struct Fake {
        socket: PathBuf,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl Fake {
        fn start(answer: fn(&str) -> (&'static str, String)) -> Fake {
            let dir = std::env::temp_dir().join(format!(
                "squall-fake-ch-{}-{}",
                std::process::id(),
                crate::env::names::new_run_id()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let socket = dir.join("api.sock");
            let listener = UnixListener::bind(&socket).unwrap();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let log = seen.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { return };
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        continue;
                    }
                    let mut parts = line.split_whitespace();
                    let method = parts.next().unwrap().to_string();
                    let path = parts.next().unwrap().to_string();
                    assert_eq!(parts.next(), Some("HTTP/1.1"));
                    let mut length = 0;
                    let mut content_type = None;
                    loop {
                        let mut header = String::new();
                        reader.read_line(&mut header).unwrap();
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        let (k, v) = header.split_once(':').unwrap();
                        match k.to_ascii_lowercase().as_str() {
                            "content-length" => length = v.trim().parse().unwrap(),
                            "content-type" => content_type = Some(v.trim().to_string()),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let json = if body.is_empty() {
                        Value::Null
                    } else {
                        assert_eq!(content_type.as_deref(), Some("application/json"));
                        serde_json::from_slice(&body).expect("a JSON body")
                    };
                    log.lock().unwrap().push((method, path.clone(), json));
                    let (status, body) = answer(&path);
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/json\r\n\r\n{body}",
                        body.len()
                    );
                }
            });
            Fake { socket, seen }
        }

        fn take(&self) -> Vec<Seen> {
            std::mem::take(&mut *self.seen.lock().unwrap())
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(self.socket.parent().unwrap());
        }
    }

    /// CH's answers: JSON for the queries, 204 for actions.
    fn documented(path: &str) -> (&'static str, String) {
        match path {
            "/api/v1/vmm.ping" => (
                "200 OK",
                json!({"build_version": "v53.0", "version": "v53.0", "pid": 42,
                       "features": ["kvm", "io_uring"]})
                .to_string(),
            ),
            "/api/v1/vm.info" => (
                "200 OK",
                json!({"config": {"payload": {"kernel": "/k"}, "cpus": {"boot_vcpus": 1,
                       "max_vcpus": 1, "kvm_hyperv": false}, "iommu": false},
                       "state": "Paused", "memory_actual_size": 134217728})
                .to_string(),
            ),
            "/api/v1/vm.counters" => (
                "200 OK",
                json!({"_net2": {"rx_bytes": 10, "tx_frames": 2}}).to_string(),
            ),
            "/api/v1/vm.add-net" => (
                "200 OK",
                json!({"id": "_net3", "bdf": "0000:00:05.0"}).to_string(),
            ),
            _ => ("204 No Content", String::new()),
        }
    }

    fn spec_config() -> VmConfig {
        VmConfig {
            cpus: Some(CpusConfig {
                boot_vcpus: 2,
                max_vcpus: 2,
            }),
            memory: Some(MemoryConfig { size: 512 << 20 }),
            payload: PayloadConfig {
                kernel: Some("/img/bzImage".into()),
                initramfs: Some("/img/initramfs.cpio".into()),
                cmdline: Some("console=ttyS0 squall.name=n1".into()),
                firmware: None,
            },
            disks: Some(vec![DiskConfig {
                path: "/tmp/n1.img".into(),
                ..DiskConfig::default()
            }]),
            net: Some(vec![NetConfig {
                tap: Some("sqab12cdt1".into()),
                mac: Some("52:54:00:12:01:02".into()),
                num_queues: Some(2),
                ..NetConfig::default()
            }]),
            vsock: Some(VsockConfig {
                cid: 3,
                socket: "/tmp/n1.vsock".into(),
            }),
            serial: Some(ConsoleConfig {
                mode: ConsoleMode::File,
                file: Some("/store/nodes/n1/serial.log".into()),
            }),
            console: Some(ConsoleConfig {
                mode: ConsoleMode::Off,
                file: None,
            }),
        }
    }

    #[test]
    fn every_endpoint_sends_the_documented_request() {
        let fake = Fake::start(documented);
        let c = ChClient::new(&fake.socket);
        let put = |path: &str, body: Value| ("PUT".to_string(), format!("/api/v1/{path}"), body);

        let ping = block_on(c.ping()).unwrap();
        assert_eq!(ping.version, "v53.0");
        assert_eq!(ping.pid, Some(42));
        assert_eq!(
            fake.take(),
            vec![("GET".into(), "/api/v1/vmm.ping".into(), Value::Null)]
        );

        block_on(c.create(&spec_config())).unwrap();
        assert_eq!(
            fake.take(),
            vec![put(
                "vm.create",
                json!({
                    "cpus": {"boot_vcpus": 2, "max_vcpus": 2},
                    "memory": {"size": 536870912u64},
                    "payload": {"kernel": "/img/bzImage", "initramfs": "/img/initramfs.cpio",
                                "cmdline": "console=ttyS0 squall.name=n1"},
                    "disks": [{"path": "/tmp/n1.img"}],
                    "net": [{"tap": "sqab12cdt1", "mac": "52:54:00:12:01:02", "num_queues": 2}],
                    "vsock": {"cid": 3, "socket": "/tmp/n1.vsock"},
                    "serial": {"mode": "File", "file": "/store/nodes/n1/serial.log"},
                    "console": {"mode": "Off"}
                })
            )]
        );

        for (name, call) in [
            (
                "vm.boot",
                Box::pin(c.boot()) as std::pin::Pin<Box<dyn Future<Output = _> + Send>>,
            ),
            ("vm.pause", Box::pin(c.pause())),
            ("vm.resume", Box::pin(c.resume())),
            ("vm.reboot", Box::pin(c.reboot())),
            ("vm.shutdown", Box::pin(c.shutdown())),
            ("vm.delete", Box::pin(c.delete())),
            ("vmm.shutdown", Box::pin(c.vmm_shutdown())),
        ] {
            block_on(call).unwrap();
            assert_eq!(fake.take(), vec![put(name, Value::Null)], "{name}");
        }

        let info = block_on(c.info()).unwrap();
        assert_eq!(info.state, VmState::Paused);
        assert_eq!(info.memory_actual_size, Some(128 << 20));
        assert_eq!(info.config.cpus.unwrap().boot_vcpus, 1);
        assert_eq!(
            fake.take(),
            vec![("GET".into(), "/api/v1/vm.info".into(), Value::Null)]
        );

        let counters = block_on(c.counters()).unwrap();
        assert_eq!(counters["_net2"]["rx_bytes"], 10);
        assert_eq!(fake.take()[0].1, "/api/v1/vm.counters");

        block_on(c.snapshot(Path::new("/store/nodes/n1/snapshot"))).unwrap();
        assert_eq!(
            fake.take(),
            vec![put(
                "vm.snapshot",
                json!({"destination_url": "file:///store/nodes/n1/snapshot"})
            )]
        );

        let restore = RestoreConfig {
            source_url: "file:///snap".into(),
            prefault: None,
            resume: Some(true),
        };
        block_on(c.restore(&restore)).unwrap();
        assert_eq!(
            fake.take(),
            vec![put(
                "vm.restore",
                json!({"source_url": "file:///snap", "resume": true})
            )]
        );

        let resize = VmResize {
            desired_vcpus: Some(2),
            desired_ram: Some(1 << 30),
            desired_balloon: None,
        };
        block_on(c.resize(&resize)).unwrap();
        assert_eq!(
            fake.take(),
            vec![put(
                "vm.resize",
                json!({"desired_vcpus": 2, "desired_ram": 1073741824u64})
            )]
        );

        let net = NetConfig {
            tap: Some("sqab12cdt9".into()),
            ..NetConfig::default()
        };
        let added = block_on(c.add_net(&net)).unwrap().unwrap();
        assert_eq!(added.id, "_net3");
        assert_eq!(
            fake.take(),
            vec![put("vm.add-net", json!({"tap": "sqab12cdt9"}))]
        );

        let disk = DiskConfig {
            path: "/tmp/extra.img".into(),
            readonly: Some(true),
            id: Some("extra".into()),
        };
        // 204: cold-plugged, no device info.
        assert_eq!(block_on(c.add_disk(&disk)).unwrap(), None);
        assert_eq!(
            fake.take(),
            vec![put(
                "vm.add-disk",
                json!({"path": "/tmp/extra.img", "readonly": true, "id": "extra"})
            )]
        );

        block_on(c.remove_device("extra")).unwrap();
        assert_eq!(
            fake.take(),
            vec![put("vm.remove-device", json!({"id": "extra"}))]
        );
    }

    #[test]
    fn errors_carry_chs_text() {
        let fake = Fake::start(|path| match path {
            "/api/v1/vm.snapshot" => (
                "500 Internal Server Error",
                json!([
                    "Error from API",
                    "The VM could not be snapshotted",
                    "Error snapshotting vCPU",
                    "GetNestedState: Invalid argument (os error 22)"
                ])
                .to_string(),
            ),
            "/api/v1/vm.pause" => ("405 Method Not Allowed", "not json".into()),
            _ => ("404 Not Found", String::new()),
        });
        let c = ChClient::new(&fake.socket);
        let e = block_on(c.snapshot(Path::new("/x"))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "vm.snapshot: 500 Internal Server Error: Error from API: The VM could not be \
             snapshotted: Error snapshotting vCPU: GetNestedState: Invalid argument (os error 22)"
        );
        assert!(super::super::is_nested_state_error(e.message().unwrap()));
        let e = block_on(c.pause()).unwrap_err();
        assert_eq!(e.to_string(), "vm.pause: 405 Method Not Allowed: not json");
        // What CH v53 really sends inside a nested KVM: a backtrace inside the message.
        let body = json!([
            "Error from API",
            "Could not get vCPU state GetNestedState(Invalid \
            argument (os error 22)\n\nStack backtrace:\n   0: <unknown>\n  11: clone3\n  \
            at ./misc/clone3.S:81:0)"
        ]);
        assert_eq!(
            error_text(body.to_string().as_bytes()),
            "Error from API: Could not get vCPU state GetNestedState(Invalid argument (os error 22))"
        );
        let e = block_on(c.boot()).unwrap_err();
        assert_eq!(e.to_string(), "vm.boot: 404 Not Found: (no details)");

        // Nobody listening.
        let gone = ChClient::new("/nonexistent/squall.sock");
        let e = block_on(gone.ping()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "vmm.ping: connect to /nonexistent/squall.sock: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn a_silent_vmm_times_out() {
        let dir =
            std::env::temp_dir().join(format!("sqsilent-{}", crate::env::names::new_run_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("api.sock");
        let _listener = UnixListener::bind(&socket).unwrap();
        let c = ChClient::new(&socket).with_timeout(Duration::from_millis(200));
        let e = block_on(c.info()).unwrap_err();
        assert_eq!(e.to_string(), "vm.info: no answer within 0.2s");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn block_on_works_inside_a_runtime() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let got = rt.block_on(async {
            tokio::task::spawn_blocking(|| block_on(async { 7 }))
                .await
                .unwrap()
        });
        assert_eq!(got, 7);
        assert_eq!(rt.block_on(async { block_on(async { 8 }) }), 8);
    }
}
