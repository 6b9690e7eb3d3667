//! Lessons, embedded from `lessons/` at build time. A lesson is a folder with a manifest
//! (`lesson.toml`: steps, the topology it needs, the maps it shows) and its text
//! (`README.md`, the same text the book shows).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use include_dir::{Dir, include_dir};
use serde::Deserialize;

static LESSONS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../lessons");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub id: String,
    pub number: u32,
    pub title: String,
    /// ids this lesson had before the course was renumbered: progress and workspace
    /// folders saved under them are carried over
    #[serde(default)]
    pub formerly: Vec<String>,
    #[serde(default)]
    pub topology: Option<String>,
    #[serde(default)]
    pub goals: Vec<String>,
    #[serde(default, rename = "map")]
    pub maps: Vec<MapPanel>,
    #[serde(default, rename = "step")]
    pub steps: Vec<Step>,
    #[serde(default, rename = "exercise")]
    pub exercises: Vec<Exercise>,
}

/// An exercise: a file the learner edits (starter in `starter/`, reference solution in
/// `solution/`), layered hints, and checks that look at state, not keystrokes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    pub id: String,
    pub title: String,
    /// file name, the same in `starter/`, `solution/` and the learner's workspace
    pub file: String,
    /// a nudge, then the concept, then nearly the answer
    #[serde(default)]
    pub hints: Vec<String>,
    #[serde(default, rename = "check")]
    pub checks: Vec<Check>,
}

/// One check. `{file}` in commands stands for the learner's copy of the exercise file.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Check {
    /// the file compiles (clang for C, the eCLAT compiler for scripts)
    Compiles {
        #[serde(default)]
        hint: Option<usize>,
    },
    /// C: every program of the object is accepted by the kernel's verifier
    Verifier {
        #[serde(default)]
        hint: Option<usize>,
    },
    /// a crafted packet through `BPF_PROG_TEST_RUN` gives `expect` and these map changes
    Verdict {
        packet: String,
        expect: String,
        /// C: which program of the object (default: the only XDP program)
        #[serde(default)]
        program: Option<String>,
        /// C: values written into the object's fresh maps before the packet runs
        #[serde(default)]
        set: Vec<MapValue>,
        /// C: the frame the program must leave, byte for byte (a packet spec: its lengths
        /// and checksums are computed, so a wrong checksum shows as a difference)
        #[serde(default)]
        output: Option<String>,
        #[serde(default)]
        maps: Vec<MapDelta>,
        #[serde(default)]
        hint: Option<usize>,
    },
    /// lab commands in the namespace topology, then exact map deltas
    Traffic {
        #[serde(default)]
        setup: Vec<String>,
        send: String,
        #[serde(default)]
        maps: Vec<MapDelta>,
        /// echo replies expected (ICMP sends)
        #[serde(default)]
        replies: Option<u64>,
        #[serde(default)]
        hint: Option<usize>,
    },
    /// lab commands, then `send` (`traffic ... --flows N`): every flow's packets reach
    /// exactly one backend, counted where they arrive (`at`: a map keyed by backend address
    /// and source port); a flow seen before `send` keeps its backend; with `drained`, no
    /// new flow reaches that backend while flows already there keep reaching it
    Flows {
        #[serde(default)]
        setup: Vec<String>,
        send: String,
        at: String,
        #[serde(default)]
        drained: Option<std::net::Ipv4Addr>,
        #[serde(default)]
        maps: Vec<MapDelta>,
        #[serde(default)]
        hint: Option<usize>,
    },
}

impl Check {
    /// Index of the hint that helps when this check fails.
    pub fn hint(&self) -> Option<usize> {
        match self {
            Check::Compiles { hint } | Check::Verifier { hint } => *hint,
            Check::Verdict { hint, .. }
            | Check::Traffic { hint, .. }
            | Check::Flows { hint, .. } => *hint,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapDelta {
    pub map: String,
    pub key: String,
    pub delta: i64,
}

/// A value a verdict check writes into a map before its packet runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapValue {
    pub map: String,
    pub key: String,
    pub value: String,
}

/// A live panel: a map and labels for its keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapPanel {
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub title: String,
    /// one or two sentences: what to do and what to watch
    pub text: String,
    /// the command the "run" key executes (same syntax as the shell)
    #[serde(default)]
    pub run: Option<String>,
    /// the heading of the lesson text this step is about (the tutorial scrolls the text
    /// there); without it, the text follows the step to where it shows the step's command
    #[serde(default)]
    pub section: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Lesson {
    pub id: String,
    pub number: u32,
    pub title: String,
    pub formerly: Vec<String>,
    pub topology: Option<String>,
    pub goals: Vec<String>,
    pub maps: Vec<MapPanel>,
    pub steps: Vec<Step>,
    pub exercises: Vec<Exercise>,
    pub text: String,
}

/// Parses one lesson folder's manifest and text.
pub fn parse(dir_name: &str, manifest: &str, text: &str) -> Result<Lesson> {
    let m: Manifest = toml::from_str(manifest).map_err(|e| {
        anyhow::anyhow!(
            "lessons/{dir_name}/lesson.toml: {}",
            e.to_string().trim_end()
        )
    })?;
    Ok(Lesson {
        id: m.id,
        number: m.number,
        title: m.title,
        formerly: m.formerly,
        topology: m.topology,
        goals: m.goals,
        maps: m.maps,
        steps: m.steps,
        exercises: m.exercises,
        text: text.to_string(),
    })
}

/// Every lesson, in order.
pub fn all() -> Vec<Lesson> {
    let mut v: Vec<Lesson> = LESSONS
        .dirs()
        .filter_map(|d| {
            let name = d.path().file_name()?.to_str()?.to_string();
            let manifest = d.get_file(d.path().join("lesson.toml"))?.contents_utf8()?;
            let text = d
                .get_file(d.path().join("README.md"))
                .and_then(|f| f.contents_utf8())
                .unwrap_or("");
            parse(&name, manifest, text).ok()
        })
        .collect();
    v.sort_by_key(|l| l.number);
    v
}

/// An embedded exercise file: `kind` is `starter` or `solution`.
pub fn exercise_file(lesson: &Lesson, kind: &str, file: &str) -> Option<&'static str> {
    LESSONS
        .get_file(format!("{}/{kind}/{file}", lesson.id))
        .and_then(|f| f.contents_utf8())
}

/// A lesson by number (`1`) or id (`01-hello-xdp`).
/// The lesson that used to be called `old` (before the course was renumbered).
pub fn renamed(old: &str) -> Option<Lesson> {
    all()
        .into_iter()
        .find(|l| l.formerly.iter().any(|f| f == old))
}

/// A lesson by id (`06-hike`), number (`6`) or name (`hike`).
pub fn find(id: &str) -> Result<Lesson> {
    let all = all();
    all.iter()
        .find(|l| {
            l.id == id
                || l.number.to_string() == id.trim_start_matches('0')
                || l.id.split_once('-').is_some_and(|(_, slug)| slug == id)
        })
        .cloned()
        .with_context(|| {
            format!(
                "no lesson `{id}` (lessons: {})",
                all.iter()
                    .map(|l| format!("{} {}", l.number, l.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_lesson_parses() {
        for d in LESSONS.dirs() {
            let name = d.path().display().to_string();
            let manifest = d
                .get_file(d.path().join("lesson.toml"))
                .unwrap_or_else(|| panic!("{name} has no lesson.toml"))
                .contents_utf8()
                .unwrap();
            let text = d
                .get_file(d.path().join("README.md"))
                .unwrap_or_else(|| panic!("{name} has no README.md"));
            let l = parse(&name, manifest, text.contents_utf8().unwrap()).unwrap();
            assert!(!l.steps.is_empty(), "{name} has no steps");
            for ex in &l.exercises {
                for kind in ["starter", "solution"] {
                    assert!(
                        exercise_file(&l, kind, &ex.file).is_some(),
                        "{name}: {kind}/{} is missing",
                        ex.file
                    );
                }
                assert!(
                    !ex.hints.is_empty() && !ex.checks.is_empty(),
                    "{name}/{}: hints and checks",
                    ex.id
                );
                for c in &ex.checks {
                    // what a traffic check runs: steps the course knows
                    if let Check::Traffic { setup, send, .. } | Check::Flows { setup, send, .. } = c
                    {
                        for line in setup.iter().chain([send]) {
                            let line = line.replace("{file}", "x.eclat");
                            if let Err(e) = crate::checks::Step::parse(&line) {
                                panic!("{name}/{}: the check runs `{line}`: {e}", ex.id);
                            }
                        }
                    }
                    if let Some(h) = c.hint() {
                        assert!(
                            h < ex.hints.len(),
                            "{name}/{}: a check points at hint {h}",
                            ex.id
                        );
                    }
                }
            }
        }
        assert!(find("1").is_ok());
        assert!(find("01-hello-xdp").is_ok());
        assert!(find("99").unwrap_err().to_string().contains("no lesson"));
        assert_eq!(find("hike").unwrap().id, find("06-hike").unwrap().id);
    }

    #[test]
    fn lesson_ids_and_numbers_agree_and_former_ids_are_unique() {
        let all = all();
        let mut former = std::collections::BTreeSet::new();
        for l in &all {
            assert!(
                l.id.starts_with(&format!("{:02}-", l.number)),
                "{} is numbered {}",
                l.id,
                l.number
            );
            for f in &l.formerly {
                assert!(!all.iter().any(|o| &o.id == f), "{f} is a current id");
                assert!(former.insert(f.clone()), "{f} is claimed twice");
            }
        }
    }

    #[test]
    fn progress_under_a_former_id_is_carried_over() {
        let mut p = crate::progress::Progress {
            current: Some("04-hike".into()),
            ..Default::default()
        };
        p.lesson("04-hike").passed.insert("end-the-chain".into());
        p.lesson("01-hello-xdp").step = 3;
        p.carry_over_renamed();
        assert_eq!(p.current.as_deref(), Some("06-hike"));
        assert!(p.passed("06-hike", "end-the-chain"));
        assert!(!p.lessons.contains_key("04-hike"));
        assert_eq!(p.lessons["01-hello-xdp"].step, 3);
    }
}
