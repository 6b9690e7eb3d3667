//! The syntax tree of an eCLAT script, and its S-expression dump for golden files.

use crate::diag::Span;
use hike::catalog::IntType;
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Programs,
    Loaders,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `from programs.pkg import a, b` / `from loaders.pkg import L`
    Import {
        kind: ImportKind,
        package: Ident,
        names: Vec<Ident>,
        span: Span,
    },
    /// An import line with a syntax error (reported by the parser): the names on it, so that
    /// their uses are not reported again.
    BrokenImport {
        names: Vec<Ident>,
        span: Span,
    },
    /// A `def` whose header has a syntax error (reported by the parser): its name, so that
    /// the chain's uses are not reported again.
    BrokenDef {
        name: Ident,
        span: Span,
    },
    /// `NAME = literal`
    Const {
        name: Ident,
        value: Expr,
        span: Span,
    },
    /// `L[map] = { (k, ...): (v, ...), ... }`
    LoaderMap {
        loader: Ident,
        map: Ident,
        entries: Vec<Entry>,
        span: Span,
    },
    /// `L.attach('dev', 'xdp')`
    Attach {
        loader: Ident,
        args: Vec<Expr>,
        span: Span,
    },
    Def(Def),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: Vec<Expr>,
    pub value: Vec<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub ty: IntType,
    pub name: Ident,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Def {
    pub name: Ident,
    pub params: Vec<Param>,
    pub body: Vec<Stmt>,
    /// the `def name(...)` header
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StmtKind {
    Pass,
    Expr(Expr),
    /// `if c: ... elif c: ... else: ...`; each arm's span is its header
    If {
        arms: Vec<(Expr, Vec<Stmt>)>,
        orelse: Option<Vec<Stmt>>,
    },
    While {
        cond: Expr,
        body: Vec<Stmt>,
    },
    /// `for var in range(count):`
    For {
        var: Ident,
        count: Expr,
        body: Vec<Stmt>,
    },
    Return(Option<Expr>),
    Decl {
        ty: IntType,
        name: Ident,
        value: Expr,
    },
    Assign {
        name: Ident,
        value: Expr,
    },
    AugAssign {
        name: Ident,
        op: BinOp,
        value: Expr,
    },
    Const {
        name: Ident,
        value: Expr,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Shl,
    Shr,
    And,
    Or,
    Xor,
}

impl BinOp {
    pub fn sym(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::And => "&",
            BinOp::Or => "|",
            BinOp::Xor => "^",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn sym(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
    pub fn negate(self) -> CmpOp {
        match self {
            CmpOp::Eq => CmpOp::Ne,
            CmpOp::Ne => CmpOp::Eq,
            CmpOp::Lt => CmpOp::Ge,
            CmpOp::Le => CmpOp::Gt,
            CmpOp::Gt => CmpOp::Le,
            CmpOp::Ge => CmpOp::Lt,
        }
    }
    /// the operator with its operands swapped (`a < b` == `b > a`)
    pub fn mirror(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            o => o,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Invert,
    Not,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callee {
    /// `f(...)`: a program or a chain
    Name(Ident),
    /// `Obj.method(...)`: `Packet.readU16`, `L.attach`
    Method { object: Ident, method: Ident },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprKind {
    Int(u64),
    Bool(bool),
    Str(String),
    Name(String),
    Call { callee: Callee, args: Vec<Expr> },
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    pub fn has_call(&self) -> bool {
        match &self.kind {
            ExprKind::Call { .. } => true,
            ExprKind::Unary(_, a) => a.has_call(),
            ExprKind::Binary(_, a, b)
            | ExprKind::Cmp(_, a, b)
            | ExprKind::And(a, b)
            | ExprKind::Or(a, b) => a.has_call() || b.has_call(),
            _ => false,
        }
    }
}

/// The tree as S-expressions, one item or statement per line, for golden files.
pub fn dump(m: &Module) -> String {
    let mut out = String::new();
    for item in &m.items {
        match item {
            Item::Import {
                kind,
                package,
                names,
                ..
            } => {
                let names: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
                let _ = writeln!(
                    out,
                    "(import {kind:?} {} [{}])",
                    package.name,
                    names.join(" ")
                );
            }
            Item::BrokenImport { names, .. } => {
                let names: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
                let _ = writeln!(out, "(broken-import [{}])", names.join(" "));
            }
            Item::BrokenDef { name, .. } => {
                let _ = writeln!(out, "(broken-def {})", name.name);
            }
            Item::Const { name, value, .. } => {
                let _ = writeln!(out, "(const {} {})", name.name, expr(value));
            }
            Item::LoaderMap {
                loader,
                map,
                entries,
                ..
            } => {
                let _ = writeln!(out, "(loader-map {} {}", loader.name, map.name);
                for e in entries {
                    let k: Vec<String> = e.key.iter().map(expr).collect();
                    let v: Vec<String> = e.value.iter().map(expr).collect();
                    let _ = writeln!(out, "  ({}) -> ({})", k.join(" "), v.join(" "));
                }
                out.push_str(")\n");
            }
            Item::Attach { loader, args, .. } => {
                let a: Vec<String> = args.iter().map(expr).collect();
                let _ = writeln!(out, "(attach {} {})", loader.name, a.join(" "));
            }
            Item::Def(d) => {
                let p: Vec<String> = d
                    .params
                    .iter()
                    .map(|p| format!("{}:{}", p.ty.name(), p.name.name))
                    .collect();
                let _ = writeln!(out, "(def {} [{}]", d.name.name, p.join(" "));
                stmts(&mut out, &d.body, 1);
                out.push_str(")\n");
            }
        }
    }
    out
}

fn stmts(out: &mut String, body: &[Stmt], depth: usize) {
    let ind = "  ".repeat(depth);
    for s in body {
        match &s.kind {
            StmtKind::Pass => {
                let _ = writeln!(out, "{ind}(pass)");
            }
            StmtKind::Expr(e) => {
                let _ = writeln!(out, "{ind}{}", expr(e));
            }
            StmtKind::If { arms, orelse } => {
                for (i, (c, b)) in arms.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "{ind}({} {}",
                        if i == 0 { "if" } else { "elif" },
                        expr(c)
                    );
                    stmts(out, b, depth + 1);
                    let _ = writeln!(out, "{ind})");
                }
                if let Some(b) = orelse {
                    let _ = writeln!(out, "{ind}(else");
                    stmts(out, b, depth + 1);
                    let _ = writeln!(out, "{ind})");
                }
            }
            StmtKind::While { cond, body } => {
                let _ = writeln!(out, "{ind}(while {}", expr(cond));
                stmts(out, body, depth + 1);
                let _ = writeln!(out, "{ind})");
            }
            StmtKind::For { var, count, body } => {
                let _ = writeln!(out, "{ind}(for {} (range {})", var.name, expr(count));
                stmts(out, body, depth + 1);
                let _ = writeln!(out, "{ind})");
            }
            StmtKind::Return(e) => {
                let _ = writeln!(
                    out,
                    "{ind}(return{})",
                    e.as_ref()
                        .map(|e| format!(" {}", expr(e)))
                        .unwrap_or_default()
                );
            }
            StmtKind::Decl { ty, name, value } => {
                let _ = writeln!(
                    out,
                    "{ind}(decl {} {} {})",
                    ty.name(),
                    name.name,
                    expr(value)
                );
            }
            StmtKind::Assign { name, value } => {
                let _ = writeln!(out, "{ind}(= {} {})", name.name, expr(value));
            }
            StmtKind::AugAssign { name, op, value } => {
                let _ = writeln!(out, "{ind}({}= {} {})", op.sym(), name.name, expr(value));
            }
            StmtKind::Const { name, value } => {
                let _ = writeln!(out, "{ind}(const {} {})", name.name, expr(value));
            }
        }
    }
}

/// One expression as an S-expression.
pub fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(v) => v.to_string(),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Str(s) => format!("'{s}'"),
        ExprKind::Name(n) => n.clone(),
        ExprKind::Call { callee, args } => {
            let f = match callee {
                Callee::Name(n) => n.name.clone(),
                Callee::Method { object, method } => format!("{}.{}", object.name, method.name),
            };
            let a: Vec<String> = args.iter().map(expr).collect();
            if a.is_empty() {
                format!("(call {f})")
            } else {
                format!("(call {f} {})", a.join(" "))
            }
        }
        ExprKind::Unary(op, a) => {
            let o = match op {
                UnOp::Neg => "-",
                UnOp::Invert => "~",
                UnOp::Not => "not",
            };
            format!("({o} {})", expr(a))
        }
        ExprKind::Binary(op, a, b) => format!("({} {} {})", op.sym(), expr(a), expr(b)),
        ExprKind::Cmp(op, a, b) => format!("({} {} {})", op.sym(), expr(a), expr(b)),
        ExprKind::And(a, b) => format!("(and {} {})", expr(a), expr(b)),
        ExprKind::Or(a, b) => format!("(or {} {})", expr(a), expr(b)),
    }
}
