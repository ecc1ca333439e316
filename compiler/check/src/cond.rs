//! Choreographic conditional expressions (section 9 of the design card):
//! `let B.y = if A.ok { …; B.(v + 1) } else { …; B.(0) };` and
//! `let (B.x, C.y) = match A.r { … => { …; (B.x, C.(0)) }, … };`.
//!
//! Every branch ends with the located values it yields ([`ChorStmtKind::Yield`]), checked at
//! their roles while the branch's variables are in scope; the conditional then compares what
//! the branches yielded (as many values as targets, each at its target's roles, with one type)
//! and binds the targets after it. Whether a role that yields different values in different
//! branches knows the branch is knowledge of choice, checked by projection like any other
//! difference in behaviour (the yield is part of the role's local program).

use crate::agreed::{group_text, same_roles};
use crate::cx::{Checker, RoleId, UNKNOWN_ROLE};
use crate::types::Ty;
use chor_diagnostics::{Diagnostic, Span};
use chor_syntax::ast::*;

/// What one branch yielded: per part its roles, type and expression's span.
#[derive(Debug, Clone)]
pub(crate) struct Yielded {
    pub parts: Vec<(Vec<RoleId>, Ty, Span)>,
    pub span: Span,
}

/// A target of a conditional expression while its branches are compared: its roles, its
/// type, and where that type was fixed (an annotation or an earlier branch's value).
type Slot = (Vec<RoleId>, Ty, Option<(Span, &'static str)>);

/// Whether `b` ends with what a branch of a conditional expression yields: a yield, or a
/// nested conditional (an `else if`) whose branches all do.
pub fn block_yields(b: &ChorBlock) -> bool {
    match b.stmts.last().map(|s| &s.kind) {
        Some(ChorStmtKind::Yield { .. }) => true,
        Some(ChorStmtKind::If {
            then,
            els: Some(e),
            bind,
            ..
        }) if bind.is_empty() => block_yields(then) && block_yields(e),
        Some(ChorStmtKind::Match { arms, bind, .. }) if bind.is_empty() && !arms.is_empty() => {
            arms.iter().all(|a| block_yields(&a.body))
        }
        _ => false,
    }
}

impl Checker<'_> {
    /// Starts the branches of a conditional expression: the yields checked until
    /// [`Checker::end_cond`] are its branches'.
    pub(crate) fn begin_cond(&mut self) {
        self.yields.push(Vec::new());
    }

    /// `B.e` / `(B.x, C.e)` at the end of a branch: each part checked at its roles.
    pub(crate) fn yield_stmt(&mut self, s: &ChorStmt, parts: &[LocatedExpr]) {
        let got = self.located_parts(s, parts, "an agreed value a branch yields");
        match self.yields.last_mut() {
            Some(frame) => frame.push(Yielded {
                parts: got,
                span: s.span,
            }),
            // The grammar puts yields only in the branches of conditional expressions.
            None => self.emit(Diagnostic::error(
                "E0710",
                "values yielded outside a conditional expression",
                s.span,
                "nothing binds these values",
            )),
        }
    }

    /// Ends a conditional expression `s` whose branches are `blocks`: compares what they
    /// yielded and binds `targets` after it.
    pub(crate) fn end_cond(&mut self, s: &ChorStmt, targets: &[Target], blocks: &[&ChorBlock]) {
        let frame = self.yields.pop().unwrap_or_default();
        let want_text = self.targets_text(targets);
        let bound_at = match (targets.first(), targets.last()) {
            (Some(a), Some(b)) => Span {
                end: target_span(b).end,
                ..target_span(a)
            },
            _ => s.span,
        };
        for b in blocks {
            // A branch that ends with `return` is reported as such (E0714).
            let returns = matches!(
                b.stmts.last().map(|s| &s.kind),
                Some(ChorStmtKind::Return { .. } | ChorStmtKind::Results { .. })
            );
            if !returns && !block_yields(b) {
                let end = Span {
                    start: b.span.end.saturating_sub(1),
                    ..b.span
                };
                self.emit(
                    Diagnostic::error(
                        "E0710",
                        "this branch of a conditional expression yields no value",
                        end,
                        "the branch ends here without a value",
                    )
                    .with_label(bound_at, "the value is bound here")
                    .with_help(format!(
                        "end every branch with the values it yields, without `;`: `{want_text}`"
                    )),
                );
            }
        }
        // Each target: its roles, its type and where its type was first fixed.
        let mut slots: Vec<Slot> = Vec::new();
        for t in targets {
            let members = self.members_of(&t.role, t.group.as_ref());
            self.note_roles(t.pat.id, members.clone());
            let (ty, why) = match &t.ty {
                Some(ann) => {
                    let generics = self.generics.clone();
                    let at = self.resolve_ty(ann, self.module, &generics);
                    (at, Some((ann.span(), "the annotation")))
                }
                None => (self.tys.fresh(), None),
            };
            slots.push((members, ty, why));
        }
        for y in &frame {
            if y.parts.len() != targets.len() {
                let n = targets.len();
                self.emit(
                    Diagnostic::error(
                        "E0711",
                        format!(
                            "this branch yields {} value{} but the conditional binds {n}",
                            y.parts.len(),
                            if y.parts.len() == 1 { "" } else { "s" },
                        ),
                        y.span,
                        format!("expected {n}, one per target: `{want_text}`"),
                    )
                    .with_label(bound_at, "bound here"),
                );
                continue;
            }
            for (k, (members, got, span)) in y.parts.iter().enumerate() {
                let (want_roles, want_ty, why) = &slots[k];
                if members.contains(&UNKNOWN_ROLE) || want_roles.contains(&UNKNOWN_ROLE) {
                    continue;
                }
                if !same_roles(members, want_roles) {
                    let w = self.who(want_roles);
                    let g = self.who(members);
                    self.emit(
                        Diagnostic::error(
                            "E0712",
                            format!("this branch yields a value at {g}, but the target is at {w}"),
                            *span,
                            format!("yielded at {g}"),
                        )
                        .with_label(target_span(&targets[k]), format!("bound at {w} here"))
                        .with_help(format!(
                            "every branch yields its values at the targets' roles, in order: `{want_text}`"
                        )),
                    );
                    continue;
                }
                let want_ty = want_ty.clone();
                if !self.tys.unify(&want_ty, got) {
                    let ws = self.show(&want_ty);
                    let gs = self.show(got);
                    let (at, what) = why.unwrap_or((*span, "a branch"));
                    let line = self
                        .line(at)
                        .map_or_else(String::new, |l| format!(" on line {l}"));
                    self.used_lines.set(true);
                    let w = self.who(want_roles);
                    self.emit(
                        Diagnostic::error(
                            "E0713",
                            format!("the branches yield different types at {w}: `{gs}` here, `{ws}` before"),
                            *span,
                            format!("this is `{gs}`"),
                        )
                        .with_label(at, format!("`{ws}` because of {what}{line}"))
                        .with_help("every branch yields a value of the same type for each target"),
                    );
                } else if why.is_none() {
                    slots[k].2 = Some((*span, "the value a previous branch yields"));
                }
            }
        }
        for (t, (members, ty, _)) in targets.iter().zip(slots) {
            self.bind_at_members(&t.pat, &ty, &members);
        }
    }

    /// `let B.y = if A.c { … };` without `else` (E0715): the value would be missing when the
    /// condition is false.
    pub(crate) fn no_else(&mut self, s: &ChorStmt, cond: &Expr) {
        let at = Span {
            end: cond.span.end,
            ..s.span
        };
        self.emit(
            Diagnostic::error(
                "E0715",
                "this conditional expression has no `else`",
                at,
                "when the condition is false, no value is yielded",
            )
            .with_help("add an `else` branch that yields a value too"),
        );
    }

    /// `return` inside a branch of a conditional expression (E0714): the branch must yield.
    pub(crate) fn return_in_cond(&mut self, s: &ChorStmt) -> bool {
        if self.yields.is_empty() {
            return false;
        }
        self.emit(
            Diagnostic::error(
                "E0714",
                "`return` inside a conditional expression",
                s.span,
                "this branch must yield a value, not end the choreography",
            )
            .with_help(
                "return after the conditional, or make the conditional a statement (without `let`)",
            ),
        );
        true
    }

    /// How the targets are written: `B.e` or `(B.e, (A, C).e)`.
    fn targets_text(&self, targets: &[Target]) -> String {
        let one = |t: &Target| match &t.group {
            Some(g) => {
                let names: Vec<String> = g.roles.iter().map(|r| r.name.clone()).collect();
                format!("{}.e", group_text(&names))
            }
            None => format!("{}.e", t.role.name),
        };
        match targets {
            [t] => one(t),
            _ => format!(
                "({})",
                targets.iter().map(one).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// The span of a target `R.p: T`.
fn target_span(t: &Target) -> Span {
    let start = t.group.as_ref().map_or(t.role.span, |g| g.span);
    let end = t.ty.as_ref().map_or(t.pat.span, Type::span);
    Span {
        end: end.end,
        ..start
    }
}
