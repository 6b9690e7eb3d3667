//! The tutorial's terminal UI driven like a learner would, through tmux: lesson 1 from the
//! first frame to quitting, with the real kernel, each test with its own isolated lab (state
//! dir, bpffs root, namespace prefix, workspace and progress file), cleaned up even on
//! failure. Needs root.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use eclat_kernel::LabEnv;

mod common;

use common::{BIN, Tmux, figures, leftovers, namespaces, need_root, panel_value, steps_of};

fn lab(tag: &str) -> LabEnv {
    common::lab("tui", "et", tag)
}

/// The TUI on `args` with the fault-injection key `%` (the panic test presses it).
fn start(env: &LabEnv, args: &str, cols: u16, rows: u16) -> Tmux {
    let mut t = Tmux::new(env, "e2e", &[("ECLAT_LAB_TUI_PANIC_KEY", "%".to_string())]);
    t.launch(args, cols, rows);
    t
}

#[test]
fn lesson_one_from_first_frame_to_a_clean_quit() {
    need_root();
    let env = lab("l1");
    let t = start(&env, "tutorial 1", 120, 40);
    let long = Duration::from_secs(30);
    let n = steps_of("01-hello-xdp");
    let step = |i: usize| format!("Step {i}/{n}");

    // the first frame: the lesson and its first step
    t.wait("the first frame", Duration::from_secs(10), |s| {
        s.contains("Hello XDP") && s.contains(&step(1))
    });
    eprintln!(
        "first frame on screen after {:.0} ms (spawn to tmux capture, debug build)",
        t.started.elapsed().as_secs_f64() * 1000.0
    );
    // the topology is read in the background: "reading…" first, then the news
    t.wait("the topology read", Duration::from_secs(10), |s| {
        s.contains("no topology up")
    });

    // step 1: the topology, drawn with its links and addresses
    t.keys(&["r"]);
    t.wait("the topology", long, |s| {
        s.contains("Topology: hike-lab") && s.contains("tg:enp6s0f0") && s.contains("clt:veth0")
    });

    // step 3: the counter attached, its panels loaded
    t.keys(&["n", "n"]);
    t.wait("step 3", long, |s| s.contains(&step(3)));
    t.keys(&["r"]);
    let s = t.wait("the counter attached", long, |s| {
        s.contains("attached xdp_counter to sut:enp6s0f0")
            && s.contains("xdp: xdp_counter")
            && panel_value(s, "packets").is_some()
    });
    let before = panel_value(&s, "packets").unwrap();
    assert_eq!(panel_value(&s, "verdict"), Some(2), "{s}");

    // step 4: exactly 100 UDP packets, and the live panel shows them
    t.keys(&["n"]);
    t.wait("step 4", long, |s| s.contains(&step(4)));
    t.keys(&["r"]);
    t.wait("100 packets counted", long, |s| {
        s.contains("sent 100/100 UDP packets") && panel_value(s, "packets") == Some(before + 100)
    });

    // DROP through the command line, exactly as in the shell
    t.keys(&[":"]);
    t.type_text("map set verdict 0 DROP");
    t.keys(&["Enter"]);
    t.wait("the verdict flipped", long, |s| {
        s.contains("verdict[0] = DROP") && panel_value(s, "verdict") == Some(1)
    });
    t.keys(&["Escape"]);
    t.wait("the command line left", long, |s| s.contains("n/p step"));

    // step 7: ping gets no replies, but the counter still moves
    t.keys(&["n", "n", "n"]);
    t.wait("step 7", long, |s| s.contains(&step(7)));
    t.keys(&["r"]);
    t.wait("the pings dropped", long, |s| {
        s.contains("0 echo replies received") && panel_value(s, "packets") == Some(before + 110)
    });

    // background traffic on, then quit: asked to confirm, then everything is removed
    t.keys(&["t"]);
    t.wait("traffic on", long, |s| s.contains("traffic on"));
    t.keys(&["q"]);
    t.wait("the quit question", long, |s| s.contains("Still running"));
    t.keys(&["y"]);
    let s = t.wait("the TUI to exit", long, |s| s.contains("TUI-EXITED="));
    assert!(s.contains("TUI-EXITED=0"), "{s}");
    assert!(s.contains("this session created"), "{s}");
    assert_eq!(leftovers(&env), Vec::<String>::new(), "left in the kernel");
}

/// `r` on lesson 1's first step brings the topology up. At 80x24 the screen is stacked: the
/// topology is one Tab away (the step's border says so) and takes the text's place, and
/// Shift-Tab brings the text back.
fn topology_up_stacked(t: &Tmux, long: Duration) {
    t.wait("the step's pointer to the topology", long, |s| {
        s.contains("Tab topology") && s.contains("Lesson 1 text")
    });
    t.keys(&["r", "Tab"]);
    t.wait("the topology", long, |s| {
        s.contains("Topology: hike-lab")
            && s.contains("clt:veth0")
            && s.contains("Shift-Tab text")
            && !s.contains("Lesson 1 text")
    });
    t.keys(&["BTab"]);
    t.wait("the text again", long, |s| {
        s.contains("Lesson 1 text") && !s.contains("Topology: hike-lab")
    });
}

/// The TUI's process (the pane runs a shell that runs it).
fn tui_pid(t: &Tmux) -> u32 {
    t.tui_pid().expect("the TUI's process")
}

#[test]
fn sigterm_restores_the_terminal_and_cleans_up() {
    need_root();
    let env = lab("sig");
    let t = start(&env, "tutorial 1", 80, 24);
    let long = Duration::from_secs(30);
    t.wait("the first frame", Duration::from_secs(10), |s| {
        s.contains("Hello XDP")
    });
    topology_up_stacked(&t, long);
    assert!(!leftovers(&env).is_empty());
    let st = Command::new("kill")
        .args(["-TERM", &tui_pid(&t).to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let s = t.wait("the TUI to exit", long, |s| s.contains("TUI-EXITED="));
    assert!(s.contains("TUI-EXITED=0"), "{s}");
    // back on the main screen: no frame of the TUI is left on it
    assert!(!s.contains("Lesson 1 text"), "{s}");
    assert_eq!(leftovers(&env), Vec::<String>::new(), "left in the kernel");
}

#[test]
fn a_panic_restores_the_terminal_and_cleans_up() {
    need_root();
    let env = lab("pan");
    let t = start(&env, "tutorial 1", 80, 24);
    let long = Duration::from_secs(30);
    t.wait("the first frame", Duration::from_secs(10), |s| {
        s.contains("Hello XDP")
    });
    topology_up_stacked(&t, long);
    assert!(!leftovers(&env).is_empty());
    // the fault injection key (set by Tmux::start for every test)
    t.keys(&["%"]);
    let s = t.wait("the TUI to exit", long, |s| s.contains("TUI-EXITED="));
    assert!(s.contains("TUI-EXITED=101"), "{s}");
    // the panic message is readable on the restored main screen, then the cleanup's
    assert!(s.contains("injected panic"), "{s}");
    assert!(s.contains("this session created"), "{s}");
    assert!(!s.contains("Lesson 1 text"), "{s}");
    assert_eq!(leftovers(&env), Vec::<String>::new(), "left in the kernel");
}

#[test]
fn closing_the_window_cleans_up() {
    need_root();
    let env = lab("hup");
    let t = start(&env, "tutorial 1", 80, 24);
    let long = Duration::from_secs(30);
    t.wait("the first frame", Duration::from_secs(10), |s| {
        s.contains("Hello XDP")
    });
    topology_up_stacked(&t, long);
    let pid = tui_pid(&t);
    // the window goes away: SIGHUP, and a terminal that no longer takes output
    let st = Command::new("tmux")
        .args(["kill-session", "-t", &t.name])
        .status()
        .unwrap();
    assert!(st.success());
    let deadline = Instant::now() + long;
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "the TUI outlived its window");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(leftovers(&env), Vec::<String>::new(), "left in the kernel");
}

#[test]
fn tui_figures_are_measurable() {
    need_root();
    let env = lab("fig");
    let idle = std::env::var("ECLAT_LAB_TUI_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    // ECLAT_LAB_TUI_BIN measures another build (e.g. target/release/eclat-lab)
    let bin = std::env::var_os("ECLAT_LAB_TUI_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(BIN));
    let guard = ResetGuard(&env, bin.clone());
    let f =
        figures::measure_tui(&bin, &env, Duration::from_secs_f64(idle)).expect("measuring the TUI");
    eprintln!(
        "TUI figures ({}): {}",
        bin.display(),
        serde_json::to_string(&f).unwrap()
    );
    // the lesson's two panels and the two opened: the sampler read each of them, and kept
    // polling through the idle period (the times and the CPU are the bench's, not asserted)
    assert_eq!(f.maps_polled, 4, "{f:?}");
    assert!(f.polls_per_sec > 0.0, "the sampler stopped polling: {f:?}");
    assert_eq!(leftovers(&env), Vec::<String>::new(), "left in the kernel");
    drop(guard);
}

struct ResetGuard<'a>(&'a LabEnv, PathBuf);

impl Drop for ResetGuard<'_> {
    fn drop(&mut self) {
        let _ = Command::new(&self.1)
            .arg("reset")
            .envs(figures::env_vars(self.0))
            .output();
        let _ = std::fs::remove_dir_all(&self.0.state_dir);
    }
}

/// The interfaces of the host's network namespace.
fn host_links() -> Vec<String> {
    let o = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    let mut v: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| Some(l.split(": ").nth(1)?.split('@').next()?.to_string()))
        .collect();
    v.sort();
    v
}

/// The XDP program on an interface of a lab node, as `ip` sees it (`prog/xdp id N`).
fn xdp_of(env: &LabEnv, node: &str, dev: &str) -> Option<String> {
    let o = Command::new("ip")
        .args(["-n", &env.ns_name(node), "-d", "link", "show", "dev", dev])
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&o.stdout).into_owned();
    s.split("prog/xdp ")
        .nth(1)
        .map(|r| r.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
}

/// `kill -9` of the TUI itself, in a learner's shell, with the lesson's topology up and an
/// eCLAT script loaded (HIKe pins, a loader attached with XDP to sut): no handler runs, so
/// the session's namespaces, pins and attachment outlive it, and the terminal stays in raw
/// mode on the TUI's screen. The next start of the lab in that same shell removes all of it
/// while it starts (the host's interfaces are untouched throughout), and once it quits the
/// shell works as before: cooked mode, echo, a newline that returns to the first column.
#[test]
fn sigkill_of_the_tui_is_undone_by_the_next_start_in_a_usable_terminal() {
    need_root();
    let env = lab("kil");
    let long = Duration::from_secs(30);
    let host = host_links();
    let mut t = Tmux::new(&env, "e2e-kill", &[]);
    t.launch_shell(120, 40);
    t.wait("the shell", Duration::from_secs(10), |s| s.contains("lab$"));
    // started by a script (as `make` or a wrapper would): when the TUI dies, the script
    // goes on and exits normally, so the shell keeps the terminal as the TUI left it
    t.type_text(&format!("sh -c '{BIN} tutorial 1; echo TUI-EXITED=$?'"));
    t.keys(&["Enter"]);
    t.wait("the first frame", Duration::from_secs(10), |s| {
        s.contains("Hello XDP") && s.contains("no topology up")
    });
    t.keys(&["r"]);
    t.wait("the topology", long, |s| s.contains("Topology: hike-lab"));
    let ecl = format!(
        "{}/../pure/eclat/tests/scripts/lesson4_monitor.eclat",
        env!("CARGO_MANIFEST_DIR")
    );
    t.keys(&[":"]);
    t.type_text(&format!("load {ecl} -D DEVNAME=enp6s0f0"));
    t.keys(&["Enter"]);
    t.wait("the script loaded", long, |s| {
        s.contains("attached hike_default.ip6_simple_classifier")
    });
    assert!(
        xdp_of(&env, "sut", "enp6s0f0").is_some(),
        "the loader is attached"
    );
    assert!(env.bpffs_root.join("progs/hike_vm").exists());

    let pid = t.tui_pid().expect("the TUI's process");
    let st = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    t.wait_for("the TUI to die", long, || {
        !Path::new(&format!("/proc/{pid}")).exists()
    });
    t.wait("the script to go on", long, |s| {
        s.contains("TUI-EXITED=137")
    });
    // nothing could clean up: the session's objects are all still there
    let left = leftovers(&env);
    assert_eq!(left.len(), 4, "3 namespaces and the bpffs root: {left:?}");
    assert!(xdp_of(&env, "sut", "enp6s0f0").is_some());

    // the next start, in the same (raw) terminal; the killed TUI's frame is still on the
    // screen, so clear it first to tell the new frame from the old one
    t.type_text("clear");
    t.keys(&["Enter"]);
    t.wait("the screen cleared", long, |s| !s.contains("Hello XDP"));
    t.type_text(&format!("{BIN} tutorial 1"));
    t.keys(&["Enter"]);
    t.wait("the next start's first frame", long, |s| {
        s.contains("Hello XDP")
    });
    let next = t.tui_pid().expect("the next TUI");
    assert_ne!(next, pid);
    t.wait_for("the leftovers removed by the next start", long, || {
        leftovers(&env).is_empty()
    });
    t.wait("the note and the topology read", long, |s| {
        s.contains("removed") && s.contains("leftover(s)") && s.contains("no topology up")
    });
    assert_eq!(host_links(), host, "the host's interfaces changed");

    // it quits (asked first: y), and the shell works as before
    t.keys(&["q", "y"]);
    t.wait_for("the next TUI to quit", long, || {
        !Path::new(&format!("/proc/{next}")).exists()
    });
    assert_eq!(
        t.format("#{alternate_on}"),
        "0",
        "still on the TUI's screen"
    );
    assert_eq!(t.format("#{cursor_flag}"), "1", "the cursor is hidden");
    t.type_text(
        "stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo; echo READY-$((6*7))",
    );
    t.keys(&["Enter"]);
    let s = t.wait("the shell's answer", long, |s| {
        s.lines().any(|l| l.trim() == "READY-42")
    });
    let lines: Vec<&str> = s.lines().map(str::trim_end).collect();
    assert!(
        lines.contains(&"icanon") && lines.contains(&"echo") && lines.contains(&"READY-42"),
        "the terminal is not back in cooked mode (or output does not start lines):\n{s}"
    );
    assert_eq!(leftovers(&env), Vec::<String>::new(), "left in the kernel");
}

/// A lesson opened while another lesson's topology is up works on its own: lesson 4 opened
/// with lesson 3's hike-lab up brings lb-lab up in its place (it used to show hike-lab), and
/// quitting takes it down.
#[test]
fn a_lesson_opened_brings_its_own_topology_up() {
    need_root();
    let env = lab("l4t");
    // the tmux harness resets the lab when it goes, even if this test fails
    let mut t = Tmux::new(&env, "e2e", &[]);
    let up = Command::new(BIN)
        .args(["topo", "up"])
        .envs(figures::env_vars(&env))
        .output()
        .unwrap();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    t.launch("tutorial 4", 160, 45);
    let long = Duration::from_secs(60);
    t.wait("lb-lab in place of hike-lab", long, |s| {
        s.contains("took topology hike-lab down") && s.contains("Topology: lb-lab")
    });
    assert_eq!(
        namespaces(&env).len(),
        6,
        "lb-lab's six nodes, none of hike-lab's: {:?}",
        namespaces(&env)
    );
    t.keys(&["q"]);
    t.wait("the quit question", long, |s| {
        s.contains("Quitting removes")
    });
    t.keys(&["y"]);
    let s = t.wait("the TUI to exit", long, |s| s.contains("TUI-EXITED="));
    assert!(s.contains("TUI-EXITED=0"), "{s}");
    // lb-lab was the session's, and went with it (hike-lab was taken down in its place)
    assert_eq!(namespaces(&env), Vec::<String>::new(), "namespaces left");
}

/// The TUI's command line refuses a load whose loader would go where another loaded script's
/// loader is attached, as the CLI and the shell do (one command layer), saying where and
/// what to do; with `--replace` the load takes the interface over and says whose it was.
#[test]
fn a_load_onto_another_scripts_interface_is_refused_in_the_tui() {
    need_root();
    let env = lab("busy");
    // the tmux harness resets the lab when it goes, even if this test fails
    let mut t = Tmux::new(&env, "e2e", &[]);
    let lessons = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lessons");
    let count = lessons.join("06-hike/solution/count.eclat");
    let ports = lessons.join("07-first-eclat-script/solution/ports.eclat");
    for args in [
        vec!["topo".to_string(), "up".to_string()],
        vec!["load".to_string(), count.display().to_string()],
    ] {
        let o = Command::new(BIN)
            .args(&args)
            .envs(figures::env_vars(&env))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    // what the lab has attached on sut:enp6s0f0 (`xdp list`)
    let on_sut = || {
        let o = Command::new(BIN)
            .args(["xdp", "list"])
            .envs(figures::env_vars(&env))
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| {
                l.trim()
                    .strip_prefix("sut:enp6s0f0 <- ")
                    .map(str::to_string)
            })
            .collect::<Vec<_>>()
    };
    t.launch("tutorial 7", 160, 45);
    let long = Duration::from_secs(60);
    t.wait("the first frame", long, |s| {
        s.contains("A first eCLAT script")
    });
    t.keys(&[":"]);
    t.type_text(&format!("load {}", ports.display()));
    t.keys(&["Enter"]);
    let s = t.wait("the refusal", long, |s| {
        let s = common::unwrapped(s);
        s.contains("--replace") && s.contains("Nothing was changed")
    });
    let s = common::unwrapped(&s);
    assert!(
        s.contains("interface sut:enp6s0f0")
            && s.contains(&format!("(namespace {}sut)", env.ns_prefix))
            && s.contains("ip6_simple_classifier"),
        "{s}"
    );
    assert_eq!(
        on_sut(),
        ["ip6_simple_classifier"],
        "the refused load changed the interface"
    );
    t.type_text(&format!("load {} --replace", ports.display()));
    t.keys(&["Enter"]);
    t.wait("the takeover", long, |s| {
        common::unwrapped(s).contains("displaced until this script is unloaded")
    });
    assert_eq!(on_sut(), ["udp_dport_classifier"]);
    t.keys(&["Escape", "q", "y"]);
    let s = t.wait("the TUI to exit", long, |s| s.contains("TUI-EXITED="));
    assert!(s.contains("TUI-EXITED=0"), "{s}");
}

/// `module build` of lesson 9's module with a misspelt helper, in the TUI's event log: the
/// same text as the CLI's (the closest helper's name as help), and the marks under the quoted
/// line stay under the columns they point at (`^` under the `=`, `~` under the call).
#[test]
fn a_modules_clang_errors_keep_their_carets_in_the_event_log() {
    need_root();
    let env = lab("mbuild");
    let mut t = Tmux::new(&env, "e2e", &[]);
    let dir = std::env::temp_dir().join(format!("eclat-tui-mbuild-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    struct Gone(PathBuf);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _gone = Gone(dir.clone());
    let src = dir.join("amp_filter.bpf.c");
    let solution = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../lessons/09-writing-a-module/solution/amp_filter.bpf.c"),
    )
    .unwrap();
    let broken = solution.replacen("bpf_map_lookup_elem(", "bpf_map_lookup_elme(", 1);
    assert_ne!(broken, solution, "lesson 9's solution changed");
    std::fs::write(&src, &broken).unwrap();
    t.launch("tutorial 9", 200, 50);
    let long = Duration::from_secs(60);
    t.wait("the first frame", long, |s| s.contains("Step 1/"));
    t.keys(&[":"]);
    t.type_text(&format!("module build {}", src.display()));
    t.keys(&["Enter"]);
    // the whole report: the build has ended (its spinner gone), or the last diagnostic can
    // be on screen without its marks yet
    let s = t.wait("clang's errors, the build ended", long, |s| {
        s.contains("did you mean `bpf_map_lookup_elem` (from <bpf/bpf_helpers.h>)?")
            && !s.contains("⟳ module build")
    });
    let rows: Vec<Vec<char>> = s.lines().map(|l| l.chars().collect()).collect();
    let find = |row: &[char], pat: &str| {
        let p: Vec<char> = pat.chars().collect();
        row.windows(p.len()).position(|w| w == p.as_slice())
    };
    // the last quoted line of the call, and the marks under it (clang's -Wint-conversion:
    // `^` under the `=`, `~` from the call's name on)
    let y = rows
        .iter()
        .rposition(|r| find(r, "|         n = bpf_map_lookup_elme(").is_some())
        .unwrap_or_else(|| panic!("no quoted line:\n{s}"));
    let eq = find(&rows[y], "= bpf_map_lookup_elme").unwrap();
    let call = eq + 2;
    let marks = rows.get(y + 1).unwrap_or_else(|| panic!("no marks:\n{s}"));
    assert_eq!(
        marks.get(eq),
        Some(&'^'),
        "the caret is not under `=`:\n{s}"
    );
    assert_eq!(
        marks.get(call),
        Some(&'~'),
        "the marks are not under the call:\n{s}"
    );
    assert_eq!(marks.get(eq - 1), Some(&' '), "{s}");
    t.keys(&["Escape", "q", "y"]);
    let s = t.wait("the TUI to exit", long, |s| s.contains("TUI-EXITED="));
    assert!(s.contains("TUI-EXITED=0"), "{s}");
}
