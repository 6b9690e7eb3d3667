//! What a user waits for, as whole processes of the binary: each exercise's `lesson check`
//! with the reference solution in the workspace (with the lab's reuse, and without it:
//! `ECLAT_LAB_CHECK_REUSE=off`, the behaviour before it, as the baseline in the same run,
//! runs of the two alternating), and the commands a lesson types (`topo up`, `load`, a
//! reload, `topo down`, `reset`). Everything runs in a throw-away lab of its own, reset at the
//! end.

use std::path::Path;

use anyhow::{Context, Result};
use eclat_course::lessons;
use eclat_kernel::LabEnv;
use serde::Serialize;

use super::{Stat, stat};

/// One exercise's check, as a process.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CheckFigure {
    /// the lesson's number
    pub lesson: u32,
    /// the exercise's id in that lesson (`lesson check LESSON EXERCISE`)
    pub exercise: String,
    /// what the learner writes: `eCLAT`, `C`, `bpftrace`, `bcc` (Python and bcc's C) or
    /// `answers` (a TOML file of facts read off bpftool)
    pub language: String,
    /// the first check of the run, when the lab's reused instances are made (their VM verified)
    pub first_ms: f64,
    /// with reuse (the default)
    pub ms: Stat,
    /// `ECLAT_LAB_CHECK_REUSE=off`: a scratch HIKe instance per verdict, a new scratch lab per
    /// run, clang per check
    pub baseline_ms: Stat,
    /// the CPU time (user + system) of the process and the children it waited for (clang), with
    /// reuse, in ms: what a check costs whatever else the machine runs (on a busy machine the
    /// wall time is mostly waiting for a CPU)
    pub cpu_ms: Stat,
    /// the same without reuse
    pub baseline_cpu_ms: Stat,
    /// in process, median over the runs with reuse: each check's time (`what`, ms)
    pub by_check: Vec<(String, f64)>,
    /// every run passed
    pub passed: bool,
}

/// A whole command's wall time.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CommandFigure {
    /// as typed after `eclat-lab`
    pub command: String,
    /// the whole process's wall time over the runs, in ms
    pub ms: Stat,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
/// Whole processes, as a user times them.
pub struct CommandFigures {
    /// how many times each command ran (and each check with and without reuse)
    pub runs: u32,
    /// every exercise's `lesson check` with its solution in place
    pub checks: Vec<CheckFigure>,
    /// the exercises this machine cannot check, each with why (`lesson L ID: why`): not
    /// measured
    pub not_possible: Vec<String>,
    /// the medians over exercises of the per-exercise medians, by language (with reuse)
    pub eclat_median_ms: f64,
    /// the same for the C exercises (clang included), in ms
    pub c_median_ms: f64,
    /// the lab's other commands a learner waits for (topo up/down, load, reload, reset)
    pub commands: Vec<CommandFigure>,
    /// the process doing nothing lab-related (`eclat-lab --version`): the floor of every row
    pub process_ms: Stat,
    /// in the TUI: from saving the solution of each lesson's first exercise to the verdict
    pub tui_saves: Vec<super::figures::SaveFigure>,
    /// the machine's load average over one minute (`/proc/loadavg`) when the section started
    /// and when it ended: whole-process times grow with it (a check waits for the CPU at each
    /// of its steps)
    pub load_average: (f64, f64),
}

/// The load average over the last minute, 0 when it cannot be read.
fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

fn run(bin: &Path, env: &LabEnv, args: &[&str], reuse: bool) -> Result<(f64, String)> {
    run_cpu(bin, env, args, reuse).map(|(ms, _, out)| (ms, out))
}

/// [`run`], with the CPU time (user + system, ms) of the process and of the children it
/// waited for: the bench runs one command at a time, so the growth of this process's
/// children's usage is that command's.
fn run_cpu(bin: &Path, env: &LabEnv, args: &[&str], reuse: bool) -> Result<(f64, f64, String)> {
    let off: &[(&str, &str)] = if reuse {
        &[]
    } else {
        &[("ECLAT_LAB_CHECK_REUSE", "off")]
    };
    let before = super::figures::children_cpu_ms();
    let (ms, out) = super::figures::run_timed(bin, env, args, off)?;
    Ok((ms, super::figures::children_cpu_ms() - before, out))
}

/// `passed` and each check's (`what`, `elapsed_ms`) from `lesson check --json`.
fn parse_check(json: &str) -> Result<(bool, Vec<(String, f64)>)> {
    let v: serde_json::Value = serde_json::from_str(json).context("lesson check --json")?;
    let rep = if v.get("results").is_some() {
        &v
    } else {
        v.as_object()
            .and_then(|o| o.values().find(|x| x.get("results").is_some()))
            .context("no check report in the JSON")?
    };
    let passed = rep.get("passed").and_then(|p| p.as_bool()).unwrap_or(false);
    let by = rep["results"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["what"].as_str().unwrap_or("").to_string(),
                        r["elapsed_ms"].as_f64().unwrap_or(0.0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((passed, by))
}

/// Measures every exercise's check (`runs` times with reuse, `runs` times without,
/// alternating) and the lesson commands, against a throw-away lab `env`.
pub fn measure(bin: &Path, env: &LabEnv, runs: u32, say: &dyn Fn(&str)) -> Result<CommandFigures> {
    let load = load_average();
    let r = measure_inner(bin, env, runs, say).map(|mut f| {
        f.load_average = (load, load_average());
        f
    });
    let reset = run(bin, env, &["reset"], true);
    let _ = std::fs::remove_dir_all(&env.state_dir);
    let f = r?;
    reset?;
    Ok(f)
}

fn measure_inner(
    bin: &Path,
    env: &LabEnv,
    runs: u32,
    say: &dyn Fn(&str),
) -> Result<CommandFigures> {
    let runs = runs.max(1);
    let ws = env.state_dir.join("workspace");
    let mut process = Vec::new();
    for _ in 0..runs {
        process.push(run(bin, env, &["--version"], true)?.0);
    }
    let all = lessons::all();
    let total: usize = all.iter().map(|l| l.exercises.len()).sum();
    let mut checks = Vec::new();
    let mut not_possible = Vec::new();
    for les in &all {
        for ex in &les.exercises {
            say(&format!(
                "  check {}/{total}: lesson {} {}",
                checks.len() + not_possible.len() + 1,
                les.number,
                ex.id
            ));
            let sol = lessons::exercise_file(les, "solution", &ex.file)
                .with_context(|| format!("{}: no solution for {}", les.id, ex.file))?;
            let dir = ws.join(&les.id);
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join(&ex.file), sol)?;
            let n = les.number.to_string();
            let args = ["--json", "lesson", "check", n.as_str(), ex.id.as_str()];
            let (first_ms, ok, out) = super::figures::run_timed_status(bin, env, &args, &[])?;
            // an exercise this machine cannot check (bcc without the kernel's headers) is
            // named in the report, not measured
            if !ok {
                let why = serde_json::from_str::<serde_json::Value>(&out)
                    .ok()
                    .and_then(|v| v["not_possible"].as_str().map(str::to_string));
                match why {
                    Some(why) => {
                        say(&format!("    not possible here: {why}"));
                        not_possible.push(format!("lesson {} {}: {why}", les.number, ex.id));
                        continue;
                    }
                    None => anyhow::bail!("`eclat-lab {}` failed: {out}", args.join(" ")),
                }
            }
            let (mut passed, _) = parse_check(&out)?;
            let (mut on, mut off) = (Vec::new(), Vec::new());
            let (mut cpu_on, mut cpu_off) = (Vec::new(), Vec::new());
            let mut by: Vec<Vec<(String, f64)>> = Vec::new();
            for _ in 0..runs {
                let (ms, cpu, out) = run_cpu(bin, env, &args, false)?;
                passed &= parse_check(&out)?.0;
                off.push(ms);
                cpu_off.push(cpu);
                let (ms, cpu, out) = run_cpu(bin, env, &args, true)?;
                let (p, b) = parse_check(&out)?;
                passed &= p;
                on.push(ms);
                cpu_on.push(cpu);
                by.push(b);
            }
            let by_check = by
                .first()
                .map(|first| {
                    first
                        .iter()
                        .enumerate()
                        .map(|(i, (what, _))| {
                            let v = by.iter().filter_map(|b| b.get(i).map(|x| x.1)).collect();
                            (what.clone(), stat(v).median)
                        })
                        .collect()
                })
                .unwrap_or_default();
            checks.push(CheckFigure {
                lesson: les.number,
                exercise: ex.id.clone(),
                language: language_of(&ex.file).into(),
                first_ms,
                ms: stat(on),
                baseline_ms: stat(off),
                cpu_ms: stat(cpu_on),
                baseline_cpu_ms: stat(cpu_off),
                by_check,
                passed,
            });
        }
    }
    let median_of = |lang: &str| {
        stat(
            checks
                .iter()
                .filter(|c| c.language == lang)
                .map(|c| c.ms.median)
                .collect(),
        )
        .median
    };
    say("  commands: topo up, load, reload, topo down, reset");
    // the lesson 8 policy, as the learner's solution
    let ddos = lessons::find("8")?;
    let ex = ddos.exercises.first().context("lesson 8 has no exercise")?;
    let script = ws.join(&ddos.id).join(&ex.file);
    let script = script.display().to_string();
    let rows: [(&str, Vec<&str>); 5] = [
        ("topo up", vec!["topo", "up"]),
        ("load ddos.eclat (lesson 8)", vec!["load", script.as_str()]),
        (
            "load ddos.eclat again (a reload)",
            vec!["load", script.as_str()],
        ),
        ("topo down", vec!["topo", "down"]),
        ("reset", vec!["reset"]),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); rows.len()];
    for _ in 0..runs {
        for (i, (_, args)) in rows.iter().enumerate() {
            times[i].push(run(bin, env, args, true)?.0);
        }
    }
    let commands = rows
        .iter()
        .zip(times)
        .map(|((name, _), t)| CommandFigure {
            command: name.to_string(),
            ms: stat(t),
        })
        .collect();
    say("  the TUI: each lesson's first exercise, from saving the solution to the verdict");
    let tui_env = LabEnv::for_test("savebench");
    let tui_ws = tui_env.state_dir.join("workspace");
    let mut cases = Vec::new();
    for les in &all {
        let Some(ex) = les.exercises.first() else {
            continue;
        };
        let (Some(st), Some(sol)) = (
            lessons::exercise_file(les, "starter", &ex.file),
            lessons::exercise_file(les, "solution", &ex.file),
        ) else {
            continue;
        };
        cases.push((
            les.number,
            ex.id.clone(),
            tui_ws.join(&les.id).join(&ex.file),
            st.to_string(),
            sol.to_string(),
        ));
    }
    let saves = super::figures::measure_saves(bin, &tui_env, &cases, runs);
    let _ = run(bin, &tui_env, &["reset"], true);
    let _ = std::fs::remove_dir_all(&tui_env.state_dir);
    let tui_saves = saves?;
    Ok(CommandFigures {
        tui_saves,
        runs,
        eclat_median_ms: median_of("eCLAT"),
        c_median_ms: median_of("C"),
        checks,
        not_possible,
        commands,
        process_ms: stat(process),
        load_average: (0.0, 0.0),
    })
}

/// What a learner writes in an exercise file, by its name.
pub fn language_of(file: &str) -> &'static str {
    match file.rsplit_once('.').map(|(_, ext)| ext) {
        Some("c") => "C",
        Some("bt") => "bpftrace",
        Some("py") => "bcc",
        Some("toml") => "answers",
        _ => "eCLAT",
    }
}

/// The goal for a check's median, by what the learner writes: 250 ms for eCLAT and
/// for answers read off bpftool, 600 ms where a compiler is in the loop (clang for C,
/// bpftrace's LLVM, bcc's clang).
pub fn goal_ms(language: &str) -> f64 {
    match language {
        "eCLAT" | "answers" => 250.0,
        _ => 600.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every exercise file of the course has a language and the goal of its kind: a
    /// bpftrace program was counted as eCLAT (and missed eCLAT's 250 ms by its LLVM start).
    #[test]
    fn every_exercise_has_its_language_and_goal() {
        for l in lessons::all() {
            for e in &l.exercises {
                let lang = language_of(&e.file);
                let ext = e.file.rsplit_once('.').map(|(_, x)| x).unwrap_or("");
                match ext {
                    "eclat" => assert_eq!(lang, "eCLAT"),
                    "c" => assert_eq!(lang, "C"),
                    "bt" => assert_eq!(lang, "bpftrace"),
                    "py" => assert_eq!(lang, "bcc"),
                    "toml" => assert_eq!(lang, "answers"),
                    other => panic!(
                        "{}: a file of kind `{other}` the bench does not know",
                        e.file
                    ),
                }
            }
        }
        assert_eq!(goal_ms("eCLAT"), 250.0);
        assert_eq!(goal_ms("answers"), 250.0);
        for l in ["C", "bpftrace", "bcc"] {
            assert_eq!(goal_ms(l), 600.0);
        }
    }
}
