//! The learner's side of lessons: the workspace with their copies of the exercise files,
//! progress kept in a small TOML file, and the checks that decide whether an exercise is
//! done. Checks look at state (does it compile, what does the verifier say, what verdict
//! and map changes does a crafted packet give, what do counters do under real traffic),
//! never at what was typed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result, bail};
use eclat_kernel::{maps, modules};
use eclat_model::packetspec;
use serde::{Deserialize, Serialize};

use crate::commands::Session;
use crate::lessons::{self, Check, Exercise, Lesson, MapDelta};

/// The home of the user who ran sudo (or ours).
pub fn user_home() -> PathBuf {
    if let Ok(u) = std::env::var("SUDO_USER")
        && let Ok(Some(pw)) = nix::unistd::User::from_name(&u)
    {
        return pw.dir;
    }
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// Gives a file or folder we created as root to the user who ran sudo.
fn give_to_user(path: &Path) {
    let (Ok(uid), Ok(gid)) = (std::env::var("SUDO_UID"), std::env::var("SUDO_GID")) else {
        return;
    };
    if let (Ok(uid), Ok(gid)) = (uid.parse::<u32>(), gid.parse::<u32>()) {
        let _ = nix::unistd::chown(path, Some(uid.into()), Some(gid.into()));
    }
}

/// Where the learner's files live: `$ECLAT_LAB_WORKSPACE`, else `~/eclat-lab`.
pub fn workspace_root() -> PathBuf {
    std::env::var_os("ECLAT_LAB_WORKSPACE")
        .map(PathBuf::from)
        .unwrap_or_else(|| user_home().join("eclat-lab"))
}

/// `$ECLAT_LAB_PROGRESS`, else `$XDG_STATE_HOME/eclat-lab/progress.toml`, else
/// `~/.local/state/eclat-lab/progress.toml`.
pub fn progress_path() -> PathBuf {
    if let Some(p) = std::env::var_os("ECLAT_LAB_PROGRESS") {
        return PathBuf::from(p);
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|_| std::env::var("SUDO_USER").is_err())
        .map(PathBuf::from)
        .unwrap_or_else(|| user_home().join(".local/state"));
    base.join("eclat-lab/progress.toml")
}

/// Progress, as a plain TOML file that can be copied between machines.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Progress {
    /// the lesson the tutorial opens on
    #[serde(default)]
    pub current: Option<String>,
    #[serde(default)]
    pub lessons: BTreeMap<String, LessonProgress>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LessonProgress {
    #[serde(default)]
    pub step: usize,
    /// exercises whose checks passed
    #[serde(default)]
    pub passed: BTreeSet<String>,
    /// exercise id -> hints shown so far
    #[serde(default)]
    pub hints: BTreeMap<String, usize>,
}

impl Progress {
    pub fn load() -> Self {
        std::fs::read_to_string(progress_path())
            .ok()
            .and_then(|s| toml::from_str(&s).ok())
            .unwrap_or_default()
    }

    pub fn save(&self) -> Result<()> {
        let p = progress_path();
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            give_to_user(d);
        }
        let tmp = p.with_extension("toml.tmp");
        std::fs::write(&tmp, toml::to_string_pretty(self)?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &p)?;
        give_to_user(&p);
        Ok(())
    }

    pub fn lesson(&mut self, id: &str) -> &mut LessonProgress {
        self.lessons.entry(id.to_string()).or_default()
    }
}

/// The learner's copy of an exercise file, created from the embedded starter if missing.
pub fn workspace_file(lesson: &Lesson, ex: &Exercise) -> Result<PathBuf> {
    let dir = workspace_root().join(&lesson.id);
    let path = dir.join(&ex.file);
    if !path.exists() {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        give_to_user(&workspace_root());
        give_to_user(&dir);
        write_starter(lesson, ex, &path)?;
    }
    Ok(path)
}

fn write_starter(lesson: &Lesson, ex: &Exercise, path: &Path) -> Result<()> {
    let text = lessons::exercise_file(lesson, "starter", &ex.file)
        .with_context(|| format!("lesson {} has no starter/{}", lesson.id, ex.file))?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    give_to_user(path);
    Ok(())
}

/// If `path` is `<workspace>/<lesson id>/<exercise file>` and missing, writes the starter.
pub fn ensure_lesson_file(path: &Path) {
    let Ok(rel) = path.strip_prefix(workspace_root()) else {
        return;
    };
    let mut parts = rel.iter().filter_map(|p| p.to_str());
    let (Some(id), Some(file), None) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let Ok(lesson) = lessons::find(id) else {
        return;
    };
    if let Some(ex) = lesson.exercises.iter().find(|e| e.file == file) {
        let _ = workspace_file(&lesson, ex);
    }
}

/// Puts the embedded starter back (the learner's edits are moved aside, not lost).
pub fn reset_exercise(lesson: &Lesson, ex: &Exercise) -> Result<(PathBuf, PathBuf)> {
    let path = workspace_file(lesson, ex)?;
    let backup = path.with_extension(format!(
        "{}.bak",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    std::fs::rename(&path, &backup).with_context(|| format!("keeping {}", path.display()))?;
    write_starter(lesson, ex, &path)?;
    Ok((path, backup))
}

/// What a reset says: the file is the starter again, and where the learner's version went.
pub fn reset_note(path: &Path, backup: &Path) -> String {
    format!(
        "{} is the starter again (your version: {})",
        path.display(),
        backup.display()
    )
}

/// The outcome of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub what: String,
    pub passed: bool,
    pub expected: String,
    pub seen: String,
    /// the hint that helps, 0-based
    pub hint: Option<usize>,
    /// when the verifier rejected the program: its explanation (class, source line, advice)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<eclat_model::verifier::Explanation>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub lesson: String,
    pub exercise: String,
    pub file: String,
    pub passed: bool,
    pub results: Vec<CheckResult>,
}

impl CheckReport {
    pub fn render(&self, ex: &Exercise) -> String {
        let mut s = format!(
            "{} {}: {} ({})\n",
            if self.passed { "PASS" } else { "FAIL" },
            self.exercise,
            ex.title,
            self.file
        );
        for r in &self.results {
            s.push_str(&format!(
                "  [{}] {}\n",
                if r.passed { "ok" } else { "x " },
                r.what
            ));
            if !r.passed {
                s.push_str(&format!(
                    "       expected: {}\n       seen:     {}\n",
                    r.expected, r.seen
                ));
                if let Some(h) = r.hint {
                    s.push_str(&format!(
                        "       hint {}: {}\n",
                        h + 1,
                        ex.hints.get(h).map(String::as_str).unwrap_or("")
                    ));
                }
            }
        }
        s.trim_end().to_string()
    }
}

fn is_c(file: &Path) -> bool {
    file.extension().is_some_and(|e| e == "c")
}

/// Value of `key` in a dump (0 when absent).
fn value_of(d: &maps::Dump, key: &str) -> Result<i128> {
    let k = maps::parse_number("key", key)?;
    let bytes = k.to_le_bytes();
    let ks = d.map.key_size as usize;
    if ks > 8 {
        bail!(
            "map {} has {}-byte keys: checks handle keys up to 8 bytes",
            d.map.name,
            ks
        );
    }
    Ok(d.rows
        .iter()
        .find(|r| r.key_bytes == bytes[..ks])
        .map(|r| match &r.value {
            maps::Value::Int(v) => *v as i128,
            maps::Value::Words(w) => w.first().copied().unwrap_or(0) as i128,
            maps::Value::Bytes(_) => 0,
        })
        .unwrap_or(0))
}

fn find_dump<'a>(dumps: &'a [maps::Dump], name: &str) -> Option<&'a maps::Dump> {
    dumps
        .iter()
        .find(|d| d.map.name == name || d.map.name.ends_with(&format!("/{name}")))
}

/// Runs the checks of `ex` against `file` (the learner's copy, or a starter/solution in
/// `dev check`). Checks stop at the first failure: later ones would only repeat it.
pub fn run_checks(
    session: &Session,
    lesson: &Lesson,
    ex: &Exercise,
    file: &Path,
) -> Result<CheckReport> {
    let mut results = Vec::new();
    for check in &ex.checks {
        let r = run_check(session, check, file);
        let r = r.unwrap_or_else(|e| error_result(check, &e));
        let failed = !r.passed;
        results.push(r);
        if failed {
            break;
        }
    }
    let passed = results.iter().all(|r| r.passed) && results.len() == ex.checks.len();
    Ok(CheckReport {
        lesson: lesson.id.clone(),
        exercise: ex.id.clone(),
        file: file.display().to_string(),
        passed,
        results,
    })
}

/// Context of the error of a traffic check's setup command. When the command does not
/// involve the learner's file (`topo up` while another topology is up, say), the lab is the
/// problem, not the exercise: the report says so and gives no hint about the code.
#[derive(Debug)]
struct LabSetupError {
    command: String,
    learners_file: bool,
}

impl std::fmt::Display for LabSetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "setup `{}`", self.command)
    }
}

/// The result of a check that could not run.
fn error_result(check: &Check, e: &anyhow::Error) -> CheckResult {
    match e.downcast_ref::<LabSetupError>() {
        Some(s) if !s.learners_file => CheckResult {
            what: describe(check),
            passed: false,
            expected: format!("the check's setup `{}` to run", s.command),
            seen: format!(
                "{e:#} (this is about the lab, not your code: fix it, then run the check again)"
            ),
            hint: None,
            explanation: None,
        },
        _ => CheckResult {
            what: describe(check),
            passed: false,
            expected: "the check to run".into(),
            seen: format!("{e:#}"),
            hint: check.hint(),
            explanation: None,
        },
    }
}

fn describe(c: &Check) -> String {
    match c {
        Check::Compiles { .. } => "it compiles".into(),
        Check::Verifier { .. } => "the kernel's verifier accepts it".into(),
        Check::Verdict { packet, expect, .. } => format!("`{packet}` gives {expect}"),
        Check::Traffic { send, .. } => format!("after `{send}`, the counters move as expected"),
    }
}

fn result(
    c: &Check,
    passed: bool,
    expected: impl Into<String>,
    seen: impl Into<String>,
) -> CheckResult {
    CheckResult {
        what: describe(c),
        passed,
        expected: expected.into(),
        seen: seen.into(),
        hint: c.hint(),
        explanation: None,
    }
}

fn run_check(session: &Session, check: &Check, file: &Path) -> Result<CheckResult> {
    let include = session.env.state_dir.join("include");
    match check {
        Check::Compiles { .. } => {
            if is_c(file) {
                let out = file.with_extension("o");
                let inc = modules::headers(&include)?;
                match modules::compile(file, &out, &inc) {
                    Ok(_) => Ok(result(check, true, "no compile error", "compiled")),
                    Err(e) => Ok(result(check, false, "no compile error", e.to_string())),
                }
            } else {
                let src = std::fs::read_to_string(file)?;
                let c = crate::scripts::compile(&src, &file.display().to_string(), &[]);
                let errors: Vec<String> = c
                    .diagnostics
                    .iter()
                    .filter(|d| d.is_error())
                    .map(|d| format!("line {}: {}", d.span.line_col(&src).0, d.message))
                    .collect();
                Ok(result(
                    check,
                    errors.is_empty(),
                    "no compile error",
                    if errors.is_empty() {
                        "compiled".into()
                    } else {
                        errors.join("; ")
                    },
                ))
            }
        }
        Check::Verifier { .. } => {
            let rep = match modules::build(file, &include) {
                Ok(r) => r,
                Err(e) => {
                    return Ok(result(
                        check,
                        false,
                        "every program accepted",
                        e.to_string(),
                    ));
                }
            };
            let rejected: Vec<String> = rep
                .programs
                .iter()
                .filter(|p| !p.accepted)
                .map(|p| match &p.explanation {
                    Some(e) => format!(
                        "{} rejected: {}{}",
                        p.name,
                        e.class.title(),
                        e.source
                            .as_ref()
                            .map(|s| format!(" at {}:{}", s.file, s.line))
                            .unwrap_or_default()
                    ),
                    None => format!("{} rejected", p.name),
                })
                .collect();
            let mut r = result(
                check,
                rejected.is_empty() && !rep.programs.is_empty(),
                "every program accepted",
                if rep.programs.is_empty() {
                    "the object holds no program (is `SEC(\"xdp\")` missing? In a HIKe module, \
                     `EXPORT_HIKE_PROG(name)` writes it)"
                        .to_string()
                } else if rejected.is_empty() {
                    "accepted".into()
                } else {
                    rejected.join("; ")
                },
            );
            r.explanation = rep
                .programs
                .iter()
                .find(|p| !p.accepted)
                .and_then(|p| p.explanation.clone());
            Ok(r)
        }
        Check::Verdict {
            packet,
            expect,
            program,
            maps: deltas,
            ..
        } => {
            let frame = packetspec::frame(packet)?;
            let want = hike::XdpAction::parse(expect)
                .with_context(|| format!("`{expect}` is not an XDP verdict"))?;
            if !is_c(file) {
                return crate::scripts::check_verdict(session, file, &frame, want, deltas)
                    .map(|(ok, exp, seen)| result(check, ok, exp, seen));
            }
            let rep = match modules::build(file, &include) {
                Ok(r) if r.accepted() => r,
                Ok(_) => {
                    return Ok(result(
                        check,
                        false,
                        format!("{want}"),
                        "the verifier rejects the program",
                    ));
                }
                Err(e) => return Ok(result(check, false, format!("{want}"), e.to_string())),
            };
            // recorded in the journal before it exists, removed when dropped
            static CHECKS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let scratch = eclat_kernel::bpffs::Scratch::create(
                &session.env,
                &format!(
                    "check-{}-{}",
                    std::process::id(),
                    CHECKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                ),
            )?;
            let runs = modules::run_packets(
                Path::new(&rep.object),
                program.as_deref(),
                &[frame.clone(), frame],
                scratch.path(),
            )?;
            drop(scratch);
            let seen = hike::XdpAction::from_u32(runs[0].verdict)
                .map(|a| a.to_string())
                .unwrap_or_else(|| runs[0].verdict.to_string());
            if runs[0].verdict != want as u32 {
                return Ok(result(check, false, want.to_string(), seen));
            }
            // deltas between the first and the second run of the same packet
            for d in deltas {
                let (Some(a), Some(b)) = (
                    find_dump(&runs[0].maps, &d.map),
                    find_dump(&runs[1].maps, &d.map),
                ) else {
                    return Ok(result(
                        check,
                        false,
                        format!("a map named {}", d.map),
                        "no such map in the object",
                    ));
                };
                let got = value_of(b, &d.key)? - value_of(a, &d.key)?;
                if got != d.delta as i128 {
                    return Ok(result(
                        check,
                        false,
                        format!("{}[{}] {:+} per packet", d.map, d.key, d.delta),
                        format!("{got:+}"),
                    ));
                }
            }
            Ok(result(check, true, want.to_string(), seen))
        }
        Check::Traffic {
            setup,
            send,
            maps: deltas,
            replies,
            ..
        } => {
            let stop = AtomicBool::new(false);
            let subst = |c: &str| c.replace("{file}", &file.display().to_string());
            for c in setup {
                let cmd = crate::repl::parse_line(&subst(c))
                    .map_err(|e| anyhow::anyhow!(e))?
                    .context("empty setup command")?;
                session.run(cmd, &stop).map_err(|e| {
                    e.context(LabSetupError {
                        command: c.clone(),
                        learners_file: c.contains("{file}"),
                    })
                })?;
            }
            let before: Vec<(i128, &MapDelta)> = deltas
                .iter()
                .map(|d| {
                    Ok((
                        value_of(
                            &maps::dump(&maps::find(&session.env, &d.map)?, 100_000)?,
                            &d.key,
                        )?,
                        d,
                    ))
                })
                .collect::<Result<_>>()?;
            let cmd = crate::repl::parse_line(&subst(send))
                .map_err(|e| anyhow::anyhow!(e))?
                .context("empty send command")?;
            let out = session.run(cmd, &stop)?;
            if let Some(want) = replies {
                let got = out.json.get("replies").and_then(|v| v.as_u64());
                if got != Some(*want) {
                    return Ok(result(
                        check,
                        false,
                        format!("{want} echo replies"),
                        format!(
                            "{} echo replies",
                            got.map(|g| g.to_string()).unwrap_or("no".into())
                        ),
                    ));
                }
            }
            for (b, d) in before {
                let after = value_of(
                    &maps::dump(&maps::find(&session.env, &d.map)?, 100_000)?,
                    &d.key,
                )?;
                if after - b != d.delta as i128 {
                    return Ok(result(
                        check,
                        false,
                        format!("{}[{}] to grow by {}", d.map, d.key, d.delta),
                        format!("it grew by {}", after - b),
                    ));
                }
            }
            Ok(result(
                check,
                true,
                "the counters as expected",
                "as expected",
            ))
        }
    }
}

/// `dev check`: for every exercise, the starter must fail its checks and the solution pass
/// them. Runs in an isolated lab so it never touches the learner's.
pub fn dev_check(session: &Session) -> Result<(bool, String, serde_json::Value)> {
    // a throw-away lab: its own namespaces, bpffs root and state, reset at the end
    let own = Session::new(
        eclat_kernel::LabEnv::for_test("devchk"),
        crate::commands::Origin::Session,
    );
    let r = dev_check_in(&own);
    if let Ok(mut j) = eclat_kernel::journal::Journal::open(&own.env.state_dir) {
        let _ = eclat_kernel::cleanup::reset(&own.env, &mut j);
    }
    let _ = std::fs::remove_dir_all(&own.env.state_dir);
    let _ = session;
    r
}

fn dev_check_in(session: &Session) -> Result<(bool, String, serde_json::Value)> {
    let dir = std::env::temp_dir().join(format!("eclat-dev-check-{}", std::process::id()));
    let mut ok = true;
    let mut text = String::new();
    let mut rows = Vec::new();
    for lesson in lessons::all() {
        for ex in &lesson.exercises {
            for kind in ["starter", "solution"] {
                let d = dir.join(&lesson.id).join(kind);
                std::fs::create_dir_all(&d)?;
                let f = d.join(&ex.file);
                std::fs::write(
                    &f,
                    lessons::exercise_file(&lesson, kind, &ex.file).unwrap_or(""),
                )?;
                let rep = run_checks(session, &lesson, ex, &f)?;
                let good = (kind == "solution") == rep.passed;
                ok &= good;
                let why = rep
                    .results
                    .iter()
                    .find(|r| !r.passed)
                    .map(|r| format!("{}: {}", r.what, r.seen))
                    .unwrap_or_default();
                text.push_str(&format!(
                    "{} {}/{} {}: {}{}\n",
                    if good { "ok  " } else { "FAIL" },
                    lesson.id,
                    ex.id,
                    kind,
                    if rep.passed { "passes" } else { "fails" },
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(" ({why})")
                    }
                ));
                rows.push(serde_json::json!({"lesson": lesson.id, "exercise": ex.id, "file": kind, "passed": rep.passed, "as_expected": good}));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    text.push_str(if ok {
        "every starter fails and every solution passes"
    } else {
        "dev check FAILED"
    });
    Ok((ok, text, serde_json::json!(rows)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traffic(hint: Option<usize>) -> Check {
        Check::Traffic {
            setup: vec!["topo up".into(), "load {file}".into()],
            send: "traffic --from tg --to fc01::2 --udp 5000 --count 100".into(),
            maps: vec![],
            replies: None,
            hint,
        }
    }

    fn setup_error(command: &str) -> anyhow::Error {
        anyhow::anyhow!("topology `pair` is already up; run `eclat-lab topo down` first").context(
            LabSetupError {
                command: command.into(),
                learners_file: command.contains("{file}"),
            },
        )
    }

    #[test]
    fn a_failed_lab_setup_is_not_blamed_on_the_code() {
        let r = error_result(&traffic(Some(1)), &setup_error("topo up"));
        assert!(!r.passed);
        assert_eq!(r.hint, None, "no hint about the code");
        assert_eq!(r.expected, "the check's setup `topo up` to run");
        assert!(
            r.seen
                .starts_with("setup `topo up`: topology `pair` is already up")
        );
        assert!(r.seen.contains("not your code"), "{}", r.seen);
    }

    #[test]
    fn a_failed_setup_with_the_learners_file_keeps_the_hint() {
        let r = error_result(&traffic(Some(1)), &setup_error("load {file}"));
        assert_eq!(r.hint, Some(1));
        assert_eq!(r.expected, "the check to run");
        assert!(r.seen.starts_with("setup `load {file}`: "), "{}", r.seen);
        // any other error that stops a check keeps the hint too
        let r = error_result(&traffic(Some(0)), &anyhow::anyhow!("no map pkt_count"));
        assert_eq!((r.hint, r.seen.as_str()), (Some(0), "no map pkt_count"));
    }
}
