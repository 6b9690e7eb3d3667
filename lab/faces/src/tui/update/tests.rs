//! The update, fed events key by key.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use eclat_course::lessons;
use eclat_course::{Progress, ProgressOp};
use eclat_service::maps::Sample;

use super::jobs::traffic_ends;
use super::*;
use crate::commands::{Cmd, LessonCmd, MapCmd, Update};
use crate::tui::fake;
use crate::tui::state::{
    CheckView, Focus, Overlay, PanelState, Queued, Replayed, TRAFFIC_PPS, TraceKind,
};
use crate::tui::theme::Theme;

pub(crate) fn key(c: KeyCode) -> Event {
    Event::Key(KeyEvent::new(c, KeyModifiers::NONE))
}
fn ctrl(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}
/// A fresh app on lesson `id`, as root, not started.
fn app_on(id: &str) -> App {
    App::new(
        lessons::find(id).unwrap(),
        true,
        Theme { color: false },
        (120, 40),
        Instant::now(),
    )
}
fn app() -> App {
    let mut a = app_on("1");
    a.start();
    a
}
fn typed(app: &mut App, s: &str) -> Vec<Effect> {
    let mut fx = Vec::new();
    for c in s.chars() {
        fx.extend(update(app, key(KeyCode::Char(c))));
    }
    fx
}

#[test]
fn steps_move_with_n_and_p_and_stay_in_range() {
    let mut a = app();
    let n = a.lesson.steps.len();
    update(&mut a, key(KeyCode::Char('p')));
    assert_eq!(a.step, 0);
    for _ in 0..n + 3 {
        update(&mut a, key(KeyCode::Char('n')));
    }
    assert_eq!(a.step, n - 1);
    update(&mut a, key(KeyCode::Char('p')));
    assert_eq!(a.step, n - 2);
}

/// The first line of the lesson text the pane shows.
fn text_top(a: &mut App) -> String {
    a.sync_text_cache();
    let lines = &a.text_cache.as_ref().unwrap().1;
    let l = &lines[a.text_scroll.min(lines.len() - 1)];
    l.spans.iter().map(|s| s.content.as_ref()).collect()
}

/// The text follows the step while it is hidden (a tall check panel leaves it no room, or
/// another pane is zoomed): walked in lesson 4, `v` after the drain check showed "When the
/// set of backends changes", the section of four steps before.
#[test]
fn the_hidden_lesson_text_still_follows_the_step() {
    let mut a = app_on("4");
    a.start();
    update(&mut a, Event::Topo(Ok(fake::status_of("lb-lab", &[]))));
    let shrink = a
        .lesson
        .steps
        .iter()
        .position(|s| s.run.as_deref() == Some("map set lb_service 0 2"))
        .unwrap();
    a.set_step(shrink, &mut Vec::new());
    assert_eq!(text_top(&mut a).trim(), "When the set of backends changes");
    a.focus = Focus::Log;
    a.zoom = true;
    assert!(
        a.text_width().is_none(),
        "the zoomed log takes the text's place"
    );
    let drain = a
        .lesson
        .steps
        .iter()
        .position(|s| s.run.as_deref() == Some("lesson check 4 drain"))
        .unwrap();
    a.set_step(drain, &mut Vec::new());
    a.zoom = false;
    assert_eq!(text_top(&mut a).trim(), "Exercise 2: drain a backend");
}

#[test]
fn the_lesson_text_follows_the_step_and_keeps_a_hand_scroll() {
    let mut a = app();
    assert_eq!(a.text_scroll, 0);
    let drop = a
        .lesson
        .steps
        .iter()
        .position(|s| s.run.as_deref() == Some("map set verdict 0 DROP"))
        .unwrap();
    while a.step < drop {
        update(&mut a, key(KeyCode::Char('n')));
    }
    assert_eq!(text_top(&mut a).trim(), "Dropping");
    // a new width keeps the text at the step's place
    update(&mut a, Event::Resize(100, 30));
    assert_eq!(text_top(&mut a).trim(), "Dropping");
    // scrolled by hand, it stays where the learner put it until the step changes
    update(&mut a, key(KeyCode::Tab));
    let before = a.text_scroll;
    a.scroll_text(2);
    assert_eq!(a.text_scroll, before + 2);
    update(&mut a, Event::Resize(120, 40));
    assert_ne!(text_top(&mut a).trim(), "Dropping");
    update(&mut a, key(KeyCode::Char('p')));
    assert!(a.text_scroll < before);
}

#[test]
fn r_runs_the_current_step_once_at_a_time() {
    let mut a = app();
    let fx = update(&mut a, key(KeyCode::Char('r')));
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::Run {
                job: 1,
                cmd: Cmd::Topo(crate::commands::TopoCmd::Up { .. })
            }]
        ),
        "{fx:?}"
    );
    assert_eq!(a.log.last().unwrap().text, "$ topo up");
    // a second run while the first is still going waits for it, and says so
    update(&mut a, key(KeyCode::Char('n')));
    let fx = update(&mut a, key(KeyCode::Char('r')));
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(
        a.log.last().unwrap().text,
        "$ topo up",
        "nothing splits its output"
    );
    assert_eq!(a.queue.len(), 1);
    // Ctrl-C stops the running one; its end is logged, the topology is read again, and
    // the queued one starts after it, under its own command line
    let fx = update(&mut a, ctrl('c'));
    assert!(matches!(fx.as_slice(), [Effect::Stop(1)]), "{fx:?}");
    let fx = update(
        &mut a,
        Event::JobDone {
            job: 1,
            result: Ok(fake::reply("topology hike-lab up")),
        },
    );
    assert!(
        matches!(
            fx.as_slice(),
            [Effect::RefreshTopo, Effect::Run { job: 2, .. }]
        ),
        "{fx:?}"
    );
    let texts: Vec<&str> = a
        .log
        .iter()
        .rev()
        .take(2)
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(texts[1], "topology hike-lab up");
    assert!(texts[0].starts_with("$ exec tg"), "{texts:?}");
    assert!(a.queue.is_empty());
}

/// Jobs asked for while another runs start in order, each after the one before it ended,
/// and each one's output stays under its own command line: a check asked for (key `c`, or
/// the `lesson check` command) while `exec` runs is not dropped, and starts only once exec
/// printed everything, also when exec was stopped and still prints on its way out.
#[test]
fn jobs_queued_while_another_runs_start_in_order_with_their_output_together() {
    let mut a = app_on("3");
    a.start();
    let exec = "exec --bpf-stats tg -- ping -6 -c 2 fc01::2";
    update(&mut a, key(KeyCode::Char(':')));
    typed(&mut a, exec);
    let fx = update(&mut a, key(KeyCode::Enter));
    let exec_job = match fx.as_slice() {
        [Effect::Run { job, .. }] => *job,
        other => panic!("{other:?}"),
    };
    update(&mut a, key(KeyCode::Esc));
    // c, then a typed `lesson check` and a command: all wait, nothing starts
    assert!(update(&mut a, key(KeyCode::Char('c'))).is_empty());
    update(&mut a, key(KeyCode::Char(':')));
    typed(&mut a, "map list");
    assert!(update(&mut a, key(KeyCode::Enter)).is_empty());
    update(&mut a, key(KeyCode::Esc));
    assert_eq!(a.queue.len(), 2, "{:?}", a.queue);
    // exec's lines come, then its end
    update(
        &mut a,
        Event::JobUpdate(
            exec_job,
            Update::Output {
                line: "64 bytes from fc01::2".into(),
            },
        ),
    );
    let fx = update(
        &mut a,
        Event::JobDone {
            job: exec_job,
            result: Ok(fake::reply("exec done")),
        },
    );
    let check_job = fx
        .iter()
        .find_map(|e| match e {
            Effect::Check { job, .. } => Some(*job),
            _ => None,
        })
        .unwrap_or_else(|| panic!("the queued check starts: {fx:?}"));
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Run { .. })),
        "one at a time: {fx:?}"
    );
    let log: Vec<String> = a.log.iter().map(|l| l.text.clone()).collect();
    let at = |p: &str| {
        log.iter()
            .rposition(|l| l.starts_with(p))
            .unwrap_or_else(|| panic!("`{p}` in {log:#?}"))
    };
    assert!(at(&format!("$ {exec}")) < at("64 bytes"));
    assert!(at("64 bytes") < at("exec done"));
    assert!(at("exec done") < at("$ lesson check 3"));
    // the check ends: the command queued after it starts
    let fx = update(
        &mut a,
        Event::JobDone {
            job: check_job,
            result: Err(JobError {
                text: "stopped".into(),
                rejected: None,
                stopped: true,
                finishing: false,
            }),
        },
    );
    let list_job = fx
        .iter()
        .find_map(|e| match e {
            Effect::Run {
                job,
                cmd: Cmd::Map(_),
            } => Some(*job),
            _ => None,
        })
        .unwrap_or_else(|| panic!("`map list` starts: {fx:?}"));
    // a stopped job that still prints on its way out holds the queue until it ended
    update(&mut a, key(KeyCode::Char('c')));
    assert_eq!(a.queue.len(), 1);
    let fx = update(
        &mut a,
        Event::JobDone {
            job: list_job,
            result: Err(JobError {
                text: "stopped".into(),
                rejected: None,
                stopped: true,
                finishing: true,
            }),
        },
    );
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Check { .. })),
        "{fx:?}"
    );
    update(
        &mut a,
        Event::Note(LogKind::Output, "its last words".into()),
    );
    let fx = update(&mut a, Event::JobEnded(list_job));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Check { .. })),
        "{fx:?}"
    );
    let log: Vec<String> = a.log.iter().map(|l| l.text.clone()).collect();
    let last_words = log.iter().rposition(|l| l == "its last words").unwrap();
    let check = log
        .iter()
        .rposition(|l| l.starts_with("$ lesson check 3"))
        .unwrap();
    assert!(last_words < check, "{log:#?}");
}

#[test]
fn command_line_edits_runs_and_remembers() {
    let mut a = app();
    update(&mut a, key(KeyCode::Char(':')));
    assert_eq!(a.focus, Focus::Command);
    typed(&mut a, "map dump pkt_cuont");
    // fix the typo: cursor left twice, delete two chars, retype
    update(&mut a, key(KeyCode::Left));
    update(&mut a, key(KeyCode::Left));
    update(&mut a, key(KeyCode::Backspace));
    update(&mut a, key(KeyCode::Backspace));
    typed(&mut a, "ou");
    assert_eq!(a.cmd.input, "map dump pkt_count");
    assert_eq!(a.cmd.cursor, "map dump pkt_co".len() + 1);
    update(&mut a, key(KeyCode::End));
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(
        matches!(fx.as_slice(), [Effect::Run { cmd: Cmd::Map(MapCmd::Dump { name, .. }), .. }] if name == "pkt_count"),
        "{fx:?}"
    );
    assert_eq!(a.cmd.input, "");
    assert_eq!(
        a.focus,
        Focus::Command,
        "the line stays focused for the next command"
    );
    // Ctrl-C on an empty line stops the command that runs
    let fx = update(&mut a, ctrl('c'));
    assert!(matches!(fx.as_slice(), [Effect::Stop(1)]), "{fx:?}");
    assert_eq!(a.focus, Focus::Command);
    update(
        &mut a,
        Event::JobDone {
            job: 1,
            result: Err(JobError {
                text: "stopped".into(),
                rejected: None,
                stopped: true,
                finishing: false,
            }),
        },
    );
    assert!(a.log.last().unwrap().text.contains("stopped"));
    // a bad command is an error message, not a crash, and is kept in the history too
    typed(&mut a, "topo sideways");
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(fx.is_empty());
    assert!(
        a.log
            .iter()
            .any(|l| l.kind == LogKind::Error && l.text.contains("sideways")),
        "{:?}",
        a.log
    );
    // history: Up walks back, Down walks forward to the draft
    typed(&mut a, "dra");
    update(&mut a, key(KeyCode::Up));
    assert_eq!(a.cmd.input, "topo sideways");
    update(&mut a, key(KeyCode::Up));
    assert_eq!(a.cmd.input, "map dump pkt_count");
    update(&mut a, key(KeyCode::Up));
    assert_eq!(a.cmd.input, "map dump pkt_count");
    update(&mut a, key(KeyCode::Down));
    assert_eq!(a.cmd.input, "topo sideways");
    update(&mut a, key(KeyCode::Down));
    assert_eq!(a.cmd.input, "dra");
    // Ctrl-W deletes a word, Ctrl-U the rest, Esc leaves
    typed(&mut a, "ft x");
    update(&mut a, ctrl('w'));
    assert_eq!(a.cmd.input, "draft ");
    update(&mut a, ctrl('u'));
    assert_eq!(a.cmd.input, "");
    update(&mut a, key(KeyCode::Esc));
    assert_eq!(a.focus, Focus::Lesson);
    // keys mean steps again
    update(&mut a, key(KeyCode::Char('n')));
    assert_eq!(a.step, 1);
    // Esc typed fast before a key arrives as Alt+key: it leaves and the key counts
    update(&mut a, key(KeyCode::Char(':')));
    update(
        &mut a,
        Event::Key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::ALT)),
    );
    assert_eq!(
        (a.focus, a.step, a.cmd.input.as_str()),
        (Focus::Lesson, 2, "")
    );
}

#[test]
fn tab_asks_for_completions_and_applies_them() {
    let mut a = app();
    update(&mut a, key(KeyCode::Char('/')));
    typed(&mut a, "to");
    let fx = update(&mut a, key(KeyCode::Tab));
    assert!(
        matches!(fx.as_slice(), [Effect::Complete { line, pos: 2 }] if line == "to"),
        "{fx:?}"
    );
    update(
        &mut a,
        Event::Completions {
            start: 0,
            candidates: vec!["topo".into()],
        },
    );
    assert_eq!(a.cmd.input, "topo ");
    update(
        &mut a,
        Event::Completions {
            start: 5,
            candidates: vec!["down".into(), "dump".into()],
        },
    );
    assert_eq!(a.cmd.input, "topo d");
    assert_eq!(a.cmd.candidates, ["down", "dump"]);
}

/// Esc, q, y typed while the lesson list is open can reach the TUI in one read (on a busy
/// machine the end-to-end test of lesson 2 sent them milliseconds apart, and failed one CI
/// run in four): the terminal's reader makes Esc and q one Alt+q. The list took that key for
/// "close" and the q was lost, so y did nothing and the TUI stayed. Esc, then the key,
/// whatever is open.
#[test]
fn esc_and_a_key_in_one_read_are_esc_then_the_key_whatever_is_open() {
    let alt = |c| Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT));
    let mut a = app();
    assert!(a.privileged);
    update(&mut a, key(KeyCode::Char('l')));
    assert!(matches!(a.overlay, Some(Overlay::Lessons { .. })));
    let fx = update(&mut a, alt('q'));
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(a.overlay, None, "Esc closes the list");
    assert!(a.confirm_quit, "then q asks to quit");
    let fx = update(&mut a, key(KeyCode::Char('y')));
    assert!(matches!(fx.as_slice(), [Effect::Quit, ..]), "{fx:?}");
    // the help: closed, then the key acts
    let mut a = app();
    update(&mut a, key(KeyCode::Char('?')));
    assert!(a.help);
    update(&mut a, alt('n'));
    assert!(!a.help);
    assert_eq!(a.step, 1, "n counts after Esc closed the help");
    // the quit question: Esc answers no, and the key after it is a key like any other
    let mut a = app();
    update(&mut a, key(KeyCode::Char('q')));
    let fx = update(&mut a, alt('y'));
    assert!(fx.is_empty() && !a.confirm_quit, "{fx:?}");
}

#[test]
fn quitting_asks_when_something_runs_and_stops_it() {
    // a learner reading without root has nothing to lose: q quits at once
    let mut a = app();
    a.privileged = false;
    let fx = update(&mut a, key(KeyCode::Char('q')));
    assert!(matches!(fx.as_slice(), [Effect::Quit, ..]), "{fx:?}");
    // with root, quitting removes the lab, so it asks even when nothing runs
    let mut a = app();
    assert!(a.privileged);
    let fx = update(&mut a, key(KeyCode::Char('q')));
    assert!(fx.is_empty() && a.confirm_quit, "{fx:?}");
    let fx = update(&mut a, key(KeyCode::Char('y')));
    assert!(matches!(fx.as_slice(), [Effect::Quit, ..]), "{fx:?}");
    let mut a = app();
    update(&mut a, key(KeyCode::Char('r')));
    let fx = update(&mut a, key(KeyCode::Char('q')));
    assert!(fx.is_empty() && a.confirm_quit);
    let fx = update(&mut a, key(KeyCode::Char('n')));
    assert!(fx.is_empty() && !a.confirm_quit);
    update(&mut a, key(KeyCode::Char('q')));
    let fx = update(&mut a, key(KeyCode::Char('y')));
    assert!(
        matches!(fx.as_slice(), [Effect::Stop(1), Effect::Quit]),
        "{fx:?}"
    );
    // key releases (kitty protocol) are ignored
    let mut a = app();
    let mut k = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    k.kind = KeyEventKind::Release;
    assert!(update(&mut a, Event::Key(k)).is_empty());
}

#[test]
fn map_watch_adds_a_panel_and_polling_follows_visibility() {
    let mut a = app_on("1");
    let fx = a.start();
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Poll(m) if m == &["pkt_count", "verdict"]))
    );
    update(&mut a, key(KeyCode::Char(':')));
    typed(&mut a, "map watch other_map");
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(
        matches!(fx.as_slice(), [Effect::Poll(m)] if m.len() == 3),
        "{fx:?}"
    );
    // a terminal too small for the panels stops the polling
    let fx = update(&mut a, Event::Resize(50, 12));
    assert!(
        matches!(fx.as_slice(), [Effect::Poll(m)] if m.is_empty()),
        "{fx:?}"
    );
    // without root nothing is polled
    let mut a = App::new(
        lessons::find("1").unwrap(),
        false,
        Theme { color: false },
        (120, 40),
        Instant::now(),
    );
    assert!(
        !a.start()
            .iter()
            .any(|e| matches!(e, Effect::RefreshTopo | Effect::Poll(_) | Effect::Trace(_)))
    );
    assert!(a.log.iter().any(|l| l.text.contains("sudo eclat-lab")));
}

#[test]
fn rates_come_from_a_one_second_window() {
    let mut a = app();
    let t0 = Instant::now();
    let dump = |v: u64| fake::dump("pkt_count", v);
    for i in 0..=20u64 {
        update(
            &mut a,
            Event::Maps(vec![Sample {
                name: "pkt_count".into(),
                at: t0 + Duration::from_millis(100 * i),
                result: Ok(Some(dump(i * 5))),
            }]),
        );
    }
    let PanelState::Loaded { rows, per_cpu, .. } = &a.panels[0].state else {
        panic!("not loaded")
    };
    assert!(per_cpu);
    assert_eq!(rows[0].value, "100");
    assert_eq!(rows[0].label.as_deref(), Some("packets"));
    let r = rows[0].rate.unwrap();
    assert!((r - 50.0).abs() < 0.01, "{r}");
    assert_eq!(rows[0].history.len(), 21);
    update(
        &mut a,
        Event::Maps(vec![Sample {
            name: "pkt_count".into(),
            at: t0 + Duration::from_millis(2100),
            result: Ok(None),
        }]),
    );
    assert!(matches!(a.panels[0].state, PanelState::NotLoaded));
}

#[test]
fn an_idle_maps_samples_change_nothing_shown_a_new_count_does() {
    let mut a = app();
    let t0 = Instant::now();
    let sample = |ms: u64, v: u64| {
        Event::Maps(vec![Sample {
            name: "pkt_count".into(),
            at: t0 + Duration::from_millis(ms),
            result: Ok(Some(fake::dump("pkt_count", v))),
        }])
    };
    // the first sample loads the panel; then an idle count shows nothing new (the sparkline
    // is drawn full width, zeros before the first sample)
    let empty = a.panels_digest();
    update(&mut a, sample(0, 7));
    assert_ne!(a.panels_digest(), empty);
    update(&mut a, sample(100, 7));
    let idle = a.panels_digest();
    for i in 2..=121u64 {
        update(&mut a, sample(100 * i, 7));
        assert_eq!(
            a.panels_digest(),
            idle,
            "idle sample {i} changed the panels"
        );
    }
    // a packet counted: value, rate and sparkline move
    update(&mut a, sample(12_200, 8));
    let moved = a.panels_digest();
    assert_ne!(moved, idle);
    // and the sparkline keeps moving while the rate decays, though the count stays
    update(&mut a, sample(12_300, 8));
    assert_ne!(a.panels_digest(), moved);
    let moved = a.panels_digest();
    // a map that goes away
    update(
        &mut a,
        Event::Maps(vec![Sample {
            name: "pkt_count".into(),
            at: t0 + Duration::from_millis(12_400),
            result: Ok(None),
        }]),
    );
    assert_ne!(a.panels_digest(), moved);
}

#[test]
fn an_arrays_unnamed_zeros_stay_out_of_its_panel() {
    // lesson 6 names 6 of hvm_stats' 16 reasons
    let mut a = app_on("6");
    let mut d = fake::dump("pkt_count", 0);
    d.map.name = "system/hvm_stats".into();
    d.map.max_entries = 16;
    let row = d.rows[0].clone();
    d.rows = (0..16u64)
        .map(|k| {
            let mut r = row.clone();
            r.key = eclat_service::maps::Value::Int(k);
            // reason 10 counted 5 packets, reason 7 (not named by the lesson) one
            r.value = eclat_service::maps::Value::Int(match k {
                10 => 5,
                7 => 1,
                _ => 0,
            });
            r
        })
        .collect();
    update(
        &mut a,
        Event::Maps(vec![Sample {
            name: "hvm_stats".into(),
            at: Instant::now(),
            result: Ok(Some(d)),
        }]),
    );
    let p = a
        .panels
        .iter()
        .find(|p| p.spec.name == "hvm_stats")
        .unwrap();
    let PanelState::Loaded { rows, .. } = &p.state else {
        panic!("not loaded")
    };
    let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    // the named reasons in key order, then the unnamed one that counted (where the pane
    // cuts the panel, the view shows reason 10 first)
    assert_eq!(keys, ["2", "4", "6", "9", "10", "12", "7"]);
}

/// A watched hash map's panel keeps the rows in the order of the sample, which is
/// `map dump`'s (integers by value, other keys bytewise): fc01::2 before fc01::10, sample
/// after sample. The panel used to sort the keys as text (fc01::10 first).
#[test]
fn a_hash_maps_panel_keeps_the_dumps_key_order() {
    let mut a = app_on("1");
    a.start();
    update(&mut a, key(KeyCode::Char(':')));
    typed(&mut a, "map watch flows");
    update(&mut a, key(KeyCode::Enter));
    let mut d = fake::dump("pkt_count", 0);
    d.map.name = "lab/flows".into();
    d.map.map_type = "hash".into();
    let row = d.rows[0].clone();
    d.rows = ["fc01::2", "fc01::10", "fc02::1"]
        .iter()
        .enumerate()
        .map(|(i, addr)| {
            let mut r = row.clone();
            r.key_text = Some(addr.to_string());
            r.value = eclat_service::maps::Value::Int(i as u64 + 1);
            r
        })
        .collect();
    let t0 = Instant::now();
    for i in 0..3u64 {
        update(
            &mut a,
            Event::Maps(vec![Sample {
                name: "flows".into(),
                at: t0 + Duration::from_millis(100 * i),
                result: Ok(Some(d.clone())),
            }]),
        );
        let p = a.panels.iter().find(|p| p.spec.name == "flows").unwrap();
        let PanelState::Loaded { rows, .. } = &p.state else {
            panic!("not loaded")
        };
        let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["fc01::2", "fc01::10", "fc02::1"], "sample {i}");
    }
}

#[test]
fn traffic_goes_across_the_first_link() {
    let st = fake::status(true);
    let mut a = app();
    assert_eq!(
        traffic_ends(&a.lesson, &st),
        Some(("tg".to_string(), "fc01::2".to_string()))
    );
    let mut other = a.lesson.clone();
    other.steps.clear();
    assert_eq!(
        traffic_ends(&other, &st),
        Some(("tg".to_string(), "12:1::2".to_string()))
    );
    let fx = update(&mut a, key(KeyCode::Char('t')));
    assert!(fx.is_empty(), "no topology yet: {fx:?}");
    update(&mut a, Event::Topo(Ok(st)));
    let fx = update(&mut a, key(KeyCode::Char('t')));
    assert!(
        matches!(fx.as_slice(), [Effect::Run { cmd: Cmd::Traffic(t), .. }] if t.icmp && t.rate == Some(TRAFFIC_PPS)),
        "{fx:?}"
    );
    let job = a.traffic.unwrap();
    let fx = update(&mut a, key(KeyCode::Char('t')));
    assert!(matches!(fx.as_slice(), [Effect::Stop(j)] if *j == job));
}

#[test]
fn a_check_leaves_the_background_traffic_running() {
    // checks run in a scratch lab of their own: the learner's traffic goes on
    let mut a = App::new(
        lessons::find("8").unwrap(),
        true,
        Theme { color: false },
        (120, 40),
        Instant::now(),
    );
    a.start();
    update(&mut a, Event::Topo(Ok(fake::status(true))));
    update(&mut a, key(KeyCode::Char('t')));
    let traffic = a.traffic.unwrap();
    let fx = update(&mut a, key(KeyCode::Char('c')));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Check { .. })),
        "the check runs at once: {fx:?}"
    );
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::Stop(j) if *j == traffic)),
        "the traffic is not stopped: {fx:?}"
    );
    assert_eq!(a.traffic, Some(traffic));
}

fn lesson2() -> App {
    let mut a = App::new(
        lessons::find("2").unwrap(),
        true,
        Theme { color: false },
        (120, 40),
        Instant::now(),
    );
    a.start();
    a
}

fn saved(fx: &[Effect]) -> Vec<ProgressOp> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::SaveProgress(op) => Some(op.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_lesson_list_opens_a_lesson_where_the_learner_left_it() {
    // the learner left lesson 2 one step before its last
    let last = lessons::find("2").unwrap().steps.len() - 1;
    let mut progress = Progress::default();
    ProgressOp::Step("02-architecture-and-toolchain".into(), last - 1).apply(&mut progress);
    let mut a = App::new(
        lessons::find("1").unwrap(),
        true,
        Theme { color: false },
        (120, 40),
        Instant::now(),
    )
    .with_progress(progress);
    let fx = a.start();
    assert_eq!(saved(&fx), [ProgressOp::Current("01-hello-xdp".into())]);
    assert!(fx.iter().any(|e| matches!(e, Effect::Watch(_))), "{fx:?}");
    update(&mut a, key(KeyCode::Char('l')));
    assert_eq!(a.overlay, Some(Overlay::Lessons { selected: 0 }));
    update(&mut a, key(KeyCode::Up));
    assert_eq!(a.overlay, Some(Overlay::Lessons { selected: 0 }));
    update(&mut a, key(KeyCode::Down));
    let fx = update(&mut a, key(KeyCode::Enter));
    assert_eq!(a.overlay, None);
    assert_eq!(a.lesson.number, 2);
    assert_eq!(a.step, last - 1, "resumed at the step of the progress file");
    assert_eq!(a.exercise, Some(0));
    assert_eq!(
        saved(&fx),
        [ProgressOp::Current("02-architecture-and-toolchain".into())]
    );
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Watch(Some((l, 0))) if l.number == 2)),
        "{fx:?}"
    );
    // the lab is emptied for it first (lesson 1's counters are not lesson 2's); then the new
    // lesson's maps are polled
    assert!(a.lab_emptying);
    let fx = reset_done(&mut a, 5);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Poll(m) if m == &["nexthdr_count"])),
        "the new lesson's maps are polled: {fx:?}"
    );
    // next/previous step go to the progress file; no move, no write
    let fx = update(&mut a, key(KeyCode::Char('n')));
    assert_eq!(
        saved(&fx),
        [ProgressOp::Step(
            "02-architecture-and-toolchain".into(),
            last
        )]
    );
    let fx = update(&mut a, key(KeyCode::Char('n')));
    assert!(saved(&fx).is_empty(), "{fx:?}");
    assert_eq!(
        a.progress.lessons["02-architecture-and-toolchain"].step,
        last
    );
    // any other key closes the list without changing lesson
    update(&mut a, key(KeyCode::Char('l')));
    update(&mut a, key(KeyCode::Char('z')));
    assert_eq!(
        (a.overlay.clone(), a.lesson.number, a.zoom),
        (None, 2, false)
    );
}

#[test]
fn c_checks_and_a_rejection_opens_the_verifier_panel_then_a_save_checks_again() {
    let mut a = lesson2();
    let fx = update(&mut a, key(KeyCode::Char('c')));
    let job = match fx.as_slice() {
        [
            Effect::Check {
                job,
                lesson,
                exercise: 0,
            },
        ] if lesson.number == 2 => *job,
        _ => panic!("{fx:?}"),
    };
    assert!(matches!(a.check, CheckView::Running) && a.show_check);
    assert_eq!(a.log.last().unwrap().text, "$ lesson check 2 fix-verifier");
    // a second c while it runs is not a second check
    let fx = update(&mut a, key(KeyCode::Char('c')));
    assert!(fx.is_empty(), "{fx:?}");
    let done = fake::failed_check(&a.lesson);
    let report = done.report.clone();
    update(&mut a, Event::Checked(Box::new(done)));
    let fx = update(
        &mut a,
        Event::JobDone {
            job,
            result: Ok(Box::new(crate::commands::Reply::LessonCheck(report.into()))),
        },
    );
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Check { .. })),
        "{fx:?}"
    );
    assert!(matches!(&a.check, CheckView::Done(r) if !r.passed));
    let v = a.verifier.as_ref().expect("the verifier panel");
    assert_eq!(v.explanation.source.as_ref().unwrap().line, 29);
    assert!(
        v.excerpt
            .iter()
            .any(|(n, l)| *n == 29 && l.contains("bpf_printk"))
    );
    assert_eq!(a.focus, Focus::Verifier, "focused, so that z zooms it");
    assert!(a.log.iter().any(|l| l.text.contains("FAIL fix-verifier")));
    // no solution before it passes
    update(&mut a, key(KeyCode::Char('s')));
    assert_eq!(a.overlay, None);
    assert!(
        a.log
            .last()
            .unwrap()
            .text
            .contains("once your check passes")
    );
    // Esc goes back to the lesson text, v brings the panels back
    update(&mut a, key(KeyCode::Esc));
    assert!(!a.show_check && a.focus == Focus::Lesson);
    update(&mut a, key(KeyCode::Char('v')));
    assert!(a.show_check);
    // the watcher: a save of another file is not ours; ours checks again
    let path = std::path::PathBuf::from("/ws/02-architecture-and-toolchain/parse_eth.bpf.c");
    update(&mut a, Event::Watching(path.clone()));
    let fx = update(&mut a, Event::FileChanged("/elsewhere.c".into()));
    assert!(fx.is_empty(), "{fx:?}");
    let fx = update(&mut a, Event::FileChanged(path.clone()));
    let job = match fx.as_slice() {
        [Effect::Check { job, .. }] => *job,
        _ => panic!("{fx:?}"),
    };
    // saved again while that check runs: one more check once it is done
    update(&mut a, Event::FileChanged(path));
    let pass = fake::passed_check(&a.lesson);
    let fx = update(&mut a, Event::Checked(Box::new(pass)));
    assert_eq!(
        saved(&fx),
        [ProgressOp::Passed(
            "02-architecture-and-toolchain".into(),
            "fix-verifier".into()
        )]
    );
    assert!(a.verifier.is_none() && a.focus == Focus::Lesson);
    let fx = update(
        &mut a,
        Event::JobDone {
            job,
            result: Ok(fake::reply("PASS")),
        },
    );
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Check { .. })),
        "the pending check runs: {fx:?}"
    );
    // no auto-advance: the step stays where the learner put it
    assert_eq!(a.step, 0);
    // passed: the solution opens and scrolls
    update(&mut a, key(KeyCode::Char('s')));
    assert_eq!(a.overlay, Some(Overlay::Solution { scroll: 0 }));
    update(&mut a, key(KeyCode::Down));
    assert_eq!(a.overlay, Some(Overlay::Solution { scroll: 1 }));
    update(&mut a, key(KeyCode::Char('q')));
    assert_eq!(a.overlay, None, "any other key closes, and does not quit");
}

#[test]
fn h_shows_one_more_hint_each_time_and_remembers_how_many() {
    let mut a = lesson2();
    let id = "02-architecture-and-toolchain".to_string();
    let ex = "fix-verifier".to_string();
    let n = a.lesson.exercises[0].hints.len();
    assert!(n >= 2);
    let fx = update(&mut a, key(KeyCode::Char('h')));
    assert_eq!(a.overlay, Some(Overlay::Hints));
    assert_eq!(saved(&fx), [ProgressOp::Hints(id.clone(), ex.clone(), 1)]);
    assert_eq!(a.hints_shown(), 1);
    // h again in the overlay: the next one
    let fx = update(&mut a, key(KeyCode::Char('h')));
    assert_eq!(saved(&fx), [ProgressOp::Hints(id.clone(), ex.clone(), 2)]);
    for _ in 0..n + 2 {
        update(&mut a, key(KeyCode::Char('h')));
    }
    assert_eq!(a.hints_shown(), n, "capped at the last hint");
    update(&mut a, key(KeyCode::Esc));
    assert_eq!(a.overlay, None);
    // `lesson hint 2` (a step's run, or typed) is the same key
    update(&mut a, key(KeyCode::Char(':')));
    typed(&mut a, "lesson hint 2 fix-verifier");
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(a.overlay, Some(Overlay::Hints));
}

#[test]
fn x_resets_only_after_yes_and_e_asks_for_the_editor() {
    let mut a = lesson2();
    update(&mut a, key(KeyCode::Char('x')));
    assert_eq!(a.overlay, Some(Overlay::ConfirmReset));
    let fx = update(&mut a, key(KeyCode::Char('n')));
    assert!(fx.is_empty() && a.overlay.is_none());
    assert_eq!(a.log.last().unwrap().text, "not reset");
    // Ctrl-X is not x
    update(&mut a, ctrl('x'));
    assert_eq!(a.overlay, None);
    update(&mut a, key(KeyCode::Char('x')));
    let fx = update(&mut a, key(KeyCode::Char('y')));
    assert!(
        matches!(fx.as_slice(), [Effect::ResetExercise { exercise: 0, .. }]),
        "{fx:?}"
    );
    let fx = update(&mut a, key(KeyCode::Char('e')));
    assert!(
        matches!(fx.as_slice(), [Effect::Edit { lesson, exercise: 0 }] if lesson.number == 2),
        "{fx:?}"
    );
    // a lesson without an exercise: the keys say so
    let mut bare = lessons::find("1").unwrap();
    bare.exercises.clear();
    let mut a = App::new(
        bare,
        true,
        Theme { color: false },
        (120, 40),
        Instant::now(),
    );
    a.start();
    for c in ['c', 'e', 'x', 'h', 's'] {
        let fx = update(&mut a, key(KeyCode::Char(c)));
        assert!(fx.is_empty() && a.overlay.is_none(), "{c}: {fx:?}");
        assert!(a.log.last().unwrap().text.contains("no exercise"), "{c}");
    }
}

#[test]
fn a_step_that_runs_lesson_check_uses_the_check_panel() {
    let mut a = lesson2();
    let fx = update(&mut a, key(KeyCode::Char('r')));
    assert!(
        matches!(fx.as_slice(), [Effect::Check { exercise: 0, .. }]),
        "{fx:?}"
    );
    // another lesson's check is a plain command, and the progress is read again after it
    let mut a = app();
    update(&mut a, key(KeyCode::Char(':')));
    typed(&mut a, "lesson check 2");
    let fx = update(&mut a, key(KeyCode::Enter));
    let job = match fx.as_slice() {
        [
            Effect::Run {
                job,
                cmd: Cmd::Lesson(LessonCmd::Check { .. }),
            },
        ] => *job,
        _ => panic!("{fx:?}"),
    };
    let report = fake::passed_check(&lessons::find("2").unwrap()).report;
    let fx = update(
        &mut a,
        Event::JobDone {
            job,
            result: Ok(Box::new(crate::commands::Reply::LessonCheck(report.into()))),
        },
    );
    assert!(
        fx.iter().any(|e| matches!(e, Effect::ReloadProgress)),
        "{fx:?}"
    );
}

#[test]
fn chain_lessons_read_the_trace_while_the_timeline_is_visible() {
    // lesson 1 has no chains
    let mut a = app();
    assert!(!a.uses_chains);
    assert!(!a.start().iter().any(|e| matches!(e, Effect::Trace(_))));
    let mut l = lessons::find("1").unwrap();
    l.steps[0].run = Some("load x.eclat".into());
    let mut a = App::new(l, true, Theme { color: false }, (120, 40), Instant::now());
    assert!(a.uses_chains);
    let fx = a.start();
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Trace(true))),
        "{fx:?}"
    );
    for line in [
        "chain count (0x40000001) enter (r2=0 r3=0)",
        "  call monitor[3] (r2=0 r3=0 r4=0) at pc 2",
        "  monitor[3] returned r0=0",
        "chain count (0x40000001) exit r0=0",
        "ABORTED in chain 0x40000001 at pc 5: the chain ended without a verdict",
    ] {
        update(&mut a, Event::Trace(fake::trace(line)));
    }
    let kinds: Vec<TraceKind> = a.trace.iter().map(|l| l.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            TraceKind::Packet,
            TraceKind::Call,
            TraceKind::Return,
            TraceKind::Exit,
            TraceKind::Abort
        ]
    );
    assert_eq!(a.trace_packets, 1);
    // a packet whose chain ended in a final program: its verdict line comes before the
    // next packet
    for l in [
        "chain count (0x40000001) enter (r2=0 r3=0)",
        "  call hike_pass[4] (r2=0 r3=0 r4=0) at pc 5",
        "chain count (0x40000001) enter (r2=0 r3=0)",
    ] {
        update(&mut a, Event::Trace(fake::trace(l)));
    }
    let n = a.trace.len();
    assert_eq!(a.trace[n - 2].kind, TraceKind::Verdict);
    assert_eq!(
        a.trace[n - 2].text,
        "  verdict from hike_pass[4] (final program)"
    );
    assert_eq!(a.trace_packets, 3);
    // a `chain trace` command shares the session's trace: the pane keeps reading, and
    // each event reaches the timeline once (from the command while it runs)
    update(&mut a, key(KeyCode::Char(':')));
    typed(&mut a, "chain trace --seconds 5");
    let fx = update(&mut a, key(KeyCode::Enter));
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Trace(false))),
        "{fx:?}"
    );
    let job = match fx.as_slice() {
        [Effect::Run { job, .. }] => *job,
        _ => panic!("{fx:?}"),
    };
    update(
        &mut a,
        Event::Trace(fake::trace("chain count (0x40000001) enter (r2=0 r3=0)")),
    );
    assert_eq!(a.trace_packets, 3, "the pane's copy is not counted twice");
    update(
        &mut a,
        Event::JobUpdate(
            job,
            Update::Trace(fake::trace("chain count (0x40000001) enter (r2=0 r3=0)")),
        ),
    );
    assert_eq!(a.trace_packets, 4);
    // too small for the right column: the trace stops unless focused
    update(&mut a, key(KeyCode::Esc));
    let fx = update(&mut a, Event::Resize(60, 20));
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Trace(true))),
        "{fx:?}"
    );
}

#[test]
fn without_root_c_says_why_and_hints_still_work() {
    let mut a = App::new(
        lessons::find("2").unwrap(),
        false,
        Theme { color: false },
        (80, 24),
        Instant::now(),
    );
    let fx = a.start();
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Watch(Some(_)))),
        "{fx:?}"
    );
    let fx = update(&mut a, key(KeyCode::Char('c')));
    assert!(fx.is_empty(), "{fx:?}");
    let last = a.log.last().unwrap();
    assert!(
        last.kind == LogKind::Warn && last.text.contains("sudo eclat-lab"),
        "{last:?}"
    );
    update(&mut a, key(KeyCode::Char('h')));
    assert_eq!(a.overlay, Some(Overlay::Hints));
}

#[test]
fn a_step_about_another_exercise_makes_it_current() {
    let mut l = lessons::find("2").unwrap();
    l.exercises.truncate(1);
    let mut second = l.exercises[0].clone();
    second.id = "second".into();
    l.exercises.push(second);
    l.steps[2].run = Some("lesson check 2 second".into());
    let mut a = App::new(l, true, Theme { color: false }, (120, 40), Instant::now());
    a.start();
    assert_eq!(a.exercise, Some(0));
    update(&mut a, key(KeyCode::Char('n')));
    assert_eq!(a.exercise, Some(0));
    let fx = update(&mut a, key(KeyCode::Char('n')));
    assert_eq!(a.exercise, Some(1));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Watch(Some((_, 1))))),
        "{fx:?}"
    );
    assert_eq!(a.current_exercise().unwrap().id, "second");
}

/// The topology-up command a list of effects starts, if any: (name, --replace).
fn topo_up_in(fx: &[Effect]) -> Option<(Option<String>, bool)> {
    fx.iter().find_map(|e| match e {
        Effect::Run {
            cmd: Cmd::Topo(crate::commands::TopoCmd::Up { name, replace, .. }),
            ..
        } => Some((name.clone(), *replace)),
        _ => None,
    })
}

/// A lesson opened or resumed brings its own topology up, whatever lesson ran before:
/// resuming lesson 4 (lb-lab) while lesson 3's hike-lab is up swaps them; with none up,
/// a learner resumed past the lesson's `topo up` step gets it, one at or before it runs
/// the step.
#[test]
fn a_resumed_or_opened_lesson_brings_its_own_topology_up() {
    let mut p = Progress::default();
    ProgressOp::Step("04-cilium-load-balancer".into(), 4).apply(&mut p);
    let resumed = || {
        App::new(
            lessons::find("4").unwrap(),
            true,
            Theme { color: false },
            (120, 40),
            Instant::now(),
        )
        .with_progress(p.clone())
    };
    // resumed with hike-lab up: it goes, lb-lab comes (once the lab's topology is known)
    let mut a = resumed();
    let fx = a.start();
    assert_eq!(topo_up_in(&fx), None, "not known yet: {fx:?}");
    let fx = update(&mut a, Event::Topo(Ok(fake::status_of("hike-lab", &[]))));
    assert_eq!(
        topo_up_in(&fx),
        Some((Some("lb-lab".into()), true)),
        "{fx:?}"
    );
    // once: later news of the topology change nothing
    let fx = update(&mut a, Event::Topo(Ok(fake::status_of("hike-lab", &[]))));
    assert_eq!(topo_up_in(&fx), None);
    // resumed with nothing up, past step 1: brought up
    let mut a = resumed();
    a.start();
    let none = eclat_kernel::topo::Status {
        topology: None,
        nodes: vec![],
        complete: true,
    };
    let fx = update(&mut a, Event::Topo(Ok(none.clone())));
    assert_eq!(
        topo_up_in(&fx),
        Some((Some("lb-lab".into()), false)),
        "{fx:?}"
    );
    // its own topology up already: nothing to do
    let mut a = resumed();
    a.start();
    let fx = update(&mut a, Event::Topo(Ok(fake::status_of("lb-lab", &[]))));
    assert_eq!(topo_up_in(&fx), None);
    // at step 1, which brings it up itself: left to the step
    let mut a = app_on("4");
    a.start();
    let fx = update(&mut a, Event::Topo(Ok(none)));
    assert_eq!(topo_up_in(&fx), None);
    // opened from the lesson list while lb-lab is up: the lab is emptied first (lb-lab goes
    // with the rest), and lesson 3's first step brings hike-lab up
    let fx = update(&mut a, Event::Topo(Ok(fake::status_of("lb-lab", &[]))));
    assert_eq!(topo_up_in(&fx), None);
    let mut fx = Vec::new();
    a.open_lesson(lessons::find("3").unwrap(), &mut fx);
    assert_eq!(started_then_queued(&a, &fx), ["reset"], "{fx:?}");
    let fx = reset_done(&mut a, 12);
    assert_eq!(topo_up_in(&fx), None, "{fx:?}");
    // opened past its `topo up` step: brought up on the emptied lab (nothing to replace)
    let mut p = Progress::default();
    ProgressOp::Step("04-cilium-load-balancer".into(), 1).apply(&mut p);
    a.progress = p;
    let mut fx = Vec::new();
    a.open_lesson(lessons::find("4").unwrap(), &mut fx);
    let fx = reset_done(&mut a, 3);
    assert_eq!(
        topo_up_in(&fx),
        Some((Some("lb-lab".into()), false)),
        "{fx:?}"
    );
}

/// Ends the running `reset` that empties the lab for a lesson opened from another one, as
/// having removed `removed` objects; its effects.
fn reset_done(a: &mut App, removed: usize) -> Vec<Effect> {
    let job = a
        .jobs
        .iter()
        .find(|j| j.replay == Some(Replayed::Emptied))
        .map(|j| j.id)
        .expect("the lab is being emptied");
    update(
        a,
        Event::JobDone {
            job,
            result: Ok(Box::new(crate::commands::Reply::Reset(
                eclat_service::ResetReport {
                    removed: (0..removed).map(|i| format!("pin /x/{i}")).collect(),
                    kept: vec![],
                    foreign: vec![],
                },
            ))),
        },
    )
}

/// A panel shows a map by name wherever the lab holds one: lesson 7's script left loaded
/// keeps monitor's map (and its counts) alive, and lesson 8's panel showed them under lesson
/// 8's labels. A lesson opened from another starts from an empty lab (`reset`, said in the
/// log in one line, the background traffic of the other lesson stopped); until that ended,
/// its panels read nothing, show no sample taken before, and the trace none of the other
/// lesson's chains; then they read this lesson's maps.
#[test]
fn a_lesson_opened_from_another_shows_none_of_its_maps() {
    let mut a = app_on("7");
    a.start();
    update(&mut a, Event::Topo(Ok(fake::status_of("hike-lab", &[]))));
    let traffic = {
        update(&mut a, key(KeyCode::Char('t')));
        a.traffic.expect("background traffic")
    };
    let lesson7 = |at| Sample {
        name: "map_pcpu_mon".into(),
        at,
        result: Ok(Some(fake::rows(
            "hike_default/monitor/map_pcpu_mon",
            "percpu_array",
            &[(0, 40), (1, 20)],
        ))),
    };
    update(&mut a, Event::Maps(vec![lesson7(Instant::now())]));
    let shown = |a: &App| {
        a.panels
            .iter()
            .find(|p| p.spec.name == "map_pcpu_mon")
            .map(|p| matches!(p.state, PanelState::Loaded { .. }))
    };
    assert_eq!(shown(&a), Some(true));
    let mut fx = Vec::new();
    a.open_lesson(lessons::find("8").unwrap(), &mut fx);
    fx.extend(update(&mut a, Event::Tick(Instant::now())));
    assert_eq!(started_then_queued(&a, &fx), ["reset"]);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Stop(j) if *j == traffic)),
        "the other lesson's traffic stops: {fx:?}"
    );
    assert!(a.wanted_polling().is_empty(), "nothing is read meanwhile");
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Poll(m) if m.is_empty())),
        "{fx:?}"
    );
    // a reading of lesson 7's map, on its way before the reset: not shown
    update(&mut a, Event::Maps(vec![lesson7(Instant::now())]));
    assert_eq!(
        shown(&a),
        Some(false),
        "lesson 7's counts under lesson 8's title"
    );
    update(
        &mut a,
        Event::Trace(fake::trace("chain ports (0x40000001) enter (r2=0 r3=0)")),
    );
    assert!(a.trace.is_empty(), "{:?}", a.trace);
    // emptied: one line says so, and the panels read lesson 8's maps
    let fx = reset_done(&mut a, 37);
    let log: Vec<&str> = a.log.iter().map(|l| l.text.as_str()).collect();
    assert!(
        log.iter()
            .any(|l| l.starts_with("lesson 8 starts from an empty lab: what lesson 7 made")),
        "{log:?}"
    );
    assert_eq!(
        log.last().copied(),
        Some("removed 37 objects the lab had created: the lab is empty"),
        "{log:?}"
    );
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Poll(m) if m.len() == 3)),
        "{fx:?}"
    );
    update(
        &mut a,
        Event::Maps(vec![Sample {
            name: "map_pcpu_mon".into(),
            at: Instant::now(),
            result: Ok(None),
        }]),
    );
    assert_eq!(shown(&a), Some(false));
    // lesson 8 at its first step: its `topo up` is left to the step
    assert!(started_then_queued(&a, &fx).is_empty(), "{fx:?}");
}

/// Lesson 6's monitor panel names each key as the current exercise's script does: the
/// guard exercise counts ALLOWED at 0 and GUARDED at 4 (not "PASS" and nothing).
#[test]
fn monitor_keys_are_named_by_the_current_exercises_script() {
    let mut a = app_on("6");
    let guard = a
        .lesson
        .exercises
        .iter()
        .position(|e| e.id == "guard")
        .unwrap();
    a.switch_exercise("guard", &mut Vec::new());
    assert_eq!(a.exercise, Some(guard));
    let d = fake::rows(
        "hike_default/monitor/map_pcpu_mon",
        "percpu_array",
        &[(0, 3), (4, 2)],
    );
    update(
        &mut a,
        Event::Maps(vec![Sample {
            name: "map_pcpu_mon".into(),
            at: Instant::now(),
            result: Ok(Some(d)),
        }]),
    );
    let p = a
        .panels
        .iter()
        .find(|p| p.spec.name == "map_pcpu_mon")
        .unwrap();
    let PanelState::Loaded { rows, .. } = &p.state else {
        panic!("not loaded")
    };
    let named: Vec<(&str, Option<&str>)> = rows
        .iter()
        .map(|r| (r.key.as_str(), r.label.as_deref()))
        .collect();
    assert_eq!(named, [("0", Some("ALLOWED")), ("4", Some("GUARDED"))]);
    // the other exercise's script names key 0 its own way, on the rows shown already
    a.switch_exercise("end-the-chain", &mut Vec::new());
    let p = a
        .panels
        .iter()
        .find(|p| p.spec.name == "map_pcpu_mon")
        .unwrap();
    let PanelState::Loaded { rows, .. } = &p.state else {
        panic!("not loaded")
    };
    assert_eq!(rows[0].label.as_deref(), Some("PASS"));
    // the other script's codes keep their names (it may still be loaded)
    assert_eq!(rows[1].label.as_deref(), Some("GUARDED"));
}

/// The command lines a list of effects starts, then those queued after them.
fn started_then_queued(a: &App, fx: &[Effect]) -> Vec<String> {
    let mut lines: Vec<String> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Run { job, .. } => a
                .jobs
                .iter()
                .find(|j| j.id == *job)
                .map(|j| j.label.clone()),
            _ => None,
        })
        .collect();
    lines.extend(a.queue.iter().filter_map(|q| match q {
        Queued::Command { line, .. } | Queued::Replay { line, .. } => Some(line.clone()),
        Queued::Check => None,
    }));
    lines
}

/// An app on lesson `id` whose progress says step `step` (from 0), as root, started: a
/// lesson resumed there.
fn resumed_at(id: &str, step: usize) -> App {
    let l = lessons::find(id).unwrap();
    let mut p = Progress::default();
    ProgressOp::Step(l.id.clone(), step).apply(&mut p);
    let mut a =
        App::new(l, true, Theme { color: false }, (120, 40), Instant::now()).with_progress(p);
    a.start();
    a
}

/// A lesson resumed at a late step brings the lab to where its earlier steps leave it:
/// the topology (made anew when it was up already: what was there is not what the steps
/// made), then the earlier steps' loads, attachments, wires and map values, in order, and
/// the log says which steps ran again. Lesson 3 resumed at step 13 (`map set verdict 0
/// ABORTED`) once said "no map named verdict": the counter of step 2 was not attached.
#[test]
fn a_resumed_lesson_runs_again_the_steps_that_made_its_lab() {
    let none = eclat_kernel::topo::Status {
        topology: None,
        nodes: vec![],
        complete: true,
    };
    let cases: [(&str, usize, &str, &[&str]); 4] = [
        (
            "3",
            12,
            "hike-lab",
            &["xdp attach xdp_counter sut enp6s0f0"],
        ),
        (
            "4",
            12,
            "lb-lab",
            &[
                "xdp load ~/eclat-lab/04-cilium-load-balancer/lb.bpf.c",
                "map set lb_backends 0 10.0.1.2",
                "map set lb_backends 1 10.0.2.2",
                "map set lb_backends 2 10.0.3.2",
                "map set lb_service 0 3",
                "xdp attach lb_xdp sut eth0",
            ],
        ),
        (
            "5",
            19,
            "hike-lab",
            &[
                "cube add cls classifier",
                "cube add mon monitor",
                "cube connect cls:0 mon",
                "cube attach cls sut enp6s0f0",
                "cube add fw ~/eclat-lab/05-composing-programs/firewall.bpf.c",
                "cube connect fw:0 mon",
                "cube connect cls:0 fw",
            ],
        ),
        (
            "8",
            7,
            "hike-lab",
            &[
                "xdp attach xdp_counter clt veth0",
                "load ~/eclat-lab/08-ddos-mitigation/ddos.eclat --replace",
            ],
        ),
    ];
    for (id, step, topo, want) in cases {
        let mut a = resumed_at(id, step);
        let step_line = a.lesson.steps[step].run.clone().unwrap_or_default();
        let fx = update(&mut a, Event::Topo(Ok(none.clone())));
        let lines = started_then_queued(&a, &fx);
        assert_eq!(
            lines.first().map(String::as_str),
            Some(format!("topo up {topo}").as_str()),
            "lesson {id} step {} ({step_line}): {lines:?}",
            step + 1
        );
        assert_eq!(
            lines[1..],
            want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "lesson {id} resumed at step {} ({step_line})",
            step + 1
        );
        let log: Vec<&str> = a.log.iter().map(|l| l.text.as_str()).collect();
        let log = log.join("\n");
        assert!(
            log.contains(&format!("resumes at step {}", step + 1))
                && log.contains(" again, so the lab is where"),
            "the log says what ran again: {log}"
        );
        // its topology up already (made by another lesson or session): made anew, then the
        // same steps
        let mut a = resumed_at(id, step);
        let fx = update(&mut a, Event::Topo(Ok(fake::status_of(topo, &[]))));
        let lines = started_then_queued(&a, &fx);
        assert_eq!(
            lines[0],
            format!("topo up {topo} --fresh"),
            "lesson {id}: {lines:?}"
        );
        assert_eq!(lines.len(), want.len() + 1, "lesson {id}: {lines:?}");
        // another lesson's topology up: it gives way
        let other = if topo == "lb-lab" {
            "hike-lab"
        } else {
            "lb-lab"
        };
        let mut a = resumed_at(id, step);
        let fx = update(&mut a, Event::Topo(Ok(fake::status_of(other, &[]))));
        let lines = started_then_queued(&a, &fx);
        assert_eq!(lines[0], format!("topo up {topo} --replace"), "lesson {id}");
    }
    // resumed on lesson 5's last step, the exercise the keys act on is the firewall the
    // steps before it loaded (it was the first exercise, fail-closed)
    let a = resumed_at("5", 20);
    assert_eq!(a.current_exercise().unwrap().id, "insert-firewall");
    // at a step before anything was loaded: nothing runs again, the topology stays
    let mut a = resumed_at("3", 1);
    let fx = update(&mut a, Event::Topo(Ok(fake::status_of("hike-lab", &[]))));
    assert!(started_then_queued(&a, &fx).is_empty());
}

/// A resumed lesson whose replayed step fails stops there: the later steps' commands are not
/// run (each expects what the failed one makes; lesson 1 resumed with another script's
/// loader on its interface printed an error for every later step), and one line says which
/// step failed and what to do. A replay that goes through says nothing more.
#[test]
fn a_resumed_lesson_stops_at_the_first_step_that_fails_again() {
    let replayed = |a: &App| {
        a.queue
            .iter()
            .filter(|q| matches!(q, Queued::Replay { .. }))
            .count()
    };
    let fail = |text: &str| {
        Err(JobError {
            text: text.into(),
            stopped: false,
            finishing: false,
            rejected: None,
        })
    };
    // lesson 4 at step 13: its topology anew, then six commands
    let mut a = resumed_at("4", 12);
    let fx = update(&mut a, Event::Topo(Ok(fake::status_of("lb-lab", &[]))));
    let first = started_then_queued(&a, &fx);
    assert_eq!(first.len(), 7, "{first:?}");
    let running = |a: &App| {
        a.jobs
            .iter()
            .find(|j| !j.background)
            .map(|j| (j.id, j.replay))
    };
    // the topology is made anew: the first step's command starts
    let (job, of) = running(&a).unwrap();
    assert_eq!(of, Some(Replayed::Topology));
    update(
        &mut a,
        Event::JobDone {
            job,
            result: Ok(fake::reply("topology lb-lab up")),
        },
    );
    assert_eq!(replayed(&a), 5, "the rest still queued");
    // step 2's load fails: nothing after it runs, and one line says so
    let (job, of) = running(&a).unwrap();
    assert!(matches!(of, Some(Replayed::Step(_))), "{of:?}");
    let errors = |a: &App| a.log.iter().filter(|l| l.kind == LogKind::Error).count();
    let before = errors(&a);
    let fx = update(
        &mut a,
        Event::JobDone {
            job,
            result: fail("lb.bpf.c: the verifier rejected it"),
        },
    );
    assert_eq!(replayed(&a), 0, "the replay stopped: {:?}", a.queue);
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Run { .. })),
        "nothing else starts: {fx:?}"
    );
    assert_eq!(
        errors(&a),
        before + 2,
        "the error, then where the lesson stands"
    );
    let last = &a.log.last().unwrap().text;
    assert!(
        last.starts_with("lesson 4 was not resumed at step 13: step ")
            && last.contains("failed (above); the 5 after it were not run")
            && last.contains("run it with r"),
        "{last}"
    );
    // a command typed afterwards runs as usual
    let fx = update(&mut a, Event::Topo(Ok(fake::status_of("lb-lab", &[]))));
    assert!(started_then_queued(&a, &fx).is_empty(), "no second replay");
}

/// A step that needs a tool this machine cannot run (lesson 3's bcc counter without bcc or
/// without the kernel's headers) says so plainly, and why, when the learner arrives at it
/// and when they press r; it runs nothing (a Python traceback was all the learner got) and
/// passes nothing. Where the tool runs, r runs the step.
#[test]
fn a_step_this_machine_cannot_run_says_why_and_runs_nothing() {
    let bcc = lessons::find("3")
        .unwrap()
        .steps
        .iter()
        .position(|s| s.needs == Some(lessons::Tool::Bcc) && s.run.is_some())
        .expect("lesson 3 has a step that runs bcc");
    let why = "this machine has no headers of its kernel (Linux 6.1), and bcc compiles your C \
               against them when it starts";
    let mut a = app_on("3");
    a.start();
    // until the machine's tools are known, r on such a step waits for them
    let mut fx = Vec::new();
    a.set_step(bcc, &mut fx);
    let fx = update(&mut a, key(KeyCode::Char('r')));
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Run { .. })),
        "{fx:?}"
    );
    assert!(
        a.log
            .last()
            .unwrap()
            .text
            .contains("press r again in a moment")
    );
    a.set_step(0, &mut Vec::new());
    update(&mut a, Event::Tools(vec![(lessons::Tool::Bcc, why.into())]));
    let mut fx = Vec::new();
    a.set_step(bcc, &mut fx);
    let said = |a: &App| a.log.iter().filter(|l| l.text.contains(why)).count();
    assert_eq!(said(&a), 1, "said on arrival: {:?}", a.log);
    assert!(
        a.log
            .last()
            .unwrap()
            .text
            .contains(&format!("step {} is not possible on this machine", bcc + 1))
    );
    let fx = update(&mut a, key(KeyCode::Char('r')));
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Run { .. })),
        "nothing runs: {fx:?}"
    );
    assert_eq!(said(&a), 2, "said again on r");
    assert!(
        a.log
            .last()
            .unwrap()
            .text
            .starts_with("nothing was run (and nothing passed)")
    );
    assert!(!a.exercise_passed());
    // where bcc runs, r runs the step
    let mut a = app_on("3");
    a.start();
    update(&mut a, Event::Tools(vec![]));
    a.set_step(bcc, &mut Vec::new());
    let fx = update(&mut a, key(KeyCode::Char('r')));
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::Run {
                cmd: Cmd::Exec { .. },
                ..
            }
        )),
        "{fx:?}"
    );
}

/// In the command line, Ctrl-C stops the command running in the foreground (the status
/// line says "Ctrl-C stops") and keeps what was typed; with nothing running it clears the
/// line. Esc abandons the line: a key typed after it is not left in the next command
/// (walked: a `z` sent after Esc ran as `zexec ...`).
#[test]
fn ctrl_c_stops_the_foreground_command_and_esc_abandons_the_line() {
    let mut a = app_on("3");
    a.start();
    update(&mut a, key(KeyCode::Char(':')));
    typed(&mut a, "exec tg -- ping -6 -c 100 fc01::2");
    let fx = update(&mut a, key(KeyCode::Enter));
    let job = match fx.as_slice() {
        [Effect::Run { job, .. }] => *job,
        other => panic!("{other:?}"),
    };
    typed(&mut a, "map li");
    let fx = update(&mut a, ctrl('c'));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Stop(j) if *j == job)),
        "{fx:?}"
    );
    assert_eq!(a.cmd.input, "map li");
    update(
        &mut a,
        Event::JobDone {
            job,
            result: Err(JobError {
                text: "stopped".into(),
                rejected: None,
                stopped: true,
                finishing: false,
            }),
        },
    );
    // nothing runs: Ctrl-C clears the line
    assert!(update(&mut a, ctrl('c')).is_empty());
    assert_eq!(a.cmd.input, "");
    // Esc abandons what was typed
    typed(&mut a, "z");
    update(&mut a, key(KeyCode::Esc));
    update(&mut a, key(KeyCode::Char(':')));
    assert_eq!(a.cmd.input, "");
}

/// `:clear` empties the event log, and `:help` says so; an unrelated word gets no "did you
/// mean" (clap's own rule offered `classroom`, the instructors' command, for `cls`).
#[test]
fn clear_on_the_command_line_empties_the_event_log() {
    let mut a = app();
    let line = |a: &mut App, s: &str| {
        update(a, key(KeyCode::Char(':')));
        typed(a, s);
        let fx = update(a, key(KeyCode::Enter));
        update(a, key(KeyCode::Esc));
        fx
    };
    line(&mut a, "help");
    assert!(
        a.log
            .iter()
            .any(|l| l.text.contains("clear      empty the event log")),
        "{:#?}",
        a.log
    );
    let before = a.log.len();
    line(&mut a, "cls");
    let said: Vec<&str> = a.log[before..].iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        said,
        [
            "$ cls",
            "unknown command `cls`",
            "`help` lists the commands"
        ]
    );
    assert!(line(&mut a, "clear").is_empty());
    assert!(a.log.is_empty(), "{:#?}", a.log);
    // a second `:` typed in the command line (walked: `::traffic ...` said "unknown
    // command `:traffic`") is not part of the command
    let fx = line(&mut a, ":clear");
    assert!(fx.is_empty() && a.log.is_empty(), "{fx:?} {:#?}", a.log);
    let fx = line(&mut a, ":: topo status");
    assert!(
        a.log.iter().any(|l| l.text == "$ topo status"),
        "{fx:?} {:#?}",
        a.log
    );
}

/// The header names the exercise of the step the learner is on, whichever way they came:
/// resumed there, or moved there with n or p. Resumed at lesson 8's last step, then moved
/// back with p to the burst (step 8, about the policy of `blacklist-code`), the header kept
/// `sampling`, step 9's. And a check that ends after the learner moved on to another
/// exercise's step leaves the header (and the check panel) with that step's exercise.
#[test]
fn the_header_names_the_exercise_of_the_step_the_learner_is_on() {
    let id = |a: &App| a.current_exercise().map(|e| e.id.clone());
    for l in lessons::all() {
        let n = l.steps.len();
        let resumed: Vec<Option<String>> = (0..n).map(|s| id(&resumed_at(&l.id, s))).collect();
        // from the last step back to the first, after the replay of a resumed lesson
        let mut a = resumed_at(&l.id, n - 1);
        let topo = l.topology.clone().unwrap_or_else(|| "hike-lab".into());
        update(&mut a, Event::Topo(Ok(fake::status_of(&topo, &[]))));
        while let Some(job) = a.foreground().map(|j| j.id) {
            update(
                &mut a,
                Event::JobDone {
                    job,
                    result: Ok(fake::reply("done")),
                },
            );
        }
        for s in (0..n).rev() {
            assert_eq!(a.step, s);
            assert_eq!(
                id(&a),
                resumed[s],
                "lesson {} step {}, back with p",
                l.number,
                s + 1
            );
            update(&mut a, key(KeyCode::Char('p')));
        }
        // and forward again with n
        for s in 0..n {
            assert_eq!(
                id(&a),
                resumed[s],
                "lesson {} step {}, with n",
                l.number,
                s + 1
            );
            update(&mut a, key(KeyCode::Char('n')));
        }
    }
    let a = resumed_at("8", 7);
    assert_eq!(id(&a).as_deref(), Some("blacklist-code"));
    // a check of `sampling` that ends once the learner went back to step 8
    let mut a = resumed_at("8", 8);
    update(&mut a, key(KeyCode::Char('c')));
    let job = a.checking.expect("the check runs");
    update(&mut a, key(KeyCode::Char('p')));
    assert_eq!(id(&a).as_deref(), Some("blacklist-code"));
    let mut done = fake::failed_check(&a.lesson);
    done.verifier = None;
    done.report.lesson = a.lesson.id.clone();
    done.report.exercise = "sampling".into();
    update(&mut a, Event::Checked(Box::new(done)));
    update(
        &mut a,
        Event::JobDone {
            job,
            result: Ok(fake::reply("FAIL")),
        },
    );
    assert_eq!(id(&a).as_deref(), Some("blacklist-code"));
    assert!(matches!(a.check, CheckView::NotRun), "{:?}", a.check);
}

/// A step that does not check or hint is read in the lesson text: moving to it puts the text
/// back where the check panel was (walked at 80x24: after lesson 4's exercise passed, "Read
/// the section on Cilium's datapath" showed "✓ 7 check(s) passed" and blank rows in the
/// text's place, for the 13 steps after it). The hint step keeps the panel; v shows it again.
#[test]
fn a_step_that_does_not_check_shows_the_lesson_text_again() {
    let mut a = App::new(
        lessons::find("4").unwrap(),
        true,
        Theme { color: false },
        (80, 24),
        Instant::now(),
    );
    let check_step = |a: &App| {
        a.lesson.steps[a.step]
            .run
            .as_deref()
            .is_some_and(|r| r.starts_with("lesson check 4 select"))
    };
    update(&mut a, key(KeyCode::Char('n')));
    while !check_step(&a) {
        update(&mut a, key(KeyCode::Char('n')));
    }
    update(&mut a, key(KeyCode::Char('c')));
    let done = fake::passed_check(&a.lesson);
    update(&mut a, Event::Checked(Box::new(done)));
    assert!(a.show_check);
    assert!(a.regions().check.is_some() && a.regions().text.is_none());
    // the next step checks the same exercise again (4), then its hint (5): the panel stays
    update(&mut a, key(KeyCode::Char('n')));
    update(&mut a, key(KeyCode::Char('n')));
    assert!(
        a.lesson.steps[a.step]
            .run
            .as_deref()
            .unwrap()
            .starts_with("lesson hint")
    );
    assert!(a.show_check, "a hint step is about the check");
    // `xdp load`: the text again, the result one key away
    update(&mut a, key(KeyCode::Char('n')));
    assert!(
        a.lesson.steps[a.step]
            .run
            .as_deref()
            .unwrap()
            .starts_with("xdp load")
    );
    let r = a.regions();
    assert!(
        !a.show_check && r.check.is_none() && r.text.is_some(),
        "{r:?}"
    );
    update(&mut a, key(KeyCode::Char('v')));
    assert!(a.show_check);
}
