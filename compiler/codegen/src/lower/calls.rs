//! Calls: direct calls of local functions and builtins, calls of function values, inlining of
//! small local functions, and struct literals.

use super::*;

/// Whether a type names any of `generics`.
/// Bodies of local functions up to this many expression nodes are inlined at non-tail calls.
pub(super) const INLINE_MAX: usize = 24;

/// How deep inlined bodies nest: a small function inlined into another inlined one is
/// inlined too (recursive `fib` then does three levels of its recursion per call, fewer than
/// half the calls and stack checks of two levels), but no deeper, which bounds the code a call
/// site can grow to; small leaves (`is_leaf`) are inlined at any depth.
pub(super) const INLINE_DEPTH: u8 = 2;

/// The size (expression nodes) of a function's body, if it may be inlined: not a builtin, no
/// `return` (it would leave the caller), nothing that cannot run.
pub(super) fn inline_size(def: &FnDef) -> Option<usize> {
    fn size(e: &Expr) -> Option<usize> {
        let all = |xs: &mut dyn Iterator<Item = &Expr>| -> Option<usize> {
            xs.map(size).sum::<Option<usize>>()
        };
        let block = |b: &Block| -> Option<usize> {
            let mut n = 0;
            for s in &b.stmts {
                n += match s {
                    Stmt::Let { value, .. } => size(value)?,
                    Stmt::Expr(x) => size(x)?,
                    Stmt::Error(_) => return None,
                };
            }
            match &b.tail {
                Some(t) => Some(n + size(t)?),
                None => Some(n),
            }
        };
        let inner = match &e.kind {
            ExprKind::Lit(_) | ExprKind::Path(_) => 0,
            ExprKind::Return(_) | ExprKind::Located(..) | ExprKind::Error => return None,
            ExprKind::Unary(_, x) | ExprKind::Field(x, _) | ExprKind::TupleIndex(x, _, _) => {
                size(x)?
            }
            ExprKind::Binary(_, a, b) => size(a)? + size(b)?,
            ExprKind::Call(f, args) => size(f)? + all(&mut args.iter())?,
            ExprKind::Tuple(xs) | ExprKind::List(xs) => all(&mut xs.iter())?,
            ExprKind::StructLit { fields, .. } => all(&mut fields.iter().map(|f| &f.value))?,
            ExprKind::If { cond, then, els } => {
                size(cond)? + block(then)? + els.as_deref().map_or(Some(0), size)?
            }
            ExprKind::Match { scrutinee, arms } => {
                size(scrutinee)? + all(&mut arms.iter().map(|a| &a.body))?
            }
            ExprKind::Block(b) => block(b)?,
        };
        Some(inner + 1)
    }
    size(def.body.as_ref()?)
}

/// Whether a local function's body calls no generated code at all: its calls are of
/// builtins and externs (code of the runtime and of the extern glue, which never call back
/// into generated code) and of variant constructors. A call of such a function needs no stack
/// check before it: no recursion can pass through it, and its one frame (with the runtime's
/// below it) fits in the margin the runtime leaves under the limit; every cycle of non-tail
/// calls goes through functions that are not leaves, whose calls keep their checks.
/// Conservative: a call of a function with a body, even in tail position, or through a
/// function value makes the caller no leaf.
pub(crate) fn is_leaf(prog: &chor_check::Program, r: ItemRef, def: &FnDef) -> bool {
    fn leaf(prog: &chor_check::Program, ir: &ItemIr, e: &Expr) -> bool {
        let all = |xs: &mut dyn Iterator<Item = &Expr>| {
            for x in xs {
                if !leaf(prog, ir, x) {
                    return false;
                }
            }
            true
        };
        let block = |b: &Block| {
            b.stmts.iter().all(|s| match s {
                Stmt::Let { value, .. } => leaf(prog, ir, value),
                Stmt::Expr(x) => leaf(prog, ir, x),
                Stmt::Error(_) => false,
            }) && b.tail.as_ref().is_none_or(|t| leaf(prog, ir, t))
        };
        match &e.kind {
            ExprKind::Lit(_) | ExprKind::Path(_) => true,
            ExprKind::Located(..) | ExprKind::Error => false,
            ExprKind::Return(x) => x.as_deref().is_none_or(|x| leaf(prog, ir, x)),
            ExprKind::Unary(_, x) | ExprKind::Field(x, _) | ExprKind::TupleIndex(x, _, _) => {
                leaf(prog, ir, x)
            }
            ExprKind::Binary(_, a, b) => leaf(prog, ir, a) && leaf(prog, ir, b),
            ExprKind::Call(f, args) => {
                let callee_ok = matches!(f.kind, ExprKind::Path(_))
                    && match ir.res(f) {
                        Res::Fn(c) | Res::Builtin(c) => {
                            prog.fn_def(c).is_some_and(|d| d.body.is_none())
                        }
                        Res::Variant { .. } => true,
                        _ => false,
                    };
                callee_ok && all(&mut args.iter())
            }
            ExprKind::Tuple(xs) | ExprKind::List(xs) => all(&mut xs.iter()),
            ExprKind::StructLit { fields, .. } => all(&mut fields.iter().map(|f| &f.value)),
            ExprKind::If { cond, then, els } => {
                leaf(prog, ir, cond)
                    && block(then)
                    && els.as_deref().is_none_or(|x| leaf(prog, ir, x))
            }
            ExprKind::Match { scrutinee, arms } => {
                leaf(prog, ir, scrutinee) && all(&mut arms.iter().map(|a| &a.body))
            }
            ExprKind::Block(b) => block(b),
        }
    }
    def.body
        .as_ref()
        .is_some_and(|b| leaf(prog, prog.ir_of(r), b))
}

impl<'a, 'p> Fx<'a, 'p> {
    /// A call; in tail position (direct or through a function value) a `return_call`.
    pub(super) fn call(&mut self, f: &Expr, a: &[Expr], span: Span, tail: bool) -> Vv {
        let res = self.ir.res(f);
        if matches!(f.kind, ExprKind::Path(_)) {
            if let Res::Fn(r) | Res::Builtin(r) = res {
                if a.len() == 1 && self.is_builtin(r, "list", "len") {
                    return self.list_len_inline(&a[0], span);
                }
                if a.len() == 2 && self.is_builtin(r, "list", "push") {
                    let l = self.expr(&a[0], false);
                    let x = self.expr(&a[1], false);
                    return self.list_push_inline(l, x, span);
                }
                let vals: Vec<Vv> = a.iter().map(|x| self.expr(x, false)).collect();
                return self.call_fn(r, &vals, span, tail);
            }
            if let Some((vid, _)) = self.variant_of(res) {
                let vals: Vec<Vv> = a.iter().map(|x| self.expr(x, false)).collect();
                return self.make(TAG_VARIANT, vid, &vals);
            }
        }
        let callee = self.expr(f, false);
        let vals: Vec<Vv> = a.iter().map(|x| self.expr(x, false)).collect();
        let l = self.loc(f.span);
        let code = self.rt("chor_rt_func_code", &[callee.t, callee.b, l], 1)[0];
        let sig = self.b.import_signature(tail_sig(0, vals.len()));
        if tail {
            // The code address outlives the function value (code is static).
            self.dec(callee);
            self.drop_all();
            self.b
                .ins()
                .return_call_indirect(sig, code, &Self::flat(&vals));
            let blk = self.b.create_block();
            self.b.switch_to_block(blk);
            self.b.seal_block(blk);
            return self.unit();
        }
        self.check_before_call();
        let call = self.b.ins().call_indirect(sig, code, &Self::flat(&vals));
        let res = self.b.inst_results(call);
        let r = Vv {
            t: res[0],
            b: res[1],
        };
        self.dec(callee);
        r
    }

    /// A direct call of a local function (or a builtin) with evaluated arguments.
    pub(super) fn call_fn(&mut self, r: ItemRef, vals: &[Vv], span: Span, tail: bool) -> Vv {
        let prog = self.cg.prog;
        let Some(def) = prog.fn_def(r) else {
            self.fault("unknown function", span);
            return self.unit();
        };
        if def.is_extern() {
            if let Some(v) = self.call_extern_direct(def, vals, span) {
                return v;
            }
            return self.call_extern(&def.name.name, vals, span);
        }
        if def.body.is_none() {
            let module = prog.module_of(r);
            let Some((sym, n)) = chor_runtime::rt::ffi::builtin_symbol(module, &def.name.name)
            else {
                self.fault(
                    &format!("no implementation of builtin `{}`", def.name.name),
                    span,
                );
                return self.unit();
            };
            let mut words = Self::flat(&vals[..n.min(vals.len())]);
            words.push(self.loc(span));
            let v = self.rt_v(sym, &words);
            if sym == "chor_b_panic" {
                self.dead();
            }
            return v;
        }
        if prog.module_of(r).is_some() && chor_check::stdlib::by_file(span.file).is_none() {
            self.record_user_site(span);
        }
        // A small leaf is inlined at any depth: it calls nothing that would be inlined in
        // turn, so the code it adds stays within `INLINE_MAX` nodes per call site.
        let mut v = if !tail
            && inline_size(def).is_some_and(|n| n <= INLINE_MAX)
            && (self.inline_depth < INLINE_DEPTH || self.cg.is_leaf(r))
        {
            self.inline_call(r, def, vals)
        } else if let Some(v) = tail.then(|| self.self_tail_jump(r, vals)).flatten() {
            v
        } else {
            let id = self.cg.fn_id(r);
            let words = arg_words(&param_tags(def), vals);
            let checked = self.checked;
            if !tail && self.cg.is_leaf(r) {
                // No stack check before a leaf (see `is_leaf`); what this path checked stays.
                self.checked = true;
            }
            let v = self.call_gen(id, &words, tail);
            self.checked = checked;
            v
        };
        // A declared `-> Int` (or Bool, Float, ()) fixes the result's tag: later checks fold.
        let ret = match &def.ret {
            Some(t) => static_tag(t, &def.generics),
            None => Some(TAG_UNIT),
        };
        if let Some(tag) = ret {
            v.t = self.tag(tag);
        }
        v
    }

    /// A call of an `extern fn`: the runtime passes the argument tuple to the glue's entry.
    fn call_extern(&mut self, name: &str, vals: &[Vv], span: Span) -> Vv {
        let args = if vals.is_empty() {
            self.unit()
        } else {
            self.make(TAG_TUPLE, 0, vals)
        };
        let entry = self.cg.glue_func(&format!("chor_x_{name}"), 4, 1);
        let free = self.cg.glue_func("chor_x_free", 2, 0);
        let fe = self.fref(entry);
        let e = self.b.ins().func_addr(I64, fe);
        let ff = self.fref(free);
        let f = self.b.ins().func_addr(I64, ff);
        let l = self.loc(span);
        self.rt_v("chor_rt_extern", &[e, f, args.t, args.b, l])
    }

    /// The body of a small local function lowered in place of a (non-tail) call of it: its
    /// parameters are bound to the arguments (owned, as in a call) in a scope of their own,
    /// with the function's module, generic parameters and last uses; its variables are dropped
    /// at the end, as its return would.
    pub(super) fn inline_call(&mut self, r: ItemRef, def: &FnDef, vals: &[Vv]) -> Vv {
        let Some(body) = &def.body else {
            return self.unit();
        };
        let prog = self.cg.prog;
        let moves = compute_fn_moves(prog, r, def);
        self.moves.extend(moves);
        let owner = self.owner.replace(r);
        let ir = std::mem::replace(&mut self.ir, prog.ir_of(r));
        let generics = std::mem::replace(&mut self.generics, def.generics.clone());
        let base = std::mem::replace(&mut self.scope_base, self.scope.len());
        let mark = self.scope.len();
        for (k, (p, v)) in def.params.iter().zip(vals).enumerate() {
            let ty = self.ir.params.get(k).cloned();
            self.bind_typed(&p.name.name, *v, ty);
        }
        let was = self.inlining;
        self.inlining = true;
        self.inline_depth += 1;
        let v = self.expr(body, false);
        self.inline_depth -= 1;
        self.inlining = was;
        self.pop_to(mark);
        self.scope_base = base;
        self.generics = generics;
        self.ir = ir;
        self.owner = owner;
        v
    }

    pub(super) fn struct_lit(&mut self, e: &Expr, name: &Path, fields: &[FieldInit]) -> Vv {
        let prog = self.cg.prog;
        let Res::Struct(r) = self.ir.res(e) else {
            self.fault(&format!("unknown struct `{}`", name.text()), e.span);
            return self.unit();
        };
        let Some(def) = prog.struct_def(r) else {
            return self.unit();
        };
        let q = chor_check::QualName {
            module: prog.module_of(r).map(str::to_owned),
            name: def.name.name.clone(),
        };
        let sid = self.cg.struct_ids.get(&q.to_string()).copied().unwrap_or(0);
        let mut vals: Vec<Option<Vv>> = vec![None; def.fields.len()];
        for f in fields {
            let v = self.expr(&f.value, false);
            match def.fields.iter().position(|d| d.name.name == f.name.name) {
                Some(i) => {
                    if let Some(old) = vals[i].replace(v) {
                        self.dec(old);
                    }
                }
                None => self.dec(v),
            }
        }
        let vals: Vec<Vv> = vals
            .into_iter()
            .map(|v| v.unwrap_or_else(|| self.unit()))
            .collect();
        self.make(TAG_STRUCT, sid, &vals)
    }
}
