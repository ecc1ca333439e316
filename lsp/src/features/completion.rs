//! Completion. The context comes from the text before the cursor (half-typed code rarely
//! parses) and the scopes from the syntax tree of the statements around it:
//! - in statement position inside a choreography: its roles, statement keywords and the
//!   choreographies that can be called;
//! - after `R.` (or anywhere in an expression evaluated at `R`): the variables `R` holds at the
//!   cursor, functions, modules and variants;
//! - after `module::`: the functions of that module;
//! - after `x.` where `x` has a struct type: its fields (also along `x.a.b.`);
//! - after `R -> S[`: the selection labels used in the file;
//! - in a local function: its parameters and local variables, functions and variants.

use super::FileCx;
use super::hover::{chor_signature, item_signature};
use super::index::Index;
use super::semantic::Labels;
use super::walk;
use crate::Analysis;
use chor_check::ir::{Spelling, type_text};
use chor_diagnostics::FileId;
use chor_syntax::ast::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CompletionKind {
    Variable,
    Field,
    Role,
    Label,
    Function,
    Variant,
    Choreography,
    Module,
    Keyword,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub label: String,
    pub kind: CompletionKind,
    pub detail: Option<String>,
}

fn item(label: &str, kind: CompletionKind, detail: Option<String>) -> Completion {
    Completion {
        label: label.to_owned(),
        kind,
        detail,
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifier that ends at `end` in `text`, and where it starts.
fn ident_before(text: &str, end: usize) -> (&str, usize) {
    let start = text[..end]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident_char(*c))
        .last()
        .map_or(end, |(i, _)| i);
    (&text[start..end], start)
}

enum Scope<'a> {
    Chor(&'a ChorDef),
    Fn(&'a FnDef),
    Top,
}

pub fn completions(db: &dyn Analysis, file: FileId, offset: u32) -> Vec<Completion> {
    let cx = FileCx::new(db, file);
    let index = Index::new(&cx);
    let text: &str = &cx.text;
    let mut offset = (offset as usize).min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let (_, prefix_start) = ident_before(text, offset);
    let before = &text[..prefix_start];
    let scope = enclosing(&cx, offset as u32);
    let c = Completer {
        cx: &cx,
        index: &index,
        offset: offset as u32,
    };
    let mut out = if let Some(rest) = before.strip_suffix("::") {
        let (module, _) = ident_before(rest, rest.len());
        c.module_fns(module)
    } else if before.trim_end().ends_with('[') && statement_text(before).contains("->") {
        c.labels()
    } else if let Some(rest) = before.strip_suffix('.') {
        c.after_dot(rest, &scope)
    } else {
        c.bare(before, &scope)
    };
    out.sort_by(|a, b| (a.kind, &a.label).cmp(&(b.kind, &b.label)));
    out.dedup_by(|a, b| a.label == b.label && a.kind == b.kind);
    out
}

/// The item whose text contains the cursor.
fn enclosing<'a>(cx: &'a FileCx<'_>, offset: u32) -> Scope<'a> {
    let Some(unit) = cx.unit() else {
        return Scope::Top;
    };
    for it in unit.ast.iter() {
        let s = it.span();
        if s.start < offset && offset < s.end.max(s.start + 1) {
            return match it {
                Item::Chor(c) => Scope::Chor(c),
                Item::Fn(f) => Scope::Fn(f),
                _ => Scope::Top,
            };
        }
    }
    Scope::Top
}

/// The text of the statement being typed: everything after the last `;`, `{` or `}`.
fn statement_text(before: &str) -> &str {
    let from = before.rfind([';', '{', '}']).map_or(0, |i| i + 1);
    &before[from..]
}

/// Whether the statement being typed ends at the start of an argument of a choreography
/// call: after `)(` or a `,` at the top level of that argument list.
fn in_call_args(stmt: &str) -> bool {
    let Some(i) = stmt.rfind(")(") else {
        return false;
    };
    let after = &stmt[i + 2..];
    let mut depth = 0i32;
    for ch in after.chars() {
        match ch {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
    }
    let t = after.trim_end();
    depth == 0 && (t.is_empty() || t.ends_with(','))
}

/// `let R.`, `if R.`, `R.` …: the role an expression statement starts with.
fn statement_role<'c>(stmt: &str, chor: &'c ChorDef) -> Option<&'c str> {
    let s = stmt.trim_start();
    let s = ["let ", "if ", "match ", "return "]
        .iter()
        .find_map(|k| s.strip_prefix(k))
        .unwrap_or(s)
        .trim_start();
    let end = s.find(|c: char| !is_ident_char(c)).unwrap_or(s.len());
    let (name, rest) = s.split_at(end);
    if !rest.starts_with('.') {
        return None;
    }
    chor.roles
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.name.as_str())
}

struct Completer<'a> {
    cx: &'a FileCx<'a>,
    index: &'a Index<'a>,
    offset: u32,
}

impl Completer<'_> {
    fn module_fns(&self, module: &str) -> Vec<Completion> {
        self.cx
            .program
            .fns
            .iter()
            .filter(|(q, _)| q.module.as_deref() == Some(module))
            .filter_map(|(q, r)| {
                let f = self.cx.program.fn_def(*r)?;
                if f.is_internal() {
                    return None;
                }
                Some(item(
                    &q.name,
                    CompletionKind::Function,
                    item_signature(self.cx, f.name.span),
                ))
            })
            .collect()
    }

    fn labels(&self) -> Vec<Completion> {
        let mut labels = Labels(Vec::new());
        if let Some(unit) = self.cx.unit() {
            for it in unit.ast.iter() {
                walk::item(&mut labels, it);
            }
        }
        labels
            .0
            .iter()
            .map(|s| self.cx.slice(*s))
            .filter(|l| !l.is_empty())
            .map(|l| item(l, CompletionKind::Label, Some("selection label".to_owned())))
            .collect()
    }

    /// Functions, modules, variants: what any expression can name.
    fn globals(&self) -> Vec<Completion> {
        let p = &self.cx.program;
        let mut out: Vec<Completion> = p
            .fns
            .iter()
            .filter(|(q, _)| q.module.is_none())
            .filter_map(|(q, r)| {
                let f = p.fn_def(*r)?;
                Some(item(
                    &q.name,
                    CompletionKind::Function,
                    item_signature(self.cx, f.name.span),
                ))
            })
            .collect();
        for u in &p.units {
            if let Some(m) = &u.module {
                out.push(item(m, CompletionKind::Module, Some(format!("module {m}"))));
            }
        }
        for (name, (enum_name, _)) in &p.variants {
            out.push(item(
                name,
                CompletionKind::Variant,
                Some(format!("variant of {enum_name}")),
            ));
        }
        for k in ["true", "false"] {
            out.push(item(k, CompletionKind::Keyword, None));
        }
        out
    }

    fn roles(&self, chor: &ChorDef) -> Vec<Completion> {
        chor.roles
            .iter()
            .map(|r| {
                item(
                    &r.name,
                    CompletionKind::Role,
                    Some(format!("role of {}", chor.name.name)),
                )
            })
            .collect()
    }

    fn variable(&self, id: &Ident) -> Completion {
        let detail = self
            .index
            .var(id.span)
            .map(|v| type_text(&self.cx.program, &v.ty, Spelling::Plain));
        item(&id.name, CompletionKind::Variable, detail)
    }

    /// The variables in scope at the cursor (the role's, in a choreography), innermost last.
    fn vars(&self, scope: &Scope<'_>, role: Option<&str>) -> Vec<Ident> {
        let mut out: Vec<Ident> = Vec::new();
        match scope {
            Scope::Chor(c) => {
                if let Some(role) = role {
                    for p in c.params.iter().filter(|p| p.role.name == role) {
                        out.push(p.name.clone());
                    }
                    self.chor_scope(&c.body, role, &mut out);
                }
            }
            Scope::Fn(f) => {
                out.extend(f.params.iter().map(|p| p.name.clone()));
                if let Some(b) = &f.body {
                    self.expr_scope(b, &mut out);
                }
            }
            Scope::Top => {}
        }
        // A later binding of a name shadows an earlier one.
        let mut by_name: BTreeMap<String, Ident> = BTreeMap::new();
        for id in out {
            if self.cx.program.variants.contains_key(&id.name) {
                continue;
            }
            by_name.insert(id.name.clone(), id);
        }
        by_name.into_values().collect()
    }

    fn inside(&self, span: chor_diagnostics::Span) -> bool {
        span.start <= self.offset && self.offset <= span.end
    }

    /// Is the statement complete before the cursor (so its bindings are in scope)?
    fn done_before(&self, span: chor_diagnostics::Span) -> bool {
        span.end < self.offset
            || (span.end == self.offset
                && matches!(self.cx.slice(span).chars().last(), Some(';' | '}')))
    }

    fn chor_scope(&self, b: &ChorBlock, role: &str, out: &mut Vec<Ident>) {
        for s in &b.stmts {
            if self.done_before(s.span) {
                match &s.kind {
                    ChorStmtKind::Let { role: r, pat, .. } if r.name == role => {
                        out.extend(walk::bindings(pat).into_iter().cloned());
                    }
                    ChorStmtKind::Comm { to, .. } => {
                        out.extend(
                            to.iter()
                                .filter(|t| t.role.name == role)
                                .map(|t| t.var.clone()),
                        );
                    }
                    ChorStmtKind::Call {
                        bind: Some((r, pat, _)),
                        ..
                    } if r.name == role => out.extend(walk::bindings(pat).into_iter().cloned()),
                    // A conditional expression binds its targets after it.
                    ChorStmtKind::If { bind, .. }
                    | ChorStmtKind::Match { bind, .. }
                    | ChorStmtKind::CallMany { targets: bind, .. } => {
                        for t in bind {
                            let held = held_by(&t.role, t.group.as_ref());
                            if held.iter().any(|h| h.name == role) {
                                out.extend(walk::bindings(&t.pat).into_iter().cloned());
                            }
                        }
                    }
                    _ => {}
                }
                continue;
            }
            if !self.inside(s.span) {
                break;
            }
            match &s.kind {
                ChorStmtKind::If { then, els, .. } => {
                    if self.inside(then.span) {
                        self.chor_scope(then, role, out);
                    } else if let Some(e) = els.as_ref().filter(|e| self.inside(e.span)) {
                        self.chor_scope(e, role, out);
                    }
                }
                ChorStmtKind::Match { role: r, arms, .. } => {
                    if let Some(a) = arms.iter().find(|a| self.inside(a.span)) {
                        if r.name == role {
                            out.extend(walk::bindings(&a.pat).into_iter().cloned());
                        }
                        self.chor_scope(&a.body, role, out);
                    }
                }
                ChorStmtKind::Let {
                    role: r, value: e, ..
                }
                | ChorStmtKind::Effect { role: r, expr: e }
                | ChorStmtKind::Return { role: r, expr: e }
                | ChorStmtKind::Comm {
                    from: r, expr: e, ..
                } if r.name == role => {
                    self.expr_scope(e, out);
                }
                _ => {}
            }
        }
    }

    /// Local bindings of an expression that are in scope at the cursor inside it.
    fn expr_scope(&self, e: &Expr, out: &mut Vec<Ident>) {
        if !self.inside(e.span) {
            return;
        }
        match &e.kind {
            ExprKind::Block(b) => self.block_scope(b, out),
            ExprKind::If { cond, then, els } => {
                self.expr_scope(cond, out);
                self.block_scope(then, out);
                if let Some(e) = els {
                    self.expr_scope(e, out);
                }
            }
            ExprKind::Match { scrutinee, arms } => {
                self.expr_scope(scrutinee, out);
                if let Some(a) = arms.iter().find(|a| self.inside(a.span)) {
                    out.extend(walk::bindings(&a.pat).into_iter().cloned());
                    self.expr_scope(&a.body, out);
                }
            }
            ExprKind::Unary(_, a)
            | ExprKind::Field(a, _)
            | ExprKind::TupleIndex(a, _, _)
            | ExprKind::Return(Some(a)) => self.expr_scope(a, out),
            ExprKind::Binary(_, a, b) | ExprKind::Located(a, b) => {
                self.expr_scope(a, out);
                self.expr_scope(b, out);
            }
            ExprKind::Call(f, args) => {
                self.expr_scope(f, out);
                for a in args {
                    self.expr_scope(a, out);
                }
            }
            ExprKind::Tuple(xs) | ExprKind::List(xs) => {
                for x in xs {
                    self.expr_scope(x, out);
                }
            }
            ExprKind::StructLit { fields, .. } => {
                for f in fields {
                    self.expr_scope(&f.value, out);
                }
            }
            ExprKind::Lit(_) | ExprKind::Path(_) | ExprKind::Return(None) | ExprKind::Error => {}
        }
    }

    fn block_scope(&self, b: &Block, out: &mut Vec<Ident>) {
        if !self.inside(b.span) {
            return;
        }
        for s in &b.stmts {
            match s {
                Stmt::Let {
                    pat, value, span, ..
                } => {
                    if self.done_before(*span) {
                        out.extend(walk::bindings(pat).into_iter().cloned());
                    } else {
                        self.expr_scope(value, out);
                    }
                }
                Stmt::Expr(e) => self.expr_scope(e, out),
                Stmt::Error(_) => {}
            }
        }
        if let Some(t) = &b.tail {
            self.expr_scope(t, out);
        }
    }

    /// Everything an expression evaluated at `role` can name.
    fn at_role(&self, scope: &Scope<'_>, role: Option<&str>) -> Vec<Completion> {
        let mut out: Vec<Completion> = self
            .vars(scope, role)
            .iter()
            .map(|v| self.variable(v))
            .collect();
        out.extend(self.globals());
        out
    }

    /// The innermost statement of a choreography that holds the cursor inside an expression:
    /// the role evaluating that expression.
    fn expression_role<'c>(&self, b: &'c ChorBlock) -> Option<&'c str> {
        let s = b.stmts.iter().find(|s| self.inside(s.span))?;
        match &s.kind {
            ChorStmtKind::If {
                role,
                cond,
                then,
                els,
                ..
            } => {
                if self.inside(cond.span) {
                    Some(&role.name)
                } else if self.inside(then.span) {
                    self.expression_role(then)
                } else {
                    els.as_ref().and_then(|e| self.expression_role(e))
                }
            }
            ChorStmtKind::Match {
                role,
                scrutinee,
                arms,
                ..
            } => {
                if self.inside(scrutinee.span) {
                    Some(&role.name)
                } else {
                    let a = arms.iter().find(|a| self.inside(a.body.span))?;
                    self.expression_role(&a.body)
                }
            }
            ChorStmtKind::Let { role, value: e, .. }
            | ChorStmtKind::Effect { role, expr: e }
            | ChorStmtKind::Return { role, expr: e }
            | ChorStmtKind::Comm {
                from: role,
                expr: e,
                ..
            } => self.inside(e.span).then_some(role.name.as_str()),
            ChorStmtKind::Call { call, .. } | ChorStmtKind::CallMany { call, .. } => call
                .args
                .iter()
                .find(|a| self.inside(a.expr.span))
                .map(|a| a.role.name.as_str()),
            ChorStmtKind::Results { parts } | ChorStmtKind::Yield { parts } => parts
                .iter()
                .find(|a| self.inside(a.expr.span))
                .map(|a| a.role.name.as_str()),
            ChorStmtKind::LetMany { targets, value } => self
                .inside(value.span)
                .then(|| targets.first().map(|t| t.role.name.as_str()))
                .flatten(),
            ChorStmtKind::Select { .. } | ChorStmtKind::For { .. } | ChorStmtKind::Error => None,
        }
    }

    fn bare(&self, before: &str, scope: &Scope<'_>) -> Vec<Completion> {
        match scope {
            Scope::Top => ["choreography", "fn", "struct", "enum", "import"]
                .iter()
                .map(|k| item(k, CompletionKind::Keyword, None))
                .collect(),
            Scope::Fn(_) => {
                let mut out = self.at_role(scope, None);
                for k in ["let", "if", "else", "match", "return"] {
                    out.push(item(k, CompletionKind::Keyword, None));
                }
                out
            }
            Scope::Chor(c) => {
                // `R.e -> S.x, |` or `R -> S, |`: receivers are roles.
                let stmt = statement_text(before);
                if let Some((_, after)) = stmt.rsplit_once("->")
                    && after
                        .chars()
                        .all(|ch| is_ident_char(ch) || ",. \t\r\n".contains(ch))
                    && (after.trim().is_empty() || after.trim_end().ends_with(','))
                {
                    return self.roles(c);
                }
                // `P(A, B)(|` or `P(A, B)(A.x, |`: an argument starts with a role (`R.e`)
                // or is a choreography passed by name.
                if in_call_args(stmt) {
                    let mut out = self.roles(c);
                    out.extend(self.choreographies(c));
                    return out;
                }
                if let Some(role) = self.expression_role(&c.body) {
                    return self.at_role(scope, Some(role));
                }
                if let Some(role) = statement_role(stmt, c) {
                    return self.at_role(scope, Some(role));
                }
                let trimmed = stmt.trim();
                let mut out = self.roles(c);
                if trimmed.is_empty() {
                    for k in ["let", "if", "match", "return"] {
                        out.push(item(k, CompletionKind::Keyword, None));
                    }
                    out.extend(self.choreographies(c));
                }
                out
            }
        }
    }

    /// The choreographies that can be called or passed inside `c`: the program's, and `c`'s
    /// choreography-typed parameters.
    fn choreographies(&self, c: &ChorDef) -> Vec<Completion> {
        let mut out = Vec::new();
        for (name, r) in &self.cx.program.chors {
            if let Some(def) = self.cx.program.chor_def(*r) {
                out.push(item(
                    name,
                    CompletionKind::Choreography,
                    Some(chor_signature(def)),
                ));
            }
        }
        for p in &c.params {
            if let Some(t) = &p.chor {
                out.push(item(
                    &p.name.name,
                    CompletionKind::Choreography,
                    Some(format!("{}: {}", p.name.name, chor_signature(t))),
                ));
            }
        }
        out
    }

    /// After `a.b.` : a role's items, or a struct's fields.
    fn after_dot(&self, rest: &str, scope: &Scope<'_>) -> Vec<Completion> {
        // The chain of names before the dot: `Seller.quote.` is ["Seller", "quote"].
        let mut chain: Vec<&str> = Vec::new();
        let mut end = rest.len();
        loop {
            let (name, start) = ident_before(rest, end);
            if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
                return Vec::new();
            }
            chain.push(name);
            if start > 0 && rest[..start].ends_with('.') {
                end = start - 1;
            } else {
                break;
            }
        }
        chain.reverse();
        let (role, vars) = match scope {
            Scope::Chor(c) => {
                if let Some(r) = c.roles.iter().find(|r| r.name == chain[0]) {
                    if chain.len() == 1 {
                        return self.at_role(scope, Some(&r.name));
                    }
                    chain.remove(0);
                    (Some(r.name.as_str()), true)
                } else {
                    let role = self
                        .expression_role(&c.body)
                        .or_else(|| statement_role(statement_text(rest), c));
                    (role, role.is_some())
                }
            }
            Scope::Fn(_) => (None, true),
            Scope::Top => return Vec::new(),
        };
        if !vars {
            return Vec::new();
        }
        let Some(var) = self
            .vars(scope, role)
            .into_iter()
            .find(|v| v.name == chain[0])
        else {
            return Vec::new();
        };
        let Some(var) = self.index.var(var.span) else {
            return Vec::new();
        };
        let mut ty = type_text(&self.cx.program, &var.ty, Spelling::Plain);
        for field in &chain[1..] {
            let Some(next) = self
                .struct_fields(&ty)
                .into_iter()
                .find(|(n, _)| n == field)
                .map(|(_, t)| t)
            else {
                return Vec::new();
            };
            ty = next;
        }
        self.struct_fields(&ty)
            .into_iter()
            .map(|(n, t)| item(&n, CompletionKind::Field, Some(t)))
            .collect()
    }

    /// The fields of the struct named by a type (`Quote`, `Pair<Int, String>`).
    fn struct_fields(&self, ty: &str) -> Vec<(String, String)> {
        let head = ty.split('<').next().unwrap_or(ty).trim();
        let p = &self.cx.program;
        let Some(def) = p
            .structs
            .iter()
            .find(|(q, _)| q.name == head)
            .and_then(|(_, r)| p.struct_def(*r))
        else {
            return Vec::new();
        };
        def.fields
            .iter()
            .map(|f| {
                let mut t = String::new();
                chor_syntax::pretty::ty(&f.ty, &mut t);
                (f.name.name.clone(), t)
            })
            .collect()
    }
}
