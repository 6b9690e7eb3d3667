//! The runtime behind the TUI: it carries out [`Effect`]s. Commands run on worker threads
//! through the command layer (each with a stop flag); one poller thread reads the visible map
//! panels at 10 Hz and the topology every 2 s; everything comes back as [`Event`]s on one
//! channel, so the UI thread only ever waits on that channel.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use eclat_kernel::{LabEnv, maps, topo};

use super::app::{Effect, Event, JobId, MapSample, POLL_INTERVAL};
use crate::cli::{Cmd, MapCmd};
use crate::commands::Session;

const TOPO_INTERVAL: Duration = Duration::from_secs(2);

enum PollReq {
    Maps(Vec<String>),
    Topo,
}

pub struct Runtime {
    session: Session,
    tx: Sender<Event>,
    stops: HashMap<JobId, Arc<AtomicBool>>,
    poll: Sender<PollReq>,
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
