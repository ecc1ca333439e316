//! Which results of checking the previous version of a program still hold after an edit.
//!
//! Checking a body (of a function or a choreography) reads the body and, for everything else,
//! only the *headers* of items: names, generics, parameters and result types of functions and
//! choreographies, and whole type definitions. So when every header is unchanged, the result of
//! a body that did not change either is the old result with its spans moved by the edit.
//!
//! An item of the root file counts as unchanged when it covers the same text, in the unchanged
//! text before the edit (same place) or after it (moved by the change in length). That is enough
//! when the old version parsed without errors (the new one may have some): the parser read the
//! same tokens before such an item in both versions (before the edit) or started it afresh at
//! the top level (after it, where a new item starts), and an item that parsed without errors is
//! a function of its own tokens, which its text determines (see `chor_syntax::reparse`). Items
//! of other files are unchanged when they are the same shared tree. Anything else that changed
//! must be a function or choreography whose header is equal (same spans included); its body is
//! checked again.

use crate::program::{ItemRef, Program};
use chor_diagnostics::{Diagnostic, FileId, Span};
use chor_syntax::ast::Item;
use std::sync::Arc;

/// How the items of a program correspond to those of the program checked before it.
pub struct Reuse {
    /// Per unit and item of the new program: the old item at the same place is the same tree,
    /// possibly moved.
    same: Vec<Vec<bool>>,
    /// The edit of the root file's text, if it changed.
    edit: Option<TextEdit>,
}

/// Bytes `prefix..old_end` of the old text became `prefix..old_end + delta` of the new one.
#[derive(Debug, Clone, Copy)]
struct TextEdit {
    file: FileId,
    prefix: u32,
    old_end: u32,
    delta: i64,
    /// The edit added or removed line breaks: lines after it moved.
    lines_moved: bool,
}

impl Reuse {
    /// How `new` relates to `old`; `None` when no result of `old` can be reused (a header, a
    /// type definition or the set of items changed, or `old` has syntax or import errors).
    pub fn new(old: &Program, new: &Program) -> Option<Reuse> {
        // Families expanded at other sizes (the project's `[sizes]` changed) are other
        // programs, whatever their text.
        if !old.diagnostics.is_empty()
            || old.units.len() != new.units.len()
            || old.families != new.families
        {
            return None;
        }
        let mut edit = None;
        let mut same = Vec::with_capacity(new.units.len());
        for (ou, nu) in old.units.iter().zip(&new.units) {
            if ou.file != nu.file
                || ou.module != nu.module
                || ou.is_stdlib != nu.is_stdlib
                || ou.ast.items.len() != nu.ast.items.len()
            {
                return None;
            }
            let texts = old.sources.get(&nu.file).zip(new.sources.get(&nu.file));
            let text_edit = match texts {
                Some((a, b)) if !Arc::ptr_eq(a, b) && a != b => {
                    if edit.is_some() {
                        return None;
                    }
                    let e = TextEdit::between(nu.file, a, b);
                    edit = Some(e);
                    Some(e)
                }
                _ => None,
            };
            let mut flags = Vec::with_capacity(nu.ast.items.len());
            for (o, n) in ou.ast.items.iter().zip(&nu.ast.items) {
                let unchanged = Arc::ptr_eq(o, n)
                    || match (texts, text_edit) {
                        (Some(_), Some(e)) => e.same_text(o.span(), n.span()),
                        // The same text: the same trees at the same places.
                        (Some(_), None) => o.span() == n.span(),
                        (None, _) => false,
                    };
                if !unchanged && !same_header(o, n) {
                    return None;
                }
                flags.push(unchanged);
            }
            same.push(flags);
        }
        Some(Reuse { same, edit })
    }

    /// Whether the item is the same tree as before (moved at most).
    pub fn unchanged(&self, r: ItemRef) -> bool {
        self.same
            .get(r.unit)
            .and_then(|u| u.get(r.item))
            .copied()
            .unwrap_or(false)
    }

    /// Whether any item of the program changed (a result that followed calls into other
    /// items' bodies is then stale).
    pub fn any_changed(&self) -> bool {
        self.same.iter().flatten().any(|same| !same)
    }

    /// Whether line numbers after the edit changed.
    pub fn lines_moved(&self) -> bool {
        self.edit.is_some_and(|e| e.lines_moved)
    }

    /// An old span in the new text; `None` if it touches the edited text.
    pub fn span(&self, s: Span) -> Option<Span> {
        match self.edit {
            Some(e) if e.file == s.file => e.map(s),
            _ => Some(s),
        }
    }

    /// An old diagnostic with its spans moved; `None` if one of them touches the edited text.
    pub fn diagnostic(&self, d: &Diagnostic) -> Option<Diagnostic> {
        let mut d = d.clone();
        for l in &mut d.labels {
            l.span = self.span(l.span)?;
        }
        if let Some(fix) = &mut d.fix {
            fix.span = self.span(fix.span)?;
            for (s, _) in &mut fix.more {
                *s = self.span(*s)?;
            }
        }
        Some(d)
    }
}

impl TextEdit {
    fn between(file: FileId, old: &str, new: &str) -> TextEdit {
        let (a, b) = (old.as_bytes(), new.as_bytes());
        let (prefix, suffix) = chor_syntax::common_ends(a, b);
        let breaks = |t: &[u8]| t.iter().filter(|c| **c == b'\n').count();
        TextEdit {
            file,
            prefix: prefix as u32,
            old_end: (a.len() - suffix) as u32,
            delta: b.len() as i64 - a.len() as i64,
            lines_moved: breaks(&a[prefix..a.len() - suffix])
                != breaks(&b[prefix..b.len() - suffix]),
        }
    }

    /// Where an old span is in the new text, if its text is unchanged. An empty span at an
    /// end of the edit (it could belong on either side) has no answer.
    fn map(&self, s: Span) -> Option<Span> {
        if s.end <= self.prefix && s.start < self.prefix {
            Some(s)
        } else if s.start >= self.old_end && s.end > self.old_end {
            Some(Span {
                file: s.file,
                start: (i64::from(s.start) + self.delta) as u32,
                end: (i64::from(s.end) + self.delta) as u32,
            })
        } else {
            None
        }
    }

    /// Whether the old item at `old` and the new one at `new` cover the same unchanged text.
    fn same_text(&self, old: Span, new: Span) -> bool {
        if old.end <= self.prefix {
            new == old
        } else if old.start >= self.old_end {
            self.map(old) == Some(new)
        } else {
            false
        }
    }
}

/// Whether two items declare the same thing: the same kind, name and signature (spans
/// included), whatever their bodies.
fn same_header(old: &Item, new: &Item) -> bool {
    match (old, new) {
        (Item::Fn(a), Item::Fn(b)) => {
            a.attrs == b.attrs
                && a.name == b.name
                && a.generics == b.generics
                && a.params == b.params
                && a.ret == b.ret
                && a.body.is_some() == b.body.is_some()
        }
        (Item::Chor(a), Item::Chor(b)) => {
            a.name == b.name
                && a.roles == b.roles
                && a.params == b.params
                && a.ret == b.ret
                && a.results == b.results
        }
        _ => false,
    }
}
