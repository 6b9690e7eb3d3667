//! The checker: every rule of the language and every name, with the diagnostics they give.
//! What passes becomes the checked form ([`crate::hir`]) that code generation turns into
//! bytecode without further questions.
//!
//! - this file: the top level (imports, constants, chain names, duplicates) and the order;
//! - [`imports`]: import lines against the catalog (aliases resolved, where a name lives);
//! - [`loaders`]: loader map entries packed with BTF layouts, `attach` requests;
//! - [`chain`]: a chain's statements and scopes; [`call`]: calls and `Packet` accessors;
//! - [`fold`]: constant folding.

mod call;
mod chain;
pub(crate) mod fold;
mod imports;
mod loaders;

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::ast::{Def, Ident, Item, Module};
use crate::diag::{Diagnostic, Span};
use crate::hir::HChain;
use crate::program::{AttachRequest, MapEntry};
pub(crate) use crate::suggest::suggest;
pub(crate) use fold::{fold, literal_value};
use hike::MAX_CHAIN_ARGS;
use hike::catalog::{Catalog, LoaderSig, ProgramSig};

/// Everything visible at top level.
pub(crate) struct Env<'c, 'm> {
    pub catalog: &'c Catalog,
    pub programs: HashMap<String, (&'c ProgramSig, Span)>,
    pub loaders: HashMap<String, (&'c LoaderSig, Span)>,
    pub consts: HashMap<String, (u64, Span)>,
    pub const_order: Vec<(String, u64)>,
    pub chains: Vec<&'m Def>,
    pub chain_index: HashMap<String, usize>,
    /// names whose import failed: the import line was reported, their uses are not
    pub poisoned: HashSet<String>,
    pub source: &'m str,
}

impl Env<'_, '_> {
    fn poison<'n>(&mut self, names: impl IntoIterator<Item = &'n str>) {
        self.poisoned.extend(names.into_iter().map(str::to_string));
    }

    /// Names a suggestion may offer.
    pub fn known_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.programs.keys().map(|s| s.as_str()).collect();
        v.extend(self.consts.keys().map(|s| s.as_str()));
        v.extend(self.chain_index.keys().map(|s| s.as_str()));
        v
    }
}

/// The checked script: each chain's checked form (`None` when it had errors), the loader
/// entries and attach requests, the chains a loader entry starts.
pub(crate) struct Checked<'m> {
    pub defs: Vec<&'m Def>,
    pub chains: Vec<Option<HChain>>,
    pub map_entries: Vec<MapEntry>,
    pub attach: Vec<AttachRequest>,
    pub entry_chains: BTreeSet<usize>,
    pub constants: Vec<(String, u64)>,
}

/// Names defined at top level, each once.
#[derive(Default)]
struct Taken(HashMap<String, Span>);

impl Taken {
    /// Records `name`; false (and an error) when it is defined already.
    fn take(&mut self, diags: &mut Vec<Diagnostic>, name: &Ident, what: &str) -> bool {
        if let Some(prev) = self.0.get(&name.name) {
            diags.push(
                Diagnostic::error(
                    "duplicate-name",
                    name.span,
                    format!("`{}` is defined twice", name.name),
                )
                .with_label(format!("this {what}"))
                .with_secondary(*prev, "first defined here")
                .with_help("give each import, constant and chain its own name"),
            );
            return false;
        }
        self.0.insert(name.name.clone(), name.span);
        true
    }
}

/// Checks a whole script.
pub(crate) fn check_module<'m>(
    module: &'m Module,
    source: &'m str,
    catalog: &Catalog,
    diags: &mut Vec<Diagnostic>,
) -> Checked<'m> {
    let mut env = Env {
        catalog,
        programs: HashMap::new(),
        loaders: HashMap::new(),
        consts: HashMap::new(),
        const_order: Vec::new(),
        chains: Vec::new(),
        chain_index: HashMap::new(),
        poisoned: HashSet::new(),
        source,
    };
    let too_many_params = declare_top_level(&mut env, module, diags);
    let mut map_entries = Vec::new();
    let mut attach = Vec::new();
    let mut entry_chains = BTreeSet::new();
    for item in &module.items {
        match item {
            Item::LoaderMap {
                loader,
                map,
                entries,
                ..
            } => loaders::loader_map(
                &env,
                loader,
                map,
                entries,
                diags,
                &mut map_entries,
                &mut entry_chains,
            ),
            Item::Attach { loader, args, span } => {
                loaders::attach_request(&env, loader, args, *span, diags, &mut attach)
            }
            _ => {}
        }
    }
    let chains = (0..env.chains.len())
        .map(|i| {
            let checked = chain::check_chain(&env, env.chains[i], diags);
            checked.filter(|_| !too_many_params.contains(&i))
        })
        .collect();
    Checked {
        defs: env.chains.clone(),
        chains,
        map_entries,
        attach,
        entry_chains,
        constants: env.const_order,
    }
}

/// Imports, constants and chain names, in source order; returns the chains with too many
/// parameters (checked, never generated).
fn declare_top_level<'m>(
    env: &mut Env<'_, 'm>,
    module: &'m Module,
    diags: &mut Vec<Diagnostic>,
) -> BTreeSet<usize> {
    let mut taken = Taken::default();
    let mut too_many_params = BTreeSet::new();
    for item in &module.items {
        match item {
            Item::Import {
                kind,
                package,
                names,
                ..
            } => {
                let fresh: Vec<&Ident> = names
                    .iter()
                    .filter(|n| taken.take(diags, n, "import"))
                    .collect();
                imports::import_line(env, *kind, package, &fresh, diags);
            }
            // the parser reported the line; its names are not reported again
            Item::BrokenImport { names, .. } => env.poison(names.iter().map(|n| n.name.as_str())),
            Item::BrokenDef { name, .. } => {
                if taken.take(diags, name, "chain") {
                    env.poison([name.name.as_str()]);
                }
            }
            Item::Const { name, value, .. } => {
                if !taken.take(diags, name, "constant") {
                    continue;
                }
                match literal_value(value) {
                    Some(v) => {
                        env.consts.insert(name.name.clone(), (v, name.span));
                        env.const_order.push((name.name.clone(), v));
                    }
                    None => diags.push(Diagnostic::error(
                        "bad-constant",
                        value.span,
                        "a constant must be a literal",
                    )),
                }
            }
            Item::Def(d) => {
                if !taken.take(diags, &d.name, "chain") {
                    continue;
                }
                if d.params.len() > MAX_CHAIN_ARGS {
                    too_many_params.insert(env.chains.len());
                    diags.push(too_many_params_error(d));
                }
                env.chain_index
                    .insert(d.name.name.clone(), env.chains.len());
                env.chains.push(d);
            }
            Item::LoaderMap { .. } | Item::Attach { .. } => {}
        }
    }
    too_many_params
}

fn too_many_params_error(d: &Def) -> Diagnostic {
    Diagnostic::error(
        "too-many-params",
        d.span,
        format!(
            "chain `{}` takes {} arguments, the limit is {MAX_CHAIN_ARGS}",
            d.name.name,
            d.params.len()
        ),
    )
    .with_label("too many parameters")
    .with_help("the HIKe VM passes at most 2 user arguments to a chain (r2, r3)")
}
