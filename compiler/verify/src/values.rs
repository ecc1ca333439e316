//! Symbolic values: what the explorer needs to establish on its own that the members of a group
//! decide on equal values.
//!
//! A decision of a group (`if (A, B).e`) has no message: every member evaluates `e` by itself
//! and takes its branch, which is safe only when the members' values are equal. `chor check`
//! promises that they are; the explorer does not take its word for it. Every value a role holds
//! is a *term*: a value received is the term its sender sent (one multicast, one term), a
//! parameter is the term of its argument, a result is the term the callee returned, and a pure
//! expression is the term `Op(text, terms of the variables it reads)`, so that two members
//! computing the same expression from equal values hold equal terms. Anything that may differ
//! between two evaluations (an effect: input, clocks, randomness, an extern, or a function not
//! known to be pure) is an *atom*, named after the role and the place in its run where it was
//! made, so no two evaluations share one. Equal terms then mean equal values; different terms
//! mean values that may differ, and a group decision on such values is a finding.
//!
//! Purity is decided here too, from the functions' source: the effectful modules and builtins
//! by name, user functions by walking their bodies (following calls), externs are effects.

use crate::code::Interner;
use chor_syntax::ast::{Block, Expr, ExprKind, Path, Pattern, PatternKind, Stmt};
use std::collections::{HashMap, HashSet};

/// A local function, as `chor verify` needs to know it to decide whether it is pure.
#[derive(Debug, Clone)]
pub enum FnInfo {
    /// A function written in .chor: its parameters and body.
    Body { params: Vec<String>, body: Expr },
    /// A builtin of the prelude (`print`, `to_string`, …), known by name.
    Builtin,
    /// A Rust `extern fn`: an effect, whatever it does.
    Extern,
}

/// What `chor verify` reads of the program besides the local programs: the global local
/// functions by name (the names local code calls them by), and the names of enum variants
/// (a bare name in a pattern that names a variant is that variant, not a binding).
#[derive(Debug, Clone, Default)]
pub struct Functions {
    pub fns: HashMap<String, FnInfo>,
    pub variants: HashSet<String>,
}

/// Standard library modules whose functions have effects (card, section 9).
const EFFECT_MODULES: &[&str] = &["io", "fs", "time", "random", "env"];
/// Prelude builtins with effects.
const EFFECT_BUILTINS: &[&str] = &["print", "read_line"];

/// Decides, once per name, whether a function is pure.
pub(crate) struct Purity<'a> {
    fns: &'a Functions,
    memo: HashMap<String, bool>,
    /// Functions being walked: a recursive call is pure if the rest of the body is.
    active: HashSet<String>,
}

impl<'a> Purity<'a> {
    pub(crate) fn new(fns: &'a Functions) -> Self {
        Purity {
            fns,
            memo: HashMap::new(),
            active: HashSet::new(),
        }
    }

    /// Whether a name that is not a variable denotes something pure.
    fn global(&mut self, p: &Path) -> bool {
        if p.segments.len() >= 2 {
            return !EFFECT_MODULES.contains(&p.segments[0].name.as_str());
        }
        let name = p.last().name.as_str();
        if EFFECT_BUILTINS.contains(&name) {
            return false;
        }
        match self.fns.fns.get(name) {
            Some(FnInfo::Extern) => false,
            Some(FnInfo::Builtin) => true,
            Some(FnInfo::Body { params, body }) => {
                if let Some(&b) = self.memo.get(name) {
                    return b;
                }
                if !self.active.insert(name.to_owned()) {
                    return true;
                }
                let mut refs = Vec::new();
                let mut binders: HashSet<String> = params.iter().cloned().collect();
                walk(body, &self.fns.variants, &mut refs, &mut binders);
                let pure = refs.iter().all(|r| {
                    binders.contains(r.path.last().name.as_str()) && r.path.segments.len() == 1
                        || self.global(r.path)
                });
                self.active.remove(name);
                self.memo.insert(name.to_owned(), pure);
                pure
            }
            // A variant; anything else unknown is treated as an effect, so that nothing
            // unknown is ever taken as agreed.
            None => self.fns.variants.contains(name),
        }
    }
}

/// A name read by an expression.
struct Ref<'e> {
    path: &'e Path,
    callee: bool,
}

/// Every name an expression reads (in order) and every name it binds inside itself.
fn walk<'e>(
    e: &'e Expr,
    variants: &HashSet<String>,
    refs: &mut Vec<Ref<'e>>,
    binders: &mut HashSet<String>,
) {
    match &e.kind {
        ExprKind::Lit(_) | ExprKind::Error | ExprKind::Return(None) => {}
        ExprKind::Path(p) => refs.push(Ref {
            path: p,
            callee: false,
        }),
        ExprKind::Unary(_, x)
        | ExprKind::Field(x, _)
        | ExprKind::TupleIndex(x, _, _)
        | ExprKind::Return(Some(x)) => walk(x, variants, refs, binders),
        ExprKind::Binary(_, a, b) | ExprKind::Located(a, b) => {
            walk(a, variants, refs, binders);
            walk(b, variants, refs, binders);
        }
        ExprKind::Call(f, args) => {
            match &f.kind {
                ExprKind::Path(p) => refs.push(Ref {
                    path: p,
                    callee: true,
                }),
                _ => walk(f, variants, refs, binders),
            }
            for a in args {
                walk(a, variants, refs, binders);
            }
        }
        ExprKind::Tuple(xs) | ExprKind::List(xs) => {
            for x in xs {
                walk(x, variants, refs, binders);
            }
        }
        ExprKind::StructLit { fields, .. } => {
            for f in fields {
                walk(&f.value, variants, refs, binders);
            }
        }
        ExprKind::If { cond, then, els } => {
            walk(cond, variants, refs, binders);
            block(then, variants, refs, binders);
            if let Some(e) = els {
                walk(e, variants, refs, binders);
            }
        }
        ExprKind::Match { scrutinee, arms } => {
            walk(scrutinee, variants, refs, binders);
            for a in arms {
                pattern_names(&a.pat, variants, binders);
                walk(&a.body, variants, refs, binders);
            }
        }
        ExprKind::Block(b) => block(b, variants, refs, binders),
    }
}

fn block<'e>(
    b: &'e Block,
    variants: &HashSet<String>,
    refs: &mut Vec<Ref<'e>>,
    binders: &mut HashSet<String>,
) {
    for s in &b.stmts {
        match s {
            Stmt::Let { pat, value, .. } => {
                pattern_names(pat, variants, binders);
                walk(value, variants, refs, binders);
            }
            Stmt::Expr(e) => walk(e, variants, refs, binders),
            Stmt::Error(_) => {}
        }
    }
    if let Some(t) = &b.tail {
        walk(t, variants, refs, binders);
    }
}

/// The names a pattern binds, in order (a bare name that is a variant binds nothing).
pub(crate) fn pattern_names_vec(p: &Pattern, variants: &HashSet<String>, out: &mut Vec<String>) {
    match &p.kind {
        PatternKind::Ident(i) if variants.contains(&i.name) => {}
        PatternKind::Ident(i) => out.push(i.name.clone()),
        PatternKind::Wild | PatternKind::Lit(_) | PatternKind::Error => {}
        PatternKind::Tuple(ps) | PatternKind::Variant { args: ps, .. } => {
            for q in ps {
                pattern_names_vec(q, variants, out);
            }
        }
        PatternKind::Struct { fields, .. } => {
            for f in fields {
                pattern_names_vec(&f.pat, variants, out);
            }
        }
        PatternKind::List { elems, rest } => {
            for q in elems {
                pattern_names_vec(q, variants, out);
            }
            if let Some(Some(r)) = rest {
                pattern_names_vec(r, variants, out);
            }
        }
    }
}

fn pattern_names(p: &Pattern, variants: &HashSet<String>, out: &mut HashSet<String>) {
    let mut v = Vec::new();
    pattern_names_vec(p, variants, &mut v);
    out.extend(v);
}

/// One name an expression reads, as the explorer evaluates it.
#[derive(Debug, Clone)]
pub(crate) struct VarRef {
    /// The interned name, looked up in the role's environment.
    pub name: u32,
    /// Called as a function: if it is a variable, the function value it holds is not known
    /// to be pure.
    pub callee: bool,
    /// What the name means when it is not a variable of the environment: bound inside the
    /// expression, or a global name known pure.
    pub pure_otherwise: bool,
}

/// An expression prepared for symbolic evaluation.
#[derive(Debug, Clone)]
pub(crate) struct ExprInfo {
    /// The expression's text (interned): with the terms of the variables it reads, it
    /// determines a pure expression's value.
    pub text: u32,
    pub refs: Vec<VarRef>,
    /// The expression is one variable: its value is that variable's term.
    pub bare: bool,
    /// The expression names a pure function (`int::abs`, a pure user function): a variable
    /// holding its value may be called in an agreed expression.
    pub pure_fn: bool,
}

/// A pattern prepared for binding: each name it binds with the text naming its position.
#[derive(Debug, Clone)]
pub(crate) struct PatInfo {
    /// `(name, text id)`: the name is bound to `Op(text, [matched term])`.
    pub parts: Vec<(u32, u32)>,
    /// A single name: bound to the matched term itself.
    pub bare: Option<u32>,
}

pub(crate) fn prepare_expr(
    e: &Expr,
    purity: &mut Purity<'_>,
    names: &mut Interner<String>,
    texts: &mut Interner<String>,
) -> ExprInfo {
    let mut refs = Vec::new();
    let mut binders = HashSet::new();
    walk(e, &purity.fns.variants, &mut refs, &mut binders);
    let refs = refs
        .iter()
        .map(|r| {
            let single = r.path.segments.len() == 1;
            let name = r.path.text();
            let pure_otherwise = single && binders.contains(&name) || purity.global(r.path);
            VarRef {
                name: if single { names.id(name) } else { u32::MAX },
                callee: r.callee,
                pure_otherwise,
            }
        })
        .collect();
    let pure_fn = match &e.kind {
        ExprKind::Path(p) => purity.global(p),
        _ => false,
    };
    ExprInfo {
        text: texts.id(format!("e:{}", chor_syntax::pretty::expr_string(e))),
        refs,
        bare: matches!(&e.kind, ExprKind::Path(p) if p.segments.len() == 1),
        pure_fn,
    }
}

pub(crate) fn prepare_pattern(
    p: &Pattern,
    purity: &Purity<'_>,
    names: &mut Interner<String>,
    texts: &mut Interner<String>,
) -> PatInfo {
    let variants = &purity.fns.variants;
    if let PatternKind::Ident(i) = &p.kind
        && !variants.contains(&i.name)
    {
        return PatInfo {
            parts: Vec::new(),
            bare: Some(names.id(i.name.clone())),
        };
    }
    let mut text = String::new();
    chor_syntax::pretty::pattern(p, &mut text);
    let mut ns = Vec::new();
    pattern_names_vec(p, variants, &mut ns);
    let parts = ns
        .into_iter()
        .enumerate()
        .map(|(j, n)| (names.id(n), texts.id(format!("p{j}:{text}"))))
        .collect();
    PatInfo { parts, bare: None }
}

/// A symbolic value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Term {
    /// Unknown, unique to one evaluation: made by `role` at the call-stack position `ctx`
    /// (interned), `sub` telling apart several values made by one instruction.
    Atom { role: u32, ctx: u32, sub: u32 },
    /// A pure computation: the text of what was computed and the terms it read.
    Op { text: u32, args: Vec<u32> },
}
