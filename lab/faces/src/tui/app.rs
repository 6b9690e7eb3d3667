//! The TUI's state and its one entry point, [`update`]: every raw event (a key, a resize, a
//! map sample, a finished command) goes through it and comes out as [`Effect`]s for the
//! runtime to carry out. The state holds no terminal, thread or lock, so it is tested by
//! feeding it events.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use eclat_kernel::maps::{Dump, Value};
use eclat_kernel::topo::Status;

use super::markdown::{self, Block};
use super::theme::Theme;
use super::view;
use crate::cli::{Cmd, LessonCmd, MapCmd, TrafficArgs};
use crate::commands::Output;
use crate::course::{CheckReport, Progress};
use crate::lessons::{self, Lesson, MapPanel};
use crate::repl;
use eclat_model::verifier::Explanation;

pub type JobId = u64;

/// How often the map panels are read while visible.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// The window over which a rate per second is computed.
const RATE_WINDOW: Duration = Duration::from_millis(1000);
/// Rates kept for the sparklines.
const HISTORY: usize = 120;
const LOG_MAX: usize = 2000;
/// Lines of chain trace kept for the timeline.
const TRACE_MAX: usize = 400;
/// The background traffic generator's rate (the `t` key).
pub const TRAFFIC_PPS: f64 = 5.0;

/// Everything that can happen to the TUI.
#[derive(Debug)]
pub enum Event {
    Key(KeyEvent),
    Resize(u16, u16),
    Tick(Instant),
    /// a line of progress from a running command (`map watch` frames)
    JobOutput(String),
    JobDone {
        job: JobId,
        result: Result<Output, String>,
    },
    Maps(Vec<MapSample>),
    Topo(Result<Status, String>),
    Completions {
        start: usize,
        candidates: Vec<String>,
    },
    /// SIGTERM, SIGHUP or SIGINT
    Signal(String),
    /// something went wrong outside any command (the map poller stopped, ...)
    Problem(String),
    /// a message for the event log from the runtime (the watcher, the editor, a reset)
    Note(LogKind, String),
    /// an exercise's checks ran (sent just before the check job's `JobDone`)
    Checked(Box<CheckDone>),
    /// the learner's copy of the current exercise file, now watched
    Watching(std::path::PathBuf),
    /// the watched exercise file was saved with new content (debounced)
    FileChanged(std::path::PathBuf),
    /// the progress file as it is now on disk
    Progress(Progress),
    /// the verifier rejected a program of `module build` (sent before its `JobDone`)
    Verifier(Box<VerifierView>),
    /// a line of the chain trace (HIKe's trace ring buffer)
    Trace(String),
    /// why the chain trace is not flowing (HIKe not loaded, ...), or what it waits for
    TraceStatus(String),
}

/// What a check job brings back.
#[derive(Debug, Clone)]
pub struct CheckDone {
    pub report: CheckReport,
    pub verifier: Option<VerifierView>,
}

/// The verifier panel: the explanation and the learner's source around the failing line.
#[derive(Debug, Clone)]
pub struct VerifierView {
    pub explanation: Explanation,
    /// the rejected program
    pub program: Option<String>,
    /// the file that was built (the learner's copy)
    pub file: String,
    /// a few numbered lines of that file around the failing one
    pub excerpt: Vec<(u32, String)>,
}

impl VerifierView {
    /// Lines `line-around ..= line+around` of `text`.
    pub fn new(explanation: Explanation, program: Option<String>, file: &str, text: &str) -> Self {
        const AROUND: u32 = 4;
        let excerpt = match &explanation.source {
            Some(src) => text
                .lines()
                .enumerate()
                .map(|(i, l)| (i as u32 + 1, markdown::expand_tabs(l)))
                .filter(|(n, _)| n + AROUND >= src.line && *n <= src.line + AROUND)
                .collect(),
            None => vec![],
        };
        Self {
            explanation,
            program,
            file: file.to_string(),
            excerpt,
        }
    }
}

/// The state of the current exercise's check.
#[derive(Debug, Clone)]
pub enum CheckView {
    /// not run in this session
    NotRun,
    Running,
    Done(CheckReport),
    /// the check could not run (no workspace, ...)
    Error(String),
}

/// A change to the progress file; the runtime applies it to the file as it is on disk
/// (commands such as `lesson check` write it too), the app to its own copy.
#[derive(Debug, Clone, PartialEq)]
pub enum ProgressOp {
    Current(String),
    Step(String, usize),
    Passed(String, String),
    Hints(String, String, usize),
}

impl ProgressOp {
    pub fn apply(&self, p: &mut Progress) {
        match self {
            ProgressOp::Current(id) => p.current = Some(id.clone()),
            ProgressOp::Step(id, n) => p.lesson(id).step = *n,
            ProgressOp::Passed(id, ex) => {
                p.lesson(id).passed.insert(ex.clone());
            }
            ProgressOp::Hints(id, ex, n) => {
                p.lesson(id).hints.insert(ex.clone(), *n);
            }
        }
    }
}

/// Boxes drawn over the screen; one at a time, any key not theirs closes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    /// the lesson list, with the selected row
    Lessons { selected: usize },
    /// the hints shown so far
    Hints,
    /// the reference solution, scrolled
    Solution { scroll: usize },
    /// reset the exercise file? (y)
    ConfirmReset,
}

/// One line of the chain-trace timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceKind {
    /// a packet starts (a depth-0 chain entry, or a `test` packet)
    Packet,
    Call,
    Return,
    Exit,
    Abort,
    Verdict,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceLine {
    pub kind: TraceKind,
    pub text: String,
}

impl TraceLine {
    /// Classifies a line as `chain trace` prints it.
    pub fn parse(line: &str) -> Self {
        let t = line.trim_start();
        let kind = if t.starts_with("ABORTED") {
            TraceKind::Abort
        } else if t.starts_with("chain ") && t.contains(" enter") {
            if line.starts_with(' ') {
                TraceKind::Call
            } else {
                TraceKind::Packet
            }
        } else if t.starts_with("chain ") && t.contains(" exit") {
            TraceKind::Exit
        } else if t.starts_with("call ") {
            TraceKind::Call
        } else if t.contains(" returned ") {
            TraceKind::Return
        } else {
            TraceKind::Other
        };
        Self {
            kind,
            text: line.trim_end().to_string(),
        }
    }
}

/// One reading of one panel's map.
#[derive(Debug, Clone)]
pub struct MapSample {
    pub name: String,
    pub at: Instant,
    /// `Ok(None)`: the map does not exist (yet)
    pub result: Result<Option<Dump>, String>,
}

/// What the runtime must do after an update.
#[derive(Debug)]
pub enum Effect {
    Run {
        job: JobId,
        cmd: Cmd,
    },
    Stop(JobId),
    Complete {
        line: String,
        pos: usize,
    },
    /// poll these maps at 10 Hz (empty: stop polling)
    Poll(Vec<String>),
    RefreshTopo,
    /// run the exercise's checks on the learner's copy (answers `Checked`, then `JobDone`)
    Check {
        job: JobId,
        lesson: Box<Lesson>,
        exercise: usize,
    },
    /// suspend the TUI and open the exercise file in `$EDITOR`
    Edit {
        lesson: Box<Lesson>,
        exercise: usize,
    },
    /// watch this exercise's file (None: watch nothing); answers `Watching`
    Watch(Option<(Box<Lesson>, usize)>),
    /// put the embedded starter back (the learner's version is kept as .bak)
    ResetExercise {
        lesson: Box<Lesson>,
        exercise: usize,
    },
    /// apply this change to the progress file
    SaveProgress(ProgressOp),
    /// read the progress file again (a `lesson` command changed it)
    ReloadProgress,
    /// read the chain trace (true) or stop reading it
    Trace(bool),
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Lesson,
    Topology,
    Maps,
    Log,
    /// the verifier panel (when a check or `module build` was rejected)
    Verifier,
    /// the chain-trace timeline (lessons with HIKe chains)
    Trace,
    Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    Command,
    Output,
    Error,
    Warn,
    Info,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub kind: LogKind,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub label: String,
    pub started: Instant,
    pub background: bool,
    /// the learner asked it to stop
    pub stopping: bool,
}

/// The command line's editor.
#[derive(Debug, Clone, Default)]
pub struct CmdLine {
    pub input: String,
    /// byte offset of the cursor in `input`
    pub cursor: usize,
    pub history: Vec<String>,
    /// position while browsing the history (None: editing a new line)
    pub hist_pos: Option<usize>,
    /// the line being edited before browsing the history started
    pub draft: String,
    /// candidates of the last TAB, shown above the status line
    pub candidates: Vec<String>,
}

impl CmdLine {
    fn insert(&mut self, c: char) {
        self.input.insert(self.cursor, c);
        self.cursor += c.len_utf8();
    }
    fn prev_boundary(&self) -> usize {
        self.input[..self.cursor]
            .char_indices()
            .last()
            .map(|(i, _)| i)
            .unwrap_or(0)
    }
    fn next_boundary(&self) -> usize {
        self.input[self.cursor..]
            .chars()
            .next()
            .map(|c| self.cursor + c.len_utf8())
            .unwrap_or(self.cursor)
    }
    fn set(&mut self, s: String) {
        self.cursor = s.len();
        self.input = s;
    }
    fn history_up(&mut self) {
        if self.history.is_empty() {
            return;
        }
        let pos = match self.hist_pos {
            None => {
                self.draft = self.input.clone();
                self.history.len() - 1
            }
            Some(0) => 0,
            Some(p) => p - 1,
        };
        self.hist_pos = Some(pos);
        self.set(self.history[pos].clone());
    }
    fn history_down(&mut self) {
        match self.hist_pos {
            None => {}
            Some(p) if p + 1 < self.history.len() => {
                self.hist_pos = Some(p + 1);
                self.set(self.history[p + 1].clone());
            }
            Some(_) => {
                self.hist_pos = None;
                let d = std::mem::take(&mut self.draft);
                self.set(d);
            }
        }
    }
}

/// One row of a map panel.
#[derive(Debug, Clone)]
pub struct MapRow {
    pub key: String,
    pub label: Option<String>,
    pub value: String,
    pub num: Option<u64>,
    /// packets (or whatever the value counts) per second over the last second
    pub rate: Option<f64>,
    pub history: VecDeque<f64>,
    /// recent (time, value) pairs for the rate
    window: VecDeque<(Instant, u64)>,
}

#[derive(Debug, Clone)]
pub enum PanelState {
    NotLoaded,
    Loaded {
        map_type: String,
        per_cpu: bool,
        rows: Vec<MapRow>,
    },
    Error(String),
}

#[derive(Debug, Clone)]
pub struct Panel {
    pub spec: MapPanel,
    pub state: PanelState,
}

#[derive(Debug, Clone)]
pub enum TopoView {
    /// not read yet
    Unknown,
    NeedsRoot,
    Status(Status),
    Error(String),
}

pub struct App {
    pub lesson: Lesson,
    pub blocks: Vec<Block>,
    pub step: usize,
    pub text_scroll: usize,
    /// lines scrolled up from the newest (0: follow the end)
    pub log_scroll: usize,
    pub focus: Focus,
    /// where focus returns when the command line is left
    pub last_pane: Focus,
    pub zoom: bool,
    pub help: bool,
    pub confirm_quit: bool,
    pub cmd: CmdLine,
    pub log: Vec<LogLine>,
    pub jobs: Vec<Job>,
    next_job: JobId,
    pub traffic: Option<JobId>,
    pub topo: TopoView,
    pub panels: Vec<Panel>,
    pub privileged: bool,
    pub theme: Theme,
    pub size: (u16, u16),
    pub now: Instant,
    polling: Vec<String>,
    /// the lesson text laid out for the width it was last drawn at (layout is the costly
    /// part of a frame, and frames come at 10 Hz while maps are polled)
    pub text_cache: Option<(u16, Vec<ratatui::text::Line<'static>>)>,
    /// every lesson, for the lesson list
    pub all: Vec<Lesson>,
    /// the learner's progress (the runtime keeps the file in step, see [`ProgressOp`])
    pub progress: Progress,
    /// the exercise `c`, `h`, `e`, `x` and `s` act on (index into `lesson.exercises`)
    pub exercise: Option<usize>,
    /// the learner's copy of that exercise's file, once the runtime watches it
    pub exercise_path: Option<std::path::PathBuf>,
    pub check: CheckView,
    /// the check (and verifier) panels take the place of the lesson text
    pub show_check: bool,
    pub verifier: Option<VerifierView>,
    /// the job of the running check
    checking: Option<JobId>,
    /// the file changed while something ran: check once it is done
    pending_check: bool,
    pub overlay: Option<Overlay>,
    /// the lesson uses HIKe chains: the chain-trace timeline is shown
    pub uses_chains: bool,
    pub trace: VecDeque<TraceLine>,
    pub trace_status: Option<String>,
    /// packets seen in the live trace
    pub trace_packets: u64,
    /// the indentation of a packet's first chain entry in the trace
    trace_base: Option<usize>,
    tracing: bool,
}

/// Whether a lesson works with HIKe chains (eCLAT scripts, chain commands): it gets the
/// chain-trace timeline.
pub fn uses_chains(lesson: &Lesson) -> bool {
    lesson.exercises.iter().any(|e| e.file.ends_with(".eclat"))
        || lesson.steps.iter().any(|s| {
            s.run.as_deref().is_some_and(|r| {
                let w = r.split_whitespace().next().unwrap_or("");
                matches!(w, "load" | "chain" | "test" | "unload")
            })
        })
}

impl App {
    pub fn new(
        lesson: Lesson,
        privileged: bool,
        theme: Theme,
        size: (u16, u16),
        now: Instant,
    ) -> Self {
        let blocks = markdown::parse(&lesson.text);
        let panels = lesson
            .maps
            .iter()
            .map(|m| Panel {
                spec: m.clone(),
                state: PanelState::NotLoaded,
            })
            .collect();
        let mut app = Self {
            blocks,
            step: 0,
            text_scroll: 0,
            log_scroll: 0,
            focus: Focus::Lesson,
            last_pane: Focus::Lesson,
            zoom: false,
            help: false,
            confirm_quit: false,
            cmd: CmdLine::default(),
            log: Vec::new(),
            jobs: Vec::new(),
            next_job: 1,
            traffic: None,
            topo: if privileged {
                TopoView::Unknown
            } else {
                TopoView::NeedsRoot
            },
            panels,
            privileged,
            theme,
            size,
            now,
            polling: Vec::new(),
            text_cache: None,
            all: lessons::all(),
            progress: Progress::default(),
            exercise: None,
            exercise_path: None,
            check: CheckView::NotRun,
            show_check: false,
            verifier: None,
            checking: None,
            pending_check: false,
            overlay: None,
            uses_chains: uses_chains(&lesson),
            trace: VecDeque::new(),
            trace_status: None,
            trace_packets: 0,
            trace_base: None,
            tracing: false,
            lesson,
        };
        app.exercise = app.pick_exercise();
        app.sync_text_cache();
        app.info(format!(
            "Lesson {}: {}. {} steps: r runs the current step, n/p move, : types a command, ? helps.",
            app.lesson.number,
            app.lesson.title,
            app.lesson.steps.len()
        ));
        if !privileged {
            app.push(
                LogKind::Warn,
                "Not root: you can read the lesson, but lab commands (topo, xdp, traffic, map) need \
                 root. Quit with q and start the tutorial with `sudo eclat-lab`.",
            );
        }
        app
    }

    /// The learner's progress: resume at the step they left this lesson on.
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self.resume();
        self
    }

    /// Step and exercise from the progress of the current lesson.
    fn resume(&mut self) {
        let n = self.lesson.steps.len();
        self.step = self
            .progress
            .lessons
            .get(&self.lesson.id)
            .map_or(0, |l| l.step)
            .min(n.saturating_sub(1));
        // the exercise the current step is about, else the first one not passed yet
        self.exercise = self
            .step_exercise(self.step)
            .and_then(|e| self.lesson.exercises.iter().position(|x| x.id == e))
            .or_else(|| self.pick_exercise());
    }

    /// The exercise a step's command checks or hints (`lesson check N ID`), if any.
    fn step_exercise(&self, step: usize) -> Option<String> {
        self.lesson
            .steps
            .get(step)?
            .run
            .as_deref()
            .and_then(|r| repl::parse_line(r).ok().flatten())
            .and_then(|c| match c {
                Cmd::Lesson(
                    LessonCmd::Check { exercise, .. } | LessonCmd::Hint { exercise, .. },
                ) => exercise,
                _ => None,
            })
    }

    /// The first exercise not passed yet, else the first.
    fn pick_exercise(&self) -> Option<usize> {
        let passed = self.progress.lessons.get(&self.lesson.id);
        let exs = &self.lesson.exercises;
        exs.iter()
            .position(|e| !passed.is_some_and(|p| p.passed.contains(&e.id)))
            .or((!exs.is_empty()).then_some(0))
    }

    /// Effects to run once the runtime is up.
    pub fn start(&mut self) -> Vec<Effect> {
        let mut fx = Vec::new();
        if self.privileged {
            fx.push(Effect::RefreshTopo);
        }
        self.save(ProgressOp::Current(self.lesson.id.clone()), &mut fx);
        fx.push(self.watch_effect());
        self.sync_polling(&mut fx);
        self.sync_trace(&mut fx);
        fx
    }

    fn watch_effect(&self) -> Effect {
        Effect::Watch(self.exercise.map(|i| (Box::new(self.lesson.clone()), i)))
    }

    /// Applies a progress change here and has the runtime write it.
    fn save(&mut self, op: ProgressOp, fx: &mut Vec<Effect>) {
        op.apply(&mut self.progress);
        fx.push(Effect::SaveProgress(op));
    }

    pub fn current_exercise(&self) -> Option<&lessons::Exercise> {
        self.exercise.and_then(|i| self.lesson.exercises.get(i))
    }

    /// Whether the current exercise passed (now or in an earlier session).
    pub fn exercise_passed(&self) -> bool {
        let Some(ex) = self.current_exercise() else {
            return false;
        };
        self.progress
            .lessons
            .get(&self.lesson.id)
            .is_some_and(|p| p.passed.contains(&ex.id))
    }

    /// Hints of the current exercise shown so far.
    pub fn hints_shown(&self) -> usize {
        let Some(ex) = self.current_exercise() else {
            return 0;
        };
        self.progress
            .lessons
            .get(&self.lesson.id)
            .and_then(|p| p.hints.get(&ex.id).copied())
            .unwrap_or(0)
            .min(ex.hints.len())
    }

    /// Opens another lesson at the step the learner left it on.
    fn open_lesson(&mut self, lesson: Lesson, fx: &mut Vec<Effect>) {
        self.blocks = markdown::parse(&lesson.text);
        self.panels = lesson
            .maps
            .iter()
            .map(|m| Panel {
                spec: m.clone(),
                state: PanelState::NotLoaded,
            })
            .collect();
        self.uses_chains = uses_chains(&lesson);
        self.lesson = lesson;
        self.resume();
        self.text_scroll = 0;
        self.text_cache = None;
        self.check = CheckView::NotRun;
        self.show_check = false;
        self.verifier = None;
        self.pending_check = false;
        self.exercise_path = None;
        self.trace.clear();
        self.trace_packets = 0;
        self.trace_base = None;
        self.zoom = false;
        if !matches!(self.focus, Focus::Command) {
            self.focus = Focus::Lesson;
        }
        self.last_pane = Focus::Lesson;
        self.save(ProgressOp::Current(self.lesson.id.clone()), fx);
        fx.push(self.watch_effect());
        self.info(format!(
            "Lesson {}: {}. Step {}/{}.",
            self.lesson.number,
            self.lesson.title,
            self.step + 1,
            self.lesson.steps.len()
        ));
    }

    fn set_step(&mut self, step: usize, fx: &mut Vec<Effect>) {
        if step != self.step {
            self.step = step;
            self.save(ProgressOp::Step(self.lesson.id.clone(), step), fx);
            // a step about another exercise of this lesson makes it the current one
            if let Some(e) = self.step_exercise(step) {
                self.switch_exercise(&e, fx);
            }
        }
    }

    /// Makes the exercise `id` of this lesson the one the keys act on (and watched).
    fn switch_exercise(&mut self, id: &str, fx: &mut Vec<Effect>) {
        let i = self.lesson.exercises.iter().position(|x| x.id == id);
        if i.is_some() && i != self.exercise {
            self.exercise = i;
            self.check = CheckView::NotRun;
            self.verifier = None;
            self.exercise_path = None;
            if self.focus == Focus::Verifier {
                self.focus = Focus::Lesson;
                self.zoom = false;
            }
            fx.push(self.watch_effect());
        }
    }

    /// `c`: runs the current exercise's checks on the learner's copy.
    fn start_check(&mut self, fx: &mut Vec<Effect>) {
        let Some(i) = self.exercise else {
            self.info("this lesson has no exercise to check: its steps show their results");
            return;
        };
        if self.checking.is_some() {
            self.info("the check is running already");
            return;
        }
        if !self.privileged {
            self.push(
                LogKind::Warn,
                "checks compile your file and load it into the kernel (verifier, test runs): \
                 they need root. Quit with q and start the tutorial with `sudo eclat-lab`; \
                 h (hints) and e (edit) work without root.",
            );
            return;
        }
        if let Some(j) = self.foreground() {
            let msg = format!(
                "`{}` is still running: the check waits for it (Ctrl-C stops it)",
                j.label
            );
            self.info(msg);
            self.pending_check = true;
            return;
        }
        // traffic checks measure counters in the learner's own lab (nothing resets it any
        // more): the background ping would move them, so it stops before the check starts
        let sends = self.lesson.exercises[i]
            .checks
            .iter()
            .any(|c| matches!(c, crate::lessons::Check::Traffic { .. }));
        if let (true, Some(t)) = (sends, self.traffic) {
            self.info(
                "stopping the background traffic first: it would move the counters the check \
                 measures (t starts it again)",
            );
            fx.push(Effect::Stop(t));
            self.pending_check = true;
            return;
        }
        let ex = &self.lesson.exercises[i];
        let label = format!("check {}", ex.id);
        self.push(
            LogKind::Command,
            format!("$ lesson check {} {}", self.lesson.number, ex.id),
        );
        self.pending_check = false;
        self.check = CheckView::Running;
        self.show_check = true;
        self.log_scroll = 0;
        let job = self.new_job(label, false);
        self.checking = Some(job);
        fx.push(Effect::Check {
            job,
            lesson: Box::new(self.lesson.clone()),
            exercise: i,
        });
    }

    fn on_checked(&mut self, done: CheckDone, fx: &mut Vec<Effect>) {
        if done.report.lesson != self.lesson.id {
            return;
        }
        let Some(i) = self
            .lesson
            .exercises
            .iter()
            .position(|e| e.id == done.report.exercise)
        else {
            return;
        };
        self.exercise = Some(i);
        if done.report.passed {
            let was = self.exercise_passed();
            self.save(
                ProgressOp::Passed(self.lesson.id.clone(), done.report.exercise.clone()),
                fx,
            );
            if !was {
                self.info("passed: s shows the reference solution; n moves on when you are ready");
            }
        }
        self.verifier = done.verifier;
        if self.verifier.is_some() {
            // the panel to read (and to zoom with z on a small screen)
            if self.focus != Focus::Command {
                self.focus = Focus::Verifier;
            }
            self.last_pane = Focus::Verifier;
        } else {
            if self.focus == Focus::Verifier {
                self.focus = Focus::Lesson;
                self.zoom = false;
            }
            if self.last_pane == Focus::Verifier {
                self.last_pane = Focus::Lesson;
            }
        }
        self.check = CheckView::Done(done.report);
        self.show_check = true;
    }

    /// `h`: one more hint, remembered in the progress file as `lesson hint` does.
    fn next_hint(&mut self, fx: &mut Vec<Effect>) {
        let Some(ex) = self.current_exercise() else {
            self.info("this lesson has no exercise, so no hints");
            return;
        };
        let (id, n) = (ex.id.clone(), ex.hints.len());
        let seen = self.hints_shown();
        let now = (seen + 1).min(n);
        if now != seen {
            self.save(ProgressOp::Hints(self.lesson.id.clone(), id, now), fx);
        }
        self.overlay = Some(Overlay::Hints);
    }

    fn show_solution(&mut self) {
        let Some(ex) = self.current_exercise() else {
            self.info("this lesson has no exercise, so no solution");
            return;
        };
        if !self.exercise_passed() {
            let msg = format!(
                "the solution of {} opens once your check passes (c checks, h gives a hint)",
                ex.id
            );
            self.info(msg);
            return;
        }
        self.overlay = Some(Overlay::Solution { scroll: 0 });
    }

    /// The reference solution of the current exercise (embedded in the binary).
    pub fn solution_text(&self) -> Option<&'static str> {
        let ex = self.current_exercise()?;
        lessons::exercise_file(&self.lesson, "solution", &ex.file)
    }

    fn edit(&mut self, fx: &mut Vec<Effect>) {
        let Some(i) = self.exercise else {
            self.info("this lesson has no exercise file to edit");
            return;
        };
        fx.push(Effect::Edit {
            lesson: Box::new(self.lesson.clone()),
            exercise: i,
        });
    }

    fn on_file_changed(&mut self, path: std::path::PathBuf, fx: &mut Vec<Effect>) {
        if self.exercise_path.as_ref() != Some(&path) {
            return;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.info(format!("{name} saved: checking it again"));
        if self.checking.is_some() {
            self.pending_check = true;
        } else {
            self.start_check(fx);
        }
    }

    /// The trace is read while its pane is on screen, HIKe chains are in the lesson, and no
    /// `chain trace` command reads the same ring buffer.
    pub fn wanted_trace(&self) -> bool {
        if !self.privileged || !self.uses_chains {
            return false;
        }
        if self.jobs.iter().any(|j| j.label.starts_with("chain trace")) {
            return false;
        }
        let r = view::regions(
            self,
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
        );
        r.trace.is_some()
    }

    fn sync_trace(&mut self, fx: &mut Vec<Effect>) {
        let want = self.wanted_trace();
        if want != self.tracing {
            self.tracing = want;
            fx.push(Effect::Trace(want));
        }
    }

    pub fn push_trace(&mut self, mut line: TraceLine) {
        // a packet starts where a chain is entered at the least depth seen (the loader's
        // call); deeper entries are chains called by chains
        let t = line.text.trim_start();
        if t.starts_with("chain ") && t.contains(" enter") {
            let indent = line.text.len() - t.len();
            if self.trace_base.is_none_or(|b| indent <= b) {
                self.trace_base = Some(indent);
                line.kind = TraceKind::Packet;
                // the previous packet's last call never returned: a final program, whose
                // verdict ended it
                if let Some(last) = self.trace.back()
                    && last.kind == TraceKind::Call
                    && let Some(prog) = last.text.trim_start().strip_prefix("call ")
                {
                    let prog = prog.split_whitespace().next().unwrap_or("").to_string();
                    let pad = " ".repeat(last.text.len() - last.text.trim_start().len());
                    self.push_line(TraceLine {
                        kind: TraceKind::Verdict,
                        text: format!("{pad}verdict from {prog} (final program)"),
                    });
                }
            } else {
                line.kind = TraceKind::Call;
            }
        }
        self.push_line(line);
    }

    fn push_line(&mut self, line: TraceLine) {
        if line.kind == TraceKind::Packet {
            self.trace_packets += 1;
        }
        self.trace.push_back(line);
        while self.trace.len() > TRACE_MAX {
            self.trace.pop_front();
        }
    }

    /// `test` prints each packet's verdict and trace: they go to the timeline too.
    fn trace_from_test(&mut self, json: &serde_json::Value) {
        let Some(arr) = json.as_array() else {
            return;
        };
        for p in arr {
            let (Some(packet), Some(verdict)) = (
                p.get("packet").and_then(|v| v.as_str()),
                p.get("verdict").and_then(|v| v.as_str()),
            ) else {
                continue;
            };
            self.push_line(TraceLine {
                kind: TraceKind::Packet,
                text: format!("test `{packet}`"),
            });
            for l in p
                .get("trace")
                .and_then(|t| t.as_array())
                .into_iter()
                .flatten()
                .filter_map(|l| l.as_str())
            {
                let mut t = TraceLine::parse(l);
                if t.kind == TraceKind::Packet {
                    t.kind = TraceKind::Call;
                }
                t.text = format!("  {}", t.text);
                self.push_line(t);
            }
            self.push_line(TraceLine {
                kind: TraceKind::Verdict,
                text: format!("verdict {verdict}"),
            });
        }
    }

    pub fn push(&mut self, kind: LogKind, text: impl AsRef<str>) {
        for l in text.as_ref().trim_end().lines() {
            self.log.push(LogLine {
                kind,
                text: markdown::expand_tabs(l),
            });
        }
        if self.log.len() > LOG_MAX {
            self.log.drain(..self.log.len() - LOG_MAX);
        }
    }
    fn info(&mut self, t: impl AsRef<str>) {
        self.push(LogKind::Info, t)
    }

    pub fn busy(&self) -> bool {
        !self.jobs.is_empty()
    }

    fn foreground(&self) -> Option<&Job> {
        self.jobs.iter().find(|j| !j.background)
    }

    /// The maps to poll: the panels', when they are on screen and the lab can read maps.
    pub fn wanted_polling(&self) -> Vec<String> {
        let r = view::regions(
            self,
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
        );
        if !self.privileged || r.maps.is_none() {
            return vec![];
        }
        self.panels.iter().map(|p| p.spec.name.clone()).collect()
    }

    fn sync_polling(&mut self, fx: &mut Vec<Effect>) {
        let want = self.wanted_polling();
        if want != self.polling {
            self.polling = want.clone();
            fx.push(Effect::Poll(want));
        }
    }

    /// The lesson text's width (None: the text is not on screen).
    fn text_width(&self) -> Option<u16> {
        let r = view::regions(
            self,
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
        );
        r.text.map(view::inner_width)
    }

    fn sync_text_cache(&mut self) {
        let Some(w) = self.text_width() else {
            return;
        };
        if self.text_cache.as_ref().is_none_or(|(cw, _)| *cw != w) {
            self.text_cache = Some((w, markdown::render(&self.blocks, w, &self.theme)));
        }
    }

    fn text_lines(&mut self) -> usize {
        self.sync_text_cache();
        self.text_cache.as_ref().map_or(0, |(_, l)| l.len())
    }

    fn text_page(&self) -> usize {
        let r = view::regions(
            self,
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
        );
        r.text
            .map_or(1, |t| (t.height as usize).saturating_sub(3).max(1))
    }

    fn scroll_text(&mut self, delta: isize) {
        let max = self.text_lines().saturating_sub(self.text_page());
        self.text_scroll = (self.text_scroll as isize + delta).clamp(0, max as isize) as usize;
    }

    fn scroll_log(&mut self, delta: isize) {
        let max = self.log.len().saturating_sub(1);
        self.log_scroll = (self.log_scroll as isize + delta).clamp(0, max as isize) as usize;
    }

    fn new_job(&mut self, label: String, background: bool) -> JobId {
        let id = self.next_job;
        self.next_job += 1;
        self.jobs.push(Job {
            id,
            label,
            started: self.now,
            background,
            stopping: false,
        });
        id
    }

    /// Runs a command line (from the command line or a step's `run`).
    fn submit(&mut self, line: &str, fx: &mut Vec<Effect>) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        match line {
            "?" | "help" => {
                self.push(LogKind::Command, format!("$ {line}"));
                self.info(repl::help_text());
                self.info("In the TUI, `map watch NAME` adds a live panel.");
                return;
            }
            "exit" | "quit" => {
                self.ask_quit(fx);
                return;
            }
            "clear" => {
                self.log.clear();
                self.log_scroll = 0;
                return;
            }
            _ => {}
        }
        match repl::parse_line(line) {
            Ok(None) => {}
            Ok(Some(Cmd::Shell | Cmd::Tutorial { .. })) => self.push(
                LogKind::Error,
                format!("`{line}`: you are in the tutorial already"),
            ),
            Ok(Some(Cmd::Lesson(l))) if self.is_current_lesson(&l) => {
                self.lesson_command(l, fx);
            }
            Ok(Some(Cmd::Map(MapCmd::Watch { name, .. }))) => {
                self.push(LogKind::Command, format!("$ {line}"));
                if self.panels.iter().any(|p| p.spec.name == name) {
                    self.info(format!("{name} is in the maps panel already"));
                } else {
                    self.info(format!(
                        "watching {name}: a live panel is added to the maps"
                    ));
                    self.panels.push(Panel {
                        spec: MapPanel {
                            name: name.clone(),
                            title: "watched from the command line".into(),
                            labels: BTreeMap::new(),
                        },
                        state: PanelState::NotLoaded,
                    });
                }
            }
            Ok(Some(cmd)) => {
                if let Some(j) = self.foreground() {
                    let msg = format!(
                        "`{}` is still running: wait for it, or press Ctrl-C to stop it",
                        j.label
                    );
                    self.push(LogKind::Error, msg);
                    return;
                }
                self.push(LogKind::Command, format!("$ {line}"));
                self.log_scroll = 0;
                let job = self.new_job(line.to_string(), false);
                fx.push(Effect::Run { job, cmd });
            }
            Err(msg) => {
                self.push(LogKind::Command, format!("$ {line}"));
                // clap's message, without its usage footer
                let msg: Vec<&str> = msg
                    .lines()
                    .filter(|l| !l.starts_with("For more information"))
                    .filter(|l| !l.trim().is_empty())
                    .collect();
                self.push(LogKind::Error, msg.join("\n"));
            }
        }
    }

    /// `lesson check|hint|solution|reset` on this lesson (a step's `run`, or typed): the
    /// TUI's own panels do them, on the exercise named or the current one.
    fn is_current_lesson(&self, l: &LessonCmd) -> bool {
        let (id, ex) = match l {
            LessonCmd::Check { id, exercise, .. }
            | LessonCmd::Hint { id, exercise }
            | LessonCmd::Reset { id, exercise }
            | LessonCmd::Solution { id, exercise } => (id, exercise),
            _ => return false,
        };
        let same =
            *id == self.lesson.id || id.trim_start_matches('0') == self.lesson.number.to_string();
        same && ex
            .as_ref()
            .is_none_or(|e| self.lesson.exercises.iter().any(|x| &x.id == e))
    }

    fn lesson_command(&mut self, l: LessonCmd, fx: &mut Vec<Effect>) {
        let ex = match &l {
            LessonCmd::Check { exercise, .. }
            | LessonCmd::Hint { exercise, .. }
            | LessonCmd::Reset { exercise, .. }
            | LessonCmd::Solution { exercise, .. } => exercise.clone(),
            _ => None,
        };
        if let Some(e) = ex {
            self.switch_exercise(&e, fx);
        }
        match l {
            LessonCmd::Check { .. } => self.start_check(fx),
            LessonCmd::Hint { .. } => self.next_hint(fx),
            LessonCmd::Reset { .. } => self.ask_reset(),
            LessonCmd::Solution { .. } => self.show_solution(),
            _ => {}
        }
    }

    fn ask_reset(&mut self) {
        if self.exercise.is_none() {
            self.info("this lesson has no exercise file to reset");
            return;
        }
        self.overlay = Some(Overlay::ConfirmReset);
    }

    fn run_step(&mut self, fx: &mut Vec<Effect>) {
        let Some(step) = self.lesson.steps.get(self.step) else {
            return;
        };
        match step.run.clone() {
            Some(run) => self.submit(&run, fx),
            None => self.info("this step has nothing to run: read, then press n"),
        }
    }

    fn toggle_traffic(&mut self, fx: &mut Vec<Effect>) {
        if let Some(job) = self.traffic {
            self.info("stopping the background traffic…");
            fx.push(Effect::Stop(job));
            return;
        }
        let TopoView::Status(st) = &self.topo else {
            let msg = if self.privileged {
                "no topology is up: run step 1 (r) or `topo up` first"
            } else {
                "background traffic needs root: start the tutorial with `sudo eclat-lab`"
            };
            self.push(LogKind::Error, msg);
            return;
        };
        let Some((from, to)) = traffic_ends(&self.lesson, st) else {
            self.push(
                LogKind::Error,
                "no topology is up: run step 1 (r) or `topo up` first",
            );
            return;
        };
        let args = TrafficArgs {
            from: from.clone(),
            to: Some(to.clone()),
            udp: None,
            icmp: true,
            pcap: None,
            dev: None,
            count: Some(1_000_000),
            rate: Some(TRAFFIC_PPS),
            size: 64,
            json: false,
        };
        let label = format!("ping {from} → {to} at {TRAFFIC_PPS}/s");
        self.info(format!(
            "background traffic: {label} until you press t again"
        ));
        let job = self.new_job(label, true);
        self.traffic = Some(job);
        fx.push(Effect::Run {
            job,
            cmd: Cmd::Traffic(args),
        });
    }

    fn ask_quit(&mut self, fx: &mut Vec<Effect>) {
        if self.jobs.is_empty() {
            fx.push(Effect::Quit);
        } else {
            self.confirm_quit = true;
        }
    }

    fn quit_now(&mut self, fx: &mut Vec<Effect>) {
        for j in &self.jobs {
            fx.push(Effect::Stop(j.id));
        }
        fx.push(Effect::Quit);
    }

    fn stop_running(&mut self, fx: &mut Vec<Effect>) {
        if let Some(j) = self.jobs.iter_mut().find(|j| !j.background) {
            j.stopping = true;
            let (id, label) = (j.id, j.label.clone());
            self.info(format!("stopping `{label}`…"));
            fx.push(Effect::Stop(id));
        } else if let Some(t) = self.traffic {
            self.info("stopping the background traffic…");
            fx.push(Effect::Stop(t));
        } else {
            self.info("nothing is running (q quits)");
        }
    }

    fn cycle_focus(&mut self, back: bool) {
        let visible: Vec<Focus> = {
            let r = view::regions(
                self,
                ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
            );
            let mut v = vec![Focus::Lesson];
            if r.topo.is_some() || self.zoom {
                v.push(Focus::Topology);
            }
            if r.maps.is_some() || self.zoom {
                v.push(Focus::Maps);
            }
            if r.log.is_some() || self.zoom {
                v.push(Focus::Log);
            }
            if self.verifier.is_some() && self.show_check {
                v.push(Focus::Verifier);
            }
            if self.uses_chains {
                v.push(Focus::Trace);
            }
            v
        };
        let cur = self.focus;
        let i = visible.iter().position(|f| *f == cur).unwrap_or(0);
        let n = visible.len();
        self.focus = visible[if back { (i + n - 1) % n } else { (i + 1) % n }];
        self.last_pane = self.focus;
    }

    fn key_command(&mut self, k: KeyEvent, fx: &mut Vec<Effect>) {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        if k.modifiers.contains(KeyModifiers::ALT)
            && let KeyCode::Char(_) = k.code
        {
            // Esc quickly followed by a key arrives as Alt+key: leave, then take the key
            self.focus = self.last_pane;
            let mut plain = k;
            plain.modifiers.remove(KeyModifiers::ALT);
            self.key_normal(plain, fx);
            return;
        }
        if k.code != KeyCode::Tab {
            self.cmd.candidates.clear();
        }
        match k.code {
            KeyCode::Esc => self.focus = self.last_pane,
            KeyCode::Char('c') if ctrl => {
                if !self.cmd.input.is_empty() {
                    self.cmd.set(String::new());
                } else if self.busy() {
                    self.stop_running(fx);
                } else {
                    self.focus = self.last_pane;
                }
            }
            KeyCode::Enter => {
                let line = std::mem::take(&mut self.cmd.input);
                self.cmd.cursor = 0;
                self.cmd.hist_pos = None;
                let t = line.trim().to_string();
                if !t.is_empty() && self.cmd.history.last() != Some(&t) {
                    self.cmd.history.push(t.clone());
                }
                self.submit(&t, fx);
            }
            KeyCode::Tab => fx.push(Effect::Complete {
                line: self.cmd.input.clone(),
                pos: self.cmd.cursor,
            }),
            KeyCode::Backspace => {
                if self.cmd.cursor > 0 {
                    let p = self.cmd.prev_boundary();
                    self.cmd.input.replace_range(p..self.cmd.cursor, "");
                    self.cmd.cursor = p;
                } else if self.cmd.input.is_empty() {
                    self.focus = self.last_pane;
                }
            }
            KeyCode::Delete => {
                let n = self.cmd.next_boundary();
                self.cmd.input.replace_range(self.cmd.cursor..n, "");
            }
            KeyCode::Left => self.cmd.cursor = self.cmd.prev_boundary(),
            KeyCode::Right => self.cmd.cursor = self.cmd.next_boundary(),
            KeyCode::Home => self.cmd.cursor = 0,
            KeyCode::End => self.cmd.cursor = self.cmd.input.len(),
            KeyCode::Char('a') if ctrl => self.cmd.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cmd.cursor = self.cmd.input.len(),
            KeyCode::Char('u') if ctrl => {
                self.cmd.input.replace_range(..self.cmd.cursor, "");
                self.cmd.cursor = 0;
            }
            KeyCode::Char('w') if ctrl => {
                let head = &self.cmd.input[..self.cmd.cursor];
                let start = head.trim_end().rfind(' ').map(|i| i + 1).unwrap_or(0);
                self.cmd.input.replace_range(start..self.cmd.cursor, "");
                self.cmd.cursor = start;
            }
            KeyCode::Up => self.cmd.history_up(),
            KeyCode::Down => self.cmd.history_down(),
            KeyCode::PageUp => self.scroll_log(10),
            KeyCode::PageDown => self.scroll_log(-10),
            KeyCode::Char(c) if !ctrl => self.cmd.insert(c),
            _ => {}
        }
    }

    fn key_normal(&mut self, k: KeyEvent, fx: &mut Vec<Effect>) {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        let on_log = self.focus == Focus::Log;
        match k.code {
            KeyCode::Char('c') if ctrl => self.stop_running(fx),
            // other control keys mean nothing here (Ctrl-X is not x)
            KeyCode::Char(_) if ctrl => {}
            KeyCode::Char('q') => self.ask_quit(fx),
            KeyCode::Char('n') | KeyCode::Right if self.step + 1 < self.lesson.steps.len() => {
                self.set_step(self.step + 1, fx);
            }
            KeyCode::Char('n') | KeyCode::Right => {
                let next = self.all.iter().find(|l| l.number > self.lesson.number);
                let msg = match next {
                    Some(l) => format!(
                        "this is the last step of lesson {}: press l, then {} and Enter, for \
                         lesson {}: {}",
                        self.lesson.number, l.number, l.number, l.title
                    ),
                    None => format!(
                        "this is the last step of the last lesson ({})",
                        self.lesson.number
                    ),
                };
                self.info(msg);
            }
            KeyCode::Char('p') | KeyCode::Left => self.set_step(self.step.saturating_sub(1), fx),
            KeyCode::Char('r') | KeyCode::Enter => self.run_step(fx),
            KeyCode::Char('c') => self.start_check(fx),
            KeyCode::Char('h') => self.next_hint(fx),
            KeyCode::Char('e') => self.edit(fx),
            KeyCode::Char('x') => self.ask_reset(),
            KeyCode::Char('s') => self.show_solution(),
            KeyCode::Char('l') => {
                let selected = self
                    .all
                    .iter()
                    .position(|l| l.id == self.lesson.id)
                    .unwrap_or(0);
                self.overlay = Some(Overlay::Lessons { selected });
            }
            KeyCode::Char('v') => {
                if matches!(self.check, CheckView::NotRun) && self.verifier.is_none() {
                    self.info("no check has run yet: c runs it");
                } else {
                    self.show_check = !self.show_check;
                    if !self.show_check && self.focus == Focus::Verifier {
                        self.focus = Focus::Lesson;
                        self.zoom = false;
                    }
                }
            }
            KeyCode::Char('t') => self.toggle_traffic(fx),
            KeyCode::Char('?') | KeyCode::F(1) => self.help = true,
            KeyCode::Char(':') | KeyCode::Char('/') => {
                self.last_pane = self.focus;
                self.focus = Focus::Command;
            }
            KeyCode::Char('z') => self.zoom = !self.zoom,
            KeyCode::Esc => {
                if self.zoom {
                    self.zoom = false;
                } else if self.show_check {
                    self.show_check = false;
                    if self.focus == Focus::Verifier {
                        self.focus = Focus::Lesson;
                    }
                }
            }
            KeyCode::Tab => self.cycle_focus(false),
            KeyCode::BackTab => self.cycle_focus(true),
            KeyCode::PageDown | KeyCode::Char(' ') => {
                if on_log {
                    self.scroll_log(-10)
                } else {
                    let p = self.text_page() as isize;
                    self.scroll_text(p)
                }
            }
            KeyCode::PageUp | KeyCode::Char('b') => {
                if on_log {
                    self.scroll_log(10)
                } else {
                    let p = self.text_page() as isize;
                    self.scroll_text(-p)
                }
            }
            KeyCode::Down | KeyCode::Char('j') => {
                if on_log {
                    self.scroll_log(-1)
                } else {
                    self.scroll_text(1)
                }
            }
            KeyCode::Up | KeyCode::Char('k') => {
                if on_log {
                    self.scroll_log(1)
                } else {
                    self.scroll_text(-1)
                }
            }
            KeyCode::Home | KeyCode::Char('g') => {
                if on_log {
                    self.log_scroll = self.log.len().saturating_sub(1)
                } else {
                    self.text_scroll = 0
                }
            }
            KeyCode::End | KeyCode::Char('G') => {
                if on_log {
                    self.log_scroll = 0
                } else {
                    self.scroll_text(isize::MAX / 2)
                }
            }
            _ => {}
        }
    }

    fn key_overlay(&mut self, o: Overlay, k: KeyEvent, fx: &mut Vec<Effect>) {
        match o {
            Overlay::Lessons { selected } => {
                let n = self.all.len();
                match k.code {
                    KeyCode::Down | KeyCode::Char('j') if n > 0 => {
                        self.overlay = Some(Overlay::Lessons {
                            selected: (selected + 1).min(n - 1),
                        })
                    }
                    KeyCode::Up | KeyCode::Char('k') => {
                        self.overlay = Some(Overlay::Lessons {
                            selected: selected.saturating_sub(1),
                        })
                    }
                    KeyCode::Char(c @ '1'..='9') => {
                        if let Some(i) = self
                            .all
                            .iter()
                            .position(|l| l.number.to_string() == c.to_string())
                        {
                            self.overlay = Some(Overlay::Lessons { selected: i });
                        }
                    }
                    KeyCode::Enter => {
                        self.overlay = None;
                        if let Some(l) = self.all.get(selected).cloned()
                            && l.id != self.lesson.id
                        {
                            self.open_lesson(l, fx);
                        }
                    }
                    _ => self.overlay = None,
                }
            }
            Overlay::Hints => match k.code {
                KeyCode::Char('h') => self.next_hint(fx),
                _ => self.overlay = None,
            },
            Overlay::Solution { scroll } => {
                let lines = self.solution_text().map_or(0, |t| t.lines().count());
                let d: isize = match k.code {
                    KeyCode::Down | KeyCode::Char('j') => 1,
                    KeyCode::Up | KeyCode::Char('k') => -1,
                    KeyCode::PageDown | KeyCode::Char(' ') => 10,
                    KeyCode::PageUp | KeyCode::Char('b') => -10,
                    _ => {
                        self.overlay = None;
                        return;
                    }
                };
                let max = lines.saturating_sub(1) as isize;
                self.overlay = Some(Overlay::Solution {
                    scroll: (scroll as isize + d).clamp(0, max) as usize,
                });
            }
            Overlay::ConfirmReset => {
                self.overlay = None;
                match (k.code, self.exercise) {
                    (KeyCode::Char('y'), Some(i)) => fx.push(Effect::ResetExercise {
                        lesson: Box::new(self.lesson.clone()),
                        exercise: i,
                    }),
                    _ => self.info("not reset"),
                }
            }
        }
    }

    fn on_key(&mut self, k: KeyEvent, fx: &mut Vec<Effect>) {
        if k.kind == crossterm::event::KeyEventKind::Release {
            return;
        }
        if self.confirm_quit {
            self.confirm_quit = false;
            match k.code {
                KeyCode::Char('y') | KeyCode::Char('q') => self.quit_now(fx),
                _ => self.info("not quitting"),
            }
            return;
        }
        if self.help {
            self.help = false;
            return;
        }
        if let Some(o) = self.overlay.clone() {
            self.key_overlay(o, k, fx);
            return;
        }
        if self.focus == Focus::Command {
            self.key_command(k, fx);
        } else {
            self.key_normal(k, fx);
        }
    }

    fn on_done(&mut self, job: JobId, result: Result<Output, String>, fx: &mut Vec<Effect>) {
        let Some(i) = self.jobs.iter().position(|j| j.id == job) else {
            return;
        };
        let j = self.jobs.remove(i);
        if self.checking == Some(job) {
            self.checking = None;
            if let (Err(e), CheckView::Running) = (&result, &self.check) {
                self.check = CheckView::Error(e.clone());
            }
        }
        if let Ok(o) = &result
            && j.label.starts_with("test ")
        {
            self.trace_from_test(&o.json);
        }
        if j.label.starts_with("lesson ") {
            fx.push(Effect::ReloadProgress);
        }
        if self.traffic == Some(job) {
            self.traffic = None;
            match result {
                Ok(o) => self.info(format!("background traffic stopped: {}", o.text)),
                Err(e) => self.push(LogKind::Error, format!("background traffic: {e}")),
            }
        } else {
            match result {
                Ok(o) if o.success => {
                    if !o.text.is_empty() {
                        self.push(LogKind::Output, o.text)
                    } else {
                        self.push(LogKind::Info, format!("`{}` done", j.label))
                    }
                }
                Ok(o) if j.stopping && !o.text.is_empty() => {
                    self.info(format!("stopped: {}", o.text))
                }
                Ok(o) => self.push(
                    LogKind::Warn,
                    if o.text.is_empty() {
                        format!("`{}` reported a problem", j.label)
                    } else {
                        o.text
                    },
                ),
                Err(e) => self.push(LogKind::Error, format!("error: {e}")),
            }
        }
        self.log_scroll = 0;
        if self.privileged {
            fx.push(Effect::RefreshTopo);
        }
        if self.pending_check && self.foreground().is_none() {
            self.start_check(fx);
        }
    }

    fn on_maps(&mut self, samples: Vec<MapSample>) {
        for s in samples {
            let Some(p) = self.panels.iter_mut().find(|p| p.spec.name == s.name) else {
                continue;
            };
            match s.result {
                Ok(None) => p.state = PanelState::NotLoaded,
                Err(e) => p.state = PanelState::Error(e),
                Ok(Some(d)) => {
                    let mut old = match std::mem::replace(&mut p.state, PanelState::NotLoaded) {
                        PanelState::Loaded { rows, .. } => rows,
                        _ => vec![],
                    };
                    let mut rows = Vec::new();
                    let array = d.map.map_type.contains("array");
                    for r in &d.rows {
                        let key = r.key.to_string();
                        let mut row = match old.iter().position(|o| o.key == key) {
                            Some(i) => old.swap_remove(i),
                            None => MapRow {
                                label: p.spec.labels.get(&key).cloned(),
                                key: key.clone(),
                                value: String::new(),
                                num: None,
                                rate: None,
                                history: VecDeque::new(),
                                window: VecDeque::new(),
                            },
                        };
                        row.value = r.value.to_string();
                        row.num = match &r.value {
                            Value::Int(v) => Some(*v),
                            _ => None,
                        };
                        if let Some(v) = row.num {
                            if row.window.back().is_some_and(|(_, last)| v < *last) {
                                // reset or overwritten (a verdict): no rate across it
                                row.window.clear();
                            }
                            row.window.push_back((s.at, v));
                            while row.window.len() > 2
                                && s.at.duration_since(row.window[0].0) > RATE_WINDOW
                            {
                                row.window.pop_front();
                            }
                            let (t0, v0) = row.window[0];
                            let dt = s.at.duration_since(t0).as_secs_f64();
                            row.rate = (dt > 0.05).then(|| (v - v0) as f64 / dt);
                            row.history.push_back(row.rate.unwrap_or(0.0));
                            while row.history.len() > HISTORY {
                                row.history.pop_front();
                            }
                        }
                        // every key of an array exists: of those the lesson does not name,
                        // only the ones that count something (hvm_stats has 16 reasons)
                        if array
                            && !p.spec.labels.is_empty()
                            && row.label.is_none()
                            && row.num == Some(0)
                        {
                            continue;
                        }
                        rows.push(row);
                    }
                    // the keys the lesson names first, then the others, each in key order
                    // (a hash map iterates in hash order; an array's unnamed zeros would
                    // push the named keys out of the panel)
                    rows.sort_by_cached_key(|r| {
                        (r.label.is_none(), r.key.parse::<u64>().ok(), r.key.clone())
                    });
                    p.state = PanelState::Loaded {
                        map_type: d.map.map_type.clone(),
                        per_cpu: d.map.per_cpu(),
                        rows,
                    };
                }
            }
        }
    }
}

/// Where background traffic goes: where the lesson's own traffic steps send it (tg →
/// fc01::2 in lesson 1), else from the first node to the first address across its first link.
pub fn traffic_ends(lesson: &Lesson, st: &Status) -> Option<(String, String)> {
    for s in &lesson.steps {
        if let Some(Ok(Some(Cmd::Traffic(t)))) = s.run.as_deref().map(repl::parse_line)
            && let Some(to) = t.to
            && st.nodes.iter().any(|n| n.node == t.from)
        {
            return Some((t.from, to));
        }
    }
    let n = st.nodes.iter().find(|n| !n.interfaces.is_empty())?;
    let i = &n.interfaces[0];
    let (pn, pd) = i.peer.split_once(':')?;
    let peer = st
        .nodes
        .iter()
        .find(|x| x.node == pn)?
        .interfaces
        .iter()
        .find(|x| x.dev == pd)?;
    let addr = peer.addresses.first()?;
    Some((
        n.node.clone(),
        addr.split('/').next().unwrap_or(addr).to_string(),
    ))
}

/// Orders each interface's addresses for display: those the lesson mentions first, then
/// IPv6, then IPv4 (the kernel reports them in the order they were added).
pub fn sort_addresses(lesson_text: &str, st: &mut Status) {
    let mentioned = |a: &str| {
        let a = a.split('/').next().unwrap_or(a);
        lesson_text.match_indices(a).any(|(i, _)| {
            let next = lesson_text[i + a.len()..].chars().next();
            !next.is_some_and(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        })
    };
    for n in &mut st.nodes {
        for i in &mut n.interfaces {
            i.addresses
                .sort_by_cached_key(|a| (!mentioned(a), !a.contains(':')));
        }
    }
}

/// The one entry point: applies an event to the state and says what the runtime must do.
pub fn update(app: &mut App, ev: Event) -> Vec<Effect> {
    let mut fx = Vec::new();
    match ev {
        Event::Key(k) => app.on_key(k, &mut fx),
        Event::Resize(w, h) => {
            app.size = (w, h);
            app.scroll_text(0);
        }
        Event::Tick(t) => app.now = t,
        Event::JobOutput(text) => {
            if app.jobs.iter().any(|j| j.label.starts_with("chain trace")) {
                for l in text.lines() {
                    app.push_trace(TraceLine::parse(l));
                }
            }
            app.push(LogKind::Output, text)
        }
        Event::Note(kind, text) => app.push(kind, text),
        Event::Checked(done) => app.on_checked(*done, &mut fx),
        Event::Watching(p) => app.exercise_path = Some(p),
        Event::FileChanged(p) => app.on_file_changed(p, &mut fx),
        Event::Progress(p) => {
            app.progress = p;
            if app.exercise.is_none() {
                app.exercise = app.pick_exercise();
            }
        }
        Event::Verifier(v) => {
            app.verifier = Some(*v);
            app.show_check = true;
            if app.focus != Focus::Command {
                app.focus = Focus::Verifier;
            }
            app.last_pane = Focus::Verifier;
        }
        Event::Trace(line) => {
            app.trace_status = None;
            app.push_trace(TraceLine::parse(&line));
        }
        Event::TraceStatus(s) => app.trace_status = Some(s),
        Event::JobDone { job, result } => app.on_done(job, result, &mut fx),
        Event::Maps(s) => app.on_maps(s),
        Event::Topo(r) => {
            app.topo = match r {
                Ok(mut st) => {
                    sort_addresses(&app.lesson.text, &mut st);
                    TopoView::Status(st)
                }
                Err(e) => TopoView::Error(e),
            }
        }
        Event::Completions { start, candidates } => {
            let c = &mut app.cmd;
            let start = start.min(c.cursor);
            match candidates.len() {
                0 => c.candidates.clear(),
                1 => {
                    let s = format!("{} ", candidates[0]);
                    c.input.replace_range(start..c.cursor, &s);
                    c.cursor = start + s.len();
                    c.candidates.clear();
                }
                _ => {
                    let mut prefix = candidates[0].clone();
                    for x in &candidates[1..] {
                        while !x.starts_with(&prefix) {
                            prefix.pop();
                        }
                    }
                    if prefix.len() > c.cursor - start {
                        c.input.replace_range(start..c.cursor, &prefix);
                        c.cursor = start + prefix.len();
                    }
                    c.candidates = candidates;
                }
            }
        }
        Event::Problem(p) => app.push(LogKind::Error, p),
        Event::Signal(name) => {
            app.info(format!("{name}: quitting"));
            app.quit_now(&mut fx);
        }
    }
    app.sync_polling(&mut fx);
    app.sync_trace(&mut fx);
    app.sync_text_cache();
    fx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lessons;
    use crossterm::event::KeyEventKind;

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

    #[test]
    fn r_runs_the_current_step_once_at_a_time() {
        let mut a = app();
        let fx = update(&mut a, key(KeyCode::Char('r')));
        assert!(
            matches!(
                fx.as_slice(),
                [Effect::Run {
                    job: 1,
                    cmd: Cmd::Topo(crate::cli::TopoCmd::Up { .. })
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
                result: Ok(Output::new("topology hike-lab up", serde_json::Value::Null)),
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
                result: Err("stopped".into()),
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
        let mut a = app();
        let fx = update(&mut a, key(KeyCode::Char('q')));
        assert!(matches!(fx.as_slice(), [Effect::Quit]));
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
        let dump = |v: u64| crate::tui::fake::dump("pkt_count", v);
        for i in 0..=20u64 {
            update(
                &mut a,
                Event::Maps(vec![MapSample {
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
            Event::Maps(vec![MapSample {
                name: "pkt_count".into(),
                at: t0 + Duration::from_millis(2100),
                result: Ok(None),
            }]),
        );
        assert!(matches!(a.panels[0].state, PanelState::NotLoaded));
    }

    #[test]
    fn an_arrays_unnamed_zeros_stay_out_of_its_panel() {
        // lesson 4 names 6 of hvm_stats' 16 reasons
        let mut a = app_on("4");
        let mut d = crate::tui::fake::dump("pkt_count", 0);
        d.map.name = "system/hvm_stats".into();
        d.map.max_entries = 16;
        let row = d.rows[0].clone();
        d.rows = (0..16u64)
            .map(|k| {
                let mut r = row.clone();
                r.key = Value::Int(k);
                // reason 10 counted 5 packets, reason 7 (not named by the lesson) one
                r.value = Value::Int(match k {
                    10 => 5,
                    7 => 1,
                    _ => 0,
                });
                r
            })
            .collect();
        update(
            &mut a,
            Event::Maps(vec![MapSample {
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
        let st = crate::tui::fake::status(true);
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
    fn a_traffic_check_stops_the_background_traffic_first() {
        let mut a = App::new(
            lessons::find("6").unwrap(),
            true,
            Theme { color: false },
            (120, 40),
            Instant::now(),
        );
        a.start();
        update(&mut a, Event::Topo(Ok(crate::tui::fake::status(true))));
        update(&mut a, key(KeyCode::Char('t')));
        let traffic = a.traffic.unwrap();
        // the check waits for the background ping to stop, then runs
        let fx = update(&mut a, key(KeyCode::Char('c')));
        assert!(
            matches!(fx.as_slice(), [Effect::Stop(j)] if *j == traffic),
            "{fx:?}"
        );
        assert!(a.checking.is_none());
        let fx = update(
            &mut a,
            Event::JobDone {
                job: traffic,
                result: Ok(Output::new("sent 12/12", serde_json::Value::Null)),
            },
        );
        assert!(a.traffic.is_none());
        assert!(
            fx.iter().any(|e| matches!(e, Effect::Check { .. })),
            "the check runs once the traffic stopped: {fx:?}"
        );
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
        let mut progress = Progress::default();
        ProgressOp::Step("02-architecture-and-toolchain".into(), 1).apply(&mut progress);
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
        assert_eq!(a.step, 1, "resumed at the step of the progress file");
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
            [ProgressOp::Step("02-architecture-and-toolchain".into(), 2)]
        );
        let fx = update(&mut a, key(KeyCode::Char('n')));
        assert!(saved(&fx).is_empty(), "{fx:?}");
        assert_eq!(a.progress.lessons["02-architecture-and-toolchain"].step, 2);
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
        let done = crate::tui::fake::failed_check(&a.lesson);
        let text = done.report.render(&a.lesson.exercises[0]);
        update(&mut a, Event::Checked(Box::new(done)));
        let fx = update(
            &mut a,
            Event::JobDone {
                job,
                result: Ok(Output {
                    text,
                    json: serde_json::Value::Null,
                    success: false,
                }),
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
        let pass = crate::tui::fake::passed_check(&a.lesson);
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
                result: Ok(Output::new("PASS", serde_json::Value::Null)),
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
        let fx = update(
            &mut a,
            Event::JobDone {
                job,
                result: Ok(Output::new("PASS", serde_json::Value::Null)),
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
            update(&mut a, Event::Trace(line.into()));
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
            update(&mut a, Event::Trace(l.into()));
        }
        let n = a.trace.len();
        assert_eq!(a.trace[n - 2].kind, TraceKind::Verdict);
        assert_eq!(
            a.trace[n - 2].text,
            "  verdict from hike_pass[4] (final program)"
        );
        assert_eq!(a.trace_packets, 3);
        // a `chain trace` command reads the same ring buffer: the pane stops reading
        update(&mut a, key(KeyCode::Char(':')));
        typed(&mut a, "chain trace --seconds 5");
        let fx = update(&mut a, key(KeyCode::Enter));
        assert!(
            fx.iter().any(|e| matches!(e, Effect::Trace(false))),
            "{fx:?}"
        );
        // its lines go to the timeline too
        update(
            &mut a,
            Event::JobOutput("chain count (0x40000001) enter (r2=0 r3=0)".into()),
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
}
