//! Agreed values (section 9 of the design card): groups `(A, B)`, the agreement of each
//! binding, and the purity of what a group computes.
//!
//! Every member of a group evaluates a group's expression by itself (`let (A, B).y = e;`, the
//! condition of `if (A, B).e`), and no message reconciles them: the members take the same
//! branch only because they compute the same value. So such an expression may read only
//! variables that every member holds agreed (bound together, by one statement, for a
//! superset of the group), and may have no effect whose result could differ between the
//! members (I/O, the clock, randomness, the environment, externs), directly or through the
//! functions it calls. A slip here would not be a type error at run time but two roles
//! taking different branches: a deadlock, which `chor check` promises never happens.

use crate::cx::{Checker, RoleId, UNKNOWN_ROLE, VarInfo};
use crate::program::ItemRef;
use crate::types::Ty;
use chor_diagnostics::{Diagnostic, Span};
use chor_syntax::ast::*;
use std::collections::HashMap;

/// Modules whose functions read or change the world outside the program.
const EFFECT_MODULES: &[&str] = &["io", "fs", "time", "random", "env"];
/// Prelude functions that do I/O.
const EFFECT_PRELUDE: &[&str] = &["print", "read_line"];

/// The paths an expression reads, each with whether a binding inside the expression (a block's
/// `let`, a match arm's pattern) shadows it.
fn paths<'e>(e: &'e Expr, bound: &mut Vec<String>, out: &mut Vec<(&'e Path, bool)>) {
    match &e.kind {
        ExprKind::Lit(_) | ExprKind::Error => {}
        ExprKind::Path(p) => {
            let local = p.is_single() && bound.iter().any(|b| *b == p.last().name);
            out.push((p, local));
        }
        ExprKind::Unary(_, x) | ExprKind::Field(x, _) | ExprKind::TupleIndex(x, _, _) => {
            paths(x, bound, out)
        }
        ExprKind::Binary(_, a, b) | ExprKind::Located(a, b) => {
            paths(a, bound, out);
            paths(b, bound, out);
        }
        ExprKind::Call(f, args) => {
            paths(f, bound, out);
            args.iter().for_each(|a| paths(a, bound, out));
        }
        ExprKind::Tuple(xs) | ExprKind::List(xs) => xs.iter().for_each(|x| paths(x, bound, out)),
        ExprKind::StructLit { fields, .. } => {
            fields.iter().for_each(|f| paths(&f.value, bound, out))
        }
        ExprKind::If { cond, then, els } => {
            paths(cond, bound, out);
            block_paths(then, bound, out);
            if let Some(x) = els {
                paths(x, bound, out);
            }
        }
        ExprKind::Match { scrutinee, arms } => {
            paths(scrutinee, bound, out);
            for a in arms {
                let mark = bound.len();
                pattern_names(&a.pat, bound);
                paths(&a.body, bound, out);
                bound.truncate(mark);
            }
        }
        ExprKind::Block(b) => block_paths(b, bound, out),
        ExprKind::Return(x) => {
            if let Some(x) = x {
                paths(x, bound, out);
            }
        }
    }
}

fn block_paths<'e>(b: &'e Block, bound: &mut Vec<String>, out: &mut Vec<(&'e Path, bool)>) {
    let mark = bound.len();
    for s in &b.stmts {
        match s {
            Stmt::Let { pat, value, .. } => {
                paths(value, bound, out);
                pattern_names(pat, bound);
            }
            Stmt::Expr(e) => paths(e, bound, out),
            Stmt::Error(_) => {}
        }
    }
    if let Some(t) = &b.tail {
        paths(t, bound, out);
    }
    bound.truncate(mark);
}

/// The names a pattern may bind (a nullary variant's name too: shadowing it only makes the
/// walk more careful).
pub(crate) fn pattern_names(p: &Pattern, out: &mut Vec<String>) {
    match &p.kind {
        PatternKind::Ident(id) => out.push(id.name.clone()),
        PatternKind::Wild | PatternKind::Lit(_) | PatternKind::Error => {}
        PatternKind::Tuple(ps) | PatternKind::Variant { args: ps, .. } => {
            ps.iter().for_each(|p| pattern_names(p, out))
        }
        PatternKind::Struct { fields, .. } => {
            fields.iter().for_each(|f| pattern_names(&f.pat, out))
        }
        PatternKind::List { elems, rest } => {
            elems.iter().for_each(|p| pattern_names(p, out));
            if let Some(Some(r)) = rest {
                pattern_names(r, out);
            }
        }
    }
}

/// How a group is written: `(A, B)`.
pub(crate) fn group_text(names: &[String]) -> String {
    format!("({})", names.join(", "))
}

impl Checker<'_> {
    /// The roles of a group in the order written, without unknown roles; a role listed twice
    /// is E0700.
    pub(crate) fn group_of(&mut self, g: &Group) -> Vec<RoleId> {
        // One plain role in parentheses: a written `(A)`, never the result of expanding a
        // family (a family of one, or members that met, are members `Ws[0]`).
        let known = g
            .roles
            .first()
            .is_some_and(|r| self.roles.iter().any(|(n, _)| *n == r.name));
        self.group_of_one(g, known);
        let mut out: Vec<(RoleId, Span)> = Vec::new();
        for r in &g.roles {
            let k = self.role_of(r);
            if k == UNKNOWN_ROLE {
                continue;
            }
            if let Some((_, prev)) = out.iter().find(|(x, _)| *x == k) {
                let prev = *prev;
                self.emit(
                    Diagnostic::error(
                        "E0700",
                        format!("`{}` is listed twice in a group", r.name),
                        r.span,
                        "listed again here",
                    )
                    .with_label(prev, "first listed here")
                    .with_help("each role of a group holds the value once; list it once"),
                );
                continue;
            }
            out.push((k, r.span));
        }
        out.into_iter().map(|(k, _)| k).collect()
    }

    /// E0770 for a group written with one plain role, `(A)` (in a body or a signature): a
    /// written `(Ws)` is the family's members, and a family of one or members that met are
    /// members (`Ws[0]`), never a plain role, by the time the checks see them.
    /// `known`: the role is one of the choreography's (an unknown one is reported already).
    pub(crate) fn group_of_one(&mut self, g: &Group, known: bool) {
        if let [only] = g.roles.as_slice()
            && known
            && !only.name.contains('[')
        {
            self.emit(
                Diagnostic::error(
                    "E0770",
                    format!("`({})` is a group of one role", only.name),
                    g.span,
                    "one role here",
                )
                .with_help(format!(
                    "a value held by one role is written `{0}.x`; a group lists at least two \
                     roles, `(A, B)`, or is one family, `(Ws)`, for every member agreed",
                    only.name
                )),
            );
        }
    }

    /// The names of roles, for messages.
    fn role_names(&self, roles: &[RoleId]) -> Vec<String> {
        roles.iter().map(|r| self.role_name(*r)).collect()
    }

    /// Mark the variables bound since `mark` (an index into `scope.vars`) as agreed by `group`,
    /// and show the group in their hovers.
    pub(crate) fn mark_agreed(&mut self, mark: usize, group: &[RoleId]) {
        let mut sorted = group.to_vec();
        sorted.sort_unstable();
        let mut defs = Vec::new();
        self.agreements += 1;
        let stamp = self.agreements;
        for v in self.scope.vars.iter_mut().skip(mark) {
            v.agreed = sorted.clone();
            v.agreement = stamp;
            defs.push((v.def, v.binding));
        }
        for (d, binding) in defs {
            self.hover_agreed(d, &sorted);
            if let crate::ir::Res::Local(node) = binding
                && sorted.len() > 1
            {
                self.note_group(node, &sorted);
            }
        }
    }

    /// Binds `pat` (of type `ty`) at the first of `members` and, for a group, copies its
    /// names to every member, agreed; nothing when the roles are unknown (already reported).
    pub(crate) fn bind_at_members(
        &mut self,
        pat: &chor_syntax::ast::Pattern,
        ty: &Ty,
        members: &[RoleId],
    ) {
        let Some(&first) = members.first().filter(|r| **r != UNKNOWN_ROLE) else {
            return;
        };
        let mark = self.scope.vars.len();
        self.let_pattern(pat, ty, first);
        if members.len() > 1 {
            self.copy_to_group(mark, members);
        }
    }

    /// The variables bound since `mark` at the group's first member are bound at every other
    /// member too (the same names and types: every member computed the same value), all agreed.
    /// Agreed copies count as read: a group binding is read where the group needs it, often
    /// by one member only.
    pub(crate) fn copy_to_group(&mut self, mark: usize, group: &[RoleId]) {
        let new: Vec<VarInfo> = self.scope.vars.iter().skip(mark).cloned().collect();
        for v in self.scope.vars.iter_mut().skip(mark) {
            v.used = true;
        }
        for m in group.iter().skip(1) {
            for v in &new {
                let mut c = v.clone();
                c.role = *m;
                c.used = true;
                self.scope.bind(c);
            }
        }
        self.mark_agreed(mark, group);
    }

    /// Check that `e`, computed by every member of `group` by itself, reads only variables
    /// agreed by (a superset of) the group and has no effect. `what` names the construct for
    /// messages (`the condition of `if (A, B)``).
    pub(crate) fn agreed_expr(&mut self, e: &Expr, group: &[RoleId], what: &str) {
        if group.len() < 2 {
            return;
        }
        let mut sorted = group.to_vec();
        sorted.sort_unstable();
        let names = self.role_names(group);
        let gtext = group_text(&names);
        let mut found = Vec::new();
        paths(e, &mut Vec::new(), &mut found);
        let mut reported: Vec<String> = Vec::new();
        for (p, local) in found {
            if local {
                continue;
            }
            let seg = p.last();
            let var = p.is_single()
                && group
                    .iter()
                    .any(|m| self.scope.lookup(&seg.name, *m).is_some());
            if var {
                // Every member reads its own copy (the type check read the first's).
                for m in group {
                    if let Some(id) = self.scope.lookup(&seg.name, *m) {
                        self.scope.vars[id as usize].used = true;
                    }
                }
                if reported.contains(&seg.name) {
                    continue;
                }
                if let Some(d) = self.not_agreed(seg, group, &sorted, &gtext, what) {
                    reported.push(seg.name.clone());
                    self.emit(d);
                }
                continue;
            }
            if let Some((_, r)) = self.p.lookup_fn(self.module, p)
                && let Some(why) = self.effect_of(r)
            {
                self.emit(
                    Diagnostic::error(
                        "E0702",
                        format!("{what} has an effect: {why}"),
                        p.span,
                        "called here",
                    )
                    .with_help(format!(
                        "compute it at one role and send it to the group: `let {0}.x = …; {0}.x -> {gtext}.x;`",
                        names.first().map_or("A", String::as_str)
                    ))
                    .with_note(format!(
                        "every role of {gtext} computes it by itself, so it may use only agreed \
                         values, literals and pure functions (no `io`, `fs`, `time`, `random`, \
                         `env`, `print`, `read_line` or externs)"
                    )),
                );
            }
        }
    }

    /// E0701 for variable `seg` when some member of the group lacks it or holds its own copy.
    fn not_agreed(
        &mut self,
        seg: &Ident,
        group: &[RoleId],
        sorted: &[RoleId],
        gtext: &str,
        what: &str,
    ) -> Option<Diagnostic> {
        let name = &seg.name;
        // The expression was type-checked at the first member: a variable it lacks is
        // reported there already (E0101, with the communication to add).
        self.scope.lookup(name, *group.first()?)?;
        // A member that lacks the value (reported first: it is the plainest fix), else the
        // first whose copy is not agreed by the whole group.
        let mut missing = None;
        let mut partial = None;
        let mut holder = None;
        // The statement that bound the first holder's variable: every member's must be it.
        let mut stamp = None;
        for m in group {
            match self.scope.lookup(name, *m) {
                None => {
                    missing.get_or_insert(*m);
                }
                Some(id) => {
                    let v = &self.scope.vars[id as usize];
                    holder.get_or_insert(*m);
                    let first = *stamp.get_or_insert((v.agreement, *m));
                    if !sorted.iter().all(|r| v.agreed.contains(r)) {
                        partial.get_or_insert((*m, v.def, v.agreed.clone(), None));
                    } else if v.agreement != first.0 {
                        partial.get_or_insert((*m, v.def, v.agreed.clone(), Some(first.1)));
                    }
                }
            }
        }
        let from = self.role_name(holder.unwrap_or(group[0]));
        let mut d = if let Some(m) = missing {
            let mn = self.role_name(m);
            Diagnostic::error(
                "E0701",
                format!(
                    "`{name}` is not held by {mn}, but {what} is computed by every role of {gtext}"
                ),
                seg.span,
                format!("{mn} has no `{name}`"),
            )
        } else {
            let (m, def, agreed, other) = partial?;
            let mn = self.role_name(m);
            let (whose, by) = if let Some(o) = other {
                let on = self.role_name(o);
                (
                    format!("{mn}'s `{name}` and {on}'s were bound by different statements"),
                    format!("not together with {on}'s"),
                )
            } else if agreed.len() > 1 {
                let g = group_text(&self.role_names(&agreed));
                (
                    format!("{mn}'s `{name}` is agreed by {g} only"),
                    format!("for {g}"),
                )
            } else {
                (
                    format!("{mn} holds its own copy"),
                    format!("for {mn} alone"),
                )
            };
            Diagnostic::error(
                "E0701",
                format!("`{name}` is not agreed by {gtext}: {whose}"),
                seg.span,
                format!("{what} needs the same `{name}` at every role of {gtext}"),
            )
            .with_label(def, format!("`{name}` at {mn} is bound here, {by}"))
        };
        d = d.with_help(format!(
            "share it with the group first: send it with `{from}.{name} -> {gtext}.{name};`"
        ));
        Some(d)
    }

    /// Why calling function `r` has an effect (following the functions it calls), or `None`
    /// when it is pure.
    pub(crate) fn effect_of(&mut self, r: ItemRef) -> Option<String> {
        self.used_bodies.set(true);
        if let Some(x) = self.purity.get(&r) {
            return x.clone();
        }
        // Every function reachable from `r`, with the one that reaches it first: an effect
        // anywhere in that set is an effect of `r` (a cycle adds none).
        let mut parent: HashMap<ItemRef, Option<ItemRef>> = HashMap::new();
        parent.insert(r, None);
        let mut queue = vec![r];
        let mut effect = None;
        while let Some(f) = queue.pop() {
            if let Some(why) = self.own_effect(f) {
                effect = Some((f, why));
                break;
            }
            let Some(def) = self.p.fn_def(f) else {
                continue;
            };
            let Some(body) = &def.body else { continue };
            let module = self.p.module_of(f);
            let mut bound: Vec<String> = def.params.iter().map(|p| p.name.name.clone()).collect();
            let mut found = Vec::new();
            paths(body, &mut bound, &mut found);
            for (p, local) in found {
                if local {
                    continue;
                }
                if let Some((_, g)) = self.p.lookup_fn(module, p)
                    && !parent.contains_key(&g)
                {
                    parent.insert(g, Some(f));
                    queue.push(g);
                }
            }
        }
        let why = effect.map(|(f, why)| {
            // The chain of calls from `r` to the function with the effect.
            let mut chain = vec![self.fn_name(f)];
            let mut cur = f;
            while let Some(Some(p)) = parent.get(&cur) {
                chain.push(self.fn_name(*p));
                cur = *p;
            }
            chain.reverse();
            if chain.len() == 1 {
                why
            } else {
                format!("{} ({why})", chain.join(" calls "))
            }
        });
        self.purity.insert(r, why.clone());
        why
    }

    /// `module::name` of a function, quoted.
    fn fn_name(&self, f: ItemRef) -> String {
        let name = self.p.fn_def(f).map_or("?", |d| d.name.name.as_str());
        match self.p.module_of(f) {
            Some(m) => format!("`{m}::{name}`"),
            None => format!("`{name}`"),
        }
    }

    /// An effect of function `f` itself (not of what it calls).
    fn own_effect(&self, f: ItemRef) -> Option<String> {
        let def = self.p.fn_def(f)?;
        let name = self.fn_name(f);
        match self.p.module_of(f) {
            Some(m) if EFFECT_MODULES.contains(&m) => {
                Some(format!("{name} reaches outside the program (`{m}::`)"))
            }
            _ if def.is_extern() => Some(format!("{name} is an extern function")),
            None if def.body.is_none() && EFFECT_PRELUDE.contains(&def.name.name.as_str()) => {
                Some(format!("{name} does I/O"))
            }
            _ => None,
        }
    }
}

/// Several results and agreed results: `return (A, B).e;`, `return (C.t, S.u);`, and the
/// bindings `let (C.x, S.y) = P(…)(…);` / `let (A, B).x = P(…)(…);` of a call.
impl Checker<'_> {
    /// The roles a result part or a binding target names: its group's members, or its role.
    pub(crate) fn members_of(&mut self, role: &Ident, group: Option<&Group>) -> Vec<RoleId> {
        match group {
            Some(g) => self.group_of(g),
            None => vec![self.role_of(role)],
        }
    }

    /// How roles are written: `A` or `(A, B)`.
    pub(crate) fn who(&self, roles: &[RoleId]) -> String {
        match roles {
            [one] => self.role_name(*one),
            _ => group_text(&self.role_names(roles)),
        }
    }

    /// The parts of a `return` or a yield (`B.e`, `(B, C).e`), each checked at its roles (a
    /// group's value must be agreed, `what` naming it); the statement is noted at every role
    /// the parts name. Returns each part's roles, type and place.
    pub(crate) fn located_parts(
        &mut self,
        s: &ChorStmt,
        parts: &[LocatedExpr],
        what: &str,
    ) -> Vec<(Vec<RoleId>, Ty, Span)> {
        let mut noted = Vec::new();
        let mut got = Vec::new();
        for part in parts {
            let members = self.members_of(&part.role, part.group.as_ref());
            noted.extend(members.iter().copied());
            self.note_roles(part.expr.id, members.clone());
            let first = members.first().copied().unwrap_or(UNKNOWN_ROLE);
            let t = self.expr_at(first, &part.expr);
            if part.group.is_some() {
                self.agreed_expr(&part.expr, &members, what);
            }
            got.push((members, t, part.expr.span));
        }
        self.note_roles(s.id, noted);
        got
    }

    /// A `return` of the results declared with a group or several (`chor_results`), or of a
    /// group part in a choreography declared otherwise (an error).
    pub(crate) fn results_stmt(&mut self, s: &ChorStmt, parts: &[LocatedExpr]) {
        let declared = self.chor_results.clone();
        let got: Vec<(Vec<RoleId>, Ty)> = self
            .located_parts(s, parts, "an agreed result")
            .into_iter()
            .map(|(members, t, _)| (members, t))
            .collect();
        if declared.is_empty() {
            let (msg, help) = match &self.chor_ret {
                None => (
                    format!("`return` in `{}`, which declares no result", self.chor_name),
                    format!(
                        "declare the results and their roles: `choreography {}(…)(…) -> (T@A, U@B)`",
                        self.chor_name
                    ),
                ),
                Some((_, q, _)) => {
                    let qn = q.map_or_else(String::new, |q| self.role_name(q as RoleId));
                    (
                        format!("`{}` declares one result, at {qn}", self.chor_name),
                        format!("return it with `return {qn}.e;`"),
                    )
                }
            };
            self.emit(
                Diagnostic::error("E0704", msg, s.span, "these results are not declared")
                    .with_help(help),
            );
            return;
        }
        if parts.len() != declared.len() {
            let n = declared.len();
            self.emit(
                Diagnostic::error(
                    "E0704",
                    format!(
                        "`{}` declares {n} result{} but this `return` gives {}",
                        self.chor_name,
                        if n == 1 { "" } else { "s" },
                        parts.len()
                    ),
                    s.span,
                    format!("expected {n}, one per declared result"),
                )
                .with_label(declared[0].2, "the results are declared here"),
            );
            return;
        }
        for ((part, (members, t)), (rt, roles, rspan)) in parts.iter().zip(got).zip(declared) {
            let want: Vec<RoleId> = roles.iter().map(|r| *r as RoleId).collect();
            if !members.contains(&UNKNOWN_ROLE) && !same_roles(&members, &want) {
                let w = self.who(&want);
                let g = self.who(&members);
                self.emit(
                    Diagnostic::error(
                        "E0704",
                        format!(
                            "this result of `{}` is returned at {g}, not at {w}",
                            self.chor_name
                        ),
                        part.expr.span,
                        format!("the result must be at {w}"),
                    )
                    .with_label(rspan, "declared here")
                    .with_help(format!("return it as `{w}.e`, in the declared order")),
                );
            }
            self.unify_at(
                &rt,
                &t,
                part.expr.span,
                crate::cx::Why::Label(rspan, "expected because of this result type"),
            );
        }
    }

    /// Bind the results of `call` at the targets of `let (…) = P(…)(…);`.
    pub(crate) fn bind_results(
        &mut self,
        span: Span,
        call: &ChorCall,
        targets: &[Target],
        found: Option<&crate::chor::CalleeSig>,
    ) {
        // The callee as the call's check found it (a choreography parameter too), with the
        // types its type parameters take at this call.
        let (sig, subst) = match found {
            Some((sig, subst)) => (Some(sig), subst.as_slice()),
            None => (None, &[][..]),
        };
        // The caller's role for each of the callee's roles (without reporting them again).
        let passed: Vec<RoleId> = call
            .roles
            .iter()
            .map(|r| {
                self.roles
                    .iter()
                    .position(|(n, _)| *n == r.name)
                    .map_or(UNKNOWN_ROLE, |k| k as RoleId)
            })
            .collect();
        let results: Vec<(crate::types::Ty, Vec<usize>, Span)> = match &sig {
            None => Vec::new(),
            Some(sig) if !sig.results.is_empty() => sig.results.clone(),
            Some(sig) => sig
                .ret
                .iter()
                .filter_map(|(t, q, sp)| Some((t.clone(), vec![(*q)?], *sp)))
                .collect(),
        };
        let ok = match &sig {
            None => false,
            Some(sig) if targets.len() != results.len() => {
                let n = results.len();
                self.emit(
                    Diagnostic::error(
                        "E0704",
                        format!(
                            "`{}` returns {n} result{} but {} {} bound",
                            sig.name,
                            if n == 1 { "" } else { "s" },
                            targets.len(),
                            if targets.len() == 1 { "is" } else { "are" }
                        ),
                        span,
                        format!("expected {n} target{}", if n == 1 { "" } else { "s" }),
                    )
                    .with_label(sig.name_span, "declared here"),
                );
                false
            }
            Some(_) => true,
        };
        for (k, t) in targets.iter().enumerate() {
            let members = self.members_of(&t.role, t.group.as_ref());
            self.note_roles(t.pat.id, members.clone());
            if members.is_empty() {
                continue;
            }
            let mut ty = crate::types::Ty::Error;
            if ok && let Some((rt, roles, rspan)) = results.get(k) {
                let want: Vec<RoleId> = roles
                    .iter()
                    .map(|q| passed.get(*q).copied().unwrap_or(UNKNOWN_ROLE))
                    .collect();
                if !want.contains(&UNKNOWN_ROLE)
                    && !members.contains(&UNKNOWN_ROLE)
                    && !same_roles(&members, &want)
                {
                    let w = self.who(&want);
                    let g = self.who(&members);
                    self.emit(
                        Diagnostic::error(
                            "E0704",
                            format!(
                                "this result of `{}` arrives at {w}, but it is bound at {g}",
                                call.callee.name
                            ),
                            t.role.span,
                            format!("the result is at {w}"),
                        )
                        .with_label(*rspan, "declared here")
                        .with_help(format!("bind it as `{w}.x`, in the declared order")),
                    );
                }
                ty = rt.subst(subst);
            }
            if let Some(ann) = &t.ty {
                let generics = self.generics.clone();
                let at = self.resolve_ty(ann, self.module, &generics);
                self.unify_at(
                    &at,
                    &ty,
                    call.span,
                    crate::cx::Why::Label(ann.span(), "expected because of this annotation"),
                );
                ty = at;
            }
            self.bind_at_members(&t.pat, &ty, &members);
        }
    }

    /// Check a call's argument `a` for parameter `k` of `sig` (with its callee's roles played by
    /// `passed`): an agreed parameter takes a value agreed by the roles that play its group.
    /// Returns the role that evaluates the argument (the group's first member).
    pub(crate) fn group_argument(
        &mut self,
        sig: &crate::cx::ChorSig,
        k: usize,
        a: &LocatedExpr,
        passed: &[RoleId],
    ) -> Option<RoleId> {
        let pgroup = sig.param_groups.get(k).filter(|g| g.len() > 1);
        if a.group.is_none() && pgroup.is_none() {
            return None;
        }
        let members = self.members_of(&a.role, a.group.as_ref());
        let first = members.first().copied().unwrap_or(UNKNOWN_ROLE);
        let pname = sig.params.get(k).map_or("?", |p| p.0.as_str()).to_owned();
        let pspan = sig.params.get(k).map_or(a.role.span, |p| p.3);
        let want: Vec<RoleId> = match pgroup {
            Some(g) => g
                .iter()
                .map(|q| passed.get(*q).copied().unwrap_or(UNKNOWN_ROLE))
                .collect(),
            None => sig
                .params
                .get(k)
                .and_then(|p| p.2)
                .map(|q| passed.get(q).copied().unwrap_or(UNKNOWN_ROLE))
                .into_iter()
                .collect(),
        };
        if !want.contains(&UNKNOWN_ROLE)
            && !members.contains(&UNKNOWN_ROLE)
            && !same_roles(&members, &want)
        {
            let w = self.who(&want);
            let g = self.who(&members);
            let at = a.group.as_ref().map_or(a.role.span, |g| g.span);
            let help = if want.len() > 1 {
                let from = self.role_name(first);
                format!(
                    "pass a value agreed by {w}: share it first (`{from}.x -> {w}.x;`), then pass `{w}.x`"
                )
            } else {
                format!("pass a value at {w}: `{w}.x`")
            };
            self.emit(
                Diagnostic::error(
                    "E0705",
                    format!("the argument for `{pname}` must be at {w}, but it is at {g}"),
                    at,
                    format!("expected a value at {w}"),
                )
                .with_label(pspan, "the parameter is declared here")
                .with_help(help),
            );
        }
        if members.len() > 1 {
            self.agreed_expr(&a.expr, &members, "an agreed argument");
        }
        Some(first)
    }
}

/// Whether two lists name the same roles (group order does not matter).
pub(crate) fn same_roles(a: &[RoleId], b: &[RoleId]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    a == b
}
