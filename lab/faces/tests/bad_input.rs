//! Bad input to every command, from the shell (issue 19): the inputs of the issue with the
//! message each gets, and random values in every command's arguments and in topology files.
//! Each must give a clear error or work: never a panic, never a death by signal, and a
//! failed command leaves the lab exactly as it was (namespaces, pins, the HIKe store).
//!
//! `ECLAT_BAD_INPUT_TABLE=FILE` writes the fixed inputs and their messages as the rows of
//! the book's table (book/src/reference/bad-inputs.md).

mod common;

/// The binary under test: this build's, or `ECLAT_TEST_BIN` (to watch these tests fail on
/// another build, say main's).
fn bin() -> String {
    std::env::var("ECLAT_TEST_BIN").unwrap_or_else(|_| common::BIN.to_string())
}

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use eclat_kernel::LabEnv;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

struct Lab {
    env: LabEnv,
}

impl Lab {
    fn new(tag: &str) -> Self {
        common::need_root();
        let env = common::lab("bad", "bi", tag);
        std::fs::create_dir_all(&env.state_dir).unwrap();
        Lab { env }
    }

    fn file(&self, name: &str, text: &str) -> String {
        let p = self.env.state_dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    /// Runs a command for at most 8 s (a command still running then, say a slow paced
    /// `traffic`, gets SIGINT: the lab stops it and exits 130; 10 s later, SIGKILL, which
    /// the checks then report).
    fn run(&self, args: &[String]) -> Output {
        let mut child = Command::new(bin())
            .args(args)
            .envs(common::figures::env_vars(&self.env))
            .env_remove("ECLAT_LAB_CRASH_AT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // drained while it runs: a full pipe must not stop it
        let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut v = Vec::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_end(&mut v);
                }
                v
            })
        };
        let out = drain(child.stdout.take().map(|r| Box::new(r) as _));
        let err = drain(child.stderr.take().map(|r| Box::new(r) as _));
        let t0 = Instant::now();
        let mut interrupted = false;
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if !interrupted && t0.elapsed() > Duration::from_secs(8) {
                interrupted = true;
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(child.id() as i32),
                    nix::sys::signal::Signal::SIGINT,
                );
            }
            if t0.elapsed() > Duration::from_secs(18) {
                let _ = child.kill();
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Output {
            status,
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
        }
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// What the lab has: its namespaces, every path below its bpffs root, its HIKe store.
    fn state(&self) -> (Vec<String>, Vec<String>, String) {
        let ns = common::namespaces(&self.env);
        let mut found = Vec::new();
        eclat_kernel::bpffs::walk(&self.env.bpffs_root, &mut found);
        let pins = found
            .into_iter()
            .map(|(p, _)| p.display().to_string())
            .collect();
        let store =
            std::fs::read_to_string(self.env.state_dir.join("hike.json")).unwrap_or_default();
        (ns, pins, store)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.run(&["reset".to_string()]);
        let _ = std::fs::remove_dir_all(&self.env.state_dir);
    }
}

/// How a command ended: its code and its words.
struct Ended {
    code: Option<i32>,
    text: String,
}

/// Runs `args`: no panic, no signal, exit 0/1/2 (or 130 when stopped), and when it failed
/// the lab is as it was.
fn run_checked(lab: &Lab, args: &[String]) -> Ended {
    let before = lab.state();
    let o = lab.run(args);
    eprintln!("{args:?} -> {:?}", o.status);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let text = format!("{}{err}", String::from_utf8_lossy(&o.stdout));
    assert!(
        !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
        "{args:?} panicked: {text}"
    );
    assert_eq!(o.status.signal(), None, "{args:?} died: {text}");
    let code = o.status.code();
    // `exec` passes its command's code on
    assert!(
        args[0] == "exec" || matches!(code, Some(0 | 1 | 2 | 130)),
        "{args:?} exited {code:?}: {text}"
    );
    if code == Some(2) {
        assert!(!err.trim().is_empty(), "{args:?} failed without a word");
        assert_eq!(
            lab.state(),
            before,
            "{args:?} failed and left something: {text}"
        );
    }
    Ended { code, text }
}

fn argv(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| x.to_string()).collect()
}

/// The inputs of the issue, and more of each class: each gets a clear error (`want` is in
/// it) and leaves nothing.
#[test]
fn the_issues_bad_inputs_get_clear_errors() {
    let lab = Lab::new("fx");
    lab.ok(&["topo", "up"]);
    lab.ok(&["xdp", "attach", "xdp_counter", "sut", "enp6s0f0"]);
    let pct = lab.file(
        "pct.toml",
        "name = \"pct\"\n[[node]]\nname = \"a\"\n[[node]]\nname = \"b\"\n[[link]]\n\
         a = { node = \"a\", dev = \"x%d\", mac = \"02:00:00:00:00:01\" }\n\
         b = { node = \"b\", dev = \"y0\", mac = \"02:00:00:00:00:02\" }\n",
    );
    let empty = lab.file("empty.eclat", "");
    let cr = lab.file("cr.eclat", "\r\r\n\r");
    let comments = lab.file("comments.eclat", "# nothing but a comment\n\n");
    let notbpf = lab.file("notbpf.o", "not an object");
    let mut cases: Vec<(Vec<String>, &str, &str)> = vec![
        (
            argv(&["topo", "up", &pct]),
            "a topology file with `dev = \"x%d\"`",
            "pct.toml:7:25: interface name `x%d` must be",
        ),
        (
            argv(&[
                "traffic", "--from", "tg", "--to", "fc01::2", "--udp", "9", "--rate", "1e-300",
                "--count", "2",
            ]),
            "`traffic --rate 1e-300 --count 2`",
            "--rate 1e-300: give packets per second between",
        ),
        (
            argv(&[
                "traffic",
                "--from",
                "tg",
                "--to",
                "fc01::2",
                "--udp",
                "5000",
                "--size",
                "18446744073709551615",
            ]),
            "`traffic --size 18446744073709551615`",
            "--size 18446744073709551615: a UDP payload of at most",
        ),
        (
            argv(&[
                "traffic", "--from", "tg", "--to", "fc01::2", "--icmp", "--rate", "NaN",
            ]),
            "`traffic --rate NaN`",
            "--rate NaN: give packets per second between",
        ),
        (
            argv(&[
                "traffic", "--from", "tg", "--to", "fc01::2", "--icmp", "--count", "0",
            ]),
            "`traffic --count 0`",
            "--count must be at least 1",
        ),
        (
            argv(&["map", "set", "verdict", "1", "PASS"]),
            "`map set verdict 1 PASS` (an array of one entry)",
            "key 1",
        ),
        (
            argv(&["module", "build", &notbpf]),
            "`module build notbpf.o`",
            "notbpf.o is not one: an object is loaded as it is",
        ),
        (argv(&["load", &empty]), "an empty script", "nothing to"),
        (
            argv(&["load", &cr]),
            "a script of carriage returns only",
            "nothing to",
        ),
        (
            argv(&["load", &comments]),
            "a script of comments only",
            "nothing to",
        ),
        (
            argv(&["map", "watch", "pkt_count", "--interval", "0"]),
            "`map watch --interval 0`",
            "--interval",
        ),
        (
            argv(&["xdp", "attach", "xdp_pass", "sut", "x%d"]),
            "`xdp attach xdp_pass sut x%d`",
            "node `sut` has no interface `x%d`",
        ),
        (
            argv(&["exec", "x%d", "--", "true"]),
            "`exec x%d -- true`",
            "unknown node `x%d`",
        ),
    ];
    let many = lab.file("many.eclat", &"x = 1\n".repeat(5000));
    cases.push((
        argv(&["compile", &many]),
        "a script of 5000 top-level `x = 1` lines (or docstrings)",
        "variables live inside chains",
    ));
    cases.push((
        argv(&[
            "traffic", "--from", "tg", "--to", "fe80::1", "--icmp", "--count", "1",
        ]),
        "`traffic --to fe80::1` (a link-local address)",
        "--to fe80::1: a link-local address is the same on every link",
    ));
    cases.push((
        argv(&[
            "traffic", "--from", "tg", "--to", "ff02::1", "--icmp", "--count", "1",
        ]),
        "`traffic --to ff02::1 --icmp` (a multicast group)",
        "--to ff02::1: an echo request goes to one address",
    ));
    cases.push((
        argv(&["map", "delete", "pkt_count", "99"]),
        "`map delete pkt_count 99` (an array of one entry)",
        "there is no key 99",
    ));
    cases.push((
        argv(&["topo", "up", "/dev/zero"]),
        "`topo up /dev/zero` (or a FIFO: read without end)",
        "/dev/zero is not a regular file: a topology file is a text file",
    ));
    cases.push((
        argv(&["load", "/dev/zero"]),
        "`load /dev/zero`",
        "/dev/zero is not a regular file: a script is a text file",
    ));
    // a generic-mode XDP program someone attached: the lab's native attach is refused
    let obj =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ebpf-modules/obj/raw/xdp_pass.o");
    lab.ok(&[
        "exec",
        "sut",
        "--",
        "ip",
        "link",
        "set",
        "dev",
        "enp6s0f1",
        "xdpgeneric",
        "obj",
        obj.to_str().unwrap(),
        "sec",
        "xdp",
    ]);
    cases.push((
        argv(&["xdp", "attach", "xdp_counter", "sut", "enp6s0f1"]),
        "`xdp attach` where a generic-mode XDP program is attached (not by the lab)",
        "already attached there in the other mode (not by the lab",
    ));
    let mut rows = Vec::new();
    let mut wrong = Vec::new();
    for (args, what, want) in &cases {
        let e = run_checked(&lab, args);
        if e.code == Some(0) || !e.text.contains(want) {
            wrong.push(format!(
                "{what} ({:?}): want `{want}` in: {}",
                e.code, e.text
            ));
        }
        let first = e
            .text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .replace(&lab.env.state_dir.display().to_string(), "/path")
            .replace('|', "\\|");
        rows.push(format!("| {what} | ``{first}`` |"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // `exec` passes the command's exit code on
    let e = run_checked(&lab, &argv(&["exec", "tg", "--", "sh", "-c", "exit 7"]));
    assert_eq!(e.code, Some(7), "{}", e.text);
    if let Ok(p) = std::env::var("ECLAT_BAD_INPUT_TABLE") {
        std::fs::write(p, rows.join("\n") + "\n").unwrap();
    }
    eprintln!("bad inputs tried: {}", cases.len() + 1);
}

/// A value for an argument: ordinary, out of range, or hostile.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("1".to_string()),
        Just("-1".to_string()),
        Just("65536".to_string()),
        Just("4294967296".to_string()),
        Just("18446744073709551615".to_string()),
        Just("18446744073709551616".to_string()),
        Just("1e-300".to_string()),
        Just("1e300".to_string()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("-0".to_string()),
        Just("0x".to_string()),
        Just("0xffffffffffffffffff".to_string()),
        Just(String::new()),
        Just(" ".to_string()),
        Just("x%d".to_string()),
        Just("%s%s%n".to_string()),
        Just("../../../etc/passwd".to_string()),
        Just("/dev/zero".to_string()),
        Just("sut".to_string()),
        Just("tg".to_string()),
        Just("enp6s0f0".to_string()),
        Just("pkt_count".to_string()),
        Just("verdict".to_string()),
        Just("hvm_chain_map".to_string()),
        Just("fc01::2".to_string()),
        Just("PASS".to_string()),
        Just("é".to_string()),
        "[a-z0-9:%./_-]{1,12}",
        "[ -~]{0,40}",
        "x{200,300}",
    ]
}

/// Every command with arguments (`{}` is a random value).
const TEMPLATES: &[&str] = &[
    "traffic --from {} --to {} --udp {} --count {} --rate {} --size {}",
    "traffic --from tg --to fc01::2 --icmp --count {} --rate {}",
    "traffic --from tg --pcap {} --dev {} --count {}",
    "map dump {}",
    "map set {} {} {}",
    "map delete {} {}",
    "map clear {}",
    "map watch {} --interval {} --count 1",
    "read-map {}",
    "chain dis {}",
    "chain trace --seconds {}",
    "xdp attach {} {} {}",
    "xdp attach {} sut enp6s0f0 --skb",
    "xdp detach {} {}",
    "xdp load {}",
    "xdp unload {}",
    "exec {} -- true",
    "module load {}",
    "module unload {}",
    "module build {}",
    "load {} -D {}",
    "unload {}",
    "compile {} -D {}",
    "test {} -p {}",
    "topo up {}",
    "lesson show {}",
    "lesson hint {} {}",
    "topo draw {}",
    "topo up {} --replace",
    "traffic --from tg --to {} --udp {} --flows {} --sport {} --count 2",
    "chain draw {} --chain {} --node {}",
    "cube add {} {}",
    "cube add {} classifier",
    "cube connect {} {}",
    "cube disconnect {}",
    "cube attach {} {} {}",
    "cube del {}",
    "cube show {}",
    "compile {} --emit {}",
    "test {} -p {} --clock {} --tick {}",
    "test {} --pcap {} --chain {}",
    "exec --bpf-stats {} -- true",
    "lesson check {} {}",
    "lesson reset {} {}",
    "lesson solution {} {}",
    "lesson solve {} {}",
    "dev check {}",
];

/// Random values in every command's arguments, on a lab with its topology up.
#[test]
fn random_arguments_to_every_command_never_panic_and_leave_nothing() {
    let lab = Lab::new("pt");
    lab.ok(&["topo", "up"]);
    let cases: u32 = std::env::var("ECLAT_BAD_INPUT_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(96);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        // a command case can take seconds: a few shrinking steps, not hundreds
        max_shrink_iters: 16,
        ..Config::default()
    });
    let strategy = (0..TEMPLATES.len(), proptest::collection::vec(hostile(), 6));
    let tried = std::cell::Cell::new(0);
    runner
        .run(&strategy, |(t, values)| {
            let mut v = values.into_iter();
            let args: Vec<String> = TEMPLATES[t]
                .split(' ')
                .map(|w| {
                    if w == "{}" {
                        v.next().unwrap_or_default()
                    } else {
                        w.to_string()
                    }
                })
                .collect();
            run_checked(&lab, &args);
            tried.set(tried.get() + 1);
            Ok(())
        })
        .unwrap();
    // the topology is still whole
    let st: serde_json::Value =
        serde_json::from_str(&lab.ok(&["topo", "status", "--json"])).unwrap();
    assert_eq!(st["complete"], true, "{st}");
    eprintln!("random command lines tried: {}", tried.get());
}

/// Random values in the fields of a topology file given to `topo up`: refused with its
/// place, or built whole; nothing left either way.
#[test]
fn random_topology_fields_never_panic_and_leave_nothing() {
    let lab = Lab::new("tf");
    let cases: u32 = std::env::var("ECLAT_BAD_INPUT_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(|n: u32| n / 2)
        .unwrap_or(48);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        // a command case can take seconds: a few shrinking steps, not hundreds
        max_shrink_iters: 16,
        ..Config::default()
    });
    let file: PathBuf = lab.env.state_dir.join("t.toml");
    let strategy = proptest::collection::vec(hostile(), 5);
    runner
        .run(&strategy, |v| {
            let q = |s: &str| toml::Value::String(s.to_string()).to_string();
            let src = format!(
                "name = {}\n[[node]]\nname = {}\n[[node]]\nname = \"b\"\n[[link]]\n\
                 a = {{ node = {}, dev = {}, mac = \"02:00:00:00:00:01\", addresses = [{}] }}\n\
                 b = {{ node = \"b\", dev = {}, mac = \"02:00:00:00:00:02\" }}\n",
                q(&v[0]),
                q(&v[1]),
                q(&v[1]),
                q(&v[2]),
                q(&v[3]),
                q(&v[4]),
            );
            std::fs::write(&file, &src).unwrap();
            let e = run_checked(&lab, &argv(&["topo", "up", file.to_str().unwrap()]));
            if e.code == Some(0) {
                let st: serde_json::Value =
                    serde_json::from_str(&lab.ok(&["topo", "status", "--json"])).unwrap();
                assert_eq!(st["complete"], true, "{src}\n{st}");
                lab.ok(&["topo", "down"]);
            } else {
                assert!(e.text.contains("t.toml:"), "no place in: {}\n{src}", e.text);
            }
            assert!(lab.state().0.is_empty(), "namespaces left: {src}");
            Ok(())
        })
        .unwrap();
}

/// One field of `progress.toml` that does not parse: the rest is kept, the file as it was
/// is kept beside it, and the learner is told what was dropped.
#[test]
fn a_bad_field_in_the_progress_file_keeps_the_rest() {
    let lab = Lab::new("pg");
    let progress = lab.env.state_dir.join("progress.toml");
    let text = "current = \"06-hike\"\n[lessons.06-hike]\nstep = \"three\"\npassed = [\"count\"]\n\
                [lessons.01-hello-xdp]\nstep = 2\n";
    std::fs::write(&progress, text).unwrap();
    let e = run_checked(&lab, &argv(&["lesson", "list"]));
    assert_eq!(e.code, Some(0), "{}", e.text);
    assert!(
        e.text
            .contains("progress file had fields that do not parse")
            && e.text.contains("lessons.06-hike.step = \"three\"")
            && e.text.contains("progress.toml.bak"),
        "{}",
        e.text
    );
    let kept = std::fs::read_to_string(&progress).unwrap();
    let kept: toml::Table = kept.parse().unwrap();
    assert_eq!(kept["current"].as_str(), Some("06-hike"));
    assert_eq!(
        kept["lessons"]["06-hike"]["passed"][0].as_str(),
        Some("count")
    );
    assert_eq!(
        kept["lessons"]["01-hello-xdp"]["step"].as_integer(),
        Some(2)
    );
    assert_eq!(
        std::fs::read_to_string(lab.env.state_dir.join("progress.toml.bak")).unwrap(),
        text
    );
    // said once: the file is whole now
    let e = run_checked(&lab, &argv(&["lesson", "list"]));
    assert!(!e.text.contains("do not parse"), "{}", e.text);
}
