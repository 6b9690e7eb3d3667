//! The system's side of a classroom of VMs (`eclat-lab classroom up N --vms`): Vagrant run
//! on `vagrant/classroom/Vagrantfile` with the classroom's folder, and that folder's files
//! (the roster, 0600: it holds the passwords; the copy of the `--load` script; Vagrant's
//! state in `.vagrant`). What the roster says is `eclat_model::vm_classroom`'s.

use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum VagrantError {
    #[error(
        "`vagrant` is not installed (not found in PATH): a classroom of VMs is made by Vagrant \
         with a provider. Install Vagrant and one provider - on Debian or Ubuntu `sudo apt-get \
         install vagrant vagrant-libvirt libvirt-daemon-system qemu-system-x86` (then add \
         yourself to group libvirt), elsewhere Vagrant from developer.hashicorp.com/vagrant with \
         VirtualBox - then run the command again. Without VMs, `classroom up N` (no --vms) \
         makes the classroom on this server"
    )]
    Missing,
    #[error("running `vagrant {args}`: {err}")]
    Spawn { args: String, err: std::io::Error },
    #[error("{what} {path}: {err}")]
    Io {
        what: &'static str,
        path: PathBuf,
        err: std::io::Error,
    },
}

type Result<T> = std::result::Result<T, VagrantError>;

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> VagrantError {
    let path = path.to_path_buf();
    move |err| VagrantError::Io { what, path, err }
}

/// Where `program` is in PATH, if it is.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// How to run Vagrant on one classroom: the Vagrantfile's folder and the classroom's.
#[derive(Debug, Clone)]
pub struct Vagrant {
    /// the folder of the classroom Vagrantfile (`vagrant/classroom`)
    pub vagrantfile_dir: PathBuf,
    /// the classroom's own folder (roster, Vagrant's state)
    pub dir: PathBuf,
}

/// What `vagrant` printed and how it ended.
#[derive(Debug, Clone)]
pub struct Ran {
    /// its exit code (None: killed by a signal)
    pub code: Option<i32>,
    /// its standard output when captured (empty when it went to our standard error)
    pub stdout: String,
}

impl Ran {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

impl Vagrant {
    fn command(&self, args: &[&str]) -> Result<Command> {
        let bin = which("vagrant").ok_or(VagrantError::Missing)?;
        let mut c = Command::new(bin);
        c.args(args)
            .current_dir(&self.vagrantfile_dir)
            .env("VAGRANT_CWD", &self.vagrantfile_dir)
            .env("VAGRANT_DOTFILE_PATH", self.dir.join(".vagrant"))
            .env("ECLAT_CLASSROOM_DIR", &self.dir)
            .env("VAGRANT_NO_COLOR", "1")
            .stdin(Stdio::null());
        Ok(c)
    }

    /// Runs `vagrant ARGS` with its output shown on our standard error as it comes (our
    /// standard output stays the command's result, `--json` included).
    pub fn run_shown(&self, args: &[&str]) -> Result<Ran> {
        let show = args.join(" ");
        let spawn = |err| VagrantError::Spawn {
            args: show.clone(),
            err,
        };
        let err_fd = std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map_err(spawn)?;
        let err_fd2 = err_fd.try_clone().map_err(spawn)?;
        let status = self
            .command(args)?
            .stdout(Stdio::from(err_fd))
            .stderr(Stdio::from(err_fd2))
            .status()
            .map_err(spawn)?;
        Ok(Ran {
            code: status.code(),
            stdout: String::new(),
        })
    }

    /// Runs `vagrant ARGS` and returns what it printed (its errors go to our standard error).
    pub fn run_captured(&self, args: &[&str]) -> Result<Ran> {
        let show = args.join(" ");
        let out = self
            .command(args)?
            .stderr(Stdio::inherit())
            .output()
            .map_err(|err| VagrantError::Spawn { args: show, err })?;
        Ok(Ran {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        })
    }

    /// Whether Vagrant holds any state of this classroom (machines made, or being made).
    pub fn has_state(&self) -> bool {
        self.dir.join(".vagrant").exists()
    }
}

/// Reads a file of the classroom's folder, if it is there.
pub fn read(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("reading", path)(e)),
    }
}

/// Makes the classroom's folder (0700: the roster holds passwords) if it is missing.
pub fn make_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io("creating", dir)(e)),
    }
}

/// Writes a file of the classroom's folder, mode 0600, through a temporary name and a rename.
pub fn write_private(path: &Path, text: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("new");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io("writing", &tmp))?;
    f.write_all(text).map_err(io("writing", &tmp))?;
    f.sync_all().map_err(io("writing", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("writing", path))
}

/// Removes the classroom's folder: the files named (the roster, the script) and Vagrant's
/// state, then the folder itself if nothing else is in it (a file someone put there stays,
/// and so does the folder). Returns whether the folder is gone.
pub fn remove_dir(dir: &Path, files: &[&str]) -> Result<bool> {
    for f in files {
        let p = dir.join(f);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("removing", &p)(e)),
        }
    }
    let state = dir.join(".vagrant");
    match std::fs::remove_dir_all(&state) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("removing", &state)(e)),
    }
    Ok(std::fs::remove_dir(dir).is_ok())
}

/// The classroom folders below `base` that hold a roster named `roster`, sorted.
pub fn classroom_dirs(base: &Path, roster: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(roster).is_file())
        .collect();
    out.sort();
    out
}

/// Whether a file exists whose name starts with `prefix` in `dir` (a lab box).
pub fn has_file_starting(dir: &Path, prefix: &str, suffix: &str) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.flatten().any(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with(prefix) && n.ends_with(suffix)
        })
    })
}

/// Copies the `--load` script into the classroom's folder (0600).
pub fn copy_private(from: &Path, to: &Path) -> Result<()> {
    let text = std::fs::read(from).map_err(io("reading", from))?;
    write_private(to, &text)
}

/// The value of an environment variable, when set and not empty.
pub fn env_value(name: impl AsRef<OsStr>) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
