//! A classroom on one server, made by the command an instructor runs: `eclat-lab classroom up
//! 10` creates ten learners (Unix users of a prefix unique to this run), each with a lab of
//! its own and lesson 7's ports policy loaded. Every lab is then driven by its learner, as a
//! learner does it (`sudo -n eclat-lab ...` from their account, through the classroom's
//! sudoers rule and roster): all ten send traffic at the same time, a different number of
//! packets each, and every lab's counters must hold exactly its own. A learner cannot reach
//! another's lab through the environment, runs `exec` as themselves, cannot run anything
//! else as root, and gets the tutorial when they log in. `classroom down` removes every user,
//! file and lab it made, also when the test fails.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{BIN, need_root};

const LABS: usize = 10;

/// A prefix no other run or test uses (pid, clock and a counter), so tests never share a
/// classroom and leftovers of a killed run never collide.
fn unique_prefix() -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let k = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let n = std::process::id() as u64 * 1000
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_millis() as u64;
    let mut s = String::new();
    let mut n = n;
    while n > 0 {
        s.insert(0, char::from_digit((n % 36) as u32, 36).unwrap());
        n /= 36;
    }
    format!("ct{s}{k}")
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Where a classroom's learners find this build's binary: a folder of root's that every user
/// can reach (a checkout may be anywhere, /root included, and learners run the binary as
/// root through sudo only if it and its folders are root's alone), as a hard link or a copy.
fn install_bin(prefix: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let dir = format!("/var/lib/eclat-lab-test-bin-{prefix}");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = format!("{dir}/eclat-lab");
    if std::fs::hard_link(BIN, &bin).is_err() {
        std::fs::copy(BIN, &bin).unwrap();
    }
    bin
}

/// `eclat-lab ARGS` as root (the instructor), with the classroom's binary.
fn root(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .current_dir("/")
        .env_remove("SUDO_UID")
        .env_remove("SUDO_USER")
        .env_remove("SUDO_GID")
        .output()
        .expect("running eclat-lab")
}

/// `sudo -n eclat-lab ARGS` typed by learner `user` (from their account: the classroom's
/// sudoers rule and roster decide what it reaches).
fn learner(bin: &str, user: &str, args: &[&str]) -> Output {
    Command::new("sudo")
        .args(["-n", "-u", user, "--", "sudo", "-n", bin])
        .args(args)
        .current_dir("/")
        .output()
        .expect("running sudo")
}

fn ok(o: Output, what: &str) -> String {
    assert!(o.status.success(), "{what}: {}", out(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The classroom, removed with `classroom down` when dropped (a failing test included),
/// then its binary.
struct Classroom {
    prefix: String,
    bin: String,
}

impl Classroom {
    fn new() -> Self {
        let prefix = unique_prefix();
        let bin = install_bin(&prefix);
        Classroom { prefix, bin }
    }
}

impl Drop for Classroom {
    fn drop(&mut self) {
        if !Path::new(&self.bin).exists() {
            return;
        }
        let o = root(&self.bin, &["classroom", "down", "--prefix", &self.prefix]);
        if !o.status.success() && !out(&o).contains("there is no classroom") {
            eprintln!("classroom down --prefix {}: {}", self.prefix, out(&o));
        }
        let _ = std::fs::remove_dir_all(Path::new(&self.bin).parent().unwrap());
    }
}

/// `map_pcpu_mon[key]` of a learner's lab, summed over CPUs, read by the learner.
fn counter(bin: &str, user: &str, key: u64) -> u64 {
    let o = ok(
        learner(bin, user, &["--json", "map", "dump", "map_pcpu_mon"]),
        "map dump",
    );
    let v: serde_json::Value = serde_json::from_str(&o).expect("map dump --json");
    v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["key"].as_u64() == Some(key) || r["key"].as_str() == Some(&key.to_string()))
        .and_then(|r| {
            r["value"]
                .as_u64()
                .or_else(|| r["value"].as_str()?.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn netns_with_prefix(prefix: &str) -> Vec<String> {
    std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

fn user_exists(user: &str) -> bool {
    nix::unistd::User::from_name(user).ok().flatten().is_some()
}

fn need_sudo() {
    assert!(
        Command::new("sudo")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success()),
        "the classroom test runs the lab through sudo, as learners do: install it \
         (`sudo ./setup.sh --deps`)"
    );
}

#[test]
fn ten_learners_each_drive_exactly_their_own_lab() {
    need_root();
    need_sudo();
    let class = Classroom::new();
    let (prefix, bin) = (class.prefix.clone(), class.bin.clone());
    let bin = bin.as_str();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../lessons/07-first-eclat-script/solution/ports.eclat"
    );
    let n = LABS.to_string();
    let up = ok(
        root(
            bin,
            &[
                "--json",
                "classroom",
                "up",
                &n,
                "--prefix",
                &prefix,
                "--load",
                script,
            ],
        ),
        "classroom up",
    );
    let up: serde_json::Value = serde_json::from_str(&up).unwrap();
    let users: Vec<String> = up["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect();
    assert_eq!(users.len(), LABS, "{up}");
    assert_eq!(up["labs_up"], LABS, "{up}");
    for u in &users {
        assert!(user_exists(u), "{u}");
        // the learner's lab is where the roster says, with its own namespaces
        let ns = netns_with_prefix(&format!("{u}-"));
        assert_eq!(ns.len(), 3, "{u}: {ns:?}");
        assert!(Path::new(&format!("/sys/fs/bpf/eclat-{u}")).is_dir(), "{u}");
    }
    // again: nothing is created twice
    let again = ok(
        root(bin, &["--json", "classroom", "up", &n, "--prefix", &prefix]),
        "classroom up again",
    );
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["created"].as_array().unwrap().len(), 0, "{again}");

    // all at once, each learner in their own lab: learner i sends 40 + i packets to port
    // 6000 (dropped by the ports policy) and 20 to port 5000
    std::thread::scope(|s| {
        for (i, u) in users.iter().enumerate() {
            s.spawn(move || {
                let n = (40 + i).to_string();
                for (port, count) in [("6000", n.as_str()), ("5000", "20")] {
                    ok(
                        learner(
                            bin,
                            u,
                            &[
                                "traffic", "--from", "tg", "--to", "fc01::2", "--udp", port,
                                "--count", count,
                            ],
                        ),
                        "traffic",
                    );
                }
            });
        }
    });
    // the generator is done when the last packet is sent; XDP counts it in the receiver's
    // softirq, which a loaded machine may run a little later: wait for the counts (bounded),
    // then hold them to exactly the expected ones (a lab counting another's packets has more)
    for (i, u) in users.iter().enumerate() {
        let want = (40 + i as u64, 20);
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut got = (counter(bin, u, 1), counter(bin, u, 0));
        while got != want && got.0 <= want.0 && got.1 <= want.1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            got = (counter(bin, u, 1), counter(bin, u, 0));
        }
        assert_eq!(got, want, "{u}: DROP and PASS counters");
    }
    drop(class);
    for u in &users {
        assert!(!user_exists(u), "{u} is still a user");
        assert!(netns_with_prefix(&format!("{u}-")).is_empty(), "{u}");
        assert!(
            !Path::new(&format!("/sys/fs/bpf/eclat-{u}")).exists(),
            "{u}"
        );
        assert!(!Path::new(&format!("/home/{u}")).exists(), "{u}");
    }
    assert!(!Path::new(&format!("/etc/sudoers.d/eclat-lab-classroom-{prefix}")).exists());
    assert!(!Path::new(&format!("/etc/eclat-lab/classroom/{prefix}.toml")).exists());
}

#[test]
fn a_learner_reaches_their_own_lab_only() {
    need_root();
    need_sudo();
    let class = Classroom::new();
    let (prefix, bin) = (class.prefix.clone(), class.bin.clone());
    let bin = bin.as_str();
    ok(
        root(bin, &["classroom", "up", "2", "--prefix", &prefix]),
        "classroom up",
    );
    let (a, b) = (format!("{prefix}01"), format!("{prefix}02"));
    let uid_a = nix::unistd::User::from_name(&a)
        .unwrap()
        .unwrap()
        .uid
        .as_raw();
    // B's lab has a map A must not see: lesson 1's counter attached there
    ok(learner(bin, &b, &["topo", "up"]), "B's topology");
    ok(
        learner(
            bin,
            &b,
            &["xdp", "attach", "xdp_counter", "sut", "enp6s0f0"],
        ),
        "B attaches",
    );
    ok(learner(bin, &a, &["topo", "up"]), "A's topology");
    let b_maps = ok(learner(bin, &b, &["map", "list"]), "B's maps");
    assert!(b_maps.contains("pkt_count"), "{b_maps}");

    // A's environment pointing at B's lab, with sudo's own variables as sudo sets them: the
    // lab takes A's lab from the roster and ignores the rest
    let b_vars = [
        (
            "ECLAT_LAB_STATE",
            format!("/var/lib/eclat-lab/classroom/{b}"),
        ),
        ("ECLAT_LAB_BPFFS", format!("/sys/fs/bpf/eclat-{b}")),
        ("ECLAT_LAB_NS_PREFIX", format!("{b}-")),
    ];
    let o = Command::new(bin)
        .args(["map", "list"])
        .current_dir("/")
        .envs(b_vars.iter().map(|(k, v)| (*k, v.as_str())))
        .env("SUDO_USER", &a)
        .env("SUDO_UID", uid_a.to_string())
        .env("SUDO_GID", uid_a.to_string())
        .output()
        .unwrap();
    let text = out(&o);
    assert!(!text.contains("pkt_count"), "A saw B's map: {text}");
    let o = Command::new(bin)
        .args(["--json", "topo", "status"])
        .current_dir("/")
        .envs(b_vars.iter().map(|(k, v)| (*k, v.as_str())))
        .env("SUDO_USER", &a)
        .env("SUDO_UID", uid_a.to_string())
        .env("SUDO_GID", uid_a.to_string())
        .output()
        .unwrap();
    let text = out(&o);
    assert!(text.contains(&format!("{a}-")), "A's status: {text}");
    assert!(
        !text.contains(&format!("{b}-")),
        "A's status shows B's lab: {text}"
    );
    // and sudo itself passes none of A's variables (the rule has no SETENV)
    for args in [
        vec!["-n", "-u", &a, "--", "sudo", "-n", "-E", bin, "map", "list"],
        vec![
            "-n",
            "-u",
            &a,
            "--",
            "sudo",
            "-n",
            "ECLAT_LAB_STATE=/tmp/x",
            bin,
            "map",
            "list",
        ],
    ] {
        let o = Command::new("sudo")
            .args(&args)
            .current_dir("/")
            .output()
            .unwrap();
        let text = out(&o);
        assert!(
            !o.status.success() && !text.contains("pkt_count"),
            "{args:?}: {text}"
        );
    }
    // root is for the lab's binary alone, and the lab's `exec` runs as the learner
    let o = Command::new("sudo")
        .args(["-n", "-u", &a, "--", "sudo", "-n", "/usr/bin/id", "-u"])
        .current_dir("/")
        .output()
        .unwrap();
    assert!(!o.status.success(), "A ran id as root: {}", out(&o));
    let id = ok(
        learner(bin, &a, &["exec", "tg", "--", "id", "-u"]),
        "exec id",
    );
    assert_eq!(id.trim(), uid_a.to_string(), "exec ran as {id}");
    // the lab reads and writes files for A with A's rights only: not /etc/shadow, and no
    // drawing written where A may not write
    let o = learner(bin, &a, &["compile", "/etc/shadow"]);
    let text = out(&o);
    assert!(
        !o.status.success()
            && text.contains("files you can read yourself")
            && !text.contains("root:"),
        "{text}"
    );
    let target = format!("/etc/eclat-classroom-test-{prefix}.svg");
    let o = learner(bin, &a, &["topo", "draw", "--output", &target]);
    let written = std::fs::remove_file(&target).is_ok();
    assert!(
        !o.status.success() && !written,
        "A wrote {target}: {}",
        out(&o)
    );
    // the classroom is the instructor's
    let o = learner(bin, &a, &["classroom", "status"]);
    assert!(
        !o.status.success() && out(&o).contains("instructor"),
        "{}",
        out(&o)
    );
}

#[test]
fn the_tutorial_opens_when_a_learner_logs_in_and_down_ends_the_session() {
    need_root();
    need_sudo();
    let class = Classroom::new();
    let (prefix, bin) = (class.prefix.clone(), class.bin.clone());
    let bin = bin.as_str();
    ok(
        root(bin, &["classroom", "up", "1", "--prefix", &prefix]),
        "classroom up",
    );
    let user = format!("{prefix}01");
    let uid = nix::unistd::User::from_name(&user)
        .unwrap()
        .unwrap()
        .uid
        .as_raw();
    // an interactive login on a terminal (what ssh gives), in tmux
    let session = format!("eclat-login-{prefix}");
    let st = Command::new("tmux")
        .args(["new-session", "-d", "-s", &session, "-x", "120", "-y", "40"])
        .arg(format!("su - {user}"))
        .status()
        .unwrap();
    assert!(st.success());
    let tui_of_learner = || {
        std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            let p = e.path();
            std::fs::read_link(p.join("exe")).is_ok_and(|x| x == Path::new(bin))
                && std::fs::read(p.join("environ")).is_ok_and(|env| {
                    env.split(|b| *b == 0)
                        .any(|v| v == format!("SUDO_UID={uid}").as_bytes())
                })
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !tui_of_learner() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let screen = Command::new("tmux")
        .args(["capture-pane", "-p", "-t", &session])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let started = tui_of_learner();
    // `classroom down` ends the learner's session (the tutorial, run by root through sudo,
    // included) before it deletes the user, as a hang-up would: the login shell, which
    // ignores SIGTERM, ends on SIGHUP without being killed
    let down = root(bin, &["classroom", "down", "--prefix", &prefix, "--json"]);
    drop(class);
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", &session])
        .output();
    assert!(started, "no tutorial for {user} after login:\n{screen}");
    assert!(!tui_of_learner(), "the tutorial outlived classroom down");
    assert!(!user_exists(&user));
    let down: serde_json::Value = serde_json::from_str(&ok(down, "classroom down")).unwrap();
    // the login shell and the tutorial at least
    assert!(down["processes_ended"].as_u64().unwrap() >= 2, "{down}");
    assert_eq!(down["processes_killed"].as_u64(), Some(0), "{down}");
}

/// `eclat-lab bench --only classroom --classroom 1,2`: the bench makes each classroom with
/// the real `classroom up` (users of prefixes of its own), counts learner 1's BPF objects,
/// floods every lab from its learner's account at once, logs the learners in and measures
/// their idle tutorials, and removes everything with `classroom down`; the figures are the
/// ones those steps give (no cross-talk: every lab counted exactly its 100 packets).
#[test]
fn the_bench_measures_a_classroom_and_removes_it() {
    need_root();
    need_sudo();
    // the bench makes its own classrooms: this one only provides the binary's folder
    let class = Classroom::new();
    let o = Command::new(&class.bin)
        .args([
            "--json",
            "bench",
            "--only",
            "classroom",
            "--classroom",
            "2,1",
            "--tui-seconds",
            "2",
        ])
        .current_dir("/")
        .output()
        .expect("running eclat-lab bench");
    let text = out(&o);
    assert!(o.status.success(), "bench: {text}");
    let last = String::from_utf8_lossy(&o.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&last).expect("bench --json");
    let runs = v["classroom"]["runs"].as_array().expect("classroom.runs");
    assert_eq!(runs.len(), 2, "{last}");
    for (r, n) in runs.iter().zip([1u64, 2]) {
        assert_eq!(r["learners"], n, "smallest first: {r}");
        let prefix = r["prefix"].as_str().unwrap();
        assert!(
            r["up_ms"].as_f64().unwrap() > r["labs_ms"].as_f64().unwrap(),
            "{r}"
        );
        assert!(r["lab_programs"].as_u64().unwrap() > 0, "{r}");
        assert!(r["lab_maps"].as_u64().unwrap() > 0, "{r}");
        assert!(r["lab_bpf_kib"].as_f64().unwrap() > 0.0, "{r}");
        let ct = &r["crosstalk"];
        assert_eq!(ct["exact_100"], n, "every lab counted its own 100: {ct}");
        assert_eq!(ct["wrong"].as_array().unwrap().len(), 0, "{ct}");
        assert_eq!(ct["counts"].as_array().unwrap().len() as u64, n, "{ct}");
        assert_eq!(r["tui"]["started"], n, "every learner's tutorial ran: {r}");
        assert!(r["down_ms"].as_f64().unwrap() > 0.0, "{r}");
        // all gone: users, roster, labs
        for i in 1..=n {
            assert!(
                !user_exists(&format!("{prefix}{i:02}")),
                "{prefix}{i:02} left"
            );
        }
        assert!(
            netns_with_prefix(prefix).is_empty(),
            "{prefix}: namespaces left"
        );
        assert!(!Path::new(&format!("/etc/eclat-lab/classroom/{prefix}.toml")).exists());
    }
    assert!(runs[0]["vs_smallest"].is_null());
    assert!(
        runs[1]["vs_smallest"]["lab_bpf"].as_f64().unwrap() > 0.0,
        "{last}"
    );
}
