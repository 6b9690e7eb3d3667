//! The operations that keep a chain's bytecode and its compiled form in step: storing and
//! deleting chains, and registering or emptying program IDs (which compiles again every
//! stored chain that calls the ID). Compiled code never outlives its bytecode: a store
//! switches the entry slot over after the chain is written (or removes it first when the new
//! version stays interpreted), a delete removes it.

use hike::Insn;

use super::HikeError;
use super::runtime::{Hike, VM_PROG_ID};
use super::tier::Tier;

impl Hike {
    /// Puts program `package.name` in slot `id` of `hvm_hprog_map` (replacing what was there).
    pub fn register(&mut self, id: u32, package: &str, name: &str) -> Result<(), HikeError> {
        let before = self.registered_kernel_id(id)?;
        self.register_slot(id, package, name)?;
        if self.registered_kernel_id(id)? != before {
            self.recompile_callers(id)?;
        }
        Ok(())
    }

    /// Compiles again every stored chain that calls program `id` (its compiled form holds
    /// instances of the program that was registered under `id` when it was stored).
    fn recompile_callers(&mut self, id: u32) -> Result<(), HikeError> {
        let sets_r1 = |i: &Insn| {
            i.code == hike::insn::op::ALU64 | hike::insn::op::MOV
                && i.dst == 1
                && i.imm as u32 == id
        };
        for c in self.chains()? {
            if c.insns.iter().any(sets_r1) && (self.jit_on() || !c.jit_slots.is_empty()) {
                self.store_chain(c.id, &c.insns)?;
            }
        }
        Ok(())
    }

    /// Empties slot `id`: chains calling it now abort (HVM_ERR_NO_PROG).
    pub fn unregister(&mut self, id: u32) -> Result<(), HikeError> {
        if id == VM_PROG_ID || id >= hike::MAX_PROGRAMS {
            return Err(HikeError::BadId { id });
        }
        let found = self.registered_kernel_id(id)?.is_some();
        self.unregister_slot(id)?;
        if found {
            self.recompile_callers(id)?;
        }
        Ok(())
    }

    /// Stores a chain (replacing one stored under the same ID). Refuses more than 64
    /// instruction slots, a non-chain ID, and bytecode outside the chain subset.
    pub fn store_chain(&mut self, id: u32, insns: &[Insn]) -> Result<u64, HikeError> {
        if !hike::is_chain_id(id) {
            return Err(HikeError::BadId { id });
        }
        if insns.len() > hike::MAX_CHAIN_INSNS {
            return Err(HikeError::ChainTooLong {
                id,
                len: insns.len(),
            });
        }
        super::validate_chain(insns).map_err(|reason| HikeError::InvalidChain { id, reason })?;
        let old = self.stored_jit_slots(id)?.unwrap_or_default();
        let installed = if self.jit_on() {
            self.jit_install(id, insns, &old)?
        } else {
            Err("the chain compiler is off (ECLAT_LAB_JIT=off)".to_string())
        };
        let (generation, tier) = match installed {
            Ok(done) => done,
            Err(why) => {
                // the old compiled form goes first: it must not run the new bytecode
                self.jit_remove(&old)?;
                let g = self.write_chain(id, insns, &[])?;
                (g, Tier::Interpreted { why })
            }
        };
        self.set_tier(id, tier);
        Ok(generation)
    }

    /// Removes a chain (and its compiled programs); `false` when none was stored under that ID.
    pub fn delete_chain(&mut self, id: u32) -> Result<bool, HikeError> {
        let old = self.stored_jit_slots(id)?.unwrap_or_default();
        self.jit_remove(&old)?;
        self.forget_tier(id);
        self.delete_chain_value(id)
    }
}
