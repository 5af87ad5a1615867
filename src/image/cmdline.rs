//! The kernel command line a guest's init understands, and the encoding of the node's
//! command in it (`squall.cmd`).
//!
//! # `squall.cmd`
//!
//! The node's environment and argv are a sequence of NUL-terminated strings:
//!
//! ```text
//! <N> \0  KEY1=VALUE1 \0 ... KEYN=VALUEN \0  program \0 arg1 \0 ... argM \0
//! ```
//!
//! `N` is the number of environment entries, in decimal. The bytes are then base64url
//! encoded without padding (RFC 4648 §5), so the value has no space, quote or `=` that the
//! kernel's parser would split on. The init turns `-_` back into `+/`, restores the padding,
//! decodes with busybox `base64 -d`, and reads the strings back with `read -r -d ''`, which
//! keeps empty strings, spaces and newlines intact. No string may contain a NUL byte
//! (neither can a real argv or environment).
//!
//! This file depends on nothing but `std` and `base64`, so tests outside the crate
//! (`tests/image_qemu.rs`) include it with `#[path]` to build the same command lines.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

/// Linux's limit on the x86 kernel command line (`COMMAND_LINE_SIZE`), terminating NUL included.
pub const MAX_CMDLINE: usize = 2048;

/// The bytes `squall.cmd` carries, before base64url: see the module docs.
///
/// Panics if a string contains a NUL byte (a broken invariant: no argv or environment can).
pub fn command_bytes(program: &str, args: &[String], env: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut push = |s: &str| {
        assert!(!s.contains('\0'), "NUL byte in a node command: {s:?}");
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    };
    push(&env.len().to_string());
    for (key, value) in env {
        assert!(
            !key.is_empty() && !key.contains('='),
            "bad environment variable name {key:?}"
        );
        push(&format!("{key}={value}"));
    }
    push(program);
    for arg in args {
        push(arg);
    }
    out
}

/// The value of `squall.cmd`: [`command_bytes`] in base64url without padding.
pub fn encode_command(program: &str, args: &[String], env: &[(String, String)]) -> String {
    URL_SAFE_NO_PAD.encode(command_bytes(program, args, env))
}

/// The inverse of [`encode_command`]: `(program, args, env)`, or `None` if `value` is not
/// a well-formed encoding.
#[allow(clippy::type_complexity)]
#[cfg_attr(not(test), allow(dead_code))]
pub fn decode_command(value: &str) -> Option<(String, Vec<String>, Vec<(String, String)>)> {
    let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let body = text.strip_suffix('\0')?;
    let mut items = body.split('\0');
    let n: usize = items.next()?.parse().ok()?;
    let mut env = Vec::with_capacity(n);
    for _ in 0..n {
        let (key, value) = items.next()?.split_once('=')?;
        env.push((key.to_string(), value.to_string()));
    }
    let program = items.next()?.to_string();
    Some((program, items.map(str::to_string).collect(), env))
}

/// The guest's kernel command line: the serial console, the node's name, address and
/// gateway, and its command; `data` adds `squall.data=<device>` (an ext4 disk mounted at
/// `/data`).
pub fn cmdline(
    name: &str,
    ip: Ipv4Addr,
    prefix: u8,
    gw: Ipv4Addr,
    encoded_command: &str,
    data: Option<&str>,
) -> String {
    let mut s = format!(
        "console=ttyS0 squall.name={name} squall.ip={ip}/{prefix} squall.gw={gw} \
         squall.cmd={encoded_command}"
    );
    if let Some(device) = data {
        let _ = write!(s, " squall.data={device}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn round_trip_keeps_empty_strings_spaces_and_newlines() {
        let args = strings(&["--name", "", "a b", "line\nbreak", "x=y", "ünï"]);
        let env = vec![
            ("A".to_string(), "1".to_string()),
            ("EMPTY".to_string(), String::new()),
            ("EQ".to_string(), "a=b".to_string()),
        ];
        let encoded = encode_command("/usr/bin/etcd", &args, &env);
        assert!(encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let (program, got_args, got_env) = decode_command(&encoded).unwrap();
        assert_eq!(program, "/usr/bin/etcd");
        assert_eq!(got_args, args);
        assert_eq!(got_env, env);
    }

    #[test]
    fn layout_is_count_env_program_args() {
        let bytes = command_bytes(
            "/bin/p",
            &strings(&["a"]),
            &[("K".to_string(), "V".to_string())],
        );
        assert_eq!(bytes, b"1\0K=V\0/bin/p\0a\0");
        assert_eq!(command_bytes("/bin/p", &[], &[]), b"0\0/bin/p\0");
    }

    #[test]
    fn malformed_values_do_not_decode() {
        assert!(decode_command("!!!").is_none());
        // "x\0/bin/p\0": the count is not a number.
        assert!(decode_command(&URL_SAFE_NO_PAD.encode(b"x\0/bin/p\0")).is_none());
        // The count promises more environment entries than there are.
        assert!(decode_command(&URL_SAFE_NO_PAD.encode(b"2\0A=1\0")).is_none());
        // Not NUL-terminated.
        assert!(decode_command(&URL_SAFE_NO_PAD.encode(b"0\0/bin/p")).is_none());
    }

    #[test]
    fn cmdline_has_the_documented_shape() {
        let c = cmdline(
            "n1",
            Ipv4Addr::new(198, 18, 1, 2),
            24,
            Ipv4Addr::new(198, 18, 1, 1),
            "MAA",
            None,
        );
        assert_eq!(
            c,
            "console=ttyS0 squall.name=n1 squall.ip=198.18.1.2/24 squall.gw=198.18.1.1 \
             squall.cmd=MAA"
        );
        let d = cmdline(
            "n1",
            Ipv4Addr::new(198, 18, 1, 2),
            24,
            Ipv4Addr::new(198, 18, 1, 1),
            "MAA",
            Some("/dev/vda"),
        );
        assert!(d.ends_with(" squall.data=/dev/vda"));
    }
}
