//! What the compiler and the lab know about HIKe programs and loaders: signatures, owned maps,
//! exported constants. Filled from each object's BTF by `eclat-kernel`; built by hand in tests.

use serde::{Deserialize, Serialize};

/// Integer types of eCLAT and of program arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntType {
    U8,
    U16,
    U32,
    U64,
    S8,
    S16,
    S32,
    S64,
}

impl IntType {
    pub fn bits(self) -> u32 {
        match self {
            Self::U8 | Self::S8 => 8,
            Self::U16 | Self::S16 => 16,
            Self::U32 | Self::S32 => 32,
            Self::U64 | Self::S64 => 64,
        }
    }
    pub fn signed(self) -> bool {
        matches!(self, Self::S8 | Self::S16 | Self::S32 | Self::S64)
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::U8 => "u8",
            Self::U16 => "u16",
            Self::U32 => "u32",
            Self::U64 => "u64",
            Self::S8 => "s8",
            Self::S16 => "s16",
            Self::S32 => "s32",
            Self::S64 => "s64",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "u8" | "__u8" => Self::U8,
            "u16" | "__u16" => Self::U16,
            "u32" | "__u32" => Self::U32,
            "u64" | "__u64" => Self::U64,
            "s8" | "__s8" => Self::S8,
            "s16" | "__s16" => Self::S16,
            "s32" | "__s32" => Self::S32,
            "s64" | "__s64" => Self::S64,
            _ => return None,
        })
    }
}

/// Whether a program ends the packet's journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProgramKind {
    /// always returns an XDP verdict (hike_pass, hike_drop, l2_redirect, ip6_kroute, ...)
    Final,
    /// always returns HIKE_XDP_VM: the chain continues (monitor, meters, ...)
    Continue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub ty: IntType,
}

/// A field of a map key or value, for packing eCLAT tuples and decoding dumps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub offset: u32,
    /// Size in bytes. Integers of 1/2/4/8 bytes get `int`; anything else is raw bytes.
    pub size: u32,
    pub int: Option<IntType>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeLayout {
    /// C type name as in BTF (`__u32`, `struct ipv6_sd_key`, ...)
    pub name: String,
    pub size: u32,
    /// Empty for a plain integer type (then the whole value is one field).
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapSig {
    pub name: String,
    /// kernel map type name, e.g. `percpu_hash`
    pub map_type: String,
    pub key: TypeLayout,
    pub value: TypeLayout,
    pub max_entries: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramSig {
    /// eCLAT package (file stem), e.g. `hike_default` of `programs.hike_default`
    pub package: String,
    pub name: String,
    /// user arguments (at most 3), in order
    pub params: Vec<Param>,
    pub kind: ProgramKind,
    pub maps: Vec<MapSig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoaderSig {
    /// e.g. `hike_default` of `loaders.hike_default`
    pub package: String,
    pub name: String,
    pub maps: Vec<MapSig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constant {
    pub package: String,
    pub name: String,
    pub value: i64,
}

/// Everything importable from eCLAT.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub programs: Vec<ProgramSig>,
    pub loaders: Vec<LoaderSig>,
    pub constants: Vec<Constant>,
}

impl Catalog {
    pub fn program(&self, package: &str, name: &str) -> Option<&ProgramSig> {
        self.programs.iter().find(|p| p.package == package && p.name == name)
    }
    pub fn loader(&self, package: &str, name: &str) -> Option<&LoaderSig> {
        self.loaders.iter().find(|l| l.package == package && l.name == name)
    }
}
