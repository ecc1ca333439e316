//! Lowering of one role's projected program and the local functions it reaches to Cranelift
//! IR (`FunctionCx`, called `fx` as in rustc_codegen_cranelift).
//!
//! Every value is two machine words, `(tag, bits)` (see chor-runtime's `rt::val`): `Int`,
//! `Bool`, `Float` and `()` stay unboxed and Int arithmetic and comparisons run inline on a fast
//! path guarded by the tags; everything else calls the value runtime. Ownership is explicit:
//! each variable owns one reference; reading it adds one, except at its last use, where the
//! value moves out and the variable is reset to `()` (so the drop at the end of its scope is a
//! no-op). Every generated function uses the `tail` calling convention so that calls in tail
//! position (`return_call`) run in constant stack: self and mutual tail calls of local
//! functions, and tail calls of choreographic procedures (a server loop).

use crate::Cg;
use crate::moves::{
    LastMentions, Moves, compute_fn_moves, compute_proc_moves, last_mentions, last_mentions_block,
    mentions,
};
use chor_check::ItemRef;
use chor_check::ir::{ItemIr, Res, Type as IrType};
use chor_diagnostics::Span;
use chor_project::{LKind, LStmt, LocalProc, ProcKey};
use chor_runtime::rt::ffi::RC_STRONG;
use chor_runtime::rt::list::{KIND_INTS, LIST_DATA, LIST_KIND, LIST_LEN, LIST_ROOM};
use chor_runtime::rt::val::*;
use chor_syntax::ast::*;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    AbiParam, BlockArg, FuncRef, GlobalValue, GlobalValueData, InstBuilder, MemFlagsData,
    Signature, StackSlotData, StackSlotKind, TrapCode, Value, types::I64,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, Variable};
use cranelift_module::{FuncId, Module};
use std::collections::HashMap;

mod calls;
mod expr;
mod externs;
mod lists;
mod loops;
mod ops;
mod patterns;
mod ranges;
mod scope;
mod signatures;
mod stmts;

pub(crate) use calls::is_leaf;
pub use externs::{Scalar, ScalarSig, scalar_extern};
use signatures::{arg_words, ir_tag, static_tag};
pub use signatures::{
    fn_sig, lower_builtin_wrapper, lower_ctor_wrapper, lower_fn, lower_fn_value_wrapper,
    lower_proc, param_tags, tail_sig,
};

/// A value in registers: its tag and its payload.
#[derive(Debug, Clone, Copy)]
pub struct Vv {
    pub t: Value,
    pub b: Value,
}

/// A `match` on `list::get` / `map::get` lowered without the `Option`.
#[derive(Debug, Clone, Copy)]
struct OptMatch {
    /// `list::get` (else `map::get`).
    list: bool,
    /// The elements' tag, when their declared type fixes it.
    elem: Option<u64>,
}

/// A variable in scope (a hidden temporary has an empty name).
struct Local {
    name: String,
    t: Variable,
    b: Variable,
    /// Dropped already because it is not mentioned again (see [`Fx::drop_dead`]).
    dropped: bool,
}

pub struct Fx<'a, 'p> {
    pub cg: &'a mut Cg<'p>,
    pub b: FunctionBuilder<'a>,
    /// The function or choreography whose code is being lowered, and what the checker
    /// resolved in it (names, types): none in a wrapper.
    owner: Option<ItemRef>,
    ir: &'p ItemIr,
    scope: Vec<Local>,
    roles: Vec<(String, Value)>,
    moves: Moves,
    frefs: HashMap<FuncId, FuncRef>,
    /// One constant per tag, made in the entry block ([`Fx::start`]): a variable that holds the
    /// same tag on every path then has a constant tag after the paths join, and the checks on
    /// it fold.
    tags: Vec<Value>,
    /// The generic parameters of the function being lowered.
    generics: Vec<Ident>,
    /// In a local function: the stack is checked before its first non-tail call on each path
    /// (leaves and tail calls need no check; the frame does not move), naming this location.
    check_at: Option<Span>,
    /// Whether the current path has checked the stack already.
    checked: bool,
    /// Variables below this index belong to the caller of an inlined body: not visible.
    scope_base: usize,
    /// Whether an inlined body is being lowered.
    inlining: bool,
    /// How many inlined bodies the code being lowered is nested in: bodies are inlined up to
    /// [`calls::INLINE_DEPTH`] levels deep.
    inline_depth: u8,
    /// Variables of locals that went out of scope, for reuse: each variable's SSA state grows
    /// with the number of blocks after its first definition, so a fresh pair per binding made
    /// a body with thousands of bindings take quadratic memory.
    free_vars: Vec<(Variable, Variable)>,
    /// In a local function: the loop its self tail calls jump back to.
    self_loop: Option<loops::SelfLoop>,
    /// Ranges of `Int` variables known on the current path (see `ranges.rs`).
    facts: Vec<ranges::Fact>,
    /// For each running conditional expression (`LKind::Bind`), innermost last: the
    /// variables (tag, word) its branches' yields define, one pair per value.
    yield_slots: Vec<Vec<(Variable, Variable)>>,
    /// In a procedure of a class of alike members of a family: its key in the class's
    /// program and the member index (see [`Fx::member_lit`]).
    member: Option<(ProcKey, Value)>,
}

fn args(vs: &[Value]) -> Vec<BlockArg> {
    vs.iter().map(|v| BlockArg::Value(*v)).collect()
}

impl<'a, 'p> Fx<'a, 'p> {
    fn new(
        cg: &'a mut Cg<'p>,
        b: FunctionBuilder<'a>,
        owner: Option<ItemRef>,
        moves: Moves,
    ) -> Self {
        let prog = cg.prog;
        let ir = match owner {
            Some(r) => prog.ir_of(r),
            None => ItemIr::empty(),
        };
        Fx {
            cg,
            b,
            owner,
            ir,
            scope: Vec::new(),
            roles: Vec::new(),
            moves,
            frefs: HashMap::new(),
            tags: Vec::new(),
            generics: Vec::new(),
            check_at: None,
            checked: false,
            scope_base: 0,
            inlining: false,
            inline_depth: 0,
            free_vars: Vec::new(),
            self_loop: None,
            facts: Vec::new(),
            yield_slots: Vec::new(),
            member: None,
        }
    }

    /// Makes the function's entry block and switches to it; returns its parameters.
    fn start(&mut self) -> Vec<Value> {
        let entry = self.b.create_block();
        self.b.append_block_params_for_function_params(entry);
        self.b.switch_to_block(entry);
        self.b.seal_block(entry);
        self.tags = (0..=TAG_FUNC).map(|t| self.iconst(t as i64)).collect();
        self.b.block_params(entry).to_vec()
    }

    /// The constant `tag`.
    fn tag(&mut self, tag: u64) -> Value {
        match self.tags.get(tag as usize) {
            Some(v) => *v,
            None => self.iconst(tag as i64),
        }
    }

    fn fref(&mut self, id: FuncId) -> FuncRef {
        if let Some(r) = self.frefs.get(&id) {
            return *r;
        }
        let r = self.cg.module.declare_func_in_func(id, self.b.func);
        self.frefs.insert(id, r);
        r
    }

    /// Calls a runtime function with word arguments; returns its results. The call is direct
    /// (`call rel32`, not an address loaded from the GOT and called through a register): the
    /// runtime is always linked statically into the role's executable (`chor_driver::link`),
    /// so the callee is in range and cannot be preempted.
    fn rt(&mut self, name: &'static str, a: &[Value], nret: usize) -> Vec<Value> {
        let id = self.cg.rt_func(name, a.len(), nret);
        let r = self.fref(id);
        self.b.func.dfg.ext_funcs[r].colocated = true;
        let call = self.b.ins().call(r, a);
        self.b.inst_results(call).to_vec()
    }

    fn rt_v(&mut self, name: &'static str, a: &[Value]) -> Vv {
        let r = self.rt(name, a, 2);
        Vv { t: r[0], b: r[1] }
    }

    fn iconst(&mut self, x: i64) -> Value {
        self.b.ins().iconst(I64, x)
    }

    /// The value of an `Int` literal that a class of alike members computes as `i + d` from
    /// the member index `i` (only in the procedure's own body, not in inlined functions).
    fn member_lit(&mut self, e: &Expr) -> Option<Vv> {
        let (key, idx) = self.member.as_ref()?;
        if self.inlining || !matches!(e.kind, ExprKind::Lit(Lit::Int(_))) {
            return None;
        }
        let d = *self.cg.class?.lits.get(&(key.clone(), e.id))?;
        let idx = *idx;
        let b = self.b.ins().iadd_imm_s(idx, d);
        Some(Vv {
            t: self.tag(TAG_INT),
            b,
        })
    }

    /// Whether `e` is a literal computed from the member index (so not a known constant).
    fn is_member_lit(&self, e: &Expr) -> bool {
        match (&self.member, self.cg.class) {
            (Some((key, _)), Some(c)) if !self.inlining => {
                c.lits.contains_key(&(key.clone(), e.id))
            }
            _ => false,
        }
    }

    fn vv_const(&mut self, tag: u64, bits: i64) -> Vv {
        Vv {
            t: self.tag(tag),
            b: self.iconst(bits),
        }
    }

    fn unit(&mut self) -> Vv {
        self.vv_const(TAG_UNIT, 0)
    }

    fn loc(&mut self, span: Span) -> Value {
        let l = self.cg.loc(span);
        self.iconst(l as i64)
    }

    /// Address and length of a constant byte string in the object's data.
    fn bytes(&mut self, s: &str) -> (Value, Value) {
        let id = self.cg.data(s.as_bytes());
        let gv = self.cg.module.declare_data_in_func(id, self.b.func);
        let p = self.b.ins().symbol_value(I64, gv);
        let n = self.iconst(s.len() as i64);
        (p, n)
    }

    /// Code after a call that never returns: a trap, then a fresh unreachable block.
    fn dead(&mut self) {
        self.b.ins().trap(TrapCode::unwrap_user(1));
        self.unreachable_block();
    }

    fn unreachable_block(&mut self) {
        let blk = self.b.create_block();
        self.b.switch_to_block(blk);
        self.b.seal_block(blk);
    }

    /// A fault, then a fresh unreachable block for whatever code follows.
    fn fault(&mut self, msg: &str, span: Span) {
        self.fault_stop(msg, span);
        self.unreachable_block();
    }

    /// Stops the role with `msg` when `cond` holds; code after it runs when it does not.
    fn fault_if(&mut self, cond: Value, msg: &str, span: Span) {
        let bad = self.b.create_block();
        let good = self.b.create_block();
        self.b.ins().brif(cond, bad, &[], good, &[]);
        self.b.switch_to_block(bad);
        self.b.seal_block(bad);
        self.fault_stop(msg, span);
        self.b.switch_to_block(good);
        self.b.seal_block(good);
    }

    /// Ends the current block with a fault (no unreachable block follows: the caller switches
    /// to live code, whose variables then see no bogus predecessor).
    fn fault_stop(&mut self, msg: &str, span: Span) {
        let (p, n) = self.bytes(msg);
        let l = self.loc(span);
        self.rt("chor_rt_fault", &[p, n, l], 0);
        self.b.ins().trap(TrapCode::unwrap_user(1));
    }

    /// The constant value of `v`, if it is one.
    fn const_of(&self, v: Value) -> Option<i64> {
        let dfg = &self.b.func.dfg;
        if let cranelift_codegen::ir::ValueDef::Result(inst, _) = dfg.value_def(v)
            && let cranelift_codegen::ir::InstructionData::UnaryImm { imm, .. } = dfg.insts[inst]
        {
            return Some(imm.bits());
        }
        None
    }

    /// Switches to a new block that runs only when `v` is on the heap (reference counted);
    /// returns the block where both paths join (see [`Fx::join`]), or `None` when `v`'s tag
    /// is known not to be a heap tag (nothing to do).
    fn when_heap(&mut self, v: Vv) -> Option<cranelift_codegen::ir::Block> {
        let known = self.const_of(v.t).map(|t| t as u64);
        if known.is_some_and(|t| !(TAG_STR..=TAG_FUNC).contains(&t)) {
            return None;
        }
        let yes = self.b.create_block();
        let done = self.b.create_block();
        if known.is_some() {
            self.b.ins().jump(yes, &[]);
        } else {
            // Heap tags are TAG_STR..=TAG_FUNC (an absent element's TAG_NONE is not).
            let d = self.b.ins().iadd_imm_s(v.t, -(TAG_STR as i64));
            let heap = self.b.ins().icmp_imm_s(
                IntCC::UnsignedLessThanOrEqual,
                d,
                (TAG_FUNC - TAG_STR) as i64,
            );
            self.b.ins().brif(heap, yes, &[], done, &[]);
        }
        self.b.switch_to_block(yes);
        self.b.seal_block(yes);
        Some(done)
    }

    /// Ends the current path with a jump to `done` and continues there.
    fn join(&mut self, done: cranelift_codegen::ir::Block) {
        self.b.ins().jump(done, &[]);
        self.b.switch_to_block(done);
        self.b.seal_block(done);
    }

    /// Adds a reference: the `Rc`'s strong count, inline (see `RC_STRONG`).
    /// The shape of every inline fast path: `cond` chooses between `fast` and `slow`, which
    /// join at a merge block taking `n` words. Each path returns the words it passes on, or
    /// `None` when it ends by itself (a trap). Returns the merge block's parameters; code
    /// continues there.
    fn fast_or_slow(
        &mut self,
        cond: Value,
        n: usize,
        fast: impl FnOnce(&mut Self) -> Option<Vec<Value>>,
        slow: impl FnOnce(&mut Self) -> Option<Vec<Value>>,
    ) -> Vec<Value> {
        let fb = self.b.create_block();
        let sb = self.b.create_block();
        let merge = self.b.create_block();
        let params: Vec<Value> = (0..n)
            .map(|_| self.b.append_block_param(merge, I64))
            .collect();
        self.b.ins().brif(cond, fb, &[], sb, &[]);
        self.b.switch_to_block(fb);
        self.b.seal_block(fb);
        if let Some(words) = fast(self) {
            self.b.ins().jump(merge, &args(&words));
        }
        self.b.switch_to_block(sb);
        self.b.seal_block(sb);
        if let Some(words) = slow(self) {
            self.b.ins().jump(merge, &args(&words));
        }
        self.b.switch_to_block(merge);
        self.b.seal_block(merge);
        params
    }

    fn inc(&mut self, v: Vv) {
        let Some(done) = self.when_heap(v) else {
            return;
        };
        let flags = MemFlagsData::trusted();
        let c = self.b.ins().load(I64, flags, v.b, RC_STRONG);
        let c = self.b.ins().iadd_imm_s(c, 1);
        self.b.ins().store(flags, c, v.b, RC_STRONG);
        self.join(done);
    }

    /// Drops a reference: inline while others remain, through the runtime for the last.
    fn dec(&mut self, v: Vv) {
        let Some(done) = self.when_heap(v) else {
            return;
        };
        let flags = MemFlagsData::trusted();
        let c = self.b.ins().load(I64, flags, v.b, RC_STRONG);
        let last = self.b.ins().icmp_imm_s(IntCC::Equal, c, 1);
        let free = self.b.create_block();
        let keep = self.b.create_block();
        self.b.ins().brif(last, free, &[], keep, &[]);
        self.b.switch_to_block(keep);
        self.b.seal_block(keep);
        let c = self.b.ins().iadd_imm_s(c, -1);
        self.b.ins().store(flags, c, v.b, RC_STRONG);
        self.b.ins().jump(done, &[]);
        self.b.switch_to_block(free);
        self.b.seal_block(free);
        self.rt("chor_rt_dec", &[v.t, v.b], 0);
        self.join(done);
    }

    fn ret(&mut self, v: Vv) {
        self.drop_all();
        self.b.ins().return_(&[v.t, v.b]);
        let blk = self.b.create_block();
        self.b.switch_to_block(blk);
        self.b.seal_block(blk);
    }

    fn flat(vals: &[Vv]) -> Vec<Value> {
        vals.iter().flat_map(|v| [v.t, v.b]).collect()
    }

    /// A call of generated code; in tail position a `return_call` that drops the frame first.
    fn call_gen(&mut self, id: FuncId, a: &[Value], tail: bool) -> Vv {
        let r = self.fref(id);
        if tail {
            self.drop_all();
            self.b.ins().return_call(r, a);
            let blk = self.b.create_block();
            self.b.switch_to_block(blk);
            self.b.seal_block(blk);
            return self.unit();
        }
        self.check_before_call();
        let call = self.b.ins().call(r, a);
        let res = self.b.inst_results(call);
        Vv {
            t: res[0],
            b: res[1],
        }
    }

    /// Stores values in a stack slot (for `chor_rt_make`); returns its address.
    fn spill(&mut self, vals: &[Vv]) -> Value {
        let size = (vals.len().max(1) * 16) as u32;
        let ss = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            size,
            3,
        ));
        for (i, v) in vals.iter().enumerate() {
            self.b.ins().stack_store(I64, v.t, ss, (i * 16) as i32);
            self.b.ins().stack_store(I64, v.b, ss, (i * 16 + 8) as i32);
        }
        self.b.ins().stack_addr(I64, ss, 0)
    }

    fn make(&mut self, tag: u64, id: u32, vals: &[Vv]) -> Vv {
        let p = self.spill(vals);
        let t = self.iconst(tag as i64);
        let i = self.iconst(id as i64);
        let n = self.iconst(vals.len() as i64);
        self.rt_v("chor_rt_make", &[t, i, p, n])
    }

    /// Before a non-tail call of generated code: the stack check, unless this path made it.
    fn check_before_call(&mut self) {
        if let Some(span) = self.check_at
            && !self.checked
        {
            self.stack_check(span);
            self.checked = true;
        }
    }

    /// Lowers the branches of a split in control flow: each starts with what was checked
    /// before it, and after they join only that is known.
    fn branch<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let before = self.checked;
        let r = f(self);
        self.checked = before;
        r
    }

    /// A call from user code into a standard library function (with a body): a fault inside
    /// the library names this call site too, as the interpreters do.
    fn record_user_site(&mut self, span: Span) {
        let l = self.loc(span);
        let id = self.cg.user_site();
        let gv = self.runtime_data(id);
        let addr = self.b.ins().symbol_value(I64, gv);
        self.b.ins().store(MemFlagsData::trusted(), l, addr, 0);
    }

    /// A static of the runtime, addressed relative to the code (`lea` or a load through
    /// `rip`, no GOT entry): the runtime is linked into the same executable, as for [`Fx::rt`].
    fn runtime_data(&mut self, id: cranelift_module::DataId) -> GlobalValue {
        let gv = self.cg.module.declare_data_in_func(id, self.b.func);
        if let GlobalValueData::Symbol { colocated, .. } = &mut self.b.func.global_values[gv] {
            *colocated = true;
        }
        gv
    }

    /// Compares the stack pointer with the runtime's limit: deep non-tail recursion stops
    /// with an error instead of a signal.
    fn stack_check(&mut self, span: Span) {
        let sp = self.b.ins().get_stack_pointer(I64);
        let id = self.cg.stack_limit();
        let gv = self.runtime_data(id);
        let addr = self.b.ins().symbol_value(I64, gv);
        let limit = self.b.ins().load(I64, MemFlagsData::trusted(), addr, 0);
        let low = self.b.ins().icmp(IntCC::UnsignedLessThan, sp, limit);
        let bad = self.b.create_block();
        let ok = self.b.create_block();
        self.b.ins().brif(low, bad, &[], ok, &[]);
        self.b.switch_to_block(bad);
        self.b.seal_block(bad);
        let l = self.loc(span);
        self.rt("chor_rt_stack_overflow", &[l], 0);
        self.b.ins().trap(TrapCode::STACK_OVERFLOW);
        self.b.switch_to_block(ok);
        self.b.seal_block(ok);
    }
}
