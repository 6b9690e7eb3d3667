//! The command layer: a parsed [`Cmd`] becomes a call of the service (`eclat-service`) or of
//! the course (`eclat-course`), and its typed [`Reply`]. The CLI, the REPL and the TUI all
//! run commands through [`run`]; none of them talks to the kernel.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use eclat_course::progress::Progress;
use eclat_course::{checks, devcheck, lessons, workspace};
use eclat_service::draw::{ChainDrawRequest, ScriptFigure};
use eclat_service::scripts::LoadRequest;
use eclat_service::testrun::{TestClock, TestRequest};
use eclat_service::topo::Replace;
use eclat_service::traffic::{Progress as Sent, TrafficRequest, What};
use eclat_service::{CancellationToken, Lab, NeedsRoot};
use tokio::sync::mpsc;

use super::reply::*;
use super::table::{
    ChainCmd, ClassroomCmd, Cmd, CubeCmd, DevCmd, LessonCmd, MapCmd, ModuleCmd, TopoCmd,
    TrafficArgs, XdpCmd,
};

/// What a running command needs besides its arguments.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub lab: Lab,
    /// where long commands stream what they see (watch frames, trace lines, progress)
    pub updates: mpsc::UnboundedSender<Update>,
    /// cancelled: long commands stop at their next safe point
    pub cancel: CancellationToken,
}

/// `-D NAME=VALUE` arguments.
fn parse_defines(args: &[String]) -> Result<Vec<(String, String)>> {
    args.iter()
        .map(|a| {
            let (n, v) =
                eclat::parse_define(a).with_context(|| format!("-D {a}: write -D NAME=VALUE"))?;
            if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                bail!("-D {a}: `{n}` is not a name (letters, digits, _)");
            }
            Ok((n, v))
        })
        .collect()
}

/// Every Ethernet frame of a pcap file.
fn read_pcap(path: &Path) -> Result<Vec<Vec<u8>>> {
    let f = eclat_kernel::perms::open_as_invoking_user(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let mut r = pcap_file::pcap::PcapReader::new(f)
        .map_err(|e| anyhow::anyhow!("{}: not a pcap file: {e}", path.display()))?;
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        out.push(
            p.map_err(|e| anyhow::anyhow!("{}: damaged record: {e}", path.display()))?
                .data
                .into_owned(),
        );
    }
    Ok(out)
}

/// The typed request of `traffic ...`.
fn traffic_request(a: &TrafficArgs) -> Result<TrafficRequest> {
    let to = match &a.to {
        Some(t) => Some(
            t.parse()
                .with_context(|| format!("--to {t}: not an IPv4 or IPv6 address"))?,
        ),
        None => None,
    };
    let what = if let Some(p) = &a.pcap {
        What::Pcap {
            file: p.clone(),
            dev: a.dev.clone().unwrap_or_default(),
        }
    } else if a.icmp {
        What::Icmp
    } else if let (Some(port), Some(flows)) = (a.udp, a.flows) {
        What::Flows {
            port,
            payload: a.size,
            flows,
            sport: a.sport,
        }
    } else if let Some(port) = a.udp {
        What::Udp {
            port,
            payload: a.size,
        }
    } else {
        bail!("say what to send: --udp PORT, --icmp, or --pcap FILE --dev DEV");
    };
    Ok(TrafficRequest {
        from: a.from.clone(),
        to,
        what,
        count: a.count,
        rate: a.rate,
    })
}

/// The exercise `id` names, or the first one not passed yet (the first when all have), with
/// what was picked when `id` named none in a lesson of several (`verb`: `check`, `hint`, ...,
/// for the command that names another).
fn pick_exercise<'a>(
    les: &'a lessons::Lesson,
    id: Option<&str>,
    verb: &str,
) -> Result<(&'a lessons::Exercise, Option<Picked>)> {
    let ex = exercise_named(les, id)?;
    let picked = (id.is_none() && les.exercises.len() > 1).then(|| {
        let progress = Progress::load();
        Picked {
            exercise: ex.id.clone(),
            all_passed: les
                .exercises
                .iter()
                .all(|e| progress.passed(&les.id, &e.id)),
            command: format!("lesson {verb} {}", les.number),
            others: les
                .exercises
                .iter()
                .filter(|e| e.id != ex.id)
                .map(|e| e.id.clone())
                .collect(),
        }
    });
    Ok((ex, picked))
}

/// The exercise `id` names, or the first one not passed yet.
fn exercise_named<'a>(les: &'a lessons::Lesson, id: Option<&str>) -> Result<&'a lessons::Exercise> {
    match id {
        Some(i) => les.exercises.iter().find(|e| e.id == i).with_context(|| {
            format!(
                "lesson {} has no exercise `{i}`{} (it has: {})",
                les.number,
                hike::suggest::did_you_mean(i, les.exercises.iter().map(|e| e.id.as_str())),
                les.exercises
                    .iter()
                    .map(|e| e.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }),
        None => {
            let progress = Progress::load();
            les.exercises
                .iter()
                .find(|e| !progress.passed(&les.id, &e.id))
                .or(les.exercises.first())
                .with_context(|| format!("lesson {} has no exercises", les.number))
        }
    }
}

/// A file a command reads: an exercise file of the workspace is created from its starter
/// when the learner has not opened it yet (commands may name `~/eclat-lab/...` first).
/// Writes a drawing to `-o FILE` (created or replaced; never through a symbolic link);
/// returns the file's name, or `None` when the SVG is to be printed.
fn write_svg(output: Option<&Path>, svg: &str) -> Result<Option<String>> {
    let Some(out) = output else {
        return Ok(None);
    };
    if std::fs::symlink_metadata(out).is_ok_and(|m| m.file_type().is_symlink()) {
        bail!(
            "{} is a symbolic link: write the drawing to a plain file",
            out.display()
        );
    }
    eclat_service::classroom::write_as_caller(out, svg.as_bytes())?;
    Ok(Some(out.display().to_string()))
}

/// Is this an instructor's session (`ECLAT_LAB_INSTRUCTOR=1`: solutions open before the
/// checks pass)?
fn instructor() -> bool {
    std::env::var("ECLAT_LAB_INSTRUCTOR").is_ok_and(|v| v == "1")
}

fn input(path: &Path) -> Result<PathBuf> {
    workspace::ensure(path)?;
    Ok(path.to_path_buf())
}

/// The files a command reads that the user names (scripts, objects, topology files, pcaps).
fn files_read(cmd: &Cmd) -> Vec<&Path> {
    let path_like =
        |s: &str| s.contains('/') || [".toml", ".c", ".o"].iter().any(|x| s.ends_with(x));
    match cmd {
        Cmd::Compile { script, .. }
        | Cmd::Load { script, .. }
        | Cmd::Chain(ChainCmd::Draw { script, .. }) => vec![script.as_path()],
        Cmd::Test { script, pcap, .. } => {
            let mut v = vec![script.as_path()];
            v.extend(pcap.as_deref());
            v
        }
        Cmd::Traffic(a) => a.pcap.as_deref().into_iter().collect(),
        Cmd::Xdp(XdpCmd::Load { file }) | Cmd::Module(ModuleCmd::Build { file }) => {
            vec![file.as_path()]
        }
        Cmd::Module(ModuleCmd::Load { program }) if path_like(program) => {
            vec![Path::new(program)]
        }
        Cmd::Topo(TopoCmd::Up { name: Some(n), .. } | TopoCmd::Draw { name: Some(n), .. })
            if path_like(n) =>
        {
            vec![Path::new(n)]
        }
        _ => Vec::new(),
    }
}

/// Runs one command.
pub async fn run(ctx: &Ctx, cmd: Cmd) -> Result<Reply> {
    if cmd.needs_root() && !Lab::privileged() {
        return Err(NeedsRoot {
            what: cmd.describe(),
        }
        .into());
    }
    // a classroom's learner: the lab reads only the files they could read themselves
    for f in files_read(&cmd) {
        eclat_service::classroom::check_readable(f)?;
    }
    // every privileged command first removes the leftovers of a crashed run
    if cmd.needs_root() && !matches!(cmd, Cmd::Reset | Cmd::Classroom(_)) {
        ctx.lab.recover().await?;
    }
    let lab = &ctx.lab;
    Ok(match cmd {
        Cmd::Tutorial { .. } | Cmd::Shell => {
            bail!("already in the lab: this command works from a system shell")
        }
        Cmd::Doctor => Reply::Doctor(lab.doctor().await?),
        Cmd::Topo(t) => match t {
            TopoCmd::List => Reply::TopoList(Topologies {
                topologies: lab.topo_list()?,
            }),
            TopoCmd::Up {
                name,
                replace,
                fresh,
            } => Reply::TopoUp(
                lab.topo_up(
                    name,
                    if fresh {
                        Replace::Any
                    } else if replace {
                        Replace::Other
                    } else {
                        Replace::No
                    },
                )
                .await?,
            ),
            TopoCmd::Down => Reply::TopoDown(lab.topo_down().await?),
            TopoCmd::Status => Reply::TopoStatus(lab.topo_status().await?),
            TopoCmd::Draw { name, output } => {
                let drawing = lab.topo_draw(name)?;
                let written = write_svg(output.as_deref(), &drawing.svg)?;
                Reply::TopoDraw(TopoDrawn { drawing, written })
            }
        },
        Cmd::Exec {
            node,
            argv,
            bpf_stats,
        } => {
            // each line of output, as it comes
            let (tx, mut rx) = mpsc::unbounded_channel::<String>();
            let fwd = ctx.updates.clone();
            let lines = tokio::spawn(async move {
                while let Some(line) = rx.recv().await {
                    let _ = fwd.send(Update::Output { line });
                }
            });
            let r = lab
                .exec(
                    node,
                    argv,
                    eclat_service::exec::ExecOptions { bpf_stats },
                    Some(tx),
                    ctx.cancel.clone(),
                )
                .await;
            let _ = lines.await;
            Reply::Exec(r?)
        }
        Cmd::Traffic(a) => {
            let req = traffic_request(&a)?;
            Reply::Traffic(
                lab.traffic(req, Sent::default(), ctx.cancel.clone())
                    .await?,
            )
        }
        Cmd::Cube(c) => match c {
            CubeCmd::Add { name, source } => {
                // a learner's file is created from its starter like any command's input
                let (file, prog) = match source.rsplit_once(':') {
                    Some((f, p)) if f.ends_with(".c") || f.ends_with(".o") => (f, Some(p)),
                    _ => (source.as_str(), None),
                };
                let source = if file.ends_with(".c") || file.ends_with(".o") {
                    let f = input(Path::new(file))?;
                    match prog {
                        Some(p) => format!("{}:{p}", f.display()),
                        None => f.display().to_string(),
                    }
                } else {
                    source.clone()
                };
                Reply::CubeAdd(lab.cube_add(name, source).await?)
            }
            CubeCmd::Connect { from, to } => {
                Reply::CubeConnect(lab.cube_connect(from.0, from.1, to).await?)
            }
            CubeCmd::Disconnect { from } => {
                Reply::CubeDisconnect(lab.cube_disconnect(from.0, from.1).await?)
            }
            CubeCmd::Attach { name, node, dev } => {
                Reply::XdpAttach(lab.cube_attach(name, node, dev).await?)
            }
            CubeCmd::Del { name } => Reply::CubeDel(lab.cube_del(name).await?),
            CubeCmd::Show { name } => Reply::CubeShow(lab.cube_show(name).await?),
            CubeCmd::Graph { svg, output } => {
                let graph = lab.cube_graph(svg).await?;
                let written = match &graph.svg {
                    Some(s) => write_svg(output.as_deref(), s)?,
                    None => None,
                };
                Reply::CubeGraph(CubeGraphed { graph, written })
            }
        },
        Cmd::Xdp(x) => match x {
            XdpCmd::List => Reply::XdpList(lab.xdp_list().await?),
            XdpCmd::Load { file } => Reply::XdpLoad(lab.xdp_load(input(&file)?).await?),
            XdpCmd::Attach {
                program,
                node,
                dev,
                skb,
            } => Reply::XdpAttach(lab.xdp_attach(program, node, dev, skb).await?),
            XdpCmd::Detach { node, dev } => Reply::XdpDetach(lab.xdp_detach(node, dev).await?),
            XdpCmd::Unload { object } => Reply::XdpUnload(lab.xdp_unload(object).await?),
        },
        Cmd::Map(m) => map(ctx, m).await?,
        Cmd::ReadMap { name } => map(ctx, MapCmd::Dump { name }).await?,
        Cmd::Compile {
            script,
            emit,
            define,
        } => Reply::Compile(compile(lab, &input(&script)?, emit.as_deref(), &define)?),
        Cmd::Load {
            script,
            define,
            replace,
        } => Reply::Load(
            lab.load(LoadRequest {
                file: input(&script)?,
                defines: parse_defines(&define)?,
                replace,
            })
            .await?,
        ),
        Cmd::Unload { script } => Reply::Unload(lab.unload(script).await?),
        Cmd::Test {
            script,
            define,
            packets,
            pcap,
            chain,
            clock,
            tick,
        } => {
            let mut frames = Vec::new();
            for p in &packets {
                frames.push((p.clone(), eclat_model::packetspec::frame(p)?));
            }
            if let Some(f) = &pcap {
                for (i, fr) in read_pcap(f)?.into_iter().enumerate() {
                    frames.push((format!("{}#{}", f.display(), i + 1), fr));
                }
            }
            if frames.is_empty() {
                bail!("give packets: --packet \"ipv6 udp dport=5000\" (repeatable) or --pcap FILE");
            }
            let file = input(&script)?;
            let done = lab
                .test(
                    TestRequest {
                        file: file.clone(),
                        defines: parse_defines(&define)?,
                        packets: frames,
                        chain,
                        clock: clock.map(|start_ms| TestClock {
                            start_ms,
                            tick_ms: tick.unwrap_or(0),
                        }),
                    },
                    ctx.cancel.clone(),
                )
                .await?;
            Reply::Test(Tested {
                script: file.display().to_string(),
                chain: done.chain,
                packets: done.packets,
            })
        }
        Cmd::Chain(c) => match c {
            ChainCmd::List => Reply::ChainList(Chains {
                chains: lab.chain_list().await?,
            }),
            ChainCmd::Dis { id } => Reply::ChainDis(lab.chain_dis(id).await?),
            ChainCmd::Draw {
                script,
                chain,
                path,
                node,
                define,
                output,
            } => {
                let drawing = lab.chain_draw(&ChainDrawRequest {
                    file: input(&script)?,
                    defines: parse_defines(&define)?,
                    chain,
                    figure: if path {
                        ScriptFigure::Path
                    } else {
                        ScriptFigure::Chain
                    },
                    node,
                })?;
                let written = write_svg(output.as_deref(), &drawing.svg)?;
                Reply::ChainDraw(ChainDrawn { drawing, written })
            }
            ChainCmd::Trace { seconds } => {
                let (tx, mut rx) = mpsc::unbounded_channel();
                let fwd = ctx.updates.clone();
                let pump = tokio::spawn(async move {
                    while let Some(i) = rx.recv().await {
                        let _ = fwd.send(Update::Trace(i));
                    }
                });
                let r = lab
                    .chain_trace(Duration::from_secs(seconds), tx, ctx.cancel.clone())
                    .await;
                let _ = pump.await;
                Reply::ChainTrace(r?)
            }
        },
        Cmd::Dev(DevCmd::Check { lesson }) => {
            Reply::DevCheck(devcheck::run(lab, lesson.as_deref(), &ctx.cancel).await?)
        }
        Cmd::Dev(DevCmd::Reference) => Reply::DevReference(super::reference::reference()),
        Cmd::Module(m) => match m {
            ModuleCmd::Load { program } => {
                let p = if program.ends_with(".c") || program.ends_with(".o") {
                    input(Path::new(&program))?.display().to_string()
                } else {
                    program
                };
                Reply::ModuleLoad(lab.module_load(p).await?)
            }
            ModuleCmd::Unload { program } => Reply::ModuleUnload(lab.module_unload(program).await?),
            ModuleCmd::List => Reply::ModuleList(lab.module_list().await?),
            ModuleCmd::Build { file } => Reply::ModuleBuild(lab.module_build(input(&file)?).await?),
        },
        Cmd::Lesson(l) => lesson(ctx, l).await?,
        Cmd::Reset => Reply::Reset(lab.reset().await?),
        Cmd::Classroom(c) => classroom(c).await?,
        Cmd::Bench(b) => {
            let updates = ctx.updates.clone();
            let progress: crate::bench::Progress = std::sync::Arc::new(move |progress| {
                let _ = updates.send(Update::Progress { progress });
            });
            Reply::Bench(Box::new(
                crate::bench::run(&ctx.lab, &ctx.cancel, progress, b).await?,
            ))
        }
    })
}

async fn classroom(c: ClassroomCmd) -> Result<Reply> {
    use eclat_service::classroom as class;
    use eclat_service::vm_classroom as vmc;
    if let Some(who) = class::confined_learner() {
        bail!(
            "`classroom` commands are the instructor's: {} is a learner of a classroom, whose \
             sudo reaches their own lab only. Run them as root (`sudo -i`, then `eclat-lab \
             classroom ...`) from an account that is not a learner's",
            who
        );
    }
    Ok(match c {
        ClassroomCmd::Up {
            count,
            prefix,
            topology,
            load,
            lesson,
            vms: true,
            port_base,
        } => {
            if let Some(t) = topology {
                bail!(
                    "--topology {t}: a classroom of VMs brings each VM's lab up with the lab's \
                     default topology; choose another in the VM (`eclat-lab topo up --replace \
                     NAME`), or leave out --vms for a classroom on this server"
                );
            }
            Reply::ClassroomVmsUp(
                vmc::up(vmc::VmUpRequest {
                    prefix,
                    count,
                    load,
                    lesson: lesson_id(lesson)?,
                    port_base,
                })
                .await?,
            )
        }
        ClassroomCmd::Up {
            count,
            prefix,
            topology,
            load,
            lesson,
            vms: false,
            port_base: _,
        } => Reply::ClassroomUp(
            class::up(class::UpRequest {
                prefix,
                count,
                topology,
                load,
                lesson: lesson_id(lesson)?,
            })
            .await?,
        ),
        ClassroomCmd::Down { prefix, vms: false } => {
            Reply::ClassroomDown(class::down(prefix).await?)
        }
        ClassroomCmd::Down { prefix, vms: true } => {
            Reply::ClassroomVmsDown(vmc::down(prefix).await?)
        }
        ClassroomCmd::Status { vms } => {
            let mut s = if vms {
                class::ClassroomStatus {
                    classrooms: Vec::new(),
                    vm_classrooms: Vec::new(),
                }
            } else {
                class::status().await?
            };
            s.vm_classrooms = vmc::status().await?;
            Reply::ClassroomStatus(s)
        }
    })
}

/// The id of the lesson a classroom's tutorial opens on (`--lesson`: a number or an id).
fn lesson_id(lesson: Option<String>) -> Result<Option<String>> {
    lesson.map(|l| lessons::find(&l).map(|x| x.id)).transpose()
}

async fn map(ctx: &Ctx, m: MapCmd) -> Result<Reply> {
    let lab = &ctx.lab;
    Ok(match m {
        MapCmd::List => Reply::MapList(Maps {
            maps: lab.map_list().await?,
        }),
        MapCmd::Dump { name } => Reply::MapDump(lab.map_dump(name).await?),
        MapCmd::Set { name, key, value } => Reply::MapSet(lab.map_set(name, key, value).await?),
        MapCmd::Delete { name, key } => Reply::MapDelete(lab.map_delete(name, key).await?),
        MapCmd::Clear { name } => Reply::MapClear(lab.map_clear(name).await?),
        MapCmd::Watch {
            name,
            interval,
            count,
        } => {
            let (tx, mut rx) = mpsc::unbounded_channel::<eclat_service::maps::WatchFrame>();
            let fwd = ctx.updates.clone();
            let pump = tokio::spawn(async move {
                let mut labels = None;
                while let Some(mut f) = rx.recv().await {
                    let l = labels.get_or_insert_with(|| lesson_labels(&f.map));
                    for r in f.rows.iter_mut().filter(|r| r.label.is_none()) {
                        r.label = l.get(&r.key).cloned();
                    }
                    let _ = fwd.send(Update::Frame(f));
                }
            });
            // in a session (REPL, TUI) a watch without --count stops after 10 frames
            let count = count.or(match lab.origin() {
                eclat_service::Origin::Cli => None,
                eclat_service::Origin::Session => Some(10),
            });
            let r = lab
                .map_watch(
                    name,
                    Duration::from_millis(interval),
                    count,
                    tx,
                    ctx.cancel.clone(),
                )
                .await;
            let _ = pump.await;
            Reply::MapWatch(r?)
        }
    })
}

/// The labels the current lesson's panel gives the keys of `map` (a full name such as
/// `lab/xdp_counter/pkt_count`), so that `map watch` names them as the panel does.
fn lesson_labels(map: &str) -> std::collections::BTreeMap<String, String> {
    Progress::load()
        .current
        .and_then(|id| eclat_course::lessons::find(&id).ok())
        .map(|l| panel_labels(&l, map))
        .unwrap_or_default()
}

fn panel_labels(l: &eclat_course::Lesson, map: &str) -> std::collections::BTreeMap<String, String> {
    l.maps
        .iter()
        .find(|p| map == p.name || map.ends_with(&format!("/{}", p.name)))
        .map(|p| p.labels.clone())
        .unwrap_or_default()
}

fn compile(
    lab: &Lab,
    script: &Path,
    emit: Option<&str>,
    define: &[String],
) -> Result<CompileReply> {
    let c = lab.compile_file(script, &parse_defines(define)?)?;
    let p = &c.program;
    let emitted = match emit {
        Some("asm") => Some(p.emit_asm()),
        Some("c") => Some(p.emit_c()),
        Some(_) => {
            let mut text = String::new();
            for ch in &p.chains {
                text.push_str(&format!("chain {}:\n", ch.name));
                for (i, w) in ch.bytes().chunks(8).enumerate() {
                    text.push_str(&format!(
                        "  {:>2}: {}\n",
                        i,
                        w.iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ));
                }
            }
            Some(text)
        }
        None => None,
    };
    Ok(CompileReply {
        script: script.display().to_string(),
        chains: p
            .chains
            .iter()
            .map(|ch| CompiledChain {
                name: ch.name.clone(),
                insns: ch.insns.len(),
                bytecode: ch.bytes().iter().map(|b| format!("{b:02x}")).collect(),
            })
            .collect(),
        diagnostics: c.diagnostics.clone(),
        map_entries: p.map_entries.len(),
        attach: p.attach.len(),
        compile_us: c.compile_us,
        emitted,
        warnings: c.warnings,
    })
}

async fn lesson(ctx: &Ctx, l: LessonCmd) -> Result<Reply> {
    Ok(match l {
        LessonCmd::List => {
            let progress = Progress::load();
            Reply::LessonList(Lessons {
                lessons: lessons::all()
                    .iter()
                    .map(|les| LessonRow {
                        id: les.id.clone(),
                        number: les.number,
                        title: les.title.clone(),
                        steps: les.steps.len(),
                        exercises: les.exercises.len(),
                        passed: progress
                            .lessons
                            .get(&les.id)
                            .map(|p| p.passed.len())
                            .unwrap_or(0),
                        topology: les.topology.clone(),
                        goals: les.goals.clone(),
                    })
                    .collect(),
            })
        }
        LessonCmd::Show { id } => {
            let les = lessons::find(&id)?;
            Reply::LessonShow(LessonText {
                id: les.id,
                title: les.title,
                goals: les.goals,
                text: les.text,
            })
        }
        LessonCmd::Check { id, exercise } => {
            let les = lessons::find(&id)?;
            let (ex, picked) = pick_exercise(&les, exercise.as_deref(), "check")?;
            let file = workspace::file(&les, ex)?;
            let rep = checks::run(&ctx.lab, &les, ex, &file, &ctx.cancel).await?;
            if rep.passed {
                eclat_course::ProgressOp::Passed(les.id.clone(), ex.id.clone()).save()?;
            }
            Reply::LessonCheck(LessonChecked {
                report: rep,
                picked,
            })
        }
        LessonCmd::Hint { id, exercise } => {
            let les = lessons::find(&id)?;
            let (ex, picked) = pick_exercise(&les, exercise.as_deref(), "hint")?;
            let mut p = Progress::load();
            let seen = p.lesson(&les.id).hints.entry(ex.id.clone()).or_insert(0);
            let i = (*seen).min(ex.hints.len().saturating_sub(1));
            *seen = (*seen + 1).min(ex.hints.len());
            p.save()?;
            Reply::LessonHint(Hint {
                exercise: ex.id.clone(),
                hint: i + 1,
                of: ex.hints.len(),
                text: ex
                    .hints
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| "no hints".into()),
                picked,
            })
        }
        LessonCmd::Reset { id, exercise } => {
            let les = lessons::find(&id)?;
            let (ex, picked) = pick_exercise(&les, exercise.as_deref(), "reset")?;
            let (file, backup) = workspace::reset(&les, ex)?;
            Reply::LessonReset(ExerciseReset {
                file: file.display().to_string(),
                backup: backup.display().to_string(),
                picked,
            })
        }
        LessonCmd::Solve { id, exercise } => {
            let les = lessons::find(&id)?;
            let (ex, picked) = pick_exercise(&les, exercise.as_deref(), "solve")?;
            let (file, backup) = workspace::solve(&les, ex)?;
            let rep = checks::run(&ctx.lab, &les, ex, &file, &ctx.cancel).await?;
            if rep.passed {
                eclat_course::ProgressOp::Passed(les.id.clone(), ex.id.clone()).save()?;
            }
            Reply::LessonSolve(Solved {
                file: file.display().to_string(),
                backup: backup.display().to_string(),
                check: rep,
                picked,
            })
        }
        LessonCmd::Solution { id, exercise } => {
            let les = lessons::find(&id)?;
            let (ex, picked) = pick_exercise(&les, exercise.as_deref(), "solution")?;
            if !Progress::load().passed(&les.id, &ex.id) && !instructor() {
                bail!(
                    "the solution of {} opens once your checks pass: `eclat-lab lesson check {} {}` \
                     (stuck? `lesson hint {} {}`)",
                    ex.id,
                    les.number,
                    ex.id,
                    les.number,
                    ex.id
                );
            }
            Reply::LessonSolution(Solution {
                exercise: ex.id.clone(),
                file: ex.file.clone(),
                solution: lessons::exercise_file(&les, "solution", &ex.file)
                    .unwrap_or("")
                    .to_string(),
                picked,
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watched_map_gets_the_lesson_panels_labels() {
        let l = eclat_course::lessons::find("hello-xdp").unwrap();
        let m = panel_labels(&l, "lab/xdp_counter/pkt_count");
        assert_eq!(m.get("0").map(String::as_str), Some("packets"));
        assert!(panel_labels(&l, "lab/xdp_counter/other_pkt_count").is_empty());
    }
}
