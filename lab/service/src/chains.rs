//! The chains stored in the lab: which script each comes from and how it runs (`chain
//! list`), and its bytecode with what the chain compiler wrote for it (`chain dis`).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use eclat_kernel::hike::StoredChain;
use eclat_kernel::hike::runtime::Hike;
use eclat_kernel::hike::tier::Tier;
use serde::Serialize;

use crate::Lab;
use crate::store::{ChainState, HikeStore};

/// One stored chain.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ChainRow {
    /// the chain's ID in `hvm_chain_map`, as the VM calls it (the lab's chains are
    /// `0x40000001` and up)
    pub id: u32,
    /// the chain's length in instruction slots (an `lddw` takes two)
    pub insns: usize,
    /// the chain's name in its script (none: stored by hand)
    pub name: Option<String>,
    /// the script's file name
    pub script: Option<String>,
    /// where the script is in its life
    pub state: Option<ChainState>,
    /// the store generation the chain was written with: a nanosecond wall-clock stamp, new at every
    /// store, so a reloaded chain shows a new one
    pub generation: u64,
    /// how the chain runs now, read from the kernel: `tier` is `compiled` (with its `hvm_jit_map`
    /// slots) or `interpreted` (with `why`)
    pub tier: Tier,
}

/// A chain's disassembly and compiled form.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ChainDis {
    /// the chain's ID in `hvm_chain_map`
    pub id: u32,
    /// the chain's length in instruction slots (an `lddw` takes two)
    pub insns: usize,
    /// the bytecode, one instruction per line, element IDs named
    pub listing: Vec<String>,
    /// how the chain runs now (see `chain list`'s `tier`)
    pub tier: Tier,
    /// what the chain compiler wrote after each call (or why it shows nothing)
    pub compiled: String,
}

impl Lab {
    /// Every stored chain, with the script it came from and how it runs.
    pub async fn chain_list(&self) -> Result<Vec<ChainRow>> {
        self.blocking(|lab| {
            if !lab.hike_exists() {
                return Ok(vec![]);
            }
            let st = HikeStore::load(lab.env());
            let hike = lab.existing_hike()?;
            let mut rows = Vec::new();
            for c in hike.chains()? {
                let owner = st.chain_owner(c.id);
                rows.push(ChainRow {
                    id: c.id,
                    insns: c.insns.len(),
                    name: owner.as_ref().map(|o| o.0.clone()),
                    script: owner.as_ref().map(|o| o.1.clone()),
                    state: owner.map(|o| o.2),
                    generation: c.generation,
                    tier: hike.chain_tier(c.id)?,
                });
            }
            // by ID, not in the chain map's hash order
            rows.sort_by_key(|r| r.id);
            Ok(rows)
        })
        .await
    }

    /// Disassembles a stored chain (by ID, e.g. 0x40000001, or by name).
    pub async fn chain_dis(&self, id: String) -> Result<ChainDis> {
        self.blocking(move |lab| {
            let st = HikeStore::load(lab.env());
            let want = parse_id(&id, &st)?;
            let hike = lab.existing_hike()?;
            let c = hike
                .chains()?
                .into_iter()
                .find(|c| c.id == want)
                .with_context(|| format!("no chain {want:#x} is stored (see `chain list`)"))?;
            let prog_names = st.program_names();
            let listing = hike::disasm::disasm(&c.insns, None)
                .lines()
                .map(|line| {
                    // name the element IDs moved into r1
                    let named = line.split("r1 = ").nth(1).and_then(|imm| {
                        let v = imm.trim().trim_end_matches(" ll");
                        let n = match v.strip_prefix("0x") {
                            Some(h) => u32::from_str_radix(h, 16).ok(),
                            None => v.parse().ok(),
                        };
                        n.and_then(|n| prog_names.get(&n))
                    });
                    match named {
                        Some(p) => format!("{line}    ; {p}"),
                        None => line.to_string(),
                    }
                })
                .collect();
            Ok(ChainDis {
                id: c.id,
                insns: c.insns.len(),
                listing,
                tier: hike.chain_tier(c.id)?,
                compiled: compiled_form(&hike, &c, &prog_names)?,
            })
        })
        .await
    }
}

/// The second half of `chain dis`: how the chain runs, and for a compiled chain what the
/// compiler wrote after each call (`hike::jit::listing`).
fn compiled_form(
    hike: &Hike,
    c: &StoredChain,
    prog_names: &BTreeMap<u32, String>,
) -> Result<String> {
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
                    "the compiler was off when the chain was stored (ECLAT_LAB_JIT=off), or the \
                     chain's programs could not be loaded for it then; load the script again to \
                     compile it"
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
            "(what the compiler wrote cannot be shown: its programs are no longer registered as \
             when the chain was stored; load the script again)",
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

fn parse_id(id: &str, st: &HikeStore) -> Result<u32> {
    if let Some(h) = id.strip_prefix("0x") {
        return u32::from_str_radix(h, 16).with_context(|| format!("`{id}` is not a chain ID"));
    }
    if let Ok(n) = id.parse::<u32>() {
        return Ok(n);
    }
    st.chain_by_name(id)
        .with_context(|| format!("no chain named `{id}` (give its name or ID; see `chain list`)"))
}
