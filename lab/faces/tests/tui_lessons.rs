//! The learning experience in the tutorial's terminal UI, driven like a learner would through
//! tmux with the real kernel: check an exercise, read the verifier's explanation, fix the file
//! (from another terminal, or in `$EDITOR` from the TUI) and see the check pass by itself
//! (watch mode), then quit with the kernel clean. Each test has its own isolated lab, workspace
//! and progress file, removed even on failure. Needs root.

use std::path::{Path, PathBuf};
use std::time::Duration;

use eclat_kernel::LabEnv;

mod common;

use common::{Tmux, leftovers, need_root, panel_value, steps_of, unwrapped};

fn lessons_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lessons")
}

fn lab(tag: &str) -> LabEnv {
    common::lab("tuil", "el", tag)
}

fn workspace(env: &LabEnv) -> PathBuf {
    env.state_dir.join("workspace")
}

fn progress(env: &LabEnv) -> PathBuf {
    env.state_dir.join("progress.toml")
}

/// The TUI on `args`, with `$EDITOR` set to `editor` when given.
fn start(env: &LabEnv, args: &str, editor: Option<&Path>, cols: u16, rows: u16) -> Tmux {
    let extra: Vec<(&str, String)> = editor
        .map(|e| ("EDITOR", e.display().to_string()))
        .into_iter()
        .collect();
    let mut t = Tmux::new(env, "e2el", &extra);
    t.launch(args, cols, rows);
    t
}

#[test]
fn lesson_two_verifier_explained_then_a_save_passes_the_check() {
    need_root();
    let env = lab("l2");
    let mut t = start(&env, "tutorial 2", None, 80, 24);
    let long = Duration::from_secs(60);
    let n = steps_of("02-architecture-and-toolchain");
    let exercises = eclat_course::lessons::find("02-architecture-and-toolchain")
        .unwrap()
        .exercises
        .len();
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
    let file = workspace(&env).join("02-architecture-and-toolchain/parse_eth.bpf.c");
    assert!(
        file.exists(),
        "the workspace copy is made when the lesson opens"
    );
    let solution =
        std::fs::read(lessons_dir().join("02-architecture-and-toolchain/solution/parse_eth.bpf.c"))
            .unwrap();
    std::fs::write(&file, solution).unwrap();
    // the verifier panel goes with the pass: both in the wait, since a screen read while the
    // TUI writes a frame has its top (the pass) and not yet its bottom (the panel's end)
    let s = t.wait(
        "the check to pass without pressing c, the verifier panel gone",
        long,
        |s| s.contains("Check fix-verifier PASS") && !s.contains("Verifier rejected"),
    );
    // no auto-advance: still on step 1
    assert!(s.contains(&format!("step 1/{n}")), "{s}");
    let progress = std::fs::read_to_string(progress(&env)).unwrap();
    assert!(progress.contains("fix-verifier"), "{progress}");
    // moving on is the learner's key press
    t.keys(&["n"]);
    t.wait("step 2", long, |s| s.contains(&format!("step 2/{n}")));

    // quitting asks first (it removes the lab): y confirms
    t.keys(&["q", "y"]);
    let s = t.wait("the TUI to exit", long, |s| s.contains("TUI-EXITED="));
    assert!(s.contains("TUI-EXITED=0"), "{s}");
    assert_eq!(leftovers(&env), Vec::<String>::new(), "left in the kernel");

    // `eclat-lab` with no lesson opens where the learner left off, the exercise passed
    t.close();
    t.launch("", 80, 24);
    t.wait("the lesson resumed", Duration::from_secs(10), |s| {
        s.contains("Lesson 2: Architecture and toolchain")
            && s.contains(&format!("step 2/{n}"))
            && s.contains("fix-verifier ✓")
    });
    // the lesson list shows it (its last line too: the whole list is drawn)
    t.keys(&["l"]);
    t.wait("the lesson list", long, |s| {
        s.contains("Lessons")
            && s.contains(&format!("2/{n}"))
            && s.contains(&format!("1/{exercises}"))
            && s.contains("Esc close")
    });
    // Esc, q, y typed fast, in one go: they reach the TUI in one read (Esc and q are then one
    // Alt+q, as on a busy machine, where this once left the TUI running with the list closed
    // and the q lost): Esc closes the list, q asks, y confirms
    t.keys(&["Escape", "q", "y"]);
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
    let solution = lessons_dir().join("07-first-eclat-script/solution/ports.eclat");
    std::fs::write(
        &editor,
        format!("#!/bin/sh\ncp '{}' \"$1\"\n", solution.display()),
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let t = start(&env, "tutorial 7", Some(&editor), 120, 40);
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
    // the check ran in a scratch lab of its own: the learner's lab has nothing loaded
    let s = t.wait("the check's report", long, |s| {
        s.contains("map_pcpu_mon[1] +20")
    });
    assert!(
        s.contains("not loaded yet"),
        "the check loaded into the learner's lab:\n{s}"
    );
    // the learner loads it and sends the same traffic: the counters move in their lab
    for (cmd, done) in [
        ("topo up", "topology hike-lab up"),
        (
            "load ~/eclat-lab/07-first-eclat-script/ports.eclat",
            "attached hike_default.udp_dport_classifier",
        ),
        (
            "traffic --from tg --to fc01::2 --udp 6000 --count 20 --rate 200",
            "sent 20/20",
        ),
    ] {
        // the command line keeps the focus after a command: `:` only the first time
        if cmd == "topo up" {
            t.keys(&[":"]);
        }
        t.type_text(cmd);
        t.keys(&["Enter"]);
        t.wait(&format!("`{cmd}` to finish"), long, |s| s.contains(done));
    }
    t.keys(&["Escape"]);
    t.wait("the DROP counter to move", long, |s| {
        panel_value(s, "DROP") == Some(20)
    });

    // quitting asks first (it removes the lab): y confirms
    t.keys(&["q", "y"]);
    let s = t.wait("the TUI to exit", long, |s| s.contains("TUI-EXITED="));
    assert!(s.contains("TUI-EXITED=0"), "{s}");
    assert_eq!(leftovers(&env), Vec::<String>::new(), "left in the kernel");
}

/// Lesson 3 in the TUI: the counter made to abort, background traffic, a bpftrace one-liner
/// whose lines stream into the log while it runs, and Ctrl-C, which it gets: the map it
/// prints on the way out still reaches the log, with the real count of aborted packets.
#[test]
fn lesson_three_a_bpftrace_one_liner_streams_and_esc_gives_its_map() {
    need_root();
    if eclat_kernel::doctor::tool("bpftrace").is_none()
        || eclat_kernel::doctor::ensure_tracefs().is_none()
    {
        eprintln!("skipped: bpftrace or tracefs missing (doctor says how to install them)");
        return;
    }
    let env = lab("l3");
    let t = start(&env, "tutorial 3", None, 160, 45);
    let long = Duration::from_secs(60);
    t.wait("the first frame", Duration::from_secs(10), |s| {
        s.contains("The real tools") && s.contains("c check")
    });
    // the command line keeps the focus after a command: `:` only the first time
    t.keys(&[":"]);
    let run = |cmd: &str, what: &str, done: &dyn Fn(&str) -> bool| {
        t.type_text(cmd);
        t.keys(&["Enter"]);
        t.wait(what, long, done)
    };
    run("topo up", "the lab", &|s| s.contains("xdp: xdp_pass"));
    run("xdp attach xdp_counter sut enp6s0f0", "the counter", &|s| {
        s.contains("attached xdp_counter")
    });
    run("map set verdict 0 ABORTED", "the verdict", &|s| {
        s.contains("= ABORTED")
    });
    let s = run(
        "exec sut -- bpftrace -e 'tracepoint:xdp:xdp_exception { @aborts = count(); } BEGIN { printf(\"ready-%s\\n\", \"to-count\"); }'",
        // (the words joined only in bpftrace's output, not in the command line)
        "bpftrace's first line while it runs",
        &|s| s.contains("ready-to-count"),
    );
    assert!(!s.contains("was sent Ctrl-C"), "still running: {s}");
    // the generator from a second terminal (the TUI runs one command at a time)
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_eclat-lab"))
        .args([
            "traffic", "--from", "tg", "--to", "fc01::2", "--udp", "5000", "--count", "25",
        ])
        .env("ECLAT_LAB_STATE", &env.state_dir)
        .env("ECLAT_LAB_BPFFS", &env.bpffs_root)
        .env("ECLAT_LAB_NS_PREFIX", &env.ns_prefix)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    t.wait("the counter saw them", long, |s| {
        panel_value(s, "packets") == Some(25)
    });
    // Ctrl-C on the command line (Esc outside it) stops the command: bpftrace gets Ctrl-C
    t.keys(&["C-c"]);
    let s = t.wait("the map bpftrace prints after Ctrl-C", long, |s| {
        s.contains("@aborts: 25")
    });
    assert!(
        s.contains("was sent Ctrl-C") || s.contains("stopped"),
        "{s}"
    );
    t.keys(&["Escape"]);
    t.keys(&["q", "y"]);
    let s = t.wait("the TUI to exit", long, |s| s.contains("TUI-EXITED="));
    assert!(s.contains("TUI-EXITED=0"), "{s}");
    assert_eq!(leftovers(&env), Vec::<String>::new(), "left in the kernel");
}

/// A lesson resumed at a late step finds the lab its step needs, with the real kernel: the
/// TUI quit in lesson 3 before `map set verdict 0 ABORTED` once said "no map named verdict"
/// when started again (the counter of step 2 was gone with the session), and lesson 5's
/// last step found no cube. Both resume with the earlier steps' commands run again.
#[test]
fn a_lesson_resumed_at_a_late_step_finds_the_lab_its_step_needs() {
    need_root();
    let env = lab("rs");
    let long = Duration::from_secs(90);
    for (id, step, replayed, run, done) in [
        (
            "03-bpftool-bpftrace-bcc",
            12,
            "attached xdp_counter to sut:enp6s0f0",
            "map set verdict 0 ABORTED",
            "verdict[0] = ABORTED",
        ),
        (
            "05-composing-programs",
            20,
            "cls:0 -> fw",
            "cube show",
            "cube fw (firewall",
        ),
    ] {
        std::fs::create_dir_all(&env.state_dir).unwrap();
        std::fs::write(
            progress(&env),
            format!("current = \"{id}\"\n\n[lessons.{id}]\nstep = {step}\n"),
        )
        .unwrap();
        let t = start(&env, "tutorial", None, 160, 45);
        let s = t.wait("the earlier steps run again", long, |s| {
            unwrapped(s).contains(replayed)
        });
        assert!(
            s.contains(&format!("Step {}/", step + 1)),
            "resumed at step {}: {s}",
            step + 1
        );
        // the step the learner left on works, as r runs it
        t.keys(&["r"]);
        let s = t.wait(run, long, |s| unwrapped(s).contains(done));
        assert!(!s.contains("no map named") && !s.contains("no cube"), "{s}");
        t.keys(&["q", "y"]);
        let s = t.wait("the TUI to exit", long, |s| s.contains("TUI-EXITED="));
        assert!(s.contains("TUI-EXITED=0"), "{s}");
        t.close();
    }
    assert_eq!(leftovers(&env), Vec::<String>::new(), "left in the kernel");
}

/// Removes a folder when dropped (also when the test fails).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Under sudo, `e` gives the terminal to `$EDITOR` running as the learner who ran sudo, never
/// as root: the editor (a script run by `nobody` here) records the uid it runs as and saves the
/// solution; the saved file is the learner's and the check passes by itself.
#[test]
fn under_sudo_the_editor_runs_as_the_learner() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    need_root();
    let env = lab("su");
    // the learner's own folder (uid 65534), outside the root-only state dir
    let home = std::env::temp_dir().join(format!("eclat-tuil-su-home-{}", std::process::id()));
    let _rm = RemoveOnDrop(home.clone());
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for d in [&home, &bin] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    nix::unistd::chown(&home, Some(65534.into()), Some(65534.into())).unwrap();
    // root owns the editor and the solution it copies; the learner may read and run them
    let solution = bin.join("ports.eclat");
    std::fs::copy(
        lessons_dir().join("07-first-eclat-script/solution/ports.eclat"),
        &solution,
    )
    .unwrap();
    std::fs::set_permissions(&solution, std::fs::Permissions::from_mode(0o644)).unwrap();
    let editor = bin.join("editor.sh");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/sh\nid -u > \"$(dirname \"$1\")/editor-uid\"\ncp '{}' \"$1\"\n",
            solution.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ws = home.join("eclat-lab");
    let extra = [
        ("EDITOR", editor.display().to_string()),
        ("SUDO_UID", "65534".to_string()),
        ("SUDO_GID", "65534".to_string()),
        ("SUDO_USER", "nobody".to_string()),
        ("ECLAT_LAB_WORKSPACE", ws.display().to_string()),
        (
            "ECLAT_LAB_PROGRESS",
            home.join("progress.toml").display().to_string(),
        ),
    ];
    let mut t = Tmux::new(&env, "e2esu", &extra);
    t.launch("tutorial 7", 120, 40);
    let long = Duration::from_secs(120);
    t.wait("the first frame", Duration::from_secs(10), |s| {
        s.contains("A first eCLAT script") && s.contains("c check")
    });
    let file = ws.join("07-first-eclat-script/ports.eclat");
    t.keys(&["e"]);
    t.wait("the check to pass after the edit", long, |s| {
        s.contains("Check ports PASS")
    });
    let uid = std::fs::read_to_string(ws.join("07-first-eclat-script/editor-uid")).unwrap();
    assert_eq!(
        uid.trim(),
        "65534",
        "the editor ran as uid {uid}, not as the learner"
    );
    assert_eq!(
        std::fs::metadata(&file).unwrap().uid(),
        65534,
        "the exercise file made under sudo is not the learner's"
    );
    t.keys(&["q", "y"]);
    let s = t.wait("the TUI to exit", long, |s| s.contains("TUI-EXITED="));
    assert!(s.contains("TUI-EXITED=0"), "{s}");
    assert_eq!(leftovers(&env), Vec::<String>::new(), "left in the kernel");
}

/// The tutorial names the learner's files where they are: with the workspace elsewhere
/// (`ECLAT_LAB_WORKSPACE`, as every test of this file sets it), a step's command and the
/// lesson's text say that folder, not `~/eclat-lab`. From a learner's walkthrough.
#[test]
fn the_tutorial_names_the_real_workspace() {
    need_root();
    let env = lab("ws");
    let ws = workspace(&env);
    let t = start(&env, "tutorial 7", None, 160, 45);
    let long = Duration::from_secs(30);
    t.wait("the first frame", Duration::from_secs(10), |s| {
        s.contains("A first eCLAT script")
    });
    // step 4 loads the learner's ports.eclat
    t.keys(&["n", "n", "n"]);
    let s = t.wait("step 4's command", long, |s| {
        unwrapped(s).contains("07-first-eclat-script/ports.eclat --replace")
    });
    let s = unwrapped(&s);
    assert!(
        s.contains(&format!(
            "load {}/07-first-eclat-script/ports.eclat --replace",
            ws.display()
        )),
        "{s}"
    );
    assert!(!s.contains("~/eclat-lab"), "{s}");
    t.keys(&["q", "y"]);
    let s = t.wait("the TUI to exit", long, |s| s.contains("TUI-EXITED="));
    assert!(s.contains("TUI-EXITED=0"), "{s}");
}
