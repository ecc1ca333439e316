//! Node ids: every expression, pattern, receiver and choreography statement of an item gets
//! an id, numbered in pre-order from 0 within its item.
//!
//! Numbering per item (not per file) keeps ids stable under edits: an item the parser reuses
//! or re-parses from the same text has the same ids, so the checker's per-item results (and
//! the resolved program it publishes, `chor_check::ir`) stay valid for it. The parser numbers
//! every item it makes; a pass that rewrites an item (the program's reading of
//! `let S.x = P(..)(..)` as a call) numbers it again.

use crate::ast::*;

/// Number the nodes of `item` in pre-order; returns how many ids it used.
pub fn number_item(item: &mut Item) -> u32 {
    let mut n = Numbering { next: 0 };
    match item {
        Item::Fn(f) => {
            if let Some(b) = &mut f.body {
                n.expr(b);
            }
        }
        Item::Chor(c) => n.chor_block(&mut c.body),
        Item::Import(_) | Item::Struct(_) | Item::Enum(_) | Item::Error(_) => {}
    }
    n.next
}

struct Numbering {
    next: u32,
}

impl Numbering {
    fn fresh(&mut self) -> NodeId {
        self.next += 1;
        NodeId(self.next - 1)
    }

    fn chor_block(&mut self, b: &mut ChorBlock) {
        for s in &mut b.stmts {
            self.chor_stmt(s);
        }
    }

    fn chor_stmt(&mut self, s: &mut ChorStmt) {
        s.id = self.fresh();
        match &mut s.kind {
            ChorStmtKind::Let { pat, value, .. } => {
                self.expr(value);
                self.pat(pat);
            }
            ChorStmtKind::Comm { expr, to, .. } => {
                self.expr(expr);
                for r in to {
                    r.id = self.fresh();
                }
            }
            ChorStmtKind::Select { .. } | ChorStmtKind::Error => {}
            ChorStmtKind::Effect { expr, .. } | ChorStmtKind::Return { expr, .. } => {
                self.expr(expr)
            }
            ChorStmtKind::If {
                cond,
                then,
                els,
                bind,
                ..
            } => {
                self.expr(cond);
                self.chor_block(then);
                if let Some(e) = els {
                    self.chor_block(e);
                }
                for t in bind {
                    self.pat(&mut t.pat);
                }
            }
            ChorStmtKind::Match {
                scrutinee,
                arms,
                bind,
                ..
            } => {
                self.expr(scrutinee);
                for a in arms {
                    self.pat(&mut a.pat);
                    self.chor_block(&mut a.body);
                }
                for t in bind {
                    self.pat(&mut t.pat);
                }
            }
            ChorStmtKind::For { body, .. } => self.chor_block(body),
            ChorStmtKind::Results { parts } | ChorStmtKind::Yield { parts } => {
                for a in parts {
                    self.expr(&mut a.expr);
                }
            }
            ChorStmtKind::LetMany { targets, value } => {
                self.expr(value);
                for t in targets {
                    self.pat(&mut t.pat);
                }
            }
            ChorStmtKind::CallMany { call, targets } => {
                for a in &mut call.args {
                    self.expr(&mut a.expr);
                }
                for t in targets {
                    self.pat(&mut t.pat);
                }
            }
            ChorStmtKind::Call { call, bind } => {
                for a in &mut call.args {
                    self.expr(&mut a.expr);
                }
                if let Some((_, p, _)) = bind {
                    self.pat(p);
                }
            }
        }
    }

    fn pat(&mut self, p: &mut Pattern) {
        p.id = self.fresh();
        match &mut p.kind {
            PatternKind::Wild
            | PatternKind::Ident(_)
            | PatternKind::Lit(_)
            | PatternKind::Error => {}
            PatternKind::Tuple(ps) | PatternKind::Variant { args: ps, .. } => {
                ps.iter_mut().for_each(|p| self.pat(p))
            }
            PatternKind::Struct { fields, .. } => {
                fields.iter_mut().for_each(|f| self.pat(&mut f.pat))
            }
            PatternKind::List { elems, rest } => {
                elems.iter_mut().for_each(|p| self.pat(p));
                if let Some(Some(r)) = rest {
                    self.pat(r);
                }
            }
        }
    }

    fn block(&mut self, b: &mut Block) {
        for s in &mut b.stmts {
            match s {
                Stmt::Let { pat, value, .. } => {
                    self.expr(value);
                    self.pat(pat);
                }
                Stmt::Expr(e) => self.expr(e),
                Stmt::Error(_) => {}
            }
        }
        if let Some(t) = &mut b.tail {
            self.expr(t);
        }
    }

    fn expr(&mut self, e: &mut Expr) {
        e.id = self.fresh();
        match &mut e.kind {
            ExprKind::Lit(_) | ExprKind::Path(_) | ExprKind::Error => {}
            ExprKind::Unary(_, x) | ExprKind::Field(x, _) | ExprKind::TupleIndex(x, _, _) => {
                self.expr(x)
            }
            ExprKind::Binary(_, a, b) | ExprKind::Located(a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Call(f, args) => {
                self.expr(f);
                args.iter_mut().for_each(|a| self.expr(a));
            }
            ExprKind::Tuple(xs) | ExprKind::List(xs) => xs.iter_mut().for_each(|x| self.expr(x)),
            ExprKind::StructLit { fields, .. } => {
                fields.iter_mut().for_each(|f| self.expr(&mut f.value))
            }
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
                    self.pat(&mut a.pat);
                    self.expr(&mut a.body);
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
}
