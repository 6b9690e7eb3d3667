//! Constant folding of syntax trees, with the VM's 64-bit semantics (wrapping, `x/0 = 0`,
//! `x%0 = x`, shifts modulo 64, unsigned comparisons, `and`/`or` short-circuit).

use crate::ast::{BinOp, CmpOp, Expr, ExprKind, UnOp};

/// The value of a literal (`5`, `-1`, `True`).
pub(crate) fn literal_value(e: &Expr) -> Option<u64> {
    match &e.kind {
        ExprKind::Int(v) => Some(*v),
        ExprKind::Bool(b) => Some(*b as u64),
        ExprKind::Unary(UnOp::Neg, a) => literal_value(a).map(|v| v.wrapping_neg()),
        _ => None,
    }
}

pub(crate) fn unary(op: UnOp, a: u64) -> u64 {
    match op {
        UnOp::Neg => a.wrapping_neg(),
        UnOp::Invert => !a,
        UnOp::Not => (a == 0) as u64,
    }
}

pub(crate) fn binary(op: BinOp, a: u64, b: u64) -> u64 {
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

pub(crate) fn compare(op: CmpOp, a: u64, b: u64) -> u64 {
    (match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
    }) as u64
}

/// Folds `e`, names looked up with `lookup` (`None`: not a constant).
pub(crate) fn fold(e: &Expr, lookup: &dyn Fn(&str) -> Option<u64>) -> Option<u64> {
    Some(match &e.kind {
        ExprKind::Int(v) => *v,
        ExprKind::Bool(b) => *b as u64,
        ExprKind::Name(n) => lookup(n)?,
        ExprKind::Unary(op, a) => unary(*op, fold(a, lookup)?),
        ExprKind::Binary(op, a, b) => binary(*op, fold(a, lookup)?, fold(b, lookup)?),
        ExprKind::Cmp(op, a, b) => compare(*op, fold(a, lookup)?, fold(b, lookup)?),
        ExprKind::And(a, b) => match fold(a, lookup)? {
            0 => 0,
            _ => (fold(b, lookup)? != 0) as u64,
        },
        ExprKind::Or(a, b) => match fold(a, lookup)? {
            0 => (fold(b, lookup)? != 0) as u64,
            _ => 1,
        },
        _ => return None,
    })
}
