//! The learning experience in the tutorial's terminal UI, driven like a learner would through
//! tmux with the real kernel: check an exercise, read the verifier's explanation, fix the file
//! (from another terminal, or in `$EDITOR` from the TUI) and see the check pass by itself
//! (watch mode), then quit with the kernel clean. Each test has its own isolated lab, workspace
//! and progress file, removed even on failure. Needs root.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use eclat_kernel::LabEnv;

#[path = "../src/tui/figures.rs"]
#[allow(dead_code)]
mod figures;

const BIN: &str = env!("CARGO_BIN_EXE_eclat-lab");

fn lessons_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lessons")
}

fn need_root() {
    assert!(
        eclat_kernel::doctor::privileged(),
        "the TUI end-to-end tests drive the real kernel: run them as root (sudo -E cargo test)"
    );
}

fn lab(tag: &str) -> LabEnv {
    let id = format!("{tag}{:x}", std::process::id() % 0xfff);
    LabEnv {
        state_dir: std::env::temp_dir().join(format!("eclat-tuil-{id}")),
        bpffs_root: PathBuf::from(format!("/sys/fs/bpf/eclat-tuil-{id}")),
        ns_prefix: format!("el{id}-"),
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

/// A tmux session running the TUI with its own workspace and progress file; dropping it
/// kills the session, resets the lab and removes its files.
struct Tmux {
    name: String,
    env: LabEnv,
    vars: String,
}

impl Tmux {
    fn workspace(env: &LabEnv) -> PathBuf {
        env.state_dir.join("workspace")
    }
    fn progress(env: &LabEnv) -> PathBuf {
        env.state_dir.join("progress.toml")
    }

    fn start(env: &LabEnv, args: &str, editor: Option<&Path>, cols: u16, rows: u16) -> Self {
        std::fs::create_dir_all(&env.state_dir).unwrap();
        let name = format!("eclat-e2el-{}-{}", std::process::id(), env.ns_prefix);
        let mut vars: String = figures::env_vars(env)
            .into_iter()
            .map(|(k, v)| format!("{k}={v} "))
            .collect();
        if let Some(e) = editor {
            vars.push_str(&format!("EDITOR={} ", e.display()));
        }
        let t = Tmux {
            name,
            env: env.clone(),
            vars,
        };
        t.launch(args, cols, rows);
        t
    }

    /// Runs the TUI with `args` in a new tmux session (the shell line reports the exit
    /// status and keeps the pane for the last capture).
    fn launch(&self, args: &str, cols: u16, rows: u16) {
        let line = format!(
            "env {}RUST_BACKTRACE=0 {BIN} {args}; echo TUI-EXITED=$?; sleep 600",
            self.vars
        );
        let st = Command::new("tmux")
            .args(["new-session", "-d", "-s", &self.name])
            .args(["-x", &cols.to_string(), "-y", &rows.to_string()])
            .arg(line)
            .status()
            .expect("running tmux");
        assert!(st.success(), "tmux new-session failed");
    }

    /// Ends the tmux session (the TUI in it has exited), keeping the lab's files.
    fn close(&self) {
        let st = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status()
            .unwrap();
        assert!(st.success());
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
            std::thread::sleep(Duration::from_millis(50));
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

/// The value of the `label` row of a map panel (`│  DROP     20   0/s ▁▂`).
fn panel_value(screen: &str, label: &str) -> Option<u64> {
    let pat = format!("│  {label} ");
    screen.lines().find_map(|l| {
        let (_, rest) = l.rsplit_once(&pat)?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

#[test]
fn lesson_two_verifier_explained_then_a_save_passes_the_check() {
    need_root();
    let env = lab("l2");
    let t = Tmux::start(&env, "tutorial 2", None, 80, 24);
    let long = Duration::from_secs(60);
    t.wait("the first frame", Duration::from_secs(10), |s| {
        s.contains("Architecture and toolchain") && s.contains("c check")
    });

    // c: the starter is rejected by the kernel, and the verifier panel says why and where
    t.keys(&["c"]);
    t.wait("the verifier's explanation", long, |s| {
        s.contains("Check fix-verifier FAIL")
            && s.contains("Verifier")
            && s.contains("out-of-bounds packet access")
            && s.contains("line 29")
            && s.contains("▶29 │")
            && s.contains("bpf_printk")
    });
    // zoomed, the whole explanation: the kernel's words and what to do
    t.keys(&["z"]);
    t.wait("the zoomed explanation", long, |s| {
        s.contains("the kernel said: invalid access to packet") && s.contains("what to do:")
    });
    t.keys(&["z"]);

    // the learner fixes the file in another terminal: the TUI checks it by itself
    let file = Tmux::workspace(&env).join("02-architecture-and-toolchain/parse_eth.bpf.c");
    assert!(
        file.exists(),
        "the workspace copy is made when the lesson opens"
    );
    let solution =
        std::fs::read(lessons_dir().join("02-architecture-and-toolchain/solution/parse_eth.bpf.c"))
            .unwrap();
    std::fs::write(&file, solution).unwrap();
    let s = t.wait("the check to pass without pressing c", long, |s| {
        s.contains("Check fix-verifier PASS")
    });
    assert!(!s.contains("Verifier rejected"), "{s}");
    // no auto-advance: still on step 1
    assert!(s.contains("step 1/3"), "{s}");
    let progress = std::fs::read_to_string(Tmux::progress(&env)).unwrap();
    assert!(progress.contains("fix-verifier"), "{progress}");
    // moving on is the learner's key press
    t.keys(&["n"]);
    t.wait("step 2", long, |s| s.contains("step 2/3"));

    t.keys(&["q"]);
    let s = t.wait("the TUI to exit", long, |s| s.contains("TUI-EXITED="));
    assert!(s.contains("TUI-EXITED=0"), "{s}");
    assert_eq!(leftovers(&env), Vec::<String>::new(), "left in the kernel");

    // `eclat-lab` with no lesson opens where the learner left off, the exercise passed
    t.close();
    t.launch("", 80, 24);
    t.wait("the lesson resumed", Duration::from_secs(10), |s| {
        s.contains("Lesson 2: Architecture and toolchain")
            && s.contains("step 2/3")
            && s.contains("fix-verifier ✓")
    });
    // the lesson list shows it
    t.keys(&["l"]);
    t.wait("the lesson list", long, |s| {
        s.contains("Lessons") && s.contains("2/3") && s.contains("✓ 1/1")
    });
    t.keys(&["Escape"]);
    t.wait("the list closed", long, |s| !s.contains("Enter open"));
    t.keys(&["q"]);
    let s = t.wait("the TUI to exit", long, |s| s.contains("TUI-EXITED="));
    assert!(s.contains("TUI-EXITED=0"), "{s}");
    assert_eq!(leftovers(&env), Vec::<String>::new(), "left in the kernel");
}

#[test]
fn lesson_five_edit_in_the_editor_and_see_the_check_pass_and_the_counters_move() {
    need_root();
    let env = lab("l5");
    std::fs::create_dir_all(&env.state_dir).unwrap();
    // the "editor" writes the reference solution over the file it is given, as a learner would
    let editor = env.state_dir.join("editor.sh");
    let solution = lessons_dir().join("05-first-eclat-script/solution/ports.eclat");
    std::fs::write(
        &editor,
        format!("#!/bin/sh\ncp '{}' \"$1\"\n", solution.display()),
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let t = Tmux::start(&env, "tutorial 5", Some(&editor), 120, 40);
    let long = Duration::from_secs(120);
    t.wait("the first frame", Duration::from_secs(10), |s| {
        s.contains("A first eCLAT script") && s.contains("c check")
    });

    // the starter fails: port 6000 is not dropped, and the check says what it saw
    t.keys(&["c"]);
    let s = t.wait("the starter's check", long, |s| {
        s.contains("Check ports FAIL")
    });
    assert!(s.contains("expected") && s.contains("seen"), "{s}");

    // e: the TUI gives the terminal to $EDITOR; the save is checked without pressing c
    t.keys(&["e"]);
    t.wait("the check to pass after the edit", long, |s| {
        s.contains("Check ports PASS")
    });
    // the traffic check sent 20 datagrams to port 6000 through the loaded script
    t.wait("the DROP counter to move", long, |s| {
        panel_value(s, "DROP") == Some(20)
    });

    t.keys(&["q"]);
    let s = t.wait("the TUI to exit", long, |s| s.contains("TUI-EXITED="));
    assert!(s.contains("TUI-EXITED=0"), "{s}");
    assert_eq!(leftovers(&env), Vec::<String>::new(), "left in the kernel");
}
