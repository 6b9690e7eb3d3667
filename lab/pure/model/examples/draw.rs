//! The book's figures, drawn by `eclat_model::draw` from the repository's own files (the book's
//! preprocessor runs this until the lab has a `draw` command of its own):
//!
//!   draw topology netns/hike-lab.toml
//!   draw chain lessons/08-ddos-mitigation/solution/ddos.eclat [CHAIN]
//!   draw path lessons/08-ddos-mitigation/solution/ddos.eclat [NODE]
//!
//! `chain` and `path` compile the script against the catalog read from the prebuilt objects'
//! BTF (ebpf-modules/obj), as the lab does, give programs IDs in the order the script imports
//! them and chains the first chain IDs, and compile the chain as `eclat-lab load` would (calls
//! of verdict programs folded). The SVG goes to standard output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use eclat_model::draw;
use hike::catalog::Catalog;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// The catalog and the verdict programs (`package.name` -> XDP action) of every prebuilt object.
fn catalog() -> Result<(Catalog, BTreeMap<String, u32>), String> {
    let mut cat = Catalog::default();
    let mut verdicts = BTreeMap::new();
    for dir in ["programs", "loaders"] {
        let d = repo().join("ebpf-modules/obj").join(dir);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .map_err(|e| format!("{}: {e}", d.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "o"))
            .collect();
        files.sort();
        for f in files {
            let pkg = f
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let data = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
            let m = eclat_model::meta::read(&pkg, &data)
                .map_err(|e| format!("{}: {e}", f.display()))?;
            for (name, action) in &m.verdicts {
                verdicts.insert(format!("{pkg}.{name}"), *action);
            }
            cat.programs.extend(m.programs);
            cat.loaders.extend(m.loaders);
            cat.constants.extend(m.constants);
        }
    }
    Ok((cat, verdicts))
}

struct Compiled {
    program: eclat::Program,
    linked: eclat::Linked,
    /// program ID -> `package.name`
    names: BTreeMap<u32, String>,
    verdicts: BTreeMap<u32, u32>,
}

fn compile(script: &Path) -> Result<Compiled, String> {
    let src = std::fs::read_to_string(script).map_err(|e| format!("{}: {e}", script.display()))?;
    let (cat, verdict_names) = catalog()?;
    let file = script.display().to_string();
    let out = eclat::compile(&src, &file, &cat, &[]);
    let program = match out.output {
        Some(p) if !out.has_errors() => p,
        _ => return Err(out.render(&src, &file, false)),
    };
    let ids: BTreeMap<(String, String), u32> = program
        .programs
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), i as u32 + 1))
        .collect();
    let linked = program
        .link_default(&|pkg, name| ids.get(&(pkg.to_string(), name.to_string())).copied())
        .map_err(|e| format!("{file}: {e}"))?;
    let names = ids
        .iter()
        .map(|((p, n), id)| (*id, format!("{p}.{n}")))
        .collect::<BTreeMap<_, _>>();
    let verdicts = names
        .iter()
        .filter_map(|(id, n)| verdict_names.get(n).map(|a| (*id, *a)))
        .collect();
    Ok(Compiled {
        program,
        linked,
        names,
        verdicts,
    })
}

fn plan_of(c: &Compiled, chain: &str) -> Result<hike::jit::Plan, String> {
    let lc = c
        .linked
        .chains
        .iter()
        .find(|lc| lc.name == chain)
        .ok_or_else(|| format!("no chain `{chain}` in the script"))?;
    hike::jit::compile(lc.id, &lc.insns, &c.verdicts)
        .map_err(|e| format!("chain `{chain}` stays interpreted, so it has no compiled form: {e}"))
}

/// Does program `id` end the packet itself (a final program whose calls are not folded)?
fn final_program(cat: &Catalog, c: &Compiled, id: u32) -> bool {
    let Some(n) = c.names.get(&id) else {
        return false;
    };
    let (pkg, name) = n.split_once('.').unwrap_or(("", n));
    !c.verdicts.contains_key(&id)
        && cat
            .program(pkg, name)
            .is_some_and(|p| p.kind == hike::catalog::ProgramKind::Final)
}

fn run(args: &[String]) -> Result<String, String> {
    let arg = |i: usize| args.get(i).map(String::as_str);
    let path = |i: usize| -> Result<PathBuf, String> {
        let p = PathBuf::from(arg(i).ok_or("a file is missing")?);
        Ok(if p.is_absolute() {
            p
        } else {
            std::env::current_dir().map_err(|e| e.to_string())?.join(p)
        })
    };
    match arg(0) {
        Some("topology") => {
            let p = path(1)?;
            let src = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            let t = eclat_model::topology::parse(&src, &p.display().to_string()).map_err(|e| e.to_string())?;
            Ok(draw::topology(&t))
        }
        Some("chain") => {
            let c = compile(&path(1)?)?;
            let chain = match arg(2) {
                Some(n) => n.to_string(),
                None => c.program.chains.first().ok_or("the script has no chain")?.name.clone(),
            };
            let plan = plan_of(&c, &chain)?;
            let prog = |id: u32| c.names.get(&id).cloned().unwrap_or_else(|| format!("program {id}"));
            let reason = |r: u32| format!("hvm_stats[{r}]");
            let (cat, _) = catalog()?;
            let is_final = |id: u32| final_program(&cat, &c, id);
            Ok(draw::chain(
                &plan,
                &draw::ChainNames {
                    chain: &chain,
                    prog: &prog,
                    reason: &reason,
                    is_final: &is_final,
                },
            ))
        }
        Some("path") => {
            let c = compile(&path(1)?)?;
            let node = arg(2).unwrap_or("sut");
            let a = c.program.attach.first().ok_or("the script attaches no loader")?;
            let mut entries = Vec::new();
            let mut first_chain = None;
            for e in c.program.map_entries.iter().filter(|e| e.loader == a.loader) {
                let key = e.key.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ");
                for r in &e.value_relocs {
                    let name = &c.program.chains[r.chain].name;
                    first_chain.get_or_insert_with(|| name.clone());
                    entries.push(format!("{}[{key}] -> chain {name}", e.map));
                }
            }
            let chain = first_chain.ok_or("no loader map entry names a chain")?;
            let plan = plan_of(&c, &chain)?;
            // the verdicts the compiled chain folds, then what final programs decide themselves
            let mut verdicts: Vec<String> = Vec::new();
            let mut ways: Vec<&hike::jit::Way> = vec![&plan.entry];
            for s in &plan.sites {
                ways.push(&s.cont.ways.0);
                ways.extend(s.cont.ways.1.as_ref());
            }
            for w in ways {
                if let hike::jit::Next::Verdict { prog, action } = w.next {
                    let v = format!("{} ({})", draw::action_name(action), c.names[&prog].split('.').next_back().unwrap_or(""));
                    if !verdicts.contains(&v) {
                        verdicts.push(v);
                    }
                }
            }
            let (cat, _) = catalog()?;
            for s in &plan.sites {
                let n = &c.names[&s.prog];
                let name = n.split_once('.').map_or(n.as_str(), |(_, name)| name);
                let v = format!("{name}'s own verdict");
                if final_program(&cat, &c, s.prog) && !verdicts.contains(&v) {
                    verdicts.push(v);
                }
            }
            let programs = plan
                .sites
                .iter()
                .map(|s| c.names[&s.prog].clone())
                .fold(Vec::new(), |mut v, n| {
                    if !v.contains(&n) {
                        v.push(n);
                    }
                    v
                });
            Ok(draw::packet_path(&draw::PacketPath {
                hook: format!("{node}:{} ({})", a.device, a.mode),
                loader: format!("{}.{}", a.package, a.loader),
                entries,
                chain,
                programs,
                verdicts,
            }))
        }
        _ => Err("usage: draw topology FILE.toml | draw chain SCRIPT.eclat [CHAIN] | draw path SCRIPT.eclat [NODE]".into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(svg) => {
            print!("{svg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("draw: {e}");
            ExitCode::FAILURE
        }
    }
}
