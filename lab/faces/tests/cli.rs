//! The real `eclat-lab` binary, run as a learner would from a shell, each test with its own
//! isolated lab (state dir, bpffs root, namespace prefix) and cleaned up even on failure.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

mod common;

struct Lab {
    state: PathBuf,
    bpffs: PathBuf,
    prefix: String,
}

impl Lab {
    fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let id = format!(
            "{tag}{:x}{}",
            std::process::id() % 0xfff,
            N.fetch_add(1, Ordering::Relaxed)
        );
        Lab {
            state: std::env::temp_dir().join(format!("eclat-cli-{id}")),
            bpffs: PathBuf::from(format!("/sys/fs/bpf/eclat-cli-{id}")),
            prefix: format!("ec{id}-"),
        }
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_eclat-lab"));
        c.args(args)
            .env("ECLAT_LAB_STATE", &self.state)
            .env("ECLAT_LAB_BPFFS", &self.bpffs)
            .env("ECLAT_LAB_NS_PREFIX", &self.prefix)
            .env_remove("ECLAT_LAB_CRASH_AT");
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        succeeded(self.run(args), args)
    }
    fn crash(&self, point: &str, args: &[&str]) {
        self.crash_with(point, args, &[]);
    }
    fn crash_with(&self, point: &str, args: &[&str], env: &[(&str, &str)]) {
        let o = self
            .cmd(args)
            .env("ECLAT_LAB_CRASH_AT", point)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert_eq!(
            o.status.signal(),
            Some(9),
            "{point}: expected SIGKILL, got {:?}: {}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
    }
    fn namespaces(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir("/run/netns")
            .map(|rd| {
                rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        v.retain(|n| n.starts_with(&self.prefix));
        v.sort();
        v
    }

    /// `tree` without the lab's own kept instances, which are not the learner's lab: the
    /// reused test instance (`cache/`, `test` and eCLAT verdict checks) and the checks' kept
    /// lab (`scratch/ck/`, emptied by its journal after each run but for its VM). A scratch
    /// lab that a check forgot still shows.
    fn learner_tree(&self) -> Vec<String> {
        let cache = format!("{}/cache/", self.bpffs.display());
        let kept = format!("{}/scratch/ck/", self.bpffs.display());
        let scratch = format!("{}/scratch/", self.bpffs.display());
        self.tree()
            .into_iter()
            .filter(|p| !p.starts_with(&cache) && !p.starts_with(&kept) && *p != scratch)
            .collect()
    }
    fn pins(&self) -> Vec<String> {
        fn walk(p: &std::path::Path, out: &mut Vec<String>) {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                        walk(&e.path(), out);
                    } else {
                        out.push(e.path().display().to_string());
                    }
                }
            }
        }
        let mut v = Vec::new();
        walk(&self.bpffs, &mut v);
        v.sort();
        v
    }
    /// Every directory and pin below the lab's bpffs root (an empty directory left behind
    /// counts too).
    fn tree(&self) -> Vec<String> {
        let mut v = Vec::new();
        let mut todo = vec![self.bpffs.clone()];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    todo.push(e.path());
                    v.push(format!("{}/", e.path().display()));
                } else {
                    v.push(e.path().display().to_string());
                }
            }
        }
        v.sort();
        v
    }
    /// Stops the clock the lab's HIKe programs read (`hike/clock.h`: the third word of
    /// `hvm_config[0]`, in ms) at `ms`, written with bpftool to the lab's pinned map: what
    /// depends on time (token buckets, the 10 s blacklist) is then exact however slowly a
    /// loaded machine runs the test. 0 gives the kernel's clock back.
    fn stop_clock(&self, ms: u32) {
        let pin = self
            .pins()
            .into_iter()
            .find(|p| p.ends_with("/maps/system/hvm_config"))
            .expect("the lab's HIKe instance (hvm_config pinned)");
        let bpftool = |args: &[&str]| {
            let o = Command::new("bpftool")
                .args(args)
                .output()
                .expect("bpftool");
            assert!(o.status.success(), "bpftool {args:?}: {o:?}");
            o.stdout
        };
        let v: serde_json::Value = serde_json::from_slice(&bpftool(&[
            "-j", "map", "lookup", "pinned", &pin, "key", "0", "0", "0", "0",
        ]))
        .unwrap();
        let mut value: Vec<String> = v["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                u8::from_str_radix(b.as_str().unwrap().trim_start_matches("0x"), 16)
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(value.len(), 16, "struct hvm_config: {v}");
        for (i, b) in ms.to_ne_bytes().iter().enumerate() {
            value[4 + i] = b.to_string();
        }
        let mut args = vec![
            "map",
            "update",
            "pinned",
            pin.as_str(),
            "key",
            "0",
            "0",
            "0",
            "0",
            "value",
        ];
        args.extend(value.iter().map(String::as_str));
        bpftool(&args);
    }
    /// The kernel's XDP program on `node`'s first interface (`topo status --json`).
    fn xdp_on(&self, node: usize) -> serde_json::Value {
        let st: serde_json::Value =
            serde_json::from_str(&self.ok(&["topo", "status", "--json"])).unwrap();
        st["nodes"][node]["interfaces"][0]["xdp_prog_id"].clone()
    }
}

/// The standard output of a run that must have succeeded.
fn succeeded(o: Output, args: &[&str]) -> String {
    assert!(
        o.status.success(),
        "eclat-lab {args:?} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.run(&["reset"]);
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

#[test]
fn a_learners_first_session_from_the_shell() {
    let lab = Lab::new("first");
    let out = lab.ok(&["topo", "up"]);
    assert!(out.contains("topology hike-lab up in"), "{out}");
    let ping = lab.run(&[
        "exec", "tg", "--", "ping", "-6", "-c", "2", "-i", "0.2", "fc01::2",
    ]);
    assert!(
        ping.status.success(),
        "{}",
        String::from_utf8_lossy(&ping.stderr)
    );
    assert!(String::from_utf8_lossy(&ping.stdout).contains("2 received"));
    lab.ok(&["xdp", "attach", "xdp_counter", "sut", "enp6s0f0"]);
    let out = lab.ok(&[
        "traffic", "--from", "tg", "--to", "fc01::2", "--udp", "5000", "--count", "250",
    ]);
    assert!(out.starts_with("sent 250/250 UDP"), "{out}");
    let dump: serde_json::Value =
        serde_json::from_str(&lab.ok(&["map", "dump", "pkt_count", "--json"])).unwrap();
    assert_eq!(dump["rows"][0]["value"], 250);
    // the original CLI's name still works
    assert!(lab.ok(&["read-map", "pkt_count"]).contains(": 250"));
    lab.ok(&["map", "set", "verdict", "0", "DROP"]);
    let out = lab.run(&[
        "traffic", "--from", "tg", "--to", "fc01::2", "--icmp", "--count", "3",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 echo replies"));
    let ping = lab.run(&[
        "exec", "tg", "--", "ping", "-6", "-c", "1", "-W", "1", "fc01::2",
    ]);
    assert_eq!(
        ping.status.code(),
        Some(1),
        "ping must fail while the counter drops"
    );
    let status: serde_json::Value =
        serde_json::from_str(&lab.ok(&["topo", "status", "--json"])).unwrap();
    assert_eq!(
        status["nodes"][1]["interfaces"][0]["xdp_prog"],
        "xdp_counter"
    );
    let out = lab.ok(&["reset"]);
    assert!(out.contains("removed"), "{out}");
    assert!(lab.namespaces().is_empty());
    assert!(!lab.bpffs.exists(), "reset leaves the bpffs root");
}

/// The lab as the journal-before-create tests compare it: namespaces, every pin and
/// directory below the bpffs root, the chains.
fn lab_state(lab: &Lab) -> (Vec<String>, Vec<String>, String) {
    (lab.namespaces(), lab.tree(), lab.ok(&["chain", "list"]))
}

/// Kills `args` just before each of its journal writes in turn (`journal-write:N`, N = 1,
/// 2, ... until it runs to the end), that is right after each object it created and before
/// its commit; after each kill an ordinary command (`topo status`, not `reset`) recovers,
/// and the lab must be exactly as it was before the command, or (where recovery finishes an
/// interrupted operation) exactly as the finished command leaves it. `undo` brings a
/// finished one back. Returns the number of kills.
fn kill_after_each_creation(lab: &Lab, args: &[&str], undo: &[&str]) -> usize {
    let before = lab_state(lab);
    let mut finished_by_recovery = Vec::new();
    let mut n = 1;
    loop {
        let o = lab
            .cmd(args)
            .env("ECLAT_LAB_CRASH_AT", format!("journal-write:{n}"))
            .output()
            .unwrap();
        if o.status.signal() != Some(9) {
            assert!(
                o.status.success(),
                "{args:?} with no kill left: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            break;
        }
        lab.ok(&["topo", "status"]);
        let recovered = lab_state(lab);
        if recovered != before {
            finished_by_recovery.push((n, recovered));
            lab.ok(undo);
            assert_eq!(
                lab_state(lab),
                before,
                "{args:?}: undone by hand after write {n}"
            );
        }
        n += 1;
    }
    let after = lab_state(lab);
    assert_ne!(after, before, "{args:?} changed nothing");
    for (k, recovered) in finished_by_recovery {
        assert_eq!(
            recovered, after,
            "{args:?} killed before journal write {k}: recovery left neither the state \
             before nor the finished one"
        );
    }
    assert!(n > 1, "{args:?}: no journal write to kill before");
    n - 1
}

/// Journal before create, killed at every journal write: unloading a script and detaching a
/// program (the commands that commit in steps are in the test below).
#[test]
fn a_kill_after_any_creation_is_undone_by_the_next_command() {
    let lab = Lab::new("jwr");
    let ddos = script("ddos.eclat");
    let load = ["load", ddos.as_str(), "-D", "DEVNAME=enp6s0f0"];
    let unload = ["unload", ddos.as_str()];
    let attach = ["xdp", "attach", "xdp_counter", "sut", "enp6s0f1"];
    let detach = ["xdp", "detach", "sut", "enp6s0f1"];
    // once through, so that what the first run makes for good (the HIKe instance, the
    // lab's directories) is there before the states are compared
    for args in [
        &["topo", "up"][..],
        &load,
        &unload,
        &attach,
        &detach,
        &attach,
    ] {
        lab.ok(args);
    }
    lab.ok(&load);
    let mut tried = Vec::new();
    for (args, undo) in [(&unload[..], &load[..]), (&detach, &attach)] {
        let kills = kill_after_each_creation(&lab, args, undo);
        tried.push(format!("{} ({kills} kills)", args[..2].join(" ")));
    }
    eprintln!("killed after each creation: {}", tried.join(", "));
}

/// The same for the commands that commit in steps: each must leave, after a kill before any
/// of its journal writes and recovery by an ordinary command, the state before it or the
/// finished one. `load` records its version as loaded only after its objects are committed
/// (a killed load is rolled forward, its loader attached again); `xdp attach` commits the
/// program it loads together with the attachment; `topo up` and `topo down` are one
/// transaction each.
#[test]
fn a_kill_after_any_creation_of_a_stepwise_command_is_undone_by_the_next_command() {
    let lab = Lab::new("jwu");
    let ddos = script("ddos.eclat");
    let load = ["load", ddos.as_str(), "-D", "DEVNAME=enp6s0f0"];
    let unload = ["unload", ddos.as_str()];
    for args in [&["topo", "up"][..], &load, &unload] {
        lab.ok(args);
    }
    kill_after_each_creation(&lab, &load, &unload);
    lab.ok(&unload);
    kill_after_each_creation(
        &lab,
        &["xdp", "attach", "xdp_counter", "sut", "enp6s0f1"],
        &["xdp", "detach", "sut", "enp6s0f1"],
    );
    lab.ok(&["topo", "down"]);
    kill_after_each_creation(&lab, &["topo", "up"], &["topo", "down"]);
    kill_after_each_creation(&lab, &["topo", "down"], &["topo", "up"]);
}

/// A namespace the journal recorded, whose name someone else's namespace holds by the time
/// the lab recovers (the lab was killed, the name was freed and taken again): recovery keeps
/// it, says so, and forgets the record; the other namespace is untouched (same inode).
#[test]
fn a_recorded_namespace_name_now_held_by_another_namespace_is_kept_and_reported() {
    let lab = Lab::new("nsre");
    lab.crash("topo-up:netns-1", &["topo", "up"]);
    let left = lab.namespaces();
    assert_eq!(left.len(), 1, "the crash left one namespace: {left:?}");
    let name = &left[0];
    let ip = |args: &[&str]| {
        let o = Command::new("ip").args(args).output().unwrap();
        assert!(o.status.success(), "ip {args:?}: {o:?}");
    };
    let inode = |name: &str| {
        std::fs::metadata(format!("/run/netns/{name}"))
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
            .ok()
    };
    let recorded = inode(name);
    // someone else: the name freed, then taken by a namespace of theirs
    ip(&["netns", "del", name]);
    ip(&["netns", "add", name]);
    struct Theirs(String);
    impl Drop for Theirs {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }
    let _theirs = Theirs(name.clone());
    let theirs = inode(name);
    assert_ne!(theirs, recorded, "a new namespace, a new inode");
    let out = lab.run(&["topo", "status"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(name.as_str()) && text.contains("now another namespace, not the lab's"),
        "recovery says what it kept: {text}"
    );
    assert_eq!(inode(name), theirs, "their namespace is untouched");
    // and the record is gone: the next command says nothing more about it
    let again = lab.ok(&["topo", "status"]);
    assert!(!again.contains("another namespace"), "{again}");
    assert_eq!(inode(name), theirs);
}

/// `test` and a lesson's checks, with a script loaded in the learner's lab and its counters
/// moving, leave that lab byte for byte as it was: the chains, `hike.json`, the loader map,
/// every map of the policy (counters, buckets, blacklist), the pins and the namespaces.
#[test]
fn test_and_checks_leave_the_learners_lab_byte_identical() {
    let lab = Lab::new("same");
    std::fs::create_dir_all(&lab.state).unwrap();
    let ws = lab.state.join("ws");
    let with_ws = |args: &[&str]| {
        let o = lab
            .cmd(args)
            .env("ECLAT_LAB_WORKSPACE", &ws)
            .env("ECLAT_LAB_PROGRESS", lab.state.join("progress.toml"))
            .output()
            .unwrap();
        succeeded(o, args)
    };
    let ddos = script("ddos.eclat");
    lab.ok(&["topo", "up"]);
    lab.ok(&["load", &ddos, "-D", "DEVNAME=enp6s0f0"]);
    // counters, buckets and a blacklist entry, all non-zero
    lab.ok(&[
        "traffic", "--from", "tg", "--to", "fc01::2", "--udp", "5000", "--count", "30",
    ]);
    let maps = [
        "ipv6_simple_classifier_map",
        "map_pcpu_mon",
        "ip6_dst_tbmon_map",
        "ip6_sd_tbmon_map",
        "ip6_hset_srcdst_map",
        "ip6_sd_dec2zero_map",
        "hvm_chain_map",
    ];
    let snapshot = || {
        let mut v = vec![
            lab.ok(&["chain", "list"]),
            std::fs::read_to_string(lab.state.join("hike.json")).expect("hike.json"),
            format!("{:?}", lab.learner_tree()),
            format!("{:?}", lab.namespaces()),
        ];
        v.extend(maps.iter().map(|m| lab.ok(&["map", "dump", m, "--json"])));
        v
    };
    let before = snapshot();
    assert!(before[0].contains("0x40000001"), "{}", before[0]);
    let out = lab.ok(&[
        "test",
        &ddos,
        "-D",
        "DEVNAME=enp6s0f0",
        "-p",
        "ipv6 src=12:1::1 dst=fc01::2 udp dport=5000",
        "-p",
        "ipv6 src=12:1::9 dst=fc01::2 udp dport=5000",
        "-p",
        "ipv4 udp",
    ]);
    assert!(out.contains("PASS"), "{out}");
    assert_eq!(snapshot(), before, "`test` changed the learner's lab");
    // lesson 8's checks on the learner's finished file: a verdict check (a scratch HIKe
    // instance) and traffic checks (a scratch lab of their own)
    let file = ws.join("08-ddos-mitigation/sampling.eclat");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::copy(
        lessons_file("08-ddos-mitigation/solution/sampling.eclat"),
        &file,
    )
    .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&with_ws(&["lesson", "check", "8", "sampling", "--json"])).unwrap();
    assert_eq!(v["passed"], true, "{v}");
    assert_eq!(
        snapshot(),
        before,
        "the lesson's checks changed the learner's lab"
    );
}

/// SIGKILL at each point of setup, then the next command removes exactly the leftovers.
#[test]
fn a_crash_anywhere_is_cleaned_up_by_the_next_start() {
    let lab = Lab::new("crash");
    for point in [
        "topo-up:netns-1",
        "topo-up:netns-2",
        "topo-up:netns-3",
        "topo-up:veth",
        "topo-up:links-up",
    ] {
        lab.crash(point, &["topo", "up"]);
        assert!(
            !lab.namespaces().is_empty() || point == "topo-up:netns-0",
            "{point}: the crash left nothing to test"
        );
        let out = lab.ok(&["topo", "status"]);
        assert!(
            out.contains("removed") && out.contains("leftover"),
            "{point}: {out}"
        );
        assert!(
            lab.namespaces().is_empty(),
            "{point}: left {:?}",
            lab.namespaces()
        );
    }
    lab.ok(&["topo", "up"]);
    // (the topology attaches a pass program on clt:veth0: those pins are the finished state)
    let finished = lab.pins();
    // crash while loading: the half-loaded program is removed, the topology (finished) stays
    lab.crash(
        "xdp-load:prog-pinned",
        &["xdp", "attach", "xdp_counter", "sut", "enp6s0f0"],
    );
    assert_ne!(lab.pins(), finished);
    lab.ok(&["topo", "status"]);
    assert_eq!(lab.pins(), finished, "left behind");
    assert_eq!(lab.namespaces().len(), 3);
    // crash right after the link was pinned: the attachment is undone
    lab.crash(
        "xdp-attach:link-pinned",
        &["xdp", "attach", "xdp_counter", "sut", "enp6s0f0"],
    );
    let st: serde_json::Value =
        serde_json::from_str(&lab.ok(&["topo", "status", "--json"])).unwrap();
    let sut_if = &st["nodes"][1]["interfaces"][0];
    assert!(
        sut_if["xdp_prog_id"].is_null(),
        "still attached after recovery: {sut_if}"
    );
    assert!(
        lab.pins().iter().all(|p| !p.contains("/links/sut/")),
        "{:?}",
        lab.pins()
    );
    // and the lab works normally afterwards
    lab.ok(&["xdp", "attach", "xdp_counter", "sut", "enp6s0f0"]);
    lab.ok(&[
        "traffic", "--from", "tg", "--to", "fc01::2", "--udp", "9", "--count", "7",
    ]);
    assert!(lab.ok(&["map", "dump", "pkt_count"]).contains(": 7"));
}

#[test]
fn bad_input_gets_a_clear_error_and_creates_nothing() {
    let lab = Lab::new("bad");
    let dir = lab.state.join("topos");
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("broken.toml");
    std::fs::write(&f, "name = \"x\"\n[[node]]\nname = \"a\"\n[[link]]\na = { node = \"a\", dev = \"e0\", mac = \"02:00:00:00:00:01\" }\nb = { node = \"zz\", dev = \"e0\", mac = \"02:00:00:00:00:02\" }\n").unwrap();
    let o = lab.run(&["topo", "up", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("broken.toml:6:14") && err.contains("`zz`"),
        "{err}"
    );
    assert!(lab.namespaces().is_empty());

    let o = lab.run(&["exec", "tg", "--", "true"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no topology is up"),
        "{o:?}"
    );
    lab.ok(&["topo", "up", "pair"]);
    let o = lab.run(&["exec", "sut", "--", "true"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("unknown node `sut`") && err.contains("h1, h2"),
        "{err}"
    );
    let o = lab.run(&["map", "dump", "nothing_here"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no map named `nothing_here`"));
    let o = lab.run(&["topo", "up", "nonexistent"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown topology `nonexistent`"));
    let o = lab.run(&["map", "set", "verdict", "0", "lots"]);
    assert_eq!(o.status.code(), Some(2));
}

/// A misspelt name gets the closest one it could mean, like an unknown command does: maps
/// (every map command), nodes, interfaces, programs, topologies, exercises; a name nothing
/// is close to gets the list alone.
#[test]
fn a_typo_in_a_name_gets_a_suggestion() {
    let lab = Lab::new("typo");
    lab.ok(&["topo", "up", "pair"]);
    lab.ok(&["xdp", "attach", "xdp_counter", "h2", "eth0"]);
    let err = |args: &[&str]| {
        let o = lab.run(args);
        assert!(!o.status.success(), "{args:?}: {o:?}");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    for args in [
        &["map", "dump", "pkt_cont"][..],
        &["map", "watch", "pkt_cont"],
        &["map", "set", "pkt_cont", "0", "1"],
        &["map", "delete", "pkt_cont", "0"],
        &["map", "clear", "pkt_cont"],
    ] {
        let e = err(args);
        assert!(
            e.contains("no map named `pkt_cont` is loaded; did you mean `pkt_count`? (loaded: "),
            "{args:?}: {e}"
        );
    }
    let e = err(&["map", "dump", "xdp_counter/pkt_cont"]);
    assert!(e.contains("did you mean `xdp_counter/pkt_count`?"), "{e}");
    let e = err(&["map", "dump", "nothing_like_it"]);
    assert!(
        e.contains("no map named `nothing_like_it` is loaded (loaded: ") && !e.contains("mean"),
        "{e}"
    );
    let e = err(&["exec", "h22", "--", "true"]);
    assert!(e.contains("unknown node `h22`; did you mean `h2`?"), "{e}");
    let e = err(&["xdp", "detach", "h2", "eth1"]);
    assert!(
        e.contains("has no interface `eth1`; did you mean `eth0`?"),
        "{e}"
    );
    let e = err(&["xdp", "attach", "xdp_countr", "h2", "eth0"]);
    assert!(e.contains("did you mean `xdp_counter`?"), "{e}");
    let e = err(&["topo", "up", "pairs"]);
    assert!(
        e.contains("unknown topology `pairs`; did you mean `pair`?"),
        "{e}"
    );
    let e = err(&["lesson", "check", "1", "ipv6-onl"]);
    assert!(e.contains("did you mean `ipv6-only`?"), "{e}");
}

/// `exec` of a program that does not exist says "command not found" (with the host's
/// program it could be, and where a node's programs come from), not the OS's "No such file
/// or directory"; a missing path says so; other failures keep the OS's words.
#[test]
fn exec_of_a_missing_program_says_command_not_found() {
    let lab = Lab::new("nf");
    lab.ok(&["topo", "up", "pair"]);
    let err = |argv: &[&str]| {
        let mut args = vec!["exec", "h1", "--"];
        args.extend(argv);
        let o = lab.run(&args);
        assert!(!o.status.success(), "{argv:?}: {o:?}");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = err(&["pingg", "-c1", "fd00::2"]);
    assert!(
        e.starts_with("error: command not found: `pingg` in h1; did you mean `ping`?")
            && e.contains("the host's programs")
            && e.contains("PATH")
            && !e.contains("os error"),
        "{e}"
    );
    let e = err(&["./no-such-program"]);
    assert!(
        e.contains("cannot run `./no-such-program` in h1: there is no such file"),
        "{e}"
    );
    // a directory: the OS's words
    let e = err(&["/tmp"]);
    assert!(
        e.contains("cannot run `/tmp` in h1: Permission denied"),
        "{e}"
    );
}

/// `lesson check 1` names no exercise of a lesson that has two: it checks the first one not
/// passed yet (what the tutorial's `c` checks when its step names none), and says which one,
/// why, and the command for the other; in JSON as `picked`. Once that one passes, the other is
/// taken; with both passed, the first. A named exercise gets no such note, and a hint says it
/// the same way.
#[test]
fn a_lesson_command_naming_no_exercise_says_which_it_took() {
    let lab = Lab::new("pick");
    let ws = lab.state.join("ws");
    let run = |args: &[&str]| {
        let o = lab
            .cmd(args)
            .env("ECLAT_LAB_WORKSPACE", &ws)
            .env("ECLAT_LAB_PROGRESS", ws.join("progress.toml"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let note = |this: &str, why: &str, other: &str| {
        format!(
            "(2 exercises in this lesson: this was {this}, {why}; the other: `lesson check 1 \
             {other}`)"
        )
    };
    let out = run(&["lesson", "check", "1"]);
    assert!(out.starts_with("FAIL ipv6-only"), "{out}");
    assert!(
        out.trim_end()
            .ends_with(&note("ipv6-only", "the first not passed yet", "ping-wall")),
        "{out}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&run(&["lesson", "check", "1", "--json"])).unwrap();
    assert_eq!(v["exercise"], "ipv6-only");
    assert_eq!(
        v["picked"],
        serde_json::json!({"exercise": "ipv6-only", "all_passed": false,
            "command": "lesson check 1", "others": ["ping-wall"]})
    );
    let out = run(&["lesson", "check", "1", "ipv6-only"]);
    assert!(!out.contains("exercises in this lesson"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&run(&["lesson", "check", "1", "ipv6-only", "--json"])).unwrap();
    assert!(v.get("picked").is_none(), "{v}");
    let out = run(&["lesson", "hint", "1"]);
    assert!(
        out.contains("the other: `lesson hint 1 ping-wall`"),
        "{out}"
    );
    // ipv6-only passed: ping-wall is next; both passed: the first again
    assert!(run(&["lesson", "solve", "1", "ipv6-only"]).contains("PASS ipv6-only"));
    let out = run(&["lesson", "check", "1"]);
    assert!(
        out.starts_with("FAIL ping-wall")
            && out.trim_end().ends_with(&note(
                "ping-wall",
                "the first not passed yet",
                "ipv6-only"
            )),
        "{out}"
    );
    assert!(run(&["lesson", "solve", "1", "ping-wall"]).contains("PASS ping-wall"));
    let out = run(&["lesson", "check", "1"]);
    assert!(
        out.trim_end().ends_with(&note(
            "ipv6-only",
            "all have passed, so the first",
            "ping-wall"
        )),
        "{out}"
    );
}

/// In the shell (a real terminal: tmux), `clear` and Ctrl-L clear the screen; `clear` used
/// to be an unknown command with "did you mean 'classroom'?", the instructors' command that
/// makes Unix users. From bash, `eclat-lab clear` is one line with no suggestion either.
#[test]
fn the_shell_clears_its_screen() {
    let env = common::lab("cli", "ec", "clr");
    let mut t = common::Tmux::new(&env, "clear", &[]);
    t.launch("shell", 100, 30);
    let wait = Duration::from_secs(20);
    t.wait("the prompt", wait, |s| s.contains("eclat-lab>"));
    for clear in [&["clear", "Enter"][..], &["C-l"]] {
        t.type_text("lesson list");
        t.keys(&["Enter"]);
        t.wait("the lessons", wait, |s| s.contains("Hello XDP"));
        if clear[0] == "clear" {
            t.type_text("clear");
            t.keys(&clear[1..]);
        } else {
            t.keys(clear);
        }
        let s = t.wait("a clear screen", wait, |s| {
            !s.contains("Hello XDP") && s.contains("eclat-lab>")
        });
        assert!(
            !s.contains("did you mean") && !s.contains("classroom"),
            "{clear:?}: {s}"
        );
        assert_eq!(s.trim(), "eclat-lab>", "{clear:?}: only the prompt is left");
    }
    let o = Command::new(common::BIN).arg("clear").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: unknown command `clear`\n`help` lists the commands\n"
    );
}

#[test]
fn without_root_it_says_what_it_needs() {
    let lab = Lab::new("noroot");
    let mut c = lab.cmd(&["topo", "up"]);
    c.uid(65534).gid(65534);
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("needs root") && err.contains("sudo eclat-lab topo up"),
        "{err}"
    );
    // lessons work without root
    let mut c = lab.cmd(&["lesson", "list"]);
    c.uid(65534).gid(65534);
    let o = c.output().unwrap();
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Hello XDP"));
    assert!(lab.namespaces().is_empty());
}

#[test]
fn doctor_reports_json() {
    let lab = Lab::new("doc");
    let v: serde_json::Value = serde_json::from_str(&lab.ok(&["doctor", "--json"])).unwrap();
    let names: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for n in [
        "privileges",
        "kernel",
        "btf",
        "bpffs",
        "jit",
        "clang",
        "lockdown",
    ] {
        assert!(names.contains(&n), "doctor lacks {n}: {names:?}");
    }
    assert_eq!(v["ok"], true, "{v}");
}

fn script(name: &str) -> String {
    format!(
        "{}/../pure/eclat/tests/scripts/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn compile_needs_no_root_and_explains_errors() {
    let lab = Lab::new("comp");
    let mut c = lab.cmd(&[
        "compile",
        &script("ddos.eclat"),
        "-D",
        "DEVNAME=enp6s0f0",
        "--emit",
        "asm",
    ]);
    c.uid(65534).gid(65534);
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let asm = String::from_utf8_lossy(&o.stdout);
    assert!(asm.contains("call") && asm.contains("mitigate"), "{asm}");
    let bad = lab.state.join("bad.eclat");
    std::fs::create_dir_all(&lab.state).unwrap();
    std::fs::write(
        &bad,
        "from programs.hike_default import hike_pass\n\ndef c():\n    x = 1\n    hike_pass()\n",
    )
    .unwrap();
    let o = lab.run(&["compile", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.eclat:4:5") && err.contains("u64 : x"),
        "{err}"
    );
}

/// `lesson check` on a file that does not compile says what `compile` (or clang) says, not a
/// summary: the place (file:line:col), the source line, the mark under it, the help, in the
/// CLI's text, the shell's and `--json` (`compiler_output`, `diagnostics`); it said `seen:
/// line 22: ...` alone, and clang's lines ran together.
#[test]
fn a_check_that_does_not_compile_says_where_and_what_to_do() {
    let lab = Lab::new("nocomp");
    std::fs::create_dir_all(&lab.state).unwrap();
    let ws = lab.state.join("ws");
    let progress = lab.state.join("progress.toml");
    let cmd = |args: &[&str]| {
        let mut c = lab.cmd(args);
        c.env("ECLAT_LAB_WORKSPACE", &ws)
            .env("ECLAT_LAB_PROGRESS", &progress);
        c
    };
    let stdout = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();
    let file = ws.join("07-first-eclat-script/ports.eclat");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let solution =
        std::fs::read_to_string(lessons_file("07-first-eclat-script/solution/ports.eclat"))
            .unwrap();
    let f = file.display().to_string();
    for (wrong, right, place, words) in [
        (
            "    hike_dorp()\n",
            "    hike_drop()\n",
            "22:5",
            "Help: did you mean `hike_drop`?",
        ),
        (
            "def block()\n",
            "def block():\n",
            "20:12",
            "╰── expected `:`",
        ),
        (
            "    monitor(METRICS, 1)\n",
            "    monitor(DROP)\n",
            "21:5",
            "Help: its signature: monitor(u32 event)",
        ),
    ] {
        std::fs::write(&file, solution.replace(right, wrong)).unwrap();
        let o = cmd(&["lesson", "check", "7", "ports"]).output().unwrap();
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(out.contains(&format!("{f}:{place}")), "{place}: {out}");
        assert!(out.contains(words), "{words}: {out}");
        assert!(out.contains(wrong.trim_end()), "the source line: {out}");
        // the shell prints the same text
        let mut sh = cmd(&["shell"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        sh.stdin
            .take()
            .unwrap()
            .write_all(b"lesson check 7 ports\n")
            .unwrap();
        let said = stdout(&sh.wait_with_output().unwrap());
        assert!(said.contains(&format!("{f}:{place}")), "{said}");
        assert!(said.contains(words), "{said}");
        // --json: the place as `seen` says it, the compiler's words, the located diagnostics
        let o = cmd(&["lesson", "check", "7", "ports", "--json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let r = &v["results"][0];
        assert!(
            r["seen"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{f}:{place}: ")),
            "{r}"
        );
        assert!(
            r["compiler_output"].as_str().unwrap().contains(words),
            "{r}"
        );
        let d = &r["diagnostics"][0];
        assert_eq!(
            format!("{}:{}", d["span"]["line"], d["span"]["col"]),
            place,
            "{r}"
        );
    }
    // clang's own lines, each as clang printed it (the caret under the operator)
    let c = ws.join("01-hello-xdp/ipv6_counter.bpf.c");
    std::fs::create_dir_all(c.parent().unwrap()).unwrap();
    let starter =
        std::fs::read_to_string(lessons_file("01-hello-xdp/starter/ipv6_counter.bpf.c")).unwrap();
    let broken = starter.replacen("\tif (count)\n", "\tif (count && ctx\n\t\t* key)\n", 1);
    assert_ne!(broken, starter, "the starter's `if (count)` moved");
    std::fs::write(&c, broken).unwrap();
    let o = cmd(&["lesson", "check", "1", "ipv6-only"])
        .output()
        .unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    // the place relative to the learner's folder, as their editor shows the file
    let at = "ipv6_counter.bpf.c:";
    assert!(out.contains(at) && out.contains(": error: "), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let src = lines
        .iter()
        .position(|l| l.contains("|") && l.contains("* key)"))
        .unwrap_or_else(|| panic!("clang's source line: {out}"));
    let col = |l: &str, c: char| l.find(c).map(|i| l[..i].chars().count());
    assert_eq!(col(lines[src + 1], '^'), col(lines[src], '*'), "{out}");
    let o = cmd(&["lesson", "check", "1", "ipv6-only", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = &v["results"][0];
    assert!(r["seen"].as_str().unwrap().starts_with(at), "{r}");
    assert!(r["compiler_output"].as_str().unwrap().contains("^"), "{r}");
}

/// A C exercise's errors as data and as text for people, from the real clang-19 and the real
/// verifier: clang's errors (place relative to the learner's folder, the quoted line, the
/// marks, the fix-it, what to do) in `diagnostics` and under `seen:` (CLI, shell); its
/// warnings on a file that compiles; and the verifier's rejection (the program, the failing
/// instruction's index, the C line, the kernel's last error line, what to do).
#[test]
fn a_c_exercises_errors_are_structured() {
    let lab = Lab::new("cdiag");
    std::fs::create_dir_all(&lab.state).unwrap();
    let ws = lab.state.join("ws");
    let progress = lab.state.join("progress.toml");
    let cmd = |args: &[&str]| {
        let mut c = lab.cmd(args);
        c.env("ECLAT_LAB_WORKSPACE", &ws)
            .env("ECLAT_LAB_PROGRESS", &progress);
        c
    };
    let json = |args: &[&str]| -> serde_json::Value {
        let o = cmd(args).output().unwrap();
        serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
    };
    let c = ws.join("01-hello-xdp/ipv6_counter.bpf.c");
    std::fs::create_dir_all(c.parent().unwrap()).unwrap();
    let starter =
        std::fs::read_to_string(lessons_file("01-hello-xdp/starter/ipv6_counter.bpf.c")).unwrap();
    let line_of =
        |text: &str, pat: &str| text.lines().position(|l| l.contains(pat)).unwrap() as u64 + 1;

    // 1. two errors: a missing `;` (clang's fix-it) and an undeclared name
    let broken = starter
        .replacen("\t__u32 *action;\n", "\t__u32 *action\n", 1)
        .replacen("\treturn *action;", "\treturn *action + undefined_x;", 1);
    assert_ne!(broken, starter, "the starter changed");
    std::fs::write(&c, &broken).unwrap();
    let semi = line_of(&broken, "\t__u32 *action");
    let undef = line_of(&broken, "undefined_x");
    let o = cmd(&["lesson", "check", "1", "ipv6-only"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "seen:     ipv6_counter.bpf.c:{semi}:15: error: expected ';' at end of declaration"
        )),
        "{out}"
    );
    assert!(out.contains("help: clang suggests writing `;`"), "{out}");
    assert!(out.contains("`undefined_x` is not declared here"), "{out}");
    assert!(!out.contains("errors generated"), "{out}");
    let v = json(&["lesson", "check", "1", "ipv6-only", "--json"]);
    let r = &v["results"][0];
    assert_eq!(
        r["seen"],
        format!(
            "ipv6_counter.bpf.c:{semi}:15: expected ';' at end of declaration (and 1 more error)"
        ),
        "{r}"
    );
    let d = r["diagnostics"].as_array().unwrap();
    assert_eq!(d.len(), 2, "{r}");
    assert_eq!(d[0]["file"], "ipv6_counter.bpf.c");
    assert_eq!(d[0]["severity"], "error");
    assert_eq!(
        (d[0]["span"]["line"].as_u64(), d[0]["span"]["col"].as_u64()),
        (Some(semi), Some(15))
    );
    assert_eq!(d[0]["snippet"], "        __u32 *action", "{r}");
    assert_eq!(d[0]["fixit"], ";", "{r}");
    assert_eq!(
        (d[1]["span"]["line"].as_u64(), d[1]["span"]["col"].as_u64()),
        (Some(undef), Some(19))
    );
    assert!(
        d[1]["help"].as_str().unwrap().contains("undefined_x"),
        "{r}"
    );

    // 2. it compiles, with a warning: the check passes and says so
    let warned = starter.replacen("\t__u32 *action;\n", "\t__u32 *action;\n\tint unused;\n", 1);
    std::fs::write(&c, &warned).unwrap();
    let v = json(&["lesson", "check", "1", "ipv6-only", "--json"]);
    let r = &v["results"][0];
    assert_eq!(r["passed"], true, "{r}");
    let w = line_of(&warned, "int unused");
    assert_eq!(
        r["seen"],
        format!("compiled, with 1 warning: ipv6_counter.bpf.c:{w}:6: unused variable 'unused'"),
        "{r}"
    );
    assert_eq!(r["diagnostics"][0]["code"], "-Wunused-variable", "{r}");
    assert_eq!(r["diagnostics"][0]["severity"], "warning", "{r}");

    // 3. the verifier rejects a read of the packet before its bounds are checked
    let rejected = starter.replacen(
        "\tif (count)\n",
        "\tstruct ethhdr *eth = (void *)(long)ctx->data;\n\tif (count && eth->h_proto == bpf_htons(ETH_P_IPV6))\n",
        1,
    );
    assert_ne!(rejected, starter, "the starter's `if (count)` moved");
    std::fs::write(&c, &rejected).unwrap();
    let at = line_of(&rejected, "eth->h_proto");
    let o = cmd(&["lesson", "check", "1", "ipv6-only"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "ipv6_counter.bpf.c:{at}:2: error: out-of-bounds packet access: the verifier rejected `xdp_counter` at instruction "
        )),
        "{out}"
    );
    assert!(
        out.contains("if (count && eth->h_proto == bpf_htons(ETH_P_IPV6))"),
        "{out}"
    );
    assert!(out.contains("help: Before touching N bytes"), "{out}");
    assert!(out.contains("note: the instruction: "), "{out}");
    // the shell prints the same text
    let mut sh = cmd(&["shell"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    sh.stdin
        .take()
        .unwrap()
        .write_all(b"lesson check 1 ipv6-only\n")
        .unwrap();
    let said = String::from_utf8_lossy(&sh.wait_with_output().unwrap().stdout).into_owned();
    assert!(
        said.contains("the verifier rejected `xdp_counter`"),
        "{said}"
    );
    let v = json(&["lesson", "check", "1", "ipv6-only", "--json"]);
    let r = v["results"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(r["passed"], false, "{r}");
    let e = &r["explanation"];
    assert_eq!(e["program"], "xdp_counter", "{r}");
    let insn = e["insn_index"].as_u64().unwrap_or_else(|| panic!("{r}"));
    assert!(
        e["insn"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{insn}: ")),
        "{r}"
    );
    assert_eq!(e["error_line"], "R1 offset is outside of the packet", "{r}");
    let d = &r["diagnostics"][0];
    assert_eq!(d["file"], "ipv6_counter.bpf.c", "{r}");
    assert_eq!(d["code"], "verifier:packet-out-of-bounds", "{r}");
    assert_eq!(d["program"], "xdp_counter", "{r}");
    assert_eq!(d["insn"].as_u64(), Some(insn), "{r}");
    assert_eq!(
        (d["span"]["line"].as_u64(), d["span"]["col"].as_u64()),
        (Some(at), Some(2)),
        "{r}"
    );
    assert!(
        d["snippet"].as_str().unwrap().contains("eth->h_proto"),
        "{r}"
    );
    assert!(d["help"].as_str().unwrap().contains("data_end"), "{r}");
}

/// `module build` on a broken copy of lesson 9's module shows clang's errors and warnings and
/// the verifier's rejection as `lesson check` does (CLI, shell, --json): the place relative to
/// the learner's file, the quoted line and its caret, what to do, a misspelt helper's or HIKe
/// name's closest name; a rejection with its program, instruction, C line and advice; no
/// clang summary line.
#[test]
fn module_build_shows_c_diagnostics() {
    let lab = Lab::new("mbdiag");
    let src = amp_filter_source(&lab);
    let file = src.to_str().unwrap();
    let solution = std::fs::read_to_string(&src).unwrap();
    let line_of =
        |text: &str, pat: &str| text.lines().position(|l| l.contains(pat)).unwrap() as u64 + 1;

    // 1. a misspelt helper and a misspelt HIKe macro: clang refuses it
    let broken = solution
        .replacen("bpf_map_lookup_elem(", "bpf_map_lookup_elme(", 1)
        .replacen(
            "hike_pkt_ptr(ctx, pi->thoff",
            "hike_pkt_pointer(ctx, pi->thoff",
            1,
        );
    assert_ne!(broken, solution, "lesson 9's solution changed");
    std::fs::write(&src, &broken).unwrap();
    let helper = line_of(&broken, "bpf_map_lookup_elme");
    let o = lab.run(&["module", "build", file]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        err.contains(&format!(
            "amp_filter.bpf.c:{helper}:6: error: call to undeclared function 'bpf_map_lookup_elme'"
        )),
        "{err}"
    );
    // the quoted line, and the caret under the name
    let quoted = format!("{helper:>5} |         n = bpf_map_lookup_elme(&amp_drops, &sport);");
    let caret = "      |             ^";
    assert!(err.contains(&format!("{quoted}\n{caret}\n")), "{err}");
    assert!(
        err.contains("help: did you mean `bpf_map_lookup_elem` (from <bpf/bpf_helpers.h>)?"),
        "{err}"
    );
    assert!(
        err.contains("help: did you mean `hike_pkt_ptr` (from <hike/parse.h>)?"),
        "{err}"
    );
    assert!(!err.contains("errors generated"), "{err}");
    let o = lab.run(&["module", "build", file, "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)));
    assert_eq!(v["file"], file, "{v}");
    let d = v["diagnostics"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .find(|d| {
            d["message"]
                .as_str()
                .unwrap()
                .contains("'bpf_map_lookup_elme'")
        })
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(d["file"], "amp_filter.bpf.c", "{d}");
    assert_eq!(d["severity"], "error", "{d}");
    assert_eq!(d["code"], "-Wimplicit-function-declaration", "{d}");
    assert_eq!(
        (d["span"]["line"].as_u64(), d["span"]["col"].as_u64()),
        (Some(helper), Some(6)),
        "{d}"
    );
    assert_eq!(
        d["snippet"],
        "        n = bpf_map_lookup_elme(&amp_drops, &sport);"
    );
    assert_eq!(d["marker"], "            ^");
    assert!(
        d["help"]
            .as_str()
            .unwrap()
            .starts_with("did you mean `bpf_map_lookup_elem`"),
        "{d}"
    );
    // the shell prints the same text
    let shell = |line: &str| {
        let mut sh = lab
            .cmd(&["shell"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        sh.stdin
            .take()
            .unwrap()
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
        let o = sh.wait_with_output().unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let said = shell(&format!("module build {file}"));
    assert!(said.contains(&format!("{quoted}\n{caret}\n")), "{said}");
    assert!(said.contains("did you mean `hike_pkt_ptr`"), "{said}");

    // 2. a warning, and a read of the packet the verifier cannot prove inside it
    let rejected = solution
        .replacen(
            "udp = hike_pkt_ptr(ctx, pi->thoff, sizeof(*udp));",
            "udp = (void *)(long)ctx->data + (pi->thoff & 0xff);",
            1,
        )
        .replacen("\t__u8 l4;\n", "\t__u8 l4;\n\tint unused;\n", 1);
    assert_ne!(rejected, solution);
    std::fs::write(&src, &rejected).unwrap();
    let unused = line_of(&rejected, "int unused");
    let at = line_of(&rejected, "sport = bpf_ntohs(udp->source)");
    let o = lab.run(&["module", "build", file]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        out.contains(&format!(
            "amp_filter.bpf.c:{unused}:6: warning: unused variable 'unused' [-Wunused-variable]\n\
             {unused:>5} |         int unused;\n      |             ^~~~~~\n  help: Use it or remove it"
        )),
        "{out}"
    );
    assert!(out.contains("verifier: udp_amp_filter REJECTED"), "{out}");
    assert!(
        out.contains(&format!(
            "amp_filter.bpf.c:{at}:2: error: out-of-bounds packet access: the verifier rejected \
             `udp_amp_filter` at instruction "
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{at:>5} |         sport = bpf_ntohs(udp->source);\n      |         ^~~~"
        )),
        "{out}"
    );
    assert!(out.contains("note: the instruction: "), "{out}");
    assert!(out.contains("help: Before touching N bytes"), "{out}");
    assert!(out.contains("end of the verifier log:"), "{out}");
    // the shell: the same text (the times aside)
    let same = &out[out.find("amp_filter.bpf.c:").unwrap()..out.find("verification time").unwrap()];
    let said = shell(&format!("module build {file}"));
    assert!(said.contains(same), "{said}");
    let o = lab.run(&["module", "build", file, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)));
    // the raw warnings are still there, as they were
    assert!(
        v["warnings"]
            .as_str()
            .unwrap()
            .contains("unused variable 'unused'"),
        "{v}"
    );
    let d = v["diagnostics"].as_array().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(d.len(), 2, "{v}");
    assert_eq!(d[0]["code"], "-Wunused-variable", "{v}");
    assert_eq!(d[0]["file"], "amp_filter.bpf.c", "{v}");
    assert!(d[0].get("program").is_none(), "{v}");
    let r = &d[1];
    assert_eq!(r["code"], "verifier:packet-out-of-bounds", "{r}");
    assert_eq!(r["program"], "udp_amp_filter", "{r}");
    assert_eq!(r["file"], "amp_filter.bpf.c", "{r}");
    assert_eq!(
        (r["span"]["line"].as_u64(), r["span"]["col"].as_u64()),
        (Some(at), Some(2)),
        "{r}"
    );
    let insn = r["insn"].as_u64().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(
        v["programs"][0]["explanation"]["insn_index"].as_u64(),
        Some(insn),
        "{v}"
    );
    assert!(r["help"].as_str().unwrap().contains("HIKE_XDP_VM"), "{r}");

    // 3. the solution itself: nothing to say
    std::fs::write(&src, &solution).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&lab.ok(&["module", "build", file, "--json"])).unwrap();
    assert_eq!(v["diagnostics"], serde_json::json!([]), "{v}");
    assert_eq!(v["programs"][0]["accepted"], true, "{v}");
}

/// An original-style script: aliases of the default programs (`programs.mynet`), no loader:
/// `test` runs its entry chain straight through the lab's chain runner, `--chain` picks a
/// chain by name, and a misspelt one gets the script's chains and a suggestion; JSON errors
/// carry line and column.
#[test]
fn a_loaderless_script_is_tested_chain_by_chain() {
    let lab = Lab::new("tchn");
    std::fs::create_dir_all(&lab.state).unwrap();
    let f = lab.state.join("filter.eclat");
    std::fs::write(
        &f,
        "from programs.mynet import hike_drop, hike_pass, monitor, udp_port\n\
         def dns():\n    if udp_port(53) == 1:\n        monitor(1)\n        hike_drop()\n    hike_pass()\n",
    )
    .unwrap();
    let f = f.to_str().unwrap();
    let v: serde_json::Value = serde_json::from_str(&lab.ok(&[
        "test",
        f,
        "-p",
        "ipv6 udp dport=53",
        "-p",
        "ipv4 udp dport=53",
        "-p",
        "ipv6 udp dport=54",
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["chain"], "dns", "{v}");
    let verdicts: Vec<&str> = v["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["DROP", "DROP", "PASS"], "{v}");
    let v: serde_json::Value = serde_json::from_str(&lab.ok(&[
        "test",
        f,
        "--chain",
        "dns",
        "-p",
        "ipv6 udp dport=53",
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["packets"][0]["verdict"], "DROP", "{v}");
    let o = lab.run(&["test", f, "--chain", "dsn", "-p", "ipv6 udp"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("no chain `dsn`") && err.contains("its chains: dns"),
        "{err}"
    );
    // a misspelt import: the JSON error locates it
    let bad = lab.state.join("bad.eclat");
    std::fs::write(
        &bad,
        "from programs.mynet import hike_pas\ndef c():\n    hike_pas()\n",
    )
    .unwrap();
    let o = lab.run(&["compile", bad.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = &v["diagnostics"][0];
    assert_eq!(
        (d["span"]["line"].as_u64(), d["span"]["col"].as_u64()),
        (Some(1), Some(28)),
        "{v}"
    );
    assert!(
        d["help"].as_str().unwrap_or("").contains("hike_pass"),
        "{v}"
    );
    assert!(lab.namespaces().is_empty());
}

/// The lab draws its own files (the book's figures): no root, the SVG printed or written,
/// never through a symbolic link.
#[test]
fn topologies_and_chains_are_drawn_without_root() {
    let lab = Lab::new("draw");
    std::fs::create_dir_all(&lab.state).unwrap();
    let mut c = lab.cmd(&["topo", "draw"]);
    c.uid(65534).gid(65534);
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = String::from_utf8_lossy(&o.stdout);
    assert!(
        svg.starts_with("<svg") && svg.contains("hike-lab topology: 3 nodes, 3 links"),
        "{svg}"
    );
    let ddos = lessons_file("08-ddos-mitigation/solution/ddos.eclat");
    let out = lab.state.join("ddos.svg");
    let msg = lab.ok(&[
        "chain",
        "draw",
        &ddos,
        "--path",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(msg.contains("packet path of chain mitigate"), "{msg}");
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("mitigate"), "{svg}");
    let v: serde_json::Value =
        serde_json::from_str(&lab.ok(&["chain", "draw", &ddos, "--json"])).unwrap();
    assert_eq!(
        (v["chain"].as_str(), v["figure"].as_str()),
        (Some("mitigate"), Some("chain")),
        "{v}"
    );
    let link = lab.state.join("link.svg");
    std::os::unix::fs::symlink("/etc/passwd-eclat-lab-test", &link).unwrap();
    let o = lab.run(&["topo", "draw", "-o", link.to_str().unwrap()]);
    assert!(!o.status.success(), "wrote through a link");
    assert!(!std::path::Path::new("/etc/passwd-eclat-lab-test").exists());
    let o = lab.run(&["chain", "draw", &ddos, "--chain", "nope"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("no chain `nope`") && err.contains("mitigate"),
        "{err}"
    );
}

/// An instructor catches a learner up: `lesson solve` puts the reference solution in place
/// (the learner's version kept), the checks pass and the exercise counts as done; the
/// solution stays closed to a learner until then, and opens to an instructor's session.
#[test]
fn an_instructor_catches_a_learner_up() {
    let lab = Lab::new("solv");
    std::fs::create_dir_all(&lab.state).unwrap();
    let ws = lab.state.join("ws");
    let progress = lab.state.join("progress.toml");
    let run = |args: &[&str], instructor: bool| {
        let mut c = lab.cmd(args);
        c.env("ECLAT_LAB_WORKSPACE", &ws)
            .env("ECLAT_LAB_PROGRESS", &progress)
            .env_remove("ECLAT_LAB_INSTRUCTOR");
        if instructor {
            c.env("ECLAT_LAB_INSTRUCTOR", "1");
        }
        c.output().unwrap()
    };
    let o = run(&["lesson", "solution", "1"], false);
    assert!(
        !o.status.success(),
        "the solution opened before the checks passed"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("opens once your checks pass"));
    let o = run(&["lesson", "solution", "1"], true);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // the learner's own (unfinished) work
    let mine = ws.join("01-hello-xdp/ipv6_counter.bpf.c");
    std::fs::create_dir_all(mine.parent().unwrap()).unwrap();
    std::fs::write(&mine, "/* my attempt */\n").unwrap();
    let o = run(&["lesson", "solve", "1", "--json"], false);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["check"]["passed"], true, "{v}");
    let backup = v["backup"].as_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(backup).unwrap(),
        "/* my attempt */\n"
    );
    let p = std::fs::read_to_string(&progress).unwrap();
    assert!(p.contains("ipv6-only"), "{p}");
    // now the learner may read it too
    assert!(
        run(&["lesson", "solution", "1", "ipv6-only"], false)
            .status
            .success()
    );
    assert!(lab.namespaces().is_empty());
}

#[test]
fn scripts_test_load_trace_reload_unload() {
    let lab = Lab::new("scr");
    let ddos = script("ddos.eclat");
    // test: crafted packets, no topology
    let out = lab.ok(&[
        "test",
        &ddos,
        "-D",
        "DEVNAME=enp6s0f0",
        "-p",
        "ipv6 udp dport=5000",
        "-p",
        "ipv4 udp",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let v = &v["packets"];
    assert_eq!(v[0]["verdict"], "PASS");
    assert!(
        v[0]["trace"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.as_str().unwrap().contains("monitor")),
        "{v}"
    );
    assert_eq!(v[1]["verdict"], "PASS");
    assert!(lab.namespaces().is_empty());

    lab.ok(&["topo", "up"]);
    let out = lab.ok(&["load", &ddos, "-D", "DEVNAME=enp6s0f0"]);
    assert!(
        out.contains("loaded") && out.contains("ip6_simple_classifier on sut:enp6s0f0"),
        "{out}"
    );
    let list = lab.ok(&["chain", "list"]);
    assert!(
        list.contains("0x40000001") && list.contains("mitigate"),
        "{list}"
    );
    let dis = lab.ok(&["chain", "dis", "mitigate"]);
    assert!(dis.contains("hike_default.monitor"), "{dis}");
    // the compiled form under the bytecode: what each call's copy does next
    assert!(
        dis.contains("\ncompiled: ") && dis.contains("after the call at"),
        "{dis}"
    );
    // packets through the loaded chain: monitor(PASS) counts them
    let r = lab.ok(&[
        "traffic", "--from", "tg", "--to", "fc01::2", "--icmp", "--count", "4",
    ]);
    assert!(r.contains("4 echo replies"), "{r}");
    assert!(lab.ok(&["map", "dump", "map_pcpu_mon"]).contains(": 4"));
    // re-load: new chain ID, the old one is gone, no second attach
    let out = lab.ok(&["load", &ddos, "-D", "DEVNAME=enp6s0f0"]);
    assert!(
        out.contains("reloaded") && out.contains("already attached"),
        "{out}"
    );
    let list = lab.ok(&["chain", "list"]);
    assert!(
        list.contains("0x40000002") && !list.contains("0x40000001"),
        "{list}"
    );
    // unload frees the IDs: the next load reuses 0x40000001
    lab.ok(&["unload", &ddos]);
    assert!(lab.ok(&["chain", "list"]).contains("no chain is stored"));
    let st: serde_json::Value =
        serde_json::from_str(&lab.ok(&["topo", "status", "--json"])).unwrap();
    assert!(st["nodes"][1]["interfaces"][0]["xdp_prog_id"].is_null());
    lab.ok(&["load", &ddos, "-D", "DEVNAME=enp6s0f0"]);
    assert!(lab.ok(&["chain", "list"]).contains("0x40000001"));
}

/// `dev check [LESSON] --json` with a workspace of its own: the output and its JSON.
fn dev_check(lab: &Lab, lesson: &[&str]) -> (Output, serde_json::Value) {
    let ws = lab.state.join("ws");
    let mut args = vec!["dev", "check", "--json"];
    args.extend_from_slice(lesson);
    let o = lab
        .cmd(&args)
        .env("ECLAT_LAB_WORKSPACE", &ws)
        .env("ECLAT_LAB_PROGRESS", ws.join("progress.toml"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (o, v)
}

/// `dev check`: every exercise's starter fails its checks and its solution passes them.
#[test]
fn every_starter_fails_and_every_solution_passes() {
    let lab = Lab::new("dev");
    let (o, v) = dev_check(&lab, &[]);
    let rows = v["rows"].as_array().unwrap();
    assert!(!rows.is_empty(), "no exercise at all");
    for r in rows {
        assert_eq!(r["as_expected"], true, "{r}");
    }
    assert!(o.status.success());
    assert!(lab.namespaces().is_empty());
}

/// Lesson 5's swap check on a machine so slow that every packet is out before the swap is
/// done (`ECLAT_LAB_SLOW_AT=check:swap` holds the swap until then, as the Vagrant box under
/// software emulation did): half of each stream is sent again once the swap is done, counted
/// with the rest, and the solution passes. Without that, no packet meets the firewall and
/// the check fails the solution.
#[test]
fn lesson_5s_swap_check_sends_again_when_the_traffic_ended_before_the_swap() {
    let lab = Lab::new("swp");
    let ws = lab.state.join("ws");
    let o = lab
        .cmd(&[
            "lesson",
            "solve",
            "05-composing-programs",
            "insert-firewall",
            "--json",
        ])
        .env("ECLAT_LAB_WORKSPACE", &ws)
        .env("ECLAT_LAB_PROGRESS", ws.join("progress.toml"))
        .env("ECLAT_LAB_SLOW_AT", "check:swap")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(v["check"]["passed"], true, "{text}");
    // 500 of each class before the swap, 250 again after it
    assert!(
        text.contains("750 to port 5000") && text.contains("750 to port 6000"),
        "{text}"
    );
    assert!(lab.namespaces().is_empty());
}

/// `dev check 4`: the load balancer's starters fail where the lesson says (the starter
/// balances nothing; exercise 1's solution sends new flows to a draining backend), the
/// solutions pass their real-flow checks, and nothing of the scratch labs is left.
#[test]
fn load_balancer_starters_fail_for_their_reason_and_solutions_pass() {
    let lab = Lab::new("dev4");
    let ws = lab.state.join("ws");
    let o = lab
        .cmd(&["dev", "check", "cilium-load-balancer", "--json"])
        .env("ECLAT_LAB_WORKSPACE", &ws)
        .env("ECLAT_LAB_PROGRESS", ws.join("progress.toml"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    let rows = v["rows"].as_array().unwrap();
    let row = |ex: &str, file: &str| {
        rows.iter()
            .find(|r| r["exercise"] == ex && r["file"] == file)
            .unwrap_or_else(|| panic!("{ex}/{file} in {v}"))
            .clone()
    };
    for ex in ["select-and-rewrite", "drain"] {
        assert_eq!(
            row(ex, "solution")["passed"],
            true,
            "{}",
            row(ex, "solution")
        );
        assert_eq!(
            row(ex, "starter")["as_expected"],
            true,
            "{}",
            row(ex, "starter")
        );
    }
    let why = |ex: &str| row(ex, "starter")["why"].as_str().unwrap_or("").to_string();
    assert!(
        why("select-and-rewrite").contains("gives DROP"),
        "{}",
        why("select-and-rewrite")
    );
    assert!(
        why("drain").contains("reached 10.0.2.2, which is draining"),
        "{}",
        why("drain")
    );
    assert_eq!(rows.len(), 4, "only lesson 4: {v}");
    assert!(o.status.success());
    assert!(lab.namespaces().is_empty());
}

/// SIGKILL inside `load` (after a chain is stored, after the loader entries are written,
/// after the attach): the next command leaves exactly one consistent version, no chain leaks.
#[test]
fn a_crash_inside_load_leaks_no_chain() {
    let lab = Lab::new("ldcrash");
    let ddos = script("ddos.eclat");
    lab.ok(&["topo", "up"]);
    for point in [
        "load:chain-stored",
        "load:entries-written",
        "load:attached",
        "hike:jit-linked-set",
        "hike:jit-instance-set",
    ] {
        // the instances' point is reached when chains are not linked
        let env: &[(&str, &str)] = match point {
            "hike:jit-instance-set" => &[("ECLAT_LAB_LINK", "off")],
            _ => &[],
        };
        lab.crash_with(point, &["load", &ddos, "-D", "DEVNAME=enp6s0f0"], env);
        // at most the two versions of an interrupted reload, both owned by the script
        // (a first load killed half-way is removed whole: zero chains)
        let list = lab.ok(&["chain", "list"]);
        let n = list.lines().filter(|l| l.starts_with("0x")).count();
        assert!(
            n <= 2 && !list.contains("stored by hand"),
            "{point}: {list}"
        );
        let out = lab.ok(&["load", &ddos, "-D", "DEVNAME=enp6s0f0"]);
        assert!(out.contains("loaded"), "{point}: {out}");
        let list = lab.ok(&["chain", "list"]);
        assert_eq!(
            list.lines().filter(|l| l.starts_with("0x")).count(),
            1,
            "{point}: {list}"
        );
        let r = lab.ok(&[
            "traffic", "--from", "tg", "--to", "fc01::2", "--icmp", "--count", "2",
        ]);
        assert!(r.contains("2 echo replies"), "{point}: {r}");
    }
    // the compiled chain: its 10 program copies (its 13 calls, less the 3 calls of the
    // verdict programs hike_pass and hike_drop, folded) linked into the one program of its
    // entry slot, and nothing a killed install left
    let jit = lab.ok(&["map", "dump", "hvm_jit_map"]);
    assert!(jit.contains("1 of 256 slots filled"), "{jit}");
    assert!(jit.contains("hike_chain_"), "{jit}");
    assert!(
        lab.ok(&["chain", "list"])
            .contains("compiled: linked into one program")
    );
    let out = lab.ok(&["unload", &ddos]);
    assert!(out.contains("freed program IDs"), "{out}");
    assert!(lab.ok(&["chain", "list"]).contains("no chain is stored"));
    let jit = lab.ok(&["map", "dump", "hvm_jit_map"]);
    assert!(jit.contains("0 of 256 slots filled"), "{jit}");
}

/// A learner's own HIKe module: built, loaded, imported from eCLAT, run on crafted packets.
#[test]
fn a_learners_module_is_built_loaded_and_called_from_ecl() {
    let lab = Lab::new("umod");
    let src = amp_filter_source(&lab);
    let out = lab.ok(&["module", "load", src.to_str().unwrap()]);
    assert!(
        out.contains("amp_filter.udp_amp_filter = program ID")
            && out.contains("from programs.amp_filter import"),
        "{out}"
    );
    assert!(
        lab.ok(&["module", "list"])
            .contains("amp_filter.udp_amp_filter")
    );
    let script = lab.state.join("guard.eclat");
    std::fs::write(
        &script,
        "from programs.amp_filter import udp_amp_filter\nfrom programs.hike_default import hike_pass\nfrom loaders.hike_default import ip6_simple_classifier\n\nip6_simple_classifier[ipv6_simple_classifier_map] = { (0): (guard) }\n\ndef guard():\n    udp_amp_filter()\n    hike_pass()\n",
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&lab.ok(&[
        "test",
        script.to_str().unwrap(),
        "-p",
        "ipv6 udp dport=5000",
        "-p",
        "ipv6 udp sport=123 dport=5000",
        "--json",
    ]))
    .unwrap();
    let v = &v["packets"];
    assert_eq!(v[0]["verdict"], "PASS", "{v}");
    assert_eq!(v[1]["verdict"], "DROP", "{v}");
    assert!(v[1]["map_changes"].to_string().contains("amp_drops"), "{v}");
}

/// The kernel changes behind the lab's back: an interface vanishes, a namespace is deleted.
/// Clear messages, the lab keeps working, and teardown still leaves nothing.
#[test]
fn things_vanishing_behind_the_labs_back() {
    let lab = Lab::new("gone");
    lab.ok(&["topo", "up"]);
    // an interface deleted with ip: status says so, attaching to it says so
    let sut = format!("{}sut", lab.prefix);
    assert!(
        Command::new("ip")
            .args(["-n", &sut, "link", "del", "cl0"])
            .status()
            .unwrap()
            .success()
    );
    let st = lab.ok(&["topo", "status"]);
    assert!(st.contains("interface cl0 is missing"), "{st}");
    let o = lab.run(&["xdp", "attach", "xdp_counter", "sut", "cl0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no interface cl0"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // the rest still works
    assert!(
        lab.ok(&[
            "traffic", "--from", "tg", "--to", "fc01::2", "--icmp", "--count", "2"
        ])
        .contains("2 echo replies")
    );
    // a namespace deleted behind the lab's back
    assert!(
        Command::new("ip")
            .args(["netns", "del", &sut])
            .status()
            .unwrap()
            .success()
    );
    let st = lab.ok(&["topo", "status"]);
    assert!(
        st.contains("MISSING") && st.contains("deleted behind the lab's back"),
        "{st}"
    );
    let o = lab.run(&["exec", "sut", "--", "true"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!("`{sut}` does not exist")),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // topo down and up again rebuild the whole lab
    lab.ok(&["topo", "down"]);
    assert!(lab.namespaces().is_empty());
    lab.ok(&["topo", "up"]);
    assert!(
        lab.ok(&[
            "traffic", "--from", "clt", "--to", "cafe::1", "--icmp", "--count", "2"
        ])
        .contains("2 echo replies")
    );
}

/// `map watch` of a map that a reset removes while it is watched ends saying the map is
/// gone and how to go on, not with the kernel's `BPF_OBJ_GET failed`.
#[test]
fn a_watch_whose_map_goes_away_says_so() {
    use std::io::{BufRead, BufReader};
    let lab = Lab::new("wgone");
    lab.ok(&["topo", "up"]);
    lab.ok(&["xdp", "attach", "xdp_counter", "sut", "enp6s0f0"]);
    let mut child = lab
        .cmd(&["map", "watch", "pkt_count", "--interval", "50"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // a first frame, so the watch has found and read the map
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("rate") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the watch ended first"
        );
    }
    lab.ok(&["reset"]);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`map watch pkt_count`: the map is gone") && !err.contains("BPF_OBJ_GET"),
        "{err}"
    );
}

/// A session (the shell here; the TUI uses the same session lifetime) killed with SIGKILL:
/// what it created belongs to nobody alive, and the next start removes it.
#[test]
fn a_killed_session_is_cleaned_up_by_the_next_start() {
    use std::io::Write;
    let lab = Lab::new("sess");
    let mut child = lab
        .cmd(&["shell"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "topo up").unwrap();
    writeln!(stdin, "xdp attach xdp_counter sut enp6s0f0").unwrap();
    stdin.flush().unwrap();
    let t0 = std::time::Instant::now();
    while !lab.pins().iter().any(|p| p.contains("links/sut")) {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(30),
            "the shell did not build the lab"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(
        lab.namespaces().len(),
        3,
        "the session's objects outlive the kill until the next start"
    );
    let out = lab.ok(&["topo", "status"]);
    assert!(out.contains("leftover"), "{out}");
    assert!(lab.namespaces().is_empty(), "{:?}", lab.namespaces());
    assert!(lab.pins().is_empty(), "{:?}", lab.pins());
}

/// A script whose loader goes on an interface where the lab had attached another program
/// (lesson 1's counter) says that program gave way: it stops counting from that load on.
#[test]
fn a_load_says_which_program_its_loader_replaced() {
    let lab = Lab::new("repl");
    lab.ok(&["topo", "up"]);
    lab.ok(&["xdp", "attach", "xdp_counter", "sut", "enp6s0f0"]);
    let count = lessons_file("06-hike/solution/count.eclat");
    let out = lab.ok(&["load", &count]);
    assert!(
        out.contains("on sut:enp6s0f0 (in place of xdp_counter, detached)"),
        "{out}"
    );
    // loaded again: the loader is there already, nothing gave way
    let out = lab.ok(&["load", &count]);
    assert!(!out.contains("in place of"), "{out}");
    lab.ok(&["reset"]);
}

/// The lesson text names the learner's files where they are: with `ECLAT_LAB_WORKSPACE`
/// elsewhere, `lesson show` (the CLI's and the shell's) says that folder, not
/// `~/eclat-lab`, which a learner would look for in their home. From a learner's walkthrough.
#[test]
fn lesson_text_names_the_real_workspace() {
    let lab = Lab::new("wsname");
    let ws = lab.state.join("learner files");
    let shown = |args: &[&str], stdin: Option<&str>| {
        let mut c = lab.cmd(args);
        c.env("ECLAT_LAB_WORKSPACE", &ws)
            .env("ECLAT_LAB_PROGRESS", lab.state.join("progress.toml"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let o = c
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin
                    .take()
                    .unwrap()
                    .write_all(stdin.unwrap_or_default().as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let want = format!("{}/07-first-eclat-script/ports.eclat", ws.display());
    for out in [
        shown(&["lesson", "show", "7"], None),
        shown(&["shell"], Some("lesson show 7\n")),
    ] {
        assert!(out.contains(&want), "{want} not in:\n{out}");
        assert!(!out.contains("~/eclat-lab"), "{out}");
    }
    // where the workspace is in its default place, the text reads as the book does
    let o = lab
        .cmd(&["lesson", "show", "7"])
        .env_remove("ECLAT_LAB_WORKSPACE")
        .env("HOME", &lab.state)
        .env_remove("SUDO_USER")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("~/eclat-lab/07-first-eclat-script/ports.eclat"),
        "{out}"
    );
}

/// An interface runs one XDP program, and a loaded script's loader there is that script's (as
/// `xdp attach` already held): `load` of another script whose loader would go there is
/// refused, from the command line and the shell alike, saying where (interface and
/// namespace), what holds it and what to do, and changes nothing; reloading the script that
/// holds it still works, a script attaching the same loader shares it, and `--replace` takes
/// the interface over: the holder shows as displaced and gets its loader back when the last
/// script on the interface is unloaded. From a learner's walkthrough: lesson 7's `load` took
/// lesson 6's interface with only a note, and count.eclat still showed as loaded.
#[test]
fn a_load_onto_another_scripts_interface_is_refused_unless_replace() {
    let lab = Lab::new("busy");
    lab.ok(&["topo", "up"]);
    let count = lessons_file("06-hike/solution/count.eclat");
    let ports = lessons_file("07-first-eclat-script/solution/ports.eclat");
    let collector = lessons_file("07-first-eclat-script/solution/collector.eclat");
    lab.ok(&["load", &count]);
    let o = lab.run(&["load", &ports]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "the load took the interface: {err}");
    for part in [
        "cannot load ",
        "interface sut:enp6s0f0",
        &format!("(namespace {}sut)", lab.prefix),
        "runs hike_default.ip6_simple_classifier, the loader of ",
        "count.eclat, which is loaded",
        "Nothing was changed",
        "`eclat-lab unload ",
        "ports.eclat --replace` to take the interface over",
    ] {
        assert!(err.contains(part), "`{part}` not in: {err}");
    }
    assert_eq!(
        sut_attached(&lab),
        ["sut:enp6s0f0 <- ip6_simple_classifier"]
    );
    let chains = lab.ok(&["chain", "list"]);
    assert!(!chains.contains("ports.eclat"), "{chains}");
    assert!(!chains.contains("displaced"), "{chains}");

    // the shell says the same (the TUI's command line runs the same command layer)
    let o = lab
        .cmd(&["shell"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(format!("load {ports}\n").as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("interface sut:enp6s0f0") && out.contains("--replace"),
        "{out}"
    );
    assert_eq!(
        sut_attached(&lab),
        ["sut:enp6s0f0 <- ip6_simple_classifier"]
    );

    // the script that holds the interface reloads over itself
    let out = lab.ok(&["load", &count]);
    assert!(
        out.contains("reloaded") && out.contains("(already attached)"),
        "{out}"
    );

    // --replace takes the interface over
    let out = lab.ok(&["load", &ports, "--replace"]);
    assert!(
        out.contains(
            "on sut:enp6s0f0 (in place of hike_default.ip6_simple_classifier, the loader of "
        ) && out.contains("count.eclat: displaced until this script is unloaded)"),
        "{out}"
    );
    assert_eq!(sut_attached(&lab), ["sut:enp6s0f0 <- udp_dport_classifier"]);
    let chains = lab.ok(&["chain", "list"]);
    assert!(
        chains.contains("count_and_pass (count.eclat, displaced"),
        "{chains}"
    );
    // and is refused to count.eclat in turn
    let o = lab.run(&["load", &count]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        !o.status.success()
            && err.contains("runs hike_default.udp_dport_classifier, the loader of ")
            && err.contains("ports.eclat, which is loaded"),
        "{err}"
    );
    // a script attaching the same loader shares the interface
    let out = lab.ok(&["load", &collector]);
    assert!(out.contains("(already attached)"), "{out}");
    // the interface stays with collector.eclat, then goes back to count.eclat
    let out = lab.ok(&["unload", &ports]);
    assert!(!out.contains("attached again"), "{out}");
    assert_eq!(sut_attached(&lab), ["sut:enp6s0f0 <- udp_dport_classifier"]);
    let out = lab.ok(&["unload", &collector]);
    assert!(
        out.contains("attached again: hike_default.ip6_simple_classifier on sut:enp6s0f0 for ")
            && out.contains("count.eclat"),
        "{out}"
    );
    assert_eq!(
        sut_attached(&lab),
        ["sut:enp6s0f0 <- ip6_simple_classifier"]
    );
    let chains = lab.ok(&["chain", "list"]);
    assert!(!chains.contains("displaced"), "{chains}");
    lab.ok(&["reset"]);
}

/// A loader's attachment is "already there" only when it runs this HIKe instance's very
/// loader, not one of the same name: a link that outlived its instance (here its VM, maps and
/// programs removed under it, as a half-finished cleanup leaves them) runs a loader that
/// finds none of the new instance's chains, and every packet dropped while `load` said
/// "already attached" (walked in lesson 10 after mixed shell and tutorial sessions).
#[test]
fn a_loader_left_by_an_earlier_instance_is_replaced_not_kept() {
    let lab = Lab::new("stale");
    lab.ok(&["topo", "up"]);
    let count = lessons_file("06-hike/solution/count.eclat");
    lab.ok(&["load", &count]);
    for d in ["maps", "progs"] {
        std::fs::remove_dir_all(lab.bpffs.join(d)).unwrap();
    }
    std::fs::remove_file(lab.state.join("hike.json")).unwrap();
    assert!(
        lab.bpffs
            .join("links/sut/enp6s0f0/ip6_simple_classifier")
            .exists()
    );
    let out = lab.ok(&["load", &count]);
    assert!(
        out.contains(
            "(in place of the ip6_simple_classifier of an earlier HIKe instance, which ran none \
             of this instance's chains)"
        ),
        "{out}"
    );
    lab.ok(&[
        "traffic", "--from", "tg", "--to", "fc01::2", "--udp", "5000", "--count", "10",
    ]);
    let dump = lab.ok(&["map", "dump", "map_pcpu_mon"]);
    assert!(
        dump.contains("0 : 10"),
        "the new chain saw no packet:\n{dump}"
    );
    lab.ok(&["reset"]);
}

/// A script a session loads (the REPL here; the TUI runs the same command layer) goes when
/// the session ends, as by `unload`: no script stays recorded as loaded once the session's
/// objects (its loader's attachment among them) are gone, and an interface it had taken over
/// (`--replace`) goes back to the shell's script, for good (the attachment given back is the
/// shell script's, not the session's). A killed session's scripts go at the next command.
#[test]
fn a_sessions_scripts_go_with_it_and_give_back_what_they_took() {
    use std::io::Write;
    let lab = Lab::new("sesu");
    lab.ok(&["topo", "up"]);
    let count = lessons_file("06-hike/solution/count.eclat");
    let ports = lessons_file("07-first-eclat-script/solution/ports.eclat");
    lab.ok(&["load", &count]);
    let session = |input: &str| {
        let mut c = lab
            .cmd(&["shell"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin
            .as_mut()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        c
    };
    // the session takes the interface over, and ends
    let o = session(&format!("load {ports} --replace\nchain list\n"))
        .wait_with_output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("allow (ports.eclat)"), "{out}");
    assert_eq!(
        sut_attached(&lab),
        ["sut:enp6s0f0 <- ip6_simple_classifier"]
    );
    let chains = lab.ok(&["chain", "list"]);
    assert!(!chains.contains("ports.eclat"), "{chains}");
    assert!(!chains.contains("displaced"), "{chains}");
    // given back for good: another session's end leaves it
    session("xdp list\n").wait_with_output().unwrap();
    assert_eq!(
        sut_attached(&lab),
        ["sut:enp6s0f0 <- ip6_simple_classifier"]
    );

    // a session killed after its load: the next command unloads its script
    let mut c = session(&format!("load {ports} --replace\nchain list\n"));
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !lab.ok(&["chain", "list"]).contains("ports.eclat") {
        assert!(
            std::time::Instant::now() < until,
            "the session's load did not happen"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    c.kill().unwrap();
    c.wait().unwrap();
    let chains = lab.ok(&["chain", "list"]);
    assert!(!chains.contains("ports.eclat"), "{chains}");
    assert!(!chains.contains("displaced"), "{chains}");
    assert_eq!(
        sut_attached(&lab),
        ["sut:enp6s0f0 <- ip6_simple_classifier"]
    );

    // a script a session loaded and a system shell then reloaded is the shell's: it stays,
    // with its loader attached, when the session ends
    let mut c = session(&format!("load {ports} --replace\n"));
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !lab.ok(&["chain", "list"]).contains("ports.eclat") {
        assert!(
            std::time::Instant::now() < until,
            "the session's load did not happen"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = lab.ok(&["load", &ports]);
    assert!(out.contains("(already attached)"), "{out}");
    drop(c.stdin.take());
    c.wait().unwrap();
    assert!(lab.ok(&["chain", "list"]).contains("allow (ports.eclat)"));
    assert_eq!(sut_attached(&lab), ["sut:enp6s0f0 <- udp_dport_classifier"]);
    lab.ok(&["reset"]);
}

/// A script loaded from a shell while a session (the REPL here; the TUI is the same) owns the
/// HIKe instance: the script runs on that VM and those programs, so the session's end must
/// leave them (the shell's `load` adopts them), and no folder is then reported as holding
/// what the lab did not make. Walked in lesson 9: quitting the TUI took the VM from under a
/// script loaded in another terminal.
#[test]
fn a_script_loaded_from_a_shell_outlives_the_session_that_made_the_vm() {
    use std::io::Write;
    let lab = Lab::new("adopt");
    lab.ok(&["topo", "up"]);
    let count = lessons_file("06-hike/solution/count.eclat");
    let ddos = lessons_file("08-ddos-mitigation/solution/ddos.eclat");
    let mut child = lab
        .cmd(&["shell"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let wait = |what: &str, done: &dyn Fn(&[String]) -> bool| {
        let t0 = std::time::Instant::now();
        while !done(&lab.pins()) {
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(60),
                "the shell did not {what}: {:?}",
                lab.pins()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    // the session makes the HIKe instance, then leaves it without a script
    writeln!(stdin, "load {count}").unwrap();
    stdin.flush().unwrap();
    wait("load count.eclat", &|p| {
        p.iter().any(|p| p.contains("links/sut"))
    });
    writeln!(stdin, "unload {count}").unwrap();
    stdin.flush().unwrap();
    wait("unload count.eclat", &|p| {
        !p.iter().any(|p| p.contains("links/sut"))
    });
    assert!(lab.pins().iter().any(|p| p.ends_with("hvm_chain_map")));
    // a shell loads a script on that VM, then the session ends
    lab.ok(&["load", &ddos]);
    writeln!(stdin, "exit").unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let pins = lab.pins();
    assert!(
        pins.iter().any(|p| p.ends_with("hvm_chain_map")),
        "the session took the VM from under ddos.eclat: {pins:?}"
    );
    let list = lab.ok(&["chain", "list"]);
    assert!(list.contains("ddos.eclat"), "{list}");
    let o = lab.run(&["topo", "status"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.status.success() && !all.contains("did not make") && !all.contains("kept"),
        "{all}"
    );
    // and `reset` still removes all of it
    lab.ok(&["reset"]);
    assert!(lab.pins().is_empty(), "{:?}", lab.pins());
}

/// A full chain map (128 chains): a clear error, nothing half-loaded, the lab goes on.
#[test]
fn a_full_chain_map_is_a_clear_error_and_changes_nothing() {
    let lab = Lab::new("full");
    lab.ok(&["topo", "up"]);
    std::fs::create_dir_all(&lab.state).unwrap();
    let many = lab.state.join("many.eclat");
    let mut src = String::from(
        "from programs.hike_default import hike_pass\nfrom loaders.hike_default import ip6_simple_classifier\n\nip6_simple_classifier[ipv6_simple_classifier_map] = { (0): (c0) }\n\n",
    );
    for i in 0..130 {
        src.push_str(&format!("def c{i}():\n    hike_pass()\n\n"));
    }
    std::fs::write(&many, src).unwrap();
    let o = lab.run(&["load", many.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("all 128 chain slots are used") && err.contains("nothing changed"),
        "{err}"
    );
    assert!(lab.ok(&["chain", "list"]).contains("no chain is stored"));
    let out = lab.ok(&[
        "load",
        &script("lesson4_monitor.eclat"),
        "-D",
        "DEVNAME=enp6s0f0",
    ]);
    assert!(out.contains("loaded"), "{out}");
}

/// Without clang, building a module says what to install; the prebuilt programs still work.
#[test]
fn a_missing_clang_is_a_clear_error() {
    let lab = Lab::new("noclang");
    std::fs::create_dir_all(&lab.state).unwrap();
    let src = lab.state.join("x.bpf.c");
    std::fs::write(&src, "int x;\n").unwrap();
    let o = lab
        .cmd(&["module", "build", src.to_str().unwrap()])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("clang is not installed") && err.contains("apt-get install clang-19"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(
        &lab.cmd(&["doctor", "--json"])
            .env("PATH", "/nonexistent")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let clang = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "clang")
        .unwrap()
        .clone();
    assert_eq!(clang["level"], "warn", "{clang}");
}

/// SIGKILL half-way through the traffic generator and inside a module load: the topology is
/// untouched, and `reset` leaves zero namespaces and zero pins.
#[test]
fn kills_during_traffic_and_module_load() {
    let lab = Lab::new("kill2");
    lab.ok(&["topo", "up"]);
    lab.crash(
        "traffic:half-sent",
        &[
            "traffic", "--from", "tg", "--to", "fc01::2", "--udp", "5000", "--count", "1000",
        ],
    );
    assert!(
        lab.ok(&[
            "traffic", "--from", "tg", "--to", "fc01::2", "--icmp", "--count", "2"
        ])
        .contains("2 echo replies")
    );
    let src = amp_filter_source(&lab);
    lab.crash(
        "module-load:loaded",
        &["module", "load", src.to_str().unwrap()],
    );
    // the next start works (the module is loaded again from scratch)
    assert!(
        lab.ok(&["module", "load", src.to_str().unwrap()])
            .contains("program ID")
    );
    let out = lab.ok(&["reset"]);
    assert!(out.contains("removed"), "{out}");
    assert!(lab.namespaces().is_empty(), "{:?}", lab.namespaces());
    assert!(lab.pins().is_empty(), "{:?}", lab.pins());
    assert!(!lab.bpffs.exists());
}

fn amp_filter_source(lab: &Lab) -> PathBuf {
    std::fs::create_dir_all(&lab.state).unwrap();
    let src = lab.state.join("amp_filter.bpf.c");
    std::fs::copy(
        lessons_file("09-writing-a-module/solution/amp_filter.bpf.c"),
        &src,
    )
    .unwrap();
    src
}

/// SIGKILL in the instant after HIKe pins exist and before the command confirms them in the
/// journal: the VM's maps pinned, its program pinned, programs registered, a chain stored,
/// the loader attached; then, with a finished load in place, inside `module load` (the
/// module's map pinned, its program pinned, loaded, registered). Each time the next start
/// (`topo status`, not `reset`) removes exactly what the killed command made: the tree
/// below the lab's bpffs root is the one before it, the topology and the finished load
/// stay, no XDP program is left attached, and the lab loads, forwards and counts after.
#[test]
fn a_kill_between_hike_pins_and_their_confirmation_is_undone_by_the_next_start() {
    let lab = Lab::new("hkpin");
    let ddos = script("ddos.eclat");
    let load = ["load", ddos.as_str(), "-D", "DEVNAME=enp6s0f0"];
    lab.ok(&["topo", "up"]);
    // the topology (finished) has pins of its own: xdp_pass on clt:veth0
    let finished = lab.tree();
    for point in [
        "hike:maps-pinned",
        "hike:prog-pinned",
        "load:programs-registered",
        "load:chain-stored",
        "load:attached",
    ] {
        lab.crash(point, &load);
        assert_ne!(
            lab.tree(),
            finished,
            "{point}: the kill left nothing to test"
        );
        let out = lab.ok(&["topo", "status"]);
        assert!(out.contains("leftover"), "{point}: {out}");
        assert_eq!(lab.tree(), finished, "{point}: left behind");
        assert_eq!(lab.namespaces().len(), 3, "{point}: {:?}", lab.namespaces());
        assert!(
            lab.xdp_on(1).is_null(),
            "{point}: the loader is still attached"
        );
    }
    let out = lab.ok(&load);
    assert!(
        out.contains("ip6_simple_classifier on sut:enp6s0f0"),
        "{out}"
    );
    let loaded = lab.tree();
    let src = amp_filter_source(&lab);
    let module = ["module", "load", src.to_str().unwrap()];
    for point in [
        "hike:maps-pinned",
        "hike:prog-pinned",
        "module-load:loaded",
        "module-load:registered",
    ] {
        lab.crash(point, &module);
        assert_ne!(lab.tree(), loaded, "{point}: the kill left nothing to test");
        let out = lab.ok(&["topo", "status"]);
        assert!(out.contains("leftover"), "{point}: {out}");
        assert_eq!(lab.tree(), loaded, "{point}: left behind");
        assert!(
            !lab.xdp_on(1).is_null(),
            "{point}: the finished load was detached"
        );
    }
    // the lab works: the loaded chain forwards and counts, the module loads
    let r = lab.ok(&[
        "traffic", "--from", "tg", "--to", "fc01::2", "--icmp", "--count", "3",
    ]);
    assert!(r.contains("3 echo replies"), "{r}");
    assert!(lab.ok(&["map", "dump", "map_pcpu_mon"]).contains(": 3"));
    assert!(
        lab.ok(&module)
            .contains("amp_filter.udp_amp_filter = program ID")
    );
    // `test` without reuse runs a throwaway instance below the root: killed while it is
    // loaded, the next start removes it too
    let before = lab.tree();
    lab.crash_with(
        "test:scratch-loaded",
        &["test", &ddos, "-D", "DEVNAME=enp6s0f0", "-p", "ipv6 udp"],
        &[("ECLAT_LAB_CHECK_REUSE", "off")],
    );
    assert!(
        lab.tree().iter().any(|p| p.contains("/tmp/test-")),
        "{:?}",
        lab.tree()
    );
    let out = lab.ok(&["topo", "status"]);
    assert!(out.contains("leftover"), "{out}");
    assert_eq!(lab.tree(), before, "test:scratch-loaded: left behind");
    // with reuse, the lab's test instance (kept below `cache/`) killed while a test had it
    // loaded is emptied by the next test, which gives the same verdict as a first one
    let first = lab.ok(&["test", &ddos, "-D", "DEVNAME=enp6s0f0", "-p", "ipv6 udp"]);
    assert!(
        lab.tree().iter().any(|p| p.contains("/cache/test/")),
        "{:?}",
        lab.tree()
    );
    lab.crash(
        "test:scratch-loaded",
        &["test", &ddos, "-D", "DEVNAME=enp6s0f0", "-p", "ipv6 udp"],
    );
    let again = lab.ok(&["test", &ddos, "-D", "DEVNAME=enp6s0f0", "-p", "ipv6 udp"]);
    // the verdicts, the calls made and the map changes (a map the kill left full would show
    // `1 -> 2`), without run times and timestamps
    let verdicts = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| {
                l.contains("PASS")
                    || l.contains("DROP")
                    || l.contains("ABORTED")
                    || l.contains("call ")
                    || (l.trim_start().starts_with("map ") && !l.contains("last_ns"))
            })
            .map(|l| l.split(" (").next().unwrap_or(l).to_string())
            .collect()
    };
    assert_eq!(verdicts(&again), verdicts(&first), "{first}\n---\n{again}");
    let out = lab.ok(&["reset"]);
    assert!(out.contains("removed"), "{out}");
    assert!(lab.namespaces().is_empty() && !lab.bpffs.exists());
}

/// A learner's module of `n` HIKe programs `<prefix>0`.. (each returns to the chain).
fn filler_module(lab: &Lab, package: &str, prefix: &str, n: usize) -> String {
    std::fs::create_dir_all(&lab.state).unwrap();
    let mut src = String::from("#include <hike/api.h>\n\n");
    for i in 0..n {
        src.push_str(&format!(
            "HIKE_PROG({prefix}{i})\n{{\n\tHVM_RET = {i};\n\treturn HIKE_XDP_VM;\n}}\nEXPORT_HIKE_PROG({prefix}{i});\n\n"
        ));
    }
    src.push_str("char _license[] SEC(\"license\") = \"Dual MIT/GPL\";\n");
    let f = lab.state.join(format!("{package}.bpf.c"));
    std::fs::write(&f, src).unwrap();
    f.display().to_string()
}

/// `package.name` -> ID of every program with an ID (`module list --json`).
fn program_ids(lab: &Lab) -> std::collections::BTreeMap<String, u64> {
    let v: serde_json::Value =
        serde_json::from_str(&lab.ok(&["module", "list", "--json"])).unwrap();
    v["programs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| Some((r["program"].as_str()?.to_string(), r["id"].as_u64()?)))
        .collect()
}

/// The used slots of the kernel's program array (`hvm_hprog_map`), the VM's included.
fn kernel_slots(lab: &Lab) -> Vec<u64> {
    let v: serde_json::Value =
        serde_json::from_str(&lab.ok(&["map", "dump", "hvm_hprog_map", "--json"])).unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_u64().unwrap())
        .collect()
}

/// Every program ID taken (255 of them; 0 is the VM) by a loaded script and learner
/// modules: the next `module load`, `load` or prebuilt `module load` fails with a clear
/// error and changes nothing (no pin, no slot, no chain), the loaded script still forwards
/// and counts, unloading what a script calls is refused, and `module unload` frees IDs (and
/// the module's pins) for reuse by the next load.
#[test]
fn a_full_program_array_is_a_clear_error_and_unloading_frees_ids() {
    let lab = Lab::new("ids");
    lab.ok(&["topo", "up"]);
    let mon = script("lesson4_monitor.eclat");
    lab.ok(&["load", &mon, "-D", "DEVNAME=enp6s0f0"]);
    let used = program_ids(&lab).len();
    assert_eq!(used, 2, "{:?}", program_ids(&lab));
    let a = filler_module(&lab, "filler_a", "fa", 255 - used - 1);
    lab.ok(&["module", "load", &a]);
    assert_eq!(program_ids(&lab).len(), 254);
    assert_eq!(kernel_slots(&lab).len(), 255, "the VM and 254 programs");

    // two programs, one free ID: refused whole
    let b = filler_module(&lab, "filler_b", "fb", 2);
    let before = lab.tree();
    let o = lab.run(&["module", "load", &b]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot load")
            && err.contains("no free HIKe program ID: 2 program(s) need a new one")
            && err.contains("1 of the 255 IDs are free")
            && err.contains("Nothing was loaded or registered")
            && err.contains("eclat-lab module unload PACKAGE` (your modules: filler_a)"),
        "{err}"
    );
    assert_eq!(lab.tree(), before, "a refused module left pins");
    assert_eq!(program_ids(&lab).len(), 254);
    assert_eq!(kernel_slots(&lab).len(), 255, "a refused module left slots");

    // the last free ID goes to a one-program module: none is free now
    let c = filler_module(&lab, "filler_c", "fc", 1);
    assert!(
        lab.ok(&["module", "load", &c])
            .contains("filler_c.fc0 = program ID")
    );
    assert_eq!(kernel_slots(&lab).len(), 256);

    // a script that needs a new program, and a prebuilt program by hand: refused
    let second = lab.state.join("second.eclat");
    std::fs::write(
        &second,
        "from programs.hike_default import ip6_set_ecn, hike_pass\n\ndef mark():\n    ip6_set_ecn()\n    hike_pass()\n",
    )
    .unwrap();
    let second = second.to_str().unwrap();
    let chains = lab.ok(&["chain", "list"]);
    let before = lab.tree();
    for args in [
        vec!["load", second],
        vec!["module", "load", "hike_default.hike_drop"],
    ] {
        let o = lab.run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("no free HIKe program ID")
                && err.contains("0 of the 255 IDs are free")
                && err.contains("eclat-lab unload SCRIPT"),
            "{args:?}: {err}"
        );
        assert_eq!(lab.ok(&["chain", "list"]), chains, "{args:?}");
        assert_eq!(lab.tree(), before, "{args:?}");
        assert_eq!(kernel_slots(&lab).len(), 256, "{args:?}");
    }
    // the loaded script still forwards and counts
    let r = lab.ok(&[
        "traffic", "--from", "tg", "--to", "fc01::2", "--icmp", "--count", "3",
    ]);
    assert!(r.contains("3 echo replies"), "{r}");
    assert!(lab.ok(&["map", "dump", "map_pcpu_mon"]).contains(": 3"));

    // what a loaded script calls cannot be unloaded
    let o = lab.run(&["module", "unload", "hike_default.monitor"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("lesson4_monitor.eclat calls hike_default.monitor")
            && err.contains("nothing was unloaded"),
        "{err}"
    );
    assert_eq!(kernel_slots(&lab).len(), 256);

    // unloading a module frees its IDs and pins; the next load reuses the lowest
    let ids = program_ids(&lab);
    let lowest = ids
        .iter()
        .filter(|(k, _)| k.starts_with("filler_a."))
        .map(|(_, id)| *id)
        .min()
        .unwrap();
    let out = lab.ok(&["module", "unload", "filler_a"]);
    assert!(
        out.contains(&format!("freed {} program IDs", 255 - used - 1)),
        "{out}"
    );
    assert!(
        !lab.tree().iter().any(|p| p.contains("filler_a")),
        "{:?}",
        lab.tree()
    );
    assert_eq!(kernel_slots(&lab).len(), 256 - (255 - used - 1));
    let out = lab.ok(&["load", second]);
    assert!(
        out.contains(&format!("hike_default.ip6_set_ecn={lowest}")),
        "{out}"
    );
    assert!(program_ids(&lab).contains_key("filler_c.fc0"));
    let r = lab.ok(&[
        "traffic", "--from", "tg", "--to", "fc01::2", "--icmp", "--count", "2",
    ]);
    assert!(r.contains("2 echo replies"), "{r}");
    assert!(lab.ok(&["map", "dump", "map_pcpu_mon"]).contains(": 5"));
}

/// `map dump NAME --json` rows as (key, value) numbers, sorted (hash maps have no order).
fn rows(lab: &Lab, map: &str) -> Vec<(u64, u64)> {
    let v: serde_json::Value =
        serde_json::from_str(&lab.ok(&["map", "dump", map, "--json"])).unwrap();
    let mut rows: Vec<(u64, u64)> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_u64().unwrap_or(u64::MAX),
                r["value"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// `map dump` of a hash map lists its rows by key, for people and in JSON: the kernel hands
/// them out in hash order (1, 3, 0, 2 was seen). A key of 256 comes after 3 (by value, not by
/// its first byte).
#[test]
fn a_hash_maps_dump_is_sorted_by_key() {
    let lab = Lab::new("sort");
    lab.ok(&["topo", "up"]);
    lab.ok(&["load", &script("ddos.eclat"), "-D", "DEVNAME=enp6s0f0"]);
    for k in ["1", "3", "256", "0", "2", "17"] {
        lab.ok(&["map", "set", "app_cfg_map", k, "7"]);
    }
    let want = [0, 1, 2, 3, 17, 256];
    let v: serde_json::Value =
        serde_json::from_str(&lab.ok(&["map", "dump", "app_cfg_map", "--json"])).unwrap();
    let keys: Vec<u64> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_u64().unwrap())
        .collect();
    assert_eq!(keys, want, "{v}");
    let out = lab.ok(&["map", "dump", "app_cfg_map"]);
    let keys: Vec<u64> = out
        .lines()
        .skip(1)
        .map(|l| l.split(':').next().unwrap().trim().parse().unwrap())
        .collect();
    assert_eq!(keys, want, "{out}");
}

/// `map clear`: an array is zeroed and counts again from zero; the DDoS policy's state
/// (blacklist, buckets, countdowns) is deleted and the same burst gives the same exact
/// counters again; clearing under traffic works; what cannot be cleared is refused with
/// the reason and changes nothing.
#[test]
fn map_clear_empties_a_map_and_it_counts_again_from_zero() {
    let lab = Lab::new("clr");
    lab.ok(&["topo", "up"]);
    // an array (xdp_counter's per-CPU pkt_count): zeroed, then counting from 0
    lab.ok(&["xdp", "attach", "xdp_counter", "sut", "enp6s0f0"]);
    lab.ok(&[
        "traffic", "--from", "tg", "--to", "fc01::2", "--udp", "5000", "--count", "50",
    ]);
    assert_eq!(rows(&lab, "pkt_count"), [(0, 50)]);
    let out = lab.ok(&["map", "clear", "pkt_count"]);
    assert_eq!(
        out.trim(),
        "cleared lab/xdp_counter/pkt_count (percpu_array): zeroed 1 of 1 entry on every CPU \
         (an array keeps its keys: the values are 0 again)"
    );
    assert_eq!(rows(&lab, "pkt_count"), [(0, 0)]);
    lab.ok(&[
        "traffic", "--from", "tg", "--to", "fc01::2", "--udp", "5000", "--count", "30",
    ]);
    assert_eq!(rows(&lab, "pkt_count"), [(0, 30)]);

    // the DDoS policy: a burst of 100 to a fresh destination is 10 PASS, 1 + 89 DROP. The
    // programs' clock is stopped: no bucket refills between packets, however long the
    // machine takes, and the blacklist does not expire (with the kernel's clock, each 50 ms
    // of delay in the burst let one more packet pass)
    let ddos = script("ddos.eclat");
    lab.ok(&["load", &ddos, "-D", "DEVNAME=enp6s0f0"]);
    lab.stop_clock(1000);
    let burst = || {
        lab.ok(&[
            "traffic", "--from", "tg", "--to", "fc01::2", "--udp", "5000", "--count", "100",
        ])
    };
    burst();
    assert_eq!(rows(&lab, "map_pcpu_mon"), [(0, 10), (1, 90)]);
    assert_eq!(
        rows(&lab, "ip6_hset_srcdst_map").len(),
        1,
        "the flow is blacklisted"
    );
    // the flow stays blacklisted: the same burst is all DROP
    burst();
    assert_eq!(rows(&lab, "map_pcpu_mon"), [(0, 10), (1, 190)]);
    let out = lab.ok(&["map", "clear", "ip6_hset_srcdst_map"]);
    assert_eq!(
        out.trim(),
        "cleared hike_default/ip6_hset_srcdst/ip6_hset_srcdst_map (hash): deleted 1 entry"
    );
    assert!(rows(&lab, "ip6_hset_srcdst_map").is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&lab.ok(&["map", "clear", "map_pcpu_mon", "--json"])).unwrap();
    assert_eq!(
        (v["method"].as_str(), v["cleared"].as_u64()),
        (Some("delete"), Some(2))
    );
    assert!(rows(&lab, "map_pcpu_mon").is_empty());
    for m in [
        "ip6_dst_tbmon_map",
        "ip6_sd_tbmon_map",
        "ip6_sd_dec2zero_map",
    ] {
        assert!(
            lab.ok(&["map", "clear", m]).contains("deleted 1 entry"),
            "{m}"
        );
        assert!(rows(&lab, m).is_empty(), "{m}");
    }
    // fresh state: the same burst gives the same exact counters, from zero
    burst();
    assert_eq!(rows(&lab, "map_pcpu_mon"), [(0, 10), (1, 90)]);
    assert_eq!(rows(&lab, "ip6_hset_srcdst_map").len(), 1);
    // already empty is not an error
    lab.ok(&["map", "clear", "lse_map"])
        .contains("it was already empty")
        .then_some(())
        .expect("an empty map");

    // clearing while the program creates and updates entries
    let flood = std::thread::scope(|s| {
        let t = s.spawn(|| {
            lab.ok(&[
                "traffic", "--from", "tg", "--to", "fc01::3", "--icmp", "--count", "300", "--rate",
                "300",
            ])
        });
        for _ in 0..5 {
            lab.ok(&["map", "clear", "map_pcpu_mon"]);
            lab.ok(&["map", "clear", "ip6_dst_tbmon_map"]);
        }
        t.join().unwrap()
    });
    assert!(flood.contains("sent 300/300"), "{flood}");

    // refused, with the reason and what to do instead; nothing changes
    let chains_before = lab.ok(&["chain", "list"]);
    let refused = |map: &str, says: &[&str]| {
        let o = lab.run(&["map", "clear", map]);
        assert!(!o.status.success(), "{map}: {o:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        for s in says {
            assert!(err.contains(s), "{map}: `{s}` not in {err}");
        }
    };
    refused(
        "hvm_hprog_map",
        &[
            "cannot clear `system/hvm_hprog_map`",
            "program array",
            "module unload",
        ],
    );
    refused("hvm_trace", &["ring buffer", "chain trace"]);
    refused("hvm_chain_map", &["chain store", "eclat-lab unload SCRIPT"]);
    refused("hvm_config", &["HIKe VM's configuration"]);
    refused(
        "ipv6_simple_classifier_map",
        &["entry points that `load` wrote", "eclat-lab unload"],
    );
    refused("nothing_here", &["no map named `nothing_here` is loaded"]);
    assert_eq!(lab.ok(&["chain", "list"]), chains_before);
    // the flood put tg -> fc01::3 on the blacklist: cleared, the policy lets a ping through
    for m in [
        "ip6_hset_srcdst_map",
        "ip6_dst_tbmon_map",
        "ip6_sd_tbmon_map",
    ] {
        lab.ok(&["map", "clear", m]);
    }
    let r = lab.ok(&[
        "traffic", "--from", "tg", "--to", "fc01::3", "--icmp", "--count", "3",
    ]);
    assert!(r.contains("3 echo replies"), "the policy still runs: {r}");
}

/// The sum of `map dump MAP --json` at `key`.
fn dump_at(lab: &Lab, map: &str, key: u64) -> u64 {
    rows(lab, map)
        .into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .unwrap_or(0)
}

/// Lesson 5 for real: the learner's own pipeline object loaded with `xdp load`, its
/// classifier attached, its program array wired by hand with `map set`, traffic counted by
/// the monitor at the end of the pipeline; a slot emptied with `map delete` makes the
/// solution fail closed (every packet counted in pipe_errors[2], none by the monitor); the
/// refusals say what is wrong and change nothing; reloading replaces the object and its
/// attachment; `reset` leaves no pin and no attachment.
#[test]
fn a_hand_wired_tail_call_pipeline() {
    let lab = Lab::new("pipe");
    lab.ok(&["topo", "up"]);
    let dir = lab.state.join("work");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("pipeline.bpf.c");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../lessons/05-composing-programs/solution/pipeline.bpf.c"
        ),
        &src,
    )
    .unwrap();
    let src = src.to_str().unwrap();
    let out = lab.ok(&["xdp", "load", src]);
    assert!(
        out.contains("loaded pipeline in")
            && out.contains("programs pipe_classifier, pipe_monitor, pipe_set_ecn")
            && out.contains("maps pipe_errors, pipe_mon, pipe_progs"),
        "{out}"
    );
    assert!(lab.xdp_on(1).is_null(), "xdp load attaches nothing");
    let out = lab.ok(&["xdp", "attach", "pipe_classifier", "sut", "enp6s0f0"]);
    assert!(
        out.contains("attached pipe_classifier to sut:enp6s0f0"),
        "{out}"
    );
    assert!(lab.xdp_on(1).is_u64());
    for (slot, prog) in [("1", "pipe_set_ecn"), ("2", "pipe_monitor")] {
        let out = lab.ok(&["map", "set", "pipe_progs", slot, prog]);
        assert!(
            out.contains(&format!("pipe_progs[{slot}] = {prog}")),
            "{out}"
        );
    }
    let out = lab.ok(&["map", "dump", "pipe_progs"]);
    assert!(
        out.contains("2 of 4 slots filled")
            && out.contains("1 : pipe_set_ecn (program ID")
            && out.contains("2 : pipe_monitor (program ID"),
        "{out}"
    );
    let send = |n: &str| {
        let out = lab.ok(&[
            "traffic", "--from", "tg", "--to", "fc01::2", "--udp", "5000", "--count", n, "--rate",
            "500",
        ]);
        assert!(out.contains(&format!("sent {n}/{n}")), "{out}");
    };
    send("50");
    assert_eq!(
        dump_at(&lab, "pipe_mon", 0),
        50,
        "every packet went through all 3 stages"
    );
    assert_eq!(dump_at(&lab, "pipe_errors", 1), 0);
    assert_eq!(dump_at(&lab, "pipe_errors", 2), 0);
    // IPv4 is not for this pipeline: the classifier passes it without a tail call
    let out = lab.ok(&[
        "traffic",
        "--from",
        "tg",
        "--to",
        "10.12.1.2",
        "--udp",
        "5000",
        "--count",
        "7",
    ]);
    assert!(out.contains("sent 7/7"), "{out}");
    assert_eq!(dump_at(&lab, "pipe_mon", 0), 50);

    // an empty slot 2: set_ecn's tail call misses, the solution counts it and drops
    let out = lab.ok(&["map", "delete", "pipe_progs", "2"]);
    assert!(out.contains("pipe_progs[2] deleted"), "{out}");
    let out = lab.ok(&["map", "delete", "pipe_progs", "2"]);
    assert!(out.contains("already empty"), "{out}");
    send("30");
    assert_eq!(dump_at(&lab, "pipe_errors", 2), 30);
    assert_eq!(dump_at(&lab, "pipe_errors", 1), 0);
    assert_eq!(dump_at(&lab, "pipe_mon", 0), 50, "the monitor never ran");

    // refusals: what is wrong, what to do, nothing changed
    let err = |args: &[&str], want: &[&str]| {
        let o = lab.run(args);
        let e = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!o.status.success(), "{args:?} succeeded");
        for w in want {
            assert!(e.contains(w), "{args:?}: want `{w}` in {e}");
        }
    };
    err(
        &["map", "set", "pipe_progs", "4", "pipe_monitor"],
        &["slots 0 to 3", "no slot 4"],
    );
    err(
        &["map", "set", "pipe_progs", "2", "pipe_nothing"],
        &["no program named `pipe_nothing`", "xdp load"],
    );
    err(
        &["map", "delete", "pipe_errors", "1"],
        &[
            "every key from 0 to 3 always exists",
            "map clear pipe_errors",
        ],
    );
    err(
        &["xdp", "attach", "pipe_nothing", "sut", "enp6s0f0"],
        &["unknown program `pipe_nothing`", "pipe_classifier"],
    );
    err(&["xdp", "load", "/nonexistent/x.txt"], &["FILE.bpf.c"]);
    // a program of another kind (XDP with frags) is refused by the kernel, with the reason
    let frags = dir.join("fragsy.bpf.c");
    std::fs::write(
        &frags,
        "#include <hike/hike.h>\nSEC(\"xdp.frags\")\nint fragsy(struct xdp_md *ctx)\n\
         { return XDP_PASS; }\nchar _license[] SEC(\"license\") = \"GPL\";\n",
    )
    .unwrap();
    lab.ok(&["xdp", "load", frags.to_str().unwrap()]);
    err(
        &["map", "set", "pipe_progs", "2", "fragsy"],
        &["the kernel refused to put `fragsy` into", "one kind only"],
    );
    let out = lab.ok(&["map", "dump", "pipe_progs"]);
    assert!(out.contains("1 of 4 slots filled"), "{out}");
    send("5");
    assert_eq!(dump_at(&lab, "pipe_errors", 2), 35);

    // loading again replaces the object: its attachment goes with the old version
    let out = lab.ok(&["xdp", "load", src]);
    assert!(
        out.contains("detached the earlier version: sut:enp6s0f0 <- pipe_classifier")
            && out.contains("reloaded pipeline"),
        "{out}"
    );
    assert!(lab.xdp_on(1).is_null());
    assert_eq!(dump_at(&lab, "pipe_errors", 2), 0, "fresh maps");

    let out = lab.ok(&["reset"]);
    assert!(out.contains("removed"), "{out}");
    assert!(lab.tree().is_empty(), "{:?}", lab.tree());
    assert!(lab.namespaces().is_empty());
}

/// The VM's trace is one ring buffer: every reader of the lab sees every event, whichever
/// process reads it (one owns the buffer, the others get its events over a socket).
#[test]
fn every_reader_of_the_chain_trace_sees_every_event() {
    use std::io::{BufRead, BufReader};
    let lab = Lab::new("trc");
    lab.ok(&["topo", "up"]);
    let count = lessons_file("06-hike/solution/count.eclat");
    lab.ok(&["load", &count]);
    // two readers, each a process of its own, as from two terminals
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let mut c = lab
                .cmd(&["chain", "trace", "--seconds", "15", "--json"])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let (tx, rx) = std::sync::mpsc::channel::<String>();
            let out = c.stdout.take().unwrap();
            std::thread::spawn(move || {
                for l in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send(l);
                }
            });
            (c, rx)
        })
        .collect();
    // each says it waits for packets once it reads the trace
    let mut lines: Vec<Vec<String>> = vec![vec![], vec![]];
    for (i, (_, rx)) in readers.iter().enumerate() {
        loop {
            let l = rx
                .recv_timeout(std::time::Duration::from_secs(20))
                .expect("a reader did not start");
            let waiting = l.contains("waiting for packets");
            lines[i].push(l);
            if waiting {
                break;
            }
        }
    }
    let r = lab.ok(&[
        "traffic", "--from", "tg", "--to", "fc01::2", "--icmp", "--count", "7", "--rate", "50",
    ]);
    assert!(r.contains("sent 7/7"), "{r}");
    for (i, (mut c, rx)) in readers.into_iter().enumerate() {
        let _ = c.wait();
        lines[i].extend(rx.try_iter());
        let entries = lines[i]
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["event"]["kind"] == "chain_enter" && v["event"]["depth"] == 1)
            .count();
        assert_eq!(
            entries, 7,
            "reader {i} saw {entries} packets: {:?}",
            lines[i]
        );
    }
    lab.ok(&["reset"]);
}

/// The counters of cube `name` from `cube show NAME --json`: (rx, pass, drop, miss, tx of
/// port 0).
fn cube_stats(lab: &Lab, name: &str) -> (u64, u64, u64, u64, u64) {
    let v: serde_json::Value =
        serde_json::from_str(&lab.ok(&["cube", "show", name, "--json"])).unwrap();
    let c = &v["cubes"][0];
    let s = &c["stats"];
    let n = |x: &serde_json::Value| x.as_u64().unwrap();
    (
        n(&s["rx"]),
        n(&s["pass"]),
        n(&s["drop"]),
        n(&s["miss"]),
        n(&c["ports"][0]["tx"]),
    )
}

fn lesson5(file: &str) -> String {
    format!(
        "{}/../../lessons/05-composing-programs/{file}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Lesson 5's cubes for real: two built-in cubes wired and attached, counted per cube and
/// per class; the graph read back from the kernel; the firewall inserted with one update
/// (no miss, the monitor keeps counting what fw sends on); the wrong order (the way in
/// before the way out) is visible as misses; refusals change nothing; a cube's own maps;
/// `reset` leaves nothing.
#[test]
fn cubes_are_wired_rewired_and_drawn() {
    let lab = Lab::new("cube");
    lab.ok(&["topo", "up"]);
    let out = lab.ok(&["cube", "add", "cls", "classifier"]);
    assert!(
        out.contains("added cube cls: program cube_classifier"),
        "{out}"
    );
    lab.ok(&["cube", "add", "mon", "monitor"]);
    let out = lab.ok(&["cube", "connect", "cls:0", "mon"]);
    assert!(out.starts_with("cls:0 -> mon (program ID"), "{out}");
    lab.ok(&["cube", "attach", "cls", "sut", "enp6s0f0"]);
    assert_eq!(
        lab.ok(&["cube", "graph"]).trim(),
        "sut:enp6s0f0 -> cls -0-> mon"
    );
    let send = |port: &str, n: &str| {
        let out = lab.ok(&[
            "traffic", "--from", "tg", "--to", "fc01::2", "--udp", port, "--count", n, "--rate",
            "500",
        ]);
        assert!(out.contains(&format!("sent {n}/{n}")), "{out}");
    };
    send("6000", "40");
    assert_eq!(cube_stats(&lab, "cls"), (40, 0, 0, 0, 40));
    assert_eq!(cube_stats(&lab, "mon"), (40, 40, 0, 0, 0));
    assert_eq!(dump_at(&lab, "mon/mon_class", 6000), 40);
    // IPv4 is not for the chain: the classifier hands it to the stack
    lab.ok(&[
        "traffic",
        "--from",
        "tg",
        "--to",
        "10.12.1.2",
        "--udp",
        "6000",
        "--count",
        "5",
    ]);
    assert_eq!(cube_stats(&lab, "cls"), (45, 5, 0, 0, 40));

    // the firewall, its way out first, then one update of cls:0
    let fw = lab.state.join("firewall.bpf.c");
    std::fs::copy(lesson5("solution/firewall.bpf.c"), &fw).unwrap();
    let fw = fw.to_str().unwrap();
    lab.ok(&["cube", "add", "fw", fw]);
    lab.ok(&["cube", "connect", "fw:0", "mon"]);
    let out = lab.ok(&["cube", "connect", "cls:0", "fw"]);
    assert!(out.contains("replacing mon in one update"), "{out}");
    send("6000", "30");
    send("5000", "20");
    assert_eq!(cube_stats(&lab, "fw"), (50, 0, 30, 0, 20));
    assert_eq!(dump_at(&lab, "fw/fw_dropped", 6000), 30);
    assert_eq!(
        dump_at(&lab, "mon/mon_class", 6000),
        40,
        "blocked after the swap"
    );
    assert_eq!(dump_at(&lab, "mon/mon_class", 5000), 20);
    assert_eq!(
        lab.ok(&["cube", "graph"]).trim(),
        "sut:enp6s0f0 -> cls -0-> fw -0-> mon"
    );
    let svg = lab.state.join("cubes.svg");
    let out = lab.ok(&["cube", "graph", "--svg", "-o", svg.to_str().unwrap()]);
    assert!(out.starts_with("wrote "), "{out}");
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains(">port 0<") && svg.contains(">fw<"));

    // the wrong order: a second firewall connected in before its way out exists
    lab.ok(&["cube", "add", "fw2", fw]);
    lab.ok(&["cube", "connect", "cls:0", "fw2"]);
    send("5000", "10");
    assert_eq!(
        cube_stats(&lab, "fw2"),
        (10, 0, 0, 10, 10),
        "10 misses: lost"
    );
    let g = lab.ok(&["cube", "graph"]);
    assert!(
        g.contains("not reached by any interface or port: fw")
            && g.contains("packets were sent to: fw2:0"),
        "{g}"
    );

    // refusals: what is wrong, what to do, nothing changed
    let err = |args: &[&str], want: &[&str]| {
        let o = lab.run(args);
        let e = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!o.status.success(), "{args:?} succeeded");
        for w in want {
            assert!(e.contains(w), "{args:?}: want `{w}` in {e}");
        }
    };
    err(&["cube", "del", "mon"], &["fw:0", "cube disconnect"]);
    err(
        &["cube", "add", "cls", "monitor"],
        &["already", "cube del cls"],
    );
    err(
        &["cube", "connect", "cls:4", "mon"],
        &["ports 0 to 3", "no port 4"],
    );
    err(&["cube", "connect", "cls0", "mon"], &["CUBE:PORT"]);
    err(
        &["cube", "connect", "cls:0", "nothing"],
        &["no cube `nothing`", "fw2"],
    );
    err(
        &["cube", "add", "x", "nonsense"],
        &["built-in cube", "classifier"],
    );
    let counter = lesson_copy(&lab, "01-hello-xdp/solution/ipv6_counter.bpf.c");
    err(
        &["cube", "add", "x", &counter],
        &["no map `cube_ports`", "cube/cube.h"],
    );
    assert_eq!(
        lab.ok(&["cube", "graph"]).lines().next(),
        Some("sut:enp6s0f0 -> cls -0-> fw2")
    );

    // removing a cube: its port first, then it goes, its maps with it
    lab.ok(&["cube", "connect", "cls:0", "fw"]);
    let out = lab.ok(&["cube", "del", "fw2"]);
    assert!(out.contains("removed cube fw2"), "{out}");
    assert!(!lab.ok(&["map", "list"]).contains("fw2/"));
    let out = lab.ok(&["cube", "disconnect", "cls:0"]);
    assert!(out.contains("cls:0 emptied (it led to fw)"), "{out}");
    send("5000", "3");
    assert_eq!(cube_stats(&lab, "cls").3, 3, "misses of cls");

    lab.ok(&["reset"]);
    assert!(lab.tree().is_empty(), "{:?}", lab.tree());
}

/// `xdp list`'s lines for sut:enp6s0f0 (what runs there).
fn sut_attached(lab: &Lab) -> Vec<String> {
    lab.ok(&["xdp", "list"])
        .lines()
        .filter(|l| l.contains("sut:enp6s0f0"))
        .map(|l| l.trim().to_string())
        .collect()
}

fn lessons_file(rel: &str) -> String {
    format!("{}/../../lessons/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// A copy of a lesson's file in the lab's state folder (building writes the object next to
/// the source: never in the repository).
fn lesson_copy(lab: &Lab, rel: &str) -> String {
    std::fs::create_dir_all(&lab.state).unwrap();
    let to = lab.state.join(rel.rsplit('/').next().unwrap());
    std::fs::copy(lessons_file(rel), &to).unwrap();
    to.display().to_string()
}

/// `lesson check LESSON EX --json` with the workspace `ws`.
fn lesson_check_json(lab: &Lab, ws: &std::path::Path, lesson: &str, ex: &str) -> serde_json::Value {
    let o = lab
        .cmd(&["lesson", "check", lesson, ex, "--json"])
        .env("ECLAT_LAB_WORKSPACE", ws)
        .env("ECLAT_LAB_PROGRESS", ws.join("progress.toml"))
        .output()
        .unwrap();
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)))
}

/// The TUI's map sampler looks for a map that is not loaded yet only when the lab's journal
/// has changed since it last looked (a panel of such a map cost an idle tutorial a walk of
/// the lab's maps at every reading, 10 times a second), and still finds it as soon as a
/// command of another process loads it.
#[test]
fn the_map_sampler_finds_a_map_loaded_after_it_looked() {
    let lab = Lab::new("smp");
    let env = eclat_service::LabEnv {
        state_dir: lab.state.clone(),
        bpffs_root: lab.bpffs.clone(),
        ns_prefix: lab.prefix.clone(),
    };
    lab.ok(&["topo", "up"]);
    let mut sampler =
        eclat_service::maps::Sampler::new(eclat_service::Lab::new(env, eclat_service::Origin::Cli));
    let names = vec!["pkt_count".to_string()];
    let read = |s: &mut eclat_service::maps::Sampler| {
        let v = s.sample(&names);
        v[0].result.clone().expect("a reading")
    };
    assert!(read(&mut sampler).is_none(), "pkt_count before any program");
    assert!(read(&mut sampler).is_none(), "pkt_count, read again");
    lab.ok(&["xdp", "attach", "xdp_counter", "sut", "enp6s0f0"]);
    let d = read(&mut sampler).expect("pkt_count once xdp_counter is attached");
    assert!(d.map.name.ends_with("pkt_count"), "{}", d.map.name);
    // gone again with the topology's programs: not found, then found after a new attach
    lab.ok(&["reset"]);
    assert!(read(&mut sampler).is_none(), "pkt_count after reset");
    lab.ok(&["topo", "up"]);
    lab.ok(&["xdp", "attach", "xdp_counter", "sut", "enp6s0f0"]);
    assert!(read(&mut sampler).is_some(), "pkt_count attached again");
}

/// The checks' kept lab leaves the chains one run of checks stored for the next run to
/// overwrite in place: deleting a compiled chain empties its entry slot of `hvm_jit_map`,
/// which waits for an RCU grace period per loader that can tail-call it (40-50 ms per chain
/// here), and every run of an exercise with a traffic check after the first paid that (lesson
/// 7 services: 3 chains, 130 ms of a 250 ms check). A later run that loads fewer chains leaves
/// the others stored, with no loader entry pointing at them, and still proves its own file.
#[test]
fn the_kept_check_lab_overwrites_a_runs_chains_instead_of_deleting_them() {
    let lab = Lab::new("spare");
    let ws = lab.state.join("ws");
    let dir = ws.join("07-first-eclat-script");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["services.eclat", "collector.eclat"] {
        std::fs::copy(
            lessons_file(&format!("07-first-eclat-script/solution/{f}")),
            dir.join(f),
        )
        .unwrap();
    }
    let stored = || -> Vec<u32> {
        let h = eclat_kernel::hike::Hike::open(&lab.bpffs.join("scratch/ck")).unwrap();
        h.chains().unwrap().iter().map(|c| c.id).collect()
    };
    let v = lesson_check_json(&lab, &ws, "7", "services");
    assert_eq!(v["passed"], true, "{v}");
    let first = stored();
    assert!(first.len() >= 3, "services.eclat's chains: {first:?}");
    // collector.eclat has one chain: it takes the lowest ID, the others stay stored
    let v = lesson_check_json(&lab, &ws, "7", "to-collector");
    assert_eq!(v["passed"], true, "{v}");
    let second = stored();
    assert!(
        first.iter().all(|id| second.contains(id)),
        "the second run deleted the first run's chains: {first:?} then {second:?}"
    );
    // and a third run of the first exercise overwrites them again, and passes
    let v = lesson_check_json(&lab, &ws, "7", "services");
    assert_eq!(v["passed"], true, "{v}");
    assert_eq!(stored(), first);
    // the checks' instances (the kept lab, and the test instance of the verdict checks) run
    // the VM build the kernel verifies quickest: it steps through bpf_loop
    for vm in ["scratch/ck", "cache/test"] {
        let pin = lab.bpffs.join(vm).join("progs/hike_vm/hike_vm");
        let o = Command::new("bpftool")
            .args(["prog", "dump", "xlated", "pinned"])
            .arg(&pin)
            .output()
            .expect("bpftool");
        let code = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success() && code.contains("bpf_loop"),
            "{}: not the bpf_loop build of the VM: {}",
            pin.display(),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// `xdp unload` of what `xdp load` made: an attached program is detached first, a slot of
/// another program array holding one of its programs is emptied (else the program would go
/// on running behind a tail call), its pins go; other objects stay.
#[test]
fn xdp_unload_removes_what_xdp_load_made() {
    let lab = Lab::new("unl");
    lab.ok(&["topo", "up"]);
    let src = lab.state.join("pipeline.bpf.c");
    std::fs::copy(lesson5("solution/pipeline.bpf.c"), &src).unwrap();
    lab.ok(&["xdp", "load", src.to_str().unwrap()]);
    lab.ok(&["xdp", "attach", "pipe_classifier", "sut", "enp6s0f0"]);
    // a cube's port leads to the pipeline's monitor
    lab.ok(&["cube", "add", "cls", "classifier"]);
    lab.ok(&["map", "set", "cls/cube_ports", "0", "pipe_monitor"]);
    let port0 = || -> serde_json::Value {
        let v: serde_json::Value =
            serde_json::from_str(&lab.ok(&["cube", "show", "cls", "--json"])).unwrap();
        v["cubes"][0]["ports"][0]["peer"].clone()
    };
    assert_eq!(port0(), "program pipe_monitor");
    let out = lab.ok(&["xdp", "unload", "pipeline"]);
    assert!(
        out.contains("unloaded pipeline")
            && out.contains("detached sut:enp6s0f0 <- pipe_classifier")
            && out.contains("emptied cube/cls/cube_ports[0]"),
        "{out}"
    );
    assert!(lab.xdp_on(1).is_null(), "detached");
    assert!(port0().is_null(), "the slot is empty");
    assert!(
        !lab.pins().iter().any(|p| p.contains("xdp-obj")),
        "{:?}",
        lab.pins()
    );
    let o = lab.run(&["xdp", "unload", "pipeline"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no object `pipeline` is loaded"));
    // the cube is untouched
    lab.ok(&["cube", "show", "cls"]);
    lab.ok(&["reset"]);
    assert!(lab.tree().is_empty(), "{:?}", lab.tree());
}

/// A firewall that passes the checks of BPF_PROG_TEST_RUN (the ingress interface there is
/// the loopback) but hands port 5000 to the stack on a real interface, after the swap: the
/// live check counts the lost packets; the solution passes; the learner's lab is untouched.
#[test]
fn the_swap_check_counts_lost_packets() {
    let lab = Lab::new("swp");
    lab.ok(&["topo", "up"]);
    lab.ok(&["cube", "add", "keep", "monitor"]);
    let before = lab.ok(&["map", "list"]);
    let ws = lab.state.join("ws");
    let mine = ws.join("05-composing-programs/firewall.bpf.c");
    std::fs::create_dir_all(mine.parent().unwrap()).unwrap();
    let solution = std::fs::read_to_string(lesson5("solution/firewall.bpf.c")).unwrap();
    let leaky = solution.replace(
        "\treturn cube_forward(ctx, 0);",
        "\tif (ctx->ingress_ifindex != 1 && class == 5000)\n\t\treturn cube_pass();\n\treturn cube_forward(ctx, 0);",
    );
    assert_ne!(leaky, solution);
    let check = |text: &str| -> serde_json::Value {
        std::fs::write(&mine, text).unwrap();
        lesson_check_json(&lab, &ws, "5", "insert-firewall")
    };
    let v = check(&leaky);
    assert_eq!(v["passed"], false, "{v}");
    let last = v["results"].as_array().unwrap().last().unwrap().clone();
    assert!(
        last["what"]
            .as_str()
            .unwrap()
            .contains("under live traffic"),
        "{last}"
    );
    let seen = last["seen"].as_str().unwrap();
    assert!(
        seen.contains("port 5000: sent 500") && seen.contains("lost"),
        "{seen}"
    );
    let v = check(&solution);
    assert_eq!(v["passed"], true, "{v}");
    assert_eq!(
        lab.ok(&["map", "list"]),
        before,
        "the learner's lab is as it was"
    );
}

/// A learner whose own `xdp load` left a second `pkt_count` in their lab (lesson 1's
/// counter beside the prebuilt xdp_counter): in their lab the short name is ambiguous, but
/// checks run in a lab of their own and address their own maps, so lesson 7's traffic
/// check (which counts `pkt_count`) and lesson 1's verdict check pass, and the learner's
/// lab is as it was.
#[test]
fn a_learners_second_pkt_count_does_not_confuse_the_checks() {
    let lab = Lab::new("amb");
    lab.ok(&["topo", "up"]);
    let counter = lesson_copy(&lab, "01-hello-xdp/solution/ipv6_counter.bpf.c");
    lab.ok(&["xdp", "load", &counter]);
    lab.ok(&["xdp", "attach", "xdp_counter", "clt", "veth0"]);
    let o = lab.run(&["map", "dump", "pkt_count"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("`pkt_count` names several maps"),
        "the learner's lab has two"
    );
    let before = lab.ok(&["map", "list"]);
    let ws = lab.state.join("ws");
    for (lesson, ex, dir, file) in [
        (
            "7",
            "to-collector",
            "07-first-eclat-script",
            "collector.eclat",
        ),
        ("1", "ipv6-only", "01-hello-xdp", "ipv6_counter.bpf.c"),
    ] {
        let mine = ws.join(dir).join(file);
        std::fs::create_dir_all(mine.parent().unwrap()).unwrap();
        std::fs::copy(lessons_file(&format!("{dir}/solution/{file}")), &mine).unwrap();
        let v = lesson_check_json(&lab, &ws, lesson, ex);
        assert_eq!(v["passed"], true, "lesson {lesson}: {v}");
    }
    assert_eq!(
        lab.ok(&["map", "list"]),
        before,
        "the learner's lab is as it was"
    );
}

/// SIGKILL inside `cube add`, after the program is pinned and before the maps are: the next
/// command removes the half-made cube (its pins were provisional in the journal), the name
/// is free again, and `reset` leaves nothing.
#[test]
fn a_cube_add_killed_half_way_leaves_nothing() {
    let lab = Lab::new("cubek");
    lab.crash(
        "xdp-load-object:progs-pinned",
        &["cube", "add", "mon", "monitor"],
    );
    assert!(
        lab.pins().iter().any(|p| p.contains("/progs/cube/mon/")),
        "the crash came after the program's pin: {:?}",
        lab.pins()
    );
    let out = lab.ok(&["cube", "show"]);
    assert!(
        out.contains("removed") && out.contains("progs/cube/mon") && out.contains("no cubes yet"),
        "{out}"
    );
    assert!(
        !lab.pins().iter().any(|p| p.contains("/cube/")),
        "{:?}",
        lab.pins()
    );
    lab.ok(&["cube", "add", "mon", "monitor"]);
    lab.ok(&["reset"]);
    assert!(lab.tree().is_empty(), "{:?}", lab.tree());
}

/// Lesson 3's exercises with the real tools: bpftool answers checked against the kernel,
/// the learner's bpftrace program run against 100 aborted packets, the bcc counter run in
/// sut, or, where this machine cannot run bcc (no kernel headers), reported as not possible
/// (never as a pass) exactly when the doctor says the headers are missing.
#[test]
fn lesson_3_tools_checks_run_the_real_tools() {
    let lab = Lab::new("tools");
    let doctor: serde_json::Value = serde_json::from_str(&lab.ok(&["doctor", "--json"])).unwrap();
    let level = |name: &str| {
        doctor["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("doctor has no {name} check: {doctor}"))["level"]
            .clone()
    };
    let (o, v) = dev_check(&lab, &["3"]);
    let rows = v["rows"].as_array().unwrap();
    let row = |ex: &str, file: &str| {
        rows.iter()
            .find(|r| r["exercise"] == ex && r["file"] == file)
            .unwrap_or_else(|| panic!("no row {ex}/{file}: {v}"))
            .clone()
    };
    for ex in ["bpftool-facts", "count-aborts"] {
        let s = row(ex, "starter");
        assert_eq!(s["passed"], false, "{s}");
        assert_eq!(s["as_expected"], true, "{s}");
        assert!(s.get("not_possible").is_none(), "{s}");
        let p = row(ex, "solution");
        assert_eq!(p["passed"], true, "{p}");
    }
    // the starter's bpftrace program ran (it said it was counting) but kept no @aborts
    let why = row("count-aborts", "starter")["why"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(why.contains("no such line"), "{why}");
    // an unanswered question is said so, without the answer
    let why = row("bpftool-facts", "starter")["why"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(why.contains("not answered yet"), "{why}");
    let bcc_possible = level("headers") == "ok" && level("bcc") == "ok";
    for file in ["starter", "solution"] {
        let r = row("bcc-counter", file);
        if bcc_possible {
            assert!(r.get("not_possible").is_none(), "{r}");
            assert_eq!(r["passed"], file == "solution", "{r}");
        } else {
            assert_eq!(r["not_possible"], true, "{r}");
            assert_eq!(r["passed"], false, "never a pass: {r}");
            assert!(
                r["why"].as_str().unwrap().contains("header")
                    || r["why"].as_str().unwrap().contains("bcc"),
                "{r}"
            );
        }
    }
    assert!(o.status.success(), "{v}");
    assert!(lab.namespaces().is_empty());
}

/// `exec` from the REPL streams its command's lines and gives its exit code; with
/// `--bpf-stats`, the kernel counted the counter's runs while the command ran.
#[test]
fn exec_with_bpf_stats_counts_the_counters_runs() {
    let lab = Lab::new("xstat");
    lab.ok(&["topo", "up"]);
    lab.ok(&["xdp", "attach", "xdp_counter", "sut", "enp6s0f0"]);
    let o = lab
        .cmd(&["shell"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(
                b"exec --bpf-stats tg -- ping -6 -c 5 -i 0.05 fc01::2\nexec sut -- sh -c 'echo one; exit 4'\n",
            )?;
            c.wait_with_output()
        })
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("5 packets transmitted"), "{out}");
    assert!(out.contains("statistics were on while ping ran"), "{out}");
    assert!(
        out.contains("one") && out.contains("exited with status 4"),
        "{out}"
    );
    let st: serde_json::Value =
        serde_json::from_str(&lab.ok(&["topo", "status", "--json"])).unwrap();
    let id = st["nodes"][1]["interfaces"][0]["xdp_prog_id"]
        .as_u64()
        .unwrap();
    if eclat_kernel_tool("bpftool") {
        // (from a system shell, exec gives the command this test's pipe)
        let show = lab.ok(&[
            "exec",
            "sut",
            "--",
            "bpftool",
            "prog",
            "show",
            "id",
            &id.to_string(),
        ]);
        // the five echo requests, and nothing else: links are quiet, replies are not XDP's
        assert!(show.contains("run_cnt 5"), "{show}");
    }
}

fn eclat_kernel_tool(name: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin"]
        .iter()
        .any(|d| std::path::Path::new(d).join(name).is_file())
}

/// Lesson 3's checks run bpftrace and attach programs, but in a scratch lab of their own:
/// the learner's lab (its counter attached, its verdict set, its counts) is the same after
/// them, and a bpftrace program given the learner's program ID would not see the check's
/// packets either (the check passes its own program's ID).
#[test]
fn lesson_3_checks_leave_the_learners_lab_as_it_was() {
    let lab = Lab::new("tlab");
    let ws = lab.state.join("ws");
    lab.ok(&["topo", "up"]);
    lab.ok(&["xdp", "attach", "xdp_counter", "sut", "enp6s0f0"]);
    lab.ok(&[
        "traffic", "--from", "tg", "--to", "fc01::2", "--udp", "5000", "--count", "7",
    ]);
    lab.ok(&["map", "set", "verdict", "0", "DROP"]);
    let seen = || {
        let st: serde_json::Value =
            serde_json::from_str(&lab.ok(&["topo", "status", "--json"])).unwrap();
        (
            st,
            lab.ok(&["map", "dump", "pkt_count"]),
            lab.ok(&["map", "dump", "verdict"]),
            lab.learner_tree(),
        )
    };
    let before = seen();
    let dir = ws.join("03-bpftool-bpftrace-bcc");
    std::fs::create_dir_all(&dir).unwrap();
    let lessons = lessons_file("03-bpftool-bpftrace-bcc");
    for (ex, file) in [
        ("bpftool-facts", "answers.toml"),
        ("count-aborts", "aborts.bt"),
    ] {
        std::fs::copy(format!("{lessons}/solution/{file}"), dir.join(file)).unwrap();
        let o = lab
            .cmd(&["lesson", "check", "3", ex])
            .env("ECLAT_LAB_WORKSPACE", &ws)
            .env("ECLAT_LAB_PROGRESS", ws.join("progress.toml"))
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success() && out.starts_with("PASS"), "{ex}: {out}");
    }
    // a probe without the filter on the program counts another program's aborts too: the
    // check's decoy (xdp_abort on enp6s0f1) makes it fail, and says why
    let solution = std::fs::read_to_string(format!("{lessons}/solution/aborts.bt")).unwrap();
    let filter = "/args->prog_id == $1/";
    assert!(solution.contains(filter), "{solution}");
    std::fs::write(dir.join("aborts.bt"), solution.replace(filter, "")).unwrap();
    let o = lab
        .cmd(&["lesson", "check", "3", "count-aborts"])
        .env("ECLAT_LAB_WORKSPACE", &ws)
        .env("ECLAT_LAB_PROGRESS", ws.join("progress.toml"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success() && out.starts_with("FAIL"), "{out}");
    assert!(
        out.contains("the 20 packets sent first through another program"),
        "{out}"
    );
    assert!(before.1.contains(": 7"), "{}", before.1);
    assert_eq!(seen(), before, "the learner's lab changed");
}

/// Lesson 10's exercises that rewrite the packet are judged by the frame that leaves: `test`
/// shows (and `--json` gives) the frame the chain left, and a hop-limit chain that counts
/// `hl - 1` with `monitor` but never writes the packet moves the counter the check wants
/// and still fails, saying the hop limit it saw; the solution passes. The same for dscp.
#[test]
fn a_rewrite_exercise_is_judged_by_the_frame_that_leaves() {
    let lab = Lab::new("frame");
    let ws = lab.state.join("ws");
    let dir = ws.join("10-beyond");
    std::fs::create_dir_all(&dir).unwrap();
    let solution = |f: &str| {
        std::fs::read_to_string(lessons_file(&format!("10-beyond/solution/{f}"))).unwrap()
    };
    let hop = dir.join("hoplimit.eclat");
    let hop_s = hop.display().to_string();
    // monitor-only: the new hop limit counted, never written
    let right = solution("hoplimit.eclat");
    let wrong = right
        .replace("    Packet.writeU8(HOP_LIMIT, hl - 1)\n", "")
        .replace("monitor(Packet.readU8(HOP_LIMIT))", "monitor(hl - 1)");
    assert_ne!(
        wrong, right,
        "the solution changed: make the monitor-only answer again"
    );
    std::fs::write(&hop, &wrong).unwrap();
    let pkt = "ipv6 hlim=64 udp dport=5000";
    let given = "00000000020000000000010086dd6000000000181140fc01";
    let v: serde_json::Value =
        serde_json::from_str(&lab.ok(&["test", &hop_s, "-p", pkt, "--json"])).unwrap();
    let p = &v["packets"][0];
    assert!(p["output"].as_str().unwrap().starts_with(given), "{p}");
    assert_eq!(p["frame_changes"], serde_json::json!([]), "{p}");
    assert!(
        lab.ok(&["test", &hop_s, "-p", pkt])
            .contains("frame out: unchanged (78 bytes)")
    );
    let r = lesson_check_json(&lab, &ws, "10", "hop-limit");
    assert_eq!(r["passed"], false, "{r}");
    let failed = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["passed"] == false)
        .unwrap();
    assert_eq!(
        failed["expected"], "the frame that leaves: ipv6.hlim 63",
        "{r}"
    );
    assert!(
        failed["seen"]
            .as_str()
            .unwrap()
            .starts_with("ipv6.hlim 64 (not 63); the frame left exactly as it came in"),
        "{r}"
    );
    // the solution: the frame leaves with hop limit 63
    std::fs::write(&hop, &right).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&lab.ok(&["test", &hop_s, "-p", pkt, "--json"])).unwrap();
    let p = &v["packets"][0];
    assert_eq!(
        p["frame_changes"],
        serde_json::json!([{"field": "ipv6.hlim", "before": "64", "after": "63"}]),
        "{p}"
    );
    assert_eq!(&p["output"].as_str().unwrap()[42..44], "3f", "{p}");
    assert_eq!(&p["input"].as_str().unwrap()[42..44], "40", "{p}");
    let text = lab.ok(&["test", &hop_s, "-p", pkt]);
    assert!(text.contains("frame out: ipv6.hlim 64 -> 63"), "{text}");
    // the bytes: the one row that differs, the hop limit marked
    let row = [
        "      0010 in   00 00 00 18 11 40 fc 01  00 00 00 00 00 00 00 00",
        "           out  00 00 00 18 11 3f fc 01  00 00 00 00 00 00 00 00",
        "                               ^^",
    ]
    .join("\n");
    assert!(text.contains(&row), "{text}");
    let r = lesson_check_json(&lab, &ws, "10", "hop-limit");
    assert_eq!(r["passed"], true, "{r}");
    // dscp: the marked word counted, never written
    let dscp = dir.join("dscp.eclat");
    let right = solution("dscp.eclat");
    let wrong = right
        .replace(
            "        Packet.writeU16(VERSION_TC, (word & 0xf03f) | (dscp << 6))\n",
            "        u64 : marked = (word & 0xf03f) | (dscp << 6)\n",
        )
        .replace("(Packet.readU16(VERSION_TC) >> 4)", "(marked >> 4)")
        .replace("(Packet.readU16(VERSION_TC) & 0xf)", "(marked & 0xf)");
    assert_ne!(wrong, right);
    std::fs::write(&dscp, &wrong).unwrap();
    let r = lesson_check_json(&lab, &ws, "10", "dscp");
    assert_eq!(r["passed"], false, "{r}");
    let seen = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["passed"] == false)
        .unwrap()["seen"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(seen.starts_with("ipv6.dscp 0 (not 46)"), "{r}");
    std::fs::write(&dscp, &right).unwrap();
    let r = lesson_check_json(&lab, &ws, "10", "dscp");
    assert_eq!(r["passed"], true, "{r}");
}
