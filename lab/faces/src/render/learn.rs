//! Text of the HIKe and course commands: modules, scripts, chains, the trace, lessons,
//! checks, dev check.

use eclat_course::CheckReport;
use eclat_course::devcheck::DevReport;
use eclat_kernel::hike::tier::Tier;
use eclat_service::chains::ChainDis;
use eclat_service::modules::{ModuleList, ModuleLoaded, ModuleUnloaded};
use eclat_service::scripts::{LoadReport, UnloadReport};
use eclat_service::store::ChainState;
use eclat_service::trace::{TraceItem, TraceSummary};

use crate::commands::{Chains, CompileReply, LessonText, Lessons, Picked, Tested};

pub fn module_load(m: &ModuleLoaded) -> String {
    let loads: Vec<String> = m
        .loads
        .iter()
        .map(|l| format!("{} verified in {:.1} ms", l.program, l.verify_ms))
        .collect();
    match &m.object {
        // a learner's module: every program of it, and how to import them
        Some(o) => {
            let ids: Vec<String> = m
                .programs
                .iter()
                .map(|(k, id)| format!("{k} = program ID {id}"))
                .collect();
            let names: Vec<&str> = m
                .programs
                .iter()
                .map(|(k, _)| k.rsplit('.').next().unwrap_or(k))
                .collect();
            format!(
                "loaded {o} in {:.0} ms: {}\nimport it with: from programs.{} import {}",
                m.elapsed_ms,
                ids.join(", "),
                m.package,
                names.join(", ")
            )
        }
        None => {
            let ids: Vec<String> = m
                .programs
                .iter()
                .map(|(k, id)| format!("{k} is program ID {id}"))
                .collect();
            format!(
                "{}{}",
                ids.join(", "),
                if loads.is_empty() {
                    " (already loaded)".to_string()
                } else {
                    format!(" ({}; {:.0} ms in all)", loads.join(", "), m.elapsed_ms)
                }
            )
        }
    }
}

/// `freed program IDs a.x=3 a.y=4`, or for many, `freed 250 program IDs: 1-250`.
fn freed(freed: &[(String, u32)]) -> String {
    if freed.len() <= 8 {
        let v: Vec<String> = freed.iter().map(|(k, id)| format!("{k}={id}")).collect();
        return format!("freed program IDs {}", v.join(" "));
    }
    let mut ids: Vec<u32> = freed.iter().map(|(_, id)| *id).collect();
    ids.sort();
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for id in ids {
        match ranges.last_mut() {
            Some((_, hi)) if *hi + 1 == id => *hi = id,
            _ => ranges.push((id, id)),
        }
    }
    let r: Vec<String> = ranges
        .iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    format!("freed {} program IDs: {}", freed.len(), r.join(", "))
}

pub fn module_unload(u: &ModuleUnloaded) -> String {
    format!(
        "unloaded {}: {}{}",
        u.what,
        if u.freed.is_empty() {
            "no program ID was assigned".to_string()
        } else {
            freed(&u.freed)
        },
        if u.unpinned > 0 {
            format!("; removed {} pin(s) of its programs and maps", u.unpinned)
        } else {
            String::new()
        }
    )
}

pub fn module_list(l: &ModuleList) -> String {
    // the first column is the program's ID in the lab's program array; `-` = not registered
    let mut s = format!(
        "{:<4} {:<37} {}\n",
        "ID", "program (eCLAT import path)", "(arguments) and whether it ends the chain"
    );
    for p in &l.programs {
        s.push_str(&format!(
            "{:<4} programs.{:<28} ({}) {}{}\n",
            p.id.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
            p.program,
            p.params.join(", "),
            if p.is_final { "final" } else { "continues" },
            if p.learner { "  [your module]" } else { "" }
        ));
    }
    s.push_str(
        "     loaders (attached by a script's `attach`), with the maps that pick a chain:\n",
    );
    for l in &l.loaders {
        s.push_str(&format!(
            "     loaders.{}  maps: {}\n",
            l.loader,
            l.maps.join(", ")
        ));
    }
    s.trim_end().to_string()
}

pub fn compile(c: &CompileReply) -> String {
    let mut text = String::new();
    if !c.warnings.trim().is_empty() {
        text.push_str(c.warnings.trim_end());
        text.push('\n');
    }
    match &c.emitted {
        Some(e) => text.push_str(e),
        None => {
            for ch in &c.chains {
                text.push_str(&format!(
                    "chain {}: {} instruction slots\n",
                    ch.name, ch.insns
                ));
            }
            text.push_str(&format!(
                "compiled in {:.0} us ({} map entries, {} attach requests)",
                c.compile_us, c.map_entries, c.attach
            ));
        }
    }
    text.trim_end().to_string()
}

pub fn load(r: &LoadReport) -> String {
    let mut text = String::new();
    if !r.warnings.trim().is_empty() {
        text.push_str(r.warnings.trim_end());
        text.push('\n');
    }
    text.push_str(&format!(
        "{} {} in {:.1} ms: chains {}; programs {}{}",
        if r.replaced { "reloaded" } else { "loaded" },
        r.script,
        r.elapsed_ms,
        r.chains
            .iter()
            .map(|(n, id)| format!("{n}={id:#x}"))
            .collect::<Vec<_>>()
            .join(", "),
        r.programs
            .iter()
            .map(|(n, id)| format!("{n}={id}"))
            .collect::<Vec<_>>()
            .join(", "),
        if r.attached.is_empty() {
            String::new()
        } else {
            format!("; attached {}", r.attached.join(", "))
        }
    ));
    for d in &r.displaced {
        text.push_str(&format!(
            "\n  took over the loader entries of {d}: it is displaced until this script is \
             unloaded (then it gets them back)"
        ));
    }
    for (name, tier) in &r.tiers {
        if let Tier::Interpreted { why } = tier {
            text.push_str(&format!("\n  chain {name} runs interpreted: {why}"));
        }
    }
    let compiled = r
        .tiers
        .iter()
        .filter(|(_, t)| matches!(t, Tier::Compiled { .. }))
        .count();
    if compiled > 0 {
        text.push_str(&format!(
            "\n  {compiled} of {} chain(s) compiled: each program goes straight on to the next, \
             no interpreter (`chain list` shows how each runs, `chain dis` what the compiler \
             wrote)",
            r.tiers.len()
        ));
    }
    text
}

pub fn unload(u: &UnloadReport) -> String {
    let mut s = format!(
        "unloaded {}: deleted {} chain(s), {} loader entr{}",
        u.script,
        u.chains,
        u.entries,
        if u.entries == 1 { "y" } else { "ies" }
    );
    if !u.freed.is_empty() {
        s.push_str(&format!(", {}", freed(&u.freed)));
    }
    if !u.detached.is_empty() {
        s.push_str(&format!(", detached {}", u.detached.join(", ")));
    }
    for r in &u.restored {
        s.push_str(&format!("\n  {r} gets its loader entries back"));
    }
    for r in &u.reattached {
        s.push_str(&format!("\n  attached again: {r}"));
    }
    s
}

pub fn test(t: &Tested) -> String {
    let mut s = String::new();
    if let Some(c) = &t.chain {
        s.push_str(&format!("chain {c}, run directly (no loader):\n"));
    }
    for (i, r) in t.packets.iter().enumerate() {
        s.push_str(&format!(
            "packet {} `{}`: {}  ({} ns)\n",
            i + 1,
            r.packet,
            r.verdict,
            r.duration_ns
        ));
        for l in &r.trace {
            s.push_str(&format!("    {l}\n"));
        }
        for c in &r.map_changes {
            s.push_str(&format!(
                "    map {}[{}]: {} -> {}\n",
                c.map, c.key, c.before, c.after
            ));
        }
        // a dropped or aborted frame goes nowhere: what it held is in `--json` only
        let sent = !matches!(r.verdict.as_str(), "DROP" | "ABORTED");
        if sent && r.frame_changes.is_empty() {
            s.push_str(&format!(
                "    frame out: unchanged ({} bytes)\n",
                r.output.len()
            ));
        }
        for c in r.frame_changes.iter().filter(|_| sent) {
            s.push_str(&format!(
                "    frame out: {} {} -> {}\n",
                c.field, c.before, c.after
            ));
        }
        if sent {
            s.push_str(&frame_bytes(&r.input, &r.output));
        }
    }
    s.trim_end().to_string()
}

/// At most this many rows of a frame's bytes in `test`'s text (`--json` has both frames).
const BYTE_ROWS: usize = 8;

/// The bytes a program changed in a frame: the rows of a hex dump where the frame given and
/// the frame left differ (16 bytes a row, at its offset in hex), the frame given's row above
/// the frame left's, `^^` under each byte that differs; the lengths when they differ; nothing
/// when the frame left as it came.
fn frame_bytes(input: &[u8], output: &[u8]) -> String {
    use eclat_model::frame::{ROW, RowBytes, byte_diff};
    let rows = byte_diff(input, output);
    if rows.is_empty() {
        return String::new();
    }
    let mut s = String::new();
    if input.len() != output.len() {
        s.push_str(&format!(
            "    frame out: {} bytes (given: {})\n",
            output.len(),
            input.len()
        ));
    }
    s.push_str("    bytes changed (in above out, ^^ under each byte that differs):\n");
    // a byte's two digits, or blanks where the frame has ended; a space between the halves
    let cells = |b: &RowBytes, cell: &dyn Fn(usize, Option<u8>) -> String| -> String {
        let mut line = String::new();
        for (i, x) in b.iter().enumerate() {
            if i > 0 {
                line.push_str(if i == ROW / 2 { "  " } else { " " });
            }
            line.push_str(&cell(i, *x));
        }
        line.trim_end().to_string()
    };
    let hex = |_: usize, x: Option<u8>| x.map(|x| format!("{x:02x}")).unwrap_or("  ".into());
    for r in rows.iter().take(BYTE_ROWS) {
        let marks = cells(&r.before, &|i, _| {
            if r.differs(i) { "^^" } else { "  " }.to_string()
        });
        s.push_str(&format!(
            "      {:04x} in   {}\n",
            r.offset,
            cells(&r.before, &hex)
        ));
        s.push_str(&format!("           out  {}\n", cells(&r.after, &hex)));
        s.push_str(&format!("                {marks}\n"));
    }
    if rows.len() > BYTE_ROWS {
        s.push_str(&format!(
            "      ... {} more rows differ (`--json` has both frames: `input`, `output`)\n",
            rows.len() - BYTE_ROWS
        ));
    }
    s
}

pub fn chain_list(c: &Chains) -> String {
    if c.chains.is_empty() {
        return "no chain is stored (load a script: `eclat-lab load SCRIPT.eclat`)".into();
    }
    c.chains
        .iter()
        .map(|r| {
            let name = match (&r.name, &r.script, r.state) {
                (Some(n), Some(s), Some(state)) => format!(
                    "{n} ({s}{})",
                    match state {
                        ChainState::Loaded => "",
                        ChainState::Installing => ", being installed: a load was interrupted",
                        ChainState::Unloading => ", being unloaded: an unload was interrupted",
                        ChainState::Displaced => {
                            ", displaced: another script took its loader entries or its \
                             interface over with --replace; it gets them back when that one is \
                             unloaded"
                        }
                    }
                ),
                _ => "(stored by hand)".into(),
            };
            format!(
                "{:#x}  {:>2} insns  {}  [{}]",
                r.id,
                r.insns,
                name,
                r.tier.summary()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn chain_dis(d: &ChainDis) -> String {
    let mut s = format!("chain {:#x} ({} instruction slots)\n", d.id, d.insns);
    for l in &d.listing {
        s.push_str(l);
        s.push('\n');
    }
    s.push('\n');
    s.push_str(&d.compiled);
    s.trim_end().to_string()
}

pub fn trace_item(t: &TraceItem) -> String {
    match t {
        TraceItem::Event { line, .. } => line.clone(),
        TraceItem::Status { status } => format!("({status})"),
    }
}

pub fn trace_end(t: &TraceSummary) -> String {
    match (t.events, t.stopped) {
        (0, false) => "no packet went through a chain".into(),
        (0, true) => "stopped: no packet went through a chain".into(),
        (n, true) => format!("stopped after {n} trace events"),
        (n, false) => format!("{n} trace events"),
    }
}

pub fn dev_check(d: &DevReport) -> String {
    let mut text = String::new();
    for r in &d.rows {
        text.push_str(&format!(
            "{} {}/{} {}: {}{}\n",
            if r.not_possible {
                "n/a "
            } else if r.as_expected {
                "ok  "
            } else {
                "FAIL"
            },
            r.lesson,
            r.exercise,
            r.file,
            if r.not_possible {
                "not possible on this machine"
            } else if r.passed {
                "passes"
            } else {
                "fails"
            },
            r.why
                .as_ref()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default()
        ));
    }
    let na = d.rows.iter().filter(|r| r.not_possible).count();
    if na > 0 {
        text.push_str(&format!(
            "{na} files could not be checked on this machine (n/a above: what is missing)\n"
        ));
    }
    text.push_str(if d.ok {
        "every starter fails and every solution passes"
    } else {
        "dev check FAILED"
    });
    text
}

pub fn lesson_list(l: &Lessons) -> String {
    let rows: Vec<Vec<String>> = l
        .lessons
        .iter()
        .map(|les| {
            vec![
                les.number.to_string(),
                les.title.clone(),
                format!("{} steps", les.steps),
                format!("exercises {}/{}", les.passed, les.exercises),
                les.topology
                    .as_ref()
                    .map(|t| format!("topology {t}"))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    super::columns(&rows)
}

pub fn lesson_show(l: &LessonText) -> String {
    let mut text = String::from("You will be able to:\n");
    for g in &l.goals {
        text.push_str(&format!("  - {g}\n"));
    }
    text.push('\n');
    text.push_str(&l.text);
    text
}

/// A check report: PASS/FAIL, each check, and for the failed one what was expected, what was
/// seen and the hint that helps.
pub fn check(r: &CheckReport) -> String {
    let mut s = format!(
        "{} {}: {} ({})\n",
        if r.passed {
            "PASS"
        } else if r.not_possible.is_some() {
            "NOT POSSIBLE HERE"
        } else {
            "FAIL"
        },
        r.exercise,
        r.title,
        r.file
    );
    for c in &r.results {
        s.push_str(&format!(
            "  [{}] {}\n",
            if c.passed {
                "ok"
            } else if c.not_possible {
                "--"
            } else {
                "x "
            },
            c.what
        ));
        if c.not_possible {
            s.push_str(&format!(
                "       not possible on this machine: {}\n       (this is not about your \
                 work; the other exercises of the lesson do not need it)\n",
                c.seen
            ));
        } else if !c.passed {
            s.push_str(&format!("       expected: {}\n", c.expected));
            match &c.compiler_output {
                // what the compiler said, as `compile` (or clang) prints it: file:line:col, the
                // source line, the mark under the place, the help (`seen` is its first error
                // in one line); each line as printed, under the first
                Some(out) => {
                    for (i, l) in out.lines().enumerate() {
                        let head = if i == 0 {
                            "       seen:     "
                        } else {
                            "                 "
                        };
                        s.push_str(format!("{head}{l}").trim_end());
                        s.push('\n');
                    }
                }
                None => {
                    s.push_str(&format!("       seen:     {}\n", c.seen));
                    // a C file's diagnostics that are not a compiler's refusal (the
                    // verifier's rejections): where, the kernel's words, what to do
                    let diags: Vec<_> = c
                        .diagnostics
                        .iter()
                        .filter_map(|d| d.c())
                        .cloned()
                        .collect();
                    if !diags.is_empty() {
                        for l in eclat_model::cdiag::render(&diags).lines() {
                            s.push_str(format!("                 {l}").trim_end());
                            s.push('\n');
                        }
                    }
                }
            }
            if let Some(h) = c.hint {
                s.push_str(&format!(
                    "       hint {}: {}\n",
                    h + 1,
                    r.hints.get(h).map(String::as_str).unwrap_or("")
                ));
            }
        }
    }
    s.trim_end().to_string()
}

/// `text`, then which exercise a `lesson` command took when none was named, and how to take
/// another (nothing more when one was named, or the lesson has one).
pub fn with_picked(text: String, picked: Option<&Picked>) -> String {
    let Some(p) = picked else {
        return text;
    };
    let why = if p.all_passed {
        "all have passed, so the first"
    } else {
        "the first not passed yet"
    };
    let others = match p.others.as_slice() {
        [one] => format!("the other: `{} {one}`", p.command),
        many => format!(
            "the others: `{} ID` with ID one of {}",
            p.command,
            many.join(", ")
        ),
    };
    format!(
        "{text}\n({} exercises in this lesson: this was {}, {why}; {others})",
        p.others.len() + 1,
        p.exercise
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tested(verdict: &str, input: Vec<u8>, output: Vec<u8>) -> Tested {
        Tested {
            script: "hop.eclat".into(),
            chain: None,
            packets: vec![eclat_service::testrun::PacketResult {
                packet: "ipv6 hlim=64 udp dport=5000".into(),
                verdict: verdict.into(),
                trace: vec![],
                map_changes: vec![],
                duration_ns: 812,
                frame_changes: eclat_model::frame::changes(&input, &output),
                input,
                output,
            }],
        }
    }

    /// `test` shows the bytes a program changed under the fields: the rows that differ, at
    /// their offset, the frame given above the frame left, the changed bytes marked.
    #[test]
    fn test_shows_the_rows_of_bytes_a_program_changed() {
        let given = eclat_model::packetspec::frame("ipv6 hlim=64 udp dport=5000").unwrap();
        let mut left = given.clone();
        left[21] = 63;
        assert_eq!(
            test(&tested("PASS", given.clone(), left.clone())),
            "packet 1 `ipv6 hlim=64 udp dport=5000`: PASS  (812 ns)\n    frame out: ipv6.hlim 64 \
             -> 63\n    bytes changed (in above out, ^^ under each byte that differs):\n      \
             0010 in   00 00 00 18 11 40 fc 01  00 00 00 00 00 00 00 00\n           out  00 00 \
             00 18 11 3f fc 01  00 00 00 00 00 00 00 00\n                               ^^"
        );
        // unchanged: no bytes; dropped: goes nowhere, nothing of the frame
        assert!(!test(&tested("PASS", given.clone(), given.clone())).contains("bytes changed"));
        assert!(!test(&tested("DROP", given.clone(), left)).contains("bytes changed"));
        // longer: the lengths, and the new bytes against nothing
        let mut longer = given.clone();
        longer.extend([0xaa, 0xbb]);
        let t = test(&tested("TX", given.clone(), longer.clone()));
        let n = given.len();
        assert!(
            t.contains(&format!("frame out: {} bytes (given: {n})", n + 2)),
            "{t}"
        );
        let row = n / 16 * 16;
        assert!(t.contains(&format!("      {row:04x} in ")), "{t}");
        assert!(t.trim_end().ends_with("^^ ^^"), "{t}");
        // a frame rewritten whole: at most 8 rows, and where the rest is
        let t = test(&tested("PASS", vec![0; 200], vec![1; 200]));
        assert_eq!(t.matches(" in   ").count(), 8, "{t}");
        assert!(
            t.contains("more rows differ (`--json` has both frames"),
            "{t}"
        );
    }

    /// A lesson command that named no exercise says which one it took, why, and the command
    /// for each of the others.
    #[test]
    fn a_picked_exercise_is_said_with_the_others() {
        let p = |others: &[&str], all_passed| Picked {
            exercise: "flows".into(),
            all_passed,
            command: "lesson check 4".into(),
            others: others.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(with_picked("PASS".into(), None), "PASS");
        assert_eq!(
            with_picked("FAIL".into(), Some(&p(&["drain"], false))),
            "FAIL\n(2 exercises in this lesson: this was flows, the first not passed yet; the \
             other: `lesson check 4 drain`)"
        );
        assert_eq!(
            with_picked("PASS".into(), Some(&p(&["a", "b"], true))),
            "PASS\n(3 exercises in this lesson: this was flows, all have passed, so the first; \
             the others: `lesson check 4 ID` with ID one of a, b)"
        );
    }
    use crate::commands::LessonRow;

    /// `lesson check` on lesson 7's `ports.eclat` with `hike_dorp()`: the failed check says
    /// what `compile` says, whole and in its columns: file:line:col, the source line, the mark
    /// under the call, the help (it said `seen: line 22: ...` alone).
    #[test]
    fn a_check_that_does_not_compile_shows_the_compilers_words() {
        use eclat_course::{CheckReport, CheckResult};
        let lesson = eclat_course::lessons::find("7").unwrap();
        let file = "/home/learner/eclat-lab/07-first-eclat-script/ports.eclat";
        let src = eclat_course::lessons::exercise_file(&lesson, "solution", "ports.eclat")
            .unwrap()
            .replace("    hike_drop()\n", "    hike_dorp()\n");
        let c = eclat::compile(&src, file, &hike::catalog::Catalog::reference(), &[]);
        let report = CheckReport {
            lesson: lesson.id.clone(),
            exercise: "ports".into(),
            title: "Drop UDP port 6000, count it as DROP".into(),
            file: file.into(),
            passed: false,
            results: vec![CheckResult {
                hint: Some(0),
                compiler_output: Some(c.render(&src, file, false).trim_end().to_string()),
                diagnostics: c
                    .report(&src, file)
                    .diagnostics
                    .into_iter()
                    .map(eclat_course::Diagnostic::Eclat)
                    .collect(),
                ..CheckResult::new(
                    "ports.eclat: compiles",
                    false,
                    "no compile error",
                    format!("{file}:22:5: `hike_dorp` is not an imported program or a chain"),
                )
            }],
            not_possible: None,
            hints: vec!["Two things are missing.".into()],
        };
        let text = check(&report);
        assert!(text.contains(&format!("{file}:22:5")), "{text}");
        assert!(text.contains("Help: did you mean `hike_drop`?"), "{text}");
        // the mark under the call's first letter, as `compile` prints it
        let lines: Vec<&str> = text.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains("22 │     hike_dorp()"))
            .unwrap();
        assert_eq!(
            lines[at]
                .find("hike_dorp")
                .map(|i| lines[at][..i].chars().count()),
            lines[at + 1]
                .find('─')
                .map(|i| lines[at + 1][..i].chars().count()),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    /// `lesson list` with the real lessons' titles (some longer than any fixed width): every
    /// column starts at the same place on every line.
    #[test]
    fn the_lesson_list_is_aligned_with_the_real_titles() {
        let l = Lessons {
            lessons: eclat_course::lessons::all()
                .iter()
                .map(|les| LessonRow {
                    id: les.id.clone(),
                    number: les.number,
                    title: les.title.clone(),
                    steps: les.steps.len(),
                    exercises: les.exercises.len(),
                    passed: 0,
                    topology: les.topology.clone(),
                    goals: vec![],
                })
                .collect(),
        };
        let text = lesson_list(&l);
        let at = |needle: &str| -> Vec<usize> {
            text.lines()
                .map(|line| line.find(needle).unwrap_or_else(|| panic!("{line}")))
                .collect()
        };
        for needle in [" steps", "exercises ", "topology "] {
            let cols = at(needle);
            // " steps" ends the column of step counts: right after a 1- or 2-digit number
            let cols: Vec<usize> = if needle == " steps" {
                text.lines()
                    .zip(&cols)
                    .map(|(l, c)| l[..*c].trim_end_matches(|c: char| c.is_ascii_digit()).len())
                    .collect()
            } else {
                cols
            };
            assert!(
                cols.windows(2).all(|w| w[0] == w[1]),
                "`{needle}` is not aligned:\n{text}"
            );
        }
    }
}
