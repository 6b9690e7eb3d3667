//! `eclat-lab`: the tutorial (TUI), the shell (REPL) and one-shot commands, all over the same
//! command layer.

mod bench;
mod cli;
mod commands;
mod course;
mod lessons;
mod repl;
mod scripts;
mod topologies;
mod tui;

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use clap::Parser;
use eclat_kernel::LabEnv;

use crate::cli::{Cli, Cmd};
use crate::commands::{Origin, Session};

fn wants_json(cmd: &Cmd) -> bool {
    use crate::cli::*;
    match cmd {
        Cmd::Doctor(f) | Cmd::Reset(f) => f.json,
        Cmd::Topo(TopoCmd::Up { json, .. }) => *json,
        Cmd::Topo(TopoCmd::Down(f) | TopoCmd::Status(f) | TopoCmd::List(f)) => f.json,
        Cmd::Traffic(a) => a.json,
        Cmd::Xdp(XdpCmd::Attach { json, .. }) => *json,
        Cmd::Xdp(XdpCmd::List(f)) => f.json,
        Cmd::Map(MapCmd::List(f)) => f.json,
        Cmd::Map(
            MapCmd::Dump { json, .. } | MapCmd::Watch { json, .. } | MapCmd::Clear { json, .. },
        ) => *json,
        Cmd::ReadMap { json, .. } => *json,
        Cmd::Lesson(LessonCmd::List(f)) => f.json,
        Cmd::Module(ModuleCmd::Build { json, .. }) => *json,
        Cmd::Module(ModuleCmd::List(f))
        | Cmd::Chain(ChainCmd::List(f))
        | Cmd::Dev(DevCmd::Check(f)) => f.json,
        Cmd::Compile { json, .. } | Cmd::Load { json, .. } | Cmd::Test { json, .. } => *json,
        Cmd::Lesson(LessonCmd::Check { json, .. }) => *json,
        Cmd::Bench(b) => b.json,
        _ => false,
    }
}

fn main() -> ExitCode {
    // `eclat-lab ... | head` ends quietly, like any Unix tool
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let env = LabEnv::from_env();
    match cli.cmd {
        None => tui::run(env, None),
        Some(Cmd::Tutorial { lesson }) => tui::run(env, lesson),
        Some(Cmd::Shell) => repl::run(env),
        Some(cmd) => {
            let json = wants_json(&cmd);
            let session = Session::new(env, Origin::Cli);
            let stop = AtomicBool::new(false);
            let watch_json = json;
            let result = session.run_with(cmd, &stop, &mut |frame| {
                if !watch_json {
                    let mut stdout = std::io::stdout().lock();
                    let _ = writeln!(stdout, "{frame}").and_then(|_| stdout.flush());
                }
            });
            match result {
                Ok(out) => {
                    if json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&out.json).unwrap_or_default()
                        );
                    } else if !out.text.is_empty() {
                        println!("{}", out.text);
                    }
                    if out.success {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => {
                    if json {
                        println!("{}", serde_json::json!({ "error": format!("{e:#}") }));
                    } else {
                        eprintln!("error: {e:#}");
                    }
                    ExitCode::from(2)
                }
            }
        }
    }
}
