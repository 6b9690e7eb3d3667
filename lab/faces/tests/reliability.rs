//! The lab under kills and hostile input (issue 19): the real binary, each test with a lab
//! of its own, its state read straight from the kernel between commands (a command of the
//! lab would first settle what a kill left). What they check:
//! - every loader entry points at a stored chain, at every kill point of a load, a reload
//!   and an unload and under kills at random instants, with traffic flowing, and no packet
//!   is dropped as NO_CHAIN; after the recovery that follows, the version recorded as
//!   loaded is the one running;
//! - two scripts and one loader key: refused without `--replace`, the displaced script
//!   shown as displaced, an unload gives back only what it owns.

mod common;

/// The binary under test: this build's, or `ECLAT_TEST_BIN` (to watch these tests fail on
/// another build, say main's).
fn bin() -> String {
    std::env::var("ECLAT_TEST_BIN").unwrap_or_else(|_| common::BIN.to_string())
}

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use eclat_kernel::LabEnv;
use eclat_kernel::hike::AbortReason;
use eclat_kernel::hike::runtime::Hike;

/// A lab of the test's own; dropping it stops its traffic, resets it and removes its files.
struct Lab {
    env: LabEnv,
    traffic: Option<Child>,
}

impl Lab {
    fn new(tag: &str) -> Self {
        common::need_root();
        let env = common::lab("rel", "rl", tag);
        std::fs::create_dir_all(&env.state_dir).unwrap();
        Lab { env, traffic: None }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args)
            .envs(common::figures::env_vars(&self.env))
            .env_remove("ECLAT_LAB_CRASH_AT");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "eclat-lab {args:?}: {:?}\n{}{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Runs `args` with `ECLAT_LAB_CRASH_AT=point`: the command must die there.
    fn killed_at(&self, point: &str, args: &[&str]) {
        let o = self
            .cmd(args)
            .env("ECLAT_LAB_CRASH_AT", point)
            .output()
            .unwrap();
        assert_eq!(
            o.status.signal(),
            Some(9),
            "{point}: the command did not reach its kill point: {:?}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// UDP from tg through sut:enp6s0f0 (where the scripts' loader sits), 4000 packets a
    /// second until the lab is dropped.
    fn start_traffic(&mut self) {
        let child = self
            .cmd(&[
                "traffic",
                "--from",
                "tg",
                "--to",
                "fc01::2",
                "--udp",
                "5000",
                "--count",
                "100000000",
                "--rate",
                "4000",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.traffic = Some(child);
    }

    fn traffic_running(&mut self) -> bool {
        self.traffic
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    /// The lab's HIKe instance, opened read-only from its pins.
    fn hike(&self) -> Hike {
        Hike::open(&self.env.bpffs_root).unwrap()
    }

    /// Packets the VM dropped because a loader entry named no stored chain.
    fn no_chain_drops(&self) -> u64 {
        self.hike()
            .abort_stats()
            .unwrap()
            .into_iter()
            .filter(|(r, _)| *r == AbortReason::NoChain)
            .map(|(_, n)| n)
            .sum()
    }

    /// The pin of the ip6_simple_classifier loader's map.
    fn loader_map(&self) -> PathBuf {
        let mut found = Vec::new();
        eclat_kernel::bpffs::walk(&self.env.bpffs_root.join("maps"), &mut found);
        found
            .into_iter()
            .map(|(p, _)| p)
            .find(|p| p.ends_with("ipv6_simple_classifier_map"))
            .expect("the loader's map is pinned")
    }

    /// Loader entries (key -> chain ID), read from the kernel (0 is no entry: the loader
    /// passes the packet without a chain).
    fn entries(&self) -> BTreeMap<u64, u32> {
        let m = eclat_kernel::maps::map_ref(&self.loader_map(), &self.env.bpffs_root).unwrap();
        eclat_kernel::maps::dump(&m, 1024)
            .unwrap()
            .rows
            .into_iter()
            .map(|r| {
                let mut k = [0u8; 8];
                let n = r.key_bytes.len().min(8);
                k[..n].copy_from_slice(&r.key_bytes[..n]);
                let id = u32::from_le_bytes(r.value_bytes[..4].try_into().unwrap());
                (u64::from_le_bytes(k), id)
            })
            .filter(|(_, id)| *id != 0)
            .collect()
    }

    /// The chain IDs stored in the kernel.
    fn stored(&self) -> Vec<u32> {
        self.hike().chains().unwrap().iter().map(|c| c.id).collect()
    }

    /// The lab's HIKe store (`hike.json`).
    fn store(&self) -> serde_json::Value {
        std::fs::read_to_string(self.env.state_dir.join("hike.json"))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(serde_json::Value::Null)
    }

    /// At any instant, even right after a kill: every loader entry points at a stored chain
    /// and no packet was dropped as NO_CHAIN.
    fn check_instant(&self, what: &str) {
        let stored = self.stored();
        for (k, id) in self.entries() {
            assert!(
                stored.contains(&id),
                "{what}: loader entry {k} points at chain {id:#x}, which is not stored \
                 (stored: {stored:x?})"
            );
        }
        assert_eq!(self.no_chain_drops(), 0, "{what}: NO_CHAIN drops");
    }

    /// After the recovery a command starts with: nothing half-done is recorded, and every
    /// loader entry points at a chain of the script recorded as loaded that owns it.
    fn check_settled(&self, what: &str) {
        self.check_instant(what);
        let st = self.store();
        for half in ["pending", "unloading"] {
            assert!(
                st[half].as_object().is_none_or(|m| m.is_empty()),
                "{what}: {half} after recovery: {st}"
            );
        }
        let mut loaded: Vec<u64> = Vec::new();
        for s in st["scripts"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
        {
            let owns = s["entries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e.get("displaced_by").is_none());
            if owns {
                loaded.extend(
                    s["chains"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c[1].as_u64().unwrap()),
                );
            }
        }
        for (k, id) in self.entries() {
            assert!(
                loaded.contains(&(id as u64)),
                "{what}: loader entry {k} runs chain {id:#x}, not the version recorded as \
                 loaded ({loaded:x?}): {st}"
            );
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut c) = self.traffic.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = self.run(&["reset"]);
        let _ = std::fs::remove_dir_all(&self.env.state_dir);
    }
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../pure/eclat/tests/scripts/{name}"))
}

/// A copy of ddos.eclat in the lab's state folder, edited between loads so that each load
/// is a new version.
struct Ddos {
    path: PathBuf,
    text: String,
    edits: u32,
}

impl Ddos {
    fn new(lab: &Lab) -> Self {
        let text = std::fs::read_to_string(script("ddos.eclat")).unwrap();
        let path = lab.env.state_dir.join("ddos.eclat");
        std::fs::write(&path, &text).unwrap();
        Ddos {
            path,
            text,
            edits: 0,
        }
    }
    fn edit(&mut self) {
        self.edits += 1;
        let every = format!("SAMPLE_EVERY = {}", 500 + self.edits % 7);
        std::fs::write(&self.path, self.text.replace("SAMPLE_EVERY = 500", &every)).unwrap();
    }
    fn load_args(&self) -> Vec<&str> {
        vec![
            "load",
            self.path.to_str().unwrap(),
            "-D",
            "DEVNAME=enp6s0f0",
        ]
    }
}

/// The topology up, ddos.eclat loaded, traffic flowing through its loader.
fn ddos_under_traffic(tag: &str) -> (Lab, Ddos) {
    let mut lab = Lab::new(tag);
    lab.ok(&["topo", "up"]);
    let ddos = Ddos::new(&lab);
    lab.ok(&ddos.load_args());
    lab.start_traffic();
    (lab, ddos)
}

impl Lab {
    /// The traffic still runs and no packet of it was dropped as NO_CHAIN.
    fn still_flowing(&mut self) {
        assert!(self.traffic_running(), "the traffic stopped");
        assert_eq!(self.no_chain_drops(), 0);
    }
}

/// Every named kill point of a load, a reload and an unload, with traffic flowing: the
/// entries never point at a missing chain, and the next command settles the version that
/// runs. The reproduction (two kills at `load:chain-stored`, editing in between)
/// is the first two rounds.
#[test]
fn every_kill_point_of_load_reload_and_unload_keeps_every_packet_on_a_chain() {
    let (mut lab, mut ddos) = ddos_under_traffic("kp");
    let mut points = 0;
    let loads = [
        "load:chain-stored",
        "load:chain-stored",
        "load:programs-registered",
        "load:entries-written",
        "load:attached",
        "load:switched",
        "hike:jit-linked-set",
    ];
    for point in loads {
        ddos.edit();
        lab.killed_at(point, &ddos.load_args());
        lab.check_instant(point);
        lab.ok(&["chain", "list"]);
        lab.check_settled(point);
        points += 1;
    }
    for point in ["unload:recorded", "unload:entries-released"] {
        lab.killed_at(point, &["unload", ddos.path.to_str().unwrap()]);
        lab.check_instant(point);
        lab.ok(&["chain", "list"]);
        lab.check_settled(point);
        // whichever way it was settled, load it again for the next round
        ddos.edit();
        lab.ok(&ddos.load_args());
        lab.check_settled(point);
        points += 1;
    }
    // a reload after all that works and the traffic still reaches a chain
    ddos.edit();
    lab.ok(&ddos.load_args());
    lab.check_settled("the last reload");
    lab.still_flowing();
    eprintln!("kill points tried with traffic flowing: {points}; NO_CHAIN drops: 0");
}

/// Kills at random instants of a reload (uniform over a reload's measured duration), with
/// traffic flowing. The seed is printed; `ECLAT_REL_SEED` replays it.
#[test]
fn random_kills_during_reloads_never_lose_the_running_chain() {
    let (mut lab, mut ddos) = ddos_under_traffic("rk");
    // how long a reload takes here, now
    ddos.edit();
    let t0 = Instant::now();
    lab.ok(&ddos.load_args());
    let span = t0.elapsed().as_micros().max(1000) as u64;
    let mut seed: u64 = std::env::var("ECLAT_REL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("ECLAT_REL_SEED={seed} (a reload takes {span} µs here)");
    let rounds = 16;
    for round in 0..rounds {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let at = Duration::from_micros((seed >> 33) % span);
        ddos.edit();
        let mut child = lab
            .cmd(&ddos.load_args())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(at);
        let _ = child.kill();
        let st = child.wait().unwrap();
        let what = format!("round {round}, kill after {at:?} ({st:?})");
        lab.check_instant(&what);
        lab.ok(&["chain", "list"]);
        lab.check_settled(&what);
    }
    lab.still_flowing();
    eprintln!("random kills with traffic flowing: {rounds}; NO_CHAIN drops: 0");
}

/// Two scripts, one loader key: the second load is refused without `--replace` and changes
/// nothing; with it, the first shows as displaced; unloading the second gives the key back
/// to the first, and unloading a displaced script leaves the key to its new owner.
#[test]
fn two_scripts_one_loader_key_are_owned_explicitly() {
    let mut lab = Lab::new("own");
    lab.ok(&["topo", "up"]);
    let count =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lessons/06-hike/solution/count.eclat");
    let count = count.to_str().unwrap();
    let ddos = Ddos::new(&lab);
    lab.ok(&["load", count]);
    lab.start_traffic();
    let before = lab.entries();
    let chains = lab.stored();
    assert_eq!(before.len(), 1, "{before:?}");

    let o = lab.run(&ddos.load_args());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("is the entry point of")
            && err.contains("count.eclat")
            && err.contains("--replace")
            && err.contains("Nothing was changed"),
        "{err}"
    );
    assert_eq!(lab.entries(), before, "a refused load changed the loader");
    assert_eq!(lab.stored(), chains, "a refused load stored chains");

    let mut args = ddos.load_args();
    args.push("--replace");
    let out = lab.ok(&args);
    assert!(
        out.contains("took over the loader entries of") && out.contains("count.eclat"),
        "{out}"
    );
    let list = lab.ok(&["chain", "list"]);
    let count_line = list
        .lines()
        .find(|l| l.contains("count.eclat"))
        .unwrap_or_default();
    assert!(count_line.contains("displaced"), "{list}");
    let json: serde_json::Value =
        serde_json::from_str(&lab.ok(&["chain", "list", "--json"])).unwrap();
    assert!(
        json["chains"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["script"] == "count.eclat" && c["state"] == "displaced"),
        "{json}"
    );
    lab.check_settled("after --replace");
    assert_ne!(lab.entries(), before);

    let out = lab.ok(&["unload", ddos.path.to_str().unwrap()]);
    assert!(
        out.contains("count.eclat"),
        "the unload names who got the entry back: {out}"
    );
    assert_eq!(lab.entries(), before, "count.eclat's entry is not back");
    lab.check_settled("after unloading the replacing script");
    assert!(!lab.ok(&["chain", "list"]).contains("displaced"));

    // the other way round: unloading the displaced script leaves the key to its owner
    lab.ok(&args);
    let replaced = lab.entries();
    lab.ok(&["unload", count]);
    assert_eq!(
        lab.entries(),
        replaced,
        "unloading a displaced script touched the key"
    );
    lab.check_settled("after unloading the displaced script");
    lab.ok(&["unload", ddos.path.to_str().unwrap()]);
    assert!(lab.entries().is_empty(), "{:?}", lab.entries());
    lab.still_flowing();
}

/// A load that takes another script's interface over (`--replace`), killed at each of its
/// steps, and the unload that gives the interface back, killed between its detach and the
/// displaced script's loader attached again: the next command finishes both, the displaced
/// script is recorded as such (a finished load marks it too), and it gets its loader back.
#[test]
fn an_interface_taken_over_is_given_back_across_kills() {
    let lab = Lab::new("ifk");
    lab.ok(&["topo", "up"]);
    let lessons = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lessons");
    let count = lessons.join("06-hike/solution/count.eclat");
    let ports = lessons.join("07-first-eclat-script/solution/ports.eclat");
    let (count, ports) = (count.to_str().unwrap(), ports.to_str().unwrap());
    let on_sut = |lab: &Lab| {
        lab.ok(&["xdp", "list"])
            .lines()
            .filter_map(|l| {
                l.trim()
                    .strip_prefix("sut:enp6s0f0 <- ")
                    .map(str::to_string)
            })
            .collect::<Vec<_>>()
    };
    let count_line = |lab: &Lab| {
        lab.ok(&["chain", "list"])
            .lines()
            .find(|l| l.contains("count.eclat"))
            .unwrap_or_default()
            .to_string()
    };
    for point in ["load:entries-written", "load:attached", "load:switched"] {
        lab.ok(&["load", count]);
        lab.killed_at(point, &["load", ports, "--replace"]);
        // the next command finishes the load
        let line = count_line(&lab);
        assert!(line.contains("displaced"), "{point}: {line}");
        assert_eq!(on_sut(&lab), ["udp_dport_classifier"], "{point}");
        lab.check_settled(point);
        lab.killed_at("release:loader-detached", &["unload", ports]);
        let line = count_line(&lab);
        assert!(
            !line.is_empty() && !line.contains("displaced"),
            "{point}: {line}"
        );
        assert_eq!(
            on_sut(&lab),
            ["ip6_simple_classifier"],
            "{point}: count.eclat's loader is not back"
        );
        lab.check_settled(point);
        lab.ok(&["unload", count]);
        assert_eq!(on_sut(&lab), Vec::<String>::new(), "{point}");
    }
}

impl Lab {
    fn namespaces(&self) -> Vec<String> {
        common::namespaces(&self.env)
    }

    fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["topo", "status", "--json"])).unwrap()
    }
}

/// A topology is up only when all of it is: a kill between the namespaces and the file's
/// XDP program leaves nothing recorded as up (the next start removes it); a program or an
/// interface gone behind the lab's back makes `topo status` say what is missing and `topo
/// up` complete or rebuild it; a kill during `topo down` leaves no `topology.toml`.
#[test]
fn a_topology_is_up_only_when_all_of_it_is() {
    let lab = Lab::new("tp");
    lab.killed_at("topo-up:before-attach", &["topo", "up"]);
    assert!(
        !lab.namespaces().is_empty(),
        "the kill left nothing to test"
    );
    let out = lab.ok(&["topo", "status"]);
    assert!(out.contains("no topology is up"), "{out}");
    assert!(lab.namespaces().is_empty(), "{:?}", lab.namespaces());

    lab.ok(&["topo", "up"]);
    assert_eq!(lab.status()["complete"], true);
    // xdp_pass leaves clt:veth0 behind the lab's back (its link pin removed)
    let pin = lab.env.bpffs_root.join("links/clt/veth0/xdp_pass");
    std::fs::remove_file(&pin).unwrap();
    let st = lab.status();
    assert_eq!(st["complete"], false, "{st}");
    let text = lab.ok(&["topo", "status"]);
    assert!(
        text.contains("INCOMPLETE") && text.contains("veth0 has no XDP program"),
        "{text}"
    );
    let out = lab.ok(&["topo", "up"]);
    assert!(
        out.contains("was up but incomplete: attached clt:veth0 <- xdp_pass"),
        "{out}"
    );
    assert_eq!(lab.status()["complete"], true);
    assert!(lab.ok(&["topo", "up"]).contains("already up"));

    // an interface gone: rebuilt whole
    lab.ok(&["exec", "clt", "--", "ip", "link", "del", "veth0"]);
    assert_eq!(lab.status()["complete"], false);
    let out = lab.ok(&["topo", "up"]);
    assert!(
        out.contains("was incomplete")
            && out.contains("clt:veth0 is missing")
            && out.contains("rebuilt"),
        "{out}"
    );
    assert_eq!(
        lab.status()["complete"],
        true,
        "{}",
        lab.ok(&["topo", "status"])
    );

    // a kill half-way through `topo down`
    lab.killed_at("topo-down:netns-1", &["topo", "down"]);
    assert!(
        !lab.env.state_dir.join("topology.toml").exists(),
        "a killed topo down left topology.toml"
    );
    let out = lab.ok(&["topo", "status"]);
    assert!(out.contains("no topology is up"), "{out}");
    assert!(lab.namespaces().is_empty(), "{:?}", lab.namespaces());
    lab.ok(&["topo", "up"]);
    assert_eq!(lab.status()["complete"], true);
}

/// Makes a pin nobody recorded: a map made with bpftool, as a user of the machine would.
fn foreign_pin(path: &Path) {
    let o = Command::new("bpftool")
        .args(["map", "create"])
        .arg(path)
        .args([
            "type", "array", "key", "4", "value", "4", "entries", "1", "name", "foreign",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `reset` removes by journal record only: pins someone else made in the lab's root and in
/// its own folders stay and are named as kept, with exit 0; map commands do not see them;
/// once they are gone, the next `reset` removes the lab's folders.
#[test]
fn reset_removes_only_what_the_journal_records() {
    let lab = Lab::new("fr");
    lab.ok(&["topo", "up"]);
    lab.ok(&["xdp", "attach", "xdp_counter", "sut", "enp6s0f0"]);
    let in_root = lab.env.bpffs_root.join("foreign_map");
    let in_ours = lab.env.bpffs_root.join("maps/foreign_map");
    foreign_pin(&in_root);
    foreign_pin(&in_ours);
    let o = lab.run(&["map", "dump", "foreign_map"]);
    assert_eq!(o.status.code(), Some(2), "a foreign map is dumped");
    let o = lab.run(&["map", "set", "foreign_map", "0", "1"]);
    assert_eq!(o.status.code(), Some(2), "a foreign map is written");
    assert!(
        !lab.ok(&["map", "list"]).contains("foreign_map"),
        "a foreign map is listed"
    );

    let o = lab.run(&["reset"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        in_root.exists() && in_ours.exists(),
        "reset removed a foreign pin"
    );
    assert!(
        out.contains("left in place, not the lab's")
            && out.contains(&format!("pin {}: not made by the lab", in_root.display()))
            && out.contains(&format!("pin {}: not made by the lab", in_ours.display())),
        "{out}"
    );
    assert!(!out.contains("Directory not empty"), "{out}");
    assert!(lab.namespaces().is_empty());
    for p in [&in_root, &in_ours] {
        assert!(
            !out.lines()
                .any(|l| l.contains("- pin") && l.ends_with(&p.display().to_string())),
            "a foreign pin is listed as removed: {out}"
        );
    }
    std::fs::remove_file(&in_root).unwrap();
    std::fs::remove_file(&in_ours).unwrap();
    let out = lab.ok(&["reset"]);
    assert!(!lab.env.bpffs_root.exists(), "{out}");
}

/// A bpffs root the lab never made (a fresh state dir, `ECLAT_LAB_BPFFS` pointing at an
/// existing folder): `reset` removes nothing of it.
#[test]
fn reset_never_removes_a_root_the_lab_did_not_make() {
    let lab = Lab::new("nr");
    std::fs::create_dir_all(lab.env.bpffs_root.join("sub")).unwrap();
    foreign_pin(&lab.env.bpffs_root.join("theirs"));
    let o = lab.run(&["reset"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(lab.env.bpffs_root.join("sub").is_dir() && lab.env.bpffs_root.join("theirs").exists());
    assert!(out.contains("the lab did not make it"), "{out}");
    std::fs::remove_file(lab.env.bpffs_root.join("theirs")).unwrap();
    std::fs::remove_dir(lab.env.bpffs_root.join("sub")).unwrap();
    std::fs::remove_dir(&lab.env.bpffs_root).unwrap();
}

/// A bpffs root or state dir another user controls is refused, with how to fix it, before
/// anything is made.
#[test]
fn a_root_or_state_dir_others_control_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let lab = Lab::new("uc");
    std::fs::create_dir_all(&lab.env.bpffs_root).unwrap();
    nix::unistd::chown(&lab.env.bpffs_root, Some(65534.into()), None).unwrap();
    let o = lab.run(&["topo", "up"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("owned by uid 65534") && err.contains("sudo chown root:root"),
        "{err}"
    );
    assert!(lab.namespaces().is_empty());
    std::fs::remove_dir(&lab.env.bpffs_root).unwrap();

    std::fs::set_permissions(&lab.env.state_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let o = lab.run(&["topo", "up"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("writable by every user (mode 0777)") && err.contains("chmod 0755"),
        "{err}"
    );
    assert!(lab.namespaces().is_empty());
    std::fs::set_permissions(&lab.env.state_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// With umask 000 the lab's folders and files get their own modes; a lock held by another
/// user's process is reported at once.
#[test]
fn modes_do_not_follow_the_umask_and_a_foreign_lock_is_reported() {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    let lab = Lab::new("um");
    let mut c = lab.cmd(&["topo", "up"]);
    // SAFETY: umask(2) only, between fork and exec
    unsafe {
        c.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o7777;
    assert_eq!(mode(&lab.env.state_dir), 0o755);
    assert_eq!(mode(&lab.env.state_dir.join("journal")), 0o644);
    assert_eq!(mode(&lab.env.state_dir.join("lock")), 0o600);
    assert_eq!(mode(&lab.env.state_dir.join("topology.toml")), 0o644);
    assert_eq!(mode(&lab.env.bpffs_root), 0o755);
    assert_eq!(mode(&lab.env.bpffs_root.join("links")), 0o755);

    // an older lab's lock, 0644: another user flocks it
    let lock = lab.env.state_dir.join("lock");
    std::fs::set_permissions(&lock, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let mut holder = Command::new("flock")
        .arg("-s")
        .arg(&lock)
        .args(["-c", "echo held; exec sleep 60"])
        .uid(65534)
        .gid(65534)
        .process_group(0)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let group = nix::unistd::Pid::from_raw(-(holder.id() as i32));
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "held");
    let t0 = Instant::now();
    let o = lab.run(&["topo", "up"]);
    let err = String::from_utf8_lossy(&o.stderr);
    // flock and the sleep it runs
    let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
    let _ = holder.wait();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("is held by process") && err.contains("of uid 65534"),
        "{err}"
    );
    assert!(t0.elapsed() < Duration::from_secs(30), "it waited");
}

/// A killed but unreaped lab process (a zombie) owns nothing: the next command removes
/// what it left.
#[test]
fn a_zombie_owner_is_dead() {
    let lab = Lab::new("zb");
    let mut child = lab
        .cmd(&["topo", "up"])
        .env("ECLAT_LAB_CRASH_AT", "topo-up:links-up")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // killed, not reaped: wait until /proc says zombie
    let stat = format!("/proc/{}/stat", child.id());
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = std::fs::read_to_string(&stat).unwrap_or_default();
        if s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')) {
            break;
        }
        assert!(Instant::now() < deadline, "the command did not die: {s}");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(!lab.namespaces().is_empty());
    let out = lab.run(&["topo", "status"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = child.wait();
    assert!(
        text.contains("removed") && text.contains("leftover"),
        "{text}"
    );
    assert!(lab.namespaces().is_empty(), "{:?}", lab.namespaces());
    lab.ok(&["topo", "up"]);
    assert_eq!(lab.status()["complete"], true);
}

/// Under sudo the learner's files are written with the learner's rights: a symbolic link
/// in their folders (their workspace pointing at a folder of root's, a `progress.toml.tmp`
/// pointing at a file of root's) gets root nothing, and what is created is theirs.
#[test]
fn under_sudo_the_learners_files_are_written_as_the_learner() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
    let lab = Lab::new("su");
    let home = lab.env.state_dir.join("home");
    std::fs::create_dir_all(home.join("state")).unwrap();
    for d in [&home, &home.join("state")] {
        nix::unistd::chown(d, Some(65534.into()), Some(65534.into())).unwrap();
    }
    let roots_dir = lab.env.state_dir.join("roots-dir");
    std::fs::create_dir_all(&roots_dir).unwrap();
    std::fs::set_permissions(&roots_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let roots_file = lab.env.state_dir.join("roots-file");
    std::fs::write(&roots_file, "root's").unwrap();
    std::fs::set_permissions(&roots_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ws = home.join("eclat-lab");
    symlink(&roots_dir, &ws).unwrap();
    let progress = home.join("state/progress.toml");
    symlink(&roots_file, home.join("state/progress.toml.tmp")).unwrap();
    let as_learner = |args: &[&str]| {
        lab.cmd(args)
            .env("SUDO_UID", "65534")
            .env("SUDO_GID", "65534")
            .env("SUDO_USER", "nobody")
            .env("ECLAT_LAB_WORKSPACE", &ws)
            .env("ECLAT_LAB_PROGRESS", &progress)
            .output()
            .unwrap()
    };
    // the workspace is a link to root's folder: nothing is written there, nothing chowned
    let o = as_learner(&["lesson", "reset", "01-hello-xdp"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let meta = std::fs::metadata(&roots_dir).unwrap();
    assert_eq!(meta.uid(), 0, "root's folder was given to the learner");
    assert_eq!(
        std::fs::read_dir(&roots_dir).unwrap().count(),
        0,
        "written into root's folder"
    );
    // progress: the link at the temporary name is replaced, root's file untouched
    let o = as_learner(&["lesson", "hint", "01-hello-xdp"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&roots_file).unwrap(), "root's");
    let meta = std::fs::metadata(&progress).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid()),
        (65534, 65534),
        "progress.toml is not the learner's"
    );
    // a workspace of their own: the exercise file is theirs from the start
    std::fs::remove_file(&ws).unwrap();
    std::fs::create_dir(&ws).unwrap();
    nix::unistd::chown(&ws, Some(65534.into()), Some(65534.into())).unwrap();
    let o = as_learner(&["lesson", "reset", "01-hello-xdp"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // clang writes the learner's object as the learner: no root-owned build output
    let src = ws.join("01-hello-xdp/ipv6_counter.bpf.c");
    let o = as_learner(&["module", "build", src.to_str().unwrap()]);
    assert!(
        ws.join("01-hello-xdp/ipv6_counter.o").exists(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for e in std::fs::read_dir(ws.join("01-hello-xdp"))
        .unwrap()
        .flatten()
    {
        let m = e.metadata().unwrap();
        assert_eq!(m.uid(), 65534, "{} is root's", e.path().display());
    }
}

/// Nothing the lab makes is writable by another user, whatever the umask it was started
/// with: under `umask 000`, `test`'s HIKe instance below the bpffs root (`cache/test/...`)
/// came out 0777, the headers `module build` compiles with 0666 in the state dir, and the
/// trace's lock 0666 (any user could hold it and silence every trace reader).
#[test]
fn nothing_the_lab_makes_is_writable_by_others_whatever_the_umask() {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    let lab = Lab::new("u0");
    let ddos = Ddos::new(&lab);
    let src = lab.env.state_dir.join("ws/01-hello-xdp/ipv6_counter.bpf.c");
    let run0 = |args: &[&str]| {
        let mut c = lab.cmd(args);
        c.env("ECLAT_LAB_WORKSPACE", lab.env.state_dir.join("ws"))
            .env(
                "ECLAT_LAB_PROGRESS",
                lab.env.state_dir.join("progress.toml"),
            );
        // SAFETY: umask(2) only, between fork and exec
        unsafe {
            c.pre_exec(|| {
                libc::umask(0);
                Ok(())
            });
        }
        let o = c.output().unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run0(&["topo", "up"]);
    let mut test = vec!["test"];
    test.extend(ddos.load_args()[1..].iter().copied());
    test.extend(["-p", "ipv6 udp dport=5000"]);
    run0(&test);
    run0(&ddos.load_args());
    run0(&["chain", "trace", "--seconds", "1"]);
    run0(&["lesson", "reset", "01-hello-xdp"]);
    run0(&["module", "build", src.to_str().unwrap()]);
    let mut found = Vec::new();
    eclat_kernel::bpffs::walk(&lab.env.bpffs_root, &mut found);
    eclat_kernel::bpffs::walk(&lab.env.state_dir, &mut found);
    let ws = lab.env.state_dir.join("ws");
    let open: Vec<String> = found
        .into_iter()
        .filter(|(p, _)| !p.starts_with(&ws))
        .filter_map(|(p, _)| {
            let m = std::fs::symlink_metadata(&p).ok()?;
            (!m.file_type().is_symlink() && m.mode() & 0o022 != 0)
                .then(|| format!("{:04o} {}", m.mode() & 0o7777, p.display()))
        })
        .collect();
    assert!(open.is_empty(), "writable by others: {open:#?}");
    // and every folder below the root is recorded (the scratch areas `cache/`, `tmp/` were
    // made unrecorded, and removed by name whoever had made them)
    let j = eclat_kernel::journal::Journal::open(&lab.env.state_dir).unwrap();
    let foreign = eclat_kernel::cleanup::foreign(&lab.env, &j).unwrap();
    assert!(foreign.is_empty(), "unrecorded: {foreign:#?}");
}

/// Under sudo, root reads no file for the learner that the learner could not read: a
/// root-only file named as a script or topology is refused as it would be to them (its
/// lines came back in a diagnostic), and a progress file linked to it is not copied to the
/// learner as `progress.toml.bak`.
#[test]
fn under_sudo_root_reads_no_file_the_learner_cannot() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let lab = Lab::new("sr");
    let home = lab.env.state_dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    nix::unistd::chown(&home, Some(65534.into()), Some(65534.into())).unwrap();
    let secret = lab.env.state_dir.join("secret");
    std::fs::write(&secret, "root_only_secret = 7x\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let progress = home.join("progress.toml");
    symlink(&secret, &progress).unwrap();
    let s = secret.to_str().unwrap();
    for args in [
        vec!["compile", s],
        vec!["topo", "draw", s],
        vec!["test", s, "-p", "ipv6 udp"],
        vec!["chain", "draw", s],
        vec!["lesson", "list"],
    ] {
        let o = lab
            .cmd(&args)
            .env("SUDO_UID", "65534")
            .env("SUDO_GID", "65534")
            .env("SUDO_USER", "nobody")
            .env("ECLAT_LAB_WORKSPACE", home.join("ws"))
            .env("ECLAT_LAB_PROGRESS", &progress)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!text.contains("root_only_secret"), "{args:?}: {text}");
        if args[0] != "lesson" {
            assert!(text.contains("Permission denied"), "{args:?}: {text}");
        }
    }
    let bak = home.join("progress.toml.bak");
    assert!(
        !std::fs::read_to_string(&bak).is_ok_and(|b| b.contains("root_only_secret")),
        "root's file was copied to the learner"
    );
    assert_eq!(
        std::fs::read_to_string(&secret).unwrap(),
        "root_only_secret = 7x\n"
    );
}

/// A `cube del` killed after its program's pin went (before the journal said so) leaves the
/// cube's maps: the next `cube del` finishes the removal, and the name can be used again
/// (`cube add` said the cube was there, `cube del` that there was no such cube, until a
/// `reset`).
#[test]
fn an_interrupted_cube_del_is_finished_by_the_next() {
    let lab = Lab::new("cd");
    lab.ok(&["topo", "up"]);
    lab.ok(&["cube", "add", "ck", "classifier"]);
    lab.killed_at("journal-write:1", &["cube", "del", "ck"]);
    let out = lab.ok(&["cube", "del", "ck"]);
    assert!(out.contains("removed cube ck"), "{out}");
    let mut left = Vec::new();
    eclat_kernel::bpffs::walk(&lab.env.bpffs_root, &mut left);
    let left: Vec<_> = left
        .into_iter()
        .filter(|(p, _)| p.to_string_lossy().contains("/cube/ck"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    lab.ok(&["cube", "add", "ck", "classifier"]);
}

/// The XDP attachment a loaded script's `attach(...)` made is the script's, as its loader
/// entries are: `xdp attach`, `cube attach` and `xdp detach` on that interface are refused
/// with what to do (they replaced or removed the loader, and the script still showed as
/// loaded while no packet reached its chains); after `unload`, the interface is free.
#[test]
fn a_scripts_loader_attachment_is_its_own() {
    let lab = Lab::new("la");
    lab.ok(&["topo", "up"]);
    let ddos = Ddos::new(&lab);
    lab.ok(&ddos.load_args());
    let path = ddos.path.to_str().unwrap();
    lab.ok(&["cube", "add", "ck", "classifier"]);
    for args in [
        &["xdp", "attach", "xdp_counter", "sut", "enp6s0f0"][..],
        &["cube", "attach", "ck", "sut", "enp6s0f0"],
        &["xdp", "detach", "sut", "enp6s0f0"],
    ] {
        let o = lab.run(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!("`eclat-lab unload {path}`")),
            "{args:?}: {err}"
        );
    }
    let list = lab.ok(&["xdp", "list"]);
    assert!(
        list.contains("sut:enp6s0f0 <- ip6_simple_classifier"),
        "{list}"
    );
    lab.check_settled("after the refused commands");
    lab.ok(&["unload", path]);
    lab.ok(&["xdp", "attach", "xdp_counter", "sut", "enp6s0f0"]);
}

/// `xdp unload` and `xdp list` go by journal record too: a folder someone else made where
/// the lab keeps `xdp load`'s objects is not an object of the lab's (it was listed, and
/// `xdp unload` removed it), and a pin someone else put in an object's folder stays when
/// the object is unloaded.
#[test]
fn xdp_unload_removes_only_what_the_journal_records() {
    let lab = Lab::new("xu");
    lab.ok(&["topo", "up"]);
    let obj = lab.env.state_dir.join("mine.o");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ebpf-modules/obj/raw/xdp_pass.o"),
        &obj,
    )
    .unwrap();
    lab.ok(&["xdp", "load", obj.to_str().unwrap()]);
    let area = lab.env.bpffs_root.join("maps/xdp-obj");
    std::fs::create_dir(area.join("evil")).unwrap();
    let evil = area.join("evil/fmap");
    foreign_pin(&evil);
    let inside = area.join("mine/foreign");
    foreign_pin(&inside);
    std::fs::create_dir(lab.env.bpffs_root.join("progs/xdp-obj/evil")).unwrap();
    let list = lab.ok(&["xdp", "list"]);
    assert!(!list.contains("evil"), "{list}");
    let o = lab.run(&["xdp", "unload", "evil"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(evil.exists(), "xdp unload removed a pin someone else made");
    lab.ok(&["xdp", "unload", "mine"]);
    assert!(
        inside.exists(),
        "xdp unload removed a pin someone else made"
    );
    assert!(!lab.ok(&["xdp", "list"]).contains("mine"));
    for p in [&evil, &inside] {
        std::fs::remove_file(p).unwrap();
    }
    std::fs::remove_dir(area.join("evil")).unwrap();
    std::fs::remove_dir(lab.env.bpffs_root.join("progs/xdp-obj/evil")).unwrap();
}
