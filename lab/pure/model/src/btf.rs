//! A small reader of an object's `.BTF` section: enough to recover what the HIKe module API
//! records there (signatures, map ownership, constants; see `ebpf-modules/include/hike/api.h`)
//! and the key/value layouts of maps. aya-obj parses BTF too, but keeps its types crate-private.

use std::collections::HashMap;

use hike::catalog::{Field, IntType, TypeLayout};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BtfError {
    #[error("BTF section is truncated or malformed at byte {0}")]
    Malformed(usize),
    #[error("bad BTF magic")]
    Magic,
    #[error("unknown BTF kind {0}")]
    Kind(u32),
}

/// One BTF type, with the parts we use.
#[derive(Debug, Clone)]
pub enum Type {
    Void,
    Int {
        name: String,
        size: u32,
        signed: bool,
    },
    Ptr {
        ty: u32,
    },
    Array {
        ty: u32,
        nelems: u32,
    },
    Struct {
        name: String,
        size: u32,
        members: Vec<Member>,
        union: bool,
    },
    Enum {
        name: String,
        size: u32,
        values: Vec<(String, i64)>,
    },
    Typedef {
        name: String,
        ty: u32,
    },
    /// const, volatile, restrict, type tag
    Modifier {
        ty: u32,
    },
    Var {
        name: String,
        ty: u32,
    },
    DataSec {
        name: String,
        vars: Vec<u32>,
    },
    Other {
        name: String,
    },
}

#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub ty: u32,
    /// offset in bits
    pub bit_offset: u32,
}

#[derive(Debug, Clone)]
pub struct Btf {
    /// index = type ID (0 = void)
    pub types: Vec<Type>,
}

fn u32_at(b: &[u8], off: usize) -> Result<u32, BtfError> {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes(s.try_into().expect("4 bytes")))
        .ok_or(BtfError::Malformed(off))
}

fn str_at(strs: &[u8], off: u32) -> String {
    let s = strs.get(off as usize..).unwrap_or(&[]);
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    String::from_utf8_lossy(&s[..end]).into_owned()
}

impl Btf {
    pub fn parse(data: &[u8]) -> Result<Self, BtfError> {
        if data.len() < 24 {
            return Err(BtfError::Malformed(0));
        }
        if u16::from_le_bytes([data[0], data[1]]) != 0xeb9f {
            return Err(BtfError::Magic);
        }
        let hdr_len = u32_at(data, 4)? as usize;
        let type_off = u32_at(data, 8)? as usize;
        let type_len = u32_at(data, 12)? as usize;
        let str_off = u32_at(data, 16)? as usize;
        let str_len = u32_at(data, 20)? as usize;
        let types_b = data
            .get(hdr_len + type_off..hdr_len + type_off + type_len)
            .ok_or(BtfError::Malformed(hdr_len + type_off))?;
        let strs = data
            .get(hdr_len + str_off..hdr_len + str_off + str_len)
            .ok_or(BtfError::Malformed(hdr_len + str_off))?;
        let mut types = vec![Type::Void];
        let mut p = 0usize;
        while p < types_b.len() {
            let name = str_at(strs, u32_at(types_b, p)?);
            let info = u32_at(types_b, p + 4)?;
            let size_or_type = u32_at(types_b, p + 8)?;
            let vlen = (info & 0xffff) as usize;
            let kind = (info >> 24) & 0x1f;
            let kflag = info >> 31 != 0;
            p += 12;
            let t = match kind {
                1 => {
                    let enc = u32_at(types_b, p)?;
                    p += 4;
                    Type::Int {
                        name,
                        size: size_or_type,
                        signed: (enc >> 24) & 1 != 0,
                    }
                }
                2 => Type::Ptr { ty: size_or_type },
                3 => {
                    let ty = u32_at(types_b, p)?;
                    let nelems = u32_at(types_b, p + 8)?;
                    p += 12;
                    Type::Array { ty, nelems }
                }
                4 | 5 => {
                    let mut members = Vec::with_capacity(vlen);
                    for _ in 0..vlen {
                        let mname = str_at(strs, u32_at(types_b, p)?);
                        let ty = u32_at(types_b, p + 4)?;
                        let off = u32_at(types_b, p + 8)?;
                        p += 12;
                        members.push(Member {
                            name: mname,
                            ty,
                            bit_offset: if kflag { off & 0x00ff_ffff } else { off },
                        });
                    }
                    Type::Struct {
                        name,
                        size: size_or_type,
                        members,
                        union: kind == 5,
                    }
                }
                6 => {
                    let mut values = Vec::with_capacity(vlen);
                    for _ in 0..vlen {
                        let vname = str_at(strs, u32_at(types_b, p)?);
                        let raw = u32_at(types_b, p + 4)?;
                        p += 8;
                        let v = if kflag { raw as i32 as i64 } else { raw as i64 };
                        values.push((vname, v));
                    }
                    Type::Enum {
                        name,
                        size: size_or_type,
                        values,
                    }
                }
                19 => {
                    let mut values = Vec::with_capacity(vlen);
                    for _ in 0..vlen {
                        let vname = str_at(strs, u32_at(types_b, p)?);
                        let lo = u32_at(types_b, p + 4)? as u64;
                        let hi = u32_at(types_b, p + 8)? as u64;
                        p += 12;
                        values.push((vname, ((hi << 32) | lo) as i64));
                    }
                    Type::Enum {
                        name,
                        size: size_or_type,
                        values,
                    }
                }
                7 | 12 | 16 => Type::Other { name },
                8 => Type::Typedef {
                    name,
                    ty: size_or_type,
                },
                9 | 10 | 11 | 18 => Type::Modifier { ty: size_or_type },
                13 => {
                    p += 8 * vlen;
                    Type::Other { name }
                }
                14 => {
                    p += 4;
                    Type::Var {
                        name,
                        ty: size_or_type,
                    }
                }
                15 => {
                    let mut vars = Vec::with_capacity(vlen);
                    for _ in 0..vlen {
                        vars.push(u32_at(types_b, p)?);
                        p += 12;
                    }
                    Type::DataSec { name, vars }
                }
                17 => {
                    p += 4;
                    Type::Other { name }
                }
                k => return Err(BtfError::Kind(k)),
            };
            types.push(t);
        }
        Ok(Self { types })
    }

    pub fn get(&self, id: u32) -> &Type {
        self.types.get(id as usize).unwrap_or(&Type::Void)
    }

    /// Follows modifiers (not typedefs).
    pub fn skip_mods(&self, mut id: u32) -> u32 {
        for _ in 0..32 {
            match self.get(id) {
                Type::Modifier { ty } => id = *ty,
                _ => break,
            }
        }
        id
    }

    /// Follows modifiers and typedefs.
    pub fn resolve(&self, mut id: u32) -> u32 {
        for _ in 0..32 {
            match self.get(id) {
                Type::Modifier { ty } | Type::Typedef { ty, .. } => id = *ty,
                _ => break,
            }
        }
        id
    }

    pub fn size_of(&self, id: u32) -> u32 {
        match self.get(self.resolve(id)) {
            Type::Int { size, .. } | Type::Struct { size, .. } | Type::Enum { size, .. } => *size,
            Type::Ptr { .. } => 8,
            Type::Array { ty, nelems } => self.size_of(*ty) * nelems,
            _ => 0,
        }
    }

    /// The C spelling of a type, e.g. `__u32`, `struct ipv6_sd_key`, `__u8[16]`.
    pub fn name_of(&self, id: u32) -> String {
        match self.get(self.skip_mods(id)) {
            Type::Void => "void".into(),
            Type::Int { name, .. } | Type::Typedef { name, .. } => name.clone(),
            Type::Ptr { ty } => format!("{} *", self.name_of(*ty)),
            Type::Array { ty, nelems } => format!("{}[{nelems}]", self.name_of(*ty)),
            Type::Struct { name, union, .. } => {
                let kw = if *union { "union" } else { "struct" };
                if name.is_empty() {
                    format!("{kw} {{...}}")
                } else {
                    format!("{kw} {name}")
                }
            }
            Type::Enum { name, .. } => format!("enum {name}"),
            Type::Var { name, .. } | Type::DataSec { name, .. } | Type::Other { name } => {
                name.clone()
            }
            Type::Modifier { .. } => "?".into(),
        }
    }

    /// The eCLAT integer type of a C type: by typedef name first (`__u32`, `u64`, ...), then
    /// by the underlying integer's size and sign.
    pub fn int_type(&self, mut id: u32) -> Option<IntType> {
        for _ in 0..32 {
            match self.get(id) {
                Type::Modifier { ty } => id = *ty,
                Type::Typedef { name, ty } => {
                    if let Some(t) = IntType::parse(name) {
                        return Some(t);
                    }
                    id = *ty;
                }
                Type::Int { size, signed, .. } => {
                    return Some(match (size, signed) {
                        (1, false) => IntType::U8,
                        (2, false) => IntType::U16,
                        (4, false) => IntType::U32,
                        (8, false) => IntType::U64,
                        (1, true) => IntType::S8,
                        (2, true) => IntType::S16,
                        (4, true) => IntType::S32,
                        (8, true) => IntType::S64,
                        _ => return None,
                    });
                }
                Type::Enum { size, .. } => {
                    return Some(if *size == 8 {
                        IntType::U64
                    } else {
                        IntType::U32
                    });
                }
                _ => return None,
            }
        }
        None
    }

    /// Key/value layout for display and packing: struct members one level deep.
    pub fn layout(&self, id: u32) -> TypeLayout {
        let name = self.name_of(id);
        let size = self.size_of(id);
        let fields = match self.get(self.resolve(id)) {
            Type::Struct { members, .. } => members
                .iter()
                .map(|m| {
                    let msize = self.size_of(m.ty);
                    Field {
                        name: m.name.clone(),
                        offset: m.bit_offset / 8,
                        size: msize,
                        int: if matches!(msize, 1 | 2 | 4 | 8) {
                            self.int_type(m.ty)
                        } else {
                            None
                        },
                    }
                })
                .collect(),
            _ => Vec::new(),
        };
        TypeLayout { name, size, fields }
    }

    /// Every VAR by name.
    pub fn vars(&self) -> HashMap<&str, u32> {
        self.types
            .iter()
            .filter_map(|t| match t {
                Type::Var { name, ty } => Some((name.as_str(), *ty)),
                _ => None,
            })
            .collect()
    }

    /// The VARs of a DATASEC, by name, with their type IDs.
    pub fn datasec_vars(&self, sec: &str) -> Vec<(String, u32)> {
        for t in &self.types {
            if let Type::DataSec { name, vars } = t
                && name == sec
            {
                return vars
                    .iter()
                    .filter_map(|&v| match self.get(v) {
                        Type::Var { name, ty } => Some((name.clone(), *ty)),
                        _ => None,
                    })
                    .collect();
            }
        }
        Vec::new()
    }
}

/// A BTF-defined map (`.maps` section): `type`, `key`, `value`, `max_entries` members.
#[derive(Debug, Clone)]
pub struct BtfMap {
    pub name: String,
    pub map_type: u32,
    pub key: Option<u32>,
    pub value: Option<u32>,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

impl Btf {
    pub fn maps(&self) -> Vec<BtfMap> {
        let mut out = Vec::new();
        for (name, ty) in self.datasec_vars(".maps") {
            let Type::Struct { members, .. } = self.get(self.resolve(ty)) else {
                continue;
            };
            let mut m = BtfMap {
                name,
                map_type: 0,
                key: None,
                value: None,
                key_size: 0,
                value_size: 0,
                max_entries: 0,
            };
            for mem in members {
                // __uint(x, N) is `int (*x)[N]`; __type(x, T) is `T *x`
                let pointee = match self.get(self.skip_mods(mem.ty)) {
                    Type::Ptr { ty } => *ty,
                    _ => continue,
                };
                let n = match self.get(self.skip_mods(pointee)) {
                    Type::Array { nelems, .. } => *nelems,
                    _ => 0,
                };
                match mem.name.as_str() {
                    "type" => m.map_type = n,
                    "max_entries" => m.max_entries = n,
                    "key_size" => m.key_size = n,
                    "value_size" => m.value_size = n,
                    "key" => {
                        m.key = Some(pointee);
                        m.key_size = self.size_of(pointee);
                    }
                    "value" => {
                        m.value = Some(pointee);
                        m.value_size = self.size_of(pointee);
                    }
                    _ => {}
                }
            }
            out.push(m);
        }
        out
    }
}

/// Kernel map type names (`enum bpf_map_type`), lower case as bpftool prints them.
pub fn map_type_name(t: u32) -> &'static str {
    match t {
        1 => "hash",
        2 => "array",
        3 => "prog_array",
        4 => "perf_event_array",
        5 => "percpu_hash",
        6 => "percpu_array",
        7 => "stack_trace",
        8 => "cgroup_array",
        9 => "lru_hash",
        10 => "lru_percpu_hash",
        11 => "lpm_trie",
        12 => "array_of_maps",
        13 => "hash_of_maps",
        14 => "devmap",
        15 => "sockmap",
        16 => "cpumap",
        17 => "xskmap",
        18 => "sockhash",
        22 => "queue",
        23 => "stack",
        25 => "devmap_hash",
        27 => "ringbuf",
        30 => "bloom_filter",
        _ => "unknown",
    }
}
