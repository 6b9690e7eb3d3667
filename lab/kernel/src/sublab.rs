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
    // the area its root goes in (the root itself is the scratch lab's to make and record),
    // recorded as the lab's before it exists, as `bpffs::Scratch` makes `tmp/`
    let area = env.bpffs_root.join("scratch");
    crate::bpffs::ensure_dir(env, &mut j, &area, Lifetime::Persistent).map_err(|e| {
        SubLabError::Io {
            path: area.display().to_string(),
            err: std::io::Error::other(e.to_string()),
        }
    })?;
    j.add(resource(&sub), Lifetime::Provisional)?;
    drop(j);
    std::fs::create_dir_all(&sub.state_dir).map_err(|err| SubLabError::Io {
        path: sub.state_dir.display().to_string(),
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

/// The scratch lab lesson checks reuse (`<state>/scratch/<tag>`): kept between runs of
/// checks so that its HIKe VM is verified once, emptied of everything else before and after
/// each use ([`recycle`]). Recorded in `env`'s journal with `life` before it exists; one
/// process uses it at a time (`None`: another one has it, make a throwaway one with
/// [`create`]).
pub struct Kept {
    pub env: LabEnv,
    _lock: crate::journal::Lock,
}

pub fn open_kept(env: &LabEnv, tag: &str, life: Lifetime) -> Result<Option<Kept>, SubLabError> {
    let sub = LabEnv {
        state_dir: env.state_dir.join("scratch").join(tag),
        bpffs_root: env.bpffs_root.join("scratch").join(tag),
        ns_prefix: format!("{}{tag}-", env.ns_prefix),
    };
    let io = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |err| SubLabError::Io { path, err }
    };
    std::fs::create_dir_all(&env.state_dir).map_err(io(&env.state_dir))?;
    let lock_path = env.state_dir.join(format!("scratch-{tag}.lock"));
    let Some(lock) = crate::journal::Lock::try_acquire(&lock_path).map_err(io(&lock_path))? else {
        return Ok(None);
    };
    let mut j = Journal::open(&env.state_dir)?;
    let recorded = j.entries()?.iter().any(|e| e.res == resource(&sub));
    // the area its root goes in, recorded as the lab's before it exists
    let area = env.bpffs_root.join("scratch");
    crate::bpffs::ensure_dir(env, &mut j, &area, Lifetime::Persistent).map_err(|e| {
        SubLabError::Io {
            path: area.display().to_string(),
            err: std::io::Error::other(e.to_string()),
        }
    })?;
    if !recorded {
        j.add(resource(&sub), life)?;
    }
    // from a shell while a tutorial runs: the session's root now holds this lab too
    j.adopt_folders_above(&area, life)?;
    drop(j);
    std::fs::create_dir_all(&sub.state_dir).map_err(io(&sub.state_dir))?;
    let kept = Kept {
        env: sub,
        _lock: lock,
    };
    recycle(&kept.env)?;
    Ok(Some(kept))
}

/// Is `path` kept when the scratch lab rooted at `root` is recycled: the HIKe VM and system
/// maps, and the pins of the embedded HIKe objects (`packages`)?
fn is_kept(root: &std::path::Path, path: &std::path::Path, packages: &[String]) -> bool {
    if path == root || path == root.join("progs") || path == root.join("maps") {
        return true;
    }
    ["progs", "maps"].iter().any(|area| {
        path.strip_prefix(root.join(area))
            .ok()
            .and_then(|rest| rest.components().next())
            .and_then(|c| c.as_os_str().to_str())
            .is_some_and(|first| {
                first == "hike_vm" || first == "system" || packages.iter().any(|p| p == first)
            })
    })
}

/// Empties a kept scratch lab for its next run of checks: its topology, attachments, plain
/// XDP programs and learner's modules go by its journal (as `reset` would); its HIKe VM
/// stays, and so do the embedded HIKe objects, loaded and registered, with every map of
/// theirs emptied (`Hike::refresh`: as a fresh load would have them). The caller keeps the
/// program IDs of its HIKe store and forgets the rest. What the next check sees is what a new
/// scratch lab would show it; what it saves is the verifier's and aya's work on the VM and
/// the objects.
pub fn recycle(sub: &LabEnv) -> Result<(), SubLabError> {
    let packages = crate::hike::runtime::hike_packages();
    let mut j = Journal::open(&sub.state_dir)?;
    let others: Vec<_> = j
        .entries()?
        .into_iter()
        .filter(|e| match &e.res {
            Resource::Pin { path } | Resource::Dir { path } => {
                !is_kept(&sub.bpffs_root, path, &packages)
            }
            _ => true,
        })
        .collect();
    let mut rep = crate::cleanup::CleanupReport::default();
    crate::cleanup::remove_entries_of(sub, &mut j, others, &mut rep)?;
    if !rep.kept.is_empty() {
        return Err(SubLabError::Kept {
            path: sub.state_dir.display().to_string(),
            kept: rep.kept.join("; "),
        });
    }
    let _ = std::fs::remove_file(sub.topology_state_path());
    if sub.bpffs_root.join("progs/hike_vm").exists() {
        let mut h = crate::hike::Hike::open_with_vm(
            &sub.bpffs_root,
            crate::hike::runtime::SCRATCH_VM_OBJECT,
        )
        .map_err(|e| SubLabError::Io {
            path: sub.bpffs_root.display().to_string(),
            err: std::io::Error::other(e.to_string()),
        })?;
        h.refresh().map_err(|e| SubLabError::Io {
            path: sub.bpffs_root.display().to_string(),
            err: std::io::Error::other(e.to_string()),
        })?;
    }
    j.compact()?;
    Ok(())
}
