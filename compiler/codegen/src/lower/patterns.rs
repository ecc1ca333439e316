//! Patterns: `let` bindings, `match` arms (with the `Option`-free lowering of
//! `list::get`/`map::get` matches), tests and bindings of sub-patterns.

use super::*;

pub(super) fn binds_nothing(p: &Pattern) -> bool {
    matches!(
        p.kind,
        PatternKind::Wild | PatternKind::Lit(_) | PatternKind::Error
    )
}

impl<'a, 'p> Fx<'a, 'p> {
    /// In the current (failure) block: stop the role because no pattern covers `v` (`kind` 0 for
    /// a `match`, 1 for a `let`), then continue emitting code at `then`.
    pub(super) fn fault_nomatch(
        &mut self,
        v: Vv,
        kind: i64,
        span: Span,
        then: cranelift_codegen::ir::Block,
    ) {
        let k = self.iconst(kind);
        let l = self.loc(span);
        self.rt("chor_rt_fault_nomatch", &[v.t, v.b, k, l], 0);
        self.b.ins().trap(TrapCode::unwrap_user(2));
        self.b.switch_to_block(then);
        self.b.seal_block(then);
    }

    /// `let pat = v;` binding an owned value; a refutable pattern that fails is a fault.
    pub(super) fn let_pat(&mut self, pat: &Pattern, v: Vv, span: Span) {
        if let PatternKind::Ident(id) = &pat.kind
            && self.nullary_variant(pat).is_none()
        {
            let ty = self.binding_type(pat.id);
            self.bind_typed(&id.name, v, ty);
            return;
        }
        if matches!(pat.kind, PatternKind::Wild) {
            self.dec(v);
            return;
        }
        let fail = self.b.create_block();
        let ok = self.b.create_block();
        self.pat_test(pat, v, fail);
        self.b.ins().jump(ok, &[]);
        self.b.switch_to_block(fail);
        self.b.seal_block(fail);
        self.fault_nomatch(v, 1, span, ok);
        self.pat_bind(pat, v);
        self.dec(v);
    }

    /// `match list::get(..) / map::get(..)` whose arms are only `Some(p)`, `None` and `_`: the
    /// element is looked up without building an `Option` (a value tagged `TAG_NONE` when
    /// there is none).
    pub(super) fn option_match(&self, scrutinee: &Expr, pats: &[&Pattern]) -> Option<OptMatch> {
        let ExprKind::Call(f, a) = &scrutinee.kind else {
            return None;
        };
        let Res::Builtin(r) = self.ir.res(f) else {
            return None;
        };
        if a.len() != 2 {
            return None;
        }
        let prog = self.cg.prog;
        let def = prog.fn_def(r)?;
        if def.body.is_some() || def.name.name != "get" {
            return None;
        }
        let list = match prog.module_of(r) {
            Some("list") => true,
            Some("map") => false,
            _ => return None,
        };
        let ok = pats.iter().all(|p| match &p.kind {
            PatternKind::Wild => true,
            PatternKind::Ident(id) => id.name == "None" && self.nullary_variant(p).is_some(),
            PatternKind::Variant { name, args } => name.last().name == "Some" && args.len() == 1,
            _ => false,
        });
        ok.then(|| OptMatch {
            list,
            elem: self.elem_tag(&a[0]),
        })
    }

    pub(super) fn scrutinee(&mut self, e: &Expr, opt: Option<OptMatch>) -> Vv {
        let (Some(opt), ExprKind::Call(_, a)) = (opt, &e.kind) else {
            return self.expr(e, false);
        };
        let (x, owned) = self.borrowed(&a[0], &a[1..]);
        let y = self.expr(&a[1], false);
        let l = self.loc(e.span);
        let r = if opt.list {
            self.list_get_inline(x, y, l)
        } else {
            self.rt_v("chor_rt_map_get_b", &[x.t, x.b, y.t, y.b, l])
        };
        if owned {
            self.dec(x);
        }
        r
    }

    pub(super) fn arm_test(
        &mut self,
        pat: &Pattern,
        v: Vv,
        fail: cranelift_codegen::ir::Block,
        opt: Option<OptMatch>,
    ) {
        let Some(opt) = opt else {
            return self.pat_test(pat, v, fail);
        };
        let none = chor_runtime::rt::ffi::TAG_NONE as i64;
        match &pat.kind {
            PatternKind::Variant { args: ps, .. } => {
                let c = self.b.ins().icmp_imm_s(IntCC::NotEqual, v.t, none);
                self.check(c, fail);
                let e = self.with_tag(v, opt.elem);
                self.pat_test(&ps[0], e, fail);
            }
            PatternKind::Ident(_) => {
                let c = self.b.ins().icmp_imm_s(IntCC::Equal, v.t, none);
                self.check(c, fail);
            }
            _ => {}
        }
    }

    /// Binds an arm's variables; for `Some(x)` of an Option-free match, `x` takes over the
    /// element from the match's hidden variable (number `temp` in scope).
    pub(super) fn arm_bind(&mut self, pat: &Pattern, v: Vv, opt: Option<OptMatch>, temp: usize) {
        let Some(opt) = opt else {
            return self.pat_bind(pat, v);
        };
        if let PatternKind::Variant { args: ps, .. } = &pat.kind {
            // The element's declared type may fix its tag (the test above excluded `None`).
            let v = self.with_tag(v, opt.elem);
            if let PatternKind::Ident(id) = &ps[0].kind
                && self.nullary_variant(&ps[0]).is_none()
            {
                self.bind(&id.name, v);
                let unit = self.tag(TAG_UNIT);
                let t = self.scope[temp].t;
                self.b.def_var(t, unit);
                return;
            }
            self.pat_bind(&ps[0], v);
        }
    }

    /// `v` with its tag replaced by `tag`, if given.
    pub(super) fn with_tag(&mut self, v: Vv, tag: Option<u64>) -> Vv {
        match tag {
            Some(t) => Vv {
                t: self.tag(t),
                b: v.b,
            },
            None => v,
        }
    }

    pub(super) fn peek(&mut self, v: Vv, i: usize) -> Vv {
        let i = self.iconst(i as i64);
        self.rt_v("chor_rt_peek", &[v.t, v.b, i])
    }

    pub(super) fn check(&mut self, cond: Value, fail: cranelift_codegen::ir::Block) {
        let next = self.b.create_block();
        self.b.ins().brif(cond, next, &[], fail, &[]);
        self.b.switch_to_block(next);
        self.b.seal_block(next);
    }

    /// Tests `v` (borrowed) against `pat`; jumps to `fail` if it does not match.
    pub(super) fn pat_test(&mut self, pat: &Pattern, v: Vv, fail: cranelift_codegen::ir::Block) {
        match &pat.kind {
            PatternKind::Wild | PatternKind::Error => {}
            PatternKind::Ident(_) => {
                if let Some(vid) = self.nullary_variant(pat) {
                    let got = self.rt("chor_rt_variant_id", &[v.t, v.b], 1)[0];
                    let c = self.b.ins().icmp_imm_s(IntCC::Equal, got, vid as i64);
                    self.check(c, fail);
                }
            }
            PatternKind::Lit(l) => match l {
                Lit::Unit => {}
                Lit::Int(i) => {
                    let t = self.b.ins().icmp_imm_s(IntCC::Equal, v.t, TAG_INT as i64);
                    let c = self.b.ins().icmp_imm_s(IntCC::Equal, v.b, *i);
                    let c = self.b.ins().band(t, c);
                    self.check(c, fail);
                }
                Lit::Bool(x) => {
                    let c = self.b.ins().icmp_imm_s(IntCC::Equal, v.b, *x as i64);
                    self.check(c, fail);
                }
                _ => {
                    let lv = self.lit(l);
                    let c = self.rt("chor_rt_eq_lit", &[v.t, v.b, lv.t, lv.b], 1)[0];
                    self.check(c, fail);
                }
            },
            PatternKind::Tuple(ps) => {
                for (i, p) in ps.iter().enumerate() {
                    let e = self.peek(v, i);
                    self.pat_test(p, e, fail);
                }
            }
            PatternKind::Variant { name, args: ps } => {
                let vid = self
                    .cg
                    .variant_ids
                    .get(&name.last().name)
                    .copied()
                    .unwrap_or(u32::MAX);
                let got = self.rt("chor_rt_variant_id", &[v.t, v.b], 1)[0];
                let c = self.b.ins().icmp_imm_s(IntCC::Equal, got, vid as i64);
                self.check(c, fail);
                for (i, p) in ps.iter().enumerate() {
                    let e = self.peek(v, i);
                    self.pat_test(p, e, fail);
                }
            }
            PatternKind::Struct { fields, .. } => {
                for (i, p) in self.struct_pat_fields(pat, fields) {
                    let e = self.peek(v, i);
                    self.pat_test(p, e, fail);
                }
            }
            PatternKind::List { elems, rest } => {
                let n = self.rt("chor_rt_list_len", &[v.t, v.b], 1)[0];
                let c = match rest {
                    None => self.b.ins().icmp_imm_s(IntCC::Equal, n, elems.len() as i64),
                    Some(_) => self.b.ins().icmp_imm_s(
                        IntCC::UnsignedGreaterThanOrEqual,
                        n,
                        elems.len() as i64,
                    ),
                };
                // A non-list reports u64::MAX: not a match.
                let is_list = self.b.ins().icmp_imm_s(IntCC::NotEqual, n, -1);
                let c = self.b.ins().band(c, is_list);
                self.check(c, fail);
                for (i, p) in elems.iter().enumerate() {
                    let e = self.peek(v, i);
                    self.pat_test(p, e, fail);
                }
            }
        }
    }

    pub(super) fn struct_pat_fields<'e>(
        &self,
        pat: &Pattern,
        fields: &'e [FieldPat],
    ) -> Vec<(usize, &'e Pattern)> {
        let prog = self.cg.prog;
        let def = match self.ir.pat_res(pat) {
            Res::Struct(r) => prog.struct_def(r),
            _ => None,
        };
        fields
            .iter()
            .filter_map(|fp| {
                let i = def?
                    .fields
                    .iter()
                    .position(|d| d.name.name == fp.name.name)?;
                Some((i, &fp.pat))
            })
            .collect()
    }

    /// Binds the variables of a pattern already known to match `v` (borrowed): new references.
    pub(super) fn pat_bind(&mut self, pat: &Pattern, v: Vv) {
        match &pat.kind {
            PatternKind::Wild | PatternKind::Error | PatternKind::Lit(_) => {}
            PatternKind::Ident(id) => {
                if self.nullary_variant(pat).is_none() {
                    self.inc(v);
                    self.bind(&id.name, v);
                }
            }
            PatternKind::Tuple(ps) | PatternKind::Variant { args: ps, .. } => {
                for (i, p) in ps.iter().enumerate() {
                    if binds_nothing(p) {
                        continue;
                    }
                    let e = self.peek(v, i);
                    self.pat_bind(p, e);
                }
            }
            PatternKind::Struct { fields, .. } => {
                for (i, p) in self.struct_pat_fields(pat, fields) {
                    let e = self.peek(v, i);
                    self.pat_bind(p, e);
                }
            }
            PatternKind::List { elems, rest } => {
                for (i, p) in elems.iter().enumerate() {
                    if binds_nothing(p) {
                        continue;
                    }
                    let e = self.peek(v, i);
                    self.pat_bind(p, e);
                }
                if let Some(Some(r)) = rest {
                    let n = self.iconst(elems.len() as i64);
                    let tail = self.rt_v("chor_rt_list_rest", &[v.t, v.b, n]);
                    // The rest is a new list: bind it by value.
                    self.let_pat(r, tail, r.span);
                }
            }
        }
    }
}
