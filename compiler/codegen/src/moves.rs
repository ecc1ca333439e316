//! Last-use analysis: which variable reads may move the value out instead of adding a
//! reference. A read moves when no path from it reads the same binding again: a forward walk
//! resolves each read to its binding, then a backward liveness walk (branches analysed
//! separately, their live sets joined) marks the reads after which the binding is dead. With
//! moves, a value that is not shared (`acc` in `f(acc ++ "x")`, `xs` in `list::push(xs, x)`)
//! is updated in place by the runtime. A branch that does not move a variable another branch
//! moved is fine: the lowering resets a moved variable to `()`, so its drop is a no-op.
//!
//! Which paths are variable reads, and which patterns bind, is what the checker resolved
//! (`chor_check::ir`). Both walks follow the lowering's evaluation order, and its storage of
//! variables: by name in lexical scopes, the innermost first, because projection may merge
//! identical statements of two branches into one (a receive of `x` in both), after which
//! reads in each branch's remaining code find the one that was kept.

use chor_check::ir::{ItemIr, Res};
use chor_check::{ItemRef, Program};
use chor_project::{LKind, LStmt, LocalProc};
use chor_syntax::ast::*;
use std::collections::{HashMap, HashSet};

/// The reads (by item and node id) that move their variable's value.
pub type Moves = HashSet<(ItemRef, NodeId)>;

struct W<'p> {
    ir: &'p ItemIr,
    /// The names in scope, in binding order (truncated at the end of a scope).
    scope: Vec<String>,
    /// For each name, the bindings of it in scope, innermost last: a lookup takes constant
    /// time, where scanning `scope` made a body of n bindings take quadratic time.
    bound: HashMap<String, Vec<usize>>,
    next: usize,
    /// Each variable read and the binding it reads.
    reads: HashMap<NodeId, usize>,
}

impl W<'_> {
    fn bind_name(&mut self, name: &str) {
        self.next += 1;
        self.scope.push(name.to_string());
        self.bound
            .entry(name.to_string())
            .or_default()
            .push(self.next);
    }

    fn lookup(&self, name: &str) -> Option<usize> {
        self.bound.get(name).and_then(|ids| ids.last().copied())
    }

    /// Ends the scope that began when `scope` had `mark` names.
    fn truncate(&mut self, mark: usize) {
        while self.scope.len() > mark {
            if let Some(name) = self.scope.pop()
                && let Some(ids) = self.bound.get_mut(&name)
            {
                ids.pop();
            }
        }
    }

    fn pat(&mut self, p: &Pattern) {
        match &p.kind {
            PatternKind::Ident(id) => {
                if self.ir.binds(p) {
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
                if self.ir.res(e).binding().is_some()
                    && let Some(id) = self.lookup(&p.last().name)
                {
                    self.reads.insert(e.id, id);
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
                let direct = matches!(
                    self.ir.res(f),
                    Res::Fn(_) | Res::Builtin(_) | Res::Variant { .. }
                );
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
                    self.truncate(mark);
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
        self.truncate(mark);
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
                LKind::If {
                    cond, then, els, ..
                } => {
                    self.expr(cond);
                    self.stmts(then);
                    self.stmts(els);
                }
                LKind::Match {
                    scrutinee, arms, ..
                } => {
                    self.expr(scrutinee);
                    for (p, b) in arms {
                        let m = self.scope.len();
                        self.pat(p);
                        self.stmts(b);
                        self.truncate(m);
                    }
                }
                LKind::Block(b) => self.stmts(b),
                LKind::Call { args, bind, .. } => {
                    args.iter().for_each(|a| self.expr(a));
                    if let Some(p) = bind {
                        self.pat(p);
                    }
                }
                // The body is a scope; the patterns bind after it, in this one.
                LKind::Bind { pats, body } => {
                    self.stmts(body);
                    pats.iter().for_each(|p| self.pat(p));
                }
                LKind::Yield(es) => es.iter().for_each(|e| self.expr(e)),
            }
        }
        self.truncate(mark);
    }
}

type Live = HashSet<usize>;

/// The backward walk: `live` holds the bindings read later on some path.
struct B<'w> {
    owner: ItemRef,
    reads: &'w HashMap<NodeId, usize>,
    moves: Moves,
}

impl B<'_> {
    fn expr(&mut self, e: &Expr, live: &mut Live) {
        match &e.kind {
            ExprKind::Lit(_) | ExprKind::Error | ExprKind::Located(..) => {}
            ExprKind::Path(_) => {
                if let Some(id) = self.reads.get(&e.id)
                    && live.insert(*id)
                {
                    self.moves.insert((self.owner, e.id));
                }
            }
            ExprKind::Unary(_, x) | ExprKind::Field(x, _) | ExprKind::TupleIndex(x, _, _) => {
                self.expr(x, live)
            }
            ExprKind::Binary(_, a, b) => {
                // `&&`/`||` skip `b` on some paths; `b`'s live set includes what follows anyway.
                self.expr(b, live);
                self.expr(a, live);
            }
            ExprKind::Call(f, args) => {
                args.iter().rev().for_each(|a| self.expr(a, live));
                // The callee is evaluated first (a named function or variant is not a read).
                self.expr(f, live);
            }
            ExprKind::Tuple(xs) | ExprKind::List(xs) => {
                xs.iter().rev().for_each(|x| self.expr(x, live))
            }
            ExprKind::StructLit { fields, .. } => {
                fields.iter().rev().for_each(|f| self.expr(&f.value, live))
            }
            ExprKind::If { cond, then, els } => {
                let mut lt = live.clone();
                self.block(then, &mut lt);
                if let Some(x) = els {
                    self.expr(x, live);
                }
                live.extend(lt);
                self.expr(cond, live);
            }
            ExprKind::Match { scrutinee, arms } => {
                let after = live.clone();
                for a in arms {
                    let mut la = after.clone();
                    self.expr(&a.body, &mut la);
                    live.extend(la);
                }
                self.expr(scrutinee, live);
            }
            ExprKind::Block(b) => self.block(b, live),
            ExprKind::Return(x) => {
                // Nothing after a return runs.
                live.clear();
                if let Some(x) = x {
                    self.expr(x, live);
                }
            }
        }
    }

    fn block(&mut self, b: &Block, live: &mut Live) {
        if let Some(t) = &b.tail {
            self.expr(t, live);
        }
        for s in b.stmts.iter().rev() {
            match s {
                Stmt::Let { value, .. } => self.expr(value, live),
                Stmt::Expr(x) => self.expr(x, live),
                Stmt::Error(_) => {}
            }
        }
    }

    fn stmts(&mut self, ss: &[LStmt], live: &mut Live) {
        for s in ss.iter().rev() {
            match &s.kind {
                LKind::Let { value, .. } => self.expr(value, live),
                LKind::Effect(e) | LKind::Send { expr: e, .. } => self.expr(e, live),
                LKind::Return(e) => {
                    live.clear();
                    self.expr(e, live);
                }
                LKind::Recv { .. } | LKind::Select { .. } => {}
                LKind::Branch { arms, .. } => {
                    let after = live.clone();
                    for (_, b) in arms {
                        let mut la = after.clone();
                        self.stmts(b, &mut la);
                        live.extend(la);
                    }
                }
                LKind::If {
                    cond, then, els, ..
                } => {
                    let mut lt = live.clone();
                    self.stmts(then, &mut lt);
                    self.stmts(els, live);
                    live.extend(lt);
                    self.expr(cond, live);
                }
                LKind::Match {
                    scrutinee, arms, ..
                } => {
                    let after = live.clone();
                    for (_, b) in arms {
                        let mut la = after.clone();
                        self.stmts(b, &mut la);
                        live.extend(la);
                    }
                    self.expr(scrutinee, live);
                }
                LKind::Block(b) | LKind::Bind { body: b, .. } => self.stmts(b, live),
                LKind::Call { args, .. } => args.iter().rev().for_each(|a| self.expr(a, live)),
                LKind::Yield(es) => es.iter().rev().for_each(|e| self.expr(e, live)),
            }
        }
    }
}

/// The moving reads of the body of local function `r`.
pub fn compute_fn_moves(prog: &Program, r: ItemRef, def: &FnDef) -> Moves {
    let mut w = W {
        ir: prog.ir_of(r),
        scope: Vec::new(),
        bound: HashMap::new(),
        next: 0,
        reads: HashMap::new(),
    };
    for p in &def.params {
        w.bind_name(&p.name.name);
    }
    let Some(body) = &def.body else {
        return Moves::default();
    };
    w.expr(body);
    let mut b = B {
        owner: r,
        reads: &w.reads,
        moves: Moves::default(),
    };
    b.expr(body, &mut Live::new());
    b.moves
}

/// The moving reads of a projected procedure's body (projected from choreography `owner`).
pub fn compute_proc_moves(prog: &Program, owner: ItemRef, p: &LocalProc) -> Moves {
    let mut w = W {
        ir: prog.ir_of(owner),
        scope: Vec::new(),
        bound: HashMap::new(),
        next: 0,
        reads: HashMap::new(),
    };
    for n in &p.params {
        w.bind_name(n);
    }
    w.stmts(&p.body);
    let mut b = B {
        owner,
        reads: &w.reads,
        moves: Moves::default(),
    };
    b.stmts(&p.body, &mut Live::new());
    b.moves
}

/// Whether `e` reads a variable called `name` anywhere (conservatively: any variable of that
/// name, in whichever scope). Code that evaluates `e` cannot move or drop a variable it does
/// not mention, so a value borrowed from that variable stays alive.
pub fn mentions(e: &Expr, name: &str, ir: &ItemIr) -> bool {
    let mut names = Vec::new();
    expr_names(e, ir, &mut names);
    names.contains(&name)
}

/// Where each name is mentioned last in a list of statements (see [`mentions`]). After
/// statement `k`, a variable bound by the list whose name is not mentioned again is dead: the
/// lowering drops it there instead of at the end of the list, so a body with thousands of
/// bindings keeps only a few values live at a time (the register allocator and the SSA
/// construction then take linear time, not quadratic).
#[derive(Default)]
pub struct LastMentions {
    /// For each statement, the names mentioned last in it.
    pub ends: Vec<Vec<String>>,
    /// For each name, the statement that mentions it last.
    pub last: HashMap<String, usize>,
}

impl LastMentions {
    /// Whether `name` is mentioned after statement `k`.
    pub fn later(&self, name: &str, k: usize) -> bool {
        self.last.get(name).is_some_and(|&j| j > k)
    }
}

/// [`LastMentions`] of a projected statement list.
pub fn last_mentions(ss: &[LStmt], ir: &ItemIr) -> LastMentions {
    let mut names = Vec::new();
    let per_stmt: Vec<Vec<&str>> = ss
        .iter()
        .map(|s| {
            names.clear();
            lstmt_names(s, ir, &mut names);
            names.clone()
        })
        .collect();
    invert(&per_stmt)
}

/// [`LastMentions`] of a block of local code: index `stmts.len()` is the tail.
pub fn last_mentions_block(b: &Block, ir: &ItemIr) -> LastMentions {
    let mut per_stmt: Vec<Vec<&str>> = Vec::with_capacity(b.stmts.len() + 1);
    for s in &b.stmts {
        let mut out = Vec::new();
        match s {
            Stmt::Let { value, .. } => expr_names(value, ir, &mut out),
            Stmt::Expr(x) => expr_names(x, ir, &mut out),
            Stmt::Error(_) => {}
        }
        per_stmt.push(out);
    }
    let mut out = Vec::new();
    if let Some(t) = &b.tail {
        expr_names(t, ir, &mut out);
    }
    per_stmt.push(out);
    invert(&per_stmt)
}

fn invert(per_stmt: &[Vec<&str>]) -> LastMentions {
    let mut last: HashMap<String, usize> = HashMap::new();
    for (k, names) in per_stmt.iter().enumerate() {
        for n in names {
            match last.get_mut(*n) {
                Some(j) => *j = k,
                None => {
                    last.insert((*n).to_string(), k);
                }
            }
        }
    }
    let mut ends = vec![Vec::new(); per_stmt.len()];
    for (n, k) in &last {
        ends[*k].push(n.clone());
    }
    LastMentions { ends, last }
}

fn lstmt_names<'a>(s: &'a LStmt, ir: &ItemIr, out: &mut Vec<&'a str>) {
    let list =
        |ss: &'a [LStmt], out: &mut Vec<&'a str>| ss.iter().for_each(|s| lstmt_names(s, ir, out));
    match &s.kind {
        LKind::Let { value: e, .. }
        | LKind::Effect(e)
        | LKind::Send { expr: e, .. }
        | LKind::Return(e) => expr_names(e, ir, out),
        LKind::Recv { .. } | LKind::Select { .. } => {}
        LKind::Branch { arms, .. } => arms.iter().for_each(|(_, b)| list(b, out)),
        LKind::If {
            cond, then, els, ..
        } => {
            expr_names(cond, ir, out);
            list(then, out);
            list(els, out);
        }
        LKind::Match {
            scrutinee, arms, ..
        } => {
            expr_names(scrutinee, ir, out);
            arms.iter().for_each(|(_, b)| list(b, out));
        }
        LKind::Block(b) | LKind::Bind { body: b, .. } => list(b, out),
        LKind::Call { args, .. } | LKind::Yield(args) => {
            args.iter().for_each(|a| expr_names(a, ir, out))
        }
    }
}

/// The names of the variables `e` reads: its paths that the checker resolved to a variable
/// (a parameter or a binding), not those naming a function, a variant or a role.
fn expr_names<'a>(e: &'a Expr, ir: &ItemIr, out: &mut Vec<&'a str>) {
    let x = |e: &'a Expr, out: &mut Vec<&'a str>| expr_names(e, ir, out);
    match &e.kind {
        ExprKind::Lit(_) | ExprKind::Error => {}
        ExprKind::Path(p) => {
            if ir.res(e).binding().is_some() {
                out.push(&p.last().name);
            }
        }
        ExprKind::Unary(_, a) | ExprKind::Field(a, _) | ExprKind::TupleIndex(a, _, _) => x(a, out),
        ExprKind::Binary(_, a, b) | ExprKind::Located(a, b) => {
            x(a, out);
            x(b, out);
        }
        ExprKind::Call(f, args) => {
            x(f, out);
            args.iter().for_each(|a| x(a, out));
        }
        ExprKind::Tuple(xs) | ExprKind::List(xs) => xs.iter().for_each(|a| x(a, out)),
        ExprKind::StructLit { fields, .. } => fields.iter().for_each(|f| x(&f.value, out)),
        ExprKind::If { cond, then, els } => {
            x(cond, out);
            block_names(then, ir, out);
            if let Some(a) = els {
                x(a, out);
            }
        }
        ExprKind::Match { scrutinee, arms } => {
            x(scrutinee, out);
            arms.iter().for_each(|a| x(&a.body, out));
        }
        ExprKind::Block(b) => block_names(b, ir, out),
        ExprKind::Return(a) => {
            if let Some(a) = a {
                x(a, out);
            }
        }
    }
}

fn block_names<'a>(b: &'a Block, ir: &ItemIr, out: &mut Vec<&'a str>) {
    for s in &b.stmts {
        match s {
            Stmt::Let { value, .. } => expr_names(value, ir, out),
            Stmt::Expr(x) => expr_names(x, ir, out),
            Stmt::Error(_) => {}
        }
    }
    if let Some(t) = &b.tail {
        expr_names(t, ir, out);
    }
}
