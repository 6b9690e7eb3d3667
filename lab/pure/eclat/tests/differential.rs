//! Differential property test of the code generator: random expressions over variables,
//! literals and chain calls are compiled, run on the reference VM, and compared with a direct
//! evaluation of the same expression (64-bit unsigned semantics of the VM). Every case is
//! either compared or skipped for a reason that is counted (too big for one chain, out of
//! instruction budget); a run that compares too few fails.
//!
//! Replayable: the seed is printed (`ECLAT_SEED=...` replays a run), failures are persisted in
//! `tests/regressions/`.

mod support;

use hike::vm::{self, Abort};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// At least this many percent of a run's cases must be compared. Measured with the default
/// seed: every expression, and 72% of the statement lists (the others need more than 64
/// instructions).
const MIN_EXPRESSIONS_COMPARED: usize = 90;
const MIN_STATEMENTS_COMPARED: usize = 60;

/// 1500 by default; `ECLAT_DIFF_CASES=50000` for a long run.
fn cases() -> u32 {
    std::env::var("ECLAT_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500)
}
use std::sync::atomic::{AtomicUsize, Ordering};

/// What became of the cases of one run.
#[derive(Default)]
struct Tally {
    total: AtomicUsize,
    /// compiled, run, and the result compared
    compared: AtomicUsize,
    /// refused by the compiler for a limit of the target (chain-too-long, too-complex, ...)
    too_big: AtomicUsize,
    /// aborted for running out of instruction budget (or program calls)
    budget: AtomicUsize,
}

impl Tally {
    fn count(&self, which: &AtomicUsize) {
        which.fetch_add(1, Ordering::Relaxed);
    }

    /// Prints the tally and requires `min_compared` percent of the cases compared.
    fn check(&self, name: &str, min_compared: usize) {
        let get = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        let (total, compared) = (get(&self.total), get(&self.compared));
        println!(
            "{name}: {compared} of {total} compared, {} too big for one chain, {} out of budget",
            get(&self.too_big),
            get(&self.budget)
        );
        assert!(total > 0);
        assert!(
            compared * 100 >= total * min_compared,
            "{name}: only {compared} of {total} cases were compared (at least {min_compared}% must be)"
        );
    }
}

fn run_all<S: Strategy>(
    name: &'static str,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let mut runner = support::runner(name, cases());
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{name}: {e}");
    }
}

#[derive(Debug, Clone)]
enum E {
    Lit(u64),
    Var(usize),
    /// `ident(x)`: a chain call returning its argument (forces spills around calls)
    Id(Box<E>),
    /// `add2(x, y)`: a chain call with two arguments returning `x - y`
    Sub2(Box<E>, Box<E>),
    Bin(&'static str, Box<E>, Box<E>),
    Cmp(&'static str, Box<E>, Box<E>),
    And(Box<E>, Box<E>),
    Or(Box<E>, Box<E>),
    Not(Box<E>),
    Neg(Box<E>),
    Inv(Box<E>),
}

const VARS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
/// `a`, `b`, `c` are s64; `d`, `e`, `f` are u64.
fn var_signed(i: usize) -> bool {
    i < 3
}

/// The compiler's static signedness rule: variables by their type, arithmetic signed if an
/// operand is (shifts: the left one), calls and truth values unsigned.
fn signed(e: &E) -> bool {
    match e {
        E::Var(i) => var_signed(*i),
        E::Bin("<<" | ">>", a, _) => signed(a),
        E::Bin(_, a, b) => signed(a) || signed(b),
        E::Neg(a) | E::Inv(a) => signed(a),
        _ => false,
    }
}

/// Does the expression divide a signed value (refused by the compiler)?
fn signed_division(e: &E) -> bool {
    match e {
        E::Bin(o, a, b) => {
            (matches!(*o, "/" | "%") && (signed(a) || signed(b)))
                || signed_division(a)
                || signed_division(b)
        }
        E::Cmp(_, a, b) | E::And(a, b) | E::Or(a, b) | E::Sub2(a, b) => {
            signed_division(a) || signed_division(b)
        }
        E::Id(a) | E::Not(a) | E::Neg(a) | E::Inv(a) => signed_division(a),
        _ => false,
    }
}

fn expr() -> impl Strategy<Value = E> {
    let leaf = prop_oneof![
        prop_oneof![
            0u64..10,
            any::<u64>(),
            Just(u64::MAX),
            Just(0x8000_0000),
            Just(1 << 40)
        ]
        .prop_map(E::Lit),
        (0usize..6).prop_map(E::Var),
    ];
    leaf.prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| E::Id(Box::new(e))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| E::Sub2(Box::new(a), Box::new(b))),
            (
                prop::sample::select(vec!["+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^"]),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(o, a, b)| E::Bin(o, Box::new(a), Box::new(b))),
            (
                prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(o, a, b)| E::Cmp(o, Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| E::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| E::Or(Box::new(a), Box::new(b))),
            inner.clone().prop_map(|e| E::Not(Box::new(e))),
            inner.clone().prop_map(|e| E::Neg(Box::new(e))),
            inner.prop_map(|e| E::Inv(Box::new(e))),
        ]
    })
}

fn text(e: &E) -> String {
    match e {
        E::Lit(v) => format!("{v:#x}"),
        E::Var(i) => VARS[*i].to_string(),
        E::Id(a) => format!("ident({})", text(a)),
        E::Sub2(a, b) => format!("sub2({}, {})", text(a), text(b)),
        E::Bin(o, a, b) | E::Cmp(o, a, b) => format!("({} {o} {})", text(a), text(b)),
        E::And(a, b) => format!("({} and {})", text(a), text(b)),
        E::Or(a, b) => format!("({} or {})", text(a), text(b)),
        E::Not(a) => format!("(not {})", text(a)),
        E::Neg(a) => format!("(-{})", text(a)),
        E::Inv(a) => format!("(~{})", text(a)),
    }
}

fn eval(e: &E, vars: &[u64; 6]) -> u64 {
    match e {
        E::Lit(v) => *v,
        E::Var(i) => vars[*i],
        E::Id(a) => eval(a, vars),
        E::Sub2(a, b) => eval(a, vars).wrapping_sub(eval(b, vars)),
        E::Bin(o, ea, eb) => {
            let (a, b) = (eval(ea, vars), eval(eb, vars));
            match *o {
                "+" => a.wrapping_add(b),
                "-" => a.wrapping_sub(b),
                "*" => a.wrapping_mul(b),
                "/" => a.checked_div(b).unwrap_or(0),
                "%" => a.checked_rem(b).unwrap_or(a),
                "<<" => a << (b & 63),
                ">>" if signed(ea) => ((a as i64) >> (b & 63)) as u64,
                ">>" => a >> (b & 63),
                "&" => a & b,
                "|" => a | b,
                _ => a ^ b,
            }
        }
        E::Cmp(o, ea, eb) => {
            let s = signed(ea) || signed(eb);
            let (a, b) = (eval(ea, vars), eval(eb, vars));
            let (a, b) = if s {
                ((a as i64 as i128), (b as i64 as i128))
            } else {
                (a as i128, b as i128)
            };
            (match *o {
                "==" => a == b,
                "!=" => a != b,
                "<" => a < b,
                "<=" => a <= b,
                ">" => a > b,
                _ => a >= b,
            }) as u64
        }
        E::And(a, b) => (eval(a, vars) != 0 && eval(b, vars) != 0) as u64,
        E::Or(a, b) => (eval(a, vars) != 0 || eval(b, vars) != 0) as u64,
        E::Not(a) => (eval(a, vars) == 0) as u64,
        E::Neg(a) => eval(a, vars).wrapping_neg(),
        E::Inv(a) => !eval(a, vars),
    }
}

#[test]
fn compiled_expressions_match_direct_evaluation() {
    let tally = Tally::default();
    let rt = prop::sample::select(vec!["u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64"]);
    let vars = prop::array::uniform6(prop_oneof![0u64..5, any::<u64>()]);
    run_all(
        "differential-expressions",
        (expr(), vars, rt),
        |(e, vars, rt)| {
            prop_assume!(!signed_division(&e));
            tally.count(&tally.total);
            let mut src = String::from(
                "def ident(u64 : x):\n    return x\n\ndef sub2(u64 : x, u64 : y):\n    return x - y\n\ndef main():\n",
            );
            for (i, (n, v)) in VARS.iter().zip(vars).enumerate() {
                let ty = if var_signed(i) { "s64" } else { "u64" };
                src.push_str(&format!("    {ty} : {n} = {v:#x}\n"));
            }
            src.push_str(&format!(
                "    {rt} : result = {}\n    return result\n",
                text(&e)
            ));
            let c = eclat::compile(&src, "d.eclat", &hike::catalog::Catalog::reference(), &[]);
            let Some(p) = c.output else {
                // too big for one chain is counted; anything else is a bug
                prop_assert!(
                    c.diagnostics
                        .iter()
                        .filter(|d| d.is_error())
                        .all(|d| matches!(
                            d.code,
                            "chain-too-long" | "too-complex" | "stack-exhausted"
                        )),
                    "{}",
                    c.render(&src, "d.eclat", false)
                );
                tally.count(&tally.too_big);
                return Ok(());
            };
            let linked = p.link_default(&|_, _| None).unwrap();
            let chains: Vec<(u32, Vec<hike::Insn>)> = linked
                .chains
                .iter()
                .map(|c| (c.id, c.insns.clone()))
                .collect();
            let main = chains[2].0;
            let (mut models, _) = hike::vm::models::Models::with_all();
            let mut shm = vec![0u8; 4096];
            let out = vm::run(&chains[..], &mut models, main, vec![0u8; 64], &mut shm);
            // truncation (and sign extension for sN) to the declared type of `result`
            let ty = hike::catalog::IntType::parse(rt).unwrap();
            let raw = eval(&e, &vars);
            let bits = ty.bits();
            let want = if bits == 64 {
                raw
            } else if ty.signed() {
                (((raw << (64 - bits)) as i64) >> (64 - bits)) as u64
            } else {
                raw & ((1u64 << bits) - 1)
            };
            match out.abort {
                Some(Abort::ReturnedToBootstrap { r0, .. }) => {
                    tally.count(&tally.compared);
                    prop_assert_eq!(r0, want, "{}\n{}", text(&e), p.emit_asm())
                }
                // long straight-line code with nested calls
                Some(Abort::BudgetExhausted { .. }) => tally.count(&tally.budget),
                other => prop_assert!(false, "unexpected {:?}\n{}", other, p.emit_asm()),
            }
            Ok(())
        },
    );
    tally.check("differential expressions", MIN_EXPRESSIONS_COMPARED);
}

/// Variables of the statement lists (`a`, `b`, `c` s64, `d` u64): few enough that most lists
/// fit in one chain.
const STMT_VARS: usize = 4;

/// Random statements: assignments, augmented assignments, if/else, bounded for loops and early
/// returns, compiled and run on the VM, compared with a direct interpretation.
#[derive(Debug, Clone)]
enum S {
    Assign(usize, E),
    Aug(usize, &'static str, E),
    If(E, Vec<S>, Option<Vec<S>>),
    For(u64, Vec<S>),
    Return(E),
}

fn small_expr() -> impl Strategy<Value = E> {
    let leaf = prop_oneof![
        (0u64..20).prop_map(E::Lit),
        (0usize..STMT_VARS).prop_map(E::Var)
    ];
    leaf.prop_recursive(2, 4, 2, |inner| {
        prop_oneof![
            (
                prop::sample::select(vec!["+", "-", "*", "&", "|", "^", ">>"]),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(o, a, b)| E::Bin(o, Box::new(a), Box::new(b))),
            (
                prop::sample::select(vec!["==", "!=", "<", ">="]),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(o, a, b)| E::Cmp(o, Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| E::And(Box::new(a), Box::new(b))),
        ]
    })
}

fn stmts() -> impl Strategy<Value = Vec<S>> {
    let simple = prop_oneof![
        (0usize..STMT_VARS, small_expr()).prop_map(|(v, e)| S::Assign(v, e)),
        (
            0usize..STMT_VARS,
            prop::sample::select(vec!["+", "-", "*", "&", "|", "^", "<<", ">>"]),
            small_expr()
        )
            .prop_map(|(v, o, e)| S::Aug(v, o, e)),
        small_expr().prop_map(S::Return),
    ];
    let stmt = simple.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (
                small_expr(),
                prop::collection::vec(inner.clone(), 1..3),
                prop::option::of(prop::collection::vec(inner.clone(), 1..3))
            )
                .prop_map(|(c, t, e)| S::If(c, t, e)),
            (0u64..3, prop::collection::vec(inner, 1..3)).prop_map(|(n, b)| S::For(n, b)),
        ]
    });
    prop::collection::vec(stmt, 1..4)
}

fn emit(out: &mut String, body: &[S], depth: usize) {
    let ind = "    ".repeat(depth);
    for s in body {
        match s {
            S::Assign(v, e) => out.push_str(&format!("{ind}{} = {}\n", VARS[*v], text(e))),
            S::Aug(v, o, e) => out.push_str(&format!("{ind}{} {o}= {}\n", VARS[*v], text(e))),
            S::Return(e) => out.push_str(&format!("{ind}return {}\n", text(e))),
            S::If(c, t, e) => {
                out.push_str(&format!("{ind}if {}:\n", text(c)));
                out.push_str(&format!("{ind}    monitor(0)\n"));
                emit(out, t, depth + 1);
                if let Some(e) = e {
                    out.push_str(&format!("{ind}else:\n{ind}    monitor(0)\n"));
                    emit(out, e, depth + 1);
                }
            }
            S::For(n, b) => {
                out.push_str(&format!(
                    "{ind}for k{depth} in range({n}):\n{ind}    monitor(0)\n"
                ));
                emit(out, b, depth + 1);
            }
        }
    }
}

/// Runs statements; `Some(v)` when a `return v` ran.
fn exec(body: &[S], vars: &mut [u64; 6]) -> Option<u64> {
    for s in body {
        match s {
            S::Assign(v, e) => vars[*v] = eval(e, vars),
            S::Aug(v, o, e) => {
                let x = E::Bin(o, Box::new(E::Var(*v)), Box::new(e.clone()));
                vars[*v] = eval(&x, vars);
            }
            S::Return(e) => return Some(eval(e, vars)),
            S::If(c, t, e) => {
                let r = if eval(c, vars) != 0 {
                    exec(t, vars)
                } else {
                    e.as_ref().and_then(|e| exec(e, vars))
                };
                if r.is_some() {
                    return r;
                }
            }
            S::For(n, b) => {
                for _ in 0..*n {
                    if let Some(r) = exec(b, vars) {
                        return Some(r);
                    }
                }
            }
        }
    }
    None
}

#[test]
fn compiled_statements_match_direct_interpretation() {
    let tally = Tally::default();
    run_all(
        "differential-statements",
        (stmts(), prop::array::uniform4(0u64..50)),
        |(body, init)| {
            tally.count(&tally.total);
            let mut src =
                String::from("from programs.hike_default import monitor\n\ndef main():\n");
            let init = [init[0], init[1], init[2], init[3], 0, 0];
            for (i, (n, v)) in VARS.iter().zip(init).take(STMT_VARS).enumerate() {
                let ty = if var_signed(i) { "s64" } else { "u64" };
                src.push_str(&format!("    {ty} : {n} = {v}\n"));
            }
            emit(&mut src, &body, 1);
            src.push_str("    return a + b + c + d\n");
            let c = eclat::compile(&src, "s.eclat", &hike::catalog::Catalog::reference(), &[]);
            let Some(p) = c.output else {
                prop_assert!(
                    c.diagnostics
                        .iter()
                        .filter(|d| d.is_error())
                        .all(|d| matches!(
                            d.code,
                            "chain-too-long" | "too-complex" | "stack-exhausted"
                        )),
                    "{}",
                    c.render(&src, "s.eclat", false)
                );
                tally.count(&tally.too_big);
                return Ok(());
            };
            let (mut models, ids) = hike::vm::models::Models::with_all();
            let linked = p
                .link_default(&|_, n| ids.iter().find(|(m, _)| *m == n).map(|(_, i)| *i))
                .unwrap();
            let chains: Vec<(u32, Vec<hike::Insn>)> = linked
                .chains
                .iter()
                .map(|c| (c.id, c.insns.clone()))
                .collect();
            let mut shm = vec![0u8; 4096];
            let out = vm::run(
                &chains[..],
                &mut models,
                chains[0].0,
                vec![0u8; 64],
                &mut shm,
            );
            let mut vars = init;
            let want = exec(&body, &mut vars)
                .unwrap_or_else(|| vars.iter().fold(0u64, |acc, v| acc.wrapping_add(*v)));
            match out.abort {
                Some(Abort::ReturnedToBootstrap { r0, .. }) => {
                    tally.count(&tally.compared);
                    prop_assert_eq!(r0, want, "{}\n{}", src, p.emit_asm())
                }
                Some(Abort::BudgetExhausted { .. }) | Some(Abort::TooManyProgramCalls { .. }) => {
                    tally.count(&tally.budget)
                }
                other => prop_assert!(false, "unexpected {:?}\n{}", other, p.emit_asm()),
            }
            Ok(())
        },
    );
    tally.check("differential statements", MIN_STATEMENTS_COMPARED);
}
