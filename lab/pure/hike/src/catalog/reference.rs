//! `Catalog::reference()`: a hand-written mirror of the embedded packages for the pure crates'
//! tests, where no object is at hand. `eclat-model`'s test `catalog_reference` holds it equal
//! to the BTF of the committed objects (every package but `bench`): change a module, and that
//! test names what to change here.

use super::*;
use IntType::*;

fn int(ty: IntType) -> TypeLayout {
    TypeLayout {
        name: format!("__{}", ty.name()),
        size: ty.bits() / 8,
        fields: Vec::new(),
    }
}

/// A struct layout from (field, offset, size, integer type) rows.
fn st(name: &str, size: u32, fields: &[(&str, u32, u32, Option<IntType>)]) -> TypeLayout {
    TypeLayout {
        name: format!("struct {name}"),
        size,
        fields: fields
            .iter()
            .map(|&(name, offset, size, int)| Field {
                name: name.into(),
                offset,
                size,
                int,
            })
            .collect(),
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

fn in6() -> TypeLayout {
    st("in6_addr", 16, &[("in6_u", 0, 16, None)])
}

fn sd_key() -> TypeLayout {
    st(
        "ipv6_sd_key",
        32,
        &[("saddr", 0, 16, None), ("daddr", 16, 16, None)],
    )
}

fn bucket() -> TypeLayout {
    st(
        "token_bucket",
        16,
        &[("tokens_ns", 0, 8, Some(U64)), ("last_ns", 8, 8, Some(U64))],
    )
}

fn prog(
    package: &str,
    name: &str,
    params: &[(&str, IntType)],
    kind: ProgramKind,
    maps: Vec<MapSig>,
) -> ProgramSig {
    ProgramSig {
        package: package.into(),
        name: name.into(),
        params: params
            .iter()
            .map(|&(name, ty)| Param {
                name: name.into(),
                ty,
            })
            .collect(),
        kind,
        maps,
    }
}

const F: ProgramKind = ProgramKind::Final;
const C: ProgramKind = ProgramKind::Continue;
const HD: &str = "hike_default";

fn programs() -> Vec<ProgramSig> {
    let app_cfg = || map("app_cfg_map", "hash", int(U32), int(U32), 256);
    let hset_value = st(
        "ip6_hset_value",
        16,
        &[
            ("timestamp_ns", 0, 8, Some(U64)),
            ("timeout_ns", 8, 8, Some(U64)),
        ],
    );
    let lru =
        |name: &str, key: TypeLayout, value: TypeLayout| map(name, "lru_hash", key, value, 4096);
    let no_layout = || TypeLayout {
        name: String::new(),
        size: 0,
        fields: Vec::new(),
    };
    vec![
        prog(HD, "hike_pass", &[], F, vec![]),
        prog(HD, "hike_drop", &[], F, vec![]),
        prog(
            HD,
            "monitor",
            &[("event", U32)],
            C,
            vec![map("map_pcpu_mon", "percpu_hash", int(U32), int(U64), 64)],
        ),
        prog(
            HD,
            "ip6_hset_srcdst",
            &[("action", U32)],
            C,
            vec![map(
                "ip6_hset_srcdst_map",
                "hash",
                sd_key(),
                hset_value,
                8192,
            )],
        ),
        prog(
            HD,
            "lse",
            &[],
            C,
            vec![map("lse_map", "lru_percpu_hash", sd_key(), int(U64), 8192)],
        ),
        prog(HD, "l2_redirect", &[("ifindex", U32)], F, vec![]),
        prog(
            HD,
            "l2xcon",
            &[],
            F,
            vec![map("l2xcon_map", "array", int(U32), int(U32), 256)],
        ),
        prog(HD, "ip6_kroute", &[], F, vec![]),
        prog(HD, "ip6_set_ecn", &[], C, vec![]),
        prog(HD, "app_cfg_load", &[("key", U32)], C, vec![app_cfg()]),
        prog(
            HD,
            "app_cfg_store",
            &[("key", U32), ("value", U32)],
            C,
            vec![app_cfg()],
        ),
        prog(HD, "ip6_find_udp", &[], C, vec![]),
        prog(
            "meter",
            "ip6_dst_meter",
            &[],
            C,
            vec![lru("ip6_dst_meter_map", in6(), int(U64))],
        ),
        prog(
            "meter",
            "ip6_sd_meter",
            &[],
            C,
            vec![lru("ip6_sd_meter_map", sd_key(), int(U64))],
        ),
        prog(
            "meter",
            "ip6_dst_tbmon",
            &[],
            C,
            vec![lru("ip6_dst_tbmon_map", in6(), bucket())],
        ),
        prog(
            "meter",
            "ip6_sd_tbmon",
            &[],
            C,
            vec![lru("ip6_sd_tbmon_map", sd_key(), bucket())],
        ),
        prog(
            "sampler",
            "ip6_sd_dec2zero",
            &[("n", U64)],
            C,
            vec![lru("ip6_sd_dec2zero_map", sd_key(), int(U64))],
        ),
        prog(
            "info",
            "show_pkt_info",
            &[("layers", U32), ("cookie", U64)],
            C,
            vec![map(
                "pkt_info_events",
                "ringbuf",
                no_layout(),
                no_layout(),
                262144,
            )],
        ),
        // the packages of the original eCLAT's scripts (issue 21)
        prog("mynet", "udp_port", &[("port", U64)], C, vec![]),
        prog(
            "alt_mark",
            "ip6_alt_mark",
            &[],
            C,
            vec![map(
                "ip6_alt_mark_map",
                "array",
                int(U32),
                st(
                    "alt_mark_counter",
                    16,
                    &[("packets", 0, 8, Some(U64)), ("bytes", 8, 8, Some(U64))],
                ),
                2,
            )],
        ),
        prog(
            "tutorial",
            "dpi",
            &[("offset", U64), ("length", U64)],
            C,
            vec![
                map("dpi_hits", "array", int(U32), int(U64), 8),
                map(
                    "dpi_patterns",
                    "array",
                    int(U32),
                    st(
                        "dpi_pattern",
                        16,
                        &[
                            ("bytes", 0, 8, None),
                            ("len", 8, 4, Some(U32)),
                            ("pad", 12, 4, Some(U32)),
                        ],
                    ),
                    8,
                ),
            ],
        ),
        prog(
            "eip",
            "hello",
            &[],
            C,
            vec![map("eip_hello_map", "array", int(U32), int(U64), 2)],
        ),
        prog(
            "stamp",
            "collector",
            &[],
            C,
            vec![map(
                "stamp_sessions",
                "lru_hash",
                st(
                    "stamp_session",
                    40,
                    &[
                        ("saddr", 0, 16, None),
                        ("daddr", 16, 16, None),
                        ("sport", 32, 2, Some(U16)),
                        ("dport", 34, 2, Some(U16)),
                        ("pad", 36, 4, Some(U32)),
                    ],
                ),
                st(
                    "stamp_stats",
                    32,
                    &[
                        ("packets", 0, 8, Some(U64)),
                        ("last_tx_ts", 8, 8, Some(U64)),
                        ("last_rx_ns", 16, 8, Some(U64)),
                        ("last_seq", 24, 4, Some(U32)),
                        ("pad", 28, 4, Some(U32)),
                    ],
                ),
                1024,
            )],
        ),
        prog("routingpaolo", "paolo_adv_usid", &[], C, vec![]),
        prog(
            "routingpaolo",
            "paolo_chaddr",
            &[],
            C,
            vec![map(
                "paolo_chaddr_map",
                "array",
                int(U32),
                st(
                    "paolo_macs",
                    12,
                    &[("dmac", 0, 6, None), ("smac", 6, 6, None)],
                ),
                1,
            )],
        ),
        prog("routingpaolo", "paolo_kroute", &[], F, vec![]),
    ]
}

fn loaders() -> Vec<LoaderSig> {
    let loader = |package: &str, name: &str, map: MapSig| LoaderSig {
        package: package.into(),
        name: name.into(),
        maps: vec![map],
    };
    vec![
        loader(
            HD,
            "ip6_simple_classifier",
            map("ipv6_simple_classifier_map", "array", int(U32), int(U32), 1),
        ),
        loader(
            HD,
            "ip6_dst_classifier",
            map("ip6_dst_classifier_map", "hash", in6(), int(U32), 128),
        ),
        loader(
            HD,
            "udp_dport_classifier",
            map("udp_dport_classifier_map", "hash", int(U16), int(U32), 64),
        ),
        loader(
            "basic",
            "ip6_sc",
            map("ipv6_sc_map", "array", int(U32), int(U32), 1),
        ),
    ]
}

fn constants() -> Vec<Constant> {
    [
        (HD, "HIKE_EV_PASS", 0),
        (HD, "HIKE_EV_DROP", 1),
        (HD, "HIKE_EV_REDIRECT", 2),
        (HD, "HIKE_HSET_LOOKUP", 0),
        (HD, "HIKE_HSET_ADD", 1),
        (HD, "HIKE_HSET_LOOKUP_AND_CLEAN", 2),
        ("meter", "HIKE_TB_RATE", 20),
        ("meter", "HIKE_TB_BUCKET", 5),
        ("meter", "HIKE_TB_IN_PROFILE", 0),
        ("meter", "HIKE_TB_OUT_PROFILE", -1),
        ("info", "HIKE_INFO_L2", 1),
        ("info", "HIKE_INFO_L3", 2),
        ("info", "HIKE_INFO_L4", 4),
        ("alt_mark", "ALT_MARK_COLOR_BIT", 1),
        ("tutorial", "DPI_MAX_PATTERNS", 8),
        ("tutorial", "DPI_MAX_LEN", 8),
        ("tutorial", "DPI_WINDOW", 64),
        ("eip", "EIP_OPT_TYPE", 0x3e),
        ("stamp", "STAMP_PORT", 862),
        ("routingpaolo", "USID_BLOCK_BYTES", 4),
    ]
    .into_iter()
    .map(|(package, name, value)| Constant {
        package: package.into(),
        name: name.into(),
        value,
    })
    .collect()
}

/// The programs `programs.mynet` and `programs.net` give other import paths to.
const NET_ALIASES: [(&str, &str); 11] = [
    (HD, "hike_drop"),
    (HD, "hike_pass"),
    (HD, "monitor"),
    (HD, "ip6_hset_srcdst"),
    (HD, "lse"),
    (HD, "l2_redirect"),
    ("meter", "ip6_sd_tbmon"),
    ("meter", "ip6_dst_tbmon"),
    ("meter", "ip6_sd_meter"),
    ("meter", "ip6_dst_meter"),
    ("sampler", "ip6_sd_dec2zero"),
];

fn aliases() -> Vec<Alias> {
    ["mynet", "net"]
        .into_iter()
        .flat_map(|package| {
            NET_ALIASES.iter().map(move |&(target, name)| Alias {
                package: package.into(),
                name: name.into(),
                target_package: target.into(),
                target_name: name.into(),
            })
        })
        .collect()
}

impl Catalog {
    /// A hand-written mirror of the embedded packages (hike.md section 7 and the original
    /// eCLAT's `mynet`, `net`, `alt_mark`, `tutorial`, `eip`, `stamp`, `routingpaolo`,
    /// `loaders.basic`). The lab fills its catalog from the objects' BTF; this one exists for
    /// pure tests where no object is at hand, and a test keeps it equal to the BTF.
    pub fn reference() -> Catalog {
        Catalog {
            programs: programs(),
            loaders: loaders(),
            constants: constants(),
            aliases: aliases(),
        }
    }
}
