//! The TUI's one entry point, [`update`]: every event (a key, a resize, a map sample, a
//! finished command, a trace line) goes through it and comes out as [`Effect`]s for the
//! runtime to carry out. Pure: tested by feeding it events. The handling is split by what
//! it is about: keys by mode and overlay (`keys`), commands and jobs (`jobs`), the lesson,
//! its exercise and checks (`lesson`), live panels and the trace (`live`).

mod jobs;
mod keys;
mod lesson;
mod live;
#[cfg(test)]
mod tests;

use std::time::Instant;

use crossterm::event::KeyEvent;
use eclat_course::{Lesson, Progress, ProgressOp};
use eclat_kernel::topo::Status;
use eclat_service::maps::Sample;
use eclat_service::trace::TraceItem;

pub use self::live::sort_addresses;
use super::layout::{self, inner_width};
use super::state::{App, CheckDone, JobId, LogKind, TopoView, TraceLine};
use super::{follow, markdown};
use crate::commands::{Cmd, Reply, Update};

/// Why a job failed: the error's text, and when the verifier rejected a build, its report
/// (the verifier panel shows it).
#[derive(Debug, Clone)]
pub struct JobError {
    pub text: String,
    pub rejected: Option<Box<eclat_service::modules::BuildReport>>,
    /// the job was stopped (Ctrl-C, Esc, quitting): it has no result
    pub stopped: bool,
    /// stopped, it still runs while it ends (what it prints on the way out comes as
    /// `Note`s): `JobEnded` says when it is gone, and jobs queued after it wait for that
    pub finishing: bool,
}

/// Everything that can happen to the TUI.
#[derive(Debug)]
pub enum Event {
    Key(KeyEvent),
    Resize(u16, u16),
    Tick(Instant),
    /// what a running command streams (`map watch` frames, `chain trace` lines)
    JobUpdate(JobId, Update),
    JobDone {
        job: JobId,
        result: Result<Box<Reply>, JobError>,
    },
    /// a stopped job that was still `finishing` ended: the next queued job may start
    JobEnded(JobId),
    Maps(Vec<Sample>),
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
    /// an item of the chain trace the timeline reads
    Trace(TraceItem),
    /// the field's tools this machine cannot run, and why (looked for once, after the
    /// first frame: finding out whether bcc imports takes a Python start, ~100 ms)
    Tools(Vec<(eclat_course::lessons::Tool, String)>),
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

/// The one entry point: applies an event to the state and says what the runtime must do.
pub fn update(app: &mut App, ev: Event) -> Vec<Effect> {
    let mut fx = Vec::new();
    match ev {
        Event::Key(k) => app.on_key(k, &mut fx),
        Event::Resize(w, h) => {
            app.size = (w, h);
            // laid out again for the new width: still at the step's place if it was there
            app.sync_text_cache();
            app.clamp_text_scroll(0);
        }
        Event::Tick(t) => app.now = t,
        Event::JobUpdate(job, u) => {
            if !app.jobs.iter().any(|j| j.id == job) {
                // a job the learner already saw end (a late line after its result)
                return fx;
            }
            if let Update::Trace(TraceItem::Event { event, line }) = &u {
                app.push_trace(TraceLine::from_event(event, line));
            }
            app.push(LogKind::Output, crate::render::update(&u))
        }
        Event::Note(kind, text) => app.push(kind, text),
        Event::Checked(done) => app.on_checked(*done, &mut fx),
        Event::Watching(p) => app.exercise_path = Some(p),
        Event::FileChanged(p) => app.on_file_changed(p, &mut fx),
        Event::Tools(missing) => {
            app.unavailable = missing;
            app.tools_known = true;
            // the step the learner is on may be one of them (a resumed lesson)
            if let Some(why) = app.step_impossible(app.step) {
                app.push(LogKind::Warn, why);
            }
        }
        Event::Progress(p) => {
            app.progress = p;
            if app.exercise.is_none() {
                app.exercise = app.pick_exercise();
                app.relabel_panels();
            }
        }
        // the chains of the lesson left behind, until its lab is emptied
        Event::Trace(TraceItem::Event { .. }) if app.lab_emptying => {}
        Event::Trace(TraceItem::Event { event, line }) => {
            app.trace_status = None;
            // a `chain trace` running on the command line shows the same lines: once is enough
            if !app.jobs.iter().any(|j| j.label.starts_with("chain trace")) {
                app.push_trace(TraceLine::from_event(&event, &line));
            }
        }
        Event::Trace(TraceItem::Status { status }) => app.trace_status = Some(status),
        Event::JobDone { job, result } => app.on_done(job, result, &mut fx),
        Event::JobEnded(job) => {
            app.finishing.retain(|j| *j != job);
            app.run_queued(&mut fx);
        }
        // read before the lab was emptied: another lesson's maps
        Event::Maps(_) if app.lab_emptying => {}
        Event::Maps(s) => app.on_maps(s),
        Event::Topo(r) => {
            app.topo = match r {
                Ok(mut st) => {
                    sort_addresses(&app.lesson.text, &mut st);
                    TopoView::Status(st)
                }
                Err(e) => TopoView::Error(e),
            };
            app.ensure_topology(&mut fx);
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

impl App {
    /// Where the panes are at the terminal's size.
    pub fn regions(&self) -> layout::Regions {
        layout::regions(
            self,
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
        )
    }

    pub(crate) fn sync_polling(&mut self, fx: &mut Vec<Effect>) {
        let want = self.wanted_polling();
        if want != self.polling {
            self.polling = want.clone();
            fx.push(Effect::Poll(want));
        }
    }
    /// The maps to poll: the panels', when they are on screen and the lab can read maps (and
    /// holds this lesson's: not while it is emptied for it).
    pub fn wanted_polling(&self) -> Vec<String> {
        let r = self.regions();
        if !self.privileged || r.maps.is_none() || self.lab_emptying {
            return vec![];
        }
        self.panels.iter().map(|p| p.spec.name.clone()).collect()
    }
    pub(crate) fn sync_trace(&mut self, fx: &mut Vec<Effect>) {
        let want = self.wanted_trace();
        if want != self.tracing {
            self.tracing = want;
            fx.push(Effect::Trace(want));
        }
    }
    /// The trace is read while its pane is on screen and HIKe chains are in the lesson (a
    /// `chain trace` on the command line reads the same feed: each sees every event).
    pub fn wanted_trace(&self) -> bool {
        if !self.privileged || !self.uses_chains {
            return false;
        }
        let r = self.regions();
        r.trace.is_some()
    }
    /// The lesson text's width (None: the text is not on screen).
    pub(crate) fn text_width(&self) -> Option<u16> {
        let r = self.regions();
        r.text.map(inner_width)
    }
    pub(crate) fn sync_text_cache(&mut self) {
        let Some(w) = self.text_width() else {
            return;
        };
        if self.text_cache.as_ref().is_none_or(|(cw, _)| *cw != w) {
            let (lines, starts) = markdown::render_with_starts(&self.blocks, w, &self.theme);
            self.text_cache = Some((w, lines));
            self.text_starts = starts;
            if self.text_following {
                self.text_scroll = self.anchor_line(w);
            }
        }
    }
    /// Scrolls the lesson text to where it explains the current step.
    pub(crate) fn follow_step(&mut self) {
        self.text_anchor = follow::step_anchor(&self.lesson, &self.blocks, self.step);
        self.text_following = true;
        // the text hidden behind the check panel still moves to the step, at the width it
        // was laid out last (a new width lays it out again anyway): `v` shows the step's
        // place, not where the text was when the check opened
        if let Some(w) = self
            .text_width()
            .or(self.text_cache.as_ref().map(|(w, _)| *w))
        {
            self.text_scroll = self.anchor_line(w);
        }
    }
    /// The line the step's block starts at, with the text laid out `w` wide.
    fn anchor_line(&self, w: u16) -> usize {
        let a = self.text_anchor.min(self.blocks.len());
        match &self.text_cache {
            // laid out at this width already: where the block starts
            Some((cw, lines)) if *cw == w => {
                self.text_starts.get(a).copied().unwrap_or(lines.len())
            }
            _ => markdown::render(&self.blocks[..a], w, &self.theme).len(),
        }
    }
    pub(crate) fn text_lines(&mut self) -> usize {
        self.sync_text_cache();
        self.text_cache.as_ref().map_or(0, |(_, l)| l.len())
    }
    pub(crate) fn text_page(&self) -> usize {
        let r = self.regions();
        r.text
            .map_or(1, |t| (t.height as usize).saturating_sub(3).max(1))
    }
}
