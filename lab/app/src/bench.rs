//! `eclat-lab bench`: performance figures, each measured side by side with its baseline in
//! the same run, reported as medians and ratios (absolute times drift between machines).

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use eclat_kernel::journal::{Journal, Lifetime};
use eclat_kernel::topology::Topology;
use eclat_kernel::{LabEnv, cleanup, topo, topology, traffic};
use serde::Serialize;
use serde_json::json;

use crate::cli::BenchArgs;
use crate::commands::{Output, Session};

#[derive(Debug, Clone, Serialize)]
pub struct Stat {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

pub fn stat(mut v: Vec<f64>) -> Stat {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return Stat {
            min: 0.0,
            median: 0.0,
            max: 0.0,
        };
    }
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    Stat {
        min: v[0],
        median,
        max: v[v.len() - 1],
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TopoFigures {
    pub runs: u32,
    /// `topo up` of hike-lab until the first echo reply from sut reaches tg
    pub lab_up_and_ping_ms: Stat,
    pub lab_up_ms: Stat,
    pub lab_down_ms: Stat,
    /// the same topology built by a shell script of `ip` commands, then one `ping`
    pub shell_up_and_ping_ms: Option<Stat>,
    pub shell_down_ms: Option<Stat>,
    pub up_ratio_shell_over_lab: Option<f64>,
    pub down_ratio_shell_over_lab: Option<f64>,
}

/// The topology built by hand with `ip`, as a typical lab script would.
pub fn shell_script(t: &Topology, prefix: &str) -> (String, String) {
    let ns = |n: &str| format!("{prefix}{n}");
    let mut up = String::from("set -e\n");
    for n in &t.nodes {
        up.push_str(&format!("ip netns add {}\n", ns(&n.name)));
        up.push_str(&format!(
            "ip netns exec {} sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.default.addr_gen_mode=1\n",
            ns(&n.name)
        ));
        up.push_str(&format!("ip -n {} link set lo up\n", ns(&n.name)));
    }
    for l in &t.links {
        up.push_str(&format!(
            "ip -n {} link add {} address {} type veth peer name {} address {} netns {}\n",
            ns(&l.a.node),
            l.a.dev,
            eclat_kernel::netlink::fmt_mac(&l.a.mac),
            l.b.dev,
            eclat_kernel::netlink::fmt_mac(&l.b.mac),
            ns(&l.b.node)
        ));
        for (e, p) in [(&l.a, &l.b), (&l.b, &l.a)] {
            up.push_str(&format!(
                "ip -n {} link set {} arp off multicast off\n",
                ns(&e.node),
                e.dev
            ));
            for c in &e.addresses {
                let nodad = if c.addr.is_ipv6() { " nodad" } else { "" };
                up.push_str(&format!(
                    "ip -n {} addr add {} dev {}{}\n",
                    ns(&e.node),
                    c,
                    e.dev,
                    nodad
                ));
            }
            for c in &p.addresses {
                up.push_str(&format!(
                    "ip -n {} neigh add {} lladdr {} dev {} nud permanent\n",
                    ns(&e.node),
                    c.addr,
                    eclat_kernel::netlink::fmt_mac(&p.mac),
                    e.dev
                ));
            }
        }
    }
    for n in &t.nodes {
        if n.forwarding {
            up.push_str(&format!(
                "ip netns exec {} sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1\n",
                ns(&n.name)
            ));
        }
    }
    for l in &t.links {
        for e in [&l.a, &l.b] {
            up.push_str(&format!("ip -n {} link set {} up\n", ns(&e.node), e.dev));
        }
    }
    let mut down = String::new();
    for n in &t.nodes {
        down.push_str(&format!("ip netns del {}\n", ns(&n.name)));
    }
    (up, down)
}

fn bash(script: &str) -> Result<f64> {
    let t0 = Instant::now();
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .output()
        .context("running bash")?;
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    if !out.status.success() {
        anyhow::bail!(
            "baseline script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(ms)
}

/// Topology figures: the lab's netlink path vs a shell script of `ip` commands.
pub fn topo_figures(runs: u32) -> Result<TopoFigures> {
    let (src, file) = crate::topologies::source("hike-lab")?;
    let t = topology::parse(&src, &file)?;
    let (tg, target) = ("tg", "fc01::2".parse().expect("address"));
    let (mut up, mut upp, mut down) = (vec![], vec![], vec![]);
    for _ in 0..runs {
        let env = LabEnv::for_test("bench");
        let mut j = Journal::open(&env.state_dir)?;
        let r = (|| -> Result<()> {
            let t0 = Instant::now();
            topo::up(&env, &mut j, &t, &src, Lifetime::Persistent)?;
            let t_up = t0.elapsed();
            let spec = traffic::Spec {
                from: tg.into(),
                to: Some(target),
                kind: traffic::Kind::Icmp,
                count: Some(1),
                rate: None,
                reply_wait: Duration::from_secs(1),
            };
            let rep = traffic::send(&env, &spec, &AtomicU64::new(0), &AtomicBool::new(false))?;
            let t_ping = t0.elapsed();
            anyhow::ensure!(
                rep.replies == Some(1),
                "no echo reply from {target} right after topo up"
            );
            up.push(t_up.as_secs_f64() * 1000.0);
            upp.push(t_ping.as_secs_f64() * 1000.0);
            let t1 = Instant::now();
            topo::down(&env, &mut j)?;
            down.push(t1.elapsed().as_secs_f64() * 1000.0);
            Ok(())
        })();
        let _ = cleanup::reset(&env, &mut j);
        let _ = std::fs::remove_dir_all(&env.state_dir);
        r?;
    }
    let have_ip = Command::new("ip").arg("-V").output().is_ok();
    let (mut sup, mut sdown) = (vec![], vec![]);
    if have_ip {
        for i in 0..runs {
            let prefix = format!("elb{}x{i}-", std::process::id() % 0xffff);
            let (u, d) = shell_script(&t, &prefix);
            let ping = format!("ip netns exec {prefix}tg ping -6 -c 1 -W 1 {target} > /dev/null\n");
            let r = bash(&format!("{u}{ping}"));
            let rd = bash(&d);
            // always clean up the baseline's namespaces, even after a failure
            let _ = bash(&format!("{d}").replace("ip netns del", "ip netns del 2>/dev/null"));
            sup.push(r?);
            sdown.push(rd?);
        }
    }
    let lab_upp = stat(upp);
    let lab_down = stat(down);
    let s_up = have_ip.then(|| stat(sup));
    let s_down = have_ip.then(|| stat(sdown));
    Ok(TopoFigures {
        runs,
        up_ratio_shell_over_lab: s_up.as_ref().map(|s| s.median / lab_upp.median),
        down_ratio_shell_over_lab: s_down.as_ref().map(|s| s.median / lab_down.median),
        lab_up_and_ping_ms: lab_upp,
        lab_up_ms: stat(up),
        lab_down_ms: lab_down,
        shell_up_and_ping_ms: s_up,
        shell_down_ms: s_down,
    })
}

pub fn run(_session: &Session, args: BenchArgs) -> Result<Output> {
    let topo = topo_figures(args.runs.max(1))?;
    let mut text = String::from("eclat-lab bench (medians; min..max in brackets)\n\n");
    text.push_str("topology hike-lab (3 nodes, 3 links)                 lab (netlink)            shell script (ip)        ratio\n");
    let row = |name: &str, lab: &Stat, sh: &Option<Stat>, ratio: Option<f64>| {
        format!(
            "  {:<50} {:>7.2} ms [{:.1}..{:.1}]  {:>8}  {}\n",
            name,
            lab.median,
            lab.min,
            lab.max,
            sh.as_ref()
                .map(|s| format!("{:.2} ms", s.median))
                .unwrap_or_else(|| "-".into()),
            ratio.map(|r| format!("{r:.1}x faster")).unwrap_or_default()
        )
    };
    text.push_str(&row(
        "up, until the first ping reply (target <= 50 ms)",
        &topo.lab_up_and_ping_ms,
        &topo.shell_up_and_ping_ms,
        topo.up_ratio_shell_over_lab,
    ));
    text.push_str(&row("up (netlink work only)", &topo.lab_up_ms, &None, None));
    text.push_str(&row(
        "down (target <= 30 ms)",
        &topo.lab_down_ms,
        &topo.shell_down_ms,
        topo.down_ratio_shell_over_lab,
    ));
    Ok(Output::new(text.trim_end(), json!({ "topology": topo })))
}
