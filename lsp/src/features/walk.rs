//! A read-only walk over the syntax tree, for features that look at every node of a kind
//! (inlay hints, selection labels, semantic tokens) and for the scopes at a cursor.

use chor_syntax::ast::*;

/// Callbacks of a walk; each default does nothing, the walk itself visits the children.
pub trait Visit {
    fn chor_stmt(&mut self, _s: &ChorStmt) {}
    fn stmt(&mut self, _s: &Stmt) {}
    fn expr(&mut self, _e: &Expr) {}
    fn pattern(&mut self, _p: &Pattern) {}
}

pub fn item(v: &mut dyn Visit, it: &Item) {
    match it {
        Item::Fn(f) => {
            if let Some(b) = &f.body {
                expr(v, b);
            }
        }
        Item::Chor(c) => chor_block(v, &c.body),
        Item::Import(_) | Item::Struct(_) | Item::Enum(_) | Item::Error(_) => {}
    }
}

pub fn chor_block(v: &mut dyn Visit, b: &ChorBlock) {
    for s in &b.stmts {
        chor_stmt(v, s);
    }
}

pub fn chor_stmt(v: &mut dyn Visit, s: &ChorStmt) {
    v.chor_stmt(s);
    match &s.kind {
        ChorStmtKind::Let { pat, value, .. } => {
            pattern(v, pat);
            expr(v, value);
        }
        ChorStmtKind::Comm { expr: e, .. }
        | ChorStmtKind::Effect { expr: e, .. }
        | ChorStmtKind::Return { expr: e, .. } => expr(v, e),
        ChorStmtKind::Select { .. } | ChorStmtKind::Error => {}
        ChorStmtKind::For { body, .. } => chor_block(v, body),
        ChorStmtKind::If {
            cond,
            then,
            els,
            bind,
            ..
        } => {
            expr(v, cond);
            chor_block(v, then);
            if let Some(e) = els {
                chor_block(v, e);
            }
            for t in bind {
                pattern(v, &t.pat);
            }
        }
        ChorStmtKind::Match {
            scrutinee,
            arms,
            bind,
            ..
        } => {
            expr(v, scrutinee);
            for a in arms {
                pattern(v, &a.pat);
                chor_block(v, &a.body);
            }
            for t in bind {
                pattern(v, &t.pat);
            }
        }
        ChorStmtKind::Call { call, bind } => {
            for a in &call.args {
                expr(v, &a.expr);
            }
            if let Some((_, p, _)) = bind {
                pattern(v, p);
            }
        }
        ChorStmtKind::Results { parts } | ChorStmtKind::Yield { parts } => {
            for a in parts {
                expr(v, &a.expr);
            }
        }
        ChorStmtKind::LetMany { targets, value } => {
            for t in targets {
                pattern(v, &t.pat);
            }
            expr(v, value);
        }
        ChorStmtKind::CallMany { call, targets } => {
            for a in &call.args {
                expr(v, &a.expr);
            }
            for t in targets {
                pattern(v, &t.pat);
            }
        }
    }
}

pub fn block(v: &mut dyn Visit, b: &Block) {
    for s in &b.stmts {
        v.stmt(s);
        match s {
            Stmt::Let { pat, value, .. } => {
                pattern(v, pat);
                expr(v, value);
            }
            Stmt::Expr(e) => expr(v, e),
            Stmt::Error(_) => {}
        }
    }
    if let Some(t) = &b.tail {
        expr(v, t);
    }
}

pub fn expr(v: &mut dyn Visit, e: &Expr) {
    v.expr(e);
    match &e.kind {
        ExprKind::Lit(_) | ExprKind::Path(_) | ExprKind::Error | ExprKind::Return(None) => {}
        ExprKind::Unary(_, a)
        | ExprKind::Field(a, _)
        | ExprKind::TupleIndex(a, _, _)
        | ExprKind::Return(Some(a)) => expr(v, a),
        ExprKind::Binary(_, a, b) | ExprKind::Located(a, b) => {
            expr(v, a);
            expr(v, b);
        }
        ExprKind::Call(f, args) => {
            expr(v, f);
            for a in args {
                expr(v, a);
            }
        }
        ExprKind::Tuple(xs) | ExprKind::List(xs) => {
            for x in xs {
                expr(v, x);
            }
        }
        ExprKind::StructLit { fields, .. } => {
            for f in fields {
                expr(v, &f.value);
            }
        }
        ExprKind::If { cond, then, els } => {
            expr(v, cond);
            block(v, then);
            if let Some(e) = els {
                expr(v, e);
            }
        }
        ExprKind::Match { scrutinee, arms } => {
            expr(v, scrutinee);
            for a in arms {
                pattern(v, &a.pat);
                expr(v, &a.body);
            }
        }
        ExprKind::Block(b) => block(v, b),
    }
}

pub fn pattern(v: &mut dyn Visit, p: &Pattern) {
    v.pattern(p);
    match &p.kind {
        PatternKind::Tuple(ps) | PatternKind::Variant { args: ps, .. } => {
            for q in ps {
                pattern(v, q);
            }
        }
        PatternKind::Struct { fields, .. } => {
            for f in fields {
                pattern(v, &f.pat);
            }
        }
        PatternKind::List { elems, rest } => {
            for q in elems {
                pattern(v, q);
            }
            if let Some(Some(r)) = rest {
                pattern(v, r);
            }
        }
        PatternKind::Wild | PatternKind::Ident(_) | PatternKind::Lit(_) | PatternKind::Error => {}
    }
}

/// The identifiers a pattern binds (a bare name may also be a nullary variant; callers that
/// care ask the checker, which puts a hover on bindings only).
pub fn bindings(p: &Pattern) -> Vec<&Ident> {
    struct B<'a>(Vec<&'a Ident>);
    fn go<'a>(p: &'a Pattern, out: &mut B<'a>) {
        match &p.kind {
            PatternKind::Ident(i) => out.0.push(i),
            PatternKind::Tuple(ps) | PatternKind::Variant { args: ps, .. } => {
                for q in ps {
                    go(q, out);
                }
            }
            PatternKind::Struct { fields, .. } => {
                for f in fields {
                    go(&f.pat, out);
                }
            }
            PatternKind::List { elems, rest } => {
                for q in elems {
                    go(q, out);
                }
                if let Some(Some(r)) = rest {
                    go(r, out);
                }
            }
            PatternKind::Wild | PatternKind::Lit(_) | PatternKind::Error => {}
        }
    }
    let mut b = B(Vec::new());
    go(p, &mut b);
    b.0
}
