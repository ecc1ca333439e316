//! Document symbols: the items of a file, with struct fields, enum variants and the roles of
//! each choreography as children.

use super::FileCx;
use super::hover::{chor_signature, item_signature};
use crate::Analysis;
use chor_diagnostics::{FileId, Span};
use chor_syntax::ast::Item;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    Import,
    Struct,
    Field,
    Enum,
    Variant,
    Function,
    Choreography,
    Role,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    pub name: String,
    pub kind: SymbolKind,
    pub detail: Option<String>,
    /// The whole item.
    pub span: Span,
    /// The name.
    pub selection: Span,
    pub children: Vec<Symbol>,
}

fn leaf(name: &str, kind: SymbolKind, span: Span, detail: Option<String>) -> Symbol {
    Symbol {
        name: name.to_owned(),
        kind,
        detail,
        span,
        selection: span,
        children: Vec::new(),
    }
}

pub fn document_symbols(db: &dyn Analysis, file: FileId) -> Vec<Symbol> {
    let cx = FileCx::new(db, file);
    let Some(unit) = cx.unit() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in unit.ast.iter() {
        let sym = match item {
            Item::Import(i) => Symbol {
                name: i.path.clone(),
                kind: SymbolKind::Import,
                detail: None,
                span: i.span,
                selection: i.path_span,
                children: Vec::new(),
            },
            Item::Struct(s) => Symbol {
                name: s.name.name.clone(),
                kind: SymbolKind::Struct,
                detail: None,
                span: s.span,
                selection: s.name.span,
                children: s
                    .fields
                    .iter()
                    .map(|f| {
                        let mut ty = String::new();
                        chor_syntax::pretty::ty(&f.ty, &mut ty);
                        leaf(&f.name.name, SymbolKind::Field, f.name.span, Some(ty))
                    })
                    .collect(),
            },
            Item::Enum(e) => Symbol {
                name: e.name.name.clone(),
                kind: SymbolKind::Enum,
                detail: None,
                span: e.span,
                selection: e.name.span,
                children: e
                    .variants
                    .iter()
                    .map(|v| Symbol {
                        selection: v.name.span,
                        ..leaf(&v.name.name, SymbolKind::Variant, v.span, None)
                    })
                    .collect(),
            },
            Item::Fn(f) => Symbol {
                name: f.name.name.clone(),
                kind: SymbolKind::Function,
                detail: item_signature(&cx, f.name.span),
                span: f.span,
                selection: f.name.span,
                children: Vec::new(),
            },
            Item::Chor(c) => Symbol {
                name: c.name.name.clone(),
                kind: SymbolKind::Choreography,
                detail: Some(chor_signature(c)),
                span: c.span,
                selection: c.name.span,
                children: c
                    .roles
                    .iter()
                    .map(|r| {
                        leaf(
                            &r.name,
                            SymbolKind::Role,
                            r.span,
                            Some(format!("role of {}", c.name.name)),
                        )
                    })
                    .collect(),
            },
            Item::Error(_) => continue,
        };
        out.push(sym);
    }
    out
}
