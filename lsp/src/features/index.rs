//! What each definition is (function, type, role, variable at a role, …) and which definition
//! the cursor is on. Built from the program's syntax trees, the checker's references and its
//! resolved program (the type and role of every variable binding).

use super::walk::{self, Visit};
use super::{FileCx, touches};
use chor_check::ir::{ItemIr, Type};
use chor_check::{Checked, ItemRef, Program};
use chor_diagnostics::Span;
use chor_syntax::ast::{ChorDef, ChorStmt, ChorStmtKind, Item, Pattern, PatternKind};
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

/// A variable's definition (a parameter, a pattern's name, a receiver) as the checker
/// resolved it.
#[derive(Debug, Clone, PartialEq)]
pub struct VarDef {
    /// Its type as inference found it (`Type::Unknown` after an error).
    pub ty: Type,
    /// The index of the role that holds it among its choreography's roles; `None` in a
    /// function and for a value several roles hold (an agreed value).
    pub role: Option<u32>,
}

/// Definition sites of the whole program, by span.
pub struct Index<'a> {
    defs: HashMap<Span, DefKind>,
    vars: HashMap<Span, VarDef>,
    chors: Vec<&'a ChorDef>,
}

impl<'a> Index<'a> {
    pub fn new(cx: &'a FileCx<'_>) -> Index<'a> {
        let mut defs = HashMap::new();
        let mut chors = Vec::new();
        let mut vars = HashMap::new();
        for (u, unit) in cx.program.units.iter().enumerate() {
            for (i, item) in unit.ast.iter().enumerate() {
                variables(&cx.checked, ItemRef { unit: u, item: i }, item, &mut vars);
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
        // A family (`Ws[]`) and the member of a round (`for w in Ws`) are gone from the
        // expanded choreography; the expansion's hovers keep where they were declared. Each is
        // a name the cursor can be on, held by no single role.
        for (span, _) in &cx.program.family_hovers {
            if is_name(&cx.program, *span) {
                vars.entry(*span).or_insert(VarDef {
                    ty: Type::Unknown,
                    role: None,
                });
            }
        }
        Index { defs, vars, chors }
    }

    /// The kind of the definition at `def`: an item-level name, else a variable.
    pub fn kind(&self, def: Span) -> DefKind {
        if let Some(k) = self.defs.get(&def) {
            return k.clone();
        }
        let role = self.vars.get(&def).and_then(|v| v.role).map(|r| r as usize);
        DefKind::Variable { role }
    }

    /// Whether `span` is an item-level definition (not a variable).
    pub fn is_item_def(&self, span: Span) -> bool {
        self.defs.contains_key(&span)
    }

    /// The variable defined at exactly this span.
    pub fn var(&self, span: Span) -> Option<&VarDef> {
        self.vars.get(&span)
    }

    /// Every variable definition site.
    pub fn var_sites(&self) -> impl Iterator<Item = (Span, &VarDef)> {
        self.vars.iter().map(|(s, v)| (*s, v))
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
    // On a definition: an item name, a role, a field, or a variable binding.
    let mut sites = cx
        .checked
        .references
        .iter()
        .map(|(_, d)| (*d, *d))
        .chain(index.defs.keys().map(|s| (*s, *s)))
        .chain(index.vars.keys().map(|s| (*s, *s)));
    smallest(&mut sites)
}

/// Whether `span` is a plain name in its source (not an expression such as `size(Ws)`).
fn is_name(p: &Program, span: Span) -> bool {
    p.sources
        .get(&span.file)
        .and_then(|t| t.get(span.start as usize..span.end as usize))
        .is_some_and(super::is_identifier)
}

/// The variable definitions of one item, with their types and roles from the resolved program.
fn variables(checked: &Checked, r: ItemRef, item: &Item, out: &mut HashMap<Span, VarDef>) {
    let Some(ir) = checked.ir.items.get(&r) else {
        return;
    };
    let param = |k: usize| VarDef {
        ty: ir.params.get(k).cloned().unwrap_or_default(),
        role: match ir.param_roles.get(k).map(Vec::as_slice) {
            Some([r]) => Some(*r),
            _ => None,
        },
    };
    match item {
        Item::Fn(f) => {
            for (k, p) in f.params.iter().enumerate() {
                out.entry(p.name.span).or_insert(param(k));
            }
        }
        Item::Chor(c) => {
            for (k, p) in c.params.iter().enumerate() {
                if p.chor.is_none() {
                    out.entry(p.name.span).or_insert(param(k));
                }
            }
        }
        Item::Import(_) | Item::Struct(_) | Item::Enum(_) | Item::Error(_) => return,
    }
    walk::item(&mut Bindings { ir, out }, item);
}

/// Collects the names patterns bind and the receivers of communications.
struct Bindings<'a, 'b> {
    ir: &'a ItemIr,
    out: &'b mut HashMap<Span, VarDef>,
}

impl Bindings<'_, '_> {
    /// The first binding at a span is the variable's: the expansion of families binds one
    /// name several times at the span the source wrote it (once per member, or per round).
    fn add(&mut self, name: &str, span: Span, id: chor_syntax::ast::NodeId) {
        if chor_check::families::is_gather_part(name) {
            return;
        }
        let n = self.ir.node(id);
        self.out.entry(span).or_insert(VarDef {
            ty: n.ty.clone(),
            // A value several roles hold has no one role's colour.
            role: n.role.filter(|_| n.roles.len() <= 1),
        });
    }
}

impl Visit for Bindings<'_, '_> {
    fn chor_stmt(&mut self, s: &ChorStmt) {
        if let ChorStmtKind::Comm { to, .. } = &s.kind {
            for rc in to {
                self.add(&rc.var.name, rc.var.span, rc.id);
            }
        }
    }
    fn pattern(&mut self, p: &Pattern) {
        // A bare name that the checker resolved to a variant is not a binding.
        if let PatternKind::Ident(name) = &p.kind
            && self.ir.binds(p)
        {
            self.add(&name.name, name.span, p.id);
        }
    }
}
