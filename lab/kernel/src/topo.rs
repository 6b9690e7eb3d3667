//! Building and removing a [`Topology`] in the kernel: one network namespace per node, quiet
//! veth links created straight inside the namespaces (never in the host's), addresses,
//! static neighbours, routes and sysctls, all through netlink. Every namespace is recorded
//! in the journal before it exists; a failure half-way removes what was made.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::LabEnv;
use crate::journal::{Journal, JournalError, Lifetime, Resource};
use crate::netlink::{Netlink, NetlinkError};
use crate::netns::{self, NetnsError};
use crate::nodes::{NodeError, current};
use eclat_model::mac::fmt_mac;
use eclat_model::topology::{Topology, TopologyError};

#[derive(Debug, thiserror::Error)]
pub enum TopoError {
    #[error(transparent)]
    Netns(#[from] NetnsError),
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    File(#[from] TopologyError),
    #[error(transparent)]
    Nodes(#[from] NodeError),
    #[error("node `{node}`: {what}: {err}")]
    Node {
        node: String,
        what: String,
        err: std::io::Error,
    },
    #[error("topology `{up}` is already up; run `eclat-lab topo down` first")]
    OtherUp { up: String },
}

/// Sysctls every lab namespace gets before any link exists, so links are quiet: no
/// duplicate address detection, no router solicitations, no autoconfiguration, no
/// link-local addresses (and so nothing to announce).
const QUIET: &[(&str, &str)] = &[
    ("net.ipv6.conf.all.accept_dad", "0"),
    ("net.ipv6.conf.default.accept_dad", "0"),
    ("net.ipv6.conf.all.dad_transmits", "0"),
    ("net.ipv6.conf.default.dad_transmits", "0"),
    ("net.ipv6.conf.all.router_solicitations", "0"),
    ("net.ipv6.conf.default.router_solicitations", "0"),
    ("net.ipv6.conf.all.accept_ra", "0"),
    ("net.ipv6.conf.default.accept_ra", "0"),
    ("net.ipv6.conf.all.autoconf", "0"),
    ("net.ipv6.conf.default.autoconf", "0"),
    ("net.ipv6.conf.default.addr_gen_mode", "1"),
    ("net.ipv6.conf.all.ndisc_notify", "0"),
];

/// What `topo up` did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct UpReport {
    /// the name of the topology that is up
    pub topology: String,
    /// its nodes' names, in the file's order (each is a network namespace)
    pub nodes: Vec<String>,
    /// how many veth pairs the topology has
    pub links: usize,
    /// how many IP addresses were added to interfaces; 0 when `already_up`
    pub addresses: usize,
    /// how many static neighbour entries were added (each end learns every address of its peer); 0
    /// when `already_up`
    pub neighbours: usize,
    /// how long bringing the topology up took (wall time), in microseconds
    pub elapsed_us: u64,
    /// true when the same topology was already up, complete, and nothing was done
    pub already_up: bool,
    /// what the kernel lacked of the topology recorded as up, which was then rebuilt
    pub rebuilt: Vec<String>,
}

struct Made {
    name: String,
    ino: u64,
    fd: OwnedFd,
    nl: Netlink,
}

/// Brings `topo` up and confirms it as `life` (the whole of it: a caller that attaches the
/// file's XDP programs uses [`build`], attaches, then commits).
pub fn up(
    env: &LabEnv,
    journal: &mut Journal,
    topo: &Topology,
    src: &str,
    life: Lifetime,
) -> Result<UpReport, TopoError> {
    let r = build(env, journal, topo, src)?;
    journal.commit(life)?;
    Ok(r)
}

/// Builds `topo` (`src` is the file's text, kept in the state directory), its namespaces
/// recorded as provisional: until the caller commits, a kill leaves a leftover the next
/// start removes whole. When the same topology is recorded as up, the kernel is checked:
/// complete (XDP programs aside, see [`xdp_gaps`]) it is left as it is (`already_up`);
/// otherwise it is taken down and built anew (`rebuilt` says what was missing).
pub fn build(
    env: &LabEnv,
    journal: &mut Journal,
    topo: &Topology,
    src: &str,
) -> Result<UpReport, TopoError> {
    let t0 = Instant::now();
    let mut rebuilt = Vec::new();
    if let Some(cur) = current(env)? {
        let all_there = cur
            .nodes
            .iter()
            .all(|n| netns::inode(&env.ns_name(&n.name)).is_some());
        if cur.name == topo.name {
            rebuilt = structural_gaps(env, &cur);
            if rebuilt.is_empty() {
                return Ok(UpReport {
                    topology: topo.name.clone(),
                    nodes: topo.nodes.iter().map(|n| n.name.clone()).collect(),
                    links: topo.links.len(),
                    addresses: 0,
                    neighbours: 0,
                    elapsed_us: t0.elapsed().as_micros() as u64,
                    already_up: true,
                    rebuilt,
                });
            }
        } else if all_there {
            return Err(TopoError::OtherUp { up: cur.name });
        }
        // incomplete, or a stale state file (namespaces gone): take it down, build anew
        down(env, journal)?;
    }
    // refuse before creating anything if a name is taken by someone else
    let ours: Vec<String> = journal
        .entries()?
        .into_iter()
        .filter_map(|e| match e.res {
            Resource::Netns { name, .. } => Some(name),
            _ => None,
        })
        .collect();
    for n in &topo.nodes {
        let name = env.ns_name(&n.name);
        if netns::path(&name).exists() && !ours.contains(&name) {
            return Err(NetnsError::Foreign { name }.into());
        }
    }

    let mut made: Vec<Made> = Vec::new();
    let result = make(env, journal, topo, &mut made);
    match result {
        Ok((addresses, neighbours)) => {
            crate::perms::write_file(
                &env.topology_state_path(),
                src.as_bytes(),
                crate::perms::FILE_MODE,
            )
            .map_err(|err| TopoError::Node {
                node: "-".into(),
                what: format!("write {}", env.topology_state_path().display()),
                err,
            })?;
            Ok(UpReport {
                topology: topo.name.clone(),
                nodes: topo.nodes.iter().map(|n| n.name.clone()).collect(),
                links: topo.links.len(),
                addresses,
                neighbours,
                elapsed_us: t0.elapsed().as_micros() as u64,
                already_up: false,
                rebuilt,
            })
        }
        Err(e) => {
            // leave nothing half-made
            for m in made.into_iter().rev() {
                drop(m.nl);
                drop(m.fd);
                if netns::unregister(&m.name, m.ino).is_ok() {
                    let _ = journal.del(&Resource::Netns {
                        name: m.name,
                        ino: m.ino,
                    });
                }
            }
            Err(e)
        }
    }
}

fn make(
    env: &LabEnv,
    journal: &mut Journal,
    topo: &Topology,
    made: &mut Vec<Made>,
) -> Result<(usize, usize), TopoError> {
    let node_err = |node: &str, what: &str| {
        let node = node.to_string();
        let what = what.to_string();
        move |err| TopoError::Node { node, what, err }
    };
    // 1. namespaces, quiet before any link exists
    for n in &topo.nodes {
        let name = env.ns_name(&n.name);
        let ns = netns::create_unnamed().map_err(node_err(&n.name, "create network namespace"))?;
        journal.add(
            Resource::Netns {
                name: name.clone(),
                ino: ns.ino,
            },
            Lifetime::Provisional,
        )?;
        netns::register(&name, &ns)?;
        let nl = netns::in_netns(&ns.fd, || -> Result<Netlink, TopoError> {
            for (k, v) in QUIET {
                netns::write_sysctl(k, v).map_err(node_err(&n.name, "sysctl"))?;
            }
            let mut nl = Netlink::open()?;
            nl.set_up(1, true)?; // loopback is always ifindex 1 in a new namespace
            Ok(nl)
        })
        .map_err(node_err(&n.name, "enter namespace"))??;
        made.push(Made {
            name,
            ino: ns.ino,
            fd: ns.fd,
            nl,
        });
        crate::crash_point(&format!("topo-up:netns-{}", made.len()));
    }
    let idx_of = |node: &str| {
        topo.nodes
            .iter()
            .position(|n| n.name == node)
            .expect("validated")
    };

    // 2. veth pairs, created inside the a-side namespace with the peer placed directly in
    //    the b-side namespace: no lab interface ever exists in the host's namespace. The
    //    interface indexes are the ones a fresh namespace hands out in creation order
    //    (lessons rely on them, e.g. sut's cl0 is 4), except that the two ends of a cable
    //    never share one: the kernel treats a veth whose index equals its peer's as an
    //    ordinary device and activates it lazily (up to a second after `up`).
    let ifindexes = ifindexes(topo, &idx_of);
    for (l, (xa, xb)) in topo.links.iter().zip(&ifindexes) {
        let (ia, ib) = (idx_of(&l.a.node), idx_of(&l.b.node));
        let peer_fd = made[ib]
            .fd
            .try_clone()
            .map_err(node_err(&l.b.node, "dup namespace fd"))?;
        made[ia].nl.add_veth(
            &l.a.dev,
            Some(l.a.mac),
            &l.b.dev,
            Some(l.b.mac),
            Some(peer_fd.as_fd()),
            Some((*xa, *xb)),
        )?;
        crate::crash_point("topo-up:veth");
    }

    // 3. indices, addresses, static neighbours (each end knows every address of its peer)
    let mut index: BTreeMap<(usize, String), u32> = BTreeMap::new();
    for (i, m) in made.iter_mut().enumerate() {
        for link in m.nl.links()? {
            index.insert((i, link.name), link.index);
        }
    }
    // an interface the kernel named otherwise than asked is an error, never a panic
    let ifindex_of = |i: usize, dev: &str| -> Result<u32, TopoError> {
        index
            .get(&(i, dev.to_string()))
            .copied()
            .ok_or_else(|| TopoError::Node {
                node: topo.nodes[i].name.clone(),
                what: format!("find interface `{dev}` after creating it"),
                err: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "the kernel has no interface of that name",
                ),
            })
    };
    let (mut addresses, mut neighbours) = (0, 0);
    for l in &topo.links {
        for (end, peer) in [(&l.a, &l.b), (&l.b, &l.a)] {
            let i = idx_of(&end.node);
            let ifindex = ifindex_of(i, &end.dev)?;
            for c in &end.addresses {
                made[i].nl.add_addr(ifindex, c.addr, c.prefix_len)?;
                addresses += 1;
            }
            for c in &peer.addresses {
                made[i].nl.add_neigh(ifindex, c.addr, peer.mac)?;
                neighbours += 1;
            }
        }
    }

    // 4. forwarding and the nodes' own sysctls. Forwarding comes after the links exist with
    //    multicast off: enabling it on a multicast link would join all-routers groups and
    //    send MLD reports.
    for (i, n) in topo.nodes.iter().enumerate() {
        let mut kv: Vec<(String, String)> = Vec::new();
        if n.forwarding {
            kv.push(("net.ipv4.ip_forward".into(), "1".into()));
            kv.push(("net.ipv6.conf.all.forwarding".into(), "1".into()));
        }
        kv.extend(n.sysctls.iter().cloned());
        if !kv.is_empty() {
            netns::in_netns(&made[i].fd, || -> Result<(), TopoError> {
                for (k, v) in &kv {
                    netns::write_sysctl(k, v).map_err(node_err(&n.name, "sysctl"))?;
                }
                Ok(())
            })
            .map_err(node_err(&n.name, "enter namespace"))??;
        }
    }

    // 5. links up, then routes (a route through a down link is refused)
    for l in &topo.links {
        for end in [&l.a, &l.b] {
            let i = idx_of(&end.node);
            let ifindex = ifindex_of(i, &end.dev)?;
            made[i].nl.set_up(ifindex, true)?;
        }
    }
    crate::crash_point("topo-up:links-up");
    // The kernel activates a link's queueing discipline when its link watcher sees the
    // carrier, asynchronously (later under load): a packet sent before is silently dropped,
    // so a learner's first ping could be lost. Wait until every lab link is operationally
    // up: the watcher sets that state and activates the qdisc in one step. (IFF_RUNNING
    // alone does not do: a new link reports it as soon as it is up, while its state is still
    // "unknown" to the watcher, and under load the first pings were dropped.) The link
    // watcher needs the RTNL lock, which other namespace work (another lab's teardown,
    // parallel tests) can hold for seconds: the deadline is generous, and costs nothing
    // when the links come up at once (the usual few milliseconds).
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    for (i, m) in made.iter_mut().enumerate() {
        let mine: Vec<u32> = index
            .iter()
            .filter(|((n, _), _)| *n == i)
            .map(|(_, ix)| *ix)
            .collect();
        loop {
            let links = m.nl.links()?;
            let all = mine
                .iter()
                .all(|ix| links.iter().any(|l| l.index == *ix && l.ready()));
            if all || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }
    for r in &topo.routes {
        let i = idx_of(&r.node);
        let oif = r.dev.as_ref().map(|d| ifindex_of(i, d)).transpose()?;
        made[i]
            .nl
            .add_route(r.to.addr, r.to.prefix_len, r.via, oif)?;
    }
    Ok((addresses, neighbours))
}

/// What `topo down` removed.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DownReport {
    /// the name of the topology that was up; null when none was
    pub topology: Option<String>,
    /// the network namespaces removed (their full names, with the instance's prefix); their
    /// interfaces and XDP attachments went with them; empty when nothing was up
    pub removed: Vec<String>,
    /// wall time of the teardown, in microseconds
    pub elapsed_us: u64,
}

/// Removes the namespaces of the current topology (their links and XDP attachments go with
/// them) and the pinned links that pointed into them. The state file is renamed to
/// `topology.down.toml` first: a kill half-way leaves no `topology.toml` (no topology
/// that looks up), and the next start finishes the removal ([`finish_down`]).
pub fn down(env: &LabEnv, journal: &mut Journal) -> Result<DownReport, TopoError> {
    let t0 = Instant::now();
    let (state, going) = (env.topology_state_path(), env.topology_down_path());
    let state_err = |path: &std::path::Path| {
        let what = format!("rename {}", path.display());
        move |err| TopoError::Node {
            node: "-".into(),
            what,
            err,
        }
    };
    if state.exists() {
        std::fs::rename(&state, &going).map_err(state_err(&state))?;
    }
    let cur = crate::nodes::recorded(&going)?;
    let mut removed = Vec::new();
    if let Some(t) = &cur {
        let names: Vec<String> = t.nodes.iter().map(|n| env.ns_name(&n.name)).collect();
        for e in journal.entries()? {
            if let Resource::Netns { name, ino } = &e.res
                && names.contains(name)
            {
                netns::unregister(name, *ino)?;
                journal.del(&e.res)?;
                removed.push(name.clone());
                crate::crash_point(&format!("topo-down:netns-{}", removed.len()));
            }
        }
        crate::xdp::forget_links_of(
            env,
            journal,
            &t.nodes.iter().map(|n| n.name.clone()).collect::<Vec<_>>(),
        )?;
    }
    match std::fs::remove_file(&going) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(state_err(&going)(e));
        }
        _ => {}
    }
    Ok(DownReport {
        topology: cur.map(|t| t.name),
        removed,
        elapsed_us: t0.elapsed().as_micros() as u64,
    })
}

/// Finishes a `topo down` that was killed half-way (its `topology.down.toml` is still
/// there). Returns what it removed.
pub fn finish_down(env: &LabEnv, journal: &mut Journal) -> Result<Vec<String>, TopoError> {
    if !env.topology_down_path().exists() {
        return Ok(Vec::new());
    }
    Ok(down(env, journal)?
        .removed
        .into_iter()
        .map(|n| format!("namespace {n} (an interrupted `topo down`)"))
        .collect())
}

/// What the kernel lacks of `t` besides XDP programs: namespaces, interfaces, links up.
/// Empty when the topology is whole.
pub fn structural_gaps(env: &LabEnv, t: &Topology) -> Vec<String> {
    gaps(env, t).0
}

/// The ends of `t` whose topology file attaches an XDP program and that have none in the
/// kernel: `(node, dev, program)`. `topo up` attaches them (it completes the topology).
pub fn xdp_gaps(env: &LabEnv, t: &Topology) -> Vec<(String, String, String)> {
    gaps(env, t).1
}

type Gaps = (Vec<String>, Vec<(String, String, String)>);

fn gaps(env: &LabEnv, t: &Topology) -> Gaps {
    let (mut structural, mut xdp) = (Vec::new(), Vec::new());
    for n in &t.nodes {
        let ns = env.ns_name(&n.name);
        let Ok(fd) = netns::open(&ns) else {
            structural.push(format!("namespace {ns} (node {}) is missing", n.name));
            continue;
        };
        let links = match netns::in_netns(&fd, || Netlink::open()?.links()) {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => {
                structural.push(format!("node {}: {e}", n.name));
                continue;
            }
            Err(e) => {
                structural.push(format!("node {}: {e}", n.name));
                continue;
            }
        };
        for (end, _) in t.ends_of(&n.name) {
            match links.iter().find(|l| l.name == end.dev) {
                None => structural.push(format!("interface {}:{} is missing", n.name, end.dev)),
                Some(l) if !l.up => {
                    structural.push(format!("interface {}:{} is down", n.name, end.dev))
                }
                Some(l) => {
                    if let Some(p) = &end.xdp
                        && l.xdp_prog_id.is_none()
                    {
                        xdp.push((n.name.clone(), end.dev.clone(), p.clone()));
                    }
                }
            }
        }
    }
    (structural, xdp)
}

/// The kernel's view of one interface of the topology.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct IfStatus {
    /// the interface's name in the node's namespace
    pub dev: String,
    /// the other end of its veth pair, as `node:dev`
    pub peer: String,
    /// the interface's MAC address as the kernel has it, `00:00:00:00:01:00`; empty when the kernel
    /// reports none
    pub mac: String,
    /// the interface is administratively up (`IFF_UP`)
    pub up: bool,
    /// the interface sends nothing on its own: no ARP or neighbour discovery and multicast off (the
    /// lab's setting, so counters only see the traffic you send)
    pub quiet: bool,
    /// its IP addresses as `addr/prefix`, read back from the kernel, without IPv6 link-local ones
    pub addresses: Vec<String>,
    /// how many static (permanent) neighbour entries it has
    pub neighbours: usize,
    /// the kernel's ID of the XDP program attached to it; null when none is
    pub xdp_prog_id: Option<u32>,
    /// `driver` or `generic` (skb) when a program is attached
    pub xdp_mode: Option<String>,
    /// Name of the program attached, when the lab attached it.
    pub xdp_prog: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct NodeStatus {
    /// the node's name in the topology file
    pub node: String,
    /// the name of its network namespace (the instance's prefix and the node's name), as `ip netns`
    /// lists it
    pub netns: String,
    /// true when the namespace exists; false means it was deleted outside the lab (see `problems`)
    pub present: bool,
    /// whether the topology file turns IP forwarding on for the node (what was asked, not read
    /// back)
    pub forwarding: bool,
    /// the node's interfaces from the topology, as the kernel reports them; an interface the kernel
    /// lacks is left out and named in `problems`
    pub interfaces: Vec<IfStatus>,
    /// what does not match the topology (a missing namespace or interface, an error reading the
    /// kernel), with what to do; empty when all is well
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Status {
    /// the name of the topology that is up; null when none is
    pub topology: Option<String>,
    /// one entry per node of the topology, in the file's order; empty when no topology is up
    pub nodes: Vec<NodeStatus>,
    /// every namespace, interface and file-attached XDP program is there (a topology is
    /// up only when all of it is)
    pub complete: bool,
}

/// Reads the state of the current topology back from the kernel.
pub fn status(env: &LabEnv) -> Result<Status, TopoError> {
    let Some(t) = current(env)? else {
        return Ok(Status {
            topology: None,
            nodes: vec![],
            complete: false,
        });
    };
    let attached = crate::xdp::attachments(env);
    let mut nodes = Vec::new();
    for n in &t.nodes {
        let ns = env.ns_name(&n.name);
        let mut st = NodeStatus {
            node: n.name.clone(),
            netns: ns.clone(),
            present: false,
            forwarding: n.forwarding,
            interfaces: vec![],
            problems: vec![],
        };
        let fd = match netns::open(&ns) {
            Ok(fd) => fd,
            Err(_) => {
                st.problems.push(format!("namespace {ns} is missing (deleted behind the lab's back?): `eclat-lab topo up` rebuilds the topology"));
                nodes.push(st);
                continue;
            }
        };
        st.present = true;
        let kernel = netns::in_netns(&fd, || -> Result<_, NetlinkError> {
            let mut nl = Netlink::open()?;
            Ok((nl.links()?, nl.addrs()?, nl.neighbours()?))
        });
        let (links, addrs, neighs) = match kernel {
            Ok(Ok(k)) => k,
            Ok(Err(e)) => {
                st.problems.push(e.to_string());
                nodes.push(st);
                continue;
            }
            Err(e) => {
                st.problems.push(e.to_string());
                nodes.push(st);
                continue;
            }
        };
        for (end, peer) in t.ends_of(&n.name) {
            let Some(l) = links.iter().find(|l| l.name == end.dev) else {
                st.problems.push(format!(
                    "interface {} is missing (`eclat-lab topo up` rebuilds the topology)",
                    end.dev
                ));
                continue;
            };
            let addresses: Vec<String> = addrs
                .iter()
                .filter(|a| a.index == l.index && !is_link_local(a.addr))
                .map(|a| format!("{}/{}", a.addr, a.prefix_len))
                .collect();
            let prog = attached
                .iter()
                .find(|a| a.node == n.name && a.dev == end.dev)
                .map(|a| a.program.clone());
            if let Some(p) = &end.xdp
                && l.xdp_prog_id.is_none()
            {
                st.problems.push(format!(
                    "{} has no XDP program: the topology file attaches {p} there \
                     (`eclat-lab topo up` completes the topology)",
                    end.dev
                ));
            }
            if !l.up {
                st.problems.push(format!(
                    "interface {} is down (`eclat-lab topo up` rebuilds the topology)",
                    end.dev
                ));
            }
            st.interfaces.push(IfStatus {
                dev: end.dev.clone(),
                peer: format!("{}:{}", peer.node, peer.dev),
                mac: l.mac.as_ref().map(fmt_mac).unwrap_or_default(),
                up: l.up,
                quiet: l.noarp && !l.multicast,
                addresses,
                neighbours: neighs
                    .iter()
                    .filter(|x| x.index == l.index && x.permanent)
                    .count(),
                xdp_prog_id: l.xdp_prog_id,
                xdp_mode: l.xdp_mode.map(String::from),
                xdp_prog: prog,
            });
        }
        nodes.push(st);
    }
    let complete = nodes.iter().all(|n| n.present && n.problems.is_empty());
    Ok(Status {
        topology: Some(t.name),
        nodes,
        complete,
    })
}

fn is_link_local(a: IpAddr) -> bool {
    match a {
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
        IpAddr::V4(_) => false,
    }
}

/// Time budget helpers for reports.
pub fn ms(us: u64) -> f64 {
    Duration::from_micros(us).as_secs_f64() * 1000.0
}

/// The interface index of each end of each link (a, b): what a fresh namespace would give
/// in creation order (2, 3, ... after the loopback), with the a end moved up by 1000 where
/// both ends would share one.
fn ifindexes(topo: &Topology, idx_of: &dyn Fn(&str) -> usize) -> Vec<(u32, u32)> {
    let mut next = vec![2u32; topo.nodes.len()];
    let mut out = Vec::new();
    for l in &topo.links {
        let (ia, ib) = (idx_of(&l.a.node), idx_of(&l.b.node));
        let a = next[ia];
        next[ia] += 1;
        let b = next[ib];
        next[ib] += 1;
        out.push((if a == b { a + 1000 } else { a }, b));
    }
    out
}
