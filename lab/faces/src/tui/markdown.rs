//! Lesson text: Markdown parsed once into blocks ([`parse`]), then laid out for a width
//! ([`render`]): headings, wrapped paragraphs, lists with hanging indents, code blocks,
//! inline code and tables whose last column wraps.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use super::theme::Theme;

/// How an inline run of text looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Marks {
    pub strong: bool,
    pub emph: bool,
    pub code: bool,
    pub link: bool,
}

pub type Inline = Vec<(String, Marks)>;

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading(u8, Inline),
    /// a paragraph; in lists `prefix` is the bullet (first line) and `indent` the hanging indent
    Para {
        indent: usize,
        prefix: String,
        text: Inline,
    },
    Code(Vec<String>),
    /// rows of cells; the first row is the header
    Table(Vec<Vec<Inline>>),
    Rule,
    Blank,
}

/// Parses Markdown into blocks (done once per lesson).
pub fn parse(md: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut inline: Inline = Vec::new();
    let mut marks = Marks::default();
    // list stack: next number for ordered lists
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut item_prefix: Option<String> = None;
    let mut heading: Option<u8> = None;
    let mut code: Option<String> = None;
    let mut table: Option<Vec<Vec<Inline>>> = None;
    let mut row: Vec<Inline> = Vec::new();

    let flush = |out: &mut Vec<Block>,
                 inline: &mut Inline,
                 lists: &Vec<Option<u64>>,
                 item_prefix: &mut Option<String>| {
        if inline.iter().all(|(t, _)| t.trim().is_empty()) {
            inline.clear();
            return;
        }
        let depth = lists.len();
        let indent = if depth == 0 { 0 } else { depth * 2 + 1 };
        let prefix = match item_prefix.take() {
            Some(p) => format!("{}{p}", " ".repeat(indent.saturating_sub(p.width()))),
            None => " ".repeat(indent),
        };
        out.push(Block::Para {
            indent,
            prefix,
            text: std::mem::take(inline),
        });
    };

    for ev in Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match ev {
            Event::Start(tag) => match tag {
                Tag::Heading { level, .. } => {
                    heading = Some(match level {
                        HeadingLevel::H1 => 1,
                        HeadingLevel::H2 => 2,
                        _ => 3,
                    })
                }
                Tag::CodeBlock(_) => code = Some(String::new()),
                Tag::List(start) => {
                    flush(&mut out, &mut inline, &lists, &mut item_prefix);
                    lists.push(start);
                }
                Tag::Item => {
                    flush(&mut out, &mut inline, &lists, &mut item_prefix);
                    let p = match lists.last_mut() {
                        Some(Some(n)) => {
                            let s = format!("{n}. ");
                            *n += 1;
                            s
                        }
                        _ => "• ".to_string(),
                    };
                    item_prefix = Some(p);
                }
                Tag::Table(_) => table = Some(Vec::new()),
                Tag::TableHead | Tag::TableRow => row.clear(),
                Tag::TableCell => inline.clear(),
                Tag::Emphasis => marks.emph = true,
                Tag::Strong => marks.strong = true,
                Tag::Link { .. } => marks.link = true,
                _ => {}
            },
            Event::End(tag) => match tag {
                TagEnd::Heading(_) => {
                    out.push(Block::Heading(
                        heading.take().unwrap_or(3),
                        std::mem::take(&mut inline),
                    ));
                    out.push(Block::Blank);
                }
                TagEnd::Paragraph => {
                    flush(&mut out, &mut inline, &lists, &mut item_prefix);
                    if lists.is_empty() {
                        out.push(Block::Blank);
                    }
                }
                TagEnd::Item => flush(&mut out, &mut inline, &lists, &mut item_prefix),
                TagEnd::List(_) => {
                    flush(&mut out, &mut inline, &lists, &mut item_prefix);
                    lists.pop();
                    if lists.is_empty() && out.last() != Some(&Block::Blank) {
                        out.push(Block::Blank);
                    }
                }
                TagEnd::CodeBlock => {
                    let c = code.take().unwrap_or_default();
                    out.push(Block::Code(
                        c.trim_end_matches('\n').lines().map(expand_tabs).collect(),
                    ));
                    out.push(Block::Blank);
                }
                TagEnd::TableCell => row.push(std::mem::take(&mut inline)),
                TagEnd::TableHead | TagEnd::TableRow => {
                    if let Some(t) = table.as_mut() {
                        t.push(std::mem::take(&mut row));
                    }
                }
                TagEnd::Table => {
                    out.push(Block::Table(table.take().unwrap_or_default()));
                    out.push(Block::Blank);
                }
                TagEnd::Emphasis => marks.emph = false,
                TagEnd::Strong => marks.strong = false,
                TagEnd::Link => marks.link = false,
                _ => {}
            },
            Event::Text(t) => {
                if let Some(c) = code.as_mut() {
                    c.push_str(&t);
                } else {
                    inline.push((t.to_string(), marks));
                }
            }
            Event::Code(t) => inline.push((
                t.to_string(),
                Marks {
                    code: true,
                    ..marks
                },
            )),
            Event::SoftBreak | Event::HardBreak => inline.push((" ".into(), marks)),
            Event::Rule => {
                out.push(Block::Rule);
                out.push(Block::Blank);
            }
            Event::Html(h) | Event::InlineHtml(h) => inline.push((h.to_string(), marks)),
            _ => {}
        }
    }
    flush(&mut out, &mut inline, &lists, &mut item_prefix);
    while out.last() == Some(&Block::Blank) {
        out.pop();
    }
    out
}

/// Tabs to spaces (to the next multiple of 4): a terminal cell has no width for a tab.
pub fn expand_tabs(s: &str) -> String {
    if !s.contains('\t') {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        if c == '\t' {
            let n = 4 - out.width() % 4;
            out.push_str(&" ".repeat(n));
        } else {
            out.push(c);
        }
    }
    out
}

fn style_of(m: Marks, theme: &Theme) -> Style {
    let mut s = if m.code {
        theme.code()
    } else if m.link {
        theme.link()
    } else {
        theme.plain()
    };
    if m.strong {
        s = s.patch(theme.strong());
    }
    if m.emph {
        s = s.patch(theme.emph());
    }
    s
}

fn push_span(line: &mut Vec<Span<'static>>, text: &str, style: Style) {
    if let Some(last) = line.last_mut()
        && last.style == style
    {
        last.content.to_mut().push_str(text);
        return;
    }
    line.push(Span::styled(text.to_string(), style));
}

/// Word-wraps styled text into lines of at most `width` cells; the first line starts with
/// `first`, the others with `rest` (a hanging indent). A word is what lies between spaces,
/// whatever styles it is made of: `` `tail call`. `` breaks before the code, never before
/// the full stop.
pub fn wrap(
    text: &[(String, Style)],
    width: usize,
    first: Span<'static>,
    rest: &str,
) -> Vec<Line<'static>> {
    // the words, each with its styled parts and the style of the space before it, if any
    struct Word<'a> {
        parts: Vec<(&'a str, Style)>,
        space: Option<Style>,
    }
    let mut words: Vec<Word> = Vec::new();
    let mut space: Option<Style> = None;
    let mut glued = false;
    for (t, style) in text {
        let mut rest_of = t.as_str();
        while !rest_of.is_empty() {
            if rest_of.starts_with(char::is_whitespace) {
                rest_of = rest_of.trim_start();
                space = Some(*style);
                glued = false;
                continue;
            }
            let end = rest_of.find(char::is_whitespace).unwrap_or(rest_of.len());
            let part = (&rest_of[..end], *style);
            rest_of = &rest_of[end..];
            match words.last_mut() {
                Some(w) if glued => w.parts.push(part),
                _ => words.push(Word {
                    parts: vec![part],
                    space: space.take(),
                }),
            }
            glued = true;
        }
    }

    let width = width.max(4);
    let mut lines = Vec::new();
    let mut cur: Vec<Span<'static>> = vec![first.clone()];
    let mut cur_w = first.content.width();
    let rest_w = rest.width();
    let mut line_has_words = false;
    for w in &words {
        let ww: usize = w.parts.iter().map(|(t, _)| t.width()).sum();
        let sp = usize::from(line_has_words && w.space.is_some());
        if line_has_words && cur_w + sp + ww > width {
            lines.push(Line::from(std::mem::take(&mut cur)));
            cur = vec![Span::raw(rest.to_string())];
            cur_w = rest_w;
            line_has_words = false;
        }
        if line_has_words && let Some(s) = w.space {
            push_span(&mut cur, " ", s);
            cur_w += 1;
        }
        for (t, style) in &w.parts {
            let mut word = *t;
            // a word longer than the line: cut it
            while cur_w + word.width() > width {
                if cur_w >= width {
                    lines.push(Line::from(std::mem::take(&mut cur)));
                    cur = vec![Span::raw(rest.to_string())];
                    cur_w = rest_w;
                    continue;
                }
                let (cut, cw) = fitting(word, width - cur_w);
                push_span(&mut cur, &word[..cut], *style);
                cur_w += cw;
                word = &word[cut..];
            }
            push_span(&mut cur, word, *style);
            cur_w += word.width();
        }
        line_has_words = true;
    }
    if line_has_words || lines.is_empty() {
        lines.push(Line::from(cur));
    }
    lines
}

/// The longest start of `s` that fits in `room` cells (at least one character, so that a
/// caller always makes progress): its length in bytes and its width.
fn fitting(s: &str, room: usize) -> (usize, usize) {
    let (mut cut, mut w) = (0, 0);
    for (i, c) in s.char_indices() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if w + cw > room.max(1) {
            break;
        }
        w += cw;
        cut = i + c.len_utf8();
    }
    if cut == 0
        && let Some(c) = s.chars().next()
    {
        return (
            c.len_utf8(),
            unicode_width::UnicodeWidthChar::width(c).unwrap_or(0),
        );
    }
    (cut, w)
}

/// Wraps one line of command output into lines of at most `width` cells, keeping its
/// spacing: runs of spaces that align columns (`chain dis`, `map dump`) stay as they are. A
/// line too long breaks at its last space that fits, or inside a word when none does;
/// continuation lines start with `rest`. The first line starts with `first`.
pub fn wrap_verbatim(
    text: &str,
    style: Style,
    width: usize,
    first: Span<'static>,
    rest: &str,
) -> Vec<Line<'static>> {
    let width = width.max(4);
    let mut lines = Vec::new();
    let mut prefix = first;
    let mut s = text;
    loop {
        let room = width.saturating_sub(prefix.content.width());
        if s.width() <= room {
            lines.push(Line::from(vec![prefix, Span::styled(s.to_string(), style)]));
            return lines;
        }
        let (fit, _) = fitting(s, room);
        // break at a space: the one right after what fits, else the last one inside it
        // that has something other than spaces before it
        let cut = if s[fit..].starts_with(' ') {
            fit
        } else {
            match s[..fit].rfind(' ') {
                Some(i) if !s[..i].trim().is_empty() => i,
                _ => fit,
            }
        };
        lines.push(Line::from(vec![
            prefix,
            Span::styled(s[..cut].trim_end().to_string(), style),
        ]));
        s = s[cut..].trim_start();
        if s.is_empty() {
            return lines;
        }
        prefix = Span::raw(rest.to_string());
    }
}

/// The mark at the end of a code line's part that goes on below: the line does not end
/// there (a line cut at a space looks whole otherwise: walked at 80x24, lesson 1's
/// `... ping -6 -c 3` read as the whole command).
pub const CONTINUES: &str = " ↩";

/// Wraps a line of code like [`wrap_verbatim`], each part that goes on below ending in
/// [`CONTINUES`] (dim): code never loses text, and never looks whole when it is not.
pub fn wrap_code(
    text: &str,
    style: Style,
    mark: Style,
    width: usize,
    first: Span<'static>,
    rest: &str,
) -> Vec<Line<'static>> {
    let width = width.max(4);
    if first.content.width() + text.width() <= width {
        return vec![Line::from(vec![
            first,
            Span::styled(text.to_string(), style),
        ])];
    }
    let mut lines = wrap_verbatim(
        text,
        style,
        width.saturating_sub(CONTINUES.width()),
        first,
        rest,
    );
    let n = lines.len();
    for l in lines.iter_mut().take(n - 1) {
        l.spans.push(Span::styled(CONTINUES, mark));
    }
    lines
}

fn styled(inline: &Inline, theme: &Theme, extra: Style) -> Vec<(String, Style)> {
    inline
        .iter()
        .map(|(t, m)| (t.clone(), style_of(*m, theme).patch(extra)))
        .collect()
}

fn plain_text(inline: &Inline) -> String {
    inline.iter().map(|(t, _)| t.as_str()).collect()
}

/// Lays the blocks out for `width` cells.
pub fn render(blocks: &[Block], width: u16, theme: &Theme) -> Vec<Line<'static>> {
    render_with_starts(blocks, width, theme).0
}

/// [`render`], and the line each block starts at (blocks are laid out one after the other,
/// so the lines above block `i` are `starts[i]`, without laying the text out again).
pub fn render_with_starts(
    blocks: &[Block],
    width: u16,
    theme: &Theme,
) -> (Vec<Line<'static>>, Vec<usize>) {
    let width = (width as usize).max(8);
    let mut out = Vec::new();
    let mut starts = Vec::with_capacity(blocks.len());
    for b in blocks {
        starts.push(out.len());
        match b {
            Block::Heading(level, text) => {
                let st = theme.heading(*level);
                let prefix = match level {
                    1 => "",
                    2 => "",
                    _ => "▸ ",
                };
                out.extend(wrap(
                    &styled(text, theme, st),
                    width,
                    Span::styled(prefix, st),
                    "",
                ));
            }
            Block::Para {
                indent,
                prefix,
                text,
            } => out.extend(wrap(
                &styled(text, theme, Style::new()),
                width,
                Span::styled(prefix.clone(), theme.accent()),
                &" ".repeat(*indent),
            )),
            // a line wider than the pane wraps (at 80x24 the text pane is 40 cells wide,
            // and a command cut there cannot be read or typed), its rest indented
            Block::Code(lines) => {
                for l in lines {
                    out.extend(wrap_code(
                        l,
                        theme.code(),
                        theme.dim(),
                        width,
                        Span::styled("│ ", theme.dim()),
                        "│   ",
                    ));
                }
            }
            Block::Table(rows) => out.extend(table(rows, width, theme)),
            Block::Rule => out.push(Line::styled("─".repeat(width), theme.dim())),
            Block::Blank => out.push(Line::default()),
        }
    }
    (out, starts)
}

/// Columns sized to their content; the last column takes the remaining width and wraps.
/// Too narrow for that: one record per row, `header: value` lines.
fn table(rows: &[Vec<Inline>], width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let ncol = rows.iter().map(Vec::len).max().unwrap_or(0);
    if ncol == 0 {
        return vec![];
    }
    let mut widths = vec![0usize; ncol];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(plain_text(c).width());
        }
    }
    let sep = " │ ";
    let fixed: usize = widths[..ncol - 1].iter().sum::<usize>() + sep.len() * (ncol - 1);
    let mut out = Vec::new();
    if ncol > 1 && width.saturating_sub(fixed) < 12 {
        let header = &rows[0];
        for r in &rows[1..] {
            for (i, c) in r.iter().enumerate() {
                let h = header.get(i).map(plain_text).unwrap_or_default();
                let (first, rest) = if i == 0 {
                    (format!("• {h}: "), "  ".to_string())
                } else {
                    (format!("  {h}: "), "    ".to_string())
                };
                out.extend(wrap(
                    &styled(c, theme, Style::new()),
                    width,
                    Span::styled(first, theme.dim()),
                    &rest,
                ));
            }
        }
        return out;
    }
    let last_w = width.saturating_sub(fixed).max(4);
    for (ri, r) in rows.iter().enumerate() {
        let head = ri == 0;
        let extra = if head { theme.strong() } else { Style::new() };
        let mut prefix: Vec<Span<'static>> = Vec::new();
        for (i, w) in widths[..ncol - 1].iter().enumerate() {
            let cell = r.get(i).cloned().unwrap_or_default();
            let mut spans: Vec<Span<'static>> = Vec::new();
            for (t, s) in styled(&cell, theme, extra) {
                push_span(&mut spans, &t, s);
            }
            let pad = w.saturating_sub(plain_text(&cell).width());
            prefix.extend(spans);
            prefix.push(Span::raw(" ".repeat(pad)));
            prefix.push(Span::styled(sep, theme.dim()));
        }
        let last = r.get(ncol - 1).cloned().unwrap_or_default();
        let wrapped = wrap(&styled(&last, theme, extra), last_w, Span::raw(""), "");
        for (li, l) in wrapped.into_iter().enumerate() {
            let mut spans = if li == 0 {
                prefix.clone()
            } else {
                let mut v = Vec::new();
                for w in &widths[..ncol - 1] {
                    v.push(Span::raw(" ".repeat(*w)));
                    v.push(Span::styled(sep, theme.dim()));
                }
                v
            };
            spans.extend(l.spans);
            out.push(Line::from(spans));
        }
        if head {
            let mut rule = String::new();
            for w in &widths[..ncol - 1] {
                rule.push_str(&"─".repeat(*w));
                rule.push_str("─┼─");
            }
            rule.push_str(&"─".repeat(last_w.min(width.saturating_sub(fixed))));
            out.push(Line::styled(rule, theme.dim()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line a block starts at, as `render_with_starts` records it, is the length of the
    /// blocks before it laid out alone (the lesson text follows the step by it), for every
    /// block of every lesson at the text pane's widths.
    #[test]
    fn block_starts_are_the_lines_above_them() {
        let theme = Theme { color: false };
        for l in eclat_course::lessons::all() {
            let blocks = parse(&l.text);
            for w in [36u16, 40, 77, 100] {
                let (lines, starts) = render_with_starts(&blocks, w, &theme);
                assert_eq!(starts.len(), blocks.len());
                assert_eq!(lines.len(), render(&blocks, w, &theme).len());
                for i in (0..blocks.len()).step_by(7) {
                    assert_eq!(
                        starts[i],
                        render(&blocks[..i], w, &theme).len(),
                        "lesson {} block {i} at {w}",
                        l.number
                    );
                }
            }
        }
    }

    fn text_of(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn command_output_keeps_its_columns_and_wraps_at_spaces() {
        let line = "  3: *(u64 *)(r6 + 16) = 500      ; r2 = 500";
        let t = text_of(&wrap_verbatim(
            line,
            Style::default(),
            60,
            Span::raw("> "),
            "    ",
        ));
        assert_eq!(t, vec![format!("> {line}")]);
        // too long: breaks at the last space that fits, the runs of spaces before it kept
        let t = text_of(&wrap_verbatim(
            line,
            Style::default(),
            30,
            Span::raw("> "),
            "    ",
        ));
        assert_eq!(t, vec![">   3: *(u64 *)(r6 + 16) = 500", "    ; r2 = 500"]);
        // no space to break at: cut inside the word, and never loop on a narrow pane
        let t = text_of(&wrap_verbatim(
            "abcdefghij",
            Style::default(),
            4,
            Span::raw(""),
            "",
        ));
        assert_eq!(t, vec!["abcd", "efgh", "ij"]);
        let t = text_of(&wrap_verbatim(
            "ab",
            Style::default(),
            1,
            Span::raw("xxxxxx"),
            "yyyyyy",
        ));
        assert!(
            t.len() <= 3 && t.concat().contains('a') && t.concat().contains('b'),
            "{t:?}"
        );
    }

    #[test]
    fn paragraphs_wrap_and_lists_hang() {
        let md = "# Title\n\nOne two three four five six seven.\n\n- alpha beta gamma delta\n- `code span`\n\n1. first\n2. second\n";
        let lines = render(&parse(md), 20, &Theme { color: false });
        let t = text_of(&lines);
        assert_eq!(t[0], "Title");
        assert_eq!(t[1], "");
        assert_eq!(t[2], "One two three four");
        assert_eq!(t[3], "five six seven.");
        assert!(t.contains(&" • alpha beta gamma".to_string()), "{t:#?}");
        assert!(t.contains(&"   delta".to_string()), "{t:#?}");
        assert!(t.contains(&" • code span".to_string()), "{t:#?}");
        assert!(t.contains(&"1. first".to_string()), "{t:#?}");
        assert!(t.contains(&"2. second".to_string()), "{t:#?}");
        for l in &t {
            assert!(l.width() <= 20, "{l:?} is wider than 20");
        }
    }

    #[test]
    fn code_blocks_keep_their_lines_and_tables_align() {
        let md = "```\na  b\n  c\n\tt\n```\n\n| k | v |\n|---|---|\n| `XDP_DROP` | dropped, cheaply: nothing else ever sees it |\n";
        let t = text_of(&render(&parse(md), 30, &Theme { color: false }));
        assert_eq!(t[0], "│ a  b");
        assert_eq!(t[1], "│   c");
        assert_eq!(t[2], "│     t");
        let head = t.iter().position(|l| l.starts_with("k ")).unwrap();
        assert!(t[head + 1].starts_with("─────────┼"), "{t:#?}");
        assert!(t[head + 2].starts_with("XDP_DROP │ dropped"), "{t:#?}");
        assert!(t[head + 3].starts_with("         │ "), "{t:#?}");
        // too narrow for columns: one record per row
        let t = text_of(&render(&parse(md), 16, &Theme { color: false }));
        assert!(t.iter().any(|l| l.starts_with("• k: XDP_DROP")), "{t:#?}");
    }

    /// Walked at 80x24: lesson 1's `$ sudo eclat-lab exec tg -- ping -6 -c 3 -i 0.2 fc01::2`
    /// ended at `-c 3` in a 40-cell text pane; every cell of a code line is shown.
    #[test]
    fn code_lines_wider_than_the_pane_wrap() {
        let md = "```\n$ sudo eclat-lab exec tg -- ping -6 -c 3 -i 0.2 fc01::2\n```\n";
        let t = text_of(&render(&parse(md), 34, &Theme { color: false }));
        assert_eq!(
            t,
            [
                "│ $ sudo eclat-lab exec tg -- ↩",
                "│   ping -6 -c 3 -i 0.2 fc01::2"
            ],
            "{t:#?}"
        );
    }

    /// Every code line of every lesson, at the text pane's widths: nothing lost, nothing
    /// wider than the pane, and every line that goes on below says so (walked at 80x24:
    /// lesson 1's `... ping -6 -c 3` looked like the whole command, `-i 0.2 fc01::2` on the
    /// line below the pane's last row).
    #[test]
    fn code_lines_lose_nothing_and_mark_where_they_go_on() {
        let theme = Theme { color: false };
        for l in eclat_course::lessons::all() {
            for b in parse(&l.text) {
                let Block::Code(code) = b else { continue };
                for w in [30u16, 40, 44, 77] {
                    for line in &code {
                        let t = text_of(&render(&[Block::Code(vec![line.clone()])], w, &theme));
                        let mut joined = String::new();
                        for (i, part) in t.iter().enumerate() {
                            assert!(part.width() <= w as usize, "{part:?} wider than {w}");
                            let last = i + 1 == t.len();
                            assert_eq!(
                                part.ends_with(CONTINUES),
                                !last,
                                "lesson {} at {w}: {t:#?}",
                                l.number
                            );
                            let body = part.strip_suffix(CONTINUES).unwrap_or(part);
                            let body = if i == 0 {
                                body.strip_prefix("│ ").unwrap()
                            } else {
                                body.strip_prefix("│   ").unwrap()
                            };
                            joined.push_str(body);
                        }
                        let squeeze = |s: &str| s.split_whitespace().collect::<String>();
                        assert_eq!(
                            squeeze(&joined),
                            squeeze(line),
                            "lesson {} at {w}",
                            l.number
                        );
                    }
                }
            }
        }
    }

    /// Walked in lesson 5: "... the tail call" then "." alone on the next line (the code
    /// span and the full stop are one word).
    #[test]
    fn punctuation_stays_with_the_code_before_it() {
        let code = Style::new().add_modifier(ratatui::style::Modifier::BOLD);
        let text = [
            ("one primitive for that: the ".to_string(), Style::new()),
            ("tail call".to_string(), code),
            (". Next".to_string(), Style::new()),
        ];
        let l = text_of(&wrap(&text, 37, Span::raw(""), ""));
        assert_eq!(l, ["one primitive for that: the tail", "call. Next"]);
        let l = text_of(&wrap(&text, 38, Span::raw(""), ""));
        assert_eq!(l, ["one primitive for that: the tail call.", "Next"]);
    }

    #[test]
    fn long_words_are_cut() {
        let l = wrap(
            &[("abcdefghijklmnop".into(), Style::new())],
            6,
            Span::raw(""),
            "",
        );
        assert_eq!(text_of(&l), ["abcdef", "ghijkl", "mnop"]);
    }
}
