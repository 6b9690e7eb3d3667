//! Compiled chains in the kernel: the VM's second tier (the compiler and the design are in
//! `hike::jit`). [`Hike::store_chain`] compiles a chain and installs it; a chain the compiler
//! refuses, or whose programs cannot be installed, stays interpreted and says why.
//! Deleting a chain removes what was installed for it.
//!
//! What is installed, all in `hvm_jit_map` (pinned beside the system maps, so everything
//! goes with `reset` or a scratch root's removal; nothing else is pinned). For every call
//! site, a copy of the called program's code with the site's continuation in `__hike_cont`
//! and its own hand-over stamped over the templates of `api.h` (`super::stamp`); calls of
//! verdict programs (`HIKE_VERDICT_PROG`, read from the object's BTF) after the first have
//! none: the code before returns the action. The copies are
//! - linked into one program (`super::link`, the default), in slot `n` for chain
//!   `0x40000000 | n` (`n` up to 127), the hand-overs jumps between them;
//! - or, when they cannot be linked (the reason is kept in [`Tier::Compiled`]) or
//!   `ECLAT_LAB_LINK=off`, loaded as one *instance* each: the first call's (which also
//!   starts the chain) in slot `n`, the others in slots 128..255, the hand-overs tail calls.
//!
//! Apart from the stamped templates, the code must be the registered programs': the tag the
//! kernel gave each registered program is compared with the one computed for its object's
//! code, and an instance's tag with the one computed for its stamped code.
//!
//! Which instance slots a chain owns is recorded in the stored chain itself (`hike_chain`
//! `pad[1..2]`, a bitmap of slots 128..255), so that any process (a later `unload`, the
//! REPL) can remove them. Slots that no stored chain claims (a process killed while
//! installing) are reused.
//!
//! Replacing a chain: the new program (or the new instances, in free slots) is loaded, then
//! the chain's bytecode and bitmap are stored, then the entry slot is overwritten (new
//! packets take the new version), then what the old version used is removed. A linked
//! chain is one program, so a packet runs all of one version; with instances, a packet that
//! was between two programs of the old version at that instant finds the next instance
//! gone and is aborted (`NO_PROG`, counted).

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;

use aya::EbpfLoader;
use aya::maps::MapData;
use aya::programs::{ProgramError, ProgramInfo, Xdp};
use hike::Insn;
use hike::jit;

use super::HikeError;
use super::runtime::{Hike, map_pin_path};
use super::stamp::Template;
use super::tier::Tier;
use crate::sys;

/// Every program a chain calls: its object's bytes and metadata, or why they are not at hand.
type Objects = BTreeMap<u32, Result<(Vec<u8>, eclat_model::meta::ObjectMeta), String>>;

/// The kernel name of a linked chain's program (`hike_chain_<n>` for chain `0x40000000 | n`).
fn linked_name(id: u32) -> String {
    format!("hike_chain_{}", id & jit::ENTRY_MASK)
}

/// What is stamped into site `k`'s code: its epilogue, and for the chain's first call the
/// prologue that starts the chain.
fn site_code<'a>(
    k: usize,
    prologue: &'a [Insn],
    epilogue: &'a [Insn],
) -> Vec<(Template, &'a [Insn])> {
    let mut code = vec![(Template::Epilogue, epilogue)];
    if k == 0 {
        code.insert(0, (Template::Prologue, prologue));
    }
    code
}

/// The instructions aya submits for program `name` of `data` (registered under `prog`),
/// computed once per program (`super::stamp::linked`): what its tags are computed from.
fn submitted_code<'c>(
    cache: &'c mut BTreeMap<u32, Vec<[u8; 8]>>,
    prog: u32,
    data: &[u8],
    name: &str,
) -> Result<&'c [[u8; 8]], String> {
    Ok(match cache.entry(prog) {
        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::btree_map::Entry::Vacant(e) => {
            e.insert(super::stamp::linked(data, name)?)
        }
    })
}

/// A registered program, as found through its pin.
struct Registered {
    package: String,
    name: String,
    /// the kernel's tag of the registered program
    tag: u64,
}

/// One used slot of `hvm_jit_map`.
#[derive(Debug, Clone)]
pub struct JitSlot {
    pub slot: u32,
    pub prog: sys::ProgInfo,
}

/// Slot `slot` of `hvm_jit_map` (`map`), if it holds a program.
fn jit_slot(map: &MapData, slot: u32) -> Result<Option<JitSlot>, HikeError> {
    let mut id = [0u8; 4];
    if !sys::lookup(map.fd().as_fd(), &slot.to_ne_bytes(), &mut id)
        .map_err(map_err("hvm_jit_map"))?
    {
        return Ok(None);
    }
    let prog = sys::prog_info_by_id(u32::from_ne_bytes(id)).map_err(map_err("hvm_jit_map"))?;
    Ok(prog.map(|prog| JitSlot { slot, prog }))
}

fn map_err(map: &str) -> impl Fn(std::io::Error) -> HikeError + '_ {
    move |e| HikeError::Map {
        map: map.into(),
        detail: e.to_string(),
    }
}

impl Hike {
    pub(super) fn system_map(&self, name: &str) -> Result<MapData, HikeError> {
        let p = self.root().join("maps/system").join(name);
        MapData::from_pin(&p).map_err(|e| HikeError::Map {
            map: p.display().to_string(),
            detail: format!(
                "{e} (a lab root made before compiled chains existed: eclat-lab reset makes a new one)"
            ),
        })
    }

    /// Every used slot of `hvm_jit_map`, in slot order (empty without the map).
    pub fn jit_slots(&self) -> Result<Vec<JitSlot>, HikeError> {
        let Ok(map) = self.system_map("hvm_jit_map") else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for slot in 0..jit::JIT_SLOTS {
            out.extend(jit_slot(&map, slot)?);
        }
        Ok(out)
    }

    /// How chain `id` runs now, read from the kernel (any process may have stored it).
    pub fn chain_tier(&self, id: u32) -> Result<Tier, HikeError> {
        let slots = self.stored_jit_slots(id)?.unwrap_or_default();
        Ok(
            match slots.iter().find(|s| **s < jit::FIRST_INSTANCE_SLOT) {
                Some(&entry_slot) => Tier::Compiled {
                    entry_slot,
                    instance_slots: slots
                        .iter()
                        .copied()
                        .filter(|s| *s >= jit::FIRST_INSTANCE_SLOT)
                        .collect(),
                    linked: match self.system_map("hvm_jit_map") {
                        Ok(map) => jit_slot(&map, entry_slot)?
                            .is_some_and(|s| s.prog.name == linked_name(id)),
                        Err(_) => false,
                    },
                    not_linked: match self.tier(id) {
                        Some(Tier::Compiled { not_linked, .. }) => not_linked.clone(),
                        _ => None,
                    },
                },
                None => Tier::Interpreted {
                    why: match self.tier(id) {
                        Some(Tier::Interpreted { why }) => why.clone(),
                        _ => "not compiled".into(),
                    },
                },
            },
        )
    }

    fn jit_delete(&self, map: &MapData, slots: &[u32]) -> Result<(), HikeError> {
        for s in slots {
            sys::delete(map.fd().as_fd(), &s.to_ne_bytes()).map_err(map_err("hvm_jit_map"))?;
        }
        Ok(())
    }

    /// Empties `slots` of `hvm_jit_map`, entry slots first (no new packet starts the chain
    /// they belong to while its other instances go).
    pub(super) fn jit_remove(&self, slots: &[u32]) -> Result<(), HikeError> {
        let Ok(map) = self.system_map("hvm_jit_map") else {
            return Ok(());
        };
        let mut sorted = slots.to_vec();
        sorted.sort_unstable();
        self.jit_delete(&map, &sorted)
    }

    /// The compiler's plan for chain `id` with bytecode `insns`: the calls of the registered
    /// verdict programs folded. Also the program index and every called program's object
    /// (read once). `Ok(Err(why))`: the chain stays interpreted.
    #[allow(clippy::type_complexity)]
    fn plan_of(
        &self,
        id: u32,
        insns: &[Insn],
    ) -> Result<Result<(jit::Plan, BTreeMap<u32, Registered>, Objects), String>, HikeError> {
        let unfolded = match jit::compile(id, insns, &BTreeMap::new()) {
            Ok(p) => p,
            Err(r) => return Ok(Err(r.to_string())),
        };
        let index = self.program_index()?;
        // each object is read once (its BTF parse costs milliseconds); every program the
        // chain calls, folded or not, is a site of the plan without folding
        let mut objects: Objects = BTreeMap::new();
        for site in &unfolded.sites {
            objects.entry(site.prog).or_insert_with(|| {
                let r = index
                    .get(&site.prog)
                    .ok_or_else(|| format!("no program is registered under ID {}", site.prog))?;
                self.object_with(&r.package, &r.name)
                    .ok_or_else(|| format!("the object of {}.{} is not at hand", r.package, r.name))
            });
        }
        // the verdict programs among them (their calls are folded)
        let verdicts: BTreeMap<u32, u32> = objects
            .iter()
            .filter_map(|(prog, o)| {
                let (_, meta) = o.as_ref().ok()?;
                meta.verdicts
                    .get(&index.get(prog)?.name)
                    .map(|a| (*prog, *a))
            })
            .collect();
        let plan = if verdicts.is_empty() {
            unfolded
        } else {
            match jit::compile(id, insns, &verdicts) {
                Ok(p) => p,
                Err(r) => return Ok(Err(r.to_string())),
            }
        };
        Ok(Ok((plan, index, objects)))
    }

    /// What the chain compiler makes of chain `id` with bytecode `insns` (`chain dis`: a
    /// stored chain) and the programs registered now: `Ok(Err(why))` when it leaves the
    /// chain to the interpreter.
    pub fn chain_plan(
        &self,
        id: u32,
        insns: &[Insn],
    ) -> Result<Result<jit::Plan, String>, HikeError> {
        Ok(self.plan_of(id, insns)?.map(|(plan, _, _)| plan))
    }

    /// Compiles chain `id` and installs it, replacing its earlier compiled form (`old`): the
    /// chain is stored (bytecode and slots) on the way; returns its store generation and
    /// tier. `Ok(Err(why))`: nothing of the new version is installed and the chain is not
    /// stored yet (the caller stores it interpreted).
    pub(super) fn jit_install(
        &mut self,
        id: u32,
        insns: &[Insn],
        old: &[u32],
    ) -> Result<Result<(u64, Tier), String>, HikeError> {
        let (plan, index, objects) = match self.plan_of(id, insns)? {
            Ok(p) => p,
            Err(why) => return Ok(Err(why)),
        };
        let map = match self.system_map("hvm_jit_map") {
            Ok(m) => m,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let entry = id & jit::ENTRY_MASK;
        let mut claimed: BTreeMap<u32, u32> = BTreeMap::new();
        for c in self.chains()? {
            if c.id != id {
                claimed.extend(c.jit_slots.iter().map(|s| (*s, c.id)));
            }
        }
        // slots that no stored chain claims were left by a process killed while installing
        let orphans: Vec<u32> = self
            .jit_slots()?
            .into_iter()
            .map(|s| s.slot)
            .filter(|s| !claimed.contains_key(s) && !old.contains(s) && *s != entry)
            .collect();
        self.jit_delete(&map, &orphans)?;
        let prologue = jit::prologue(&plan);
        let conts_for = |slot_of: &[u32]| -> Vec<[u8; jit::CONT_SIZE]> {
            (0..plan.sites.len())
                .map(|k| jit::encode_cont(&plan, k, slot_of))
                .collect()
        };
        // the pin of every map of every object
        let pins: BTreeMap<u32, Vec<(String, PathBuf)>> = objects
            .iter()
            .filter_map(|(prog, o)| {
                let (_, meta) = o.as_ref().ok()?;
                let pins = meta
                    .maps
                    .iter()
                    .map(|m| (m.name.clone(), map_pin_path(self.root(), meta, &m.name)))
                    .collect();
                Some((*prog, pins))
            })
            .collect();
        let mut not_linked = None;
        if self.links() {
            // one program: no site has a slot of its own (the entry slot stands for each)
            let conts = conts_for(&vec![entry; plan.sites.len()]);
            match self.jit_link(id, &plan, &index, &objects, &pins, &conts, &prologue) {
                Ok(linked) => {
                    let generation = self.write_chain(id, insns, &[entry])?;
                    sys::update(
                        map.fd().as_fd(),
                        &entry.to_ne_bytes(),
                        &(linked.fd.as_fd().as_raw_fd() as u32).to_ne_bytes(),
                    )
                    .map_err(map_err("hvm_jit_map"))?;
                    crate::crash_point("hike:jit-linked-set");
                    let stale: Vec<u32> = old.iter().copied().filter(|s| *s != entry).collect();
                    self.jit_delete(&map, &stale)?;
                    return Ok(Ok((
                        generation,
                        Tier::Compiled {
                            entry_slot: entry,
                            instance_slots: Vec::new(),
                            linked: true,
                            not_linked: None,
                        },
                    )));
                }
                // what cannot be linked runs as instances, with the same results
                Err(why) => not_linked = Some(why),
            }
        }
        let free: Vec<u32> = (jit::FIRST_INSTANCE_SLOT..jit::JIT_SLOTS)
            .filter(|k| !claimed.contains_key(k) && !old.contains(k))
            .collect();
        let need = plan.sites.len() - 1;
        if free.len() < need {
            let unlinked = not_linked.map(|w| format!(" (it cannot be linked: {w})"));
            return Ok(Err(format!(
                "it needs {need} free slots of hvm_jit_map for its call sites, {} are free{}",
                free.len(),
                unlinked.unwrap_or_default()
            )));
        }
        let mut slot_of = vec![entry];
        slot_of.extend(&free[..need]);
        let conts = conts_for(&slot_of);
        // each instance's own code: its epilogue, and the first one's prologue
        let epilogues: Vec<Vec<Insn>> = (0..plan.sites.len())
            .map(|k| jit::epilogue(&plan, k, &slot_of))
            .collect();
        // one loader for all the instances, made without aya's own parse of the kernel's BTF
        // (`loader::new_loader`). Reusing it is safe: each load sets the continuation and the
        // pin of every map of its object, and aya only reads the settings of the maps an
        // object has.
        let mut loader = crate::loader::new_loader();
        let no_pins = Vec::new();
        // each program's code as aya submits it, for the tags (computed once per program)
        let mut linked = BTreeMap::new();
        let mut load = |this: &Self, k: usize| {
            let p = plan.sites[k].prog;
            let pins = pins.get(&p).unwrap_or(&no_pins);
            let code = site_code(k, &prologue, &epilogues[k]);
            this.jit_load_instance(
                &mut loader,
                &index,
                &objects[&p],
                p,
                pins,
                &conts[k],
                &code,
                &mut linked,
                &map,
                slot_of[k],
            )
        };
        // the instances after the first call, then the chain, then the switch-over
        for k in 1..plan.sites.len() {
            if let Err(why) = load(self, k) {
                self.jit_delete(&map, &slot_of[1..k])?;
                return Ok(Err(why));
            }
        }
        let generation = self.write_chain(id, insns, &slot_of)?;
        if let Err(why) = load(self, 0) {
            // the new bytecode must not run the old compiled form: all goes, and the caller
            // stores the chain again, interpreted
            self.jit_delete(&map, &[entry])?;
            self.jit_delete(&map, &slot_of[1..])?;
            self.jit_delete(&map, old)?;
            return Ok(Err(why));
        }
        let stale: Vec<u32> = old
            .iter()
            .copied()
            .filter(|s| !slot_of.contains(s))
            .collect();
        self.jit_delete(&map, &stale)?;
        Ok(Ok((
            generation,
            Tier::Compiled {
                entry_slot: entry,
                instance_slots: slot_of[1..].to_vec(),
                linked: false,
                not_linked,
            },
        )))
    }

    /// Links the call sites of `plan` into one program (`super::link`), each part checked
    /// to be the registered program's code as an instance is.
    #[allow(clippy::too_many_arguments)]
    fn jit_link(
        &self,
        id: u32,
        plan: &jit::Plan,
        index: &BTreeMap<u32, Registered>,
        objects: &Objects,
        pins: &BTreeMap<u32, Vec<(String, PathBuf)>>,
        conts: &[[u8; jit::CONT_SIZE]],
        prologue: &[Insn],
    ) -> Result<super::link::Linked, String> {
        let no_pins = Vec::new();
        let mut parts = Vec::with_capacity(plan.sites.len());
        for (k, site) in plan.sites.iter().enumerate() {
            let Registered { package, name, tag } = index
                .get(&site.prog)
                .ok_or_else(|| format!("no program is registered under ID {}", site.prog))?;
            let label = format!("{package}.{name}");
            let (data, _) = objects[&site.prog].as_ref().map_err(|e| e.clone())?;
            let (epilogue, hops) = jit::linked_epilogue(plan, k);
            let patches = super::stamp::patches(data, name, &site_code(k, prologue, &epilogue))
                .map_err(|e| format!("{label}: {e}"))?;
            parts.push(super::link::Part {
                label,
                name,
                data,
                tag: *tag,
                pins: pins.get(&site.prog).unwrap_or(&no_pins),
                cont: &conts[k],
                patches,
                hops,
            });
        }
        super::link::link(&parts, &linked_name(id))
    }

    /// Package, name and kernel identity of every registered program, by program ID (read
    /// from the pins under `progs/`).
    fn program_index(&self) -> Result<BTreeMap<u32, Registered>, HikeError> {
        // (one program may be registered under several IDs)
        let mut by_kid: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for (slot, kid) in self.registered()? {
            by_kid.entry(kid).or_default().push(slot);
        }
        let mut out = BTreeMap::new();
        let Ok(pkgs) = std::fs::read_dir(self.root().join("progs")) else {
            return Ok(out);
        };
        for pkg in pkgs.flatten() {
            let Ok(pins) = std::fs::read_dir(pkg.path()) else {
                continue;
            };
            for pin in pins.flatten() {
                let Ok(info) = ProgramInfo::from_pin(pin.path()) else {
                    continue;
                };
                for slot in by_kid.get(&info.id()).into_iter().flatten() {
                    out.insert(
                        *slot,
                        Registered {
                            package: pkg.file_name().to_string_lossy().into_owned(),
                            name: pin.file_name().to_string_lossy().into_owned(),
                            tag: info.tag(),
                        },
                    );
                }
            }
        }
        Ok(out)
    }

    /// Loads, with `loader`, an instance of the program registered under `prog` with `cont`
    /// (the maps of its object pinned at `pins`) and puts it in `slot`; `Err` says why it
    /// could not.
    #[allow(clippy::too_many_arguments)]
    fn jit_load_instance<'a>(
        &self,
        loader: &mut EbpfLoader<'a>,
        index: &BTreeMap<u32, Registered>,
        object: &Result<(Vec<u8>, eclat_model::meta::ObjectMeta), String>,
        prog: u32,
        pins: &'a [(String, PathBuf)],
        cont: &'a [u8],
        code: &[(Template, &[Insn])],
        linked: &mut BTreeMap<u32, Vec<[u8; 8]>>,
        jit_map: &MapData,
        slot: u32,
    ) -> Result<(), String> {
        let Registered { package, name, tag } = index
            .get(&prog)
            .ok_or_else(|| format!("no program is registered under ID {prog}"))?;
        let (package, name) = (package.as_str(), name.as_str());
        let (data, _) = object.as_ref().map_err(|e| e.clone())?;
        for (m, p) in pins {
            if !p.exists() {
                return Err(format!("{package}.{name}: its map {m} is not pinned"));
            }
            loader.map_pin_path(m, p.as_path());
        }
        // the instance's own code, and the tags it and the registered code get
        let (stamped, patches) =
            super::stamp::stamp(data, name, code).map_err(|e| format!("{package}.{name}: {e}"))?;
        let plain = submitted_code(linked, prog, data, name)
            .map_err(|e| format!("{package}.{name}: {e}"))?;
        let tags =
            super::stamp::tags(plain, &patches).map_err(|e| format!("{package}.{name}: {e}"))?;
        // (the digest this kernel uses is the one that gives the registered program's tag)
        let Some(&(_, _, stamped_tag)) = tags.iter().find(|(_, plain, _)| plain == tag) else {
            return Err(format!(
                "{package}.{name} is registered from other code than its object here"
            ));
        };
        loader.override_global(jit::CONT_SYMBOL, cont, true);
        loader.btf(crate::loader::btf_for(&stamped));
        let mut ebpf = loader
            .load(&stamped)
            .map_err(|e| format!("{package}.{name}: {e}"))?;
        let xdp: &mut Xdp = ebpf
            .program_mut(name)
            .ok_or_else(|| format!("{package} has no program {name}"))?
            .try_into()
            .map_err(|e: ProgramError| e.to_string())?;
        xdp.load().map_err(|e| match e {
            ProgramError::LoadError {
                io_error,
                verifier_log,
            } => format!(
                "the verifier refused an instance of {package}.{name}: {io_error} ({})",
                verifier_log.to_string().lines().last().unwrap_or("")
            ),
            other => other.to_string(),
        })?;
        if xdp.info().map_err(|e| e.to_string())?.tag() != stamped_tag {
            return Err(format!(
                "{package}.{name}: the kernel's tag of its instance is not the one computed for \
                 it (the lab's view of aya's loading is off: please report it)"
            ));
        }
        let fd = xdp.fd().map_err(|e| e.to_string())?;
        sys::update(
            jit_map.fd().as_fd(),
            &slot.to_ne_bytes(),
            &(fd.as_fd().as_raw_fd() as u32).to_ne_bytes(),
        )
        .map_err(|e| format!("hvm_jit_map slot {slot}: {e}"))?;
        crate::crash_point("hike:jit-instance-set");
        Ok(())
    }
}
