//! A command running as a task, as every face runs one: what it streams, its result, and
//! stopping it (the faces say "stopped" within [`STOP_SAY`]; a command caught inside a kernel
//! operation finishes or undoes it in the background).

use std::time::Duration;

use eclat_service::{CancellationToken, Lab};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Cmd, Ctx, Reply, Update};

/// How long a cancelled command gets to end before "stopped" is said anyway.
pub const STOP_SAY: Duration = Duration::from_millis(120);

pub struct Job {
    task: JoinHandle<anyhow::Result<Reply>>,
    updates: mpsc::UnboundedReceiver<Update>,
    cancel: CancellationToken,
}

/// What a running job did next.
pub enum JobEvent {
    Update(Update),
    /// its result (a panic inside it is an error here)
    Done(anyhow::Result<Reply>),
}

fn joined(r: Result<anyhow::Result<Reply>, tokio::task::JoinError>) -> anyhow::Result<Reply> {
    r.unwrap_or_else(|e| Err(anyhow::anyhow!("internal error (please report it): {e}")))
}

impl Job {
    /// Starts `cmd` on the runtime.
    pub fn spawn(lab: &Lab, cmd: Cmd) -> Self {
        let (tx, updates) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let ctx = Ctx {
            lab: lab.clone(),
            updates: tx,
            cancel: cancel.clone(),
        };
        let task = tokio::spawn(async move { super::run(&ctx, cmd).await });
        Self {
            task,
            updates,
            cancel,
        }
    }

    /// The next update, or the end.
    pub async fn next(&mut self) -> JobEvent {
        tokio::select! {
            biased;
            Some(u) = self.updates.recv() => JobEvent::Update(u),
            r = &mut self.task => JobEvent::Done(joined(r)),
        }
    }

    /// Updates that came and were not read yet.
    pub fn drain(&mut self) -> Vec<Update> {
        std::iter::from_fn(|| self.updates.try_recv().ok()).collect()
    }

    /// Cancels the job; its result if it ended within [`STOP_SAY`] (`None`: it is still
    /// finishing a kernel operation, [`Job::finish`] waits for it).
    pub async fn stop(&mut self) -> Option<anyhow::Result<Reply>> {
        self.cancel.cancel();
        tokio::time::timeout(STOP_SAY, &mut self.task)
            .await
            .ok()
            .map(joined)
    }

    /// Cancels the job without waiting: for a command that ends by itself once told to
    /// (`exec` sends Ctrl-C to what it runs and shows what it printed while it ended).
    pub fn interrupt(&self) {
        self.cancel.cancel();
    }

    pub fn stopped(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Waits for the job to end, whatever its result.
    pub async fn finish(self) {
        let _ = self.task.await;
    }
}
