//! A C file's diagnostics as data: what clang prints on stderr (`file:line:col: severity:
//! message [-Wflag]`, the quoted source line with its caret and fix-it, `note:`s, `In file
//! included from` chains) parsed into [`CDiagnostic`]s, and a verifier rejection (the
//! program, the kernel's words, the failing instruction, the C line from BTF line info) in the
//! same form, so that a learner reads both the way `compile` shows an eCLAT script's: what
//! happened, where, what to do. Pure text work; never panics on odd input.
//!
//! clang-19 has no JSON diagnostics (`-fdiagnostics-format=json` is refused; `sarif` is marked
//! unstable and drops the fix-its, the notes' source lines and the include chains), so the
//! parser reads its standard text form.

use serde::Serialize;

use crate::verifier::Explanation;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// the file does not compile (clang's `error` and `fatal error`), or the verifier rejected
    /// a program
    Error,
    /// it compiles, but probably not as meant
    Warning,
    /// a note clang printed with no error or warning before it to belong to
    Note,
}

impl Severity {
    fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// A place in a file: line and column, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct LineCol {
    /// the 1-based line
    pub line: u32,
    /// the 1-based column, counted in characters of the line (clang counts bytes: converted
    /// with the file's text where the lab could read it)
    pub col: u32,
}

/// A file and a line in it: one step of an `In file included from` chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct FileLine {
    /// the including file, as `file` of a diagnostic is written
    pub file: String,
    /// the 1-based line of its `#include`
    pub line: u32,
}

/// Another place that explains a diagnostic: one of clang's `note:`s (`previous definition is
/// here`, `expanded from macro 'X'`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Related {
    /// the file the note points into, as `file` of a diagnostic is written; null when the note
    /// has no place
    pub file: Option<String>,
    /// where in that file; null when the note has no place
    pub span: Option<LineCol>,
    /// what the note says
    pub message: String,
    /// the source line clang quoted under the note (tabs expanded to 8 columns, as clang prints
    /// it); null when it quoted none
    pub snippet: Option<String>,
    /// the marks clang drew under `snippet` (`^~~~`), aligned with it; null when none
    pub marker: Option<String>,
}

/// One diagnostic about a C file: an error or warning of clang's, or the verifier's rejection
/// of a program. The field names are those of an eCLAT script's diagnostics where they mean
/// the same (`file`, `severity`, `code`, `message`, `span.line`, `span.col`, `labels`, `help`,
/// `notes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CDiagnostic {
    /// the file the diagnostic is about: relative to the folder of the checked file when it is
    /// in that folder (`ipv6_counter.bpf.c`); one of the lab's headers as `#include` names it,
    /// in angle brackets (`<hike/parse.h>`); else as clang printed it (a system header,
    /// `/usr/include/linux/bpf.h`); null for clang's errors about no file (an output folder it
    /// cannot write)
    pub file: Option<String>,
    /// `error`, `warning`, or `note` (a note clang printed with nothing before it)
    pub severity: Severity,
    /// what kind of diagnostic: clang's warning option when it printed one
    /// (`-Wunused-variable`, `-Wimplicit-function-declaration`), `verifier:` and the verifier
    /// explainer's class for a rejection (`verifier:packet-out-of-bounds`); null for clang's
    /// errors, which name no option
    pub code: Option<String>,
    /// what is wrong, in clang's (or, for a rejection, the lab's) words
    pub message: String,
    /// where in `file`; null when the diagnostic has no place (a rejection of an object built
    /// without `-g`: the verifier then knows no C line)
    pub span: Option<LineCol>,
    /// the source line at `span`, as clang quoted it (tabs expanded to 8 columns) or, for a
    /// rejection, as BTF line info gives it; null when there is none
    pub snippet: Option<String>,
    /// the marks under `snippet` (`^~~~`), aligned with it: where on the line; null when none
    pub marker: Option<String>,
    /// the text clang suggests writing at the marks (its fix-it: `;` for a missing one); null
    /// when it suggests none
    pub fixit: Option<String>,
    /// for a rejection: the program the verifier rejected (its function's name); null for
    /// clang's diagnostics
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// for a rejection: the index of the instruction the verifier stopped at; null for clang's
    /// diagnostics, or when the log names no instruction
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insn: Option<u32>,
    /// other places that explain it (clang's notes with a place), in the order printed; empty
    /// when there are none
    pub labels: Vec<Related>,
    /// what to do about it, one or two sentences for a learner; null when the lab has no advice
    pub help: Option<String>,
    /// more facts, one string each: clang's notes with no place, lines of its output the lab
    /// does not know, and for a rejection the kernel's words and the instruction; empty when
    /// there are none
    pub notes: Vec<String>,
    /// when `file` is a header: the `#include`s that led to it, innermost first; empty otherwise
    pub included_from: Vec<FileLine>,
}

impl CDiagnostic {
    pub(crate) fn new(
        file: Option<String>,
        span: Option<LineCol>,
        severity: Severity,
        message: String,
    ) -> Self {
        CDiagnostic {
            file,
            severity,
            code: None,
            message,
            span,
            snippet: None,
            marker: None,
            fixit: None,
            program: None,
            insn: None,
            labels: Vec::new(),
            help: None,
            notes: Vec::new(),
            included_from: Vec::new(),
        }
    }

    /// `file:line:col: message`, one line (for a check's `seen`).
    pub fn short(&self) -> String {
        let at = place(self.file.as_deref(), self.span);
        if at.is_empty() {
            self.message.clone()
        } else {
            format!("{at}: {}", self.message)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `file:line:col`, `file`, or nothing.
fn place(file: Option<&str>, span: Option<LineCol>) -> String {
    match (file, span) {
        (Some(f), Some(s)) => format!("{f}:{}:{}", s.line, s.col),
        (Some(f), None) => f.to_string(),
        (None, Some(s)) => format!("{}:{}", s.line, s.col),
        (None, None) => String::new(),
    }
}

/// The severities clang writes, longest first where one ends another (`fatal error`).
const SEVERITIES: [(&str, Severity); 5] = [
    ("fatal error", Severity::Error),
    ("error", Severity::Error),
    ("warning", Severity::Warning),
    ("note", Severity::Note),
    ("remark", Severity::Note),
];

/// A diagnostic's first line: place, severity, message.
struct Header {
    file: Option<String>,
    span: Option<LineCol>,
    severity: Severity,
    message: String,
    code: Option<String>,
}

/// `PATH:LINE:COL`, `PATH:LINE`, or a program's name (`clang-19`, `ld.lld`), or nothing.
fn location(prefix: &str) -> Option<(Option<String>, Option<LineCol>)> {
    if prefix.is_empty() {
        return Some((None, None));
    }
    let num = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    if let Some((rest, last)) = prefix.rsplit_once(':')
        && let Some(n) = num(last)
    {
        if let Some((file, line)) = rest.rsplit_once(':')
            && let Some(l) = num(line)
            && !file.is_empty()
        {
            // `<unknown>:0:0`: no place
            return Some(if l == 0 {
                (Some(file.to_string()).filter(|f| f != "<unknown>"), None)
            } else {
                (
                    Some(file.to_string()),
                    Some(LineCol {
                        line: l,
                        col: n.max(1),
                    }),
                )
            });
        }
        if !rest.is_empty() {
            return Some(if n == 0 {
                (Some(rest.to_string()), None)
            } else {
                (Some(rest.to_string()), Some(LineCol { line: n, col: 1 }))
            });
        }
    }
    // a program's name: one word, no spaces (`clang-19: error: ...`)
    (!prefix.contains(char::is_whitespace) && !prefix.contains('|')).then_some((None, None))
}

/// The option clang names at the end of a warning (` [-Wunused-variable]`, ` [-Werror,-Wfoo]`):
/// the message without it, and the option.
fn split_option(message: &str) -> (String, Option<String>) {
    let t = message.trim_end();
    if let Some(body) = t.strip_suffix(']')
        && let Some((msg, opts)) = body.rsplit_once(" [")
    {
        let opts: Vec<&str> = opts.split(',').collect();
        if opts.iter().all(|o| o.starts_with('-') && !o.contains(' ')) {
            let code = opts
                .iter()
                .rev()
                .find(|o| **o != "-Werror")
                .unwrap_or(&opts[opts.len() - 1]);
            return (msg.to_string(), Some(code.to_string()));
        }
    }
    (t.to_string(), None)
}

fn header(line: &str) -> Option<Header> {
    // no place at all: `error: ...` at the start of the line
    for (word, sev) in SEVERITIES {
        if let Some(rest) = line.strip_prefix(word).and_then(|r| r.strip_prefix(": ")) {
            let (message, code) = split_option(rest);
            return Some(Header {
                file: None,
                span: None,
                severity: sev,
                message,
                code,
            });
        }
    }
    // the leftmost `: severity: ` whose prefix is a place (or a program's name)
    let mut best: Option<(usize, usize, Severity)> = None;
    for (word, sev) in SEVERITIES {
        let pat = format!(": {word}: ");
        let mut from = 0;
        while let Some(i) = line
            .get(from..)
            .and_then(|r| r.find(&pat))
            .map(|i| i + from)
        {
            if best.is_some_and(|(b, _, _)| b <= i) {
                break;
            }
            if location(&line[..i]).is_some() {
                best = Some((i, pat.len(), sev));
                break;
            }
            from = i + 1;
        }
    }
    let (i, n, severity) = best?;
    let (file, span) = location(&line[..i])?;
    let (message, code) = split_option(&line[i + n..]);
    Some(Header {
        file,
        span,
        severity,
        message,
        code,
    })
}

/// `In file included from PATH:LINE:` or its continuation `                 from PATH:LINE:`.
fn include_step(line: &str) -> Option<FileLine> {
    let rest = line.strip_prefix("In file included from ").or_else(|| {
        let t = line.trim_start();
        (t.len() < line.len()).then(|| t.strip_prefix("from "))?
    })?;
    let rest = rest.trim_end().trim_end_matches([':', ',']);
    let (file, ln) = rest.rsplit_once(':')?;
    // `PATH:LINE:COL` (some versions) or `PATH:LINE`
    let (file, ln) = match file.rsplit_once(':') {
        Some((f, l)) if !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) => (f, l),
        _ => (file, ln),
    };
    let line: u32 = ln.parse().ok()?;
    (!file.is_empty()).then(|| FileLine {
        file: file.to_string(),
        line,
    })
}

/// `N errors generated.`, `1 warning and 2 errors generated.`
fn summary(line: &str) -> bool {
    let t = line.trim();
    let Some(body) = t.strip_suffix(" generated.") else {
        return false;
    };
    body.split(" and ").all(|part| {
        let mut w = part.split(' ');
        matches!(
            (w.next(), w.next(), w.next()),
            (Some(n), Some("error" | "errors" | "warning" | "warnings"), None)
                if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        )
    })
}

/// A line of clang's source excerpt: `   10 | text` (a numbered source line) or `      | ^~~`
/// (marks or a fix-it): the number, if any, and the text after the bar.
fn margin(line: &str) -> Option<(Option<u32>, &str)> {
    let t = line.trim_start();
    let digits = t.bytes().take_while(|b| b.is_ascii_digit()).count();
    let after = t[digits..].strip_prefix(" |").or_else(|| {
        // `  |` with no number: the bar after spaces alone
        (digits == 0).then(|| t.strip_prefix('|'))?
    })?;
    let text = after.strip_prefix(' ').unwrap_or(after);
    let n = if digits > 0 {
        Some(t[..digits].parse().ok()?)
    } else {
        None
    };
    Some((n, text))
}

/// Only marks: `^`, `~`, spaces (clang's caret line).
fn marks(s: &str) -> bool {
    s.contains('^') && s.chars().all(|c| matches!(c, '^' | '~' | ' '))
        || !s.trim().is_empty() && s.trim().chars().all(|c| c == '~')
}

/// Where the excerpt lines that follow go: the diagnostic itself or its last label.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    Main,
    Label,
}

/// Parses what clang printed on stderr into diagnostics, in the order printed: each `note:`
/// joins the error or warning before it (as a label when it has a place), the `In file
/// included from` lines the diagnostic after them; the summary (`2 errors generated.`) is
/// dropped, and any other line is kept as a note of the diagnostic before it, so no text is
/// lost. Never panics.
pub fn parse_clang(stderr: &str) -> Vec<CDiagnostic> {
    let mut out: Vec<CDiagnostic> = Vec::new();
    let mut includes: Vec<FileLine> = Vec::new();
    let mut target = Target::Main;
    // a line that may be a source line quoted without a margin (older clangs, or
    // -fno-diagnostics-show-line-numbers): it is one if marks follow it
    let mut bare_source: Option<String> = None;
    // the number of the quoted line kept as the snippet, and whether the last numbered line
    // was it (the marks and the fix-it under a line belong to it)
    let mut snippet_line: Option<u32> = None;
    let mut took_last = false;
    for raw in stderr.lines() {
        let line = raw.trim_end_matches('\r');
        if let Some(step) = include_step(line) {
            includes.push(step);
            bare_source = None;
            continue;
        }
        if let Some(h) = header(line) {
            bare_source = None;
            snippet_line = None;
            took_last = false;
            let attach = h.severity == Severity::Note && !out.is_empty();
            if attach {
                let d = out.last_mut().expect("not empty");
                includes.clear();
                if h.span.is_some() || h.file.is_some() {
                    d.labels.push(Related {
                        file: h.file,
                        span: h.span,
                        message: h.message,
                        snippet: None,
                        marker: None,
                    });
                    target = Target::Label;
                } else {
                    d.notes.push(h.message);
                }
                continue;
            }
            let mut d = CDiagnostic::new(h.file, h.span, h.severity, h.message);
            d.code = h.code;
            d.included_from = std::mem::take(&mut includes);
            out.push(d);
            target = Target::Main;
            continue;
        }
        if summary(line) || line.trim().is_empty() {
            continue;
        }
        let Some(d) = out.last_mut() else {
            // before any diagnostic: nothing to attach it to
            continue;
        };
        let (span, snippet, marker, fixit) = match (target, d.labels.last_mut()) {
            (Target::Label, Some(l)) => (l.span, &mut l.snippet, &mut l.marker, None),
            _ => (d.span, &mut d.snippet, &mut d.marker, Some(&mut d.fixit)),
        };
        if let Some((n, text)) = margin(line) {
            bare_source = None;
            match n {
                // the quoted line: the one at the place (a range over several lines quotes
                // the ones before it too), else the first
                Some(n) => {
                    let at_place = span.is_some_and(|s| s.line == n);
                    if snippet.is_none() || at_place && snippet_line != span.map(|s| s.line) {
                        *snippet = Some(text.to_string());
                        *marker = None;
                        if let Some(f) = fixit {
                            *f = None;
                        }
                        snippet_line = Some(n);
                        took_last = true;
                    } else {
                        took_last = false;
                    }
                }
                None if took_last && marks(text) && marker.is_none() => {
                    *marker = Some(text.trim_end().to_string())
                }
                None if took_last && marker.is_some() => {
                    if let Some(f) = fixit.filter(|f| f.is_none()) {
                        let t = text.trim();
                        if !t.is_empty() {
                            *f = Some(t.to_string());
                        }
                    }
                }
                None => {}
            }
            continue;
        }
        if marks(line)
            && marker.is_none()
            && snippet.is_none()
            && let Some(src) = bare_source.take()
        {
            // a source line quoted without a margin: it was kept as a note
            *snippet = Some(src.clone());
            *marker = Some(line.trim_end().to_string());
            if d.notes.last() == Some(&src.trim().to_string()) {
                d.notes.pop();
            }
            continue;
        }
        // a line the lab does not know: kept, as a note of the diagnostic before it
        bare_source = Some(line.to_string());
        d.notes.push(line.trim().to_string());
    }
    for d in &mut out {
        d.help = advice(d);
    }
    out
}

/// What to do, for the diagnostics learners meet most.
fn advice(d: &CDiagnostic) -> Option<String> {
    let m = d.message.as_str();
    let quoted = |after: &str| quoted_after(m, after);
    // clang's own typo correction, a note at the same place: said as the lab's help too
    if let Some(name) = undeclared_name(d)
        && let Some(meant) = d
            .labels
            .iter()
            .find_map(|l| quoted_after(&l.message, "did you mean '"))
            .or_else(|| quoted_after(m, "did you mean '"))
            .filter(|meant| *meant != name)
    {
        return Some(format!(
            "did you mean `{meant}`? `{name}` is declared nowhere this file can see."
        ));
    }
    if m.contains("BPF stack limit") {
        return Some(
            "An eBPF program has 512 bytes of stack: make the local arrays and structs smaller, \
             or keep a big buffer in a per-CPU array map (one entry, looked up with key 0)."
                .into(),
        );
    }
    if let Some(f) = quoted("call to undeclared function '") {
        return Some(if f.starts_with("bpf_") {
            format!(
                "`{f}` is not declared: the BPF helpers come from `#include <bpf/bpf_helpers.h>` \
                 (bpf_htons and friends from <bpf/bpf_endian.h>); if the include is there, check \
                 the spelling against bpf-helpers(7)."
            )
        } else {
            format!(
                "`{f}` is not declared before this line: check its spelling, define it above, \
                 or include the header that declares it."
            )
        });
    }
    if let Some(name) = quoted("use of undeclared identifier '")
        && !m.contains("did you mean")
    {
        return Some(format!(
            "`{name}` is not declared here: check its spelling, declare it before this \
                 line, or include its header (XDP_* come from <linux/bpf.h>, ETH_P_* from \
                 <linux/if_ether.h>, IPPROTO_* from <linux/in.h>)."
        ));
    }
    if m.ends_with("file not found") {
        return Some(
            "The lab builds with the kernel's headers (<linux/...>), libbpf's (<bpf/...>) and \
             HIKe's (<hike/...>): check the name; a file beside yours is included with \"...\"."
                .into(),
        );
    }
    if d.code.as_deref() == Some("-Wunused-variable") {
        return Some(
            "Use it or remove it: an unused variable often means the line that should use it \
             is missing."
                .into(),
        );
    }
    if let Some(f) = &d.fixit {
        return Some(format!("clang suggests writing `{f}` where the mark is."));
    }
    None
}

/// The text between `after` and the next `'` in `m`.
fn quoted_after(m: &str, after: &str) -> Option<String> {
    let rest = &m[m.find(after)? + after.len()..];
    let end = rest.find('\'')?;
    Some(rest[..end].to_string()).filter(|s| !s.is_empty())
}

/// The name a diagnostic says is not declared: clang's `call to undeclared function 'X'` and
/// `use of undeclared identifier 'X'`.
fn undeclared_name(d: &CDiagnostic) -> Option<String> {
    quoted_after(&d.message, "call to undeclared function '")
        .or_else(|| quoted_after(&d.message, "use of undeclared identifier '"))
}

/// A name a header the lab builds with declares for a C file to use: a BPF helper
/// (`bpf_map_lookup_elem`), a HIKe function (`hike_parse_l2l3`) or function-like macro
/// (`hike_pkt_ptr`), and the header a file includes to get it (`bpf/bpf_helpers.h`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownName {
    pub name: String,
    /// as `#include <...>` names it
    pub header: String,
}

/// The names a header's text declares for callers, in the order written: the BPF helpers of
/// `bpf_helper_defs.h` (`static long (*bpf_map_update_elem)(...) = (void *) 2;`), functions
/// (`static __always_inline int hike_x(...)`), function pointers (`static __u64 (*const
/// hike_elem_call_1)(...)`) and function-like macros (`#define hike_pkt_ptr(ctx, off, len)`).
/// Names that start with `__` (a header's own) are left out. Never panics.
pub fn declared_names(header: &str) -> Vec<String> {
    fn ident(s: &str) -> Option<&str> {
        let end = s
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map(|(i, _)| i)
            .unwrap_or(s.len());
        let id = &s[..end];
        (id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')).then_some(id)
    }
    let mut out: Vec<String> = Vec::new();
    for line in header.lines() {
        let t = line.trim_start();
        let name = if let Some(rest) = t.strip_prefix('#') {
            // `#define NAME(` (a function-like macro: no space before the parenthesis)
            rest.trim_start()
                .strip_prefix("define")
                .filter(|r| r.starts_with([' ', '\t']))
                .map(str::trim_start)
                .and_then(|r| ident(r).filter(|id| r[id.len()..].starts_with('(')))
        } else if t.starts_with("static ") {
            let Some(open) = t.find('(') else { continue };
            if let Some(ptr) = t[open..].strip_prefix("(*") {
                // `(*NAME)(` or `(*const NAME)(`
                let ptr = ptr.trim_start();
                let ptr = ptr.strip_prefix("const ").unwrap_or(ptr).trim_start();
                ident(ptr).filter(|id| ptr[id.len()..].trim_start().starts_with(')'))
            } else {
                // the last word before the first parenthesis: the function's name
                let before = t[..open].trim_end();
                let start = before
                    .char_indices()
                    .rev()
                    .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
                    .map(|(i, c)| i + c.len_utf8())
                    .unwrap_or(0);
                // a type before it (`static int f(`, not `static (`)
                ident(&before[start..]).filter(|id| {
                    let ty = before[..start].trim();
                    id.len() == before.len() - start && !ty.is_empty() && ty != "static"
                })
            }
        } else {
            None
        };
        if let Some(n) = name
            && !n.starts_with("__")
            && !out.iter().any(|o| o == n)
        {
            out.push(n.to_string());
        }
    }
    out
}

/// For each diagnostic about a name that is not declared (`call to undeclared function
/// 'bpf_map_lookup_elme'`) that clang offered no correction for, a help naming the closest of
/// `known` (the one rule of `hike::suggest`), or, when the name is one of them, the header to
/// include. Diagnostics about other things, and names nothing is close to, keep their help.
pub fn suggest_known(diags: &mut [CDiagnostic], known: &[KnownName]) {
    for d in diags {
        let Some(name) = undeclared_name(d) else {
            continue;
        };
        if d.help
            .as_deref()
            .is_some_and(|h| h.starts_with("did you mean"))
        {
            continue;
        }
        if let Some(k) = known.iter().find(|k| k.name == name) {
            d.help = Some(format!(
                "`{name}` comes from <{}>: add `#include <{}>` above this line.",
                k.header, k.header
            ));
            continue;
        }
        let Some(meant) = hike::suggest::suggest(&name, known.iter().map(|k| k.name.as_str()))
        else {
            continue;
        };
        let header = known
            .iter()
            .find(|k| k.name == meant)
            .map(|k| k.header.as_str())
            .unwrap_or_default();
        d.help = Some(format!(
            "did you mean `{meant}` (from <{header}>)? `{name}` is declared nowhere this file \
             can see."
        ));
    }
}

/// Writes each `file` (of the diagnostics, their labels and include chains) that is inside
/// `dir` relative to it: `/home/me/eclat-lab/01-hello-xdp/ipv6_counter.bpf.c` with `dir`
/// `/home/me/eclat-lab/01-hello-xdp` becomes `ipv6_counter.bpf.c`.
pub fn relative_to(diags: &mut [CDiagnostic], dir: &str) {
    each_file(diags, |f| *f = relative(f, dir));
}

/// Calls `f` on every file name of `diags`: each diagnostic's, its labels' and its include
/// chain's.
fn each_file(diags: &mut [CDiagnostic], mut f: impl FnMut(&mut String)) {
    for d in diags {
        if let Some(file) = &mut d.file {
            f(file);
        }
        for l in &mut d.labels {
            if let Some(file) = &mut l.file {
                f(file);
            }
        }
        for i in &mut d.included_from {
            f(&mut i.file);
        }
    }
}

/// Writes each `file` (of the diagnostics, their labels and include chains) that is one of
/// the lab's headers, below `include` (the folder the lab hands clang with `-I`, wherever it
/// was extracted), as the learner's `#include` names it: `/var/lib/eclat-lab/include/hike/parse.h`
/// becomes `<hike/parse.h>`. Other files (the learner's, the system's) are left as they are.
pub fn include_names(diags: &mut [CDiagnostic], include: &str) {
    each_file(diags, |f| {
        if let Some(n) = include_name(f, include) {
            *f = n;
        }
    });
}

/// `file` as `#include <...>` names it (`<hike/parse.h>`) when it is below `include`, the lab's
/// header folder; `None` for any other file (or an empty `include`).
pub fn include_name(file: &str, include: &str) -> Option<String> {
    let include = include.trim_end_matches('/');
    if include.is_empty() {
        return None;
    }
    let rest = file.strip_prefix(include)?.strip_prefix('/')?;
    // clang joins `-I` and the name as written (`dir//hike/x.h`, `dir/./hike/x.h`)
    let rest = rest.trim_start_matches('/');
    let rest = rest.strip_prefix("./").unwrap_or(rest);
    (!rest.is_empty()).then(|| format!("<{rest}>"))
}

/// `file` relative to `dir` when it is inside it (a leading `./` dropped when `dir` is
/// empty), else `file` as it is.
pub fn relative(file: &str, dir: &str) -> String {
    let dir = dir.trim_end_matches('/');
    let stripped = if dir.is_empty() {
        file.strip_prefix("./")
    } else {
        file.strip_prefix(dir).and_then(|r| r.strip_prefix('/'))
    };
    stripped
        .filter(|r| !r.is_empty())
        .unwrap_or(file)
        .to_string()
}

/// clang's byte columns as character columns, with the text of the files `read` gives
/// (`read` gets a file as the diagnostics name it; a file it cannot give keeps clang's column).
pub fn char_columns(diags: &mut [CDiagnostic], read: impl Fn(&str) -> Option<String>) {
    let mut cache: Vec<(String, Option<String>)> = Vec::new();
    let mut fix = |file: &Option<String>, span: &mut Option<LineCol>| {
        let (Some(f), Some(s)) = (file, span.as_mut()) else {
            return;
        };
        let i = match cache.iter().position(|(n, _)| n == f) {
            Some(i) => i,
            None => {
                cache.push((f.clone(), read(f)));
                cache.len() - 1
            }
        };
        let Some(text) = &cache[i].1 else {
            return;
        };
        let Some(l) = text.lines().nth(s.line.saturating_sub(1) as usize) else {
            return;
        };
        let mut b = (s.col.saturating_sub(1) as usize).min(l.len());
        while !l.is_char_boundary(b) {
            b -= 1;
        }
        s.col = l[..b].chars().count() as u32 + 1;
    };
    for d in diags {
        fix(&d.file, &mut d.span);
        for l in &mut d.labels {
            fix(&l.file, &mut l.span);
        }
    }
}

/// `s` with tabs expanded to 8 columns, as clang quotes a line.
fn expand_tabs(s: &str) -> String {
    let mut out = String::new();
    let mut col = 0;
    for c in s.chars() {
        if c == '\t' {
            let n = 8 - col % 8;
            out.extend(std::iter::repeat_n(' ', n));
            col += n;
        } else {
            out.push(c);
            col += 1;
        }
    }
    out
}

/// The verifier's rejection of `program` as a diagnostic: where (the C line BTF line info
/// gives, with `-g`), what (the explainer's class, the kernel's last error line), the failing
/// instruction, and what to do. `file` is the checked file as the diagnostics name it (the
/// place when the log has no source line); `line_text` the learner's line at the source line,
/// when it could be read (for the column and the line as written).
pub fn from_verifier(
    program: &str,
    e: &Explanation,
    file: &str,
    line_text: Option<&str>,
) -> CDiagnostic {
    let last = e.error_line.as_deref().unwrap_or(&e.message);
    let at_insn = match e.insn_index {
        Some(i) => format!(" at instruction {i}"),
        None => String::new(),
    };
    let message = format!(
        "{}: the verifier rejected `{program}`{at_insn}: {last}",
        e.class.title()
    );
    let (span, snippet) = match &e.source {
        Some(src) => {
            let text = line_text
                .filter(|l| l.trim() == src.text.trim())
                .map(str::to_string)
                .unwrap_or_else(|| src.text.clone());
            let indent = text.chars().take_while(|c| c.is_whitespace()).count();
            (
                Some(LineCol {
                    line: src.line,
                    col: indent as u32 + 1,
                }),
                Some(text),
            )
        }
        None => (None, None),
    };
    let mut d = CDiagnostic::new(Some(file.to_string()), span, Severity::Error, message);
    d.code = Some(format!(
        "verifier:{}",
        serde_json::to_value(e.class)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    ));
    if let Some(s) = &snippet {
        let shown = expand_tabs(s);
        let lead = shown.chars().take_while(|c| *c == ' ').count();
        let len = shown.trim().chars().count().max(1);
        d.marker = Some(format!("{}^{}", " ".repeat(lead), "~".repeat(len - 1)));
        d.snippet = Some(shown);
    }
    d.program = Some(program.to_string());
    d.insn = e.insn_index;
    if e.message != last {
        d.notes.push(format!("the kernel said: {}", e.message));
    }
    if let Some(i) = &e.insn {
        d.notes.push(format!("the instruction: {}", i.trim()));
    }
    if e.source.is_none() {
        d.notes
            .push("no C line: the object has no BTF line info (build it with -g)".into());
    }
    d.help = Some(e.advice.clone());
    d
}

/// The diagnostics for a person, in clang's layout (`file:line:col: severity: message
/// [option]`, the quoted line with its marks under a margin, the fix-it), each followed by its
/// notes, and what to do (`help: ...`); the summary clang ends with is left out.
pub fn render(diags: &[CDiagnostic]) -> String {
    let mut s = String::new();
    for d in diags {
        for (i, inc) in d.included_from.iter().enumerate() {
            let head = if i == 0 {
                "In file included from "
            } else {
                "                      from "
            };
            s.push_str(&format!("{head}{}:{}:\n", inc.file, inc.line));
        }
        let at = place(d.file.as_deref(), d.span);
        let code = match &d.code {
            Some(c) if c.starts_with("-W") => format!(" [{c}]"),
            _ => String::new(),
        };
        if at.is_empty() {
            s.push_str(&format!("{}: {}{code}\n", d.severity.word(), d.message));
        } else {
            s.push_str(&format!(
                "{at}: {}: {}{code}\n",
                d.severity.word(),
                d.message
            ));
        }
        excerpt(
            &mut s,
            d.span,
            d.snippet.as_deref(),
            d.marker.as_deref(),
            d.fixit.as_deref(),
        );
        for l in &d.labels {
            let at = place(l.file.as_deref(), l.span);
            if at.is_empty() {
                s.push_str(&format!("note: {}\n", l.message));
            } else {
                s.push_str(&format!("{at}: note: {}\n", l.message));
            }
            excerpt(
                &mut s,
                l.span,
                l.snippet.as_deref(),
                l.marker.as_deref(),
                None,
            );
        }
        for n in &d.notes {
            s.push_str(&format!("  note: {n}\n"));
        }
        if let Some(h) = &d.help {
            s.push_str(&format!("  help: {h}\n"));
        }
    }
    s.trim_end().to_string()
}

/// The quoted line under a margin, its marks and the fix-it under it.
fn excerpt(
    s: &mut String,
    span: Option<LineCol>,
    snippet: Option<&str>,
    marker: Option<&str>,
    fixit: Option<&str>,
) {
    let Some(src) = snippet else {
        return;
    };
    let n = span.map(|p| p.line.to_string()).unwrap_or_default();
    let w = n.len().max(4);
    s.push_str(&format!(" {n:>w$} | {}\n", src.trim_end()));
    if let Some(m) = marker {
        s.push_str(&format!(" {:>w$} | {}\n", "", m.trim_end()));
        if let Some(f) = fixit {
            let lead = m.chars().take_while(|c| *c == ' ').count();
            s.push_str(&format!(" {:>w$} | {}{f}\n", "", " ".repeat(lead)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_line_is_read_from_the_left() {
        let h = header("/a/b:c.c:3:7: error: expected ';' after 'x': error: no").unwrap();
        assert_eq!(h.file.as_deref(), Some("/a/b:c.c"));
        assert_eq!(h.span, Some(LineCol { line: 3, col: 7 }));
        assert_eq!(h.message, "expected ';' after 'x': error: no");
        let h = header("clang-19: error: no such file or directory: 'x.c'").unwrap();
        assert_eq!((h.file, h.span), (None, None));
        let h = header("error: unknown target").unwrap();
        assert_eq!(h.severity, Severity::Error);
        let h = header("x.c:1:2: warning: unused variable 'n' [-Wunused-variable]").unwrap();
        assert_eq!(h.code.as_deref(), Some("-Wunused-variable"));
        assert_eq!(h.message, "unused variable 'n'");
        let h = header("x.c:1:2: error: unused [-Werror,-Wunused-variable]").unwrap();
        assert_eq!(h.code.as_deref(), Some("-Wunused-variable"));
        assert!(header("    8 |  a: error: b").is_none());
        assert!(header("some text with: error: in it").is_none());
    }

    #[test]
    fn summaries_and_margins() {
        assert!(summary("2 errors generated."));
        assert!(summary("1 warning and 1 error generated."));
        assert!(!summary("the errors generated."));
        assert_eq!(margin("   10 |   x"), Some((Some(10), "  x")));
        assert_eq!(margin("      |   ^"), Some((None, "  ^")));
        assert_eq!(margin("plain"), None);
    }

    #[test]
    fn a_source_line_without_a_margin() {
        let d = parse_clang("a.c:2:5: error: oops\n  int x = ;\n          ^\n");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].snippet.as_deref(), Some("  int x = ;"));
        assert_eq!(d[0].marker.as_deref(), Some("          ^"));
        assert!(d[0].notes.is_empty(), "{:?}", d[0].notes);
    }

    /// A range over two lines: clang quotes both; the snippet is the line at the place, with
    /// its own marks.
    #[test]
    fn a_range_over_lines_keeps_the_line_at_the_place() {
        let d = parse_clang(
            "a.c:33:3: error: invalid operands\n   32 |   if (key\n      |       ~~~\n   \
             33 |     * ctx)\n      |     ^ ~~~\n",
        );
        assert_eq!(d[0].snippet.as_deref(), Some("    * ctx)"));
        assert_eq!(d[0].marker.as_deref(), Some("    ^ ~~~"));
        assert!(d[0].notes.is_empty());
    }

    #[test]
    fn odd_input_never_panics() {
        for s in [
            "",
            ":",
            "::: error: ",
            ": error: ",
            "x:0:0: error: a",
            "x:99999999999999999999:1: error: big",
            "In file included from :",
            "In file included from x:",
            "                 from ",
            "é:1:1: note: é\n   1 | é\n     | ^é",
            "      | ^\n   2 | x",
            "a.c:1:1: error: x [",
            "a.c:1:1: error: x []",
            "\u{0}: error: \u{0}",
            "a.c:1:1: note: orphan\n  |\n  | ~\n  | fix",
        ] {
            let d = parse_clang(s);
            let _ = render(&d);
            let mut d = d;
            relative_to(&mut d, "");
            char_columns(&mut d, |_| Some("é\tx\n".into()));
        }
    }
}
