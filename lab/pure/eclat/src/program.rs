//! What the compiler produces: chains with relocation sites for element IDs, loader map entries,
//! attach requests; and the `--emit asm` view (`--emit c` is in `emit_c`). The caller (the lab) decides the real
//! chain and program IDs, so that IDs can be reused after unload: [`Program::link`] patches them.

use crate::ast;
use crate::diag::Span;
use hike::catalog::IntType;
use hike::insn::Insn;
use hike::{FIRST_CHAIN_ID, is_chain_id};
use std::fmt::Write;

/// Where an element ID goes in a chain: `insns[insn].imm` of a `mov r1, imm`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reloc {
    pub insn: usize,
    pub target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Target {
    /// index into [`Program::chains`]
    Chain(usize),
    /// an imported HIKe program
    Program { package: String, name: String },
}

/// One compiled chain. Until [`Program::link`], chain `i` is referenced as
/// `FIRST_CHAIN_ID + i` and programs as ID 0.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Chain {
    pub name: String,
    pub params: Vec<(String, IntType)>,
    pub insns: Vec<Insn>,
    /// 1-based source line of each instruction slot (the second slot of an `lddw` repeats it)
    pub lines: Vec<u32>,
    pub relocs: Vec<Reloc>,
    /// the `def` header
    pub span: Span,
}

/// A chain ID inside a loader map value: the 4 bytes at `offset` of `value`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ValueReloc {
    pub offset: usize,
    pub chain: usize,
}

/// One `(key): (value)` of `L[map] = {...}`, packed with the map's key/value layouts
/// (little-endian integers, addresses in network order).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MapEntry {
    pub package: String,
    pub loader: String,
    pub map: String,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub value_relocs: Vec<ValueReloc>,
    pub span: Span,
}

/// `L.attach('dev', 'mode')`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AttachRequest {
    pub package: String,
    pub loader: String,
    pub device: String,
    /// `xdp` (let the kernel choose), `xdpgeneric`, `xdpdrv` or `xdpoffload`
    pub mode: String,
    pub span: Span,
}

/// The result of a successful compilation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Program {
    pub file_name: String,
    pub source: String,
    pub chains: Vec<Chain>,
    pub map_entries: Vec<MapEntry>,
    pub attach: Vec<AttachRequest>,
    /// every program the chains call, sorted, without duplicates
    pub programs: Vec<(String, String)>,
    /// top-level constants (name, value) in source order
    pub constants: Vec<(String, u64)>,
    #[serde(skip)]
    pub(crate) defs: Vec<ast::Def>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("{got} chain IDs given for {expected} chains")]
    ChainCount { expected: usize, got: usize },
    #[error("{id:#x} is not a chain ID (bit 30 set, below 0x80000000)")]
    BadChainId { id: u32 },
    #[error("no ID for program `{package}.{name}`")]
    UnknownProgram { package: String, name: String },
    #[error("program ID {id} of `{name}` is outside 0..255")]
    BadProgramId { name: String, id: u32 },
}

/// A chain with its real ID and patched bytecode.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LinkedChain {
    pub id: u32,
    pub name: String,
    pub insns: Vec<Insn>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LinkedEntry {
    pub package: String,
    pub loader: String,
    pub map: String,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Linked {
    pub chains: Vec<LinkedChain>,
    pub map_entries: Vec<LinkedEntry>,
    pub attach: Vec<AttachRequest>,
}

/// Where `eclat-lab test` sends a script's crafted packets: see [`Program::test_entry`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TestEntry {
    /// through a loader the script configures (the one of its first map entry)
    Loader { package: String, loader: String },
    /// straight into one chain, no loader in between (`test --chain NAME`, or the only
    /// entry chain of a script that configures no loader)
    Chain { index: usize, name: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TestEntryError {
    #[error("the script has no chain `{name}`; its chains: {}{}", chains.join(", "), suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    NoSuchChain {
        name: String,
        chains: Vec<String>,
        suggestion: Option<String>,
    },
    #[error("the script configures no loader and has {} entry chains ({}): name the one to test with `--chain NAME`", entries.len(), entries.join(", "))]
    SeveralEntries { entries: Vec<String> },
    #[error("the script defines no chain")]
    NoChain,
}

impl Chain {
    /// The bytecode as stored in `hvm_chain_map` (8 bytes per slot, little-endian), before
    /// linking.
    pub fn bytes(&self) -> Vec<u8> {
        Insn::encode_all(&self.insns)
    }
}

impl Linked {
    /// The ID chain `name` was linked under.
    pub fn chain_id(&self, name: &str) -> Option<u32> {
        self.chains.iter().find(|c| c.name == name).map(|c| c.id)
    }
}

impl LinkedChain {
    /// The bytecode as stored in `hvm_chain_map` (8 bytes per slot, little-endian).
    pub fn bytes(&self) -> Vec<u8> {
        Insn::encode_all(&self.insns)
    }
}

impl Program {
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }

    /// The chains no chain of the script calls (where a packet's journey can start), in
    /// source order.
    pub fn entry_chains(&self) -> Vec<usize> {
        let called: std::collections::BTreeSet<usize> = self
            .chains
            .iter()
            .flat_map(|c| &c.relocs)
            .filter_map(|r| match r.target {
                Target::Chain(i) => Some(i),
                Target::Program { .. } => None,
            })
            .collect();
        (0..self.chains.len())
            .filter(|i| !called.contains(i))
            .collect()
    }

    /// Where `eclat-lab test` sends the crafted packets. `chain` (`--chain NAME`) names a
    /// chain to run directly. Without it: the loader the script configures (its first map
    /// entry's); a script that configures none runs its entry chain (the one no other chain
    /// calls) when it has exactly one.
    pub fn test_entry(&self, chain: Option<&str>) -> Result<TestEntry, TestEntryError> {
        let names = || self.chains.iter().map(|c| c.name.clone()).collect();
        if let Some(name) = chain {
            let Some(index) = self.chains.iter().position(|c| c.name == name) else {
                let chains: Vec<String> = names();
                let suggestion = crate::suggest::suggest(name, chains.iter().map(|s| s.as_str()))
                    .map(str::to_string);
                return Err(TestEntryError::NoSuchChain {
                    name: name.to_string(),
                    chains,
                    suggestion,
                });
            };
            return Ok(TestEntry::Chain {
                index,
                name: name.to_string(),
            });
        }
        if let Some(e) = self.map_entries.first() {
            return Ok(TestEntry::Loader {
                package: e.package.clone(),
                loader: e.loader.clone(),
            });
        }
        match self.entry_chains().as_slice() {
            [] if self.chains.is_empty() => Err(TestEntryError::NoChain),
            [index] => Ok(TestEntry::Chain {
                index: *index,
                name: self.chains[*index].name.clone(),
            }),
            // every chain is called by another: a loop of chains; name one
            [] => Err(TestEntryError::SeveralEntries { entries: names() }),
            several => Err(TestEntryError::SeveralEntries {
                entries: several
                    .iter()
                    .map(|i| self.chains[*i].name.clone())
                    .collect(),
            }),
        }
    }

    /// Patches real IDs in: `chain_ids[i]` for chain `i`, `program_id(package, name)` for each
    /// program.
    pub fn link(
        &self,
        chain_ids: &[u32],
        program_id: &dyn Fn(&str, &str) -> Option<u32>,
    ) -> Result<Linked, LinkError> {
        if chain_ids.len() != self.chains.len() {
            return Err(LinkError::ChainCount {
                expected: self.chains.len(),
                got: chain_ids.len(),
            });
        }
        for &id in chain_ids {
            if !is_chain_id(id) || id >= 0x8000_0000 {
                return Err(LinkError::BadChainId { id });
            }
        }
        let mut chains = Vec::new();
        for (i, c) in self.chains.iter().enumerate() {
            let mut insns = c.insns.clone();
            for r in &c.relocs {
                let id = match &r.target {
                    Target::Chain(j) => chain_ids.get(*j).copied().unwrap_or(0),
                    Target::Program { package, name } => {
                        let id =
                            program_id(package, name).ok_or_else(|| LinkError::UnknownProgram {
                                package: package.clone(),
                                name: name.clone(),
                            })?;
                        if id >= hike::MAX_PROGRAMS {
                            return Err(LinkError::BadProgramId {
                                name: name.clone(),
                                id,
                            });
                        }
                        id
                    }
                };
                if let Some(insn) = insns.get_mut(r.insn) {
                    insn.imm = id as i32;
                }
            }
            chains.push(LinkedChain {
                id: chain_ids[i],
                name: c.name.clone(),
                insns,
            });
        }
        let map_entries = self
            .map_entries
            .iter()
            .map(|e| {
                let mut value = e.value.clone();
                for r in &e.value_relocs {
                    let id = chain_ids.get(r.chain).copied().unwrap_or(0);
                    if let Some(b) = value.get_mut(r.offset..r.offset + 4) {
                        b.copy_from_slice(&id.to_le_bytes());
                    }
                }
                LinkedEntry {
                    package: e.package.clone(),
                    loader: e.loader.clone(),
                    map: e.map.clone(),
                    key: e.key.clone(),
                    value,
                }
            })
            .collect();
        Ok(Linked {
            chains,
            map_entries,
            attach: self.attach.clone(),
        })
    }

    /// Links with chain `i` = `FIRST_CHAIN_ID + i` and programs numbered by `program_id`.
    pub fn link_default(
        &self,
        program_id: &dyn Fn(&str, &str) -> Option<u32>,
    ) -> Result<Linked, LinkError> {
        let ids: Vec<u32> = (0..self.chains.len() as u32)
            .map(|i| FIRST_CHAIN_ID + i)
            .collect();
        self.link(&ids, program_id)
    }

    /// The disassembly of every chain, each instruction annotated with its source line the first
    /// time that line appears, and element IDs named.
    pub fn emit_asm(&self) -> String {
        let src_lines: Vec<&str> = self.source.lines().collect();
        let mut out = String::new();
        for (i, c) in self.chains.iter().enumerate() {
            let params: Vec<String> = c
                .params
                .iter()
                .map(|(n, t)| format!("{} : {n}", t.name()))
                .collect();
            let _ = writeln!(
                out,
                "; chain {} ({}) - {} instructions, ID {:#x} until linked",
                c.name,
                params.join(", "),
                c.insns.len(),
                FIRST_CHAIN_ID + i as u32
            );
            let annotate = |slot: usize| -> Option<String> {
                let mut parts = Vec::new();
                if let Some(r) = c.relocs.iter().find(|r| r.insn == slot) {
                    parts.push(match &r.target {
                        Target::Chain(j) => format!(
                            "chain {}",
                            self.chains.get(*j).map(|c| c.name.as_str()).unwrap_or("?")
                        ),
                        Target::Program { package, name } => format!("program {package}.{name}"),
                    });
                }
                let line = *c.lines.get(slot)?;
                let first = slot == 0 || c.lines.get(slot - 1) != Some(&line);
                if first {
                    let text = src_lines
                        .get(line as usize - 1)
                        .map(|s| s.trim())
                        .unwrap_or("");
                    parts.push(format!("{line}: {text}"));
                }
                (!parts.is_empty()).then(|| parts.join(" | "))
            };
            out.push_str(&hike::disasm::disasm(&c.insns, Some(&annotate)));
            out.push('\n');
        }
        out
    }
}
