//! Every span of a syntax tree, visited mutably (to move an unchanged item after an edit shifts
//! the text after it).
//!
//! The implementations destructure every node without `..`, so a new field must be listed here
//! before the crate compiles again.

use crate::ast::*;

/// A tree node whose spans can be rewritten in place.
pub trait Spans {
    /// Call `f` on every span of the node, in no particular order.
    fn spans_mut(&mut self, f: &mut dyn FnMut(&mut Span));
}

/// Move every span of `node` by `delta` bytes.
pub fn shift<T: Spans>(node: &mut T, delta: i64) {
    node.spans_mut(&mut |s: &mut Span| {
        s.start = (i64::from(s.start) + delta) as u32;
        s.end = (i64::from(s.end) + delta) as u32;
    });
}

impl<T: Spans> Spans for Vec<T> {
    fn spans_mut(&mut self, f: &mut dyn FnMut(&mut Span)) {
        for x in self {
            x.spans_mut(f);
        }
    }
}

impl<T: Spans> Spans for Option<T> {
    fn spans_mut(&mut self, f: &mut dyn FnMut(&mut Span)) {
        if let Some(x) = self {
            x.spans_mut(f);
        }
    }
}

impl<T: Spans> Spans for Box<T> {
    fn spans_mut(&mut self, f: &mut dyn FnMut(&mut Span)) {
        (**self).spans_mut(f);
    }
}

impl Spans for Span {
    fn spans_mut(&mut self, f: &mut dyn FnMut(&mut Span)) {
        f(self);
    }
}

impl Spans for Ident {
    fn spans_mut(&mut self, f: &mut dyn FnMut(&mut Span)) {
        let Ident { name: _, span } = self;
        f(span);
    }
}

impl Spans for Path {
    fn spans_mut(&mut self, f: &mut dyn FnMut(&mut Span)) {
        let Path { segments, span } = self;
        segments.spans_mut(f);
        f(span);
    }
}

impl Spans for Item {
    fn spans_mut(&mut self, f: &mut dyn FnMut(&mut Span)) {
        match self {
            Item::Import(Import {
                path: _,
                path_span,
                span,
            }) => {
                f(path_span);
                f(span);
            }
            Item::Struct(StructDef {
                doc: _,
                name,
                generics,
                fields,
                span,
            }) => {
                name.spans_mut(f);
                generics.spans_mut(f);
                for FieldDef { name, ty } in fields {
                    name.spans_mut(f);
                    ty.spans_mut(f);
                }
                f(span);
            }
            Item::Enum(EnumDef {
                doc: _,
                name,
                generics,
                variants,
                span,
            }) => {
                name.spans_mut(f);
                generics.spans_mut(f);
                for VariantDef { name, fields, span } in variants {
                    name.spans_mut(f);
                    fields.spans_mut(f);
                    f(span);
                }
                f(span);
            }
            Item::Fn(FnDef {
                doc: _,
                attrs,
                name,
                generics,
                params,
                ret,
                body,
                span,
            }) => {
                for Attribute { name, span } in attrs {
                    name.spans_mut(f);
                    f(span);
                }
                name.spans_mut(f);
                generics.spans_mut(f);
                for Param { name, ty } in params {
                    name.spans_mut(f);
                    ty.spans_mut(f);
                }
                ret.spans_mut(f);
                body.spans_mut(f);
                f(span);
            }
            Item::Chor(c) => chor_def_spans(c, f),
            Item::Error(span) => f(span),
        }
    }
}

impl Spans for ChorBlock {
    fn spans_mut(&mut self, f: &mut dyn FnMut(&mut Span)) {
        let ChorBlock { stmts, span } = self;
        stmts.spans_mut(f);
        f(span);
    }
}

impl Spans for Pattern {
    fn spans_mut(&mut self, f: &mut dyn FnMut(&mut Span)) {
        let Pattern { kind, span, .. } = self;
        match kind {
            PatternKind::Wild | PatternKind::Lit(_) | PatternKind::Error => {}
            PatternKind::Ident(id) => id.spans_mut(f),
            PatternKind::Tuple(ps) => ps.spans_mut(f),
            PatternKind::Variant { name, args } => {
                name.spans_mut(f);
                args.spans_mut(f);
            }
            PatternKind::Struct {
                name,
                fields,
                rest: _,
            } => {
                name.spans_mut(f);
                for FieldPat { name, pat } in fields {
                    name.spans_mut(f);
                    pat.spans_mut(f);
                }
            }
            PatternKind::List { elems, rest } => {
                elems.spans_mut(f);
                if let Some(rest) = rest {
                    rest.spans_mut(f);
                }
            }
        }
        f(span);
    }
}

/// The spans of a choreography, or of a choreography type (a signature without statements).
fn chor_def_spans(c: &mut ChorDef, f: &mut dyn FnMut(&mut Span)) {
    let ChorDef {
        doc: _,
        name,
        roles,
        params,
        ret,
        results,
        body,
        span,
        generics,
        families,
        members,
    } = c;
    name.spans_mut(f);
    generics.spans_mut(f);
    roles.spans_mut(f);
    families.spans_mut(f);
    for MemberRef {
        family,
        index,
        span,
    } in members
    {
        family.spans_mut(f);
        index.spans_mut(f);
        f(span);
    }
    for ChorParam {
        name,
        ty,
        role,
        chor,
        group,
    } in params
    {
        name.spans_mut(f);
        ty.spans_mut(f);
        role.spans_mut(f);
        group_spans(group, f);
        if let Some(c) = chor {
            chor_def_spans(c, f);
        }
    }
    if let Some((ty, role)) = ret {
        ty.spans_mut(f);
        role.spans_mut(f);
    }
    for ChorResult { ty, role, group } in results {
        ty.spans_mut(f);
        role.spans_mut(f);
        group_spans(group, f);
    }
    body.spans_mut(f);
    f(span);
}

impl Spans for ChorCall {
    fn spans_mut(&mut self, f: &mut dyn FnMut(&mut Span)) {
        let ChorCall {
            callee,
            roles,
            args,
            span,
        } = self;
        callee.spans_mut(f);
        roles.spans_mut(f);
        located_spans(args, f);
        f(span);
    }
}

fn located_spans(parts: &mut [LocatedExpr], f: &mut dyn FnMut(&mut Span)) {
    for LocatedExpr {
        role,
        expr,
        group,
        chor: _,
    } in parts
    {
        group_spans(group, f);
        role.spans_mut(f);
        expr.spans_mut(f);
    }
}

fn target_spans(targets: &mut [Target], f: &mut dyn FnMut(&mut Span)) {
    for Target {
        role,
        group,
        pat,
        ty,
    } in targets
    {
        group_spans(group, f);
        role.spans_mut(f);
        pat.spans_mut(f);
        ty.spans_mut(f);
    }
}

/// A group's spans (its members are copies of the statement's role and receivers' roles,
/// shifted with them).
fn group_spans(g: &mut Option<Group>, f: &mut dyn FnMut(&mut Span)) {
    if let Some(Group { roles, span }) = g {
        roles.spans_mut(f);
        f(span);
    }
}

impl Spans for ChorStmt {
    fn spans_mut(&mut self, f: &mut dyn FnMut(&mut Span)) {
        let ChorStmt { kind, span, .. } = self;
        match kind {
            ChorStmtKind::Let {
                role,
                pat,
                ty,
                value,
                group,
            } => {
                role.spans_mut(f);
                pat.spans_mut(f);
                ty.spans_mut(f);
                value.spans_mut(f);
                group_spans(group, f);
            }
            ChorStmtKind::Comm {
                from,
                expr,
                to,
                group,
            } => {
                group_spans(group, f);
                from.spans_mut(f);
                expr.spans_mut(f);
                for Receiver { role, var, .. } in to {
                    role.spans_mut(f);
                    var.spans_mut(f);
                }
            }
            ChorStmtKind::Select { from, to, label } => {
                from.spans_mut(f);
                to.spans_mut(f);
                label.spans_mut(f);
            }
            ChorStmtKind::Effect { role, expr } | ChorStmtKind::Return { role, expr } => {
                role.spans_mut(f);
                expr.spans_mut(f);
            }
            ChorStmtKind::If {
                role,
                cond,
                then,
                els,
                group,
                bind,
            } => {
                target_spans(bind, f);
                group_spans(group, f);
                role.spans_mut(f);
                cond.spans_mut(f);
                then.spans_mut(f);
                els.spans_mut(f);
            }
            ChorStmtKind::Match {
                role,
                scrutinee,
                arms,
                group,
                bind,
            } => {
                target_spans(bind, f);
                group_spans(group, f);
                role.spans_mut(f);
                scrutinee.spans_mut(f);
                for ChorArm { pat, body, span } in arms {
                    pat.spans_mut(f);
                    body.spans_mut(f);
                    f(span);
                }
            }
            ChorStmtKind::Call { call, bind } => {
                call.spans_mut(f);
                if let Some((role, pat, ty)) = bind {
                    role.spans_mut(f);
                    pat.spans_mut(f);
                    ty.spans_mut(f);
                }
            }
            ChorStmtKind::For { var, family, body } => {
                var.spans_mut(f);
                family.spans_mut(f);
                body.spans_mut(f);
            }
            ChorStmtKind::Results { parts } | ChorStmtKind::Yield { parts } => {
                located_spans(parts, f)
            }
            ChorStmtKind::LetMany { targets, value } => {
                target_spans(targets, f);
                value.spans_mut(f);
            }
            ChorStmtKind::CallMany { call, targets } => {
                call.spans_mut(f);
                target_spans(targets, f);
            }
            ChorStmtKind::Error => {}
        }
        f(span);
    }
}

impl Spans for Type {
    fn spans_mut(&mut self, f: &mut dyn FnMut(&mut Span)) {
        match self {
            Type::Named { name, args, span } => {
                name.spans_mut(f);
                args.spans_mut(f);
                f(span);
            }
            Type::Tuple { elems, span } => {
                elems.spans_mut(f);
                f(span);
            }
            Type::Fn { params, ret, span } => {
                params.spans_mut(f);
                ret.spans_mut(f);
                f(span);
            }
            Type::Error(span) => f(span),
        }
    }
}

impl Spans for Block {
    fn spans_mut(&mut self, f: &mut dyn FnMut(&mut Span)) {
        let Block { stmts, tail, span } = self;
        for s in stmts {
            match s {
                Stmt::Let {
                    pat,
                    ty,
                    value,
                    span,
                } => {
                    pat.spans_mut(f);
                    ty.spans_mut(f);
                    value.spans_mut(f);
                    f(span);
                }
                Stmt::Expr(e) => e.spans_mut(f),
                Stmt::Error(span) => f(span),
            }
        }
        tail.spans_mut(f);
        f(span);
    }
}

impl Spans for Expr {
    fn spans_mut(&mut self, f: &mut dyn FnMut(&mut Span)) {
        let Expr { kind, span, .. } = self;
        match kind {
            ExprKind::Lit(_) | ExprKind::Error => {}
            ExprKind::Path(p) => p.spans_mut(f),
            ExprKind::Unary(_, e) => e.spans_mut(f),
            ExprKind::Binary(_, a, b) | ExprKind::Located(a, b) => {
                a.spans_mut(f);
                b.spans_mut(f);
            }
            ExprKind::Call(callee, args) => {
                callee.spans_mut(f);
                args.spans_mut(f);
            }
            ExprKind::Field(base, field) => {
                base.spans_mut(f);
                field.spans_mut(f);
            }
            ExprKind::TupleIndex(base, _, isp) => {
                base.spans_mut(f);
                f(isp);
            }
            ExprKind::Tuple(es) | ExprKind::List(es) => es.spans_mut(f),
            ExprKind::StructLit { name, fields } => {
                name.spans_mut(f);
                for FieldInit { name, value } in fields {
                    name.spans_mut(f);
                    value.spans_mut(f);
                }
            }
            ExprKind::If { cond, then, els } => {
                cond.spans_mut(f);
                then.spans_mut(f);
                els.spans_mut(f);
            }
            ExprKind::Match { scrutinee, arms } => {
                scrutinee.spans_mut(f);
                for Arm { pat, body, span } in arms {
                    pat.spans_mut(f);
                    body.spans_mut(f);
                    f(span);
                }
            }
            ExprKind::Block(b) => b.spans_mut(f),
            ExprKind::Return(e) => e.spans_mut(f),
        }
        f(span);
    }
}
