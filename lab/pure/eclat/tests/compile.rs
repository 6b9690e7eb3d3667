//! Behaviour of the front end and of the outputs: lexing, precedence, diagnostics and their
//! help lines, linking, loader entries, attach requests, `-D`, determinism (and a timing report).

mod support;

use eclat::lexer::{Tok, lex};
use hike::catalog::Catalog;

fn compile(src: &str) -> eclat::Compilation {
    eclat::compile(src, "t.eclat", &Catalog::reference(), &support::defines())
}

fn codes(c: &eclat::Compilation) -> Vec<&'static str> {
    c.diagnostics.iter().map(|d| d.code).collect()
}

fn ast_of(src: &str) -> String {
    let (t, mut d) = lex(src, &[]);
    let m = eclat::parser::parse(&t, &mut d);
    assert!(d.is_empty(), "{d:?}");
    eclat::ast::dump(&m)
}

#[test]
fn keywords_need_word_boundaries() {
    let (toks, d) = lex(
        "order iface pass_cnt format notice android import_x if",
        &[],
    );
    assert!(d.is_empty());
    let names: Vec<&Tok> = toks.iter().map(|t| &t.tok).collect();
    for (i, n) in [
        "order", "iface", "pass_cnt", "format", "notice", "android", "import_x",
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(names[i], &Tok::Name(n.to_string()));
    }
    assert_eq!(names[7], &Tok::Kw("if"));
}

#[test]
fn indentation_tokens_and_tabs() {
    let src = "def c():\n\tif x:\n        pass\n\n    # comment\n\tpass\n";
    let (toks, d) = lex(src, &[]);
    assert!(d.is_empty(), "{d:?}");
    let kinds: Vec<String> = toks.iter().map(|t| t.tok.to_string()).collect();
    let indents = kinds.iter().filter(|k| *k == "indentation").count();
    let dedents = kinds.iter().filter(|k| *k == "end of block").count();
    assert_eq!((indents, dedents), (2, 2), "{kinds:?}");
    let (_, d) = lex("def c():\n        pass\n    pass\n", &[]);
    assert_eq!(d[0].code, "bad-indentation");
}

/// Number literals in every radix, with `_` separators and upper-case prefixes.
#[test]
fn number_literals_in_every_radix() {
    let (toks, d) = lex("x = 0x1f + 0X1F + 0b101 + 0o17 + 0O17 + 1_000 + 017\n", &[]);
    assert!(d.is_empty(), "{d:?}");
    let ints: Vec<u64> = toks
        .iter()
        .filter_map(|t| match t.tok {
            Tok::Int(v) => Some(v),
            _ => None,
        })
        .collect();
    assert_eq!(ints, vec![31, 31, 5, 15, 15, 1000, 17]);
}

/// A top-level line that is indented is reported as such.
#[test]
fn an_indented_top_level_line() {
    let c = compile(
        "from programs.hike_default import hike_pass\n    X = 1\ndef c():\n    hike_pass()\n",
    );
    assert_eq!(codes(&c), vec!["unexpected-indent"]);
    assert_eq!(c.diagnostics[0].message, "unexpected indentation");
}

/// A backslash at the end of a line (`\n` or `\r\n`) joins it with the next, as in Python:
/// the next line's indentation is no block's.
#[test]
fn a_backslash_continues_the_line() {
    let toks = |src: &str| {
        let (toks, d) = lex(src, &[]);
        assert!(d.is_empty(), "{src:?}: {d:?}");
        toks.into_iter().map(|t| t.tok).collect::<Vec<_>>()
    };
    let one = toks("def c():\n    x = 1 + 2\n");
    assert_eq!(toks("def c():\n    x = 1 + \\\n2\n"), one);
    assert_eq!(toks("def c():\n    x = 1 + \\\r\n        2\n"), one);
}

#[test]
fn python_precedence() {
    let a = ast_of(
        "X = 1\ndef c():\n    f(x & 1 == 0, not a == b, a or b and c, 1 + 2 * 3 << 1, -x % 3, a | b ^ c & d)\n",
    );
    assert!(a.contains("(== (& x 1) 0)"), "{a}");
    assert!(a.contains("(not (== a b))"), "{a}");
    assert!(a.contains("(or a (and b c))"), "{a}");
    assert!(a.contains("(<< (+ 1 (* 2 3)) 1)"), "{a}");
    assert!(a.contains("(% (- x) 3)"), "{a}");
    assert!(a.contains("(| a (^ b (& c d)))"), "{a}");
}

/// Inside a chain, an upper-case name given a literal (a number, a negative number, a
/// boolean) is a constant; given anything else it is an ordinary variable.
#[test]
fn upper_case_names_are_constants_only_for_literals() {
    let a = ast_of(
        "def c():\n    N = 5\n    M = -5\n    B = True\n    V = x + 1\n    W = -x\n    low = 5\n",
    );
    for want in [
        "(const N 5)",
        "(const M (- 5))",
        "(const B true)",
        "(= V (+ x 1))",
        "(= W (- x))",
        "(= low 5)",
    ] {
        assert!(a.contains(want), "no {want} in\n{a}");
    }
}

#[test]
fn emit_c_parenthesises_everything() {
    let src = "from programs.hike_default import hike_pass, monitor\n\ndef c():\n    u64 : x = 3\n    if x & 1 == 0:\n        monitor(1)\n    hike_pass()\n";
    let p = compile(src).output.unwrap();
    let c = p.emit_c();
    assert!(c.contains("if ((x & 1) == 0) {"), "{c}");
    assert!(c.contains("HIKE_CHAIN_1(HIKE_CHAIN_C_ID)"), "{c}");
}

#[test]
fn chained_comparisons_are_refused() {
    let c = compile("def c():\n    if 1 < 2 < 3:\n        pass\n");
    assert_eq!(codes(&c), vec!["chained-comparison"]);
    assert!(
        c.diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .contains("a < b and b < c")
    );
}

#[test]
fn python_habits_get_python_help() {
    let c = compile(
        "from programs.hike_default import hike_pass\n\ndef c():\n    x = 1\n    hike_pass()\n",
    );
    assert_eq!(codes(&c), vec!["undeclared-variable"]);
    assert_eq!(
        c.diagnostics[0].help.as_deref(),
        Some("declare it: `u64 : x = 1` (eCLAT variables have a type, written first)")
    );
    let c = compile("def c():\n    x: u64 = 1\n");
    assert!(
        c.diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .contains("`u64 : x`"),
        "{:?}",
        c.diagnostics
    );
    let c = compile("def c():\n    hike_drop()\n");
    assert_eq!(codes(&c), vec!["unknown-function"]);
    assert_eq!(
        c.diagnostics[0].help.as_deref(),
        Some("import it: `from programs.hike_default import hike_drop`")
    );
    let c = compile(
        "from programs.hike_default import hike_pass\nLIMIT = 5\ndef c():\n    LIMIT = 6\n    hike_pass()\n",
    );
    assert_eq!(codes(&c), vec!["constant-redefined"]);
}

#[test]
fn several_errors_in_one_run_sorted_by_position() {
    let src = support::script("../diagnostics/several_errors.eclat");
    let c = eclat::compile(&src, "s.eclat", &Catalog::reference(), &[]);
    assert!(c.diagnostics.len() >= 6, "{:?}", codes(&c));
    assert!(c.output.is_none());
    assert!(
        c.diagnostics
            .windows(2)
            .all(|w| w[0].span.start <= w[1].span.start)
    );
    let text = c.render(&src, "s.eclat", false);
    assert!(text.contains("s.eclat:8:21"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no colour codes when colour is off"
    );
    assert!(c.render(&src, "s.eclat", true).contains('\u{1b}'));
}

#[test]
fn the_64_instruction_limit_names_the_costly_statements() {
    let src = support::script("../diagnostics/too_long.eclat");
    let c = compile(&src);
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.code == "chain-too-long")
        .expect("limit error");
    assert!(
        d.message.contains("needs 77 instructions, the limit is 64"),
        "{}",
        d.message
    );
    assert_eq!(d.labels.len(), 3);
    assert!(d.labels[0].message.contains("22 instructions"));
}

#[test]
fn wrong_argument_counts_against_signatures() {
    let c = compile(
        "from programs.hike_default import monitor, hike_pass\ndef c():\n    monitor()\n    hike_pass(1)\n",
    );
    assert_eq!(codes(&c), vec!["wrong-arg-count", "wrong-arg-count"]);
    assert!(
        c.diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .contains("monitor(u32 event)")
    );
    let c = compile(
        "from programs.hike_default import l2_redirect\ndef c():\n    l2_redirect(0x100000000)\n",
    );
    assert_eq!(codes(&c), vec!["arg-range"]);
    // a negative constant fits a signed parameter or a 64-bit one (as its two's complement),
    // not a narrower unsigned one
    let c = compile(
        "from programs.hike_default import monitor, hike_pass\ndef c():\n    monitor(-1)\n    hike_pass()\n",
    );
    assert_eq!(codes(&c), vec!["arg-range"]);
    assert_eq!(
        c.diagnostics[0].message,
        "-1 does not fit parameter `event` of type u32"
    );
    let c = compile(
        "from programs.hike_default import hike_pass\ndef a(u64 : x, s8 : y):\n    return x\ndef b():\n    a(-1, -128)\n    hike_pass()\n",
    );
    assert_eq!(codes(&c), Vec::<&str>::new());
}

#[test]
fn chains_calling_chains_and_the_argument_limit() {
    let c = compile("def a(u64 : x, u64 : y, u64 : z):\n    return x\n");
    assert!(codes(&c).contains(&"too-many-params"));
    let c = compile(
        "from programs.hike_default import hike_pass\ndef a(u64 : x):\n    return x\ndef b():\n    a(1, 2)\n    hike_pass()\n",
    );
    assert_eq!(codes(&c), vec!["wrong-arg-count"]);
}

/// Only an entry chain must end in a verdict: a chain that another calls returns to it (no
/// "falls off its end" warning for it), and an entry that does fall off is warned about.
#[test]
fn chains_called_by_others_are_no_entries() {
    let src = "from programs.hike_default import hike_pass, monitor\ndef sub(u64 : x):\n    monitor(x)\ndef c():\n    sub(1)\n    hike_pass()\n";
    let c = compile(src);
    assert!(c.output.is_some());
    assert_eq!(codes(&c), Vec::<&str>::new());
    let c = compile(&src.replace("    hike_pass()\n", ""));
    assert_eq!(c.diagnostics.len(), 1, "{:?}", c.diagnostics);
    assert!(
        c.diagnostics[0].message.contains("`c`"),
        "{:?}",
        c.diagnostics
    );
}

#[test]
fn defines_substitute_names_and_strings() {
    let src = "from programs.hike_default import hike_pass, monitor\nfrom loaders.hike_default import ip6_simple_classifier\nip6_simple_classifier.attach('DEVNAME', 'xdp')\ndef c():\n    monitor(EVENT)\n    hike_pass()\n";
    let defs = vec![
        ("DEVNAME".to_string(), "enp6s0f0".to_string()),
        ("EVENT".to_string(), "7".to_string()),
    ];
    let c = eclat::compile(src, "t", &Catalog::reference(), &defs);
    let p = c.output.expect("compiles");
    assert_eq!(p.attach[0].device, "enp6s0f0");
    assert_eq!(p.attach[0].mode, "xdp");
    assert_eq!(p.attach[0].loader, "ip6_simple_classifier");
    assert!(p.emit_asm().contains("r2 = 7"));
    // a define overrides a constant's uses, not its definition
    let src2 = "from programs.hike_default import hike_pass, monitor\nEVENT = 3\ndef c():\n    monitor(EVENT)\n    hike_pass()\n";
    let c = eclat::compile(src2, "t", &Catalog::reference(), &defs);
    assert!(c.output.expect("compiles").emit_asm().contains("r2 = 7"));
    let c = eclat::compile(src2, "t", &Catalog::reference(), &[]);
    assert!(c.output.expect("compiles").emit_asm().contains("r2 = 3"));
    let bad = vec![("1X".to_string(), "y".to_string())];
    let c = eclat::compile(src, "t", &Catalog::reference(), &bad);
    assert!(codes(&c).contains(&"bad-define"));
    assert_eq!(
        eclat::parse_define("A=b=c"),
        Some(("A".into(), "b=c".into()))
    );
}

#[test]
fn loader_entries_are_packed_and_linked() {
    let p = compile(&support::script("ddos.eclat")).output.unwrap();
    assert_eq!(p.map_entries.len(), 1);
    let e = &p.map_entries[0];
    assert_eq!(
        (e.loader.as_str(), e.map.as_str()),
        ("ip6_simple_classifier", "ipv6_simple_classifier_map")
    );
    assert_eq!(e.key, vec![0, 0, 0, 0]);
    assert_eq!(e.value, (hike::FIRST_CHAIN_ID).to_le_bytes().to_vec());
    let linked = p
        .link(&[0x4000_0007], &|_, name| {
            (name == "hike_pass").then_some(1).or(Some(9))
        })
        .unwrap();
    assert_eq!(
        linked.map_entries[0].value,
        0x4000_0007u32.to_le_bytes().to_vec()
    );
    let ids: Vec<i32> = linked.chains[0]
        .insns
        .iter()
        .filter(|i| i.dst == 1 && i.code == 0xb7)
        .map(|i| i.imm)
        .collect();
    assert!(ids.contains(&1) && ids.contains(&9), "{ids:?}");
    assert!(matches!(
        p.link(&[5], &|_, _| Some(1)),
        Err(eclat::LinkError::BadChainId { id: 5 })
    ));
    assert!(matches!(
        p.link(&[], &|_, _| Some(1)),
        Err(eclat::LinkError::ChainCount { .. })
    ));
    assert!(matches!(
        p.link(&[0x4000_0001], &|_, _| None),
        Err(eclat::LinkError::UnknownProgram { .. })
    ));
    let dst = compile(
        "from programs.hike_default import hike_pass\nfrom loaders.hike_default import ip6_dst_classifier\nip6_dst_classifier[ip6_dst_classifier_map] = { ('fc01::2'): (c) }\ndef c():\n    hike_pass()\n",
    );
    let p = dst.output.unwrap();
    assert_eq!(p.map_entries[0].key[..2], [0xfc, 0x01]);
    assert_eq!(p.map_entries[0].key[15], 2);
}

#[test]
fn relocation_sites_point_at_the_id_loads() {
    let p = compile(&support::script("lesson5_chains.eclat"))
        .output
        .unwrap();
    for c in &p.chains {
        for r in &c.relocs {
            let insn = c.insns[r.insn];
            assert_eq!(
                (insn.code, insn.dst),
                (0xb7, 1),
                "mov r1, imm at {}",
                r.insn
            );
            assert_eq!(c.insns[r.insn + 1].code, 0x85, "followed by the call");
        }
        assert_eq!(c.lines.len(), c.insns.len());
    }
    assert!(
        p.chains[1]
            .relocs
            .iter()
            .any(|r| r.target == eclat::Target::Chain(0))
    );
}

#[test]
fn compile_is_deterministic_and_cheap() {
    let src = support::script("ddos.eclat");
    let catalog = Catalog::reference();
    let defs = support::defines();
    let first = eclat::compile(&src, "ddos.eclat", &catalog, &defs)
        .output
        .unwrap()
        .chains[0]
        .insns
        .clone();
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = std::time::Instant::now();
        let c = eclat::compile(&src, "ddos.eclat", &catalog, &defs);
        times.push(t.elapsed());
        assert_eq!(c.output.unwrap().chains[0].insns, first);
    }
    times.sort();
    // a report, not an assertion: timings depend on the machine and the build profile
    println!(
        "compile ddos.eclat: median {:?}, min {:?} over {} runs",
        times[times.len() / 2],
        times[0],
        times.len()
    );
}

/// Hostile inputs: each gives the diagnostic it deserves (not a crash, not silence), with
/// spans inside the source and a rendering.
#[test]
fn hostile_inputs_give_diagnostics_not_crashes() {
    let deep_parens = format!(
        "def c():\n    return {}1{}\n",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let deep_not = format!("def c():\n    return {}1\n", "not ".repeat(5000));
    let deep_neg = format!("def c():\n    return {}1\n", "-".repeat(5000));
    let mut deep_blocks = String::from("def c():\n");
    for i in 0..200 {
        deep_blocks.push_str(&format!("{}if 1:\n", " ".repeat(4 * (i + 1))));
    }
    deep_blocks.push_str(&format!("{}pass\n", " ".repeat(4 * 201)));
    let long_chain = format!("def c():\n    return {}\n", vec!["1"; 20000].join(" + "));
    let many_ifs = format!(
        "from programs.hike_default import hike_pass\ndef c():\n{}    hike_pass()\n",
        "    if 1:\n        pass\n".repeat(3000)
    );
    let many_defs: String = (0..300)
        .map(|i| format!("def c{i}():\n    pass\n"))
        .collect();
    let cases: [(String, &[&str]); 8] = [
        (deep_parens, &["too-deep"]),
        (deep_not, &["too-deep"]),
        (deep_neg, &["too-deep"]),
        (deep_blocks, &["too-deep"]),
        (long_chain, &["too-deep"]),
        // a constant condition costs nothing: the chain is the call and its exit
        (many_ifs, &[]),
        // 300 warnings: the first 100, then one that says how many more (a warning too)
        (many_defs, &["no-final-program", "too-many-errors"]),
        ("\u{0}\u{feff}é\t\r".to_string(), &["unexpected-character"]),
    ];
    for (src, want) in cases {
        let c = compile(&src);
        let mut got = codes(&c);
        got.dedup();
        assert_eq!(got, want, "{}", &src[..src.len().min(60)]);
        for d in &c.diagnostics {
            assert!(d.span.end <= src.len());
        }
        assert!(!c.render(&src, "t.eclat", false).is_empty() || want.is_empty());
        match want {
            [] => assert_eq!(c.output.expect("compiles").chains[0].insns.len(), 3),
            ["no-final-program", ..] => {
                assert_eq!(c.diagnostics.len(), eclat::MAX_DIAGNOSTICS + 1);
                assert!(!c.has_errors(), "warnings only: the script still loads");
                assert_eq!(c.output.expect("compiles").chains.len(), 300);
            }
            _ => assert!(c.output.is_none()),
        }
    }
}

#[test]
fn unsigned_comparison_with_a_negative_number_is_warned() {
    let src = "from programs.hike_default import hike_pass\nfrom programs.meter import ip6_dst_tbmon\ndef c():\n    if ip6_dst_tbmon() < 0:\n        pass\n    s64 : v = ip6_dst_tbmon()\n    if v < 0:\n        pass\n    if ip6_dst_tbmon() == -1:\n        pass\n    hike_pass()\n";
    let c = compile(src);
    assert_eq!(codes(&c), vec!["unsigned-negative-compare"]);
    assert!(c.output.is_some(), "a warning only");
}

/// Found by the fuzzer: a constant shift count outside 0..63 (`~1` is -2) must be taken
/// modulo 64, as the folder and the VM do, not emitted as an immediate the VM refuses.
#[test]
fn constant_shift_counts_are_taken_modulo_64() {
    let src = "from programs.hike_default import hike_pass, monitor\n\ndef c():\n    u64 : x = 93\n    monitor(x << ~1)\n    monitor(x >> 70)\n    hike_pass()\n";
    let c = compile(src);
    let p = c.output.expect("compiles");
    for ch in &p.chains {
        hike::validate(&ch.insns).unwrap_or_else(|e| panic!("{e}\n{}", p.emit_asm()));
    }
    let asm = p.emit_asm();
    assert!(asm.contains("<<= 62") && asm.contains(">>= 6"), "{asm}");
}

fn count(c: &eclat::Compilation, code: &str) -> usize {
    c.diagnostics.iter().filter(|d| d.code == code).count()
}

/// A script written against the original's package names gets one error per import line
/// (with where the names live), and none where the names are used.
#[test]
fn an_unknown_package_is_one_error_per_import_line() {
    let src = support::script("../diagnostics/migration_imports.eclat");
    let c = compile(&src);
    assert_eq!(count(&c, "unknown-package"), 3, "{:?}", codes(&c));
    assert_eq!(count(&c, "unknown-import"), 3, "{:?}", codes(&c));
    assert_eq!(c.diagnostics.len(), 6, "{:?}", codes(&c));
    let mynett = &c.diagnostics[0];
    assert_eq!(
        mynett.help.as_deref(),
        Some("did you mean `programs.mynet`?")
    );
    assert!(
        mynett.notes[0]
            .contains("`hike_drop`, `hike_pass` and `monitor` are in `programs.hike_default`"),
        "{:?}",
        mynett.notes
    );
    let loader = c
        .diagnostics
        .iter()
        .find(|d| d.message.contains("ip6_simple_classifier"))
        .unwrap();
    assert_eq!(
        loader.help.as_deref(),
        Some(
            "`ip6_simple_classifier` is in `loaders.hike_default`: `from loaders.hike_default import ip6_simple_classifier`"
        )
    );
    // the same names, imported correctly, compile
    let fixed = src
        .replace("programs.mynett", "programs.mynet")
        .replace(
            "programs.nothing_like_it import hike_pass2, lse",
            "programs.hike_default import lse",
        )
        .replace(
            "from loaders.basic import ip6_simple_classifier",
            "from loaders.hike_default import ip6_simple_classifier",
        )
        .replace("loaders.nonexistent", "loaders.basic")
        .replace(
            "from programs.hike_default import ip6_sc2, udp_dport_classifier\n",
            "",
        );
    let c = compile(&fixed);
    assert!(!c.has_errors(), "{}", c.render(&fixed, "t.eclat", false));
}

#[test]
fn a_broken_import_line_and_too_many_params_give_no_follow_on_errors() {
    let src = support::script("../diagnostics/migration_syntax.eclat");
    let c = compile(&src);
    assert_eq!(codes(&c), ["syntax", "syntax", "too-many-params"]);
}

#[test]
fn floating_point_literals_are_refused_once_each() {
    let c = compile(
        "from programs.hike_default import hike_pass, monitor\ndef c():\n    monitor(1.5 + 2e3)\n    hike_pass()\n",
    );
    assert_eq!(codes(&c), ["float-literal", "float-literal"]);
    assert!(
        c.diagnostics[0]
            .message
            .contains("eBPF has no floating point")
    );
    // hex digits and names with an `e` are not floats
    let c = compile(
        "from programs.hike_default import hike_pass, monitor\ndef c():\n    u64 : e1 = 0x1e3\n    monitor(e1 + 1)\n    hike_pass()\n",
    );
    assert!(c.diagnostics.is_empty(), "{:?}", codes(&c));
}

#[test]
fn aliases_compile_to_the_real_program() {
    let c = compile(
        "from programs.mynet import monitor, hike_pass\nfrom programs.net import hike_drop\nfrom programs.hike_default import lse\n\ndef c():\n    if lse() > 5:\n        monitor(1)\n        hike_drop()\n    hike_pass()\n",
    );
    let p = c.output.expect("compiles");
    assert_eq!(
        p.programs,
        [
            ("hike_default".to_string(), "hike_drop".to_string()),
            ("hike_default".to_string(), "hike_pass".to_string()),
            ("hike_default".to_string(), "lse".to_string()),
            ("hike_default".to_string(), "monitor".to_string()),
        ],
        "one program each, under its own package: one ID, one set of maps"
    );
}

/// `compile --json` on failure: the report's shape is stable (a golden file).
#[test]
fn the_json_report_is_stable() {
    let src = "from programs.hike_default import hike_pass\nfrom programs.nothing import x\n\ndef c():\n    u64 : v = 1.5\n    hike_pass()\n";
    let c = compile(src);
    let report = c.report(src, "t.eclat");
    assert!(!report.ok);
    assert_eq!((report.errors, report.warnings), (2, 0));
    let json = serde_json::to_string_pretty(&report).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/report.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &json).unwrap();
    }
    assert_eq!(json, std::fs::read_to_string(&path).unwrap_or_default());
    // a warning only: ok, the same shape
    let src = "def c():\n    pass\n";
    let c = compile(src);
    let report = c.report(src, "w.eclat");
    assert!(report.ok);
    assert_eq!((report.errors, report.warnings), (0, 1));
    assert_eq!(report.diagnostics[0].span.line, 1);
    assert_eq!(report.diagnostics[0].span.col, 5);
}

/// `test --chain`: which chain (or loader) the crafted packets go to.
#[test]
fn the_test_entry_rule() {
    use eclat::{TestEntry, TestEntryError};
    let chain = |index: usize, name: &str| TestEntry::Chain {
        index,
        name: name.to_string(),
    };
    let p = |src: &str| compile(src).output.expect("compiles");
    let one = p("from programs.hike_default import hike_pass\ndef c():\n    hike_pass()\n");
    assert_eq!(one.test_entry(None), Ok(chain(0, "c")));
    // a chain the others call is not an entry: the caller is
    let two = p(
        "from programs.hike_default import hike_pass\ndef helper():\n    return 1\ndef main():\n    helper()\n    hike_pass()\n",
    );
    assert_eq!(two.entry_chains(), [1]);
    assert_eq!(two.test_entry(None), Ok(chain(1, "main")));
    assert_eq!(two.test_entry(Some("helper")), Ok(chain(0, "helper")));
    assert_eq!(
        two.test_entry(Some("mains")),
        Err(TestEntryError::NoSuchChain {
            name: "mains".into(),
            chains: vec!["helper".into(), "main".into()],
            suggestion: Some("main".into()),
        })
    );
    let both = p(
        "from programs.hike_default import hike_pass, hike_drop\ndef a():\n    hike_pass()\ndef b():\n    hike_drop()\n",
    );
    let e = both.test_entry(None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the script configures no loader and has 2 entry chains (a, b): name the one to test with `--chain NAME`"
    );
    assert_eq!(both.test_entry(Some("b")), Ok(chain(1, "b")));
    // with a loader: the loader, unless a chain is named
    let loaded = p(
        "from programs.hike_default import hike_pass\nfrom loaders.basic import ip6_sc\nip6_sc[ipv6_sc_map] = { (0): (c) }\ndef c():\n    hike_pass()\n",
    );
    assert_eq!(
        loaded.test_entry(None),
        Ok(TestEntry::Loader {
            package: "basic".into(),
            loader: "ip6_sc".into()
        })
    );
    assert_eq!(loaded.test_entry(Some("c")), Ok(chain(0, "c")));
    let linked = loaded.link_default(&|_, _| Some(1)).unwrap();
    assert_eq!(linked.chain_id("c"), Some(hike::FIRST_CHAIN_ID));
    assert_eq!(linked.chain_id("d"), None);
}

/// The lexer's help for C's `!`: eCLAT writes `not`; other stray characters get none.
#[test]
fn c_operators_get_the_python_words_as_help() {
    let (_, d) = lex("def c():\n    return !1\n", &[]);
    let got = d
        .iter()
        .find(|d| d.code == "unexpected-character")
        .expect("`!`");
    assert!(
        got.help.as_deref().is_some_and(|h| h.contains("`not x`")),
        "{got:?}"
    );
    let (_, d) = lex("def c():\n    return 1 $ 2\n", &[]);
    assert_eq!(d[0].help, None, "no help for `$`");
}

/// A line indented to no enclosing level: the diagnostic points at the line's first
/// character, one character wide.
#[test]
fn a_bad_dedent_points_at_the_line() {
    let src = "def c():\n        pass\n    pass\n";
    let (_, d) = lex(src, &[]);
    let bad = d
        .iter()
        .find(|d| d.code == "bad-indentation")
        .expect("bad-indentation");
    let at = src.rfind("    pass").unwrap() + 4;
    assert_eq!((bad.span.start, bad.span.end), (at, at + 1), "{bad:?}");
}

/// The parser reports at most its limit of errors, however many the script has.
#[test]
fn parse_errors_are_capped() {
    let src: String = (0..100)
        .map(|i| format!("def c{i}(1):\n    pass\n"))
        .collect();
    let (t, mut d) = lex(&src, &[]);
    let lexed = d.len();
    eclat::parser::parse(&t, &mut d);
    let parsed = d.len() - lexed;
    assert!(
        (1..=31).contains(&parsed),
        "{parsed} parse diagnostics: {:?}",
        d.iter().map(|d| d.code).collect::<Vec<_>>()
    );
}

/// A name used before the declaration that comes later, inside a loop or a branch, is
/// "used before its declaration", not an unknown name: the checker looks into every block.
#[test]
fn a_later_declaration_in_any_block_is_named() {
    for block in ["while n < 3:", "for i in range(2):", "if n == 1:"] {
        let src = format!(
            "from programs.hike_default import monitor\ndef c():\n    u64 : n = 0\n    \
             monitor(x)\n    {block}\n        u64 : x = 1\n        n += 1\n"
        );
        let c = compile(&src);
        assert!(
            codes(&c).contains(&"used-before-declaration"),
            "{block}: {:?}",
            codes(&c)
        );
    }
}

/// A signed key of a loader's map takes the values of its type, negative and positive, and
/// refuses what is past either end.
#[test]
fn signed_loader_map_keys_take_their_range() {
    use hike::catalog::{LoaderSig, MapSig, TypeLayout};
    let mut cat = Catalog::reference();
    let int = |name: &str, size| TypeLayout {
        name: name.into(),
        size,
        fields: vec![],
    };
    cat.loaders.push(LoaderSig {
        package: "t".into(),
        name: "sl".into(),
        maps: vec![MapSig {
            name: "sm".into(),
            map_type: "hash".into(),
            key: int("__s16", 2),
            value: int("__u32", 4),
            max_entries: 8,
        }],
    });
    let with_key = |k: &str| {
        let src = format!(
            "from loaders.t import sl\nsl[sm] = {{ ({k}): (c) }}\ndef c():\n    return 0\n"
        );
        let c = eclat::compile(&src, "t.eclat", &cat, &support::defines());
        c.diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect::<Vec<_>>()
    };
    for ok in ["5", "-5", "32767", "-32768"] {
        assert_eq!(with_key(ok), Vec::<&str>::new(), "{ok}");
    }
    for bad in ["32768", "-32769"] {
        assert!(!with_key(bad).is_empty(), "{bad} fits an s16?");
    }
}

/// `range()`'s bound: a negative one and one past 32 bits are both refused, each for itself.
#[test]
fn range_bounds_out_of_reach_are_refused() {
    for bound in ["-1", "-5", "4294967296"] {
        let src = format!(
            "from programs.hike_default import hike_pass\ndef c():\n    for i in range({bound}):\n        \
             hike_pass()\n    hike_pass()\n"
        );
        let c = compile(&src);
        assert!(
            codes(&c).contains(&"range-bound"),
            "range({bound}): {:?}",
            codes(&c)
        );
    }
}
