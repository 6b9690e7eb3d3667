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
        let mut p = std::fs::read_to_string(path())
            .map(|s| read_lenient(&s).0)
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

/// Reads progress text keeping what is valid; returns what was dropped, by field.
pub fn read_lenient(text: &str) -> (Progress, Vec<String>) {
    if let Ok(p) = toml::from_str::<Progress>(text) {
        return (p, Vec::new());
    }
    let mut p = Progress::default();
    let mut dropped = Vec::new();
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let why = e.message().to_string();
            return (p, vec![format!("the whole file: it is not TOML ({why})")]);
        }
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
    let Ok(text) = std::fs::read_to_string(&p) else {
        return Ok(Vec::new());
    };
    let (kept, mut dropped) = read_lenient(&text);
    if dropped.is_empty() {
        return Ok(dropped);
    }
    let bak = p.with_extension("toml.bak");
    as_learner(|| {
        let _ = std::fs::remove_file(&bak);
        std::fs::write(&bak, &text).with_context(|| format!("keeping {}", bak.display()))
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
}
