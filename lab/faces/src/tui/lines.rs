//! The text of the panes that the layout sizes by their content and the view draws: the
//! current step, the topology, the exercise's check results. Pure functions of the state.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use super::markdown;
use super::state::{App, CheckView, Panel, PanelState, TopoView};

/// Width inside a bordered block.
pub fn inner_width(r: Rect) -> u16 {
    r.width.saturating_sub(2)
}

/// Does the current step's title fit on the step box's top border (` Step 10/11: Fix the
/// chain, reload, ping again `)? When it does not (a narrow screen), the border says
/// ` Step 10/11 ` and the title opens the box's text, whole.
pub fn step_title_fits(app: &App, width: u16) -> bool {
    let Some(s) = app.lesson.steps.get(app.step) else {
        return true;
    };
    let head = format!(
        " Step {}/{}: {} ",
        app.step + 1,
        app.lesson.steps.len(),
        s.title
    );
    head.width() <= width as usize
}

/// The step box's lines: the step's title when the border has no room for it, the step's
/// text, the command `r` runs.
pub fn step_lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let t = &app.theme;
    let Some(s) = app.lesson.steps.get(app.step) else {
        return vec![];
    };
    let w = width as usize;
    let mut lines = if step_title_fits(app, width) {
        vec![]
    } else {
        markdown::wrap(&[(s.title.clone(), t.strong())], w, Span::raw(""), "")
    };
    lines.extend(markdown::wrap(
        &[(s.text.clone(), Style::new())],
        w,
        Span::raw(""),
        "",
    ));
    if let Some(run) = &s.run {
        lines.extend(markdown::wrap(
            &[(run.clone(), t.code())],
            w,
            Span::styled("r runs ", t.key()),
            "       ",
        ));
    }
    lines
}

/// The topology as links: each line joins an interface of one node to its peer, with the
/// addresses below and the XDP program attached to either end.
/// The topology panel's lines: each link with its two ends (highlighted where an XDP
/// program is attached), then each end's addresses and program. `compact`: the links
/// alone, for a screen that must keep room for the counters and the trace below.
pub fn topo_lines(app: &App, width: u16, compact: bool) -> Vec<Line<'static>> {
    let t = &app.theme;
    let w = width as usize;
    let st = match &app.topo {
        TopoView::Unknown => return vec![Line::styled("reading…", t.dim())],
        TopoView::NeedsRoot => {
            return vec![
                Line::raw("needs root to read the lab's"),
                Line::raw("namespaces: `sudo eclat-lab`"),
            ];
        }
        TopoView::Error(e) => return vec![Line::styled(e.clone(), t.error())],
        TopoView::Status(st) => st,
    };
    if st.topology.is_none() {
        // compact (one line of room at 80x24): what is wrong and what to type, on one line
        if compact {
            return vec![Line::from(vec![
                Span::styled("no topology up: ", t.warn()),
                Span::styled(":topo up", t.code()),
            ])];
        }
        // three short lines: at 80x24 the panel is 34 cells wide (one line lost `:topo up`)
        return vec![
            Line::styled("no topology up", t.warn()),
            Line::from(vec![
                Span::styled("r", t.key()),
                Span::styled(" on the lesson's topo up step,", t.dim()),
            ]),
            Line::from(vec![
                Span::styled("or ", t.dim()),
                Span::styled(":topo up", t.code()),
            ]),
        ];
    }
    let conn = " ─── ";
    let cw = w.saturating_sub(conn.width()) / 2;
    let mut out = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    for n in &st.nodes {
        if !n.present {
            out.push(Line::styled(
                format!("{}: namespace missing", n.node),
                t.error(),
            ));
        }
        for i in &n.interfaces {
            let me = (n.node.clone(), i.dev.clone());
            if seen.contains(&me) {
                continue;
            }
            let Some((pn, pd)) = i.peer.split_once(':') else {
                continue;
            };
            seen.push((pn.to_string(), pd.to_string()));
            let peer = st
                .nodes
                .iter()
                .find(|x| x.node == pn)
                .and_then(|x| x.interfaces.iter().find(|y| y.dev == pd));
            let end_style = |i: &eclat_kernel::topo::IfStatus| {
                if i.xdp_prog_id.is_some() {
                    t.xdp()
                } else if !i.up {
                    t.error()
                } else {
                    t.strong()
                }
            };
            let lname = format!("{}:{}", n.node, i.dev);
            let rname = i.peer.clone();
            out.push(Line::from(vec![
                Span::styled(fit(&lname, cw), end_style(i)),
                Span::styled(conn, t.dim()),
                Span::styled(
                    fit(&rname, cw),
                    peer.map(end_style).unwrap_or_else(|| t.error()),
                ),
            ]));
            let xdp = |i: Option<&eclat_kernel::topo::IfStatus>| -> Option<String> {
                let i = i?;
                let mode = match i.xdp_mode.as_deref() {
                    Some("generic") => " (skb)",
                    _ => "",
                };
                match (&i.xdp_prog, i.xdp_prog_id) {
                    // narrow columns: the name alone (the interface is highlighted too)
                    (Some(p), _) if p.width() + mode.width() + 6 > cw => Some(format!("{p}{mode}")),
                    (Some(p), _) => Some(format!("xdp: {p}{mode}")),
                    (None, Some(id)) => Some(format!("xdp: id {id}")),
                    _ => None,
                }
            };
            let (lx, rx) = (xdp(Some(i)), xdp(peer));
            let xdp_line = (lx.is_some() || rx.is_some()).then(|| {
                Line::from(vec![
                    Span::styled(fit(&format!(" {}", lx.unwrap_or_default()), cw), t.xdp()),
                    Span::raw(" ".repeat(conn.width())),
                    Span::styled(fit(&format!(" {}", rx.unwrap_or_default()), cw), t.xdp()),
                ])
            });
            if compact {
                // the links, and under each the programs attached to its ends (lesson 6's
                // first step: "the drawing shows it")
                out.extend(xdp_line);
                continue;
            }
            let addrs = |i: Option<&eclat_kernel::topo::IfStatus>| -> Vec<String> {
                let Some(i) = i else {
                    return vec!["missing".into()];
                };
                // addresses without their prefix length, as many per line as fit
                // in the order `update` sorted them (see `App::sort_addresses`)
                let sorted = i.addresses.iter().map(|a| a.split('/').next().unwrap_or(a));
                let mut lines = vec![String::new()];
                for a in sorted {
                    let last = lines.last_mut().unwrap();
                    if last.is_empty() {
                        last.push_str(a);
                    } else if last.width() + 1 + a.width() <= cw {
                        last.push(' ');
                        last.push_str(a);
                    } else {
                        lines.push(a.to_string());
                    }
                }
                if !i.up {
                    lines.insert(0, "(down)".into());
                }
                lines
            };
            let la = addrs(Some(i));
            let ra = addrs(peer);
            // 12 of these fit an 80x24 screen: one address line when space is short
            let max_addr = if w < 44 { 1 } else { usize::MAX };
            let n_addr = la.len().max(ra.len()).min(max_addr);
            for k in 0..n_addr {
                let l = la.get(k).cloned().unwrap_or_default();
                let r = ra.get(k).cloned().unwrap_or_default();
                let (l, r) = if k + 1 == n_addr && n_addr < la.len().max(ra.len()) {
                    (
                        more(&l, la.len().saturating_sub(n_addr)),
                        more(&r, ra.len().saturating_sub(n_addr)),
                    )
                } else {
                    (l, r)
                };
                out.push(Line::from(vec![
                    Span::raw(fit(&format!(" {l}"), cw)),
                    Span::raw(" ".repeat(conn.width())),
                    Span::raw(fit(&format!(" {r}"), cw)),
                ]));
            }
            out.extend(xdp_line);
        }
        for p in &n.problems {
            out.push(Line::styled(format!("{}: {p}", n.node), t.error()));
        }
    }
    out
}

/// What a pane leaves out: how many, of what (one, many).
pub type Hidden = Vec<(usize, &'static str, &'static str)>;

/// The topology panel's lines in `room` rows, and what it leaves out (said on its border).
/// Compact and short of room: a first line names the attached XDP programs and where they
/// run (`xdp: xdp_counter on sut:enp6s0f0`), then as many links as fit.
pub fn topo_lines_in(
    app: &App,
    width: u16,
    compact: bool,
    room: usize,
) -> (Vec<Line<'static>>, Hidden) {
    let mut lines = topo_lines(app, width, compact);
    if lines.len() <= room {
        return (lines, vec![]);
    }
    let progs: Vec<String> = match &app.topo {
        TopoView::Status(st) => st
            .nodes
            .iter()
            .flat_map(|n| {
                n.interfaces.iter().filter_map(move |i| {
                    let p = i
                        .xdp_prog
                        .clone()
                        .or(i.xdp_prog_id.map(|id| format!("id {id}")))?;
                    Some(format!("{p} on {}:{}", n.node, i.dev))
                })
            })
            .collect(),
        _ => vec![],
    };
    if !compact || progs.is_empty() || room == 0 {
        let hidden = lines.len() - room;
        lines.truncate(room);
        let what = if compact {
            ("link", "links")
        } else {
            ("line", "lines")
        };
        return (lines, vec![(hidden, what.0, what.1)]);
    }
    // the links alone below the summary (the lines under them are their ends' programs,
    // which the summary names): a line that starts with a space is one of those
    let links: Vec<Line<'static>> = lines
        .into_iter()
        .filter(|l| l.spans.first().is_none_or(|s| !s.content.starts_with(' ')))
        .collect();
    // as many programs as fit whole, the others counted on the border
    let mut summary = String::from("xdp:");
    let mut named = 0;
    for p in &progs {
        let sep = if named == 0 { " " } else { ", " };
        if summary.width() + sep.width() + p.width() > width as usize && named > 0 {
            break;
        }
        summary.push_str(sep);
        summary.push_str(p);
        named += 1;
    }
    let mut out = vec![Line::styled(
        fit(&summary, width as usize).trim_end().to_string(),
        app.theme.xdp(),
    )];
    let shown = (room - 1).min(links.len());
    let hidden = links.len() - shown;
    out.extend(links.into_iter().take(shown));
    (
        out,
        vec![
            (hidden, "link", "links"),
            (progs.len() - named, "program", "programs"),
        ],
    )
}

/// Fits `s` into `w` cells, marking a cut with `…`.
pub fn fit(s: &str, w: usize) -> String {
    if s.width() <= w {
        return format!("{s:<w$}");
    }
    let mut out = String::new();
    for c in s.chars() {
        if out.width() + 1 >= w {
            break;
        }
        out.push(c);
    }
    out.push('…');
    format!("{out:<w$}")
}

pub fn more(s: &str, n: usize) -> String {
    if n == 0 {
        s.to_string()
    } else {
        format!("{s} +{n}")
    }
}

/// The check panel's lines: one per check (✓/✗), expected and seen for the failed one,
/// and which hint applies.
pub fn check_lines(app: &App, width: u16) -> Vec<Line<'static>> {
    check_report_lines(app, width, false, usize::MAX)
}

/// The check panel's lines in `room` rows: when the whole report does not fit, the checks
/// that passed fold into one line, so a failure (what, expected, seen, the hint) or the
/// keys after a pass stay in view (walked at 80x24: lesson 6's guard showed two passed
/// checks and "…", the failing one below the panel's last row).
///
/// Folded and still too long, the failed check's description gives up its last lines (cut
/// with `…`; z shows it whole) down to one, so that what was expected and what was seen stay
/// (walked at 80x24: lesson 4's rewrite check took 7 lines to say which packet, the maps set
/// and the frame expected, and "seen: the IPv4 header checksum differs at byte 24" was
/// behind z).
pub fn check_lines_in(app: &App, width: u16, room: usize) -> Vec<Line<'static>> {
    let all = check_report_lines(app, width, false, usize::MAX);
    let CheckView::Done(rep) = &app.check else {
        return all;
    };
    if all.len() <= room {
        return all;
    }
    let folded = check_report_lines(app, width, true, usize::MAX);
    let what_len = rep
        .results
        .iter()
        .find(|r| !r.passed && !r.not_possible)
        .map_or(0, |r| {
            wrap(
                &r.what,
                Style::default(),
                width as usize,
                Span::raw("✗ "),
                "  ",
            )
            .len()
        });
    if folded.len() <= room || what_len <= 1 {
        return folded;
    }
    let keep = what_len.saturating_sub(folded.len() - room).max(1);
    check_report_lines(app, width, true, keep)
}

/// The check panel's lines; `what_room`: the failed check's description in at most that
/// many lines, the last one ending in `…` when it is cut.
fn check_report_lines(
    app: &App,
    width: u16,
    fold_passed: bool,
    what_room: usize,
) -> Vec<Line<'static>> {
    let t = &app.theme;
    let w = width as usize;
    let Some(ex) = app.current_exercise() else {
        return vec![Line::styled("this lesson has no exercise", t.dim())];
    };
    let mut out = Vec::new();
    match &app.check {
        CheckView::NotRun => {
            out.extend(wrap(&ex.title, t.strong(), w, Span::raw(""), ""));
            out.push(Line::from(vec![
                Span::styled("c", t.key()),
                Span::styled(" checks your copy, ", t.dim()),
                Span::styled("e", t.key()),
                Span::styled(" edits it", t.dim()),
            ]));
        }
        CheckView::Running => out.push(Line::styled(format!("⟳ checking {}…", ex.file), t.warn())),
        CheckView::Error(e) => {
            out.extend(wrap(e, t.error(), w, Span::styled("✗ ", t.error()), "  "));
        }
        CheckView::Done(rep) => {
            // one passed check is one line either way: folded, two or more
            let passed = rep.results.iter().filter(|r| r.passed).count();
            let fold = fold_passed && passed > 1;
            if fold {
                out.push(Line::from(vec![
                    Span::styled("✓ ", t.spark()),
                    Span::styled(format!("{passed} check(s) passed"), t.plain()),
                ]));
            }
            for r in &rep.results {
                if r.passed && fold {
                    continue;
                }
                if r.passed {
                    out.extend(wrap(
                        &r.what,
                        t.plain(),
                        w,
                        Span::styled("✓ ", t.spark()),
                        "  ",
                    ));
                    continue;
                }
                if r.not_possible {
                    out.extend(wrap(
                        &r.what,
                        t.plain(),
                        w,
                        Span::styled("– ", t.dim()),
                        "  ",
                    ));
                    out.extend(wrap(
                        &format!("not possible on this machine: {}", r.seen),
                        t.warn(),
                        w,
                        Span::raw("  "),
                        "  ",
                    ));
                    continue;
                }
                let mut what = wrap(&r.what, t.strong(), w, Span::styled("✗ ", t.error()), "  ");
                if what.len() > what_room {
                    // a cell kept for the mark at the end of the last line kept
                    what = wrap(
                        &r.what,
                        t.strong(),
                        w.saturating_sub(1),
                        Span::styled("✗ ", t.error()),
                        "  ",
                    );
                    what.truncate(what_room);
                    if let Some(last) = what.last_mut() {
                        last.spans.push(Span::styled("…", t.warn()));
                    }
                }
                out.extend(what);
                if r.compiler_output.is_some() {
                    // the compiler's own lines below say what was seen, and where (`seen` is
                    // their first error in one line)
                    out.extend(markdown::wrap(
                        &[(r.expected.clone(), t.plain()), (", seen:".into(), t.dim())],
                        w,
                        Span::styled("  expected ", t.dim()),
                        "  ",
                    ));
                } else if fold_passed {
                    // short of room: what was expected and what was seen on one line
                    out.extend(markdown::wrap(
                        &[
                            (r.expected.clone(), t.plain()),
                            (", seen ".into(), t.dim()),
                            (r.seen.clone(), t.warn()),
                        ],
                        w,
                        Span::styled("  expected ", t.dim()),
                        "  ",
                    ));
                } else {
                    out.extend(wrap(
                        &r.expected,
                        t.plain(),
                        w,
                        Span::styled("  expected ", t.dim()),
                        "           ",
                    ));
                }
                if !fold_passed && r.compiler_output.is_none() {
                    out.extend(wrap(
                        &r.seen,
                        t.warn(),
                        w,
                        Span::styled("  seen     ", t.dim()),
                        "           ",
                    ));
                }
                if let Some(said) = &r.compiler_output {
                    out.extend(compiler_lines(said, t.code(), w, fold_passed));
                }
                if let Some(h) = r.hint {
                    out.push(Line::from(vec![
                        Span::styled(format!("  hint {} applies: ", h + 1), t.dim()),
                        Span::styled("h", t.key()),
                        Span::styled(" shows hints", t.dim()),
                    ]));
                }
            }
            let left = ex.checks.len().saturating_sub(rep.results.len());
            if left > 0 {
                out.push(Line::styled(
                    format!("· {left} more check(s) run once this one passes"),
                    t.dim(),
                ));
            }
            if rep.passed {
                out.push(Line::from(vec![
                    Span::styled("s", t.key()),
                    Span::styled(" shows the reference solution, ", t.dim()),
                    Span::styled("n", t.key()),
                    Span::styled(" moves on", t.dim()),
                ]));
            }
        }
    }
    out
}

/// A compiler's own lines under a failed check (`compile`'s diagnostics, clang's errors),
/// two cells in, each with its spacing: the marks under a source line point at its columns.
/// A source line, or the marks under one, wider than the panel is cut (`…`; z shows it
/// whole): going on below, a mark would point at another column. Any other line goes on
/// below, indented past where it starts, never cut (the place, `file:line:col`, is at the end
/// of a diagnostic's first line; the help at the end of its last). `short` of room, the lines
/// that are only a margin (`    │`) are left out: they hold no text.
pub fn compiler_lines(text: &str, style: Style, w: usize, short: bool) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for l in text.lines() {
        if short && l.trim().chars().all(|c| c == '│' || c == '|') {
            continue;
        }
        let l = markdown::expand_tabs(l.trim_end());
        if source_margin(&l) && l.width() + 2 > w {
            let cut = fit(&l, w.saturating_sub(2)).trim_end().to_string();
            out.push(Line::from(vec![Span::raw("  "), Span::styled(cut, style)]));
            continue;
        }
        let indent = l.width() - l.trim_start().width();
        let rest = " ".repeat((2 + indent + 2).min(w / 2));
        out.extend(markdown::wrap_verbatim(
            &l,
            style,
            w,
            Span::raw("  "),
            &rest,
        ));
    }
    out
}

/// Is `line` a line of a compiler's source excerpt: a source line or the marks under it,
/// behind its margin (`  22 │ ...`, `     |   ^~~`), not the help or a note written there?
fn source_margin(line: &str) -> bool {
    let t = line
        .trim_start()
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start();
    match t.strip_prefix(|c| c == '│' || c == '|') {
        Some(after) => {
            let after = after.trim_start();
            !(after.starts_with("Help:") || after.starts_with("Note:"))
        }
        None => false,
    }
}

/// Rows the check panel wants (with its border).
pub fn check_height(app: &App, width: u16) -> u16 {
    check_lines(app, inner_width(Rect::new(0, 0, width, 1))).len() as u16 + 2
}

pub fn wrap(
    text: &str,
    style: Style,
    w: usize,
    first: Span<'static>,
    rest: &str,
) -> Vec<Line<'static>> {
    markdown::wrap(&[(text.to_string(), style)], w, first, rest)
}

/// A map panel's head: the map's name, how its values are shown, and the lesson's title
/// for it, wrapped to the panel's width (never cut); `compact` (the panels do not all fit
/// the pane): on one line, the title cut with `…` (the rows are what the steps point at;
/// `z` shows the titles whole).
pub fn panel_head(app: &App, p: &Panel, width: u16, compact: bool) -> Vec<Line<'static>> {
    let t = &app.theme;
    let kind = match &p.state {
        PanelState::Loaded { per_cpu: true, .. } => " (Σ per-CPU)".to_string(),
        PanelState::Loaded { map_type, .. } => format!(" ({map_type})"),
        _ => String::new(),
    };
    if compact {
        let w = width as usize;
        let name = fit(&p.spec.name, w).trim_end().to_string();
        let room = w.saturating_sub(name.width());
        let mut spans = vec![Span::styled(name, t.accent())];
        // the title before the kind: it says what the rows count
        let rest = format!(" {}", p.spec.title);
        if room > 1 {
            spans.push(Span::styled(
                fit(&rest, room).trim_end().to_string(),
                t.dim(),
            ));
        }
        return vec![Line::from(spans)];
    }
    markdown::wrap(
        &[
            (p.spec.name.clone(), t.accent()),
            (kind, t.dim()),
            (format!(" {}", p.spec.title), t.dim()),
        ],
        width as usize,
        Span::raw(""),
        "  ",
    )
}

/// Rows a panel shows below its head (`(empty)`, `not loaded yet`, an error: one).
pub fn panel_rows(p: &Panel) -> usize {
    match &p.state {
        PanelState::Loaded { rows, .. } => rows.len().max(1),
        _ => 1,
    }
}

/// The current step's watched panels (`watch` in its manifest: the counters its text points
/// at), as indices into `app.panels`, in the lesson's order.
pub fn watched(app: &App) -> Vec<usize> {
    let Some(st) = app.lesson.steps.get(app.step) else {
        return vec![];
    };
    (0..app.panels.len())
        .filter(|&i| st.watch.contains(&app.panels[i].spec.name))
        .collect()
}

/// The order the maps pane shows its panels in: the lesson's, or, when they do not all fit
/// whole (`compact`), the step's watched panels first, so that what the step talks about is
/// on screen and the rest below (`+2 maps: Tab, z zooms`).
pub fn panel_order(app: &App, compact: bool) -> Vec<usize> {
    let mut order = if compact { watched(app) } else { vec![] };
    let rest: Vec<usize> = (0..app.panels.len())
        .filter(|i| !order.contains(i))
        .collect();
    order.extend(rest);
    order
}

/// The maps pane's height at `width` (borders included) that shows the step's watched
/// panels whole, heads compact (they come first then); 0 when the step watches none.
pub fn watch_height(app: &App, width: u16) -> u16 {
    let w = watched(app);
    if w.is_empty() {
        return 0;
    }
    let inner = inner_width(Rect::new(0, 0, width, 1));
    let lines: usize = w
        .iter()
        .map(|&i| panel_head(app, &app.panels[i], inner, true).len() + panel_rows(&app.panels[i]))
        .sum();
    lines as u16 + 2
}

/// The lines of the maps pane's content at `inner` cells wide, heads `compact` or not.
pub fn maps_lines(app: &App, inner: u16, compact: bool) -> usize {
    app.panels
        .iter()
        .map(|p| panel_head(app, p, inner, compact).len() + panel_rows(p))
        .sum()
}

/// Whether the maps pane `area` (borders included) shows its panels' heads compact: when
/// they do not all fit whole.
pub fn maps_compact(app: &App, area: Rect) -> bool {
    maps_lines(app, inner_width(area), false) > area.height.saturating_sub(2) as usize
}

/// The maps pane's height at `width` (borders included).
pub fn maps_height(app: &App, width: u16) -> u16 {
    maps_lines(app, inner_width(Rect::new(0, 0, width, 1)), false) as u16 + 2
}

/// What a pane does not show, said on its bottom border in `width` cells: `+1 more map,
/// +2 more rows: z zooms` (a pane never cuts its content without saying so), shorter where
/// the border is narrow (`+3 links, +1 program: z`).
pub fn hidden_note(
    what: &[(usize, &'static str, &'static str)],
    keys: &str,
    width: u16,
) -> Option<String> {
    let shown: Vec<_> = what.iter().filter(|(n, _, _)| *n > 0).collect();
    if shown.is_empty() {
        return None;
    }
    let short_keys = keys
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches(',');
    let mut last = String::new();
    for (more, keys) in [
        (true, keys),
        (false, keys),
        (false, short_keys),
        (false, ""),
    ] {
        let parts: Vec<String> = shown
            .iter()
            .map(|(n, one, many)| {
                let what = if *n == 1 { one } else { many };
                if more {
                    format!("{n} more {what}")
                } else {
                    format!("{n} {what}")
                }
            })
            .collect();
        let parts = parts.join(", +");
        last = if keys.is_empty() {
            format!(" +{parts} ")
        } else {
            format!(" +{parts}: {keys} ")
        };
        if last.width() + 2 <= width as usize {
            break;
        }
    }
    Some(last)
}
