//! The text of `eclat-lab bench`: each section's figures with their baselines and targets.

use crate::bench::{BenchReport, Stat};

/// The few figures a learner reads first, taken from a report.
pub struct Headline {
    pub vm_entry_ns: f64,
    pub per_call_ns: f64,
    pub raw_tail_call_ns: f64,
    pub ddos_ratio: f64,
    pub compile_us: f64,
    pub clang_ratio: Option<f64>,
    pub up_ms: f64,
}

impl Headline {
    /// `None` when a section it reads did not run (`--only`).
    pub fn of(b: &BenchReport) -> Option<Self> {
        let (hike, compile, topology) =
            (b.hike.as_ref()?, b.compile.as_ref()?, b.topology.as_ref()?);
        let d = &hike.derived;
        Some(Headline {
            vm_entry_ns: d.vm_entry_ns,
            per_call_ns: d.per_call_ns,
            raw_tail_call_ns: d.raw_per_tail_call_ns,
            ddos_ratio: d.ddos_ratio,
            compile_us: compile.eclat_us.median,
            clang_ratio: compile.ratio_clang_over_eclat,
            up_ms: topology.cmd_up_and_ping_ms.median,
        })
    }
}

/// The report's headline in sentences: what each figure means for a packet or a learner.
pub fn in_words(h: &Headline) -> String {
    let mut s = String::from(
        "In words (this machine, this run; the tables below are where the numbers come from):\n",
    );
    s.push_str(&format!(
        "  - a packet that enters a HIKe chain pays {:.0} ns more than one that meets only a plain XDP program;\n",
        h.vm_entry_ns
    ));
    s.push_str(&format!(
        "  - each further program the chain calls adds about {:.0} ns; a raw tail call between two plain programs costs {:.0} ns;\n",
        h.per_call_ns, h.raw_tail_call_ns
    ));
    let pct = (h.ddos_ratio - 1.0) * 100.0;
    s.push_str(&format!(
        "  - lesson 8's DDoS policy as a chain takes {:.2} times the time of the same policy written by hand as one XDP program ({} per packet);\n",
        h.ddos_ratio,
        if pct >= 0.0 {
            format!("{pct:.0} % more")
        } else {
            format!("{:.0} % less", -pct)
        }
    ));
    s.push_str(&format!(
        "  - the eCLAT compiler turns that policy into chain bytecode in {:.0} us{};\n",
        h.compile_us,
        h.clang_ratio
            .map(|r| format!(
                ", about {r:.0} times faster than clang compiles the same chain written in C"
            ))
            .unwrap_or_default()
    ));
    s.push_str(&format!(
        "  - `eclat-lab topo up`, the whole command, builds the three-node lab, and a first ping gets through, {:.0} ms after you press Enter.\n",
        h.up_ms
    ));
    s.push_str("A \"target\" below is the project's own goal for that figure, not something you must reach.\n\n");
    s
}

pub fn report(b: &BenchReport) -> String {
    let mut text = String::from("eclat-lab bench (medians; min..max in brackets)\n");
    if let Some(q) = &b.quick {
        text.push_str(&format!("{q}\n"));
    }
    text.push('\n');
    if let Some(h) = Headline::of(b) {
        text.push_str(&in_words(&h));
    }
    if let Some(tp) = &b.topology {
        text.push_str(
            "topology hike-lab (3 nodes, 3 links)       eclat-lab (whole process)    in process   shell script (ip)   ratio\n",
        );
        let row = |name: &str,
                   cmd: &Stat,
                   inproc: Option<&Stat>,
                   sh: Option<&Stat>,
                   ratio: Option<f64>| {
            format!(
                "  {:<38} {:>8.1} ms [{:.1}..{:.1}]  {:>10}  {:>12}   {}\n",
                name,
                cmd.median,
                cmd.min,
                cmd.max,
                inproc
                    .map(|s| format!("{:.1} ms", s.median))
                    .unwrap_or_else(|| "-".into()),
                sh.map(|s| format!("{:.1} ms", s.median))
                    .unwrap_or_else(|| "-".into()),
                ratio.map(|r| format!("{r:.1}x faster")).unwrap_or_default()
            )
        };
        text.push_str(&row(
            "topo up, until the first ping reply",
            &tp.cmd_up_and_ping_ms,
            Some(&tp.lab_up_and_ping_ms),
            tp.shell_up_and_ping_ms.as_ref(),
            tp.up_ratio_shell_over_lab,
        ));
        text.push_str(&row(
            "topo up",
            &tp.cmd_up_ms,
            Some(&tp.lab_up_ms),
            None,
            None,
        ));
        text.push_str(&row(
            "topo down",
            &tp.cmd_down_ms,
            Some(&tp.lab_down_ms),
            tp.shell_down_ms.as_ref(),
            tp.down_ratio_shell_over_lab,
        ));
        text.push_str(&row(
            "topo up + topo down (target <= 39 ms)",
            &tp.cmd_pair_ms,
            None,
            tp.shell_pair_ms.as_ref(),
            tp.pair_ratio_shell_over_lab,
        ));
        text.push_str(
            "  (whole process: from the command's start to its exit, as `time eclat-lab topo up` shows; in process: the\n   same work inside one process, the rest being the process's start, its recovery scan and its exit)\n",
        );
        if tp.lost_echo_requests > 0 {
            text.push_str(&format!(
                "  ({} echo requests of the \"until the first reply\" runs got no reply within 1 s and were sent again)\n",
                tp.lost_echo_requests
            ));
        }
    }
    if let Some(h) = &b.hike {
        text.push_str("\nHIKe VM (BPF_PROG_TEST_RUN, ns per packet, 78-byte IPv6/UDP frame)      min      median   vs baseline\n");
        for c in &h.cases {
            text.push_str(&format!(
                "  {:<62} {:>8.1} {:>8.1}   {}\n",
                c.name,
                c.min_ns,
                c.median_ns,
                match (&c.baseline, c.ratio) {
                    (Some(b), Some(r)) => format!("{r:.2}x {b}"),
                    _ => String::new(),
                }
            ));
        }
        let d = &h.derived;
        text.push_str(&format!(
            "  chains compiled (the default):\n  entering the VM: +{:.1} ns over raw (target <= 40)\n  each extra program call: {:.1} ns (target <= 15; a raw tail call: {:.1} ns{})\n  DDoS marking chain (the original's scenario) vs raw tail calls: {:.2}x (target <= 1.15; the original 1.38x)\n  lesson 8 DDoS chain vs hand-written single XDP program: {:.2}x, the median of {} loads of both ({:.2}-{:.2}x; where the kernel puts the chain's code moves it by 20 ns and more) (goal <= 1.05: {})\n    the floor of that path, in the same loads: the chain's programs inlined into one program by clang, behind the same loader, {:.2}x ({:.2}-{:.2}x); with no loader at all {:.2}x ({:.2}-{:.2}x)\n    in the one load of the rows above: {:.2}x; as one instance per call instead of linked: {:.2}x\n    of which composing separate programs at all (raw tail calls vs the fused program): {:.2}x; the VM over raw tail calls: {:.2}x\n  3-stage pipeline vs raw tail calls: {:.2}x\n",
            d.vm_entry_ns,
            d.per_call_ns,
            d.raw_per_tail_call_ns,
            d.per_call_dynamic_dispatch_ns.map(|x| format!("; with run-time-key dispatch {x:.1} ns")).unwrap_or_default(),
            d.marking_ratio,
            d.ddos_ratio,
            d.ddos_loads.min_ns.len(),
            d.ddos_loads.ratio_low,
            d.ddos_loads.ratio_high,
            if d.ddos_ratio <= 1.05 && d.ddos_loads.ratio_high <= 1.05 {
                "met"
            } else {
                "not met"
            },
            d.ddos_loads.floor_behind_loader.median,
            d.ddos_loads.floor_behind_loader.low,
            d.ddos_loads.floor_behind_loader.high,
            d.ddos_loads.floor_alone.median,
            d.ddos_loads.floor_alone.low,
            d.ddos_loads.floor_alone.high,
            d.ddos_ratio_one_load,
            d.ddos_instances_ratio,
            d.ddos_composition_ratio,
            d.ddos_vs_tail_calls_ratio,
            d.pipeline_ratio
        ));
        let g = d.ddos_gap_by_step_ns;
        text.push_str(&format!(
            "    where it builds up (the chain cut after each program on the flood's path, minus the hand-written program cut at the same point): +{:.0} ns after ip6_hset_srcdst (the loader, the chain's start, one program), +{:.0} after ip6_sd_dec2zero, +{:.0} after monitor, +{:.0} with the chain's branches\n",
            g[0], g[1], g[2], g[3]
        ));
        let sp = &d.ddos_split_ns;
        text.push_str(&format!(
            "    where it goes (the chain's program bodies rearranged: inlined into one program, alone and behind the classifier; the flood's path as separate programs with a hand-over written for it): +{:.0} ns the programs' own conventions (frame, pkt_info, each finding the IPv6 header again), +{:.0} the classifier, +{:.0} separate programs (tail calls, each one's frame lookup), {:+.0} the compiled chain over that hand-over (HIKe's entry points, less the tail calls linking saves)\n",
            sp.programs_ns, sp.loader_ns, sp.separate_ns, sp.chain_ns
        ));
        let i = &d.interpreted;
        text.push_str(&format!(
            "  the same chains interpreted (ECLAT_LAB_JIT=off): entering the VM +{:.1} ns, each extra call {:.1} ns, DDoS marking {:.2}x, lesson 8 DDoS {:.2}x\n",
            i.vm_entry_ns, i.per_call_ns, i.marking_ratio, i.ddos_ratio
        ));
        let mut loads = h.loads.clone();
        loads.sort_by_key(|l| std::cmp::Reverse(l.load_ns));
        if let Some(worst) = loads.first() {
            let n = loads.len();
            let mut ms: Vec<f64> = loads.iter().map(|l| l.load_ns as f64 / 1e6).collect();
            ms.sort_by(|a, b| a.total_cmp(b));
            text.push_str(&format!(
                "  loading (verifying) a program: median {:.1} ms over {n} programs, slowest {}.{} {:.1} ms (target <= 60)\n",
                ms[n / 2],
                worst.package,
                worst.name,
                worst.load_ns as f64 / 1e6
            ));
        }
        text.push_str("  sizes (xlated / jited bytes):");
        for l in h.loads.iter().filter(|l| {
            [
                "hike_vm",
                "ip6_simple_classifier",
                "hike_pass",
                "monitor",
                "xdp_pass",
            ]
            .contains(&l.name.as_str())
        }) {
            text.push_str(&format!(
                " {}.{} {}/{};",
                l.package, l.name, l.xlated_bytes, l.jited_bytes
            ));
        }
        text.push('\n');
    }
    if let Some(cp) = &b.compile {
        text.push_str(&format!(
            "\neCLAT compile of the lesson 8 DDoS script (median of {} runs)\n  eclat-lab: {:.0} us   clang -O2 -target bpf on the same chain in C: {}   ratio {}\n",
            cp.runs,
            cp.eclat_us.median,
            cp.clang_us.as_ref().map(|c| format!("{:.1} ms", c.median / 1000.0)).unwrap_or_else(|| "clang not installed".into()),
            cp.ratio_clang_over_eclat.map(|r| format!("{r:.0}x")).unwrap_or_default()
        ));
    }
    if let Some(t) = &b.tui {
        text.push_str(&format!(
            "\nTUI (meaningful with a release build)\n  first frame: {:.1} ms from spawn (target <= 10)\n  CPU while polling {} maps ({:.1} polls/s) for {:.0} s: {:.2} % of one core (target <= 1)\n",
            t.first_frame_ms, t.maps_polled, t.polls_per_sec, t.idle_secs, t.idle_cpu_percent
        ));
    }
    if let Some(c) = &b.commands {
        text.push_str(&commands(c));
    }
    if let Some(c) = &b.classroom {
        text.push_str(&classroom(c));
    }
    text.push_str(&sections(b));
    text.trim_end().to_string()
}

/// How long each section took, wall and CPU, and how busy the machine was.
fn sections(b: &BenchReport) -> String {
    if b.sections.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = b
        .sections
        .iter()
        .map(|t| match t.cpu_s {
            Some(cpu) => format!("{} {:.1} s ({cpu:.1} s CPU)", t.section, t.wall_s),
            None => format!(
                "{} {:.1} s (alongside {})",
                t.section,
                t.wall_s,
                t.alongside.join(" and ")
            ),
        })
        .collect();
    format!(
        "\nbench sections, wall time (CPU time of the bench and the processes it ran): {}; the whole run {:.1} s ({:.1} s CPU){}\n",
        parts.join(", "),
        b.total_wall_s,
        b.total_cpu_s,
        b.load_average
            .map(|l| format!(
                "; load average at the start {:.2} {:.2} {:.2} on {} CPU(s)",
                l[0],
                l[1],
                l[2],
                eclat_kernel::sys::possible_cpus()
            ))
            .unwrap_or_default()
    )
}

/// The whole-process section: what a user waits for.
fn commands(c: &crate::bench::commands::CommandFigures) -> String {
    let mut text = format!(
        "
whole commands (wall time of the process, median of {} runs [min..max]; a process that does nothing: {:.0} ms; load average {:.1} at the start, {:.1} at the end)
  lesson check L ID, solution in place        with reuse                 ECLAT_LAB_CHECK_REUSE=off   ratio   first   goal
",
        c.runs, c.process_ms.median, c.load_average.0, c.load_average.1
    );
    for f in &c.checks {
        let goal = crate::bench::commands::goal_ms(&f.language);
        text.push_str(&format!(
            "  {:<2} {:<16} {:<8} {:>7.0} ms [{:.0}..{:.0}]  {:>9.0} ms [{:.0}..{:.0}]  {:>5.1}x  {:>5.0}   {}{}
",
            f.lesson,
            f.exercise,
            f.language,
            f.ms.median,
            f.ms.min,
            f.ms.max,
            f.baseline_ms.median,
            f.baseline_ms.min,
            f.baseline_ms.max,
            f.baseline_ms.median / f.ms.median.max(1e-9),
            f.first_ms,
            if f.ms.median <= goal { "met" } else { "MISSED" },
            if f.passed { "" } else { "  (a run did not pass)" }
        ));
        let parts: Vec<String> = f
            .by_check
            .iter()
            .map(|(what, ms)| format!("{ms:.0} {what}"))
            .collect();
        text.push_str(&format!(
            "       CPU {:.0} ms (without reuse {:.0} ms); in process (ms): {}
",
            f.cpu_ms.median,
            f.baseline_cpu_ms.median,
            parts.join("; ")
        ));
    }
    for why in &c.not_possible {
        text.push_str(&format!(
            "  not possible on this machine, not measured: {why}\n"
        ));
    }
    text.push_str(&format!(
        "  medians over exercises: eCLAT {:.0} ms (goal <= 250), C {:.0} ms (goal <= 600, clang included); a bpftrace or bcc exercise's goal is 600 ms (its compiler included), an answers file's 250 ms; `first` is a lab's first check, which verifies the reused HIKe VMs
",
        c.eclat_median_ms, c.c_median_ms
    ));
    for t in &c.tui_saves {
        if let Some(e) = &t.error {
            text.push_str(&format!(
                "  TUI, lesson {} {}: not measured: {e}\n",
                t.lesson, t.exercise
            ));
            continue;
        }
        let s = crate::bench::stat(t.save_to_pass_ms.clone());
        text.push_str(&format!(
            "  TUI, lesson {} {}: save -> verdict on screen {:.0} ms [{:.0}..{:.0}] (the session's first: {:.0} ms)\n",
            t.lesson, t.exercise, s.median, s.min, s.max, t.first_ms
        ));
    }
    for r in &c.commands {
        text.push_str(&format!(
            "  {:<40} {:>7.0} ms [{:.0}..{:.0}]
",
            r.command, r.ms.median, r.ms.min, r.ms.max
        ));
    }
    text
}

/// A duration for the classroom's table: milliseconds below a second, else seconds.
fn ms_or_s(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

/// The classroom section: one column per classroom size, each per-lab figure beside its
/// ratio to the smallest classroom's (the baseline, measured in the same run).
pub fn classroom(c: &crate::bench::classroom::ClassroomFigures) -> String {
    use crate::bench::classroom::PerLabRatios;
    let Some(base) = c.runs.first() else {
        return String::new();
    };
    let mut text = format!(
        "\nclassroom on one server (`classroom up N --load ddos.eclat --lesson 8` as a whole process, each N a fresh classroom removed by `classroom down`; per-lab figures with their ratio to N={}'s; load average {:.1} at the start, {:.1} at the end)\n",
        base.learners, c.load_average.0, c.load_average.1
    );
    let with = |v: String, r: Option<f64>| match r {
        Some(r) => format!("{v} ({r:.2}x)"),
        None => v,
    };
    let ratio = |run: &crate::bench::classroom::ClassroomRun,
                 f: fn(&PerLabRatios) -> Option<f64>| {
        run.vs_smallest.as_ref().and_then(f)
    };
    let mut row = |label: &str, cell: &dyn Fn(&crate::bench::classroom::ClassroomRun) -> String| {
        let mut line = format!("  {label:<46}");
        for run in &c.runs {
            line.push_str(&format!("{:<26}", cell(run)));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    };
    row("", &|r| format!("N={}", r.learners));
    row("classroom up, the whole command", &|r| ms_or_s(r.up_ms));
    row("  per lab", &|r| {
        with(
            ms_or_s(r.up_ms / r.learners as f64),
            ratio(r, |x| x.up_per_lab),
        )
    });
    row("labs up with the policy, all at once, per lab", &|r| {
        with(
            ms_or_s(r.labs_ms / r.learners as f64),
            ratio(r, |x| x.labs_per_lab),
        )
    });
    row("learner 1's lab: BPF programs / maps", &|r| {
        format!("{} / {}", r.lab_programs, r.lab_maps)
    });
    row("learner 1's lab: BPF memory (memlock)", &|r| {
        with(format!("{:.0} KiB", r.lab_bpf_kib), ratio(r, |x| x.lab_bpf))
    });
    row("MemAvailable fall per lab (machine-wide)", &|r| {
        with(
            format!("{:.1} MiB", r.mem_kib_per_lab / 1024.0),
            ratio(r, |x| x.mem_per_lab),
        )
    });
    row("BPF programs added per lab (machine-wide)", &|r| {
        format!("{:.1}", r.programs_per_lab)
    });
    row("cross-talk: labs that counted exactly 100", &|r| {
        format!("{} of {}", r.crosstalk.exact_100, r.learners)
    });
    row("  of those, the check's split 10/1/0/89", &|r| {
        r.crosstalk.exact_split.to_string()
    });
    row("  the N floods at once", &|r| {
        ms_or_s(r.crosstalk.floods_ms)
    });
    if c.tui_seconds > 0 {
        row(
            &format!("idle tutorial after login, CPU each ({} s)", c.tui_seconds),
            &|r| match &r.tui {
                Some(t) => with(
                    format!("{:.2} %", t.cpu_percent_each),
                    ratio(r, |x| x.tui_cpu_each),
                ),
                None => "-".into(),
            },
        );
        row(
            "  tutorials measured / learners logged in",
            &|r| match &r.tui {
                Some(t) => format!("{} of {}", t.started, t.logged_in),
                None => "-".into(),
            },
        );
        row("  all of them, % of one core", &|r| match &r.tui {
            Some(t) => format!("{:.2} %", t.cpu_percent),
            None => "-".into(),
        });
    }
    row("classroom down, per lab", &|r| {
        with(
            ms_or_s(r.down_ms / r.learners as f64),
            ratio(r, |x| x.down_per_lab),
        )
    });
    for r in &c.runs {
        for &i in &r.crosstalk.wrong {
            let [pass, drop, redirect, black] = r.crosstalk.counts[i - 1];
            text.push_str(&format!(
                "  N={}: learner {i}'s lab counted PASS {pass}, DROP {drop}, REDIRECT {redirect}, BLACKLISTED {black}: not its 100 packets (cross-talk or loss)\n",
                r.learners
            ));
        }
        if let Some(t) = &r.tui
            && t.started < t.logged_in
        {
            text.push_str(&format!(
                "  N={}: only {} of the {} learners' tutorials started within 60 s of their login\n",
                r.learners, t.started, t.logged_in
            ));
        }
    }
    text.push_str("  (no cross-talk: each lab counts its own flood exactly while the others flood theirs; a split other than 10/1/0/89 means a flood outlasted the token bucket's refill on a busy machine)\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classroom_section_gives_each_per_lab_figure_beside_its_ratio() {
        use crate::bench::classroom::{
            ClassroomFigures, ClassroomRun, TuiIdle, crosstalk, with_baseline,
        };
        let run = |n: usize, up_ms: f64, counts: Vec<[u64; 4]>| ClassroomRun {
            learners: n,
            prefix: format!("p{n}"),
            up_ms,
            labs_ms: up_ms / 2.0,
            lab_programs: 12,
            lab_maps: 31,
            lab_bpf_kib: 700.0,
            mem_kib_per_lab: 4096.0,
            programs_per_lab: 12.0,
            crosstalk: crosstalk(300.0, counts),
            tui: Some(TuiIdle {
                logged_in: n,
                started: n,
                seconds: 30.0,
                cpu_percent: 0.2 * n as f64,
                cpu_percent_each: 0.2,
            }),
            down_ms: 800.0,
            vs_smallest: None,
        };
        let mut runs = vec![
            run(1, 1300.0, vec![[10, 1, 0, 89]]),
            run(
                3,
                3600.0,
                vec![[10, 1, 0, 89], [12, 1, 0, 87], [10, 1, 0, 90]],
            ),
        ];
        with_baseline(&mut runs);
        let t = classroom(&ClassroomFigures {
            runs,
            tui_seconds: 30,
            load_average: (1.0, 2.0),
        });
        assert!(t.contains("ratio to N=1's"), "{t}");
        // 3600 / 3 = 1200 ms per lab against 1300: 0.92x
        assert!(t.contains("1.3 s") && t.contains("1.2 s (0.92x)"), "{t}");
        assert!(
            t.contains("700 KiB (1.00x)") && t.contains("4.0 MiB (1.00x)"),
            "{t}"
        );
        assert!(t.contains("0.20 % (1.00x)"), "{t}");
        assert!(t.contains("2 of 3"), "{t}");
        assert!(
            t.contains("N=3: learner 3's lab counted PASS 10, DROP 1, REDIRECT 0, BLACKLISTED 90: not its 100 packets"),
            "{t}"
        );
        assert!(!t.contains("learner 2's lab counted"), "{t}");
    }

    #[test]
    fn the_headline_is_in_words_for_a_learner() {
        let h = Headline {
            vm_entry_ns: 14.2,
            per_call_ns: 1.4,
            raw_tail_call_ns: 7.9,
            ddos_ratio: 1.08,
            compile_us: 61.0,
            clang_ratio: Some(950.0),
            up_ms: 8.8,
        };
        let t = in_words(&h);
        assert!(
            t.contains("pays 14 ns more than one that meets only a plain XDP program"),
            "{t}"
        );
        assert!(
            t.contains("adds about 1 ns; a raw tail call between two plain programs costs 8 ns"),
            "{t}"
        );
        assert!(t.contains("1.08 times the time of the same policy written by hand as one XDP program (8 % more per packet)"), "{t}");
        assert!(t.contains("about 950 times faster than clang"), "{t}");
        assert!(
            t.contains("a first ping gets through, 9 ms after you press Enter"),
            "{t}"
        );
        // the developers' notation stays out of the learner's lines
        let words: String = t.lines().filter(|l| l.starts_with("  - ")).collect();
        assert!(
            !words.contains("<=") && !words.contains("target"),
            "{words}"
        );
        let t = in_words(&Headline {
            ddos_ratio: 0.97,
            clang_ratio: None,
            ..h
        });
        assert!(
            t.contains("(3 % less per packet)") && !t.contains("clang"),
            "{t}"
        );
    }
}
