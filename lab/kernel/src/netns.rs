//! Network namespaces, registered the way `ip netns` does it (a bind mount of the namespace
//! file at `/run/netns/<name>`, on a shared mount), so `ip netns exec` works on them too.
//! The lab only ever enters the *network* namespace: it never unshares the mount namespace or
//! remounts `/sys`, so bpffs pins stay visible.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};

pub const NETNS_RUN_DIR: &str = "/run/netns";

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error(
        "a network namespace named `{name}` already exists and the lab did not create it; \
         the lab never touches namespaces it did not create. Remove or rename it \
         (`ip netns del {name}`) if it is yours and unused, or give the lab another prefix \
         with ECLAT_LAB_NS_PREFIX"
    )]
    Foreign { name: String },
    #[error(
        "network namespace `{name}` does not exist (is the topology up? try `eclat-lab topo up`)"
    )]
    Missing { name: String },
    #[error("network namespace `{name}`: {what}: {err}")]
    Sys {
        name: String,
        what: &'static str,
        err: io::Error,
    },
}

fn sys(name: &str, what: &'static str) -> impl FnOnce(nix::Error) -> NetnsError {
    let name = name.to_string();
    move |e| NetnsError::Sys {
        name,
        what,
        err: io::Error::from(e),
    }
}

fn sys_io(name: &str, what: &'static str) -> impl FnOnce(io::Error) -> NetnsError {
    let name = name.to_string();
    move |err| NetnsError::Sys { name, what, err }
}

pub fn path(name: &str) -> PathBuf {
    Path::new(NETNS_RUN_DIR).join(name)
}

/// Names registered under `/run/netns`.
pub fn list() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(NETNS_RUN_DIR)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The inode of the namespace mounted at `/run/netns/<name>`, if it is a namespace mount.
pub fn inode(name: &str) -> Option<u64> {
    let md = std::fs::metadata(path(name)).ok()?;
    // an nsfs inode lives on the nsfs device, unlike the empty placeholder file
    let parent = std::fs::metadata(NETNS_RUN_DIR).ok()?;
    (md.dev() != parent.dev()).then_some(md.ino())
}

/// Opens the namespace file (the fd keeps the namespace alive and lets threads enter it).
pub fn open(name: &str) -> Result<OwnedFd, NetnsError> {
    if inode(name).is_none() {
        return Err(NetnsError::Missing {
            name: name.to_string(),
        });
    }
    File::open(path(name))
        .map(OwnedFd::from)
        .map_err(sys_io(name, "open"))
}

/// Makes `/run/netns` a shared mount point, as `ip netns add` does, so mounts made under it
/// propagate to other mount namespaces.
fn ensure_run_dir() -> Result<(), NetnsError> {
    let n = NETNS_RUN_DIR;
    std::fs::create_dir_all(n).map_err(sys_io(n, "create /run/netns"))?;
    let flags = MsFlags::MS_SHARED | MsFlags::MS_REC;
    if mount(None::<&str>, n, None::<&str>, flags, None::<&str>).is_ok() {
        return Ok(());
    }
    // not a mount point yet: bind it onto itself, then make it shared
    mount(
        Some(n),
        n,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(sys(n, "bind-mount /run/netns"))?;
    mount(None::<&str>, n, None::<&str>, flags, None::<&str>).map_err(sys(n, "share /run/netns"))
}

/// A fresh namespace, before it has a name: the fd and its inode.
pub struct Unnamed {
    pub fd: OwnedFd,
    pub ino: u64,
}

/// Creates a new, empty network namespace (loopback down, nothing else) without naming it.
pub fn create_unnamed() -> io::Result<Unnamed> {
    std::thread::scope(|s| {
        s.spawn(|| -> io::Result<Unnamed> {
            unshare(CloneFlags::CLONE_NEWNET)?;
            let f = File::open("/proc/thread-self/ns/net")?;
            let ino = f.metadata()?.ino();
            Ok(Unnamed {
                fd: OwnedFd::from(f),
                ino,
            })
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
    })
}

/// Registers `ns` as `/run/netns/<name>`. The caller has checked the name is free and has
/// recorded the inode in the journal.
pub fn register(name: &str, ns: &Unnamed) -> Result<(), NetnsError> {
    ensure_run_dir()?;
    let p = path(name);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&p)
        .map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                NetnsError::Foreign {
                    name: name.to_string(),
                }
            } else {
                NetnsError::Sys {
                    name: name.to_string(),
                    what: "create /run/netns entry",
                    err: e,
                }
            }
        })?;
    let src = format!("/proc/self/fd/{}", ns.fd.as_raw_fd());
    if let Err(e) = mount(
        Some(src.as_str()),
        &p,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    ) {
        let _ = std::fs::remove_file(&p);
        return Err(sys(name, "bind-mount the namespace")(e));
    }
    Ok(())
}

/// Removes `/run/netns/<name>` if it is the namespace with inode `ino` (or the empty
/// placeholder a crash may leave between creating the file and mounting it). Returns whether
/// something was removed; a namespace with another inode is not ours and is left alone.
pub fn unregister(name: &str, ino: u64) -> Result<bool, NetnsError> {
    let p = path(name);
    match inode(name) {
        Some(i) if i == ino => {
            umount2(&p, MntFlags::MNT_DETACH).map_err(sys(name, "unmount"))?;
            std::fs::remove_file(&p).map_err(sys_io(name, "remove /run/netns entry"))?;
            Ok(true)
        }
        Some(_) => Ok(false),
        None => match std::fs::metadata(&p) {
            Ok(md) if md.is_file() && md.len() == 0 => {
                std::fs::remove_file(&p).map_err(sys_io(name, "remove placeholder"))?;
                Ok(true)
            }
            _ => Ok(false),
        },
    }
}

/// Runs `f` on a thread that has entered the network namespace `ns` (only the network
/// namespace: mounts, and so bpffs pins, stay as they are).
pub fn in_netns<T: Send>(ns: &impl AsFd, f: impl FnOnce() -> T + Send) -> io::Result<T> {
    let fd = ns.as_fd();
    std::thread::scope(|s| {
        s.spawn(move || -> io::Result<T> {
            setns(fd, CloneFlags::CLONE_NEWNET)?;
            Ok(f())
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("thread inside the namespace panicked")))
    })
}

/// Writes a sysctl of the *calling thread's* network namespace (`/proc/sys` is resolved per
/// thread, unlike `/proc/net`). `key` uses dots: `net.ipv6.conf.all.forwarding`.
pub fn write_sysctl(key: &str, value: &str) -> io::Result<()> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    std::fs::write(&path, value).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))
}

pub fn read_sysctl(key: &str) -> io::Result<String> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    Ok(std::fs::read_to_string(path)?.trim().to_string())
}
