//! The static type of every communication `R.e -> S.x`, as a descriptor the runtime checks
//! received values against (the typed receive, docs/native.md).
//!
//! [`comm_types`] checks the choreographies once more with a recorder on: the comm rule notes
//! the type of each communicated expression, and once the body's inference is complete the
//! type is resolved and entered into one [`TypeTable`] for the whole program. Choreographies
//! are not generic, so every comm has exactly one type; a part the program leaves open (the
//! element type of a list that is always empty) becomes [`TyNode::Any`].

use crate::cx::{AdtKind, Checker};
use crate::program::Program;
use crate::types::{Ty, TyCon};
use chor_diagnostics::Span;
pub use chor_runtime::types::{TyId, TyNode, TypeTable};
use chor_syntax::ast::{ChorDef, Item};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// The message type of every comm of a program, by the span of its statement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommTypes {
    pub table: Arc<TypeTable>,
    pub at: HashMap<Span, TyId>,
    /// The comms of instances of generic choreographies ([`crate::mono`]), by instance name
    /// and span: instances share the spans of their generic choreography.
    pub instances: HashMap<(String, Span), TyId>,
}

impl CommTypes {
    /// The type of the comm at `span` in the choreography `chor`.
    pub fn get(&self, chor: &str, span: Span) -> Option<TyId> {
        self.instances
            .get(&(chor.to_owned(), span))
            .or_else(|| self.at.get(&span))
            .copied()
    }
}

/// More entries than this and further user types are left unchecked ([`TyNode::Any`]): a
/// type like `enum Nest<T> { Deep(Nest<List<T>>), Leaf(T) }` has no finite instantiation.
const MAX_ENTRIES: usize = 20_000;

/// Instantiations nested deeper than this are left unchecked (see [`MAX_ENTRIES`]).
const MAX_NESTING: usize = 64;

/// The type of every comm of `p` (which should have passed the checks).
pub fn comm_types(p: &Program) -> CommTypes {
    let line_of = |_: Span| None;
    let mut cx = Checker::new(p, &line_of);
    cx.tables = false;
    cx.comms = Some(Vec::new());
    cx.collect_adts();
    cx.collect_sigs();
    let mut b = Builder::default();
    let mut at = HashMap::new();
    let mut instances = HashMap::new();
    for (u, unit) in p.units.iter().enumerate() {
        for (i, item) in unit.ast.iter().enumerate() {
            if let Item::Chor(c) = item
                && unit.name == crate::mono::INSTANCES_UNIT
            {
                // An instance: the types are its IR's (the generic's, substituted).
                ir_comms(&cx, &mut b, (u, i, c), false, &mut instances);
            } else if let Item::Chor(c) = item
                && !crate::mono::is_template(c)
            {
                cx.in_stdlib = unit.is_stdlib;
                cx.check_chor(u, i, c);
                let comms = cx.comms.replace(Vec::new()).unwrap_or_default();
                for (span, ty) in comms {
                    let ty = cx.tys.zonk(&ty);
                    let id = b.ty(&cx, &ty, 0);
                    at.insert(span, id);
                }
            }
        }
    }
    CommTypes {
        table: Arc::new(b.table),
        at,
        instances,
    }
}

/// The type of every comm of every choreography of `p` (generic ones included), from the
/// checks' IR, for the knowledge-of-choice check: a role that is not told which branch was
/// taken must receive the same type in every branch. A type parameter is a type of its own
/// here (`T` is neither `U` nor `Int`), so a generic choreography passes only if every
/// instance does.
pub fn comm_types_for_check(p: &Program) -> CommTypes {
    let line_of = |_: Span| None;
    let mut cx = Checker::new(p, &line_of);
    cx.tables = false;
    cx.collect_adts();
    let mut b = Builder::default();
    let mut instances = HashMap::new();
    for (u, unit) in p.units.iter().enumerate() {
        for (i, item) in unit.ast.iter().enumerate() {
            if let Item::Chor(c) = item {
                ir_comms(&cx, &mut b, (u, i, c), true, &mut instances);
            }
        }
    }
    CommTypes {
        table: Arc::new(b.table),
        at: HashMap::new(),
        instances,
    }
}

/// The type of every comm of choreography `c` (item `i` of unit `u`) from the IR, into `out`
/// by choreography name and span; `params` as in [`from_ir_keeping_params`].
fn ir_comms(
    cx: &Checker<'_>,
    b: &mut Builder,
    (u, i, c): (usize, usize, &ChorDef),
    params: bool,
    out: &mut HashMap<(String, Span), TyId>,
) {
    let ir = cx.p.ir.item(crate::ItemRef { unit: u, item: i });
    let mut comms = Vec::new();
    crate::mono::comms(&c.body, &mut comms);
    for (span, expr) in comms {
        let ty = from_ir_keeping_params(cx, &ir.node(expr).ty, params);
        let id = b.ty(cx, &ty, 0);
        out.insert((c.name.name.clone(), span), id);
    }
}

/// A type of the IR as the checker's (an unknown part stays open: it is checked as any); with
/// `params`, a type parameter stays one (see [`comm_types_for_check`]), else it is open too.
fn from_ir_keeping_params(cx: &Checker<'_>, t: &crate::ir::Type, params: bool) -> Ty {
    use crate::ir::Type;
    let from_ir = |cx: &Checker<'_>, t: &Type| from_ir_keeping_params(cx, t, params);
    let all = |ts: &[Type]| -> Vec<Ty> { ts.iter().map(|t| from_ir(cx, t)).collect() };
    match t {
        Type::Param(n) if params => Ty::Param(Rc::from(&**n)),
        Type::Unknown | Type::Param(_) => Ty::Error,
        Type::Int => Ty::int(),
        Type::Float => Ty::float(),
        Type::Bool => Ty::bool(),
        Type::Str => Ty::str(),
        Type::Tuple(ts) => Ty::tuple(all(ts)),
        Type::List(e) => Ty::list(from_ir(cx, e)),
        Type::Map(k, v) => Ty::Con(TyCon::Map, Rc::from(vec![from_ir(cx, k), from_ir(cx, v)])),
        Type::Adt(r, ts) => match cx.env.adt_of.get(r) {
            Some(id) => Ty::Con(TyCon::Adt(*id), Rc::from(all(ts))),
            None => Ty::Error,
        },
        Type::Fn(ps, r) => Ty::func(all(ps), from_ir(cx, r)),
    }
}

impl Checker<'_> {
    /// Notes the type of a communicated expression (only when [`comm_types`] asks).
    pub fn record_comm(&mut self, stmt: Span, ty: &Ty) {
        if let Some(c) = &mut self.comms {
            c.push((stmt, ty.clone()));
        }
    }
}

#[derive(Default)]
struct Builder {
    table: TypeTable,
    interned: HashMap<TyNode, TyId>,
    /// Instantiated user types, by their resolved type (Debug text: `Ty` has no `Hash`).
    adts: HashMap<String, TyId>,
}

impl Builder {
    fn intern(&mut self, n: TyNode) -> TyId {
        if let Some(id) = self.interned.get(&n) {
            return *id;
        }
        let id = self.table.push(n.clone());
        self.interned.insert(n, id);
        id
    }

    fn ty(&mut self, cx: &Checker<'_>, t: &Ty, depth: usize) -> TyId {
        if let Ty::Param(n) = t {
            // A type of its own, which no user type can be (see `comm_types_for_check`).
            return self.intern(TyNode::Struct {
                name: format!("<type parameter {n}>"),
                shown: n.to_string(),
                fields: Vec::new(),
            });
        }
        let Ty::Con(c, args) = t else {
            // Open (an inference variable), a generic parameter, an earlier error, or a
            // function (rejected by the checker): nothing to check.
            return self.intern(TyNode::Any);
        };
        let node = match c {
            TyCon::Int => TyNode::Int,
            TyCon::Float => TyNode::Float,
            TyCon::Bool => TyNode::Bool,
            TyCon::Str => TyNode::Str,
            TyCon::Tuple if args.is_empty() => TyNode::Unit,
            TyCon::Tuple => TyNode::Tuple(args.iter().map(|a| self.ty(cx, a, depth)).collect()),
            TyCon::List => match &args[..] {
                [e] => TyNode::List(self.ty(cx, e, depth)),
                _ => TyNode::Any,
            },
            TyCon::Map => match &args[..] {
                [k, v] => TyNode::Map(self.ty(cx, k, depth), self.ty(cx, v, depth)),
                _ => TyNode::Any,
            },
            TyCon::Adt(a) => return self.adt(cx, *a, t, args, depth),
        };
        self.intern(node)
    }

    fn adt(&mut self, cx: &Checker<'_>, a: u32, t: &Ty, args: &[Ty], depth: usize) -> TyId {
        let key = format!("{t:?}");
        if let Some(id) = self.adts.get(&key) {
            return *id;
        }
        let Some(info) = cx.env.adts.get(a as usize) else {
            return self.intern(TyNode::Any);
        };
        if depth > MAX_NESTING || self.table.nodes.len() > MAX_ENTRIES {
            return self.intern(TyNode::Any);
        }
        // Reserve the entry first: a recursive field refers back to it.
        let id = self.table.push(TyNode::Any);
        self.adts.insert(key, id);
        let subst: Vec<(Rc<str>, Ty)> = info
            .generics
            .iter()
            .cloned()
            .zip(args.iter().cloned())
            .collect();
        let arg_ids: Vec<TyId> = args.iter().map(|x| self.ty(cx, x, depth + 1)).collect();
        let shown = if arg_ids.is_empty() {
            info.name.clone()
        } else {
            let shown: Vec<String> = arg_ids.iter().map(|x| self.table.show(*x)).collect();
            format!("{}<{}>", info.name, shown.join(", "))
        };
        let node = match &info.kind {
            AdtKind::Struct(fields) => TyNode::Struct {
                name: info.name.clone(),
                shown,
                fields: fields
                    .iter()
                    .map(|f| self.ty(cx, &f.ty.subst(&subst), depth + 1))
                    .collect(),
            },
            AdtKind::Enum(variants) => TyNode::Enum {
                shown,
                variants: variants
                    .iter()
                    .map(|v| {
                        let ts = v
                            .fields
                            .iter()
                            .map(|f| self.ty(cx, &f.subst(&subst), depth + 1))
                            .collect();
                        (v.name.clone(), ts)
                    })
                    .collect(),
            },
        };
        self.table.set(id, node);
        id
    }
}
