//! What each definition is (function, type, role, variable at a role, …) and which definition
//! the cursor is on. Built from the program's syntax trees and the checker's references.

use super::{FileCx, split_hover, touches};
use chor_diagnostics::Span;
use chor_syntax::ast::{ChorDef, Item};
use std::collections::HashMap;

/// The kind of a definition site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefKind {
    Function,
    Struct,
    Enum,
    Choreography,
    Variant,
    Field,
    TypeParam,
    /// A role of a choreography, with its position among the roles.
    Role {
        index: usize,
    },
    /// A variable; in a choreography, the position of the role that holds it.
    Variable {
        role: Option<usize>,
    },
}

/// Definition sites of the whole program and the checker's hovers, by span.
pub struct Index<'a> {
    defs: HashMap<Span, DefKind>,
    hovers: HashMap<Span, &'a str>,
    chors: Vec<&'a ChorDef>,
}

impl<'a> Index<'a> {
    pub fn new(cx: &'a FileCx<'_>) -> Index<'a> {
        let mut defs = HashMap::new();
        let mut chors = Vec::new();
        for unit in &cx.program.units {
            for item in unit.ast.iter() {
                match item {
                    Item::Fn(f) => {
                        defs.insert(f.name.span, DefKind::Function);
                        for g in &f.generics {
                            defs.insert(g.span, DefKind::TypeParam);
                        }
                    }
                    Item::Struct(s) => {
                        defs.insert(s.name.span, DefKind::Struct);
                        for g in &s.generics {
                            defs.insert(g.span, DefKind::TypeParam);
                        }
                        for f in &s.fields {
                            defs.insert(f.name.span, DefKind::Field);
                        }
                    }
                    Item::Enum(e) => {
                        defs.insert(e.name.span, DefKind::Enum);
                        for g in &e.generics {
                            defs.insert(g.span, DefKind::TypeParam);
                        }
                        for v in &e.variants {
                            defs.insert(v.name.span, DefKind::Variant);
                        }
                    }
                    Item::Chor(c) => {
                        defs.insert(c.name.span, DefKind::Choreography);
                        for (index, r) in c.roles.iter().enumerate() {
                            defs.insert(r.span, DefKind::Role { index });
                        }
                        for g in &c.generics {
                            defs.insert(g.span, DefKind::TypeParam);
                        }
                        // A choreography-typed parameter is renamed like a choreography.
                        for p in c.params.iter().filter(|p| p.chor.is_some()) {
                            defs.insert(p.name.span, DefKind::Choreography);
                        }
                        chors.push(c);
                    }
                    Item::Import(_) | Item::Error(_) => {}
                }
            }
        }
        let mut hovers = HashMap::new();
        for (span, text) in &cx.checked.hovers {
            hovers.entry(*span).or_insert(&**text);
        }
        Index {
            defs,
            hovers,
            chors,
        }
    }

    /// The kind of the definition at `def`: an item-level name, else a variable.
    pub fn kind(&self, def: Span) -> DefKind {
        if let Some(k) = self.defs.get(&def) {
            return k.clone();
        }
        let role = self
            .hovers
            .get(&def)
            .and_then(|h| split_hover(h))
            .and_then(|(_, role)| role)
            .and_then(|role| {
                let chor = self.chor_at(def)?;
                chor.roles.iter().position(|r| r.name == role)
            });
        DefKind::Variable { role }
    }

    /// Whether `span` is an item-level definition (not a variable).
    pub fn is_item_def(&self, span: Span) -> bool {
        self.defs.contains_key(&span)
    }

    /// The checker's hover text at exactly this span.
    pub fn hover_at(&self, span: Span) -> Option<&'a str> {
        self.hovers.get(&span).copied()
    }

    /// The choreography whose text contains `span`.
    pub fn chor_at(&self, span: Span) -> Option<&'a ChorDef> {
        self.chors
            .iter()
            .copied()
            .filter(|c| c.span.file == span.file && c.span.start <= span.start)
            .find(|c| span.end <= c.span.end)
    }
}

/// The definition the cursor is on: through a use site, or a definition site itself.
pub fn target_at(cx: &FileCx<'_>, index: &Index<'_>, offset: u32) -> Option<Span> {
    let smallest = |spans: &mut dyn Iterator<Item = (Span, Span)>| {
        spans
            .filter(|(s, _)| touches(*s, cx.file, offset))
            .min_by_key(|(s, _)| (s.end - s.start, s.start))
            .map(|(_, d)| d)
    };
    if let Some(def) = smallest(&mut cx.checked.references.iter().copied()) {
        return Some(def);
    }
    // On a definition: an item name, a role, a field, or a variable binding (which has a hover).
    let mut sites = cx
        .checked
        .references
        .iter()
        .map(|(_, d)| (*d, *d))
        .chain(index.defs.keys().map(|s| (*s, *s)))
        .chain(
            cx.checked
                .hovers
                .iter()
                .filter(|(_, h)| !h.starts_with("fn ") && split_hover(h).is_some())
                .map(|(s, _)| (*s, *s)),
        );
    smallest(&mut sites)
}
