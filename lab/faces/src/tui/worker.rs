//! The runtime behind the TUI: it carries out [`Effect`]s. Commands and checks run on worker
//! threads through the command layer (each with a stop flag); one poller thread reads the
//! visible map panels at 10 Hz and the topology every 2 s; a watcher (inotify, debounced)
//! follows the current exercise file and a reader follows HIKe's chain trace while its pane
//! is visible; everything comes back as [`Event`]s on one channel, so the UI thread only ever
//! waits on that channel. (`Effect::Edit` needs the terminal: the event loop does it.)

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use eclat_kernel::{LabEnv, maps, topo};

use super::app::{
    CheckDone, Effect, Event, JobId, LogKind, MapSample, POLL_INTERVAL, VerifierView,
};
use crate::cli::{ChainCmd, Cmd, MapCmd, ModuleCmd};
use crate::commands::{Output, Session};
use crate::course::{self, Progress};
use crate::lessons::Lesson;

const TOPO_INTERVAL: Duration = Duration::from_secs(2);
/// Quiet time after the last change to the exercise file before it is checked: editors
/// write a file in several steps (truncate, write, rename, chmod).
pub const DEBOUNCE: Duration = Duration::from_millis(300);
/// How often the trace reader tries again while HIKe is not loaded.
const TRACE_RETRY: Duration = Duration::from_secs(2);

enum PollReq {
    Maps(Vec<String>),
    Topo,
}

pub struct Runtime {
    session: Session,
    tx: Sender<Event>,
    stops: HashMap<JobId, Arc<AtomicBool>>,
    poll: Sender<PollReq>,
    /// the exercise file's watcher (dropping it ends its debounce thread)
    watcher: Option<notify::RecommendedWatcher>,
    /// the trace reader's stop flag
    trace: Option<Arc<AtomicBool>>,
}

/// The message of a panic payload.
pub fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

impl Runtime {
    pub fn new(session: Session, tx: Sender<Event>) -> Self {
        let (ptx, prx) = mpsc::channel();
        let env = session.env.clone();
        let events = tx.clone();
        std::thread::Builder::new()
            .name("eclat-poll".into())
            .spawn(move || {
                let tx = events.clone();
                if let Err(p) =
                    std::panic::catch_unwind(AssertUnwindSafe(|| poller(env, prx, events)))
                {
                    let _ = tx.send(Event::Problem(format!(
                        "internal error: the map panels stopped updating: {}",
                        panic_text(&*p)
                    )));
                }
            })
            .expect("spawning the map poller");
        Self {
            session,
            tx,
            stops: HashMap::new(),
            poll: ptx,
            watcher: None,
            trace: None,
        }
    }

    pub fn apply(&mut self, fx: Vec<Effect>) {
        for e in fx {
            match e {
                Effect::Run { job, cmd } => self.spawn(job, cmd),
                Effect::Stop(job) => {
                    if let Some(s) = self.stops.get(&job) {
                        s.store(true, Ordering::Relaxed);
                    }
                }
                Effect::Complete { line, pos } => {
                    let (start, candidates) = crate::repl::complete(&self.session.env, &line, pos);
                    let _ = self.tx.send(Event::Completions { start, candidates });
                }
                Effect::Poll(m) => {
                    let _ = self.poll.send(PollReq::Maps(m));
                }
                Effect::RefreshTopo => {
                    let _ = self.poll.send(PollReq::Topo);
                }
                Effect::Check {
                    job,
                    lesson,
                    exercise,
                } => self.check(job, *lesson, exercise),
                Effect::Watch(w) => self.watch(w.map(|(l, i)| (*l, i))),
                Effect::ResetExercise { lesson, exercise } => {
                    let ex = &lesson.exercises[exercise];
                    let note = match course::reset_exercise(&lesson, ex) {
                        Ok((path, backup)) => (LogKind::Info, course::reset_note(&path, &backup)),
                        Err(e) => (LogKind::Error, format!("reset failed: {e:#}")),
                    };
                    let _ = self.tx.send(Event::Note(note.0, note.1));
                }
                Effect::SaveProgress(op) => {
                    let mut p = Progress::load();
                    op.apply(&mut p);
                    if let Err(e) = p.save() {
                        let _ = self
                            .tx
                            .send(Event::Problem(format!("cannot save your progress: {e:#}")));
                    }
                }
                Effect::ReloadProgress => {
                    let _ = self.tx.send(Event::Progress(Progress::load()));
                }
                Effect::Trace(on) => self.trace(on),
                // the event loop suspends the terminal for the editor
                Effect::Edit { .. } => {}
                Effect::Quit => {}
            }
        }
    }

    /// A job finished: forget its stop flag.
    pub fn finished(&mut self, job: JobId) {
        self.stops.remove(&job);
    }

    pub fn running(&self) -> usize {
        self.stops.len()
    }

    /// Raises every stop flag.
    pub fn stop_all(&self) {
        for s in self.stops.values() {
            s.store(true, Ordering::Relaxed);
        }
        if let Some(t) = &self.trace {
            t.store(true, Ordering::Relaxed);
        }
    }

    /// Runs an exercise's checks on the learner's copy: `Checked` (with the verifier's
    /// explanation under the learner's source, if it rejected), then `JobDone`.
    fn check(&mut self, job: JobId, lesson: Lesson, exercise: usize) {
        self.stops.insert(job, Arc::new(AtomicBool::new(false)));
        let session = self.session.clone();
        let tx = self.tx.clone();
        let r = std::thread::Builder::new()
            .name(format!("eclat-check-{job}"))
            .spawn(move || {
                let out =
                    std::panic::catch_unwind(AssertUnwindSafe(|| -> anyhow::Result<Output> {
                        let ex = &lesson.exercises[exercise];
                        let path = course::workspace_file(&lesson, ex)?;
                        let rep = course::run_checks(&session, &lesson, ex, &path);
                        tidy_scratch(&session.env);
                        let rep = rep?;
                        let text = std::fs::read_to_string(&path).unwrap_or_default();
                        let verifier =
                            rep.results
                                .iter()
                                .find_map(|r| r.explanation.clone())
                                .map(|e| {
                                    VerifierView::new(e, None, &path.display().to_string(), &text)
                                });
                        let mut o = Output::new(rep.render(ex), serde_json::Value::Null);
                        o.success = rep.passed;
                        let _ = tx.send(Event::Checked(Box::new(CheckDone {
                            report: rep,
                            verifier,
                        })));
                        Ok(o)
                    }));
                let result = match out {
                    Ok(Ok(o)) => Ok(o),
                    Ok(Err(e)) => Err(format!("the check could not run: {e:#}")),
                    Err(p) => Err(format!(
                        "internal error (please report it): {}",
                        panic_text(&*p)
                    )),
                };
                let _ = tx.send(Event::JobDone { job, result });
            });
        if let Err(e) = r {
            let _ = self.tx.send(Event::JobDone {
                job,
                result: Err(format!("cannot start a thread: {e}")),
            });
        }
    }

    /// Watches the exercise file (its folder, as editors replace files by renaming):
    /// after [`DEBOUNCE`] of quiet, new content becomes `FileChanged`.
    fn watch(&mut self, target: Option<(Lesson, usize)>) {
        use notify::Watcher;
        self.watcher = None;
        let Some((lesson, i)) = target else {
            return;
        };
        let Some(ex) = lesson.exercises.get(i) else {
            return;
        };
        let path = match course::workspace_file(&lesson, ex) {
            Ok(p) => p,
            Err(e) => {
                let _ = self.tx.send(Event::Problem(format!(
                    "cannot set up your copy of {}: {e:#}",
                    ex.file
                )));
                return;
            }
        };
        let (ntx, nrx) = mpsc::channel::<notify::Event>();
        let watcher = notify::recommended_watcher(move |r: notify::Result<notify::Event>| {
            if let Ok(ev) = r {
                let _ = ntx.send(ev);
            }
        });
        let mut watcher = match watcher {
            Ok(w) => w,
            Err(e) => {
                let _ = self.tx.send(Event::Problem(format!(
                    "cannot watch {}: {e}",
                    path.display()
                )));
                return;
            }
        };
        let dir = path
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .to_path_buf();
        if let Err(e) = watcher.watch(&dir, notify::RecursiveMode::NonRecursive) {
            let _ = self.tx.send(Event::Problem(format!(
                "cannot watch {}: {e}",
                dir.display()
            )));
            return;
        }
        let tx = self.tx.clone();
        let file = path.clone();
        let _ = std::thread::Builder::new()
            .name("eclat-watch".into())
            .spawn(move || debounce(nrx, file, tx));
        self.watcher = Some(watcher);
        let _ = self.tx.send(Event::Watching(path));
    }

    /// Starts or stops the chain-trace reader.
    fn trace(&mut self, on: bool) {
        if !on {
            if let Some(s) = self.trace.take() {
                s.store(true, Ordering::Relaxed);
            }
            return;
        }
        if self.trace.is_some() {
            return;
        }
        let stop = Arc::new(AtomicBool::new(false));
        self.trace = Some(stop.clone());
        let session = self.session.clone();
        let tx = self.tx.clone();
        let _ = std::thread::Builder::new()
            .name("eclat-trace".into())
            .spawn(move || {
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    trace_reader(&session, &stop, &tx)
                }));
            });
    }

    fn spawn(&mut self, job: JobId, cmd: Cmd) {
        let stop = Arc::new(AtomicBool::new(false));
        self.stops.insert(job, stop.clone());
        let session = self.session.clone();
        let tx = self.tx.clone();
        let r = std::thread::Builder::new()
            .name(format!("eclat-job-{job}"))
            .spawn(move || {
                let out = std::panic::catch_unwind(AssertUnwindSafe(|| match cmd {
                    Cmd::Map(m @ MapCmd::Watch { .. }) => session.map(m, &stop, &mut |frame| {
                        let _ = tx.send(Event::JobOutput(frame.to_string()));
                    }),
                    c @ Cmd::Chain(ChainCmd::Trace { .. }) => {
                        session.run_with(c, &stop, &mut |line| {
                            let _ = tx.send(Event::JobOutput(line.to_string()));
                        })
                    }
                    Cmd::Module(ModuleCmd::Build { file, json }) => {
                        let r = session.run(
                            Cmd::Module(ModuleCmd::Build {
                                file: file.clone(),
                                json,
                            }),
                            &stop,
                        );
                        if let Ok(o) = &r
                            && let Some(v) = rejected(&o.json, &file)
                        {
                            let _ = tx.send(Event::Verifier(Box::new(v)));
                        }
                        r
                    }
                    other => session.run(other, &stop),
                }));
                let result = match out {
                    Ok(Ok(o)) => Ok(o),
                    Ok(Err(e)) => Err(format!("{e:#}")),
                    Err(p) => Err(format!(
                        "internal error (please report it): {}",
                        panic_text(&*p)
                    )),
                };
                let _ = tx.send(Event::JobDone { job, result });
            });
        if let Err(e) = r {
            let _ = self.tx.send(Event::JobDone {
                job,
                result: Err(format!("cannot start a thread: {e}")),
            });
        }
    }
}

fn poll_maps(
    env: &LabEnv,
    names: &[String],
    cache: &mut HashMap<String, maps::MapRef>,
) -> Vec<MapSample> {
    names
        .iter()
        .map(|name| {
            let at = Instant::now();
            let mref = match cache.get(name) {
                Some(m) => Ok(m.clone()),
                None => maps::find(env, name),
            };
            let result = match mref {
                Err(maps::MapError::NotFound { .. }) => Ok(None),
                Err(e) => Err(e.to_string()),
                Ok(m) => match maps::dump(&m, 64) {
                    Ok(d) => {
                        cache.insert(name.clone(), m);
                        Ok(Some(d))
                    }
                    // unpinned since (topology down, reset): look it up again next time
                    Err(_) => {
                        cache.remove(name);
                        Ok(None)
                    }
                },
            };
            MapSample {
                name: name.clone(),
                at,
                result,
            }
        })
        .collect()
}

fn poller(env: LabEnv, rx: mpsc::Receiver<PollReq>, tx: Sender<Event>) {
    let mut names: Vec<String> = Vec::new();
    let mut cache = HashMap::new();
    let mut next_maps = Instant::now();
    let mut next_topo: Option<Instant> = None;
    let mut last_topo = String::new();
    loop {
        let now = Instant::now();
        let mut due = next_topo.unwrap_or(now + Duration::from_secs(3600));
        if !names.is_empty() {
            due = due.min(next_maps);
        }
        match rx.recv_timeout(due.saturating_duration_since(now)) {
            Ok(PollReq::Maps(m)) => {
                names = m;
                cache.clear();
                next_maps = Instant::now();
            }
            Ok(PollReq::Topo) => next_topo = Some(Instant::now()),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = Instant::now();
        if !names.is_empty() && now >= next_maps {
            let samples = poll_maps(&env, &names, &mut cache);
            if tx.send(Event::Maps(samples)).is_err() {
                return;
            }
            next_maps += POLL_INTERVAL;
            if next_maps < now {
                next_maps = now + POLL_INTERVAL;
            }
        }
        if next_topo.is_some_and(|t| now >= t) {
            let st = topo::status(&env).map_err(|e| e.to_string());
            // only changes are news (and cost a redraw)
            let key = format!("{st:?}");
            if key != last_topo {
                last_topo = key;
                if tx.send(Event::Topo(st)).is_err() {
                    return;
                }
            }
            next_topo = Some(now + TOPO_INTERVAL);
        }
    }
}

/// The verifier panel for the first rejected program of a `module build` report.
fn rejected(json: &serde_json::Value, file: &std::path::Path) -> Option<VerifierView> {
    use eclat_model::verifier::Explanation;
    let p = json
        .get("programs")?
        .as_array()?
        .iter()
        .find(|p| p.get("accepted").and_then(|a| a.as_bool()) == Some(false))?;
    let explanation: Explanation = serde_json::from_value(p.get("explanation")?.clone()).ok()?;
    let s = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_string);
    let text = std::fs::read_to_string(file).unwrap_or_default();
    Some(VerifierView::new(
        explanation,
        s(p.get("name")),
        &file.display().to_string(),
        &text,
    ))
}

/// Turns the watcher's raw events into one `FileChanged` per save with new content.
fn debounce(rx: mpsc::Receiver<notify::Event>, file: std::path::PathBuf, tx: Sender<Event>) {
    let read = |p: &std::path::Path| std::fs::read(p).ok();
    let mut last = read(&file);
    let name = file.file_name().map(|n| n.to_os_string());
    loop {
        // the watcher went away (another exercise, quitting): so does this thread
        let Ok(ev) = rx.recv() else { return };
        if !ev
            .paths
            .iter()
            .any(|p| p.file_name().map(|n| n.to_os_string()) == name)
        {
            continue;
        }
        loop {
            match rx.recv_timeout(DEBOUNCE) {
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        let now = read(&file);
        if now.is_some() && now != last {
            last = now;
            if tx.send(Event::FileChanged(file.clone())).is_err() {
                return;
            }
        }
    }
}

/// Reads HIKe's trace into the timeline until stopped; while HIKe is not loaded, says so
/// and tries again.
fn trace_reader(session: &Session, stop: &AtomicBool, tx: &Sender<Event>) {
    let mut last_status = String::new();
    while !stop.load(Ordering::Relaxed) {
        let status = "waiting for packets through a chain (t sends background traffic)";
        if last_status != status {
            last_status = status.to_string();
            let _ = tx.send(Event::TraceStatus(status.into()));
        }
        // a few seconds at a time: each start reads the names of programs and chains again
        let r = crate::scripts::chain_trace(session, 5, stop, &mut |l| {
            let _ = tx.send(Event::Trace(l.to_string()));
        });
        if let Err(e) = r {
            let msg = format!("no chain trace yet: {e:#}");
            if msg != last_status {
                last_status = msg.clone();
                let _ = tx.send(Event::TraceStatus(msg));
            }
            let until = Instant::now() + TRACE_RETRY;
            while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Checks run programs in scratch folders below the lab's bpffs root; they remove their own
/// pins, and this the folders they leave empty (`remove_dir` keeps anything not empty).
pub fn tidy_scratch(env: &LabEnv) {
    let _ = std::fs::remove_dir(env.bpffs_root.join("tmp"));
    let _ = std::fs::remove_dir(&env.bpffs_root);
}

#[cfg(test)]
mod tests {
    use super::*;
    use eclat_kernel::modules::{BuildReport, ProgramVerdict};
    use eclat_model::verifier::{Explanation, SourceLine};

    #[test]
    fn a_module_build_rejection_becomes_the_verifier_panel() {
        let dir = std::env::temp_dir().join(format!("eclat-tui-worker-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("prog.bpf.c");
        let src: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&file, &src).unwrap();
        for class in &eclat_model::verifier::Class::ALL {
            let e = Explanation {
                class: *class,
                message: "invalid access to packet".into(),
                insn: Some("2: (71) r3 = *(u8 *)(r6 +13)".into()),
                source: Some(SourceLine {
                    text: "line 12".into(),
                    file: "prog.bpf.c".into(),
                    line: 12,
                }),
                processed: Some(3),
            };
            let rep = BuildReport {
                source: file.display().to_string(),
                object: "prog.o".into(),
                clang_ms: 1.0,
                warnings: String::new(),
                programs: vec![
                    ProgramVerdict {
                        name: "ok_prog".into(),
                        section: "xdp".into(),
                        accepted: true,
                        insns: Some(10),
                        verify_ms: 0.1,
                        explanation: None,
                        log: None,
                    },
                    ProgramVerdict {
                        name: "bad_prog".into(),
                        section: "xdp".into(),
                        accepted: false,
                        insns: None,
                        verify_ms: 0.1,
                        explanation: Some(e.clone()),
                        log: Some("the log".into()),
                    },
                ],
            };
            let json = serde_json::to_value(&rep).unwrap();
            let v = rejected(&json, &file).expect("a rejection");
            assert_eq!(v.explanation, e);
            assert_eq!(v.program.as_deref(), Some("bad_prog"));
            let lines: Vec<u32> = v.excerpt.iter().map(|(n, _)| *n).collect();
            assert_eq!(lines, (8..=16).collect::<Vec<_>>());
            assert_eq!(v.excerpt[4].1, "line 12");
        }
        // an accepted build has no panel
        let ok =
            serde_json::json!({"programs": [{"name": "p", "accepted": true, "explanation": null}]});
        assert!(rejected(&ok, &file).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
