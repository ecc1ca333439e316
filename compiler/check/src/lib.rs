//! chor-check: the program model (files, imports, stdlib, item index) and the static checks:
//! name resolution, types, locations of variables at roles, and role discipline.
//!
//! The entry point is [`check_program`]; the rules it implements are described in
//! `docs/types.md`. Knowledge of choice (projectability) is checked by the projection phase.

mod agreed;
mod chor;
pub mod cond;
mod cx;
mod expr;
pub mod externs;
pub mod families;
pub mod ir;
mod items;
pub mod mono;
pub mod msg_types;
mod naming;
mod patterns;
pub mod program;
pub mod reuse;
pub mod stdlib;
pub mod stdlib_doc;
pub mod types;

pub use ir::{Binding, Ir, ItemIr, Res};
pub use msg_types::{CommTypes, comm_types};
pub use program::{ItemRef, Loader, Program, QualName, Unit};
pub use reuse::Reuse;

use chor_diagnostics::{Diagnostic, FileId, Span};
use chor_syntax::ast::Item;
use std::sync::Arc;

/// The result of checking a program.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checked {
    /// Parse and import errors, then every error and warning of the checks; sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// Type (and role) of each variable binding and use, of functions and fields, e.g.
    /// `quote: Quote @ Seller` — for the language server.
    pub hovers: Vec<(Span, Arc<str>)>,
    /// (use site, definition site) for variables (per role), functions, types, fields,
    /// variants, choreographies and roles.
    pub references: Vec<(Span, Span)>,
    /// The resolved, typed program (see [`ir`]): what every name resolves to, the type and
    /// the role of every expression and binding, the roles of every statement.
    pub ir: Ir,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Run every static check of the language except knowledge of choice.
pub fn check_program(p: &Program) -> Checked {
    run(p, true, None).0
}

/// What checking one item reported, kept to check the next version of the program.
#[derive(Debug, Clone, Default)]
struct ItemResult {
    diags: Vec<Diagnostic>,
    hovers: Vec<(Span, Arc<str>)>,
    references: Vec<(Span, Span)>,
    /// The item's resolved table (with the tables only).
    ir: Option<Arc<ItemIr>>,
    /// A message quotes a line number.
    used_lines: bool,
    /// The result depends on the bodies of other items (purity follows calls).
    used_bodies: bool,
}

/// The per-item results of a check, for the next check of the program (see [`Reuse`]).
#[derive(Debug, Clone, Default)]
pub struct CheckCache {
    /// Whether the results include the hover and reference tables.
    tables: bool,
    /// Per unit and item.
    items: Vec<Vec<Option<ItemResult>>>,
}

/// [`check_program`], reusing the results of the program checked before for the items an edit
/// did not touch, given how `p` relates to it ([`Reuse`]): those bodies are not checked again,
/// their old results are moved to the new text. Returns the cache for the next call.
pub fn check_program_reusing(
    p: &Program,
    previous: Option<(&Reuse, &CheckCache)>,
) -> (Checked, CheckCache) {
    run(p, true, previous)
}

/// The diagnostics of [`check_program`] (exactly its `diagnostics`), without the tables of
/// hovers and references, reusing results like [`check_program_reusing`].
pub fn check_diagnostics(
    p: &Program,
    previous: Option<(&Reuse, &CheckCache)>,
) -> (Vec<Diagnostic>, CheckCache) {
    let (diags, _, cache) = check_diagnostics_resolving(p, previous);
    (diags, cache)
}

/// [`check_diagnostics`], with the resolved program the checks publish ([`Checked::ir`]).
pub fn check_diagnostics_resolving(
    p: &Program,
    previous: Option<(&Reuse, &CheckCache)>,
) -> (Vec<Diagnostic>, Ir, CheckCache) {
    let (checked, cache) = run(p, false, previous);
    (checked.diagnostics, checked.ir, cache)
}

fn run(
    p: &Program,
    tables: bool,
    previous: Option<(&Reuse, &CheckCache)>,
) -> (Checked, CheckCache) {
    // A cache without tables cannot give them.
    let previous = previous.filter(|(_, cache)| cache.tables || !tables);
    let line_of = |s: Span| -> Option<usize> {
        let text = p.sources.get(&s.file)?;
        Some(chor_diagnostics::line_col(text, s.start).0)
    };
    let mut cx = cx::Checker::new(p, &line_of);
    cx.tables = tables;
    // The resolved program is recorded in both modes: projection reads its roles when it
    // checks knowledge of choice, which the diagnostics include.
    cx.rec = Some(ir::Recorder::default());
    cx.report_duplicates();
    cx.collect_adts();
    cx.collect_sigs();
    naming::check_items(&mut cx);
    let mut ir = Ir::default();
    let mut cache = CheckCache {
        tables,
        items: Vec::with_capacity(p.units.len()),
    };
    for (u, unit) in p.units.iter().enumerate() {
        let mut results = Vec::with_capacity(unit.ast.items.len());
        for (i, item) in unit.ast.iter().enumerate() {
            if !matches!(item, Item::Fn(_) | Item::Chor(_)) {
                results.push(None);
                continue;
            }
            let r = ItemRef { unit: u, item: i };
            if unit.name == mono::INSTANCES_UNIT {
                // An instance of a generic choreography: checked as the generic was, its
                // table made from the generic's.
                if let Some(t) = p.ir.items.get(&r) {
                    ir.items.insert(r, Arc::clone(t));
                }
                results.push(None);
                continue;
            }
            let reused = previous.and_then(|(reuse, cache)| {
                let old = cache.items.get(u)?.get(i)?.as_ref()?;
                // Line numbers in messages would be stale.
                if !reuse.unchanged(r)
                    || (old.used_lines && reuse.lines_moved())
                    || (old.used_bodies && reuse.any_changed())
                {
                    return None;
                }
                moved(old, reuse, tables)
            });
            let result = match reused {
                Some(result) => {
                    cx.diags.extend(result.diags.iter().cloned());
                    cx.hovers.extend(result.hovers.iter().cloned());
                    cx.refs.extend(result.references.iter().copied());
                    result
                }
                None => {
                    let (diags, hovers, refs) = (cx.diags.len(), cx.hovers.len(), cx.refs.len());
                    cx.used_lines.set(false);
                    cx.used_bodies.set(false);
                    cx.in_stdlib = unit.is_stdlib;
                    match item {
                        Item::Fn(f) => cx.check_fn(u, i, f),
                        Item::Chor(c) => cx.check_chor(u, i, c),
                        _ => {}
                    }
                    ItemResult {
                        diags: cx.diags[diags..].to_vec(),
                        hovers: cx.hovers[hovers..].to_vec(),
                        references: cx.refs[refs..].to_vec(),
                        ir: cx.finish_item().map(Arc::new),
                        used_lines: cx.used_lines.get(),
                        used_bodies: cx.used_bodies.get(),
                    }
                }
            };
            if let Some(item_ir) = &result.ir {
                ir.items.insert(r, Arc::clone(item_ir));
            }
            results.push(Some(result));
        }
        cache.items.push(results);
    }
    let mut diagnostics = p.diagnostics.clone();
    // The standard library is checked too (it must pass on its own, see the tests); what it
    // reports here can only follow from a user item colliding with one of its names, which is
    // already reported at the user's item.
    cx.diags.retain(|d| {
        d.primary_span()
            .is_none_or(|s| stdlib::by_file(s.file).is_none())
    });
    drop_cascades(p, &mut cx.diags);
    // Instantiation can fail only by not ending (polymorphic recursion, E0737); it needs a
    // program free of errors (its IR tells what every call instantiates).
    if !cx.diags.iter().any(Diagnostic::is_error) && !p.diagnostics.iter().any(Diagnostic::is_error)
    {
        let mut mono = p.clone();
        mono.ir = Arc::new(ir.clone());
        cx.diags.extend(mono::monomorphise(&mut mono));
    }
    diagnostics.append(&mut cx.diags);
    sort_diagnostics(&mut diagnostics);
    // The unrolled rounds of a `for` check one statement once per round: a finding that does
    // not depend on the round is reported once (its copies share its span, so they are
    // among the diagnostics sorted next to it).
    let mut unique: Vec<Diagnostic> = Vec::with_capacity(diagnostics.len());
    for d in diagnostics {
        let span = d.primary_span();
        if !unique
            .iter()
            .rev()
            .take_while(|u| u.primary_span() == span)
            .any(|u| *u == d)
        {
            unique.push(d);
        }
    }
    let diagnostics = unique;
    let mut hovers = p.family_hovers.clone();
    hovers.append(&mut cx.hovers);
    let checked = Checked {
        diagnostics,
        hovers,
        references: cx.refs,
        ir,
    };
    (checked, cache)
}

/// After a syntax error, the recovered tree of that item may lack a binding (`let A.x = 1`
/// without `;` loses the `let`), so "cannot find `x`" later in the same item would be a second
/// report of the same mistake: such errors after the first syntax error of an item are dropped (and so are type mismatches, which a
/// partly recovered body makes up).
fn drop_cascades(p: &Program, diags: &mut Vec<Diagnostic>) {
    let syntax: Vec<Span> = p
        .diagnostics
        .iter()
        .filter(|d| d.is_error() && d.code.starts_with("E000"))
        .filter_map(Diagnostic::primary_span)
        .collect();
    if syntax.is_empty() {
        return;
    }
    let items: Vec<Span> = p
        .units
        .iter()
        .flat_map(|u| u.ast.items.iter().map(|i| i.span()))
        .collect();
    let after_syntax_error = |s: Span| {
        items
            .iter()
            .filter(|i| i.file == s.file && i.start <= s.start && s.end <= i.end)
            .any(|i| {
                syntax
                    .iter()
                    .any(|e| e.file == s.file && i.start <= e.start && e.start <= s.start)
            })
    };
    diags.retain(|d| {
        !(matches!(d.code, "E0101" | "E0202" | "E0300")
            && d.primary_span().is_some_and(after_syntax_error))
    });
}

/// An item's old results moved to the new text (`None` if one of their spans touches the
/// edit); with its tables only if `tables`.
fn moved(old: &ItemResult, reuse: &Reuse, tables: bool) -> Option<ItemResult> {
    let diags = old
        .diags
        .iter()
        .map(|d| reuse.diagnostic(d))
        .collect::<Option<Vec<_>>>()?;
    let (hovers, references) = if tables {
        let hovers = old
            .hovers
            .iter()
            .map(|(s, text)| Some((reuse.span(*s)?, text.clone())))
            .collect::<Option<Vec<_>>>()?;
        let references = old
            .references
            .iter()
            .map(|(a, b)| Some((reuse.span(*a)?, reuse.span(*b)?)))
            .collect::<Option<Vec<_>>>()?;
        (hovers, references)
    } else {
        (Vec::new(), Vec::new())
    };
    Some(ItemResult {
        diags,
        hovers,
        references,
        // Ids and item references, no spans: valid as they are.
        ir: old.ir.clone(),
        used_lines: old.used_lines,
        used_bodies: old.used_bodies,
    })
}

/// Sort by file and position (stable: diagnostics at one spot keep their order).
fn sort_diagnostics(ds: &mut [Diagnostic]) {
    ds.sort_by_key(|d| d.primary_span().map(|s| (s.file, s.start, s.end)));
}

/// The entry point of a program that is run or built: a `main` choreography must exist.
pub fn check_entry(p: &Program) -> Option<Diagnostic> {
    if p.chors.contains_key("main") {
        return None;
    }
    let root = p
        .units
        .iter()
        .rev()
        .find(|u| !u.is_stdlib)
        .map_or(FileId(0), |u| u.file);
    Some(
        Diagnostic::error(
            "E0212",
            "this program has no `main` choreography",
            Span::new(root, 0, 0),
            "`main` is missing",
        )
        .with_help("add the entry point, e.g. `choreography main(Alice, Bob) { … }`: every role of `main` becomes a process"),
    )
}
