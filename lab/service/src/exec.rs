//! A command inside a node's network namespace, as an argument vector (never a shell
//! string). From a system shell it gets the terminal; in a session its output is captured.

use anyhow::Result;
use serde::Serialize;

use crate::{Lab, Origin};

/// How a command run with `exec` ended (its output is in `output` when it was captured).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ExecResult {
    /// the node whose network namespace the command ran in
    pub node: String,
    /// the command and its arguments, as run (no shell in between)
    pub argv: Vec<String>,
    /// the command's exit code (128 + N when killed by signal N)
    pub exit_code: i32,
    /// stdout then stderr, when captured (a REPL or TUI session)
    pub output: Option<String>,
}

fn code_of(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

impl Lab {
    /// Runs `argv` in `node`'s network namespace and waits for it.
    pub async fn exec(&self, node: String, argv: Vec<String>) -> Result<ExecResult> {
        self.blocking(move |lab| {
            let env = lab.env();
            Ok(match lab.origin() {
                Origin::Cli => {
                    let st = eclat_kernel::exec::run(env, &node, &argv)?;
                    ExecResult {
                        exit_code: code_of(st),
                        node,
                        argv,
                        output: None,
                    }
                }
                Origin::Session => {
                    let out = eclat_kernel::exec::output(env, &node, &argv)?;
                    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
                    text.push_str(&String::from_utf8_lossy(&out.stderr));
                    ExecResult {
                        exit_code: code_of(out.status),
                        node,
                        argv,
                        output: Some(text),
                    }
                }
            })
        })
        .await
    }
}
