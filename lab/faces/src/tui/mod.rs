//! The tutorial's terminal UI: the lesson text, the current step, the topology, live map
//! panels, the chain-trace timeline, an event log and a command line, over the same command
//! layer as the shell.
//!
//! `state` is what the screen shows and what runs; `update` is the one entry point that
//! changes it (keys, command results, samples, trace lines in; effects out); `layout`,
//! `lines` and `view` draw it; `runtime` carries the effects out as tokio tasks. This file
//! owns the terminal (a guard restores it, as do the panic hook and SIGTERM/SIGHUP; the
//! editor gets it for a while) and the event loop: one `select!` over the terminal's event
//! stream, the runtime's events and signals, redrawing only when something happened.

#[cfg(test)]
mod fake;
mod follow;
mod layout;
mod lines;
mod markdown;
mod runtime;
mod state;
mod theme;
mod update;
mod view;

use std::io::{Stdout, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossterm::event::{Event as CtEvent, EventStream, KeyEventKind};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use eclat_course::{Progress, lessons, workspace};
use eclat_service::{Lab, LabEnv, Origin};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::runtime::Runtime as Tokio;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use self::runtime::Runtime;
use self::state::{App, LogKind};
use self::theme::Theme;
use self::update::{Effect, Event, update};

/// How long quitting waits for running commands to notice their cancellation.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// The longest a batch of events is applied before a frame is drawn: under a flood the
/// trace and the samplers queue events faster than a busy machine applies them, and a batch
/// that waited for an empty queue drew nothing until the flood ended (walked in lesson 8's
/// attack step: the screen and its clock stood still for the 10 s of the flood).
const BATCH_MAX: Duration = Duration::from_millis(50);

/// The next event of the batch begun at `started`: one already queued, while the batch is
/// younger than [`BATCH_MAX`]; `None` draws the frame.
fn next_in_batch(rx: &mut mpsc::UnboundedReceiver<Event>, started: Instant) -> Option<Event> {
    if started.elapsed() >= BATCH_MAX {
        return None;
    }
    rx.try_recv().ok()
}

/// Puts the terminal back (raw mode off, main screen, cursor shown). Idempotent.
fn restore_terminal() {
    let _ = disable_raw_mode();
    let mut out = std::io::stdout();
    let _ = crossterm::execute!(out, LeaveAlternateScreen, crossterm::cursor::Show);
    let _ = out.flush();
}

/// A terminal that a TUI killed with SIGKILL left in raw mode (nothing can restore it then)
/// is put back in cooked mode first: raw mode remembers the mode it found and restores it on
/// exit, and that must be a usable one (line editing, echo, Ctrl-C, newlines).
fn cook_a_raw_terminal() {
    use nix::sys::termios::{self, InputFlags, LocalFlags, OutputFlags, SetArg};
    let stdin = std::io::stdin();
    let Ok(mut t) = termios::tcgetattr(&stdin) else {
        return;
    };
    if t.local_flags
        .intersects(LocalFlags::ICANON | LocalFlags::ECHO)
    {
        return;
    }
    t.local_flags |= LocalFlags::ICANON
        | LocalFlags::ECHO
        | LocalFlags::ECHOE
        | LocalFlags::ECHOK
        | LocalFlags::ISIG
        | LocalFlags::IEXTEN;
    t.input_flags |= InputFlags::ICRNL | InputFlags::IXON | InputFlags::BRKINT;
    t.output_flags |= OutputFlags::OPOST | OutputFlags::ONLCR;
    let _ = termios::tcsetattr(&stdin, SetArg::TCSANOW, &t);
}

/// Raw mode and the alternate screen for as long as it lives.
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> std::io::Result<Self> {
        cook_a_raw_terminal();
        enable_raw_mode()?;
        let guard = TerminalGuard;
        crossterm::execute!(std::io::stdout(), EnterAlternateScreen)?;
        Ok(guard)
    }
}

/// Writes `first_frame_us=N` (microseconds since `t0`) to `$ECLAT_LAB_TUI_TRACE`, if set:
/// how the figures measure time to first frame from inside.
fn trace_first_frame(t0: Instant) {
    trace_line(&format!("first_frame_us={}", t0.elapsed().as_micros()));
}

/// Appends `line` to `$ECLAT_LAB_TUI_TRACE`, if set (the figures' view from inside).
pub(crate) fn trace_line(line: &str) {
    if let Some(p) = std::env::var_os("ECLAT_LAB_TUI_TRACE")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(p)
    {
        let _ = writeln!(f, "{line}");
    }
}

/// The editor to run: `$EDITOR` (it may carry arguments, `code -w`), else nano, else vi.
fn editor() -> Vec<String> {
    if let Some(e) = std::env::var("EDITOR")
        .ok()
        .filter(|e| !e.trim().is_empty())
        && let Ok(argv) = shell_words::split(&e)
        && !argv.is_empty()
    {
        return argv;
    }
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
    };
    let name = if on_path("nano") { "nano" } else { "vi" };
    vec![name.to_string()]
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// A panic on the UI thread restores the terminal and removes what the session created
/// before the message is printed; panics inside tasks are caught by tokio and become
/// messages in the event log, so they must not touch the screen.
fn install_panic_hook(lab: Lab) {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let ui = std::thread::current().name() == Some("main");
        if !ui {
            return;
        }
        restore_terminal();
        prev(info);
        let msg = match lab.end_session() {
            Ok(0) => return,
            Ok(n) => format!("removed {n} object(s) this session created"),
            Err(e) => format!("cleaning up failed: {e:#}; run `sudo eclat-lab reset`"),
        };
        let _ = writeln!(std::io::stderr(), "{msg}");
    }));
}

pub fn run(env: LabEnv, lesson: Option<String>, rt: &Tokio) -> ExitCode {
    let t0 = Instant::now();
    let progress = Progress::load();
    // no lesson named: where the learner left off, else the first
    let lesson = lesson.or_else(|| {
        progress
            .current
            .clone()
            .filter(|c| lessons::find(c).is_ok())
    });
    let lesson = match lesson {
        Some(id) => match lessons::find(&id) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(2);
            }
        },
        None => match lessons::all().into_iter().next() {
            Some(l) => l,
            None => {
                eprintln!("error: no lessons are built into this binary");
                return ExitCode::from(2);
            }
        },
    };
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        eprintln!(
            "error: the tutorial needs a terminal; for scripts use the commands (`eclat-lab --help`)"
        );
        return ExitCode::from(2);
    }
    let lab = Lab::new(env, Origin::Session);
    install_panic_hook(lab.clone());
    let guard = match TerminalGuard::enter() {
        Ok(g) => g,
        Err(e) => {
            restore_terminal();
            eprintln!("error: cannot set up the terminal: {e}");
            return ExitCode::from(2);
        }
    };
    let mut terminal = match Terminal::new(CrosstermBackend::new(std::io::stdout())) {
        Ok(t) => t,
        Err(e) => {
            drop(guard);
            eprintln!("error: cannot set up the terminal: {e}");
            return ExitCode::from(2);
        }
    };
    let _ = terminal.hide_cursor();
    let size = terminal
        .size()
        .map(|s| (s.width, s.height))
        .unwrap_or((80, 24));
    let privileged = Lab::privileged();
    let mut app = App::new(lesson, privileged, Theme::from_env(), size, Instant::now())
        .with_progress(progress);
    if let Err(e) = terminal.draw(|f| view::draw(f, &app)) {
        drop(guard);
        eprintln!("error: cannot draw: {e}");
        return ExitCode::from(2);
    }
    trace_first_frame(t0);

    let result = rt.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
        // which of the field's tools this machine lacks: beside the start, not before the
        // first frame (whether bcc imports takes a Python start)
        let tools = tx.clone();
        tokio::task::spawn_blocking(move || {
            let missing = [lessons::Tool::Bpftrace, lessons::Tool::Bcc]
                .into_iter()
                .filter_map(|t| eclat_course::checks::missing(t).map(|why| (t, why)))
                .collect();
            let _ = tools.send(Event::Tools(missing));
        });
        // a session killed with SIGKILL (or a crashed command) left objects nobody owns:
        // remove them before anything reads the kernel, so the first topology shown is real
        if privileged {
            match lab.recover().await {
                Ok(()) => {
                    let r = lab.take_recovered();
                    if !r.is_empty() {
                        // the headline and what was kept; every pin would fill the log
                        let mut text = format!(
                            "removed {} leftover(s) of an earlier eclat-lab run that ended \
                             abruptly",
                            r.removed.len()
                        );
                        for k in &r.kept {
                            text.push_str(&format!("\n  - kept {k}"));
                        }
                        let _ = tx.send(Event::Note(LogKind::Warn, text));
                    }
                }
                Err(e) => {
                    let _ = tx.send(Event::Note(
                        LogKind::Error,
                        format!("{e:#} (`sudo eclat-lab reset` removes everything the lab made)"),
                    ));
                }
            }
        }
        let mut rt = Runtime::new(lab.clone(), tx.clone());
        let fx = app.start();
        rt.apply(fx);
        let result = event_loop(&mut terminal, &mut app, &mut rt, &mut rx).await;
        // stop what still runs, give it a moment to finish, then undo the session
        rt.stop_all();
        let deadline = tokio::time::Instant::now() + STOP_GRACE;
        while rt.running() > 0 {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(Event::JobDone { job, .. })) => rt.finished(job),
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        result
    });
    // the guard restores the terminal; ratatui's own drop would print (and so panic) when
    // the terminal is gone (SIGHUP after the window closed)
    std::mem::forget(terminal);
    drop(guard);
    // from here the terminal may be closed: nothing may panic on a failed write
    let mut err = std::io::stderr();
    if let Err(e) = result {
        let _ = writeln!(err, "error: the terminal failed: {e}");
    }
    match lab.end_session() {
        Ok(0) => {}
        Ok(n) => {
            let _ = writeln!(
                std::io::stdout(),
                "removed {n} object(s) this session created"
            );
        }
        Err(e) => {
            let _ = writeln!(
                err,
                "error while cleaning up the session: {e:#} (run `sudo eclat-lab reset`)"
            );
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}

/// The event loop: one `select!` over the terminal's events, the runtime's events, signals
/// and (while a command runs) a clock for the status line; the screen is drawn after each
/// batch of events.
async fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    app: &mut App,
    rt: &mut Runtime,
    rx: &mut mpsc::UnboundedReceiver<Event>,
) -> std::io::Result<()> {
    // fault injection for the tests: this key panics the UI thread (the panic hook must
    // restore the terminal and undo the session)
    let panic_key = std::env::var("ECLAT_LAB_TUI_PANIC_KEY")
        .ok()
        .and_then(|k| k.chars().next());
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut keys = EventStream::new();
    let mut clock = tokio::time::interval(Duration::from_millis(500));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // what the map panels showed in the last frame drawn
    let mut drawn = None;
    loop {
        let first = tokio::select! {
            k = keys.next() => match k {
                Some(Ok(CtEvent::Key(k))) if k.kind != KeyEventKind::Release => Event::Key(k),
                Some(Ok(CtEvent::Resize(w, h))) => Event::Resize(w, h),
                Some(Ok(_)) => continue,
                // the terminal is gone: quit as for SIGHUP
                Some(Err(_)) | None => Event::Signal("the terminal closed".into()),
            },
            Some(e) = rx.recv() => e,
            _ = term.recv() => Event::Signal("SIGTERM".into()),
            _ = hup.recv() => Event::Signal("SIGHUP".into()),
            _ = int.recv() => Event::Signal("SIGINT".into()),
            _ = clock.tick(), if app.busy() => Event::Tick(Instant::now()),
        };
        let mut fx = Vec::new();
        let mut ev = Some(first);
        let mut verdict = None;
        // a frame is drawn after every batch, but for map samples that changed nothing shown
        let mut redraw = false;
        let started = Instant::now();
        // apply what is queued (for BATCH_MAX at most), then draw once
        while let Some(e) = ev {
            redraw |= !matches!(e, Event::Maps(_));
            if let Event::Checked(done) = &e {
                verdict = Some(done.report.passed);
            }
            if let (Event::Key(k), Some(p)) = (&e, panic_key)
                && k.code == crossterm::event::KeyCode::Char(p)
            {
                panic!("injected panic (ECLAT_LAB_TUI_PANIC_KEY)");
            }
            if let Event::JobDone { job, .. } = &e {
                rt.finished(*job);
            }
            app.now = Instant::now();
            fx.extend(update(app, e));
            ev = next_in_batch(rx, started);
        }
        let digest = app.panels_digest();
        redraw |= !fx.is_empty() || drawn != Some(digest);
        let quit = fx.iter().any(|e| matches!(e, Effect::Quit));
        let (edits, fx): (Vec<Effect>, Vec<Effect>) = fx
            .into_iter()
            .partition(|e| matches!(e, Effect::Edit { .. }));
        rt.apply(fx);
        if quit {
            return Ok(());
        }
        if let Some(Effect::Edit { lesson, exercise }) = edits.into_iter().next() {
            // the event stream reads the terminal: it stops while the editor has it
            drop(keys);
            let (kind, msg) = match edit(terminal, &lesson, exercise).await {
                Ok(m) => (LogKind::Info, m),
                Err(e) => (LogKind::Error, format!("{e:#}")),
            };
            keys = EventStream::new();
            let fx = update(app, Event::Note(kind, msg));
            rt.apply(fx);
            redraw = true;
        }
        if redraw {
            terminal.draw(|f| view::draw(f, app))?;
            drawn = Some(digest);
        }
        if let Some(passed) = verdict {
            trace_verdict(passed);
        }
    }
}

/// Appends `verdict_unix_us=N passed=B` to `$ECLAT_LAB_TUI_TRACE`, if set, once the frame
/// with a check's verdict is written: the bench's save-to-verdict figure ends there.
fn trace_verdict(passed: bool) {
    let us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    trace_line(&format!("verdict_unix_us={us} passed={passed}"));
}

/// Gives the terminal to the editor on the exercise file, then takes it back. Saving is
/// noticed by the watcher, which runs the check.
async fn edit(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    lesson: &lessons::Lesson,
    exercise: usize,
) -> anyhow::Result<String> {
    use anyhow::Context;
    let ex = &lesson.exercises[exercise];
    let path = workspace::file(lesson, ex)?;
    let argv = editor();
    restore_terminal();
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..]).arg(&path);
    // under sudo the editor is the learner's, with their rights (never root's)
    if let Some((uid, gid)) = eclat_kernel::perms::invoking_user() {
        cmd.uid(uid).gid(gid).env("HOME", workspace::user_home());
    }
    let status = cmd.status().await;
    // back to the TUI whatever the editor did: a new terminal (fresh buffers, so the next
    // frame is drawn whole) on a cleared screen; `Terminal::clear` would ask the terminal
    // for the cursor position, which nothing reads while the event stream is down
    let back = enable_raw_mode()
        .and_then(|_| {
            crossterm::execute!(
                std::io::stdout(),
                EnterAlternateScreen,
                crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
            )
        })
        .and_then(|_| Terminal::new(CrosstermBackend::new(std::io::stdout())))
        .and_then(|t| {
            *terminal = t;
            terminal.hide_cursor()
        });
    back.context("taking the terminal back from the editor")?;
    let status = status.with_context(|| format!("cannot run the editor `{}`", argv.join(" ")))?;
    Ok(if status.success() {
        format!("back from {} on {} ({})", argv[0], ex.file, path.display())
    } else {
        format!("{} exited with {status}", argv[0])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flood of events does not hold the frame back: the batch ends after BATCH_MAX
    /// although the queue is never empty.
    #[test]
    fn a_batch_ends_in_time_under_a_flood() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for _ in 0..1000 {
            tx.send(Event::Tick(Instant::now())).unwrap();
        }
        assert!(next_in_batch(&mut rx, Instant::now()).is_some());
        let old = Instant::now() - BATCH_MAX;
        assert!(
            next_in_batch(&mut rx, old).is_none(),
            "a batch older than BATCH_MAX must end, queued events wait for the next one"
        );
        assert!(
            next_in_batch(&mut rx, Instant::now()).is_some(),
            "nothing is lost"
        );
    }
}
