//! Endpoint projection with merging, and the knowledge-of-choice check.
//!
//! `project(C, i)` turns choreography C into what its i-th role does. A role that does not make a
//! choice (`if R.e` / `match R.e`) follows the merge of its behaviours in the branches: identical
//! behaviour merges trivially, and `branch` statements (waiting for a selection label) merge
//! label-wise. Anything else cannot be merged: the role cannot know which branch was taken, and
//! that is a knowledge-of-choice error with a fix that inserts the selections.

use crate::local::*;
use chor_check::{CommTypes, ItemIr, ItemRef, Program, Reuse};
use chor_diagnostics::{Diagnostic, Fix, Span};
use chor_syntax::ast::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Why two behaviours could not be merged: the first differing statements (None: nothing there).
#[derive(Debug, Clone)]
struct Mismatch {
    left: Option<(Span, String)>,
    right: Option<(Span, String)>,
    /// The types received on each side, when the statements differ only in those.
    types: Option<Box<(String, String)>>,
    /// Whether the two sides are values yielded by a conditional expression (`left` and
    /// `right` then hold the values).
    yields: bool,
}

/// A statement's first line, for a diagnostic. A statement that holds others is printed
/// without them: its first line does not show them, and printing a deep subtree for each
/// mismatch would cost its size.
fn describe(s: &LStmt) -> (Span, String) {
    let shallow = |kind: LKind| LStmt { kind, span: s.span };
    let text = match &s.kind {
        LKind::Branch { from, arms } => stmt_text(&shallow(LKind::Branch {
            from: from.clone(),
            arms: arms.iter().map(|(l, _)| (l.clone(), Vec::new())).collect(),
        })),
        LKind::If { cond, group, .. } => stmt_text(&shallow(LKind::If {
            cond: cond.clone(),
            then: Vec::new(),
            els: Vec::new(),
            group: group.clone(),
        })),
        LKind::Match {
            scrutinee,
            arms,
            group,
        } => stmt_text(&shallow(LKind::Match {
            scrutinee: scrutinee.clone(),
            arms: arms.iter().map(|(p, _)| (p.clone(), Vec::new())).collect(),
            group: group.clone(),
        })),
        LKind::Block(_) => stmt_text(&shallow(LKind::Block(Vec::new()))),
        LKind::Bind { pats, .. } => stmt_text(&shallow(LKind::Bind {
            pats: pats.clone(),
            body: Vec::new(),
        })),
        _ => stmt_text(s),
    };
    let first = text.lines().next().unwrap_or("").trim().to_owned();
    (s.span, first)
}

/// The merge of two behaviours of a role that does not know which branch was taken. Both are
/// consumed: the merged tree reuses their statements, so merging a chain of nested
/// conditionals moves each subtree once instead of copying it at every level above it.
fn merge(a: Vec<LStmt>, b: Vec<LStmt>) -> Result<Vec<LStmt>, Mismatch> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let mut a = a.into_iter();
    let mut b = b.into_iter();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ok(out),
            (Some(x), None) => {
                return Err(Mismatch {
                    left: Some(describe(&x)),
                    right: None,
                    types: None,
                    yields: false,
                });
            }
            (None, Some(y)) => {
                return Err(Mismatch {
                    left: None,
                    right: Some(describe(&y)),
                    types: None,
                    yields: false,
                });
            }
            (Some(x), Some(y)) => out.push(merge_stmt(x, y)?),
        }
    }
}

/// Whether a statement holds other statements. Two such statements that the structured cases
/// of [`merge_stmt`] do not merge differ (in kind, sender, condition or patterns), so they are
/// not compared by their whole text, which would cost the size of their subtrees.
fn compound(k: &LKind) -> bool {
    matches!(
        k,
        LKind::Branch { .. }
            | LKind::If { .. }
            | LKind::Match { .. }
            | LKind::Block(_)
            | LKind::Bind { .. }
    )
}

fn merge_stmt(x: LStmt, y: LStmt) -> Result<LStmt, Mismatch> {
    let span = x.span;
    let kind = match (x.kind, y.kind) {
        (LKind::Branch { from: f1, arms: a1 }, LKind::Branch { from: f2, arms: a2 })
            if f1 == f2 =>
        {
            // The arms of `x` (merged with `y`'s arm of the same label), then those only `y`
            // has. The smaller side's labels are looked up in the larger side, whose arms
            // stay where they are: a chain of `else if`s piles its arms up on the `y` side,
            // and each level then adds its own arm in front of them in one move.
            let arms = if a1.len() <= a2.len() {
                let mut arms = a2;
                let mut front = Vec::with_capacity(a1.len());
                let mut emptied = false;
                for (l, body1) in a1 {
                    match arms.iter().position(|(l2, _)| *l2 == l) {
                        Some(i) => {
                            let body2 = std::mem::take(&mut arms[i].1);
                            front.push((l, merge(body1, body2)?));
                            arms[i].0.clear();
                            emptied = true;
                        }
                        None => front.push((l, body1)),
                    }
                }
                // Merged arms moved to the front: their places in `y`'s list are emptied.
                if emptied {
                    arms.retain(|(l, _)| !l.is_empty());
                }
                arms.splice(0..0, front);
                arms
            } else {
                let mut arms = a1;
                let own = arms.len();
                for (l, body2) in a2 {
                    match arms[..own].iter().position(|(l1, _)| *l1 == l) {
                        Some(i) => {
                            let body1 = std::mem::take(&mut arms[i].1);
                            arms[i].1 = merge(body1, body2)?;
                        }
                        None => arms.push((l, body2)),
                    }
                }
                arms
            };
            LKind::Branch { from: f1, arms }
        }
        (
            LKind::If {
                cond: c1,
                then: t1,
                els: e1,
                group: g1,
            },
            LKind::If {
                cond: c2,
                then: t2,
                els: e2,
                group: g2,
            },
        ) if chor_syntax::pretty::expr_string(&c1) == chor_syntax::pretty::expr_string(&c2)
            && g1 == g2 =>
        {
            LKind::If {
                cond: c1,
                then: merge(t1, t2)?,
                els: merge(e1, e2)?,
                group: g1,
            }
        }
        (
            LKind::Match {
                scrutinee: s1,
                arms: a1,
                group: g1,
            },
            LKind::Match {
                scrutinee: s2,
                arms: a2,
                group: g2,
            },
        ) if chor_syntax::pretty::expr_string(&s1) == chor_syntax::pretty::expr_string(&s2)
            && g1 == g2
            && a1.len() == a2.len()
            && a1
                .iter()
                .zip(&a2)
                .all(|((p, _), (q, _))| pat_text(p) == pat_text(q)) =>
        {
            let mut arms = Vec::with_capacity(a1.len());
            for ((p, b1), (_, b2)) in a1.into_iter().zip(a2) {
                arms.push((p, merge(b1, b2)?));
            }
            LKind::Match {
                scrutinee: s1,
                arms,
                group: g1,
            }
        }
        (LKind::Block(b1), LKind::Block(b2)) => LKind::Block(merge(b1, b2)?),
        // The same targets: the two sides of the conditional merge like blocks.
        (LKind::Bind { pats: p1, body: b1 }, LKind::Bind { pats: p2, body: b2 })
            if p1.len() == p2.len()
                && p1.iter().zip(&p2).all(|(p, q)| pat_text(p) == pat_text(q)) =>
        {
            LKind::Bind {
                pats: p1,
                body: merge(b1, b2)?,
            }
        }
        (xk, yk) => {
            let x = LStmt { kind: xk, span };
            let y = LStmt {
                kind: yk,
                span: y.span,
            };
            return merge_leaf(x, y);
        }
    };
    Ok(LStmt { kind, span })
}

/// [`merge_stmt`] of two statements that no structured case merges: equal simple statements
/// merge to one, anything else is a mismatch.
fn merge_leaf(x: LStmt, y: LStmt) -> Result<LStmt, Mismatch> {
    match (&x.kind, &y.kind) {
        (LKind::Recv { ty: t1, .. }, LKind::Recv { ty: t2, .. }) if !t1.same(t2) => {
            // Same text, but the value has a different type in each branch: the role cannot
            // know which to expect.
            Err(Mismatch {
                left: Some((
                    x.span,
                    format!("{} (a {})", stmt_text(&x).trim(), t1.show()),
                )),
                right: Some((
                    y.span,
                    format!("{} (a {})", stmt_text(&y).trim(), t2.show()),
                )),
                types: Some(Box::new((t1.show(), t2.show()))),
                yields: false,
            })
        }
        // Two branches of a conditional expression yield different values at this role:
        // the labels name the values, not the source of the whole yield.
        (LKind::Yield(v1), LKind::Yield(v2)) if stmt_text(&x) != stmt_text(&y) => {
            let show = |v: &[Expr]| {
                v.iter()
                    .map(chor_syntax::pretty::expr_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            Err(Mismatch {
                left: Some((x.span, show(v1))),
                right: Some((y.span, show(v2))),
                types: None,
                yields: true,
            })
        }
        (xk, yk) if !compound(xk) && !compound(yk) && stmt_text(&x) == stmt_text(&y) => Ok(x),
        _ => Err(Mismatch {
            left: Some(describe(&x)),
            right: Some(describe(&y)),
            types: None,
            yields: false,
        }),
    }
}

fn pat_text(p: &Pattern) -> String {
    let mut s = String::new();
    chor_syntax::pretty::pattern(p, &mut s);
    s
}

/// Projection of one choreography at one role position.
struct Projector<'a> {
    prog: &'a Program,
    chor: &'a ChorDef,
    role: &'a str,
    /// The position of the role projected, among the choreography's roles.
    index: usize,
    /// What the checker resolved in the choreography: the roles of each statement.
    ir: &'a ItemIr,
    diags: Vec<Diagnostic>,
    /// Procedures this projection calls.
    calls: BTreeSet<ProcKey>,
    /// The type of each comm (absent when projecting only to check knowledge of choice).
    types: Option<&'a CommTypes>,
}

/// Labels suggested for the branches of a choice.
/// The labels of the selections that tell a role which of `n` branches was taken: a branch
/// that already starts with a selection keeps its label (`told`), the others are named after
/// their pattern, or `Then`/`Else`, made distinct.
fn branch_labels(told: &[Option<String>], pats: Option<&[&Pattern]>) -> Vec<String> {
    let n = told.len();
    let taken: Vec<&String> = told.iter().flatten().collect();
    let mut labels: Vec<String> = Vec::new();
    for (i, told) in told.iter().enumerate() {
        if let Some(l) = told {
            labels.push(l.clone());
            continue;
        }
        let base = match pats.and_then(|p| p.get(i)).map(|p| &p.kind) {
            Some(PatternKind::Variant { name, .. }) => name.last().name.clone(),
            Some(PatternKind::Ident(id)) if id.name.starts_with(|c: char| c.is_uppercase()) => {
                id.name.clone()
            }
            Some(PatternKind::Struct { name, .. }) => name.last().name.clone(),
            Some(PatternKind::Lit(Lit::Bool(true))) => "True".to_owned(),
            Some(PatternKind::Lit(Lit::Bool(false))) => "False".to_owned(),
            Some(_) => format!("Case{}", i + 1),
            None if n == 2 => (if i == 0 { "Then" } else { "Else" }).to_owned(),
            None => format!("Case{}", i + 1),
        };
        let mut l = base.clone();
        let mut k = 2;
        while labels.contains(&l) || taken.contains(&&l) {
            l = format!("{base}{k}");
            k += 1;
        }
        labels.push(l);
    }
    labels
}

impl<'a> Projector<'a> {
    /// The type of the comm at `span`.
    fn msg_type(&self, span: Span) -> MsgType {
        match self
            .types
            .and_then(|t| Some((t, t.get(&self.chor.name.name, span)?)))
        {
            Some((t, id)) => MsgType {
                table: Arc::clone(&t.table),
                id,
            },
            None => MsgType::any(),
        }
    }

    /// The label of a selection that starts `stmts` and tells this projector's role.
    fn told_at_start(&self, decider: &Ident, stmts: &[ChorStmt]) -> Option<String> {
        match &stmts.first()?.kind {
            ChorStmtKind::Select { from, to, label }
                if from.name == decider.name && to.iter().any(|t| t.name == self.role) =>
            {
                Some(label.name.clone())
            }
            _ => None,
        }
    }

    /// What a fix needs to know of a branch: its block, whether it already tells this role,
    /// and a selection from the decider to other roles that it starts with (which the fix
    /// extends with this role instead of adding a second selection).
    fn branch(&self, decider: &Ident, block: &ChorBlock) -> Branch {
        let extend = match &block.stmts.first().map(|s| &s.kind) {
            Some(ChorStmtKind::Select { from, to, label })
                if from.name == decider.name && !to.iter().any(|t| t.name == self.role) =>
            {
                to.first().map(|t| {
                    let names: Vec<String> = to.iter().map(|r| r.name.clone()).collect();
                    (label.name.clone(), t.span, names)
                })
            }
            _ => None,
        };
        Branch {
            span: block.span,
            told: self.told_at_start(decider, &block.stmts),
            extend,
        }
    }

    /// The source text of a span, on one line (`…` if it goes on), when the program has it.
    fn source_text(&self, span: Span) -> Option<String> {
        let text = self.prog.sources.get(&span.file)?;
        let t = text.get(span.start as usize..span.end as usize)?;
        let mut lines = t.lines();
        let first = lines.next()?.trim().to_owned();
        Some(if lines.next().is_some() {
            format!("{first} …")
        } else {
            first
        })
    }

    /// The indentation of the line that contains `at`.
    fn indent_at(&self, at: u32, file: chor_diagnostics::FileId) -> String {
        let Some(text) = self.prog.sources.get(&file) else {
            return String::new();
        };
        let before = text.get(..at as usize).unwrap_or("");
        let line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
        line.chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect()
    }

    /// The character at `at`, when the program has the source.
    fn char_at(&self, at: u32, file: chor_diagnostics::FileId) -> Option<char> {
        self.prog
            .sources
            .get(&file)?
            .get(at as usize..)?
            .chars()
            .next()
    }

    fn block(&mut self, stmts: &[ChorStmt]) -> Vec<LStmt> {
        let mut out = Vec::new();
        for (k, s) in stmts.iter().enumerate() {
            let span = s.span;
            // The statement's roles as the checker resolved them (see `chor_check::ir::Node`):
            // whether the k-th is the role projected.
            let ir: &'a ItemIr = self.ir;
            let roles = &ir.node(s.id).roles;
            let index = self.index;
            let me = |k: usize| roles.get(k).is_some_and(|r| *r as usize == index);
            match &s.kind {
                ChorStmtKind::Let {
                    pat, value, group, ..
                } => {
                    // Every member of a group computes the agreed value by itself.
                    let mine = match group {
                        None => me(0),
                        Some(_) => (0..roles.len()).any(me),
                    };
                    if mine {
                        out.push(LStmt {
                            kind: LKind::Let {
                                pat: pat.clone(),
                                value: value.clone(),
                            },
                            span,
                        });
                    }
                }
                ChorStmtKind::Effect { expr, .. } => {
                    if me(0) {
                        out.push(LStmt {
                            kind: LKind::Effect(expr.clone()),
                            span,
                        });
                    }
                }
                ChorStmtKind::Comm {
                    from,
                    expr,
                    to,
                    group: Some(_),
                } => {
                    // `A.e -> (A, B).x`: a sender in the group binds the value and sends it on
                    // (the receiver's id names the binding and its read: see the checker).
                    let kept = to.iter().enumerate().find(|(k, _)| me(0) && me(k + 1));
                    if me(0) {
                        let others: Vec<String> = to
                            .iter()
                            .enumerate()
                            .filter(|(k, _)| !me(k + 1))
                            .map(|(_, r)| r.role.name.clone())
                            .collect();
                        let value = match kept {
                            Some((_, r)) => {
                                let var = Ident {
                                    name: r.var.name.clone(),
                                    span: r.var.span,
                                };
                                out.push(LStmt {
                                    kind: LKind::Let {
                                        pat: Pattern {
                                            kind: PatternKind::Ident(var.clone()),
                                            span: r.var.span,
                                            id: r.id,
                                        },
                                        value: expr.clone(),
                                    },
                                    span,
                                });
                                Expr {
                                    kind: ExprKind::Path(Path {
                                        segments: vec![var],
                                        span: r.var.span,
                                    }),
                                    span: r.var.span,
                                    id: r.id,
                                }
                            }
                            None => expr.clone(),
                        };
                        if !others.is_empty() {
                            out.push(LStmt {
                                kind: LKind::Send {
                                    to: others,
                                    expr: value,
                                },
                                span,
                            });
                        }
                    } else if let Some(k) = (0..to.len()).find(|k| me(k + 1)) {
                        out.push(LStmt {
                            kind: LKind::Recv {
                                from: from.name.clone(),
                                var: to[k].var.name.clone(),
                                ty: self.msg_type(span),
                            },
                            span,
                        });
                    }
                }
                ChorStmtKind::Comm { from, expr, to, .. } => {
                    if me(0) {
                        out.push(LStmt {
                            kind: LKind::Send {
                                to: to.iter().map(|r| r.role.name.clone()).collect(),
                                expr: expr.clone(),
                            },
                            span,
                        });
                    }
                    for (k, r) in to.iter().enumerate() {
                        if me(k + 1) {
                            out.push(LStmt {
                                kind: LKind::Recv {
                                    from: from.name.clone(),
                                    var: r.var.name.clone(),
                                    ty: self.msg_type(span),
                                },
                                span,
                            });
                        }
                    }
                }
                ChorStmtKind::Select { from, to, label } => {
                    if me(0) {
                        out.push(LStmt {
                            kind: LKind::Select {
                                to: to.iter().map(|r| r.name.clone()).collect(),
                                label: label.name.clone(),
                            },
                            span,
                        });
                    } else if (1..=to.len()).any(me) {
                        // The rest of the block is what happens after this label arrives.
                        let rest = self.block(&stmts[k + 1..]);
                        out.push(LStmt {
                            kind: LKind::Branch {
                                from: from.name.clone(),
                                arms: vec![(label.name.clone(), rest)],
                            },
                            span,
                        });
                        return out;
                    }
                }
                ChorStmtKind::If {
                    role,
                    cond,
                    then,
                    els,
                    group,
                    bind,
                } => {
                    // A conditional expression: its side of the conditional binds the targets
                    // this role holds (see `bind_targets`).
                    let outer = std::mem::take(&mut out);
                    let t = self.block(&then.stmts);
                    let e = els
                        .as_ref()
                        .map(|b| self.block(&b.stmts))
                        .unwrap_or_default();
                    // Every member of a deciding group branches by itself, with no message.
                    let decides = match group {
                        None => me(0),
                        Some(_) => (0..roles.len()).any(me),
                    };
                    if decides {
                        out.push(LStmt {
                            kind: LKind::If {
                                cond: cond.clone(),
                                then: t,
                                els: e,
                                group: group_names(group.as_ref()),
                            },
                            span,
                        });
                    } else {
                        let blocks = [
                            self.branch(role, then),
                            match els {
                                Some(b) => self.branch(role, b),
                                None => Branch {
                                    span: then.span.end_point(),
                                    told: None,
                                    extend: None,
                                },
                            },
                        ];
                        match merge(t, e) {
                            Ok(m) => push_scoped(&mut out, m, span),
                            Err(mm) => {
                                let d = self.koc_error(
                                    role,
                                    s,
                                    cond.span,
                                    &blocks,
                                    els.is_none(),
                                    None,
                                    mm,
                                );
                                self.diags.push(d);
                            }
                        }
                    }
                    out = self.bind_targets(outer, out, bind, span);
                }
                ChorStmtKind::Match {
                    role,
                    scrutinee,
                    arms,
                    group,
                    bind,
                } => {
                    let outer = std::mem::take(&mut out);
                    let bodies: Vec<Vec<LStmt>> =
                        arms.iter().map(|a| self.block(&a.body.stmts)).collect();
                    let decides = match group {
                        None => me(0),
                        Some(_) => (0..roles.len()).any(me),
                    };
                    if decides {
                        out.push(LStmt {
                            kind: LKind::Match {
                                scrutinee: scrutinee.clone(),
                                arms: arms.iter().map(|a| a.pat.clone()).zip(bodies).collect(),
                                group: group_names(group.as_ref()),
                            },
                            span,
                        });
                    } else {
                        let mut acc: Option<Vec<LStmt>> = None;
                        let mut failed = None;
                        for (i, b) in bodies.into_iter().enumerate() {
                            acc = Some(match acc.take() {
                                None => b,
                                Some(prev) => match merge(prev, b) {
                                    Ok(m) => m,
                                    Err(mm) => {
                                        failed = Some((i, mm));
                                        break;
                                    }
                                },
                            });
                        }
                        match failed {
                            None => push_scoped(&mut out, acc.unwrap_or_default(), span),
                            Some((_, mm)) => {
                                let blocks: Vec<Branch> =
                                    arms.iter().map(|a| self.branch(role, &a.body)).collect();
                                let pats: Vec<&Pattern> = arms.iter().map(|a| &a.pat).collect();
                                let d = self.koc_error(
                                    role,
                                    s,
                                    scrutinee.span,
                                    &blocks,
                                    false,
                                    Some(&pats),
                                    mm,
                                );
                                self.diags.push(d);
                            }
                        }
                    }
                    out = self.bind_targets(outer, out, bind, span);
                }
                ChorStmtKind::Call { .. } | ChorStmtKind::CallMany { .. } => {
                    let (call, bind) = match &s.kind {
                        ChorStmtKind::Call { call, bind } => (
                            call,
                            // The role that binds the result follows the roles passed.
                            bind.as_ref()
                                .filter(|_| me(call.roles.len()))
                                .map(|(_, p, _)| p.clone()),
                        ),
                        ChorStmtKind::CallMany { call, targets } => (
                            call,
                            // Each role holds at most one result: the target that names it.
                            targets
                                .iter()
                                .find(|t| holds(&t.role, t.group.as_ref(), self.role))
                                .map(|t| t.pat.clone()),
                        ),
                        _ => continue,
                    };
                    let Some(i) = (0..call.roles.len()).position(me) else {
                        continue;
                    };
                    // A choreography-typed parameter is projected as a call of its
                    // signature: whatever is passed for it fits that signature.
                    let param = self
                        .chor
                        .params
                        .iter()
                        .find(|p| p.name.name == call.callee.name)
                        .and_then(|p| p.chor.as_deref());
                    let Some(callee) = param.or_else(|| self.prog.chor(&call.callee.name)) else {
                        continue;
                    };
                    // In a generic or higher-order choreography, a call is named after the
                    // instance it will call (`Relay<Int>`, `Twice[Double]`), so that only
                    // calls of the same instance merge.
                    let chor = if chor_check::mono::is_template(self.chor) || param.is_some() {
                        chor_check::mono::callee_name(self.prog, self.ir, s.id, call)
                    } else {
                        callee.name.name.clone()
                    };
                    let key = ProcKey { chor, index: i };
                    let my_role_in_callee = callee.roles.get(i).map(|r| r.name.as_str());
                    let args = callee
                        .params
                        .iter()
                        .filter(|p| p.chor.is_none())
                        .zip(call.args.iter().filter(|a| !a.chor))
                        .filter(|(p, _)| {
                            my_role_in_callee.is_some_and(|m| holds(&p.role, p.group.as_ref(), m))
                        })
                        .map(|(_, a)| a.expr.clone())
                        .collect();
                    self.calls.insert(key.clone());
                    out.push(LStmt {
                        kind: LKind::Call {
                            key,
                            callee_role: my_role_in_callee.unwrap_or("").to_owned(),
                            roles: call.roles.iter().map(|r| r.name.clone()).collect(),
                            args,
                            bind,
                        },
                        span,
                    });
                }
                ChorStmtKind::Return { expr, .. } => {
                    if me(0) {
                        out.push(LStmt {
                            kind: LKind::Return(expr.clone()),
                            span,
                        });
                    }
                }
                // Each role returns the one result it holds (a member of a group returns its
                // agreed value).
                ChorStmtKind::Results { parts } => {
                    if let Some(p) = parts
                        .iter()
                        .find(|p| holds(&p.role, p.group.as_ref(), self.role))
                    {
                        out.push(LStmt {
                            kind: LKind::Return(p.expr.clone()),
                            span,
                        });
                    }
                }
                // The values this role holds, in the order of the targets.
                ChorStmtKind::Yield { parts } => {
                    let mine: Vec<Expr> = parts
                        .iter()
                        .filter(|p| holds(&p.role, p.group.as_ref(), self.role))
                        .map(|p| p.expr.clone())
                        .collect();
                    if !mine.is_empty() {
                        out.push(LStmt {
                            kind: LKind::Yield(mine),
                            span,
                        });
                    }
                }
                // Rejected by the checker (not a call).
                ChorStmtKind::LetMany { .. } => {}
                // Unrolled by the program's family expansion before projection.
                ChorStmtKind::For { .. } | ChorStmtKind::Error => {}
            }
        }
        out
    }

    /// `outer` followed by `side`, this role's side of a conditional at `span`: when the
    /// conditional is an expression whose targets include some this role holds, `side` binds
    /// them (the yields at the end of its branches give their values, in target order).
    fn bind_targets(
        &self,
        mut outer: Vec<LStmt>,
        side: Vec<LStmt>,
        targets: &[Target],
        span: Span,
    ) -> Vec<LStmt> {
        let pats: Vec<Pattern> = targets
            .iter()
            .filter(|t| holds(&t.role, t.group.as_ref(), self.role))
            .map(|t| t.pat.clone())
            .collect();
        if pats.is_empty() {
            outer.extend(side);
        } else {
            outer.push(LStmt {
                kind: LKind::Bind { pats, body: side },
                span,
            });
        }
        outer
    }

    /// The variable of the innermost `for` round over this role's family around `at`, with
    /// the family's name, when one of the statements at `uses` names the role by it (and the
    /// family no other way), and the conditional at `at` is not decided by the round's
    /// member as another member than this role (`decider`, expanded).
    fn round_name(&self, at: Span, uses: &[Span], decider: &str) -> Option<(String, String)> {
        let (family, _) = self.role.split_once('[')?;
        fn rounds<'b>(b: &'b ChorBlock, at: Span, family: &str, out: &mut Vec<&'b ChorStmt>) {
            for st in &b.stmts {
                if !(st.span.file == at.file && st.span.start <= at.start && at.end <= st.span.end)
                {
                    continue;
                }
                match &st.kind {
                    ChorStmtKind::For {
                        family: f, body, ..
                    } => {
                        if f.name == family {
                            out.push(st);
                        }
                        rounds(body, at, family, out);
                    }
                    ChorStmtKind::If { then, els, .. } => {
                        rounds(then, at, family, out);
                        if let Some(e) = els {
                            rounds(e, at, family, out);
                        }
                    }
                    ChorStmtKind::Match { arms, .. } => {
                        for a in arms {
                            rounds(&a.body, at, family, out);
                        }
                    }
                    _ => {}
                }
            }
        }
        fn find(b: &ChorBlock, at: Span) -> Option<&ChorStmt> {
            b.stmts.iter().find_map(|st| {
                if st.span == at {
                    return Some(st);
                }
                match &st.kind {
                    ChorStmtKind::For { body, .. } => find(body, at),
                    ChorStmtKind::If { then, els, .. } => {
                        find(then, at).or_else(|| els.as_ref().and_then(|e| find(e, at)))
                    }
                    ChorStmtKind::Match { arms, .. } => arms.iter().find_map(|a| find(&a.body, at)),
                    _ => None,
                }
            })
        }
        // Whether `st` names a role `var` by (`W`), and the family no other way (`Ws[e]`,
        // `Ws`), which could be this role in the reported round as well.
        let names = |st: &ChorStmt, var: &str| -> bool {
            let mut roles: Vec<&Ident> = Vec::new();
            match &st.kind {
                ChorStmtKind::Comm { from, to, .. } => {
                    roles.push(from);
                    roles.extend(to.iter().map(|t| &t.role));
                }
                ChorStmtKind::Select { from, to, .. } => {
                    roles.push(from);
                    roles.extend(to);
                }
                ChorStmtKind::Let { role, .. }
                | ChorStmtKind::Effect { role, .. }
                | ChorStmtKind::If { role, .. }
                | ChorStmtKind::Match { role, .. } => roles.push(role),
                ChorStmtKind::Call { call, .. } | ChorStmtKind::CallMany { call, .. } => {
                    roles.extend(&call.roles);
                }
                _ => {}
            }
            roles.iter().any(|r| r.name == var) && !roles.iter().any(|r| r.name == family)
        };
        for def in self.prog.family_sources.values() {
            let mut found = Vec::new();
            rounds(&def.body, at, family, &mut found);
            let Some(ChorStmtKind::For { var, .. }) = found.last().map(|st| &st.kind) else {
                continue;
            };
            // Decided by the round's member, which is another member than this role.
            let decided_by_other = find(&def.body, at).is_some_and(|st| match &st.kind {
                ChorStmtKind::If {
                    role, group: None, ..
                }
                | ChorStmtKind::Match {
                    role, group: None, ..
                } => role.name == var.name && decider != self.role,
                _ => false,
            });
            let named = !decided_by_other
                && uses
                    .iter()
                    .filter_map(|u| find(&def.body, *u))
                    .any(|st| names(st, &var.name));
            if named {
                return Some((var.name.clone(), family.to_owned()));
            }
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn koc_error(
        &self,
        decider: &Ident,
        stmt: &ChorStmt,
        head: Span,
        blocks: &[Branch],
        missing_else: bool,
        pats: Option<&[&Pattern]>,
        mm: Mismatch,
    ) -> Diagnostic {
        // In a `for` round over the role's family, where the diverging statements name the
        // role by the round's variable, the fix names it so too: `L -> W[Then];` is right in
        // every round, `L -> Ws[0][Then];` only in the first.
        let uses: Vec<Span> = [&mm.left, &mm.right]
            .into_iter()
            .flatten()
            .map(|(sp, _)| *sp)
            .collect();
        let round = self.round_name(stmt.span, &uses, &decider.name);
        let role: &str = round.as_ref().map_or(self.role, |(var, _)| var.as_str());
        let who = self.role;
        let what = if pats.is_some() { "match" } else { "if" };
        // A deciding group `(A, B)`: every member knows the choice; the fix has its first
        // member tell the role, the same member in every branch.
        let group = match &stmt.kind {
            ChorStmtKind::If { group: Some(g), .. }
            | ChorStmtKind::Match { group: Some(g), .. } => {
                let names: Vec<&str> = g.roles.iter().map(|r| r.name.as_str()).collect();
                Some(format!("({})", names.join(", ")))
            }
            _ => None,
        };
        let mut d = match &group {
            None => Diagnostic::error(
                "E0501",
                format!("{who} cannot know which branch {} chose", decider.name),
                head,
                format!("{} decides here", decider.name),
            ),
            Some(g) => Diagnostic::error(
                "E0501",
                format!("{who} cannot know which branch the group {g} chose"),
                head,
                format!("every role of {g} decides here; {who} is not one of them"),
            ),
        };
        // Quote the user's statement where the source is known, not its projection.
        let quote = |sp: &Span, t: &String| self.source_text(*sp).unwrap_or_else(|| t.clone());
        let left = mm.left.as_ref().map(|(sp, t)| (*sp, quote(sp, t)));
        let right = mm.right.as_ref().map(|(sp, t)| (*sp, quote(sp, t)));
        match (&left, &right) {
            (Some((s1, _)), Some((s2, _))) if mm.yields => {
                let (v1, v2) = (
                    mm.left.as_ref().map_or("", |l| l.1.as_str()),
                    mm.right.as_ref().map_or("", |r| r.1.as_str()),
                );
                d = d
                    .with_label(*s1, format!("in one branch {role} yields `{v1}`"))
                    .with_label(*s2, format!("in another it yields `{v2}`"));
            }
            (Some((s1, t1)), Some((s2, t2))) => match mm.types.as_deref() {
                // The same statement, but the value has another type in each branch.
                Some((ty1, ty2)) => {
                    d = d
                        .with_label(*s1, format!("in one branch {role} receives a {ty1} here"))
                        .with_label(*s2, format!("in another it receives a {ty2} here"));
                }
                None => {
                    d = d
                        .with_label(*s1, format!("in one branch {role} does `{t1}`"))
                        .with_label(*s2, format!("in another it does `{t2}`"));
                }
            },
            (Some((s1, t1)), None) | (None, Some((s1, t1))) => {
                d = d.with_label(*s1, format!("{role} does `{t1}` in one branch only"));
            }
            (None, None) => {}
        }
        // A label that starts two branches tells nothing: only its first use counts. A branch
        // that starts with a selection to other roles is told by extending it, when its label
        // is not used by another branch.
        let mut told: Vec<Option<String>> = Vec::new();
        let mut extended: Vec<Option<(Span, &[String])>> = Vec::new();
        for b in blocks {
            let (label, ext) = match (&b.told, &b.extend) {
                (Some(t), _) => (Some(t.clone()), None),
                (None, Some((l, at, to))) => (Some(l.clone()), Some((*at, to.as_slice()))),
                (None, None) => (None, None),
            };
            let dup = label.is_some() && told.contains(&label);
            told.push(if dup { None } else { label });
            extended.push(if dup { None } else { ext });
        }
        let labels = branch_labels(&told, pats);
        let sel = |l: &str| format!("{} -> {role}[{l}];", decider.name);
        let file = stmt.span.file;
        let outer = self.indent_at(stmt.span.start, file);
        let mut edits: Vec<(Span, String)> = Vec::new();
        let mut shown: Vec<String> = Vec::new();
        for (i, (b, told)) in blocks.iter().zip(&told).enumerate() {
            let label = &labels[i];
            if let Some((at, to)) = extended[i] {
                // `A -> C[Pass];` becomes `A -> B, C[Pass];`.
                edits.push((
                    Span {
                        end: at.start,
                        ..at
                    },
                    format!("{role}, "),
                ));
                shown.push(format!(
                    "`{} -> {role}, {}[{label}];`",
                    decider.name,
                    to.join(", ")
                ));
                continue;
            }
            if told.is_some() {
                // This branch already starts by telling the role; keep its label.
                shown.push(format!("`{}`", sel(label)));
                continue;
            }
            shown.push(format!("`{}`", sel(label)));
            let block_span = b.span;
            if i == blocks.len() - 1 && missing_else {
                // Like the `then` block: on lines of its own, or on one line.
                let one_line = blocks
                    .first()
                    .and_then(|t| self.source_text(t.span))
                    .is_some_and(|t| !t.ends_with('…'));
                edits.push((
                    block_span,
                    if one_line {
                        format!(" else {{ {} }}", sel(label))
                    } else {
                        format!(" else {{\n{outer}    {}\n{outer}}}", sel(label))
                    },
                ));
            } else if self.char_at(block_span.start, file) != Some('{') {
                // `else if …` has no braces of its own: wrap it in a block that tells first.
                let ind = self.indent_at(block_span.start, file);
                edits.push((
                    Span {
                        end: block_span.start,
                        ..block_span
                    },
                    format!("{{\n{ind}    {}\n{ind}    ", sel(label)),
                ));
                edits.push((block_span.end_point(), format!("\n{ind}}}")));
            } else {
                // On a line of its own, indented like the branch's statements (a block written
                // on one line keeps its selection on that line).
                let at = Span {
                    file: block_span.file,
                    start: block_span.start + 1,
                    end: block_span.start + 1,
                };
                let text = match self.char_at(block_span.start + 1, file) {
                    Some('\n') | Some('\r') => format!(
                        "\n{}    {}",
                        self.indent_at(block_span.start, file),
                        sel(label)
                    ),
                    _ => format!(" {}", sel(label)),
                };
                edits.push((at, text));
            }
        }
        let listing: Vec<String> = shown;
        let listing = if missing_else {
            let (last, rest) = listing
                .split_last()
                .map_or((String::new(), &[][..]), |(l, r)| (l.clone(), r));
            let mut v = rest.to_vec();
            v.push(format!("{last} in an added `else`"));
            v
        } else {
            listing
        };
        d = d.with_help(format!(
            "{role} behaves differently depending on this {what}; tell it which branch was taken by starting the branches with {}",
            listing.join(" and ")
        ));
        if let Some((var, family)) = &round {
            d = d.with_note(format!(
                "{who} is `{var}` in its round of `for {var} in {family}`: the selection names `{var}`, so that every round tells its own member"
            ));
        }
        d = d.with_note(match &group {
            None => format!(
                "roles that behave the same in every branch need no selection; {role} does not, so it must learn the choice (from {} or from a role that already knows it) before it acts differently",
                decider.name
            ),
            Some(g) => format!(
                "roles that behave the same in every branch need no selection; {role} does not, so it must learn the choice before it acts differently, from a member of {g} (the same member in every branch) or from a role that already knows it"
            ),
        });
        let _ = stmt;
        let mut edits = edits.into_iter();
        if let Some((span, replacement)) = edits.next() {
            d = d.with_fix(Fix {
                message: format!("insert selections telling {role} the branch"),
                span,
                replacement,
                more: edits.collect(),
            });
        }
        d
    }
}

/// A branch of a decision, as the knowledge-of-choice fix sees it.
struct Branch {
    span: Span,
    /// The label it starts with when it already tells the role.
    told: Option<String>,
    /// A selection from the decider to other roles it starts with: its label, the span of its
    /// first receiver (where the role is inserted) and its receivers.
    extend: Option<(String, Span, Vec<String>)>,
}

/// The members of a deciding group, as a local `If`/`Match` records them (empty: one role).
fn group_names(group: Option<&Group>) -> Vec<String> {
    group.map_or_else(Vec::new, |g| {
        g.roles.iter().map(|r| r.name.clone()).collect()
    })
}

/// Whether `role` is the role named (or a member of the group named) by a parameter, a
/// result, or a binding target.
fn holds(first: &Ident, group: Option<&Group>, role: &str) -> bool {
    match group {
        Some(g) => g.roles.iter().any(|r| r.name == role),
        None => first.name == role,
    }
}

/// A merged branch body keeps its own scope (its bindings end with it); empty ones vanish.
fn push_scoped(out: &mut Vec<LStmt>, body: Vec<LStmt>, span: Span) {
    if body.is_empty() {
        return;
    }
    let binds = body.iter().any(|s| {
        matches!(
            s.kind,
            LKind::Let { .. }
                | LKind::Recv { .. }
                | LKind::Call { bind: Some(_), .. }
                | LKind::Bind { .. }
        )
    });
    if binds {
        out.push(LStmt {
            kind: LKind::Block(body),
            span,
        });
    } else {
        out.extend(body);
    }
}

/// Project choreography `chor` at role position `index`.
pub fn project_proc(
    prog: &Program,
    chor: &ChorDef,
    index: usize,
) -> (LocalProc, BTreeSet<ProcKey>, Vec<Diagnostic>) {
    project_proc_typed(prog, chor, index, None)
}

/// [`project_proc`], with each receive carrying the type of its comm from `types`.
pub fn project_proc_typed(
    prog: &Program,
    chor: &ChorDef,
    index: usize,
    types: Option<&CommTypes>,
) -> (LocalProc, BTreeSet<ProcKey>, Vec<Diagnostic>) {
    let role = chor.roles.get(index).map_or("", |r| r.name.as_str());
    let mut p = Projector {
        prog,
        chor,
        role,
        index,
        ir: prog.chor_ir(&chor.name.name),
        diags: Vec::new(),
        calls: BTreeSet::new(),
        types,
    };
    let body = p.block(&chor.body.stmts);
    let _ = p.chor;
    let lp = LocalProc {
        key: ProcKey {
            chor: chor.name.name.clone(),
            index,
        },
        role: role.to_owned(),
        roles: chor.roles.iter().map(|r| r.name.clone()).collect(),
        params: chor
            .params
            .iter()
            .filter(|q| q.chor.is_none() && holds(&q.role, q.group.as_ref(), role))
            .map(|q| q.name.name.clone())
            .collect(),
        returns: chor.ret.as_ref().is_some_and(|(_, r)| r.name == role)
            || chor
                .results
                .iter()
                .any(|r| holds(&r.role, r.group.as_ref(), role)),
        body,
    };
    (lp, p.calls, p.diags)
}

/// Knowledge-of-choice diagnostics for every choreography of the program, at every role.
pub fn check_choices(prog: &Program) -> Vec<Diagnostic> {
    check_choices_reusing(prog, None).0
}

/// The knowledge-of-choice diagnostics of each choreography, kept for the next check.
#[derive(Debug, Clone, Default)]
pub struct ChoiceCache {
    results: HashMap<ItemRef, Vec<Diagnostic>>,
}

/// [`check_choices`], reusing the results of the choreographies an edit did not touch (see
/// [`Reuse`]: projecting a choreography reads its body and only the headers of the
/// choreographies it calls). Returns the cache for the next call.
pub fn check_choices_reusing(
    prog: &Program,
    previous: Option<(&Reuse, &ChoiceCache)>,
) -> (Vec<Diagnostic>, ChoiceCache) {
    let mut diags = Vec::new();
    let mut cache = ChoiceCache::default();
    // Receives carry their types: an untold role cannot expect an Int in one branch and a
    // String in the other. Computed only if some choreography is projected again.
    let types = std::cell::OnceCell::new();
    // Instances of generic choreographies (in a program already resolved) were checked as
    // their generic choreography, where a type parameter is a type of its own.
    let mut chors: Vec<(ItemRef, &ChorDef)> = prog
        .chors
        .values()
        .filter(|r| {
            prog.units
                .get(r.unit)
                .is_none_or(|u| u.name != chor_check::mono::INSTANCES_UNIT)
        })
        .filter_map(|r| Some((*r, prog.chor_def(*r)?)))
        .collect();
    chors.sort_by_key(|(_, c)| c.span);
    for (r, c) in chors {
        let reused = previous.and_then(|(reuse, cache)| {
            if !reuse.unchanged(r) {
                return None;
            }
            cache
                .results
                .get(&r)?
                .iter()
                .map(|d| reuse.diagnostic(d))
                .collect()
        });
        let found: Vec<Diagnostic> = reused.unwrap_or_else(|| {
            (0..c.roles.len())
                .flat_map(|i| {
                    project_proc_typed(
                        prog,
                        c,
                        i,
                        Some(
                            types.get_or_init(|| chor_check::msg_types::comm_types_for_check(prog)),
                        ),
                    )
                    .2
                })
                .collect()
        });
        diags.extend(found.iter().cloned());
        cache.results.insert(r, found);
    }
    diags.sort_by_key(|d| d.primary_span());
    // A choreography reached from several places reports its mistake once.
    diags.dedup();
    (diags, cache)
}

/// Knowledge-of-choice diagnostics of a monomorphised program (see
/// `chor_check::mono::monomorphise`), its instances included. The generic check compares a
/// call by its callee's name, but what runs is one instance per type and choreography
/// argument: `Send(A, B)(A.1)` and `Send(A, B)(A."s")`, or `Apply(A, B)(One, …)` and
/// `Apply(A, B)(Zero, …)`, are different procedures for a role that is not told the branch.
/// Projecting what runs, as `chor run` does, refuses them at `chor check` too. `resolved`
/// carries the IR of a check without errors; a program without generic or higher-order
/// choreographies has nothing more to report.
pub fn check_choices_of_instances(resolved: &Program) -> Vec<Diagnostic> {
    let mut prog = resolved.clone();
    if !chor_check::mono::monomorphise(&mut prog).is_empty()
        || prog.units.len() == resolved.units.len()
    {
        return Vec::new();
    }
    let prog = &prog;
    let types = chor_check::msg_types::comm_types_for_check(prog);
    let mut chors: Vec<&ChorDef> = prog
        .chors
        .values()
        .filter_map(|r| prog.chor_def(*r))
        .filter(|c| !chor_check::mono::is_template(c))
        .collect();
    chors.sort_by_key(|c| c.span);
    let mut diags: Vec<Diagnostic> = chors
        .into_iter()
        .flat_map(|c| (0..c.roles.len()).map(move |i| (c, i)))
        .flat_map(|(c, i)| project_proc_typed(prog, c, i, Some(&types)).2)
        .collect();
    diags.sort_by_key(|d| d.primary_span());
    diags.dedup();
    diags
}

/// Project `main` into one local program per role (with every procedure each role reaches).
pub fn project_program(prog: &Program, entry: &str) -> Result<Vec<LocalProgram>, Vec<Diagnostic>> {
    let Some(main) = prog.chor(entry) else {
        return Err(vec![]);
    };
    let mut out = Vec::new();
    let mut diags = Vec::new();
    let mut cache: HashMap<ProcKey, (LocalProc, BTreeSet<ProcKey>)> = HashMap::new();
    let types = chor_check::comm_types(prog);
    for (i, r) in main.roles.iter().enumerate() {
        let entry_key = ProcKey {
            chor: entry.to_owned(),
            index: i,
        };
        let mut procs = BTreeMap::new();
        let mut todo = vec![entry_key.clone()];
        while let Some(k) = todo.pop() {
            if procs.contains_key(&k) {
                continue;
            }
            let Some(c) = prog.chor(&k.chor) else {
                continue;
            };
            let (lp, calls) = match cache.get(&k) {
                Some(x) => x.clone(),
                None => {
                    let (lp, calls, d) = project_proc_typed(prog, c, k.index, Some(&types));
                    diags.extend(d);
                    cache.insert(k.clone(), (lp.clone(), calls.clone()));
                    (lp, calls)
                }
            };
            todo.extend(calls);
            procs.insert(k, lp);
        }
        out.push(LocalProgram {
            role: r.name.clone(),
            entry: entry_key,
            procs,
        });
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}
