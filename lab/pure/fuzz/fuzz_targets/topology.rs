//! Topology files (TOML a learner writes): parsed, or an error with a place; never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let src = String::from_utf8_lossy(data);
    if let Err(e) = eclat_model::topology::parse(&src, "fuzz.toml") {
        let _ = e.to_string();
    }
});
