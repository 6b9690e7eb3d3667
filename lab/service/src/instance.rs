//! The lab's HIKe instance under its bpffs root, as operations use it: opened with the
//! journal (every pin recorded before it exists, confirmed when the operation ends),
//! programs registered under the IDs the store assigns, the objects they need loaded once,
//! and the kernel brought back in line with the store after a crash.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use eclat_kernel::hike::runtime::{self, Hike};
use eclat_kernel::journal::Journal;

use crate::Lab;
use crate::catalog::{Catalog, Package, Source};
use crate::store::HikeStore;

impl Lab {
    /// Does the lab's HIKe instance exist (the VM and the system maps pinned)?
    pub(crate) fn hike_exists(&self) -> bool {
        let root = &self.env().bpffs_root;
        root.join("maps/system/hvm_chain_map").exists()
            && root
                .join("progs/hike_vm")
                .join(runtime::VM_PROGRAM)
                .exists()
    }

    /// Opens the lab's HIKe instance only if it exists: read-only operations (`chain
    /// list/dis/trace`, the TUI's trace pane) must never create one, nor race a session's
    /// cleanup.
    pub(crate) fn existing_hike(&self) -> Result<Hike> {
        if !self.hike_exists() {
            bail!("no HIKe chain is loaded yet (load a script: `eclat-lab load SCRIPT.eclat`)");
        }
        Hike::open(&self.env().bpffs_root).context("opening the lab's HIKe instance")
    }

    /// Stops the clock the lab's HIKe programs read (`hike/clock.h`: token buckets, blacklist
    /// expiry, `lse`) at `ms`, or gives them the kernel's clock back (`None`). For lesson
    /// checks, which run their traffic in a scratch lab of their own: what the traffic counts
    /// then does not depend on how fast a loaded machine sends it. Without a HIKe instance
    /// (no script loaded) there is nothing that reads it: nothing to do.
    pub async fn set_test_clock(&self, ms: Option<std::num::NonZeroU32>) -> Result<()> {
        self.blocking(move |lab| {
            if !lab.hike_exists() {
                return Ok(());
            }
            lab.existing_hike()?
                .set_test_clock(ms)
                .context("setting the HIKe programs' clock")
        })
        .await
    }

    /// Opens (creating it if needed) the lab's HIKe instance, holding `journal`: every pin
    /// and directory it makes is recorded as provisional before it exists; [`Lab::commit`]
    /// confirms them when the operation has finished.
    pub(crate) fn open_hike(&self, journal: Journal) -> Result<Hike> {
        Hike::open_journaled_with_vm(&self.env().bpffs_root, journal, self.vm_object())
            .context("opening the lab's HIKe instance")
    }

    /// The operation finished: what it created stays (for the session, or until `reset`).
    /// An operation from a shell (persistent) adopts the HIKe instance a TUI session made:
    /// its chains run on that VM and those programs, which must not go when the session
    /// ends.
    pub(crate) fn commit(&self, hike: &mut Hike) -> Result<()> {
        let root = self.env().bpffs_root.clone();
        hike.journal()
            .context("the lab's HIKe instance was opened without its journal")?
            .commit_adopting(self.life(), &|p| in_hike_instance(&root, p))?;
        Ok(())
    }

    /// Where `module build` keeps the module API headers it hands to clang.
    pub(crate) fn include_dir(&self) -> std::path::PathBuf {
        self.env().state_dir.join("include")
    }
}

/// Is `path` part of the lab's HIKe instance: the VM, its system maps and the packages of
/// programs registered with it (not the plain XDP programs, the objects of `xdp load`, nor
/// the cubes, which live in areas of their own)?
pub(crate) fn in_hike_instance(root: &std::path::Path, path: &std::path::Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        return false;
    };
    let mut parts = rel.components().map(|c| c.as_os_str().to_string_lossy());
    match (parts.next().as_deref(), parts.next()) {
        (Some("maps" | "progs"), Some(area)) => {
            area != eclat_kernel::xdp::OBJ_AREA
                && area != eclat_kernel::xdp::CUBE_AREA
                && !eclat_model::prebuilt::PROGRAMS
                    .iter()
                    .any(|p| p.package == area)
        }
        _ => false,
    }
}

/// The slots filled in `hvm_hprog_map`.
pub(crate) fn registered_ids(hike: &Hike) -> Result<Vec<u32>> {
    Ok(hike.registered()?.into_iter().map(|(s, _)| s).collect())
}

/// Loads `pkg`'s object into `hike` unless its programs are pinned already (loaded by an
/// earlier command).
pub(crate) fn ensure_object(hike: &mut Hike, pkg: &Package) -> Result<()> {
    let m = &pkg.meta;
    let loaded = !m.xdp_programs.is_empty()
        && m.xdp_programs
            .iter()
            .all(|p| hike.prog_pin(&m.package, p).exists());
    match (&pkg.source, loaded) {
        // a learner's module loaded by an earlier command: the chain compiler loads its
        // instances from the same file (their code must match the pinned programs')
        (Source::File(_), true) => {
            if let Ok(data) = pkg.bytes() {
                hike.add_object_source(&m.package, data.into_owned());
            }
        }
        (_, true) => {}
        (Source::File(file), false) => {
            let data = pkg.bytes()?;
            hike.load_bytes(&pkg.label, &data)
                .with_context(|| format!("loading {}", file.display()))?;
        }
        (Source::Embedded, false) => {
            hike.load_embedded(&pkg.label)
                .with_context(|| format!("loading {}", pkg.label))?;
        }
    }
    Ok(())
}

/// Registers every program of `programs` (loading their objects if needed) and returns
/// their IDs, keeping the ones the store assigned. The program slots in use are read once
/// (256 lookups) for all of them, not once per program.
pub(crate) fn ensure_programs(
    hike: &mut Hike,
    cat: &Catalog,
    st: &mut HikeStore,
    programs: &[(String, String)],
) -> Result<BTreeMap<(String, String), u32>> {
    let mut registered = registered_ids(hike)?;
    let mut ids = BTreeMap::new();
    for (pkg, name) in programs {
        let id = ensure_program(hike, cat, st, &mut registered, pkg, name)?;
        ids.insert((pkg.clone(), name.clone()), id);
    }
    Ok(ids)
}

/// Registers `package.name` (loading its object if needed) and returns its program ID,
/// keeping the one the store assigned. `registered`: the program slots in use (from
/// [`registered_ids`]), kept up to date here.
pub(crate) fn ensure_program(
    hike: &mut Hike,
    cat: &Catalog,
    st: &mut HikeStore,
    registered: &mut Vec<u32>,
    package: &str,
    name: &str,
) -> Result<u32> {
    let key = format!("{package}.{name}");
    let pkg = cat.program(package, name)?;
    ensure_object(hike, pkg)?;
    // loaded (again) by this operation: its slot must hold this copy, whose maps are pinned
    let fresh = hike.object(&pkg.label).is_some();
    if let Some(&id) = st.programs.get(&key) {
        if !registered.contains(&id) || fresh {
            hike.register(id, package, name)?;
            if !registered.contains(&id) {
                registered.push(id);
            }
        }
        return Ok(id);
    }
    let id = st
        .free_program_ids(registered)
        .first()
        .copied()
        .with_context(|| {
            format!(
                "no free HIKe program ID for {key}: all {} are in use (`eclat-lab module list`)",
                hike::MAX_PROGRAMS - 1
            )
        })?;
    hike.register(id, package, name)?;
    registered.push(id);
    st.programs.insert(key, id);
    Ok(id)
}

/// Brings the kernel back in line with the store after an operation was killed:
/// - deletes stored chains that no loaded script owns (a load killed between storing its
///   chains and recording them), but the kept check lab's spare chains
///   ([`HikeStore::spare_chains`]);
/// - empties program slots that no entry of the store owns (a load killed between
///   registering programs and recording them), and slots whose program's pin is gone (the
///   next start removed the pins of a load that did not finish: the ID stays assigned and
///   the next load that needs it loads and registers the program again).
///
/// The chain map and the program array are the lab's own (below its root).
pub(crate) fn reconcile(hike: &mut Hike, st: &HikeStore) -> Result<usize> {
    let owned = st.kept_chain_ids();
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
