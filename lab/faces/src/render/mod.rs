//! Text for people: every typed result ([`Reply`]), every streamed [`Update`] and every
//! error, rendered once, here. The CLI prints it, the REPL prints it, the TUI's event log
//! shows it. (`--json` prints the values themselves.)

mod bench;
mod classroom;
mod cubes;
mod lab;
mod learn;

use eclat_model::cdiag::{self, CDiagnostic};
use eclat_service::modules::{BuildError, BuildReport, Rejected};
use eclat_service::scripts::CompileFailed;

use crate::commands::{Reply, Update};
pub use lab::{format_status, reset_brief};

/// `n` and the noun in the right number: "1 entry", "3 entries".
pub fn count_of(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A rate, the one way the lab writes one (`map watch`, the TUI's panels, traffic reports):
/// whole numbers from 10 up and for whole rates (`10/s`, `600/s`, `0/s`), one decimal below 10
/// (`2.5/s`); `unit` goes before `/s` (`202 pkt/s`) when it is not empty.
pub fn rate(per_s: f64, unit: &str) -> String {
    let unit = if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    };
    let tenths = (per_s * 10.0).round();
    if tenths.abs() < 100.0 && tenths % 10.0 != 0.0 {
        format!("{:.1}{unit}/s", tenths / 10.0)
    } else {
        // 0.04 and -0.04 are both 0
        format!("{:.0}{unit}/s", per_s.round() + 0.0)
    }
}

/// The text of a command's result.
pub fn reply(r: &Reply) -> String {
    use Reply::*;
    match r {
        Doctor(d) => lab::doctor(d),
        TopoUp(u) => lab::topo_up(u),
        TopoDown(d) => lab::topo_down(d),
        TopoStatus(s) => format_status(s),
        TopoList(l) => lab::topo_list(l),
        TopoDraw(d) => match &d.written {
            Some(f) => format!(
                "wrote {f}: topology {} ({}: {} nodes, {} links) as SVG, {} bytes",
                d.drawing.topology,
                d.drawing.source,
                d.drawing.nodes,
                d.drawing.links,
                d.drawing.svg.len()
            ),
            None => d.drawing.svg.trim_end().to_string(),
        },
        Exec(e) => lab::exec(e),
        Traffic(t) => lab::traffic(t),
        XdpLoad(x) => lab::xdp_load(x),
        XdpAttach(a) => lab::xdp_attach(a),
        XdpDetach(d) => format!("detached {} from {}:{}", d.program, d.node, d.dev),
        XdpUnload(u) => lab::xdp_unload(u),
        XdpList(l) => lab::xdp_list(l),
        CubeAdd(a) => cubes::add(a),
        CubeConnect(c) => cubes::connect(c),
        CubeDisconnect(d) => cubes::disconnect(d),
        CubeDel(d) => cubes::del(d),
        CubeShow(l) => cubes::show(l),
        CubeGraph(g) => match (&g.written, &g.graph.svg) {
            (Some(f), Some(svg)) => format!(
                "wrote {f}: the graph of {} cube(s) as SVG, {} bytes",
                g.graph.cubes.len(),
                svg.len()
            ),
            (None, Some(svg)) => svg.trim_end().to_string(),
            _ => cubes::graph(&g.graph),
        },
        MapList(m) => lab::map_list(m),
        MapDump(d) => lab::map_dump(d),
        MapWatch(w) => lab::watch_end(w),
        MapSet(s) => lab::map_set(s),
        MapDelete(d) => lab::map_delete(d),
        MapClear(c) => lab::map_clear(c),
        ModuleBuild(b) => build(b),
        ModuleLoad(m) => learn::module_load(m),
        ModuleUnload(u) => learn::module_unload(u),
        ModuleList(l) => learn::module_list(l),
        Compile(c) => learn::compile(c),
        Load(l) => learn::load(l),
        Unload(u) => learn::unload(u),
        Test(t) => learn::test(t),
        ChainList(c) => learn::chain_list(c),
        ChainDis(d) => learn::chain_dis(d),
        ChainDraw(d) => match &d.written {
            Some(f) => format!(
                "wrote {f}: {} of chain {} of {} as SVG, {} bytes",
                if d.drawing.figure == "path" {
                    "the packet path"
                } else {
                    "the compiled form"
                },
                d.drawing.chain,
                d.drawing.script,
                d.drawing.svg.len()
            ),
            None => d.drawing.svg.trim_end().to_string(),
        },
        ChainTrace(t) => learn::trace_end(t),
        DevCheck(d) => learn::dev_check(d),
        DevReference(v) => serde_json::to_string_pretty(v).unwrap_or_default(),
        LessonList(l) => learn::lesson_list(l),
        LessonShow(s) => learn::lesson_show(s),
        LessonCheck(c) => learn::with_picked(learn::check(&c.report), c.picked.as_ref()),
        LessonSolve(s) => learn::with_picked(
            format!(
                "put the reference solution in {} (your version is in {})\n{}",
                s.file,
                s.backup,
                learn::check(&s.check)
            ),
            s.picked.as_ref(),
        ),
        LessonHint(h) => learn::with_picked(
            format!("hint {}/{} for {}: {}", h.hint, h.of, h.exercise, h.text),
            h.picked.as_ref(),
        ),
        LessonReset(r) => learn::with_picked(
            format!(
                "{} is the starter again (your version: {})",
                r.file, r.backup
            ),
            r.picked.as_ref(),
        ),
        LessonSolution(s) => s.solution.clone(),
        Reset(r) => lab::reset(r),
        ClassroomUp(u) => classroom::up(u),
        ClassroomDown(d) => classroom::down(d),
        ClassroomStatus(c) => classroom::status(c),
        ClassroomVmsUp(u) => classroom::vms_up(u),
        ClassroomVmsDown(d) => classroom::vms_down(d),
        Bench(b) => bench::report(b),
    }
}

/// The text of something a long command streamed.
pub fn update(u: &Update) -> String {
    match u {
        Update::Frame(f) => lab::watch_frame(f),
        Update::Trace(t) => learn::trace_item(t),
        Update::Progress { progress } => progress.clone(),
        Update::Output { line } => line.clone(),
    }
}

/// What `module build` found: clang's time and warnings (as `lesson check` shows a C file's
/// diagnostics: in clang's layout, with what to do), each program's verdict, and a rejection
/// explained as a diagnostic at its C line (the program, the instruction, what to do), with
/// the end of the verifier log.
pub fn build(rep: &BuildReport) -> String {
    let mut s = format!(
        "compiled {} -> {} in {:.0} ms\n",
        rep.source, rep.object, rep.clang_ms
    );
    let warnings = rep.clang_warnings();
    if !warnings.is_empty() {
        s.push_str(&cdiag::render(&warnings));
        s.push('\n');
    } else if !rep.warnings.trim().is_empty() {
        s.push_str(rep.warnings.trim_end());
        s.push('\n');
    }
    if rep.programs.is_empty() {
        s.push_str(
            "the object holds no program (is `SEC(\"xdp\")` missing? In a HIKe module, \
             `EXPORT_HIKE_PROG(name)` writes it)\n",
        );
    }
    for p in &rep.programs {
        if p.accepted {
            s.push_str(&format!(
                "verifier: {} accepted in {:.1} ms ({} instructions after verification)\n",
                p.name,
                p.verify_ms,
                p.insns.map(|n| n.to_string()).unwrap_or_else(|| "?".into())
            ));
        } else {
            s.push_str(&format!("verifier: {} REJECTED\n", p.name));
            let diag = rep
                .diagnostics
                .iter()
                .find(|d| d.program.as_deref() == Some(p.name.as_str()));
            match (diag, &p.explanation) {
                (Some(d), _) => {
                    s.push_str(&format!("{}\n", cdiag::render(std::slice::from_ref(d))))
                }
                (None, Some(e)) => s.push_str(&format!("{}\n", e.render())),
                (None, None) => {
                    s.push_str(&format!("{}\n", p.log.as_deref().unwrap_or("(no log)")))
                }
            }
            if let Some(log) = &p.log {
                let tail: Vec<&str> = log.lines().rev().take(8).collect();
                s.push_str("  end of the verifier log:\n");
                for l in tail.into_iter().rev() {
                    s.push_str(&format!("    {l}\n"));
                }
            }
        }
    }
    s.trim_end().to_string()
}

/// The text of an error: a rejected build shows the verifier's explanation, a script that
/// does not compile its diagnostics under the source, anything else its chain of causes.
/// A progress file whose bad fields were dropped (the rest kept, the old file beside it).
pub fn progress_repaired(dropped: &[String]) -> String {
    let mut s = String::from(
        "note: your progress file had fields that do not parse; the rest is kept. Dropped:",
    );
    for d in dropped {
        s.push_str(&format!("\n  - {d}"));
    }
    s
}

pub fn error(e: &anyhow::Error) -> String {
    for c in e.chain() {
        if let Some(r) = c.downcast_ref::<Rejected>() {
            return build(&r.0);
        }
        if let Some(f) = c.downcast_ref::<CompileFailed>() {
            return f.rendered.clone();
        }
        if let Some(BuildError::Compile {
            file,
            stderr,
            diagnostics,
        }) = c.downcast_ref::<BuildError>()
        {
            // clang's refusal as `lesson check` shows it; what the lab cannot read as
            // diagnostics (no error among them), clang's own words
            let body = if diagnostics.iter().any(CDiagnostic::is_error) {
                cdiag::render(diagnostics)
            } else {
                stderr.trim_end().to_string()
            };
            return format!("{file} does not compile:\n{body}");
        }
    }
    format!("{e:#}")
}

/// An error as a line for people: `error: TEXT`, except a compiler's report, whose first line
/// says it already (`[syntax] Error: expected ...`; it read `error: [syntax] Error: ...`).
pub fn error_message(text: &str) -> String {
    if is_report(text) {
        text.to_string()
    } else {
        format!("error: {text}")
    }
}

/// Does `text` start as the compiler's reports do (`[code] Error: `, or `Error: `)?
fn is_report(text: &str) -> bool {
    let first = text.lines().next().unwrap_or_default();
    first.starts_with("Error: ")
        || first.strip_prefix('[').is_some_and(|r| {
            r.split_once("] ").is_some_and(|(code, rest)| {
                !code.is_empty()
                    && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && rest.starts_with("Error: ")
            })
        })
}

/// The JSON of an error: `{"error": text}`, with the structured diagnostics of a script that
/// does not compile and the report of a rejected build.
pub fn error_json(e: &anyhow::Error) -> serde_json::Value {
    let mut v = serde_json::json!({ "error": error(e) });
    for c in e.chain() {
        if let Some(f) = c.downcast_ref::<CompileFailed>() {
            v["file"] = serde_json::json!(f.file);
            v["diagnostics"] = serde_json::to_value(&f.diagnostics).unwrap_or_default();
        }
        if let Some(r) = c.downcast_ref::<Rejected>() {
            v["build"] = serde_json::to_value(&*r.0).unwrap_or_default();
        }
        if let Some(BuildError::Compile {
            file, diagnostics, ..
        }) = c.downcast_ref::<BuildError>()
        {
            v["file"] = serde_json::json!(file);
            v["diagnostics"] = serde_json::to_value(diagnostics).unwrap_or_default();
        }
        if eclat_service::is_stopped(e) {
            v["stopped"] = serde_json::json!(true);
        }
    }
    v
}

/// Rows as a table: each column as wide as its widest cell (in terminal columns), two
/// spaces between columns, no padding after the last. Names and titles of any length stay
/// aligned (a fixed `{:<36}` does not once one is longer).
pub fn columns(rows: &[Vec<String>]) -> String {
    use unicode_width::UnicodeWidthStr;
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.width())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|r| {
            let mut line = String::new();
            for (c, cell) in r.iter().enumerate() {
                if c + 1 == r.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(widths[c] - cell.width() + 2));
                }
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compile error's report says `Error:` itself: it is not prefixed with a second
    /// `error:` (`error: [syntax] Error: expected ...`); any other error is.
    #[test]
    fn a_compilers_report_gets_no_second_error_prefix() {
        let src = "from programs.hike_default import hike_pass\ndef c():\n    hike_pas()\n";
        let c = eclat::compile(src, "t.eclat", &hike::catalog::Catalog::reference(), &[]);
        let report = c.render(src, "t.eclat", false);
        assert!(report.starts_with("[unknown-function] Error: "), "{report}");
        assert_eq!(error_message(&report), report);
        assert_eq!(
            error_message("no topology is up"),
            "error: no topology is up"
        );
        assert_eq!(
            error_message("[not a report] of anything"),
            "error: [not a report] of anything"
        );
    }

    /// One rule for every rate: `10/s` is never also `10.0/s` elsewhere.
    #[test]
    fn rates_are_written_one_way() {
        let r = |v: f64| rate(v, "");
        assert_eq!(r(10.0), "10/s");
        assert_eq!(r(9.96), "10/s", "rounds to 10: a whole number, like 10");
        assert_eq!(r(600.4), "600/s");
        assert_eq!(r(2.5), "2.5/s");
        assert_eq!(r(0.26), "0.3/s");
        assert_eq!(r(3.0), "3/s");
        assert_eq!(r(0.0), "0/s");
        assert_eq!(r(0.04), "0/s");
        assert_eq!(r(-0.04), "0/s");
        assert_eq!(rate(201.7, "pkt"), "202 pkt/s");
    }
}
