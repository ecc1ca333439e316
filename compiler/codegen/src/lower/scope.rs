//! Variables of the function being lowered: binding, lookup, moves out of them, and dropping
//! them when their scope ends or when they are dead; what the checker resolved about them.

use super::*;

impl<'a, 'p> Fx<'a, 'p> {
    pub(super) fn new_vars(&mut self) -> (Variable, Variable) {
        // A reused variable is defined again before any use (bindings are lowered in order).
        match self.free_vars.pop() {
            Some(v) => v,
            None => (self.b.declare_var(I64), self.b.declare_var(I64)),
        }
    }

    /// Binds `name` to an owned value.
    pub(super) fn bind(&mut self, name: &str, v: Vv) {
        self.bind_typed(name, v, None);
    }

    /// Binds `name` to an owned value of a declared type: a type with a fixed tag makes the
    /// tag a constant.
    pub(super) fn bind_typed(&mut self, name: &str, v: Vv, ty: Option<IrType>) {
        let (t, b) = self.new_vars();
        let tag = match ty.as_ref().and_then(ir_tag) {
            Some(tag) => self.tag(tag),
            None => v.t,
        };
        self.b.def_var(t, tag);
        self.b.def_var(b, v.b);
        self.scope.push(Local {
            name: name.to_string(),
            t,
            b,
            dropped: false,
        });
    }

    /// Whether `e` reads a variable (as the checker resolved it).
    pub(super) fn is_var(&self, e: &Expr) -> bool {
        self.ir.res(e).binding().is_some()
    }

    /// Whether the read `e` moves its variable's value out (its last use).
    pub(super) fn moves_out(&self, e: &Expr) -> bool {
        self.owner.is_some_and(|o| self.moves.contains(&(o, e.id)))
    }

    /// The type the checker inferred for a binding (a pattern or receiver), when known.
    pub(super) fn binding_type(&self, id: NodeId) -> Option<IrType> {
        let t = &self.ir.node(id).ty;
        (*t != IrType::Unknown).then(|| t.clone())
    }

    /// The fixed tag of the elements of a list (or the values of a map) that `e` evaluates
    /// to, from its inferred type.
    pub(super) fn elem_tag(&self, e: &Expr) -> Option<u64> {
        match self.ir.ty(e) {
            IrType::List(t) | IrType::Map(_, t) => ir_tag(t),
            _ => None,
        }
    }

    /// A variant's id and arity, as resolved by the checker.
    pub(super) fn variant_of(&self, res: Res) -> Option<(u32, usize)> {
        let Res::Variant {
            enum_item, index, ..
        } = res
        else {
            return None;
        };
        let def = self.cg.prog.enum_def(enum_item)?;
        self.cg
            .variant(&def.variants.get(index as usize)?.name.name)
    }

    /// The id of the nullary variant an identifier pattern names (else it binds a variable).
    pub(super) fn nullary_variant(&self, p: &Pattern) -> Option<u32> {
        match self.ir.pat_res(p) {
            res @ Res::Variant { nullary: true, .. } => self.variant_of(res).map(|(vid, _)| vid),
            _ => None,
        }
    }

    pub(super) fn local_value(&mut self, i: usize) -> Vv {
        let (t, b) = (self.scope[i].t, self.scope[i].b);
        Vv {
            t: self.b.use_var(t),
            b: self.b.use_var(b),
        }
    }

    /// After moving the value `v` out of variable `i`: the variable holds `()` (its drop is
    /// then a no-op), unless the value is unboxed anyway (a known Int stays a known Int).
    pub(super) fn moved_out(&mut self, i: usize, v: Vv) {
        if self.const_of(v.t).is_some_and(|t| (t as u64) < TAG_STR) {
            return;
        }
        let unit = self.tag(TAG_UNIT);
        let t = self.scope[i].t;
        self.b.def_var(t, unit);
    }

    /// The variable `name` visible here (an inlined body sees only its own).
    pub(super) fn lookup(&self, name: &str) -> Option<usize> {
        let base = self.scope_base;
        self.scope[base..]
            .iter()
            .rposition(|l| l.name == name)
            .map(|i| i + base)
    }

    /// Drops the variables bound since `mark` and forgets them.
    pub(super) fn pop_to(&mut self, mark: usize) {
        while self.scope.len() > mark {
            let i = self.scope.len() - 1;
            if !self.scope[i].dropped {
                let v = self.local_value(i);
                self.dec(v);
            }
            if let Some(l) = self.scope.pop() {
                self.free_vars.push((l.t, l.b));
            }
        }
    }

    /// After statement `k` of a list whose variables start at `mark`: drops the variables of
    /// the list that are dead there — not mentioned by a later statement (`ends[k]` names those
    /// mentioned last in statement `k`), or shadowed by a later variable of the same name —
    /// and forgets the ones on top of the scope. `bound` is where statement `k`'s own
    /// variables start. A body of thousands of bindings then keeps few values live.
    pub(super) fn drop_dead(&mut self, mark: usize, bound: usize, k: usize, m: &LastMentions) {
        let mut names: Vec<String> = m.ends.get(k).cloned().unwrap_or_default();
        names.extend(
            self.scope[bound.max(mark)..]
                .iter()
                .filter(|l| !l.name.is_empty())
                .map(|l| l.name.clone()),
        );
        for name in &names {
            let later = m.later(name, k);
            let mut newest = true;
            for i in (mark..self.scope.len()).rev() {
                if self.scope[i].name != *name {
                    continue;
                }
                // The newest binding lives while the name is mentioned later; older ones are
                // shadowed by it.
                let keep = newest && later;
                if !keep && !self.scope[i].dropped {
                    let v = self.local_value(i);
                    self.dec(v);
                    self.scope[i].dropped = true;
                }
                newest = false;
            }
        }
        while self.scope.len() > mark && self.scope.last().is_some_and(|l| l.dropped) {
            if let Some(l) = self.scope.pop() {
                self.free_vars.push((l.t, l.b));
            }
        }
    }

    /// Drops every variable in scope (before a return or a tail call), keeping them in scope
    /// for the (dead) code that follows.
    pub(super) fn drop_all(&mut self) {
        for i in (0..self.scope.len()).rev() {
            if !self.scope[i].dropped {
                let v = self.local_value(i);
                self.dec(v);
            }
        }
    }
}
