//! The TUI's figures, measured on the real binary in a pseudo-terminal: time to first frame
//! and CPU while polling four map panels at 10 Hz. For `eclat-lab bench` (call
//! [`measure_tui`] with `std::env::current_exe()`) and the end-to-end tests (which include
//! this file), so it depends on nothing but std, libc, anyhow and `LabEnv`.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use eclat_kernel::LabEnv;

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct TuiFigures {
    /// from spawning the process to the lesson title arriving on the terminal
    pub first_frame_ms: f64,
    /// from the start of `main`'s TUI code to the end of the first draw (the TUI's own trace)
    pub first_frame_internal_ms: f64,
    /// utime+stime of the whole process over the idle period, in % of one core
    pub idle_cpu_percent: f64,
    /// the maps the sampler read (found and dumped) in its last poll of the idle period, as
    /// the TUI's trace (`<ECLAT_LAB_TUI_TRACE>.polls`) says
    pub maps_polled: usize,
    /// the sampler's polls per second over the idle period (10 Hz nominal)
    pub polls_per_sec: f64,
    /// how long the idle CPU was measured (`--tui-seconds`), in seconds as actually elapsed
    pub idle_secs: f64,
}

/// The environment variables that make `bin` use `env` instead of the learner's lab (and
/// keep the learner's workspace and progress file out of it: they go below the state dir).
pub fn env_vars(env: &LabEnv) -> Vec<(String, String)> {
    vec![
        (
            "ECLAT_LAB_STATE".into(),
            env.state_dir.display().to_string(),
        ),
        (
            "ECLAT_LAB_BPFFS".into(),
            env.bpffs_root.display().to_string(),
        ),
        ("ECLAT_LAB_NS_PREFIX".into(), env.ns_prefix.clone()),
        (
            "ECLAT_LAB_WORKSPACE".into(),
            env.state_dir.join("workspace").display().to_string(),
        ),
        (
            "ECLAT_LAB_PROGRESS".into(),
            env.state_dir.join("progress.toml").display().to_string(),
        ),
    ]
}

fn cli(bin: &Path, env: &LabEnv, args: &[&str]) -> Result<String> {
    Ok(run_timed(bin, env, args, &[])?.1)
}

/// Runs `bin args` against `env` (with `extra` variables too), to its end: its wall time in
/// milliseconds and its standard output; an error with its output when it fails.
pub fn run_timed(
    bin: &Path,
    env: &LabEnv,
    args: &[&str],
    extra: &[(&str, &str)],
) -> Result<(f64, String)> {
    let (ms, ok, out) = run_timed_status(bin, env, args, extra)?;
    if !ok {
        bail!("`eclat-lab {}` failed: {out}", args.join(" "));
    }
    Ok((ms, out))
}

/// [`run_timed`] whatever the command's exit status: (wall ms, whether it exited 0, its
/// stdout, and its stderr after it when it failed).
pub fn run_timed_status(
    bin: &Path,
    env: &LabEnv,
    args: &[&str],
    extra: &[(&str, &str)],
) -> Result<(f64, bool, String)> {
    let t0 = Instant::now();
    let out = Command::new(bin)
        .args(args)
        .envs(env_vars(env))
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} {}", bin.display(), args.join(" ")))?;
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        text.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    Ok((ms, out.status.success(), text))
}

/// The CPU time (user + system, ms) of this process's children that it has waited for, and
/// of theirs (`RUSAGE_CHILDREN`); 0 if it cannot be read.
pub fn children_cpu_ms() -> f64 {
    // SAFETY: getrusage writes the struct it is given, nothing else
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) } != 0 {
        return 0.0;
    }
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    ms(u.ru_utime) + ms(u.ru_stime)
}

/// utime + stime of a process, in clock ticks.
/// The CPU time, in seconds, this process and its waited-for children have used so far.
pub fn cpu_seconds() -> f64 {
    let used = |who| {
        // SAFETY: getrusage fills the zeroed struct it is given, nothing else.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(who, &mut u) } != 0 {
            return 0.0;
        }
        let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
        t(u.ru_utime) + t(u.ru_stime)
    };
    used(libc::RUSAGE_SELF) + used(libc::RUSAGE_CHILDREN)
}

/// Clock ticks per second, the unit of a process's CPU time in `/proc/<pid>/stat`.
pub fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64).max(1.0)
}

pub(crate) fn cpu_ticks(pid: u32) -> Result<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // fields after the command name (which may hold spaces) start at field 3
    let rest = &s[s.rfind(')').context("malformed stat")? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Ok(f[11].parse::<u64>()? + f[12].parse::<u64>()?)
}

/// The TUI in a pseudo-terminal of `cols` x `rows`, its output collected by a thread.
pub struct PtyTui {
    pub child: Child,
    master: std::fs::File,
    out: mpsc::Receiver<Vec<u8>>,
    pub screen: Vec<u8>,
    pub spawned: Instant,
}

impl PtyTui {
    pub fn spawn(
        bin: &Path,
        args: &[&str],
        envs: &[(String, String)],
        cols: u16,
        rows: u16,
    ) -> Result<Self> {
        let (mut m, mut s) = (0, 0);
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes two descriptors; the name and termios may be null
        let rc =
            unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws) };
        if rc != 0 {
            bail!("openpty: {}", std::io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just opened and are owned here
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) };
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .envs(envs.iter().cloned())
            .env("TERM", "xterm-256color")
            .stdin(Stdio::from(slave.try_clone()?))
            .stdout(Stdio::from(slave.try_clone()?))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let spawned = Instant::now();
        let child = cmd.spawn().context("spawning the TUI")?;
        drop(cmd);
        let master = std::fs::File::from(master);
        let mut reader = master.try_clone()?;
        let (tx, out) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            child,
            master,
            out,
            screen: Vec::new(),
            spawned,
        })
    }

    pub fn send(&mut self, keys: &str) -> Result<()> {
        self.master.write_all(keys.as_bytes())?;
        Ok(())
    }

    /// Waits until the output so far contains `needle`; returns when it arrived.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> Result<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            if contains(&self.screen, needle.as_bytes()) {
                return Ok(Instant::now());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!(
                    "`{needle}` did not appear within {timeout:?}; the output ends with: {}",
                    String::from_utf8_lossy(&self.screen[self.screen.len().saturating_sub(400)..])
                );
            }
            match self.out.recv_timeout(left) {
                Ok(b) => self.screen.extend(b),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    bail!("the TUI exited before `{needle}` appeared")
                }
            }
        }
    }

    /// Drains the output and forgets it (so later waits see only new output).
    pub fn clear(&mut self) {
        while let Ok(b) = self.out.try_recv() {
            drop(b);
        }
        self.screen.clear();
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            while let Ok(b) = self.out.try_recv() {
                self.screen.extend(b);
            }
            if let Some(st) = self.child.try_wait()? {
                return Ok(st);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                bail!("the TUI did not exit within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PtyTui {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Measures the TUI of `bin` against the lab instance `env` (which must be a throw-away
/// one: the lab is brought up, measured and reset). Needs root. `idle` is how long the CPU
/// is measured (the figure's definition: 30 s).
pub fn measure_tui(bin: &Path, env: &LabEnv, idle: Duration) -> Result<TuiFigures> {
    let r = measure_inner(bin, env, idle);
    let reset = cli(bin, env, &["reset"]);
    // its state folder (the trace, the workspace) goes too: every run left one in /tmp
    if reset.is_ok() {
        let _ = std::fs::remove_dir_all(&env.state_dir);
    }
    let f = r?;
    reset?;
    Ok(f)
}

fn measure_inner(bin: &Path, env: &LabEnv, idle: Duration) -> Result<TuiFigures> {
    cli(bin, env, &["topo", "up"])?;
    cli(
        bin,
        env,
        &["xdp", "attach", "xdp_counter", "sut", "enp6s0f0"],
    )?;
    let trace = env.state_dir.join("tui-trace");
    let _ = std::fs::remove_file(&trace);
    let _ = std::fs::remove_file(env.state_dir.join("tui-trace.polls"));
    let mut envs = env_vars(env);
    envs.push(("ECLAT_LAB_TUI_TRACE".into(), trace.display().to_string()));
    let mut tui = PtyTui::spawn(bin, &["tutorial", "1"], &envs, 120, 40)?;
    let seen = tui.wait_for("Hello XDP", Duration::from_secs(10))?;
    let first_frame_ms = seen.duration_since(tui.spawned).as_secs_f64() * 1000.0;
    // the lesson's two panels plus two more: four maps polled at 10 Hz
    tui.send(":map watch lab/xdp_counter/pkt_count\r")?;
    tui.send("map watch xdp_counter/verdict\r\x1b")?;
    tui.wait_for("watching xdp_counter/verdict", Duration::from_secs(10))?;
    let internal = std::fs::read_to_string(&trace)
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("first_frame_us="))?
                .parse::<f64>()
                .ok()
        })
        .context("the TUI wrote no first-frame trace")?;
    // settle until the sampler has read all four maps, then measure
    let polls_file = env.state_dir.join("tui-trace.polls");
    let polls = || -> Option<(u64, Vec<String>)> {
        let s = std::fs::read_to_string(&polls_file).ok()?;
        let n = s
            .lines()
            .find_map(|l| l.strip_prefix("polls="))?
            .parse()
            .ok()?;
        let read = s.lines().find_map(|l| l.strip_prefix("read="))?;
        Some((n, read.split_whitespace().map(String::from).collect()))
    };
    let settle = Instant::now() + Duration::from_secs(10);
    while polls().is_none_or(|(_, r)| r.len() < 4) && Instant::now() < settle {
        tui.clear();
        std::thread::sleep(Duration::from_millis(50));
    }
    let p0 = polls().map_or(0, |(n, _)| n);
    let pid = tui.child.id();
    let c0 = cpu_ticks(pid)?;
    let t0 = Instant::now();
    let deadline = t0 + idle;
    // keep draining the output so the TUI never blocks on a full pty
    while Instant::now() < deadline {
        tui.clear();
        std::thread::sleep(Duration::from_millis(100));
    }
    let c1 = cpu_ticks(pid)?;
    let secs = t0.elapsed().as_secs_f64();
    let (p1, read) = polls().context("the TUI's sampler wrote no poll trace")?;
    // SAFETY: sysconf has no preconditions
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    // quitting asks first (it removes the lab): y confirms
    tui.send("qy")?;
    tui.wait_exit(Duration::from_secs(15))?;
    Ok(TuiFigures {
        first_frame_ms,
        first_frame_internal_ms: internal / 1000.0,
        idle_cpu_percent: (c1 - c0) as f64 / hz / secs * 100.0,
        maps_polled: read.len(),
        polls_per_sec: p1.saturating_sub(p0) as f64 / secs,
        idle_secs: secs,
    })
}

/// From saving an exercise file to the verdict on the TUI's screen.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct SaveFigure {
    /// the lesson's number
    pub lesson: u32,
    /// the exercise whose file was saved
    pub exercise: String,
    /// the reference solution written over the starter, until `PASS` is drawn (each run
    /// follows a save of the starter, which fails)
    pub save_to_pass_ms: Vec<f64>,
    /// the first save of the session (the session's reused HIKe VMs are verified then)
    pub first_ms: f64,
    /// why this lesson's figure is missing (the others are measured all the same)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Writes `text` to `path` as an editor saving in place does (open, write, close).
fn save(path: &Path, text: &str) -> Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// For each `(lesson number, exercise id, file, starter, solution)`: the TUI on that lesson
/// (its first exercise current), the solution saved over the starter `runs` times (each
/// after a save of the starter, which fails); the time from each save to the frame with the
/// verdict, as the TUI's trace (`ECLAT_LAB_TUI_TRACE`) records it.
pub fn measure_saves(
    bin: &Path,
    env: &LabEnv,
    cases: &[(u32, String, std::path::PathBuf, String, String)],
    runs: u32,
) -> Result<Vec<SaveFigure>> {
    let trace = env.state_dir.join("tui-verdicts");
    std::fs::create_dir_all(&env.state_dir)?;
    let mut envs = env_vars(env);
    envs.push(("ECLAT_LAB_TUI_TRACE".into(), trace.display().to_string()));
    let mut out = Vec::new();
    for (lesson, exercise, file, starter, solution) in cases {
        match save_figure(
            bin, &envs, &trace, *lesson, exercise, file, starter, solution, runs,
        ) {
            Ok(f) => out.push(f),
            Err(e) => out.push(SaveFigure {
                lesson: *lesson,
                exercise: exercise.clone(),
                save_to_pass_ms: vec![],
                first_ms: 0.0,
                error: Some(format!("{e:#}")),
            }),
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn save_figure(
    bin: &Path,
    envs: &[(String, String)],
    trace: &Path,
    lesson: u32,
    exercise: &str,
    file: &Path,
    starter: &str,
    solution: &str,
    runs: u32,
) -> Result<SaveFigure> {
    {
        let _ = std::fs::remove_file(trace);
        // the learner's copy, as the TUI would make it: the starter
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        save(file, starter)?;
        let mut tui = PtyTui::spawn(bin, &["tutorial", &lesson.to_string()], envs, 160, 45)?;
        // saves count once the exercise file's watcher is set up
        let deadline = Instant::now() + Duration::from_secs(30);
        while !std::fs::read_to_string(trace).is_ok_and(|t| t.contains("watching=")) {
            if Instant::now() > deadline {
                bail!("lesson {lesson}: the TUI watched no exercise file within 30 s");
            }
            tui.clear();
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut seen = 0usize;
        let mut one = |text: &str, pass: bool| -> Result<f64> {
            let now_us = || {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_micros())
                    .unwrap_or(0)
            };
            let t0 = now_us();
            save(file, text)?;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                tui.clear();
                let lines: Vec<String> = std::fs::read_to_string(trace)
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| l.starts_with("verdict_unix_us="))
                    .map(str::to_string)
                    .collect();
                if lines.len() > seen {
                    seen = lines.len();
                    let l = &lines[seen - 1];
                    let us: u128 = l
                        .split_whitespace()
                        .next()
                        .and_then(|f| f.strip_prefix("verdict_unix_us="))
                        .and_then(|n| n.parse().ok())
                        .context("a malformed verdict line")?;
                    if l.ends_with(&format!("passed={pass}")) {
                        return Ok(us.saturating_sub(t0) as f64 / 1000.0);
                    }
                    bail!("lesson {lesson} {exercise}: the verdict was not passed={pass}: {l}");
                }
                if Instant::now() > deadline {
                    bail!("lesson {lesson} {exercise}: no verdict within 60 s of the save");
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        };
        let first_ms = one(solution, true)?;
        let mut v = Vec::new();
        for _ in 0..runs {
            one(starter, false)?;
            v.push(one(solution, true)?);
        }
        tui.send("qy")?;
        tui.wait_exit(Duration::from_secs(15))?;
        Ok(SaveFigure {
            lesson,
            exercise: exercise.to_string(),
            save_to_pass_ms: v,
            first_ms,
            error: None,
        })
    }
}
