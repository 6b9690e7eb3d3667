//! One chain: its statements, its variables and their scopes, its expressions (typed, folded).
//!
//! Scopes. A variable is one home for the whole chain (a register or a stack slot), declared
//! with its type (`u64 : x = 1`). It can be used where it is declared on every path that
//! leads there: after an `if` whose every branch (that goes on) declares it, but not after a
//! branch or a loop body that may not have run. Declaring it again where it is already
//! declared is an error (C would make a second variable, Python would assign: eCLAT asks the
//! author to say which); declaring it in another branch, with the same type, is the same
//! variable.

use std::collections::{HashMap, HashSet};

use super::{Env, fold, literal_value, suggest};
use crate::ast::*;
use crate::diag::{Diagnostic, Span};
use crate::hir::*;
use hike::catalog::IntType;

pub(super) struct ChainChecker<'a, 'c, 'm> {
    pub env: &'a Env<'c, 'm>,
    pub diags: &'a mut Vec<Diagnostic>,
    /// false once an error was found (reported, or silent for a poisoned name)
    pub ok: bool,
    pub vars: Vec<VarInfo>,
    by_name: HashMap<String, VarId>,
    /// per variable: declared on every path to the current statement
    visible: Vec<bool>,
    /// every name the chain declares somewhere (parameters, declarations, `for` variables)
    declares: HashSet<String>,
    local_consts: HashMap<String, (u64, Span)>,
}

/// Checks chain `def`; its checked form if it has no error.
pub(super) fn check_chain(env: &Env, def: &Def, diags: &mut Vec<Diagnostic>) -> Option<HChain> {
    let mut declares = HashSet::new();
    collect_declared(&def.body, &mut declares);
    let mut c = ChainChecker {
        env,
        diags,
        ok: true,
        vars: Vec::new(),
        by_name: HashMap::new(),
        visible: Vec::new(),
        declares,
        local_consts: HashMap::new(),
    };
    let mut params = Vec::new();
    for p in &def.params {
        c.declares.insert(p.name.name.clone());
        if let Some(v) = c.declare(&p.name, p.ty) {
            params.push(v);
        }
    }
    let body = c.block(&def.body);
    if !c.ok {
        return None;
    }
    Some(HChain {
        name: def.name.name.clone(),
        name_span: def.name.span,
        span: def.span,
        params,
        vars: c.vars,
        body,
    })
}

fn collect_declared(body: &[Stmt], out: &mut HashSet<String>) {
    for s in body {
        match &s.kind {
            StmtKind::Decl { name, .. } => {
                out.insert(name.name.clone());
            }
            StmtKind::For { var, body, .. } => {
                out.insert(var.name.clone());
                collect_declared(body, out);
            }
            StmtKind::If { arms, orelse } => {
                for (_, b) in arms {
                    collect_declared(b, out);
                }
                if let Some(b) = orelse {
                    collect_declared(b, out);
                }
            }
            StmtKind::While { body, .. } => collect_declared(body, out),
            _ => {}
        }
    }
}

impl ChainChecker<'_, '_, '_> {
    pub fn error(&mut self, d: Diagnostic) {
        self.ok = false;
        self.diags.push(d);
    }

    // ---- names ----

    pub fn lookup_const(&self, n: &str) -> Option<u64> {
        self.local_consts
            .get(n)
            .map(|(v, _)| *v)
            .or_else(|| self.env.consts.get(n).map(|(v, _)| *v))
    }

    /// The variable `n` where it is declared on every path here.
    pub fn visible_var(&self, n: &str) -> Option<VarId> {
        self.by_name
            .get(n)
            .copied()
            .filter(|v| self.visible.get(*v) == Some(&true))
    }

    /// A new variable, or the same one declared again in another branch. `None` after an
    /// error.
    fn declare(&mut self, n: &Ident, ty: IntType) -> Option<VarId> {
        if let Some(&v) = self.by_name.get(&n.name) {
            let prev = self.vars[v].clone();
            if self.visible[v] {
                self.error(redeclared(n, prev.span, "variable").with_note(
                    "a variable lives until the end of its chain; declaring it again would make \
                     a second variable in C (the original eCLAT) and assign it in Python, so \
                     eCLAT asks you to choose",
                ));
                return None;
            }
            if prev.ty != ty {
                self.error(
                    Diagnostic::error(
                        "redeclared",
                        n.span,
                        format!(
                            "`{}` is declared as {} elsewhere, as {} here",
                            n.name,
                            prev.ty.name(),
                            ty.name()
                        ),
                    )
                    .with_label(format!("declared as {} here", ty.name()))
                    .with_secondary(prev.span, format!("declared as {} here", prev.ty.name()))
                    .with_help(
                        "a name is one variable in the whole chain: give it one type, or use \
                         another name",
                    ),
                );
                return None;
            }
            self.visible[v] = true;
            return Some(v);
        }
        let prev = self
            .local_consts
            .get(&n.name)
            .map(|c| (c.1, "constant"))
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
                    .map(|d| (d.name.span, "chain"))
            });
        if let Some((span, what)) = prev {
            self.error(redeclared(n, span, what));
            return None;
        }
        let v = self.vars.len();
        self.vars.push(VarInfo {
            name: n.name.clone(),
            ty,
            span: n.span,
        });
        self.visible.push(true);
        self.by_name.insert(n.name.clone(), v);
        Some(v)
    }

    /// A declared variable that is not declared on every path to `span` (in a branch or a
    /// loop body), or declared only further down: the error for using it here.
    fn not_yet_declared(&self, name: &str, span: Span, what: &str) -> Option<Diagnostic> {
        if let Some(&v) = self.by_name.get(name) {
            let decl = self.vars[v].span;
            if decl.start < span.start {
                return Some(
                    Diagnostic::error(
                        "declared-in-block",
                        span,
                        format!("`{name}` is not declared on every path to this line"),
                    )
                    .with_label("maybe not declared here")
                    .with_secondary(decl, "declared here, in a block that may not have run")
                    .with_help(format!(
                        "declare it before that block (`{} : {name} = 0`) and assign it inside",
                        self.vars[v].ty.name()
                    )),
                );
            }
        }
        self.declares.contains(name).then(|| {
            Diagnostic::error(
                "used-before-declaration",
                span,
                format!("`{name}` is {what} before its declaration"),
            )
            .with_label("not declared yet")
            .with_help(if what == "used" {
                "declare it (with its type) before this line"
            } else {
                "move the declaration (with its type) before this line"
            })
        })
    }

    /// The variable assigned by `x = ...` / `x op= ...`.
    fn target(&mut self, name: &Ident, value: Option<&Expr>) -> Option<VarId> {
        if let Some(v) = self.visible_var(&name.name) {
            return Some(v);
        }
        let n = &name.name;
        if self.env.poisoned.contains(n) {
            self.ok = false;
            return None;
        }
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
        } else if let Some(d) = self.not_yet_declared(n, name.span, "assigned") {
            d
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
            // declare it anyway, so that its later uses do not repeat the error
            return self.declare(name, IntType::U64);
        };
        self.error(d);
        None
    }

    fn unknown_name(&mut self, name: &str, span: Span) {
        if self.env.poisoned.contains(name) {
            self.ok = false;
            return;
        }
        if let Some(d) = self.not_yet_declared(name, span, "used") {
            self.error(d);
            return;
        }
        if self.env.programs.contains_key(name) || self.env.chain_index.contains_key(name) {
            self.error(
                Diagnostic::error("callable-value", span, format!("`{name}` is not a value"))
                    .with_label("a program or chain")
                    .with_help(format!("call it: `{name}()`")),
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
            let mut cands: Vec<&str> = self.visible_names();
            cands.extend(self.local_consts.keys().map(|s| s.as_str()));
            cands.extend(self.env.known_names());
            if let Some(s) = suggest(name, cands) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
        }
        self.error(d);
    }

    fn visible_names(&self) -> Vec<&str> {
        self.vars
            .iter()
            .enumerate()
            .filter(|(i, _)| self.visible[*i])
            .map(|(_, v)| v.name.as_str())
            .collect()
    }

    // ---- statements ----

    fn block(&mut self, body: &[Stmt]) -> Vec<HStmt> {
        let mut out = Vec::new();
        for s in body {
            self.stmt(s, &mut out);
        }
        out
    }

    /// A block that may not run, or one of several branches: the visibility of variables is
    /// restored after it (the caller decides what stays declared). Returns its statements and
    /// what was visible at its end.
    fn branch(&mut self, body: &[Stmt]) -> (Vec<HStmt>, Vec<bool>) {
        let mut before = self.visible.clone();
        let out = self.block(body);
        // variables first declared in the block are not visible after it
        before.resize(self.visible.len(), false);
        let after = std::mem::replace(&mut self.visible, before);
        (out, after)
    }

    fn stmt(&mut self, s: &Stmt, out: &mut Vec<HStmt>) {
        if let Some(kind) = self.stmt_kind(s) {
            out.push(HStmt { kind, span: s.span });
        }
    }

    /// The checked statement; `None` when it has no code (`pass`, a docstring, a constant) or
    /// an error.
    fn stmt_kind(&mut self, s: &Stmt) -> Option<HStmtKind> {
        Some(match &s.kind {
            StmtKind::Pass => return None,
            // a string on its own is a docstring, as in Python
            StmtKind::Expr(Expr {
                kind: ExprKind::Str(_),
                ..
            }) => return None,
            StmtKind::Expr(e) => {
                if !e.has_call() {
                    self.diags.push(
                        Diagnostic::warning("no-effect", e.span, "this expression has no effect")
                            .with_help("call a program, or assign the value to a variable"),
                    );
                }
                HStmtKind::Eval(self.expr(e)?)
            }
            StmtKind::Return(value) => match value.as_ref().map(|e| self.expr(e)) {
                Some(h) => HStmtKind::Return(Some(h?)),
                None => HStmtKind::Return(None),
            },
            StmtKind::Const { name, value } => {
                self.local_const(name, value);
                return None;
            }
            StmtKind::Decl { ty, name, value } => {
                // the value first: `u64 : x = x + 1` uses x before its declaration
                let h = self.value(value);
                let var = self.declare(name, *ty)?;
                HStmtKind::Assign { var, value: h? }
            }
            StmtKind::Assign { name, value } => {
                let var = self.target(name, Some(value));
                let h = self.value(value);
                HStmtKind::Assign {
                    var: var?,
                    value: h?,
                }
            }
            StmtKind::AugAssign { name, op, value } => {
                let var = self.target(name, None);
                let h = self.expr(value);
                let (var, h) = (var?, h?);
                let signed = self.vars[var].ty.signed()
                    || (h.ty.signed() && !matches!(op, BinOp::Shl | BinOp::Shr));
                if signed && matches!(op, BinOp::Div | BinOp::Mod) {
                    self.error(signed_division(s.span));
                    return None;
                }
                HStmtKind::AugAssign {
                    var,
                    op: *op,
                    value: h,
                }
            }
            StmtKind::If { arms, orelse } => self.if_stmt(arms, orelse.as_deref()),
            StmtKind::While { cond, body } => {
                let c = self.expr(cond);
                let (body, _) = self.branch(body);
                HStmtKind::While { cond: c?, body }
            }
            StmtKind::For { var, count, body } => {
                let Some((var, count)) = self.for_header(var, count) else {
                    let _ = self.branch(body);
                    return None;
                };
                let (body, _) = self.branch(body);
                HStmtKind::For { var, count, body }
            }
        })
    }

    /// The value of a declaration or assignment (never a string).
    fn value(&mut self, value: &Expr) -> Option<HExpr> {
        if let ExprKind::Str(_) = value.kind {
            self.error(string_value(value.span));
            return None;
        }
        self.expr(value)
    }

    fn local_const(&mut self, name: &Ident, value: &Expr) {
        let prev = self
            .local_consts
            .get(&name.name)
            .map(|c| c.1)
            .or_else(|| self.env.consts.get(&name.name).map(|c| c.1));
        if let Some(prev) = prev {
            self.error(
                Diagnostic::error(
                    "constant-redefined",
                    name.span,
                    format!("constant `{}` is redefined", name.name),
                )
                .with_label("defined again here")
                .with_secondary(prev, "first defined here")
                .with_help(
                    "constants never change; use a variable (`u64 : x = ...`) for a changing value",
                ),
            );
            return;
        }
        if let Some(&v) = self.by_name.get(&name.name) {
            let span = self.vars[v].span;
            self.error(redeclared(name, span, "variable"));
            return;
        }
        if let Some(span) = self.env.programs.get(&name.name).map(|p| p.1).or_else(|| {
            self.env
                .chain_index
                .get(&name.name)
                .map(|i| self.env.chains[*i].name.span)
        }) {
            self.error(redeclared(name, span, "program or chain"));
            return;
        }
        if let Some(v) = literal_value(value) {
            self.local_consts.insert(name.name.clone(), (v, name.span));
        }
    }

    /// Does the block end the chain's way on (a `return`, or a call of a final program, after
    /// which the VM has stopped)? What it declares then matters nowhere after it.
    fn leaves(&self, body: &[Stmt]) -> bool {
        match body.last().map(|s| &s.kind) {
            Some(StmtKind::Return(_)) => true,
            Some(StmtKind::Expr(Expr {
                kind:
                    ExprKind::Call {
                        callee: Callee::Name(n),
                        ..
                    },
                ..
            })) => self
                .env
                .programs
                .get(&n.name)
                .is_some_and(|(p, _)| p.kind == hike::catalog::ProgramKind::Final),
            _ => false,
        }
    }

    fn if_stmt(&mut self, arms: &[(Expr, Vec<Stmt>)], orelse: Option<&[Stmt]>) -> HStmtKind {
        let mut harms = Vec::new();
        // what every branch that goes on declares (one that returns or ends in a final program
        // does not go on)
        let mut common: Option<Vec<bool>> = None;
        let mut meet = |after: Vec<bool>, leaves: bool| {
            if leaves {
                return;
            }
            common = Some(match common.take() {
                None => after,
                Some(c) => (0..c.len().max(after.len()))
                    .map(|i| c.get(i) == Some(&true) && after.get(i) == Some(&true))
                    .collect(),
            });
        };
        let mut ok = true;
        for (cond, body) in arms {
            let c = self.expr(cond);
            let (b, after) = self.branch(body);
            meet(after, self.leaves(body));
            match c {
                Some(c) => harms.push((c, b)),
                None => ok = false,
            }
        }
        let helse = orelse.map(|body| {
            let (b, after) = self.branch(body);
            meet(after, self.leaves(body));
            b
        });
        if orelse.is_none() {
            meet(self.visible.clone(), false);
        }
        if let Some(c) = common {
            for (i, slot) in self.visible.iter_mut().enumerate() {
                *slot = c.get(i) == Some(&true);
            }
        }
        if !ok {
            self.ok = false;
        }
        HStmtKind::If {
            arms: harms,
            orelse: helse,
        }
    }

    /// `for var in range(count)`: the loop variable (an existing one, or a new u64) and the
    /// bound, a constant.
    fn for_header(&mut self, var: &Ident, count: &Expr) -> Option<(VarId, u64)> {
        let bound = match self.expr(count) {
            Some(h) => h.constant(),
            None => return None,
        };
        let Some(n) = bound else {
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
            return None;
        };
        if !fits_i32(n) || (n as i64) < 0 {
            self.error(Diagnostic::error(
                "range-bound",
                count.span,
                format!("range({}) is too large", n as i64),
            ));
            return None;
        }
        let v = match self.by_name.get(&var.name) {
            Some(&v) => {
                self.visible[v] = true;
                v
            }
            None => self.declare(var, IntType::U64)?,
        };
        Some((v, n))
    }

    // ---- expressions ----

    /// Checks, types and folds an expression.
    pub fn expr(&mut self, e: &Expr) -> Option<HExpr> {
        let span = e.span;
        let (kind, ty) = match &e.kind {
            ExprKind::Int(v) => (HExprKind::Const(*v), Ty::Lit),
            ExprKind::Bool(b) => (HExprKind::Const(*b as u64), Ty::Bool),
            ExprKind::Str(_) => {
                self.error(string_value(span));
                return None;
            }
            ExprKind::Name(n) => {
                if let Some(v) = self.visible_var(n) {
                    (HExprKind::Var(v), Ty::Int(self.vars[v].ty))
                } else if let Some(c) = self.lookup_const(n) {
                    (HExprKind::Const(c), Ty::Lit)
                } else {
                    self.unknown_name(n, span);
                    return None;
                }
            }
            ExprKind::Call { callee, args } => return self.call(e, callee, args),
            ExprKind::Unary(op, a) => {
                let a = self.expr(a)?;
                let ty = match (op, a.ty) {
                    (UnOp::Not, _) => Ty::Bool,
                    (_, Ty::Lit) => Ty::Lit,
                    (_, t) if t.signed() => Ty::Int(IntType::S64),
                    _ => Ty::Int(IntType::U64),
                };
                match a.constant() {
                    Some(c) => (HExprKind::Const(fold::unary(*op, c)), ty),
                    None => (HExprKind::Unary(*op, Box::new(a)), ty),
                }
            }
            ExprKind::Binary(op, a, b) => {
                let (a, b) = (self.expr(a), self.expr(b));
                let (a, b) = (a?, b?);
                let signed = if matches!(op, BinOp::Shl | BinOp::Shr) {
                    a.ty.signed()
                } else {
                    a.ty.signed() || b.ty.signed()
                };
                let ty = if signed {
                    Ty::Int(IntType::S64)
                } else if a.ty == Ty::Lit && b.ty == Ty::Lit {
                    Ty::Lit
                } else {
                    Ty::Int(IntType::U64)
                };
                match (a.constant(), b.constant()) {
                    (Some(x), Some(y)) => (HExprKind::Const(fold::binary(*op, x, y)), ty),
                    _ => {
                        if matches!(op, BinOp::Div | BinOp::Mod) && (a.ty.signed() || b.ty.signed())
                        {
                            self.error(signed_division(span));
                            return None;
                        }
                        (HExprKind::Binary(*op, Box::new(a), Box::new(b)), ty)
                    }
                }
            }
            ExprKind::Cmp(op, a, b) => {
                let (a, b) = (self.expr(a), self.expr(b));
                let (a, b) = (a?, b?);
                match (a.constant(), b.constant()) {
                    (Some(x), Some(y)) => (HExprKind::Const(fold::compare(*op, x, y)), Ty::Bool),
                    _ => {
                        self.warn_unsigned_negative(*op, &a, &b, span);
                        (HExprKind::Cmp(*op, Box::new(a), Box::new(b)), Ty::Bool)
                    }
                }
            }
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let and = matches!(e.kind, ExprKind::And(..));
                let (a, b) = (self.expr(a), self.expr(b));
                let (a, b) = (a?, b?);
                // short-circuit folding: `0 and x` is 0, `1 or x` is 1, whatever x is
                let folded = match (a.constant(), b.constant(), and) {
                    (Some(0), _, true) => Some(0),
                    (Some(x), _, false) if x != 0 => Some(1),
                    (Some(_), Some(y), _) => Some((y != 0) as u64),
                    _ => None,
                };
                match folded {
                    Some(v) => (HExprKind::Const(v), Ty::Bool),
                    None if and => (HExprKind::And(Box::new(a), Box::new(b)), Ty::Bool),
                    None => (HExprKind::Or(Box::new(a), Box::new(b)), Ty::Bool),
                }
            }
        };
        Some(HExpr { kind, ty, span })
    }

    /// A comparison of an unsigned value with a negative number (or `< 0`) is always false.
    fn warn_unsigned_negative(&mut self, op: CmpOp, a: &HExpr, b: &HExpr, span: Span) {
        let signed = a.ty.signed() || b.ty.signed();
        let (op, b) = if a.constant().is_some() {
            (op.mirror(), a)
        } else {
            (op, b)
        };
        if !signed
            && !matches!(op, CmpOp::Eq | CmpOp::Ne)
            && b.constant()
                .is_some_and(|v| (v as i64) < 0 || (v == 0 && matches!(op, CmpOp::Lt | CmpOp::Ge)))
        {
            self.diags.push(
                Diagnostic::warning(
                    "unsigned-negative-compare",
                    span,
                    "an unsigned value is never below zero",
                )
                .with_label("unsigned comparison (a negative number here is a huge positive one)")
                .with_help(
                    "keep the value in a signed variable first (`s64 : v = ...`), or compare with `==`",
                ),
            );
        }
    }
}

fn redeclared(n: &Ident, prev: Span, what: &str) -> Diagnostic {
    Diagnostic::error(
        "redeclared",
        n.span,
        format!("`{}` is already declared", n.name),
    )
    .with_label("declared again here")
    .with_secondary(prev, format!("the {what} `{}`", n.name))
    .with_help(format!(
        "assign to it without the type (`{} = ...`), or pick another name",
        n.name
    ))
}

pub(super) fn string_value(span: Span) -> Diagnostic {
    Diagnostic::error("string-value", span, "strings are only `attach` arguments")
        .with_label("a string")
}

fn signed_division(span: Span) -> Diagnostic {
    Diagnostic::error(
        "signed-division",
        span,
        "division of signed values is not supported",
    )
    .with_label("an operand is signed")
    .with_help("the chain bytecode (eBPF v2) only divides unsigned; use unsigned types here")
}
