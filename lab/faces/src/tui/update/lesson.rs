//! The lesson: steps, the exercise the keys act on, its checks (and the verifier panel when
//! a program is rejected), hints, the solution, the editor and watch mode.

use eclat_course::{Lesson, ProgressOp};

use super::Effect;
use crate::commands::{self, Cmd, TopoCmd};
use crate::tui::markdown;
use crate::tui::state::{
    App, CheckDone, CheckView, Focus, LogKind, Overlay, Queued, Replayed, TopoView, panels_of,
    uses_chains,
};

impl App {
    /// Effects to run once the runtime is up.
    pub(crate) fn start(&mut self) -> Vec<Effect> {
        let mut fx = Vec::new();
        if self.privileged {
            fx.push(Effect::RefreshTopo);
        }
        self.save(ProgressOp::Current(self.lesson.id.clone()), &mut fx);
        fx.push(self.watch_effect());
        self.topo_wanted = true;
        self.ensure_topology(&mut fx);
        self.sync_polling(&mut fx);
        self.sync_trace(&mut fx);
        fx
    }
    pub(crate) fn watch_effect(&self) -> Effect {
        Effect::Watch(self.exercise.map(|i| (Box::new(self.lesson.clone()), i)))
    }
    /// Applies a progress change here and has the runtime write it.
    pub(crate) fn save(&mut self, op: ProgressOp, fx: &mut Vec<Effect>) {
        op.apply(&mut self.progress);
        fx.push(Effect::SaveProgress(op));
    }
    /// Opens another lesson at the step the learner left it on, from an empty lab: what the
    /// lesson left behind made (its topology, programs, scripts, cubes and maps, whose
    /// counters its panels would show under this lesson's labels) is removed first (`reset`),
    /// then the lesson's topology comes up as for a resumed lesson (`ensure_topology`).
    pub(crate) fn open_lesson(&mut self, lesson: Lesson, fx: &mut Vec<Effect>) {
        let left = self.lesson.number;
        self.blocks = markdown::parse(&lesson.text);
        self.panels = panels_of(&lesson);
        self.maps_scroll = 0;
        self.uses_chains = uses_chains(&lesson);
        self.lesson = lesson;
        self.text_cache = None;
        self.resume();
        self.check = CheckView::NotRun;
        self.show_check = false;
        self.verifier = None;
        // checks queued for the lesson left behind are not this one's
        self.queue.retain(|q| !matches!(q, Queued::Check));
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
        if self.privileged {
            // the background traffic went to the other lesson's lab
            if let Some(t) = self.traffic {
                fx.push(Effect::Stop(t));
            }
            self.info(format!(
                "lesson {} starts from an empty lab: what lesson {left} made (topology, \
                 programs, scripts, maps and their counters) is removed first",
                self.lesson.number
            ));
            match commands::parse_line("reset") {
                Ok(Some(cmd)) => {
                    self.lab_emptying = true;
                    self.enqueue(
                        Queued::Replay {
                            line: "reset".into(),
                            cmd,
                            of: Replayed::Emptied,
                        },
                        fx,
                    );
                }
                _ => self.push(LogKind::Error, "internal error: cannot parse `reset`"),
            }
        }
        self.topo_wanted = true;
        self.ensure_topology(fx);
    }
    /// The lab was emptied for this lesson (or could not be): its panels read again, and its
    /// topology comes up as the lesson needs it. `emptied`: nothing of the lab is left (no
    /// topology either: what the sampler would say next).
    pub(crate) fn lab_emptied(&mut self, emptied: bool, stopped: bool, fx: &mut Vec<Effect>) {
        self.lab_emptying = false;
        if emptied {
            self.topo = TopoView::Status(eclat_kernel::topo::Status {
                topology: None,
                nodes: vec![],
                complete: true,
            });
        }
        if stopped {
            // the learner stopped it: nothing more is done for them
            self.topo_wanted = false;
        }
        self.ensure_topology(fx);
    }
    /// The step of this lesson that brings its own topology up (`topo up [NAME]`).
    pub(crate) fn topo_step(&self) -> Option<usize> {
        let want = self.lesson.topology.as_deref()?;
        self.lesson.steps.iter().position(|s| {
            matches!(
                s.run.as_deref().map(commands::parse_line),
                Some(Ok(Some(Cmd::Topo(TopoCmd::Up { name, .. }))))
                    if name.as_deref().unwrap_or(eclat_service::topologies::DEFAULT) == want
            )
        })
    }
    /// The commands of the steps before the current one that leave the lab in another state
    /// (`Cmd::changes_lab`: loads, attachments, wires, map values), in order, with the
    /// number of their step (from 1): what a lesson resumed here runs again.
    pub(crate) fn replay(&self) -> Vec<(usize, String, Cmd)> {
        self.lesson.steps[..self.step.min(self.lesson.steps.len())]
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let line = s.run.as_deref()?;
                match commands::parse_line(line) {
                    Ok(Some(cmd)) if cmd.changes_lab() => Some((i + 1, line.to_string(), cmd)),
                    _ => None,
                }
            })
            .collect()
    }
    /// A lesson opened or resumed works on its own topology, whatever lesson ran before:
    /// another topology that is up is taken down and the lesson's brought up; with none up,
    /// it is brought up unless the learner is at (or before) the step that does it. Waits
    /// until the lab's topology is known (the first status after the start).
    ///
    /// Resumed past steps that load, attach, wire or set something (`replay`), the lesson
    /// brings the lab to where those steps leave it: its topology made anew (what another
    /// lesson or session left there is not what these steps expect), then their commands
    /// run again in order, and the log says so.
    pub(crate) fn ensure_topology(&mut self, fx: &mut Vec<Effect>) {
        if !self.topo_wanted || self.lab_emptying {
            return;
        }
        let up = match &self.topo {
            TopoView::Unknown => return,
            TopoView::Status(st) => st.topology.clone(),
            TopoView::NeedsRoot | TopoView::Error(_) => {
                self.topo_wanted = false;
                return;
            }
        };
        self.topo_wanted = false;
        let Some(want) = self.lesson.topology.clone() else {
            return;
        };
        let replay = self.replay();
        let line = match up {
            Some(t) if t == want && replay.is_empty() => return,
            Some(t) if t == want => {
                self.info(format!(
                    "lesson {} works on topology {want}: it is taken down and made anew for \
                     step {} (what other lessons or sessions attached to it goes with it)",
                    self.lesson.number,
                    self.step + 1
                ));
                format!("topo up {want} --fresh")
            }
            Some(other) => {
                self.info(format!(
                    "lesson {} works on topology {want}: {other} goes down, {want} comes up",
                    self.lesson.number
                ));
                format!("topo up {want} --replace")
            }
            None if replay.is_empty() && self.topo_step().is_some_and(|i| self.step <= i) => {
                return;
            }
            None => {
                self.info(format!(
                    "lesson {} works on topology {want}: bringing it up",
                    self.lesson.number
                ));
                format!("topo up {want}")
            }
        };
        // said before the first command starts, so that nothing splits its output
        if !replay.is_empty() {
            let steps: Vec<String> = replay.iter().map(|(n, _, _)| n.to_string()).collect();
            self.info(format!(
                "lesson {} resumes at step {}: step{} {} run{} again, so the lab is where this \
                 step expects it (the traffic earlier steps sent is not sent again, and maps \
                 that were loaded already keep their counts: `map clear NAME` zeroes one)",
                self.lesson.number,
                self.step + 1,
                if steps.len() == 1 { "" } else { "s" },
                steps.join(", "),
                if steps.len() == 1 { "s" } else { "" },
            ));
        }
        match commands::parse_line(&line) {
            Ok(Some(cmd)) if replay.is_empty() => self.enqueue(Queued::Command { line, cmd }, fx),
            Ok(Some(cmd)) => self.enqueue(
                Queued::Replay {
                    line,
                    cmd,
                    of: Replayed::Topology,
                },
                fx,
            ),
            _ => self.push(
                LogKind::Error,
                format!("internal error: cannot parse `{line}`"),
            ),
        }
        for (step, line, cmd) in replay {
            self.enqueue(
                Queued::Replay {
                    line,
                    cmd,
                    of: Replayed::Step(step),
                },
                fx,
            );
        }
    }
    /// Why step `i` is not possible on this machine (it `needs` a tool this machine cannot
    /// run), in words for the learner.
    pub(crate) fn step_impossible(&self, i: usize) -> Option<String> {
        let tool = self.lesson.steps.get(i)?.needs?;
        let why = &self.unavailable.iter().find(|(t, _)| *t == tool)?.1;
        let next = if i + 1 < self.lesson.steps.len() {
            "n moves on"
        } else {
            "l opens the next lesson"
        };
        Some(format!(
            "step {} is not possible on this machine: {why}. The lesson text shows what it \
             prints where it runs; {next}.",
            i + 1
        ))
    }
    pub(crate) fn set_step(&mut self, step: usize, fx: &mut Vec<Effect>) {
        if step != self.step {
            self.step = step;
            if let Some(why) = self.step_impossible(step) {
                self.push(LogKind::Warn, why);
            }
            self.follow_step();
            if !self.lesson.steps[step].watch.is_empty() {
                // the counters the step points at come first in the maps pane: from its top
                self.maps_scroll = 0;
            }
            if self.step_exercise(step).is_none() && self.show_check {
                // a step that does not check or hint is read in the lesson text, which the
                // check panel covered: at 80x24, after lesson 4's exercise passed, "Read the
                // section on Cilium's datapath" showed "✓ 7 check(s) passed" and blank rows
                // in its place (the header keeps ✓ or ✗; v shows the results again)
                self.show_check = false;
                if self.focus == Focus::Verifier {
                    self.focus = Focus::Lesson;
                    self.zoom = false;
                }
            }
            self.save(ProgressOp::Step(self.lesson.id.clone(), step), fx);
            // the step's exercise becomes the current one, whichever way the learner came
            self.switch_to_exercise(self.exercise_of_step(step), fx);
        }
    }
    /// Makes the exercise `id` of this lesson the one the keys act on (and watched).
    pub(crate) fn switch_exercise(&mut self, id: &str, fx: &mut Vec<Effect>) {
        let i = self.lesson.exercises.iter().position(|x| x.id == id);
        self.switch_to_exercise(i, fx);
    }
    /// Makes exercise `i` of this lesson the one the keys act on (and watched).
    pub(crate) fn switch_to_exercise(&mut self, i: Option<usize>, fx: &mut Vec<Effect>) {
        if i.is_some() && i != self.exercise {
            self.exercise = i;
            self.relabel_panels();
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
    pub(crate) fn start_check(&mut self, fx: &mut Vec<Effect>) {
        if self.exercise.is_none() {
            self.info("this lesson has no exercise to check: its steps show their results");
            return;
        }
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
        if self.queue.iter().any(|q| matches!(q, Queued::Check)) {
            // the status line says so already
            return;
        }
        self.enqueue(Queued::Check, fx);
    }
    /// Starts the current exercise's checks (its turn in the queue came).
    pub(crate) fn start_check_now(&mut self, fx: &mut Vec<Effect>) {
        let Some(i) = self.exercise else {
            return;
        };
        let ex = &self.lesson.exercises[i];
        let label = format!("check {}", ex.id);
        self.push(
            LogKind::Command,
            format!("$ lesson check {} {}", self.lesson.number, ex.id),
        );
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
    pub(crate) fn on_checked(&mut self, done: CheckDone, fx: &mut Vec<Effect>) {
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
        if self.exercise != Some(i) {
            // the learner moved on to a step of another exercise while it ran: the report is
            // in the log (`JobDone`) and a pass is remembered, but the header and the check
            // panel stay with the exercise of the step the learner is on
            if done.report.passed {
                self.save(
                    ProgressOp::Passed(self.lesson.id.clone(), done.report.exercise.clone()),
                    fx,
                );
            }
            return;
        }
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
            // the compiler's lines in the check panel are what to read: z zooms it
            if done
                .report
                .results
                .iter()
                .any(|r| r.compiler_output.is_some())
            {
                if self.focus != Focus::Command {
                    self.focus = Focus::Lesson;
                }
                self.last_pane = Focus::Lesson;
            }
        }
        self.check = CheckView::Done(done.report);
        self.show_check = true;
    }
    /// `h`: one more hint, remembered in the progress file as `lesson hint` does.
    pub(crate) fn next_hint(&mut self, fx: &mut Vec<Effect>) {
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
    pub(crate) fn show_solution(&mut self) {
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
    pub(crate) fn edit(&mut self, fx: &mut Vec<Effect>) {
        let Some(i) = self.exercise else {
            self.info("this lesson has no exercise file to edit");
            return;
        };
        let ex = &self.lesson.exercises[i];
        let msg = format!(
            "editing {} (exercise {}: {}); saving it checks it",
            ex.file, ex.id, ex.title
        );
        self.info(msg);
        fx.push(Effect::Edit {
            lesson: Box::new(self.lesson.clone()),
            exercise: i,
        });
    }
    pub(crate) fn on_file_changed(&mut self, path: std::path::PathBuf, fx: &mut Vec<Effect>) {
        if self.exercise_path.as_ref() != Some(&path) {
            return;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.info(format!("{name} saved: checking it again"));
        if self.checking.is_some() {
            // checked again once the running check ended
            if !self.queue.iter().any(|q| matches!(q, Queued::Check)) {
                self.queue.push_back(Queued::Check);
            }
        } else {
            self.start_check(fx);
        }
    }
    pub(crate) fn ask_reset(&mut self) {
        if self.exercise.is_none() {
            self.info("this lesson has no exercise file to reset");
            return;
        }
        self.overlay = Some(Overlay::ConfirmReset);
    }
}
