//! The lab's maps: list, dump (keys and values decoded through the objects' BTF, per-CPU
//! values summed when they count), set, delete, clear, watch, and the sampler behind the
//! TUI's live panels. Maps the lab manages for loaded scripts (the VM's chain store and
//! configuration, its program table, loader entries a script wrote) are refused to `set`,
//! `delete` and `clear` alike: `unload` is the way to change those.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Result, bail};
use eclat_kernel::maps::{self, MapError};
pub use eclat_kernel::maps::{ClearMethod, Cleared, MapRef, Value};
use eclat_kernel::xdp;
use eclat_model::display;
use hike::catalog::TypeLayout;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::Lab;
use crate::catalog::Catalog;
use crate::store::HikeStore;

/// How a per-CPU map's values are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PerCpu {
    /// not a per-CPU map
    No,
    /// counters: the CPUs' values are summed
    Summed,
    /// times or addresses, which do not add up: one value per CPU
    EachCpu,
}

/// One entry of a map.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MapRow {
    /// the key as a number (or words, or hex bytes)
    pub key: Value,
    /// the value as a number (or words, or hex bytes); summed over CPUs for counters
    pub value: Value,
    /// the key decoded through the map's BTF type, when the lab knows it
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_text: Option<String>,
    /// the value decoded through the map's BTF type, when the lab knows it
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_text: Option<String>,
    /// each CPU's value (decoded), for per-CPU maps whose values are not summed
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpus: Vec<String>,
    /// in a program array: the program in this slot
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// a name for the key the lab knows (an abort reason of `hvm_stats`)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// the value is a chain ID (a loader's map: key -> the chain it boots); `value_text` shows
    /// it in hex as `chain list` names chains; false (and absent) otherwise
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub chain_id: bool,
    /// the key's raw bytes (not serialized)
    #[serde(skip)]
    pub key_bytes: Vec<u8>,
    /// the value's raw bytes, summed over CPUs for a per-CPU map (not serialized)
    #[serde(skip)]
    pub value_bytes: Vec<u8>,
    /// `key_text`, `value_text` and `cpus` as people read them: padding fields that are 0
    /// left out (`display::format_shown`); not serialized, `--json` keeps every field
    #[serde(skip)]
    pub shown: Shown,
}

/// A row's decoded texts without their zero padding fields (`pad: 0`), for text and the TUI.
#[derive(Debug, Clone, Default)]
pub struct Shown {
    pub key: Option<String>,
    pub value: Option<String>,
    pub cpus: Vec<String>,
}

impl MapRow {
    /// The key as people read it (zero padding fields left out).
    pub fn key_shown(&self) -> String {
        self.shown
            .key
            .clone()
            .or_else(|| self.key_text.clone())
            .unwrap_or_else(|| self.key.to_string())
    }
    /// The value as people read it (zero padding fields left out).
    pub fn value_shown(&self) -> String {
        self.shown
            .value
            .clone()
            .or_else(|| self.value_text.clone())
            .unwrap_or_else(|| self.value.to_string())
    }
    /// Each CPU's value as people read it, for per-CPU maps whose values are not summed.
    pub fn cpus_shown(&self) -> &[String] {
        if self.shown.cpus.len() == self.cpus.len() {
            &self.shown.cpus
        } else {
            &self.cpus
        }
    }
    /// The value as a number that counts, when it is one (a chain ID is a name, not a count).
    pub fn number(&self) -> Option<u64> {
        if self.chain_id {
            return None;
        }
        match self.value {
            Value::Int(v) => Some(v),
            _ => None,
        }
    }
}

/// Every entry of a map, decoded.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MapDump {
    /// the map read: its name, kernel type, sizes and ID
    pub map: MapRef,
    /// the C types of key and value (from BTF), when the lab knows the map's object
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    /// the C type of the values (from BTF), when the lab knows the map's object; absent otherwise
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_type: Option<String>,
    /// how a per-CPU map's values are shown: `no` (not a per-CPU map), `summed` (counters: `value`
    /// is the CPUs' sum), `each_cpu` (times or addresses: `cpus` has one value per CPU)
    pub per_cpu: PerCpu,
    /// every entry (at most 100 000), sorted by key: numerically for integer keys, bytewise
    /// otherwise; an array has one row per slot, zeros included; empty when a hash map is empty
    pub rows: Vec<MapRow>,
}

/// One frame of `map watch`: every entry with its rate since the previous frame.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WatchFrame {
    /// the map's name below the lab's `maps/` (`lab/xdp_counter/pkt_count`)
    pub map: String,
    /// milliseconds since the Unix epoch
    pub at_unix_ms: u64,
    /// milliseconds since the watch read its first frame
    pub since_start_ms: u64,
    /// every entry at this frame, sorted by key as in `map dump`
    pub rows: Vec<WatchRow>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WatchRow {
    /// the key as people read it: decoded through BTF when the lab knows the map, else a number,
    /// words or hex
    pub key: String,
    /// a name the lab gives the key (the abort reason of a `hvm_stats` slot); absent otherwise
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// the value as people read it, like `key`; for a per-CPU counter, the sum over CPUs
    pub value: String,
    /// per second since the previous frame (numbers only; none in the first frame, nor when
    /// the value went down: cleared or overwritten)
    pub rate: Option<f64>,
}

/// What `map watch` did when it ended.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct WatchEnd {
    /// the map's name below the lab's `maps/`
    pub map: String,
    /// how many frames were sent
    pub frames: u64,
    /// ended by Ctrl-C (or the TUI) rather than by `--count`
    pub stopped: bool,
}

/// What `map set` wrote.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MapSet {
    /// the map's name below the lab's `maps/`
    pub map: String,
    /// the key as given
    pub key: String,
    /// the value as given; in a program array, the name of the program put in the slot
    pub value: String,
    /// in a program array: the program's kernel ID
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program_id: Option<u32>,
    /// a per-CPU map: the value went to CPU 0, the other CPUs' copies are 0 (the sum shown is
    /// the value)
    pub per_cpu: bool,
}

/// What `map delete` did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MapDeleted {
    /// the map's name below the lab's `maps/`
    pub map: String,
    /// the key as given
    pub key: String,
    /// there was an entry (or a filled slot) to delete
    pub deleted: bool,
    /// true when the map is a program array (deleting empties the slot; the program stays loaded)
    pub prog_array: bool,
}

/// A map value counts things (summed over CPUs) unless it holds times or addresses.
fn counters(layout: &TypeLayout) -> bool {
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

/// Names the lab gives keys of maps it knows: the VM's abort counters by reason.
fn key_label(map: &MapRef, key: &Value) -> Option<String> {
    if map.name == "system/hvm_stats"
        && let Value::Int(k) = key
    {
        let reason = eclat_kernel::hike::VmError::from_code(*k as u32)?;
        return serde_json::to_value(reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_uppercase));
    }
    None
}

/// Decodes a raw dump through what the catalog knows of the map.
pub(crate) fn decode(cat: &Catalog, d: maps::Dump, programs: &HashMap<u32, String>) -> MapDump {
    let layouts = cat.layouts_of(&d.map.name);
    let per_cpu = match (&layouts, d.map.per_cpu()) {
        (_, false) => PerCpu::No,
        (Some((_, v)), true) if !counters(v) => PerCpu::EachCpu,
        _ => PerCpu::Summed,
    };
    let prog_array = d.map.map_type == "prog_array";
    let chain_ids = cat.holds_chain_ids(&d.map.name);
    // the texts without zero padding differ from the full ones only where the key or the
    // value has a padding field: only those are formatted twice (the TUI decodes its panels'
    // maps ten times a second)
    let padded = layouts.as_ref().is_some_and(|(kl, vl)| {
        kl.fields
            .iter()
            .chain(&vl.fields)
            .any(|f| display::is_padding(&f.name))
    });
    let rows = d
        .rows
        .into_iter()
        .map(|r| {
            // every field for --json (`format`), zero padding left out for people
            // (`format_shown`)
            let texts = |format: fn(&TypeLayout, &[u8]) -> String| match &layouts {
                Some((kl, vl)) => (
                    Some(format(kl, &r.key_bytes)),
                    (per_cpu != PerCpu::EachCpu).then(|| format(vl, &r.value_bytes)),
                    if per_cpu == PerCpu::EachCpu {
                        r.per_cpu.iter().map(|v| format(vl, v)).collect()
                    } else {
                        vec![]
                    },
                ),
                None => (None, None, vec![]),
            };
            let (key_text, value_text, cpus) = texts(display::format);
            let (key_shown, value_shown, cpus_shown) = if padded {
                texts(display::format_shown)
            } else {
                (None, None, vec![])
            };
            let program = prog_array.then(|| prog_name(programs, &r.value));
            let chain_id_text = match (&r.value, chain_ids) {
                (Value::Int(id), true) => Some(format!("{id:#x}")),
                _ => None,
            };
            let value_text = chain_id_text.clone().or(value_text);
            let value_shown = chain_id_text.or(value_shown);
            MapRow {
                label: key_label(&d.map, &r.key),
                chain_id: chain_ids,
                key: r.key,
                value: r.value,
                key_text,
                value_text,
                cpus,
                program,
                key_bytes: r.key_bytes,
                value_bytes: r.value_bytes,
                shown: Shown {
                    key: key_shown,
                    value: value_shown,
                    cpus: cpus_shown,
                },
            }
        })
        .collect();
    MapDump {
        key_type: layouts.as_ref().map(|(k, _)| k.name.clone()),
        value_type: layouts.as_ref().map(|(_, v)| v.name.clone()),
        map: d.map,
        per_cpu,
        rows,
    }
}

fn prog_name(names: &HashMap<u32, String>, v: &Value) -> String {
    match v {
        Value::Int(id) => names.get(&(*id as u32)).cloned().unwrap_or_else(|| {
            // e.g. the program instances of compiled chains in hvm_jit_map: the kernel's name
            match eclat_kernel::sys::prog_info_by_id(*id as u32) {
                Ok(Some(p)) => format!("{} (not pinned by the lab)", p.name),
                _ => "(not pinned by the lab)".into(),
            }
        }),
        _ => "?".into(),
    }
}

impl Lab {
    /// Every map the lab has pinned.
    pub async fn map_list(&self) -> Result<Vec<MapRef>> {
        self.blocking(|lab| Ok(maps::list(lab.env()))).await
    }

    /// Every entry of a map (by short name or path suffix).
    pub async fn map_dump(&self, name: String) -> Result<MapDump> {
        self.blocking(move |lab| {
            let m = maps::find(lab.env(), &name)?;
            let d = maps::dump(&m, 100_000)?;
            let programs = if m.map_type == "prog_array" {
                xdp::program_names_by_id(lab.env())
            } else {
                HashMap::new()
            };
            Ok(decode(&lab.catalog(), d, &programs))
        })
        .await
    }

    /// Refuses to change a map whose content the lab manages: the VM's chain store,
    /// configuration and program table, and the loader maps where `load` wrote a script's
    /// entry points. `what` is the verb of the message (`clear`, `set a key of`).
    fn refuse_managed(&self, m: &MapRef, what: &str) -> Result<()> {
        let system = self.env().bpffs_root.join("maps/system");
        if m.path == system.join("hvm_chain_map") {
            bail!(
                "cannot {what} `{}`: it is the HIKe VM's chain store, the bytecode of the loaded \
                 scripts, not data a program collects; `eclat-lab unload SCRIPT` removes a \
                 script's chains (`chain list` shows which script owns which)",
                m.name
            );
        }
        if m.path == system.join("hvm_config") {
            bail!(
                "cannot {what} `{}`: it is the HIKe VM's configuration (the trace switch, the \
                 chain store's epoch), not data a program collects",
                m.name
            );
        }
        if m.path.starts_with(&system) && m.map_type == "prog_array" {
            bail!(
                "cannot {what} `{}`: it is the HIKe VM's program table, which `module load` and \
                 `load` fill by program ID (`module unload PACKAGE` and `unload SCRIPT` free \
                 them); `map set` and `map delete` work on the program arrays of objects loaded \
                 with `xdp load`",
                m.name
            );
        }
        let st = HikeStore::load(self.env());
        let cat = self.catalog();
        for (script, sc) in &st.scripts {
            for e in &sc.entries {
                let Ok(p) = cat.package(&e.package, true) else {
                    continue;
                };
                if eclat_kernel::hike::runtime::map_pin_path(
                    &self.env().bpffs_root,
                    &p.meta,
                    &e.map,
                ) == m.path
                {
                    bail!(
                        "cannot {what} `{}`: it holds the entry points that `load` wrote for \
                         {script}, and its loader would find no chain to run; `eclat-lab unload \
                         {script}` removes them (and a new `load` writes them again)",
                        m.name
                    );
                }
            }
        }
        Ok(())
    }

    /// Writes VALUE at KEY (numbers, 0x-hex, XDP verdicts); in a program array, KEY is a slot
    /// and VALUE the name of a loaded program.
    pub async fn map_set(&self, name: String, key: String, value: String) -> Result<MapSet> {
        self.blocking(move |lab| {
            let m = maps::find(lab.env(), &name)?;
            lab.refuse_managed(&m, "set a key of")?;
            if m.map_type == "prog_array" {
                let p = xdp::find_program(lab.env(), &value)?;
                let id = maps::set_program(&m, &key, &p.name, &p.pin)?;
                return Ok(MapSet {
                    map: m.name,
                    key,
                    value: p.name,
                    program_id: Some(id),
                    per_cpu: false,
                });
            }
            maps::set(&m, &key, &value)?;
            Ok(MapSet {
                per_cpu: m.per_cpu(),
                map: m.name,
                key,
                value,
                program_id: None,
            })
        })
        .await
    }

    /// Deletes the entry at KEY: empties a program array's slot, removes a hash map's key.
    pub async fn map_delete(&self, name: String, key: String) -> Result<MapDeleted> {
        self.blocking(move |lab| {
            let m = maps::find(lab.env(), &name)?;
            lab.refuse_managed(&m, "delete a key of")?;
            let deleted = maps::delete(&m, &key)?;
            Ok(MapDeleted {
                prog_array: m.map_type == "prog_array",
                map: m.name,
                key,
                deleted,
            })
        })
        .await
    }

    /// Empties a map: deletes every key of a hash map, zeroes every value of an array.
    pub async fn map_clear(&self, name: String) -> Result<Cleared> {
        self.blocking(move |lab| {
            let m = maps::find(lab.env(), &name)?;
            lab.refuse_managed(&m, "clear")?;
            Ok(maps::clear(&m)?)
        })
        .await
    }

    /// Sends a frame of every entry with its rate every `interval`, `count` times (None:
    /// until cancelled). Cancelled, it ends at once with `stopped` set.
    pub async fn map_watch(
        &self,
        name: String,
        interval: Duration,
        count: Option<u64>,
        frames: mpsc::UnboundedSender<WatchFrame>,
        cancel: CancellationToken,
    ) -> Result<WatchEnd> {
        let ms = interval.as_millis();
        if !(10..=3_600_000).contains(&ms) {
            anyhow::bail!(
                "--interval {ms}: give the time between two frames in milliseconds, from 10 \
                 to 3600000 (an hour)"
            );
        }
        let mut m = {
            let name = name.clone();
            self.blocking(move |lab| Ok(maps::find(lab.env(), &name)?))
                .await?
        };
        let mut prev: Option<(Instant, MapDump)> = None;
        let mut first: Option<Instant> = None;
        let mut n = 0u64;
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while count.is_none_or(|c| n < c) {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tick.tick() => {}
            }
            let (mm, want) = (m.clone(), name.clone());
            // the map can go while it is watched (reset, `topo down`, an unload) or be pinned
            // anew under its name (a reload): the watch follows it, or ends saying so
            let (found, d) = self
                .blocking(move |lab| {
                    let (m, d) = match maps::dump(&mm, 10_000) {
                        Ok(d) => (mm, d),
                        Err(e) => match maps::find(lab.env(), &want) {
                            Ok(again) if again.path != mm.path || again.id != mm.id => {
                                let d = maps::dump(&again, 10_000)?;
                                (again, d)
                            }
                            Ok(_) => return Err(e.into()),
                            Err(_) => anyhow::bail!(
                                "`map watch {want}`: the map is gone ({} was unpinned: a \
                                 reset, `topo down` or an unload removed it); run the watch \
                                 again once a step makes it",
                                mm.path.display()
                            ),
                        },
                    };
                    Ok((m, decode(&lab.catalog(), d, &HashMap::new())))
                })
                .await?;
            if found.id != m.id {
                // another map: rates restart from its first frame
                prev = None;
                m = found;
            }
            let now = Instant::now();
            let rows = d
                .rows
                .iter()
                .map(|r| {
                    let rate = prev.as_ref().and_then(|(t, p)| {
                        let old = p.rows.iter().find(|o| o.key_bytes == r.key_bytes)?;
                        // a count that went down (cleared, overwritten) has no rate
                        Some(
                            r.number()?.checked_sub(old.number()?)? as f64
                                / now.duration_since(*t).as_secs_f64(),
                        )
                    });
                    WatchRow {
                        key: r.key_shown(),
                        label: r.label.clone(),
                        value: r.value_shown(),
                        rate,
                    }
                })
                .collect();
            let at_unix_ms = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as u64;
            let since_start_ms = first.get_or_insert(now).elapsed().as_millis() as u64;
            let _ = frames.send(WatchFrame {
                map: m.name.clone(),
                at_unix_ms,
                since_start_ms,
                rows,
            });
            n += 1;
            prev = Some((now, d));
        }
        Ok(WatchEnd {
            map: m.name,
            frames: n,
            stopped: cancel.is_cancelled(),
        })
    }
}

/// One reading of one panel's map.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub at: Instant,
    /// `Ok(None)`: the map does not exist (yet)
    pub result: Result<Option<MapDump>, String>,
}

/// Reads the maps of the TUI's panels, keeping each open between readings (a reading is a
/// few map lookups; finding the pin walks the lab's bpffs root, reads the journal and asks the
/// kernel for every map's info). A map not found is looked for again only once the journal
/// has changed ([`eclat_kernel::journal::stamp`]): no pin becomes the lab's without a record
/// (a panel of a map not loaded yet cost an idle tutorial a walk of the lab's maps, some 75
/// syscalls, at every reading).
#[derive(Debug)]
pub struct Sampler {
    lab: Lab,
    found: HashMap<String, maps::OpenMap>,
    /// maps not found, with the journal's stamp when they were looked for
    missing: HashMap<String, Option<(u64, u64, std::time::SystemTime)>>,
}

impl Sampler {
    pub fn new(lab: Lab) -> Self {
        Self {
            lab,
            found: HashMap::new(),
            missing: HashMap::new(),
        }
    }

    /// Reads each map of `names` (blocking: a few syscalls per map). Read-only: a sample
    /// racing a cleanup never creates anything.
    pub fn sample(&mut self, names: &[String]) -> Vec<Sample> {
        let env = self.lab.env().clone();
        let catalog = self.lab.catalog();
        // read once per reading, and only if a map is not open
        let mut stamp = None;
        names
            .iter()
            .map(|name| {
                let at = Instant::now();
                let sample = |result| Sample {
                    name: name.clone(),
                    at,
                    result,
                };
                // not open yet, or unpinned or pinned anew since (topology down, reset, a
                // reload): found and opened again
                if !self.found.get(name).is_some_and(|m| m.current()) {
                    self.found.remove(name);
                    let stamp =
                        *stamp.get_or_insert_with(|| eclat_kernel::journal::stamp(&env.state_dir));
                    if stamp.is_some() && self.missing.get(name) == Some(&stamp) {
                        return sample(Ok(None));
                    }
                    match maps::find(&env, name).and_then(maps::OpenMap::open) {
                        Ok(m) => {
                            self.missing.remove(name);
                            self.found.insert(name.clone(), m);
                        }
                        Err(MapError::NotFound { .. }) => {
                            self.missing.insert(name.clone(), stamp);
                            return sample(Ok(None));
                        }
                        Err(e) => return sample(Err(e.to_string())),
                    }
                }
                sample(match self.found[name].dump(64) {
                    Ok(d) => Ok(Some(decode(&catalog, d, &HashMap::new()))),
                    // gone since: looked up again next time
                    Err(_) => {
                        self.found.remove(name);
                        Ok(None)
                    }
                })
            })
            .collect()
    }

    /// Forgets where the maps were (the panels changed).
    pub fn forget(&mut self) {
        self.found.clear();
        self.missing.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(name: &str, value: u32) -> maps::Dump {
        maps::Dump {
            map: MapRef {
                name: name.into(),
                path: Default::default(),
                map_type: "hash".into(),
                key_size: 2,
                value_size: 4,
                max_entries: 64,
                id: 1,
            },
            rows: vec![maps::Row {
                key: Value::Int(5000),
                value: Value::Int(value as u64),
                key_bytes: 5000u16.to_le_bytes().to_vec(),
                value_bytes: value.to_le_bytes().to_vec(),
                per_cpu: vec![],
            }],
        }
    }

    /// A loader's map holds chain IDs: shown as `chain list` names them, and not a counter
    /// (no rate, no sparkline in the TUI's panel).
    #[test]
    fn a_loaders_chain_ids_are_shown_in_hex() {
        let cat = Catalog::embedded();
        let d = decode(
            &cat,
            dump(
                "hike_default/udp_dport_classifier/udp_dport_classifier_map",
                0x4000_0004,
            ),
            &HashMap::new(),
        );
        let r = &d.rows[0];
        assert_eq!(r.key_shown(), "5000");
        assert_eq!(r.value_shown(), "0x40000004");
        assert!(r.chain_id);
        assert_eq!(r.number(), None);
        // a program's map of the same shape counts
        let d = decode(
            &cat,
            dump("hike_default/monitor/map_pcpu_mon", 7),
            &HashMap::new(),
        );
        assert!(!d.rows[0].chain_id);
        assert_eq!(d.rows[0].number(), Some(7));
    }

    /// Lesson 4's lb_rx_flows (key `struct rx_flow`, with `__u16 pad`, through the embedded
    /// object's BTF): the text people read leaves `pad: 0` out (at 80x24 each entry took two
    /// lines), `--json` keeps it.
    #[test]
    fn zero_padding_is_left_out_for_people_kept_in_json() {
        let cat = Catalog::embedded();
        let mut key = vec![10, 0, 2, 2];
        key.extend_from_slice(&40000u16.to_le_bytes());
        key.extend_from_slice(&[0, 0]);
        let d = maps::Dump {
            map: MapRef {
                name: "lab/lb_backend/lb_rx_flows".into(),
                path: Default::default(),
                map_type: "hash".into(),
                key_size: 8,
                value_size: 8,
                max_entries: 4096,
                id: 1,
            },
            rows: vec![maps::Row {
                key: Value::Int(u64::from_le_bytes(key.clone().try_into().unwrap())),
                value: Value::Int(100),
                key_bytes: key,
                value_bytes: 100u64.to_le_bytes().to_vec(),
                per_cpu: vec![],
            }],
        };
        let d = decode(&cat, d, &HashMap::new());
        let r = &d.rows[0];
        assert_eq!(r.key_shown(), "{addr: 10.0.2.2, sport: 40000}");
        assert_eq!(r.value_shown(), "100");
        let json = serde_json::to_value(r).unwrap();
        assert_eq!(json["key_text"], "{addr: 10.0.2.2, sport: 40000, pad: 0}");
    }
}
