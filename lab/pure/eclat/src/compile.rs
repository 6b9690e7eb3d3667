//! Name resolution, checking and code generation: the syntax tree to chain bytecode.
//!
//! Register allocation: each chain's variables (parameters, declarations, `for` variables) get
//! a home for the whole chain: the four most used (loops weigh more) live in the callee-saved
//! `r6..r9`, the others in 8-byte stack slots below `fp`; both survive program calls.
//! Expressions are evaluated in scratch registers `r0..r5`; a program or chain call clobbers
//! those, so scratch values live across a call are spilled to temporary stack slots around it.

use crate::ast::*;
use crate::diag::{Diagnostic, Span};
use crate::paths;
use crate::program::{AttachRequest, Chain, MapEntry, Program, Reloc, Target, ValueReloc};
use hike::catalog::{Catalog, Field, IntType, LoaderSig, ProgramKind, ProgramSig, TypeLayout};
use hike::insn::{Insn, call, op};
use hike::{FIRST_CHAIN_ID, MAX_CHAIN_ARGS, MAX_CHAIN_INSNS, MAX_PROG_ARGS, STACK_SIZE};
use std::collections::{BTreeSet, HashMap};

pub(crate) struct ChainDecl<'m> {
    pub def: &'m Def,
}

/// Everything visible at top level.
pub(crate) struct Env<'c, 'm> {
    pub catalog: &'c Catalog,
    pub programs: HashMap<String, (&'c ProgramSig, Span)>,
    pub loaders: HashMap<String, (&'c LoaderSig, Span)>,
    pub consts: HashMap<String, (u64, Span)>,
    pub const_order: Vec<(String, u64)>,
    pub chains: Vec<ChainDecl<'m>>,
    pub chain_index: HashMap<String, usize>,
    pub line_starts: Vec<usize>,
    pub source: &'m str,
}

impl Env<'_, '_> {
    pub fn line_of(&self, offset: usize) -> u32 {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }
    /// Is `name` a program that ends the packet's journey?
    pub fn is_final_program(&self, name: &str) -> bool {
        self.programs
            .get(name)
            .is_some_and(|(p, _)| p.kind == ProgramKind::Final)
    }
    fn known_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.programs.keys().map(|s| s.as_str()).collect();
        v.extend(self.consts.keys().map(|s| s.as_str()));
        v.extend(self.chain_index.keys().map(|s| s.as_str()));
        v
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest name within a small edit distance.
pub(crate) fn suggest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    if name.len() < 3 {
        return None;
    }
    let limit = (name.len() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

pub(crate) fn compile_module<'m>(
    module: &'m Module,
    source: &'m str,
    file_name: &str,
    catalog: &Catalog,
    diags: &mut Vec<Diagnostic>,
) -> Option<Program> {
    let mut line_starts = vec![0];
    line_starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
    let mut env = Env {
        catalog,
        programs: HashMap::new(),
        loaders: HashMap::new(),
        consts: HashMap::new(),
        const_order: Vec::new(),
        chains: Vec::new(),
        chain_index: HashMap::new(),
        line_starts,
        source,
    };
    let mut taken: HashMap<String, Span> = HashMap::new();
    let mut clash = |diags: &mut Vec<Diagnostic>, name: &Ident, what: &str| -> bool {
        if let Some(prev) = taken.get(&name.name) {
            diags.push(
                Diagnostic::error(
                    "duplicate-name",
                    name.span,
                    format!("`{}` is defined twice", name.name),
                )
                .with_label(format!("this {what}"))
                .with_secondary(*prev, "first defined here")
                .with_help("give each import, constant and chain its own name"),
            );
            true
        } else {
            taken.insert(name.name.clone(), name.span);
            false
        }
    };
    // imports, constants, chain names
    for item in &module.items {
        match item {
            Item::Import {
                kind,
                package,
                names,
                ..
            } => {
                for n in names {
                    if clash(diags, n, "import") {
                        continue;
                    }
                    resolve_import(&mut env, *kind, package, n, diags);
                }
            }
            Item::Const { name, value, .. } => {
                if clash(diags, name, "constant") {
                    continue;
                }
                match literal_value(value) {
                    Some(v) => {
                        env.consts.insert(name.name.clone(), (v, name.span));
                        env.const_order.push((name.name.clone(), v));
                    }
                    None => diags.push(Diagnostic::error(
                        "bad-constant",
                        value.span,
                        "a constant must be a literal",
                    )),
                }
            }
            Item::Def(d) => {
                if clash(diags, &d.name, "chain") {
                    continue;
                }
                if d.params.len() > MAX_CHAIN_ARGS {
                    diags.push(
                        Diagnostic::error(
                            "too-many-params",
                            d.span,
                            format!(
                                "chain `{}` takes {} arguments, the limit is {MAX_CHAIN_ARGS}",
                                d.name.name,
                                d.params.len()
                            ),
                        )
                        .with_label("too many parameters")
                        .with_help(
                            "the HIKe VM passes at most 2 user arguments to a chain (r2, r3)",
                        ),
                    );
                }
                env.chain_index
                    .insert(d.name.name.clone(), env.chains.len());
                env.chains.push(ChainDecl { def: d });
            }
            _ => {}
        }
    }
    // loader configuration and attach
    let mut map_entries = Vec::new();
    let mut attach = Vec::new();
    let mut entry_chains: BTreeSet<usize> = BTreeSet::new();
    for item in &module.items {
        match item {
            Item::LoaderMap {
                loader,
                map,
                entries,
                ..
            } => loader_map(
                &env,
                loader,
                map,
                entries,
                diags,
                &mut map_entries,
                &mut entry_chains,
            ),
            Item::Attach { loader, args, span } => {
                attach_request(&env, loader, args, *span, diags, &mut attach)
            }
            _ => {}
        }
    }
    // chains
    let mut chains = Vec::new();
    let mut used = BTreeSet::new();
    for c in &env.chains {
        if let Some(ch) = gen_chain(&env, c.def, diags, &mut used) {
            chains.push(ch);
        }
    }
    // paths that end without a final program, for the chains that start a packet's journey
    let called: BTreeSet<usize> = paths::called_chains(&env);
    let entries: Vec<usize> = (0..env.chains.len())
        .filter(|i| {
            if entry_chains.is_empty() {
                !called.contains(i)
            } else {
                entry_chains.contains(i)
            }
        })
        .collect();
    // only for scripts that are otherwise correct: on broken chains these would be noise
    if !diags.iter().any(|d| d.is_error()) {
        paths::warn_non_final(&env, source, &entries, diags);
    }

    if diags.iter().any(|d| d.is_error()) || chains.len() != env.chains.len() {
        return None;
    }
    Some(Program {
        file_name: file_name.to_string(),
        source: source.to_string(),
        chains,
        map_entries,
        attach,
        programs: used.into_iter().collect(),
        constants: env.const_order.clone(),
        defs: env.chains.iter().map(|c| c.def.clone()).collect(),
    })
}

fn literal_value(e: &Expr) -> Option<u64> {
    match &e.kind {
        ExprKind::Int(v) => Some(*v),
        ExprKind::Bool(b) => Some(*b as u64),
        ExprKind::Unary(UnOp::Neg, a) => literal_value(a).map(|v| v.wrapping_neg()),
        _ => None,
    }
}

fn resolve_import<'c>(
    env: &mut Env<'c, '_>,
    kind: ImportKind,
    package: &Ident,
    n: &Ident,
    diags: &mut Vec<Diagnostic>,
) {
    let cat = env.catalog;
    let pkg = package.name.as_str();
    match kind {
        ImportKind::Programs => {
            if let Some(p) = cat.program(pkg, &n.name) {
                env.programs.insert(n.name.clone(), (p, n.span));
                return;
            }
            if let Some(c) = cat
                .constants
                .iter()
                .find(|c| c.package == pkg && c.name == n.name)
            {
                env.consts.insert(n.name.clone(), (c.value as u64, n.span));
                return;
            }
            if !cat.programs.iter().any(|p| p.package == pkg) {
                let mut pkgs: Vec<&str> = cat.programs.iter().map(|p| p.package.as_str()).collect();
                pkgs.sort();
                pkgs.dedup();
                diags.push(
                    Diagnostic::error(
                        "unknown-package",
                        package.span,
                        format!("no program package `{pkg}`"),
                    )
                    .with_label("not loaded")
                    .with_help(format!("known packages: {}", pkgs.join(", "))),
                );
                return;
            }
            let mut d = Diagnostic::error(
                "unknown-import",
                n.span,
                format!("package `{pkg}` has no program `{}`", n.name),
            )
            .with_label("not in this package");
            if let Some(other) = cat.programs.iter().find(|p| p.name == n.name) {
                d = d.with_help(format!("`{}` is in `programs.{}`", n.name, other.package));
            } else if cat.loaders.iter().any(|l| l.name == n.name) {
                d = d.with_help(format!(
                    "`{}` is a loader: `from loaders.{pkg} import {}`",
                    n.name, n.name
                ));
            } else if let Some(s) = suggest(
                &n.name,
                cat.programs
                    .iter()
                    .filter(|p| p.package == pkg)
                    .map(|p| p.name.as_str()),
            ) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
            diags.push(d);
        }
        ImportKind::Loaders => {
            if let Some(l) = cat.loader(pkg, &n.name) {
                env.loaders.insert(n.name.clone(), (l, n.span));
                return;
            }
            let mut d = Diagnostic::error(
                "unknown-import",
                n.span,
                format!("no loader `{}` in `loaders.{pkg}`", n.name),
            )
            .with_label("unknown loader");
            if cat.programs.iter().any(|p| p.name == n.name) {
                d = d.with_help(format!(
                    "`{}` is a program: import it `from programs.<package>`",
                    n.name
                ));
            } else if let Some(s) = suggest(&n.name, cat.loaders.iter().map(|l| l.name.as_str())) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
            diags.push(d);
        }
    }
}

fn layout_fields(t: &TypeLayout) -> Vec<Field> {
    if t.fields.is_empty() {
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
    } else {
        t.fields.clone()
    }
}

fn const_of(env: &Env, e: &Expr) -> Option<u64> {
    match &e.kind {
        ExprKind::Name(n) => env.consts.get(n).map(|(v, _)| *v),
        _ => fold(e, &|n| env.consts.get(n).map(|(v, _)| *v)),
    }
}

/// Packs one tuple into a key or value; chain names become relocations.
#[allow(clippy::too_many_arguments)] // one call site; the arguments are the entry being packed
fn pack(
    env: &Env,
    layout: &TypeLayout,
    what: &str,
    map: &str,
    tuple: &[Expr],
    span: Span,
    diags: &mut Vec<Diagnostic>,
    relocs: &mut Vec<ValueReloc>,
    chains_used: &mut BTreeSet<usize>,
) -> Option<Vec<u8>> {
    let fields = layout_fields(layout);
    if fields.len() != tuple.len() {
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        diags.push(
            Diagnostic::error(
                "map-tuple-size",
                span,
                format!(
                    "the {what} of `{map}` has {} field(s), this tuple has {}",
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
        if off + size > bytes.len() {
            ok = false;
            continue;
        }
        let slot = &mut bytes[off..off + size];
        if let ExprKind::Name(n) = &e.kind
            && let Some(&idx) = env.chain_index.get(n)
        {
            if size != 4 {
                diags.push(
                    Diagnostic::error(
                        "map-chain-field",
                        e.span,
                        format!("a chain ID needs a 4-byte field; `{}` has {size}", f.name),
                    )
                    .with_label("chain name here"),
                );
                ok = false;
                continue;
            }
            slot.copy_from_slice(&(FIRST_CHAIN_ID + idx as u32).to_le_bytes());
            if what == "value" {
                relocs.push(ValueReloc {
                    offset: off,
                    chain: idx,
                });
            }
            chains_used.insert(idx);
            continue;
        }
        if let ExprKind::Str(s) = &e.kind {
            let parsed: Option<Vec<u8>> = match size {
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
                Some(v) => slot.copy_from_slice(&v),
                None => {
                    diags.push(
                        Diagnostic::error("map-bad-value", e.span, format!("'{s}' does not fit field `{}` ({size} bytes)", f.name))
                            .with_help("strings are IPv6 addresses for 16-byte fields, IPv4 for 4-byte raw fields, MACs for 6-byte fields"),
                    );
                    ok = false;
                }
            }
            continue;
        }
        let Some(v) = const_of(env, e) else {
            let mut d = Diagnostic::error(
                "map-bad-value",
                e.span,
                "a map entry holds constants, chain names or address strings",
            )
            .with_label("not a constant");
            if let ExprKind::Name(n) = &e.kind {
                d = Diagnostic::error("unknown-name", e.span, format!("unknown name `{n}`"))
                    .with_label("not a chain or a constant");
                if let Some(s) = suggest(n, env.known_names()) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
            }
            diags.push(d);
            ok = false;
            continue;
        };
        let fits = size >= 8 || {
            let signed = f.int.is_some_and(|t| t.signed());
            let bits = 8 * size as u32;
            if signed {
                let s = v as i64;
                s >= -(1i64 << (bits - 1)) && s < (1i64 << (bits - 1))
            } else {
                v < (1u64 << bits)
            }
        };
        if !fits || size == 0 {
            diags.push(
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
            ok = false;
            continue;
        }
        let le = v.to_le_bytes();
        let n = size.min(8);
        slot[..n].copy_from_slice(&le[..n]);
    }
    ok.then_some(bytes)
}

fn loader_map(
    env: &Env,
    loader: &Ident,
    map: &Ident,
    entries: &[Entry],
    diags: &mut Vec<Diagnostic>,
    out: &mut Vec<MapEntry>,
    entry_chains: &mut BTreeSet<usize>,
) {
    let Some((l, _)) = env.loaders.get(&loader.name) else {
        let mut d = Diagnostic::error(
            "unknown-loader",
            loader.span,
            format!("`{}` is not an imported loader", loader.name),
        )
        .with_label("not a loader");
        d = if env.programs.contains_key(&loader.name) {
            d.with_help("only loaders have maps that eCLAT configures")
        } else {
            d.with_help(format!(
                "import it: `from loaders.<package> import {}`",
                loader.name
            ))
        };
        diags.push(d);
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
        let mut relocs = Vec::new();
        let mut chains = BTreeSet::new();
        let key = pack(
            env,
            &m.key,
            "key",
            &m.name,
            &e.key,
            e.span,
            diags,
            &mut Vec::new(),
            &mut BTreeSet::new(),
        );
        let value = pack(
            env,
            &m.value,
            "value",
            &m.name,
            &e.value,
            e.span,
            diags,
            &mut relocs,
            &mut chains,
        );
        if let (Some(key), Some(value)) = (key, value) {
            if m.map_type.contains("array") {
                let mut k = [0u8; 4];
                let n = key.len().min(4);
                k[..n].copy_from_slice(&key[..n]);
                let idx = u32::from_le_bytes(k);
                if idx >= m.max_entries {
                    diags.push(
                        Diagnostic::error(
                            "map-index",
                            e.span,
                            format!(
                                "index {idx} is past the end of `{}` ({} {})",
                                m.name,
                                m.max_entries,
                                if m.max_entries == 1 {
                                    "entry"
                                } else {
                                    "entries"
                                }
                            ),
                        )
                        .with_label("out of range"),
                    );
                    continue;
                }
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
}

fn attach_request(
    env: &Env,
    loader: &Ident,
    args: &[Expr],
    span: Span,
    diags: &mut Vec<Diagnostic>,
    out: &mut Vec<AttachRequest>,
) {
    let Some((l, _)) = env.loaders.get(&loader.name) else {
        diags.push(
            Diagnostic::error(
                "unknown-loader",
                loader.span,
                format!("`{}` is not an imported loader", loader.name),
            )
            .with_label("only loaders are attached")
            .with_help(format!(
                "import it: `from loaders.<package> import {}`",
                loader.name
            )),
        );
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
                    loader.name
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

/// Constant folding with the VM's 64-bit semantics (wrapping, `x/0 = 0`, `x%0 = x`,
/// shifts modulo 64, unsigned comparisons).
pub(crate) fn fold(e: &Expr, lookup: &dyn Fn(&str) -> Option<u64>) -> Option<u64> {
    Some(match &e.kind {
        ExprKind::Int(v) => *v,
        ExprKind::Bool(b) => *b as u64,
        ExprKind::Name(n) => lookup(n)?,
        ExprKind::Unary(op, a) => {
            let a = fold(a, lookup)?;
            match op {
                UnOp::Neg => a.wrapping_neg(),
                UnOp::Invert => !a,
                UnOp::Not => (a == 0) as u64,
            }
        }
        ExprKind::Binary(op, a, b) => {
            let (a, b) = (fold(a, lookup)?, fold(b, lookup)?);
            match op {
                BinOp::Add => a.wrapping_add(b),
                BinOp::Sub => a.wrapping_sub(b),
                BinOp::Mul => a.wrapping_mul(b),
                BinOp::Div => a.checked_div(b).unwrap_or(0),
                BinOp::Mod => a.checked_rem(b).unwrap_or(a),
                BinOp::Shl => a << (b & 63),
                BinOp::Shr => a >> (b & 63),
                BinOp::And => a & b,
                BinOp::Or => a | b,
                BinOp::Xor => a ^ b,
            }
        }
        ExprKind::Cmp(op, a, b) => {
            let (a, b) = (fold(a, lookup)?, fold(b, lookup)?);
            (match op {
                CmpOp::Eq => a == b,
                CmpOp::Ne => a != b,
                CmpOp::Lt => a < b,
                CmpOp::Le => a <= b,
                CmpOp::Gt => a > b,
                CmpOp::Ge => a >= b,
            }) as u64
        }
        ExprKind::And(a, b) => {
            let a = fold(a, lookup)?;
            if a == 0 {
                0
            } else {
                (fold(b, lookup)? != 0) as u64
            }
        }
        ExprKind::Or(a, b) => {
            let a = fold(a, lookup)?;
            if a != 0 {
                1
            } else {
                (fold(b, lookup)? != 0) as u64
            }
        }
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// code generation

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Home {
    Reg(u8),
    Stack(i16),
}

#[derive(Debug, Clone, Copy)]
struct Var {
    ty: IntType,
    home: Home,
    span: Span,
}

/// Static type of an expression: a literal (adopts the other operand's type), a 0/1 truth
/// value, or a typed integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Lit,
    Bool,
    Int(IntType),
}

impl Ty {
    fn signed(self) -> bool {
        matches!(self, Ty::Int(t) if t.signed())
    }
}

/// A right-hand operand: an immediate or a register.
#[derive(Debug, Clone, Copy)]
enum Opnd {
    Imm(i32),
    /// a variable's home register (not to be freed)
    Home(u8),
    /// a scratch register holding the value (free it after use)
    Scratch(u8),
}

fn fits_i32(v: u64) -> bool {
    let s = v as i64;
    s >= i32::MIN as i64 && s <= i32::MAX as i64
}

/// Packet accessors: `Packet.readU8/16/32(off)` and `Packet.writeU8/16/32(off, v)`.
fn packet_method(name: &str) -> Option<(bool, u8)> {
    Some(match name {
        "readU8" => (false, 1),
        "readU16" => (false, 2),
        "readU32" => (false, 4),
        "writeU8" => (true, 1),
        "writeU16" => (true, 2),
        "writeU32" => (true, 4),
        _ => return None,
    })
}

const SIZE_BITS: [(u8, u8); 3] = [(1, op::B), (2, op::H), (4, op::W)];

struct Gen<'a, 'c, 'm> {
    env: &'a Env<'c, 'm>,
    diags: &'a mut Vec<Diagnostic>,
    used: &'a mut BTreeSet<(String, String)>,
    code: Vec<Insn>,
    lines: Vec<u32>,
    relocs: Vec<Reloc>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, usize)>,
    homes: HashMap<String, Home>,
    vars: HashMap<String, Var>,
    local_consts: HashMap<String, (u64, Span)>,
    busy: [bool; 6],
    var_bytes: i32,
    temp_depth: i32,
    line: u32,
    ok: bool,
    /// set while generating code the compiler made up (a `for` loop's test): no warnings
    synthetic: bool,
}

fn gen_chain(
    env: &Env,
    def: &Def,
    diags: &mut Vec<Diagnostic>,
    used: &mut BTreeSet<(String, String)>,
) -> Option<Chain> {
    let mut g = Gen {
        env,
        diags,
        used,
        code: Vec::with_capacity(64),
        lines: Vec::with_capacity(64),
        relocs: Vec::new(),
        labels: Vec::new(),
        fixups: Vec::new(),
        homes: HashMap::new(),
        vars: HashMap::new(),
        local_consts: HashMap::new(),
        busy: [false; 6],
        var_bytes: 0,
        temp_depth: 0,
        line: env.line_of(def.span.start),
        ok: true,
        synthetic: false,
    };
    g.assign_homes(def);
    // parameters arrive in r2, r3
    for (i, p) in def.params.iter().enumerate().take(MAX_CHAIN_ARGS) {
        if g.check_new_name(&p.name) {
            let home = g
                .homes
                .get(&p.name.name)
                .copied()
                .unwrap_or(Home::Stack(-8));
            let arg = 2 + i as u8;
            g.vars.insert(
                p.name.name.clone(),
                Var {
                    ty: p.ty,
                    home,
                    span: p.name.span,
                },
            );
            match home {
                Home::Reg(r) => {
                    g.mov_x(r, arg);
                    g.truncate(r, p.ty);
                }
                Home::Stack(off) => {
                    g.truncate(arg, p.ty);
                    g.emit(Insn::new(op::STX | op::MEM | op::DW, 10, arg, off, 0));
                }
            }
        }
    }
    let mut costs = Vec::new();
    for s in &def.body {
        let before = g.code.len();
        g.stmt(s);
        costs.push((s.span, g.code.len() - before));
    }
    if !matches!(def.body.last().map(|s| &s.kind), Some(StmtKind::Return(_))) {
        g.line = env.line_of(def.span.start);
        // after a final program the VM has stopped: the `exit` only closes the chain for the
        // store-time check, and r0 needs no value
        let ends_final = matches!(
            def.body.last().map(|s| &s.kind),
            Some(StmtKind::Expr(Expr { kind: ExprKind::Call { callee: Callee::Name(n), .. }, .. }))
                if env.is_final_program(&n.name)
        );
        if !ends_final {
            g.mov_imm(0, 0);
        }
        g.emit(Insn::new(op::JMP | op::EXIT, 0, 0, 0, 0));
    }
    // resolve jumps
    for &(at, label) in &g.fixups {
        if let Some(Some(target)) = g.labels.get(label) {
            let off = *target as i64 - (at as i64 + 1);
            if let (Ok(off), Some(insn)) = (i16::try_from(off), g.code.get_mut(at)) {
                insn.off = off;
            }
        }
    }
    if g.code.len() > MAX_CHAIN_INSNS {
        costs.sort_by_key(|c| std::cmp::Reverse(c.1));
        let mut d = Diagnostic::error(
            "chain-too-long",
            def.span,
            format!(
                "chain `{}` needs {} instructions, the limit is {MAX_CHAIN_INSNS}",
                def.name.name,
                g.code.len()
            ),
        )
        .with_label(format!("{} instructions", g.code.len()))
        .with_help(
            "split it into two chains (one calls the other), or move work into a HIKe program",
        );
        for (span, n) in costs.iter().take(3) {
            d = d.with_secondary(*span, format!("{n} instructions"));
        }
        g.diags.push(d);
        g.ok = false;
    }
    if !g.ok {
        return None;
    }
    Some(Chain {
        name: def.name.name.clone(),
        params: def
            .params
            .iter()
            .map(|p| (p.name.name.clone(), p.ty))
            .collect(),
        insns: g.code,
        lines: g.lines,
        relocs: g.relocs,
        span: def.span,
    })
}

fn count_uses(
    stmts: &[Stmt],
    weight: usize,
    counts: &mut HashMap<String, usize>,
    order: &mut Vec<String>,
) {
    fn expr_uses(e: &Expr, w: usize, counts: &mut HashMap<String, usize>) {
        match &e.kind {
            ExprKind::Name(n) => *counts.entry(n.clone()).or_insert(0) += w,
            ExprKind::Call { args, .. } => args.iter().for_each(|a| expr_uses(a, w, counts)),
            ExprKind::Unary(_, a) => expr_uses(a, w, counts),
            ExprKind::Binary(_, a, b)
            | ExprKind::Cmp(_, a, b)
            | ExprKind::And(a, b)
            | ExprKind::Or(a, b) => {
                expr_uses(a, w, counts);
                expr_uses(b, w, counts);
            }
            _ => {}
        }
    }
    let declare = |n: &Ident, order: &mut Vec<String>| {
        if !order.contains(&n.name) {
            order.push(n.name.clone());
        }
    };
    for s in stmts {
        match &s.kind {
            StmtKind::Expr(e) => expr_uses(e, weight, counts),
            StmtKind::Return(Some(e)) => expr_uses(e, weight, counts),
            StmtKind::If { arms, orelse } => {
                for (c, b) in arms {
                    expr_uses(c, weight, counts);
                    count_uses(b, weight, counts, order);
                }
                if let Some(b) = orelse {
                    count_uses(b, weight, counts, order);
                }
            }
            StmtKind::While { cond, body } => {
                expr_uses(cond, weight * 4, counts);
                count_uses(body, weight * 4, counts, order);
            }
            StmtKind::For { var, body, .. } => {
                declare(var, order);
                *counts.entry(var.name.clone()).or_insert(0) += weight * 8;
                count_uses(body, weight * 4, counts, order);
            }
            StmtKind::Decl { name, value, .. } => {
                declare(name, order);
                *counts.entry(name.name.clone()).or_insert(0) += weight;
                expr_uses(value, weight, counts);
            }
            StmtKind::Assign { name, value } | StmtKind::AugAssign { name, value, .. } => {
                *counts.entry(name.name.clone()).or_insert(0) += weight;
                expr_uses(value, weight, counts);
            }
            _ => {}
        }
    }
}

impl Gen<'_, '_, '_> {
    fn assign_homes(&mut self, def: &Def) {
        let mut counts = HashMap::new();
        let mut order: Vec<String> = def.params.iter().map(|p| p.name.name.clone()).collect();
        count_uses(&def.body, 1, &mut counts, &mut order);
        let mut ranked: Vec<(usize, usize, &String)> = order
            .iter()
            .enumerate()
            .map(|(i, n)| (counts.get(n).copied().unwrap_or(0), i, n))
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut in_regs: Vec<usize> = ranked.iter().take(4).map(|r| r.1).collect();
        in_regs.sort();
        let mut next_reg = 6u8;
        let mut next_slot = 0i32;
        for (i, name) in order.iter().enumerate() {
            let home = if in_regs.contains(&i) {
                next_reg += 1;
                Home::Reg(next_reg - 1)
            } else {
                next_slot += 8;
                Home::Stack(-(next_slot.min(STACK_SIZE as i32)) as i16)
            };
            self.homes.insert(name.clone(), home);
        }
        self.var_bytes = next_slot;
        if next_slot > STACK_SIZE as i32 {
            let d = Diagnostic::error(
                "too-many-variables",
                def.span,
                format!(
                    "chain `{}` has {} variables; 4 fit in registers and 16 on the stack",
                    def.name.name,
                    order.len()
                ),
            )
            .with_help("reuse variables, or split the chain");
            self.error(d);
        }
    }

    fn error(&mut self, d: Diagnostic) {
        self.ok = false;
        self.diags.push(d);
    }

    // ---- emission ----

    fn emit(&mut self, insn: Insn) {
        self.code.push(insn);
        self.lines.push(self.line);
    }
    fn mov_imm(&mut self, dst: u8, v: u64) {
        if fits_i32(v) {
            self.emit(Insn::new(
                op::ALU64 | op::MOV | op::K,
                dst,
                0,
                0,
                v as i64 as i32,
            ));
        } else {
            self.emit(Insn::new(op::LDDW, dst, 0, 0, v as u32 as i32));
            self.emit(Insn::new(0, 0, 0, 0, (v >> 32) as u32 as i32));
        }
    }
    fn mov_x(&mut self, dst: u8, src: u8) {
        if dst != src {
            self.emit(Insn::new(op::ALU64 | op::MOV | op::X, dst, src, 0, 0));
        }
    }
    fn alu(&mut self, o: u8, dst: u8, rhs: Opnd) {
        match rhs {
            // a constant shift count is taken modulo 64, as the constant folder and the VM
            // take a count in a register (`x << ~1` shifts by 62): an immediate outside 0..63
            // would be refused at store time
            Opnd::Imm(i) if matches!(o, op::LSH | op::RSH | op::ARSH) => {
                self.emit(Insn::new(op::ALU64 | o | op::K, dst, 0, 0, i & 63))
            }
            Opnd::Imm(i) => self.emit(Insn::new(op::ALU64 | o | op::K, dst, 0, 0, i)),
            Opnd::Home(r) | Opnd::Scratch(r) => {
                self.emit(Insn::new(op::ALU64 | o | op::X, dst, r, 0, 0))
            }
        }
    }
    fn new_label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }
    fn place(&mut self, label: usize) {
        if let Some(l) = self.labels.get_mut(label) {
            *l = Some(self.code.len());
        }
    }
    fn jump(&mut self, code: u8, dst: u8, rhs: Opnd, label: usize) {
        self.fixups.push((self.code.len(), label));
        match rhs {
            Opnd::Imm(i) => self.emit(Insn::new(op::JMP | code | op::K, dst, 0, 0, i)),
            Opnd::Home(r) | Opnd::Scratch(r) => {
                self.emit(Insn::new(op::JMP | code | op::X, dst, r, 0, 0))
            }
        }
    }
    fn ja(&mut self, label: usize) {
        self.jump(op::JA, 0, Opnd::Imm(0), label);
    }

    /// Truncates (and sign-extends for sN) a register to a declared type.
    fn truncate(&mut self, r: u8, ty: IntType) {
        let bits = ty.bits() as i32;
        if bits == 64 {
            return;
        }
        if ty.signed() {
            self.emit(Insn::new(op::ALU64 | op::LSH | op::K, r, 0, 0, 64 - bits));
            self.emit(Insn::new(op::ALU64 | op::ARSH | op::K, r, 0, 0, 64 - bits));
        } else if bits == 32 {
            self.emit(Insn::new(op::ALU64 | op::LSH | op::K, r, 0, 0, 32));
            self.emit(Insn::new(op::ALU64 | op::RSH | op::K, r, 0, 0, 32));
        } else {
            self.emit(Insn::new(
                op::ALU64 | op::AND | op::K,
                r,
                0,
                0,
                (1i32 << bits) - 1,
            ));
        }
    }

    // ---- scratch registers and temporary slots ----

    fn alloc(&mut self, span: Span) -> Option<u8> {
        for r in [0u8, 1, 2, 3, 4, 5] {
            if !self.busy[r as usize] {
                self.busy[r as usize] = true;
                return Some(r);
            }
        }
        self.error(
            Diagnostic::error(
                "too-complex",
                span,
                "this expression needs more than 6 scratch registers",
            )
            .with_help("split it: store parts in variables first"),
        );
        None
    }
    fn free(&mut self, r: u8) {
        if (r as usize) < 6 {
            self.busy[r as usize] = false;
        }
    }
    fn release(&mut self, o: Opnd) {
        if let Opnd::Scratch(r) = o {
            self.free(r);
        }
    }
    fn temp_slot(&mut self, span: Span) -> Option<i16> {
        self.temp_depth += 1;
        let off = self.var_bytes + 8 * self.temp_depth;
        if off > STACK_SIZE as i32 {
            self.error(
                Diagnostic::error(
                    "stack-exhausted",
                    span,
                    "the chain's 128-byte stack is full here",
                )
                .with_help("fewer variables, or fewer nested calls inside one expression"),
            );
            return None;
        }
        Some(-off as i16)
    }

    // ---- names ----

    fn lookup_const(&self, n: &str) -> Option<u64> {
        self.local_consts
            .get(n)
            .map(|(v, _)| *v)
            .or_else(|| self.env.consts.get(n).map(|(v, _)| *v))
    }
    fn const_value(&self, e: &Expr) -> Option<u64> {
        fold(e, &|n| {
            if self.vars.contains_key(n) {
                None
            } else {
                self.lookup_const(n)
            }
        })
    }

    fn check_new_name(&mut self, n: &Ident) -> bool {
        let prev = self
            .vars
            .get(&n.name)
            .map(|v| (v.span, "variable"))
            .or_else(|| self.local_consts.get(&n.name).map(|c| (c.1, "constant")))
            .or_else(|| self.env.consts.get(&n.name).map(|c| (c.1, "constant")))
            .or_else(|| {
                self.env
                    .programs
                    .get(&n.name)
                    .map(|p| (p.1, "imported program"))
            })
            .or_else(|| {
                self.env
                    .chain_index
                    .get(&n.name)
                    .and_then(|i| self.env.chains.get(*i))
                    .map(|c| (c.def.name.span, "chain"))
            });
        if let Some((span, what)) = prev {
            self.error(
                Diagnostic::error(
                    "redeclared",
                    n.span,
                    format!("`{}` is already declared", n.name),
                )
                .with_label("declared again here")
                .with_secondary(span, format!("the {what} `{}`", n.name))
                .with_help(format!(
                    "assign to it without the type (`{} = ...`), or pick another name",
                    n.name
                )),
            );
            return false;
        }
        true
    }

    fn unknown_name(&mut self, name: &str, span: Span) {
        if self.homes.contains_key(name) {
            self.error(
                Diagnostic::error(
                    "used-before-declaration",
                    span,
                    format!("`{name}` is used before its declaration"),
                )
                .with_label("not declared yet")
                .with_help("declare it (with its type) before this line"),
            );
            return;
        }
        if name == "Packet" {
            self.error(
                Diagnostic::error("packet-value", span, "`Packet` is not a value").with_help(
                    "use `Packet.readU8(off)`, `Packet.readU16(off)`, `Packet.readU32(off)`",
                ),
            );
            return;
        }
        let mut d = Diagnostic::error("unknown-name", span, format!("unknown name `{name}`"))
            .with_label("not declared");
        if let Some(p) = self.env.catalog.programs.iter().find(|p| p.name == name) {
            d = d.with_help(format!(
                "`{name}` is a program: import it with `from programs.{} import {name}`",
                p.package
            ));
        } else {
            let mut cands: Vec<&str> = self.vars.keys().map(|s| s.as_str()).collect();
            cands.extend(self.local_consts.keys().map(|s| s.as_str()));
            cands.extend(self.env.known_names());
            if let Some(s) = suggest(name, cands) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
        }
        self.error(d);
    }

    fn ty_of(&self, e: &Expr) -> Ty {
        match &e.kind {
            ExprKind::Int(_) => Ty::Lit,
            ExprKind::Bool(_) => Ty::Bool,
            ExprKind::Str(_) => Ty::Lit,
            ExprKind::Name(n) => self.vars.get(n).map(|v| Ty::Int(v.ty)).unwrap_or(Ty::Lit),
            ExprKind::Call {
                callee: Callee::Method { method, .. },
                ..
            } => match packet_method(&method.name) {
                Some((false, 1)) => Ty::Int(IntType::U8),
                Some((false, 2)) => Ty::Int(IntType::U16),
                Some((false, 4)) => Ty::Int(IntType::U32),
                _ => Ty::Int(IntType::U64),
            },
            ExprKind::Call { .. } => Ty::Int(IntType::U64),
            ExprKind::Unary(UnOp::Not, _)
            | ExprKind::Cmp(..)
            | ExprKind::And(..)
            | ExprKind::Or(..) => Ty::Bool,
            ExprKind::Unary(_, a) => match self.ty_of(a) {
                Ty::Lit => Ty::Lit,
                t if t.signed() => Ty::Int(IntType::S64),
                _ => Ty::Int(IntType::U64),
            },
            ExprKind::Binary(op, a, b) => {
                let (ta, tb) = (self.ty_of(a), self.ty_of(b));
                let signed = if matches!(op, BinOp::Shl | BinOp::Shr) {
                    ta.signed()
                } else {
                    ta.signed() || tb.signed()
                };
                if signed {
                    Ty::Int(IntType::S64)
                } else if ta == Ty::Lit && tb == Ty::Lit {
                    Ty::Lit
                } else {
                    Ty::Int(IntType::U64)
                }
            }
        }
    }

    /// Does a value of static type `t` already fit `target` (no truncation needed)?
    fn fits(t: Ty, target: IntType) -> bool {
        if target.bits() == 64 {
            return true;
        }
        match t {
            Ty::Bool => true,
            Ty::Int(v) => {
                (v.signed() == target.signed() && v.bits() <= target.bits())
                    || (!v.signed() && target.signed() && v.bits() < target.bits())
            }
            Ty::Lit => false,
        }
    }

    // ---- statements ----

    fn stmt(&mut self, s: &Stmt) {
        self.line = self.env.line_of(s.span.start);
        match &s.kind {
            StmtKind::Pass => {}
            StmtKind::Expr(e) => match &e.kind {
                ExprKind::Call { .. } => {
                    self.call(e, None);
                }
                _ => {
                    self.diags.push(
                        Diagnostic::warning("no-effect", e.span, "this expression has no effect")
                            .with_help("call a program, or assign the value to a variable"),
                    );
                    if let Some(r) = self.alloc(e.span) {
                        self.eval(e, r);
                        self.free(r);
                    }
                }
            },
            StmtKind::Return(value) => {
                let Some(r0) = self.alloc_specific(0, s.span) else {
                    return;
                };
                match value {
                    Some(e) => {
                        self.eval(e, 0);
                    }
                    None => self.mov_imm(0, 0),
                }
                self.free(r0);
                self.emit(Insn::new(op::JMP | op::EXIT, 0, 0, 0, 0));
            }
            StmtKind::Const { name, value } => {
                let prev = self
                    .local_consts
                    .get(&name.name)
                    .map(|c| c.1)
                    .or_else(|| self.env.consts.get(&name.name).map(|c| c.1));
                if let Some(prev) = prev {
                    self.error(
                        Diagnostic::error("constant-redefined", name.span, format!("constant `{}` is redefined", name.name))
                            .with_label("defined again here")
                            .with_secondary(prev, "first defined here")
                            .with_help("constants never change; use a variable (`u64 : x = ...`) for a changing value"),
                    );
                    return;
                }
                if !self.check_new_name(name) {
                    return;
                }
                if let Some(v) = literal_value(value) {
                    self.local_consts.insert(name.name.clone(), (v, name.span));
                }
            }
            StmtKind::Decl { ty, name, value } => {
                if !self.check_new_name(name) {
                    return;
                }
                let home = self
                    .homes
                    .get(&name.name)
                    .copied()
                    .unwrap_or(Home::Stack(-8));
                let var = Var {
                    ty: *ty,
                    home,
                    span: name.span,
                };
                self.assign(&name.name, var, value);
                self.vars.insert(name.name.clone(), var);
            }
            StmtKind::Assign { name, value } => {
                if let Some(var) = self.resolve_target(name, Some(value)) {
                    self.assign(&name.name, var, value);
                }
            }
            StmtKind::AugAssign { name, op, value } => {
                if let Some(var) = self.resolve_target(name, None) {
                    self.aug_assign(var, *op, value, s.span);
                }
            }
            StmtKind::If { arms, orelse } => {
                let end = self.new_label();
                let n = arms.len();
                for (i, (cond, body)) in arms.iter().enumerate() {
                    self.line = self.env.line_of(cond.span.start);
                    let next = self.new_label();
                    self.branch(cond, next, false);
                    self.block(body);
                    let last = i + 1 == n && orelse.is_none();
                    if !last && !ends_in_return(body) {
                        self.ja(end);
                    }
                    self.place(next);
                }
                if let Some(body) = orelse {
                    self.block(body);
                }
                self.place(end);
            }
            StmtKind::While { cond, body } => {
                let top = self.new_label();
                let end = self.new_label();
                self.place(top);
                self.branch(cond, end, false);
                self.block(body);
                self.line = self.env.line_of(s.span.start);
                self.ja(top);
                self.place(end);
            }
            StmtKind::For { var, count, body } => self.for_loop(var, count, body, s.span),
        }
    }

    fn block(&mut self, body: &[Stmt]) {
        for s in body {
            self.stmt(s);
        }
    }

    fn alloc_specific(&mut self, r: u8, span: Span) -> Option<u8> {
        if self.busy[r as usize] {
            self.error(
                Diagnostic::error(
                    "too-complex",
                    span,
                    "internal register conflict in this expression",
                )
                .with_help("split it"),
            );
            return None;
        }
        self.busy[r as usize] = true;
        Some(r)
    }

    fn resolve_target(&mut self, name: &Ident, value: Option<&Expr>) -> Option<Var> {
        if let Some(v) = self.vars.get(&name.name) {
            return Some(*v);
        }
        let n = &name.name;
        let d = if self.lookup_const(n).is_some() {
            Diagnostic::error(
                "assign-to-constant",
                name.span,
                format!("cannot assign to constant `{n}`"),
            )
            .with_label("a constant")
            .with_help(format!(
                "constants never change; declare a variable instead: `u64 : {} = ...`",
                n.to_lowercase()
            ))
        } else if self.env.programs.contains_key(n) || self.env.chain_index.contains_key(n) {
            Diagnostic::error(
                "assign-to-callable",
                name.span,
                format!("cannot assign to `{n}`"),
            )
            .with_label("a program or chain")
            .with_help("pick another name for the variable")
        } else if self.homes.contains_key(n) {
            Diagnostic::error(
                "used-before-declaration",
                name.span,
                format!("`{n}` is assigned before its declaration"),
            )
            .with_label("not declared yet")
            .with_help("move the declaration (with its type) before this line")
        } else {
            let d = Diagnostic::error(
                "undeclared-variable",
                name.span,
                format!("assignment to undeclared variable `{n}`"),
            )
            .with_label("not declared")
            .with_help(format!(
                "declare it: `u64 : {n} = {}` (eCLAT variables have a type, written first)",
                value
                    .and_then(|v| self.env.source.get(v.span.start..v.span.end))
                    .unwrap_or("...")
            ));
            self.error(d);
            // declare it anyway so that later uses do not repeat the error
            let var = Var {
                ty: IntType::U64,
                home: Home::Stack(-8),
                span: name.span,
            };
            self.vars.insert(n.clone(), var);
            return Some(var);
        };
        self.error(d);
        None
    }

    fn assign(&mut self, name: &str, var: Var, value: &Expr) {
        if let ExprKind::Str(_) = value.kind {
            self.error(
                Diagnostic::error(
                    "string-value",
                    value.span,
                    "strings are only `attach` arguments",
                )
                .with_label("a string"),
            );
            return;
        }
        if let Some(c) = self.const_value(value) {
            let v = truncate_const(c, var.ty);
            match var.home {
                Home::Reg(r) => self.mov_imm(r, v),
                Home::Stack(off) => {
                    if fits_i32(v) {
                        self.emit(Insn::new(
                            op::ST | op::MEM | op::DW,
                            10,
                            0,
                            off,
                            v as i64 as i32,
                        ));
                    } else if let Some(s) = self.alloc(value.span) {
                        self.mov_imm(s, v);
                        self.emit(Insn::new(op::STX | op::MEM | op::DW, 10, s, off, 0));
                        self.free(s);
                    }
                }
            }
            return;
        }
        let need_trunc = !Self::fits(self.ty_of(value), var.ty);
        match var.home {
            Home::Reg(r) if !value.mentions(name) => {
                if self.eval(value, r).is_some() && need_trunc {
                    self.truncate(r, var.ty);
                }
            }
            home => {
                let Some(s) = self.alloc(value.span) else {
                    return;
                };
                if self.eval(value, s).is_some() {
                    if need_trunc {
                        self.truncate(s, var.ty);
                    }
                    match home {
                        Home::Reg(r) => self.mov_x(r, s),
                        Home::Stack(off) => {
                            self.emit(Insn::new(op::STX | op::MEM | op::DW, 10, s, off, 0))
                        }
                    }
                }
                self.free(s);
            }
        }
    }

    fn aug_assign(&mut self, var: Var, bop: BinOp, value: &Expr, span: Span) {
        let vt = self.ty_of(value);
        let signed = var.ty.signed() || (vt.signed() && !matches!(bop, BinOp::Shl | BinOp::Shr));
        if signed && matches!(bop, BinOp::Div | BinOp::Mod) {
            self.signed_div_error(span);
            return;
        }
        let code = alu_code(bop, var.ty.signed());
        let (r, scratch) = match var.home {
            Home::Reg(r) => (r, false),
            Home::Stack(off) => {
                let Some(s) = self.alloc(span) else { return };
                self.emit(Insn::new(op::LDX | op::MEM | op::DW, s, 10, off, 0));
                (s, true)
            }
        };
        if let Some(rhs) = self.operand(value) {
            self.alu(code, r, rhs);
            self.release(rhs);
            self.truncate(r, var.ty);
            if let Home::Stack(off) = var.home {
                self.emit(Insn::new(op::STX | op::MEM | op::DW, 10, r, off, 0));
            }
        }
        if scratch {
            self.free(r);
        }
    }

    fn signed_div_error(&mut self, span: Span) {
        self.error(
            Diagnostic::error(
                "signed-division",
                span,
                "division of signed values is not supported",
            )
            .with_label("an operand is signed")
            .with_help(
                "the chain bytecode (eBPF v2) only divides unsigned; use unsigned types here",
            ),
        );
    }

    fn for_loop(&mut self, var: &Ident, count: &Expr, body: &[Stmt], span: Span) {
        let Some(n) = self.const_value(count) else {
            self.error(
                Diagnostic::error(
                    "range-bound",
                    count.span,
                    "`range()` needs a literal or a constant bound",
                )
                .with_label("not a constant")
                .with_help(
                    "chains have a fixed instruction budget: write `range(4)` or `range(LIMIT)`",
                ),
            );
            return;
        };
        if !fits_i32(n) || (n as i64) < 0 {
            self.error(Diagnostic::error(
                "range-bound",
                count.span,
                format!("range({}) is too large", n as i64),
            ));
            return;
        }
        let v = match self.vars.get(&var.name) {
            Some(v) => *v,
            None => {
                if !self.check_new_name(var) {
                    return;
                }
                let home = self
                    .homes
                    .get(&var.name)
                    .copied()
                    .unwrap_or(Home::Stack(-8));
                let v = Var {
                    ty: IntType::U64,
                    home,
                    span: var.span,
                };
                self.vars.insert(var.name.clone(), v);
                v
            }
        };
        let zero = Expr {
            kind: ExprKind::Int(0),
            span,
        };
        self.assign(&var.name, v, &zero);
        let top = self.new_label();
        let end = self.new_label();
        self.place(top);
        let bound = Expr {
            kind: ExprKind::Int(n),
            span: count.span,
        };
        let cond = Expr {
            kind: ExprKind::Cmp(
                CmpOp::Lt,
                Box::new(Expr {
                    kind: ExprKind::Name(var.name.clone()),
                    span: var.span,
                }),
                Box::new(bound),
            ),
            span,
        };
        self.synthetic = true;
        self.branch(&cond, end, false);
        self.synthetic = false;
        self.block(body);
        self.line = self.env.line_of(span.start);
        let one = Expr {
            kind: ExprKind::Int(1),
            span,
        };
        self.aug_assign(v, BinOp::Add, &one, span);
        self.ja(top);
        self.place(end);
    }

    // ---- expressions ----

    /// A right-hand operand: an immediate, a variable's register, or a scratch register.
    fn operand(&mut self, e: &Expr) -> Option<Opnd> {
        if let Some(c) = self.const_value(e)
            && fits_i32(c)
        {
            return Some(Opnd::Imm(c as i64 as i32));
        }
        if let ExprKind::Name(n) = &e.kind
            && let Some(Var {
                home: Home::Reg(r), ..
            }) = self.vars.get(n)
        {
            return Some(Opnd::Home(*r));
        }
        let s = self.alloc(e.span)?;
        if self.eval(e, s).is_none() {
            self.free(s);
            return None;
        }
        Some(Opnd::Scratch(s))
    }

    /// Evaluates `e` into register `dst` (a variable's home or an allocated scratch register).
    fn eval(&mut self, e: &Expr, dst: u8) -> Option<()> {
        if let Some(c) = self.const_value(e) {
            self.mov_imm(dst, c);
            return Some(());
        }
        match &e.kind {
            ExprKind::Int(_) | ExprKind::Bool(_) => Some(()),
            ExprKind::Str(_) => {
                self.error(
                    Diagnostic::error(
                        "string-value",
                        e.span,
                        "strings are only `attach` arguments",
                    )
                    .with_label("a string"),
                );
                None
            }
            ExprKind::Name(n) => {
                match self.vars.get(n).copied() {
                    Some(Var {
                        home: Home::Reg(r), ..
                    }) => self.mov_x(dst, r),
                    Some(Var {
                        home: Home::Stack(off),
                        ..
                    }) => self.emit(Insn::new(op::LDX | op::MEM | op::DW, dst, 10, off, 0)),
                    None => {
                        if self.env.programs.contains_key(n) || self.env.chain_index.contains_key(n)
                        {
                            self.error(
                                Diagnostic::error(
                                    "callable-value",
                                    e.span,
                                    format!("`{n}` is not a value"),
                                )
                                .with_label("a program or chain")
                                .with_help(format!("call it: `{n}()`")),
                            );
                        } else {
                            self.unknown_name(n, e.span);
                        }
                        return None;
                    }
                }
                Some(())
            }
            ExprKind::Call { .. } => self.call(e, Some(dst)),
            ExprKind::Unary(UnOp::Not, _)
            | ExprKind::Cmp(..)
            | ExprKind::And(..)
            | ExprKind::Or(..) => {
                // dst = 1; if e goto end; dst = 0; end:
                self.mov_imm(dst, 1);
                let end = self.new_label();
                let reserved = (dst as usize) < 6 && !self.busy[dst as usize];
                if reserved {
                    self.busy[dst as usize] = true;
                }
                self.branch(e, end, true);
                if reserved {
                    self.busy[dst as usize] = false;
                }
                self.mov_imm(dst, 0);
                self.place(end);
                Some(())
            }
            ExprKind::Unary(uop, a) => {
                self.eval(a, dst)?;
                match uop {
                    UnOp::Neg => self.emit(Insn::new(op::ALU64 | op::NEG, dst, 0, 0, 0)),
                    _ => self.emit(Insn::new(op::ALU64 | op::XOR | op::K, dst, 0, 0, -1)),
                }
                Some(())
            }
            ExprKind::Binary(bop, a, b) => {
                let (ta, tb) = (self.ty_of(a), self.ty_of(b));
                if matches!(bop, BinOp::Div | BinOp::Mod) && (ta.signed() || tb.signed()) {
                    self.signed_div_error(e.span);
                    return None;
                }
                self.eval(a, dst)?;
                let reserved = (dst as usize) < 6 && !self.busy[dst as usize];
                if reserved {
                    self.busy[dst as usize] = true;
                }
                let rhs = self.operand(b);
                if reserved {
                    self.busy[dst as usize] = false;
                }
                let rhs = rhs?;
                self.alu(alu_code(*bop, ta.signed()), dst, rhs);
                self.release(rhs);
                Some(())
            }
        }
    }

    /// Jumps to `label` when the truth of `e` equals `when`; falls through otherwise.
    fn branch(&mut self, e: &Expr, label: usize, when: bool) {
        if let Some(c) = self.const_value(e) {
            if (c != 0) == when {
                self.ja(label);
            }
            return;
        }
        match &e.kind {
            ExprKind::Unary(UnOp::Not, a) => self.branch(a, label, !when),
            ExprKind::And(a, b) => {
                if when {
                    let skip = self.new_label();
                    self.branch(a, skip, false);
                    self.branch(b, label, true);
                    self.place(skip);
                } else {
                    self.branch(a, label, false);
                    self.branch(b, label, false);
                }
            }
            ExprKind::Or(a, b) => {
                if when {
                    self.branch(a, label, true);
                    self.branch(b, label, true);
                } else {
                    let skip = self.new_label();
                    self.branch(a, skip, true);
                    self.branch(b, label, false);
                    self.place(skip);
                }
            }
            ExprKind::Cmp(cop, a, b) => {
                let signed = self.ty_of(a).signed() || self.ty_of(b).signed();
                let (mut cop, mut a, mut b) = (*cop, &**a, &**b);
                if self.const_value(a).is_some() {
                    std::mem::swap(&mut a, &mut b);
                    cop = cop.mirror();
                }
                if !signed
                    && !self.synthetic
                    && !matches!(cop, CmpOp::Eq | CmpOp::Ne)
                    && self.const_value(b).is_some_and(|v| {
                        (v as i64) < 0 || (v == 0 && matches!(cop, CmpOp::Lt | CmpOp::Ge))
                    })
                {
                    self.diags.push(
                        Diagnostic::warning(
                            "unsigned-negative-compare",
                            e.span,
                            "an unsigned value is never below zero",
                        )
                        .with_label("unsigned comparison (a negative number here is a huge positive one)")
                        .with_help(
                            "keep the value in a signed variable first (`s64 : v = ...`), or compare with `==`",
                        ),
                    );
                }
                let Some(lhs) = self.operand_reg(a) else {
                    return;
                };
                let rhs = self.operand(b);
                let Some(rhs) = rhs else {
                    self.release(lhs);
                    return;
                };
                let cop = if when { cop } else { cop.negate() };
                let code = jmp_code(cop, signed);
                let r = match lhs {
                    Opnd::Home(r) | Opnd::Scratch(r) => r,
                    Opnd::Imm(_) => 0,
                };
                self.jump(code, r, rhs, label);
                self.release(rhs);
                self.release(lhs);
            }
            _ => {
                let Some(v) = self.operand_reg(e) else { return };
                let r = match v {
                    Opnd::Home(r) | Opnd::Scratch(r) => r,
                    Opnd::Imm(_) => 0,
                };
                self.jump(if when { op::JNE } else { op::JEQ }, r, Opnd::Imm(0), label);
                self.release(v);
            }
        }
    }

    /// Like [`Self::operand`] but always a register (a jump's left side).
    fn operand_reg(&mut self, e: &Expr) -> Option<Opnd> {
        if let ExprKind::Name(n) = &e.kind
            && let Some(Var {
                home: Home::Reg(r), ..
            }) = self.vars.get(n)
        {
            return Some(Opnd::Home(*r));
        }
        let s = self.alloc(e.span)?;
        // keep the lhs live while the rhs is evaluated
        if self.eval(e, s).is_none() {
            self.free(s);
            return None;
        }
        Some(Opnd::Scratch(s))
    }

    /// A call: a program, a chain, or a `Packet` accessor. The result goes to `dst` if given.
    fn call(&mut self, e: &Expr, dst: Option<u8>) -> Option<()> {
        let ExprKind::Call { callee, args } = &e.kind else {
            return None;
        };
        let (target, nparams, name) = match callee {
            Callee::Method { object, method } => {
                if object.name == "Packet" {
                    return self.packet_call(e, &method.name, method.span, args, dst);
                }
                let d = if self.env.loaders.contains_key(&object.name) {
                    Diagnostic::error(
                        "attach-in-chain",
                        e.span,
                        "loaders are attached at top level, not from a chain",
                    )
                    .with_help("move this line out of the `def`")
                } else {
                    Diagnostic::error("unknown-method", e.span, format!("`{}.{}` is not something a chain can call", object.name, method.name))
                        .with_help("chains call programs, other chains, and `Packet.readU8/16/32` / `Packet.writeU8/16/32`")
                };
                self.error(d);
                return None;
            }
            Callee::Name(n) => {
                if let Some((p, _)) = self.env.programs.get(&n.name) {
                    self.used.insert((p.package.clone(), p.name.clone()));
                    let t = Target::Program {
                        package: p.package.clone(),
                        name: p.name.clone(),
                    };
                    if args.len() > MAX_PROG_ARGS {
                        self.error(
                            Diagnostic::error(
                                "too-many-args",
                                e.span,
                                format!(
                                    "`{}` takes {} argument(s), {} given",
                                    n.name,
                                    p.params.len(),
                                    args.len()
                                ),
                            )
                            .with_help("a HIKe program takes at most 3 arguments"),
                        );
                        return None;
                    }
                    (t, Some(p.params.clone()), n)
                } else if let Some(&idx) = self.env.chain_index.get(&n.name) {
                    let def = self.env.chains[idx].def;
                    let params = def
                        .params
                        .iter()
                        .map(|p| hike::catalog::Param {
                            name: p.name.name.clone(),
                            ty: p.ty,
                        })
                        .collect();
                    (Target::Chain(idx), Some(params), n)
                } else {
                    let mut d = Diagnostic::error(
                        "unknown-function",
                        n.span,
                        format!("`{}` is not an imported program or a chain", n.name),
                    )
                    .with_label("cannot call this");
                    if let Some(p) = self.env.catalog.programs.iter().find(|p| p.name == n.name) {
                        d = d.with_help(format!(
                            "import it: `from programs.{} import {}`",
                            p.package, n.name
                        ));
                    } else if n.name == "print" {
                        d = d.with_help("chains cannot print; `show_pkt_info(layers, cookie)` from `programs.info` logs packet fields");
                    } else if let Some(s) = suggest(
                        &n.name,
                        self.env
                            .programs
                            .keys()
                            .map(|s| s.as_str())
                            .chain(self.env.chain_index.keys().map(|s| s.as_str())),
                    ) {
                        d = d.with_help(format!("did you mean `{s}`?"));
                    }
                    self.error(d);
                    return None;
                }
            }
        };
        let params = nparams.unwrap_or_default();
        if args.len() != params.len() {
            let sig: Vec<String> = params
                .iter()
                .map(|p| format!("{} {}", p.ty.name(), p.name))
                .collect();
            let what = if matches!(target, Target::Chain(_)) {
                "chain"
            } else {
                "program"
            };
            self.error(
                Diagnostic::error(
                    "wrong-arg-count",
                    e.span,
                    format!(
                        "{what} `{}` takes {} argument(s), {} given",
                        name.name,
                        params.len(),
                        args.len()
                    ),
                )
                .with_label(format!("{} argument(s) here", args.len()))
                .with_help(format!(
                    "its signature: {}({})",
                    name.name,
                    sig.join(", ")
                )),
            );
            return None;
        }
        for (a, p) in args.iter().zip(&params) {
            if let Some(v) = self.const_value(a)
                && truncate_const(v, p.ty) != v
                && !(p.ty.signed() || (v as i64) < 0 && p.ty.bits() == 64)
            {
                self.error(
                    Diagnostic::error(
                        "arg-range",
                        a.span,
                        format!(
                            "{} does not fit parameter `{}` of type {}",
                            v as i64,
                            p.name,
                            p.ty.name()
                        ),
                    )
                    .with_label("out of range"),
                );
                return None;
            }
            if let ExprKind::Str(_) = a.kind {
                self.error(
                    Diagnostic::error(
                        "string-value",
                        a.span,
                        "strings are only `attach` arguments",
                    )
                    .with_label("a string"),
                );
                return None;
            }
        }
        // spill live scratch registers: the call clobbers r0..r5
        let mut saved = Vec::new();
        for r in 0u8..6 {
            if self.busy[r as usize] && Some(r) != dst {
                let slot = self.temp_slot(e.span)?;
                self.emit(Insn::new(op::STX | op::MEM | op::DW, 10, r, slot, 0));
                saved.push((r, slot));
                self.busy[r as usize] = false;
            }
        }
        let dst_scratch = dst.filter(|r| (*r as usize) < 6 && self.busy[*r as usize]);
        if let Some(r) = dst_scratch {
            self.busy[r as usize] = false;
        }
        let mut ok = true;
        for (i, a) in args.iter().enumerate() {
            let r = 2 + i as u8;
            if self.alloc_specific(r, a.span).is_none() || self.eval(a, r).is_none() {
                ok = false;
                break;
            }
        }
        if ok {
            let at = self.code.len();
            self.mov_imm(1, 0);
            let placeholder = match &target {
                Target::Chain(i) => (FIRST_CHAIN_ID + *i as u32) as i32,
                Target::Program { .. } => 0,
            };
            if let Some(insn) = self.code.get_mut(at) {
                insn.imm = placeholder;
            }
            self.relocs.push(Reloc { insn: at, target });
            self.emit(Insn::new(
                op::JMP | op::CALL,
                0,
                0,
                0,
                call::for_args(args.len()).unwrap_or(call::CALL_0),
            ));
        }
        for i in 0..args.len() {
            self.free(2 + i as u8);
        }
        for (r, _) in &saved {
            self.busy[*r as usize] = true;
        }
        if let Some(r) = dst_scratch {
            self.busy[r as usize] = true;
        }
        if let Some(d) = dst
            && ok
        {
            self.mov_x(d, 0);
        }
        for (r, slot) in saved.iter().rev() {
            self.emit(Insn::new(op::LDX | op::MEM | op::DW, *r, 10, *slot, 0));
            self.temp_depth -= 1;
        }
        ok.then_some(())
    }

    fn packet_call(
        &mut self,
        e: &Expr,
        method: &str,
        mspan: Span,
        args: &[Expr],
        dst: Option<u8>,
    ) -> Option<()> {
        let Some((write, size)) = packet_method(method) else {
            let mut d = Diagnostic::error(
                "unknown-method",
                mspan,
                format!("`Packet` has no method `{method}`"),
            )
            .with_label("unknown method");
            let all = [
                "readU8", "readU16", "readU32", "writeU8", "writeU16", "writeU32",
            ];
            d = match suggest(method, all) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None => d.with_help(
                    "methods: readU8/readU16/readU32(off), writeU8/writeU16/writeU32(off, value)",
                ),
            };
            self.error(d);
            return None;
        };
        let want = if write { 2 } else { 1 };
        if args.len() != want {
            self.error(
                Diagnostic::error(
                    "wrong-arg-count",
                    e.span,
                    format!(
                        "`Packet.{method}` takes {want} argument(s), {} given",
                        args.len()
                    ),
                )
                .with_help(if write {
                    "Packet.writeU16(offset, value)"
                } else {
                    "Packet.readU16(offset)"
                }),
            );
            return None;
        }
        let sz = SIZE_BITS
            .iter()
            .find(|(s, _)| *s == size)
            .map(|(_, b)| *b)
            .unwrap_or(op::B);
        // the address: PACKET bank + 8 + offset
        let addr = self.alloc(e.span)?;
        let off_const = self.const_value(&args[0]);
        match off_const {
            Some(o) if o <= hike::layout::mmu::PACKET_MASK as u64 => {
                self.mov_imm(addr, hike::layout::mmu::PACKET_DATA as u64 + o);
            }
            Some(o) => {
                self.free(addr);
                self.error(
                    Diagnostic::error(
                        "packet-offset",
                        args[0].span,
                        format!("packet offset {} is out of range", o as i64),
                    )
                    .with_help("the MMU's PACKET window is 16 KiB (offsets 0..16383)"),
                );
                return None;
            }
            None => {
                if self.eval(&args[0], addr).is_none() {
                    self.free(addr);
                    return None;
                }
                self.emit(Insn::new(
                    op::ALU64 | op::ADD | op::K,
                    addr,
                    0,
                    0,
                    hike::layout::mmu::PACKET_DATA as i32,
                ));
            }
        }
        if !write {
            if let Some(d) = dst {
                self.emit(Insn::new(op::LDX | op::MEM | sz, d, addr, 0, 0));
                if size > 1 {
                    self.emit(Insn::new(
                        op::ALU | op::END | op::TO_BE,
                        d,
                        0,
                        0,
                        size as i32 * 8,
                    ));
                }
            }
            self.free(addr);
            return Some(());
        }
        let value = &args[1];
        if let Some(v) = self.const_value(value) {
            let wire = match size {
                1 => v & 0xff,
                2 => (v as u16).swap_bytes() as u64,
                _ => (v as u32).swap_bytes() as u64,
            };
            self.emit(Insn::new(
                op::ST | op::MEM | sz,
                addr,
                0,
                0,
                wire as u32 as i32,
            ));
        } else {
            let Some(v) = self.alloc(value.span) else {
                self.free(addr);
                return None;
            };
            if self.eval(value, v).is_some() {
                if size > 1 {
                    self.emit(Insn::new(
                        op::ALU | op::END | op::TO_BE,
                        v,
                        0,
                        0,
                        size as i32 * 8,
                    ));
                }
                self.emit(Insn::new(op::STX | op::MEM | sz, addr, v, 0, 0));
            }
            self.free(v);
        }
        self.free(addr);
        if let Some(d) = dst {
            self.mov_imm(d, 0);
        }
        Some(())
    }
}

fn ends_in_return(body: &[Stmt]) -> bool {
    matches!(body.last().map(|s| &s.kind), Some(StmtKind::Return(_)))
}

fn truncate_const(v: u64, ty: IntType) -> u64 {
    let bits = ty.bits();
    if bits == 64 {
        return v;
    }
    let masked = v & ((1u64 << bits) - 1);
    if ty.signed() && masked >> (bits - 1) == 1 {
        masked | !((1u64 << bits) - 1)
    } else {
        masked
    }
}

fn alu_code(b: BinOp, signed_left: bool) -> u8 {
    match b {
        BinOp::Add => op::ADD,
        BinOp::Sub => op::SUB,
        BinOp::Mul => op::MUL,
        BinOp::Div => op::DIV,
        BinOp::Mod => op::MOD,
        BinOp::Shl => op::LSH,
        BinOp::Shr => {
            if signed_left {
                op::ARSH
            } else {
                op::RSH
            }
        }
        BinOp::And => op::AND,
        BinOp::Or => op::OR,
        BinOp::Xor => op::XOR,
    }
}

fn jmp_code(c: CmpOp, signed: bool) -> u8 {
    match (c, signed) {
        (CmpOp::Eq, _) => op::JEQ,
        (CmpOp::Ne, _) => op::JNE,
        (CmpOp::Lt, false) => op::JLT,
        (CmpOp::Le, false) => op::JLE,
        (CmpOp::Gt, false) => op::JGT,
        (CmpOp::Ge, false) => op::JGE,
        (CmpOp::Lt, true) => op::JSLT,
        (CmpOp::Le, true) => op::JSLE,
        (CmpOp::Gt, true) => op::JSGT,
        (CmpOp::Ge, true) => op::JSGE,
    }
}
