use super::*;
use crate::insn::{call, op};

const ID: u32 = 0x4000_0007;
const NO_VERDICTS: BTreeMap<u32, u32> = BTreeMap::new();

fn mov(dst: u8, imm: i32) -> Insn {
    Insn::new(op::ALU64 | op::MOV | op::K, dst, 0, 0, imm)
}
fn mov_r0(dst: u8) -> Insn {
    Insn::new(op::ALU64 | op::MOV | op::X, dst, 0, 0, 0)
}
fn call_n(nargs: usize) -> Insn {
    Insn::new(op::JMP | op::CALL, 0, 0, 0, call::for_args(nargs).unwrap())
}
fn jop(j: u8, dst: u8, imm: i32, off: i16) -> Insn {
    Insn::new(op::JMP | j | op::K, dst, 0, off, imm)
}
fn exit() -> Insn {
    Insn::new(op::JMP | op::EXIT, 0, 0, 0, 0)
}

/// `r6 = prog5(1); if r6 != 0 { prog6(7) } prog7()`, as eCLAT writes it.
fn branchy() -> Vec<Insn> {
    vec![
        mov(2, 1),
        mov(1, 5),
        call_n(1), // 2: site 0
        mov_r0(6),
        jop(op::JNE, 6, 0, 3),
        mov(2, 7),
        mov(1, 6),
        call_n(1), // 7: site 1 (the fall-through way)
        mov(1, 7),
        call_n(0), // 9: site 2
        mov(0, 0),
        exit(),
    ]
}

#[test]
fn a_site_per_call_with_what_follows_it() {
    crate::validate(&branchy()).unwrap();
    let p = compile(ID, &branchy(), &NO_VERDICTS).unwrap();
    assert_eq!(
        p.entry,
        Way {
            moves: vec![(2, 1), (1, 5)],
            next: Next::Call { site: 0 }
        }
    );
    let pcs: Vec<(usize, u32)> = p.sites.iter().map(|s| (s.pc, s.prog)).collect();
    // the taken way is parsed first, so prog7's site comes before prog6's
    assert_eq!(pcs, vec![(2, 5), (9, 7), (7, 6)]);
    let c0 = &p.sites[0].cont;
    assert_eq!(c0.save, Some(6));
    assert_eq!(c0.test, Some((op::JNE, 6, 0)));
    assert_eq!(
        c0.ways.0,
        Way {
            moves: vec![(2, 7), (1, 6)],
            next: Next::Call { site: 2 }
        }
    );
    assert_eq!(
        c0.ways.1,
        Some(Way {
            moves: vec![(1, 7)],
            next: Next::Call { site: 1 }
        })
    );
    // after prog7: `r0 = 0; exit`, an abort from the bootstrap frame
    assert_eq!(
        p.sites[1].cont.ways.0.next,
        Next::Abort {
            reason: reason::BOOTSTRAP
        }
    );
    assert_eq!(p.max_calls, 3);
    assert!(!p.counts_calls());
}

#[test]
fn the_continuation_is_laid_out_as_struct_hike_cont() {
    let p = compile(ID, &branchy(), &NO_VERDICTS).unwrap();
    let slots = [5, 130, 131];
    let b = encode_cont(&p, 0, &slots);
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let i64_at = |o: usize| i64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    assert_eq!(b.len(), CONT_SIZE);
    assert_eq!((u32_at(0), u32_at(4), u32_at(8), u32_at(12)), (1, 6, 2, 6));
    assert_eq!(i64_at(16), 0);
    // way[0]: call site 2's instance (slot 131) after r2 = 7, r1 = 6
    assert_eq!((u32_at(24), u32_at(28), u32_at(32)), (1, 131, 2));
    assert_eq!((u32_at(36), u32_at(40)), (2, 1));
    assert_eq!((i64_at(56), i64_at(64)), (7, 6));
    // way[1]: site 1 (slot 130) after r1 = 7
    assert_eq!(
        (u32_at(88), u32_at(92), u32_at(96), u32_at(100)),
        (1, 130, 1, 1)
    );
    assert_eq!(i64_at(120), 7);
    // no call counting; the first site starts the chain with the entry moves
    assert_eq!((u32_at(152), u32_at(156), u32_at(160)), (0, 1, ID));
    assert_eq!((u32_at(176), u32_at(180), u32_at(184)), (2, 2, 1));
    assert_eq!((i64_at(200), i64_at(208)), (1, 5));
    // a later site is no entry, and an abort way carries its reason
    let b = encode_cont(&p, 1, &slots);
    assert_eq!(u32::from_le_bytes(b[156..160].try_into().unwrap()), 0);
    assert_eq!(u32::from_le_bytes(b[24..28].try_into().unwrap()), 2);
    assert_eq!(
        u32::from_le_bytes(b[28..32].try_into().unwrap()),
        reason::BOOTSTRAP
    );
}

#[test]
fn what_stays_interpreted() {
    let looped = vec![
        mov(1, 5),
        call_n(0),
        Insn::new(op::JMP | op::JA, 0, 0, -3, 0),
    ];
    assert_eq!(
        compile(ID, &looped, &NO_VERDICTS),
        Err(Refusal::BackwardJump { pc: 2 })
    );
    let mem = vec![
        Insn::new(op::LDX | op::MEM | op::W, 2, 10, -4, 0),
        mov(1, 5),
        call_n(0),
        exit(),
    ];
    assert_eq!(
        compile(ID, &mem, &NO_VERDICTS),
        Err(Refusal::Memory { pc: 0 })
    );
    let chain = vec![mov(1, 0x4000_0002), call_n(0), exit()];
    assert_eq!(
        compile(ID, &chain, &NO_VERDICTS),
        Err(Refusal::ChainCall { pc: 1 })
    );
    // after a call r1 is whatever the program left in it
    let after = vec![mov(1, 5), call_n(0), call_n(0), exit()];
    assert_eq!(
        compile(ID, &after, &NO_VERDICTS),
        Err(Refusal::ComputedCall { pc: 2 })
    );
    // arithmetic between calls
    let arith = vec![
        mov(1, 5),
        call_n(0),
        Insn::new(op::ALU64 | op::ADD | op::K, 0, 0, 0, 1),
        mov(1, 5),
        call_n(0),
        exit(),
    ];
    assert!(matches!(
        compile(ID, &arith, &NO_VERDICTS),
        Err(Refusal::Unsupported { pc: 2, .. })
    ));
    // more than four moves before a call
    let moves = vec![
        mov(2, 1),
        mov(3, 1),
        mov(4, 1),
        mov(5, 1),
        mov(1, 5),
        call_n(3),
        exit(),
    ];
    assert!(matches!(
        compile(ID, &moves, &NO_VERDICTS),
        Err(Refusal::Unsupported { pc: 4, .. })
    ));
    // a chain that ends before it calls anything
    assert!(compile(ID, &[mov(0, 0), exit()], &NO_VERDICTS).is_err());
    // a jump over a call to the same call site: one site, reached by two ways
    let same = vec![
        mov(1, 5),
        call_n(0),
        jop(op::JEQ, 0, 0, 1),
        mov(2, 3),
        mov(1, 6),
        call_n(1),
        exit(),
    ];
    let p = compile(ID, &same, &NO_VERDICTS).unwrap();
    assert_eq!(p.sites.len(), 2);
}

#[test]
fn ids_the_interpreter_refuses_are_aborts() {
    for (prog, why) in [
        (0, reason::PROG_ID),
        (300, reason::PROG_ID),
        (-1, reason::PROG_ID),
    ] {
        let p = compile(
            ID,
            &[
                mov(2, 0),
                mov(1, 5),
                call_n(1),
                mov(1, prog),
                call_n(0),
                exit(),
            ],
            &NO_VERDICTS,
        )
        .unwrap();
        assert_eq!(p.sites[0].cont.ways.0.next, Next::Abort { reason: why });
    }
}

#[test]
fn calls_are_counted_only_when_a_path_can_exceed_the_limit() {
    let mut v = Vec::new();
    for _ in 0..16 {
        v.extend([mov(1, 9), call_n(0)]);
    }
    v.push(exit());
    let p = compile(ID, &v, &NO_VERDICTS).unwrap();
    assert_eq!(p.max_calls, 16);
    assert!(!p.counts_calls());
    v.pop();
    v.extend([mov(1, 9), call_n(0), exit()]);
    let p = compile(ID, &v, &NO_VERDICTS).unwrap();
    assert_eq!(p.max_calls, 17);
    assert!(p.counts_calls());
    assert_eq!(
        u32::from_le_bytes(
            encode_cont(&p, 3, &[0; 17].map(|_| 128))[152..156]
                .try_into()
                .unwrap()
        ),
        1
    );
    // the listing says why each hand-over counts, and where the limit aborts
    let (prog, reason) = test_names();
    let names = Names {
        prog: &prog,
        reason: &reason,
    };
    let text = listing(&p, None, &names);
    for want in [
        "calls: a path of this chain can make more than 16 program calls",
        "; the program calls made so far",
        "; 16 calls made already: the limit",
        "; one call more",
        "; abort: reason 12",
    ] {
        assert!(text.contains(want), "no {want:?} in\n{text}");
    }
}

#[test]
fn never_panics_on_validated_random_chains() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut compiled = 0;
    for _ in 0..20000 {
        let n = 2 + (rnd() % 30) as usize;
        let mut v: Vec<Insn> = (0..n)
            .map(|_| {
                let r = rnd();
                match r % 8 {
                    0 => mov((r >> 8) as u8 % 10, (r >> 16) as i32 % 8),
                    1 => call_n((r >> 8) as usize % 4),
                    2 => jop(
                        [op::JEQ, op::JNE, op::JGT][(r >> 8) as usize % 3],
                        (r >> 10) as u8 % 10,
                        0,
                        ((r >> 16) % 6) as i16 - 1,
                    ),
                    3 => mov_r0((r >> 12) as u8 % 10),
                    4 => Insn::new(
                        op::ALU64 | op::DIV | op::K,
                        (r >> 12) as u8 % 10,
                        0,
                        0,
                        (r >> 20) as i32 % 3,
                    ),
                    5 | 6 => mov(1, 1 + (r >> 8) as i32 % 4),
                    _ => exit(),
                }
            })
            .collect();
        v.push(exit());
        if crate::validate(&v).is_err() {
            continue;
        }
        // half of them with program 3 a verdict program (its calls folded)
        let verdicts = BTreeMap::from([(3, 1)]);
        let verdicts = if rnd() % 2 == 0 {
            &verdicts
        } else {
            &NO_VERDICTS
        };
        if let Ok(p) = compile(ID, &v, verdicts) {
            compiled += 1;
            let slots: Vec<u32> = (0..p.sites.len() as u32).map(|k| 128 + k).collect();
            for k in 0..p.sites.len() {
                assert_eq!(encode_cont(&p, k, &slots).len(), CONT_SIZE);
                well_formed(&epilogue(&p, k, &slots), EPILOGUE_SLOTS);
            }
            well_formed(&prologue(&p), PROLOGUE_SLOTS);
            let calls = v.iter().filter(|i| i.code == op::JMP | op::CALL).count();
            assert!(p.max_calls as usize <= calls);
            // a verdict program is never an instance, except as the first call
            assert!(p.sites[1..].iter().all(|s| !verdicts.contains_key(&s.prog)));
            // the listing of both forms: one section per call site, no template padding
            let (prog, reason) = test_names();
            let names = Names {
                prog: &prog,
                reason: &reason,
            };
            for text in [listing(&p, None, &names), listing(&p, Some(&slots), &names)] {
                assert_eq!(text.matches("\nafter the call at ").count(), p.sites.len());
                assert!(
                    !text.contains("goto +0") && !text.contains("(invalid"),
                    "{text}"
                );
            }
        }
    }
    assert!(compiled > 100, "only {compiled} compiled");
}

#[test]
fn calls_of_verdict_programs_are_folded_into_the_instance_before_them() {
    // r6 = prog5(); if r6 == 0 { prog7() } else { prog8() }, where 7 and 8 are verdict
    // programs (XDP_DROP, XDP_PASS); a chain that starts with one keeps it as its entry
    let v = vec![
        mov(1, 5),
        call_n(0),
        mov_r0(6),
        jop(op::JEQ, 6, 0, 3),
        mov(1, 8),
        call_n(0),
        exit(),
        mov(1, 7),
        call_n(0),
        exit(),
    ];
    crate::validate(&v).unwrap();
    let verdicts = BTreeMap::from([(7, 1), (8, 2)]);
    let p = compile(ID, &v, &verdicts).unwrap();
    assert_eq!(p.sites.len(), 1, "{p:?}");
    let c = &p.sites[0].cont;
    assert_eq!(
        c.ways.0,
        Way {
            moves: vec![(1, 8)],
            next: Next::Verdict { prog: 8, action: 2 }
        }
    );
    assert_eq!(
        c.ways.1.as_ref().unwrap().next,
        Next::Verdict { prog: 7, action: 1 }
    );
    // a folded call is still a call: the limit counts it
    assert_eq!(p.max_calls, 2);
    let b = encode_cont(&p, 0, &[0]);
    let word = |off: usize| u32::from_le_bytes(b[off..off + 4].try_into().unwrap());
    assert_eq!(
        (word(24), word(28)),
        (3, 2),
        "way 0: kind verdict, XDP_PASS"
    );
    assert_eq!(
        (word(88), word(92)),
        (3, 1),
        "way 1: kind verdict, XDP_DROP"
    );
    // without the verdict map, the same chain has three sites
    assert_eq!(compile(ID, &v, &NO_VERDICTS).unwrap().sites.len(), 3);
    // the first call is never folded
    let first = compile(ID, &[mov(1, 7), call_n(0), exit()], &verdicts).unwrap();
    assert_eq!(first.sites.len(), 1);
    assert_eq!(first.entry.next, Next::Call { site: 0 });
}

/// Stamped code as the verifier's first pass wants it: exactly `slots` instructions, every
/// one reachable from the first, every jump inside the template or to its end (`slots`).
fn well_formed(code: &[Insn], slots: usize) {
    assert_eq!(code.len(), slots);
    let mut seen = vec![false; slots + 1];
    let mut todo = vec![0usize];
    while let Some(pc) = todo.pop() {
        if seen[pc] {
            continue;
        }
        seen[pc] = true;
        if pc == slots {
            continue;
        }
        let i = code[pc];
        let size = if i.code == op::LDDW { 2 } else { 1 };
        let target = || {
            let t = pc as i64 + 1 + i.off as i64;
            assert!((0..=slots as i64).contains(&t), "insn {pc}: a jump to {t}");
            t as usize
        };
        match (i.code & 0x07, i.code & 0xf0) {
            (op::JMP, op::EXIT) => {}
            (op::JMP, op::JA) => todo.push(target()),
            (op::JMP, op::CALL) => todo.push(pc + 1),
            (op::JMP, _) => {
                todo.push(target());
                todo.push(pc + 1);
            }
            _ => {
                if size == 2 {
                    seen[pc + 1] = true;
                }
                todo.push(pc + size);
            }
        }
    }
    assert!(seen.iter().all(|s| *s), "unreachable: {seen:?}\n{code:?}");
}

/// The largest continuation there is (a test of a 64-bit constant, two ways of four moves of
/// 64-bit constants, counted calls) still fits the template, and the prologue stores the
/// registers the chain has at its first call.
#[test]
fn the_largest_epilogue_fits_its_template() {
    let big = |k: i64| 0x1234_5678_9abc_0000 + k;
    let way = |site| Way {
        moves: (0..4).map(|r| (r as u8 + 2, big(r))).collect(),
        next: Next::Call { site },
    };
    let plan = Plan {
        chain_id: ID,
        entry: Way {
            moves: vec![(2, -1), (1, 9)],
            next: Next::Call { site: 0 },
        },
        sites: vec![Site {
            pc: 1,
            prog: 9,
            cont: Cont {
                save: Some(6),
                test: Some((op::JNE, 6, big(9))),
                ways: (way(0), Some(way(0))),
            },
        }],
        max_calls: 40,
    };
    assert!(plan.counts_calls());
    let code = epilogue(&plan, 0, &[7]);
    well_formed(&code, EPILOGUE_SLOTS);
    let used = code
        .iter()
        .filter(|i| **i != Insn::new(op::JMP | op::JA, 0, 0, 0, 0))
        .count();
    assert!(used > 40, "{used} instructions");
    // the prologue: r0 = 0, r1 = 9 (the move), r2 = -1, r3..r9 = 0, r10 = the frame pointer
    assert_eq!(
        entry_regs(&plan),
        [0, 9, -1, 0, 0, 0, 0, 0, 0, 0, crate::layout::mmu::FP as i64]
    );
    let stores: Vec<(i16, i32)> = prologue(&plan)
        .into_iter()
        .filter(|i| i.code == op::ST | op::MEM | op::DW)
        .map(|i| (i.off, i.imm))
        .collect();
    assert_eq!(stores.len(), 11);
    assert_eq!(stores[1], (8, 9));
    assert_eq!(stores[2], (16, -1));
    assert_eq!(stores[10], (80, crate::layout::mmu::FP as i32));
}

fn test_names() -> (impl Fn(u32) -> String, impl Fn(u32) -> String) {
    (|p: u32| format!("prog{p}"), |r: u32| format!("reason {r}"))
}

#[test]
fn the_listing_shows_each_hand_over_as_the_chain_reads_it() {
    // r6 = prog5(1); if r6 != 0 { prog6(7) } prog7(), with prog7 a verdict program
    let p = compile(ID, &branchy(), &BTreeMap::from([(7, 2)])).unwrap();
    let (prog, reason) = test_names();
    let names = Names {
        prog: &prog,
        reason: &reason,
    };
    let linked = listing(&p, None, &names);
    println!("{linked}");
    assert!(
        linked.starts_with(
            "start: the copy of prog5 (the call at 2) first sets frame 1 up as the VM would \
             (r1 = 5, r2 = 1, r10 = the frame pointer, every other register 0)"
        ),
        "{linked}"
    );
    // site 0: r6 = r0; the test; the fall-through way stores prog6's arguments and jumps
    // to its code; the other way folds prog7's call
    for want in [
        "after the call at 2 (prog5):",
        "r1 = *(u64 *)(r6 + 0)",
        "; r6 = r0",
        "if r1 != 0x0 goto +4       ; the chain's test: r6 != 0",
        "*(u64 *)(r6 + 16) = 7      ; r2 = 7",
        "; r1 = 6 (prog6)",
        "; r1 = 7 (prog7)",
        "goto <7>",
        "; straight on to the call at 7 (prog6)",
        "XDP_PASS: the call of prog7 folded into this one",
        "after the call at 7 (prog6):",
    ] {
        assert!(linked.contains(want), "no {want:?} in\n{linked}");
    }
    // no padding, no guard, no tail call in the linked form
    assert!(!linked.contains("goto +0") && !linked.contains("if r6 == 0x0"));
    assert!(!linked.contains("bpf_tail_call"), "{linked}");
    // as instances: tail calls into the slots
    let inst = listing(&p, Some(&[3, 130]), &names);
    println!("{inst}");
    for want in [
        "call bpf_tail_call",
        "; r1 = 6 (prog6)",
        "; to the call at 7 (prog6) (slot 130)",
        "r0 = 9",
        "; abort: reason 9",
    ] {
        assert!(inst.contains(want), "no {want:?} in\n{inst}");
    }
}

#[test]
fn a_part_shares_the_linked_programs_stack_slots_only_when_it_leaves_them_alone() {
    use crate::asm::{alu, ja, ldx, mov_r, stx};
    let st = |off: i16| Insn::new(op::ST | op::MEM | op::W, 10, 0, off, 0);
    // clang's frame: a key at r10-8 passed by address, a spill at r10-496
    let own = vec![
        st(-8),
        mov_r(2, 10),
        alu(op::ADD, 2, -8),
        stx(op::DW, 10, -496, 6),
        ldx(op::DW, 6, 10, -496),
    ];
    assert_eq!(link_slots_clear(&own), Ok(()));
    // the slot accesses of api.h, each after its `goto +0`
    let mut api = own.clone();
    api.extend([
        ja(0),
        stx(op::DW, 10, LINK_CDATA_SLOT, 8),
        ja(0),
        stx(op::DW, 10, LINK_SHMEM_SLOT, 0),
        ja(0),
        ldx(op::DW, 9, 10, LINK_CDATA_SLOT),
    ]);
    assert_eq!(link_slots_clear(&api), Ok(()));
    // the part's own use of those offsets, or deeper than the floor, or an address taken
    // below it: the part keeps its own look-ups
    for deep in [
        vec![stx(op::DW, 10, LINK_SHMEM_SLOT, 1)],
        vec![ja(0), stx(op::W, 10, LINK_CDATA_SLOT, 1)],
        vec![ja(0), ldx(op::DW, 1, 10, -500)],
        vec![st(-497)],
        vec![mov_r(3, 10), alu(op::ADD, 3, -504)],
        vec![mov_r(3, 10), mov_r(4, 3)],
        vec![mov_r(3, 10)],
    ] {
        let mut code = own.clone();
        code.extend(deep.iter().copied());
        assert!(link_slots_clear(&code).is_err(), "{deep:?}");
    }
}

/// How a stamped epilogue (or prologue) left the program, run on its own by [`Machine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    /// `exit` with this `r0` (a folded verdict's XDP action)
    Exit(i64),
    /// a tail call into this slot of `hvm_jit_map` (which holds an instance)
    TailCall(i64),
    /// out of the template with this abort reason in `r0`
    End(i64),
    /// linked form: a jump to this site's code
    Hop(usize),
}

/// A small eBPF machine for the stamped code alone, with the registers the template sets
/// (`epi_reg`): r6 points at frame 1's registers, r7 at the chain data, r8 is ctx, r9
/// `hvm_jit_map`. It runs what the emitter writes and nothing else (anything else panics).
struct Machine {
    r: [i64; 11],
    /// frame 1's registers (r0 holds what the program returned)
    frame: [i64; 11],
    /// `struct hike_cdata.calls`
    calls: u32,
    /// the slot a tail call may land in: `false` models an empty slot (the call falls through)
    slot_full: bool,
}

const CTX_PTR: i64 = 0x00c7_0000;
const MAP_PTR: i64 = 0x0a9_0000;

impl Machine {
    fn new(frame: [i64; 11], calls: u32) -> Self {
        let mut r = [0; 11];
        r[epi_reg::REGS as usize] = 0x6000;
        r[epi_reg::CDATA as usize] = 0x7000;
        r[epi_reg::CTX as usize] = CTX_PTR;
        r[epi_reg::JIT_MAP as usize] = MAP_PTR;
        // what the program left in its scratch registers: garbage
        r[1] = 0x5eed_0001;
        r[2] = 0x5eed_0002;
        r[3] = 0x5eed_0003;
        Self {
            r,
            frame,
            calls,
            slot_full: true,
        }
    }

    /// The frame register at `base + off` (`base` must be r6).
    fn slot(&self, base: u8, off: i16) -> usize {
        assert_eq!(base, epi_reg::REGS, "a memory access through r{base}");
        assert!(off >= 0 && off % 8 == 0 && off < 88, "frame offset {off}");
        off as usize / 8
    }

    fn run(&mut self, code: &[Insn], hops: &[(usize, usize)]) -> Out {
        use epi_reg::*;
        let mut pc = 0;
        let mut steps = 0;
        loop {
            steps += 1;
            assert!(steps < 1000, "the stamped code loops");
            if pc == code.len() {
                return Out::End(self.r[0]);
            }
            if let Some(&(_, site)) = hops.iter().find(|(at, _)| *at == pc) {
                assert_eq!(code[pc], asm::ja(0), "a hop is a goto the linker sets");
                assert_eq!(self.r[1], CTX_PTR, "a program starts with r1 = ctx");
                return Out::Hop(site);
            }
            let i = code[pc];
            let (d, s) = (i.dst as usize, i.src as usize);
            let at = pc;
            let jump = move |taken: bool| {
                if taken {
                    at + 1 + i.off as usize
                } else {
                    at + 1
                }
            };
            pc = match i.code {
                c if c == op::JMP | op::JA => jump(true),
                c if c == op::JMP | op::EXIT => return Out::Exit(self.r[0]),
                c if c == op::JMP | op::CALL => {
                    assert_eq!(i.imm, BPF_FUNC_TAIL_CALL);
                    assert_eq!(
                        (self.r[1], self.r[2]),
                        (CTX_PTR, MAP_PTR),
                        "tail call's r1, r2"
                    );
                    if self.slot_full {
                        return Out::TailCall(self.r[3]);
                    }
                    pc + 1
                }
                c if c & 0x07 == op::JMP => {
                    let v = if c & op::X != 0 {
                        self.r[s]
                    } else {
                        i.imm as i64
                    };
                    let taken = match c & 0xf0 {
                        op::JEQ => self.r[d] == v,
                        op::JNE => self.r[d] != v,
                        op::JGE => self.r[d] as u64 >= v as u64,
                        j => panic!("jump op {j:#x}"),
                    };
                    jump(taken)
                }
                c if c == op::ALU64 | op::MOV | op::K => {
                    self.r[d] = i.imm as i64;
                    pc + 1
                }
                c if c == op::ALU64 | op::MOV | op::X => {
                    self.r[d] = self.r[s];
                    pc + 1
                }
                c if c == op::ALU64 | op::ADD | op::K => {
                    self.r[d] = self.r[d].wrapping_add(i.imm as i64);
                    pc + 1
                }
                op::LDDW => {
                    let hi = code[pc + 1].imm as u32 as u64;
                    self.r[d] = ((hi << 32) + i.imm as u32 as u64) as i64;
                    pc + 2
                }
                c if c == op::LDX | op::MEM | op::DW => {
                    self.r[d] = self.frame[self.slot(i.src, i.off)];
                    pc + 1
                }
                c if c == op::LDX | op::MEM | op::W => {
                    assert_eq!((i.src, i.off), (CDATA, CALLS_OFF), "a 32-bit load");
                    self.r[d] = self.calls as i64;
                    pc + 1
                }
                c if c == op::ST | op::MEM | op::DW => {
                    self.frame[self.slot(i.dst, i.off)] = i.imm as i64;
                    pc + 1
                }
                c if c == op::STX | op::MEM | op::DW => {
                    self.frame[self.slot(i.dst, i.off)] = self.r[s];
                    pc + 1
                }
                c if c == op::STX | op::MEM | op::W => {
                    assert_eq!((i.dst, i.off), (CDATA, CALLS_OFF), "a 32-bit store");
                    self.calls = self.r[s] as u32;
                    pc + 1
                }
                c => panic!("insn {pc}: opcode {c:#x} in stamped code"),
            };
        }
    }
}

/// What the chain does after the call of site `site` returned `ret`, from the plan alone:
/// frame 1's registers, the call count and where it goes (the interpreter's semantics).
fn expected(
    plan: &Plan,
    site: usize,
    slot_of: Option<&[u32]>,
    ret: i64,
    frame: [i64; 11],
    calls: u32,
) -> ([i64; 11], u32, Out) {
    let cont = &plan.sites[site].cont;
    let mut f = frame;
    f[0] = ret;
    if let Some(r) = cont.save {
        f[r as usize] = ret;
    }
    let way = match (cont.test, &cont.ways.1) {
        (Some((jop, reg, imm)), Some(w1)) if (f[reg as usize] == imm) == (jop == op::JEQ) => w1,
        _ => &cont.ways.0,
    };
    if let Next::Abort { reason } = way.next {
        return (f, calls, Out::End(reason as i64));
    }
    for &(r, imm) in &way.moves {
        f[r as usize] = imm;
    }
    let mut calls = calls;
    if plan.counts_calls() {
        if calls >= MAX_PROGRAM_CALLS {
            return (f, calls, Out::End(REASON_CALL_LIMIT as i64));
        }
        calls += 1;
    }
    let out = match (way.next.clone(), slot_of) {
        (Next::Verdict { action, .. }, _) => Out::Exit(action as i64),
        (Next::Call { site }, Some(slots)) => Out::TailCall(slots[site] as i64),
        (Next::Call { site }, None) => Out::Hop(site),
        (Next::Abort { .. }, _) => unreachable!(),
    };
    (f, calls, out)
}

/// Runs every site's epilogue of `plan` (instances and linked) for several return values
/// and call counts, and compares each with [`expected`].
fn epilogues_do_what_the_plan_says(plan: &Plan) {
    let slots: Vec<u32> = (0..plan.sites.len() as u32).map(|k| 128 + 3 * k).collect();
    let mut rets = vec![0, 1, -1, 0x1_0000_0000, i64::MIN];
    for s in &plan.sites {
        if let Some((_, _, imm)) = s.cont.test {
            rets.extend([imm, imm.wrapping_add(1), imm ^ 1 << 32]);
        }
    }
    for site in 0..plan.sites.len() {
        let forms = [
            (Some(&slots[..]), epilogue(plan, site, &slots), vec![]),
            (
                None,
                linked_epilogue(plan, site).0,
                linked_epilogue(plan, site).1,
            ),
        ];
        for (slot_of, code, hops) in &forms {
            well_formed(code, EPILOGUE_SLOTS);
            for &ret in &rets {
                for calls in [0, 5, 15, 16, 17] {
                    // frame registers a way does not set keep their values
                    let mut frame: [i64; 11] = std::array::from_fn(|r| 0x100 * r as i64 + 7);
                    frame[0] = ret;
                    let mut m = Machine::new(frame, calls);
                    let out = m.run(code, hops);
                    let want = expected(plan, site, *slot_of, ret, frame, calls);
                    assert_eq!(
                        (m.frame, m.calls, out),
                        want,
                        "site {site}, r0 = {ret:#x}, {calls} calls, {} form:\n{code:?}",
                        if slot_of.is_some() {
                            "instance"
                        } else {
                            "linked"
                        }
                    );
                    // a tail call into an empty slot aborts with HVM_ERR_NO_PROG
                    if let Out::TailCall(_) = out {
                        let mut m = Machine::new(frame, calls);
                        m.slot_full = false;
                        assert_eq!(m.run(code, hops), Out::End(REASON_NO_PROG as i64));
                    }
                }
            }
        }
    }
}

/// A plan made by hand: site 0 then `sites`, the first one's continuation `cont`.
fn plan_of(cont: Cont, more: Vec<Cont>, max_calls: u32) -> Plan {
    let sites = std::iter::once(cont)
        .chain(more)
        .enumerate()
        .map(|(k, cont)| Site {
            pc: 2 * k + 1,
            prog: 10 + k as u32,
            cont,
        })
        .collect();
    Plan {
        chain_id: ID,
        entry: Way {
            moves: vec![(1, 10)],
            next: Next::Call { site: 0 },
        },
        sites,
        max_calls,
    }
}

fn to(site: usize, moves: &[(u8, i64)]) -> Way {
    Way {
        moves: moves.to_vec(),
        next: Next::Call { site },
    }
}

fn abort_way(reason: u32) -> Way {
    Way {
        moves: vec![(2, 99)],
        next: Next::Abort { reason },
    }
}

#[test]
fn each_epilogue_does_what_its_plan_says() {
    // compiled chains: with and without folded verdicts, with more than 16 calls
    epilogues_do_what_the_plan_says(&compile(ID, &branchy(), &NO_VERDICTS).unwrap());
    epilogues_do_what_the_plan_says(&compile(ID, &branchy(), &BTreeMap::from([(7, 3)])).unwrap());
    let mut long = Vec::new();
    for k in 0..17 {
        long.extend([mov(2, k), mov(1, 9), call_n(1)]);
    }
    long.push(exit());
    let p = compile(ID, &long, &NO_VERDICTS).unwrap();
    assert!(p.counts_calls());
    epilogues_do_what_the_plan_says(&p);
    // by hand: 64-bit constants in the test and the moves, a test of the saved register and
    // of another, `==` and `!=`, aborts, verdicts, counted calls
    let big = 0x1234_5678_9abc_def0;
    let verdict = |action| Way {
        moves: vec![(3, -5)],
        next: Next::Verdict { prog: 2, action },
    };
    for counted in [1, 40] {
        let plan = plan_of(
            Cont {
                save: Some(6),
                test: Some((op::JEQ, 6, big)),
                ways: (
                    to(1, &[(2, big), (1, 11)]),
                    Some(to(2, &[(4, -big), (1, 12)])),
                ),
            },
            vec![
                Cont {
                    save: Some(3),
                    test: Some((op::JNE, 5, 0x507)),
                    ways: (abort_way(7), Some(verdict(4))),
                },
                Cont {
                    save: None,
                    test: Some((op::JNE, 0, -1)),
                    ways: (verdict(0), Some(to(1, &[(9, i32::MIN as i64), (1, 11)]))),
                },
                Cont {
                    save: Some(9),
                    test: None,
                    ways: (to(2, &[(1, 12), (2, 1 << 31)]), None),
                },
            ],
            counted,
        );
        assert_eq!(plan.counts_calls(), counted > 16);
        epilogues_do_what_the_plan_says(&plan);
    }
}

#[test]
fn the_prologue_sets_frame_1_up_as_the_vm_does() {
    // (a 64-bit value, which the prologue stores through r1, comes from no chain: a chain's
    // moves are 32-bit, sign-extended)
    for moves in [
        vec![(1, 5)],
        vec![(2, -1), (9, 0x7fff_ffff), (1, 9)],
        vec![(0, 3), (1, 6)],
        vec![(3, 0x1_2345_6789), (4, -0x8000_0001), (1, 6)],
    ] {
        let mut plan = compile(ID, &branchy(), &NO_VERDICTS).unwrap();
        plan.entry.moves = moves;
        let mut m = Machine::new([-1; 11], 0);
        let code = prologue(&plan);
        assert_eq!(code.len(), PROLOGUE_SLOTS);
        assert_eq!(m.run(&code, &[]), Out::End(0));
        assert_eq!(m.frame, entry_regs(&plan));
    }
}

/// Each reason to stay interpreted, at its edge, and the aborts the compiled chain keeps.
#[test]
fn each_refusal_at_its_edge() {
    use crate::CHAIN_ID_FLAG;
    let c = |v: &[Insn]| compile(ID, v, &NO_VERDICTS);
    let one = [mov(1, 5), call_n(0), exit()];
    // chain IDs: slots 0..=127 of hvm_jit_map hold the entries
    assert!(compile(CHAIN_ID_FLAG | 127, &one, &NO_VERDICTS).is_ok());
    assert_eq!(
        compile(CHAIN_ID_FLAG | 128, &one, &NO_VERDICTS),
        Err(Refusal::NoEntrySlot)
    );
    assert_eq!(
        Refusal::NoEntrySlot.to_string(),
        "chain IDs above 0x4000007f have no entry slot in hvm_jit_map"
    );
    // a memory access or a backward jump anywhere, even where no way goes
    for (k, i) in [
        Insn::new(op::ST | op::MEM | op::DW, 10, 0, -8, 0),
        Insn::new(op::STX | op::MEM | op::DW, 10, 1, -8, 0),
        Insn::new(op::LDX | op::MEM | op::DW, 1, 10, -8, 0),
    ]
    .into_iter()
    .enumerate()
    {
        let mut v = one.to_vec();
        v.push(i);
        assert_eq!(c(&v), Err(Refusal::Memory { pc: 3 }), "case {k}");
    }
    let mut v = one.to_vec();
    v.push(jop(op::JEQ, 1, 0, -2));
    assert_eq!(c(&v), Err(Refusal::BackwardJump { pc: 3 }));
    // a call's and an exit's offset is no jump
    let odd_off = [
        mov(1, 5),
        Insn::new(op::JMP | op::CALL, 0, 0, -1, call::CALL_0),
        Insn::new(op::JMP | op::EXIT, 0, 0, -1, 0),
    ];
    assert!(c(&odd_off).is_ok());
    // moves: into r0..r9, not r10
    assert!(c(&[mov(9, 1), mov(0, 2), mov(1, 5), call_n(0), exit()]).is_ok());
    assert_eq!(
        c(&[mov(10, 1), mov(1, 5), call_n(0), exit()]),
        Err(unsupported(0, "a move into r10"))
    );
    // the program ID is the last constant moved into r1
    let p = c(&[mov(1, 6), mov(2, 0), mov(1, 5), call_n(1), exit()]).unwrap();
    assert_eq!(p.sites[0].prog, 5);
    assert_eq!(
        c(&[mov(2, 5), call_n(0), exit()]),
        Err(Refusal::ComputedCall { pc: 1 })
    );
    // a call instruction the VM does not know is an abort, as in the interpreter
    for bad in [
        Insn::new(op::JMP | op::CALL, 0, 0, 0, 0x15 << 8),
        Insn::new(op::JMP | op::CALL, 1, 0, 0, call::CALL_0),
        Insn::new(op::JMP | op::CALL, 0, 1, 0, call::CALL_0),
    ] {
        let p = c(&[mov(1, 5), call_n(0), mov(1, 6), bad, exit()]).unwrap();
        assert_eq!(
            p.sites[0].cont.ways.0.next,
            Next::Abort {
                reason: reason::OPCODE
            },
            "{bad:?}"
        );
    }
    // program IDs 1..=255
    for (id, call) in [(1, true), (255, true), (256, false)] {
        let p = c(&[mov(1, 5), call_n(0), mov(1, id), call_n(0), exit()]).unwrap();
        let next = &p.sites[0].cont.ways.0.next;
        if call {
            assert_eq!(p.sites[1].prog, id as u32);
        } else {
            assert_eq!(
                *next,
                Next::Abort {
                    reason: reason::PROG_ID
                }
            );
        }
    }
    // after a call: `r1..r9 = r0` is kept, other moves of registers are not compiled
    for (save, ok) in [
        (mov_r0(1), true),
        (mov_r0(9), true),
        (mov_r0(10), false),
        (Insn::new(op::ALU64 | op::MOV | op::X, 6, 1, 0, 0), false),
    ] {
        let r = c(&[mov(1, 5), call_n(0), save, mov(1, 6), call_n(0), exit()]);
        assert_eq!(r.is_ok(), ok, "{save:?}: {r:?}");
        if ok {
            assert_eq!(r.unwrap().sites[0].cont.save, Some(save.dst));
        }
    }
    // tests: `==` or `!=` against a constant, of r0..r9
    for (test, ok) in [
        (jop(op::JEQ, 0, 3, 1), true),
        (jop(op::JNE, 9, 3, 1), true),
        (jop(op::JGT, 0, 3, 1), false),
        (jop(op::JEQ, 10, 3, 1), false),
        (Insn::new(op::JMP | op::JEQ | op::X, 0, 2, 1, 0), false),
    ] {
        let r = c(&[
            mov(1, 5),
            call_n(0),
            test,
            exit(),
            mov(1, 6),
            call_n(0),
            exit(),
        ]);
        assert_eq!(r.is_ok(), ok, "{test:?}: {r:?}");
        if ok {
            let p = r.unwrap();
            assert_eq!(p.sites[0].cont.test, Some((test.code & 0xf0, test.dst, 3)));
        }
    }
    assert_eq!(
        c(&[mov(1, 5), call_n(0), jop(op::JEQ, 10, 3, 1), exit(), exit()]),
        Err(unsupported(2, "a test of r10"))
    );
    // the end of the chain
    for short in [
        vec![mov(1, 5), call_n(0)],
        vec![mov(1, 5), call_n(0), asm::ja(1)],
    ] {
        assert!(
            matches!(c(&short), Err(Refusal::Unsupported { pc: 2.., why }) if why == "a jump past the end"),
            "{:?}",
            c(&short)
        );
    }
    // a way longer than any chain (the compiler is given an unvalidated one)
    let mut long = vec![asm::ja(0); crate::MAX_CHAIN_INSNS + 6];
    long.extend(one);
    assert_eq!(
        c(&long),
        Err(unsupported(
            crate::MAX_CHAIN_INSNS,
            "a way longer than the chain"
        ))
    );
    let mut fits = vec![asm::ja(0); crate::MAX_CHAIN_INSNS - one.len() + 1];
    fits.extend([mov(1, 5), call_n(0)]);
    fits.extend([asm::ja(0); 2]);
    fits.push(exit());
    assert!(c(&fits).is_ok(), "{:?}", c(&fits));
    // 128 call sites fit the instance slots 128..255, 129 do not
    for (sites, ok) in [(128, true), (129, false)] {
        let mut v = Vec::new();
        for _ in 0..sites {
            v.extend([mov(1, 5), call_n(0)]);
        }
        v.push(exit());
        let r = c(&v);
        if ok {
            assert_eq!(r.unwrap().sites.len(), 128);
        } else {
            assert_eq!(
                r,
                Err(Refusal::TooManyCalls {
                    sites: 129,
                    max: 128
                })
            );
        }
    }
}

/// The listing of hand-overs with 64-bit constants (a test of one, and a move of one, each
/// through an `lddw`), a test of the saved register and of another, both test ops, aborts,
/// every XDP action folded, counted calls: in both forms, line by line.
#[test]
fn the_listing_reads_every_kind_of_hand_over() {
    let big = 0x1234_5678_9abc_def0;
    let verdict = |prog, action| Way {
        moves: vec![(3, -5)],
        next: Next::Verdict { prog, action },
    };
    let mut plan = plan_of(
        Cont {
            save: Some(6),
            test: Some((op::JEQ, 7, big)),
            ways: (
                to(1, &[(2, big), (1, 11)]),
                Some(to(2, &[(4, -0x10000), (1, 12)])),
            ),
        },
        vec![
            Cont {
                save: Some(3),
                test: Some((op::JNE, 3, 0xffff)),
                ways: (abort_way(7), Some(verdict(20, 0))),
            },
            Cont {
                save: None,
                test: Some((op::JEQ, 0, -0x10000)),
                ways: (verdict(21, 3), Some(verdict(22, 4))),
            },
            Cont {
                save: None,
                test: Some((op::JNE, 0, 5)),
                ways: (verdict(23, 1), Some(verdict(24, 9))),
            },
        ],
        40,
    );
    plan.entry.moves = vec![(2, 0x10000), (3, 0xffff), (0, -0x10000), (1, 10)];
    let (prog, reason) = test_names();
    let names = Names {
        prog: &prog,
        reason: &reason,
    };
    let inst = listing(&plan, Some(&[3, 130, 131, 140]), &names);
    let want = "\
start: the copy of prog10 (the call at 1) first sets frame 1 up as the VM would (r0 = 0xffffffffffff0000, r1 = 10, r2 = 0x10000, r3 = 65535, r10 = the frame pointer, every other register 0)
calls: a path of this chain can make more than 16 program calls, so every hand-over counts them (the interpreter's limit, in the same place)
each call's copy of its program ends with this code instead of the return to the VM (r6 = the chain's registers in frame 1, r8 = ctx):
after the call at 1 (prog10):
    0: r1 = *(u64 *)(r6 + 0)      ; r1 = the chain's r0
    1: *(u64 *)(r6 + 48) = r1     ; r6 = r0
    2: r1 = *(u64 *)(r6 + 56)     ; r1 = the chain's r7
    3: r2 = 0x123456789abcdef0 ll
    5: if r1 == r2 goto +14       ; the chain's test: r7 == 0x123456789abcdef0
    6: r1 = 0x123456789abcdef0 ll
    8: *(u64 *)(r6 + 16) = r1     ; r2 = 0x123456789abcdef0
    9: *(u64 *)(r6 + 8) = 11      ; r1 = 11 (prog11)
   10: r1 = *(u32 *)(r7 + 8)      ; the program calls made so far
   11: if r1 >= 0x10 goto +20     ; 16 calls made already: the limit
   12: r1 += 1
   13: *(u32 *)(r7 + 8) = r1      ; one call more
   14: r1 = r8                    ; r1 = ctx, as a program expects at its start
   15: r2 = r9                    ; r2 = hvm_jit_map
   16: r3 = 130
   17: call bpf_tail_call         ; to the call at 3 (prog11) (slot 130)
   18: r0 = 9
   19: goto <abort>               ; abort: reason 9
   20: *(u64 *)(r6 + 32) = -65536 ; r4 = 0xffffffffffff0000
   21: *(u64 *)(r6 + 8) = 12      ; r1 = 12 (prog12)
   22: r1 = *(u32 *)(r7 + 8)      ; the program calls made so far
   23: if r1 >= 0x10 goto +8      ; 16 calls made already: the limit
   24: r1 += 1
   25: *(u32 *)(r7 + 8) = r1      ; one call more
   26: r1 = r8                    ; r1 = ctx, as a program expects at its start
   27: r2 = r9                    ; r2 = hvm_jit_map
   28: r3 = 131
   29: call bpf_tail_call         ; to the call at 5 (prog12) (slot 131)
   30: r0 = 9
   31: goto <abort>               ; abort: reason 9
   32: r0 = 12
   33: goto <abort>               ; abort: reason 12
after the call at 3 (prog11):
    0: r1 = *(u64 *)(r6 + 0)      ; r1 = the chain's r0
    1: *(u64 *)(r6 + 24) = r1     ; r3 = r0
    2: if r1 != 0xffff goto +2    ; the chain's test: r3 != 65535
    3: r0 = 7
    4: goto <abort>               ; abort: reason 7
    5: *(u64 *)(r6 + 24) = -5     ; r3 = -5
    6: r1 = *(u32 *)(r7 + 8)      ; the program calls made so far
    7: if r1 >= 0x10 goto +4      ; 16 calls made already: the limit
    8: r1 += 1
    9: *(u32 *)(r7 + 8) = r1      ; one call more
   10: r0 = 0
   11: exit                       ; XDP_ABORTED: the call of prog20 folded into this one
   12: r0 = 12
   13: goto <abort>               ; abort: reason 12
after the call at 5 (prog12):
    0: r1 = *(u64 *)(r6 + 0)      ; r1 = the chain's r0
    1: if r1 == 0xffff0000 goto +7 ; the chain's test: r0 == 0xffffffffffff0000
    2: *(u64 *)(r6 + 24) = -5     ; r3 = -5
    3: r1 = *(u32 *)(r7 + 8)      ; the program calls made so far
    4: if r1 >= 0x10 goto +11     ; 16 calls made already: the limit
    5: r1 += 1
    6: *(u32 *)(r7 + 8) = r1      ; one call more
    7: r0 = 3
    8: exit                       ; XDP_TX: the call of prog21 folded into this one
    9: *(u64 *)(r6 + 24) = -5     ; r3 = -5
   10: r1 = *(u32 *)(r7 + 8)      ; the program calls made so far
   11: if r1 >= 0x10 goto +4      ; 16 calls made already: the limit
   12: r1 += 1
   13: *(u32 *)(r7 + 8) = r1      ; one call more
   14: r0 = 4
   15: exit                       ; XDP_REDIRECT: the call of prog22 folded into this one
   16: r0 = 12
   17: goto <abort>               ; abort: reason 12
after the call at 7 (prog13):
    0: r1 = *(u64 *)(r6 + 0)      ; r1 = the chain's r0
    1: if r1 != 0x5 goto +7       ; the chain's test: r0 != 5
    2: *(u64 *)(r6 + 24) = -5     ; r3 = -5
    3: r1 = *(u32 *)(r7 + 8)      ; the program calls made so far
    4: if r1 >= 0x10 goto +11     ; 16 calls made already: the limit
    5: r1 += 1
    6: *(u32 *)(r7 + 8) = r1      ; one call more
    7: r0 = 1
    8: exit                       ; XDP_DROP: the call of prog23 folded into this one
    9: *(u64 *)(r6 + 24) = -5     ; r3 = -5
   10: r1 = *(u32 *)(r7 + 8)      ; the program calls made so far
   11: if r1 >= 0x10 goto +4      ; 16 calls made already: the limit
   12: r1 += 1
   13: *(u32 *)(r7 + 8) = r1      ; one call more
   14: r0 = 9
   15: exit                       ; action 9: the call of prog24 folded into this one
   16: r0 = 12
   17: goto <abort>               ; abort: reason 12";
    for (k, (got, want)) in inst.lines().zip(want.lines()).enumerate() {
        assert_eq!(got, want, "line {k} of\n{inst}");
    }
    assert_eq!(inst.lines().count(), want.lines().count(), "{inst}");
    // linked: site 0's calls jump straight on to the next site's code
    let linked = listing(&plan, None, &names);
    for want in [
        "   14: r1 = r8                    ; r1 = ctx, as a program expects at its start\n   \
         15: goto <3>                   ; straight on to the call at 3 (prog11)\n   \
         16: *(u64 *)(r6 + 32) = -65536 ; r4 = 0xffffffffffff0000",
        "   22: r1 = r8                    ; r1 = ctx, as a program expects at its start\n   \
         23: goto <5>                   ; straight on to the call at 5 (prog12)\n   \
         24: r0 = 12\n   \
         25: goto <abort>               ; abort: reason 12\nafter the call at 3 (prog11):",
    ] {
        assert!(linked.contains(want), "no {want:?} in\n{linked}");
    }
    // the hand-overs come in the chain's order, whatever the order of the sites
    let p = compile(ID, &branchy(), &NO_VERDICTS).unwrap();
    let text = listing(&p, None, &names);
    let at = |s: &str| {
        text.find(s)
            .unwrap_or_else(|| panic!("no {s:?} in\n{text}"))
    };
    assert!(at("after the call at 2 ") < at("after the call at 7 "));
    assert!(at("after the call at 7 ") < at("after the call at 9 "));
}

/// The edges of `link_slots_clear`: the floor itself, an address at the floor or at r10,
/// an `api.h` slot access with no `goto +0` before it (first of the code), an address whose
/// `+=` is not the register's own constant.
#[test]
fn the_link_slots_floor_is_exact() {
    use crate::asm::{alu, alu_r, ja, ldx, mov_r, stx};
    for ok in [
        vec![ldx(op::DW, 1, 10, LINK_STACK_FLOOR)],
        vec![mov_r(3, 10), alu(op::ADD, 3, LINK_STACK_FLOOR as i32)],
        vec![mov_r(3, 10), alu(op::ADD, 3, 0)],
        // not through r10
        vec![stx(op::DW, 1, -600, 2), mov_r(3, 1), alu(op::ADD, 3, -600)],
    ] {
        assert_eq!(link_slots_clear(&ok), Ok(()), "{ok:?}");
    }
    for bad in [
        vec![stx(op::DW, 10, LINK_CDATA_SLOT, 8)],
        vec![ldx(op::DW, 1, 10, LINK_STACK_FLOOR - 1)],
        vec![mov_r(3, 10), alu(op::ADD, 3, LINK_STACK_FLOOR as i32 - 1)],
        vec![mov_r(3, 10), alu(op::ADD, 3, 1)],
        vec![mov_r(3, 10), alu(op::ADD, 4, -8)],
        vec![mov_r(3, 10), alu_r(op::ADD, 3, 1)],
        vec![
            mov_r(3, 10),
            Insn::new(op::ALU64 | op::ADD | op::K, 3, 1, 0, -8),
        ],
        vec![ja(1), stx(op::DW, 10, LINK_CDATA_SLOT, 8)],
    ] {
        let r = link_slots_clear(&bad);
        assert!(r.is_err(), "{bad:?}");
    }
    assert_eq!(
        link_slots_clear(&[ja(0), ja(0), ldx(op::DW, 1, 10, -508)]),
        Err("instruction 2 reaches its stack at r10-508 (below -496)".into())
    );
    assert_eq!(
        link_slots_clear(&[ja(0), mov_r(3, 10)]),
        Err("instruction 1 takes a stack address it may use below -496".into())
    );
}

/// The most calls a packet can make, with a call site reached by two ways (counted once per
/// path: through the shorter way's memo, the longer way's count is still right).
#[test]
fn max_calls_follows_the_longest_path_through_a_shared_site() {
    let v = vec![
        mov(1, 5),
        call_n(0), // 1: site 0
        jop(op::JEQ, 0, 0, 2),
        mov(1, 6), // the fall-through way: straight to the call at 8
        asm::ja(2),
        mov(1, 7),
        call_n(0), // 6: the taken way's call, then the call at 8
        mov(1, 6),
        call_n(0), // 8
        exit(),
    ];
    crate::validate(&v).unwrap();
    let p = compile(ID, &v, &NO_VERDICTS).unwrap();
    assert_eq!(p.sites.len(), 3);
    assert_eq!(p.max_calls, 3);
}
