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

/// `x /= v` and `x %= v` are refused when either side is signed (the variable, or the value
/// unless the operation is a shift).
#[test]
fn signed_division_by_assignment_is_refused() {
    let src = |decl: &str, stmt: &str| {
        format!(
            "from programs.hike_default import hike_pass\ndef c():\n    s32 : s = 3\n    {decl}\n    {stmt}\n    hike_pass()\n"
        )
    };
    for (decl, stmt, refused) in [
        ("s32 : x = 8", "x /= 2", true),
        ("u32 : x = 8", "x /= s", true),
        ("u32 : x = 8", "x %= s", true),
        ("u32 : x = 8", "x /= 2", false),
        ("u32 : x = 8", "x <<= s", false),
    ] {
        let c = compile(&src(decl, stmt));
        let codes = codes(&c);
        assert_eq!(
            codes.contains(&"signed-division"),
            refused,
            "{decl}; {stmt}: {codes:?}"
        );
    }
}

/// A constant is imported from its own package, not from another one.
#[test]
fn constants_are_imported_from_their_package() {
    let src = |package: &str| {
        format!(
            "from programs.hike_default import hike_pass, monitor\nfrom programs.{package} import HIKE_INFO_L2\ndef c():\n    monitor(HIKE_INFO_L2)\n    hike_pass()\n"
        )
    };
    let c = compile(&src("info"));
    assert!(c.output.is_some(), "{:?}", c.diagnostics);
    let c = compile(&src("meter"));
    assert!(c.output.is_none());
    assert!(!codes(&c).is_empty());
}

/// A 6-byte field of a loader map's entry takes a MAC address (six hexadecimal bytes, `:`
/// between); anything else is refused.
#[test]
fn mac_addresses_fill_six_byte_fields() {
    use hike::catalog::{Field, LoaderSig, MapSig, TypeLayout};
    let mut cat = Catalog::reference();
    cat.loaders.push(LoaderSig {
        package: "hike_default".into(),
        name: "mac_classifier".into(),
        maps: vec![MapSig {
            name: "mac_map".into(),
            map_type: "hash".into(),
            key: TypeLayout {
                name: "struct mac".into(),
                size: 6,
                fields: vec![Field {
                    name: "addr".into(),
                    offset: 0,
                    size: 6,
                    int: None,
                }],
            },
            value: TypeLayout {
                name: "__u32".into(),
                size: 4,
                fields: vec![],
            },
            max_entries: 8,
        }],
    });
    let src = |mac: &str| {
        format!(
            "from programs.hike_default import hike_pass\nfrom loaders.hike_default import mac_classifier\nmac_classifier[mac_map] = {{ ('{mac}'): (c) }}\ndef c():\n    hike_pass()\n"
        )
    };
    let c = eclat::compile(&src("02:aa:00:00:0f:01"), "t.eclat", &cat, &[]);
    let p = c.output.expect("compiles");
    assert_eq!(p.map_entries[0].key, vec![0x02, 0xaa, 0, 0, 0x0f, 0x01]);
    for bad in [
        "02:aa:00:00:0f",
        "02:aa:00:00:0f:01:02",
        "02:aa:00:00:0f:zz",
    ] {
        let c = eclat::compile(&src(bad), "t.eclat", &cat, &[]);
        assert!(c.output.is_none(), "{bad}");
    }
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
        "def c():\n    N = 5\n    M = -5\n    B = True\n    V = x + 1\n    W = -x\n    low = 5\n    Mixed = 5\n    X_1 = 5\n    _1 = 5\n",
    );
    for want in [
        "(= Mixed 5)",
        "(const X_1 5)",
        "(= _1 5)",
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

/// A chain `c` that declares `u64 : x = 1`, then runs `stmt`, then passes.
fn with_x(stmt: &str) -> String {
    format!(
        "from programs.hike_default import hike_pass, monitor\n\ndef c():\n    u64 : x = 1\n    {stmt}\n    hike_pass()\n"
    )
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

/// Long scripts of lines that hold no item (docstrings, misplaced top-level statements, `;`
/// lines of them) are parsed line after line, not one recursion per line: 600 such lines
/// overflowed the stack of the lab's threads (`eclat-lab compile` died with SIGABRT). Run on
/// a thread with a small stack, so that any recursion per line shows.
#[test]
fn thousands_of_lines_without_an_item_do_not_overflow_the_stack() {
    let cases = [
        ("docstrings", "\"a docstring\"\n".repeat(50_000)),
        ("top-level variables", "x = 1\n".repeat(50_000)),
        ("statements", "hike_pass()\n".repeat(50_000)),
        ("both on a line", "\"doc\"; x = 1\n".repeat(50_000)),
    ];
    for (what, src) in cases {
        let c = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || compile(&src))
            .unwrap()
            .join()
            .unwrap_or_else(|_| panic!("{what}: the compiler panicked"));
        if what != "docstrings" {
            assert!(
                c.diagnostics.iter().any(|d| d.is_error()),
                "{what}: {:?}",
                codes(&c)
            );
        }
    }
}

// ---- the loader-map packer: every kind of field, at its edges ----

/// A loader `every` of package `t` whose map `m` has a key with one field of each integer type
/// and a value with an IPv4 address (4 raw bytes), a MAC (6), an IPv6 address (16), a chain
/// ID (4) and a 2-byte integer; and array maps of 1 and 4 entries, `one` and `four`.
fn every_field_catalog() -> Catalog {
    use hike::catalog::{Field, IntType, LoaderSig, MapSig, TypeLayout};
    let f = |name: &str, offset, size, int| Field {
        name: name.into(),
        offset,
        size,
        int,
    };
    let key = TypeLayout {
        name: "struct every_key".into(),
        size: 32,
        fields: vec![
            f("a_u8", 0, 1, Some(IntType::U8)),
            f("a_s8", 1, 1, Some(IntType::S8)),
            f("a_u16", 2, 2, Some(IntType::U16)),
            f("a_s16", 4, 2, Some(IntType::S16)),
            f("a_u32", 8, 4, Some(IntType::U32)),
            f("a_s32", 12, 4, Some(IntType::S32)),
            f("a_u64", 16, 8, Some(IntType::U64)),
            f("a_s64", 24, 8, Some(IntType::S64)),
        ],
    };
    let value = TypeLayout {
        name: "struct every_value".into(),
        size: 36,
        fields: vec![
            f("ip4", 0, 4, None),
            f("mac", 4, 6, None),
            f("ip6", 12, 16, None),
            f("next", 28, 4, Some(IntType::U32)),
            f("port", 32, 2, Some(IntType::U16)),
        ],
    };
    let plain = |name: &str, size| TypeLayout {
        name: name.into(),
        size,
        fields: vec![],
    };
    let array = |name: &str, max_entries| MapSig {
        name: name.into(),
        map_type: "percpu_array".into(),
        key: plain("__u32", 4),
        value: plain("__u32", 4),
        max_entries,
    };
    let mut cat = Catalog::reference();
    cat.loaders.push(LoaderSig {
        package: "t".into(),
        name: "every".into(),
        maps: vec![
            MapSig {
                name: "m".into(),
                map_type: "hash".into(),
                key,
                value,
                max_entries: 8,
            },
            array("one", 1),
            array("four", 4),
            MapSig {
                name: "odd".into(),
                map_type: "hash".into(),
                // plain types that are not named like integers: their size says which
                key: plain("struct two_bytes", 2),
                value: plain("__s8", 1),
                max_entries: 8,
            },
        ],
    });
    cat
}

/// Compiles `every[MAP] = { ENTRY }` (with a chain `c`) against [`every_field_catalog`].
fn every_entry(map: &str, entry: &str) -> eclat::Compilation {
    let src = format!(
        "from programs.hike_default import hike_pass\nfrom loaders.t import every\n\
         every[{map}] = {{ {entry} }}\ndef c():\n    hike_pass()\n"
    );
    eclat::compile(&src, "t.eclat", &every_field_catalog(), &[])
}

/// The errors of a compilation, as `code: message`.
fn errors(c: &eclat::Compilation) -> Vec<String> {
    c.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect()
}

const EVERY_VALUE: &str = "('10.1.2.3', '02:aa:00:00:0f:01', 'fc00::1', c, 0x1234)";

/// Each field of a key and a value is packed little-endian at its offset, the padding stays
/// zero, and the chain named in the value is a relocation at its field's offset.
#[test]
fn every_field_type_is_packed_at_its_offset() {
    let c = every_entry(
        "m",
        &format!("(0xfe, -2, 0xbeef, -3, 0xdeadbeef, -4, 0x0102030405060708, -5): {EVERY_VALUE}"),
    );
    assert_eq!(errors(&c), Vec::<String>::new());
    let p = c.output.expect("compiles");
    let e = &p.map_entries[0];
    assert_eq!((e.loader.as_str(), e.map.as_str()), ("every", "m"));
    let mut key = vec![0xfe, 0xfe, 0xef, 0xbe, 0xfd, 0xff, 0, 0];
    key.extend(0xdeadbeefu32.to_le_bytes());
    key.extend((-4i32).to_le_bytes());
    key.extend(0x0102030405060708u64.to_le_bytes());
    key.extend((-5i64).to_le_bytes());
    assert_eq!(e.key, key);
    let mut value = vec![10, 1, 2, 3, 0x02, 0xaa, 0, 0, 0x0f, 0x01, 0, 0];
    value.extend("fc00::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
    value.extend(hike::FIRST_CHAIN_ID.to_le_bytes());
    value.extend([0x34, 0x12, 0, 0]);
    assert_eq!(e.value, value);
    assert_eq!(
        e.value_relocs,
        vec![eclat::ValueReloc {
            offset: 28,
            chain: 0
        }]
    );
}

/// Every integer field takes the values of its type up to both ends and refuses one past
/// either, with the value and the field in the message.
#[test]
fn every_integer_field_takes_its_range_and_no_more() {
    let base = ["0", "0", "0", "0", "0", "0", "0", "0"];
    // (field index, smallest accepted, largest accepted, refused below, refused above)
    type Edge<'a> = (usize, &'a str, &'a str, Option<&'a str>, Option<&'a str>);
    let edges: [Edge; 8] = [
        (0, "0", "255", None, Some("256")),
        (1, "-128", "127", Some("-129"), Some("128")),
        (2, "0", "65535", None, Some("65536")),
        (3, "-32768", "32767", Some("-32769"), Some("32768")),
        (4, "0", "4294967295", None, Some("4294967296")),
        (
            5,
            "-2147483648",
            "2147483647",
            Some("-2147483649"),
            Some("2147483648"),
        ),
        (6, "0", "0xffffffffffffffff", None, None),
        (7, "-9223372036854775808", "9223372036854775807", None, None),
    ];
    let names = [
        "a_u8", "a_s8", "a_u16", "a_s16", "a_u32", "a_s32", "a_u64", "a_s64",
    ];
    let with = |i: usize, v: &str| {
        let mut k = base;
        k[i] = v;
        errors(&every_entry(
            "m",
            &format!("({}): {EVERY_VALUE}", k.join(", ")),
        ))
    };
    for (i, lo, hi, below, above) in edges {
        assert_eq!(with(i, lo), Vec::<String>::new(), "{} = {lo}", names[i]);
        assert_eq!(with(i, hi), Vec::<String>::new(), "{} = {hi}", names[i]);
        for bad in [below, above].into_iter().flatten() {
            let shown = bad.parse::<i128>().unwrap() as i64;
            assert_eq!(
                with(i, bad),
                vec![format!(
                    "map-value-range: {shown} does not fit field `{}` ({} bytes)",
                    names[i],
                    [1, 1, 2, 2, 4, 4, 8, 8][i]
                )],
                "{} = {bad}",
                names[i]
            );
        }
    }
}

/// Strings fill the fields of their size only: an IPv4 address a raw 4-byte field (not a
/// 4-byte integer), a MAC a 6-byte one, an IPv6 address a 16-byte one.
#[test]
fn address_strings_fill_only_the_fields_of_their_kind() {
    let value = |ip4: &str, mac: &str, ip6: &str, port: &str| {
        errors(&every_entry(
            "m",
            &format!("(0, 0, 0, 0, 0, 0, 0, 0): ('{ip4}', '{mac}', '{ip6}', c, {port})"),
        ))
    };
    let ok = Vec::<String>::new();
    assert_eq!(value("0.0.0.0", "00:00:00:00:00:00", "::", "0"), ok);
    let refused = |s: &str, field: &str, bytes: usize| {
        vec![format!(
            "map-bad-value: '{s}' does not fit field `{field}` ({bytes} bytes)"
        )]
    };
    assert_eq!(
        value("10.0.0", "0:0:0:0:0:0", "::", "0"),
        refused("10.0.0", "ip4", 4)
    );
    assert_eq!(
        value("fc00::1", "0:0:0:0:0:0", "::", "0"),
        refused("fc00::1", "ip4", 4)
    );
    assert_eq!(
        value("1.2.3.4", "1.2.3.4", "::", "0"),
        refused("1.2.3.4", "mac", 6)
    );
    assert_eq!(
        value("1.2.3.4", "0:0:0:0:0:0", "1.2.3.4", "0"),
        refused("1.2.3.4", "ip6", 16)
    );
    // a 2-byte integer takes no string, and neither does a 4-byte integer: an IPv4 address
    // there is refused, not packed as its 4 bytes
    assert_eq!(
        value("1.2.3.4", "0:0:0:0:0:0", "::", "'1.2'"),
        refused("1.2", "port", 2)
    );
    let c = every_entry("four", "('10.0.0.1'): (0)");
    assert_eq!(errors(&c), refused("10.0.0.1", "__u32", 4));
}

/// A chain's ID needs a 4-byte field: a chain named in another one is refused.
#[test]
fn a_chain_name_needs_a_four_byte_field() {
    let c = every_entry(
        "m",
        "(0, 0, 0, 0, 0, 0, 0, 0): ('1.2.3.4', '0:0:0:0:0:0', '::', c, c)",
    );
    assert_eq!(
        errors(&c),
        vec!["map-chain-field: a chain ID needs a 4-byte field; `port` has 2"]
    );
    assert_eq!(c.diagnostics[0].label.as_deref(), Some("chain name here"));
}

/// A plain key or value type is one field, its size telling the integer type when its name
/// does not: `struct two_bytes` is a u16, `__s8` is signed.
#[test]
fn plain_types_are_one_integer_field() {
    let c = every_entry("odd", "(65535): (-128)");
    assert_eq!(errors(&c), Vec::<String>::new());
    let p = c.output.expect("compiles");
    assert_eq!(
        (p.map_entries[0].key.clone(), p.map_entries[0].value.clone()),
        (vec![0xff, 0xff], vec![0x80])
    );
    assert_eq!(
        errors(&every_entry("odd", "(65536): (0)")),
        vec!["map-value-range: 65536 does not fit field `struct two_bytes` (2 bytes)"]
    );
    assert_eq!(
        errors(&every_entry("odd", "(0): (128)")),
        vec!["map-value-range: 128 does not fit field `__s8` (1 bytes)"]
    );
}

/// An array's key is an index below its number of entries; the message says how many.
#[test]
fn array_keys_stay_below_the_number_of_entries() {
    assert_eq!(
        errors(&every_entry("one", "(0): (7)")),
        Vec::<String>::new()
    );
    assert_eq!(
        errors(&every_entry("one", "(1): (7)")),
        vec!["map-index: index 1 is past the end of `one` (1 entry)"]
    );
    assert_eq!(
        errors(&every_entry("four", "(3): (7)")),
        Vec::<String>::new()
    );
    assert_eq!(
        errors(&every_entry("four", "(4): (7)")),
        vec!["map-index: index 4 is past the end of `four` (4 entries)"]
    );
    let p = every_entry("four", "(3): (7)").output.expect("compiles");
    assert_eq!(
        (p.map_entries[0].key.clone(), p.map_entries[0].value.clone()),
        (vec![3, 0, 0, 0], vec![7, 0, 0, 0])
    );
}

/// A tuple with the wrong number of fields names the fields and the type; a value that is no
/// constant, chain or string is refused as such, and an unknown name gets a suggestion.
#[test]
fn map_tuples_of_the_wrong_shape_or_content() {
    let c = every_entry("m", "(0): (1)");
    let d = &c.diagnostics[0];
    assert_eq!(
        (d.code, d.message.as_str()),
        (
            "map-tuple-size",
            "the key of `m` has 8 field(s), this tuple has 1"
        )
    );
    assert_eq!(
        d.label.as_deref(),
        Some("expected (a_u8, a_s8, a_u16, a_s16, a_u32, a_s32, a_u64, a_s64)")
    );
    assert_eq!(
        d.help.as_deref(),
        Some("the key type is `struct every_key`")
    );
    let c = every_entry("four", "(0): (1, 2)");
    assert_eq!(
        errors(&c),
        vec!["map-tuple-size: the value of `four` has 1 field(s), this tuple has 2"]
    );
    let c = every_entry("four", "(0): (hike_pass())");
    assert_eq!(
        errors(&c),
        vec!["map-bad-value: a map entry holds constants, chain names or address strings"]
    );
    assert_eq!(c.diagnostics[0].label.as_deref(), Some("not a constant"));
    let c = every_entry("four", "(0): (hike_pas)");
    assert_eq!(errors(&c), vec!["unknown-name: unknown name `hike_pas`"]);
    assert_eq!(
        c.diagnostics[0].help.as_deref(),
        Some("did you mean `hike_pass`?")
    );
    assert_eq!(
        c.diagnostics[0].label.as_deref(),
        Some("not a chain or a constant")
    );
}

// ---- attach requests ----

/// `L.attach(...)` lines (after the imports) compiled with a chain `c`.
fn with_attach(lines: &str) -> eclat::Compilation {
    compile(&attach_src(lines))
}

fn attach_src(lines: &str) -> String {
    format!(
        "from programs.hike_default import hike_pass\n\
         from loaders.hike_default import ip6_simple_classifier, ip6_dst_classifier\n\
         {lines}\ndef c():\n    hike_pass()\n"
    )
}

/// Every spelling of an attach mode gives its `ip link` name; without a mode it is `xdp`.
#[test]
fn attach_modes_and_their_aliases() {
    for (given, mode) in [
        ("", "xdp"),
        (", 'xdp'", "xdp"),
        (", 'xdpgeneric'", "xdpgeneric"),
        (", 'skb'", "xdpgeneric"),
        (", 'generic'", "xdpgeneric"),
        (", 'xdpdrv'", "xdpdrv"),
        (", 'drv'", "xdpdrv"),
        (", 'native'", "xdpdrv"),
        (", 'xdpoffload'", "xdpoffload"),
        (", 'offload'", "xdpoffload"),
    ] {
        let c = with_attach(&format!("ip6_simple_classifier.attach('eth0'{given})"));
        let p = c
            .output
            .as_ref()
            .unwrap_or_else(|| panic!("{given}: {:?}", errors(&c)));
        let a = &p.attach[0];
        assert_eq!(
            (a.device.as_str(), a.mode.as_str(), a.loader.as_str()),
            ("eth0", mode, "ip6_simple_classifier"),
            "{given}"
        );
        assert_eq!(a.package, "hike_default");
    }
}

/// What `attach` refuses: arguments that are not one or two strings, a name that cannot be
/// an interface's, and the same loader attached twice to one device.
#[test]
fn attach_arguments_that_are_refused() {
    let bad_attach = "bad-attach: `attach` takes a device name and a mode, as strings";
    for args in ["", "eth0", "'eth0', xdp", "'eth0', 'xdp', 'xdp'"] {
        let c = with_attach(&format!("ip6_simple_classifier.attach({args})"));
        assert_eq!(errors(&c), vec![bad_attach], "attach({args})");
        assert_eq!(
            c.diagnostics[0].help.as_deref(),
            Some(
                "write `ip6_simple_classifier.attach('DEVNAME', 'xdp')` and run with `-D DEVNAME=eth0`"
            )
        );
    }
    let fifteen = "a23456789012345";
    assert!(
        with_attach(&format!("ip6_simple_classifier.attach('{fifteen}')"))
            .output
            .is_some()
    );
    for dev in ["", "a234567890123456", "a/b", "a b"] {
        let c = with_attach(&format!("ip6_simple_classifier.attach('{dev}', 'xdp')"));
        assert_eq!(
            errors(&c),
            vec![format!("bad-device: '{dev}' is not an interface name")],
            "{dev:?}"
        );
    }
    let c = with_attach(
        "ip6_simple_classifier.attach('eth0')\nip6_simple_classifier.attach('eth0', 'xdpdrv')",
    );
    assert_eq!(
        errors(&c),
        vec!["double-attach: `ip6_simple_classifier` is attached to 'eth0' twice"]
    );
    assert_eq!(
        c.diagnostics[0].span.start,
        c.diagnostics[0].labels[0].span.start + 37
    );
    assert_eq!(c.diagnostics[0].labels[0].message, "first attached here");
    // another device, or another loader on the same device, is no double attach
    let c = with_attach(
        "ip6_simple_classifier.attach('eth0')\nip6_simple_classifier.attach('eth1')\nip6_dst_classifier.attach('eth0')",
    );
    let devices: Vec<(String, String)> = c
        .output
        .expect("compiles")
        .attach
        .iter()
        .map(|a| (a.loader.clone(), a.device.clone()))
        .collect();
    assert_eq!(devices.len(), 3);
    let c = with_attach("ip6_simple_classifier.attach('eth0', 'tc')");
    assert_eq!(errors(&c), vec!["bad-mode: unknown attach mode 'tc'"]);
    let src = attach_src("ip6_simple_classifier.attach('eth0', 'tc')");
    let span = c.diagnostics[0].span;
    assert_eq!(&src[span.start..span.end], "'tc'");
}

// ---- the lexer: every literal and symbol ----

/// The tokens of `src` (no `-D`) as `text of the span = token`, and the diagnostics as
/// `code text-of-span: message`.
fn lexed(src: &str) -> (Vec<String>, Vec<String>) {
    let (toks, d) = lex(src, &[]);
    let toks = toks
        .iter()
        .map(|t| format!("{}={}", &src[t.span.start..t.span.end], t.tok))
        .collect();
    let d = d
        .iter()
        .map(|d| {
            format!(
                "{} {}: {}",
                d.code,
                &src[d.span.start..d.span.end],
                d.message
            )
        })
        .collect();
    (toks, d)
}

/// Every operator and punctuation mark is one token, the longest that matches.
#[test]
fn every_symbol_is_one_token() {
    let syms = [
        "<<=", ">>=", "<<", ">>", "<=", ">=", "==", "!=", "+=", "-=", "*=", "/=", "%=", "&=", "|=",
        "^=", "->", "**", "+", "-", "*", "/", "%", "&", "|", "^", "~", "<", ">", "=", "(", ")",
        "[", "]", "{", "}", ",", ":", ";", ".",
    ];
    let src = syms.join(" ");
    let (toks, d) = lexed(&src);
    assert!(d.is_empty(), "{d:?}");
    let mut want: Vec<String> = syms.iter().map(|s| format!("{s}=`{s}`")).collect();
    want.extend(["=end of line".to_string(), "=end of file".to_string()]);
    assert_eq!(toks, want);
    // glued together, the longest match wins
    let (toks, _) = lexed("a<<=b>>c**d->e");
    assert_eq!(
        toks[..9],
        [
            "a=name `a`",
            "<<==`<<=`",
            "b=name `b`",
            ">>=`>>`",
            "c=name `c`",
            "**=`**`",
            "d=name `d`",
            "->=`->`",
            "e=name `e`"
        ]
    );
}

/// Characters that are no token: each reported once with its own help, and lexing goes on.
#[test]
fn characters_that_are_no_token() {
    let (toks, d) = lexed("a ! b $ c é d && e || f");
    assert_eq!(
        d,
        [
            "unexpected-character !: unexpected character `!`",
            "unexpected-character $: unexpected character `$`",
            "unexpected-character é: unexpected character `\\u{e9}`",
            "c-operator &&: `&&` is C",
            "c-operator ||: `||` is C",
        ]
    );
    let names = toks.iter().filter(|t| t.contains("=name")).count();
    assert_eq!(names, 6, "{toks:?}");
    assert!(toks.contains(&"&&=`and`".to_string()) && toks.contains(&"||=`or`".to_string()));
    let (_, d) = lex("a ! b $ c", &[]);
    assert_eq!(
        d[0].help.as_deref(),
        Some("eCLAT writes logical negation as `not x`")
    );
    assert_eq!(d[1].help, None);
    let (_, d) = lex("a && b", &[]);
    assert_eq!(d[0].label.as_deref(), Some("eCLAT writes `and`"));
    assert_eq!(
        d[0].help.as_deref(),
        Some("write `and` (Python's logical operators)")
    );
}

/// Integers: the largest that fits 64 bits in each radix, one past it, and malformed ones,
/// each with its own message and the whole literal as its span.
#[test]
fn integer_literals_at_their_limits() {
    let (toks, d) = lexed(
        "18446744073709551615 0xFFFF_ffff_FFFF_ffff 0B1 0o1_7 18446744073709551616 0x1_0000_0000_0000_0000 0x 0b12 0o8 12ab 0",
    );
    assert_eq!(
        toks[..4],
        [
            "18446744073709551615=number `18446744073709551615`",
            "0xFFFF_ffff_FFFF_ffff=number `18446744073709551615`",
            "0B1=number `1`",
            "0o1_7=number `15`",
        ]
    );
    assert_eq!(
        d,
        [
            "bad-number 18446744073709551616: number `18446744073709551616` does not fit in 64 bits",
            "bad-number 0x1_0000_0000_0000_0000: number `0x1_0000_0000_0000_0000` does not fit in 64 bits",
            "bad-number 0x: invalid number `0x`",
            "bad-number 0b12: invalid number `0b12`",
            "bad-number 0o8: invalid number `0o8`",
            "bad-number 12ab: invalid number `12ab`",
        ]
    );
    // each bad number is read as 0, so that parsing goes on
    assert_eq!(
        toks.iter().filter(|t| t.ends_with("=number `0`")).count(),
        7
    );
}

/// Floating-point literals of every form are refused, each as a whole; `1e`, `x.y` and `.`
/// are no floats.
#[test]
fn float_literals_of_every_form() {
    let (toks, d) = lexed("1.5 .5 2. 1e3 1e-3 1E+3 1_0.2_5 1.e5 1e x.y a.5");
    let floats: Vec<&str> = d
        .iter()
        .filter_map(|d| d.strip_prefix("float-literal "))
        .map(|d| d.split(':').next().unwrap())
        .collect();
    assert_eq!(
        floats,
        [
            "1.5", ".5", "2.", "1e3", "1e-3", "1E+3", "1_0.2_5", "1.e5", ".5"
        ]
    );
    assert!(
        d.contains(&"bad-number 1e: invalid number `1e`".to_string()),
        "{d:?}"
    );
    assert!(toks.contains(&".=`.`".to_string()), "x.y: {toks:?}");
    let (_, d) = lex("2.", &[]);
    assert_eq!(
        d[0].message,
        "`2.` is a floating-point number: eBPF has no floating point"
    );
    assert_eq!(d[0].label.as_deref(), Some("not an integer"));
}

/// Strings in either quote, the other quote inside, triple-quoted over several lines, and
/// unterminated ones (at the end of the line, of the file, of a triple quote).
#[test]
fn string_literals_of_every_form() {
    let (toks, d) = lexed("'a\"b' \"c'd\" '' '''x\ny''' \"\"\"z\"\"\"\n");
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(
        toks[..5],
        [
            "'a\"b'=string 'a\"b'",
            "\"c'd\"=string 'c'd'",
            "''=string ''",
            "'''x\ny'''=string 'x\ny'",
            "\"\"\"z\"\"\"=string 'z'",
        ]
    );
    let (toks, d) = lexed("x = 'abc\ny = \"de");
    assert_eq!(
        d,
        [
            "unterminated-string 'abc: unterminated string",
            "unterminated-string \"de: unterminated string",
        ]
    );
    assert!(toks.contains(&"'abc=string 'abc'".to_string()), "{toks:?}");
    assert!(
        toks.contains(&"y=name `y`".to_string()),
        "the next line is lexed: {toks:?}"
    );
    let (_, d) = lex("x = \"de", &[]);
    assert_eq!(
        d[0].help.as_deref(),
        Some("close it with \" on the same line")
    );
    let (toks, d) = lexed("x = '''abc\n\ndef");
    assert_eq!(
        d,
        ["unterminated-string ''': unterminated triple-quoted string"]
    );
    assert_eq!(toks[2], "'''abc\n\ndef=string 'abc\n\ndef'");
}

/// After an unterminated string, the brackets opened on its line are forgotten (the string
/// swallowed their closing ones) and the brackets of earlier lines are kept.
#[test]
fn an_unterminated_string_forgets_only_its_own_line_s_brackets() {
    let newlines = |toks: &[String]| toks.iter().filter(|t| t.ends_with("end of line")).count();
    // line 1's `(` is still open after line 2's string: line 3's `)` closes it, and the three
    // lines are one statement
    let (toks, d) = lexed("f(1,\n  'abc\n)\n");
    assert_eq!(d, ["unterminated-string 'abc: unterminated string"]);
    assert_eq!(newlines(&toks), 1, "{toks:?}");
    // a `(` at the very start of the string's line is forgotten with it
    let (toks, d) = lexed("f(1,\n(2, 'abc\n)\n");
    assert_eq!(d, ["unterminated-string 'abc: unterminated string"]);
    assert_eq!(newlines(&toks), 1, "{toks:?}");
    // with no bracket open before it, the string's line ends the statement
    let (toks, d) = lexed("x = f(1, 'abc\ny = 2\n");
    assert_eq!(d, ["unterminated-string 'abc: unterminated string"]);
    assert_eq!(newlines(&toks), 2, "{toks:?}");
}

/// `ok` in the report is "there is a program and no error": a compilation without a program
/// is not ok even with no diagnostic, nor one with a program and an error.
#[test]
fn the_report_is_ok_only_with_a_program_and_no_error() {
    let src = "from programs.hike_default import hike_pass\ndef c():\n    hike_pass()\n";
    let compiled = compile(src);
    assert!(compiled.report(src, "t.eclat").ok);
    let no_program = eclat::Compilation {
        output: None,
        diagnostics: vec![],
    };
    let r = no_program.report(src, "t.eclat");
    assert_eq!((r.ok, r.errors, r.warnings), (false, 0, 0));
    let error = eclat::Diagnostic::error("syntax", eclat::Span::new(0, 4), "x");
    let warning = eclat::Diagnostic::warning("no-effect", eclat::Span::new(0, 4), "y");
    let with_error = eclat::Compilation {
        output: compiled.output.clone(),
        diagnostics: vec![warning.clone(), error, warning],
    };
    let r = with_error.report(src, "t.eclat");
    assert_eq!((r.ok, r.errors, r.warnings), (false, 1, 2));
}

/// A chain's variables: 4 in registers and 16 on the stack fit, a 21st does not.
#[test]
fn twenty_variables_fit_and_a_twenty_first_does_not() {
    let chain = |n: usize| {
        let decls: String = (0..n).map(|i| format!("    u64 : v{i} = {i}\n")).collect();
        compile(&format!(
            "from programs.hike_default import hike_pass\ndef c():\n{decls}    hike_pass()\n"
        ))
    };
    let c = chain(20);
    assert_eq!(errors(&c), Vec::<String>::new());
    let c = chain(21);
    assert_eq!(
        errors(&c),
        vec![
            "too-many-variables: chain `c` has 21 variables; 4 fit in registers and 16 on the stack"
        ]
    );
    assert_eq!(
        c.diagnostics[0].help.as_deref(),
        Some("reuse variables, or split the chain")
    );
}

/// The parser's nesting limit (64 levels) at its edge, for each way of nesting: the deepest
/// accepted and one more refused with `too-deep` (the chain's body and the `return` take the
/// first levels).
#[test]
fn nesting_is_refused_one_level_past_the_limit() {
    let first_refused = |make: &dyn Fn(usize) -> String| {
        (1..200)
            .find_map(|n| {
                let c = compile(&make(n));
                let d = c.diagnostics.iter().find(|d| d.code == "too-deep")?;
                Some((n, d.message.clone()))
            })
            .unwrap()
    };
    let parens = |n: usize| format!("def c():\n    return {}1{}\n", "(".repeat(n), ")".repeat(n));
    let nots = |n: usize| format!("def c():\n    return {}1\n", "not ".repeat(n));
    let negs = |n: usize| format!("def c():\n    return {}1\n", "-".repeat(n));
    let inverts = |n: usize| format!("def c():\n    return {}1\n", "~".repeat(n));
    let sums = |n: usize| format!("def c():\n    return {}\n", vec!["1"; n + 1].join(" + "));
    let ors = |n: usize| format!("def c():\n    return {}\n", vec!["1"; n + 1].join(" or "));
    let ands = |n: usize| format!("def c():\n    return {}\n", vec!["1"; n + 1].join(" and "));
    let blocks = |n: usize| {
        let mut s = String::from("def c():\n");
        for i in 0..n {
            s.push_str(&format!("{}if 1:\n", " ".repeat(4 * (i + 1))));
        }
        s + &format!("{}return 1\n", " ".repeat(4 * (n + 1)))
    };
    let got: Vec<(usize, String)> = [
        &parens as &dyn Fn(usize) -> String,
        &nots,
        &negs,
        &inverts,
        &sums,
        &ors,
        &ands,
        &blocks,
    ]
    .iter()
    .map(|m| first_refused(*m))
    .collect();
    let deeply = "expression nested too deeply";
    let long = "expression nested too deeply or too long";
    // a block's header holds an expression, which reaches the limit first
    let want = [deeply, deeply, deeply, deeply, long, long, long, deeply];
    let want: Vec<(usize, String)> = want.iter().map(|m| (63, m.to_string())).collect();
    assert_eq!(got, want);
}

// ---- the checker ----

/// An unsigned value compared with a negative number (any order but `==`/`!=`), or `< 0` /
/// `>= 0`, is warned about, with the constant on either side; a signed one never is.
#[test]
fn unsigned_comparisons_that_are_always_the_same_are_warned() {
    let warns = |ty: &str, cond: &str| {
        let c = compile(&format!(
            "from programs.hike_default import hike_pass, lse\ndef c():\n    {ty} : x = lse()\n    \
             if {cond}:\n        pass\n    hike_pass()\n"
        ));
        assert!(!c.has_errors(), "{cond}: {:?}", errors(&c));
        count(&c, "unsigned-negative-compare") == 1
    };
    for (cond, warned) in [
        ("x < -1", true),
        ("x <= -1", true),
        ("x > -1", true),
        ("x >= -1", true),
        ("x == -1", false),
        ("x != -1", false),
        ("x < 0", true),
        ("x >= 0", true),
        ("x <= 0", false),
        ("x > 0", false),
        ("x == 0", false),
        ("x < 1", false),
        ("x >= 1", false),
        ("0 > x", true),
        ("0 <= x", true),
        ("0 < x", false),
        ("0 >= x", false),
        ("-1 < x", true),
        ("-1 == x", false),
    ] {
        assert_eq!(warns("u64", cond), warned, "u64 : x, {cond}");
        assert!(!warns("s64", cond), "s64 : x, {cond}");
    }
    let c = compile(
        "from programs.hike_default import hike_pass, lse\ndef c():\n    u64 : x = lse()\n    \
         if x < 0:\n        pass\n    hike_pass()\n",
    );
    let d = &c.diagnostics[0];
    assert_eq!(d.message, "an unsigned value is never below zero");
    assert_eq!(
        d.label.as_deref(),
        Some("unsigned comparison (a negative number here is a huge positive one)")
    );
}

/// After an `if`, a variable is declared when every branch that goes on declares it: a
/// branch that returns or ends with a final program does not go on, one that ends with
/// another program does; without `else`, the way around the `if` goes on too.
#[test]
fn a_variable_after_an_if_is_declared_by_every_branch_that_goes_on() {
    let after_if = |branches: &str| {
        let c = compile(&format!(
            "from programs.hike_default import hike_pass, hike_drop, monitor, lse\n\
             def c():\n    u64 : t = lse()\n{branches}    monitor(v)\n    hike_pass()\n"
        ));
        let mut e = codes(&c);
        e.retain(|code| *code != "no-final-program");
        e
    };
    let declared = Vec::<&str>::new();
    let not_everywhere = vec!["declared-in-block"];
    let decl = "u64 : v = 1";
    for (branches, want) in [
        (
            format!("    if t:\n        {decl}\n    else:\n        {decl}\n"),
            &declared,
        ),
        (format!("    if t:\n        {decl}\n"), &not_everywhere),
        (
            format!(
                "    if t:\n        {decl}\n    elif t > 5:\n        {decl}\n    else:\n        {decl}\n"
            ),
            &declared,
        ),
        (
            format!(
                "    if t:\n        {decl}\n    elif t > 5:\n        pass\n    else:\n        {decl}\n"
            ),
            &not_everywhere,
        ),
        (
            format!("    if t:\n        return 0\n    else:\n        {decl}\n"),
            &declared,
        ),
        (
            format!("    if t:\n        hike_drop()\n    else:\n        {decl}\n"),
            &declared,
        ),
        (
            format!("    if t:\n        hike_drop()\n    {decl}\n"),
            &declared,
        ),
        (
            format!("    if t:\n        monitor(1)\n    else:\n        {decl}\n"),
            &not_everywhere,
        ),
        (
            format!(
                "    if t:\n        {decl}\n    elif t > 5:\n        return 1\n    else:\n        {decl}\n"
            ),
            &declared,
        ),
        (
            format!("    if t:\n        return 0\n    {decl}\n"),
            &declared,
        ),
        (format!("    while t:\n        {decl}\n"), &not_everywhere),
        (
            format!("    for i in range(2):\n        {decl}\n"),
            &not_everywhere,
        ),
    ] {
        assert_eq!(&after_if(&branches), want, "{branches}");
    }
}

/// A map entry's integers are constant expressions, folded with the VM's semantics: every
/// operator, comparisons, `and`/`or` (0 or 1), named constants and `True`/`False`.
#[test]
fn map_entry_integers_are_folded_constant_expressions() {
    let value_of = |expr: &str| {
        let src = format!(
            "from programs.hike_default import hike_pass\nfrom loaders.t import every\n\
             BASE = 40\nON = True\nOFF = False\nNEG = -2\n\
             every[four] = {{ (0): ({expr}) }}\ndef c():\n    hike_pass()\n"
        );
        let c = eclat::compile(&src, "t.eclat", &every_field_catalog(), &[]);
        let p = c
            .output
            .as_ref()
            .unwrap_or_else(|| panic!("{expr}: {:?}", errors(&c)));
        u32::from_le_bytes(p.map_entries[0].value[..4].try_into().unwrap())
    };
    for (expr, want) in [
        ("BASE + 2", 42),
        ("BASE - 2", 38),
        ("BASE * 3", 120),
        ("BASE / 3", 13),
        ("BASE % 3", 1),
        ("BASE / 0", 0),
        ("BASE % 0", 40),
        ("BASE << 2", 160),
        ("BASE >> 2", 10),
        ("BASE & 12", 8),
        ("BASE | 3", 43),
        ("BASE ^ 8", 32),
        ("-NEG", 2),
        ("~NEG", 1),
        ("not BASE", 0),
        ("BASE == 40", 1),
        ("BASE != 40", 0),
        ("BASE < 41", 1),
        ("BASE <= 39", 0),
        ("BASE > 39", 1),
        ("BASE >= 41", 0),
        ("NEG < 0", 0),
        ("ON", 1),
        ("OFF", 0),
        ("True", 1),
        ("False", 0),
        ("True + True", 2),
        ("ON and BASE", 1),
        ("OFF and BASE", 0),
        ("ON and OFF", 0),
        ("OFF or BASE", 1),
        ("OFF or OFF", 0),
        ("ON or OFF", 1),
        ("(BASE + 2) * 2", 84),
    ] {
        assert_eq!(value_of(expr), want, "{expr}");
    }
}

// ---- the parser: the rarer forms ----

/// Imports in parentheses (over several lines, with a trailing comma), several simple
/// statements on one line (`;`, a trailing one too), a body on the `if` line, unary `+`,
/// lower-case booleans, `pass`, `>=`, `~`: each parsed to the tree it means.
#[test]
fn the_rarer_syntax_forms_parse_to_what_they_mean() {
    let a = ast_of(
        "from programs.hike_default import (hike_pass,\n    monitor,\n)\n\
         from programs.hike_default import (hike_drop)\n\
         def c():\n    u64 : x = +1; x += 2;\n    if x >= ~0: pass\n    \
         elif x: x = true\n    else: x = false\n    pass\n",
    );
    assert!(
        a.contains("(import Programs hike_default [hike_pass monitor])"),
        "{a}"
    );
    assert!(
        a.contains("(import Programs hike_default [hike_drop])"),
        "{a}"
    );
    assert!(a.contains("(decl u64 x 1)\n  (+= x 2)"), "{a}");
    assert!(a.contains("(>= x (~ 0))"), "{a}");
    assert!(a.contains("(elif x\n    (= x true)\n  )"), "{a}");
    assert!(
        a.contains("(else\n    (= x false)\n  )\n  (pass)\n)"),
        "{a}"
    );
    assert!(a.contains("(if (>= x (~ 0))\n    (pass)\n  )"), "{a}");
    // and the tree is the same whichever way the import is written
    let one_line = ast_of("from programs.hike_default import hike_pass, monitor\n");
    let in_parens = ast_of("from programs.hike_default import (\n  hike_pass, monitor)\n");
    assert_eq!(one_line, in_parens);
}

/// The tree of a script with broken lines keeps a place for them: the names of a broken
/// import (so that their uses are not reported again) and the name of a broken `def`.
#[test]
fn broken_items_keep_their_names_in_the_tree() {
    let (t, mut d) = lex(
        "from programs.hike_default import hike_pass monitor\ndef c(:\n    pass\n",
        &[],
    );
    let m = eclat::parser::parse(&t, &mut d);
    assert!(d.iter().all(|d| d.is_error()), "{d:?}");
    let a = eclat::ast::dump(&m);
    assert!(
        a.contains("(broken-import [programs hike_default hike_pass monitor])"),
        "{a}"
    );
    assert!(a.contains("(broken-def c)"), "{a}");
}

/// Without a loader and with no chain that no other calls (a loop of chains), `test` asks
/// for a chain among all of them; a script with no chain has nothing to test.
#[test]
fn the_test_entry_of_a_loop_of_chains_and_of_no_chain() {
    use eclat::TestEntryError;
    let looped = compile(
        "from programs.hike_default import hike_pass\ndef a():\n    b()\n    hike_pass()\n\
         def b():\n    a()\n    hike_pass()\n",
    )
    .output
    .expect("compiles");
    assert_eq!(looped.entry_chains(), Vec::<usize>::new());
    assert_eq!(
        looped.test_entry(None),
        Err(TestEntryError::SeveralEntries {
            entries: vec!["a".into(), "b".into()]
        })
    );
    let empty = compile("X = 1\n").output.expect("compiles");
    assert_eq!(empty.test_entry(None), Err(TestEntryError::NoChain));
    assert_eq!(
        empty.test_entry(None).unwrap_err().to_string(),
        "the script defines no chain"
    );
}

/// Linking: program IDs below 256 and chain IDs with the chain flag below 2^31 are taken,
/// the next ones refused; the bytes of a chain are its instructions, 8 bytes each, and the
/// linked chain's differ only in the patched IDs.
#[test]
fn linking_takes_ids_up_to_their_limits() {
    let p = compile("from programs.hike_default import hike_pass\ndef c():\n    hike_pass()\n")
        .output
        .expect("compiles");
    let flag = hike::FIRST_CHAIN_ID;
    let linked = p.link(&[0x7fff_ffff], &|_, _| Some(255)).expect("links");
    assert_eq!(linked.chains[0].id, 0x7fff_ffff);
    assert!(matches!(
        p.link(&[0x8000_0000 | flag], &|_, _| Some(1)),
        Err(eclat::LinkError::BadChainId { id }) if id == 0x8000_0000 | flag
    ));
    assert!(matches!(
        p.link(&[flag], &|_, _| Some(256)),
        Err(eclat::LinkError::BadProgramId { id: 256, .. })
    ));
    let chain = p.chain("c").expect("chain c");
    assert!(p.chain("d").is_none());
    let bytes = chain.bytes();
    assert_eq!(bytes.len(), 8 * chain.insns.len());
    assert_eq!(bytes[0], chain.insns[0].code);
    let linked_bytes = linked.chains[0].bytes();
    assert_eq!(linked_bytes.len(), bytes.len());
    let differ: Vec<usize> = (0..bytes.len() / 8)
        .filter(|i| bytes[i * 8..i * 8 + 8] != linked_bytes[i * 8..i * 8 + 8])
        .collect();
    assert_eq!(
        differ,
        chain.relocs.iter().map(|r| r.insn).collect::<Vec<_>>()
    );
    assert_eq!(linked.chains[0].insns[differ[0]].imm, 255);
}

/// A `-D` value that lexes to one number, name or boolean is that token; anything else (two
/// tokens, a float, a quoted string) is a string.
#[test]
fn define_values_are_one_token_or_a_string() {
    let tok_of = |value: &str| {
        let defs = vec![("V".to_string(), value.to_string())];
        let (toks, d) = lex("x = V\n", &defs);
        assert!(d.is_empty(), "{value}: {d:?}");
        toks[2].tok.clone()
    };
    assert_eq!(tok_of("7"), Tok::Int(7));
    assert_eq!(tok_of("0x10"), Tok::Int(16));
    assert_eq!(tok_of("eth0"), Tok::Name("eth0".into()));
    assert_eq!(tok_of("True"), Tok::Kw("True"));
    assert_eq!(tok_of("false"), Tok::Kw("false"));
    assert_eq!(tok_of("if"), Tok::Str("if".into()));
    for s in ["1 2", "1.5", "'q'", "a-b", ""] {
        assert_eq!(tok_of(s), Tok::Str(s.into()), "{s:?}");
    }
}

/// `--emit c` writes every operator the C way: `!`, `-`, `~`, `&&`, `||`, booleans as 0/1.
#[test]
fn emit_c_writes_every_operator_the_c_way() {
    let p = compile(
        "from programs.hike_default import hike_pass, monitor\ndef c():\n    u64 : x = 1\n    \
         monitor(not x)\n    monitor(-x)\n    monitor(~x)\n    monitor(x and True)\n    \
         monitor(x or False)\n    hike_pass()\n",
    )
    .output
    .expect("compiles");
    let c = p.emit_c();
    for want in [
        "hike_elem_call_2(HIKE_EBPF_PROG_MONITOR, (!x))",
        "(-x)",
        "(~x)",
        "(x && 1)",
        "(x || 0)",
    ] {
        assert!(c.contains(want), "{want} in\n{c}");
    }
}

/// Scratch registers and the stack at their limits: an expression nested 6 deep fits the 6
/// scratch registers and one nested 7 deep does not; a value held across a call takes a
/// stack slot, which a chain whose 20 variables fill the stack does not have.
#[test]
fn scratch_registers_and_stack_slots_at_their_limits() {
    let nested = |n: usize| {
        let mut e = "x".to_string();
        for _ in 0..n {
            e = format!("x + ({e})");
        }
        errors(&compile(&format!(
            "from programs.hike_default import hike_pass, monitor\ndef c():\n    u64 : x = 1\n    \
             monitor({e})\n    hike_pass()\n"
        )))
    };
    assert_eq!(nested(6), Vec::<String>::new());
    assert_eq!(
        nested(7),
        vec!["too-complex: this expression needs more than 6 scratch registers"]
    );
    let spill = |vars: usize| {
        let decls: String = (0..vars)
            .map(|i| format!("    u64 : v{i} = {i}\n"))
            .collect();
        errors(&compile(&format!(
            "from programs.hike_default import hike_pass, monitor, lse\ndef c():\n{decls}    \
             monitor(v0 + lse())\n    hike_pass()\n"
        )))
    };
    assert_eq!(spill(19), Vec::<String>::new());
    // the slot is given back after the call: the next statement's spill takes it again
    let twice = (0..19)
        .map(|i| format!("    u64 : v{i} = {i}\n"))
        .collect::<String>();
    let c = compile(&format!(
        "from programs.hike_default import hike_pass, monitor, lse\ndef c():\n{twice}    \
         monitor(v0 + lse())\n    monitor(v1 + lse())\n    monitor(v2 + lse())\n    hike_pass()\n"
    ));
    assert_eq!(errors(&c), Vec::<String>::new());
    assert_eq!(
        spill(20),
        vec!["stack-exhausted: the chain's 128-byte stack is full here"]
    );
}

/// The drop-by-default warning follows final programs wherever they are called: in a
/// condition, a returned value, an assignment, a `while` condition, a later `elif`; and it
/// names the way that ends without one.
#[test]
fn final_programs_end_the_way_wherever_they_are_called() {
    let notes = |body: &str| {
        let c = compile(&format!(
            "from programs.hike_default import hike_pass, hike_drop, monitor, lse\n\
             def c():\n    u64 : t = lse()\n{body}"
        ));
        assert!(!c.has_errors(), "{body}: {:?}", errors(&c));
        c.diagnostics
            .iter()
            .filter(|d| d.code == "no-final-program")
            .map(|d| d.notes.join(" "))
            .collect::<Vec<String>>()
    };
    let none = Vec::<String>::new();
    for body in [
        "    if hike_drop() == 1:\n        monitor(1)\n",
        "    return hike_pass()\n",
        "    u64 : x = hike_pass()\n",
        "    t += hike_drop()\n",
        "    while hike_pass():\n        monitor(1)\n",
        "    if t:\n        hike_pass()\n    elif hike_drop():\n        monitor(2)\n",
        "    if t:\n        return hike_drop()\n    hike_pass()\n",
    ] {
        assert_eq!(notes(body), none, "{body}");
    }
    let falls_off = |when: &str| {
        format!(
            "when {when}, the chain falls off its end without a verdict: the VM drops the packet (XDP_ABORTED)"
        )
    };
    assert_eq!(
        notes("    while t:\n        t -= 1\n"),
        vec![
            falls_off("`while t` is false at once"),
            falls_off("`while t` runs its body, then `while t` ends")
        ]
    );
    assert_eq!(
        notes("    while t:\n        hike_pass()\n"),
        vec![falls_off("`while t` is false at once")]
    );
    assert_eq!(
        notes("    if t:\n        hike_pass()\n    elif t > 2:\n        hike_drop()\n"),
        vec![falls_off("`if t` is false, then `elif t > 2` is false")]
    );
    assert_eq!(
        notes("    if t:\n        hike_pass()\n    else:\n        monitor(1)\n"),
        vec![falls_off("`if t` is false")]
    );
}

/// An assignment from a variable whose type always fits the target (same signedness and no
/// wider, unsigned into a wider signed type, anything into 64 bits) costs no truncation
/// instruction; every other one does.
#[test]
fn assignments_that_always_fit_cost_no_truncation() {
    let types = ["u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64"];
    let insns = |from: &str, to: &str| {
        let c = compile(&format!(
            "from programs.hike_default import hike_pass, monitor\ndef c():\n    \
             {from} : a = Packet.readU8(0)\n    {to} : b = a\n    monitor(b)\n    hike_pass()\n"
        ));
        c.output.expect("compiles").chains[0].insns.len()
    };
    for from in types {
        let base = insns(from, "u64");
        for to in types {
            let (fb, tb): (u32, u32) = (from[1..].parse().unwrap(), to[1..].parse().unwrap());
            let (fs, ts) = (from.starts_with('s'), to.starts_with('s'));
            let fits = tb == 64 || (fs == ts && fb <= tb) || (!fs && ts && fb < tb);
            let extra = insns(from, to) - base;
            assert_eq!(
                extra == 0,
                fits,
                "{from} into {to}: {extra} more instructions"
            );
        }
    }
    // a comparison is 0 or 1: it fits every type
    let cmp = |to: &str| {
        let c = compile(&format!(
            "from programs.hike_default import hike_pass, monitor\ndef c():\n    \
             u64 : a = Packet.readU8(0)\n    {to} : b = a == 1\n    monitor(b)\n    hike_pass()\n"
        ));
        c.output.expect("compiles").chains[0].insns.len()
    };
    for to in types {
        assert_eq!(cmp(to), cmp("u64"), "a comparison into {to}");
    }
}

/// "Did you mean": names of 3 characters or more get the closest known name within a third
/// of their length (at least 1) of edits; shorter names get no suggestion.
#[test]
fn suggestions_stay_within_a_third_of_the_name() {
    let help = |chain: &str, call: &str| {
        let c = compile(&format!(
            "from programs.hike_default import hike_pass\ndef {chain}():\n    hike_pass()\n\
             def main():\n    {call}()\n    hike_pass()\n"
        ));
        let d = c
            .diagnostics
            .iter()
            .find(|d| d.code == "unknown-function")
            .expect("unknown-function");
        d.help.clone()
    };
    let meant = |s: &str| Some(format!("did you mean `{s}`?"));
    assert_eq!(help("ab", "ax"), None, "2 characters: no suggestion");
    assert_eq!(help("abc", "abx"), meant("abc"));
    assert_eq!(help("abc", "axx"), None, "3 characters: 1 edit at most");
    assert_eq!(help("abcdef", "abcdxx"), meant("abcdef"));
    assert_eq!(
        help("abcdef", "abcxxx"),
        None,
        "6 characters: 2 edits at most"
    );
    assert_eq!(help("abcdef", "abcdefgh"), meant("abcdef"));
    assert_eq!(
        help("abcdef", "bcdef"),
        meant("abcdef"),
        "a deletion is one edit"
    );
    // every character added or removed counts
    assert_eq!(help("abc", "abcxxxxxx"), None);
    assert_eq!(help("abcxxxxxx", "abc"), None);
    assert_eq!(
        help("abcdef", "xxxxabcdef"),
        None,
        "10 characters: 3 edits at most"
    );
    assert_eq!(help("abcdef", "xxxabcdef"), meant("abcdef"));
    // the closest wins, whatever the order
    assert_eq!(help("abcdxy", "abcdef"), meant("abcdxy"));
    let c = compile(
        "from programs.hike_default import hike_pass\ndef abcdxy():\n    hike_pass()\n\
         def abcdey():\n    hike_pass()\ndef main():\n    abcdef()\n    hike_pass()\n",
    );
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.code == "unknown-function")
        .unwrap();
    assert_eq!(d.help, meant("abcdey"));
}

/// Line ends and indentation: `\r\n` lines, form feeds and `\r` in the indentation, blank
/// and comment-only lines at any indentation: the same tokens as plain `\n` lines.
#[test]
fn line_ends_and_blank_lines_do_not_change_the_tokens() {
    let kinds = |src: &str| {
        let (toks, d) = lex(src, &[]);
        assert!(d.is_empty(), "{src:?}: {d:?}");
        toks.iter().map(|t| t.tok.to_string()).collect::<Vec<_>>()
    };
    let plain = kinds("def c():\n    if x:\n        pass\n    pass\n");
    for src in [
        "def c():\r\n    if x:\r\n        pass\r\n    pass\r\n",
        "def c():\n\x0c    if x:\n    \x0c    pass\n    pass\n",
        "def c():\n    if x:\n\r        pass\n    pass\n",
        "def c():\n\n        \n    if x:\n  # a comment\n        pass\n\n    pass\n",
        "def c():\n    if x:\n        pass\n    pass",
        "def c():\n    if x:\n        pass\n    pass\n\n\n",
    ] {
        assert_eq!(kinds(src), plain, "{src:?}");
    }
    // a tab is 4 columns: these lines are at the same indentation
    assert_eq!(kinds("def c():\n\tif x:\n\t    pass\n\tpass\n"), plain);
    assert_eq!(
        kinds("def c():\n  \tif x:\n    \t    pass\n  \tpass\n"),
        plain
    );
}

/// Inside brackets lines continue, but a line starting with `def ` or `from ` cannot: the
/// brackets are closed there and reported, and that line is read as the start of an item.
#[test]
fn a_def_or_from_line_closes_the_brackets_left_open() {
    for next in [
        "def d():\n    pass\n",
        "from programs.hike_default import hike_pass\n",
    ] {
        let src = format!("def c():\n    hike_pass(1,\n{next}");
        let (toks, d) = lex(&src, &[]);
        let codes: Vec<&str> = d.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["unclosed-bracket"], "{next}");
        assert_eq!(d[0].span.start, src.find("hike_pass(").unwrap() + 9);
        // the line before it is ended, its block closed
        let kinds: Vec<String> = toks.iter().map(|t| t.tok.to_string()).collect();
        let at = (1..kinds.len())
            .find(|&i| kinds[i] == "`def`" || kinds[i] == "`from`")
            .unwrap();
        assert_eq!(
            &kinds[at - 2..at],
            ["end of line", "end of block"],
            "{next}: {kinds:?}"
        );
    }
    // other lines continue the expression
    let (_, d) = lex("def c():\n    hike_pass(1,\ndefine)\n", &[]);
    assert!(d.is_empty(), "{d:?}");
}

/// `--emit c` declares every variable once at the top of its chain, with its C type: those
/// declared in `if`/`elif`/`else` branches, `while` and `for` bodies (and the loop variable),
/// in the order they first appear.
#[test]
fn emit_c_declares_every_variable_at_the_top() {
    let p = compile(
        "from programs.hike_default import hike_pass, monitor, lse\ndef c(u8 : p):\n    \
         s16 : a = lse()\n    if a:\n        u32 : b = 1\n    elif a > 1:\n        u8 : e = 2\n    \
         else:\n        u32 : b = 3\n        u16 : g = 4\n    while a < 3:\n        s32 : w = 1\n        a += w\n    \
         for i in range(2):\n        s8 : f = 1\n        monitor(f)\n    hike_pass()\n",
    )
    .output
    .expect("compiles");
    let c = p.emit_c();
    let head = "HIKE_CHAIN_2(HIKE_CHAIN_C_ID, __u8, p)\n{\n\t__s16 a;\n\t__u32 b;\n\t__u8 e;\n\t\
                __u16 g;\n\t__s32 w;\n\t__u64 i;\n\t__s8 f;\n\n";
    assert!(c.contains(head), "{c}");
}

/// A constant argument for an unsigned parameter must fit its width (a negative one fits
/// only 64 bits); a signed parameter takes any constant, truncated on entry as the chain's
/// prologue does.
#[test]
fn constant_arguments_at_the_edges_of_every_parameter_type() {
    let call = |ty: &str, arg: &str| {
        let c = compile(&format!(
            "from programs.hike_default import hike_pass\ndef a({ty} : p):\n    return p\n\
             def b():\n    a({arg})\n    hike_pass()\n"
        ));
        errors(&c)
    };
    let ok = Vec::<String>::new();
    let refused = |arg: i128, ty: &str| {
        vec![format!(
            "arg-range: {} does not fit parameter `p` of type {ty}",
            arg as u64 as i64
        )]
    };
    for (ty, max) in [("u8", 255i128), ("u16", 65535), ("u32", 4294967295)] {
        assert_eq!(call(ty, &max.to_string()), ok, "{ty} {max}");
        assert_eq!(call(ty, "0"), ok, "{ty} 0");
        assert_eq!(
            call(ty, &(max + 1).to_string()),
            refused(max + 1, ty),
            "{ty}"
        );
        assert_eq!(call(ty, "-1"), refused(-1, ty), "{ty} -1");
    }
    for arg in ["-1", "18446744073709551615", "0x8000000000000000"] {
        assert_eq!(call("u64", arg), ok, "u64 {arg}");
    }
    for ty in ["s8", "s16", "s32", "s64"] {
        for arg in ["-1", "255", "-129", "4294967296", "18446744073709551615"] {
            assert_eq!(call(ty, arg), ok, "{ty} {arg}");
        }
    }
}

/// Each top-level name is defined once, whatever defines it (an import, a constant, a
/// chain, a broken `def`): the second is refused, labelled with what it is, pointing at the
/// first; a name defined once is not.
#[test]
fn top_level_names_are_defined_once() {
    let dup = |src: &str| {
        let c = compile(&format!(
            "from programs.hike_default import hike_pass\n{src}"
        ));
        c.diagnostics
            .iter()
            .filter(|d| d.code == "duplicate-name")
            .map(|d| {
                let first = d.labels[0].span.start;
                format!(
                    "{}: {} (first at {first})",
                    d.message,
                    d.label.as_deref().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
    };
    let none = Vec::<String>::new();
    assert_eq!(dup("def c():\n    hike_pass()\n"), none);
    assert_eq!(
        dup("from programs.hike_default import hike_pass\n"),
        ["`hike_pass` is defined twice: this import (first at 34)"]
    );
    assert_eq!(
        dup("X = 1\nX = 2\n"),
        ["`X` is defined twice: this constant (first at 44)"]
    );
    assert_eq!(
        dup("def hike_pass():\n    return 1\n"),
        ["`hike_pass` is defined twice: this chain (first at 34)"]
    );
    assert_eq!(
        dup("X = 1\ndef X():\n    hike_pass()\n"),
        ["`X` is defined twice: this chain (first at 44)"]
    );
    assert_eq!(
        dup("def c():\n    hike_pass()\ndef c():\n    hike_pass()\n"),
        ["`c` is defined twice: this chain (first at 48)"]
    );
    assert_eq!(
        dup("def c(:\n    pass\ndef c():\n    hike_pass()\n"),
        ["`c` is defined twice: this chain (first at 48)"]
    );
}

/// The drop-by-default warning quotes each condition on one line, whole up to 40
/// characters, cut to 37 and `...` past that.
#[test]
fn conditions_quoted_in_the_warning_are_cut_past_40_characters() {
    let note = |cond: &str| {
        let c = compile(&format!(
            "from programs.hike_default import hike_pass, lse\ndef c():\n    u64 : t = lse()\n    \
             if {cond}:\n        hike_pass()\n"
        ));
        let d = c
            .diagnostics
            .iter()
            .find(|d| d.code == "no-final-program")
            .unwrap();
        d.notes[0].clone()
    };
    let forty = "t + 1 == 2 or t + 22 == 3 or t + 333 > 4"; // 40 characters
    assert_eq!(forty.len(), 40);
    assert!(
        note(forty).starts_with(&format!("when `if {forty}` is false,")),
        "{}",
        note(forty)
    );
    let forty_one = "t + 1 == 2 or t + 22 == 3 or t + 3333 > 4";
    assert!(
        note(forty_one).starts_with("when `if t + 1 == 2 or t + 22 == 3 or t + 3333...` is false,"),
        "{}",
        note(forty_one)
    );
    // line breaks inside brackets and runs of spaces are one space
    assert!(
        note("(t ==\n        1   or t == 2)").starts_with("when `if (t == 1 or t == 2)` is false,"),
        "{}",
        note("(t ==\n        1   or t == 2)")
    );
}

/// Where a final program certainly runs: in an argument, a packet offset or value, an
/// operand, the left side of `and`/`or`, a chain that always ends in one; not in the right
/// side of `and`/`or`, nor in a chain that may return.
#[test]
fn a_final_program_certainly_runs_only_where_evaluation_reaches_it() {
    let warned = |stmt: &str| {
        let c = compile(&format!(
            "from programs.hike_default import hike_pass, hike_drop, monitor, lse\n\
             def ends():\n    hike_drop()\ndef may(u64 : x):\n    if x:\n        return 1\n    \
             hike_drop()\ndef c():\n    u64 : t = lse()\n    {stmt}\n"
        ));
        assert!(!c.has_errors(), "{stmt}: {:?}", errors(&c));
        c.diagnostics
            .iter()
            .filter(|d| d.code == "no-final-program" && d.message.contains("`c`"))
            .count()
            > 0
    };
    for (stmt, warns) in [
        ("monitor(hike_drop())", false),
        ("u64 : v = Packet.readU8(hike_drop())", false),
        ("Packet.writeU8(hike_drop(), 1)", false),
        ("Packet.writeU8(1, hike_drop())", false),
        ("u64 : v = -hike_drop()", false),
        ("u64 : v = t + hike_drop()", false),
        ("u64 : v = hike_drop() < t", false),
        ("u64 : v = hike_drop() and t", false),
        ("u64 : v = hike_drop() or t", false),
        ("u64 : v = t and hike_drop()", true),
        ("u64 : v = t or hike_drop()", true),
        ("ends()", false),
        ("may(t)", true),
        ("u64 : v = t + 1", true),
    ] {
        assert_eq!(warned(stmt), warns, "{stmt}");
    }
}

/// `Packet.readU8/16/32` give a value of their width: stored in a variable of that width
/// (or wider) it needs no truncation, in a narrower one it does.
#[test]
fn packet_reads_have_the_type_of_their_width() {
    let insns = |read: &str, ty: &str| {
        let c = compile(&format!(
            "from programs.hike_default import hike_pass, monitor\ndef c():\n    \
             {ty} : v = Packet.{read}(0)\n    monitor(v)\n    hike_pass()\n"
        ));
        c.output.expect("compiles").chains[0].insns.len()
    };
    for (read, own, narrower) in [("readU16", "u16", "u8"), ("readU32", "u32", "u16")] {
        let base = insns(read, "u64");
        assert_eq!(insns(read, own), base, "{read} into {own}");
        assert!(insns(read, narrower) > base, "{read} into {narrower}");
        assert!(insns(read, "s64") == base, "{read} into s64");
    }
    assert_eq!(insns("readU8", "u8"), insns("readU8", "u64"));
    assert_eq!(
        insns("readU8", "s16"),
        insns("readU8", "u64"),
        "u8 fits s16"
    );
    assert!(
        insns("readU8", "s8") > insns("readU8", "u64"),
        "u8 does not fit s8"
    );
}

/// At most 100 diagnostics are reported; past that, one more says how many were left out,
/// an error if an error is among them, at the end of the source.
#[test]
fn diagnostics_past_the_hundredth_are_counted_not_shown() {
    let with_errors = |n: usize| {
        let chains: String = (0..n)
            .map(|i| format!("def c{i}():\n    return nothing{i}\n"))
            .collect();
        let c = compile(&chains);
        (c, chains.len())
    };
    let (c, _) = with_errors(100);
    assert_eq!(c.diagnostics.len(), 100);
    assert_eq!(count(&c, "too-many-errors"), 0);
    let (c, len) = with_errors(101);
    assert_eq!(c.diagnostics.len(), 101);
    let last = c.diagnostics.last().unwrap();
    assert_eq!(
        (last.code, last.message.as_str(), last.is_error()),
        ("too-many-errors", "1 more diagnostics not shown", true)
    );
    assert_eq!((last.span.start, last.span.end), (len, len));
    assert_eq!(
        last.help.as_deref(),
        Some("fix the first ones and compile again")
    );
    let (c, _) = with_errors(130);
    assert_eq!(
        c.diagnostics.last().unwrap().message,
        "30 more diagnostics not shown"
    );
}

/// Columns count characters, not bytes; a span that starts or ends inside a character (a
/// caller's, or a fuzzer's) is taken back to that character's start, for the column and
/// for the rendering, which never panics on it.
#[test]
fn spans_inside_a_character_go_back_to_its_start() {
    use eclat::{Diagnostic, Span};
    let src = "x = 'é€'\ny = 1\n";
    let e = src.find('é').unwrap(); // 5: 'é' is 2 bytes, '€' 3
    for (start, col) in [
        (e, 6),
        (e + 1, 6),
        (e + 2, 7),
        (e + 3, 7),
        (e + 4, 7),
        (e + 5, 8),
    ] {
        assert_eq!(
            Span::new(start, start + 1).line_col(src),
            (1, col),
            "byte {start}"
        );
    }
    let d = Diagnostic::error("x", Span::new(e + 1, e + 4), "inside");
    assert_eq!(d.short(src, "t.eclat"), "t.eclat:1:6: error[x]: inside");
    let text = eclat::render(&[d], src, "t.eclat", false);
    assert!(text.contains("t.eclat:1:6"), "{text}");
}

/// The drop-by-default warning names the first 8 steps of a way, then `...`.
#[test]
fn a_way_is_named_by_its_first_eight_steps() {
    let note = |ifs: usize| {
        let body: String = (0..ifs)
            .map(|i| format!("    if t == {i}:\n        hike_pass()\n"))
            .collect();
        let c = compile(&format!(
            "from programs.hike_default import hike_pass, lse\ndef c():\n    u64 : t = lse()\n{body}"
        ));
        let d = c
            .diagnostics
            .iter()
            .find(|d| d.code == "no-final-program")
            .unwrap();
        d.notes[0].clone()
    };
    let steps = |n: usize| {
        (0..n)
            .map(|i| format!("`if t == {i}` is false"))
            .collect::<Vec<_>>()
            .join(", then ")
    };
    assert!(
        note(8).starts_with(&format!("when {}, the chain", steps(8))),
        "{}",
        note(8)
    );
    assert!(
        note(9).starts_with(&format!("when {}, then ..., the chain", steps(8))),
        "{}",
        note(9)
    );
    assert_eq!(note(12), note(9));
}

/// A statement that calls a program somewhere inside it (under `-`, an operator, a
/// comparison, `and`/`or`, on either side) has an effect; one that calls nothing is warned.
#[test]
fn a_statement_without_a_call_is_warned_wherever_the_call_would_be() {
    for stmt in [
        "-monitor(x)",
        "monitor(x) + 1",
        "1 + monitor(x)",
        "x < monitor(x)",
        "monitor(x) < x",
        "x and monitor(x)",
        "monitor(x) or x",
        "not monitor(x)",
    ] {
        let c = compile(&with_x(stmt));
        assert_eq!(count(&c, "no-effect"), 0, "{stmt}: {:?}", c.diagnostics);
    }
    for stmt in ["x + 1", "-x", "x < 2", "x and x", "x or 1", "not x"] {
        let c = compile(&with_x(stmt));
        assert_eq!(count(&c, "no-effect"), 1, "{stmt}: {:?}", c.diagnostics);
    }
}

/// Where each variable lives, read from the listing: its declaration's first instruction
/// stores into a register (`rN = ...`) or into a stack slot (`*(u64 *)(r10 - N) = ...`).
fn in_register(src: &str, var: &str) -> bool {
    let c = compile(src);
    let p = c
        .output
        .unwrap_or_else(|| panic!("does not compile: {:?}", c.diagnostics));
    let asm = p.emit_asm();
    let decl = format!("u64 : {var} = ");
    let line = asm
        .lines()
        .find(|l| l.contains(&decl))
        .unwrap_or_else(|| panic!("no declaration of {var} in\n{asm}"));
    let insn = line.split(':').nth(1).unwrap_or("").trim();
    insn.starts_with('r')
}

/// The four registers r6..r9 go to the most used variables, a use inside a loop weighing 4
/// times one outside it (8 for a `for` loop's own variable), nested loops multiplying: each
/// case below has one variable whose rank depends on those weights.
#[test]
fn registers_go_to_the_most_used_variables_loops_weighing_more() {
    // four variables read 3 times each, outside loops (4 each with the declaration)
    let head = "from programs.hike_default import hike_pass, monitor\n\ndef c():\n    u64 : a = 1\n    u64 : b = 2\n    u64 : d = 3\n    u64 : e = 4\n";
    let reads =
        "    monitor(a + b + d + e)\n    monitor(a + b + d + e)\n    monitor(a + b + d + e)\n";
    // read only where it is read, and declared last: it needs more than 4 to get a register
    // (ties go to the first declared)
    let cases = [
        // read twice in one expression outside a loop: 1 + 2 = 3, stays on the stack (reads
        // count: without them every variable would weigh its declaration only)
        ("    u64 : i = 0\n    monitor(i + i)\n", false),
        // read in a while condition only: 1 + 4 = 5 (a condition counted once, or at weight
        // 1 or 0, gives 2, 1 or 1)
        (
            "    u64 : i = 0\n    while i < 3:\n        monitor(1)\n",
            true,
        ),
        // read once in a while body only: 1 + 4 = 5
        (
            "    u64 : j = 0\n    u64 : i = 0\n    while j < 1:\n        monitor(i)\n        j = 1\n",
            true,
        ),
        // the loop variable of a for loop: 1 + 8 = 9 over the others' 4 (+4 at most 5)
        (
            "    u64 : i = 0\n    for i in range(1):\n        monitor(1)\n",
            true,
        ),
        // read in the body of a for loop: 1 + 4 = 5
        (
            "    u64 : i = 0\n    u64 : k = 0\n    for k in range(1):\n        monitor(i)\n",
            true,
        ),
    ];
    for (tail, reg) in cases {
        let src = format!("{head}{reads}{tail}    hike_pass()\n");
        assert_eq!(in_register(&src, "i"), reg, "{src}");
    }
    // nested loops multiply: 1 + 4 * 4 = 17 for a read two loops deep, against variables
    // read 4 times in one loop (1 + 4 * 4 = 17, declared first) or 3 times (13): 4 + 4 = 8
    // or 4 / 4 = 1 per level would rank it below them
    let src = "from programs.hike_default import hike_pass, monitor\n\ndef c():\n    u64 : a = 1\n    u64 : b = 2\n    u64 : d = 3\n    u64 : e = 4\n    u64 : i = 0\n    u64 : j = 0\n    while j < 1:\n        monitor(a + a + a + a + b + b + b + b + d + d + d + e + e + e)\n        while j < 1:\n            monitor(i)\n            j = 1\n    hike_pass()\n";
    assert!(in_register(src, "i"), "{src}");
    assert!(!in_register(src, "d"), "{src}");
    // a for loop's variable: 1 + 8 = 9 against four variables of 8 declared first (8 would
    // lose the tie); inside a while loop, 1 + 4 * 8 = 33 against 1 + 4 * 5 = 21 (4 + 8 per
    // level would give 13)
    let eight = "    monitor(a + b + d + e)\n".repeat(7);
    let src = format!(
        "{head}{eight}    u64 : i = 0\n    for i in range(1):\n        monitor(1)\n    hike_pass()\n"
    );
    assert!(in_register(&src, "i"), "{src}");
    let src = "from programs.hike_default import hike_pass, monitor\n\ndef c():\n    u64 : a = 1\n    u64 : b = 2\n    u64 : d = 3\n    u64 : e = 4\n    u64 : i = 0\n    u64 : j = 0\n    while j < 1:\n        monitor(a + b + d + e)\n        monitor(a + b + d + e)\n        monitor(a + b + d + e)\n        monitor(a + b + d + e)\n        monitor(a + b + d + e)\n        for i in range(1):\n            monitor(1)\n        j = 1\n    hike_pass()\n";
    assert!(in_register(src, "i"), "{src}");
    // two loops deep, a read in a while condition or in a for loop's body weighs 16 (1 + 16
    // = 17) against four variables read 3 times one loop deep (13): 4 + 4 = 8 would not
    let three = "        monitor(a + b + d + e)\n".repeat(3);
    let head2 = "from programs.hike_default import hike_pass, monitor\n\ndef c():\n    u64 : a = 1\n    u64 : b = 2\n    u64 : d = 3\n    u64 : e = 4\n    u64 : i = 0\n    u64 : j = 0\n    u64 : k = 0\n    while j < 1:\n";
    for inner in [
        "        while i < 1:\n            monitor(1)\n",
        "        for k in range(1):\n            monitor(i)\n",
    ] {
        let src = format!("{head2}{three}{inner}        j = 1\n    hike_pass()\n");
        assert!(in_register(&src, "i"), "{src}");
    }
}

/// A chain of exactly the limit's instructions compiles; one more is refused, naming the
/// count (the limit is `hike::MAX_CHAIN_INSNS`).
#[test]
fn a_chain_of_exactly_the_limit_compiles() {
    let limit = hike::MAX_CHAIN_INSNS;
    let mut sizes = std::collections::BTreeMap::new();
    // monitor(1) is 3 instructions, a declaration into a register 1: every size is reached
    for calls in 0..limit / 3 + 2 {
        for decls in 0..3 {
            let mut src =
                String::from("from programs.hike_default import hike_pass, monitor\n\ndef c():\n");
            for v in 0..decls {
                src.push_str(&format!("    u64 : v{v} = 1\n    monitor(v{v})\n"));
            }
            src.push_str(&"    monitor(1)\n".repeat(calls));
            src.push_str("    hike_pass()\n");
            let c = compile(&src);
            let n = match &c.output {
                Some(p) => p.chains[0].insns.len(),
                None => {
                    let d = c
                        .diagnostics
                        .iter()
                        .find(|d| d.code == "chain-too-long")
                        .unwrap_or_else(|| panic!("{:?}", c.diagnostics));
                    let n: usize = d
                        .message
                        .split_whitespace()
                        .nth(3)
                        .unwrap()
                        .parse()
                        .unwrap();
                    assert!(n > limit, "{}", d.message);
                    continue;
                }
            };
            sizes.insert(n, src);
        }
    }
    assert!(
        sizes.contains_key(&limit),
        "no script of {limit} instructions: {:?}",
        sizes.keys()
    );
    assert!(sizes.keys().all(|&n| n <= limit));
}

/// Top-level lines: a trailing `;` ends the line like a newline; a method call on a loader
/// other than `attach` is a statement that belongs in a chain (no attach request comes of it).
#[test]
fn top_level_semicolons_and_method_calls() {
    let c = compile(
        "from programs.hike_default import hike_pass\n\nA = 1;\nB = 2; C = 3;\n\ndef c():\n    hike_pass()\n",
    );
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    let c = compile(
        "from programs.hike_default import hike_pass\nfrom loaders.hike_default import ip6_simple_classifier\n\ndef c():\n    hike_pass()\n\nip6_simple_classifier[ipv6_simple_classifier_map] = { (0): (c) }\nip6_simple_classifier.detach('enp6s0f0', 'xdp')\n",
    );
    assert_eq!(codes(&c), ["top-level-statement"], "{:?}", c.diagnostics);
}

/// `-D NAME=VALUE`: NAME is letters, digits and `_` (not first a digit); a use of NAME at
/// the start of a statement is replaced too, only `NAME = ...` there (a definition) is kept.
#[test]
fn defines_replace_names_at_the_start_of_a_statement() {
    let src =
        "from programs.hike_default import hike_pass\n\ndef c():\n    MY_P + 0\n    hike_pass()\n";
    let with = |name: &str| {
        eclat::compile(
            src,
            "t.eclat",
            &Catalog::reference(),
            &[(name.to_string(), "7".to_string())],
        )
    };
    let c = with("MY_P");
    assert_eq!(codes(&c), ["no-effect"], "{:?}", c.diagnostics);
    let c = with("MY-P");
    assert!(
        c.diagnostics
            .iter()
            .any(|d| d.message.contains("is not a name")),
        "{:?}",
        c.diagnostics
    );
}

/// A line indented deeper than its block, inside a chain, is one `unexpected-indent` error
/// that says where indentation may go.
#[test]
fn an_indented_line_inside_a_chain() {
    let c = compile(
        "from programs.hike_default import hike_pass, monitor\n\ndef c():\n    monitor(1)\n        monitor(2)\n    hike_pass()\n",
    );
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.code == "unexpected-indent")
        .unwrap_or_else(|| panic!("{:?}", c.diagnostics));
    assert_eq!(
        d.help.as_deref(),
        Some(
            "indent only after a line ending with `:`; the compiler reads it as indented by 4 \
             spaces"
        )
    );
}

/// A negation or a `not` is one level of nesting while it is parsed, not after: 40 of them
/// joined by 39 operators (each operator a level: the tree leans left) stay under the limit
/// of 64; `x << 2` alone is an expression (no effect), not an augmented assignment; `**` is
/// refused once.
#[test]
fn long_expressions_and_operator_statements() {
    let negs = vec!["-x"; 40].join(" + ");
    // (too long a chain for 64 instructions: only the nesting matters here)
    let c = compile(&with_x(&format!("monitor({negs})")));
    assert_eq!(count(&c, "too-deep"), 0, "{:?}", codes(&c));
    let nots = vec!["not x"; 40].join(" and ");
    let c = compile(&with_x(&format!("monitor({nots})")));
    assert_eq!(count(&c, "too-deep"), 0, "{:?}", codes(&c));
    let c = compile(&with_x("x << 2"));
    assert_eq!(codes(&c), ["no-effect"], "{:?}", c.diagnostics);
    let c = compile(&with_x("monitor(2 ** 3)"));
    assert_eq!(count(&c, "unsupported-operator"), 1, "{:?}", c.diagnostics);
}

/// Constant operands are folded into one load: arithmetic, comparisons, `and`/`or` with a
/// constant that decides (`0 and x`, `5 or x`) or with both constant; an operand known only
/// at run time is not folded.
#[test]
fn constant_operands_fold_into_one_load() {
    let src = "from programs.hike_default import hike_pass, monitor\n\ndef c():\n    u64 : counter = 1\n    monitor(6 * 7)\n    monitor(3 < 4)\n    monitor(0 and counter)\n    monitor(5 or counter)\n    monitor(2 and 3)\n    monitor(0 or 0)\n    monitor(10 - 3 * 2)\n    monitor(4 > 4)\n    monitor(4 >= 4)\n    monitor(4 < 4)\n    monitor(4 <= 4)\n    monitor(4 == 4)\n    monitor(4 != 4)\n    monitor(counter and 3)\n    hike_pass()\n";
    let c = compile(src);
    let p = c.output.unwrap_or_else(|| panic!("{:?}", c.diagnostics));
    let asm = p.emit_asm();
    let lines: Vec<&str> = asm.lines().collect();
    // the argument's instructions: from the call's line to the program's ID load
    let argument = |call: &str| {
        let at = lines
            .iter()
            .position(|l| l.ends_with(&format!(": {call}")))
            .unwrap_or_else(|| panic!("no {call} in\n{asm}"));
        lines[at..]
            .iter()
            .take_while(|l| !l.contains("program hike_default.monitor"))
            .map(|l| {
                l.split(';')
                    .next()
                    .unwrap()
                    .split(':')
                    .nth(1)
                    .unwrap()
                    .trim()
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    for (call, load) in [
        ("monitor(6 * 7)", "r2 = 42"),
        ("monitor(3 < 4)", "r2 = 1"),
        ("monitor(0 and counter)", "r2 = 0"),
        ("monitor(5 or counter)", "r2 = 1"),
        ("monitor(2 and 3)", "r2 = 1"),
        ("monitor(0 or 0)", "r2 = 0"),
        ("monitor(10 - 3 * 2)", "r2 = 4"),
        ("monitor(4 > 4)", "r2 = 0"),
        ("monitor(4 >= 4)", "r2 = 1"),
        ("monitor(4 < 4)", "r2 = 0"),
        ("monitor(4 <= 4)", "r2 = 1"),
        ("monitor(4 == 4)", "r2 = 1"),
        ("monitor(4 != 4)", "r2 = 0"),
    ] {
        assert_eq!(argument(call), load, "{call}:\n{asm}");
    }
    assert!(argument("monitor(counter and 3)").contains(';'), "{asm}");
}

/// A misspelled variable gets the visible variable it is closest to.
#[test]
fn a_misspelled_variable_gets_a_suggestion() {
    let c = compile(
        "from programs.hike_default import hike_pass, monitor\n\ndef c():\n    u64 : counter = 1\n    monitor(countr)\n    hike_pass()\n",
    );
    assert!(
        c.diagnostics
            .iter()
            .any(|d| d.help.as_deref() == Some("did you mean `counter`?")),
        "{:?}",
        c.diagnostics
    );
}

/// A program call with up to hike's 3 argument registers is checked against the program's
/// signature (`wrong-arg-count`); more than 3 can never be passed (`too-many-args`).
#[test]
fn program_argument_counts_at_the_register_limit() {
    let chain = |args: &str| {
        compile(&format!(
            "from programs.hike_default import hike_pass, monitor\n\ndef c():\n    monitor({args})\n    hike_pass()\n"
        ))
    };
    assert_eq!(hike::MAX_PROG_ARGS, 3);
    assert_eq!(codes(&chain("1, 2, 3")), ["wrong-arg-count"]);
    assert_eq!(codes(&chain("1, 2, 3, 4")), ["too-many-args"]);
}

/// The syntax tree of `src` whatever its diagnostics, and those diagnostics (lexer and parser).
fn ast_and_diagnostics(src: &str) -> (String, Vec<eclat::Diagnostic>) {
    let (t, mut d) = lex(src, &[]);
    let m = eclat::parser::parse(&t, &mut d);
    (eclat::ast::dump(&m), d)
}

/// One indentation mistake is one error, at the mistake, and the rest of the file is read as
/// its author meant (the syntax tree is the corrected script's): no follow-on error anywhere,
/// the checker's included. Each case is `(broken, corrected, code, line:col)`.
#[test]
fn an_indentation_mistake_is_one_error_and_read_as_meant() {
    let h = "from programs.hike_default import hike_pass, hike_drop, monitor\n\n";
    let ddos_broken = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/diagnostics/indent_bad_dedent.eclat"),
    )
    .unwrap();
    let ddos = ddos_broken.replace("\n      hike_drop()\n", "\n        hike_drop()\n");
    assert_ne!(ddos, ddos_broken);
    let tail_broken = ddos.replace(
        "\n    monitor(PASS)\n    hike_pass()\n    return 0\n",
        "\n  monitor(PASS)\n  hike_pass()\n  return 0\n",
    );
    assert_ne!(tail_broken, ddos);
    let body = |lines: &[&str]| format!("{h}def c():\n{}\n", lines.join("\n"));
    let cases: Vec<(String, String, &str, &str)> = vec![
        // the learner's report: lesson 8's solution, one line indented by 6 instead of 8
        (ddos_broken.clone(), ddos.clone(), "bad-indentation", "34:7"),
        // the chain's last lines indented by 2 instead of 4: inside the chain, not at top level
        (tail_broken, ddos.clone(), "bad-indentation", "43:3"),
        // a statement between an inner block (12) and its enclosing one (8), then a line at 8:
        // read with that line
        (
            body(&[
                "    u64 : x = monitor(0)",
                "    if x == 1:",
                "        if x == 2:",
                "            monitor(1)",
                "          monitor(2)",
                "        monitor(3)",
                "    hike_pass()",
            ]),
            body(&[
                "    u64 : x = monitor(0)",
                "    if x == 1:",
                "        if x == 2:",
                "            monitor(1)",
                "        monitor(2)",
                "        monitor(3)",
                "    hike_pass()",
            ]),
            "bad-indentation",
            "8:11",
        ),
        // `else` between its `if` and the `if`'s body: read with its `if`
        (
            body(&[
                "    u64 : x = monitor(0)",
                "    if x == 1:",
                "        monitor(1)",
                "      else:",
                "        monitor(2)",
                "    hike_pass()",
            ]),
            body(&[
                "    u64 : x = monitor(0)",
                "    if x == 1:",
                "        monitor(1)",
                "    else:",
                "        monitor(2)",
                "    hike_pass()",
            ]),
            "bad-indentation",
            "7:7",
        ),
        // a block header between two levels, followed by its body: the header goes out
        (
            body(&[
                "    u64 : x = monitor(0)",
                "    if x == 1:",
                "        monitor(1)",
                "      if x == 2:",
                "        monitor(2)",
                "    hike_pass()",
            ]),
            body(&[
                "    u64 : x = monitor(0)",
                "    if x == 1:",
                "        monitor(1)",
                "    if x == 2:",
                "        monitor(2)",
                "    hike_pass()",
            ]),
            "bad-indentation",
            "7:7",
        ),
        // the same bad width again after a deeper block: read the same way, no second error
        // (6 is as near to 8 as to 4, and both fit: the inner block wins)
        (
            body(&[
                "    u64 : x = monitor(0)",
                "    if x == 1:",
                "        monitor(1)",
                "      while x == 2:",
                "          x = 3",
                "      monitor(4)",
                "    hike_pass()",
            ]),
            body(&[
                "    u64 : x = monitor(0)",
                "    if x == 1:",
                "        monitor(1)",
                "        while x == 2:",
                "            x = 3",
                "        monitor(4)",
                "    hike_pass()",
            ]),
            "bad-indentation",
            "7:7",
        ),
        // a tab and 2 spaces (6) among lines of 8: read as 8; a tab and 4 spaces is 8, no error
        (
            body(&[
                "    if monitor(0) == 1:",
                "\t    monitor(1)",
                "\t  monitor(2)",
                "        monitor(3)",
                "    hike_pass()",
            ]),
            body(&[
                "    if monitor(0) == 1:",
                "        monitor(1)",
                "        monitor(2)",
                "        monitor(3)",
                "    hike_pass()",
            ]),
            "bad-indentation",
            "6:4",
        ),
        // lines indented deeper than their block: read as if they were not (x stays declared)
        (
            body(&[
                "    monitor(1)",
                "        u64 : x = 2",
                "        monitor(x)",
                "    monitor(x)",
                "    hike_pass()",
            ]),
            body(&[
                "    monitor(1)",
                "    u64 : x = 2",
                "    monitor(x)",
                "    monitor(x)",
                "    hike_pass()",
            ]),
            "unexpected-indent",
            "5:9",
        ),
        // an indented top-level line: still read (DROP is defined)
        (
            format!("{h}PASS = 0\n  DROP = 1\n\ndef c():\n    monitor(DROP)\n    hike_pass()\n"),
            format!("{h}PASS = 0\nDROP = 1\n\ndef c():\n    monitor(DROP)\n    hike_pass()\n"),
            "unexpected-indent",
            "4:3",
        ),
        // an indented `def`: read as the chain it is
        (
            format!("{h}  def c():\n      monitor(1)\n      hike_pass()\n"),
            format!("{h}def c():\n    monitor(1)\n    hike_pass()\n"),
            "unexpected-indent",
            "3:3",
        ),
        // a chain's body not indented: read as its body up to the next top-level line
        (
            format!(
                "{h}def c():\nmonitor(1)\nhike_pass()\n\nLIMIT = 2\ndef d():\n    hike_pass()\n"
            ),
            format!(
                "{h}def c():\n    monitor(1)\n    hike_pass()\n\nLIMIT = 2\ndef d():\n    hike_pass()\n"
            ),
            "expected-indent",
            "4:1",
        ),
        // an `if`'s body not indented: read as its body up to its `else`
        (
            body(&[
                "    u64 : x = monitor(0)",
                "    if x == 1:",
                "    monitor(1)",
                "    else:",
                "        monitor(2)",
                "    hike_pass()",
            ]),
            body(&[
                "    u64 : x = monitor(0)",
                "    if x == 1:",
                "        monitor(1)",
                "    else:",
                "        monitor(2)",
                "    hike_pass()",
            ]),
            "expected-indent",
            "6:5",
        ),
        // a header indented too much, its body at the header's width: the header alone moves
        (
            format!("{h}X = 1\n    def c():\n    monitor(X)\n    hike_pass()\n"),
            format!("{h}X = 1\ndef c():\n    monitor(X)\n    hike_pass()\n"),
            "unexpected-indent",
            "4:5",
        ),
        (
            body(&[
                "    u64 : x = monitor(0)",
                "        if x == 1:",
                "        monitor(1)",
                "    elif x == 2:",
                "        monitor(2)",
                "    hike_pass()",
            ]),
            body(&[
                "    u64 : x = monitor(0)",
                "    if x == 1:",
                "        monitor(1)",
                "    elif x == 2:",
                "        monitor(2)",
                "    hike_pass()",
            ]),
            "unexpected-indent",
            "5:9",
        ),
        // an `else` indented too much (after its `if`'s body): read with its `if`
        (
            body(&[
                "    u64 : x = monitor(0)",
                "    if x == 1:",
                "        monitor(1)",
                "          else:",
                "        monitor(2)",
                "    hike_pass()",
            ]),
            body(&[
                "    u64 : x = monitor(0)",
                "    if x == 1:",
                "        monitor(1)",
                "    else:",
                "        monitor(2)",
                "    hike_pass()",
            ]),
            "unexpected-indent",
            "7:11",
        ),
        // a block's first line indented too much, the others one step (4) under the header:
        // the block is read at the step
        (
            body(&[
                "    u64 : x = monitor(0)",
                "    if x == 1:",
                "            u64 : n = monitor(1)",
                "        if n == 0:",
                "            monitor(2)",
                "        monitor(n)",
                "    hike_pass()",
            ]),
            body(&[
                "    u64 : x = monitor(0)",
                "    if x == 1:",
                "        u64 : n = monitor(1)",
                "        if n == 0:",
                "            monitor(2)",
                "        monitor(n)",
                "    hike_pass()",
            ]),
            "bad-indentation",
            "7:9",
        ),
        // the first line of a body indented less than its header: read as the body
        (
            body(&[
                "    u64 : x = monitor(0)",
                "    if x == 1:",
                "        if x == 2:",
                "      monitor(1)",
                "            monitor(2)",
                "    hike_pass()",
            ]),
            body(&[
                "    u64 : x = monitor(0)",
                "    if x == 1:",
                "        if x == 2:",
                "            monitor(1)",
                "            monitor(2)",
                "    hike_pass()",
            ]),
            "bad-indentation",
            "7:7",
        ),
        // a declaration indented too much at the end of a block: kept for the lines after it
        (
            body(&[
                "    for i in range(2):",
                "        monitor(i)",
                "          u64 : n = 1",
                "    monitor(n)",
                "    hike_pass()",
            ]),
            body(&[
                "    for i in range(2):",
                "        monitor(i)",
                "    u64 : n = 1",
                "    monitor(n)",
                "    hike_pass()",
            ]),
            "unexpected-indent",
            "6:11",
        ),
    ];
    for (broken, meant, code, at) in &cases {
        let c = compile(broken);
        let shorts: Vec<String> = c
            .diagnostics
            .iter()
            .map(|d| d.short(broken, "t.eclat"))
            .collect();
        assert_eq!(
            shorts,
            [format!(
                "t.eclat:{at}: error[{code}]: {}",
                c.diagnostics[0].message
            )],
            "{broken}"
        );
        let (tree, _) = ast_and_diagnostics(broken);
        assert_eq!(tree, ast_of(meant), "read otherwise than meant:\n{broken}");
        assert!(compile(meant).diagnostics.is_empty(), "{meant}");
    }
}

/// The bad dedent's diagnostic names the two blocks it could belong to (labels on their latest
/// lines), says how it is read (with the line after it, here), and labels the other lines
/// indented the same way instead of reporting them again.
#[test]
fn a_bad_dedent_names_the_blocks_it_could_belong_to() {
    let src = "def c():\n    if x:\n        a()\n      b()\n      c()\n    d()\n";
    let (_, d) = lex(src, &[]);
    assert_eq!(d.len(), 1, "{d:?}");
    let d = &d[0];
    assert_eq!(d.label.as_deref(), Some("indented by 6 spaces"));
    let labels: Vec<(usize, &str)> = d
        .labels
        .iter()
        .map(|l| (l.span.line_col(src).0, l.message.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            (2, "indented by 4 spaces"),
            (3, "indented by 8 spaces"),
            (5, "indented the same way: read as indented by 4 spaces"),
        ]
    );
    assert_eq!(
        d.help.as_deref(),
        Some(
            "indent it by 4 or by 8 spaces, like the block it belongs to; the compiler reads it \
             as indented by 4 spaces"
        )
    );
}

/// No diagnostic points past the end of the file: one at the very end of a file that ends
/// with a newline (LF or CRLF) is at the end of its last line, in the rendered header, the
/// one-line form and the JSON places alike.
#[test]
fn no_diagnostic_points_past_the_end_of_the_file() {
    for (src, at, line, col) in [
        ("def c():\n", 8, 1, 9),
        ("def c():\r\n", 8, 1, 9),
        ("def c():\n\n\n", 10, 3, 1),
        ("def c():", 8, 1, 9),
    ] {
        let c = compile(src);
        let d = c
            .diagnostics
            .iter()
            .find(|d| d.code == "expected-indent")
            .unwrap_or_else(|| panic!("{src:?}: {:?}", c.diagnostics));
        assert_eq!(
            d.span.start,
            src.len(),
            "{src:?}: the case is an error at the end"
        );
        let p = eclat::Place::of(d.span, src);
        assert_eq!(
            (p.line, p.col, p.end_line, p.end_col, p.start, p.end),
            (line, col, line, col, at, at),
            "{src:?}"
        );
        assert!(
            d.short(src, "t.eclat")
                .starts_with(&format!("t.eclat:{line}:{col}:"))
        );
        assert!(
            c.render(src, "t.eclat", false)
                .contains(&format!("t.eclat:{line}:{col} ]")),
            "{src:?}: {}",
            c.render(src, "t.eclat", false)
        );
    }
}

/// The parser's own recovery for an INDENT where no block starts (the lexer places almost
/// every over-indented line itself; an indented stretch it leaves to the parser is reported
/// once there and read as if it were not indented).
#[test]
fn the_parser_reads_a_stray_indented_stretch_as_not_indented() {
    let src = "from programs.hike_default import hike_pass, monitor\ndef c():\n    u64 : x = 2\n    monitor(x)\n    hike_pass()\n";
    let (mut toks, d) = lex(src, &[]);
    assert!(d.is_empty(), "{d:?}");
    let at = |toks: &[eclat::lexer::Token], name: &str| {
        toks.iter()
            .rposition(|t| t.tok == Tok::Name(name.into()))
            .unwrap()
    };
    let (x, pass) = (at(&toks, "u64"), at(&toks, "hike_pass"));
    let indent = |tok: Tok, t: &eclat::lexer::Token| eclat::lexer::Token {
        tok,
        span: eclat::Span::new(t.span.start, t.span.start),
    };
    // u64 and monitor as if indented more than the line before, hike_pass not
    let dedent = indent(Tok::Dedent, &toks[pass]);
    toks.insert(pass, dedent);
    let stray = indent(Tok::Indent, &toks[x]);
    toks.insert(x, stray);
    let mut d = Vec::new();
    let m = eclat::parser::parse(&toks, &mut d);
    let codes: Vec<&str> = d.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["unexpected-indent"]);
    assert_eq!(eclat::ast::dump(&m), ast_of(src));
}
