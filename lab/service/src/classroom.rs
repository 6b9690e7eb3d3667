//! A classroom on one server (`eclat-lab classroom up/down/status`): N learners, each a Unix
//! user with a lab of their own (state directory, bpffs root, namespace prefix, workspace and
//! progress in their home), allowed by a sudoers drop-in to run the lab's binary as root, the
//! tutorial opening when they log in. Everything `up` makes is recorded in the classroom's
//! roster before it is made, so `down` removes exactly that, and a killed `up` or `down` is
//! finished by running it again. The plan is `eclat_model::classroom`'s; the system's part
//! `eclat_kernel::classroom`'s.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use eclat_kernel::classroom as sys;
use eclat_model::classroom::{self as plan, Learner, Roster};
use serde::Serialize;

use crate::scripts::LoadRequest;
use crate::{Lab, LabEnv, Origin};

/// What `classroom up` is asked for.
#[derive(Debug, Clone)]
pub struct UpRequest {
    /// the learners' user names start with it
    pub prefix: String,
    /// how many learners the classroom has (the missing ones are created)
    pub count: usize,
    /// the topology each new lab is brought up with (None: the lab's default)
    pub topology: Option<String>,
    /// an eCLAT script loaded in each new lab
    pub load: Option<PathBuf>,
    /// the lesson (its id) the new learners' tutorial opens on at their first login
    pub lesson: Option<String>,
}

/// One learner as `classroom` commands show them.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LearnerView {
    /// the Unix user name
    pub user: String,
    /// the password `classroom up` set (learners may change it with `passwd`)
    pub password: String,
    /// the user's uid; null when it does not exist (any more)
    pub uid: Option<u32>,
    /// the lab's network namespace prefix (ECLAT_LAB_NS_PREFIX)
    pub ns_prefix: String,
    /// the lab's state directory (ECLAT_LAB_STATE)
    pub state: PathBuf,
    /// the lab's bpffs root (ECLAT_LAB_BPFFS)
    pub bpffs: PathBuf,
    /// whether the lab has a topology up
    pub topology_up: bool,
    /// how many processes run as the learner or for them through sudo (0: not logged in)
    pub processes: usize,
}

/// The result of `classroom up`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ClassroomUp {
    /// the classroom's prefix
    pub prefix: String,
    /// its roster (root's, 0600)
    pub roster: PathBuf,
    /// its sudoers drop-in
    pub sudoers: PathBuf,
    /// the users this run created
    pub created: Vec<String>,
    /// every learner of the classroom, the ones there before included
    pub learners: Vec<LearnerView>,
    /// the labs brought up by this run (topology, and the script when one was given): the
    /// new learners', and any without a topology up
    pub labs_up: usize,
    /// wall time to bring those labs up, all at once, in milliseconds (0 when none was)
    pub labs_ms: u64,
    /// wall time of the whole command, in milliseconds
    pub total_ms: u64,
}

/// The result of `classroom down`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ClassroomDown {
    /// the classroom's prefix
    pub prefix: String,
    /// the users deleted, with their homes
    pub deleted: Vec<String>,
    /// the labs reset and their state directories removed
    pub labs_reset: usize,
    /// files removed: the sudoers drop-in and the roster
    pub files: Vec<PathBuf>,
    /// the learners' processes ended (their login shells, tutorials and what they ran)
    pub processes_ended: usize,
    /// of those, the ones still running 3 s after the hang-up, killed
    pub processes_killed: usize,
    /// wall time of the whole command, in milliseconds
    pub total_ms: u64,
}

/// The result of `classroom status`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ClassroomStatus {
    /// every classroom on this machine (none with `--vms`)
    pub classrooms: Vec<ClassroomView>,
    /// the classrooms of VMs (`classroom up N --vms`) of the lab's repository, each VM's
    /// state from `vagrant status`
    pub vm_classrooms: Vec<crate::vm_classroom::VmClassroomView>,
}

/// One classroom in `classroom status`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ClassroomView {
    /// the classroom's prefix
    pub prefix: String,
    /// the binary its learners run as root
    pub binary: PathBuf,
    /// its learners
    pub learners: Vec<LearnerView>,
}

/// A learner's lab, as the lab reads it from the environment.
pub fn lab_env(l: &Learner) -> LabEnv {
    LabEnv {
        state_dir: l.state.clone(),
        bpffs_root: l.bpffs.clone(),
        ns_prefix: l.ns_prefix.clone(),
    }
}

fn view(l: &Learner) -> LearnerView {
    let uid = sys::user(&l.user)
        .map(|(u, _)| u)
        .filter(|u| l.uid == Some(*u));
    LearnerView {
        user: l.user.clone(),
        password: l.password.clone(),
        uid,
        ns_prefix: l.ns_prefix.clone(),
        state: l.state.clone(),
        bpffs: l.bpffs.clone(),
        topology_up: lab_env(l).topology_state_path().exists(),
        processes: uid.map(|u| sys::processes_of(u).len()).unwrap_or(0),
    }
}

fn need_root(what: &str) -> Result<()> {
    if !sys::is_root() {
        return Err(crate::NeedsRoot {
            what: format!("classroom {what}"),
        }
        .into());
    }
    Ok(())
}

/// The binary learners will run: this one, resolved, which must be root's and writable by
/// root alone (with every folder above it), or a learner could replace what sudo runs.
pub fn this_binary() -> Result<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let bin = std::env::current_exe()
        .context("finding this binary")?
        .canonicalize()
        .context("resolving this binary's path")?;
    let mut p: &Path = &bin;
    loop {
        let m = std::fs::metadata(p).with_context(|| format!("reading {}", p.display()))?;
        if m.uid() != 0 || m.mode() & 0o022 != 0 {
            bail!(
                "{} is not root's or is writable by others (uid {}, mode {:04o}): learners run \
                 this binary as root, so it and every folder above it must be root's alone. \
                 Install the lab with `sudo ./setup.sh` (it goes to /usr/local/bin) and run \
                 `sudo eclat-lab classroom up` from there",
                p.display(),
                m.uid(),
                m.mode() & 0o7777
            );
        }
        match p.parent() {
            Some(parent) => p = parent,
            None => break,
        }
    }
    Ok(bin)
}

/// `classroom up`: creates the learners the classroom lacks (users, homes, login files),
/// then its sudoers drop-in, then brings the new learners' labs up, all at once.
pub async fn up(req: UpRequest) -> Result<ClassroomUp> {
    need_root("up")?;
    let t0 = Instant::now();
    // one `classroom up` or `down` at a time on this machine
    let _turn = tokio::task::spawn_blocking(sys::lock).await??;
    let req2 = req.clone();
    let (roster, created) = tokio::task::spawn_blocking(move || create(&req2))
        .await
        .context("the classroom's setup stopped")??;
    // the labs without a topology up (the new ones, and any a killed run left), all at once
    let t1 = Instant::now();
    let new: Vec<Learner> = roster
        .learners
        .iter()
        .filter(|l| !lab_env(l).topology_state_path().exists())
        .cloned()
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for l in new.clone() {
        let topology = req.topology.clone();
        let load = req.load.clone();
        tasks.spawn(async move {
            let lab = Lab::new(lab_env(&l), Origin::Cli);
            let r: Result<()> = async {
                lab.recover().await?;
                lab.topo_up(topology, crate::topo::Replace::No).await?;
                if let Some(file) = load {
                    lab.load(LoadRequest {
                        file,
                        defines: Vec::new(),
                        replace: false,
                    })
                    .await?;
                }
                Ok(())
            }
            .await;
            r.with_context(|| format!("bringing up {}'s lab", l.user))
        });
    }
    let mut failed = Vec::new();
    while let Some(r) = tasks.join_next().await {
        if let Err(e) = r.context("a lab's task")? {
            failed.push(format!("{e:#}"));
        }
    }
    if !failed.is_empty() {
        bail!(
            "the learners were created, but {} of {} labs did not come up (`classroom up` again \
             retries them; `classroom down --prefix {}` removes the classroom):\n{}",
            failed.len(),
            new.len(),
            roster.prefix,
            failed.join("\n")
        );
    }
    let labs_ms = if new.is_empty() {
        0
    } else {
        t1.elapsed().as_millis() as u64
    };
    let learners = roster.learners.iter().map(view).collect();
    Ok(ClassroomUp {
        roster: plan::roster_path(&roster.prefix),
        sudoers: roster.sudoers.clone(),
        prefix: roster.prefix,
        created,
        learners,
        labs_up: new.len(),
        labs_ms,
        total_ms: t0.elapsed().as_millis() as u64,
    })
}

/// The system's part of `up`: returns the roster and the users it created. Also the
/// learners a killed run recorded but did not finish are created (and their labs brought
/// up) now.
fn create(req: &UpRequest) -> Result<(Roster, Vec<String>)> {
    let mut roster = match sys::roster(&req.prefix)? {
        Some(r) => r,
        None => {
            let mut r = Roster::new(&req.prefix, &this_binary()?)?;
            r.made = sys::make_folders()?;
            // the folders it made are recorded before anything else is
            sys::write_roster(&r)?;
            r
        }
    };
    let wanted = plan::user_names(&req.prefix, req.count)?;
    // a name taken by an account this classroom did not make: refused before anything
    for u in roster.missing(req.count)? {
        sys::check_free(&u)?;
    }
    let mut created = Vec::new();
    for user in &wanted {
        let i = match roster.learners.iter().position(|l| &l.user == user) {
            Some(i) if roster.learners[i].uid.is_some() => continue,
            Some(i) => {
                // recorded by a run that was killed before the user was made, or after
                if sys::user(user).is_some() {
                    sys::delete_user(&roster.prefix, &roster.learners[i])?;
                }
                i
            }
            None => {
                let l = Learner {
                    password: plan::password(&sys::random(10)?),
                    ..plan::learner(user)
                };
                roster.learners.push(l);
                // recorded before the user exists
                sys::write_roster(&roster)?;
                roster.learners.len() - 1
            }
        };
        let uid = sys::create_user(
            &roster.prefix,
            &roster.learners[i],
            &roster.binary,
            req.lesson.as_deref(),
        )?;
        roster.learners[i].uid = Some(uid);
        sys::write_roster(&roster)?;
        created.push(user.clone());
    }
    sys::install_sudoers(&roster.sudoers, &plan::sudoers(&roster))?;
    Ok((roster, created))
}

/// `classroom down`: for each learner, their processes ended, their lab reset and its state
/// removed, the user and home deleted; then the sudoers drop-in and the roster. Only what
/// the roster records, and a user only while it carries the classroom's comment.
pub async fn down(prefix: String) -> Result<ClassroomDown> {
    need_root("down")?;
    plan::check_prefix(&prefix)?;
    let t0 = Instant::now();
    // one `classroom up` or `down` at a time on this machine
    let _turn = tokio::task::spawn_blocking(sys::lock).await??;
    let Some(mut roster) = sys::roster(&prefix)? else {
        bail!(
            "there is no classroom `{prefix}` on this machine (`eclat-lab classroom status` \
             lists them)"
        );
    };
    // first nobody can start the lab as a learner any more
    let mut files = Vec::new();
    if roster.sudoers.exists() {
        files.push(roster.sudoers.clone());
    }
    sys::install_sudoers(&roster.sudoers, "")?;
    let mut deleted = Vec::new();
    let mut labs_reset = 0;
    // each learner's processes end, then their labs are reset, all at once
    let learners = roster.learners.clone();
    let mut tasks = tokio::task::JoinSet::new();
    for l in learners.clone() {
        tasks.spawn(async move {
            let stopped = match l.uid {
                Some(uid) => tokio::task::spawn_blocking(move || sys::stop_processes(uid)).await?,
                None => sys::Stopped::default(),
            };
            if l.state.exists() {
                let lab = Lab::new(lab_env(&l), Origin::Cli);
                lab.reset()
                    .await
                    .with_context(|| format!("resetting {}'s lab", l.user))?;
                sys::remove_state(&l)?;
                let _ = std::fs::remove_dir(&l.bpffs);
                return Ok::<_, anyhow::Error>((true, stopped));
            }
            Ok((false, stopped))
        });
    }
    let mut failed = Vec::new();
    let (mut processes_ended, mut processes_killed) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        match r.context("a lab's task")? {
            Ok((reset, stopped)) => {
                labs_reset += usize::from(reset);
                processes_ended += stopped.ended;
                processes_killed += stopped.forced;
            }
            Err(e) => failed.push(format!("{e:#}")),
        }
    }
    if !failed.is_empty() {
        bail!(
            "{} labs could not be reset; the users and the roster are kept (`classroom down \
             --prefix {prefix}` again finishes):\n{}",
            failed.len(),
            failed.join("\n")
        );
    }
    for l in learners.iter().rev() {
        let user = l.user.clone();
        let pfx = prefix.clone();
        let l2 = l.clone();
        if tokio::task::spawn_blocking(move || sys::delete_user(&pfx, &l2)).await?? {
            deleted.push(user.clone());
        }
        roster.learners.retain(|x| x.user != user);
        sys::write_roster(&roster)?;
    }
    deleted.reverse();
    sys::remove_roster(&prefix)?;
    files.push(plan::roster_path(&prefix));
    sys::remove_folders(&roster.made);
    // the folders still in use by another classroom go to its roster, which removes them last
    let left: Vec<PathBuf> = roster.made.iter().filter(|d| d.exists()).cloned().collect();
    if !left.is_empty()
        && let Some(mut other) = sys::rosters()?.into_iter().next()
    {
        for d in left {
            if !other.made.contains(&d) {
                other.made.push(d);
            }
        }
        other.made.sort_by_key(|d| d.components().count());
        sys::write_roster(&other)?;
    }
    Ok(ClassroomDown {
        prefix,
        deleted,
        labs_reset,
        files,
        processes_ended,
        processes_killed,
        total_ms: t0.elapsed().as_millis() as u64,
    })
}

/// `classroom status`: every classroom, its learners, their labs and sessions.
pub async fn status() -> Result<ClassroomStatus> {
    need_root("status")?;
    tokio::task::spawn_blocking(|| {
        Ok(ClassroomStatus {
            vm_classrooms: Vec::new(),
            classrooms: sys::rosters()?
                .into_iter()
                .map(|r| ClassroomView {
                    learners: r.learners.iter().map(view).collect(),
                    prefix: r.prefix,
                    binary: r.binary,
                })
                .collect(),
        })
    })
    .await?
}

/// At the start of the binary, before any thread: when it runs as root through `sudo` for a
/// learner of a classroom, their lab is the one the roster records, whatever the environment
/// says (every `ECLAT_LAB_*` variable is dropped and the five of their lab set from the
/// roster), and what the lab runs in a node runs as them. Returns the learner's user name.
///
/// # Safety
/// Changes the process's environment: call it while the process has one thread.
pub unsafe fn confine_sudo_learner() -> Result<Option<String>> {
    let Some(l) = sys::sudo_learner()? else {
        return Ok(None);
    };
    let who = sys::confinement(&l).with_context(|| format!("reading user {}'s groups", l.user))?;
    let ours: Vec<std::ffi::OsString> = std::env::vars_os()
        .map(|(k, _)| k)
        .filter(|k| k.to_string_lossy().starts_with("ECLAT_LAB_"))
        .collect();
    // SAFETY: the caller guarantees that no other thread reads or writes the environment
    unsafe {
        for k in ours {
            std::env::remove_var(k);
        }
        for (k, v) in l.env_vars() {
            std::env::set_var(k, v);
        }
    }
    eclat_kernel::perms::confine(who);
    Ok(Some(l.user))
}

/// The learner this process runs for, when it was confined by [`confine_sudo_learner`].
pub fn confined_learner() -> Option<&'static str> {
    eclat_kernel::perms::confined().map(|c| c.user.as_str())
}

/// For a confined learner (a classroom's, through sudo): checks that they could open `path`
/// for reading themselves (it is opened with their uid, on a thread of its own), so the lab,
/// which runs as root, never shows them a file they may not read (a diagnostic quotes the
/// file's lines). Nothing to check for anyone else, who runs the lab as root anyway.
pub fn check_readable(path: &Path) -> Result<()> {
    let Some(who) = eclat_kernel::perms::confined() else {
        return Ok(());
    };
    let p = path.to_path_buf();
    match eclat_kernel::perms::as_user(who.uid, who.gid, move || std::fs::File::open(&p)) {
        Ok(Ok(_)) => Ok(()),
        // a file that does not exist: the command says so itself (or creates a starter)
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Ok(Err(e)) => bail!(
            "{}: {e}: on a classroom server the lab reads only files you can read yourself",
            path.display()
        ),
        Err(e) => Err(e).context("taking the learner's rights"),
    }
}

/// Writes a file a command was asked to write (`--output`) with the rights of the user who
/// ran sudo (a classroom's learner included): created as theirs, and only where they may
/// write. Without sudo, as this process.
pub fn write_as_caller(path: &Path, data: &[u8]) -> Result<()> {
    let p = path.to_path_buf();
    let data = data.to_vec();
    eclat_kernel::perms::as_invoking_user(move || std::fs::write(&p, &data))
        .context("taking the rights of the user who ran sudo")?
        .with_context(|| format!("writing {}", path.display()))
}
