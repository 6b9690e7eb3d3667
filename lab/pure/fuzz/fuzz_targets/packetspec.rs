//! The packet syntax (`ipv6 udp dport=53`): a spec parses to a frame whose lengths agree with
//! its headers, or to an error; never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let spec = String::from_utf8_lossy(data);
    match eclat_model::packetspec::frame(&spec) {
        Ok(f) => {
            assert!(f.len() >= 14, "a frame shorter than Ethernet");
            match u16::from_be_bytes([f[12], f[13]]) {
                0x86dd => {
                    let plen = u16::from_be_bytes([f[18], f[19]]) as usize;
                    assert_eq!(plen + 54, f.len(), "the IPv6 payload length");
                }
                0x0800 => {
                    let total = u16::from_be_bytes([f[16], f[17]]) as usize;
                    assert_eq!(total + 14, f.len(), "the IPv4 total length");
                }
                t => panic!("ethertype {t:#x}"),
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
