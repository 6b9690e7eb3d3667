//! The learner's progress: a small TOML file (`$ECLAT_LAB_PROGRESS`, else
//! `$XDG_STATE_HOME/eclat-lab/progress.toml`, else `~/.local/state/eclat-lab/progress.toml`)
//! that can be copied between machines: the lesson the tutorial opens on, each lesson's
//! step, passed exercises and hints seen.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::workspace::{as_learner, user_home};

pub fn path() -> PathBuf {
    if let Some(p) = std::env::var_os("ECLAT_LAB_PROGRESS") {
        return PathBuf::from(p);
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|_| std::env::var("SUDO_USER").is_err())
        .map(PathBuf::from)
        .unwrap_or_else(|| user_home().join(".local/state"));
    base.join("eclat-lab/progress.toml")
}

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
    /// The progress as the file has it: every valid field (a field that does not parse is
    /// left out, never the whole file; [`repair`] says which).
    pub fn load() -> Self {
        let mut p = read_file(&path())
            .map(|b| read_lenient(&String::from_utf8_lossy(&b)).0)
            .unwrap_or_default();
        p.carry_over_renamed();
        p
    }

    /// Progress saved under a lesson's former id (before the course was renumbered)
    /// counts for the lesson under its new id.
    pub fn carry_over_renamed(&mut self) {
        let old: Vec<String> = self.lessons.keys().cloned().collect();
        for id in old {
            if let Some(l) = crate::lessons::renamed(&id)
                && !self.lessons.contains_key(&l.id)
                && let Some(v) = self.lessons.remove(&id)
            {
                self.lessons.insert(l.id.clone(), v);
            }
        }
        if let Some(cur) = &self.current
            && let Some(l) = crate::lessons::renamed(cur)
        {
            self.current = Some(l.id);
        }
    }

    pub fn save(&self) -> Result<()> {
        let p = path();
        let text = toml::to_string_pretty(self)?;
        as_learner(|| {
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            }
            let tmp = p.with_extension("toml.tmp");
            // a file (or link) left at the temporary name is replaced, never written through
            let _ = std::fs::remove_file(&tmp);
            std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, &p).with_context(|| format!("writing {}", p.display()))
        })
    }

    pub fn lesson(&mut self, id: &str) -> &mut LessonProgress {
        self.lessons.entry(id.to_string()).or_default()
    }

    /// Has exercise `ex` of lesson `id` passed?
    pub fn passed(&self, id: &str, ex: &str) -> bool {
        self.lessons.get(id).is_some_and(|l| l.passed.contains(ex))
    }
}

/// The progress file's bytes, read with the learner's rights (under sudo, a link at that
/// path must not hand them a file of root's, nor its copy as the `.bak` of [`repair`]);
/// `None` when there is none they can read.
fn read_file(p: &std::path::Path) -> Option<Vec<u8>> {
    eclat_kernel::perms::read_as_invoking_user(p).ok()
}

/// The lines of `text` that parse as TOML together: a line that does not is dropped alone
/// (with, when it is a table's header, the fields under it, which would otherwise land in
/// the table above), and said in `dropped`.
fn parse_by_lines(text: &str, dropped: &mut Vec<String>) -> Option<toml::Table> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut kept: Vec<usize> = (0..lines.len()).collect();
    loop {
        let cur = kept
            .iter()
            .map(|&i| lines[i])
            .collect::<Vec<_>>()
            .join("\n");
        let e = match cur.parse::<toml::Table>() {
            Ok(t) => return Some(t),
            Err(e) => e,
        };
        let at = e.span().map_or(0, |s| s.start.min(cur.len()));
        let k = cur[..at]
            .matches('\n')
            .count()
            .min(kept.len().saturating_sub(1));
        if kept.is_empty() || dropped.len() >= 20 {
            dropped.push(format!(
                "the rest of the file: it is not TOML ({})",
                e.message()
            ));
            return None;
        }
        let first = kept[k];
        let mut end = k + 1;
        if lines[first].trim_start().starts_with('[') {
            while end < kept.len() && !lines[kept[end]].trim_start().starts_with('[') {
                end += 1;
            }
        }
        let gone: Vec<usize> = kept.drain(k..end).collect();
        let fields = gone[1..]
            .iter()
            .filter(|&&i| !lines[i].trim().is_empty())
            .count();
        let more = match fields {
            0 => String::new(),
            n => format!(" and the {n} line(s) of its table"),
        };
        dropped.push(format!(
            "line {}: `{}`{more} (not TOML: {})",
            first + 1,
            lines[first].trim_end(),
            e.message()
        ));
    }
}

/// Reads progress text keeping what is valid; returns what was dropped, by field (or by
/// line, for lines that are not TOML).
pub fn read_lenient(text: &str) -> (Progress, Vec<String>) {
    if let Ok(p) = toml::from_str::<Progress>(text) {
        return (p, Vec::new());
    }
    let mut p = Progress::default();
    let mut dropped = Vec::new();
    let Some(table) = parse_by_lines(text, &mut dropped) else {
        return (p, dropped);
    };
    let count = |v: &toml::Value| v.as_integer().and_then(|n| usize::try_from(n).ok());
    for (k, v) in &table {
        match (k.as_str(), v) {
            ("current", toml::Value::String(c)) => p.current = Some(c.clone()),
            ("lessons", toml::Value::Table(ls)) => {
                for (id, lv) in ls {
                    let Some(lt) = lv.as_table() else {
                        dropped.push(format!("lessons.{id} (not a table)"));
                        continue;
                    };
                    let l = p.lesson(id);
                    for (f, fv) in lt {
                        match (f.as_str(), fv) {
                            ("step", v) if count(v).is_some() => l.step = count(v).unwrap_or(0),
                            ("passed", toml::Value::Array(a)) => {
                                for x in a {
                                    match x.as_str() {
                                        Some(ex) => {
                                            l.passed.insert(ex.to_string());
                                        }
                                        None => dropped
                                            .push(format!("lessons.{id}.passed: {x} (not a name)")),
                                    }
                                }
                            }
                            ("hints", toml::Value::Table(h)) => {
                                for (ex, n) in h {
                                    match count(n) {
                                        Some(n) => {
                                            l.hints.insert(ex.clone(), n);
                                        }
                                        None => dropped.push(format!(
                                            "lessons.{id}.hints.{ex} = {n} (not a count)"
                                        )),
                                    }
                                }
                            }
                            (f, v) => dropped.push(format!("lessons.{id}.{f} = {v}")),
                        }
                    }
                }
            }
            (k, v) => dropped.push(format!("{k} = {v}")),
        }
    }
    (p, dropped)
}

/// Repairs a progress file with fields that do not parse: what is valid is saved, the file
/// as it was is kept beside it (`progress.toml.bak`). Returns what was dropped and where
/// the old file went (nothing when the file was fine or missing).
pub fn repair() -> Result<Vec<String>> {
    let p = path();
    let Some(bytes) = read_file(&p) else {
        return Ok(Vec::new());
    };
    let text = String::from_utf8_lossy(&bytes);
    let (kept, mut dropped) = read_lenient(&text);
    if std::str::from_utf8(&bytes).is_err() {
        dropped.insert(
            0,
            "bytes that are not UTF-8 text (read as \u{fffd})".to_string(),
        );
    }
    if dropped.is_empty() {
        return Ok(dropped);
    }
    let bak = p.with_extension("toml.bak");
    as_learner(|| {
        let _ = std::fs::remove_file(&bak);
        std::fs::write(&bak, &bytes).with_context(|| format!("keeping {}", bak.display()))
    })?;
    kept.save()?;
    dropped.push(format!("the file as it was: {}", bak.display()));
    Ok(dropped)
}

/// A change to the progress file, applied to the file as it is on disk (another process,
/// `lesson check` from a shell say, may have changed it meanwhile).
#[derive(Debug, Clone, PartialEq)]
pub enum ProgressOp {
    Current(String),
    Step(String, usize),
    Passed(String, String),
    Hints(String, String, usize),
}

impl ProgressOp {
    pub fn apply(&self, p: &mut Progress) {
        match self {
            ProgressOp::Current(id) => p.current = Some(id.clone()),
            ProgressOp::Step(id, n) => p.lesson(id).step = *n,
            ProgressOp::Passed(id, ex) => {
                p.lesson(id).passed.insert(ex.clone());
            }
            ProgressOp::Hints(id, ex, n) => {
                p.lesson(id).hints.insert(ex.clone(), *n);
            }
        }
    }

    /// Applies the change to the file on disk; returns the progress as it is now.
    pub fn save(&self) -> Result<Progress> {
        let mut p = Progress::load();
        self.apply(&mut p);
        p.save()?;
        Ok(p)
    }
}

#[cfg(test)]
mod lenient_tests {
    use super::*;

    #[test]
    fn one_bad_field_keeps_the_rest() {
        let text = "current = \"06-hike\"\nstray = 1\n[lessons.06-hike]\nstep = \"three\"\n\
                    passed = [\"count\", 7]\nhints = { count = 2, other = -1 }\n\
                    [lessons.01-hello-xdp]\nstep = 4\n";
        let (p, dropped) = read_lenient(text);
        assert_eq!(p.current.as_deref(), Some("06-hike"));
        assert_eq!(p.lessons["01-hello-xdp"].step, 4);
        assert!(p.passed("06-hike", "count"));
        assert_eq!(p.lessons["06-hike"].hints.get("count"), Some(&2));
        assert_eq!(dropped.len(), 4, "{dropped:?}");
        assert!(
            dropped
                .iter()
                .any(|d| d.starts_with("lessons.06-hike.step")),
            "{dropped:?}"
        );
        assert!(
            dropped.iter().any(|d| d.starts_with("stray")),
            "{dropped:?}"
        );
        let (_, none) = read_lenient("current = \"x\"\n");
        assert!(none.is_empty());
        let (p, all) = read_lenient("not toml [[[");
        assert_eq!(p, Progress::default());
        assert!(all[0].contains("not TOML"), "{all:?}");
    }

    /// A line that is not TOML at all (a stray byte read as U+FFFD, an editor's slip) is
    /// dropped alone: the other lines are kept (the whole file went before). A table header
    /// that does not parse goes with its fields, which would otherwise count for the table
    /// above it.
    #[test]
    fn a_line_that_is_not_toml_is_dropped_alone() {
        let text = "current = \"06-hike\"\n[lessons.06-hike]\nstep = 3\npassed = [\"count\"]\n\
                    \u{fffd}\n[[[bad\n[lessons.01-hello-xdp\nstep = 9\n\
                    [lessons.02-architecture-and-toolchain]\nstep = 2\n";
        let (p, dropped) = read_lenient(text);
        assert_eq!(p.current.as_deref(), Some("06-hike"), "{dropped:?}");
        assert_eq!(p.lessons["06-hike"].step, 3, "{dropped:?}");
        assert!(p.passed("06-hike", "count"));
        assert_eq!(p.lessons["02-architecture-and-toolchain"].step, 2);
        assert!(!p.lessons.contains_key("01-hello-xdp"), "{p:?}");
        assert_eq!(dropped.len(), 3, "{dropped:?}");
        assert!(dropped[0].starts_with("line 5:"), "{dropped:?}");
        assert!(
            dropped
                .iter()
                .any(|d| d.starts_with("line 7: `[lessons.01-hello-xdp` and the 1 line(s)")),
            "{dropped:?}"
        );
    }
}
