//! `dev check`: the authoring check (as rustlings has it): for every exercise, the starter
//! must fail its checks, for a reason a check names (not because the check could not run),
//! and the solution must pass them.

use anyhow::Result;
use eclat_service::{CancellationToken, Lab};
use serde::Serialize;

use crate::{checks, lessons};

/// One file of one exercise, checked.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DevRow {
    /// the lesson's ID
    pub lesson: String,
    /// the exercise's ID within the lesson
    pub exercise: String,
    /// `starter` or `solution`
    pub file: String,
    /// true when the file passed every check of the exercise
    pub passed: bool,
    /// a starter failed a check that ran (or a solution passed)
    pub as_expected: bool,
    /// the first failed check, and what it saw
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// the checks cannot run on this machine (`why` says what is missing): reported, never
    /// counted as a pass
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_possible: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DevReport {
    /// true when every starter failed for a reason a check names and every solution passed; the
    /// command exits 1 otherwise
    pub ok: bool,
    /// two rows per exercise (`starter`, then `solution`), lesson by lesson
    pub rows: Vec<DevRow>,
}

/// Checks every starter and solution (written to a temporary folder) in scratch labs of
/// `lab`; with `only`, those of that lesson (a number, id or name).
pub async fn run(lab: &Lab, only: Option<&str>, cancel: &CancellationToken) -> Result<DevReport> {
    let lessons = match only {
        Some(l) => vec![lessons::find(l)?],
        None => lessons::all(),
    };
    let dir = std::env::temp_dir().join(format!("eclat-dev-check-{}", std::process::id()));
    let r = run_in(lab, &lessons, &dir, cancel).await;
    let _ = std::fs::remove_dir_all(&dir);
    r
}

async fn run_in(
    lab: &Lab,
    lessons: &[lessons::Lesson],
    dir: &std::path::Path,
    cancel: &CancellationToken,
) -> Result<DevReport> {
    let mut rows = Vec::new();
    for lesson in lessons {
        for ex in &lesson.exercises {
            for kind in ["starter", "solution"] {
                let d = dir.join(&lesson.id).join(kind);
                std::fs::create_dir_all(&d)?;
                let f = d.join(&ex.file);
                std::fs::write(
                    &f,
                    lessons::exercise_file(lesson, kind, &ex.file).unwrap_or(""),
                )?;
                let rep = checks::run(lab, lesson, ex, &f, cancel).await?;
                let failed = rep.results.iter().find(|r| !r.passed);
                // a starter fails for a reason only when the failing check ran: a check that
                // could not run (a broken setup) says "the check to run"/"the check's setup"
                let ran = failed.is_some_and(|r| {
                    r.expected != "the check to run" && !r.expected.starts_with("the check's setup")
                });
                let not_possible = rep.not_possible.is_some();
                let as_expected = if not_possible {
                    // neither passed nor failed: what is missing is in `why`
                    true
                } else if kind == "solution" {
                    rep.passed
                } else {
                    !rep.passed && ran
                };
                rows.push(DevRow {
                    lesson: lesson.id.clone(),
                    exercise: ex.id.clone(),
                    file: kind.into(),
                    passed: rep.passed,
                    as_expected,
                    why: failed.map(|r| format!("{}: {}", r.what, r.seen)),
                    not_possible,
                });
            }
        }
    }
    Ok(DevReport {
        ok: rows.iter().all(|r| r.as_expected),
        rows,
    })
}
