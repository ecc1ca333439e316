//! The language features as pure functions over the compiler's queries:
//! `(db, file, byte offset) -> plain data`. Nothing here knows the LSP protocol; `server.rs`
//! converts positions and results. Tests call these functions directly.
//!
//! Every feature reads one program, the one rooted at the file the editor asks about: its
//! syntax tree (from the assembled program), the checker's hovers and references, and the
//! diagnostics of `chor check`.

mod actions;
mod completion;
mod diagnostics;
mod hover;
mod index;
mod inlay;
mod lens;
mod navigation;
mod semantic;
mod symbols;
mod walk;

pub use actions::{QuickFix, quick_fixes};
pub use completion::{Completion, CompletionKind, completions};
pub use diagnostics::diagnostics;
pub use hover::{HoverInfo, hover};
pub use index::{DefKind, Index};
pub use inlay::{InlayHint, inlay_hints};
pub use lens::{Lens, lenses, projection};
pub use navigation::{definition, prepare_rename, references, rename};
pub use semantic::{ROLE_MODIFIERS, SemanticToken, TokenKind, semantic_tokens};
pub use symbols::{Symbol, SymbolKind, document_symbols};

use crate::Analysis;
use chor_check::{Checked, Program, Unit};
use chor_diagnostics::{FileId, Span};
use std::sync::Arc;

/// Everything a feature needs about one file, computed once per request.
pub struct FileCx<'a> {
    pub db: &'a dyn Analysis,
    pub file: FileId,
    pub program: Arc<Program>,
    pub checked: Arc<Checked>,
    pub text: Arc<str>,
}

impl<'a> FileCx<'a> {
    pub fn new(db: &'a dyn Analysis, file: FileId) -> FileCx<'a> {
        FileCx {
            db,
            file,
            program: db.program(file),
            checked: db.checked(file),
            text: db.text(file).unwrap_or_else(|| Arc::from("")),
        }
    }

    /// This file's syntax tree inside the program.
    pub fn unit(&self) -> Option<&Unit> {
        self.program.units.iter().find(|u| u.file == self.file)
    }

    /// The source text of a span of this file.
    pub fn slice(&self, span: Span) -> &str {
        self.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }
}

/// `start <= offset <= end`: a cursor right after an identifier still touches it.
pub(crate) fn touches(span: Span, file: FileId, offset: u32) -> bool {
    span.file == file && span.start <= offset && offset <= span.end
}

/// Is `s` a valid identifier that is not a keyword?
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&s)
}

pub(crate) const KEYWORDS: &[&str] = &[
    "choreography",
    "fn",
    "struct",
    "enum",
    "let",
    "if",
    "else",
    "match",
    "return",
    "import",
    "true",
    "false",
];
