//! Shared test support: compile a script against the reference catalog, link it with the
//! models' program IDs, and run packets through the reference VM.
#![allow(dead_code)]

use hike::catalog::Catalog;
use hike::insn::Insn;
use hike::vm::models::{self, Models};
use hike::vm::{self, Outcome};
use std::path::PathBuf;

pub fn scripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/scripts")
}

pub fn script(name: &str) -> String {
    std::fs::read_to_string(scripts_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn defines() -> Vec<(String, String)> {
    vec![("DEVNAME".to_string(), "veth0".to_string())]
}

/// A compiled, linked script loaded into a model VM.
pub struct Lab {
    pub program: eclat::Program,
    pub linked: eclat::Linked,
    pub chains: Vec<(u32, Vec<Insn>)>,
    pub models: Models,
    pub entry: u32,
}

impl Lab {
    pub fn new(src: &str) -> Lab {
        let catalog = Catalog::reference();
        let c = eclat::compile(src, "test.eclat", &catalog, &defines());
        let Some(program) = c.output.clone() else {
            panic!("does not compile:\n{}", c.render(src, "test.eclat", false));
        };
        let (models, ids) = Models::with_all();
        let linked = program
            .link_default(&|_, name| ids.iter().find(|(n, _)| *n == name).map(|(_, id)| *id))
            .expect("links");
        for c in &linked.chains {
            if let Err(e) = hike::validate(&c.insns) {
                panic!(
                    "chain {} fails validation: {e}\n{}",
                    c.name,
                    program.emit_asm()
                );
            }
        }
        let chains: Vec<(u32, Vec<Insn>)> = linked
            .chains
            .iter()
            .map(|c| (c.id, c.insns.clone()))
            .collect();
        let entry = linked
            .map_entries
            .iter()
            .find(|e| e.map == "ipv6_simple_classifier_map")
            .map(|e| u32::from_le_bytes([e.value[0], e.value[1], e.value[2], e.value[3]]))
            .or(linked.chains.last().map(|c| c.id))
            .expect("at least one chain");
        Lab {
            program,
            linked,
            chains,
            models,
            entry,
        }
    }

    pub fn from_script(name: &str) -> Lab {
        Lab::new(&script(name))
    }

    /// Runs one packet as the `ip6_simple_classifier` loader would (the entry is the chain in
    /// its map, or the last chain of the script).
    pub fn run(&mut self, packet: Vec<u8>) -> Outcome {
        let mut shm = vec![0u8; 4096];
        models::fill_pkt_info(&packet, &mut shm);
        vm::run(
            &self.chains[..],
            &mut self.models,
            self.entry,
            packet,
            &mut shm,
        )
    }

    pub fn count(&self, event: u32) -> u64 {
        self.models.monitor.get(&event).copied().unwrap_or(0)
    }
}

pub fn udp(src: &str, dst: &str, dport: u16, payload: &[u8]) -> Vec<u8> {
    models::ipv6_udp_frame(
        models::ip6(src).unwrap(),
        models::ip6(dst).unwrap(),
        40000,
        dport,
        payload,
    )
}

/// A property-test runner that can be replayed: its seed comes from `ECLAT_SEED` (a decimal or
/// 0x-hex u64; a fixed default otherwise) and is printed, and a failing case's seed is
/// persisted in `tests/regressions/NAME.txt` (committed), which is replayed first on every
/// run. `cases` inputs per run.
pub fn runner(name: &'static str, cases: u32) -> proptest::test_runner::TestRunner {
    use proptest::test_runner::{
        Config, FileFailurePersistence, RngAlgorithm, TestRng, TestRunner,
    };
    let seed: u64 = std::env::var("ECLAT_SEED")
        .ok()
        .and_then(|s| match s.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).ok(),
            None => s.parse().ok(),
        })
        .unwrap_or(0x5eed_ec1a_7000_0001);
    println!("{name}: seed {seed:#x} ({cases} cases; ECLAT_SEED={seed:#x} replays this run)");
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&seed.wrapping_add(i as u64).to_le_bytes());
    }
    // leaked once per test: the persistence wants a &'static path
    let path: &'static str = Box::leak(format!("tests/regressions/{name}.txt").into_boxed_str());
    let config = Config {
        cases,
        rng_algorithm: RngAlgorithm::ChaCha,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(path))),
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}
