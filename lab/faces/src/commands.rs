//! The command layer: one place that executes a parsed [`Cmd`] against the kernel and returns
//! an [`Output`] (text for people, JSON for scripts). The CLI, the REPL and the TUI are three
//! views over this; none of them talks to the kernel directly.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use eclat_kernel::journal::{Journal, Lifetime};
use eclat_kernel::{LabEnv, cleanup, doctor, maps, topo, traffic, xdp};
use eclat_model::topology;
use serde_json::{Value, json};

use crate::cli::{
    ChainCmd, Cmd, DevCmd, LessonCmd, MapCmd, ModuleCmd, TopoCmd, TrafficArgs, XdpCmd,
};
use crate::{lessons, topologies};

/// What a command produced.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub text: String,
    pub json: Value,
    /// false when the command ran but found a problem (a failed doctor check, ...)
    pub success: bool,
}

impl Output {
    pub fn new(text: impl Into<String>, json: Value) -> Self {
        Self {
            text: text.into(),
            json,
            success: true,
        }
    }
}

/// Where commands come from: it decides the lifetime of what they create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `eclat-lab CMD` from a shell: objects stay until `topo down` / `reset`
    Cli,
    /// the REPL or the TUI: objects belong to the session and go when it ends
    Session,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub env: LabEnv,
    pub origin: Origin,
}

/// The message for commands run without the privileges they need.
pub fn root_message(what: &str) -> String {
    format!(
        "`eclat-lab {what}` changes the kernel (network namespaces, eBPF programs) and needs root \
         (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_BPF).\nRun it with sudo: `sudo eclat-lab {what}`. \
         Reading lessons (`eclat-lab lesson list`) and `eclat-lab doctor` work without root."
    )
}

impl Session {
    pub fn new(env: LabEnv, origin: Origin) -> Self {
        Self { env, origin }
    }

    pub fn life(&self) -> Lifetime {
        match self.origin {
            Origin::Cli => Lifetime::Persistent,
            Origin::Session => Lifetime::Session,
        }
    }

    /// Opens the journal (taking the lab's lock) and removes leftovers of crashed runs.
    /// Returns the journal and a note about what recovery removed, if anything.
    pub fn journal(&self) -> Result<(Journal, Option<String>)> {
        let mut j = Journal::open(&self.env.state_dir).context("opening the lab's journal")?;
        let rep =
            cleanup::recover(&self.env, &mut j).context("recovering from an earlier crash")?;
        let note = (!rep.is_empty()).then(|| {
            let mut s = format!(
                "note: removed {} leftover(s) of an earlier eclat-lab run that ended abruptly:",
                rep.removed.len()
            );
            for r in &rep.removed {
                s.push_str(&format!("\n  - {r}"));
            }
            for k in &rep.kept {
                s.push_str(&format!("\n  - kept {k}"));
            }
            s
        });
        Ok((j, note))
    }

    /// Runs one command. `stop` interrupts long commands (traffic, watch).
    pub fn run(&self, cmd: Cmd, stop: &AtomicBool) -> Result<Output> {
        self.run_with(cmd, stop, &mut |_| {})
    }

    /// Runs one command; streaming commands (`map watch`, `chain trace`) hand each new
    /// frame or line to `on_line` as it comes.
    pub fn run_with(
        &self,
        cmd: Cmd,
        stop: &AtomicBool,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<Output> {
        if cmd.needs_root() && !doctor::privileged() {
            bail!(root_message(&describe(&cmd)));
        }
        // every privileged command first removes the leftovers of a crashed run
        let note = if cmd.needs_root() && !matches!(cmd, Cmd::Reset(_)) {
            self.journal()?.1
        } else {
            None
        };
        let mut out = self.dispatch(cmd, stop, on_line)?;
        if let Some(n) = note {
            out.text = if out.text.is_empty() {
                n
            } else {
                format!("{n}\n{}", out.text)
            };
        }
        Ok(out)
    }

    fn dispatch(
        &self,
        cmd: Cmd,
        stop: &AtomicBool,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<Output> {
        match cmd {
            Cmd::Tutorial { .. } | Cmd::Shell => {
                bail!("already in the lab: this command works from a system shell")
            }
            Cmd::Doctor(f) => Ok(self.doctor(f.json)),
            Cmd::Topo(t) => self.topo(t),
            Cmd::Exec { node, argv } => self.exec(&node, &argv),
            Cmd::Traffic(a) => self.traffic(&a, stop),
            Cmd::Xdp(x) => self.xdp(x),
            Cmd::Map(m) => self.map(m, stop, on_line),
            Cmd::ReadMap { name, json } => self.map(MapCmd::Dump { name, json }, stop, on_line),
            Cmd::Compile {
                script,
                emit,
                define,
                ..
            } => self.compile(&script, emit.as_deref(), &define),
            Cmd::Load { script, define, .. } => {
                let defines = parse_defines(&define)?;
                let rep = crate::scripts::load(self, &script, &defines)?;
                let mut text = String::new();
                if !rep.warnings.trim().is_empty() {
                    text.push_str(rep.warnings.trim_end());
                    text.push('\n');
                }
                text.push_str(&format!(
                    "{} {} in {:.1} ms: chains {}; programs {}{}",
                    if rep.replaced { "reloaded" } else { "loaded" },
                    rep.script,
                    rep.elapsed_ms,
                    rep.chains
                        .iter()
                        .map(|(n, id)| format!("{n}={id:#x}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    rep.programs
                        .iter()
                        .map(|(n, id)| format!("{n}={id}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if rep.attached.is_empty() {
                        String::new()
                    } else {
                        format!("; attached {}", rep.attached.join(", "))
                    }
                ));
                for (name, tier) in &rep.tiers {
                    if let eclat_kernel::hike::tier::Tier::Interpreted { why } = tier {
                        text.push_str(&format!("\n  chain {name} runs interpreted: {why}"));
                    }
                }
                let compiled = rep
                    .tiers
                    .iter()
                    .filter(|(_, t)| matches!(t, eclat_kernel::hike::tier::Tier::Compiled { .. }))
                    .count();
                if compiled > 0 {
                    text.push_str(&format!(
                        "\n  {compiled} of {} chain(s) compiled: each program goes straight on to the next, no interpreter (`chain list` shows how each runs, `chain dis` what the compiler wrote)",
                        rep.tiers.len()
                    ));
                }
                Ok(Output::new(text, serde_json::to_value(&rep)?))
            }
            Cmd::Unload { script } => {
                let text = crate::scripts::unload(self, &script)?;
                Ok(Output::new(text, json!({ "unloaded": script })))
            }
            Cmd::Test {
                script,
                define,
                packets,
                pcap,
                ..
            } => {
                let defines = parse_defines(&define)?;
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
                    bail!(
                        "give packets: --packet \"ipv6 udp dport=5000\" (repeatable) or --pcap FILE"
                    );
                }
                let res = crate::scripts::test(self, &script, &defines, &frames)?;
                Ok(Output::new(
                    crate::scripts::format_test(&res),
                    serde_json::to_value(&res)?,
                ))
            }
            Cmd::Chain(c) => match c {
                ChainCmd::List(_) => {
                    let (t, j) = crate::scripts::chain_list(self)?;
                    Ok(Output::new(t, j))
                }
                ChainCmd::Dis { id } => Ok(Output::new(
                    crate::scripts::chain_dis(self, &id)?,
                    json!({}),
                )),
                ChainCmd::Trace { seconds } => {
                    let mut lines = Vec::new();
                    let n = crate::scripts::chain_trace(self, seconds, stop, &mut |l| {
                        on_line(l);
                        lines.push(l.to_string());
                    })?;
                    Ok(Output::new(
                        if n == 0 {
                            "no packet went through a chain".to_string()
                        } else {
                            String::new()
                        },
                        json!(lines),
                    ))
                }
            },
            Cmd::Dev(DevCmd::Check(_)) => {
                let (ok, text, j) = crate::course::dev_check(self)?;
                let mut o = Output::new(text, j);
                o.success = ok;
                Ok(o)
            }
            Cmd::Module(m) => self.module(m),
            Cmd::Lesson(l) => self.lesson(l),
            Cmd::Reset(_) => self.reset(),
            Cmd::Bench(b) => crate::bench::run(self, b),
        }
    }

    fn doctor(&self, _json: bool) -> Output {
        let checks = doctor::run(true);
        let mut text = String::new();
        for c in &checks {
            let mark = match c.level {
                doctor::Level::Ok => "ok  ",
                doctor::Level::Warn => "warn",
                doctor::Level::Fail => "FAIL",
            };
            text.push_str(&format!("[{mark}] {:<10} {}\n", c.name, c.detail));
            if !c.fix.is_empty() {
                text.push_str(&format!("       {:<10} fix: {}\n", "", c.fix));
            }
        }
        let fails = checks
            .iter()
            .filter(|c| c.level == doctor::Level::Fail)
            .count();
        text.push_str(&if fails == 0 {
            "All set: run `sudo eclat-lab` to start the tutorial.".to_string()
        } else {
            format!("{fails} problem(s) to fix before the lab can run.")
        });
        let mut o = Output::new(text, json!({ "checks": checks, "ok": fails == 0 }));
        o.success = fails == 0;
        o
    }

    fn topo(&self, t: TopoCmd) -> Result<Output> {
        match t {
            TopoCmd::List(_) => {
                let names = topologies::names();
                let mut text = String::new();
                let mut arr = Vec::new();
                for n in &names {
                    let (src, file) = topologies::source(n)?;
                    let topo = topology::parse(&src, &file)?;
                    text.push_str(&format!(
                        "{:<10} {} ({} nodes, {} links)\n",
                        n,
                        topo.description,
                        topo.nodes.len(),
                        topo.links.len()
                    ));
                    arr.push(json!({"name": n, "description": topo.description, "nodes": topo.nodes.len(), "links": topo.links.len()}));
                }
                Ok(Output::new(text.trim_end(), json!(arr)))
            }
            TopoCmd::Up { name, .. } => {
                let name = name.unwrap_or_else(|| topologies::DEFAULT.to_string());
                let (src, file) = topologies::source(&name)?;
                let topo = topology::parse(&src, &file)?;
                let (mut j, _) = self.journal()?;
                let rep = topo::up(&self.env, &mut j, &topo, &src, self.life())?;
                let mut text = String::new();
                if !rep.already_up {
                    // the programs the topology file attaches (a pass program on a collector)
                    for end in topo.links.iter().flat_map(|l| [&l.a, &l.b]) {
                        if let Some(p) = &end.xdp {
                            xdp::attach(
                                &self.env,
                                &mut j,
                                p,
                                &end.node,
                                &end.dev,
                                false,
                                self.life(),
                            )
                            .with_context(|| {
                                format!("attaching {p} to {}:{}", end.node, end.dev)
                            })?;
                        }
                    }
                }
                if rep.already_up {
                    text.push_str(&format!(
                        "topology {} is already up ({})",
                        rep.topology,
                        rep.nodes.join(", ")
                    ));
                } else {
                    text.push_str(&format!(
                        "topology {} up in {:.1} ms: nodes {}, {} links, {} addresses, {} static neighbours",
                        rep.topology,
                        topo::ms(rep.elapsed_us),
                        rep.nodes.join(", "),
                        rep.links,
                        rep.addresses,
                        rep.neighbours
                    ));
                    text.push_str(&format!(
                        "\ntry: eclat-lab exec {} -- ping -c 1 <address>; eclat-lab topo status",
                        rep.nodes[0]
                    ));
                }
                Ok(Output::new(text, serde_json::to_value(&rep)?))
            }
            TopoCmd::Down(_) => {
                let (mut j, _) = self.journal()?;
                let rep = topo::down(&self.env, &mut j)?;
                let mut text = String::new();
                text.push_str(&match &rep.topology {
                    Some(t) => format!(
                        "topology {t} down in {:.1} ms (removed {})",
                        topo::ms(rep.elapsed_us),
                        rep.removed.join(", ")
                    ),
                    None => "no topology is up".to_string(),
                });
                Ok(Output::new(text, serde_json::to_value(&rep)?))
            }
            TopoCmd::Status(_) => {
                let st = topo::status(&self.env)?;
                Ok(Output::new(format_status(&st), serde_json::to_value(&st)?))
            }
        }
    }

    fn exec(&self, node: &str, argv: &[String]) -> Result<Output> {
        match self.origin {
            Origin::Cli => {
                let status = eclat_kernel::exec::run(&self.env, node, argv)?;
                let code = status.code().unwrap_or(1);
                let mut o = Output::new(String::new(), json!({ "exit_code": code }));
                o.success = status.success();
                Ok(o)
            }
            Origin::Session => {
                let out = eclat_kernel::exec::output(&self.env, node, argv)?;
                let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
                text.push_str(&String::from_utf8_lossy(&out.stderr));
                let code = out.status.code().unwrap_or(1);
                if !out.status.success() {
                    text.push_str(&format!("({} exited with status {code})", argv[0]));
                }
                let mut o = Output::new(text.trim_end(), json!({ "exit_code": code }));
                o.success = out.status.success();
                Ok(o)
            }
        }
    }

    pub fn traffic_spec(a: &TrafficArgs) -> Result<traffic::Spec> {
        let to = match &a.to {
            Some(t) => Some(
                t.parse()
                    .with_context(|| format!("--to {t}: not an IPv4 or IPv6 address"))?,
            ),
            None => None,
        };
        let kind = if let Some(p) = &a.pcap {
            traffic::Kind::Pcap {
                file: p.clone(),
                dev: a.dev.clone().unwrap_or_default(),
            }
        } else if a.icmp {
            traffic::Kind::Icmp
        } else if let Some(port) = a.udp {
            traffic::Kind::Udp {
                port,
                payload: a.size,
            }
        } else {
            bail!("say what to send: --udp PORT, --icmp, or --pcap FILE --dev DEV");
        };
        Ok(traffic::Spec {
            from: a.from.clone(),
            to,
            kind,
            count: a.count,
            rate: a.rate,
            reply_wait: Duration::from_millis(1000),
        })
    }

    fn traffic(&self, a: &TrafficArgs, stop: &AtomicBool) -> Result<Output> {
        let spec = Self::traffic_spec(a)?;
        let progress = AtomicU64::new(0);
        let rep = traffic::send(&self.env, &spec, &progress, stop)?;
        let mut o = Output::new(rep.summary(), serde_json::to_value(&rep)?);
        o.success = rep.sent == rep.requested;
        Ok(o)
    }

    fn xdp(&self, x: XdpCmd) -> Result<Output> {
        match x {
            XdpCmd::List(_) => {
                let att = xdp::attachments(&self.env);
                let mut text = String::from("prebuilt programs:\n");
                for p in xdp::PROGRAMS {
                    text.push_str(&format!("  {:<12} {}\n", p.name, p.about));
                }
                text.push_str(if att.is_empty() {
                    "nothing attached by the lab"
                } else {
                    "attached:\n"
                });
                for a in &att {
                    text.push_str(&format!("  {}:{} <- {}\n", a.node, a.dev, a.program));
                }
                let objects = xdp::loaded_objects(&self.env);
                if !objects.is_empty() {
                    text.push_str("\nloaded with `xdp load`:\n");
                }
                for (pkg, progs) in &objects {
                    text.push_str(&format!("  {pkg}: {}\n", progs.join(", ")));
                }
                Ok(Output::new(
                    text.trim_end(),
                    json!({ "programs": xdp::PROGRAMS.iter().map(|p| p.name).collect::<Vec<_>>(), "attached": att, "objects": objects }),
                ))
            }
            XdpCmd::Load { file, .. } => self.xdp_load(&file),
            XdpCmd::Attach {
                program,
                node,
                dev,
                skb,
                ..
            } => {
                let (mut j, _) = self.journal()?;
                let rep = xdp::attach(&self.env, &mut j, &program, &node, &dev, skb, self.life())?;
                eclat_kernel::bpffs::record_new_pins(&self.env, &mut j, self.life())?;
                let mut text = String::new();
                if !rep.load.already_loaded {
                    text.push_str(&format!(
                        "loaded {} (verified in {:.1} ms); maps: {}\n",
                        rep.program,
                        rep.load.load_us as f64 / 1000.0,
                        rep.load.maps.join(", ")
                    ));
                }
                if let Some(r) = &rep.replaced {
                    text.push_str(&format!("detached {r} from {node}:{dev}\n"));
                }
                text.push_str(&format!(
                    "attached {} to {}:{} ({} mode)",
                    rep.program, rep.node, rep.dev, rep.mode
                ));
                Ok(Output::new(text, serde_json::to_value(&rep)?))
            }
            XdpCmd::Detach { node, dev } => {
                let (mut j, _) = self.journal()?;
                let p = xdp::detach(&self.env, &mut j, &node, &dev)?;
                Ok(Output::new(
                    format!("detached {p} from {node}:{dev}"),
                    json!({ "detached": p }),
                ))
            }
        }
    }

    /// Map commands. `on_update` receives each `watch` frame (the REPL prints them as they come).
    pub fn map(
        &self,
        m: MapCmd,
        stop: &AtomicBool,
        on_update: &mut dyn FnMut(&str),
    ) -> Result<Output> {
        match m {
            MapCmd::List(_) => {
                let all = maps::list(&self.env);
                let mut text = String::new();
                if all.is_empty() {
                    text.push_str(
                        "no maps yet: load something, e.g. `xdp attach xdp_counter sut enp6s0f0`",
                    );
                }
                for m in &all {
                    text.push_str(&format!(
                        "{:<40} {:<16} key {}B value {}B max {}\n",
                        m.name, m.map_type, m.key_size, m.value_size, m.max_entries
                    ));
                }
                Ok(Output::new(text.trim_end(), serde_json::to_value(&all)?))
            }
            MapCmd::Dump { name, .. } => {
                let m = maps::find(&self.env, &name)?;
                let d = maps::dump(&m, 100_000)?;
                if m.map_type == "prog_array" {
                    // slots hold program IDs: name them
                    let names = xdp::program_names_by_id(&self.env);
                    let mut j = serde_json::to_value(&d)?;
                    if let Some(rows) = j["rows"].as_array_mut() {
                        for (row, r) in rows.iter_mut().zip(&d.rows) {
                            row["program"] = json!(prog_name(&names, &r.value));
                        }
                    }
                    return Ok(Output::new(format_prog_array(&d, &names), j));
                }
                Ok(Output::new(
                    crate::scripts::format_dump(&d),
                    serde_json::to_value(&d)?,
                ))
            }
            MapCmd::Set { name, key, value } => {
                let m = maps::find(&self.env, &name)?;
                if m.map_type == "prog_array" {
                    self.vm_guard(&m, "fill")?;
                    let p = xdp::find_program(&self.env, &value)?;
                    let id = maps::set_program(&m, &key, &p.name, &p.pin)?;
                    return Ok(Output::new(
                        format!("{}[{key}] = {} (program ID {id})", m.name, p.name),
                        json!({ "map": m.name, "key": key, "program": p.name, "id": id }),
                    ));
                }
                maps::set(&m, &key, &value)?;
                Ok(Output::new(
                    format!("{}[{key}] = {value}", m.name),
                    json!({ "map": m.name, "key": key, "value": value }),
                ))
            }
            MapCmd::Delete { name, key } => {
                let m = maps::find(&self.env, &name)?;
                if m.map_type == "prog_array" {
                    self.vm_guard(&m, "empty a slot of")?;
                }
                let was = maps::delete(&m, &key)?;
                let what = if m.map_type == "prog_array" {
                    "slot"
                } else {
                    "key"
                };
                Ok(Output::new(
                    if was {
                        format!("{}[{key}] deleted", m.name)
                    } else {
                        format!("{}[{key}]: the {what} was already empty", m.name)
                    },
                    json!({ "map": m.name, "key": key, "deleted": was }),
                ))
            }
            MapCmd::Clear { name, .. } => {
                let m = maps::find(&self.env, &name)?;
                crate::scripts::clear_guard(self, &m)?;
                let c = maps::clear(&m)?;
                Ok(Output::new(format_cleared(&c), serde_json::to_value(&c)?))
            }
            MapCmd::Watch {
                name,
                interval,
                count,
                ..
            } => {
                let m = maps::find(&self.env, &name)?;
                let count = count.unwrap_or(match self.origin {
                    Origin::Cli => u64::MAX,
                    Origin::Session => 10,
                });
                let mut prev: Option<(Instant, maps::Dump)> = None;
                let mut frames = Vec::new();
                for _ in 0..count {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let d = maps::dump(&m, 10_000)?;
                    let now = Instant::now();
                    let mut text = format!(
                        "{} at {:?}\n",
                        m.name,
                        std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .unwrap_or_default()
                            .as_secs()
                    );
                    let mut rows = Vec::new();
                    for r in &d.rows {
                        let rate = prev.as_ref().and_then(|(t, p)| {
                            let old = p.rows.iter().find(|o| o.key_bytes == r.key_bytes)?;
                            match (&r.value, &old.value) {
                                (maps::Value::Int(a), maps::Value::Int(b)) => Some(
                                    a.wrapping_sub(*b) as f64
                                        / now.duration_since(*t).as_secs_f64(),
                                ),
                                _ => None,
                            }
                        });
                        text.push_str(&format!(
                            "  {:>8} : {:>12}",
                            r.key.to_string(),
                            r.value.to_string()
                        ));
                        if let Some(rt) = rate {
                            text.push_str(&format!("  {rt:>10.1}/s"));
                        }
                        text.push('\n');
                        rows.push(json!({ "key": r.key, "value": r.value, "rate": rate }));
                    }
                    on_update(text.trim_end());
                    frames.push(json!(rows));
                    prev = Some((now, d));
                    let until = now + Duration::from_millis(interval);
                    while Instant::now() < until && !stop.load(std::sync::atomic::Ordering::Relaxed)
                    {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
                Ok(Output::new(String::new(), json!(frames)))
            }
        }
    }

    /// The HIKe VM's program table is the lab's to fill (`module load`, `load`).
    fn vm_guard(&self, m: &maps::MapRef, what: &str) -> Result<()> {
        if m.path.starts_with(self.env.bpffs_root.join("maps/system")) {
            bail!(
                "cannot {what} `{}`: it is the HIKe VM's program table, which `module load` \
                 and `load` fill by program ID; `map set` and `map delete` work on the program \
                 arrays of objects loaded with `xdp load`",
                m.name
            );
        }
        Ok(())
    }

    /// `xdp load FILE.bpf.c|FILE.o`: build with clang (as `module build`), then load every
    /// program and map of the object into the lab, pinned, nothing attached.
    fn xdp_load(&self, file: &std::path::Path) -> Result<Output> {
        let fname = file
            .file_name()
            .and_then(|n| n.to_str())
            .context("give a file: xdp load FILE.bpf.c")?;
        let package = fname
            .strip_suffix(".bpf.c")
            .or_else(|| fname.strip_suffix(".c"))
            .or_else(|| fname.strip_suffix(".o"))
            .with_context(|| {
                format!(
                    "`xdp load` takes a C source (FILE.bpf.c) or an object (FILE.o), not {fname}"
                )
            })?
            .to_string();
        if package.is_empty() || package.contains(['/', '.']) {
            bail!("name the file NAME.bpf.c with a NAME of letters, digits and _");
        }
        let mut text = String::new();
        let object = if fname.ends_with(".c") {
            let rep = eclat_kernel::modules::build(file, &self.env.state_dir.join("include"))?;
            if !rep.accepted() {
                bail!("{}", format_build(&rep));
            }
            text.push_str(&format!(
                "compiled {} -> {} in {:.0} ms\n",
                rep.source, rep.object, rep.clang_ms
            ));
            if !rep.warnings.trim().is_empty() {
                text.push_str(rep.warnings.trim_end());
                text.push('\n');
            }
            std::path::PathBuf::from(rep.object)
        } else {
            file.to_path_buf()
        };
        let (mut j, _) = self.journal()?;
        let rep = xdp::load_object(&self.env, &mut j, &object, &package, self.life())?;
        for d in &rep.detached {
            text.push_str(&format!("detached the earlier version: {d}\n"));
        }
        text.push_str(&format!(
            "{} {package} in {:.1} ms: programs {}; maps {}\n",
            if rep.replaced { "reloaded" } else { "loaded" },
            rep.load_us as f64 / 1000.0,
            rep.programs.join(", "),
            rep.maps.join(", ")
        ));
        text.push_str("nothing is attached yet: `xdp attach PROGRAM NODE DEV`");
        if !rep.maps.is_empty() {
            text.push_str("; fill a program array with `map set MAP SLOT PROGRAM`");
        }
        Ok(Output::new(text, serde_json::to_value(&rep)?))
    }

    fn module(&self, m: ModuleCmd) -> Result<Output> {
        match m {
            ModuleCmd::Load { program } => Ok(Output::new(
                crate::scripts::module_load(self, &program)?,
                json!({}),
            )),
            ModuleCmd::Unload { program } => Ok(Output::new(
                crate::scripts::module_unload(self, &program)?,
                json!({}),
            )),
            ModuleCmd::List(_) => {
                let (t, j) = crate::scripts::module_list(self);
                Ok(Output::new(t, j))
            }
            ModuleCmd::Build { file, .. } => {
                let rep = eclat_kernel::modules::build(&file, &self.env.state_dir.join("include"))?;
                let mut o = Output::new(format_build(&rep), serde_json::to_value(&rep)?);
                o.success = rep.accepted();
                Ok(o)
            }
        }
    }

    fn lesson(&self, l: LessonCmd) -> Result<Output> {
        match l {
            LessonCmd::List(_) => {
                let all = lessons::all();
                let progress = crate::course::Progress::load();
                let mut text = String::new();
                for les in &all {
                    let done = progress
                        .lessons
                        .get(&les.id)
                        .map(|p| p.passed.len())
                        .unwrap_or(0);
                    text.push_str(&format!(
                        "{:<4} {:<36} {} steps, exercises {}/{}{}\n",
                        les.number,
                        les.title,
                        les.steps.len(),
                        done,
                        les.exercises.len(),
                        les.topology
                            .as_ref()
                            .map(|t| format!(", topology {t}"))
                            .unwrap_or_default()
                    ));
                }
                let arr: Vec<Value> = all.iter().map(|l| json!({"id": l.id, "number": l.number, "title": l.title, "steps": l.steps.len(), "exercises": l.exercises.len(), "topology": l.topology, "goals": l.goals})).collect();
                Ok(Output::new(text.trim_end(), json!(arr)))
            }
            LessonCmd::Show { id } => {
                let les = lessons::find(&id)?;
                let mut text = String::from("You will be able to:\n");
                for g in &les.goals {
                    text.push_str(&format!("  - {g}\n"));
                }
                text.push('\n');
                text.push_str(&les.text);
                Ok(Output::new(
                    text,
                    json!({"id": les.id, "title": les.title, "goals": les.goals, "text": les.text}),
                ))
            }
            LessonCmd::Check { id, exercise, .. } => {
                let les = lessons::find(&id)?;
                let ex = pick_exercise(&les, exercise.as_deref())?;
                let file = crate::course::workspace_file(&les, ex)?;
                let rep = crate::course::run_checks(self, &les, ex, &file)?;
                if rep.passed {
                    let mut p = crate::course::Progress::load();
                    p.lesson(&les.id).passed.insert(ex.id.clone());
                    p.save()?;
                }
                let mut o = Output::new(rep.render(ex), serde_json::to_value(&rep)?);
                o.success = rep.passed;
                Ok(o)
            }
            LessonCmd::Hint { id, exercise } => {
                let les = lessons::find(&id)?;
                let ex = pick_exercise(&les, exercise.as_deref())?;
                let mut p = crate::course::Progress::load();
                let seen = p.lesson(&les.id).hints.entry(ex.id.clone()).or_insert(0);
                let i = (*seen).min(ex.hints.len().saturating_sub(1));
                *seen = (*seen + 1).min(ex.hints.len());
                let text = format!(
                    "hint {}/{} for {}: {}",
                    i + 1,
                    ex.hints.len(),
                    ex.id,
                    ex.hints.get(i).map(String::as_str).unwrap_or("no hints")
                );
                p.save()?;
                Ok(Output::new(
                    text,
                    json!({"exercise": ex.id, "hint": i + 1, "of": ex.hints.len()}),
                ))
            }
            LessonCmd::Reset { id, exercise } => {
                let les = lessons::find(&id)?;
                let ex = pick_exercise(&les, exercise.as_deref())?;
                let (path, backup) = crate::course::reset_exercise(&les, ex)?;
                Ok(Output::new(
                    crate::course::reset_note(&path, &backup),
                    json!({"file": path}),
                ))
            }
            LessonCmd::Solution { id, exercise } => {
                let les = lessons::find(&id)?;
                let ex = pick_exercise(&les, exercise.as_deref())?;
                let mut p = crate::course::Progress::load();
                if !p.lesson(&les.id).passed.contains(&ex.id) {
                    bail!(
                        "the solution of {} opens once your checks pass: `eclat-lab lesson check {} {}` (stuck? `lesson hint {} {}`)",
                        ex.id,
                        les.number,
                        ex.id,
                        les.number,
                        ex.id
                    );
                }
                let text = lessons::exercise_file(&les, "solution", &ex.file)
                    .unwrap_or("")
                    .to_string();
                Ok(Output::new(
                    text.clone(),
                    json!({"file": ex.file, "solution": text}),
                ))
            }
        }
    }

    fn compile(
        &self,
        script: &std::path::Path,
        emit: Option<&str>,
        define: &[String],
    ) -> Result<Output> {
        let defines = parse_defines(define)?;
        let src = std::fs::read_to_string(script)
            .with_context(|| format!("cannot read {}", script.display()))?;
        let name = script.display().to_string();
        crate::scripts::use_user_modules(self);
        let _ = crate::scripts::catalog(); // read the objects' BTF outside the timing
        let t0 = Instant::now();
        let c = crate::scripts::compile(&src, &name, &defines);
        let us = t0.elapsed().as_secs_f64() * 1e6;
        let color = std::env::var_os("NO_COLOR").is_none()
            && self.origin == Origin::Cli
            && std::io::IsTerminal::is_terminal(&std::io::stderr());
        let diags = c.render(&src, &name, color);
        let diag_json = serde_json::to_value(&c.diagnostics)?;
        let Some(p) = c
            .output
            .filter(|_| !c.diagnostics.iter().any(|d| d.is_error()))
        else {
            bail!("{}", diags.trim_end());
        };
        let mut text = String::new();
        if !diags.trim().is_empty() {
            text.push_str(diags.trim_end());
            text.push('\n');
        }
        match emit {
            Some("asm") => text.push_str(&p.emit_asm()),
            Some("c") => text.push_str(&p.emit_c()),
            Some(_) => {
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
            }
            None => {
                for ch in &p.chains {
                    text.push_str(&format!(
                        "chain {}: {} instruction slots\n",
                        ch.name,
                        ch.insns.len()
                    ));
                }
                text.push_str(&format!(
                    "compiled in {us:.0} us ({} map entries, {} attach requests)",
                    p.map_entries.len(),
                    p.attach.len()
                ));
            }
        }
        let chains: Vec<serde_json::Value> = p.chains.iter().map(|c| json!({"name": c.name, "insns": c.insns.len(), "bytecode": c.bytes().iter().map(|b| format!("{b:02x}")).collect::<String>()})).collect();
        Ok(Output::new(
            text.trim_end(),
            json!({"chains": chains, "diagnostics": diag_json, "map_entries": p.map_entries, "attach": p.attach, "compile_us": us}),
        ))
    }

    fn reset(&self) -> Result<Output> {
        let mut j = Journal::open(&self.env.state_dir).context("opening the lab's journal")?;
        let rep = cleanup::reset(&self.env, &mut j)?;
        // the HIKe instance went with the pins: its ID assignments start over
        let _ = std::fs::remove_file(self.env.state_dir.join("hike.json"));
        let mut text = if rep.removed.is_empty() {
            "nothing to remove: the lab has nothing in the kernel".to_string()
        } else {
            format!(
                "removed {} object(s) the lab had created:",
                rep.removed.len()
            )
        };
        for r in &rep.removed {
            text.push_str(&format!("\n  - {r}"));
        }
        for k in &rep.kept {
            text.push_str(&format!("\n  kept {k}"));
        }
        let mut o = Output::new(text, serde_json::to_value(&rep)?);
        o.success = rep.kept.is_empty();
        Ok(o)
    }

    /// Ends a REPL/TUI session: removes what it created (not what `eclat-lab` commands from a
    /// shell made).
    pub fn end(&self) -> Result<Option<String>> {
        if self.origin != Origin::Session || !doctor::privileged() {
            return Ok(None);
        }
        let mut j = Journal::open(&self.env.state_dir)?;
        let rep = cleanup::end_session(&self.env, &mut j)?;
        Ok((!rep.removed.is_empty()).then(|| {
            format!(
                "removed {} object(s) this session created",
                rep.removed.len()
            )
        }))
    }
}

/// A short name of a command for messages (`topo up`).
pub fn describe(cmd: &Cmd) -> String {
    let s = format!("{cmd:?}").to_lowercase();
    let words: Vec<&str> = s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(2)
        .collect();
    match cmd {
        Cmd::Topo(_) | Cmd::Xdp(_) | Cmd::Map(_) | Cmd::Lesson(_) => words.join(" "),
        _ => words.first().copied().unwrap_or("").to_string(),
    }
}

pub fn format_status(st: &topo::Status) -> String {
    let Some(name) = &st.topology else {
        return "no topology is up (start one with `eclat-lab topo up`)".into();
    };
    let mut s = format!("topology {name}\n");
    for n in &st.nodes {
        s.push_str(&format!(
            "{} (netns {}){}{}\n",
            n.node,
            n.netns,
            if n.forwarding { ", forwarding" } else { "" },
            if n.present { "" } else { "  MISSING" }
        ));
        for i in &n.interfaces {
            s.push_str(&format!(
                "  {:<9} {} {} -> {:<15} {}{}\n",
                i.dev,
                i.mac,
                if i.up { "up  " } else { "DOWN" },
                i.peer,
                i.addresses.join(" "),
                match (&i.xdp_prog, i.xdp_prog_id) {
                    (Some(p), Some(id)) => format!(
                        "  [xdp: {p}, id {id}, {}]",
                        i.xdp_mode.as_deref().unwrap_or("?")
                    ),
                    (None, Some(id)) => format!("  [xdp id {id}, not the lab's]"),
                    (Some(p), None) => format!("  [xdp: {p} pinned but not attached]"),
                    (None, None) => String::new(),
                }
            ));
        }
        for p in &n.problems {
            s.push_str(&format!("  problem: {p}\n"));
        }
    }
    s.trim_end().to_string()
}

/// `n` and the noun in the right number: "1 entry", "3 entries".
pub fn count_of(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn format_dump(d: &maps::Dump) -> String {
    let mut s = format!(
        "{} ({}, {}{})\n",
        d.map.name,
        d.map.map_type,
        count_of(d.rows.len(), "entry", "entries"),
        if d.map.per_cpu() {
            ", per-CPU values summed"
        } else {
            ""
        }
    );
    for r in &d.rows {
        s.push_str(&format!("  {:>8} : {}\n", r.key.to_string(), r.value));
    }
    s.trim_end().to_string()
}

fn prog_name(names: &std::collections::HashMap<u32, String>, v: &maps::Value) -> String {
    match v {
        maps::Value::Int(id) => names.get(&(*id as u32)).cloned().unwrap_or_else(|| {
            // e.g. the program instances of compiled chains in hvm_jit_map: the kernel's name
            match eclat_kernel::sys::prog_info_by_id(*id as u32) {
                Ok(Some(p)) => format!("{} (not pinned by the lab)", p.name),
                _ => "(not pinned by the lab)".into(),
            }
        }),
        _ => "?".into(),
    }
}

/// A program array: each filled slot with the program's name and kernel ID.
pub fn format_prog_array(d: &maps::Dump, names: &std::collections::HashMap<u32, String>) -> String {
    let mut s = format!(
        "{} (prog_array, {} of {} slots filled)\n",
        d.map.name,
        d.rows.len(),
        d.map.max_entries
    );
    for r in &d.rows {
        s.push_str(&format!(
            "  {:>8} : {} (program ID {})\n",
            r.key.to_string(),
            prog_name(names, &r.value),
            r.value
        ));
    }
    s.trim_end().to_string()
}

/// What `map clear` says: the map, how it was emptied, how many entries that took.
pub fn format_cleared(c: &maps::Cleared) -> String {
    let plural = count_of;
    let head = format!("cleared {} ({})", c.map.name, c.map.map_type);
    match c.method {
        maps::ClearMethod::Delete => {
            let mut s = if c.cleared == 0 && c.vanished == 0 {
                format!("{head}: it was already empty")
            } else {
                format!("{head}: deleted {}", plural(c.cleared, "entry", "entries"))
            };
            if c.vanished > 0 {
                s.push_str(&if c.vanished == 1 {
                    "; 1 other entry was gone before its turn (the program or the map's LRU \
                     removed it)"
                        .to_string()
                } else {
                    format!(
                        "; {} other entries were gone before their turn (the program or the \
                         map's LRU removed them)",
                        c.vanished
                    )
                });
            }
            s
        }
        maps::ClearMethod::Zero => {
            let total = c.map.max_entries as usize;
            let cpus = if c.map.per_cpu() { " on every CPU" } else { "" };
            if c.cleared == 0 {
                format!(
                    "{head}: every value was already 0 ({})",
                    plural(total, "entry", "entries")
                )
            } else {
                format!(
                    "{head}: zeroed {} of {}{cpus} (an array keeps its keys: the values are 0 again)",
                    c.cleared,
                    plural(total, "entry", "entries")
                )
            }
        }
    }
}

pub fn format_build(rep: &eclat_kernel::modules::BuildReport) -> String {
    let mut s = format!(
        "compiled {} -> {} in {:.0} ms\n",
        rep.source, rep.object, rep.clang_ms
    );
    if !rep.warnings.trim().is_empty() {
        s.push_str(rep.warnings.trim_end());
        s.push('\n');
    }
    if rep.programs.is_empty() {
        s.push_str(
            "the object holds no program (is `SEC(\"xdp\")` missing? In a HIKe module, \
             `EXPORT_HIKE_PROG(name)` writes it)\n",
        );
    }
    for p in &rep.programs {
        if p.accepted {
            s.push_str(&format!(
                "verifier: {} accepted in {:.1} ms ({} instructions after verification)\n",
                p.name,
                p.verify_ms,
                p.insns.map(|n| n.to_string()).unwrap_or_else(|| "?".into())
            ));
        } else {
            s.push_str(&format!("verifier: {} REJECTED\n", p.name));
            match &p.explanation {
                Some(e) => s.push_str(&format!("{}\n", e.render())),
                None => s.push_str(&format!("{}\n", p.log.as_deref().unwrap_or("(no log)"))),
            }
            if let Some(log) = &p.log {
                let tail: Vec<&str> = log.lines().rev().take(8).collect();
                s.push_str("  end of the verifier log:\n");
                for l in tail.into_iter().rev() {
                    s.push_str(&format!("    {l}\n"));
                }
            }
        }
    }
    s.trim_end().to_string()
}

/// `-D NAME=VALUE` arguments.
pub fn parse_defines(args: &[String]) -> Result<Vec<(String, String)>> {
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

fn pick_exercise<'a>(les: &'a lessons::Lesson, id: Option<&str>) -> Result<&'a lessons::Exercise> {
    match id {
        Some(i) => les.exercises.iter().find(|e| e.id == i).with_context(|| {
            format!(
                "lesson {} has no exercise `{i}` (it has: {})",
                les.number,
                les.exercises
                    .iter()
                    .map(|e| e.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }),
        None => {
            let progress = crate::course::Progress::load();
            let done = progress
                .lessons
                .get(&les.id)
                .map(|l| l.passed.clone())
                .unwrap_or_default();
            les.exercises
                .iter()
                .find(|e| !done.contains(&e.id))
                .or(les.exercises.first())
                .with_context(|| format!("lesson {} has no exercises", les.number))
        }
    }
}

/// Every Ethernet frame of a pcap file.
pub fn read_pcap(path: &std::path::Path) -> Result<Vec<Vec<u8>>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cleared(
        map_type: &str,
        max: u32,
        method: maps::ClearMethod,
        n: usize,
        gone: usize,
    ) -> maps::Cleared {
        maps::Cleared {
            map: maps::MapRef {
                name: "pkg/prog/m".into(),
                path: "/nonexistent".into(),
                map_type: map_type.into(),
                key_size: 4,
                value_size: 8,
                max_entries: max,
                id: 1,
            },
            method,
            cleared: n,
            vanished: gone,
        }
    }

    #[test]
    fn clear_says_how_many_entries_it_cleared() {
        use maps::ClearMethod::{Delete, Zero};
        assert_eq!(
            format_cleared(&cleared("lru_hash", 4096, Delete, 1, 0)),
            "cleared pkg/prog/m (lru_hash): deleted 1 entry"
        );
        assert_eq!(
            format_cleared(&cleared("hash", 64, Delete, 0, 0)),
            "cleared pkg/prog/m (hash): it was already empty"
        );
        assert_eq!(
            format_cleared(&cleared("hash", 64, Delete, 3, 2)),
            "cleared pkg/prog/m (hash): deleted 3 entries; 2 other entries were gone before \
             their turn (the program or the map's LRU removed them)"
        );
        assert_eq!(
            format_cleared(&cleared("percpu_array", 16, Zero, 2, 0)),
            "cleared pkg/prog/m (percpu_array): zeroed 2 of 16 entries on every CPU (an array \
             keeps its keys: the values are 0 again)"
        );
        assert_eq!(
            format_cleared(&cleared("array", 1, Zero, 0, 0)),
            "cleared pkg/prog/m (array): every value was already 0 (1 entry)"
        );
    }
}
