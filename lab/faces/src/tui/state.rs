//! The TUI's state: what the screen shows and what runs. Plain data (no terminal, thread or
//! lock): `update` changes it, `layout` and `view` read it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use eclat_course::lessons::{self, Lesson, MapPanel};
use eclat_course::{CheckReport, Progress};
use eclat_kernel::topo::Status;
use eclat_model::verifier::Explanation;
use eclat_service::trace::{TraceEvent, TraceKind as Vm};

use super::markdown::{self, Block};
use super::theme::Theme;
use crate::commands::{self, Cmd, LessonCmd};

pub type JobId = u64;

/// How often the map panels are read while visible.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// The window over which a rate per second is computed.
pub const RATE_WINDOW: Duration = Duration::from_millis(1000);
/// Rates kept for the sparklines.
pub const HISTORY: usize = 120;
pub const LOG_MAX: usize = 2000;
/// Lines of chain trace kept for the timeline.
pub const TRACE_MAX: usize = 400;
/// The background traffic generator's rate (the `t` key).
pub const TRAFFIC_PPS: f64 = 5.0;

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
    /// A line of the live trace: its kind from the VM's event, its text as named.
    pub fn from_event(event: &TraceEvent, line: &str) -> Self {
        let kind = match event.kind {
            Vm::ChainEnter if event.depth <= 1 => TraceKind::Packet,
            Vm::ChainEnter => TraceKind::Call,
            Vm::ChainExit => TraceKind::Exit,
            Vm::ProgCall => TraceKind::Call,
            Vm::ProgReturn => TraceKind::Return,
            Vm::Abort => TraceKind::Abort,
            Vm::Unknown => TraceKind::Other,
        };
        Self {
            kind,
            text: line.trim_end().to_string(),
        }
    }

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
    /// a line after the first of a message of several lines (a diagnostic under its source,
    /// clang's errors, a check's report): drawn under the first one's mark, without one, its
    /// spacing kept
    pub cont: bool,
}

/// A job asked for while another ran, waiting for its turn.
#[derive(Debug)]
pub enum Queued {
    /// a command line (typed, or a step's `run`), parsed
    Command { line: String, cmd: Cmd },
    /// the current exercise's checks
    Check,
    /// a command a resumed lesson runs again to make its lab (`ensure_topology`): when one
    /// fails, the rest of the replay is dropped
    Replay {
        line: String,
        cmd: Cmd,
        of: Replayed,
    },
}

/// What a command the TUI runs to make a lesson's lab is for: a lesson opened from another
/// is emptied first; a resumed one gets its topology anew and its earlier steps again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replayed {
    /// the lab emptied (`reset`) for a lesson opened from another one: what that lesson
    /// made (its programs, scripts, maps and their counters) is not this one's
    Emptied,
    /// the lesson's topology, anew
    Topology,
    /// the command of this step (from 1)
    Step(usize),
}

impl Queued {
    /// What the status line calls it while it waits.
    pub fn label(&self) -> String {
        match self {
            Queued::Command { line, .. } | Queued::Replay { line, .. } => format!("`{line}`"),
            Queued::Check => "the check".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub label: String,
    pub started: Instant,
    pub background: bool,
    /// the learner asked it to stop
    pub stopping: bool,
    /// a resumed lesson's command, run again (`Queued::Replay`)
    pub replay: Option<Replayed>,
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
    pub fn insert(&mut self, c: char) {
        self.input.insert(self.cursor, c);
        self.cursor += c.len_utf8();
    }
    pub fn prev_boundary(&self) -> usize {
        self.input[..self.cursor]
            .char_indices()
            .last()
            .map(|(i, _)| i)
            .unwrap_or(0)
    }
    pub fn next_boundary(&self) -> usize {
        self.input[self.cursor..]
            .chars()
            .next()
            .map(|c| self.cursor + c.len_utf8())
            .unwrap_or(self.cursor)
    }
    pub fn set(&mut self, s: String) {
        self.cursor = s.len();
        self.input = s;
    }
    pub fn history_up(&mut self) {
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
    pub fn history_down(&mut self) {
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
    pub window: VecDeque<(Instant, u64)>,
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
    /// the block of the lesson text the current step is explained at
    pub text_anchor: usize,
    /// the text is where the step put it (not scrolled by hand since): a new width keeps
    /// it at the step's place
    pub text_following: bool,
    /// lines scrolled up from the newest (0: follow the end)
    pub log_scroll: usize,
    /// lines of the maps pane scrolled past (its panels do not all fit: PgDn while focused)
    pub maps_scroll: usize,
    pub focus: Focus,
    /// where focus returns when the command line is left
    pub last_pane: Focus,
    pub zoom: bool,
    pub help: bool,
    pub confirm_quit: bool,
    pub cmd: CmdLine,
    pub log: Vec<LogLine>,
    pub jobs: Vec<Job>,
    pub next_job: JobId,
    pub traffic: Option<JobId>,
    pub topo: TopoView,
    pub panels: Vec<Panel>,
    pub privileged: bool,
    pub theme: Theme,
    pub size: (u16, u16),
    pub now: Instant,
    pub polling: Vec<String>,
    /// the lesson text laid out for the width it was last drawn at (layout is the costly
    /// part of a frame, and frames come at 10 Hz while maps are polled)
    pub text_cache: Option<(u16, Vec<ratatui::text::Line<'static>>)>,
    /// the line of `text_cache` each block of the lesson text starts at
    pub text_starts: Vec<usize>,
    /// every lesson, for the lesson list
    pub all: Vec<Lesson>,
    /// the learner's progress (the runtime keeps the file in step, see `ProgressOp`)
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
    pub checking: Option<JobId>,
    /// what was asked for while a job ran: each starts, in order, once the one before it
    /// ended (so the output of each stays together, under its own command line)
    pub queue: VecDeque<Queued>,
    /// stopped jobs still ending (printing what they print on the way out)
    pub finishing: Vec<JobId>,
    /// the lesson was opened or resumed: its topology is brought up once the lab's is known
    pub topo_wanted: bool,
    /// a lesson opened from another one: the lab is being emptied (`Replayed::Emptied`) so
    /// that the lesson starts from its own state. Until that ends the panels read nothing and
    /// the trace is not shown (what they would show is the other lesson's, under this one's
    /// labels), and the lesson's topology waits
    pub lab_emptying: bool,
    pub overlay: Option<Overlay>,
    /// the lesson uses HIKe chains: the chain-trace timeline is shown
    pub uses_chains: bool,
    pub trace: VecDeque<TraceLine>,
    pub trace_status: Option<String>,
    /// packets seen in the live trace
    pub trace_packets: u64,
    /// the indentation of a packet's first chain entry in the trace
    pub trace_base: Option<usize>,
    pub tracing: bool,
    /// the field's tools this machine cannot run, and why (`eclat_course::checks::missing`,
    /// read once, beside the first frame: `Event::Tools`): a step that `needs` one says so
    /// instead of running
    pub unavailable: Vec<(lessons::Tool, String)>,
    /// `unavailable` is known (until then a step that needs a tool waits for it)
    pub tools_known: bool,
}

/// The live panels of a lesson's maps, not read yet.
pub fn panels_of(lesson: &Lesson) -> Vec<Panel> {
    lesson
        .maps
        .iter()
        .map(|m| Panel {
            spec: m.clone(),
            state: PanelState::NotLoaded,
        })
        .collect()
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
        let panels = panels_of(&lesson);
        let mut app = Self {
            blocks,
            step: 0,
            text_scroll: 0,
            text_anchor: 0,
            text_following: true,
            log_scroll: 0,
            maps_scroll: 0,
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
            text_starts: Vec::new(),
            all: lessons::all(),
            progress: Progress::default(),
            exercise: None,
            exercise_path: None,
            check: CheckView::NotRun,
            show_check: false,
            verifier: None,
            checking: None,
            queue: VecDeque::new(),
            finishing: Vec::new(),
            topo_wanted: false,
            lab_emptying: false,
            overlay: None,
            uses_chains: uses_chains(&lesson),
            trace: VecDeque::new(),
            trace_status: None,
            trace_packets: 0,
            trace_base: None,
            tracing: false,
            unavailable: Vec::new(),
            tools_known: false,
            lesson,
        };
        app.exercise = app.pick_exercise();
        app.relabel_panels();
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
    pub fn resume(&mut self) {
        let n = self.lesson.steps.len();
        self.step = self
            .progress
            .lessons
            .get(&self.lesson.id)
            .map_or(0, |l| l.step)
            .min(n.saturating_sub(1));
        self.exercise = self.exercise_of_step(self.step);
        self.relabel_panels();
        self.follow_step();
    }

    /// The exercise a step's command checks or hints (`lesson check N ID`), if any.
    pub fn step_exercise(&self, step: usize) -> Option<String> {
        self.lesson
            .steps
            .get(step)?
            .run
            .as_deref()
            .and_then(|r| commands::parse_line(r).ok().flatten())
            .and_then(|c| match c {
                Cmd::Lesson(
                    LessonCmd::Check { exercise, .. } | LessonCmd::Hint { exercise, .. },
                ) => exercise,
                _ => None,
            })
    }

    /// The exercise of step `step` (an index into `lesson.exercises`), which the header names
    /// and the keys act on: the one the step's command checks or hints, else the last one a
    /// step before it named (resumed on lesson 5's last step, `e` is the firewall the steps
    /// just loaded, not the first exercise), else the first one a later step names, else the
    /// first not passed yet. A function of the step alone: resumed at a step, or arrived at
    /// with n or p from anywhere, the header names the same exercise (moving back from lesson
    /// 8's `sampling` step to its burst kept `sampling` over a step about `blacklist-code`).
    pub fn exercise_of_step(&self, step: usize) -> Option<usize> {
        let named = |i: usize| {
            self.step_exercise(i)
                .and_then(|e| self.lesson.exercises.iter().position(|x| x.id == e))
        };
        let step = step.min(self.lesson.steps.len().saturating_sub(1));
        (0..=step)
            .rev()
            .find_map(named)
            .or_else(|| (step + 1..self.lesson.steps.len()).find_map(named))
            .or_else(|| self.pick_exercise())
    }

    /// The first exercise not passed yet, else the first.
    pub fn pick_exercise(&self) -> Option<usize> {
        let passed = self.progress.lessons.get(&self.lesson.id);
        let exs = &self.lesson.exercises;
        exs.iter()
            .position(|e| !passed.is_some_and(|p| p.passed.contains(&e.id)))
            .or((!exs.is_empty()).then_some(0))
    }

    pub fn current_exercise(&self) -> Option<&lessons::Exercise> {
        self.exercise.and_then(|i| self.lesson.exercises.get(i))
    }

    /// Whether the check panel shows a compiler's own lines (the file does not compile): they
    /// are what to read, and need room as the verifier's explanation does.
    pub fn compiler_shown(&self) -> bool {
        self.show_check
            && matches!(&self.check, CheckView::Done(rep)
                if rep.results.iter().any(|r| r.compiler_output.is_some()))
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

    /// The reference solution of the current exercise (embedded in the binary).
    pub fn solution_text(&self) -> Option<&'static str> {
        let ex = self.current_exercise()?;
        lessons::exercise_file(&self.lesson, "solution", &ex.file)
    }

    pub fn push(&mut self, kind: LogKind, text: impl AsRef<str>) {
        for (i, l) in text.as_ref().trim_end().lines().enumerate() {
            self.log.push(LogLine {
                kind,
                text: markdown::expand_tabs(l),
                cont: i > 0,
            });
        }
        if self.log.len() > LOG_MAX {
            self.log.drain(..self.log.len() - LOG_MAX);
        }
    }
    pub fn info(&mut self, t: impl AsRef<str>) {
        self.push(LogKind::Info, t)
    }

    pub fn busy(&self) -> bool {
        !self.jobs.is_empty()
    }

    /// The panels' key labels for the current exercise (monitor's events are named by the
    /// exercise's own script), on the rows shown already too.
    pub fn relabel_panels(&mut self) {
        for p in &mut self.panels {
            let Some(spec) = self.lesson.maps.iter().find(|m| m.name == p.spec.name) else {
                continue;
            };
            p.spec.labels = self.lesson.panel_labels(spec, self.exercise);
            if let PanelState::Loaded { rows, .. } = &mut p.state {
                for r in rows {
                    r.label = p.spec.labels.get(&r.key).cloned();
                }
            }
        }
    }

    pub fn foreground(&self) -> Option<&Job> {
        self.jobs.iter().find(|j| !j.background)
    }
}
