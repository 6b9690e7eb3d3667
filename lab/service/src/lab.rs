//! [`Lab`]: one lab instance as a session sees it. It owns what a session needs beyond the
//! kernel: the catalog of programs (embedded objects and the learner's modules), the
//! chain-trace hub, and the note of what recovery removed. Clones share them.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use anyhow::{Context, Result};
use eclat_kernel::LabEnv;
use eclat_kernel::cleanup::{self, CleanupReport};
use eclat_kernel::journal::{Journal, Lifetime};
use serde::Serialize;

use crate::catalog::Catalog;
use crate::trace::Hub;

/// Where operations come from: it decides how long what they create lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// one command from a system shell: what it creates stays until `topo down` / `reset`
    Cli,
    /// the REPL or the TUI: what it creates belongs to the session and goes when it ends
    Session,
}

/// What removing the leftovers of crashed runs did (empty: there were none).
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Recovered {
    /// what was removed
    pub removed: Vec<String>,
    /// what was left in place, with why
    pub kept: Vec<String>,
}

impl From<CleanupReport> for Recovered {
    fn from(r: CleanupReport) -> Self {
        Self {
            removed: r.removed,
            kept: r.kept.into_iter().chain(r.foreign).collect(),
        }
    }
}

impl Recovered {
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.kept.is_empty()
    }
}

struct Inner {
    env: LabEnv,
    origin: Origin,
    /// read from the embedded objects' BTF the first time it is needed
    catalog: OnceLock<Mutex<Catalog>>,
    /// the HIKe store as the catalog last followed it ([`crate::store::stamp`]): while it
    /// stays the same, the store is not read again
    catalog_follows: Mutex<Option<crate::store::Stamp>>,
    trace: Hub,
    /// what recoveries removed since a face last asked ([`Lab::take_recovered`])
    recovered: Mutex<Recovered>,
    /// the VM build its HIKe instance loads (a scratch lab's is quicker to verify:
    /// `runtime::SCRATCH_VM_OBJECT`)
    vm_object: &'static str,
}

/// A handle on one lab instance (cheap to clone; clones share the session's state).
#[derive(Clone)]
pub struct Lab(Arc<Inner>);

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lab")
            .field("env", &self.0.env)
            .field("origin", &self.0.origin)
            .finish()
    }
}

impl Lab {
    pub fn new(env: LabEnv, origin: Origin) -> Self {
        Self::with_vm(env, origin, eclat_kernel::hike::runtime::VM_OBJECT)
    }

    /// A scratch lab (lesson checks): its HIKe instance loads the VM build the kernel verifies
    /// quickest, `runtime::SCRATCH_VM_OBJECT`.
    fn scratch_lab(env: LabEnv, origin: Origin) -> Self {
        Self::with_vm(env, origin, eclat_kernel::hike::runtime::SCRATCH_VM_OBJECT)
    }

    fn with_vm(env: LabEnv, origin: Origin, vm_object: &'static str) -> Self {
        Self(Arc::new(Inner {
            trace: Hub::new(env.clone()),
            env,
            origin,
            catalog: OnceLock::new(),
            catalog_follows: Mutex::new(None),
            recovered: Mutex::new(Recovered::default()),
            vm_object,
        }))
    }

    pub fn env(&self) -> &LabEnv {
        &self.0.env
    }

    /// The VM build this lab's HIKe instance loads when it has none.
    pub(crate) fn vm_object(&self) -> &'static str {
        self.0.vm_object
    }

    pub fn origin(&self) -> Origin {
        self.0.origin
    }

    /// How long what this session creates lives.
    pub fn life(&self) -> Lifetime {
        match self.0.origin {
            Origin::Cli => Lifetime::Persistent,
            Origin::Session => Lifetime::Session,
        }
    }

    /// Can this process change the kernel (root, or the capabilities the lab needs)?
    pub fn privileged() -> bool {
        eclat_kernel::doctor::privileged()
    }

    /// The catalog of programs and loaders (the embedded objects' BTF is read on first use),
    /// with the learner's modules recorded in the lab's HIKe store joined in.
    pub(crate) fn catalog(&self) -> MutexGuard<'_, Catalog> {
        let m = self
            .0
            .catalog
            .get_or_init(|| Mutex::new(Catalog::embedded()));
        let mut c = m.lock().unwrap_or_else(|p| p.into_inner());
        // the learner's modules follow the store; reading it is skipped while it is the
        // same file as last time (the TUI's panels ask ten times a second)
        let now = crate::store::stamp(&self.0.env);
        let mut seen = self
            .0
            .catalog_follows
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if *seen != Some(now) {
            let modules = crate::store::peek(&self.0.env).modules;
            c.sync_learner(&modules);
            // a module that could not be read is tried again next time
            *seen = (c.learner_count() == modules.len()).then_some(now);
        }
        drop(seen);
        c
    }

    pub(crate) fn trace_hub(&self) -> &Hub {
        &self.0.trace
    }

    /// Runs blocking kernel work on tokio's blocking pool.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Lab) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let lab = self.clone();
        tokio::task::spawn_blocking(move || f(&lab))
            .await
            .context("the lab's worker thread failed")?
    }

    /// Opens the journal (taking the lab's lock) and removes the leftovers of crashed runs
    /// first; what they were is kept for [`Lab::take_recovered`].
    pub(crate) fn journal(&self) -> Result<Journal> {
        let mut j = Journal::open(&self.0.env.state_dir).context("opening the lab's journal")?;
        eclat_kernel::bpffs::check_root(&self.0.env)?;
        let rep = cleanup::recover(&self.0.env, &mut j)
            .context("removing what an earlier eclat-lab run left behind")?;
        if !rep.is_empty() {
            let mut r = self.0.recovered.lock().unwrap_or_else(|p| p.into_inner());
            r.removed.extend(rep.removed);
            r.kept.extend(rep.kept);
            r.kept.extend(rep.foreign);
        }
        Ok(j)
    }

    /// Removes the leftovers of crashed runs now (every privileged command starts with it),
    /// and settles a load or unload that was killed half-way (finished or undone: the
    /// version recorded as loaded is then the one running).
    pub async fn recover(&self) -> Result<()> {
        self.blocking(|lab| {
            let j = lab.journal()?;
            let st = crate::store::peek(lab.env());
            if !st.pending.is_empty()
                || !st.unloading.is_empty()
                || st.scripts.values().any(|s| s.orphaned())
            {
                lab.settle_interrupted(j)?;
            }
            Ok(())
        })
        .await
    }

    /// What recoveries removed since the last call.
    pub fn take_recovered(&self) -> Recovered {
        std::mem::take(&mut *self.0.recovered.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// What `reset` removed and kept.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ResetReport {
    /// what `reset` removed, one line each (`namespace tg`, `pin /sys/fs/bpf/...`): the
    /// journal's objects newest first (the reverse of creation), then `unrecorded ...` for
    /// files swept from below the lab's bpffs root; empty when the lab had nothing left
    pub removed: Vec<String>,
    /// the lab's objects that could not be removed, with why (`reset` then fails)
    pub kept: Vec<String>,
    /// what is not the lab's and was left in place, with why
    pub foreign: Vec<String>,
}

impl Lab {
    /// Removes everything the lab created (namespaces, attachments, pins), nothing else.
    pub async fn reset(&self) -> Result<ResetReport> {
        self.blocking(|lab| {
            let mut j = Journal::open(&lab.env().state_dir).context("opening the lab's journal")?;
            eclat_kernel::bpffs::check_root(lab.env())?;
            let rep = cleanup::reset(lab.env(), &mut j)?;
            // the HIKe instance went with the pins: its ID assignments start over
            crate::store::HikeStore::forget(lab.env());
            Ok(ResetReport {
                removed: rep.removed,
                kept: rep.kept,
                foreign: rep.foreign,
            })
        })
        .await
    }

    /// Ends a REPL/TUI session: removes what it created (not what `eclat-lab` commands from
    /// a system shell made). Returns how many objects went.
    pub fn end_session(&self) -> Result<usize> {
        if self.origin() != Origin::Session || !Self::privileged() {
            return Ok(0);
        }
        // its scripts first, while their loaders are still attached: unloaded, they give
        // back what they had displaced
        let scripts = self
            .unload_session_scripts()
            .context("unloading the scripts this session loaded")?;
        let mut j = Journal::open(&self.env().state_dir)?;
        let rep = cleanup::end_session(self.env(), &mut j)?;
        Ok(rep.removed.len() + scripts)
    }
}

/// A scratch lab of this lab (see `eclat_kernel::sublab`): a [`Lab`] of its own whose
/// topology, programs and maps never meet the learner's. [`ScratchLab::close`] removes it;
/// dropped without closing (a panic, a cancelled check), it is removed in place.
pub struct ScratchLab {
    parent: LabEnv,
    lab: Option<Lab>,
    /// the lab's kept check lab (emptied, not removed, when closed)
    kept: Option<eclat_kernel::sublab::Kept>,
}

/// Empties the kept check lab `sub` (its VM and embedded objects stay) and forgets its HIKe
/// store but the IDs of the programs it kept registered.
fn recycle_kept(sub: &LabEnv) -> Result<()> {
    eclat_kernel::sublab::recycle(sub).context("emptying the lab's check lab")?;
    keep_program_ids(sub)
}

/// The HIKe store of the kept check lab `sub` reduced to the IDs of its embedded programs
/// (still registered: `sublab::recycle` keeps them) and its chains, now spare: stored, with
/// no loader entry pointing at them (`sublab::recycle` emptied the loaders' maps), for the
/// next load to overwrite in place rather than the recovery to delete.
fn keep_program_ids(sub: &LabEnv) -> Result<()> {
    let packages = eclat_kernel::hike::runtime::hike_packages();
    let st = crate::store::HikeStore::load(sub);
    let spare_chains = st.kept_chain_ids();
    let kept = crate::store::HikeStore {
        spare_chains,
        programs: st
            .programs
            .into_iter()
            .filter(|(key, _)| {
                key.split_once('.')
                    .is_some_and(|(pkg, _)| packages.iter().any(|p| p == pkg))
            })
            .collect(),
        ..Default::default()
    };
    if sub.state_dir.exists() {
        kept.save(sub)?;
    }
    Ok(())
}

impl std::ops::Deref for ScratchLab {
    type Target = Lab;
    fn deref(&self) -> &Lab {
        self.lab.as_ref().expect("open until closed")
    }
}

impl ScratchLab {
    /// Removes everything the scratch lab made, and the scratch lab.
    pub async fn close(mut self) -> Result<()> {
        let lab = self.lab.take().expect("open until closed");
        let parent = self.parent.clone();
        let kept = self.kept.take();
        tokio::task::spawn_blocking(move || {
            if let Some(k) = kept {
                return recycle_kept(&k.env);
            }
            eclat_kernel::sublab::close(&parent, lab.env()).context("removing a scratch lab")
        })
        .await
        .context("the lab's worker thread failed")?
    }
}

impl Drop for ScratchLab {
    fn drop(&mut self) {
        if let Some(lab) = self.lab.take() {
            match self.kept.take() {
                Some(k) => {
                    let _ = recycle_kept(&k.env);
                }
                None => {
                    let _ = eclat_kernel::sublab::close(&self.parent, lab.env());
                }
            }
        }
    }
}

impl Lab {
    /// A new scratch lab (recorded in this lab's journal before it exists). Its objects live
    /// for the session (a killed process leaves a leftover the next start removes).
    pub async fn scratch(&self, tag: &str) -> Result<ScratchLab> {
        let tag = tag.to_string();
        self.blocking(move |lab| {
            let env =
                eclat_kernel::sublab::create(lab.env(), &tag).context("creating a scratch lab")?;
            Ok(ScratchLab {
                parent: lab.env().clone(),
                lab: Some(Lab::scratch_lab(env, Origin::Session)),
                kept: None,
            })
        })
        .await
    }

    /// The scratch lab for a run of lesson checks: the lab's kept check lab, emptied of what
    /// the last run made but with its HIKe VM verified already, when no other process uses
    /// it and reuse is on (`ECLAT_LAB_CHECK_REUSE`); else a new scratch lab. Either way the
    /// check starts from a lab with nothing in it but (perhaps) the VM.
    pub async fn check_lab(&self) -> Result<ScratchLab> {
        if !crate::reuse_enabled() {
            return self.scratch("chk").await;
        }
        let kept = self
            .blocking(|lab| {
                eclat_kernel::sublab::open_kept(lab.env(), "ck", lab.life())
                    .context("opening the lab's check lab")
            })
            .await?;
        let Some(k) = kept else {
            return self.scratch("chk").await;
        };
        keep_program_ids(&k.env)?;
        Ok(ScratchLab {
            parent: self.env().clone(),
            // what it makes stays until recycled (a session's lifetime would let the next
            // process's recovery remove the VM)
            lab: Some(Lab::scratch_lab(k.env.clone(), Origin::Cli)),
            kept: Some(k),
        })
    }
}
