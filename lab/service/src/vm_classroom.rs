//! A classroom of VMs (`eclat-lab classroom up N --vms`, `down --vms`, and the VMs in
//! `classroom status`): one lab VM per learner from the lab box, made by Vagrant's
//! multi-machine setup on the repository's `vagrant/classroom/Vagrantfile`. The command
//! plans the classroom (`eclat_model::vm_classroom`: names, SSH ports, passwords, login
//! files), writes its roster in the classroom's folder, `vagrant/classroom/PREFIX/`, and
//! runs Vagrant (`eclat_kernel::vagrant`); it writes nothing else (Vagrant keeps its state
//! in that folder too).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use eclat_kernel::vagrant::{self as sys, Vagrant};
use eclat_model::vm_classroom::{
    self as plan, LOAD_FILE, PORT_BASE, ROSTER_FILE, VmRoster, VmState,
};
use serde::Serialize;

/// What `classroom up --vms` is asked for.
#[derive(Debug, Clone)]
pub struct VmUpRequest {
    pub prefix: String,
    pub count: usize,
    /// an eCLAT script each new VM's lab loads
    pub load: Option<PathBuf>,
    /// the lesson (its id) the tutorial opens on at a learner's first login
    pub lesson: Option<String>,
    /// learner i's SSH port is this plus i (None: the roster's, else 2300)
    pub port_base: Option<u16>,
}

/// One learner's VM.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct VmLearnerView {
    /// the machine's name in Vagrant, its host name, and the learner's user name in it
    pub name: String,
    /// the host's port forwarded to the VM's SSH: `ssh -p PORT NAME@HOST`
    pub port: u16,
    /// the learner's password in their VM
    pub password: String,
    /// the machine's state as `vagrant status` reports it (`running`, `not_created`,
    /// `inaccessible`: vagrant-libvirt's word for running with its address not read in time;
    /// `unknown` when Vagrant did not say)
    pub state: String,
}

/// The result of `classroom up --vms`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct VmClassroomUp {
    /// the classroom's prefix
    pub prefix: String,
    /// the classroom's folder: its roster and Vagrant's state
    pub dir: PathBuf,
    /// the Vagrantfile Vagrant ran
    pub vagrantfile: PathBuf,
    /// the VMs this run added to the roster
    pub added: Vec<String>,
    /// every VM of the classroom
    pub learners: Vec<VmLearnerView>,
    /// whether Vagrant was asked to make one VM at a time (`--no-parallel`)
    pub one_at_a_time: bool,
    /// what the instructor should know (no lab box, ...)
    pub notes: Vec<String>,
    /// wall time of `vagrant up`, in milliseconds
    pub vagrant_up_ms: u64,
    /// wall time of the whole command, in milliseconds
    pub total_ms: u64,
}

/// The result of `classroom down --vms`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct VmClassroomDown {
    /// the classroom's prefix
    pub prefix: String,
    /// the VMs destroyed (the roster's; none when Vagrant had made none)
    pub destroyed: Vec<String>,
    /// the classroom's folder, removed (kept when something else was put in it)
    pub dir: PathBuf,
    /// whether the folder is gone
    pub dir_removed: bool,
    /// wall time of the whole command, in milliseconds
    pub total_ms: u64,
}

/// One classroom of VMs in `classroom status`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct VmClassroomView {
    /// the classroom's prefix
    pub prefix: String,
    /// its folder
    pub dir: PathBuf,
    /// its VMs with their state (`vagrant status`)
    pub learners: Vec<VmLearnerView>,
}

/// The folder of `vagrant/classroom/Vagrantfile`: in the repository the current folder is
/// in (or below), else the repository this binary was built from.
pub fn vagrantfile_dir() -> Result<PathBuf> {
    let rel = Path::new("vagrant/classroom");
    let mut tried = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        for d in cwd.ancestors() {
            let c = d.join(rel);
            if c.join("Vagrantfile").is_file() {
                return Ok(c);
            }
        }
        tried.push(format!("{} and the folders above it", cwd.display()));
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    if built.join("Vagrantfile").is_file() {
        return Ok(built.canonicalize().unwrap_or(built));
    }
    tried.push(format!("{}", built.display()));
    bail!(
        "no vagrant/classroom/Vagrantfile in {}: a classroom of VMs is made from the lab's \
         repository. Run the command from your clone of it (`git clone` the lab, build the \
         boxes with `sudo vagrant/box/build.sh`, then `cd` into it)",
        tried.join(", nor in ")
    )
}

fn vagrant_for(prefix: &str) -> Result<Vagrant> {
    eclat_model::classroom::check_prefix(prefix)?;
    let vagrantfile_dir = vagrantfile_dir()?;
    Ok(Vagrant {
        dir: vagrantfile_dir.join(prefix),
        vagrantfile_dir,
    })
}

fn read_roster(v: &Vagrant) -> Result<Option<VmRoster>> {
    let p = v.dir.join(ROSTER_FILE);
    match sys::read(&p)? {
        Some(text) => Ok(Some(
            VmRoster::parse(&text).with_context(|| format!("{}", p.display()))?,
        )),
        None => Ok(None),
    }
}

/// Each machine's state, from `vagrant status --machine-readable` (empty when it failed).
fn states(v: &Vagrant) -> Vec<VmState> {
    match v.run_captured(&["status", "--machine-readable"]) {
        Ok(r) if r.ok() => plan::parse_status(&r.stdout),
        _ => Vec::new(),
    }
}

/// The states after `vagrant up`: read again (3 times at most, 5 s apart) while a machine
/// is `inaccessible`, vagrant-libvirt's word for a running VM whose address it did not read
/// in time (seen here under software emulation while the next VM booted).
fn states_settled(v: &Vagrant) -> Vec<VmState> {
    let mut st = states(v);
    for _ in 0..2 {
        if !st.iter().any(|s| s.state == "inaccessible") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(5));
        st = states(v);
    }
    st
}

fn views(r: &VmRoster, states: &[VmState]) -> Vec<VmLearnerView> {
    r.learners
        .iter()
        .map(|l| VmLearnerView {
            name: l.name.clone(),
            port: l.port,
            password: l.password.clone(),
            state: states
                .iter()
                .find(|s| s.name == l.name)
                .map(|s| s.state.clone())
                .unwrap_or_else(|| "unknown".into()),
        })
        .collect()
}

/// What the instructor should know before Vagrant runs: the box it will use.
fn notes(vagrantfile_dir: &Path) -> Vec<String> {
    let mut n = Vec::new();
    let box_dir = sys::env_value("ECLAT_BOX_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| vagrantfile_dir.join("../boxes"));
    if sys::env_value("ECLAT_BOX").is_none()
        && !sys::has_file_starting(&box_dir, "eclat-lab-", ".box")
    {
        n.push(format!(
            "no lab box in {} (build them with `sudo vagrant/box/build.sh`): each VM downloads \
             a public box and builds the lab itself, which needs the network and takes long",
            box_dir.display()
        ));
    }
    n
}

/// `classroom up N --vms`: plans the VMs the classroom lacks, writes the roster, and runs
/// `vagrant up` (which makes the missing machines and starts stopped ones).
pub async fn up(req: VmUpRequest) -> Result<VmClassroomUp> {
    tokio::task::spawn_blocking(move || up_blocking(req)).await?
}

fn up_blocking(req: VmUpRequest) -> Result<VmClassroomUp> {
    let t0 = Instant::now();
    let v = vagrant_for(&req.prefix)?;
    if sys::which("vagrant").is_none() {
        return Err(sys::VagrantError::Missing.into());
    }
    if let Some(f) = &req.load
        && !f.is_file()
    {
        bail!(
            "{}: no such script (`--load` names an eCLAT file on this machine)",
            f.display()
        );
    }
    let mut roster = match read_roster(&v)? {
        Some(r) => {
            if let Some(b) = req.port_base
                && b != r.port_base
            {
                bail!(
                    "classroom `{}` already forwards its SSH ports from {}+1: keep that base, or \
                     remove the classroom first (`classroom down --vms --prefix {}`)",
                    r.prefix,
                    r.port_base,
                    r.prefix
                );
            }
            r
        }
        None => VmRoster::new(
            &req.prefix,
            req.port_base.unwrap_or(PORT_BASE),
            req.lesson.as_deref(),
            req.load.is_some(),
        )?,
    };
    // a new lesson or script applies to the VMs provisioned from now on
    if let Some(l) = &req.lesson {
        let fresh = VmRoster::new(&roster.prefix, roster.port_base, Some(l), false)?;
        roster.lesson = fresh.lesson;
        roster.progress = fresh.progress;
    }
    let mut random_err = None;
    let added = roster.grow(req.count, || match eclat_kernel::classroom::random(10) {
        Ok(b) => eclat_model::classroom::password(&b),
        Err(e) => {
            random_err = Some(e);
            String::new()
        }
    })?;
    if let Some(e) = random_err {
        return Err(e.into());
    }
    sys::make_dir(&v.dir)?;
    if let Some(f) = &req.load {
        sys::copy_private(f, &v.dir.join(LOAD_FILE))?;
        roster.load = true;
    }
    sys::write_private(&v.dir.join(ROSTER_FILE), roster.to_json().as_bytes())?;
    let notes = notes(&v.vagrantfile_dir);
    // one VM at a time under software emulation, and for VirtualBox
    let one_at_a_time = sys::env_value("ECLAT_LIBVIRT_DRIVER").as_deref() == Some("qemu")
        || sys::env_value("ECLAT_PROVIDER").as_deref() == Some("virtualbox");
    let t1 = Instant::now();
    let ran = v.run_shown(&plan::up_args(one_at_a_time))?;
    let vagrant_up_ms = t1.elapsed().as_millis() as u64;
    if !ran.ok() {
        bail!(
            "`vagrant up` failed ({}); its messages are above. What usually causes it: no \
             provider Vagrant can use (on Linux `sudo apt-get install vagrant-libvirt \
             libvirt-daemon-system qemu-system-x86` and your user in group libvirt; or \
             VirtualBox), libvirt's daemon not running (`sudo systemctl start libvirtd`), no \
             KVM (ECLAT_LIBVIRT_DRIVER=qemu runs the VMs under software \
             emulation, slowly), not enough memory for {} VMs of {} MiB, or a port of {}-{} \
             taken. The roster is kept in {}: fix the cause and run `classroom up {} --vms` \
             again to finish, or `classroom down --vms --prefix {}` to remove what was made",
            ran.code
                .map(|c| format!("exit {c}"))
                .unwrap_or_else(|| "killed".into()),
            roster.learners.len(),
            sys::env_value("ECLAT_MEMORY").unwrap_or_else(|| "1536".into()),
            roster.port_base + 1,
            roster.port_base + roster.learners.len() as u16,
            v.dir.display(),
            req.count,
            roster.prefix
        );
    }
    let st = states_settled(&v);
    Ok(VmClassroomUp {
        prefix: roster.prefix.clone(),
        vagrantfile: v.vagrantfile_dir.join("Vagrantfile"),
        dir: v.dir.clone(),
        added,
        learners: views(&roster, &st),
        one_at_a_time,
        notes,
        vagrant_up_ms,
        total_ms: t0.elapsed().as_millis() as u64,
    })
}

/// `classroom down --vms`: destroys the roster's VMs (`vagrant destroy -f`), then removes
/// the classroom's folder.
pub async fn down(prefix: String) -> Result<VmClassroomDown> {
    tokio::task::spawn_blocking(move || down_blocking(prefix)).await?
}

fn down_blocking(prefix: String) -> Result<VmClassroomDown> {
    let t0 = Instant::now();
    let v = vagrant_for(&prefix)?;
    let Some(roster) = read_roster(&v)? else {
        bail!(
            "there is no classroom of VMs `{prefix}` ({} has no roster; `eclat-lab classroom \
             status --vms` lists them)",
            v.dir.display()
        );
    };
    // nothing to destroy when Vagrant made no machine (an `up` that failed before any)
    let made = v.has_state() && {
        let st = states(&v);
        st.is_empty() || st.iter().any(|s| s.state != "not_created")
    };
    if made {
        let ran = v.run_shown(&["destroy", "-f"])?;
        if !ran.ok() {
            bail!(
                "`vagrant destroy` failed ({}); its messages are above (is the provider's \
                 daemon running? `sudo systemctl start libvirtd`). The roster is kept in {}: \
                 `classroom down --vms --prefix {prefix}` again finishes",
                ran.code
                    .map(|c| format!("exit {c}"))
                    .unwrap_or_else(|| "killed".into()),
                v.dir.display()
            );
        }
    }
    let dir_removed = sys::remove_dir(&v.dir, &[ROSTER_FILE, LOAD_FILE])?;
    Ok(VmClassroomDown {
        prefix,
        destroyed: if made {
            roster.learners.iter().map(|l| l.name.clone()).collect()
        } else {
            Vec::new()
        },
        dir: v.dir,
        dir_removed,
        total_ms: t0.elapsed().as_millis() as u64,
    })
}

/// The classrooms of VMs of the repository, each VM's state from `vagrant status` (none
/// when no repository is found).
pub async fn status() -> Result<Vec<VmClassroomView>> {
    tokio::task::spawn_blocking(|| {
        let Ok(base) = vagrantfile_dir() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for dir in sys::classroom_dirs(&base, ROSTER_FILE) {
            let v = Vagrant {
                vagrantfile_dir: base.clone(),
                dir: dir.clone(),
            };
            let Some(r) = read_roster(&v)? else { continue };
            let st = if sys::which("vagrant").is_some() {
                states(&v)
            } else {
                Vec::new()
            };
            out.push(VmClassroomView {
                prefix: r.prefix.clone(),
                dir,
                learners: views(&r, &st),
            });
        }
        Ok(out)
    })
    .await?
}
