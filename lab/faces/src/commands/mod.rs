//! The commands of the lab: their table (`table`, one clap definition for argv, REPL lines
//! and the TUI's command line), their typed results (`reply`), and the layer that runs them
//! against the service and the course (`dispatch`).

mod dispatch;
mod job;
mod reference;
mod reply;
mod table;

pub use dispatch::{Ctx, run};
pub use job::{Job, JobEvent};
pub use reply::*;
pub use table::*;

use clap::CommandFactory;

/// `~/eclat-lab/...` (how lessons name the learner's files) is the workspace, wherever
/// `ECLAT_LAB_WORKSPACE` puts it; other `~/` paths are the user's home, as in a shell.
/// Pure: nothing is created (the command that reads the file creates a lesson's starter).
pub fn expand_home(word: &str) -> String {
    if let Some(rest) = word
        .strip_prefix("~/eclat-lab/")
        .or_else(|| (word == "~/eclat-lab").then_some(""))
    {
        return eclat_course::workspace::root()
            .join(rest)
            .display()
            .to_string();
    }
    if let Some(rest) = word.strip_prefix("~/") {
        return eclat_course::workspace::user_home()
            .join(rest)
            .display()
            .to_string();
    }
    word.to_string()
}

/// Parses one command line (a REPL line, the TUI's command line, a lesson step's `run`)
/// into a command. `Ok(None)` for an empty line. Pure: it reads and writes no file.
pub fn parse_line(line: &str) -> Result<Option<Cmd>, String> {
    Ok(parse_cli(line)?.and_then(|c| c.cmd))
}

/// [`parse_line`], keeping the global flags (`--json`).
pub fn parse_cli(line: &str) -> Result<Option<Cli>, String> {
    use clap::Parser;
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
    Cli::try_parse_from(&argv)
        .map(Some)
        .map_err(|e| e.render().to_string())
}

/// The commands and what the face itself understands; `clear` says what `clear` does there
/// (the shell clears the screen, the TUI empties its event log).
pub fn help_text(clear: &str) -> String {
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
    s.push_str(&format!(
        "  help, ?    this list; `COMMAND --help` for details\n  clear      {clear}\n  exit       \
         leave (what this session created is removed)\nCtrl-C stops a running command; `--json` \
         after a command prints its result as JSON."
    ));
    s
}

/// clap's message for a line that does not parse, without its usage text: what is wrong,
/// and where to look. An unknown command is one short line: `unknown command `X`; did you
/// mean `Y`?`, then where the commands are listed.
pub fn parse_error(msg: &str) -> String {
    if let Some(unknown) = quoted_after(msg, "unrecognized subcommand ") {
        // the usage line names the command the unknown word was given to (`eclat-lab topo
        // <COMMAND>`), or none at the top level
        let parent: Vec<&str> = msg
            .lines()
            .find_map(|l| l.trim().strip_prefix("Usage: eclat-lab"))
            .unwrap_or("")
            .split_whitespace()
            .take_while(|w| !w.starts_with('<') && !w.starts_with('['))
            .collect();
        // the lab's rule for "did you mean" (clap's own would offer `classroom` for `clear`)
        let root = Cli::command();
        let mut cmd = &root;
        for w in &parent {
            if let Some(c) = cmd.find_subcommand(w) {
                cmd = c;
            }
        }
        let names: Vec<&str> = cmd
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .map(|c| c.get_name())
            .collect();
        let mut s = if parent.is_empty() {
            format!("unknown command `{unknown}`")
        } else {
            format!("`{}` has no command `{unknown}`", parent.join(" "))
        };
        s.push_str(&hike::suggest::did_you_mean(unknown, names));
        if parent.is_empty() {
            s.push_str("\n`help` lists the commands");
        } else {
            s.push_str(&format!(
                "\n`{} --help` lists its commands",
                parent.join(" ")
            ));
        }
        return s;
    }
    // clap's tip of a similar flag or value, kept only when the lab's rule would offer it too
    let typed = quoted_after(msg, "unexpected argument ")
        .or_else(|| quoted_after(msg, "invalid value "))
        .unwrap_or("");
    let lines: Vec<&str> = msg
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !l.starts_with("For more information") && !l.starts_with("Usage:"))
        .filter(|l| {
            !l.contains("tip: a similar")
                || l.rsplit('\'')
                    .nth(1)
                    .is_some_and(|tip| hike::suggest::suggest(typed, [tip]).is_some())
        })
        .collect();
    let mut s = lines.join("\n");
    s.push_str("\n`COMMAND --help` shows a command's arguments");
    s
}

/// The word in quotes after `prefix` in clap's message: `'X'`.
fn quoted_after<'a>(msg: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = &msg[msg.find(prefix)? + prefix.len()..];
    let rest = rest.strip_prefix('\'')?;
    Some(&rest[..rest.find('\'')?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_like_the_cli() {
        assert!(matches!(parse_line("topo up").unwrap(), Some(Cmd::Topo(_))));
        assert!(parse_line("").unwrap().is_none());
        let e = parse_line("topo sideways").unwrap_err();
        assert!(e.contains("sideways"), "{e}");
        assert!(parse_line("exec tg -- ping -c 1 'fc01::2'").is_ok());
        for line in ["eclat-lab topo up", "sudo eclat-lab topo up"] {
            assert!(
                matches!(parse_line(line).unwrap(), Some(Cmd::Topo(_))),
                "{line}"
            );
        }
        assert!(parse_line("sudo eclat-lab").unwrap().is_none());
        assert!(parse_line("topo eclat-lab").is_err());
    }

    #[test]
    fn an_unknown_command_is_one_short_line_with_a_suggestion() {
        let m = parse_error(&parse_line("tpo up").unwrap_err());
        assert_eq!(
            m,
            "unknown command `tpo`; did you mean `topo`?\n`help` lists the commands"
        );
        let m = parse_error(&parse_line("frobnicate now").unwrap_err());
        assert_eq!(m, "unknown command `frobnicate`\n`help` lists the commands");
        let m = parse_error(&parse_line("topo dwn").unwrap_err());
        assert_eq!(
            m,
            "`topo` has no command `dwn`; did you mean `down`?\n`topo --help` lists its commands"
        );
        // other mistakes keep clap's words, without the usage text
        let m = parse_error(&parse_line("traffic --from").unwrap_err());
        assert!(!m.contains("Usage:") && m.contains("--from"), "{m}");
        let m = parse_error(&parse_line("map dump --jsn x").unwrap_err());
        assert!(
            m.contains("tip: a similar argument exists: '--json'"),
            "{m}"
        );
    }

    /// A word from another shell is not a typo of a lab command: clap's own rule offered
    /// `classroom` (the instructors' command that creates Unix users) for `clear`.
    #[test]
    fn an_unrelated_word_gets_no_suggestion() {
        for w in [
            "clear", "cls", "class", "ls", "cd", "pwd", "history", "clean", "close",
        ] {
            let m = parse_error(&parse_line(w).unwrap_err());
            assert_eq!(
                m,
                format!("unknown command `{w}`\n`help` lists the commands"),
                "{w}"
            );
        }
        let m = parse_error(&parse_line("lesson chek 1").unwrap_err());
        assert!(
            m.starts_with("`lesson` has no command `chek`; did you mean `check`?"),
            "{m}"
        );
    }

    #[test]
    fn every_lesson_step_parses() {
        for l in eclat_course::lessons::all() {
            for s in &l.steps {
                if let Some(run) = &s.run {
                    assert!(
                        matches!(parse_line(run), Ok(Some(_))),
                        "{}: step `{}` runs `{run}`, which does not parse: {:?}",
                        l.id,
                        s.title,
                        parse_line(run)
                    );
                }
            }
        }
    }
}
