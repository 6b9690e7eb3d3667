//! Running a command inside a node's network namespace. Only the network namespace is
//! entered (unlike `ip netns exec`, which also remounts /sys and so hides bpffs pins). The
//! command is an argument vector, never a shell string.

use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus};

use crate::LabEnv;
use crate::netns;
use crate::netns::NetnsError;
use crate::nodes::NodeError;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Nodes(#[from] NodeError),
    #[error(transparent)]
    Netns(#[from] NetnsError),
    #[error(
        "no command given: write it after `--`, e.g. `eclat-lab exec tg -- ping -6 -c 3 fc01::2`"
    )]
    Empty,
    #[error(
        "command not found: `{prog}` in {node}{meant} (a node runs the host's programs: `{prog}` \
         is neither on the PATH nor in {}: check its name, install it on the host, or give its \
         full path)",
        crate::doctor::SBIN.join(", ")
    )]
    NotFound {
        prog: String,
        node: String,
        /// "; did you mean `X`?" or nothing
        meant: String,
    },
    #[error(
        "cannot run `{prog}` in {node}: there is no such file (a node sees the host's files: \
         check the path)"
    )]
    NoSuchFile { prog: String, node: String },
    #[error("cannot run `{cmd}` in {node}: {err}")]
    Spawn {
        cmd: String,
        node: String,
        err: std::io::Error,
    },
}

/// A `Command` that will run `argv` inside `node`'s network namespace.
pub fn command(env: &LabEnv, node: &str, argv: &[String]) -> Result<Command, ExecError> {
    let (prog, args) = argv.split_first().ok_or(ExecError::Empty)?;
    let (_, ns) = crate::nodes::resolve_node(env, node)?;
    let fd = netns::open(&ns)?;
    // a bare name is looked up on the PATH, then where Debian puts bpftool (/usr/sbin)
    let found = (!prog.contains('/'))
        .then(|| crate::doctor::tool(prog))
        .flatten();
    let mut cmd = Command::new(found.as_deref().unwrap_or(prog));
    cmd.args(args);
    let raw = fd.as_raw_fd();
    // a classroom's learner: the command runs as them (root in a node is root everywhere)
    let drop_to = crate::perms::confined().cloned();
    if let Some(who) = &drop_to {
        cmd.env("HOME", crate::classroom::home_of(&who.user))
            .env("USER", &who.user)
            .env("LOGNAME", &who.user);
    }
    // SAFETY: setns(2), setgroups(2), setresgid(2) and setresuid(2) are async-signal-safe;
    // `fd` stays open until the child has exec'd (we keep it alive in the closure, which the
    // Command owns until spawn returns); the groups were read before the fork.
    unsafe {
        cmd.pre_exec(move || {
            let _keep = &fd;
            if libc::setns(raw, libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(who) = &drop_to
                && (libc::setgroups(who.groups.len(), who.groups.as_ptr()) != 0
                    || libc::setresgid(who.gid, who.gid, who.gid) != 0
                    || libc::setresuid(who.uid, who.uid, who.uid) != 0)
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok(cmd)
}

/// Why `argv` did not start in `node`: a program that does not exist is said as such (with
/// the host's program it could be), any other failure in the OS's words (a script whose
/// interpreter is missing also fails with "No such file or directory").
fn spawn_error(node: &str, argv: &[String], err: std::io::Error) -> ExecError {
    let prog = argv.first().map(String::as_str).unwrap_or_default();
    if err.kind() == std::io::ErrorKind::NotFound {
        if !prog.contains('/') && crate::doctor::tool(prog).is_none() {
            let names = crate::doctor::program_names();
            return ExecError::NotFound {
                prog: prog.to_string(),
                node: node.to_string(),
                meant: hike::suggest::did_you_mean(prog, names.iter().map(String::as_str)),
            };
        }
        if prog.contains('/') && !std::path::Path::new(prog).exists() {
            return ExecError::NoSuchFile {
                prog: prog.to_string(),
                node: node.to_string(),
            };
        }
    }
    ExecError::Spawn {
        cmd: argv.join(" "),
        node: node.to_string(),
        err,
    }
}

/// Runs `argv` in `node` with inherited stdio and waits for it.
pub fn run(env: &LabEnv, node: &str, argv: &[String]) -> Result<ExitStatus, ExecError> {
    let mut cmd = command(env, node, argv)?;
    cmd.status().map_err(|err| spawn_error(node, argv, err))
}

/// Runs `argv` in `node` and captures its output (for the TUI's event log).
pub fn output(
    env: &LabEnv,
    node: &str,
    argv: &[String],
) -> Result<std::process::Output, ExecError> {
    let mut cmd = command(env, node, argv)?;
    cmd.stdin(std::process::Stdio::null());
    cmd.output().map_err(|err| spawn_error(node, argv, err))
}

/// A command running inside a node with its output on a pseudo-terminal (so tools that
/// buffer a pipe, like bpftrace, write each line as it comes), read line by line.
pub struct Running {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// the terminal's master side, held until the command has been waited for: closing it
    /// hangs the terminal up, and the kernel then sends SIGHUP to the command's session. A
    /// command that closes its output before it exits (ping does) reads as the end of the
    /// output while it still runs; were the master closed then, that SIGHUP would kill it
    /// on its way out (exit status 129 for a run that succeeded)
    _master: std::fs::File,
    /// the command line, for errors
    pub cmd: String,
}

/// What [`Running::next_line`] saw.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Line(String),
    /// nothing within the timeout
    Quiet,
    /// the output is closed: the command (and whatever it started) ended
    Closed,
}

/// Starts `argv` in `node`: stdin from /dev/null, stdout and stderr on a new pseudo-terminal,
/// in a session of its own (so an interrupt reaches everything it started).
pub fn spawn(env: &LabEnv, node: &str, argv: &[String]) -> Result<Running, ExecError> {
    let spawn_err = |err: std::io::Error| spawn_error(node, argv, err);
    let mut cmd = command(env, node, argv)?;
    let ws = nix::pty::Winsize {
        ws_row: 50,
        ws_col: 160,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&ws), None).map_err(|e| spawn_err(e.into()))?;
    // neither side may leak into the command (a master held by the command itself would
    // never close, and so never hang it up)
    for fd in [&pty.master, &pty.slave] {
        nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )
        .map_err(|e| spawn_err(e.into()))?;
    }
    // no "\n" -> "\r\n" on the way out: lines arrive as the program wrote them
    if let Ok(mut t) = nix::sys::termios::tcgetattr(&pty.slave) {
        t.output_flags.remove(nix::sys::termios::OutputFlags::ONLCR);
        let _ = nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &t);
    }
    let out = pty.slave.try_clone().map_err(spawn_err)?;
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::from(out))
        .stderr(std::process::Stdio::from(pty.slave))
        .env("TERM", "dumb");
    // SAFETY: setsid(2), ioctl(2), signal(2) and sigprocmask(2) are async-signal-safe. The
    // terminal becomes the new session's controlling terminal (stdout is already on it when
    // this runs): if the lab dies, the closed terminal hangs the command up (SIGHUP) instead
    // of leaving it running. Ctrl-C and Ctrl-\ reach the command as a terminal's would, even
    // when the lab itself was started with them ignored (a background job of a script: a
    // shell then cannot even trap them) or blocked.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::ioctl(1, libc::TIOCSCTTY, 0);
            for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGHUP, libc::SIGTERM] {
                libc::signal(sig, libc::SIG_DFL);
            }
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(spawn_err)?;
    // the Command holds our copies of the terminal's slave side: gone, so that the master
    // reads end of file once the command and its children have closed theirs
    drop(cmd);
    let (tx, lines) = std::sync::mpsc::channel();
    let master = std::fs::File::from(pty.master);
    // the reader has a descriptor of its own: the end of the output ends the reader, never
    // the terminal (the master's last descriptor is `Running`'s, see there)
    let reader = master.try_clone().map_err(spawn_err)?;
    std::thread::Builder::new()
        .name("exec-output".into())
        .spawn(move || {
            use std::io::BufRead;
            let mut r = std::io::BufReader::new(reader);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                // a closed terminal reads as EIO: the end, like EOF
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf);
                        let line = line.trim_end_matches(['\n', '\r']).replace('\r', "");
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        })
        .map_err(spawn_err)?;
    Ok(Running {
        child,
        lines,
        _master: master,
        cmd: argv.join(" "),
    })
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line of output, waiting at most `timeout`.
    pub fn next_line(&self, timeout: std::time::Duration) -> Next {
        match self.lines.recv_timeout(timeout) {
            Ok(l) => Next::Line(l),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Next::Quiet,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Next::Closed,
        }
    }

    /// Sends `sig` to the command's whole session (its process group).
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let pgid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(pgid, sig);
    }

    /// Ctrl-C, as a terminal would send it: tools like bpftrace print what they collected
    /// and end.
    pub fn interrupt(&self) {
        self.signal(nix::sys::signal::Signal::SIGINT);
    }

    /// Has the command ended? Its status if so.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for the end; after `grace`, kills the command's session.
    pub fn wait(&mut self, grace: std::time::Duration) -> std::io::Result<ExitStatus> {
        let until = std::time::Instant::now() + grace;
        while std::time::Instant::now() < until {
            if let Some(st) = self.child.try_wait()? {
                return Ok(st);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        self.signal(nix::sys::signal::Signal::SIGKILL);
        self.child.wait()
    }
}

impl Drop for Running {
    /// A command nobody waits for any more does not outlive its reader.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.signal(nix::sys::signal::Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}
