//! The catalog of HIKe programs and loaders a session can import and load: every importable
//! embedded object (`programs/*.o`, `loaders/*.o`) and the learner's own modules (`module load
//! FILE.bpf.c`), each with what its BTF says (signatures, maps, constants). The session owns it
//! ([`crate::Lab`]); learner modules join and leave it as the lab's HIKe store records them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use eclat_kernel::objects;
use eclat_model::meta::{self, ObjectMeta};
use hike::catalog::TypeLayout;

/// Where an object's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// built into the binary (`ebpf-modules/obj/<label>`)
    Embedded,
    /// a learner's object file
    File(PathBuf),
}

/// One object of the catalog.
#[derive(Debug, Clone)]
pub struct Package {
    /// `programs/hike_default.o`, `loaders/hike_default.o`, or `programs/<pkg>.o` for a
    /// learner's module
    pub label: String,
    pub meta: ObjectMeta,
    pub source: Source,
}

impl Package {
    /// The object's bytes.
    pub fn bytes(&self) -> Result<Cow<'static, [u8]>> {
        match &self.source {
            Source::Embedded => objects::get(&self.label)
                .map(Cow::Borrowed)
                .with_context(|| format!("the embedded object {} is missing", self.label)),
            Source::File(p) => Ok(Cow::Owned(
                std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
            )),
        }
    }

    pub fn is_loader_package(&self) -> bool {
        self.label.starts_with("loaders/")
    }

    pub fn is_learners(&self) -> bool {
        matches!(self.source, Source::File(_))
    }
}

/// Every importable object, embedded first, then the learner's.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    embedded: Vec<Package>,
    learner: Vec<Package>,
    /// the signatures the compiler checks scripts against (rebuilt when a module joins or
    /// leaves)
    signatures: hike::catalog::Catalog,
}

/// Objects whose programs and loaders eCLAT scripts can import.
fn importable(label: &str) -> bool {
    label.starts_with("programs/") || label.starts_with("loaders/")
}

impl Catalog {
    /// The embedded objects' catalog (reads every importable object's BTF).
    pub fn embedded() -> Self {
        let embedded = objects::list()
            .into_iter()
            .filter(|p| importable(p))
            .filter_map(|label| {
                let data = objects::get(&label)?;
                let m = meta::read(&eclat_kernel::hike::runtime::package_of(&label), data).ok()?;
                Some(Package {
                    label,
                    meta: m,
                    source: Source::Embedded,
                })
            })
            .collect();
        let mut c = Self {
            embedded,
            learner: vec![],
            signatures: Default::default(),
        };
        c.rebuild();
        c
    }

    fn rebuild(&mut self) {
        let mut s = hike::catalog::Catalog::default();
        for p in self.embedded.iter().chain(&self.learner) {
            // programs, loaders, constants and aliases (`EXPORT_HIKE_ALIAS`); a learner's
            // module contributes programs and aliases only
            let mut c = p.meta.catalog();
            if p.is_learners() {
                c.loaders.clear();
                c.constants.clear();
            }
            s.extend(c);
        }
        self.signatures = s;
    }

    /// How many of the learner's modules the catalog holds.
    pub fn learner_count(&self) -> usize {
        self.learner.len()
    }

    /// Makes the learner's modules `modules` (package -> object file, as the HIKe store
    /// records them) importable, and forgets the ones no longer recorded.
    pub fn sync_learner(&mut self, modules: &BTreeMap<String, String>) {
        let before = self.learner.len();
        self.learner
            .retain(|p| modules.get(&p.meta.package).map(PathBuf::from) == file_of(p));
        let mut changed = self.learner.len() != before;
        for (pkg, file) in modules {
            if self.learner.iter().any(|p| &p.meta.package == pkg) {
                continue;
            }
            if let Ok(data) = std::fs::read(file)
                && let Ok(m) = meta::read(pkg, &data)
            {
                self.learner.push(Package {
                    label: format!("programs/{pkg}.o"),
                    meta: m,
                    source: Source::File(PathBuf::from(file)),
                });
                changed = true;
            }
        }
        if changed {
            self.rebuild();
        }
    }

    /// Adds (or replaces) a learner's module.
    pub fn add_learner(&mut self, meta: ObjectMeta, file: PathBuf) {
        self.learner.retain(|p| p.meta.package != meta.package);
        self.learner.push(Package {
            label: format!("programs/{}.o", meta.package),
            meta,
            source: Source::File(file),
        });
        self.rebuild();
    }

    pub fn remove_learner(&mut self, package: &str) {
        self.learner.retain(|p| p.meta.package != package);
        self.rebuild();
    }

    /// What the compiler checks scripts against.
    pub fn signatures(&self) -> &hike::catalog::Catalog {
        &self.signatures
    }

    /// Is `package` the name of an embedded package?
    pub fn is_embedded(&self, package: &str) -> bool {
        self.embedded.iter().any(|p| p.meta.package == package)
    }

    pub fn learner_modules(&self) -> &[Package] {
        &self.learner
    }

    pub fn all(&self) -> impl Iterator<Item = &Package> {
        self.embedded.iter().chain(&self.learner)
    }

    /// The object of `programs.<package>` (`loader` false) or `loaders.<package>`.
    pub fn package(&self, package: &str, loader: bool) -> Result<&Package> {
        let dir = if loader { "loaders/" } else { "programs/" };
        let found = if loader {
            None
        } else {
            self.learner.iter().find(|p| p.meta.package == package)
        };
        found
            .or_else(|| {
                self.embedded
                    .iter()
                    .find(|p| p.meta.package == package && p.label.starts_with(dir))
            })
            .with_context(|| {
                format!(
                    "no HIKe package `{}{package}` (packages: {})",
                    dir.replace('/', "."),
                    self.package_names().join(", ")
                )
            })
    }

    /// The object holding program `name` of `programs.<package>`, checked.
    pub fn program(&self, package: &str, name: &str) -> Result<&Package> {
        let p = self.package(package, false)?;
        if !p.meta.xdp_programs.iter().any(|x| x == name) {
            bail!(
                "package `{package}` has no program `{name}` (it has {})",
                p.meta.xdp_programs.join(", ")
            );
        }
        Ok(p)
    }

    /// `programs.hike_default`, `loaders.hike_default`, ... sorted.
    pub fn package_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .all()
            .map(|p| {
                format!(
                    "{}.{}",
                    p.label.split('/').next().unwrap_or(""),
                    p.meta.package
                )
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Does the map pinned at `maps/<package>/<loader>/<map>` hold chain IDs as values? A
    /// loader's map does (key -> the chain the loader boots): the lab shows those values as it
    /// names chains (`0x40000001`), never as decimal counters.
    pub fn holds_chain_ids(&self, map_path: &str) -> bool {
        let mut parts = map_path.split('/');
        let (Some(package), Some(loader), Some(map), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        self.all()
            .filter(|p| p.meta.package == package && p.is_loader_package())
            .flat_map(|p| &p.meta.loaders)
            .filter(|l| l.name == loader)
            .flat_map(|l| &l.maps)
            .any(|m| m.name == map && m.value.size == 4)
    }

    /// Key and value layouts (from BTF) of a map pinned at `maps/<package>/.../<map>`.
    pub fn layouts_of(&self, map_path: &str) -> Option<(TypeLayout, TypeLayout)> {
        let package = map_path.split('/').next()?;
        let map = map_path.rsplit('/').next()?;
        self.all()
            .filter(|p| p.meta.package == package)
            .find_map(|p| p.meta.map(map))
            .or_else(|| prebuilt_map(map_path))
            .map(|sig| (sig.key.clone(), sig.value.clone()))
    }
}

/// The BTF of a map of one of the lab's prebuilt plain programs (`lab/PROGRAM/MAP`), read
/// once from the embedded objects.
fn prebuilt_map(map_path: &str) -> Option<&'static hike::catalog::MapSig> {
    static METAS: std::sync::OnceLock<Vec<(&'static str, ObjectMeta)>> = std::sync::OnceLock::new();
    let metas = METAS.get_or_init(|| {
        eclat_model::prebuilt::PROGRAMS
            .iter()
            .filter_map(|p| Some((p.name, meta::read(p.name, objects::get(p.object)?).ok()?)))
            .collect()
    });
    let mut parts = map_path.split('/');
    let (Some(package), Some(program), Some(map), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let p = eclat_model::prebuilt::find(program).filter(|p| p.package == package)?;
    metas
        .iter()
        .find(|(n, _)| *n == p.name)
        .and_then(|(_, m)| m.map(map))
}

fn file_of(p: &Package) -> Option<PathBuf> {
    match &p.source {
        Source::File(f) => Some(f.clone()),
        Source::Embedded => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalog_knows_the_default_packages() {
        let c = Catalog::embedded();
        assert!(c.program("hike_default", "hike_pass").is_ok());
        assert!(c.package("hike_default", true).is_ok());
        let e = c.program("hike_default", "nope").unwrap_err().to_string();
        assert!(e.contains("has no program `nope`"), "{e}");
        let e = c.package("nosuch", false).unwrap_err().to_string();
        assert!(e.contains("programs.hike_default"), "{e}");
        assert!(c.signatures().program("hike_default", "monitor").is_some());
    }

    #[test]
    fn learner_modules_join_and_leave_with_the_store() {
        let mut c = Catalog::embedded();
        let mut m = BTreeMap::new();
        // a recorded module whose file is gone does not join
        m.insert("ghost".to_string(), "/nonexistent/ghost.o".to_string());
        c.sync_learner(&m);
        assert!(c.learner_modules().is_empty());
        let meta = ObjectMeta {
            package: "mine".into(),
            ..Default::default()
        };
        c.add_learner(meta, PathBuf::from("/tmp/mine.o"));
        assert_eq!(c.learner_modules().len(), 1);
        // the store no longer records it: it leaves
        c.sync_learner(&BTreeMap::new());
        assert!(c.learner_modules().is_empty());
    }
}
