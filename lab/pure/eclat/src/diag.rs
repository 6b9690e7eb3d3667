//! Diagnostics: errors and warnings with byte spans, a message, labels and a help line,
//! rendered under their source with `ariadne`.

use ariadne::{Color, Config, IndexType, Label as ALabel, Report, ReportKind, Source};

/// A byte range in the source. Always within the source (`start <= end <= len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start,
            end: end.max(start),
        }
    }
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
    /// 1-based line and column (in characters) of the start of the span. The end of a file
    /// that ends with a newline is the end of its last line, not a line after it.
    pub fn line_col(self, source: &str) -> (usize, usize) {
        let start = clamp_offset(source, self.start);
        let before = &source[..start];
        let line = before.matches('\n').count() + 1;
        let col = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        (line, col)
    }
}

/// `i` moved to a character boundary within `s`, and off the end of a file that ends with a
/// newline (the end of the file is the end of its last line then): so that no diagnostic
/// points at a line after the last one.
fn clamp_offset(s: &str, i: usize) -> usize {
    let mut i = floor_char(s, i);
    if i == s.len() && i > 0 {
        let b = s.as_bytes();
        if b[i - 1] == b'\n' {
            i -= 1;
            if i > 0 && b[i - 1] == b'\r' {
                i -= 1;
            }
        }
    }
    i
}

fn floor_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A secondary label: another place in the source that explains the diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// a stable short name, e.g. `undeclared-variable` (listed in the book's reference)
    pub code: &'static str,
    pub message: String,
    pub span: Span,
    /// text under the primary span
    pub label: Option<String>,
    pub labels: Vec<Label>,
    pub help: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            label: None,
            labels: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }
    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Self::error(code, span, message)
        }
    }
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
    /// `file:line:col: error: message`, one line, for logs and JSON.
    pub fn short(&self, source: &str, file_name: &str) -> String {
        let (l, c) = self.span.line_col(source);
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        format!(
            "{file_name}:{l}:{c}: {sev}[{}]: {}",
            self.code, self.message
        )
    }
}

/// A place in a file: byte offsets and the 1-based line and column (in characters) of both
/// ends. Serialized with these field names, in this order (`compile --json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Place {
    /// the 1-based line of the first character
    pub line: usize,
    /// the 1-based column of the first character, counted in characters (not bytes)
    pub col: usize,
    /// the 1-based line where the place ends (just after its last character)
    pub end_line: usize,
    /// the 1-based column, in characters, just after the last character; equals `col` on the same
    /// line for an empty place
    pub end_col: usize,
    /// the byte offset of the first character in the file (0-based)
    pub start: usize,
    /// the byte offset just after the last character; never below `start` (equal for an empty
    /// place)
    pub end: usize,
}

impl Place {
    pub fn of(span: Span, source: &str) -> Place {
        let start = clamp_offset(source, span.start);
        let end = clamp_offset(source, span.end).max(start);
        let (line, col) = Span::new(start, start).line_col(source);
        let (end_line, end_col) = Span::new(end, end).line_col(source);
        Place {
            line,
            col,
            end_line,
            end_col,
            start,
            end,
        }
    }
}

/// A secondary label with its place.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct PlacedLabel {
    /// where in the file the label points
    pub span: Place,
    /// what that place has to do with the diagnostic (`first declared here`)
    pub message: String,
}

/// A diagnostic with its places resolved in its file: the structured form of an error or a
/// warning for scripts and tools (`compile --json`, on success and on failure alike). The
/// field names and their order are stable; optional fields are `null` when absent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct LocatedDiagnostic {
    /// the script's path as the command was given it (relative paths stay relative)
    pub file: String,
    /// `error` (the script does not compile) or `warning` (it compiles, but probably not as meant)
    pub severity: Severity,
    /// a stable short name for the kind of problem (`undeclared-variable`), listed in the book's
    /// reference; match on this, not on `message`
    pub code: &'static str,
    /// what is wrong, one sentence for a person; its wording may change between versions
    pub message: String,
    /// the primary place: the code the diagnostic is about
    pub span: Place,
    /// text under the primary span
    pub label: Option<String>,
    /// other places that explain the diagnostic (a first definition, the chain that calls), in the
    /// order they are shown; empty when there are none
    pub labels: Vec<PlacedLabel>,
    /// what to do about it, one line; null when the compiler has no advice
    pub help: Option<String>,
    /// background facts (a limit of the target, the rule behind the error), one string each; empty
    /// when there are none
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// This diagnostic with line and column numbers, for `file` holding `source`.
    pub fn locate(&self, source: &str, file: &str) -> LocatedDiagnostic {
        LocatedDiagnostic {
            file: file.to_string(),
            severity: self.severity,
            code: self.code,
            message: self.message.clone(),
            span: Place::of(self.span, source),
            label: self.label.clone(),
            labels: self
                .labels
                .iter()
                .map(|l| PlacedLabel {
                    span: Place::of(l.span, source),
                    message: l.message.clone(),
                })
                .collect(),
            help: self.help.clone(),
            notes: self.notes.clone(),
        }
    }
}

/// Renders diagnostics under their source, in order, with `file:line:col` headers, carets and
/// help lines. `color` false gives plain text (tests, `NO_COLOR`).
pub fn render(diags: &[Diagnostic], source: &str, file_name: &str, color: bool) -> String {
    let mut out = Vec::new();
    let config = Config::default()
        .with_color(color)
        .with_index_type(IndexType::Byte);
    let clamp = |s: Span| {
        let a = clamp_offset(source, s.start);
        let b = clamp_offset(source, s.end).max(a);
        a..b
    };
    for d in diags {
        let kind = match d.severity {
            Severity::Error => ReportKind::Error,
            Severity::Warning => ReportKind::Warning,
        };
        let primary = if d.severity == Severity::Error {
            Color::Red
        } else {
            Color::Yellow
        };
        let mut r = Report::build(kind, (file_name, clamp(d.span)))
            .with_config(config)
            .with_code(d.code)
            .with_message(&d.message);
        let l = ALabel::new((file_name, clamp(d.span)))
            .with_color(primary)
            .with_order(0)
            .with_message(d.label.as_deref().unwrap_or("here"));
        r = r.with_label(l);
        for (i, s) in d.labels.iter().enumerate() {
            r = r.with_label(
                ALabel::new((file_name, clamp(s.span)))
                    .with_message(&s.message)
                    .with_color(Color::Cyan)
                    .with_order(i as i32 + 1),
            );
        }
        if let Some(h) = &d.help {
            r = r.with_help(h);
        }
        for n in &d.notes {
            r = r.with_note(n);
        }
        let _ = r
            .finish()
            .write((file_name, Source::from(source)), &mut out);
    }
    String::from_utf8_lossy(&out).into_owned()
}
