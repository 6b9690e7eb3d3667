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
//! What cannot be linked stays a chain of instances (`super::jit`): code that calls BPF
//! functions (their bodies would have to move), CO-RE relocations, parts under different
//! licenses, or a program the verifier refuses as a whole.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use aya::maps::MapData;
use aya_obj::EbpfSectionKind;
use hike::insn::op;
use hike::jit::CONT_SYMBOL;

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

/// The instructions of `part`, its maps resolved to file descriptors (the data maps made
/// here are kept alive in `keep` until the program holds them).
fn part_code(part: &Part<'_>, keep: &mut Vec<MapData>) -> Result<(Vec<[u8; 8]>, String), String> {
    let mut obj = aya_obj::Object::parse(part.data).map_err(|e| e.to_string())?;
    if obj.has_btf_relocations() {
        return Err("it has CO-RE relocations".into());
    }
    obj.patch_map_data(HashMap::from([(CONT_SYMBOL, (part.cont, true))]))
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
    let key = obj
        .programs
        .get(part.name)
        .ok_or_else(|| format!("the object has no program {}", part.name))?
        .function_key();
    let f = obj
        .functions
        .get(&key)
        .ok_or_else(|| format!("the object has no code for {}", part.name))?;
    let mut code = Vec::with_capacity(f.instructions.len());
    for i in &f.instructions {
        if i.code == CALL && i.src_reg() != 0 {
            return Err("it calls BPF functions or kfuncs".into());
        }
        if i.code == LDDW && i.src_reg() > 2 {
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
    let license = obj.license.to_string_lossy().into_owned();
    Ok((code, license))
}

/// Links `parts` (part `k` is call site `k`; part 0 starts the chain) into one XDP program
/// named `name` and loads it. `Err` says why it could not (the caller installs instances).
pub(super) fn link(parts: &[Part<'_>], name: &str) -> Result<Linked, String> {
    let mut keep = Vec::new();
    let mut codes = Vec::new();
    let mut license: Option<String> = None;
    for p in parts {
        let (code, lic) = part_code(p, &mut keep).map_err(|e| format!("{}: {e}", p.label))?;
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
    let fd = sys::prog_load_xdp(&bytes, license.as_deref().unwrap_or("GPL"), name)
        .map_err(|e| format!("the verifier refused the linked program: {e}"))?;
    drop(keep);
    Ok(Linked { fd })
}
