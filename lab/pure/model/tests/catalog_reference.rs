//! `hike::catalog::Catalog::reference()` is a hand-written mirror of the embedded packages for
//! the pure crates' tests (no object at hand there). This test holds it to the source of truth,
//! the BTF of the committed objects (`ebpf-modules/obj/{programs,loaders}/*.o`): the two must
//! be equal, package `bench` (the benchmark's null programs) aside. When a module changes, this
//! fails and names what differs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hike::catalog::Catalog;

/// Packages the reference leaves out.
const NOT_MIRRORED: &[&str] = &["bench"];

fn objects_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../ebpf-modules/obj")
}

/// The catalog read from the BTF of every committed program and loader object.
fn from_btf() -> Catalog {
    let mut metas = Vec::new();
    for dir in ["programs", "loaders"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(objects_dir().join(dir))
            .expect("ebpf-modules/obj")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "o"))
            .collect();
        paths.sort();
        for p in paths {
            let package = p.file_stem().unwrap().to_string_lossy().into_owned();
            let data = std::fs::read(&p).unwrap();
            metas.push(
                eclat_model::meta::read(&package, &data).unwrap_or_else(|e| {
                    panic!("{}: {e}", p.display());
                }),
            );
        }
    }
    eclat_model::meta::catalog(&metas)
}

/// Every entry of a catalog as `kind package.name -> its description`, for a readable diff.
fn entries(c: &Catalog) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let skip = |pkg: &str| NOT_MIRRORED.contains(&pkg);
    for p in c.programs.iter().filter(|p| !skip(&p.package)) {
        let mut p = p.clone();
        p.maps.sort_by(|a, b| a.name.cmp(&b.name));
        m.insert(
            format!("program {}.{}", p.package, p.name),
            format!("{p:?}"),
        );
    }
    for l in c.loaders.iter().filter(|l| !skip(&l.package)) {
        m.insert(format!("loader {}.{}", l.package, l.name), format!("{l:?}"));
    }
    for k in c.constants.iter().filter(|k| !skip(&k.package)) {
        m.insert(
            format!("constant {}.{}", k.package, k.name),
            format!("{}", k.value),
        );
    }
    for a in c.aliases.iter().filter(|a| !skip(&a.package)) {
        m.insert(
            format!("alias {}.{}", a.package, a.name),
            format!("{}.{}", a.target_package, a.target_name),
        );
    }
    m
}

#[test]
fn the_reference_catalog_is_the_objects_btf() {
    let btf = entries(&from_btf());
    let reference = entries(&Catalog::reference());
    let mut diff = Vec::new();
    for (k, v) in &btf {
        match reference.get(k) {
            None => diff.push(format!("missing from Catalog::reference: {k} = {v}")),
            Some(r) if r != v => {
                diff.push(format!("{k} differs:\n  BTF:       {v}\n  reference: {r}"))
            }
            _ => {}
        }
    }
    for k in reference.keys().filter(|k| !btf.contains_key(*k)) {
        diff.push(format!("in Catalog::reference but in no object: {k}"));
    }
    assert!(
        diff.is_empty(),
        "Catalog::reference (lab/pure/hike/src/catalog.rs) has drifted from the objects' BTF:\n{}",
        diff.join("\n")
    );
    // and it resolves every alias
    assert_eq!(
        Catalog::reference().dangling_aliases(),
        Vec::<String>::new()
    );
    assert_eq!(from_btf().dangling_aliases(), Vec::<String>::new());
}
