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
