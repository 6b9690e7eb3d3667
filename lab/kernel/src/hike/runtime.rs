//! The HIKe control plane: loads the VM and HIKe objects with aya, binds every object to the
//! one shared instance of each system map (pins under `<root>/maps/system/`), pins programs
//! at `<root>/progs/<package>/<name>` and their own maps at `<root>/maps/<package>/<owner>/<map>`,
//! registers programs by ID in `hvm_hprog_map`, stores chains, configures and attaches loaders.
//!
//! The lab's own instance ([`Hike::open_journaled`]) records every directory and pin in the
//! lab's journal, as provisional, *before* creating it (aya pins an object's maps while it
//! loads it: their paths are recorded before the load). The caller confirms them with
//! `Journal::commit` once its command has finished; a crash before that leaves recorded
//! leftovers that the next start removes. Scratch instances (tests, benches, `eclat-lab
//! test`) have no journal: their root is removed as a whole.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use aya::Ebpf;
use aya::maps::{Map, MapData, ProgramArray};
use aya::programs::links::FdLink;
use aya::programs::{ProgramError, Xdp, XdpMode};
use aya_obj::programs::XdpAttachType;
use hike::Insn;
use hike::layout;
use serde::Serialize;

use super::HikeError;
use super::tier::Tier;
use crate::journal::{Journal, Lifetime, Resource};
use eclat_model::meta::{self, ObjectMeta};

/// The four system maps (hike.md section 5).
pub const SYSTEM_MAPS: [&str; 4] = [
    "hvm_hprog_map",
    "hvm_chain_map",
    "hvm_cdata_map",
    "hvm_shmem_map",
];
/// The VM's own maps, pinned beside the system maps.
pub const VM_MAPS: [&str; 4] = ["hvm_config", "hvm_stats", "hvm_trace", "hvm_jit_map"];
/// The VM object and its program.
pub const VM_OBJECT: &str = "vm/hike_vm.o";
pub const VM_PROGRAM: &str = "hike_vm";
/// The same VM stepping through `bpf_loop` (a callback verified once): loaded instead when the
/// kernel's verifier refuses the unrolled interpreter loop of `VM_OBJECT`.
pub const VM_FALLBACK_OBJECT: &str = "vm/hike_vm_loop.o";
/// The VM build of the lab's scratch instances (lesson checks, `test`): the bpf_loop build,
/// which the kernel verifies in about 40 ms where the unrolled one takes about 360 (the
/// callback is verified once, the unrolled loop's every step). Their chains run compiled as
/// everywhere; only an interpreted chain (the trace on, or a chain the compiler leaves to the
/// VM) steps more slowly, by tens of ns per instruction, which a check's few hundred packets
/// never notice, while a learner's first check of a session waits for every VM verified.
/// The two builds share the VM's step code and are both held to the reference interpreter
/// (`hike_vm` tests). The learner's lab keeps `VM_OBJECT`: its interpreted chains are the ones
/// whose speed the lessons and the bench show.
pub const SCRATCH_VM_OBJECT: &str = VM_FALLBACK_OBJECT;
/// The slot of `hvm_hprog_map` that holds the VM.
pub const VM_PROG_ID: u32 = 0;

/// How loading one program went.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ProgramLoad {
    /// the package the program belongs to (the object file's stem unless the loader names another,
    /// e.g. `hike_default`)
    pub package: String,
    /// the program's name in its object (its ELF symbol, e.g. `hike_pass`)
    pub name: String,
    /// wall time of `BPF_PROG_LOAD` (verification and JIT)
    pub load_ns: u64,
    /// the size of the program as the kernel holds it after verification (its translated
    /// instructions), in bytes; 0 when the kernel does not say
    pub xlated_bytes: u32,
    /// the size of the native code the kernel's JIT made, in bytes; 0 when the program is not
    /// JIT-compiled
    pub jited_bytes: u32,
    /// how many instructions the verifier processed (the kernel's `verified_insns`, 5.16 and
    /// newer); null when the kernel does not report it
    pub verified_insns: Option<u32>,
}

/// An object loaded by this process.
pub struct LoadedObject {
    /// path below `ebpf-modules/obj`, e.g. `programs/hike_default.o`
    pub path: String,
    pub meta: ObjectMeta,
    pub ebpf: Ebpf,
    pub loads: Vec<ProgramLoad>,
    /// the object's bytes (instances of its programs are loaded from them)
    pub data: Vec<u8>,
}

/// A stored chain as read back from `hvm_chain_map`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StoredChain {
    /// the chain's ID: its key in `hvm_chain_map`
    pub id: u32,
    /// the store's generation: a nanosecond wall-clock stamp taken when the chain was written,
    /// never 0 and increasing, so a rewrite of the same ID is told apart
    pub generation: u64,
    /// the chain's bytecode as stored (not serialized)
    #[serde(skip)]
    pub insns: Vec<Insn>,
    /// the `hvm_jit_map` slots of its compiled form (empty: interpreted)
    #[serde(skip)]
    pub jit_slots: Vec<u32>,
}

/// An operation that opened the lab's instance with its journal and ends without
/// confirming what it made (an error returned early) undoes it here.
impl Drop for Hike {
    fn drop(&mut self) {
        if let Some(j) = self.journal.as_mut() {
            let _ = crate::cleanup::undo_provisional(&self.root, j);
        }
    }
}

pub struct Hike {
    root: PathBuf,
    objects: BTreeMap<String, LoadedObject>,
    hprog: ProgramArray<MapData>,
    /// the same map, for byte-level reads
    hprog_raw: MapData,
    chain_map: MapData,
    /// the lab's journal, for the lab's own instance (see the module's documentation)
    journal: Option<Journal>,
    /// compile stored chains (the VM's second tier, `jit.rs`)
    jit: bool,
    /// compiled chains linked into one program where possible (else instances)
    link: bool,
    /// how each chain stored by this instance runs
    tiers: BTreeMap<u32, Tier>,
    /// objects not loaded by this instance whose programs chains may call (by package)
    sources: BTreeMap<String, Vec<u8>>,
}

/// Records that `path` (a pin, or a directory when `dir`) is about to be created below
/// `root`, unless it exists already (aya reuses a pinned map; a directory is shared).
fn intend(journal: &mut Option<Journal>, path: &Path, dir: bool) -> Result<(), HikeError> {
    let Some(j) = journal else {
        return Ok(());
    };
    if path.exists() {
        return Ok(());
    }
    let path = path.to_path_buf();
    let res = if dir {
        Resource::Dir { path }
    } else {
        Resource::Pin { path }
    };
    j.add(res, Lifetime::Provisional)?;
    Ok(())
}

/// [`intend`] for several pins at once (one journal sync).
fn intend_pins(journal: &mut Option<Journal>, paths: &[PathBuf]) -> Result<(), HikeError> {
    let Some(j) = journal else {
        return Ok(());
    };
    let res = paths
        .iter()
        .filter(|p| !p.exists())
        .map(|p| Resource::Pin { path: p.clone() })
        .collect();
    j.add_many(res, Lifetime::Provisional)?;
    Ok(())
}

/// Records that `path` (a pin or an empty directory) was removed.
fn forget(journal: &mut Option<Journal>, path: &Path, dir: bool) -> Result<(), HikeError> {
    if let Some(j) = journal {
        let path = path.to_path_buf();
        j.del(&if dir {
            Resource::Dir { path }
        } else {
            Resource::Pin { path }
        })?;
    }
    Ok(())
}

/// Creates `dir` and its missing parents. With a journal, each new directory from `root`
/// down is recorded before it is made.
fn make_dirs(journal: &mut Option<Journal>, root: &Path, dir: &Path) -> Result<(), HikeError> {
    if journal.is_none() || !dir.starts_with(root) {
        return std::fs::create_dir_all(dir).map_err(io_err(dir));
    }
    let mut todo = Vec::new();
    let mut d = dir.to_path_buf();
    while !d.exists() {
        todo.push(d.clone());
        if d == root || !d.pop() {
            break;
        }
    }
    for d in todo.into_iter().rev() {
        intend(journal, &d, true)?;
        if let Some(parent) = d.parent() {
            crate::perms::make_dirs(parent, crate::perms::DIR_MODE).map_err(io_err(parent))?;
        }
        crate::perms::make_dir(&d, crate::perms::DIR_MODE).map_err(io_err(&d))?;
    }
    Ok(())
}

static LAST_GEN: AtomicU64 = AtomicU64::new(0);

/// A store generation: never 0, increasing within the process, and time-based so that a
/// later process does not repeat an earlier one's.
fn next_gen() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let mut prev = LAST_GEN.load(Ordering::Relaxed);
    loop {
        let g = now.max(prev + 1);
        match LAST_GEN.compare_exchange(prev, g, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return g,
            Err(p) => prev = p,
        }
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> HikeError + '_ {
    move |e| HikeError::Io {
        path: path.to_path_buf(),
        err: e,
    }
}

/// The packages of the embedded HIKe programs and loaders (`programs/*.o`, `loaders/*.o`):
/// what a reused instance keeps loaded ([`Hike::refresh`]).
pub fn hike_packages() -> Vec<String> {
    let mut v: Vec<String> = crate::objects::list()
        .iter()
        .filter(|p| p.starts_with("programs/") || p.starts_with("loaders/"))
        .map(|p| package_of(p))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The package of an object path: its file stem (`programs/hike_default.o` -> `hike_default`).
pub fn package_of(path: &str) -> String {
    Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Hike {
    /// Opens the HIKe instance under `root` (a directory on bpffs), loading the VM and
    /// creating the system maps if they are not pinned there yet.
    pub fn open(root: &Path) -> Result<Self, HikeError> {
        Self::open_with_vm(root, VM_OBJECT)
    }

    /// The same with another build of the VM (`vm/hike_vm_dyn.o`, for benchmarks).
    pub fn open_with_vm(root: &Path, vm_object: &str) -> Result<Self, HikeError> {
        Self::open_inner(root, vm_object, None)
    }

    /// The lab's own instance under its bpffs root: every directory and pin this `Hike`
    /// creates is recorded in `journal` as provisional before it exists. The caller commits
    /// the journal ([`Hike::journal`]) when its command has finished.
    pub fn open_journaled(root: &Path, journal: Journal) -> Result<Self, HikeError> {
        Self::open_inner(root, VM_OBJECT, Some(journal))
    }

    /// [`Hike::open_journaled`] with another build of the VM (a scratch lab's:
    /// [`SCRATCH_VM_OBJECT`]), loaded only if the instance has no VM yet.
    pub fn open_journaled_with_vm(
        root: &Path,
        journal: Journal,
        vm_object: &str,
    ) -> Result<Self, HikeError> {
        Self::open_inner(root, vm_object, Some(journal))
    }

    fn open_inner(
        root: &Path,
        vm_object: &str,
        mut journal: Option<Journal>,
    ) -> Result<Self, HikeError> {
        super::ensure_bpffs()?;
        let sys_dir = root.join("maps/system");
        make_dirs(&mut journal, root, &sys_dir)?;
        let mut objects = BTreeMap::new();
        let vm_pin = root.join("progs/hike_vm").join(VM_PROGRAM);
        let need_vm = !vm_pin.exists();
        if need_vm {
            let data = super::object(vm_object)?;
            let (path, obj) =
                match load_object(root, vm_object, Some("hike_vm"), data, &mut journal) {
                    Ok(obj) => (vm_object, obj),
                    Err(HikeError::Verifier { .. }) if vm_object == VM_OBJECT => {
                        let data = super::object(VM_FALLBACK_OBJECT)?;
                        let obj = load_object(
                            root,
                            VM_FALLBACK_OBJECT,
                            Some("hike_vm"),
                            data,
                            &mut journal,
                        )?;
                        (VM_FALLBACK_OBJECT, obj)
                    }
                    Err(e) => return Err(e),
                };
            objects.insert(path.to_string(), obj);
        }
        let open_map = |name: &str| -> Result<MapData, HikeError> {
            let p = sys_dir.join(name);
            MapData::from_pin(&p).map_err(|e| HikeError::Map {
                map: p.display().to_string(),
                detail: e.to_string(),
            })
        };
        let hprog =
            ProgramArray::try_from(Map::ProgramArray(open_map("hvm_hprog_map")?)).map_err(|e| {
                HikeError::Map {
                    map: "hvm_hprog_map".into(),
                    detail: e.to_string(),
                }
            })?;
        let chain_map = open_map("hvm_chain_map")?;
        let hprog_raw = open_map("hvm_hprog_map")?;
        let mut h = Self {
            root: root.to_path_buf(),
            objects,
            hprog,
            hprog_raw,
            chain_map,
            journal,
            jit: !super::tier::disabled_by_env(),
            link: !super::tier::linking_disabled_by_env(),
            tiers: BTreeMap::new(),
            sources: BTreeMap::new(),
        };
        if need_vm {
            h.register(VM_PROG_ID, "hike_vm", VM_PROGRAM)?;
        }
        Ok(h)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The lab's journal this instance records its pins in (none for a scratch instance).
    pub fn journal(&mut self) -> Option<&mut Journal> {
        self.journal.as_mut()
    }

    /// Loads (verifies) an embedded object, e.g. `programs/hike_default.o`, replacing the
    /// pins of an earlier load. Programs keep their IDs only if registered again.
    pub fn load_embedded(&mut self, path: &str) -> Result<&LoadedObject, HikeError> {
        let data = super::object(path)?;
        self.load_bytes(path, data)
    }

    /// Loads an object from bytes (e.g. a learner's module built with clang); `path` names it
    /// and its stem is the package.
    pub fn load_bytes(&mut self, path: &str, data: &[u8]) -> Result<&LoadedObject, HikeError> {
        let obj = load_object(&self.root, path, None, data, &mut self.journal)?;
        self.objects.insert(path.to_string(), obj);
        Ok(&self.objects[path])
    }

    /// Forgets an object loaded by this process: removes the pins of its programs
    /// (`progs/<pkg>/<name>`) and of its own maps. Programs still registered in
    /// `hvm_hprog_map` or attached stay alive until unregistered or detached; the VM and the
    /// system maps are never touched. Objects sharing a package name (programs and loaders
    /// of `hike_default`) keep their pins.
    pub fn unload(&mut self, path: &str) -> Result<bool, HikeError> {
        let Some(obj) = self.objects.get(path) else {
            return Ok(false);
        };
        let meta = obj.meta.clone();
        self.unpin_object(path, &meta)?;
        self.objects.remove(path);
        Ok(true)
    }

    /// Removes the pins of an object's programs and own maps, whoever loaded it (`object`
    /// names it in errors): what `unload` does for an object loaded by an earlier command.
    /// Returns how many pins went.
    pub fn unpin_object(&mut self, object: &str, meta: &ObjectMeta) -> Result<usize, HikeError> {
        if meta.package == "hike_vm" {
            return Err(HikeError::Object {
                object: object.into(),
                detail: "the VM and the system maps stay for the lab's lifetime".into(),
            });
        }
        let mut pins: Vec<PathBuf> = meta
            .xdp_programs
            .iter()
            .map(|n| self.prog_pin(&meta.package, n))
            .collect();
        for m in &meta.maps {
            if !SYSTEM_MAPS.contains(&m.name.as_str()) && !VM_MAPS.contains(&m.name.as_str()) {
                pins.push(map_pin_path(&self.root, meta, &m.name));
            }
        }
        let mut n = 0;
        for p in pins {
            if p.exists() {
                std::fs::remove_file(&p).map_err(io_err(&p))?;
                forget(&mut self.journal, &p, false)?;
                n += 1;
            }
            // empty owner / package directories go too
            let mut dir = p.parent().map(Path::to_path_buf);
            while let Some(d) = dir {
                if d == self.root || std::fs::remove_dir(&d).is_err() {
                    break;
                }
                forget(&mut self.journal, &d, true)?;
                dir = d.parent().map(Path::to_path_buf);
            }
        }
        Ok(n)
    }

    pub fn object(&self, path: &str) -> Option<&LoadedObject> {
        self.objects.get(path)
    }

    pub fn objects(&self) -> impl Iterator<Item = &LoadedObject> {
        self.objects.values()
    }

    /// Every program load made by this process (verifier time, sizes).
    pub fn loads(&self) -> Vec<ProgramLoad> {
        self.objects
            .values()
            .flat_map(|o| o.loads.clone())
            .collect()
    }

    /// The catalog of everything loaded by this process.
    pub fn catalog(&self) -> hike::catalog::Catalog {
        eclat_model::meta::catalog(self.objects.values().map(|o| &o.meta))
    }

    pub fn prog_pin(&self, package: &str, name: &str) -> PathBuf {
        self.root.join("progs").join(package).join(name)
    }

    /// An XDP program of a loaded object, by package and name; falls back to its pin.
    fn with_program<T>(
        &self,
        package: &str,
        name: &str,
        f: impl FnOnce(&Xdp) -> Result<T, HikeError>,
    ) -> Result<T, HikeError> {
        for o in self.objects.values() {
            if o.meta.package == package
                && let Some(p) = o.ebpf.program(name)
            {
                let xdp: &Xdp = p.try_into().map_err(|e: ProgramError| HikeError::Program {
                    program: name.into(),
                    detail: e.to_string(),
                })?;
                return f(xdp);
            }
        }
        let pin = self.prog_pin(package, name);
        let xdp =
            Xdp::from_pin(&pin, XdpAttachType::Interface).map_err(|e| HikeError::NoProgram {
                program: format!("{package}.{name}"),
                detail: format!(
                    "not loaded by this process and no pin at {}: {e}",
                    pin.display()
                ),
            })?;
        f(&xdp)
    }

    /// The kernel program ID in slot `id` of `hvm_hprog_map`.
    pub(super) fn registered_kernel_id(&self, id: u32) -> Result<Option<u32>, HikeError> {
        let mut v = [0u8; 4];
        let found =
            crate::sys::lookup(self.hprog_fd(), &id.to_ne_bytes(), &mut v).map_err(|e| {
                HikeError::Map {
                    map: "hvm_hprog_map".into(),
                    detail: e.to_string(),
                }
            })?;
        Ok(found.then(|| u32::from_ne_bytes(v)))
    }

    pub(super) fn register_slot(
        &mut self,
        id: u32,
        package: &str,
        name: &str,
    ) -> Result<(), HikeError> {
        if id >= hike::MAX_PROGRAMS {
            return Err(HikeError::BadId { id });
        }
        if id == VM_PROG_ID && name != VM_PROGRAM {
            return Err(HikeError::BadId { id });
        }
        let hprog = &mut self.hprog;
        let objects = &self.objects;
        let set = |xdp: &Xdp, hprog: &mut ProgramArray<MapData>| {
            let fd = xdp.fd().map_err(|e| HikeError::Program {
                program: name.into(),
                detail: e.to_string(),
            })?;
            hprog.set(id, fd, 0).map_err(|e| HikeError::Map {
                map: "hvm_hprog_map".into(),
                detail: e.to_string(),
            })
        };
        for o in objects.values() {
            if o.meta.package == package
                && let Some(p) = o.ebpf.program(name)
            {
                let xdp: &Xdp = p.try_into().map_err(|e: ProgramError| HikeError::Program {
                    program: name.into(),
                    detail: e.to_string(),
                })?;
                return set(xdp, hprog);
            }
        }
        let pin = self.root.join("progs").join(package).join(name);
        let xdp =
            Xdp::from_pin(&pin, XdpAttachType::Interface).map_err(|e| HikeError::NoProgram {
                program: format!("{package}.{name}"),
                detail: e.to_string(),
            })?;
        set(&xdp, hprog)
    }

    pub(super) fn unregister_slot(&mut self, id: u32) -> Result<(), HikeError> {
        match self.hprog.clear_index(&id) {
            Ok(()) => Ok(()),
            Err(aya::maps::MapError::SyscallError(e))
                if e.io_error.raw_os_error() == Some(libc::ENOENT) =>
            {
                Ok(())
            }
            Err(e) => Err(HikeError::Map {
                map: "hvm_hprog_map".into(),
                detail: e.to_string(),
            }),
        }
    }

    /// The kernel program ID in each used slot of `hvm_hprog_map`.
    pub fn registered(&self) -> Result<Vec<(u32, u32)>, HikeError> {
        let fd = self.hprog_fd();
        let mut out = Vec::new();
        for slot in 0..hike::MAX_PROGRAMS {
            let mut v = [0u8; 4];
            if crate::sys::lookup(fd, &slot.to_ne_bytes(), &mut v).map_err(|e| HikeError::Map {
                map: "hvm_hprog_map".into(),
                detail: e.to_string(),
            })? {
                out.push((slot, u32::from_ne_bytes(v)));
            }
        }
        Ok(out)
    }

    /// The lowest free program ID (1..255), for allocation with reuse.
    pub fn free_program_id(&self) -> Result<Option<u32>, HikeError> {
        let used: Vec<u32> = self.registered()?.into_iter().map(|(s, _)| s).collect();
        Ok((1..hike::MAX_PROGRAMS).find(|i| !used.contains(i)))
    }

    fn hprog_fd(&self) -> BorrowedFd<'_> {
        self.hprog_raw.fd().as_fd()
    }

    /// Writes chain `id`'s value (a new generation) and tells every CPU.
    pub(super) fn write_chain(
        &mut self,
        id: u32,
        insns: &[Insn],
        jit_slots: &[u32],
    ) -> Result<u64, HikeError> {
        let generation = next_gen();
        let value = encode_chain(id, generation, insns, jit_slots);
        crate::sys::update(self.chain_map.fd().as_fd(), &id.to_ne_bytes(), &value).map_err(
            |e| HikeError::Map {
                map: "hvm_chain_map".into(),
                detail: if e.raw_os_error() == Some(libc::E2BIG) {
                    format!("{e}: all {} chain slots are used", hike::MAX_CHAINS)
                } else {
                    e.to_string()
                },
            },
        )?;
        self.bump_epoch()?;
        Ok(generation)
    }

    /// The `hvm_jit_map` slots of stored chain `id` (None: no such chain).
    pub fn stored_jit_slots(&self, id: u32) -> Result<Option<Vec<u32>>, HikeError> {
        Ok(self.stored(id)?.map(|c| c.jit_slots))
    }

    fn stored(&self, id: u32) -> Result<Option<StoredChain>, HikeError> {
        let mut v = vec![0u8; layout::chain::SIZE];
        let found = crate::sys::lookup(self.chain_map.fd().as_fd(), &id.to_ne_bytes(), &mut v)
            .map_err(|e| HikeError::Map {
                map: "hvm_chain_map".into(),
                detail: e.to_string(),
            })?;
        Ok(if found { decode_chain(&v) } else { None })
    }

    /// Tells this instance where the programs of `package` come from when another process
    /// loaded them (a learner's module): the chain compiler loads instances from it.
    pub fn add_object_source(&mut self, package: &str, data: Vec<u8>) {
        self.sources.insert(package.to_string(), data);
    }

    /// The object (bytes and metadata) holding program `package.name`: an object this
    /// instance loaded, one it was told of, or an embedded one.
    pub(super) fn object_with(&self, package: &str, name: &str) -> Option<(Vec<u8>, ObjectMeta)> {
        let has = |m: &ObjectMeta| m.package == package && m.xdp_programs.iter().any(|p| p == name);
        if let Some(o) = self.objects.values().find(|o| has(&o.meta)) {
            return Some((o.data.clone(), o.meta.clone()));
        }
        if let Some(data) = self.sources.get(package)
            && let Ok(meta) = meta::read(package, data)
            && has(&meta)
        {
            return Some((data.clone(), meta));
        }
        crate::objects::list().into_iter().find_map(|path| {
            if package_of(&path) != package {
                return None;
            }
            let data = crate::objects::get(&path)?;
            let meta = meta::read(package, data).ok()?;
            has(&meta).then(|| (data.to_vec(), meta))
        })
    }

    /// Turns the chain compiler on or off for the chains this instance stores from now on
    /// (on unless `ECLAT_LAB_JIT=off`).
    pub fn set_jit(&mut self, on: bool) {
        self.jit = on;
    }

    /// Links compiled chains into one program each (the default, unless
    /// `ECLAT_LAB_LINK=off`), or installs one instance per call site.
    pub fn set_link(&mut self, on: bool) {
        self.link = on;
    }

    pub(super) fn links(&self) -> bool {
        self.link
    }

    pub(super) fn jit_on(&self) -> bool {
        self.jit
    }

    pub(super) fn set_tier(&mut self, id: u32, tier: Tier) {
        self.tiers.insert(id, tier);
    }

    pub(super) fn forget_tier(&mut self, id: u32) {
        self.tiers.remove(&id);
    }

    /// How chain `id`, stored by this instance, runs.
    pub fn tier(&self, id: u32) -> Option<&Tier> {
        self.tiers.get(&id)
    }

    /// Deletes chain `id`'s value (and tells every CPU); `false` when none was stored.
    pub(super) fn delete_chain_value(&mut self, id: u32) -> Result<bool, HikeError> {
        let found =
            crate::sys::delete(self.chain_map.fd().as_fd(), &id.to_ne_bytes()).map_err(|e| {
                HikeError::Map {
                    map: "hvm_chain_map".into(),
                    detail: e.to_string(),
                }
            })?;
        self.bump_epoch()?;
        Ok(found)
    }

    pub fn chains(&self) -> Result<Vec<StoredChain>, HikeError> {
        let fd = self.chain_map.fd().as_fd();
        let mut out = Vec::new();
        let mut key: Option<[u8; 4]> = None;
        loop {
            let mut next = [0u8; 4];
            let more =
                crate::sys::next_key(fd, key.as_ref().map(|k| &k[..]), &mut next).map_err(|e| {
                    HikeError::Map {
                        map: "hvm_chain_map".into(),
                        detail: e.to_string(),
                    }
                })?;
            if !more {
                break;
            }
            let mut v = vec![0u8; layout::chain::SIZE];
            if crate::sys::lookup(fd, &next, &mut v).unwrap_or(false)
                && let Some(c) = decode_chain(&v)
            {
                out.push(c);
            }
            key = Some(next);
        }
        out.sort_by_key(|c| c.id);
        Ok(out)
    }

    /// The pin path of a map declared by an object of `package`: one this process loaded,
    /// else one an earlier process loaded (an embedded object, or one this instance was told
    /// of) whose map is pinned.
    pub fn map_pin(&self, package: &str, map: &str) -> Option<PathBuf> {
        if let Some(o) = self
            .objects
            .values()
            .find(|o| o.meta.package == package && o.meta.map(map).is_some())
        {
            return Some(map_pin_path(&self.root, &o.meta, map));
        }
        let declares = |data: &[u8]| {
            meta::read(package, data)
                .ok()
                .filter(|m| m.map(map).is_some())
        };
        let meta = self
            .sources
            .get(package)
            .and_then(|d| declares(d))
            .or_else(|| {
                crate::objects::list()
                    .into_iter()
                    .filter(|p| package_of(p) == package)
                    .find_map(|p| declares(crate::objects::get(&p)?))
            })?;
        Some(map_pin_path(&self.root, &meta, map)).filter(|p| p.exists())
    }

    /// Writes one entry of a map of `package` (key and value as raw bytes).
    pub fn map_update(
        &self,
        package: &str,
        map: &str,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), HikeError> {
        let md = self.open_map(package, map)?;
        crate::sys::update(md.fd().as_fd(), key, value).map_err(|e| HikeError::Map {
            map: map.into(),
            detail: e.to_string(),
        })
    }

    /// Reads one entry (per-CPU maps: all CPUs' values, concatenated with 8-byte stride).
    pub fn map_lookup(
        &self,
        package: &str,
        map: &str,
        key: &[u8],
        value_len: usize,
    ) -> Result<Option<Vec<u8>>, HikeError> {
        let md = self.open_map(package, map)?;
        let mut v = vec![0u8; value_len];
        let found =
            crate::sys::lookup(md.fd().as_fd(), key, &mut v).map_err(|e| HikeError::Map {
                map: map.into(),
                detail: e.to_string(),
            })?;
        Ok(found.then_some(v))
    }

    /// Sum over CPUs of a per-CPU u64 counter (e.g. `monitor`'s `map_pcpu_mon`), 0 if absent.
    pub fn percpu_u64_sum(&self, package: &str, map: &str, key: &[u8]) -> Result<u64, HikeError> {
        let ncpu = crate::sys::possible_cpus();
        Ok(self
            .map_lookup(package, map, key, 8 * ncpu)?
            .map(|v| {
                v.chunks_exact(8)
                    .map(|c| u64::from_ne_bytes(c.try_into().expect("8")))
                    .sum()
            })
            .unwrap_or(0))
    }

    pub fn open_map(&self, package: &str, map: &str) -> Result<MapData, HikeError> {
        let p = self.map_pin(package, map).ok_or_else(|| HikeError::NoMap {
            map: format!("{package}.{map}"),
        })?;
        MapData::from_pin(&p).map_err(|e| HikeError::Map {
            map: p.display().to_string(),
            detail: e.to_string(),
        })
    }

    /// Points loader `package.loader`'s single-entry or keyed map at a chain. For
    /// `ip6_simple_classifier` the key is 0u32; for the other loaders the destination
    /// address (16 bytes) or the UDP port (u16, host order).
    pub fn set_loader_chain(
        &self,
        package: &str,
        map: &str,
        key: &[u8],
        chain_id: u32,
    ) -> Result<(), HikeError> {
        self.map_update(package, map, key, &chain_id.to_ne_bytes())
    }

    /// Sets slot `slot` of a prog array `map_package.map` to program `package.name` (raw
    /// pipelines).
    pub fn prog_array_set(
        &self,
        map_package: &str,
        map: &str,
        slot: u32,
        package: &str,
        name: &str,
    ) -> Result<(), HikeError> {
        let md = self.open_map(map_package, map)?;
        let mut pa = ProgramArray::try_from(Map::ProgramArray(md)).map_err(|e| HikeError::Map {
            map: map.into(),
            detail: e.to_string(),
        })?;
        self.with_program(package, name, |xdp| {
            let fd = xdp.fd().map_err(|e| HikeError::Program {
                program: name.into(),
                detail: e.to_string(),
            })?;
            pa.set(slot, fd, 0).map_err(|e| HikeError::Map {
                map: map.into(),
                detail: e.to_string(),
            })
        })
    }

    /// Empties slot `slot` of a prog array of `map_package`.
    pub fn prog_array_clear(
        &self,
        map_package: &str,
        map: &str,
        slot: u32,
    ) -> Result<(), HikeError> {
        let md = self.open_map(map_package, map)?;
        let _ = crate::sys::delete(md.fd().as_fd(), &slot.to_ne_bytes());
        Ok(())
    }

    /// A file descriptor of program `package.name` of its own (a duplicate of the loaded
    /// program's, or opened from its pin).
    pub fn program_fd(&self, package: &str, name: &str) -> Result<OwnedFd, HikeError> {
        self.with_program(package, name, |xdp| {
            let fd = xdp.fd().map_err(|e| HikeError::Program {
                program: name.into(),
                detail: e.to_string(),
            })?;
            fd.as_fd()
                .try_clone_to_owned()
                .map_err(|e| HikeError::Program {
                    program: name.into(),
                    detail: e.to_string(),
                })
        })
    }

    /// Runs program `package.name` once per `repeat` on `packet` with `BPF_PROG_TEST_RUN`.
    pub fn test_run(
        &self,
        package: &str,
        name: &str,
        packet: &[u8],
        repeat: u32,
    ) -> Result<super::TestRunOutput, HikeError> {
        self.with_program(package, name, |xdp| super::test_run(xdp, packet, repeat))
    }

    /// Attaches program `package.name` (a loader, or any XDP program) to `ifindex`, inside
    /// network namespace `netns` when given, and pins the BPF link at
    /// `<root>/links/<tag>/<name>` so that the attachment outlives this process.
    pub fn attach(
        &mut self,
        package: &str,
        name: &str,
        ifindex: u32,
        netns: Option<BorrowedFd<'_>>,
        tag: &str,
    ) -> Result<PathBuf, HikeError> {
        let dir = self.root.join("links").join(tag);
        make_dirs(&mut self.journal, &self.root, &dir)?;
        let link_pin = dir.join(name);
        if link_pin.exists() {
            std::fs::remove_file(&link_pin).map_err(io_err(&link_pin))?;
        }
        intend(&mut self.journal, &link_pin, false)?;
        let prog_pin = self.prog_pin(package, name);
        let attach = || -> Result<(), String> {
            let mut prog = Xdp::from_pin(&prog_pin, XdpAttachType::Interface)
                .map_err(|e| format!("{}: {e}", prog_pin.display()))?;
            let id = prog
                .attach_to_if_index(ifindex, XdpMode::Default)
                .map_err(|e| e.to_string())?;
            let link = prog.take_link(id).map_err(|e| e.to_string())?;
            let fd_link: FdLink = link
                .try_into()
                .map_err(|e: aya::programs::links::LinkError| e.to_string())?;
            fd_link.pin(&link_pin).map_err(|e| e.to_string())?;
            Ok(())
        };
        let r = match netns {
            Some(ns) => crate::netns::in_netns(&ns, attach).unwrap_or_else(|e| Err(e.to_string())),
            None => attach(),
        };
        if r.is_err() {
            forget(&mut self.journal, &link_pin, false)?;
        }
        r.map_err(|detail| HikeError::Attach {
            program: format!("{package}.{name}"),
            ifindex,
            detail,
        })?;
        Ok(link_pin)
    }

    /// Attaches loader `package.name` to `node:dev` of the lab's topology (the interface is
    /// looked up inside the node's namespace); the link is pinned under `links/node/dev`.
    pub fn attach_to_node(
        &mut self,
        env: &crate::LabEnv,
        package: &str,
        name: &str,
        node: &str,
        dev: &str,
    ) -> Result<PathBuf, HikeError> {
        let setup = |detail: String| HikeError::Attach {
            program: format!("{package}.{name}"),
            ifindex: 0,
            detail,
        };
        let (_, ns) =
            crate::nodes::resolve_dev(env, node, dev).map_err(|e| setup(e.to_string()))?;
        let nsfd = crate::netns::open(&ns).map_err(|e| setup(e.to_string()))?;
        let ifindex = crate::netns::in_netns(&nsfd, || nix::net::if_::if_nametoindex(dev))
            .map_err(|e| setup(e.to_string()))?
            .map_err(|e| setup(format!("no interface {dev} in {node}: {e}")))?;
        self.attach(
            package,
            name,
            ifindex,
            Some(nsfd.as_fd()),
            &format!("{node}/{dev}"),
        )
    }

    /// Detaches what `attach` pinned under `tag`: removing the link's last reference.
    pub fn detach(&mut self, name: &str, tag: &str) -> Result<bool, HikeError> {
        let link_pin = self.root.join("links").join(tag).join(name);
        if !link_pin.exists() {
            return Ok(false);
        }
        std::fs::remove_file(&link_pin).map_err(io_err(&link_pin))?;
        forget(&mut self.journal, &link_pin, false)?;
        Ok(true)
    }

    /// Reads `hvm_config[0]`: the map and its value (`struct hvm_config`: trace, the test
    /// clock, epoch).
    fn config(&self) -> Result<(MapData, [u8; 16]), HikeError> {
        let p = self.root.join("maps/system/hvm_config");
        let md = MapData::from_pin(&p).map_err(|e| HikeError::Map {
            map: p.display().to_string(),
            detail: e.to_string(),
        })?;
        let mut v = [0u8; 16];
        crate::sys::lookup(md.fd().as_fd(), &0u32.to_ne_bytes(), &mut v).map_err(|e| {
            HikeError::Map {
                map: "hvm_config".into(),
                detail: e.to_string(),
            }
        })?;
        Ok((md, v))
    }

    fn write_config(&self, md: &MapData, v: &[u8; 16]) -> Result<(), HikeError> {
        crate::sys::update(md.fd().as_fd(), &0u32.to_ne_bytes(), v).map_err(|e| HikeError::Map {
            map: "hvm_config".into(),
            detail: e.to_string(),
        })
    }

    /// Tells every CPU that the chain store changed (see `hvm_load_chain` in the VM): frames
    /// re-check their cached bytecode against `hvm_chain_map` on their next chain entry.
    fn bump_epoch(&self) -> Result<(), HikeError> {
        let (md, mut v) = self.config()?;
        v[8..16].copy_from_slice(&next_gen().to_ne_bytes());
        self.write_config(&md, &v)
    }

    /// Turns the VM's trace (ring buffer `hvm_trace`) on or off.
    pub fn set_trace(&self, on: bool) -> Result<(), HikeError> {
        let (md, mut v) = self.config()?;
        v[0..4].copy_from_slice(&(on as u32).to_ne_bytes());
        self.write_config(&md, &v)
    }

    /// Sets the test clock (`hvm_config`'s third word, `hike/clock.h`): from now on the
    /// programs that read the time through `hike_now_ns()` (the token buckets of `meter`,
    /// `ip6_hset_srcdst`'s expiry, `lse`) see `ms` milliseconds, until it is set again;
    /// `None` gives them the kernel's clock back. For tests and `test --clock`: what
    /// depends on time becomes exact, whatever the load of the machine.
    pub fn set_test_clock(&self, ms: Option<std::num::NonZeroU32>) -> Result<(), HikeError> {
        let (md, mut v) = self.config()?;
        v[4..8].copy_from_slice(&ms.map_or(0, |m| m.get()).to_ne_bytes());
        self.write_config(&md, &v)
    }

    /// The VM's abort counters (`hvm_stats`), summed over CPUs, by reason.
    pub fn abort_stats(&self) -> Result<Vec<(super::AbortReason, u64)>, HikeError> {
        let p = self.root.join("maps/system/hvm_stats");
        let md = MapData::from_pin(&p).map_err(|e| HikeError::Map {
            map: p.display().to_string(),
            detail: e.to_string(),
        })?;
        let ncpu = crate::sys::possible_cpus();
        let mut out = Vec::new();
        for r in 1..16u32 {
            let mut v = vec![0u8; 8 * ncpu];
            if crate::sys::lookup(md.fd().as_fd(), &r.to_ne_bytes(), &mut v).unwrap_or(false) {
                let sum: u64 = v
                    .chunks_exact(8)
                    .map(|c| u64::from_ne_bytes(c.try_into().expect("8")))
                    .sum();
                if let Some(e) = super::AbortReason::from_code(r)
                    && sum > 0
                {
                    out.push((e, sum));
                }
            }
        }
        Ok(out)
    }

    /// Brings a scratch instance back to what [`Hike::open`] made: the VM and its system maps
    /// alone. Every stored chain goes (its compiled programs first), every program ID but the
    /// VM's is emptied, the pins of every object and attachment go (their programs and maps
    /// with their last reference), the VM's abort counters are zeroed and its trace is off.
    /// Not for the lab's own instance (the one with a journal): its objects belong to loaded
    /// scripts. [`Hike::refresh`] is the cheaper way back for an instance used again.
    pub fn recycle(&mut self) -> Result<(), HikeError> {
        self.not_the_labs()?;
        for c in self.chains()? {
            self.delete_chain(c.id)?;
        }
        for (slot, _) in self.registered()? {
            if slot != VM_PROG_ID {
                self.unregister_slot(slot)?;
            }
        }
        self.remove_pins(&|_| false)?;
        self.reset_vm_state()
    }

    /// Makes an instance used again (`test`'s) as good as new for what its next user can see,
    /// without the kernel work of unloading: the embedded objects stay loaded and registered
    /// (each keeps its program IDs), every map of theirs is emptied as a fresh load would have
    /// it (no embedded object has initialised or zeroed global data, only maps, so emptied
    /// maps are their whole state); other objects (a learner's modules) and attachments lose
    /// their pins and are loaded again when needed; the VM's counters are zeroed and its trace
    /// is off. Chains stay stored until the next user stores its own under the same IDs: no
    /// loader entry of an emptied map points at them, so nothing runs them. Deleting entries
    /// of the VM's program arrays costs tens of milliseconds each; this deletes none.
    pub fn refresh(&mut self) -> Result<(), HikeError> {
        self.not_the_labs()?;
        let embedded = hike_packages();
        self.remove_pins(&|pkg| embedded.iter().any(|e| e == pkg))?;
        self.sources.clear();
        self.empty_maps()
    }

    /// Empties every map of the loaded objects (not the system maps: the chains stay stored)
    /// as a fresh load would have them, zeroes the VM's counters and turns its trace off:
    /// what a packet of an earlier test left behind is gone, and the objects, their program
    /// IDs and the stored chains stay (a `test` of several groups of packets runs each group
    /// from this state).
    pub fn empty_maps(&mut self) -> Result<(), HikeError> {
        self.not_the_labs()?;
        let mut found = Vec::new();
        crate::bpffs::walk(&self.root.join("maps"), &mut found);
        let base = self.root.join("maps");
        for (p, dir) in found {
            if dir || p.starts_with(base.join("system")) {
                continue;
            }
            let Ok(m) = crate::maps::map_ref(&p, &base) else {
                continue;
            };
            // program arrays and ring buffers hold no state a packet leaves
            if crate::maps::clear_method(&m.map_type).is_ok() {
                crate::maps::clear(&m).map_err(|e| HikeError::Map {
                    map: m.name.clone(),
                    detail: e.to_string(),
                })?;
            }
        }
        self.reset_vm_state()
    }

    fn not_the_labs(&self) -> Result<(), HikeError> {
        if self.journal.is_some() {
            return Err(HikeError::Object {
                object: self.root.display().to_string(),
                detail: "the lab's own HIKe instance is never emptied this way".into(),
            });
        }
        Ok(())
    }

    /// Removes the pins below `progs/`, `maps/` and `links/` but the VM's, the system maps and
    /// those of the packages `keep` names.
    fn remove_pins(&mut self, keep: &dyn Fn(&str) -> bool) -> Result<(), HikeError> {
        for area in ["progs", "maps", "links"] {
            let dir = self.root.join(area);
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name == "hike_vm" || name == "system" || (area != "links" && keep(&name)) {
                    continue;
                }
                let p = e.path();
                let r = if e.file_type().is_ok_and(|t| t.is_dir()) {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
                r.map_err(io_err(&p))?;
            }
        }
        self.objects
            .retain(|_, o| o.meta.package == "hike_vm" || keep(&o.meta.package));
        self.tiers.clear();
        Ok(())
    }

    /// The VM's abort counters zeroed, its trace off.
    fn reset_vm_state(&mut self) -> Result<(), HikeError> {
        let p = self.root.join("maps/system/hvm_stats");
        let md = MapData::from_pin(&p).map_err(|e| HikeError::Map {
            map: p.display().to_string(),
            detail: e.to_string(),
        })?;
        let zero = vec![0u8; 8 * crate::sys::possible_cpus()];
        for r in 0..16u32 {
            // an array: every key exists; a key past its end is no counter
            let _ = crate::sys::update(md.fd().as_fd(), &r.to_ne_bytes(), &zero);
        }
        self.set_trace(false)
    }

    /// A reader of the VM's trace ring buffer.
    pub fn trace_reader(&self) -> Result<super::TraceReader, HikeError> {
        super::TraceReader::open(&self.root.join("maps/system/hvm_trace"))
    }

    /// A reader of `show_pkt_info`'s ring buffer (`programs.info` must be loaded).
    pub fn pkt_info_reader(&self) -> Result<super::PktInfoReader, HikeError> {
        let p = self
            .map_pin("info", "pkt_info_events")
            .ok_or_else(|| HikeError::NoMap {
                map: "info.pkt_info_events".into(),
            })?;
        super::PktInfoReader::open(&p)
    }
}

/// Where a map of an object is pinned.
pub fn map_pin_path(root: &Path, meta: &ObjectMeta, map: &str) -> PathBuf {
    if SYSTEM_MAPS.contains(&map) || VM_MAPS.contains(&map) {
        return root.join("maps/system").join(map);
    }
    match meta.owner_of(map) {
        Some(owner) => root.join("maps").join(&meta.package).join(owner).join(map),
        None => root.join("maps").join(&meta.package).join(map),
    }
}

fn load_object(
    root: &Path,
    path: &str,
    package: Option<&str>,
    data: &[u8],
    journal: &mut Option<Journal>,
) -> Result<LoadedObject, HikeError> {
    let package = package
        .map(str::to_string)
        .unwrap_or_else(|| package_of(path));
    let meta = meta::read(&package, data).map_err(|e| HikeError::Object {
        object: path.into(),
        detail: e.to_string(),
    })?;
    let mut pins = Vec::new();
    for m in &meta.maps {
        let p = map_pin_path(root, &meta, &m.name);
        if let Some(dir) = p.parent() {
            make_dirs(journal, root, dir)?;
        }
        pins.push((m.name.as_str(), p));
    }
    // aya pins the maps while loading the object (or reuses the pins already there)
    intend_pins(
        journal,
        &pins.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>(),
    )?;
    let mut ebpf = super::with_object_loader(data, |loader| {
        for (name, p) in &pins {
            loader.map_pin_path(super::intern(name), p.clone());
        }
        loader.load(data)
    })
    .map_err(|e| HikeError::Object {
        object: path.into(),
        detail: e.to_string(),
    })?;
    crate::crash_point("hike:maps-pinned");
    let prog_dir = root.join("progs").join(&package);
    make_dirs(journal, root, &prog_dir)?;
    // verify every program first; then record all their pins (one journal sync), pin them
    let mut loaded = Vec::new();
    for name in &meta.xdp_programs {
        let Some(p) = ebpf.program_mut(name) else {
            continue;
        };
        let xdp: &mut Xdp = p.try_into().map_err(|e: ProgramError| HikeError::Program {
            program: name.clone(),
            detail: e.to_string(),
        })?;
        let t0 = Instant::now();
        xdp.load().map_err(|e| match e {
            ProgramError::LoadError {
                io_error,
                verifier_log,
            } => HikeError::Verifier {
                program: format!("{package}.{name}"),
                detail: io_error.to_string(),
                verifier_log: verifier_log.to_string(),
            },
            other => HikeError::Program {
                program: name.clone(),
                detail: other.to_string(),
            },
        })?;
        loaded.push((name, t0.elapsed().as_nanos() as u64, prog_dir.join(name)));
    }
    for (_, _, pin) in &loaded {
        if pin.exists() {
            std::fs::remove_file(pin).map_err(io_err(pin))?;
        }
    }
    intend_pins(
        journal,
        &loaded.iter().map(|(_, _, p)| p.clone()).collect::<Vec<_>>(),
    )?;
    let mut loads = Vec::new();
    for (name, load_ns, pin) in loaded {
        let xdp: &mut Xdp = ebpf
            .program_mut(name)
            .expect("loaded above")
            .try_into()
            .map_err(|e: ProgramError| HikeError::Program {
                program: name.clone(),
                detail: e.to_string(),
            })?;
        xdp.pin(&pin).map_err(|e| HikeError::Program {
            program: name.clone(),
            detail: format!("pin {}: {e}", pin.display()),
        })?;
        crate::crash_point("hike:prog-pinned");
        let info = xdp.info().map_err(|e| HikeError::Program {
            program: name.clone(),
            detail: e.to_string(),
        })?;
        loads.push(ProgramLoad {
            package: package.clone(),
            name: name.clone(),
            load_ns,
            xlated_bytes: info.size_translated().unwrap_or(0),
            jited_bytes: info.size_jitted(),
            verified_insns: info.verified_instruction_count(),
        });
    }
    Ok(LoadedObject {
        path: path.to_string(),
        meta,
        ebpf,
        loads,
        data: data.to_vec(),
    })
}

/// The 768-byte `struct hike_chain` value of a stored chain; `jit_slots` records the
/// `hvm_jit_map` slots of its compiled form (see `jit.rs`), as a bitmap.
pub fn encode_chain(id: u32, generation: u64, insns: &[Insn], jit_slots: &[u32]) -> Vec<u8> {
    let mut v = vec![0u8; layout::chain::SIZE];
    for s in jit_slots.iter().filter(|s| **s < 256) {
        v[layout::chain::JIT_SLOTS + (*s / 8) as usize] |= 1 << (s % 8);
    }
    v[layout::chain::CHAIN_ID..][..4].copy_from_slice(&id.to_le_bytes());
    v[layout::chain::NINSN..][..2].copy_from_slice(&(insns.len() as u16).to_le_bytes());
    v[layout::chain::PAD..][..8].copy_from_slice(&generation.to_le_bytes());
    for (i, insn) in insns.iter().enumerate() {
        v[layout::chain::INSNS + 8 * i..][..8].copy_from_slice(&insn.to_bytes());
    }
    v
}

pub fn decode_chain(v: &[u8]) -> Option<StoredChain> {
    if v.len() < layout::chain::SIZE {
        return None;
    }
    let id = u32::from_le_bytes(v[0..4].try_into().ok()?);
    let n = u16::from_le_bytes(v[4..6].try_into().ok()?) as usize;
    let generation = u64::from_le_bytes(v[96..104].try_into().ok()?);
    let bytes = v.get(layout::chain::INSNS..layout::chain::INSNS + 8 * n.min(64))?;
    Some(StoredChain {
        id,
        generation,
        insns: Insn::decode_all(bytes)?,
        jit_slots: (0..256u32)
            .filter(|s| v[layout::chain::JIT_SLOTS + (*s / 8) as usize] >> (s % 8) & 1 == 1)
            .collect(),
    })
}
