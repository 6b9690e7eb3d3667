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
    /// live traffic of several classes (one `traffic --udp PORT` each, sent at the same
    /// time) through a chain of cubes, and one command that rewires the chain when half of
    /// it is sent. At the end every packet is accounted for, by class: counted by cube
    /// `count` (its `mon_class`) or dropped on purpose by cube `inserted` (its `dropped`
    /// map, which must agree with its `cube_stats`), none missed, none of an allowed class
    /// dropped, and the inserted cube saw traffic
    Swap {
        #[serde(default)]
        setup: Vec<String>,
        send: Vec<String>,
        swap: String,
        count: String,
        inserted: String,
        dropped: String,
        /// the classes (UDP ports) the inserted cube must drop
        blocked: Vec<u16>,
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
    /// the learner's answer (`key = value` in their TOML file) is what the kernel says of
    /// the scratch lab after `setup` (a `fact`: `insns NODE DEV`, `jited NODE DEV` of the
    /// program attached there; `map-type MAP`, `value-size MAP`, `value-type MAP`)
    Answer {
        key: String,
        fact: String,
        #[serde(default)]
        setup: Vec<String>,
        #[serde(default)]
        hint: Option<usize>,
    },
    /// a real tool (bpftrace, or Python with bcc) runs the learner's file in `node` of the
    /// scratch lab while `send` runs; the number it prints on its `count` line (after
    /// Ctrl-C) must be what the map `equals` names grew by, or the packets sent
    Observe {
        tool: Tool,
        #[serde(default)]
        setup: Vec<String>,
        node: String,
        /// the command: `{file}` the learner's file, `{python}` the Python with bcc,
        /// `{prog_id:NODE:DEV}` the ID of the program attached there
        run: Vec<String>,
        /// a line the program prints once it is attached (bpftrace: in `BEGIN`)
        ready: String,
        send: String,
        /// the line with the count starts with this (`@aborts`, `packets`)
        count: String,
        #[serde(default)]
        equals: Option<MapKey>,
        #[serde(default)]
        hint: Option<usize>,
    },
}

/// The tool an `observe` check runs, and so what the machine must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    /// bpftrace and tracefs
    Bpftrace,
    /// Python with bcc, and the running kernel's headers
    Bcc,
}

/// A map entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapKey {
    pub map: String,
    pub key: String,
}

impl Check {
    /// Index of the hint that helps when this check fails.
    pub fn hint(&self) -> Option<usize> {
        match self {
            Check::Compiles { hint } | Check::Verifier { hint } => *hint,
            Check::Verdict { hint, .. }
            | Check::Traffic { hint, .. }
            | Check::Swap { hint, .. }
            | Check::Flows { hint, .. } => *hint,
            Check::Answer { hint, .. } | Check::Observe { hint, .. } => *hint,
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

/// The lines of a solution that its starter does not have (comments, blank lines and
/// lines of one or two tokens left out), whitespace collapsed: what a hint or the lesson
/// text must not print, since copying them would be the exercise done.
pub fn solution_lines(starter: &str, solution: &str) -> Vec<String> {
    fn code(line: &str) -> String {
        let mut l = line;
        for c in ["//", "/*", " # "] {
            if let Some(i) = l.find(c) {
                l = &l[..i];
            }
        }
        if l.trim_start().starts_with('#') || l.trim_start().starts_with('*') {
            l = "";
        }
        l.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .trim_end_matches([';', '{', ' '])
            .to_string()
    }
    let have: std::collections::BTreeSet<String> = starter.lines().map(code).collect();
    let mut out: Vec<String> = solution
        .lines()
        .map(code)
        .filter(|l| !have.contains(l))
        .filter(|l| l.len() >= 8)
        .collect();
    out.dedup();
    out
}

/// The first solution line that `text` gives away in one of its code spans (`...`): a span
/// that holds the whole line, or most of it (more than a name: naming the constant to
/// change is fine, writing its new value is not).
pub fn gives_away<'a>(text: &str, solution: &'a [String]) -> Option<&'a str> {
    let spans = text.split('`').skip(1).step_by(2);
    for span in spans {
        let span = span
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .trim_end_matches([';', ' '])
            .to_string();
        for line in solution {
            let more_than_a_name = span.contains(|c: char| !c.is_alphanumeric() && c != '_');
            if span.contains(line.as_str())
                || (more_than_a_name && line.contains(&span) && span.len() * 10 >= line.len() * 6)
            {
                return Some(line);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_hint_and_no_step_hands_over_a_solution_line() {
        for l in all() {
            for ex in &l.exercises {
                let (Some(st), Some(so)) = (
                    exercise_file(&l, "starter", &ex.file),
                    exercise_file(&l, "solution", &ex.file),
                ) else {
                    panic!("{}/{}: files", l.id, ex.id)
                };
                let lines = solution_lines(st, so);
                // a solution that only moves lines has none of its own
                let sorted = |t: &str| {
                    let mut v: Vec<String> = t.lines().map(|l| l.trim().to_string()).collect();
                    v.retain(|l| {
                        !l.is_empty()
                            && !l.starts_with('#')
                            && !l.starts_with("/*")
                            && !l.starts_with('*')
                    });
                    v.sort();
                    v
                };
                assert!(
                    !lines.is_empty() || sorted(st) == sorted(so),
                    "{}/{}: the solution's own lines were not found",
                    l.id,
                    ex.id
                );
                for (i, h) in ex.hints.iter().enumerate() {
                    if let Some(line) = gives_away(h, &lines) {
                        panic!("{}/{}: hint {} gives `{line}` away", l.id, ex.id, i + 1);
                    }
                }
                for s in &l.steps {
                    if let Some(line) = gives_away(&s.text, &lines) {
                        panic!("{}: step `{}` gives `{line}` away", l.id, s.title);
                    }
                }
            }
        }
    }

    /// The maps of an embedded object (`lab/xdp_counter.o`), from its ELF.
    fn object_maps(object: &str) -> Vec<String> {
        let data = eclat_kernel::objects::get(object)
            .unwrap_or_else(|| panic!("{object} is not embedded"));
        eclat_model::meta::read("x", data)
            .unwrap_or_else(|e| panic!("{object}: {e}"))
            .maps
            .into_iter()
            .map(|m| m.name)
            .collect()
    }

    fn prebuilt_maps(prog: &str) -> Vec<String> {
        eclat_model::prebuilt::find(prog)
            .map(|p| object_maps(p.object))
            .unwrap_or_default()
    }

    /// The maps a step's command brings into the lab (by the names panels use), as far as
    /// the step's words tell: a prebuilt program's (attached by hand or by the topology), the
    /// maps a lesson file declares, a cube's (`NAME/map`), the maps of the programs and
    /// loaders a script imports, and the VM's own.
    fn maps_made_by(l: &Lesson, run: &str) -> Vec<String> {
        let cat = hike::catalog::Catalog::reference();
        let w: Vec<&str> = run.split_whitespace().collect();
        // a file of this lesson, named by its path in the workspace
        let file = |path: &str| {
            let name = path.rsplit('/').next().unwrap_or(path);
            exercise_file(l, "solution", name).or_else(|| exercise_file(l, "starter", name))
        };
        let c_maps = |src: &str| -> Vec<String> {
            src.lines()
                .filter_map(|x| {
                    x.trim()
                        .strip_prefix("} ")?
                        .strip_suffix(" SEC(\".maps\");")
                })
                .map(str::to_string)
                .collect()
        };
        match w.as_slice() {
            ["topo", "up", rest @ ..] => {
                let name = rest.first().copied().unwrap_or("hike-lab");
                let path = format!("{}/../../netns/{name}.toml", env!("CARGO_MANIFEST_DIR"));
                let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                let t = eclat_model::topology::parse(&src, &path).expect("a shipped topology");
                t.links
                    .iter()
                    .flat_map(|k| [&k.a, &k.b])
                    .filter_map(|e| e.xdp.as_deref())
                    .flat_map(prebuilt_maps)
                    .collect()
            }
            ["xdp", "attach", prog, ..] => prebuilt_maps(prog),
            ["xdp", "load", f] | ["module", "load", f] if f.ends_with(".c") => {
                file(f).map(c_maps).unwrap_or_default()
            }
            ["cube", "add", name, what, ..] => {
                let mut v = if what.ends_with(".c") {
                    file(what).map(c_maps).unwrap_or_default()
                } else {
                    object_maps(&format!("cubes/{what}.o"))
                };
                v.push("cube_stats".into());
                v.into_iter().map(|m| format!("{name}/{m}")).collect()
            }
            ["module", "load", prog] => {
                let (pkg, name) = prog.split_once('.').unwrap_or(("", prog));
                let mut v: Vec<String> = cat
                    .program(pkg, name)
                    .map(|p| p.maps.iter().map(|m| m.name.clone()).collect())
                    .unwrap_or_default();
                v.extend(["hvm_hprog_map", "hvm_stats"].map(String::from));
                v
            }
            ["load", f, ..] => {
                let mut v: Vec<String> = ["hvm_hprog_map", "hvm_chain_map", "hvm_stats"]
                    .map(String::from)
                    .to_vec();
                for line in file(f).unwrap_or_default().lines() {
                    let Some((from, names)) = line
                        .strip_prefix("from ")
                        .and_then(|x| x.split_once(" import "))
                    else {
                        continue;
                    };
                    for n in names.split(',').map(str::trim) {
                        let maps = match from.split_once('.') {
                            Some(("programs", pkg)) => cat.program(pkg, n).map(|p| &p.maps),
                            Some(("loaders", pkg)) => cat.loader(pkg, n).map(|p| &p.maps),
                            _ => None,
                        };
                        v.extend(maps.into_iter().flatten().map(|m| m.name.clone()));
                    }
                }
                v
            }
            _ => vec![],
        }
    }

    #[test]
    fn every_map_panel_is_fed_by_a_step_and_traffic_has_a_panel() {
        for l in all() {
            let made: Vec<String> = l
                .steps
                .iter()
                .filter_map(|s| s.run.as_deref())
                .flat_map(|r| maps_made_by(&l, r))
                .collect();
            for p in &l.maps {
                assert!(
                    made.contains(&p.name),
                    "{}: the panel `{}` shows a map no step loads (the steps make {made:?})",
                    l.id,
                    p.name
                );
            }
            // a lesson that loads something and sends traffic at it shows what moved, live
            let sends = l
                .steps
                .iter()
                .any(|s| s.run.as_deref().is_some_and(|r| r.starts_with("traffic ")));
            assert!(
                made.is_empty() || !sends || !l.maps.is_empty(),
                "{}: its steps load maps and send traffic, but it shows no map panel",
                l.id
            );
        }
    }

    #[test]
    fn a_span_that_holds_a_solution_line_gives_it_away() {
        let lines = solution_lines(
            "OFFSET = 0\nf()\n",
            "# a comment\nOFFSET = 62   # the offset\nf()\n",
        );
        assert_eq!(lines, vec!["OFFSET = 62".to_string()]);
        assert_eq!(
            gives_away("Set `OFFSET = 62`.", &lines),
            Some("OFFSET = 62")
        );
        assert_eq!(
            gives_away("Set `OFFSET   =  62;` now", &lines),
            Some("OFFSET = 62")
        );
        assert_eq!(
            gives_away("Change `OFFSET`: count the headers.", &lines),
            None
        );
        assert_eq!(gives_away("OFFSET = 62 without backticks", &lines), None);
        let lines = solution_lines("f()\n", "f()\nhike_pass()\n");
        assert_eq!(
            gives_away("end with `hike_pass()`", &lines),
            Some("hike_pass()")
        );
        assert_eq!(
            gives_away("a final program such as `hike_pass`", &lines),
            None
        );
    }

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
                    let lines: Vec<&String> = match c {
                        Check::Traffic { setup, send, .. } | Check::Observe { setup, send, .. } => {
                            setup.iter().chain([send]).collect()
                        }
                        Check::Answer { setup, fact, .. } => {
                            if let Err(e) = crate::checks::Fact::parse(fact) {
                                panic!("{name}/{}: fact `{fact}`: {e}", ex.id);
                            }
                            setup.iter().collect()
                        }
                        Check::Swap {
                            setup, send, swap, ..
                        } => setup.iter().chain(send).chain([swap]).collect(),
                        Check::Flows { setup, send, .. } => setup.iter().chain([send]).collect(),
                        _ => vec![],
                    };
                    {
                        for line in lines {
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
