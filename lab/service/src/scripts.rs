//! eCLAT scripts in the lab: compiling against the session's catalog, loading into the lab's
//! HIKe instance (program IDs and chain IDs allocated with reuse; a reload replaces the
//! running version as one switch), unloading, and running a script on crafted packets in a
//! scratch HIKe instance (`test`).
//!
//! A load is a transaction recorded in the HIKe store before the kernel is touched, so that
//! at every instant, and after any crash and the recovery that follows, every loader entry
//! points at a stored chain and the version recorded as loaded is the one running:
//! 1. the new version is recorded as `pending` (its chain IDs are fresh);
//! 2. its chains are stored (nothing points at them yet);
//! 3. its loader entries are written (each write switches one entry: a packet runs one
//!    version or the other, never half of each) and its loaders attached;
//! 4. it becomes the loaded version (`scripts`), and what the previous version used and the
//!    new one does not is removed.
//!
//! An interrupted load is settled by the next operation: if any entry already points at the
//! pending version, the load is finished (roll forward); otherwise the pending chains are
//! deleted (roll back). An unload records the script as `unloading`, clears or gives back
//! its entries, then deletes its chains.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use eclat_kernel::hike::runtime::{self, Hike};
use eclat_kernel::hike::tier::Tier;
use eclat_kernel::{maps, xdp};
use serde::Serialize;

use crate::Lab;
use crate::catalog::Catalog;
use crate::instance::{ensure_object, ensure_programs, reconcile, registered_ids};
use crate::store::{AttachState, EntryState, HikeStore, ScriptState};

/// A script failed to compile: the diagnostics, and their text rendered under the source.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{rendered}")]
pub struct CompileFailed {
    pub file: String,
    /// with line and column
    pub diagnostics: Vec<eclat::LocatedDiagnostic>,
    /// rendered without colour
    pub rendered: String,
}

/// What to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadRequest {
    pub file: PathBuf,
    pub defines: Vec<(String, String)>,
    /// take over loader entries another loaded script owns, and interfaces where another
    /// loaded script's loader is attached (it is then displaced until this one is unloaded)
    pub replace: bool,
}

/// What `load` did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LoadReport {
    /// the script (canonical path)
    pub script: String,
    /// chain name -> chain ID
    pub chains: Vec<(String, u32)>,
    /// `package.name` -> program ID
    pub programs: Vec<(String, u32)>,
    /// loader entries written
    pub entries: usize,
    /// loaders attached (`package.loader on node:dev`; `(in place of PROGRAM, detached)`
    /// after it when the lab had another program attached there, `(in place of LOADER, the
    /// loader of SCRIPT: displaced ...)` when another loaded script's loader was
    /// (`--replace`), `(already attached)` when the loader was)
    pub attached: Vec<String>,
    /// a reload: the previous version is gone
    pub replaced: bool,
    /// scripts whose loader entries this load took over (`--replace`; an interface taken
    /// over is said in `attached`)
    pub displaced: Vec<String>,
    /// compiler warnings, rendered
    pub warnings: String,
    /// wall time of the whole load (compile, register, store, write entries, attach), in
    /// milliseconds
    pub elapsed_ms: f64,
    /// how each chain runs: compiled, or interpreted and why (by chain name)
    pub tiers: Vec<(String, Tier)>,
}

/// What `unload` did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct UnloadReport {
    /// the script file as given
    pub script: String,
    /// how many chains were deleted from `hvm_chain_map`
    pub chains: usize,
    /// how many loader map entries the script owned (each is removed, or given back to the script
    /// it had displaced)
    pub entries: usize,
    /// entries given back to the scripts this one had displaced
    pub restored: Vec<String>,
    /// `package.name` -> the program ID freed
    pub freed: Vec<(String, u32)>,
    /// loaders detached (`package.loader from node:dev`)
    pub detached: Vec<String>,
    /// loaders attached again for the scripts this one had displaced from an interface with
    /// `load --replace` (`package.loader on node:dev for SCRIPT`; `(could not: WHY ...)`
    /// after it when the kernel refused)
    pub reattached: Vec<String>,
}

/// A compiled script, for `compile`.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub program: eclat::Program,
    /// warnings, with line and column
    pub diagnostics: Vec<eclat::LocatedDiagnostic>,
    /// warnings rendered under the source (empty without warnings)
    pub warnings: String,
    pub compile_us: f64,
}

/// A canonical key for a script file.
pub fn script_key(file: &Path) -> String {
    std::fs::canonicalize(file)
        .unwrap_or_else(|_| file.to_path_buf())
        .display()
        .to_string()
}

impl Lab {
    /// Compiles `src` (named `name` in diagnostics) against the session's catalog. Pure.
    pub fn compile_source(
        &self,
        src: &str,
        name: &str,
        defines: &[(String, String)],
    ) -> eclat::Compilation {
        let cat = self.catalog();
        eclat::compile(src, name, cat.signatures(), defines)
    }

    /// Reads and compiles a script file; an error carries the rendered diagnostics.
    pub fn compile_file(&self, file: &Path, defines: &[(String, String)]) -> Result<Compiled> {
        let src = crate::textfile::read(file, "script")?;
        let name = file.display().to_string();
        if src.trim().is_empty() {
            bail!(
                "{name} is empty: there is nothing to compile (a script imports programs, \
                 defines chains with `def`, and configures a loader)"
            );
        }
        // the catalog first: its BTF is read once per session, outside the compile time
        drop(self.catalog());
        let t0 = Instant::now();
        let c = self.compile_source(&src, &name, defines);
        let compile_us = t0.elapsed().as_secs_f64() * 1e6;
        let rendered = c.render(&src, &name, false);
        let located = c.report(&src, &name).diagnostics;
        match c.output {
            Some(program) if !c.has_errors() => Ok(Compiled {
                program,
                warnings: if c.diagnostics.is_empty() {
                    String::new()
                } else {
                    rendered
                },
                diagnostics: located,
                compile_us,
            }),
            _ => Err(CompileFailed {
                file: name,
                diagnostics: located,
                rendered: rendered.trim_end().to_string(),
            }
            .into()),
        }
    }

    /// `load SCRIPT`: compile, register programs, store chains, write loader entries,
    /// attach loaders (see the module's documentation for the order and the recovery).
    pub async fn load(&self, req: LoadRequest) -> Result<LoadReport> {
        self.blocking(move |lab| lab.load_now(&req)).await
    }

    fn load_now(&self, req: &LoadRequest) -> Result<LoadReport> {
        let t0 = Instant::now();
        let compiled = self.compile_file(&req.file, &req.defines)?;
        let prog = compiled.program;
        if prog.chains.is_empty() && prog.map_entries.is_empty() && prog.attach.is_empty() {
            bail!(
                "{} has nothing to load: it defines no chain (`def`), writes no loader entry \
                 and attaches no loader (only comments, blank lines or imports). Nothing was \
                 changed",
                req.file.display()
            );
        }
        let cat = self.catalog().clone();
        let j = self.journal()?;
        let mut st = HikeStore::load(self.env());
        let mut hike = self.open_hike(j)?;
        self.settle(&mut hike, &cat, &mut st)?;
        let key = script_key(&req.file);
        let old = st.scripts.get(&key).cloned();
        let what = format!("cannot load {}", req.file.display());

        // everything that can refuse the load is checked before the kernel is touched
        let keys: Vec<String> = prog
            .programs
            .iter()
            .map(|(p, n)| format!("{p}.{n}"))
            .collect();
        st.ensure_free_ids(&registered_ids(&hike)?, &keys, &what)?;
        for (p, n) in &prog.programs {
            cat.program(p, n)?;
        }
        let taken: Vec<u32> = old
            .as_ref()
            .map(|o| o.chains.iter().map(|(_, id)| *id).collect())
            .unwrap_or_default();
        let chain_ids = st.alloc_chain_ids(prog.chains.len(), &taken)?;
        // placeholder IDs for the ownership check: the real ones come after registration
        let probe = prog.link(&chain_ids, &|_, _| Some(1))?;
        let probe_entries = entry_states(&probe);
        let mut displaced = Vec::new();
        for e in &probe_entries {
            if let Some(owner) = st.entry_owner(e)
                && owner != key
            {
                if !req.replace {
                    bail!(
                        "{what}: {}.{}'s {}[{}] is the entry point of {owner}, which is loaded; \
                         `eclat-lab load {} --replace` takes it over ({owner} then shows as \
                         displaced and gets it back when this script is unloaded), or \
                         `eclat-lab unload {owner}` first. Nothing was changed",
                        e.package,
                        e.loader,
                        e.map,
                        key_text(&e.key),
                        req.file.display()
                    );
                }
                if !displaced.contains(&owner.to_string()) {
                    displaced.push(owner.to_string());
                }
            }
        }
        let mut attach = Vec::new();
        for a in &prog.attach {
            let (node, dev) = self.resolve_device(&a.device)?;
            attach.push(AttachState {
                package: a.package.clone(),
                loader: a.loader.clone(),
                node,
                dev,
                displaced_by: None,
            });
        }
        // an interface runs one XDP program: another loaded script's loader there is that
        // script's, as its loader entries are (`xdp attach` refuses it too); `--replace`
        // takes it over (`switch_to`)
        if !req.replace {
            let attached_now = xdp::attachments(self.env());
            for a in &attach {
                // a holder whose loader is not there any more (the topology was made anew)
                // holds nothing
                let holder = st.interface_holders(&key, a).into_iter().find(|(_, h)| {
                    attached_now
                        .iter()
                        .any(|x| x.node == a.node && x.dev == a.dev && x.program == h.loader)
                });
                if let Some((owner, h)) = holder {
                    let loader = format!("{}.{}", h.package, h.loader);
                    let name = Path::new(&owner)
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_else(|| owner.clone());
                    bail!(
                        "{what}: {} runs {loader}, the loader of {owner}, which is loaded. An \
                         interface runs one XDP program: attaching {}.{} there would stop \
                         {name}'s policy while it still shows as loaded. Nothing was changed. \
                         `eclat-lab unload {owner}` first, or `eclat-lab load {} --replace` to \
                         take the interface over ({name} then shows as displaced and gets it \
                         back when this script is unloaded)",
                        crate::xdp::interface_text(self, &a.node, &a.dev),
                        a.package,
                        a.loader,
                        req.file.display()
                    );
                }
            }
        }

        let ids = ensure_programs(&mut hike, &cat, &mut st, &prog.programs)?;
        eclat_kernel::crash_point("load:programs-registered");
        for (pkg, _) in prog
            .map_entries
            .iter()
            .map(|e| (&e.package, &e.loader))
            .chain(prog.attach.iter().map(|a| (&a.package, &a.loader)))
        {
            ensure_object(&mut hike, cat.package(pkg, true)?)?;
        }
        let linked = prog.link(&chain_ids, &|p, n| {
            ids.get(&(p.to_string(), n.to_string())).copied()
        })?;
        let new = ScriptState {
            chains: linked
                .chains
                .iter()
                .map(|c| (c.name.clone(), c.id))
                .collect(),
            programs: ids.keys().map(|(p, n)| format!("{p}.{n}")).collect(),
            entries: entry_states(&linked),
            attach,
            session: (self.origin() == crate::Origin::Session)
                .then(eclat_kernel::journal::Owner::me),
        };
        // 1. the intent: from here a crash is settled by the next operation
        st.pending.insert(key.clone(), new.clone());
        st.save(self.env())?;
        // 2. the chains, which nothing points at yet
        for (i, c) in linked.chains.iter().enumerate() {
            if let Err(e) = hike.store_chain(c.id, &c.insns) {
                for done in &linked.chains[..i] {
                    let _ = hike.delete_chain(done.id);
                }
                st.pending.remove(&key);
                st.save(self.env())?;
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
        // 3. the switch, then 4. the new version is the loaded one
        let attached = self.switch_to(&mut hike, &cat, &mut st, &key, &new)?;
        for d in &displaced {
            if let Some(s) = st.scripts.get_mut(d) {
                for e in s.entries.iter_mut() {
                    if new.entries.iter().any(|n| n.same_slot(e)) && e.displaced_by.is_none() {
                        e.displaced_by = Some(key.clone());
                    }
                }
            }
        }
        st.save(self.env())?;
        self.commit(&mut hike)?;
        let tiers = new
            .chains
            .iter()
            .filter_map(|(n, id)| hike.tier(*id).map(|t| (n.clone(), t.clone())))
            .collect();
        Ok(LoadReport {
            script: key,
            tiers,
            chains: new.chains,
            programs: ids
                .iter()
                .map(|((p, n), id)| (format!("{p}.{n}"), *id))
                .collect(),
            entries: linked.map_entries.len(),
            attached,
            replaced: old.is_some(),
            displaced,
            warnings: compiled.warnings,
            elapsed_ms: t0.elapsed().as_secs_f64() * 1000.0,
        })
    }

    /// Steps 3 and 4 of a load: writes `new`'s loader entries and attaches its loaders, then
    /// records it as the loaded version of `key` and removes what the previous version used
    /// and `new` does not. Also finishes an interrupted load (roll forward).
    fn switch_to(
        &self,
        hike: &mut Hike,
        cat: &Catalog,
        st: &mut HikeStore,
        key: &str,
        new: &ScriptState,
    ) -> Result<Vec<String>> {
        for e in &new.entries {
            let pin = entry_pin(self, cat, e)?;
            maps::write_pinned(&pin, &e.key, &e.value)
                .with_context(|| format!("writing {}[{}]", e.map, key_text(&e.key)))?;
        }
        eclat_kernel::crash_point("load:entries-written");
        let mut attached = Vec::new();
        // the attachments this script keeps as they are (its loader already there, e.g. a
        // session's): a load from a system shell makes them its own, so that they outlive
        // that session as the script does
        let mut kept_links = Vec::new();
        for a in &new.attach {
            let here: Vec<xdp::Attachment> = xdp::attachments(self.env())
                .into_iter()
                .filter(|x| x.node == a.node && x.dev == a.dev)
                .collect();
            // already attached: the very loader of this HIKe instance, not only one of its
            // name (a link can outlive the instance whose loader it runs, and that loader
            // then finds none of this instance's chains: every packet would drop)
            let same: Vec<&xdp::Attachment> = here
                .iter()
                .filter(|x| runs_loader_of(hike, x, &a.package, &a.loader))
                .collect();
            let already = !same.is_empty();
            let stale = !already && here.iter().any(|x| x.program == a.loader);
            kept_links.extend(same.iter().map(|x| x.pin.clone()));
            // the other loaded scripts that hold the interface with another loader: the load
            // was refused unless `--replace`, which takes it over; they are displaced until
            // this one is unloaded (marked here, so that a load finished after a crash marks
            // them too)
            let holders = st.interface_holders(key, a);
            for (owner, _) in &holders {
                for x in st
                    .scripts
                    .get_mut(owner)
                    .into_iter()
                    .flat_map(|s| s.attach.iter_mut())
                {
                    if x.same_place(a) && x.displaced_by.is_none() {
                        x.displaced_by = Some(key.to_string());
                    }
                }
            }
            let mut note = String::new();
            if already {
                note.push_str(" (already attached)");
            } else {
                // the lab's other attachment on that interface (e.g. xdp_counter) gives way,
                // and the report says so: it stops counting from here
                if let Some(j) = hike.journal()
                    && let Ok(gone) = xdp::detach(self.env(), j, &a.node, &a.dev)
                {
                    note = match holders.iter().find(|(_, h)| h.loader == gone) {
                        None if stale => format!(
                            " (in place of the {gone} of an earlier HIKe instance, which ran \
                             none of this instance's chains)"
                        ),
                        None => format!(" (in place of {gone}, detached)"),
                        Some((owner, h)) => format!(
                            " (in place of {}.{}, the loader of {owner}: displaced until this \
                             script is unloaded)",
                            h.package, h.loader
                        ),
                    };
                }
                hike.attach_to_node(self.env(), &a.package, &a.loader, &a.node, &a.dev)?;
            }
            attached.push(format!(
                "{}.{} on {}:{}{note}",
                a.package, a.loader, a.node, a.dev
            ));
        }
        eclat_kernel::crash_point("load:attached");
        // what the load made is the lab's for good before the store calls the version
        // loaded: recovery removes a dead command's uncommitted objects (here, a loader's
        // link), and a version recorded as loaded must keep running
        self.commit(hike)?;
        if self.life() == eclat_kernel::journal::Lifetime::Persistent
            && !kept_links.is_empty()
            && let Some(j) = hike.journal()
        {
            j.commit_adopting(eclat_kernel::journal::Lifetime::Persistent, &|p| {
                kept_links.iter().any(|l| l == p)
            })?;
        }
        let old = st.scripts.insert(key.to_string(), new.clone());
        st.pending.remove(key);
        st.save(self.env())?;
        eclat_kernel::crash_point("load:switched");
        if let Some(o) = old {
            for (_, id) in &o.chains {
                if !new.chains.iter().any(|(_, k)| k == id) {
                    hike.delete_chain(*id)?;
                }
            }
            // entries the new version no longer writes: given back or cleared
            let gone: Vec<EntryState> = o
                .entries
                .iter()
                .filter(|e| !new.entries.iter().any(|n| n.same_slot(e)))
                .cloned()
                .collect();
            self.release_entries(cat, st, key, &gone)?;
            // interfaces the new version no longer attaches to: given back or detached
            let gone: Vec<AttachState> = o
                .attach
                .iter()
                .filter(|x| !new.attach.iter().any(|n| n.same_place(x)))
                .cloned()
                .collect();
            self.release_attachments(hike, cat, st, key, &gone)?;
            st.save(self.env())?;
        }
        Ok(attached)
    }

    /// Gives up the interfaces `attach` of script `key`: one it holds goes back to the
    /// script it had displaced (that one's loader is attached again, if it is still loaded),
    /// stays with the scripts that attach the same loader there, or is detached; one it did
    /// not hold (it was displaced itself) is left as it is, and whoever it had displaced now
    /// waits for the script that displaced it. Returns (loaders detached, loaders attached
    /// again for the scripts they belong to).
    fn release_attachments(
        &self,
        hike: &mut Hike,
        cat: &Catalog,
        st: &mut HikeStore,
        key: &str,
        attach: &[AttachState],
    ) -> Result<(Vec<String>, Vec<String>)> {
        let mut detached = Vec::new();
        let mut reattached = Vec::new();
        // every waiting script's record of `a`'s interface: now displaced by `by` (or no
        // longer displaced)
        let wait_for = |st: &mut HikeStore, a: &AttachState, by: Option<&str>, only: &[String]| {
            for (k, s) in st.scripts.iter_mut() {
                if k.as_str() == key || !only.contains(k) {
                    continue;
                }
                for x in s.attach.iter_mut() {
                    if x.same_place(a) && x.displaced_by.as_deref() == Some(key) {
                        x.displaced_by = by.map(str::to_string);
                    }
                }
            }
        };
        for a in attach {
            let waiting: Vec<String> = st
                .scripts
                .iter()
                .filter(|(k, s)| {
                    k.as_str() != key
                        && s.attach
                            .iter()
                            .any(|x| x.same_place(a) && x.displaced_by.as_deref() == Some(key))
                })
                .map(|(k, _)| k.clone())
                .collect();
            if let Some(by) = &a.displaced_by {
                wait_for(st, a, Some(by), &waiting);
                continue;
            }
            let sharer = st.scripts.iter().find_map(|(k, s)| {
                (k.as_str() != key
                    && s.attach
                        .iter()
                        .any(|x| x.same_attachment(a) && x.displaced_by.is_none()))
                .then(|| k.clone())
            });
            if let Some(sharer) = sharer {
                // the loader stays for the scripts that attached it too
                wait_for(st, a, Some(&sharer), &waiting);
                continue;
            }
            let here: Vec<xdp::Attachment> = xdp::attachments(self.env())
                .into_iter()
                .filter(|x| x.node == a.node && x.dev == a.dev)
                .collect();
            if here.iter().any(|x| x.program == a.loader)
                && let Some(j) = hike.journal()
            {
                let _ = xdp::detach(self.env(), j, &a.node, &a.dev);
                detached.push(format!(
                    "{}.{} from {}:{}",
                    a.package, a.loader, a.node, a.dev
                ));
            }
            eclat_kernel::crash_point("release:loader-detached");
            let Some(first) = waiting.first() else {
                continue;
            };
            let back = st.scripts[first]
                .attach
                .iter()
                .find(|x| x.same_place(a) && x.displaced_by.as_deref() == Some(key))
                .cloned()
                .expect("listed above");
            // the scripts waiting with the same loader share it; the others wait for it
            let sharing: Vec<String> = waiting
                .iter()
                .filter(|w| {
                    st.scripts[*w]
                        .attach
                        .iter()
                        .any(|x| x.same_attachment(&back) && x.displaced_by.as_deref() == Some(key))
                })
                .cloned()
                .collect();
            let others: Vec<String> = waiting
                .iter()
                .filter(|w| !sharing.contains(w))
                .cloned()
                .collect();
            wait_for(st, a, Some(first), &others);
            wait_for(st, a, None, &sharing);
            let already = xdp::attachments(self.env()).iter().any(|x| {
                x.node == a.node
                    && x.dev == a.dev
                    && runs_loader_of(hike, x, &back.package, &back.loader)
            });
            let mut note = String::new();
            // the attachment given back lives as long as the script that gets it back: a
            // script loaded from a system shell keeps it after this session ends
            let persistent = st.scripts[first].session.is_none();
            if !already && persistent {
                self.commit(hike)?;
            }
            if !already {
                let done = cat
                    .package(&back.package, true)
                    .and_then(|p| ensure_object(hike, p))
                    .and_then(|_| {
                        hike.attach_to_node(
                            self.env(),
                            &back.package,
                            &back.loader,
                            &back.node,
                            &back.dev,
                        )
                        .map_err(anyhow::Error::from)
                    });
                // an unload does not stop half-way for an interface that is gone: the
                // script's next load attaches its loader again
                if let Err(e) = done {
                    note = format!(" (could not: {e:#}; `load {first}` attaches it again)");
                } else if persistent && let Some(j) = hike.journal() {
                    let root = self.env().bpffs_root.clone();
                    j.commit_adopting(eclat_kernel::journal::Lifetime::Persistent, &|p| {
                        crate::instance::in_hike_instance(&root, p)
                    })?;
                }
            }
            reattached.push(format!(
                "{}.{} on {}:{} for {first}{note}",
                back.package, back.loader, back.node, back.dev
            ));
        }
        Ok((detached, reattached))
    }

    /// Gives up `entries` of script `key`: an entry it owns goes back to the script it had
    /// displaced (if that one is still loaded) or is cleared; an entry it did not own (it was
    /// displaced itself) is left as it is, and whoever it had displaced now waits for the
    /// script that displaced it. Returns the scripts that got an entry back.
    fn release_entries(
        &self,
        cat: &Catalog,
        st: &mut HikeStore,
        key: &str,
        entries: &[EntryState],
    ) -> Result<Vec<String>> {
        let mut restored = Vec::new();
        for e in entries {
            let waiting: Vec<String> = st
                .scripts
                .iter()
                .filter(|(k, s)| {
                    k.as_str() != key
                        && s.entries
                            .iter()
                            .any(|x| x.same_slot(e) && x.displaced_by.as_deref() == Some(key))
                })
                .map(|(k, _)| k.clone())
                .collect();
            match &e.displaced_by {
                Some(by) => {
                    for w in &waiting {
                        for x in st
                            .scripts
                            .get_mut(w)
                            .into_iter()
                            .flat_map(|s| s.entries.iter_mut())
                        {
                            if x.same_slot(e) {
                                x.displaced_by = Some(by.clone());
                            }
                        }
                    }
                }
                None => {
                    let pin = entry_pin(self, cat, e)?;
                    match waiting.first() {
                        Some(w) => {
                            let s = st.scripts.get_mut(w).expect("listed above");
                            let x = s
                                .entries
                                .iter_mut()
                                .find(|x| x.same_slot(e))
                                .expect("listed above");
                            maps::write_pinned(&pin, &x.key, &x.value)?;
                            x.displaced_by = None;
                            restored.push(w.clone());
                            // the others now wait for the one that has it
                            for other in waiting.iter().skip(1) {
                                for y in st
                                    .scripts
                                    .get_mut(other)
                                    .into_iter()
                                    .flat_map(|s| s.entries.iter_mut())
                                {
                                    if y.same_slot(e) {
                                        y.displaced_by = Some(w.clone());
                                    }
                                }
                            }
                        }
                        None => maps::remove_pinned(&pin, &e.key)?,
                    }
                }
            }
        }
        Ok(restored)
    }

    /// Finishes or undoes what an interrupted load or unload left (see the module's
    /// documentation), then removes chains and program slots the store does not own.
    pub(crate) fn settle(&self, hike: &mut Hike, cat: &Catalog, st: &mut HikeStore) -> Result<()> {
        for (key, p) in std::mem::take(&mut st.pending) {
            let switched = p.entries.iter().any(|e| {
                entry_pin(self, cat, e)
                    .ok()
                    .and_then(|pin| maps::read_pinned(&pin, &e.key).ok().flatten())
                    .is_some_and(|v| v == e.value)
            });
            let stored = hike.chains()?;
            let all_stored = p
                .chains
                .iter()
                .all(|(_, id)| stored.iter().any(|c| c.id == *id));
            if switched && all_stored {
                // roll forward: the programs it calls may have lost their pins to recovery
                let programs: Vec<(String, String)> = p
                    .programs
                    .iter()
                    .filter_map(|k| k.split_once('.'))
                    .map(|(pkg, name)| (pkg.to_string(), name.to_string()))
                    .collect();
                ensure_programs(hike, cat, st, &programs)?;
                st.pending.insert(key.clone(), p.clone());
                self.switch_to(hike, cat, st, &key, &p)?;
            } else {
                for (_, id) in &p.chains {
                    hike.delete_chain(*id)?;
                }
            }
            st.save(self.env())?;
        }
        for (key, u) in std::mem::take(&mut st.unloading) {
            st.unloading.insert(key.clone(), u.clone());
            self.finish_unload(hike, cat, st, &key, &u)?;
        }
        // the scripts of a session that was killed: its loaders' attachments went with its
        // other objects (the recovery), so they are unloaded as the session's end would have
        let orphaned: Vec<String> = st
            .scripts
            .iter()
            .filter(|(_, s)| s.orphaned())
            .map(|(k, _)| k.clone())
            .collect();
        for key in orphaned {
            self.unload_recorded(hike, cat, st, &key)?;
        }
        reconcile(hike, st)?;
        Ok(())
    }

    /// Settles what an interrupted load or unload left, holding `journal` (see
    /// [`Lab::recover`]).
    pub(crate) fn settle_interrupted(&self, journal: eclat_kernel::journal::Journal) -> Result<()> {
        let cat = self.catalog().clone();
        let mut st = HikeStore::load(self.env());
        let mut hike = self.open_hike(journal)?;
        self.settle(&mut hike, &cat, &mut st)?;
        self.commit(&mut hike)
    }

    /// `unload SCRIPT`: gives back or clears its loader entries, deletes its chains, detaches
    /// its loaders (unless another script uses them), frees its program IDs.
    pub async fn unload(&self, file: PathBuf) -> Result<UnloadReport> {
        self.blocking(move |lab| {
            let cat = lab.catalog().clone();
            let j = lab.journal()?;
            let key = script_key(&file);
            // nothing loaded: say so without making the HIKe instance (a failed command
            // leaves nothing behind)
            let loaded = crate::store::peek(lab.env());
            if !lab.hike_exists()
                || !loaded.scripts.contains_key(&key)
                    && loaded.pending.is_empty()
                    && loaded.unloading.is_empty()
            {
                let mut names: Vec<String> = loaded.scripts.keys().cloned().collect();
                names.sort();
                bail!(
                    "{} is not loaded ({})",
                    file.display(),
                    if names.is_empty() {
                        "no script is".to_string()
                    } else {
                        format!("loaded scripts: {}", names.join(", "))
                    }
                );
            }
            let mut st = HikeStore::load(lab.env());
            let mut hike = lab.open_hike(j)?;
            lab.settle(&mut hike, &cat, &mut st)?;
            let Some(s) = st.scripts.remove(&key) else {
                bail!(
                    "{} is not loaded ({})",
                    file.display(),
                    if st.scripts.is_empty() {
                        "no script is".to_string()
                    } else {
                        format!(
                            "loaded scripts: {}",
                            st.scripts.keys().cloned().collect::<Vec<_>>().join(", ")
                        )
                    }
                );
            };
            st.scripts.insert(key.clone(), s);
            let mut rep = lab.unload_recorded(&mut hike, &cat, &mut st, &key)?;
            lab.commit(&mut hike)?;
            rep.script = file.display().to_string();
            Ok(rep)
        })
        .await
    }

    /// Unloads script `key`, recorded as loaded in `st`: first the intent (a crash from here is
    /// finished by the next operation's `settle`), then as `unload` does.
    fn unload_recorded(
        &self,
        hike: &mut Hike,
        cat: &Catalog,
        st: &mut HikeStore,
        key: &str,
    ) -> Result<UnloadReport> {
        let Some(s) = st.scripts.remove(key) else {
            bail!("{key} is not loaded");
        };
        st.unloading.insert(key.to_string(), s.clone());
        st.save(self.env())?;
        eclat_kernel::crash_point("unload:recorded");
        self.finish_unload(hike, cat, st, key, &s)
    }

    /// Ends this session's scripts: every script it loaded is unloaded as by `unload` (its
    /// chains deleted, its loader entries and interfaces given back to the scripts it had
    /// displaced), so that none stays recorded as loaded once the session's own objects (its
    /// loaders' attachments among them) are removed. Returns how many.
    pub(crate) fn unload_session_scripts(&self) -> Result<usize> {
        let me = eclat_kernel::journal::Owner::me();
        let mine = |st: &HikeStore| -> Vec<String> {
            st.scripts
                .iter()
                .filter(|(_, s)| s.session == Some(me))
                .map(|(k, _)| k.clone())
                .collect()
        };
        if !self.hike_exists() || mine(&crate::store::peek(self.env())).is_empty() {
            return Ok(0);
        }
        let cat = self.catalog().clone();
        let j = self.journal()?;
        let mut st = HikeStore::load(self.env());
        let mut hike = self.open_hike(j)?;
        self.settle(&mut hike, &cat, &mut st)?;
        let keys = mine(&st);
        for k in &keys {
            self.unload_recorded(&mut hike, &cat, &mut st, k)?;
        }
        self.commit(&mut hike)?;
        Ok(keys.len())
    }

    fn finish_unload(
        &self,
        hike: &mut Hike,
        cat: &Catalog,
        st: &mut HikeStore,
        key: &str,
        s: &ScriptState,
    ) -> Result<UnloadReport> {
        let restored = self.release_entries(cat, st, key, &s.entries)?;
        eclat_kernel::crash_point("unload:entries-released");
        for (_, id) in &s.chains {
            hike.delete_chain(*id)?;
        }
        let (detached, reattached) = self.release_attachments(hike, cat, st, key, &s.attach)?;
        // program IDs no other script calls (and not registered by hand) are freed
        let mut freed = Vec::new();
        for p in &s.programs {
            let used = st.scripts.values().any(|o| o.programs.contains(p)) || st.manual.contains(p);
            if !used && let Some(id) = st.programs.remove(p) {
                hike.unregister(id)?;
                freed.push((p.clone(), id));
            }
        }
        st.unloading.remove(key);
        st.save(self.env())?;
        Ok(UnloadReport {
            script: key.to_string(),
            chains: s.chains.len(),
            entries: s.entries.len(),
            restored,
            freed,
            detached,
            reattached,
        })
    }

    /// Resolves the device of `attach('DEV', ...)`: `node:dev`, or a bare name found on
    /// exactly one node (sut first, where the original lab attached its loaders).
    fn resolve_device(&self, dev: &str) -> Result<(String, String)> {
        if let Some((n, d)) = dev.split_once(':') {
            eclat_kernel::nodes::resolve_dev(self.env(), n, d)?;
            return Ok((n.to_string(), d.to_string()));
        }
        let t = eclat_kernel::nodes::current(self.env())?
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
                "no node of topology {} has an interface `{dev}` (write NODE:DEV, e.g. \
                 sut:enp6s0f0)",
                t.name
            ),
        }
    }
}

/// Does attachment `x` run the loader `package.loader` of this HIKe instance (the program
/// pinned for it), not only a program of that name?
fn runs_loader_of(hike: &Hike, x: &xdp::Attachment, package: &str, loader: &str) -> bool {
    use eclat_kernel::sys::pinned_prog_id;
    x.program == loader
        && pinned_prog_id(&hike.prog_pin(package, loader))
            .ok()
            .flatten()
            .is_some_and(|id| pinned_prog_id(&x.pin).ok().flatten() == Some(id))
}

/// The loader entries of a linked program, as the store records them.
fn entry_states(linked: &eclat::program::Linked) -> Vec<EntryState> {
    linked
        .map_entries
        .iter()
        .map(|e| EntryState {
            package: e.package.clone(),
            loader: e.loader.clone(),
            map: e.map.clone(),
            key: e.key.clone(),
            value: e.value.clone(),
            displaced_by: None,
        })
        .collect()
}

fn entry_pin(lab: &Lab, cat: &Catalog, e: &EntryState) -> Result<PathBuf> {
    let pkg = cat.package(&e.package, true)?;
    Ok(runtime::map_pin_path(
        &lab.env().bpffs_root,
        &pkg.meta,
        &e.map,
    ))
}

/// A loader map key for messages: a number when it is one.
fn key_text(key: &[u8]) -> String {
    match maps::decode(key) {
        maps::Value::Int(v) => v.to_string(),
        other => other.to_string(),
    }
}
