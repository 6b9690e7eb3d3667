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
        self.programs
            .iter()
            .find(|p| p.package == package && p.name == name)
    }
    pub fn loader(&self, package: &str, name: &str) -> Option<&LoaderSig> {
        self.loaders
            .iter()
            .find(|l| l.package == package && l.name == name)
    }
}

fn int_layout(ty: IntType) -> TypeLayout {
    TypeLayout {
        name: format!("__{}", ty.name()),
        size: ty.bits() / 8,
        fields: Vec::new(),
    }
}

fn map(name: &str, map_type: &str, key: TypeLayout, value: TypeLayout, max_entries: u32) -> MapSig {
    MapSig {
        name: name.into(),
        map_type: map_type.into(),
        key,
        value,
        max_entries,
    }
}

fn field(name: &str, offset: u32, size: u32, int: Option<IntType>) -> Field {
    Field {
        name: name.into(),
        offset,
        size,
        int,
    }
}

fn in6() -> TypeLayout {
    TypeLayout {
        name: "struct in6_addr".into(),
        size: 16,
        fields: vec![field("addr", 0, 16, None)],
    }
}

fn bucket() -> TypeLayout {
    TypeLayout {
        name: "struct token_bucket".into(),
        size: 16,
        fields: vec![
            field("tokens_ns", 0, 8, Some(IntType::U64)),
            field("last_ns", 8, 8, Some(IntType::U64)),
        ],
    }
}

fn sd_key() -> TypeLayout {
    TypeLayout {
        name: "struct ipv6_sd_key".into(),
        size: 32,
        fields: vec![field("saddr", 0, 16, None), field("daddr", 16, 16, None)],
    }
}

impl Catalog {
    /// A hand-written mirror of the default packages of hike.md section 7 (programs
    /// `hike_default`, `meter`, `sampler`, `info`; loaders `hike_default`). The lab fills its
    /// catalog from the objects' BTF; this one exists for pure tests where no BTF is at hand.
    pub fn reference() -> Catalog {
        use IntType::*;
        let prog = |package: &str,
                    name: &str,
                    params: &[(&str, IntType)],
                    kind: ProgramKind,
                    maps: Vec<MapSig>| {
            ProgramSig {
                package: package.into(),
                name: name.into(),
                params: params
                    .iter()
                    .map(|(n, t)| Param {
                        name: (*n).into(),
                        ty: *t,
                    })
                    .collect(),
                kind,
                maps,
            }
        };
        let (f, c) = (ProgramKind::Final, ProgramKind::Continue);
        let u32l = || int_layout(U32);
        let u64l = || int_layout(U64);
        let hd = "hike_default";
        let programs = vec![
            prog(hd, "hike_pass", &[], f, vec![]),
            prog(hd, "hike_drop", &[], f, vec![]),
            prog(
                hd,
                "monitor",
                &[("event", U32)],
                c,
                vec![map("map_pcpu_mon", "percpu_hash", u32l(), u64l(), 64)],
            ),
            prog(
                hd,
                "ip6_hset_srcdst",
                &[("action", U32)],
                c,
                vec![map(
                    "ip6_hset_srcdst_map",
                    "hash",
                    sd_key(),
                    TypeLayout {
                        name: "struct hset_value".into(),
                        size: 16,
                        fields: vec![
                            field("timestamp_ns", 0, 8, Some(U64)),
                            field("timeout_ns", 8, 8, Some(U64)),
                        ],
                    },
                    8192,
                )],
            ),
            prog(
                hd,
                "lse",
                &[],
                c,
                vec![map("lse_map", "lru_percpu_hash", sd_key(), u64l(), 8192)],
            ),
            prog(hd, "l2_redirect", &[("ifindex", U32)], f, vec![]),
            prog(
                hd,
                "l2xcon",
                &[],
                f,
                vec![map("l2xcon_map", "array", u32l(), u32l(), 256)],
            ),
            prog(hd, "ip6_kroute", &[], f, vec![]),
            prog(hd, "ip6_set_ecn", &[], c, vec![]),
            prog(
                hd,
                "app_cfg_load",
                &[("key", U32)],
                c,
                vec![map("app_cfg_map", "hash", u32l(), u32l(), 256)],
            ),
            prog(
                hd,
                "app_cfg_store",
                &[("key", U32), ("value", U32)],
                c,
                vec![],
            ),
            prog(hd, "ip6_find_udp", &[], c, vec![]),
            prog(
                "meter",
                "ip6_dst_meter",
                &[],
                c,
                vec![map("ip6_dst_meter_map", "lru_hash", in6(), u64l(), 4096)],
            ),
            prog(
                "meter",
                "ip6_sd_meter",
                &[],
                c,
                vec![map("ip6_sd_meter_map", "lru_hash", sd_key(), u64l(), 4096)],
            ),
            prog(
                "meter",
                "ip6_dst_tbmon",
                &[],
                c,
                vec![map("ip6_dst_tbmon_map", "lru_hash", in6(), bucket(), 4096)],
            ),
            prog(
                "meter",
                "ip6_sd_tbmon",
                &[],
                c,
                vec![map(
                    "ip6_sd_tbmon_map",
                    "lru_hash",
                    sd_key(),
                    bucket(),
                    4096,
                )],
            ),
            prog(
                "sampler",
                "ip6_sd_dec2zero",
                &[("n", U64)],
                c,
                vec![map(
                    "ip6_sd_dec2zero_map",
                    "lru_hash",
                    sd_key(),
                    u64l(),
                    4096,
                )],
            ),
            prog(
                "info",
                "show_pkt_info",
                &[("layers", U32), ("cookie", U64)],
                c,
                vec![],
            ),
        ];
        let loaders = vec![
            LoaderSig {
                package: hd.into(),
                name: "ip6_simple_classifier".into(),
                maps: vec![map(
                    "ipv6_simple_classifier_map",
                    "array",
                    u32l(),
                    u32l(),
                    1,
                )],
            },
            LoaderSig {
                package: hd.into(),
                name: "ip6_dst_classifier".into(),
                maps: vec![map(
                    "ip6_dst_classifier_map",
                    "hash",
                    TypeLayout {
                        name: "struct in6_addr".into(),
                        size: 16,
                        fields: vec![field("addr", 0, 16, None)],
                    },
                    u32l(),
                    128,
                )],
            },
            LoaderSig {
                package: hd.into(),
                name: "udp_dport_classifier".into(),
                maps: vec![map(
                    "udp_dport_classifier_map",
                    "hash",
                    int_layout(U16),
                    u32l(),
                    64,
                )],
            },
        ];
        let constants = vec![
            Constant {
                package: hd.into(),
                name: "HIKE_HSET_LOOKUP".into(),
                value: 0,
            },
            Constant {
                package: hd.into(),
                name: "HIKE_HSET_ADD".into(),
                value: 1,
            },
            Constant {
                package: hd.into(),
                name: "HIKE_HSET_LOOKUP_AND_CLEAN".into(),
                value: 2,
            },
        ];
        Catalog {
            programs,
            loaders,
            constants,
        }
    }
}
