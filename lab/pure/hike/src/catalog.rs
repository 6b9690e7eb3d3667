//! What the compiler and the lab know about HIKe programs and loaders: signatures, owned maps,
//! exported constants. Filled from each object's BTF by `eclat-kernel`; built by hand in tests.

use serde::{Deserialize, Serialize};

/// Integer types of eCLAT and of program arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntType {
    U8,
    U16,
    U32,
    U64,
    S8,
    S16,
    S32,
    S64,
}

impl IntType {
    pub fn bits(self) -> u32 {
        match self {
            Self::U8 | Self::S8 => 8,
            Self::U16 | Self::S16 => 16,
            Self::U32 | Self::S32 => 32,
            Self::U64 | Self::S64 => 64,
        }
    }
    pub fn signed(self) -> bool {
        matches!(self, Self::S8 | Self::S16 | Self::S32 | Self::S64)
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::U8 => "u8",
            Self::U16 => "u16",
            Self::U32 => "u32",
            Self::U64 => "u64",
            Self::S8 => "s8",
            Self::S16 => "s16",
            Self::S32 => "s32",
            Self::S64 => "s64",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "u8" | "__u8" => Self::U8,
            "u16" | "__u16" => Self::U16,
            "u32" | "__u32" => Self::U32,
            "u64" | "__u64" => Self::U64,
            "s8" | "__s8" => Self::S8,
            "s16" | "__s16" => Self::S16,
            "s32" | "__s32" => Self::S32,
            "s64" | "__s64" => Self::S64,
            _ => return None,
        })
    }
}

/// Whether a program ends the packet's journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProgramKind {
    /// always returns an XDP verdict (hike_pass, hike_drop, l2_redirect, ip6_kroute, ...)
    Final,
    /// always returns HIKE_XDP_VM: the chain continues (monitor, meters, ...)
    Continue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub ty: IntType,
}

/// A field of a map key or value, for packing eCLAT tuples and decoding dumps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub offset: u32,
    /// Size in bytes. Integers of 1/2/4/8 bytes get `int`; anything else is raw bytes.
    pub size: u32,
    pub int: Option<IntType>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeLayout {
    /// C type name as in BTF (`__u32`, `struct ipv6_sd_key`, ...)
    pub name: String,
    pub size: u32,
    /// Empty for a plain integer type (then the whole value is one field).
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapSig {
    pub name: String,
    /// kernel map type name, e.g. `percpu_hash`
    pub map_type: String,
    pub key: TypeLayout,
    pub value: TypeLayout,
    pub max_entries: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramSig {
    /// eCLAT package (file stem), e.g. `hike_default` of `programs.hike_default`
    pub package: String,
    pub name: String,
    /// user arguments (at most 3), in order
    pub params: Vec<Param>,
    pub kind: ProgramKind,
    pub maps: Vec<MapSig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoaderSig {
    /// e.g. `hike_default` of `loaders.hike_default`
    pub package: String,
    pub name: String,
    pub maps: Vec<MapSig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constant {
    pub package: String,
    pub name: String,
    pub value: i64,
}

/// Another import path of a program: `programs.<package>.<name>` is the program
/// `programs.<target_package>.<target_name>` (recorded in BTF by `EXPORT_HIKE_ALIAS`). The same
/// program (one ID, one set of maps), not a copy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Alias {
    pub package: String,
    pub name: String,
    pub target_package: String,
    pub target_name: String,
}

/// Everything importable from eCLAT.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub programs: Vec<ProgramSig>,
    pub loaders: Vec<LoaderSig>,
    pub constants: Vec<Constant>,
    #[serde(default)]
    pub aliases: Vec<Alias>,
}

impl Catalog {
    /// The program imported as `programs.<package>.<name>`: a program of that package, or the
    /// program an alias of that package names (whose `package` is then the real one).
    pub fn program(&self, package: &str, name: &str) -> Option<&ProgramSig> {
        self.own_program(package, name).or_else(|| {
            let a = self.alias(package, name)?;
            self.own_program(&a.target_package, &a.target_name)
        })
    }
    /// A program of `package` itself, aliases aside.
    pub fn own_program(&self, package: &str, name: &str) -> Option<&ProgramSig> {
        self.programs
            .iter()
            .find(|p| p.package == package && p.name == name)
    }
    /// The alias `programs.<package>.<name>`, if there is one.
    pub fn alias(&self, package: &str, name: &str) -> Option<&Alias> {
        self.aliases
            .iter()
            .find(|a| a.package == package && a.name == name)
    }
    /// The other import paths of program `package.name` (what `module list` shows next to it).
    pub fn aliases_of<'a>(
        &'a self,
        package: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Alias> {
        self.aliases
            .iter()
            .filter(move |a| a.target_package == package && a.target_name == name)
    }
    /// Aliases whose program is not in the catalog, as `package.name -> target_package.target_name`.
    pub fn dangling_aliases(&self) -> Vec<String> {
        self.aliases
            .iter()
            .filter(|a| {
                self.own_program(&a.target_package, &a.target_name)
                    .is_none()
            })
            .map(|a| {
                format!(
                    "{}.{} -> {}.{}",
                    a.package, a.name, a.target_package, a.target_name
                )
            })
            .collect()
    }
    /// Is `package` a program package (with programs or aliases of its own)?
    pub fn has_program_package(&self, package: &str) -> bool {
        self.programs.iter().any(|p| p.package == package)
            || self.aliases.iter().any(|a| a.package == package)
    }
    /// Is `package` a loader package?
    pub fn has_loader_package(&self, package: &str) -> bool {
        self.loaders.iter().any(|l| l.package == package)
    }
    /// The program packages, sorted, each once.
    pub fn program_packages(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .programs
            .iter()
            .map(|p| p.package.as_str())
            .chain(self.aliases.iter().map(|a| a.package.as_str()))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
    /// The loader packages, sorted, each once.
    pub fn loader_packages(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.loaders.iter().map(|l| l.package.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
    pub fn loader(&self, package: &str, name: &str) -> Option<&LoaderSig> {
        self.loaders
            .iter()
            .find(|l| l.package == package && l.name == name)
    }
    /// Adds another catalog's entries (one object's, say) to this one.
    pub fn extend(&mut self, other: Catalog) {
        self.programs.extend(other.programs);
        self.loaders.extend(other.loaders);
        self.constants.extend(other.constants);
        self.aliases.extend(other.aliases);
    }
}

mod reference;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_types_by_name() {
        for t in [
            IntType::U8,
            IntType::U16,
            IntType::U32,
            IntType::U64,
            IntType::S8,
            IntType::S16,
            IntType::S32,
            IntType::S64,
        ] {
            assert_eq!(IntType::parse(t.name()), Some(t));
            assert_eq!(&t.name()[1..], t.bits().to_string());
            assert_eq!(t.name().starts_with('s'), t.signed());
        }
    }

    /// The reference catalog has the lessons' loader with its one-entry map (the rest of it
    /// is held equal to the embedded objects' BTF by eclat-model's catalog_reference test).
    #[test]
    fn the_reference_catalog_has_the_default_loader() {
        let c = Catalog::reference();
        let l = c
            .loader("hike_default", "ip6_simple_classifier")
            .expect("the lessons' loader");
        let m = &l.maps[0];
        assert_eq!(
            (m.name.as_str(), m.map_type.as_str(), m.max_entries),
            ("ipv6_simple_classifier_map", "array", 1)
        );
        assert!(c.loaders.len() >= 4, "{:?}", c.loaders);
    }

    #[test]
    fn a_loader_is_found_by_package_and_name() {
        let sig = |package: &str, name: &str| LoaderSig {
            package: package.into(),
            name: name.into(),
            maps: vec![],
        };
        let c = Catalog {
            loaders: vec![sig("a", "x"), sig("b", "x"), sig("b", "y")],
            ..Default::default()
        };
        assert_eq!(c.loader("b", "x").map(|l| &l.package[..]), Some("b"));
        assert_eq!(c.loader("a", "x").map(|l| &l.package[..]), Some("a"));
        assert!(c.loader("a", "y").is_none());
    }

    /// A program's other import paths: the aliases whose target is that program (package
    /// and name both), nothing else.
    #[test]
    fn the_aliases_of_a_program_name_it() {
        let alias = |package: &str, name: &str, tp: &str, tn: &str| Alias {
            package: package.into(),
            name: name.into(),
            target_package: tp.into(),
            target_name: tn.into(),
        };
        let c = Catalog {
            aliases: vec![
                alias("net", "a", "p", "a"),
                alias("net2", "b", "p", "a"),
                alias("net", "c", "p", "c"),
                alias("net", "d", "q", "a"),
            ],
            ..Default::default()
        };
        let of = |p, n| -> Vec<String> {
            c.aliases_of(p, n)
                .map(|a| format!("{}.{}", a.package, a.name))
                .collect()
        };
        assert_eq!(of("p", "a"), vec!["net.a", "net2.b"]);
        assert_eq!(of("q", "a"), vec!["net.d"]);
        assert_eq!(of("q", "c"), Vec::<String>::new());
        assert_eq!(c.alias("net", "c"), Some(&c.aliases[2]));
        assert_eq!(c.alias("net2", "a"), None);
    }

    /// An alias whose program is in the catalog is fine; one whose program is not is listed
    /// (its package and name, then the missing target).
    #[test]
    fn aliases_to_missing_programs_are_listed() {
        let reference = Catalog::reference();
        let real = reference
            .programs
            .first()
            .expect("the reference has programs");
        let alias = |name: &str, tp: &str, tn: &str| Alias {
            package: "net".into(),
            name: name.into(),
            target_package: tp.into(),
            target_name: tn.into(),
        };
        let c = Catalog {
            aliases: vec![
                alias("ok", &real.package, &real.name),
                alias("gone", "nowhere", "nothing"),
            ],
            ..reference.clone()
        };
        assert_eq!(c.dangling_aliases(), ["net.gone -> nowhere.nothing"]);
    }

    /// Extending a catalog with another adds each kind of entry; the reference catalog has
    /// the default programs.
    #[test]
    fn a_catalog_extended_by_another_has_both() {
        let mut c = Catalog::default();
        c.extend(Catalog::reference());
        assert_eq!(c, Catalog::reference());
        assert!(c.program("hike_default", "hike_pass").is_some());
        assert!(!c.constants.is_empty() && !c.aliases.is_empty() && !c.loaders.is_empty());
    }
}
