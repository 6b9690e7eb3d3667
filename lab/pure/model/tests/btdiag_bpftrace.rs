//! eclat_model::btdiag on what the real bpftrace printed (tests/fixtures/bpftrace/*.out, made
//! by tests/fixtures/bpftrace/capture.sh from src/: lesson 3's aborts.bt with one mistake
//! each, run as its check runs it): each fixture's diagnostics as JSON and as rendered text
//! are held equal to its `.golden` (`UPDATE_GOLDEN=1 cargo test -p eclat-model --test
//! btdiag_bpftrace` writes them again), and the facts a learner needs are asserted one by one.

use std::path::PathBuf;

use eclat_model::btdiag;
use eclat_model::cdiag::{self, CDiagnostic, LineCol, Severity};

/// The folder capture.sh ran the programs from.
const WS: &str = "/tmp/eclat-bpftrace-fixtures/ws";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bpftrace")
}

/// The fixture parsed with the program's text (from src/, as the check reads the learner's
/// file), made relative to the learner's folder (as the check does).
fn parsed(name: &str) -> Vec<CDiagnostic> {
    let out = std::fs::read_to_string(dir().join(format!("{name}.out"))).unwrap();
    let mut d = btdiag::parse(&out, |f| {
        let f = f.strip_prefix(WS)?.strip_prefix('/')?;
        std::fs::read_to_string(dir().join("src").join(f)).ok()
    });
    cdiag::relative_to(&mut d, WS);
    d
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

const ALL: [&str; 8] = [
    "field", "format", "function", "kprobe", "probe", "syntax", "types", "unicode",
];

#[test]
fn every_fixture_matches_its_golden() {
    for name in ALL {
        golden(name, &parsed(name));
    }
}

/// bpftrace's RLIMIT_MEMLOCK complaint (printed first in this VM's containers) is about the
/// machine and stops nothing: a note, after every message about the learner's program.
#[test]
fn the_memlock_notice_is_a_note_after_the_programs_errors() {
    for name in ALL {
        let d = parsed(name);
        let at = d
            .iter()
            .position(|d| d.message.contains("RLIMIT_MEMLOCK"))
            .unwrap_or_else(|| panic!("{name}: the fixture has the notice"));
        assert_eq!(d[at].severity, Severity::Note, "{name}");
        assert_eq!(at, d.len() - 1, "{name}: the notice comes last");
        assert!(
            d.iter().any(|d| d.severity == Severity::Error),
            "{name}: the learner's error is still an error"
        );
    }
}

/// The learner's error, not the line before it: its place in their file, the line as
/// bpftrace quoted it and the marks under the place, kept as separate lines.
#[test]
fn an_error_keeps_its_place_line_and_marks() {
    let d = parsed("field");
    // this machine's bpftrace also says it cannot raise RLIMIT_MEMLOCK: an error with no place
    let e: Vec<&CDiagnostic> = d.iter().filter(|d| d.file.is_some()).collect();
    assert_eq!(e.len(), 1, "{d:#?}");
    let e = e[0];
    assert_eq!(e.file.as_deref(), Some("field.bt"));
    assert_eq!(e.severity, Severity::Error);
    assert_eq!(e.span, Some(LineCol { line: 18, col: 30 }));
    assert!(e.message.ends_with("does not contain a field named 'prog'"));
    assert_eq!(
        e.snippet.as_deref(),
        Some("tracepoint:xdp:xdp_exception /args->prog == $1/")
    );
    assert_eq!(
        e.marker.as_deref(),
        Some("                             ~~~~~~~~~~~")
    );
    assert!(e.help.as_deref().unwrap().contains("bpftrace -lv"));
    let text = cdiag::render(&d);
    assert!(
        text.contains(
            "field.bt:18:30: error: Struct/union of type 'struct _tracepoint_xdp_xdp_exception' \
             does not contain a field named 'prog'\n   18 | tracepoint:xdp:xdp_exception \
             /args->prog == $1/\n      |                              ~~~~~~~~~~~\n"
        ),
        "{text}"
    );
}

/// A tab counts one column in bpftrace's place (as in a learner's editor, and clang's);
/// bpftrace quotes it as four spaces, the marks under the place.
#[test]
fn a_tab_is_one_column_and_the_marks_stay_under_the_place() {
    let d = parsed("function");
    let e = d.iter().find(|d| d.file.is_some()).unwrap();
    assert_eq!(e.span, Some(LineCol { line: 20, col: 12 }));
    assert_eq!(e.snippet.as_deref(), Some("    @aborts = cnt();"));
    assert_eq!(e.marker.as_deref(), Some("              ~~~"));
    assert!(e.help.as_deref().unwrap().contains("count()"));
}

/// bpftrace counts bytes: after an em dash (3 bytes) its column and marks are two too far
/// right; here they are characters.
#[test]
fn columns_and_marks_count_characters() {
    let d = parsed("unicode");
    let e = d.iter().find(|d| d.file.is_some()).unwrap();
    let raw = std::fs::read_to_string(dir().join("unicode.out")).unwrap();
    assert!(raw.contains("unicode.bt:13:80-83: ERROR: Unknown function: cnt"));
    assert_eq!(e.span, Some(LineCol { line: 13, col: 78 }));
    let snippet = e.snippet.as_deref().unwrap();
    let at = e.marker.as_deref().unwrap().find('~').unwrap();
    let under: String = snippet.chars().skip(at).take(3).collect();
    assert_eq!(under, "cnt");
}

/// A place over lines (`14-18`, which starts after the token before: the end of `BEGIN`'s
/// block) is put on the first line of code in it, quoted from the learner's file.
#[test]
fn a_place_over_lines_is_put_on_its_code() {
    let d = parsed("probe");
    let e = d.iter().find(|d| d.file.is_some()).unwrap();
    assert_eq!(e.message, "tracepoint not found: xdp:xdp_exceptoin");
    assert_eq!(e.span, Some(LineCol { line: 18, col: 1 }));
    assert_eq!(
        e.snippet.as_deref(),
        Some("tracepoint:xdp:xdp_exceptoin /args->prog_id == $1/")
    );
    assert!(e.help.as_deref().unwrap().contains("tracepoint:xdp:*"));
    // without the file's text, where bpftrace said
    let out = std::fs::read_to_string(dir().join("probe.out")).unwrap();
    let d = btdiag::parse(&out, |_| None);
    let e = d.iter().find(|d| d.file.is_some()).unwrap();
    assert_eq!(e.span, Some(LineCol { line: 14, col: 1 }));
    assert_eq!(e.snippet, None);
}

/// What the program printed before bpftrace's first message is not a diagnostic; nor is
/// `Attaching N probes...`; another line after a message is kept as its note.
#[test]
fn other_lines() {
    let d = btdiag::parse(
        "counting the packets program 7 aborts\nAttaching 2 probes...\nERROR: Error attaching \
         probe: 'kprobe:x'\ncreate_probe_event: open(/sys/kernel/tracing/kprobe_events): No \
         such file or directory\nHINT: mount tracefs\n",
        |_| None,
    );
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].message, "Error attaching probe: 'kprobe:x'");
    assert_eq!(d[0].span, None);
    assert_eq!(
        d[0].notes,
        ["create_probe_event: open(/sys/kernel/tracing/kprobe_events): No such file or directory"]
    );
    assert_eq!(d[0].help.as_deref(), Some("mount tracefs"));
}
