//! Crafted frames for `BPF_PROG_TEST_RUN` (tests, benchmarks, `eclat-lab test`).

pub use hike::vm::models::{ip6, ipv6_udp_frame};

/// The benchmark frame: Ethernet + IPv6 + UDP with a 16-byte payload, 78 bytes (as in
/// hike.md section 10).
pub fn bench_frame() -> Vec<u8> {
    ipv6_udp_frame(
        ip6("12:1::1").expect("addr"),
        ip6("fc01::2").expect("addr"),
        1234,
        5678,
        &[0u8; 16],
    )
}

/// Ethernet + IPv4 + UDP.
pub fn ipv4_udp_frame(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(42 + payload.len());
    f.extend_from_slice(&[0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0, 0x08, 0x00]);
    let tot = (20 + 8 + payload.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&tot.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let mut sum: u32 = ip
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]) as u32)
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let ck = !(sum as u16);
    ip[10..12].copy_from_slice(&ck.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

/// Ethernet + IPv6 + a hop-by-hop extension header (8 bytes, PadN) + UDP.
pub fn ipv6_hbh_udp_frame(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16) -> Vec<u8> {
    let mut f = ipv6_udp_frame(src, dst, sport, dport, &[]);
    // next header of IPv6 becomes hop-by-hop (0); insert the option header before UDP
    f[20] = 0;
    let hbh = [17u8, 0, 1, 4, 0, 0, 0, 0];
    let plen = u16::from_be_bytes([f[18], f[19]]) + 8;
    f[18..20].copy_from_slice(&plen.to_be_bytes());
    let mut out = f[..54].to_vec();
    out.extend_from_slice(&hbh);
    out.extend_from_slice(&f[54..]);
    out
}

/// An IPv6 extension header for [`ipv6_ext_udp_frame`]: the protocol number that announces it
/// (0 hop-by-hop, 43 routing, 44 fragment, 60 destination options; any other number makes a
/// header a walker must stop at) and its bytes. The builder fills in the first byte (the next
/// header field); everything else, the length byte included, is written as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtHeader {
    pub proto: u8,
    pub bytes: Vec<u8>,
}

impl ExtHeader {
    /// A hop-by-hop (0) or destination options (60) header of `len` bytes (a multiple of 8,
    /// 8..=2048): Hdr Ext Len = `len / 8 - 1`, the options area filled with experimental
    /// options (type 0x1e, RFC 4727; receivers that do not know it skip it) whose data bytes
    /// are 0x5a, so that no byte inside the header looks like a header of its own.
    pub fn options(proto: u8, len: usize) -> Self {
        assert!(
            len.is_multiple_of(8) && (8..=2048).contains(&len),
            "extension header length {len}"
        );
        let mut bytes = vec![0x5au8; len];
        bytes[0] = 0;
        bytes[1] = (len / 8 - 1) as u8;
        // an option's data is at most 255 bytes: one option per 256-byte stretch
        let mut at = 2;
        while at < len {
            if len - at == 1 {
                bytes[at] = 0; // Pad1
                break;
            }
            let data = (len - at - 2).min(255);
            bytes[at] = 0x1e;
            bytes[at + 1] = data as u8;
            at += 2 + data;
        }
        Self { proto, bytes }
    }

    /// A routing header (43) of `len` bytes (a multiple of 8, 8..=2048), routing type 253
    /// (experimental, RFC 4727) with segments left 0, so a router would ignore it.
    pub fn routing(len: usize) -> Self {
        let mut h = Self::options(43, len);
        h.bytes[2] = 253;
        h.bytes[3] = 0;
        h
    }

    /// A fragment header (44, always 8 bytes): the first fragment (offset 0, more fragments)
    /// of datagram `id`; `reserved` goes into its second byte, which receivers must ignore.
    pub fn fragment(reserved: u8, id: u32) -> Self {
        Self::fragment_at(reserved, 0, id)
    }

    /// The same at fragment offset `offset` (in 8-byte units, below 8192): only the fragment
    /// at offset 0 carries the upper-layer header.
    pub fn fragment_at(reserved: u8, offset: u16, id: u32) -> Self {
        assert!(offset < 8192, "fragment offset {offset}");
        let mut bytes = vec![0, reserved];
        bytes.extend_from_slice(&((offset << 3) | 1).to_be_bytes());
        bytes.extend_from_slice(&id.to_be_bytes());
        Self { proto: 44, bytes }
    }
}

/// Ethernet + IPv6 + `headers` (in order) + UDP + `payload`, with the next header fields
/// chained and the payload length set.
pub fn ipv6_ext_udp_frame(
    src: [u8; 16],
    dst: [u8; 16],
    sport: u16,
    dport: u16,
    headers: &[ExtHeader],
    payload: &[u8],
) -> Vec<u8> {
    let plain = ipv6_udp_frame(src, dst, sport, dport, payload);
    let (ip, udp) = plain.split_at(54);
    let mut f = ip.to_vec();
    let mut next_at = 20; // where the next header field of the previous header is
    for h in headers {
        assert!(!h.bytes.is_empty(), "an extension header has bytes");
        f[next_at] = h.proto;
        next_at = f.len();
        f.extend_from_slice(&h.bytes);
    }
    f[next_at] = 17;
    f.extend_from_slice(udp);
    let plen = (f.len() - 54) as u16;
    f[18..20].copy_from_slice(&plen.to_be_bytes());
    f
}
