//! eCLAT source (what a learner writes): the compiler's oracle on any bytes read as text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    use std::sync::OnceLock;
    static CATALOG: OnceLock<hike::catalog::Catalog> = OnceLock::new();
    let catalog = CATALOG.get_or_init(hike::catalog::Catalog::reference);
    let src = String::from_utf8_lossy(data);
    if let Err(e) = eclat::fuzzing::check(&src, catalog) {
        panic!("{e}");
    }
});
