//! Expressions: the dispatch over expression kinds, literals and paths.

use super::*;

impl<'a, 'p> Fx<'a, 'p> {
    pub fn expr(&mut self, e: &Expr, tail: bool) -> Vv {
        match &e.kind {
            ExprKind::Lit(l) => match self.member_lit(e) {
                Some(v) => v,
                None => self.lit(l),
            },
            ExprKind::Path(p) => self.path(p, e),
            ExprKind::Unary(op, x) => {
                let v = self.expr(x, false);
                match op {
                    UnOp::Not => {
                        let b = self.b.ins().bxor_imm_s(v.b, 1);
                        Vv { t: v.t, b }
                    }
                    UnOp::Neg => self.neg(v, e.span),
                }
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b, e.span),
            ExprKind::Call(f, a) => self.call(f, a, e.span, tail),
            ExprKind::Field(x, name) => {
                let v = self.expr(x, false);
                let l = self.loc(name.span);
                // The field's place in its struct, as the checker resolved it.
                match self.ir.res(e) {
                    Res::Field { index: i, .. } => {
                        let i = self.iconst(i as i64);
                        self.rt_v("chor_rt_field", &[v.t, v.b, i, l])
                    }
                    _ => {
                        let (p, n) = self.bytes(&name.name);
                        self.rt_v("chor_rt_field_named", &[v.t, v.b, p, n, l])
                    }
                }
            }
            ExprKind::TupleIndex(x, i, sp) => {
                let v = self.expr(x, false);
                let l = self.loc(*sp);
                let i = self.iconst(*i as i64);
                self.rt_v("chor_rt_field", &[v.t, v.b, i, l])
            }
            ExprKind::Tuple(items) => {
                if items.is_empty() {
                    return self.unit();
                }
                let vals: Vec<Vv> = items.iter().map(|x| self.expr(x, false)).collect();
                self.make(TAG_TUPLE, 0, &vals)
            }
            ExprKind::List(items) if items.is_empty() => {
                let v = self.rt_v("chor_rt_list_empty", &[]);
                Vv {
                    t: self.tag(TAG_LIST),
                    b: v.b,
                }
            }
            ExprKind::List(items) => {
                let vals: Vec<Vv> = items.iter().map(|x| self.expr(x, false)).collect();
                self.make(TAG_LIST, 0, &vals)
            }
            ExprKind::StructLit { name, fields } => self.struct_lit(e, name, fields),
            ExprKind::If { cond, then, els } => {
                let c = self.expr(cond, false);
                let tb = self.b.create_block();
                let eb = self.b.create_block();
                let merge = self.b.create_block();
                let rt = self.b.append_block_param(merge, I64);
                let rb = self.b.append_block_param(merge, I64);
                self.b.ins().brif(c.b, tb, &[], eb, &[]);
                self.b.switch_to_block(tb);
                self.b.seal_block(tb);
                let (yes, no) = (self.cond_facts(cond, true), self.cond_facts(cond, false));
                let v = self.with_facts(yes, |fx| fx.branch(|fx| fx.block(then, tail)));
                self.b.ins().jump(merge, &args(&[v.t, v.b]));
                self.b.switch_to_block(eb);
                self.b.seal_block(eb);
                let v = match els {
                    Some(x) => self.with_facts(no, |fx| fx.branch(|fx| fx.expr(x, tail))),
                    None => self.unit(),
                };
                self.b.ins().jump(merge, &args(&[v.t, v.b]));
                self.b.switch_to_block(merge);
                self.b.seal_block(merge);
                Vv { t: rt, b: rb }
            }
            ExprKind::Match { scrutinee, arms } => {
                let pats: Vec<&Pattern> = arms.iter().map(|a| &a.pat).collect();
                let opt = self.option_match(scrutinee, &pats);
                let s = self.scrutinee(scrutinee, opt);
                let mark = self.scope.len();
                self.bind("", s);
                let merge = self.b.create_block();
                let rt = self.b.append_block_param(merge, I64);
                let rb = self.b.append_block_param(merge, I64);
                for arm in arms {
                    let s = self.local_value(mark);
                    let fail = self.b.create_block();
                    self.arm_test(&arm.pat, s, fail, opt);
                    let inner = self.scope.len();
                    self.arm_bind(&arm.pat, s, opt, mark);
                    let facts = match (&arm.pat.kind, opt) {
                        (PatternKind::Variant { .. }, Some(o)) if o.list => {
                            self.index_fact(scrutinee)
                        }
                        _ => Vec::new(),
                    };
                    let v = self.with_facts(facts, |fx| fx.branch(|fx| fx.expr(&arm.body, tail)));
                    self.pop_to(inner);
                    self.b.ins().jump(merge, &args(&[v.t, v.b]));
                    self.b.switch_to_block(fail);
                    self.b.seal_block(fail);
                }
                let s = self.local_value(mark);
                self.fault_nomatch(s, 0, scrutinee.span, merge);
                self.pop_to(mark);
                Vv { t: rt, b: rb }
            }
            ExprKind::Block(b) => self.block(b, tail),
            ExprKind::Return(x) => {
                let v = match x {
                    Some(x) => self.expr(x, false),
                    None => self.unit(),
                };
                self.ret(v);
                self.unit()
            }
            ExprKind::Located(..) | ExprKind::Error => {
                self.fault("this expression cannot run", e.span);
                self.unit()
            }
        }
    }

    pub(super) fn lit(&mut self, l: &Lit) -> Vv {
        match l {
            Lit::Int(i) => self.vv_const(TAG_INT, *i),
            Lit::Float(x) => self.vv_const(TAG_FLOAT, x.to_bits() as i64),
            Lit::Bool(b) => self.vv_const(TAG_BOOL, *b as i64),
            Lit::Unit => self.unit(),
            Lit::Str(s) => self.str_lit(s),
        }
    }

    /// A string literal: made once, kept in a per-literal slot that holds one reference
    /// forever; each evaluation adds a reference.
    pub(super) fn str_lit(&mut self, s: &str) -> Vv {
        let slot = self.cg.literal_slot(s);
        let gv = self.cg.module.declare_data_in_func(slot, self.b.func);
        let addr = self.b.ins().symbol_value(I64, gv);
        let flags = MemFlagsData::trusted();
        let b0 = self.b.ins().load(I64, flags, addr, 8);
        let have = self.b.create_block();
        let make = self.b.create_block();
        let merge = self.b.create_block();
        let rb = self.b.append_block_param(merge, I64);
        self.b.ins().brif(b0, have, &[], make, &[]);
        self.b.switch_to_block(make);
        self.b.seal_block(make);
        let (p, n) = self.bytes(s);
        let v = self.rt_v("chor_rt_str", &[p, n]);
        self.b.ins().store(flags, v.b, addr, 8);
        self.b.ins().jump(merge, &args(&[v.b]));
        self.b.switch_to_block(have);
        self.b.seal_block(have);
        self.b.ins().jump(merge, &args(&[b0]));
        self.b.switch_to_block(merge);
        self.b.seal_block(merge);
        let t = self.tag(TAG_STR);
        let v = Vv { t, b: rb };
        self.inc(v);
        v
    }

    pub(super) fn path(&mut self, p: &Path, e: &Expr) -> Vv {
        let res = self.ir.res(e);
        if res.binding().is_some()
            && let Some(i) = self.lookup(&p.last().name)
        {
            let v = self.local_value(i);
            if self.moves_out(e) {
                self.moved_out(i, v);
            } else {
                self.inc(v);
            }
            return v;
        }
        let prog = self.cg.prog;
        if let Res::Fn(r) | Res::Builtin(r) = res
            && let Some(def) = prog.fn_def(r)
        {
            let id = self.cg.fn_value_code(r);
            let fr = self.fref(id);
            let code = self.b.ins().func_addr(I64, fr);
            let zero = self.iconst(0);
            let (mp, ml) = self.bytes(prog.module_of(r).unwrap_or(""));
            let (np, nl) = self.bytes(&def.name.name);
            return self.rt_v("chor_rt_make_func", &[code, zero, mp, ml, np, nl]);
        }
        if let Some((vid, arity)) = self.variant_of(res) {
            if arity == 0 {
                return self.make(TAG_VARIANT, vid, &[]);
            }
            let id = self.cg.ctor_code(&p.last().name);
            let fr = self.fref(id);
            let code = self.b.ins().func_addr(I64, fr);
            let one = self.iconst(1);
            let (mp, ml) = self.bytes("");
            let (np, nl) = self.bytes(&p.last().name);
            return self.rt_v("chor_rt_make_func", &[code, one, mp, ml, np, nl]);
        }
        self.fault(&format!("`{}` is not defined here", p.text()), e.span);
        self.unit()
    }
}
