//! How a stored chain runs (compiled, linked or as instances, or interpreted, and why), and
//! the environment switches that turn the chain compiler and linking off.

use serde::Serialize;

/// How a stored chain runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "tier", rename_all = "lowercase")]
pub enum Tier {
    /// run by the chain compiler's code: the instance of its first call in the entry slot,
    /// one program instance per other call site (or all of them linked into one program)
    Compiled {
        /// the `hvm_jit_map` slot of the chain's entry program (`n` for chain `0x40000000 | n`),
        /// which the VM jumps to instead of interpreting
        entry_slot: u32,
        /// the `hvm_jit_map` slots (128-255) of its other call sites' program instances; empty when
        /// the chain is linked into one program
        instance_slots: Vec<u32>,
        /// every call site's program linked into the one program of the entry slot
        /// (`link.rs`); no instance slots then
        #[serde(default)]
        linked: bool,
        /// why the call sites could not be linked (linking on, instances installed)
        #[serde(skip_serializing_if = "Option::is_none")]
        not_linked: Option<String>,
    },
    /// run by the VM's interpreter, for the reason in `why`
    Interpreted {
        /// why the chain compiler did not take it (a construct it does not compile, a program
        /// that could not be installed), or `not compiled` when the chain was stored with the
        /// compiler off (`ECLAT_LAB_JIT=off`) or by another process that did not say
        why: String,
    },
}

impl Tier {
    /// One line for `chain list`: how many program instances, or "interpreted".
    pub fn summary(&self) -> String {
        match self {
            Tier::Compiled { linked: true, .. } => "compiled: linked into one program".into(),
            Tier::Compiled {
                instance_slots,
                not_linked,
                ..
            } => {
                let n = instance_slots.len() + 1;
                match not_linked {
                    Some(why) => format!("compiled: {n} program instance(s), not linked: {why}"),
                    None => format!("compiled: {n} program instance(s)"),
                }
            }
            Tier::Interpreted { .. } => "interpreted".into(),
        }
    }
}

/// Does the environment turn the chain compiler off (`ECLAT_LAB_JIT=off`)?
pub fn disabled_by_env() -> bool {
    matches!(
        std::env::var("ECLAT_LAB_JIT").as_deref(),
        Ok("off" | "0" | "no" | "false")
    )
}

/// Does the environment turn linking off (`ECLAT_LAB_LINK=off`: compiled chains are
/// installed as one instance per call site)?
pub fn linking_disabled_by_env() -> bool {
    matches!(
        std::env::var("ECLAT_LAB_LINK").as_deref(),
        Ok("off" | "0" | "no" | "false")
    )
}
