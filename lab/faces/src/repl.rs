//! `eclat-lab shell`: a rustyline REPL over the same command table as the CLI and the TUI,
//! with TAB completion of commands, node names, map names, programs and lessons.

use std::borrow::Cow;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{CommandFactory, Parser};
use eclat_kernel::LabEnv;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use crate::cli::{self, Cli, Cmd};
use crate::commands::{Origin, Session};

/// Completion candidates for the word at `pos` of `line`, from the command table and the
/// lab's live state. Shared by the REPL and the TUI's command line.
pub fn complete(env: &LabEnv, line: &str, pos: usize) -> (usize, Vec<String>) {
    let head = &line[..pos.min(line.len())];
    let start = head.rfind(' ').map(|i| i + 1).unwrap_or(0);
    let word = &head[start..];
    let words: Vec<&str> = head[..start].split_whitespace().collect();
    let cands: Vec<String> = match words.as_slice() {
        [] => {
            let mut v = cli::command_names();
            v.retain(|c| c != "shell" && c != "tutorial");
            v.extend(["help".to_string(), "exit".to_string()]);
            v
        }
        [cmd] if !cli::subcommand_names(cmd).is_empty() => cli::subcommand_names(cmd),
        ["exec"] => nodes(env),
        ["xdp", "attach"] => eclat_kernel::xdp::PROGRAMS
            .iter()
            .map(|p| p.name.to_string())
            .chain(
                eclat_kernel::xdp::loaded_objects(env)
                    .into_iter()
                    .flat_map(|(_, progs)| progs),
            )
            .collect(),
        ["xdp", "load"] => files_like(word, &[".c", ".o"]),
        ["xdp", "attach", _] | ["xdp", "detach"] => nodes(env),
        ["xdp", "attach", _, node] | ["xdp", "detach", node] => devs(env, node),
        ["map", "dump" | "watch" | "set" | "delete" | "clear"] | ["read-map"] => {
            eclat_kernel::maps::list(env)
                .iter()
                .map(|m| m.short().to_string())
                .collect()
        }
        ["map", "set", map, _] if is_prog_array(env, map) => {
            eclat_kernel::xdp::pinned_programs(env)
                .into_iter()
                .map(|p| p.name)
                .collect()
        }
        ["map", "set", _, _] => ["PASS", "DROP", "ABORTED", "TX", "REDIRECT"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ["topo", "up"] => crate::topologies::names(),
        ["module", "build"] => files_like(word, &[".c"]),
        ["module", "load"] => files_like(word, &[".c", ".o"]),
        ["module", "unload"] => {
            let st = crate::scripts::peek_state(env);
            let mut v: Vec<String> = st.modules.keys().cloned().collect();
            for k in st.programs.keys() {
                v.push(k.clone());
                v.extend(k.split_once('.').map(|(p, _)| p.to_string()));
            }
            v
        }
        ["load" | "compile" | "test"] => files_like(word, &[".eclat"]),
        ["unload"] => crate::scripts::peek_state(env)
            .scripts
            .keys()
            .cloned()
            .collect(),
        ["lesson", "show"] => crate::lessons::all().iter().map(|l| l.id.clone()).collect(),
        [.., "--from"] => nodes(env),
        _ if word.starts_with('-') => flags_of(&words).into_iter().collect(),
        _ => vec![],
    };
    let mut out: Vec<String> = cands.into_iter().filter(|c| c.starts_with(word)).collect();
    out.sort();
    out.dedup();
    (start, out)
}

/// Paths starting with `word` that end in one of `exts` (or are directories). `~/eclat-lab/`
/// and `~/` are read where commands expand them, and completed as typed.
fn files_like(word: &str, exts: &[&str]) -> Vec<String> {
    let (dir, _) = word
        .rsplit_once('/')
        .map(|(d, f)| (format!("{d}/"), f))
        .unwrap_or((String::new(), word));
    let read = if dir.is_empty() {
        ".".into()
    } else if let Some(rest) = dir.strip_prefix("~/eclat-lab/") {
        crate::course::workspace_root().join(rest)
    } else if let Some(rest) = dir.strip_prefix("~/") {
        crate::course::user_home().join(rest)
    } else {
        std::path::PathBuf::from(&dir)
    };
    std::fs::read_dir(read)
        .map(|rd| {
            rd.filter_map(|e| {
                let e = e.ok()?;
                let name = e.file_name().into_string().ok()?;
                let is_dir = e.file_type().ok()?.is_dir();
                (is_dir || exts.iter().any(|x| name.ends_with(x)))
                    .then(|| format!("{dir}{name}{}", if is_dir { "/" } else { "" }))
            })
            .collect()
        })
        .unwrap_or_default()
}

fn is_prog_array(env: &LabEnv, map: &str) -> bool {
    eclat_kernel::maps::find(env, map).is_ok_and(|m| m.map_type == "prog_array")
}

fn nodes(env: &LabEnv) -> Vec<String> {
    eclat_kernel::nodes::current(env)
        .ok()
        .flatten()
        .map(|t| t.nodes.iter().map(|n| n.name.clone()).collect())
        .unwrap_or_default()
}

fn devs(env: &LabEnv, node: &str) -> Vec<String> {
    eclat_kernel::nodes::current(env)
        .ok()
        .flatten()
        .map(|t| t.ends_of(node).map(|(e, _)| e.dev.clone()).collect())
        .unwrap_or_default()
}

/// Long flags of the (sub)command named by `words`.
fn flags_of(words: &[&str]) -> Vec<String> {
    let root = Cli::command();
    let mut cmd = &root;
    for w in words {
        match cmd.find_subcommand(w) {
            Some(c) => cmd = c,
            None => break,
        }
    }
    cmd.get_arguments()
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect()
}

struct LabHelper {
    env: LabEnv,
}

impl Completer for LabHelper {
    type Candidate = Pair;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, c) = complete(&self.env, line, pos);
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

/// Parses one shell line into a command. `Ok(None)` for an empty line.
pub fn parse_line(line: &str) -> Result<Option<Cmd>, String> {
    let mut words = shell_words::split(line).map_err(|e| format!("cannot split the line: {e}"))?;
    // a line pasted from a lesson or the book (`sudo eclat-lab topo up`) works as it is
    if words.first().is_some_and(|w| w == "sudo") {
        words.remove(0);
    }
    if words.first().is_some_and(|w| w == "eclat-lab") {
        words.remove(0);
    }
    if words.is_empty() {
        return Ok(None);
    }
    let mut argv = vec!["eclat-lab".to_string()];
    argv.extend(words.into_iter().map(|w| expand_home(&w)));
    match Cli::try_parse_from(&argv) {
        Ok(Cli { cmd: Some(c) }) => Ok(Some(c)),
        Ok(Cli { cmd: None }) => Ok(None),
        Err(e) => Err(e.render().to_string()),
    }
}

/// `~/eclat-lab/...` (how lessons name the learner's files) is the workspace, wherever
/// `ECLAT_LAB_WORKSPACE` puts it; other `~/` paths are the user's home, as in a shell. A
/// lesson file that is not in the workspace yet is created from its starter.
pub fn expand_home(word: &str) -> String {
    if let Some(rest) = word
        .strip_prefix("~/eclat-lab/")
        .or_else(|| (word == "~/eclat-lab").then_some(""))
    {
        let path = crate::course::workspace_root().join(rest);
        crate::course::ensure_lesson_file(&path);
        return path.display().to_string();
    }
    if let Some(rest) = word.strip_prefix("~/") {
        return crate::course::user_home().join(rest).display().to_string();
    }
    word.to_string()
}

pub fn help_text() -> String {
    let mut s =
        String::from("Commands (the same as `eclat-lab COMMAND` from a shell; TAB completes):\n");
    for sc in Cli::command().get_subcommands() {
        let name = sc.get_name();
        if name == "shell" || name == "tutorial" {
            continue;
        }
        s.push_str(&format!(
            "  {:<10} {}\n",
            name,
            sc.get_about().map(|a| a.to_string()).unwrap_or_default()
        ));
    }
    s.push_str("  help, ?    this list; `COMMAND --help` for details\n  exit       leave (what this session created is removed)");
    s
}

pub fn run(env: LabEnv) -> ExitCode {
    let session = Session::new(env.clone(), Origin::Session);
    let mut rl: Editor<LabHelper, rustyline::history::DefaultHistory> = match Editor::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the shell: {e}");
            return ExitCode::from(2);
        }
    };
    rl.set_helper(Some(LabHelper { env: env.clone() }));
    let history = env.state_dir.join("history");
    let _ = rl.load_history(&history);
    let stop = Arc::new(AtomicBool::new(false));
    {
        // Ctrl-C while a command runs stops it (at the prompt rustyline handles it)
        let stop = stop.clone();
        let _ = ctrlc_flag(stop);
    }
    println!("eclat-lab shell: `?` for help, TAB to complete, `exit` to leave.");
    if !eclat_kernel::doctor::privileged() {
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
                match t {
                    "exit" | "quit" => break,
                    "?" | "help" => {
                        println!("{}", help_text());
                        continue;
                    }
                    _ => {}
                }
                match parse_line(t) {
                    Ok(None) => {}
                    Ok(Some(Cmd::Shell | Cmd::Tutorial { .. })) => {
                        println!(
                            "already in the shell; to open the tutorial, exit and run `sudo eclat-lab`"
                        )
                    }
                    Ok(Some(cmd)) => {
                        stop.store(false, Ordering::Relaxed);
                        let r = match cmd {
                            Cmd::Map(m @ cli::MapCmd::Watch { .. }) => {
                                session.map(m, &stop, &mut |f| println!("{f}\n"))
                            }
                            other => session.run(other, &stop),
                        };
                        match r {
                            Ok(o) if !o.text.is_empty() => println!("{}", o.text),
                            Ok(_) => {}
                            Err(e) => println!("error: {e:#}"),
                        }
                    }
                    Err(msg) => print!("{msg}"),
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
    match session.end() {
        Ok(Some(msg)) => println!("{msg}"),
        Ok(None) => {}
        Err(e) => {
            eprintln!("error while cleaning up the session: {e:#} (run `sudo eclat-lab reset`)")
        }
    }
    ExitCode::SUCCESS
}

/// Installs a SIGINT handler that raises `flag` (so Ctrl-C stops a running command rather
/// than killing the shell and leaving the session's objects behind).
fn ctrlc_flag(flag: Arc<AtomicBool>) -> std::io::Result<()> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    let _ = FLAG.set(flag);
    extern "C" fn on_int(_: libc::c_int) {
        if let Some(f) = FLAG.get() {
            f.store(true, Ordering::Relaxed);
        }
    }
    let act = SigAction::new(
        SigHandler::Handler(on_int),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only performs an atomic store
    unsafe { sigaction(Signal::SIGINT, &act) }
        .map(|_| ())
        .map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_commands_and_subcommands() {
        let env = LabEnv::for_test("repl");
        let (s, c) = complete(&env, "to", 2);
        assert_eq!((s, c), (0, vec!["topo".to_string()]));
        let (s, c) = complete(&env, "topo ", 5);
        assert_eq!(s, 5);
        assert!(c.contains(&"up".to_string()) && c.contains(&"down".to_string()));
        let (_, c) = complete(&env, "topo up ", 8);
        assert!(c.contains(&"hike-lab".to_string()));
        let (_, c) = complete(&env, "traffic --r", 11);
        assert_eq!(c, vec!["--rate".to_string()]);
        let (_, c) = complete(&env, "xdp attach ", 11);
        assert!(c.contains(&"xdp_counter".to_string()));
        let (_, c) = complete(&env, "map cl", 6);
        assert_eq!(c, vec!["clear".to_string()]);
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
        let (_, c) = complete(&LabEnv::for_test("repl-files"), &line, line.len());
        assert_eq!(c, vec![format!("{d}/a.eclat"), format!("{d}/sub/")]);
        let line = format!("module load {d}/m");
        let (_, c) = complete(&LabEnv::for_test("repl-files"), &line, line.len());
        assert_eq!(c, vec![format!("{d}/m.bpf.c"), format!("{d}/m.o")]);
        // nothing loaded in a fresh lab: nothing to unload
        let (_, c) = complete(&LabEnv::for_test("repl-files"), "module unload ", 14);
        assert!(c.is_empty(), "{c:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn parses_lines_like_the_cli() {
        assert!(matches!(parse_line("topo up").unwrap(), Some(Cmd::Topo(_))));
        assert!(parse_line("").unwrap().is_none());
        let e = parse_line("topo sideways").unwrap_err();
        assert!(e.contains("sideways"), "{e}");
        assert!(parse_line("exec tg -- ping -c 1 'fc01::2'").is_ok());
        // pasted with the shell's prefix
        for line in ["eclat-lab topo up", "sudo eclat-lab topo up"] {
            assert!(
                matches!(parse_line(line).unwrap(), Some(Cmd::Topo(_))),
                "{line}"
            );
        }
        assert!(parse_line("sudo eclat-lab").unwrap().is_none());
        // only as a prefix: an argument named eclat-lab stays
        assert!(parse_line("topo eclat-lab").is_err());
    }
}
