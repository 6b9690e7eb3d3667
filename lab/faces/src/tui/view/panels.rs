//! Drawing of the learning panels: the exercise's check results, the verifier's
//! explanation under the learner's source, the chain-trace timeline, and the overlays
//! (lesson list, hints, solution, reset question). Pure functions of the state, like `view`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::{bordered, centered};
use crate::tui::lines::{check_lines_in, fit, hidden_note, wrap};
use crate::tui::markdown;
use crate::tui::state::{App, CheckView, Focus, Overlay, TraceKind};

pub fn draw_check(f: &mut Frame, app: &App, r: Rect) {
    let t = &app.theme;
    let Some(ex) = app.current_exercise() else {
        return;
    };
    let (mark, style) = match &app.check {
        CheckView::Done(rep) if rep.passed => ("PASS", t.spark().patch(t.strong())),
        CheckView::Done(rep) if rep.not_possible.is_some() => ("NOT POSSIBLE HERE", t.warn()),
        CheckView::Done(_) | CheckView::Error(_) => ("FAIL", t.error()),
        CheckView::Running => ("…", t.warn()),
        CheckView::NotRun if app.exercise_passed() => ("passed before", t.spark()),
        CheckView::NotRun => ("not checked", t.dim()),
    };
    let title = Line::from(vec![
        Span::styled(" Check ", t.accent()),
        Span::styled(format!("{} ", ex.id), t.strong()),
        Span::styled(format!("{mark} "), style),
    ]);
    let title_w = title.width() as u16;
    let mut b = bordered(app, title, Focus::Lesson).title_bottom(
        Line::from(vec![
            Span::styled(" e", t.key()),
            Span::styled(" edit ", t.dim()),
            Span::styled("h", t.key()),
            Span::styled(" hint ", t.dim()),
            Span::styled("x", t.key()),
            Span::styled(" reset ", t.dim()),
            Span::styled("v", t.key()),
            Span::styled(" text ", t.dim()),
        ])
        .right_aligned(),
    );
    let inner = b.inner(r);
    let mut lines = check_lines_in(app, inner.width, inner.height as usize);
    let room = inner.height as usize;
    if lines.len() > room {
        // what is cut is said on the top border, with the key that shows it whole (a mark
        // after the last line would not fit beside a compiler's help line, and beside the
        // marks under a source line it would read as one of them)
        let keys = if app.zoom || crate::tui::layout::pane(app) != Focus::Lesson {
            ""
        } else {
            "z zooms"
        };
        let hidden = vec![(lines.len() - room, "line", "lines")];
        if let Some(note) = hidden_note(&hidden, keys, r.width.saturating_sub(title_w + 1)) {
            b = b.title(Line::styled(note, t.warn()).right_aligned());
        }
        lines.truncate(room);
    }
    f.render_widget(b, r);
    f.render_widget(Paragraph::new(lines), inner);
}

/// The verifier panel's lines for `width` cells and `room` rows: what went wrong, where
/// (the learner's lines around it, the failing one marked), the kernel's words, what to do.
pub fn verifier_lines(app: &App, width: u16, room: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let w = width as usize;
    let Some(v) = &app.verifier else {
        return vec![];
    };
    let e = &v.explanation;
    let mut out = Vec::new();
    out.extend(wrap(e.class.title(), t.error(), w, Span::raw(""), ""));
    let file = std::path::Path::new(&v.file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| v.file.clone());
    let at = match &e.source {
        Some(s) => format!("in {file} line {}", s.line),
        None => format!("in {file} (no line info: build with -g)"),
    };
    let at = match &v.program {
        Some(p) => format!("{at}, program {p}"),
        None => at,
    };
    out.push(Line::styled(at, t.dim()));
    let mut tail = Vec::new();
    tail.extend(wrap(
        &e.message,
        t.warn(),
        w,
        Span::styled("the kernel said: ", t.strong()),
        "  ",
    ));
    if let Some(i) = &e.insn {
        tail.extend(wrap(
            i.trim(),
            t.dim(),
            w,
            Span::styled("  at insn ", t.dim()),
            "    ",
        ));
    }
    let todo = wrap(
        &e.advice,
        t.plain(),
        w,
        Span::styled("what to do: ", t.strong()),
        "  ",
    );
    // short of room, what to do comes before the kernel's own words (z shows all)
    if out.len() + 1 + tail.len() + todo.len() > room {
        tail.splice(0..0, todo);
    } else {
        tail.extend(todo);
    }
    // the source: as many lines around the failing one as the room allows
    let src_room = room
        .saturating_sub(out.len() + tail.len())
        .clamp(1, v.excerpt.len().max(1));
    if let Some(src) = &e.source {
        let i = v
            .excerpt
            .iter()
            .position(|(n, _)| *n == src.line)
            .unwrap_or(0);
        let before = (src_room - 1) / 2;
        let start = i
            .saturating_sub(before)
            .min(v.excerpt.len().saturating_sub(src_room));
        let nw = v.excerpt.last().map_or(1, |(n, _)| n.to_string().len());
        for (n, text) in v.excerpt.iter().skip(start).take(src_room) {
            let hot = *n == src.line;
            let gutter = format!("{}{n:>nw$} │ ", if hot { "▶" } else { " " });
            let room = w.saturating_sub(gutter.width());
            let body = fit(text, room);
            out.push(if hot {
                Line::from(vec![
                    Span::styled(gutter, t.error()),
                    Span::styled(body, t.mark()),
                ])
            } else {
                Line::from(vec![
                    Span::styled(gutter, t.dim()),
                    Span::styled(body, t.code()),
                ])
            });
        }
        if v.excerpt.is_empty() {
            out.extend(wrap(
                src.text.trim(),
                t.code(),
                w,
                Span::styled("▶ ", t.error()),
                "  ",
            ));
        }
    }
    out.extend(tail);
    out
}

pub fn draw_verifier(f: &mut Frame, app: &App, r: Rect) {
    let t = &app.theme;
    let b = bordered(
        app,
        Line::from(vec![
            Span::styled(" Verifier ", t.error()),
            Span::styled("rejected the program ", t.strong()),
        ]),
        Focus::Verifier,
    )
    .title_bottom(
        Line::from(vec![
            Span::styled(" z", t.key()),
            Span::styled(if app.zoom { " unzoom " } else { " zoom " }, t.dim()),
        ])
        .right_aligned(),
    );
    let inner = b.inner(r);
    f.render_widget(b, r);
    let mut lines = verifier_lines(app, inner.width, inner.height as usize);
    if lines.len() > inner.height as usize {
        lines.truncate(inner.height as usize);
        if let Some(l) = lines.last_mut() {
            l.spans.push(Span::styled(" … z", t.key()));
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// The chain trace as a timeline: each packet, the programs its chain called with their
/// arguments and return values, and how it ended. Newest at the bottom.
pub fn draw_trace(f: &mut Frame, app: &App, r: Rect) {
    let t = &app.theme;
    let b = bordered(
        app,
        Line::from(vec![
            Span::styled(" Chain trace ", t.accent()),
            Span::styled(format!("{} packets ", app.trace_packets), t.dim()),
        ]),
        Focus::Trace,
    );
    let inner = b.inner(r);
    f.render_widget(b, r);
    let w = inner.width as usize;
    let h = inner.height as usize;
    let mut lines: Vec<Line> = Vec::new();
    if app.trace.is_empty() {
        let msg = if !app.privileged {
            "needs root to read HIKe's trace".to_string()
        } else if let Some(s) = &app.trace_status {
            s.clone()
        } else {
            "packets through a chain appear here: load a script, then send traffic (t)".into()
        };
        lines.extend(wrap(&msg, t.dim(), w, Span::raw(""), ""));
    } else {
        for l in app
            .trace
            .iter()
            .rev()
            .take(h)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            let (glyph, style) = match l.kind {
                TraceKind::Packet => ("● ", t.accent()),
                TraceKind::Call => ("→ ", t.plain()),
                TraceKind::Return => ("← ", t.dim()),
                TraceKind::Exit => ("■ ", t.warn()),
                TraceKind::Abort => ("✗ ", t.error()),
                TraceKind::Verdict => ("◆ ", t.strong()),
                TraceKind::Other => ("  ", t.plain()),
            };
            let indent = l.text.len() - l.text.trim_start().len();
            let text = format!("{}{glyph}{}", " ".repeat(indent), l.text.trim_start());
            lines.push(Line::styled(fit(&text, w), style));
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// A box over the screen with a title, bottom help and the given lines.
fn overlay_box(
    f: &mut Frame,
    app: &App,
    area: Rect,
    w: u16,
    title: Line<'static>,
    bottom: &str,
    lines: Vec<Line<'static>>,
) {
    let h = (lines.len() as u16 + 2)
        .min(area.height.saturating_sub(2))
        .max(3);
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    let b = Block::bordered()
        .border_style(app.theme.border(true))
        .title(title)
        .title_bottom(Line::from(bottom.to_string()).right_aligned());
    let inner = b.inner(r);
    f.render_widget(b, r);
    f.render_widget(Paragraph::new(lines), inner);
}

pub fn draw_overlay(f: &mut Frame, app: &App, area: Rect) {
    let Some(o) = &app.overlay else {
        return;
    };
    let t = &app.theme;
    let w = area.width.saturating_sub(4).min(76);
    let iw = w.saturating_sub(2) as usize;
    match o {
        Overlay::Lessons { selected } => {
            // as wide as the longest title needs, where the screen has room for it
            let longest = app.all.iter().map(|l| l.title.chars().count()).max();
            let w = area
                .width
                .saturating_sub(4)
                .min(longest.unwrap_or(0) as u16 + 28)
                .max(w);
            let iw = w.saturating_sub(2) as usize;
            let mut lines = vec![Line::styled(
                format!(
                    "   {:<3}{:<tw$} {:>9} {:>9}",
                    "#",
                    "lesson",
                    "step",
                    "exercises",
                    tw = iw.saturating_sub(26)
                ),
                t.dim(),
            )];
            for (i, l) in app.all.iter().enumerate() {
                let p = app.progress.lessons.get(&l.id);
                let step = p.map_or(0, |p| p.step).min(l.steps.len().saturating_sub(1));
                let step = format!("{}/{}", step + 1, l.steps.len());
                let exs = if l.exercises.is_empty() {
                    "—".to_string()
                } else {
                    let n = l
                        .exercises
                        .iter()
                        .filter(|e| p.is_some_and(|p| p.passed.contains(&e.id)))
                        .count();
                    format!(
                        "{}{n}/{}",
                        if n == l.exercises.len() { "✓ " } else { "" },
                        l.exercises.len(),
                    )
                };
                let cur = if l.id == app.lesson.id { "●" } else { " " };
                let sel = if i == *selected { "›" } else { " " };
                let text = format!(
                    "{sel}{cur} {:<3}{} {:>9} {:>9}",
                    l.number,
                    fit(&l.title, iw.saturating_sub(26)),
                    step,
                    exs
                );
                lines.push(if i == *selected {
                    Line::styled(text, t.mark())
                } else {
                    Line::raw(text)
                });
            }
            overlay_box(
                f,
                app,
                area,
                w,
                Line::styled(" Lessons ", t.accent()),
                " ↑↓ choose  Enter open  Esc close ",
                lines,
            );
        }
        Overlay::Hints => {
            let Some(ex) = app.current_exercise() else {
                return;
            };
            let shown = app.hints_shown().max(1).min(ex.hints.len());
            let mut lines = Vec::new();
            for (i, h) in ex.hints.iter().take(shown).enumerate() {
                let newest = i + 1 == shown;
                let style = if newest { t.strong() } else { t.dim() };
                lines.extend(wrap(
                    h,
                    style,
                    iw,
                    Span::styled(format!("{}/{} ", i + 1, ex.hints.len()), t.key()),
                    "    ",
                ));
                lines.push(Line::raw(""));
            }
            let bottom = if shown < ex.hints.len() {
                " h next hint  any other key closes "
            } else {
                " that was the last hint  any key closes "
            };
            overlay_box(
                f,
                app,
                area,
                w,
                Line::styled(format!(" Hints: {} ", ex.title), t.accent()),
                bottom,
                lines,
            );
        }
        Overlay::Solution { scroll } => {
            let Some(ex) = app.current_exercise() else {
                return;
            };
            let text = app.solution_text().unwrap_or("");
            let total = text.lines().count();
            let nw = total.to_string().len();
            let room = area.height.saturating_sub(4) as usize;
            // the code is as wide as the box it is in
            let w = area.width.saturating_sub(2).min(100);
            let iw = w.saturating_sub(2) as usize;
            // a line wider than the box wraps, marked (the learner copies from here)
            let lines = text
                .lines()
                .enumerate()
                .skip(*scroll)
                .flat_map(|(i, l)| {
                    markdown::wrap_code(
                        &markdown::expand_tabs(l),
                        t.code(),
                        t.dim(),
                        iw,
                        Span::styled(format!("{:>nw$} │ ", i + 1), t.dim()),
                        &format!("{:>nw$} │   ", ""),
                    )
                })
                .take(room)
                .collect();
            overlay_box(
                f,
                app,
                area,
                w,
                Line::styled(format!(" Reference solution: {} ", ex.file), t.accent()),
                " ↑↓ PgUp PgDn scroll  any other key closes ",
                lines,
            );
        }
        Overlay::ConfirmReset => {
            let Some(ex) = app.current_exercise() else {
                return;
            };
            let w = w.min(64);
            let iw = w.saturating_sub(2) as usize;
            let mut lines = wrap(
                &format!(
                    "Put the starter {} back? Your version is kept next to it as a .bak file.",
                    ex.file
                ),
                t.plain(),
                iw.saturating_sub(1),
                Span::raw(" "),
                " ",
            );
            lines.push(Line::raw(""));
            lines.push(Line::from(vec![
                Span::styled(" y", t.key()),
                Span::raw(" reset    "),
                Span::styled("any other key", t.key()),
                Span::raw(" keep it"),
            ]));
            overlay_box(
                f,
                app,
                area,
                w,
                Line::styled(" Reset the exercise? ", t.warn()),
                "",
                lines,
            );
        }
    }
}
