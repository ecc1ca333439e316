//! Last-use analysis: which variable reads may move the value out instead of adding a
//! reference. A read moves when no later read of the same binding exists in evaluation order
//! (conservative across branches: only the last read in source order moves). With moves, a
//! value that is not shared (`acc` in `f(acc ++ "x")`, `xs` in `list::push(xs, x)`) is
//! updated in place by the runtime.
//!
//! The walk mirrors the lowering in `lower.rs` exactly: same evaluation order, same name
//! resolution (a single-segment path is a variable when one is in scope).

use chor_check::Program;
use chor_project::{LKind, LStmt, LocalProc};
use chor_syntax::ast::*;
use std::collections::{HashMap, HashSet};

/// The reads (by node address) that move their variable's value.
pub type Moves = HashSet<*const Expr>;

struct W<'p> {
    prog: &'p Program,
    module: Option<&'p str>,
    scope: Vec<(String, usize)>,
    next: usize,
    last: HashMap<usize, *const Expr>,
}

impl W<'_> {
    fn bind_name(&mut self, name: &str) {
        self.next += 1;
        self.scope.push((name.to_string(), self.next));
    }

    fn lookup(&self, name: &str) -> Option<usize> {
        self.scope.iter().rev().find(|(n, _)| n == name).map(|x| x.1)
    }

    fn nullary(&self, name: &str) -> bool {
        self.prog.variants.get(name).is_some_and(|(q, vi)| {
            self.prog
                .enums
                .get(q)
                .and_then(|r| self.prog.enum_def(*r))
                .and_then(|d| d.variants.get(*vi))
                .is_some_and(|v| v.fields.is_empty())
        })
    }

    fn pat(&mut self, p: &Pattern) {
        match &p.kind {
            PatternKind::Ident(id) => {
                if !self.nullary(&id.name) {
                    self.bind_name(&id.name);
                }
            }
            PatternKind::Tuple(ps) | PatternKind::Variant { args: ps, .. } => {
                ps.iter().for_each(|p| self.pat(p));
            }
            PatternKind::Struct { fields, .. } => fields.iter().for_each(|f| self.pat(&f.pat)),
            PatternKind::List { elems, rest } => {
                elems.iter().for_each(|p| self.pat(p));
                if let Some(Some(r)) = rest {
                    self.pat(r);
                }
            }
            PatternKind::Wild | PatternKind::Lit(_) | PatternKind::Error => {}
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Lit(_) | ExprKind::Error | ExprKind::Located(..) => {}
            ExprKind::Path(p) => {
                if p.is_single() {
                    if let Some(id) = self.lookup(&p.last().name) {
                        self.last.insert(id, e as *const Expr);
                    }
                }
            }
            ExprKind::Unary(_, x) | ExprKind::Field(x, _) | ExprKind::TupleIndex(x, _, _) => {
                self.expr(x)
            }
            ExprKind::Binary(_, a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Call(f, args) => {
                let direct = match &f.kind {
                    ExprKind::Path(p) => {
                        !(p.is_single() && self.lookup(&p.last().name).is_some())
                            && (self.prog.lookup_fn(self.module, p).is_some()
                                || self.prog.lookup_variant(p).is_some())
                    }
                    _ => false,
                };
                if !direct {
                    self.expr(f);
                }
                args.iter().for_each(|a| self.expr(a));
            }
            ExprKind::Tuple(xs) | ExprKind::List(xs) => xs.iter().for_each(|x| self.expr(x)),
            ExprKind::StructLit { fields, .. } => fields.iter().for_each(|f| self.expr(&f.value)),
            ExprKind::If { cond, then, els } => {
                self.expr(cond);
                self.block(then);
                if let Some(x) = els {
                    self.expr(x);
                }
            }
            ExprKind::Match { scrutinee, arms } => {
                self.expr(scrutinee);
                for a in arms {
                    let mark = self.scope.len();
                    self.pat(&a.pat);
                    self.expr(&a.body);
                    self.scope.truncate(mark);
                }
            }
            ExprKind::Block(b) => self.block(b),
            ExprKind::Return(x) => {
                if let Some(x) = x {
                    self.expr(x);
                }
            }
        }
    }

    fn block(&mut self, b: &Block) {
        let mark = self.scope.len();
        for s in &b.stmts {
            match s {
                Stmt::Let { pat, value, .. } => {
                    self.expr(value);
                    self.pat(pat);
                }
                Stmt::Expr(x) => self.expr(x),
                Stmt::Error(_) => {}
            }
        }
        if let Some(t) = &b.tail {
            self.expr(t);
        }
        self.scope.truncate(mark);
    }

    fn stmts(&mut self, ss: &[LStmt]) {
        let mark = self.scope.len();
        for s in ss {
            match &s.kind {
                LKind::Let { pat, value } => {
                    self.expr(value);
                    self.pat(pat);
                }
                LKind::Effect(e) | LKind::Send { expr: e, .. } | LKind::Return(e) => self.expr(e),
                LKind::Recv { var, .. } => self.bind_name(var),
                LKind::Select { .. } => {}
                LKind::Branch { arms, .. } => arms.iter().for_each(|(_, b)| self.stmts(b)),
                LKind::If { cond, then, els } => {
                    self.expr(cond);
                    self.stmts(then);
                    self.stmts(els);
                }
                LKind::Match { scrutinee, arms } => {
                    self.expr(scrutinee);
                    for (p, b) in arms {
                        let m = self.scope.len();
                        self.pat(p);
                        self.stmts(b);
                        self.scope.truncate(m);
                    }
                }
                LKind::Block(b) => self.stmts(b),
                LKind::Call { args, bind, .. } => {
                    args.iter().for_each(|a| self.expr(a));
                    if let Some(p) = bind {
                        self.pat(p);
                    }
                }
            }
        }
        self.scope.truncate(mark);
    }

    fn finish(self) -> Moves {
        self.last.into_values().collect()
    }
}

/// The moving reads of a local function's body.
pub fn compute_fn_moves(prog: &Program, module: Option<&str>, def: &FnDef) -> Moves {
    let mut w = W {
        prog,
        module,
        scope: Vec::new(),
        next: 0,
        last: HashMap::new(),
    };
    for p in &def.params {
        w.bind_name(&p.name.name);
    }
    if let Some(b) = &def.body {
        w.expr(b);
    }
    w.finish()
}

/// The moving reads of a projected procedure's body.
pub fn compute_proc_moves(prog: &Program, p: &LocalProc) -> Moves {
    let mut w = W {
        prog,
        module: None,
        scope: Vec::new(),
        next: 0,
        last: HashMap::new(),
    };
    for n in &p.params {
        w.bind_name(n);
    }
    w.stmts(&p.body);
    w.finish()
}
