//! Plain XDP programs: the prebuilt ones (lesson 1's counter, the collector's pass program)
//! and the learner's own objects (`xdp load FILE.bpf.c`): load, attach, detach, unload, list.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
pub use eclat_kernel::modules::BuildReport;
pub use eclat_kernel::xdp::{AttachReport, Attachment, ObjectReport};
use eclat_kernel::{modules, xdp};
use serde::Serialize;

use crate::Lab;

/// A prebuilt plain program.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Prebuilt {
    /// the program's name, as `xdp attach NAME` takes it (`xdp_counter`, `xdp_pass`)
    pub name: String,
    /// what the program does and which maps it has, one line
    pub about: String,
}

/// What `xdp list` shows.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct XdpList {
    /// every prebuilt plain XDP program the lab ships, loaded or not
    pub prebuilt: Vec<Prebuilt>,
    /// every XDP program the lab has attached now, from the BPF link pins; empty when none is
    pub attached: Vec<Attachment>,
    /// objects loaded with `xdp load`: (name, programs)
    pub objects: Vec<(String, Vec<String>)>,
}

/// What `xdp load` did: the build (for a C source) and the load.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct XdpLoaded {
    /// the clang build and the verifier's verdicts, when a C source was given; absent for an object
    /// file
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildReport>,
    /// the load of the object's programs (its fields appear at the top level of the reply)
    #[serde(flatten)]
    pub load: ObjectReport,
}

/// What `xdp detach` removed.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Detached {
    /// the node the program was attached in
    pub node: String,
    /// the interface it was detached from
    pub dev: String,
    /// the name of the program that was attached (it stays loaded)
    pub program: String,
}

/// What `xdp unload` removed.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct XdpUnloaded {
    /// the object's name in the lab (its file stem), as `xdp load` named it
    pub object: String,
    /// attachments of its programs that ended (`node:dev <- program`), and slots of other
    /// program arrays that held its programs, emptied
    #[serde(flatten)]
    pub removed: xdp::Unloaded,
}

/// The lab's name of a learner's object: the file stem (`pipeline.bpf.c` -> `pipeline`).
pub fn object_name(file: &Path) -> Result<String> {
    let fname = file
        .file_name()
        .and_then(|n| n.to_str())
        .context("give a file: xdp load FILE.bpf.c")?;
    let package = fname
        .strip_suffix(".bpf.c")
        .or_else(|| fname.strip_suffix(".c"))
        .or_else(|| fname.strip_suffix(".o"))
        .with_context(|| {
            format!("`xdp load` takes a C source (FILE.bpf.c) or an object (FILE.o), not {fname}")
        })?
        .to_string();
    if package.is_empty()
        || !package
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        bail!("name the file NAME.bpf.c with a NAME of letters, digits and _ (not `{package}`)");
    }
    Ok(package)
}

impl Lab {
    pub async fn xdp_list(&self) -> Result<XdpList> {
        self.blocking(|lab| {
            Ok(XdpList {
                prebuilt: xdp::PROGRAMS
                    .iter()
                    .map(|p| Prebuilt {
                        name: p.name.into(),
                        about: p.about.into(),
                    })
                    .collect(),
                attached: xdp::attachments(lab.env()),
                objects: xdp::loaded_objects(lab.env()),
            })
        })
        .await
    }

    /// Builds (clang, for a C source) and loads every program and map of a learner's
    /// object, pinned, nothing attached.
    pub async fn xdp_load(&self, file: PathBuf) -> Result<XdpLoaded> {
        self.blocking(move |lab| {
            let package = object_name(&file)?;
            let (build, object) = if file.extension().is_some_and(|e| e == "c") {
                let rep = modules::build(&file, &lab.include_dir())?;
                if !rep.accepted() {
                    return Err(anyhow::Error::new(crate::modules::Rejected(Box::new(rep))));
                }
                let obj = PathBuf::from(&rep.object);
                (Some(rep), obj)
            } else {
                (None, file.clone())
            };
            let mut j = lab.journal()?;
            let load = xdp::load_object(lab.env(), &mut j, &object, &package, lab.life())?;
            Ok(XdpLoaded { build, load })
        })
        .await
    }

    /// Attaches a prebuilt program, or one loaded with `xdp load`, to `node:dev`.
    pub async fn xdp_attach(
        &self,
        program: String,
        node: String,
        dev: String,
        skb: bool,
    ) -> Result<AttachReport> {
        self.blocking(move |lab| {
            let mut j = lab.journal()?;
            if let Some((script, loader)) = script_attached_at(lab, &node, &dev) {
                let at = interface_text(lab, &node, &dev);
                bail!(
                    "{at} runs {loader}, the loader that {script} attached (it is \
                     loaded): attaching {program} there would stop that script's policy while \
                     it still shows as loaded. `eclat-lab unload {script}` first (it detaches \
                     its loader), or attach to another interface. Nothing was changed"
                );
            }
            Ok(xdp::attach(
                lab.env(),
                &mut j,
                &program,
                &node,
                &dev,
                skb,
                lab.life(),
            )?)
        })
        .await
    }

    /// Detaches what the lab attached to `node:dev`.
    pub async fn xdp_detach(&self, node: String, dev: String) -> Result<Detached> {
        self.blocking(move |lab| {
            let mut j = lab.journal()?;
            if let Some((script, loader)) = script_attached_at(lab, &node, &dev) {
                let at = interface_text(lab, &node, &dev);
                bail!(
                    "{at} runs {loader}, the loader that {script} attached (it is \
                     loaded): detaching it would leave that script loaded with no packet \
                     reaching its chains. `eclat-lab unload {script}` detaches it with the rest \
                     of the script. Nothing was changed"
                );
            }
            let program = xdp::detach(lab.env(), &mut j, &node, &dev)?;
            Ok(Detached { node, dev, program })
        })
        .await
    }

    /// Removes an object loaded with `xdp load` (by file or name). Attached programs are
    /// detached first (an unload is the learner saying "this object is done"; refusing would
    /// only make them type `xdp detach` for each), slots of other program arrays holding its
    /// programs are emptied, then its programs' and maps' pins go, each forgotten in the
    /// journal.
    pub async fn xdp_unload(&self, name: String) -> Result<XdpUnloaded> {
        self.blocking(move |lab| {
            let object = if name.contains('.') || name.contains('/') {
                object_name(Path::new(&name))?
            } else {
                name
            };
            let loaded = xdp::loaded_objects(lab.env());
            if !loaded.iter().any(|(o, _)| *o == object) {
                bail!(
                    "no object `{object}` is loaded with `xdp load`{} ({})",
                    hike::suggest::did_you_mean(&object, loaded.iter().map(|(o, _)| o.as_str())),
                    if loaded.is_empty() {
                        "none is".to_string()
                    } else {
                        format!(
                            "loaded: {}",
                            loaded
                                .iter()
                                .map(|(o, _)| o.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                );
            }
            let mut j = lab.journal()?;
            let removed = xdp::unload_object(lab.env(), &mut j, &object)?;
            Ok(XdpUnloaded { object, removed })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_come_from_the_file_stem() {
        assert_eq!(
            object_name(Path::new("/x/pipeline.bpf.c")).unwrap(),
            "pipeline"
        );
        assert_eq!(object_name(Path::new("a_b.o")).unwrap(), "a_b");
        for bad in ["notbpf.txt", "/x/.bpf.c", "a-b.bpf.c", "a.b.o"] {
            assert!(object_name(Path::new(bad)).is_err(), "{bad}");
        }
    }
}

/// What the kernel holds of one program (what `bpftool prog show` prints of it).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ProgFacts {
    /// the kernel's program ID (`bpftool prog show id ID`)
    pub id: u32,
    /// the program's name as the kernel holds it (at most 15 characters)
    pub name: String,
    /// instructions after verification (`bpftool prog dump xlated`; a 64-bit load counts 2)
    pub xlated_insns: u32,
    /// bytes of native code from the JIT (`jited NB` in `bpftool prog show`)
    pub jited_bytes: u32,
    /// how many maps it uses (`map_ids` in `bpftool prog show`)
    pub maps: u32,
}

impl Lab {
    /// The program attached to `node:dev`, as the kernel describes it.
    pub async fn attached_prog(&self, node: String, dev: String) -> Result<ProgFacts> {
        let st = self.topo_status().await?;
        let id = st
            .nodes
            .iter()
            .filter(|n| n.node == node)
            .flat_map(|n| &n.interfaces)
            .find(|i| i.dev == dev)
            .with_context(|| format!("no interface {node}:{dev}"))?
            .xdp_prog_id
            .with_context(|| format!("no XDP program is attached to {node}:{dev}"))?;
        self.blocking(move |_| {
            let p = eclat_kernel::sys::prog_info_by_id(id)?
                .with_context(|| format!("program {id} is gone"))?;
            Ok(ProgFacts {
                id,
                name: p.name,
                xlated_insns: p.xlated_bytes / 8,
                jited_bytes: p.jited_bytes,
                maps: p.maps,
            })
        })
        .await
    }
}

/// The C types of key and value of a map of a prebuilt plain program (`lab/xdp_counter/
/// pkt_count`), from the BTF of the object the lab embeds: what `bpftool btf dump map`
/// prints for it.
pub fn prebuilt_map_types(map_path: &str) -> Option<(String, String)> {
    let mut parts = map_path.rsplit('/');
    let map = parts.next()?;
    let program = parts.next()?;
    let p = eclat_model::prebuilt::find(program)?;
    let data = eclat_kernel::objects::get(p.object)?;
    let meta = eclat_model::meta::read(p.package, data).ok()?;
    let sig = meta.map(map)?;
    Some((sig.key.name.clone(), sig.value.name.clone()))
}

/// `interface NODE:DEV (namespace NS)`, for messages: where the learner finds it with `ip`.
pub(crate) fn interface_text(lab: &Lab, node: &str, dev: &str) -> String {
    match eclat_kernel::nodes::resolve_dev(lab.env(), node, dev) {
        Ok((_, ns)) => format!("interface {node}:{dev} (namespace {ns})"),
        Err(_) => format!("interface {node}:{dev}"),
    }
}

/// The loaded script (and its `package.loader`) whose loader is attached at `node:dev` now:
/// that attachment is the script's, as its loader entries are, and `xdp attach`, `cube
/// attach` and `xdp detach` there would stop its policy behind its back. Read under the
/// journal's lock (the caller holds it).
fn script_attached_at(lab: &Lab, node: &str, dev: &str) -> Option<(String, String)> {
    let attached = xdp::attachments(lab.env());
    let st = crate::store::HikeStore::load(lab.env());
    st.scripts.iter().find_map(|(script, s)| {
        s.attach
            .iter()
            .find(|a| {
                a.node == node
                    && a.dev == dev
                    && a.displaced_by.is_none()
                    && attached
                        .iter()
                        .any(|x| x.node == node && x.dev == dev && x.program == a.loader)
            })
            .map(|a| (script.clone(), format!("{}.{}", a.package, a.loader)))
    })
}
