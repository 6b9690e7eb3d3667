//! A command inside a node's network namespace, as an argument vector (never a shell
//! string). From a system shell it gets the terminal; in a session (REPL, TUI) its output
//! streams line by line from a pseudo-terminal, and stopping it sends Ctrl-C (SIGINT), as a
//! terminal would: bpftrace then prints what it counted. With `bpf_stats`, the kernel counts
//! every BPF program's runs and run time while the command runs (`BPF_ENABLE_STATS`, held
//! by the lab for exactly that long: `kernel.bpf_stats_enabled` is never written).

use std::time::Duration;

use anyhow::{Context, Result};
use eclat_kernel::exec::{Next, Running};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::{CancellationToken, Lab, Origin};

/// How a command run with `exec` ended.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ExecResult {
    /// the node whose network namespace the command ran in
    pub node: String,
    /// the command and its arguments, as run (no shell in between)
    pub argv: Vec<String>,
    /// the command's exit code (128 + N when killed by signal N)
    pub exit_code: i32,
    /// what it wrote (stdout and stderr as they came), when captured (a REPL or TUI
    /// session); already shown line by line when `streamed`
    pub output: Option<String>,
    /// the output was sent line by line while the command ran
    #[serde(default)]
    pub streamed: bool,
    /// stopped by the learner (Ctrl-C / Esc): the command got SIGINT
    #[serde(default)]
    pub interrupted: bool,
    /// BPF run-time statistics were on while it ran
    #[serde(default)]
    pub bpf_stats: bool,
}

/// How to run a command.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// turn on BPF run-time statistics for the command's duration
    pub bpf_stats: bool,
}

/// How long an interrupted command gets to print and end before it is killed.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(5);
/// How long a stopped command in a session has to end before it gets Ctrl-C again.
pub const INTERRUPT_AGAIN: Duration = Duration::from_secs(1);

pub(crate) fn code_of(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// A command of a node running in the background with its output read line by line (the
/// checks run a learner's bpftrace or bcc program this way while they send traffic).
pub struct Background {
    run: Running,
    /// every line so far
    pub output: Vec<String>,
}

impl Background {
    /// Waits (blocking) until a line containing `needle` came, the command ended, or
    /// `timeout` passed; true when the line came.
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> bool {
        let until = std::time::Instant::now() + timeout;
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.run.next_line(left.min(Duration::from_millis(100))) {
                Next::Line(l) => {
                    let hit = l.contains(needle);
                    self.output.push(l);
                    if hit {
                        return true;
                    }
                }
                Next::Quiet => {}
                Next::Closed => return false,
            }
        }
    }

    /// Waits (blocking, reading its output meanwhile) until the command has `expected` probes
    /// attached in the kernel (tracepoints, kprobes, fentry: what `bpftool perf` lists; uprobes
    /// on its own executable, bpftrace's BEGIN and END, left out), the command ended, or
    /// `timeout` passed. Returns how many were attached. bpftrace runs `BEGIN` before it
    /// attaches the other probes: its first line is no sign that it counts yet.
    pub fn wait_for_probes(&mut self, expected: usize, timeout: Duration) -> usize {
        let pid = self.run.pid();
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        let until = std::time::Instant::now() + timeout;
        loop {
            let n = eclat_kernel::sys::attached_probes(pid)
                .iter()
                .filter(|p| {
                    !(eclat_kernel::sys::FD_TYPE_UPROBES.contains(&p.fd_type)
                        && exe
                            .as_ref()
                            .is_some_and(|e| e.as_os_str() == p.name.as_str()))
                })
                .count();
            if n >= expected || std::time::Instant::now() >= until {
                return n;
            }
            match self.run.next_line(Duration::from_millis(5)) {
                Next::Line(l) => self.output.push(l),
                Next::Quiet => {}
                Next::Closed => {
                    if self.run.try_wait().is_some() {
                        return n;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }

    /// Sends Ctrl-C, reads the rest of the output, and returns the exit code (the command is
    /// killed after `grace`).
    pub fn interrupt(self, grace: Duration) -> Result<(i32, Vec<String>)> {
        self.interrupt_every(grace, grace)
    }

    /// [`Background::interrupt`] for a command that can miss a Ctrl-C: bpftrace checks for
    /// one between its waits for events, and one that comes just before it waits is seen
    /// only at the next signal. Ctrl-C is sent again every `every` until the command ends.
    pub fn interrupt_every(
        mut self,
        grace: Duration,
        every: Duration,
    ) -> Result<(i32, Vec<String>)> {
        let until = std::time::Instant::now() + grace;
        while self.run.try_wait().is_none() {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            self.run.interrupt();
            let next = std::time::Instant::now() + every.min(left);
            while std::time::Instant::now() < next && self.run.try_wait().is_none() {
                // keep reading: a command whose terminal is full would not end
                if let Next::Line(l) = self.run.next_line(Duration::from_millis(10)) {
                    self.output.push(l);
                }
            }
        }
        let st = match self.run.try_wait() {
            Some(st) => st,
            None => self
                .run
                .wait(Duration::ZERO)
                .context("waiting for the command")?,
        };
        while let Next::Line(l) = self.run.next_line(Duration::from_millis(200)) {
            self.output.push(l);
        }
        Ok((code_of(st), std::mem::take(&mut self.output)))
    }
}

impl Lab {
    /// Runs `argv` in `node`'s network namespace and waits for it. In a session the output
    /// goes to `lines` as it comes; a cancelled command gets SIGINT and `INTERRUPT_GRACE` to
    /// end.
    pub async fn exec(
        &self,
        node: String,
        argv: Vec<String>,
        opts: ExecOptions,
        lines: Option<mpsc::UnboundedSender<String>>,
        cancel: CancellationToken,
    ) -> Result<ExecResult> {
        self.blocking(move |lab| {
            let env = lab.env();
            let _stats = if opts.bpf_stats {
                Some(eclat_kernel::sys::enable_stats().context(
                    "turning on BPF run-time statistics (BPF_ENABLE_STATS needs CAP_SYS_ADMIN and Linux 5.8+)",
                )?)
            } else {
                None
            };
            let mut r = ExecResult {
                node: node.clone(),
                argv: argv.clone(),
                exit_code: 0,
                output: None,
                streamed: false,
                interrupted: false,
                bpf_stats: opts.bpf_stats,
            };
            match lab.origin() {
                Origin::Cli => {
                    let st = eclat_kernel::exec::run(env, &node, &argv)?;
                    r.exit_code = code_of(st);
                }
                Origin::Session => {
                    let mut run = eclat_kernel::exec::spawn(env, &node, &argv)?;
                    let mut text = String::new();
                    let mut interrupted_at = None;
                    let mut sent_at = std::time::Instant::now();
                    loop {
                        if interrupted_at.is_none() && cancel.is_cancelled() {
                            run.interrupt();
                            interrupted_at = Some(std::time::Instant::now());
                            sent_at = std::time::Instant::now();
                            r.interrupted = true;
                        }
                        if interrupted_at.is_some_and(|t| t.elapsed() > INTERRUPT_GRACE) {
                            break;
                        }
                        // a command can miss a Ctrl-C (bpftrace looks for one between its
                        // waits for events, and one that comes while it attaches is seen only
                        // at the next): still running a second later, it gets another, as a
                        // person would press it again. A second is long enough for a handler
                        // of the first (a Python script printing its count) to have finished.
                        if interrupted_at.is_some() && sent_at.elapsed() >= INTERRUPT_AGAIN {
                            run.interrupt();
                            sent_at = std::time::Instant::now();
                        }
                        match run.next_line(Duration::from_millis(50)) {
                            Next::Line(l) => {
                                if let Some(tx) = &lines {
                                    let _ = tx.send(l.clone());
                                    r.streamed = true;
                                }
                                text.push_str(&l);
                                text.push('\n');
                            }
                            Next::Quiet => {}
                            Next::Closed => break,
                        }
                    }
                    let st = run.wait(INTERRUPT_GRACE).context("waiting for the command")?;
                    r.exit_code = code_of(st);
                    r.output = Some(text);
                }
            }
            Ok(r)
        })
        .await
    }

    /// Starts `argv` in `node` in the background, its output read line by line.
    pub async fn exec_background(&self, node: String, argv: Vec<String>) -> Result<Background> {
        self.blocking(move |lab| {
            Ok(Background {
                run: eclat_kernel::exec::spawn(lab.env(), &node, &argv)?,
                output: Vec::new(),
            })
        })
        .await
    }
}
