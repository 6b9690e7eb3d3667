//! Imports: `from programs.<pkg> import a, b` and `from loaders.<pkg> import L`, resolved against
//! the catalog (aliases to the real program). An unknown package is one error for its whole
//! line; a name that lives elsewhere says where. Every name whose import failed is poisoned:
//! its later uses are not reported again.

use super::Env;
use super::suggest;
use crate::ast::{Ident, ImportKind};
use crate::diag::Diagnostic;
use hike::catalog::Catalog;

/// One import line: every name in it, after the duplicate check of each.
pub(super) fn import_line(
    env: &mut Env,
    kind: ImportKind,
    package: &Ident,
    names: &[&Ident],
    diags: &mut Vec<Diagnostic>,
) {
    let cat = env.catalog;
    let known = match kind {
        ImportKind::Programs => cat.has_program_package(&package.name),
        ImportKind::Loaders => cat.has_loader_package(&package.name),
    };
    if !known {
        diags.push(unknown_package(cat, kind, package, names));
        env.poison(names.iter().map(|n| n.name.as_str()));
        return;
    }
    for n in names {
        if !resolve(env, kind, &package.name, n) {
            diags.push(unknown_import(cat, kind, &package.name, n));
            env.poison([n.name.as_str()]);
        }
    }
}

/// Binds `n` from `package`; false when the package has no such name.
fn resolve(env: &mut Env, kind: ImportKind, package: &str, n: &Ident) -> bool {
    let cat = env.catalog;
    match kind {
        ImportKind::Programs => {
            if let Some(p) = cat.program(package, &n.name) {
                env.programs.insert(n.name.clone(), (p, n.span));
                return true;
            }
            if let Some(c) = cat
                .constants
                .iter()
                .find(|c| c.package == package && c.name == n.name)
            {
                env.consts.insert(n.name.clone(), (c.value as u64, n.span));
                return true;
            }
            false
        }
        ImportKind::Loaders => match cat.loader(package, &n.name) {
            Some(l) => {
                env.loaders.insert(n.name.clone(), (l, n.span));
                true
            }
            None => false,
        },
    }
}

fn root(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Programs => "programs",
        ImportKind::Loaders => "loaders",
    }
}

/// Where `name` can be imported from, as `programs.<pkg>` / `loaders.<pkg>` (a program's
/// own package first, then the packages that alias it), or a constant's package.
fn homes_of(cat: &Catalog, name: &str) -> Vec<String> {
    let mut v: Vec<String> = cat
        .programs
        .iter()
        .filter(|p| p.name == name)
        .map(|p| format!("programs.{}", p.package))
        .collect();
    v.extend(
        cat.aliases
            .iter()
            .filter(|a| a.name == name)
            .map(|a| format!("programs.{}", a.package)),
    );
    v.extend(
        cat.loaders
            .iter()
            .filter(|l| l.name == name)
            .map(|l| format!("loaders.{}", l.package)),
    );
    v.extend(
        cat.constants
            .iter()
            .filter(|c| c.name == name)
            .map(|c| format!("programs.{}", c.package)),
    );
    v.dedup();
    v
}

/// "`a` is in `programs.x`" / "`a` and `b` are in `programs.x`; `c` is in `loaders.y`".
fn where_they_are(cat: &Catalog, names: &[&Ident]) -> Option<String> {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for n in names {
        if let Some(home) = homes_of(cat, &n.name).into_iter().next() {
            match groups.iter_mut().find(|(h, _)| *h == home) {
                Some((_, v)) => v.push(&n.name),
                None => groups.push((home, vec![&n.name])),
            }
        }
    }
    if groups.is_empty() {
        return None;
    }
    let parts: Vec<String> = groups
        .iter()
        .map(|(home, names)| {
            let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            match quoted.as_slice() {
                [one] => format!("{one} is in `{home}`"),
                [init @ .., last] => format!("{} and {last} are in `{home}`", init.join(", ")),
                [] => String::new(),
            }
        })
        .collect();
    Some(parts.join("; "))
}

fn unknown_package(
    cat: &Catalog,
    kind: ImportKind,
    package: &Ident,
    names: &[&Ident],
) -> Diagnostic {
    let (what, known) = match kind {
        ImportKind::Programs => ("program", cat.program_packages()),
        ImportKind::Loaders => ("loader", cat.loader_packages()),
    };
    let d = Diagnostic::error(
        "unknown-package",
        package.span,
        format!("no {what} package `{}`", package.name),
    )
    .with_label("no such package");
    match (
        suggest(&package.name, known.iter().copied()),
        where_they_are(cat, names),
    ) {
        (Some(s), Some(w)) => d
            .with_help(format!("did you mean `{}.{s}`?", root(kind)))
            .with_note(w),
        (Some(s), None) => d.with_help(format!("did you mean `{}.{s}`?", root(kind))),
        (None, Some(w)) => d.with_help(w),
        (None, None) => d.with_help(format!("{what} packages: {}", known.join(", "))),
    }
}

fn unknown_import(cat: &Catalog, kind: ImportKind, package: &str, n: &Ident) -> Diagnostic {
    let mut d = match kind {
        ImportKind::Programs => Diagnostic::error(
            "unknown-import",
            n.span,
            format!("package `{package}` has no program `{}`", n.name),
        )
        .with_label("not in this package"),
        ImportKind::Loaders => Diagnostic::error(
            "unknown-import",
            n.span,
            format!("no loader `{}` in `loaders.{package}`", n.name),
        )
        .with_label("unknown loader"),
    };
    let homes = homes_of(cat, &n.name);
    if let Some(home) = homes.first() {
        let what = if home.starts_with("loaders.") && kind == ImportKind::Programs {
            "a loader"
        } else if home.starts_with("programs.") && kind == ImportKind::Loaders {
            "a program"
        } else {
            ""
        };
        let line = format!("`from {home} import {}`", n.name);
        d = if what.is_empty() {
            d.with_help(format!("`{}` is in `{home}`: {line}", n.name))
        } else {
            d.with_help(format!("`{}` is {what}, in `{home}`: {line}", n.name))
        };
        return d;
    }
    let in_package: Vec<&str> = match kind {
        ImportKind::Programs => cat
            .programs
            .iter()
            .filter(|p| p.package == package)
            .map(|p| p.name.as_str())
            .chain(
                cat.aliases
                    .iter()
                    .filter(|a| a.package == package)
                    .map(|a| a.name.as_str()),
            )
            .collect(),
        ImportKind::Loaders => cat
            .loaders
            .iter()
            .filter(|l| l.package == package)
            .map(|l| l.name.as_str())
            .collect(),
    };
    if let Some(s) = suggest(&n.name, in_package.iter().copied()) {
        d = d.with_help(format!("did you mean `{s}`?"));
    }
    d
}
