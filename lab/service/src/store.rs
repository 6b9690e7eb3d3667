//! The lab's HIKe store, `<state>/hike.json`: which program ID each `package.name` holds,
//! what each loaded script installed (chains, loader entries, attachments), the learner's
//! modules, and the version of a script being replaced while a reload runs. IDs are
//! allocated here, with reuse. Read and written under the journal's lock; a store is only
//! meaningful while the lab's HIKe instance exists (after `reset` the IDs start over).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use eclat_kernel::LabEnv;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HikeStore {
    /// `package.name` -> program ID (slot of `hvm_hprog_map`)
    #[serde(default)]
    pub programs: BTreeMap<String, u32>,
    /// script (canonical path) -> what it installed
    #[serde(default)]
    pub scripts: BTreeMap<String, ScriptState>,
    /// a version being installed (its chains stored, its loader entries being switched);
    /// the version in `scripts` runs until the switch is complete
    #[serde(default)]
    pub pending: BTreeMap<String, ScriptState>,
    /// a script being unloaded (its entries cleared, then its chains deleted)
    #[serde(default)]
    pub unloading: BTreeMap<String, ScriptState>,
    /// programs registered by `module load` (kept when scripts are unloaded)
    #[serde(default)]
    pub manual: Vec<String>,
    /// learner-built modules: package -> object file
    #[serde(default)]
    pub modules: BTreeMap<String, String>,
    /// the kept check lab only: chains an earlier run of checks stored and left (its scripts
    /// are forgotten between runs, their loader maps emptied, so nothing runs them). The
    /// recovery leaves them stored, and the next load overwrites them in place: deleting a
    /// compiled chain empties its entry slot of `hvm_jit_map`, which waits for an RCU grace
    /// period for each loader that can tail-call that slot (40-50 ms per chain here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spare_chains: Vec<u32>,
}

/// Where a recorded chain's script is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChainState {
    /// the script is loaded (this version is the one its loader entries point at)
    Loaded,
    /// a load of this version was interrupted before it was complete
    Installing,
    /// an unload was interrupted
    Unloading,
    /// the script is loaded, but another script took over every loader entry it had, or
    /// every interface its loaders were attached to (`load --replace`): no packet reaches
    /// its chains until that one is unloaded
    Displaced,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ScriptState {
    pub chains: Vec<(String, u32)>,
    /// `package.name` of every program its chains call
    #[serde(default)]
    pub programs: Vec<String>,
    pub entries: Vec<EntryState>,
    pub attach: Vec<AttachState>,
    /// the TUI or shell session that loaded it (None: an `eclat-lab` command from a system
    /// shell). Such a script goes when its session ends (unloaded, as by `unload`: its
    /// loader's attachment is the session's), or, if the session was killed, at the next
    /// command's recovery
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<eclat_kernel::journal::Owner>,
}

impl ScriptState {
    /// Loaded by a session that has ended without unloading it (killed).
    pub fn orphaned(&self) -> bool {
        self.session.is_some_and(|o| !o.alive())
    }
}

/// A loader map entry a script writes: the key, and the value (which holds one of its
/// chain IDs). One script owns an entry at a time; a load that takes it over (`--replace`)
/// records the script it displaced, which gets the entry back when the new owner unloads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EntryState {
    pub package: String,
    pub loader: String,
    pub map: String,
    pub key: Vec<u8>,
    #[serde(default)]
    pub value: Vec<u8>,
    /// the script that took this entry over (`load --replace`); while set, this script's
    /// chains are not what the loader runs for this key
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub displaced_by: Option<String>,
}

impl EntryState {
    /// The same entry (loader map and key), whatever its value and owner.
    pub fn same_slot(&self, other: &EntryState) -> bool {
        self.package == other.package
            && self.loader == other.loader
            && self.map == other.map
            && self.key == other.key
    }
}

/// An interface a script's `attach(...)` puts its loader on. An interface runs one XDP
/// program: one script holds it at a time (scripts that attach the same loader there share
/// it); a load that takes it over (`--replace`) records the script it displaced, whose loader
/// is attached there again when the new holder unloads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AttachState {
    pub package: String,
    pub loader: String,
    pub node: String,
    pub dev: String,
    /// the script whose loader took this interface over (`load --replace`); while set,
    /// this script's loader is not attached there
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub displaced_by: Option<String>,
}

impl AttachState {
    /// The same interface, whatever the loader and its owner.
    pub fn same_place(&self, other: &AttachState) -> bool {
        self.node == other.node && self.dev == other.dev
    }

    /// The same loader on the same interface, whatever its owner.
    pub fn same_attachment(&self, other: &AttachState) -> bool {
        self.same_place(other) && self.package == other.package && self.loader == other.loader
    }
}

fn path(env: &LabEnv) -> PathBuf {
    env.state_dir.join("hike.json")
}

/// Does the lab's HIKe instance exist (its chain store pinned)?
pub fn hike_pinned(env: &LabEnv) -> bool {
    env.bpffs_root.join("maps/system/hvm_chain_map").exists()
}

fn read(p: &Path) -> HikeStore {
    std::fs::read_to_string(p)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

/// What tells one state of the store from another without reading it: whether the HIKe
/// instance is pinned, and the store file's device, inode, modification time and size (it
/// is replaced whole when saved).
pub type Stamp = (bool, Option<(u64, u64, i64, i64, u64)>);

pub fn stamp(env: &LabEnv) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let file = std::fs::metadata(path(env))
        .ok()
        .map(|m| (m.dev(), m.ino(), m.mtime(), m.mtime_nsec(), m.len()));
    (hike_pinned(env), file)
}

/// The store as it is, read without changing anything (completion, the catalog).
pub fn peek(env: &LabEnv) -> HikeStore {
    if !hike_pinned(env) {
        return HikeStore::default();
    }
    read(&path(env))
}

impl HikeStore {
    /// Reads the store for an operation (hold the journal's lock): when the lab's HIKe
    /// instance is gone, its IDs mean nothing any more and the file goes too.
    pub fn load(env: &LabEnv) -> Self {
        if !hike_pinned(env) {
            let _ = std::fs::remove_file(path(env));
            return Self::default();
        }
        read(&path(env))
    }

    /// Writes the store atomically (a new file renamed over the old one).
    pub fn save(&self, env: &LabEnv) -> Result<()> {
        eclat_kernel::perms::write_file(
            &path(env),
            serde_json::to_string_pretty(self)?.as_bytes(),
            eclat_kernel::perms::FILE_MODE,
        )?;
        Ok(())
    }

    /// Removes the store (after `reset`: the IDs start over).
    pub fn forget(env: &LabEnv) {
        let _ = std::fs::remove_file(path(env));
    }

    /// Chain IDs in use by every loaded script (and versions being installed or removed).
    pub fn used_chain_ids(&self) -> Vec<u32> {
        self.scripts
            .values()
            .chain(self.pending.values())
            .chain(self.unloading.values())
            .flat_map(|s| s.chains.iter().map(|(_, id)| *id))
            .collect()
    }

    /// Chain IDs that the recovery leaves stored: those of the scripts (as
    /// [`HikeStore::used_chain_ids`]) and the kept check lab's spare chains.
    pub fn kept_chain_ids(&self) -> Vec<u32> {
        let mut v = self.used_chain_ids();
        v.extend_from_slice(&self.spare_chains);
        v.sort_unstable();
        v.dedup();
        v
    }

    /// `n` fresh chain IDs, lowest first, avoiding the store's and `also_taken`.
    pub fn alloc_chain_ids(&self, n: usize, also_taken: &[u32]) -> Result<Vec<u32>> {
        let mut used = self.used_chain_ids();
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

    /// The free program IDs (1..255: slot 0 is the VM), lowest first: neither assigned here
    /// nor in `registered` (the slots filled in `hvm_hprog_map`).
    pub fn free_program_ids(&self, registered: &[u32]) -> Vec<u32> {
        (1..hike::MAX_PROGRAMS)
            .filter(|i| !registered.contains(i) && !self.programs.values().any(|v| v == i))
            .collect()
    }

    /// Checks, before anything is loaded or registered, that the programs `keys`
    /// (`package.name`) that have no ID yet will find one: a load gets all its IDs or
    /// changes nothing.
    pub fn ensure_free_ids(&self, registered: &[u32], keys: &[String], what: &str) -> Result<()> {
        let new: Vec<&String> = keys
            .iter()
            .filter(|k| !self.programs.contains_key(*k))
            .collect();
        let free = self.free_program_ids(registered).len();
        if new.len() > free {
            bail!("{what}: {}", self.no_free_id(new.len(), free, new[0]));
        }
        Ok(())
    }

    /// The learner-facing message for a full program array: what happened, what to do.
    fn no_free_id(&self, needed: usize, free: usize, first: &str) -> String {
        let mine: Vec<&str> = self.modules.keys().map(String::as_str).collect();
        format!(
            "no free HIKe program ID: {needed} program(s) need a new one ({first}{}) and {free} \
             of the {} IDs are free (ID 0 is the VM). Nothing was loaded or registered.\nFree \
             IDs with `eclat-lab module unload PACKAGE`{} or `eclat-lab unload SCRIPT` and try \
             again; `eclat-lab module list` shows which program holds which ID",
            if needed > 1 { ", ..." } else { "" },
            hike::MAX_PROGRAMS - 1,
            if mine.is_empty() {
                String::new()
            } else {
                format!(" (your modules: {})", mine.join(", "))
            }
        )
    }

    /// Program IDs -> `package.name`.
    pub fn program_names(&self) -> BTreeMap<u32, String> {
        self.programs.iter().map(|(k, v)| (*v, k.clone())).collect()
    }

    /// Chain ID -> (chain name, script file name, state) for every recorded chain.
    pub fn chain_owner(&self, id: u32) -> Option<(String, String, ChainState)> {
        let tagged = self
            .scripts
            .iter()
            .map(|(k, v)| {
                let displaced = (!v.entries.is_empty()
                    && v.entries.iter().all(|e| e.displaced_by.is_some()))
                    || (!v.attach.is_empty() && v.attach.iter().all(|a| a.displaced_by.is_some()));
                let state = if displaced {
                    ChainState::Displaced
                } else {
                    ChainState::Loaded
                };
                (k, v, state)
            })
            .chain(
                self.pending
                    .iter()
                    .map(|(k, v)| (k, v, ChainState::Installing)),
            )
            .chain(
                self.unloading
                    .iter()
                    .map(|(k, v)| (k, v, ChainState::Unloading)),
            );
        for (script, s, state) in tagged {
            if let Some((n, _)) = s.chains.iter().find(|(_, c)| *c == id) {
                let file = Path::new(script)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                return Some((n.clone(), file, state));
            }
        }
        None
    }

    /// The loaded scripts other than `key` that hold `a`'s interface with another loader
    /// (recorded as attached there and not displaced), with that `package.loader`: what a
    /// load of `a` would take over.
    pub fn interface_holders(&self, key: &str, a: &AttachState) -> Vec<(String, AttachState)> {
        self.scripts
            .iter()
            .filter(|(k, _)| k.as_str() != key)
            .filter_map(|(k, s)| {
                s.attach
                    .iter()
                    .find(|x| x.same_place(a) && x.displaced_by.is_none() && x.loader != a.loader)
                    .map(|x| (k.clone(), x.clone()))
            })
            .collect()
    }

    /// The script that owns loader entry `e` now (the one not displaced), if any.
    pub fn entry_owner(&self, e: &EntryState) -> Option<&str> {
        self.scripts.iter().find_map(|(k, s)| {
            s.entries
                .iter()
                .any(|x| x.same_slot(e) && x.displaced_by.is_none())
                .then_some(k.as_str())
        })
    }

    /// A chain by name (from a loaded script).
    pub fn chain_by_name(&self, name: &str) -> Option<u32> {
        self.scripts
            .values()
            .flat_map(|s| s.chains.iter())
            .find(|(n, _)| n == name)
            .map(|(_, i)| *i)
    }

    /// Element ID -> short name, for trace lines: programs by name, chains by chain name.
    pub fn element_names(&self) -> BTreeMap<u32, String> {
        self.programs
            .iter()
            .map(|(k, v)| (*v, k.rsplit('.').next().unwrap_or(k).to_string()))
            .chain(
                self.scripts
                    .values()
                    .flat_map(|s| s.chains.iter().map(|(n, id)| (*id, n.clone()))),
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_are_reused_and_never_collide() {
        let mut st = HikeStore::default();
        let a = st.alloc_chain_ids(2, &[]).unwrap();
        assert_eq!(a, vec![hike::FIRST_CHAIN_ID, hike::FIRST_CHAIN_ID + 1]);
        st.scripts.insert(
            "a".into(),
            ScriptState {
                chains: vec![("c".into(), a[0])],
                ..Default::default()
            },
        );
        // the first is taken by a script, the second by the caller
        let b = st.alloc_chain_ids(1, &[a[1]]).unwrap();
        assert_eq!(b, vec![hike::FIRST_CHAIN_ID + 2]);
        assert_eq!(st.chain_by_name("c"), Some(a[0]));
        assert_eq!(st.chain_owner(a[0]).unwrap().0, "c");
    }

    #[test]
    fn the_recovery_keeps_the_scripts_chains_and_the_spare_ones() {
        let id = |k: u32| hike::FIRST_CHAIN_ID + k;
        let mut st = HikeStore::default();
        st.scripts.insert(
            "a".into(),
            ScriptState {
                chains: vec![("c".into(), id(2)), ("d".into(), id(0))],
                ..Default::default()
            },
        );
        st.spare_chains = vec![id(1), id(2)];
        assert_eq!(st.kept_chain_ids(), vec![id(0), id(1), id(2)]);
        // spare chains are overwritten in place: a load may take their IDs
        assert_eq!(st.alloc_chain_ids(1, &[]).unwrap(), vec![id(1)]);
        // an old store without the field reads as none spare, and none is written back
        let old: HikeStore = serde_json::from_str(r#"{"programs": {}}"#).unwrap();
        assert!(old.spare_chains.is_empty());
        assert!(!serde_json::to_string(&old).unwrap().contains("spare"));
    }

    #[test]
    fn free_ids_skip_assigned_and_registered_slots() {
        let mut st = HikeStore::default();
        st.programs.insert("p.a".into(), 1);
        let free = st.free_program_ids(&[0, 2]);
        assert_eq!(free.first(), Some(&3));
        assert_eq!(free.len(), hike::MAX_PROGRAMS as usize - 3);
        // 253 free: asking for 254 new programs fails and says what to do
        let keys: Vec<String> = (0..254).map(|i| format!("x.p{i}")).collect();
        let e = st
            .ensure_free_ids(&[0, 2], &keys, "cannot load s.eclat")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("cannot load s.eclat: no free HIKe program ID: 254"),
            "{e}"
        );
        assert!(e.contains("module unload"), "{e}");
        assert!(st.ensure_free_ids(&[0, 2], &keys[..253], "x").is_ok());
    }
}
