//! Stopping long commands, as a learner does: Ctrl-C in the shell (REPL), Esc or Ctrl-C in
//! the TUI, on `map watch`, `traffic`, `chain trace` and a running check, each in a real
//! terminal (tmux). Each says "stopped" (how long that took is printed; the figure itself is
//! the bench's), a stopped check gives no verdict, the session goes on, and the learner's
//! lab is as it was: no scratch lab left, the loaded script still the one running. Needs
//! root.

use std::time::{Duration, Instant};

use eclat_kernel::LabEnv;

mod common;

use common::{BIN, Tmux, figures, leftovers, need_root};

fn lab(tag: &str) -> LabEnv {
    common::lab("stop", "es", tag)
}

/// `eclat-lab ARGS` in the test's lab (to prepare it, or look at it from outside).
fn cli(env: &LabEnv, args: &[&str]) -> String {
    let o = std::process::Command::new(BIN)
        .args(args)
        .envs(figures::env_vars(env))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// No scratch lab (a check's) is left below the lab's root but the lab's kept check lab
/// (`ck`), and that one is emptied: no namespace of its own, nothing pinned but its HIKe VM
/// and the embedded objects it keeps.
fn no_scratch(env: &LabEnv) -> bool {
    let only_kept = |d: std::path::PathBuf| {
        std::fs::read_dir(d).map_or(true, |d| d.flatten().all(|e| e.file_name() == "ck"))
    };
    let kept_ns = format!("{}ck-", env.ns_prefix);
    let no_kept_ns = std::fs::read_dir("/run/netns").map_or(true, |d| {
        d.flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with(&kept_ns))
    });
    let kept_links = env.bpffs_root.join("scratch/ck/links");
    only_kept(env.bpffs_root.join("scratch"))
        && only_kept(env.state_dir.join("scratch"))
        && no_kept_ns
        && std::fs::read_dir(kept_links).map_or(true, |mut d| d.next().is_none())
}

/// Sends `keys`, then waits for `stopped` to appear (one more time than before); returns how
/// long it took.
fn stop(t: &Tmux, keys: &[&str], what: &str) -> Duration {
    stop_saying(t, keys, what, None)
}

/// [`stop`], done as soon as the screen shows `said` (the command's own stop line), whatever
/// else on the screen says "stopped": a count taken from a frame read while the TUI was
/// drawing it (the CI of 2026-12-08 saw the check's "stopped" line on screen and idle
/// threads, yet the count never rose above the one taken before the key) cannot hide it.
fn stop_saying(t: &Tmux, keys: &[&str], what: &str, said: Option<&str>) -> Duration {
    let before = t.screen().matches("stopped").count();
    let t0 = Instant::now();
    t.keys(keys);
    t.wait(
        &format!("{what} to say stopped"),
        Duration::from_secs(20),
        |s| said.is_some_and(|w| s.contains(w)) || s.matches("stopped").count() > before,
    );
    let d = t0.elapsed();
    eprintln!("{what}: stopped after {:.0} ms", d.as_secs_f64() * 1e3);
    d
}

#[test]
fn ctrl_c_stops_long_commands_in_the_shell() {
    need_root();
    let env = lab("repl");
    // the check must still be running when it is stopped: with the lab's reuse on, lesson 6's
    // verdict checks end in tens of ms; without it (the baseline) each makes a scratch lab,
    // which takes seconds and is what "stopped in the middle" is tested on
    let slow = [("ECLAT_LAB_CHECK_REUSE", "off".to_string())];
    let mut t = Tmux::new(&env, "stopr", &slow);
    t.launch("shell", 120, 40);
    t.wait("the prompt", Duration::from_secs(10), |s| {
        s.contains("eclat-lab>")
    });
    let count = format!(
        "{}/../../lessons/06-hike/solution/count.eclat",
        env!("CARGO_MANIFEST_DIR")
    );
    for (line, done) in [
        ("topo up", "topology hike-lab up"),
        (
            "xdp attach xdp_counter sut enp6s0f1",
            "attached xdp_counter",
        ),
        // not "loaded ": the attach above says "loaded xdp_counter" already
        (&format!("load {count}"), "chains count_and_pass="),
    ] {
        t.type_text(line);
        t.keys(&["Enter"]);
        t.wait(line, Duration::from_secs(60), |s| s.contains(done));
    }
    let chains = cli(&env, &["chain", "list"]);

    // map watch: frames until Ctrl-C
    t.type_text("map watch pkt_count --interval 100 --count 1000");
    t.keys(&["Enter"]);
    t.wait("a watch frame", Duration::from_secs(20), |s| {
        s.contains("pkt_count, ") && s.contains("into the watch")
    });
    stop(&t, &["C-c"], "map watch");

    // traffic at 5 packets a second: Ctrl-C between two packets
    t.type_text("traffic --from tg --to 12:2::2 --icmp --count 1000 --rate 5");
    t.keys(&["Enter"]);
    let t0 = Instant::now();
    while cli(&env, &["map", "dump", "pkt_count"]).contains(": 0") {
        assert!(t0.elapsed() < Duration::from_secs(20), "no packet went out");
        std::thread::sleep(Duration::from_millis(50));
    }
    stop(&t, &["C-c"], "traffic");
    let s = t.wait("the traffic's report", Duration::from_secs(10), |s| {
        s.contains("stopped: sent")
    });
    assert!(!s.contains("sent 1000/1000"), "{s}");

    // chain trace: until Ctrl-C
    t.type_text("chain trace --seconds 600");
    t.keys(&["Enter"]);
    t.wait("the trace to read", Duration::from_secs(20), |s| {
        s.contains("waiting for packets")
    });
    stop(&t, &["C-c"], "chain trace");

    // exec: its lines while it runs; Ctrl-C goes to the command, which says goodbye and
    // ends with its own status (the shell shows both, and is still there)
    t.type_text(
        "exec tg -- sh -c 'trap \"echo goodbye; exit 5\" INT; echo up-and-$((40+2)); while :; do sleep 0.05; done'",
    );
    t.keys(&["Enter"]);
    t.wait("exec's first line", Duration::from_secs(20), |s| {
        s.contains("up-and-42")
    });
    let before = t.screen().matches("stopped").count();
    let t0 = Instant::now();
    t.keys(&["C-c"]);
    let s = t.wait("the command's goodbye", Duration::from_secs(20), |s| {
        s.contains("goodbye") && s.contains("was sent Ctrl-C and ended with status 5")
    });
    eprintln!(
        "exec: ended after Ctrl-C in {:.0} ms",
        t0.elapsed().as_secs_f64() * 1e3
    );
    // it ended by itself after Ctrl-C: no "stopped" of the shell's own
    assert_eq!(s.matches("stopped").count(), before, "{s}");

    // a command that misses the first Ctrl-C (bpftrace does while it attaches its probes):
    // it gets another a second later, and ends by itself, its last words shown
    t.type_text(
        "exec tg -- sh -c 'n=0; on_int() { n=$((n+1)); if [ $n -ge 2 ]; then echo goodbye-on-the-second; exit 6; fi; }; trap on_int INT; echo up-and-$((40+3)); while :; do sleep 0.05; done'",
    );
    t.keys(&["Enter"]);
    t.wait("exec's first line", Duration::from_secs(20), |s| {
        s.contains("up-and-43")
    });
    t.keys(&["C-c"]);
    t.wait(
        "the goodbye after a second Ctrl-C",
        Duration::from_secs(20),
        |s| s.contains("goodbye-on-the-second") && s.contains("ended with status 6"),
    );

    // a check: stopped while it runs, no verdict, its scratch lab gone
    t.type_text("lesson check 6 end-the-chain");
    t.keys(&["Enter"]);
    let t0 = Instant::now();
    while !env.bpffs_root.join("scratch").exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the check did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    stop(&t, &["C-c"], "lesson check");
    // the shell is still there, and the check never reports
    t.type_text("chain list");
    t.keys(&["Enter"]);
    let s = t.wait("the next command", Duration::from_secs(20), |s| {
        s.matches("count_and_pass").count() >= 2
    });
    assert!(
        !s.contains("PASS end-the-chain") && !s.contains("FAIL end-the-chain"),
        "{s}"
    );
    let t0 = Instant::now();
    while !no_scratch(&env) {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the check's scratch lab stayed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        cli(&env, &["chain", "list"]),
        chains,
        "the loaded script changed"
    );
    t.type_text("exit");
    t.keys(&["Enter"]);
    t.wait("the shell to end", Duration::from_secs(30), |s| {
        s.contains("TUI-EXITED=0")
    });
    assert_eq!(leftovers(&env), Vec::<String>::new(), "left in the kernel");
}

#[test]
fn esc_and_ctrl_c_stop_long_commands_in_the_tui() {
    need_root();
    let env = lab("tui");
    // the check must still be running when it is stopped: with the lab's reuse on, lesson 6's
    // verdict checks end in tens of ms; without it (the baseline) each makes a scratch lab,
    // which takes seconds and is what "stopped in the middle" is tested on
    let slow = [("ECLAT_LAB_CHECK_REUSE", "off".to_string())];
    let mut t = Tmux::new(&env, "stopt", &slow);
    t.launch("tutorial 6", 160, 45);
    t.wait("the first frame", Duration::from_secs(10), |s| {
        s.contains("Lesson 6")
    });
    t.keys(&[":"]);
    for (line, done) in [
        ("topo up", "topology hike-lab up"),
        (
            "xdp attach xdp_counter sut enp6s0f1",
            "attached xdp_counter",
        ),
    ] {
        t.type_text(line);
        t.keys(&["Enter"]);
        t.wait(line, Duration::from_secs(60), |s| s.contains(done));
    }
    // a long traffic on the command line: Ctrl-C stops it
    t.type_text("traffic --from tg --to 12:2::2 --icmp --count 1000 --rate 5");
    t.keys(&["Enter"]);
    t.wait("the traffic to run", Duration::from_secs(10), |s| {
        s.contains("Ctrl-C stops")
    });
    stop(&t, &["C-c"], "traffic (TUI)");
    // the check: Esc stops it (from the panes), no verdict
    t.keys(&["Escape"]);
    t.keys(&["c"]);
    let t0 = Instant::now();
    while !env.bpffs_root.join("scratch").exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the check did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    stop_saying(
        &t,
        &["Escape"],
        "lesson check (TUI)",
        Some("stopped `check end-the-chain`"),
    );
    let s = t.screen();
    assert!(
        !s.contains("Check end-the-chain FAIL") && !s.contains("Check end-the-chain PASS"),
        "{s}"
    );
    let t0 = Instant::now();
    while !no_scratch(&env) {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the check's scratch lab stayed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // quitting asks first (it removes the lab): y confirms
    t.keys(&["q", "y"]);
    let s = t.wait("the TUI to exit", Duration::from_secs(30), |s| {
        s.contains("TUI-EXITED=")
    });
    assert!(s.contains("TUI-EXITED=0"), "{s}");
    assert_eq!(leftovers(&env), Vec::<String>::new(), "left in the kernel");
}

/// A session killed while `exec` runs a command (`kill -9`, a closed window): the command's
/// terminal closes with the lab, which hangs it up; nothing the learner started keeps
/// running (a bpftrace left behind would keep its probes attached).
#[test]
fn a_killed_shell_hangs_up_what_exec_runs() {
    need_root();
    let env = lab("hup");
    let mut t = Tmux::new(&env, "stoph", &[]);
    t.launch("shell", 120, 40);
    t.wait("the prompt", Duration::from_secs(10), |s| {
        s.contains("eclat-lab>")
    });
    t.type_text("topo up");
    t.keys(&["Enter"]);
    t.wait("the lab", Duration::from_secs(60), |s| {
        s.contains("topology hike-lab up")
    });
    let marker = format!("hup-marker-{}", std::process::id());
    t.type_text(&format!(
        "exec tg -- sh -c 'echo started-$((1+1)); while :; do sleep 0.05; done; echo {marker}'"
    ));
    t.keys(&["Enter"]);
    t.wait("the command's first line", Duration::from_secs(20), |s| {
        s.contains("started-2")
    });
    let running = || {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .any(|p| {
                std::fs::read(p.path().join("cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&marker))
            })
    };
    assert!(running(), "the command runs");
    let pid = t.tui_pid().expect("the shell's process");
    assert!(
        std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let t0 = Instant::now();
    while running() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the command outlived the killed session"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    t.close();
    cli(&env, &["reset"]);
    assert_eq!(leftovers(&env), Vec::<String>::new(), "left in the kernel");
}
