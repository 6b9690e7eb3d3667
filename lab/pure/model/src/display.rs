//! Decoding map keys and values through their BTF layouts, for `map dump` and the TUI.

use hike::catalog::TypeLayout;

pub fn mac(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn int_text(b: &[u8], int: Option<hike::catalog::IntType>) -> String {
    let mut raw = [0u8; 8];
    let n = b.len().min(8);
    raw[..n].copy_from_slice(&b[..n]);
    let u = u64::from_le_bytes(raw);
    match int {
        Some(t) if t.signed() => {
            let shift = 64 - t.bits();
            (((u << shift) as i64) >> shift).to_string()
        }
        _ => u.to_string(),
    }
}

fn bytes_text(name: &str, b: &[u8]) -> String {
    match b.len() {
        16 => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(b).expect("16")).to_string(),
        4 if name.contains("addr") => {
            std::net::Ipv4Addr::from(<[u8; 4]>::try_from(b).expect("4")).to_string()
        }
        6 if name.contains("mac") || name.contains("addr") => mac(b),
        _ => b.iter().map(|x| format!("{x:02x}")).collect(),
    }
}

/// Renders `bytes` (one key or one value) by `layout`: an integer, `{field: value, ...}`,
/// IPv6 addresses for 16-byte fields, IPv4 addresses for 4-byte `*addr*` byte fields, hex
/// otherwise.
pub fn format(layout: &TypeLayout, bytes: &[u8]) -> String {
    if layout.fields.is_empty() {
        return match layout.size {
            1 | 2 | 4 | 8 if bytes.len() >= layout.size as usize => {
                let int = hike::catalog::IntType::parse(&layout.name);
                int_text(&bytes[..layout.size as usize], int)
            }
            _ => bytes_text(&layout.name, bytes),
        };
    }
    let parts: Vec<String> = layout
        .fields
        .iter()
        .filter_map(|f| {
            let b = bytes.get(f.offset as usize..(f.offset + f.size) as usize)?;
            let v = if f.int.is_some() {
                int_text(b, f.int)
            } else {
                bytes_text(&f.name, b)
            };
            Some(format!("{}: {v}", f.name))
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use hike::catalog::{Field, TypeLayout};

    #[test]
    fn address_fields_read_as_addresses() {
        let layout = TypeLayout {
            name: "struct rx_flow".into(),
            size: 8,
            fields: vec![
                Field {
                    name: "addr".into(),
                    offset: 0,
                    size: 4,
                    int: None,
                },
                Field {
                    name: "sport".into(),
                    offset: 4,
                    size: 2,
                    int: Some(hike::catalog::IntType::U16),
                },
            ],
        };
        let mut b = vec![10, 0, 2, 2];
        b.extend_from_slice(&40000u16.to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        assert_eq!(super::format(&layout, &b), "{addr: 10.0.2.2, sport: 40000}");
    }
}
