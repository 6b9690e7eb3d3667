//! Pictures of the lab's own files (`topo draw`, `chain draw`): a topology file, a script's
//! chain in its compiled form, and the path of a packet through a script's loader, the HIKe
//! VM and its programs, as SVG drawn by `eclat_model::draw`. Nothing touches the kernel: a
//! script is compiled against the embedded objects' catalog, as `compile` does, with program
//! IDs given in the order the script imports them (the IDs a fresh lab would give).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use eclat_model::{draw, topology};
use hike::catalog::ProgramKind;
use serde::Serialize;

use crate::{Lab, topologies};

/// A topology file drawn (`topo draw`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TopoDrawing {
    /// the topology's name (or the file's path)
    pub topology: String,
    /// where it was read from (`netns/hike-lab.toml`, or the path given)
    pub source: String,
    /// how many nodes the topology has
    pub nodes: usize,
    /// how many veth pairs it has
    pub links: usize,
    /// the picture (an SVG document)
    pub svg: String,
}

/// Which picture of a script to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptFigure {
    /// a chain's compiled form: its call sites and the ways between them
    Chain,
    /// a packet's way: hook, loader, loader map entries, VM, programs, verdicts
    Path,
}

/// What to draw of a script.
#[derive(Debug, Clone)]
pub struct ChainDrawRequest {
    pub file: PathBuf,
    pub defines: Vec<(String, String)>,
    /// the chain (default: the script's first)
    pub chain: Option<String>,
    pub figure: ScriptFigure,
    /// `Path`: the node the loader is attached on
    pub node: String,
}

/// A script's chain drawn (`chain draw`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ChainDrawing {
    /// the script file drawn, as given
    pub script: String,
    /// the chain drawn: the one asked for, else the script's first chain (`chain` figure) or the
    /// first chain a loader map entry names (`path` figure)
    pub chain: String,
    /// `chain` (the compiled form) or `path` (a packet's way through the loader and VM)
    pub figure: String,
    /// the picture (an SVG document)
    pub svg: String,
}

impl Lab {
    /// `topo draw`: a shipped topology (default `hike-lab`) or a topology file, drawn.
    pub fn topo_draw(&self, name: Option<String>) -> Result<TopoDrawing> {
        let name = name.unwrap_or_else(|| topologies::DEFAULT.to_string());
        let (src, file) = topologies::source(&name)?;
        let t = topology::parse(&src, &file)?;
        Ok(TopoDrawing {
            topology: name,
            source: file,
            nodes: t.nodes.len(),
            links: t.links.len(),
            svg: draw::topology(&t),
        })
    }

    /// `chain draw`: a chain of a script, compiled as `load` would compile it, drawn.
    pub fn chain_draw(&self, req: &ChainDrawRequest) -> Result<ChainDrawing> {
        let program = self.compile_file(&req.file, &req.defines)?.program;
        let script = req.file.display().to_string();
        // program IDs in import order, chain IDs from the first
        let ids: BTreeMap<(String, String), u32> = program
            .programs
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), i as u32 + 1))
            .collect();
        let linked = program
            .link_default(&|pkg, name| ids.get(&(pkg.to_string(), name.to_string())).copied())
            .with_context(|| format!("linking {script}"))?;
        let names: BTreeMap<u32, String> = ids
            .iter()
            .map(|((p, n), id)| (*id, format!("{p}.{n}")))
            .collect();
        let cat = self.catalog();
        // the verdict programs (their calls are folded) and the final ones (nothing of the
        // chain runs after them)
        let mut verdicts = BTreeMap::new();
        let mut finals = Vec::new();
        for ((pkg, name), id) in &ids {
            let Ok(p) = cat.program(pkg, name) else {
                continue;
            };
            if let Some(a) = p.meta.verdicts.get(name) {
                verdicts.insert(*id, *a);
            }
            if cat
                .signatures()
                .program(pkg, name)
                .is_some_and(|s| s.kind == ProgramKind::Final)
            {
                finals.push(*id);
            }
        }
        let is_final = |id: u32| finals.contains(&id) && !verdicts.contains_key(&id);
        let chain = match (&req.chain, req.figure) {
            (Some(c), _) => c.clone(),
            (None, ScriptFigure::Chain) => program
                .chains
                .first()
                .map(|c| c.name.clone())
                .context("the script defines no chain")?,
            // the packet's chain: the first a loader map entry names
            (None, ScriptFigure::Path) => program
                .map_entries
                .iter()
                .flat_map(|e| &e.value_relocs)
                .map(|r| program.chains[r.chain].name.clone())
                .next()
                .context("no loader map entry of the script names a chain")?,
        };
        let lc = linked
            .chains
            .iter()
            .find(|c| c.name == chain)
            .with_context(|| {
                format!(
                    "{script} has no chain `{chain}` (its chains: {})",
                    program
                        .chains
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
        let plan = hike::jit::compile(lc.id, &lc.insns, &verdicts).map_err(|e| {
            anyhow::anyhow!("chain `{chain}` stays interpreted, so it has no compiled form: {e}")
        })?;
        let prog = |id: u32| {
            names
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("program {id}"))
        };
        let short = |id: u32| {
            let n = prog(id);
            n.split_once('.').map_or(n.clone(), |(_, s)| s.to_string())
        };
        let svg = match req.figure {
            ScriptFigure::Chain => {
                let reason = |r: u32| format!("hvm_stats[{r}]");
                draw::chain(
                    &plan,
                    &draw::ChainNames {
                        chain: &chain,
                        prog: &prog,
                        reason: &reason,
                        is_final: &is_final,
                    },
                )
            }
            ScriptFigure::Path => {
                let Some(a) = program.attach.first() else {
                    bail!("{script} attaches no loader: a packet has no way in to draw");
                };
                let mut entries = Vec::new();
                for e in program.map_entries.iter().filter(|e| e.loader == a.loader) {
                    let key = e
                        .key
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<Vec<_>>()
                        .join(" ");
                    for r in &e.value_relocs {
                        entries.push(format!(
                            "{}[{key}] -> chain {}",
                            e.map, program.chains[r.chain].name
                        ));
                    }
                }
                // how a packet leaves: the verdicts the compiled chain folds, then the final
                // programs that decide themselves
                let mut ways: Vec<&hike::jit::Way> = vec![&plan.entry];
                for s in &plan.sites {
                    ways.push(&s.cont.ways.0);
                    ways.extend(s.cont.ways.1.as_ref());
                }
                let mut leaves: Vec<String> = Vec::new();
                let mut add = |v: String| {
                    if !leaves.contains(&v) {
                        leaves.push(v);
                    }
                };
                for w in ways {
                    if let hike::jit::Next::Verdict { prog: p, action } = w.next {
                        add(format!("{} ({})", draw::action_name(action), short(p)));
                    }
                }
                let mut programs: Vec<String> = Vec::new();
                for s in &plan.sites {
                    if is_final(s.prog) {
                        add(format!("{}'s own verdict", short(s.prog)));
                    }
                    let n = prog(s.prog);
                    if !programs.contains(&n) {
                        programs.push(n);
                    }
                }
                draw::packet_path(&draw::PacketPath {
                    hook: format!("{}:{} ({})", req.node, a.device, a.mode),
                    loader: format!("{}.{}", a.package, a.loader),
                    entries,
                    chain: chain.clone(),
                    programs,
                    verdicts: leaves,
                })
            }
        };
        Ok(ChainDrawing {
            script,
            chain,
            figure: match req.figure {
                ScriptFigure::Chain => "chain",
                ScriptFigure::Path => "path",
            }
            .into(),
            svg,
        })
    }
}
