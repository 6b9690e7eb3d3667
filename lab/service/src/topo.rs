//! Topologies: the shipped ones (`netns/*.toml`), building one in the kernel, removing it,
//! and reading back what the kernel has.

use anyhow::{Context, Result};
use eclat_kernel::journal::Lifetime;
use eclat_kernel::topo::{self, DownReport, Status, UpReport};
use eclat_kernel::xdp;
use eclat_model::topology;
use serde::Serialize;

use crate::{Lab, topologies};

/// A shipped topology.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TopologyInfo {
    /// the topology's name: what `topo up NAME` takes (the file stem of `netns/NAME.toml`)
    pub name: String,
    /// one line on what it is for, from the file; empty when it has none
    pub description: String,
    /// how many nodes (network namespaces) it has
    pub nodes: usize,
    /// how many veth pairs it has
    pub links: usize,
}

/// What `topo up` did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TopoUp {
    /// what building the topology did (its fields appear at the top level of the reply)
    #[serde(flatten)]
    pub up: UpReport,
    /// the programs the topology file attaches (`node:dev <- program`), when it was built
    pub attached: Vec<String>,
    /// what a topology already up lacked and was attached (`node:dev <- program`)
    pub completed: Vec<String>,
    /// the topology that was up and was taken down first (another with `--replace`, this
    /// one too with `--fresh`); null when none was
    pub replaced: Option<String>,
}

/// What `topo up` does with a topology that is up already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// nothing: another one up is refused, the same one is checked and completed
    No,
    /// another one is taken down first (`--replace`); the same one is checked and completed
    Other,
    /// whichever is up, the same one too, is taken down and this one built anew (`--fresh`)
    Any,
}

impl Lab {
    /// The topologies shipped with the lab.
    pub fn topo_list(&self) -> Result<Vec<TopologyInfo>> {
        topologies::names()
            .into_iter()
            .map(|name| {
                let (src, file) = topologies::source(&name)?;
                let t = topology::parse(&src, &file)?;
                Ok(TopologyInfo {
                    name,
                    description: t.description,
                    nodes: t.nodes.len(),
                    links: t.links.len(),
                })
            })
            .collect()
    }

    /// Builds a topology (a shipped name, default `hike-lab`, or a path to a `.toml` file)
    /// as one transaction: the namespaces, links and the programs the file attaches are
    /// confirmed together, so a kill half-way leaves a leftover the next start removes. A
    /// topology recorded as up is checked against the kernel: complete, nothing is done;
    /// missing only XDP programs the file attaches, they are attached (completed);
    /// missing more, it is rebuilt.
    pub async fn topo_up(&self, name: Option<String>, replace: Replace) -> Result<TopoUp> {
        self.blocking(move |lab| {
            let name = name.unwrap_or_else(|| topologies::DEFAULT.to_string());
            let (src, file) = topologies::source(&name)?;
            let t = topology::parse(&src, &file)?;
            let mut j = lab.journal()?;
            // another lesson's topology gives way to this one when asked, or any when asked
            // for a fresh one
            let mut replaced = None;
            if replace != Replace::No
                && let Some(cur) = eclat_kernel::nodes::current(lab.env())?
                && (cur.name != t.name || replace == Replace::Any)
            {
                topo::down(lab.env(), &mut j)?;
                replaced = Some(cur.name);
            }
            let mut up = topo::build(lab.env(), &mut j, &t, &src)?;
            eclat_kernel::crash_point("topo-up:before-attach");
            // the programs the topology file attaches (a pass program on a collector) where
            // the kernel has none
            let mut attached = Vec::new();
            let mut completed = Vec::new();
            for (node, dev, p) in topo::xdp_gaps(lab.env(), &t) {
                xdp::attach(
                    lab.env(),
                    &mut j,
                    &p,
                    &node,
                    &dev,
                    false,
                    Lifetime::Provisional,
                )
                .with_context(|| format!("attaching {p} to {node}:{dev}"))?;
                let what = format!("{node}:{dev} <- {p}");
                if up.already_up {
                    completed.push(what);
                } else {
                    attached.push(what);
                }
            }
            j.commit(lab.life())?;
            up.already_up &= completed.is_empty();
            Ok(TopoUp {
                up,
                attached,
                completed,
                replaced,
            })
        })
        .await
    }

    /// Removes the topology that is up.
    pub async fn topo_down(&self) -> Result<DownReport> {
        self.blocking(|lab| {
            let mut j = lab.journal()?;
            Ok(topo::down(lab.env(), &mut j)?)
        })
        .await
    }

    /// The topology as the kernel sees it (read-only: creates nothing).
    pub async fn topo_status(&self) -> Result<Status> {
        self.blocking(|lab| Ok(topo::status(lab.env())?)).await
    }
}
