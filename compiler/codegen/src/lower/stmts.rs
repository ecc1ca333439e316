//! Statements: blocks of local code and the statements of projected procedures (messages,
//! selections, branches, procedure calls).

use super::*;

impl<'a, 'p> Fx<'a, 'p> {
    pub(super) fn block(&mut self, b: &Block, tail: bool) -> Vv {
        let mark = self.scope.len();
        let m = if b.stmts.len() > 1 {
            last_mentions_block(b, self.ir)
        } else {
            LastMentions::default()
        };
        for (k, s) in b.stmts.iter().enumerate() {
            let bound = self.scope.len();
            match s {
                Stmt::Let {
                    pat, value, span, ..
                } => {
                    let v = self.expr(value, false);
                    if let PatternKind::Ident(id) = &pat.kind
                        && self.nullary_variant(pat).is_none()
                    {
                        let ty = self.binding_type(pat.id);
                        self.bind_typed(&id.name, v, ty);
                    } else {
                        self.let_pat(pat, v, *span);
                    }
                }
                Stmt::Expr(x) => {
                    let v = self.expr(x, false);
                    self.dec(v);
                }
                Stmt::Error(sp) => self.fault("this statement has a syntax error", *sp),
            }
            if b.stmts.len() > 1 {
                self.drop_dead(mark, bound, k, &m);
            }
        }
        let v = match &b.tail {
            Some(t) => self.expr(t, tail),
            None => self.unit(),
        };
        self.pop_to(mark);
        v
    }

    /// In a procedure of a class of alike members of a family: the member index, and the role
    /// number of every peer the body names relative to it (`Ws[(i + 1) % 4]`), computed once
    /// on entry from the index and the procedure's role parameters, so [`Fx::role`] finds
    /// them by the name the body writes.
    pub(super) fn member_roles(&mut self, key: &ProcKey, p: &LocalProc) {
        let idx = self.rt("chor_rt_member_index", &[], 1)[0];
        self.member = Some((key.clone(), idx));
        for (name, form) in chor_project::role_forms(&p.body) {
            // The family's members among the parameters, by their index.
            let mut members: Vec<(usize, Value)> = self
                .roles
                .iter()
                .filter_map(|(r, v)| {
                    let (f, k) = r.split_once('[')?;
                    let k: usize = k.strip_suffix(']')?.parse().ok()?;
                    (f == form.family).then_some((k, *v))
                })
                .collect();
            members.sort_by_key(|(k, _)| *k);
            let n = members.len();
            if n == 0 || members.iter().enumerate().any(|(j, (k, _))| j != *k) {
                continue;
            }
            let ss = self.b.create_sized_stack_slot(StackSlotData::new(
                StackSlotKind::ExplicitSlot,
                (n * 8) as u32,
                3,
            ));
            for (k, v) in &members {
                self.b.ins().stack_store(I64, *v, ss, (k * 8) as i32);
            }
            let mut at = self.b.ins().iadd_imm_s(idx, form.offset);
            if form.wrap.is_some() {
                // The Euclidean remainder by the family's size.
                let r = self.b.ins().srem_imm_s(at, n as i64);
                let neg = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, r, 0);
                let up = self.b.ins().iadd_imm_s(r, n as i64);
                at = self.b.ins().select(neg, up, r);
            }
            let off = self.b.ins().imul_imm_s(at, 8);
            let base = self.b.ins().stack_addr(I64, ss, 0);
            let addr = self.b.ins().iadd(base, off);
            let v = self.b.ins().load(I64, MemFlagsData::trusted(), addr, 0);
            self.roles.push((name, v));
        }
    }

    pub(super) fn role(&mut self, name: &str, span: Span) -> Value {
        match self.roles.iter().find(|(n, _)| n == name) {
            Some((_, v)) => *v,
            None => {
                self.fault(&format!("unknown role `{name}`"), span);
                self.iconst(0)
            }
        }
    }

    pub(super) fn stmts(&mut self, ss: &[LStmt], tail: bool) {
        let mark = self.scope.len();
        let n = ss.len();
        // One statement has nothing after it to drop early for.
        let m = if n > 1 {
            last_mentions(ss, self.ir)
        } else {
            LastMentions::default()
        };
        for (k, s) in ss.iter().enumerate() {
            let bound = self.scope.len();
            self.stmt(s, tail && k + 1 == n);
            if n > 1 && k + 1 < n {
                self.drop_dead(mark, bound, k, &m);
            }
        }
        self.pop_to(mark);
    }

    pub(super) fn stmt(&mut self, s: &LStmt, last: bool) {
        match &s.kind {
            LKind::Let { pat, value } => {
                let v = self.expr(value, false);
                self.let_pat(pat, v, s.span);
            }
            LKind::Effect(e) => {
                let v = self.expr(e, false);
                self.dec(v);
            }
            LKind::Send { to, expr } => {
                let v = self.expr(expr, false);
                for r in to {
                    let peer = self.role(r, s.span);
                    let l = self.loc(s.span);
                    self.rt("chor_rt_send", &[peer, v.t, v.b, l], 0);
                }
                self.dec(v);
            }
            LKind::Recv { from, var, ty } => {
                let peer = self.role(from, s.span);
                let ty = self.cg.msg_type(ty);
                let ty = self.iconst(i64::from(ty));
                let l = self.loc(s.span);
                // The runtime checks the value against `ty` before this code sees it.
                let v = self.rt_v("chor_rt_recv", &[peer, ty, l]);
                self.bind(var, v);
            }
            LKind::Select { to, label } => {
                for r in to {
                    let peer = self.role(r, s.span);
                    let (p, n) = self.bytes(label);
                    let l = self.loc(s.span);
                    self.rt("chor_rt_select", &[peer, p, n, l], 0);
                }
            }
            LKind::Branch { from, arms } => {
                let peer = self.role(from, s.span);
                let labels: Vec<&str> = arms.iter().map(|(l, _)| l.as_str()).collect();
                let (p, n) = self.bytes(&labels.join("\t"));
                let l = self.loc(s.span);
                let idx = self.rt("chor_rt_branch", &[peer, p, n, l], 1)[0];
                let merge = self.b.create_block();
                for (i, (_, body)) in arms.iter().enumerate() {
                    let this = self.b.create_block();
                    let next = self.b.create_block();
                    let c = self.b.ins().icmp_imm_s(IntCC::Equal, idx, i as i64);
                    self.b.ins().brif(c, this, &[], next, &[]);
                    self.b.switch_to_block(this);
                    self.b.seal_block(this);
                    self.branch(|fx| fx.stmts(body, last));
                    self.b.ins().jump(merge, &[]);
                    self.b.switch_to_block(next);
                    self.b.seal_block(next);
                }
                self.b.ins().jump(merge, &[]);
                self.b.switch_to_block(merge);
                self.b.seal_block(merge);
            }
            LKind::If {
                cond, then, els, ..
            } => {
                let c = self.expr(cond, false);
                let tb = self.b.create_block();
                let eb = self.b.create_block();
                let merge = self.b.create_block();
                self.b.ins().brif(c.b, tb, &[], eb, &[]);
                self.b.switch_to_block(tb);
                self.b.seal_block(tb);
                self.branch(|fx| fx.stmts(then, last));
                self.b.ins().jump(merge, &[]);
                self.b.switch_to_block(eb);
                self.b.seal_block(eb);
                self.branch(|fx| fx.stmts(els, last));
                self.b.ins().jump(merge, &[]);
                self.b.switch_to_block(merge);
                self.b.seal_block(merge);
            }
            LKind::Match {
                scrutinee, arms, ..
            } => {
                let pats: Vec<&Pattern> = arms.iter().map(|a| &a.0).collect();
                let opt = self.option_match(scrutinee, &pats);
                let v = self.scrutinee(scrutinee, opt);
                let mark = self.scope.len();
                self.bind("", v);
                let merge = self.b.create_block();
                for (pat, body) in arms {
                    let v = self.local_value(mark);
                    let fail = self.b.create_block();
                    self.arm_test(pat, v, fail, opt);
                    let inner = self.scope.len();
                    self.arm_bind(pat, v, opt, mark);
                    self.branch(|fx| fx.stmts(body, last));
                    self.pop_to(inner);
                    self.b.ins().jump(merge, &[]);
                    self.b.switch_to_block(fail);
                    self.b.seal_block(fail);
                }
                let v = self.local_value(mark);
                self.fault_nomatch(v, 0, scrutinee.span, merge);
                self.pop_to(mark);
            }
            LKind::Block(body) => self.stmts(body, last),
            LKind::Call {
                key,
                roles,
                args: a,
                bind,
                ..
            } => {
                let mut words = Vec::new();
                for r in roles {
                    words.push(self.role(r, s.span));
                }
                let vals: Vec<Vv> = a.iter().map(|x| self.expr(x, false)).collect();
                words.extend(Self::flat(&vals));
                let id = self.cg.proc_id(key);
                let tail = last && bind.is_none();
                let v = self.call_gen(id, &words, tail);
                if tail {
                    return;
                }
                match bind {
                    Some(p) => self.let_pat(p, v, s.span),
                    None => self.dec(v),
                }
            }
            LKind::Return(e) => {
                let v = self.expr(e, false);
                self.ret(v);
            }
            LKind::Bind { pats, body } => {
                // Each branch ends with a yield that defines the slots; they start as `()`
                // so that every path defines them (a path that faults never gets here).
                let unit = self.unit();
                let slots: Vec<(Variable, Variable)> = pats
                    .iter()
                    .map(|_| {
                        let (t, b) = (self.b.declare_var(I64), self.b.declare_var(I64));
                        self.b.def_var(t, unit.t);
                        self.b.def_var(b, unit.b);
                        (t, b)
                    })
                    .collect();
                self.yield_slots.push(slots.clone());
                self.stmts(body, false);
                self.yield_slots.pop();
                for (p, (t, b)) in pats.iter().zip(slots) {
                    let v = Vv {
                        t: self.b.use_var(t),
                        b: self.b.use_var(b),
                    };
                    self.let_pat(p, v, s.span);
                }
            }
            LKind::Yield(es) => {
                let vals: Vec<Vv> = es.iter().map(|e| self.expr(e, false)).collect();
                match self.yield_slots.last().cloned() {
                    Some(slots) => {
                        for ((t, b), v) in slots.into_iter().zip(vals) {
                            self.b.def_var(t, v.t);
                            self.b.def_var(b, v.b);
                        }
                    }
                    None => {
                        for v in vals {
                            self.dec(v);
                        }
                    }
                }
            }
        }
    }
}
