//! The learner's workspace: their own copies of the exercise files (`~/eclat-lab/<lesson>/`,
//! or `$ECLAT_LAB_WORKSPACE`), created from the embedded starters, and put back on request
//! (their version kept beside it).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::lessons::{self, Exercise, Lesson};

pub use crate::home::user_home;

/// Runs `f`, which writes in the learner's folders, as the learner (the user who ran
/// `sudo`): what it creates is theirs, and their symbolic links get root nothing. Nothing
/// is chowned afterwards (a path can be swapped between a write and a chown).
pub(crate) fn as_learner<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    eclat_kernel::perms::as_invoking_user(f)
        .context("taking the rights of the user who ran sudo")?
}

/// Where the learner's files live: `$ECLAT_LAB_WORKSPACE`, else `~/eclat-lab`.
pub fn root() -> PathBuf {
    crate::home::workspace()
}

/// Where the learner's copy of an exercise file is (it may not exist yet).
pub fn path_of(lesson: &Lesson, ex: &Exercise) -> PathBuf {
    root().join(&lesson.id).join(&ex.file)
}

/// The learner's copy of an exercise file, created from the embedded starter if missing.
pub fn file(lesson: &Lesson, ex: &Exercise) -> Result<PathBuf> {
    let path = path_of(lesson, ex);
    let dir = path.parent().expect("a lesson folder");
    as_learner(|| {
        if !dir.exists()
            && let Some(old) = lesson
                .formerly
                .iter()
                .map(|f| root().join(f))
                .find(|d| d.is_dir())
        {
            // the learner's work from before the course was renumbered moves with its lesson
            std::fs::rename(&old, dir)
                .with_context(|| format!("moving {} to {}", old.display(), dir.display()))?;
        }
        if !path.exists() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            write_starter(lesson, ex, &path)?;
        }
        Ok(())
    })?;
    Ok(path)
}

fn write_starter(lesson: &Lesson, ex: &Exercise, path: &Path) -> Result<()> {
    write_copy(lesson, ex, "starter", path)
}

/// Writes the lesson's `kind` (`starter` or `solution`) copy of the exercise file at `path`.
fn write_copy(lesson: &Lesson, ex: &Exercise, kind: &str, path: &Path) -> Result<()> {
    let text = lessons::exercise_file(lesson, kind, &ex.file)
        .with_context(|| format!("lesson {} has no {kind}/{}", lesson.id, ex.file))?;
    as_learner(|| std::fs::write(path, text).with_context(|| format!("writing {}", path.display())))
}

/// The exercise a workspace path is the file of: `<workspace>/<lesson id>/<exercise file>`.
pub fn exercise_of(path: &Path) -> Option<(Lesson, Exercise)> {
    let rel = path.strip_prefix(root()).ok()?;
    let mut parts = rel.iter().filter_map(|p| p.to_str());
    let (Some(id), Some(file), None) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let lesson = lessons::find(id).ok()?;
    let ex = lesson.exercises.iter().find(|e| e.file == file)?.clone();
    Some((lesson, ex))
}

/// If `path` is an exercise file of the workspace that does not exist yet, writes its
/// starter (a command naming `~/eclat-lab/...` before the learner opened the exercise).
pub fn ensure(path: &Path) -> Result<()> {
    if !path.exists()
        && let Some((lesson, ex)) = exercise_of(path)
    {
        file(&lesson, &ex)?;
    }
    Ok(())
}

/// Puts the embedded starter back (the learner's edits are moved aside, not lost).
/// Returns (the file, where their version went).
pub fn reset(lesson: &Lesson, ex: &Exercise) -> Result<(PathBuf, PathBuf)> {
    replace_with(lesson, ex, "starter")
}

/// Puts the reference solution in place of the learner's file (an instructor catching a
/// learner up; their version is moved aside, not lost). Returns (the file, where their
/// version went).
pub fn solve(lesson: &Lesson, ex: &Exercise) -> Result<(PathBuf, PathBuf)> {
    replace_with(lesson, ex, "solution")
}

fn replace_with(lesson: &Lesson, ex: &Exercise, kind: &str) -> Result<(PathBuf, PathBuf)> {
    let path = file(lesson, ex)?;
    let backup = path.with_extension(format!(
        "{}.bak",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    as_learner(|| {
        std::fs::rename(&path, &backup).with_context(|| format!("keeping {}", path.display()))
    })?;
    write_copy(lesson, ex, kind, &path)?;
    Ok((path, backup))
}
