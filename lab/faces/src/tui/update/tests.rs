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
use crate::tui::state::{CheckView, Focus, Overlay, PanelState, TRAFFIC_PPS, TraceKind};
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
    // a second run while the first is still going is refused, with a message
    update(&mut a, key(KeyCode::Char('n')));
    let fx = update(&mut a, key(KeyCode::Char('r')));
    assert!(fx.is_empty(), "{fx:?}");
    assert!(a.log.last().unwrap().text.contains("still running"));
    // Ctrl-C stops it; its end is logged and the topology is read again
    let fx = update(&mut a, ctrl('c'));
    assert!(matches!(fx.as_slice(), [Effect::Stop(1)]), "{fx:?}");
    let fx = update(
        &mut a,
        Event::JobDone {
            job: 1,
            result: Ok(fake::reply("topology hike-lab up")),
        },
    );
    assert!(matches!(fx.as_slice(), [Effect::RefreshTopo]), "{fx:?}");
    assert!(a.jobs.is_empty());
    assert_eq!(a.log.last().unwrap().text, "topology hike-lab up");
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
    assert_eq!(keys, ["2", "4", "6", "9", "10", "12", "7"]);
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
            result: Ok(Box::new(crate::commands::Reply::LessonCheck(report))),
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
            result: Ok(Box::new(crate::commands::Reply::LessonCheck(report))),
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
