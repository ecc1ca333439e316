//! Local code: type inference of expressions, blocks and `let` statements.
//!
//! Expressions are checked at a role (inside a choreography) or in a local function; names
//! resolve to the role's variables first, then to global functions and variant constructors.

use crate::cx::{Checker, Class, NO_ROLE, UNKNOWN_ROLE, Why, suggest};
use crate::types::{Ty, TyCon};
use chor_diagnostics::{Diagnostic, Span};
use chor_syntax::ast::*;
use std::rc::Rc;
use std::sync::Arc;

impl<'p> Checker<'p> {
    /// Check `e` against an expected type.
    pub fn expect(&mut self, e: &Expr, want: &Ty, why: Why) -> Ty {
        let t = self.expr(e);
        self.unify_at(want, &t, e.span, why);
        t
    }

    /// The type of `e` (noting its resolution, type and role when recording).
    pub fn expr(&mut self, e: &Expr) -> Ty {
        let t = self.expr_kind(e);
        let res = std::mem::take(&mut self.last_res);
        if self.rec.is_some() {
            self.note(e.id, res, Some(&t));
        }
        t
    }

    fn expr_kind(&mut self, e: &Expr) -> Ty {
        match &e.kind {
            ExprKind::Lit(l) => lit_ty(l),
            ExprKind::Path(p) => self.path_expr(p),
            ExprKind::Unary(op, a) => {
                let t = self.expr(a);
                match op {
                    UnOp::Neg => {
                        self.check_class(&t, Class::Num, a.span, "-", true);
                        t
                    }
                    UnOp::Not => {
                        self.unify_at(&Ty::bool(), &t, a.span, Why::None);
                        Ty::bool()
                    }
                }
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b, e.span),
            ExprKind::Call(f, args) => self.call(f, args, e.span),
            ExprKind::Field(base, name) => self.field(base, name),
            ExprKind::TupleIndex(base, i, isp) => {
                let bt = self.expr(base);
                match self.tys.shallow(&bt) {
                    Ty::Con(TyCon::Tuple, elems) => match elems.get(*i as usize) {
                        Some(t) => t.clone(),
                        None => {
                            let shown = self.show(&bt);
                            self.emit(Diagnostic::error(
                                "E0307",
                                format!("no element `{i}` in a tuple of type `{shown}`"),
                                *isp,
                                format!(
                                    "the tuple has {} element{}",
                                    elems.len(),
                                    if elems.len() == 1 { "" } else { "s" }
                                ),
                            ));
                            Ty::Error
                        }
                    },
                    Ty::Var(_) => {
                        self.annotations_needed(base.span, &format!("`.{i}`"));
                        Ty::Error
                    }
                    Ty::Error => Ty::Error,
                    other => {
                        let shown = self.show(&other);
                        self.emit(Diagnostic::error(
                            "E0307",
                            format!("`.{i}` needs a tuple, but this has type `{shown}`"),
                            base.span,
                            format!("this is `{shown}`, not a tuple"),
                        ));
                        Ty::Error
                    }
                }
            }
            ExprKind::Tuple(es) => Ty::tuple(es.iter().map(|x| self.expr(x)).collect()),
            ExprKind::List(es) => {
                let elem = self.tys.fresh();
                for (k, x) in es.iter().enumerate() {
                    let why = if k == 0 {
                        Why::None
                    } else {
                        Why::Label(es[0].span, "the first element fixes the element type")
                    };
                    self.expect(x, &elem, why);
                }
                Ty::list(elem)
            }
            ExprKind::StructLit { name, fields } => self.struct_lit(name, fields, e.span),
            ExprKind::If { cond, then, els } => {
                self.expect(cond, &Ty::bool(), Why::None);
                let tt = self.block(then);
                match els {
                    Some(x) => {
                        let et = self.expr(x);
                        if !self.tys.unify(&tt, &et) {
                            let (a, b) = (self.show(&tt), self.show(&et));
                            let then_at = then.tail.as_ref().map_or(then.span, |t| t.span);
                            let else_at = match &x.kind {
                                ExprKind::Block(b) => b.tail.as_ref().map_or(x.span, |t| t.span),
                                _ => x.span,
                            };
                            self.emit(
                                Diagnostic::error(
                                    "E0300",
                                    format!(
                                        "`if` and `else` have different types: `{a}` and `{b}`"
                                    ),
                                    else_at,
                                    format!("this is `{b}`"),
                                )
                                .with_label(then_at, format!("this is `{a}`")),
                            );
                        }
                        tt
                    }
                    None => {
                        if !self.tys.unify(&tt, &Ty::unit()) {
                            let a = self.show(&tt);
                            let at = then.tail.as_ref().map_or(then.span, |t| t.span);
                            self.emit(
                                Diagnostic::error(
                                    "E0300",
                                    format!("`if` without `else` has type `()`, but its block has type `{a}`"),
                                    at,
                                    format!("this is `{a}`"),
                                )
                                .with_help("add an `else` branch of the same type"),
                            );
                        }
                        Ty::unit()
                    }
                }
            }
            ExprKind::Match { scrutinee, arms } => {
                let st = self.expr(scrutinee);
                let result = self.tys.fresh();
                let mut rows = Vec::new();
                let mut first: Option<Span> = None;
                for arm in arms {
                    let mark = self.scope.mark();
                    let role = self.role;
                    let before = self.error_count();
                    let pat = self.pattern_top(&arm.pat, &st, role);
                    rows.push((pat, arm.pat.span, self.error_count() == before));
                    let bt = self.expr(&arm.body);
                    if !self.tys.unify(&result, &bt) {
                        let (a, b) = (self.show(&result), self.show(&bt));
                        let mut d = Diagnostic::error(
                            "E0300",
                            format!(
                                "`match` arms have different types: expected `{a}`, found `{b}`"
                            ),
                            arm.body.span,
                            format!("this is `{b}`"),
                        );
                        if let Some(f) = first {
                            d = d.with_label(f, format!("the first arm is `{a}`"));
                        }
                        self.emit(d);
                    }
                    if first.is_none() {
                        first = Some(arm.body.span);
                    }
                    self.scope.pop_to(mark);
                }
                self.check_match(&st, &rows, scrutinee.span);
                result
            }
            ExprKind::Block(b) => self.block(b),
            ExprKind::Return(v) => {
                match self.ret.clone() {
                    None => {
                        if let Some(v) = v {
                            self.expr(v);
                        }
                        self.emit(
                            Diagnostic::error(
                                "E0313",
                                "`return` cannot be used inside an expression of a choreography",
                                e.span,
                                "not inside a function",
                            )
                            .with_help("a choreography returns with the statement `return R.e;`"),
                        );
                    }
                    Some((rt, rspan)) => match v {
                        Some(v) => {
                            self.expect(
                                v,
                                &rt,
                                Why::Label(rspan, "expected because of this return type"),
                            );
                        }
                        None => {
                            if !self.tys.unify(&rt, &Ty::unit()) {
                                self.mismatch(
                                    e.span,
                                    &rt,
                                    &Ty::unit(),
                                    Why::Label(rspan, "expected because of this return type"),
                                );
                            }
                        }
                    },
                }
                self.tys.fresh()
            }
            ExprKind::Located(_, inner) => {
                self.emit(
                    Diagnostic::error(
                        "E0314",
                        "a located expression `R.(…)` is only allowed as an argument of a choreography call",
                        e.span,
                        "not an argument of a choreography call",
                    )
                    .with_help("inside `R.e`, every expression is already evaluated at R: drop the role prefix"),
                );
                let _ = inner;
                Ty::Error
            }
            ExprKind::Error => Ty::Error,
        }
    }

    pub fn block(&mut self, b: &Block) -> Ty {
        let mark = self.scope.mark();
        for s in &b.stmts {
            match s {
                Stmt::Let { pat, ty, value, .. } => {
                    let role = self.role;
                    self.let_binding(pat, ty.as_ref(), value, role, role);
                }
                Stmt::Expr(x) => {
                    self.expr(x);
                }
                Stmt::Error(_) => {}
            }
        }
        let t = match &b.tail {
            Some(t) => self.expr(t),
            None => match b.stmts.last() {
                Some(Stmt::Expr(Expr {
                    kind: ExprKind::Return(_),
                    ..
                })) => self.tys.fresh(),
                _ => Ty::unit(),
            },
        };
        self.scope.pop_to(mark);
        t
    }

    /// `let p: T = value` where `value` is evaluated at `at` and the pattern binds at `bind_role`.
    pub fn let_binding(
        &mut self,
        pat: &Pattern,
        ty: Option<&Type>,
        value: &Expr,
        at: crate::cx::RoleId,
        bind_role: crate::cx::RoleId,
    ) {
        let saved = self.role;
        self.role = at;
        let vt = self.expr(value);
        self.role = saved;
        let t = match ty {
            Some(ann) => {
                let generics = self.generics.clone();
                let at = self.resolve_ty(ann, self.module, &generics);
                self.unify_at(
                    &at,
                    &vt,
                    value.span,
                    Why::Label(ann.span(), "expected because of this annotation"),
                );
                at
            }
            None => vt,
        };
        self.let_pattern(pat, &t, bind_role);
    }

    /// Bind an irrefutable pattern of type `t` at `role`.
    pub fn let_pattern(&mut self, pat: &Pattern, t: &Ty, role: crate::cx::RoleId) {
        let p = self.pattern_top(pat, t, role);
        self.check_irrefutable(t, &p, pat.span);
    }

    fn annotations_needed(&mut self, span: Span, what: &str) {
        self.emit(
            Diagnostic::error(
                "E0305",
                format!(
                    "type annotations needed: the type of this value must be known to use {what}"
                ),
                span,
                "the type of this value is not known yet",
            )
            .with_help("annotate the variable's type where it is bound, e.g. `let x: Quote = …;`"),
        );
    }

    fn path_expr(&mut self, p: &Path) -> Ty {
        let seg = p.last();
        if p.is_single()
            && let Some(id) = self.scope.lookup(&seg.name, self.role)
        {
            self.scope.vars[id as usize].used = true;
            let v = &self.scope.vars[id as usize];
            let (ty, def, role) = (v.ty.clone(), v.def, v.role);
            let agreed = v.agreed.clone();
            self.last_res = v.binding;
            self.reference(seg.span, def);
            self.hover_var(seg.span, &seg.name, &ty, role);
            self.hover_agreed(seg.span, &agreed);
            return ty;
        }
        if let Some((_, r)) = self.p.lookup_fn(self.module, p) {
            if let Some(sig) = self.env.fns.get(&r).cloned() {
                self.reference(seg.span, sig.name_span);
                let builtin = self.p.fn_def(r).is_some_and(|d| d.body.is_none());
                self.last_res = if builtin {
                    crate::ir::Res::Builtin(r)
                } else {
                    crate::ir::Res::Fn(r)
                };
                let inst = self.instantiate(&sig.generics);
                let params: Vec<Ty> = sig.params.iter().map(|(_, t)| t.subst(&inst)).collect();
                let ret = sig.ret.subst(&inst);
                if self.tables {
                    let generic = Ty::func(
                        sig.params.iter().map(|(_, t)| t.clone()).collect(),
                        sig.ret.clone(),
                    );
                    let adts = &self.env.adts;
                    let shown = crate::types::show(&generic, &|id| {
                        adts.get(id as usize)
                            .map_or_else(String::new, |a| a.name.clone())
                    });
                    let gens = if sig.generics.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "<{}>",
                            sig.generics
                                .iter()
                                .map(|g| g.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    };
                    let text = format!("fn {}{gens}{}", sig.name, shown.trim_start_matches("fn"));
                    self.hovers.push((seg.span, Arc::from(text)));
                }
                return Ty::func(params, ret);
            }
            return Ty::Error;
        }
        if let Some((enum_name, vi)) = self.p.lookup_variant(p) {
            let Some(&id) = self
                .p
                .enums
                .get(&enum_name)
                .and_then(|r| self.env.adt_of.get(r))
            else {
                return Ty::Error;
            };
            self.last_res = self.variant_res(id, vi);
            return self.variant_ctor_ty(id, vi, seg.span);
        }
        if !p.is_single() {
            return self.unknown_path(p);
        }
        if self.role == UNKNOWN_ROLE {
            return Ty::Error;
        }
        // A variable of another role?
        let others = self.scope.elsewhere(&seg.name, self.role);
        if self.role != NO_ROLE && !others.is_empty() {
            self.not_available(seg, &others);
            return Ty::Error;
        }
        if let Some((_, r)) = self.p.lookup_struct(self.module, p) {
            let def = self.p.struct_def(r).map_or(seg.span, |s| s.name.span);
            self.emit(
                Diagnostic::error(
                    "E0106",
                    format!("`{}` is a struct type, not a value", seg.name),
                    seg.span,
                    "a type, used as a value",
                )
                .with_label(def, "defined here")
                .with_help(format!(
                    "build a value with a struct literal: `{} {{ … }}`",
                    seg.name
                )),
            );
            return Ty::Error;
        }
        let chor_param = self.chor_sig.as_ref().and_then(|sig| {
            let k = sig.params.iter().position(|(n, ..)| *n == seg.name)?;
            sig.chors.get(k)?.as_ref()?;
            Some(sig.params[k].3)
        });
        let chor_def = chor_param.or_else(|| self.p.chor(&seg.name).map(|c| c.name.span));
        if self.in_message
            && let Some(def) = chor_def
        {
            self.emit(
                Diagnostic::error(
                    "E0730",
                    format!("the choreography `{}` cannot travel in a message", seg.name),
                    seg.span,
                    "a choreography inside a message",
                )
                .with_label(def, "defined here")
                .with_note("choreographies are passed to calls by name; they are not values any role holds")
                .with_help(format!(
                    "pass it to the choreography that needs it: `P(R1, R2)({}, R1.x)`",
                    seg.name
                )),
            );
            return Ty::Error;
        }
        if let Some(def) = chor_param {
            self.emit(
                Diagnostic::error(
                    "E0106",
                    format!("`{}` is a choreography, not a value", seg.name),
                    seg.span,
                    "choreographies cannot be used inside local code",
                )
                .with_label(def, "declared here")
                .with_help(format!(
                    "call it as a statement: `{}(R1, R2)(R1.x, …);`",
                    seg.name
                )),
            );
            return Ty::Error;
        }
        if let Some(c) = self.p.chor(&seg.name) {
            let def = c.name.span;
            self.emit(
                Diagnostic::error(
                    "E0106",
                    format!("`{}` is a choreography, not a value", seg.name),
                    seg.span,
                    "choreographies cannot be used inside local code",
                )
                .with_label(def, "defined here")
                .with_help(format!(
                    "call it as a statement: `{}(R1, R2)(R1.x, …);`",
                    seg.name
                )),
            );
            return Ty::Error;
        }
        // `xs[i]` or `Ws[e]` parsed where a value is expected: the brackets name a family's
        // member, which is a role; lists are read with `list::get`.
        if let Some((base, _)) = seg.name.split_once('[') {
            self.emit(
                Diagnostic::error(
                    "E0760",
                    format!("`{}` is not a value: brackets name a member of a family, a role", seg.name),
                    seg.span,
                    "there is no indexing in expressions",
                )
                .with_help(if base.starts_with(|c: char| c.is_uppercase()) {
                    format!(
                        "a member goes where a role goes: `{0}.x -> R.y;`, `let R.y = P(R, {0})(…);`",
                        seg.name
                    )
                } else {
                    format!("read an element of a list with `list::get({base}, i)`")
                }),
            );
            return Ty::Error;
        }
        if self.roles.iter().any(|(n, _)| *n == seg.name) {
            self.emit(
                Diagnostic::error(
                    "E0101",
                    format!(
                        "cannot find value `{}`: it is a role, not a variable",
                        seg.name
                    ),
                    seg.span,
                    "roles are not values",
                )
                .with_help(if seg.name == self.role_name(self.role) {
                    // `B.print(to_string(B))`: the role itself; a message would be a self-send.
                    format!(
                        "this expression already runs at `{0}`: name one of `{0}`'s variables instead",
                        seg.name
                    )
                } else {
                    format!(
                        "to use a variable of `{}`, send it first: `{}.x -> {}.x;`",
                        seg.name,
                        seg.name,
                        self.role_name(self.role)
                    )
                }),
            );
            return Ty::Error;
        }
        let mut cands = self.scope.names_at(self.role);
        cands.extend(
            self.p
                .fns
                .keys()
                .filter(|q| q.module.as_deref() == self.module || q.module.is_none())
                .map(|q| q.name.clone()),
        );
        cands.extend(self.p.variants.keys().cloned());
        cands.sort();
        let where_ = if self.role == NO_ROLE {
            String::new()
        } else {
            format!(" at {}", self.role_name(self.role))
        };
        let mut d = Diagnostic::error(
            "E0101",
            format!("cannot find `{}` in this scope{where_}", seg.name),
            seg.span,
            "not found in this scope",
        );
        if let Some((def, label, advice)) = self.ended_binding(seg) {
            d = d.with_label(def, label);
            if let Some(advice) = advice {
                d = d.with_help(advice);
            }
        } else if let Some(s) = suggest(&seg.name, cands.iter().map(String::as_str)) {
            d = d.with_help(format!("a name with a similar spelling exists: `{s}`"));
        }
        self.emit(d);
        Ty::Error
    }

    /// When `seg` names a variable of this role whose block ended before this use: where it
    /// was bound (a span and its label) and, for a choreography block, how to keep the value
    /// past it. A branch of a conditional is a block for every role (the card's scoping), so
    /// a value decided in the branches is bound by the conditional itself; a binding a `for`
    /// round made at a role outside the family ends with its round.
    fn ended_binding(&self, seg: &Ident) -> Option<(Span, String, Option<String>)> {
        if self.role == NO_ROLE {
            return None;
        }
        let v = self.scope.vars.iter().rev().find(|v| {
            v.role == self.role
                && crate::cx::shown_name(&v.name) == seg.name
                && v.def.file == seg.span.file
                && v.def.end <= seg.span.start
        })?;
        let (def, role, name) = (v.def, self.role_name(self.role), &seg.name);
        let in_round = v.name != seg.name;
        let branch = !in_round
            && self.chor_sig.is_some()
            && self
                .ended_blocks
                .iter()
                .any(|b| b.file == def.file && b.start <= def.start && def.end <= b.end);
        Some(if in_round {
            (
                def,
                format!("`{name}` at {role} is bound here, in a `for` round, and ends with it"),
                Some(format!(
                    "a binding at a role outside the family lives for its round only; bind it \
                     at the round's member (which keeps it), or gather the members' values to \
                     {role} after the loop (`Ws.x -> {role}.xs;`)"
                )),
            )
        } else if branch {
            (
                def,
                format!("`{name}` at {role} is bound here, in a branch, and ends with it"),
                Some(format!(
                    "a branch is a block for every role; to use what the branches decide after \
                     the conditional, bind it by the conditional: `let {role}.{name} = if … \
                     {{ …; {role}.(…) }} else {{ …; {role}.(…) }};` (or `match`)"
                )),
            )
        } else {
            (
                def,
                format!("`{name}` is bound here, in a block that has ended"),
                None,
            )
        })
    }

    /// `x` used at one role while it lives at others.
    fn not_available(&mut self, seg: &Ident, others: &[u32]) {
        let here = self.role_name(self.role);
        let first = &self.scope.vars[others[0] as usize];
        let (owner, def) = (self.role_name(first.role), first.def);
        let mut d = Diagnostic::error(
            "E0202",
            format!("`{}` is not available at {here}", seg.name),
            seg.span,
            format!("{here} has no variable `{}`", seg.name),
        );
        for id in others {
            let v = &self.scope.vars[*id as usize];
            let owner = self.role_name(v.role);
            let label = match self.line(v.def) {
                Some(l) => format!("`{}` lives at {owner} (line {l})", seg.name),
                None => format!("`{}` lives at {owner}", seg.name),
            };
            d = d.with_label(v.def, label);
        }
        // The design card's wording, verbatim: "x lives at Buyer (line 3); send it first:
        // Buyer.x -> Seller.x;".
        let lives = match self.line(def) {
            Some(l) => format!("{} lives at {owner} (line {l})", seg.name),
            None => format!("{} lives at {owner}", seg.name),
        };
        d = d.with_help(format!(
            "{lives}; send it first: {owner}.{n} -> {here}.{n};",
            n = seg.name
        ));
        d = d.with_note(
            "each role has its own variables; a value moves between roles only by communication",
        );
        // The role had a binding of its own, which has ended: that is likelier the mistake.
        if let Some((def, label, advice)) = self.ended_binding(seg) {
            d = d.with_label(def, label);
            if let Some(advice) = advice {
                d = d.with_note(advice);
            }
        }
        self.emit(d);
    }

    fn unknown_path(&mut self, p: &Path) -> Ty {
        let seg = p.last();
        let module = &p.segments[0].name;
        let known_module = crate::stdlib::SOURCES
            .iter()
            .any(|(m, _, _)| *m == Some(module.as_str()));
        let mut d = if p.segments.len() > 2 {
            Diagnostic::error(
                "E0103",
                format!("cannot find `{}`", p.text()),
                p.span,
                "paths have at most one `::`",
            )
        } else if known_module {
            let cands: Vec<String> = self
                .p
                .fns
                .iter()
                .filter(|(q, _)| q.module.as_deref() == Some(module.as_str()))
                .filter(|(_, r)| !self.p.fn_def(**r).is_some_and(FnDef::is_internal))
                .map(|(q, _)| q.name.clone())
                .collect();
            let mut d = Diagnostic::error(
                "E0103",
                format!("cannot find function `{}` in module `{module}`", seg.name),
                seg.span,
                format!("`{module}` has no function `{}`", seg.name),
            );
            if let Some(s) = suggest(&seg.name, cands.iter().map(String::as_str)) {
                d = d.with_help(format!("did you mean `{module}::{s}`?"));
            }
            d
        } else {
            let mods: Vec<&str> = crate::stdlib::SOURCES
                .iter()
                .filter_map(|(m, _, _)| *m)
                .collect();
            let mut d = Diagnostic::error(
                "E0103",
                format!("unknown module `{module}`"),
                p.segments[0].span,
                "no module of this name",
            );
            if let Some(s) = suggest(module, mods.iter().copied()) {
                d = d.with_help(format!("did you mean `{s}`?"));
            } else {
                d = d.with_help(format!("the modules are {}", mods.join(", ")));
            }
            d
        };
        if self.p.variants.contains_key(&seg.name) {
            d = d.with_help(format!("variants are bare names: write `{}`", seg.name));
        }
        self.emit(d);
        Ty::Error
    }

    /// The type of a variant used as a value: the enum for a nullary variant, else its
    /// constructor function.
    fn variant_ctor_ty(&mut self, id: u32, vi: usize, span: Span) -> Ty {
        let adt = self.env.adts[id as usize].clone();
        let crate::cx::AdtKind::Enum(vs) = &adt.kind else {
            return Ty::Error;
        };
        let Some(v) = vs.get(vi) else {
            return Ty::Error;
        };
        self.reference(span, v.span);
        let inst = self.instantiate(&adt.generics);
        let result = Ty::Con(
            TyCon::Adt(id),
            inst.iter().map(|(_, t)| t.clone()).collect(),
        );
        if v.fields.is_empty() {
            result
        } else {
            Ty::func(v.fields.iter().map(|f| f.subst(&inst)).collect(), result)
        }
    }

    fn call(&mut self, f: &Expr, args: &[Expr], span: Span) -> Ty {
        let ft = self.expr(f);
        let ft = self.tys.shallow(&ft);
        match ft {
            Ty::Fn(ps, r) => {
                if ps.len() != args.len() {
                    let what = match &f.kind {
                        ExprKind::Path(p) => format!("`{}`", p.text()),
                        _ => "this function".to_owned(),
                    };
                    self.emit(
                        Diagnostic::error(
                            "E0302",
                            format!(
                                "{what} takes {} argument{} but {} {} supplied",
                                ps.len(),
                                if ps.len() == 1 { "" } else { "s" },
                                args.len(),
                                if args.len() == 1 { "was" } else { "were" }
                            ),
                            span,
                            format!(
                                "expected {} argument{}",
                                ps.len(),
                                if ps.len() == 1 { "" } else { "s" }
                            ),
                        )
                        .with_label(f.span, "called here"),
                    );
                }
                for (k, a) in args.iter().enumerate() {
                    match ps.get(k) {
                        Some(pt) => {
                            self.expect(a, pt, Why::None);
                        }
                        None => {
                            self.expr(a);
                        }
                    }
                }
                (*r).clone()
            }
            Ty::Var(_) => {
                let ats: Vec<Ty> = args.iter().map(|a| self.expr(a)).collect();
                let r = self.tys.fresh();
                let fnt = Ty::func(ats, r.clone());
                self.unify_at(&ft, &fnt, f.span, Why::None);
                r
            }
            Ty::Error => {
                for a in args {
                    self.expr(a);
                }
                Ty::Error
            }
            other => {
                let shown = self.show(&other);
                for a in args {
                    self.expr(a);
                }
                self.emit(Diagnostic::error(
                    "E0303",
                    format!("this is not a function: it has type `{shown}`"),
                    f.span,
                    format!("`{shown}` cannot be called"),
                ));
                Ty::Error
            }
        }
    }

    fn field(&mut self, base: &Expr, name: &Ident) -> Ty {
        let bt = self.expr(base);
        match self.tys.shallow(&bt) {
            Ty::Con(TyCon::Adt(id), args) => {
                let adt = &self.env.adts[id as usize];
                match &adt.kind {
                    crate::cx::AdtKind::Struct(fields) => {
                        if let Some((k, fi)) =
                            fields.iter().enumerate().find(|(_, f)| f.name == name.name)
                        {
                            if let Some(r) = self.adt_items.get(id as usize) {
                                self.last_res = crate::ir::Res::Field {
                                    strukt: *r,
                                    index: k as u32,
                                };
                            }
                            let inst: Vec<(Rc<str>, Ty)> = adt
                                .generics
                                .iter()
                                .cloned()
                                .zip(args.iter().cloned())
                                .collect();
                            let t = fi.ty.subst(&inst);
                            let def = fi.span;
                            self.reference(name.span, def);
                            self.hover_var(name.span, &name.name, &t, NO_ROLE);
                            t
                        } else {
                            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                            let sugg = suggest(&name.name, names.iter().copied());
                            let list = names
                                .iter()
                                .map(|n| format!("`{n}`"))
                                .collect::<Vec<_>>()
                                .join(", ");
                            let sname = adt.name.clone();
                            let mut d = Diagnostic::error(
                                "E0306",
                                format!("no field `{}` on type `{sname}`", name.name),
                                name.span,
                                "unknown field",
                            );
                            d = match sugg {
                                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                                None if names.is_empty() => {
                                    d.with_note(format!("`{sname}` has no fields"))
                                }
                                None => d.with_note(format!("the fields of `{sname}` are {list}")),
                            };
                            self.emit(d);
                            Ty::Error
                        }
                    }
                    crate::cx::AdtKind::Enum(_) => {
                        let shown = self.show(&bt);
                        self.emit(
                            Diagnostic::error(
                                "E0306",
                                format!(
                                    "no field `{}` on type `{shown}`: it is an enum",
                                    name.name
                                ),
                                name.span,
                                "enums have no fields",
                            )
                            .with_help("use `match` to look inside a variant"),
                        );
                        Ty::Error
                    }
                }
            }
            Ty::Var(_) => {
                self.annotations_needed(base.span, &format!("the field `.{}`", name.name));
                Ty::Error
            }
            Ty::Error => Ty::Error,
            other => {
                let shown = self.show(&other);
                let mut d = Diagnostic::error(
                    "E0306",
                    format!("no field `{}` on type `{shown}`", name.name),
                    name.span,
                    format!("`{shown}` has no fields"),
                );
                if other.is_con(TyCon::Tuple) {
                    d = d.with_help("tuple elements are accessed by position: `.0`, `.1`, …");
                }
                self.emit(d);
                Ty::Error
            }
        }
    }

    fn struct_lit(&mut self, name: &Path, fields: &[FieldInit], span: Span) -> Ty {
        let seg = name.last();
        let found = self.p.lookup_struct(self.module, name);
        let Some((_, r)) = found else {
            for f in fields {
                self.expr(&f.value);
            }
            let mut d = if self.p.lookup_enum(self.module, name).is_some() {
                Diagnostic::error(
                    "E0107",
                    format!("`{}` is an enum, not a struct", name.text()),
                    name.span,
                    "not a struct",
                )
                .with_help("build an enum value by calling a variant, e.g. `Some(x)`")
            } else {
                Diagnostic::error(
                    "E0107",
                    format!("cannot find struct `{}`", name.text()),
                    name.span,
                    "not a known struct",
                )
            };
            let cands: Vec<String> = self.p.structs.keys().map(|q| q.name.clone()).collect();
            if let Some(s) = suggest(&seg.name, cands.iter().map(String::as_str)) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
            self.emit(d);
            return Ty::Error;
        };
        let Some(&id) = self.env.adt_of.get(&r) else {
            return Ty::Error;
        };
        let adt = self.env.adts[id as usize].clone();
        self.reference(seg.span, adt.name_span);
        let crate::cx::AdtKind::Struct(defs) = &adt.kind else {
            return Ty::Error;
        };
        let inst = self.instantiate(&adt.generics);
        let mut seen: Vec<Option<Span>> = vec![None; defs.len()];
        for f in fields {
            match defs.iter().position(|d| d.name == f.name.name) {
                None => {
                    self.expr(&f.value);
                    let names: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
                    let mut d = Diagnostic::error(
                        "E0309",
                        format!("struct `{}` has no field named `{}`", adt.name, f.name.name),
                        f.name.span,
                        "unknown field",
                    );
                    if let Some(s) = suggest(&f.name.name, names.iter().copied()) {
                        d = d.with_help(format!("did you mean `{s}`?"));
                    } else {
                        d = d.with_note(format!(
                            "the fields of `{}` are {}",
                            adt.name,
                            names
                                .iter()
                                .map(|n| format!("`{n}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                    self.emit(d);
                }
                Some(k) => {
                    let ft = defs[k].ty.subst(&inst);
                    self.reference(f.name.span, defs[k].span);
                    if let Some(prev) = seen[k] {
                        self.expr(&f.value);
                        self.emit(
                            Diagnostic::error(
                                "E0310",
                                format!("the field `{}` is specified more than once", f.name.name),
                                f.name.span,
                                "specified again here",
                            )
                            .with_label(prev, "first specified here"),
                        );
                    } else {
                        seen[k] = Some(f.name.span);
                        self.expect(
                            &f.value,
                            &ft,
                            Why::Label(defs[k].span, "the field's type is declared here"),
                        );
                    }
                }
            }
        }
        let missing: Vec<&str> = defs
            .iter()
            .zip(seen.iter())
            .filter(|(_, s)| s.is_none())
            .map(|(d, _)| d.name.as_str())
            .collect();
        if !missing.is_empty() {
            let list = missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ");
            self.emit(
                Diagnostic::error(
                    "E0308",
                    format!(
                        "missing field{} {list} in struct literal of `{}`",
                        if missing.len() == 1 { "" } else { "s" },
                        adt.name
                    ),
                    span,
                    format!("missing {list}"),
                )
                .with_help(format!(
                    "every field must be given exactly once: add {}",
                    missing
                        .iter()
                        .map(|m| format!("`{m}: …`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
        }
        self.last_res = crate::ir::Res::Struct(r);
        Ty::Con(TyCon::Adt(id), inst.into_iter().map(|(_, t)| t).collect())
    }

    fn binary(&mut self, op: BinOp, a: &Expr, b: &Expr, span: Span) -> Ty {
        let text = op.text();
        match op {
            BinOp::And | BinOp::Or => {
                self.expect(a, &Ty::bool(), Why::None);
                self.expect(b, &Ty::bool(), Why::None);
                return Ty::bool();
            }
            _ => {}
        }
        let lt = self.expr(a);
        let rt = self.expr(b);
        if !self.tys.unify(&lt, &rt) {
            let (ls, rs) = (self.show(&lt), self.show(&rt));
            let mut d = Diagnostic::error(
                "E0304",
                format!("cannot apply `{text}` to `{ls}` and `{rs}`"),
                span,
                format!("`{ls}` {text} `{rs}`"),
            )
            .with_label(a.span, format!("this is `{ls}`"))
            .with_label(b.span, format!("this is `{rs}`"));
            if (ls == "Int" && rs == "Float") || (ls == "Float" && rs == "Int") {
                d = d.with_help("there are no implicit conversions: both operands must be `Int` or both `Float`");
            } else if op == BinOp::Concat && (ls == "String" || rs == "String") {
                d = d.with_help("convert the other operand with `to_string(…)`");
            } else {
                d = d.with_help(format!("both operands of `{text}` must have the same type"));
            }
            self.emit(d);
            return match op {
                BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem | BinOp::Concat => {
                    Ty::Error
                }
                _ => Ty::bool(),
            };
        }
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => {
                self.check_class(&lt, Class::Num, span, text, true);
                lt
            }
            BinOp::Concat => {
                self.check_class(&lt, Class::Concat, span, text, true);
                lt
            }
            BinOp::Eq | BinOp::Ne => {
                self.check_class(&lt, Class::NoFn, span, text, true);
                Ty::bool()
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                self.check_class(&lt, Class::Ord, span, text, true);
                Ty::bool()
            }
            BinOp::And | BinOp::Or => Ty::bool(),
        }
    }
}

pub fn lit_ty(l: &Lit) -> Ty {
    match l {
        Lit::Int(_) => Ty::int(),
        Lit::Float(_) => Ty::float(),
        Lit::Bool(_) => Ty::bool(),
        Lit::Str(_) => Ty::str(),
        Lit::Unit => Ty::unit(),
    }
}
