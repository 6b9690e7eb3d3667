//! Indentation: INDENT and DEDENT from the widths of lines (a tab counts as 4), and what an
//! indentation mistake becomes: one error, and the rest of the file read as its author meant.
//!
//! A line whose width fits no open block (it goes back to a width no enclosing block has,
//! `bad-indentation`; or it is indented more than the line before although that line opens no
//! block, `unexpected-indent`) is not placed at once: the lines right after it at the same
//! width join it, and once the next line's width is known the group is read where the lines
//! around it parse. A block header needs its body indented under it, any other line needs the
//! next one not deeper, `elif`/`else` need an `if` at their level, only top-level lines stand at
//! width 0, and a header's body comes right after it. Among the places that fit, the nearer
//! block wins. The diagnostic says how the line was read; a later line at the same width in
//! the same block is read the same way, and only labelled in that diagnostic.

use super::{Lexer, Tok, Token};
use crate::diag::{Diagnostic, Label, Span};

/// An open block: its indentation width and the latest line at that width.
pub(super) struct Level {
    pub(super) width: usize,
    pub(super) head: Option<Head>,
}

/// The first token of a line: where it is, and its keyword if it starts with one.
#[derive(Clone, Copy)]
pub(super) struct Head {
    span: Span,
    kw: Option<&'static str>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mistake {
    /// back to a width no open block has
    Dedent,
    /// indented more than the line before, which opens no block
    Over,
}

/// Consecutive lines indented to the same width that fits no open block.
pub(super) struct Pending {
    mistake: Mistake,
    /// where in `toks` the first line's INDENT or DEDENTs go
    at: usize,
    width: usize,
    /// the first line's first character
    span: Span,
    /// whether that line's indentation has a tab
    tab: bool,
    /// each line: the index in `toks` of its first token, and the offset of its first character
    lines: Vec<(usize, usize)>,
    /// the line before the group opens a block: the group may be its body
    after_header: bool,
}

/// Where a group of misplaced lines is read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Reading {
    /// in the open block at this index (the blocks above it closed)
    In(usize),
    /// in the open block at this index, which is indented by the group's width from here on
    Relevel(usize),
    /// as the body of the header before it: a new block of this width
    Body(usize),
    /// the first line (a header) in the open block at this index, the others as its body
    Header(usize),
    /// as a new block, which the parser reports and reads as if it were not indented (the
    /// statements of a chain whose `def` line is missing, at top level)
    Stray,
}

/// A reported width: a line at `width` that fits no open block is read in the block at
/// `depth` (the number of open blocks with it on top), indented by `level`, and labelled in
/// the diagnostic `diag`.
pub(super) struct Alias {
    width: usize,
    depth: usize,
    level: usize,
    diag: usize,
    shown: usize,
}

/// At most this many further lines indented the same way are labelled in one diagnostic.
const MAX_SAME_LINES: usize = 3;

/// How many open blocks around a misplaced line are considered for it (a bound on the work
/// for deeply nested input; a mistake is a level or two off).
const NEARBY: usize = 8;

/// How far `width` is indented, said to a learner.
fn spaces(width: usize) -> String {
    match width {
        0 => "not indented (top level)".to_string(),
        1 => "indented by 1 space".to_string(),
        w => format!("indented by {w} spaces"),
    }
}

impl Lexer<'_> {
    /// At the start of a logical line: measures its indentation and emits INDENT/DEDENT.
    /// Returns false for a blank or comment-only line (consumed up to its newline).
    pub(super) fn indentation(&mut self) -> bool {
        let mut width = 0;
        let mut tab = false;
        let mut j = self.i;
        while j < self.b.len() {
            match self.b[j] {
                b' ' => width += 1,
                b'\t' => {
                    width += 4;
                    tab = true;
                }
                b'\x0c' | b'\r' => {}
                _ => break,
            }
            j += 1;
        }
        if j >= self.b.len() || matches!(self.b[j], b'\n' | b'#') {
            while j < self.b.len() && self.b[j] != b'\n' {
                j += 1;
            }
            self.i = (j + 1).min(self.b.len());
            return false;
        }
        self.i = j;
        self.finish_line();
        if let Some(p) = &mut self.pending {
            if p.width == width {
                // one more line indented the same way: it goes where the first one goes
                p.lines.push((self.toks.len(), j));
                return true;
            }
            // does the next line continue an `if` (it comes right after the group)?
            let rest = &self.b[j..];
            let cont = [&b"elif"[..], &b"else"[..]].iter().any(|k| {
                rest.starts_with(k)
                    && !rest
                        .get(k.len())
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            });
            self.place_pending(width, cont);
        }
        let top = self.top();
        if width > top && self.prev_opens {
            self.step.get_or_insert(width - top);
            self.indents.push(Level { width, head: None });
            self.push(Tok::Indent, j, j);
        } else if width != top {
            let keep = self.indents.iter().take_while(|l| l.width <= width).count();
            let matches = width < top
                && self
                    .indents
                    .get(keep.wrapping_sub(1))
                    .is_some_and(|l| l.width == width);
            if matches {
                self.dedent_to(keep, j);
            } else if let Some(a) = self.alias_for(width) {
                // indented like a line already reported: read the same way, labelled there
                // (before the dedent, which may forget aliases)
                let depth = self.aliases[a].depth;
                self.same_as_reported(a, Span::new(j, j + 1));
                self.dedent_to(depth, j);
            } else {
                self.pending = Some(Pending {
                    mistake: if width > top {
                        Mistake::Over
                    } else {
                        Mistake::Dedent
                    },
                    at: self.toks.len(),
                    width,
                    span: Span::new(j, j + 1),
                    tab,
                    lines: vec![(self.toks.len(), j)],
                    after_header: self.prev_opens,
                });
                return true;
            }
        }
        self.line_first = Some(self.toks.len());
        true
    }

    pub(super) fn top(&self) -> usize {
        self.indents.last().map_or(0, |l| l.width)
    }

    /// Closes the open blocks above the first `keep` ones, a DEDENT each at `at`.
    fn dedent_to(&mut self, keep: usize, at: usize) {
        while self.indents.len() > keep.max(1) {
            self.indents.pop();
            self.push(Tok::Dedent, at, at);
        }
        self.forget_aliases();
    }

    /// Aliases whose block is closed no longer apply (a later block at the same depth is
    /// another block).
    fn forget_aliases(&mut self) {
        let open = self.indents.len();
        self.aliases.retain(|a| a.depth <= open);
    }

    /// The alias that reads a line at `width`, if its block is still open.
    fn alias_for(&self, width: usize) -> Option<usize> {
        self.aliases.iter().position(|a| {
            a.width == width
                && self
                    .indents
                    .get(a.depth.wrapping_sub(1))
                    .is_some_and(|l| l.width == a.level)
        })
    }

    /// The first token of the line that starts at token `i` (if the line has one).
    fn head(&self, i: usize) -> Option<Head> {
        let t = self.toks.get(i)?;
        match t.tok {
            Tok::Newline | Tok::Indent | Tok::Dedent | Tok::Eof => None,
            Tok::Kw(k) => Some(Head {
                span: t.span,
                kw: Some(k),
            }),
            _ => Some(Head {
                span: t.span,
                kw: None,
            }),
        }
    }

    /// The line just lexed is the latest of its block: remember its head there, and whether
    /// it opens a block.
    pub(super) fn finish_line(&mut self) {
        if let Some(i) = self.line_first.take() {
            self.prev_opens = self.opens_block(i, self.toks.len());
            if let Some(h) = self.head(i)
                && let Some(l) = self.indents.last_mut()
            {
                l.head = Some(h);
            }
        }
    }

    /// A line indented like a reported one: a label on that diagnostic (the first few).
    fn same_as_reported(&mut self, a: usize, span: Span) {
        let alias = &mut self.aliases[a];
        alias.shown += 1;
        let (shown, diag, level) = (alias.shown, alias.diag, alias.level);
        if let Some(d) = self.diags.get_mut(diag) {
            if shown <= MAX_SAME_LINES {
                d.labels.push(Label {
                    span,
                    message: format!("indented the same way: read as {}", spaces(level)),
                });
            } else if shown == MAX_SAME_LINES + 1 {
                d.notes
                    .push("further lines are indented the same way, and read the same way".into());
            }
        }
    }

    /// Whether the line whose first token is `from` can stand at the top level (an import, a
    /// `def`, an UPPERCASE constant, loader configuration, `attach`, a docstring).
    fn top_level_line(&self, from: usize) -> bool {
        let t0 = self.toks.get(from).map(|t| &t.tok);
        let t1 = self.toks.get(from + 1).map(|t| &t.tok);
        match (t0, t1) {
            (Some(Tok::Kw("def" | "from" | "import")), _) | (Some(Tok::Str(_)), _) => true,
            (Some(Tok::Name(n)), Some(Tok::Sym("="))) => {
                n.bytes().any(|c| c.is_ascii_uppercase())
                    && n.bytes()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
            }
            (Some(Tok::Name(_)), Some(Tok::Sym("[" | "."))) => true,
            (Some(Tok::Kw(_) | Tok::Name(_) | Tok::Int(_) | Tok::Sym(_)), _) => false,
            _ => true,
        }
    }

    /// Whether the line of tokens `from..to` opens a block (ends with `:`, or starts with a
    /// block's keyword: a header that lacks its `:` is reported by the parser).
    fn opens_block(&self, from: usize, to: usize) -> bool {
        let toks = &self.toks[from.min(to)..to];
        let last = toks.iter().rev().find(|t| !matches!(t.tok, Tok::Newline));
        matches!(last.map(|t| &t.tok), Some(Tok::Sym(":")))
            || matches!(
                toks.first().map(|t| &t.tok),
                Some(Tok::Kw("def" | "if" | "elif" | "else" | "while" | "for"))
            )
    }

    /// Whether the line whose first token is `from` declares a variable (`u64 : x = ...`).
    fn declaration(&self, from: usize) -> bool {
        matches!(
            (self.toks.get(from).map(|t| &t.tok), self.toks.get(from + 1).map(|t| &t.tok)),
            (Some(Tok::Name(n)), Some(Tok::Sym(":"))) if hike::catalog::IntType::parse(n).is_some()
        )
    }

    /// How many errors reading the pending lines as `r` would cause further on, the next line
    /// being indented by `next` and starting with `elif`/`else` when `cont`.
    fn misfits(&self, p: &Pending, r: Reading, next: usize, cont: bool) -> usize {
        let (level, inside, head) = match r {
            Reading::In(i) | Reading::Header(i) => {
                (self.indents[i].width, i > 0, self.indents[i].head)
            }
            Reading::Relevel(i) => (p.width, true, self.indents[i].head),
            Reading::Body(w) => (w, true, None),
            Reading::Stray => (p.width, self.indents.len() > 1, None),
        };
        let header = matches!(r, Reading::Header(_));
        // the level of the group's last line: the body's, under a header read apart
        let last_level = if header { p.width } else { level };
        let mut n = 0;
        // `elif`/`else` continue the `if` of their block
        let first_kw = p
            .lines
            .first()
            .and_then(|&(i, _)| self.head(i))
            .and_then(|h| h.kw);
        if matches!(first_kw, Some("elif" | "else"))
            && !matches!(head.and_then(|h| h.kw), Some("if" | "elif"))
        {
            n += 1;
        }
        let end = self.toks.len();
        let mut declares = false;
        for (k, &(l, _)) in p.lines.iter().enumerate() {
            let in_block = inside || (header && k > 0);
            let top_only = matches!(
                self.head(l).and_then(|h| h.kw),
                Some("def" | "from" | "import")
            );
            let at_top = !in_block && matches!(r, Reading::In(0) | Reading::Header(0));
            if (at_top && !self.top_level_line(l)) || (in_block && top_only) {
                n += 1;
            }
            // a header followed by a line at its own width: its body is not indented
            let line_end = p.lines.get(k + 1).map_or(end, |l| l.0);
            if k + 1 < p.lines.len() && !(header && k == 0) && self.opens_block(l, line_end) {
                n += 1;
            }
            declares |= self.declaration(l);
        }
        let last = p.lines.last().map_or(end, |l| l.0);
        let opens = self.opens_block(last, end);
        // a block's body is indented under it; after any other line, the next is not deeper
        if (opens && next <= last_level) || (!opens && next > last_level) {
            n += 1;
        }
        // a header whose body is read elsewhere has none
        if p.after_header && !matches!(r, Reading::Body(_)) {
            n += 1;
        }
        // an `elif`/`else` right after the group, at its level, would follow it, not its `if`
        if cont && next == last_level {
            n += 1;
        }
        // a declaration that ends its block declares a variable nothing after it can use
        // (its author meant it for the block after), unless the block is a branch of an `if`
        // that has an `else` (declared on every path, it is usable after the `if`)
        let header_kw = match r {
            Reading::In(i) | Reading::Relevel(i) => i
                .checked_sub(1)
                .and_then(|h| self.indents[h].head)
                .and_then(|h| h.kw),
            Reading::Header(_) => first_kw,
            Reading::Body(_) => self.indents.last().and_then(|l| l.head).and_then(|h| h.kw),
            Reading::Stray => None,
        };
        let branch = match header_kw {
            Some("else") => true,
            Some("if" | "elif") => cont,
            _ => false,
        };
        if declares && next < last_level && !branch {
            n += 1;
        }
        n
    }

    /// How far the next line, indented by `next`, is from where reading the pending lines as
    /// `r` puts their last line: the body of a header is usually one level under it, and the
    /// line after a statement at its level or below.
    fn affinity(&self, p: &Pending, r: Reading, next: usize) -> usize {
        let last_level = match r {
            Reading::In(i) => self.indents[i].width,
            // re-indenting a block is the last resort, unless it puts the block one step of
            // the file's under its header where it was more (its first line indented too much)
            Reading::Relevel(i) => {
                let header = i.checked_sub(1).map_or(0, |h| self.indents[h].width);
                let step = |w: usize| Some(w.saturating_sub(header)) == self.step;
                return if step(p.width) && !step(self.indents[i].width) {
                    0
                } else {
                    usize::MAX
                };
            }
            Reading::Header(_) | Reading::Stray => p.width,
            Reading::Body(w) => w,
        };
        let end = self.toks.len();
        let last = p.lines.last().map_or(end, |l| l.0);
        if self.opens_block(last, end) {
            next.saturating_sub(last_level)
        } else {
            last_level.saturating_sub(next)
        }
    }

    /// Places the pending lines, the next line being indented by `next` (0 at the end of the
    /// file) and starting with `elif`/`else` when `cont`, and reports them once.
    pub(super) fn place_pending(&mut self, next: usize, cont: bool) {
        let Some(p) = self.pending.take() else {
            return;
        };
        let top_idx = self.indents.len() - 1;
        let top = self.top();
        // the open blocks just below and just above the width (the block the line comes
        // after, for a line indented too much)
        let (below, above) = match p.mistake {
            Mistake::Dedent => {
                let below = self
                    .indents
                    .iter()
                    .take_while(|l| l.width < p.width)
                    .count()
                    .max(1)
                    - 1;
                (below, (below + 1).min(top_idx))
            }
            Mistake::Over => (top_idx, top_idx),
        };
        let (lo, hi) = (self.indents[below].width, self.indents[above].width);
        let end = self.toks.len();
        let last = p.lines.last().map_or(end, |l| l.0);
        let last_opens = self.opens_block(last, end);
        // the first line opens a block and more lines follow at its width: they may be its
        // body, the header alone misplaced
        let first_opens = p.lines.len() > 1
            && self.opens_block(p.lines[0].0, p.lines.get(1).map_or(end, |l| l.0));
        // in order of preference, for as many misfits
        let mut candidates = Vec::new();
        match p.mistake {
            Mistake::Dedent => {
                if p.after_header {
                    // a new block between the header and the next line: at the next line's
                    // width, or one level above it when the group opens a block itself
                    let width = if last_opens {
                        next.saturating_sub(self.step.unwrap_or(4)).max(top + 1)
                    } else {
                        next.max(top + 1)
                    };
                    candidates.push(Reading::Body(width));
                }
                let near = if p.width - lo < hi - p.width {
                    [below, above]
                } else {
                    [above, below]
                };
                let deeper = above + 1..=top_idx.min(above + NEARBY);
                candidates.extend(near.iter().copied().chain(deeper).map(Reading::In));
                if first_opens {
                    // (in the block below: the body must be deeper than its header)
                    candidates.push(Reading::Header(below));
                }
                if above > 0 {
                    candidates.push(Reading::Relevel(above));
                }
            }
            Mistake::Over => {
                // in the block it comes after, else in one below (an `elif`/`else` with its
                // `if`; a declaration kept for the lines after the block), or at top level
                let levels = (top_idx.saturating_sub(NEARBY)..=top_idx)
                    .rev()
                    .chain((top_idx > NEARBY).then_some(0));
                candidates.extend(levels.clone().map(Reading::In));
                if first_opens {
                    candidates.extend(levels.map(Reading::Header));
                }
                candidates.push(Reading::Stray);
            }
        }
        // the fewest misfits; then, for a dedent, the reading whose lines sit closest to the
        // next line (a body one level under its header, the line after a statement at its
        // level); then the order above (a line indented too much stays in its block)
        let chosen = candidates
            .iter()
            .copied()
            .enumerate()
            .min_by_key(|&(k, r)| {
                let affinity = match p.mistake {
                    Mistake::Dedent => self.affinity(&p, r, next),
                    Mistake::Over => 0,
                };
                (self.misfits(&p, r, next, cont), affinity, k)
            })
            .map_or(Reading::Stray, |(_, r)| r);
        // what the diagnostic shows, from the blocks as they are
        let shown = if below == above {
            vec![above]
        } else {
            vec![below, above]
        };
        let labels: Vec<(Span, String)> = shown
            .into_iter()
            .filter_map(|i| {
                let h = self.indents[i].head?;
                Some((h.span, spaces(self.indents[i].width)))
            })
            .collect();
        let first_head = p.lines.first().and_then(|&(i, _)| self.head(i));
        let top_level = p.lines.iter().all(|&(i, _)| self.top_level_line(i));
        let last_head = self.head(last);
        let at = p.span.start;
        let toks = |tok: Tok, count: usize, at: usize| {
            (0..count).map(move |_| Token {
                tok: tok.clone(),
                span: Span::new(at, at),
            })
        };
        // the INDENT of a header's body, before the group's second line (inserted first: it
        // comes after the first line's tokens)
        if let (Reading::Header(_), Some(&(second, second_at))) = (chosen, p.lines.get(1)) {
            let second = second.min(self.toks.len());
            self.toks
                .splice(second..second, toks(Tok::Indent, 1, second_at));
        }
        // the tokens the first line needs, before its first token
        let (count, tok) = match chosen {
            Reading::In(i) | Reading::Relevel(i) | Reading::Header(i) => (top_idx - i, Tok::Dedent),
            Reading::Body(_) | Reading::Stray => (1, Tok::Indent),
        };
        let p_at = p.at.min(self.toks.len());
        self.toks.splice(p_at..p_at, toks(tok, count, at));
        let level = match chosen {
            Reading::In(i) => {
                self.indents.truncate(i + 1);
                self.indents[i].width
            }
            Reading::Header(i) => {
                self.indents.truncate(i + 1);
                if let (Some(l), Some(h)) = (self.indents.last_mut(), first_head) {
                    l.head = Some(h);
                }
                self.indents.push(Level {
                    width: p.width,
                    head: None,
                });
                self.indents[i].width
            }
            Reading::Relevel(i) => {
                self.indents.truncate(i + 1);
                self.indents[i].width = p.width;
                p.width
            }
            Reading::Body(w) => {
                self.indents.push(Level {
                    width: w,
                    head: None,
                });
                w
            }
            Reading::Stray => {
                self.indents.push(Level {
                    width: p.width,
                    head: None,
                });
                p.width
            }
        };
        self.forget_aliases();
        if let (Some(l), Some(h)) = (self.indents.last_mut(), last_head) {
            l.head = Some(h);
        }
        self.prev_opens = last_opens;
        if chosen == Reading::Stray {
            // the parser reports it, and reads the lines as if they were not indented
            return;
        }
        let tab = if p.tab { ", counting a tab as 4" } else { "" };
        let reads = match chosen {
            Reading::Relevel(_) => format!(
                "the compiler reads it in the block {}, and that block as {} from here on",
                spaces(hi),
                spaces(p.width)
            ),
            Reading::Body(_) => "the compiler reads it as the body of the line above".into(),
            Reading::Header(_) => format!(
                "the compiler reads it as {}, and the lines under it as its body",
                spaces(level)
            ),
            _ => format!("the compiler reads it as {}", spaces(level)),
        };
        let d = match p.mistake {
            Mistake::Dedent => {
                let options = match (chosen, lo) {
                    (Reading::Body(_), _) => format!(
                        "a block's body is indented more than its first line: indent it by more \
                         than {top} spaces"
                    ),
                    // a chain's statement cannot stand at top level
                    (_, 0) if !top_level => format!("indent it by {hi} spaces"),
                    (_, 0) => format!("start it in column 1 or indent it by {hi} spaces"),
                    _ => format!("indent it by {lo} or by {hi} spaces"),
                };
                Diagnostic::error(
                    "bad-indentation",
                    p.span,
                    "unindent does not match any outer indentation level",
                )
                .with_label(format!("{}{tab}", spaces(p.width)))
                .with_help(format!("{options}, like the block it belongs to; {reads}"))
            }
            Mistake::Over => {
                let rule = if top_idx == 0 {
                    "top-level lines start in column 1"
                } else {
                    "indent only after a line ending with `:`"
                };
                Diagnostic::error("unexpected-indent", p.span, "unexpected indentation")
                    .with_label(format!(
                        "{}{tab}, more than the line before",
                        spaces(p.width)
                    ))
                    .with_help(format!("{rule}; {reads}"))
            }
        };
        let d = labels
            .into_iter()
            .fold(d, |d, (span, message)| d.with_secondary(span, message));
        self.diags.push(d);
        if matches!(chosen, Reading::In(_) | Reading::Body(_)) {
            self.aliases.push(Alias {
                width: p.width,
                depth: self.indents.len(),
                level,
                diag: self.diags.len() - 1,
                shown: 0,
            });
            // the other lines of the group: labelled too
            let a = self.aliases.len() - 1;
            for &(_, at) in p.lines.iter().skip(1) {
                self.same_as_reported(a, Span::new(at, at + 1));
            }
        }
    }
}
