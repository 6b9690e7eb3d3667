//! Cubes: Polycube's model on the lab's kernel objects (lesson 5). A cube is one XDP program
//! loaded from an object that includes `cube/cube.h`, with maps of its own: every cube is a
//! separate load, pinned at `<root>/progs/cube/<NAME>/<program>` and
//! `<root>/maps/cube/<NAME>/<map>`. Its output ports are the slots of its `cube_ports`
//! program array; connecting port P of cube A to cube B is one update of A's slot P with B's
//! program (atomic: a packet sees the old peer or the new one, never an empty slot). Its
//! counters are its `cube_stats` (see `cube.h` for the indexes).

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::LabEnv;
use crate::journal::{Journal, Lifetime};
use crate::maps::{self, MapError, Value};
use crate::xdp::{self, ObjectReport, XdpError};

/// The area of cubes below `progs/` and `maps/`.
pub use crate::xdp::CUBE_AREA;
/// The program array whose slots are a cube's output ports.
pub const PORTS_MAP: &str = "cube_ports";
/// A cube's counters (`cube.h`: rx, pass, drop, miss, then tx per port).
pub const STATS_MAP: &str = "cube_stats";
/// `CUBE_MAX_PORTS` of `cube.h`: the ports `cube_ports` has.
pub const MAX_PORTS: u32 = 4;

/// The cubes the lab ships (`cube add NAME classifier`), embedded like its other objects.
pub const BUILTIN: &[(&str, &str, &str)] = &[
    (
        "classifier",
        "cubes/classifier.o",
        "IPv6 out of port 0, everything else to the kernel's stack",
    ),
    (
        "monitor",
        "cubes/monitor.o",
        "counts packets by UDP destination port in `mon_class`, then port 0 (or the stack)",
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum CubeError {
    #[error(
        "`{name}` cannot name a cube: use letters, digits and _ (at most 32), starting with a letter"
    )]
    BadName { name: String },
    #[error("there is a cube `{name}` already; `cube del {name}` removes it")]
    Exists { name: String },
    #[error("no cube `{name}` ({known})")]
    NoSuchCube { name: String, known: String },
    #[error(
        "`{source_name}` is neither a built-in cube ({builtin}) nor a file FILE.bpf.c or FILE.o"
    )]
    NoSuchSource {
        source_name: String,
        builtin: String,
    },
    #[error(
        "{object} has programs {programs}: say which one is the cube, `cube add NAME {object}:PROGRAM`"
    )]
    WhichProgram { object: String, programs: String },
    #[error("cube `{name}` has ports 0 to {last}: there is no port {port}")]
    NoSuchPort { name: String, port: u32, last: u32 },
    #[error(
        "cube `{name}` is still connected: {from} lead{s} to it; `cube disconnect` {them} first, \
         or connect {them} elsewhere",
        s = if from.contains(',') { "" } else { "s" },
        them = if from.contains(',') { "them" } else { "it" }
    )]
    InUse { name: String, from: String },
    #[error(transparent)]
    Xdp(#[from] XdpError),
    #[error(transparent)]
    Map(#[from] MapError),
}

/// What a cube is made of.
pub enum Source<'a> {
    /// a built-in cube's object (embedded)
    Builtin(&'static str),
    /// an object file (a learner's, built from C by the caller)
    File(&'a std::path::Path),
}

/// The built-in cube called `name`.
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|b| b.0 == name).map(|b| b.1)
}

pub fn builtin_names() -> String {
    BUILTIN.iter().map(|b| b.0).collect::<Vec<_>>().join(", ")
}

fn check_name(name: &str) -> Result<(), CubeError> {
    let ok = name.len() <= 32
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(CubeError::BadName { name: name.into() })
    }
}

/// Loads `source` as cube `name` (program `program`, or the object's only one): its program
/// and maps pinned, recorded in the journal first, nothing connected or attached.
pub fn add(
    env: &LabEnv,
    journal: &mut Journal,
    name: &str,
    source: Source<'_>,
    program: Option<&str>,
    life: Lifetime,
) -> Result<ObjectReport, CubeError> {
    check_name(name)?;
    if xdp::loaded_in(env, CUBE_AREA)
        .iter()
        .any(|(c, _)| c == name)
    {
        return Err(CubeError::Exists { name: name.into() });
    }
    let (data, obj_name): (Vec<u8>, String) = match source {
        Source::Builtin(path) => (
            crate::objects::get(path)
                .ok_or_else(|| XdpError::MissingObject {
                    object: path.into(),
                })?
                .to_vec(),
            path.to_string(),
        ),
        Source::File(f) => (
            crate::perms::read_as_invoking_user(f).map_err(|e| XdpError::Load {
                object: f.display().to_string(),
                detail: e.to_string(),
                verifier_log: None,
            })?,
            f.display().to_string(),
        ),
    };
    let program = match program {
        Some(p) => p.to_string(),
        None => {
            let progs = eclat_model::meta::read(name, &data)
                .map(|m| m.xdp_programs)
                .unwrap_or_default();
            match progs.as_slice() {
                [one] => one.clone(),
                _ => {
                    return Err(CubeError::WhichProgram {
                        object: obj_name,
                        programs: progs.join(", "),
                    });
                }
            }
        }
    };
    Ok(xdp::load_in_area(
        env,
        journal,
        &data,
        &obj_name,
        CUBE_AREA,
        name,
        Some(&program),
        &[(PORTS_MAP, "prog_array"), (STATS_MAP, "percpu_array")],
        ": a cube's object includes <cube/cube.h>, which declares its ports and counters",
        life,
    )?)
}

/// A cube's output port.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Port {
    /// the port's number: its slot in the cube's `cube_ports` program array, from 0
    pub port: u32,
    /// the cube connected there (or the program, when it is not a cube's)
    pub peer: Option<String>,
    /// packets sent out of it
    pub tx: u64,
}

/// A cube's counters (`cube_stats`, summed over CPUs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Stats {
    /// packets that entered the cube (`CUBE_RX` of `cube_stats`, summed over CPUs) since it was
    /// added
    pub rx: u64,
    /// packets it handed to the kernel's stack (XDP_PASS)
    pub pass: u64,
    /// packets it dropped on purpose
    pub drop: u64,
    /// packets sent to a port with nothing connected (dropped)
    pub miss: u64,
}

/// A cube as `cube show` sees it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Cube {
    /// the cube's name, as given to `cube add`
    pub name: String,
    /// the name of its XDP program in its object
    pub program: String,
    /// the kernel's ID of that program (what a port of another cube holds when connected to it)
    pub program_id: u32,
    /// its output ports, one per slot of its `cube_ports` array, each with what is connected and
    /// the packets sent out of it
    pub ports: Vec<Port>,
    /// its counters, read from its `cube_stats` map
    pub stats: Stats,
    /// interfaces where its program is attached (`node:dev`)
    pub attached: Vec<String>,
    /// the program's pin on bpffs (not serialized)
    #[serde(skip)]
    pub pin: PathBuf,
}

fn map_of(env: &LabEnv, cube: &str, map: &str) -> Result<maps::MapRef, MapError> {
    maps::find(env, &format!("{CUBE_AREA}/{cube}/{map}"))
}

fn int(v: &Value) -> u64 {
    match v {
        Value::Int(i) => *i,
        Value::Words(w) => w.first().copied().unwrap_or(0),
        Value::Bytes(_) => 0,
    }
}

/// Every cube, sorted by name, with its wiring, counters and attachments.
pub fn list(env: &LabEnv) -> Vec<Cube> {
    let cubes: Vec<(String, String, PathBuf, u32)> = xdp::loaded_in(env, CUBE_AREA)
        .into_iter()
        .filter_map(|(name, progs)| {
            let program = progs.into_iter().next()?;
            let pin = xdp::obj_dirs(env, CUBE_AREA, &name).0.join(&program);
            let id = aya::programs::ProgramInfo::from_pin(&pin).ok()?.id();
            Some((name, program, pin, id))
        })
        .collect();
    let by_id: HashMap<u32, String> = cubes.iter().map(|c| (c.3, c.0.clone())).collect();
    let others = xdp::program_names_by_id(env);
    let links: Vec<(u32, String)> = xdp::attachments(env)
        .into_iter()
        .filter_map(|a| {
            let l = aya::programs::links::PinnedLink::from_pin(&a.pin).ok()?;
            let fd: aya::programs::links::FdLink = l.into();
            Some((
                fd.info().ok()?.program_id(),
                format!("{}:{}", a.node, a.dev),
            ))
        })
        .collect();
    cubes
        .into_iter()
        .map(|(name, program, pin, id)| {
            let mut stats = Stats::default();
            let mut tx = [0u64; 4];
            if let Ok(d) = map_of(env, &name, STATS_MAP).and_then(|m| maps::dump(&m, 64)) {
                for r in &d.rows {
                    let (k, v) = (int(&r.key), int(&r.value));
                    match k {
                        0 => stats.rx = v,
                        1 => stats.pass = v,
                        2 => stats.drop = v,
                        3 => stats.miss = v,
                        p if (4..8).contains(&p) => tx[(p - 4) as usize] = v,
                        _ => {}
                    }
                }
            }
            let (nports, peers) = match map_of(env, &name, PORTS_MAP) {
                Ok(m) => {
                    let peers: HashMap<u64, u32> = maps::dump(&m, 64)
                        .map(|d| {
                            d.rows
                                .iter()
                                .map(|r| (int(&r.key), int(&r.value) as u32))
                                .collect()
                        })
                        .unwrap_or_default();
                    (m.max_entries, peers)
                }
                Err(_) => (0, HashMap::new()),
            };
            let ports = (0..nports)
                .map(|p| Port {
                    port: p,
                    peer: peers.get(&(p as u64)).map(|id| {
                        by_id
                            .get(id)
                            .cloned()
                            .or_else(|| others.get(id).map(|n| format!("program {n}")))
                            .unwrap_or_else(|| format!("program ID {id}"))
                    }),
                    tx: tx.get(p as usize).copied().unwrap_or(0),
                })
                .collect();
            Cube {
                attached: links
                    .iter()
                    .filter(|(pid, _)| *pid == id)
                    .map(|(_, at)| at.clone())
                    .collect(),
                name,
                program,
                program_id: id,
                ports,
                stats,
                pin,
            }
        })
        .collect()
}

/// The cube called `name`.
pub fn get(env: &LabEnv, name: &str) -> Result<Cube, CubeError> {
    let all = list(env);
    match all.iter().find(|c| c.name == name) {
        Some(c) => Ok(c.clone()),
        None => Err(CubeError::NoSuchCube {
            name: name.into(),
            known: if all.is_empty() {
                "there is none yet: `cube add NAME SOURCE`".into()
            } else {
                format!(
                    "cubes: {}",
                    all.iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        }),
    }
}

/// What `connect` did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Connected {
    /// the cube whose port was connected
    pub from: String,
    /// the port's number
    pub port: u32,
    /// the cube now connected to it
    pub to: String,
    /// the cube that was connected there before (replaced in the same update)
    pub replaced: Option<String>,
    /// the kernel's ID of the program put in the port's slot (the `to` cube's program)
    pub program_id: u32,
}

fn port_of(c: &Cube, port: u32) -> Result<(), CubeError> {
    if (port as usize) < c.ports.len() {
        Ok(())
    } else {
        Err(CubeError::NoSuchPort {
            name: c.name.clone(),
            port,
            last: (c.ports.len() as u32).saturating_sub(1),
        })
    }
}

/// Connects port `port` of cube `from` to cube `to`: one update of `from`'s `cube_ports`
/// slot, which replaces whatever was there in the same step.
pub fn connect(env: &LabEnv, from: &str, port: u32, to: &str) -> Result<Connected, CubeError> {
    let a = get(env, from)?;
    let b = get(env, to)?;
    port_of(&a, port)?;
    let m = map_of(env, from, PORTS_MAP)?;
    let replaced = a.ports[port as usize].peer.clone();
    let program_id = maps::set_program(&m, &port.to_string(), &b.program, &b.pin)?;
    Ok(Connected {
        from: from.into(),
        port,
        to: to.into(),
        replaced,
        program_id,
    })
}

/// Empties port `port` of cube `from`; returns the cube that was connected there.
pub fn disconnect(env: &LabEnv, from: &str, port: u32) -> Result<Option<String>, CubeError> {
    let a = get(env, from)?;
    port_of(&a, port)?;
    let m = map_of(env, from, PORTS_MAP)?;
    maps::delete(&m, &port.to_string())?;
    Ok(a.ports[port as usize].peer.clone())
}

/// Removes cube `name`: refused while a port of another cube leads to it (its packets would
/// start to miss); an attachment of its program ends with it.
pub fn remove(env: &LabEnv, journal: &mut Journal, name: &str) -> Result<xdp::Unloaded, CubeError> {
    let all = list(env);
    // a cube half removed (a `cube del` killed after its program's pin went: its maps are
    // still pinned and recorded) is not listed, but is still there to remove: this finishes
    // it (`cube add` calls the name taken, so `cube del` must not say there is no such cube)
    if !all.iter().any(|c| c.name == name)
        && !xdp::loaded_in(env, CUBE_AREA)
            .iter()
            .any(|(c, _)| c == name)
    {
        get(env, name)?;
    }
    let from: Vec<String> = all
        .iter()
        .filter(|c| c.name != name)
        .flat_map(|c| {
            c.ports
                .iter()
                .filter(|p| p.peer.as_deref() == Some(name))
                .map(move |p| format!("{}:{}", c.name, p.port))
        })
        .collect();
    if !from.is_empty() {
        return Err(CubeError::InUse {
            name: name.into(),
            from: from.join(", "),
        });
    }
    Ok(xdp::unload_in_area(env, journal, CUBE_AREA, name)?)
}
