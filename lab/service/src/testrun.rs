//! `eclat-lab test`: a script's chains on crafted packets in the real kernel
//! (`BPF_PROG_TEST_RUN`), in a scratch HIKe instance of its own below the lab's root
//! (recorded in the journal before it exists, removed afterwards): no topology, nothing
//! attached, and nothing the learner has loaded is touched.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result};
use eclat_kernel::LabEnv;
use eclat_kernel::hike::runtime::Hike;
use eclat_kernel::maps;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::Lab;
use crate::catalog::Catalog;
use crate::instance::{ensure_object, ensure_programs};
use crate::store::HikeStore;

/// What to test.
#[derive(Debug, Clone)]
pub struct TestRequest {
    pub file: PathBuf,
    pub defines: Vec<(String, String)>,
    /// (label, Ethernet frame)
    pub packets: Vec<(String, Vec<u8>)>,
    /// run this chain directly (through the lab's chain runner), not the script's loader
    pub chain: Option<String>,
    /// the programs' clock (`hike_now_ns`), stopped; `None`: the kernel's clock
    pub clock: Option<TestClock>,
}

/// A stopped clock for a test: packet `i` runs at `start_ms + i * tick_ms` (token buckets
/// refill and blacklist entries expire by exactly that much between packets).
#[derive(Debug, Clone, Copy)]
pub struct TestClock {
    pub start_ms: std::num::NonZeroU32,
    pub tick_ms: u32,
}

/// What a test ran: the packets, and the chain they went straight into (`None`: through
/// the script's loader).
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub chain: Option<String>,
    pub packets: Vec<PacketResult>,
}

/// One map entry a packet changed.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MapChange {
    /// the map's name below the test's scratch instance's `maps/` (`package/program/map`, or
    /// `package/map` for a map no single program owns)
    pub map: String,
    /// the key as people read it (decoded through BTF when the lab knows the map)
    pub key: String,
    /// the value before the packet; `(absent)` when the key was not in the map
    pub before: String,
    /// the value after the packet, shown like `before`
    pub after: String,
    /// the change of a number (after - before), when both are numbers
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<i128>,
}

/// What one packet did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PacketResult {
    /// the packet as given: its `--packet` text, or `FILE#N` for the Nth frame of a `--pcap` file
    pub packet: String,
    /// the XDP verdict (PASS, DROP, ...; a number if unknown)
    pub verdict: String,
    /// the chain trace, with IDs named
    pub trace: Vec<String>,
    /// the map entries the packet changed, map by map; empty when it changed none
    pub map_changes: Vec<MapChange>,
    /// the kernel's timing of this one run (`BPF_PROG_TEST_RUN`), in nanoseconds
    pub duration_ns: u64,
    /// the frame as given to the program (the packet's, or the pcap's frame), in hex, two
    /// digits a byte: what `output` is compared with
    #[serde(serialize_with = "as_hex")]
    #[schemars(with = "String")]
    pub input: Vec<u8>,
    /// the frame the program left (`BPF_PROG_TEST_RUN`'s output frame: what an XDP_PASS or
    /// XDP_TX sends on), in hex, two digits a byte
    #[serde(serialize_with = "as_hex")]
    #[schemars(with = "String")]
    pub output: Vec<u8>,
    /// the fields of the frame the program changed, in frame order (the packet syntax's
    /// names: `ipv6.hlim`, `udp.csum`, ...); empty when it left the frame as it was given
    pub frame_changes: Vec<eclat_model::frame::FieldChange>,
}

fn as_hex<S: serde::Serializer>(b: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&eclat_model::frame::to_hex(b))
}

/// Replaces `prog 7` / `chain 0x40000001` in a trace line by names.
pub fn name_ids(line: &str, names: &BTreeMap<u32, String>) -> String {
    let mut s = line.to_string();
    for (id, n) in names {
        if hike::is_chain_id(*id) {
            s = s.replace(&format!("chain {id:#x}"), &format!("chain {n} ({id:#x})"));
        } else {
            s = s.replace(&format!("prog {id} "), &format!("{n}[{id}] "));
        }
    }
    s
}

impl Lab {
    /// Runs the script's loader on each packet in a fresh HIKe instance.
    pub async fn test(&self, req: TestRequest, cancel: CancellationToken) -> Result<TestOutcome> {
        self.blocking(move |lab| {
            let groups = [req.packets.clone()];
            let (chain, mut out) = lab.test_now(&req, &groups, None, &cancel)?;
            Ok(TestOutcome {
                chain,
                packets: out.pop().unwrap_or_default(),
            })
        })
        .await
    }

    /// Runs several groups of packets through one setup of the script (compiled, its
    /// programs and objects loaded, its chains stored once): before each group after the
    /// first, every map of the instance is emptied and the script's map entries written
    /// again ([`Hike::empty_maps`]), so each group sees what a `test` of its own would (a
    /// lesson's verdict checks, each from fresh maps). `req.packets` is not used. Only the
    /// maps `watch` names (a name, or the end of one after a `/`) are compared before and
    /// after each packet: `map_changes` holds no other.
    pub async fn test_groups(
        &self,
        req: TestRequest,
        groups: Vec<Vec<(String, Vec<u8>)>>,
        watch: Vec<String>,
        cancel: CancellationToken,
    ) -> Result<Vec<Vec<PacketResult>>> {
        self.blocking(move |lab| {
            lab.test_now(&req, &groups, Some(&watch), &cancel)
                .map(|(_, out)| out)
        })
        .await
    }

    fn test_now(
        &self,
        req: &TestRequest,
        groups: &[Vec<(String, Vec<u8>)>],
        watch: Option<&[String]>,
        cancel: &CancellationToken,
    ) -> Result<(Option<String>, Vec<Vec<PacketResult>>)> {
        let prog = self.compile_file(&req.file, &req.defines)?.program;
        let cat: Catalog = self.catalog().clone();
        static N: AtomicU32 = AtomicU32::new(0);
        // the lab's reused test instance (its VM verified once), unless another process is
        // using it or reuse is off: then a scratch instance of this test's own, recorded in
        // the journal before it exists and removed with everything in it when dropped
        // (after `hike`, declared below)
        let reused = if crate::reuse_enabled() {
            eclat_kernel::bpffs::Reused::open(self.env(), "test", self.life())
                .context("opening the lab's test instance")?
        } else {
            None
        };
        let guard = match reused {
            Some(_) => None,
            None => Some(
                eclat_kernel::bpffs::Scratch::create(
                    self.env(),
                    &format!(
                        "test-{}-{}",
                        std::process::id(),
                        N.fetch_add(1, Ordering::Relaxed)
                    ),
                )
                .context("creating a scratch HIKe instance")?,
            ),
        };
        let scratch = match (&reused, &guard) {
            (Some(r), _) => r.path().to_path_buf(),
            (None, Some(g)) => g.path().to_path_buf(),
            (None, None) => unreachable!("one of the two was made above"),
        };
        let mut hike = Hike::open_with_vm(&scratch, eclat_kernel::hike::runtime::SCRATCH_VM_OBJECT)
            .context("starting a scratch HIKe instance")?;
        // the reused instance keeps its program IDs (in a store of its own) and its embedded
        // objects, loaded and registered; their maps are emptied here
        let ids_at = reused.as_ref().map(|r| LabEnv {
            state_dir: self.env().state_dir.join("cache-test"),
            bpffs_root: r.path().to_path_buf(),
            ns_prefix: String::new(),
        });
        if reused.as_ref().is_some_and(|r| !r.fresh) {
            hike.refresh().context("emptying the lab's test instance")?;
        }
        crate::checkpoint(cancel)?;
        let mut st = match &ids_at {
            Some(at) => {
                std::fs::create_dir_all(&at.state_dir)?;
                HikeStore::load(at)
            }
            None => HikeStore::default(),
        };
        let ids = ensure_programs(&mut hike, &cat, &mut st, &prog.programs)?;
        if let Some(at) = &ids_at {
            st.save(at)?;
        }
        let loaders: Vec<(String, String)> = prog
            .map_entries
            .iter()
            .map(|e| (e.package.clone(), e.loader.clone()))
            .chain(
                prog.attach
                    .iter()
                    .map(|a| (a.package.clone(), a.loader.clone())),
            )
            .collect();
        // through the script's loader, or straight into one chain (`--chain`, or a script
        // that configures no loader) through the lab's chain runner
        let entry = prog
            .test_entry(req.chain.as_deref())
            .map_err(|e| anyhow::anyhow!("{}: {e}", req.file.display()))?;
        for (pkg, _) in &loaders {
            ensure_object(&mut hike, cat.package(pkg, true)?)?;
        }
        let (lpkg, lname) = match &entry {
            eclat::TestEntry::Loader { package, loader } => (package.clone(), loader.clone()),
            eclat::TestEntry::Chain { .. } => {
                hike.load_embedded(CHAIN_RUNNER_OBJECT)?;
                ("chain_runner".to_string(), "chain_runner".to_string())
            }
        };
        eclat_kernel::crash_point("test:scratch-loaded");
        crate::checkpoint(cancel)?;
        let chain_ids: Vec<u32> = (0..prog.chains.len() as u32)
            .map(|i| hike::FIRST_CHAIN_ID + i)
            .collect();
        let linked = prog.link(&chain_ids, &|p, n| {
            ids.get(&(p.to_string(), n.to_string())).copied()
        })?;
        for c in &linked.chains {
            hike.store_chain(c.id, &c.insns)?;
        }
        // the script's map entries (and the chain runner's entry), with the trace on: written
        // again before each group after the first, once the maps are emptied
        let prime = |hike: &mut Hike| -> Result<Option<String>> {
            for e in &linked.map_entries {
                hike.map_update(&e.package, &e.map, &e.key, &e.value)?;
            }
            let direct = match &entry {
                eclat::TestEntry::Chain { name, .. } => {
                    let id = linked
                        .chain_id(name)
                        .with_context(|| format!("chain `{name}` was not linked"))?;
                    hike.set_loader_chain(
                        "chain_runner",
                        "chain_runner_map",
                        &0u32.to_ne_bytes(),
                        id,
                    )?;
                    Some(name.clone())
                }
                eclat::TestEntry::Loader { .. } => None,
            };
            hike.set_trace(true)?;
            Ok(direct)
        };
        let direct = prime(&mut hike)?;
        let mut trace = hike.trace_reader()?;
        let names: BTreeMap<u32, String> = ids
            .iter()
            .map(|((_, n), id)| (*id, n.clone()))
            .chain(linked.chains.iter().map(|c| (c.id, c.name.clone())))
            .collect();
        // every map of the loaded objects, for before/after
        let map_refs: Vec<maps::MapRef> = {
            let mut found = Vec::new();
            eclat_kernel::bpffs::walk(&scratch.join("maps"), &mut found);
            found
                .into_iter()
                .filter(|(p, d)| !d && !p.to_string_lossy().contains("/system/"))
                .filter_map(|(p, _)| maps::map_ref(&p, &scratch.join("maps")).ok())
                .filter(|m| m.map_type != "ringbuf" && m.map_type != "prog_array")
                .filter(|m| {
                    watch.is_none_or(|w| {
                        w.iter()
                            .any(|n| m.name == *n || m.name.ends_with(&format!("/{n}")))
                    })
                })
                .collect()
        };
        let snapshot = |refs: &[maps::MapRef]| -> Vec<crate::maps::MapDump> {
            refs.iter()
                .filter_map(|m| maps::dump(m, 4096).ok())
                .map(|d| crate::maps::decode(&cat, d, &Default::default()))
                .collect()
        };
        let mut groups_out = Vec::new();
        for (g, packets) in groups.iter().enumerate() {
            if g > 0 {
                crate::checkpoint(cancel)?;
                hike.empty_maps()?;
                prime(&mut hike)?;
                trace.drain();
            }
            let mut out = Vec::new();
            for (i, (label, pkt)) in packets.iter().enumerate() {
                crate::checkpoint(cancel)?;
                if let Some(c) = req.clock {
                    let ms = u64::from(c.start_ms.get()) + i as u64 * u64::from(c.tick_ms);
                    let ms = u32::try_from(ms)
                        .ok()
                        .and_then(std::num::NonZeroU32::new)
                        .with_context(|| {
                            format!("--clock and --tick put packet {} past 2^32 ms", i + 1)
                        })?;
                    hike.set_test_clock(Some(ms))?;
                }
                let before = snapshot(&map_refs);
                let r = hike.test_run(&lpkg, &lname, pkt, 1)?;
                let after = snapshot(&map_refs);
                let trace_lines = trace
                    .drain()
                    .iter()
                    .map(|e| name_ids(&e.to_string(), &names))
                    .collect();
                out.push(PacketResult {
                    packet: label.clone(),
                    verdict: hike::XdpAction::from_u32(r.verdict)
                        .map(|a| a.to_string())
                        .unwrap_or_else(|| r.verdict.to_string()),
                    trace: trace_lines,
                    map_changes: changes(&before, &after),
                    duration_ns: r.duration.as_nanos() as u64,
                    frame_changes: eclat_model::frame::changes(pkt, &r.packet),
                    input: pkt.clone(),
                    output: r.packet,
                });
            }
            groups_out.push(out);
        }
        Ok((direct, groups_out))
    }
}

/// The lab's own loader that sends every packet into the chain in `chain_runner_map[0]`.
const CHAIN_RUNNER_OBJECT: &str = "lab/chain_runner.o";

/// The entries that differ between two snapshots of the same maps.
fn changes(before: &[crate::maps::MapDump], after: &[crate::maps::MapDump]) -> Vec<MapChange> {
    let mut out = Vec::new();
    for a in after {
        let b = before.iter().find(|b| b.map.name == a.map.name);
        for row in &a.rows {
            let old = b.and_then(|b| b.rows.iter().find(|r| r.key_bytes == row.key_bytes));
            if old.is_some_and(|o| o.value_bytes == row.value_bytes) {
                continue;
            }
            let shown = |r: &crate::maps::MapRow| {
                if r.cpus.is_empty() {
                    r.value_shown()
                } else {
                    r.value.to_string()
                }
            };
            out.push(MapChange {
                map: a.map.name.clone(),
                key: row.key_shown(),
                before: old.map(shown).unwrap_or_else(|| "(absent)".into()),
                after: shown(row),
                delta: match (old.map(|o| o.number()), row.number()) {
                    (Some(Some(x)), Some(y)) => Some(y as i128 - x as i128),
                    (None, Some(y)) => Some(y as i128),
                    _ => None,
                },
            });
        }
    }
    out
}
