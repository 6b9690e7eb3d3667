//! Removing what the lab made: `reset` (everything in the journal, then anything left below
//! the lab's own bpffs root) and recovery after a crash (the leftovers of operations and
//! sessions whose process is gone). Each removal first checks that the object is still the
//! one the journal recorded: a namespace with another inode, or a path outside the root, is
//! left alone and reported.

use std::path::Path;

use serde::Serialize;

use crate::LabEnv;
use crate::bpffs;
use crate::journal::{Entry, Journal, JournalError, Resource};
use crate::netns;

#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct CleanupReport {
    pub removed: Vec<String>,
    /// objects left in place, with the reason
    pub kept: Vec<String>,
}

impl CleanupReport {
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.kept.is_empty()
    }
}

fn remove_one(env: &LabEnv, res: &Resource) -> Result<bool, String> {
    match res {
        Resource::Netns { name, ino } => netns::unregister(name, *ino).map_err(|e| e.to_string()),
        Resource::Pin { path } => {
            bpffs::check_inside(env, path).map_err(|e| e.to_string())?;
            match std::fs::remove_file(path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(format!("{}: {e}", path.display())),
            }
        }
        Resource::Scratch { path } => {
            bpffs::check_inside(env, path).map_err(|e| e.to_string())?;
            let r = match std::fs::remove_dir_all(path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(format!("{}: {e}", path.display())),
            };
            // the scratch area itself goes once nothing else uses it
            if let Some(parent) = path.parent()
                && parent != env.bpffs_root
            {
                let _ = std::fs::remove_dir(parent);
            }
            r
        }
        Resource::SubLab {
            state_dir,
            bpffs_root,
            ns_prefix,
        } => {
            let sub = LabEnv {
                state_dir: state_dir.clone(),
                bpffs_root: bpffs_root.clone(),
                ns_prefix: ns_prefix.clone(),
            };
            remove_sublab(env, &sub).map_err(|e| e.to_string())
        }
        Resource::Dir { path } => {
            if path != &env.bpffs_root {
                bpffs::check_inside(env, path).map_err(|e| e.to_string())?;
            }
            match std::fs::remove_dir(path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(format!("{}: {e}", path.display())),
            }
        }
    }
}

fn remove_entries(
    env: &LabEnv,
    journal: &mut Journal,
    entries: Vec<Entry>,
    report: &mut CleanupReport,
) -> Result<(), JournalError> {
    // pins before directories, namespaces last: the reverse of creation order
    for e in entries.into_iter().rev() {
        match remove_one(env, &e.res) {
            Ok(true) => {
                report.removed.push(e.res.to_string());
                journal.del(&e.res)?;
            }
            Ok(false) => {
                // already gone, or no longer the lab's (another inode): forget it
                if let Resource::Netns { name, .. } = &e.res
                    && netns::inode(name).is_some()
                {
                    report
                        .kept
                        .push(format!("{} (now another namespace, not the lab's)", e.res));
                }
                journal.del(&e.res)?;
            }
            Err(why) => report.kept.push(format!("{}: {why}", e.res)),
        }
    }
    Ok(())
}

/// Removes `entries` of `journal` (the reverse of their order), reporting what went and what
/// stayed: `reset` for a chosen part of a lab (a kept scratch lab's recycling).
pub fn remove_entries_of(
    env: &LabEnv,
    journal: &mut Journal,
    entries: Vec<Entry>,
    report: &mut CleanupReport,
) -> Result<(), JournalError> {
    remove_entries(env, journal, entries, report)
}

/// A scratch lab (`crate::sublab`) could not be made or removed.
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

/// Removes the leftovers of crashed operations and ended sessions. Cheap when there are none:
/// it reads the journal and checks a few `/proc/<pid>/stat` files.
pub fn recover(env: &LabEnv, journal: &mut Journal) -> Result<CleanupReport, JournalError> {
    let leftovers: Vec<Entry> = journal
        .entries()?
        .into_iter()
        .filter(|e| e.is_leftover())
        .collect();
    let mut report = CleanupReport::default();
    if leftovers.is_empty() {
        return Ok(report);
    }
    let had_netns = leftovers
        .iter()
        .any(|e| matches!(e.res, Resource::Netns { .. }));
    remove_entries(env, journal, leftovers, &mut report)?;
    if had_netns && !any_netns_left(env, journal)? {
        let _ = std::fs::remove_file(env.topology_state_path());
    }
    journal.compact()?;
    Ok(report)
}

/// Removes the lab's scratch areas (`tmp/`, `scratch/`) when they are empty, and then the
/// lab's bpffs root when it is empty and the journal says the lab made it. Never a
/// directory with something in it, never one the lab did not make.
pub fn tidy(env: &LabEnv, journal: &mut Journal) -> Result<(), JournalError> {
    for area in ["tmp", "scratch"] {
        let _ = std::fs::remove_dir(env.bpffs_root.join(area));
    }
    let root = Resource::Dir {
        path: env.bpffs_root.clone(),
    };
    let made = journal.entries()?.iter().any(|e| e.res == root);
    let empty = std::fs::read_dir(&env.bpffs_root).is_ok_and(|mut d| d.next().is_none());
    if made && empty && std::fs::remove_dir(&env.bpffs_root).is_ok() {
        journal.del(&root)?;
    }
    Ok(())
}

/// Removes this process's own session objects (a TUI session ending normally).
pub fn end_session(env: &LabEnv, journal: &mut Journal) -> Result<CleanupReport, JournalError> {
    let me = journal.owner();
    let mine: Vec<Entry> = journal
        .entries()?
        .into_iter()
        .filter(|e| e.owner == me && e.life != crate::journal::Lifetime::Persistent)
        .collect();
    let mut report = CleanupReport::default();
    let had_netns = mine.iter().any(|e| matches!(e.res, Resource::Netns { .. }));
    remove_entries(env, journal, mine, &mut report)?;
    if had_netns && !any_netns_left(env, journal)? {
        let _ = std::fs::remove_file(env.topology_state_path());
    }
    tidy(env, journal)?;
    journal.compact()?;
    Ok(report)
}

fn any_netns_left(_env: &LabEnv, journal: &Journal) -> Result<bool, JournalError> {
    Ok(journal
        .entries()?
        .iter()
        .any(|e| matches!(e.res, Resource::Netns { .. })))
}

/// Removes everything the lab created, and nothing else.
pub fn reset(env: &LabEnv, journal: &mut Journal) -> Result<CleanupReport, JournalError> {
    let mut report = CleanupReport::default();
    let entries = journal.entries()?;
    remove_entries(env, journal, entries, &mut report)?;
    // anything still below the lab's own root was pinned by the lab in the instant between
    // pinning and recording (a crash there); the root is the lab's, so sweep it
    if env.bpffs_root.exists() && bpffs::is_bpffs(env.bpffs_root.parent().unwrap_or(Path::new("/")))
    {
        let mut found = Vec::new();
        bpffs::walk(&env.bpffs_root, &mut found);
        for (path, is_dir) in found.into_iter().rev() {
            let r = if is_dir {
                std::fs::remove_dir(&path)
            } else {
                std::fs::remove_file(&path)
            };
            match r {
                Ok(()) => report
                    .removed
                    .push(format!("unrecorded {}", path.display())),
                Err(e) => report.kept.push(format!("{}: {e}", path.display())),
            }
        }
        match std::fs::remove_dir(&env.bpffs_root) {
            Ok(()) => report
                .removed
                .push(format!("directory {}", env.bpffs_root.display())),
            Err(e) => report
                .kept
                .push(format!("{}: {e}", env.bpffs_root.display())),
        }
    }
    let _ = std::fs::remove_file(env.topology_state_path());
    journal.compact()?;
    Ok(report)
}

/// Removes scratch lab `sub` of `env`: everything its journal records, then its directories,
/// then its record in `env`'s journal (when `forget` holds the journal, the caller forgets).
pub fn remove_sublab(env: &LabEnv, sub: &LabEnv) -> Result<bool, SubLabError> {
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
        let rep = reset(sub, &mut j)?;
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
