//! Plain (non-HIKe) XDP programs of the lab, such as lesson 1's counter: loading them from
//! the embedded objects, pinning programs and maps under the lab's root, and attaching them
//! to an interface of a lab node. An attachment is a BPF link pinned at
//! `<root>/links/<node>/<dev>/<program>`: it outlives the command that made it and goes away
//! when the pin is removed.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use aya::programs::links::{FdLink, PinnedLink};
use aya::programs::{ProgramError, Xdp, xdp::XdpMode};
use aya_obj::programs::XdpAttachType;
use serde::Serialize;

use crate::LabEnv;
use crate::bpffs::{self, BpffsError};
use crate::journal::{Journal, JournalError, Lifetime, Resource};
use crate::netns;
use crate::netns::NetnsError;
use crate::nodes::NodeError;

#[derive(Debug, thiserror::Error)]
pub enum XdpError {
    #[error("unknown program `{name}`{meant} (prebuilt programs: {known})")]
    UnknownProgram {
        name: String,
        /// "; did you mean `X`?" or nothing
        meant: String,
        known: String,
    },
    #[error("the embedded object {object} is missing from this build of eclat-lab")]
    MissingObject { object: String },
    #[error("loading {object}: {detail}")]
    Load {
        object: String,
        detail: String,
        verifier_log: Option<String>,
    },
    #[error("attaching {program} to {node}:{dev}: {detail}")]
    Attach {
        program: String,
        node: String,
        dev: String,
        detail: String,
    },
    #[error(
        "no program named `{name}` is loaded{meant} ({loaded}); `xdp load FILE.bpf.c` loads your own object's programs"
    )]
    NoSuchProgram {
        name: String,
        /// "; did you mean `X`?" or nothing
        meant: String,
        loaded: String,
    },
    #[error("`{name}` names several programs: {candidates}; give the longer name")]
    AmbiguousProgram { name: String, candidates: String },
    #[error("{node}:{dev} has no XDP program attached by the lab")]
    NotAttached { node: String, dev: String },
    #[error("pin {path}: {detail}")]
    Pin { path: PathBuf, detail: String },
    #[error(transparent)]
    Bpffs(#[from] BpffsError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Nodes(#[from] NodeError),
    #[error(transparent)]
    Netns(#[from] NetnsError),
    #[error(transparent)]
    Map(#[from] crate::maps::MapError),
}

pub use eclat_model::prebuilt::{LabProgram, PROGRAMS};

pub fn program(name: &str) -> Result<&'static LabProgram, XdpError> {
    eclat_model::prebuilt::find(name).ok_or_else(|| XdpError::UnknownProgram {
        name: name.to_string(),
        meant: hike::suggest::did_you_mean(name, PROGRAMS.iter().map(|p| p.name)),
        known: eclat_model::prebuilt::names(),
    })
}

fn prog_pin(env: &LabEnv, p: &LabProgram) -> PathBuf {
    env.bpffs_root.join("progs").join(p.package).join(p.name)
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LoadReport {
    /// the prebuilt program's name (`xdp_counter`), or the learner's program for one loaded with
    /// `xdp load`
    pub program: String,
    /// true when the program was pinned already and nothing was loaded (then `load_us` is 0)
    pub already_loaded: bool,
    /// the names of the program's maps, pinned beside it below `maps/`; empty for a learner's
    /// program (its object's load lists them)
    pub maps: Vec<String>,
    /// wall time of the load (the kernel's verifier and JIT), in microseconds; 0 when
    /// `already_loaded`
    pub load_us: u64,
}

/// Loads (verifies) a prebuilt program and pins it and its maps, unless it is loaded already.
pub fn load(
    env: &LabEnv,
    journal: &mut Journal,
    name: &str,
    life: Lifetime,
) -> Result<LoadReport, XdpError> {
    let report = load_provisional(env, journal, name)?;
    // only a complete load becomes permanent; a crash before this leaves provisional pins
    // that the next start removes
    journal.commit(life)?;
    Ok(report)
}

/// [`load`] without the commit: the caller commits it with what else it makes (`attach`:
/// a program loaded for an attachment is the lab's only once it is attached).
fn load_provisional(
    env: &LabEnv,
    journal: &mut Journal,
    name: &str,
) -> Result<LoadReport, XdpError> {
    let p = program(name)?;
    let pin = prog_pin(env, p);
    let map_dir = env.bpffs_root.join("maps").join(p.package).join(p.name);
    if pin.exists() {
        let maps = std::fs::read_dir(&map_dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        return Ok(LoadReport {
            program: name.into(),
            already_loaded: true,
            maps,
            load_us: 0,
        });
    }
    let bytes = crate::objects::get(p.object).ok_or_else(|| XdpError::MissingObject {
        object: p.object.into(),
    })?;
    let t0 = std::time::Instant::now();
    let load_err = |detail: String, verifier_log: Option<String>| XdpError::Load {
        object: p.object.to_string(),
        detail,
        verifier_log,
    };
    let mut ebpf = crate::loader::with_plain_loader(bytes, |l| l.load(bytes))
        .map_err(|e| load_err(e.to_string(), None))?;
    let prog: &mut Xdp = ebpf
        .program_mut(p.name)
        .ok_or_else(|| load_err(format!("no program `{}` in the object", p.name), None))?
        .try_into()
        .map_err(|e: ProgramError| load_err(e.to_string(), None))?;
    prog.load().map_err(|e| match e {
        ProgramError::LoadError {
            io_error,
            verifier_log,
        } => load_err(
            format!("the verifier rejected it: {io_error}"),
            Some(verifier_log.to_string()),
        ),
        other => load_err(other.to_string(), None),
    })?;
    let load_us = t0.elapsed().as_micros() as u64;

    bpffs::ensure_dir(
        env,
        journal,
        pin.parent().expect("pin has a parent"),
        Lifetime::Provisional,
    )?;
    journal.add(Resource::Pin { path: pin.clone() }, Lifetime::Provisional)?;
    prog.pin(&pin).map_err(|e| XdpError::Pin {
        path: pin.clone(),
        detail: e.to_string(),
    })?;
    crate::crash_point("xdp-load:prog-pinned");

    bpffs::ensure_dir(env, journal, &map_dir, Lifetime::Provisional)?;
    let maps = pin_maps(&ebpf, journal, &map_dir)?;
    if p.name == "xdp_counter" {
        let m = crate::maps::find(env, &format!("{}/{}/verdict", p.package, p.name))?;
        crate::maps::set(&m, "0", "PASS")?;
    }
    Ok(LoadReport {
        program: name.into(),
        already_loaded: false,
        maps,
        load_us,
    })
}

/// An XDP program attached by the lab.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Attachment {
    /// the node whose interface the program is attached to
    pub node: String,
    /// the interface, in that node's namespace
    pub dev: String,
    /// the attached program's name (the link pin's last component)
    pub program: String,
    /// the BPF link's pin on bpffs, `<root>/links/<node>/<dev>/<program>` (not serialized)
    #[serde(skip)]
    pub pin: PathBuf,
}

/// Every attachment pinned under `<root>/links`.
pub fn attachments(env: &LabEnv) -> Vec<Attachment> {
    let root = env.bpffs_root.join("links");
    let mut out = Vec::new();
    let mut found = Vec::new();
    bpffs::walk(&root, &mut found);
    for (path, is_dir) in found {
        if is_dir {
            continue;
        }
        let rel: Vec<String> = path
            .strip_prefix(&root)
            .map(|r| {
                r.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        if let [node, dev, program] = rel.as_slice() {
            out.push(Attachment {
                node: node.clone(),
                dev: dev.clone(),
                program: program.clone(),
                pin: path,
            });
        }
    }
    out
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AttachReport {
    /// the name of the program now attached
    pub program: String,
    /// the node it was attached in
    pub node: String,
    /// the interface it was attached to
    pub dev: String,
    /// the XDP mode the kernel reports for the interface after attaching: `driver` (native; what a
    /// veth gets), `generic` (skb, with `--skb`), `offload`, `multi`, or `unknown` when it could
    /// not be read
    pub mode: String,
    /// the program the lab had attached there before, now detached; null when there was none
    pub replaced: Option<String>,
    /// loading the program first (a prebuilt one is loaded if it was not yet)
    pub load: LoadReport,
}

/// Attaches a prebuilt program to `node:dev` (replacing what the lab attached there before).
pub fn attach(
    env: &LabEnv,
    journal: &mut Journal,
    name: &str,
    node: &str,
    dev: &str,
    skb_mode: bool,
    life: Lifetime,
) -> Result<AttachReport, XdpError> {
    let (prog_name, prog_path) = match program(name) {
        Ok(p) => (p.name.to_string(), prog_pin(env, p)),
        Err(XdpError::UnknownProgram { known, .. }) => {
            match find_program(env, name) {
                // a learner's program from `xdp load`
                Ok(found)
                    if found.path_name.starts_with(&format!("{OBJ_AREA}/"))
                        || found.path_name.starts_with(&format!("{}/", CUBE_AREA)) =>
                {
                    (found.name, found.pin)
                }
                // two loaded objects with a program of that name (lesson 4's lb and lb_drain):
                // which one, not "unknown program `lb_xdp`; did you mean `lb_xdp`?"
                Err(e @ XdpError::AmbiguousProgram { .. }) => return Err(e),
                _ => {
                    let mine: Vec<String> = loaded_objects(env)
                        .into_iter()
                        .flat_map(|(_, progs)| progs)
                        .collect();
                    return Err(XdpError::UnknownProgram {
                        name: name.to_string(),
                        meant: hike::suggest::did_you_mean(
                            name,
                            PROGRAMS
                                .iter()
                                .map(|p| p.name)
                                .chain(mine.iter().map(String::as_str)),
                        ),
                        known: if mine.is_empty() {
                            format!(
                                "{known}; `xdp load FILE.bpf.c` loads your own object's programs"
                            )
                        } else {
                            format!("{known}; loaded with `xdp load`: {}", mine.join(", "))
                        },
                    });
                }
            }
        }
        Err(e) => return Err(e),
    };
    let (_, ns) = crate::nodes::resolve_dev(env, node, dev)?;
    let load = if program(name).is_ok() {
        load_provisional(env, journal, name)?
    } else {
        LoadReport {
            program: prog_name.clone(),
            already_loaded: true,
            maps: Vec::new(),
            load_us: 0,
        }
    };
    let replaced = match detach(env, journal, node, dev) {
        Ok(prev) => Some(prev),
        Err(XdpError::NotAttached { .. }) => None,
        Err(e) => return Err(e),
    };
    let nsfd = netns::open(&ns)?;
    let link_dir = env.bpffs_root.join("links").join(node).join(dev);
    // the folders this attach makes: removed again if it fails (a failed command leaves
    // nothing, not even what the next start would call a leftover)
    let made: Vec<std::path::PathBuf> = link_dir
        .ancestors()
        .take_while(|d| d.starts_with(&env.bpffs_root) && *d != env.bpffs_root && !d.exists())
        .map(|d| d.to_path_buf())
        .collect();
    bpffs::ensure_dir(env, journal, &link_dir, Lifetime::Provisional)?;
    let link_pin = link_dir.join(&prog_name);
    journal.add(
        Resource::Pin {
            path: link_pin.clone(),
        },
        Lifetime::Provisional,
    )?;
    let attach_err = |detail: String| XdpError::Attach {
        program: name.to_string(),
        node: node.to_string(),
        dev: dev.to_string(),
        detail,
    };
    let flags = if skb_mode {
        XdpMode::Skb
    } else {
        XdpMode::Default
    };
    let result = netns::in_netns(&nsfd.as_fd(), || -> Result<String, String> {
        let mut prog = Xdp::from_pin(&prog_path, XdpAttachType::Interface).map_err(|e| e.to_string())?;
        let ifindex = nix::net::if_::if_nametoindex(dev).map_err(|e| format!("no interface {dev}: {e}"))?;
        let id = prog.attach_to_if_index(ifindex, flags).map_err(|e| match e {
            ProgramError::SyscallError(s) if s.io_error.raw_os_error() == Some(libc::EBUSY) => {
                "another XDP program is already attached there (not by the lab); the lab leaves it alone".to_string()
            }
            ProgramError::SyscallError(s) if s.io_error.raw_os_error() == Some(libc::EEXIST) => {
                format!(
                    "an XDP program is already attached there in the other mode (not by the \
                     lab: native and generic XDP cannot be on one interface together); the lab \
                     leaves it alone. Remove it with `ip -n {ns} link set dev {dev} xdpgeneric \
                     off` (or `xdp off`), then attach again"
                )
            }
            other => other.to_string(),
        })?;
        let link = prog.take_link(id).map_err(|e| e.to_string())?;
        let fd_link: FdLink = link.try_into().map_err(|e: aya::programs::links::LinkError| {
            format!("the kernel attached without a BPF link ({e}); the lab needs kernel >= 5.9")
        })?;
        fd_link.pin(&link_pin).map_err(|e| e.to_string())?;
        crate::crash_point("xdp-attach:link-pinned");
        // ask the kernel which mode it chose (veth does native XDP)
        let mode = crate::netlink::Netlink::open()
            .and_then(|mut nl| nl.link_by_name(dev))
            .ok()
            .flatten()
            .and_then(|l| l.xdp_mode)
            .unwrap_or("unknown");
        Ok(mode.to_string())
    })
    .map_err(|e| attach_err(e.to_string()))?;
    let mode = match result {
        Ok(mode) => mode,
        Err(detail) => {
            let _ = journal.del(&Resource::Pin { path: link_pin });
            for d in made {
                if std::fs::remove_dir(&d).is_ok() {
                    let _ = journal.del(&Resource::Dir { path: d });
                }
            }
            // the program stays loaded, as `xdp load` leaves it: the kernel refused the
            // attachment, not the program
            journal.commit(life)?;
            return Err(attach_err(detail));
        }
    };
    journal.commit(life)?;
    Ok(AttachReport {
        program: prog_name,
        node: node.into(),
        dev: dev.into(),
        mode,
        replaced,
        load,
    })
}

/// Detaches what the lab attached to `node:dev`; returns the program's name.
pub fn detach(
    env: &LabEnv,
    journal: &mut Journal,
    node: &str,
    dev: &str,
) -> Result<String, XdpError> {
    let found: Vec<Attachment> = attachments(env)
        .into_iter()
        .filter(|a| a.node == node && a.dev == dev)
        .collect();
    if found.is_empty() {
        // a misspelt node or interface is said as such (with what it could mean)
        crate::nodes::resolve_dev(env, node, dev)?;
        return Err(XdpError::NotAttached {
            node: node.into(),
            dev: dev.into(),
        });
    }
    let mut name = String::new();
    for a in found {
        unpin_link(&a.pin)?;
        journal.del(&Resource::Pin {
            path: a.pin.clone(),
        })?;
        name = a.program;
    }
    Ok(name)
}

/// Removes a pinned link: the attachment ends when the last reference (the pin) goes.
fn unpin_link(path: &std::path::Path) -> Result<(), XdpError> {
    match PinnedLink::from_pin(path) {
        Ok(l) => {
            let fd = l.unpin().map_err(|e| XdpError::Pin {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
            drop(fd);
            Ok(())
        }
        // not a link (or already gone): remove the file if it is there
        Err(_) => match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(XdpError::Pin {
                path: path.to_path_buf(),
                detail: e.to_string(),
            }),
        },
    }
}

/// Forgets the pinned links of nodes whose namespaces are gone (`topo down`).
pub fn forget_links_of(
    env: &LabEnv,
    journal: &mut Journal,
    nodes: &[String],
) -> Result<(), JournalError> {
    if nodes.is_empty() {
        return Ok(());
    }
    for a in attachments(env)
        .into_iter()
        .filter(|a| nodes.contains(&a.node))
    {
        // The pin file alone, with no link fd of ours: the kernel then releases the link (and
        // detaches what is left of it) in its own work queue, while `unpin_link`'s close would
        // wait for that detach on a device whose namespace is already being dismantled (about
        // 11 ms of `topo down`'s ~15, seen with strace). Nothing waits on this detach: the
        // device goes with its namespace.
        let gone = match std::fs::remove_file(&a.pin) {
            Ok(()) => true,
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        };
        if gone {
            journal.del(&Resource::Pin { path: a.pin })?;
        }
    }
    Ok(())
}

// ---- a learner's own object: `xdp load FILE.bpf.c` ----------------------------------------

/// The area of learners' plain objects: `progs/xdp-obj/<object>/<program>` and
/// `maps/xdp-obj/<object>/<map>`. The hyphen keeps it apart from HIKe packages, whose names
/// are identifiers (`programs.<package>` in eCLAT).
pub const OBJ_AREA: &str = "xdp-obj";

/// The area of cubes (`eclat_kernel::cube`): `progs/cube/<cube>/<program>` and
/// `maps/cube/<cube>/<map>`.
pub const CUBE_AREA: &str = "cube";

/// What `xdp load` did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ObjectReport {
    /// the object file that was loaded, as given
    pub object: String,
    /// the object's name in the lab (the file stem)
    pub package: String,
    /// the names of its XDP programs, sorted; each is pinned and can be attached by name
    pub programs: Vec<String>,
    /// the names of its maps, sorted (sections like `.rodata` left out)
    pub maps: Vec<String>,
    /// wall time of loading every program of the object (the verifier and JIT), in microseconds
    pub load_us: u64,
    /// an earlier version was loaded and is gone
    pub replaced: bool,
    /// attachments of the earlier version that went with it (`node:dev <- program`)
    pub detached: Vec<String>,
}

/// A program pinned by the lab (prebuilt, HIKe, or from a learner's object).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PinnedProgram {
    /// the program's name (the pin's last component)
    pub name: String,
    /// the pin's path below `<root>/progs`, e.g. `xdp-obj/pipeline/pipe_set_ecn`
    pub path_name: String,
    /// the pin's full path on bpffs (not serialized)
    #[serde(skip)]
    pub pin: PathBuf,
}

/// Every program pinned under `<root>/progs`, sorted by path.
pub fn pinned_programs(env: &LabEnv) -> Vec<PinnedProgram> {
    let root = env.bpffs_root.join("progs");
    let mut found = Vec::new();
    bpffs::walk(&root, &mut found);
    let mut out: Vec<PinnedProgram> = found
        .into_iter()
        .filter(|(_, is_dir)| !is_dir)
        .map(|(pin, _)| PinnedProgram {
            name: pin
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path_name: pin
                .strip_prefix(&root)
                .unwrap_or(&pin)
                .display()
                .to_string(),
            pin,
        })
        .collect();
    out.sort_by(|a, b| a.path_name.cmp(&b.path_name));
    out
}

/// Finds a pinned program by name (`pipe_set_ecn`) or a path suffix
/// (`pipeline/pipe_set_ecn`, `pipeline.pipe_set_ecn`).
pub fn find_program(env: &LabEnv, name: &str) -> Result<PinnedProgram, XdpError> {
    let all = pinned_programs(env);
    let want = name.trim_matches('/').replace('.', "/");
    let hits: Vec<&PinnedProgram> = all
        .iter()
        .filter(|p| p.path_name == want || p.path_name.ends_with(&format!("/{want}")))
        .collect();
    match hits.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(XdpError::NoSuchProgram {
            name: name.to_string(),
            meant: hike::suggest::did_you_mean(
                &want,
                all.iter()
                    .flat_map(|p| [p.name.as_str(), p.path_name.as_str()]),
            ),
            loaded: if all.is_empty() {
                "no program is loaded".into()
            } else {
                format!(
                    "loaded: {}",
                    all.iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        }),
        many => Err(XdpError::AmbiguousProgram {
            name: name.to_string(),
            candidates: many
                .iter()
                .map(|p| p.path_name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The kernel's program ID -> the lab's name of every pinned program (what a program
/// array's slots hold, read back).
pub fn program_names_by_id(env: &LabEnv) -> std::collections::HashMap<u32, String> {
    pinned_programs(env)
        .into_iter()
        .filter_map(|p| {
            let info = aya::programs::ProgramInfo::from_pin(&p.pin).ok()?;
            Some((info.id(), p.name))
        })
        .collect()
}

pub(crate) fn obj_dirs(env: &LabEnv, area: &str, package: &str) -> (PathBuf, PathBuf) {
    (
        env.bpffs_root.join("progs").join(area).join(package),
        env.bpffs_root.join("maps").join(area).join(package),
    )
}

/// The objects loaded with `xdp load` and their programs.
pub fn loaded_objects(env: &LabEnv) -> Vec<(String, Vec<String>)> {
    loaded_in(env, OBJ_AREA)
}

/// The packages pinned in `area` (`xdp-obj`, `cube`) and their programs.
pub fn loaded_in_area(env: &LabEnv, area: &str) -> Vec<(String, Vec<String>)> {
    loaded_in(env, area)
}

pub(crate) fn loaded_in(env: &LabEnv, area: &str) -> Vec<(String, Vec<String>)> {
    let dir = env.bpffs_root.join("progs").join(area);
    // only what the journal records: a folder or pin someone else made there is not an
    // object of the lab's (`xdp unload` would have removed it)
    let ours = crate::journal::recorded_paths(&env.state_dir);
    let mut out: Vec<(String, Vec<String>)> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| {
                let e = e.ok()?;
                if !ours.contains(&e.path()) {
                    return None;
                }
                let pkg = e.file_name().into_string().ok()?;
                let mut progs: Vec<String> = std::fs::read_dir(e.path())
                    .ok()?
                    .filter_map(|p| p.ok())
                    .filter(|p| ours.contains(&p.path()))
                    .filter_map(|p| p.file_name().into_string().ok())
                    .collect();
                progs.sort();
                Some((pkg, progs))
            })
            .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Loads every program of a learner's object (all must be XDP programs and pass the
/// verifier), then pins programs and maps below `<root>/{progs,maps}/xdp-obj/<package>`,
/// each recorded in the journal before it exists. Nothing is attached and no program array
/// is filled. An earlier version of the same package is removed first, with the attachments
/// of its programs; if the new object fails to load, the old one stays as it was.
pub fn load_object(
    env: &LabEnv,
    journal: &mut Journal,
    object: &std::path::Path,
    package: &str,
    life: Lifetime,
) -> Result<ObjectReport, XdpError> {
    let obj_name = object.display().to_string();
    let data = crate::perms::read_as_invoking_user(object).map_err(|e| XdpError::Load {
        object: obj_name.clone(),
        detail: e.to_string(),
        verifier_log: None,
    })?;
    load_in_area(
        env,
        journal,
        &data,
        &obj_name,
        OBJ_AREA,
        package,
        None,
        &[],
        "",
        life,
    )
}

/// Loads the XDP programs of an object (all of them, or only `only`) and pins them and the
/// object's maps below `<root>/{progs,maps}/<area>/<package>`, as [`load_object`] describes.
/// `require` names maps the object must have (name, type): else nothing is loaded, and the
/// error ends with `require_help`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn load_in_area(
    env: &LabEnv,
    journal: &mut Journal,
    data: &[u8],
    obj_name: &str,
    area: &str,
    package: &str,
    only: Option<&str>,
    require: &[(&str, &str)],
    require_help: &str,
    life: Lifetime,
) -> Result<ObjectReport, XdpError> {
    let obj_name = obj_name.to_string();
    let load_err = |detail: String, verifier_log: Option<String>| XdpError::Load {
        object: obj_name.clone(),
        detail,
        verifier_log,
    };
    let t0 = std::time::Instant::now();
    let mut ebpf = crate::loader::with_plain_loader(data, |l| l.load(data))
        .map_err(|e| load_err(e.to_string(), None))?;
    let all: Vec<String> = ebpf.programs().map(|(n, _)| n.to_string()).collect();
    let mut names: Vec<String> = match only {
        Some(p) if all.iter().any(|n| n == p) => vec![p.to_string()],
        Some(p) => {
            return Err(load_err(
                format!(
                    "no program `{p}` in the object (it has: {})",
                    all.join(", ")
                ),
                None,
            ));
        }
        None => all,
    };
    names.sort();
    for (want, want_type) in require {
        let found = ebpf.maps().find(|(n, _)| n == want).map(|(_, m)| match m {
            aya::maps::Map::ProgramArray(_) => "prog_array",
            aya::maps::Map::PerCpuArray(_) => "percpu_array",
            aya::maps::Map::Array(_) => "array",
            _ => "another kind of map",
        });
        match found {
            Some(t) if t == *want_type => {}
            Some(t) => {
                return Err(load_err(
                    format!("its map `{want}` is a {t}, and it must be a {want_type}"),
                    None,
                ));
            }
            None => {
                return Err(load_err(
                    format!("it has no map `{want}` (a {want_type}){require_help}"),
                    None,
                ));
            }
        }
    }
    if names.is_empty() {
        return Err(load_err(
            "the object holds no program (is `SEC(\"xdp\")` missing?)".into(),
            None,
        ));
    }
    for n in &names {
        let prog = ebpf.program_mut(n).expect("listed above");
        let aya::programs::Program::Xdp(x) = prog else {
            return Err(load_err(
                format!(
                    "`{n}` is a {:?} program; `xdp load` loads XDP programs only (SEC(\"xdp\"))",
                    prog.prog_type()
                ),
                None,
            ));
        };
        x.load().map_err(|e| match e {
            ProgramError::LoadError {
                io_error,
                verifier_log,
            } => load_err(
                format!(
                    "the verifier rejected `{n}` ({io_error}); `module build` on the source \
                     explains why and points at the line"
                ),
                Some(verifier_log.to_string()),
            ),
            other => load_err(format!("`{n}`: {other}"), None),
        })?;
    }
    let load_us = t0.elapsed().as_micros() as u64;

    let (prog_dir, map_dir) = obj_dirs(env, area, package);
    let replaced = prog_dir.exists() || map_dir.exists();
    let detached = if replaced {
        unload_in_area(env, journal, area, package)?.detached
    } else {
        Vec::new()
    };

    bpffs::ensure_dir(env, journal, &prog_dir, Lifetime::Provisional)?;
    for n in &names {
        let pin = prog_dir.join(n);
        journal.add(Resource::Pin { path: pin.clone() }, Lifetime::Provisional)?;
        let prog: &mut Xdp = ebpf
            .program_mut(n)
            .expect("listed above")
            .try_into()
            .map_err(|e: ProgramError| load_err(e.to_string(), None))?;
        prog.pin(&pin).map_err(|e| XdpError::Pin {
            path: pin.clone(),
            detail: e.to_string(),
        })?;
    }
    crate::crash_point("xdp-load-object:progs-pinned");
    bpffs::ensure_dir(env, journal, &map_dir, Lifetime::Provisional)?;
    let mut maps = pin_maps(&ebpf, journal, &map_dir)?;
    maps.sort();
    journal.commit(life)?;
    Ok(ObjectReport {
        object: obj_name,
        package: package.to_string(),
        programs: names,
        maps,
        load_us,
        replaced,
        detached,
    })
}

/// What [`unload_object`] removed besides the pins.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Unloaded {
    /// attachments of its programs that ended (`node:dev <- program`)
    pub detached: Vec<String>,
    /// slots of other program arrays of the lab that held one of its programs, emptied
    /// (`map[slot] <- program`): a program array keeps a program alive, so without this the
    /// "unloaded" program would go on running behind a tail call
    pub emptied_slots: Vec<String>,
}

/// Removes a package loaded with `xdp load`: the attachments of its programs, the slots of
/// the lab's other program arrays that hold them, then its program and map pins (each
/// forgotten in the journal as it goes).
pub fn unload_object(
    env: &LabEnv,
    journal: &mut Journal,
    package: &str,
) -> Result<Unloaded, XdpError> {
    unload_in_area(env, journal, OBJ_AREA, package)
}

pub(crate) fn unload_in_area(
    env: &LabEnv,
    journal: &mut Journal,
    area: &str,
    package: &str,
) -> Result<Unloaded, XdpError> {
    let (prog_dir, map_dir) = obj_dirs(env, area, package);
    // by journal record only: what someone else put in the object's folders stays (and so
    // do the folders, which then hold it; `reset` lists it as not the lab's), and their
    // programs' attachments and slots are not the object's
    let ours = journal.recorded()?;
    let ids: std::collections::HashSet<u32> = pinned_programs(env)
        .into_iter()
        .filter(|p| p.pin.starts_with(&prog_dir) && ours.contains(&p.pin))
        .filter_map(|p| Some(aya::programs::ProgramInfo::from_pin(&p.pin).ok()?.id()))
        .collect();
    let mut detached = Vec::new();
    for a in attachments(env) {
        let id = PinnedLink::from_pin(&a.pin)
            .ok()
            .and_then(|l| {
                let fd: FdLink = l.into();
                fd.info().ok()
            })
            .map(|i| i.program_id());
        if id.is_some_and(|id| ids.contains(&id)) {
            unpin_link(&a.pin)?;
            journal.del(&Resource::Pin {
                path: a.pin.clone(),
            })?;
            detached.push(format!("{}:{} <- {}", a.node, a.dev, a.program));
        }
    }
    // slots of the lab's other program arrays (learners' objects, cubes) that hold them
    let mut emptied_slots = Vec::new();
    for area in [OBJ_AREA, CUBE_AREA] {
        let base = env.bpffs_root.join("maps").join(area);
        for m in crate::maps::list(env) {
            if m.map_type != "prog_array"
                || !m.path.starts_with(&base)
                || m.path.starts_with(&map_dir)
            {
                continue;
            }
            let Ok(d) = crate::maps::dump(&m, 4096) else {
                continue;
            };
            for r in d.rows {
                if let crate::maps::Value::Int(id) = r.value
                    && ids.contains(&(id as u32))
                {
                    let slot = r.key.to_string();
                    crate::maps::delete(&m, &slot)?;
                    emptied_slots.push(format!("{}[{slot}]", m.name));
                }
            }
        }
    }
    for dir in [&prog_dir, &map_dir] {
        bpffs::check_inside(env, dir)?;
        let mut found = Vec::new();
        bpffs::walk(dir, &mut found);
        for (path, is_dir) in found.into_iter().rev() {
            if !ours.contains(&path) {
                continue;
            }
            let r = if is_dir {
                std::fs::remove_dir(&path)
            } else {
                std::fs::remove_file(&path)
            };
            match r {
                Ok(()) => {}
                // a folder of the lab's holding what is not: kept
                Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty => continue,
                Err(e) => {
                    return Err(XdpError::Pin {
                        path: path.clone(),
                        detail: e.to_string(),
                    });
                }
            }
            journal.del(&if is_dir {
                Resource::Dir { path }
            } else {
                Resource::Pin { path }
            })?;
        }
        if !ours.contains(dir.as_path()) {
            continue;
        }
        match std::fs::remove_dir(dir) {
            Ok(()) => journal.del(&Resource::Dir { path: dir.clone() })?,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::DirectoryNotEmpty
                ) => {}
            Err(e) => {
                return Err(XdpError::Pin {
                    path: dir.clone(),
                    detail: e.to_string(),
                });
            }
        }
    }
    Ok(Unloaded {
        detached,
        emptied_slots,
    })
}

/// Pins every learner-facing map of `ebpf` (not the `.rodata`/`.bss` of globals) in
/// `map_dir`, each recorded in the journal before its pin exists; returns their names.
fn pin_maps(
    ebpf: &aya::Ebpf,
    journal: &mut Journal,
    map_dir: &Path,
) -> Result<Vec<String>, XdpError> {
    let mut maps = Vec::new();
    for (mname, map) in ebpf.maps() {
        if mname.starts_with('.') {
            continue;
        }
        let mp = map_dir.join(mname);
        journal.add(Resource::Pin { path: mp.clone() }, Lifetime::Provisional)?;
        map.pin(&mp).map_err(|e| XdpError::Pin {
            path: mp.clone(),
            detail: e.to_string(),
        })?;
        maps.push(mname.to_string());
    }
    Ok(maps)
}
