//! The parser: tokens to a [`Module`], recovering at line boundaries so that one run reports
//! several errors.
//!
//! Naming contract (as in gleam's parser):
//! - `parse_x` parses an x starting at the current token. On a syntax error it records a
//!   diagnostic and returns `None`; the caller decides how to recover (usually
//!   `Parser::recover_line`).
//! - `expect_x` requires one specific token: it consumes it and returns its span, or records
//!   "expected x" and returns `None` without consuming anything.
//! - `maybe_x` consumes x only if it is there and reports nothing; it returns whether (or what)
//!   it consumed.

use crate::ast::*;
use crate::diag::{Diagnostic, Span};
use crate::lexer::{Tok, Token};
use hike::catalog::IntType;

/// Nesting limit for expressions and blocks, so that hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 64;
/// Stop reporting after this many syntax errors.
const MAX_ERRORS: usize = 30;

pub fn parse(tokens: &[Token], diags: &mut Vec<Diagnostic>) -> Module {
    let eof = Token {
        tok: Tok::Eof,
        span: tokens.last().map(|t| t.span).unwrap_or_default(),
    };
    let mut p = Parser {
        toks: tokens,
        pos: 0,
        diags,
        depth: 0,
        errors: 0,
        eof,
        pending: Vec::new(),
        line_done: false,
        stray: 0,
    };
    let mut items = Vec::new();
    while !p.at_eof() {
        if p.errors >= MAX_ERRORS {
            break;
        }
        let before = p.pos;
        match p.parse_item() {
            Some(item) => items.push(item),
            // a line with no item, consumed whole: go on with the next one (a loop, not a
            // recursion: a script of thousands of such lines must not overflow the stack)
            None if std::mem::take(&mut p.line_done) => {}
            None => p.recover_line(),
        }
        items.append(&mut p.pending);
        if p.pos == before {
            p.bump();
        }
    }
    Module { items }
}

struct Parser<'t, 'd> {
    toks: &'t [Token],
    pos: usize,
    diags: &'d mut Vec<Diagnostic>,
    depth: usize,
    errors: usize,
    eof: Token,
    /// further items of a top-level line with `;`
    pending: Vec<Item>,
    /// the last `parse_item` consumed a line that holds no item (a docstring, a statement
    /// reported as misplaced, an empty line): nothing to recover from
    line_done: bool,
    /// how many indented stretches of top-level lines are open (each reported once, at its
    /// INDENT): their lines are read as if they were not indented
    stray: usize,
}

fn is_upper_const(name: &str) -> bool {
    name.bytes().any(|c| c.is_ascii_uppercase())
        && name
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
}

fn is_literal(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Int(_) | ExprKind::Bool(_) => true,
        ExprKind::Unary(UnOp::Neg, a) => matches!(a.kind, ExprKind::Int(_)),
        _ => false,
    }
}

impl<'t> Parser<'t, '_> {
    fn peek(&self) -> &Token {
        self.toks.get(self.pos).unwrap_or(&self.eof)
    }
    fn peek_at(&self, n: usize) -> &Token {
        self.toks.get(self.pos + n).unwrap_or(&self.eof)
    }
    fn tok(&self) -> &Tok {
        &self.peek().tok
    }
    fn span(&self) -> Span {
        self.peek().span
    }
    fn prev_span(&self) -> Span {
        if self.pos == 0 {
            Span::default()
        } else {
            self.toks
                .get(self.pos - 1)
                .map(|t| t.span)
                .unwrap_or_default()
        }
    }
    fn at_eof(&self) -> bool {
        matches!(self.tok(), Tok::Eof)
    }
    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn error(&mut self, d: Diagnostic) {
        self.errors += 1;
        if self.errors <= MAX_ERRORS {
            self.diags.push(d);
        }
    }

    fn unexpected(&mut self, what: &str) {
        let t = self.peek().clone();
        let mut d = Diagnostic::error(
            "syntax",
            t.span,
            format!("expected {what}, found {}", t.tok),
        )
        .with_label(format!("expected {what}"));
        if let Tok::Indent = t.tok {
            d = d.with_help("this line is indented more than the one before; indent only after a line ending with `:`");
        }
        self.error(d);
    }

    fn maybe_sym(&mut self, s: &str) -> bool {
        if matches!(self.tok(), Tok::Sym(x) if *x == s) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn maybe_kw(&mut self, k: &str) -> bool {
        if matches!(self.tok(), Tok::Kw(x) if *x == k) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn expect_sym(&mut self, s: &str) -> Option<Span> {
        if matches!(self.tok(), Tok::Sym(x) if *x == s) {
            Some(self.bump().span)
        } else {
            self.unexpected(&format!("`{s}`"));
            None
        }
    }
    fn expect_kw(&mut self, k: &str) -> Option<Span> {
        if matches!(self.tok(), Tok::Kw(x) if *x == k) {
            Some(self.bump().span)
        } else {
            self.unexpected(&format!("`{k}`"));
            None
        }
    }
    fn expect_name(&mut self, what: &str) -> Option<Ident> {
        match self.tok().clone() {
            Tok::Name(name) => {
                let span = self.bump().span;
                Some(Ident { name, span })
            }
            Tok::Kw(k) => {
                let t = self.peek().clone();
                self.error(
                    Diagnostic::error(
                        "syntax",
                        t.span,
                        format!("expected {what}, found the keyword `{k}`"),
                    )
                    .with_label("a keyword cannot be used as a name")
                    .with_help("choose another name"),
                );
                None
            }
            _ => {
                self.unexpected(what);
                None
            }
        }
    }
    fn expect_newline(&mut self) -> Option<()> {
        if matches!(self.tok(), Tok::Newline) {
            self.bump();
            Some(())
        } else if matches!(self.tok(), Tok::Eof | Tok::Dedent) {
            Some(())
        } else {
            self.unexpected("end of line");
            None
        }
    }

    /// Skips to the start of the next line, skipping any block indented under this one.
    fn recover_line(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.tok() {
                Tok::Eof => return,
                Tok::Newline if depth == 0 => {
                    self.bump();
                    if matches!(self.tok(), Tok::Indent) {
                        depth += 1;
                        self.bump();
                        continue;
                    }
                    return;
                }
                Tok::Indent => depth += 1,
                Tok::Dedent => {
                    if depth == 0 {
                        return;
                    }
                    depth -= 1;
                    if depth == 0 {
                        self.bump();
                        return;
                    }
                }
                _ => {}
            }
            self.bump();
        }
    }

    /// Whether the line starting here is a top-level item (an import, a `def`, an UPPERCASE
    /// constant, loader configuration, `attach`, a docstring) rather than a chain's statement.
    fn at_top_level_line(&self) -> bool {
        match (self.tok(), &self.peek_at(1).tok) {
            (Tok::Kw("def" | "from" | "import") | Tok::Str(_) | Tok::Eof, _) => true,
            (Tok::Name(n), Tok::Sym("=")) => is_upper_const(n),
            (Tok::Name(_), Tok::Sym("[" | ".")) => true,
            _ => false,
        }
    }

    // ---- items ----

    fn parse_item(&mut self) -> Option<Item> {
        match self.tok().clone() {
            Tok::Kw("from") => {
                let start = self.pos;
                let item = self.parse_import();
                item.or_else(|| Some(self.broken_import(start)))
            }
            Tok::Kw("import") => {
                let sp = self.span();
                self.error(
                    Diagnostic::error("syntax", sp, "eCLAT imports name what they take")
                        .with_label("`import x` is not supported")
                        .with_help("write `from programs.<package> import <name>, ...`"),
                );
                None
            }
            Tok::Kw("def") => {
                let start = self.pos;
                match self.parse_def() {
                    Some(d) => Some(Item::Def(d)),
                    None => self.broken_def(start),
                }
            }
            Tok::Newline => {
                self.bump();
                self.line_done = true;
                None
            }
            Tok::Indent => {
                let sp = self.span();
                self.error(
                    Diagnostic::error("unexpected-indent", sp, "unexpected indentation")
                        .with_label("this line is indented")
                        .with_help(
                            "top-level lines start in column 1; a chain's statements go under \
                             its `def name():` line",
                        ),
                );
                // the indented lines are read as if they were not: one error for them all
                self.bump();
                self.stray += 1;
                self.line_done = true;
                None
            }
            Tok::Dedent => {
                // the end of an indented stretch reported at its start (or of a block whose
                // error was reported): nothing more to say
                self.bump();
                self.stray = self.stray.saturating_sub(1);
                self.line_done = true;
                None
            }
            _ if self.stray > 0 && !self.at_top_level_line() => {
                // inside a reported indented stretch, a chain's statement (its `def` line
                // missing or misplaced): checked as a statement, without a second error
                let mut discarded = Vec::new();
                if self.parse_stmt(&mut discarded).is_none() {
                    self.recover_line();
                }
                self.line_done = true;
                None
            }
            Tok::Name(_) if matches!(self.peek_at(1).tok, Tok::Sym("[")) => self.parse_loader_map(),
            _ => self.parse_top_simple(),
        }
    }

    fn parse_import(&mut self) -> Option<Item> {
        let start = self.expect_kw("from")?;
        let root = self.expect_name("`programs` or `loaders`")?;
        let kind = match root.name.as_str() {
            "programs" => ImportKind::Programs,
            "loaders" => ImportKind::Loaders,
            _ => {
                self.error(
                    Diagnostic::error("bad-import", root.span, format!("cannot import from `{}`", root.name))
                        .with_label("unknown module root")
                        .with_help("import programs with `from programs.<pkg> import ...` and loaders with `from loaders.<pkg> import ...`"),
                );
                return None;
            }
        };
        self.expect_sym(".")?;
        let package = self.expect_name("a package name")?;
        self.expect_kw("import")?;
        let paren = self.maybe_sym("(");
        let mut names = vec![self.expect_name("a name to import")?];
        while self.maybe_sym(",") {
            if paren && matches!(self.tok(), Tok::Sym(")")) {
                break;
            }
            names.push(self.expect_name("a name to import")?);
        }
        if paren {
            self.expect_sym(")")?;
        }
        let span = start.to(self.prev_span());
        self.expect_newline()?;
        Some(Item::Import {
            kind,
            package,
            names,
            span,
        })
    }

    /// After a syntax error in the import line starting at token `start`: every name on the
    /// line, and the parser at the next line.
    fn broken_import(&mut self, start: usize) -> Item {
        let mut names = Vec::new();
        let mut span = self.toks.get(start).map(|t| t.span).unwrap_or_default();
        for t in &self.toks[start.min(self.toks.len())..] {
            match &t.tok {
                Tok::Newline | Tok::Eof => break,
                Tok::Name(n) => names.push(Ident {
                    name: n.clone(),
                    span: t.span,
                }),
                _ => {}
            }
            span = span.to(t.span);
        }
        // parse_import fails before it consumes the line's end
        self.recover_line();
        Item::BrokenImport { names, span }
    }

    /// After a syntax error in the `def` header starting at token `start`: the chain's name
    /// if it got that far (`None` otherwise: the caller recovers).
    fn broken_def(&mut self, start: usize) -> Option<Item> {
        let t = self.toks.get(start + 1)?;
        let Tok::Name(n) = &t.tok else {
            return None;
        };
        let name = Ident {
            name: n.clone(),
            span: t.span,
        };
        let span = self.toks[start].span.to(t.span);
        self.recover_line();
        Some(Item::BrokenDef { name, span })
    }

    fn parse_def(&mut self) -> Option<Def> {
        let start = self.expect_kw("def")?;
        let name = self.expect_name("the chain's name")?;
        self.expect_sym("(")?;
        let mut params = Vec::new();
        while !matches!(self.tok(), Tok::Sym(")")) {
            let (ty, _) = self.parse_type()?;
            self.expect_sym(":")?;
            let pname = self.expect_name("a parameter name")?;
            params.push(Param { ty, name: pname });
            if !self.maybe_sym(",") {
                break;
            }
        }
        self.expect_sym(")")?;
        let span = start.to(self.prev_span());
        let body = self.parse_block()?;
        Some(Def {
            name,
            params,
            body,
            span,
        })
    }

    /// `u64` etc. With a Python-habit hint when a name stands where the type should be.
    fn parse_type(&mut self) -> Option<(IntType, Span)> {
        let t = self.peek().clone();
        if let Tok::Name(n) = &t.tok {
            if let Some(ty) = IntType::parse(n) {
                self.bump();
                return Some((ty, t.span));
            }
            let mut d = Diagnostic::error(
                "expected-type",
                t.span,
                format!("expected a type, found `{n}`"),
            )
            .with_label("not a type")
            .with_help("types are u8 u16 u32 u64 s8 s16 s32 s64, written first: `u64 : name`");
            if matches!(self.peek_at(1).tok, Tok::Sym(":"))
                && let Tok::Name(ty) = &self.peek_at(2).tok
                && IntType::parse(ty).is_some()
            {
                d = d.with_help(format!("eCLAT puts the type first: `{ty} : {n}`"));
            }
            self.error(d);
            return None;
        }
        self.unexpected("a type (u8 u16 u32 u64 s8 s16 s32 s64)");
        None
    }

    fn parse_loader_map(&mut self) -> Option<Item> {
        let loader = self.expect_name("a loader name")?;
        self.expect_sym("[")?;
        let map = self.expect_name("a map name")?;
        self.expect_sym("]")?;
        self.expect_sym("=")?;
        self.expect_sym("{")?;
        let mut entries = Vec::new();
        while !matches!(self.tok(), Tok::Sym("}")) {
            let start = self.span();
            let key = self.parse_tuple()?;
            self.expect_sym(":")?;
            let value = self.parse_tuple()?;
            entries.push(Entry {
                key,
                value,
                span: start.to(self.prev_span()),
            });
            if !self.maybe_sym(",") {
                break;
            }
        }
        self.expect_sym("}")?;
        let span = loader.span.to(self.prev_span());
        self.expect_newline()?;
        Some(Item::LoaderMap {
            loader,
            map,
            entries,
            span,
        })
    }

    /// `(a, b)`, `(a)` or a bare expression.
    fn parse_tuple(&mut self) -> Option<Vec<Expr>> {
        if self.maybe_sym("(") {
            let mut v = Vec::new();
            while !matches!(self.tok(), Tok::Sym(")")) {
                v.push(self.parse_expr()?);
                if !self.maybe_sym(",") {
                    break;
                }
            }
            self.expect_sym(")")?;
            Some(v)
        } else {
            Some(vec![self.parse_expr()?])
        }
    }

    /// Top-level simple statements (`A = 1; B = 2` allowed): constants and `attach`.
    /// The first is returned; the others are pushed to `pending`.
    fn parse_top_simple(&mut self) -> Option<Item> {
        let mut items = Vec::new();
        loop {
            let stmt = self.parse_simple()?;
            if let Some(item) = self.top_item(stmt) {
                items.push(item);
            }
            if !self.maybe_sym(";") || matches!(self.tok(), Tok::Newline | Tok::Eof) {
                break;
            }
        }
        self.expect_newline()?;
        let mut it = items.into_iter();
        let Some(first) = it.next() else {
            // a line with no item (a docstring, or a statement reported above): it is
            // consumed, the caller goes on with the next one
            self.line_done = true;
            return None;
        };
        self.pending.extend(it);
        Some(first)
    }

    fn top_item(&mut self, stmt: Stmt) -> Option<Item> {
        match stmt.kind {
            // a string on its own is a docstring, as in Python
            StmtKind::Expr(Expr {
                kind: ExprKind::Str(_),
                ..
            }) => None,
            StmtKind::Const { name, value } => Some(Item::Const {
                name,
                value,
                span: stmt.span,
            }),
            StmtKind::Expr(Expr {
                kind:
                    ExprKind::Call {
                        callee: Callee::Method { object, method },
                        args,
                    },
                span,
            }) if method.name == "attach" => Some(Item::Attach {
                loader: object,
                args,
                span,
            }),
            StmtKind::Assign { name, .. } | StmtKind::Decl { name, .. } => {
                self.error(
                    Diagnostic::error("top-level-variable", stmt.span, "variables live inside chains")
                        .with_label(format!("`{}` at top level", name.name))
                        .with_help("at top level write an UPPERCASE constant (`LIMIT = 5`), or move this into a `def`"),
                );
                None
            }
            _ => {
                self.error(
                    Diagnostic::error("top-level-statement", stmt.span, "this statement must be inside a chain")
                        .with_label("not allowed at top level")
                        .with_help("the top level holds imports, constants, loader configuration, `attach` and `def`"),
                );
                None
            }
        }
    }

    // ---- statements ----

    /// `:` then either an indented block or simple statements on the same line.
    fn parse_block(&mut self) -> Option<Vec<Stmt>> {
        if matches!(self.tok(), Tok::Sym("=")) {
            let sp = self.span();
            self.error(
                Diagnostic::error("assignment-in-condition", sp, "`=` in a condition")
                    .with_label("this assigns")
                    .with_help("to compare, write `==`"),
            );
            return None;
        }
        self.expect_sym(":")?;
        if self.depth >= MAX_DEPTH {
            let sp = self.span();
            self.error(Diagnostic::error(
                "too-deep",
                sp,
                "blocks are nested too deeply",
            ));
            return None;
        }
        if !matches!(self.tok(), Tok::Newline) {
            let mut v = Vec::new();
            self.parse_simple_line(&mut v)?;
            return Some(v);
        }
        self.bump();
        if !matches!(self.tok(), Tok::Indent) {
            let sp = self.span();
            self.error(
                Diagnostic::error("expected-indent", sp, "expected an indented block")
                    .with_label("this line should be indented")
                    .with_help("indent the body of `def`, `if`, `while` and `for`; write `pass` for an empty one"),
            );
            return Some(self.parse_unindented_body());
        }
        self.bump();
        self.depth += 1;
        let mut body = Vec::new();
        while !matches!(self.tok(), Tok::Dedent | Tok::Eof) {
            if self.errors >= MAX_ERRORS {
                break;
            }
            let before = self.pos;
            if self.parse_stmt(&mut body).is_none() {
                self.recover_line();
            }
            if self.pos == before {
                self.bump();
            }
        }
        self.depth -= 1;
        if matches!(self.tok(), Tok::Dedent) {
            self.bump();
        }
        Some(body)
    }

    /// After `expected-indent`: the body its author forgot to indent, read as if it were (one
    /// error for it all). A chain's body goes on up to the next top-level line; a nested
    /// block's up to the end of the enclosing block or the next `elif`/`else`.
    fn parse_unindented_body(&mut self) -> Vec<Stmt> {
        let mut body = Vec::new();
        let top = self.depth == 0;
        // a level of nesting like an indented body (a chain of unindented headers is as deep)
        self.depth += 1;
        loop {
            let end = match self.tok() {
                Tok::Eof | Tok::Dedent => true,
                Tok::Kw("elif" | "else") => !top,
                _ => top && self.at_top_level_line(),
            };
            if end || self.errors >= MAX_ERRORS {
                break;
            }
            let before = self.pos;
            if self.parse_stmt(&mut body).is_none() {
                self.recover_line();
            }
            if self.pos == before {
                self.bump();
            }
        }
        self.depth -= 1;
        body
    }

    /// After `unexpected-indent` (its INDENT consumed): the lines indented by mistake, read as
    /// if they were not (one error for them all), up to their DEDENT.
    fn parse_stray_lines(&mut self, out: &mut Vec<Stmt>) {
        self.depth += 1;
        while !matches!(self.tok(), Tok::Dedent | Tok::Eof) {
            if self.errors >= MAX_ERRORS {
                break;
            }
            let before = self.pos;
            if self.parse_stmt(out).is_none() {
                self.recover_line();
            }
            if self.pos == before {
                self.bump();
            }
        }
        self.depth -= 1;
        if matches!(self.tok(), Tok::Dedent) {
            self.bump();
        }
    }

    fn parse_stmt(&mut self, out: &mut Vec<Stmt>) -> Option<()> {
        let start = self.span();
        match self.tok().clone() {
            Tok::Kw("if") => {
                self.bump();
                let cond = self.parse_expr()?;
                let header = start.to(self.prev_span());
                let body = self.parse_block()?;
                let mut arms = vec![(cond, body)];
                let mut orelse = None;
                loop {
                    if matches!(self.tok(), Tok::Kw("elif")) {
                        self.bump();
                        let c = self.parse_expr()?;
                        let b = self.parse_block()?;
                        arms.push((c, b));
                    } else if matches!(self.tok(), Tok::Kw("else")) {
                        self.bump();
                        orelse = Some(self.parse_block()?);
                        break;
                    } else {
                        break;
                    }
                }
                out.push(Stmt {
                    kind: StmtKind::If { arms, orelse },
                    span: header,
                });
                Some(())
            }
            Tok::Kw("while") => {
                self.bump();
                let cond = self.parse_expr()?;
                let header = start.to(self.prev_span());
                let body = self.parse_block()?;
                out.push(Stmt {
                    kind: StmtKind::While { cond, body },
                    span: header,
                });
                Some(())
            }
            Tok::Kw("for") => {
                self.bump();
                let var = self.expect_name("a loop variable")?;
                self.expect_kw("in")?;
                let r = self.expect_name("`range`")?;
                if r.name != "range" {
                    self.error(
                        Diagnostic::error(
                            "bad-for",
                            r.span,
                            format!("cannot iterate over `{}`", r.name),
                        )
                        .with_help(
                            "eCLAT loops are `for i in range(N):` with a literal or constant N",
                        ),
                    );
                    return None;
                }
                self.expect_sym("(")?;
                let count = self.parse_expr()?;
                self.expect_sym(")")?;
                let header = start.to(self.prev_span());
                let body = self.parse_block()?;
                out.push(Stmt {
                    kind: StmtKind::For { var, count, body },
                    span: header,
                });
                Some(())
            }
            Tok::Kw("def") => {
                self.error(
                    Diagnostic::error(
                        "nested-def",
                        start,
                        "chains cannot be defined inside chains",
                    )
                    .with_help("define every chain at top level"),
                );
                None
            }
            Tok::Kw("elif") | Tok::Kw("else") => {
                self.error(
                    Diagnostic::error("syntax", start, "`elif`/`else` without a matching `if`")
                        .with_help("align it with its `if`"),
                );
                None
            }
            Tok::Indent => {
                self.error(
                    Diagnostic::error("unexpected-indent", start, "unexpected indentation")
                        .with_label("indented more than the line before")
                        .with_help("indent only after a line ending with `:`"),
                );
                if self.depth >= MAX_DEPTH {
                    // too deep to read on: the caller skips the indented lines
                    return None;
                }
                self.bump();
                self.parse_stray_lines(out);
                Some(())
            }
            _ => self.parse_simple_line(out),
        }
    }

    /// `simple (; simple)* [;] NEWLINE`
    fn parse_simple_line(&mut self, out: &mut Vec<Stmt>) -> Option<()> {
        loop {
            out.push(self.parse_simple()?);
            if !self.maybe_sym(";") {
                break;
            }
            if matches!(self.tok(), Tok::Newline | Tok::Eof | Tok::Dedent) {
                break;
            }
        }
        self.expect_newline()
    }

    fn parse_simple(&mut self) -> Option<Stmt> {
        let start = self.span();
        let t0 = self.tok().clone();
        let t1 = self.peek_at(1).tok.clone();
        match (&t0, &t1) {
            (Tok::Kw("pass"), _) => {
                self.bump();
                Some(Stmt {
                    kind: StmtKind::Pass,
                    span: start,
                })
            }
            (Tok::Kw("return"), _) => {
                self.bump();
                let value = if matches!(
                    self.tok(),
                    Tok::Newline | Tok::Sym(";") | Tok::Eof | Tok::Dedent
                ) {
                    None
                } else {
                    Some(self.parse_expr()?)
                };
                Some(Stmt {
                    kind: StmtKind::Return(value),
                    span: start.to(self.prev_span()),
                })
            }
            (Tok::Name(n), Tok::Name(v)) if IntType::parse(n).is_some() => {
                let sp = start.to(self.peek_at(1).span);
                self.error(
                    Diagnostic::error(
                        "missing-colon",
                        sp,
                        "a declaration needs `:` between type and name",
                    )
                    .with_label("C-style declaration")
                    .with_help(format!("write `{n} : {v} = ...`")),
                );
                None
            }
            (Tok::Name(n), Tok::Sym(":")) => {
                let Some(ty) = IntType::parse(n) else {
                    self.parse_type()?;
                    return None;
                };
                self.bump();
                self.bump();
                let name = self.expect_name("the variable's name")?;
                if !matches!(self.tok(), Tok::Sym("=")) {
                    self.error(
                        Diagnostic::error(
                            "syntax",
                            self.peek().span,
                            "a declaration needs an initial value",
                        )
                        .with_label("expected `=`")
                        .with_help(format!(
                            "write `{} : {} = 0`",
                            ty.name(),
                            name.name
                        )),
                    );
                    return None;
                }
                self.bump();
                let value = self.parse_expr()?;
                Some(Stmt {
                    kind: StmtKind::Decl { ty, name, value },
                    span: start.to(self.prev_span()),
                })
            }
            (Tok::Name(n), Tok::Sym("=")) => {
                let name = Ident {
                    name: n.clone(),
                    span: start,
                };
                self.bump();
                self.bump();
                let value = self.parse_expr()?;
                let span = start.to(self.prev_span());
                let kind = if is_upper_const(n) && is_literal(&value) {
                    StmtKind::Const { name, value }
                } else {
                    StmtKind::Assign { name, value }
                };
                Some(Stmt { kind, span })
            }
            (Tok::Name(n), Tok::Sym(s))
                if s.len() >= 2 && s.ends_with('=') && !matches!(*s, "==" | "!=" | "<=" | ">=") =>
            {
                let op = match &s[..s.len() - 1] {
                    "+" => BinOp::Add,
                    "-" => BinOp::Sub,
                    "*" => BinOp::Mul,
                    "/" => BinOp::Div,
                    "%" => BinOp::Mod,
                    "&" => BinOp::And,
                    "|" => BinOp::Or,
                    "^" => BinOp::Xor,
                    "<<" => BinOp::Shl,
                    _ => BinOp::Shr,
                };
                let name = Ident {
                    name: n.clone(),
                    span: start,
                };
                self.bump();
                self.bump();
                let value = self.parse_expr()?;
                Some(Stmt {
                    kind: StmtKind::AugAssign { name, op, value },
                    span: start.to(self.prev_span()),
                })
            }
            _ => {
                let e = self.parse_expr()?;
                if matches!(self.tok(), Tok::Sym("=")) {
                    let sp = self.span();
                    self.error(
                        Diagnostic::error("bad-assignment", e.span.to(sp), "cannot assign to this")
                            .with_label("not a variable name")
                            .with_help("assign to a declared variable: `x = ...`"),
                    );
                    return None;
                }
                let span = e.span;
                Some(Stmt {
                    kind: StmtKind::Expr(e),
                    span,
                })
            }
        }
    }

    // ---- expressions (Python precedence) ----

    fn parse_expr(&mut self) -> Option<Expr> {
        self.depth += 1;
        let r = if self.depth > MAX_DEPTH {
            let sp = self.span();
            self.error(
                Diagnostic::error("too-deep", sp, "expression nested too deeply")
                    .with_help("simplify it"),
            );
            None
        } else {
            self.parse_or()
        };
        self.depth -= 1;
        r
    }

    /// One more level of syntax-tree depth (a nested expression or one more operand of a chain
    /// like `a + b + c`): refuses past [`MAX_DEPTH`] so that later passes cannot overflow.
    fn deeper(&mut self) -> bool {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let sp = self.span();
            self.error(
                Diagnostic::error("too-deep", sp, "expression nested too deeply or too long")
                    .with_help("split it into several statements"),
            );
            return false;
        }
        true
    }

    fn parse_or(&mut self) -> Option<Expr> {
        self.parse_bool_chain("or", Self::parse_and, ExprKind::Or)
    }

    fn parse_and(&mut self) -> Option<Expr> {
        self.parse_bool_chain("and", Self::parse_not, ExprKind::And)
    }

    /// `next (kw next)*`, left-associative, for `or` and `and`.
    fn parse_bool_chain(
        &mut self,
        kw: &str,
        next: fn(&mut Self) -> Option<Expr>,
        build: fn(Box<Expr>, Box<Expr>) -> ExprKind,
    ) -> Option<Expr> {
        let mut l = next(self)?;
        let base = self.depth;
        while self.maybe_kw(kw) {
            if !self.deeper() {
                self.depth = base;
                return None;
            }
            let Some(r) = next(self) else {
                self.depth = base;
                return None;
            };
            let span = l.span.to(r.span);
            l = Expr {
                kind: build(Box::new(l), Box::new(r)),
                span,
            };
        }
        self.depth = base;
        Some(l)
    }

    fn parse_not(&mut self) -> Option<Expr> {
        if matches!(self.tok(), Tok::Kw("not")) {
            let start = self.bump().span;
            self.depth += 1;
            let r = if self.depth > MAX_DEPTH {
                self.error(Diagnostic::error(
                    "too-deep",
                    start,
                    "expression nested too deeply",
                ));
                None
            } else {
                self.parse_not()
            };
            self.depth -= 1;
            let a = r?;
            let span = start.to(a.span);
            return Some(Expr {
                kind: ExprKind::Unary(UnOp::Not, Box::new(a)),
                span,
            });
        }
        self.parse_cmp()
    }

    fn cmp_op(&self) -> Option<CmpOp> {
        Some(match self.tok() {
            Tok::Sym("==") => CmpOp::Eq,
            Tok::Sym("!=") => CmpOp::Ne,
            Tok::Sym("<") => CmpOp::Lt,
            Tok::Sym("<=") => CmpOp::Le,
            Tok::Sym(">") => CmpOp::Gt,
            Tok::Sym(">=") => CmpOp::Ge,
            _ => return None,
        })
    }

    fn parse_cmp(&mut self) -> Option<Expr> {
        let l = self.parse_bin(0)?;
        let Some(op) = self.cmp_op() else {
            return Some(l);
        };
        self.bump();
        let r = self.parse_bin(0)?;
        let span = l.span.to(r.span);
        if self.cmp_op().is_some() {
            let sp = self.span();
            self.error(
                Diagnostic::error(
                    "chained-comparison",
                    span.to(sp),
                    "chained comparisons are not supported",
                )
                .with_label("a second comparison follows this one")
                .with_help("Python reads `a < b < c` as `a < b and b < c`: write that out"),
            );
            return None;
        }
        Some(Expr {
            kind: ExprKind::Cmp(op, Box::new(l), Box::new(r)),
            span,
        })
    }

    /// Binary operators by Python precedence level: `|` < `^` < `&` < shifts < `+ -` < `* / %`.
    fn parse_bin(&mut self, level: usize) -> Option<Expr> {
        const LEVELS: [&[(&str, BinOp)]; 6] = [
            &[("|", BinOp::Or)],
            &[("^", BinOp::Xor)],
            &[("&", BinOp::And)],
            &[("<<", BinOp::Shl), (">>", BinOp::Shr)],
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Mod)],
        ];
        if level >= LEVELS.len() {
            return self.parse_unary();
        }
        let mut l = self.parse_bin(level + 1)?;
        let base = self.depth;
        loop {
            let op = match self.tok() {
                Tok::Sym(s) => LEVELS[level].iter().find(|(x, _)| x == s).map(|(_, o)| *o),
                _ => None,
            };
            let Some(op) = op else { break };
            self.bump();
            if !self.deeper() {
                self.depth = base;
                return None;
            }
            let Some(r) = self.parse_bin(level + 1) else {
                self.depth = base;
                return None;
            };
            let span = l.span.to(r.span);
            l = Expr {
                kind: ExprKind::Binary(op, Box::new(l), Box::new(r)),
                span,
            };
        }
        self.depth = base;
        if matches!(self.tok(), Tok::Sym("**")) && level == 5 {
            let sp = self.span();
            self.error(
                Diagnostic::error("unsupported-operator", sp, "`**` is not supported").with_help(
                    "the chain bytecode has no power operator; use `<<` for powers of two",
                ),
            );
            return None;
        }
        Some(l)
    }

    fn parse_unary(&mut self) -> Option<Expr> {
        let op = match self.tok() {
            Tok::Sym("-") => Some(UnOp::Neg),
            Tok::Sym("~") => Some(UnOp::Invert),
            Tok::Sym("+") => None,
            _ => return self.parse_postfix(),
        };
        let start = self.bump().span;
        self.depth += 1;
        let r = if self.depth > MAX_DEPTH {
            self.error(Diagnostic::error(
                "too-deep",
                start,
                "expression nested too deeply",
            ));
            None
        } else {
            self.parse_unary()
        };
        self.depth -= 1;
        let a = r?;
        let span = start.to(a.span);
        Some(match op {
            Some(o) => Expr {
                kind: ExprKind::Unary(o, Box::new(a)),
                span,
            },
            None => a,
        })
    }

    fn parse_postfix(&mut self) -> Option<Expr> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Int(v) => {
                self.bump();
                Some(Expr {
                    kind: ExprKind::Int(v),
                    span: t.span,
                })
            }
            Tok::Str(s) => {
                self.bump();
                Some(Expr {
                    kind: ExprKind::Str(s),
                    span: t.span,
                })
            }
            Tok::Kw("True" | "true") => {
                self.bump();
                Some(Expr {
                    kind: ExprKind::Bool(true),
                    span: t.span,
                })
            }
            Tok::Kw("False" | "false") => {
                self.bump();
                Some(Expr {
                    kind: ExprKind::Bool(false),
                    span: t.span,
                })
            }
            Tok::Sym("(") => {
                self.bump();
                let e = self.parse_expr()?;
                if matches!(self.tok(), Tok::Sym(",")) {
                    let sp = self.span();
                    self.error(
                        Diagnostic::error("tuple", sp, "tuples exist only in loader map entries")
                            .with_help("use one value here"),
                    );
                    return None;
                }
                let end = self.expect_sym(")")?;
                Some(Expr {
                    kind: e.kind,
                    span: t.span.to(end),
                })
            }
            Tok::Name(name) => {
                self.bump();
                let ident = Ident { name, span: t.span };
                if matches!(self.tok(), Tok::Sym(".")) {
                    self.bump();
                    let method = self.expect_name("a method name")?;
                    if !matches!(self.tok(), Tok::Sym("(")) {
                        self.unexpected("`(`: only method calls use `.`");
                        return None;
                    }
                    let (args, end) = self.parse_args()?;
                    return Some(Expr {
                        kind: ExprKind::Call {
                            callee: Callee::Method {
                                object: ident,
                                method,
                            },
                            args,
                        },
                        span: t.span.to(end),
                    });
                }
                if matches!(self.tok(), Tok::Sym("(")) {
                    let (args, end) = self.parse_args()?;
                    return Some(Expr {
                        kind: ExprKind::Call {
                            callee: Callee::Name(ident),
                            args,
                        },
                        span: t.span.to(end),
                    });
                }
                Some(Expr {
                    kind: ExprKind::Name(ident.name),
                    span: t.span,
                })
            }
            _ => {
                self.unexpected("an expression");
                None
            }
        }
    }

    fn parse_args(&mut self) -> Option<(Vec<Expr>, Span)> {
        self.expect_sym("(")?;
        let mut args = Vec::new();
        while !matches!(self.tok(), Tok::Sym(")")) {
            args.push(self.parse_expr()?);
            if !self.maybe_sym(",") {
                break;
            }
        }
        let end = self.expect_sym(")")?;
        Some((args, end))
    }
}
