//! What an object file says about itself: its XDP entry points, the HIKe metadata recorded in
//! BTF by the module API (signatures, kind, map ownership, constants), its maps, and the chains
//! written in C (`__sec_hike_chain_<ID>` sections). Pure: bytes in, data out.

use hike::Insn;
use hike::catalog::{
    Alias, Catalog, Constant, LoaderSig, MapSig, Param, ProgramKind, ProgramSig, TypeLayout,
};
use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};

use crate::btf::{Btf, BtfError, Type, map_type_name};

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("not an ELF object: {0}")]
    Elf(String),
    #[error("the object has no .BTF section (build it with clang -g)")]
    NoBtf,
    #[error("BTF: {0}")]
    Btf(#[from] BtfError),
    #[error("chain section {section}: {reason}")]
    Chain { section: String, reason: String },
}

/// A chain found in a `__sec_hike_chain_<ID>` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfChain {
    pub id: u32,
    pub insns: Vec<Insn>,
}

#[derive(Debug, Clone, Default)]
pub struct ObjectMeta {
    /// file stem, e.g. `hike_default`
    pub package: String,
    /// every XDP entry point (HIKe programs, loaders and plain programs)
    pub xdp_programs: Vec<String>,
    pub programs: Vec<ProgramSig>,
    pub loaders: Vec<LoaderSig>,
    pub constants: Vec<Constant>,
    /// other import paths this package gives to programs of other packages
    /// (`EXPORT_HIKE_ALIAS`)
    pub aliases: Vec<Alias>,
    /// verdict programs (`HIKE_VERDICT_PROG`): name -> the XDP action (0..=4) that is their
    /// whole body; compiled chains fold calls of them
    pub verdicts: std::collections::BTreeMap<String, u32>,
    /// every map the object declares
    pub maps: Vec<MapSig>,
    pub chains: Vec<ElfChain>,
}

impl ObjectMeta {
    /// The owner (program or loader) of a map, if the object recorded one.
    pub fn owner_of(&self, map: &str) -> Option<&str> {
        self.programs
            .iter()
            .find(|p| p.maps.iter().any(|m| m.name == map))
            .map(|p| p.name.as_str())
            .or_else(|| {
                self.loaders
                    .iter()
                    .find(|l| l.maps.iter().any(|m| m.name == map))
                    .map(|l| l.name.as_str())
            })
    }

    pub fn map(&self, name: &str) -> Option<&MapSig> {
        self.maps.iter().find(|m| m.name == name)
    }

    /// What eCLAT can import from this object: its programs, loaders, constants and aliases.
    pub fn catalog(&self) -> Catalog {
        Catalog {
            programs: self.programs.clone(),
            loaders: self.loaders.clone(),
            constants: self.constants.clone(),
            aliases: self.aliases.clone(),
        }
    }
}

/// The catalog of several objects (e.g. every embedded package): what scripts compile against.
pub fn catalog<'a>(objects: impl IntoIterator<Item = &'a ObjectMeta>) -> Catalog {
    let mut c = Catalog::default();
    for m in objects {
        c.extend(m.catalog());
    }
    c
}

const CHAIN_SECTION: &str = "__sec_hike_chain_";

/// Reads the chain sections only (an object holding chains need not have BTF).
pub fn read_chains(data: &[u8]) -> Result<Vec<ElfChain>, MetaError> {
    let file = object::File::parse(data).map_err(|e| MetaError::Elf(e.to_string()))?;
    let mut chains = Vec::new();
    for sec in file.sections() {
        let Ok(name) = sec.name() else { continue };
        let Some(id) = name.strip_prefix(CHAIN_SECTION) else {
            continue;
        };
        let err = |reason: String| MetaError::Chain {
            section: name.to_string(),
            reason,
        };
        let id: u32 = id
            .parse()
            .map_err(|_| err("the ID after the prefix must be a decimal number".into()))?;
        if sec.relocations().next().is_some() {
            return Err(err(
                "it has relocations: a chain cannot use globals, maps or calls to C functions"
                    .into(),
            ));
        }
        let bytes = sec.data().map_err(|e| err(e.to_string()))?;
        let insns =
            Insn::decode_all(bytes).ok_or_else(|| err("size is not a multiple of 8".into()))?;
        chains.push(ElfChain { id, insns });
    }
    chains.sort_by_key(|c| c.id);
    Ok(chains)
}

/// Reads everything; `package` is the eCLAT package name (the source's file stem).
pub fn read(package: &str, data: &[u8]) -> Result<ObjectMeta, MetaError> {
    let file = object::File::parse(data).map_err(|e| MetaError::Elf(e.to_string()))?;
    let mut meta = ObjectMeta {
        package: package.to_string(),
        chains: read_chains(data)?,
        ..Default::default()
    };
    for sym in file.symbols() {
        if sym.kind() != SymbolKind::Text || !sym.is_global() {
            continue;
        }
        let Some(idx) = sym.section_index() else {
            continue;
        };
        let Ok(sec) = file.section_by_index(idx) else {
            continue;
        };
        let is_xdp = sec.kind() == SectionKind::Text
            && sec
                .name()
                .is_ok_and(|n| n == "xdp" || n.starts_with("xdp/") || n == "xdp.frags");
        if is_xdp && let Ok(n) = sym.name() {
            meta.xdp_programs.push(n.to_string());
        }
    }
    meta.xdp_programs.sort();
    let Some(btf_sec) = file.section_by_name(".BTF") else {
        if meta.xdp_programs.is_empty() {
            return Ok(meta); // a chains-only object
        }
        return Err(MetaError::NoBtf);
    };
    let btf = Btf::parse(btf_sec.data().map_err(|e| MetaError::Elf(e.to_string()))?)?;

    for m in btf.maps() {
        let layout = |t: Option<u32>, size: u32| match t {
            Some(t) => btf.layout(t),
            None => TypeLayout {
                name: if size == 0 {
                    String::new()
                } else {
                    format!("u8[{size}]")
                },
                size,
                fields: Vec::new(),
            },
        };
        meta.maps.push(MapSig {
            name: m.name.clone(),
            map_type: map_type_name(m.map_type).to_string(),
            key: layout(m.key, m.key_size),
            value: layout(m.value, m.value_size),
            max_entries: m.max_entries,
        });
    }

    let mut finals = Vec::new();
    let mut prog_maps: Vec<(String, String)> = Vec::new();
    let mut loader_maps: Vec<(String, String)> = Vec::new();
    let mut loaders = Vec::new();
    for (name, ty) in btf.datasec_vars(".hike.meta") {
        if let Some(prog) = name.strip_prefix("__hike_prog__") {
            let mut params = Vec::new();
            if let Type::Struct { members, .. } = btf.get(btf.resolve(ty)) {
                for m in members.iter().filter(|m| m.name != "__hike_sig") {
                    params.push(Param {
                        name: m.name.clone(),
                        ty: btf.int_type(m.ty).unwrap_or(hike::catalog::IntType::U64),
                    });
                }
            }
            meta.programs.push(ProgramSig {
                package: package.to_string(),
                name: prog.to_string(),
                params,
                kind: ProgramKind::Continue,
                maps: Vec::new(),
            });
        } else if let Some(prog) = name.strip_prefix("__hike_final__") {
            finals.push(prog.to_string());
        } else if let Some(prog) = name.strip_prefix("__hike_verdict__")
            && let Type::Enum { values, .. } = btf.get(btf.resolve(ty))
            && let Some(&(_, action)) = values.first()
            && (0..=4).contains(&action)
        {
            meta.verdicts.insert(prog.to_string(), action as u32);
        } else if name.starts_with("__hike_pmap__") || name.starts_with("__hike_lmap__") {
            if let Type::Struct { members, .. } = btf.get(btf.resolve(ty))
                && members.len() == 2
            {
                let pair = (members[0].name.clone(), members[1].name.clone());
                if name.starts_with("__hike_pmap__") {
                    prog_maps.push(pair);
                } else {
                    loader_maps.push(pair);
                }
            }
        } else if let Some(l) = name.strip_prefix("__hike_loader__") {
            loaders.push(l.to_string());
        } else if let Some(alias) = name.strip_prefix("__hike_alias__") {
            if let Type::Struct { members, .. } = btf.get(btf.resolve(ty))
                && let [pkg, prog] = members.as_slice()
                && let Some(target_package) = pkg.name.strip_prefix("__hike_pkg__")
                && let Some(target_name) = prog.name.strip_prefix("__hike_name__")
            {
                meta.aliases.push(Alias {
                    package: package.to_string(),
                    name: alias.to_string(),
                    target_package: target_package.to_string(),
                    target_name: target_name.to_string(),
                });
            }
        } else if let Some(c) = name.strip_prefix("__hike_const__")
            && let Type::Enum { values, .. } = btf.get(btf.resolve(ty))
            && let Some((_, v)) = values.first()
        {
            meta.constants.push(Constant {
                package: package.to_string(),
                name: c.to_string(),
                value: *v,
            });
        }
    }
    for p in &mut meta.programs {
        if finals.contains(&p.name) {
            p.kind = ProgramKind::Final;
        }
        for (owner, map) in &prog_maps {
            if owner == &p.name
                && let Some(m) = meta.maps.iter().find(|m| &m.name == map)
            {
                p.maps.push(m.clone());
            }
        }
    }
    for l in loaders {
        let maps = loader_maps
            .iter()
            .filter(|(owner, _)| owner == &l)
            .filter_map(|(_, map)| meta.maps.iter().find(|m| &m.name == map).cloned())
            .collect();
        meta.loaders.push(LoaderSig {
            package: package.to_string(),
            name: l,
            maps,
        });
    }
    meta.programs.sort_by(|a, b| a.name.cmp(&b.name));
    meta.loaders.sort_by(|a, b| a.name.cmp(&b.name));
    meta.constants.sort_by(|a, b| a.name.cmp(&b.name));
    meta.aliases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(meta)
}
