//! One command from a system shell (`eclat-lab CMD ...`): run it as a task, print what it
//! streams as it comes, then its result (text, or `--json`), and exit with its code. Ctrl-C
//! cancels it: it stops within 200 ms, says "stopped" and exits 130.

use std::io::Write;
use std::process::ExitCode;

use eclat_service::{Lab, Recovered};
use tokio::runtime::Runtime;

use crate::commands::{Cmd, Job, JobEvent, Update};
use crate::render;

/// What recovery removed before the command ran, for standard error.
pub fn recovered_note(r: &Recovered) -> Option<String> {
    if r.is_empty() {
        return None;
    }
    let mut s = format!(
        "note: removed {} leftover(s) of an earlier eclat-lab run that ended abruptly:",
        r.removed.len()
    );
    for x in &r.removed {
        s.push_str(&format!("\n  - {x}"));
    }
    for k in &r.kept {
        s.push_str(&format!("\n  - kept {k}"));
    }
    Some(s)
}

fn print_update(u: &Update, json: bool) {
    let mut out = std::io::stdout().lock();
    let line = if json {
        serde_json::to_string(u).unwrap_or_default()
    } else {
        render::update(u)
    };
    let _ = writeln!(out, "{line}").and_then(|_| out.flush());
}

pub fn run(lab: Lab, cmd: Cmd, json: bool, rt: &Runtime) -> ExitCode {
    rt.block_on(async move {
        let mut job = Job::spawn(&lab, cmd);
        // after JSON lines streamed, the result is one more line; alone, it is pretty
        let mut streamed = false;
        let result = loop {
            tokio::select! {
                ev = job.next() => match ev {
                    JobEvent::Update(u) => {
                        streamed = true;
                        print_update(&u, json);
                    }
                    JobEvent::Done(r) => break r,
                },
                Ok(()) = tokio::signal::ctrl_c(), if !job.stopped() => {
                    // most commands end at once; one in the middle of a kernel operation
                    // says "stopped" now and finishes it (undoing it) before the exit
                    match job.stop().await {
                        Some(r) => break r,
                        None => {
                            eprintln!("stopped (finishing the kernel operation in progress…)");
                            job.finish().await;
                            return ExitCode::from(130);
                        }
                    }
                }
            }
        };
        for u in job.drain() {
            streamed = true;
            print_update(&u, json);
        }
        let cancelled = job.stopped();
        // what recovery removed comes first, for people on standard output; with --json on
        // standard error, so that standard output stays one JSON document
        if let Some(n) = recovered_note(&lab.take_recovered()) {
            if json {
                eprintln!("{n}");
            } else {
                println!("{n}");
            }
        }
        match result {
            Ok(reply) => {
                if json && streamed {
                    println!("{}", serde_json::to_string(&reply).unwrap_or_default());
                } else if json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&reply).unwrap_or_default()
                    );
                } else {
                    let text = render::reply(&reply);
                    if !text.is_empty() {
                        println!("{text}");
                    }
                }
                // Ctrl-C: what the command did until then is shown, and the code says so
                ExitCode::from(if cancelled { 130 } else { reply.exit_code() })
            }
            Err(e) if eclat_service::is_stopped(&e) => {
                if json {
                    println!("{}", render::error_json(&e));
                } else {
                    eprintln!("stopped");
                }
                ExitCode::from(130)
            }
            Err(e) => {
                if json {
                    println!("{}", render::error_json(&e));
                } else {
                    eprintln!("{}", render::error_message(&render::error(&e)));
                }
                ExitCode::from(2)
            }
        }
    })
}
