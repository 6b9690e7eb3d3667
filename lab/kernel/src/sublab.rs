//! Scratch labs: a lab of its own below the lab (its state directory under the lab's, its
//! bpffs root under the lab's root, its namespace names under a prefix of its own), for work
//! that must never touch what the learner has (a lesson check builds its topology, loads the
//! learner's script and sends traffic there). A scratch lab is recorded in the lab's journal
//! before it exists and keeps its own journal of what it makes; removing it resets it by that
//! journal. A process killed while using one leaves a recorded leftover that the lab's next
//! start removes, whole.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::LabEnv;
use crate::journal::{Journal, JournalError, Lifetime, Resource};

#[derive(Debug, thiserror::Error)]
pub enum SubLabError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{path}: {err}")]
    Io { path: String, err: std::io::Error },
    #[error("{path} is not below the lab's {what}: not a scratch lab of this lab")]
    Outside { path: String, what: &'static str },
    #[error("the scratch lab {path} could not be emptied: {kept}")]
    Kept { path: String, kept: String },
}

fn resource(sub: &LabEnv) -> Resource {
    Resource::SubLab {
        state_dir: sub.state_dir.clone(),
        bpffs_root: sub.bpffs_root.clone(),
        ns_prefix: sub.ns_prefix.clone(),
    }
}

/// Creates a scratch lab of `env` (recorded in `env`'s journal as provisional, owned by this
/// process, before its directories exist). `tag` names it (letters and digits).
pub fn create(env: &LabEnv, tag: &str) -> Result<LabEnv, SubLabError> {
    static N: AtomicU32 = AtomicU32::new(0);
    let id = format!(
        "{tag}{:x}{}",
        std::process::id() % 0xfff,
        N.fetch_add(1, Ordering::Relaxed)
    );
    let sub = LabEnv {
        state_dir: env.state_dir.join("scratch").join(&id),
        bpffs_root: env.bpffs_root.join("scratch").join(&id),
        ns_prefix: format!("{}{id}-", env.ns_prefix),
    };
    let mut j = Journal::open(&env.state_dir)?;
    crate::bpffs::ensure_root(env, &mut j).map_err(|e| SubLabError::Io {
        path: env.bpffs_root.display().to_string(),
        err: std::io::Error::other(e.to_string()),
    })?;
    j.add(resource(&sub), Lifetime::Provisional)?;
    drop(j);
    std::fs::create_dir_all(&sub.state_dir).map_err(|err| SubLabError::Io {
        path: sub.state_dir.display().to_string(),
        err,
    })?;
    // the area its root goes in (the root itself is the scratch lab's to make and record),
    // as `bpffs::Scratch` makes `tmp/`: removed again once empty
    let area = env.bpffs_root.join("scratch");
    std::fs::create_dir_all(&area).map_err(|err| SubLabError::Io {
        path: area.display().to_string(),
        err,
    })?;
    Ok(sub)
}

/// Removes scratch lab `sub` of `env`: everything its journal records, then its directories,
/// then its record in `env`'s journal (when `forget` holds the journal, the caller forgets).
pub fn remove(env: &LabEnv, sub: &LabEnv) -> Result<bool, SubLabError> {
    if !sub.state_dir.starts_with(env.state_dir.join("scratch")) {
        return Err(SubLabError::Outside {
            path: sub.state_dir.display().to_string(),
            what: "state directory",
        });
    }
    if !sub.bpffs_root.starts_with(env.bpffs_root.join("scratch")) {
        return Err(SubLabError::Outside {
            path: sub.bpffs_root.display().to_string(),
            what: "bpffs root",
        });
    }
    if !sub.state_dir.exists() && !sub.bpffs_root.exists() {
        return Ok(false);
    }
    if sub.state_dir.exists() {
        let mut j = Journal::open(&sub.state_dir)?;
        let rep = crate::cleanup::reset(sub, &mut j)?;
        drop(j);
        if !rep.kept.is_empty() {
            return Err(SubLabError::Kept {
                path: sub.state_dir.display().to_string(),
                kept: rep.kept.join("; "),
            });
        }
    }
    let _ = std::fs::remove_dir(&sub.bpffs_root);
    remove_parent_if_empty(&sub.bpffs_root);
    std::fs::remove_dir_all(&sub.state_dir).or_else(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Ok(())
        } else {
            Err(SubLabError::Io {
                path: sub.state_dir.display().to_string(),
                err: e,
            })
        }
    })?;
    remove_parent_if_empty(&sub.state_dir);
    Ok(true)
}

fn remove_parent_if_empty(p: &Path) {
    if let Some(parent) = p.parent() {
        let _ = std::fs::remove_dir(parent);
    }
}

/// Removes scratch lab `sub` and forgets it in `env`'s journal (a lesson check ending).
pub fn close(env: &LabEnv, sub: &LabEnv) -> Result<(), SubLabError> {
    remove(env, sub)?;
    let mut j = Journal::open(&env.state_dir)?;
    j.del(&resource(sub))?;
    crate::cleanup::tidy(env, &mut j)?;
    Ok(())
}
