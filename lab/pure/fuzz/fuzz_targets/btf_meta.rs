//! A learner's object file: its ELF and BTF read for the catalog (signatures, maps, aliases,
//! chains); never a panic, whatever the bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = eclat_model::meta::read("fuzz", data) {
        let c = m.catalog();
        let _ = c.dangling_aliases();
    }
    let _ = eclat_model::btf::Btf::parse(data);
    let _ = eclat_model::meta::read_chains(data);
});
