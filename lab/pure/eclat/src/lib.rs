//! The eCLAT compiler: an eCLAT script straight to HIKe chain bytecode, loader map entries and
//! attach requests, with diagnostics a learner understands. Pure: no I/O, and no panic on any
//! input (every problem is a [`Diagnostic`] with a span inside the source).
//!
//! ```
//! let catalog = hike::catalog::Catalog::reference();
//! let src = "from programs.hike_default import hike_pass\n\ndef c():\n    hike_pass()\n";
//! let out = eclat::compile(src, "c.eclat", &catalog, &[]);
//! let program = out.output.expect("compiles");
//! assert_eq!(program.chains[0].name, "c");
//! ```
//!
//! Pipeline: [`lexer`] (INDENT/DEDENT, `-D` substitution) -> [`parser`] (syntax tree in
//! [`ast`]) -> `check` (names against the [`Catalog`], types, scopes, constants folded: every
//! diagnostic of the script) -> `codegen` (register allocation, bytecode, the 64-instruction
//! limit) -> drop-by-default path warnings (`paths`) -> [`Program`]. Chain and program IDs are
//! left symbolic: the caller picks real IDs (so that the lab can reuse IDs after unload) and
//! patches them with [`Program::link`].
//!
//! Differences from the original eCLAT (documented in the book): Python precedence (the
//! original pasted operators into C), word-boundary keywords, chained comparisons refused,
//! chain-to-chain calls, `Packet.read*/write*`, top-level constants, `for i in range(N)`,
//! augmented assignment. `and`/`or`/`not` and comparisons give 0 or 1 (not Python's operand).

pub mod ast;
mod check;
mod codegen;
pub mod diag;
mod emit_c;
#[doc(hidden)]
pub mod fuzzing;
mod hir;
pub mod lexer;
pub mod parser;
mod paths;
pub mod program;
mod suggest;

use std::collections::BTreeSet;

pub use diag::{Diagnostic, Label, LocatedDiagnostic, Place, PlacedLabel, Severity, Span, render};
use hike::catalog::Catalog;
pub use program::{
    AttachRequest, Chain, LinkError, Linked, LinkedChain, LinkedEntry, MapEntry, Program, Reloc,
    Target, TestEntry, TestEntryError, ValueReloc,
};

/// The result of [`compile`]: the program if there was no error, and every diagnostic
/// (errors and warnings) in source order.
#[derive(Debug, Clone)]
pub struct Compilation {
    pub output: Option<Program>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Compilation {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.is_error())
    }
    /// All diagnostics rendered under the source (see [`render`]).
    pub fn render(&self, source: &str, file_name: &str, color: bool) -> String {
        render(&self.diagnostics, source, file_name, color)
    }
}

/// What a compilation says about a script, for scripts and tools: whether it compiled, and
/// every diagnostic with its places (`eclat-lab compile --json` prints this on failure, and
/// its `diagnostics` on success). Field names and order are stable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CompileReport {
    pub file: String,
    /// true when the script compiled (warnings allowed)
    pub ok: bool,
    pub errors: usize,
    pub warnings: usize,
    pub diagnostics: Vec<LocatedDiagnostic>,
}

impl Compilation {
    /// The diagnostics located in `file` (which holds `source`), with a summary.
    pub fn report(&self, source: &str, file: &str) -> CompileReport {
        let errors = self.diagnostics.iter().filter(|d| d.is_error()).count();
        CompileReport {
            file: file.to_string(),
            ok: self.output.is_some() && errors == 0,
            errors,
            warnings: self.diagnostics.len() - errors,
            diagnostics: self
                .diagnostics
                .iter()
                .map(|d| d.locate(source, file))
                .collect(),
        }
    }
}

/// At most this many diagnostics are reported per run.
pub const MAX_DIAGNOSTICS: usize = 100;

/// Compiles one script. `defines` are the `-D NAME=VALUE` pairs. Cheap to call repeatedly: no
/// global state, no I/O.
pub fn compile(
    source: &str,
    file_name: &str,
    catalog: &Catalog,
    defines: &[(String, String)],
) -> Compilation {
    let (tokens, mut diagnostics) = lexer::lex(source, defines);
    let module = parser::parse(&tokens, &mut diagnostics);
    let syntax_errors = diagnostics.iter().any(|d| d.is_error());
    let output = compile_module(&module, source, file_name, catalog, &mut diagnostics);
    diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
    if diagnostics.len() > MAX_DIAGNOSTICS {
        let dropped = diagnostics.split_off(MAX_DIAGNOSTICS);
        let end = Span::new(source.len(), source.len());
        let message = format!("{} more diagnostics not shown", dropped.len());
        // an error only if an error is among those not shown: warnings alone never stop a load
        let d = if dropped.iter().any(|d| d.is_error()) {
            Diagnostic::error("too-many-errors", end, message)
        } else {
            Diagnostic::warning("too-many-errors", end, message)
        };
        diagnostics.push(d.with_help("fix the first ones and compile again"));
    }
    Compilation {
        output: if syntax_errors { None } else { output },
        diagnostics,
    }
}

/// Checks the syntax tree, generates every chain that checked, and warns about paths that end
/// without a verdict (only for a script without errors: on broken chains that would be noise).
fn compile_module(
    module: &ast::Module,
    source: &str,
    file_name: &str,
    catalog: &Catalog,
    diags: &mut Vec<Diagnostic>,
) -> Option<Program> {
    let checked = check::check_module(module, source, catalog, diags);
    let lines = codegen::Lines::new(source);
    let mut used = BTreeSet::new();
    let chains: Vec<Option<Chain>> = checked
        .chains
        .iter()
        .map(|c| {
            c.as_ref()
                .and_then(|c| codegen::gen_chain(c, &lines, diags, &mut used))
        })
        .collect();
    if diags.iter().any(|d| d.is_error()) {
        return None;
    }
    let chains: Vec<Chain> = chains.into_iter().collect::<Option<_>>()?;
    let hchains: Vec<hir::HChain> = checked.chains.into_iter().collect::<Option<_>>()?;
    // the chains that start a packet's journey: those a loader entry names, or else those no
    // chain calls
    let called = paths::called_chains(&hchains);
    let entries: Vec<usize> = (0..hchains.len())
        .filter(|i| {
            if checked.entry_chains.is_empty() {
                !called.contains(i)
            } else {
                checked.entry_chains.contains(i)
            }
        })
        .collect();
    paths::warn_non_final(&hchains, source, &entries, diags);
    Some(Program {
        file_name: file_name.to_string(),
        source: source.to_string(),
        chains,
        map_entries: checked.map_entries,
        attach: checked.attach,
        programs: used.into_iter().collect(),
        constants: checked.constants,
        defs: checked.defs.into_iter().cloned().collect(),
    })
}

/// Parses a `-D NAME=VALUE` argument.
pub fn parse_define(arg: &str) -> Option<(String, String)> {
    let (n, v) = arg.split_once('=')?;
    Some((n.trim().to_string(), v.to_string()))
}
