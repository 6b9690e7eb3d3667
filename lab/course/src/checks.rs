//! The checks that decide whether an exercise is done. They look at state, never at what was
//! typed: does the file compile, what does the kernel's verifier say, what verdict and map
//! changes does a crafted packet give (`BPF_PROG_TEST_RUN`), what do counters do under real
//! traffic. Every check that touches the kernel runs in a scratch lab of its own (its own
//! namespaces, bpffs root and HIKe instance), removed afterwards: the learner's lab (loaded
//! chains, loader entries, map values, running traffic) is exactly as it was.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use eclat_kernel::maps::{Dump, Value};
use eclat_model::cdiag::{self, CDiagnostic};
use eclat_model::frame::FieldExpect;
use eclat_model::packetspec;
use eclat_model::verifier::Explanation;
use eclat_service::modules::BuildReport;
use eclat_service::scripts::LoadRequest;
use eclat_service::testrun::{PacketResult, TestRequest};
use eclat_service::traffic::{Progress, TrafficRequest, What};
use eclat_service::{CancellationToken, Lab, ScratchLab, checkpoint};
use serde::Serialize;

use crate::lessons::{Check, Exercise, Lesson, MapDelta};
use eclat_kernel::modules::MapWrite;

/// The outcome of one check.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CheckResult {
    /// what the check looks at, naming the program or the packet
    pub what: String,
    /// true when what was seen is what was expected
    pub passed: bool,
    /// what the check wanted, in words (`no compile error`, `every program accepted`,
    /// `pkt_count[0] +1 per packet`); `the check to run` (or `the check's setup ... to run`)
    /// when it could not run at all
    pub expected: String,
    /// what the check found in the kernel or the compiler's output, or the error that stopped it
    /// from running
    pub seen: String,
    /// the hint that helps, 0-based
    pub hint: Option<usize>,
    /// when the verifier rejected the program: its explanation (class, source line, advice)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
    /// when the file does not compile: what the compiler said, line by line, without colour:
    /// an eCLAT script's exactly as `eclat-lab compile` prints it (each diagnostic's
    /// file:line:col, the source line with a mark under the place, the help), a C file's
    /// clang diagnostics in clang's layout with paths relative to the file's folder, each
    /// with what to do (`help: ...`; clang's `N errors generated.` left out); when bpftrace
    /// reported an error in the learner's program (an `observe` check), its messages in the
    /// same layout; `seen` holds its first error on one line
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compiler_output: Option<String>,
    /// the diagnostics with their places: an eCLAT script's that does not compile, as `compile
    /// --json` gives them (errors and warnings, in source order); a C file's clang errors and
    /// warnings (when it does not compile, or compiles with warnings), and the verifier's
    /// rejection of each rejected program, with its C line; a bpftrace program's errors and
    /// warnings, in a C file's shape (`file`, `span`, `snippet`, `marker`, `help`; a message
    /// bpftrace gave no place has none), when an `observe` check failed after bpftrace
    /// printed them; empty otherwise
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
    /// the check cannot run on this machine (a tool or the kernel's headers are missing,
    /// and `seen` says which): neither a pass nor the learner's fault
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_possible: bool,
    /// how long this check took (wall time, in process)
    pub elapsed_ms: f64,
}

impl CheckResult {
    /// An outcome with what the check looked at, whether it passed, and what was expected
    /// and seen; no hint, explanation, compiler output or diagnostics, 0 ms (the fields a
    /// caller sets on top: `CheckResult { hint: Some(0), ..CheckResult::new(...) }`).
    pub fn new(
        what: impl Into<String>,
        passed: bool,
        expected: impl Into<String>,
        seen: impl Into<String>,
    ) -> Self {
        Self {
            what: what.into(),
            passed,
            expected: expected.into(),
            seen: seen.into(),
            hint: None,
            explanation: None,
            compiler_output: None,
            diagnostics: Vec::new(),
            not_possible: false,
            elapsed_ms: 0.0,
        }
    }
}

/// A diagnostic of a check: an eCLAT script's or a C file's, each in its own shape (the
/// fields they share have the same names: `file`, `severity`, `code`, `message`, `span.line`,
/// `span.col`, `labels`, `help`, `notes`).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Diagnostic {
    /// an eCLAT script's diagnostic, as `compile --json` gives it
    Eclat(eclat::LocatedDiagnostic),
    /// a C file's: one of clang's errors or warnings, or the verifier's rejection of a program
    C(CDiagnostic),
}

impl Diagnostic {
    /// The eCLAT diagnostic, if this is one.
    pub fn eclat(&self) -> Option<&eclat::LocatedDiagnostic> {
        match self {
            Diagnostic::Eclat(d) => Some(d),
            Diagnostic::C(_) => None,
        }
    }
    /// The C diagnostic, if this is one.
    pub fn c(&self) -> Option<&CDiagnostic> {
        match self {
            Diagnostic::C(d) => Some(d),
            Diagnostic::Eclat(_) => None,
        }
    }
}

/// The outcome of an exercise's checks.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CheckReport {
    /// the lesson's ID (`01-hello-xdp`)
    pub lesson: String,
    /// the exercise's ID within the lesson
    pub exercise: String,
    /// the exercise's title
    pub title: String,
    /// the file that was checked: the learner's copy in the workspace (or a starter or solution
    /// under `dev check`)
    pub file: String,
    /// true when every check of the exercise ran and passed; the command then exits 0 and the pass
    /// is recorded in the progress file
    pub passed: bool,
    /// one result per check that ran, in order; checks stop at the first failure, so only the last
    /// one can have failed
    pub results: Vec<CheckResult>,
    /// why the exercise cannot be checked on this machine (its checks did not all run)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_possible: Option<String>,
    /// the exercise's hints, for the report's "hint N" lines
    #[serde(skip)]
    pub hints: Vec<String>,
}

/// A command a traffic check runs in its scratch lab: the commands of the lab that set a
/// lab up, written as a learner would type them (`topo up`, `load {file}`, ...).
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    TopoUp(Option<String>),
    XdpAttach {
        program: String,
        node: String,
        dev: String,
    },
    Load(PathBuf),
    XdpLoad(PathBuf),
    ModuleLoad(String),
    MapClear(String),
    MapSet {
        map: String,
        key: String,
        value: String,
    },
    CubeAdd {
        name: String,
        source: String,
    },
    CubeConnect {
        from: String,
        port: u32,
        to: String,
    },
    CubeAttach {
        name: String,
        node: String,
        dev: String,
    },
    Traffic(TrafficRequest),
}

impl Step {
    /// Parses one command line of a check.
    pub fn parse(line: &str) -> Result<Self> {
        let w: Vec<&str> = line.split_whitespace().collect();
        Ok(match w.as_slice() {
            ["topo", "up"] => Step::TopoUp(None),
            ["topo", "up", name] => Step::TopoUp(Some(name.to_string())),
            ["xdp", "attach", p, n, d] => Step::XdpAttach {
                program: p.to_string(),
                node: n.to_string(),
                dev: d.to_string(),
            },
            ["load", f] => Step::Load(PathBuf::from(f)),
            ["xdp", "load", f] => Step::XdpLoad(PathBuf::from(f)),
            ["module", "load", m] => Step::ModuleLoad(m.to_string()),
            ["map", "clear", m] => Step::MapClear(m.to_string()),
            ["map", "set", m, k, v] => Step::MapSet {
                map: m.to_string(),
                key: k.to_string(),
                value: v.to_string(),
            },
            ["cube", "add", n, src] => Step::CubeAdd {
                name: n.to_string(),
                source: src.to_string(),
            },
            ["cube", "connect", from, to] => {
                let (c, p) = from
                    .rsplit_once(':')
                    .with_context(|| format!("`{from}`: CUBE:PORT"))?;
                Step::CubeConnect {
                    from: c.to_string(),
                    port: p.parse().with_context(|| format!("`{from}`: CUBE:PORT"))?,
                    to: to.to_string(),
                }
            }
            ["cube", "attach", n, node, dev] => Step::CubeAttach {
                name: n.to_string(),
                node: node.to_string(),
                dev: dev.to_string(),
            },
            ["traffic", rest @ ..] => Step::Traffic(parse_traffic(rest)?),
            _ => bail!(
                "a check can run `topo up [NAME]`, `xdp load FILE`, `xdp attach PROGRAM NODE DEV`, \
                 `load FILE`, `module load X`, `map clear MAP`, `map set MAP KEY VALUE`, `cube add \
                 NAME SOURCE`, `cube connect CUBE:PORT CUBE`, `cube attach CUBE NODE DEV` and \
                 `traffic ...`; not `{line}`"
            ),
        })
    }
}

/// `--from N --to A (--udp P [--flows F [--sport S]] | --icmp) [--count N] [--rate R]
/// [--size S]`.
fn parse_traffic(args: &[&str]) -> Result<TrafficRequest> {
    let (mut from, mut to, mut udp, mut icmp) = (None, None, None, false);
    let (mut count, mut rate, mut size) = (None, None, 64usize);
    let (mut flows, mut sport) = (None, 40000u16);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |what: &str| {
            it.next()
                .copied()
                .with_context(|| format!("traffic {what} needs a value"))
        };
        match *a {
            "--from" => from = Some(val("--from")?.to_string()),
            "--to" => {
                let v = val("--to")?;
                to = Some(
                    v.parse::<IpAddr>()
                        .with_context(|| format!("--to {v}: not an address"))?,
                )
            }
            "--udp" => udp = Some(val("--udp")?.parse::<u16>().context("--udp PORT")?),
            "--icmp" => icmp = true,
            "--count" => count = Some(val("--count")?.parse::<u64>().context("--count N")?),
            "--rate" => rate = Some(val("--rate")?.parse::<f64>().context("--rate PPS")?),
            "--size" => size = val("--size")?.parse::<usize>().context("--size BYTES")?,
            "--flows" => flows = Some(val("--flows")?.parse::<u16>().context("--flows N")?),
            "--sport" => sport = val("--sport")?.parse::<u16>().context("--sport PORT")?,
            other => bail!("traffic in a check: unknown argument `{other}`"),
        }
    }
    let what = match (udp, icmp) {
        (Some(port), false) => match flows {
            Some(flows) => What::Flows {
                port,
                payload: size,
                flows,
                sport,
            },
            None => What::Udp {
                port,
                payload: size,
            },
        },
        (None, true) => What::Icmp,
        _ => bail!("traffic in a check: give --udp PORT or --icmp"),
    };
    Ok(TrafficRequest {
        from: from.context("traffic in a check: give --from NODE")?,
        to,
        what,
        count,
        rate,
    })
}

/// A check's setup step failed. When the step does not involve the learner's file (`topo
/// up` failing, say), the lab is the problem, not the exercise: the report says so and gives
/// no hint about the code.
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

fn is_c(file: &Path) -> bool {
    file.extension().is_some_and(|e| e == "c")
}

/// The value at `key` (a number) in a raw dump, 0 when absent.
fn value_of(d: &Dump, key: &str) -> Result<i128> {
    let k = eclat_kernel::maps::parse_number("key", key)?;
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
            Value::Int(v) => *v as i128,
            Value::Words(w) => w.first().copied().unwrap_or(0) as i128,
            Value::Bytes(_) => 0,
        })
        .unwrap_or(0))
}

fn find_dump<'a>(dumps: &'a [Dump], name: &str) -> Option<&'a Dump> {
    dumps
        .iter()
        .find(|d| d.map.name == name || d.map.name.ends_with(&format!("/{name}")))
}

/// What a check looks at, for its line in the report: the packet or the traffic and what
/// is expected, so that no two checks of an exercise read the same. `label` puts the
/// program (or the file) in front.
fn describe(c: &Check) -> String {
    match c {
        Check::Compiles { .. } => "compiles".into(),
        Check::Verifier { .. } => "the kernel's verifier accepts every program".into(),
        Check::Verdict {
            packet,
            expect,
            set,
            output,
            frame,
            maps,
            ..
        } => {
            // the program is the label's subject (`label`): not named twice
            let mut s = format!("`{packet}` gives {expect}");
            if !set.is_empty() {
                let w: Vec<String> = set
                    .iter()
                    .map(|w| format!("{}[{}] = {}", w.map, w.key, w.value))
                    .collect();
                s.push_str(&format!(" (with {})", w.join(", ")));
            }
            if let Some(o) = output {
                s.push_str(&format!(" and leaves exactly `{o}`"));
            }
            let fields: Vec<String> = frame
                .iter()
                .filter_map(|f| FieldExpect::parse(f).ok())
                .map(|f| f.to_string())
                .collect();
            if !fields.is_empty() {
                s.push_str(&format!(" and leaves with {}", fields.join(", ")));
            }
            for d in maps {
                s.push_str(&format!(", {} {:+}", d.counter(), d.delta));
            }
            s
        }
        Check::Flows {
            send,
            drained,
            maps,
            ..
        } => {
            let mut s = format!("after `{send}`: each flow reaches one backend");
            if let Some(d) = drained {
                s.push_str(&format!(
                    ", old flows keep theirs, no new flow reaches the drained {d}"
                ));
            }
            for d in maps {
                s.push_str(&format!(", {} {:+}", d.counter(), d.delta));
            }
            s
        }
        Check::Answer { key, .. } => format!("`{key}` is what the kernel says"),
        Check::Observe {
            tool,
            count,
            equals,
            ..
        } => format!(
            "{}'s `{count}` line matches {}",
            match tool {
                crate::lessons::Tool::Bpftrace => "your bpftrace program",
                crate::lessons::Tool::Bcc => "your bcc program",
            },
            match equals {
                Some(m) => format!("the lab's own count ({}[{}])", m.map, m.key),
                None => "the packets sent".into(),
            }
        ),
        Check::Traffic {
            setup,
            send,
            maps,
            replies,
            ..
        } => {
            // what the check configures before it sends, so that checks that send the same
            // traffic under another configuration read differently
            let knobs: Vec<String> = setup
                .iter()
                .filter(|c| c.starts_with("map set "))
                .map(|c| format!("`{c}`"))
                .collect();
            let send = unpaced(send);
            let mut s = if knobs.is_empty() {
                format!("after `{send}`")
            } else {
                format!("with {}, after `{send}`", knobs.join(" and "))
            };
            let moves: Vec<String> = maps
                .iter()
                .map(|d| format!("{} {:+}", d.counter(), d.delta))
                .collect();
            if !moves.is_empty() {
                s.push_str(&format!(": {}", moves.join(", ")));
            }
            if let Some(r) = replies {
                s.push_str(&format!(
                    "{}{r} echo replies",
                    if moves.is_empty() { ": " } else { ", " }
                ));
            }
            s
        }
        Check::Swap {
            swap,
            count,
            inserted,
            ..
        } => format!(
            "`{swap}` under live traffic: every packet counted by {count} or dropped on \
             purpose by {inserted}, none lost"
        ),
    }
}

/// A traffic check's `send` as it is sent: without its `--rate` (unless the lab's check reuse
/// is off, `ECLAT_LAB_CHECK_REUSE=off`, the earlier behaviour). A traffic check stops its
/// scratch lab's clock before it sends (`CHECK_CLOCK_MS`): every packet reaches the programs
/// at the same instant whatever the pace, so pacing would change nothing they count or
/// decide, and only make the learner wait (10 pings at 5/s: 1.8 s).
pub fn unpaced(send: &str) -> String {
    if !eclat_service::reuse_enabled() {
        return send.to_string();
    }
    let mut out = Vec::new();
    let mut w = send.split_whitespace();
    while let Some(a) = w.next() {
        if a == "--rate" {
            w.next();
        } else {
            out.push(a);
        }
    }
    out.join(" ")
}

/// What a check is about: the program it runs (a C exercise's check may name one of the
/// object's programs), else the learner's file.
fn subject(c: &Check, file: &Path) -> String {
    match c {
        Check::Verdict {
            program: Some(p), ..
        } => p.clone(),
        _ => file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.display().to_string()),
    }
}

/// A check's line in the report: its subject, then what it looks at.
pub fn label(c: &Check, file: &Path) -> String {
    format!("{}: {}", subject(c, file), describe(c))
}

/// A verdict check whose packet got the right verdict but moved a counter wrongly: the
/// line says what the counter should have done and what it did first (a narrow check panel
/// cuts the line's end), then that the verdict was right, so the learner looks at the
/// counting code, not at the verdict.
fn counter_failed(c: &Check, verdict: &str, d: &MapDelta, got: i128) -> CheckResult {
    let packet = match c {
        Check::Verdict { packet, .. } => packet.as_str(),
        _ => "the packet",
    };
    CheckResult {
        hint: c.hint(),
        ..CheckResult::new(
            format!(
                "`{packet}` should move {} by {:+}, it moved it by {got:+} (its verdict, {verdict}, \
             is right)",
                d.counter(),
                d.delta
            ),
            false,
            format!("{} {:+} per packet", d.counter(), d.delta),
            format!("{}[{}] {got:+} per packet", d.map, d.key),
        )
    }
}

fn result(
    c: &Check,
    passed: bool,
    expected: impl Into<String>,
    seen: impl Into<String>,
) -> CheckResult {
    CheckResult {
        hint: c.hint(),
        ..CheckResult::new(describe(c), passed, expected, seen)
    }
}

/// The result of a check that could not run.
fn error_result(check: &Check, e: &anyhow::Error) -> CheckResult {
    // a map name of the check that names several maps of the check's own lab: the lesson
    // must name it better; nothing the learner wrote or has loaded is the cause
    if let Some(eclat_kernel::maps::MapError::Ambiguous { name, candidates }) = e
        .chain()
        .find_map(|c| c.downcast_ref::<eclat_kernel::maps::MapError>())
    {
        return CheckResult::new(
            describe(check),
            false,
            format!("the check's map `{name}` to name one map of its lab"),
            format!(
                "it names {candidates} (a defect of the lesson, not of your code or your lab: \
                 the check runs in a lab of its own; report it)"
            ),
        );
    }
    match e.downcast_ref::<LabSetupError>() {
        Some(s) if !s.learners_file => CheckResult::new(
            describe(check),
            false,
            format!("the check's setup `{}` to run", s.command),
            format!(
                "{e:#} (this is about the lab, not your code: fix it, then run the check again)"
            ),
        ),
        _ => failed(check, "the check to run", e),
    }
}

/// A check that failed because of `e`. When `e` is the compiler's refusal of the learner's
/// file (an eCLAT script's diagnostics, clang's errors), `seen` is its first error where it
/// is (`file:line:col: message`) and the result carries all the compiler said, as `compile`
/// or clang prints it: the learner sees the source line, the mark under the place and the
/// help, not a summary.
fn failed(check: &Check, expected: impl Into<String>, e: &anyhow::Error) -> CheckResult {
    let mut r = result(check, false, expected, format!("{e:#}"));
    if let Some(said) = compiler_said(e) {
        r.seen = said.seen;
        r.compiler_output = Some(said.output);
        r.diagnostics = said.diagnostics;
    }
    r
}

/// The result of `check` failing with `e`, as a check's run makes it: with what the compiler
/// said when `e` is its refusal of the file (for the faces' tests, which fake a check's run).
pub fn failed_with(check: &Check, expected: &str, e: &anyhow::Error) -> CheckResult {
    failed(check, expected, e)
}

/// What the compiler said about a file that does not compile.
#[derive(Debug)]
struct CompilerSaid {
    /// the first error on one line, after what the error's context says (`setup `load
    /// {file}`: `), with how many more there are
    seen: String,
    /// all the compiler printed, without colour
    output: String,
    /// an eCLAT script's diagnostics, located, or a C file's clang diagnostics
    diagnostics: Vec<Diagnostic>,
}

/// The compiler's refusal of a file in the chain of `e`, if it is there: an eCLAT script's
/// diagnostics (`CompileFailed`, rendered by `compile`'s own renderer) or clang's output
/// (`BuildError::Compile`).
fn compiler_said(e: &anyhow::Error) -> Option<CompilerSaid> {
    use eclat_kernel::modules::BuildError;
    use eclat_service::scripts::CompileFailed;
    let mut context = String::new();
    for c in e.chain() {
        if let Some(f) = c.downcast_ref::<CompileFailed>() {
            let errors: Vec<&eclat::LocatedDiagnostic> = f
                .diagnostics
                .iter()
                .filter(|d| d.severity == eclat::Severity::Error)
                .collect();
            let first = match errors.first() {
                Some(d) => format!("{}:{}:{}: {}", d.file, d.span.line, d.span.col, d.message),
                None => format!("{} does not compile", f.file),
            };
            return Some(CompilerSaid {
                seen: format!("{context}{first}{}", more_errors(errors.len())),
                output: f.rendered.trim_end().to_string(),
                diagnostics: f
                    .diagnostics
                    .iter()
                    .cloned()
                    .map(Diagnostic::Eclat)
                    .collect(),
            });
        }
        if let Some(BuildError::Compile {
            file,
            stderr,
            diagnostics,
        }) = c.downcast_ref::<BuildError>()
        {
            let diags = diagnostics.clone();
            let errors: Vec<&CDiagnostic> = diags.iter().filter(|d| d.is_error()).collect();
            let Some(first) = errors.first() else {
                // nothing the parser knows as an error: clang's own words, whole
                return Some(CompilerSaid {
                    seen: format!("{context}{file} does not compile"),
                    output: stderr.trim_end().to_string(),
                    diagnostics: diags.into_iter().map(Diagnostic::C).collect(),
                });
            };
            return Some(CompilerSaid {
                seen: format!("{context}{}{}", first.short(), more_errors(errors.len())),
                output: cdiag::render(&diags),
                diagnostics: diags.into_iter().map(Diagnostic::C).collect(),
            });
        }
        context.push_str(&format!("{c}: "));
    }
    None
}

/// ` (and 2 more errors)` after the first of `n` errors.
fn more_errors(n: usize) -> String {
    match n {
        0 | 1 => String::new(),
        2 => " (and 1 more error)".into(),
        n => format!(" (and {} more errors)", n - 1),
    }
}

/// What one run of checks makes once and shares between its checks: the scratch lab, made
/// when the first check needs it, and the build of a C file (clang and the verifier run once
/// per run of checks: every check of the run looks at the same file).
struct Scratch<'a> {
    lab: &'a Lab,
    /// every check of the exercise (the verdict checks of an eCLAT file run together)
    all: &'a [Check],
    /// the packets of every verdict check of an eCLAT file, run in one setup of the script
    /// by the first of them (`Lab::test_groups`): one group per check, in order
    verdicts: Option<std::result::Result<Vec<Vec<PacketResult>>, Arc<anyhow::Error>>>,
    made: Option<ScratchLab>,
    /// the setup lines of `answer` and `observe` checks already run in it (each once)
    done: Vec<String>,
    /// `module build` of the file: its report, or the error (a compile error included)
    built: Option<std::result::Result<BuildReport, Arc<anyhow::Error>>>,
}

impl Scratch<'_> {
    async fn get(&mut self) -> Result<&ScratchLab> {
        if self.made.is_none() {
            self.made = Some(self.lab.check_lab().await?);
        }
        Ok(self.made.as_ref().expect("made above"))
    }

    /// The build of the C file `file` (clang, then every program through the verifier),
    /// made by the first check that needs it.
    async fn build(
        &mut self,
        file: &Path,
    ) -> std::result::Result<&BuildReport, Arc<anyhow::Error>> {
        if self.built.is_none() || !eclat_service::reuse_enabled() {
            self.built = Some(
                self.lab
                    .module_build(file.to_path_buf())
                    .await
                    .map_err(Arc::new),
            );
        }
        self.built
            .as_ref()
            .expect("built above")
            .as_ref()
            .map_err(Arc::clone)
    }
}

/// Is `e` clang's refusal of the file (rather than the lab failing to run it)?
fn compile_error(e: &anyhow::Error) -> Option<&eclat_kernel::modules::BuildError> {
    e.chain()
        .filter_map(|c| c.downcast_ref::<eclat_kernel::modules::BuildError>())
        .find(|b| matches!(b, eclat_kernel::modules::BuildError::Compile { .. }))
}

/// Runs the checks of `ex` against `file` (the learner's copy, or a starter/solution in
/// `dev check`). Checks stop at the first failure: later ones would only repeat it.
/// Cancelled, it fails with `Stopped` (and no report: a stopped check has no verdict).
pub async fn run(
    lab: &Lab,
    lesson: &Lesson,
    ex: &Exercise,
    file: &Path,
    cancel: &CancellationToken,
) -> Result<CheckReport> {
    let mut scratch = Scratch {
        lab,
        all: &ex.checks,
        verdicts: None,
        made: None,
        done: Vec::new(),
        built: None,
    };
    let mut results = Vec::new();
    let mut stopped = None;
    for check in &ex.checks {
        if let Err(e) = checkpoint(cancel) {
            stopped = Some(e);
            break;
        }
        let t0 = std::time::Instant::now();
        let r = match run_one(&mut scratch, check, file, cancel).await {
            Ok(r) => r,
            Err(e) if eclat_service::is_stopped(&e) => {
                stopped = Some(e);
                break;
            }
            Err(e) => error_result(check, &e),
        };
        let mut r = CheckResult {
            what: format!("{}: {}", subject(check, file), r.what),
            ..r
        };
        r.elapsed_ms = t0.elapsed().as_secs_f64() * 1000.0;
        let failed = !r.passed;
        results.push(r);
        if failed {
            break;
        }
    }
    if let Some(s) = scratch.made.take() {
        s.close().await?;
    }
    if let Some(e) = stopped {
        return Err(e);
    }
    let passed = results.iter().all(|r| r.passed) && results.len() == ex.checks.len();
    let not_possible = results
        .iter()
        .find(|r| r.not_possible)
        .map(|r| r.seen.clone());
    Ok(CheckReport {
        not_possible,
        lesson: lesson.id.clone(),
        exercise: ex.id.clone(),
        title: ex.title.clone(),
        file: file.display().to_string(),
        passed,
        results,
        hints: ex.hints.clone(),
    })
}

async fn run_one(
    scratch: &mut Scratch<'_>,
    check: &Check,
    file: &Path,
    cancel: &CancellationToken,
) -> Result<CheckResult> {
    let lab = scratch.lab;
    match check {
        Check::Compiles { .. } => {
            if is_c(file) && !eclat_service::reuse_enabled() {
                // as before the builds were shared: clang alone
                return Ok(match lab.clang(file.to_path_buf()).await? {
                    Ok(()) => result(check, true, "no compile error", "compiled"),
                    Err(e) => failed(check, "no compile error", &e.into()),
                });
            }
            if is_c(file) {
                // clang and the verifier run once, here: a rejection is the next check's
                return Ok(match scratch.build(file).await {
                    Ok(rep) => {
                        // clang's warnings: it compiles, but they often point at a bug
                        let warnings = rep.clang_warnings();
                        let mut r = match warnings.first() {
                            Some(w) => result(
                                check,
                                true,
                                "no compile error",
                                format!(
                                    "compiled, with {} warning{}: {}",
                                    warnings.len(),
                                    if warnings.len() == 1 { "" } else { "s" },
                                    w.short()
                                ),
                            ),
                            None => result(check, true, "no compile error", "compiled"),
                        };
                        r.diagnostics = warnings.into_iter().map(Diagnostic::C).collect();
                        r
                    }
                    Err(e) if compile_error(&e).is_some() => failed(check, "no compile error", &e),
                    Err(e) => return Err(anyhow::anyhow!("{e:#}")),
                });
            }
            // as `eclat-lab compile` reads, compiles and renders it: its diagnostics whole
            Ok(match lab.compile_file(file, &[]) {
                Ok(_) => result(check, true, "no compile error", "compiled"),
                Err(e) if compiler_said(&e).is_some() => failed(check, "no compile error", &e),
                Err(e) => return Err(e),
            })
        }
        Check::Verifier { .. } => {
            let rep = match scratch.build(file).await {
                Ok(r) => r.clone(),
                Err(e) => return Ok(failed(check, "every program accepted", &e)),
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
            // the verifier's rejections, as `module build` found them
            r.diagnostics = rep
                .diagnostics
                .iter()
                .filter(|d| d.program.is_some())
                .cloned()
                .map(Diagnostic::C)
                .collect();
            Ok(r)
        }
        Check::Verdict {
            packet,
            expect,
            program,
            set,
            output,
            maps: deltas,
            ..
        } => {
            let frame = packetspec::frame(packet)?;
            let want = hike::XdpAction::parse(expect)
                .with_context(|| format!("`{expect}` is not an XDP verdict"))?;
            if is_c(file) {
                let writes = set
                    .iter()
                    .map(|w| MapWrite {
                        map: w.map.clone(),
                        key: w.key.clone(),
                        value: w.value.clone(),
                    })
                    .collect();
                let output = match output {
                    Some(o) => Some(packetspec::frame(o)?),
                    None => None,
                };
                let run = CRun {
                    program: program.clone(),
                    writes,
                    frame,
                    output,
                };
                let built = scratch.build(file).await.cloned();
                verdict_c(lab, check, built, run, want, deltas).await
            } else if !eclat_service::reuse_enabled() {
                // as before: in the run's scratch lab
                let s = scratch.get().await?;
                verdict_eclat(s, check, file, frame, want, deltas, cancel).await
            } else {
                // `test` runs in a HIKe instance of its own (the lab's reused test instance),
                // never the learner's: no scratch lab needed. Every verdict check's packets
                // run in one setup of the script, each check's from emptied maps.
                match scratch.verdicts(check, file, cancel).await? {
                    Some(Ok(res)) => Ok(judge_eclat(check, &res, want, deltas)),
                    Some(Err(e)) => Ok(failed(check, want.to_string(), &e)),
                    None => verdict_eclat(lab, check, file, frame, want, deltas, cancel).await,
                }
            }
        }
        Check::Traffic {
            setup,
            send,
            maps: deltas,
            replies,
            ..
        } => {
            let s = scratch.get().await?;
            traffic(s, check, file, setup, send, deltas, *replies, cancel).await
        }
        Check::Swap { .. } => {
            let s = scratch.get().await?;
            swap(s, check, file, cancel).await
        }
        Check::Flows {
            setup,
            send,
            at,
            drained,
            maps: deltas,
            ..
        } => {
            let s = scratch.get().await?;
            let f = FlowCheck {
                at,
                drained: *drained,
                deltas,
            };
            flows(s, check, file, setup, send, &f, cancel).await
        }
        Check::Answer {
            key, fact, setup, ..
        } => {
            let fact = Fact::parse(fact)?;
            let wrote = read_answer(file, key)?;
            scratch.setup(setup, cancel).await?;
            let s = scratch.get().await?;
            let truth = fact.of(s).await?;
            Ok(answer(check, key, &fact, wrote, &truth))
        }
        Check::Observe { .. } => observe(scratch, check, file, cancel).await,
    }
}

impl Scratch<'_> {
    /// What `check`'s packet did, from the run of every verdict check of the exercise in one
    /// setup of the script (made by the first verdict check): `None` when that run cannot be
    /// made (a packet of a check does not parse: each check then runs, and fails, alone).
    async fn verdicts(
        &mut self,
        check: &Check,
        file: &Path,
        cancel: &CancellationToken,
    ) -> Result<Option<std::result::Result<Vec<PacketResult>, Arc<anyhow::Error>>>> {
        let all = self.all;
        let verdicts: Vec<&Check> = all
            .iter()
            .filter(|c| matches!(c, Check::Verdict { .. }))
            .collect();
        let Some(at) = verdicts.iter().position(|c| std::ptr::eq(*c, check)) else {
            return Ok(None);
        };
        if self.verdicts.is_none() {
            let mut groups = Vec::new();
            let mut watch: Vec<String> = Vec::new();
            for c in &verdicts {
                let Check::Verdict { packet, maps, .. } = c else {
                    continue;
                };
                let Ok(frame) = packetspec::frame(packet) else {
                    return Ok(None);
                };
                groups.push(vec![
                    ("check".to_string(), frame.clone()),
                    ("check".into(), frame),
                ]);
                for d in maps {
                    if !watch.contains(&d.map) {
                        watch.push(d.map.clone());
                    }
                }
            }
            let req = TestRequest {
                file: file.to_path_buf(),
                defines: vec![],
                packets: vec![],
                chain: None,
                clock: None,
            };
            match self
                .lab
                .test_groups(req, groups, watch, cancel.clone())
                .await
            {
                Err(e) if eclat_service::is_stopped(&e) => return Err(e),
                r => self.verdicts = Some(r.map_err(Arc::new)),
            }
        }
        Ok(match self.verdicts.as_ref().expect("made above") {
            Ok(all) => all.get(at).cloned().map(Ok),
            Err(e) => Some(Err(Arc::clone(e))),
        })
    }

    /// Runs the setup lines not run yet in the scratch lab.
    async fn setup(&mut self, lines: &[String], cancel: &CancellationToken) -> Result<()> {
        for c in lines {
            if self.done.contains(c) {
                continue;
            }
            checkpoint(cancel)?;
            let s = Step::parse(c)?;
            let lab = self.get().await?;
            step(lab, s, cancel).await.map_err(|e| {
                if eclat_service::is_stopped(&e) {
                    return e;
                }
                e.context(LabSetupError {
                    command: c.clone(),
                    learners_file: false,
                })
            })?;
            self.done.push(c.clone());
        }
        Ok(())
    }
}

/// What an `answer` check compares a learner's answer with: something the kernel says of
/// the scratch lab, as bpftool shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// instructions of the program attached to NODE:DEV, after verification
    Insns {
        node: String,
        dev: String,
    },
    /// bytes of native code of that program
    Jited {
        node: String,
        dev: String,
    },
    /// how many maps that program uses
    Maps {
        node: String,
        dev: String,
    },
    MapType(String),
    ValueSize(String),
    /// the C type of the map's value, from BTF
    ValueType(String),
}

impl Fact {
    pub fn parse(s: &str) -> Result<Self> {
        let w: Vec<&str> = s.split_whitespace().collect();
        Ok(match w.as_slice() {
            ["insns", n, d] => Fact::Insns {
                node: n.to_string(),
                dev: d.to_string(),
            },
            ["jited", n, d] => Fact::Jited {
                node: n.to_string(),
                dev: d.to_string(),
            },
            ["maps", n, d] => Fact::Maps {
                node: n.to_string(),
                dev: d.to_string(),
            },
            ["map-type", m] => Fact::MapType(m.to_string()),
            ["value-size", m] => Fact::ValueSize(m.to_string()),
            ["value-type", m] => Fact::ValueType(m.to_string()),
            _ => bail!(
                "a fact is `insns NODE DEV`, `jited NODE DEV`, `maps NODE DEV`, `map-type MAP`, `value-size MAP` \
                 or `value-type MAP`, not `{s}`"
            ),
        })
    }

    /// Where the learner finds it.
    fn source(&self) -> String {
        match self {
            Fact::Insns { .. } => "`bpftool prog dump xlated`".into(),
            Fact::Jited { .. } => "`bpftool prog show` (jited ...B)".into(),
            Fact::Maps { .. } => "`bpftool prog show` (map_ids)".into(),
            // by pin, as the lesson's steps do (a name several maps share is refused)
            Fact::MapType(m) | Fact::ValueSize(m) => format!("`bpftool map show pinned …/{m}`"),
            Fact::ValueType(m) => format!("`bpftool btf dump map pinned …/{m}`"),
        }
    }

    fn numeric(&self) -> bool {
        matches!(
            self,
            Fact::Insns { .. } | Fact::Jited { .. } | Fact::Maps { .. } | Fact::ValueSize(_)
        )
    }

    /// The fact in the scratch lab.
    async fn of(&self, lab: &Lab) -> Result<String> {
        Ok(match self {
            Fact::Insns { node, dev } => lab
                .attached_prog(node.clone(), dev.clone())
                .await?
                .xlated_insns
                .to_string(),
            Fact::Jited { node, dev } => lab
                .attached_prog(node.clone(), dev.clone())
                .await?
                .jited_bytes
                .to_string(),
            Fact::Maps { node, dev } => lab
                .attached_prog(node.clone(), dev.clone())
                .await?
                .maps
                .to_string(),
            Fact::MapType(m) => lab.map_dump(m.clone()).await?.map.map_type,
            Fact::ValueSize(m) => lab.map_dump(m.clone()).await?.map.value_size.to_string(),
            Fact::ValueType(m) => {
                let d = lab.map_dump(m.clone()).await?;
                d.value_type
                    .or_else(|| eclat_service::xdp::prebuilt_map_types(&d.map.name).map(|(_, v)| v))
                    .with_context(|| format!("the lab has no BTF type for {m}'s value"))?
            }
        })
    }
}

/// `key = value` from the learner's TOML file (`None`: not answered yet).
fn read_answer(file: &Path, key: &str) -> Result<Option<String>> {
    let src = eclat_kernel::perms::read_to_string_as_invoking_user(file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let t: toml::Table = toml::from_str(&src).map_err(|e| {
        anyhow::anyhow!(
            "{} is not valid TOML: {}",
            file.display(),
            e.to_string().trim_end()
        )
    })?;
    Ok(match t.get(key) {
        None => None,
        Some(toml::Value::String(s)) if s.trim().is_empty() || s.trim() == "?" => None,
        Some(toml::Value::String(s)) => Some(s.trim().to_string()),
        Some(toml::Value::Integer(i)) => Some(i.to_string()),
        Some(v) => Some(v.to_string()),
    })
}

/// A type name as people write it: `BPF_MAP_TYPE_PERCPU_ARRAY`, `percpu_array` and
/// `PERCPU_ARRAY` are one answer.
fn normal(s: &str) -> String {
    let s = s.trim().trim_matches('\'').to_ascii_lowercase();
    s.strip_prefix("bpf_map_type_").unwrap_or(&s).to_string()
}

/// Compares an answer with the truth without giving the truth away.
fn answer(
    check: &Check,
    key: &str,
    fact: &Fact,
    wrote: Option<String>,
    truth: &str,
) -> CheckResult {
    let expected = format!("`{key}` as {} shows it", fact.source());
    let Some(w) = wrote else {
        return result(
            check,
            false,
            expected,
            format!("`{key}` is not answered yet"),
        );
    };
    if fact.numeric() {
        let (Ok(a), Ok(t)) = (w.parse::<i64>(), truth.parse::<i64>()) else {
            return result(
                check,
                false,
                expected,
                format!("`{key} = {w}`: write a number"),
            );
        };
        return match a.cmp(&t) {
            std::cmp::Ordering::Equal => result(check, true, expected, "right"),
            o => result(
                check,
                false,
                expected,
                format!(
                    "`{key} = {w}` is {} than the kernel's",
                    if o == std::cmp::Ordering::Less {
                        "less"
                    } else {
                        "more"
                    }
                ),
            ),
        };
    }
    if normal(&w) == normal(truth) {
        result(check, true, expected, "right")
    } else {
        result(
            check,
            false,
            expected,
            format!("`{key} = \"{w}\"` is not what it shows"),
        )
    }
}

/// What a verdict check of a C program runs: the program, map values written first, the
/// frame, and the frame it must leave.
struct CRun {
    program: Option<String>,
    writes: Vec<MapWrite>,
    frame: Vec<u8>,
    output: Option<Vec<u8>>,
}

/// Where two frames first differ, named by the field of an Ethernet/IPv4/IPv6 frame.
fn first_difference(want: &[u8], got: &[u8]) -> String {
    let Some(i) = (0..want.len().max(got.len())).find(|&i| want.get(i) != got.get(i)) else {
        return "identical".into();
    };
    let v4 = want.get(12..14) == Some(&[0x08, 0x00]);
    let l4 = if v4 {
        14 + ((want.get(14).copied().unwrap_or(0x45) & 0x0f) as usize) * 4
    } else {
        54
    };
    let proto = if v4 { want.get(23) } else { want.get(20) }.copied();
    let field = match i {
        0..=5 => "the destination MAC",
        6..=11 => "the source MAC",
        12..=13 => "the EtherType",
        24..=25 if v4 => "the IPv4 header checksum",
        26..=29 if v4 => "the source address",
        30..=33 if v4 => "the destination address",
        22..=37 if !v4 => "the source address",
        38..=53 if !v4 => "the destination address",
        _ if i < l4 => "the IP header",
        _ if (i == l4 + 6 || i == l4 + 7) && proto == Some(17) => "the UDP checksum",
        _ if (i == l4 + 16 || i == l4 + 17) && proto == Some(6) => "the TCP checksum",
        _ if i < l4 + 8 => "the transport header",
        _ => "the payload",
    };
    let hex = |b: &[u8]| {
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join("")
    };
    let (lo, hi) = (i & !1, (i & !1) + 2);
    format!(
        "{field} differs at byte {i}: {} where {} was expected ({} bytes out, {} expected)",
        hex(got.get(lo..hi.min(got.len())).unwrap_or(&[])),
        hex(want.get(lo..hi.min(want.len())).unwrap_or(&[])),
        got.len(),
        want.len()
    )
}

/// A verdict check's judgement of the frame its program left (`out`, from `given`): its
/// `frame` expectations field by field, then its `output` byte for byte (an eCLAT check's
/// `output`; a C check's is judged by [`verdict_c`]). `None` when they hold (or the check
/// has none). Every expected field is named, with the value seen beside a wrong one; a
/// frame left as it was given says so: the program never wrote it.
fn judge_frame(check: &Check, verdict: &str, given: &[u8], out: &[u8]) -> Option<CheckResult> {
    let Check::Verdict { packet, frame, .. } = check else {
        return None;
    };
    let wants: Vec<FieldExpect> = frame
        .iter()
        .filter_map(|f| FieldExpect::parse(f).ok())
        .collect();
    if wants.iter().all(|w| w.mismatch(out).is_none()) {
        return None;
    }
    let seen = wants
        .iter()
        .map(|w| match w.mismatch(out) {
            Some(v) => format!("{} {v} (not {})", w.field, w.want),
            None => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let changes = eclat_model::frame::changes(given, out);
    let how = if changes.is_empty() {
        "the frame left exactly as it came in: nothing wrote the packet (a counter or a \
         `monitor` of the new value does not change it)"
            .to_string()
    } else {
        format!(
            "the frame left with {}",
            changes
                .iter()
                .map(|c| format!("{} {} -> {}", c.field, c.before, c.after))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let mut r = result(
        check,
        false,
        format!(
            "the frame that leaves: {}",
            wants
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!("{seen}; {how}"),
    );
    r.what = format!(
        "`{packet}` should leave with {} (its verdict, {verdict}, is right)",
        wants
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Some(r)
}

async fn verdict_c(
    lab: &Lab,
    check: &Check,
    built: std::result::Result<BuildReport, Arc<anyhow::Error>>,
    run: CRun,
    want: hike::XdpAction,
    deltas: &[MapDelta],
) -> Result<CheckResult> {
    let rep = match built {
        Ok(r) if r.accepted() => r,
        Ok(_) => {
            return Ok(result(
                check,
                false,
                want.to_string(),
                "the verifier rejects the program",
            ));
        }
        Err(e) => return Ok(failed(check, want.to_string(), &e)),
    };
    let CRun {
        program,
        writes,
        frame,
        output,
    } = run;
    let given = frame.clone();
    let runs = match lab
        .run_object(
            PathBuf::from(&rep.object),
            program,
            writes,
            vec![frame.clone(), frame],
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return Ok(failed(check, want.to_string(), &e)),
    };
    let seen = hike::XdpAction::from_u32(runs[0].verdict)
        .map(|a| a.to_string())
        .unwrap_or_else(|| runs[0].verdict.to_string());
    if runs[0].verdict != want as u32 {
        return Ok(result(check, false, want.to_string(), seen));
    }
    if let Some(o) = &output
        && runs[0].output != *o
    {
        return Ok(result(
            check,
            false,
            "the rewritten frame, byte for byte",
            first_difference(o, &runs[0].output),
        ));
    }
    if let Some(r) = judge_frame(check, &seen, &given, &runs[0].output) {
        return Ok(r);
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
            return Ok(counter_failed(check, &seen, d, got));
        }
    }
    Ok(result(check, true, want.to_string(), seen))
}

/// A packet through the script's loader, twice (the second run gives the map changes of a
/// packet when the maps already hold the first one's state).
async fn verdict_eclat(
    lab: &Lab,
    check: &Check,
    file: &Path,
    frame: Vec<u8>,
    want: hike::XdpAction,
    deltas: &[MapDelta],
    cancel: &CancellationToken,
) -> Result<CheckResult> {
    let req = TestRequest {
        file: file.to_path_buf(),
        defines: vec![],
        packets: vec![("check".into(), frame.clone()), ("check".into(), frame)],
        chain: None,
        clock: None,
    };
    let res = match lab.test(req, cancel.clone()).await {
        Ok(r) => r.packets,
        Err(e) if eclat_service::is_stopped(&e) => return Err(e),
        Err(e) => return Ok(failed(check, want.to_string(), &e)),
    };
    Ok(judge_eclat(check, &res, want, deltas))
}

/// A verdict check's judgement of what its packet did twice (`res`: the two runs).
fn judge_eclat(
    check: &Check,
    res: &[PacketResult],
    want: hike::XdpAction,
    deltas: &[MapDelta],
) -> CheckResult {
    if res.len() < 2 {
        return result(
            check,
            false,
            want.to_string(),
            format!("{} of the 2 runs of the packet were made", res.len()),
        );
    }
    if res[0].verdict != want.to_string() {
        let why = res[0]
            .trace
            .iter()
            .find(|t| t.contains("ABORTED"))
            .cloned()
            .unwrap_or_default();
        return result(
            check,
            false,
            want.to_string(),
            if why.is_empty() {
                res[0].verdict.clone()
            } else {
                format!("{} ({why})", res[0].verdict)
            },
        );
    }
    if let Check::Verdict { packet, output, .. } = check
        && let Ok(given) = packetspec::frame(packet)
    {
        if let Some(o) = output.as_deref().and_then(|o| packetspec::frame(o).ok())
            && res[0].output != o
        {
            return result(
                check,
                false,
                "the rewritten frame, byte for byte",
                first_difference(&o, &res[0].output),
            );
        }
        if let Some(r) = judge_frame(check, &res[0].verdict, &given, &res[0].output) {
            return r;
        }
    }
    for d in deltas {
        let delta = res[1]
            .map_changes
            .iter()
            .find(|c| (c.map == d.map || c.map.ends_with(&format!("/{}", d.map))) && c.key == d.key)
            .and_then(|c| c.delta)
            .unwrap_or(0);
        if delta != d.delta as i128 {
            return counter_failed(check, &want.to_string(), d, delta);
        }
    }
    result(check, true, want.to_string(), want.to_string())
}

/// How long a tool gets to attach (bcc compiles C first: seconds on a loaded machine).
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Why `tool` cannot run on this machine, if it cannot (a check of an exercise that runs
/// it, or a step that `needs` it, says so instead of running).
pub fn missing(tool: crate::lessons::Tool) -> Option<String> {
    use eclat_service::doctor as d;
    match tool {
        crate::lessons::Tool::Bpftrace => {
            if d::tool("bpftrace").is_none() {
                Some("bpftrace is not installed (`eclat-lab doctor` says how to install it)".into())
            } else if d::ensure_tracefs().is_none() {
                Some("tracefs is not mounted and the lab may not mount it (`sudo eclat-lab doctor` mounts it)".into())
            } else {
                None
            }
        }
        crate::lessons::Tool::Bcc => {
            let release = d::kernel_version().map(|v| v.2).unwrap_or_default();
            if let Some(why) = d::bcc_missing() {
                Some(format!(
                    "bcc is not installed for {} ({why}; `eclat-lab doctor` says how)",
                    d::BCC_PYTHON
                ))
            } else if d::kernel_headers(&release).is_none() {
                Some(format!(
                    "this machine has no headers of its kernel (Linux {release}), and bcc \
                     compiles your C against them when it starts (`eclat-lab doctor`)"
                ))
            } else {
                None
            }
        }
    }
}

/// The last number in a line (`@aborts: 100` -> 100).
fn last_number(line: &str) -> Option<i128> {
    line.split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .last()?
        .parse()
        .ok()
}

/// What a tool's output says `name` counted: the sum of the last run of lines of that map
/// (`@aborts: 100`; a map with keys prints one line per key, `@aborts[7149]: 100` and
/// `@aborts[7150]: 20`, and all of them are what it counted), or of the last `name: N` line.
/// A line of another map whose name starts the same (`@aborts_by_if[2]: 5`) is not one.
fn tool_count(out: &[String], name: &str) -> Option<i128> {
    let of_map = |l: &str| {
        let l = l.trim_start();
        l.strip_prefix(name)
            .filter(|rest| rest.starts_with(':') || rest.starts_with('['))
            .and_then(|_| last_number(l))
    };
    let mut lines = out.iter().rev().skip_while(|l| of_map(l).is_none());
    let mut total = of_map(lines.next()?)?;
    for n in lines.map_while(|l| of_map(l)) {
        total += n;
    }
    Some(total)
}

/// The end of a tool's output, for a report.
fn tail(lines: &[String]) -> String {
    let t: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    if t.is_empty() {
        return "(it printed nothing)".into();
    }
    t[t.len().saturating_sub(4)..].join(" / ")
}

/// What bpftrace printed about the learner's program `file` (its errors and warnings, and
/// its messages with no place) as diagnostics, with the file relative to its folder and
/// character columns (`eclat_model::btdiag`); nothing for another tool, or when it printed
/// no message.
fn tool_said(tool: crate::lessons::Tool, out: &[String], file: &Path) -> Vec<CDiagnostic> {
    if tool != crate::lessons::Tool::Bpftrace {
        return Vec::new();
    }
    let shown = file.display().to_string();
    let text = std::sync::OnceLock::new();
    let mut d = eclat_model::btdiag::parse(&out.join("\n"), |f| {
        (f == shown)
            .then(|| {
                text.get_or_init(|| eclat_kernel::perms::read_to_string_as_invoking_user(file).ok())
                    .clone()
            })
            .flatten()
    });
    let dir = file
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    cdiag::relative_to(&mut d, &dir);
    d
}

/// An `observe` check's failure, after its tool printed `out`: when the tool reported an error
/// in the learner's program (bpftrace's `FILE:LINE:COL: ERROR: ...`), `seen` is `context` and
/// that first error on one line (file:line:col, and how many more), and the check carries the
/// tool's messages as diagnostics, rendered in clang's layout (each with its quoted line and
/// the marks under the place); else `seen` is `context` and the end of what it printed, and
/// any message it printed with no place goes with it as a diagnostic.
fn tool_failed(
    check: &Check,
    expected: String,
    context: String,
    out: &[String],
    said: Vec<CDiagnostic>,
) -> CheckResult {
    let errors: Vec<&CDiagnostic> = said
        .iter()
        .filter(|d| d.is_error() && d.file.is_some())
        .collect();
    let mut r = match errors.first() {
        Some(first) => {
            let mut r = result(
                check,
                false,
                expected,
                format!("{context}{}{}", first.short(), more_errors(errors.len())),
            );
            r.compiler_output = Some(cdiag::render(&said));
            r
        }
        None => result(check, false, expected, format!("{context}{}", tail(out))),
    };
    r.diagnostics = said.into_iter().map(Diagnostic::C).collect();
    r
}

/// A map entry once the packets in flight have landed (two reads 50 ms apart agree).
async fn settled(lab: &Lab, map: &str, key: &str) -> Result<i128> {
    let mut last = value_of(&dump_of(lab, map).await?, key)?;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let now = value_of(&dump_of(lab, map).await?, key)?;
        if now == last {
            return Ok(now);
        }
        last = now;
    }
    Ok(last)
}

/// `{file}`, `{python}` and `{prog_id:NODE:DEV}` in an argument of an `observe` check.
async fn argument(lab: &Lab, a: &str, file: &Path) -> Result<String> {
    if let Some(rest) = a
        .strip_prefix("{prog_id:")
        .and_then(|r| r.strip_suffix('}'))
    {
        let (node, dev) = rest
            .split_once(':')
            .with_context(|| format!("write {{prog_id:NODE:DEV}}, not {a}"))?;
        return Ok(lab
            .attached_prog(node.into(), dev.into())
            .await?
            .id
            .to_string());
    }
    Ok(a.replace("{file}", &file.display().to_string())
        .replace("{python}", eclat_service::doctor::BCC_PYTHON))
}

/// Runs the learner's bpftrace or bcc program in the scratch lab while traffic flows, and
/// compares what it counted with the lab's own counter (or the packets sent).
async fn observe(
    scratch: &mut Scratch<'_>,
    check: &Check,
    file: &Path,
    cancel: &CancellationToken,
) -> Result<CheckResult> {
    let Check::Observe {
        tool,
        setup,
        node,
        run,
        ready,
        send,
        decoy,
        count,
        equals,
        ..
    } = check
    else {
        bail!("not an observe check");
    };
    if let Some(why) = missing(*tool) {
        let mut r = result(check, false, "the tool to run on this machine", why);
        r.not_possible = true;
        r.hint = None;
        return Ok(r);
    }
    scratch.setup(setup, cancel).await?;
    let lab = scratch.get().await?;
    let mut argv = Vec::new();
    for a in run {
        argv.push(argument(lab, a, file).await?);
    }
    let before = match equals {
        Some(m) => value_of(&dump_of(lab, &m.map).await?, &m.key)?,
        None => 0,
    };
    let mut bg = lab.exec_background(node.clone(), argv).await?;
    let needle = ready.clone();
    let (bg, started) = tokio::task::spawn_blocking(move || {
        let ok = bg.wait_for(&needle, READY_TIMEOUT);
        (bg, ok)
    })
    .await?;
    let grace = eclat_service::exec::INTERRUPT_GRACE;
    if !started {
        let (code, out) = tokio::task::spawn_blocking(move || bg.interrupt(grace)).await??;
        return Ok(tool_failed(
            check,
            format!("it to start and print `{ready}`"),
            format!("it ended with status {code} first: "),
            &out,
            tool_said(*tool, &out, file),
        ));
    }
    // bpftrace prints BEGIN's line before it attaches the other probes: wait until the kernel
    // shows them attached
    let (bg, attached) = if *tool == crate::lessons::Tool::Bpftrace {
        let expected = bpftrace_probes(
            &bg.output,
            &eclat_kernel::perms::read_to_string_as_invoking_user(file)?,
        );
        tokio::task::spawn_blocking(move || {
            let mut bg = bg;
            let n = bg.wait_for_probes(expected.unwrap_or(0), READY_TIMEOUT);
            (bg, Some((n, expected)))
        })
        .await?
    } else {
        (bg, None)
    };
    if let Some((n, expected)) = attached
        && n < expected.unwrap_or(0)
    {
        let (code, out) = tokio::task::spawn_blocking(move || bg.interrupt(grace)).await??;
        return Ok(tool_failed(
            check,
            format!("its probes attached ({} of them)", expected.unwrap_or(0)),
            format!(
                "{n} attached when it ended or after {} s (status {code}): ",
                READY_TIMEOUT.as_secs(),
            ),
            &out,
            tool_said(*tool, &out, file),
        ));
    }
    checkpoint(cancel)?;
    let traffic = |line: &str| -> Result<TrafficRequest> {
        match Step::parse(line)? {
            Step::Traffic(t) => Ok(t),
            _ => bail!("a check sends with `traffic ...`, not `{line}`"),
        }
    };
    // the decoy's packets first: whatever the learner's program counts of them is too many
    let decoyed = match decoy {
        Some(d) => {
            let r = lab
                .traffic(traffic(d)?, Progress::default(), cancel.clone())
                .await?;
            Some((d, r.sent as i128))
        }
        None => None,
    };
    let sent = lab
        .traffic(traffic(send)?, Progress::default(), cancel.clone())
        .await?;
    let grew = match equals {
        Some(m) => settled(lab, &m.map, &m.key).await? - before,
        None => sent.sent as i128,
    };
    // bpftrace can miss a Ctrl-C that comes just before it waits for events: it gets
    // another every half second (a bcc program in Python gets one: a second one would
    // interrupt the handler that prints its count)
    let every = if *tool == crate::lessons::Tool::Bpftrace {
        std::time::Duration::from_millis(500)
    } else {
        grace
    };
    let (_, out) = tokio::task::spawn_blocking(move || bg.interrupt_every(grace, every)).await??;
    let counted = tool_count(&out, count);
    Ok(match counted {
        None => tool_failed(
            check,
            format!("a line `{count}... N` when it ends"),
            "no such line: ".into(),
            &out,
            tool_said(*tool, &out, file),
        ),
        Some(n) if n == grew => result(check, true, grew.to_string(), n.to_string()),
        Some(n) => result(
            check,
            false,
            format!("{grew} (the lab's own count)"),
            match decoyed {
                Some((d, extra)) if extra > 0 && n >= grew + extra => format!(
                    "{n}: the {extra} packets sent first through another program (`{d}`) \
                     were counted too; count only the events of the program whose ID you \
                     were given"
                ),
                _ => format!("{n}"),
            },
        ),
    })
}

/// How many probes a bpftrace program attaches in the kernel once it runs: the count it
/// announces ("Attaching N probes...") less its `BEGIN` and `END` probes, which are run once
/// and not left attached. `None` before bpftrace said how many.
fn bpftrace_probes(output: &[String], script: &str) -> Option<usize> {
    let announced = output.iter().find_map(|l| {
        let rest = l.trim().strip_prefix("Attaching ")?;
        rest.split_whitespace().next()?.parse::<usize>().ok()
    })?;
    Some(announced.saturating_sub(bpftrace_special_probes(script)))
}

/// How many of a bpftrace program's probes are `BEGIN` or `END` (by name, outside comments,
/// strings, actions and filters).
fn bpftrace_special_probes(script: &str) -> usize {
    let mut n = 0;
    let (mut depth, mut in_filter) = (0usize, false);
    let mut word = String::new();
    let b = script.as_bytes();
    let mut i = 0;
    let mut flush = |word: &mut String, top: bool| {
        if top && matches!(word.as_str(), "BEGIN" | "END" | "begin" | "end") {
            n += 1;
        }
        word.clear();
    };
    while i < b.len() {
        let c = b[i] as char;
        let top = depth == 0 && !in_filter;
        if c == '/' && b.get(i + 1) == Some(&b'/') {
            flush(&mut word, top);
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && b.get(i + 1) == Some(&b'*') {
            flush(&mut word, top);
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
            continue;
        }
        if c == '"' {
            flush(&mut word, top);
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, top);
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                '/' if depth == 0 => in_filter = !in_filter,
                _ => {}
            }
        }
        i += 1;
    }
    flush(&mut word, depth == 0 && !in_filter);
    n
}

/// Runs one setup step in the scratch lab.
async fn step(lab: &Lab, s: Step, cancel: &CancellationToken) -> Result<()> {
    match s {
        Step::TopoUp(name) => lab
            .topo_up(name, eclat_service::topo::Replace::No)
            .await
            .map(drop),
        Step::XdpAttach { program, node, dev } => {
            lab.xdp_attach(program, node, dev, false).await.map(drop)
        }
        Step::XdpLoad(file) => lab.xdp_load(file).await.map(drop),
        Step::Load(file) => lab
            .load(LoadRequest {
                file,
                defines: vec![],
                replace: false,
            })
            .await
            .map(drop),
        Step::ModuleLoad(m) => lab.module_load(m).await.map(drop),
        Step::MapClear(m) => lab.map_clear(m).await.map(drop),
        Step::MapSet { map, key, value } => lab.map_set(map, key, value).await.map(drop),
        Step::CubeAdd { name, source } => lab.cube_add(name, source).await.map(drop),
        Step::CubeConnect { from, port, to } => lab.cube_connect(from, port, to).await.map(drop),
        Step::CubeAttach { name, node, dev } => lab.cube_attach(name, node, dev).await.map(drop),
        Step::Traffic(t) => lab
            .traffic(t, Progress::default(), cancel.clone())
            .await
            .map(drop),
    }
}

/// The raw dump of the map a delta names, in the scratch lab.
async fn dump_of(lab: &Lab, name: &str) -> Result<Dump> {
    let name = name.to_string();
    let d = lab.map_dump(name).await?;
    Ok(Dump {
        map: d.map,
        rows: d
            .rows
            .into_iter()
            .map(|r| eclat_kernel::maps::Row {
                key: r.key,
                value: r.value,
                key_bytes: r.key_bytes,
                value_bytes: r.value_bytes,
                per_cpu: vec![],
            })
            .collect(),
    })
}

/// Runs a check's setup commands in its scratch lab; a failure says which command (and
/// whether it involves the learner's file).
async fn run_setup(
    lab: &Lab,
    file: &Path,
    setup: &[String],
    cancel: &CancellationToken,
) -> Result<()> {
    for c in setup {
        checkpoint(cancel)?;
        let s = Step::parse(&c.replace("{file}", &file.display().to_string()))?;
        step(lab, s, cancel).await.map_err(|e| {
            if eclat_service::is_stopped(&e) {
                return e;
            }
            e.context(LabSetupError {
                command: c.clone(),
                learners_file: c.contains("{file}"),
            })
        })?;
    }
    Ok(())
}

/// What the cubes of a swap check counted.
#[derive(Debug, Default, Clone, PartialEq)]
struct Tally {
    /// class -> packets counted by the counting cube
    counted: std::collections::BTreeMap<u16, u64>,
    /// class -> packets the inserted cube says it dropped
    dropped: std::collections::BTreeMap<u16, u64>,
    /// the inserted cube's `cube_stats`
    inserted: eclat_kernel::cube::Stats,
    inserted_tx: u64,
    /// misses of every cube (packets sent to an empty port)
    misses: u64,
}

async fn tally(lab: &Lab, count: &str, inserted: &str, dropped: &str) -> Result<Tally> {
    let by_class = |d: &eclat_service::maps::MapDump| -> std::collections::BTreeMap<u16, u64> {
        d.rows
            .iter()
            .filter_map(|r| match (&r.key, &r.value) {
                (Value::Int(k), Value::Int(v)) => Some((*k as u16, *v)),
                _ => None,
            })
            .collect()
    };
    let area = eclat_kernel::cube::CUBE_AREA;
    let counted = by_class(&lab.map_dump(format!("{area}/{count}/mon_class")).await?);
    let dropped = by_class(&lab.map_dump(format!("{area}/{inserted}/{dropped}")).await?);
    let cubes = lab.cube_show(None).await?.cubes;
    let ins = cubes
        .iter()
        .find(|c| c.name == inserted)
        .with_context(|| format!("no cube `{inserted}` in the check's lab"))?;
    Ok(Tally {
        counted,
        dropped,
        inserted: ins.stats.clone(),
        inserted_tx: ins.ports.iter().map(|p| p.tx).sum(),
        misses: cubes.iter().map(|c| c.stats.miss).sum(),
    })
}

/// What a swap check concludes from what was sent (class -> packets) and the tally: `None`
/// when every packet is accounted for, else what went wrong, in words.
fn account(
    sent: &[(u16, u64)],
    blocked: &[u16],
    t: &Tally,
    inserted: &str,
    count: &str,
) -> Option<String> {
    let mut wrong = Vec::new();
    if t.misses > 0 {
        wrong.push(format!(
            "{} packet(s) were sent to a port with nothing connected and dropped (misses)",
            t.misses
        ));
    }
    if t.inserted.rx == 0 {
        wrong.push(format!(
            "no packet went through {inserted}: was it inserted?"
        ));
    }
    let drops: u64 = t.dropped.values().sum();
    if drops != t.inserted.drop {
        wrong.push(format!(
            "{inserted} counts {drops} drop(s) by class but cube_drop() counted {}: drop with \
             cube_drop() and count every drop by class",
            t.inserted.drop
        ));
    }
    if t.inserted.rx != t.inserted.drop + t.inserted_tx + t.inserted.pass {
        wrong.push(format!(
            "{inserted} received {} packet(s) and accounts for {} (dropped {}, sent on {}, \
             passed {})",
            t.inserted.rx,
            t.inserted.drop + t.inserted_tx + t.inserted.pass,
            t.inserted.drop,
            t.inserted_tx,
            t.inserted.pass
        ));
    }
    for &(class, n) in sent {
        let c = t.counted.get(&class).copied().unwrap_or(0);
        let d = t.dropped.get(&class).copied().unwrap_or(0);
        let is_blocked = blocked.contains(&class);
        if !is_blocked && d > 0 {
            wrong.push(format!(
                "{inserted} dropped {d} packet(s) of port {class}, which it must let through"
            ));
        }
        if is_blocked && d == 0 {
            wrong.push(format!(
                "{inserted} dropped no packet of port {class}, which it must block"
            ));
        }
        if c + d != n {
            wrong.push(format!(
                "port {class}: sent {n}, counted by {count} {c}, dropped by {inserted} {d}: {} {}",
                (n as i128 - (c + d) as i128).abs(),
                if c + d < n { "lost" } else { "too many" }
            ));
        }
    }
    (!wrong.is_empty()).then(|| wrong.join("; "))
}

async fn swap(
    lab: &Lab,
    check: &Check,
    file: &Path,
    cancel: &CancellationToken,
) -> Result<CheckResult> {
    let Check::Swap {
        setup,
        send,
        swap,
        count,
        inserted,
        dropped,
        blocked,
        ..
    } = check
    else {
        bail!("not a swap check");
    };
    run_setup(lab, file, setup, cancel).await?;
    let mut reqs = Vec::new();
    for line in send {
        let Step::Traffic(t) = Step::parse(line)? else {
            bail!("a swap check sends with `traffic ...`, not `{line}`");
        };
        let What::Udp { port, .. } = t.what else {
            bail!("a swap check sends UDP (its classes are ports): `{line}`");
        };
        reqs.push((port, t));
    }
    let total: u64 = reqs.iter().map(|(_, t)| t.count.unwrap_or(10)).sum();
    let before = tally(lab, count, inserted, dropped).await?;
    let progress: Vec<Progress> = reqs.iter().map(|_| Progress::default()).collect();
    let mut tasks = Vec::new();
    for ((_, t), p) in reqs.iter().zip(&progress) {
        let (lab, t, p, c) = (lab.clone(), t.clone(), p.clone(), cancel.clone());
        tasks.push(tokio::spawn(async move { lab.traffic(t, p, c).await }));
    }
    // the swap, when half of the packets are out: waits for that, not for a time
    let swapped = async {
        // a test's slowest machine: the swap only once every packet is out
        while eclat_kernel::slow_at("check:swap") && !tasks.iter().all(|t| t.is_finished()) {
            checkpoint(cancel)?;
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        while progress.iter().map(|p| p.sent()).sum::<u64>() < total / 2 {
            checkpoint(cancel)?;
            if tasks.iter().all(|t| t.is_finished()) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        let s = Step::parse(&swap.replace("{file}", &file.display().to_string()))?;
        step(lab, s, cancel).await
    }
    .await;
    // on a machine slow enough that every packet was out before the swap was done (the
    // Vagrant box under software emulation), no packet would meet the inserted program:
    // then half of each stream again, once the swap is done
    let ended_first = tasks.iter().all(|t| t.is_finished());
    let mut sent = Vec::new();
    for ((port, _), t) in reqs.iter().zip(tasks) {
        let rep = t.await.context("the traffic task")??;
        sent.push((*port, rep.sent));
    }
    swapped.with_context(|| format!("`{swap}`"))?;
    let half = progress.iter().map(|p| p.sent()).sum::<u64>();
    if half < total {
        bail!("the traffic stopped after {half} of {total} packets");
    }
    let mut total = total;
    if ended_first {
        for ((_, t), s) in reqs.iter().zip(sent.iter_mut()) {
            let mut t = t.clone();
            let n = (t.count.unwrap_or(10) / 2).max(1);
            t.count = Some(n);
            checkpoint(cancel)?;
            let rep = lab.traffic(t, Progress::default(), cancel.clone()).await?;
            if rep.sent < n {
                bail!(
                    "the traffic after the swap stopped after {} of {n} packets",
                    rep.sent
                );
            }
            s.1 += rep.sent;
            total += rep.sent;
        }
    }
    // the last packets may still be on their way through the veth: wait until every packet
    // is seen somewhere, or the counters stop moving
    let mut t = tally(lab, count, inserted, dropped).await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let seen: u64 = t.counted.values().sum::<u64>() + t.inserted.drop + t.misses;
        let seen_before: u64 =
            before.counted.values().sum::<u64>() + before.inserted.drop + before.misses;
        if seen - seen_before >= total || std::time::Instant::now() > deadline {
            break;
        }
        checkpoint(cancel)?;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        t = tally(lab, count, inserted, dropped).await?;
    }
    let sub = |a: &std::collections::BTreeMap<u16, u64>,
               b: &std::collections::BTreeMap<u16, u64>| {
        a.iter()
            .map(|(k, v)| (*k, v - b.get(k).copied().unwrap_or(0).min(*v)))
            .collect()
    };
    let delta = Tally {
        counted: sub(&t.counted, &before.counted),
        dropped: sub(&t.dropped, &before.dropped),
        inserted: eclat_kernel::cube::Stats {
            rx: t.inserted.rx - before.inserted.rx.min(t.inserted.rx),
            pass: t.inserted.pass - before.inserted.pass.min(t.inserted.pass),
            drop: t.inserted.drop - before.inserted.drop.min(t.inserted.drop),
            miss: t.inserted.miss - before.inserted.miss.min(t.inserted.miss),
        },
        inserted_tx: t.inserted_tx - before.inserted_tx.min(t.inserted_tx),
        misses: t.misses - before.misses.min(t.misses),
    };
    let sent_text = sent
        .iter()
        .map(|(p, n)| format!("{n} to port {p}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(match account(&sent, blocked, &delta, inserted, count) {
        None => result(
            check,
            true,
            format!("every packet accounted for ({sent_text})"),
            format!(
                "all accounted for: {} counted by {count}, {} dropped by {inserted} on purpose, 0 lost",
                delta.counted.values().sum::<u64>(),
                delta.inserted.drop
            ),
        ),
        Some(why) => result(
            check,
            false,
            format!("every packet accounted for ({sent_text})"),
            why,
        ),
    })
}

/// What a flows check looks at.
struct FlowCheck<'a> {
    /// the map counting, where packets arrive, per (backend address, source port)
    at: &'a str,
    drained: Option<std::net::Ipv4Addr>,
    deltas: &'a [MapDelta],
}

/// Packets per (backend address, source port), from a map keyed by `{u8 address[4]
/// (network order), u16 source port (the machine's order), u16 pad}`.
type FlowCounts = std::collections::BTreeMap<(u32, u16), u64>;

fn flow_counts(d: &Dump) -> Result<FlowCounts> {
    let mut out = FlowCounts::new();
    for r in &d.rows {
        let k = &r.key_bytes;
        if k.len() != 8 {
            bail!(
                "map {} has {}-byte keys; a flows check reads (backend address, u16 source \
                 port, u16 pad) keys",
                d.map.name,
                k.len()
            );
        }
        let addr = u32::from_be_bytes([k[0], k[1], k[2], k[3]]);
        let port = u16::from_ne_bytes([k[4], k[5]]);
        let v = match &r.value {
            Value::Int(v) => *v,
            Value::Words(w) => w.first().copied().unwrap_or(0),
            Value::Bytes(_) => 0,
        };
        *out.entry((addr, port)).or_default() += v;
    }
    Ok(out)
}

/// The verdict of a flows check on the counts before and after `send` of `flows` flows
/// (source ports `sport`..) and `count` packets (round robin): `Err(what was seen)` names
/// the first flow that went wrong.
fn judge_flows(
    before: &FlowCounts,
    after: &FlowCounts,
    flows: u16,
    sport: u16,
    count: u64,
    drained: Option<std::net::Ipv4Addr>,
) -> std::result::Result<String, String> {
    let ip = |a: u32| std::net::Ipv4Addr::from(a).to_string();
    let drained = drained.map(u32::from);
    let mut used = std::collections::BTreeSet::new();
    let mut kept_at_drained = 0;
    for j in 0..flows {
        let port = sport + j;
        let sent = count / flows as u64 + u64::from((j as u64) < count % flows as u64);
        let at = |m: &FlowCounts| -> Vec<(u32, u64)> {
            m.iter()
                .filter(|((_, p), n)| *p == port && **n > 0)
                .map(|((a, _), n)| (*a, *n))
                .collect()
        };
        let old = at(before);
        let now: Vec<(u32, u64)> = at(after)
            .into_iter()
            .map(|(a, n)| {
                let b = before.get(&(a, port)).copied().unwrap_or(0);
                (a, n.saturating_sub(b))
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        let total: u64 = now.iter().map(|(_, n)| n).sum();
        if now.len() > 1 {
            let parts: Vec<String> = now
                .iter()
                .map(|(a, n)| format!("{n} at {}", ip(*a)))
                .collect();
            return Err(format!(
                "the flow from source port {port} was split between backends: {}",
                parts.join(", ")
            ));
        }
        if total != sent {
            return Err(format!(
                "the flow from source port {port} sent {sent} packets and {total} of them \
                 reached a backend (a router drops IPv4 packets whose header checksum is wrong)"
            ));
        }
        let Some(&(backend, _)) = now.first() else {
            continue; // fewer packets than flows: this one sent none
        };
        used.insert(backend);
        if let Some((was, _)) = old.first()
            && *was != backend
        {
            return Err(format!(
                "the flow from source port {port} went to {} before and to {} now: an \
                 existing flow must keep its backend",
                ip(*was),
                ip(backend)
            ));
        }
        if Some(backend) == drained {
            if old.is_empty() {
                return Err(format!(
                    "the new flow from source port {port} reached {}, which is draining: \
                     no new flow may go there",
                    ip(backend)
                ));
            }
            kept_at_drained += 1;
        }
    }
    if let Some(d) = drained {
        if kept_at_drained == 0 {
            return Err(format!(
                "no existing flow kept sending to {} while it drained (the check needs flows \
                 that were there before: existing flows must stay)",
                ip(d)
            ));
        }
        return Ok(format!(
            "{flows} flows, each at one backend; the flows already on {} stayed there \
             ({kept_at_drained}), no new one went there",
            ip(d)
        ));
    }
    if flows >= 4 && used.len() < 2 {
        return Err(format!(
            "all {flows} flows went to {}: a hash of the flow should spread them over the \
             backends",
            used.iter().map(|a| ip(*a)).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(format!(
        "{flows} flows, each at one backend, over {} backends",
        used.len()
    ))
}

async fn flows(
    lab: &Lab,
    check: &Check,
    file: &Path,
    setup: &[String],
    send: &str,
    f: &FlowCheck<'_>,
    cancel: &CancellationToken,
) -> Result<CheckResult> {
    run_setup(lab, file, setup, cancel).await?;
    let Step::Traffic(t) = Step::parse(send)? else {
        bail!("a flows check sends with `traffic ... --flows N`, not `{send}`");
    };
    let What::Flows { flows, sport, .. } = t.what else {
        bail!("a flows check sends with `traffic ... --udp PORT --flows N`, not `{send}`");
    };
    let before = flow_counts(&dump_of(lab, f.at).await?)?;
    let mut moved = Vec::new();
    for d in f.deltas {
        moved.push(value_of(&dump_of(lab, &d.map).await?, &d.key)?);
    }
    checkpoint(cancel)?;
    let rep = lab.traffic(t, Progress::default(), cancel.clone()).await?;
    checkpoint(cancel)?;
    let after = flow_counts(&dump_of(lab, f.at).await?)?;
    let expected = match f.drained {
        Some(d) => {
            format!("each flow at one backend, the old ones where they were, none new at {d}")
        }
        None => "each flow's packets at one backend".into(),
    };
    if let Err(seen) = judge_flows(&before, &after, flows, sport, rep.sent, f.drained) {
        return Ok(result(check, false, expected, seen));
    }
    if let Some((expected, seen)) = judge_deltas(lab, f.deltas, &moved).await? {
        return Ok(result(check, false, expected, seen));
    }
    let seen = judge_flows(&before, &after, flows, sport, rep.sent, f.drained).unwrap_or_default();
    Ok(result(check, true, expected, seen))
}

/// How the counters `deltas` moved since `before` (their values then, in order), when one
/// moved otherwise than the check expects: every counter, expected and seen, the wrong ones
/// marked, so the learner sees where the packets went (89 under DROP, none under
/// BLACKLISTED), not only that one count is off. None when all moved as expected.
async fn judge_deltas(
    lab: &Lab,
    deltas: &[MapDelta],
    before: &[i128],
) -> Result<Option<(String, String)>> {
    let mut moved = Vec::with_capacity(deltas.len());
    for (d, b) in deltas.iter().zip(before) {
        moved.push(value_of(&dump_of(lab, &d.map).await?, &d.key)? - b);
    }
    Ok(judged_deltas(deltas, &moved))
}

/// The pure half of [`judge_deltas`]: `moved[i]` is how far `deltas[i]`'s counter moved.
fn judged_deltas(deltas: &[MapDelta], moved: &[i128]) -> Option<(String, String)> {
    if deltas
        .iter()
        .zip(moved)
        .all(|(d, m)| *m == i128::from(d.delta))
    {
        return None;
    }
    let expected: Vec<String> = deltas
        .iter()
        .map(|d| format!("{} {:+}", d.counter(), d.delta))
        .collect();
    let seen: Vec<String> = deltas
        .iter()
        .zip(moved)
        .map(|(d, m)| {
            if *m == i128::from(d.delta) {
                format!("{} {m:+}", d.counter())
            } else {
                format!("{} {m:+} (not {:+})", d.counter(), d.delta)
            }
        })
        .collect();
    Some((expected.join(", "), seen.join(", ")))
}

/// How long a check's echo requests that must go unanswered wait for a reply after the
/// last one was sent: a reply comes back in the softirq that ran the chain (see `traffic`),
/// so this is a margin for a loaded machine's scheduling, not a round trip.
const NO_REPLY_WAIT: std::time::Duration = std::time::Duration::from_millis(25);

/// Where a traffic check stops its scratch lab's clock, ms.
const CHECK_CLOCK_MS: u32 = 1000;

#[allow(clippy::too_many_arguments)]
async fn traffic(
    lab: &Lab,
    check: &Check,
    file: &Path,
    setup: &[String],
    send: &str,
    deltas: &[MapDelta],
    replies: Option<u64>,
    cancel: &CancellationToken,
) -> Result<CheckResult> {
    let subst = |c: &str| c.replace("{file}", &file.display().to_string());
    run_setup(lab, file, setup, cancel).await?;
    // the programs' clock stopped (this is the check's own scratch lab): a token bucket
    // counts the same packets through however slowly a loaded machine sends them
    lab.set_test_clock(std::num::NonZeroU32::new(CHECK_CLOCK_MS))
        .await?;
    let mut before = Vec::new();
    for d in deltas {
        before.push(value_of(&dump_of(lab, &d.map).await?, &d.key)?);
    }
    let Step::Traffic(t) = Step::parse(&unpaced(&subst(send)))? else {
        bail!("a check sends with `traffic ...`, not `{send}`");
    };
    // Echo requests that must go unanswered (dropped by the chain): the generator waits
    // `NO_REPLY_WAIT` after its last request, not the second a person's `traffic` waits. A
    // request the chain passes is answered in the softirq that ran the chain, which runs
    // before the request's `send` returns (the same assumption every traffic check makes of
    // its counters, read as soon as the generator is done), so a reply is back within
    // microseconds. The verdict itself is proved exactly by the check's `BPF_PROG_TEST_RUN`
    // items; this confirms the live lab agrees.
    let wait = match (&t.what, replies, t.count) {
        (What::Icmp, Some(want), Some(n)) if want < n => NO_REPLY_WAIT,
        _ => eclat_service::traffic::REPLY_WAIT,
    };
    checkpoint(cancel)?;
    let rep = lab
        .traffic_waiting(t, Progress::default(), cancel.clone(), wait)
        .await?;
    checkpoint(cancel)?;
    if let Some(want) = replies
        && rep.replies != Some(want)
    {
        return Ok(result(
            check,
            false,
            format!("{want} echo replies"),
            format!(
                "{} echo replies",
                rep.replies.map(|g| g.to_string()).unwrap_or("no".into())
            ),
        ));
    }
    if let Some((expected, seen)) = judge_deltas(lab, deltas, &before).await? {
        return Ok(result(check, false, expected, seen));
    }
    Ok(result(
        check,
        true,
        "the counters as expected",
        "as expected",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A traffic check's failure names every counter, expected and seen, the wrong ones
    /// marked: lesson 8's starter counts the blacklisted drops as DROP, and the learner sees
    /// 89 there and none under BLACKLISTED, not only that DROP grew by 90.
    #[test]
    fn a_counter_check_failure_shows_where_every_packet_went() {
        let d = |key: &str, delta: i64| MapDelta {
            map: "map_pcpu_mon".into(),
            key: key.into(),
            delta,
            label: None,
        };
        let deltas = [d("0", 10), d("1", 1), d("3", 89), d("2", 0)];
        assert_eq!(judged_deltas(&deltas, &[10, 1, 89, 0]), None);
        let (expected, seen) = judged_deltas(&deltas, &[10, 90, 0, 0]).unwrap();
        assert_eq!(
            expected,
            "map_pcpu_mon[0] +10, map_pcpu_mon[1] +1, map_pcpu_mon[3] +89, map_pcpu_mon[2] +0"
        );
        assert_eq!(
            seen,
            "map_pcpu_mon[0] +10, map_pcpu_mon[1] +90 (not +1), map_pcpu_mon[3] +0 (not +89), \
             map_pcpu_mon[2] +0"
        );
    }

    #[test]
    fn bpftrace_probes_left_attached_are_the_announced_ones_but_begin_and_end() {
        let lesson = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../lessons/03-bpftool-bpftrace-bcc/solution/aborts.bt"
        ))
        .unwrap();
        assert_eq!(bpftrace_special_probes(&lesson), 1);
        let said = |s: &str| {
            vec![
                "ERROR: couldn't set RLIMIT_MEMLOCK".to_string(),
                s.to_string(),
            ]
        };
        assert_eq!(
            bpftrace_probes(&said("Attaching 2 probes..."), &lesson),
            Some(1)
        );
        assert_eq!(bpftrace_probes(&said("counting"), &lesson), None);
        // BEGIN and END as probes, not inside actions, filters, strings or comments
        let script = r#"
            // BEGIN is not here
            /* END { } */
            BEGIN, tracepoint:xdp:xdp_exception /comm == "END"/ { printf("BEGIN END\n"); @x = count(); }
            kprobe:bpf_prog_run { if (1) { @END = 1; } }
            END { clear(@x); }
        "#;
        assert_eq!(bpftrace_special_probes(script), 2);
        assert_eq!(
            bpftrace_probes(&said("Attaching 4 probes..."), script),
            Some(2)
        );
        // a program of BEGIN alone (lesson 3's starter) has nothing to wait for
        assert_eq!(
            bpftrace_probes(&said("Attaching 1 probe..."), "BEGIN { exit(); }"),
            Some(0)
        );
    }

    fn traffic_check(hint: Option<usize>) -> Check {
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
        let r = error_result(&traffic_check(Some(1)), &setup_error("topo up"));
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
        let r = error_result(&traffic_check(Some(1)), &setup_error("load {file}"));
        assert_eq!(r.hint, Some(1));
        assert_eq!(r.expected, "the check to run");
        assert!(r.seen.starts_with("setup `load {file}`: "), "{}", r.seen);
        let r = error_result(
            &traffic_check(Some(0)),
            &anyhow::anyhow!("no map pkt_count"),
        );
        assert_eq!((r.hint, r.seen.as_str()), (Some(0), "no map pkt_count"));
    }

    /// `src` compiled as `compile_file` does it, failing: its diagnostics, rendered by the
    /// compiler's renderer.
    fn compile_failed(src: &str, file: &str) -> anyhow::Error {
        let c = eclat::compile(src, file, &hike::catalog::Catalog::reference(), &[]);
        assert!(c.has_errors(), "{src}");
        eclat_service::scripts::CompileFailed {
            file: file.into(),
            diagnostics: c.report(src, file).diagnostics,
            rendered: c.render(src, file, false).trim_end().to_string(),
        }
        .into()
    }

    /// Lesson 7's solution with `hike_dorp()`: the check's failure says where
    /// (file:line:col), and carries the compiler's words whole (the source line, the mark,
    /// the help) and its located diagnostics; it said `line 22: ...` alone.
    #[test]
    fn a_script_that_does_not_compile_is_seen_where_it_fails_with_the_compilers_words() {
        let lesson = crate::lessons::find("7").unwrap();
        let src = crate::lessons::exercise_file(&lesson, "solution", "ports.eclat")
            .unwrap()
            .replace("    hike_drop()\n", "    hike_dorp()\n");
        let file = "/home/learner/eclat-lab/07-first-eclat-script/ports.eclat";
        let e = compile_failed(&src, file);
        let r = failed(&Check::Compiles { hint: None }, "no compile error", &e);
        assert_eq!(
            r.seen,
            format!("{file}:22:5: `hike_dorp` is not an imported program or a chain")
        );
        let out = r.compiler_output.as_deref().unwrap();
        assert!(out.contains(&format!("{file}:22:5")), "{out}");
        assert!(out.contains(" 22 │     hike_dorp()"), "{out}");
        assert!(out.contains("Help: did you mean `hike_drop`?"), "{out}");
        assert_eq!(r.diagnostics.len(), 1);
        assert_eq!(
            {
                let d = r.diagnostics[0].eclat().unwrap();
                (d.span.line, d.span.col)
            },
            (22, 5)
        );
        // the setup of a traffic check loading the script: where it failed, and the words
        let e = compile_failed(&src, file).context(LabSetupError {
            command: "load {file}".into(),
            learners_file: true,
        });
        let r = error_result(&traffic_check(Some(0)), &e);
        assert!(
            r.seen
                .starts_with(&format!("setup `load {{file}}`: {file}:22:5: ")),
            "{}",
            r.seen
        );
        assert!(r.compiler_output.unwrap().contains("Help: did you mean"));
        // two errors: the first, and how many more
        let two = src.replace("    monitor(DROP)\n", "    monitor(METRICS, 1)\n");
        let r = failed(
            &Check::Compiles { hint: None },
            "no compile error",
            &compile_failed(&two, file),
        );
        assert!(
            r.seen
                .starts_with(&format!("{file}:21:5: program `monitor` takes 1")),
            "{}",
            r.seen
        );
        assert!(r.seen.ends_with(" (and 2 more errors)"), "{}", r.seen);
        assert!(
            r.compiler_output
                .unwrap()
                .contains("Help: its signature: monitor(u32 event)")
        );
    }

    /// bpftrace's error in the learner's program (what the real bpftrace printed, lesson 3's
    /// aborts.bt with `args->prog`): its place, the quoted line and the marks under the place
    /// are kept as lines, not joined into one with " / ".
    #[test]
    fn a_bpftrace_error_is_seen_at_its_place_with_its_line_and_marks() {
        let printed = include_str!("../../pure/model/tests/fixtures/bpftrace/field.out");
        let out: Vec<String> = printed.lines().map(str::to_string).collect();
        let file = Path::new("/tmp/eclat-bpftrace-fixtures/ws/field.bt");
        let lesson = crate::lessons::find("3").unwrap();
        let check = &lesson
            .exercises
            .iter()
            .find(|e| e.id == "count-aborts")
            .unwrap()
            .checks[0];
        let r = tool_failed(
            check,
            "it to start and print `counting`".into(),
            "it ended with status 1 first: ".into(),
            &out,
            tool_said(crate::lessons::Tool::Bpftrace, &out, file),
        );
        assert_eq!(
            r.seen,
            "it ended with status 1 first: field.bt:18:30: Struct/union of type \
             'struct _tracepoint_xdp_xdp_exception' does not contain a field named 'prog'"
        );
        let said = r.compiler_output.as_deref().unwrap();
        let want = [
            "field.bt:18:30: error: Struct/union of type 'struct _tracepoint_xdp_xdp_exception' \
             does not contain a field named 'prog'",
            "   18 | tracepoint:xdp:xdp_exception /args->prog == $1/",
            "      |                              ~~~~~~~~~~~",
        ]
        .join("\n");
        assert!(said.contains(&want), "{said}");
        assert!(!said.contains(" / "), "{said}");
        let d: Vec<&CDiagnostic> = r.diagnostics.iter().filter_map(|d| d.c()).collect();
        let at = d.iter().find(|d| d.file.is_some()).unwrap();
        assert_eq!(at.file.as_deref(), Some("field.bt"));
        assert_eq!(at.span.map(|s| (s.line, s.col)), Some((18, 30)));
        // what bcc's Python printed is not read as bpftrace's
        assert!(tool_said(crate::lessons::Tool::Bcc, &out, file).is_empty());
        // a tool that printed no error in the program: the end of what it printed, as before
        let out = vec!["counting".to_string(), "@other: 3".to_string()];
        let r = tool_failed(
            check,
            "x".into(),
            "no such line: ".into(),
            &out,
            tool_said(crate::lessons::Tool::Bpftrace, &out, file),
        );
        assert_eq!(r.seen, "no such line: counting / @other: 3");
        assert!(r.compiler_output.is_none() && r.diagnostics.is_empty());
    }

    /// clang's notes in the lab's headers name them as the learner includes them, wherever
    /// the lab extracted them: in the check's text and in its diagnostics.
    #[test]
    fn a_c_checks_diagnostics_name_the_labs_headers_as_included() {
        let stderr = "/w/a.bpf.c:6:30: error: redefinition of 'hike_parse_l2l3'\n    6 | \
                      static __u16 hike_parse_l2l3(void)\n      |              ^\n\
                      /tmp/x/include/hike/parse.h:32:30: note: previous definition is here\n   \
                      32 | static __always_inline __u16 hike_parse_l2l3(struct xdp_md *ctx,\n      \
                      |                              ^\n1 error generated.\n";
        let e = anyhow::Error::new(eclat_kernel::modules::BuildError::compile_failed(
            Path::new("/w/a.bpf.c"),
            Path::new("/tmp/x/include"),
            stderr.into(),
        ));
        let r = failed(&Check::Compiles { hint: None }, "no compile error", &e);
        assert_eq!(r.seen, "a.bpf.c:6:30: redefinition of 'hike_parse_l2l3'");
        let out = r.compiler_output.as_deref().unwrap();
        assert!(
            out.contains("\n<hike/parse.h>:32:30: note: previous definition is here\n"),
            "{out}"
        );
        assert!(!out.contains("/tmp/x"), "{out}");
        let d = r.diagnostics[0].c().unwrap();
        assert_eq!(d.labels[0].file.as_deref(), Some("<hike/parse.h>"));
    }

    /// clang's refusal: its first error is what was seen (at its place, relative to the
    /// file's folder), its diagnostics go with it, structured and rendered in clang's layout
    /// (the source lines and the carets, their spacing kept), without clang's summary line.
    #[test]
    fn a_c_file_clang_refuses_is_seen_at_clangs_first_error() {
        let stderr = "/w/a.bpf.c:33:3: error: invalid operands to binary expression\n   \
                      33 |                 * ctx) *count += 1;\n      |                 ^ \
                      ~~~\n/w/a.bpf.c:40:1: error: expected '}'\n2 errors generated.\n";
        let e = anyhow::Error::new(eclat_kernel::modules::BuildError::compile_failed(
            Path::new("/w/a.bpf.c"),
            Path::new("/var/lib/eclat-lab/include"),
            stderr.into(),
        ));
        let r = failed(&Check::Compiles { hint: None }, "no compile error", &e);
        assert_eq!(
            r.seen,
            "a.bpf.c:33:3: invalid operands to binary expression (and 1 more error)"
        );
        let out = r.compiler_output.as_deref().unwrap();
        assert!(
            out.starts_with(
                "a.bpf.c:33:3: error: invalid operands to binary expression\n   \
                 33 |                 * ctx) *count += 1;\n      |                 ^ ~~~\n"
            ),
            "{out}"
        );
        assert!(!out.contains("generated"), "{out}");
        let places: Vec<(Option<&str>, u32, u32)> = r
            .diagnostics
            .iter()
            .map(|d| {
                let d = d.c().unwrap();
                (d.file.as_deref(), d.span.unwrap().line, d.span.unwrap().col)
            })
            .collect();
        assert_eq!(places, [(Some("a.bpf.c"), 33, 3), (Some("a.bpf.c"), 40, 1)]);
        // what clang said that the lab cannot read as diagnostics is shown as it is
        let e = anyhow::Error::new(eclat_kernel::modules::BuildError::compile_failed(
            Path::new("/w/a.bpf.c"),
            Path::new("/var/lib/eclat-lab/include"),
            "Segmentation fault\n".into(),
        ));
        let r = failed(&Check::Compiles { hint: None }, "no compile error", &e);
        assert_eq!(r.seen, "/w/a.bpf.c does not compile");
        assert_eq!(r.compiler_output.as_deref(), Some("Segmentation fault"));
        // anything else stays as it was
        let r = failed(
            &Check::Compiles { hint: None },
            "no compile error",
            &anyhow::anyhow!("no map pkt_count"),
        );
        assert_eq!(
            (r.seen.as_str(), r.compiler_output),
            ("no map pkt_count", None)
        );
    }

    #[test]
    fn an_ambiguous_map_of_a_check_is_not_blamed_on_the_learner() {
        let e = anyhow::Error::new(eclat_kernel::maps::MapError::Ambiguous {
            name: "pkt_count".into(),
            candidates: "lab/xdp_counter/pkt_count, xdp-obj/ipv6_counter/pkt_count".into(),
        })
        .context("dumping the map");
        let r = error_result(&traffic_check(Some(1)), &e);
        assert_eq!(r.hint, None, "no hint about the code");
        assert!(
            r.seen.contains("not of your code or your lab"),
            "{}",
            r.seen
        );
        assert!(r.expected.contains("`pkt_count`"), "{}", r.expected);
    }

    #[test]
    fn a_traffic_check_sends_unpaced() {
        if !eclat_service::reuse_enabled() {
            return; // ECLAT_LAB_CHECK_REUSE=off: sent as written, paced
        }
        assert_eq!(
            unpaced("traffic --from tg --to fc01::3 --icmp --count 10 --rate 5"),
            "traffic --from tg --to fc01::3 --icmp --count 10"
        );
        let Step::Traffic(t) = Step::parse(&unpaced(
            "traffic --from tg --rate 200 --to fc01::2 --udp 6000 --count 20",
        ))
        .unwrap() else {
            panic!("not traffic");
        };
        assert_eq!((t.rate, t.count), (None, Some(20)));
        // and its line in the report says what is sent
        let c = Check::Traffic {
            setup: vec![],
            send: "traffic --from tg --to fc01::2 --icmp --count 10 --rate 50".into(),
            maps: vec![],
            replies: Some(10),
            hint: None,
        };
        assert!(!describe(&c).contains("--rate"), "{}", describe(&c));
    }

    #[test]
    fn a_swap_is_accounted_for_by_class() {
        let sent = [(5000u16, 100u64), (6000, 100)];
        let mut t = Tally {
            counted: [(5000, 100), (6000, 40)].into(),
            dropped: [(6000, 60)].into(),
            inserted: eclat_kernel::cube::Stats {
                rx: 120,
                pass: 0,
                drop: 60,
                miss: 0,
            },
            inserted_tx: 60,
            misses: 0,
        };
        assert_eq!(account(&sent, &[6000], &t, "fw", "mon"), None);
        // two packets of the allowed class lost in the swap
        t.counted.insert(5000, 98);
        let why = account(&sent, &[6000], &t, "fw", "mon").unwrap();
        assert!(
            why.contains("port 5000: sent 100, counted by mon 98, dropped by fw 0: 2 lost"),
            "{why}"
        );
        t.counted.insert(5000, 100);
        // misses (a port with nothing connected)
        t.misses = 3;
        assert!(
            account(&sent, &[6000], &t, "fw", "mon")
                .unwrap()
                .contains("3 packet(s)")
        );
        t.misses = 0;
        // the firewall never saw a packet: not inserted
        let mut u = t.clone();
        u.inserted.rx = 0;
        assert!(
            account(&sent, &[6000], &u, "fw", "mon")
                .unwrap()
                .contains("was it inserted")
        );
        // drops by class must agree with cube_drop()'s
        let mut u = t.clone();
        u.inserted.drop = 61;
        assert!(
            account(&sent, &[6000], &u, "fw", "mon")
                .unwrap()
                .contains("cube_drop()")
        );
        // the allowed class dropped
        let mut u = t.clone();
        u.dropped.insert(5000, 1);
        assert!(
            account(&sent, &[6000], &u, "fw", "mon")
                .unwrap()
                .contains("must let through")
        );
    }

    #[test]
    fn check_steps_parse_like_the_commands() {
        assert_eq!(Step::parse("topo up").unwrap(), Step::TopoUp(None));
        assert_eq!(
            Step::parse("xdp attach xdp_counter clt veth0").unwrap(),
            Step::XdpAttach {
                program: "xdp_counter".into(),
                node: "clt".into(),
                dev: "veth0".into()
            }
        );
        let Step::Traffic(t) =
            Step::parse("traffic --from tg --to fc01::3 --icmp --count 10 --rate 5").unwrap()
        else {
            panic!("traffic")
        };
        assert_eq!(
            (t.from.as_str(), t.what, t.count, t.rate),
            ("tg", What::Icmp, Some(10), Some(5.0))
        );
        for bad in [
            "exec tg -- ping",
            "traffic --from tg",
            "traffic --udp x",
            "map dump m",
        ] {
            assert!(Step::parse(bad).is_err(), "{bad}");
        }
    }

    fn counts(rows: &[(&str, u16, u64)]) -> FlowCounts {
        rows.iter()
            .map(|(a, p, n)| {
                let a: std::net::Ipv4Addr = a.parse().unwrap();
                ((u32::from(a), *p), *n)
            })
            .collect()
    }

    #[test]
    fn flows_are_judged_by_where_their_packets_arrived() {
        let none = FlowCounts::new();
        // 4 flows, 8 packets: two each, two backends
        let good = counts(&[
            ("10.0.1.2", 40000, 2),
            ("10.0.2.2", 40001, 2),
            ("10.0.1.2", 40002, 2),
            ("10.0.2.2", 40003, 2),
        ]);
        assert!(judge_flows(&none, &good, 4, 40000, 8, None).is_ok());
        let split = counts(&[("10.0.1.2", 40000, 1), ("10.0.2.2", 40000, 1)]);
        let e = judge_flows(&none, &split, 1, 40000, 2, None).unwrap_err();
        assert!(e.contains("split") && e.contains("10.0.2.2"), "{e}");
        let lost = counts(&[("10.0.1.2", 40000, 1)]);
        let e = judge_flows(&none, &lost, 1, 40000, 2, None).unwrap_err();
        assert!(e.contains("sent 2 packets and 1"), "{e}");
        let one = counts(&[
            ("10.0.1.2", 40000, 2),
            ("10.0.1.2", 40001, 2),
            ("10.0.1.2", 40002, 2),
            ("10.0.1.2", 40003, 2),
        ]);
        let e = judge_flows(&none, &one, 4, 40000, 8, None).unwrap_err();
        assert!(e.contains("all 4 flows went to 10.0.1.2"), "{e}");
        // an old flow that moved
        let before = counts(&[("10.0.1.2", 40000, 2)]);
        let moved = counts(&[("10.0.1.2", 40000, 2), ("10.0.2.2", 40000, 2)]);
        let e = judge_flows(&before, &moved, 1, 40000, 2, None).unwrap_err();
        assert!(e.contains("went to 10.0.1.2 before and to 10.0.2.2"), "{e}");
    }

    #[test]
    fn a_drained_backend_keeps_its_flows_and_gets_no_new_one() {
        let d = Some("10.0.2.2".parse().unwrap());
        let before = counts(&[("10.0.2.2", 40000, 1), ("10.0.1.2", 40001, 1)]);
        // old 40000 stays on the drained backend, new 40002 and 40003 go elsewhere
        let after = counts(&[
            ("10.0.2.2", 40000, 2),
            ("10.0.1.2", 40001, 2),
            ("10.0.1.2", 40002, 1),
            ("10.0.3.2", 40003, 1),
        ]);
        let ok = judge_flows(&before, &after, 4, 40000, 4, d).unwrap();
        assert!(ok.contains("already on 10.0.2.2 stayed there (1)"), "{ok}");
        let new_there = counts(&[
            ("10.0.2.2", 40000, 2),
            ("10.0.1.2", 40001, 2),
            ("10.0.2.2", 40002, 1),
            ("10.0.3.2", 40003, 1),
        ]);
        let e = judge_flows(&before, &new_there, 4, 40000, 4, d).unwrap_err();
        assert!(
            e.contains("new flow from source port 40002 reached 10.0.2.2"),
            "{e}"
        );
        // nothing was at the drained backend before: the check proves nothing, so it fails
        let before = counts(&[("10.0.1.2", 40000, 1)]);
        let after = counts(&[("10.0.1.2", 40000, 2)]);
        let e = judge_flows(&before, &after, 1, 40000, 1, d).unwrap_err();
        assert!(e.contains("no existing flow kept sending"), "{e}");
    }

    #[test]
    fn frames_differences_are_named_by_field() {
        let f = eclat_model::packetspec::frame("ipv4 udp dport=8080").unwrap();
        let mut g = f.clone();
        g[24] ^= 1;
        assert!(
            first_difference(&f, &g).starts_with("the IPv4 header checksum differs at byte 24")
        );
        let mut g = f.clone();
        g[40] ^= 1;
        assert!(
            first_difference(&f, &g).starts_with("the UDP checksum"),
            "{}",
            first_difference(&f, &g)
        );
        let mut g = f.clone();
        g[31] ^= 1;
        assert!(first_difference(&f, &g).starts_with("the destination address"));
        assert_eq!(first_difference(&f, &f), "identical");
    }

    #[test]
    fn no_two_checks_of_an_exercise_read_the_same() {
        for l in crate::lessons::all() {
            for ex in &l.exercises {
                let mut seen = std::collections::BTreeSet::new();
                for c in &ex.checks {
                    let d = label(c, Path::new(&ex.file));
                    assert!(seen.insert(d.clone()), "{}/{}: `{d}` twice", l.id, ex.id);
                }
            }
        }
    }

    #[test]
    fn every_check_label_names_its_program_or_file() {
        for l in crate::lessons::all() {
            for ex in &l.exercises {
                for c in &ex.checks {
                    let d = label(c, Path::new(&ex.file));
                    let who = match c {
                        Check::Verdict {
                            program: Some(p), ..
                        } => p.as_str(),
                        _ => ex.file.as_str(),
                    };
                    assert!(
                        d.starts_with(&format!("{who}: ")),
                        "{}/{}: `{d}`",
                        l.id,
                        ex.id
                    );
                    assert!(
                        !d.starts_with(&format!("{who}: {who}: ")),
                        "{}/{}: the label names its subject twice: `{d}`",
                        l.id,
                        ex.id
                    );
                }
            }
        }
    }

    #[test]
    fn a_wrong_counter_is_not_blamed_on_the_verdict() {
        let c = Check::Verdict {
            packet: "ipv6 udp dport=5000".into(),
            expect: "PASS".into(),
            program: None,
            set: vec![],
            output: None,
            frame: vec![],
            maps: vec![],
            hint: Some(1),
        };
        let d = MapDelta {
            map: "pkt_count".into(),
            key: "0".into(),
            delta: 1,
            label: None,
        };
        let r = counter_failed(&c, "PASS", &d, 0);
        assert!(!r.passed);
        assert_eq!(
            r.what,
            "`ipv6 udp dport=5000` should move pkt_count[0] by +1, it moved it by +0 (its \
             verdict, PASS, is right)"
        );
        assert_eq!(r.expected, "pkt_count[0] +1 per packet");
        assert_eq!(r.seen, "pkt_count[0] +0 per packet");
        assert_eq!(r.hint, Some(1));
    }

    /// A rewrite exercise's verdict check is judged by the frame that leaves: a chain that
    /// counts the new hop limit with `monitor` but never writes it moves the counter the
    /// check wants and still fails, saying what the frame holds; the one that writes passes.
    #[test]
    fn a_rewrite_is_judged_by_the_frame_that_leaves_not_by_a_counter() {
        let c = Check::Verdict {
            packet: "ipv6 hlim=64 udp dport=5000".into(),
            expect: "PASS".into(),
            program: None,
            set: vec![],
            output: None,
            frame: vec!["ipv6.hlim == 63".into()],
            maps: vec![MapDelta {
                map: "map_pcpu_mon".into(),
                key: "63".into(),
                delta: 1,
                label: None,
            }],
            hint: Some(1),
        };
        let given = packetspec::frame("ipv6 hlim=64 udp dport=5000").unwrap();
        let written = packetspec::frame("ipv6 hlim=63 udp dport=5000").unwrap();
        let run = |out: &[u8]| PacketResult {
            packet: "check".into(),
            verdict: "PASS".into(),
            trace: vec![],
            map_changes: vec![eclat_service::testrun::MapChange {
                map: "hike_default/monitor/map_pcpu_mon".into(),
                key: "63".into(),
                before: "1".into(),
                after: "2".into(),
                delta: Some(1),
            }],
            duration_ns: 0,
            input: given.clone(),
            output: out.to_vec(),
            frame_changes: eclat_model::frame::changes(&given, out),
        };
        let want = hike::XdpAction::Pass;
        // monitor-only: the counter moves, the frame leaves as it came
        let r = judge_eclat(&c, &[run(&given), run(&given)], want, c_maps(&c));
        assert!(!r.passed, "{r:?}");
        assert_eq!(r.expected, "the frame that leaves: ipv6.hlim 63");
        assert!(
            r.seen
                .starts_with("ipv6.hlim 64 (not 63); the frame left exactly as it came in"),
            "{}",
            r.seen
        );
        assert_eq!(r.hint, Some(1));
        // written: passes
        let r = judge_eclat(&c, &[run(&written), run(&written)], want, c_maps(&c));
        assert!(r.passed, "{r:?}");
        // written wrong: the seen value and what changed
        let other = packetspec::frame("ipv6 hlim=62 udp dport=5000").unwrap();
        let r = judge_frame(&c, "PASS", &given, &other).unwrap();
        assert_eq!(
            r.seen,
            "ipv6.hlim 62 (not 63); the frame left with ipv6.hlim 64 -> 62"
        );
    }

    /// An eCLAT verdict check's `output` is the frame that must leave, byte for byte, as a
    /// C check's is.
    #[test]
    fn an_eclat_checks_output_is_compared_byte_for_byte() {
        let c = Check::Verdict {
            packet: "ipv6 hlim=64 udp dport=5000".into(),
            expect: "PASS".into(),
            program: None,
            set: vec![],
            output: Some("ipv6 hlim=63 udp dport=5000".into()),
            frame: vec![],
            maps: vec![],
            hint: None,
        };
        let run = |spec: &str| PacketResult {
            packet: "check".into(),
            verdict: "PASS".into(),
            trace: vec![],
            map_changes: vec![],
            duration_ns: 0,
            input: packetspec::frame("ipv6 hlim=64 udp dport=5000").unwrap(),
            output: packetspec::frame(spec).unwrap(),
            frame_changes: vec![],
        };
        let same = run("ipv6 hlim=64 udp dport=5000");
        let r = judge_eclat(&c, &[same.clone(), same], hike::XdpAction::Pass, &[]);
        assert!(!r.passed);
        assert_eq!(r.expected, "the rewritten frame, byte for byte");
        assert!(
            r.seen.starts_with("the IP header differs at byte 21"),
            "{}",
            r.seen
        );
        let written = run("ipv6 hlim=63 udp dport=5000");
        let r = judge_eclat(&c, &[written.clone(), written], hike::XdpAction::Pass, &[]);
        assert!(r.passed, "{r:?}");
    }

    fn c_maps(c: &Check) -> &[MapDelta] {
        match c {
            Check::Verdict { maps, .. } => maps,
            _ => &[],
        }
    }

    fn answer_check() -> Check {
        Check::Answer {
            key: "k".into(),
            fact: "map-type m".into(),
            setup: vec![],
            hint: Some(0),
        }
    }

    #[test]
    fn answers_are_compared_without_giving_the_truth_away() {
        let c = answer_check();
        let num = Fact::parse("maps sut enp6s0f0").unwrap();
        let r = answer(&c, "maps_used", &num, Some("2".into()), "2");
        assert!(r.passed);
        let r = answer(&c, "maps_used", &num, Some("3".into()), "2");
        assert!(
            !r.passed && r.seen.contains("more than") && !r.seen.contains('2'),
            "{}",
            r.seen
        );
        let r = answer(&c, "maps_used", &num, Some("1".into()), "2");
        assert!(!r.passed && r.seen.contains("less than"), "{}", r.seen);
        let r = answer(&c, "maps_used", &num, Some("two".into()), "2");
        assert!(!r.passed && r.seen.contains("write a number"), "{}", r.seen);
        let r = answer(&c, "maps_used", &num, None, "2");
        assert!(
            !r.passed && r.seen.contains("not answered yet"),
            "{}",
            r.seen
        );
        // the kernel's type name, in any of the ways people write it
        let ty = Fact::parse("map-type pkt_count").unwrap();
        for w in [
            "percpu_array",
            "PERCPU_ARRAY",
            "BPF_MAP_TYPE_PERCPU_ARRAY",
            " percpu_array ",
        ] {
            assert!(
                answer(&c, "t", &ty, Some(w.into()), "percpu_array").passed,
                "{w}"
            );
        }
        let r = answer(&c, "t", &ty, Some("array".into()), "percpu_array");
        assert!(!r.passed && !r.seen.contains("percpu"), "{}", r.seen);
        assert!(Fact::parse("insns sut").is_err());
        assert!(Fact::parse("colour pkt_count").is_err());
    }

    /// `@aborts[args->prog_id] = count()` with no filter keeps every program's aborts, one
    /// line per program: the check took the last line alone (bpftrace prints the largest
    /// last), 100, and passed a program that also counted the decoy's 20.
    #[test]
    fn a_tools_count_is_every_line_of_its_map() {
        let out = |ls: &[&str]| ls.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        let keyed = out(&[
            "Attaching 2 probes...",
            "",
            "@aborts[7150]: 20",
            "@aborts[7149]: 100",
        ]);
        assert_eq!(tool_count(&keyed, "@aborts"), Some(120));
        let one = out(&["counting", "@aborts: 100", "", "@by_ifindex[2]: 100"]);
        assert_eq!(tool_count(&one, "@aborts"), Some(100));
        let printed_twice = out(&["@aborts: 40", "", "@aborts: 100"]);
        assert_eq!(tool_count(&printed_twice, "@aborts"), Some(100));
        let other_map = out(&["@aborts: 100", "@aborts_by_if[2]: 100"]);
        assert_eq!(tool_count(&other_map, "@aborts"), Some(100));
        assert_eq!(tool_count(&out(&["packets: 100"]), "packets"), Some(100));
        assert_eq!(tool_count(&out(&["counting", "^C"]), "@aborts"), None);
    }

    #[test]
    fn a_tools_count_is_the_last_number_of_its_line() {
        assert_eq!(last_number("@aborts: 100"), Some(100));
        assert_eq!(last_number("@aborts[7149, 2]: 12"), Some(12));
        assert_eq!(last_number("packets: 0"), Some(0));
        assert_eq!(last_number("packets:"), None);
        assert_eq!(tail(&[]), "(it printed nothing)");
        let lines: Vec<String> = (1..=6).map(|i| format!("l{i}")).collect();
        assert_eq!(tail(&lines), "l3 / l4 / l5 / l6");
    }

    #[test]
    fn answers_are_read_from_toml() {
        let d = std::env::temp_dir().join(format!("eclat-answers-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("answers.toml");
        std::fs::write(&f, "a = \"?\"\nb = 2\nc = \" array \"\nd = \"\"\n").unwrap();
        assert_eq!(read_answer(&f, "a").unwrap(), None);
        assert_eq!(read_answer(&f, "b").unwrap().as_deref(), Some("2"));
        assert_eq!(read_answer(&f, "c").unwrap().as_deref(), Some("array"));
        assert_eq!(read_answer(&f, "d").unwrap(), None);
        assert_eq!(read_answer(&f, "e").unwrap(), None);
        std::fs::write(&f, "a = = 1").unwrap();
        assert!(
            read_answer(&f, "a")
                .unwrap_err()
                .to_string()
                .contains("not valid TOML")
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
