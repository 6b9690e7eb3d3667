//! Cubes (lesson 5): network functions with ports, wired into service chains by the lab's
//! commands, the way Polycube's `polycubectl` connects cubes, and the graph of what is wired,
//! the way InKeV's controller keeps one. The kernel work is `eclat_kernel::cube`: a cube is
//! an XDP program with maps of its own, a port a slot of its program array.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use eclat_kernel::cube::{self, Source};
pub use eclat_kernel::cube::{Connected, Cube};
use eclat_kernel::modules;
use eclat_model::draw::{self, CubeGraph, GraphCube, GraphEdge};
use serde::Serialize;

use crate::Lab;
pub use crate::xdp::BuildReport;

/// What `cube add` did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CubeAdded {
    /// the new cube's name
    pub name: String,
    /// `classifier` (built-in) or the file it was loaded from
    pub source: String,
    /// the name of the cube's XDP program in its object
    pub program: String,
    /// how many output ports it has (the size of its `cube_ports` array); none is connected yet
    pub ports: u32,
    /// the clang build and the verifier's verdicts, when a C source was given; absent for a
    /// built-in cube or an object file
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildReport>,
}

/// What `cube disconnect` did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CubeDisconnected {
    /// the cube whose port was emptied
    pub from: String,
    /// the port's number
    pub port: u32,
    /// the cube that was connected there
    pub was: Option<String>,
}

/// What `cube del` removed.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CubeRemoved {
    /// the cube that was removed (its program and maps unpinned)
    pub name: String,
    /// what went with it besides its pins (its fields appear at the top level of the reply)
    #[serde(flatten)]
    pub removed: eclat_kernel::xdp::Unloaded,
}

/// What `cube show` lists.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CubeList {
    /// every cube, sorted by name (or the one asked for), with its ports, counters and attachments;
    /// empty when there is none
    pub cubes: Vec<Cube>,
    /// the built-in cubes `cube add` takes by name: (name, what it does)
    pub builtin: Vec<(String, String)>,
}

/// An edge of the graph, for `--json`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Edge {
    /// a cube's name, or `node:dev` for an interface
    pub from: String,
    /// the output port (none for an interface)
    pub port: Option<u32>,
    /// the cube (or program) the packets go to
    pub to: String,
}

/// The graph of what is wired (`cube graph`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CubeGraphReply {
    /// the names of every cube, sorted
    pub cubes: Vec<String>,
    /// what leads where: an interface into the cube attached there, and each connected port into
    /// its peer
    pub edges: Vec<Edge>,
    /// cubes no interface or port leads to
    pub unreachable: Vec<String>,
    /// output ports with nothing connected now that packets were sent to (`cube:port`): packets
    /// sent there are dropped and counted as misses
    pub open_ports: Vec<String>,
    /// the graph as SVG, when asked for
    #[serde(skip_serializing_if = "Option::is_none")]
    pub svg: Option<String>,
}

/// `SOURCE[:PROGRAM]`: a built-in cube's name, or a file.
fn split_source(s: &str) -> (&str, Option<&str>) {
    match s.rsplit_once(':') {
        Some((f, p)) if !p.is_empty() && !p.contains('/') => (f, Some(p)),
        _ => (s, None),
    }
}

/// The graph of `cubes` (pure; what `cube graph` shows and draws).
pub fn graph_of(cubes: &[Cube]) -> CubeGraph {
    let mut g = CubeGraph::default();
    for c in cubes {
        g.cubes.push(GraphCube {
            name: c.name.clone(),
            lines: vec![
                c.program.clone(),
                format!(
                    "rx {} drop {} miss {} pass {}",
                    c.stats.rx, c.stats.drop, c.stats.miss, c.stats.pass
                ),
            ],
        });
        for at in &c.attached {
            g.edges.push(GraphEdge {
                from: at.clone(),
                port: None,
                to: c.name.clone(),
            });
        }
        for p in &c.ports {
            if let Some(peer) = &p.peer {
                g.edges.push(GraphEdge {
                    from: c.name.clone(),
                    port: Some(p.port),
                    to: peer.clone(),
                });
            }
        }
    }
    g
}

impl Lab {
    /// Loads a cube: a built-in one by name, or a learner's FILE.bpf.c (built and verified
    /// first) or FILE.o, `:PROGRAM` choosing among several programs.
    pub async fn cube_add(&self, name: String, source: String) -> Result<CubeAdded> {
        self.blocking(move |lab| {
            let (src, program) = split_source(&source);
            let mut build = None;
            let object: Option<PathBuf> = if cube::builtin(src).is_some() {
                None
            } else if src.ends_with(".c") {
                let rep = modules::build(Path::new(src), &lab.include_dir())?;
                if !rep.accepted() {
                    return Err(anyhow::Error::new(crate::modules::Rejected(Box::new(rep))));
                }
                let o = PathBuf::from(&rep.object);
                build = Some(rep);
                Some(o)
            } else if src.ends_with(".o") {
                Some(PathBuf::from(src))
            } else {
                return Err(cube::CubeError::NoSuchSource {
                    source_name: src.to_string(),
                    builtin: cube::builtin_names(),
                }
                .into());
            };
            let mut j = lab.journal()?;
            let rep = match &object {
                None => cube::add(
                    lab.env(),
                    &mut j,
                    &name,
                    Source::Builtin(cube::builtin(src).expect("checked above")),
                    program,
                    lab.life(),
                )?,
                Some(o) => cube::add(
                    lab.env(),
                    &mut j,
                    &name,
                    Source::File(o),
                    program,
                    lab.life(),
                )?,
            };
            let c = cube::get(lab.env(), &name)?;
            Ok(CubeAdded {
                name,
                source: src.to_string(),
                program: rep.programs.first().cloned().unwrap_or_default(),
                ports: c.ports.len() as u32,
                build,
            })
        })
        .await
    }

    /// Connects `from:port` to cube `to` (one program array update; what was there is
    /// replaced in the same step).
    pub async fn cube_connect(&self, from: String, port: u32, to: String) -> Result<Connected> {
        self.blocking(move |lab| Ok(cube::connect(lab.env(), &from, port, &to)?))
            .await
    }

    pub async fn cube_disconnect(&self, from: String, port: u32) -> Result<CubeDisconnected> {
        self.blocking(move |lab| {
            let was = cube::disconnect(lab.env(), &from, port)?;
            Ok(CubeDisconnected { from, port, was })
        })
        .await
    }

    /// Attaches cube `name`'s program to `node:dev`: packets arriving there enter the cube.
    pub async fn cube_attach(
        &self,
        name: String,
        node: String,
        dev: String,
    ) -> Result<crate::xdp::AttachReport> {
        let c = self
            .blocking({
                let name = name.clone();
                move |lab| Ok(cube::get(lab.env(), &name)?)
            })
            .await?;
        self.xdp_attach(
            format!("{}/{}/{}", cube::CUBE_AREA, c.name, c.program),
            node,
            dev,
            false,
        )
        .await
    }

    pub async fn cube_del(&self, name: String) -> Result<CubeRemoved> {
        self.blocking(move |lab| {
            let mut j = lab.journal()?;
            let removed = cube::remove(lab.env(), &mut j, &name)?;
            Ok(CubeRemoved { name, removed })
        })
        .await
    }

    /// Every cube (or one), with ports, peers, counters and attachments. Reads only.
    pub async fn cube_show(&self, name: Option<String>) -> Result<CubeList> {
        self.blocking(move |lab| {
            let cubes = match name {
                Some(n) => vec![cube::get(lab.env(), &n)?],
                None => cube::list(lab.env()),
            };
            Ok(CubeList {
                cubes,
                builtin: cube::BUILTIN
                    .iter()
                    .map(|b| (b.0.to_string(), b.2.to_string()))
                    .collect(),
            })
        })
        .await
    }

    /// The graph of what is wired, read back from the kernel's program arrays; with `svg`,
    /// drawn too. Reads only.
    pub async fn cube_graph(&self, svg: bool) -> Result<CubeGraphReply> {
        let cubes = self
            .cube_show(None)
            .await
            .context("reading the cubes")?
            .cubes;
        let g = graph_of(&cubes);
        let reached: std::collections::BTreeSet<&str> =
            g.edges.iter().map(|e| e.to.as_str()).collect();
        Ok(CubeGraphReply {
            cubes: cubes.iter().map(|c| c.name.clone()).collect(),
            unreachable: cubes
                .iter()
                .filter(|c| !reached.contains(c.name.as_str()))
                .map(|c| c.name.clone())
                .collect(),
            open_ports: cubes
                .iter()
                .flat_map(|c| {
                    c.ports
                        .iter()
                        .filter(|p| p.peer.is_none() && p.tx > 0)
                        .map(move |p| format!("{}:{}", c.name, p.port))
                })
                .collect(),
            edges: g
                .edges
                .iter()
                .map(|e| Edge {
                    from: e.from.clone(),
                    port: e.port,
                    to: e.to.clone(),
                })
                .collect(),
            svg: svg.then(|| draw::cube_graph(&g)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_may_name_its_program() {
        assert_eq!(split_source("monitor"), ("monitor", None));
        assert_eq!(
            split_source("/x/fw.bpf.c:firewall"),
            ("/x/fw.bpf.c", Some("firewall"))
        );
        assert_eq!(split_source("a.o:"), ("a.o:", None));
    }
}
