//! Commands and jobs: a command line (typed, or a step's `run`) becomes a job the runtime
//! runs; what it streams and its typed result come back to the event log and the panels;
//! background traffic; stopping and quitting.

use std::collections::BTreeMap;

use eclat_course::Lesson;
use eclat_course::lessons::MapPanel;
use eclat_kernel::topo::Status;

use super::{Effect, JobError};
use crate::commands::{self, Cmd, LessonCmd, MapCmd, Reply, TrafficArgs};
use crate::tui::state::{
    App, CheckView, Focus, Job, JobId, LogKind, Panel, PanelState, Queued, Replayed, TRAFFIC_PPS,
    TopoView, TraceKind, TraceLine, VerifierView,
};

/// Where background traffic goes: where the lesson's own traffic steps send it (tg →
/// fc01::2 in lesson 1), else from the first node to the first address across its first link.
pub fn traffic_ends(lesson: &Lesson, st: &Status) -> Option<(String, String)> {
    for s in &lesson.steps {
        if let Some(Ok(Some(Cmd::Traffic(t)))) = s.run.as_deref().map(commands::parse_line)
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

/// What `clear` does on the TUI's command line (in `help`).
pub(crate) const CLEAR: &str = "empty the event log";

impl App {
    pub(crate) fn new_job(&mut self, label: String, background: bool) -> JobId {
        let id = self.next_job;
        self.next_job += 1;
        self.jobs.push(Job {
            id,
            label,
            started: self.now,
            background,
            stopping: false,
            replay: None,
        });
        id
    }
    /// Runs a command line (from the command line or a step's `run`).
    pub(crate) fn submit(&mut self, line: &str, fx: &mut Vec<Effect>) {
        // `:` opens the command line; a second one typed there (or pasted with a command from
        // the lesson's `:topo up`) is not part of the command
        let line = line.trim().trim_start_matches(':').trim_start();
        if line.is_empty() {
            return;
        }
        match line {
            "?" | "help" => {
                self.push(LogKind::Command, format!("$ {line}"));
                self.info(commands::help_text(CLEAR));
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
        match commands::parse_line(line) {
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
                            setting: false,
                        },
                        state: PanelState::NotLoaded,
                    });
                }
            }
            Ok(Some(cmd)) => self.enqueue(
                Queued::Command {
                    line: line.to_string(),
                    cmd,
                },
                fx,
            ),
            Err(msg) => {
                self.push(LogKind::Command, format!("$ {line}"));
                self.push(LogKind::Error, commands::parse_error(&msg));
            }
        }
    }
    /// Starts `q` now if nothing runs in the foreground (and nothing queued before it waits),
    /// else queues it: queued jobs run one after the other, in the order they were asked
    /// for, each once the one before it has ended, so that each one's output stays under its
    /// own command line.
    pub(crate) fn enqueue(&mut self, q: Queued, fx: &mut Vec<Effect>) {
        let waiting = self.foreground().is_some() || !self.finishing.is_empty();
        if !waiting && self.queue.is_empty() {
            self.start_queued(q, fx);
            return;
        }
        // the status line shows what waits (a line in the log would split the running job's
        // output)
        self.queue.push_back(q);
    }
    /// Starts the next queued job once nothing runs in the foreground.
    pub(crate) fn run_queued(&mut self, fx: &mut Vec<Effect>) {
        while self.foreground().is_none() && self.finishing.is_empty() {
            let Some(q) = self.queue.pop_front() else {
                return;
            };
            self.start_queued(q, fx);
        }
    }
    fn start_queued(&mut self, q: Queued, fx: &mut Vec<Effect>) {
        match q {
            Queued::Command { line, cmd } => {
                self.push(LogKind::Command, format!("$ {line}"));
                self.log_scroll = 0;
                let job = self.new_job(line, false);
                fx.push(Effect::Run { job, cmd });
            }
            Queued::Replay { line, cmd, of } => {
                self.push(LogKind::Command, format!("$ {line}"));
                self.log_scroll = 0;
                let job = self.new_job(line, false);
                if let Some(j) = self.jobs.iter_mut().find(|j| j.id == job) {
                    j.replay = Some(of);
                }
                fx.push(Effect::Run { job, cmd });
            }
            Queued::Check => self.start_check_now(fx),
        }
    }
    /// A resumed lesson's command failed (or was stopped): the rest of the replay is
    /// dropped (each later step expects what this one makes), and one line says where the
    /// lesson stands and what to do.
    fn replay_failed(&mut self, of: Replayed, stopped: bool) {
        let before = self.queue.len();
        self.queue.retain(|q| !matches!(q, Queued::Replay { .. }));
        let dropped = before - self.queue.len();
        let what = match of {
            Replayed::Emptied => format!(
                "the lab could not be emptied of what other lessons made{}",
                if stopped { " (stopped)" } else { "" }
            ),
            Replayed::Topology => format!(
                "its topology could not be made anew{}",
                if stopped { " (stopped)" } else { "" }
            ),
            Replayed::Step(n) => format!(
                "step {n}'s command {} (above)",
                if stopped { "was stopped" } else { "failed" }
            ),
        };
        let rest = match dropped {
            0 => String::new(),
            1 => "; the one after it was not run".to_string(),
            n => format!("; the {n} after it were not run"),
        };
        let todo = match of {
            Replayed::Step(n) => format!(
                "Fix what it says, then go to step {n} (p/n) and run it with r, and the steps                  after it; or x resets the lab"
            ),
            Replayed::Topology => "Fix what it says, then press r on the lesson's first step;                                    or x resets the lab"
                .to_string(),
            Replayed::Emptied => {
                "Its panels may show what other lessons counted; `reset` empties the lab".into()
            }
        };
        self.push(
            LogKind::Error,
            format!(
                "lesson {} was not resumed at step {}: {what}{rest}. {todo}.",
                self.lesson.number,
                self.step + 1
            ),
        );
    }
    /// `lesson check|hint|solution|reset` on this lesson (a step's `run`, or typed): the
    /// TUI's own panels do them, on the exercise named or the current one.
    pub(crate) fn is_current_lesson(&self, l: &LessonCmd) -> bool {
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
    pub(crate) fn lesson_command(&mut self, l: LessonCmd, fx: &mut Vec<Effect>) {
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
    pub(crate) fn run_step(&mut self, fx: &mut Vec<Effect>) {
        let Some(step) = self.lesson.steps.get(self.step) else {
            return;
        };
        if let Some(why) = self.step_impossible(self.step) {
            self.push(
                LogKind::Warn,
                format!("nothing was run (and nothing passed): {why}"),
            );
            return;
        }
        if let Some(tool) = step.needs
            && !self.tools_known
        {
            self.info(format!(
                "this step runs {}: still finding out whether this machine can; press r \
                 again in a moment",
                tool.name()
            ));
            return;
        }
        match step.run.clone() {
            Some(run) => self.submit(&run, fx),
            None => self.info("this step has nothing to run: read, then press n"),
        }
    }
    pub(crate) fn toggle_traffic(&mut self, fx: &mut Vec<Effect>) {
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
            flows: None,
            sport: 40000,
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
    /// `q`: quitting removes what the session made, so a session that can make anything
    /// asks first; a learner reading without root quits at once.
    pub(crate) fn ask_quit(&mut self, fx: &mut Vec<Effect>) {
        if self.jobs.is_empty() && !self.privileged {
            fx.push(Effect::Quit);
        } else {
            self.confirm_quit = true;
        }
    }
    pub(crate) fn quit_now(&mut self, fx: &mut Vec<Effect>) {
        for j in &self.jobs {
            fx.push(Effect::Stop(j.id));
        }
        fx.push(Effect::Quit);
    }
    pub(crate) fn stop_running(&mut self, fx: &mut Vec<Effect>) {
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
    /// A job finished: its typed result goes to the event log (as the CLI prints it), and
    /// to the panels it is about (a test's packets to the timeline, a rejected build to the
    /// verifier panel).
    pub(crate) fn on_done(
        &mut self,
        job: JobId,
        result: Result<Box<Reply>, JobError>,
        fx: &mut Vec<Effect>,
    ) {
        let Some(i) = self.jobs.iter().position(|j| j.id == job) else {
            return;
        };
        let j = self.jobs.remove(i);
        let replay_failed = j.replay.filter(|_| match &result {
            Ok(r) => r.exit_code() != 0,
            Err(_) => true,
        });
        let stopped = matches!(&result, Err(e) if e.stopped);
        // the lab emptied for a lesson opened from another one: all of it
        let emptied = j.replay == Some(Replayed::Emptied)
            && matches!(&result, Ok(r) if matches!(&**r, Reply::Reset(rep) if rep.kept.is_empty()));
        if matches!(&result, Err(e) if e.finishing) {
            self.finishing.push(job);
        }
        if self.checking == Some(job) {
            self.checking = None;
            if let (Err(e), CheckView::Running) = (&result, &self.check) {
                self.check = if e.stopped {
                    CheckView::NotRun
                } else {
                    CheckView::Error(e.text.clone())
                };
            }
        }
        match &result {
            Ok(r) => match &**r {
                Reply::Test(t) => self.trace_from_test(&t.packets),
                Reply::ModuleBuild(b) if !b.accepted() => self.show_rejection(b),
                Reply::LessonCheck(_)
                | Reply::LessonHint(_)
                | Reply::LessonReset(_)
                | Reply::LessonSolution(_) => fx.push(Effect::ReloadProgress),
                _ => {}
            },
            Err(JobError {
                rejected: Some(b), ..
            }) => self.show_rejection(b),
            Err(_) => {}
        }
        if self.traffic == Some(job) {
            self.traffic = None;
            match result {
                Ok(r) => self.info(format!("background traffic: {}", crate::render::reply(&r))),
                Err(e) if e.stopped => self.info("background traffic stopped"),
                Err(e) => self.push(LogKind::Error, format!("background traffic: {}", e.text)),
            }
        } else {
            match result {
                Err(e) if e.stopped => self.info(format!("stopped `{}`", j.label)),
                Err(e) => self.push(LogKind::Error, crate::render::error_message(&e.text)),
                Ok(r) => {
                    let text = match (&*r, j.replay) {
                        // every pin it removed would fill the log: how many
                        (Reply::Reset(rep), Some(Replayed::Emptied)) => {
                            crate::render::reset_brief(rep)
                        }
                        _ => crate::render::reply(&r),
                    };
                    if r.exit_code() != 0 {
                        self.push(
                            LogKind::Warn,
                            if text.is_empty() {
                                format!("`{}` reported a problem", j.label)
                            } else {
                                text
                            },
                        )
                    } else if !text.is_empty() {
                        self.push(LogKind::Output, text)
                    } else {
                        self.push(LogKind::Info, format!("`{}` done", j.label))
                    }
                }
            }
        }
        if let Some(of) = replay_failed {
            self.replay_failed(of, stopped);
        }
        if j.replay == Some(Replayed::Emptied) {
            self.lab_emptied(emptied, stopped, fx);
        }
        self.log_scroll = 0;
        if self.privileged {
            fx.push(Effect::RefreshTopo);
        }
        self.run_queued(fx);
    }

    /// The verifier panel for the first rejected program of a build.
    fn show_rejection(&mut self, b: &eclat_service::modules::BuildReport) {
        let Some(p) = b.programs.iter().find(|p| !p.accepted) else {
            return;
        };
        let Some(explanation) = p.explanation.clone() else {
            return;
        };
        let text =
            eclat_kernel::perms::read_to_string_as_invoking_user(std::path::Path::new(&b.source))
                .unwrap_or_default();
        self.verifier = Some(VerifierView::new(
            explanation,
            Some(p.name.clone()),
            &b.source,
            &text,
        ));
        self.show_check = true;
        if self.focus != Focus::Command {
            self.focus = Focus::Verifier;
        }
        self.last_pane = Focus::Verifier;
    }
    /// `test` gives each packet's verdict and trace: they go to the timeline too.
    pub(crate) fn trace_from_test(&mut self, packets: &[eclat_service::testrun::PacketResult]) {
        for p in packets {
            self.push_line(TraceLine {
                kind: TraceKind::Packet,
                text: format!("test `{}`", p.packet),
            });
            for l in &p.trace {
                let mut t = TraceLine::parse(l);
                if t.kind == TraceKind::Packet {
                    t.kind = TraceKind::Call;
                }
                t.text = format!("  {}", t.text);
                self.push_line(t);
            }
            self.push_line(TraceLine {
                kind: TraceKind::Verdict,
                text: format!("verdict {}", p.verdict),
            });
        }
    }
}
