//! Where a node of the lab lives: the topology that is up, as recorded in the state directory,
//! and the network namespace of each of its nodes. Commands that take a node (and interface)
//! name resolve it here before they enter the namespace.

use eclat_model::topology::{self, Topology};

use crate::LabEnv;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("no topology is up (start one with `eclat-lab topo up`)")]
    NotUp,
    #[error("unknown node `{node}`{meant} (nodes of `{topology}`: {known})")]
    UnknownNode {
        node: String,
        /// "; did you mean `X`?" or nothing
        meant: String,
        topology: String,
        known: String,
    },
    #[error("node `{node}` has no interface `{dev}`{meant} (its interfaces: {known})")]
    UnknownDev {
        node: String,
        dev: String,
        /// "; did you mean `X`?" or nothing
        meant: String,
        known: String,
    },
    #[error("the lab's state file {path} is damaged ({err}); run `eclat-lab reset`")]
    State { path: String, err: String },
}

/// The topology that is up, as recorded in the state directory.
pub fn current(env: &LabEnv) -> Result<Option<Topology>, NodeError> {
    recorded(&env.topology_state_path())
}

/// The topology recorded in the state file `path`, if there is one.
pub fn recorded(path: &std::path::Path) -> Result<Option<Topology>, NodeError> {
    let path = path.to_path_buf();
    let src = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(NodeError::State {
                path: path.display().to_string(),
                err: e.to_string(),
            });
        }
    };
    topology::parse(&src, &path.display().to_string())
        .map(Some)
        .map_err(|e| NodeError::State {
            path: path.display().to_string(),
            err: e.to_string(),
        })
}

/// Resolves `node` in the current topology (for commands that take a node name).
pub fn resolve_node(env: &LabEnv, node: &str) -> Result<(Topology, String), NodeError> {
    let t = current(env)?.ok_or(NodeError::NotUp)?;
    if t.node(node).is_none() {
        return Err(NodeError::UnknownNode {
            node: node.to_string(),
            meant: hike::suggest::did_you_mean(node, t.nodes.iter().map(|n| n.name.as_str())),
            topology: t.name.clone(),
            known: t
                .nodes
                .iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let ns = env.ns_name(node);
    Ok((t, ns))
}

/// Checks that `node:dev` exists in the current topology.
pub fn resolve_dev(env: &LabEnv, node: &str, dev: &str) -> Result<(Topology, String), NodeError> {
    let (t, ns) = resolve_node(env, node)?;
    if t.end(node, dev).is_none() {
        let known: Vec<_> = t.ends_of(node).map(|(e, _)| e.dev.clone()).collect();
        return Err(NodeError::UnknownDev {
            node: node.into(),
            dev: dev.into(),
            meant: hike::suggest::did_you_mean(dev, known.iter().map(String::as_str)),
            known: known.join(", "),
        });
    }
    Ok((t, ns))
}
