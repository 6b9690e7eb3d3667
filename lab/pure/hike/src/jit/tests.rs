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
