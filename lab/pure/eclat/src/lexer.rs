//! The lexer: source text to tokens, with Python's INDENT/DEDENT/NEWLINE, keywords matched on
//! word boundaries (so `order`, `iface`, `pass_cnt` are ordinary names), and `-D NAME=VALUE`
//! substitution applied to names and to string literals equal to NAME.

use crate::diag::{Diagnostic, Span};
use indent::{Alias, Level, Pending};
use std::fmt;

mod indent;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Name(String),
    Int(u64),
    Str(String),
    /// `from import def if elif else while for in return pass and or not True False true false`
    Kw(&'static str),
    /// operators and punctuation
    Sym(&'static str),
    Newline,
    Indent,
    Dedent,
    Eof,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Name(n) => write!(f, "name `{n}`"),
            Tok::Int(v) => write!(f, "number `{v}`"),
            Tok::Str(s) => write!(f, "string '{s}'"),
            Tok::Kw(k) => write!(f, "`{k}`"),
            Tok::Sym(s) => write!(f, "`{s}`"),
            Tok::Newline => f.write_str("end of line"),
            Tok::Indent => f.write_str("indentation"),
            Tok::Dedent => f.write_str("end of block"),
            Tok::Eof => f.write_str("end of file"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

const KEYWORDS: [&str; 18] = [
    "from", "import", "def", "if", "elif", "else", "while", "for", "in", "return", "pass", "and",
    "or", "not", "True", "False", "true", "false",
];

const SYMS3: [&str; 2] = ["<<=", ">>="];
const SYMS2: [&str; 16] = [
    "<<", ">>", "<=", ">=", "==", "!=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "->", "**",
];
const SYMS1: [&str; 22] = [
    "+", "-", "*", "/", "%", "&", "|", "^", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",",
    ":", ";", ".",
];

fn keyword(s: &str) -> Option<&'static str> {
    KEYWORDS.iter().find(|k| **k == s).copied()
}

/// Lexes `src`. Never fails: problems become diagnostics and the lexer goes on.
pub fn lex(src: &str, defines: &[(String, String)]) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut lx = Lexer::new(src);
    lx.run();
    let Lexer {
        mut toks,
        mut diags,
        ..
    } = lx;
    substitute(&mut toks, &mut diags, defines);
    (toks, diags)
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    i: usize,
    toks: Vec<Token>,
    diags: Vec<Diagnostic>,
    depth: usize,
    /// offsets of the brackets still open
    opens: Vec<usize>,
    /// the open blocks, outermost (top level, width 0) first
    indents: Vec<Level>,
    /// the index in `toks` of the current line's first token (None while the line is part of
    /// a pending indentation mistake)
    line_first: Option<usize>,
    /// whether the last line lexed opens a block (ends with `:`, or starts with a block's
    /// keyword): only then may the next line be indented more
    prev_opens: bool,
    /// how much the file's first block is indented more than its header: the file's step
    step: Option<usize>,
    /// lines indented to a width that fits no open block, not placed yet: where they belong is
    /// decided once the next line's width is known (see `indent.rs`)
    pending: Option<Pending>,
    /// widths already reported, and the block they were read in: a later line at the same
    /// width goes to the same block without a second error
    aliases: Vec<Alias>,
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
        Lexer {
            src,
            b: src.as_bytes(),
            i: 0,
            toks: Vec::new(),
            diags: Vec::new(),
            depth: 0,
            opens: Vec::new(),
            indents: vec![Level {
                width: 0,
                head: None,
            }],
            line_first: None,
            prev_opens: false,
            step: None,
            pending: None,
            aliases: Vec::new(),
        }
    }
}

impl Lexer<'_> {
    fn push(&mut self, tok: Tok, start: usize, end: usize) {
        self.toks.push(Token {
            tok,
            span: Span::new(start, end),
        });
    }

    fn run(&mut self) {
        let mut line_start = true;
        while self.i < self.b.len() {
            // every turn of this loop consumes at least one byte: a step that does not would
            // loop forever (checked in debug builds, so that tests fail instead of hanging)
            let before = self.i;
            if line_start && self.depth == 0 {
                if !self.indentation() {
                    debug_assert!(
                        self.i > before,
                        "the lexer did not advance at byte {before}"
                    );
                    continue;
                }
                line_start = false;
            }
            let start = self.i;
            let c = self.b[start];
            match c {
                b' ' | b'\t' | b'\r' | b'\x0c' => self.i += 1,
                b'\\' if self.b.get(start + 1) == Some(&b'\n') => self.i += 2,
                b'\\'
                    if self.b.get(start + 1) == Some(&b'\r')
                        && self.b.get(start + 2) == Some(&b'\n') =>
                {
                    self.i += 3
                }
                b'\n' => {
                    self.i += 1;
                    let rest = &self.b[self.i..];
                    if self.depth > 0 && (rest.starts_with(b"def ") || rest.starts_with(b"from ")) {
                        // a top-level line cannot continue an expression: close the brackets
                        self.unclosed();
                    }
                    if self.depth == 0 {
                        if !matches!(self.toks.last().map(|t| &t.tok), Some(Tok::Newline) | None) {
                            self.push(Tok::Newline, start, start + 1);
                        }
                        line_start = true;
                    }
                }
                b'#' => {
                    while self.i < self.b.len() && self.b[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                b'0'..=b'9' => self.number(),
                b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                    while self.i < self.b.len()
                        && (self.b[self.i].is_ascii_alphanumeric() || self.b[self.i] == b'_')
                    {
                        self.i += 1;
                    }
                    let word = &self.src[start..self.i];
                    let tok = match keyword(word) {
                        Some(k) => Tok::Kw(k),
                        None => Tok::Name(word.to_string()),
                    };
                    self.push(tok, start, self.i);
                }
                b'\'' | b'"' => self.string(c),
                b'.' if self.b.get(start + 1).is_some_and(|c| c.is_ascii_digit()) => {
                    let end = self.float_end(start).unwrap_or(start + 1);
                    self.float(start, end)
                }
                _ => self.symbol(),
            }
            debug_assert!(
                self.i > before,
                "the lexer did not advance at byte {before}"
            );
        }
        let end = self.b.len();
        self.unclosed();
        if !matches!(self.toks.last().map(|t| &t.tok), Some(Tok::Newline) | None) {
            self.push(Tok::Newline, end, end);
        }
        self.finish_line();
        if self.pending.is_some() {
            // the end of the file is a line at the top level
            self.place_pending(0, false);
        }
        while self.indents.len() > 1 {
            self.indents.pop();
            self.push(Tok::Dedent, end, end);
        }
        self.push(Tok::Eof, end, end);
    }

    /// Reports brackets left open and closes them.
    fn unclosed(&mut self) {
        for &at in &self.opens {
            let ch = self.src.get(at..at + 1).unwrap_or("(");
            self.diags.push(
                Diagnostic::error(
                    "unclosed-bracket",
                    Span::new(at, at + 1),
                    format!("`{ch}` was never closed"),
                )
                .with_label("opened here")
                .with_help(
                    "close it before the end of the statement; inside brackets, lines continue",
                ),
            );
        }
        self.opens.clear();
        self.depth = 0;
    }

    /// A decimal number with a fraction or an exponent (`1.5`, `.5`, `2.`, `1e3`, `1e-3`) ending
    /// at the returned offset, if one starts at `start`.
    fn float_end(&self, start: usize) -> Option<usize> {
        let b = self.b;
        let digits = |mut j: usize| {
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'_') {
                j += 1;
            }
            j
        };
        let int_end = digits(start);
        let mut j = int_end;
        let mut float = false;
        if b.get(j) == Some(&b'.') {
            let frac_end = digits(j + 1);
            // `2.` is a float too (numbers have no methods), but `.` alone is not one
            if frac_end > j + 1 || int_end > start {
                float = true;
                j = frac_end;
            }
        }
        if (int_end > start || float) && matches!(b.get(j), Some(b'e' | b'E')) {
            let mut k = j + 1;
            if matches!(b.get(k), Some(b'+' | b'-')) {
                k += 1;
            }
            if b.get(k).is_some_and(|c| c.is_ascii_digit()) {
                float = true;
                j = digits(k);
            }
        }
        float.then_some(j)
    }

    /// A floating-point literal: an error (eBPF has no floating point), read as 0 so that
    /// parsing goes on.
    fn float(&mut self, start: usize, end: usize) {
        self.i = end;
        let text = &self.src[start..end];
        self.diags.push(
            Diagnostic::error(
                "float-literal",
                Span::new(start, end),
                format!("`{text}` is a floating-point number: eBPF has no floating point"),
            )
            .with_label("not an integer")
            .with_help(
                "chains compute with 64-bit integers: scale the value (e.g. microseconds \
                 instead of seconds, per-mille instead of a fraction)",
            ),
        );
        self.push(Tok::Int(0), start, end);
    }

    fn number(&mut self) {
        let start = self.i;
        if let Some(end) = self.float_end(start) {
            return self.float(start, end);
        }
        let (radix, digits_start) = match (
            self.b[start],
            self.b.get(start + 1).map(|c| c.to_ascii_lowercase()),
        ) {
            (b'0', Some(b'x')) => (16, start + 2),
            (b'0', Some(b'b')) => (2, start + 2),
            (b'0', Some(b'o')) => (8, start + 2),
            _ => (10, start),
        };
        let mut j = digits_start;
        while j < self.b.len() && (self.b[j].is_ascii_alphanumeric() || self.b[j] == b'_') {
            j += 1;
        }
        self.i = j;
        let text: String = self.src[digits_start..j]
            .chars()
            .filter(|c| *c != '_')
            .collect();
        match u64::from_str_radix(&text, radix) {
            Ok(v) if !text.is_empty() => self.push(Tok::Int(v), start, j),
            _ => {
                let too_big = !text.is_empty() && text.chars().all(|c| c.is_digit(radix));
                let msg = if too_big {
                    format!("number `{}` does not fit in 64 bits", &self.src[start..j])
                } else {
                    format!("invalid number `{}`", &self.src[start..j])
                };
                self.diags.push(
                    Diagnostic::error("bad-number", Span::new(start, j), msg).with_help(
                        "numbers are decimal, 0x hex, 0o octal or 0b binary, at most 2^64 - 1",
                    ),
                );
                self.push(Tok::Int(0), start, j);
            }
        }
    }

    /// `"""..."""` or `\'\'\'...\'\'\'`: a string over several lines (a docstring).
    fn triple_string(&mut self, quote: u8) {
        let start = self.i;
        let delim = [quote; 3];
        let body = start + 3;
        let close = self.b[body..]
            .windows(3)
            .position(|w| w == delim)
            .map(|p| body + p);
        match close {
            Some(end) => {
                self.push(Tok::Str(self.src[body..end].to_string()), start, end + 3);
                self.i = end + 3;
            }
            None => {
                let end = self.b.len();
                self.diags.push(
                    Diagnostic::error(
                        "unterminated-string",
                        Span::new(start, start + 3),
                        "unterminated triple-quoted string",
                    )
                    .with_label("opened here")
                    .with_help(format!("close it with {}", String::from_utf8_lossy(&delim))),
                );
                self.push(
                    Tok::Str(self.src[body.min(end)..end].to_string()),
                    start,
                    end,
                );
                self.i = end;
            }
        }
    }

    fn string(&mut self, quote: u8) {
        let start = self.i;
        if self.b[start..].starts_with(&[quote; 3]) {
            return self.triple_string(quote);
        }
        let mut j = start + 1;
        while j < self.b.len() && self.b[j] != quote && self.b[j] != b'\n' {
            j += 1;
        }
        if j < self.b.len() && self.b[j] == quote {
            self.push(Tok::Str(self.src[start + 1..j].to_string()), start, j + 1);
            self.i = j + 1;
        } else {
            self.diags.push(
                Diagnostic::error(
                    "unterminated-string",
                    Span::new(start, j),
                    "unterminated string",
                )
                .with_help(format!("close it with {} on the same line", quote as char)),
            );
            self.push(Tok::Str(self.src[start + 1..j].to_string()), start, j);
            self.i = j;
            // the string probably swallowed closing brackets of this line: forget the ones
            // opened on it, so that the next lines are not glued to this one
            let line_start = self.src[..start].rfind('\n').map(|p| p + 1).unwrap_or(0);
            self.opens.retain(|&o| o < line_start);
            self.depth = self.opens.len();
        }
    }

    fn symbol(&mut self) {
        let start = self.i;
        let rest = &self.b[start..];
        // C habits: report them, and read them as what they mean
        for (c, kw) in [("&&", "and"), ("||", "or")] {
            if rest.starts_with(c.as_bytes()) {
                self.i += 2;
                self.diags.push(
                    Diagnostic::error(
                        "c-operator",
                        Span::new(start, start + 2),
                        format!("`{c}` is C"),
                    )
                    .with_label(format!("eCLAT writes `{kw}`"))
                    .with_help(format!("write `{kw}` (Python's logical operators)")),
                );
                self.push(Tok::Kw(kw), start, start + 2);
                return;
            }
        }
        for group in [&SYMS3[..], &SYMS2[..], &SYMS1[..]] {
            if let Some(s) = group.iter().find(|s| rest.starts_with(s.as_bytes())) {
                self.i += s.len();
                match *s {
                    "(" | "[" | "{" => {
                        self.depth += 1;
                        self.opens.push(start);
                    }
                    ")" | "]" | "}" => {
                        self.depth = self.depth.saturating_sub(1);
                        self.opens.pop();
                    }
                    _ => {}
                }
                self.push(Tok::Sym(s), start, self.i);
                return;
            }
        }
        let ch = self.src[start..].chars().next().unwrap_or('?');
        self.i += ch.len_utf8().max(1);
        let mut d = Diagnostic::error(
            "unexpected-character",
            Span::new(start, self.i),
            format!("unexpected character `{}`", ch.escape_default()),
        );
        if ch == '!' {
            d = d.with_help("eCLAT writes logical negation as `not x`");
        } else if ch == '&' || ch == '|' {
            d = d.with_help("write `and` / `or` for logic");
        }
        self.diags.push(d);
    }
}

/// `-D NAME=VALUE`: a name token NAME becomes the token VALUE lexes to (a number or a name),
/// or a string if VALUE is not one token; a string literal whose text is NAME becomes VALUE.
/// The NAME of a definition `NAME = ...` is kept, so `-D` overrides a constant's uses.
fn substitute(toks: &mut [Token], diags: &mut Vec<Diagnostic>, defines: &[(String, String)]) {
    for (name, value) in defines {
        let valid = !name.is_empty()
            && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            && !name.as_bytes()[0].is_ascii_digit();
        if !valid {
            diags.push(
                Diagnostic::error(
                    "bad-define",
                    Span::new(0, 0),
                    format!("`-D {name}={value}`: `{name}` is not a name"),
                )
                .with_help("write `-D NAME=VALUE` with NAME made of letters, digits and `_`"),
            );
            continue;
        }
        let replacement = {
            let (vt, vd) = {
                let mut lx = Lexer::new(value);
                lx.run();
                (lx.toks, lx.diags)
            };
            match vt.as_slice() {
                [
                    t,
                    Token {
                        tok: Tok::Newline, ..
                    },
                    Token { tok: Tok::Eof, .. },
                ] if vd.is_empty()
                    && matches!(
                        t.tok,
                        Tok::Int(_) | Tok::Name(_) | Tok::Kw("True" | "False" | "true" | "false")
                    ) =>
                {
                    t.tok.clone()
                }
                _ => Tok::Str(value.clone()),
            }
        };
        for i in 0..toks.len() {
            // `NAME = ...` at the start of a statement defines NAME: keep it, so that `-D`
            // overrides a constant's uses and the script still compiles without `-D`
            let starts = i == 0
                || matches!(
                    toks[i - 1].tok,
                    Tok::Newline | Tok::Indent | Tok::Dedent | Tok::Sym(";")
                );
            let defines = starts && matches!(toks.get(i + 1).map(|t| &t.tok), Some(Tok::Sym("=")));
            let t = &mut toks[i];
            match &t.tok {
                Tok::Name(n) if n == name && !defines => t.tok = replacement.clone(),
                Tok::Str(s) if s == name => t.tok = Tok::Str(value.clone()),
                _ => {}
            }
        }
    }
}

/// The token stream as text, one token per line (`start..end kind`), for golden files.
pub fn dump(toks: &[Token]) -> String {
    let mut out = String::new();
    for t in toks {
        out.push_str(&format!("{}..{} {}\n", t.span.start, t.span.end, t.tok));
    }
    out
}
