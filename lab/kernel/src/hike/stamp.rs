//! Stamping a compiled chain's instance: its own epilogue (`hike::jit::epilogue`) written
//! over the epilogue template of `api.h` in a copy of the program's object, before aya loads
//! it. No I/O: bytes in, bytes out.
//!
//! The template, as clang emits it inside every HIKe entry point:
//! ```text
//!   r6 = rA ; r7 = rB ; r8 = rC          frame 1's registers, the chain data, ctx
//!   r9 = hvm_jit_map ll                  (a map relocation: left where it is)
//!   r0 = EPILOGUE_MAGIC ll               the marker  ┐ stamped: EPILOGUE_SLOTS
//!   goto +0  x 56                                    ┘ instructions
//!   rD = r0                              out of the template with an abort reason
//! ```
//! The stamped slots hold no relocation, so everything else in the object (relocations, BTF
//! line info, which counts instructions) stays valid.
//!
//! An instance's code differs from the registered program's, so their kernel tags differ.
//! [`tags`] computes both tags as the kernel will (`bpf_prog_calc_tag`: SHA-1 over the
//! instructions aya submits, map references zeroed), from the instructions aya links for the
//! program: the caller compares one with the registered program's tag (the object at hand
//! holds the registered code) and the other with the loaded instance's (the reconstruction
//! is faithful).

use std::collections::HashSet;

use hike::Insn;
use hike::jit::{EPILOGUE_MAGIC, EPILOGUE_SLOTS, PROLOGUE_MAGIC, PROLOGUE_SLOTS, epi_reg};
use object::{Object, ObjectSection, ObjectSymbol};
use sha1::{Digest, Sha1};
use sha2::Sha256;

use hike::insn::op;

const LDDW: u8 = op::LDDW;
const MOV64_X: u8 = op::ALU64 | op::MOV | op::X;
const JA: u8 = op::JMP | op::JA;

fn insn_at(code: &[u8], k: usize) -> Option<Insn> {
    let b = code.get(8 * k..8 * k + 8)?;
    Some(Insn::from_bytes(b.try_into().ok()?))
}

/// The two templates of `api.h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// `__hike_stamped_prologue`: the first instance's start of the chain
    Prologue,
    /// `__hike_stamped_epilogue`: what the chain does after the call
    Epilogue,
}

impl Template {
    fn magic(self) -> u64 {
        match self {
            Template::Prologue => PROLOGUE_MAGIC,
            Template::Epilogue => EPILOGUE_MAGIC,
        }
    }
    /// Instructions stamped: the marker and the padding.
    pub fn slots(self) -> usize {
        match self {
            Template::Prologue => PROLOGUE_SLOTS,
            Template::Epilogue => EPILOGUE_SLOTS,
        }
    }
}

/// Is there a whole `t` template whose marker is at instruction `k` of `code`?
fn template_at(code: &[u8], k: usize, t: Template) -> bool {
    let at = |d: isize| {
        k.checked_add_signed(d)
            .and_then(|i| insn_at(code, i))
            .unwrap_or_default()
    };
    let mov_from = |i: Insn, dst: u8| i.code == MOV64_X && i.dst == dst;
    let (lo, hi) = (at(0), at(1));
    let slots = t.slots() as isize;
    let marker = lo.code == LDDW
        && lo.dst == 0
        && lo.src == 0
        && lo.imm as u32 == t.magic() as u32
        && hi.code == 0
        && hi.imm as u32 == (t.magic() >> 32) as u32;
    let padding = (2..slots).all(|d| {
        let i = at(d);
        i.code == JA && i.off == 0 && i.imm == 0
    });
    let before = match t {
        Template::Prologue => mov_from(at(-1), epi_reg::REGS),
        Template::Epilogue => {
            at(-2).code == LDDW
                && at(-2).dst == epi_reg::JIT_MAP
                && mov_from(at(-3), epi_reg::CTX)
                && mov_from(at(-4), epi_reg::CDATA)
                && mov_from(at(-5), epi_reg::REGS)
                && {
                    let out = at(slots);
                    out.code == MOV64_X && out.src == 0
                }
        }
    };
    marker && padding && before
}

/// Where program `prog`'s code is in `elf`: (byte offset of its first instruction in the
/// file, its length in bytes).
fn program_range(elf: &[u8], prog: &str) -> Result<(usize, usize), String> {
    let file = object::File::parse(elf).map_err(|e| format!("not an ELF object: {e}"))?;
    let sym = file
        .symbols()
        .find(|s| s.name() == Ok(prog) && s.kind() == object::SymbolKind::Text)
        .ok_or_else(|| format!("the object has no program {prog}"))?;
    let index = sym
        .section_index()
        .ok_or_else(|| format!("{prog} is not in a section"))?;
    let section = file.section_by_index(index).map_err(|e| e.to_string())?;
    let (start, len) = section
        .file_range()
        .ok_or_else(|| format!("{prog}'s section has no data"))?;
    let (off, size) = (sym.address(), sym.size());
    if off + size > len || size % 8 != 0 {
        return Err(format!("{prog}: its symbol lies outside its section"));
    }
    Ok(((start + off) as usize, size as usize))
}

/// The index (in `prog`'s instructions) of the marker of every `t` template in it. No
/// epilogue when the program never returns to the chain (it always gives a verdict: clang
/// drops the template as dead code); more than one if clang duplicated a template.
fn templates(elf: &[u8], prog: &str, t: Template) -> Result<Vec<usize>, String> {
    let (start, len) = program_range(elf, prog)?;
    let code = &elf[start..start + len];
    Ok((0..len / 8).filter(|&k| template_at(code, k, t)).collect())
}

/// Code stamped over a template whose marker is at an instruction of a program.
pub type Patch = (Template, usize, Vec<Insn>);

/// Where each template of `prog` of each kind given is, with that kind's code (exactly
/// `slots()` instructions): the patches that stamp them (instruction indexes in `prog`).
/// Every entry point built against the lab's `api.h` has a prologue template (the path
/// that starts a chain is never dead code); one with no epilogue template never returns to
/// the chain (clang dropped it). Without a prologue template the object is older than the
/// templates: its code cannot hand over, and is refused.
pub fn patches(elf: &[u8], prog: &str, code: &[(Template, &[Insn])]) -> Result<Vec<Patch>, String> {
    if templates(elf, prog, Template::Prologue)?.is_empty() {
        return Err(format!(
            "{prog} has no templates for a compiled chain's hand-over (an object built \
             against another api.h: rebuild it)"
        ));
    }
    let mut out = Vec::new();
    for &(t, insns) in code {
        if insns.len() != t.slots() {
            return Err(format!(
                "{t:?} code of {} instructions for a template of {}",
                insns.len(),
                t.slots()
            ));
        }
        for k in templates(elf, prog, t)? {
            out.push((t, k, insns.to_vec()));
        }
    }
    Ok(out)
}

/// A copy of `elf` with `prog`'s templates stamped ([`patches`]), and the patches made.
pub fn stamp(
    elf: &[u8],
    prog: &str,
    code: &[(Template, &[Insn])],
) -> Result<(Vec<u8>, Vec<Patch>), String> {
    let (start, _) = program_range(elf, prog)?;
    let patches = patches(elf, prog, code)?;
    let mut out = elf.to_vec();
    for (_, k, insns) in &patches {
        let bytes = Insn::encode_all(insns);
        let off = start + 8 * k;
        out[off..off + bytes.len()].copy_from_slice(&bytes);
    }
    Ok((out, patches))
}

/// How the kernel computes a program's tag (`bpf_prog_calc_tag`): a digest of the
/// instructions with the constants of map references (`lddw` with src 1 or 2, both halves)
/// zeroed; the tag is its first 8 bytes, big-endian. SHA-1 up to Linux 6.17, SHA-256 since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagDigest {
    Sha1,
    Sha256,
}

fn tag_input(insns: &[[u8; 8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(insns.len() * 8);
    let mut map_ref = false;
    for raw in insns {
        let mut b = *raw;
        let src = b[1] >> 4;
        if !map_ref && b[0] == LDDW && (src == 1 || src == 2) {
            map_ref = true;
            b[4..8].fill(0);
        } else if map_ref && b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0 {
            map_ref = false;
            b[4..8].fill(0);
        } else {
            map_ref = false;
        }
        out.extend_from_slice(&b);
    }
    out
}

/// The tag the kernel gives a program of these instructions.
pub fn kernel_tag(insns: &[[u8; 8]], digest: TagDigest) -> u64 {
    let input = tag_input(insns);
    let d: Vec<u8> = match digest {
        TagDigest::Sha1 => Sha1::digest(&input).to_vec(),
        TagDigest::Sha256 => Sha256::digest(&input).to_vec(),
    };
    u64::from_be_bytes(d[..8].try_into().expect("a digest has at least 8 bytes"))
}

/// The instructions aya submits for program `prog` of `elf`: its function with the called
/// functions linked after it, maps relocated, sanitized for this kernel (aya's own steps, by
/// aya-obj; the map file descriptors, which the tag ignores, are 0 here).
pub fn linked(elf: &[u8], prog: &str) -> Result<Vec<[u8; 8]>, String> {
    let mut obj = aya_obj::Object::parse(elf).map_err(|e| e.to_string())?;
    if obj.has_btf_relocations()
        && let Some(btf) = super::kernel_btf()
    {
        obj.relocate_btf(btf).map_err(|e| e.to_string())?;
    }
    let maps: Vec<(String, aya_obj::Map)> = obj.maps.drain().collect();
    let text: HashSet<usize> = obj.functions.keys().map(|(s, _)| *s).collect();
    obj.relocate_maps(maps.iter().map(|(n, m)| (n.as_str(), 0, m)), &text)
        .map_err(|e| e.to_string())?;
    obj.relocate_calls(&text).map_err(|e| e.to_string())?;
    obj.sanitize_functions(aya::features());
    let key = obj
        .programs
        .get(prog)
        .ok_or_else(|| format!("the object has no program {prog}"))?
        .function_key();
    let f = obj
        .functions
        .get(&key)
        .ok_or_else(|| format!("the object has no code for {prog}"))?;
    Ok(f.instructions.iter().map(insn_bytes).collect())
}

/// An instruction as aya-obj holds it, as the kernel reads it (8 bytes, little-endian).
pub(super) fn insn_bytes(i: &aya_obj::generated::bpf_insn) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = i.code;
    b[1] = (i.dst_reg() & 0x0f) | (i.src_reg() << 4);
    b[2..4].copy_from_slice(&i.off.to_le_bytes());
    b[4..8].copy_from_slice(&i.imm.to_le_bytes());
    b
}

/// The tags of a program whose instructions ([`linked`]) are `plain`, as it is and with
/// `patches` (as [`stamp`] returns them), by digest: (digest, the registered program's, the
/// instance's).
pub fn tags(plain: &[[u8; 8]], patches: &[Patch]) -> Result<Vec<(TagDigest, u64, u64)>, String> {
    let mut stamped = plain.to_vec();
    for (_, k, code) in patches {
        for (j, i) in code.iter().enumerate() {
            *stamped
                .get_mut(k + j)
                .ok_or("a template past the end of the program's code")? = i.to_bytes();
        }
    }
    Ok([TagDigest::Sha1, TagDigest::Sha256]
        .into_iter()
        .map(|d| (d, kernel_tag(plain, d), kernel_tag(&stamped, d)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hike::catalog::ProgramKind;
    use hike::jit;

    fn object(rel: &str) -> &'static [u8] {
        crate::objects::get(rel).expect("an embedded object")
    }

    #[test]
    fn every_program_has_its_templates() {
        let mut seen = 0;
        for path in crate::objects::list() {
            let Some(package) = path
                .strip_prefix("programs/")
                .and_then(|p| p.strip_suffix(".o"))
            else {
                continue;
            };
            let data = object(&path);
            let meta = eclat_model::meta::read(package, data).expect("metadata");
            for p in &meta.programs {
                let n = |t| {
                    templates(data, &p.name, t)
                        .unwrap_or_else(|e| panic!("{}: {e}", p.name))
                        .len()
                };
                assert_eq!(n(Template::Prologue), 1, "{}", p.name);
                match p.kind {
                    ProgramKind::Continue => assert_eq!(n(Template::Epilogue), 1, "{}", p.name),
                    ProgramKind::Final => assert!(n(Template::Epilogue) <= 1, "{}", p.name),
                }
                seen += 1;
            }
        }
        assert!(seen > 10, "{seen} programs");
        // a verdict program has nothing after its verdict
        let data = object("programs/hike_default.o");
        assert!(
            templates(data, "hike_drop", Template::Epilogue)
                .unwrap()
                .is_empty()
        );
        assert!(templates(data, "no_such_prog", Template::Epilogue).is_err());
    }

    #[test]
    fn stamping_changes_only_the_templates() {
        let (data, prog) = (object("programs/sampler.o"), "ip6_sd_dec2zero");
        let mut chain = crate::hike::asm::call_with(5, &[500]);
        chain.extend(crate::hike::asm::call_with(6, &[]));
        chain.push(crate::hike::asm::exit());
        let plan =
            jit::compile(hike::CHAIN_ID_FLAG | 3, &chain, &Default::default()).expect("compiles");
        let (pro, epi) = (jit::prologue(&plan), jit::epilogue(&plan, 0, &[3, 130]));
        let code = [
            (Template::Prologue, &pro[..]),
            (Template::Epilogue, &epi[..]),
        ];
        let (out, patches) = stamp(data, prog, &code).expect("stamps");
        assert_eq!(patches.len(), 2);
        let (start, _) = program_range(data, prog).unwrap();
        let inside = |i: usize| {
            patches
                .iter()
                .any(|(_, k, c)| (start + 8 * k..start + 8 * (k + c.len())).contains(&i))
        };
        let changed: Vec<usize> = (0..data.len()).filter(|&i| data[i] != out[i]).collect();
        assert!(changed.len() > 16);
        assert!(changed.into_iter().all(inside));
        // the stamped object has no template left: like an object older than the
        // templates, it is refused
        assert!(stamp(&out, prog, &code).is_err());
        let err = stamp(&out, prog, &code[1..]).unwrap_err();
        assert!(err.contains("another api.h"), "{err}");
        // a program that never returns to the chain has only the prologue template
        let drop = object("programs/hike_default.o");
        assert!(stamp(drop, "hike_drop", &code[1..]).unwrap().1.is_empty());
        // the tags: the stamped object's plain tag is the instance's
        let before = tags(&linked(data, prog).unwrap(), &patches).unwrap();
        let after = tags(&linked(&out, prog).unwrap(), &[]).unwrap();
        for ((d, plain, stamped), (_, plain2, _)) in before.into_iter().zip(after) {
            assert_ne!(plain, stamped, "{d:?}");
            assert_eq!(
                plain2, stamped,
                "{d:?}: the stamped object's code is the instance's"
            );
        }
    }

    #[test]
    fn the_tag_follows_the_code() {
        // well-known vectors: SHA-1("") = da39a3ee5e6b4b0d..., SHA-256("") = e3b0c442...
        assert_eq!(kernel_tag(&[], TagDigest::Sha1), 0xda39a3ee5e6b4b0d);
        assert_eq!(kernel_tag(&[], TagDigest::Sha256), 0xe3b0c44298fc1c14);
        for d in [TagDigest::Sha1, TagDigest::Sha256] {
            // map references (src 1: a map's fd, 2: a value of one) are zeroed, both halves
            let map = |src: u8, fd: u8, off: u8| {
                [
                    [LDDW, src << 4, 0, 0, fd, 0, 0, 0],
                    [0, 0, 0, 0, off, 0, 0, 0],
                ]
            };
            assert_eq!(kernel_tag(&map(1, 3, 0), d), kernel_tag(&map(1, 9, 0), d));
            assert_eq!(kernel_tag(&map(2, 3, 8), d), kernel_tag(&map(2, 9, 16), d));
            // a constant is code
            assert_ne!(kernel_tag(&map(0, 3, 0), d), kernel_tag(&map(0, 9, 0), d));
        }
    }
}
