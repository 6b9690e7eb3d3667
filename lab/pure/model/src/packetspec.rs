//! A short text syntax for crafted packets, for learners and checks:
//!
//! ```text
//! ipv6 udp dport=5000
//! ipv6 src=fc01::1 dst=fc01::3 icmp6
//! ipv4 dst=10.12.1.2 udp dport=53 payload="hello"
//! ipv6 hbh udp dport=5000 payload=hex:deadbeef
//! ipv6 flow=1 hbh opts=hex:3e0401020304 udp
//! ipv6 hbh dstopts opts=hex:3e0c0102030405060708090a0b0c icmp6
//! eth src=00:00:00:00:01:00 ipv6 tcp dport=80 flags=S
//! ```
//!
//! Layers are words (`eth`, `ipv6`, `ipv4`, `hbh`, `dstopts`, `udp`, `tcp`, `icmp6`, `icmp`); `key=value`
//! options apply to the layer before them. Unset fields take the lab's defaults: tg's
//! `enp6s0f0` sending to sut's (`fc01::1` -> `fc01::2`, `10.12.1.1` -> `10.12.1.2`). The result
//! is a complete Ethernet frame with correct lengths and checksums. Pure: no I/O.

use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("packet spec `{spec}`, word {word}: {message}")]
pub struct SpecError {
    pub spec: String,
    /// 1-based index of the offending word
    pub word: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum L3 {
    V6 {
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
        tclass: u8,
        /// the 20-bit flow label
        flow: u32,
        /// the extension headers in order, each its next-header number (0 hop-by-hop, 60
        /// destination options) and its options (PadN-padded when built)
        ext: Vec<(u8, Vec<u8>)>,
    },
    V4 {
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        tos: u8,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum L4 {
    Udp { sport: u16, dport: u16 },
    Tcp { sport: u16, dport: u16, flags: u8 },
    Icmp { kind: u8, code: u8 },
    None,
}

/// A parsed packet spec.
#[derive(Debug, Clone, PartialEq)]
pub struct PacketSpec {
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    l3: L3,
    l4: L4,
    payload: Vec<u8>,
}

const TG_MAC: [u8; 6] = [0, 0, 0, 0, 1, 0];
const SUT_MAC: [u8; 6] = [0, 0, 0, 0, 2, 0];

fn default_v6() -> L3 {
    L3::V6 {
        src: "fc01::1".parse().expect("literal"),
        dst: "fc01::2".parse().expect("literal"),
        hop_limit: 64,
        tclass: 0,
        flow: 0,
        ext: Vec::new(),
    }
}

impl PacketSpec {
    pub fn parse(spec: &str) -> Result<Self, SpecError> {
        let err = |word: usize, message: String| SpecError {
            spec: spec.to_string(),
            word,
            message,
        };
        let words = split_words(spec).map_err(|m| err(0, m))?;
        if words.is_empty() {
            return Err(err(
                0,
                "empty: write the layers, e.g. `ipv6 udp dport=5000`".into(),
            ));
        }
        let mut p = PacketSpec {
            src_mac: TG_MAC,
            dst_mac: SUT_MAC,
            l3: default_v6(),
            l4: L4::None,
            payload: Vec::new(),
        };
        let mut have_l3 = false;
        let mut payload_len: Option<usize> = None;
        #[derive(PartialEq, Clone, Copy)]
        enum At {
            Eth,
            L3,
            Ext,
            L4,
            None,
        }
        let mut at = At::None;
        for (i, w) in words.iter().enumerate() {
            let n = i + 1;
            if let Some((k, v)) = w.split_once('=') {
                let bad = |what: &str| err(n, format!("`{v}` is not {what}"));
                match (at, k) {
                    (_, "payload") => {
                        p.payload = if let Some(h) = v.strip_prefix("hex:") {
                            parse_hex(h).ok_or_else(|| bad("hex bytes"))?
                        } else {
                            v.as_bytes().to_vec()
                        }
                    }
                    (_, "len") => payload_len = Some(v.parse().map_err(|_| bad("a length"))?),
                    (At::Eth, "src") => {
                        p.src_mac = crate::mac::parse_mac(v).ok_or_else(|| bad("a MAC"))?
                    }
                    (At::Eth, "dst") => {
                        p.dst_mac = crate::mac::parse_mac(v).ok_or_else(|| bad("a MAC"))?
                    }
                    (At::L3, _) => match (&mut p.l3, k) {
                        (L3::V6 { src, .. }, "src") => {
                            *src = v.parse().map_err(|_| bad("an IPv6 address"))?
                        }
                        (L3::V6 { dst, .. }, "dst") => {
                            *dst = v.parse().map_err(|_| bad("an IPv6 address"))?
                        }
                        (L3::V6 { hop_limit, .. }, "hlim" | "ttl") => {
                            *hop_limit = v.parse().map_err(|_| bad("0..255"))?
                        }
                        (L3::V6 { tclass, .. }, "tclass") => {
                            *tclass = v.parse().map_err(|_| bad("0..255"))?
                        }
                        (L3::V6 { flow, .. }, "flow") => {
                            *flow = parse_u32(v)
                                .filter(|f| *f <= 0xf_ffff)
                                .ok_or_else(|| bad("a flow label (0..0xfffff)"))?
                        }
                        (L3::V4 { src, .. }, "src") => {
                            *src = v.parse().map_err(|_| bad("an IPv4 address"))?
                        }
                        (L3::V4 { dst, .. }, "dst") => {
                            *dst = v.parse().map_err(|_| bad("an IPv4 address"))?
                        }
                        (L3::V4 { ttl, .. }, "ttl") => {
                            *ttl = v.parse().map_err(|_| bad("0..255"))?
                        }
                        (L3::V4 { tos, .. }, "tos") => {
                            *tos = v.parse().map_err(|_| bad("0..255"))?
                        }
                        _ => {
                            return Err(err(
                                n,
                                format!(
                                    "the IP layer has no option `{k}` (src, dst, ttl/hlim, tclass/tos, flow)"
                                ),
                            ));
                        }
                    },
                    (At::Ext, "opts") => {
                        let opts = v
                            .strip_prefix("hex:")
                            .and_then(parse_hex)
                            .filter(|o| o.len() <= 254)
                            .ok_or_else(|| bad("options as hex:TTLLDD.. (at most 254 bytes)"))?;
                        if let L3::V6 { ext, .. } = &mut p.l3
                            && let Some(last) = ext.last_mut()
                        {
                            last.1 = opts;
                        }
                    }
                    (At::L4, _) => match (&mut p.l4, k) {
                        (L4::Udp { sport, .. } | L4::Tcp { sport, .. }, "sport") => {
                            *sport = v.parse().map_err(|_| bad("a port"))?
                        }
                        (L4::Udp { dport, .. } | L4::Tcp { dport, .. }, "dport") => {
                            *dport = v.parse().map_err(|_| bad("a port"))?
                        }
                        (L4::Tcp { flags, .. }, "flags") => {
                            *flags =
                                tcp_flags(v).ok_or_else(|| bad("TCP flags like S, SA, F, R, P"))?
                        }
                        (L4::Icmp { kind, .. }, "type") => {
                            *kind = v.parse().map_err(|_| bad("0..255"))?
                        }
                        (L4::Icmp { code, .. }, "code") => {
                            *code = v.parse().map_err(|_| bad("0..255"))?
                        }
                        _ => return Err(err(n, format!("this layer has no option `{k}`"))),
                    },
                    _ => {
                        return Err(err(
                            n,
                            format!("option `{k}` must follow a layer it belongs to"),
                        ));
                    }
                }
                continue;
            }
            match w.as_str() {
                "eth" => at = At::Eth,
                "ipv6" | "ip6" => {
                    p.l3 = default_v6();
                    have_l3 = true;
                    at = At::L3
                }
                "ipv4" | "ip4" | "ip" => {
                    p.l3 = L3::V4 {
                        src: Ipv4Addr::new(10, 12, 1, 1),
                        dst: Ipv4Addr::new(10, 12, 1, 2),
                        ttl: 64,
                        tos: 0,
                    };
                    have_l3 = true;
                    at = At::L3
                }
                "hbh" | "dstopts" => match &mut p.l3 {
                    L3::V6 { ext, .. } => {
                        if p.l4 != L4::None {
                            return Err(err(
                                n,
                                format!("`{w}` comes before the upper layer (udp, tcp, icmp6)"),
                            ));
                        }
                        if w == "hbh" && !ext.is_empty() {
                            return Err(err(
                                n,
                                "a hop-by-hop header comes first, right after the IPv6 header"
                                    .into(),
                            ));
                        }
                        ext.push((if w == "hbh" { 0 } else { 60 }, Vec::new()));
                        at = At::Ext
                    }
                    L3::V4 { .. } => {
                        let what = if w == "hbh" {
                            "a hop-by-hop header"
                        } else {
                            "a destination options header"
                        };
                        return Err(err(n, format!("{what} needs ipv6")));
                    }
                },
                "udp" => {
                    p.l4 = L4::Udp {
                        sport: 1234,
                        dport: 5000,
                    };
                    at = At::L4
                }
                "tcp" => {
                    p.l4 = L4::Tcp {
                        sport: 1234,
                        dport: 80,
                        flags: 0x02,
                    };
                    at = At::L4
                }
                "icmp6" | "icmpv6" => {
                    if matches!(p.l3, L3::V4 { .. }) {
                        return Err(err(n, "icmp6 needs ipv6 (use `icmp` with ipv4)".into()));
                    }
                    p.l4 = L4::Icmp { kind: 128, code: 0 };
                    at = At::L4
                }
                "icmp" => {
                    p.l4 = match p.l3 {
                        L3::V4 { .. } => L4::Icmp { kind: 8, code: 0 },
                        L3::V6 { .. } => L4::Icmp { kind: 128, code: 0 },
                    };
                    at = At::L4
                }
                other => {
                    return Err(err(
                        n,
                        format!(
                            "unknown word `{other}` (layers: eth ipv6 ipv4 hbh dstopts udp tcp icmp6 icmp; options: key=value)"
                        ),
                    ));
                }
            }
        }
        if !have_l3 && p.l4 != L4::None {
            // `udp dport=5` alone means IPv6, the lab's default
            have_l3 = true;
        }
        let _ = have_l3;
        if let Some(n) = payload_len {
            p.payload.resize(n, 0);
        }
        if matches!(p.l4, L4::Udp { .. } | L4::Icmp { .. })
            && p.payload.is_empty()
            && payload_len.is_none()
        {
            p.payload = vec![0; 16];
        }
        Ok(p)
    }

    /// The Ethernet frame.
    pub fn build(&self) -> Vec<u8> {
        let l4 = self.l4_bytes();
        let mut f = Vec::with_capacity(14 + 40 + 8 + l4.len());
        f.extend_from_slice(&self.dst_mac);
        f.extend_from_slice(&self.src_mac);
        match &self.l3 {
            L3::V6 {
                src,
                dst,
                hop_limit,
                tclass,
                flow,
                ext,
            } => {
                f.extend_from_slice(&0x86ddu16.to_be_bytes());
                let proto = self.l4_proto();
                // each header's next header is the one after it, the last one's the upper layer
                let mut headers = Vec::new();
                for (i, (_, opts)) in ext.iter().enumerate() {
                    let next = ext.get(i + 1).map_or(proto, |(kind, _)| *kind);
                    headers.extend_from_slice(&options_header(next, opts));
                }
                let plen = (l4.len() + headers.len()) as u16;
                let vtf: u32 = (6 << 28) | ((*tclass as u32) << 20) | (*flow & 0xf_ffff);
                f.extend_from_slice(&vtf.to_be_bytes());
                f.extend_from_slice(&plen.to_be_bytes());
                f.push(ext.first().map_or(proto, |(kind, _)| *kind));
                f.push(*hop_limit);
                f.extend_from_slice(&src.octets());
                f.extend_from_slice(&dst.octets());
                f.extend_from_slice(&headers);
                let mut l4 = l4;
                self.fill_l4_checksum_v6(&mut l4, src, dst, proto);
                f.extend_from_slice(&l4);
            }
            L3::V4 { src, dst, ttl, tos } => {
                f.extend_from_slice(&0x0800u16.to_be_bytes());
                let total = (20 + l4.len()) as u16;
                let mut h = [0u8; 20];
                h[0] = 0x45;
                h[1] = *tos;
                h[2..4].copy_from_slice(&total.to_be_bytes());
                h[6] = 0x40; // DF
                h[8] = *ttl;
                h[9] = self.l4_proto();
                h[12..16].copy_from_slice(&src.octets());
                h[16..20].copy_from_slice(&dst.octets());
                let c = checksum(&[&h]);
                h[10..12].copy_from_slice(&c.to_be_bytes());
                f.extend_from_slice(&h);
                let mut l4 = l4;
                self.fill_l4_checksum_v4(&mut l4, src, dst);
                f.extend_from_slice(&l4);
            }
        }
        f
    }

    fn l4_proto(&self) -> u8 {
        match (&self.l4, &self.l3) {
            (L4::Udp { .. }, _) => 17,
            (L4::Tcp { .. }, _) => 6,
            (L4::Icmp { .. }, L3::V6 { .. }) => 58,
            (L4::Icmp { .. }, L3::V4 { .. }) => 1,
            (L4::None, _) => 59, // IPv6 "no next header"
        }
    }

    fn l4_bytes(&self) -> Vec<u8> {
        let mut b = Vec::new();
        match &self.l4 {
            L4::Udp { sport, dport } => {
                b.extend_from_slice(&sport.to_be_bytes());
                b.extend_from_slice(&dport.to_be_bytes());
                b.extend_from_slice(&((8 + self.payload.len()) as u16).to_be_bytes());
                b.extend_from_slice(&[0, 0]);
            }
            L4::Tcp {
                sport,
                dport,
                flags,
            } => {
                b.extend_from_slice(&sport.to_be_bytes());
                b.extend_from_slice(&dport.to_be_bytes());
                b.extend_from_slice(&1u32.to_be_bytes());
                b.extend_from_slice(&0u32.to_be_bytes());
                b.push(5 << 4);
                b.push(*flags);
                b.extend_from_slice(&65535u16.to_be_bytes());
                b.extend_from_slice(&[0, 0, 0, 0]);
            }
            L4::Icmp { kind, code } => {
                b.extend_from_slice(&[*kind, *code, 0, 0, 0x12, 0x34, 0, 1]);
            }
            L4::None => {}
        }
        b.extend_from_slice(&self.payload);
        b
    }

    fn csum_offset(&self) -> Option<usize> {
        match self.l4 {
            L4::Udp { .. } => Some(6),
            L4::Tcp { .. } => Some(16),
            L4::Icmp { .. } => Some(2),
            L4::None => None,
        }
    }

    fn fill_l4_checksum_v6(&self, l4: &mut [u8], src: &Ipv6Addr, dst: &Ipv6Addr, proto: u8) {
        let Some(off) = self.csum_offset() else {
            return;
        };
        let mut pseudo = Vec::with_capacity(40);
        pseudo.extend_from_slice(&src.octets());
        pseudo.extend_from_slice(&dst.octets());
        pseudo.extend_from_slice(&(l4.len() as u32).to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, proto]);
        let mut c = checksum(&[&pseudo, l4]);
        if c == 0 && proto == 17 {
            c = 0xffff;
        }
        l4[off..off + 2].copy_from_slice(&c.to_be_bytes());
    }

    fn fill_l4_checksum_v4(&self, l4: &mut [u8], src: &Ipv4Addr, dst: &Ipv4Addr) {
        let Some(off) = self.csum_offset() else {
            return;
        };
        let c = if matches!(self.l4, L4::Icmp { .. }) {
            checksum(&[l4])
        } else {
            let mut pseudo = Vec::with_capacity(12);
            pseudo.extend_from_slice(&src.octets());
            pseudo.extend_from_slice(&dst.octets());
            pseudo.extend_from_slice(&[0, self.l4_proto()]);
            pseudo.extend_from_slice(&(l4.len() as u16).to_be_bytes());
            checksum(&[&pseudo, l4])
        };
        l4[off..off + 2].copy_from_slice(&c.to_be_bytes());
    }
}

/// Parses and builds in one go.
pub fn frame(spec: &str) -> Result<Vec<u8>, SpecError> {
    PacketSpec::parse(spec).map(|p| p.build())
}

fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for p in parts {
        for &b in p.iter() {
            match odd.take() {
                Some(hi) => sum += u16::from_be_bytes([hi, b]) as u32,
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u16::from_be_bytes([hi, 0]) as u32;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A hop-by-hop or destination options header (the same layout): next header, length,
/// `options`, then PadN (or Pad1) to a multiple of 8 bytes; no options gives the 8-byte header
/// with a 4-byte PadN.
fn options_header(proto: u8, options: &[u8]) -> Vec<u8> {
    let mut h = vec![proto, 0];
    h.extend_from_slice(options);
    match (8 - h.len() % 8) % 8 {
        0 => {}
        1 => h.push(0),
        n => {
            h.extend_from_slice(&[1, n as u8 - 2]);
            h.resize(h.len() + n - 2, 0);
        }
    }
    h[1] = (h.len() / 8 - 1) as u8;
    h
}

/// Decimal or 0x hex.
fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let s: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn tcp_flags(s: &str) -> Option<u8> {
    let mut f = 0u8;
    for c in s.chars() {
        f |= match c.to_ascii_uppercase() {
            'F' => 0x01,
            'S' => 0x02,
            'R' => 0x04,
            'P' => 0x08,
            'A' => 0x10,
            'U' => 0x20,
            _ => return None,
        };
    }
    Some(f)
}

/// Splits on spaces, keeping `"..."` together (for payloads with spaces).
fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err("a `\"` is not closed".into());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_udp_defaults() {
        let f = frame("ipv6 udp dport=5000").unwrap();
        assert_eq!(f.len(), 14 + 40 + 8 + 16);
        assert_eq!(&f[0..6], &SUT_MAC);
        assert_eq!(&f[6..12], &TG_MAC);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        assert_eq!(f[20], 17);
        assert_eq!(u16::from_be_bytes([f[18], f[19]]), 24);
        assert_eq!(u16::from_be_bytes([f[56], f[57]]), 5000);
        // a correct checksum sums (with the pseudo header) to 0xffff, i.e. re-checksums to 0
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&f[22..54]);
        pseudo.extend_from_slice(&24u32.to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, 17]);
        assert_eq!(checksum(&[&pseudo, &f[54..]]), 0);
    }

    #[test]
    fn ipv4_icmp_and_options() {
        let f = frame("ipv4 dst=10.12.1.3 ttl=3 icmp payload=\"hi there\"").unwrap();
        assert_eq!(&f[12..14], &[0x08, 0x00]);
        assert_eq!(f[22], 3);
        assert_eq!(f[23], 1);
        assert_eq!(&f[30..34], &[10, 12, 1, 3]);
        assert_eq!(checksum(&[&f[14..34]]), 0, "IPv4 header checksum");
        assert_eq!(checksum(&[&f[34..]]), 0, "ICMP checksum");
        assert!(f.ends_with(b"hi there"));
    }

    #[test]
    fn hop_by_hop_and_tcp() {
        let f = frame("ipv6 hbh tcp dport=80 flags=SA").unwrap();
        assert_eq!(f[20], 0, "next header: hop-by-hop");
        assert_eq!(f[54], 6, "the HBH header's next header: TCP");
        assert_eq!(f[62 + 13], 0x12);
        let f =
            frame("eth src=02:00:00:00:00:09 ipv6 dst=fc01::3 udp payload=hex:deadbeef").unwrap();
        assert_eq!(&f[6..12], &[2, 0, 0, 0, 0, 9]);
        assert!(f.ends_with(&[0xde, 0xad, 0xbe, 0xef]));
        assert_eq!(f[53], 3);
    }

    #[test]
    fn flow_label_and_hop_by_hop_options() {
        let f = frame("ipv6 flow=0xabcde hbh opts=hex:3e0401020304 udp dport=7").unwrap();
        assert_eq!(&f[14..18], &[0x60, 0x0a, 0xbc, 0xde]);
        assert_eq!(f[20], 0, "hop-by-hop next");
        // the options, then PadN of 0 bytes to 8 in all
        assert_eq!(&f[54..62], &[17, 0, 0x3e, 4, 1, 2, 3, 4]);
        assert_eq!(u16::from_be_bytes([f[18], f[19]]) as usize, f.len() - 54);
        let g = frame("ipv6 hbh opts=hex:3e01aa udp").unwrap();
        assert_eq!(&g[54..62], &[17, 0, 0x3e, 1, 0xaa, 1, 1, 0]);
        let h = frame("ipv6 hbh udp").unwrap();
        assert_eq!(
            &h[54..62],
            &[17, 0, 1, 4, 0, 0, 0, 0],
            "the default PadN header"
        );
        assert!(PacketSpec::parse("ipv6 flow=0x100000").is_err());
        assert!(PacketSpec::parse("ipv6 hbh opts=3e").is_err());
    }

    /// A chain of extension headers (lesson 2's ext-headers exercise walks it): each header's
    /// next header names the one after it, the last one the upper layer, and each is as long
    /// as its length byte says.
    #[test]
    fn destination_options_after_hop_by_hop() {
        let f = frame("ipv6 hbh dstopts udp dport=5000").unwrap();
        assert_eq!(f[20], 0, "IPv6 next header: hop-by-hop");
        assert_eq!(
            &f[54..62],
            &[60, 0, 1, 4, 0, 0, 0, 0],
            "hop-by-hop, then dstopts"
        );
        assert_eq!(&f[62..70], &[17, 0, 1, 4, 0, 0, 0, 0], "dstopts, then UDP");
        assert_eq!(u16::from_be_bytes([f[72], f[73]]), 5000);
        assert_eq!(u16::from_be_bytes([f[18], f[19]]) as usize, f.len() - 54);
        let g = frame("ipv6 hbh opts=hex:3e0c0102030405060708090a0b0c dstopts opts=hex:3e0c0102030405060708090a0b0c icmp6")
            .unwrap();
        assert_eq!(&g[54..56], &[60, 1], "16 bytes: length 1");
        assert_eq!(&g[70..72], &[58, 1], "the second header starts 16 bytes on");
        assert_eq!(g[86], 128, "the echo request after both");
        let h = frame("ipv6 dstopts tcp").unwrap();
        assert_eq!((h[20], h[54]), (60, 6));
        assert!(
            PacketSpec::parse("ipv6 dstopts hbh udp")
                .unwrap_err()
                .message
                .contains("comes first")
        );
        assert!(
            PacketSpec::parse("ipv6 udp dstopts")
                .unwrap_err()
                .message
                .contains("before the upper layer")
        );
        assert!(
            PacketSpec::parse("ipv4 dstopts")
                .unwrap_err()
                .message
                .contains("needs ipv6")
        );
    }

    #[test]
    fn errors_name_the_word() {
        let e = PacketSpec::parse("ipv6 udp dport=99999").unwrap_err();
        assert_eq!(e.word, 3);
        assert!(e.message.contains("not a port"), "{e}");
        let e = PacketSpec::parse("ipv6 udpp").unwrap_err();
        assert!(e.message.contains("unknown word `udpp`"), "{e}");
        assert!(
            PacketSpec::parse("ipv4 hbh")
                .unwrap_err()
                .message
                .contains("needs ipv6")
        );
        assert!(
            PacketSpec::parse("dport=5")
                .unwrap_err()
                .message
                .contains("must follow")
        );
        assert!(PacketSpec::parse("").is_err());
        assert!(PacketSpec::parse("ipv6 udp payload=\"open").is_err());
        assert!(PacketSpec::parse("ipv6 tcp flags=Q").is_err());
    }
}
