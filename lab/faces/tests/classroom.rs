//! A classroom on one server: ten learner labs side by side (each its own state directory,
//! bpffs root and namespace prefix, as the instructor's guide sets them up), each with the
//! lab's topology and a HIKe script loaded. All ten send traffic at the same time, a different
//! number of packets each, and every lab's counters must hold exactly its own: no lab sees
//! another's packets, programs or maps. Every lab is reset at the end, also when the test
//! fails.

mod common;

use std::process::{Command, Output};

use common::figures::env_vars;
use common::{BIN, leftovers, need_root};
use eclat_kernel::LabEnv;

const LABS: usize = 10;

fn run(env: &LabEnv, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .envs(env_vars(env))
        .output()
        .expect("running eclat-lab")
}

fn ok(env: &LabEnv, args: &[&str]) -> String {
    let o = run(env, args);
    assert!(
        o.status.success(),
        "`eclat-lab {}` in {}: {}{}",
        args.join(" "),
        env.state_dir.display(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The labs, reset and their folders removed when dropped (a failing test included).
struct Classroom(Vec<LabEnv>);

impl Drop for Classroom {
    fn drop(&mut self) {
        std::thread::scope(|s| {
            for env in &self.0 {
                s.spawn(move || {
                    let _ = run(env, &["reset"]);
                    let _ = std::fs::remove_dir_all(&env.state_dir);
                });
            }
        });
    }
}

/// `map_pcpu_mon[key]` of a lab, summed over CPUs.
fn counter(env: &LabEnv, key: u64) -> u64 {
    let out = ok(env, &["--json", "map", "dump", "map_pcpu_mon"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("map dump --json");
    let rows = v
        .get("rows")
        .or_else(|| {
            v.as_object()
                .and_then(|o| o.values().find_map(|x| x.get("rows")))
        })
        .and_then(|r| r.as_array())
        .cloned()
        .unwrap_or_default();
    rows.iter()
        .find(|r| r["key"].as_u64() == Some(key) || r["key"].as_str() == Some(&key.to_string()))
        .and_then(|r| {
            r["value"]
                .as_u64()
                .or_else(|| r["value"].as_str()?.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn ten_labs_each_count_exactly_their_own_traffic() {
    need_root();
    let class = Classroom(
        (0..LABS)
            .map(|i| common::lab("class", "cr", &format!("{i}x")))
            .collect(),
    );
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../lessons/07-first-eclat-script/solution/ports.eclat"
    );
    // every lab up, with lesson 7's ports policy (UDP 6000 dropped, counted as DROP)
    std::thread::scope(|s| {
        for env in &class.0 {
            s.spawn(move || {
                ok(env, &["topo", "up"]);
                ok(env, &["load", script]);
            });
        }
    });
    // all at once: lab i sends 40 + i packets to port 6000, and 20 to port 5000
    std::thread::scope(|s| {
        for (i, env) in class.0.iter().enumerate() {
            s.spawn(move || {
                let n = (40 + i).to_string();
                ok(
                    env,
                    &[
                        "traffic", "--from", "tg", "--to", "fc01::2", "--udp", "6000", "--count",
                        &n,
                    ],
                );
                ok(
                    env,
                    &[
                        "traffic", "--from", "tg", "--to", "fc01::2", "--udp", "5000", "--count",
                        "20",
                    ],
                );
            });
        }
    });
    // the generator is done when the last packet is sent; XDP counts it in the receiver's
    // softirq, which a loaded machine may run a little later: wait for the counts (bounded),
    // then hold them to exactly the expected ones (a lab counting another's packets has more)
    for (i, env) in class.0.iter().enumerate() {
        let want = (40 + i as u64, 20);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut got = (counter(env, 1), counter(env, 0));
        while got != want && got.0 <= want.0 && got.1 <= want.1 {
            if std::time::Instant::now() > deadline {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            got = (counter(env, 1), counter(env, 0));
        }
        assert_eq!(
            got, want,
            "lab {i} ({}): DROP and PASS counters",
            env.ns_prefix
        );
    }
    let envs = class.0.clone();
    drop(class);
    for env in &envs {
        assert!(leftovers(env).is_empty(), "{:?}", leftovers(env));
    }
}
