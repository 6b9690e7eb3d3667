//! Completion for the REPL and the TUI's command line: command and subcommand names from the
//! command table, and live names from the lab (nodes, interfaces, maps, programs, scripts,
//! lessons, files).

use clap::CommandFactory;
use eclat_service::Lab;

use crate::commands::{self, Cli};

/// Completion candidates for the word at `pos` of `line`, from the command table and the
/// lab's live state. Shared by the REPL and the TUI's command line.
pub fn complete(lab: &Lab, line: &str, pos: usize) -> (usize, Vec<String>) {
    let head = &line[..pos.min(line.len())];
    let start = head.rfind(' ').map(|i| i + 1).unwrap_or(0);
    let word = &head[start..];
    let words: Vec<&str> = head[..start].split_whitespace().collect();
    let cands: Vec<String> = match words.as_slice() {
        [] => {
            let mut v = commands::command_names();
            v.retain(|c| c != "shell" && c != "tutorial");
            v.extend(["help", "exit", "clear"].map(String::from));
            v
        }
        [cmd] if !commands::subcommand_names(cmd).is_empty() => commands::subcommand_names(cmd),
        ["exec"] => lab.node_names(),
        ["xdp", "attach"] => lab.attachable_programs(),
        ["xdp", "load"] => files_like(word, &[".c", ".o"]),
        ["xdp", "attach", _] | ["xdp", "detach"] => lab.node_names(),
        ["xdp", "attach", _, node] | ["xdp", "detach", node] => lab.dev_names(node),
        ["xdp", "unload"] => lab.xdp_object_names(),
        ["cube", "add", _] => {
            let mut v = files_like(word, &[".c", ".o"]);
            v.extend(lab.builtin_cube_names());
            v
        }
        ["cube", "connect" | "disconnect"] => lab.cube_ports(),
        ["cube", "connect", _] | ["cube", "attach" | "del" | "show"] => lab.cube_names(),
        ["cube", "attach", _] => lab.node_names(),
        ["cube", "attach", _, node] => lab.dev_names(node),
        ["map", "dump" | "watch" | "set" | "delete" | "clear"] | ["read-map"] => lab.map_names(),
        ["map", "set", map, _] if lab.is_prog_array(map) => lab.pinned_program_names(),
        ["map", "set", _, _] => ["PASS", "DROP", "ABORTED", "TX", "REDIRECT"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ["topo", "up"] => eclat_service::topologies::names(),
        ["module", "build"] => files_like(word, &[".c"]),
        ["module", "load"] => files_like(word, &[".c", ".o"]),
        ["module", "unload"] => lab.unloadable_modules(),
        ["load" | "compile" | "test"] => files_like(word, &[".eclat"]),
        ["unload"] => lab.script_names(),
        [
            "lesson",
            "show" | "check" | "hint" | "reset" | "solution" | "solve",
        ]
        | ["dev", "check"]
        | [.., "--lesson"] => lesson_names(),
        [
            "lesson",
            "check" | "hint" | "reset" | "solution" | "solve",
            lesson,
        ] => exercise_ids(lesson),
        [.., "--from"] => lab.node_names(),
        _ if word.starts_with('-') => flags_of(&words).into_iter().collect(),
        _ => vec![],
    };
    let mut out: Vec<String> = cands.into_iter().filter(|c| c.starts_with(word)).collect();
    // numbers (lessons) in their order, before words: 1 2 ... 10, then 01-hello-xdp ...
    out.sort_by_key(|c| (c.parse::<u64>().ok().unwrap_or(u64::MAX), c.clone()));
    out.dedup();
    (start, out)
}

/// Every lesson by number (`8`) and by id (`08-ddos-mitigation`): the commands take both.
fn lesson_names() -> Vec<String> {
    eclat_course::lessons::all()
        .iter()
        .flat_map(|l| [l.number.to_string(), l.id.clone()])
        .collect()
}

/// The exercise ids of the lesson `lesson` names (a number, an id or a slug), none for a
/// lesson that does not exist.
fn exercise_ids(lesson: &str) -> Vec<String> {
    eclat_course::lessons::find(lesson)
        .map(|l| l.exercises.iter().map(|e| e.id.clone()).collect())
        .unwrap_or_default()
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
        eclat_course::workspace::root().join(rest)
    } else if let Some(rest) = dir.strip_prefix("~/") {
        eclat_course::workspace::user_home().join(rest)
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
