//! The tmux harness shared by the TUI's end-to-end tests: an isolated lab per test, the TUI
//! in a tmux session, bounded polling of the screen, and cleanup (tmux, `reset`, files) even
//! when a test fails.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use eclat_kernel::LabEnv;

#[path = "../../src/bench/figures.rs"]
pub mod figures;

pub const BIN: &str = env!("CARGO_BIN_EXE_eclat-lab");

pub fn need_root() {
    assert!(
        eclat_kernel::doctor::privileged(),
        "the TUI end-to-end tests drive the real kernel: run them as root (sudo -E cargo test)"
    );
}

/// An isolated lab: `/tmp/eclat-<kind>-<id>`, `/sys/fs/bpf/eclat-<kind>-<id>`, namespaces
/// `<ns>-<id>-*`.
pub fn lab(kind: &str, ns: &str, tag: &str) -> LabEnv {
    let id = format!("{tag}{:x}", std::process::id() % 0xfff);
    LabEnv {
        state_dir: std::env::temp_dir().join(format!("eclat-{kind}-{id}")),
        bpffs_root: PathBuf::from(format!("/sys/fs/bpf/eclat-{kind}-{id}")),
        ns_prefix: format!("{ns}{id}-"),
    }
}

/// The namespaces of `env` that exist, sorted.
pub fn namespaces(env: &LabEnv) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&env.ns_prefix))
        .collect();
    v.sort();
    v
}

/// Namespaces and the bpffs root of `env` that still exist.
pub fn leftovers(env: &LabEnv) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&env.ns_prefix))
                .collect()
        })
        .unwrap_or_default();
    if env.bpffs_root.exists() {
        v.push(env.bpffs_root.display().to_string());
    }
    v
}

/// The value of the `label` row of a map panel (`│  packets     100   10/s ▁▂`).
pub fn panel_value(screen: &str, label: &str) -> Option<u64> {
    let pat = format!("│  {label} ");
    screen.lines().find_map(|l| {
        let (_, rest) = l.rsplit_once(&pat)?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// A tmux session running the TUI; dropping it kills the session, resets the lab and
/// removes its files.
pub struct Tmux {
    pub name: String,
    pub env: LabEnv,
    /// `K=V ` pairs put before the binary
    pub vars: String,
    pub started: Instant,
}

impl Tmux {
    /// A session named after `tag` for `env`, with `extra` variables; nothing runs yet.
    pub fn new(env: &LabEnv, tag: &str, extra: &[(&str, String)]) -> Self {
        std::fs::create_dir_all(&env.state_dir).unwrap();
        let mut vars: String = figures::env_vars(env)
            .into_iter()
            .map(|(k, v)| format!("{k}={v} "))
            .collect();
        for (k, v) in extra {
            vars.push_str(&format!("{k}={v} "));
        }
        Tmux {
            name: format!("eclat-{tag}-{}-{}", std::process::id(), env.ns_prefix),
            env: env.clone(),
            vars,
            started: Instant::now(),
        }
    }

    /// Runs the TUI with `args` in a new tmux session (the shell line reports the exit
    /// status and keeps the pane for the last capture).
    pub fn launch(&mut self, args: &str, cols: u16, rows: u16) {
        let line = format!(
            "env {}RUST_BACKTRACE=0 {BIN} {args}; echo TUI-EXITED=$?; sleep 600",
            self.vars
        );
        self.new_session(&line, cols, rows);
    }

    /// An interactive shell (bash without rc files, prompt `lab$ `) in a new tmux session,
    /// with the lab's variables exported: the test types commands as a learner would.
    pub fn launch_shell(&mut self, cols: u16, rows: u16) {
        let line = format!(
            "env {}RUST_BACKTRACE=0 PS1='lab$ ' bash --norc --noprofile -i",
            self.vars
        );
        self.new_session(&line, cols, rows);
    }

    /// A detached tmux session of this harness running the shell line `line`. Right after the
    /// last session of the server ended (`close`), the server may be on its way out and the
    /// new session's client reach it as it exits ("server exited unexpectedly"): tried again,
    /// until the session exists (a new server starts), for 10 s at most.
    fn new_session(&mut self, line: &str, cols: u16, rows: u16) {
        self.started = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let o = Command::new("tmux")
                .args(["new-session", "-d", "-s", &self.name])
                .args(["-x", &cols.to_string(), "-y", &rows.to_string()])
                .arg(line)
                .output()
                .expect("running tmux");
            if o.status.success() || self.exists() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "tmux new-session failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Does this harness's tmux session exist?
    fn exists(&self) -> bool {
        Command::new("tmux")
            .args(["has-session", "-t", &self.name])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The `eclat-lab` process (the TUI) among the descendants of the pane's first process
    /// (a shell, perhaps running another shell that runs it), if any.
    pub fn tui_pid(&self) -> Option<u32> {
        let mut todo: Vec<u32> = vec![self.format("#{pane_pid}").parse().ok()?];
        while let Some(p) = todo.pop() {
            let children =
                std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")).unwrap_or_default();
            for c in children
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok())
            {
                if std::fs::read_to_string(format!("/proc/{c}/comm"))
                    .is_ok_and(|n| n.trim() == "eclat-lab")
                {
                    return Some(c);
                }
                todo.push(c);
            }
        }
        None
    }

    /// A tmux format of the pane (`#{alternate_on}`, `#{cursor_flag}`, ...).
    pub fn format(&self, f: &str) -> String {
        let o = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.name, f])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// Polls until `ok` holds; fails with `what` and the last screen after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, ok: impl Fn() -> bool) {
        let deadline = Instant::now() + timeout;
        while !ok() {
            if Instant::now() > deadline {
                panic!(
                    "waited {timeout:?} for {what}; the screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ends the tmux session (the TUI in it has exited), keeping the lab's files.
    pub fn close(&self) {
        let st = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// What the TUI's process is doing, for a failure's message: its state and each
    /// thread's kernel stack and (with gdb installed) backtrace.
    pub fn diagnose(&self) -> String {
        let Some(pid) = self.tui_pid() else {
            return "no eclat-lab process in the pane".into();
        };
        let mut out = format!("eclat-lab pid {pid}:\n");
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .flatten();
        for t in tasks {
            let p = t.path();
            let rd = |f: &str| std::fs::read_to_string(p.join(f)).unwrap_or_default();
            let status = rd("status");
            let state = status
                .lines()
                .find(|l| l.starts_with("State:"))
                .unwrap_or("");
            out.push_str(&format!(
                "task {} {} {state} wchan={}\n{}",
                t.file_name().to_string_lossy(),
                rd("comm").trim(),
                rd("wchan"),
                rd("stack")
            ));
        }
        if let Ok(o) = Command::new("timeout")
            .args(["30", "gdb", "-p", &pid.to_string(), "-batch", "-ex"])
            .arg("thread apply all bt")
            .output()
        {
            out.push_str(&String::from_utf8_lossy(&o.stdout));
        }
        out
    }

    pub fn screen(&self) -> String {
        let o = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let st = Command::new("tmux")
            .args(["send-keys", "-t", &self.name])
            .args(keys)
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Typed text (not key names).
    pub fn type_text(&self, s: &str) {
        let st = Command::new("tmux")
            .args(["send-keys", "-l", "-t", &self.name, s])
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Polls the screen until `ok` holds, on the screen as it is or on its text with the
    /// panels' borders taken out and every run of white space made one space (a line the
    /// TUI wrapped still matches: where it wraps depends on the checkout's path length);
    /// fails with the last screen after `timeout`.
    pub fn wait(&self, what: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.screen();
            if ok(&s) || ok(&unwrapped(&s)) {
                return s;
            }
            if Instant::now() > deadline {
                panic!(
                    "waited {timeout:?} for {what}; the screen:\n{s}\n{}",
                    self.diagnose()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // a TUI still running (a failed test) cleans up after the window closes: wait for it,
        // or it would write to the state dir after it is removed
        let tui = self.tui_pid();
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .stderr(std::process::Stdio::null())
            .status();
        if let Some(pid) = tui {
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::path::Path::new(&format!("/proc/{pid}")).exists()
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = Command::new(BIN)
            .arg("reset")
            .envs(figures::env_vars(&self.env))
            .output();
        let _ = std::fs::remove_dir_all(&self.env.state_dir);
    }
}

/// A screen's text without the panels' vertical borders, every run of white space one space.
pub fn unwrapped(screen: &str) -> String {
    screen
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// How many steps a lesson has (screens say "Step N/TOTAL", and lessons gain steps).
#[allow(dead_code)]
pub fn steps_of(lesson_id: &str) -> usize {
    eclat_course::lessons::find(lesson_id)
        .expect("an embedded lesson")
        .steps
        .len()
}
