//! `eclat-lab bench`: performance figures, each measured side by side with its baseline in
//! the same run, reported as medians and ratios (absolute times drift between machines).

pub mod classroom;
pub mod commands;
pub mod figures;

use std::process::Command;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use eclat_kernel::journal::{Journal, Lifetime};
use eclat_kernel::{LabEnv, cleanup, topo, traffic};
use eclat_model::topology;
use eclat_model::topology::Topology;
use eclat_service::{CancellationToken, topologies};
use serde::Serialize;

use clap::Args;

/// Where the bench says what it is doing while it runs (the faces turn it into progress
/// updates).
pub type Progress = std::sync::Arc<dyn Fn(String) + Send + Sync>;

/// `eclat-lab bench`'s options.
#[derive(Debug, Args, Clone)]
pub struct BenchArgs {
    /// Repetitions per measurement (median reported)
    #[arg(long, default_value_t = 15)]
    pub runs: u32,
    /// Seconds of idle TUI polling for the CPU figure (0 skips the TUI figures)
    #[arg(long, default_value_t = 30)]
    pub tui_seconds: u64,
    /// Measure every exercise's `lesson check` and the lesson commands as whole processes
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "true|false")]
    pub checks: bool,
    /// Repetitions of each whole-process figure (each with and without reuse)
    #[arg(long, default_value_t = 5)]
    pub check_runs: u32,
    /// A quick run: 5 repetitions, 5 samples per VM case, TUI CPU over 5 s, each check once
    /// with and once without reuse; the report's first line says what that loses (without the
    /// commands section, 23 s on a 2-vCPU VM at load 26, debug build; each section prints
    /// its time)
    #[arg(long)]
    pub quick: bool,
    /// Only these sections (repeatable): topo, compile, vm, tui, commands, classroom (the
    /// last only with --classroom)
    #[arg(long, value_name = "SECTION")]
    pub only: Vec<String>,
    /// Also measure a classroom on this server for each N (`--classroom 1,10,30`): `classroom
    /// up N --load ddos.eclat --lesson 8` (start-up, BPF and memory per lab), every learner
    /// flooding their own lab at once (cross-talk), the learners' idle tutorials after login
    /// (over --tui-seconds), `classroom down`; per-lab figures against the smallest N's. It
    /// creates N Unix users (removed at the end by `classroom down`), so it never runs unless
    /// asked; needs root
    #[arg(long, value_name = "N[,N...]", value_delimiter = ',')]
    pub classroom: Vec<usize>,
    /// How many of each classroom's learners log in for the idle-tutorial figure (at most N;
    /// default: all N; 0: none)
    #[arg(long, value_name = "K")]
    pub classroom_tui: Option<usize>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Stat {
    /// the smallest of the runs, in the unit the field holding it names (`_ms`, `_us`); 0 when
    /// nothing was measured
    pub min: f64,
    /// the median of the runs (the mean of the middle two for an even count), in the same unit
    pub median: f64,
    /// the largest of the runs, in the same unit
    pub max: f64,
}

pub fn stat(mut v: Vec<f64>) -> Stat {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return Stat {
            min: 0.0,
            median: 0.0,
            max: 0.0,
        };
    }
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    Stat {
        min: v[0],
        median,
        max: v[v.len() - 1],
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TopoFigures {
    /// how many times each topology figure was measured (`--runs`, 15 by default)
    pub runs: u32,
    /// `eclat-lab topo up` of hike-lab as a whole process (from its start to its exit), then
    /// the first echo reply from sut reaching tg: what a user waits for, in milliseconds
    pub cmd_up_and_ping_ms: Stat,
    /// `eclat-lab topo up` as a whole process, in milliseconds
    pub cmd_up_ms: Stat,
    /// `eclat-lab topo down` as a whole process, in milliseconds
    pub cmd_down_ms: Stat,
    /// `topo up` then `topo down` as whole processes, summed per run, in milliseconds
    pub cmd_pair_ms: Stat,
    /// in process: `topo up` of hike-lab until the first echo reply from sut reaches tg (the
    /// breakdown of the command's time: the rest is the process's start, its recovery scan
    /// and its exit)
    pub lab_up_and_ping_ms: Stat,
    /// in process: `topo up` of hike-lab alone (no ping), through the lab's netlink path
    pub lab_up_ms: Stat,
    /// in process: `topo down` of it
    pub lab_down_ms: Stat,
    /// echo requests of the "until the first reply" runs that got no reply within 1 s (and
    /// were sent again; the wait is part of that run's time)
    pub lost_echo_requests: u32,
    /// the same topology built by a shell script of `ip` commands, then one `ping` (two `bash`
    /// processes, timed together); null when `ip` is not installed
    pub shell_up_and_ping_ms: Option<Stat>,
    /// the shell script's `ip netns del` of the same namespaces, in milliseconds; null when `ip` is
    /// not installed
    pub shell_down_ms: Option<Stat>,
    /// the shell script's up (without the ping) and down, summed per run; null without `ip`
    pub shell_pair_ms: Option<Stat>,
    /// the shell script's median up-and-ping time over the lab's command's (whole processes
    /// both): above 1 means the lab is faster; null without `ip`
    pub up_ratio_shell_over_lab: Option<f64>,
    /// the shell script's median teardown time over `eclat-lab topo down`'s; null without `ip`
    pub down_ratio_shell_over_lab: Option<f64>,
    /// the shell script's median up + down over `topo up` + `topo down`'s; null without `ip`
    pub pair_ratio_shell_over_lab: Option<f64>,
}

/// The topology built by hand with `ip`, as a typical lab script would.
pub fn shell_script(t: &Topology, prefix: &str) -> (String, String) {
    let ns = |n: &str| format!("{prefix}{n}");
    let mut up = String::from("set -e\n");
    for n in &t.nodes {
        up.push_str(&format!("ip netns add {}\n", ns(&n.name)));
        up.push_str(&format!(
            "ip netns exec {} sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.default.addr_gen_mode=1\n",
            ns(&n.name)
        ));
        up.push_str(&format!("ip -n {} link set lo up\n", ns(&n.name)));
    }
    for l in &t.links {
        up.push_str(&format!(
            "ip -n {} link add {} address {} type veth peer name {} address {} netns {}\n",
            ns(&l.a.node),
            l.a.dev,
            eclat_model::mac::fmt_mac(&l.a.mac),
            l.b.dev,
            eclat_model::mac::fmt_mac(&l.b.mac),
            ns(&l.b.node)
        ));
        for (e, p) in [(&l.a, &l.b), (&l.b, &l.a)] {
            up.push_str(&format!(
                "ip -n {} link set {} arp off multicast off\n",
                ns(&e.node),
                e.dev
            ));
            for c in &e.addresses {
                let nodad = if c.addr.is_ipv6() { " nodad" } else { "" };
                up.push_str(&format!(
                    "ip -n {} addr add {} dev {}{}\n",
                    ns(&e.node),
                    c,
                    e.dev,
                    nodad
                ));
            }
            for c in &p.addresses {
                up.push_str(&format!(
                    "ip -n {} neigh add {} lladdr {} dev {} nud permanent\n",
                    ns(&e.node),
                    c.addr,
                    eclat_model::mac::fmt_mac(&p.mac),
                    e.dev
                ));
            }
        }
    }
    for n in &t.nodes {
        if n.forwarding {
            up.push_str(&format!(
                "ip netns exec {} sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1\n",
                ns(&n.name)
            ));
        }
    }
    for l in &t.links {
        for e in [&l.a, &l.b] {
            up.push_str(&format!("ip -n {} link set {} up\n", ns(&e.node), e.dev));
        }
    }
    let mut down = String::new();
    for n in &t.nodes {
        down.push_str(&format!("ip netns del {}\n", ns(&n.name)));
    }
    (up, down)
}

fn bash(script: &str) -> Result<f64> {
    let t0 = Instant::now();
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .output()
        .context("running bash")?;
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    if !out.status.success() {
        anyhow::bail!(
            "baseline script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(ms)
}

/// The first echo reply from sut at tg, sending again (up to 3 requests, 1 s each) when a
/// request goes unanswered; each unanswered request adds one to `lost`.
fn first_reply(env: &LabEnv, lost: &mut u32) -> Result<()> {
    const PING_TRIES: u32 = 3;
    let target: std::net::IpAddr = "fc01::2".parse().expect("address");
    let spec = traffic::Spec {
        from: "tg".into(),
        to: Some(target),
        kind: traffic::Kind::Icmp,
        count: Some(1),
        rate: None,
        reply_wait: Duration::from_secs(1),
    };
    for _ in 0..PING_TRIES {
        let rep = traffic::send(env, &spec, &AtomicU64::new(0), &CancellationToken::new())?;
        if rep.replies == Some(1) {
            return Ok(());
        }
        *lost += 1;
    }
    anyhow::bail!("no echo reply from {target} after topo up ({PING_TRIES} requests, 1 s each)")
}

/// Removes what a topology run left (after a failure too) and its state folder.
fn scrap(env: &LabEnv) {
    if let Ok(mut j) = Journal::open(&env.state_dir) {
        let _ = cleanup::reset(env, &mut j);
    }
    let _ = std::fs::remove_dir_all(&env.state_dir);
}

/// Topology figures: `eclat-lab topo up` and `topo down` as whole processes (with the same
/// work in process beside them, as the breakdown) against a shell script of `ip` commands.
/// The three are measured in turn within each run, so a burst of other work on the machine
/// falls on all of them alike.
pub fn topo_figures(runs: u32) -> Result<TopoFigures> {
    let (src, file) = topologies::source("hike-lab")?;
    let t = topology::parse(&src, &file)?;
    let bin = std::env::current_exe().context("finding the eclat-lab binary")?;
    let target = "fc01::2";
    let (mut up, mut upp, mut down) = (vec![], vec![], vec![]);
    let (mut cup, mut cupp, mut cdown, mut cpair) = (vec![], vec![], vec![], vec![]);
    let (mut supp, mut sdown, mut spair) = (vec![], vec![], vec![]);
    let mut lost = 0u32;
    let have_ip = Command::new("ip").arg("-V").output().is_ok();
    for i in 0..runs {
        // in process: the breakdown
        let env = LabEnv::for_test("bench");
        let r = (|| -> Result<()> {
            let mut j = Journal::open(&env.state_dir)?;
            let t0 = Instant::now();
            topo::up(&env, &mut j, &t, &src, Lifetime::Persistent)?;
            let t_up = t0.elapsed();
            first_reply(&env, &mut lost)?;
            let t_ping = t0.elapsed();
            up.push(t_up.as_secs_f64() * 1000.0);
            upp.push(t_ping.as_secs_f64() * 1000.0);
            let t1 = Instant::now();
            topo::down(&env, &mut j)?;
            down.push(t1.elapsed().as_secs_f64() * 1000.0);
            Ok(())
        })();
        scrap(&env);
        r?;
        // the commands, as a user runs them
        let env = LabEnv::for_test("benchc");
        let r = (|| -> Result<()> {
            let t0 = Instant::now();
            let (u, _) = figures::run_timed(&bin, &env, &["topo", "up"], &[])?;
            first_reply(&env, &mut lost)?;
            let t_ping = t0.elapsed().as_secs_f64() * 1000.0;
            let (d, _) = figures::run_timed(&bin, &env, &["topo", "down"], &[])?;
            cup.push(u);
            cupp.push(t_ping);
            cdown.push(d);
            cpair.push(u + d);
            Ok(())
        })();
        scrap(&env);
        r?;
        // the baseline
        if have_ip {
            let prefix = format!("elb{}x{i}-", std::process::id() % 0xffff);
            let (u, d) = shell_script(&t, &prefix);
            let ping = format!("ip netns exec {prefix}tg ping -6 -c 1 -W 1 {target} > /dev/null\n");
            let r = bash(&u).and_then(|u| Ok((u, bash(&ping)?)));
            let rd = bash(&d);
            // always clean up the baseline's namespaces, even after a failure
            let _ = bash(&d.replace("ip netns del", "ip netns del 2>/dev/null"));
            let (u, p) = r?;
            let d = rd?;
            supp.push(u + p);
            sdown.push(d);
            spair.push(u + d);
        }
    }
    let (cupp, cdown, cpair) = (stat(cupp), stat(cdown), stat(cpair));
    let s_upp = have_ip.then(|| stat(supp));
    let s_down = have_ip.then(|| stat(sdown));
    let s_pair = have_ip.then(|| stat(spair));
    Ok(TopoFigures {
        runs,
        up_ratio_shell_over_lab: s_upp.as_ref().map(|s| s.median / cupp.median),
        down_ratio_shell_over_lab: s_down.as_ref().map(|s| s.median / cdown.median),
        pair_ratio_shell_over_lab: s_pair.as_ref().map(|s| s.median / cpair.median),
        cmd_up_and_ping_ms: cupp,
        cmd_up_ms: stat(cup),
        cmd_down_ms: cdown,
        cmd_pair_ms: cpair,
        lab_up_and_ping_ms: stat(upp),
        lab_up_ms: stat(up),
        lab_down_ms: stat(down),
        lost_echo_requests: lost,
        shell_up_and_ping_ms: s_upp,
        shell_down_ms: s_down,
        shell_pair_ms: s_pair,
    })
}

/// The lesson 8 DDoS policy, compiled by the benchmark.
const DDOS_SCRIPT: &str = include_str!("../../../pure/eclat/tests/scripts/ddos.eclat");

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CompileFigures {
    /// how many times the eCLAT compiler ran (20 per `--runs`; clang runs `--runs` times, being
    /// much slower)
    pub runs: u32,
    /// eCLAT source -> chain bytecode, in process
    pub eclat_us: Stat,
    /// clang -O2 -target bpf on the equivalent HIKe C chain (`compile --emit c`)
    pub clang_us: Option<Stat>,
    /// clang's median time over the eCLAT compiler's on the same chain; null when clang is not
    /// installed
    pub ratio_clang_over_eclat: Option<f64>,
}

/// eCLAT's compile time of the DDoS script vs clang compiling the same chain written in C.
pub fn compile_figures(lab: &eclat_service::Lab, runs: u32) -> Result<CompileFigures> {
    let state_dir = &lab.env().state_dir;
    let defines = vec![("DEVNAME".to_string(), "enp6s0f0".to_string())];
    // the catalog's BTF is read once per session, outside the timing
    let _ = lab.compile_source("", "warm-up", &[]);
    let mut v = Vec::new();
    let mut program = None;
    for _ in 0..runs.max(1) * 20 {
        let t0 = Instant::now();
        let c = lab.compile_source(DDOS_SCRIPT, "ddos.eclat", &defines);
        v.push(t0.elapsed().as_secs_f64() * 1e6);
        program = c.output;
    }
    let program = program.context("the DDoS script does not compile")?;
    let eclat = stat(v);
    let clang = match eclat_kernel::doctor::clang() {
        None => None,
        Some(clang) => {
            let dir = state_dir.join("bench");
            std::fs::create_dir_all(&dir)?;
            let src = dir.join("ddos.chain.c");
            std::fs::write(&src, program.emit_c())?;
            let inc = eclat_kernel::modules::headers(&state_dir.join("include"))?;
            let out = dir.join("ddos.chain.o");
            let mut args = eclat_kernel::modules::clang_args(&src, &out, &inc);
            // chains must stay in the chain subset: no ALU32/JMP32
            for a in args.iter_mut() {
                if a == "-mcpu=v3" {
                    *a = "-mcpu=v2".into();
                }
            }
            let mut v = Vec::new();
            for _ in 0..runs.max(1) {
                let t0 = Instant::now();
                let o = Command::new(&clang).args(&args).output()?;
                v.push(t0.elapsed().as_secs_f64() * 1e6);
                if !o.status.success() {
                    anyhow::bail!(
                        "clang could not compile the emitted C chain: {}",
                        String::from_utf8_lossy(&o.stderr)
                    );
                }
            }
            Some(stat(v))
        }
    };
    Ok(CompileFigures {
        runs: runs.max(1) * 20,
        ratio_clang_over_eclat: clang.as_ref().map(|c| c.median / eclat.median),
        eclat_us: eclat,
        clang_us: clang,
    })
}

/// How long one section of the bench took.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SectionTime {
    /// the section's name, as `--only` takes it
    pub section: String,
    /// its wall time, in seconds
    pub wall_s: f64,
    /// the CPU time the bench and the processes it waited for used in it (user + system), in
    /// seconds: about what the section would take on an idle machine, less its waits (pings,
    /// RCU grace periods); null for the TUI section, which runs alongside the compile and VM
    /// sections (its CPU is counted in theirs)
    pub cpu_s: Option<f64>,
    /// the sections this one ran alongside (empty: alone)
    pub alongside: Vec<String>,
}

/// What a quick run's figures lose against a full run's, for the sections that ran.
fn quick_note(args: &BenchArgs, want: &dyn Fn(&str) -> bool) -> String {
    let tck = figures::clk_tck();
    let mut lost = Vec::new();
    if want("topo") {
        lost.push(format!(
            "topology figures over {} runs instead of 15",
            args.runs
        ));
    }
    if want("compile") {
        lost.push(format!(
            "eCLAT compile over {} runs instead of 300, clang {} instead of 15",
            args.runs * 20,
            args.runs
        ));
    }
    if want("vm") {
        let s = args.runs.max(3);
        lost.push(format!(
            "each VM case the minimum and median of {s} samples instead of 15 (the lesson 8 pair still over 9 loads, each load's figure the best of {s} samples instead of 15)"
        ));
    }
    if want("tui") {
        lost.push(format!(
            "TUI CPU over {} s instead of 30 (counted in {:.0} ms ticks: +-{:.2} points instead of +-{:.2})",
            args.tui_seconds,
            1000.0 / tck,
            100.0 / tck / args.tui_seconds.max(1) as f64,
            100.0 / tck / 30.0
        ));
    }
    if want("commands") {
        lost.push(format!(
            "each check {} time(s) with and without reuse instead of 5 (no median of several runs)",
            args.check_runs
        ));
    }
    if want("classroom") {
        lost.push(format!(
            "the classroom's idle tutorials over {} s instead of 30",
            args.tui_seconds
        ));
    }
    format!(
        "quick run, what it loses against the full one: {}",
        lost.join("; ")
    )
}

/// The machine's load averages over 1, 5 and 15 minutes (`/proc/loadavg`), if readable.
pub fn load_average() -> Option<[f64; 3]> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = s.split_whitespace().map(|w| w.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// Everything `eclat-lab bench` measured.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BenchReport {
    /// set for `--quick`: what its figures lose (null for a full run)
    pub quick: Option<String>,
    /// building and removing the hike-lab topology, against a shell script of `ip` commands
    /// (null when the section did not run: `--only`)
    pub topology: Option<TopoFigures>,
    /// compiling the lesson 8 DDoS script, against clang on the same chain written in C
    /// (null when the section did not run)
    pub compile: Option<CompileFigures>,
    /// the HIKe VM and compiled chains in ns/packet (`BPF_PROG_TEST_RUN`), each case next to its
    /// baseline: an object with `repeat`, `samples`, `packet_len`, `cases[]` (`name`, `min_ns`,
    /// `median_ns`, `baseline`, `ratio`), `derived` (the VM's entry and per-call cost, the
    /// DDoS and pipeline ratios) and `loads[]` (each program's verifier time and sizes); the
    /// reference's Performance page explains the cases (null when the section did not run)
    #[schemars(with = "serde_json::Value")]
    pub hike: Option<eclat_kernel::hike::bench::BenchReport>,
    /// the terminal UI's first frame and idle CPU, measured in a pseudo-terminal; null with
    /// `--tui-seconds 0`
    pub tui: Option<figures::TuiFigures>,
    /// whole processes: every exercise's check (with and without reuse) and lesson commands
    pub commands: Option<commands::CommandFigures>,
    /// a classroom of N learners on this server for each N of `--classroom`, made by
    /// `classroom up` (null when the section did not run: it runs only with `--classroom`);
    /// the bench exits 1 when a lab there did not count exactly its own flood
    pub classroom: Option<classroom::ClassroomFigures>,
    /// each section that ran, in order, with its wall and CPU time
    pub sections: Vec<SectionTime>,
    /// the whole run's wall time, in seconds (less than the sections' sum when the TUI ran
    /// alongside others)
    pub total_wall_s: f64,
    /// the whole run's CPU time (the bench and the processes it waited for), in seconds
    pub total_cpu_s: f64,
    /// the machine's load averages (1, 5, 15 minutes) when the bench started; null when
    /// `/proc/loadavg` cannot be read
    pub load_average: Option<[f64; 3]>,
}

/// Runs the performance suite, saying which section runs as it goes.
pub async fn run(
    lab: &eclat_service::Lab,
    cancel: &CancellationToken,
    progress: Progress,
    mut args: BenchArgs,
) -> Result<BenchReport> {
    if args.quick {
        args.runs = args.runs.min(5);
        args.tui_seconds = args.tui_seconds.min(5);
        args.check_runs = 1;
    }
    const SECTIONS: [&str; 6] = ["topo", "compile", "vm", "tui", "commands", "classroom"];
    if let Some(bad) = args.only.iter().find(|o| !SECTIONS.contains(&o.as_str())) {
        anyhow::bail!("--only {bad}: the sections are {}", SECTIONS.join(", "));
    }
    if args.classroom.is_empty() && args.only.iter().any(|o| o == "classroom") {
        anyhow::bail!(
            "--only classroom needs the classroom sizes to measure: --classroom N[,N...] (e.g. \
             --classroom 1,10,30; it creates that many Unix users, removed at the end)"
        );
    }
    let max = eclat_model::classroom::MAX_LEARNERS;
    if let Some(bad) = args.classroom.iter().find(|n| !(1..=max).contains(*n)) {
        anyhow::bail!(
            "--classroom {bad}: a classroom has 1 to {max} learners (e.g. --classroom 1,10,30)"
        );
    }
    let want = |s: &str| {
        (args.only.is_empty() || args.only.iter().any(|o| o == s))
            && (s != "tui" || args.tui_seconds > 0)
            && (s != "commands" || args.checks)
            && (s != "classroom" || !args.classroom.is_empty())
    };
    let n = SECTIONS.iter().filter(|s| want(s)).count();
    let k = std::sync::atomic::AtomicUsize::new(0);
    let load_average = load_average();
    // each section says what it measures and how long the bench has run so far, so a
    // learner waiting for it sees it move; each one's wall and CPU time go into the report
    let started = Instant::now();
    let cpu0 = figures::cpu_seconds();
    let mut sections: Vec<SectionTime> = Vec::new();
    let mut current: Option<(&str, Instant, f64)> = None;
    let end_section = |sections: &mut Vec<SectionTime>,
                       current: &mut Option<(&'static str, Instant, f64)>| {
        if let Some((name, t0, c0)) = current.take() {
            sections.push(SectionTime {
                section: name.to_string(),
                wall_s: t0.elapsed().as_secs_f64(),
                cpu_s: Some(figures::cpu_seconds() - c0),
                alongside: Vec::new(),
            });
        }
    };
    let say_section = |sections: &mut Vec<SectionTime>,
                       current: &mut Option<(&'static str, Instant, f64)>,
                       name: &'static str,
                       what: &str| {
        end_section(sections, current);
        let k = k.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let last = sections
            .last()
            .map(|t| {
                match t.cpu_s {
                    Some(c) => format!("; {} took {:.1} s, {c:.1} s of CPU", t.section, t.wall_s),
                    // its CPU time is its own process's, reported with its figures
                    None => format!(
                        "; {} took {:.1} s, alongside {}",
                        t.section,
                        t.wall_s,
                        t.alongside.join(" and ")
                    ),
                }
            })
            .unwrap_or_default();
        progress(format!(
            "bench {k}/{n}: {what} ({:.0} s so far{last})",
            started.elapsed().as_secs_f64()
        ));
        *current = Some((name, Instant::now(), figures::cpu_seconds()));
    };
    let runs = args.runs.max(1);
    let topo = if want("topo") {
        say_section(
            &mut sections,
            &mut current,
            "topo",
            "topology up and down, against a shell script of `ip` commands",
        );
        Some(tokio::task::spawn_blocking(move || topo_figures(runs)).await??)
    } else {
        None
    };
    eclat_service::checkpoint(cancel)?;
    let tui_task = if want("tui") {
        end_section(&mut sections, &mut current);
        let k = k.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(format!(
            "bench {k}/{n}: the TUI in a pseudo-terminal (first frame, CPU while idle for {} s), alongside the next sections ({:.0} s so far)",
            args.tui_seconds,
            started.elapsed().as_secs_f64()
        ));
        let bin = std::env::current_exe()?;
        let secs = args.tui_seconds;
        Some(tokio::task::spawn_blocking(move || {
            let t0 = Instant::now();
            let f = figures::measure_tui(
                &bin,
                &LabEnv::for_test("tuibench"),
                Duration::from_secs(secs),
            );
            (t0, f)
        }))
    } else {
        None
    };
    // the sections the TUI runs alongside; if one fails or the bench is stopped, the TUI's
    // task is still waited for (it removes its lab), then the error returned
    let middle = async {
        let comp = if want("compile") {
            say_section(
                &mut sections,
                &mut current,
                "compile",
                "eCLAT compile, against clang on the same chain in C",
            );
            let lab = lab.clone();
            Some(tokio::task::spawn_blocking(move || compile_figures(&lab, runs)).await??)
        } else {
            None
        };
        eclat_service::checkpoint(cancel)?;
        let vm = if want("vm") {
            say_section(
                &mut sections,
                &mut current,
                "vm",
                "the HIKe VM and compiled chains (BPF_PROG_TEST_RUN), against raw programs",
            );
            let samples = args.runs.max(3);
            Some(
                tokio::task::spawn_blocking(move || {
                    eclat_kernel::hike::bench::run(eclat_kernel::hike::bench::BenchOptions {
                        samples,
                        ..Default::default()
                    })
                })
                .await?
                .context("the HIKe VM benchmark")?,
            )
        } else {
            None
        };
        eclat_service::checkpoint(cancel)?;
        anyhow::Ok((comp, vm))
    }
    .await;
    let (comp, vm) = match middle {
        Ok(x) => {
            end_section(&mut sections, &mut current);
            x
        }
        Err(e) => {
            if let Some(task) = tui_task {
                let _ = task.await;
            }
            return Err(e);
        }
    };
    // the TUI in a pseudo-terminal, in a throw-away lab of its own, alongside the compile and
    // VM sections (its figures are its own process's: its first frame and its CPU time)
    let tui = match tui_task {
        Some(task) => {
            let (t0, figures) = task.await?;
            let f = figures?;
            let mut alongside = Vec::new();
            for s in ["compile", "vm"] {
                if want(s) {
                    alongside.push(s.to_string());
                }
            }
            sections.push(SectionTime {
                section: "tui".into(),
                wall_s: t0.elapsed().as_secs_f64(),
                cpu_s: None,
                alongside,
            });
            Some(f)
        }
        None => None,
    };
    eclat_service::checkpoint(cancel)?;
    let cmds = if want("commands") {
        say_section(
            &mut sections,
            &mut current,
            "commands",
            "whole commands: each exercise's `lesson check` (with reuse and without, alternating), the TUI's save -> verdict, topo up/down, load, reload, reset",
        );
        let bin = std::env::current_exe()?;
        let progress = progress.clone();
        let runs = args.check_runs.max(1);
        Some(
            tokio::task::spawn_blocking(move || {
                let say = |s: &str| progress(s.to_string());
                commands::measure(&bin, &LabEnv::for_test("cmdbench"), runs, &say)
            })
            .await??,
        )
    } else {
        None
    };
    eclat_service::checkpoint(cancel)?;
    let room = if want("classroom") {
        let mut sizes = args.classroom.clone();
        sizes.sort_unstable();
        sizes.dedup();
        let sizes_text: Vec<String> = sizes.iter().map(|n| n.to_string()).collect();
        say_section(
            &mut sections,
            &mut current,
            "classroom",
            &format!(
                "a classroom on this server for N = {} (`classroom up N --load ddos.eclat`, cross-talk, idle tutorials after login, `classroom down`; Unix users of a prefix of this run)",
                sizes_text.join(", ")
            ),
        );
        let bin = std::env::current_exe()?;
        let progress = progress.clone();
        let (tui, secs, cancel) = (args.classroom_tui, args.tui_seconds, cancel.clone());
        Some(
            tokio::task::spawn_blocking(move || {
                let say = |s: &str| progress(s.to_string());
                classroom::measure(&bin, &sizes, tui, secs, &cancel, &say)
            })
            .await??,
        )
    } else {
        None
    };
    end_section(&mut sections, &mut current);
    Ok(BenchReport {
        total_wall_s: started.elapsed().as_secs_f64(),
        total_cpu_s: figures::cpu_seconds() - cpu0,
        sections,
        load_average,
        quick: args.quick.then(|| quick_note(&args, &want)),
        topology: topo,
        compile: comp,
        hike: vm,
        tui,
        commands: cmds,
        classroom: room,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_note_names_what_each_section_that_ran_loses() {
        let args = BenchArgs {
            runs: 5,
            tui_seconds: 5,
            checks: true,
            check_runs: 1,
            quick: true,
            only: vec![],
            classroom: vec![],
            classroom_tui: None,
        };
        let all = quick_note(&args, &|_| true);
        for part in [
            "topology figures over 5 runs instead of 15",
            "eCLAT compile over 100 runs instead of 300, clang 5 instead of 15",
            "minimum and median of 5 samples instead of 15",
            "still over 9 loads",
            "TUI CPU over 5 s instead of 30",
            "each check 1 time(s) with and without reuse instead of 5",
        ] {
            assert!(all.contains(part), "{part}: {all}");
        }
        let vm = quick_note(&args, &|s| s == "vm");
        assert!(
            vm.contains("VM case") && !vm.contains("TUI") && !vm.contains("check"),
            "{vm}"
        );
    }
}
