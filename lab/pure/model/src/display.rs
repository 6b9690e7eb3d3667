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
/// otherwise. Every field, padding included (`--json`'s text).
pub fn format(layout: &TypeLayout, bytes: &[u8]) -> String {
    format_fields(layout, bytes, false)
}

/// A struct field that only fills space: `pad`, `padding`, `pad1`, `pad_2`, or any name
/// starting with `__` (`__pad1`, `__reserved`); not a word that only starts like one
/// (`paddr`).
pub fn is_padding(name: &str) -> bool {
    if name.starts_with("__") {
        return true;
    }
    let Some(rest) = name.strip_prefix("pad") else {
        return false;
    };
    let rest = rest.strip_prefix("ding").unwrap_or(rest);
    rest.chars().all(|c| c.is_ascii_digit() || c == '_')
}

/// [`format`] as people read it: padding fields ([`is_padding`]) left out while they are 0
/// (at 80x24 lesson 4's `map dump lb_rx_flows` took two lines an entry, `pad: 0` on the
/// second); a padding field that is not 0 still shows, since then it means something.
pub fn format_shown(layout: &TypeLayout, bytes: &[u8]) -> String {
    format_fields(layout, bytes, true)
}

fn format_fields(layout: &TypeLayout, bytes: &[u8], hide_zero_padding: bool) -> String {
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
            if hide_zero_padding && is_padding(&f.name) && b.iter().all(|&x| x == 0) {
                return None;
            }
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

    /// lesson 4's `struct rx_flow` (lb_rx_flows' key) and padding of other spellings: shown,
    /// a zero padding field is left out, one that is not zero stays; `format` (`--json`)
    /// keeps every field.
    #[test]
    fn zero_padding_is_left_out_of_the_shown_text() {
        let field = |name: &str, offset, size, int| Field {
            name: name.into(),
            offset,
            size,
            int,
        };
        let layout = TypeLayout {
            name: "struct rx_flow".into(),
            size: 16,
            fields: vec![
                field("addr", 0, 4, None),
                field("sport", 4, 2, Some(hike::catalog::IntType::U16)),
                field("pad", 6, 2, Some(hike::catalog::IntType::U16)),
                field("padding", 8, 2, None),
                field("__pad1", 10, 2, Some(hike::catalog::IntType::U16)),
                field("paddr", 12, 4, None),
            ],
        };
        let mut b = vec![10, 0, 2, 2];
        b.extend_from_slice(&40000u16.to_le_bytes());
        b.extend_from_slice(&[0; 6]);
        b.extend_from_slice(&[10, 0, 3, 2]);
        assert_eq!(
            super::format_shown(&layout, &b),
            "{addr: 10.0.2.2, sport: 40000, paddr: 10.0.3.2}"
        );
        assert_eq!(
            super::format(&layout, &b),
            "{addr: 10.0.2.2, sport: 40000, pad: 0, padding: 0000, __pad1: 0, paddr: 10.0.3.2}"
        );
        // a field that only starts like padding is no padding, 0 or not
        let zero_paddr = {
            let mut z = b.clone();
            z[12..].fill(0);
            z
        };
        assert_eq!(
            super::format_shown(&layout, &zero_paddr),
            "{addr: 10.0.2.2, sport: 40000, paddr: 0.0.0.0}"
        );
        // not zero, a padding field says something: it stays
        b[7] = 1;
        b[11] = 2;
        assert_eq!(
            super::format_shown(&layout, &b),
            "{addr: 10.0.2.2, sport: 40000, pad: 256, __pad1: 512, paddr: 10.0.3.2}"
        );
    }
}
