//! The oracle of the fuzzers (the property test `tests/fuzz.rs` and the coverage-guided
//! targets in `lab/pure/fuzz`): what must hold for any input. Not part of the compiler's API.

use crate::Program;
use hike::catalog::Catalog;
use hike::vm::{Abort, Outcome};

/// A program slot no model fills: calling a program without a model aborts (MissingProgram).
const EMPTY_SLOT: u32 = 250;

/// Compiles `src` against `catalog` and checks everything that must hold whatever the input:
/// every span within the source, a message on every diagnostic, output exactly when there is
/// no error, rendering without a panic; and for a program, its views, its link, each chain
/// through the store-time check and the reference VM within the VM's limits.
pub fn check(src: &str, catalog: &Catalog) -> Result<(), String> {
    let defines = vec![("DEVNAME".to_string(), "veth0".to_string())];
    let c = crate::compile(src, "fuzz.eclat", catalog, &defines);
    for d in &c.diagnostics {
        let spans = std::iter::once(d.span).chain(d.labels.iter().map(|l| l.span));
        for s in spans {
            if s.start > s.end || s.end > src.len() {
                return Err(format!("span {s:?} outside 0..{}", src.len()));
            }
        }
        if d.message.is_empty() {
            return Err(format!("an empty message for {}", d.code));
        }
    }
    if c.output.is_some() == c.has_errors() {
        return Err(format!(
            "output {} with errors {}",
            c.output.is_some(),
            c.has_errors()
        ));
    }
    let _ = c.render(src, "fuzz.eclat", false);
    places_within_the_file(src, &c.report(src, "fuzz.eclat"))?;
    match &c.output {
        Some(p) => run_program(p).map_err(|m| format!("{m}\n{}", p.emit_asm())),
        None => Ok(()),
    }
}

/// Every place of a report is on a line of the file (never on a line after the last one, for a
/// file that ends with a newline) and at most just after that line's last character.
fn places_within_the_file(src: &str, report: &crate::CompileReport) -> Result<(), String> {
    let lines: Vec<&str> = src.split('\n').collect();
    // a final newline ends the last line; it does not start another one
    let last = if src.ends_with('\n') && lines.len() > 1 {
        lines.len() - 1
    } else {
        lines.len()
    };
    for d in &report.diagnostics {
        let places = std::iter::once(&d.span).chain(d.labels.iter().map(|l| &l.span));
        for p in places {
            for (line, col) in [(p.line, p.col), (p.end_line, p.end_col)] {
                let width = lines.get(line.wrapping_sub(1)).map(|l| l.chars().count());
                match width {
                    Some(w) if line <= last && col >= 1 && col <= w + 1 => {}
                    _ => {
                        return Err(format!(
                            "{}: {line}:{col} is not in the file ({last} lines)",
                            d.code
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Links `p` with the models' program IDs and runs every chain on a packet.
fn run_program(p: &Program) -> Result<(), String> {
    let _ = p.emit_asm();
    let _ = p.emit_c();
    let (mut models, ids) = hike::vm::models::Models::with_all();
    let linked = p
        .link_default(&|_, n| {
            Some(
                ids.iter()
                    .find(|(m, _)| *m == n)
                    .map_or(EMPTY_SLOT, |(_, i)| *i),
            )
        })
        .map_err(|e| format!("link: {e}"))?;
    for ch in &linked.chains {
        hike::validate(&ch.insns).map_err(|e| format!("chain {}: {e}", ch.name))?;
    }
    let chains: Vec<(u32, Vec<hike::Insn>)> = linked
        .chains
        .iter()
        .map(|c| (c.id, c.insns.clone()))
        .collect();
    for (id, _) in &chains {
        let pkt = hike::vm::models::ipv6_udp_frame([1; 16], [2; 16], 1, 2, b"payload");
        let len = pkt.len();
        let mut shm = vec![0u8; 4096];
        hike::vm::models::fill_pkt_info(&pkt, &mut shm);
        let out = hike::vm::run(&chains[..], &mut models, *id, pkt, &mut shm);
        vm_invariants(&out, len)?;
    }
    Ok(())
}

/// What any run of compiled chains must respect: the VM's limits, a packet of the same length,
/// an abort only for a reason a well-formed, linked chain can meet, and its trace ending with
/// that reason.
fn vm_invariants(out: &Outcome, len: usize) -> Result<(), String> {
    if out.program_calls > hike::MAX_PROGRAM_CALLS {
        return Err(format!("{} program calls", out.program_calls));
    }
    let most = hike::BURST_BUDGET as u64 * (hike::MAX_PROGRAM_CALLS as u64 + 1);
    if out.insns_executed > most {
        return Err(format!("{} instructions interpreted", out.insns_executed));
    }
    if out.packet.len() != len {
        return Err(format!(
            "the packet went from {len} to {} bytes",
            out.packet.len()
        ));
    }
    let Some(a) = out.abort else {
        return match out.verdict {
            hike::XdpAction::Aborted => Err("ABORTED without an abort".into()),
            _ => Ok(()),
        };
    };
    if out.verdict != hike::XdpAction::Aborted {
        return Err(format!("{:?} after an abort {a:?}", out.verdict));
    }
    match a {
        Abort::ReturnedToBootstrap { .. }
        | Abort::BudgetExhausted { .. }
        | Abort::TooManyProgramCalls { .. }
        | Abort::DepthExceeded { .. }
        | Abort::MemFault { .. }
        | Abort::MissingProgram { .. } => {}
        // the compiler's output is well-formed and linked: none of these may happen
        other => return Err(format!("a compiled chain aborted with {other:?}")),
    }
    match out.trace.last() {
        Some(e) if e.reason == Some(a.reason()) => Ok(()),
        other => Err(format!(
            "the trace ends with {other:?}, not the abort {a:?}"
        )),
    }
}
