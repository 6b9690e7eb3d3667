//! Expressions into registers, operands for ALU instructions, conditions into jumps.

use super::{Gen, Home, Opnd, alu_code};
use crate::ast::{CmpOp, UnOp};
use crate::hir::*;
use hike::insn::{Insn, op};

impl Gen<'_> {
    /// A right-hand operand: an immediate, a variable's register, or a scratch register.
    pub(super) fn operand(&mut self, e: &HExpr) -> Option<Opnd> {
        if let Some(c) = e.constant()
            && fits_i32(c)
        {
            return Some(Opnd::Imm(c as i64 as i32));
        }
        self.operand_reg(e)
    }

    /// Like [`Self::operand`] but always a register (a jump's left side).
    fn operand_reg(&mut self, e: &HExpr) -> Option<Opnd> {
        if let HExprKind::Var(v) = e.kind
            && let Home::Reg(r) = self.homes[v]
        {
            return Some(Opnd::Home(r));
        }
        let s = self.alloc(e.span)?;
        if self.eval(e, s).is_none() {
            self.free(s);
            return None;
        }
        Some(Opnd::Scratch(s))
    }

    /// Evaluates `e` into register `dst` (a variable's home or an allocated scratch register).
    pub(super) fn eval(&mut self, e: &HExpr, dst: u8) -> Option<()> {
        match &e.kind {
            HExprKind::Const(c) => self.mov_imm(dst, *c),
            HExprKind::Var(v) => match self.homes[*v] {
                Home::Reg(r) => self.mov_x(dst, r),
                Home::Stack(off) => self.load(dst, off),
            },
            HExprKind::Call { .. }
            | HExprKind::PacketRead { .. }
            | HExprKind::PacketWrite { .. } => {
                return self.call(e, Some(dst));
            }
            HExprKind::Unary(UnOp::Not, _)
            | HExprKind::Cmp(..)
            | HExprKind::And(..)
            | HExprKind::Or(..) => {
                // dst = 1; if e goto end; dst = 0; end:
                self.mov_imm(dst, 1);
                let end = self.new_label();
                self.holding(dst, |g| g.branch(e, end, true));
                self.mov_imm(dst, 0);
                self.place(end);
            }
            HExprKind::Unary(uop, a) => {
                self.eval(a, dst)?;
                match uop {
                    UnOp::Neg => self.emit(Insn::new(op::ALU64 | op::NEG, dst, 0, 0, 0)),
                    _ => self.emit(Insn::new(op::ALU64 | op::XOR | op::K, dst, 0, 0, -1)),
                }
            }
            HExprKind::Binary(bop, a, b) => {
                self.eval(a, dst)?;
                let rhs = self.holding(dst, |g| g.operand(b))?;
                self.alu(alu_code(*bop, a.ty.signed()), dst, rhs);
                self.release(rhs);
            }
        }
        Some(())
    }

    /// Jumps to `label` when the truth of `e` equals `when`; falls through otherwise.
    pub(super) fn branch(&mut self, e: &HExpr, label: usize, when: bool) {
        match &e.kind {
            HExprKind::Const(c) => {
                if (*c != 0) == when {
                    self.ja(label);
                }
            }
            HExprKind::Unary(UnOp::Not, a) => self.branch(a, label, !when),
            HExprKind::And(a, b) if when => {
                let skip = self.new_label();
                self.branch(a, skip, false);
                self.branch(b, label, true);
                self.place(skip);
            }
            HExprKind::And(a, b) => {
                self.branch(a, label, false);
                self.branch(b, label, false);
            }
            HExprKind::Or(a, b) if when => {
                self.branch(a, label, true);
                self.branch(b, label, true);
            }
            HExprKind::Or(a, b) => {
                let skip = self.new_label();
                self.branch(a, skip, true);
                self.branch(b, label, false);
                self.place(skip);
            }
            HExprKind::Cmp(cop, a, b) => self.compare(*cop, a, b, label, when),
            _ => {
                let Some(v) = self.operand_reg(e) else { return };
                self.jump(
                    if when { op::JNE } else { op::JEQ },
                    v.reg(),
                    Opnd::Imm(0),
                    label,
                );
                self.release(v);
            }
        }
    }

    /// `if a cop b goto label` (or its negation), signed when an operand is; a constant goes
    /// to the right.
    fn compare(&mut self, cop: CmpOp, a: &HExpr, b: &HExpr, label: usize, when: bool) {
        let signed = a.ty.signed() || b.ty.signed();
        let (cop, a, b) = if a.constant().is_some() {
            (cop.mirror(), b, a)
        } else {
            (cop, a, b)
        };
        let Some(lhs) = self.operand_reg(a) else {
            return;
        };
        let Some(rhs) = self.operand(b) else {
            self.release(lhs);
            return;
        };
        let cop = if when { cop } else { cop.negate() };
        self.jump(jmp_code(cop, signed), lhs.reg(), rhs, label);
        self.release(rhs);
        self.release(lhs);
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
