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
use eclat_model::packetspec;
use eclat_model::verifier::Explanation;
use eclat_service::modules::BuildReport;
use eclat_service::scripts::LoadRequest;
use eclat_service::testrun::TestRequest;
use eclat_service::traffic::{Progress, TrafficRequest, What};
use eclat_service::{CancellationToken, Lab, ScratchLab, checkpoint};
use serde::Serialize;

use crate::lessons::{Check, Exercise, Lesson, MapDelta};

/// The outcome of one check.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CheckResult {
    /// what the check looks at, naming the program or the packet
    pub what: String,
    pub passed: bool,
    pub expected: String,
    pub seen: String,
    /// the hint that helps, 0-based
    pub hint: Option<usize>,
    /// when the verifier rejected the program: its explanation (class, source line, advice)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
    /// how long this check took (wall time, in process)
    pub elapsed_ms: f64,
}

/// The outcome of an exercise's checks.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CheckReport {
    pub lesson: String,
    pub exercise: String,
    /// the exercise's title
    pub title: String,
    pub file: String,
    pub passed: bool,
    pub results: Vec<CheckResult>,
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
    ModuleLoad(String),
    MapClear(String),
    MapSet {
        map: String,
        key: String,
        value: String,
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
            ["module", "load", m] => Step::ModuleLoad(m.to_string()),
            ["map", "clear", m] => Step::MapClear(m.to_string()),
            ["map", "set", m, k, v] => Step::MapSet {
                map: m.to_string(),
                key: k.to_string(),
                value: v.to_string(),
            },
            ["traffic", rest @ ..] => Step::Traffic(parse_traffic(rest)?),
            _ => bail!(
                "a check can run `topo up [NAME]`, `xdp attach PROGRAM NODE DEV`, `load FILE`, \
                 `module load X`, `map clear MAP`, `map set MAP KEY VALUE` and `traffic ...`; \
                 not `{line}`"
            ),
        })
    }
}

/// `--from N --to A (--udp P | --icmp) [--count N] [--rate R] [--size S]`.
fn parse_traffic(args: &[&str]) -> Result<TrafficRequest> {
    let (mut from, mut to, mut udp, mut icmp) = (None, None, None, false);
    let (mut count, mut rate, mut size) = (None, None, 64usize);
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
            other => bail!("traffic in a check: unknown argument `{other}`"),
        }
    }
    let what = match (udp, icmp) {
        (Some(port), false) => What::Udp {
            port,
            payload: size,
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

/// What a check looks at, for its line in the report: the program or the packet, and what
/// is expected, so that no two checks of an exercise read the same.
fn describe(c: &Check) -> String {
    match c {
        Check::Compiles { .. } => "it compiles".into(),
        Check::Verifier { .. } => "the kernel's verifier accepts every program".into(),
        Check::Verdict {
            packet,
            expect,
            program,
            maps,
            ..
        } => {
            let mut s = match program {
                Some(p) => format!("{p}: `{packet}` gives {expect}"),
                None => format!("`{packet}` gives {expect}"),
            };
            for d in maps {
                s.push_str(&format!(", {}[{}] {:+}", d.map, d.key, d.delta));
            }
            s
        }
        Check::Traffic {
            send,
            maps,
            replies,
            ..
        } => {
            let mut s = format!("after `{send}`");
            let moves: Vec<String> = maps
                .iter()
                .map(|d| format!("{}[{}] {:+}", d.map, d.key, d.delta))
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
        elapsed_ms: 0.0,
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
            elapsed_ms: 0.0,
        },
        _ => CheckResult {
            what: describe(check),
            passed: false,
            expected: "the check to run".into(),
            seen: format!("{e:#}"),
            hint: check.hint(),
            explanation: None,
            elapsed_ms: 0.0,
        },
    }
}

/// What one run of checks makes once and shares between its checks: the scratch lab, made
/// when the first check needs it, and the build of a C file (clang and the verifier run once
/// per run of checks: every check of the run looks at the same file).
struct Scratch<'a> {
    lab: &'a Lab,
    made: Option<ScratchLab>,
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
    async fn build(&mut self, file: &Path) -> std::result::Result<&BuildReport, Arc<anyhow::Error>> {
        if self.built.is_none() || !eclat_service::reuse_enabled() {
            self.built = Some(
                self.lab
                    .module_build(file.to_path_buf())
                    .await
                    .map_err(Arc::new),
            );
        }
        self.built.as_ref().expect("built above").as_ref().map_err(Arc::clone)
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
        made: None,
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
        let mut r = match run_one(&mut scratch, check, file, cancel).await {
            Ok(r) => r,
            Err(e) if eclat_service::is_stopped(&e) => {
                stopped = Some(e);
                break;
            }
            Err(e) => error_result(check, &e),
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
    Ok(CheckReport {
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
                    Err(e) => result(check, false, "no compile error", e),
                });
            }
            if is_c(file) {
                // clang and the verifier run once, here: a rejection is the next check's
                return Ok(match scratch.build(file).await {
                    Ok(_) => result(check, true, "no compile error", "compiled"),
                    Err(e) => match compile_error(&e) {
                        Some(c) => result(check, false, "no compile error", c.to_string()),
                        None => return Err(anyhow::anyhow!("{e:#}")),
                    },
                });
            }
            let src = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let c = lab.compile_source(&src, &file.display().to_string(), &[]);
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
        Check::Verifier { .. } => {
            let rep = match scratch.build(file).await {
                Ok(r) => r.clone(),
                Err(e) => {
                    return Ok(result(
                        check,
                        false,
                        "every program accepted",
                        format!("{e:#}"),
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
            if is_c(file) {
                let built = scratch.build(file).await.cloned();
                verdict_c(lab, check, built, program.as_deref(), frame, want, deltas).await
            } else if !eclat_service::reuse_enabled() {
                // as before: in the run's scratch lab
                let s = scratch.get().await?;
                verdict_eclat(s, check, file, frame, want, deltas, cancel).await
            } else {
                // `test` runs in a HIKe instance of its own (the lab's reused test instance),
                // never the learner's: no scratch lab needed
                verdict_eclat(lab, check, file, frame, want, deltas, cancel).await
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
    }
}

async fn verdict_c(
    lab: &Lab,
    check: &Check,
    built: std::result::Result<BuildReport, Arc<anyhow::Error>>,
    program: Option<&str>,
    frame: Vec<u8>,
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
        Err(e) => return Ok(result(check, false, want.to_string(), format!("{e:#}"))),
    };
    let runs = lab
        .run_object(
            PathBuf::from(&rep.object),
            program.map(str::to_string),
            vec![frame.clone(), frame],
        )
        .await?;
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
    };
    let res = match lab.test(req, cancel.clone()).await {
        Ok(r) => r.packets,
        Err(e) if eclat_service::is_stopped(&e) => return Err(e),
        Err(e) => return Ok(result(check, false, want.to_string(), format!("{e:#}"))),
    };
    if res[0].verdict != want.to_string() {
        let why = res[0]
            .trace
            .iter()
            .find(|t| t.contains("ABORTED"))
            .cloned()
            .unwrap_or_default();
        return Ok(result(
            check,
            false,
            want.to_string(),
            if why.is_empty() {
                res[0].verdict.clone()
            } else {
                format!("{} ({why})", res[0].verdict)
            },
        ));
    }
    for d in deltas {
        let delta = res[1]
            .map_changes
            .iter()
            .find(|c| (c.map == d.map || c.map.ends_with(&format!("/{}", d.map))) && c.key == d.key)
            .and_then(|c| c.delta)
            .unwrap_or(0);
        if delta != d.delta as i128 {
            return Ok(result(
                check,
                false,
                format!("{}[{}] {:+} per packet", d.map, d.key, d.delta),
                format!("{delta:+}"),
            ));
        }
    }
    Ok(result(check, true, want.to_string(), want.to_string()))
}

/// Runs one setup step in the scratch lab.
async fn step(lab: &Lab, s: Step, cancel: &CancellationToken) -> Result<()> {
    match s {
        Step::TopoUp(name) => lab.topo_up(name).await.map(drop),
        Step::XdpAttach { program, node, dev } => {
            lab.xdp_attach(program, node, dev, false).await.map(drop)
        }
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
    for c in setup {
        checkpoint(cancel)?;
        let s = Step::parse(&subst(c))?;
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
    let mut before = Vec::new();
    for d in deltas {
        before.push(value_of(&dump_of(lab, &d.map).await?, &d.key)?);
    }
    let Step::Traffic(t) = Step::parse(&subst(send))? else {
        bail!("a check sends with `traffic ...`, not `{send}`");
    };
    checkpoint(cancel)?;
    let rep = lab.traffic(t, Progress::default(), cancel.clone()).await?;
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
    for (d, b) in deltas.iter().zip(before) {
        let after = value_of(&dump_of(lab, &d.map).await?, &d.key)?;
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn no_two_checks_of_an_exercise_read_the_same() {
        for l in crate::lessons::all() {
            for ex in &l.exercises {
                let mut seen = std::collections::BTreeSet::new();
                for c in &ex.checks {
                    let d = describe(c);
                    assert!(seen.insert(d.clone()), "{}/{}: `{d}` twice", l.id, ex.id);
                }
            }
        }
    }
}
