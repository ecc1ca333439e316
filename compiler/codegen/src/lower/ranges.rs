//! Ranges of `Int` variables known on a path, for cheaper overflow checks: in the branches of
//! `if x < 10` (and `<=`, `>`, `>=`, `==`, `!=`, `!`, `&&` in the then-branch, `||` in the
//! else-branch) against an `Int` literal, and in the `Some` arm of a `match list::get(xs, i)`
//! (a valid index is at least 0 and below the length of a list in memory), the bounds of the
//! variable are known; `x ± c` with a literal `c` that cannot leave the `Int` range there
//! needs no overflow check. Everything else keeps its check, so overflow still faults where
//! it can happen.

use super::*;

/// What a path knows about the `Int` variable in scope slot `slot`: `lo <= x <= hi`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fact {
    slot: usize,
    lo: i64,
    hi: i64,
}

/// The largest length of a list in memory (every element takes at least 8 bytes), so the
/// largest valid index is below it.
const MAX_LIST_LEN: i64 = i64::MAX / 8;

/// The value of an `Int` literal, negated or not.
fn int_lit(e: &Expr) -> Option<i64> {
    match &e.kind {
        ExprKind::Lit(Lit::Int(k)) => Some(*k),
        ExprKind::Unary(UnOp::Neg, x) => match &x.kind {
            ExprKind::Lit(Lit::Int(k)) => k.checked_neg(),
            _ => None,
        },
        _ => None,
    }
}

impl<'a, 'p> Fx<'a, 'p> {
    /// The value of an `Int` literal, unless a class of alike members computes it from the
    /// member index (then it differs from member to member).
    fn known_int(&self, e: &Expr) -> Option<i64> {
        let lit = match &e.kind {
            ExprKind::Unary(UnOp::Neg, x) => x,
            _ => e,
        };
        if self.is_member_lit(lit) {
            return None;
        }
        int_lit(e)
    }

    /// The scope slot of the `Int` variable that `e` reads, if it is one.
    fn int_var_slot(&self, e: &Expr) -> Option<usize> {
        let ExprKind::Path(p) = &e.kind else {
            return None;
        };
        if !self.is_var(e) || *self.ir.ty(e) != IrType::Int {
            return None;
        }
        self.lookup(&p.last().name)
    }

    /// The facts that hold where `cond` evaluated to `truth`.
    pub(super) fn cond_facts(&self, cond: &Expr, truth: bool) -> Vec<Fact> {
        match &cond.kind {
            ExprKind::Unary(UnOp::Not, x) => self.cond_facts(x, !truth),
            ExprKind::Binary(BinOp::And, a, b) if truth => {
                let mut f = self.cond_facts(a, true);
                f.extend(self.cond_facts(b, true));
                f
            }
            ExprKind::Binary(BinOp::Or, a, b) if !truth => {
                let mut f = self.cond_facts(a, false);
                f.extend(self.cond_facts(b, false));
                f
            }
            ExprKind::Binary(op, a, b) => self.compare_fact(*op, a, b, truth).into_iter().collect(),
            _ => Vec::new(),
        }
    }

    /// The fact `x op k` (or `k op x`) gives about the variable `x` when it is `truth`.
    fn compare_fact(&self, op: BinOp, a: &Expr, b: &Expr, truth: bool) -> Option<Fact> {
        use BinOp::*;
        let (slot, op, k) = match (self.int_var_slot(a), self.known_int(b)) {
            (Some(s), Some(k)) => (s, op, k),
            _ => {
                // `k op x` is `x op' k` with the comparison turned around.
                let flipped = match op {
                    Lt => Gt,
                    Le => Ge,
                    Gt => Lt,
                    Ge => Le,
                    Eq | Ne => op,
                    _ => return None,
                };
                (self.int_var_slot(b)?, flipped, self.known_int(a)?)
            }
        };
        let op = match (op, truth) {
            (_, true) => op,
            (Lt, false) => Ge,
            (Le, false) => Gt,
            (Gt, false) => Le,
            (Ge, false) => Lt,
            (Eq, false) => Ne,
            (Ne, false) => Eq,
            _ => return None,
        };
        let (lo, hi) = match op {
            Lt => (i64::MIN, k.checked_sub(1)?),
            Le => (i64::MIN, k),
            Gt => (k.checked_add(1)?, i64::MAX),
            Ge => (k, i64::MAX),
            Eq => (k, k),
            _ => return None,
        };
        Some(Fact { slot, lo, hi })
    }

    /// The fact that the `Some` arm of `match list::get(xs, i)` gives about `i`.
    pub(super) fn index_fact(&self, scrutinee: &Expr) -> Vec<Fact> {
        let ExprKind::Call(_, a) = &scrutinee.kind else {
            return Vec::new();
        };
        a.get(1)
            .and_then(|i| self.int_var_slot(i))
            .map(|slot| Fact {
                slot,
                lo: 0,
                hi: MAX_LIST_LEN - 1,
            })
            .into_iter()
            .collect()
    }

    /// Lowers `f` with `facts` known (they hold on every path through it).
    pub(super) fn with_facts<T>(&mut self, facts: Vec<Fact>, f: impl FnOnce(&mut Self) -> T) -> T {
        let mark = self.facts.len();
        self.facts.extend(facts);
        let r = f(self);
        self.facts.truncate(mark);
        r
    }

    /// The bounds known for the variable in `slot`.
    fn range_of(&self, slot: usize) -> (i64, i64) {
        self.facts
            .iter()
            .filter(|f| f.slot == slot)
            .fold((i64::MIN, i64::MAX), |(lo, hi), f| {
                (lo.max(f.lo), hi.min(f.hi))
            })
    }

    /// `x + c` or `x - c` for an `Int` variable `x` whose known range keeps the result an
    /// `Int`: an add or subtract with no overflow check. `None` when the check is needed.
    pub(super) fn add_sub_in_range(&mut self, op: BinOp, a: &Expr, b: &Expr) -> Option<Vv> {
        if !matches!(op, BinOp::Add | BinOp::Sub) {
            return None;
        }
        let slot = self.int_var_slot(a)?;
        let c = self.known_int(b)?;
        let (lo, hi) = self.range_of(slot);
        let fits = match op {
            BinOp::Add => lo.checked_add(c).is_some() && hi.checked_add(c).is_some(),
            _ => lo.checked_sub(c).is_some() && hi.checked_sub(c).is_some(),
        };
        if !fits {
            return None;
        }
        let x = self.expr(a, false);
        let r = if op == BinOp::Add {
            self.b.ins().iadd_imm_s(x.b, c)
        } else {
            self.b.ins().iadd_imm_s(x.b, c.wrapping_neg())
        };
        Some(Vv {
            t: self.tag(TAG_INT),
            b: r,
        })
    }
}
