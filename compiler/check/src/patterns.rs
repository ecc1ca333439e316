//! Patterns: typing and binding, and the exhaustiveness / reachability check.
//!
//! Patterns are lowered to constructor trees (`Pat`) and checked with Maranget's usefulness
//! algorithm ("Warnings for pattern matching", JFP 2007), extended with witnesses so that a
//! non-exhaustive match names a missing case. Lists are cons cells: `[a, b]` is
//! `Cons(a, Cons(b, Nil))` and `[h, ..t]` is `Cons(h, t)`, which handles every list pattern
//! exactly without special cases for lengths.

use crate::cx::{AdtKind, Checker, RoleId, Why, suggest};
use crate::expr::lit_ty;
use crate::types::{Ty, TyCon};
use chor_diagnostics::{Diagnostic, Span};
use chor_syntax::ast::{Ident, Lit, Pattern, PatternKind};
use std::rc::Rc;

#[derive(Debug, Clone, PartialEq)]
pub enum Ctor {
    Bool(bool),
    Tuple(usize),
    Struct(u32),
    Variant(u32, usize),
    Nil,
    Cons,
    Int(i64),
    Float(u64),
    Str(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pat {
    Wild,
    Ctor(Ctor, Vec<Pat>),
}

impl<'p> Checker<'p> {
    /// Check a pattern against `expected`, binding its variables at `role`.
    pub fn pattern_top(&mut self, p: &Pattern, expected: &Ty, role: RoleId) -> Pat {
        let mut bound: Vec<Ident> = Vec::new();
        self.pattern(p, expected, role, &mut bound)
    }

    fn pattern(&mut self, p: &Pattern, expected: &Ty, role: RoleId, bound: &mut Vec<Ident>) -> Pat {
        match &p.kind {
            PatternKind::Wild | PatternKind::Error => Pat::Wild,
            PatternKind::Ident(id) => {
                if let Some((enum_name, vi)) = self.p.variants.get(&id.name).cloned()
                    && let Some(&adt) = self
                        .p
                        .enums
                        .get(&enum_name)
                        .and_then(|r| self.env.adt_of.get(r))
                {
                    let res = self.variant_res(adt, vi);
                    self.note(p.id, res, None);
                    return self.variant_pattern(
                        adt,
                        vi,
                        id,
                        &[],
                        p.span,
                        expected,
                        role,
                        bound,
                        true,
                    );
                }
                if let Some(prev) = bound.iter().find(|b| b.name == id.name) {
                    self.emit(
                        Diagnostic::error(
                            "E0404",
                            format!("`{}` is bound more than once in the same pattern", id.name),
                            id.span,
                            "bound again here",
                        )
                        .with_label(prev.span, "first bound here")
                        .with_help("use a different name for each part"),
                    );
                }
                bound.push(id.clone());
                self.bind_var(id, expected.clone(), role, crate::ir::Res::Local(p.id));
                Pat::Wild
            }
            PatternKind::Lit(l) => {
                let t = lit_ty(l);
                self.pat_unify(expected, &t, p.span);
                match l {
                    Lit::Int(i) => Pat::Ctor(Ctor::Int(*i), vec![]),
                    Lit::Float(x) => Pat::Ctor(Ctor::Float(x.to_bits()), vec![]),
                    Lit::Bool(b) => Pat::Ctor(Ctor::Bool(*b), vec![]),
                    Lit::Str(s) => Pat::Ctor(Ctor::Str(s.clone()), vec![]),
                    Lit::Unit => Pat::Ctor(Ctor::Tuple(0), vec![]),
                }
            }
            PatternKind::Tuple(ps) => {
                let elems: Vec<Ty> = ps.iter().map(|_| self.tys.fresh()).collect();
                let t = Ty::tuple(elems.clone());
                if !self.pat_unify(expected, &t, p.span) {
                    for sub in ps {
                        let e = Ty::Error;
                        self.pattern(sub, &e, role, bound);
                    }
                    return Pat::Wild;
                }
                let subs = ps
                    .iter()
                    .zip(elems.iter())
                    .map(|(sub, t)| self.pattern(sub, t, role, bound))
                    .collect();
                Pat::Ctor(Ctor::Tuple(ps.len()), subs)
            }
            PatternKind::Variant { name, args } => {
                let seg = name.last();
                let found = if name.is_single() {
                    self.p.variants.get(&seg.name).cloned()
                } else {
                    None
                };
                let adt = found.and_then(|(e, vi)| {
                    self.p
                        .enums
                        .get(&e)
                        .and_then(|r| self.env.adt_of.get(r))
                        .map(|a| (*a, vi))
                });
                match adt {
                    Some((adt, vi)) => {
                        let res = self.variant_res(adt, vi);
                        self.note(p.id, res, None);
                        self.variant_pattern(
                            adt, vi, seg, args, p.span, expected, role, bound, false,
                        )
                    }
                    None => {
                        let mut d = Diagnostic::error(
                            "E0104",
                            format!("cannot find variant `{}`", name.text()),
                            name.span,
                            "not a known variant",
                        );
                        if !name.is_single() && self.p.variants.contains_key(&seg.name) {
                            d = d.with_help(format!(
                                "variants are bare names: write `{}`",
                                seg.name
                            ));
                        } else if let Some(s) =
                            suggest(&seg.name, self.p.variants.keys().map(String::as_str))
                        {
                            d = d.with_help(format!("did you mean `{s}`?"));
                        }
                        self.emit(d);
                        for sub in args {
                            self.pattern(sub, &Ty::Error, role, bound);
                        }
                        Pat::Wild
                    }
                }
            }
            PatternKind::Struct { name, fields, rest } => {
                let found = self.p.lookup_struct(self.module, name);
                if let Some((_, r)) = found {
                    self.note(p.id, crate::ir::Res::Struct(r), None);
                }
                let Some((_, r)) = found else {
                    let mut d = Diagnostic::error(
                        "E0107",
                        format!("cannot find struct `{}`", name.text()),
                        name.span,
                        "not a known struct",
                    );
                    let cands: Vec<String> =
                        self.p.structs.keys().map(|q| q.name.clone()).collect();
                    if let Some(s) = suggest(&name.last().name, cands.iter().map(String::as_str)) {
                        d = d.with_help(format!("did you mean `{s}`?"));
                    }
                    self.emit(d);
                    for f in fields {
                        self.pattern(&f.pat, &Ty::Error, role, bound);
                    }
                    return Pat::Wild;
                };
                let Some(&id) = self.env.adt_of.get(&r) else {
                    return Pat::Wild;
                };
                let adt = self.env.adts[id as usize].clone();
                self.reference(name.last().span, adt.name_span);
                let AdtKind::Struct(defs) = &adt.kind else {
                    return Pat::Wild;
                };
                let inst = self.instantiate(&adt.generics);
                let t = Ty::Con(
                    TyCon::Adt(id),
                    inst.iter().map(|(_, t)| t.clone()).collect(),
                );
                let ok = self.pat_unify(expected, &t, p.span);
                let mut subs = vec![Pat::Wild; defs.len()];
                let mut seen: Vec<Option<Span>> = vec![None; defs.len()];
                for f in fields {
                    match defs.iter().position(|d| d.name == f.name.name) {
                        None => {
                            self.emit(Diagnostic::error(
                                "E0405",
                                format!(
                                    "struct `{}` has no field named `{}`",
                                    adt.name, f.name.name
                                ),
                                f.name.span,
                                "unknown field",
                            ));
                            self.pattern(&f.pat, &Ty::Error, role, bound);
                        }
                        Some(k) => {
                            self.reference(f.name.span, defs[k].span);
                            if let Some(prev) = seen[k] {
                                self.emit(
                                    Diagnostic::error(
                                        "E0405",
                                        format!(
                                            "the field `{}` appears more than once in this pattern",
                                            f.name.name
                                        ),
                                        f.name.span,
                                        "again here",
                                    )
                                    .with_label(prev, "first here"),
                                );
                            }
                            seen[k] = Some(f.name.span);
                            let ft = if ok {
                                defs[k].ty.subst(&inst)
                            } else {
                                Ty::Error
                            };
                            subs[k] = self.pattern(&f.pat, &ft, role, bound);
                        }
                    }
                }
                let missing: Vec<&str> = defs
                    .iter()
                    .zip(seen.iter())
                    .filter(|(_, s)| s.is_none())
                    .map(|(d, _)| d.name.as_str())
                    .collect();
                if !rest && !missing.is_empty() {
                    let list = missing
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.emit(
                        Diagnostic::error(
                            "E0405",
                            format!(
                                "pattern of `{}` does not mention field{} {list}",
                                adt.name,
                                if missing.len() == 1 { "" } else { "s" }
                            ),
                            p.span,
                            format!("missing {list}"),
                        )
                        .with_help("name the missing fields, or add `..` to ignore them"),
                    );
                }
                if ok {
                    Pat::Ctor(Ctor::Struct(id), subs)
                } else {
                    Pat::Wild
                }
            }
            PatternKind::List { elems, rest } => {
                let elem = self.tys.fresh();
                let lt = Ty::list(elem.clone());
                let ok = self.pat_unify(expected, &lt, p.span);
                let (elem, lt) = if ok {
                    (elem, lt)
                } else {
                    (Ty::Error, Ty::Error)
                };
                let subs: Vec<Pat> = elems
                    .iter()
                    .map(|e| self.pattern(e, &elem, role, bound))
                    .collect();
                let mut tail = match rest {
                    None => Pat::Ctor(Ctor::Nil, vec![]),
                    Some(None) => Pat::Wild,
                    Some(Some(t)) => self.pattern(t, &lt, role, bound),
                };
                if !ok {
                    return Pat::Wild;
                }
                for s in subs.into_iter().rev() {
                    tail = Pat::Ctor(Ctor::Cons, vec![s, tail]);
                }
                tail
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn variant_pattern(
        &mut self,
        adt: u32,
        vi: usize,
        name: &Ident,
        args: &[Pattern],
        span: Span,
        expected: &Ty,
        role: RoleId,
        bound: &mut Vec<Ident>,
        bare: bool,
    ) -> Pat {
        let info = self.env.adts[adt as usize].clone();
        let AdtKind::Enum(vs) = &info.kind else {
            return Pat::Wild;
        };
        let Some(v) = vs.get(vi) else {
            return Pat::Wild;
        };
        self.reference(name.span, v.span);
        let inst = self.instantiate(&info.generics);
        let t = Ty::Con(
            TyCon::Adt(adt),
            inst.iter().map(|(_, t)| t.clone()).collect(),
        );
        let ok = self.pat_unify(expected, &t, span);
        if args.len() != v.fields.len() {
            let n = v.fields.len();
            let mut d = Diagnostic::error(
                "E0403",
                format!(
                    "the variant `{}` has {n} field{}, but this pattern has {}",
                    v.name,
                    if n == 1 { "" } else { "s" },
                    args.len()
                ),
                span,
                format!("expected {n} field{}", if n == 1 { "" } else { "s" }),
            )
            .with_label(v.span, "variant defined here");
            if bare {
                let wild = vec!["_"; n].join(", ");
                d = d.with_help(format!("write `{}({wild})` to match it", v.name));
            }
            self.emit(d);
            for a in args {
                self.pattern(a, &Ty::Error, role, bound);
            }
            return Pat::Wild;
        }
        let subs: Vec<Pat> = args
            .iter()
            .zip(v.fields.iter())
            .map(|(a, ft)| {
                let ft = if ok { ft.subst(&inst) } else { Ty::Error };
                self.pattern(a, &ft, role, bound)
            })
            .collect();
        if ok {
            Pat::Ctor(Ctor::Variant(adt, vi), subs)
        } else {
            Pat::Wild
        }
    }

    fn pat_unify(&mut self, expected: &Ty, t: &Ty, span: Span) -> bool {
        if self.tys.unify(expected, t) {
            return true;
        }
        let (e, f) = (self.show(expected), self.show(t));
        self.emit(Diagnostic::error(
            "E0300",
            format!("mismatched types: this pattern matches `{f}`, but the value has type `{e}`"),
            span,
            format!("expected `{e}`, found `{f}`"),
        ));
        let _ = Why::None;
        false
    }

    // ------------------------------------------------------------------ exhaustiveness

    /// A `match` must cover every value; an arm covered by earlier arms is reported.
    /// Arms whose pattern had an error (`ok == false`) are left out, and then a missing case is
    /// not reported, so that one mistake gives one message.
    pub fn check_match(&mut self, scrut: &Ty, rows: &[(Pat, Span, bool)], scrut_span: Span) {
        let t = self.tys.zonk(scrut);
        let mut matrix: Vec<Vec<Pat>> = Vec::with_capacity(rows.len());
        let mut all_ok = true;
        for (p, span, ok) in rows {
            if !ok {
                all_ok = false;
                continue;
            }
            if self
                .useful(&matrix, std::slice::from_ref(p), std::slice::from_ref(&t))
                .is_none()
            {
                self.emit(
                    Diagnostic::warning(
                        "W0002",
                        "unreachable match arm",
                        *span,
                        "this arm is never reached",
                    )
                    .with_note("the arms above already cover every value it matches"),
                );
            }
            matrix.push(vec![p.clone()]);
        }
        if !all_ok {
            return;
        }
        if let Some(w) = self.useful(&matrix, &[Pat::Wild], std::slice::from_ref(&t)) {
            let shown = self.show_pat(&w[0]);
            self.emit(
                Diagnostic::error(
                    "E0400",
                    format!("this match does not cover `{shown}`"),
                    scrut_span,
                    format!("`{shown}` is not covered"),
                )
                .with_help(if shown == "_" {
                    "add a catch-all arm `_ => …`".to_owned()
                } else {
                    format!("add an arm for `{shown}`, or a catch-all arm `_ => …`")
                }),
            );
        }
    }

    /// A `let` pattern must match every value.
    pub fn check_irrefutable(&mut self, t: &Ty, p: &Pat, span: Span) {
        if matches!(p, Pat::Wild) {
            return;
        }
        let t = self.tys.zonk(t);
        let rows = vec![vec![p.clone()]];
        if let Some(w) = self.useful(&rows, &[Pat::Wild], std::slice::from_ref(&t)) {
            let shown = self.show_pat(&w[0]);
            self.emit(
                Diagnostic::error(
                    "E0401",
                    format!("refutable pattern in `let`: `{shown}` is not covered"),
                    span,
                    format!("`{shown}` would not match"),
                )
                .with_help("use `match` to handle every case"),
            );
        }
    }

    /// Every constructor of a type, when the type has finitely many.
    fn all_ctors(&self, t: &Ty) -> Option<Vec<Ctor>> {
        match t {
            Ty::Con(TyCon::Bool, _) => Some(vec![Ctor::Bool(false), Ctor::Bool(true)]),
            Ty::Con(TyCon::Tuple, a) => Some(vec![Ctor::Tuple(a.len())]),
            Ty::Con(TyCon::List, _) => Some(vec![Ctor::Nil, Ctor::Cons]),
            Ty::Con(TyCon::Adt(id), _) => match &self.env.adts.get(*id as usize)?.kind {
                AdtKind::Struct(_) => Some(vec![Ctor::Struct(*id)]),
                AdtKind::Enum(vs) => Some((0..vs.len()).map(|i| Ctor::Variant(*id, i)).collect()),
            },
            _ => None,
        }
    }

    fn arity(&self, c: &Ctor) -> usize {
        match c {
            Ctor::Tuple(n) => *n,
            Ctor::Struct(id) => match self.env.adts.get(*id as usize).map(|a| &a.kind) {
                Some(AdtKind::Struct(f)) => f.len(),
                _ => 0,
            },
            Ctor::Variant(id, i) => match self.env.adts.get(*id as usize).map(|a| &a.kind) {
                Some(AdtKind::Enum(vs)) => vs.get(*i).map_or(0, |v| v.fields.len()),
                _ => 0,
            },
            Ctor::Cons => 2,
            _ => 0,
        }
    }

    /// The types of the fields of constructor `c` of type `t`.
    fn field_tys(&self, t: &Ty, c: &Ctor) -> Vec<Ty> {
        let n = self.arity(c);
        let inst = |args: &Rc<[Ty]>, generics: &[Rc<str>]| -> Vec<(Rc<str>, Ty)> {
            generics.iter().cloned().zip(args.iter().cloned()).collect()
        };
        let out: Option<Vec<Ty>> = match (t, c) {
            (Ty::Con(TyCon::Tuple, a), Ctor::Tuple(_)) => Some(a.to_vec()),
            (Ty::Con(TyCon::List, a), Ctor::Cons) => a.first().map(|e| vec![e.clone(), t.clone()]),
            (Ty::Con(TyCon::Adt(id), a), _) => {
                let adt = &self.env.adts[*id as usize];
                let s = inst(a, &adt.generics);
                match (&adt.kind, c) {
                    (AdtKind::Struct(fs), Ctor::Struct(_)) => {
                        Some(fs.iter().map(|f| f.ty.subst(&s)).collect())
                    }
                    (AdtKind::Enum(vs), Ctor::Variant(_, i)) => vs
                        .get(*i)
                        .map(|v| v.fields.iter().map(|f| f.subst(&s)).collect()),
                    _ => None,
                }
            }
            _ => None,
        };
        match out {
            Some(v) if v.len() == n => v,
            _ => vec![Ty::Error; n],
        }
    }

    /// Is `v` useful with respect to `rows`? Returns a witness: values matched by `v` and by
    /// no row (as patterns, one per column).
    fn useful(&self, rows: &[Vec<Pat>], v: &[Pat], tys: &[Ty]) -> Option<Vec<Pat>> {
        let Some(head) = v.first() else {
            return if rows.is_empty() {
                Some(Vec::new())
            } else {
                None
            };
        };
        let t = tys.first().cloned().unwrap_or(Ty::Error);
        match head {
            Pat::Ctor(c, args) => self.useful_ctor(rows, c, args, v, &t, tys),
            Pat::Wild => {
                let mut present: Vec<Ctor> = Vec::new();
                for r in rows {
                    if let Some(Pat::Ctor(c, _)) = r.first()
                        && !present.contains(c)
                    {
                        present.push(c.clone());
                    }
                }
                let all = self.all_ctors(&t);
                if let Some(all) = &all
                    && all.iter().all(|c| present.contains(c))
                {
                    for c in all {
                        let wilds = vec![Pat::Wild; self.arity(c)];
                        if let Some(w) = self.useful_ctor(rows, c, &wilds, v, &t, tys) {
                            return Some(w);
                        }
                    }
                    return None;
                }
                // Some constructor is missing: the default matrix decides.
                let default: Vec<Vec<Pat>> = rows
                    .iter()
                    .filter(|r| matches!(r.first(), Some(Pat::Wild)))
                    .map(|r| r[1..].to_vec())
                    .collect();
                let mut w = self.useful(&default, &v[1..], &tys[1.min(tys.len())..])?;
                let missing = match &all {
                    Some(all) if !present.is_empty() => all
                        .iter()
                        .find(|c| !present.contains(c))
                        .map_or(Pat::Wild, |c| {
                            Pat::Ctor(c.clone(), vec![Pat::Wild; self.arity(c)])
                        }),
                    _ => Pat::Wild,
                };
                w.insert(0, missing);
                Some(w)
            }
        }
    }

    fn useful_ctor(
        &self,
        rows: &[Vec<Pat>],
        c: &Ctor,
        args: &[Pat],
        v: &[Pat],
        t: &Ty,
        tys: &[Ty],
    ) -> Option<Vec<Pat>> {
        let n = self.arity(c);
        let spec_rows: Vec<Vec<Pat>> = rows
            .iter()
            .filter_map(|r| {
                let (h, rest) = r.split_first()?;
                match h {
                    Pat::Ctor(d, sub) if d == c => {
                        let mut out = sub.clone();
                        out.resize(n, Pat::Wild);
                        out.extend_from_slice(rest);
                        Some(out)
                    }
                    Pat::Ctor(..) => None,
                    Pat::Wild => {
                        let mut out = vec![Pat::Wild; n];
                        out.extend_from_slice(rest);
                        Some(out)
                    }
                }
            })
            .collect();
        let mut nv: Vec<Pat> = args.to_vec();
        nv.resize(n, Pat::Wild);
        nv.extend_from_slice(&v[1..]);
        let mut ntys = self.field_tys(t, c);
        ntys.extend_from_slice(&tys[1.min(tys.len())..]);
        let w = self.useful(&spec_rows, &nv, &ntys)?;
        let (fields, rest) = w.split_at(n.min(w.len()));
        let mut out = vec![Pat::Ctor(c.clone(), fields.to_vec())];
        out.extend_from_slice(rest);
        Some(out)
    }

    /// A pattern as source text, for messages.
    pub fn show_pat(&self, p: &Pat) -> String {
        match p {
            Pat::Wild => "_".to_owned(),
            Pat::Ctor(c, args) => match c {
                Ctor::Bool(b) => b.to_string(),
                Ctor::Int(i) => i.to_string(),
                Ctor::Float(x) => format!("{:?}", f64::from_bits(*x)),
                Ctor::Str(s) => format!("{s:?}"),
                Ctor::Tuple(_) => format!(
                    "({})",
                    args.iter()
                        .map(|a| self.show_pat(a))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Ctor::Struct(id) => {
                    let adt = &self.env.adts[*id as usize];
                    let AdtKind::Struct(fs) = &adt.kind else {
                        return adt.name.clone();
                    };
                    let shown: Vec<String> = fs
                        .iter()
                        .zip(args.iter())
                        .filter(|(_, a)| !matches!(a, Pat::Wild))
                        .map(|(f, a)| format!("{}: {}", f.name, self.show_pat(a)))
                        .collect();
                    if shown.is_empty() {
                        format!("{} {{ .. }}", adt.name)
                    } else {
                        format!("{} {{ {}, .. }}", adt.name, shown.join(", "))
                    }
                }
                Ctor::Variant(id, i) => {
                    let adt = &self.env.adts[*id as usize];
                    let name = match &adt.kind {
                        AdtKind::Enum(vs) => vs.get(*i).map_or("?", |v| v.name.as_str()),
                        AdtKind::Struct(_) => "?",
                    };
                    if args.is_empty() {
                        name.to_owned()
                    } else {
                        format!(
                            "{name}({})",
                            args.iter()
                                .map(|a| self.show_pat(a))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                }
                Ctor::Nil => "[]".to_owned(),
                Ctor::Cons => {
                    let mut elems = Vec::new();
                    let mut cur = p;
                    loop {
                        match cur {
                            Pat::Ctor(Ctor::Cons, a) if a.len() == 2 => {
                                elems.push(self.show_pat(&a[0]));
                                cur = &a[1];
                            }
                            Pat::Ctor(Ctor::Nil, _) => break,
                            Pat::Wild => {
                                elems.push("..".to_owned());
                                break;
                            }
                            other => {
                                elems.push(format!("..{}", self.show_pat(other)));
                                break;
                            }
                        }
                    }
                    format!("[{}]", elems.join(", "))
                }
            },
        }
    }
}
