//! Code generation: a checked chain ([`crate::hir`]) to chain bytecode. The only diagnostics
//! here are the target's limits: scratch registers, the 128-byte stack, the 64 instructions.
//!
//! Register allocation: each chain's variables (parameters, declarations, `for` variables) get
//! a home for the whole chain: the four most used (loops weigh more) live in the callee-saved
//! `r6..r9`, the others in 8-byte stack slots below `fp`; both survive program calls.
//! Expressions are evaluated in scratch registers `r0..r5`; a program or chain call clobbers
//! those, so scratch values live across a call are spilled to temporary stack slots around it.
//!
//! - this file: the chain, its homes, statements, emission helpers;
//! - [`expr`]: expressions, operands, conditional jumps;
//! - [`call`]: program and chain calls, `Packet` accessors.

mod call;
mod expr;

use std::collections::BTreeSet;

use crate::ast::BinOp;
use crate::diag::{Diagnostic, Span};
use crate::hir::*;
use crate::program::{Chain, Reloc};
use hike::catalog::{IntType, ProgramKind};
use hike::insn::{Insn, op};
use hike::{MAX_CHAIN_ARGS, MAX_CHAIN_INSNS, STACK_SIZE};

/// Byte offsets to 1-based line numbers.
pub(crate) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(source: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    pub fn line_of(&self, offset: usize) -> u32 {
        match self.starts.binary_search(&offset) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Home {
    Reg(u8),
    Stack(i16),
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

impl Opnd {
    /// The register of a register operand (0 for an immediate, never asked for).
    fn reg(self) -> u8 {
        match self {
            Opnd::Home(r) | Opnd::Scratch(r) => r,
            Opnd::Imm(_) => 0,
        }
    }
}

struct Gen<'a> {
    chain: &'a HChain,
    lines: &'a Lines,
    diags: &'a mut Vec<Diagnostic>,
    used: &'a mut BTreeSet<(String, String)>,
    code: Vec<Insn>,
    line_of_insn: Vec<u32>,
    relocs: Vec<Reloc>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, usize)>,
    homes: Vec<Home>,
    busy: [bool; 6],
    var_bytes: i32,
    temp_depth: i32,
    line: u32,
    ok: bool,
}

/// Bytecode for a checked chain; `None` after an error (a limit of the target).
pub(crate) fn gen_chain(
    chain: &HChain,
    lines: &Lines,
    diags: &mut Vec<Diagnostic>,
    used: &mut BTreeSet<(String, String)>,
) -> Option<Chain> {
    let mut g = Gen {
        chain,
        lines,
        diags,
        used,
        code: Vec::with_capacity(64),
        line_of_insn: Vec::with_capacity(64),
        relocs: Vec::new(),
        labels: Vec::new(),
        fixups: Vec::new(),
        homes: Vec::new(),
        busy: [false; 6],
        var_bytes: 0,
        temp_depth: 0,
        line: lines.line_of(chain.span.start),
        ok: true,
    };
    g.assign_homes();
    g.prologue();
    let mut costs = Vec::new();
    for s in &chain.body {
        let before = g.code.len();
        g.stmt(s);
        costs.push((s.span, g.code.len() - before));
    }
    g.epilogue();
    g.resolve_jumps();
    if g.code.len() > MAX_CHAIN_INSNS {
        g.too_long(costs);
    }
    if !g.ok {
        return None;
    }
    Some(Chain {
        name: chain.name.clone(),
        params: chain
            .params
            .iter()
            .map(|v| (chain.vars[*v].name.clone(), chain.vars[*v].ty))
            .collect(),
        insns: g.code,
        lines: g.line_of_insn,
        relocs: g.relocs,
        span: chain.span,
    })
}

/// How often each variable is used, loops weighing more (the homes' ranking).
fn count_uses(body: &[HStmt], weight: usize, counts: &mut [usize]) {
    fn expr(e: &HExpr, w: usize, counts: &mut [usize]) {
        e.walk(&mut |x| {
            if let HExprKind::Var(v) = x.kind
                && let Some(c) = counts.get_mut(v)
            {
                *c += w;
            }
        });
    }
    for s in body {
        match &s.kind {
            HStmtKind::Eval(e) | HStmtKind::Return(Some(e)) => expr(e, weight, counts),
            HStmtKind::Return(None) => {}
            HStmtKind::If { arms, orelse } => {
                for (c, b) in arms {
                    expr(c, weight, counts);
                    count_uses(b, weight, counts);
                }
                if let Some(b) = orelse {
                    count_uses(b, weight, counts);
                }
            }
            HStmtKind::While { cond, body } => {
                expr(cond, weight * 4, counts);
                count_uses(body, weight * 4, counts);
            }
            HStmtKind::For { var, body, .. } => {
                if let Some(c) = counts.get_mut(*var) {
                    *c += weight * 8;
                }
                count_uses(body, weight * 4, counts);
            }
            HStmtKind::Assign { var, value } | HStmtKind::AugAssign { var, value, .. } => {
                if let Some(c) = counts.get_mut(*var) {
                    *c += weight;
                }
                expr(value, weight, counts);
            }
        }
    }
}

impl Gen<'_> {
    /// The four most used variables in r6..r9 (ties: the first declared), the others on the
    /// stack.
    fn assign_homes(&mut self) {
        let n = self.chain.vars.len();
        let mut counts = vec![0; n];
        count_uses(&self.chain.body, 1, &mut counts);
        let mut ranked: Vec<(usize, usize)> = counts.iter().copied().zip(0..n).collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let in_regs: Vec<usize> = ranked.iter().take(4).map(|r| r.1).collect();
        let mut next_reg = 6u8;
        let mut next_slot = 0i32;
        for i in 0..n {
            let home = if in_regs.contains(&i) {
                next_reg += 1;
                Home::Reg(next_reg - 1)
            } else {
                next_slot += 8;
                Home::Stack(-(next_slot.min(STACK_SIZE as i32)) as i16)
            };
            self.homes.push(home);
        }
        self.var_bytes = next_slot;
        if next_slot > STACK_SIZE as i32 {
            let d = Diagnostic::error(
                "too-many-variables",
                self.chain.span,
                format!(
                    "chain `{}` has {n} variables; 4 fit in registers and 16 on the stack",
                    self.chain.name,
                ),
            )
            .with_help("reuse variables, or split the chain");
            self.error(d);
        }
    }

    /// Parameters arrive in r2, r3: into their homes, truncated to their types.
    fn prologue(&mut self) {
        for (i, &v) in self.chain.params.iter().enumerate().take(MAX_CHAIN_ARGS) {
            let ty = self.chain.vars[v].ty;
            let arg = 2 + i as u8;
            match self.homes[v] {
                Home::Reg(r) => {
                    self.mov_x(r, arg);
                    self.truncate(r, ty);
                }
                Home::Stack(off) => {
                    self.truncate(arg, ty);
                    self.emit(Insn::new(op::STX | op::MEM | op::DW, 10, arg, off, 0));
                }
            }
        }
    }

    /// A chain that does not end in `return` returns 0; after a final program the VM has
    /// stopped: the `exit` only closes the chain for the store-time check.
    fn epilogue(&mut self) {
        let last = self.chain.body.last().map(|s| &s.kind);
        if matches!(last, Some(HStmtKind::Return(_))) {
            return;
        }
        self.line = self.lines.line_of(self.chain.span.start);
        let ends_final = matches!(
            last,
            Some(HStmtKind::Eval(HExpr {
                kind: HExprKind::Call {
                    target: CallTarget::Program {
                        kind: ProgramKind::Final,
                        ..
                    },
                    ..
                },
                ..
            }))
        );
        if !ends_final {
            self.mov_imm(0, 0);
        }
        self.emit(Insn::new(op::JMP | op::EXIT, 0, 0, 0, 0));
    }

    fn resolve_jumps(&mut self) {
        for &(at, label) in &self.fixups {
            if let Some(Some(target)) = self.labels.get(label) {
                let off = *target as i64 - (at as i64 + 1);
                if let (Ok(off), Some(insn)) = (i16::try_from(off), self.code.get_mut(at)) {
                    insn.off = off;
                }
            }
        }
    }

    /// The 64-instruction limit, naming the statements that cost the most.
    fn too_long(&mut self, mut costs: Vec<(Span, usize)>) {
        costs.sort_by_key(|c| std::cmp::Reverse(c.1));
        let n = self.code.len();
        let mut d = Diagnostic::error(
            "chain-too-long",
            self.chain.span,
            format!(
                "chain `{}` needs {n} instructions, the limit is {MAX_CHAIN_INSNS}",
                self.chain.name
            ),
        )
        .with_label(format!("{n} instructions"))
        .with_help(
            "split it into two chains (one calls the other), or move work into a HIKe program",
        );
        for (span, n) in costs.iter().take(3) {
            d = d.with_secondary(*span, format!("{n} instructions"));
        }
        self.error(d);
    }

    fn error(&mut self, d: Diagnostic) {
        self.ok = false;
        self.diags.push(d);
    }

    // ---- emission ----

    fn emit(&mut self, insn: Insn) {
        self.code.push(insn);
        self.line_of_insn.push(self.line);
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

    fn store(&mut self, off: i16, src: u8) {
        self.emit(Insn::new(op::STX | op::MEM | op::DW, 10, src, off, 0));
    }

    fn load(&mut self, dst: u8, off: i16) {
        self.emit(Insn::new(op::LDX | op::MEM | op::DW, dst, 10, off, 0));
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

    /// Marks scratch register `r` busy for the duration of `f` if it is free (a value being
    /// built there must survive what `f` evaluates).
    fn holding<T>(&mut self, r: u8, f: impl FnOnce(&mut Self) -> T) -> T {
        let reserved = (r as usize) < 6 && !self.busy[r as usize];
        if reserved {
            self.busy[r as usize] = true;
        }
        let out = f(self);
        if reserved {
            self.busy[r as usize] = false;
        }
        out
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

    // ---- statements ----

    fn stmt(&mut self, s: &HStmt) {
        self.line = self.lines.line_of(s.span.start);
        match &s.kind {
            HStmtKind::Eval(e) => match e.kind {
                HExprKind::Call { .. }
                | HExprKind::PacketRead { .. }
                | HExprKind::PacketWrite { .. } => {
                    self.call(e, None);
                }
                _ => {
                    if let Some(r) = self.alloc(e.span) {
                        self.eval(e, r);
                        self.free(r);
                    }
                }
            },
            HStmtKind::Return(value) => {
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
            HStmtKind::Assign { var, value } => self.assign(*var, value),
            HStmtKind::AugAssign { var, op, value } => self.aug_assign(*var, *op, value, s.span),
            HStmtKind::If { arms, orelse } => {
                let end = self.new_label();
                let n = arms.len();
                for (i, (cond, body)) in arms.iter().enumerate() {
                    self.line = self.lines.line_of(cond.span.start);
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
            HStmtKind::While { cond, body } => {
                let top = self.new_label();
                let end = self.new_label();
                self.place(top);
                self.branch(cond, end, false);
                self.block(body);
                self.line = self.lines.line_of(s.span.start);
                self.ja(top);
                self.place(end);
            }
            HStmtKind::For { var, count, body } => self.for_loop(*var, *count, body, s.span),
        }
    }

    fn block(&mut self, body: &[HStmt]) {
        for s in body {
            self.stmt(s);
        }
    }

    fn assign(&mut self, var: VarId, value: &HExpr) {
        let ty = self.chain.vars[var].ty;
        if let Some(c) = value.constant() {
            let v = truncate_const(c, ty);
            match self.homes[var] {
                Home::Reg(r) => self.mov_imm(r, v),
                Home::Stack(off) if fits_i32(v) => self.emit(Insn::new(
                    op::ST | op::MEM | op::DW,
                    10,
                    0,
                    off,
                    v as i64 as i32,
                )),
                Home::Stack(off) => {
                    if let Some(s) = self.alloc(value.span) {
                        self.mov_imm(s, v);
                        self.store(off, s);
                        self.free(s);
                    }
                }
            }
            return;
        }
        let need_trunc = !value.ty.fits(ty);
        match self.homes[var] {
            Home::Reg(r) if !value.reads(var) => {
                if self.eval(value, r).is_some() && need_trunc {
                    self.truncate(r, ty);
                }
            }
            home => {
                let Some(s) = self.alloc(value.span) else {
                    return;
                };
                if self.eval(value, s).is_some() {
                    if need_trunc {
                        self.truncate(s, ty);
                    }
                    match home {
                        Home::Reg(r) => self.mov_x(r, s),
                        Home::Stack(off) => self.store(off, s),
                    }
                }
                self.free(s);
            }
        }
    }

    fn aug_assign(&mut self, var: VarId, bop: BinOp, value: &HExpr, span: Span) {
        let ty = self.chain.vars[var].ty;
        let code = alu_code(bop, ty.signed());
        let (r, scratch) = match self.homes[var] {
            Home::Reg(r) => (r, false),
            Home::Stack(off) => {
                let Some(s) = self.alloc(span) else { return };
                self.load(s, off);
                (s, true)
            }
        };
        if let Some(rhs) = self.operand(value) {
            self.alu(code, r, rhs);
            self.release(rhs);
            self.truncate(r, ty);
            if let Home::Stack(off) = self.homes[var] {
                self.store(off, r);
            }
        }
        if scratch {
            self.free(r);
        }
    }

    fn for_loop(&mut self, var: VarId, n: u64, body: &[HStmt], span: Span) {
        let c = |kind: HExprKind, ty: Ty| HExpr { kind, ty, span };
        self.assign(var, &c(HExprKind::Const(0), Ty::Lit));
        let top = self.new_label();
        let end = self.new_label();
        self.place(top);
        let ty = Ty::Int(self.chain.vars[var].ty);
        let cond = c(
            HExprKind::Cmp(
                crate::ast::CmpOp::Lt,
                Box::new(c(HExprKind::Var(var), ty)),
                Box::new(c(HExprKind::Const(n), Ty::Lit)),
            ),
            Ty::Bool,
        );
        self.branch(&cond, end, false);
        self.block(body);
        self.line = self.lines.line_of(span.start);
        self.aug_assign(var, BinOp::Add, &c(HExprKind::Const(1), Ty::Lit), span);
        self.ja(top);
        self.place(end);
    }
}

fn ends_in_return(body: &[HStmt]) -> bool {
    matches!(body.last().map(|s| &s.kind), Some(HStmtKind::Return(_)))
}

fn alu_code(b: BinOp, signed_left: bool) -> u8 {
    match b {
        BinOp::Add => op::ADD,
        BinOp::Sub => op::SUB,
        BinOp::Mul => op::MUL,
        BinOp::Div => op::DIV,
        BinOp::Mod => op::MOD,
        BinOp::Shl => op::LSH,
        BinOp::Shr if signed_left => op::ARSH,
        BinOp::Shr => op::RSH,
        BinOp::And => op::AND,
        BinOp::Or => op::OR,
        BinOp::Xor => op::XOR,
    }
}
