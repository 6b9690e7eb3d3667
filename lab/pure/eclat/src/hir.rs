//! The checked form of a chain, between the checker and code generation: every name resolved
//! (a variable by its index, a constant folded to its value, a call to its target), every
//! expression typed, nothing left that could be an error of the script. Code generation only
//! reports what the target imposes (registers, stack, the 64-instruction limit).

use crate::ast::{BinOp, CmpOp, UnOp};
use crate::diag::Span;
use hike::catalog::{IntType, ProgramKind};

/// A chain's variable: an index into [`HChain::vars`].
pub(crate) type VarId = usize;

#[derive(Debug, Clone)]
pub(crate) struct VarInfo {
    pub name: String,
    pub ty: IntType,
    /// its first declaration
    pub span: Span,
}

/// Static type of an expression: a literal (adopts the other operand's type), a 0/1 truth
/// value, or a typed integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Lit,
    Bool,
    Int(IntType),
}

impl Ty {
    pub fn signed(self) -> bool {
        matches!(self, Ty::Int(t) if t.signed())
    }

    /// Does a value of this type already fit `target` (no truncation needed)?
    pub fn fits(self, target: IntType) -> bool {
        if target.bits() == 64 {
            return true;
        }
        match self {
            Ty::Bool => true,
            Ty::Int(v) => {
                (v.signed() == target.signed() && v.bits() <= target.bits())
                    || (!v.signed() && target.signed() && v.bits() < target.bits())
            }
            Ty::Lit => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallTarget {
    /// an imported program, by its real package (aliases resolved)
    Program {
        package: String,
        name: String,
        kind: ProgramKind,
    },
    /// a chain of the script, by index
    Chain(usize),
}

#[derive(Debug, Clone)]
pub(crate) struct HExpr {
    pub kind: HExprKind,
    pub ty: Ty,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub(crate) enum HExprKind {
    Const(u64),
    Var(VarId),
    Call {
        target: CallTarget,
        args: Vec<HExpr>,
    },
    /// `Packet.readU8/16/32(offset)`: `size` bytes, network order
    PacketRead {
        size: u8,
        offset: Box<HExpr>,
    },
    /// `Packet.writeU8/16/32(offset, value)`; its value is 0
    PacketWrite {
        size: u8,
        offset: Box<HExpr>,
        value: Box<HExpr>,
    },
    Unary(UnOp, Box<HExpr>),
    Binary(BinOp, Box<HExpr>, Box<HExpr>),
    Cmp(CmpOp, Box<HExpr>, Box<HExpr>),
    And(Box<HExpr>, Box<HExpr>),
    Or(Box<HExpr>, Box<HExpr>),
}

impl HExpr {
    pub fn constant(&self) -> Option<u64> {
        match self.kind {
            HExprKind::Const(v) => Some(v),
            _ => None,
        }
    }

    /// Does the expression read variable `v`?
    pub fn reads(&self, v: VarId) -> bool {
        match &self.kind {
            HExprKind::Var(x) => *x == v,
            HExprKind::Const(_) => false,
            HExprKind::Call { args, .. } => args.iter().any(|a| a.reads(v)),
            HExprKind::PacketRead { offset, .. } => offset.reads(v),
            HExprKind::PacketWrite { offset, value, .. } => offset.reads(v) || value.reads(v),
            HExprKind::Unary(_, a) => a.reads(v),
            HExprKind::Binary(_, a, b)
            | HExprKind::Cmp(_, a, b)
            | HExprKind::And(a, b)
            | HExprKind::Or(a, b) => a.reads(v) || b.reads(v),
        }
    }

    /// Every sub-expression, this one first.
    pub fn walk(&self, f: &mut dyn FnMut(&HExpr)) {
        f(self);
        match &self.kind {
            HExprKind::Const(_) | HExprKind::Var(_) => {}
            HExprKind::Call { args, .. } => args.iter().for_each(|a| a.walk(f)),
            HExprKind::PacketRead { offset, .. } => offset.walk(f),
            HExprKind::PacketWrite { offset, value, .. } => {
                offset.walk(f);
                value.walk(f);
            }
            HExprKind::Unary(_, a) => a.walk(f),
            HExprKind::Binary(_, a, b)
            | HExprKind::Cmp(_, a, b)
            | HExprKind::And(a, b)
            | HExprKind::Or(a, b) => {
                a.walk(f);
                b.walk(f);
            }
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct HStmt {
    pub kind: HStmtKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub(crate) enum HStmtKind {
    /// a call (or an expression evaluated for nothing)
    Eval(HExpr),
    Return(Option<HExpr>),
    /// a declaration with its value, or an assignment
    Assign {
        var: VarId,
        value: HExpr,
    },
    AugAssign {
        var: VarId,
        op: BinOp,
        value: HExpr,
    },
    /// each arm: its condition and body
    If {
        arms: Vec<(HExpr, Vec<HStmt>)>,
        orelse: Option<Vec<HStmt>>,
    },
    While {
        cond: HExpr,
        body: Vec<HStmt>,
    },
    /// `for var in range(count)`
    For {
        var: VarId,
        count: u64,
        body: Vec<HStmt>,
    },
}

/// A chain that passed the checker.
#[derive(Debug, Clone)]
pub(crate) struct HChain {
    pub name: String,
    /// the chain's name in its `def`
    pub name_span: Span,
    /// the `def` header
    pub span: Span,
    /// its parameters' variables, in order (the first `MAX_CHAIN_ARGS` arrive in r2, r3)
    pub params: Vec<VarId>,
    /// every variable: parameters first, then in the order of their first declaration
    pub vars: Vec<VarInfo>,
    pub body: Vec<HStmt>,
}

/// `v` as a value of type `ty`: truncated, and sign-extended for `sN`.
pub(crate) fn truncate_const(v: u64, ty: IntType) -> u64 {
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

/// Does `v` fit an instruction's signed 32-bit immediate?
pub(crate) fn fits_i32(v: u64) -> bool {
    let s = v as i64;
    s >= i32::MIN as i64 && s <= i32::MAX as i64
}

/// Packet accessors: `Packet.readU8/16/32(off)` and `Packet.writeU8/16/32(off, v)`:
/// (write, size in bytes).
pub(crate) fn packet_method(name: &str) -> Option<(bool, u8)> {
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
