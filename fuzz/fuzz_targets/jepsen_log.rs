//! Fuzzes the Jepsen console log reader: any bytes give a history or an error, never a
//! panic, a hang or unbounded memory.
#![no_main]

use histories::{read_bytes, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = read_bytes(data, "fuzz.log", Format::JepsenLog) {
        assert_eq!(parsed.history.len(), parsed.lines.len());
        assert!(parsed
            .history
            .iter()
            .enumerate()
            .all(|(i, e)| e.index == i as u64));
    }
});
