//! Drawing: a pure function of the state ([`draw`] borrows [`App`] read-only) over the
//! layout (`layout::regions`), so the screen is tested by rendering into ratatui's
//! `TestBackend`. `panels` draws the learning panels and the overlays.

mod panels;

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::layout::{Regions, inner_width, pane, regions};
use super::lines::{
    fit, hidden_note, maps_compact, panel_head, panel_order, step_lines, step_title_fits,
    topo_lines_in,
};
use super::markdown;
use super::state::{App, CheckView, Focus, LogKind, MapRow, PanelState, TopoView};

pub fn bordered<'a>(app: &App, title: Line<'a>, focus: Focus) -> Block<'a> {
    let focused = pane(app) == focus && app.focus != Focus::Command;
    Block::new()
        .borders(Borders::ALL)
        .border_style(app.theme.border(focused))
        .title(title)
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    if area.width < 20 || area.height < 6 {
        f.render_widget(Paragraph::new("eclat-lab: the terminal is too small"), area);
        return;
    }
    let r = regions(app, area);
    draw_header(f, app, r.header);
    if let Some(s) = r.step {
        draw_step(f, app, s, &r);
    }
    if let Some(t) = r.text {
        draw_text(f, app, t);
    }
    if let Some(t) = r.topo {
        let title = Line::from(match &app.topo {
            TopoView::Status(st) => match &st.topology {
                // compact: links only (the addresses are one zoom away)
                Some(n) if r.topo_compact => format!(" Topology: {n} (links) "),
                Some(n) => format!(" Topology: {n} "),
                None => " Topology ".to_string(),
            },
            _ => " Topology ".to_string(),
        });
        let mut b = bordered(app, title, Focus::Topology);
        let inner = b.inner(t);
        let (lines, hidden) =
            topo_lines_in(app, inner.width, r.topo_compact, inner.height as usize);
        // only keys that work now: z zooms the focused pane, so an unfocused topology says
        // Tab first (beside the lesson it said `z zooms`, and z zoomed the lesson text)
        let focused = pane(app) == Focus::Topology && app.focus != Focus::Command;
        let keys = match (focused, app.zoom) {
            (_, true) => "",
            (true, false) => "z zooms",
            (false, false) => "Tab, z zooms",
        };
        if let Some(note) = hidden_note(&hidden, keys, t.width) {
            b = b.title_bottom(Line::styled(note, app.theme.warn()).right_aligned());
        }
        f.render_widget(b, t);
        f.render_widget(Paragraph::new(lines), inner);
    }
    if let Some(m) = r.maps {
        draw_maps(f, app, m);
    }
    if let Some(l) = r.log {
        draw_log(f, app, l);
    }
    if let Some(c) = r.check {
        panels::draw_check(f, app, c);
    }
    if let Some(v) = r.verifier {
        panels::draw_verifier(f, app, v);
    }
    if let Some(t) = r.trace {
        panels::draw_trace(f, app, t);
    }
    draw_cmd(f, app, r.cmd);
    draw_status(f, app, r.status);
    panels::draw_overlay(f, app, area);
    if app.help {
        draw_help(f, app, area);
    }
    if app.confirm_quit {
        draw_confirm(f, app, area);
    }
}

fn draw_header(f: &mut Frame, app: &App, r: Rect) {
    let t = &app.theme;
    // what must stay: the step and the exercise's state; the lesson's title gets the rest
    let mut tail = Vec::new();
    if !app.lesson.steps.is_empty() {
        tail.push(Span::styled(
            format!("│ step {}/{} ", app.step + 1, app.lesson.steps.len()),
            t.bar(),
        ));
    }
    if let Some(ex) = app.current_exercise() {
        // the last check run here, as the check panel shows it; before any, the progress
        // file's word (passed once, in this session or an earlier one)
        let (mark, style) = match &app.check {
            CheckView::Done(r) if r.passed => ("✓", t.bar_key()),
            CheckView::Done(r) if r.not_possible.is_some() => ("n/a", t.bar()),
            CheckView::Done(_) | CheckView::Error(_) => ("✗", t.bar_key()),
            CheckView::Running => ("…", t.bar()),
            CheckView::NotRun if app.exercise_passed() => ("✓", t.bar_key()),
            CheckView::NotRun => ("·", t.bar()),
        };
        tail.push(Span::styled(format!("│ {} {mark} ", ex.id), style));
    }
    let mut right = Vec::new();
    if app.traffic.is_some() {
        right.push(Span::styled(" traffic on ", t.bar_key()));
    }
    right.push(if app.privileged {
        Span::styled(" root ", t.bar())
    } else {
        Span::styled(" NOT ROOT ", t.bar_key())
    });
    let name = " eclat-lab ";
    let used: usize = name.width()
        + tail.iter().map(|s| s.content.width()).sum::<usize>()
        + right.iter().map(|s| s.content.width()).sum::<usize>();
    let room = (r.width as usize).saturating_sub(used);
    let title = format!("│ Lesson {}: {} ", app.lesson.number, app.lesson.title);
    let title = if title.width() <= room {
        title
    } else if room > 12 {
        format!("{} ", fit(&title, room - 1).trim_end())
    } else {
        format!("│ Lesson {} ", app.lesson.number)
    };
    let mut left = vec![
        Span::styled(name, t.bar_key()),
        Span::styled(title, t.bar()),
    ];
    left.extend(tail);
    bar(f, app, r, left, right);
}

/// A full-width bar with spans on the left and on the right.
fn bar(f: &mut Frame, app: &App, r: Rect, left: Vec<Span<'static>>, right: Vec<Span<'static>>) {
    let lw: usize = left.iter().map(|s| s.content.width()).sum();
    let rw: usize = right.iter().map(|s| s.content.width()).sum();
    let mut spans = left;
    let w = r.width as usize;
    if lw + rw <= w {
        spans.push(Span::styled(" ".repeat(w - lw - rw), app.theme.bar()));
        spans.extend(right);
    } else {
        spans.push(Span::styled(
            " ".repeat(w.saturating_sub(lw)),
            app.theme.bar(),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(app.theme.bar()), r);
}

fn draw_step(f: &mut Frame, app: &App, r: Rect, regions: &Regions) {
    let t = &app.theme;
    let Some(s) = app.lesson.steps.get(app.step) else {
        return;
    };
    let n = (app.step + 1, app.lesson.steps.len());
    // a title too long for the border opens the box's text instead (`step_lines`)
    let title = if step_title_fits(app, inner_width(r)) {
        Line::from(vec![
            Span::styled(format!(" Step {}/{}: ", n.0, n.1), t.accent()),
            Span::styled(format!("{} ", s.title), t.strong()),
        ])
    } else {
        Line::from(Span::styled(format!(" Step {}/{} ", n.0, n.1), t.accent()))
    };
    // stacked (a narrow screen), the topology is not beside the text: the step says where it
    // is, and how to get the text back from it (Shift-Tab: the pane before it is the lesson)
    let mut keys = Vec::new();
    if regions.stacked {
        let (key, what) = if regions.topo.is_some() {
            ("Shift-Tab", " text  ")
        } else if regions.trace.is_some() && regions.text.is_none() {
            ("Tab", " text  ")
        } else {
            ("Tab", " topology  ")
        };
        keys.push(Span::styled(format!(" {key}"), t.key()));
        keys.push(Span::styled(what, t.dim()));
    }
    keys.extend([
        Span::styled(if keys.is_empty() { " n" } else { "n" }, t.key()),
        Span::styled(" next  ", t.dim()),
        Span::styled("p", t.key()),
        Span::styled(" previous ", t.dim()),
    ]);
    let b = bordered(app, title, Focus::Lesson).title_bottom(Line::from(keys).right_aligned());
    let inner = b.inner(r);
    f.render_widget(b, r);
    let mut lines = step_lines(app, inner.width);
    let room = inner.height as usize;
    if lines.len() > room {
        // short of room: the command `r` runs matters more than the end of the text
        let run_lines = app.lesson.steps[app.step].run.as_ref().map_or(0, |run| {
            markdown::wrap(
                &[(run.clone(), Style::new())],
                inner.width as usize,
                Span::raw("r runs "),
                "       ",
            )
            .len()
        });
        let keep_text = room.saturating_sub(run_lines);
        let run = lines.split_off(lines.len() - run_lines);
        lines.truncate(keep_text);
        if let Some(last) = lines.last_mut() {
            last.spans.push(Span::styled(" …", t.dim()));
        }
        lines.extend(run);
        lines.truncate(room);
    }
    f.render_widget(Paragraph::new(lines), inner);
}

fn draw_text(f: &mut Frame, app: &App, r: Rect) {
    let t = &app.theme;
    let w = inner_width(r);
    let fresh;
    let lines: &[Line<'static>] = match &app.text_cache {
        Some((cw, l)) if *cw == w => l,
        _ => {
            fresh = markdown::render(&app.blocks, w, t);
            &fresh
        }
    };
    let h = r.height.saturating_sub(2) as usize;
    let max = lines.len().saturating_sub(h);
    let top = app.text_scroll.min(max);
    let pct = match (top * 100).checked_div(max) {
        None => "all".to_string(),
        Some(p) => format!("{p}%"),
    };
    let b = bordered(
        app,
        Line::from(vec![
            Span::styled(format!(" Lesson {} ", app.lesson.number), t.accent()),
            Span::styled("text ", t.strong()),
        ]),
        Focus::Lesson,
    )
    .title_bottom(Line::from(format!(" PgUp/PgDn {pct} ")).right_aligned());
    let inner = b.inner(r);
    f.render_widget(b, r);
    let visible: Vec<Line> = lines.iter().skip(top).take(h).cloned().collect();
    f.render_widget(Paragraph::new(visible), inner);
}

const SPARK: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last `w` values as bars scaled to the largest.
/// The last `w` rates as a sparkline `w` wide: before the first sample, nothing was counted
/// (a new row's line starts full of zeros, and a quiet row's line stays the same).
pub fn sparkline(h: &std::collections::VecDeque<f64>, w: usize) -> String {
    let mut vals: Vec<f64> = vec![0.0; w.saturating_sub(h.len())];
    vals.extend(h.iter().rev().take(w).rev().copied());
    let max = vals.iter().copied().fold(0.0f64, f64::max);
    vals.iter()
        .map(|v| {
            if max <= 0.0 {
                SPARK[0]
            } else {
                SPARK[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize]
            }
        })
        .collect()
}

fn rate_text(r: Option<f64>) -> String {
    r.map(|r| crate::render::rate(r, "")).unwrap_or_default()
}

fn draw_maps(f: &mut Frame, app: &App, r: Rect) {
    let t = &app.theme;
    let compact = maps_compact(app, r);
    let inner = Block::new().borders(Borders::ALL).inner(r);
    let w = inner.width as usize;
    // each line with the panel it shows (a head's first line starts a panel)
    let mut lines: Vec<(usize, bool, Line<'static>)> = Vec::new();
    if app.panels.is_empty() {
        lines.push((
            0,
            false,
            Line::styled(
                "this lesson shows no maps; `map watch NAME` adds one",
                t.dim(),
            ),
        ));
    }
    // each panel's rows: where they are in `lines`
    let mut row_spans = Vec::new();
    for pi in panel_order(app, compact) {
        let p = &app.panels[pi];
        for (i, l) in panel_head(app, p, inner.width, compact)
            .into_iter()
            .enumerate()
        {
            lines.push((pi, i == 0, l));
        }
        let start = lines.len();
        for l in panel_row_lines(app, p, w, false) {
            lines.push((pi, false, l));
        }
        row_spans.push((pi, start, lines.len()));
    }
    // what does not fit is scrolled to (PgDn while focused) or zoomed (z), and said on the
    // bottom border: how many maps and rows are below, how many lines above
    let h = inner.height as usize;
    let top = app.maps_scroll.min(lines.len().saturating_sub(h));
    // a panel whose last rows are below the pane's last line shows the rows that count
    // first; a panel shown whole keeps its order (`counted_first`)
    for (pi, start, end) in row_spans {
        if start < top + h && end > top + h {
            let cut = panel_row_lines(app, &app.panels[pi], w, true);
            for (slot, l) in lines[start..end].iter_mut().zip(cut) {
                slot.2 = l;
            }
        }
    }
    let below = lines.get(top + h..).unwrap_or(&[]);
    let more_maps = below.iter().filter(|(_, first, _)| *first).count();
    // rows of a panel whose head is on screen (the others count as maps)
    let more_rows = below
        .iter()
        .filter(|(pi, first, _)| !first && !below.iter().any(|(p, f, _)| p == pi && *f))
        .count();
    let focused = pane(app) == Focus::Maps && app.focus != Focus::Command;
    // z zooms the focused pane: an unfocused one says Tab first (it said `z zooms`, and z
    // zoomed the lesson text)
    let keys = match (focused, app.zoom) {
        (true, true) => "PgDn",
        (true, false) => "PgDn, z zooms",
        (false, true) => "Tab, PgDn",
        (false, false) => "Tab, z zooms",
    };
    let mut title = vec![Span::raw(" Maps (live, 10 Hz) ")];
    if top > 0 {
        title.push(Span::styled(format!("↑{top} "), t.warn()));
    }
    let mut b = bordered(app, Line::from(title), Focus::Maps);
    if let Some(note) = hidden_note(
        &[(more_maps, "map", "maps"), (more_rows, "row", "rows")],
        keys,
        r.width,
    ) {
        b = b.title_bottom(Line::styled(note, t.warn()).right_aligned());
    }
    f.render_widget(b, r);
    let visible: Vec<Line> = lines.into_iter().skip(top).take(h).map(|x| x.2).collect();
    f.render_widget(Paragraph::new(visible), inner);
}

/// A panel's rows in the order to show when the pane cuts it: the keys the lesson names
/// first, and of an array's keys those that counted something before its zeros (hvm_stats
/// names 6 reasons: at 80x24 the one that moves must not be below the panel's last line).
/// A panel shown whole keeps the sample's order, so that a row does not jump when it starts
/// counting (lesson 5's "tx port 0" jumped to second place while the learner watched).
fn counted_first<'a>(rows: &'a [MapRow], map_type: &str) -> Vec<&'a MapRow> {
    let array = map_type.contains("array");
    let mut out: Vec<&MapRow> = rows.iter().collect();
    out.sort_by_key(|r| (r.label.is_none(), array && r.num == Some(0)));
    out
}

/// A map panel's rows, `w` cells wide: label, value, rate, sparkline; `cut`: the pane does
/// not show them all ([`counted_first`]).
fn panel_row_lines(
    app: &App,
    p: &crate::tui::state::Panel,
    w: usize,
    cut: bool,
) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut lines = Vec::new();
    match &p.state {
        PanelState::NotLoaded if !app.privileged => {
            lines.push(Line::styled("  needs root", t.dim()))
        }
        PanelState::NotLoaded => lines.push(Line::styled("  not loaded yet", t.dim())),
        PanelState::Error(e) => lines.push(Line::styled(format!("  {e}"), t.error())),
        PanelState::Loaded { rows, map_type, .. } => {
            let rows = if cut {
                counted_first(rows, map_type)
            } else {
                rows.iter().collect()
            };
            if rows.is_empty() {
                lines.push(Line::styled("  (empty)", t.dim()));
            }
            let vw = rows
                .iter()
                .map(|r| r.value.width())
                .max()
                .unwrap_or(0)
                .max(6);
            // labels whole where the panel has the room: the sparkline goes first (it
            // takes what is left), then the rate column; only a label longer than the
            // panel itself is cut (at 80x24 the map column is 34 wide: "empty program
            // slot" and its value fit without their rate)
            let want = rows
                .iter()
                .map(|r| r.label.as_ref().map_or(r.key.width() + 4, |l| l.width()))
                .max()
                .unwrap_or(0);
            let fixed = 2 + 1 + vw;
            let rate_w = 1 + 8 + 1;
            // a setting's changes have no rate (a verdict set from 1 to 2 is not "1.0/s")
            let show_rate = !p.spec.setting && w >= fixed + want + rate_w;
            let lw = if show_rate {
                want
            } else {
                want.min(w.saturating_sub(fixed).max(8))
            };
            for row in rows {
                let label = row
                    .label
                    .clone()
                    .unwrap_or_else(|| format!("key {}", row.key));
                let rate = rate_text(row.rate);
                let used = fixed + lw + if show_rate { rate_w } else { 0 };
                let spark = if show_rate && row.num.is_some() && w > used {
                    sparkline(&row.history, w - used)
                } else {
                    String::new()
                };
                let rate = if show_rate {
                    format!(" {rate:>8} ")
                } else {
                    String::new()
                };
                lines.push(Line::from(vec![
                    Span::raw("  "),
                    Span::raw(fit(&label, lw)),
                    Span::raw(" "),
                    Span::styled(format!("{:>vw$}", row.value), t.value()),
                    Span::styled(rate, t.plain()),
                    Span::styled(spark, t.spark()),
                ]));
            }
        }
    }
    lines
}

fn log_style(app: &App, k: LogKind) -> (Style, &'static str) {
    let t = &app.theme;
    match k {
        LogKind::Command => (t.accent(), ""),
        LogKind::Output => (t.plain(), "  "),
        LogKind::Error => (t.error(), "✗ "),
        LogKind::Warn => (t.warn(), "! "),
        LogKind::Info => (t.dim(), "· "),
    }
}

fn draw_log(f: &mut Frame, app: &App, r: Rect) {
    let mut title = vec![Span::styled(" Event log ", app.theme.accent())];
    if app.log_scroll > 0 {
        title.push(Span::styled(
            format!("(scrolled up {}, End follows) ", app.log_scroll),
            app.theme.dim(),
        ));
    }
    let b = bordered(app, Line::from(title), Focus::Log);
    let inner = b.inner(r);
    f.render_widget(b, r);
    let h = inner.height as usize;
    let w = inner.width as usize;
    // wrap from the newest entry backwards until the pane (plus the scroll) is full
    let mut lines: Vec<Line> = Vec::new();
    for l in app.log.iter().rev() {
        let (st, mark) = log_style(app, l.kind);
        // the mark (✗, !, ·) on a message's first line only: the lines under it are its own
        let first = if l.cont {
            Span::styled(" ".repeat(mark.width()), st)
        } else {
            Span::styled(mark, st)
        };
        // command output, and every line under a message's first, keep their spacing (the
        // columns of a table, the marks under a diagnostic's source line point at a column);
        // a one-line message wraps as prose
        let wrapped = if l.kind == LogKind::Output || l.cont || l.text.starts_with(' ') {
            let indent = l.text.width() - l.text.trim_start().width();
            let rest = " ".repeat((mark.width() + indent + 2).min(w / 2));
            markdown::wrap_verbatim(&l.text, st, w, first, &rest)
        } else {
            markdown::wrap(&[(l.text.clone(), st)], w, first, "    ")
        };
        for x in wrapped.into_iter().rev() {
            lines.push(x);
        }
        if lines.len() >= h + app.log_scroll {
            break;
        }
    }
    let skip = app.log_scroll.min(lines.len().saturating_sub(h));
    let mut visible: Vec<Line> = lines.into_iter().skip(skip).take(h).collect();
    visible.reverse();
    f.render_widget(Paragraph::new(visible), inner);
}

fn draw_cmd(f: &mut Frame, app: &App, r: Rect) {
    let t = &app.theme;
    if app.focus == Focus::Command {
        let prompt = "› ";
        // keep the cursor visible on long lines
        let before = app.cmd.input[..app.cmd.cursor].width();
        let room = (r.width as usize).saturating_sub(prompt.width() + 1);
        let skip = before.saturating_sub(room);
        let shown: String = app.cmd.input.chars().skip(skip).collect();
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(prompt, t.key()),
                Span::raw(shown),
            ])),
            r,
        );
        f.set_cursor_position(Position::new(
            r.x + (prompt.width() + before - skip) as u16,
            r.y,
        ));
    } else {
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(":", t.key()),
                Span::styled(
                    " type a command, as in `eclat-lab shell` (TAB completes, ↑ history)",
                    t.dim(),
                ),
            ])),
            r,
        );
    }
}

fn draw_status(f: &mut Frame, app: &App, r: Rect) {
    let t = &app.theme;
    let mut left: Vec<Span<'static>> = Vec::new();
    if app.focus == Focus::Command && !app.cmd.candidates.is_empty() {
        left.push(Span::styled(
            format!(" {} ", app.cmd.candidates.join("  ")),
            t.bar(),
        ));
        bar(f, app, r, left, vec![]);
        return;
    }
    if let Some(j) = app.jobs.iter().find(|j| !j.background) {
        let secs = app.now.saturating_duration_since(j.started).as_secs_f64();
        left.push(Span::styled(
            format!(" ⟳ {} {secs:.0}s · Ctrl-C stops ", j.label),
            t.bar_key(),
        ));
        // what waits for it, here and not in the log (where it would split the running
        // job's output)
        if let Some(next) = app.queue.front() {
            left.push(Span::styled(
                format!(
                    " then: {}{} ",
                    next.label(),
                    match app.queue.len() {
                        1 => String::new(),
                        n => format!(" and {} more", n - 1),
                    }
                ),
                t.bar(),
            ));
        }
    } else if !app.privileged {
        left.push(Span::styled(
            " not root: lab commands need `sudo eclat-lab` ",
            t.bar_key(),
        ));
    }
    let hints: Vec<(&str, &str)> = if app.focus == Focus::Command {
        vec![
            ("Enter", "run"),
            ("Tab", "complete"),
            ("↑↓", "history"),
            ("Esc", "leave"),
        ]
    } else {
        let mut v = vec![("n/p", "step"), ("r", "run")];
        if app.current_exercise().is_some() {
            v.extend([("c", "check"), ("e", "edit"), ("h", "hint")]);
        }
        v.extend([
            ("l", "lessons"),
            ("?", "help"),
            ("q", "quit"),
            ("t", "traffic"),
            (":", "command"),
            ("z", "zoom"),
        ]);
        v
    };
    let used: usize = left.iter().map(|s| s.content.width()).sum();
    let mut right = Vec::new();
    let mut rw = 0;
    for (k, what) in &hints {
        let n = k.width() + what.width() + 2;
        if used + rw + n > r.width as usize {
            break;
        }
        rw += n;
        right.push(Span::styled(format!(" {k}"), t.bar_key()));
        right.push(Span::styled(format!(" {what}"), t.bar()));
    }
    bar(f, app, r, left, right);
}

pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

pub const HELP: &[(&str, &str)] = &[
    ("n / p", "next / previous step"),
    ("r, Enter", "run the step's command"),
    ("c", "check the exercise (PASS/FAIL, expected vs seen)"),
    ("e", "edit the exercise file in $EDITOR (saving re-checks)"),
    (
        "h",
        "the next hint (a nudge, the concept, nearly the answer)",
    ),
    ("x", "reset the exercise file to the starter (asks first)"),
    ("s", "the reference solution, once the check passed"),
    ("v", "check and verifier panels / lesson text"),
    ("l", "the lessons and your progress"),
    ("t", "start / stop background traffic (a slow ping)"),
    (": or /", "command line: the shell's commands"),
    ("  Tab ↑ ↓", "complete, history (on the command line)"),
    ("  Esc", "leave the command line (drops what was typed)"),
    ("Ctrl-C, Esc", "stop the running command (or check)"),
    ("Tab", "focus the next pane"),
    ("z / Esc", "zoom the focused pane / unzoom"),
    ("PgUp PgDn ↑ ↓", "scroll the focused pane"),
    ("?", "this help"),
    ("q", "quit (removes what this session created)"),
];

fn draw_help(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let r = centered(area, 72, HELP.len() as u16 + 4);
    f.render_widget(Clear, r);
    let b = Block::bordered()
        .border_style(app.theme.border(true))
        .title(Line::styled(" Keys ", t.accent()))
        .title_bottom(Line::from(" any key closes ").right_aligned());
    let inner = b.inner(r);
    f.render_widget(b, r);
    let mut lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!(" {k:<14}"), t.key()),
                Span::raw(what.to_string()),
            ])
        })
        .collect();
    lines.push(Line::styled(
        " `help` on the command line lists the commands",
        t.dim(),
    ));
    f.render_widget(Paragraph::new(lines), inner);
}

fn draw_confirm(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let w = area.width.saturating_sub(4).min(64);
    let iw = w.saturating_sub(3) as usize;
    let running: Vec<String> = app.jobs.iter().map(|j| j.label.clone()).collect();
    let mut lines = Vec::new();
    if !running.is_empty() {
        lines.extend(markdown::wrap(
            &[(format!("Still running: {}", running.join(", ")), t.plain())],
            iw,
            Span::raw(" "),
            " ",
        ));
    }
    if app.privileged {
        lines.extend(markdown::wrap(
            &[(
                "Quitting removes what this session made in the kernel: its topology, the \
                 programs and scripts it loaded (your files and progress stay)."
                    .to_string(),
                t.plain(),
            )],
            iw,
            Span::raw(" "),
            " ",
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled(" y", t.key()),
        Span::raw(if running.is_empty() {
            " quit    "
        } else {
            " stop it and quit    "
        }),
        Span::styled("any other key", t.key()),
        Span::raw(" stay"),
    ]));
    let r = centered(area, w, lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    let b = Block::bordered()
        .border_style(t.border(true))
        .title(Line::styled(" Quit? ", t.warn()));
    let inner = b.inner(r);
    f.render_widget(b, r);
    f.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use eclat_course::lessons;
    use eclat_service::maps::Sample;

    use crate::tui::fake;
    use crate::tui::state::CheckDone;
    use crate::tui::theme::Theme;
    use crate::tui::update::{Event, update};

    /// Lesson 1 at step 4 with the lab up, the counter attached, 100 packets counted
    /// at a steady 50/s, and a few commands in the log.
    fn scene(w: u16, h: u16) -> App {
        let t0 = Instant::now();
        let mut app = App::new(
            lessons::find("1").unwrap(),
            true,
            Theme { color: false },
            (w, h),
            t0,
        );
        update(&mut app, Event::Topo(Ok(fake::status(true))));
        for _ in 0..3 {
            update(
                &mut app,
                Event::Key(crossterm::event::KeyEvent::from(
                    crossterm::event::KeyCode::Char('n'),
                )),
            );
        }
        for line in ["topo up", "xdp attach xdp_counter sut enp6s0f0"] {
            app.push(LogKind::Command, format!("$ {line}"));
        }
        app.push(
            LogKind::Output,
            "loaded xdp_counter (verified in 3.1 ms); maps: pkt_count, verdict\nattached xdp_counter to sut:enp6s0f0 (driver mode)",
        );
        for i in 0..=20u64 {
            let at = t0 + Duration::from_millis(100 * i);
            update(
                &mut app,
                Event::Maps(vec![
                    Sample {
                        name: "pkt_count".into(),
                        at,
                        result: Ok(Some(fake::dump("pkt_count", i * 5))),
                    },
                    Sample {
                        name: "verdict".into(),
                        at,
                        result: Ok(Some(fake::dump("verdict", 2))),
                    },
                ]),
            );
        }
        app
    }

    fn render(app: &App) -> String {
        let mut term = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
        term.draw(|f| draw(f, app)).unwrap();
        let buf = term.backend().buffer().clone();
        let mut s = String::new();
        for y in 0..buf.area.height {
            let mut line = String::new();
            for x in 0..buf.area.width {
                line.push_str(buf[(x, y)].symbol());
            }
            s.push_str(line.trim_end());
            s.push('\n');
        }
        s
    }

    #[test]
    fn main_screen_80x24() {
        let app = scene(80, 24);
        insta::assert_snapshot!(render(&app));
    }

    #[test]
    fn main_screen_120x40() {
        let app = scene(120, 40);
        insta::assert_snapshot!(render(&app));
    }

    #[test]
    fn main_screen_without_root_and_topology() {
        let app = App::new(
            lessons::find("1").unwrap(),
            false,
            Theme { color: false },
            (80, 24),
            Instant::now(),
        );
        let s = render(&app);
        assert!(s.contains("NOT ROOT"), "{s}");
        assert!(s.contains("needs root"), "{s}");
        assert!(s.contains("sudo eclat-lab"), "{s}");
        insta::assert_snapshot!(s);
    }

    #[test]
    fn help_overlay_and_command_line() {
        let mut app = scene(80, 24);
        update(
            &mut app,
            Event::Key(crossterm::event::KeyEvent::from(
                crossterm::event::KeyCode::Char('?'),
            )),
        );
        let s = render(&app);
        assert!(s.contains("start / stop background traffic"), "{s}");
        update(
            &mut app,
            Event::Key(crossterm::event::KeyEvent::from(
                crossterm::event::KeyCode::Esc,
            )),
        );
        assert!(!app.help);
        update(
            &mut app,
            Event::Key(crossterm::event::KeyEvent::from(
                crossterm::event::KeyCode::Char(':'),
            )),
        );
        for c in "map set verdict 0 DROP".chars() {
            update(
                &mut app,
                Event::Key(crossterm::event::KeyEvent::from(
                    crossterm::event::KeyCode::Char(c),
                )),
            );
        }
        let s = render(&app);
        assert!(s.contains("› map set verdict 0 DROP"), "{s}");
        assert!(s.contains("Enter run"), "{s}");
    }

    #[test]
    fn command_output_in_the_log_keeps_its_columns() {
        let mut app = scene(120, 40);
        app.push(
            LogKind::Output,
            "   4: *(u64 *)(r6 + 16) = 500       chain r2 = 500\n   5: goto <7>                        straight on to pc 7",
        );
        let s = render(&app);
        assert!(
            s.contains("4: *(u64 *)(r6 + 16) = 500       chain r2 = 500"),
            "{s}"
        );
        assert!(
            s.contains("5: goto <7>                        straight on to pc 7"),
            "{s}"
        );
    }

    /// The topology status with nothing up.
    fn nothing_up() -> Event {
        Event::Topo(Ok(eclat_kernel::topo::Status {
            topology: None,
            nodes: vec![],
            complete: false,
        }))
    }

    #[test]
    fn topology_down_and_zoomed_log() {
        let mut app = scene(80, 24);
        update(&mut app, nothing_up());
        let key = |c| Event::Key(crossterm::event::KeyEvent::from(c));
        use crossterm::event::KeyCode;
        // stacked at 80 columns: the topology is one Tab away, and the step says so
        let s = render(&app);
        assert!(s.contains("Tab topology"), "{s}");
        update(&mut app, key(KeyCode::Tab));
        let s = render(&app);
        assert!(s.contains("no topology up"), "{s}");
        // what to do, whole at 80 columns
        assert!(s.contains(":topo up"), "{s}");
        // Tab on to the log (the maps, the log), zoom it: only the log, and the map panels
        // stop polling
        for _ in 0..2 {
            update(&mut app, key(KeyCode::Tab));
        }
        assert_eq!(app.focus, Focus::Log);
        let fx = update(&mut app, key(KeyCode::Char('z')));
        assert!(
            matches!(fx.as_slice(), [crate::tui::update::Effect::Poll(m)] if m.is_empty()),
            "{fx:?}"
        );
        update(
            &mut app,
            Event::JobDone {
                job: 99,
                result: Ok(fake::reply("")),
            },
        );
        let s = render(&app);
        assert!(s.contains("Event log"), "{s}");
        assert!(!s.contains("Maps"), "{s}");
    }

    #[test]
    fn no_color_means_no_colour() {
        for app in [failed_check(80, 24), failed_check(120, 40)] {
            let mut app = app;
            key(&mut app, crossterm::event::KeyCode::Char('h'));
            let mut term = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
            term.draw(|f| draw(f, &app)).unwrap();
            for c in term.backend().buffer().content() {
                assert_eq!(c.fg, ratatui::style::Color::Reset, "{c:?}");
                assert_eq!(c.bg, ratatui::style::Color::Reset, "{c:?}");
            }
        }
        let mut app = scene(120, 40);
        app.theme = Theme { color: false };
        let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
        term.draw(|f| draw(f, &app)).unwrap();
        let buf = term.backend().buffer();
        for c in buf.content() {
            assert_eq!(c.fg, ratatui::style::Color::Reset, "{c:?}");
            assert_eq!(c.bg, ratatui::style::Color::Reset, "{c:?}");
        }
        app.theme = Theme { color: true };
        term.draw(|f| draw(f, &app)).unwrap();
        let buf = term.backend().buffer();
        assert!(
            buf.content()
                .iter()
                .any(|c| c.fg != ratatui::style::Color::Reset)
        );
    }

    #[test]
    fn sparkline_scales_to_the_largest() {
        let h: std::collections::VecDeque<f64> = [0.0, 5.0, 10.0, 2.5].into_iter().collect();
        assert_eq!(sparkline(&h, 10), "▁▁▁▁▁▁▁▅█▃");
        assert_eq!(sparkline(&h, 2), "█▃");
        // leading zeros do not show: the line is as wide either way
        let z: std::collections::VecDeque<f64> = [0.0, 0.0, 0.0, 5.0].into_iter().collect();
        let one: std::collections::VecDeque<f64> = [5.0].into_iter().collect();
        assert_eq!(sparkline(&z, 6), sparkline(&one, 6));
    }

    fn key(app: &mut App, c: crossterm::event::KeyCode) {
        update(app, Event::Key(crossterm::event::KeyEvent::from(c)));
    }

    /// Lesson 2 after `c` on the starter: the check failed in the verifier.
    fn failed_check(w: u16, h: u16) -> App {
        let mut app = App::new(
            lessons::find("2").unwrap(),
            true,
            Theme { color: false },
            (w, h),
            Instant::now(),
        );
        update(&mut app, Event::Topo(Ok(fake::status(false))));
        key(&mut app, crossterm::event::KeyCode::Char('c'));
        let done = fake::failed_check(&app.lesson);
        let report = done.report.clone();
        update(&mut app, Event::Checked(Box::new(done)));
        update(
            &mut app,
            Event::JobDone {
                job: 1,
                result: Ok(Box::new(crate::commands::Reply::LessonCheck(report.into()))),
            },
        );
        app
    }

    #[test]
    fn failed_check_with_the_verifier_panel_80x24() {
        let app = failed_check(80, 24);
        let s = render(&app);
        assert!(s.contains("Verifier"), "{s}");
        assert!(s.contains("out-of-bounds packet access"), "{s}");
        assert!(s.contains("▶29 │"), "the failing line, marked: {s}");
        insta::assert_snapshot!(s);
    }

    #[test]
    fn failed_check_with_the_verifier_panel_zoomed_80x24() {
        let mut app = failed_check(80, 24);
        key(&mut app, crossterm::event::KeyCode::Char('z'));
        let s = render(&app);
        assert!(
            s.contains("the kernel said: invalid access to packet"),
            "{s}"
        );
        assert!(s.contains("what to do:"), "{s}");
        insta::assert_snapshot!(s);
    }

    #[test]
    fn failed_check_with_the_verifier_panel_120x40() {
        let app = failed_check(120, 40);
        let s = render(&app);
        assert!(s.contains("expected every program accepted"), "{s}");
        assert!(s.contains("hint 2 applies"), "{s}");
        assert!(s.contains("what to do:"), "{s}");
        insta::assert_snapshot!(s);
    }

    /// Lesson `lesson` after `c`, the check's report `done`.
    fn checked(lesson: &str, (w, h): (u16, u16), done: fn(&lessons::Lesson) -> CheckDone) -> App {
        let mut app = App::new(
            lessons::find(lesson).unwrap(),
            true,
            Theme { color: false },
            (w, h),
            Instant::now(),
        );
        update(&mut app, Event::Topo(Ok(fake::status(false))));
        key(&mut app, crossterm::event::KeyCode::Char('c'));
        let done = done(&app.lesson);
        let report = done.report.clone();
        update(&mut app, Event::Checked(Box::new(done)));
        update(
            &mut app,
            Event::JobDone {
                job: 1,
                result: Ok(Box::new(crate::commands::Reply::LessonCheck(report.into()))),
            },
        );
        app
    }

    /// The screen's rows, and the column (in cells) where `needle` starts on the first row
    /// that holds it below row `from`.
    fn cell_of(s: &str, from: usize, needle: &str) -> Option<(usize, usize)> {
        s.lines().enumerate().skip(from).find_map(|(y, l)| {
            let at = l.find(needle)?;
            Some((y, l[..at].width()))
        })
    }

    /// `compile`'s diagnostic whole in the check panel: the place (file:line:col), the source
    /// line, the mark under the misspelt call, the help (the check said only `line 22: ...`).
    #[test]
    fn a_compile_error_in_the_check_panel_160x45() {
        let app = checked("7", (160, 45), fake::failed_compile);
        let s = render(&app);
        assert!(s.contains("expected no compile error, seen:"), "{s}");
        assert!(s.contains("ports.eclat:22:5 ]"), "{s}");
        assert!(s.contains("22 │     hike_dorp()"), "{s}");
        assert!(s.contains("Help: did you mean `hike_drop`?"), "{s}");
        // the underline starts under the call's first letter
        let (y, x) = cell_of(&s, 0, "22 │     hike_dorp()").unwrap();
        let (_, under) = cell_of(&s, y + 1, "────┬────").unwrap();
        assert_eq!(under, x + "22 │     ".width(), "{s}");
        insta::assert_snapshot!(s);
    }

    /// At 80x24 the check panel takes the whole width and the room the text had (stacked):
    /// the place, the source line, the mark under the call and the help, nothing cut (beside
    /// the lab's column it was 42 wide, the mark and the help behind z). Where it must cut
    /// (80x20), it says on its border what it cuts and that z shows it.
    #[test]
    fn a_compile_error_in_the_check_panel_80x24() {
        let app = checked("7", (80, 24), fake::failed_compile);
        assert_eq!(app.focus, Focus::Lesson, "z zooms the check panel");
        assert_eq!(app.regions().check.map(|c| c.width), Some(80));
        let s = render(&app);
        assert!(s.contains("ports.eclat:22:5 ]"), "{s}");
        assert!(s.contains("22 │     hike_dorp()"), "{s}");
        let (y, x) = cell_of(&s, 0, "22 │     hike_dorp()").unwrap();
        let (_, under) = cell_of(&s, y + 1, "────┬────").unwrap();
        assert_eq!(under, x + "22 │     ".width(), "{s}");
        assert!(s.contains("cannot call this"), "{s}");
        assert!(s.contains("Help: did you mean `hike_drop`?"), "{s}");
        assert!(!s.contains("more line"), "nothing cut: {s}");
        insta::assert_snapshot!(s);
        let s = render(&checked("7", (80, 20), fake::failed_compile));
        assert!(s.contains("more lines: z zooms ┐"), "{s}");
    }

    #[test]
    fn a_compile_error_in_the_check_panel_zoomed_80x24() {
        let mut app = checked("7", (80, 24), fake::failed_compile);
        key(&mut app, crossterm::event::KeyCode::Char('z'));
        let s = render(&app);
        assert!(s.contains("ports.eclat:22:5 ]"), "{s}");
        assert!(s.contains("cannot call this"), "{s}");
        assert!(s.contains("Help: did you mean `hike_drop`?"), "{s}");
        assert!(!s.contains("more line"), "zoomed, nothing is cut: {s}");
        insta::assert_snapshot!(s);
    }

    /// clang's errors line by line (they were one wrapped paragraph), each caret under the
    /// column it points at, as the check's run renders its diagnostics (the path relative to
    /// the learner's folder).
    #[test]
    fn a_clang_error_in_the_check_panel_160x45() {
        let app = checked("1", (160, 45), fake::failed_clang);
        let s = render(&app);
        assert!(
            s.contains("ipv6_counter.bpf.c:33:3: error: invalid operands"),
            "{s}"
        );
        let (y, x) = cell_of(&s, 0, "33 |                 * ctx)").unwrap();
        let (_, caret) = cell_of(&s, y + 1, "^ ~~~").unwrap();
        assert_eq!(caret, x + "33 |                 ".width(), "{s}");
        // clang's summary is left out: the diagnostics say it
        assert!(!s.contains("error generated"), "{s}");
        insta::assert_snapshot!(s);
    }

    /// At 80x24 a source line wider than the panel is cut, not wrapped: a mark wrapped onto
    /// the next row would point at another column.
    #[test]
    fn a_clang_error_in_the_check_panel_80x24() {
        let app = checked("1", (80, 24), fake::failed_clang);
        let s = render(&app);
        let (y, x) = cell_of(&s, 0, "33 |                 * ctx)").unwrap();
        let (_, caret) = cell_of(&s, y + 1, "^ ~~~").unwrap();
        assert_eq!(caret, x + "33 |                 ".width(), "{s}");
        assert!(
            !s.lines().any(|l| l.trim_matches(['│', ' ']) == "~~~"),
            "{s}"
        );
        insta::assert_snapshot!(s);
    }

    /// `compile` on a script with a missing colon, in the event log: the lines under the
    /// error keep their spacing (the mark under column 12, not at the margin), and only the
    /// first line has the ✗.
    #[test]
    fn a_diagnostic_in_the_log_keeps_its_columns() {
        let mut app = App::new(
            lessons::find("7").unwrap(),
            true,
            Theme { color: false },
            (80, 24),
            Instant::now(),
        );
        update(&mut app, Event::Topo(Ok(fake::status(false))));
        let file = "/home/learner/eclat-lab/07-first-eclat-script/ports.eclat";
        let text = lessons::exercise_file(&app.lesson, "solution", "ports.eclat")
            .unwrap()
            .replace("def block():", "def block()");
        let c = eclat::compile(&text, file, &hike::catalog::Catalog::reference(), &[]);
        let failed = eclat_service::scripts::CompileFailed {
            file: file.into(),
            diagnostics: c.report(&text, file).diagnostics,
            rendered: c.render(&text, file, false).trim_end().to_string(),
        };
        let mut fx = Vec::new();
        app.submit(&format!("compile {file}"), &mut fx);
        let job = app.jobs.last().expect("the compile job").id;
        update(
            &mut app,
            Event::JobDone {
                job,
                result: Err(crate::tui::update::JobError {
                    text: crate::render::error(&anyhow::Error::from(failed)),
                    rejected: None,
                    stopped: false,
                    finishing: false,
                }),
            },
        );
        // the log alone, zoomed
        app.focus = Focus::Log;
        key(&mut app, crossterm::event::KeyCode::Char('z'));
        let s = render(&app);
        let (y, x) = cell_of(&s, 0, "20 │ def block()").unwrap();
        let (_, mark) = cell_of(&s, y + 1, "┬").unwrap();
        assert_eq!(mark, x + "20 │ def block()".width(), "under column 12: {s}");
        assert!(s.contains("╰── expected `:`"), "{s}");
        assert_eq!(
            s.matches('✗').count(),
            1,
            "one mark, on the first line: {s}"
        );
        insta::assert_snapshot!(s);
    }

    #[test]
    fn hint_overlay() {
        let mut app = failed_check(80, 24);
        key(&mut app, crossterm::event::KeyCode::Char('h'));
        key(&mut app, crossterm::event::KeyCode::Char('h'));
        let s = render(&app);
        assert!(
            s.contains("Hints: Make the verifier accept parse_eth"),
            "{s}"
        );
        assert!(
            s.contains("1/3") && s.contains("2/3") && !s.contains("3/3"),
            "{s}"
        );
        assert!(s.contains("h next hint"), "{s}");
        insta::assert_snapshot!(s);
    }

    #[test]
    fn lesson_list_with_progress() {
        let mut app = scene(80, 24);
        // a fixed list (lessons are being written: the real list grows)
        let extra = lessons::parse(
            "07-first-eclat-script",
            r#"
id = "07-first-eclat-script"
number = 7
title = "A first eCLAT script"
[[step]]
title = "one"
text = "one"
[[step]]
title = "two"
text = "two"
[[exercise]]
id = "ports"
title = "ports"
file = "ports.eclat"
[[exercise]]
id = "to-collector"
title = "to the collector"
file = "collector.eclat"
"#,
            "",
        )
        .unwrap();
        app.all = vec![
            lessons::find("1").unwrap(),
            lessons::find("2").unwrap(),
            extra,
        ];
        let mut p = eclat_course::Progress::default();
        p.lesson("01-hello-xdp").step = 3;
        for e in ["fix-verifier", "ext-headers"] {
            p.lesson("02-architecture-and-toolchain")
                .passed
                .insert(e.into());
        }
        p.lesson("02-architecture-and-toolchain").step = 2;
        p.lesson("07-first-eclat-script")
            .passed
            .insert("ports".into());
        app.progress = p;
        key(&mut app, crossterm::event::KeyCode::Char('l'));
        key(&mut app, crossterm::event::KeyCode::Down);
        let s = render(&app);
        assert!(s.contains("Lessons"), "{s}");
        assert!(s.contains("✓ 2/2"), "{s}");
        assert!(s.contains("1/2"), "{s}");
        insta::assert_snapshot!(s);
    }

    #[test]
    fn chain_trace_timeline_next_to_the_counters() {
        let mut l = lessons::find("1").unwrap();
        l.steps[0].run = Some("load x.eclat".into());
        let mut app = App::new(l, true, Theme { color: false }, (120, 40), Instant::now());
        update(&mut app, Event::Topo(Ok(fake::status(true))));
        for line in [
            "chain count_and_pass (0x40000001) enter (r2=0 r3=0)",
            "  call monitor[3] (r2=0 r3=0 r4=0) at pc 2",
            "  monitor[3] returned r0=0",
            "  call hike_pass[4] (r2=0 r3=0 r4=0) at pc 5",
        ] {
            update(&mut app, Event::Trace(fake::trace(line)));
        }
        let s = render(&app);
        assert!(s.contains("Chain trace 1 packets"), "{s}");
        assert!(s.contains("→ call monitor[3]"), "{s}");
        assert!(s.contains("Maps"), "next to the counters: {s}");
    }

    /// A lesson with the lab up, moved with `n` to the first step whose command `pick`s.
    /// The app on lesson `l` at `size`, root, no colour, its topology up.
    fn lab_up(l: lessons::Lesson, size: (u16, u16), t0: Instant) -> App {
        let mut app = App::new(l, true, Theme { color: false }, size, t0);
        update(&mut app, Event::Topo(Ok(fake::status(true))));
        app
    }

    fn at_step(t0: Instant, size: (u16, u16), lesson: &str, pick: fn(&str) -> bool) -> App {
        let l = lessons::find(lesson).unwrap();
        let at = l
            .steps
            .iter()
            .position(|s| s.run.as_deref().is_some_and(pick))
            .unwrap_or_else(|| panic!("lesson {lesson} has no such step"));
        let mut app = lab_up(l, size, t0);
        while app.step < at {
            update(
                &mut app,
                Event::Key(crossterm::event::KeyEvent::from(
                    crossterm::event::KeyCode::Char('n'),
                )),
            );
        }
        app
    }

    /// Lesson 6 at its `chain trace` step: the lab up, the chain's counters moving, a
    /// packet's walk through the chain in the timeline.
    fn chain_scene(w: u16, h: u16) -> App {
        let t0 = Instant::now();
        let mut app = at_step(t0, (w, h), "6", |r| r.starts_with("chain trace"));
        for i in 0..=10u64 {
            let at = t0 + Duration::from_millis(100 * i);
            update(
                &mut app,
                Event::Maps(vec![
                    Sample {
                        name: "map_pcpu_mon".into(),
                        at,
                        result: Ok(Some(fake::dump("map_pcpu_mon", i))),
                    },
                    Sample {
                        name: "hvm_stats".into(),
                        at,
                        result: Ok(Some(fake::dump("hvm_stats", 0))),
                    },
                ]),
            );
        }
        for line in [
            "chain count_and_pass (0x40000001) enter (r2=0 r3=0)",
            "  call monitor[3] (r2=0 r3=0 r4=0) at pc 2",
            "  monitor[3] returned r0=0",
            "  call hike_pass[4] (r2=0 r3=0 r4=0) at pc 5",
        ] {
            update(&mut app, Event::Trace(fake::trace(line)));
        }
        app
    }

    /// What every size must keep in a chain lesson: the step bar, the step, the lesson
    /// text, the counters and the trace timeline.
    fn assert_chain_screen(s: &str) {
        let first = s.lines().next().unwrap_or("");
        assert!(first.contains("step "), "the header keeps the step:\n{s}");
        assert!(s.contains("Step "), "the step panel:\n{s}");
        assert!(s.contains("Lesson 6 text"), "the lesson text:\n{s}");
        assert!(s.contains("Maps"), "the counters:\n{s}");
        assert!(s.contains("Chain trace"), "the timeline:\n{s}");
    }

    /// At 80x24, 100x30 and 160x45, in every kind of lesson, the step panel, the lesson text
    /// and an event log with room for a command's reply are all on screen.
    #[test]
    fn every_size_keeps_the_step_the_text_and_a_usable_log() {
        use crate::tui::layout::{LOG_MIN, inner_width};
        let scenes: [(&str, fn(u16, u16) -> App); 4] = [
            ("lesson 1", scene),
            ("lesson 6", chain_scene),
            ("lesson 4", lb_scene),
            ("lesson 3", tools_scene),
        ];
        for (name, make) in scenes {
            for (w, h) in [(80, 24), (100, 30), (160, 45)] {
                let app = make(w, h);
                let r = app.regions();
                let at = format!("{name} at {w}x{h}:\n{}", render(&app));
                let step = r.step.unwrap_or_else(|| panic!("no step panel, {at}"));
                assert!(
                    step.height >= 5,
                    "the step panel is cut to {}, {at}",
                    step.height
                );
                let text = r.text.unwrap_or_else(|| panic!("no lesson text, {at}"));
                // stacked, counters the step watches may take the text down to 3 lines: at
                // 80x24 lesson 4's "watch both panels" needs 8 lines of counters
                let watching = r.stacked && !app.lesson.steps[app.step].watch.is_empty();
                assert!(
                    text.height >= if watching { 5 } else { 6 },
                    "{} rows of lesson text, {at}",
                    text.height
                );
                let log = r.log.unwrap_or_else(|| panic!("no event log, {at}"));
                assert!(
                    log.height >= LOG_MIN + 2 && inner_width(log) > 40,
                    "the event log shows {} lines, {at}",
                    log.height.saturating_sub(2)
                );
            }
        }
    }

    /// Every step of every lesson is shown whole, its text and the command r runs, at
    /// 80x24, 100x30 and 160x45, with the lesson text below it. Walked at 80x24: lesson 2's
    /// last step ended in "saving runs the …", and the step is what says what to do.
    #[test]
    fn every_step_of_every_lesson_is_whole_at_every_size() {
        use crate::tui::layout::inner_width;
        use crate::tui::lines::step_lines;
        let mut cut = Vec::new();
        for l in lessons::all() {
            for (w, h) in [(80, 24), (100, 30), (160, 45)] {
                let mut app = lab_up(l.clone(), (w, h), Instant::now());
                for i in 0..l.steps.len() {
                    app.step = i;
                    let r = app.regions();
                    let (Some(step), Some(_text)) = (r.step, r.text) else {
                        cut.push(format!(
                            "lesson {} step {} at {w}x{h}: no step or text",
                            l.number,
                            i + 1
                        ));
                        continue;
                    };
                    // its title whole, in the border or leading the text
                    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
                    term.draw(|f| draw(f, &app)).unwrap();
                    let buf = term.backend().buffer().clone();
                    let mut boxed = String::new();
                    for y in step.y..step.y + step.height {
                        for x in step.x..step.x + step.width {
                            boxed.push_str(buf[(x, y)].symbol());
                        }
                        boxed.push(' ');
                    }
                    let boxed = boxed
                        .replace(['│', '─', '┌', '┐', '└', '┘'], " ")
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ");
                    if !boxed.contains(&l.steps[i].title) {
                        cut.push(format!(
                            "lesson {} step {} at {w}x{h}: title cut: {boxed}",
                            l.number,
                            i + 1
                        ));
                    }
                    let need = step_lines(&app, inner_width(step)).len();
                    let room = step.height.saturating_sub(2) as usize;
                    if need > room {
                        cut.push(format!(
                            "lesson {} step {} at {w}x{h}: {need} lines in {room} ({})",
                            l.number,
                            i + 1,
                            l.steps[i].title
                        ));
                    }
                }
            }
        }
        assert!(cut.is_empty(), "steps cut:\n{}", cut.join("\n"));
    }

    /// What waits for the running job is on the status line, not in the log, where it
    /// would split the running job's output.
    #[test]
    fn queued_jobs_show_on_the_status_line() {
        use crossterm::event::{KeyCode, KeyEvent};
        let mut app = scene(160, 45);
        let key = |c: KeyCode| Event::Key(KeyEvent::from(c));
        update(&mut app, key(KeyCode::Char(':')));
        for c in "map list".chars() {
            update(&mut app, key(KeyCode::Char(c)));
        }
        update(&mut app, key(KeyCode::Enter));
        update(&mut app, key(KeyCode::Esc));
        let log_before = app.log.len();
        update(&mut app, key(KeyCode::Char('c')));
        assert_eq!(app.log.len(), log_before, "nothing logged");
        let s = render(&app);
        let status = s.lines().last().unwrap_or("");
        assert!(status.contains("⟳ map list"), "{s}");
        assert!(status.contains("then: the check"), "{s}");
    }

    /// A map panel shows its labels whole (they were cut at 14 columns whatever the width:
    /// "no verdict (d…" at 160x45, and at 80x24 still, walked in lesson 6 step 8): on a
    /// narrow panel the sparkline and then the rate make room, never the label.
    #[test]
    fn map_labels_are_whole_where_the_panel_has_room() {
        for (w, h) in [(160, 45), (80, 24)] {
            let mut app = chain_scene(w, h);
            update(
                &mut app,
                Event::Maps(vec![Sample {
                    name: "hvm_stats".into(),
                    at: Instant::now(),
                    result: Ok(Some(fake::rows(
                        "system/hvm_stats",
                        "percpu_array",
                        &[(9, 1), (10, 2)],
                    ))),
                }]),
            );
            let s = render(&app);
            assert!(
                s.contains("no verdict (dropped) "),
                "{w}x{h}:
{s}"
            );
            assert!(
                s.contains("empty program slot "),
                "{w}x{h}:
{s}"
            );
        }
    }

    /// Every step's title and text are on screen whole at 80x24 and 160x45: the title on the
    /// border when it fits there, else as the first line of the step's text (walked: "Step
    /// 10/11: Fix the chain, reload, ping a┐" at 80x24 in lesson 6, and 25 titles of 10 lessons
    /// were cut alike), and the step box grows into the lesson text below it rather than cut
    /// the step's text with "…" (14 steps of 10 lessons at 80x24).
    #[test]
    fn every_step_title_is_whole_at_80x24() {
        use crossterm::event::{KeyCode, KeyEvent};
        for l in lessons::all() {
            for (w, h) in [(80, 24), (160, 45)] {
                let mut app = lab_up(l.clone(), (w, h), Instant::now());
                for (i, st) in l.steps.iter().enumerate() {
                    while app.step < i {
                        update(&mut app, Event::Key(KeyEvent::from(KeyCode::Char('n'))));
                    }
                    let screen = render(&app);
                    let r = app.regions().step.expect("a step panel");
                    // the step box's rows, inside its side borders, as one line of words
                    let boxed: Vec<String> = screen
                        .lines()
                        .skip(r.y as usize)
                        .take(r.height as usize)
                        .map(|line| {
                            line.chars()
                                .skip(r.x as usize + 1)
                                .take(r.width.saturating_sub(2) as usize)
                                .collect::<String>()
                        })
                        .collect();
                    let words = boxed
                        .join(" ")
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ");
                    assert!(
                        !words.contains('…'),
                        "lesson {} step {} at {w}x{h}: the step's text is cut:\n{screen}",
                        l.number,
                        i + 1
                    );
                    let head = format!("Step {}/{}", i + 1, l.steps.len());
                    assert!(
                        words.contains(&head) && words.contains(&st.title),
                        "lesson {} step {} at {w}x{h}: `{}` not whole:\n{screen}",
                        l.number,
                        i + 1,
                        st.title
                    );
                }
            }
        }
    }

    /// A map of settings (lesson 1's verdict) shows its value without a rate or a
    /// sparkline, even when it changes; a counter beside it keeps both (walked: `verdict 2
    /// 1.0/s` after `map set verdict 0 PASS`).
    #[test]
    fn a_settings_map_has_no_rate() {
        let mut app = scene(160, 45);
        let t0 = Instant::now() + Duration::from_secs(3);
        for i in 0..10u64 {
            update(
                &mut app,
                Event::Maps(vec![
                    Sample {
                        name: "pkt_count".into(),
                        at: t0 + Duration::from_millis(100 * i),
                        result: Ok(Some(fake::dump("pkt_count", 200 + i * 5))),
                    },
                    Sample {
                        name: "verdict".into(),
                        at: t0 + Duration::from_millis(100 * i),
                        result: Ok(Some(fake::dump("verdict", 1 + i % 2))),
                    },
                ]),
            );
        }
        let s = render(&app);
        let row = |label: &str| {
            s.lines()
                .find(|l| l.contains(&format!("│  {label} ")))
                .unwrap_or_else(|| panic!("no {label} row:\n{s}"))
                .to_string()
        };
        assert!(row("packets").contains("/s"), "{}", row("packets"));
        assert!(!row("verdict").contains("/s"), "{}", row("verdict"));
    }

    /// The header's mark is the last check run, as the check panel shows it: an exercise
    /// passed once (the progress file) shows ✓ until a check fails, then ✗ (walked: lesson 8
    /// showed `tunable ✓` over a panel saying FAIL).
    #[test]
    fn the_headers_mark_follows_the_last_check() {
        let mut app = at_step(Instant::now(), (80, 24), "6", |r| r.ends_with("6 guard"));
        let lesson = app.lesson.id.clone();
        app.progress
            .lessons
            .entry(lesson)
            .or_default()
            .passed
            .insert("guard".into());
        let header = |app: &App| render(app).lines().next().unwrap_or("").to_string();
        assert!(header(&app).contains("guard ✓"), "{}", header(&app));
        key(&mut app, crossterm::event::KeyCode::Char('c'));
        assert!(header(&app).contains("guard …"), "{}", header(&app));
        let mut done = fake::failed_check(&app.lesson);
        done.report.exercise = "guard".into();
        update(&mut app, Event::Checked(Box::new(done)));
        assert!(header(&app).contains("guard ✗"), "{}", header(&app));
    }

    /// At 80x24 a failed check stays in view: the checks that passed before it fold into
    /// one line (walked: lesson 6's guard showed two passed checks and "…", the failing one
    /// and its hint below the panel's last row).
    #[test]
    fn a_failed_check_stays_in_view_at_80x24() {
        use eclat_course::CheckResult;
        let mut app = at_step(Instant::now(), (80, 24), "6", |r| r.ends_with("6 guard"));
        key(&mut app, crossterm::event::KeyCode::Char('c'));
        let mut done = fake::failed_check(&app.lesson);
        done.verifier = None;
        let ok = |what: &str| CheckResult::new(what, true, "", "");
        done.report.exercise = "guard".into();
        done.report.results = vec![
            ok("guard.eclat: compiles"),
            ok(
                "guard.eclat: `ipv6 udp dport=5000` gives PASS, map_pcpu_mon[0] +1, map_pcpu_mon[4] +0",
            ),
            CheckResult {
                what: "guard.eclat: `ipv6 icmp6` gives DROP, map_pcpu_mon[4] +1".into(),
                passed: false,
                expected: "DROP".into(),
                seen: "PASS".into(),
                hint: Some(0),
                ..ok("")
            },
        ];
        let report = done.report.clone();
        update(&mut app, Event::Checked(Box::new(done)));
        update(
            &mut app,
            Event::JobDone {
                job: 1,
                result: Ok(Box::new(crate::commands::Reply::LessonCheck(report.into()))),
            },
        );
        let s = render(&app);
        assert!(s.contains("✓ 2 check(s) passed"), "{s}");
        assert!(s.contains("✗ guard.eclat: `ipv6 icmp6` gives"), "{s}");
        assert!(s.contains("expected DROP, seen PASS"), "{s}");
    }

    /// At 80x24 a failed check whose description is long (a packet, the maps written, the
    /// frame expected) gives up its last lines, cut with `…`, so that what was expected and
    /// seen stays on screen (walked: lesson 4's rewrite check said which byte differed only
    /// behind z).
    #[test]
    fn a_long_failed_check_keeps_what_was_seen_at_80x24() {
        use eclat_course::CheckResult;
        let mut app = at_step(Instant::now(), (80, 24), "4", |r| {
            r.ends_with("4 select-and-rewrite")
        });
        key(&mut app, crossterm::event::KeyCode::Char('c'));
        let mut done = fake::failed_check(&app.lesson);
        done.verifier = None;
        let ok = |what: &str| CheckResult::new(what, true, "", "");
        done.report.exercise = "select-and-rewrite".into();
        done.report.results = vec![
            ok("lb.bpf.c: compiles"),
            ok("lb.bpf.c: the kernel's verifier accepts every program"),
            CheckResult {
                what: "lb.bpf.c: `eth src=02:00:00:00:09:01 dst=02:00:00:00:09:02 ipv4 \
                       src=10.0.0.2 dst=10.0.100.1 udp sport=40000 dport=8080 payload=\"lab\"` \
                       gives TX (with lb_backends[0] = 10.0.1.2, lb_backends[1] = 10.0.2.2, \
                       lb_backends[2] = 10.0.3.2, lb_service[0] = 3) and leaves exactly `eth \
                       src=02:00:00:00:09:02 dst=02:00:00:00:09:01 ipv4 src=10.0.0.2 \
                       dst=10.0.2.2 udp sport=40000 dport=8080 payload=\"lab\"`, \
                       lb_backend_pkts[1] (slot 1 (b2)) +1, lb_stats[0] (balanced (TX)) +1"
                    .into(),
                passed: false,
                expected: "the rewritten frame, byte for byte".into(),
                seen: "the IPv4 header checksum differs at byte 24: c2cb where 24cb was \
                       expected (45 bytes out, 45 expected)"
                    .into(),
                hint: Some(1),
                ..ok("")
            },
        ];
        update(&mut app, Event::Checked(Box::new(done)));
        let s = render(&app);
        assert!(s.contains("✓ 2 check(s) passed"), "{s}");
        assert!(s.contains("✗ lb.bpf.c: `eth src=02:00:00:00:09:01"), "{s}");
        assert!(s.contains("…"), "the description is cut, and says so:\n{s}");
        assert!(
            s.contains("differs at byte 24: c2cb"),
            "what was seen:\n{s}"
        );
        assert!(s.contains("hint 2 applies"), "{s}");
        assert!(!s.contains("more line"), "nothing else is cut:\n{s}");
        // zoomed, the description is whole
        key(&mut app, crossterm::event::KeyCode::Char('z'));
        let s = render(&app);
        assert!(s.contains("(balanced (TX)) +1"), "{s}");
    }

    #[test]
    fn chain_lesson_80x24() {
        let app = chain_scene(80, 24);
        let s = render(&app);
        assert!(s.contains("Step "), "the step panel:\n{s}");
        assert!(s.contains("Lesson 6 text"), "the lesson text:\n{s}");
        insta::assert_snapshot!(s);
    }

    #[test]
    fn chain_lesson_100x30() {
        let s = render(&chain_scene(100, 30));
        assert_chain_screen(&s);
        insta::assert_snapshot!(s);
    }

    #[test]
    fn chain_lesson_160x45() {
        let s = render(&chain_scene(160, 45));
        assert_chain_screen(&s);
        insta::assert_snapshot!(s);
    }

    /// Lesson 4 while twelve flows run: the load balancer attached, its per-slot counters
    /// and the backends' own counts moving together (3, 5 and 4 flows per backend).
    fn lb_scene(w: u16, h: u16) -> App {
        let t0 = Instant::now();
        let l = lessons::find("4").unwrap();
        let at = l
            .steps
            .iter()
            .position(|s| s.run.as_deref().is_some_and(|r| r.contains("--flows 12")))
            .expect("lesson 4 sends twelve flows");
        let mut app = App::new(l, true, Theme { color: false }, (w, h), t0);
        update(
            &mut app,
            Event::Topo(Ok(fake::status_of("lb-lab", &[("sut", "eth0", "lb_xdp")]))),
        );
        while app.step < at {
            update(
                &mut app,
                Event::Key(crossterm::event::KeyEvent::from(
                    crossterm::event::KeyCode::Char('n'),
                )),
            );
        }
        for i in 0..=10u64 {
            let at = t0 + Duration::from_millis(100 * i);
            let k = 20 * i;
            let sample = |name: &str, d| Sample {
                name: name.into(),
                at,
                result: Ok(Some(d)),
            };
            update(
                &mut app,
                Event::Maps(vec![
                    sample(
                        "lb_backend_pkts",
                        fake::rows(
                            "objects/lb/lb_backend_pkts",
                            "percpu_array",
                            &[(0, 3 * k), (1, 5 * k), (2, 4 * k)],
                        ),
                    ),
                    sample(
                        "lb_rx",
                        fake::text_rows(
                            "lab/lb_backend/lb_rx",
                            "hash",
                            &[
                                ("{addr: 10.0.1.2}", 3 * k),
                                ("{addr: 10.0.2.2}", 5 * k),
                                ("{addr: 10.0.3.2}", 4 * k),
                            ],
                        ),
                    ),
                    sample(
                        "lb_stats",
                        fake::rows(
                            "objects/lb/lb_stats",
                            "percpu_array",
                            &[(0, 12 * k), (1, 0), (2, 60)],
                        ),
                    ),
                    sample(
                        "lb_rx_bad",
                        fake::rows("lab/lb_backend/lb_rx_bad", "array", &[(0, 0), (1, 0)]),
                    ),
                ]),
            );
        }
        app
    }

    #[test]
    fn load_balancer_lesson_160x45() {
        let s = render(&lb_scene(160, 45));
        for want in ["b1 10.0.1.2", "b2 10.0.2.2", "slot 1 (b2)", "Lesson 4 text"] {
            assert!(s.contains(want), "{want}:\n{s}");
        }
        insta::assert_snapshot!(s);
    }

    #[test]
    fn load_balancer_lesson_80x24() {
        let s = render(&lb_scene(80, 24));
        assert!(s.contains("Step "), "the step panel:\n{s}");
        assert!(s.contains("Lesson 4 text"), "the lesson text:\n{s}");
        assert!(s.contains("slot 2 (b3)"), "the per-backend counters:\n{s}");
        // the step says "watch both panels": both whole, b3's row of what arrived too (it
        // was behind Tab and PgDn)
        for want in ["slot 2 (b3)", "b1 10.0.1.2", "b2 10.0.2.2", "b3 10.0.3.2"] {
            assert!(s.contains(want), "{want}:\n{s}");
        }
        assert!(s.contains("+2 more maps: Tab, z zooms ┘"), "{s}");
        insta::assert_snapshot!(s);
    }

    /// Beside the lesson (from 100 columns) the topology's border says what it leaves out
    /// with keys that work now: z zooms the focused pane, so unfocused it says Tab first (it
    /// said `z zooms`, and z zoomed the lesson text).
    #[test]
    fn the_topology_advertises_only_keys_that_work() {
        let mut app = lb_scene(100, 30);
        let s = render(&app);
        assert!(s.contains(" +5 links, +4 programs: Tab, z zooms ┘"), "{s}");
        while app.focus != Focus::Topology {
            key(&mut app, crossterm::event::KeyCode::Tab);
        }
        let s = render(&app);
        assert!(s.contains(" +5 links, +4 programs: z zooms ┘"), "{s}");
        assert!(!s.contains("Tab, z zooms"), "{s}");
        // zoomed, it is whole
        key(&mut app, crossterm::event::KeyCode::Char('z'));
        let s = render(&app);
        assert!(!s.contains("more link"), "{s}");
    }

    /// Lesson 3 at its bpftrace step: the counter's panels, a one-liner's lines streamed
    /// into the log, the lesson text at the step's section.
    fn tools_scene(w: u16, h: u16) -> App {
        let t0 = Instant::now();
        let mut app = at_step(t0, (w, h), "3", |r| r.contains("bpftrace -e"));
        for i in 0..=10u64 {
            let at = t0 + Duration::from_millis(100 * i);
            update(
                &mut app,
                Event::Maps(vec![
                    Sample {
                        name: "pkt_count".into(),
                        at,
                        result: Ok(Some(fake::dump("pkt_count", 40 + i * 2))),
                    },
                    Sample {
                        name: "verdict".into(),
                        at,
                        result: Ok(Some(fake::dump("verdict", 0))),
                    },
                ]),
            );
        }
        app.push(
            LogKind::Command,
            "$ exec sut -- bpftrace -e 'tracepoint:xdp:xdp_exception { @aborts[args->prog_id, args->ifindex] = count(); }'",
        );
        app.push(
            LogKind::Output,
            "Attaching 1 probe...\n^C\n\n@aborts[57, 2]: 412\n(bpftrace was sent Ctrl-C and ended with status 0)",
        );
        app
    }

    /// Every lesson with nothing up, at 100x24 (where the topology box must shrink to leave
    /// the counters room) and at 80x24 (stacked: the topology in the text's place, one Tab
    /// away, as the step's border says): it says what to type, not only that nothing is up.
    #[test]
    fn no_topology_says_what_to_type_at_every_lesson() {
        for (l, size) in lessons::all()
            .into_iter()
            .flat_map(|l| [(l.clone(), (80, 24)), (l, (100, 24))])
        {
            let mut app = App::new(
                l.clone(),
                true,
                Theme { color: false },
                size,
                Instant::now(),
            );
            update(&mut app, nothing_up());
            if size.0 < crate::tui::layout::STACKED_BELOW {
                assert!(app.regions().topo.is_none(), "lesson {}", l.number);
                let s = render(&app);
                assert!(s.contains("Tab topology"), "lesson {}:\n{s}", l.number);
                key(&mut app, crossterm::event::KeyCode::Tab);
            }
            let s = render(&app);
            assert!(s.contains("no topology up"), "lesson {}:\n{s}", l.number);
            assert!(s.contains(":topo up"), "lesson {}: no hint\n{s}", l.number);
        }
    }

    #[test]
    fn tools_lesson_80x24() {
        let s = render(&tools_scene(80, 24));
        assert!(s.contains("Step "), "the step panel:\n{s}");
        assert!(s.contains("Lesson 3 text"), "the lesson text:\n{s}");
        insta::assert_snapshot!(s);
    }

    #[test]
    fn tools_lesson_160x45() {
        let s = render(&tools_scene(160, 45));
        assert!(s.contains("Lesson 3 text"), "the lesson text:\n{s}");
        assert!(
            s.contains("bpftrace: watching XDP live"),
            "the text at the step's section:\n{s}"
        );
        assert!(
            s.contains("@aborts[57, 2]: 412"),
            "the one-liner's output:\n{s}"
        );
        insta::assert_snapshot!(s);
    }

    /// A map's name, type and rows (key, count per sample).
    type Feed<'a> = (&'a str, &'a str, &'a [(u64, u64)]);
    /// An overlay's name and the keys that open it.
    type Opener = (&'static str, fn(&mut App));

    /// A lesson at step `step` (1-based) at `size`, the HIKe lab up with xdp_counter on
    /// sut:enp6s0f0, its panels fed `maps` (name, type, (key, count per sample)).
    fn walked(lesson: &str, step: usize, size: (u16, u16), maps: &[Feed]) -> App {
        let t0 = Instant::now();
        let mut app = App::new(
            lessons::find(lesson).unwrap(),
            true,
            Theme { color: false },
            size,
            t0,
        );
        update(
            &mut app,
            Event::Topo(Ok(fake::status_of(
                "hike-lab",
                &[("sut", "enp6s0f0", "xdp_counter")],
            ))),
        );
        while app.step + 1 < step {
            key(&mut app, crossterm::event::KeyCode::Char('n'));
        }
        for i in 0..=10u64 {
            let at = t0 + Duration::from_millis(100 * i);
            let samples = maps
                .iter()
                .map(|(n, ty, rows)| Sample {
                    name: n.to_string(),
                    at,
                    result: Ok(Some(fake::rows(
                        &format!("x/{n}"),
                        ty,
                        &rows.iter().map(|(k, v)| (*k, v * i)).collect::<Vec<_>>(),
                    ))),
                })
                .collect();
            update(&mut app, Event::Maps(samples));
        }
        app
    }

    /// Lesson 8 at 80x24: a step whose text points at counters shows them whole, without Tab
    /// or PgDn (`watch` in the lesson's manifest). monitor's map is the one lessons 6 and 7
    /// counted in too: their codes (GUARDED 4, APP 10, METRICS 11, LEGACY 12) are still rows
    /// of the panel. The attack (step 6) talks about the policy's decisions: map_pcpu_mon
    /// whole, PASS, DROP, REDIRECT and BLACKLISTED among its rows (7 rows of the pane showed 6
    /// of its 8, "+3 more rows"). The burst (step 8) too, but its text takes a line more: the
    /// four decisions, not the last of the earlier lessons' rows. Step 2 talks about the
    /// collector's count, pkt_count, which was below them all.
    #[test]
    fn ddos_lesson_80x24_shows_the_counters_its_steps_talk_about() {
        let feeds: &[Feed] = &[
            (
                "map_pcpu_mon",
                "percpu_hash",
                &[
                    (0, 40),
                    (1, 90),
                    (2, 1),
                    (3, 800),
                    (4, 1),
                    (10, 2),
                    (11, 1),
                    (12, 1),
                ],
            ),
            ("pkt_count", "percpu_array", &[(0, 1)]),
            ("hvm_stats", "percpu_array", &[(9, 0), (10, 0)]),
        ];
        for step in [6, 8] {
            let s = render(&walked("8", step, (80, 24), feeds));
            for want in ["PASS", "DROP", "REDIRECT", "BLACKLISTED"] {
                assert!(
                    s.contains(&format!("  {want} ")),
                    "step {step}, {want}:\n{s}"
                );
            }
            if step == 6 {
                assert!(s.contains("  key 12 "), "{s}");
                assert!(!s.contains("more row"), "{s}");
                insta::assert_snapshot!(s);
            }
        }
        let s = render(&walked("8", 2, (80, 24), feeds));
        assert!(
            s.contains("  samples "),
            "step 2, the collector's count:\n{s}"
        );
    }

    /// A panel shown whole keeps its rows in key order when they start counting (lesson 5 at
    /// 80x24, "Send 100 packets": cls's "tx port 0" jumped to second place while the learner
    /// watched); a panel the pane cuts shows the rows that count first (lesson 6 names 6 of
    /// hvm_stats' reasons: the abort that moves must not be below the pane's last line).
    #[test]
    fn rows_keep_their_place_unless_the_pane_cuts_their_panel() {
        let app = walked(
            "5",
            10,
            (80, 24),
            &[
                (
                    "cls/cube_stats",
                    "percpu_array",
                    &[(0, 10), (1, 0), (2, 0), (3, 0), (4, 10)],
                ),
                ("mon/mon_class", "hash", &[(6000, 10)]),
            ],
        );
        let s = render(&app);
        let at = |label: &str| {
            s.find(&format!("  {label} "))
                .unwrap_or_else(|| panic!("{label}:\n{s}"))
        };
        let order: Vec<usize> = ["rx", "pass", "drop", "miss", "tx port 0"]
            .iter()
            .map(|l| at(l))
            .collect();
        assert!(order.is_sorted(), "key order:\n{s}");
        // lesson 6's first step watches nothing: monitor's rows, then 3 of hvm_stats' 6
        let hvm: Vec<(u64, u64)> = (0..16).map(|k| (k, u64::from(k == 10))).collect();
        let app = walked(
            "6",
            1,
            (80, 24),
            &[
                ("map_pcpu_mon", "percpu_hash", &[(0, 5), (4, 1)]),
                ("hvm_stats", "percpu_array", &hvm),
            ],
        );
        let s = render(&app);
        assert!(s.contains("  no verdict (dropped) "), "{s}");
        assert!(s.contains("+3 more rows"), "{s}");
    }

    fn lesson8_attack(size: (u16, u16)) -> App {
        walked(
            "8",
            6,
            size,
            &[
                (
                    "map_pcpu_mon",
                    "percpu_array",
                    &[(0, 1), (1, 2), (2, 3), (3, 0)],
                ),
                ("pkt_count", "percpu_array", &[(0, 5)]),
                ("hvm_stats", "percpu_array", &[(9, 1), (10, 1)]),
            ],
        )
    }

    /// At 80x24 the maps pane (stacked: right of the log, 7 rows) shows the panels the steps
    /// point at, or says what it leaves out on its border and how to get there, and scrolls
    /// to it when focused (walked: lesson 7 step 11's pkt_count below the pane's last row,
    /// lesson 8 step 6's hvm_stats not on screen at all, nothing saying so).
    #[test]
    fn the_maps_pane_shows_or_says_what_it_leaves_out() {
        let mut app = walked(
            "7",
            11,
            (80, 24),
            &[
                ("map_pcpu_mon", "percpu_array", &[(0, 1), (1, 2), (2, 3)]),
                ("udp_dport_classifier_map", "hash", &[(7000, 3), (5000, 4)]),
                ("pkt_count", "percpu_array", &[(0, 5)]),
            ],
        );
        // step 11: REDIRECT and the collector's count grow together: the step watches both,
        // so both are on screen (the count was below the pane's last row, behind Tab and
        // PgDn); the classifier's table, which the step does not talk about, is below them,
        // said on the border, and PgDn shows it once Tab has focused the pane
        let s = render(&app);
        assert!(s.contains("  REDIRECT "), "{s}");
        assert!(s.contains("pkt_count xdp_counter"), "{s}");
        assert!(s.contains("  packets "), "the collector's count:\n{s}");
        assert!(s.contains("│udp_dport_classifier_map udp_dpor…│"), "{s}");
        assert!(
            s.contains("+2 more rows: Tab, z zooms ┘"),
            "what is left out:\n{s}"
        );
        while app.focus != Focus::Maps {
            key(&mut app, crossterm::event::KeyCode::Tab);
        }
        key(&mut app, crossterm::event::KeyCode::PageDown);
        let s = render(&app);
        assert!(!s.contains("more row"), "{s}");
        let mut app = lesson8_attack((80, 24));
        let s = render(&app);
        // step 6: the policy's decisions and the collector's samples, with their rates
        assert!(s.contains("BLACKLISTED      0      0/s"), "{s}");
        assert!(s.contains("samples     50     50/s"), "{s}");
        assert!(
            s.contains("+1 more map: Tab, z zooms ┘"),
            "what is left out:\n{s}"
        );
        assert!(!s.contains("hvm_stats"), "{s}");
        // focused (Tab), PgDn scrolls the pane to its last row
        while app.focus != Focus::Maps {
            key(&mut app, crossterm::event::KeyCode::Tab);
        }
        key(&mut app, crossterm::event::KeyCode::PageDown);
        let s = render(&app);
        assert!(s.contains("no verdict (dropped)"), "{s}");
        assert!(s.contains("Maps (live, 10 Hz) ↑3"), "{s}");
        assert!(!s.contains("more "), "{s}");
        key(&mut app, crossterm::event::KeyCode::PageUp);
        assert_eq!(app.maps_scroll, 0);
        // zoomed, the titles are whole again and nothing is left out
        key(&mut app, crossterm::event::KeyCode::Char('z'));
        let s = render(&app);
        assert!(s.contains("HIKe VM: packets aborted, by reason"), "{s}");
        assert!(!s.contains("more "), "{s}");
    }

    /// The topology's compact form (links only, at 100x24 beside the text; stacked at 80x24
    /// it has the text's room) still names the XDP programs
    /// attached (walked: lesson 6 step 1 says "the drawing shows it" of the program left on
    /// sut:enp6s0f0, and the drawing showed links alone), and says what it leaves out.
    #[test]
    fn the_compact_topology_names_the_attached_programs() {
        for (lesson, step) in [("6", 1), ("1", 2), ("8", 6)] {
            let app = if lesson == "8" {
                lesson8_attack((100, 24))
            } else {
                walked(lesson, step, (100, 24), &[])
            };
            assert!(app.regions().topo_compact, "lesson {lesson}");
            let s = render(&app);
            assert!(
                s.contains("xdp: xdp_counter on sut:enp6s0f0"),
                "lesson {lesson} step {step}:\n{s}"
            );
            assert!(
                s.contains("+1 more program") || s.contains("+1 program"),
                "{s}"
            );
        }
    }

    /// Below 100 columns the screen is stacked (at 80x24 a learner read the lesson 42 columns
    /// wide, 6 lines a page, beside the topology and the counters): the step and the text
    /// take the whole width, the counters share the bottom with the log, right of it, with
    /// their rates; the step's border says the topology is one Tab away, and the topology
    /// then takes exactly the text's place, the step and the counters still on screen;
    /// Shift-Tab brings the text back. From 100 columns the lab's column stays beside the
    /// text.
    #[test]
    fn narrow_screens_stack_the_lesson_over_the_log_and_the_counters() {
        use crate::tui::layout::inner_width;
        use crossterm::event::KeyCode;
        for (w, h) in [(80, 24), (90, 30), (99, 40)] {
            let mut app = scene(w, h);
            let r = app.regions();
            let s = render(&app);
            let at = format!("{w}x{h}:\n{s}");
            assert!(r.stacked, "{at}");
            let (step, text) = (r.step.expect("step"), r.text.expect("text"));
            let (log, maps) = (r.log.expect("log"), r.maps.expect("counters"));
            assert_eq!((step.width, text.width), (w, w), "{at}");
            // a page of text: 5 lines of 78 at 80x24
            assert_eq!(text.y, step.y + step.height, "{at}");
            assert!(text.height >= 7, "{at}");
            // the counters right of the log, on its rows, 7 of them at 80x24
            assert_eq!(
                (maps.y, maps.height, maps.x, maps.x + maps.width),
                (log.y, log.height, log.x + log.width, w),
                "{at}"
            );
            assert!(maps.height >= 9 && inner_width(log) > 40, "{at}");
            assert!(s.contains("packets    100     50/s █"), "the rate: {at}");
            assert!(r.topo.is_none(), "{at}");
            assert!(s.contains("─ Tab topology  n next  p previous ┘"), "{at}");
            key(&mut app, KeyCode::Tab);
            assert_eq!(app.focus, Focus::Topology);
            let t = app.regions();
            let s = render(&app);
            let at = format!("{w}x{h}, Tab:\n{s}");
            assert_eq!(
                (t.topo, t.text, t.step, t.maps, t.log),
                (Some(text), None, Some(step), Some(maps), Some(log)),
                "{at}"
            );
            assert!(s.contains("┌ Topology: hike-lab"), "{at}");
            assert!(s.contains("sut:cl0"), "every link: {at}");
            assert!(s.contains("xdp: xdp_counter"), "the program on it: {at}");
            assert!(s.contains("─ Shift-Tab text  n next  p previous ┘"), "{at}");
            key(&mut app, KeyCode::BackTab);
            assert_eq!(app.focus, Focus::Lesson);
            assert_eq!(app.regions().text, Some(text), "{w}x{h}");
        }
        for (w, h) in [(100, 30), (120, 40), (160, 45)] {
            let app = scene(w, h);
            let r = app.regions();
            let s = render(&app);
            let at = format!("{w}x{h}:\n{s}");
            assert!(!r.stacked, "{at}");
            let (text, topo, maps) = (r.text.unwrap(), r.topo.unwrap(), r.maps.unwrap());
            assert!(text.width < w, "{at}");
            assert_eq!(
                (topo.x, maps.x),
                (text.x + text.width, text.x + text.width),
                "{at}"
            );
            assert!(!s.contains("Tab topology"), "{at}");
        }
    }

    /// Stacked (80x24), a failed check is what to read: the check panel and the verifier's
    /// explanation take the text's place, the whole width, the explanation 6 lines; the
    /// counters stay beside the log, and the step keeps its title and command.
    #[test]
    fn a_failed_check_gets_the_room_when_stacked() {
        let app = failed_check(80, 24);
        let r = app.regions();
        let s = render(&app);
        let (step, check, verifier) = (r.step.unwrap(), r.check.unwrap(), r.verifier.unwrap());
        assert_eq!((check.width, verifier.width), (80, 80), "{s}");
        assert_eq!(check.y, step.y + step.height, "{s}");
        assert_eq!(verifier.y, check.y + check.height, "{s}");
        assert!(verifier.height >= 8, "{s}");
        assert!(r.text.is_none() && r.maps.is_some(), "{s}");
        assert!(
            s.contains("what to do: Before touching N bytes at `p`"),
            "{s}"
        );
        assert!(s.contains("r runs lesson check 2 fix-verifier"), "{s}");
        assert!(s.contains("Tab topology"), "{s}");
        // a failed check without a verifier's or a compiler's words (walked: lesson 8's
        // blacklist-code, its counts and what was expected over 7 lines): whole, in place of
        // the text, the counters still beside the log
        let app = checked("2", (80, 24), |l| {
            let mut d = fake::failed_check(l);
            d.verifier = None;
            let r = &mut d.report.results[1];
            r.explanation = None;
            r.what =
                "ddos.eclat: after `traffic --from tg --to fc01::2 --udp 5000 --count 100`".into();
            r.expected = "map_pcpu_mon[0] +10, map_pcpu_mon[1] +1, map_pcpu_mon[3] +89, \
                          map_pcpu_mon[2] +0"
                .into();
            r.seen = "map_pcpu_mon[0] +10, map_pcpu_mon[1] +90 (not +1), map_pcpu_mon[3] +0 \
                      (not +89), map_pcpu_mon[2] +0"
                .into();
            d
        });
        let r = app.regions();
        let s = render(&app);
        let check = r.check.expect("the check panel");
        assert_eq!(check.width, 80, "{s}");
        assert!(
            check.height >= crate::tui::lines::check_height(&app, 80),
            "{s}"
        );
        assert!(!s.contains("more line"), "{s}");
        // the end of what was seen is on screen
        assert!(s.contains("(not +89), map_pcpu_mon[2] +0"), "{s}");
        assert!(r.maps.is_some(), "{s}");
    }

    /// A box over the screen (hints, lessons, solution, reset and quit questions, help)
    /// changes exactly its own rectangle: around it every pane is drawn as before (walked:
    /// the hints at 160x45 looked as if they erased the maps pane up to the last column).
    #[test]
    fn overlays_cover_exactly_their_box() {
        use crossterm::event::KeyCode;
        let screen = |app: &App| {
            let mut term = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
            term.draw(|f| draw(f, app)).unwrap();
            term.backend().buffer().clone()
        };
        for size in [(80, 24), (160, 45)] {
            let opens: [Opener; 6] = [
                ("hints", |a| key(a, KeyCode::Char('h'))),
                ("lessons", |a| key(a, KeyCode::Char('l'))),
                ("help", |a| key(a, KeyCode::Char('?'))),
                ("reset", |a| key(a, KeyCode::Char('x'))),
                ("quit", |a| key(a, KeyCode::Char('q'))),
                ("solution", |a| key(a, KeyCode::Char('s'))),
            ];
            for (name, open) in opens {
                let mut app = walked(
                    "2",
                    3,
                    size,
                    &[("nexthdr_count", "percpu_array", &[(17, 1), (58, 2)])],
                );
                // passed: `s` shows the solution
                app.progress
                    .lesson(&app.lesson.id)
                    .passed
                    .insert("fix-verifier".into());
                let before = screen(&app);
                open(&mut app);
                let after = screen(&app);
                let area = before.area;
                let changed: Vec<(u16, u16)> = (0..area.height)
                    .flat_map(|y| (0..area.width).map(move |x| (x, y)))
                    .filter(|&(x, y)| before[(x, y)] != after[(x, y)])
                    .collect();
                assert!(!changed.is_empty(), "{name} at {size:?}: nothing drawn");
                let x0 = changed.iter().map(|c| c.0).min().unwrap();
                let x1 = changed.iter().map(|c| c.0).max().unwrap();
                let y0 = changed.iter().map(|c| c.1).min().unwrap();
                let y1 = changed.iter().map(|c| c.1).max().unwrap();
                // what changed is one box: its corners are the overlay's own
                let corners = [
                    after[(x0, y0)].symbol(),
                    after[(x1, y0)].symbol(),
                    after[(x0, y1)].symbol(),
                    after[(x1, y1)].symbol(),
                ];
                assert_eq!(
                    corners,
                    ["┌", "┐", "└", "┘"],
                    "{name} at {size:?}: changed {x0}..={x1} x {y0}..={y1}"
                );
                // and the box's rows outside it are as before
                for y in y0..=y1 {
                    for x in (0..x0).chain(x1 + 1..area.width) {
                        assert_eq!(
                            before[(x, y)],
                            after[(x, y)],
                            "{name} at {size:?} ({x}, {y})"
                        );
                    }
                }
            }
        }
    }
}
