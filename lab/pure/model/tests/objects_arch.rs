//! The prebuilt eBPF objects are the same for every host architecture: the lab's binary for
//! amd64 and for arm64 embeds the same bytes (ebpf-modules/obj), so each object must be an eBPF
//! ELF (EM_BPF), 64-bit and little-endian like both hosts, with only BPF relocations: nothing in
//! it is x86 or arm code. The kernel verifies the bytecode and JIT-compiles it for its own CPU.

use object::{Architecture, Endianness, Object, ObjectSection, RelocationFlags};

/// Why `data` is not a host-independent eBPF object, if it is not one.
fn not_portable(data: &[u8]) -> Option<String> {
    let file = match object::File::parse(data) {
        Ok(f) => f,
        Err(e) => return Some(format!("not an object file: {e}")),
    };
    if file.architecture() != Architecture::Bpf {
        return Some(format!("machine {:?}, not eBPF", file.architecture()));
    }
    if !file.is_64() || file.endianness() != Endianness::Little {
        return Some("not 64-bit little-endian (x86-64 and arm64 hosts both are)".into());
    }
    // R_BPF_NONE, R_BPF_64_64, R_BPF_64_ABS64, R_BPF_64_ABS32, R_BPF_64_NODYLD32, R_BPF_64_32
    const BPF_RELOCS: [u32; 6] = [0, 1, 2, 3, 4, 10];
    for section in file.sections() {
        for (_, r) in section.relocations() {
            match r.flags() {
                RelocationFlags::Elf { r_type } if BPF_RELOCS.contains(&r_type) => {}
                other => {
                    return Some(format!(
                        "section {}: relocation {other:?} is not a BPF one",
                        section.name().unwrap_or("?")
                    ));
                }
            }
        }
    }
    None
}

fn objects() -> Vec<std::path::PathBuf> {
    fn walk(d: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "o") {
                out.push(p);
            }
        }
    }
    let mut v = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../ebpf-modules/obj"),
        &mut v,
    );
    v.sort();
    v
}

#[test]
fn every_prebuilt_object_is_host_independent_ebpf() {
    let objs = objects();
    assert!(objs.len() >= 10, "found only {} objects", objs.len());
    for p in objs {
        let data = std::fs::read(&p).unwrap();
        assert_eq!(not_portable(&data), None, "{}", p.display());
    }
}

#[test]
fn a_host_program_is_refused() {
    // this test's own executable: x86-64 or arm64 code, exactly what must not be embedded
    let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let why = not_portable(&me).expect("a host executable passed as eBPF");
    assert!(why.contains("not eBPF"), "{why}");
}
