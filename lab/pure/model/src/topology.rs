//! Topology files (`netns/*.toml`): nodes, veth links with names, MACs and addresses,
//! routes and sysctls. Pure: parsing and validation only, with line:column in every error.
//! Static neighbours are derived from the links: each end learns every address of the other.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::mac::parse_mac;

/// Linux's limit on interface names (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Topology {
    /// the topology's name, from the file's `name` key (`hike-lab`, `pair`)
    pub name: String,
    /// one line on what the topology is for, from the file's `description` key; empty when
    /// the file has none
    pub description: String,
    /// the nodes (each a network namespace), in the order of the file's `[[node]]` tables
    pub nodes: Vec<Node>,
    /// the veth pairs between nodes, in the order of the file's `[[link]]` tables
    pub links: Vec<Link>,
    /// the static routes, in the order of the file's `[[route]]` tables; empty when it has none
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Node {
    /// the node's name in the topology file (1-12 characters of a-z, 0-9, `-`, `_`); its
    /// network namespace is named this after the instance's prefix (`ECLAT_LAB_NS_PREFIX`,
    /// empty by default)
    pub name: String,
    /// what the node plays in the lab (`traffic generator`); empty when the file gives none
    pub description: String,
    /// IPv4 and IPv6 forwarding.
    pub forwarding: bool,
    /// extra `net.*` sysctls set in the node's namespace, as `[name, value]` pairs sorted by
    /// name; booleans in the file become `"0"`/`"1"`, integers their decimal text
    pub sysctls: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Link {
    /// the first end of the veth pair (the file's `a`)
    pub a: End,
    /// the other end (the file's `b`)
    pub b: End,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct End {
    /// the node this end of the link lives on
    pub node: String,
    /// the interface name inside that node's namespace (at most 15 characters, not `lo`)
    pub dev: String,
    /// the interface's MAC address as six bytes (integers 0-255), unique in the topology
    pub mac: [u8; 6],
    /// the IPv4 and IPv6 addresses given to the interface, with their prefix lengths; empty
    /// when the file gives none
    pub addresses: Vec<Cidr>,
    /// a prebuilt XDP program attached when the topology comes up (e.g. `xdp_pass` on a
    /// collector: XDP_REDIRECT into a veth needs an XDP program on the receiving peer)
    pub xdp: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Cidr {
    /// the address, IPv4 (`10.12.1.1`) or IPv6 (`fc01::1`)
    pub addr: IpAddr,
    /// the prefix length in bits: 0-32 for IPv4, 0-128 for IPv6
    pub prefix_len: u8,
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, l) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` needs a prefix length, like `{s}/64`"))?;
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("`{a}` is not an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix_len: u8 = l
            .parse()
            .ok()
            .filter(|&p: &u8| p <= max)
            .ok_or_else(|| format!("prefix length `{l}` must be 0..={max}"))?;
        Ok(Self { addr, prefix_len })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Route {
    /// the node whose routing table gets the route
    pub node: String,
    /// the destination prefix
    pub to: Cidr,
    /// the gateway, of the same IP version as `to`; null for a route through `dev` only
    pub via: Option<IpAddr>,
    /// the node's interface the route leaves by; null when only `via` is given (then the
    /// kernel picks the interface that reaches the gateway)
    pub dev: Option<String>,
}

impl Topology {
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Every interface end that lives on `node`.
    pub fn ends_of<'a>(&'a self, node: &'a str) -> impl Iterator<Item = (&'a End, &'a End)> + 'a {
        self.links.iter().flat_map(move |l| {
            let mut v = Vec::new();
            if l.a.node == node {
                v.push((&l.a, &l.b));
            }
            if l.b.node == node {
                v.push((&l.b, &l.a));
            }
            v
        })
    }

    /// The end `node:dev`, with its peer.
    pub fn end<'a>(&'a self, node: &'a str, dev: &str) -> Option<(&'a End, &'a End)> {
        self.ends_of(node).find(|(e, _)| e.dev == dev)
    }

    /// Which node owns `addr`, and on which end.
    pub fn owner_of(&self, addr: IpAddr) -> Option<&End> {
        self.links
            .iter()
            .flat_map(|l| [&l.a, &l.b])
            .find(|e| e.addresses.iter().any(|c| c.addr == addr))
    }
}

/// A topology file error, with the position it points at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{col}: {message}")]
pub struct TopologyError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

// ---- the file format -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTopo {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default, rename = "node")]
    nodes: Vec<Spanned<FileNode>>,
    #[serde(default, rename = "link")]
    links: Vec<Spanned<FileLink>>,
    #[serde(default, rename = "route")]
    routes: Vec<Spanned<FileRoute>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileNode {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    forwarding: bool,
    #[serde(default)]
    sysctls: std::collections::BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLink {
    a: Spanned<FileEnd>,
    b: Spanned<FileEnd>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEnd {
    node: Spanned<String>,
    dev: Spanned<String>,
    mac: Spanned<String>,
    #[serde(default)]
    addresses: Vec<Spanned<String>>,
    #[serde(default)]
    xdp: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRoute {
    node: Spanned<String>,
    to: Spanned<String>,
    via: Option<Spanned<String>>,
    dev: Option<Spanned<String>>,
}

fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// Parses and validates a topology file. `file` is used in error messages only.
pub fn parse(src: &str, file: &str) -> Result<Topology, TopologyError> {
    let err_at = |offset: usize, message: String| {
        let (line, col) = line_col(src, offset);
        TopologyError {
            file: file.to_string(),
            line,
            col,
            message,
        }
    };
    let raw: FileTopo = toml::from_str(src).map_err(|e| {
        let off = e.span().map(|s| s.start).unwrap_or(0);
        err_at(off, e.message().to_string())
    })?;

    let mut nodes = Vec::new();
    let mut names = BTreeSet::new();
    for n in &raw.nodes {
        let n = n.get_ref();
        let name = n.name.get_ref();
        if !valid_name(name) {
            return Err(err_at(
                n.name.span().start,
                format!("node name `{name}` must be 1-12 characters of a-z, 0-9, `-` or `_`"),
            ));
        }
        if !names.insert(name.clone()) {
            return Err(err_at(
                n.name.span().start,
                format!("node `{name}` is defined twice"),
            ));
        }
        let mut sysctls = Vec::new();
        for (k, v) in &n.sysctls {
            let v = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => (*b as u8).to_string(),
                _ => {
                    return Err(err_at(
                        n.name.span().start,
                        format!(
                            "sysctl `{k}` of node `{name}` must be a string, integer or boolean"
                        ),
                    ));
                }
            };
            if !k.starts_with("net.") || k.contains("..") || k.contains('/') {
                return Err(err_at(
                    n.name.span().start,
                    format!(
                        "sysctl `{k}` of node `{name}`: only network sysctls (`net.*`) belong to a namespace"
                    ),
                ));
            }
            sysctls.push((k.clone(), v));
        }
        nodes.push(Node {
            name: name.clone(),
            description: n.description.clone(),
            forwarding: n.forwarding,
            sysctls,
        });
    }
    if nodes.is_empty() {
        return Err(err_at(0, "a topology needs at least one [[node]]".into()));
    }

    let mut devs: BTreeSet<(String, String)> = BTreeSet::new();
    let mut macs: BTreeSet<[u8; 6]> = BTreeSet::new();
    let mut links = Vec::new();
    for l in &raw.links {
        let l = l.get_ref();
        let mut end = |e: &Spanned<FileEnd>| -> Result<End, TopologyError> {
            let e = e.get_ref();
            let node = e.node.get_ref();
            if !names.contains(node) {
                return Err(err_at(
                    e.node.span().start,
                    format!(
                        "link end names node `{node}`, which no [[node]] defines (known: {})",
                        join(&names)
                    ),
                ));
            }
            let dev = e.dev.get_ref();
            if !valid_ifname(dev) {
                return Err(err_at(
                    e.dev.span().start,
                    format!(
                        "interface name `{}` must be 1-{IFNAME_MAX} printable ASCII characters \
                         without `/`, `:`, `%` or spaces, and not `lo`, `.` or `..` (the kernel \
                         would refuse it, or read `%d` as a pattern and pick a name itself)",
                        dev.escape_debug()
                    ),
                ));
            }
            if !devs.insert((node.clone(), dev.clone())) {
                return Err(err_at(
                    e.dev.span().start,
                    format!("interface `{node}:{dev}` is defined twice"),
                ));
            }
            let mac = parse_mac(e.mac.get_ref()).ok_or_else(|| {
                err_at(
                    e.mac.span().start,
                    format!(
                        "`{}` is not a MAC address like 00:00:00:00:01:00",
                        e.mac.get_ref()
                    ),
                )
            })?;
            if mac[0] & 1 == 1 {
                return Err(err_at(
                    e.mac.span().start,
                    "a multicast MAC cannot be an interface's address".into(),
                ));
            }
            if !macs.insert(mac) {
                return Err(err_at(
                    e.mac.span().start,
                    format!("MAC {} is used twice", e.mac.get_ref()),
                ));
            }
            let mut addresses = Vec::new();
            for a in &e.addresses {
                addresses.push(Cidr::parse(a.get_ref()).map_err(|m| err_at(a.span().start, m))?);
            }
            let xdp = match &e.xdp {
                Some(x) => {
                    let name = x.get_ref();
                    if crate::prebuilt::find(name).is_none() {
                        return Err(err_at(
                            x.span().start,
                            format!(
                                "no prebuilt XDP program `{name}` (prebuilt: {})",
                                crate::prebuilt::names()
                            ),
                        ));
                    }
                    Some(name.clone())
                }
                None => None,
            };
            Ok(End {
                node: node.clone(),
                dev: dev.clone(),
                mac,
                addresses,
                xdp,
            })
        };
        let a = end(&l.a)?;
        let b = end(&l.b)?;
        links.push(Link { a, b });
    }

    let mut routes = Vec::new();
    for r in &raw.routes {
        let r = r.get_ref();
        let node = r.node.get_ref();
        if !names.contains(node) {
            return Err(err_at(
                r.node.span().start,
                format!("route for unknown node `{node}` (known: {})", join(&names)),
            ));
        }
        let to = Cidr::parse(r.to.get_ref()).map_err(|m| err_at(r.to.span().start, m))?;
        let via = match &r.via {
            Some(v) => Some(v.get_ref().parse::<IpAddr>().map_err(|_| {
                err_at(
                    v.span().start,
                    format!("`{}` is not an IP address", v.get_ref()),
                )
            })?),
            None => None,
        };
        if let Some(v) = via
            && v.is_ipv4() != to.addr.is_ipv4()
        {
            return Err(err_at(
                r.to.span().start,
                "route destination and gateway are of different IP versions".into(),
            ));
        }
        let dev = match &r.dev {
            Some(d) => {
                if !devs.contains(&(node.clone(), d.get_ref().clone())) {
                    return Err(err_at(
                        d.span().start,
                        format!("node `{node}` has no interface `{}`", d.get_ref()),
                    ));
                }
                Some(d.get_ref().clone())
            }
            None => None,
        };
        if via.is_none() && dev.is_none() {
            return Err(err_at(
                r.to.span().start,
                "a route needs `via`, `dev` or both".into(),
            ));
        }
        routes.push(Route {
            node: node.clone(),
            to,
            via,
            dev,
        });
    }

    Ok(Topology {
        name: raw.name,
        description: raw.description,
        nodes,
        links,
        routes,
    })
}

/// An interface name the kernel takes as it is: `dev_valid_name`'s rules (1-15 bytes, no
/// `/`, `:` or white space, not `.` or `..`), and no `%` (a `%d` makes the kernel choose
/// the name), printable ASCII only (names appear in commands and pin paths).
pub fn valid_ifname(dev: &str) -> bool {
    !dev.is_empty()
        && dev.len() <= IFNAME_MAX
        && dev
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"/:%".contains(&b))
        && !matches!(dev, "lo" | "." | "..")
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 12
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"
name = "pair"
[[node]]
name = "left"
[[node]]
name = "right"
forwarding = true
sysctls = { "net.ipv4.icmp_echo_ignore_all" = 0 }
[[link]]
a = { node = "left", dev = "eth0", mac = "02:00:00:00:00:01", addresses = ["fd00::1/64", "10.0.0.1/24"] }
b = { node = "right", dev = "eth0", mac = "02:00:00:00:00:02", addresses = ["fd00::2/64"] }
[[route]]
node = "left"
to = "fd01::/64"
via = "fd00::2"
"#;

    #[test]
    fn parses_a_pair() {
        let t = parse(TWO, "pair.toml").unwrap();
        assert_eq!(t.nodes.len(), 2);
        assert!(t.nodes[1].forwarding);
        assert_eq!(
            t.nodes[1].sysctls,
            vec![("net.ipv4.icmp_echo_ignore_all".into(), "0".into())]
        );
        assert_eq!(t.links[0].a.addresses[1].to_string(), "10.0.0.1/24");
        assert_eq!(t.end("right", "eth0").unwrap().1.node, "left");
        assert_eq!(
            t.owner_of("fd00::2".parse().unwrap()).unwrap().node,
            "right"
        );
        assert_eq!(t.routes[0].via, Some("fd00::2".parse().unwrap()));
    }

    fn err(src: &str) -> TopologyError {
        parse(src, "t.toml").unwrap_err()
    }

    #[test]
    fn unknown_node_points_at_the_name() {
        let src = TWO.replace(r#"b = { node = "right""#, r#"b = { node = "rigth""#);
        let e = err(&src);
        assert_eq!(e.line, 11);
        assert!(e.message.contains("`rigth`"), "{e}");
        assert!(e.message.contains("known: left, right"), "{e}");
        assert!(e.to_string().starts_with("t.toml:11:"));
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let e = err("name = \"x\"\n[[node]]\nname = \n");
        assert_eq!((e.line, e.col), (3, 8), "{e}");
    }

    #[test]
    fn unknown_field_is_refused() {
        let e = err("name = \"x\"\n[[node]]\nname = \"a\"\ncolour = \"red\"\n");
        assert_eq!(e.line, 4);
        assert!(e.message.contains("colour"), "{e}");
    }

    #[test]
    fn bad_values() {
        assert!(
            err(&TWO.replace("02:00:00:00:00:01", "02:00:00:00:00"))
                .message
                .contains("MAC")
        );
        assert!(
            err(&TWO.replace("02:00:00:00:00:01", "02:00:00:00:00:02"))
                .message
                .contains("twice")
        );
        assert!(
            err(&TWO.replace("fd00::1/64", "fd00::1"))
                .message
                .contains("prefix length")
        );
        assert!(
            err(&TWO.replace("fd00::1/64", "fd00::1/129"))
                .message
                .contains("0..=128")
        );
        assert!(
            err(&TWO.replace("10.0.0.1/24", "10.0.0.300/24"))
                .message
                .contains("not an IPv4")
        );
        assert!(
            err(&TWO.replace(
                r#"dev = "eth0", mac = "02:00:00:00:00:01""#,
                r#"dev = "a-very-long-name0", mac = "02:00:00:00:00:01""#
            ))
            .message
            .contains("1-15")
        );
        for bad in ["x%d", ".", "..", "a b", "tab\\t", "é0", "a/b", "a:b", "lo"] {
            let e = err(&TWO.replace(
                r#"dev = "eth0", mac = "02:00:00:00:00:01""#,
                &format!(r#"dev = "{bad}", mac = "02:00:00:00:00:01""#),
            ));
            assert!(e.message.contains("interface name"), "{bad}: {e}");
            assert!(e.line > 1 && e.col > 1, "{bad}: {e}");
        }
        assert!(
            err(&TWO.replace("name = \"right\"", "name = \"Right!\""))
                .message
                .contains("node name")
        );
        assert!(
            err(&TWO.replace("via = \"fd00::2\"", "via = \"10.0.0.2\""))
                .message
                .contains("IP versions")
        );
        assert!(
            err(&TWO.replace("\"net.ipv4.icmp_echo_ignore_all\"", "\"kernel.panic\""))
                .message
                .contains("net.")
        );
        assert!(err("name = \"x\"\n").message.contains("at least one"));
    }

    #[test]
    fn shipped_topologies_parse() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../netns");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                let src = std::fs::read_to_string(&p).unwrap();
                parse(&src, &p.display().to_string()).unwrap();
                n += 1;
            }
        }
        assert!(
            n >= 2,
            "expected the hike-lab and a second topology in netns/"
        );
    }

    #[test]
    fn hike_lab_matches_the_original() {
        let src = include_str!("../../../../netns/hike-lab.toml");
        let t = parse(src, "hike-lab.toml").unwrap();
        let names: Vec<_> = t.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["tg", "sut", "clt"]);
        let (tg0, sut0) = t.end("tg", "enp6s0f0").unwrap();
        assert_eq!(crate::mac::fmt_mac(&tg0.mac), "00:00:00:00:01:00");
        assert_eq!(sut0.node, "sut");
        assert_eq!(sut0.dev, "enp6s0f0");
        assert!(sut0.addresses.iter().any(|c| c.to_string() == "fc01::3/64"));
        let (cl0, veth0) = t.end("sut", "cl0").unwrap();
        assert_eq!(cl0.addresses[0].to_string(), "cafe::1/64");
        assert_eq!((veth0.node.as_str(), veth0.dev.as_str()), ("clt", "veth0"));
        assert!(t.node("sut").unwrap().forwarding && t.node("clt").unwrap().forwarding);
        assert!(!t.node("tg").unwrap().forwarding);
    }
}
