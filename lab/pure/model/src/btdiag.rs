//! bpftrace's errors and warnings about a learner's program as diagnostics, in the shape of
//! clang's ([`CDiagnostic`]: file, line:column, the quoted line and its marks, the message,
//! what to do), so that a check shows them as it shows a C file's (`cdiag::render`, `--json`'s
//! `diagnostics`). What bpftrace (0.17) prints, on the terminal its output shares:
//!
//! ```text
//! /home/me/eclat-lab/03-bpftool-bpftrace-bcc/aborts.bt:18:30-41: ERROR: Struct/union of type ...
//! tracepoint:xdp:xdp_exception /args->prog == $1/
//!                              ~~~~~~~~~~~
//! /home/me/.../aborts.bt:14-18: ERROR: tracepoint not found: xdp:xdp_exceptoin
//! ERROR: Error attaching probe: 'kprobe:nosuch'
//! ```
//!
//! A place is `FILE:LINE:FROM-TO` (byte columns of the line, a tab counting one) or
//! `FILE:FIRST-LAST` (lines, and no quoted line); the quoted line has its tabs written as four
//! spaces and the marks under it are counted in bytes. Pure text work; never panics.

use crate::cdiag::{self, CDiagnostic, LineCol, Severity};

/// The words bpftrace starts a message with, and what they are here (`HINT` joins the
/// diagnostic before it as its help).
const KINDS: [(&str, Option<Severity>); 3] = [
    ("ERROR", Some(Severity::Error)),
    ("WARNING", Some(Severity::Warning)),
    ("HINT", None),
];

/// Where bpftrace placed a message: the file (as it printed it), the line and the column, and
/// for a place over lines, the last line.
struct Place {
    file: Option<String>,
    line: u32,
    col: Option<u32>,
    last: Option<u32>,
}

fn num(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `FILE:L:C-C`, `FILE:L-L`, `FILE:L:C`, `FILE:L`, each with or without the file.
fn place(prefix: &str) -> Option<Place> {
    let (rest, last) = match prefix.rsplit_once(':') {
        Some((r, l)) => (Some(r), l),
        None => (None, prefix),
    };
    let range = |s: &str| -> Option<(u32, Option<u32>)> {
        match s.split_once('-') {
            Some((a, b)) => Some((num(a)?, Some(num(b)?))),
            None => Some((num(s)?, None)),
        }
    };
    let (a, b) = range(last)?;
    // `L:C-C` or `L:C`: the part before is the line
    if let Some(rest) = rest
        && let Some((file, line)) = rest.rsplit_once(':').or(Some(("", rest)))
        && let Some(line) = num(line)
    {
        return Some(Place {
            file: Some(file.to_string()).filter(|f| !f.is_empty()),
            line,
            col: Some(a),
            last: None,
        });
    }
    // `L-L` or `L`
    Some(Place {
        file: rest.map(str::to_string).filter(|f| !f.is_empty()),
        line: a,
        col: None,
        last: b,
    })
}

/// A message's first line: its place, what kind it is and its text.
fn header(line: &str) -> Option<(Option<Place>, Option<Severity>, String)> {
    for (word, sev) in KINDS {
        if let Some(msg) = line.strip_prefix(word).and_then(|r| r.strip_prefix(": ")) {
            return Some((None, sev, msg.trim_end().to_string()));
        }
    }
    let mut best: Option<(usize, usize, Option<Severity>)> = None;
    for (word, sev) in KINDS {
        let pat = format!(": {word}: ");
        if let Some(i) = line.find(&pat)
            && best.is_none_or(|(b, _, _)| i < b)
        {
            best = Some((i, pat.len(), sev));
        }
    }
    let (i, n, sev) = best?;
    let p = place(&line[..i])?;
    Some((Some(p), sev, line[i + n..].trim_end().to_string()))
}

/// Only marks: `~` (and `^`), spaces before them.
fn marks(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty() && t.chars().all(|c| matches!(c, '~' | '^' | ' '))
}

/// bpftrace's marks are counted in bytes of the quoted line: the same marks counted in its
/// characters, so that they stand under the place on a learner's terminal.
fn realign(snippet: &str, marker: &str) -> String {
    let lead = marker.len() - marker.trim_start().len();
    let width = marker.trim().len();
    let mut at = lead.min(snippet.len());
    while !snippet.is_char_boundary(at) {
        at -= 1;
    }
    let mut end = (lead + width).min(snippet.len()).max(at);
    while !snippet.is_char_boundary(end) {
        end -= 1;
    }
    let chars_before = snippet[..at].chars().count();
    let chars_under = snippet[at..end].chars().count().max(1);
    let mark = marker.trim().chars().next().unwrap_or('~');
    let rest = if mark == '^' { '~' } else { mark };
    format!(
        "{}{mark}{}",
        " ".repeat(chars_before),
        rest.to_string().repeat(chars_under - 1)
    )
}

/// `line` as bpftrace quotes it: a tab as four spaces.
fn quoted(line: &str) -> String {
    line.replace('\t', "    ")
}

/// Parses what bpftrace printed (its program's own lines, before its first message, are left
/// out) into diagnostics, in the order printed: a message with its place, the quoted line and
/// the marks under it; a `HINT:` joins the message before it as its help; a line of another
/// kind after a message (`create_probe_event: ...`) is kept as a note of it, and bpftrace's
/// `Attaching N probes...` is left out. `read` gives a file's text as the messages name it
/// (the learner's program, read with their rights), or nothing: the columns are then made
/// character columns, and a message placed over lines (`14-18`) is put on the first of them
/// that holds code, with that line quoted (bpftrace's range starts after the token before).
/// Never panics.
pub fn parse(output: &str, read: impl Fn(&str) -> Option<String>) -> Vec<CDiagnostic> {
    let mut out: Vec<CDiagnostic> = Vec::new();
    // the last line of no known kind: the quoted line, if marks follow it
    let mut bare: Option<String> = None;
    // over lines, as bpftrace placed them: for each diagnostic, its last line
    let mut lasts: Vec<Option<u32>> = Vec::new();
    for raw in output.lines() {
        let line = raw.trim_end_matches('\r');
        if let Some((p, sev, message)) = header(line) {
            bare = None;
            let Some(sev) = sev else {
                // a hint: what to do about the message before it
                if let Some(d) = out.last_mut() {
                    d.help = Some(message);
                }
                continue;
            };
            let (file, span, last) = match p {
                Some(p) => (
                    p.file,
                    Some(LineCol {
                        line: p.line.max(1),
                        col: p.col.unwrap_or(1).max(1),
                    }),
                    p.last,
                ),
                None => (None, None, None),
            };
            out.push(CDiagnostic::new(file, span, sev, message));
            lasts.push(last);
            continue;
        }
        let Some(d) = out.last_mut() else {
            continue;
        };
        if line.trim().is_empty() || is_attaching(line) {
            continue;
        }
        if marks(line)
            && d.snippet.is_none()
            && let Some(src) = bare.take()
        {
            d.marker = Some(realign(&src, line.trim_end()));
            d.snippet = Some(src);
            d.notes.pop();
            continue;
        }
        bare = Some(line.to_string());
        d.notes.push(line.trim().to_string());
    }
    for (d, last) in out.iter_mut().zip(lasts) {
        if let (Some(last), Some(span), Some(f)) = (last, d.span.as_mut(), d.file.as_deref())
            && let Some(text) = read(f)
        {
            on_code(
                span,
                last,
                d.snippet.get_or_insert_default(),
                &mut d.marker,
                &text,
            );
            if d.snippet.as_deref() == Some("") {
                d.snippet = None;
            }
        }
        d.help = d.help.take().or_else(|| advice(&d.message));
    }
    cdiag::char_columns(&mut out, &read);
    // bpftrace's complaint about RLIMIT_MEMLOCK is about this machine, not the learner's
    // program, and stops nothing since Linux 5.11: a note, after what is about the program
    for d in &mut out {
        if is_rlimit_notice(&d.message) {
            d.severity = Severity::Note;
        }
    }
    out.sort_by_key(|d| is_rlimit_notice(&d.message));
    out
}

fn is_rlimit_notice(message: &str) -> bool {
    message.contains("couldn't set RLIMIT_MEMLOCK")
}

fn is_attaching(line: &str) -> bool {
    line.strip_prefix("Attaching ")
        .is_some_and(|r| r.ends_with(" probe...") || r.ends_with(" probes..."))
}

/// A place over lines `span.line..=last`: the first of them that holds code (not blank, not a
/// comment, not a brace alone), quoted, with its code marked.
fn on_code(
    span: &mut LineCol,
    last: u32,
    snippet: &mut String,
    marker: &mut Option<String>,
    text: &str,
) {
    let lines: Vec<&str> = text.lines().collect();
    let first = span.line.max(1);
    let last = last.max(first).min(lines.len() as u32);
    let Some((n, l)) = (first..=last).find_map(|n| {
        let l = *lines.get(n as usize - 1)?;
        let t = l.trim();
        let code = !t.is_empty() && !t.starts_with("//") && !matches!(t, "{" | "}");
        code.then_some((n, l))
    }) else {
        return;
    };
    let indent = l.len() - l.trim_start().len();
    span.line = n;
    // a byte column, as bpftrace's: made a character column with the others
    span.col = indent as u32 + 1;
    let shown = quoted(l.trim_end());
    let lead = shown.len() - shown.trim_start().len();
    *marker = Some(realign(
        &shown,
        &format!("{}{}", " ".repeat(lead), "~".repeat(shown.trim().len())),
    ));
    *snippet = shown;
}

/// The names bpftrace (0.17) knows as functions: what a misspelt one is compared with.
const FUNCTIONS: [&str; 41] = [
    "avg",
    "buf",
    "cat",
    "cgroup_path",
    "cgroupid",
    "clear",
    "count",
    "delete",
    "exit",
    "hist",
    "join",
    "kaddr",
    "kptr",
    "ksym",
    "lhist",
    "macaddr",
    "max",
    "min",
    "ntop",
    "override",
    "path",
    "print",
    "printf",
    "pton",
    "reg",
    "signal",
    "sizeof",
    "skboutput",
    "stats",
    "str",
    "strftime",
    "strncmp",
    "sum",
    "system",
    "time",
    "uaddr",
    "uptr",
    "usym",
    "zero",
    "kstack",
    "ustack",
];

/// What to do, for the messages learners meet most.
fn advice(message: &str) -> Option<String> {
    if is_rlimit_notice(message) {
        return Some(
            "harmless since Linux 5.11 (the memory of BPF maps and programs is charged to the \
             cgroup, not to this limit): bpftrace goes on; any other message here is about \
             your program."
                .into(),
        );
    }
    if let Some(f) = message.strip_prefix("Unknown function: ") {
        let f = f.trim();
        // an abbreviation first (`cnt`: `count`, not `cat`), then the lab's one rule
        let mut short = FUNCTIONS.iter().filter(|g| abbreviates(f, g));
        let meant = match (short.next(), short.next()) {
            (Some(g), None) => Some(*g),
            _ => hike::suggest::suggest(f, FUNCTIONS),
        };
        return Some(match meant {
            Some(meant) => format!("did you mean `{meant}()`? `{f}` is not a bpftrace function."),
            None => format!(
                "`{f}` is not a bpftrace function: a map counts with `count()` (`@m = \
                 count();`), adds with `sum(x)`; bpftrace(8) lists the functions."
            ),
        });
    }
    if message.contains("does not contain a field named") {
        return Some(
            "`bpftrace -lv 'tracepoint:CATEGORY:NAME'` lists a tracepoint's fields, the names \
             `args->...` reads."
                .into(),
        );
    }
    if message.contains("expecting end predicate") {
        return Some(
            "a filter ends with `/` before the action's `{`: `PROBE /FILTER/ { ACTION }`.".into(),
        );
    }
    if let Some(tp) = message.strip_prefix("tracepoint not found: ") {
        let category = tp.split(':').next().unwrap_or(tp).trim();
        return Some(format!(
            "check the name: `bpftrace -l 'tracepoint:{category}:*'` lists the tracepoints of \
             `{category}`."
        ));
    }
    None
}

/// Is `short` an abbreviation of `name`: shorter, the same first letter, and its letters in
/// `name` in order (`cnt` of `count`)?
fn abbreviates(short: &str, name: &str) -> bool {
    if short.len() < 2 || short.len() >= name.len() || short.chars().next() != name.chars().next() {
        return false;
    }
    let mut rest = name.chars();
    short.chars().all(|c| rest.any(|n| n == c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places() {
        let p = place("/a/b.bt:18:30-41").unwrap();
        assert_eq!(
            (p.file.as_deref(), p.line, p.col, p.last),
            (Some("/a/b.bt"), 18, Some(30), None)
        );
        let p = place("b.bt:14-18").unwrap();
        assert_eq!(
            (p.file.as_deref(), p.line, p.col, p.last),
            (Some("b.bt"), 14, None, Some(18))
        );
        let p = place("stdin:1:3").unwrap();
        assert_eq!(
            (p.file.as_deref(), p.line, p.col),
            (Some("stdin"), 1, Some(3))
        );
        let p = place("1:3-4").unwrap();
        assert_eq!((p.file, p.line, p.col), (None, 1, Some(3)));
        assert!(place("create_probe_event").is_none());
        assert!(header("create_probe_event: open(x): No such file").is_none());
    }

    #[test]
    fn marks_counted_in_bytes_are_set_under_characters() {
        // `é` is two bytes: bpftrace's marks stand one column too far right
        assert_eq!(realign("é x", "   ~"), "  ~");
        assert_eq!(realign("abc", "  ~~~~~"), "  ~");
        assert_eq!(realign("", "~"), "~");
    }

    #[test]
    fn a_misspelt_function_is_named() {
        let help = |f: &str| advice(&format!("Unknown function: {f}")).unwrap();
        assert!(
            help("cnt").starts_with("did you mean `count()`?"),
            "{}",
            help("cnt")
        );
        assert!(help("delet").starts_with("did you mean `delete()`?"));
        assert!(help("frobnicate").contains("bpftrace(8)"));
    }

    #[test]
    fn odd_input_never_panics() {
        for s in [
            "",
            ":",
            ": ERROR: ",
            "ERROR: ",
            "x:0:0-0: ERROR: a",
            "x:99999999999999999999:1-2: ERROR: big",
            "x:1-0: ERROR: backwards\n~",
            "x:5-3: ERROR: backwards",
            "HINT: alone",
            "é:1:1-2: WARNING: é\né\n ~~~~~~~~",
            "~~~\nERROR: x\n~~~",
        ] {
            let d = parse(s, |_| Some("é\n\n}\n// c\n\tx\n".into()));
            let _ = cdiag::render(&d);
        }
    }
}
