//! `eclat-lab shell`: a rustyline REPL over the same command table as the CLI and the TUI,
//! with TAB completion of commands, nodes, maps, programs, scripts and lessons. Lines are
//! read on the main thread; each command runs as a task on the runtime while the main thread
//! prints what it streams; Ctrl-C cancels it (it reports "stopped" within 200 ms) and the
//! shell stays.

mod complete;

use std::borrow::Cow;
use std::process::ExitCode;

use eclat_service::Lab;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use tokio::runtime::Runtime;
use tokio::signal::unix::{SignalKind, signal};

pub use self::complete::complete;
use crate::commands::{self, Cli, Cmd, Job, JobEvent, Update, help_text, parse_error};
use crate::render;

struct LabHelper {
    lab: Lab,
}

impl Completer for LabHelper {
    type Candidate = Pair;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, c) = complete(&self.lab, line, pos);
        Ok((
            start,
            c.into_iter()
                .map(|s| Pair {
                    display: s.clone(),
                    replacement: format!("{s} "),
                })
                .collect(),
        ))
    }
}

impl Hinter for LabHelper {
    type Hint = String;
}
impl Highlighter for LabHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}
impl Validator for LabHelper {}
impl Helper for LabHelper {}

/// What `clear` does in the shell (in `help`).
const CLEAR: &str = "clear the screen (Ctrl-L too)";

/// The words the shell itself answers, before the command table.
#[derive(Debug, PartialEq, Eq)]
enum Builtin {
    Exit,
    Help,
    Clear,
}

fn builtin(line: &str) -> Option<Builtin> {
    match line {
        "exit" | "quit" => Some(Builtin::Exit),
        "?" | "help" => Some(Builtin::Help),
        "clear" => Some(Builtin::Clear),
        _ => None,
    }
}

fn print_update(u: &Update, json: bool) {
    if json {
        println!("{}", serde_json::to_string(u).unwrap_or_default());
    } else {
        println!("{}", render::update(u));
    }
}

/// Runs one command as a task, printing what it streams; Ctrl-C stops it ("stopped" within
/// `STOP_SAY`; a command in the middle of a kernel operation finishes or undoes it in the
/// background, and says nothing more).
async fn run_one(lab: &Lab, cmd: Cmd, json: bool) -> String {
    // `exec` passes Ctrl-C on to its command and ends with it (bpftrace prints its maps then)
    let passes_ctrl_c = matches!(cmd, Cmd::Exec { .. });
    let mut job = Job::spawn(lab, cmd);
    let mut sigint = signal(SignalKind::interrupt()).ok();
    let result = loop {
        tokio::select! {
            ev = job.next() => match ev {
                JobEvent::Update(u) => print_update(&u, json),
                JobEvent::Done(r) => break r,
            },
            Some(()) = async {
                match sigint.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                if passes_ctrl_c {
                    job.interrupt();
                    continue;
                }
                match job.stop().await {
                    Some(r) => break r,
                    None => {
                        tokio::spawn(job.finish());
                        return "stopped".into();
                    }
                }
            }
        }
    };
    for u in job.drain() {
        print_update(&u, json);
    }
    match result {
        Ok(reply) if json => serde_json::to_string_pretty(&reply).unwrap_or_default(),
        Ok(reply) => render::reply(&reply),
        Err(e) if eclat_service::is_stopped(&e) => "stopped".into(),
        Err(e) if json => render::error_json(&e).to_string(),
        Err(e) => render::error_message(&render::error(&e)),
    }
}

pub fn run(lab: Lab, rt: &Runtime) -> ExitCode {
    let mut rl: Editor<LabHelper, rustyline::history::DefaultHistory> = match Editor::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the shell: {e}");
            return ExitCode::from(2);
        }
    };
    rl.set_helper(Some(LabHelper { lab: lab.clone() }));
    let history = lab.env().state_dir.join("history");
    let _ = rl.load_history(&history);
    // from now on SIGINT is the runtime's to handle: Ctrl-C while a command runs stops it
    // instead of killing the shell and leaving the session's objects behind
    let _guard = rt.enter();
    let _sigint = signal(SignalKind::interrupt());
    println!("eclat-lab shell: `?` for help, TAB to complete, `exit` to leave.");
    if !Lab::privileged() {
        println!(
            "(not root: only lessons and doctor work; run `sudo eclat-lab shell` for the lab)"
        );
    }
    loop {
        match rl.readline("eclat-lab> ") {
            Ok(line) => {
                let t = line.trim();
                if t.is_empty() {
                    continue;
                }
                let _ = rl.add_history_entry(t);
                match builtin(t) {
                    Some(Builtin::Exit) => break,
                    Some(Builtin::Help) => {
                        println!("{}", help_text(CLEAR));
                        continue;
                    }
                    Some(Builtin::Clear) => {
                        // a terminal's screen; nothing to clear when the input is not one
                        let _ = rl.clear_screen();
                        continue;
                    }
                    None => {}
                }
                match commands::parse_cli(t) {
                    Ok(None) => {}
                    Ok(Some(Cli {
                        cmd: Some(Cmd::Shell | Cmd::Tutorial { .. }),
                        ..
                    })) => println!(
                        "already in the shell; to open the tutorial, exit and run `sudo eclat-lab`"
                    ),
                    Ok(Some(Cli {
                        cmd: Some(cmd),
                        json,
                    })) => {
                        let text = rt.block_on(run_one(&lab, cmd, json));
                        if !text.is_empty() {
                            println!("{text}");
                        }
                    }
                    Ok(Some(Cli { cmd: None, .. })) => {}
                    Err(msg) => println!("{}", parse_error(&msg)),
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: {e}");
                break;
            }
        }
    }
    if let Some(parent) = history.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let _ = rl.save_history(&history);
    match lab.end_session() {
        Ok(0) => {}
        Ok(n) => println!("removed {n} object(s) this session created"),
        Err(e) => {
            eprintln!("error while cleaning up the session: {e:#} (run `sudo eclat-lab reset`)")
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use eclat_kernel::LabEnv;

    fn lab(tag: &str) -> Lab {
        Lab::new(LabEnv::for_test(tag), eclat_service::Origin::Session)
    }

    #[test]
    fn completes_commands_and_subcommands() {
        let lab = lab("repl");
        let (s, c) = complete(&lab, "to", 2);
        assert_eq!((s, c), (0, vec!["topo".to_string()]));
        let (s, c) = complete(&lab, "topo ", 5);
        assert_eq!(s, 5);
        assert!(c.contains(&"up".to_string()) && c.contains(&"down".to_string()));
        let (_, c) = complete(&lab, "topo up ", 8);
        assert!(c.contains(&"hike-lab".to_string()));
        let (_, c) = complete(&lab, "traffic --r", 11);
        assert_eq!(c, vec!["--rate".to_string()]);
        let (_, c) = complete(&lab, "xdp attach ", 11);
        assert!(c.contains(&"xdp_counter".to_string()));
        let (_, c) = complete(&lab, "map cl", 6);
        assert_eq!(c, vec!["clear".to_string()]);
        let (_, c) = complete(&lab, "cube ", 5);
        assert!(c.contains(&"connect".to_string()) && c.contains(&"graph".to_string()));
        let (_, c) = complete(&lab, "cube add fw m", 13);
        assert_eq!(c, vec!["monitor".to_string()]);
        // no cube yet: nothing to connect
        let (_, c) = complete(&lab, "cube connect ", 13);
        assert!(c.is_empty(), "{c:?}");
    }

    /// After `lesson check|hint|reset|solution|solve`, TAB offers the lessons (numbers and
    /// ids), then that lesson's exercise ids; `lesson show`, `dev check` and `--lesson` the
    /// lessons.
    #[test]
    fn completes_lessons_and_their_exercises() {
        let lab = lab("repl-lessons");
        let ids = |lesson: &str| -> Vec<String> {
            eclat_course::lessons::find(lesson)
                .unwrap()
                .exercises
                .iter()
                .map(|e| e.id.clone())
                .collect()
        };
        for cmd in ["check", "hint", "reset", "solution", "solve"] {
            let line = format!("lesson {cmd} 8 ");
            let (s, c) = complete(&lab, &line, line.len());
            let mut want = ids("8");
            want.sort();
            assert_eq!((s, c), (line.len(), want), "{line}");
            let line = format!("lesson {cmd} 08-ddos-mitigation ");
            let (_, c) = complete(&lab, &line, line.len());
            assert!(
                !c.is_empty() && c.iter().all(|e| ids("8").contains(e)),
                "{line}: {c:?}"
            );
            let line = format!("lesson {cmd} 1 ipv6");
            let (_, c) = complete(&lab, &line, line.len());
            assert_eq!(c, vec!["ipv6-only".to_string()], "{line}");
            // the lesson itself
            let line = format!("lesson {cmd} ");
            let (_, c) = complete(&lab, &line, line.len());
            assert_eq!(c[0], "1", "{line}: numbers first, in order: {c:?}");
            assert!(c.contains(&"10".to_string()) && c.contains(&"08-ddos-mitigation".to_string()));
        }
        // no such lesson, or one word too many: nothing
        assert!(complete(&lab, "lesson check 99 ", 16).1.is_empty());
        assert!(complete(&lab, "lesson show 1 ", 14).1.is_empty());
        for line in ["lesson show 0", "dev check 0", "classroom up 3 --lesson 0"] {
            let (_, c) = complete(&lab, line, line.len());
            assert!(
                c.contains(&"08-ddos-mitigation".to_string()),
                "{line}: {c:?}"
            );
        }
    }

    #[test]
    fn completes_script_and_module_files() {
        let dir = std::env::temp_dir().join(format!("eclat-repl-files-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for f in ["a.eclat", "m.bpf.c", "m.o", "notes.txt"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let d = dir.display();
        let line = format!("load {d}/");
        let (_, c) = complete(&lab("repl-files"), &line, line.len());
        assert_eq!(c, vec![format!("{d}/a.eclat"), format!("{d}/sub/")]);
        let line = format!("module load {d}/m");
        let (_, c) = complete(&lab("repl-files"), &line, line.len());
        assert_eq!(c, vec![format!("{d}/m.bpf.c"), format!("{d}/m.o")]);
        // nothing loaded in a fresh lab: nothing to unload
        let (_, c) = complete(&lab("repl-files"), "module unload ", 14);
        assert!(c.is_empty(), "{c:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `clear` clears the screen (a learner's habit): before, it went to the command table
    /// and got "did you mean `classroom`?", the instructors' command that makes Unix users.
    #[test]
    fn clear_is_the_shells_and_is_in_its_help_and_completion() {
        assert_eq!(builtin("clear"), Some(Builtin::Clear));
        assert_eq!(builtin("exit"), Some(Builtin::Exit));
        assert_eq!(builtin("?"), Some(Builtin::Help));
        assert_eq!(builtin("classroom"), None);
        assert!(help_text(CLEAR).contains("clear      clear the screen (Ctrl-L too)"));
        let (_, c) = complete(&lab("repl-clear"), "cle", 3);
        assert_eq!(c, vec!["clear".to_string()]);
    }

    #[test]
    fn an_unknown_command_says_so_without_the_usage_text() {
        let e = commands::parse_line("frobnicate now").unwrap_err();
        let m = parse_error(&e);
        assert!(
            m.contains("frobnicate") && m.contains("`help` lists the commands"),
            "{m}"
        );
        assert!(
            !m.contains("Usage:") && !m.contains("--help' for more"),
            "{m}"
        );
    }
}
