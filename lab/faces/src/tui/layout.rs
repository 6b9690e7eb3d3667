//! The layout: where each pane goes for a terminal size and a state. One function of the
//! state, shared by the view (drawing) and the update (scrolling; which panes are visible,
//! and so polled or traced).

use ratatui::layout::Rect;

pub use super::lines::inner_width;
use super::lines::{check_height, maps_height, step_lines, topo_lines, watch_height};
use super::state::{App, CheckView, Focus};

/// Where each part of the screen goes. `None`: not shown at this size (or zoomed away).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Regions {
    pub header: Rect,
    pub step: Option<Rect>,
    pub text: Option<Rect>,
    pub topo: Option<Rect>,
    pub maps: Option<Rect>,
    pub log: Option<Rect>,
    /// the exercise's check results (in place of the lesson text)
    pub check: Option<Rect>,
    /// the verifier's explanation (below the check results)
    pub verifier: Option<Rect>,
    /// the chain-trace timeline (below the maps)
    pub trace: Option<Rect>,
    /// the topology shows its links only (to leave the counters and the trace room)
    pub topo_compact: bool,
    /// a narrow screen (below `STACKED_BELOW` columns): the step and the text take the whole
    /// width, the counters share the bottom with the event log (at its right), and the
    /// topology takes the text's place while focused (Tab) or zoomed
    pub stacked: bool,
    pub cmd: Rect,
    pub status: Rect,
}

/// The lines of output the event log shows at least, from 80x24 up.
pub const LOG_MIN: u16 = 5;

/// Below this width the lab's column (topology, counters) would leave the lesson text under
/// 60 columns (42 at 80x24, 6 rows of it: ~250 characters a page): the screen is stacked
/// instead (`Regions::stacked`).
pub const STACKED_BELOW: u16 = 100;

/// Stacked, the counters' width at the bottom's right: a row's label, value and rate (the
/// 34 columns the lab's column gave them at 80x24), more on a wider screen, at most half.
fn stacked_maps_width(width: u16) -> u16 {
    (width * 9 / 20).clamp(36, 44).min(width / 2)
}

pub fn rows(r: Rect, y: u16, h: u16) -> Rect {
    Rect::new(r.x, y, r.width, h)
}

/// The pane that zoom and the Tab cycle refer to.
pub fn pane(app: &App) -> Focus {
    if app.focus == Focus::Command {
        app.last_pane
    } else {
        app.focus
    }
}

pub fn step_height(app: &App, width: u16) -> u16 {
    (step_lines(app, inner_width(Rect::new(0, 0, width, 1))).len() as u16 + 2).min(10)
}

pub fn topo_height(app: &App, width: u16, compact: bool) -> u16 {
    topo_lines(app, inner_width(Rect::new(0, 0, width, 1)), compact).len() as u16 + 2
}

/// The layout for `area`: a header line, the lesson (step and text) on the left, the lab
/// (topology, maps) on the right, the event log across the bottom, the command line and the
/// status line. Below `STACKED_BELOW` columns the lesson takes the whole width instead, the
/// counters share the bottom with the log, and the topology is one Tab away (`stacked`);
/// short terminals lose the right column; zoom gives one pane everything.
pub fn regions(app: &App, area: Rect) -> Regions {
    let h = area.height;
    let header = Rect::new(area.x, area.y, area.width, 1.min(h));
    let status = Rect::new(area.x, area.y + h.saturating_sub(1), area.width, 1.min(h));
    let cmd = Rect::new(area.x, area.y + h.saturating_sub(2), area.width, 1.min(h));
    let body_h = h.saturating_sub(3);
    let body = Rect::new(area.x, area.y + 1.min(h), area.width, body_h);
    let mut r = Regions {
        header,
        step: None,
        text: None,
        topo: None,
        maps: None,
        log: None,
        check: None,
        verifier: None,
        trace: None,
        topo_compact: false,
        stacked: area.width < STACKED_BELOW,
        cmd,
        status,
    };
    let verifier_on = app.show_check && app.verifier.is_some();
    // the check box is for the lesson's exercise (`module build` has only the verifier's)
    let has_ex = app.current_exercise().is_some();
    if app.zoom {
        match pane(app) {
            Focus::Topology => r.topo = Some(body),
            Focus::Maps => r.maps = Some(body),
            Focus::Log => r.log = Some(body),
            Focus::Trace if app.uses_chains => r.trace = Some(body),
            Focus::Verifier if verifier_on => {
                let ch = if has_ex {
                    check_height(app, body.width).min(body_h / 3)
                } else {
                    0
                };
                if ch > 0 {
                    r.check = Some(rows(body, body.y, ch));
                }
                r.verifier = Some(rows(body, body.y + ch, body_h - ch));
            }
            _ => {
                let sh = step_height(app, body.width).min(body_h / 3);
                r.step = Some(rows(body, body.y, sh));
                if app.show_check && has_ex {
                    let ch = check_height(app, body.width).min(body_h - sh);
                    r.check = Some(rows(body, body.y + sh, ch));
                    if body_h - sh - ch >= 3 {
                        r.text = Some(rows(body, body.y + sh + ch, body_h - sh - ch));
                    }
                } else {
                    r.text = Some(rows(body, body.y + sh, body_h - sh));
                }
            }
        }
        return r;
    }
    // the event log across the bottom: at least LOG_MIN lines of output (a command's reply,
    // a check's result) wherever the step and the text still fit above it
    // the verifier's explanation, or a compiler's lines in the check panel: what to read
    let reading = verifier_on || (app.compiler_shown() && has_ex);
    let log_h = if r.stacked {
        // the log and the counters share the bottom: 7 rows of counters at 80x24 (lesson 8's
        // decisions and its samples), 5 of text above; less while an explanation is read, or
        // a failed check's results (they take the text's place, and need the room: lesson 8's
        // blacklist-code lost 2 of its 7 lines, the rest only in the 42-column log)
        let failed = app.show_check
            && has_ex
            && match &app.check {
                CheckView::Done(rep) => !rep.passed,
                CheckView::Error(_) => true,
                _ => false,
            };
        if body_h >= 18 && !reading && !failed {
            // the counters the step points at (`watch`) whole, when the step and 3 lines of
            // text still fit above them: lesson 4's "watch both panels" needs 10 rows at
            // 80x24, where 9 hid b3's row of the second panel
            let want = watch_height(app, stacked_maps_width(area.width));
            let room = body_h.saturating_sub(step_height(app, area.width) + 5);
            (body_h * 3 / 7).clamp(9, 14).max(want.min(room))
        } else if body_h >= 14 {
            6
        } else if body_h >= 9 {
            4
        } else {
            0
        }
    } else if body_h >= 18 && reading && body_h < 27 {
        // the verifier's explanation (or the compiler's) is what to read then, and it needs
        // the room
        5
    } else if body_h >= 18 {
        (body_h / 4).clamp(LOG_MIN + 2, 12)
    } else if body_h >= 14 {
        5
    } else if body_h >= 9 {
        4
    } else {
        0
    };
    if log_h > 0 {
        let bottom = rows(body, body.y + body_h - log_h, log_h);
        // stacked, the counters go right of the log (a lesson without maps leaves the log
        // the whole width; a terminal smaller than 72x17 has no room for them, as it had no
        // lab column)
        let mw = if r.stacked && !app.panels.is_empty() && log_h >= 6 && area.width >= 72 {
            stacked_maps_width(area.width)
        } else {
            0
        };
        r.log = Some(Rect::new(bottom.x, bottom.y, bottom.width - mw, log_h));
        if mw > 0 {
            r.maps = Some(Rect::new(bottom.x + bottom.width - mw, bottom.y, mw, log_h));
        }
    }
    let upper_h = body_h - log_h;
    let upper = rows(body, body.y, upper_h);
    let (left, right) = if !r.stacked && area.width >= 72 && upper_h >= 10 {
        let rw = (area.width * 2 / 5).clamp(36, 64);
        let lw = area.width - rw;
        (
            Rect::new(upper.x, upper.y, lw, upper_h),
            Some(Rect::new(upper.x + lw, upper.y, rw, upper_h)),
        )
    } else {
        (upper, None)
    };
    // the check and verifier panels take the text's place; on a short screen the step too
    // the step whole (what to do next) when 4 rows of text still fit below it (at 80x24 a
    // step with a long command, or a title too long for the border, needs 9 or 10 rows:
    // walked in lessons 6-10, 14 steps of 10 lessons lost the end of their text)
    let mut sh = step_height(app, left.width).min(upper_h.saturating_sub(4).max(upper_h / 2));
    if reading && upper_h < 24 {
        // the explanation needs the room; the step keeps its title and command
        sh = sh.min(3);
    }
    let (below_y, below_h) = if sh >= 3 {
        r.step = Some(rows(left, left.y, sh));
        (left.y + sh, upper_h - sh)
    } else {
        (left.y, upper_h)
    };
    let below = rows(left, below_y, below_h);
    if verifier_on || (app.show_check && has_ex) {
        let want = check_height(app, left.width);
        if verifier_on {
            let ch = if !has_ex {
                0
            } else if below_h >= want + 12 {
                want
            } else {
                want.min(below_h / 3).max(3.min(below_h))
            };
            if ch > 0 {
                r.check = Some(rows(below, below.y, ch));
            }
            r.verifier = Some(rows(below, below.y + ch, below_h - ch));
        } else {
            let ch = if below_h >= want + 6 { want } else { below_h };
            r.check = Some(rows(below, below.y, ch));
            if below_h > ch {
                r.text = Some(rows(below, below.y + ch, below_h - ch));
            }
        }
    } else {
        r.text = Some(below);
    }
    if let Some(right) = right {
        let mh = maps_height(app, right.width);
        // what must fit below the topology: the counters, and the timeline in a chain lesson
        let below_want = if app.uses_chains { mh + 7 } else { mh };
        let full = topo_height(app, right.width, false);
        r.topo_compact = full + below_want > upper_h;
        // the counters are what the steps point at: on a short screen the topology gives
        // them its room, down to its title and first link
        let maps_min = mh.min(upper_h.saturating_sub(3)).max(4);
        let mut th = topo_height(app, right.width, r.topo_compact).min(upper_h - maps_min);
        if r.topo_compact && upper_h >= below_want + 3 {
            // compact, the topology takes what the counters and the timeline leave, down to
            // one line (which then names the attached programs: `lines::topo_lines_in`)
            th = th.min(upper_h - below_want);
        }
        r.topo = Some(Rect::new(right.x, right.y, right.width, th));
        let rest = Rect::new(right.x, right.y + th, right.width, upper_h - th);
        r.maps = Some(rest);
        if app.uses_chains {
            // the timeline below the counters when there is room, else in their place
            // while focused (Tab), or zoomed (z)
            if rest.height >= mh + 7 {
                r.maps = Some(rows(rest, rest.y, mh));
                r.trace = Some(rows(rest, rest.y + mh, rest.height - mh));
            } else if pane(app) == Focus::Trace {
                r.maps = None;
                r.trace = Some(rest);
            }
        }
    } else if app.uses_chains && pane(app) == Focus::Trace {
        r.text = None;
        r.check = None;
        r.verifier = None;
        r.trace = Some(below);
    } else if r.stacked && pane(app) == Focus::Topology {
        // the topology in the text's place while focused; the step stays (what to do), and
        // says on its border how to get the text back (`view::draw_step`)
        r.text = None;
        r.check = None;
        r.verifier = None;
        r.topo_compact = topo_height(app, below.width, false) > below.height;
        r.topo = Some(below);
    }
    if pane(app) == Focus::Verifier && r.verifier.is_none() && verifier_on {
        r.text = None;
        r.check = None;
        r.verifier = Some(below);
    }
    r
}
