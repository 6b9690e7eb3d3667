//! Golden files: tokens, syntax tree, bytecode listing (`--emit asm`) and C (`--emit c`) of every
//! script in tests/scripts, the rendered diagnostics of every script in tests/diagnostics, and
//! the corpus of original-style scripts (tests/corpus: each compiles unchanged, its listing is
//! golden; tests/corpus/broken: each is refused, its diagnostics are golden).
//!
//! Regenerate after an intended change with:
//!
//! ```sh
//! UPDATE_GOLDEN=1 cargo test -p eclat --test golden
//! ```
//!
//! and review the diff under tests/golden/.

use std::path::{Path, PathBuf};

fn dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(sub)
}

fn sources(sub: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir(sub))
        .expect("test dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eclat"))
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

/// Compares `actual` with the golden file (or rewrites it under UPDATE_GOLDEN=1); returns a
/// failure message.
fn check(name: &str, actual: &str) -> Option<String> {
    let path: PathBuf = dir("golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return None;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    (expected != actual).then(|| {
        let first = expected.lines().zip(actual.lines()).position(|(a, b)| a != b);
        format!(
            "{} differs (first differing line {:?}); rerun with UPDATE_GOLDEN=1 and review the diff",
            Path::new(name).display(),
            first.map(|l| l + 1)
        )
    })
}

fn defines() -> Vec<(String, String)> {
    vec![("DEVNAME".to_string(), "veth0".to_string())]
}

#[test]
fn scripts() {
    let catalog = hike::catalog::Catalog::reference();
    let mut failures = Vec::new();
    let all = sources("scripts");
    assert!(all.len() >= 8, "scripts found: {}", all.len());
    for (stem, src) in &all {
        let (tokens, _) = eclat::lexer::lex(src, &defines());
        failures.extend(check(
            &format!("{stem}.tokens"),
            &eclat::lexer::dump(&tokens),
        ));
        let mut d = Vec::new();
        let module = eclat::parser::parse(&tokens, &mut d);
        failures.extend(check(&format!("{stem}.ast"), &eclat::ast::dump(&module)));
        let file = format!("scripts/{stem}.eclat");
        let c = eclat::compile(src, &file, &catalog, &defines());
        assert!(!c.has_errors(), "{}", c.render(src, &file, false));
        assert!(
            c.diagnostics.is_empty(),
            "{stem}: {}",
            c.render(src, &file, false)
        );
        let p = c.output.expect("output");
        failures.extend(check(&format!("{stem}.asm"), &p.emit_asm()));
        failures.extend(check(&format!("{stem}.c"), &p.emit_c()));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn diagnostics_text(c: &eclat::Compilation, src: &str, file: &str) -> String {
    let mut text = c.render(src, file, false);
    for d in &c.diagnostics {
        text.push_str(&d.short(src, file));
        text.push('\n');
    }
    text
}

/// Scripts written the way the original eCLAT's are (its package and loader names, its
/// forms): every one it accepts compiles here unchanged, with no diagnostic at all.
#[test]
fn corpus_of_original_style_scripts() {
    let catalog = hike::catalog::Catalog::reference();
    let mut failures = Vec::new();
    let scripts = sources("corpus");
    let mut compiled = 0;
    for (stem, src) in &scripts {
        let file = format!("corpus/{stem}.eclat");
        let c = eclat::compile(src, &file, &catalog, &defines());
        match &c.output {
            Some(p) if c.diagnostics.is_empty() => {
                compiled += 1;
                failures.extend(check(&format!("corpus/{stem}.asm"), &p.emit_asm()));
            }
            _ => failures.push(format!(
                "{file} does not compile unchanged:\n{}",
                c.render(src, &file, false)
            )),
        }
    }
    let broken = sources("corpus/broken");
    for (stem, src) in &broken {
        let file = format!("corpus/broken/{stem}.eclat");
        let c = eclat::compile(src, &file, &catalog, &defines());
        assert!(c.has_errors(), "{file} should be refused");
        failures.extend(check(
            &format!("corpus/{stem}.diag"),
            &diagnostics_text(&c, src, &file),
        ));
    }
    println!(
        "corpus: {compiled} of {} original-style scripts compile unchanged; {} broken ones refused",
        scripts.len(),
        broken.len()
    );
    assert!(scripts.len() >= 24 && broken.len() >= 3);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn diagnostics() {
    let catalog = hike::catalog::Catalog::reference();
    let mut failures = Vec::new();
    for (stem, src) in sources("diagnostics") {
        let file = format!("diagnostics/{stem}.eclat");
        let c = eclat::compile(&src, &file, &catalog, &defines());
        let mut text = diagnostics_text(&c, &src, &file);
        if let Some(p) = &c.output {
            text.push_str(&p.emit_asm());
        }
        failures.extend(check(&format!("{stem}.diag"), &text));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One indentation mistake is one error: every line of every script in tests/corpus and
/// tests/scripts indented by -6..+6 spaces in turn, each changed script compiled, and how many
/// errors each gets counted. The golden file holds the counts and every change that gets more
/// than one error, with its errors (a change that leaves the script valid gets none: the line
/// moved to another block).
#[test]
fn indentation_mistakes() {
    let catalog = hike::catalog::Catalog::reference();
    let mut counts = std::collections::BTreeMap::new();
    let mut more = String::new();
    for sub in ["corpus", "scripts"] {
        for (stem, src) in sources(sub) {
            let lines: Vec<&str> = src.split('\n').collect();
            for (i, line) in lines.iter().enumerate() {
                let text = line.trim_start_matches(' ');
                if text.is_empty() || text.starts_with('#') {
                    continue;
                }
                let width = line.len() - text.len();
                for delta in [-6i32, -3, -2, -1, 1, 2, 3, 4, 6] {
                    let Some(w) = width.checked_add_signed(delta as isize) else {
                        continue;
                    };
                    let mut changed = lines.clone();
                    let moved = format!("{}{text}", " ".repeat(w));
                    changed[i] = &moved;
                    let changed = changed.join("\n");
                    let c = eclat::compile(&changed, "x.eclat", &catalog, &defines());
                    let errors: Vec<String> = c
                        .diagnostics
                        .iter()
                        .filter(|d| d.is_error())
                        .map(|d| {
                            let (l, col) = d.span.line_col(&changed);
                            format!("{} {l}:{col}", d.code)
                        })
                        .collect();
                    *counts.entry(errors.len()).or_insert(0) += 1;
                    if errors.len() > 1 {
                        more.push_str(&format!(
                            "{sub}/{stem}.eclat:{} {delta:+}: {}\n",
                            i + 1,
                            errors.join(", ")
                        ));
                    }
                }
            }
        }
    }
    let counts: Vec<String> = counts
        .iter()
        .map(|(errors, n)| match errors {
            0 => format!("no error (still valid): {n}"),
            1 => format!("1 error: {n}"),
            e => format!("{e} errors: {n}"),
        })
        .collect();
    let text = format!(
        "# lines of tests/corpus and tests/scripts indented by -6..+6 spaces, one at a time\n\
         {}\n{more}",
        counts.join("; ")
    );
    let failures: Vec<String> = check("indentation_mistakes.txt", &text)
        .into_iter()
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
