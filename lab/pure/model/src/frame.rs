//! The fields of an Ethernet frame (IPv6, with its hop-by-hop, routing and destination
//! options headers skipped, or IPv4; then UDP, TCP, ICMPv6 or ICMP), named in the words of
//! the packet syntax (`ipv6.hlim`, `ipv6.tclass`, `udp.dport`, ...): what `test` shows of the
//! frame a program leaves (the fields it changed), and what a lesson check's `frame`
//! expectations (`ipv6.hlim == 63`) assert on that frame. Pure: no I/O.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Serialize;

/// How a field's value is written and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// a number, shown in decimal
    Num,
    /// a number, shown in hex (EtherType, checksums)
    Hex,
    Mac,
    V6,
    V4,
    /// bytes, shown in hex
    Bytes,
}

/// Every field this module reads, with its kind, in frame order.
const FIELDS: &[(&str, Kind)] = &[
    ("len", Kind::Num),
    ("eth.dst", Kind::Mac),
    ("eth.src", Kind::Mac),
    ("eth.type", Kind::Hex),
    ("ipv6.tclass", Kind::Num),
    ("ipv6.dscp", Kind::Num),
    ("ipv6.ecn", Kind::Num),
    ("ipv6.flow", Kind::Num),
    ("ipv6.plen", Kind::Num),
    ("ipv6.next", Kind::Num),
    ("ipv6.hlim", Kind::Num),
    ("ipv6.src", Kind::V6),
    ("ipv6.dst", Kind::V6),
    ("ipv4.tos", Kind::Num),
    ("ipv4.dscp", Kind::Num),
    ("ipv4.ecn", Kind::Num),
    ("ipv4.len", Kind::Num),
    ("ipv4.ttl", Kind::Num),
    ("ipv4.proto", Kind::Num),
    ("ipv4.csum", Kind::Hex),
    ("ipv4.src", Kind::V4),
    ("ipv4.dst", Kind::V4),
    ("udp.sport", Kind::Num),
    ("udp.dport", Kind::Num),
    ("udp.len", Kind::Num),
    ("udp.csum", Kind::Hex),
    ("tcp.sport", Kind::Num),
    ("tcp.dport", Kind::Num),
    ("tcp.flags", Kind::Hex),
    ("tcp.csum", Kind::Hex),
    ("icmp6.type", Kind::Num),
    ("icmp6.code", Kind::Num),
    ("icmp6.csum", Kind::Hex),
    ("icmp.type", Kind::Num),
    ("icmp.code", Kind::Num),
    ("icmp.csum", Kind::Hex),
    ("payload", Kind::Bytes),
];

/// Other names people write for a field (or a layer), and the field's name here.
const ALIASES: &[(&str, &str)] = &[
    ("ipv6.hop_limit", "ipv6.hlim"),
    ("ipv6.ttl", "ipv6.hlim"),
    ("ipv6.traffic_class", "ipv6.tclass"),
    ("ipv6.flow_label", "ipv6.flow"),
    ("ipv6.next_header", "ipv6.next"),
    ("ipv6.payload_length", "ipv6.plen"),
    ("ipv4.protocol", "ipv4.proto"),
    ("ipv4.checksum", "ipv4.csum"),
    ("udp.checksum", "udp.csum"),
    ("tcp.checksum", "tcp.csum"),
];

fn kind(name: &str) -> Option<Kind> {
    FIELDS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

/// A field's name as this module writes it, from what a person wrote (`ip6.hop_limit`,
/// `IPv6.HLIM`); `None` when it names no field.
pub fn canonical(name: &str) -> Option<&'static str> {
    let n = name.trim().to_ascii_lowercase();
    let n = match n.split_once('.') {
        Some((layer, f)) => {
            let layer = match layer {
                "ip6" => "ipv6",
                "ip" | "ip4" => "ipv4",
                "icmpv6" => "icmp6",
                l => l,
            };
            format!("{layer}.{f}")
        }
        None => n,
    };
    let n = ALIASES
        .iter()
        .find(|(a, _)| *a == n)
        .map(|(_, c)| c.to_string())
        .unwrap_or(n);
    FIELDS.iter().find(|(f, _)| *f == n).map(|(f, _)| *f)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn show(k: Kind, v: u64) -> String {
    match k {
        Kind::Hex => format!("{v:#06x}"),
        _ => v.to_string(),
    }
}

/// The fields of `frame` in frame order, each `(name, value as text)`: only the layers the
/// frame has (an IPv4 frame has no `ipv6.*`), and a header cut short gives none of its
/// fields.
pub fn fields(frame: &[u8]) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = vec![("len", frame.len().to_string())];
    let num = |out: &mut Vec<(&'static str, String)>, name: &'static str, v: u64| {
        out.push((name, show(kind(name).unwrap_or(Kind::Num), v)));
    };
    let Some(eth) = frame.get(0..14) else {
        return out;
    };
    out.push((
        "eth.dst",
        crate::mac::fmt_mac(&eth[0..6].try_into().unwrap_or([0; 6])),
    ));
    out.push((
        "eth.src",
        crate::mac::fmt_mac(&eth[6..12].try_into().unwrap_or([0; 6])),
    ));
    let ethertype = u16::from_be_bytes([eth[12], eth[13]]);
    num(&mut out, "eth.type", ethertype.into());
    let (proto, l4) = match ethertype {
        0x86dd => {
            let Some(h) = frame.get(14..54) else {
                return out;
            };
            let w = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
            let tclass = (w >> 20) & 0xff;
            num(&mut out, "ipv6.tclass", tclass.into());
            num(&mut out, "ipv6.dscp", (tclass >> 2).into());
            num(&mut out, "ipv6.ecn", (tclass & 3).into());
            num(&mut out, "ipv6.flow", (w & 0xf_ffff).into());
            num(
                &mut out,
                "ipv6.plen",
                u16::from_be_bytes([h[4], h[5]]).into(),
            );
            num(&mut out, "ipv6.next", h[6].into());
            num(&mut out, "ipv6.hlim", h[7].into());
            let a = |r: std::ops::Range<usize>| {
                let b: [u8; 16] = h[r].try_into().unwrap_or([0; 16]);
                Ipv6Addr::from(b).to_string()
            };
            out.push(("ipv6.src", a(8..24)));
            out.push(("ipv6.dst", a(24..40)));
            // hop-by-hop, routing, destination options: next header, then length in 8-byte units
            let (mut next, mut at) = (h[6], 54usize);
            while matches!(next, 0 | 43 | 60) {
                let (Some(&n), Some(&l)) = (frame.get(at), frame.get(at + 1)) else {
                    return out;
                };
                next = n;
                at += (usize::from(l) + 1) * 8;
            }
            (next, at)
        }
        0x0800 => {
            let Some(h) = frame.get(14..34) else {
                return out;
            };
            num(&mut out, "ipv4.tos", h[1].into());
            num(&mut out, "ipv4.dscp", (h[1] >> 2).into());
            num(&mut out, "ipv4.ecn", (h[1] & 3).into());
            num(
                &mut out,
                "ipv4.len",
                u16::from_be_bytes([h[2], h[3]]).into(),
            );
            num(&mut out, "ipv4.ttl", h[8].into());
            num(&mut out, "ipv4.proto", h[9].into());
            num(
                &mut out,
                "ipv4.csum",
                u16::from_be_bytes([h[10], h[11]]).into(),
            );
            let a = |at: usize| Ipv4Addr::new(h[at], h[at + 1], h[at + 2], h[at + 3]).to_string();
            out.push(("ipv4.src", a(12)));
            out.push(("ipv4.dst", a(16)));
            (h[9], 14 + usize::from(h[0] & 0x0f).max(5) * 4)
        }
        _ => return out,
    };
    let payload_at = match proto {
        17 => {
            let (Some(s), Some(d), Some(l), Some(c)) = (
                be16(frame, l4),
                be16(frame, l4 + 2),
                be16(frame, l4 + 4),
                be16(frame, l4 + 6),
            ) else {
                return out;
            };
            num(&mut out, "udp.sport", s.into());
            num(&mut out, "udp.dport", d.into());
            num(&mut out, "udp.len", l.into());
            num(&mut out, "udp.csum", c.into());
            l4 + 8
        }
        6 => {
            let (Some(s), Some(d), Some(&off), Some(&f), Some(c)) = (
                be16(frame, l4),
                be16(frame, l4 + 2),
                frame.get(l4 + 12),
                frame.get(l4 + 13),
                be16(frame, l4 + 16),
            ) else {
                return out;
            };
            num(&mut out, "tcp.sport", s.into());
            num(&mut out, "tcp.dport", d.into());
            num(&mut out, "tcp.flags", f.into());
            num(&mut out, "tcp.csum", c.into());
            l4 + usize::from(off >> 4).max(5) * 4
        }
        58 | 1 => {
            let v6 = proto == 58;
            let (Some(&t), Some(&code), Some(c)) =
                (frame.get(l4), frame.get(l4 + 1), be16(frame, l4 + 2))
            else {
                return out;
            };
            let [ty, co, cs] = if v6 {
                ["icmp6.type", "icmp6.code", "icmp6.csum"]
            } else {
                ["icmp.type", "icmp.code", "icmp.csum"]
            };
            num(&mut out, ty, t.into());
            num(&mut out, co, code.into());
            num(&mut out, cs, c.into());
            l4 + 8
        }
        _ => return out,
    };
    out.push(("payload", hex(frame.get(payload_at..).unwrap_or(&[]))));
    out
}

/// One field a program changed: its value in the frame given and in the frame it left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct FieldChange {
    /// the field, in the packet syntax's words (`ipv6.hlim`, `udp.csum`, `payload`), or
    /// `bytes N..M` for bytes no field it reads covers (an IPv4 option, an extension header)
    pub field: String,
    /// its value in the frame given (`(none)`: that frame has no such field)
    pub before: String,
    /// its value in the frame the program left (`(none)`: that frame has no such field)
    pub after: String,
}

/// The fields that differ between the frame given and the frame left, in frame order;
/// empty when the two are the same bytes. Bytes that differ under no field it reads are
/// one `bytes N..M` change (the first and last differing byte).
pub fn changes(before: &[u8], after: &[u8]) -> Vec<FieldChange> {
    if before == after {
        return Vec::new();
    }
    let (b, a) = (fields(before), fields(after));
    let get = |v: &[(&'static str, String)], n: &str| {
        v.iter()
            .find(|(f, _)| *f == n)
            .map(|(_, x)| x.clone())
            .unwrap_or_else(|| "(none)".into())
    };
    let out: Vec<FieldChange> = FIELDS
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| b.iter().chain(a.iter()).any(|(f, _)| f == n))
        .filter_map(|n| {
            let (x, y) = (get(&b, n), get(&a, n));
            (x != y).then(|| FieldChange {
                field: n.to_string(),
                before: x,
                after: y,
            })
        })
        .collect();
    if !out.is_empty() {
        return out;
    }
    let n = before.len().max(after.len());
    let first = (0..n).find(|&i| before.get(i) != after.get(i)).unwrap_or(0);
    let last = (0..n)
        .rev()
        .find(|&i| before.get(i) != after.get(i))
        .unwrap_or(first);
    let part = |f: &[u8]| {
        hex(f
            .get(first.min(f.len())..(last + 1).min(f.len()))
            .unwrap_or(&[]))
    };
    vec![FieldChange {
        field: format!("bytes {first}..{}", last + 1),
        before: part(before),
        after: part(after),
    }]
}

/// What a frame must hold in one field: `ipv6.hlim == 63` (or `=`), in the packet syntax's
/// words or a longer alias (`ipv6.hop_limit`); a number in decimal or `0x` hex, an address,
/// a MAC, or for `payload` `hex:...` or a quoted string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldExpect {
    /// the field's name as [`fields`] writes it
    pub field: &'static str,
    /// the value as [`fields`] would write it
    pub want: String,
}

impl FieldExpect {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (name, value) = text
            .split_once("==")
            .or_else(|| text.split_once('='))
            .ok_or_else(|| format!("`{text}`: write FIELD == VALUE, e.g. `ipv6.hlim == 63`"))?;
        let field = canonical(name).ok_or_else(|| {
            format!(
                "`{text}`: no field `{}` (the fields: {})",
                name.trim(),
                FIELDS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        let v = value.trim();
        let bad = |what: &str| format!("`{text}`: `{v}` is not {what}");
        let num = || -> Option<u64> {
            match v.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => v.parse().ok(),
            }
        };
        let want = match kind(field).unwrap_or(Kind::Num) {
            k @ (Kind::Num | Kind::Hex) => show(k, num().ok_or_else(|| bad("a number"))?),
            Kind::Mac => {
                crate::mac::fmt_mac(&crate::mac::parse_mac(v).ok_or_else(|| bad("a MAC"))?)
            }
            Kind::V6 => v
                .parse::<Ipv6Addr>()
                .map_err(|_| bad("an IPv6 address"))?
                .to_string(),
            Kind::V4 => v
                .parse::<Ipv4Addr>()
                .map_err(|_| bad("an IPv4 address"))?
                .to_string(),
            Kind::Bytes => match v.strip_prefix("hex:") {
                Some(h) if h.len() % 2 == 0 && h.bytes().all(|c| c.is_ascii_hexdigit()) => {
                    h.to_ascii_lowercase()
                }
                Some(_) => return Err(bad("hex bytes")),
                None => hex(v.trim_matches('"').as_bytes()),
            },
        };
        Ok(FieldExpect { field, want })
    }

    /// The field's value in `frame`, when it differs from the one wanted (`(none)`: the
    /// frame has no such field); `None` when it holds the value wanted.
    pub fn mismatch(&self, frame: &[u8]) -> Option<String> {
        let seen = fields(frame)
            .into_iter()
            .find(|(f, _)| *f == self.field)
            .map(|(_, v)| v)
            .unwrap_or_else(|| "(none)".into());
        (seen != self.want).then_some(seen)
    }
}

impl std::fmt::Display for FieldExpect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.field, self.want)
    }
}

/// The bytes of a row of [`byte_diff`]: as many as a row holds, `None` where the frame has
/// ended.
pub type RowBytes = Vec<Option<u8>>;

/// One row of a hex dump (`ROW` bytes from `offset`) where the frame given and the frame left
/// differ: both frames' bytes, and which of them differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteRow {
    /// the offset of the row's first byte in the frames
    pub offset: usize,
    /// the frame given's bytes in the row
    pub before: RowBytes,
    /// the frame left's bytes in the row
    pub after: RowBytes,
}

impl ByteRow {
    /// Does the byte at `i` of the row differ (one frame ended before it counts)?
    pub fn differs(&self, i: usize) -> bool {
        self.before.get(i) != self.after.get(i)
    }
}

/// The bytes a hex dump row holds.
pub const ROW: usize = 16;

/// The rows of a hex dump of two frames (the one given, the one left) where they differ, in
/// order: empty when they are the same bytes. A frame that is shorter ends in `None`s.
pub fn byte_diff(before: &[u8], after: &[u8]) -> Vec<ByteRow> {
    let n = before.len().max(after.len());
    (0..n)
        .step_by(ROW)
        .filter_map(|offset| {
            let row = |f: &[u8]| -> RowBytes {
                (offset..(offset + ROW).min(n))
                    .map(|i| f.get(i).copied())
                    .collect()
            };
            let (b, a) = (row(before), row(after));
            (b != a).then_some(ByteRow {
                offset,
                before: b,
                after: a,
            })
        })
        .collect()
}

/// A frame as hex, two digits a byte (`--json`'s output frame).
pub fn to_hex(frame: &[u8]) -> String {
    hex(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packetspec::frame;

    #[test]
    fn byte_diff_keeps_only_the_rows_that_differ() {
        let given = frame("ipv6 hlim=64 udp dport=5000").unwrap();
        let mut left = given.clone();
        left[21] = 63; // the hop limit: row 0x10, byte 5
        let d = byte_diff(&given, &left);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].offset, 16);
        assert_eq!(d[0].before.len(), ROW);
        let changed: Vec<usize> = (0..ROW).filter(|&i| d[0].differs(i)).collect();
        assert_eq!(changed, [5]);
        assert_eq!((d[0].before[5], d[0].after[5]), (Some(64), Some(63)));
        assert!(byte_diff(&given, &given).is_empty());
        // a frame left longer: its last row's extra bytes have nothing before them
        let d = byte_diff(&[1, 2, 3], &[1, 2, 3, 4]);
        assert_eq!(d[0].before, [Some(1), Some(2), Some(3), None]);
        assert!(d[0].differs(3) && !d[0].differs(2));
        assert!(byte_diff(&[], &[]).is_empty());
    }

    #[test]
    fn fields_read_what_the_packet_syntax_wrote() {
        let f = frame("ipv6 tclass=185 flow=1048575 hlim=7 udp sport=9 dport=5000 payload=\"hi\"")
            .unwrap();
        let v = fields(&f);
        let get = |n: &str| v.iter().find(|(f, _)| *f == n).unwrap().1.clone();
        assert_eq!(get("ipv6.tclass"), "185");
        assert_eq!(get("ipv6.dscp"), "46");
        assert_eq!(get("ipv6.ecn"), "1");
        assert_eq!(get("ipv6.flow"), "1048575");
        assert_eq!(get("ipv6.hlim"), "7");
        assert_eq!(get("ipv6.dst"), "fc01::2");
        assert_eq!(get("udp.dport"), "5000");
        assert_eq!(get("payload"), "6869");
        let v4 = fields(&frame("ipv4 ttl=9 tos=4 tcp dport=80 flags=S").unwrap());
        assert!(v4.contains(&("ipv4.ttl", "9".into())));
        assert!(v4.contains(&("ipv4.dscp", "1".into())));
        assert!(v4.contains(&("tcp.dport", "80".into())));
        assert!(v4.contains(&("tcp.flags", "0x0002".into())));
        // past a hop-by-hop header
        let hbh = fields(&frame("ipv6 hbh udp dport=7").unwrap());
        assert!(hbh.contains(&("udp.dport", "7".into())));
        // cut short: no panic, no field of the cut header
        let cut = fields(&f[..30]);
        assert!(!cut.iter().any(|(n, _)| n.starts_with("ipv6")));
        assert!(fields(&[]).len() == 1);
    }

    #[test]
    fn changes_name_the_fields_a_program_wrote() {
        let a = frame("ipv6 hlim=64 udp dport=5000").unwrap();
        let b = frame("ipv6 hlim=63 udp dport=5000").unwrap();
        assert_eq!(changes(&a, &a), vec![]);
        assert_eq!(
            changes(&a, &b),
            vec![FieldChange {
                field: "ipv6.hlim".into(),
                before: "64".into(),
                after: "63".into()
            }]
        );
        let c = frame("ipv6 tclass=184 udp dport=5000").unwrap();
        let names: Vec<String> = changes(&a, &c).into_iter().map(|c| c.field).collect();
        assert_eq!(names, ["ipv6.tclass", "ipv6.dscp"]);
        // bytes no field covers
        let mut d = frame("ipv6 hbh opts=hex:3e0401020304 udp").unwrap();
        let e = d.clone();
        d[58] ^= 0xff;
        let ch = changes(&e, &d);
        assert_eq!(ch.len(), 1);
        assert_eq!(ch[0].field, "bytes 58..59");
        // a shorter frame
        assert!(changes(&a, &a[..20]).iter().any(|c| c.field == "len"));
    }

    proptest::proptest! {
        /// Any bytes, as a frame a program left: fields and changes never panic.
        #[test]
        fn any_bytes_read_without_panic(
            a in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120),
            b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120),
            v6 in proptest::prelude::any::<bool>(),
        ) {
            let mut a = a;
            if a.len() > 14 {
                a[12..14].copy_from_slice(if v6 { &[0x86, 0xdd] } else { &[0x08, 0x00] });
            }
            let _ = fields(&a);
            let _ = changes(&a, &b);
            let _ = FieldExpect::parse("ipv6.hlim == 1").unwrap().mismatch(&a);
        }
    }

    #[test]
    fn expectations_parse_and_judge() {
        let f = frame("ipv6 hlim=64 tclass=3 udp dport=5000").unwrap();
        let e = FieldExpect::parse("ipv6.hop_limit == 63").unwrap();
        assert_eq!(e.field, "ipv6.hlim");
        assert_eq!(e.mismatch(&f), Some("64".into()));
        assert_eq!(
            FieldExpect::parse("ip6.hlim=64").unwrap().mismatch(&f),
            None
        );
        assert_eq!(
            FieldExpect::parse("ipv6.ecn == 3").unwrap().mismatch(&f),
            None
        );
        assert_eq!(
            FieldExpect::parse("ipv6.tclass == 0x03")
                .unwrap()
                .mismatch(&f),
            None
        );
        assert_eq!(
            FieldExpect::parse("ipv6.dst == fc01:0::2")
                .unwrap()
                .mismatch(&f),
            None
        );
        assert_eq!(
            FieldExpect::parse("ipv4.ttl == 63").unwrap().mismatch(&f),
            Some("(none)".into())
        );
        let g = frame("ipv6 udp payload=\"hi\"").unwrap();
        assert_eq!(
            FieldExpect::parse("payload == \"hi\"")
                .unwrap()
                .mismatch(&g),
            None
        );
        assert_eq!(
            FieldExpect::parse("payload == hex:6869")
                .unwrap()
                .mismatch(&g),
            None
        );
        assert!(
            FieldExpect::parse("ipv6.hlm == 3")
                .unwrap_err()
                .contains("no field")
        );
        assert!(
            FieldExpect::parse("ipv6.hlim == x")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(FieldExpect::parse("ipv6.hlim").is_err());
        assert_eq!(
            FieldExpect::parse("udp.csum == 0").unwrap().to_string(),
            "udp.csum 0x0000"
        );
    }
}
