//! One trace vocabulary (`hike::trace`): the kernel VM's `hvm_trace` events and the reference
//! interpreter's are the same records. Each chain below runs in the kernel with the trace on
//! and in `hike::vm` with the models of the same programs in the same slots; the events must be
//! equal field by field (the timestamp aside), aborts with their reasons included.

mod support;

use eclat_kernel::hike::asm::{call_with, exit, ldx, mov};
use eclat_kernel::hike::bench::{REGISTERED, Setup, ids};
use eclat_kernel::hike::packet::bench_frame;
use hike::insn::op;
use hike::trace::{AbortReason, TraceEvent, TraceKind};
use hike::vm::models::{self, Models};
use hike::{Insn, XdpAction};
use support::*;

const B: u32 = A + 1;

/// Stored chains: (ID, bytecode), the entry first.
type Chains = Vec<(u32, Vec<Insn>)>;

/// The reference interpreter's run of chains `chains` (entry `A`) on `frame`.
fn reference(chains: &[(u32, Vec<Insn>)], frame: &[u8]) -> (XdpAction, Vec<TraceEvent>) {
    let mut m = Models::new();
    for (_, name, id) in REGISTERED {
        m.register(*id, name);
    }
    let mut shm = vec![0u8; 4096];
    models::fill_pkt_info(frame, &mut shm);
    let out = hike::vm::run(chains, &mut m, A, frame.to_vec(), &mut shm);
    (out.verdict, out.trace)
}

fn without_time(mut v: Vec<TraceEvent>) -> Vec<TraceEvent> {
    for e in &mut v {
        e.ts_ns = 0;
    }
    v
}

#[test]
fn the_kernel_and_the_reference_trace_the_same_events() {
    let mut s = setup();
    let mut reader = s.hike.trace_reader().unwrap();
    let frame = bench_frame();
    let nested = {
        let mut b = vec![mov(0, 5)];
        b.push(exit());
        b
    };
    let mut calls_b = call_with(B, &[2, 3]);
    calls_b.extend(call_with(ids::MONITOR, &[9]));
    calls_b.extend(call_with(ids::HIKE_PASS, &[]));
    calls_b.push(exit());
    let mut monitor_pass = call_with(ids::MONITOR, &[4]);
    monitor_pass.extend(call_with(ids::HIKE_PASS, &[]));
    monitor_pass.push(exit());
    let cases: Vec<(&str, Chains, AbortReasonOr)> = vec![
        (
            "a program call, then a verdict",
            vec![(A, monitor_pass)],
            Verdict(XdpAction::Pass),
        ),
        (
            "a nested chain with arguments",
            vec![(A, calls_b), (B, nested.clone())],
            Verdict(XdpAction::Pass),
        ),
        (
            "no verdict: drop by default",
            vec![(A, vec![mov(0, 7), exit()])],
            Aborts(AbortReason::Bootstrap),
        ),
        (
            "a read past the packet",
            vec![(A, vec![mov(3, PKT), ldx(op::W, 2, 3, 4000), exit()])],
            Aborts(AbortReason::Mem),
        ),
        (
            "an empty program slot",
            vec![(A, {
                let mut c = call_with(200, &[]);
                c.push(exit());
                c
            })],
            Aborts(AbortReason::NoProg),
        ),
        (
            "64 instructions without a program call",
            vec![(
                A,
                vec![mov(0, 0), Insn::new(op::JMP | op::JA, 0, 0, -2, 0), exit()],
            )],
            Aborts(AbortReason::Budget),
        ),
        (
            "chains nested deeper than the frames",
            vec![(A, {
                let mut c = call_with(A, &[]);
                c.push(exit());
                c
            })],
            Aborts(AbortReason::Depth),
        ),
        (
            "fifteen program calls, then a verdict",
            vec![(A, {
                let mut c = Vec::new();
                for i in 0..15 {
                    c.extend(call_with(ids::MONITOR, &[i]));
                }
                c.extend(call_with(ids::HIKE_PASS, &[]));
                c.push(exit());
                c
            })],
            Verdict(XdpAction::Pass),
        ),
        (
            "a call of a chain that is not stored",
            vec![(A, {
                let mut c = call_with(A + 40, &[]);
                c.push(exit());
                c
            })],
            Aborts(AbortReason::NoChain),
        ),
        (
            "program ID 0",
            vec![(A, {
                let mut c = call_with(0, &[]);
                c.push(exit());
                c
            })],
            Aborts(AbortReason::ProgId),
        ),
    ];
    for (what, chains, want) in cases {
        for (id, insns) in &chains {
            s.hike.store_chain(*id, insns).unwrap();
        }
        s.classify_to(A, &chains[0].1).unwrap();
        let before = counted(&s);
        s.hike.set_trace(true).unwrap();
        let out = s.run(&frame).unwrap();
        s.hike.set_trace(false).unwrap();
        let kernel = without_time(reader.drain());
        let (verdict, trace) = reference(&chains, &frame);
        assert_eq!(out.action(), Some(verdict), "{what}: verdicts");
        assert_eq!(kernel, trace, "{what}: traces");
        let newly = counted(&s) - before;
        match want {
            Verdict(v) => {
                assert_eq!(verdict, v, "{what}");
                assert_eq!(newly, 0, "{what}: no abort counted");
            }
            Aborts(r) => {
                let last = trace.last().unwrap();
                assert_eq!(
                    (last.kind, last.reason),
                    (TraceKind::Abort, Some(r)),
                    "{what}"
                );
                assert_eq!(newly, 1, "{what}: one abort counted");
            }
        }
    }
}

/// The reason a reference run aborts with is the one the kernel counts (`hvm_stats`), the
/// 17th program call included. (Run without the trace: with it on, a compiled chain's entry
/// spends one more tail call to reach the VM, so a 16th program call that continues the chain
/// cannot return to it, and the packet is aborted without a reason counted.)
#[test]
fn the_kernel_counts_the_reference_abort_reasons() {
    let mut s = setup();
    let frame = bench_frame();
    let mut seventeen = Vec::new();
    for i in 0..17 {
        seventeen.extend(call_with(ids::MONITOR, &[i]));
    }
    seventeen.push(exit());
    let mut empty_slot = call_with(200, &[]);
    empty_slot.push(exit());
    for chain in [seventeen, empty_slot, vec![mov(0, 7), exit()]] {
        s.classify_to(A, &chain).unwrap();
        let (verdict, trace) = reference(&[(A, chain.clone())], &frame);
        let reason = trace
            .last()
            .and_then(|e| e.reason)
            .expect("the reference aborts");
        let before = aborts(&s, reason);
        assert_eq!(s.run(&frame).unwrap().action(), Some(verdict));
        assert_eq!(aborts(&s, reason), before + 1, "{reason:?}");
    }
}

/// Every abort the kernel counted, all reasons together.
fn counted(s: &Setup) -> u64 {
    s.hike.abort_stats().unwrap().iter().map(|(_, n)| n).sum()
}

fn aborts(s: &Setup, reason: AbortReason) -> u64 {
    s.hike
        .abort_stats()
        .unwrap()
        .into_iter()
        .find(|(r, _)| *r == reason)
        .map_or(0, |(_, n)| n)
}

enum AbortReasonOr {
    Verdict(XdpAction),
    Aborts(AbortReason),
}
use AbortReasonOr::*;
