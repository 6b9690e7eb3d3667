//! Property tests over random and mutated scripts: the compiler never panics, every diagnostic
//! span lies within the source, rendering never panics, and every chain it outputs passes the
//! store-time check and runs on the reference VM within the VM's limits, aborting only for a
//! reason a well-formed chain can meet.
//!
//! Reproducible: the corpus in `tests/fuzz-corpus/` (and the coverage-guided fuzzer's, in
//! `lab/pure/fuzz/corpus/eclat_source/`) runs first; then `cases()` inputs per strategy from a
//! printed seed (`ECLAT_SEED=...` replays a run); a failing case is persisted in
//! `tests/regressions/`. `tests/fuzz.sh N` (at the repository's root) runs N inputs per
//! strategy in a release build and prints the count.

mod support;

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
    eclat::fuzzing::check(src, catalog()).map_err(TestCaseError::fail)
}

fn catalog() -> &'static hike::catalog::Catalog {
    use std::sync::OnceLock;
    static C: OnceLock<hike::catalog::Catalog> = OnceLock::new();
    C.get_or_init(hike::catalog::Catalog::reference)
}

/// The corpus: the golden scripts, the diagnostics' scripts, the original-style corpus and
/// the inputs the fuzzers kept (`tests/fuzz-corpus/`, the coverage-guided fuzzer's corpus).
fn corpus() -> Vec<(String, String)> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dirs = [
        root.join("tests/scripts"),
        root.join("tests/diagnostics"),
        root.join("tests/corpus"),
        root.join("tests/corpus/broken"),
        root.join("tests/fuzz-corpus"),
        root.join("../fuzz/corpus/eclat_source"),
    ];
    let mut v = Vec::new();
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(|e| e.ok()) {
            let p = e.path();
            if p.is_file() && p.extension().is_none_or(|x| x != "md") {
                let bytes = std::fs::read(&p).unwrap();
                v.push((
                    p.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
    }
    v.sort();
    v
}

fn cases() -> u32 {
    std::env::var("ECLAT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

fn run<S: Strategy>(
    name: &'static str,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let mut runner = support::runner(name, cases());
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{name}: {e}");
    }
}

#[test]
fn the_corpus_compiles_without_a_crash() {
    let all = corpus();
    assert!(all.len() >= 60, "{} corpus files", all.len());
    for (path, src) in &all {
        if let Err(e) = check(src) {
            panic!("{path}: {e}");
        }
    }
    println!("eclat fuzz corpus: {} inputs", all.len());
}

/// One test so that the count of inputs is exact: random fragments, mutated scripts and
/// arbitrary text, `cases()` each (plus shrinking steps on a failure).
#[test]
fn compiler_survives_random_and_mutated_scripts() {
    run("fuzz-fragments", fragment_script(), |src| check(&src));
    let all = scripts();
    run(
        "fuzz-mutations",
        (any::<usize>(), prop::collection::vec(mutation(), 1..6)),
        |(which, ms)| {
            let mut src = all[which % all.len()].clone();
            for m in &ms {
                src = apply(&src, m);
            }
            check(&src)
        },
    );
    run("fuzz-text", ".{0,300}", |src: String| check(&src));
    let n = INPUTS.load(Ordering::Relaxed);
    println!("eclat fuzz: {n} inputs, no panic, every span inside its source");
    assert!(n >= 3 * cases() as usize);
}
