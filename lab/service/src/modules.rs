//! HIKe modules: building a C module (clang, then every program through the verifier,
//! nothing attached), registering prebuilt programs or a learner's module under program
//! IDs, unregistering them, and the list of everything a script can import.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
pub use eclat_kernel::modules::{BuildError, BuildReport, ProgramVerdict};
use eclat_model::meta;
use serde::Serialize;

use crate::Lab;
use crate::instance::{ensure_program, reconcile, registered_ids};
use crate::store::HikeStore;

/// The kernel's verifier rejected a program of a build: the report says which and why
/// (the faces show the explanation and the source line).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", rejected_summary(.0))]
pub struct Rejected(pub Box<BuildReport>);

fn rejected_summary(r: &BuildReport) -> String {
    if r.programs.is_empty() {
        return format!(
            "{}: the object holds no program (is `SEC(\"xdp\")` missing? In a HIKe module, \
             `EXPORT_HIKE_PROG(name)` writes it)",
            r.source
        );
    }
    let names: Vec<&str> = r
        .programs
        .iter()
        .filter(|p| !p.accepted)
        .map(|p| p.name.as_str())
        .collect();
    format!(
        "{}: the verifier rejected {} (`eclat-lab module build {}` explains why and points at \
         the line)",
        r.source,
        names.join(", "),
        r.source
    )
}

/// A program's registration time.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ProgramLoad {
    /// `package.name`
    pub program: String,
    /// wall time of the program's `BPF_PROG_LOAD` (the verifier and the JIT), in milliseconds
    pub verify_ms: f64,
}

/// What `module load` did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ModuleLoaded {
    /// `package.name` -> program ID, for every program registered
    pub programs: Vec<(String, u32)>,
    /// the programs this command loaded into the kernel (none: they were loaded already)
    pub loads: Vec<ProgramLoad>,
    /// the object file of a learner's module
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// how a script imports it (`from programs.PKG import ...`)
    pub package: String,
    /// wall time of the whole command (build excluded for a C file), in milliseconds
    pub elapsed_ms: f64,
}

/// What `module unload` did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ModuleUnloaded {
    /// what was unloaded, as `PKG.NAME` or a whole package `PKG` (a file given is named by its
    /// package, its file stem)
    pub what: String,
    /// `package.name` -> the program ID it freed
    pub freed: Vec<(String, u32)>,
    /// pins of a learner's module removed with it
    pub unpinned: usize,
}

/// One importable program.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ModuleRow {
    /// `package.name` (imported as `programs.package`)
    pub program: String,
    /// its program ID when registered
    pub id: Option<u32>,
    /// `type name` of each user argument
    pub params: Vec<String>,
    /// the program always ends the packet's journey (a verdict)
    pub is_final: bool,
    /// a learner's module
    pub learner: bool,
}

/// One loader.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LoaderRow {
    /// `package.name` (imported as `loaders.package`)
    pub loader: String,
    /// the maps that pick a chain
    pub maps: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ModuleList {
    /// every program a script can import, package by package: the embedded packages, then the
    /// learner's modules loaded with `module load`
    pub programs: Vec<ModuleRow>,
    /// every loader a script can attach, with the maps it reads chain IDs from
    pub loaders: Vec<LoaderRow>,
}

/// The package of a learner's module file: its stem (`amp_filter.bpf.c` -> `amp_filter`).
fn package_of_file(file: &Path) -> String {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("module");
    name.trim_end_matches(".o")
        .trim_end_matches(".c")
        .trim_end_matches(".bpf")
        .to_string()
}

fn is_file_spec(s: &str) -> bool {
    s.ends_with(".c") || s.ends_with(".o")
}

impl Lab {
    /// Compiles a C module with clang and has the kernel verify every program in it
    /// (nothing is attached). A rejection is data in the report, not an error.
    pub async fn module_build(&self, file: PathBuf) -> Result<BuildReport> {
        self.blocking(move |lab| {
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !name.ends_with(".c") {
                bail!(
                    "`module build` compiles a C source (NAME.bpf.c), and {} is not one{}",
                    file.display(),
                    if name.ends_with(".o") {
                        format!(
                            ": an object is loaded as it is, `module load {}`",
                            file.display()
                        )
                    } else {
                        String::new()
                    }
                );
            }
            Ok(eclat_kernel::modules::build(&file, &lab.include_dir())?)
        })
        .await
    }

    /// Registers a prebuilt program (`PACKAGE.PROGRAM`), or builds and loads a learner's
    /// module (`FILE.bpf.c` or `FILE.o`, imported as `programs.<file stem>`).
    pub async fn module_load(&self, spec: String) -> Result<ModuleLoaded> {
        self.blocking(move |lab| {
            if is_file_spec(&spec) {
                return lab.module_load_file(Path::new(&spec));
            }
            let spec = spec.strip_prefix("programs.").unwrap_or(&spec);
            let cat = lab.catalog().clone();
            let (pkg, name) = spec.split_once('.').with_context(|| {
                format!(
                    "write PACKAGE.PROGRAM, e.g. hike_default.monitor (packages: {})",
                    cat.package_names().join(", ")
                )
            })?;
            let t0 = Instant::now();
            let j = lab.journal()?;
            let mut st = HikeStore::load(lab.env());
            let mut hike = lab.open_hike(j)?;
            reconcile(&mut hike, &st)?;
            let key = format!("{pkg}.{name}");
            st.ensure_free_ids(
                &registered_ids(&hike)?,
                std::slice::from_ref(&key),
                &format!("cannot load {key}"),
            )?;
            let mut registered = registered_ids(&hike)?;
            let id = ensure_program(&mut hike, &cat, &mut st, &mut registered, pkg, name)?;
            if !st.manual.contains(&key) {
                st.manual.push(key.clone());
            }
            st.save(lab.env())?;
            lab.commit(&mut hike)?;
            Ok(ModuleLoaded {
                programs: vec![(key, id)],
                loads: loads_of(&hike),
                object: None,
                package: pkg.to_string(),
                elapsed_ms: t0.elapsed().as_secs_f64() * 1e3,
            })
        })
        .await
    }

    /// `module load FILE.bpf.c|FILE.o`: builds (clang, verifier) a learner's module, loads it
    /// into the lab's HIKe instance and registers every HIKe program in it.
    fn module_load_file(&self, file: &Path) -> Result<ModuleLoaded> {
        let package = package_of_file(file);
        if self.catalog().is_embedded(&package) {
            bail!(
                "`{package}` is the name of a prebuilt package: rename {}",
                file.display()
            );
        }
        let object = if file.extension().is_some_and(|e| e == "c") {
            let rep = eclat_kernel::modules::build(file, &self.include_dir())?;
            if !rep.accepted() {
                return Err(Rejected(Box::new(rep)).into());
            }
            PathBuf::from(rep.object)
        } else {
            file.to_path_buf()
        };
        let object = std::fs::canonicalize(&object).unwrap_or(object);
        let data = eclat_kernel::perms::read_as_invoking_user(&object)
            .with_context(|| format!("reading {}", object.display()))?;
        let m = meta::read(&package, &data)
            .map_err(|e| anyhow::anyhow!("{}: {e}", object.display()))?;
        if m.programs.is_empty() {
            bail!(
                "{} exports no HIKe program: mark it with EXPORT_HIKE_PROG(name) (see lesson 9)",
                object.display()
            );
        }
        let j = self.journal()?;
        let t0 = Instant::now();
        let mut st = HikeStore::load(self.env());
        let mut hike = self.open_hike(j)?;
        reconcile(&mut hike, &st)?;
        // every program of the module gets an ID, or nothing is loaded at all
        let keys: Vec<String> = m
            .programs
            .iter()
            .map(|p| format!("{package}.{}", p.name))
            .collect();
        st.ensure_free_ids(
            &registered_ids(&hike)?,
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
        st.save(self.env())?;
        let cat = {
            let mut c = self.catalog();
            c.add_learner(m.clone(), object.clone());
            c.clone()
        };
        let mut programs = Vec::new();
        let mut registered = registered_ids(&hike)?;
        for p in &m.programs {
            let key = format!("{package}.{}", p.name);
            let id = match st.programs.get(&key) {
                Some(&id) => {
                    hike.register(id, &package, &p.name)?;
                    if !registered.contains(&id) {
                        registered.push(id);
                    }
                    id
                }
                None => {
                    ensure_program(&mut hike, &cat, &mut st, &mut registered, &package, &p.name)?
                }
            };
            if !st.manual.contains(&key) {
                st.manual.push(key.clone());
            }
            programs.push((key, id));
        }
        eclat_kernel::crash_point("module-load:registered");
        st.save(self.env())?;
        self.commit(&mut hike)?;
        Ok(ModuleLoaded {
            programs,
            loads: loads_of(&hike),
            object: Some(object.display().to_string()),
            package,
            elapsed_ms: t0.elapsed().as_secs_f64() * 1e3,
        })
    }

    /// `module unload PKG.NAME|PKG|FILE`: unregisters programs registered with `module load`
    /// and frees their IDs; a learner's module's pins and maps go too and it is no longer
    /// importable. Refused (nothing changes) while a loaded script calls one of them.
    pub async fn module_unload(&self, spec: String) -> Result<ModuleUnloaded> {
        self.blocking(move |lab| {
            let spec = spec.strip_prefix("programs.").unwrap_or(&spec).to_string();
            let spec = if is_file_spec(&spec) {
                package_of_file(Path::new(&spec))
            } else {
                spec
            };
            let (package, program) = match spec.split_once('.') {
                Some((p, n)) => (p.to_string(), Some(n.to_string())),
                None => (spec.clone(), None),
            };
            let j = lab.journal()?;
            let mut st = HikeStore::load(lab.env());
            let keys: Vec<String> = st
                .programs
                .keys()
                .filter(|k| match &program {
                    Some(n) => **k == format!("{package}.{n}"),
                    None => k.split_once('.').is_some_and(|(p, _)| p == package),
                })
                .cloned()
                .collect();
            let learner = program.is_none() && st.modules.contains_key(&package);
            if keys.is_empty() && !learner {
                let mut loaded: BTreeMap<&str, usize> = BTreeMap::new();
                for k in st.programs.keys() {
                    *loaded.entry(k.split('.').next().unwrap_or(k)).or_default() += 1;
                }
                bail!(
                    "nothing named `{spec}` is loaded (registered: {}); write PACKAGE or \
                     PACKAGE.PROGRAM",
                    if loaded.is_empty() {
                        "nothing".to_string()
                    } else {
                        loaded
                            .iter()
                            .map(|(p, n)| {
                                format!("{p} ({n} program{})", if *n == 1 { "" } else { "s" })
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                );
            }
            for (script, s) in st.scripts.iter().chain(st.pending.iter()) {
                if let Some(k) = keys.iter().find(|k| s.programs.contains(k)) {
                    bail!(
                        "{script} calls {k}: `eclat-lab unload {script}` first; nothing was \
                         unloaded"
                    );
                }
            }
            let mut hike = lab.open_hike(j)?;
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
                let meta = lab
                    .catalog()
                    .learner_modules()
                    .iter()
                    .find(|p| p.label == label)
                    .map(|p| p.meta.clone());
                if let Some(m) = meta {
                    unpinned = hike.unpin_object(&label, &m)?;
                }
                st.modules.remove(&package);
                lab.catalog().remove_learner(&package);
            }
            st.save(lab.env())?;
            lab.commit(&mut hike)?;
            Ok(ModuleUnloaded {
                what: spec,
                freed,
                unpinned,
            })
        })
        .await
    }

    /// Compiles a C file with clang and the lab's flags, nothing more: `Ok(Err(refusal))`
    /// when it does not compile (`BuildError::Compile` holds clang's own lines).
    pub async fn clang(
        &self,
        file: PathBuf,
    ) -> Result<std::result::Result<(), eclat_kernel::modules::BuildError>> {
        self.blocking(move |lab| {
            let out = file.with_extension("o");
            let inc = eclat_kernel::modules::headers(&lab.include_dir())?;
            Ok(eclat_kernel::modules::compile(&file, &out, &inc).map(|_| ()))
        })
        .await
    }

    /// Loads a learner's object with fresh maps in a scratch directory of the lab, writes
    /// `writes` into them and runs `program` (or its only XDP program) on each packet
    /// (`BPF_PROG_TEST_RUN`), reading its maps and output frame after each run.
    pub async fn run_object(
        &self,
        object: PathBuf,
        program: Option<String>,
        writes: Vec<eclat_kernel::modules::MapWrite>,
        packets: Vec<Vec<u8>>,
    ) -> Result<Vec<eclat_kernel::modules::PacketRun>> {
        self.blocking(move |lab| {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            // recorded in the journal before it exists, removed when dropped
            let scratch = eclat_kernel::bpffs::Scratch::create(
                lab.env(),
                &format!(
                    "run-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ),
            )?;
            Ok(eclat_kernel::modules::run_packets(
                &object,
                program.as_deref(),
                &writes,
                &packets,
                scratch.path(),
            )?)
        })
        .await
    }

    /// Every HIKe program and loader a script can import, with signatures and IDs.
    pub async fn module_list(&self) -> Result<ModuleList> {
        self.blocking(|lab| {
            let st = crate::store::peek(lab.env());
            let cat = lab.catalog();
            let mut programs = Vec::new();
            for pkg in cat.all() {
                for p in &pkg.meta.programs {
                    let key = format!("{}.{}", p.package, p.name);
                    programs.push(ModuleRow {
                        id: st.programs.get(&key).copied(),
                        program: key,
                        params: p
                            .params
                            .iter()
                            .map(|a| format!("{} {}", a.ty.name(), a.name))
                            .collect(),
                        is_final: p.kind == hike::catalog::ProgramKind::Final,
                        learner: pkg.is_learners(),
                    });
                }
            }
            let loaders = cat
                .signatures()
                .loaders
                .iter()
                .map(|l| LoaderRow {
                    loader: format!("{}.{}", l.package, l.name),
                    maps: l.maps.iter().map(|m| m.name.clone()).collect(),
                })
                .collect();
            Ok(ModuleList { programs, loaders })
        })
        .await
    }
}

fn loads_of(hike: &eclat_kernel::hike::Hike) -> Vec<ProgramLoad> {
    hike.loads()
        .iter()
        .map(|l| ProgramLoad {
            program: format!("{}.{}", l.package, l.name),
            verify_ms: l.load_ns as f64 / 1e6,
        })
        .collect()
}
