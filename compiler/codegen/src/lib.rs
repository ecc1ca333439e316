//! chor-codegen: the native back end. Each role's projected `LocalProgram`, with every local
//! function it reaches, is lowered to Cranelift IR ([`lower`]), emitted as a relocatable
//! object with cranelift-object (`is_pic`). The driver links it with the value and messaging
//! runtime (chor-runtime built as a static library by this crate's build script and embedded
//! in the compiler: [`RUNTIME_LIB`]) into one executable per role; this crate does no I/O.
//!
//! The executable's `main` hands the command line and a description of the program (role,
//! roles, fingerprint, source locations, struct and variant names, the types its receives
//! expect) to `chor_rt_start`, then
//! runs the entry procedure through `chor_rt_run`.

mod lower;
pub use lower::{Scalar, ScalarSig, scalar_extern};
mod moves;

use chor_check::msg_types::{TyNode, TypeTable};
use chor_check::{ItemRef, Program};
use chor_diagnostics::Span;
use chor_project::{FamilyClass, LocalProgram, MsgType, ProcKey};
use cranelift_codegen::ir::{AbiParam, Function, InstBuilder, Signature, types};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{DataDescription, DataId, FuncId, Linkage, Module};
use cranelift_object::{ObjectBuilder, ObjectModule};
use std::collections::HashMap;
use std::sync::Arc;

/// The runtime static library (`libchor_runtime.a`), built at compile time.
pub static RUNTIME_LIB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libchor_runtime.a"));

/// What is still to be lowered.
enum Work {
    Fn(ItemRef, FuncId),
    FnValueWrapper(ItemRef, FuncId),
    BuiltinWrapper(ItemRef, FuncId),
    Ctor(String, FuncId),
}

/// The state of one role's compilation (one object file).
pub struct Cg<'p> {
    pub prog: &'p Program,
    pub module: ObjectModule,
    rt_funcs: HashMap<&'static str, FuncId>,
    fns: HashMap<ItemRef, FuncId>,
    /// Which local functions are leaves (`lower::is_leaf`), as they are asked about.
    leaves: HashMap<ItemRef, bool>,
    wrappers: HashMap<ItemRef, FuncId>,
    value_wrappers: HashMap<ItemRef, FuncId>,
    ctors: HashMap<String, FuncId>,
    procs: HashMap<ProcKey, FuncId>,
    queue: Vec<Work>,
    datas: HashMap<Vec<u8>, DataId>,
    literal_slots: HashMap<String, DataId>,
    stack_limit: Option<DataId>,
    user_site: Option<DataId>,
    locs: Vec<String>,
    loc_ids: HashMap<String, u32>,
    loc_of: &'p dyn Fn(Span) -> String,
    pub struct_ids: HashMap<String, u32>,
    structs: Vec<(String, Vec<String>)>,
    pub variant_ids: HashMap<String, u32>,
    variant_arity: HashMap<String, usize>,
    variants: Vec<String>,
    counter: usize,
    /// The first internal error (a declaration Cranelift refused); lowering stops at the next
    /// function boundary and `compile_role` reports it instead of panicking.
    error: Option<String>,
    /// Each defined function's Cranelift IR as text, when [`RoleInfo::keep_clif`] asks for it.
    clif: Option<Vec<(String, String)>>,
    /// The message types of this role's receives (embedded in the description).
    msg_types: TypeTable,
    /// Where each projection's type table starts in `msg_types`.
    msg_tables: Vec<(Arc<TypeTable>, u32)>,
    /// When compiling the program of a class of alike members of a family: the class, whose
    /// index forms are computed from the member index at run time.
    pub class: Option<&'p FamilyClass>,
}

/// The source position of a span, as a hashable key.
pub fn loc_key(s: Span) -> (u32, u32) {
    (s.file.0, s.start)
}

impl<'p> Cg<'p> {
    /// The index of a receive's type in the role's table of message types.
    pub fn msg_type(&mut self, t: &MsgType) -> u32 {
        if let Some((_, off)) = self
            .msg_tables
            .iter()
            .find(|(a, _)| Arc::ptr_eq(a, &t.table))
        {
            return off + t.id;
        }
        let off = self.msg_types.nodes.len() as u32;
        let shift = |xs: &[u32]| xs.iter().map(|x| x + off).collect::<Vec<_>>();
        for n in &t.table.nodes {
            let n = match n {
                TyNode::Tuple(xs) => TyNode::Tuple(shift(xs)),
                TyNode::List(x) => TyNode::List(x + off),
                TyNode::Map(k, x) => TyNode::Map(k + off, x + off),
                TyNode::Struct {
                    name,
                    shown,
                    fields,
                } => TyNode::Struct {
                    name: name.clone(),
                    shown: shown.clone(),
                    fields: shift(fields),
                },
                TyNode::Enum { shown, variants } => TyNode::Enum {
                    shown: shown.clone(),
                    variants: variants
                        .iter()
                        .map(|(n, ts)| (n.clone(), shift(ts)))
                        .collect(),
                },
                other => other.clone(),
            };
            self.msg_types.push(n);
        }
        self.msg_tables.push((Arc::clone(&t.table), off));
        off + t.id
    }

    fn new(prog: &'p Program, module: ObjectModule, loc_of: &'p dyn Fn(Span) -> String) -> Cg<'p> {
        let mut cg = Cg {
            prog,
            module,
            rt_funcs: HashMap::new(),
            fns: HashMap::new(),
            leaves: HashMap::new(),
            wrappers: HashMap::new(),
            value_wrappers: HashMap::new(),
            ctors: HashMap::new(),
            procs: HashMap::new(),
            queue: Vec::new(),
            datas: HashMap::new(),
            literal_slots: HashMap::new(),
            stack_limit: None,
            user_site: None,
            locs: vec!["an unknown location".into()],
            loc_ids: HashMap::new(),
            loc_of,
            struct_ids: HashMap::new(),
            structs: Vec::new(),
            variant_ids: HashMap::new(),
            variant_arity: HashMap::new(),
            variants: Vec::new(),
            counter: 0,
            error: None,
            clif: None,
            msg_types: TypeTable::default(),
            msg_tables: Vec::new(),
            class: None,
        };
        let mut structs: Vec<_> = prog.structs.iter().collect();
        structs.sort_by_key(|(q, _)| q.to_string());
        for (q, r) in structs {
            let Some(def) = prog.struct_def(*r) else {
                continue;
            };
            let id = cg.structs.len() as u32;
            cg.struct_ids.insert(q.to_string(), id);
            let names: Vec<String> = def.fields.iter().map(|f| f.name.name.clone()).collect();
            cg.structs.push((def.name.name.clone(), names));
        }
        let mut variants: Vec<_> = prog.variants.iter().collect();
        variants.sort_by_key(|(n, _)| n.as_str());
        for (name, (q, vi)) in variants {
            let arity = prog
                .enums
                .get(q)
                .and_then(|r| prog.enum_def(*r))
                .and_then(|d| d.variants.get(*vi))
                .map_or(0, |v| v.fields.len());
            cg.variant_ids
                .insert(name.clone(), cg.variants.len() as u32);
            cg.variant_arity.insert(name.clone(), arity);
            cg.variants.push(name.clone());
        }
        cg
    }

    /// A variant's id and arity.
    pub fn variant(&self, name: &str) -> Option<(u32, usize)> {
        Some((*self.variant_ids.get(name)?, *self.variant_arity.get(name)?))
    }

    fn fresh(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("chor_{what}_{}", self.counter)
    }

    /// Declares the imported function `name` taking `nargs` 64-bit words and returning `nret`
    /// values of type `ret`.
    fn import_words(&mut self, name: &str, nargs: usize, ret: types::Type, nret: usize) -> FuncId {
        let mut sig = self.module.make_signature();
        for _ in 0..nargs {
            sig.params.push(AbiParam::new(types::I64));
        }
        for _ in 0..nret {
            sig.returns.push(AbiParam::new(ret));
        }
        self.module
            .declare_function(name, Linkage::Import, &sig)
            .unwrap_or_else(|e| self.failed(format!("declaring {name}: {e}")))
    }

    /// A function of the project's extern glue (`chor_x_NAME`, `chor_x_free`), imported by name.
    pub fn glue_func(&mut self, name: &str, nargs: usize, nret: usize) -> FuncId {
        self.import_words(name, nargs, types::I32, nret)
    }

    /// A function of the extern glue taking `nargs` words and returning `nret` (a direct
    /// entry, see `lower::scalar_extern`).
    pub fn glue_words(&mut self, name: &str, nargs: usize, nret: usize) -> FuncId {
        self.import_words(name, nargs, types::I64, nret)
    }

    /// A runtime function (C calling convention) taking and returning 64-bit words.
    pub fn rt_func(&mut self, name: &'static str, nargs: usize, nret: usize) -> FuncId {
        if let Some(id) = self.rt_funcs.get(name) {
            return *id;
        }
        let id = self.import_words(name, nargs, types::I64, nret);
        self.rt_funcs.insert(name, id);
        id
    }

    /// Whether the local function `r` calls no generated code (see `lower::is_leaf`).
    pub fn is_leaf(&mut self, r: ItemRef) -> bool {
        let prog = self.prog;
        *self
            .leaves
            .entry(r)
            .or_insert_with(|| prog.fn_def(r).is_some_and(|d| lower::is_leaf(prog, r, d)))
    }

    /// The generated function of a local function with a body.
    pub fn fn_id(&mut self, r: ItemRef) -> FuncId {
        if let Some(id) = self.fns.get(&r) {
            return *id;
        }
        let tags = self
            .prog
            .fn_def(r)
            .map(lower::param_tags)
            .unwrap_or_default();
        let name = self.fresh("fn");
        let id = self
            .module
            .declare_function(&name, Linkage::Local, &lower::fn_sig(&tags))
            .unwrap_or_else(|e| self.failed(format!("declaring {name}: {e}")));
        self.fns.insert(r, id);
        self.queue.push(Work::Fn(r, id));
        id
    }

    /// Code for a function used as a value, which takes two words per argument: the function
    /// itself, or a wrapper (for a builtin, or a function that takes some arguments as one
    /// word).
    pub fn fn_value_code(&mut self, r: ItemRef) -> FuncId {
        if let Some(d) = self.prog.fn_def(r)
            && d.body.is_some()
        {
            if lower::param_tags(d).iter().all(Option::is_none) {
                return self.fn_id(r);
            }
            if let Some(id) = self.value_wrappers.get(&r) {
                return *id;
            }
            let name = self.fresh("fnvalue");
            let id = self
                .module
                .declare_function(&name, Linkage::Local, &lower::tail_sig(0, d.params.len()))
                .unwrap_or_else(|e| self.failed(format!("declaring {name}: {e}")));
            self.value_wrappers.insert(r, id);
            self.queue.push(Work::FnValueWrapper(r, id));
            return id;
        }
        if let Some(id) = self.wrappers.get(&r) {
            return *id;
        }
        let n = self.prog.fn_def(r).map_or(0, |d| d.params.len());
        let name = self.fresh("builtin");
        let id = self
            .module
            .declare_function(&name, Linkage::Local, &lower::tail_sig(0, n))
            .unwrap_or_else(|e| self.failed(format!("declaring {name}: {e}")));
        self.wrappers.insert(r, id);
        self.queue.push(Work::BuiltinWrapper(r, id));
        id
    }

    /// Code for a variant constructor used as a function value.
    pub fn ctor_code(&mut self, variant: &str) -> FuncId {
        if let Some(id) = self.ctors.get(variant) {
            return *id;
        }
        let n = self.variant(variant).map_or(0, |v| v.1);
        let name = self.fresh("ctor");
        let id = self
            .module
            .declare_function(&name, Linkage::Local, &lower::tail_sig(0, n))
            .unwrap_or_else(|e| self.failed(format!("declaring {name}: {e}")));
        self.ctors.insert(variant.to_string(), id);
        self.queue.push(Work::Ctor(variant.to_string(), id));
        id
    }

    pub fn proc_id(&mut self, key: &ProcKey) -> FuncId {
        match self.procs.get(key) {
            Some(id) => *id,
            None => self.failed(format!("procedure {} was not declared", key.chor)),
        }
    }

    /// Read-only bytes in the object (deduplicated).
    pub fn data(&mut self, bytes: &[u8]) -> DataId {
        if let Some(id) = self.datas.get(bytes) {
            return *id;
        }
        let name = self.fresh("data");
        let id = self
            .module
            .declare_data(&name, Linkage::Local, false, false)
            .unwrap_or_else(|e| self.failed(format!("declaring {name}: {e}")));
        let mut d = DataDescription::new();
        let mut b = bytes.to_vec();
        b.push(0);
        d.define(b.into_boxed_slice());
        self.module
            .define_data(id, &d)
            .unwrap_or_else(|e| self.failed(format!("defining {name}: {e}")));
        self.datas.insert(bytes.to_vec(), id);
        id
    }

    /// A writable 16-byte slot (zero at start) that caches a string literal's value.
    pub fn literal_slot(&mut self, s: &str) -> DataId {
        if let Some(id) = self.literal_slots.get(s) {
            return *id;
        }
        let name = self.fresh("lit");
        let id = self
            .module
            .declare_data(&name, Linkage::Local, true, false)
            .unwrap_or_else(|e| self.failed(format!("declaring {name}: {e}")));
        let mut d = DataDescription::new();
        d.define_zeroinit(16);
        d.set_align(8);
        self.module
            .define_data(id, &d)
            .unwrap_or_else(|e| self.failed(format!("defining {name}: {e}")));
        self.literal_slots.insert(s.to_string(), id);
        id
    }

    pub fn stack_limit(&mut self) -> DataId {
        if let Some(id) = self.stack_limit {
            return id;
        }
        let id = self
            .module
            .declare_data("chor_rt_stack_limit", Linkage::Import, true, false)
            .unwrap_or_else(|e| self.failed(format!("declaring the stack limit: {e}")));
        self.stack_limit = Some(id);
        id
    }

    /// The runtime's record of the last call from user code into the standard library (a
    /// location number), which a fault inside the library names as the user's call site.
    pub fn user_site(&mut self) -> DataId {
        if let Some(id) = self.user_site {
            return id;
        }
        let id = self
            .module
            .declare_data("chor_rt_user_site", Linkage::Import, true, false)
            .unwrap_or_else(|e| panic!("declaring the user call site: {e}"));
        self.user_site = Some(id);
        id
    }

    /// The location number of a span ("file:line" in the runtime's table).
    pub fn loc(&mut self, span: Span) -> u32 {
        let text = (self.loc_of)(span);
        if let Some(i) = self.loc_ids.get(&text) {
            return *i;
        }
        let i = self.locs.len() as u32;
        self.locs.push(text.clone());
        self.loc_ids.insert(text, i);
        i
    }

    /// Records an internal error and hands back a placeholder so lowering can reach the next
    /// check of [`Cg::error`] (after the function being lowered) without panicking.
    fn failed<T: Placeholder>(&mut self, message: String) -> T {
        self.error.get_or_insert(message);
        T::placeholder()
    }

    pub fn define(&mut self, id: FuncId, func: Function) -> Result<(), String> {
        if let Some(e) = self.error.take() {
            return Err(format!("internal error in code generation: {e}"));
        }
        if let Some(dump) = &mut self.clif {
            let name = self
                .module
                .declarations()
                .get_function_decl(id)
                .linkage_name(id);
            dump.push((name.into_owned(), func.display().to_string()));
        }
        let mut ctx = cranelift_codegen::Context::for_function(func);
        self.module
            .define_function(id, &mut ctx)
            .map_err(|e| match e {
                cranelift_module::ModuleError::Compilation(
                    cranelift_codegen::CodegenError::Verifier(errors),
                ) => format!(
                    "internal error in code generation: the Cranelift verifier rejected {}:\n{}",
                    self.module
                        .declarations()
                        .get_function_decl(id)
                        .linkage_name(id),
                    cranelift_codegen::print_errors::pretty_verifier_error(&ctx.func, None, errors)
                ),
                e => format!("internal error in code generation: {e:?}"),
            })
    }
}

/// Something [`Cg::failed`] can hand back in place of a declaration it could not make.
trait Placeholder {
    fn placeholder() -> Self;
}

impl Placeholder for FuncId {
    fn placeholder() -> Self {
        FuncId::from_u32(0)
    }
}

impl Placeholder for DataId {
    fn placeholder() -> Self {
        DataId::from_u32(0)
    }
}

impl Placeholder for () {
    fn placeholder() -> Self {}
}

/// What a role executable needs to know besides its local program.
pub struct RoleInfo<'a> {
    /// The roles of `main`, in order (role numbers at run time).
    pub main_roles: &'a [String],
    pub fingerprint: [u8; 32],
    /// "file:line" of a span, for error messages.
    pub loc_of: &'a dyn Fn(Span) -> String,
    /// Keep every function's Cranelift IR as text ([`RoleObject::clif`]), for `CHOR_DUMP_CLIF`.
    pub keep_clif: bool,
}

/// A compiled role: its object file and, when asked for, the IR of each function.
pub struct RoleObject {
    pub object: Vec<u8>,
    /// `(function name, Cranelift IR text)` in the order the functions were defined.
    pub clif: Vec<(String, String)>,
}

fn isa() -> Result<std::sync::Arc<dyn cranelift_codegen::isa::TargetIsa>, String> {
    let mut fb = settings::builder();
    let set = |fb: &mut settings::Builder, k: &str, v: &str| {
        fb.set(k, v)
            .map_err(|e| format!("cranelift setting {k}: {e}"))
    };
    set(&mut fb, "is_pic", "true")?;
    set(&mut fb, "opt_level", "speed")?;
    // The verifier checks every function's IR in debug builds (and so in the tests), where a
    // lowering bug should be caught at its source; release builds skip its cost.
    set(
        &mut fb,
        "enable_verifier",
        if cfg!(debug_assertions) {
            "true"
        } else {
            "false"
        },
    )?;
    // x64 tail calls (`return_call`) need frame pointers.
    set(&mut fb, "preserve_frame_pointers", "true")?;
    let isa = cranelift_native::builder()
        .map_err(|e| format!("unsupported host: {e}"))?
        .finish(settings::Flags::new(fb))
        .map_err(|e| format!("unsupported host: {e}"))?;
    Ok(isa)
}

/// Compiles one role to an object file (its bytes).
pub fn compile_role(
    prog: &Program,
    lp: &LocalProgram,
    info: &RoleInfo<'_>,
) -> Result<RoleObject, String> {
    compile_role_as(prog, lp, info, "main")
}

/// The entry of member `i` of a family in the family's executable (see [`family_dispatch`]).
pub fn member_entry(i: usize) -> String {
    format!("chor_member_{i}")
}

/// [`compile_role`], with the role's `main(argc, argv)` exported under the name `entry`: every
/// other symbol of a role's object is local, so the members of a family, each compiled with
/// its [`member_entry`], link into one executable next to [`family_dispatch`].
pub fn compile_role_as(
    prog: &Program,
    lp: &LocalProgram,
    info: &RoleInfo<'_>,
    entry: &str,
) -> Result<RoleObject, String> {
    compile(prog, lp, None, &[lp], info, entry)
}

/// The entry of the `c`-th class of alike members of a family in the family's executable.
pub fn class_entry(c: usize) -> String {
    format!("chor_class_{c}")
}

/// Compiles the program of a class of alike members of a family once, with the member index
/// a run-time value (`chor_rt_member_index`): the role numbers of the peers a member names
/// relative to itself, and the literals that are `i + d`, are computed from it. `members`
/// are the members' own programs (the class's instances), in the class's member order: each
/// gets its own description (its role name, where it first needs each peer), picked by the
/// index at start-up. A class of one member compiles as [`compile_role_as`].
pub fn compile_class(
    prog: &Program,
    class: &FamilyClass,
    members: &[&LocalProgram],
    info: &RoleInfo<'_>,
    entry: &str,
) -> Result<RoleObject, String> {
    if members.len() != class.members.len() {
        return Err("internal error: a class's members and their programs differ".into());
    }
    let generic = class.is_generic().then_some(class);
    compile(prog, &class.program, generic, members, info, entry)
}

fn compile<'p>(
    prog: &'p Program,
    lp: &LocalProgram,
    class: Option<&'p FamilyClass>,
    members: &[&LocalProgram],
    info: &RoleInfo<'_>,
    entry: &str,
) -> Result<RoleObject, String> {
    let isa = isa()?;
    let builder = ObjectBuilder::new(isa, "chor_role", cranelift_module::default_libcall_names())
        .map_err(|e| format!("object: {e}"))?;
    let module = ObjectModule::new(builder);
    let mut cg = Cg::new(prog, module, info.loc_of);
    cg.class = class;
    if info.keep_clif {
        cg.clif = Some(Vec::new());
    }
    for (key, p) in &lp.procs {
        let name = cg.fresh("proc");
        let id = cg
            .module
            .declare_function(
                &name,
                Linkage::Local,
                &lower::tail_sig(p.roles.len(), p.params.len()),
            )
            .map_err(|e| e.to_string())?;
        cg.procs.insert(key.clone(), id);
    }
    for (key, p) in &lp.procs {
        let id = cg.procs[key];
        lower::lower_proc(&mut cg, key, p, id)?;
    }
    while let Some(w) = cg.queue.pop() {
        match w {
            Work::Fn(r, id) => lower::lower_fn(&mut cg, r, id)?,
            Work::FnValueWrapper(r, id) => lower::lower_fn_value_wrapper(&mut cg, r, id)?,
            Work::BuiltinWrapper(r, id) => lower::lower_builtin_wrapper(&mut cg, r, id)?,
            Work::Ctor(n, id) => lower::lower_ctor_wrapper(&mut cg, &n, id)?,
        }
    }
    let entry_proc = *cg
        .procs
        .get(&lp.entry)
        .ok_or("the entry procedure is missing")?;
    let nroles = lp.procs.get(&lp.entry).map_or(0, |p| p.roles.len());
    let member_of: Vec<i64> = match class {
        Some(c) => c.members.iter().map(|&i| i as i64).collect(),
        None => vec![-1],
    };
    emit_main(
        &mut cg, members, &member_of, info, entry_proc, nroles, entry,
    )?;
    if let Some(e) = cg.error.take() {
        return Err(format!("internal error in code generation: {e}"));
    }
    let clif = cg.clif.take().unwrap_or_default();
    let product = cg.module.finish();
    let object = product.emit().map_err(|e| format!("object: {e}"))?;
    Ok(RoleObject { object, clif })
}

/// The description of `members`' program: the first member's, with every member's role
/// and first actions when there are several (a class of alike members compiled once).
fn describe(
    cg: &Cg<'_>,
    members: &[&LocalProgram],
    member_of: &[i64],
    info: &RoleInfo<'_>,
) -> Vec<u8> {
    let first = |lp: &LocalProgram| -> Vec<(String, String)> {
        lp.first_actions()
            .into_iter()
            .map(|(peer, span)| (peer.to_string(), (cg.loc_of)(span)))
            .collect()
    };
    let Some(lp) = members.first() else {
        return Vec::new();
    };
    let mut d = describe_one(cg, lp, info);
    if members.len() > 1 {
        d.members = members
            .iter()
            .zip(member_of)
            .map(|(m, &i)| chor_runtime::desc::MemberDesc {
                index: u64::try_from(i).unwrap_or(u64::MAX),
                role: m.role.clone(),
                first: first(m),
            })
            .collect();
    }
    d.encode()
}

fn describe_one(
    cg: &Cg<'_>,
    lp: &LocalProgram,
    info: &RoleInfo<'_>,
) -> chor_runtime::desc::RoleDesc {
    chor_runtime::desc::RoleDesc {
        role: lp.role.to_string(),
        roles: info.main_roles.iter().map(|r| r.to_string()).collect(),
        fingerprint: info.fingerprint,
        locs: cg.locs.clone(),
        structs: cg.structs.clone(),
        variants: cg.variants.clone(),
        msg_types: cg.msg_types.clone(),
        // Where the role first needs each peer: named when connecting to it fails.
        first: lp
            .first_actions()
            .into_iter()
            .map(|(peer, span)| (peer.to_string(), (cg.loc_of)(span)))
            .collect(),
        members: Vec::new(),
    }
}

/// `chor_entry()` calls the entry procedure; `main(argc, argv)` starts the runtime and runs it.
/// With several `members` (a class of a family, `member_of` their indices), the description
/// holds what differs between them; the runtime picks the running member's.
fn emit_main(
    cg: &mut Cg<'_>,
    members: &[&LocalProgram],
    member_of: &[i64],
    info: &RoleInfo<'_>,
    entry_proc: FuncId,
    nroles: usize,
    entry: &str,
) -> Result<(), String> {
    let call_conv = cg.module.isa().default_call_conv();
    // chor_entry
    let esig = Signature::new(call_conv);
    let entry_id = cg
        .module
        .declare_function("chor_entry", Linkage::Local, &esig)
        .map_err(|e| e.to_string())?;
    let mut func = Function::with_name_signature(
        cranelift_codegen::ir::UserFuncName::user(4, 0),
        esig.clone(),
    );
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let blk = b.create_block();
        b.switch_to_block(blk);
        b.seal_block(blk);
        let args: Vec<_> = (0..nroles)
            .map(|i| b.ins().iconst(types::I64, i as i64))
            .collect();
        let r = cg.module.declare_func_in_func(entry_proc, b.func);
        let call = b.ins().call(r, &args);
        let res = b.inst_results(call).to_vec();
        let dec = cg.rt_func("chor_rt_dec", 2, 0);
        let dec = cg.module.declare_func_in_func(dec, b.func);
        b.ins().call(dec, &res);
        b.ins().return_(&[]);
        b.finalize(cg.module.isa().frontend_config());
    }
    cg.define(entry_id, func)?;
    // main
    let desc = describe(cg, members, member_of, info);
    let desc_id = cg.data(&desc);
    let msig = main_sig(call_conv);
    let main_id = cg
        .module
        .declare_function(entry, Linkage::Export, &msig)
        .map_err(|e| e.to_string())?;
    let mut ssig = Signature::new(call_conv);
    for t in [types::I32, types::I64, types::I64, types::I64] {
        ssig.params.push(AbiParam::new(t));
    }
    ssig.returns.push(AbiParam::new(types::I32));
    let start_id = cg
        .module
        .declare_function("chor_rt_start", Linkage::Import, &ssig)
        .map_err(|e| e.to_string())?;
    let mut rsig = Signature::new(call_conv);
    rsig.params.push(AbiParam::new(types::I64));
    rsig.returns.push(AbiParam::new(types::I32));
    let run_id = cg
        .module
        .declare_function("chor_rt_run", Linkage::Import, &rsig)
        .map_err(|e| e.to_string())?;
    let mut func =
        Function::with_name_signature(cranelift_codegen::ir::UserFuncName::user(4, 1), msig);
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let blk = b.create_block();
        b.append_block_params_for_function_params(blk);
        b.switch_to_block(blk);
        b.seal_block(blk);
        let ps = b.block_params(blk).to_vec();
        let gv = cg.module.declare_data_in_func(desc_id, b.func);
        let dp = b.ins().symbol_value(types::I64, gv);
        let dl = b.ins().iconst(types::I64, desc.len() as i64);
        let start = cg.module.declare_func_in_func(start_id, b.func);
        let call = b.ins().call(start, &[ps[0], ps[1], dp, dl]);
        let code = b.inst_results(call)[0];
        let go = b.ins().icmp_imm_s(
            cranelift_codegen::ir::condcodes::IntCC::SignedLessThan,
            code,
            0,
        );
        let run_blk = b.create_block();
        let exit_blk = b.create_block();
        b.ins().brif(go, run_blk, &[], exit_blk, &[]);
        b.switch_to_block(exit_blk);
        b.seal_block(exit_blk);
        b.ins().return_(&[code]);
        b.switch_to_block(run_blk);
        b.seal_block(run_blk);
        let e = cg.module.declare_func_in_func(entry_id, b.func);
        let ep = b.ins().func_addr(types::I64, e);
        let run = cg.module.declare_func_in_func(run_id, b.func);
        let call = b.ins().call(run, &[ep]);
        let status = b.inst_results(call)[0];
        b.ins().return_(&[status]);
        b.finalize(cg.module.isa().frontend_config());
    }
    cg.define(main_id, func)
}

/// The signature of C's `main(argc, argv) -> int`: a role's entry and a family's `main`.
fn main_sig(call_conv: cranelift_codegen::isa::CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(types::I32));
    sig.params.push(AbiParam::new(types::I64));
    sig.returns.push(AbiParam::new(types::I32));
    sig
}

/// The `main(argc, argv)` of a family's executable: `chor_rt_member` takes `--member i` out of
/// the arguments (or reports it missing or out of range, naming the family), then member `i`'s
/// entry runs with the rest: `entries[i]`, the entry of the class of alike members it is in
/// ([`class_entry`], or [`member_entry`] for a member compiled on its own).
pub fn family_dispatch(family: &str, entries: &[String]) -> Result<Vec<u8>, String> {
    let members = entries.len();
    use cranelift_codegen::ir::condcodes::IntCC;
    let isa = isa()?;
    let call_conv = isa.default_call_conv();
    let builder = ObjectBuilder::new(
        isa,
        "chor_family",
        cranelift_module::default_libcall_names(),
    )
    .map_err(|e| format!("object: {e}"))?;
    let mut module = ObjectModule::new(builder);
    let err = |e: cranelift_module::ModuleError| e.to_string();
    let name_id = module
        .declare_data("chor_family_name", Linkage::Local, false, false)
        .map_err(err)?;
    let mut d = DataDescription::new();
    d.define(family.as_bytes().to_vec().into_boxed_slice());
    module.define_data(name_id, &d).map_err(err)?;
    let msig = main_sig(call_conv);
    let main_id = module
        .declare_function("main", Linkage::Export, &msig)
        .map_err(err)?;
    let mut rsig = Signature::new(call_conv);
    for t in [types::I32, types::I64, types::I64, types::I64, types::I64] {
        rsig.params.push(AbiParam::new(t));
    }
    rsig.returns.push(AbiParam::new(types::I64));
    let pick_id = module
        .declare_function("chor_rt_member", Linkage::Import, &rsig)
        .map_err(err)?;
    let mut declared: HashMap<&str, FuncId> = HashMap::new();
    let mut targets = Vec::new();
    for e in entries {
        let id = match declared.get(e.as_str()) {
            Some(id) => *id,
            None => {
                let id = module
                    .declare_function(e, Linkage::Import, &msig)
                    .map_err(err)?;
                declared.insert(e, id);
                id
            }
        };
        targets.push(id);
    }
    let mut func = Function::with_name_signature(
        cranelift_codegen::ir::UserFuncName::user(5, 0),
        msig.clone(),
    );
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let blk = b.create_block();
        b.append_block_params_for_function_params(blk);
        b.switch_to_block(blk);
        b.seal_block(blk);
        let ps = b.block_params(blk).to_vec();
        let gv = module.declare_data_in_func(name_id, b.func);
        let np = b.ins().symbol_value(types::I64, gv);
        let nl = b.ins().iconst(types::I64, family.len() as i64);
        let n = b.ins().iconst(types::I64, members as i64);
        let pick = module.declare_func_in_func(pick_id, b.func);
        let call = b.ins().call(pick, &[ps[0], ps[1], n, np, nl]);
        let idx = b.inst_results(call)[0];
        // `--member i` and its value are gone from argv.
        let argc = b.ins().iadd_imm_s(ps[0], -2);
        for (i, e) in targets.iter().enumerate() {
            let hit = b.ins().icmp_imm_s(IntCC::Equal, idx, i as i64);
            let yes = b.create_block();
            let no = b.create_block();
            b.ins().brif(hit, yes, &[], no, &[]);
            b.switch_to_block(yes);
            b.seal_block(yes);
            let f = module.declare_func_in_func(*e, b.func);
            let call = b.ins().call(f, &[argc, ps[1]]);
            let status = b.inst_results(call)[0];
            b.ins().return_(&[status]);
            b.switch_to_block(no);
            b.seal_block(no);
        }
        // No member: the runtime reported why.
        let status = b.ins().iconst(types::I32, 2);
        b.ins().return_(&[status]);
        b.finalize(module.isa().frontend_config());
    }
    let mut ctx = cranelift_codegen::Context::for_function(func);
    module.define_function(main_id, &mut ctx).map_err(err)?;
    let product = module.finish();
    product.emit().map_err(|e| format!("object: {e}"))
}
