//! The BPF filesystem and the lab's root on it. Every pin the lab makes lives below
//! [`crate::LabEnv::bpffs_root`], in the original HIKe shape: `maps/system/hvm_*`,
//! `progs/<package>/<name>`, `maps/<package>/<name>/<map>`, plus `links/<node>/<dev>/...` for
//! XDP attachments that must outlive the command that made them.

use std::io;
use std::path::{Path, PathBuf};

use crate::LabEnv;
use crate::env::BPFFS_MOUNT;
use crate::journal::{Journal, JournalError, Lifetime, Resource};

/// `BPF_FS_MAGIC` from linux/magic.h.
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

#[derive(Debug, thiserror::Error)]
pub enum BpffsError {
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: io::Error },
    #[error("{path} is outside the lab's bpffs root {root}; the lab only pins below its own root")]
    Outside { path: PathBuf, root: PathBuf },
    #[error(
        "bpffs is not mounted at {BPFFS_MOUNT} and mounting it failed ({err}); run \
         `mount -t bpf bpf {BPFFS_MOUNT}` as root"
    )]
    Mount { err: io::Error },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Uncontrolled(#[from] crate::perms::Uncontrolled),
}

/// Checks that the lab's bpffs root, if it exists, is root's and writable by root alone
/// (bpffs is mounted 1777: any user could have made it, then renamed what the lab pins).
pub fn check_root(env: &LabEnv) -> Result<(), crate::perms::Uncontrolled> {
    crate::perms::check_controlled(&env.bpffs_root, "the lab's bpffs root", "ECLAT_LAB_BPFFS")
}

// the width of statfs's f_type differs between architectures: the cast is not a no-op everywhere
#[allow(clippy::unnecessary_cast)]
pub fn is_bpffs(path: &Path) -> bool {
    nix::sys::statfs::statfs(path)
        .map(|s| s.filesystem_type().0 as i64 == BPF_FS_MAGIC)
        .unwrap_or(false)
}

/// Mounts bpffs at /sys/fs/bpf if nothing is mounted there (as systemd would at boot).
/// Returns whether it mounted. The mount is system infrastructure and is left in place.
pub fn ensure_mounted() -> Result<bool, BpffsError> {
    let p = Path::new(BPFFS_MOUNT);
    if is_bpffs(p) {
        return Ok(false);
    }
    std::fs::create_dir_all(p).map_err(|err| BpffsError::Mount { err })?;
    nix::mount::mount(
        Some("bpf"),
        p,
        Some("bpf"),
        nix::mount::MsFlags::empty(),
        Some("mode=0700"),
    )
    .map_err(|e| BpffsError::Mount { err: e.into() })?;
    Ok(true)
}

/// Checks that `path` lies below the lab's root (after normalising `..`).
pub fn check_inside(env: &LabEnv, path: &Path) -> Result<(), BpffsError> {
    let inside = path.starts_with(&env.bpffs_root)
        && !path
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir));
    if inside {
        Ok(())
    } else {
        Err(BpffsError::Outside {
            path: path.to_path_buf(),
            root: env.bpffs_root.clone(),
        })
    }
}

/// Creates the lab's bpffs root if it does not exist, recorded as the lab's (for good: it
/// goes with `reset`, or when a session ends and it is empty).
pub fn ensure_root(env: &LabEnv, journal: &mut Journal) -> Result<(), BpffsError> {
    ensure_dir(env, journal, &env.bpffs_root, Lifetime::Persistent)
}

/// Creates `dir` (below the root) and its parents, recording each new directory.
pub fn ensure_dir(
    env: &LabEnv,
    journal: &mut Journal,
    dir: &Path,
    life: Lifetime,
) -> Result<(), BpffsError> {
    ensure_mounted()?;
    check_root(env)?;
    if dir != env.bpffs_root {
        check_inside(env, dir)?;
    }
    let mut todo = Vec::new();
    let mut d = dir.to_path_buf();
    while !d.exists() {
        todo.push(d.clone());
        if d == env.bpffs_root || !d.pop() {
            break;
        }
    }
    for d in todo.into_iter().rev() {
        journal.add(Resource::Dir { path: d.clone() }, life)?;
        crate::perms::make_dir(&d, crate::perms::DIR_MODE).map_err(|err| BpffsError::Io {
            path: d.clone(),
            err,
        })?;
    }
    Ok(())
}

/// A scratch directory `<root>/tmp/<name>` for a throwaway HIKe instance (`eclat-lab test`,
/// a lesson check): recorded in the journal before it exists, so that a kill while it is
/// in use leaves a recorded leftover the next start removes; removed with everything in it
/// (and forgotten) when dropped. The journal is held only while recording and forgetting.
pub struct Scratch {
    env: LabEnv,
    path: PathBuf,
}

impl Scratch {
    pub fn create(env: &LabEnv, name: &str) -> Result<Self, BpffsError> {
        ensure_mounted()?;
        let area = env.bpffs_root.join("tmp");
        let path = area.join(name);
        check_inside(env, &path)?;
        let mut j = Journal::open(&env.state_dir)?;
        ensure_dir(env, &mut j, &area, Lifetime::Persistent)?;
        j.add(
            Resource::Scratch { path: path.clone() },
            Lifetime::Provisional,
        )?;
        drop(j);
        crate::perms::make_dir(&path, crate::perms::DIR_MODE).map_err(|err| BpffsError::Io {
            path: path.clone(),
            err,
        })?;
        Ok(Self {
            env: env.clone(),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // bpffs: pins are files and directories; removing them drops the references
        let _ = std::fs::remove_dir_all(&self.path);
        if let Ok(mut j) = Journal::open(&self.env.state_dir) {
            let _ = j.del(&Resource::Scratch {
                path: self.path.clone(),
            });
            // the area goes once nothing else uses it (it is recorded: the lab made it)
            let _ = tidy_areas(&self.env, &mut j);
        }
    }
}

/// Removes the lab's scratch areas (`tmp/`, `scratch/`, `cache/`) that are empty and that the
/// journal records as the lab's (a folder of that name someone else made stays).
pub fn tidy_areas(env: &LabEnv, journal: &mut Journal) -> Result<(), JournalError> {
    let entries = journal.entries()?;
    for area in ["tmp", "scratch", "cache"] {
        let path = &env.bpffs_root.join(area);
        let dir = Resource::Dir { path: path.clone() };
        // in use: a scratch directory or lab recorded below it (made, or about to be)
        let used = entries.iter().any(|e| match &e.res {
            Resource::Scratch { path: p } | Resource::Pin { path: p } => p.starts_with(path),
            Resource::Dir { path: p } => p.starts_with(path) && p != path,
            Resource::SubLab { bpffs_root, .. } => bpffs_root.starts_with(path),
            Resource::Netns { .. } => false,
        });
        if !used && entries.iter().any(|e| e.res == dir) && std::fs::remove_dir(path).is_ok() {
            journal.del(&dir)?;
        }
    }
    Ok(())
}

/// A scratch directory kept between uses, `<root>/cache/<name>` (a HIKe instance whose VM is
/// verified once): recorded in the journal with the lifetime of what made it before it exists,
/// so `reset` (or, for a session's, the session's end) removes it whole. One process uses it
/// at a time: [`Reused::open`] holds `<state>/cache-<name>.lock` and gives `None` when another
/// process has it (the caller then makes a [`Scratch`] of its own). Whoever uses it brings it
/// back to its starting state first: a process killed while using it leaves it as it was.
pub struct Reused {
    path: PathBuf,
    /// it was made by this call (nothing to reuse yet)
    pub fresh: bool,
    _lock: crate::journal::Lock,
}

impl Reused {
    pub fn open(env: &LabEnv, name: &str, life: Lifetime) -> Result<Option<Self>, BpffsError> {
        ensure_mounted()?;
        let area = env.bpffs_root.join("cache");
        let path = area.join(name);
        check_inside(env, &path)?;
        std::fs::create_dir_all(&env.state_dir).map_err(|err| BpffsError::Io {
            path: env.state_dir.clone(),
            err,
        })?;
        let lock_path = env.state_dir.join(format!("cache-{name}.lock"));
        let Some(lock) =
            crate::journal::Lock::try_acquire(&lock_path).map_err(|err| BpffsError::Io {
                path: lock_path.clone(),
                err,
            })?
        else {
            return Ok(None);
        };
        let fresh = !path.exists();
        if fresh {
            let mut j = Journal::open(&env.state_dir)?;
            ensure_dir(env, &mut j, &area, Lifetime::Persistent)?;
            j.add(Resource::Scratch { path: path.clone() }, life)?;
            drop(j);
            crate::perms::make_dir(&path, crate::perms::DIR_MODE).map_err(|err| {
                BpffsError::Io {
                    path: path.clone(),
                    err,
                }
            })?;
        }
        Ok(Some(Self {
            path,
            fresh,
            _lock: lock,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Every entry below `root` (parents before children).
pub fn walk(root: &Path, out: &mut Vec<(PathBuf, bool)>) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        out.push((p.clone(), is_dir));
        if is_dir {
            walk(&p, out);
        }
    }
}

/// Pins of a given area (`maps`, `progs`, `links`), relative to the root.
pub fn area(env: &LabEnv, name: &str) -> PathBuf {
    env.bpffs_root.join(name)
}
