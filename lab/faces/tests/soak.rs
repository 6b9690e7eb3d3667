//! Load: a flood through the DDoS chain for 60 s (ECLAT_LAB_SOAK_SECS to change it) at the
//! highest rate the built-in generator reaches, while the TUI polls the chain's maps at 10 Hz
//! in a terminal. The lab must not crash, the TUI's memory must stay flat, and the counters
//! must match the packets sent exactly. Prints the rate and the memory. Needs root.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_eclat-lab");

struct Lab {
    vars: Vec<(String, String)>,
    tmux: String,
}

impl Lab {
    fn new() -> Self {
        let id = format!("{:x}", std::process::id() % 0xfff);
        let vars = vec![
            (
                "ECLAT_LAB_STATE".into(),
                std::env::temp_dir()
                    .join(format!("eclat-soak-{id}"))
                    .display()
                    .to_string(),
            ),
            (
                "ECLAT_LAB_BPFFS".into(),
                format!("/sys/fs/bpf/eclat-soak-{id}"),
            ),
            ("ECLAT_LAB_NS_PREFIX".into(), format!("es{id}-")),
            (
                "ECLAT_LAB_WORKSPACE".into(),
                std::env::temp_dir()
                    .join(format!("eclat-soak-{id}/ws"))
                    .display()
                    .to_string(),
            ),
            (
                "ECLAT_LAB_PROGRESS".into(),
                std::env::temp_dir()
                    .join(format!("eclat-soak-{id}/p.toml"))
                    .display()
                    .to_string(),
            ),
        ];
        Lab {
            vars,
            tmux: format!("eclat-soak-{id}"),
        }
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = Command::new(BIN)
            .args(args)
            .envs(self.vars.iter().cloned())
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
    fn monitor(&self) -> [u64; 3] {
        let v: serde_json::Value =
            serde_json::from_str(&self.ok(&["map", "dump", "map_pcpu_mon", "--json"])).unwrap();
        let mut out = [0u64; 3];
        for r in v["rows"].as_array().unwrap() {
            let k = r["key"].as_u64().unwrap() as usize;
            if k < 3 {
                out[k] = r["value"].as_u64().unwrap();
            }
        }
        out
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.tmux])
            .status();
        let _ = Command::new(BIN)
            .arg("reset")
            .envs(self.vars.iter().cloned())
            .output();
        if let Some((_, s)) = self.vars.first() {
            let _ = std::fs::remove_dir_all(s);
        }
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| {
                    l.strip_prefix("VmRSS:")
                        .map(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
                })
                .flatten()
        })
        .unwrap_or(0)
}

fn tui_pid(prefix: &str) -> Option<u32> {
    // the eclat-lab process whose environment names our namespace prefix
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmd).contains("tutorial") {
            continue;
        }
        let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if String::from_utf8_lossy(&env).contains(prefix)
            && std::fs::read_link(format!("/proc/{pid}/exe"))
                .is_ok_and(|p| p.to_string_lossy().contains("eclat-lab"))
        {
            return Some(pid);
        }
    }
    None
}

/// The TUI's screen in tmux session `session`.
fn screen(session: &str) -> String {
    let o = Command::new("tmux")
        .args(["capture-pane", "-p", "-t", session])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Waits (up to 30 s) until the screen satisfies `ok`.
fn wait_screen(session: &str, what: &str, ok: impl Fn(&str) -> bool) {
    let t0 = Instant::now();
    loop {
        let s = screen(session);
        if ok(&s) {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{what}: not on the screen within 30 s:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_minute_of_flood_through_the_ddos_chain_with_the_tui_watching() {
    assert!(eclat_kernel::doctor::privileged(), "run as root");
    let secs: u64 = std::env::var("ECLAT_LAB_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let lab = Lab::new();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../pure/eclat/tests/scripts/ddos.eclat");
    lab.ok(&["topo", "up"]);
    lab.ok(&["load", script.to_str().unwrap(), "-D", "DEVNAME=enp6s0f0"]);

    // the TUI, watching the chain's counters at 10 Hz
    let vars: String = lab.vars.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    let st = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &lab.tmux,
            "-x",
            "120",
            "-y",
            "40",
        ])
        .arg(format!("env {vars} {BIN} tutorial 1; sleep 600"))
        .status()
        .unwrap();
    assert!(st.success());
    let prefix = lab.vars[2].1.clone();
    let t0 = Instant::now();
    let pid = loop {
        if let Some(p) = tui_pid(&prefix) {
            break p;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the TUI did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // four panels: each command is typed once the TUI says it watches the one before
    const PANELS: [&str; 4] = [
        "map_pcpu_mon",
        "ip6_dst_tbmon_map",
        "ip6_sd_tbmon_map",
        "ip6_hset_srcdst_map",
    ];
    // keys typed before the TUI has its terminal in raw mode are lost: wait for its first
    // frame (the lesson's greeting in the event log)
    wait_screen(&lab.tmux, "the first frame", |s| {
        s.contains("steps: r runs")
    });
    // `:` opens the command line, which stays open after each command; Esc closes it
    for (i, map) in PANELS.iter().enumerate() {
        let open = if i == 0 { ":" } else { "" };
        Command::new("tmux")
            .args([
                "send-keys",
                "-t",
                &lab.tmux,
                open,
                &format!("map watch {map}"),
                "Enter",
            ])
            .status()
            .unwrap();
        wait_screen(&lab.tmux, &format!("watching {map}"), |s| {
            s.lines().any(|l| l.contains("watching") && l.contains(map))
        });
    }
    Command::new("tmux")
        .args(["send-keys", "-t", &lab.tmux, "Escape"])
        .status()
        .unwrap();
    let panels_shown = |what: &str| {
        wait_screen(&lab.tmux, what, |s| PANELS.iter().all(|m| s.contains(m)));
    };
    panels_shown("the four panels");
    let rss_start = rss_kib(pid);

    let before = lab.monitor();
    let mut sent = 0u64;
    let mut rss_max = rss_start;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        let out = Command::new(BIN)
            .args([
                "traffic", "--from", "tg", "--to", "fc01::2", "--udp", "5000", "--count", "100000",
                "--json",
            ])
            .envs(lab.vars.iter().cloned())
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        sent += v["sent"].as_u64().unwrap();
        assert_eq!(v["sent"], v["requested"], "{v}");
        rss_max = rss_max.max(rss_kib(pid));
        assert!(
            tui_pid(&prefix) == Some(pid),
            "the TUI died during the flood"
        );
    }
    let elapsed = start.elapsed().as_secs_f64();
    let after = lab.monitor();
    let counted: u64 = (0..3).map(|i| after[i] - before[i]).sum();
    let rss_end = rss_kib(pid);
    eprintln!(
        "soak: {sent} packets in {elapsed:.1} s = {:.0} pkt/s through the DDoS chain; PASS {} DROP {} REDIRECT {}; TUI RSS {rss_start} KiB at start, {rss_max} KiB max, {rss_end} KiB at the end",
        sent as f64 / elapsed,
        after[0] - before[0],
        after[1] - before[1],
        after[2] - before[2]
    );
    assert_eq!(
        counted, sent,
        "every packet counted exactly once by monitor"
    );
    assert!(
        after[1] - before[1] > sent / 2,
        "the flood is mostly dropped"
    );
    // flat memory: the TUI polls the same maps all along; allow 4 MiB of allocator noise
    assert!(
        rss_max <= rss_start + 4096,
        "TUI memory grew from {rss_start} to {rss_max} KiB"
    );
    panels_shown("the four panels after the flood");
    Command::new("tmux")
        .args(["send-keys", "-t", &lab.tmux, "q", "y"])
        .status()
        .unwrap();
}
