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
use chor_diagnostics::Span;
use chor_project::{LKind, LStmt, LocalProc, ProcKey};
use chor_runtime::rt::ffi::RC_STRONG;
use chor_runtime::rt::list::{KIND_INTS, LIST_DATA, LIST_KIND, LIST_LEN, LIST_ROOM};
use chor_runtime::rt::val::*;
use chor_syntax::ast::*;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    AbiParam, BlockArg, FuncRef, InstBuilder, MemFlagsData, Signature, StackSlotData,
    StackSlotKind, TrapCode, Value, types::I64,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, Variable};
use cranelift_module::{FuncId, Module};
use std::collections::HashMap;

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
    /// The declared type (of a parameter, an annotated `let`, a call's declared result).
    ty: Option<Type>,
    /// Dropped already because it is not mentioned again (see [`Fx::drop_dead`]).
    dropped: bool,
}

pub struct Fx<'a, 'p> {
    pub cg: &'a mut Cg<'p>,
    pub b: FunctionBuilder<'a>,
    module: Option<String>,
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
    /// Whether an inlined body is being lowered (bodies are inlined one level deep).
    inlining: bool,
    /// Variables of locals that went out of scope, for reuse: each variable's SSA state grows
    /// with the number of blocks after its first definition, so a fresh pair per binding made
    /// a body with thousands of bindings take quadratic memory.
    free_vars: Vec<(Variable, Variable)>,
}

fn args(vs: &[Value]) -> Vec<BlockArg> {
    vs.iter().map(|v| BlockArg::Value(*v)).collect()
}

/// The tags that the declared types of a local function's parameters fix: such a parameter
/// is passed as one word (its payload).
pub fn param_tags(def: &FnDef) -> Vec<Option<u64>> {
    def.params
        .iter()
        .map(|p| static_tag(&p.ty, &def.generics))
        .collect()
}

/// The signature of a local function: one word per parameter whose tag its type fixes, two
/// for the others; two words back (so that any two functions can tail-call each other).
pub fn fn_sig(tags: &[Option<u64>]) -> Signature {
    let mut s = Signature::new(CallConv::Tail);
    for t in tags {
        s.params.push(AbiParam::new(I64));
        if t.is_none() {
            s.params.push(AbiParam::new(I64));
        }
    }
    s.returns.push(AbiParam::new(I64));
    s.returns.push(AbiParam::new(I64));
    s
}

/// The words of arguments for a function with these parameter tags.
fn arg_words(tags: &[Option<u64>], vals: &[Vv]) -> Vec<Value> {
    let mut words = Vec::new();
    for (i, v) in vals.iter().enumerate() {
        if tags.get(i).copied().flatten().is_none() {
            words.push(v.t);
        }
        words.push(v.b);
    }
    words
}

/// Two-word values from a function's entry parameters (see [`fn_sig`]).
fn entry_vals(fx: &mut Fx<'_, '_>, tags: &[Option<u64>], ps: &[Value]) -> Vec<Vv> {
    let mut k = 0;
    let mut vals = Vec::new();
    for t in tags {
        let v = match t {
            Some(tag) => Vv {
                t: fx.tag(*tag),
                b: ps[k],
            },
            None => {
                k += 1;
                Vv {
                    t: ps[k - 1],
                    b: ps[k],
                }
            }
        };
        k += 1;
        vals.push(v);
    }
    vals
}

/// The signature of generated code: role indices, then two words per value; two words back.
pub fn tail_sig(nroles: usize, nvals: usize) -> Signature {
    let mut s = Signature::new(CallConv::Tail);
    for _ in 0..nroles + 2 * nvals {
        s.params.push(AbiParam::new(I64));
    }
    s.returns.push(AbiParam::new(I64));
    s.returns.push(AbiParam::new(I64));
    s
}

impl<'a, 'p> Fx<'a, 'p> {
    fn new(
        cg: &'a mut Cg<'p>,
        b: FunctionBuilder<'a>,
        module: Option<String>,
        moves: Moves,
    ) -> Self {
        Fx {
            cg,
            b,
            module,
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
            free_vars: Vec::new(),
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

    // ----------------------------------------------------------------------------------------
    // Helpers

    fn fref(&mut self, id: FuncId) -> FuncRef {
        if let Some(r) = self.frefs.get(&id) {
            return *r;
        }
        let r = self.cg.module.declare_func_in_func(id, self.b.func);
        self.frefs.insert(id, r);
        r
    }

    /// Calls a runtime function with word arguments; returns its results.
    fn rt(&mut self, name: &'static str, a: &[Value], nret: usize) -> Vec<Value> {
        let id = self.cg.rt_func(name, a.len(), nret);
        let r = self.fref(id);
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

    fn new_vars(&mut self) -> (Variable, Variable) {
        // A reused variable is defined again before any use (bindings are lowered in order).
        match self.free_vars.pop() {
            Some(v) => v,
            None => (self.b.declare_var(I64), self.b.declare_var(I64)),
        }
    }

    /// Binds `name` to an owned value.
    fn bind(&mut self, name: &str, v: Vv) {
        self.bind_typed(name, v, None);
    }

    /// Binds `name` to an owned value of a declared type: a type with a fixed tag makes the
    /// tag a constant.
    fn bind_typed(&mut self, name: &str, v: Vv, ty: Option<Type>) {
        let (t, b) = self.new_vars();
        let tag = match ty.as_ref().and_then(|ty| static_tag(ty, &self.generics)) {
            Some(tag) => self.tag(tag),
            None => v.t,
        };
        self.b.def_var(t, tag);
        self.b.def_var(b, v.b);
        self.scope.push(Local {
            name: name.to_string(),
            t,
            b,
            ty,
            dropped: false,
        });
    }

    /// The declared type of an expression's value, where a declaration says it: a variable
    /// with a declared type, a call of a function with a declared result (free of its generic
    /// parameters), and `list::push/take/drop/sort/set/insert/remove` of such a list.
    fn decl_type(&self, e: &Expr) -> Option<Type> {
        match &e.kind {
            ExprKind::Path(p) if p.is_single() => {
                let i = self.lookup(&p.last().name)?;
                self.scope[i].ty.clone()
            }
            ExprKind::Call(f, a) => {
                let ExprKind::Path(p) = &f.kind else {
                    return None;
                };
                if self.is_local(p) {
                    return None;
                }
                let prog = self.cg.prog;
                let (_, r) = prog.lookup_fn(self.module.as_deref(), p)?;
                let def = prog.fn_def(r)?;
                if def.body.is_none() {
                    let same = ["push", "take", "drop", "sort", "set", "insert", "remove"]
                        .contains(&def.name.name.as_str());
                    return if same && prog.module_of(r) == Some("list") && !a.is_empty() {
                        self.decl_type(&a[0])
                    } else {
                        None
                    };
                }
                let ret = def.ret.as_ref()?;
                (!type_mentions(ret, &def.generics)).then(|| ret.clone())
            }
            _ => None,
        }
    }

    /// The fixed tag of the elements of a list (or the values of a map) that `e` evaluates
    /// to, from its declared type.
    fn elem_tag(&self, e: &Expr) -> Option<u64> {
        let Some(Type::Named { name, args, .. }) = self.decl_type(e) else {
            return None;
        };
        if !name.is_single() || self.generics.iter().any(|g| g.name == name.last().name) {
            return None;
        }
        match (name.last().name.as_str(), args.as_slice()) {
            ("List", [t]) | ("Map", [_, t]) => static_tag(t, &self.generics),
            _ => None,
        }
    }

    /// In the current (failure) block: stop the role because no pattern covers `v` (`kind` 0 for
    /// a `match`, 1 for a `let`), then continue emitting code at `then`.
    fn fault_nomatch(&mut self, v: Vv, kind: i64, span: Span, then: cranelift_codegen::ir::Block) {
        let k = self.iconst(kind);
        let l = self.loc(span);
        self.rt("chor_rt_fault_nomatch", &[v.t, v.b, k, l], 0);
        self.b.ins().trap(TrapCode::unwrap_user(2));
        self.b.switch_to_block(then);
        self.b.seal_block(then);
    }

    fn local_value(&mut self, i: usize) -> Vv {
        let (t, b) = (self.scope[i].t, self.scope[i].b);
        Vv {
            t: self.b.use_var(t),
            b: self.b.use_var(b),
        }
    }

    /// After moving the value `v` out of variable `i`: the variable holds `()` (its drop is
    /// then a no-op), unless the value is unboxed anyway (a known Int stays a known Int).
    fn moved_out(&mut self, i: usize, v: Vv) {
        if self.const_of(v.t).is_some_and(|t| (t as u64) < TAG_STR) {
            return;
        }
        let unit = self.tag(TAG_UNIT);
        let t = self.scope[i].t;
        self.b.def_var(t, unit);
    }

    /// The variable `name` visible here (an inlined body sees only its own).
    fn lookup(&self, name: &str) -> Option<usize> {
        let base = self.scope_base;
        self.scope[base..]
            .iter()
            .rposition(|l| l.name == name)
            .map(|i| i + base)
    }

    /// Drops the variables bound since `mark` and forgets them.
    fn pop_to(&mut self, mark: usize) {
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
    fn drop_dead(&mut self, mark: usize, bound: usize, k: usize, m: &LastMentions) {
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
    fn drop_all(&mut self) {
        for i in (0..self.scope.len()).rev() {
            if !self.scope[i].dropped {
                let v = self.local_value(i);
                self.dec(v);
            }
        }
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
        let gv = self.cg.module.declare_data_in_func(id, self.b.func);
        let addr = self.b.ins().symbol_value(I64, gv);
        self.b.ins().store(MemFlagsData::trusted(), l, addr, 0);
    }

    /// Compares the stack pointer with the runtime's limit: deep non-tail recursion stops
    /// with an error instead of a signal.
    fn stack_check(&mut self, span: Span) {
        let sp = self.b.ins().get_stack_pointer(I64);
        let id = self.cg.stack_limit();
        let gv = self.cg.module.declare_data_in_func(id, self.b.func);
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

    // ----------------------------------------------------------------------------------------
    // Expressions

    fn is_local(&self, p: &Path) -> bool {
        p.is_single() && self.lookup(&p.last().name).is_some()
    }

    pub fn expr(&mut self, e: &Expr, tail: bool) -> Vv {
        match &e.kind {
            ExprKind::Lit(l) => self.lit(l),
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
                match self.cg.field_index.get(&name.name).copied().flatten() {
                    Some(i) => {
                        let i = self.iconst(i as i64);
                        self.rt_v("chor_rt_field", &[v.t, v.b, i, l])
                    }
                    None => {
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
            ExprKind::List(items) => {
                let vals: Vec<Vv> = items.iter().map(|x| self.expr(x, false)).collect();
                self.make(TAG_LIST, 0, &vals)
            }
            ExprKind::StructLit { name, fields } => self.struct_lit(name, fields, e.span),
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
                let v = self.branch(|fx| fx.block(then, tail));
                self.b.ins().jump(merge, &args(&[v.t, v.b]));
                self.b.switch_to_block(eb);
                self.b.seal_block(eb);
                let v = match els {
                    Some(x) => self.branch(|fx| fx.expr(x, tail)),
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
                    let v = self.branch(|fx| fx.expr(&arm.body, tail));
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

    fn lit(&mut self, l: &Lit) -> Vv {
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
    fn str_lit(&mut self, s: &str) -> Vv {
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

    fn path(&mut self, p: &Path, e: &Expr) -> Vv {
        if p.is_single()
            && let Some(i) = self.lookup(&p.last().name)
        {
            let v = self.local_value(i);
            if self.moves.contains(&(e as *const Expr)) {
                self.moved_out(i, v);
            } else {
                self.inc(v);
            }
            return v;
        }
        let prog = self.cg.prog;
        if let Some((q, r)) = prog.lookup_fn(self.module.as_deref(), p) {
            let id = self.cg.fn_value_code(r);
            let fr = self.fref(id);
            let code = self.b.ins().func_addr(I64, fr);
            let zero = self.iconst(0);
            let (mp, ml) = self.bytes(q.module.as_deref().unwrap_or(""));
            let (np, nl) = self.bytes(&q.name);
            return self.rt_v("chor_rt_make_func", &[code, zero, mp, ml, np, nl]);
        }
        if let Some((_, arity)) = self.cg.variant(&p.last().name) {
            let vid = self.cg.variant_ids[&p.last().name];
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

    fn neg(&mut self, v: Vv, span: Span) -> Vv {
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
        let fb = self.b.create_block();
        let sb = self.b.create_block();
        let merge = self.b.create_block();
        let rt = self.b.append_block_param(merge, I64);
        let rb = self.b.append_block_param(merge, I64);
        self.b.ins().brif(fast, fb, &[], sb, &[]);
        self.b.switch_to_block(fb);
        self.b.seal_block(fb);
        let n = self.b.ins().ineg(v.b);
        self.b.ins().jump(merge, &args(&[v.t, n]));
        self.b.switch_to_block(sb);
        self.b.seal_block(sb);
        let l = self.loc(span);
        let r = self.rt_v("chor_rt_neg", &[v.t, v.b, l]);
        self.b.ins().jump(merge, &args(&[r.t, r.b]));
        self.b.switch_to_block(merge);
        self.b.seal_block(merge);
        Vv { t: rt, b: rb }
    }

    fn binary(&mut self, op: BinOp, a: &Expr, b: &Expr, span: Span) -> Vv {
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
        let x = self.expr(a, false);
        let y = self.expr(b, false);
        self.binop(op, x, y, span)
    }

    fn binop(&mut self, op: BinOp, x: Vv, y: Vv, span: Span) -> Vv {
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
        let fb = self.b.create_block();
        let sb = self.b.create_block();
        let merge = self.b.create_block();
        let rt = self.b.append_block_param(merge, I64);
        let rb = self.b.append_block_param(merge, I64);
        self.b.ins().brif(fast, fb, &[], sb, &[]);
        self.b.switch_to_block(fb);
        self.b.seal_block(fb);
        let (t, r) = self.fast_op(op, x, y, span);
        self.b.ins().jump(merge, &args(&[t, r]));
        self.b.switch_to_block(sb);
        self.b.seal_block(sb);
        let s = slow_call(self);
        self.b.ins().jump(merge, &args(&[s.t, s.b]));
        self.b.switch_to_block(merge);
        self.b.seal_block(merge);
        Vv { t: rt, b: rb }
    }

    /// The inline code of an operator on two unboxed values of the same kind.
    fn fast_op(&mut self, op: BinOp, x: Vv, y: Vv, span: Span) -> (Value, Value) {
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

    /// A call; in tail position (direct or through a function value) a `return_call`.
    fn call(&mut self, f: &Expr, a: &[Expr], span: Span, tail: bool) -> Vv {
        let prog = self.cg.prog;
        if let ExprKind::Path(p) = &f.kind
            && !self.is_local(p)
        {
            if let Some((_, r)) = prog.lookup_fn(self.module.as_deref(), p) {
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
            if let Some((vid, _)) = self.cg.variant(&p.last().name) {
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
    fn call_fn(&mut self, r: ItemRef, vals: &[Vv], span: Span, tail: bool) -> Vv {
        let prog = self.cg.prog;
        let Some(def) = prog.fn_def(r) else {
            self.fault("unknown function", span);
            return self.unit();
        };
        if def.is_extern() {
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
        let mut v = if !tail && !self.inlining && inline_size(def).is_some_and(|n| n <= INLINE_MAX)
        {
            self.inline_call(r, def, vals)
        } else {
            let id = self.cg.fn_id(r);
            let words = arg_words(&param_tags(def), vals);
            self.call_gen(id, &words, tail)
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
    fn inline_call(&mut self, r: ItemRef, def: &FnDef, vals: &[Vv]) -> Vv {
        let Some(body) = &def.body else {
            return self.unit();
        };
        let prog = self.cg.prog;
        let module = prog.module_of(r).map(str::to_owned);
        let moves = compute_fn_moves(prog, module.as_deref(), def);
        self.moves.extend(moves);
        let module = std::mem::replace(&mut self.module, module);
        let generics = std::mem::replace(&mut self.generics, def.generics.clone());
        let base = std::mem::replace(&mut self.scope_base, self.scope.len());
        let mark = self.scope.len();
        for (p, v) in def.params.iter().zip(vals) {
            self.bind_typed(&p.name.name, *v, Some(p.ty.clone()));
        }
        self.inlining = true;
        let v = self.expr(body, false);
        self.inlining = false;
        self.pop_to(mark);
        self.scope_base = base;
        self.generics = generics;
        self.module = module;
        v
    }

    fn struct_lit(&mut self, name: &Path, fields: &[FieldInit], span: Span) -> Vv {
        let prog = self.cg.prog;
        let Some((q, r)) = prog.lookup_struct(self.module.as_deref(), name) else {
            self.fault(&format!("unknown struct `{}`", name.text()), span);
            return self.unit();
        };
        let Some(def) = prog.struct_def(r) else {
            return self.unit();
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

    fn block(&mut self, b: &Block, tail: bool) -> Vv {
        let mark = self.scope.len();
        let m = if b.stmts.len() > 1 {
            last_mentions_block(b)
        } else {
            LastMentions::default()
        };
        for (k, s) in b.stmts.iter().enumerate() {
            let bound = self.scope.len();
            match s {
                Stmt::Let {
                    pat,
                    value,
                    span,
                    ty,
                } => {
                    let v = self.expr(value, false);
                    if let PatternKind::Ident(id) = &pat.kind
                        && self.nullary_variant(&id.name).is_none()
                    {
                        let ty = ty.clone().or_else(|| self.decl_type(value));
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

    // ----------------------------------------------------------------------------------------
    // Patterns

    fn nullary_variant(&self, name: &str) -> Option<u32> {
        match self.cg.variant(name) {
            Some((vid, 0)) => Some(vid),
            _ => None,
        }
    }

    /// `let pat = v;` binding an owned value; a refutable pattern that fails is a fault.
    fn let_pat(&mut self, pat: &Pattern, v: Vv, span: Span) {
        if let PatternKind::Ident(id) = &pat.kind
            && self.nullary_variant(&id.name).is_none()
        {
            self.bind(&id.name, v);
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
    fn option_match(&self, scrutinee: &Expr, pats: &[&Pattern]) -> Option<OptMatch> {
        let ExprKind::Call(f, a) = &scrutinee.kind else {
            return None;
        };
        let ExprKind::Path(p) = &f.kind else {
            return None;
        };
        if a.len() != 2 || self.is_local(p) {
            return None;
        }
        let prog = self.cg.prog;
        let (_, r) = prog.lookup_fn(self.module.as_deref(), p)?;
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
            PatternKind::Ident(id) => id.name == "None" && self.nullary_variant("None").is_some(),
            PatternKind::Variant { name, args } => name.last().name == "Some" && args.len() == 1,
            _ => false,
        });
        ok.then(|| OptMatch {
            list,
            elem: self.elem_tag(&a[0]),
        })
    }

    fn scrutinee(&mut self, e: &Expr, opt: Option<OptMatch>) -> Vv {
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

    /// Evaluates an operand that the operation only reads. A variable that the operands
    /// evaluated `later` do not mention is read without a new reference (it stays alive in its
    /// variable); at its last use it is moved out instead. Returns the value and whether the
    /// caller owns it (and drops it after the operation).
    fn borrowed(&mut self, e: &Expr, later: &[Expr]) -> (Vv, bool) {
        if let ExprKind::Path(p) = &e.kind
            && p.is_single()
            && let Some(i) = self.lookup(&p.last().name)
            && !later.iter().any(|x| mentions(x, &p.last().name))
        {
            let v = self.local_value(i);
            if self.moves.contains(&(e as *const Expr)) {
                self.moved_out(i, v);
                return (v, true);
            }
            return (v, false);
        }
        (self.expr(e, false), true)
    }

    /// Element `i` of the list `l` (borrowed) as a new reference, or a value tagged
    /// `TAG_NONE`: inline for a list in the Int form, else through the runtime.
    fn list_get_inline(&mut self, l: Vv, i: Vv, loc: Value) -> Vv {
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
    /// unshared list in the Int form; anything else calls the runtime.
    fn list_push_inline(&mut self, l: Vv, x: Vv, span: Span) -> Vv {
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
        let strong = self.b.ins().load(I64, flags, l.b, RC_STRONG);
        let kind = self.b.ins().load(I64, flags, l.b, LIST_KIND);
        let room = self.b.ins().load(I64, flags, l.b, LIST_ROOM);
        let unshared = self.b.ins().icmp_imm_s(IntCC::Equal, strong, 1);
        let ints = self
            .b
            .ins()
            .icmp_imm_s(IntCC::Equal, kind, KIND_INTS as i64);
        let free = self.b.ins().icmp_imm_s(IntCC::NotEqual, room, 0);
        let c = self.b.ins().band(unshared, ints);
        let c = self.b.ins().band(c, free);
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
    fn list_len_inline(&mut self, e: &Expr, span: Span) -> Vv {
        let (l, owned) = self.borrowed(e, &[]);
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        let merge = self.b.create_block();
        let n = self.b.append_block_param(merge, I64);
        let is_list = self.b.ins().icmp_imm_s(IntCC::Equal, l.t, TAG_LIST as i64);
        self.b.ins().brif(is_list, fast, &[], slow, &[]);
        self.b.switch_to_block(fast);
        self.b.seal_block(fast);
        let len = self
            .b
            .ins()
            .load(I64, MemFlagsData::trusted(), l.b, LIST_LEN);
        self.b.ins().jump(merge, &args(&[len]));
        self.b.switch_to_block(slow);
        self.b.seal_block(slow);
        // Not a list: the runtime reports the fault (it consumes a reference).
        if !owned {
            self.inc(l);
        }
        let loc = self.loc(span);
        self.rt_v("chor_b_list_len", &[l.t, l.b, loc]);
        self.b.ins().trap(TrapCode::unwrap_user(1));
        self.b.switch_to_block(merge);
        self.b.seal_block(merge);
        if owned {
            self.dec(l);
        }
        Vv {
            t: self.tag(TAG_INT),
            b: n,
        }
    }

    /// Whether `r` is the `#[builtin]` `module::name`.
    fn is_builtin(&self, r: ItemRef, module: &str, name: &str) -> bool {
        let prog = self.cg.prog;
        prog.fn_def(r)
            .is_some_and(|d| d.body.is_none() && d.name.name == name)
            && prog.module_of(r) == Some(module)
    }

    fn arm_test(
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
    fn arm_bind(&mut self, pat: &Pattern, v: Vv, opt: Option<OptMatch>, temp: usize) {
        let Some(opt) = opt else {
            return self.pat_bind(pat, v);
        };
        if let PatternKind::Variant { args: ps, .. } = &pat.kind {
            // The element's declared type may fix its tag (the test above excluded `None`).
            let v = self.with_tag(v, opt.elem);
            if let PatternKind::Ident(id) = &ps[0].kind
                && self.nullary_variant(&id.name).is_none()
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
    fn with_tag(&mut self, v: Vv, tag: Option<u64>) -> Vv {
        match tag {
            Some(t) => Vv {
                t: self.tag(t),
                b: v.b,
            },
            None => v,
        }
    }

    fn peek(&mut self, v: Vv, i: usize) -> Vv {
        let i = self.iconst(i as i64);
        self.rt_v("chor_rt_peek", &[v.t, v.b, i])
    }

    fn check(&mut self, cond: Value, fail: cranelift_codegen::ir::Block) {
        let next = self.b.create_block();
        self.b.ins().brif(cond, next, &[], fail, &[]);
        self.b.switch_to_block(next);
        self.b.seal_block(next);
    }

    /// Tests `v` (borrowed) against `pat`; jumps to `fail` if it does not match.
    fn pat_test(&mut self, pat: &Pattern, v: Vv, fail: cranelift_codegen::ir::Block) {
        match &pat.kind {
            PatternKind::Wild | PatternKind::Error => {}
            PatternKind::Ident(id) => {
                if let Some(vid) = self.nullary_variant(&id.name) {
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
            PatternKind::Struct { name, fields, .. } => {
                for (i, p) in self.struct_pat_fields(name, fields) {
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

    fn struct_pat_fields<'e>(
        &self,
        name: &Path,
        fields: &'e [FieldPat],
    ) -> Vec<(usize, &'e Pattern)> {
        let prog = self.cg.prog;
        let def = prog
            .lookup_struct(self.module.as_deref(), name)
            .and_then(|(_, r)| prog.struct_def(r));
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
    fn pat_bind(&mut self, pat: &Pattern, v: Vv) {
        match &pat.kind {
            PatternKind::Wild | PatternKind::Error | PatternKind::Lit(_) => {}
            PatternKind::Ident(id) => {
                if self.nullary_variant(&id.name).is_none() {
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
            PatternKind::Struct { name, fields, .. } => {
                for (i, p) in self.struct_pat_fields(name, fields) {
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

    // ----------------------------------------------------------------------------------------
    // Local programs

    fn role(&mut self, name: &str, span: Span) -> Value {
        match self.roles.iter().find(|(n, _)| n == name) {
            Some((_, v)) => *v,
            None => {
                self.fault(&format!("unknown role `{name}`"), span);
                self.iconst(0)
            }
        }
    }

    fn stmts(&mut self, ss: &[LStmt], tail: bool) {
        let mark = self.scope.len();
        let n = ss.len();
        // One statement has nothing after it to drop early for.
        let m = if n > 1 {
            last_mentions(ss)
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

    fn stmt(&mut self, s: &LStmt, last: bool) {
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
            LKind::If { cond, then, els } => {
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
            LKind::Match { scrutinee, arms } => {
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
        }
    }
}

/// The tag of every value of a declared type, when the type fixes it: the built-in types
/// (named as the checker resolves them: generic parameters first, then `Int` … `Map`),
/// tuples and function types. Structs and enums are left alone.
fn static_tag(ty: &Type, generics: &[Ident]) -> Option<u64> {
    match ty {
        Type::Named { name, args, .. } if name.is_single() => {
            let n = name.last().name.as_str();
            if generics.iter().any(|g| g.name == n) {
                return None;
            }
            match (n, args.len()) {
                ("Int", 0) => Some(TAG_INT),
                ("Bool", 0) => Some(TAG_BOOL),
                ("Float", 0) => Some(TAG_FLOAT),
                ("String", 0) => Some(TAG_STR),
                ("List", 1) => Some(TAG_LIST),
                ("Map", 2) => Some(TAG_MAP),
                _ => None,
            }
        }
        Type::Tuple { elems, .. } if elems.is_empty() => Some(TAG_UNIT),
        Type::Tuple { .. } => Some(TAG_TUPLE),
        Type::Fn { .. } => Some(TAG_FUNC),
        _ => None,
    }
}

/// Whether a type names any of `generics`.
fn type_mentions(ty: &Type, generics: &[Ident]) -> bool {
    match ty {
        Type::Named { name, args, .. } => {
            (name.is_single() && generics.iter().any(|g| g.name == name.last().name))
                || args.iter().any(|a| type_mentions(a, generics))
        }
        Type::Tuple { elems, .. } => elems.iter().any(|a| type_mentions(a, generics)),
        Type::Fn { params, ret, .. } => {
            params.iter().any(|a| type_mentions(a, generics)) || type_mentions(ret, generics)
        }
        Type::Error(_) => true,
    }
}

/// Bodies of local functions up to this many expression nodes are inlined at non-tail calls.
const INLINE_MAX: usize = 24;

/// The size (expression nodes) of a function's body, if it may be inlined: not a builtin, no
/// `return` (it would leave the caller), nothing that cannot run.
fn inline_size(def: &FnDef) -> Option<usize> {
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

fn binds_nothing(p: &Pattern) -> bool {
    matches!(
        p.kind,
        PatternKind::Wild | PatternKind::Lit(_) | PatternKind::Error
    )
}

/// Lowers a local function with a body.
pub fn lower_fn(cg: &mut Cg<'_>, r: ItemRef, id: FuncId) -> Result<(), String> {
    let prog = cg.prog;
    let Some(def) = prog.fn_def(r) else {
        return Err("unknown function".into());
    };
    let Some(body) = &def.body else {
        return Err("a builtin has no body".into());
    };
    let module = prog.module_of(r).map(str::to_owned);
    let moves = compute_fn_moves(prog, module.as_deref(), def);
    let tags = param_tags(def);
    let sig = fn_sig(&tags);
    let mut func = cranelift_codegen::ir::Function::with_name_signature(
        cranelift_codegen::ir::UserFuncName::user(0, id.as_u32()),
        sig,
    );
    let mut fctx = cranelift_frontend::FunctionBuilderContext::new();
    {
        let b = FunctionBuilder::new(&mut func, &mut fctx);
        let mut fx = Fx::new(cg, b, module, moves);
        let ps = fx.start();
        fx.generics = def.generics.clone();
        fx.check_at = Some(def.name.span);
        let vals = entry_vals(&mut fx, &tags, &ps);
        for (p, v) in def.params.iter().zip(vals) {
            fx.bind_typed(&p.name.name, v, Some(p.ty.clone()));
        }
        let v = fx.expr(body, true);
        fx.ret(v);
        fx.b.ins().trap(TrapCode::unwrap_user(3));
        fx.b.seal_all_blocks();
        let cfg = fx.cg.module.isa().frontend_config();
        fx.b.finalize(cfg);
    }
    cg.define(id, func)
}

/// Lowers a projected choreographic procedure.
pub fn lower_proc(cg: &mut Cg<'_>, key: &ProcKey, p: &LocalProc, id: FuncId) -> Result<(), String> {
    let moves = compute_proc_moves(cg.prog, p);
    let sig = tail_sig(p.roles.len(), p.params.len());
    let mut func = cranelift_codegen::ir::Function::with_name_signature(
        cranelift_codegen::ir::UserFuncName::user(1, id.as_u32()),
        sig,
    );
    let mut fctx = cranelift_frontend::FunctionBuilderContext::new();
    let span = p.body.first().map(|s| s.span).unwrap_or_default();
    {
        let b = FunctionBuilder::new(&mut func, &mut fctx);
        let mut fx = Fx::new(cg, b, None, moves);
        let ps = fx.start();
        fx.stack_check(span);
        let nr = p.roles.len();
        fx.roles = p
            .roles
            .iter()
            .cloned()
            .zip(ps[..nr].iter().copied())
            .collect();
        for (i, name) in p.params.iter().enumerate() {
            fx.bind(
                name,
                Vv {
                    t: ps[nr + 2 * i],
                    b: ps[nr + 2 * i + 1],
                },
            );
        }
        fx.stmts(&p.body, true);
        let u = fx.unit();
        fx.ret(u);
        fx.b.ins().trap(TrapCode::unwrap_user(3));
        fx.b.seal_all_blocks();
        let cfg = fx.cg.module.isa().frontend_config();
        fx.b.finalize(cfg);
    }
    let _ = key;
    cg.define(id, func)
}

/// A `tail` function of `n` parameters whose body is `body` applied to them: the code of a
/// builtin or a variant constructor used as a function value.
fn lower_wrapper<'p>(
    cg: &mut Cg<'p>,
    namespace: u32,
    id: FuncId,
    n: usize,
    body: impl FnOnce(&mut Fx<'_, 'p>, &[Vv]) -> Vv,
) -> Result<(), String> {
    let mut func = cranelift_codegen::ir::Function::with_name_signature(
        cranelift_codegen::ir::UserFuncName::user(namespace, id.as_u32()),
        tail_sig(0, n),
    );
    let mut fctx = cranelift_frontend::FunctionBuilderContext::new();
    {
        let b = FunctionBuilder::new(&mut func, &mut fctx);
        let mut fx = Fx::new(cg, b, None, Moves::default());
        let ps = fx.start();
        let vals: Vec<Vv> = (0..n)
            .map(|i| Vv {
                t: ps[2 * i],
                b: ps[2 * i + 1],
            })
            .collect();
        let v = body(&mut fx, &vals);
        fx.b.ins().return_(&[v.t, v.b]);
        fx.b.seal_all_blocks();
        let cfg = fx.cg.module.isa().frontend_config();
        fx.b.finalize(cfg);
    }
    cg.define(id, func)
}

/// A function value's code for a local function that takes some arguments as one word: a
/// `tail` function with two words per argument that tail-calls it.
pub fn lower_fn_value_wrapper(cg: &mut Cg<'_>, r: ItemRef, id: FuncId) -> Result<(), String> {
    let Some(def) = cg.prog.fn_def(r) else {
        return Err("unknown function".into());
    };
    let n = def.params.len();
    let tags = param_tags(def);
    let target = cg.fn_id(r);
    lower_wrapper(cg, 5, id, n, |fx, vals| {
        let words = arg_words(&tags, vals);
        let fr = fx.fref(target);
        fx.b.ins().return_call(fr, &words);
        let blk = fx.b.create_block();
        fx.b.switch_to_block(blk);
        fx.b.seal_block(blk);
        fx.unit()
    })
}

/// A function value's code for a builtin: a `tail` function that calls the runtime.
pub fn lower_builtin_wrapper(cg: &mut Cg<'_>, r: ItemRef, id: FuncId) -> Result<(), String> {
    let Some(def) = cg.prog.fn_def(r) else {
        return Err("unknown function".into());
    };
    let (n, span) = (def.params.len(), def.name.span);
    lower_wrapper(cg, 2, id, n, |fx, vals| fx.call_fn(r, vals, span, false))
}

/// A function value's code for a variant constructor.
pub fn lower_ctor_wrapper(cg: &mut Cg<'_>, name: &str, id: FuncId) -> Result<(), String> {
    let Some((vid, n)) = cg.variant(name) else {
        return Err(format!("unknown variant {name}"));
    };
    lower_wrapper(cg, 3, id, n, |fx, vals| fx.make(TAG_VARIANT, vid, vals))
}
