//! The built-in packet generator. It runs inside the sending node's network namespace and
//! sends exactly the number of packets asked for, paced to a rate, through ordinary kernel
//! sockets: a UDP socket for `--udp`, a raw UDP socket for `--udp --flows N` (N flows with
//! source ports of its choosing and checksums computed here, in full), a raw ICMP socket for
//! `--icmp` (echo requests, with the replies counted), or a packet socket replaying the
//! frames of a pcap file.

use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use serde::Serialize;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::LabEnv;
use crate::netns;
use crate::netns::NetnsError;
use crate::nodes::NodeError;

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Udp {
        port: u16,
        payload: usize,
    },
    /// UDP in `flows` flows, which differ only in their source port (`sport`, `sport + 1`,
    /// ...): packet `i` belongs to flow `i % flows`
    Flows {
        port: u16,
        payload: usize,
        flows: u16,
        sport: u16,
    },
    Icmp,
    Pcap {
        file: PathBuf,
        dev: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub from: String,
    pub to: Option<IpAddr>,
    pub kind: Kind,
    /// packets to send; `None` = 10, or every frame of the pcap file once
    pub count: Option<u64>,
    /// packets per second; `None` = as fast as possible
    pub rate: Option<f64>,
    /// how long to wait for the last echo replies
    pub reply_wait: Duration,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    /// the node the packets were sent from (the generator runs in its namespace)
    pub from: String,
    /// where they went: `[addr]:port` for UDP, the address for ICMP, `dev (replaying file)` for a
    /// pcap replay
    pub to: String,
    /// what was sent: `UDP`, `ICMP echo`, `ICMPv6 echo` or `pcap`
    pub kind: String,
    /// how many packets were asked for (`--count`; 10 by default, or every frame of the pcap file
    /// once)
    pub requested: u64,
    /// how many the kernel accepted for sending; equal to `requested` unless sends failed or the
    /// run was stopped (the command then exits 1)
    pub sent: u64,
    /// sends the kernel refused (a full socket buffer is retried, not counted); 0 on a clean run
    pub send_errors: u64,
    /// the kernel's error for the first refused send; null when none failed
    pub first_error: Option<String>,
    /// echo replies received (ICMP only)
    pub replies: Option<u64>,
    /// wall time spent sending: from the first send to the end of the last one, in
    /// microseconds (the wait for echo replies after it is `reply_wait_us`, apart)
    pub elapsed_us: u64,
    /// packets sent per second over `elapsed_us` (the send rate alone, never diluted by the
    /// wait for replies); 0 when no time could be measured
    pub achieved_pps: f64,
    /// ICMP only: how long the generator waited after the last send for the echo replies
    /// still on their way, in microseconds (it ends early once every reply came); null for
    /// UDP and pcap
    #[serde(default)]
    pub reply_wait_us: Option<u64>,
    /// stopped before every packet was sent (Ctrl-C, the TUI's `t`)
    pub stopped: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error(transparent)]
    Nodes(#[from] NodeError),
    #[error(transparent)]
    Netns(#[from] NetnsError),
    #[error("traffic from {node}: {what}: {err}")]
    Io {
        node: String,
        what: String,
        err: io::Error,
    },
    #[error("{0}")]
    Bad(String),
}

/// Sends the traffic of `spec`; `progress` counts sent packets as they go.
pub fn send(
    env: &LabEnv,
    spec: &Spec,
    progress: &AtomicU64,
    cancel: &CancellationToken,
) -> Result<Report, TrafficError> {
    validate(spec)?;
    let (_, ns) = crate::nodes::resolve_node(env, &spec.from)?;
    let fd = netns::open(&ns)?;
    let io_err = |what: &str| {
        let node = spec.from.clone();
        let what = what.to_string();
        move |err| TrafficError::Io { node, what, err }
    };
    netns::in_netns(&fd.as_fd(), || match &spec.kind {
        Kind::Udp { port, payload } => {
            let to = spec
                .to
                .ok_or_else(|| TrafficError::Bad("--udp needs --to ADDRESS".into()))?;
            udp(spec, to, *port, *payload, progress, cancel).map_err(io_err("UDP socket"))
        }
        Kind::Flows {
            port,
            payload,
            flows,
            sport,
        } => {
            let to = spec
                .to
                .ok_or_else(|| TrafficError::Bad("--flows needs --to ADDRESS".into()))?;
            let f = FlowSpec {
                to,
                port: *port,
                payload: *payload,
                flows: *flows,
                sport: *sport,
            };
            flows_send(spec, &f, progress, cancel).map_err(io_err("raw UDP socket"))
        }
        Kind::Icmp => {
            let to = spec
                .to
                .ok_or_else(|| TrafficError::Bad("--icmp needs --to ADDRESS".into()))?;
            icmp(spec, to, progress, cancel).map_err(io_err("raw ICMP socket"))
        }
        Kind::Pcap { file, dev } => pcap(spec, file, dev, progress, cancel),
    })
    .map_err(io_err("enter namespace"))?
}

/// The longest a paced sender sleeps before it looks at its cancellation token again.
const STOP_CHECK: Duration = Duration::from_millis(10);

/// The slowest paced rate (one packet every 1000 s) and the fastest one.
pub const RATE_RANGE: (f64, f64) = (0.001, 10_000_000.0);
/// The largest UDP payload that still fits one frame on a lab link (MTU 1500, IPv6 and UDP
/// headers): a counter sees one packet per datagram.
pub const MAX_UDP_PAYLOAD: usize = 1500 - 40 - 8;

/// Refuses what the generator cannot send exactly, before anything is sent.
pub fn validate(spec: &Spec) -> Result<(), TrafficError> {
    if spec.count == Some(0) {
        return Err(TrafficError::Bad("--count must be at least 1".into()));
    }
    if let Some(r) = spec.rate
        && !(r.is_finite() && (RATE_RANGE.0..=RATE_RANGE.1).contains(&r))
    {
        // 1e-300 as written, not three hundred zeros
        let shown = if r != 0.0 && r.is_finite() && !(1e-3..1e9).contains(&r.abs()) {
            format!("{r:e}")
        } else {
            r.to_string()
        };
        return Err(TrafficError::Bad(format!(
            "--rate {shown}: give packets per second between {} and {} (or leave it out to \
             send as fast as possible)",
            RATE_RANGE.0, RATE_RANGE.1
        )));
    }
    if let Some(to) = spec.to {
        let why = match to {
            IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80 => Some(
                "a link-local address is the same on every link, so it needs an interface the \
                 generator does not take",
            ),
            IpAddr::V6(a) if a.is_multicast() && matches!(spec.kind, Kind::Icmp) => {
                Some("an echo request goes to one address, not to a multicast group")
            }
            IpAddr::V4(a) if a.is_multicast() || a.is_broadcast() => {
                Some("the lab's IPv4 routes lead to single addresses, not to groups or broadcast")
            }
            _ => None,
        };
        if let Some(why) = why {
            return Err(TrafficError::Bad(format!(
                "--to {to}: {why}; send to an address of a node (`eclat-lab topo status` lists \
                 them, like fc01::2 on sut)"
            )));
        }
    }
    if let Kind::Flows { flows, sport, .. } = spec.kind {
        if flows == 0 {
            return Err(TrafficError::Bad("--flows must be at least 1".into()));
        }
        if sport == 0 || sport as u32 + flows as u32 - 1 > u16::MAX as u32 {
            return Err(TrafficError::Bad(format!(
                "--sport {sport} with --flows {flows}: the source ports {sport}..{} must be \
                 between 1 and 65535",
                sport as u32 + flows as u32 - 1
            )));
        }
    }
    if let Kind::Udp { payload, .. } | Kind::Flows { payload, .. } = spec.kind
        && payload > MAX_UDP_PAYLOAD
    {
        return Err(TrafficError::Bad(format!(
            "--size {payload}: a UDP payload of at most {MAX_UDP_PAYLOAD} bytes fits one frame \
             on the lab's links (MTU 1500); larger datagrams would be fragmented and counted \
             as several packets"
        )));
    }
    Ok(())
}

/// Paces sends: returns when packet `i` is due (true), or as soon as `cancel` is cancelled
/// (false).
fn pace(start: Instant, i: u64, rate: Option<f64>, cancel: &CancellationToken) -> bool {
    let Some(r) = rate else {
        return !cancel.is_cancelled();
    };
    // the rate was validated: 1 / r seconds is a finite Duration
    let due = start + Duration::from_secs_f64(i as f64 / r);
    loop {
        if cancel.is_cancelled() {
            return false;
        }
        let now = Instant::now();
        if now >= due {
            return true;
        }
        let left = due - now;
        if left > Duration::from_micros(200) {
            std::thread::sleep((left - Duration::from_micros(100)).min(STOP_CHECK));
        } else {
            std::hint::spin_loop();
        }
    }
}

struct Tally {
    sent: u64,
    errors: u64,
    first_error: Option<String>,
    /// from the start to the end of the last send
    sending: Duration,
    /// between the first accepted send and the last one
    between: Option<(Instant, Instant)>,
}

fn send_loop(
    spec: &Spec,
    count: u64,
    progress: &AtomicU64,
    cancel: &CancellationToken,
    mut one: impl FnMut(u64) -> io::Result<()>,
) -> (Tally, Instant) {
    let start = Instant::now();
    let mut t = Tally {
        sent: 0,
        errors: 0,
        first_error: None,
        sending: Duration::ZERO,
        between: None,
    };
    for i in 0..count {
        if !pace(start, i, spec.rate, cancel) {
            break;
        }
        // a full socket buffer (ENOBUFS/EAGAIN) is retried: the count must be exact
        let mut tries = 0;
        loop {
            match one(i) {
                Ok(()) => {
                    t.sent += 1;
                    let now = Instant::now();
                    t.between = Some((t.between.map_or(now, |b| b.0), now));
                    if t.sent == count / 2 {
                        crate::crash_point("traffic:half-sent");
                    }
                    progress.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(e)
                    if tries < 1000
                        && matches!(e.raw_os_error(), Some(libc::ENOBUFS) | Some(libc::EAGAIN)) =>
                {
                    tries += 1;
                    std::thread::sleep(Duration::from_micros(50));
                }
                Err(e) => {
                    t.errors += 1;
                    t.first_error.get_or_insert_with(|| e.to_string());
                    break;
                }
            }
        }
    }
    t.sending = start.elapsed();
    (t, start)
}

/// Packets per second while sending: over the intervals between the first and the last send
/// (a paced run of N packets has N-1 of them), or over the whole sending time when there is
/// only one packet; 0 when no time could be measured.
fn send_rate(sent: u64, between: Option<(Instant, Instant)>, sending: Duration) -> f64 {
    match between {
        Some((a, b)) if sent > 1 && b > a => (sent - 1) as f64 / (b - a).as_secs_f64(),
        _ if sending.as_secs_f64() > 0.0 => sent as f64 / sending.as_secs_f64(),
        _ => 0.0,
    }
}

fn report(
    spec: &Spec,
    count: u64,
    to: String,
    kind: String,
    t: Tally,
    start: Instant,
    replies: Option<u64>,
    cancel: &CancellationToken,
) -> Report {
    // the rate is the sending's own: the wait for replies after the last send is apart
    let el = t.sending;
    let reply_wait = replies.map(|_| start.elapsed().saturating_sub(el).as_micros() as u64);
    Report {
        from: spec.from.clone(),
        to,
        kind,
        requested: count,
        sent: t.sent,
        send_errors: t.errors,
        first_error: t.first_error,
        replies,
        stopped: cancel.is_cancelled() && t.sent < count,
        elapsed_us: el.as_micros() as u64,
        achieved_pps: send_rate(t.sent, t.between, el),
        reply_wait_us: reply_wait,
    }
}

fn udp(
    spec: &Spec,
    to: IpAddr,
    port: u16,
    payload: usize,
    progress: &AtomicU64,
    cancel: &CancellationToken,
) -> io::Result<Report> {
    let dom = if to.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(dom, Type::DGRAM, Some(Protocol::UDP))?;
    // not connected: a connected socket would turn the receiver's ICMP port-unreachable
    // answers into errors on later sends, and those packets would not be sent
    let dst = SockAddr::from(SocketAddr::new(to, port));
    let mut buf = vec![0u8; payload];
    let count = spec.count.unwrap_or(10);
    let (t, start) = send_loop(spec, count, progress, cancel, |i| {
        // the sequence number in the payload lets a capture tell packets apart
        let n = buf.len().min(8);
        buf[..n].copy_from_slice(&i.to_be_bytes()[..n]);
        s.send_to(&buf, &dst).map(|_| ())
    });
    Ok(report(
        spec,
        count,
        format!("[{to}]:{port}"),
        "UDP".into(),
        t,
        start,
        None,
        cancel,
    ))
}

/// What `--flows` sends.
struct FlowSpec {
    to: IpAddr,
    port: u16,
    payload: usize,
    flows: u16,
    sport: u16,
}

/// The source address the kernel would use towards `to` (a UDP socket's connect sends
/// nothing).
fn source_for(to: IpAddr, port: u16) -> io::Result<IpAddr> {
    let dom = if to.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(dom, Type::DGRAM, Some(Protocol::UDP))?;
    s.connect(&SockAddr::from(SocketAddr::new(to, port)))?;
    s.local_addr()?
        .as_socket()
        .map(|a| a.ip())
        .ok_or_else(|| io::Error::other("no source address"))
}

/// The UDP header and payload of one datagram from `src:sport` to `dst:dport`, with its
/// checksum over the pseudo-header (RFC 768 for IPv4, RFC 8200 for IPv6) computed in full.
pub fn udp_datagram(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut d = Vec::with_capacity(len);
    d.extend_from_slice(&sport.to_be_bytes());
    d.extend_from_slice(&dport.to_be_bytes());
    d.extend_from_slice(&(len as u16).to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    let mut pseudo = Vec::with_capacity(40 + len);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(t)) => {
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&t.octets());
            pseudo.extend_from_slice(&[0, 17]);
            pseudo.extend_from_slice(&(len as u16).to_be_bytes());
        }
        (s, t) => {
            let v6 = |a: IpAddr| match a {
                IpAddr::V6(a) => a.octets(),
                IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            };
            pseudo.extend_from_slice(&v6(s));
            pseudo.extend_from_slice(&v6(t));
            pseudo.extend_from_slice(&(len as u32).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, 17]);
        }
    }
    pseudo.extend_from_slice(&d);
    let c = match checksum(&pseudo) {
        0 => 0xffff, // a computed 0 is sent as all ones: 0 means "no checksum"
        c => c,
    };
    d[6..8].copy_from_slice(&c.to_be_bytes());
    d
}

/// `--flows`: a raw UDP socket (the kernel writes the IP header; the UDP header, with the
/// chosen source port and a complete checksum, is ours). A datagram socket's checksum
/// would be left to the veth to "offload", and a program that rewrites the packet on the
/// way would see only a partial one.
fn flows_send(
    spec: &Spec,
    f: &FlowSpec,
    progress: &AtomicU64,
    cancel: &CancellationToken,
) -> io::Result<Report> {
    let src = source_for(f.to, f.port)?;
    let dom = if f.to.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(dom, Type::RAW, Some(Protocol::UDP))?;
    // a raw socket of protocol UDP also receives every UDP datagram: it reads none
    s.set_recv_buffer_size(0)?;
    let dst = SockAddr::from(SocketAddr::new(f.to, 0));
    let mut payload = vec![0u8; f.payload];
    let count = spec.count.unwrap_or(10);
    let (t, start) = send_loop(spec, count, progress, cancel, |i| {
        let n = payload.len().min(8);
        payload[..n].copy_from_slice(&i.to_be_bytes()[..n]);
        let sport = f.sport + (i % f.flows as u64) as u16;
        let d = udp_datagram(src, f.to, sport, f.port, &payload);
        s.send_to(&d, &dst).map(|_| ())
    });
    Ok(report(
        spec,
        count,
        format!(
            "[{}]:{} ({} flows: source ports {}..{})",
            f.to,
            f.port,
            f.flows,
            f.sport,
            f.sport as u32 + f.flows as u32 - 1
        ),
        "UDP".into(),
        t,
        start,
        None,
        cancel,
    ))
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += w as u32;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn icmp(
    spec: &Spec,
    to: IpAddr,
    progress: &AtomicU64,
    cancel: &CancellationToken,
) -> io::Result<Report> {
    let v6 = to.is_ipv6();
    let (dom, proto, req, rep) = if v6 {
        (Domain::IPV6, Protocol::ICMPV6, 128u8, 129u8)
    } else {
        (Domain::IPV4, Protocol::ICMPV4, 8u8, 0u8)
    };
    let s = Socket::new(dom, Type::RAW, Some(proto))?;
    s.connect(&SockAddr::from(SocketAddr::new(to, 0)))?;
    s.set_read_timeout(Some(Duration::from_millis(20)))?;
    let ident = (std::process::id() as u16) ^ 0x5eed;
    let replies = AtomicU64::new(0);
    let sending = AtomicBool::new(true);
    let rx = s.try_clone()?;
    let deadline_after_send = spec.reply_wait;
    let count = spec.count.unwrap_or(10);
    let (t, start) = std::thread::scope(|sc| {
        let replies = &replies;
        let sending = &sending;
        sc.spawn(move || {
            let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
            let mut done_at: Option<Instant> = None;
            loop {
                if !sending.load(Ordering::Relaxed) {
                    let d = *done_at.get_or_insert_with(Instant::now);
                    if d.elapsed() >= deadline_after_send
                        || cancel.is_cancelled()
                        || replies.load(Ordering::Relaxed) >= count
                    {
                        break;
                    }
                }
                let Ok(n) = rx.recv(&mut buf) else { continue };
                // SAFETY: recv initialised the first n bytes
                let bytes: Vec<u8> = buf[..n]
                    .iter()
                    .map(|b| unsafe { b.assume_init() })
                    .collect();
                // IPv4 raw sockets deliver the IP header too; IPv6 ones do not
                let icmp = if v6 {
                    &bytes[..]
                } else {
                    bytes.get(((bytes[0] & 0x0f) as usize) * 4..).unwrap_or(&[])
                };
                if icmp.len() >= 8
                    && icmp[0] == rep
                    && u16::from_be_bytes([icmp[4], icmp[5]]) == ident
                {
                    replies.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let mut pkt = vec![0u8; 64];
        let r = send_loop(spec, count, progress, cancel, |i| {
            pkt[0] = req;
            pkt[1] = 0;
            pkt[2] = 0;
            pkt[3] = 0;
            pkt[4..6].copy_from_slice(&ident.to_be_bytes());
            pkt[6..8].copy_from_slice(&(i as u16).to_be_bytes());
            if !v6 {
                // the kernel computes ICMPv6 checksums on raw sockets, not ICMPv4 ones
                let c = checksum(&pkt);
                pkt[2..4].copy_from_slice(&c.to_be_bytes());
            }
            s.send(&pkt).map(|_| ())
        });
        sending.store(false, Ordering::Relaxed);
        r
    });
    let kind = if v6 { "ICMPv6 echo" } else { "ICMP echo" };
    Ok(report(
        spec,
        count,
        to.to_string(),
        kind.into(),
        t,
        start,
        Some(replies.load(Ordering::Relaxed)),
        cancel,
    ))
}

fn pcap(
    spec: &Spec,
    file: &Path,
    dev: &str,
    progress: &AtomicU64,
    cancel: &CancellationToken,
) -> Result<Report, TrafficError> {
    let io_err = |what: String| {
        let node = spec.from.clone();
        move |err| TrafficError::Io { node, what, err }
    };
    let f = crate::perms::open_as_invoking_user(file)
        .map_err(io_err(format!("open {}", file.display())))?;
    let mut reader = pcap_file::pcap::PcapReader::new(f)
        .map_err(|e| TrafficError::Bad(format!("{}: not a pcap file: {e}", file.display())))?;
    if reader.header().datalink != pcap_file::DataLink::ETHERNET {
        return Err(TrafficError::Bad(format!(
            "{}: link type {:?}; the generator replays Ethernet captures only",
            file.display(),
            reader.header().datalink
        )));
    }
    let mut frames = Vec::new();
    while let Some(p) = reader.next_packet() {
        let p = p.map_err(|e| {
            TrafficError::Bad(format!("{}: damaged packet record: {e}", file.display()))
        })?;
        frames.push(p.data.into_owned());
    }
    if frames.is_empty() {
        return Err(TrafficError::Bad(format!(
            "{}: the capture holds no packets",
            file.display()
        )));
    }
    let ifindex = nix::net::if_::if_nametoindex(dev)
        .map_err(|e| TrafficError::Bad(format!("{} has no interface {dev}: {e}", spec.from)))?;
    let s = Socket::new(Domain::PACKET, Type::RAW, None).map_err(io_err("packet socket".into()))?;
    // sockaddr_ll for sendto
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_ifindex = ifindex as i32;
    sll.sll_halen = 6;
    let mut storage = socket2::SockAddrStorage::zeroed();
    // SAFETY: sockaddr_ll fits in sockaddr_storage, and we pass its exact length
    unsafe { *storage.view_as::<libc::sockaddr_ll>() = sll };
    // SAFETY: the storage holds an initialised sockaddr_ll of that length
    let addr = unsafe {
        SockAddr::new(
            storage,
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    let count = spec.count.unwrap_or(frames.len() as u64);
    let (t, start) = send_loop(spec, count, progress, cancel, |i| {
        let f = &frames[(i as usize) % frames.len()];
        s.send_to(f, &addr).map(|_| ())
    });
    Ok(report(
        spec,
        count,
        format!("{dev} (replaying {})", file.display()),
        "pcap".into(),
        t,
        start,
        None,
        cancel,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn icmp_checksum_of_a_known_echo() {
        // echo request id 1 seq 1, no data: checksum is 0xf7fd
        let p = [8u8, 0, 0, 0, 0, 1, 0, 1];
        assert_eq!(super::checksum(&p), 0xf7fd);
    }

    #[test]
    fn a_flow_datagram_carries_its_port_and_a_checksum_that_verifies() {
        let (src, dst) = ("10.0.0.2".parse().unwrap(), "10.0.100.1".parse().unwrap());
        let d = super::udp_datagram(src, dst, 40001, 8080, &[1, 2, 3]);
        assert_eq!(&d[..6], &[0x9c, 0x41, 0x1f, 0x90, 0, 11]);
        // the pseudo-header, the header and the payload sum to all ones
        let mut all = vec![10, 0, 0, 2, 10, 0, 100, 1, 0, 17, 0, 11];
        all.extend_from_slice(&d);
        assert_eq!(super::checksum(&all), 0);
        let (s6, d6) = ("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap());
        let d = super::udp_datagram(s6, d6, 1, 2, &[]);
        let mut all = vec![0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        all.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        all.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 17]);
        all.extend_from_slice(&d);
        assert_eq!(super::checksum(&all), 0);
    }
}
