//! The lab's maps, found by name under `<root>/maps/`, read and written byte-exactly.
//! Per-CPU values are summed per field (what a counter means); without BTF, keys and values
//! of 1, 2, 4 or 8 bytes are little-endian integers and longer values are arrays of u64.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use aya::maps::{MapData, MapInfo, MapType};
use serde::Serialize;

use crate::LabEnv;
use crate::sys;

#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("no map named `{name}` is loaded{hint}")]
    NotFound { name: String, hint: String },
    #[error("`{name}` names several maps: {candidates}; give the longer name")]
    Ambiguous { name: String, candidates: String },
    #[error("map {path}: {what}: {err}")]
    Io {
        path: PathBuf,
        what: &'static str,
        err: std::io::Error,
    },
    #[error("map {path}: {err}")]
    Aya {
        path: PathBuf,
        err: aya::maps::MapError,
    },
    #[error("{what} `{text}` is not a number{help}")]
    Parse {
        what: &'static str,
        text: String,
        help: String,
    },
    #[error("{what} {value} does not fit in the map's {size}-byte {what}")]
    TooBig {
        what: &'static str,
        value: u64,
        size: u32,
    },
    #[error("map `{name}` has {size}-byte {what}s; `map set` handles 1, 2, 4 and 8 bytes")]
    Unsupported {
        name: String,
        what: &'static str,
        size: u32,
    },
    #[error("cannot clear `{name}`: {why}")]
    Refused { name: String, why: String },
    #[error("`{name}` has {noun}s 0 to {last} (it is an array of {len} entries): there is no {noun} {slot}", len = last + 1)]
    SlotOutOfRange {
        name: String,
        slot: u64,
        last: u64,
        /// `slot` in a program array, `key` in an array
        noun: &'static str,
    },
    #[error(
        "`{name}` is a {map_type} map, not a program array: its values are numbers (`map set {short} KEY NUMBER`)"
    )]
    NotProgArray {
        name: String,
        short: String,
        map_type: String,
    },
    #[error("the kernel refused to put `{program}` into `{name}`: {why}")]
    ProgRefused {
        name: String,
        program: String,
        why: String,
    },
    #[error("cannot delete from `{name}`: {why}")]
    NotDeletable { name: String, why: String },
}

/// A pinned map of the lab.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MapRef {
    /// path below `<root>/maps`, e.g. `lab/xdp_counter/pkt_count`
    pub name: String,
    /// the pin's full path on bpffs (not serialized)
    #[serde(skip)]
    pub path: PathBuf,
    /// the kernel's map type in lowercase (`array`, `hash`, `percpu_array`, `lru_hash`,
    /// `prog_array`, `ringbuf`, ...); `unknown` when the kernel reports a type this version does
    /// not know
    pub map_type: String,
    /// the size of a key in bytes, as the kernel holds it
    pub key_size: u32,
    /// the size of a value in bytes (of one CPU's value for a per-CPU map)
    pub value_size: u32,
    /// the most entries the map can hold (for an array: its number of slots; for a ring buffer: its
    /// size in bytes)
    pub max_entries: u32,
    /// the kernel's map ID (as `bpftool map show` lists it); a new ID each time the map is created
    /// again
    pub id: u32,
}

impl MapRef {
    /// The last component: what learners type.
    pub fn short(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }
    pub fn per_cpu(&self) -> bool {
        self.map_type.starts_with("percpu") || self.map_type.starts_with("lru_percpu")
    }
}

fn type_name(t: Result<MapType, aya::maps::MapError>) -> String {
    let s = match t {
        Ok(MapType::Hash) => "hash",
        Ok(MapType::Array) => "array",
        Ok(MapType::ProgramArray) => "prog_array",
        Ok(MapType::PerCpuHash) => "percpu_hash",
        Ok(MapType::PerCpuArray) => "percpu_array",
        Ok(MapType::LruHash) => "lru_hash",
        Ok(MapType::LruPerCpuHash) => "lru_percpu_hash",
        Ok(MapType::RingBuf) => "ringbuf",
        Ok(MapType::PerfEventArray) => "perf_event_array",
        Ok(MapType::LpmTrie) => "lpm_trie",
        Ok(MapType::DevMap) => "devmap",
        Ok(MapType::DevMapHash) => "devmap_hash",
        Ok(other) => return format!("{other:?}").to_lowercase(),
        Err(_) => "unknown",
    };
    s.to_string()
}

fn info_of(path: &Path) -> Result<MapInfo, MapError> {
    MapInfo::from_pin(path).map_err(|err| MapError::Aya {
        path: path.to_path_buf(),
        err,
    })
}

/// `map`'s pin, opened once: its fd is what the raw map commands (`sys`) take.
fn open(map: &MapRef) -> Result<MapData, MapError> {
    MapData::from_pin(&map.path).map_err(|err| MapError::Aya {
        path: map.path.clone(),
        err,
    })
}

/// The map pinned at `path`, named relative to `base`.
pub fn map_ref(path: &Path, base: &Path) -> Result<MapRef, MapError> {
    let info = info_of(path)?;
    Ok(MapRef {
        name: path
            .strip_prefix(base)
            .unwrap_or(path)
            .display()
            .to_string(),
        path: path.to_path_buf(),
        map_type: type_name(info.map_type()),
        key_size: info.key_size(),
        value_size: info.value_size(),
        max_entries: info.max_entries(),
        id: info.id(),
    })
}

/// Every pinned map of the lab, sorted by name: only pins its journal records (a pin
/// someone else made below the lab's root is not a lab map).
pub fn list(env: &LabEnv) -> Vec<MapRef> {
    let root = env.bpffs_root.join("maps");
    let ours = crate::journal::recorded_paths(&env.state_dir);
    let mut found = Vec::new();
    crate::bpffs::walk(&root, &mut found);
    let mut out = Vec::new();
    for (path, is_dir) in found {
        if is_dir || !ours.contains(&path) {
            continue;
        }
        let Ok(info) = info_of(&path) else { continue };
        let name = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        out.push(MapRef {
            name,
            path,
            map_type: type_name(info.map_type()),
            key_size: info.key_size(),
            value_size: info.value_size(),
            max_entries: info.max_entries(),
            id: info.id(),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Finds a map by its short name (`pkt_count`) or any path suffix (`xdp_counter/pkt_count`).
pub fn find(env: &LabEnv, name: &str) -> Result<MapRef, MapError> {
    let all = list(env);
    let name_t = name.trim_matches('/');
    let hits: Vec<&MapRef> = all
        .iter()
        .filter(|m| m.name == name_t || m.name.ends_with(&format!("/{name_t}")))
        .collect();
    match hits.len() {
        1 => Ok(hits[0].clone()),
        0 => Err(MapError::NotFound {
            name: name.to_string(),
            hint: if all.is_empty() {
                " (no map is loaded yet: the lesson's steps that load or attach a program, or bring up a \
                 topology whose file attaches one, make it; e.g. `xdp attach PROGRAM NODE DEV`)"
                    .into()
            } else {
                let typable = typable_names(&all);
                // a typo of a short name (`pkt_cont`), or of a path suffix of as many
                // components as typed (`xdp_counter/pkt_cont`)
                let parts = name_t.split('/').count();
                let suffixes: Vec<String> = all
                    .iter()
                    .filter_map(|m| {
                        let p: Vec<&str> = m.name.split('/').collect();
                        (p.len() >= parts).then(|| p[p.len() - parts..].join("/"))
                    })
                    .collect();
                let meant = hike::suggest::did_you_mean(
                    name_t,
                    typable.iter().chain(&suffixes).map(String::as_str),
                );
                format!("{meant} (loaded: {})", typable.join(", "))
            },
        }),
        _ => Err(MapError::Ambiguous {
            name: name.to_string(),
            candidates: hits
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The names a learner can type for each map: the last component where it is unique, else
/// the fewest last components that name that map alone (`cls/cube_ports`, `fw/cube_ports`),
/// so that a list of loaded maps never offers a name `find` then calls ambiguous.
pub fn typable_names(all: &[MapRef]) -> Vec<String> {
    let names: Vec<&str> = all.iter().map(|m| m.name.as_str()).collect();
    let names_only = |suffix: &str| {
        names
            .iter()
            .filter(|n| **n == suffix || n.ends_with(&format!("/{suffix}")))
            .count()
            == 1
    };
    names
        .iter()
        .map(|name| {
            let parts: Vec<&str> = name.split('/').collect();
            (1..=parts.len())
                .map(|k| parts[parts.len() - k..].join("/"))
                .find(|suffix| names_only(suffix))
                .unwrap_or_else(|| name.to_string())
        })
        .collect()
}

/// A decoded number or raw bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Value {
    /// a number: a key or value of 1, 2, 4 or 8 bytes, read little-endian
    Int(u64),
    /// a list of 64-bit numbers: a key or value whose size is another multiple of 8 bytes, word by
    /// word, little-endian
    Words(Vec<u64>),
    /// the bytes in hex (two digits a byte, no separator), for any other size
    Bytes(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Words(w) => {
                let s: Vec<String> = w.iter().map(|x| x.to_string()).collect();
                write!(f, "[{}]", s.join(", "))
            }
            Value::Bytes(b) => f.write_str(b),
        }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Row {
    /// the key, decoded without type information: an integer when it is 1, 2, 4 or 8 bytes
    /// (little-endian), a list of 64-bit words when a multiple of 8 bytes, else hex text
    pub key: Value,
    /// summed over CPUs for per-CPU maps
    pub value: Value,
    /// the key's raw bytes (not serialized)
    #[serde(skip)]
    pub key_bytes: Vec<u8>,
    /// the value's raw bytes, summed over CPUs for per-CPU maps (not serialized)
    #[serde(skip)]
    pub value_bytes: Vec<u8>,
    /// each CPU's value, for per-CPU maps
    #[serde(skip)]
    pub per_cpu: Vec<Vec<u8>>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Dump {
    /// the map that was read
    pub map: MapRef,
    /// its entries sorted by key (numerically for keys of 1, 2, 4 or 8 bytes, bytewise
    /// otherwise): the first the kernel hands out, at most the dump's limit; empty when the map
    /// is empty
    pub rows: Vec<Row>,
}

fn decode_int(b: &[u8]) -> Option<u64> {
    Some(match b.len() {
        1 => b[0] as u64,
        2 => u16::from_le_bytes(b.try_into().ok()?) as u64,
        4 => u32::from_le_bytes(b.try_into().ok()?) as u64,
        8 => u64::from_le_bytes(b.try_into().ok()?),
        _ => return None,
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Decodes a key or value without type information.
pub fn decode(b: &[u8]) -> Value {
    if let Some(v) = decode_int(b) {
        Value::Int(v)
    } else if b.len().is_multiple_of(8) && !b.is_empty() {
        Value::Words(
            b.chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect(),
        )
    } else {
        Value::Bytes(hex(b))
    }
}

/// Sums per-CPU slots: 8-byte words (or the whole value if smaller) add up, wrapping.
pub fn sum_per_cpu(raw: &[u8], value_size: usize, ncpu: usize) -> Vec<u8> {
    let stride = value_size.div_ceil(8) * 8;
    let mut out = vec![0u8; value_size];
    for cpu in 0..ncpu {
        let Some(slot) = raw.get(cpu * stride..cpu * stride + value_size) else {
            break;
        };
        if let (Some(a), Some(b)) = (decode_int(&out), decode_int(slot)) {
            let s = a.wrapping_add(b).to_le_bytes();
            out.copy_from_slice(&s[..value_size]);
        } else if value_size.is_multiple_of(8) {
            for (o, s) in out.chunks_exact_mut(8).zip(slot.chunks_exact(8)) {
                let o_arr: [u8; 8] = (&*o).try_into().unwrap_or([0; 8]);
                let v = u64::from_le_bytes(o_arr)
                    .wrapping_add(u64::from_le_bytes(s.try_into().unwrap_or([0; 8])));
                o.copy_from_slice(&v.to_le_bytes());
            }
        } else if cpu == 0 {
            out.copy_from_slice(slot);
        }
    }
    out
}

/// Reads every entry (at most `limit`).
pub fn dump(map: &MapRef, limit: usize) -> Result<Dump, MapError> {
    let data = open(map)?;
    dump_open(map, &data, limit)
}

/// A map kept open between readings (the TUI's panels read theirs ten times a second):
/// whether its name still pins the same map is one `stat` of the pin (pinning anew, as a
/// reload does, makes a new inode), instead of opening the pin and asking the kernel for
/// the map's info before every reading.
#[derive(Debug)]
pub struct OpenMap {
    map: MapRef,
    data: MapData,
    /// the pin's device and inode when it was opened
    pin: (u64, u64),
}

fn pin_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

impl OpenMap {
    pub fn open(map: MapRef) -> Result<Self, MapError> {
        // the identity first: a pin replaced between the two is then seen as changed at the
        // next reading, never the other way round
        let pin = pin_identity(&map.path).ok_or_else(|| MapError::NotFound {
            name: map.name.clone(),
            hint: " (it was unpinned while being opened)".into(),
        })?;
        let data = open(&map)?;
        Ok(Self { map, data, pin })
    }

    pub fn map(&self) -> &MapRef {
        &self.map
    }

    /// Is the map still pinned where it was found (not unpinned, not replaced)?
    pub fn current(&self) -> bool {
        pin_identity(&self.map.path) == Some(self.pin)
    }

    /// Its entries, as [`dump`] reads them.
    pub fn dump(&self, limit: usize) -> Result<Dump, MapError> {
        dump_open(&self.map, &self.data, limit)
    }
}

/// How [`dump`] reads a map's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// in batches of up to 256 (`BPF_MAP_LOOKUP_BATCH`) where the map's type has them, else
    /// key by key: the TUI's panels read their maps ten times a second, and a batch is one
    /// syscall where the key walk is two per entry
    Batched,
    /// key by key (`BPF_MAP_GET_NEXT_KEY`, then `BPF_MAP_LOOKUP_ELEM`): what a map without
    /// batch lookups gets, and the tests' reference for the batches
    KeyByKey,
}

/// The first `limit` entries of the map pinned at `map.path`, read as `walk` says.
pub fn dump_with(map: &MapRef, limit: usize, walk: Walk) -> Result<Dump, MapError> {
    let data = open(map)?;
    dump_open_with(map, &data, limit, walk)
}

fn dump_open(map: &MapRef, data: &MapData, limit: usize) -> Result<Dump, MapError> {
    dump_open_with(map, data, limit, Walk::Batched)
}

/// A map's layout for reading it: key size, value size, the per-CPU stride and count.
struct Shape<'a> {
    map: &'a MapRef,
    ks: usize,
    vs: usize,
    ncpu: usize,
    /// a value's size rounded up to 8: the stride of per-CPU values
    stride: usize,
}

impl Shape<'_> {
    /// The bytes of one entry's value as the kernel hands them out.
    fn value_len(&self) -> usize {
        if self.map.per_cpu() {
            self.stride * self.ncpu
        } else {
            self.vs
        }
    }

    fn row(&self, key: &[u8], raw: &[u8]) -> Row {
        let (vs, stride) = (self.vs, self.stride);
        let (value_bytes, per_cpu) = if self.map.per_cpu() {
            (
                sum_per_cpu(raw, vs, self.ncpu),
                (0..self.ncpu)
                    .filter_map(|c| raw.get(c * stride..c * stride + vs).map(|b| b.to_vec()))
                    .collect(),
            )
        } else {
            (raw[..vs].to_vec(), Vec::new())
        };
        Row {
            key: decode(key),
            value: decode(&value_bytes),
            key_bytes: key.to_vec(),
            value_bytes,
            per_cpu,
        }
    }
}

fn dump_open_with(
    map: &MapRef,
    data: &MapData,
    limit: usize,
    walk: Walk,
) -> Result<Dump, MapError> {
    let vs = map.value_size as usize;
    let shape = Shape {
        map,
        ks: map.key_size as usize,
        vs,
        ncpu: if map.per_cpu() {
            sys::possible_cpus()
        } else {
            1
        },
        stride: vs.div_ceil(8) * 8,
    };
    let batched = match walk {
        Walk::Batched => in_batches(&shape, data, limit)?,
        Walk::KeyByKey => None,
    };
    let mut rows = match batched {
        Some(rows) => rows,
        None => key_by_key(&shape, data, limit)?,
    };
    sort_rows(&mut rows);
    Ok(Dump {
        map: map.clone(),
        rows,
    })
}

/// Rows in key order: numerically for integer keys (1, 2, 4 or 8 bytes, little-endian),
/// bytewise otherwise (an IPv6 address or a flow's addresses sort as they read). A hash map
/// hands its entries out in hash order (1, 3, 0, 2), which changes as entries come and go.
pub fn sort_rows(rows: &mut [Row]) {
    rows.sort_by(|a, b| match (&a.key, &b.key) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        _ => a.key_bytes.cmp(&b.key_bytes),
    });
}

fn io_err(map: &MapRef, what: &'static str) -> impl FnOnce(std::io::Error) -> MapError {
    let path = map.path.clone();
    move |err| MapError::Io { path, what, err }
}

/// The first `limit` entries in batches; `None` when the map's type has no batch lookup (or a
/// hash bucket outgrew a batch), for the key walk to read instead.
fn in_batches(s: &Shape, data: &MapData, limit: usize) -> Result<Option<Vec<Row>>, MapError> {
    let (fd, ks, vlen) = (data.fd(), s.ks, s.value_len());
    let chunk = limit.min(s.map.max_entries.max(1) as usize).clamp(1, 256);
    let (mut keys, mut values) = (vec![0u8; ks * chunk], vec![0u8; vlen * chunk]);
    let (mut from, mut next) = (None::<Vec<u8>>, vec![0u8; ks.max(8)]);
    let mut rows = Vec::new();
    while rows.len() < limit {
        let want = chunk.min(limit - rows.len());
        let step = sys::lookup_batch(
            fd.as_fd(),
            from.as_deref(),
            &mut next,
            ks,
            &mut keys[..ks * want],
            vlen,
            &mut values[..vlen * want],
        )
        .map_err(io_err(s.map, "batch lookup"))?;
        let Some((n, end)) = step.filter(|&(n, end)| n > 0 || end) else {
            return Ok(None);
        };
        rows.extend((0..n).map(|i| s.row(&keys[i * ks..][..ks], &values[i * vlen..][..vlen])));
        if end {
            break;
        }
        from = Some(next.clone());
    }
    Ok(Some(rows))
}

/// The first `limit` entries, key after key.
fn key_by_key(s: &Shape, data: &MapData, limit: usize) -> Result<Vec<Row>, MapError> {
    let fd = data.fd();
    let mut raw = vec![0u8; s.stride * s.ncpu];
    let mut rows = Vec::new();
    let mut key: Option<Vec<u8>> = None;
    let mut next = vec![0u8; s.ks];
    while rows.len() < limit
        && sys::next_key(fd.as_fd(), key.as_deref(), &mut next)
            .map_err(io_err(s.map, "next key"))?
    {
        if sys::lookup(fd.as_fd(), &next, &mut raw).map_err(io_err(s.map, "lookup"))? {
            rows.push(s.row(&next, &raw));
        }
        key = Some(next.clone());
    }
    Ok(rows)
}

/// Writes raw `key` and `value` bytes into the map pinned at `path` (a loader's entry point,
/// written by `load`).
pub fn write_pinned(path: &Path, key: &[u8], value: &[u8]) -> Result<(), MapError> {
    let data = MapData::from_pin(path).map_err(|err| MapError::Aya {
        path: path.to_path_buf(),
        err,
    })?;
    sys::update(data.fd().as_fd(), key, value).map_err(|err| MapError::Io {
        path: path.to_path_buf(),
        what: "update",
        err,
    })
}

/// Reads the value at `key` of the map pinned at `path` (None: no such entry, or no map).
pub fn read_pinned(path: &Path, key: &[u8]) -> Result<Option<Vec<u8>>, MapError> {
    let Ok(data) = MapData::from_pin(path) else {
        return Ok(None);
    };
    let size = data.info().map(|i| i.value_size()).unwrap_or(4) as usize;
    let mut v = vec![0u8; size];
    let found = sys::lookup(data.fd().as_fd(), key, &mut v).map_err(|err| MapError::Io {
        path: path.to_path_buf(),
        what: "lookup",
        err,
    })?;
    Ok(found.then_some(v))
}

/// Removes `key` from the map pinned at `path`; an array's element, which cannot be deleted,
/// becomes all zeros (for a loader map: chain ID 0, no chain). A map that is gone has
/// nothing to remove.
pub fn remove_pinned(path: &Path, key: &[u8]) -> Result<(), MapError> {
    let Ok(data) = MapData::from_pin(path) else {
        return Ok(());
    };
    let fd = data.fd().as_fd();
    if sys::delete(fd, key).is_err() {
        let size = data.info().map(|i| i.value_size()).unwrap_or(4) as usize;
        sys::update(fd, key, &vec![0u8; size]).map_err(|err| MapError::Io {
            path: path.to_path_buf(),
            what: "zero",
            err,
        })?;
    }
    Ok(())
}

/// Parses a number for `map set`: decimal, 0x hex, an XDP verdict name (PASS, DROP, ...) or
/// an IPv4 address (its number in host order).
pub fn parse_number(what: &'static str, s: &str) -> Result<u64, MapError> {
    let t = s.trim();
    let parsed = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if let Some(n) = t.strip_prefix('-') {
        n.parse::<u64>().ok().map(|v| v.wrapping_neg())
    } else {
        t.parse::<u64>().ok()
    };
    parsed
        .or_else(|| hike::XdpAction::parse(t).map(|a| a as u64))
        // an IPv4 address is its 32-bit number, host order (10.0.1.2 = 0x0a000102)
        .or_else(|| {
            t.parse::<std::net::Ipv4Addr>()
                .ok()
                .map(|a| u32::from(a) as u64)
        })
        .ok_or_else(|| MapError::Parse {
            what,
            text: s.to_string(),
            help: " (use decimal, 0x-hex, an XDP verdict: ABORTED, DROP, PASS, TX, REDIRECT, \
                   or an IPv4 address)"
                .into(),
        })
}

fn encode(what: &'static str, name: &str, v: u64, size: u32) -> Result<Vec<u8>, MapError> {
    let b = v.to_le_bytes();
    match size {
        1 | 2 | 4 | 8 => {
            let fits = size == 8
                || v < (1u64 << (size * 8))
                || (v as i64) < 0 && (v as i64) >= -(1i64 << (size * 8 - 1));
            if !fits {
                return Err(MapError::TooBig {
                    what,
                    value: v,
                    size,
                });
            }
            Ok(b[..size as usize].to_vec())
        }
        _ => Err(MapError::Unsupported {
            name: name.to_string(),
            what,
            size,
        }),
    }
}

/// Writes `value` at `key`. In a per-CPU map the value goes to CPU 0 and every other CPU's
/// copy becomes 0, so that the sum the lab shows is the value that was set.
pub fn set(map: &MapRef, key: &str, value: &str) -> Result<(), MapError> {
    let k = if map.map_type.contains("array") {
        // an array has keys 0..max_entries; the kernel's answer to others is E2BIG
        parse_slot(map, key)?
    } else {
        encode("key", &map.name, parse_number("key", key)?, map.key_size)?
    };
    let v = encode(
        "value",
        &map.name,
        parse_number("value", value)?,
        map.value_size,
    )?;
    let data = open(map)?;
    let fd = data.fd();
    let ncpu = if map.per_cpu() {
        sys::possible_cpus()
    } else {
        1
    };
    let stride = (map.value_size as usize).div_ceil(8) * 8;
    let mut buf = vec![0u8; stride * ncpu];
    buf[..v.len()].copy_from_slice(&v);
    sys::update(
        fd.as_fd(),
        &k,
        &buf[..if ncpu == 1 { v.len() } else { buf.len() }],
    )
    .map_err(|err| MapError::Io {
        path: map.path.clone(),
        what: "update",
        err,
    })
}

/// Puts the program pinned at `prog_pin` into slot `slot` of the program array `map`
/// (what `bpftool map update ... value pinned PROG` does). Returns the program's kernel ID.
pub fn set_program(
    map: &MapRef,
    slot: &str,
    program: &str,
    prog_pin: &Path,
) -> Result<u32, MapError> {
    if map.map_type != "prog_array" {
        return Err(MapError::NotProgArray {
            name: map.name.clone(),
            short: map.short().to_string(),
            map_type: map.map_type.clone(),
        });
    }
    let key = parse_slot(map, slot)?;
    let info =
        aya::programs::ProgramInfo::from_pin(prog_pin).map_err(|e| MapError::ProgRefused {
            name: map.name.clone(),
            program: program.to_string(),
            why: format!("its pin {} cannot be opened: {e}", prog_pin.display()),
        })?;
    let pfd = info.fd().map_err(|e| MapError::ProgRefused {
        name: map.name.clone(),
        program: program.to_string(),
        why: e.to_string(),
    })?;
    let data = open(map)?;
    let mfd = data.fd();
    let value = (std::os::fd::AsRawFd::as_raw_fd(&pfd.as_fd()) as u32).to_le_bytes();
    sys::update(mfd.as_fd(), &key, &value).map_err(|err| match err.raw_os_error() {
        Some(libc::EINVAL) => MapError::ProgRefused {
            name: map.name.clone(),
            program: program.to_string(),
            why: format!(
                "a program array holds programs of one kind only: the kind of the programs \
                    that tail-call through it (type, JIT, attach type), and `{program}` ({:?}) \
                    is not of that kind; put a program of the same object or type there",
                info.program_type()
            ),
        },
        _ => MapError::Io {
            path: map.path.clone(),
            what: "update",
            err,
        },
    })?;
    Ok(info.id())
}

fn parse_slot(map: &MapRef, slot: &str) -> Result<Vec<u8>, MapError> {
    let n = parse_number("key", slot)?;
    if n >= map.max_entries as u64 {
        return Err(MapError::SlotOutOfRange {
            name: map.name.clone(),
            slot: n,
            last: map.max_entries.saturating_sub(1) as u64,
            noun: if map.map_type == "prog_array" {
                "slot"
            } else {
                "key"
            },
        });
    }
    encode("key", &map.name, n, map.key_size)
}

/// Deletes the entry at `key`: empties a program array's slot, removes a hash map's key.
/// Returns whether there was something to delete. Plain arrays cannot lose keys.
pub fn delete(map: &MapRef, key: &str) -> Result<bool, MapError> {
    let k = match map.map_type.as_str() {
        "prog_array" => parse_slot(map, key)?,
        "hash" | "lru_hash" | "percpu_hash" | "lru_percpu_hash" => {
            encode("key", &map.name, parse_number("key", key)?, map.key_size)?
        }
        "array" | "percpu_array" => {
            // a key out of range is said as such: the advice below would name it
            parse_slot(map, key)?;
            return Err(MapError::NotDeletable {
                name: map.name.clone(),
                why: format!(
                    "it is a {} map: every key from 0 to {} always exists; write 0 with \
                        `map set {} {key} 0`, or zero them all with `map clear {}`",
                    map.map_type,
                    map.max_entries.saturating_sub(1),
                    map.short(),
                    map.short()
                ),
            });
        }
        other => {
            return Err(MapError::NotDeletable {
                name: map.name.clone(),
                why: format!(
                    "`map delete` removes keys of hash maps and empties slots of program \
                        arrays; a {other} map has no such keys"
                ),
            });
        }
    };
    let data = open(map)?;
    let fd = data.fd();
    sys::delete(fd.as_fd(), &k).map_err(|err| MapError::Io {
        path: map.path.clone(),
        what: "delete",
        err,
    })
}

/// How `map clear` empties a map of a given type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClearMethod {
    /// hash-like maps: every key is deleted
    Delete,
    /// arrays: keys cannot be deleted, every value is set to zero
    Zero,
}

/// The method for a map type (as [`MapRef::map_type`] names it), or why it cannot be cleared.
pub fn clear_method(map_type: &str) -> Result<ClearMethod, String> {
    match map_type {
        "hash" | "lru_hash" | "percpu_hash" | "lru_percpu_hash" | "lpm_trie" => {
            Ok(ClearMethod::Delete)
        }
        "array" | "percpu_array" => Ok(ClearMethod::Zero),
        "prog_array" => Err(
            "it is a program array: its slots hold programs, not data, and \
             emptying it would leave every chain or tail call into them without a target. \
             Free program IDs with `module unload PACKAGE|PACKAGE.PROGRAM` or `unload SCRIPT`"
                .into(),
        ),
        "ringbuf" | "perf_event_array" => Err(format!(
            "it is a {}: it has no keys or values to clear, only events that are gone \
             once read (`chain trace` reads the HIKe VM's)",
            if map_type == "ringbuf" {
                "ring buffer"
            } else {
                "perf event array"
            }
        )),
        other => Err(format!(
            "`map clear` empties hash and array maps; a {other} map holds references to \
             kernel objects (or has no keys to delete), not data"
        )),
    }
}

/// The raw key operations [`delete_all`] needs: the kernel's, or a test's fake map.
pub trait KeyOps {
    /// The key after `key` (the first with `None`); `Ok(false)` at the end. Like the
    /// kernel's `BPF_MAP_GET_NEXT_KEY`, a `key` that is no longer in the map starts over.
    fn next_key(&mut self, key: Option<&[u8]>, next: &mut [u8]) -> std::io::Result<bool>;
    /// Deletes `key`; `Ok(false)` if it was not there (any more).
    fn delete(&mut self, key: &[u8]) -> std::io::Result<bool>;
}

struct FdOps<'a>(std::os::fd::BorrowedFd<'a>);

impl KeyOps for FdOps<'_> {
    fn next_key(&mut self, key: Option<&[u8]>, next: &mut [u8]) -> std::io::Result<bool> {
        sys::next_key(self.0, key, next)
    }
    fn delete(&mut self, key: &[u8]) -> std::io::Result<bool> {
        sys::delete(self.0, key)
    }
}

/// What a clear did to which map.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Cleared {
    /// the map that was cleared
    pub map: MapRef,
    /// how: `delete` (hash-like maps: every key deleted) or `zero` (arrays: every value set to
    /// zero)
    pub method: ClearMethod,
    /// entries deleted (hash maps), or values that were not zero and were zeroed (arrays)
    pub cleared: usize,
    /// for [`ClearMethod::Delete`]: keys seen but already gone when deleted (the program
    /// deleted them, or an LRU map evicted them, meanwhile)
    pub vanished: usize,
}

/// Deletes every key present when it starts: the keys are read first, then deleted, so
/// that deleting never disturbs the walk. Returns (deleted, vanished). A key that the
/// program removes during the walk makes the kernel start over from the first key: keys
/// already seen are skipped, and the walk is bounded, so a map that keeps changing under
/// the walk cannot keep it going for ever. Entries added after the walk (live traffic)
/// are new state and stay.
pub fn delete_all(
    ops: &mut dyn KeyOps,
    key_size: usize,
    max_entries: u32,
) -> std::io::Result<(usize, usize)> {
    let mut seen = std::collections::HashSet::new();
    let mut keys = Vec::new();
    let mut prev: Option<Vec<u8>> = None;
    let mut next = vec![0u8; key_size];
    let bound = 4 * max_entries as usize + 64;
    for _ in 0..bound {
        if !ops.next_key(prev.as_deref(), &mut next)? {
            break;
        }
        if seen.insert(next.clone()) {
            keys.push(next.clone());
        }
        prev = Some(next.clone());
    }
    let (mut deleted, mut vanished) = (0, 0);
    for k in &keys {
        if ops.delete(k)? {
            deleted += 1;
        } else {
            vanished += 1;
        }
    }
    Ok((deleted, vanished))
}

/// Empties a map: hash-like maps lose every entry, arrays have every value set to zero (on
/// every CPU for per-CPU arrays). Program arrays, ring buffers and maps of kernel objects
/// are refused with the reason ([`clear_method`]).
pub fn clear(map: &MapRef) -> Result<Cleared, MapError> {
    let method = clear_method(&map.map_type).map_err(|why| MapError::Refused {
        name: map.name.clone(),
        why,
    })?;
    let data = open(map)?;
    let fd = data.fd();
    let io = |what| {
        let path = map.path.clone();
        move |err| MapError::Io { path, what, err }
    };
    match method {
        ClearMethod::Delete => {
            let (cleared, vanished) = delete_all(
                &mut FdOps(fd.as_fd()),
                map.key_size as usize,
                map.max_entries,
            )
            .map_err(io("clear"))?;
            Ok(Cleared {
                map: map.clone(),
                method,
                cleared,
                vanished,
            })
        }
        ClearMethod::Zero => {
            let ncpu = if map.per_cpu() {
                sys::possible_cpus()
            } else {
                1
            };
            let vs = map.value_size as usize;
            let len = if map.per_cpu() {
                vs.div_ceil(8) * 8 * ncpu
            } else {
                vs
            };
            let zero = vec![0u8; len];
            let mut raw = vec![0u8; len];
            let mut cleared = 0;
            // the entries that are set, read in batches (an array of 256 entries: one or two
            // calls instead of 256 lookups), else key by key
            let set: Vec<u32> =
                match set_entries(fd.as_fd(), map.max_entries, len).map_err(io("lookup"))? {
                    Some(set) => set,
                    None => {
                        let mut set = Vec::new();
                        for i in 0..map.max_entries {
                            if sys::lookup(fd.as_fd(), &i.to_le_bytes(), &mut raw)
                                .map_err(io("lookup"))?
                                && raw.iter().any(|b| *b != 0)
                            {
                                set.push(i);
                            }
                        }
                        set
                    }
                };
            for i in set {
                let key = i.to_le_bytes();
                sys::update(fd.as_fd(), &key, &zero).map_err(|err| {
                    if err.raw_os_error() == Some(libc::EPERM) {
                        MapError::Refused {
                            name: map.name.clone(),
                            why: "the map is read-only from user space (frozen \
                                      constants, like a program's .rodata)"
                                .into(),
                        }
                    } else {
                        io("update")(err)
                    }
                })?;
                cleared += 1;
            }
            Ok(Cleared {
                map: map.clone(),
                method,
                cleared,
                vanished: 0,
            })
        }
    }
}

/// The indices of an array's entries whose value (every CPU's, for a per-CPU array; `stride`
/// bytes each) is not all zero, read with `BPF_MAP_LOOKUP_BATCH` 256 entries a call; `None`
/// when the map has no batch lookup, or the batches did not reach its end.
fn set_entries(
    fd: std::os::fd::BorrowedFd<'_>,
    max_entries: u32,
    stride: usize,
) -> std::io::Result<Option<Vec<u32>>> {
    const CHUNK: usize = 256;
    let mut keys = vec![0u8; 4 * CHUNK];
    let mut values = vec![0u8; stride * CHUNK];
    let (mut from, mut next) = (None::<[u8; 8]>, [0u8; 8]);
    let mut set = Vec::new();
    // at most one call per chunk, and one more for the end
    for _ in 0..=(max_entries as usize).div_ceil(CHUNK) {
        let Some((n, ended)) = sys::lookup_batch(
            fd,
            from.as_ref().map(|f| &f[..]),
            &mut next,
            4,
            &mut keys,
            stride,
            &mut values,
        )?
        else {
            return Ok(None);
        };
        for k in 0..n {
            let v = &values[k * stride..(k + 1) * stride];
            if v.iter().any(|b| *b != 0) {
                let key = u32::from_ne_bytes(keys[4 * k..4 * k + 4].try_into().expect("4"));
                set.push(key);
            }
        }
        if ended {
            return Ok(Some(set));
        }
        from = Some(next);
    }
    // the walk did not reach the end in the calls an array of this size needs: read it key
    // by key instead
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &[u8]) -> Row {
        Row {
            key: decode(key),
            value: Value::Int(0),
            key_bytes: key.to_vec(),
            value_bytes: vec![],
            per_cpu: vec![],
        }
    }

    /// A hash map's rows come in hash order; a dump shows them by key: integers by value
    /// (256 after 3, though its first byte is 0), other keys bytewise (fc00:: before fc01::2
    /// before fc01::10, as addresses read).
    #[test]
    fn rows_sort_by_key() {
        let mut rows: Vec<Row> = [1u32, 3, 256, 0, 2]
            .iter()
            .map(|k| row(&k.to_le_bytes()))
            .collect();
        sort_rows(&mut rows);
        let keys: Vec<String> = rows.iter().map(|r| r.key.to_string()).collect();
        assert_eq!(keys, ["0", "1", "2", "3", "256"]);
        let v6 = |s: &str| s.parse::<std::net::Ipv6Addr>().unwrap().octets();
        let mut rows: Vec<Row> = ["fc01::10", "fc01::2", "fc00::1"]
            .iter()
            .map(|a| row(&v6(a)))
            .collect();
        sort_rows(&mut rows);
        let keys: Vec<[u8; 16]> = rows
            .iter()
            .map(|r| r.key_bytes.clone().try_into().unwrap())
            .collect();
        assert_eq!(keys, [v6("fc00::1"), v6("fc01::2"), v6("fc01::10")]);
    }

    #[test]
    fn every_listed_name_finds_one_map() {
        let m = |name: &str| MapRef {
            name: name.into(),
            path: PathBuf::new(),
            map_type: "hash".into(),
            key_size: 4,
            value_size: 4,
            max_entries: 1,
            id: 1,
        };
        let all = [
            m("cube/cls/cube_ports"),
            m("cube/fw/cube_ports"),
            m("cube/fw/fw_dropped"),
            m("lab/xdp_counter/pkt_count"),
            m("a/x/stats"),
            m("b/x/stats"),
        ];
        assert_eq!(
            typable_names(&all),
            [
                "cls/cube_ports",
                "fw/cube_ports",
                "fw_dropped",
                "pkt_count",
                "a/x/stats",
                "b/x/stats"
            ]
        );
    }

    #[test]
    fn sums_per_cpu_slots() {
        // two CPUs, u64 values
        let mut raw = Vec::new();
        raw.extend(5u64.to_le_bytes());
        raw.extend(7u64.to_le_bytes());
        assert_eq!(decode(&sum_per_cpu(&raw, 8, 2)), Value::Int(12));
        // u32 values are padded to 8 bytes per CPU
        let mut raw = Vec::new();
        raw.extend(3u32.to_le_bytes());
        raw.extend([0xff; 4]);
        raw.extend(4u32.to_le_bytes());
        raw.extend([0xff; 4]);
        assert_eq!(decode(&sum_per_cpu(&raw, 4, 2)), Value::Int(7));
        // a struct of two u64 counters sums field by field
        let mut raw = Vec::new();
        for v in [1u64, 10, 2, 20] {
            raw.extend(v.to_le_bytes());
        }
        assert_eq!(decode(&sum_per_cpu(&raw, 16, 2)), Value::Words(vec![3, 30]));
    }

    #[test]
    fn numbers_and_verdicts() {
        assert_eq!(parse_number("value", "DROP").unwrap(), 1);
        assert_eq!(parse_number("value", "xdp_pass").unwrap(), 2);
        assert_eq!(parse_number("value", "0x10").unwrap(), 16);
        assert_eq!(parse_number("value", "10.0.1.2").unwrap(), 0x0a00_0102);
        assert_eq!(parse_number("value", "-1").unwrap(), u64::MAX);
        assert!(
            parse_number("value", "lots")
                .unwrap_err()
                .to_string()
                .contains("XDP verdict")
        );
        assert_eq!(encode("key", "m", 3, 4).unwrap(), vec![3, 0, 0, 0]);
        assert!(matches!(
            encode("key", "m", 1 << 40, 4),
            Err(MapError::TooBig { .. })
        ));
        assert_eq!(encode("value", "m", u64::MAX, 4).unwrap(), vec![0xff; 4]);
        assert!(matches!(
            encode("key", "m", 1, 16),
            Err(MapError::Unsupported { .. })
        ));
    }

    /// A hash map as the kernel walks it: keys in table order, and a `next_key` from a key
    /// that is no longer there starts over from the first one. `during` runs before each
    /// `next_key` (the program or an LRU eviction changing the map under the walk).
    struct Fake {
        keys: Vec<Vec<u8>>,
        calls: usize,
        during: fn(&mut Vec<Vec<u8>>, usize),
    }

    impl KeyOps for Fake {
        fn next_key(&mut self, key: Option<&[u8]>, next: &mut [u8]) -> std::io::Result<bool> {
            self.calls += 1;
            (self.during)(&mut self.keys, self.calls);
            let i = match key.and_then(|k| self.keys.iter().position(|x| x == k)) {
                Some(i) => i + 1,
                None => 0,
            };
            match self.keys.get(i) {
                Some(k) => {
                    next.copy_from_slice(k);
                    Ok(true)
                }
                None => Ok(false),
            }
        }
        fn delete(&mut self, key: &[u8]) -> std::io::Result<bool> {
            let before = self.keys.len();
            self.keys.retain(|k| k != key);
            Ok(self.keys.len() < before)
        }
    }

    fn fake(n: u32, during: fn(&mut Vec<Vec<u8>>, usize)) -> Fake {
        Fake {
            keys: (0..n).map(|i| i.to_le_bytes().to_vec()).collect(),
            calls: 0,
            during,
        }
    }

    #[test]
    fn clearing_deletes_every_key() {
        let mut f = fake(10, |_, _| {});
        assert_eq!(delete_all(&mut f, 4, 16).unwrap(), (10, 0));
        assert!(f.keys.is_empty());
        // an empty map: nothing to do
        let mut f = fake(0, |_, _| {});
        assert_eq!(delete_all(&mut f, 4, 16).unwrap(), (0, 0));
    }

    #[test]
    fn clearing_survives_keys_vanishing_during_the_walk() {
        // the program deletes key 3 while the walk stands on it: the kernel starts over
        // from the first key; every other key is still deleted, none twice
        let mut f = fake(8, |keys, call| {
            if call == 5 {
                keys.retain(|k| k != &3u32.to_le_bytes());
            }
        });
        let (deleted, vanished) = delete_all(&mut f, 4, 8).unwrap();
        assert_eq!(
            (deleted, vanished),
            (7, 1),
            "key 3 was seen, then it vanished"
        );
        assert!(f.keys.is_empty(), "{:?}", f.keys);
    }

    #[test]
    fn keys_gone_before_their_delete_are_counted_not_errors() {
        // an LRU eviction after the walk: the delete finds nothing
        struct Evicting(Fake);
        impl KeyOps for Evicting {
            fn next_key(&mut self, k: Option<&[u8]>, n: &mut [u8]) -> std::io::Result<bool> {
                self.0.next_key(k, n)
            }
            fn delete(&mut self, key: &[u8]) -> std::io::Result<bool> {
                self.0.keys.retain(|k| k != &0u32.to_le_bytes());
                self.0.delete(key)
            }
        }
        let mut f = Evicting(fake(4, |_, _| {}));
        assert_eq!(delete_all(&mut f, 4, 4).unwrap(), (3, 1));
        assert!(f.0.keys.is_empty());
    }

    #[test]
    fn a_map_that_never_stops_changing_does_not_hang_the_walk() {
        // every step removes the key the walk stands on and adds a new one
        let mut f = fake(4, |keys, call| {
            if !keys.is_empty() {
                keys.remove(0);
            }
            keys.push((1000 + call as u32).to_le_bytes().to_vec());
        });
        let (deleted, vanished) = delete_all(&mut f, 4, 4).unwrap();
        assert!(f.calls <= 4 * 4 + 64, "{} steps", f.calls);
        assert!(deleted + vanished > 0);
    }

    #[test]
    fn which_maps_can_be_cleared() {
        for t in [
            "hash",
            "lru_hash",
            "percpu_hash",
            "lru_percpu_hash",
            "lpm_trie",
        ] {
            assert_eq!(clear_method(t), Ok(ClearMethod::Delete), "{t}");
        }
        for t in ["array", "percpu_array"] {
            assert_eq!(clear_method(t), Ok(ClearMethod::Zero), "{t}");
        }
        let e = clear_method("prog_array").unwrap_err();
        assert!(
            e.contains("program array") && e.contains("module unload"),
            "{e}"
        );
        let e = clear_method("ringbuf").unwrap_err();
        assert!(
            e.contains("ring buffer") && e.contains("chain trace"),
            "{e}"
        );
        assert!(clear_method("devmap").unwrap_err().contains("devmap"));
    }
}
