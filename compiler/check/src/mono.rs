//! Monomorphisation: after the checks, every generic or higher-order choreography that the
//! program reaches is copied once per instantiation (its type arguments and the
//! choreographies passed to it), so that projection, the interpreters, native code and
//! `chor verify` see only first-order, monomorphic procedures.
//!
//! The checks hold for every instantiation (a generic body is checked with its type
//! parameters rigid, a call of a choreography-typed parameter against the parameter's
//! signature), so an instance needs no new check: its table in the IR is the generic's with
//! the type parameters substituted. An instance is named after what it was instantiated
//! with, `Relay<Int>`, `Twice[Double]`, `Map<String>[Relay<String>]`; that name shows in
//! traces, `chor project` and run-time errors.
//!
//! Instances live in one extra unit at the end of the program (their spans are the generic's,
//! so diagnostics point at its source). A call that would need infinitely many instances
//! (polymorphic recursion: `F<T>` calling `F<List<T>>`) is an error (E0737).

use crate::ir::{ItemIr, Res, Type};
use crate::program::{ItemRef, Program, Unit};
use chor_diagnostics::Diagnostic;
use chor_syntax::ast::*;
use std::collections::HashMap;
use std::sync::Arc;

/// Instantiations nested deeper than this (in type depth or choreography arguments) are
/// taken for polymorphic recursion.
const MAX_DEPTH: usize = 24;

/// More instances than this are taken for polymorphic recursion too.
const MAX_INSTANCES: usize = 2_000;

/// One instance: a choreography, its type arguments and the choreographies passed for its
/// choreography-typed parameters (in their order).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    item: ItemRef,
    targs: Vec<Type>,
    cargs: Vec<Key>,
}

/// What a body is instantiated with: the types of its type parameters (by name) and the
/// choreographies of its choreography-typed parameters (by parameter index).
#[derive(Default)]
struct Env {
    types: Vec<(Arc<str>, Type)>,
    chors: HashMap<u32, Key>,
}

/// The name of the unit that holds the instances.
pub const INSTANCES_UNIT: &str = "<instances>";

/// The communications of a block (the statement's span and the id of the sent expression).
pub fn comms(b: &ChorBlock, out: &mut Vec<(Span, NodeId)>) {
    for s in &b.stmts {
        match &s.kind {
            ChorStmtKind::Comm { expr, .. } => out.push((s.span, expr.id)),
            ChorStmtKind::If { then, els, .. } => {
                comms(then, out);
                if let Some(e) = els {
                    comms(e, out);
                }
            }
            ChorStmtKind::Match { arms, .. } => {
                for a in arms {
                    comms(&a.body, out);
                }
            }
            _ => {}
        }
    }
}

/// Whether a choreography must be instantiated before it is projected.
pub fn is_template(c: &ChorDef) -> bool {
    !c.generics.is_empty() || c.is_higher_order()
}

/// The name of an instance as diagnostics, traces and projections show it.
fn key_name(p: &Program, k: &Key) -> String {
    let mut s = p
        .chor_def(k.item)
        .map_or_else(|| "?".to_owned(), |c| c.name.name.clone());
    if !k.targs.is_empty() {
        let ts: Vec<String> = k.targs.iter().map(|t| type_name(p, t)).collect();
        s.push_str(&format!("<{}>", ts.join(", ")));
    }
    if !k.cargs.is_empty() {
        let cs: Vec<String> = k.cargs.iter().map(|c| key_name(p, c)).collect();
        s.push_str(&format!("[{}]", cs.join(", ")));
    }
    s
}

/// A type as the source writes it, module-qualified (`_` for a part the program leaves open):
/// the spelling of instance names.
pub fn type_name(p: &Program, t: &Type) -> String {
    crate::ir::type_text(p, t, crate::ir::Spelling::Qualified)
}

fn depth(t: &Type) -> usize {
    match t {
        Type::Tuple(ts) | Type::Adt(_, ts) => 1 + ts.iter().map(depth).max().unwrap_or(0),
        Type::List(t) => 1 + depth(t),
        Type::Map(k, v) => 1 + depth(k).max(depth(v)),
        Type::Fn(ps, r) => 1 + ps.iter().map(depth).max().unwrap_or(0).max(depth(r)),
        _ => 0,
    }
}

fn key_depth(k: &Key) -> usize {
    let t = k.targs.iter().map(depth).max().unwrap_or(0);
    let c = k.cargs.iter().map(|c| 1 + key_depth(c)).max().unwrap_or(0);
    t.max(c)
}

/// `t` with the type parameters of `env` replaced.
fn subst(t: &Type, env: &[(Arc<str>, Type)]) -> Type {
    if env.is_empty() {
        return t.clone();
    }
    let all = |ts: &[Type]| -> Arc<[Type]> { ts.iter().map(|t| subst(t, env)).collect() };
    match t {
        Type::Param(n) => env
            .iter()
            .find(|(m, _)| m == n)
            .map_or_else(|| t.clone(), |(_, t)| t.clone()),
        Type::Tuple(ts) => Type::Tuple(all(ts)),
        Type::List(e) => Type::List(Arc::new(subst(e, env))),
        Type::Map(k, v) => Type::Map(Arc::new(subst(k, env)), Arc::new(subst(v, env))),
        Type::Adt(r, ts) => Type::Adt(*r, all(ts)),
        Type::Fn(ps, r) => Type::Fn(all(ps), Arc::new(subst(r, env))),
        _ => t.clone(),
    }
}

/// The choreography-typed parameters of `c`, by parameter index, in order.
fn chor_params(c: &ChorDef) -> Vec<u32> {
    c.params
        .iter()
        .enumerate()
        .filter(|(_, p)| p.chor.is_some())
        .map(|(k, _)| k as u32)
        .collect()
}

/// The name a call would have in the instantiated program, as the projection of a template
/// names its callee (so that knowledge of choice tells apart calls of different instances).
/// `ir` is the table of the choreography that holds the call.
pub fn callee_name(p: &Program, ir: &ItemIr, stmt: NodeId, call: &ChorCall) -> String {
    let node = ir.node(stmt);
    let mut s = call.callee.name.clone();
    if !node.targs.is_empty() {
        let ts: Vec<String> = node.targs.iter().map(|t| type_name(p, t)).collect();
        s.push_str(&format!("<{}>", ts.join(", ")));
    }
    let cs: Vec<String> = call
        .args
        .iter()
        .filter(|a| a.chor)
        .map(|a| {
            let targs = &ir.node(a.expr.id).targs;
            if targs.is_empty() {
                a.role.name.clone()
            } else {
                let ts: Vec<String> = targs.iter().map(|t| type_name(p, t)).collect();
                format!("{}<{}>", a.role.name, ts.join(", "))
            }
        })
        .collect();
    if !cs.is_empty() {
        s.push_str(&format!("[{}]", cs.join(", ")));
    }
    s
}

struct Mono<'a> {
    p: &'a Program,
    /// Instances by key: their name, and the item they will be (in the instance unit).
    done: HashMap<Key, (String, usize)>,
    todo: Vec<Key>,
    items: Vec<Arc<Item>>,
    irs: Vec<Arc<ItemIr>>,
    diags: Vec<Diagnostic>,
}

impl Mono<'_> {
    /// The key of the choreography a callee or argument node names in a body instantiated
    /// with `env` (None if it is first-order and monomorphic: it stays as it is).
    fn key_of(&mut self, ir: &ItemIr, id: NodeId, args: &[&LocatedExpr], env: &Env) -> Option<Key> {
        let node = ir.node(id);
        match node.res {
            Res::ChorParam(k) => env.chors.get(&k).cloned(),
            Res::Chor(r) => {
                let targs: Vec<Type> = node.targs.iter().map(|t| subst(t, &env.types)).collect();
                // A choreography argument has no arguments of its own.
                let cargs: Vec<Key> = args
                    .iter()
                    .filter_map(|a| self.key_of(ir, a.expr.id, &[], env))
                    .collect();
                Some(Key {
                    item: r,
                    targs,
                    cargs,
                })
            }
            _ => None,
        }
    }

    /// The name of the instance `k`, queued for building if it is new (`None` if `k` is a
    /// plain choreography).
    fn instance(&mut self, k: Key, at: Span) -> Option<String> {
        if k.targs.is_empty() && k.cargs.is_empty() {
            return None;
        }
        if let Some((n, _)) = self.done.get(&k) {
            return Some(n.clone());
        }
        let name = key_name(self.p, &k);
        if key_depth(&k) > MAX_DEPTH || self.done.len() >= MAX_INSTANCES {
            if self.diags.is_empty() {
                let base = self
                    .p
                    .chor_def(k.item)
                    .map_or_else(String::new, |c| c.name.name.clone());
                self.diags.push(
                    Diagnostic::error(
                        "E0737",
                        format!("`{base}` would need infinitely many instances"),
                        at,
                        "each pass through this call instantiates it anew",
                    )
                    .with_note(format!(
                        "a generic or higher-order choreography is copied once per instantiation; \
                         this call makes ever larger ones (`{}`…)",
                        name.chars().take(80).collect::<String>()
                    ))
                    .with_help("call it recursively with the same type and choreography arguments"),
                );
            }
            return Some(name);
        }
        let slot = self.done.len();
        self.done.insert(k.clone(), (name.clone(), slot));
        self.todo.push(k);
        Some(name)
    }

    /// A copy of `c`'s body with its calls renamed to their instances and choreography
    /// arguments dropped.
    fn rewrite_block(&mut self, b: &mut ChorBlock, ir: &ItemIr, env: &Env) {
        for s in &mut b.stmts {
            match &mut s.kind {
                ChorStmtKind::Call { call, .. } | ChorStmtKind::CallMany { call, .. } => {
                    let args: Vec<&LocatedExpr> = call.args.iter().filter(|a| a.chor).collect();
                    if let Some(k) = self.key_of(ir, s.id, &args, env) {
                        let base = self
                            .p
                            .chor_def(k.item)
                            .map(|c| c.name.name.clone())
                            .unwrap_or_default();
                        let name = self.instance(k, call.callee.span).unwrap_or(base);
                        call.callee.name = name;
                    }
                    call.args.retain(|a| !a.chor);
                }
                ChorStmtKind::If { then, els, .. } => {
                    self.rewrite_block(then, ir, env);
                    if let Some(e) = els {
                        self.rewrite_block(e, ir, env);
                    }
                }
                ChorStmtKind::Match { arms, .. } => {
                    for a in arms {
                        self.rewrite_block(&mut a.body, ir, env);
                    }
                }
                _ => {}
            }
        }
    }

    /// Builds the instance `k`.
    fn build(&mut self, k: &Key) {
        let Some(c) = self.p.chor_def(k.item) else {
            return;
        };
        let (name, _) = self.done.get(k).cloned().unwrap_or_default();
        let ir = self.p.ir.item(k.item).clone();
        let env = Env {
            types: c
                .generics
                .iter()
                .map(|g| Arc::from(g.name.as_str()))
                .zip(k.targs.iter().cloned())
                .collect(),
            chors: chor_params(c)
                .into_iter()
                .zip(k.cargs.iter().cloned())
                .collect(),
        };
        let mut def = c.clone();
        def.name.name = name;
        def.generics.clear();
        self.rewrite_block(&mut def.body, &ir, &env);
        // Value parameters keep their order; `Res::Param` indices move past the dropped
        // choreography-typed ones.
        let mut remap = HashMap::new();
        let mut kept = 0u32;
        for (i, prm) in def.params.iter().enumerate() {
            if prm.chor.is_none() {
                remap.insert(i as u32, kept);
                kept += 1;
            }
        }
        def.params.retain(|q| q.chor.is_none());
        for prm in &mut def.params {
            subst_ast(&mut prm.ty, self.p, &env.types);
        }
        if let Some((t, _)) = &mut def.ret {
            subst_ast(t, self.p, &env.types);
        }
        let mut out = ir.clone();
        out.params = ir
            .params
            .iter()
            .enumerate()
            .filter(|(i, _)| remap.contains_key(&(*i as u32)))
            .map(|(_, t)| subst(t, &env.types))
            .collect();
        out.param_roles = (ir.param_roles.iter().enumerate())
            .filter(|(i, _)| remap.contains_key(&(*i as u32)))
            .map(|(_, r)| r.clone())
            .collect();
        for n in &mut out.nodes {
            n.ty = subst(&n.ty, &env.types);
            n.targs.clear();
            match n.res {
                Res::Param(i) => {
                    if let Some(j) = remap.get(&i) {
                        n.res = Res::Param(*j);
                    }
                }
                Res::ChorParam(_) | Res::Chor(_) => n.res = Res::None,
                _ => {}
            }
        }
        self.items.push(Arc::new(Item::Chor(def)));
        self.irs.push(Arc::new(out));
    }
}

/// A type parameter in a type written in the source, replaced by its instance (so that the
/// instance reads as first-order code in `chor project` and wherever its AST is shown).
fn subst_ast(t: &mut chor_syntax::ast::Type, p: &Program, env: &[(Arc<str>, Type)]) {
    match t {
        chor_syntax::ast::Type::Named { name, args, span } => {
            if name.is_single()
                && args.is_empty()
                && let Some((_, ty)) = env.iter().find(|(g, _)| **g == *name.last().name)
            {
                let text = type_name(p, ty);
                *name = Path {
                    segments: vec![Ident {
                        name: text,
                        span: *span,
                    }],
                    span: *span,
                };
                return;
            }
            for a in args {
                subst_ast(a, p, env);
            }
        }
        chor_syntax::ast::Type::Tuple { elems, .. } => {
            for e in elems {
                subst_ast(e, p, env);
            }
        }
        chor_syntax::ast::Type::Fn { params, ret, .. } => {
            for e in params {
                subst_ast(e, p, env);
            }
            subst_ast(ret, p, env);
        }
        chor_syntax::ast::Type::Error(_) => {}
    }
}

/// Instantiate the generic and higher-order choreographies `p` reaches (it must be resolved:
/// the IR says what every call instantiates). Calls in the other choreographies are renamed
/// to their instances. Returns E0737 when the instances would not end.
pub fn monomorphise(p: &mut Program) -> Vec<Diagnostic> {
    if !p
        .chors
        .values()
        .filter_map(|r| p.chor_def(*r))
        .any(is_template)
    {
        return Vec::new();
    }
    let snapshot = p.clone();
    let mut m = Mono {
        p: &snapshot,
        done: HashMap::new(),
        todo: Vec::new(),
        items: Vec::new(),
        irs: Vec::new(),
        diags: Vec::new(),
    };
    // The first-order, monomorphic choreographies: their calls are renamed in place.
    let mut roots: Vec<(ItemRef, ChorDef)> = Vec::new();
    for (u, unit) in snapshot.units.iter().enumerate() {
        for (i, item) in unit.ast.iter().enumerate() {
            if let Item::Chor(c) = item
                && !is_template(c)
            {
                let r = ItemRef { unit: u, item: i };
                let ir = snapshot.ir.item(r);
                let mut def = c.clone();
                m.rewrite_block(&mut def.body, ir, &Env::default());
                if def != *c {
                    roots.push((r, def));
                }
            }
        }
    }
    // Built in the order they were queued, so that the j-th built is the j-th slot.
    let mut next = 0;
    while next < m.todo.len() && m.diags.is_empty() {
        let k = m.todo[next].clone();
        m.build(&k);
        next += 1;
    }
    let Mono {
        items, irs, diags, ..
    } = m;
    if !diags.is_empty() {
        return diags;
    }
    for (r, def) in roots {
        if let Some(unit) = p.units.get_mut(r.unit) {
            Arc::make_mut(&mut unit.ast).items[r.item] = Arc::new(Item::Chor(def));
        }
    }
    let file = p.units.first().map(|u| u.file).unwrap_or_default();
    let unit_index = p.units.len();
    let ir = Arc::make_mut(&mut p.ir);
    let mut by_name: HashMap<String, ItemRef> = HashMap::new();
    let mut unit_items = Vec::new();
    for (j, (item, tab)) in items.into_iter().zip(irs).enumerate() {
        let r = ItemRef {
            unit: unit_index,
            item: j,
        };
        if let Item::Chor(c) = &*item {
            by_name.insert(c.name.name.clone(), r);
        }
        ir.items.insert(r, tab);
        unit_items.push(item);
    }
    p.chors.extend(by_name);
    p.units.push(Unit {
        file,
        name: INSTANCES_UNIT.to_owned(),
        module: None,
        ast: Arc::new(File { items: unit_items }),
        is_stdlib: false,
    });
    Vec::new()
}
