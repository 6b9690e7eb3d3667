//! Rust models of the default HIKe programs and of the `ip6_simple_classifier` loader
//! (hike.md section 7), for the reference VM. Their kernel state (maps, time, FIB) is modelled
//! in memory in [`Models`]; tests set [`Models::now_ns`] to move time.
//!
//! Conventions fixed here (the kernel programs must match):
//! - programs that need the IPv6 header find it through `pkt_info.nhoff`; when it is unset or
//!   not a complete IPv6 header they continue the chain with `r0 = -EINVAL` (as the kernel
//!   programs in `ebpf-modules/programs` do);
//! - the meters return the flow's packet count after this packet;
//! - negative return values are two's complement in `r0` (`-ENOENT` = `-2`, out of profile = `-1`).

use super::{Ctx, ProgramResult, Programs};
use crate::XdpAction;
use crate::layout::shmem;
use std::collections::{BTreeMap, HashMap};

/// `-ENOENT` as a program writes it into `r0`.
pub const ENOENT: u64 = (-2i64) as u64;
/// Token bucket defaults of `programs.meter`: 20 tokens per second, bucket of 5.
pub const TB_RATE_PER_S: u64 = 20;
pub const TB_BUCKET: u64 = 5;
/// Blacklist entry lifetime of `ip6_hset_srcdst`.
pub const HSET_TIMEOUT_NS: u64 = 10_000_000_000;
const NS_PER_TOKEN: u64 = 1_000_000_000 / TB_RATE_PER_S;

/// The default programs, by their eCLAT names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    HikePass,
    HikeDrop,
    Monitor,
    Ip6HsetSrcdst,
    Lse,
    L2Redirect,
    L2xcon,
    Ip6Kroute,
    Ip6SetEcn,
    AppCfgLoad,
    AppCfgStore,
    Ip6FindUdp,
    Ip6DstMeter,
    Ip6SdMeter,
    Ip6DstTbmon,
    Ip6SdTbmon,
    Ip6SdDec2zero,
    ShowPktInfo,
}

impl Model {
    pub const ALL: [(&'static str, Model); 18] = [
        ("hike_pass", Model::HikePass),
        ("hike_drop", Model::HikeDrop),
        ("monitor", Model::Monitor),
        ("ip6_hset_srcdst", Model::Ip6HsetSrcdst),
        ("lse", Model::Lse),
        ("l2_redirect", Model::L2Redirect),
        ("l2xcon", Model::L2xcon),
        ("ip6_kroute", Model::Ip6Kroute),
        ("ip6_set_ecn", Model::Ip6SetEcn),
        ("app_cfg_load", Model::AppCfgLoad),
        ("app_cfg_store", Model::AppCfgStore),
        ("ip6_find_udp", Model::Ip6FindUdp),
        ("ip6_dst_meter", Model::Ip6DstMeter),
        ("ip6_sd_meter", Model::Ip6SdMeter),
        ("ip6_dst_tbmon", Model::Ip6DstTbmon),
        ("ip6_sd_tbmon", Model::Ip6SdTbmon),
        ("ip6_sd_dec2zero", Model::Ip6SdDec2zero),
        ("show_pkt_info", Model::ShowPktInfo),
    ];

    pub fn by_name(name: &str) -> Option<Model> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, m)| *m == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }
}

/// A token bucket kept in nanoseconds of credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub credit_ns: u64,
    pub last_ns: u64,
}

/// One route of the modelled FIB for `ip6_kroute`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub prefix: [u8; 16],
    pub prefix_len: u8,
    pub ifindex: u32,
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
}

type Pair = ([u8; 16], [u8; 16]);

/// The program table and the modelled kernel state of the default programs.
#[derive(Debug, Clone, Default)]
pub struct Models {
    slots: HashMap<u32, Model>,
    /// the modelled `bpf_ktime_get_ns()`
    pub now_ns: u64,
    /// the packet's ingress ifindex (for `l2xcon`)
    pub ingress_ifindex: u32,
    /// `map_pcpu_mon` summed over CPUs: event code -> count
    pub monitor: BTreeMap<u32, u64>,
    /// `ip6_hset_srcdst`: (saddr, daddr) -> (timestamp_ns, timeout_ns)
    pub hset: HashMap<Pair, (u64, u64)>,
    pub lse: HashMap<Pair, u64>,
    /// `l2xcon` ARRAY: iif -> oif
    pub l2xcon: HashMap<u32, u32>,
    pub routes: Vec<Route>,
    pub app_cfg: HashMap<u32, u32>,
    pub dst_meter: HashMap<[u8; 16], u64>,
    pub sd_meter: HashMap<Pair, u64>,
    pub dst_tb: HashMap<[u8; 16], Bucket>,
    pub sd_tb: HashMap<Pair, Bucket>,
    pub dec2zero: HashMap<Pair, u64>,
    /// what `show_pkt_info` printed
    pub log: Vec<String>,
}

impl Models {
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts program `name` into slot `id`; false if there is no model of that name.
    pub fn register(&mut self, id: u32, name: &str) -> bool {
        match Model::by_name(name) {
            Some(m) => {
                self.slots.insert(id, m);
                true
            }
            None => false,
        }
    }

    /// Every model in slots 1, 2, ... in the order of [`Model::ALL`]; returns (name, id) pairs.
    pub fn with_all() -> (Self, Vec<(&'static str, u32)>) {
        let mut m = Self::new();
        let mut ids = Vec::new();
        for (i, (name, _)) in Model::ALL.iter().enumerate() {
            let id = i as u32 + 1;
            m.register(id, name);
            ids.push((*name, id));
        }
        (m, ids)
    }

    pub fn model(&self, id: u32) -> Option<Model> {
        self.slots.get(&id).copied()
    }

    fn bucket(b: &mut Bucket, now: u64, fresh: bool) -> u64 {
        let cap = TB_BUCKET * NS_PER_TOKEN;
        if fresh {
            *b = Bucket {
                credit_ns: cap,
                last_ns: now,
            };
        }
        let elapsed = now.saturating_sub(b.last_ns);
        b.credit_ns = b.credit_ns.saturating_add(elapsed).min(cap);
        b.last_ns = now;
        if b.credit_ns >= NS_PER_TOKEN {
            b.credit_ns -= NS_PER_TOKEN;
            0
        } else {
            u64::MAX
        }
    }
}

const CONTINUE0: ProgramResult = ProgramResult::Continue(0);
const DROP: ProgramResult = ProgramResult::Final(XdpAction::Drop);
/// `-EINVAL`: what a program returns when the packet is not what it needs.
pub const EINVAL: u64 = (-22i64) as u64;
const INVALID: ProgramResult = ProgramResult::Continue(EINVAL);

fn read_i32(shmem: &[u8], off: usize) -> Option<i32> {
    shmem
        .get(off..off + 4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn write_i32(shmem: &mut [u8], off: usize, v: i32) {
    if let Some(b) = shmem.get_mut(off..off + 4) {
        b.copy_from_slice(&v.to_le_bytes());
    }
}

/// The IPv6 header offset from `pkt_info.nhoff`, when a whole IPv6 header is there.
fn ip6_off(ctx: &Ctx<'_>) -> Option<usize> {
    let nh = read_i32(ctx.shmem, shmem::NHOFF)?;
    if nh < 0 || nh == shmem::UNSET {
        return None;
    }
    let nh = nh as usize;
    // like hike_ip6hdr: 40 bytes at nhoff, the version is not checked
    ctx.packet.get(nh..nh + 40).map(|_| nh)
}

fn addrs(ctx: &Ctx<'_>) -> Option<Pair> {
    let nh = ip6_off(ctx)?;
    let p = &ctx.packet[nh..nh + 40];
    let mut s = [0u8; 16];
    let mut d = [0u8; 16];
    s.copy_from_slice(&p[8..24]);
    d.copy_from_slice(&p[24..40]);
    Some((s, d))
}

impl Programs for Models {
    fn call(&mut self, id: u32, args: [u64; 4], ctx: &mut Ctx<'_>) -> Option<ProgramResult> {
        let model = self.model(id)?;
        let now = self.now_ns;
        let a1 = args[1];
        Some(match model {
            Model::HikePass => ProgramResult::Final(XdpAction::Pass),
            Model::HikeDrop => DROP,
            Model::Monitor => {
                *self.monitor.entry(a1 as u32).or_insert(0) += 1;
                CONTINUE0
            }
            Model::Ip6HsetSrcdst => {
                let Some(key) = addrs(ctx) else {
                    return Some(INVALID);
                };
                let live = |e: Option<&(u64, u64)>| {
                    e.is_some_and(|(ts, to)| now.saturating_sub(*ts) < *to)
                };
                let rc = match a1 {
                    0 => {
                        if live(self.hset.get(&key)) {
                            0
                        } else {
                            ENOENT
                        }
                    }
                    1 => {
                        self.hset.insert(key, (now, HSET_TIMEOUT_NS));
                        0
                    }
                    2 => {
                        if live(self.hset.get(&key)) {
                            0
                        } else {
                            self.hset.remove(&key);
                            ENOENT
                        }
                    }
                    _ => EINVAL,
                };
                ProgramResult::Continue(rc)
            }
            Model::Lse => {
                let Some(key) = addrs(ctx) else {
                    return Some(INVALID);
                };
                let r0 = match self.lse.insert(key, now) {
                    Some(prev) => now.saturating_sub(prev),
                    None => u64::MAX,
                };
                ProgramResult::Continue(r0)
            }
            Model::L2Redirect => {
                if a1 as u32 == 0 {
                    DROP
                } else {
                    ctx.redirect = Some(a1 as u32);
                    ProgramResult::Final(XdpAction::Redirect)
                }
            }
            Model::L2xcon => match self.l2xcon.get(&self.ingress_ifindex) {
                Some(&oif) if oif != 0 => {
                    ctx.redirect = Some(oif);
                    ProgramResult::Final(XdpAction::Redirect)
                }
                _ => DROP,
            },
            Model::Ip6Kroute => self.kroute(ctx),
            Model::Ip6SetEcn => match ip6_off(ctx) {
                Some(nh) => {
                    ctx.packet[nh + 1] |= 0x30;
                    CONTINUE0
                }
                None => INVALID,
            },
            Model::AppCfgLoad => match self.app_cfg.get(&(a1 as u32)) {
                Some(v) => ProgramResult::Continue(*v as u64),
                None => ProgramResult::Continue(ENOENT),
            },
            Model::AppCfgStore => {
                self.app_cfg.insert(a1 as u32, args[2] as u32);
                CONTINUE0
            }
            Model::Ip6FindUdp => find_udp(ctx),
            Model::Ip6DstMeter => {
                let Some((_, d)) = addrs(ctx) else {
                    return Some(INVALID);
                };
                let n = self.dst_meter.entry(d).or_insert(0);
                *n += 1;
                ProgramResult::Continue(*n)
            }
            Model::Ip6SdMeter => {
                let Some(key) = addrs(ctx) else {
                    return Some(INVALID);
                };
                let n = self.sd_meter.entry(key).or_insert(0);
                *n += 1;
                ProgramResult::Continue(*n)
            }
            Model::Ip6DstTbmon => {
                let Some((_, d)) = addrs(ctx) else {
                    return Some(INVALID);
                };
                let fresh = !self.dst_tb.contains_key(&d);
                let b = self.dst_tb.entry(d).or_insert(Bucket {
                    credit_ns: 0,
                    last_ns: now,
                });
                ProgramResult::Continue(Self::bucket(b, now, fresh))
            }
            Model::Ip6SdTbmon => {
                let Some(key) = addrs(ctx) else {
                    return Some(INVALID);
                };
                let fresh = !self.sd_tb.contains_key(&key);
                let b = self.sd_tb.entry(key).or_insert(Bucket {
                    credit_ns: 0,
                    last_ns: now,
                });
                ProgramResult::Continue(Self::bucket(b, now, fresh))
            }
            Model::Ip6SdDec2zero => {
                let Some(key) = addrs(ctx) else {
                    return Some(INVALID);
                };
                let n = a1.max(1);
                let c = self.dec2zero.get(&key).copied().unwrap_or(n).min(n);
                let c = c - 1;
                if c == 0 {
                    self.dec2zero.insert(key, n);
                } else {
                    self.dec2zero.insert(key, c);
                }
                ProgramResult::Continue(c)
            }
            Model::ShowPktInfo => {
                let info: Vec<i32> = (0..4)
                    .map(|i| read_i32(ctx.shmem, i * 4).unwrap_or(-1))
                    .collect();
                self.log.push(format!(
                    "cookie={} layers={:#x} len={} dataoff={} mhoff={} nhoff={} thoff={}",
                    args[2],
                    a1,
                    ctx.packet.len(),
                    info[0],
                    info[1],
                    info[2],
                    info[3]
                ));
                CONTINUE0
            }
        })
    }
}

impl Models {
    fn kroute(&self, ctx: &mut Ctx<'_>) -> ProgramResult {
        let pass = ProgramResult::Final(XdpAction::Pass);
        let Some(nh) = ip6_off(ctx) else { return pass };
        if nh < 14 || ctx.packet[nh + 7] <= 1 {
            return pass;
        }
        let mut dst = [0u8; 16];
        dst.copy_from_slice(&ctx.packet[nh + 24..nh + 40]);
        let best = self
            .routes
            .iter()
            .filter(|r| prefix_match(&r.prefix, r.prefix_len, &dst))
            .max_by_key(|r| r.prefix_len);
        let Some(r) = best else { return pass };
        ctx.packet[nh + 7] -= 1;
        let l2 = nh - 14;
        ctx.packet[l2..l2 + 6].copy_from_slice(&r.dst_mac);
        ctx.packet[l2 + 6..l2 + 12].copy_from_slice(&r.src_mac);
        ctx.redirect = Some(r.ifindex);
        ProgramResult::Final(XdpAction::Redirect)
    }
}

fn prefix_match(prefix: &[u8; 16], len: u8, addr: &[u8; 16]) -> bool {
    let len = len.min(128) as usize;
    let (bytes, bits) = (len / 8, len % 8);
    if prefix[..bytes] != addr[..bytes] {
        return false;
    }
    bits == 0 || {
        let mask = 0xffu8 << (8 - bits);
        prefix[bytes] & mask == addr[bytes] & mask
    }
}

/// Walks at most 6 IPv6 extension headers (hop-by-hop, routing, fragment, destination
/// options), as the kernel program, to a UDP header that is all in the packet; on success
/// `dataoff` and `thoff` point at it and `r0` = 17. A fragment other than the first (offset
/// not 0) has no UDP header.
fn find_udp(ctx: &mut Ctx<'_>) -> ProgramResult {
    const MAX_EXTHDRS: usize = 6;
    let Some(nh) = ip6_off(ctx) else {
        return ProgramResult::Continue(ENOENT);
    };
    let p = &ctx.packet;
    let mut next = p[nh + 6];
    let mut off = nh + 40;
    for _ in 0..MAX_EXTHDRS {
        match next {
            17 => break,
            0 | 43 | 60 | 44 => {
                let Some(h) = p.get(off..off + 2) else {
                    return ProgramResult::Continue(ENOENT);
                };
                // only the first fragment (offset 0) carries the upper-layer header
                if next == 44 {
                    match p.get(off + 2..off + 4) {
                        Some(f) if f[0] == 0 && f[1] & 0xf8 == 0 => {}
                        _ => return ProgramResult::Continue(ENOENT),
                    }
                }
                // the length is the skipped header's own: fragment headers are always 8 bytes
                let len = if next == 44 {
                    8
                } else {
                    (h[1] as usize + 1) * 8
                };
                next = h[0];
                off += len;
            }
            _ => return ProgramResult::Continue(ENOENT),
        }
    }
    if next != 17 || p.len() < off + 8 {
        return ProgramResult::Continue(ENOENT);
    }
    write_i32(ctx.shmem, shmem::DATAOFF, off as i32);
    write_i32(ctx.shmem, shmem::THOFF, off as i32);
    ProgramResult::Continue(17)
}

/// What a loader writes into `pkt_info` before starting the VM (as `hike_parse_l2l3` of
/// `ebpf-modules/include/hike/parse.h`): `dataoff` = `mhoff` = 0 and the others unset; for a
/// complete IPv6 header after Ethernet `nhoff` = 14 and `thoff` = `dataoff` = 54; for IPv4
/// (IHL at least 5) `nhoff` = 14 and `thoff` = `dataoff` = 14 + IHL * 4.
/// Returns the ethertype, if the frame has an Ethernet header.
pub fn fill_pkt_info(packet: &[u8], shm: &mut [u8]) -> Option<u16> {
    write_i32(shm, shmem::DATAOFF, 0);
    write_i32(shm, shmem::MHOFF, 0);
    write_i32(shm, shmem::NHOFF, shmem::UNSET);
    write_i32(shm, shmem::THOFF, shmem::UNSET);
    let eth = packet.get(12..14)?;
    let ethertype = u16::from_be_bytes([eth[0], eth[1]]);
    let l3 = match ethertype {
        0x86dd if packet.len() >= 54 => Some(54),
        0x0800 if packet.len() >= 34 && packet[14] & 0x0f >= 5 => {
            Some(14 + (packet[14] & 0x0f) as i32 * 4)
        }
        _ => None,
    };
    if let Some(thoff) = l3 {
        write_i32(shm, shmem::NHOFF, 14);
        write_i32(shm, shmem::THOFF, thoff);
        write_i32(shm, shmem::DATAOFF, thoff);
    }
    Some(ethertype)
}

/// The `ip6_simple_classifier` loader: IPv6 frames go to the chain in slot 0 of
/// `ipv6_simple_classifier_map` (`chain`), with `pkt_info` filled; anything else passes
/// (`None`: the loader returns XDP_PASS without starting the VM).
pub fn ip6_simple_classifier(packet: &[u8], shm: &mut [u8], chain: Option<u32>) -> Option<u32> {
    let et = fill_pkt_info(packet, shm)?;
    if et == 0x86dd && read_i32(shm, shmem::NHOFF) == Some(14) {
        chain
    } else {
        None
    }
}

/// Builds an Ethernet + IPv6 + UDP frame (for tests and learners' packet specs).
pub fn ipv6_udp_frame(
    src: [u8; 16],
    dst: [u8; 16],
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(62 + payload.len());
    f.extend_from_slice(&[0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0x86, 0xdd]);
    let plen = (8 + payload.len()) as u16;
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&plen.to_be_bytes());
    f.extend_from_slice(&[17, 64]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&plen.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

/// Parses an IPv6 address for tests (`"fc01::2"`), `None` if malformed.
pub fn ip6(s: &str) -> Option<[u8; 16]> {
    s.parse::<std::net::Ipv6Addr>().ok().map(|a| a.octets())
}
