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
        /// the frame the program must leave, byte for byte (a packet spec: its lengths
        /// and checksums are computed, so a wrong checksum shows as a difference)
        #[serde(default)]
        output: Option<String>,
        /// what the frame the program leaves must hold, field by field, in the packet
        /// syntax's words (`ipv6.hlim == 63`, `ipv6.dscp == 46`: `eclat_model::frame`),
        /// for an exercise that writes the packet (C or eCLAT): a counter alone cannot tell
        /// a program that writes the packet from one that only counts what it would write
        #[serde(default)]
        frame: Vec<String>,
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
        /// traffic sent first, through another program whose events the learner's program
        /// must not count (a probe without the filter the exercise asks for counts them too)
        #[serde(default)]
        decoy: Option<String>,
        /// the line with the count starts with this (`@aborts`, `packets`)
        count: String,
        #[serde(default)]
        equals: Option<MapKey>,
        #[serde(default)]
        hint: Option<usize>,
    },
}

impl Tool {
    /// The tool as a learner knows it: `bpftrace`, `bcc`.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Bpftrace => "bpftrace",
            Tool::Bcc => "bcc",
        }
    }
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
    /// what the counter counts, for the check's line (`tx port 0`): by default the label the
    /// lesson's live panels give that key of a map of that name, when they agree
    #[serde(default)]
    pub label: Option<String>,
}

impl MapDelta {
    /// The counter as a check's line names it: `cube_stats[4] (tx port 0)`, or
    /// `pkt_count[0]` when it has no label.
    pub fn counter(&self) -> String {
        match &self.label {
            Some(l) => format!("{}[{}] ({l})", self.map, self.key),
            None => format!("{}[{}]", self.map, self.key),
        }
    }
}

/// The label the panels give key `key` of a map called `map` (a panel's map is a path whose
/// last part is the name): `None` when no panel labels it, or when two disagree.
fn panel_label(panels: &[MapPanel], map: &str, key: &str) -> Option<String> {
    let mut labels = panels
        .iter()
        .filter(|p| p.name == map || p.name.rsplit('/').next() == Some(map))
        .filter_map(|p| p.labels.get(key));
    let first = labels.next()?;
    labels.all(|l| l == first).then(|| first.clone())
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
    /// the map holds settings (a verdict, chain IDs), not counts: its panel shows the
    /// values without a rate or a sparkline
    #[serde(default)]
    pub setting: bool,
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
    /// a tool of the field the step runs (bpftrace, bcc) that a machine may lack: there
    /// the step says it is not possible on this machine, and why, instead of running
    #[serde(default)]
    pub needs: Option<Tool>,
    /// the map panels (`[[map]]` names) whose counters the step's text points at: where the
    /// panels do not all fit, the TUI shows these whole and first (at 80x24 lesson 4's
    /// "watch both panels" hid b3's row of the second one)
    #[serde(default)]
    pub watch: Vec<String>,
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
    let mut exercises = m.exercises;
    for (e, c) in exercises
        .iter()
        .flat_map(|e| e.checks.iter().map(move |c| (e, c)))
    {
        if let Check::Verdict { frame, .. } = c {
            for f in frame {
                eclat_model::frame::FieldExpect::parse(f).map_err(|why| {
                    anyhow::anyhow!(
                        "lessons/{dir_name}/lesson.toml: exercise {}: frame {why}",
                        e.id
                    )
                })?;
            }
        }
    }
    for (i, st) in m.steps.iter().enumerate() {
        for w in &st.watch {
            if !m.maps.iter().any(|p| &p.name == w) {
                anyhow::bail!(
                    "lessons/{dir_name}/lesson.toml: step {} watches `{w}`, which is not one of \
                     the lesson's map panels ({})",
                    i + 1,
                    m.maps
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
    }
    for c in exercises.iter_mut().flat_map(|e| e.checks.iter_mut()) {
        let deltas = match c {
            Check::Verdict { maps, .. }
            | Check::Traffic { maps, .. }
            | Check::Flows { maps, .. } => maps,
            _ => continue,
        };
        for d in deltas.iter_mut().filter(|d| d.label.is_none()) {
            d.label = panel_label(&m.maps, &d.map, &d.key);
        }
    }
    Ok(Lesson {
        id: m.id,
        number: m.number,
        title: m.title,
        formerly: m.formerly,
        topology: m.topology,
        goals: m.goals,
        maps: m.maps,
        steps: m.steps,
        exercises,
        text: text.to_string(),
    })
}

/// The placeholders a lesson writes for what depends on the lab instance (lesson text, steps'
/// text and commands, hints), so that no lesson hard-codes one instance's paths or names:
/// `{bpffs}` is the lab's bpffs root (`/sys/fs/bpf/eclat-lab` unless `ECLAT_LAB_BPFFS` moved
/// it), `{ns}` the prefix of its namespace names (empty unless `ECLAT_LAB_NS_PREFIX`: the
/// namespace of node tg is `{ns}tg`). The TUI, the REPL and the CLI get lessons expanded for
/// their own lab ([`all`]); the book expands them with the defaults. The learner's workspace
/// is written [`WORKSPACE`], its default place.
pub const PLACEHOLDERS: [&str; 2] = ["{bpffs}", "{ns}"];

/// How lessons name the learner's workspace (`~/eclat-lab/07-first-eclat-script/ports.eclat`):
/// where it is unless `ECLAT_LAB_WORKSPACE` moves it, so the book and the lesson files read
/// naturally. Commands read it as the workspace wherever it is; the text shown by the TUI,
/// the REPL and the CLI names the real folder ([`workspace_shown`]).
pub const WORKSPACE: &str = "~/eclat-lab";

/// The learner's workspace as the lessons shown here name it: [`WORKSPACE`] where that is
/// where it is (the home of the user who ran sudo, or ours), else its path.
pub fn workspace_shown() -> String {
    let root = crate::home::workspace();
    if root == crate::home::user_home().join("eclat-lab") {
        WORKSPACE.to_string()
    } else {
        root.display().to_string()
    }
}

/// `s` with the placeholders replaced by `env`'s values, and [`WORKSPACE`] (as a path of its
/// own: `~/eclat-lab` or `~/eclat-lab/...`, not `~/eclat-labs`) by `workspace`.
pub fn expand(s: &str, env: &eclat_kernel::LabEnv, workspace: &str) -> String {
    let mut s = if s.contains('{') {
        s.replace("{bpffs}", &env.bpffs_root.to_string_lossy())
            .replace("{ns}", &env.ns_prefix)
    } else {
        s.to_string()
    };
    if workspace != WORKSPACE && s.contains(WORKSPACE) {
        let mut out = String::with_capacity(s.len());
        let mut rest = s.as_str();
        while let Some(i) = rest.find(WORKSPACE) {
            let after = &rest[i + WORKSPACE.len()..];
            // `~/eclat-lab.` ends a sentence; `~/eclat-lab.bak` is another folder
            let word = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
            let mut next = after.chars();
            let own = match next.next() {
                Some('.') => !next.next().is_some_and(word),
                Some(c) => !word(c),
                None => true,
            };
            out.push_str(&rest[..i]);
            out.push_str(if own { workspace } else { WORKSPACE });
            rest = after;
        }
        out.push_str(rest);
        s = out;
    }
    s
}

impl Lesson {
    /// The lesson with its placeholders expanded for the lab instance `env` and the
    /// workspace shown as `workspace` (see [`expand`]): its text, goals, steps (titles,
    /// texts, commands), exercises' titles and hints.
    pub fn expanded(mut self, env: &eclat_kernel::LabEnv, workspace: &str) -> Lesson {
        let x = |s: &mut String| *s = expand(s, env, workspace);
        x(&mut self.text);
        for g in &mut self.goals {
            x(g);
        }
        for st in &mut self.steps {
            x(&mut st.title);
            x(&mut st.text);
            if let Some(r) = &mut st.run {
                x(r);
            }
        }
        for e in &mut self.exercises {
            x(&mut e.title);
            for h in &mut e.hints {
                x(h);
            }
        }
        self
    }
}

/// Every lesson, in order, expanded for this process's lab instance and workspace.
pub fn all() -> Vec<Lesson> {
    let env = eclat_kernel::LabEnv::from_env();
    let ws = workspace_shown();
    all_raw()
        .into_iter()
        .map(|l| l.expanded(&env, &ws))
        .collect()
}

/// Every lesson as written, placeholders and all.
pub fn all_raw() -> Vec<Lesson> {
    let mut v: Vec<Lesson> = LESSONS.dirs().filter_map(parse_folder).collect();
    v.sort_by_key(|l| l.number);
    v
}

/// The lesson of one embedded folder, as written (`None`: no manifest, or one that does not
/// parse; `every_embedded_lesson_parses` says which).
fn parse_folder(d: &Dir) -> Option<Lesson> {
    let name = d.path().file_name()?.to_str()?;
    let manifest = d.get_file(d.path().join("lesson.toml"))?.contents_utf8()?;
    let text = d
        .get_file(d.path().join("README.md"))
        .and_then(|f| f.contents_utf8())
        .unwrap_or("");
    parse(name, manifest, text).ok()
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
    let is = |l: &Lesson| {
        l.id == id
            || l.number.to_string() == id.trim_start_matches('0')
            || l.id.split_once('-').is_some_and(|(_, slug)| slug == id)
    };
    // the folder that looks like it first (`01-hello-xdp` for `1`, `01-hello-xdp` or
    // `hello-xdp`), parsed alone: the TUI's first frame waits for this, and parsing every
    // lesson took 2.6 ms of it. Whatever the folder says is checked against the request.
    let named = |dir: &str| {
        let (num, slug) = dir.split_once('-').unwrap_or((dir, ""));
        dir == id
            || slug == id
            || (!id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && num.trim_start_matches('0') == id.trim_start_matches('0'))
    };
    if let Some(l) = LESSONS
        .dirs()
        .filter(|d| {
            d.path()
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(named)
        })
        .filter_map(parse_folder)
        .find(is)
    {
        return Ok(l.expanded(&eclat_kernel::LabEnv::from_env(), &workspace_shown()));
    }
    let all = all();
    all.iter().find(|l| is(l)).cloned().with_context(|| {
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

    /// `find` parses the one folder that looks like the request: for every lesson and every
    /// way of naming it, the lesson it gives is the one a search over all lessons gives.
    #[test]
    fn find_by_folder_gives_what_a_search_over_all_gives() {
        let all = all();
        for l in &all {
            let slug = l.id.split_once('-').unwrap().1;
            for name in [
                l.id.clone(),
                l.number.to_string(),
                format!("{:02}", l.number),
                slug.into(),
            ] {
                let found = find(&name).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(found.id, l.id, "{name}");
                assert_eq!(found.text, l.text, "{name}");
                assert_eq!(found.steps.len(), l.steps.len(), "{name}");
            }
        }
        assert!(find("99").is_err());
        assert!(find("").is_err());
        assert!(
            find("nope")
                .unwrap_err()
                .to_string()
                .contains("01-hello-xdp")
        );
    }

    /// A check's counters carry the label the lesson's panels give them (lesson 5's firewall
    /// check said `cube_stats[4] +1, cube_stats[3] +1`, which names nothing a learner sees);
    /// a key no panel labels, or that two panels label differently, stays bare.
    #[test]
    fn check_counters_take_the_panels_labels() {
        let l5 = find("5").unwrap();
        let deltas: Vec<&MapDelta> = l5
            .exercises
            .iter()
            .flat_map(|e| &e.checks)
            .flat_map(|c| match c {
                Check::Verdict { maps, .. } => maps.as_slice(),
                _ => &[],
            })
            .collect();
        let names: Vec<String> = deltas.iter().map(|d| d.counter()).collect();
        assert!(
            names.contains(&"cube_stats[4] (tx port 0)".to_string()),
            "{names:?}"
        );
        assert!(
            names.contains(&"cube_stats[3] (miss)".to_string()),
            "{names:?}"
        );
        assert!(names.contains(&"fw_dropped[5000]".to_string()), "{names:?}");
        let panel = |name: &str, key: &str, label: &str| MapPanel {
            name: name.into(),
            title: String::new(),
            labels: [(key.to_string(), label.to_string())].into(),
            setting: false,
        };
        let agree = [panel("a/stats", "1", "pass"), panel("b/stats", "1", "pass")];
        assert_eq!(panel_label(&agree, "stats", "1").as_deref(), Some("pass"));
        assert_eq!(panel_label(&agree, "stats", "2"), None);
        assert_eq!(panel_label(&agree, "tats", "1"), None);
        let differ = [panel("a/stats", "1", "pass"), panel("b/stats", "1", "drop")];
        assert_eq!(panel_label(&differ, "stats", "1"), None);
    }

    /// A map panel's labels say what the program means by each key: monitor's events by the
    /// constants of the current exercise's script (lesson 6's guard counts ALLOWED at 0 and
    /// GUARDED at 4), never a label another exercise's script contradicts.
    #[test]
    fn panel_labels_come_from_the_programs_own_meaning() {
        let l6 = find("6").unwrap();
        let mon = l6.maps.iter().find(|m| m.name == MONITOR_MAP).unwrap();
        let ex = |id: &str| l6.exercises.iter().position(|e| e.id == id);
        let guard = ex("guard").expect("lesson 6 has the guard exercise");
        let labels = l6.panel_labels(mon, Some(guard));
        assert_eq!(
            labels.get("0").map(String::as_str),
            Some("ALLOWED"),
            "{labels:?}"
        );
        assert_eq!(
            labels.get("4").map(String::as_str),
            Some("GUARDED"),
            "{labels:?}"
        );
        for l in all() {
            for m in &l.maps {
                // hvm_stats' keys are the VM's abort reasons
                if m.name.ends_with("hvm_stats") {
                    for k in m.labels.keys() {
                        let code: u32 = k.parse().unwrap();
                        assert!(
                            hike::trace::AbortReason::from_code(code).is_some(),
                            "{}: hvm_stats[{k}] is no abort reason",
                            l.id
                        );
                    }
                }
                if m.name != MONITOR_MAP {
                    continue;
                }
                for (i, e) in l.exercises.iter().enumerate() {
                    let shown = l.panel_labels(m, Some(i));
                    let Some(src) = exercise_file(&l, "solution", &e.file) else {
                        continue;
                    };
                    for (k, name) in monitor_events(src) {
                        assert_eq!(shown.get(&k), Some(&name), "{}/{}: key {k}", l.id, e.id);
                    }
                }
                // what the manifest writes by hand is a key no script names
                for k in m.labels.keys() {
                    for e in &l.exercises {
                        if let Some(src) = exercise_file(&l, "solution", &e.file) {
                            assert!(
                                !monitor_events(src).contains_key(k),
                                "{}: the manifest labels {MONITOR_MAP}[{k}], which {} names",
                                l.id,
                                e.file
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn monitor_events_are_named_by_the_scripts_constants() {
        let src = "from programs.hike_default import hike_pass, monitor\n\
                   A = 0\nB = 4\n\ndef c():\n    if 1 == 1:\n        monitor(B)\n    monitor(A)\n    monitor(7)\n    hike_pass()\n";
        let m = monitor_events(src);
        assert_eq!(m.get("0").map(String::as_str), Some("A"));
        assert_eq!(m.get("4").map(String::as_str), Some("B"));
        assert_eq!(m.len(), 2, "{m:?}");
    }

    /// No lesson hard-codes one lab instance's paths or names: what depends on the instance
    /// is a placeholder, expanded for the lab that runs the lesson.
    #[test]
    fn lessons_name_the_lab_instance_only_by_placeholders() {
        let default = eclat_kernel::LabEnv {
            state_dir: "/var/lib/eclat-lab".into(),
            bpffs_root: "/sys/fs/bpf/eclat-lab".into(),
            ns_prefix: String::new(),
        };
        let moved = eclat_kernel::LabEnv {
            state_dir: "/tmp/x-state".into(),
            bpffs_root: "/sys/fs/bpf/eclat-moved".into(),
            ns_prefix: "mv-".into(),
        };
        let netns_exec = |s: &str| {
            s.match_indices("netns exec ")
                .any(|(i, m)| !s[i + m.len()..].starts_with("{ns}"))
        };
        // every text a lesson shows, as shown
        let texts = |l: &Lesson| {
            let mut texts = vec![("text".to_string(), l.text.clone())];
            for (i, g) in l.goals.iter().enumerate() {
                texts.push((format!("goal {}", i + 1), g.clone()));
            }
            for (i, st) in l.steps.iter().enumerate() {
                texts.push((format!("step {} title", i + 1), st.title.clone()));
                texts.push((format!("step {}", i + 1), st.text.clone()));
                texts.push((
                    format!("step {} run", i + 1),
                    st.run.clone().unwrap_or_default(),
                ));
            }
            for e in &l.exercises {
                texts.push((format!("{} title", e.id), e.title.clone()));
                for h in &e.hints {
                    texts.push((format!("{} hint", e.id), h.clone()));
                }
            }
            texts
        };
        let mut in_workspace = 0;
        for raw in all_raw() {
            let l = raw.clone().expanded(&moved, "/srv/learner-files");
            for (what, t) in texts(&l) {
                // the workspace is where ECLAT_LAB_WORKSPACE put it, not `~/eclat-lab`
                for bad in ["/sys/fs/bpf/eclat-lab", "{bpffs}", "{ns}", "eclat-lab/"] {
                    assert!(!t.contains(bad), "{} {what}: `{bad}` in {t:?}", l.id);
                }
                in_workspace += t.matches("/srv/learner-files/").count();
            }
            assert!(
                !netns_exec(&raw.text),
                "{}: `ip netns exec` needs {{ns}}",
                raw.id
            );
            // a file a step writes outside the workspace is the instance's own
            for st in &raw.steps {
                if let Some(r) = &st.run {
                    assert!(
                        !r.contains(" /tmp/") || r.contains("/tmp/{ns}"),
                        "{}: `{r}` writes a path every lab instance shares",
                        raw.id
                    );
                }
            }
            // with the default instance and workspace, the text reads as the book does
            let d = raw.clone().expanded(&default, WORKSPACE);
            assert!(!d.text.contains("{bpffs}"));
            for ((what, t), (_, r)) in texts(&d).into_iter().zip(texts(&raw)) {
                assert_eq!(
                    t.matches("~/eclat-lab/").count(),
                    r.matches("~/eclat-lab/").count(),
                    "{} {what}",
                    raw.id
                );
            }
        }
        assert!(
            in_workspace > 50,
            "the lessons name files in the workspace: {in_workspace}"
        );
        // lesson 3's step names the pin below the moved root
        let raw3 = all_raw().into_iter().find(|l| l.number == 3).unwrap();
        let step = raw3
            .clone()
            .expanded(&moved, WORKSPACE)
            .steps
            .into_iter()
            .find_map(|s| s.run.filter(|r| r.contains("btf dump map pinned")))
            .expect("lesson 3 dumps a map's BTF by its pin");
        assert!(
            step.contains("pinned /sys/fs/bpf/eclat-moved/maps/lab/xdp_counter/pkt_count"),
            "{step}"
        );
    }

    /// `~/eclat-lab` is the workspace only as a path of its own.
    #[test]
    fn the_workspace_is_shown_where_it_is() {
        let env = eclat_kernel::LabEnv {
            state_dir: "/tmp/x-state".into(),
            bpffs_root: "/sys/fs/bpf/eclat-lab".into(),
            ns_prefix: String::new(),
        };
        let ws = "/tmp/ws";
        for (s, shown) in [
            (
                "edit `~/eclat-lab/07-first-eclat-script/ports.eclat`.",
                "edit `/tmp/ws/07-first-eclat-script/ports.eclat`.",
            ),
            (
                "load ~/eclat-lab/a.eclat --replace",
                "load /tmp/ws/a.eclat --replace",
            ),
            (
                "your files are in ~/eclat-lab.",
                "your files are in /tmp/ws.",
            ),
            ("(~/eclat-lab)", "(/tmp/ws)"),
            (
                "~/eclat-labs, ~/eclat-lab-old, ~/eclat-lab.bak",
                "~/eclat-labs, ~/eclat-lab-old, ~/eclat-lab.bak",
            ),
            ("~/eclat-lab ~/eclat-lab/x", "/tmp/ws /tmp/ws/x"),
        ] {
            assert_eq!(expand(s, &env, ws), shown);
            assert_eq!(
                expand(s, &env, WORKSPACE),
                s,
                "the default reads as written"
            );
        }
    }

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

    /// A step's `watch` names map panels of its lesson: a misspelt one would watch nothing,
    /// silently, so the manifest does not parse.
    #[test]
    fn a_step_watches_only_the_lessons_panels() {
        let manifest = |w: &str| {
            format!(
                "id = \"x\"\nnumber = 1\ntitle = \"x\"\n\
                 [[map]]\nname = \"lb_rx\"\ntitle = \"arrived\"\n\
                 [[step]]\ntitle = \"s\"\ntext = \"t\"\nwatch = [\"{w}\"]\n"
            )
        };
        let l = parse("x", &manifest("lb_rx"), "").unwrap();
        assert_eq!(l.steps[0].watch, ["lb_rx"]);
        let e = parse("x", &manifest("lb_rxx"), "").unwrap_err().to_string();
        assert!(
            e.contains(
                "step 1 watches `lb_rxx`, which is not one of the lesson's map panels (lb_rx)"
            ),
            "{e}"
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
                        Check::Traffic { setup, send, .. } => setup.iter().chain([send]).collect(),
                        Check::Observe {
                            setup, send, decoy, ..
                        } => setup.iter().chain([send]).chain(decoy).collect(),
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

/// The map `monitor(EVENT)` counts in (`map_pcpu_mon[EVENT]`): what each key means is the
/// script's to say, by the constant it passes.
pub const MONITOR_MAP: &str = "map_pcpu_mon";

/// What `monitor(EVENT)` counts in an eCLAT script: each event code the script passes as a
/// named constant (`GUARDED = 4` ... `monitor(GUARDED)`), with that name. Codes written as
/// bare numbers or computed have no name here.
pub fn monitor_events(src: &str) -> BTreeMap<String, String> {
    use eclat::ast::{Callee, ExprKind, Item, Stmt, StmtKind};
    let (tokens, _) = eclat::lexer::lex(src, &[]);
    let module = eclat::parser::parse(&tokens, &mut Vec::new());
    let mut consts = BTreeMap::new();
    for item in &module.items {
        if let Item::Const { name, value, .. } = item
            && let ExprKind::Int(v) = value.kind
        {
            consts.insert(name.name.clone(), v);
        }
    }
    fn walk(body: &[Stmt], consts: &BTreeMap<String, u64>, out: &mut BTreeMap<String, String>) {
        let mut exprs = Vec::new();
        for st in body {
            match &st.kind {
                StmtKind::Expr(e) | StmtKind::Return(Some(e)) => exprs.push(e),
                StmtKind::Decl { value, .. } | StmtKind::Assign { value, .. } => exprs.push(value),
                StmtKind::If { arms, orelse } => {
                    for (c, b) in arms {
                        exprs.push(c);
                        walk(b, consts, out);
                    }
                    if let Some(b) = orelse {
                        walk(b, consts, out);
                    }
                }
                StmtKind::While { cond, body } => {
                    exprs.push(cond);
                    walk(body, consts, out);
                }
                StmtKind::For { body, .. } => walk(body, consts, out),
                _ => {}
            }
        }
        for e in exprs {
            if let ExprKind::Call {
                callee: Callee::Name(f),
                args,
            } = &e.kind
                && f.name == "monitor"
                && let Some(ExprKind::Name(n)) = args.first().map(|a| &a.kind)
                && let Some(v) = consts.get(n)
            {
                out.entry(v.to_string()).or_insert_with(|| n.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    for item in &module.items {
        if let Item::Def(d) = item {
            walk(&d.body, &consts, &mut out);
        }
    }
    out
}

impl Lesson {
    /// The labels of a map panel's keys while `exercise` is the current one: the manifest's,
    /// then, for monitor's map, the event codes the lesson's scripts name (reference
    /// solution, then starter), the current exercise's first: the meaning of
    /// `map_pcpu_mon[4]` is whatever the script that runs says it is (GUARDED in one
    /// exercise, something else in another).
    pub fn panel_labels(
        &self,
        panel: &MapPanel,
        exercise: Option<usize>,
    ) -> BTreeMap<String, String> {
        let mut labels = panel.labels.clone();
        if panel.name.rsplit('/').next() != Some(MONITOR_MAP) {
            return labels;
        }
        // the current exercise's script first (its name wins where two scripts give one
        // code two meanings), then the lesson's other scripts, which the learner may have
        // loaded too
        let current = exercise.and_then(|i| self.exercises.get(i));
        let mut named = BTreeMap::new();
        for e in current.into_iter().chain(&self.exercises) {
            if !e.file.ends_with(".eclat") {
                continue;
            }
            for kind in ["solution", "starter"] {
                if let Some(src) = exercise_file(self, kind, &e.file) {
                    for (k, v) in monitor_events(src) {
                        named.entry(k).or_insert(v);
                    }
                }
            }
        }
        // the script's own name wins over a label the manifest wrote
        labels.extend(named);
        labels
    }
}
