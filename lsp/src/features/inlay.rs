//! Inlay hints: the inferred type after each `let` binding written without an annotation,
//! and after each receiver of a communication (`Buyer.title -> Seller.title: String`).
//! The types are those of the checker's resolved program at the binding sites, written as
//! its hovers write them.

use super::FileCx;
use super::index::Index;
use super::walk::{self, Visit};
use crate::Analysis;
use chor_check::ir::{Spelling, type_text};
use chor_diagnostics::{FileId, Span};
use chor_syntax::ast::{ChorStmt, ChorStmtKind, Ident, Stmt};

/// A hint shown at `offset` (the end of a binding): `label` is `: Type`.
#[derive(Debug, Clone, PartialEq)]
pub struct InlayHint {
    pub offset: u32,
    pub label: String,
}

pub fn inlay_hints(db: &dyn Analysis, file: FileId) -> Vec<InlayHint> {
    let cx = FileCx::new(db, file);
    let index = Index::new(&cx);
    let Some(unit) = cx.unit() else {
        return Vec::new();
    };
    let mut sites = Sites(Vec::new());
    for item in unit.ast.iter() {
        walk::item(&mut sites, item);
    }
    let mut out: Vec<InlayHint> = sites
        .0
        .into_iter()
        .filter(|s| s.file == file)
        .filter_map(|s| {
            let ty = &index.var(s)?.ty;
            // An unknown type helps nobody (the checker reports the error, or a later use
            // decides it).
            if ty.has_unknown() {
                return None;
            }
            Some(InlayHint {
                offset: s.end,
                label: format!(": {}", type_text(&cx.program, ty, Spelling::Plain)),
            })
        })
        .collect();
    out.sort_by_key(|h| h.offset);
    out.dedup();
    out
}

/// Binding sites without a written type.
struct Sites(Vec<Span>);

impl Sites {
    fn idents(&mut self, ids: Vec<&Ident>) {
        self.0.extend(ids.into_iter().map(|i| i.span));
    }
}

impl Visit for Sites {
    fn chor_stmt(&mut self, s: &ChorStmt) {
        match &s.kind {
            ChorStmtKind::Let { pat, ty: None, .. } => self.idents(walk::bindings(pat)),
            ChorStmtKind::Call {
                bind: Some((_, pat, None)),
                ..
            } => self.idents(walk::bindings(pat)),
            ChorStmtKind::Comm { to, .. } => {
                self.0.extend(to.iter().map(|r| r.var.span));
            }
            _ => {}
        }
    }
    fn stmt(&mut self, s: &Stmt) {
        if let Stmt::Let { pat, ty: None, .. } = s {
            self.idents(walk::bindings(pat));
        }
    }
}
