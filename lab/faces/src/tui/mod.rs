//! The tutorial's terminal UI: the lesson text, the current step, the topology, live map
//! panels, an event log and a command line, over the same command layer as the shell.
//!
//! `app` is the state and `update`, `view` and `panels` draw it, `worker` runs commands and
//! checks, polls maps, watches the exercise file and reads the chain trace; this file owns the
//! terminal (a guard restores it, as do the panic hook and SIGTERM/SIGHUP; the editor gets it
//! for a while) and the event loop, which redraws only when an event arrives.

mod app;
#[cfg(test)]
mod fake;
#[allow(dead_code)] // called by `eclat-lab bench` and the end-to-end tests
pub mod figures;
mod markdown;
mod panels;
mod theme;
mod view;
mod worker;

use std::io::{Stdout, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crossterm::event::{self as ct, Event as CtEvent, KeyEventKind};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use eclat_kernel::LabEnv;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use self::app::{App, Effect, Event, update};
use self::theme::Theme;
use self::worker::Runtime;
use crate::commands::{Origin, Session};
use crate::course::{self, Progress};
use crate::lessons;

/// How long quitting waits for running commands to notice their stop flag.
const STOP_GRACE: Duration = Duration::from_secs(5);

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

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// A panic on the UI thread restores the terminal and removes what the session created
/// before the message is printed; panics on worker threads are caught there and become
/// messages in the event log, so they must not touch the screen.
fn install_panic_hook(env: LabEnv) {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let ui = std::thread::current().name() == Some("main");
        if !ui {
            return;
        }
        restore_terminal();
        prev(info);
        let s = Session::new(env.clone(), Origin::Session);
        let msg = match s.end() {
            Ok(Some(m)) => m,
            Ok(None) => return,
            Err(e) => format!("cleaning up failed: {e:#}; run `sudo eclat-lab reset`"),
        };
        let _ = writeln!(std::io::stderr(), "{msg}");
    }));
}

/// SIGTERM, SIGHUP and SIGINT become events (so the loop quits cleanly) instead of killing
/// the process with the terminal in raw mode. Must run before any other thread starts so
/// that every thread inherits the mask (child processes get a clean one from std).
fn signals(tx: mpsc::Sender<Event>) {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGHUP, Signal::SIGINT] {
        set.add(s);
    }
    if set.thread_block().is_err() {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("eclat-signals".into())
        .spawn(move || {
            while let Ok(sig) = set.wait() {
                if tx.send(Event::Signal(sig.as_str().to_string())).is_err() {
                    return;
                }
            }
        });
}

/// Lets the editor have the terminal's input: while `request` is up the input thread
/// reads nothing, and says so with `idle`.
#[derive(Default)]
struct InputPause {
    request: AtomicBool,
    idle: AtomicBool,
}

impl InputPause {
    /// Stops reading input; waits (bounded) until the input thread is out of its read.
    fn pause(&self) {
        self.idle.store(false, Ordering::SeqCst);
        self.request.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(1);
        while !self.idle.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    fn resume(&self) {
        self.request.store(false, Ordering::SeqCst);
    }
}

/// Terminal input on its own thread: keys and resizes become events.
fn input(tx: mpsc::Sender<Event>, pause: Arc<InputPause>) {
    let _ = std::thread::Builder::new()
        .name("eclat-input".into())
        .spawn(move || {
            loop {
                if pause.request.load(Ordering::SeqCst) {
                    pause.idle.store(true, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                // short reads, so that a pause (the editor) takes effect quickly
                match ct::poll(Duration::from_millis(200)) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(_) => return,
                }
                let ev = match ct::read() {
                    Ok(CtEvent::Key(k)) if k.kind != KeyEventKind::Release => Event::Key(k),
                    Ok(CtEvent::Resize(w, h)) => Event::Resize(w, h),
                    Ok(_) => continue,
                    Err(_) => return,
                };
                if tx.send(ev).is_err() {
                    return;
                }
            }
        });
}

/// Writes `first_frame_us=N` (microseconds since `t0`) to `$ECLAT_LAB_TUI_TRACE`, if set:
/// how the figures measure time to first frame from inside.
fn trace_first_frame(t0: Instant) {
    if let Some(p) = std::env::var_os("ECLAT_LAB_TUI_TRACE") {
        let _ = std::fs::write(p, format!("first_frame_us={}\n", t0.elapsed().as_micros()));
    }
}

pub fn run(env: LabEnv, lesson: Option<String>) -> ExitCode {
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
    let (tx, rx) = mpsc::channel::<Event>();
    signals(tx.clone());
    install_panic_hook(env.clone());
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
    let privileged = eclat_kernel::doctor::privileged();
    let mut app = App::new(lesson, privileged, Theme::from_env(), size, Instant::now())
        .with_progress(progress);
    if let Err(e) = terminal.draw(|f| view::draw(f, &app)) {
        drop(guard);
        eprintln!("error: cannot draw: {e}");
        return ExitCode::from(2);
    }
    trace_first_frame(t0);

    let session = Session::new(env, Origin::Session);
    // a session killed with SIGKILL (or a crashed command) left objects nobody owns: remove
    // them before anything reads the kernel, so the first topology shown is a real one
    if privileged {
        match session.journal() {
            Ok((_, Some(note))) => {
                // the headline and what was kept; the list of every pin would fill the log
                let mut lines = note.lines();
                let mut text = lines.next().unwrap_or("").trim_end_matches(':').to_string();
                for kept in lines.filter(|l| l.trim_start().starts_with("- kept")) {
                    text.push('\n');
                    text.push_str(kept);
                }
                let _ = tx.send(Event::Note(app::LogKind::Warn, text));
            }
            Ok((_, None)) => {}
            Err(e) => {
                let _ = tx.send(Event::Note(
                    app::LogKind::Error,
                    format!("{e:#} (`sudo eclat-lab reset` removes everything the lab made)"),
                ));
            }
        }
    }
    let mut rt = Runtime::new(session.clone(), tx.clone());
    let pause = Arc::new(InputPause::default());
    input(tx.clone(), pause.clone());
    drop(tx);
    let fx = app.start();
    rt.apply(fx);

    let result = event_loop(&mut terminal, &mut app, &mut rt, &rx, &pause);

    // stop what still runs, give it a moment to finish, then undo the session
    rt.stop_all();
    let deadline = Instant::now() + STOP_GRACE;
    while rt.running() > 0 {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Event::JobDone { job, .. }) => rt.finished(job),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    // the guard restores the terminal; ratatui's own drop would print (and so panic) when
    // the terminal is gone (SIGHUP after the window closed)
    std::mem::forget(terminal);
    drop(guard);
    // from here the terminal may be closed: nothing may panic on a failed write
    let mut err = std::io::stderr();
    if let Err(e) = result {
        let _ = writeln!(err, "error: the terminal failed: {e}");
    }
    let ended = session.end();
    worker::tidy_scratch(&session.env);
    match ended {
        Ok(Some(msg)) => {
            let _ = writeln!(std::io::stdout(), "{msg}");
        }
        Ok(None) => {}
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

fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    app: &mut App,
    rt: &mut Runtime,
    rx: &mpsc::Receiver<Event>,
    pause: &InputPause,
) -> std::io::Result<()> {
    // fault injection for the tests: this key panics the UI thread (the panic hook must
    // restore the terminal and undo the session)
    let panic_key = std::env::var("ECLAT_LAB_TUI_PANIC_KEY")
        .ok()
        .and_then(|k| k.chars().next());
    loop {
        // a running command gets a ticking clock in the status line; otherwise sleep
        let first = if app.busy() {
            match rx.recv_timeout(Duration::from_millis(500)) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => Event::Tick(Instant::now()),
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
        } else {
            match rx.recv() {
                Ok(e) => e,
                Err(_) => return Ok(()),
            }
        };
        let mut fx = Vec::new();
        let mut ev = Some(first);
        // drain what is queued, then draw once
        while let Some(e) = ev {
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
            ev = rx.try_recv().ok();
        }
        let quit = fx.iter().any(|e| matches!(e, Effect::Quit));
        let (edits, fx): (Vec<Effect>, Vec<Effect>) = fx
            .into_iter()
            .partition(|e| matches!(e, Effect::Edit { .. }));
        rt.apply(fx);
        if quit {
            return Ok(());
        }
        if let Some(Effect::Edit { lesson, exercise }) = edits.into_iter().next() {
            let (kind, msg) = match edit(terminal, pause, &lesson, exercise) {
                Ok(m) => (app::LogKind::Info, m),
                Err(e) => (app::LogKind::Error, format!("{e:#}")),
            };
            let fx = update(app, Event::Note(kind, msg));
            rt.apply(fx);
        }
        terminal.draw(|f| view::draw(f, app))?;
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

/// Gives the terminal to the editor on the exercise file, then takes it back. Saving is
/// noticed by the watcher, which runs the check.
fn edit(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    pause: &InputPause,
    lesson: &lessons::Lesson,
    exercise: usize,
) -> anyhow::Result<String> {
    use anyhow::Context;
    let ex = &lesson.exercises[exercise];
    let path = course::workspace_file(lesson, ex)?;
    let argv = editor();
    pause.pause();
    restore_terminal();
    let status = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .arg(&path)
        .status();
    // back to the TUI whatever the editor did
    let back = enable_raw_mode()
        .and_then(|_| crossterm::execute!(std::io::stdout(), EnterAlternateScreen))
        .and_then(|_| terminal.hide_cursor())
        .and_then(|_| terminal.clear());
    pause.resume();
    back.context("taking the terminal back from the editor")?;
    let status = status.with_context(|| format!("cannot run the editor `{}`", argv.join(" ")))?;
    Ok(if status.success() {
        format!("back from {} on {}", argv[0], path.display())
    } else {
        format!("{} exited with {status}", argv[0])
    })
}
