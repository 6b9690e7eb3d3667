//! The prebuilt eBPF objects, embedded at compile time so that running the lab needs no
//! clang. `ebpf-modules/build.sh` rebuilds them from their C sources.

use include_dir::{Dir, include_dir};

static OBJECTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../ebpf-modules/obj");

/// The object at `path` (relative to `ebpf-modules/obj`, e.g. `lab/xdp_counter.o`).
pub fn get(path: &str) -> Option<&'static [u8]> {
    OBJECTS.get_file(path).map(|f| f.contents())
}

/// Every embedded object path.
pub fn list() -> Vec<String> {
    fn walk(d: &'static Dir<'static>, out: &mut Vec<String>) {
        for f in d.files() {
            if f.path().extension().is_some_and(|e| e == "o") {
                out.push(f.path().display().to_string());
            }
        }
        for sub in d.dirs() {
            walk(sub, out);
        }
    }
    let mut v = Vec::new();
    walk(&OBJECTS, &mut v);
    v.sort();
    v
}
