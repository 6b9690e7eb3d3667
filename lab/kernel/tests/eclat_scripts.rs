//! eCLAT scripts in the real kernel: every script of the corpus of original-style scripts
//! (`lab/pure/eclat/tests/corpus`) compiled against the embedded objects' BTF (aliases
//! resolved there), loaded into a scratch HIKe instance of its own (programs registered,
//! chains stored, loader entries written) and run with `BPF_PROG_TEST_RUN`, each packet of
//! its `# packet:` lines giving its verdict and each `# count:` counter its value; and a chain
//! run on its own, through the lab's chain runner, as `eclat-lab test --chain` does.

use std::collections::BTreeMap;
use std::path::PathBuf;

use eclat_kernel::hike::{Hike, ScratchRoot, embedded_catalog};
use eclat_model::packetspec;
use hike::XdpAction;
use hike::catalog::Catalog;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../pure/eclat/tests/corpus")
}

fn defines() -> Vec<(String, String)> {
    vec![("DEVNAME".into(), "veth0".into())]
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex bytes"))
        .collect()
}

/// `PACKAGE.MAP KEY = VALUE` of a `# map:` or `# count:` line.
fn map_line(rest: &str) -> (String, String, Vec<u8>, String) {
    let (lhs, value) = rest.split_once('=').expect("KEY = VALUE");
    let (map, key) = lhs.trim().split_once(' ').expect("PACKAGE.MAP KEY");
    let (package, map) = map.split_once('.').expect("PACKAGE.MAP");
    (package.into(), map.into(), hex(key), value.trim().into())
}

/// What a corpus script's header says to check.
#[derive(Default)]
struct Expect {
    maps: Vec<(String, String, Vec<u8>, Vec<u8>)>,
    packets: Vec<(String, XdpAction)>,
    counts: Vec<(String, String, Vec<u8>, u64)>,
}

fn expectations(src: &str) -> Expect {
    let mut e = Expect::default();
    for line in src.lines() {
        if let Some(rest) = line.strip_prefix("# map:") {
            let (p, m, k, v) = map_line(rest);
            e.maps.push((p, m, k, hex(&v)));
        } else if let Some(rest) = line.strip_prefix("# packet:") {
            let (spec, verdict) = rest.rsplit_once("->").expect("SPEC -> VERDICT");
            let v = XdpAction::parse(verdict).expect("a verdict");
            e.packets.push((spec.trim().into(), v));
        } else if let Some(rest) = line.strip_prefix("# count:") {
            let (p, m, k, v) = map_line(rest);
            e.counts.push((p, m, k, v.parse().expect("a count")));
        }
    }
    e
}

/// A compiled script loaded into a scratch instance of its own.
struct Loaded {
    hike: Hike,
    linked: eclat::Linked,
    program: eclat::Program,
    // dropped after `hike`: its pins go last
    _root: ScratchRoot,
}

/// Loads every object the script needs, registers its programs (IDs from 1), stores its
/// chains and writes its loader entries.
fn load(catalog: &Catalog, file: &str, src: &str) -> Loaded {
    let c = eclat::compile(src, file, catalog, &defines());
    assert!(
        c.diagnostics.is_empty(),
        "{file} does not compile unchanged against the objects' BTF:\n{}",
        c.render(src, file, false)
    );
    let program = c.output.expect("compiles");
    let root = ScratchRoot::new("eclat-lab-test").expect("bpffs root (needs root)");
    let mut hike = Hike::open(root.path()).expect("the VM");
    let mut ids = BTreeMap::new();
    let mut objects = Vec::new();
    for (package, _) in &program.programs {
        objects.push(format!("programs/{package}.o"));
    }
    for e in &program.map_entries {
        objects.push(format!("loaders/{}.o", e.package));
    }
    objects.dedup();
    for o in &objects {
        if hike.object(o).is_none() {
            hike.load_embedded(o)
                .unwrap_or_else(|e| panic!("{file}: {o}: {e}"));
        }
    }
    for (i, (package, name)) in program.programs.iter().enumerate() {
        let id = i as u32 + 1;
        hike.register(id, package, name).unwrap();
        ids.insert((package.clone(), name.clone()), id);
    }
    let linked = program
        .link_default(&|p, n| ids.get(&(p.to_string(), n.to_string())).copied())
        .expect("links");
    for ch in &linked.chains {
        hike.store_chain(ch.id, &ch.insns)
            .unwrap_or_else(|e| panic!("{file}: chain {}: {e}", ch.name));
    }
    for e in &linked.map_entries {
        hike.map_update(&e.package, &e.map, &e.key, &e.value)
            .unwrap();
    }
    Loaded {
        hike,
        linked,
        program,
        _root: root,
    }
}

/// The u64 at `key` of a map: summed over CPUs for a per-CPU map.
fn counter(hike: &Hike, catalog: &Catalog, package: &str, map: &str, key: &[u8]) -> u64 {
    let sig = catalog
        .programs
        .iter()
        .filter(|p| p.package == package)
        .flat_map(|p| &p.maps)
        .find(|m| m.name == map)
        .unwrap_or_else(|| panic!("no map {package}.{map} in the catalog"));
    if sig.map_type.starts_with("percpu") || sig.map_type.starts_with("lru_percpu") {
        return hike.percpu_u64_sum(package, map, key).unwrap();
    }
    hike.map_lookup(package, map, key, sig.value.size as usize)
        .unwrap()
        .map(|v| u64::from_ne_bytes(v[..8].try_into().unwrap()))
        .unwrap_or(0)
}

#[test]
fn the_corpus_loads_and_gives_the_verdicts_its_scripts_document() {
    let catalog = embedded_catalog().unwrap();
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eclat"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 24, "{} scripts", scripts.len());
    let (mut packets, mut counts) = (0, 0);
    let mut wrong = Vec::new();
    for path in &scripts {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let src = std::fs::read_to_string(path).unwrap();
        let expect = expectations(&src);
        assert!(!expect.packets.is_empty(), "{file} documents no packet");
        let l = load(&catalog, &file, &src);
        for (package, map, key, value) in &expect.maps {
            l.hike.map_update(package, map, key, value).unwrap();
        }
        let Ok(eclat::TestEntry::Loader { package, loader }) = l.program.test_entry(None) else {
            panic!("{file}: the corpus scripts configure a loader");
        };
        for (spec, want) in &expect.packets {
            let frame = packetspec::frame(spec).unwrap_or_else(|e| panic!("{file}: {e}"));
            let out = l.hike.test_run(&package, &loader, &frame, 1).unwrap();
            packets += 1;
            if out.action() != Some(*want) {
                wrong.push(format!(
                    "{file}: `{spec}` gave {:?}, documented {want}",
                    out.action()
                ));
            }
        }
        for (package, map, key, want) in &expect.counts {
            counts += 1;
            let got = counter(&l.hike, &catalog, package, map, key);
            if got != *want {
                wrong.push(format!(
                    "{file}: {package}.{map}[{key:02x?}] = {got}, documented {want}"
                ));
            }
        }
        assert_eq!(l.linked.attach.len(), 1, "{file}: its attach request");
    }
    println!(
        "corpus: {} scripts, {packets} packets and {counts} counters checked in the kernel",
        scripts.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `eclat-lab test --chain`: a script without a loader runs its entry chain directly, every
/// packet (IPv4 too) through the lab's chain runner (`lab/chain_runner.o`).
#[test]
fn a_chain_runs_on_its_own_through_the_chain_runner() {
    let catalog = embedded_catalog().unwrap();
    let src = "from programs.mynet import hike_drop, hike_pass, monitor, udp_port\n\
               def filter():\n    if udp_port(53) == 1:\n        monitor(1)\n        hike_drop()\n    hike_pass()\n";
    let l = load(&catalog, "chain.eclat", src);
    let mut hike = l.hike;
    let eclat::TestEntry::Chain { name, .. } = l.program.test_entry(None).unwrap() else {
        panic!("no loader: the entry chain");
    };
    let id = l.linked.chain_id(&name).unwrap();
    hike.load_embedded("lab/chain_runner.o").unwrap();
    let run = |hike: &Hike, spec: &str| {
        hike.test_run(
            "chain_runner",
            "chain_runner",
            &packetspec::frame(spec).unwrap(),
            1,
        )
        .unwrap()
        .action()
        .unwrap()
    };
    assert_eq!(
        run(&hike, "ipv6 udp dport=53"),
        XdpAction::Pass,
        "no chain set yet"
    );
    hike.set_loader_chain("chain_runner", "chain_runner_map", &0u32.to_ne_bytes(), id)
        .unwrap();
    assert_eq!(run(&hike, "ipv6 udp dport=53"), XdpAction::Drop);
    assert_eq!(
        run(&hike, "ipv4 udp dport=53"),
        XdpAction::Drop,
        "IPv4 reaches it too"
    );
    assert_eq!(run(&hike, "ipv6 udp dport=54"), XdpAction::Pass);
    assert_eq!(run(&hike, "ipv6 tcp dport=53"), XdpAction::Pass);
    assert_eq!(
        counter(
            &hike,
            &catalog,
            "hike_default",
            "map_pcpu_mon",
            &1u32.to_ne_bytes()
        ),
        2
    );
    drop(hike);
}
