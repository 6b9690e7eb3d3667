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
use crate::cli::{Cmd, MapCmd, TrafficArgs};
use crate::commands::Output;
use crate::lessons::{Lesson, MapPanel};
use crate::repl;

pub type JobId = u64;

/// How often the map panels are read while visible.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// The window over which a rate per second is computed.
const RATE_WINDOW: Duration = Duration::from_millis(1000);
/// Rates kept for the sparklines.
const HISTORY: usize = 120;
const LOG_MAX: usize = 2000;
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
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Lesson,
    Topology,
    Maps,
    Log,
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
            lesson,
        };
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

    /// Effects to run once the runtime is up.
    pub fn start(&mut self) -> Vec<Effect> {
        let mut fx = Vec::new();
        if self.privileged {
            fx.push(Effect::RefreshTopo);
        }
        self.sync_polling(&mut fx);
        fx
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
            KeyCode::Char('q') => self.ask_quit(fx),
            KeyCode::Char('n') | KeyCode::Right => {
                if self.step + 1 < self.lesson.steps.len() {
                    self.step += 1;
                }
            }
            KeyCode::Char('p') | KeyCode::Left => self.step = self.step.saturating_sub(1),
            KeyCode::Char('r') | KeyCode::Enter => self.run_step(fx),
            KeyCode::Char('c') => self.info(
                "checks come with the lesson checks (a later version): for now, watch the counters",
            ),
            KeyCode::Char('t') => self.toggle_traffic(fx),
            KeyCode::Char('?') | KeyCode::F(1) => self.help = true,
            KeyCode::Char(':') | KeyCode::Char('/') => {
                self.last_pane = self.focus;
                self.focus = Focus::Command;
            }
            KeyCode::Char('z') => self.zoom = !self.zoom,
            KeyCode::Esc => self.zoom = false,
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
                        rows.push(row);
                    }
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
        Event::JobOutput(text) => app.push(LogKind::Output, text),
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
    fn app() -> App {
        let mut a = App::new(
            lessons::find("1").unwrap(),
            true,
            Theme { color: false },
            (120, 40),
            Instant::now(),
        );
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
        let mut a = App::new(
            lessons::find("1").unwrap(),
            true,
            Theme { color: false },
            (120, 40),
            Instant::now(),
        );
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
        assert!(a.start().is_empty());
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
}
