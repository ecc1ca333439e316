//! Inline list paths: `list::len`, `list::get` and `list::push` on a list in the Int form run
//! inline, everything else through the runtime; operands the operation only reads are borrowed.

use super::*;

impl<'a, 'p> Fx<'a, 'p> {
    /// Evaluates an operand that the operation only reads. A variable that the operands
    /// evaluated `later` do not mention is read without a new reference (it stays alive in its
    /// variable); at its last use it is moved out instead. Returns the value and whether the
    /// caller owns it (and drops it after the operation).
    pub(super) fn borrowed(&mut self, e: &Expr, later: &[Expr]) -> (Vv, bool) {
        if let ExprKind::Path(p) = &e.kind
            && self.is_var(e)
            && let Some(i) = self.lookup(&p.last().name)
            && !later.iter().any(|x| mentions(x, &p.last().name, self.ir))
        {
            let v = self.local_value(i);
            if self.moves_out(e) {
                self.moved_out(i, v);
                return (v, true);
            }
            return (v, false);
        }
        (self.expr(e, false), true)
    }

    /// Element `i` of the list `l` (borrowed) as a new reference, or a value tagged
    /// `TAG_NONE`: inline for a list in the Int form, else through the runtime.
    pub(super) fn list_get_inline(&mut self, l: Vv, i: Vv, loc: Value) -> Vv {
        let none = chor_runtime::rt::ffi::TAG_NONE as i64;
        let flags = MemFlagsData::trusted();
        let header = self.b.create_block();
        let ints = self.b.create_block();
        let load = self.b.create_block();
        let slow = self.b.create_block();
        let merge = self.b.create_block();
        let rt = self.b.append_block_param(merge, I64);
        let rb = self.b.append_block_param(merge, I64);
        let is_list = self.b.ins().icmp_imm_s(IntCC::Equal, l.t, TAG_LIST as i64);
        self.b.ins().brif(is_list, header, &[], slow, &[]);
        self.b.switch_to_block(header);
        self.b.seal_block(header);
        let kind = self.b.ins().load(I64, flags, l.b, LIST_KIND);
        let k = self
            .b
            .ins()
            .icmp_imm_s(IntCC::Equal, kind, KIND_INTS as i64);
        let int = self.b.ins().icmp_imm_s(IntCC::Equal, i.t, TAG_INT as i64);
        let c = self.b.ins().band(k, int);
        self.b.ins().brif(c, ints, &[], slow, &[]);
        self.b.switch_to_block(ints);
        self.b.seal_block(ints);
        let len = self.b.ins().load(I64, flags, l.b, LIST_LEN);
        // A negative index is a large unsigned one: out of bounds.
        let inb = self.b.ins().icmp(IntCC::UnsignedLessThan, i.b, len);
        let nt = self.iconst(none);
        let zero = self.iconst(0);
        self.b.ins().brif(inb, load, &[], merge, &args(&[nt, zero]));
        self.b.switch_to_block(load);
        self.b.seal_block(load);
        let data = self.b.ins().load(I64, flags, l.b, LIST_DATA);
        let off = self.b.ins().ishl_imm_s(i.b, 3);
        let addr = self.b.ins().iadd(data, off);
        let x = self.b.ins().load(I64, flags, addr, 0);
        let it = self.tag(TAG_INT);
        self.b.ins().jump(merge, &args(&[it, x]));
        self.b.switch_to_block(slow);
        self.b.seal_block(slow);
        let r = self.rt_v("chor_rt_list_get_b", &[l.t, l.b, i.t, i.b, loc]);
        self.b.ins().jump(merge, &args(&[r.t, r.b]));
        self.b.switch_to_block(merge);
        self.b.seal_block(merge);
        Vv { t: rt, b: rb }
    }

    /// `list::push(l, x)` (both consumed): an `Int` goes straight into a free slot of an
    /// unshared list in the Int form (only that form has free slots in its header); anything
    /// else calls the runtime.
    pub(super) fn list_push_inline(&mut self, l: Vv, x: Vv, span: Span) -> Vv {
        let flags = MemFlagsData::trusted();
        let header = self.b.create_block();
        let store = self.b.create_block();
        let slow = self.b.create_block();
        let merge = self.b.create_block();
        let rb = self.b.append_block_param(merge, I64);
        let is_list = self.b.ins().icmp_imm_s(IntCC::Equal, l.t, TAG_LIST as i64);
        let is_int = self.b.ins().icmp_imm_s(IntCC::Equal, x.t, TAG_INT as i64);
        let c = self.b.ins().band(is_list, is_int);
        self.b.ins().brif(c, header, &[], slow, &[]);
        self.b.switch_to_block(header);
        self.b.seal_block(header);
        // `room` is 0 in the general form: a free slot means the Int form.
        let strong = self.b.ins().load(I64, flags, l.b, RC_STRONG);
        let room = self.b.ins().load(I64, flags, l.b, LIST_ROOM);
        let unshared = self.b.ins().icmp_imm_s(IntCC::Equal, strong, 1);
        let free = self.b.ins().icmp_imm_s(IntCC::NotEqual, room, 0);
        let c = self.b.ins().band(unshared, free);
        self.b.ins().brif(c, store, &[], slow, &[]);
        self.b.switch_to_block(store);
        self.b.seal_block(store);
        let data = self.b.ins().load(I64, flags, l.b, LIST_DATA);
        let len = self.b.ins().load(I64, flags, l.b, LIST_LEN);
        let off = self.b.ins().ishl_imm_s(len, 3);
        let addr = self.b.ins().iadd(data, off);
        self.b.ins().store(flags, x.b, addr, 0);
        let len1 = self.b.ins().iadd_imm_s(len, 1);
        self.b.ins().store(flags, len1, l.b, LIST_LEN);
        let room1 = self.b.ins().iadd_imm_s(room, -1);
        self.b.ins().store(flags, room1, l.b, LIST_ROOM);
        self.b.ins().jump(merge, &args(&[l.b]));
        self.b.switch_to_block(slow);
        self.b.seal_block(slow);
        let loc = self.loc(span);
        let r = self.rt_v("chor_b_list_push", &[l.t, l.b, x.t, x.b, loc]);
        self.b.ins().jump(merge, &args(&[r.b]));
        self.b.switch_to_block(merge);
        self.b.seal_block(merge);
        // The runtime's result is a list too (or the role stopped).
        Vv {
            t: self.tag(TAG_LIST),
            b: rb,
        }
    }

    /// `list::len(e)`: read from the list's header (the list is borrowed).
    pub(super) fn list_len_inline(&mut self, e: &Expr, span: Span) -> Vv {
        let (l, owned) = self.borrowed(e, &[]);
        let is_list = self.b.ins().icmp_imm_s(IntCC::Equal, l.t, TAG_LIST as i64);
        let n = self.fast_or_slow(
            is_list,
            1,
            |fx| {
                let flags = MemFlagsData::trusted();
                Some(vec![fx.b.ins().load(I64, flags, l.b, LIST_LEN)])
            },
            |fx| {
                // Not a list: the runtime reports the fault (it consumes a reference).
                if !owned {
                    fx.inc(l);
                }
                let loc = fx.loc(span);
                fx.rt_v("chor_b_list_len", &[l.t, l.b, loc]);
                fx.b.ins().trap(TrapCode::unwrap_user(1));
                None
            },
        )[0];
        if owned {
            self.dec(l);
        }
        Vv {
            t: self.tag(TAG_INT),
            b: n,
        }
    }

    /// Whether `r` is the `#[builtin]` `module::name`.
    pub(super) fn is_builtin(&self, r: ItemRef, module: &str, name: &str) -> bool {
        let prog = self.cg.prog;
        prog.fn_def(r)
            .is_some_and(|d| d.body.is_none() && d.name.name == name)
            && prog.module_of(r) == Some(module)
    }
}
