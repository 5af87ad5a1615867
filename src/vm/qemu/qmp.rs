//! A small QMP client (the QEMU Machine Protocol) over a Unix stream socket.
//!
//! QMP is JSON objects, one per line, in both directions. On connecting QEMU sends a
//! greeting (`{"QMP": {"version": ...}}`); the client must send `qmp_capabilities` before
//! any other command. Each command `{"execute": NAME, "arguments": {...}, "id": N}` is
//! answered by `{"return": ...}` or `{"error": {"class": C, "desc": D}}` carrying the same
//! `id`; asynchronous events (`{"event": ...}`) may arrive in between and are skipped
//! (logged). Matching answers by `id` matters: a command that timed out may be answered
//! later, and that late answer must not be read as the next command's.

use serde_json::{json, Value};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;
use thiserror::Error;

/// Why a QMP exchange failed.
#[derive(Debug, Error)]
pub enum QmpError {
    /// The socket failed, timed out or closed.
    #[error("QMP socket: {0}")]
    Io(String),
    /// QEMU sent something that is not QMP.
    #[error("QMP protocol: {0}")]
    Protocol(String),
    /// QEMU refused the command: its error class and description.
    #[error("{desc} ({class})")]
    Command {
        /// The error class, e.g. `GenericError`.
        class: String,
        /// QEMU's description.
        desc: String,
    },
}

fn io_error(e: &io::Error) -> QmpError {
    QmpError::Io(match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "no answer in time".into(),
        _ => crate::env::describe(e),
    })
}

/// One QMP connection, in command mode (the handshake done).
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
    /// QEMU's version from the greeting, e.g. `7.2.22`.
    version: String,
}

impl std::fmt::Debug for Qmp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qmp")
            .field("version", &self.version)
            .finish()
    }
}

impl Qmp {
    /// Reads the greeting on `stream` and negotiates command mode; every read waits at
    /// most `timeout`.
    pub fn handshake(stream: UnixStream, timeout: Duration) -> Result<Qmp, QmpError> {
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .map_err(|e| io_error(&e))?;
        let writer = stream.try_clone().map_err(|e| io_error(&e))?;
        let mut qmp = Qmp {
            reader: BufReader::new(stream),
            writer,
            next_id: 1,
            version: String::new(),
        };
        let greeting = qmp.read_message()?;
        let v = greeting
            .get("QMP")
            .and_then(|q| q.get("version"))
            .and_then(|v| v.get("qemu"))
            .ok_or_else(|| QmpError::Protocol(format!("not a QMP greeting: {greeting}")))?;
        qmp.version = format!(
            "{}.{}.{}",
            v["major"].as_u64().unwrap_or(0),
            v["minor"].as_u64().unwrap_or(0),
            v["micro"].as_u64().unwrap_or(0)
        );
        qmp.execute("qmp_capabilities", None)?;
        Ok(qmp)
    }

    /// QEMU's version, from the greeting.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Sets how long a read may wait (long for a migration's polls, short for a command).
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<(), QmpError> {
        self.reader
            .get_ref()
            .set_read_timeout(Some(timeout))
            .map_err(|e| io_error(&e))
    }

    /// Runs `command` with `arguments` and returns its `return` value.
    pub fn execute(&mut self, command: &str, arguments: Option<Value>) -> Result<Value, QmpError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut request = json!({ "execute": command, "id": id });
        if let Some(args) = arguments {
            request["arguments"] = args;
        }
        let mut line = request.to_string();
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .map_err(|e| io_error(&e))?;
        loop {
            let message = self.read_message()?;
            if let Some(event) = message.get("event") {
                tracing::debug!(%event, "QMP event");
                continue;
            }
            if message.get("id").and_then(Value::as_u64) != Some(id) {
                // An answer to an earlier command that timed out.
                tracing::debug!(%message, "stale QMP answer skipped");
                continue;
            }
            if let Some(ret) = message.get("return") {
                return Ok(ret.clone());
            }
            if let Some(error) = message.get("error") {
                let text = |k: &str| error[k].as_str().unwrap_or_default().to_string();
                return Err(QmpError::Command {
                    class: text("class"),
                    desc: text("desc"),
                });
            }
            return Err(QmpError::Protocol(format!("unexpected answer: {message}")));
        }
    }

    fn read_message(&mut self) -> Result<Value, QmpError> {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self.reader.read_line(&mut line).map_err(|e| io_error(&e))?;
            if n == 0 {
                return Err(QmpError::Io("closed by QEMU".into()));
            }
            if !line.trim().is_empty() {
                break;
            }
        }
        serde_json::from_str(line.trim())
            .map_err(|e| QmpError::Protocol(format!("{e}: {}", line.trim())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    const GREETING: &str = r#"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian"}, "capabilities": ["oob"]}}"#;

    /// Plays QEMU on one end of a socket pair: sends the greeting, then answers each
    /// request line with `answer(request)` (several lines allowed), and returns the
    /// requests it got.
    fn fake_qemu(
        answer: impl Fn(&Value) -> Vec<String> + Send + 'static,
    ) -> (UnixStream, std::thread::JoinHandle<Vec<Value>>) {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let handle = std::thread::spawn(move || {
            let mut w = theirs.try_clone().unwrap();
            writeln!(w, "{GREETING}\r").unwrap();
            let mut seen = Vec::new();
            for line in BufReader::new(theirs).lines() {
                let request: Value = serde_json::from_str(&line.unwrap()).unwrap();
                for out in answer(&request) {
                    writeln!(w, "{out}\r").unwrap();
                }
                seen.push(request);
            }
            seen
        });
        (ours, handle)
    }

    #[test]
    fn handshake_commands_events_and_errors() {
        let (stream, qemu) = fake_qemu(|r| {
            let id = &r["id"];
            match r["execute"].as_str().unwrap() {
                "qmp_capabilities" => vec![json!({"return": {}, "id": id}).to_string()],
                "query-status" => vec![
                    r#"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESUME"}"#.into(),
                    json!({"return": {"status": "running", "running": true}, "id": id}).to_string(),
                ],
                "stop" => vec![
                    // An answer to some earlier command, then this one's.
                    json!({"return": {}, "id": 999}).to_string(),
                    json!({"return": {}, "id": id}).to_string(),
                ],
                _ => vec![json!({"error": {"class": "CommandNotFound",
                    "desc": "The command nope has not been found"}, "id": id})
                .to_string()],
            }
        });
        let mut qmp = Qmp::handshake(stream, Duration::from_secs(5)).unwrap();
        assert_eq!(qmp.version(), "7.2.22");
        let status = qmp.execute("query-status", None).unwrap();
        assert_eq!(status["status"], "running");
        qmp.execute("stop", None).unwrap();
        let e = qmp
            .execute("nope", Some(json!({"x": 1})))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "The command nope has not been found (CommandNotFound)");
        drop(qmp);
        let seen = qemu.join().unwrap();
        let names: Vec<&str> = seen
            .iter()
            .map(|r| r["execute"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["qmp_capabilities", "query-status", "stop", "nope"]);
        assert_eq!(seen[3]["arguments"], json!({"x": 1}));
        let ids: Vec<u64> = seen.iter().map(|r| r["id"].as_u64().unwrap()).collect();
        assert_eq!(ids, [1, 2, 3, 4]);
    }

    #[test]
    fn a_silent_or_closed_or_foreign_peer_is_an_error() {
        // Silent: no greeting within the timeout.
        let (ours, _theirs) = UnixStream::pair().unwrap();
        let e = Qmp::handshake(ours, Duration::from_millis(50)).unwrap_err();
        assert_eq!(e.to_string(), "QMP socket: no answer in time");
        // Closed before the greeting.
        let (ours, theirs) = UnixStream::pair().unwrap();
        drop(theirs);
        let e = Qmp::handshake(ours, Duration::from_secs(1)).unwrap_err();
        assert_eq!(e.to_string(), "QMP socket: closed by QEMU");
        // Not QMP.
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        writeln!(theirs, r#"{{"hello": 1}}"#).unwrap();
        let e = Qmp::handshake(ours, Duration::from_secs(1)).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"QMP protocol: not a QMP greeting: {"hello":1}"#
        );
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        writeln!(theirs, "garbage").unwrap();
        let e = Qmp::handshake(ours, Duration::from_secs(1)).unwrap_err();
        assert!(e.to_string().starts_with("QMP protocol: "), "{e}");
        // Refusing the capabilities negotiation.
        let (stream, _qemu) = fake_qemu(|r| {
            vec![
                json!({"error": {"class": "GenericError", "desc": "no"}, "id": r["id"]})
                    .to_string(),
            ]
        });
        let e = Qmp::handshake(stream, Duration::from_secs(1)).unwrap_err();
        assert_eq!(e.to_string(), "no (GenericError)");
    }
}
