//! Operators: unary and binary operators, with the inline fast path for `Int` operands.

use super::*;

impl<'a, 'p> Fx<'a, 'p> {
    pub(super) fn neg(&mut self, v: Vv, span: Span) -> Vv {
        // A known Int other than the minimum is negated here: `- - - 1` then makes no blocks
        // (each level's join would otherwise feed the next, and the register allocator merges
        // such a chain in quadratic time).
        if self.const_of(v.t) == Some(TAG_INT as i64)
            && let Some(c) = self.const_of(v.b).and_then(i64::checked_neg)
        {
            let b = self.iconst(c);
            return Vv { t: v.t, b };
        }
        let is_int = self.b.ins().icmp_imm_s(IntCC::Equal, v.t, TAG_INT as i64);
        let is_min = self.b.ins().icmp_imm_s(IntCC::Equal, v.b, i64::MIN);
        let not_min = self.b.ins().bxor_imm_s(is_min, 1);
        let fast = self.b.ins().band(is_int, not_min);
        let r = self.fast_or_slow(
            fast,
            2,
            |fx| Some(vec![v.t, fx.b.ins().ineg(v.b)]),
            |fx| {
                let l = fx.loc(span);
                let r = fx.rt_v("chor_rt_neg", &[v.t, v.b, l]);
                Some(vec![r.t, r.b])
            },
        );
        Vv { t: r[0], b: r[1] }
    }

    pub(super) fn binary(&mut self, op: BinOp, a: &Expr, b: &Expr, span: Span) -> Vv {
        if matches!(op, BinOp::And | BinOp::Or) {
            let x = self.expr(a, false);
            let rhs = self.b.create_block();
            let merge = self.b.create_block();
            let rb = self.b.append_block_param(merge, I64);
            let t = self.tag(TAG_BOOL);
            if op == BinOp::And {
                let f = self.iconst(0);
                self.b.ins().brif(x.b, rhs, &[], merge, &args(&[f]));
            } else {
                let tr = self.iconst(1);
                self.b.ins().brif(x.b, merge, &args(&[tr]), rhs, &[]);
            }
            self.b.switch_to_block(rhs);
            self.b.seal_block(rhs);
            let y = self.branch(|fx| fx.expr(b, false));
            self.b.ins().jump(merge, &args(&[y.b]));
            self.b.switch_to_block(merge);
            self.b.seal_block(merge);
            return Vv { t, b: rb };
        }
        if op == BinOp::Concat
            && let ExprKind::Lit(Lit::Str(lit)) = &b.kind
        {
            // `s ++ "literal"`: the runtime appends the literal's bytes (no string made).
            let x = self.expr(a, false);
            let (p, n) = self.bytes(lit);
            let l = self.loc(span);
            return self.rt_v("chor_rt_concat_str", &[x.t, x.b, p, n, l]);
        }
        if let Some(v) = self.add_sub_in_range(op, a, b) {
            return v;
        }
        let x = self.expr(a, false);
        let y = self.expr(b, false);
        self.binop(op, x, y, span)
    }

    pub(super) fn binop(&mut self, op: BinOp, x: Vv, y: Vv, span: Span) -> Vv {
        use BinOp::*;
        let code = match op {
            Add => 0,
            Sub => 1,
            Mul => 2,
            Div => 3,
            Rem => 4,
            Concat => 5,
            Eq => 6,
            Ne => 7,
            Lt => 8,
            Le => 9,
            Gt => 10,
            Ge => 11,
            And | Or => 0,
        };
        let slow_call = |fx: &mut Self| {
            let c = fx.iconst(code);
            let l = fx.loc(span);
            fx.rt_v("chor_rt_binop", &[c, x.t, x.b, y.t, y.b, l])
        };
        if op == Concat {
            return slow_call(self);
        }
        let (kx, ky) = (self.const_of(x.t), self.const_of(y.t));
        let static_fast = match (kx, ky) {
            (Some(a), Some(b)) if matches!(op, Eq | Ne | Lt | Le | Gt | Ge) => {
                a == b && (a as u64) < TAG_FLOAT
            }
            (Some(a), Some(b)) => a as u64 == TAG_INT && b as u64 == TAG_INT,
            _ => false,
        };
        if static_fast {
            let (t, r) = self.fast_op(op, x, y, span);
            return Vv { t, b: r };
        }
        // Fast path: both Ints (arithmetic), or both the same unboxed non-Float (comparison).
        let fast = if matches!(op, Eq | Ne | Lt | Le | Gt | Ge) {
            let same = self.b.ins().icmp(IntCC::Equal, x.t, y.t);
            let small = self
                .b
                .ins()
                .icmp_imm_s(IntCC::UnsignedLessThan, x.t, TAG_FLOAT as i64);
            self.b.ins().band(same, small)
        } else {
            let a = self.b.ins().icmp_imm_s(IntCC::Equal, x.t, TAG_INT as i64);
            let b = self.b.ins().icmp_imm_s(IntCC::Equal, y.t, TAG_INT as i64);
            self.b.ins().band(a, b)
        };
        let r = self.fast_or_slow(
            fast,
            2,
            |fx| {
                let (t, r) = fx.fast_op(op, x, y, span);
                Some(vec![t, r])
            },
            |fx| {
                let s = slow_call(fx);
                Some(vec![s.t, s.b])
            },
        );
        Vv { t: r[0], b: r[1] }
    }

    /// The inline code of an operator on two unboxed values of the same kind.
    pub(super) fn fast_op(&mut self, op: BinOp, x: Vv, y: Vv, span: Span) -> (Value, Value) {
        use BinOp::*;
        match op {
            Eq | Ne | Lt | Le | Gt | Ge => {
                let cc = match op {
                    Eq => IntCC::Equal,
                    Ne => IntCC::NotEqual,
                    Lt => IntCC::SignedLessThan,
                    Le => IntCC::SignedLessThanOrEqual,
                    Gt => IntCC::SignedGreaterThan,
                    _ => IntCC::SignedGreaterThanOrEqual,
                };
                let c = self.b.ins().icmp(cc, x.b, y.b);
                let c = self.b.ins().uextend(I64, c);
                (self.tag(TAG_BOOL), c)
            }
            Add | Sub if self.const_of(y.b).is_some() => {
                // `x ± c`: one comparison of x with the bound that c leaves (no flags).
                let c = self.const_of(y.b).unwrap_or(0);
                let limit = match (op, c) {
                    (_, 0) => None,
                    (Add, c) if c > 0 => Some((IntCC::SignedGreaterThan, i64::MAX - c)),
                    (Add, c) => Some((IntCC::SignedLessThan, i64::MIN - c)),
                    (_, i64::MIN) => Some((IntCC::SignedGreaterThanOrEqual, 0)),
                    (_, c) if c > 0 => Some((IntCC::SignedLessThan, i64::MIN + c)),
                    (_, c) => Some((IntCC::SignedGreaterThan, i64::MAX + c)),
                };
                if let Some((cc, bound)) = limit {
                    let of = self.b.ins().icmp_imm_s(cc, x.b, bound);
                    self.fault_if(of, "integer overflow", span);
                }
                let r = if op == Add {
                    self.b.ins().iadd(x.b, y.b)
                } else {
                    self.b.ins().isub(x.b, y.b)
                };
                (self.tag(TAG_INT), r)
            }
            Add | Sub | Mul => {
                let (r, of) = match op {
                    Add => self.b.ins().sadd_overflow(x.b, y.b),
                    Sub => self.b.ins().ssub_overflow(x.b, y.b),
                    _ => self.b.ins().smul_overflow(x.b, y.b),
                };
                self.fault_if(of, "integer overflow", span);
                (self.tag(TAG_INT), r)
            }
            _ => {
                // Div / Rem: zero divisor and MIN / -1 are faults, as in the interpreter.
                let zero = self.b.ins().icmp_imm_s(IntCC::Equal, y.b, 0);
                self.fault_if(zero, "division by zero", span);
                let m1 = self.b.ins().icmp_imm_s(IntCC::Equal, y.b, -1);
                let mn = self.b.ins().icmp_imm_s(IntCC::Equal, x.b, i64::MIN);
                let of = self.b.ins().band(m1, mn);
                self.fault_if(of, "integer overflow", span);
                let r = if op == Div {
                    self.b.ins().sdiv(x.b, y.b)
                } else {
                    self.b.ins().srem(x.b, y.b)
                };
                (self.tag(TAG_INT), r)
            }
        }
    }
}
