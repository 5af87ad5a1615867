//! Fuzzes the JSONL reader (and, through `Format::Auto`, format detection): any bytes give
//! a history or an error, never a panic, a hang or unbounded memory.
#![no_main]

use histories::{read_bytes, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = read_bytes(data, "fuzz.jsonl", Format::Jsonl) {
        assert_eq!(parsed.history.len(), parsed.lines.len());
        let _ = parsed.check_times("fuzz.jsonl");
    }
    let _ = read_bytes(data, "fuzz", Format::Auto);
});
