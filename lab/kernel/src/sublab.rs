//! Scratch labs: a lab of its own below the lab (its state directory under the lab's, its
//! bpffs root under the lab's root, its namespace names under a prefix of its own), for work
//! that must never touch what the learner has (a lesson check builds its topology, loads the
//! learner's script and sends traffic there). A scratch lab is recorded in the lab's journal
//! before it exists and keeps its own journal of what it makes; removing it resets it by that
//! journal. A process killed while using one leaves a recorded leftover that the lab's next
//! start removes, whole.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::LabEnv;
use crate::cleanup::SubLabError;
use crate::journal::{Journal, Lifetime, Resource};

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

/// Removes scratch lab `sub` and forgets it in `env`'s journal (a lesson check ending).
pub fn close(env: &LabEnv, sub: &LabEnv) -> Result<(), SubLabError> {
    crate::cleanup::remove_sublab(env, sub)?;
    let mut j = Journal::open(&env.state_dir)?;
    j.del(&resource(sub))?;
    crate::cleanup::tidy(env, &mut j)?;
    Ok(())
}
