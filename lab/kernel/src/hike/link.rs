//! Linked compiled chains: every call site's program code in one XDP program, the hand-over
//! between two of them a jump instead of a tail call (`hike::jit::linked_epilogue`).
//!
//! A HIKe entry point expects, at its first instruction, only what a tail call leaves: `r1`
//! = ctx and its own stack under `r10`. A jump to the start of the next program's code, with
//! `r1` = ctx, is therefore the tail call without its cost; the verifier checks the whole as
//! one program (its stack depth is the deepest of the parts). Each part keeps its own maps
//! (the pinned ones by file descriptor) and its own read-only data: a fresh `.rodata` map per
//! part, holding that call site's `__hike_cont`, frozen so that the verifier takes it as
//! constants, as aya does for an instance.
//!
//! What cannot be linked stays a chain of instances (`jit.rs`): code that calls BPF
//! functions (their bodies would have to move), CO-RE relocations, parts under different
//! licenses, or a program the verifier refuses as a whole.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use aya::maps::MapData;
use aya_obj::EbpfSectionKind;
use aya_obj::btf::Btf;
use aya_obj::generated::{bpf_func_info, bpf_line_info};
use hike::Insn;
use hike::insn::op;
use hike::jit::{self, CONT_SYMBOL};

use super::stamp::{Patch, Template};
use crate::sys;

/// One call site's part of a linked chain.
pub(super) struct Part<'a> {
    /// `package.name`, for messages
    pub label: String,
    /// the program's name in its object
    pub name: &'a str,
    pub data: &'a [u8],
    /// the kernel's tag of the registered program: the part's code must be that code
    pub tag: u64,
    /// the pin of every map of the object, by name
    pub pins: &'a [(String, PathBuf)],
    /// the site's `struct hike_cont`
    pub cont: &'a [u8],
    /// the stamped code (from [`super::stamp::patches`]), with a linked epilogue
    pub patches: Vec<Patch>,
    /// the jumps of the epilogue: (index in it, the site whose code it reaches)
    pub hops: Vec<(usize, usize)>,
}

/// A loaded linked chain.
pub(super) struct Linked {
    pub fd: OwnedFd,
}

const CALL: u8 = op::JMP | op::CALL;
const LDDW: u8 = op::LDDW;
const JA: u8 = op::JMP | op::JA;

/// A part's code with what else the linker needs of it.
struct PartCode {
    code: Vec<[u8; 8]>,
    license: String,
    btf: Option<PartBtf>,
}

/// A part's object's BTF (fixed up as aya does before loading it), and the records of the
/// program's function and source lines, at offsets within the part.
type PartBtf = (Btf, Vec<bpf_func_info>, Vec<bpf_line_info>);

/// The VM's configuration map, which every part of a linked program reads in place (the trace
/// switch, the test clock).
const CONFIG_MAP: &str = "hvm_config";
/// `src_reg` of a 64-bit load: the map behind the file descriptor in `imm`, or the address
/// of its value at the offset in the second half's `imm`.
const PSEUDO_MAP_FD: u8 = 1;
const PSEUDO_MAP_VALUE: u8 = 2;

/// Turns each load of the map `fd` that follows a `goto +0` (`__hike_config` in `api.h`)
/// into the address of the map's only value: what the program then reads is the value the
/// control plane writes, without a helper call.
fn config_in_place(code: &mut [[u8; 8]], fd: i32) {
    let ja0 = Insn::new(JA, 0, 0, 0, 0).to_bytes();
    for k in 1..code.len().saturating_sub(1) {
        let i = Insn::from_bytes(code[k]);
        if code[k - 1] == ja0 && i.code == LDDW && i.src == PSEUDO_MAP_FD && i.imm == fd {
            code[k][1] = (code[k][1] & 0x0f) | (PSEUDO_MAP_VALUE << 4);
            code[k + 1][4..8].copy_from_slice(&0i32.to_le_bytes());
        }
    }
}

/// The function of program `name` in `obj`.
fn program_code<'o>(obj: &'o aya_obj::Object, name: &str) -> Result<&'o aya_obj::Function, String> {
    let key = obj
        .programs
        .get(name)
        .ok_or_else(|| format!("the object has no program {name}"))?
        .function_key();
    obj.functions
        .get(&key)
        .ok_or_else(|| format!("the object has no code for {name}"))
}

/// Whether the code of program `name` in `obj`, as the object has it, leaves the stack slots
/// where a linked program keeps its per-CPU pointers alone (`hike::jit::link_slots_clear`).
fn slots_clear(obj: &aya_obj::Object, name: &str) -> Result<(), String> {
    let code: Vec<Insn> = program_code(obj, name)?
        .instructions
        .iter()
        .map(|i| Insn::from_bytes(super::stamp::insn_bytes(i)))
        .collect();
    jit::link_slots_clear(&code)
}

/// The instructions of `part` (its object parsed as `obj`), its maps resolved to file
/// descriptors (the data maps made here are kept alive in `keep` until the program holds
/// them); `cont` = the part's `struct hike_cont` as the linked program runs it.
fn part_code(
    part: &Part<'_>,
    mut obj: aya_obj::Object,
    cont: &[u8],
    keep: &mut Vec<MapData>,
) -> Result<PartCode, String> {
    if obj.has_btf_relocations() {
        return Err("it has CO-RE relocations".into());
    }
    obj.patch_map_data(HashMap::from([(CONT_SYMBOL, (cont, true))]))
        .map_err(|e| e.to_string())?;
    let mut fds: Vec<(String, i32, aya_obj::Map)> = Vec::new();
    for (name, m) in obj.maps.drain() {
        let map = match m.section_kind() {
            EbpfSectionKind::Rodata | EbpfSectionKind::Data | EbpfSectionKind::Bss => {
                let md = MapData::create(m.clone(), &name, None).map_err(|e| e.to_string())?;
                let fd = md.fd().as_fd();
                if m.data().len() == m.value_size() as usize {
                    sys::update(fd, &0u32.to_ne_bytes(), m.data())
                        .map_err(|e| format!("its {name}: {e}"))?;
                }
                if m.section_kind() == EbpfSectionKind::Rodata {
                    sys::freeze(fd).map_err(|e| format!("its {name}: {e}"))?;
                }
                md
            }
            _ => match part.pins.iter().find(|(n, _)| *n == name) {
                Some((_, p)) => MapData::from_pin(p).map_err(|e| format!("its map {name}: {e}"))?,
                None => continue,
            },
        };
        fds.push((name, map.fd().as_fd().as_raw_fd(), m));
        keep.push(map);
    }
    let text = obj.functions.keys().map(|(s, _)| *s).collect();
    obj.relocate_maps(fds.iter().map(|(n, fd, m)| (n.as_str(), *fd, m)), &text)
        .map_err(|e| e.to_string())?;
    obj.relocate_calls(&text).map_err(|e| e.to_string())?;
    obj.sanitize_functions(aya::features());
    // without BTF the program still loads: only its source lines are lost
    let btf = aya::features()
        .btf()
        .and_then(|f| obj.fixup_and_sanitize_btf(f).ok().flatten().cloned());
    let f = program_code(&obj, part.name)?;
    let mut code = Vec::with_capacity(f.instructions.len());
    for i in &f.instructions {
        if i.code == CALL && i.src_reg() != 0 {
            return Err("it calls BPF functions or kfuncs".into());
        }
        if i.code == LDDW && i.src_reg() > PSEUDO_MAP_VALUE {
            return Err("it takes the address of a function or a kernel symbol".into());
        }
        code.push(super::stamp::insn_bytes(i));
    }
    // the registered program's code, before the stamping (map fds do not enter the tag)
    let tags = super::stamp::tags(&code, &[])?;
    if !tags.iter().any(|(_, plain, _)| *plain == part.tag) {
        return Err("it is registered from other code than its object here".into());
    }
    for (_, k, stamped) in &part.patches {
        for (j, i) in stamped.iter().enumerate() {
            *code
                .get_mut(k + j)
                .ok_or("a template past the end of its code")? = i.to_bytes();
        }
    }
    if let Some((_, fd, _)) = fds.iter().find(|(n, _, _)| n == CONFIG_MAP) {
        config_in_place(&mut code, *fd);
    }
    let license = obj.license.to_string_lossy().into_owned();
    let btf = btf.map(|b| {
        (
            b,
            f.func_info.func_info.clone(),
            f.line_info.line_info.clone(),
        )
    });
    Ok(PartCode { code, license, btf })
}

/// The string at `off` of a BTF object's string section (`bytes` = the whole object).
fn btf_string(bytes: &[u8], off: u32) -> Option<&str> {
    let u32_at = |o: usize| Some(u32::from_le_bytes(bytes.get(o..o + 4)?.try_into().ok()?));
    // struct btf_header: magic, version, flags, hdr_len, type_off, type_len, str_off, str_len
    let start = u32_at(4)? as usize + u32_at(16)? as usize;
    let len = u32_at(20)? as usize;
    let strings = bytes.get(start..start + len)?;
    let s = strings.get(off as usize..)?;
    let end = s.iter().position(|&c| c == 0)?;
    std::str::from_utf8(&s[..end]).ok()
}

/// The BTF of a linked program: the first part's BTF object, with the strings of every
/// other part's source lines added, its program's function record, and every part's source
/// lines at that part's place in the program (`starts`). `None` when a part has none.
fn linked_btf(
    parts: &mut [Option<PartBtf>],
    starts: &[usize],
) -> Option<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let (first, rest) = parts.split_first_mut()?;
    let (btf, funcs, first_lines) = first.as_mut()?;
    if funcs.len() != 1 || funcs[0].insn_off != 0 {
        return None;
    }
    let mut lines: Vec<bpf_line_info> = first_lines.clone();
    // each string once, however many parts come from the same source
    let mut added: HashMap<String, u32> = HashMap::new();
    for (k, part) in rest.iter().enumerate() {
        let (b, _, part_lines) = part.as_ref()?;
        let bytes = b.to_bytes();
        for l in part_lines {
            let mut l = *l;
            for off in [&mut l.file_name_off, &mut l.line_off] {
                let text = btf_string(&bytes, *off)?;
                *off = match added.get(text) {
                    Some(o) => *o,
                    None => {
                        let o = btf.add_string(text);
                        added.insert(text.to_string(), o);
                        o
                    }
                };
            }
            l.insn_off += starts[k + 1] as u32;
            lines.push(l);
        }
    }
    let func: Vec<u8> = [funcs[0].insn_off, funcs[0].type_id]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect();
    let line: Vec<u8> = lines
        .iter()
        .flat_map(|l| [l.insn_off, l.file_name_off, l.line_off, l.line_col])
        .flat_map(|v| v.to_ne_bytes())
        .collect();
    Some((btf.to_bytes(), func, line))
}

/// Links `parts` (part `k` is call site `k`; part 0 starts the chain) into one XDP program
/// named `name` and loads it. `Err` says why it could not (the caller installs instances).
pub(super) fn link(parts: &[Part<'_>], name: &str) -> Result<Linked, String> {
    let mut keep = Vec::new();
    let mut codes = Vec::new();
    let mut btfs = Vec::new();
    let mut license: Option<String> = None;
    // the per-CPU pointers looked up once, by the first part, when every part leaves their
    // stack slots alone (else each part looks them up, as a program on its own does)
    let objs = parts
        .iter()
        .map(|p| aya_obj::Object::parse(p.data).map_err(|e| format!("{}: {e}", p.label)))
        .collect::<Result<Vec<_>, _>>()?;
    let share = parts.len() > 1
        && parts
            .iter()
            .zip(&objs)
            .all(|(p, obj)| slots_clear(obj, p.name).is_ok());
    for (k, (p, obj)) in parts.iter().zip(objs).enumerate() {
        let mut cont = p.cont.to_vec();
        let link = match (share, k) {
            (false, _) => 0,
            (true, 0) => jit::LINK_HEAD,
            (true, _) => jit::LINK_PART,
        };
        cont.get_mut(jit::CONT_LINK_OFF..jit::CONT_LINK_OFF + 4)
            .ok_or("a continuation shorter than struct hike_cont")?
            .copy_from_slice(&link.to_le_bytes());
        let PartCode {
            code,
            license: lic,
            btf,
        } = part_code(p, obj, &cont, &mut keep).map_err(|e| format!("{}: {e}", p.label))?;
        btfs.push(btf);
        match &license {
            Some(l) if *l != lic => {
                return Err(format!(
                    "{} is under another license ({lic}) than the chain's first program ({l})",
                    p.label
                ));
            }
            _ => license = Some(lic),
        }
        codes.push(code);
    }
    let mut starts = Vec::with_capacity(codes.len());
    let mut total = 0usize;
    for c in &codes {
        starts.push(total);
        total += c.len();
    }
    let mut all: Vec<[u8; 8]> = codes.into_iter().flatten().collect();
    for (k, p) in parts.iter().enumerate() {
        for (t, at, _) in &p.patches {
            if *t != Template::Epilogue {
                continue;
            }
            for &(j, site) in &p.hops {
                let from = starts[k] + at + j;
                let to = *starts.get(site).ok_or("a jump to a site with no code")?;
                let off = i16::try_from(to as i64 - from as i64 - 1)
                    .map_err(|_| "the linked program is too long for 16-bit jumps")?;
                let i = &mut all[from];
                if i[0] != JA || i[2..8] != [0; 6] {
                    return Err(format!(
                        "{}: its epilogue's jump is not where it was made",
                        p.label
                    ));
                }
                i[2..4].copy_from_slice(&off.to_le_bytes());
            }
        }
    }
    let bytes: Vec<u8> = all.concat();
    let license = license.as_deref().unwrap_or("GPL");
    // with the parts' source lines when their BTF allows (verifier logs and bpftool then
    // show them), else without
    let btf = linked_btf(&mut btfs, &starts).and_then(|(btf, func, line)| {
        let fd = sys::btf_load(&btf).ok()?;
        Some((fd, func, line))
    });
    let with_btf = btf.as_ref().map(|(fd, func, line)| {
        let b = sys::ProgBtf {
            fd: fd.as_fd(),
            func_info: func,
            line_info: line,
        };
        sys::prog_load_xdp(&bytes, license, name, Some(&b))
    });
    let fd = match with_btf {
        Some(Ok(fd)) => fd,
        // a refusal with the source lines reads better; a program the verifier takes
        // without them still runs
        Some(Err(e)) => sys::prog_load_xdp(&bytes, license, name, None)
            .map_err(|_| format!("the verifier refused the linked program: {e}"))?,
        None => sys::prog_load_xdp(&bytes, license, name, None)
            .map_err(|e| format!("the verifier refused the linked program: {e}"))?,
    };
    drop(keep);
    Ok(Linked { fd })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(insn_off: u32, file_name_off: u32, line_off: u32) -> bpf_line_info {
        bpf_line_info {
            insn_off,
            file_name_off,
            line_off,
            line_col: 7,
        }
    }

    #[test]
    fn the_linked_btf_carries_every_parts_source_lines_at_its_place() {
        let mut b0 = Btf::new();
        let f0 = b0.add_string("./programs/a.bpf.c");
        let l0 = b0.add_string("return a;");
        let mut b1 = Btf::new();
        let _pad = b1.add_string("padding so that offsets differ");
        let f1 = b1.add_string("./programs/b.bpf.c");
        let l1 = b1.add_string("return b;");
        let bytes1 = b1.to_bytes();
        assert_eq!(btf_string(&bytes1, f1), Some("./programs/b.bpf.c"));
        assert_eq!(btf_string(&bytes1, 9999), None);
        let func = vec![bpf_func_info {
            insn_off: 0,
            type_id: 3,
        }];
        let mut parts = vec![
            Some((b0, func.clone(), vec![line(0, f0, l0), line(4, f0, l0)])),
            Some((
                b1.clone(),
                func.clone(),
                vec![line(0, f1, l1), line(2, f1, l1)],
            )),
            // the same object again: its strings are not added twice
            Some((b1, func, vec![line(0, f1, l1)])),
        ];
        let (btf, funcs, lines) = linked_btf(&mut parts, &[0, 10, 20]).expect("linked");
        assert_eq!(funcs.len(), 8);
        let rec = |k: usize| -> [u32; 4] {
            let w = |j: usize| u32::from_ne_bytes(lines[16 * k + 4 * j..][..4].try_into().unwrap());
            [w(0), w(1), w(2), w(3)]
        };
        assert_eq!(lines.len(), 5 * 16);
        assert_eq!(rec(0), [0, f0, l0, 7]);
        assert_eq!(rec(1)[0], 4);
        assert_eq!([rec(2)[0], rec(3)[0], rec(4)[0]], [10, 12, 20]);
        assert_eq!(btf_string(&btf, rec(2)[1]), Some("./programs/b.bpf.c"));
        assert_eq!(btf_string(&btf, rec(2)[2]), Some("return b;"));
        assert_eq!(rec(4)[1..3], rec(2)[1..3]);
        // a part without BTF: no source lines at all
        parts[1] = None;
        assert!(linked_btf(&mut parts, &[0, 10, 20]).is_none());
    }
}
