//! The drop-by-default check: every path through an entry chain should call a *final* program
//! (one that returns an XDP verdict); a path that returns or falls off the end goes back to the
//! VM's bootstrap frame and the packet is aborted. One warning per such path.

use crate::ast::*;
use crate::compile::Env;
use crate::diag::{Diagnostic, Span};
use std::collections::BTreeSet;

/// At most this many paths are followed at once (the rest share their fate).
const MAX_PATHS: usize = 32;
/// Steps of a path named in a warning.
const MAX_STEPS: usize = 8;
/// At most this many warnings per chain.
const MAX_WARNINGS: usize = 8;

#[derive(Clone, Debug)]
struct Path {
    steps: Vec<String>,
}

enum End {
    Return(Span),
    FallOff,
}

struct Walk<'e, 'c, 'm> {
    env: &'e Env<'c, 'm>,
    source: &'e str,
    finals: &'e [bool],
    ends: Vec<(Path, End)>,
}

/// Chains called from some chain.
pub(crate) fn called_chains(env: &Env) -> BTreeSet<usize> {
    fn expr(env: &Env, e: &Expr, out: &mut BTreeSet<usize>) {
        match &e.kind {
            ExprKind::Call { callee, args } => {
                if let Callee::Name(n) = callee
                    && let Some(i) = env.chain_index.get(&n.name)
                {
                    out.insert(*i);
                }
                args.iter().for_each(|a| expr(env, a, out));
            }
            ExprKind::Unary(_, a) => expr(env, a, out),
            ExprKind::Binary(_, a, b)
            | ExprKind::Cmp(_, a, b)
            | ExprKind::And(a, b)
            | ExprKind::Or(a, b) => {
                expr(env, a, out);
                expr(env, b, out);
            }
            _ => {}
        }
    }
    fn stmts(env: &Env, body: &[Stmt], out: &mut BTreeSet<usize>) {
        for s in body {
            match &s.kind {
                StmtKind::Expr(e)
                | StmtKind::Return(Some(e))
                | StmtKind::Decl { value: e, .. }
                | StmtKind::Assign { value: e, .. }
                | StmtKind::AugAssign { value: e, .. } => expr(env, e, out),
                StmtKind::If { arms, orelse } => {
                    for (c, b) in arms {
                        expr(env, c, out);
                        stmts(env, b, out);
                    }
                    if let Some(b) = orelse {
                        stmts(env, b, out);
                    }
                }
                StmtKind::While { cond, body } => {
                    expr(env, cond, out);
                    stmts(env, body, out);
                }
                StmtKind::For { body, .. } => stmts(env, body, out),
                _ => {}
            }
        }
    }
    let mut out = BTreeSet::new();
    for c in &env.chains {
        stmts(env, &c.def.body, &mut out);
    }
    out
}

impl Walk<'_, '_, '_> {
    /// Does evaluating `e` certainly call a final program (or a chain that always does)?
    fn expr_final(&self, e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Call { callee, args } => {
                let callee_final = match callee {
                    Callee::Name(n) => {
                        self.env.is_final_program(&n.name)
                            || self
                                .env
                                .chain_index
                                .get(&n.name)
                                .is_some_and(|i| self.finals.get(*i) == Some(&true))
                    }
                    Callee::Method { .. } => false,
                };
                callee_final || args.iter().any(|a| self.expr_final(a))
            }
            ExprKind::Unary(_, a) => self.expr_final(a),
            ExprKind::Binary(_, a, b) | ExprKind::Cmp(_, a, b) => {
                self.expr_final(a) || self.expr_final(b)
            }
            ExprKind::And(a, _) | ExprKind::Or(a, _) => self.expr_final(a),
            _ => false,
        }
    }

    fn text(&self, span: Span) -> String {
        let s = self.source.get(span.start..span.end).unwrap_or("");
        let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.len() > 40 {
            format!("{}...", s.chars().take(37).collect::<String>())
        } else {
            s
        }
    }

    fn with(paths: &[Path], step: String) -> Vec<Path> {
        paths
            .iter()
            .map(|p| {
                let mut p = p.clone();
                // a warning names the first steps of a path; longer paths end in "..."
                if p.steps.len() < MAX_STEPS {
                    p.steps.push(step.clone());
                } else if p.steps.len() == MAX_STEPS {
                    p.steps.push("...".to_string());
                }
                p
            })
            .collect()
    }

    fn block(&mut self, body: &[Stmt], mut running: Vec<Path>) -> Vec<Path> {
        for s in body {
            if running.is_empty() {
                break;
            }
            running.truncate(MAX_PATHS);
            running = self.stmt(s, running);
        }
        running
    }

    fn stmt(&mut self, s: &Stmt, running: Vec<Path>) -> Vec<Path> {
        match &s.kind {
            StmtKind::Pass | StmtKind::Const { .. } => running,
            StmtKind::Expr(e)
            | StmtKind::Decl { value: e, .. }
            | StmtKind::Assign { value: e, .. }
            | StmtKind::AugAssign { value: e, .. } => {
                if self.expr_final(e) {
                    Vec::new()
                } else {
                    running
                }
            }
            StmtKind::Return(value) => {
                if value.as_ref().is_some_and(|v| self.expr_final(v)) {
                    return Vec::new();
                }
                for p in running {
                    self.ends.push((p, End::Return(s.span)));
                }
                Vec::new()
            }
            StmtKind::If { arms, orelse } => {
                let mut out = Vec::new();
                let mut rest = running;
                for (i, (cond, body)) in arms.iter().enumerate() {
                    if rest.is_empty() {
                        break;
                    }
                    if self.expr_final(cond) {
                        rest.clear();
                        break;
                    }
                    let kw = if i == 0 { "if" } else { "elif" };
                    let c = self.text(cond.span);
                    let taken = Self::with(&rest, format!("`{kw} {c}` is true"));
                    out.extend(self.block(body, taken));
                    rest = Self::with(&rest, format!("`{kw} {c}` is false"));
                }
                match orelse {
                    Some(body) => out.extend(self.block(body, rest)),
                    None => out.extend(rest),
                }
                out
            }
            StmtKind::While { cond, body } => {
                if self.expr_final(cond) {
                    return Vec::new();
                }
                let c = self.text(cond.span);
                let inside = Self::with(&running, format!("`while {c}` runs its body"));
                let mut out = Self::with(&running, format!("`while {c}` is false at once"));
                let after = self.block(body, inside);
                out.extend(Self::with(&after, format!("`while {c}` ends")));
                out
            }
            StmtKind::For { var, body, .. } => {
                let inside = Self::with(&running, format!("`for {}` runs", var.name));
                let after = self.block(body, inside);
                Self::with(&after, format!("`for {}` ends", var.name))
            }
        }
    }
}

fn analyze(env: &Env, source: &str, finals: &[bool], def: &Def) -> Vec<(Path, End)> {
    let mut w = Walk {
        env,
        source,
        finals,
        ends: Vec::new(),
    };
    let open = w.block(&def.body, vec![Path { steps: Vec::new() }]);
    for p in open {
        w.ends.push((p, End::FallOff));
    }
    w.ends
}

/// Warns once per path of an entry chain that ends without a final program.
pub(crate) fn warn_non_final(
    env: &Env,
    source: &str,
    entries: &[usize],
    diags: &mut Vec<Diagnostic>,
) {
    let n = env.chains.len();
    let mut finals = vec![false; n];
    loop {
        let mut changed = false;
        for i in 0..n {
            if !finals[i] && analyze(env, source, &finals, env.chains[i].def).is_empty() {
                finals[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for &i in entries {
        let def = env.chains[i].def;
        let ends = analyze(env, source, &finals, def);
        for (path, end) in ends.into_iter().take(MAX_WARNINGS) {
            let how = if path.steps.is_empty() {
                String::new()
            } else {
                format!("when {}, ", path.steps.join(", then "))
            };
            let (span, label, what) = match end {
                End::Return(span) => (span, "returns here", "reaches this `return`"),
                End::FallOff => (def.name.span, "can fall off the end", "falls off its end"),
            };
            diags.push(
                Diagnostic::warning(
                    "no-final-program",
                    span,
                    format!(
                        "chain `{}` can end without calling a final program",
                        def.name.name
                    ),
                )
                .with_label(label)
                .with_note(format!(
                    "{how}the chain {what} without a verdict: the VM drops the packet (XDP_ABORTED)"
                ))
                .with_help(
                    "end every path with a final program such as `hike_pass()` or `hike_drop()`",
                ),
            );
        }
    }
}
