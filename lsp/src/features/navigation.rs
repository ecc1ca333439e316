//! Go to definition, find references and rename, all from the checker's (use, definition)
//! pairs. Variables are per role (`Buyer.title` and `Seller.title` are different
//! definitions), and imported files are part of the program, so results cross files.

use super::index::{DefKind, Index, target_at};
use super::semantic::Labels;
use super::walk::{self, Visit};
use super::{FileCx, is_identifier, touches};
use crate::Analysis;
use chor_diagnostics::{FileId, Span};
use chor_syntax::ast::{Expr, ExprKind, Pattern, PatternKind};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

/// Where the name at the cursor is defined.
pub fn definition(db: &dyn Analysis, file: FileId, offset: u32) -> Option<Span> {
    let cx = FileCx::new(db, file);
    let index = Index::new(&cx);
    target_at(&cx, &index, offset)
}

/// Every use of the definition at the cursor (and the definition itself when asked), found in
/// the program rooted at `file` and in the programs rooted at `roots` (e.g. other open files
/// that import this one). Sorted, without duplicates.
pub fn references(
    db: &dyn Analysis,
    file: FileId,
    offset: u32,
    include_declaration: bool,
    roots: &[FileId],
) -> Vec<Span> {
    let cx = FileCx::new(db, file);
    let index = Index::new(&cx);
    let Some(def) = target_at(&cx, &index, offset) else {
        return label_references(&cx, offset);
    };
    let mut out = uses_of(db, file, def, roots);
    if include_declaration {
        out.insert(def);
    }
    out.into_iter().collect()
}

/// Selection labels need no declaration: the references of a label are the selections with the
/// same label in the same choreography.
fn label_references(cx: &FileCx<'_>, offset: u32) -> Vec<Span> {
    let Some(unit) = cx.unit() else {
        return Vec::new();
    };
    for item in unit.ast.iter() {
        let mut labels = Labels(Vec::new());
        walk::item(&mut labels, item);
        if let Some(at) = labels.0.iter().find(|s| touches(**s, cx.file, offset)) {
            let name = cx.slice(*at);
            return labels
                .0
                .into_iter()
                .filter(|s| cx.slice(*s) == name)
                .collect();
        }
    }
    Vec::new()
}

fn uses_of(db: &dyn Analysis, file: FileId, def: Span, roots: &[FileId]) -> BTreeSet<Span> {
    let mut out = BTreeSet::new();
    let mut seen = HashSet::new();
    for root in std::iter::once(file).chain(roots.iter().copied()) {
        if !seen.insert(root) {
            continue;
        }
        let checked = db.checked(root);
        out.extend(
            checked
                .references
                .iter()
                .filter(|(_, d)| *d == def)
                .map(|(u, _)| *u),
        );
    }
    out
}

/// The identifier that a rename at the cursor would change, or why it cannot.
pub fn prepare_rename(db: &dyn Analysis, file: FileId, offset: u32) -> Result<Span, String> {
    let cx = FileCx::new(db, file);
    let index = Index::new(&cx);
    let def = target_at(&cx, &index, offset).ok_or("nothing to rename here")?;
    check_renamable(db, def)?;
    let at = cx
        .checked
        .references
        .iter()
        .filter(|(u, d)| *d == def && touches(*u, file, offset))
        .map(|(u, _)| *u)
        .next()
        .unwrap_or(def);
    Ok(at)
}

fn check_renamable(db: &dyn Analysis, def: Span) -> Result<(), String> {
    if db.path(def.file).is_none() {
        return Err("this name is defined in the standard library".to_owned());
    }
    Ok(())
}

/// The edits that rename the definition at the cursor and all its uses to `new_name`.
pub fn rename(
    db: &dyn Analysis,
    file: FileId,
    offset: u32,
    new_name: &str,
    roots: &[FileId],
) -> Result<Vec<(Span, String)>, String> {
    if !is_identifier(new_name) {
        return Err(format!("`{new_name}` is not a valid name"));
    }
    let cx = FileCx::new(db, file);
    let index = Index::new(&cx);
    let def = target_at(&cx, &index, offset).ok_or("nothing to rename here")?;
    check_renamable(db, def)?;
    let kind = index.kind(def);
    let mut spans = uses_of(db, file, def, roots);
    spans.insert(def);
    let shorthands = shorthand_spans(&cx);
    let mut edits: BTreeMap<Span, String> = BTreeMap::new();
    for s in spans {
        let old = db
            .text(s.file)
            .and_then(|t| t.get(s.start as usize..s.end as usize).map(str::to_owned))
            .unwrap_or_default();
        // `Point { x }` and `Quote { title, .. }` name a field and a variable at once.
        let replacement = if shorthands.contains(&s) {
            if kind == DefKind::Field {
                format!("{new_name}: {old}")
            } else {
                format!("{old}: {new_name}")
            }
        } else {
            new_name.to_owned()
        };
        edits.insert(s, replacement);
    }
    if matches!(kind, DefKind::Variable { .. }) {
        check_meaning_kept(&cx, def.file, &edits, new_name)?;
    }
    Ok(edits.into_iter().collect())
}

/// A variable's rename must not change what any name refers to: the new name may already be
/// bound at that role (a use of the renamed variable would then find the other binding, or a
/// use of the other binding would find the renamed one). Checks the renamed file again and
/// compares every (use, definition) pair in it, moved by the edits, with the original ones.
fn check_meaning_kept(
    cx: &FileCx<'_>,
    file: FileId,
    edits: &BTreeMap<Span, String>,
    new_name: &str,
) -> Result<(), String> {
    let Some(text) = cx.db.text(file) else {
        return Ok(());
    };
    let in_file: Vec<(&Span, &String)> = edits.iter().filter(|(s, _)| s.file == file).collect();
    let mut new_text = String::with_capacity(text.len());
    let mut at = 0usize;
    for (s, r) in &in_file {
        new_text.push_str(&text[at..s.start as usize]);
        new_text.push_str(r);
        at = s.end as usize;
    }
    new_text.push_str(&text[at..]);
    // Where an offset of the old text lands in the new one.
    let moved = |o: u32| -> u32 {
        let mut shift: i64 = 0;
        for (s, r) in &in_file {
            if s.end <= o {
                shift += r.len() as i64 - i64::from(s.end - s.start);
            }
        }
        (i64::from(o) + shift) as u32
    };
    let mut program = (*cx.program).clone();
    let Some(unit) = program.units.iter_mut().find(|u| u.file == file) else {
        return Ok(());
    };
    unit.ast = chor_syntax::parse::parse(file, &new_text).file;
    program.sources.insert(file, Arc::from(new_text.as_str()));
    let after = chor_check::check_program(&program);
    let now: HashSet<(u32, u32)> = after
        .references
        .iter()
        .filter(|(u, d)| u.file == file && d.file == file)
        .map(|(u, d)| (u.start, d.start))
        .collect();
    // A shorthand `Quote { title }` becomes `Quote { title: t }`: the variable now starts after
    // the field name, the field where the old name started.
    let places = |o: u32| -> Vec<u32> {
        let mut v = vec![moved(o)];
        if let Some((_, r)) = in_file.iter().find(|(s, _)| s.start == o) {
            v.push(moved(o) + (r.len() - new_name.len().min(r.len())) as u32);
        }
        v
    };
    for (u, d) in cx.checked.references.iter() {
        let kept = places(u.start)
            .iter()
            .any(|pu| places(d.start).iter().any(|pd| now.contains(&(*pu, *pd))));
        if u.file == file && d.file == file && !kept {
            let (line, _) = chor_diagnostics::line_col(&text, u.start);
            let name = text.get(u.start as usize..u.end as usize).unwrap_or("?");
            return Err(format!(
                "`{new_name}` is already bound there: renaming would make `{name}` on line {line} refer to a different variable"
            ));
        }
    }
    let errors = |c: &chor_check::Checked| c.diagnostics.iter().filter(|d| d.is_error()).count();
    if errors(&after) > errors(&cx.checked) {
        let first = after
            .diagnostics
            .iter()
            .find(|d| d.is_error())
            .map_or(String::new(), |d| format!(": {}", d.message));
        return Err(format!(
            "renaming to `{new_name}` would introduce an error{first}"
        ));
    }
    Ok(())
}

/// Spans where a field name doubles as a variable: shorthand struct literals and patterns.
fn shorthand_spans(cx: &FileCx<'_>) -> HashSet<Span> {
    struct S(HashSet<Span>);
    impl Visit for S {
        fn expr(&mut self, e: &Expr) {
            if let ExprKind::StructLit { fields, .. } = &e.kind {
                for f in fields {
                    if f.value.span == f.name.span {
                        self.0.insert(f.name.span);
                    }
                }
            }
        }
        fn pattern(&mut self, p: &Pattern) {
            if let PatternKind::Struct { fields, .. } = &p.kind {
                for f in fields {
                    if f.pat.span == f.name.span {
                        self.0.insert(f.name.span);
                    }
                }
            }
        }
    }
    let mut s = S(HashSet::new());
    for unit in cx.program.units.iter().filter(|u| !u.is_stdlib) {
        for item in unit.ast.iter() {
            walk::item(&mut s, item);
        }
    }
    s.0
}
