//! The journal: an append-only record of every kernel object the lab creates, written
//! *before* the object exists. Replaying it tells which objects are the lab's, so that
//! `reset` (and recovery after a crash) removes exactly those and nothing else.
//!
//! Each object has a lifetime:
//! - `provisional`: part of an operation still in progress (`topo up` half-way); if its owner
//!   process is gone, the operation crashed and the object is a leftover;
//! - `session`: belongs to a running lab session (the TUI); a leftover once the owner is gone;
//! - `persistent`: made by a finished command (`topo up` from the shell); stays until removed.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A kernel object the lab created.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resource {
    /// A network namespace bind-mounted at `/run/netns/<name>`, identified by its inode.
    Netns { name: String, ino: u64 },
    /// A directory (on bpffs: the lab's root and its subfolders).
    Dir { path: PathBuf },
    /// A pinned program, map or link below the lab's bpffs root.
    Pin { path: PathBuf },
    /// A scratch directory below the lab's bpffs root (`tmp/...`: a throwaway HIKe instance
    /// of `test` or a lesson check), removed with everything in it.
    Scratch { path: PathBuf },
    /// A scratch lab of its own (a lesson check's topology and HIKe instance): its state
    /// directory below the lab's, its bpffs root below the lab's, its namespace prefix.
    /// Removing it resets it (its own journal says what it made), then removes both
    /// directories.
    SubLab {
        state_dir: PathBuf,
        bpffs_root: PathBuf,
        ns_prefix: String,
    },
}

impl Resource {
    /// The bpffs path of a pin or a folder the lab made; `None` for the other kinds.
    pub fn bpffs_path(&self) -> Option<&PathBuf> {
        match self {
            Resource::Pin { path } | Resource::Dir { path } => Some(path),
            _ => None,
        }
    }
}

/// The pins and folders among `entries`.
fn bpffs_paths(entries: Vec<Entry>) -> std::collections::HashSet<PathBuf> {
    entries
        .into_iter()
        .filter_map(|e| e.res.bpffs_path().cloned())
        .collect()
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resource::Netns { name, .. } => write!(f, "namespace {name}"),
            Resource::Dir { path } => write!(f, "directory {}", path.display()),
            Resource::Pin { path } => write!(f, "pin {}", path.display()),
            Resource::Scratch { path } => write!(f, "scratch directory {}", path.display()),
            Resource::SubLab { state_dir, .. } => write!(f, "scratch lab {}", state_dir.display()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lifetime {
    Provisional,
    Session,
    Persistent,
}

/// A process, identified by pid and start time (pids are reused; start times are not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Owner {
    /// the owning process's id
    pub pid: u32,
    /// the process's start time in clock ticks since boot (field 22 of `/proc/<pid>/stat`); with
    /// the pid it names one process even after pids are reused; 0 when it could not be read
    pub start: u64,
}

impl Owner {
    pub fn me() -> Self {
        let pid = std::process::id();
        Self {
            pid,
            start: proc_start_time(pid).unwrap_or(0),
        }
    }

    /// Is this process still running? A pid now used by another process (another start
    /// time) is not, and neither is a zombie (killed, not yet reaped: it will never finish
    /// or clean up anything).
    pub fn alive(&self) -> bool {
        proc_stat(self.pid).is_some_and(|(state, start)| start == self.start && !is_dead(state))
    }
}

/// `Z` (zombie) and `X` (dead): a process that runs no more.
fn is_dead(state: char) -> bool {
    matches!(state, 'Z' | 'X' | 'x')
}

/// Field 22 of `/proc/<pid>/stat`: start time in clock ticks since boot.
fn proc_start_time(pid: u32) -> Option<u64> {
    proc_stat(pid).map(|(_, start)| start)
}

/// Fields 3 (state) and 22 (start time) of `/proc/<pid>/stat`.
fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command name (field 2) may contain spaces and parentheses: skip past the last ')'
    let rest = s.get(s.rfind(')')? + 2..)?;
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    Some((state, fields.nth(18)?.parse().ok()?))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Record {
    Add {
        res: Resource,
        owner: Owner,
        life: Lifetime,
    },
    Del {
        res: Resource,
    },
    /// Every provisional object of `owner` becomes `life`.
    Commit {
        owner: Owner,
        life: Lifetime,
    },
    /// `res`, made by another process, is now `owner`'s, for `life` (an operation that must
    /// outlive the session that made what it stands on adopts it).
    Adopt {
        res: Resource,
        owner: Owner,
        life: Lifetime,
    },
}

/// A live entry of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Entry {
    /// the kernel object the lab created (`kind` says which: `netns`, `dir`, `pin`, `scratch`,
    /// `sub_lab`)
    pub res: Resource,
    /// the process that created it
    pub owner: Owner,
    /// how long it is meant to live: `provisional` (an operation in progress), `session` (a running
    /// session's), `persistent` (until removed)
    pub life: Lifetime,
}

impl Entry {
    /// Is this a leftover of a crashed operation or of a session that ended?
    pub fn is_leftover(&self) -> bool {
        self.life != Lifetime::Persistent && !self.owner.alive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {err}")]
    Io { path: PathBuf, err: io::Error },
    #[error(
        "journal {path} line {line}: {err}. The journal is damaged there, and the lab cannot \
         tell what it made: look at that line (`sed -n {line}p {path}`); if it is not a record \
         like the others, delete it and run the command again (what it named is then not the lab's: \
         `eclat-lab reset` lists it and leaves it to you)"
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        err: String,
    },
    #[error(transparent)]
    Uncontrolled(#[from] crate::perms::Uncontrolled),
    #[error(
        "the lab's lock {path} is held by process {pid} of uid {uid}, not by an eclat-lab of \
         this user: the lab does not wait for it. Stop that process (`kill {pid}`), or fix the \
         lock's mode (`sudo chmod 0600 {path}`; the lab makes it so)"
    )]
    LockHeld { path: PathBuf, pid: u32, uid: u32 },
}

pub struct Journal {
    path: PathBuf,
    file: File,
    owner: Owner,
    _lock: Lock,
}

/// An exclusive `flock` on the lab's lock file, held while the lab changes the kernel.
pub struct Lock {
    _guard: nix::fcntl::Flock<File>,
}

impl Lock {
    /// Waits until no other eclat-lab process holds the lock. A lock held by a process of
    /// another user (only possible when the lock file's mode let them open it) is an error at
    /// once, never a wait without end.
    pub fn acquire(path: &Path) -> Result<Self, JournalError> {
        use nix::fcntl::{Flock, FlockArg};
        let io_err = |err| JournalError::Io {
            path: path.to_path_buf(),
            err,
        };
        let mut file =
            crate::perms::open_file(path, crate::perms::LOCK_MODE, false).map_err(io_err)?;
        loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(guard) => return Ok(Self { _guard: guard }),
                Err((f, nix::errno::Errno::EWOULDBLOCK)) => {
                    file = f;
                    let me = nix::unistd::geteuid().as_raw();
                    if let Some((pid, uid)) = lock_holder(&file)
                        && uid != me
                    {
                        return Err(JournalError::LockHeld {
                            path: path.to_path_buf(),
                            pid,
                            uid,
                        });
                    }
                    // another command of the lab: it finishes soon
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err((_, e)) => return Err(io_err(io::Error::from(e))),
            }
        }
    }
}

impl Lock {
    /// The lock at `path` if no other process holds it, `Ok(None)` (at once) if another
    /// process of this user does; a holder of another user is an error at once (not a lab
    /// process of this lab: it would never let go). The file gets the lock's mode.
    pub fn try_acquire_own(path: &Path) -> Result<Option<Self>, JournalError> {
        use nix::fcntl::{Flock, FlockArg};
        let io_err = |err| JournalError::Io {
            path: path.to_path_buf(),
            err,
        };
        let file = crate::perms::open_file(path, crate::perms::LOCK_MODE, false).map_err(io_err)?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(guard) => Ok(Some(Self { _guard: guard })),
            Err((file, nix::errno::Errno::EWOULDBLOCK)) => {
                let me = nix::unistd::geteuid().as_raw();
                match lock_holder(&file) {
                    Some((pid, uid)) if uid != me => Err(JournalError::LockHeld {
                        path: path.to_path_buf(),
                        pid,
                        uid,
                    }),
                    _ => Ok(None),
                }
            }
            Err((_, e)) => Err(io_err(io::Error::from(e))),
        }
    }
}

/// The process holding a `flock` on `file` and its uid, from `/proc/locks`.
fn lock_holder(file: &File) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let ino = file.metadata().ok()?.ino();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    for l in locks.lines() {
        // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" ("->" marks a waiter)
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.get(1) != Some(&"FLOCK") || f.get(2) == Some(&"->") {
            continue;
        }
        let (Some(pid), Some(dev_ino)) = (f.get(4), f.get(5)) else {
            continue;
        };
        if dev_ino
            .rsplit(':')
            .next()
            .and_then(|i| i.parse::<u64>().ok())
            != Some(ino)
        {
            continue;
        }
        let pid: u32 = pid.parse().ok()?;
        let uid = std::fs::metadata(format!("/proc/{pid}")).ok()?.uid();
        return Some((pid, uid));
    }
    None
}

impl Lock {
    /// The lock at `path` if no other process holds it, else `None` (at once). The file is
    /// made with the lock's mode, whatever the umask.
    pub fn try_acquire(path: &Path) -> io::Result<Option<Self>> {
        let file = crate::perms::open_file(path, crate::perms::LOCK_MODE, false)?;
        match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
            Ok(guard) => Ok(Some(Self { _guard: guard })),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, e)) => Err(io::Error::from(e)),
        }
    }
}

impl Journal {
    /// Opens (creating if needed) the journal in `state_dir`, taking the lab's lock.
    pub fn open(state_dir: &Path) -> Result<Self, JournalError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |err| JournalError::Io { path, err }
        };
        crate::perms::make_dirs(state_dir, crate::perms::DIR_MODE).map_err(io_err(state_dir))?;
        crate::perms::check_controlled(state_dir, "the lab's state directory", "ECLAT_LAB_STATE")?;
        let lock = Lock::acquire(&state_dir.join("lock"))?;
        let path = state_dir.join("journal");
        let file =
            crate::perms::open_file(&path, crate::perms::FILE_MODE, true).map_err(io_err(&path))?;
        drop_torn_tail(&file).map_err(io_err(&path))?;
        Ok(Self {
            path,
            file,
            owner: Owner::me(),
            _lock: lock,
        })
    }

    pub fn owner(&self) -> Owner {
        self.owner
    }

    /// Writes one record. Written is enough, without `fdatasync`: a record is in the page
    /// cache, where every later process reads it, before the object it announces exists, and
    /// a killed process does not take the page cache with it. What a sync would add is the
    /// record surviving a kernel crash or a power cut, and the lab's objects (namespaces,
    /// bpffs pins, attachments) do not survive those either. Each sync cost milliseconds, and
    /// a command records tens of objects.
    fn append(&mut self, rec: &Record) -> Result<(), JournalError> {
        crate::crash_before_journal_write();
        let mut line = serde_json::to_string(rec).expect("journal records serialize");
        line.push('\n');
        let path = self.path.clone();
        self.file
            .write_all(line.as_bytes())
            .map_err(|err| JournalError::Io { path, err })
    }

    /// Records that `res` is about to be created by this process.
    pub fn add(&mut self, res: Resource, life: Lifetime) -> Result<(), JournalError> {
        self.append(&Record::Add {
            res,
            owner: self.owner,
            life,
        })
    }

    /// Records that every one of `res` is about to be created by this process (one write).
    pub fn add_many(&mut self, res: Vec<Resource>, life: Lifetime) -> Result<(), JournalError> {
        if res.is_empty() {
            return Ok(());
        }
        crate::crash_before_journal_write();
        let mut lines = String::new();
        for r in res {
            let rec = Record::Add {
                res: r,
                owner: self.owner,
                life,
            };
            lines.push_str(&serde_json::to_string(&rec).expect("journal records serialize"));
            lines.push('\n');
        }
        let path = self.path.clone();
        self.file
            .write_all(lines.as_bytes())
            .map_err(|err| JournalError::Io { path, err })
    }

    /// Records that `res` is gone.
    pub fn del(&mut self, res: &Resource) -> Result<(), JournalError> {
        self.append(&Record::Del { res: res.clone() })
    }

    /// Turns this process's provisional objects into `life` objects (the operation finished).
    /// A persistent operation also adopts the session objects it stands on: the folders
    /// around what it made (a session's `links/sut` holding this operation's link pin would
    /// otherwise go, or stay reported as holding what the lab did not make, when the session
    /// ends).
    pub fn commit(&mut self, life: Lifetime) -> Result<(), JournalError> {
        self.commit_adopting(life, &|_| false)
    }

    /// A persistent object recorded without a commit (a kept scratch lab) stands on the
    /// folders above `path` as well: the session's ones among them become `life`'s, this
    /// process's, as [`Journal::commit_adopting`] adopts them. Otherwise the session's end
    /// leaves its folder (the lab's root) recorded with a dead owner and in use, and every
    /// later command reported it as holding what the lab did not make.
    pub fn adopt_folders_above(&mut self, path: &Path, life: Lifetime) -> Result<(), JournalError> {
        if life != Lifetime::Persistent {
            return Ok(());
        }
        let adopt: Vec<Resource> = self
            .entries()?
            .into_iter()
            .filter(|e| e.life == Lifetime::Session)
            .filter(|e| matches!(&e.res, Resource::Dir { path: p } if path.starts_with(p)))
            .map(|e| e.res)
            .collect();
        self.adopt_all(adopt, life)
    }

    /// Records `res` as this process's, living `life` (an `adopt` record each).
    fn adopt_all(&mut self, res: Vec<Resource>, life: Lifetime) -> Result<(), JournalError> {
        for res in res {
            self.append(&Record::Adopt {
                res,
                owner: self.owner,
                life,
            })?;
        }
        Ok(())
    }

    /// [`Journal::commit`], adopting as well, for a persistent operation, every session
    /// object whose path `also` accepts (with the folders above it): what the operation uses
    /// without having made it (the HIKe VM a session made, under a script loaded from a
    /// shell).
    pub fn commit_adopting(
        &mut self,
        life: Lifetime,
        also: &dyn Fn(&Path) -> bool,
    ) -> Result<(), JournalError> {
        if life == Lifetime::Persistent {
            let entries = self.entries()?;
            let path_of = |r: &Resource| r.bpffs_path().cloned();
            // what the operation made, and what it adopts: the folders above both go too
            let mut standing: Vec<PathBuf> = entries
                .iter()
                .filter(|e| e.owner == self.owner && e.life == Lifetime::Provisional)
                .filter_map(|e| path_of(&e.res))
                .collect();
            standing.extend(
                entries
                    .iter()
                    .filter(|e| e.life == Lifetime::Session)
                    .filter_map(|e| path_of(&e.res))
                    .filter(|p| also(p)),
            );
            let adopt: Vec<Resource> = entries
                .iter()
                .filter(|e| e.life == Lifetime::Session)
                .filter(|e| {
                    path_of(&e.res).is_some_and(|p| {
                        also(&p)
                            || (matches!(e.res, Resource::Dir { .. })
                                && standing.iter().any(|s| s != &p && s.starts_with(&p)))
                    })
                })
                .map(|e| e.res.clone())
                .collect();
            self.adopt_all(adopt, life)?;
        }
        self.append(&Record::Commit {
            owner: self.owner,
            life,
        })
    }

    /// The live entries, oldest first.
    pub fn entries(&self) -> Result<Vec<Entry>, JournalError> {
        replay(&self.path)
    }

    /// The pins and directories recorded as the lab's (under the lock).
    pub fn recorded(&self) -> Result<std::collections::HashSet<PathBuf>, JournalError> {
        Ok(bpffs_paths(self.entries()?))
    }

    /// Rewrites the journal with only the live entries (atomic rename).
    pub fn compact(&mut self) -> Result<(), JournalError> {
        let live = self.entries()?;
        let tmp = self.path.with_extension("tmp");
        let io_err = |err| JournalError::Io {
            path: tmp.clone(),
            err,
        };
        let _ = std::fs::remove_file(&tmp);
        let mut f =
            crate::perms::open_file(&tmp, crate::perms::FILE_MODE, false).map_err(io_err)?;
        for e in &live {
            let rec = Record::Add {
                res: e.res.clone(),
                owner: e.owner,
                life: e.life,
            };
            let mut line = serde_json::to_string(&rec).expect("journal records serialize");
            line.push('\n');
            f.write_all(line.as_bytes()).map_err(io_err)?;
        }
        f.sync_all().map_err(io_err)?;
        std::fs::rename(&tmp, &self.path).map_err(io_err)?;
        self.file = OpenOptions::new()
            .append(true)
            .read(true)
            .open(&self.path)
            .map_err(|err| JournalError::Io {
                path: self.path.clone(),
                err,
            })?;
        Ok(())
    }
}

/// Cuts a last line without its newline off the journal (held under the lock): the start of
/// a record whose write did not finish (a full disk, or the page cache lost in a power cut
/// before the file reached the disk). It announced an object that was never made, since
/// records are written first; left there, the next record would be appended to the same
/// line, and that line, no longer the last, would make the whole journal unreadable.
fn drop_torn_tail(file: &File) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut text = Vec::with_capacity(len as usize);
    f.seek(SeekFrom::Start(0))?;
    f.read_to_end(&mut text)?;
    if text.last() == Some(&b'\n') {
        return Ok(());
    }
    let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    file.set_len(keep as u64)
}

/// The live entries of the journal at `path`, oldest first (no lock needed: the journal is
/// appended to and replaced by rename, so a reader sees a whole version of it).
fn replay(path: &Path) -> Result<Vec<Entry>, JournalError> {
    let f = File::open(path).map_err(|err| JournalError::Io {
        path: path.to_path_buf(),
        err,
    })?;
    let mut live: Vec<Entry> = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|err| JournalError::Io {
            path: path.to_path_buf(),
            err,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let rec: Record = match serde_json::from_str(&line) {
            Ok(r) => r,
            // a torn last line from a crash mid-write: the object it announced was never
            // created (it is written before creating), so it is safe to ignore
            Err(_) if i + 1 == line_count(path) => continue,
            Err(e) => {
                return Err(JournalError::Corrupt {
                    path: path.to_path_buf(),
                    line: i + 1,
                    err: e.to_string(),
                });
            }
        };
        match rec {
            Record::Add { res, owner, life } => {
                live.retain(|e| e.res != res);
                live.push(Entry { res, owner, life });
            }
            Record::Del { res } => live.retain(|e| e.res != res),
            Record::Adopt { res, owner, life } => {
                if let Some(e) = live.iter_mut().find(|e| e.res == res) {
                    e.owner = owner;
                    e.life = life;
                }
            }
            Record::Commit { owner, life } => {
                for e in live.iter_mut() {
                    if e.owner == owner && e.life == Lifetime::Provisional {
                        e.life = life;
                    }
                }
            }
        }
    }
    Ok(live)
}

fn line_count(path: &Path) -> usize {
    File::open(path)
        .map(|f| BufReader::new(f).lines().count())
        .unwrap_or(0)
}

/// The pins and directories the journal in `state_dir` records as the lab's, read without
/// taking the lock (for read-only commands): empty when there is no journal.
/// What a reader can tell of the journal in `state_dir` without reading it: its inode, length
/// and modification time. Every object the lab creates is recorded (appended) first and a
/// compaction renames a new file over it, so while the stamp stays the same no pin has become
/// the lab's; `None` when there is no journal.
pub fn stamp(state_dir: &Path) -> Option<(u64, u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(state_dir.join("journal")).ok()?;
    Some((m.ino(), m.len(), m.modified().ok()?))
}

pub fn recorded_paths(state_dir: &Path) -> std::collections::HashSet<PathBuf> {
    bpffs_paths(replay(&state_dir.join("journal")).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("eclat-journal-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn replay_add_del_commit() {
        let d = tmpdir("replay");
        let mut j = Journal::open(&d).unwrap();
        let a = Resource::Netns {
            name: "a".into(),
            ino: 1,
        };
        let b = Resource::Pin {
            path: "/sys/fs/bpf/x/p".into(),
        };
        j.add(a.clone(), Lifetime::Provisional).unwrap();
        j.add(b.clone(), Lifetime::Provisional).unwrap();
        j.del(&b).unwrap();
        let e = j.entries().unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].life, Lifetime::Provisional);
        // we are alive: nothing is a leftover yet
        assert!(!e[0].is_leftover());
        j.commit(Lifetime::Persistent).unwrap();
        assert_eq!(j.entries().unwrap()[0].life, Lifetime::Persistent);
        j.compact().unwrap();
        assert_eq!(j.entries().unwrap().len(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_persistent_commit_adopts_the_session_folders_and_objects_it_stands_on() {
        let d = tmpdir("adopt");
        let mut j = Journal::open(&d).unwrap();
        let session = Owner {
            pid: 1,
            start: 12345,
        };
        let dir = |p: &str| Resource::Dir { path: p.into() };
        let pin = |p: &str| Resource::Pin { path: p.into() };
        // a session made these
        for r in [
            dir("/b/links"),
            dir("/b/links/sut"),
            dir("/b/links/clt"),
            dir("/b/maps/system"),
            pin("/b/maps/system/vm"),
            pin("/b/maps/lab/counter"),
        ] {
            j.append(&Record::Add {
                res: r,
                owner: session,
                life: Lifetime::Session,
            })
            .unwrap();
        }
        // this operation makes a pin in the session's folder, and uses the system maps
        j.add(pin("/b/links/sut/loader"), Lifetime::Provisional)
            .unwrap();
        j.commit_adopting(Lifetime::Persistent, &|p| p.starts_with("/b/maps/system"))
            .unwrap();
        let me = j.owner();
        let of = |j: &Journal, r: &Resource| {
            j.entries()
                .unwrap()
                .into_iter()
                .find(|e| &e.res == r)
                .map(|e| (e.owner == me, e.life))
                .unwrap()
        };
        for r in [
            dir("/b/links"),
            dir("/b/links/sut"),
            dir("/b/maps/system"),
            pin("/b/maps/system/vm"),
            pin("/b/links/sut/loader"),
        ] {
            assert_eq!(of(&j, &r), (true, Lifetime::Persistent), "{r}");
        }
        for r in [dir("/b/links/clt"), pin("/b/maps/lab/counter")] {
            assert_eq!(of(&j, &r), (false, Lifetime::Session), "{r}");
        }
        // a session's own commit adopts nothing; compaction keeps what was adopted
        j.commit(Lifetime::Session).unwrap();
        j.compact().unwrap();
        assert_eq!(of(&j, &dir("/b/links")), (true, Lifetime::Persistent));
        assert_eq!(j.entries().unwrap().len(), 7);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn dead_owner_makes_leftovers() {
        let e = Entry {
            res: Resource::Dir { path: "/x".into() },
            owner: Owner {
                pid: u32::MAX - 1,
                start: 1,
            },
            life: Lifetime::Session,
        };
        assert!(e.is_leftover());
        let p = Entry {
            life: Lifetime::Persistent,
            ..e.clone()
        };
        assert!(!p.is_leftover());
    }

    #[test]
    fn torn_last_line_is_ignored_but_damage_elsewhere_is_reported() {
        let d = tmpdir("torn");
        std::fs::create_dir_all(&d).unwrap();
        let good = r#"{"op":"add","res":{"kind":"dir","path":"/x"},"owner":{"pid":1,"start":1},"life":"persistent"}"#;
        std::fs::write(d.join("journal"), format!("{good}\n{{\"op\":\"ad")).unwrap();
        let j = Journal::open(&d).unwrap();
        assert_eq!(j.entries().unwrap().len(), 1);
        drop(j);
        std::fs::write(d.join("journal"), format!("garbage\n{good}\n")).unwrap();
        let j = Journal::open(&d).unwrap();
        assert!(matches!(
            j.entries(),
            Err(JournalError::Corrupt { line: 1, .. })
        ));
        std::fs::remove_dir_all(&d).unwrap();
    }
    /// A torn last line (a full disk, a power cut) and then the next command's records: the
    /// journal stays readable, with the new records (appended to the torn line, they made
    /// every later command fail on a "damaged" journal).
    #[test]
    fn records_after_a_torn_last_line_are_read() {
        let d = tmpdir("torn-then");
        std::fs::create_dir_all(&d).unwrap();
        let good = r#"{"op":"add","res":{"kind":"dir","path":"/x"},"owner":{"pid":1,"start":1},"life":"persistent"}"#;
        std::fs::write(
            d.join("journal"),
            format!("{good}\n{{\"op\":\"add\",\"res\":{{\"ki"),
        )
        .unwrap();
        let mut j = Journal::open(&d).unwrap();
        let y = Resource::Dir { path: "/y".into() };
        j.add(y.clone(), Lifetime::Persistent).unwrap();
        drop(j);
        let mut j = Journal::open(&d).unwrap();
        j.add(Resource::Dir { path: "/z".into() }, Lifetime::Persistent)
            .unwrap();
        j.del(&y).unwrap();
        let paths: Vec<String> = j
            .entries()
            .unwrap()
            .into_iter()
            .map(|e| e.res.to_string())
            .collect();
        assert_eq!(paths, ["directory /x", "directory /z"]);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
