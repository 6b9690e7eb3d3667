//! The system's side of a classroom (`eclat-lab classroom`): the rosters in
//! `/etc/eclat-lab/classroom`, the learners' Unix users (`useradd`, `chpasswd`, `userdel`),
//! their login files, the sudoers drop-in (checked with `visudo -cf` before it is put in
//! place), and, at the start of every run under `sudo`, which learner's lab the caller may
//! drive. What goes where and the files' text are decided by `eclat_model::classroom`.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use eclat_model::classroom::{self as plan, Learner, ROSTER_DIR, Roster, STATE_BASE, USER_COMMENT};

use crate::perms;

#[derive(Debug, thiserror::Error)]
pub enum ClassroomError {
    #[error(
        "{path} is {why}: a roster must be root's and writable by root alone, or anyone could \
         give themselves another learner's lab. Fix it (`sudo chown root:root {path} && sudo \
         chmod go-w {path}`) or remove it with the classroom it describes"
    )]
    Uncontrolled { path: PathBuf, why: String },
    #[error("{path}: {err}")]
    Roster {
        path: PathBuf,
        err: eclat_model::classroom::PlanError,
    },
    #[error(
        "user `{user}` already exists and `classroom up` did not create it: a classroom never \
         takes over an account. Choose another prefix (`--prefix`)"
    )]
    Foreign { user: String },
    #[error("`{cmd}` failed: {out}")]
    Tool { cmd: String, out: String },
    #[error("{what} {path}: {err}")]
    Io {
        what: &'static str,
        path: PathBuf,
        err: std::io::Error,
    },
}

type Result<T> = std::result::Result<T, ClassroomError>;

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ClassroomError {
    let path = path.to_path_buf();
    move |err| ClassroomError::Io { what, path, err }
}

/// Checks that `path` is root's and writable by nobody else (a folder or a file).
fn check_root_only(path: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(path).map_err(io("reading", path))?;
    let why = if meta.file_type().is_symlink() {
        Some("a symbolic link".to_string())
    } else if meta.uid() != 0 {
        Some(format!("owned by uid {}", meta.uid()))
    } else if meta.mode() & 0o022 != 0 {
        Some(format!(
            "writable by others (mode {:04o})",
            meta.mode() & 0o7777
        ))
    } else {
        None
    };
    match why {
        Some(why) => Err(ClassroomError::Uncontrolled {
            path: path.to_path_buf(),
            why,
        }),
        None => Ok(()),
    }
}

/// Where `classroom up` and `down` take turns (root's, 0600).
pub const LOCK_PATH: &str = "/run/eclat-lab-classroom.lock";

/// Waits for the other `classroom up` and `down` commands of this machine to end and keeps
/// them waiting while the returned file is open: the rosters and the folders they share
/// change one command at a time.
pub fn lock() -> Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let p = Path::new(LOCK_PATH);
    let f = perms::open_file(p, perms::LOCK_MODE, false).map_err(io("opening", p))?;
    loop {
        // SAFETY: flock(2) on a descriptor this function owns
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(f);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(io("locking", p)(e));
        }
    }
}

/// Whether this process runs as root (what creating users and rosters needs).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Every classroom's roster (none when the folder does not exist). Each file and the folder
/// must be root's and writable by root alone.
pub fn rosters() -> Result<Vec<Roster>> {
    let dir = Path::new(ROSTER_DIR);
    if std::fs::symlink_metadata(dir).is_err() {
        return Ok(Vec::new());
    }
    check_root_only(dir)?;
    check_root_only(dir.parent().expect("the roster folder has a parent"))?;
    let mut out = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io("reading", dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    names.sort();
    for p in names {
        out.push(read_roster_file(&p)?);
    }
    Ok(out)
}

fn read_roster_file(p: &Path) -> Result<Roster> {
    check_root_only(p)?;
    let text = std::fs::read_to_string(p).map_err(io("reading", p))?;
    Roster::parse(&text).map_err(|err| ClassroomError::Roster {
        path: p.to_path_buf(),
        err,
    })
}

/// Classroom `prefix`'s roster, if it exists.
pub fn roster(prefix: &str) -> Result<Option<Roster>> {
    let p = plan::roster_path(prefix);
    if std::fs::symlink_metadata(&p).is_err() {
        return Ok(None);
    }
    let dir = Path::new(ROSTER_DIR);
    check_root_only(dir)?;
    read_roster_file(&p).map(Some)
}

/// Makes the folders a classroom needs that are missing (the rosters' folder, 0700, below
/// /etc/eclat-lab; the labs' states' folder): returns the ones it made, in order.
pub fn make_folders() -> Result<Vec<PathBuf>> {
    let mut made = Vec::new();
    let roster_dir = Path::new(ROSTER_DIR);
    for (d, mode) in [
        (roster_dir.parent().expect("a parent"), perms::DIR_MODE),
        (roster_dir, 0o700),
        (
            Path::new(STATE_BASE).parent().expect("a parent"),
            perms::DIR_MODE,
        ),
        (Path::new(STATE_BASE), perms::DIR_MODE),
    ] {
        if let Some(p) = d.parent() {
            perms::make_dirs(p, perms::DIR_MODE).map_err(io("creating", p))?;
        }
        if perms::make_dir(d, mode).map_err(io("creating", d))? {
            made.push(d.to_path_buf());
        }
    }
    Ok(made)
}

/// Removes the folders `make_folders` made, last first, each only when it is empty.
pub fn remove_folders(made: &[PathBuf]) {
    for d in made.iter().rev() {
        let _ = std::fs::remove_dir(d);
    }
}

/// Writes a roster (atomically, 0600: it holds the passwords) in its folder, which must be
/// there (`make_folders`) and root's alone.
pub fn write_roster(r: &Roster) -> Result<()> {
    let dir = Path::new(ROSTER_DIR);
    check_root_only(dir)?;
    let p = plan::roster_path(&r.prefix);
    perms::write_file_durable(&p, r.to_toml().as_bytes(), 0o600).map_err(io("writing", &p))
}

/// Removes a classroom's roster.
pub fn remove_roster(prefix: &str) -> Result<()> {
    remove_file(&plan::roster_path(prefix))
}

/// Runs a tool of the system's (`useradd`, `visudo`, ...), again while it says another
/// process holds the password database's lock (a few seconds at most).
fn run(cmd: &mut Command, input: Option<&str>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match run_once(cmd, input) {
            Err(ClassroomError::Tool { out, .. })
                if out.contains("lock") && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(100));
            }
            r => return r,
        }
    }
}

fn run_once(cmd: &mut Command, input: Option<&str>) -> Result<()> {
    let show = format!("{cmd:?}").replace('"', "");
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let tool = |e: std::io::Error| ClassroomError::Tool {
        cmd: show.clone(),
        out: e.to_string(),
    };
    let mut child = cmd.spawn().map_err(tool)?;
    if let Some(text) = input {
        let mut stdin = child.stdin.take().expect("piped");
        stdin.write_all(text.as_bytes()).map_err(tool)?;
    }
    let out = child.wait_with_output().map_err(tool)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ClassroomError::Tool {
            cmd: show.clone(),
            out: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
            .trim()
            .to_string(),
        })
    }
}

/// The user's uid and comment (GECOS), if the user exists.
pub fn user(name: &str) -> Option<(u32, String)> {
    let u = nix::unistd::User::from_name(name).ok()??;
    Some((u.uid.as_raw(), u.gecos.to_string_lossy().into_owned()))
}

/// The home of user `name` (from the password database), or `/home/NAME`.
pub fn home_of(name: &str) -> PathBuf {
    nix::unistd::User::from_name(name)
        .ok()
        .flatten()
        .map(|u| u.dir)
        .unwrap_or_else(|| Path::new(plan::HOME_BASE).join(name))
}

fn comment(prefix: &str) -> String {
    format!("{USER_COMMENT} {prefix}")
}

/// Refuses a user name that exists already (a classroom never takes over an account).
pub fn check_free(name: &str) -> Result<()> {
    match user(name) {
        Some(_) => Err(ClassroomError::Foreign {
            user: name.to_string(),
        }),
        None => Ok(()),
    }
}

/// Creates learner `l`'s user (its home made from /etc/skel, a group of its own, bash),
/// sets its password and writes its login files as the learner (and its progress file, to
/// open the tutorial on lesson `lesson`, an id). Returns the uid.
pub fn create_user(prefix: &str, l: &Learner, binary: &Path, lesson: Option<&str>) -> Result<u32> {
    check_free(&l.user)?;
    run(
        Command::new("useradd")
            .args(["--create-home", "--user-group", "--shell", "/bin/bash"])
            .arg("--home-dir")
            .arg(&l.home)
            .args(["--comment", &comment(prefix)])
            .arg(&l.user),
        None,
    )?;
    let (uid, _) = user(&l.user).ok_or_else(|| ClassroomError::Tool {
        cmd: "useradd".into(),
        out: format!("user {} not found after it was created", l.user),
    })?;
    run(
        &mut Command::new("chpasswd"),
        Some(&format!("{}:{}\n", l.user, l.password)),
    )?;
    let gid = nix::unistd::User::from_name(&l.user)
        .ok()
        .flatten()
        .map(|u| u.gid.as_raw())
        .unwrap_or(uid);
    let files = [
        (l.home.join(".bash_profile"), plan::bash_profile(binary)),
        (l.home.join(".bash_aliases"), plan::bash_aliases(binary)),
    ];
    perms::as_user(uid, gid, || {
        for (p, text) in &files {
            std::fs::write(p, text).map_err(io("writing", p))?;
        }
        if let Some(id) = lesson {
            if let Some(dir) = l.progress.parent() {
                std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
            }
            std::fs::write(&l.progress, plan::first_progress(id))
                .map_err(io("writing", &l.progress))?;
        }
        Ok(())
    })
    .map_err(io("taking the rights of", &l.home))??;
    Ok(uid)
}

/// Deletes learner `l`'s user and home, only if the user is still the one `classroom up`
/// made (its comment names the classroom; its uid is the recorded one, when recorded).
/// Returns false when there was no such user to delete.
pub fn delete_user(prefix: &str, l: &Learner) -> Result<bool> {
    let Some((uid, gecos)) = user(&l.user) else {
        return Ok(false);
    };
    if gecos != comment(prefix) || l.uid.is_some_and(|u| u != uid) {
        return Err(ClassroomError::Foreign {
            user: l.user.clone(),
        });
    }
    stop_processes(uid);
    run(Command::new("userdel").arg("--remove").arg(&l.user), None).or_else(|e| {
        // userdel complains when there is no mail spool to remove: the user is gone anyway
        if user(&l.user).is_none() {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    Ok(true)
}

/// While it lives, this process is a child subreaper (`PR_SET_CHILD_SUBREAPER`) and a thread
/// reaps, every 10 ms, those of the learners' processes it was given that have become its
/// children: for a harness that logs learners in (the bench's `su -` in a pseudo-terminal).
/// Closing such a terminal kills its `su`, which orphans the learner's login shell; left to
/// init, the shell's zombie can stay seconds (about 2 s on the project's VM), and `classroom
/// down`, whose `userdel` refuses while a process of the learner exists, waits for it. A real
/// login (sshd, login) reaps its shell at once, as this does. Only the given processes are
/// waited for, so no `std::process::Child`'s status is taken from it.
pub struct OrphanReaper {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    was_subreaper: bool,
}

impl OrphanReaper {
    /// `pids`: the learners' processes (their login shells among them) before their
    /// terminals close.
    pub fn start(mut pids: Vec<u32>) -> std::io::Result<OrphanReaper> {
        use nix::errno::Errno;
        use nix::sys::prctl;
        use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
        use std::sync::atomic::{AtomicBool, Ordering};
        let was = prctl::get_child_subreaper().unwrap_or(false);
        prctl::set_child_subreaper(true).map_err(std::io::Error::from)?;
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("classroom-reaper".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) && !pids.is_empty() {
                    pids.retain(|&p| {
                        match waitpid(
                            nix::unistd::Pid::from_raw(p as i32),
                            Some(WaitPidFlag::WNOHANG),
                        ) {
                            // a child of ours, still running
                            Ok(WaitStatus::StillAlive) => true,
                            // reaped
                            Ok(_) => false,
                            // not (yet) our child: keep it while it exists
                            Err(Errno::ECHILD) => Path::new(&format!("/proc/{p}")).exists(),
                            Err(_) => false,
                        }
                    });
                    std::thread::sleep(Duration::from_millis(10));
                }
            })?;
        Ok(OrphanReaper {
            stop,
            thread: Some(thread),
            was_subreaper: was,
        })
    }
}

impl Drop for OrphanReaper {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if !self.was_subreaper {
            let _ = nix::sys::prctl::set_child_subreaper(false);
        }
    }
}

/// The processes of uid `uid` (as their real, effective, saved or file-system user: sudo
/// included), and the lab's processes run through sudo for that uid (the learner's tutorial,
/// which runs as root): pids.
pub fn processes_of(uid: u32) -> Vec<i32> {
    let me = std::process::id() as i32;
    let sudo_uid = format!("SUDO_UID={uid}");
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let p = e.path();
        // any of its user ids (real, effective, saved, file system): sudo, setuid root, keeps
        // the learner's as its real one, and `userdel` refuses while it runs
        let Ok(status) = std::fs::read_to_string(p.join("status")) else {
            continue;
        };
        let theirs = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .is_some_and(|ids| ids.split_whitespace().any(|i| i.parse() == Ok(uid)))
            || std::fs::read(p.join("environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == sudo_uid.as_bytes()));
        if theirs {
            out.push(pid);
        }
    }
    out
}

/// What [`stop_processes`] did: how many of the learner's processes it found, and how many
/// of them were still there 3 s after the hang-up and had to be killed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stopped {
    pub ended: usize,
    pub forced: usize,
}

/// Ends the learner's processes as a hang-up of their sessions would: SIGTERM, then SIGHUP
/// (the tutorial puts the terminal back on either; an interactive login shell ignores
/// SIGTERM and ends on SIGHUP, passing it to its jobs), then SIGKILL for what is left
/// after 3 s.
pub fn stop_processes(uid: u32) -> Stopped {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let pids = processes_of(uid);
    if pids.is_empty() {
        return Stopped::default();
    }
    for sig in [Signal::SIGTERM, Signal::SIGHUP] {
        for p in &pids {
            let _ = kill(Pid::from_raw(*p), sig);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline && !processes_of(uid).is_empty() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = processes_of(uid);
    for p in &left {
        let _ = kill(Pid::from_raw(*p), Signal::SIGKILL);
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline && !processes_of(uid).is_empty() {
        std::thread::sleep(Duration::from_millis(20));
    }
    Stopped {
        ended: pids.len().max(left.len()),
        forced: left.len(),
    }
}

/// Puts a classroom's sudoers drop-in in place: written beside it under a name sudo skips
/// (with a dot), checked with `visudo -cf`, then renamed over it. An empty text removes it.
pub fn install_sudoers(path: &Path, text: &str) -> Result<()> {
    if text.is_empty() {
        return remove_file(path);
    }
    let dir = path.parent().expect("sudoers.d");
    perms::make_dirs(dir, perms::DIR_MODE).map_err(io("creating", dir))?;
    let tmp = dir.join(format!(
        ".{}.new",
        path.file_name().expect("a file name").to_string_lossy()
    ));
    let _ = std::fs::remove_file(&tmp);
    perms::write_file_durable(&tmp, text.as_bytes(), 0o440).map_err(io("writing", &tmp))?;
    if let Err(e) = run(Command::new("visudo").arg("-cf").arg(&tmp), None) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(io("installing", path))
}

/// Removes a file `classroom up` made (nothing when it is not there).
pub fn remove_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("removing", path)(e)),
    }
}

/// Removes a learner's lab state directory (after its lab was reset), only below the
/// classroom's folder.
pub fn remove_state(l: &Learner) -> Result<()> {
    let base = Path::new(STATE_BASE);
    if l.state.parent() != Some(base) {
        return Ok(());
    }
    match std::fs::remove_dir_all(&l.state) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("removing", &l.state)(e)),
    }
    Ok(())
}

/// Random bytes from the kernel.
pub fn random(n: usize) -> Result<Vec<u8>> {
    let mut b = vec![0u8; n];
    let mut filled = 0;
    while filled < n {
        // SAFETY: getrandom(2) writes at most `n - filled` bytes into the buffer
        let r = unsafe { libc::getrandom(b[filled..].as_mut_ptr().cast(), n - filled, 0) };
        if r < 0 {
            return Err(io("reading random bytes", Path::new("getrandom"))(
                std::io::Error::last_os_error(),
            ));
        }
        filled += r as usize;
    }
    Ok(b)
}

/// When this process runs as root through `sudo` for a user a classroom's roster lists (the
/// uid sudo reports is the recorded one, and so is the name): that learner. The binary then
/// uses their lab whatever the environment says. A roster that cannot be trusted or read
/// is an error for everyone who runs the lab through sudo (a learner must not escape their
/// lab because a roster is broken).
pub fn sudo_learner() -> Result<Option<Learner>> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let Some(uid) = std::env::var("SUDO_UID")
        .ok()
        .and_then(|u| u.parse::<u32>().ok())
        .filter(|u| *u != 0)
    else {
        return Ok(None);
    };
    // the name of that uid in the password database (SUDO_USER is sudo's word for the same)
    let Some(name) = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
    else {
        return Ok(None);
    };
    for r in rosters()? {
        if let Some(l) = r.find(&name, uid) {
            return Ok(Some(l.clone()));
        }
    }
    Ok(None)
}

/// What `perms::confine` needs for learner `l`: their uid, gid and groups.
pub fn confinement(l: &Learner) -> Option<perms::Confined> {
    let u = nix::unistd::User::from_name(&l.user).ok()??;
    let cname = std::ffi::CString::new(l.user.as_str()).ok()?;
    let groups = nix::unistd::getgrouplist(&cname, u.gid)
        .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
        .unwrap_or_else(|_| vec![u.gid.as_raw()]);
    Some(perms::Confined {
        user: l.user.clone(),
        uid: u.uid.as_raw(),
        gid: u.gid.as_raw(),
        groups,
    })
}

#[cfg(test)]
mod reaper_tests {
    use super::*;

    /// A login shell orphaned by its `su` (here: a `sleep` whose `sh` ends) becomes the
    /// reaper's process's child and is reaped as soon as it ends, not left to init.
    #[test]
    fn an_orphaned_learner_process_is_reaped_at_once() {
        use std::io::{BufRead, BufReader, Write};
        let mut sh = Command::new("sh")
            .args(["-c", "sleep 0.5 & echo $!; read _"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(sh.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let orphan: u32 = line.trim().parse().unwrap();
        let _reaper = OrphanReaper::start(vec![orphan]).unwrap();
        writeln!(sh.stdin.take().unwrap()).unwrap();
        sh.wait().unwrap();
        let ppid = || {
            std::fs::read_to_string(format!("/proc/{orphan}/status"))
                .ok()?
                .lines()
                .find_map(|l| l.strip_prefix("PPid:"))?
                .trim()
                .parse::<u32>()
                .ok()
        };
        // orphaned now: its parent is this process, the subreaper
        assert_eq!(ppid(), Some(std::process::id()));
        // it ends after 0.5 s and its zombie goes at once (within 5 s on a loaded machine;
        // unreaped, it would stay this process's zombie until the test ends)
        let until = Instant::now() + Duration::from_secs(5);
        while Path::new(&format!("/proc/{orphan}")).exists() {
            assert!(Instant::now() < until, "the orphan {orphan} was not reaped");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
