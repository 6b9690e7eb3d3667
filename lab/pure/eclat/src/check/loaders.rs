//! Loader configuration at top level: `L[map] = { (k, ...): (v, ...) }` packed with the map's
//! BTF key and value layouts (a chain name becomes a relocation for its ID), and
//! `L.attach('dev', 'mode')`.

use std::collections::BTreeSet;

use super::{Env, fold, suggest};
use crate::ast::{Entry, Expr, ExprKind, Ident};
use crate::diag::{Diagnostic, Span};
use crate::program::{AttachRequest, MapEntry, ValueReloc};
use hike::FIRST_CHAIN_ID;
use hike::catalog::{Field, IntType, LoaderSig, MapSig, TypeLayout};

/// The loader an item configures, or a diagnostic (none when the name's import failed).
fn loader<'c>(
    env: &Env<'c, '_>,
    name: &Ident,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<&'c LoaderSig> {
    if let Some((l, _)) = env.loaders.get(&name.name) {
        return Some(l);
    }
    if env.poisoned.contains(&name.name) {
        return None;
    }
    let d = Diagnostic::error(
        "unknown-loader",
        name.span,
        format!("`{}` is not an imported loader", name.name),
    )
    .with_label(what.to_string());
    diags.push(if env.programs.contains_key(&name.name) {
        d.with_help("only loaders have maps that eCLAT configures and are attached")
    } else {
        d.with_help(format!(
            "import it: `from loaders.<package> import {}`",
            name.name
        ))
    });
    None
}

/// `L[map] = { ... }`: each entry packed; the chains its values name are entry chains.
pub(super) fn loader_map(
    env: &Env,
    loader_name: &Ident,
    map: &Ident,
    entries: &[Entry],
    diags: &mut Vec<Diagnostic>,
    out: &mut Vec<MapEntry>,
    entry_chains: &mut BTreeSet<usize>,
) {
    let Some(l) = loader(env, loader_name, "not a loader", diags) else {
        return;
    };
    let Some(m) = l.maps.iter().find(|m| m.name == map.name) else {
        let names: Vec<&str> = l.maps.iter().map(|m| m.name.as_str()).collect();
        diags.push(
            Diagnostic::error(
                "unknown-map",
                map.span,
                format!("loader `{}` has no map `{}`", l.name, map.name),
            )
            .with_label("unknown map")
            .with_help(format!("its maps: {}", names.join(", "))),
        );
        return;
    };
    for e in entries {
        let mut packer = Packer {
            env,
            map: &m.name,
            span: e.span,
            diags: &mut *diags,
            relocs: Vec::new(),
            chains: BTreeSet::new(),
        };
        let key = packer.pack(&m.key, "key", &e.key);
        packer.relocs.clear();
        packer.chains.clear();
        let value = packer.pack(&m.value, "value", &e.value);
        let (relocs, chains) = (packer.relocs, packer.chains);
        let (Some(key), Some(value)) = (key, value) else {
            continue;
        };
        if let Some(d) = array_index_error(m, &key, e.span) {
            diags.push(d);
            continue;
        }
        entry_chains.extend(chains);
        out.push(MapEntry {
            package: l.package.clone(),
            loader: l.name.clone(),
            map: m.name.clone(),
            key,
            value,
            value_relocs: relocs,
            span: e.span,
        });
    }
}

/// An array's key is an index below its size.
fn array_index_error(m: &MapSig, key: &[u8], span: Span) -> Option<Diagnostic> {
    if !m.map_type.contains("array") {
        return None;
    }
    let mut k = [0u8; 4];
    let n = key.len().min(4);
    k[..n].copy_from_slice(&key[..n]);
    let idx = u32::from_le_bytes(k);
    (idx >= m.max_entries).then(|| {
        let entries = if m.max_entries == 1 {
            "entry"
        } else {
            "entries"
        };
        Diagnostic::error(
            "map-index",
            span,
            format!(
                "index {idx} is past the end of `{}` ({} {entries})",
                m.name, m.max_entries
            ),
        )
        .with_label("out of range")
    })
}

/// The fields a tuple fills: a struct's, or the whole value for a plain integer type.
fn layout_fields(t: &TypeLayout) -> Vec<Field> {
    if !t.fields.is_empty() {
        return t.fields.clone();
    }
    let int = IntType::parse(&t.name).or(match t.size {
        1 => Some(IntType::U8),
        2 => Some(IntType::U16),
        4 => Some(IntType::U32),
        8 => Some(IntType::U64),
        _ => None,
    });
    vec![Field {
        name: t.name.clone(),
        offset: 0,
        size: t.size,
        int,
    }]
}

/// Packs the tuples of one entry; records the chains its value names.
struct Packer<'a, 'e, 'c, 'm> {
    env: &'e Env<'c, 'm>,
    map: &'a str,
    span: Span,
    diags: &'a mut Vec<Diagnostic>,
    relocs: Vec<ValueReloc>,
    chains: BTreeSet<usize>,
}

impl Packer<'_, '_, '_, '_> {
    /// One tuple into a key or value (`what`); `None` after reporting what does not fit.
    fn pack(&mut self, layout: &TypeLayout, what: &str, tuple: &[Expr]) -> Option<Vec<u8>> {
        let fields = layout_fields(layout);
        if fields.len() != tuple.len() {
            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            self.diags.push(
                Diagnostic::error(
                    "map-tuple-size",
                    self.span,
                    format!(
                        "the {what} of `{}` has {} field(s), this tuple has {}",
                        self.map,
                        fields.len(),
                        tuple.len()
                    ),
                )
                .with_label(format!("expected ({})", names.join(", ")))
                .with_help(format!("the {what} type is `{}`", layout.name)),
            );
            return None;
        }
        let mut bytes = vec![0u8; layout.size as usize];
        let mut ok = true;
        for (f, e) in fields.iter().zip(tuple) {
            let (off, size) = (f.offset as usize, f.size as usize);
            let Some(slot) = bytes.get_mut(off..off + size) else {
                ok = false;
                continue;
            };
            ok &= self.field(f, e, what == "value", slot);
        }
        ok.then_some(bytes)
    }

    /// One field: a chain name (its ID), an address string, or a constant.
    fn field(&mut self, f: &Field, e: &Expr, in_value: bool, slot: &mut [u8]) -> bool {
        if let ExprKind::Name(n) = &e.kind
            && let Some(&idx) = self.env.chain_index.get(n)
        {
            return self.chain_id(f, e, idx, in_value, slot);
        }
        if let ExprKind::Str(s) = &e.kind {
            return self.string(f, e, s, slot);
        }
        self.integer(f, e, slot)
    }

    fn chain_id(
        &mut self,
        f: &Field,
        e: &Expr,
        idx: usize,
        in_value: bool,
        slot: &mut [u8],
    ) -> bool {
        if slot.len() != 4 {
            self.diags.push(
                Diagnostic::error(
                    "map-chain-field",
                    e.span,
                    format!(
                        "a chain ID needs a 4-byte field; `{}` has {}",
                        f.name,
                        slot.len()
                    ),
                )
                .with_label("chain name here"),
            );
            return false;
        }
        slot.copy_from_slice(&(FIRST_CHAIN_ID + idx as u32).to_le_bytes());
        if in_value {
            self.relocs.push(ValueReloc {
                offset: f.offset as usize,
                chain: idx,
            });
        }
        self.chains.insert(idx);
        true
    }

    /// IPv6 addresses for 16-byte fields, IPv4 for 4-byte raw fields, MACs for 6-byte ones.
    fn string(&mut self, f: &Field, e: &Expr, s: &str, slot: &mut [u8]) -> bool {
        let parsed: Option<Vec<u8>> = match slot.len() {
            16 => s
                .parse::<std::net::Ipv6Addr>()
                .ok()
                .map(|a| a.octets().to_vec()),
            4 if f.int.is_none() => s
                .parse::<std::net::Ipv4Addr>()
                .ok()
                .map(|a| a.octets().to_vec()),
            6 => {
                let parts: Vec<Option<u8>> = s
                    .split(':')
                    .map(|p| u8::from_str_radix(p, 16).ok())
                    .collect();
                (parts.len() == 6 && parts.iter().all(|p| p.is_some()))
                    .then(|| parts.into_iter().flatten().collect())
            }
            _ => None,
        };
        match parsed {
            Some(v) => {
                slot.copy_from_slice(&v);
                true
            }
            None => {
                self.diags.push(
                    Diagnostic::error("map-bad-value", e.span, format!("'{s}' does not fit field `{}` ({} bytes)", f.name, slot.len()))
                        .with_help("strings are IPv6 addresses for 16-byte fields, IPv4 for 4-byte raw fields, MACs for 6-byte fields"),
                );
                false
            }
        }
    }

    /// A constant expression, little-endian, range-checked against the field.
    fn integer(&mut self, f: &Field, e: &Expr, slot: &mut [u8]) -> bool {
        let size = slot.len();
        let Some(v) = fold(e, &|n| self.env.consts.get(n).map(|(v, _)| *v)) else {
            let poisoned = matches!(&e.kind, ExprKind::Name(n) if self.env.poisoned.contains(n));
            if !poisoned {
                self.diags.push(self.not_constant(e));
            }
            return false;
        };
        let fits = size >= 8 || {
            let bits = 8 * size as u32;
            if f.int.is_some_and(|t| t.signed()) {
                let s = v as i64;
                s >= -(1i64 << (bits - 1)) && s < (1i64 << (bits - 1))
            } else {
                v < (1u64 << bits)
            }
        };
        if !fits || size == 0 {
            self.diags.push(
                Diagnostic::error(
                    "map-value-range",
                    e.span,
                    format!(
                        "{} does not fit field `{}` ({size} bytes)",
                        v as i64, f.name
                    ),
                )
                .with_label("out of range"),
            );
            return false;
        }
        let n = size.min(8);
        slot[..n].copy_from_slice(&v.to_le_bytes()[..n]);
        true
    }

    fn not_constant(&self, e: &Expr) -> Diagnostic {
        let ExprKind::Name(n) = &e.kind else {
            return Diagnostic::error(
                "map-bad-value",
                e.span,
                "a map entry holds constants, chain names or address strings",
            )
            .with_label("not a constant");
        };
        let d = Diagnostic::error("unknown-name", e.span, format!("unknown name `{n}`"))
            .with_label("not a chain or a constant");
        match suggest(n, self.env.known_names()) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d,
        }
    }
}

/// `L.attach('dev', 'mode')`.
pub(super) fn attach_request(
    env: &Env,
    loader_name: &Ident,
    args: &[Expr],
    span: Span,
    diags: &mut Vec<Diagnostic>,
    out: &mut Vec<AttachRequest>,
) {
    let Some(l) = loader(env, loader_name, "only loaders are attached", diags) else {
        return;
    };
    let strs: Vec<Option<&str>> = args
        .iter()
        .map(|a| match &a.kind {
            ExprKind::Str(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    let (device, mode) = match strs.as_slice() {
        [Some(d)] => (*d, "xdp"),
        [Some(d), Some(m)] => (*d, *m),
        _ => {
            diags.push(
                Diagnostic::error(
                    "bad-attach",
                    span,
                    "`attach` takes a device name and a mode, as strings",
                )
                .with_help(format!(
                    "write `{}.attach('DEVNAME', 'xdp')` and run with `-D DEVNAME=eth0`",
                    loader_name.name
                )),
            );
            return;
        }
    };
    if device.is_empty() || device.len() > 15 || device.contains(['/', ' ']) {
        diags.push(
            Diagnostic::error(
                "bad-device",
                args[0].span,
                format!("'{device}' is not an interface name"),
            )
            .with_help("interface names have 1 to 15 characters, no '/' or spaces"),
        );
        return;
    }
    let mode = match mode {
        "xdp" => "xdp",
        "xdpgeneric" | "skb" | "generic" => "xdpgeneric",
        "xdpdrv" | "drv" | "native" => "xdpdrv",
        "xdpoffload" | "offload" => "xdpoffload",
        other => {
            diags.push(
                Diagnostic::error("bad-mode", args.get(1).map(|a| a.span).unwrap_or(span), format!("unknown attach mode '{other}'"))
                    .with_help("modes: 'xdp', 'xdpgeneric', 'xdpdrv', 'xdpoffload' (TC was never done upstream)"),
            );
            return;
        }
    };
    if let Some(prev) = out
        .iter()
        .find(|a| a.device == device && a.loader == l.name)
    {
        diags.push(
            Diagnostic::error(
                "double-attach",
                span,
                format!("`{}` is attached to '{device}' twice", l.name),
            )
            .with_secondary(prev.span, "first attached here"),
        );
        return;
    }
    out.push(AttachRequest {
        package: l.package.clone(),
        loader: l.name.clone(),
        device: device.to_string(),
        mode: mode.to_string(),
        span,
    });
}
