//! Types of local code and the inference table.
//!
//! Type variables live in a substitution table (`TyTable`): a variable is either unbound or
//! bound to a type, and `shallow` follows chains with path compression, so unification is
//! near-linear. Children are reference counted so that cloning a type is cheap.

use std::collections::HashMap;
use std::rc::Rc;

/// A user struct or enum, by index into `Env::adts`.
pub type AdtId = u32;

/// A type constructor: the head of a `Ty::Con`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TyCon {
    Int,
    Float,
    Bool,
    Str,
    /// Arity given by the argument count; `()` is the empty tuple.
    Tuple,
    List,
    Map,
    Adt(AdtId),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// An inference variable.
    Var(u32),
    /// A generic parameter, rigid inside the body that declares it.
    Param(Rc<str>),
    Con(TyCon, Rc<[Ty]>),
    Fn(Rc<[Ty]>, Rc<Ty>),
    /// Stands for a type that could not be determined because of an earlier error; unifies with
    /// everything so that one mistake is reported once.
    Error,
}

impl Ty {
    pub fn con0(c: TyCon) -> Ty {
        Ty::Con(c, Rc::from(Vec::new()))
    }
    pub fn int() -> Ty {
        Ty::con0(TyCon::Int)
    }
    pub fn float() -> Ty {
        Ty::con0(TyCon::Float)
    }
    pub fn bool() -> Ty {
        Ty::con0(TyCon::Bool)
    }
    pub fn str() -> Ty {
        Ty::con0(TyCon::Str)
    }
    pub fn unit() -> Ty {
        Ty::con0(TyCon::Tuple)
    }
    pub fn tuple(elems: Vec<Ty>) -> Ty {
        Ty::Con(TyCon::Tuple, Rc::from(elems))
    }
    pub fn list(t: Ty) -> Ty {
        Ty::Con(TyCon::List, Rc::from(vec![t]))
    }
    pub fn map(k: Ty, v: Ty) -> Ty {
        Ty::Con(TyCon::Map, Rc::from(vec![k, v]))
    }
    pub fn func(params: Vec<Ty>, ret: Ty) -> Ty {
        Ty::Fn(Rc::from(params), Rc::new(ret))
    }
    pub fn is_con(&self, c: TyCon) -> bool {
        matches!(self, Ty::Con(d, _) if *d == c)
    }

    /// Replace generic parameters by the types in `subst` (by name).
    pub fn subst(&self, subst: &[(Rc<str>, Ty)]) -> Ty {
        if subst.is_empty() {
            return self.clone();
        }
        match self {
            Ty::Param(n) => subst
                .iter()
                .find(|(m, _)| m == n)
                .map_or_else(|| self.clone(), |(_, t)| t.clone()),
            Ty::Con(c, args) => {
                if args.is_empty() {
                    self.clone()
                } else {
                    Ty::Con(*c, args.iter().map(|a| a.subst(subst)).collect())
                }
            }
            Ty::Fn(ps, r) => Ty::Fn(
                ps.iter().map(|a| a.subst(subst)).collect(),
                Rc::new(r.subst(subst)),
            ),
            Ty::Var(_) | Ty::Error => self.clone(),
        }
    }
}

/// The substitution of one body (a function or a choreography) being checked.
#[derive(Debug, Default)]
pub struct TyTable {
    vars: Vec<Option<Ty>>,
    /// Argument lists known to be ground (no unbound variable inside), by address; the `Rc`
    /// is kept so that the address is not reused. A binding is never undone, so a ground list
    /// stays ground and the occurs check skips it: without this, checking `[[[...]]]` n deep
    /// walked the whole element type again at each level (quadratic).
    ground: HashMap<*const Ty, Rc<[Ty]>>,
}

impl TyTable {
    pub fn clear(&mut self) {
        self.vars.clear();
        self.ground.clear();
    }

    pub fn fresh(&mut self) -> Ty {
        self.vars.push(None);
        Ty::Var(self.vars.len() as u32 - 1)
    }

    /// Follow variable bindings at the top of `t` (path compression keeps chains short).
    pub fn shallow(&mut self, t: &Ty) -> Ty {
        let &Ty::Var(mut v) = t else { return t.clone() };
        let mut chain = Vec::new();
        loop {
            match self.vars.get(v as usize) {
                Some(Some(Ty::Var(w))) => {
                    chain.push(v);
                    v = *w;
                }
                Some(Some(t)) => {
                    let t = t.clone();
                    for c in chain {
                        self.vars[c as usize] = Some(t.clone());
                    }
                    return t;
                }
                _ => {
                    for c in chain {
                        self.vars[c as usize] = Some(Ty::Var(v));
                    }
                    return Ty::Var(v);
                }
            }
        }
    }

    /// Apply the substitution everywhere inside `t`.
    pub fn zonk(&mut self, t: &Ty) -> Ty {
        match self.shallow(t) {
            Ty::Con(c, args) => {
                if args.is_empty() {
                    Ty::Con(c, args)
                } else {
                    Ty::Con(c, args.iter().map(|a| self.zonk(a)).collect())
                }
            }
            Ty::Fn(ps, r) => {
                let ps: Vec<Ty> = ps.iter().map(|a| self.zonk(a)).collect();
                let r = self.zonk(&r);
                Ty::func(ps, r)
            }
            other => other,
        }
    }

    fn occurs(&mut self, v: u32, t: &Ty) -> bool {
        self.scan(v, t).0
    }

    /// Whether `v` occurs in `t`, and whether `t` is ground.
    fn scan(&mut self, v: u32, t: &Ty) -> (bool, bool) {
        match self.shallow(t) {
            Ty::Var(w) => (v == w, false),
            Ty::Con(_, args) => self.scan_args(v, &args),
            Ty::Fn(ps, r) => {
                let (found, ground) = self.scan_args(v, &ps);
                if found {
                    return (true, false);
                }
                let (found, g) = self.scan(v, &r);
                (found, ground && g)
            }
            Ty::Param(_) | Ty::Error => (false, true),
        }
    }

    fn scan_args(&mut self, v: u32, args: &Rc<[Ty]>) -> (bool, bool) {
        if args.is_empty() || self.ground.contains_key(&args.as_ptr()) {
            return (false, true);
        }
        let mut ground = true;
        for a in args.iter() {
            let (found, g) = self.scan(v, a);
            if found {
                return (true, false);
            }
            ground &= g;
        }
        if ground {
            self.ground.insert(args.as_ptr(), args.clone());
        }
        (false, ground)
    }

    /// Make `a` and `b` equal; false when they cannot be (the caller reports the mismatch).
    pub fn unify(&mut self, a: &Ty, b: &Ty) -> bool {
        let a = self.shallow(a);
        let b = self.shallow(b);
        match (&a, &b) {
            (Ty::Error, _) | (_, Ty::Error) => true,
            (Ty::Var(x), Ty::Var(y)) if x == y => true,
            (Ty::Var(x), t) | (t, Ty::Var(x)) => {
                if self.occurs(*x, t) {
                    return false;
                }
                self.vars[*x as usize] = Some(t.clone());
                true
            }
            (Ty::Param(x), Ty::Param(y)) => x == y,
            (Ty::Con(c, xs), Ty::Con(d, ys)) => {
                c == d && xs.len() == ys.len() && {
                    let mut ok = true;
                    for (x, y) in xs.iter().zip(ys.iter()) {
                        ok &= self.unify(x, y);
                    }
                    ok
                }
            }
            (Ty::Fn(ps, r), Ty::Fn(qs, s)) => {
                if ps.len() != qs.len() {
                    return false;
                }
                let mut ok = true;
                for (x, y) in ps.iter().zip(qs.iter()) {
                    ok &= self.unify(x, y);
                }
                ok && self.unify(r, s)
            }
            _ => false,
        }
    }

    /// Whether the type contains a function type (after substitution). `None` when it still
    /// contains unknown parts and no function type was found. `adt_fn[id]` tells whether the
    /// fields of user type `id` hold a function whatever its type arguments are (see
    /// [`adts_holding_fns`]); a function given as a type argument is found in the arguments.
    pub fn contains_fn(&mut self, t: &Ty, adt_fn: &[bool]) -> Option<bool> {
        match self.shallow(t) {
            Ty::Fn(..) => Some(true),
            Ty::Var(_) => None,
            Ty::Con(c, args) => {
                if let TyCon::Adt(id) = c
                    && adt_fn.get(id as usize).copied().unwrap_or(false)
                {
                    return Some(true);
                }
                let mut unknown = false;
                for a in args.iter() {
                    match self.contains_fn(a, adt_fn) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                if unknown { None } else { Some(false) }
            }
            Ty::Param(_) | Ty::Error => Some(false),
        }
    }
}

/// Whether a field type holds a function, given what is known of the user types so far;
/// generic parameters hold none (their arguments are looked at where the type is used).
pub fn field_holds_fn(t: &Ty, adt_fn: &[bool]) -> bool {
    match t {
        Ty::Fn(..) => true,
        Ty::Con(c, args) => {
            matches!(c, TyCon::Adt(id) if adt_fn.get(*id as usize).copied().unwrap_or(false))
                || args.iter().any(|a| field_holds_fn(a, adt_fn))
        }
        Ty::Var(_) | Ty::Param(_) | Ty::Error => false,
    }
}

/// For every user type (by id, given the types of its fields and payloads), whether a value
/// of it can hold a function whatever its type arguments are. A least fixed point: a type
/// holds a function if a field does, directly or through another user type, so recursive
/// types end after at most one round per type.
pub fn adts_holding_fns(fields: &[Vec<&Ty>]) -> Vec<bool> {
    let mut out = vec![false; fields.len()];
    loop {
        let mut changed = false;
        for (id, fs) in fields.iter().enumerate() {
            if !out[id] && fs.iter().any(|t| field_holds_fn(t, &out)) {
                out[id] = true;
                changed = true;
            }
        }
        if !changed {
            return out;
        }
    }
}

/// Writes types the way a programmer writes them; unknown parts are `_`.
pub fn show(t: &Ty, adt_name: &dyn Fn(AdtId) -> String) -> String {
    let mut s = String::new();
    show_into(t, adt_name, &mut s);
    s
}

fn show_list(ts: &[Ty], adt_name: &dyn Fn(AdtId) -> String, out: &mut String) {
    for (i, t) in ts.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        show_into(t, adt_name, out);
    }
}

fn show_into(t: &Ty, adt_name: &dyn Fn(AdtId) -> String, out: &mut String) {
    match t {
        Ty::Var(_) => out.push('_'),
        Ty::Error => out.push('_'),
        Ty::Param(n) => out.push_str(n),
        Ty::Fn(ps, r) => {
            out.push_str("fn(");
            show_list(ps, adt_name, out);
            out.push(')');
            if !matches!(&**r, Ty::Con(TyCon::Tuple, a) if a.is_empty()) {
                out.push_str(" -> ");
                show_into(r, adt_name, out);
            }
        }
        Ty::Con(c, args) => {
            let head = match c {
                TyCon::Int => "Int".to_owned(),
                TyCon::Float => "Float".to_owned(),
                TyCon::Bool => "Bool".to_owned(),
                TyCon::Str => "String".to_owned(),
                TyCon::List => "List".to_owned(),
                TyCon::Map => "Map".to_owned(),
                TyCon::Adt(a) => adt_name(*a),
                TyCon::Tuple => {
                    out.push('(');
                    show_list(args, adt_name, out);
                    if args.len() == 1 {
                        out.push(',');
                    }
                    out.push(')');
                    return;
                }
            };
            out.push_str(&head);
            if !args.is_empty() {
                out.push('<');
                show_list(args, adt_name, out);
                out.push('>');
            }
        }
    }
}
