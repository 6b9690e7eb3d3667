//! Fixed fake data for the TUI's tests: the HIKe lab's status and map dumps, as the kernel
//! would report them.

use std::path::PathBuf;

use eclat_course::lessons::{self, Lesson};
use eclat_kernel::maps::{Dump, MapRef, Row, Value};
use eclat_kernel::topo::{IfStatus, NodeStatus, Status};
use eclat_service::maps::{MapDump, MapRow, PerCpu};
use eclat_service::trace::{TraceEvent, TraceItem, TraceKind};

use crate::commands::Reply;
use crate::tui::state::{CheckDone, VerifierView};

/// A dump as the service decodes it (no BTF types known: plain numbers).
pub fn map_dump(d: Dump) -> MapDump {
    MapDump {
        per_cpu: if d.map.per_cpu() {
            PerCpu::Summed
        } else {
            PerCpu::No
        },
        key_type: None,
        value_type: None,
        rows: d
            .rows
            .into_iter()
            .map(|r| MapRow {
                key: r.key,
                value: r.value,
                key_text: None,
                value_text: None,
                cpus: vec![],
                program: None,
                label: None,
                chain_id: false,
                key_bytes: r.key_bytes,
                value_bytes: r.value_bytes,
                shown: Default::default(),
            })
            .collect(),
        map: d.map,
    }
}

/// A command's result whose text is `text` (what `exec` captured).
pub fn reply(text: &str) -> Box<Reply> {
    Box::new(Reply::Exec(eclat_service::exec::ExecResult {
        node: "tg".into(),
        argv: vec!["true".into()],
        exit_code: 0,
        output: Some(text.into()),
        streamed: false,
        interrupted: false,
        bpf_stats: false,
    }))
}

/// A trace item for a line as `chain trace` prints it: its kind from the words, its depth
/// from the indentation.
pub fn trace(line: &str) -> TraceItem {
    let t = line.trim_start();
    let kind = if t.starts_with("ABORTED") {
        TraceKind::Abort
    } else if t.starts_with("chain ") && t.contains(" enter") {
        TraceKind::ChainEnter
    } else if t.starts_with("chain ") && t.contains(" exit") {
        TraceKind::ChainExit
    } else if t.starts_with("call ") {
        TraceKind::ProgCall
    } else if t.contains(" returned ") {
        TraceKind::ProgReturn
    } else {
        TraceKind::Unknown
    };
    TraceItem::Event {
        event: TraceEvent {
            ts_ns: 0,
            kind,
            elem: 0x4000_0001,
            chain: 0x4000_0001,
            pc: 0,
            depth: ((line.len() - t.len()) / 2 + 1) as u8,
            reason: None,
            regs: [0; 5],
        },
        line: line.to_string(),
    }
}

pub fn dump(name: &str, value: u64) -> MapDump {
    map_dump(raw_dump(name, value))
}

pub fn raw_dump(name: &str, value: u64) -> Dump {
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
            per_cpu: if per_cpu {
                vec![value.to_le_bytes().to_vec()]
            } else {
                vec![]
            },
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

/// A shipped topology up, as `topo status` reports it, every interface with the program
/// its topology file attaches (and `extra`: (node, dev, program) attached since).
pub fn status_of(name: &str, extra: &[(&str, &str, &str)]) -> Status {
    let src = std::fs::read_to_string(format!(
        "{}/../../netns/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("a shipped topology");
    let t = eclat_model::topology::parse(&src, name).expect("it parses");
    let nodes = t
        .nodes
        .iter()
        .map(|n| {
            let ifs = t
                .ends_of(&n.name)
                .map(|(e, peer)| {
                    let prog = extra
                        .iter()
                        .find(|(node, dev, _)| *node == n.name && *dev == e.dev)
                        .map(|(_, _, p)| *p)
                        .or(e.xdp.as_deref());
                    let addrs: Vec<String> = e.addresses.iter().map(|c| c.to_string()).collect();
                    let addrs: Vec<&str> = addrs.iter().map(String::as_str).collect();
                    iface(
                        &e.dev,
                        &format!("{}:{}", peer.node, peer.dev),
                        &eclat_model::mac::fmt_mac(&e.mac),
                        &addrs,
                        prog,
                    )
                })
                .collect();
            node(&n.name, n.forwarding, ifs)
        })
        .collect();
    Status {
        topology: Some(t.name),
        nodes,
        complete: true,
    }
}

/// A dump of several entries, keys and values as numbers (`object/map` names it).
pub fn rows(object_map: &str, map_type: &str, rows: &[(u64, u64)]) -> MapDump {
    let per_cpu = map_type.starts_with("percpu");
    let mut d = Dump {
        map: MapRef {
            name: object_map.into(),
            path: PathBuf::from("/nonexistent"),
            map_type: map_type.into(),
            key_size: 4,
            value_size: 8,
            max_entries: rows.len() as u32,
            id: 9,
        },
        rows: rows
            .iter()
            .map(|&(k, v)| Row {
                key: Value::Int(k),
                value: Value::Int(v),
                key_bytes: (k as u32).to_le_bytes().to_vec(),
                value_bytes: v.to_le_bytes().to_vec(),
                per_cpu: if per_cpu {
                    vec![v.to_le_bytes().to_vec()]
                } else {
                    vec![]
                },
            })
            .collect(),
    };
    // in key order, as the lab reads every map
    eclat_kernel::maps::sort_rows(&mut d.rows);
    map_dump(d)
}

/// A dump of several entries whose keys the lab decoded through BTF (`{addr: 10.0.1.2}`), in
/// the order given: give them in the lab's key order (`map dump` sorts other keys than
/// integers by their bytes: an address as it reads).
pub fn text_rows(object_map: &str, map_type: &str, rows: &[(&str, u64)]) -> MapDump {
    let numbered: Vec<(u64, u64)> = (0u64..).zip(rows.iter().map(|r| r.1)).collect();
    let mut d = self::rows(object_map, map_type, &numbered);
    for (r, (text, _)) in d.rows.iter_mut().zip(rows) {
        r.key_text = Some(text.to_string());
    }
    d
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
        complete: true,
    }
}

/// Lesson 2's check as the kernel answers it for the starter: it compiles, and the verifier
/// rejects the debug print that reads the packet before the bounds check.
pub fn failed_check(lesson: &Lesson) -> CheckDone {
    use eclat_course::{CheckReport, CheckResult};
    use eclat_model::verifier::{Class, Context, Explanation, SourceLine};
    let ex = &lesson.exercises[0];
    let file = format!("/home/learner/eclat-lab/{}/{}", lesson.id, ex.file);
    let explanation = Explanation {
        class: Class::PacketOutOfBounds,
        message: "invalid access to packet, off=13 size=1, R6(id=0,off=13,r=0) / R6 offset is \
                  outside of the packet"
            .into(),
        program: Some("xdp_counter".into()),
        insn: Some("2: (71) r3 = *(u8 *)(r6 +13)".into()),
        insn_index: Some(2),
        error_line: Some("R6 offset is outside of the packet".into()),
        source: Some(SourceLine {
            text: "bpf_printk(\"ethertype %x\", bpf_ntohs(eth->h_proto));".into(),
            file: ex.file.clone(),
            line: 29,
        }),
        processed: Some(3),
        context: Context::Xdp,
        advice: Class::PacketOutOfBounds.advice(),
    };
    let text = lessons::exercise_file(lesson, "starter", &ex.file).unwrap_or("");
    let verifier = VerifierView::new(explanation.clone(), None, &file, text);
    CheckDone {
        report: CheckReport {
            lesson: lesson.id.clone(),
            exercise: ex.id.clone(),
            title: ex.title.clone(),
            hints: ex.hints.clone(),
            file,
            passed: false,
            not_possible: None,
            results: vec![
                CheckResult::new("it compiles", true, "no compile error", "compiled"),
                CheckResult {
                    hint: Some(1),
                    explanation: Some(explanation),
                    ..CheckResult::new(
                        "the kernel's verifier accepts it",
                        false,
                        "every program accepted",
                        "parse_eth rejected: out-of-bounds packet access at parse_eth.bpf.c:29",
                    )
                },
            ],
        },
        verifier: Some(verifier),
    }
}

/// The same exercise passing every check.
pub fn passed_check(lesson: &Lesson) -> CheckDone {
    let mut d = failed_check(lesson);
    d.verifier = None;
    d.report.passed = true;
    d.report.results = lesson.exercises[0]
        .checks
        .iter()
        .map(|_| eclat_course::CheckResult::new("a check", true, "ok", "ok"))
        .collect();
    d
}

/// A check report whose first check, `compiles`, failed with `compiler_output`.
fn compile_failure(
    lesson: &Lesson,
    exercise: &str,
    seen: String,
    compiler_output: String,
    diagnostics: Vec<eclat_course::Diagnostic>,
) -> CheckDone {
    use eclat_course::{CheckReport, CheckResult};
    let ex = lesson
        .exercises
        .iter()
        .find(|e| e.id == exercise)
        .expect("the exercise");
    let file = format!("/home/learner/eclat-lab/{}/{}", lesson.id, ex.file);
    CheckDone {
        report: CheckReport {
            lesson: lesson.id.clone(),
            exercise: ex.id.clone(),
            title: ex.title.clone(),
            hints: ex.hints.clone(),
            file,
            passed: false,
            not_possible: None,
            results: vec![CheckResult {
                compiler_output: Some(compiler_output),
                diagnostics: diagnostics,
                ..CheckResult::new(
                    format!("{}: compiles", ex.file),
                    false,
                    "no compile error",
                    seen,
                )
            }],
        },
        verifier: None,
    }
}

/// Lesson 7's `ports` check on the solution with `hike_dorp()` written for `hike_drop()`:
/// the compiler's diagnostics as `compile` renders them (the compiler and its renderer, run
/// here on the reference catalog).
pub fn failed_compile(lesson: &Lesson) -> CheckDone {
    let text = lessons::exercise_file(lesson, "solution", "ports.eclat")
        .expect("lesson 7's ports.eclat")
        .replace("    hike_drop()\n", "    hike_dorp()\n");
    let file = format!("/home/learner/eclat-lab/{}/ports.eclat", lesson.id);
    let catalog = hike::catalog::Catalog::reference();
    let c = eclat::compile(&text, &file, &catalog, &[]);
    assert!(c.has_errors());
    let rendered = c.render(&text, &file, false).trim_end().to_string();
    let diagnostics = c.report(&text, &file).diagnostics;
    let d = &diagnostics[0];
    let seen = format!("{file}:{}:{}: {}", d.span.line, d.span.col, d.message);
    let diagnostics = diagnostics
        .into_iter()
        .map(eclat_course::Diagnostic::Eclat)
        .collect();
    compile_failure(lesson, "ports", seen, rendered, diagnostics)
}

/// Lesson 1's `ipv6-only` check on a copy clang refuses: what clang 19 printed, made into
/// the check's result as a check's run makes it (its diagnostics, rendered in clang's layout).
pub fn failed_clang(lesson: &Lesson) -> CheckDone {
    let file = format!("/home/learner/eclat-lab/{}/ipv6_counter.bpf.c", lesson.id);
    let stderr = format!(
        "{file}:33:3: error: invalid operands to binary expression ('__u32' (aka 'unsigned \
         int') and 'struct xdp_md *')\n   32 |         if (count && ctx->data && key\n      |                                   ~~~\n   33 |                 * ctx) *count += 1;\n      |                 ^ ~~~\n1 error generated."
    );
    let e = anyhow::Error::new(eclat_kernel::modules::BuildError::compile_failed(
        std::path::Path::new(&file),
        std::path::Path::new("/var/lib/eclat-lab/include"),
        stderr,
    ));
    let r = eclat_course::checks::failed_with(
        &eclat_course::Check::Compiles { hint: None },
        "no compile error",
        &e,
    );
    compile_failure(
        lesson,
        "ipv6-only",
        r.seen,
        r.compiler_output.expect("clang's refusal"),
        r.diagnostics,
    )
}
