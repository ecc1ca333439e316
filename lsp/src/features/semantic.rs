//! Semantic tokens. Each role of a choreography gets its own colour: a role name carries the
//! modifier `roleN` (N = its position among the choreography's roles, modulo
//! [`ROLE_MODIFIERS`]), and so does every variable held by that role, so `Buyer`, `Buyer`'s
//! variables and the messages they send read in one colour.
//!
//! Tokens come from the checker's (use, definition) pairs and from the definition sites (a
//! variable's role is the one the checker's resolved program gives its binding), so they are
//! exactly as precise as name resolution; selection labels come from the syntax tree.

use super::FileCx;
use super::index::{DefKind, Index};
use super::walk::{self, Visit};
use crate::Analysis;
use chor_diagnostics::{FileId, Span};
use chor_syntax::ast::{ChorStmt, ChorStmtKind};
use std::collections::BTreeMap;

/// How many distinct role colours there are (`role0` … `role7`).
pub const ROLE_MODIFIERS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TokenKind {
    Role,
    Variable,
    Function,
    Choreography,
    Struct,
    Enum,
    Variant,
    Field,
    TypeParam,
    Label,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SemanticToken {
    pub span: Span,
    pub kind: TokenKind,
    /// The role colour, `0..ROLE_MODIFIERS`.
    pub role: Option<usize>,
    pub declaration: bool,
}

pub fn semantic_tokens(db: &dyn Analysis, file: FileId) -> Vec<SemanticToken> {
    let cx = FileCx::new(db, file);
    let index = Index::new(&cx);
    let mut tokens: BTreeMap<(u32, u32), SemanticToken> = BTreeMap::new();
    let mut add = |span: Span, def: Span, declaration: bool| {
        if span.file != file || span.start >= span.end {
            return;
        }
        let (kind, role) = match index.kind(def) {
            DefKind::Function => (TokenKind::Function, None),
            DefKind::Struct => (TokenKind::Struct, None),
            DefKind::Enum => (TokenKind::Enum, None),
            DefKind::Choreography => (TokenKind::Choreography, None),
            DefKind::Variant => (TokenKind::Variant, None),
            DefKind::Field => (TokenKind::Field, None),
            DefKind::TypeParam => (TokenKind::TypeParam, None),
            DefKind::Role { index } => (TokenKind::Role, Some(index % ROLE_MODIFIERS)),
            DefKind::Variable { role } => (TokenKind::Variable, role.map(|r| r % ROLE_MODIFIERS)),
        };
        tokens
            .entry((span.start, span.end))
            .or_insert(SemanticToken {
                span,
                kind,
                role,
                declaration,
            });
    };
    for (use_site, def) in &cx.checked.references {
        add(*use_site, *def, false);
    }
    // Definition sites: item names, fields, variants, roles, and variable bindings.
    let uses: std::collections::HashSet<Span> =
        cx.checked.references.iter().map(|(u, _)| *u).collect();
    for (span, _) in index.var_sites() {
        if span.file == file && !uses.contains(&span) {
            add(span, span, true);
        }
    }
    if let Some(unit) = cx.unit() {
        for item in unit.ast.iter() {
            if let Some(name) = item.name() {
                add(name.span, name.span, true);
            }
            match item {
                chor_syntax::ast::Item::Chor(c) => {
                    for r in &c.roles {
                        add(r.span, r.span, true);
                    }
                }
                chor_syntax::ast::Item::Struct(s) => {
                    for f in &s.fields {
                        add(f.name.span, f.name.span, true);
                    }
                }
                chor_syntax::ast::Item::Enum(e) => {
                    for v in &e.variants {
                        add(v.name.span, v.name.span, true);
                    }
                }
                _ => {}
            }
        }
        let mut labels = Labels(Vec::new());
        for item in unit.ast.iter() {
            walk::item(&mut labels, item);
        }
        for span in labels.0 {
            tokens
                .entry((span.start, span.end))
                .or_insert(SemanticToken {
                    span,
                    kind: TokenKind::Label,
                    role: None,
                    declaration: false,
                });
        }
    }
    // Sorted by position; drop any token overlapping the one before it.
    let mut out: Vec<SemanticToken> = Vec::with_capacity(tokens.len());
    for t in tokens.into_values() {
        if out.last().is_some_and(|p| t.span.start < p.span.end) {
            continue;
        }
        out.push(t);
    }
    out
}

/// The labels of selections.
pub(crate) struct Labels(pub Vec<Span>);

impl Visit for Labels {
    fn chor_stmt(&mut self, s: &ChorStmt) {
        if let ChorStmtKind::Select { label, .. } = &s.kind {
            self.0.push(label.span);
        }
    }
}
