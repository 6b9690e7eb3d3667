//! A classroom on one server, measured as an instructor makes it (`eclat-lab bench --classroom
//! 1,10,30`): for each N, smallest first, `eclat-lab classroom up N --load ddos.eclat --lesson
//! 8` (the real binary, as a whole process) creates N learners (Unix users of a prefix of this
//! run), each with a lab of their own and lesson 8's DDoS policy loaded; then what one lab
//! takes in the kernel (learner 1's pins, read through `eclat_kernel::sys::bpf_usage_below`),
//! what the machine gave (MemAvailable, BPF programs), cross-talk (every learner floods their
//! own lab from their own account at the same time, and each lab must count exactly its own
//! 100 packets), the learners' idle tutorials after they log in (`su - LEARNER` in a
//! pseudo-terminal: their login opens it), and `classroom down`. The smallest N is the
//! baseline: the others' per-lab figures are given as ratios to its, measured in the same
//! run. Every classroom is removed by `classroom down`, also after an error or a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use eclat_service::CancellationToken;
use serde::Serialize;

use super::figures::{PtyTui, clk_tck, cpu_ticks};

/// The maps lesson 8's check empties before its flood (the policy's state and its counters).
const DDOS_MAPS: [&str; 5] = [
    "ip6_hset_srcdst_map",
    "ip6_dst_tbmon_map",
    "ip6_sd_tbmon_map",
    "ip6_sd_dec2zero_map",
    "map_pcpu_mon",
];
/// The flood each learner sends: lesson 8's check's.
const FLOOD: [&str; 9] = [
    "traffic", "--from", "tg", "--to", "fc01::2", "--udp", "5000", "--count", "100",
];
/// How many packets each flood sends.
const FLOOD_PACKETS: u64 = 100;
/// The check's split of one flood when it is over before the token bucket refills: PASS,
/// DROP, REDIRECT, BLACKLISTED (`map_pcpu_mon`'s keys 0 to 3).
const EXACT_SPLIT: [u64; 4] = [10, 1, 0, 89];

/// The classrooms measured, smallest first.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ClassroomFigures {
    /// one entry per classroom size asked (`--classroom`), smallest first: the first is the
    /// baseline of the others' ratios
    pub runs: Vec<ClassroomRun>,
    /// how long the learners' idle tutorials were measured (`--tui-seconds`), in seconds; 0
    /// when they were not
    pub tui_seconds: u64,
    /// the machine's load average over one minute (`/proc/loadavg`) when the section started
    /// and when it ended: every wall time here grows with it
    pub load_average: (f64, f64),
}

/// One classroom of N learners.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ClassroomRun {
    /// how many learners (N)
    pub learners: usize,
    /// the classroom's prefix (the learners' user names start with it), made for this run and
    /// removed at its end
    pub prefix: String,
    /// `eclat-lab classroom up N --load ddos.eclat --lesson 8` as a whole process (users,
    /// homes, sudoers, roster, labs), in milliseconds
    pub up_ms: f64,
    /// its part bringing the N labs up with the policy loaded, all at once (the command's
    /// `labs_ms`), in milliseconds
    pub labs_ms: f64,
    /// the BPF programs of learner 1's lab: pinned below its bpffs root or attached through a
    /// link pinned there
    pub lab_programs: usize,
    /// the BPF maps of learner 1's lab: pinned there or used by its programs
    pub lab_maps: usize,
    /// the kernel's memlock accounting of those programs and maps (bpftool's
    /// `bytes_memlock`), in KiB
    pub lab_bpf_kib: f64,
    /// how much MemAvailable (`/proc/meminfo`) fell over `classroom up`, divided by N, in KiB:
    /// machine-wide, so other processes move it too (negative: it rose)
    pub mem_kib_per_lab: f64,
    /// how many BPF programs the kernel gained over `classroom up`, divided by N
    /// (machine-wide)
    pub programs_per_lab: f64,
    /// every learner flooding their own lab at the same time
    pub crosstalk: CrossTalk,
    /// the learners' tutorials after they log in, idle; null with `--tui-seconds 0`
    pub tui: Option<TuiIdle>,
    /// `eclat-lab classroom down` as a whole process (sessions ended, labs reset, users and
    /// homes deleted), in milliseconds
    pub down_ms: f64,
    /// this classroom's per-lab figures over the smallest one's (1: the same per lab; below 1:
    /// cheaper per lab); null for the smallest itself
    pub vs_smallest: Option<PerLabRatios>,
}

/// Cross-talk: each learner sends lesson 8's check's flood (100 UDP packets from tg to
/// fc01::2) in their own lab, from their own account (`sudo -n eclat-lab traffic ...`), all
/// at the same time.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CrossTalk {
    /// from starting the N floods to the last one's end, in milliseconds
    pub floods_ms: f64,
    /// each lab's `map_pcpu_mon` after the floods, in learner order: PASS, DROP, REDIRECT,
    /// BLACKLISTED packets (summed over CPUs)
    pub counts: Vec<[u64; 4]>,
    /// the labs that counted exactly their own 100 packets: none of another lab's, none lost
    pub exact_100: usize,
    /// of those, the ones with the check's split (PASS 10, DROP 1, BLACKLISTED 89): their
    /// flood was over before the policy's token bucket refilled (on a loaded machine a few
    /// more pass; that is not cross-talk)
    pub exact_split: usize,
    /// the learners (numbered from 1) whose lab did not count exactly 100 packets: cross-talk
    /// or loss; empty when there is none
    pub wrong: Vec<usize>,
}

/// The learners' tutorials, idle after their login opened them.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TuiIdle {
    /// how many learners logged in (`--classroom-tui`, at most N)
    pub logged_in: usize,
    /// how many of their tutorials were running within 60 s of the logins (the ones measured)
    pub started: usize,
    /// how long their CPU was measured, in seconds as actually elapsed
    pub seconds: f64,
    /// the tutorials' CPU time (user + system) together over that period, in % of one core
    pub cpu_percent: f64,
    /// the same per tutorial, in % of one core
    pub cpu_percent_each: f64,
}

/// A classroom's per-lab figures over the smallest classroom's, each null when the smallest
/// one's is 0 or less (no ratio to take).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PerLabRatios {
    /// `classroom up`'s whole time per lab, over the smallest classroom's
    pub up_per_lab: Option<f64>,
    /// the labs' part per lab (`labs_ms` / N), over the smallest classroom's
    pub labs_per_lab: Option<f64>,
    /// learner 1's BPF memory, over the smallest classroom's
    pub lab_bpf: Option<f64>,
    /// MemAvailable's fall per lab, over the smallest classroom's
    pub mem_per_lab: Option<f64>,
    /// one idle tutorial's CPU, over the smallest classroom's
    pub tui_cpu_each: Option<f64>,
    /// `classroom down`'s time per lab, over the smallest classroom's
    pub down_per_lab: Option<f64>,
}

/// What one lab's counters say of its flood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// exactly its 100 packets, split as the check's
    ExactSplit,
    /// exactly its 100 packets, more passed than the check's split (the flood outlasted the
    /// token bucket's refill)
    Exact,
    /// not its 100 packets: another lab's counted, or some lost
    Wrong,
}

/// Judges a lab's `map_pcpu_mon` after its flood of 100 packets.
pub fn judge(counts: [u64; 4]) -> Judgement {
    if counts.iter().sum::<u64>() != FLOOD_PACKETS {
        Judgement::Wrong
    } else if counts == EXACT_SPLIT {
        Judgement::ExactSplit
    } else {
        Judgement::Exact
    }
}

/// The cross-talk figures of the labs' counts.
pub fn crosstalk(floods_ms: f64, counts: Vec<[u64; 4]>) -> CrossTalk {
    let verdicts: Vec<Judgement> = counts.iter().map(|c| judge(*c)).collect();
    CrossTalk {
        floods_ms,
        exact_100: verdicts.iter().filter(|j| **j != Judgement::Wrong).count(),
        exact_split: verdicts
            .iter()
            .filter(|j| **j == Judgement::ExactSplit)
            .count(),
        wrong: (1..)
            .zip(&verdicts)
            .filter(|(_, j)| **j == Judgement::Wrong)
            .map(|(i, _)| i)
            .collect(),
        counts,
    }
}

/// `a / b`, when both are figures a ratio means something for: `b` more than 0, `a` not
/// negative (MemAvailable may rise over a run: other processes free memory meanwhile).
fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a >= 0.0 && a.is_finite()).then(|| a / b)
}

/// Fills each classroom's ratios to the smallest one's (`runs` smallest first).
pub fn with_baseline(runs: &mut [ClassroomRun]) {
    let Some(base) = runs.first().cloned() else {
        return;
    };
    let per = |x: f64, r: &ClassroomRun| x / r.learners.max(1) as f64;
    let each = |r: &ClassroomRun| r.tui.as_ref().map_or(0.0, |t| t.cpu_percent_each);
    for r in runs.iter_mut().skip(1) {
        r.vs_smallest = Some(PerLabRatios {
            up_per_lab: ratio(per(r.up_ms, r), per(base.up_ms, &base)),
            labs_per_lab: ratio(per(r.labs_ms, r), per(base.labs_ms, &base)),
            lab_bpf: ratio(r.lab_bpf_kib, base.lab_bpf_kib),
            mem_per_lab: ratio(r.mem_kib_per_lab, base.mem_kib_per_lab),
            tui_cpu_each: r
                .tui
                .as_ref()
                .and_then(|t| ratio(t.cpu_percent_each, each(&base))),
            down_per_lab: ratio(per(r.down_ms, r), per(base.down_ms, &base)),
        });
    }
}

/// A prefix no other run uses (the pid, the clock and a counter in base 36, and the
/// classroom's size).
fn unique_prefix(n: usize) -> String {
    static K: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let k = K.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut v = std::process::id() as u64 * 1000
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_millis() as u64);
    let mut s = String::new();
    while v > 0 {
        s.insert(0, char::from_digit((v % 36) as u32, 36).unwrap_or('0'));
        v /= 36;
    }
    format!("eb{s}{k}n{n}")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `BIN ARGS` as root, the instructor (from `/`, so no folder of theirs is involved).
fn as_root(bin: &Path, args: &[&str]) -> Result<Output> {
    Command::new(bin)
        .args(args)
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} {}", bin.display(), args.join(" ")))
}

/// `sudo -n BIN ARGS` typed by learner `user` from their account (the classroom's sudoers
/// rule and roster decide what it reaches), to its end.
fn learner_cmd(bin: &Path, user: &str, args: &[&str]) -> Command {
    let mut c = Command::new("sudo");
    c.args(["-n", "-u", user, "--", "sudo", "-n"])
        .arg(bin)
        .args(args)
        .current_dir("/")
        .stdin(Stdio::null());
    c
}

fn as_learner(bin: &Path, user: &str, args: &[&str]) -> Result<String> {
    let o = learner_cmd(bin, user, args)
        .output()
        .context("running sudo (sudo ./setup.sh --deps installs it)")?;
    if !o.status.success() {
        bail!(
            "learner {user}: `sudo -n eclat-lab {}` failed: {}",
            args.join(" "),
            text(&o).trim()
        );
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

fn mem_available_kib() -> Result<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").context("reading /proc/meminfo")?;
    s.lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("/proc/meminfo has no MemAvailable")
}

fn load_1min() -> f64 {
    super::load_average().map_or(0.0, |l| l[0])
}

/// `map_pcpu_mon`'s PASS, DROP, REDIRECT and BLACKLISTED from `map dump --json`.
fn mon_counts(json: &str) -> Result<[u64; 4]> {
    let v: serde_json::Value = serde_json::from_str(json).context("map dump --json")?;
    let rows = v["rows"]
        .as_array()
        .context("map dump --json has no rows")?;
    let mut c = [0u64; 4];
    for r in rows {
        let key = r["key"]
            .as_u64()
            .or_else(|| r["key"].as_str()?.parse().ok());
        let value = r["value"]
            .as_u64()
            .or_else(|| r["value"].as_str()?.split_whitespace().next()?.parse().ok());
        if let (Some(k @ 0..=3), Some(v)) = (key, value) {
            c[k as usize] = v;
        }
    }
    Ok(c)
}

/// The classroom of one run: `classroom down` when dropped (an error or a panic included)
/// unless it was taken down already, its learners' terminals closed first; then the folder
/// with the script.
struct Classroom {
    bin: PathBuf,
    prefix: String,
    dir: PathBuf,
    terminals: Vec<PtyTui>,
    up: bool,
    /// reaps the learners' login shells orphaned when their terminals close (see
    /// [`eclat_kernel::classroom::OrphanReaper`]: closing a bench terminal kills its `su`)
    reaper: Option<eclat_kernel::classroom::OrphanReaper>,
}

impl Classroom {
    /// Closes the learners' terminals (their tutorials get SIGHUP) and waits up to 5 s for
    /// the tutorials `pids` to end.
    fn log_out(&mut self, pids: &[u32]) {
        self.terminals.clear();
        let until = Instant::now() + Duration::from_secs(5);
        while pids
            .iter()
            .any(|p| Path::new(&format!("/proc/{p}")).exists())
            && Instant::now() < until
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `classroom down`, timed.
    fn down(&mut self) -> Result<f64> {
        self.terminals.clear();
        self.up = false;
        let t0 = Instant::now();
        let o = as_root(&self.bin, &["classroom", "down", "--prefix", &self.prefix])?;
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        if !o.status.success() {
            bail!(
                "`eclat-lab classroom down --prefix {}` failed: {} (run it again to finish)",
                self.prefix,
                text(&o).trim()
            );
        }
        Ok(ms)
    }
}

impl Drop for Classroom {
    fn drop(&mut self) {
        if self.up
            && let Err(e) = self.down()
        {
            eprintln!("{e:#}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The eclat-lab processes run for the learner of `uid` through sudo (their tutorial).
fn tutorials_of(uid: u32) -> Vec<u32> {
    eclat_kernel::classroom::processes_of(uid)
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .is_ok_and(|c| c.trim() == "eclat-lab")
        })
        .map(|p| p as u32)
        .collect()
}

/// Measures a classroom of each size in `sizes` (ascending, each fresh, removed before the
/// next), with `bin` as the instructor's binary; `tui` learners log in (at most N each time;
/// None: all N) and their tutorials' CPU is measured over `tui_seconds` (0: not at all).
pub fn measure(
    bin: &Path,
    sizes: &[usize],
    tui: Option<usize>,
    tui_seconds: u64,
    cancel: &CancellationToken,
    say: &dyn Fn(&str),
) -> Result<ClassroomFigures> {
    let mut sizes = sizes.to_vec();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.first() == Some(&0) {
        bail!("a classroom has at least one learner (--classroom 1,10,30)");
    }
    let load0 = load_1min();
    let mut runs = Vec::new();
    for n in sizes {
        eclat_service::checkpoint(cancel)?;
        let k = tui.unwrap_or(n).min(n);
        runs.push(one(bin, n, k, tui_seconds, cancel, say).with_context(|| {
            format!("the classroom of {n} (removed again with `classroom down`)")
        })?);
    }
    with_baseline(&mut runs);
    Ok(ClassroomFigures {
        runs,
        tui_seconds,
        load_average: (load0, load_1min()),
    })
}

fn one(
    bin: &Path,
    n: usize,
    k: usize,
    tui_seconds: u64,
    cancel: &CancellationToken,
    say: &dyn Fn(&str),
) -> Result<ClassroomRun> {
    let prefix = unique_prefix(n);
    // lesson 8's solution, as the instructor's file: root's, readable by all
    let dir = std::env::temp_dir().join(format!("eclat-lab-bench-{prefix}"));
    let mut room = Classroom {
        bin: bin.to_path_buf(),
        prefix: prefix.clone(),
        dir: dir.clone(),
        terminals: Vec::new(),
        up: false,
        reaper: None,
    };
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .mode(0o755)
            .create(&dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let les = eclat_course::lessons::find("8")?;
    let script = eclat_course::lessons::exercise_file(&les, "solution", "ddos.eclat")
        .context("lesson 8 has no solution ddos.eclat")?;
    let script_path = dir.join("ddos.eclat");
    std::fs::write(&script_path, script)?;
    let script_arg = script_path.display().to_string();
    let n_arg = n.to_string();

    say(&format!(
        "  classroom of {n}: `classroom up {n} --prefix {prefix} --load ddos.eclat --lesson 8`"
    ));
    let mem0 = mem_available_kib()?;
    let progs0 = eclat_kernel::sys::prog_count().context("counting the machine's BPF programs")?;
    let t0 = Instant::now();
    room.up = true;
    let o = as_root(
        bin,
        &[
            "--json",
            "classroom",
            "up",
            &n_arg,
            "--prefix",
            &prefix,
            "--load",
            &script_arg,
            "--lesson",
            "8",
        ],
    )?;
    let up_ms = t0.elapsed().as_secs_f64() * 1000.0;
    if !o.status.success() {
        bail!("`eclat-lab classroom up {n}` failed: {}", text(&o).trim());
    }
    let mem1 = mem_available_kib()?;
    let progs1 = eclat_kernel::sys::prog_count().context("counting the machine's BPF programs")?;
    let reply: serde_json::Value =
        serde_json::from_slice(&o.stdout).context("classroom up --json")?;
    let labs_ms = reply["labs_ms"]
        .as_f64()
        .context("classroom up --json has no labs_ms")?;
    let learners: Vec<(String, u32, PathBuf)> = reply["learners"]
        .as_array()
        .context("classroom up --json has no learners")?
        .iter()
        .map(|l| {
            Some((
                l["user"].as_str()?.to_string(),
                l["uid"].as_u64()? as u32,
                PathBuf::from(l["bpffs"].as_str()?),
            ))
        })
        .collect::<Option<_>>()
        .context("classroom up --json: a learner without user, uid or bpffs")?;
    if learners.len() != n {
        bail!("classroom up {n} made {} learners, not {n}", learners.len());
    }
    let usage = eclat_kernel::sys::bpf_usage_below(&learners[0].2).with_context(|| {
        format!(
            "reading the BPF objects pinned below {}",
            learners[0].2.display()
        )
    })?;

    eclat_service::checkpoint(cancel)?;
    say(&format!(
        "  classroom of {n}: each learner empties their lab's maps, then all flood at once (100 packets each, from their own account)"
    ));
    std::thread::scope(|s| -> Result<()> {
        let tasks: Vec<_> = learners
            .iter()
            .map(|(user, _, _)| {
                s.spawn(move || -> Result<()> {
                    for m in DDOS_MAPS {
                        as_learner(bin, user, &["map", "clear", m])?;
                    }
                    Ok(())
                })
            })
            .collect();
        for t in tasks {
            t.join()
                .map_err(|_| anyhow::anyhow!("a learner's map clear panicked"))??;
        }
        Ok(())
    })?;
    let t1 = Instant::now();
    let floods: Vec<(String, std::process::Child)> = learners
        .iter()
        .map(|(user, _, _)| {
            let child = learner_cmd(bin, user, &FLOOD)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .context("running sudo")?;
            Ok((user.clone(), child))
        })
        .collect::<Result<_>>()?;
    let mut failed = Vec::new();
    for (user, child) in floods {
        let o = child.wait_with_output()?;
        if !o.status.success() {
            failed.push(format!("{user}: {}", text(&o).trim()));
        }
    }
    let floods_ms = t1.elapsed().as_secs_f64() * 1000.0;
    if !failed.is_empty() {
        bail!(
            "the learners' floods (`sudo -n eclat-lab {}`) failed:\n{}",
            FLOOD.join(" "),
            failed.join("\n")
        );
    }
    // the packets are counted as the receiving side's NAPI runs: wait for each lab's 100 (at
    // most 5 s), then take what it has
    let mut counts = Vec::new();
    for (user, _, _) in &learners {
        let until = Instant::now() + Duration::from_secs(5);
        let c = loop {
            let c = mon_counts(&as_learner(
                bin,
                user,
                &["--json", "map", "dump", "map_pcpu_mon"],
            )?)?;
            if c.iter().sum::<u64>() >= FLOOD_PACKETS || Instant::now() > until {
                break c;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        counts.push(c);
    }
    let crosstalk = crosstalk(floods_ms, counts);

    let tui = if k > 0 && tui_seconds > 0 {
        eclat_service::checkpoint(cancel)?;
        say(&format!(
            "  classroom of {n}: {k} learners log in (`su - LEARNER` in a terminal: their login opens the tutorial), idle for {tui_seconds} s"
        ));
        for (user, _, _) in learners.iter().take(k) {
            let t = PtyTui::spawn(Path::new("su"), &["-", user.as_str()], &[], 120, 40)
                .with_context(|| format!("logging {user} in with `su - {user}`"))?;
            room.terminals.push(t);
        }
        let until = Instant::now() + Duration::from_secs(60);
        let found = || -> Vec<u32> {
            learners
                .iter()
                .take(k)
                .flat_map(|(_, uid, _)| tutorials_of(*uid))
                .collect()
        };
        let mut pids = found();
        while pids.len() < k && Instant::now() < until {
            for t in &mut room.terminals {
                t.clear();
            }
            std::thread::sleep(Duration::from_millis(200));
            pids = found();
        }
        if pids.is_empty() {
            bail!(
                "none of the {k} learners' tutorials started within 60 s of their login (`su - {}` \
                 should open it: see its ~/.bash_profile)",
                learners[0].0
            );
        }
        // let them settle (their first frame, the first polls), then measure
        let settle = Instant::now() + Duration::from_secs(5);
        while Instant::now() < settle {
            for t in &mut room.terminals {
                t.clear();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let ticks = |pids: &[u32]| -> Result<u64> {
            pids.iter()
                .map(|p| {
                    cpu_ticks(*p).with_context(|| {
                        format!("a learner's tutorial (pid {p}) ended while it was measured")
                    })
                })
                .sum()
        };
        let c0 = ticks(&pids)?;
        let t0 = Instant::now();
        let until = t0 + Duration::from_secs(tui_seconds);
        while Instant::now() < until {
            eclat_service::checkpoint(cancel)?;
            for t in &mut room.terminals {
                t.clear();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let c1 = ticks(&pids)?;
        let seconds = t0.elapsed().as_secs_f64();
        let cpu_percent = (c1 - c0) as f64 / clk_tck() / seconds * 100.0;
        room.reaper = Some(
            eclat_kernel::classroom::OrphanReaper::start(
                learners
                    .iter()
                    .take(k)
                    .flat_map(|(_, uid, _)| eclat_kernel::classroom::processes_of(*uid))
                    .map(|p| p as u32)
                    .collect(),
            )
            .context("making the bench reap the learners' login shells (a child subreaper)")?,
        );
        room.log_out(&pids);
        Some(TuiIdle {
            logged_in: k,
            started: pids.len(),
            seconds,
            cpu_percent,
            cpu_percent_each: cpu_percent / pids.len() as f64,
        })
    } else {
        None
    };

    say(&format!(
        "  classroom of {n}: `classroom down --prefix {prefix}`"
    ));
    let down_ms = room.down()?;
    Ok(ClassroomRun {
        learners: n,
        prefix,
        up_ms,
        labs_ms,
        lab_programs: usage.programs.len(),
        lab_maps: usage.maps.len(),
        lab_bpf_kib: usage.memlock_bytes as f64 / 1024.0,
        mem_kib_per_lab: (mem0 as f64 - mem1 as f64) / n as f64,
        programs_per_lab: (progs1 as f64 - progs0 as f64) / n as f64,
        crosstalk,
        tui,
        down_ms,
        vs_smallest: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(n: usize, up_ms: f64, bpf: f64, mem: f64, each: Option<f64>) -> ClassroomRun {
        ClassroomRun {
            learners: n,
            prefix: format!("p{n}"),
            up_ms,
            labs_ms: up_ms / 2.0,
            lab_programs: 12,
            lab_maps: 30,
            lab_bpf_kib: bpf,
            mem_kib_per_lab: mem,
            programs_per_lab: 12.0,
            crosstalk: crosstalk(50.0, vec![EXACT_SPLIT; n]),
            tui: each.map(|e| TuiIdle {
                logged_in: n,
                started: n,
                seconds: 30.0,
                cpu_percent: e * n as f64,
                cpu_percent_each: e,
            }),
            down_ms: up_ms / 4.0,
            vs_smallest: None,
        }
    }

    #[test]
    fn a_lab_is_right_only_with_exactly_its_100_packets() {
        assert_eq!(judge([10, 1, 0, 89]), Judgement::ExactSplit);
        assert_eq!(judge([12, 1, 0, 87]), Judgement::Exact);
        // one of another lab's packets, or one lost
        assert_eq!(judge([10, 1, 0, 90]), Judgement::Wrong);
        assert_eq!(judge([10, 1, 0, 88]), Judgement::Wrong);
        assert_eq!(judge([0, 0, 0, 0]), Judgement::Wrong);
        let c = crosstalk(
            10.0,
            vec![
                [10, 1, 0, 89],
                [11, 1, 0, 88],
                [10, 1, 0, 90],
                [20, 0, 0, 0],
            ],
        );
        assert_eq!((c.exact_100, c.exact_split), (2, 1));
        assert_eq!(c.wrong, vec![3, 4], "numbered from 1");
    }

    #[test]
    fn per_lab_ratios_are_to_the_smallest_classroom() {
        // N=1: 1000 ms up; N=10: 4000 ms up (400 per lab: 0.4x); BPF the same; memory per lab
        // half; the tutorial 1.5 times; the baseline's memory fell by nothing: no ratio
        let mut runs = vec![
            run(1, 1000.0, 500.0, 2048.0, Some(0.2)),
            run(10, 4000.0, 500.0, 1024.0, Some(0.3)),
            run(30, 9000.0, 510.0, 1024.0, None),
        ];
        with_baseline(&mut runs);
        assert!(runs[0].vs_smallest.is_none());
        let r = runs[1].vs_smallest.as_ref().unwrap();
        assert!((r.up_per_lab.unwrap() - 0.4).abs() < 1e-9, "{r:?}");
        assert!((r.labs_per_lab.unwrap() - 0.4).abs() < 1e-9, "{r:?}");
        assert!((r.down_per_lab.unwrap() - 0.4).abs() < 1e-9, "{r:?}");
        assert!((r.lab_bpf.unwrap() - 1.0).abs() < 1e-9, "{r:?}");
        assert!((r.mem_per_lab.unwrap() - 0.5).abs() < 1e-9, "{r:?}");
        assert!((r.tui_cpu_each.unwrap() - 1.5).abs() < 1e-9, "{r:?}");
        let r = runs[2].vs_smallest.as_ref().unwrap();
        assert!((r.up_per_lab.unwrap() - 0.3).abs() < 1e-9, "{r:?}");
        assert_eq!(r.tui_cpu_each, None, "no tutorial measured");
        let mut runs = vec![
            run(1, 1000.0, 500.0, -4.0, None),
            run(2, 1000.0, 0.0, 8.0, None),
            run(3, 1000.0, 0.0, -8.0, None),
        ];
        with_baseline(&mut runs);
        let r = runs[1].vs_smallest.as_ref().unwrap();
        assert_eq!(r.mem_per_lab, None, "MemAvailable rose for the baseline");
        runs[0].mem_kib_per_lab = 4.0;
        with_baseline(&mut runs);
        let r = runs[2].vs_smallest.as_ref().unwrap();
        assert_eq!(r.mem_per_lab, None, "MemAvailable rose for this one");
        assert!((r.up_per_lab.unwrap() - 1.0 / 3.0).abs() < 1e-9, "{r:?}");
        let r = runs[1].vs_smallest.as_ref().unwrap();
        assert!((r.mem_per_lab.unwrap() - 2.0).abs() < 1e-9, "{r:?}");
        assert!((r.up_per_lab.unwrap() - 0.5).abs() < 1e-9, "{r:?}");
        assert_eq!(r.lab_bpf, Some(0.0));
    }

    #[test]
    fn map_pcpu_mon_rows_read_as_the_four_verdicts() {
        let json = r#"{"rows":[{"key":0,"value":10},{"key":"1","value":"1 (0 1)"},{"key":3,"value":89},{"key":7,"value":5}]}"#;
        assert_eq!(mon_counts(json).unwrap(), [10, 1, 0, 89]);
    }

    #[test]
    fn prefixes_are_valid_classroom_prefixes() {
        let p = unique_prefix(30);
        eclat_model::classroom::check_prefix(&p).unwrap();
        assert_ne!(p, unique_prefix(30), "two runs of one process differ");
    }
}
