//! Choreographies: roles, the location of every variable, communications, selections,
//! branches, procedure calls and returns.
//!
//! Each role has its own variables. `R.e` is checked with `self.role = R`, so names resolve
//! among R's variables only; a name that exists only at other roles gets an error that says
//! where it lives and which communication would bring it over.

use crate::cx::{Checker, ChorSig, Class, NO_ROLE, RoleId, UNKNOWN_ROLE, Why, suggest};
use crate::ir::Res;
use crate::program::ItemRef;
use crate::types::Ty;
use chor_diagnostics::{Diagnostic, Span};
use chor_syntax::ast::*;

impl<'p> Checker<'p> {
    pub fn check_chor(&mut self, u: usize, i: usize, c: &'p ChorDef) {
        let Some(sig) = self.env.chors.get(&ItemRef { unit: u, item: i }).cloned() else {
            return;
        };
        let unit = &self.p.units[u];
        self.begin_body(unit.module.as_deref(), sig.generics.clone());
        self.chor_sig = Some(sig.clone());
        self.inst_checks.clear();
        self.roles = sig.roles.clone();
        self.roles_used = vec![false; sig.roles.len()];
        // A role that holds a parameter or the result takes part.
        for (_, _, role, _) in &sig.params {
            if let Some(r) = role
                && let Some(u) = self.roles_used.get_mut(*r)
            {
                *u = true;
            }
        }
        if let Some((_, Some(r), _)) = &sig.ret
            && let Some(u) = self.roles_used.get_mut(*r)
        {
            *u = true;
        }
        for r in sig
            .param_groups
            .iter()
            .flatten()
            .chain(sig.results.iter().flat_map(|(_, rs, _)| rs))
        {
            if let Some(u) = self.roles_used.get_mut(*r) {
                *u = true;
            }
        }
        self.chor_name = sig.name.clone();
        self.chor_ret = sig.ret.clone();
        self.chor_results = sig.results.clone();
        for (name, span) in &sig.roles {
            self.hover(*span, || format!("role {name} of {}", sig.name));
        }
        let param_roles = (sig.params.iter().enumerate())
            .map(|(k, (_, _, role, _))| match sig.param_groups.get(k) {
                Some(g) if !g.is_empty() => g.iter().map(|r| *r as u32).collect(),
                _ => role.iter().map(|r| *r as u32).collect(),
            })
            .collect();
        self.note_params(
            sig.params.iter().map(|(_, t, _, _)| t.clone()).collect(),
            param_roles,
        );
        for (k, (p, (_, ty, role, _))) in c.params.iter().zip(sig.params.iter()).enumerate() {
            let group: Vec<RoleId> = sig
                .param_groups
                .get(k)
                .map_or_else(Vec::new, |g| g.iter().map(|r| *r as RoleId).collect());
            if group.len() > 1 {
                // An agreed parameter: every member holds it, agreed.
                let mark = self.scope.vars.len();
                for m in &group {
                    self.bind_var(&p.name, ty.clone(), *m, Res::Param(k as u32));
                }
                self.mark_agreed(mark, &group);
                // Read where the group needs it, often by one member only.
                for v in self.scope.vars.iter_mut().skip(mark) {
                    v.used = true;
                }
            } else if let Some(r) = role {
                self.bind_var(&p.name, ty.clone(), *r as RoleId, Res::Param(k as u32));
            }
        }
        self.early_returns = 0;
        self.chor_block(&c.body, None);
        self.check_instantiations();
        if !self.in_stdlib && !self.lost_statements {
            let used = self.roles_used.clone();
            let unused = |k: usize| !used.get(k).copied().unwrap_or(true);
            // A family's members (`Ws[0]`, … after the expansion) are one role of the source:
            // some members may have nothing to do (only `Ws[0]` acts); the family is reported,
            // once, when none of them takes part.
            let family_of = |name: &str| name.split_once('[').map(|(f, _)| f.to_owned());
            let mut reported: Vec<String> = Vec::new();
            // A choreography passed as an argument has the roles the parameter's type fixes:
            // removing an idle one would not fit the type any more, so it is not reported.
            let fixed = sig.roles.iter().enumerate().any(|(k, _)| unused(k))
                && self.passed_as_argument(&sig.name);
            for (k, (name, span)) in sig.roles.iter().enumerate() {
                if unused(k) && !name.starts_with('_') && !fixed {
                    let source = family_of(name).unwrap_or_else(|| name.clone());
                    let name = match family_of(name) {
                        Some(f) => {
                            let idle = sig.roles.iter().enumerate().all(|(j, (n, _))| {
                                family_of(n).as_deref() != Some(f.as_str()) || unused(j)
                            });
                            if !idle || reported.contains(&f) {
                                continue;
                            }
                            reported.push(f.clone());
                            format!("family `{f}`")
                        }
                        None => format!("role `{name}`"),
                    };
                    self.emit(
                        Diagnostic::warning(
                            "W0004",
                            format!("{name} takes no part in `{}`", sig.name),
                            *span,
                            "no statement names this role",
                        )
                        .with_help(format!(
                            "remove it from the roles, give it something to do, or name it \
                             `_{source}` if it is idle on purpose"
                        )),
                    );
                }
            }
        }
        // A path cut short by an early `return` (E0218) is reported once, as that error: its
        // fix moves statements into the branches, which changes where the paths end.
        let declared = sig
            .ret
            .as_ref()
            .map(|r| r.2)
            .or_else(|| sig.results.first().map(|r| r.2));
        if let Some(rspan) = &declared
            && self.early_returns == 0
            && let Some((at, why)) = self.missing_return(&c.body)
        {
            self.emit(
                Diagnostic::error(
                    "E0216",
                    format!("`{}` does not return a value on every path", sig.name),
                    at,
                    why,
                )
                .with_label(*rspan, "the result is declared here")
                .with_help("end every path with `return R.e;`"),
            );
        }
        self.end_body();
    }

    /// Whether a choreography named `name` is passed as a choreography argument anywhere in
    /// the program (by name: a choreography parameter of the same name passed on counts too,
    /// which only spares a warning). In a program already instantiated (`Program::resolve`)
    /// the calls that passed it call instances instead, named after their choreography
    /// arguments (`Apply[AtHome]`), so those names count too. Reads other items' bodies, so a
    /// cached result of this item is stale when any body changes.
    fn passed_as_argument(&self, name: &str) -> bool {
        self.used_bodies.set(true);
        fn block(b: &ChorBlock, name: &str) -> bool {
            b.stmts.iter().any(|s| stmt(&s.kind, name))
        }
        fn stmt(k: &ChorStmtKind, name: &str) -> bool {
            match k {
                ChorStmtKind::Call { call, .. } | ChorStmtKind::CallMany { call, .. } => {
                    call.args.iter().any(|a| a.chor && a.role.name == name)
                }
                ChorStmtKind::If { then, els, .. } => {
                    block(then, name) || els.as_ref().is_some_and(|e| block(e, name))
                }
                ChorStmtKind::Match { arms, .. } => arms.iter().any(|a| block(&a.body, name)),
                ChorStmtKind::For { body, .. } => block(body, name),
                _ => false,
            }
        }
        let in_instance_name = |instance: &str| {
            instance.split_once('[').is_some_and(|(_, cargs)| {
                cargs
                    .split(|ch: char| "[]<>, ".contains(ch))
                    .any(|t| t == name)
            })
        };
        self.p.units.iter().any(|u| {
            u.ast.items.iter().any(|it| match &**it {
                Item::Chor(c) => {
                    block(&c.body, name)
                        || (u.name == crate::mono::INSTANCES_UNIT && in_instance_name(&c.name.name))
                }
                _ => false,
            })
        })
    }

    /// Where a path through `b` ends without `return`, and why.
    fn missing_return(&self, b: &ChorBlock) -> Option<(Span, String)> {
        let end = Span {
            start: b.span.end.saturating_sub(1),
            ..b.span
        };
        // A `return` that is not last is reported on its own (E0215).
        if b.stmts.iter().any(|s| {
            matches!(
                s.kind,
                ChorStmtKind::Return { .. } | ChorStmtKind::Results { .. }
            )
        }) {
            return None;
        }
        let Some(last) = b.stmts.last() else {
            return Some((end, "this block ends without `return`".to_owned()));
        };
        match &last.kind {
            ChorStmtKind::Return { .. } | ChorStmtKind::Results { .. } => None,
            ChorStmtKind::If {
                cond,
                then,
                els,
                bind,
                ..
            } if bind.is_empty() => match els {
                Some(e) => self.missing_return(then).or_else(|| self.missing_return(e)),
                None => Some((
                    Span {
                        end: cond.span.end,
                        ..last.span
                    },
                    "this `if` has no `else`: when its condition is false, nothing is returned"
                        .to_owned(),
                )),
            },
            ChorStmtKind::Match { arms, bind, .. } if bind.is_empty() => {
                arms.iter().find_map(|a| self.missing_return(&a.body))
            }
            _ => Some((end, "this block ends without `return`".to_owned())),
        }
    }

    /// A role named in a statement: a role of this choreography, or an error.
    pub fn role_of(&mut self, id: &Ident) -> RoleId {
        if let Some(k) = self.roles.iter().position(|(n, _)| *n == id.name) {
            let def = self.roles[k].1;
            if let Some(u) = self.roles_used.get_mut(k) {
                *u = true;
            }
            self.reference(id.span, def);
            return k as RoleId;
        }
        let names: Vec<String> = self.roles.iter().map(|(n, _)| n.clone()).collect();
        let mut d = Diagnostic::error(
            "E0200",
            format!(
                "unknown role `{}`: it is not a role of `{}`",
                id.name, self.chor_name
            ),
            id.span,
            "not a role of this choreography",
        );
        if let Some(s) = suggest(&id.name, names.iter().map(String::as_str)) {
            d = d.with_help(format!("did you mean `{s}`?"));
        } else {
            d = d.with_help(format!(
                "add it to the roles: `choreography {}({}, {})`",
                self.chor_name,
                names.join(", "),
                id.name
            ));
        }
        if !names.is_empty() {
            d = d.with_note(format!(
                "the roles of `{}` are {}",
                self.chor_name,
                names.join(", ")
            ));
        }
        self.emit(d);
        UNKNOWN_ROLE
    }

    /// Check `e` evaluated at role `r`.
    pub(crate) fn expr_at(&mut self, r: RoleId, e: &Expr) -> Ty {
        let saved = self.role;
        self.role = r;
        let t = self.expr(e);
        self.role = saved;
        t
    }

    /// Check a block. `after` is the first statement that follows the innermost enclosing
    /// conditional that is not the last statement of its own block (None: every enclosing
    /// conditional is in tail position, up to the body), so a `return` here would not end the
    /// choreography for every role.
    fn chor_block(&mut self, b: &ChorBlock, after: Option<Span>) {
        let mark = self.scope.mark();
        for (k, s) in b.stmts.iter().enumerate() {
            let next = b.stmts.get(k + 1).map(|n| n.span);
            self.chor_stmt(s, next, after);
        }
        self.scope.pop_to(mark);
        self.ended_blocks.push(b.span);
    }

    fn chor_stmt(&mut self, s: &ChorStmt, next: Option<Span>, after: Option<Span>) {
        // The blocks of a conditional are in tail position when the conditional is.
        let inner = next.or(after);
        match &s.kind {
            ChorStmtKind::Let {
                role,
                pat,
                ty,
                value,
                group,
            } => match group {
                None => {
                    let r = self.role_of(role);
                    self.note_roles(s.id, vec![r]);
                    self.let_binding(pat, ty.as_ref(), value, r, r);
                }
                Some(g) => {
                    let members = self.group_of(g);
                    self.note_roles(s.id, members.clone());
                    let Some(&first) = members.first() else {
                        return;
                    };
                    self.agreed_expr(value, &members, "an agreed binding");
                    let mark = self.scope.vars.len();
                    self.let_binding(pat, ty.as_ref(), value, first, first);
                    self.copy_to_group(mark, &members);
                }
            },
            ChorStmtKind::Comm {
                from,
                expr,
                to,
                group,
            } => {
                let r = self.role_of(from);
                // A group's members are resolved (and a member listed twice reported) once.
                let mut members = group.as_ref().map(|g| self.group_of(g));
                let mark = self.scope.vars.len();
                let mut roles = vec![r];
                let stmt = s.id;
                self.in_message = true;
                let t = self.expr_at(r, expr);
                self.in_message = false;
                self.record_comm(s.span, &t);
                self.check_class(&t, Class::Message, expr.span, "->", true);
                let mut seen: Vec<(RoleId, Span)> = Vec::new();
                for rc in to {
                    let s = self.role_of(&rc.role);
                    if members.is_some() {
                        // The sender may be a member: it keeps the value. The receiver's id
                        // names both its binding and the sender's read of it (the projection
                        // binds it at the sender and sends it from there).
                        if s != UNKNOWN_ROLE && s == r {
                            let saved = self.role;
                            self.role = r;
                            self.note(rc.id, Res::Local(rc.id), Some(&t));
                            self.role = saved;
                        }
                        if members.as_ref().is_some_and(|m| !m.contains(&s)) {
                            // Listed twice in the group (E0700): bound once.
                            continue;
                        }
                    } else if s != UNKNOWN_ROLE && s == r {
                        self.emit(
                            Diagnostic::error(
                                "E0203",
                                format!("`{}` sends a message to itself", rc.role.name),
                                rc.role.span,
                                "the receiver is the sender",
                            )
                            .with_label(from.span, "sent from here")
                            .with_help(format!(
                                "to give the value another name at {0}, write `let {0}.{1} = …;`",
                                rc.role.name, rc.var.name
                            )),
                        );
                    } else if let Some((_, prev)) =
                        seen.iter().find(|(x, _)| *x == s && s != UNKNOWN_ROLE)
                    {
                        let prev = *prev;
                        self.emit(
                            Diagnostic::error(
                                "E0204",
                                format!("`{}` is listed twice as a receiver", rc.role.name),
                                rc.role.span,
                                "listed again here",
                            )
                            .with_label(prev, "first listed here")
                            .with_help(
                                "each receiver gets the value once; bind a second name with `let`",
                            ),
                        );
                    }
                    seen.push((s, rc.role.span));
                    roles.push(s);
                    if s != UNKNOWN_ROLE {
                        self.bind_var(&rc.var, t.clone(), s, Res::Local(rc.id));
                    }
                    if let Some(m) = members.as_mut() {
                        m.retain(|x| *x != s);
                    }
                }
                if group.is_some() {
                    let all: Vec<RoleId> = roles[1..]
                        .iter()
                        .copied()
                        .filter(|x| *x != UNKNOWN_ROLE)
                        .collect();
                    self.mark_agreed(mark, &all);
                }
                self.note_roles(stmt, roles);
            }
            ChorStmtKind::Select { from, to, label } => {
                let r = self.role_of(from);
                let mut roles = vec![r];
                let stmt = s.id;
                let mut seen: Vec<(RoleId, Span)> = Vec::new();
                for t in to {
                    let s = self.role_of(t);
                    if s != UNKNOWN_ROLE && s == r {
                        self.emit(
                            Diagnostic::error(
                                "E0205",
                                format!("`{}` sends a selection to itself", t.name),
                                t.span,
                                "the receiver is the sender",
                            )
                            .with_label(from.span, "selected from here")
                            .with_help(
                                "a role always knows its own choices; remove it from the receivers",
                            ),
                        );
                    } else if let Some((_, prev)) =
                        seen.iter().find(|(x, _)| *x == s && s != UNKNOWN_ROLE)
                    {
                        let prev = *prev;
                        self.emit(
                            Diagnostic::error(
                                "E0204",
                                format!("`{}` is listed twice as a receiver", t.name),
                                t.span,
                                "listed again here",
                            )
                            .with_label(prev, "first listed here"),
                        );
                    }
                    seen.push((s, t.span));
                    roles.push(s);
                }
                self.note_roles(stmt, roles);
                self.hover(label.span, || format!("selection label {}", label.name));
            }
            ChorStmtKind::Effect { role, expr } => {
                let r = self.role_of(role);
                self.note_roles(s.id, vec![r]);
                self.expr_at(r, expr);
            }
            ChorStmtKind::If {
                role,
                cond,
                then,
                els,
                group,
                bind,
            } => {
                let members = self.members_of(role, group.as_ref());
                let r = members.first().copied().unwrap_or(UNKNOWN_ROLE);
                self.note_roles(s.id, members.clone());
                let saved = self.role;
                self.role = r;
                self.expect(cond, &Ty::bool(), Why::None);
                self.role = saved;
                if group.is_some() {
                    self.agreed_expr(cond, &members, "the condition of a group `if`");
                }
                if !bind.is_empty() {
                    self.begin_cond();
                }
                self.chor_block(then, inner);
                if let Some(e) = els {
                    self.chor_block(e, inner);
                }
                if !bind.is_empty() {
                    let mut blocks = vec![then];
                    match els {
                        Some(e) => blocks.push(e),
                        None => self.no_else(s, cond),
                    }
                    self.end_cond(s, bind, &blocks);
                }
            }
            ChorStmtKind::Match {
                role,
                scrutinee,
                arms,
                group,
                bind,
            } => {
                let members = self.members_of(role, group.as_ref());
                let r = members.first().copied().unwrap_or(UNKNOWN_ROLE);
                self.note_roles(s.id, members.clone());
                let st = self.expr_at(r, scrutinee);
                if group.is_some() {
                    self.agreed_expr(scrutinee, &members, "the scrutinee of a group `match`");
                }
                let mut rows = Vec::new();
                if !bind.is_empty() {
                    self.begin_cond();
                }
                for arm in arms {
                    let mark = self.scope.mark();
                    let before = self.error_count();
                    let vars = self.scope.vars.len();
                    let pat = self.pattern_top(&arm.pat, &st, r);
                    if group.is_some() {
                        // Every member matched the same value: the pattern's bindings are agreed.
                        self.copy_to_group(vars, &members);
                    }
                    rows.push((pat, arm.pat.span, self.error_count() == before));
                    self.chor_block(&arm.body, inner);
                    self.scope.pop_to(mark);
                }
                self.check_match(&st, &rows, scrutinee.span);
                if !bind.is_empty() {
                    let blocks: Vec<&ChorBlock> = arms.iter().map(|a| &a.body).collect();
                    self.end_cond(s, bind, &blocks);
                }
            }
            ChorStmtKind::Yield { parts } => self.yield_stmt(s, parts),
            ChorStmtKind::Call { call, bind } => {
                self.chor_call(s.id, call, bind.as_ref());
            }
            ChorStmtKind::Return { .. } | ChorStmtKind::Results { .. }
                if self.return_in_cond(s) => {}
            ChorStmtKind::Return { role, expr } if !self.chor_results.is_empty() => {
                let part = LocatedExpr {
                    role: role.clone(),
                    expr: expr.clone(),
                    chor: false,
                    group: None,
                };
                self.results_stmt(s, std::slice::from_ref(&part));
                self.return_position(s, next, after);
            }
            ChorStmtKind::Return { role, expr } => {
                let r = self.role_of(role);
                self.note_roles(s.id, vec![r]);
                let t = self.expr_at(r, expr);
                match self.chor_ret.clone() {
                    None => {
                        self.emit(
                            Diagnostic::error(
                                "E0214",
                                format!(
                                    "`return` in `{}`, which declares no result",
                                    self.chor_name
                                ),
                                s.span,
                                "this choreography has no return type",
                            )
                            .with_help(format!(
                                "declare the result and its role: `choreography {}(…)(…) -> T@{}`",
                                self.chor_name, role.name
                            )),
                        );
                    }
                    Some((rt, q, rspan)) => {
                        if let Some(q) = q
                            && r != UNKNOWN_ROLE
                            && r != q as RoleId
                        {
                            let qn = self.role_name(q as RoleId);
                            self.emit(
                                    Diagnostic::error(
                                        "E0210",
                                        format!("`{}` returns its result at {qn}, not at {}", self.chor_name, role.name),
                                        role.span,
                                        format!("the result must be at {qn}"),
                                    )
                                    .with_label(rspan, "the result's role is declared here")
                                    .with_help(format!(
                                        "send the value first, then return it: `{0}.x -> {qn}.x; return {qn}.x;`",
                                        role.name
                                    )),
                                );
                        }
                        self.unify_at(
                            &rt,
                            &t,
                            expr.span,
                            Why::Label(rspan, "expected because of this result type"),
                        );
                    }
                }
                self.return_position(s, next, after);
            }
            ChorStmtKind::Results { parts } => {
                self.results_stmt(s, parts);
                self.return_position(s, next, after);
            }
            ChorStmtKind::LetMany { value, targets } => {
                // A conditional here would have been parsed as a conditional expression: its
                // condition does not start with a role or group.
                let cond = matches!(value.kind, ExprKind::If { .. } | ExprKind::Match { .. });
                let help = if cond {
                    "a conditional that binds values at several roles starts with the role (or group) that decides: `if A.ok { … }`, `match (A, B).r { … }`"
                } else {
                    "bind one value at one role with `let R.x = …;`, or call a choreography that declares several results"
                };
                self.emit(
                    Diagnostic::error(
                        "E0704",
                        "`let (…) = …` binds the results of a choreography call or conditional",
                        value.span,
                        "not a call of a choreography or a choreographic conditional",
                    )
                    .with_help(help),
                );
                // The targets are bound (with an unknown type), so that their uses report
                // nothing more.
                for t in targets {
                    let members = self.members_of(&t.role, t.group.as_ref());
                    self.bind_at_members(&t.pat, &Ty::Error, &members);
                }
            }
            ChorStmtKind::CallMany { call, targets } => {
                let found = self.chor_call(s.id, call, None);
                self.bind_results(s.span, call, targets, found.as_ref());
            }
            // Unrolled by the program's family expansion before any check (`families.rs`).
            ChorStmtKind::For { .. } => {}
            ChorStmtKind::Error => self.lost_statements = true,
        }
    }

    /// `return` must end the choreography for every role: last in its block, and every
    /// conditional around it last in its own (E0215, E0218).
    fn return_position(&mut self, s: &ChorStmt, next: Option<Span>, after: Option<Span>) {
        {
            {
                if let Some(n) = next {
                    self.emit(
                        Diagnostic::error(
                            "E0215",
                            "`return` must be the last statement of its block",
                            s.span,
                            "`return` ends the choreography here",
                        )
                        .with_label(n, "this statement would never run"),
                    );
                } else if let Some(a) = after {
                    // Only the returning role would stop here: every other role would go on with
                    // the statements after the conditional (an extra message, a stale value, an
                    // endless recursion), so an early exit is not a choreography.
                    self.early_returns += 1;
                    self.emit(
                        Diagnostic::error(
                            "E0218",
                            "`return` inside a branch must end the choreography",
                            s.span,
                            "this `return` leaves a conditional that more statements follow",
                        )
                        .with_label(a, "this statement and the ones after it would still run at the other roles")
                        .with_help(
                            "move the statements after the conditional into the branches that do not return",
                        )
                        .with_note(
                            "a `return` must be the last statement of its block, and every conditional \
                             around it the last statement of its own block, up to the body",
                        ),
                    );
                }
            }
        }
    }

    /// Checks a call; returns the callee's signature (a choreography's, or a choreography
    /// parameter's type) with the types found for its type parameters, when there is one.
    fn chor_call(
        &mut self,
        stmt: NodeId,
        call: &ChorCall,
        bind: Option<&(Ident, Pattern, Option<Type>)>,
    ) -> Option<CalleeSig> {
        let roles: Vec<RoleId> = call.roles.iter().map(|r| self.role_of(r)).collect();
        // The roles passed, then the role that binds the result (resolved again below, where
        // it is checked; resolving a role reports nothing new).
        let mut noted = roles.clone();
        if let Some((srole, _, _)) = bind
            && let Some(k) = self.roles.iter().position(|(n, _)| *n == srole.name)
        {
            noted.push(k as RoleId);
        }
        self.note_roles(stmt, noted);
        let callee = &call.callee;
        let found = self.lookup_chor(callee);
        let (sig, res) = match found {
            ChorLookup::Found(sig, res) => (*sig, res),
            ChorLookup::ValueParam(def) => {
                self.emit(
                    Diagnostic::error(
                        "E0732",
                        format!("`{}` is a value parameter, not a choreography", callee.name),
                        callee.span,
                        "called like a choreography",
                    )
                    .with_label(def, "declared here with a located type")
                    .with_help(format!(
                        "declare it with a choreography type to call it: `{}: chor(X, Y)(Int@X) -> Int@Y`",
                        callee.name
                    )),
                );
                self.call_args_unchecked(call, bind);
                return None;
            }
            ChorLookup::NotFound => {
                let is_fn = self
                    .p
                    .fns
                    .keys()
                    .any(|q| q.module.is_none() && q.name == callee.name);
                let mut d = if is_fn {
                    Diagnostic::error(
                        "E0105",
                        format!("`{}` is a function, not a choreography", callee.name),
                        callee.span,
                        "not a choreography",
                    )
                    .with_help(format!(
                        "call a local function at a role: `R.{}(…);`",
                        callee.name
                    ))
                } else {
                    Diagnostic::error(
                        "E0105",
                        format!("cannot find choreography `{}`", callee.name),
                        callee.span,
                        "no choreography of this name",
                    )
                };
                if !is_fn
                    && let Some(s) = suggest(&callee.name, self.p.chors.keys().map(String::as_str))
                {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                self.emit(d);
                self.call_args_unchecked(call, bind);
                return None;
            }
        };
        self.note_res(stmt, res);
        // A generic choreography: fresh types for its parameters, found by inference.
        let subst = self.instantiate(&sig.generics);
        if !subst.is_empty() {
            self.note_targs(stmt, subst.iter().map(|(_, t)| t.clone()).collect());
            for (g, t) in &subst {
                self.inst_checks.push(crate::cx::InstCheck {
                    at: callee.span,
                    chor: sig.name.clone(),
                    generic: g.clone(),
                    ty: t.clone(),
                });
            }
        }
        self.sig_hovers
            .push((callee.span, sig.clone(), subst.clone()));
        self.reference(callee.span, sig.name_span);
        let decl = format!(
            "{}({})",
            sig.name,
            sig.roles
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if roles.len() != sig.roles.len() {
            let n = sig.roles.len();
            let at = match (call.roles.first(), call.roles.last()) {
                (Some(a), Some(b)) => a.span.to(b.span),
                _ => callee.span,
            };
            self.emit(
                Diagnostic::error(
                    "E0206",
                    format!(
                        "`{}` takes {n} role{} but {} {} given",
                        sig.name,
                        if n == 1 { "" } else { "s" },
                        roles.len(),
                        if roles.len() == 1 { "was" } else { "were" }
                    ),
                    at,
                    format!("expected {n} role{}", if n == 1 { "" } else { "s" }),
                )
                .with_label(sig.name_span, format!("declared as `{decl}`")),
            );
        }
        for (k, r) in roles.iter().enumerate() {
            if *r == UNKNOWN_ROLE {
                continue;
            }
            if let Some(j) = roles[..k].iter().position(|x| x == r) {
                let mut d = Diagnostic::error(
                    "E0207",
                    format!(
                        "the role `{}` is passed twice to `{}`",
                        call.roles[k].name, sig.name
                    ),
                    call.roles[k].span,
                    "passed again here",
                )
                .with_label(call.roles[j].span, "first passed here")
                .with_note(format!(
                    "each role of `{decl}` must be played by a different role"
                ));
                // A member passed beside its own family (MultiChor's `secretShare p parties`
                // with p among the parties): say so, and how to write it today.
                let position = |i: usize| sig.roles.get(i).map(|(n, _)| n.contains('['));
                if position(j) == Some(true) || position(k) == Some(true) {
                    d = d.with_help(format!(
                        "`{}` is a member of a family passed to `{}` too; a member cannot play \
                         another role of the same call: write that part inline (a `for` round \
                         may send from a member to its own family: the member binds its own \
                         value locally), or give the procedure a role outside the family",
                        call.roles[k].name, sig.name
                    ));
                }
                self.emit(d);
            }
        }
        if call.args.len() != sig.params.len() {
            let n = sig.params.len();
            self.emit(
                Diagnostic::error(
                    "E0213",
                    format!(
                        "`{}` takes {n} value argument{} but {} {} supplied",
                        sig.name,
                        if n == 1 { "" } else { "s" },
                        call.args.len(),
                        if call.args.len() == 1 { "was" } else { "were" }
                    ),
                    call.span,
                    format!("expected {n} argument{}", if n == 1 { "" } else { "s" }),
                )
                .with_label(sig.name_span, "declared here"),
            );
        }
        for (k, a) in call.args.iter().enumerate() {
            let pchor = sig.chors.get(k).and_then(Option::as_ref);
            if a.chor {
                self.chor_arg(a, pchor, &sig, k, &subst);
                continue;
            }
            if let Some(first) = self.group_argument(&sig, k, a, &roles) {
                // An agreed parameter or argument: checked against the group.
                let t = self.expr_at(first, &a.expr);
                if let Some((_, pty, _, pspan)) = sig.params.get(k) {
                    self.unify_at(
                        &pty.subst(&subst),
                        &t,
                        a.expr.span,
                        Why::Label(*pspan, "the parameter is declared here"),
                    );
                }
                continue;
            }
            let ar = self.role_of(&a.role);
            let t = self.expr_at(ar, &a.expr);
            let Some((pname, pty, prole, pspan)) = sig.params.get(k) else {
                continue;
            };
            if pchor.is_some() {
                self.emit(
                    Diagnostic::error(
                        "E0736",
                        format!("`{pname}` takes a choreography, not a value"),
                        a.role.span.to(a.expr.span),
                        "a located value where a choreography is expected",
                    )
                    .with_label(*pspan, "declared with a choreography type here")
                    .with_help("pass the name of a choreography whose signature matches"),
                );
                continue;
            }
            let pty = &pty.subst(&subst);
            let want = prole
                .and_then(|q| roles.get(q).copied())
                .filter(|r| *r != UNKNOWN_ROLE);
            if let Some(want) = want
                && ar != UNKNOWN_ROLE
                && ar != want
            {
                let wn = self.role_name(want);
                let callee_role = prole
                    .and_then(|q| sig.roles.get(q))
                    .map_or("?", |(n, _)| n.as_str())
                    .to_owned();
                self.emit(
                    Diagnostic::error(
                        "E0208",
                        format!(
                            "the argument for `{pname}` must be at {wn}, but it is at {}",
                            a.role.name
                        ),
                        a.role.span,
                        format!("expected a value at {wn}"),
                    )
                    .with_label(
                        *pspan,
                        format!("`{pname}` is held by role {callee_role}, played here by {wn}"),
                    )
                    .with_help(format!(
                        "send the value to {wn} first (`{}.x -> {wn}.x;`) and pass `{wn}.x`",
                        a.role.name
                    )),
                );
            }
            self.unify_at(
                pty,
                &t,
                a.expr.span,
                Why::Label(*pspan, "the parameter is declared here"),
            );
        }
        if let Some((srole, pat, ann)) = bind {
            let s = self.role_of(srole);
            match &sig.ret {
                None if !sig.results.is_empty() => {
                    self.emit(
                        Diagnostic::error(
                            "E0704",
                            format!(
                                "`{}` returns {} result{} at several roles",
                                sig.name,
                                sig.results.len(),
                                if sig.results.len() == 1 { "" } else { "s" }
                            ),
                            srole.span,
                            "bound at one role only",
                        )
                        .with_label(sig.name_span, "declared here")
                        .with_help("bind every result where it arrives: `let (A, B).x = …;` or `let (A.x, B.y) = …;`"),
                    );
                    self.pattern_top(pat, &Ty::Error, s);
                }
                None => {
                    self.emit(
                        Diagnostic::error(
                            "E0217",
                            format!("`{}` does not return a value", sig.name),
                            call.span,
                            "there is no result to bind",
                        )
                        .with_label(sig.name_span, "declared without `-> T@R`")
                        .with_help(format!("call it as a statement: `{}(…)(…);`", sig.name)),
                    );
                    self.pattern_top(pat, &Ty::Error, s);
                }
                Some((rt, q, rspan)) => {
                    let rt = &rt.subst(&subst);
                    let want = q
                        .and_then(|q| roles.get(q).copied())
                        .filter(|r| *r != UNKNOWN_ROLE);
                    if let Some(want) = want
                        && s != UNKNOWN_ROLE
                        && s != want
                    {
                        let wn = self.role_name(want);
                        self.emit(
                            Diagnostic::error(
                                "E0209",
                                format!(
                                    "the result of `{}` is at {wn}, but it is bound at {}",
                                    sig.name, srole.name
                                ),
                                srole.span,
                                format!("the result arrives at {wn}"),
                            )
                            .with_label(*rspan, "the result's role is declared here")
                            .with_help(format!(
                                "bind it at {wn}, then send it: `let {wn}.x = …; {wn}.x -> {}.x;`",
                                srole.name
                            )),
                        );
                    }
                    let mut t = rt.clone();
                    if let Some(ann) = ann {
                        let at = {
                            let generics = self.generics.clone();
                            self.resolve_ty(ann, self.module, &generics)
                        };
                        self.unify_at(
                            &at,
                            &t,
                            call.span,
                            Why::Label(ann.span(), "expected because of this annotation"),
                        );
                        t = at;
                    }
                    if s != UNKNOWN_ROLE {
                        self.let_pattern(pat, &t, s);
                    }
                }
            }
        }
        let _ = NO_ROLE;
        Some((sig, subst))
    }

    /// What a callee or a choreography argument names: a choreography-typed parameter of the
    /// choreography being checked (which shadows a choreography of the same name), or a
    /// choreography.
    fn lookup_chor(&mut self, name: &Ident) -> ChorLookup {
        if let Some(sig) = &self.chor_sig
            && let Some(k) = sig.params.iter().position(|(n, ..)| *n == name.name)
        {
            let span = sig.params[k].3;
            return match sig.chors.get(k).and_then(Option::as_ref) {
                Some(sub) => {
                    let mut sub = sub.clone();
                    sub.name.clone_from(&name.name);
                    sub.name_span = span;
                    self.reference(name.span, span);
                    ChorLookup::Found(Box::new(sub), Res::ChorParam(k as u32))
                }
                None => ChorLookup::ValueParam(span),
            };
        }
        match self.p.chors.get(&name.name) {
            Some(r) => match self.env.chors.get(r) {
                Some(sig) => {
                    let sig = sig.clone();
                    self.reference(name.span, sig.name_span);
                    ChorLookup::Found(Box::new(sig), Res::Chor(*r))
                }
                None => ChorLookup::NotFound,
            },
            None => ChorLookup::NotFound,
        }
    }

    /// The arguments and binding of a call whose callee is not a choreography: checked for
    /// what they say on their own.
    fn call_args_unchecked(
        &mut self,
        call: &ChorCall,
        bind: Option<&(Ident, Pattern, Option<Type>)>,
    ) {
        for a in &call.args {
            if a.chor {
                continue;
            }
            let r = self.role_of(&a.role);
            self.expr_at(r, &a.expr);
        }
        if let Some((srole, pat, _)) = bind {
            let s = self.role_of(srole);
            self.pattern_top(pat, &Ty::Error, s);
        }
    }

    /// A choreography passed as the k-th argument of a call of `callee` (instantiated with
    /// `subst`): its signature must be the parameter's, with the roles in the same places.
    fn chor_arg(
        &mut self,
        a: &LocatedExpr,
        want: Option<&ChorSig>,
        callee: &ChorSig,
        k: usize,
        subst: &[(std::rc::Rc<str>, Ty)],
    ) {
        let name = &a.role;
        let got = match self.lookup_chor(name) {
            ChorLookup::Found(sig, res) => {
                self.note_res(a.expr.id, res);
                Some(*sig)
            }
            ChorLookup::ValueParam(_) | ChorLookup::NotFound => None,
        };
        let Some((pname, _, _, pspan)) = callee.params.get(k) else {
            return;
        };
        let (pname, pspan) = (pname.clone(), *pspan);
        let Some(want) = want else {
            // A value parameter: the argument must be `R.e`.
            let d = if got.is_some() {
                Diagnostic::error(
                    "E0106",
                    format!("`{}` is a choreography, not a value", name.name),
                    name.span,
                    format!("`{pname}` takes a located value"),
                )
                .with_label(pspan, "declared here")
                .with_help("pass a value at a role: `R.e`")
            } else {
                Diagnostic::error(
                    "E0736",
                    format!("the argument for `{pname}` must be a located value `R.e`"),
                    name.span,
                    "not located at a role",
                )
                .with_label(pspan, "declared here")
                .with_help(format!("write the role that holds it: `R.{}`", name.name))
            };
            self.emit(d);
            return;
        };
        let Some(got) = got else {
            self.emit(
                Diagnostic::error(
                    "E0736",
                    format!(
                        "cannot find choreography `{}` to pass as `{pname}`",
                        name.name
                    ),
                    name.span,
                    "not a choreography",
                )
                .with_label(pspan, "a choreography is expected here"),
            );
            return;
        };
        let gsubst = self.instantiate(&got.generics);
        self.sig_hovers
            .push((name.span, got.clone(), gsubst.clone()));
        if !gsubst.is_empty() {
            self.note_targs(a.expr.id, gsubst.iter().map(|(_, t)| t.clone()).collect());
            for (g, t) in &gsubst {
                self.inst_checks.push(crate::cx::InstCheck {
                    at: name.span,
                    chor: got.name.clone(),
                    generic: g.clone(),
                    ty: t.clone(),
                });
            }
        }
        self.conform(name.span, &pname, pspan, want, subst, &got, &gsubst);
    }

    /// Whether the choreography `got` (instantiated with `gsubst`) fits the choreography type
    /// `want` (instantiated with `wsubst`): as many roles and parameters, each parameter and
    /// the result held by the role in the same place, and the same types.
    #[allow(clippy::too_many_arguments)]
    fn conform(
        &mut self,
        at: Span,
        pname: &str,
        pspan: Span,
        want: &ChorSig,
        wsubst: &[(std::rc::Rc<str>, Ty)],
        got: &ChorSig,
        gsubst: &[(std::rc::Rc<str>, Ty)],
    ) {
        let wtext = self.sig_text(want, wsubst, "chor");
        let gtext = self.sig_text(got, gsubst, &got.name);
        let arity = |what: String| {
            Diagnostic::error(
                "E0733",
                format!("`{}` does not fit `{pname}`: {what}", got.name),
                at,
                format!("`{gtext}`"),
            )
            .with_label(pspan, format!("`{pname}` is `{wtext}`"))
            .with_label(got.name_span, "defined here")
        };
        let count = |n: usize, w: &str| {
            let s = if n == 1 { "" } else { "s" };
            let verb = if n == 1 { "is" } else { "are" };
            (format!("{n} {w}{s}"), verb)
        };
        if want.roles.len() != got.roles.len() {
            let (g, _) = count(got.roles.len(), "role");
            let (w, verb) = count(want.roles.len(), "role");
            self.emit(arity(format!("it takes {g} where {w} {verb} expected")));
            return;
        }
        if want.params.len() != got.params.len() {
            let (g, _) = count(got.params.len(), "value argument");
            let (w, verb) = count(want.params.len(), "value argument");
            self.emit(arity(format!("it takes {g} where {w} {verb} expected")));
            return;
        }
        if want.ret.is_some() != got.ret.is_some() {
            let d = arity(if want.ret.is_some() {
                "it returns no result, and one is expected".to_owned()
            } else {
                "it returns a result, and none is expected".to_owned()
            });
            self.emit(d);
            return;
        }
        let role_err = |cx: &mut Self, what: &str, wr: Option<usize>, gr: Option<usize>| {
            let wn = wr
                .and_then(|r| want.roles.get(r))
                .map_or("?", |(n, _)| n.as_str());
            let gn = gr
                .and_then(|r| got.roles.get(r))
                .map_or("?", |(n, _)| n.as_str());
            let d = Diagnostic::error(
                "E0734",
                format!(
                    "`{}` does not fit `{pname}`: {what} is held by its role {} ({gn}), not by role {} ({wn})",
                    got.name,
                    gr.map_or(0, |r| r + 1),
                    wr.map_or(0, |r| r + 1),
                ),
                at,
                format!("`{gtext}`"),
            )
            .with_label(pspan, format!("`{pname}` is `{wtext}`"))
            .with_label(got.name_span, "defined here")
            .with_note("roles correspond by position: the first role of the type is the first role of the choreography, and so on");
            cx.emit(d);
        };
        let mut ok = true;
        for (j, (w, g)) in want.params.iter().zip(&got.params).enumerate() {
            if got.chors.get(j).is_some_and(Option::is_some) {
                let d = arity(format!("its parameter `{}` takes a choreography", g.0));
                self.emit(d);
                return;
            }
            if w.2.is_some() && g.2.is_some() && w.2 != g.2 {
                role_err(self, &format!("value argument {}", j + 1), w.2, g.2);
                ok = false;
                continue;
            }
            let (wt, gt) = (w.1.subst(wsubst), g.1.subst(gsubst));
            if !self.tys.unify(&wt, &gt) {
                ok = false;
                let (ws, gs) = (self.show(&wt), self.show(&gt));
                self.type_err(
                    at,
                    pname,
                    pspan,
                    got,
                    &wtext,
                    &gtext,
                    &format!("value argument {} is `{gs}`, not `{ws}`", j + 1),
                );
            }
        }
        if let (Some((wt, wr, _)), Some((gt, gr, _))) = (&want.ret, &got.ret) {
            if wr.is_some() && gr.is_some() && wr != gr {
                role_err(self, "the result", *wr, *gr);
            } else {
                let (wt, gt) = (wt.subst(wsubst), gt.subst(gsubst));
                if !self.tys.unify(&wt, &gt) && ok {
                    let (ws, gs) = (self.show(&wt), self.show(&gt));
                    self.type_err(
                        at,
                        pname,
                        pspan,
                        got,
                        &wtext,
                        &gtext,
                        &format!("the result is `{gs}`, not `{ws}`"),
                    );
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn type_err(
        &mut self,
        at: Span,
        pname: &str,
        pspan: Span,
        got: &ChorSig,
        wtext: &str,
        gtext: &str,
        what: &str,
    ) {
        self.emit(
            Diagnostic::error(
                "E0735",
                format!("`{}` does not fit `{pname}`: {what}", got.name),
                at,
                format!("`{gtext}`"),
            )
            .with_label(pspan, format!("`{pname}` is `{wtext}`"))
            .with_label(got.name_span, "defined here"),
        );
    }

    /// A signature as the programmer writes it, with `subst` applied (`chor(X, Y)(Int@X) ->
    /// Int@Y`, `Relay(A, B)(x: Int@A) -> Int@B`).
    pub(crate) fn sig_text(
        &mut self,
        sig: &ChorSig,
        subst: &[(std::rc::Rc<str>, Ty)],
        name: &str,
    ) -> String {
        let roles: Vec<&str> = sig.roles.iter().map(|(n, _)| n.as_str()).collect();
        let role = |r: Option<usize>| r.and_then(|r| roles.get(r).copied()).unwrap_or("?");
        let mut params = Vec::new();
        for (k, (n, t, r, _)) in sig.params.iter().enumerate() {
            let t = if let Some(Some(c)) = sig.chors.get(k) {
                self.sig_text(c, subst, "chor")
            } else {
                let t = t.subst(subst);
                format!("{}@{}", self.show(&t), role(*r))
            };
            params.push(if n.is_empty() { t } else { format!("{n}: {t}") });
        }
        let mut out = format!("{name}({})", roles.join(", "));
        if !params.is_empty() {
            out.push_str(&format!("({})", params.join(", ")));
        }
        if let Some((t, r, _)) = &sig.ret {
            let t = t.subst(subst);
            out.push_str(&format!(" -> {}@{}", self.show(&t), role(*r)));
        }
        out
    }

    /// The body is checked: every generic choreography it instantiates must be instantiated
    /// with types that can travel (E0731); the callees' hovers show the instantiation.
    pub(crate) fn check_instantiations(&mut self) {
        for c in std::mem::take(&mut self.inst_checks) {
            if self.tys.contains_fn(&c.ty, &self.env.adt_fn) == Some(true) {
                let shown = self.show(&c.ty);
                self.emit(
                    Diagnostic::error(
                        "E0731",
                        format!(
                            "`{}` is instantiated with `{}` = `{shown}`, which cannot travel in a message",
                            c.chor, c.generic
                        ),
                        c.at,
                        format!("here `{}` is `{shown}`", c.generic),
                    )
                    .with_note("the type parameters of a choreography stand for values that may be sent; function values cannot be")
                    .with_help("pass the data the function needs instead, and call the function at the role that needs it"),
                );
            }
        }
        for (span, sig, subst) in std::mem::take(&mut self.sig_hovers) {
            if !self.tables {
                continue;
            }
            let mut name = sig.name.clone();
            if !subst.is_empty() {
                let args: Vec<String> = subst.iter().map(|(_, t)| self.show(t)).collect();
                name = format!("{name}<{}>", args.join(", "));
            }
            let text = self.sig_text(&sig, &subst, &name);
            self.hovers
                .push((span, std::sync::Arc::from(format!("choreography {text}"))));
        }
    }
}

/// What a name in callee or argument position of a choreography call names.
/// A callee's signature and the types found for its type parameters.
pub(crate) type CalleeSig = (crate::cx::ChorSig, Vec<(std::rc::Rc<str>, Ty)>);

enum ChorLookup {
    Found(Box<crate::cx::ChorSig>, Res),
    /// A value parameter (declared at this span).
    ValueParam(Span),
    NotFound,
}
