//! The drop-by-default check: every path through an entry chain should call a *final* program
//! (one that returns an XDP verdict); a path that returns or falls off the end goes back to the
//! VM's bootstrap frame and the packet is aborted. One warning per such path. Works on the
//! checked chains (every call resolved).

use std::collections::BTreeSet;

use crate::diag::{Diagnostic, Span};
use crate::hir::*;
use hike::catalog::ProgramKind;

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

struct Walk<'e> {
    chain: &'e HChain,
    source: &'e str,
    finals: &'e [bool],
    ends: Vec<(Path, End)>,
}

/// Chains called from some chain.
pub(crate) fn called_chains(chains: &[HChain]) -> BTreeSet<usize> {
    fn expr(e: &HExpr, out: &mut BTreeSet<usize>) {
        e.walk(&mut |x| {
            if let HExprKind::Call {
                target: CallTarget::Chain(i),
                ..
            } = x.kind
            {
                out.insert(i);
            }
        })
    }
    fn stmts(body: &[HStmt], out: &mut BTreeSet<usize>) {
        for s in body {
            match &s.kind {
                HStmtKind::Eval(e)
                | HStmtKind::Return(Some(e))
                | HStmtKind::Assign { value: e, .. }
                | HStmtKind::AugAssign { value: e, .. } => expr(e, out),
                HStmtKind::Return(None) => {}
                HStmtKind::If { arms, orelse } => {
                    for (c, b) in arms {
                        expr(c, out);
                        stmts(b, out);
                    }
                    if let Some(b) = orelse {
                        stmts(b, out);
                    }
                }
                HStmtKind::While { cond, body } => {
                    expr(cond, out);
                    stmts(body, out);
                }
                HStmtKind::For { body, .. } => stmts(body, out),
            }
        }
    }
    let mut out = BTreeSet::new();
    for c in chains {
        stmts(&c.body, &mut out);
    }
    out
}

impl Walk<'_> {
    /// Does evaluating `e` certainly call a final program (or a chain that always does)?
    fn expr_final(&self, e: &HExpr) -> bool {
        match &e.kind {
            HExprKind::Call { target, args } => {
                let callee_final = match target {
                    CallTarget::Program { kind, .. } => *kind == ProgramKind::Final,
                    CallTarget::Chain(i) => self.finals.get(*i) == Some(&true),
                };
                callee_final || args.iter().any(|a| self.expr_final(a))
            }
            HExprKind::PacketRead { offset, .. } => self.expr_final(offset),
            HExprKind::PacketWrite { offset, value, .. } => {
                self.expr_final(offset) || self.expr_final(value)
            }
            HExprKind::Unary(_, a) => self.expr_final(a),
            HExprKind::Binary(_, a, b) | HExprKind::Cmp(_, a, b) => {
                self.expr_final(a) || self.expr_final(b)
            }
            // only the left side of `and`/`or` certainly runs
            HExprKind::And(a, _) | HExprKind::Or(a, _) => self.expr_final(a),
            HExprKind::Const(_) | HExprKind::Var(_) => false,
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

    fn block(&mut self, body: &[HStmt], mut running: Vec<Path>) -> Vec<Path> {
        for s in body {
            if running.is_empty() {
                break;
            }
            running.truncate(MAX_PATHS);
            running = self.stmt(s, running);
        }
        running
    }

    fn stmt(&mut self, s: &HStmt, running: Vec<Path>) -> Vec<Path> {
        match &s.kind {
            HStmtKind::Eval(e)
            | HStmtKind::Assign { value: e, .. }
            | HStmtKind::AugAssign { value: e, .. } => {
                if self.expr_final(e) {
                    Vec::new()
                } else {
                    running
                }
            }
            HStmtKind::Return(value) => {
                if value.as_ref().is_some_and(|v| self.expr_final(v)) {
                    return Vec::new();
                }
                for p in running {
                    self.ends.push((p, End::Return(s.span)));
                }
                Vec::new()
            }
            HStmtKind::If { arms, orelse } => {
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
            HStmtKind::While { cond, body } => {
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
            HStmtKind::For { var, body, .. } => {
                let name = &self.chain.vars[*var].name;
                let inside = Self::with(&running, format!("`for {name}` runs"));
                let ended = format!("`for {name}` ends");
                let after = self.block(body, inside);
                Self::with(&after, ended)
            }
        }
    }
}

fn analyze(chain: &HChain, source: &str, finals: &[bool]) -> Vec<(Path, End)> {
    let mut w = Walk {
        chain,
        source,
        finals,
        ends: Vec::new(),
    };
    let open = w.block(&chain.body, vec![Path { steps: Vec::new() }]);
    for p in open {
        w.ends.push((p, End::FallOff));
    }
    w.ends
}

/// Warns once per path of an entry chain that ends without a final program.
pub(crate) fn warn_non_final(
    chains: &[HChain],
    source: &str,
    entries: &[usize],
    diags: &mut Vec<Diagnostic>,
) {
    let n = chains.len();
    let mut finals = vec![false; n];
    loop {
        let mut changed = false;
        for i in 0..n {
            if !finals[i] && analyze(&chains[i], source, &finals).is_empty() {
                finals[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for &i in entries {
        let chain = &chains[i];
        let ends = analyze(chain, source, &finals);
        for (path, end) in ends.into_iter().take(MAX_WARNINGS) {
            let how = if path.steps.is_empty() {
                String::new()
            } else {
                format!("when {}, ", path.steps.join(", then "))
            };
            let (span, label, what) = match end {
                End::Return(span) => (span, "returns here", "reaches this `return`"),
                End::FallOff => (chain.name_span, "can fall off the end", "falls off its end"),
            };
            diags.push(
                Diagnostic::warning(
                    "no-final-program",
                    span,
                    format!(
                        "chain `{}` can end without calling a final program",
                        chain.name
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
