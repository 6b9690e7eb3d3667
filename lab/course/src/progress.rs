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
    pub fn load() -> Self {
        let mut p: Self = std::fs::read_to_string(path())
            .ok()
            .and_then(|s| toml::from_str(&s).ok())
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
