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
    #[error("unknown program `{name}` (prebuilt programs: {known})")]
    UnknownProgram { name: String, known: String },
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
        "no program named `{name}` is loaded ({loaded}); `xdp load FILE.bpf.c` loads your own object's programs"
    )]
    NoSuchProgram { name: String, loaded: String },
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
        known: eclat_model::prebuilt::names(),
    })
}

fn prog_pin(env: &LabEnv, p: &LabProgram) -> PathBuf {
    env.bpffs_root.join("progs").join(p.package).join(p.name)
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LoadReport {
    pub program: String,
    pub already_loaded: bool,
    pub maps: Vec<String>,
    pub load_us: u64,
}

/// Loads (verifies) a prebuilt program and pins it and its maps, unless it is loaded already.
pub fn load(
    env: &LabEnv,
    journal: &mut Journal,
    name: &str,
    life: Lifetime,
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
    let mut ebpf = crate::hike::with_plain_loader(|l| l.load(bytes))
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
    // only a complete load becomes permanent; a crash before this leaves provisional pins
    // that the next start removes
    journal.commit(life)?;
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
    pub node: String,
    pub dev: String,
    pub program: String,
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
    pub program: String,
    pub node: String,
    pub dev: String,
    pub mode: String,
    pub replaced: Option<String>,
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
                Ok(found) if found.path_name.starts_with(&format!("{OBJ_AREA}/")) => {
                    (found.name, found.pin)
                }
                _ => {
                    let mine: Vec<String> = loaded_objects(env)
                        .into_iter()
                        .flat_map(|(_, progs)| progs)
                        .collect();
                    return Err(XdpError::UnknownProgram {
                        name: name.to_string(),
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
        load(env, journal, name, life)?
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
    for a in attachments(env) {
        if nodes.contains(&a.node) && unpin_link(&a.pin).is_ok() {
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

/// What `xdp load` did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ObjectReport {
    pub object: String,
    /// the object's name in the lab (the file stem)
    pub package: String,
    pub programs: Vec<String>,
    pub maps: Vec<String>,
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

fn obj_dirs(env: &LabEnv, package: &str) -> (PathBuf, PathBuf) {
    (
        env.bpffs_root.join("progs").join(OBJ_AREA).join(package),
        env.bpffs_root.join("maps").join(OBJ_AREA).join(package),
    )
}

/// The objects loaded with `xdp load` and their programs.
pub fn loaded_objects(env: &LabEnv) -> Vec<(String, Vec<String>)> {
    let dir = env.bpffs_root.join("progs").join(OBJ_AREA);
    let mut out: Vec<(String, Vec<String>)> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| {
                let e = e.ok()?;
                let pkg = e.file_name().into_string().ok()?;
                let mut progs: Vec<String> = std::fs::read_dir(e.path())
                    .ok()?
                    .filter_map(|p| p.ok()?.file_name().into_string().ok())
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
    let load_err = |detail: String, verifier_log: Option<String>| XdpError::Load {
        object: obj_name.clone(),
        detail,
        verifier_log,
    };
    let data = std::fs::read(object).map_err(|e| load_err(e.to_string(), None))?;
    let t0 = std::time::Instant::now();
    let mut ebpf = crate::hike::with_plain_loader(|l| l.load(&data))
        .map_err(|e| load_err(e.to_string(), None))?;
    let mut names: Vec<String> = ebpf.programs().map(|(n, _)| n.to_string()).collect();
    names.sort();
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

    let (prog_dir, map_dir) = obj_dirs(env, package);
    let replaced = prog_dir.exists() || map_dir.exists();
    let detached = if replaced {
        unload_object(env, journal, package)?
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

/// Removes a package loaded with `xdp load`: the attachments of its programs, then its
/// program and map pins. Returns the attachments it ended (`node:dev <- program`).
pub fn unload_object(
    env: &LabEnv,
    journal: &mut Journal,
    package: &str,
) -> Result<Vec<String>, XdpError> {
    let (prog_dir, map_dir) = obj_dirs(env, package);
    let ids: std::collections::HashSet<u32> = pinned_programs(env)
        .into_iter()
        .filter(|p| p.pin.starts_with(&prog_dir))
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
    for dir in [&prog_dir, &map_dir] {
        bpffs::check_inside(env, dir)?;
        let mut found = Vec::new();
        bpffs::walk(dir, &mut found);
        for (path, is_dir) in found.into_iter().rev() {
            let r = if is_dir {
                std::fs::remove_dir(&path)
            } else {
                std::fs::remove_file(&path)
            };
            r.map_err(|e| XdpError::Pin {
                path: path.clone(),
                detail: e.to_string(),
            })?;
            journal.del(&if is_dir {
                Resource::Dir { path }
            } else {
                Resource::Pin { path }
            })?;
        }
        match std::fs::remove_dir(dir) {
            Ok(()) => journal.del(&Resource::Dir { path: dir.clone() })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(XdpError::Pin {
                    path: dir.clone(),
                    detail: e.to_string(),
                });
            }
        }
    }
    Ok(detached)
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
