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
    let mut cmd = Command::new(prog);
    cmd.args(args);
    let raw = fd.as_raw_fd();
    // SAFETY: setns(2) is async-signal-safe; `fd` stays open until the child has exec'd
    // (we keep it alive in the closure, which the Command owns until spawn returns).
    unsafe {
        cmd.pre_exec(move || {
            let _keep = &fd;
            if libc::setns(raw, libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok(cmd)
}

/// Runs `argv` in `node` with inherited stdio and waits for it.
pub fn run(env: &LabEnv, node: &str, argv: &[String]) -> Result<ExitStatus, ExecError> {
    let mut cmd = command(env, node, argv)?;
    cmd.status().map_err(|err| ExecError::Spawn {
        cmd: argv.join(" "),
        node: node.to_string(),
        err,
    })
}

/// Runs `argv` in `node` and captures its output (for the TUI's event log).
pub fn output(
    env: &LabEnv,
    node: &str,
    argv: &[String],
) -> Result<std::process::Output, ExecError> {
    let mut cmd = command(env, node, argv)?;
    cmd.stdin(std::process::Stdio::null());
    cmd.output().map_err(|err| ExecError::Spawn {
        cmd: argv.join(" "),
        node: node.to_string(),
        err,
    })
}
