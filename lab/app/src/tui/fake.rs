//! Fixed fake data for the TUI's tests: the HIKe lab's status and map dumps, as the kernel
//! would report them.

use std::path::PathBuf;

use eclat_kernel::maps::{Dump, MapRef, Row, Value};
use eclat_kernel::topo::{IfStatus, NodeStatus, Status};

pub fn dump(name: &str, value: u64) -> Dump {
    let per_cpu = name == "pkt_count";
    Dump {
        map: MapRef {
            name: format!("lab/xdp_counter/{name}"),
            path: PathBuf::from("/nonexistent"),
            map_type: if per_cpu { "percpu_array" } else { "array" }.into(),
            key_size: 4,
            value_size: if per_cpu { 8 } else { 4 },
            max_entries: 1,
            id: 7,
        },
        rows: vec![Row {
            key: Value::Int(0),
            value: Value::Int(value),
            key_bytes: vec![0; 4],
            value_bytes: value.to_le_bytes().to_vec(),
        }],
    }
}

fn iface(dev: &str, peer: &str, mac: &str, addrs: &[&str], xdp: Option<&str>) -> IfStatus {
    IfStatus {
        dev: dev.into(),
        peer: peer.into(),
        mac: mac.into(),
        up: true,
        quiet: true,
        addresses: addrs.iter().map(|a| a.to_string()).collect(),
        neighbours: 1,
        xdp_prog_id: xdp.map(|_| 42),
        xdp_mode: xdp.map(|_| "driver".to_string()),
        xdp_prog: xdp.map(str::to_string),
    }
}

fn node(name: &str, fwd: bool, ifs: Vec<IfStatus>) -> NodeStatus {
    NodeStatus {
        node: name.into(),
        netns: name.into(),
        present: true,
        forwarding: fwd,
        interfaces: ifs,
        problems: vec![],
    }
}

/// The HIKe lab up; with `xdp`, xdp_counter attached to sut:enp6s0f0.
pub fn status(xdp: bool) -> Status {
    let prog = xdp.then_some("xdp_counter");
    Status {
        topology: Some("hike-lab".into()),
        nodes: vec![
            node(
                "tg",
                false,
                vec![
                    iface(
                        "enp6s0f0",
                        "sut:enp6s0f0",
                        "00:00:00:00:01:00",
                        &["12:1::1/64", "fc01::1/64", "fc02::1/64", "10.12.1.1/24"],
                        None,
                    ),
                    iface(
                        "enp6s0f1",
                        "sut:enp6s0f1",
                        "00:00:00:00:01:01",
                        &["12:2::1/64", "10.12.2.1/24"],
                        None,
                    ),
                ],
            ),
            node(
                "sut",
                true,
                vec![
                    iface(
                        "enp6s0f0",
                        "tg:enp6s0f0",
                        "00:00:00:00:02:00",
                        &[
                            "12:1::2/64",
                            "fc01::2/64",
                            "fc01::3/64",
                            "fc02::2/64",
                            "10.12.1.2/24",
                        ],
                        prog,
                    ),
                    iface(
                        "enp6s0f1",
                        "tg:enp6s0f1",
                        "00:00:00:00:02:01",
                        &["12:2::2/64", "10.12.2.2/24"],
                        None,
                    ),
                    iface(
                        "cl0",
                        "clt:veth0",
                        "00:00:00:00:02:02",
                        &["cafe::1/64"],
                        None,
                    ),
                ],
            ),
            node(
                "clt",
                false,
                vec![iface(
                    "veth0",
                    "sut:cl0",
                    "00:00:00:00:03:00",
                    &["cafe::2/64"],
                    None,
                )],
            ),
        ],
    }
}
