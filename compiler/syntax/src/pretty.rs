//! Canonical text of expressions, patterns and types — used by the endpoint printer
//! (`chor project`), by projection to compare local behaviour, and by the formatter.

use crate::ast::*;
use std::fmt::Write as _;

fn prec(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 3,
        BinOp::Concat => 4,
        BinOp::Add | BinOp::Sub => 5,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 6,
    }
}

/// Quote a string literal / print a float literal: the value printer's forms (chor-print),
/// so that formatted source and printed values use the same escapes.
pub use chor_print::{float_text, quote as quote_str};

pub fn lit(l: &Lit, out: &mut String) {
    match l {
        Lit::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Lit::Float(x) => out.push_str(&float_text(*x)),
        Lit::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Lit::Str(s) => quote_str(s, out),
        Lit::Unit => out.push_str("()"),
    }
}

fn comma<T>(items: &[T], out: &mut String, mut f: impl FnMut(&T, &mut String)) {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        f(x, out);
    }
}

pub fn ty(t: &Type, out: &mut String) {
    match t {
        Type::Named { name, args, .. } => {
            out.push_str(&name.text());
            if !args.is_empty() {
                out.push('<');
                comma(args, out, ty);
                out.push('>');
            }
        }
        Type::Tuple { elems, .. } => {
            out.push('(');
            comma(elems, out, ty);
            if elems.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        Type::Fn { params, ret, .. } => {
            out.push_str("fn(");
            comma(params, out, ty);
            out.push_str(") -> ");
            ty(ret, out);
        }
        Type::Error(_) => out.push_str("{error}"),
    }
}

pub fn pattern(p: &Pattern, out: &mut String) {
    match &p.kind {
        PatternKind::Wild => out.push('_'),
        PatternKind::Ident(i) => out.push_str(&i.name),
        PatternKind::Lit(l) => lit(l, out),
        PatternKind::Tuple(ps) => {
            out.push('(');
            comma(ps, out, pattern);
            if ps.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        PatternKind::Variant { name, args } => {
            out.push_str(&name.text());
            if !args.is_empty() {
                out.push('(');
                comma(args, out, pattern);
                out.push(')');
            }
        }
        PatternKind::Struct { name, fields, rest } => {
            out.push_str(&name.text());
            out.push_str(" { ");
            comma(fields, out, |f, out| {
                out.push_str(&f.name.name);
                if !matches!(&f.pat.kind, PatternKind::Ident(i) if i.name == f.name.name) {
                    out.push_str(": ");
                    pattern(&f.pat, out);
                }
            });
            if *rest {
                out.push_str(if fields.is_empty() { ".." } else { ", .." });
            }
            out.push_str(" }");
        }
        PatternKind::List { elems, rest } => {
            out.push('[');
            comma(elems, out, pattern);
            if let Some(r) = rest {
                if !elems.is_empty() {
                    out.push_str(", ");
                }
                out.push_str("..");
                if let Some(r) = r {
                    pattern(r, out);
                }
            }
            out.push(']');
        }
        PatternKind::Error => out.push_str("{error}"),
    }
}

/// An expression on one line (blocks are written inline with `;`).
pub fn expr(e: &Expr, out: &mut String) {
    expr_prec(e, 0, out);
}

pub fn expr_string(e: &Expr) -> String {
    let mut s = String::new();
    expr(e, &mut s);
    s
}

fn expr_prec(e: &Expr, min: u8, out: &mut String) {
    match &e.kind {
        ExprKind::Lit(l) => lit(l, out),
        ExprKind::Path(p) => out.push_str(&p.text()),
        ExprKind::Unary(op, x) => {
            out.push_str(match op {
                UnOp::Neg => "-",
                UnOp::Not => "!",
            });
            expr_prec(x, 7, out);
        }
        ExprKind::Binary(op, a, b) => {
            let p = prec(*op);
            let paren = p < min;
            if paren {
                out.push('(');
            }
            // left-associative: the right operand binds tighter; comparisons are non-associative
            let left_min = if p == 3 { p + 1 } else { p };
            expr_prec(a, left_min, out);
            out.push(' ');
            out.push_str(op.text());
            out.push(' ');
            expr_prec(b, p + 1, out);
            if paren {
                out.push(')');
            }
        }
        ExprKind::Call(f, args) => {
            expr_prec(f, 8, out);
            out.push('(');
            comma(args, out, expr);
            out.push(')');
        }
        ExprKind::Field(x, name) => {
            expr_prec(x, 8, out);
            out.push('.');
            out.push_str(&name.name);
        }
        ExprKind::TupleIndex(x, i, _) => {
            expr_prec(x, 8, out);
            let _ = write!(out, ".{i}");
        }
        ExprKind::Tuple(items) => {
            out.push('(');
            comma(items, out, expr);
            if items.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        ExprKind::List(items) => {
            out.push('[');
            comma(items, out, expr);
            out.push(']');
        }
        ExprKind::StructLit { name, fields } => {
            let paren = min > 0;
            if paren {
                out.push('(');
            }
            out.push_str(&name.text());
            out.push_str(" { ");
            comma(fields, out, |f, out| {
                out.push_str(&f.name.name);
                out.push_str(": ");
                expr(&f.value, out);
            });
            out.push_str(" }");
            if paren {
                out.push(')');
            }
        }
        ExprKind::If { cond, then, els } => {
            let paren = min > 0;
            if paren {
                out.push('(');
            }
            out.push_str("if ");
            expr_prec(cond, 1, out);
            out.push(' ');
            block(then, out);
            if let Some(e) = els {
                out.push_str(" else ");
                expr(e, out);
            }
            if paren {
                out.push(')');
            }
        }
        ExprKind::Match { scrutinee, arms } => {
            let paren = min > 0;
            if paren {
                out.push('(');
            }
            out.push_str("match ");
            expr_prec(scrutinee, 1, out);
            out.push_str(" { ");
            comma(arms, out, |a, out| {
                pattern(&a.pat, out);
                out.push_str(" => ");
                expr(&a.body, out);
            });
            out.push_str(" }");
            if paren {
                out.push(')');
            }
        }
        ExprKind::Block(b) => block(b, out),
        ExprKind::Return(x) => {
            out.push_str("return");
            if let Some(x) = x {
                out.push(' ');
                expr(x, out);
            }
        }
        ExprKind::Located(base, inner) => {
            expr_prec(base, 8, out);
            out.push_str(".(");
            expr(inner, out);
            out.push(')');
        }
        ExprKind::Error => out.push_str("{error}"),
    }
}

fn block(b: &Block, out: &mut String) {
    out.push('{');
    for s in &b.stmts {
        out.push(' ');
        match s {
            Stmt::Let {
                pat, ty: t, value, ..
            } => {
                out.push_str("let ");
                pattern(pat, out);
                if let Some(t) = t {
                    out.push_str(": ");
                    ty(t, out);
                }
                out.push_str(" = ");
                expr(value, out);
                out.push(';');
            }
            Stmt::Expr(e) => {
                expr(e, out);
                out.push(';');
            }
            Stmt::Error(_) => out.push_str("{error};"),
        }
    }
    if let Some(t) = &b.tail {
        out.push(' ');
        expr(t, out);
    }
    out.push_str(" }");
}
