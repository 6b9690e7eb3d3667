//! `eclat-lab`: the tutorial (TUI), the shell (REPL) and one-shot commands: three faces over
//! one command layer (`commands`), which calls the lab's service (`eclat-service`) and the
//! course (`eclat-course`). Everything runs on one tokio runtime.

mod bench;
mod cli;
mod commands;
mod render;
mod repl;
mod tui;

use std::process::ExitCode;

use clap::Parser;
use eclat_service::{Lab, LabEnv, Origin};

use crate::commands::{Cli, Cmd};

fn main() -> ExitCode {
    // `eclat-lab ... | head` ends quietly, like any Unix tool
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // nothing the lab creates is writable by another user, whatever the umask
    eclat_kernel::perms::no_write_for_others();
    // a classroom's learner running the lab through sudo gets their own lab, whatever their
    // environment says (before any thread starts: it sets the lab's variables)
    // SAFETY: the process has one thread here
    if let Err(e) = unsafe { eclat_service::classroom::confine_sudo_learner() } {
        eprintln!("{}", render::error(&e));
        return ExitCode::from(2);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        // an unknown command: one line, with the lab's "did you mean" (clap's offers
        // `classroom` for `clear`), as in the shell and the TUI
        Err(e) if e.kind() == clap::error::ErrorKind::InvalidSubcommand => {
            eprintln!("error: {}", commands::parse_error(&e.render().to_string()));
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    let env = LabEnv::from_env();
    // a progress file with fields that do not parse: the rest is kept, and the learner told
    match eclat_course::progress::repair() {
        Ok(dropped) if !dropped.is_empty() => {
            eprintln!("{}", render::progress_repaired(&dropped));
        }
        Ok(_) => {}
        Err(e) => eprintln!("{}", render::error(&e)),
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("eclat-rt")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.cmd {
        None => tui::run(env, None, &rt),
        Some(Cmd::Tutorial { lesson }) => tui::run(env, lesson, &rt),
        Some(Cmd::Shell) => repl::run(Lab::new(env, Origin::Session), &rt),
        Some(cmd) => cli::run(Lab::new(env, Origin::Cli), cmd, cli.json, &rt),
    }
}
