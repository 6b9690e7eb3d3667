//! Who controls the lab's own files and folders. The lab runs as root and trusts its state
//! directory and its bpffs root: both must be root's and writable by root alone, or another
//! local user could rename, replace or add what the lab later reads and acts on (bpffs is
//! mounted 1777, so anyone may pre-create the lab's root). Everything the lab creates gets
//! an explicit mode, whatever the umask.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Folders of the lab (state directory, bpffs folders): root's, readable by all.
pub const DIR_MODE: u32 = 0o755;
/// The journal and state files: root's, readable by all.
pub const FILE_MODE: u32 = 0o644;
/// The lock file: root's alone (whoever can open it can `flock` it).
pub const LOCK_MODE: u32 = 0o600;

/// A folder the lab would trust that someone else controls.
#[derive(Debug, thiserror::Error)]
#[error(
    "{what} {path} is {why}: another local user could change what the lab keeps there, so the \
     lab does not use it. Fix it with `sudo chown root:root {path} && sudo chmod 0755 {path}` \
     (or remove it: the lab makes it again), or point {var} at a folder of root's"
)]
pub struct Uncontrolled {
    pub what: &'static str,
    pub path: PathBuf,
    pub why: String,
    pub var: &'static str,
}

/// Checks that `path` (if it exists) is a real folder owned by the lab's user (root) and
/// writable by nobody else. `what` and `var` name it in the message (`the lab's state
/// directory`, `ECLAT_LAB_STATE`).
pub fn check_controlled(
    path: &Path,
    what: &'static str,
    var: &'static str,
) -> Result<(), Uncontrolled> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(_) => return Ok(()),
    };
    let me = nix::unistd::geteuid().as_raw();
    let why = if meta.file_type().is_symlink() {
        Some("a symbolic link".to_string())
    } else if !meta.is_dir() {
        Some("not a folder".to_string())
    } else if meta.uid() != me {
        Some(format!(
            "owned by uid {} (not by uid {me}, the lab's)",
            meta.uid()
        ))
    } else if meta.mode() & 0o022 != 0 {
        Some(format!(
            "writable by {} (mode {:04o})",
            if meta.mode() & 0o002 != 0 {
                "every user"
            } else {
                "its group"
            },
            meta.mode() & 0o7777
        ))
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(Uncontrolled {
            what,
            path: path.to_path_buf(),
            why,
            var,
        }),
    }
}

/// Takes write permission for the group and others out of the process's umask (keeping
/// whatever else it masks), once, at the start of the binary: what the lab, its threads and
/// the tools it runs (clang, bpftool, the kernel for a socket) create without an explicit mode
/// is then never writable by another user, whatever umask the lab was started with (under
/// `umask 000`, the HIKe instances of `test` and the checks came out 0777 below the lab's
/// root, and the headers `module build` compiles with 0666).
pub fn no_write_for_others() {
    use nix::sys::stat::{Mode, umask};
    let old = umask(Mode::from_bits_truncate(0o022));
    umask(old | Mode::from_bits_truncate(0o022));
}

/// Creates folder `path` with `mode` exactly (not masked by the umask). Returns whether it
/// made it (false: it was there).
pub fn make_dir(path: &Path, mode: u32) -> io::Result<bool> {
    match std::fs::DirBuilder::new().mode(mode).create(path) {
        Ok(()) => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Creates `path` and its missing parents, each with `mode` exactly.
pub fn make_dirs(path: &Path, mode: u32) -> io::Result<()> {
    let mut todo = Vec::new();
    let mut d = path.to_path_buf();
    while std::fs::symlink_metadata(&d).is_err() {
        todo.push(d.clone());
        if !d.pop() {
            break;
        }
    }
    for d in todo.into_iter().rev() {
        make_dir(&d, mode)?;
    }
    Ok(())
}

/// Opens (creating it with `mode`, exactly) a file of the lab's: never through a symbolic
/// link; an existing file gets `mode` too.
pub fn open_file(path: &Path, mode: u32, append: bool) -> io::Result<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(!append)
        .append(append)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    if f.metadata()?.mode() & 0o7777 != mode {
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    Ok(f)
}

/// Writes a state file of the lab (the HIKe store, the topology's record) atomically: a new
/// file with `mode`, renamed over the old, so a reader sees the old or the new file whole.
/// Not synced to the disk, like the journal: what these files describe (pins, namespaces,
/// stored chains) does not outlive a power cut either, and after one the next start drops them
/// (the store when its HIKe instance is gone, the topology's record when its namespaces are).
/// A sync costs 5-10 ms here, more on a busy disk, and a check writes such files about seven
/// times in its scratch labs.
pub fn write_file(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    write_file_with(path, data, mode, false)
}

/// [`write_file`] for what outlives a reboot (a classroom's roster, its sudoers file): synced
/// to the disk before the rename.
pub fn write_file_durable(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    write_file_with(path, data, mode, true)
}

fn write_file_with(path: &Path, data: &[u8], mode: u32, durable: bool) -> io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp-write");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))?;
    f.write_all(data)?;
    if durable {
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// The user who ran the lab with `sudo` (`SUDO_UID`, `SUDO_GID`), when the lab runs as root
/// on behalf of another user.
pub fn invoking_user() -> Option<(u32, u32)> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let uid: u32 = std::env::var("SUDO_UID").ok()?.parse().ok()?;
    let gid: u32 = std::env::var("SUDO_GID").ok()?.parse().ok()?;
    (uid != 0).then_some((uid, gid))
}

/// A learner of a classroom (`eclat-lab classroom`) running the lab through `sudo`: the
/// commands the lab runs for them in a node (`exec`, a check's observer) run with their own
/// uid, gid and groups, never as root (root in a node's namespace is root on the machine,
/// every other learner's lab included). Set once, at the start, by the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confined {
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    /// the user's supplementary groups
    pub groups: Vec<u32>,
}

static CONFINED: std::sync::OnceLock<Confined> = std::sync::OnceLock::new();

/// Confines this process's `exec` to `who` (the first call wins; there is no way back).
pub fn confine(who: Confined) {
    let _ = CONFINED.set(who);
}

/// The learner this process runs for, when it is confined.
pub fn confined() -> Option<&'static Confined> {
    CONFINED.get()
}

/// Runs `f` with the rights of the user who ran `sudo`, on a thread of its own whose
/// effective uid and gid are theirs (Linux credentials belong to a thread; the raw
/// syscalls change only the calling one): what `f` creates is theirs from the start, and a
/// symbolic link in their folders lets it do nothing they could not do themselves. Nothing
/// is ever chowned. Without `sudo`, `f` runs as it is, here.
pub fn as_invoking_user<T: Send>(f: impl FnOnce() -> T + Send) -> io::Result<T> {
    let Some((uid, gid)) = invoking_user() else {
        return Ok(f());
    };
    as_user(uid, gid, f)
}

/// Opens a file a command reads on the invoking user's behalf (a script, a topology file, a
/// capture, an object or source they name) with their rights under `sudo`: a file they could
/// not read themselves (`/etc/shadow`, another learner's) is refused as it would be to them,
/// instead of being read by root and quoted back in a diagnostic. As root without sudo, a
/// plain open.
pub fn open_as_invoking_user(path: &Path) -> io::Result<std::fs::File> {
    as_invoking_user(|| std::fs::File::open(path))?
}

/// Reads a whole file the invoking user names, with their rights (see
/// [`open_as_invoking_user`]).
pub fn read_as_invoking_user(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut data = Vec::new();
    open_as_invoking_user(path)?.read_to_end(&mut data)?;
    Ok(data)
}

/// Reads a whole text file the invoking user names, with their rights (see
/// [`open_as_invoking_user`]).
pub fn read_to_string_as_invoking_user(path: &Path) -> io::Result<String> {
    String::from_utf8(read_as_invoking_user(path)?)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Runs `f` on a thread of its own whose effective uid and gid are `uid` and `gid` (no
/// supplementary groups): what it creates is that user's, and it can do nothing they could
/// not (`classroom up` writes a learner's login files this way).
pub fn as_user<T: Send>(uid: u32, gid: u32, f: impl FnOnce() -> T + Send) -> io::Result<T> {
    std::thread::scope(|s| {
        let t = s.spawn(move || -> io::Result<T> {
            let keep = libc::uid_t::MAX; // -1: leave the real and saved ids as they are
            // SAFETY: plain syscalls on this thread's own credentials; no memory is shared
            let failed = unsafe {
                libc::syscall(libc::SYS_setgroups, 0usize, std::ptr::null::<libc::gid_t>()) != 0
                    || libc::syscall(libc::SYS_setresgid, keep, gid, keep) != 0
                    || libc::syscall(libc::SYS_setresuid, keep, uid, keep) != 0
            };
            if failed {
                return Err(io::Error::last_os_error());
            }
            Ok(f())
        });
        match t.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_do_not_follow_the_umask() {
        let d = std::env::temp_dir().join(format!("eclat-perms-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::empty());
        make_dirs(&d.join("a/b"), DIR_MODE).unwrap();
        let f = open_file(&d.join("lock"), LOCK_MODE, false).unwrap();
        write_file(&d.join("state"), b"x", FILE_MODE).unwrap();
        nix::sys::stat::umask(old);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o7777;
        assert_eq!(mode(&d.join("a")), 0o755);
        assert_eq!(mode(&d.join("a/b")), 0o755);
        assert_eq!(f.metadata().unwrap().mode() & 0o7777, 0o600);
        assert_eq!(mode(&d.join("state")), 0o644);
        // a folder others can write is refused, with how to fix it
        std::fs::set_permissions(d.join("a"), std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = check_controlled(&d.join("a"), "the lab's state directory", "ECLAT_LAB_STATE")
            .unwrap_err()
            .to_string();
        assert!(e.contains("writable by every user (mode 0777)"), "{e}");
        assert!(e.contains("chmod 0755"), "{e}");
        check_controlled(&d.join("a/b"), "x", "X").unwrap();
        std::os::unix::fs::symlink(d.join("a/b"), d.join("link")).unwrap();
        assert!(
            check_controlled(&d.join("link"), "x", "X")
                .unwrap_err()
                .to_string()
                .contains("symbolic link")
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_sudo_users_files_are_written_as_that_user() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let d = std::env::temp_dir().join(format!("eclat-asuser-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        make_dirs(&d, 0o777).unwrap();
        // a root file the user's link points at: writing "their" file must not reach it
        let root_file = d.join("root-owned");
        std::fs::write(&root_file, "root's").unwrap();
        std::fs::set_permissions(&root_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(&root_file, d.join("exercise.c")).unwrap();
        // SAFETY: tests of this module set these variables only here
        unsafe {
            std::env::set_var("SUDO_UID", "65534");
            std::env::set_var("SUDO_GID", "65534");
        }
        let through_link = as_invoking_user(|| std::fs::write(d.join("exercise.c"), "x")).unwrap();
        let fresh = as_invoking_user(|| std::fs::write(d.join("new.c"), "y")).unwrap();
        unsafe {
            std::env::remove_var("SUDO_UID");
            std::env::remove_var("SUDO_GID");
        }
        assert_eq!(
            through_link.unwrap_err().kind(),
            io::ErrorKind::PermissionDenied
        );
        assert_eq!(std::fs::read_to_string(&root_file).unwrap(), "root's");
        fresh.unwrap();
        let meta = std::fs::metadata(d.join("new.c")).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
        // this thread is still root
        assert!(nix::unistd::geteuid().is_root());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
