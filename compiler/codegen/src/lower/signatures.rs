//! Signatures and entry points: the calling convention of generated functions (which
//! parameters travel as one word), and the lowering of a function, a procedure or a wrapper.

use super::*;

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
pub(super) fn arg_words(tags: &[Option<u64>], vals: &[Vv]) -> Vec<Value> {
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
pub(super) fn entry_vals(fx: &mut Fx<'_, '_>, tags: &[Option<u64>], ps: &[Value]) -> Vec<Vv> {
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

/// The tag of every value of a declared type, when the type fixes it: the built-in types
/// (named as the checker resolves them: generic parameters first, then `Int` … `Map`),
/// tuples and function types. Structs and enums are left alone.
/// The tag every value of an inferred type has, when the type fixes it (as [`static_tag`]).
pub(super) fn ir_tag(ty: &IrType) -> Option<u64> {
    match ty {
        IrType::Int => Some(TAG_INT),
        IrType::Bool => Some(TAG_BOOL),
        IrType::Float => Some(TAG_FLOAT),
        IrType::Str => Some(TAG_STR),
        IrType::List(_) => Some(TAG_LIST),
        IrType::Map(..) => Some(TAG_MAP),
        IrType::Tuple(xs) if xs.is_empty() => Some(TAG_UNIT),
        IrType::Tuple(_) => Some(TAG_TUPLE),
        IrType::Fn(..) => Some(TAG_FUNC),
        IrType::Adt(..) | IrType::Param(_) | IrType::Unknown => None,
    }
}

pub(super) fn static_tag(ty: &Type, generics: &[Ident]) -> Option<u64> {
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

/// Lowers a local function with a body.
pub fn lower_fn(cg: &mut Cg<'_>, r: ItemRef, id: FuncId) -> Result<(), String> {
    let prog = cg.prog;
    let Some(def) = prog.fn_def(r) else {
        return Err("unknown function".into());
    };
    let Some(body) = &def.body else {
        return Err("a builtin has no body".into());
    };
    let moves = compute_fn_moves(prog, r, def);
    let tags = param_tags(def);
    let sig = fn_sig(&tags);
    let mut func = cranelift_codegen::ir::Function::with_name_signature(
        cranelift_codegen::ir::UserFuncName::user(0, id.as_u32()),
        sig,
    );
    let mut fctx = cranelift_frontend::FunctionBuilderContext::new();
    {
        let b = FunctionBuilder::new(&mut func, &mut fctx);
        let mut fx = Fx::new(cg, b, Some(r), moves);
        let ps = fx.start();
        let ps = fx.enter_self_loop(r, &tags, &ps);
        fx.generics = def.generics.clone();
        fx.check_at = Some(def.name.span);
        let vals = entry_vals(&mut fx, &tags, &ps);
        for (k, (p, v)) in def.params.iter().zip(vals).enumerate() {
            let ty = fx.ir.params.get(k).cloned();
            fx.bind_typed(&p.name.name, v, ty);
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
    let owner = cg.prog.chors.get(&key.chor).copied();
    let moves = match owner {
        Some(o) => compute_proc_moves(cg.prog, o, p),
        None => Moves::default(),
    };
    let sig = tail_sig(p.roles.len(), p.params.len());
    let mut func = cranelift_codegen::ir::Function::with_name_signature(
        cranelift_codegen::ir::UserFuncName::user(1, id.as_u32()),
        sig,
    );
    let mut fctx = cranelift_frontend::FunctionBuilderContext::new();
    let span = p.body.first().map(|s| s.span).unwrap_or_default();
    {
        let b = FunctionBuilder::new(&mut func, &mut fctx);
        let mut fx = Fx::new(cg, b, owner, moves);
        let ps = fx.start();
        fx.stack_check(span);
        let nr = p.roles.len();
        fx.roles = p
            .roles
            .iter()
            .cloned()
            .zip(ps[..nr].iter().copied())
            .collect();
        if fx.cg.class.is_some() {
            fx.member_roles(key, p);
        }
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
    cg.define(id, func)
}

/// A `tail` function of `n` parameters whose body is `body` applied to them: the code of a
/// builtin or a variant constructor used as a function value.
pub(super) fn lower_wrapper<'p>(
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
