//! eclat_model::cdiag on what the real clang-19 printed (tests/fixtures/clang/*.stderr, made
//! by tests/fixtures/clang/capture.sh from src/): each fixture's diagnostics as JSON and as
//! rendered text are held equal to its `.golden` (`UPDATE_GOLDEN=1 cargo test -p eclat-model
//! --test cdiag_clang` writes them again), and the facts a learner needs are asserted one by
//! one.

use std::path::PathBuf;

use eclat_model::cdiag::{self, CDiagnostic, KnownName, LineCol, Severity};

/// The folder capture.sh compiled the sources from.
const WS: &str = "/tmp/eclat-clang-fixtures/ws";
/// The folder capture.sh gave clang the lab's headers in (`-I`).
const INCLUDE: &str = "/tmp/eclat-clang-fixtures/include";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clang")
}

/// The fixture parsed, made relative to the learner's folder, given character columns from
/// the sources beside the fixtures, the lab's headers named as they are included, and the
/// closest known name for a misspelt one (as the lab does with the learner's files:
/// `eclat_kernel::modules::clang_diagnostics`).
fn parsed(name: &str) -> Vec<CDiagnostic> {
    let stderr = std::fs::read_to_string(dir().join(format!("{name}.stderr"))).unwrap();
    let mut d = cdiag::parse_clang(&stderr);
    cdiag::relative_to(&mut d, WS);
    cdiag::char_columns(&mut d, |f| {
        std::fs::read_to_string(dir().join("src").join(f)).ok()
    });
    cdiag::include_names(&mut d, INCLUDE);
    cdiag::suggest_known(&mut d, &known());
    d
}

/// The names the lab knows as the kernel crate gathers them: libbpf's helpers (the
/// declarations of bpf_helper_defs.h capture.sh kept) and the HIKe and cube headers of the
/// repository (the lab's embedded include folder).
fn known() -> Vec<KnownName> {
    let mut out = Vec::new();
    let mut add = |text: &str, header: &str| {
        for name in cdiag::declared_names(text) {
            out.push(KnownName {
                name,
                header: header.into(),
            });
        }
    };
    add(
        &std::fs::read_to_string(dir().join("helper_defs.h")).unwrap(),
        "bpf/bpf_helpers.h",
    );
    let include = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../ebpf-modules/include");
    for sub in ["hike", "cube"] {
        let mut files: Vec<_> = std::fs::read_dir(include.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let header = format!("{sub}/{}", f.file_name().unwrap().to_str().unwrap());
            add(&std::fs::read_to_string(&f).unwrap(), &header);
        }
    }
    out
}

fn golden(name: &str, d: &[CDiagnostic]) {
    let got = format!(
        "{}\n---\n{}\n",
        serde_json::to_string_pretty(d).unwrap(),
        cdiag::render(d)
    );
    let path = dir().join(format!("{name}.golden"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == want,
        "{name}: the parse differs from {} (UPDATE_GOLDEN=1 writes it):\n{got}",
        path.display()
    );
}

const ALL: [&str; 13] = [
    "range",
    "syntax",
    "warn_and_error",
    "included",
    "macro_and_redef",
    "missing_header",
    "unicode_tabs",
    "undeclared_function",
    "warnings_only",
    "backend",
    "misspelt_names",
    "lab_headers",
    "lab_header_chain",
];

#[test]
fn every_fixture_matches_its_golden() {
    for name in ALL {
        golden(name, &parsed(name));
    }
}

#[test]
fn a_missing_semicolon_carries_place_snippet_and_fixit() {
    let d = parsed("syntax");
    assert_eq!(d.len(), 1, "{d:#?}");
    let e = &d[0];
    assert_eq!(e.file.as_deref(), Some("syntax.bpf.c"));
    assert_eq!(e.severity, Severity::Error);
    assert_eq!(e.span, Some(LineCol { line: 8, col: 15 }));
    assert_eq!(e.message, "expected ';' at end of declaration");
    assert_eq!(e.snippet.as_deref(), Some("        __u32 key = 0"));
    assert_eq!(e.marker.as_deref(), Some("                     ^"));
    assert_eq!(e.fixit.as_deref(), Some(";"));
    assert!(e.help.as_deref().unwrap().contains("`;`"));
    assert!(e.notes.is_empty(), "{:?}", e.notes);
}

#[test]
fn warnings_keep_their_option_and_errors_come_in_order() {
    let d = parsed("warn_and_error");
    let sev: Vec<(Severity, Option<&str>, u32)> = d
        .iter()
        .map(|d| (d.severity, d.code.as_deref(), d.span.unwrap().line))
        .collect();
    assert_eq!(
        sev,
        [
            (Severity::Error, Some("-Wimplicit-function-declaration"), 17),
            (Severity::Error, Some("-Wint-conversion"), 17),
            (Severity::Warning, Some("-Wunused-variable"), 15),
            (Severity::Warning, Some("-Wunused-variable"), 17),
        ]
    );
    assert!(d[0].help.as_deref().unwrap().contains("bpf/bpf_helpers.h"));
    assert_eq!(d[2].message, "unused variable 'unused'");
    assert_eq!(d[2].marker.as_deref(), Some("            ^~~~~~"));
}

#[test]
fn an_error_in_a_header_says_where_it_was_included() {
    let d = parsed("included");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].file.as_deref(), Some("bad.h"));
    assert_eq!(d[0].span, Some(LineCol { line: 4, col: 12 }));
    assert_eq!(d[0].included_from.len(), 1);
    assert_eq!(d[0].included_from[0].file, "included.bpf.c");
    assert_eq!(d[0].included_from[0].line, 4);
    assert!(cdiag::render(&d).starts_with(
        "In file included from included.bpf.c:4:\nbad.h:4:12: error: expected expression\n"
    ));
}

/// The lab's headers, wherever the lab extracted them, are named as the learner includes
/// them (`<hike/parse.h>:32:30`), in the diagnostics, their notes and their include chains,
/// and in the text; the learner's own file stays relative to its folder, a system header as
/// clang printed it.
#[test]
fn the_labs_headers_are_named_as_they_are_included() {
    let d = parsed("lab_headers");
    assert_eq!(d[0].file.as_deref(), Some("lab_headers.bpf.c"));
    assert_eq!(d[0].labels[0].file.as_deref(), Some("<hike/parse.h>"));
    assert_eq!(d[0].labels[0].span, Some(LineCol { line: 32, col: 30 }));
    assert_eq!(d[1].labels[0].file.as_deref(), Some("<hike/parse.h>"));
    let text = cdiag::render(&d);
    assert!(
        text.contains("\n<hike/parse.h>:32:30: note: previous definition is here\n"),
        "{text}"
    );
    assert!(!text.contains(INCLUDE), "{text}");

    let d = parsed("lab_header_chain");
    assert_eq!(d[0].file.as_deref(), Some("<hike/hike.h>"));
    let chain: Vec<(&str, u32)> = d[0]
        .included_from
        .iter()
        .map(|i| (i.file.as_str(), i.line))
        .collect();
    assert_eq!(chain, [("lab_header_chain.bpf.c", 4), ("<hike/api.h>", 47)]);
    assert_eq!(
        d[0].labels[0].file.as_deref(),
        Some("lab_header_chain.bpf.c")
    );
    let text = cdiag::render(&d);
    assert!(
        text.starts_with(
            "In file included from lab_header_chain.bpf.c:4:\n                      from \
             <hike/api.h>:47:\n<hike/hike.h>:115:8: error: expected member name"
        ),
        "{text}"
    );
    assert!(!text.contains(INCLUDE), "{text}");
    // JSON says the same
    let json = serde_json::to_string(&d).unwrap();
    assert!(!json.contains(INCLUDE), "{json}");
    assert!(json.contains("\"file\":\"<hike/parse.h>\""), "{json}");
}

/// Only a file below the lab's header folder is renamed.
#[test]
fn include_name_is_for_the_labs_folder_only() {
    assert_eq!(
        cdiag::include_name("/s/include/hike/parse.h", "/s/include/").as_deref(),
        Some("<hike/parse.h>")
    );
    assert_eq!(
        cdiag::include_name("/s/include/./cube/cube.h", "/s/include").as_deref(),
        Some("<cube/cube.h>")
    );
    assert_eq!(
        cdiag::include_name("/s/includes/hike/parse.h", "/s/include"),
        None
    );
    assert_eq!(
        cdiag::include_name("/usr/include/linux/bpf.h", "/s/include"),
        None
    );
    assert_eq!(cdiag::include_name("/s/include", "/s/include"), None);
    assert_eq!(cdiag::include_name("x.h", ""), None);
}

#[test]
fn notes_join_the_error_before_them() {
    let d = parsed("macro_and_redef");
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_eq!(d[0].message, "redefinition of 'twice'");
    assert_eq!(d[0].labels.len(), 1);
    assert_eq!(d[0].labels[0].message, "previous definition is here");
    assert_eq!(d[0].labels[0].span, Some(LineCol { line: 8, col: 12 }));
    assert!(
        d[0].labels[0]
            .snippet
            .as_deref()
            .unwrap()
            .contains("return 1;")
    );
    assert_eq!(d[1].labels[0].message, "expanded from macro 'VERDICT'");
    assert!(d[1].help.as_deref().unwrap().contains("`missing_thing`"));
}

#[test]
fn a_missing_header_is_a_fatal_error_with_advice() {
    let d = parsed("missing_header");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].severity, Severity::Error);
    assert_eq!(d[0].message, "'bpf/no_such_header.h' file not found");
    assert!(d[0].help.as_deref().unwrap().contains("<bpf/...>"));
}

#[test]
fn columns_count_characters_not_bytes() {
    // `\tconst char *s = "é";\tint n`: clang says byte 28, the learner's editor column 27
    let d = parsed("unicode_tabs");
    assert_eq!(d[0].span, Some(LineCol { line: 8, col: 27 }));
    let raw =
        cdiag::parse_clang(&std::fs::read_to_string(dir().join("unicode_tabs.stderr")).unwrap());
    assert_eq!(raw[0].span, Some(LineCol { line: 8, col: 28 }));
}

#[test]
fn a_backend_error_keeps_its_odd_notes() {
    let d = parsed("backend");
    assert_eq!(d.len(), 2, "{d:#?}");
    assert!(
        d[0].message
            .starts_with("Looks like the BPF stack limit is exceeded")
    );
    assert_eq!(d[0].span, Some(LineCol { line: 10, col: 9 }));
    assert_eq!(d[0].snippet.as_deref(), Some("        return buf[3];"));
    assert!(d[0].help.as_deref().unwrap().contains("512 bytes"));
    assert_eq!(d[0].labels.len(), 1);
    assert!(d[1].labels[0].snippet.is_none());
}

#[test]
fn a_range_over_two_lines_is_quoted_at_the_place() {
    let d = parsed("range");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].span, Some(LineCol { line: 10, col: 3 }));
    assert_eq!(d[0].snippet.as_deref(), Some("                * ctx)"));
    assert_eq!(d[0].marker.as_deref(), Some("                ^ ~~~"));
}

#[test]
fn the_summary_line_is_not_a_diagnostic() {
    for name in ALL {
        for d in parsed(name) {
            assert!(!d.message.contains("generated."), "{name}: {d:?}");
            assert!(
                d.notes.iter().all(|n| !n.contains("generated.")),
                "{name}: {d:?}"
            );
        }
    }
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Pieces of clang's lines, to be put together in any order and cut anywhere.
    const PIECES: [&str; 16] = [
        "/tmp/x/a.bpf.c:",
        "12:",
        "0:",
        "7: ",
        "error: ",
        "fatal error: ",
        "warning: ",
        "note: ",
        "In file included from ",
        "                 from ",
        "   10 | ",
        "      | ",
        "^~~~",
        " [-Wunused-variable]",
        "2 errors generated.",
        "é\t\u{0}:",
    ];

    fn check(s: &str) {
        let mut d = cdiag::parse_clang(s);
        // the text as a header too, and its names as the known ones
        let known: Vec<cdiag::KnownName> = cdiag::declared_names(s)
            .into_iter()
            .chain(["bpf_map_lookup_elem".to_string(), "é".to_string()])
            .map(|name| cdiag::KnownName {
                name,
                header: "x.h".into(),
            })
            .collect();
        cdiag::suggest_known(&mut d, &known);
        let _ = cdiag::render(&d);
        cdiag::relative_to(&mut d, "/tmp/x");
        cdiag::char_columns(&mut d, |_| Some("é\tab\n\n\u{0}x".into()));
        for d in &d {
            let _ = d.short();
            if let Some(s) = d.span {
                assert!(s.line >= 1 && s.col >= 1, "{d:?}");
            }
        }
        let _ = serde_json::to_string(&d).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC*") {
            check(&s);
        }

        #[test]
        fn clang_shaped_text_never_panics(
            parts in proptest::collection::vec((0usize..16, 0usize..40, prop::bool::ANY), 0..40)
        ) {
            let mut s = String::new();
            for (i, cut, nl) in parts {
                let p = PIECES[i];
                // the first `cut` characters, or all of it
                s.extend(p.chars().take(if cut == 0 { usize::MAX } else { cut }));
                if nl {
                    s.push('\n');
                }
            }
            check(&s);
        }

        /// Every real fixture cut at any byte (a clang killed mid-line) still parses.
        #[test]
        fn fixtures_cut_anywhere_never_panic(which in 0usize..ALL.len(), at in 0usize..4000) {
            let stderr = std::fs::read_to_string(dir().join(format!("{}.stderr", ALL[which]))).unwrap();
            let mut at = at.min(stderr.len());
            while !stderr.is_char_boundary(at) {
                at -= 1;
            }
            check(&stderr[..at]);
        }
    }
}

/// A misspelt BPF helper, HIKe function and HIKe macro (lesson 9's module): the help names the
/// closest name the headers declare and the header it comes from; clang's own correction (a
/// note, for a function it can see) is said the same way; a name close to none keeps the
/// general advice.
#[test]
fn a_misspelt_helper_or_hike_name_gets_did_you_mean() {
    let d = parsed("misspelt_names");
    let help_of = |name: &str| {
        d.iter()
            .find(|d| d.message.contains(&format!("'{name}'")))
            .and_then(|d| d.help.clone())
            .unwrap_or_else(|| panic!("no help for {name}: {d:#?}"))
    };
    assert!(
        help_of("bpf_map_lookup_elme")
            .starts_with("did you mean `bpf_map_lookup_elem` (from <bpf/bpf_helpers.h>)?"),
        "{d:#?}"
    );
    assert!(
        help_of("hike_pkt_pointer")
            .starts_with("did you mean `hike_pkt_ptr` (from <hike/parse.h>)?"),
        "{d:#?}"
    );
    assert!(
        help_of("hike_parse_l2l4").starts_with("did you mean `hike_parse_l2l3`?"),
        "{d:#?}"
    );
    let far = help_of("frobnicate_the_packet");
    assert!(!far.contains("did you mean"), "{far}");
    assert!(far.contains("check its spelling"), "{far}");
    // the same in the file of warnings and errors, in its rendering
    let d = parsed("warn_and_error");
    assert!(
        cdiag::render(&d)
            .contains("  help: did you mean `bpf_map_lookup_elem` (from <bpf/bpf_helpers.h>)?"),
        "{}",
        cdiag::render(&d)
    );
    // a helper spelt right but not included: where it comes from
    let d = parsed("undeclared_function");
    assert_eq!(
        d[0].help.as_deref(),
        Some(
            "`bpf_get_prandom_u32` comes from <bpf/bpf_helpers.h>: add `#include <bpf/bpf_helpers.h>` above this line."
        ),
    );
}

/// What headers declare for a caller, in the forms the lab's headers write them; a header's
/// own names (`__x`), variables and odd text give nothing, and nothing panics.
#[test]
fn declared_names_reads_helpers_functions_and_macros() {
    let h = "static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *) 1;\n\
             static __u64 (*const hike_elem_call_2)(__u64 id, __u64 a1) = (void *)HIKE_CALL_ELEM_1;\n\
             static __always_inline struct ipv6hdr *hike_ip6hdr(struct xdp_md *ctx, int x)\n\
             #define hike_pkt_ptr(ctx, off, len) ({\t\\\n\
             # define bpf_htons(x) __bpf_htons(x)\n\
             #define HIKE_IS_CHAIN(id)\t(((id) & HIKE_CHAIN_FLAG) != 0)\n\
             #define HIKE_CHAIN_FLAG 0x80000000\n\
             static __always_inline void *__hike_internal(void)\n\
             static int counter;\n\
             static (\n#define (\n#define\nstatic (*\nstatic (*const )(\n";
    assert_eq!(
        cdiag::declared_names(h),
        [
            "bpf_map_lookup_elem",
            "hike_elem_call_2",
            "hike_ip6hdr",
            "hike_pkt_ptr",
            "bpf_htons",
            "HIKE_IS_CHAIN"
        ]
    );
    for s in [
        "",
        "static",
        "#",
        "# define é(",
        "static é(",
        "static (*é)(",
        "static x (*",
    ] {
        let _ = cdiag::declared_names(s);
    }
    let mut d = cdiag::parse_clang("a.c:1:1: error: call to undeclared function ''\n");
    cdiag::suggest_known(&mut d, &known());
    let mut d = cdiag::parse_clang("a.c:1:1: error: use of undeclared identifier 'é'\n");
    cdiag::suggest_known(&mut d, &known());
    assert!(
        d[0].help
            .as_deref()
            .is_some_and(|h| !h.contains("did you mean"))
    );
}
