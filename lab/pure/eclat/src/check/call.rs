//! Calls in a chain: imported programs (at most 3 arguments, checked against their BTF
//! signature), other chains (at most 2), and the `Packet` accessors.

use super::chain::{ChainChecker, string_value};
use super::suggest;
use crate::ast::{Callee, Expr, ExprKind, Ident};
use crate::diag::{Diagnostic, Span};
use crate::hir::{CallTarget, HExpr, HExprKind, Ty, packet_method, truncate_const};
use hike::MAX_PROG_ARGS;
use hike::catalog::{IntType, Param};

impl ChainChecker<'_, '_, '_> {
    pub(super) fn call(&mut self, e: &Expr, callee: &Callee, args: &[Expr]) -> Option<HExpr> {
        match callee {
            Callee::Method { object, method } => self.method_call(e, object, method, args),
            Callee::Name(n) => {
                let (target, params) = self.callee(e, n, args.len())?;
                let hargs = self.args(e, n, &target, &params, args)?;
                Some(HExpr {
                    kind: HExprKind::Call {
                        target,
                        args: hargs,
                    },
                    ty: Ty::Int(IntType::U64),
                    span: e.span,
                })
            }
        }
    }

    /// What `n(...)` calls, with its parameters.
    fn callee(&mut self, e: &Expr, n: &Ident, nargs: usize) -> Option<(CallTarget, Vec<Param>)> {
        if let Some((p, _)) = self.env.programs.get(&n.name) {
            if nargs > MAX_PROG_ARGS {
                self.error(
                    Diagnostic::error(
                        "too-many-args",
                        e.span,
                        format!(
                            "`{}` takes {} argument(s), {nargs} given",
                            n.name,
                            p.params.len(),
                        ),
                    )
                    .with_help("a HIKe program takes at most 3 arguments"),
                );
                return None;
            }
            let target = CallTarget::Program {
                package: p.package.clone(),
                name: p.name.clone(),
                kind: p.kind,
            };
            return Some((target, p.params.clone()));
        }
        if let Some(&idx) = self.env.chain_index.get(&n.name) {
            let params = self.env.chains[idx]
                .params
                .iter()
                .map(|p| Param {
                    name: p.name.name.clone(),
                    ty: p.ty,
                })
                .collect();
            return Some((CallTarget::Chain(idx), params));
        }
        if self.env.poisoned.contains(&n.name) {
            self.ok = false;
            return None;
        }
        let d = self.unknown_function(n);
        self.error(d);
        None
    }

    fn unknown_function(&self, n: &Ident) -> Diagnostic {
        let d = Diagnostic::error(
            "unknown-function",
            n.span,
            format!("`{}` is not an imported program or a chain", n.name),
        )
        .with_label("cannot call this");
        if let Some(p) = self.env.catalog.programs.iter().find(|p| p.name == n.name) {
            return d.with_help(format!(
                "import it: `from programs.{} import {}`",
                p.package, n.name
            ));
        }
        if n.name == "print" {
            return d.with_help("chains cannot print; `show_pkt_info(layers, cookie)` from `programs.info` logs packet fields");
        }
        let callable = self
            .env
            .programs
            .keys()
            .chain(self.env.chain_index.keys())
            .map(|s| s.as_str());
        match suggest(&n.name, callable) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d,
        }
    }

    /// The arguments, against the callee's parameters: count, constants in range, no strings.
    fn args(
        &mut self,
        e: &Expr,
        n: &Ident,
        target: &CallTarget,
        params: &[Param],
        args: &[Expr],
    ) -> Option<Vec<HExpr>> {
        let checked: Vec<Option<HExpr>> = args
            .iter()
            .map(|a| match a.kind {
                ExprKind::Str(_) => {
                    self.error(string_value(a.span));
                    None
                }
                _ => self.expr(a),
            })
            .collect();
        if args.len() != params.len() {
            let sig: Vec<String> = params
                .iter()
                .map(|p| format!("{} {}", p.ty.name(), p.name))
                .collect();
            let what = match target {
                CallTarget::Chain(_) => "chain",
                CallTarget::Program { .. } => "program",
            };
            self.error(
                Diagnostic::error(
                    "wrong-arg-count",
                    e.span,
                    format!(
                        "{what} `{}` takes {} argument(s), {} given",
                        n.name,
                        params.len(),
                        args.len()
                    ),
                )
                .with_label(format!("{} argument(s) here", args.len()))
                .with_help(format!(
                    "its signature: {}({})",
                    n.name,
                    sig.join(", ")
                )),
            );
            return None;
        }
        let mut out = Vec::new();
        for (h, p) in checked.into_iter().zip(params) {
            let h = h?;
            if let Some(v) = h.constant()
                && truncate_const(v, p.ty) != v
                && !(p.ty.signed() || (v as i64) < 0 && p.ty.bits() == 64)
            {
                self.error(
                    Diagnostic::error(
                        "arg-range",
                        h.span,
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
            out.push(h);
        }
        Some(out)
    }

    fn method_call(
        &mut self,
        e: &Expr,
        object: &Ident,
        method: &Ident,
        args: &[Expr],
    ) -> Option<HExpr> {
        if object.name == "Packet" {
            return self.packet_call(e, &method.name, method.span, args);
        }
        if self.env.poisoned.contains(&object.name) {
            self.ok = false;
            return None;
        }
        let d = if self.env.loaders.contains_key(&object.name) {
            Diagnostic::error(
                "attach-in-chain",
                e.span,
                "loaders are attached at top level, not from a chain",
            )
            .with_help("move this line out of the `def`")
        } else {
            Diagnostic::error(
                "unknown-method",
                e.span,
                format!(
                    "`{}.{}` is not something a chain can call",
                    object.name, method.name
                ),
            )
            .with_help("chains call programs, other chains, and `Packet.readU8/16/32` / `Packet.writeU8/16/32`")
        };
        self.error(d);
        None
    }

    /// `Packet.readU8/16/32(offset)`, `Packet.writeU8/16/32(offset, value)`.
    fn packet_call(&mut self, e: &Expr, method: &str, mspan: Span, args: &[Expr]) -> Option<HExpr> {
        let Some((write, size)) = packet_method(method) else {
            let all = [
                "readU8", "readU16", "readU32", "writeU8", "writeU16", "writeU32",
            ];
            let d = Diagnostic::error(
                "unknown-method",
                mspan,
                format!("`Packet` has no method `{method}`"),
            )
            .with_label("unknown method");
            self.error(match suggest(method, all) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None => d.with_help(
                    "methods: readU8/readU16/readU32(off), writeU8/writeU16/writeU32(off, value)",
                ),
            });
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
        let offset = self.expr(&args[0]);
        let value = if write { self.expr(&args[1]) } else { None };
        let offset = Box::new(offset?);
        if let Some(o) = offset.constant()
            && o > hike::layout::mmu::PACKET_MASK as u64
        {
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
        let (kind, ty) = if write {
            let value = Box::new(value?);
            (
                HExprKind::PacketWrite {
                    size,
                    offset,
                    value,
                },
                Ty::Int(IntType::U64),
            )
        } else {
            let ty = match size {
                1 => IntType::U8,
                2 => IntType::U16,
                _ => IntType::U32,
            };
            (HExprKind::PacketRead { size, offset }, Ty::Int(ty))
        };
        Some(HExpr {
            kind,
            ty,
            span: e.span,
        })
    }
}
