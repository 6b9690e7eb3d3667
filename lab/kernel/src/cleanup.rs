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
    /// what was removed, one line each (`namespace tg`, `pin /sys/fs/bpf/...`; `unrecorded ...` for
    /// a bpffs file below the lab's root that the journal did not hold), in removal order; empty
    /// when there was nothing to remove
    pub removed: Vec<String>,
    /// the lab's objects that could not be removed, with the reason (a failure)
    pub kept: Vec<String>,
    /// what is not the lab's and was left in place as it should be: pins and folders
    /// someone else made below the lab's root, a namespace name now used by another
    /// namespace, a folder of the lab's that holds such things
    pub foreign: Vec<String>,
}

impl CleanupReport {
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.kept.is_empty() && self.foreign.is_empty()
    }
}

/// A directory of the lab's that holds what the lab did not make: kept, not a failure.
const HOLDS_FOREIGN: &str = "the lab made it, but it holds what the lab did not make (listed \
                             with it): left in place until it is empty";

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
            // the scratch area it is in is a recorded folder of its own: it goes with its
            // record (`tidy_areas`, `reset`), never here by name
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
                Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty => {
                    Err(HOLDS_FOREIGN.to_string())
                }
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
    // the nodes whose namespaces go: what was attached to their interfaces went with them
    let mut nodes = Vec::new();
    // pins before directories, namespaces last: the reverse of creation order
    for e in entries.into_iter().rev() {
        match remove_one(env, &e.res) {
            Ok(true) => {
                report.removed.push(e.res.to_string());
                journal.del(&e.res)?;
                if let Resource::Netns { name, .. } = &e.res
                    && let Some(node) = name.strip_prefix(&env.ns_prefix)
                {
                    nodes.push(node.to_string());
                }
            }
            Ok(false) => {
                // already gone, or no longer the lab's (another inode): forget it
                if let Resource::Netns { name, .. } = &e.res
                    && netns::inode(name).is_some()
                {
                    report
                        .foreign
                        .push(format!("{} (now another namespace, not the lab's)", e.res));
                }
                journal.del(&e.res)?;
            }
            Err(why) if why == HOLDS_FOREIGN => report.foreign.push(format!("{}: {why}", e.res)),
            Err(why) => report.kept.push(format!("{}: {why}", e.res)),
        }
    }
    // a link pinned by another owner (a shell's attachment in a session's namespace, kept as
    // persistent) would say attached where nothing is
    crate::xdp::forget_links_of(env, journal, &nodes)
}

/// Removes the pins and folders below `root` that this process recorded as provisional and
/// did not confirm: an operation that failed half-way undoes what it made at once, as the
/// next start would (and no later command calls them leftovers of a crash). Scratch areas
/// and scratch labs are left to their own guards.
pub fn undo_provisional(root: &Path, journal: &mut Journal) -> Result<usize, JournalError> {
    let me = journal.owner();
    let mine: Vec<Resource> = journal
        .entries()?
        .into_iter()
        .filter(|e| e.owner == me && e.life == crate::journal::Lifetime::Provisional)
        .map(|e| e.res)
        .filter(|r| match r {
            Resource::Pin { path } | Resource::Dir { path } => {
                path.starts_with(root) && path != root
            }
            _ => false,
        })
        .collect();
    let mut n = 0;
    // pins before their folders: the reverse of creation order
    for res in mine.into_iter().rev() {
        let gone = match &res {
            Resource::Pin { path } => std::fs::remove_file(path),
            Resource::Dir { path } => std::fs::remove_dir(path),
            _ => continue,
        };
        match gone {
            Ok(()) => n += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            // not empty (something confirmed lives in it) or busy: the record stays
            Err(_) => continue,
        }
        journal.del(&res)?;
    }
    Ok(n)
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

/// A scratch lab (the `sublab` module) could not be made or removed.
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
    let mut report = CleanupReport::default();
    // a `topo down` killed half-way: finish it
    match crate::topo::finish_down(env, journal) {
        Ok(removed) => report.removed.extend(removed),
        Err(e) => report
            .kept
            .push(format!("the topology an interrupted `topo down` left: {e}")),
    }
    let leftovers: Vec<Entry> = journal
        .entries()?
        .into_iter()
        .filter(|e| e.is_leftover())
        .collect();
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
    // a scratch area whose last scratch directory was a leftover goes with it (the area is
    // recorded: only the lab's, only when empty and no live process has one below it)
    bpffs::tidy_areas(env, journal)?;
    journal.compact()?;
    Ok(report)
}

/// Removes the lab's scratch areas (`tmp/`, `scratch/`, `cache/`) when they are empty, and then the
/// lab's bpffs root when it is empty and the journal says the lab made it. Never a
/// directory with something in it, never one the lab did not make.
pub fn tidy(env: &LabEnv, journal: &mut Journal) -> Result<(), JournalError> {
    bpffs::tidy_areas(env, journal)?;
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

/// Removes everything the lab created, and nothing else: what its journal records, each
/// checked to be still the recorded object; a directory only when it is empty. Anything
/// else below the lab's root (a pin or folder someone else made there) is reported as
/// kept, never removed.
pub fn reset(env: &LabEnv, journal: &mut Journal) -> Result<CleanupReport, JournalError> {
    let mut report = CleanupReport::default();
    let entries = journal.entries()?;
    remove_entries(env, journal, entries, &mut report)?;
    report.foreign.extend(foreign(env, journal)?);
    let _ = std::fs::remove_file(env.topology_state_path());
    let _ = std::fs::remove_file(env.topology_down_path());
    journal.compact()?;
    Ok(report)
}

/// What lies below the lab's bpffs root that its journal does not record: someone else's.
pub fn foreign(env: &LabEnv, journal: &Journal) -> Result<Vec<String>, JournalError> {
    let mut ours = std::collections::HashSet::new();
    // scratch areas are recorded whole: what is inside them is the lab's too
    let mut skip: Vec<std::path::PathBuf> = Vec::new();
    for e in journal.entries()? {
        match e.res {
            Resource::Pin { path } | Resource::Dir { path } => {
                ours.insert(path);
            }
            Resource::Scratch { path } => skip.push(path),
            Resource::SubLab { bpffs_root, .. } => skip.push(bpffs_root),
            Resource::Netns { .. } => {}
        }
    }
    let mut out = Vec::new();
    if env.bpffs_root.exists() && !ours.contains(&env.bpffs_root) {
        out.push(format!(
            "directory {}: the lab's bpffs root, but the lab did not make it (its journal has \
             no record of it), left in place",
            env.bpffs_root.display()
        ));
    }
    let mut found = Vec::new();
    bpffs::walk(&env.bpffs_root, &mut found);
    for (path, is_dir) in found {
        if ours.contains(&path) || skip.iter().any(|s| path.starts_with(s)) {
            continue;
        }
        if is_dir {
            // what is inside a foreign folder is foreign too: one line for all of it
            skip.push(path.clone());
        }
        out.push(format!(
            "{} {}: not made by the lab (its journal has no record of it), left in place",
            if is_dir { "directory" } else { "pin" },
            path.display()
        ));
    }
    Ok(out)
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
