//! The chain trace for a session: one feed of the VM's trace per process
//! (`eclat_kernel::hike::feed`, itself shared with the lab's other processes), fanned out to
//! every subscriber of the session (the TUI's trace pane, a `chain trace` typed on its
//! command line, ...), with program and chain IDs named from the HIKe store. The feed runs
//! while someone subscribes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eclat_kernel::LabEnv;
pub use eclat_kernel::hike::TraceEvent;
use eclat_kernel::hike::feed::{self, FeedItem};
pub use eclat_kernel::hike::trace::TraceKind;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::Lab;
use crate::store;
use crate::testrun::name_ids;

/// One item of the trace.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TraceItem {
    /// an event of the VM, with its line (IDs named)
    Event {
        /// the event as the VM wrote it, field by field
        event: TraceEvent,
        /// the event as one line of text, indented by its frame's depth, with chain and
        /// program IDs followed by the names the lab knows for them
        line: String,
    },
    /// why nothing comes, or what the trace waits for
    Status {
        /// one sentence for a person (`waiting for packets through a chain`, events missed
        /// because the reader fell behind, why the trace cannot start)
        status: String,
    },
}

struct Running {
    tx: broadcast::Sender<TraceItem>,
    cancel: CancellationToken,
    subscribers: usize,
}

/// The session's trace fan-out.
pub(crate) struct Hub {
    env: LabEnv,
    running: Arc<Mutex<Option<Running>>>,
}

/// Events kept for a subscriber that reads slowly (beyond, it is told how many it missed).
const BACKLOG: usize = 4096;

impl Hub {
    pub(crate) fn new(env: LabEnv) -> Self {
        Self {
            env,
            running: Arc::new(Mutex::new(None)),
        }
    }
}

/// A subscription to the session's chain trace; dropping it leaves (the last one out stops
/// the feed).
pub struct Subscription {
    rx: broadcast::Receiver<TraceItem>,
    running: Arc<Mutex<Option<Running>>>,
}

impl Subscription {
    /// The next item; `None` when the trace ended. A subscriber that fell behind by more
    /// than the backlog gets a status saying how many events it missed.
    pub async fn recv(&mut self) -> Option<TraceItem> {
        match self.rx.recv().await {
            Ok(i) => Some(i),
            Err(broadcast::error::RecvError::Lagged(n)) => Some(TraceItem::Status {
                status: format!("{n} trace events were missed (the reader fell behind)"),
            }),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut r = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(run) = r.as_mut() {
            run.subscribers -= 1;
            if run.subscribers == 0 {
                run.cancel.cancel();
                *r = None;
            }
        }
    }
}

impl Lab {
    /// Subscribes to the chain trace (starting the feed if this is the first subscriber).
    /// Must be called inside the tokio runtime.
    pub fn trace_subscribe(&self) -> Subscription {
        let hub = self.trace_hub();
        let mut r = hub.running.lock().unwrap_or_else(|p| p.into_inner());
        let run = r.get_or_insert_with(|| {
            let (tx, _) = broadcast::channel(BACKLOG);
            let cancel = CancellationToken::new();
            tokio::spawn(fan_out(hub.env.clone(), tx.clone(), cancel.clone()));
            Running {
                tx,
                cancel,
                subscribers: 0,
            }
        });
        run.subscribers += 1;
        Subscription {
            rx: run.tx.subscribe(),
            running: hub.running.clone(),
        }
    }
}

/// Runs the process's feed and names what it brings.
async fn fan_out(env: LabEnv, tx: broadcast::Sender<TraceItem>, cancel: CancellationToken) {
    let (ftx, mut frx) = mpsc::unbounded_channel();
    tokio::spawn(feed::run(env.clone(), ftx, cancel.clone()));
    let mut names: BTreeMap<u32, String> = BTreeMap::new();
    let mut read_at: Option<Instant> = None;
    while let Some(item) = frx.recv().await {
        let out = match item {
            FeedItem::Status(status) => TraceItem::Status { status },
            FeedItem::Event(event) => {
                // names are read again when an ID is new to us, at most once a second
                if !names.contains_key(&event.elem)
                    && read_at.is_none_or(|t| t.elapsed() > Duration::from_secs(1))
                {
                    names = store::peek(&env).element_names();
                    read_at = Some(Instant::now());
                }
                TraceItem::Event {
                    line: name_ids(&event.to_string(), &names),
                    event,
                }
            }
        };
        if tx.send(out).is_err() && cancel.is_cancelled() {
            break;
        }
    }
}

/// What `chain trace` saw.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TraceSummary {
    /// trace events seen
    pub events: u64,
    /// ended by Ctrl-C (or the TUI) rather than by its time limit
    pub stopped: bool,
}

impl Lab {
    /// Sends every trace item to `out` for `duration` (or until cancelled).
    pub async fn chain_trace(
        &self,
        duration: Duration,
        out: mpsc::UnboundedSender<TraceItem>,
        cancel: CancellationToken,
    ) -> anyhow::Result<TraceSummary> {
        if !self.hike_exists() {
            anyhow::bail!(
                "no HIKe chain is loaded yet (load a script: `eclat-lab load SCRIPT.eclat`)"
            );
        }
        let mut sub = self.trace_subscribe();
        let mut events = 0;
        let until = tokio::time::sleep(duration);
        tokio::pin!(until);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = &mut until => break,
                i = sub.recv() => match i {
                    None => break,
                    Some(i) => {
                        if matches!(i, TraceItem::Event { .. }) {
                            events += 1;
                        }
                        let _ = out.send(i);
                    }
                },
            }
        }
        Ok(TraceSummary {
            events,
            stopped: cancel.is_cancelled(),
        })
    }
}
