//! MAC addresses as the lab writes them: `00:00:00:00:01:00`.

/// `[0, 0, 0, 0, 1, 0]` -> `00:00:00:00:01:00`.
pub fn fmt_mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses `00:00:00:00:01:00` (six groups of two hex digits).
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut m = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        if p.len() != 2 {
            return None;
        }
        m[i] = u8::from_str_radix(p, 16).ok()?;
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let m = parse_mac("00:00:00:00:01:0a").unwrap();
        assert_eq!(m, [0, 0, 0, 0, 1, 10]);
        assert_eq!(fmt_mac(&m), "00:00:00:00:01:0a");
        for bad in [
            "",
            "00:00",
            "0:00:00:00:01:00",
            "00:00:00:00:01:zz",
            "00:00:00:00:01:00:00",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }
}
