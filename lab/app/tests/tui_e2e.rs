//! The tutorial's terminal UI driven like a learner would, through tmux: lesson 1 from the
//! first frame to quitting, with the real kernel, each test with its own isolated lab (state
//! dir, bpffs root, namespace prefix, workspace and progress file), cleaned up even on
//! failure. Needs root.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use eclat_kernel::LabEnv;

#[path = "../src/tui/figures.rs"]
#[allow(dead_code)]
mod figures;

const BIN: &str = env!("CARGO_BIN_EXE_eclat-lab");

fn need_root() {
    assert!(
        eclat_kernel::doctor::privileged(),
        "the TUI end-to-end tests drive the real kernel: run them as root (sudo -E cargo test)"
    );
}

fn lab(tag: &str) -> LabEnv {
    let id = format!("{tag}{:x}", std::process::id() % 0xfff);
    LabEnv {
        state_dir: std::env::temp_dir().join(format!("eclat-tui-{id}")),
        bpffs_root: PathBuf::from(format!("/sys/fs/bpf/eclat-tui-{id}")),
        ns_prefix: format!("et{id}-"),
    }
}

fn leftovers(env: &LabEnv) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&env.ns_prefix))
                .collect()
        })
        .unwrap_or_default();
    if env.bpffs_root.exists() {
        v.push(env.bpffs_root.display().to_string());
    }
    v
}

/// A tmux session running the TUI; dropping it kills the session and resets the lab.
struct Tmux {
    name: String,
    env: LabEnv,
    started: Instant,
}

impl Tmux {
    fn start(env: &LabEnv, args: &str, cols: u16, rows: u16) -> Self {
        let name = format!("eclat-e2e-{}-{}", std::process::id(), env.ns_prefix);
        let vars: String = figures::env_vars(env)
            .into_iter()
            .map(|(k, v)| format!("{k}={v} "))
            .collect();
        // the shell line reports the exit status and keeps the pane for the last capture
        let line = format!(
            "env {vars}ECLAT_LAB_TUI_PANIC_KEY=% RUST_BACKTRACE=0 {BIN} {args}; \
             echo TUI-EXITED=$?; sleep 600"
        );
        let started = Instant::now();
        let st = Command::new("tmux")
            .args(["new-session", "-d", "-s", &name])
            .args(["-x", &cols.to_string(), "-y", &rows.to_string()])
            .arg(line)
            .status()
            .expect("running tmux");
        assert!(st.success(), "tmux new-session failed");
        Tmux {
            name,
            env: env.clone(),
            started,
        }
    }

    fn screen(&self) -> String {
        let o = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let st = Command::new("tmux")
            .args(["send-keys", "-t", &self.name])
            .args(keys)
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Typed text (not key names).
    fn type_text(&self, s: &str) {
        let st = Command::new("tmux")
            .args(["send-keys", "-l", "-t", &self.name, s])
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Polls the screen until `ok` holds; fails with the last screen after `timeout`.
    fn wait(&self, what: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("waited {timeout:?} for {what}; the screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .stderr(std::process::Stdio::null())
            .status();
        let _ = Command::new(BIN)
            .arg("reset")
            .envs(figures::env_vars(&self.env))
            .output();
        let _ = std::fs::remove_dir_all(&self.env.state_dir);
    }
}

/// The value of the `label` row of a map panel (`│  packets     100   10/s ▁▂`).
fn panel_value(screen: &str, label: &str) -> Option<u64> {
    let pat = format!("│  {label} ");
    screen.lines().find_map(|l| {
        let (_, rest) = l.rsplit_once(&pat)?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

#[test]
fn lesson_one_from_first_frame_to_a_clean_quit() {
    need_root();
    let env = lab("l1");
    let t = Tmux::start(&env, "tutorial 1", 120, 40);
    let long = Duration::from_secs(30);

    // the first frame: the lesson and its first step
    t.wait("the first frame", Duration::from_secs(10), |s| {
        s.contains("Hello XDP") && s.contains("Step 1/8")
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
    t.wait("step 3", long, |s| s.contains("Step 3/8"));
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
    t.wait("step 4", long, |s| s.contains("Step 4/8"));
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
    t.wait("step 7", long, |s| s.contains("Step 7/8"));
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

/// The TUI's process (the pane runs a shell that runs it).
fn tui_pid(t: &Tmux) -> u32 {
    let o = Command::new("tmux")
        .args(["display-message", "-p", "-t", &t.name, "#{pane_pid}"])
        .output()
        .unwrap();
    let shell: u32 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
    children
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .find(|p: &u32| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .is_ok_and(|c| c.trim() == "eclat-lab")
        })
        .expect("the TUI's process")
}

#[test]
fn sigterm_restores_the_terminal_and_cleans_up() {
    need_root();
    let env = lab("sig");
    let t = Tmux::start(&env, "tutorial 1", 80, 24);
    let long = Duration::from_secs(30);
    t.wait("the first frame", Duration::from_secs(10), |s| {
        s.contains("Hello XDP")
    });
    t.keys(&["r"]);
    t.wait("the topology", long, |s| s.contains("Topology: hike-lab"));
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
    let t = Tmux::start(&env, "tutorial 1", 80, 24);
    let long = Duration::from_secs(30);
    t.wait("the first frame", Duration::from_secs(10), |s| {
        s.contains("Hello XDP")
    });
    t.keys(&["r"]);
    t.wait("the topology", long, |s| s.contains("Topology: hike-lab"));
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
    let t = Tmux::start(&env, "tutorial 1", 80, 24);
    let long = Duration::from_secs(30);
    t.wait("the first frame", Duration::from_secs(10), |s| {
        s.contains("Hello XDP")
    });
    t.keys(&["r"]);
    t.wait("the topology", long, |s| s.contains("Topology: hike-lab"));
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
    assert!(f.first_frame_ms > 0.0 && f.first_frame_internal_ms > 0.0);
    assert!(f.idle_cpu_percent.is_finite() && f.idle_cpu_percent >= 0.0);
    assert_eq!(f.maps_polled, 4);
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
