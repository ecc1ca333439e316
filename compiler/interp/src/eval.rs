//! Evaluation of local code (expressions, patterns, functions, builtins) — shared by the global
//! interpreter and the interpreter of projected programs, so both give the same answers.

use crate::value::{FuncVal, StructVal, Value, VariantVal, to_display};
use chor_check::ir::{ItemIr, Res as Resolved};
use chor_check::{ItemRef, Program, QualName};
use chor_diagnostics::Span;
use chor_syntax::ast::*;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A runtime fault (division by zero, failed match, …) at a source location.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeError {
    pub message: String,
    pub span: Span,
}

/// Where a role's prints go and where `read_line` reads from; the effects of the `io::`,
/// `env::` and `random::` modules go through here too (their defaults suit an embedding that
/// has no standard input, no arguments and no partial lines).
pub trait Io: Sync {
    fn print(&self, role: &str, line: &str);
    fn read_line(&self, role: &str) -> String;
    /// `io::read_line`: a line of the role's input, None at end of input.
    fn read_input(&self, role: &str) -> Option<String> {
        Some(self.read_line(role))
    }
    /// `io::write`: text without a newline (line-buffered: completed by the next print).
    fn write(&self, role: &str, text: &str) {
        self.print(role, text);
    }
    /// `io::eprint`: a line on standard error (an embedding without one prints it).
    fn eprint(&self, role: &str, line: &str) {
        self.print(role, line);
    }
    /// `env::args()`.
    fn args(&self) -> Vec<String> {
        Vec::new()
    }
    /// The random streams of the roles (`random::`).
    fn streams(&self) -> &chor_runtime::rt::world::Streams {
        chor_runtime::rt::world::process_streams()
    }
}

/// Non-local control flow while evaluating.
#[derive(Debug)]
pub enum Ctrl {
    Fault(RuntimeError),
    Return(Value),
    /// A call in tail position: the caller's loop runs it without growing the stack.
    Tail(Callee, Vec<Value>, Span),
}

pub type Res<T> = Result<T, Ctrl>;

pub fn fault<T>(message: impl Into<String>, span: Span) -> Res<T> {
    Err(Ctrl::Fault(RuntimeError {
        message: message.into(),
        span,
    }))
}

/// What a call resolves to.
#[derive(Debug, Clone)]
pub enum Callee {
    Fn(ItemRef),
    Variant(Arc<str>),
}

/// A scope of variables with shadowing; blocks truncate back to a mark.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: Vec<(Arc<str>, Value)>,
}

impl Env {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v)
    }
    pub fn bind(&mut self, name: &str, v: Value) {
        self.vars.push((Arc::from(name), v));
    }
    pub fn mark(&self) -> usize {
        self.vars.len()
    }
    pub fn reset(&mut self, mark: usize) {
        self.vars.truncate(mark);
    }
    /// The bindings in scope, oldest first (a shadowed name appears once per binding).
    pub fn bindings(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.vars.iter().map(|(n, v)| (&**n, v))
    }
}

pub struct Evaluator<'p> {
    pub prog: &'p Program,
    pub io: &'p dyn Io,
    field_names: RefCell<HashMap<String, Arc<[Arc<str>]>>>,
    /// The name of the function being run, if any: a stack overflow is reported there, as
    /// native code reports it.
    current_fn: Cell<Option<Span>>,
    /// The first statement of the choreographic procedure being run: outside functions, a
    /// stack overflow is reported there, as native code reports it.
    pub current_proc: Cell<Option<Span>>,
    /// The last direct call from user code into a standard library function with a body; a
    /// fault inside the library names it as the user's call site (as native code does).
    pub user_site: Cell<Option<Span>>,
    /// The role whose code is being evaluated (prints are tagged with it).
    pub role: RefCell<Arc<str>>,
    /// In a procedure of a class of alike members of a family (`chor_project::family`): the
    /// procedure's resolved IR (by address, so that only its own body is concerned, not the
    /// functions it calls) and the values, at the running member, of its literals that are
    /// `i + d`.
    pub member_lits: RefCell<Option<(usize, HashMap<NodeId, i64>)>>,
}

fn unit_span(sp: Span) -> Span {
    sp
}

impl<'p> Evaluator<'p> {
    pub fn new(prog: &'p Program, io: &'p dyn Io) -> Evaluator<'p> {
        Evaluator {
            prog,
            io,
            field_names: RefCell::new(HashMap::new()),
            current_fn: Cell::new(None),
            current_proc: Cell::new(None),
            user_site: Cell::new(None),
            role: RefCell::new(Arc::from("")),
            member_lits: RefCell::new(None),
        }
    }

    /// The value of literal `e` at the running member, when it is an index form.
    fn member_lit(&self, e: &Expr, ir: &ItemIr) -> Option<i64> {
        let lits = self.member_lits.borrow();
        let (at, lits) = lits.as_ref()?;
        if *at != std::ptr::from_ref(ir) as usize {
            return None;
        }
        lits.get(&e.id).copied()
    }

    pub fn set_role(&self, role: &Arc<str>) {
        if **self.role.borrow() != **role {
            *self.role.borrow_mut() = role.clone();
        }
    }

    pub fn current_role(&self) -> Arc<str> {
        self.role.borrow().clone()
    }

    /// Evaluate an expression outside tail position.
    pub fn eval(&self, env: &mut Env, e: &Expr, ir: &ItemIr) -> Res<Value> {
        self.eval_in(env, e, ir, false)
    }

    fn eval_in(&self, env: &mut Env, e: &Expr, ir: &ItemIr, tail: bool) -> Res<Value> {
        if crate::stack::exhausted() {
            return fault(crate::stack::OVERFLOW, self.overflow_at(e.span));
        }
        match &e.kind {
            ExprKind::Lit(l) => Ok(match self.member_lit(e, ir) {
                Some(v) => Value::Int(v),
                None => lit_value(l),
            }),
            ExprKind::Path(p) => self.eval_path(env, e, p, ir),
            ExprKind::Unary(op, x) => {
                let v = self.eval(env, x, ir)?;
                match (op, v) {
                    (UnOp::Neg, Value::Int(i)) => match i.checked_neg() {
                        Some(n) => Ok(Value::Int(n)),
                        None => fault("integer overflow", e.span),
                    },
                    (UnOp::Neg, Value::Float(x)) => Ok(Value::Float(-x)),
                    (UnOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
                    (_, v) => fault(
                        format!(
                            "cannot apply `{}` to {}",
                            unop_text(*op),
                            crate::value::to_literal(&v)
                        ),
                        e.span,
                    ),
                }
            }
            ExprKind::Binary(op, a, b) => self.eval_binary(env, *op, a, b, ir, e.span),
            ExprKind::Call(f, args) => {
                let (callee, direct) = self.eval_callee(env, f, ir)?;
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(env, a, ir)?);
                }
                if let (true, Callee::Fn(r)) = (direct, &callee)
                    && self.prog.module_of(*r).is_some()
                    && self.prog.fn_def(*r).is_some_and(|d| d.body.is_some())
                    && chor_check::stdlib::by_file(e.span.file).is_none()
                {
                    self.user_site.set(Some(e.span));
                }
                match callee {
                    Callee::Fn(r) if tail => {
                        if self.prog.fn_def(r).is_some_and(|d| d.body.is_some()) {
                            return Err(Ctrl::Tail(Callee::Fn(r), vals, e.span));
                        }
                        self.call(Callee::Fn(r), vals, e.span)
                    }
                    c => self.call(c, vals, e.span),
                }
            }
            ExprKind::Field(x, name) => {
                let v = self.eval(env, x, ir)?;
                match &v {
                    Value::Struct(s) => {
                        match s.field_names.iter().position(|n| **n == *name.name) {
                            Some(i) => Ok(s.fields[i].clone()),
                            None => {
                                fault(format!("no field `{}` on {}", name.name, s.name), name.span)
                            }
                        }
                    }
                    other => fault(
                        format!(
                            "no field `{}` on {}",
                            name.name,
                            crate::value::to_literal(other)
                        ),
                        name.span,
                    ),
                }
            }
            ExprKind::TupleIndex(x, i, sp) => {
                let v = self.eval(env, x, ir)?;
                match &v {
                    Value::Tuple(items) => match items.get(*i as usize) {
                        Some(x) => Ok(x.clone()),
                        None => fault(format!("tuple has no element {i}"), *sp),
                    },
                    other => fault(
                        format!("{} is not a tuple", crate::value::to_literal(other)),
                        *sp,
                    ),
                }
            }
            ExprKind::Tuple(items) => {
                let mut vals = Vec::with_capacity(items.len());
                for x in items {
                    vals.push(self.eval(env, x, ir)?);
                }
                Ok(Value::tuple(vals))
            }
            ExprKind::List(items) => {
                let mut vals = Vec::with_capacity(items.len());
                for x in items {
                    vals.push(self.eval(env, x, ir)?);
                }
                Ok(Value::list(vals))
            }
            ExprKind::StructLit { name, fields } => {
                let Resolved::Struct(r) = ir.res(e) else {
                    return fault(format!("unknown struct `{}`", name.text()), name.span);
                };
                let Some(def) = self.prog.struct_def(r) else {
                    return fault(format!("unknown struct `{}`", name.text()), name.span);
                };
                let q = QualName {
                    module: self.prog.module_of(r).map(str::to_owned),
                    name: def.name.name.clone(),
                };
                let names = self.field_names_of(&q, def);
                let mut vals = vec![Value::Unit; def.fields.len()];
                for f in fields {
                    let v = self.eval(env, &f.value, ir)?;
                    if let Some(i) = def.fields.iter().position(|d| d.name.name == f.name.name) {
                        vals[i] = v;
                    }
                }
                Ok(Value::Struct(Arc::new(StructVal {
                    name: Arc::from(def.name.name.as_str()),
                    field_names: names,
                    fields: vals,
                })))
            }
            ExprKind::If { cond, then, els } => {
                let c = self.eval(env, cond, ir)?;
                match c {
                    Value::Bool(true) => self.eval_block(env, then, ir, tail),
                    Value::Bool(false) => match els {
                        Some(x) => self.eval_in(env, x, ir, tail),
                        None => Ok(Value::Unit),
                    },
                    other => fault(
                        format!(
                            "condition is {}, not a Bool",
                            crate::value::to_literal(&other)
                        ),
                        cond.span,
                    ),
                }
            }
            ExprKind::Match { scrutinee, arms } => {
                let v = self.eval(env, scrutinee, ir)?;
                for arm in arms {
                    let mark = env.mark();
                    if self.match_pattern(&arm.pat, &v, env, ir) {
                        let r = self.eval_in(env, &arm.body, ir, tail);
                        env.reset(mark);
                        return r;
                    }
                    env.reset(mark);
                }
                fault(
                    format!(
                        "no arm of this match covers {}",
                        crate::value::to_literal(&v)
                    ),
                    scrutinee.span,
                )
            }
            ExprKind::Block(b) => self.eval_block(env, b, ir, tail),
            ExprKind::Return(x) => {
                let v = match x {
                    Some(x) => self.eval(env, x, ir)?,
                    None => Value::Unit,
                };
                Err(Ctrl::Return(v))
            }
            ExprKind::Located(..) => fault(
                "`R.(…)` is only allowed as an argument of a choreography call",
                e.span,
            ),
            ExprKind::Error => fault("this expression has a syntax error", e.span),
        }
    }

    fn eval_block(&self, env: &mut Env, b: &Block, ir: &ItemIr, tail: bool) -> Res<Value> {
        let mark = env.mark();
        let r = (|| {
            for s in &b.stmts {
                match s {
                    Stmt::Let {
                        pat, value, span, ..
                    } => {
                        let v = self.eval(env, value, ir)?;
                        if !self.match_pattern(pat, &v, env, ir) {
                            return fault(
                                format!(
                                    "the pattern does not match {}",
                                    crate::value::to_literal(&v)
                                ),
                                *span,
                            );
                        }
                    }
                    Stmt::Expr(x) => {
                        self.eval(env, x, ir)?;
                    }
                    Stmt::Error(sp) => return fault("this statement has a syntax error", *sp),
                }
            }
            match &b.tail {
                Some(t) => self.eval_in(env, t, ir, tail),
                None => Ok(Value::Unit),
            }
        })();
        env.reset(mark);
        r
    }

    fn eval_binary(
        &self,
        env: &mut Env,
        op: BinOp,
        a: &Expr,
        b: &Expr,
        ir: &ItemIr,
        span: Span,
    ) -> Res<Value> {
        if matches!(op, BinOp::And | BinOp::Or) {
            let x = self.eval(env, a, ir)?;
            return match (op, x) {
                (BinOp::And, Value::Bool(false)) => Ok(Value::Bool(false)),
                (BinOp::Or, Value::Bool(true)) => Ok(Value::Bool(true)),
                (_, Value::Bool(_)) => match self.eval(env, b, ir)? {
                    Value::Bool(y) => Ok(Value::Bool(y)),
                    other => fault(
                        format!(
                            "`{}` needs a Bool, found {}",
                            op.text(),
                            crate::value::to_literal(&other)
                        ),
                        b.span,
                    ),
                },
                (_, other) => fault(
                    format!(
                        "`{}` needs a Bool, found {}",
                        op.text(),
                        crate::value::to_literal(&other)
                    ),
                    a.span,
                ),
            };
        }
        let x = self.eval(env, a, ir)?;
        let y = self.eval(env, b, ir)?;
        binary(op, x, y, span)
    }

    fn eval_path(&self, env: &Env, e: &Expr, p: &Path, ir: &ItemIr) -> Res<Value> {
        let res = ir.res(e);
        if res.binding().is_some()
            && let Some(v) = env.get(&p.last().name)
        {
            return Ok(v.clone());
        }
        match res {
            Resolved::Fn(r) | Resolved::Builtin(r) => {
                if let Some(def) = self.prog.fn_def(r) {
                    return Ok(Value::Func(Arc::new(FuncVal::Named {
                        module: self.prog.module_of(r).map(Arc::from),
                        name: Arc::from(def.name.name.as_str()),
                    })));
                }
            }
            Resolved::Variant { nullary, .. } => {
                let name = &p.last().name;
                return Ok(if nullary {
                    Value::variant(name, vec![])
                } else {
                    Value::Func(Arc::new(FuncVal::Variant(Arc::from(name.as_str()))))
                });
            }
            _ => {}
        }
        fault(
            format!("`{}` is not defined here", p.text()),
            unit_span(e.span),
        )
    }

    /// The function called, and whether it is named at the call (not a function value).
    fn eval_callee(&self, env: &mut Env, f: &Expr, ir: &ItemIr) -> Res<(Callee, bool)> {
        if let ExprKind::Path(p) = &f.kind {
            match ir.res(f) {
                Resolved::Fn(r) | Resolved::Builtin(r) => return Ok((Callee::Fn(r), true)),
                Resolved::Variant { .. } => {
                    return Ok((Callee::Variant(Arc::from(p.last().name.as_str())), true));
                }
                _ => {}
            }
        }
        match self.eval(env, f, ir)? {
            Value::Func(fv) => Ok((self.callee_of(&fv, f.span)?, false)),
            other => fault(
                format!("{} is not a function", crate::value::to_literal(&other)),
                f.span,
            ),
        }
    }

    fn callee_of(&self, fv: &FuncVal, span: Span) -> Res<Callee> {
        match fv {
            FuncVal::Named { module, name } => {
                let q = QualName {
                    module: module.as_deref().map(str::to_owned),
                    name: name.to_string(),
                };
                match self.prog.fns.get(&q) {
                    Some(r) => Ok(Callee::Fn(*r)),
                    None => fault(format!("unknown function `{q}`"), span),
                }
            }
            FuncVal::Variant(n) => Ok(Callee::Variant(n.clone())),
        }
    }

    /// Call a function value (used by builtins such as `list::map` written in .chor).
    pub fn call_value(&self, f: &Value, args: Vec<Value>, span: Span) -> Res<Value> {
        match f {
            Value::Func(fv) => {
                let c = self.callee_of(fv, span)?;
                self.call(c, args, span)
            }
            other => fault(
                format!("{} is not a function", crate::value::to_literal(other)),
                span,
            ),
        }
    }

    /// Where a stack overflow is reported: the running function's name, else the running
    /// procedure's first statement (where native code checks), else `span`.
    fn overflow_at(&self, span: Span) -> Span {
        self.current_fn
            .get()
            .or(self.current_proc.get())
            .unwrap_or(span)
    }

    /// Call a function to completion; tail calls loop here in constant stack.
    pub fn call(&self, callee: Callee, args: Vec<Value>, span: Span) -> Res<Value> {
        if crate::stack::exhausted() {
            return fault(crate::stack::OVERFLOW, self.overflow_at(span));
        }
        let outer = self.current_fn.get();
        let r = self.call_loop(callee, args, span);
        self.current_fn.set(outer);
        r
    }

    fn call_loop(&self, mut callee: Callee, mut args: Vec<Value>, mut span: Span) -> Res<Value> {
        loop {
            let r = match callee {
                Callee::Variant(name) => {
                    return Ok(Value::Variant(Arc::new(VariantVal { name, fields: args })));
                }
                Callee::Fn(r) => r,
            };
            let Some(def) = self.prog.fn_def(r) else {
                return fault("unknown function", span);
            };
            let module = self.prog.module_of(r);
            if module.is_some() && chor_check::stdlib::by_file(def.name.span.file).is_some() {
                match crate::library::fast_path(self, module, &def.name.name, args, span) {
                    Ok(r) => return r,
                    Err(a) => args = a,
                }
            }
            let Some(body) = &def.body else {
                if def.is_extern() {
                    return crate::externs::call(self.prog, &def.name.name, args, span);
                }
                return crate::builtins::call_builtin(self, module, &def.name.name, args, span);
            };
            if args.len() != def.params.len() {
                return fault(
                    format!(
                        "`{}` takes {} arguments but got {}",
                        def.name.name,
                        def.params.len(),
                        args.len()
                    ),
                    span,
                );
            }
            self.current_fn.set(Some(def.name.span));
            let mut env = Env::default();
            for (p, v) in def.params.iter().zip(args) {
                env.bind(&p.name.name, v);
            }
            match self.eval_in(&mut env, body, self.prog.ir_of(r), true) {
                Ok(v) | Err(Ctrl::Return(v)) => return Ok(v),
                Err(Ctrl::Tail(c, a, s)) => {
                    callee = c;
                    args = a;
                    span = s;
                }
                Err(f) => return Err(f),
            }
        }
    }

    fn field_names_of(&self, q: &QualName, def: &StructDef) -> Arc<[Arc<str>]> {
        let key = q.to_string();
        if let Some(n) = self.field_names.borrow().get(&key) {
            return n.clone();
        }
        let names: Arc<[Arc<str>]> = def
            .fields
            .iter()
            .map(|f| Arc::from(f.name.name.as_str()))
            .collect();
        self.field_names.borrow_mut().insert(key, names.clone());
        names
    }

    /// Match `v` against `pat`, binding variables into `env` (the caller resets on failure).
    /// Names resolve as the checker resolved them in `ir` (the pattern's item).
    pub fn match_pattern(&self, pat: &Pattern, v: &Value, env: &mut Env, ir: &ItemIr) -> bool {
        match (&pat.kind, v) {
            (PatternKind::Wild, _) => true,
            (PatternKind::Ident(id), v) => {
                if !ir.binds(pat) {
                    matches!(v, Value::Variant(x) if *x.name == *id.name)
                } else {
                    env.bind(&id.name, v.clone());
                    true
                }
            }
            (PatternKind::Lit(l), v) => lit_value(l) == *v,
            (PatternKind::Tuple(ps), Value::Tuple(vs)) => {
                ps.len() == vs.len()
                    && ps
                        .iter()
                        .zip(vs.iter())
                        .all(|(p, v)| self.match_pattern(p, v, env, ir))
            }
            (PatternKind::Variant { name, args }, Value::Variant(x)) => {
                *x.name == *name.last().name
                    && args.len() == x.fields.len()
                    && args
                        .iter()
                        .zip(x.fields.iter())
                        .all(|(p, v)| self.match_pattern(p, v, env, ir))
            }
            (PatternKind::Struct { name, fields, .. }, Value::Struct(s)) => {
                *s.name == *name.last().name
                    && fields.iter().all(|fp| {
                        s.field_names
                            .iter()
                            .position(|n| **n == *fp.name.name)
                            .is_some_and(|i| self.match_pattern(&fp.pat, &s.fields[i], env, ir))
                    })
            }
            (PatternKind::List { elems, rest }, Value::List(vs)) => {
                let n = elems.len();
                let len_ok = match rest {
                    None => vs.len() == n,
                    Some(_) => vs.len() >= n,
                };
                if !len_ok
                    || !elems
                        .iter()
                        .zip(vs.iter())
                        .all(|(p, v)| self.match_pattern(p, v, env, ir))
                {
                    return false;
                }
                match rest {
                    Some(Some(r)) => self.match_pattern(r, &Value::list(vs[n..].to_vec()), env, ir),
                    _ => true,
                }
            }
            _ => false,
        }
    }
}

fn unop_text(op: UnOp) -> &'static str {
    match op {
        UnOp::Neg => "-",
        UnOp::Not => "!",
    }
}

pub fn lit_value(l: &Lit) -> Value {
    match l {
        Lit::Int(i) => Value::Int(*i),
        Lit::Float(x) => Value::Float(*x),
        Lit::Bool(b) => Value::Bool(*b),
        Lit::Str(s) => Value::str(s),
        Lit::Unit => Value::Unit,
    }
}

/// Apply a binary operator (not `&&`/`||`, which short-circuit) to two values.
pub fn binary(op: BinOp, x: Value, y: Value, span: Span) -> Res<Value> {
    use BinOp::*;
    use chor_runtime::rt::val::{Op, compares, float_arith, int_arith};
    // Arithmetic and comparison are the runtime's, so that every back end computes and faults
    // alike.
    let rop = match op {
        Add => Some(Op::Add),
        Sub => Some(Op::Sub),
        Mul => Some(Op::Mul),
        Div => Some(Op::Div),
        Rem => Some(Op::Rem),
        Eq => Some(Op::Eq),
        Ne => Some(Op::Ne),
        Lt => Some(Op::Lt),
        Le => Some(Op::Le),
        Gt => Some(Op::Gt),
        Ge => Some(Op::Ge),
        _ => None,
    };
    if let Some(o) = rop {
        if o.is_comparison() {
            return Ok(Value::Bool(compares(o, x.cmp(&y)) == Some(true)));
        }
        match (&x, &y) {
            (Value::Int(a), Value::Int(b)) => {
                return int_arith(o, *a, *b).map_or_else(|m| fault(m, span), |v| Ok(Value::Int(v)));
            }
            (Value::Float(a), Value::Float(b)) => {
                return Ok(Value::Float(float_arith(o, *a, *b)));
            }
            _ => {}
        }
    }
    match (op, x, y) {
        (Concat, Value::Str(a), Value::Str(b)) => {
            let mut s = String::with_capacity(a.len() + b.len());
            s.push_str(&a);
            s.push_str(&b);
            Ok(Value::Str(Arc::from(s)))
        }
        (Concat, Value::List(mut a), Value::List(b)) => {
            Arc::make_mut(&mut a).extend(b.iter().cloned());
            Ok(Value::List(a))
        }
        (op, a, b) => fault(
            format!(
                "cannot apply `{}` to {} and {}",
                op.text(),
                crate::value::to_literal(&a),
                crate::value::to_literal(&b)
            ),
            span,
        ),
    }
}

/// Convenience for builtins.
pub(crate) fn as_list(v: &Value, span: Span) -> Res<&Arc<crate::value::Seq>> {
    match v {
        Value::List(l) => Ok(l),
        other => fault(
            format!("expected a List, found {}", crate::value::to_literal(other)),
            span,
        ),
    }
}

pub(crate) fn as_int(v: &Value, span: Span) -> Res<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        other => fault(
            format!("expected an Int, found {}", crate::value::to_literal(other)),
            span,
        ),
    }
}

pub(crate) fn as_str(v: &Value, span: Span) -> Res<&Arc<str>> {
    match v {
        Value::Str(s) => Ok(s),
        other => fault(
            format!(
                "expected a String, found {}",
                crate::value::to_literal(other)
            ),
            span,
        ),
    }
}

pub(crate) fn as_map(v: &Value, span: Span) -> Res<&Arc<BTreeMap<Value, Value>>> {
    match v {
        Value::Map(m) => Ok(m),
        other => fault(
            format!("expected a Map, found {}", crate::value::to_literal(other)),
            span,
        ),
    }
}

pub(crate) fn display(v: &Value) -> String {
    to_display(v)
}
