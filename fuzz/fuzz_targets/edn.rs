//! Fuzzes the EDN reader: any bytes give a history or an error (deep nesting included: an
//! error, not a stack overflow), never a panic, a hang or unbounded memory. What it reads is
//! written back as EDN and must read back the same.
#![no_main]

use histories::{parse_edn, read_bytes, write_edn, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = read_bytes(data, "fuzz.edn", Format::Edn) else {
        return;
    };
    assert_eq!(parsed.history.len(), parsed.lines.len());
    let _ = parsed.check_times("fuzz.edn");
    let mut out = Vec::new();
    write_edn(&parsed.history, &mut out).expect("writing to memory");
    let text = String::from_utf8(out).expect("EDN output is UTF-8");
    match parse_edn(&text, "written") {
        Ok(back) => assert!(back == parsed.history, "round trip changed:\n{text}"),
        Err(e) => panic!("written EDN does not read back: {e}\n{text}"),
    }
});
