//! The resolved, typed program the checker publishes: for every node of every function and
//! choreography (by item and [`NodeId`]), what a name resolves to, the type inference found
//! (fully resolved: no inference variables) and the role that evaluates it; for every
//! choreography statement, its roles.
//!
//! Later phases (projection, both interpreters, native code, the language server) read names,
//! types and roles here instead of deriving them again, so there is one set of scope and
//! resolution rules: the checker's. The tables hold no spans, only ids and item references,
//! so the result of an item an edit did not touch stays valid as it is (see [`crate::Reuse`]).

use crate::program::{ItemRef, Program};
use chor_syntax::ast::{Expr, NodeId, Pattern};
use std::collections::HashMap;
use std::sync::Arc;

/// What a name (a path expression, a pattern naming a variant, a struct literal) resolves to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Res {
    /// Not a name, or a name the checker could not resolve (an error was reported).
    #[default]
    None,
    /// A variable bound by a pattern or a receiver of the same item: the binding's id.
    Local(NodeId),
    /// The k-th value parameter of the function or choreography.
    Param(u32),
    /// A function with a body.
    Fn(ItemRef),
    /// A function of the standard library built into every back end (`#[builtin]`).
    Builtin(ItemRef),
    /// Variant `index` of the enum defined by `enum_item`; `nullary` when it has no fields
    /// (then the bare name is the value itself, not a constructor).
    Variant {
        enum_item: ItemRef,
        index: u32,
        nullary: bool,
    },
    /// The struct a struct literal builds.
    Struct(ItemRef),
    /// A field access `e.name`: field `index` (in declaration order) of the struct `strukt`
    /// that `e` has.
    Field { strukt: ItemRef, index: u32 },
    /// A choreography: the callee of a call statement, or a choreography passed as an
    /// argument.
    Chor(ItemRef),
    /// The k-th value parameter of the choreography, which has a choreography type: the
    /// callee of a call statement, or an argument passed on.
    ChorParam(u32),
}

impl Res {
    /// The binding a variable read refers to.
    pub fn binding(self) -> Option<Binding> {
        match self {
            Res::Local(id) => Some(Binding::Node(id)),
            Res::Param(k) => Some(Binding::Param(k)),
            _ => None,
        }
    }
}

/// A variable's binding within its item: a parameter, or the pattern / receiver that binds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Binding {
    Param(u32),
    Node(NodeId),
}

/// A type as inference resolved it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Type {
    /// Left open by the program (the element type of a list that is always empty) or unknown
    /// because of an error.
    #[default]
    Unknown,
    Int,
    Float,
    Bool,
    Str,
    /// `()` is the empty tuple.
    Tuple(Arc<[Type]>),
    List(Arc<Type>),
    Map(Arc<Type>, Arc<Type>),
    /// A struct or enum (by its definition) with its type arguments.
    Adt(ItemRef, Arc<[Type]>),
    Fn(Arc<[Type]>, Arc<Type>),
    /// A generic parameter of the function being checked.
    Param(Arc<str>),
}

impl Type {
    /// Whether some part of the type is unknown (left open, or after an error).
    pub fn has_unknown(&self) -> bool {
        match self {
            Type::Unknown => true,
            Type::Int | Type::Float | Type::Bool | Type::Str | Type::Param(_) => false,
            Type::Tuple(ts) | Type::Adt(_, ts) => ts.iter().any(Type::has_unknown),
            Type::List(t) => t.has_unknown(),
            Type::Map(k, v) => k.has_unknown() || v.has_unknown(),
            Type::Fn(ps, r) => ps.iter().any(Type::has_unknown) || r.has_unknown(),
        }
    }
}

/// How [`type_text`] spells a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spelling {
    /// As the checker's hovers and messages write it: a type by its own name (`Quote`), a
    /// function returning `()` without its arrow (`fn(Int)`).
    Plain,
    /// A type of a module with its module (`shop::Quote`), every arrow written: the names of
    /// instances of generic choreographies, which must not collide.
    Qualified,
}

/// A type as the source writes it (`_` for a part the program leaves open or got wrong).
pub fn type_text(p: &Program, t: &Type, how: Spelling) -> String {
    let mut s = String::new();
    write_type(p, t, how, &mut s);
    s
}

fn write_list(p: &Program, ts: &[Type], how: Spelling, out: &mut String) {
    for (i, t) in ts.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_type(p, t, how, out);
    }
}

fn write_type(p: &Program, t: &Type, how: Spelling, out: &mut String) {
    let args = |ts: &[Type], out: &mut String| {
        if !ts.is_empty() {
            out.push('<');
            write_list(p, ts, how, out);
            out.push('>');
        }
    };
    match t {
        Type::Unknown => out.push('_'),
        Type::Int => out.push_str("Int"),
        Type::Float => out.push_str("Float"),
        Type::Bool => out.push_str("Bool"),
        Type::Str => out.push_str("String"),
        Type::Param(n) => out.push_str(n),
        Type::Tuple(ts) => {
            out.push('(');
            write_list(p, ts, how, out);
            if ts.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        Type::List(t) => {
            out.push_str("List");
            args(std::slice::from_ref(&**t), out);
        }
        Type::Map(k, v) => {
            out.push_str("Map");
            args(&[(**k).clone(), (**v).clone()], out);
        }
        Type::Adt(r, ts) => {
            let name = p
                .units
                .get(r.unit)
                .and_then(|u| u.ast.items.get(r.item))
                .and_then(|i| i.name())
                .map_or("?", |n| n.name.as_str());
            if let (Spelling::Qualified, Some(m)) = (how, p.module_of(*r)) {
                out.push_str(m);
                out.push_str("::");
            }
            out.push_str(name);
            args(ts, out);
        }
        Type::Fn(ps, r) => {
            out.push_str("fn(");
            write_list(p, ps, how, out);
            out.push(')');
            let unit = matches!(&**r, Type::Tuple(ts) if ts.is_empty());
            if how == Spelling::Qualified || !unit {
                out.push_str(" -> ");
                write_type(p, r, how, out);
            }
        }
    }
}

/// What the checker found about one node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub res: Res,
    /// The type of an expression's value, or of the variable a binding introduces.
    pub ty: Type,
    /// The role that evaluates an expression or holds a variable (`None` in local functions).
    pub role: Option<u32>,
    /// A choreography statement's roles, in the order the statement names them (`let R.p`:
    /// R; `R.e -> S.x, T.y`: R, S, T; `R -> S[L]`: R, S; a call: the roles passed, then the
    /// role that binds the result). Indices into the choreography's roles.
    ///
    /// A part of a `return` of several or agreed results (its expression's node) and a
    /// target of a call's results (its pattern's node): the roles that compute or bind it,
    /// one role or a group's members as the source names them.
    ///
    /// The binding of a value agreed by a group (section 9): the group's roles (every member
    /// holds the value; `role` is the one the checker bound first).
    pub roles: Vec<u32>,
    /// A call statement of a generic choreography, or a generic choreography passed as an
    /// argument: the types its type parameters were instantiated with, in their order.
    pub targs: Vec<Type>,
}

/// The resolved nodes of one function or choreography, indexed by [`NodeId`].
///
/// `Eq`, so that comparing two programs' tables (salsa does, to tell whether a result
/// changed) skips the tables they share (`Arc::ptr_eq`) instead of walking them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemIr {
    pub nodes: Vec<Node>,
    /// The type of each value parameter (`Res::Param(k)` reads `params[k]`).
    pub params: Vec<Type>,
    /// The roles that hold each value parameter of a choreography: its role, or the members
    /// of the group that agrees on it, in the order the group names them. Empty in local
    /// functions.
    pub param_roles: Vec<Vec<u32>>,
}

static NO_NODE: Node = Node {
    res: Res::None,
    ty: Type::Unknown,
    role: None,
    roles: Vec::new(),
    targs: Vec::new(),
};

impl ItemIr {
    /// The table of an item that has none (code that is not user code, e.g. a wrapper).
    pub fn empty() -> &'static ItemIr {
        &NO_ITEM
    }
    pub fn node(&self, id: NodeId) -> &Node {
        self.nodes.get(id.0 as usize).unwrap_or(&NO_NODE)
    }
    pub fn res(&self, e: &Expr) -> Res {
        self.node(e.id).res
    }
    pub fn ty(&self, e: &Expr) -> &Type {
        &self.node(e.id).ty
    }
    /// The resolution of a pattern (a variant it names).
    pub fn pat_res(&self, p: &Pattern) -> Res {
        self.node(p.id).res
    }
    /// Whether the identifier pattern `p` binds a variable (else it names a nullary variant).
    pub fn binds(&self, p: &Pattern) -> bool {
        !matches!(self.node(p.id).res, Res::Variant { .. })
    }
    fn entry(&mut self, id: NodeId) -> &mut Node {
        let i = id.0 as usize;
        if self.nodes.len() <= i {
            self.nodes.resize(i + 1, Node::default());
        }
        &mut self.nodes[i]
    }
}

/// The resolved program: one table per function (with a body) and choreography.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ir {
    pub items: HashMap<ItemRef, Arc<ItemIr>>,
}

static NO_ITEM: std::sync::LazyLock<ItemIr> = std::sync::LazyLock::new(ItemIr::default);

impl Ir {
    /// The table of an item (empty for an item that was not checked).
    pub fn item(&self, r: ItemRef) -> &ItemIr {
        // A program with no tables at all was never resolved: its consumer took it from
        // `program` where it needed `resolved`, and would run or project nothing. Tests
        // (debug builds) stop at the mistake instead of comparing empty outputs.
        debug_assert!(
            !self.items.is_empty(),
            "an unresolved program reached a consumer of the IR; use the `resolved` query"
        );
        self.items.get(&r).map_or(&NO_ITEM, |i| i)
    }
}

/// What the checker notes while it checks one body, resolved into an [`ItemIr`] at its end.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    pub nodes: Vec<(NodeId, Res, Option<crate::types::Ty>, crate::cx::RoleId)>,
    pub stmts: Vec<(NodeId, Vec<crate::cx::RoleId>)>,
    pub params: Vec<crate::types::Ty>,
    pub param_roles: Vec<Vec<u32>>,
    pub targs: Vec<(NodeId, Vec<crate::types::Ty>)>,
    pub groups: Vec<(NodeId, Vec<crate::cx::RoleId>)>,
}

impl crate::cx::Checker<'_> {
    /// Notes what a node resolves to, its type and its role (when recording).
    pub(crate) fn note(&mut self, id: NodeId, res: Res, ty: Option<&crate::types::Ty>) {
        let role = self.role;
        if let Some(r) = &mut self.rec {
            r.nodes.push((id, res, ty.cloned(), role));
        }
    }

    /// The resolution of variant `vi` of user type `adt`.
    pub(crate) fn variant_res(&self, adt: u32, vi: usize) -> Res {
        let nullary = match self.env.adts.get(adt as usize).map(|a| &a.kind) {
            Some(crate::cx::AdtKind::Enum(vs)) => vs.get(vi).is_some_and(|v| v.fields.is_empty()),
            _ => false,
        };
        match self.adt_items.get(adt as usize) {
            Some(r) => Res::Variant {
                enum_item: *r,
                index: vi as u32,
                nullary,
            },
            None => Res::None,
        }
    }

    /// Notes a binding of a variable of type `ty` at `role`.
    pub(crate) fn note_binding(&mut self, id: NodeId, ty: &crate::types::Ty, role: u32) {
        if let Some(r) = &mut self.rec {
            r.nodes.push((id, Res::None, Some(ty.clone()), role));
        }
    }

    /// Notes the types of the body's value parameters and the roles that hold them.
    pub(crate) fn note_params(&mut self, tys: Vec<crate::types::Ty>, roles: Vec<Vec<u32>>) {
        if let Some(r) = &mut self.rec {
            r.params = tys;
            r.param_roles = roles;
        }
    }

    /// Notes how a generic choreography was instantiated at a call or argument.
    pub(crate) fn note_targs(&mut self, id: NodeId, tys: Vec<crate::types::Ty>) {
        if let Some(r) = &mut self.rec {
            r.targs.push((id, tys));
        }
    }

    /// Notes what a node resolves to, without a type or role.
    pub(crate) fn note_res(&mut self, id: NodeId, res: Res) {
        if let Some(r) = &mut self.rec {
            r.nodes.push((id, res, None, crate::cx::NO_ROLE));
        }
    }

    /// Notes that the binding `id` is agreed by `group` (sorted).
    pub(crate) fn note_group(&mut self, id: NodeId, group: &[crate::cx::RoleId]) {
        if let Some(r) = &mut self.rec {
            r.groups.push((id, group.to_vec()));
        }
    }

    /// Notes the roles of a choreography statement, of a result part or of a call's target.
    pub(crate) fn note_roles(&mut self, id: NodeId, roles: Vec<crate::cx::RoleId>) {
        if let Some(r) = &mut self.rec {
            r.stmts.push((id, roles));
        }
    }

    /// The body is checked: resolve the noted types with the body's substitution.
    pub(crate) fn finish_item(&mut self) -> Option<ItemIr> {
        let rec = std::mem::take(self.rec.as_mut()?);
        let mut ir = ItemIr::default();
        let mut memo = Memo::new();
        let role_of =
            |r: u32| (r != crate::cx::NO_ROLE && r != crate::cx::UNKNOWN_ROLE).then_some(r);
        // By reference: the checker types stay alive while `memo` holds their addresses.
        for (id, res, ty, role) in &rec.nodes {
            let (id, res, role) = (*id, *res, *role);
            let ty = match ty {
                Some(t) => self.ir_type(t, &mut memo),
                None => Type::Unknown,
            };
            let n = ir.entry(id);
            if res != Res::None {
                n.res = res;
            }
            if ty != Type::Unknown {
                n.ty = ty;
            }
            if n.role.is_none() {
                n.role = role_of(role);
            }
        }
        ir.params = rec
            .params
            .iter()
            .map(|t| self.ir_type(t, &mut memo))
            .collect();
        ir.param_roles = rec.param_roles;
        for (id, group) in rec.groups {
            ir.entry(id).roles = group;
        }
        for (id, roles) in rec.stmts {
            ir.entry(id).roles = roles;
        }
        for (id, tys) in &rec.targs {
            let tys = tys.iter().map(|t| self.ir_type(t, &mut memo)).collect();
            ir.entry(*id).targs = tys;
        }
        Some(ir)
    }

    /// A checker type, with the body's substitution applied, as an IR type. Converted
    /// argument lists are kept by address (`memo`): the types of nested expressions share
    /// their parts (the type of `[[[1]]]` holds that of `[[1]]`), so converting every node's
    /// type costs linear time, not quadratic.
    fn ir_type(&mut self, t: &crate::types::Ty, memo: &mut Memo) -> Type {
        use crate::types::{Ty, TyCon};
        match self.tys.shallow(t) {
            Ty::Var(_) | Ty::Error => Type::Unknown,
            Ty::Param(n) => Type::Param(Arc::from(&*n)),
            Ty::Fn(ps, r) => {
                let key = (ps.as_ptr().cast::<()>(), None);
                if let Some(t) = memo.get(&key) {
                    return t.clone();
                }
                let params = ps.iter().map(|p| self.ir_type(p, memo)).collect();
                let t = Type::Fn(params, Arc::new(self.ir_type(&r, memo)));
                memo.insert(key, t.clone());
                t
            }
            Ty::Con(c, args) => {
                let key = (args.as_ptr().cast::<()>(), Some(c));
                if let Some(t) = memo.get(&key) {
                    return t.clone();
                }
                let mut conv: Vec<Type> = args.iter().map(|a| self.ir_type(a, memo)).collect();
                let mut arg =
                    |k: usize| Arc::new(conv.get_mut(k).map(std::mem::take).unwrap_or_default());
                let t = match c {
                    TyCon::Int => Type::Int,
                    TyCon::Float => Type::Float,
                    TyCon::Bool => Type::Bool,
                    TyCon::Str => Type::Str,
                    TyCon::List => Type::List(arg(0)),
                    TyCon::Map => {
                        let k = arg(0);
                        Type::Map(k, arg(1))
                    }
                    TyCon::Tuple => Type::Tuple(conv.into()),
                    TyCon::Adt(id) => match self.adt_items.get(id as usize) {
                        Some(r) => Type::Adt(*r, conv.into()),
                        None => Type::Unknown,
                    },
                };
                memo.insert(key, t.clone());
                t
            }
        }
    }
}

/// Converted types by the address of their checker argument list (see `ir_type`).
type Memo = HashMap<(*const (), Option<crate::types::TyCon>), Type>;
