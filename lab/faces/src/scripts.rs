//! eCLAT scripts and HIKe modules in the lab: the catalog the compiler checks against (read
//! from the BTF of the embedded objects), `compile`, `load`/`unload` into the lab's HIKe
//! instance (program IDs and chain IDs allocated with reuse, re-load replaces chains
//! atomically), `test` on crafted packets in a scratch instance, `module load/list` and
//! `chain list/dis/trace`. The lab-wide assignment of IDs lives in `<state>/hike.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use eclat_kernel::hike::runtime::{self, Hike};
use eclat_kernel::{maps, objects};
use eclat_model::meta::{self, ObjectMeta};
use hike::catalog::Catalog;
use serde::{Deserialize, Serialize};

use crate::commands::Session;
use crate::lessons::MapDelta;

/// Objects whose programs and loaders eCLAT scripts can import.
fn importable(path: &str) -> bool {
    path.starts_with("programs/") || path.starts_with("loaders/")
}

/// Every importable embedded object with its metadata (parsed once).
pub fn embedded() -> &'static [(String, ObjectMeta)] {
    static ALL: OnceLock<Vec<(String, ObjectMeta)>> = OnceLock::new();
    ALL.get_or_init(|| {
        objects::list()
            .into_iter()
            .filter(|p| importable(p))
            .filter_map(|p| {
                let data = objects::get(&p)?;
                let m = meta::read(&runtime::package_of(&p), data).ok()?;
                Some((p, m))
            })
            .collect()
    })
}

/// The catalog of every importable program and loader, from the objects' BTF.
pub fn catalog() -> &'static Catalog {
    static CAT: OnceLock<Catalog> = OnceLock::new();
    CAT.get_or_init(|| {
        let mut c = Catalog::default();
        for (_, m) in embedded() {
            c.programs.extend(m.programs.iter().cloned());
            c.loaders.extend(m.loaders.iter().cloned());
            c.constants.extend(m.constants.iter().cloned());
        }
        c
    })
}

/// Learner-built HIKe modules loaded with `module load FILE`: (label `programs/<pkg>.o`,
/// metadata, object file). Read from the lab's state at the start of an operation.
static USER: std::sync::Mutex<Vec<&'static (String, ObjectMeta, PathBuf)>> =
    std::sync::Mutex::new(Vec::new());

fn user_modules() -> Vec<&'static (String, ObjectMeta, PathBuf)> {
    USER.lock().map(|u| u.clone()).unwrap_or_default()
}

/// Makes the modules recorded in the lab's state importable and loadable in this process.
pub fn use_user_modules(session: &Session) {
    let st = load_state(session);
    let mut u = match USER.lock() {
        Ok(u) => u,
        Err(p) => p.into_inner(),
    };
    for (pkg, file) in &st.modules {
        if u.iter().any(|(_, m, _)| &m.package == pkg) {
            continue;
        }
        if let Ok(data) = std::fs::read(file)
            && let Ok(m) = meta::read(pkg, &data)
        {
            u.push(Box::leak(Box::new((
                format!("programs/{pkg}.o"),
                m,
                PathBuf::from(file),
            ))));
        }
    }
}

pub fn compile(src: &str, file: &str, defines: &[(String, String)]) -> eclat::Compilation {
    let user = user_modules();
    if user.is_empty() {
        return eclat::compile(src, file, catalog(), defines);
    }
    let mut c = catalog().clone();
    for (_, m, _) in &user {
        c.programs.extend(m.programs.iter().cloned());
    }
    eclat::compile(src, file, &c, defines)
}

/// The embedded object of `programs.<package>` (`loader` false) or `loaders.<package>`.
fn object_of(package: &str, loader: bool) -> Result<&'static (String, ObjectMeta)> {
    let dir = if loader { "loaders/" } else { "programs/" };
    if !loader
        && let Some((label, m, _)) = user_modules()
            .into_iter()
            .find(|(_, m, _)| m.package == package)
    {
        let pair: &'static (String, ObjectMeta) = Box::leak(Box::new((label.clone(), m.clone())));
        return Ok(pair);
    }
    embedded()
        .iter()
        .find(|(p, m)| m.package == package && p.starts_with(dir))
        .with_context(|| {
            format!(
                "no HIKe package `{}{package}` (packages: {})",
                dir.replace('/', "."),
                packages().join(", ")
            )
        })
}

pub fn packages() -> Vec<String> {
    let mut v: Vec<String> = embedded()
        .iter()
        .map(|(p, m)| format!("{}.{}", p.split('/').next().unwrap_or(""), m.package))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Loads an embedded object into `hike` unless its programs are pinned already (loaded by
/// an earlier command).
fn ensure_object(hike: &mut Hike, path: &str, m: &ObjectMeta) -> Result<()> {
    let loaded = !m.xdp_programs.is_empty()
        && m.xdp_programs
            .iter()
            .all(|p| hike.prog_pin(&m.package, p).exists());
    if loaded {
        // a learner's module loaded by an earlier command: the chain compiler loads instances
        // of its programs from the same file (their code must match the pinned programs')
        if let Some((_, m, file)) = user_modules()
            .into_iter()
            .find(|(label, _, _)| label == path)
            && let Ok(data) = std::fs::read(file)
        {
            hike.add_object_source(&m.package, data);
        }
    } else {
        match user_modules()
            .into_iter()
            .find(|(label, _, _)| label == path)
        {
            Some((label, _, file)) => {
                let data =
                    std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
                hike.load_bytes(label, &data)
                    .with_context(|| format!("loading {}", file.display()))?;
            }
            None => {
                hike.load_embedded(path)
                    .with_context(|| format!("loading {path}"))?;
            }
        }
    }
    Ok(())
}

/// Compiles a script file, rendering diagnostics as an error when there is one.
pub fn compile_file(
    file: &Path,
    defines: &[(String, String)],
    color: bool,
) -> Result<(eclat::Program, String)> {
    let src =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.display().to_string();
    let c = compile(&src, &name, defines);
    let rendered = c.render(&src, &name, color);
    match c.output {
        Some(p) if !c.has_errors() => Ok((p, rendered)),
        _ => bail!("{}", rendered.trim_end()),
    }
}

/// Key and value layouts (from BTF) of a map pinned at `maps/<package>/.../<map>`.
pub fn layouts_of(
    map_path: &str,
) -> Option<(hike::catalog::TypeLayout, hike::catalog::TypeLayout)> {
    let mut parts = map_path.split('/');
    let package = parts.next()?;
    let map = map_path.rsplit('/').next()?;
    embedded()
        .iter()
        .filter(|(_, m)| m.package == package)
        .find_map(|(_, m)| m.map(map))
        .map(|sig| (sig.key.clone(), sig.value.clone()))
}

/// A map value is a set of counters (summed over CPUs) unless it holds times or addresses.
fn counters(layout: &hike::catalog::TypeLayout) -> bool {
    let timeish = |n: &str| {
        n.contains("ts") || n.contains("time") || n.contains("last") || n.contains("seen")
    };
    if layout.fields.is_empty() {
        return layout.size <= 8 && !timeish(&layout.name);
    }
    layout
        .fields
        .iter()
        .all(|f| f.int.is_some() && !timeish(&f.name))
}

/// `map dump` text, with keys and values decoded through BTF when the map is a HIKe map.
pub fn format_dump(d: &maps::Dump) -> String {
    let Some((kl, vl)) = layouts_of(&d.map.name) else {
        return crate::commands::format_dump(d);
    };
    let sum = counters(&vl);
    let mut s = format!(
        "{} ({}, {}; key {}, value {}{})\n",
        d.map.name,
        d.map.map_type,
        crate::commands::count_of(d.rows.len(), "entry", "entries"),
        kl.name,
        vl.name,
        if d.map.per_cpu() {
            if sum {
                ", per-CPU values summed"
            } else {
                ", one value per CPU"
            }
        } else {
            ""
        }
    );
    use eclat_model::display::format;
    for r in &d.rows {
        let k = format(&kl, &r.key_bytes);
        if d.map.per_cpu() && !sum {
            s.push_str(&format!("  {k}\n"));
            for (cpu, v) in r.per_cpu.iter().enumerate() {
                if v.iter().any(|b| *b != 0) {
                    s.push_str(&format!("      cpu{cpu}: {}\n", format(&vl, v)));
                }
            }
        } else {
            s.push_str(&format!("  {k} : {}\n", format(&vl, &r.value_bytes)));
        }
    }
    s.trim_end().to_string()
}

// ---- the lab's HIKe instance and its ID assignments -----------------------------------

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HikeState {
    /// `package.name` -> program ID (slot of `hvm_hprog_map`)
    #[serde(default)]
    pub programs: BTreeMap<String, u32>,
    /// script (canonical path) -> what it installed
    #[serde(default)]
    pub scripts: BTreeMap<String, ScriptState>,
    /// the previous version of a script being re-loaded, until it is removed
    #[serde(default)]
    pub replacing: BTreeMap<String, ScriptState>,
    /// programs registered by `module load` (kept when scripts are unloaded)
    #[serde(default)]
    pub manual: Vec<String>,
    /// learner-built modules: package -> object file
    #[serde(default)]
    pub modules: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScriptState {
    pub chains: Vec<(String, u32)>,
    /// `package.name` of every program its chains call
    #[serde(default)]
    pub programs: Vec<String>,
    pub entries: Vec<EntryState>,
    pub attach: Vec<AttachState>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EntryState {
    pub package: String,
    pub loader: String,
    pub map: String,
    pub key: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AttachState {
    pub package: String,
    pub loader: String,
    pub node: String,
    pub dev: String,
}

fn state_path(session: &Session) -> PathBuf {
    session.env.state_dir.join("hike.json")
}

pub fn load_state(session: &Session) -> HikeState {
    // the IDs only mean something while the lab's HIKe instance exists: after `reset` (or a
    // recovery that removed it) they start over
    if !session
        .env
        .bpffs_root
        .join("maps/system/hvm_chain_map")
        .exists()
    {
        let _ = std::fs::remove_file(state_path(session));
        return HikeState::default();
    }
    std::fs::read_to_string(state_path(session))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

/// What `load_state` would return, read without changing anything (for completion).
pub fn peek_state(env: &eclat_kernel::LabEnv) -> HikeState {
    if !env.bpffs_root.join("maps/system/hvm_chain_map").exists() {
        return HikeState::default();
    }
    std::fs::read_to_string(env.state_dir.join("hike.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

fn save_state(session: &Session, st: &HikeState) -> Result<()> {
    let p = state_path(session);
    let tmp = p.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(st)?)?;
    std::fs::rename(tmp, p)?;
    Ok(())
}

/// Does the lab's HIKe instance exist (the VM and the system maps pinned)?
fn hike_exists(session: &Session) -> bool {
    let root = &session.env.bpffs_root;
    root.join("maps/system/hvm_chain_map").exists()
        && root
            .join("progs/hike_vm")
            .join(runtime::VM_PROGRAM)
            .exists()
}

/// Opens the lab's HIKe instance only if it exists: read-only commands (`chain list/dis/
/// trace`, the TUI's trace panel) must never create one (nor race a session's cleanup).
fn existing_hike(session: &Session) -> Result<Hike> {
    if !hike_exists(session) {
        bail!("no HIKe chain is loaded yet (load a script: `eclat-lab load SCRIPT.eclat`)");
    }
    Hike::open(&session.env.bpffs_root).context("opening the lab's HIKe instance")
}

/// Opens (creating it if needed) the lab's HIKe instance under its bpffs root. Every pin
/// and directory it makes goes into `journal` as provisional before it exists; the command
/// confirms them with [`commit`] once it has finished, so a command killed half-way leaves
/// only recorded leftovers, which the next start removes.
fn open_hike(session: &Session, journal: eclat_kernel::journal::Journal) -> Result<Hike> {
    Hike::open_journaled(&session.env.bpffs_root, journal)
        .context("opening the lab's HIKe instance")
}

/// The lab's journal, held by its HIKe instance while a command runs.
fn journal_of(hike: &mut Hike) -> Result<&mut eclat_kernel::journal::Journal> {
    hike.journal()
        .context("the lab's HIKe instance was opened without its journal")
}

/// The command finished: what it created stays (for the session, or until `reset`).
fn commit(session: &Session, hike: &mut Hike) -> Result<()> {
    journal_of(hike)?.commit(session.life())?;
    Ok(())
}

/// Registers `package.name` (loading its object if needed) and returns its program ID,
/// reusing the one it has.
fn ensure_program(hike: &mut Hike, st: &mut HikeState, package: &str, name: &str) -> Result<u32> {
    let key = format!("{package}.{name}");
    let (path, m) = object_of(package, false)?;
    if !m.xdp_programs.iter().any(|p| p == name) {
        bail!(
            "package `{package}` has no program `{name}` (it has {})",
            m.xdp_programs.join(", ")
        );
    }
    ensure_object(hike, path, m)?;
    // loaded (again) by this command: its slot must hold this copy, whose maps are pinned
    let fresh = hike.object(path).is_some();
    let registered: Vec<u32> = hike.registered()?.into_iter().map(|(s, _)| s).collect();
    if let Some(&id) = st.programs.get(&key) {
        if registered.contains(&id) && !fresh {
            return Ok(id);
        }
        hike.register(id, package, name)?;
        return Ok(id);
    }
    let id = free_ids(hike, st)?.first().copied().with_context(|| {
        format!(
            "no free HIKe program ID for {key}: all {} are in use (`eclat-lab module list`)",
            hike::MAX_PROGRAMS - 1
        )
    })?;
    hike.register(id, package, name)?;
    st.programs.insert(key, id);
    Ok(id)
}

/// The free program IDs (1..255: slot 0 is the VM), lowest first: neither assigned in the
/// lab's state nor registered in `hvm_hprog_map`.
fn free_ids(hike: &Hike, st: &HikeState) -> Result<Vec<u32>> {
    let registered: Vec<u32> = hike.registered()?.into_iter().map(|(s, _)| s).collect();
    Ok((1..hike::MAX_PROGRAMS)
        .filter(|i| !registered.contains(i) && !st.programs.values().any(|v| v == i))
        .collect())
}

/// Checks, before anything is loaded or registered, that the programs `keys`
/// (`package.name`) that have no ID yet will find one: a load either gets all its IDs or
/// changes nothing.
fn ensure_free_ids(hike: &Hike, st: &HikeState, keys: &[String], what: &str) -> Result<()> {
    let new: Vec<&String> = keys
        .iter()
        .filter(|k| !st.programs.contains_key(*k))
        .collect();
    let free = free_ids(hike, st)?.len();
    if new.len() > free {
        bail!("{what}: {}", no_free_id(st, new.len(), free, new[0]));
    }
    Ok(())
}

/// The learner-facing message for a full program array: what happened, what to do.
fn no_free_id(st: &HikeState, needed: usize, free: usize, first: &str) -> String {
    let mine: Vec<&str> = st.modules.keys().map(String::as_str).collect();
    format!(
        "no free HIKe program ID: {needed} program(s) need a new one ({first}{}) and {free} of \
         the {} IDs are free (ID 0 is the VM). Nothing was loaded or registered.\nFree IDs with \
         `eclat-lab module unload PACKAGE`{} or `eclat-lab unload SCRIPT` and try again; \
         `eclat-lab module list` shows which program holds which ID",
        if needed > 1 { ", ..." } else { "" },
        hike::MAX_PROGRAMS - 1,
        if mine.is_empty() {
            String::new()
        } else {
            format!(" (your modules: {})", mine.join(", "))
        }
    )
}

/// Chain IDs in use by every loaded script.
fn used_chain_ids(st: &HikeState) -> Vec<u32> {
    st.scripts
        .values()
        .chain(st.replacing.values())
        .flat_map(|s| s.chains.iter().map(|(_, id)| *id))
        .collect()
}

fn alloc_chain_ids(st: &HikeState, n: usize, also_taken: &[u32]) -> Result<Vec<u32>> {
    let mut used = used_chain_ids(st);
    used.extend_from_slice(also_taken);
    let mut out = Vec::new();
    let mut id = hike::FIRST_CHAIN_ID;
    while out.len() < n {
        if id >= hike::FIRST_CHAIN_ID + hike::MAX_CHAINS * 2 {
            bail!(
                "no free chain ID: {} chains are stored (the map holds {})",
                used.len(),
                hike::MAX_CHAINS
            );
        }
        if !used.contains(&id) {
            out.push(id);
        }
        id += 1;
    }
    Ok(out)
}

/// Resolves the device of `attach('DEV', ...)`: `node:dev`, or a bare name found on exactly
/// one node (sut first, where the original lab attached its loaders).
fn resolve_device(session: &Session, dev: &str) -> Result<(String, String)> {
    if let Some((n, d)) = dev.split_once(':') {
        eclat_kernel::nodes::resolve_dev(&session.env, n, d)?;
        return Ok((n.to_string(), d.to_string()));
    }
    let t = eclat_kernel::nodes::current(&session.env)?
        .context("attach needs the topology: run `topo up` first")?;
    let mut hits: Vec<String> = t
        .links
        .iter()
        .flat_map(|l| [&l.a, &l.b])
        .filter(|e| e.dev == dev)
        .map(|e| e.node.clone())
        .collect();
    hits.sort_by_key(|n| (n != "sut", n.clone()));
    match hits.first() {
        Some(n) => Ok((n.clone(), dev.to_string())),
        None => bail!(
            "no node of topology {} has an interface `{dev}` (write NODE:DEV, e.g. sut:enp6s0f0)",
            t.name
        ),
    }
}

/// A canonical key for a script file.
fn script_key(file: &Path) -> String {
    std::fs::canonicalize(file)
        .unwrap_or_else(|_| file.to_path_buf())
        .display()
        .to_string()
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub script: String,
    pub chains: Vec<(String, u32)>,
    pub programs: Vec<(String, u32)>,
    pub entries: usize,
    pub attached: Vec<String>,
    pub replaced: bool,
    pub warnings: String,
    pub elapsed_ms: f64,
    /// how each chain runs: compiled, or interpreted and why (by chain name)
    pub tiers: Vec<(String, eclat_kernel::hike::tier::Tier)>,
}

/// `load SCRIPT`: compile, register programs, store chains, write loader entries, attach.
pub fn load(session: &Session, file: &Path, defines: &[(String, String)]) -> Result<LoadReport> {
    let t0 = Instant::now();
    use_user_modules(session);
    let (prog, warnings) = compile_file(file, defines, false)?;
    let (j, _) = session.journal()?;
    let mut st = load_state(session);
    let key = script_key(file);
    let old = st.scripts.get(&key).cloned();
    let mut hike = open_hike(session, j)?;
    reconcile(&mut hike, &st)?;
    // every program the script calls gets an ID, or nothing is loaded at all
    let keys: Vec<String> = prog
        .programs
        .iter()
        .map(|(p, n)| format!("{p}.{n}"))
        .collect();
    ensure_free_ids(
        &hike,
        &st,
        &keys,
        &format!("cannot load {}", file.display()),
    )?;
    let mut ids = BTreeMap::new();
    for (pkg, name) in &prog.programs {
        ids.insert(
            (pkg.clone(), name.clone()),
            ensure_program(&mut hike, &mut st, pkg, name)?,
        );
    }
    eclat_kernel::crash_point("load:programs-registered");
    // loaders used by entries or attach requests must be loaded too
    for (pkg, _) in prog
        .map_entries
        .iter()
        .map(|e| (&e.package, &e.loader))
        .chain(prog.attach.iter().map(|a| (&a.package, &a.loader)))
    {
        let (path, m) = object_of(pkg, true)?;
        ensure_object(&mut hike, path, m)?;
    }
    // new chains go under fresh IDs, so packets in flight never see half a script
    let taken: Vec<u32> = old
        .as_ref()
        .map(|o| o.chains.iter().map(|(_, id)| *id).collect())
        .unwrap_or_default();
    let chain_ids = alloc_chain_ids(&st, prog.chains.len(), &taken)?;
    let linked = prog.link(&chain_ids, &|p, n| {
        ids.get(&(p.to_string(), n.to_string())).copied()
    })?;
    // Record the intent before touching the kernel: the new chains are owned from now on
    // (a crash cannot leak their IDs) and the old version stays recorded until it is gone.
    let chains: Vec<(String, u32)> = linked
        .chains
        .iter()
        .map(|c| (c.name.clone(), c.id))
        .collect();
    let entries: Vec<EntryState> = linked
        .map_entries
        .iter()
        .map(|e| EntryState {
            package: e.package.clone(),
            loader: e.loader.clone(),
            map: e.map.clone(),
            key: e.key.clone(),
        })
        .collect();
    let mut attach = Vec::new();
    for a in &linked.attach {
        let (node, dev) = resolve_device(session, &a.device)?;
        attach.push(AttachState {
            package: a.package.clone(),
            loader: a.loader.clone(),
            node,
            dev,
        });
    }
    if let Some(o) = &old {
        // a load that crashed half-way left its predecessor here: that one goes first
        if let Some(stale) = st.replacing.remove(&key) {
            remove_version(session, &mut hike, &stale, &o.chains, &o.entries)?;
        }
        st.replacing.insert(key.clone(), o.clone());
    }
    st.scripts.insert(
        key.clone(),
        ScriptState {
            chains: chains.clone(),
            programs: ids.keys().map(|(p, n)| format!("{p}.{n}")).collect(),
            entries: entries.clone(),
            attach: attach.clone(),
        },
    );
    save_state(session, &st)?;

    for (i, c) in linked.chains.iter().enumerate() {
        if let Err(e) = hike.store_chain(c.id, &c.insns) {
            // nothing points at the new chains yet: take them back and keep the old version
            for done in &linked.chains[..i] {
                let _ = hike.delete_chain(done.id);
            }
            match &old {
                Some(o) => {
                    st.scripts.insert(key.clone(), o.clone());
                    st.replacing.remove(&key);
                }
                None => {
                    st.scripts.remove(&key);
                }
            }
            save_state(session, &st)?;
            return Err(anyhow::Error::new(e).context(format!(
                "storing chain {} ({:#x}); nothing changed{}",
                c.name,
                c.id,
                if old.is_some() {
                    ": the loaded version stays"
                } else {
                    ""
                }
            )));
        }
        eclat_kernel::crash_point("load:chain-stored");
    }
    for e in &linked.map_entries {
        let (_, m) = object_of(&e.package, true)?;
        let pin = runtime::map_pin_path(&session.env.bpffs_root, m, &e.map);
        let md = aya::maps::MapData::from_pin(&pin)
            .map_err(|err| anyhow::anyhow!("loader map {}: {err}", pin.display()))?;
        eclat_kernel::sys::update(std::os::fd::AsFd::as_fd(md.fd()), &e.key, &e.value)
            .with_context(|| format!("writing {}[{:?}]", e.map, e.key))?;
    }
    eclat_kernel::crash_point("load:entries-written");
    let mut attached = Vec::new();
    for a in &attach {
        let (node, dev) = (&a.node, &a.dev);
        let already = eclat_kernel::xdp::attachments(&session.env)
            .iter()
            .any(|x| &x.node == node && &x.dev == dev && x.program == a.loader);
        if !already {
            let (_, ns) = eclat_kernel::nodes::resolve_dev(&session.env, node, dev)?;
            let nsfd = eclat_kernel::netns::open(&ns)?;
            let ifindex = eclat_kernel::netns::in_netns(&nsfd, || {
                nix::net::if_::if_nametoindex(dev.as_str())
            })?
            .with_context(|| format!("no interface {dev} in {node}"))?;
            // the lab's other attachment on that interface (e.g. xdp_counter) gives way
            let _ = eclat_kernel::xdp::detach(&session.env, journal_of(&mut hike)?, node, dev);
            hike.attach(
                &a.package,
                &a.loader,
                ifindex,
                Some(std::os::fd::AsFd::as_fd(&nsfd)),
                &format!("{node}/{dev}"),
            )?;
        }
        attached.push(format!(
            "{}.{} on {node}:{dev}{}",
            a.package,
            a.loader,
            if already { " (already attached)" } else { "" }
        ));
    }
    eclat_kernel::crash_point("load:attached");
    // now that the loaders point at the new chains, the old ones can go
    if let Some(o) = st.replacing.remove(&key) {
        remove_version(session, &mut hike, &o, &chains, &entries)?;
    }
    save_state(session, &st)?;
    commit(session, &mut hike)?;
    let tiers = chains
        .iter()
        .filter_map(|(n, id)| hike.tier(*id).map(|t| (n.clone(), t.clone())))
        .collect();
    Ok(LoadReport {
        script: key,
        tiers,
        chains,
        programs: ids
            .iter()
            .map(|((p, n), id)| (format!("{p}.{n}"), *id))
            .collect(),
        entries: linked.map_entries.len(),
        attached,
        replaced: old.is_some(),
        warnings,
        elapsed_ms: t0.elapsed().as_secs_f64() * 1000.0,
    })
}

/// Deletes the chains and loader entries of an old version of a script that the new one
/// (`keep_chains`, `keep_entries`) does not use.
fn remove_version(
    session: &Session,
    hike: &mut Hike,
    old: &ScriptState,
    keep_chains: &[(String, u32)],
    keep_entries: &[EntryState],
) -> Result<()> {
    for (_, id) in &old.chains {
        if !keep_chains.iter().any(|(_, k)| k == id) {
            let _ = hike.delete_chain(*id);
        }
    }
    for e in &old.entries {
        if !keep_entries.contains(e) {
            let (_, m) = object_of(&e.package, true)?;
            let pin = runtime::map_pin_path(&session.env.bpffs_root, m, &e.map);
            if let Ok(md) = aya::maps::MapData::from_pin(&pin) {
                let fd = std::os::fd::AsFd::as_fd(md.fd());
                // an ARRAY element cannot be deleted: zero it (chain ID 0 = no chain)
                if eclat_kernel::sys::delete(fd, &e.key).is_err() {
                    let size = md.info().map(|i| i.value_size()).unwrap_or(4) as usize;
                    let _ = eclat_kernel::sys::update(fd, &e.key, &vec![0u8; size]);
                }
            }
        }
    }
    Ok(())
}

/// `map clear` refuses the maps whose content the lab itself manages for loaded scripts
/// (by path, below the lab's root): the HIKe VM's chain store and configuration, and the
/// loader maps where `load` wrote a script's entry points. Emptying them would leave the
/// loaded scripts silently without their chains; `unload` is the way to remove those.
pub fn clear_guard(session: &Session, m: &maps::MapRef) -> Result<()> {
    let system = session.env.bpffs_root.join("maps/system");
    if m.path == system.join("hvm_chain_map") {
        bail!(
            "cannot clear `{}`: it is the HIKe VM's chain store, the bytecode of the loaded \
             scripts, not data a program collects; `eclat-lab unload SCRIPT` removes a \
             script's chains (`chain list` shows which script owns which)",
            m.name
        );
    }
    if m.path == system.join("hvm_config") {
        bail!(
            "cannot clear `{}`: it is the HIKe VM's configuration (the trace switch, the \
             chain store's epoch), not data a program collects",
            m.name
        );
    }
    let st = load_state(session);
    for (script, sc) in &st.scripts {
        for e in &sc.entries {
            let Ok((_, meta)) = object_of(&e.package, true) else {
                continue;
            };
            if runtime::map_pin_path(&session.env.bpffs_root, meta, &e.map) == m.path {
                bail!(
                    "cannot clear `{}`: it holds the entry points that `load` wrote for \
                     {script}, and its loader would find no chain to run; `eclat-lab unload \
                     {script}` removes them (and a new `load` writes them again)",
                    m.name
                );
            }
        }
    }
    Ok(())
}

/// Brings the kernel back in line with the lab's state after a command was killed:
/// - deletes stored chains that no loaded script owns (a load killed between storing its
///   chains and recording them);
/// - empties program slots that no entry of the state owns (a load killed between
///   registering programs and recording them), and slots whose program's pin is gone (the
///   next start removed the pins of a load that did not finish: the ID stays assigned and
///   the next load that needs it loads and registers the program again).
///
/// The chain map and the program array are the lab's own (below its root).
fn reconcile(hike: &mut Hike, st: &HikeState) -> Result<usize> {
    let owned = used_chain_ids(st);
    let mut n = 0;
    for c in hike.chains()? {
        if !owned.contains(&c.id) && hike.delete_chain(c.id)? {
            n += 1;
        }
    }
    for (slot, _) in hike.registered()? {
        if slot == runtime::VM_PROG_ID {
            continue;
        }
        let owner = st.programs.iter().find(|(_, id)| **id == slot);
        let pinned = owner.is_some_and(|(key, _)| {
            key.split_once('.')
                .is_some_and(|(pkg, name)| hike.prog_pin(pkg, name).exists())
        });
        if !pinned {
            hike.unregister(slot)?;
            n += 1;
        }
    }
    Ok(n)
}

/// `unload SCRIPT`: detach its loaders (unless another script uses them), delete its chains
/// and loader entries, free its IDs.
pub fn unload(session: &Session, file: &Path) -> Result<String> {
    let (j, _) = session.journal()?;
    let mut st = load_state(session);
    let key = script_key(file);
    let Some(s) = st.scripts.remove(&key) else {
        bail!(
            "{} is not loaded (loaded scripts: {})",
            file.display(),
            st.scripts.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    };
    let mut hike = open_hike(session, j)?;
    if let Some(stale) = st.replacing.remove(&key) {
        remove_version(session, &mut hike, &stale, &[], &[])?;
    }
    remove_version(session, &mut hike, &s, &[], &[])?;
    let mut detached = Vec::new();
    for a in &s.attach {
        let shared = st.scripts.values().any(|o| o.attach.contains(a));
        if !shared {
            let _ =
                eclat_kernel::xdp::detach(&session.env, journal_of(&mut hike)?, &a.node, &a.dev);
            detached.push(format!(
                "{}.{} from {}:{}",
                a.package, a.loader, a.node, a.dev
            ));
        }
    }
    // program IDs no other script calls (and not registered by hand) are freed for reuse
    let mut freed = Vec::new();
    for p in &s.programs {
        let used = st.scripts.values().any(|o| o.programs.contains(p)) || st.manual.contains(p);
        if !used && let Some(id) = st.programs.remove(p) {
            hike.unregister(id)?;
            freed.push(format!("{p}={id}"));
        }
    }
    save_state(session, &st)?;
    Ok(format!(
        "unloaded {}: deleted {} chain(s), {} loader entr{}{}{}",
        file.display(),
        s.chains.len(),
        s.entries.len(),
        if s.entries.len() == 1 { "y" } else { "ies" },
        if freed.is_empty() {
            String::new()
        } else {
            format!(", freed program IDs {}", freed.join(" "))
        },
        if detached.is_empty() {
            String::new()
        } else {
            format!(", detached {}", detached.join(", "))
        }
    ))
}

// ---- test: crafted packets through a script in a scratch instance ----------------------

#[derive(Debug, Clone, Serialize)]
pub struct MapChange {
    pub map: String,
    pub key: String,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PacketResult {
    pub packet: String,
    pub verdict: String,
    pub trace: Vec<String>,
    pub map_changes: Vec<MapChange>,
    pub duration_ns: u64,
}

/// Runs the script's loader on each packet in a fresh HIKe instance (pins under the lab's
/// root, removed afterwards): no topology, nothing attached.
pub fn test(
    session: &Session,
    file: &Path,
    defines: &[(String, String)],
    packets: &[(String, Vec<u8>)],
) -> Result<Vec<PacketResult>> {
    use_user_modules(session);
    let (prog, _) = compile_file(file, defines, false)?;
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    // recorded in the journal before it exists, removed with everything in it when dropped
    // (after `hike`, declared below)
    let guard = eclat_kernel::bpffs::Scratch::create(
        &session.env,
        &format!(
            "test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ),
    )
    .context("creating a scratch HIKe instance")?;
    let scratch = guard.path().to_path_buf();
    let mut hike = Hike::open(&scratch).context("starting a scratch HIKe instance")?;
    let mut st = HikeState::default();
    let mut ids = BTreeMap::new();
    for (pkg, name) in &prog.programs {
        ids.insert(
            (pkg.clone(), name.clone()),
            ensure_program(&mut hike, &mut st, pkg, name)?,
        );
    }
    let loaders: Vec<(String, String)> = prog
        .map_entries
        .iter()
        .map(|e| (e.package.clone(), e.loader.clone()))
        .chain(
            prog.attach
                .iter()
                .map(|a| (a.package.clone(), a.loader.clone())),
        )
        .collect();
    let (lpkg, lname) = loaders.first().cloned().context("the script configures no loader: nothing would run its chains (add e.g. `ip6_simple_classifier[ipv6_simple_classifier_map] = { (0): (mychain) }`)")?;
    for (pkg, _) in &loaders {
        let (path, m) = object_of(pkg, true)?;
        ensure_object(&mut hike, path, m)?;
    }
    eclat_kernel::crash_point("test:scratch-loaded");
    let chain_ids: Vec<u32> = (0..prog.chains.len() as u32)
        .map(|i| hike::FIRST_CHAIN_ID + i)
        .collect();
    let linked = prog.link(&chain_ids, &|p, n| {
        ids.get(&(p.to_string(), n.to_string())).copied()
    })?;
    for c in &linked.chains {
        hike.store_chain(c.id, &c.insns)?;
    }
    for e in &linked.map_entries {
        hike.map_update(&e.package, &e.map, &e.key, &e.value)?;
    }
    hike.set_trace(true)?;
    let mut trace = hike.trace_reader()?;
    let names: BTreeMap<u32, String> = ids
        .iter()
        .map(|((_, n), id)| (*id, n.clone()))
        .chain(linked.chains.iter().map(|c| (c.id, c.name.clone())))
        .collect();
    // every map of the loaded objects, for before/after
    let map_refs: Vec<maps::MapRef> = {
        let mut found = Vec::new();
        eclat_kernel::bpffs::walk(&scratch.join("maps"), &mut found);
        found
            .into_iter()
            .filter(|(p, d)| !d && !p.to_string_lossy().contains("/system/"))
            .filter_map(|(p, _)| maps::map_ref(&p, &scratch.join("maps")).ok())
            .filter(|m| m.map_type != "ringbuf" && m.map_type != "prog_array")
            .collect()
    };
    let snapshot = |refs: &[maps::MapRef]| -> Vec<maps::Dump> {
        refs.iter()
            .filter_map(|m| maps::dump(m, 4096).ok())
            .collect()
    };
    let mut out = Vec::new();
    for (label, pkt) in packets {
        let before = snapshot(&map_refs);
        let r = hike.test_run(&lpkg, &lname, pkt, 1)?;
        let after = snapshot(&map_refs);
        let events = trace.drain();
        let trace_lines = events
            .iter()
            .map(|e| name_ids(&e.to_string(), &names))
            .collect();
        let mut changes = Vec::new();
        for a in &after {
            let b = before.iter().find(|b| b.map.name == a.map.name);
            for row in &a.rows {
                let old = b.and_then(|b| b.rows.iter().find(|r| r.key_bytes == row.key_bytes));
                if old
                    .map(|o| o.value_bytes != row.value_bytes)
                    .unwrap_or(true)
                {
                    let lay = layouts_of(&a.map.name);
                    let show_k = |b: &[u8], fallback: String| {
                        lay.as_ref()
                            .map(|(k, _)| eclat_model::display::format(k, b))
                            .unwrap_or(fallback)
                    };
                    let show_v = |b: &[u8], fallback: String| match &lay {
                        Some((_, v)) if !a.map.per_cpu() || counters(v) => {
                            eclat_model::display::format(v, b)
                        }
                        _ => fallback,
                    };
                    changes.push(MapChange {
                        map: a.map.name.clone(),
                        key: show_k(&row.key_bytes, row.key.to_string()),
                        before: old
                            .map(|o| show_v(&o.value_bytes, o.value.to_string()))
                            .unwrap_or_else(|| "(absent)".into()),
                        after: show_v(&row.value_bytes, row.value.to_string()),
                    });
                }
            }
        }
        let verdict = hike::XdpAction::from_u32(r.verdict)
            .map(|a| a.to_string())
            .unwrap_or_else(|| r.verdict.to_string());
        out.push(PacketResult {
            packet: label.clone(),
            verdict,
            trace: trace_lines,
            map_changes: changes,
            duration_ns: r.duration.as_nanos() as u64,
        });
    }
    Ok(out)
}

/// Replaces `prog 7` / `chain 0x40000001` in a trace line by names.
fn name_ids(line: &str, names: &BTreeMap<u32, String>) -> String {
    let mut s = line.to_string();
    for (id, n) in names {
        if hike::is_chain_id(*id) {
            s = s.replace(&format!("chain {id:#x}"), &format!("chain {n} ({id:#x})"));
        } else {
            s = s.replace(&format!("prog {id} "), &format!("{n}[{id}] "));
        }
    }
    s
}

pub fn format_test(results: &[PacketResult]) -> String {
    let mut s = String::new();
    for (i, r) in results.iter().enumerate() {
        s.push_str(&format!(
            "packet {} `{}`: {}  ({} ns)\n",
            i + 1,
            r.packet,
            r.verdict,
            r.duration_ns
        ));
        for t in &r.trace {
            s.push_str(&format!("    {t}\n"));
        }
        for c in &r.map_changes {
            s.push_str(&format!(
                "    map {}[{}]: {} -> {}\n",
                c.map, c.key, c.before, c.after
            ));
        }
    }
    s.trim_end().to_string()
}

/// A lesson check on an eCLAT script: `(passed, expected, seen)`.
pub fn check_verdict(
    session: &Session,
    file: &Path,
    frame: &[u8],
    want: hike::XdpAction,
    deltas: &[MapDelta],
) -> Result<(bool, String, String)> {
    let res = match test(
        session,
        file,
        &[],
        &[
            ("check".into(), frame.to_vec()),
            ("check".into(), frame.to_vec()),
        ],
    ) {
        Ok(r) => r,
        Err(e) => return Ok((false, want.to_string(), format!("{e:#}"))),
    };
    if res[0].verdict != want.to_string() {
        let why = res[0]
            .trace
            .iter()
            .find(|t| t.contains("ABORTED"))
            .cloned()
            .unwrap_or_default();
        return Ok((
            false,
            want.to_string(),
            format!(
                "{}{}",
                res[0].verdict,
                if why.is_empty() {
                    String::new()
                } else {
                    format!(" ({why})")
                }
            ),
        ));
    }
    for d in deltas {
        let c = res[1].map_changes.iter().find(|c| {
            (c.map == d.map || c.map.ends_with(&format!("/{}", d.map))) && c.key == d.key
        });
        let delta = c
            .map(|c| c.after.parse::<i128>().unwrap_or(0) - c.before.parse::<i128>().unwrap_or(0))
            .unwrap_or(0);
        if delta != d.delta as i128 {
            return Ok((
                false,
                format!("{}[{}] {:+} per packet", d.map, d.key, d.delta),
                format!("{delta:+}"),
            ));
        }
    }
    Ok((true, want.to_string(), want.to_string()))
}

// ---- modules and chains of the lab instance ---------------------------------------------

/// `module load PKG.NAME`: registers a prebuilt program; returns its ID.
pub fn module_load(session: &Session, spec: &str) -> Result<String> {
    if spec.ends_with(".c") || spec.ends_with(".o") {
        return module_load_file(session, Path::new(spec));
    }
    use_user_modules(session);
    let spec = spec.strip_prefix("programs.").unwrap_or(spec);
    let (pkg, name) = spec.split_once('.').with_context(|| {
        format!(
            "write PACKAGE.PROGRAM, e.g. hike_default.monitor (packages: {})",
            packages().join(", ")
        )
    })?;
    let (j, _) = session.journal()?;
    let mut st = load_state(session);
    let t0 = Instant::now();
    let mut hike = open_hike(session, j)?;
    reconcile(&mut hike, &st)?;
    let key = format!("{pkg}.{name}");
    ensure_free_ids(
        &hike,
        &st,
        std::slice::from_ref(&key),
        &format!("cannot load {key}"),
    )?;
    let id = ensure_program(&mut hike, &mut st, pkg, name)?;
    if !st.manual.contains(&key) {
        st.manual.push(key);
    }
    save_state(session, &st)?;
    commit(session, &mut hike)?;
    let loads: Vec<String> = hike
        .loads()
        .iter()
        .map(|l| {
            format!(
                "{}.{} verified in {:.1} ms",
                l.package,
                l.name,
                l.load_ns as f64 / 1e6
            )
        })
        .collect();
    Ok(format!(
        "{pkg}.{name} is program ID {id}{}",
        if loads.is_empty() {
            " (already loaded)".to_string()
        } else {
            format!(
                " ({}; {:.0} ms in all)",
                loads.join(", "),
                t0.elapsed().as_secs_f64() * 1000.0
            )
        }
    ))
}

/// `module load FILE.bpf.c|FILE.o`: builds (clang, verifier) a learner's module, loads it into
/// the lab's HIKe instance and registers every HIKe program in it. Its package is the file
/// stem: `amp_filter.bpf.c` is imported with `from programs.amp_filter import ...`.
fn module_load_file(session: &Session, file: &Path) -> Result<String> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("module");
    let package = name
        .trim_end_matches(".o")
        .trim_end_matches(".c")
        .trim_end_matches(".bpf")
        .to_string();
    if embedded().iter().any(|(_, m)| m.package == package) {
        bail!(
            "`{package}` is the name of a prebuilt package: rename {}",
            file.display()
        );
    }
    let object = if name.ends_with(".c") {
        let rep = eclat_kernel::modules::build(file, &session.env.state_dir.join("include"))?;
        if !rep.accepted() {
            bail!("{}", crate::commands::format_build(&rep));
        }
        PathBuf::from(rep.object)
    } else {
        file.to_path_buf()
    };
    let object = std::fs::canonicalize(&object).unwrap_or(object);
    let data = std::fs::read(&object).with_context(|| format!("reading {}", object.display()))?;
    let m =
        meta::read(&package, &data).map_err(|e| anyhow::anyhow!("{}: {e}", object.display()))?;
    if m.programs.is_empty() {
        bail!(
            "{} exports no HIKe program: mark it with EXPORT_HIKE_PROG(name) (see lesson 7)",
            object.display()
        );
    }
    let (j, _) = session.journal()?;
    let t0 = Instant::now();
    let mut st = load_state(session);
    let mut hike = open_hike(session, j)?;
    reconcile(&mut hike, &st)?;
    // every program of the module gets an ID, or nothing is loaded at all
    let keys: Vec<String> = m
        .programs
        .iter()
        .map(|p| format!("{package}.{}", p.name))
        .collect();
    ensure_free_ids(
        &hike,
        &st,
        &keys,
        &format!("cannot load {}", object.display()),
    )?;
    // a rebuilt module replaces the loaded one: unload it and load the new object
    let label = format!("programs/{package}.o");
    for p in &m.xdp_programs {
        let pin = hike.prog_pin(&package, p);
        let _ = std::fs::remove_file(pin);
    }
    hike.load_bytes(&label, &data)
        .with_context(|| format!("loading {}", object.display()))?;
    eclat_kernel::crash_point("module-load:loaded");
    st.modules
        .insert(package.clone(), object.display().to_string());
    save_state(session, &st)?;
    {
        let mut u = match USER.lock() {
            Ok(u) => u,
            Err(p) => p.into_inner(),
        };
        u.retain(|(_, um, _)| um.package != package);
        u.push(Box::leak(Box::new((label, m.clone(), object.clone()))));
    }
    let mut ids = Vec::new();
    for p in &m.programs {
        let key = format!("{package}.{}", p.name);
        let id = match st.programs.get(&key) {
            Some(&id) => {
                hike.register(id, &package, &p.name)?;
                id
            }
            None => ensure_program(&mut hike, &mut st, &package, &p.name)?,
        };
        if !st.manual.contains(&key) {
            st.manual.push(key.clone());
        }
        ids.push(format!("{key} = program ID {id}"));
    }
    eclat_kernel::crash_point("module-load:registered");
    save_state(session, &st)?;
    commit(session, &mut hike)?;
    Ok(format!(
        "loaded {} in {:.0} ms: {}\nimport it with: from programs.{package} import {}",
        object.display(),
        t0.elapsed().as_secs_f64() * 1000.0,
        ids.join(", "),
        m.programs
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// `module unload PKG.NAME|PKG|FILE`: unregisters programs registered with `module load`
/// and frees their IDs; for a learner's module, its pins and maps go too and it is no longer
/// importable. Refused (nothing changes) while a loaded script calls one of them.
pub fn module_unload(session: &Session, spec: &str) -> Result<String> {
    use_user_modules(session);
    let spec = spec.strip_prefix("programs.").unwrap_or(spec);
    let spec = if spec.ends_with(".c") || spec.ends_with(".o") {
        Path::new(spec)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(spec)
            .trim_end_matches(".o")
            .trim_end_matches(".c")
            .trim_end_matches(".bpf")
    } else {
        spec
    };
    let (package, program) = match spec.split_once('.') {
        Some((p, n)) => (p, Some(n)),
        None => (spec, None),
    };
    let (j, _) = session.journal()?;
    let mut st = load_state(session);
    let keys: Vec<String> = st
        .programs
        .keys()
        .filter(|k| match program {
            Some(n) => **k == format!("{package}.{n}"),
            None => k.split_once('.').is_some_and(|(p, _)| p == package),
        })
        .cloned()
        .collect();
    let learner = program.is_none() && st.modules.contains_key(package);
    if keys.is_empty() && !learner {
        // packages with their number of registered programs
        let mut loaded: BTreeMap<&str, usize> = BTreeMap::new();
        for k in st.programs.keys() {
            *loaded.entry(k.split('.').next().unwrap_or(k)).or_default() += 1;
        }
        bail!(
            "nothing named `{spec}` is loaded (registered: {}); write PACKAGE or PACKAGE.PROGRAM",
            if loaded.is_empty() {
                "nothing".to_string()
            } else {
                loaded
                    .iter()
                    .map(|(p, n)| format!("{p} ({n} program{})", if *n == 1 { "" } else { "s" }))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    }
    let scripts = st.scripts.iter().chain(st.replacing.iter());
    for (script, s) in scripts {
        if let Some(k) = keys.iter().find(|k| s.programs.contains(k)) {
            bail!("{script} calls {k}: `eclat-lab unload {script}` first; nothing was unloaded");
        }
    }
    let mut hike = open_hike(session, j)?;
    let mut freed = Vec::new();
    for k in &keys {
        if let Some(id) = st.programs.remove(k) {
            hike.unregister(id)?;
            freed.push((k.clone(), id));
        }
        st.manual.retain(|m| m != k);
    }
    let mut unpinned = 0;
    if learner {
        let label = format!("programs/{package}.o");
        let meta = user_modules()
            .into_iter()
            .find(|(l, _, _)| *l == label)
            .map(|(_, m, _)| m.clone());
        if let Some(m) = meta {
            unpinned = hike.unpin_object(&label, &m)?;
        }
        st.modules.remove(package);
        let mut u = match USER.lock() {
            Ok(u) => u,
            Err(p) => p.into_inner(),
        };
        u.retain(|(l, _, _)| *l != label);
    }
    save_state(session, &st)?;
    commit(session, &mut hike)?;
    Ok(format!(
        "unloaded {spec}: {}{}",
        if freed.is_empty() {
            "no program ID was assigned".to_string()
        } else {
            format_freed(&mut freed)
        },
        if unpinned > 0 {
            format!("; removed {unpinned} pin(s) of its programs and maps")
        } else {
            String::new()
        }
    ))
}

/// `freed program IDs a.x=3 a.y=4`, or for many, `freed 250 program IDs: 1-250`.
fn format_freed(freed: &mut [(String, u32)]) -> String {
    if freed.len() <= 8 {
        let v: Vec<String> = freed.iter().map(|(k, id)| format!("{k}={id}")).collect();
        return format!("freed program IDs {}", v.join(" "));
    }
    freed.sort_by_key(|(_, id)| *id);
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for (_, id) in freed.iter() {
        match ranges.last_mut() {
            Some((_, hi)) if *hi + 1 == *id => *hi = *id,
            _ => ranges.push((*id, *id)),
        }
    }
    let r: Vec<String> = ranges
        .iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    format!("freed {} program IDs: {}", freed.len(), r.join(", "))
}

/// `module list`: every importable program with its signature and, if registered, its ID.
pub fn module_list(session: &Session) -> (String, serde_json::Value) {
    let st = load_state(session);
    use_user_modules(session);
    // the first column is the program's ID in the lab's program array; `-` = not registered
    // (a load registers what its script calls)
    let mut s = format!(
        "{:<4} {:<37} {}\n",
        "ID", "program (eCLAT import path)", "(arguments) and whether it ends the chain"
    );
    let mut rows = Vec::new();
    let user: Vec<hike::catalog::ProgramSig> = user_modules()
        .iter()
        .flat_map(|(_, m, _)| m.programs.clone())
        .collect();
    for p in catalog().programs.iter().chain(user.iter()) {
        let key = format!("{}.{}", p.package, p.name);
        let id = st.programs.get(&key);
        let params: Vec<String> = p
            .params
            .iter()
            .map(|a| format!("{} {}", a.ty.name(), a.name))
            .collect();
        s.push_str(&format!(
            "{:<4} programs.{:<28} ({}) {}\n",
            id.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
            key,
            params.join(", "),
            match p.kind {
                hike::catalog::ProgramKind::Final => "final",
                hike::catalog::ProgramKind::Continue => "continues",
            }
        ));
        rows.push(serde_json::json!({"program": key, "id": id, "params": params, "kind": p.kind}));
    }
    s.push_str(
        "     loaders (attached by a script's `attach`), with the maps that pick a chain:\n",
    );
    for l in &catalog().loaders {
        s.push_str(&format!(
            "     loaders.{}.{}  maps: {}\n",
            l.package,
            l.name,
            l.maps
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    (s.trim_end().to_string(), serde_json::json!(rows))
}

/// `chain list`.
pub fn chain_list(session: &Session) -> Result<(String, serde_json::Value)> {
    let st = load_state(session);
    if !hike_exists(session) {
        return Ok((
            "no chain is stored (load a script: `eclat-lab load SCRIPT.eclat`)".to_string(),
            serde_json::json!([]),
        ));
    }
    let mut hike = existing_hike(session)?;
    reconcile(&mut hike, &st)?;
    let stored = hike.chains()?;
    let name_of = |id: u32| {
        let tagged = st.scripts.iter().map(|(k, v)| (k, v, "")).chain(
            st.replacing
                .iter()
                .map(|(k, v)| (k, v, ", being replaced: a reload was interrupted")),
        );
        tagged.into_iter().find_map(|(script, s, tag)| {
            s.chains.iter().find(|(_, c)| *c == id).map(|(n, _)| {
                format!(
                    "{n} ({}{tag})",
                    Path::new(script)
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default()
                )
            })
        })
    };
    let mut s = String::new();
    let mut rows = Vec::new();
    if stored.is_empty() {
        s.push_str("no chain is stored (load a script: `eclat-lab load SCRIPT.eclat`)");
    }
    for c in &stored {
        let name = name_of(c.id).unwrap_or_else(|| "(stored by hand)".into());
        let tier = hike.chain_tier(c.id)?;
        s.push_str(&format!(
            "{:#x}  {:>2} insns  {}  [{}]\n",
            c.id,
            c.insns.len(),
            name,
            tier.summary()
        ));
        rows.push(serde_json::json!({"id": c.id, "insns": c.insns.len(), "name": name, "generation": c.generation, "tier": tier}));
    }
    Ok((s.trim_end().to_string(), serde_json::json!(rows)))
}

/// `chain dis ID`.
pub fn chain_dis(session: &Session, id: &str) -> Result<String> {
    let st = load_state(session);
    let want = parse_id(id, &st)?;
    let hike = existing_hike(session)?;
    let c = hike
        .chains()?
        .into_iter()
        .find(|c| c.id == want)
        .with_context(|| format!("no chain {want:#x} is stored (see `chain list`)"))?;
    let prog_names: BTreeMap<u32, String> =
        st.programs.iter().map(|(k, v)| (*v, k.clone())).collect();
    let mut s = format!("chain {:#x} ({} instruction slots)\n", c.id, c.insns.len());
    let text = hike::disasm::disasm(&c.insns, None);
    for line in text.lines() {
        s.push_str(line);
        // name the element IDs moved into r1
        if let Some(imm) = line.split("r1 = ").nth(1) {
            let v = imm.trim().trim_end_matches(" ll");
            let n = if let Some(h) = v.strip_prefix("0x") {
                u32::from_str_radix(h, 16).ok()
            } else {
                v.parse().ok()
            };
            if let Some(p) = n.and_then(|n| prog_names.get(&n)) {
                s.push_str(&format!("    ; {p}"));
            }
        }
        s.push('\n');
    }
    s.push('\n');
    s.push_str(&compiled_form(&hike, &c, &prog_names)?);
    Ok(s.trim_end().to_string())
}

/// The second half of `chain dis`: how the chain runs, and for a compiled chain what the
/// compiler wrote after each call (hike::jit::listing).
fn compiled_form(
    hike: &Hike,
    c: &eclat_kernel::hike::StoredChain,
    prog_names: &BTreeMap<u32, String>,
) -> Result<String> {
    use eclat_kernel::hike::tier::Tier;
    let tier = hike.chain_tier(c.id)?;
    let plan = hike.chain_plan(c.id, &c.insns)?;
    let slot_of = match (&tier, &plan) {
        (Tier::Interpreted { .. }, Err(why)) => {
            return Ok(format!("interpreted by the VM: {why}"));
        }
        (Tier::Interpreted { why }, Ok(_)) => {
            // another process stored it: what stopped the compiler then is not known here
            let why = match why.as_str() {
                "not compiled" => {
                    "the compiler was off when the chain was stored (ECLAT_LAB_JIT=off), or \
                     the chain's programs could not be loaded for it then; load the script \
                     again to compile it"
                }
                w => w,
            };
            return Ok(format!("interpreted by the VM: {why}"));
        }
        (Tier::Compiled { linked: true, .. }, _) => None,
        (
            Tier::Compiled {
                entry_slot,
                instance_slots,
                ..
            },
            _,
        ) => Some(
            std::iter::once(*entry_slot)
                .chain(instance_slots.iter().copied())
                .collect::<Vec<u32>>(),
        ),
    };
    let mut s = format!("{}\n", tier.summary());
    // the plan is made again here, from the programs registered now: it must be the one
    // installed (as instances, one slot per call site)
    let plan = plan.ok().filter(|p| {
        slot_of
            .as_ref()
            .is_none_or(|slots| slots.len() == p.sites.len())
    });
    let Some(plan) = plan else {
        s.push_str(
            "(what the compiler wrote cannot be shown: its programs are no longer registered \
             as when the chain was stored; load the script again)",
        );
        return Ok(s);
    };
    let prog = |p: u32| {
        prog_names
            .get(&p)
            .cloned()
            .unwrap_or_else(|| format!("program {p}"))
    };
    let reason = |r: u32| match eclat_kernel::hike::VmError::from_code(r) {
        Some(e) => format!("hvm_stats[{r}], {}", e.explain()),
        None => format!("hvm_stats[{r}]"),
    };
    let names = hike::jit::Names {
        prog: &prog,
        reason: &reason,
    };
    s.push_str(&hike::jit::listing(&plan, slot_of.as_deref(), &names));
    Ok(s)
}

fn parse_id(id: &str, st: &HikeState) -> Result<u32> {
    if let Some(h) = id.strip_prefix("0x") {
        return u32::from_str_radix(h, 16).with_context(|| format!("`{id}` is not a chain ID"));
    }
    if let Ok(n) = id.parse::<u32>() {
        return Ok(n);
    }
    st.scripts
        .values()
        .flat_map(|s| s.chains.iter())
        .find(|(n, _)| n == id)
        .map(|(_, i)| *i)
        .with_context(|| format!("no chain named `{id}` (give its name or ID; see `chain list`)"))
}

/// `chain trace`: prints trace events as packets go through the lab's chains.
pub fn chain_trace(
    session: &Session,
    seconds: u64,
    stop: &AtomicBool,
    on_line: &mut dyn FnMut(&str),
) -> Result<usize> {
    let st = load_state(session);
    let hike = existing_hike(session)?;
    let names: BTreeMap<u32, String> = st
        .programs
        .iter()
        .map(|(k, v)| (*v, k.rsplit('.').next().unwrap_or(k).to_string()))
        .chain(
            st.scripts
                .values()
                .flat_map(|s| s.chains.iter().map(|(n, id)| (*id, n.clone()))),
        )
        .collect();
    hike.set_trace(true)?;
    let mut reader = hike.trace_reader()?;
    let t0 = Instant::now();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) && t0.elapsed() < Duration::from_secs(seconds) {
        for e in reader.drain() {
            on_line(&name_ids(&e.to_string(), &names));
            n += 1;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    hike.set_trace(false)?;
    Ok(n)
}
