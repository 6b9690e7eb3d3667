//! Property tests over random and mutated scripts: the compiler never panics, every diagnostic
//! span lies within the source, rendering never panics, and every chain it outputs passes the
//! store-time check and runs on the reference VM.
//!
//! Cases per property: 2000 by default; `ECLAT_FUZZ_CASES=100000 cargo test --release -p eclat
//! --test fuzz -- --nocapture` for a long run (the count of inputs is printed).

use proptest::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

static INPUTS: AtomicUsize = AtomicUsize::new(0);

const FRAGMENTS: &[&str] = &[
    "from",
    "programs",
    "loaders",
    ".",
    "hike_default",
    "meter",
    "import",
    "hike_pass",
    "hike_drop",
    "monitor",
    "ip6_dst_tbmon",
    "ip6_simple_classifier",
    "ipv6_simple_classifier_map",
    "attach",
    "def",
    "if",
    "elif",
    "else",
    "while",
    "for",
    "in",
    "range",
    "return",
    "pass",
    "and",
    "or",
    "not",
    "True",
    "false",
    "u8",
    "u16",
    "u32",
    "u64",
    "s8",
    "s64",
    ":",
    "=",
    "+=",
    "<<=",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    "+",
    "-",
    "*",
    "/",
    "%",
    "<<",
    ">>",
    "&",
    "|",
    "^",
    "~",
    "<",
    "<=",
    "==",
    "!=",
    ">",
    ">=",
    "0",
    "1",
    "42",
    "0xffffffffffffffff",
    "99999999999999999999",
    "-1",
    "x",
    "y",
    "PASS",
    "DROP",
    "c",
    "d",
    "Packet",
    "readU8",
    "readU16",
    "writeU32",
    "'veth0'",
    "'xdp'",
    "\"",
    "'",
    "#",
    "\n",
    "\n    ",
    "\n        ",
    "\n\t",
    "    ",
    "\\\n",
    "é",
    "→",
    "\r\n",
];

fn fragment_script() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..120).prop_map(|v| {
        let mut s = String::new();
        for f in v {
            s.push_str(f);
            s.push(' ');
        }
        s
    })
}

fn scripts() -> Vec<String> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/scripts");
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    v.sort();
    v
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, &'static str),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Dedent(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0usize..12).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), prop::sample::select(FRAGMENTS)).prop_map(|(a, f)| Mutation::Insert(a, f)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        any::<usize>().prop_map(Mutation::Dedent),
    ]
}

fn apply(src: &str, m: &Mutation) -> String {
    let chars: Vec<char> = src.chars().collect();
    let n = chars.len().max(1);
    let mut lines: Vec<String> = src.lines().map(String::from).collect();
    let nl = lines.len().max(1);
    match m {
        Mutation::Delete(a, len) => {
            let a = a % n;
            let b = (a + len).min(chars.len());
            chars[..a.min(chars.len())]
                .iter()
                .chain(chars[b..].iter())
                .collect()
        }
        Mutation::Insert(a, f) => {
            let a = (a % n).min(chars.len());
            let mut s: String = chars[..a].iter().collect();
            s.push_str(f);
            s.extend(chars[a..].iter());
            s
        }
        Mutation::DuplicateLine(a) => {
            if let Some(l) = lines.get(a % nl).cloned() {
                lines.insert(a % nl, l);
            }
            lines.join("\n")
        }
        Mutation::SwapLines(a, b) => {
            if !lines.is_empty() {
                lines.swap(a % nl, b % nl);
            }
            lines.join("\n")
        }
        Mutation::Dedent(a) => {
            if let Some(l) = lines.get_mut(a % nl) {
                *l = l.trim_start().to_string();
            }
            lines.join("\n")
        }
    }
}

fn check(src: &str) -> Result<(), TestCaseError> {
    INPUTS.fetch_add(1, Ordering::Relaxed);
    let catalog = hike::catalog::Catalog::reference();
    let defines = vec![("DEVNAME".to_string(), "veth0".to_string())];
    let c = eclat::compile(src, "fuzz.eclat", &catalog, &defines);
    for d in &c.diagnostics {
        prop_assert!(
            d.span.start <= d.span.end && d.span.end <= src.len(),
            "span {:?} outside 0..{}",
            d.span,
            src.len()
        );
        for l in &d.labels {
            prop_assert!(l.span.start <= l.span.end && l.span.end <= src.len());
        }
        prop_assert!(!d.message.is_empty());
    }
    prop_assert_eq!(c.output.is_some(), !c.has_errors());
    let _ = c.render(src, "fuzz.eclat", false);
    if let Some(p) = &c.output {
        let _ = p.emit_asm();
        let _ = p.emit_c();
        let (mut models, ids) = hike::vm::models::Models::with_all();
        let linked = p.link_default(&|_, n| ids.iter().find(|(m, _)| *m == n).map(|(_, i)| *i));
        prop_assert!(linked.is_ok());
        let linked = linked.unwrap();
        for ch in &linked.chains {
            prop_assert!(
                hike::validate(&ch.insns).is_ok(),
                "{:?}\n{}",
                hike::validate(&ch.insns),
                p.emit_asm()
            );
        }
        let chains: Vec<(u32, Vec<hike::Insn>)> = linked
            .chains
            .iter()
            .map(|c| (c.id, c.insns.clone()))
            .collect();
        if let Some((id, _)) = chains.first() {
            let pkt = hike::vm::models::ipv6_udp_frame([1; 16], [2; 16], 1, 2, b"payload");
            let mut shm = vec![0u8; 4096];
            hike::vm::models::fill_pkt_info(&pkt, &mut shm);
            let _ = hike::vm::run(&chains[..], &mut models, *id, pkt, &mut shm);
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("ECLAT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let config = ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

/// One test so that the count of inputs is exact: random fragments, mutated scripts and
/// arbitrary text, `cases()` each (plus shrinking steps on a failure).
#[test]
fn compiler_survives_random_and_mutated_scripts() {
    run(fragment_script(), |src| check(&src));
    let all = scripts();
    run(
        (any::<usize>(), prop::collection::vec(mutation(), 1..6)),
        |(which, ms)| {
            let mut src = all[which % all.len()].clone();
            for m in &ms {
                src = apply(&src, m);
            }
            check(&src)
        },
    );
    run(".{0,300}", |src: String| check(&src));
    let n = INPUTS.load(Ordering::Relaxed);
    println!("eclat fuzz: {n} inputs, no panic, every span inside its source");
    assert!(n >= 3 * cases() as usize);
}
