//! Fuzzes the TOML test file (`--test FILE`): any text gives a configuration or a one-line
//! error, never a panic; a configuration that validates gives a plan whose first lines can be
//! drawn and written, and a `test.toml` that reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use squall::config::TestConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((cfg, _keys)) = TestConfig::parse(text, "fuzz.toml") else {
        return;
    };
    if cfg.validate().is_err() {
        return;
    }
    let stored = cfg.to_toml();
    let (back, _) = TestConfig::parse(&stored, "test.toml").expect("test.toml reads back");
    assert_eq!(back.to_toml(), stored);
    let plan = squall::plan::build(1, &cfg).expect("a valid configuration plans");
    for line in plan.lines().take(200) {
        line.to_json().expect("a plan line serializes");
    }
    let _ = plan.header(&cfg).expect("the header serializes");
});
