//! The C ABI of the value runtime: what Cranelift-generated code calls.
//!
//! A value crosses the boundary as two machine words, `tag` and `bits` (see [`super::val`]'s
//! `TAG_*`): `Int`, `Bool`, `Float` and `()` are unboxed; heap values carry an `Rc` pointer in
//! `bits`. Ownership: a function that *consumes* a value takes over one reference; one that
//! *borrows* leaves the count alone. Unless a comment says "borrows", arguments are consumed
//! and results are owned.
//!
//! The generated `main` calls [`chor_rt_start`] (command line, deployment file, connections),
//! then [`chor_rt_run`] with its entry function, which runs on a thread with a large stack and
//! closes the session. Faults of the program's own code ([`chor_rt_fault`]) and messaging
//! failures print one `error: role R: …` line and exit with status 1: never a signal.
#![allow(unsafe_code)]

use super::rc::Rc;
use std::collections::{BTreeMap, HashMap};
use std::ffi::{c_char, c_int};
use std::io::Write;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::library;
use super::list::{List, View as ListView};
use super::val::*;
use super::world::vals as world;
use crate::desc::RoleDesc;
use crate::session::{Fingerprint, Session};
use crate::types::TypeTable;
use crate::value::Message;

/// Offset of a heap value's reference count from its address (the `bits` of a heap value):
/// the runtime's own [`Rc`] header (see [`super::rc`]), not a private layout of `std`.
/// Generated code reads it to tell an unshared value (the count is 1) and updates it inline.
pub const RC_STRONG: i32 = super::rc::COUNT_OFFSET;

/// A value at the ABI.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct V {
    pub tag: u64,
    pub bits: u64,
}

const UNIT: V = V {
    tag: TAG_UNIT,
    bits: 0,
};

/// Takes ownership of a Rust value as an ABI value.
pub fn into_raw(v: Val) -> V {
    let (tag, bits) = match v {
        Val::Unit => (TAG_UNIT, 0),
        Val::Bool(b) => (TAG_BOOL, b as u64),
        Val::Int(i) => (TAG_INT, i as u64),
        Val::Float(x) => (TAG_FLOAT, x.to_bits()),
        Val::Str(r) => (TAG_STR, Rc::into_raw(r) as u64),
        Val::Tuple(r) => (TAG_TUPLE, Rc::into_raw(r) as u64),
        Val::List(r) => (TAG_LIST, r.into_raw() as u64),
        Val::Map(r) => (TAG_MAP, Rc::into_raw(r) as u64),
        Val::Struct(r) => (TAG_STRUCT, Rc::into_raw(r) as u64),
        Val::Variant(r) => (TAG_VARIANT, Rc::into_raw(r) as u64),
        Val::Func(r) => (TAG_FUNC, Rc::into_raw(r) as u64),
    };
    V { tag, bits }
}

/// Takes back ownership of an ABI value.
///
/// # Safety
/// `v` was made by [`into_raw`] and its reference is given up by the caller.
pub unsafe fn from_raw(v: V) -> Val {
    // SAFETY: the tag says which `Rc` type `bits` came from (per the contract).
    unsafe {
        match v.tag {
            TAG_BOOL => Val::Bool(v.bits != 0),
            TAG_INT => Val::Int(v.bits as i64),
            TAG_FLOAT => Val::Float(f64::from_bits(v.bits)),
            TAG_STR => Val::Str(Rc::from_raw(v.bits as *const _)),
            TAG_TUPLE => Val::Tuple(Rc::from_raw(v.bits as *const _)),
            TAG_LIST => Val::List(List::from_raw(v.bits as *const u8)),
            TAG_MAP => Val::Map(Rc::from_raw(v.bits as *const _)),
            TAG_STRUCT => Val::Struct(Rc::from_raw(v.bits as *const _)),
            TAG_VARIANT => Val::Variant(Rc::from_raw(v.bits as *const _)),
            TAG_FUNC => Val::Func(Rc::from_raw(v.bits as *const _)),
            _ => Val::Unit,
        }
    }
}

/// Borrows an ABI value as a Rust value (never dropped).
///
/// # Safety
/// `v` was made by [`into_raw`] and stays alive while the result is used.
unsafe fn peek(v: V) -> ManuallyDrop<Val> {
    // SAFETY: per the contract; ManuallyDrop keeps the count unchanged.
    ManuallyDrop::new(unsafe { from_raw(v) })
}

fn v(tag: u64, bits: u64) -> V {
    V { tag, bits }
}

// ---------------------------------------------------------------------------------------------
// Process state

struct Rt {
    role: String,
    roles: Vec<String>,
    locs: Vec<String>,
}

static RT: OnceLock<Rt> = OnceLock::new();
static SESSION: Mutex<Option<Session>> = Mutex::new(None);
static MSG_TYPES: OnceLock<TypeTable> = OnceLock::new();

/// The lowest address the role's stack may reach; generated code compares its frame with it.
#[unsafe(no_mangle)]
pub static chor_rt_stack_limit: AtomicU64 = AtomicU64::new(0);

/// The location of the last call from user code into a standard library function (stored
/// by generated code); a fault inside the library names it as the user's call site.
#[unsafe(no_mangle)]
pub static chor_rt_user_site: AtomicU64 = AtomicU64::new(0);

const STACK_SIZE: usize = 1 << 30;

fn role() -> &'static str {
    RT.get().map_or("?", |r| r.role.as_str())
}

fn loc_text(loc: u64) -> String {
    RT.get()
        .and_then(|r| r.locs.get(loc as usize))
        .cloned()
        .unwrap_or_else(|| "an unknown location".into())
}

fn peer(idx: u64) -> &'static str {
    RT.get()
        .and_then(|r| r.roles.get(idx as usize))
        .map_or("?", String::as_str)
}

fn take_session() -> Option<Session> {
    match SESSION.lock() {
        Ok(mut g) => g.take(),
        Err(p) => p.into_inner().take(),
    }
}

fn with_session<T>(f: impl FnOnce(&Session) -> T) -> Option<T> {
    let g = match SESSION.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    g.as_ref().map(f)
}

/// Flush stdout, print, close the connections (peers read what was sent), exit 1. The
/// message goes out before the peers learn of the failure, so whoever collects the roles'
/// output sees the cause before the consequences.
fn die(message: String) -> ! {
    let _ = std::io::stdout().flush();
    eprintln!("error: {message}");
    if let Some(s) = take_session() {
        let _ = s.close();
    }
    std::process::exit(1)
}

fn fault_at(message: impl Into<String>, loc: u64) -> ! {
    let at = loc_text(loc);
    let site = chor_rt_user_site.load(Ordering::Relaxed);
    let called_from = if at.starts_with(STDLIB_PREFIX) && site != 0 {
        format!(" (called from {})", loc_text(site))
    } else {
        String::new()
    };
    die(format!(
        "role {}: {} at {at}{called_from}",
        role(),
        message.into(),
    ))
}

/// How locations in the standard library's files begin (`<stdlib>/int.chor:5`).
const STDLIB_PREFIX: &str = "<stdlib>/";

fn ok(r: Result<Val, Fault>, loc: u64) -> V {
    match r {
        Ok(v) => into_raw(v),
        Err(m) => fault_at(m, loc),
    }
}

/// Reads `len` bytes at `p` as UTF-8 (lossy).
///
/// # Safety
/// `p` points to `len` readable bytes (or is null).
unsafe fn text<'a>(p: *const u8, len: usize) -> std::borrow::Cow<'a, str> {
    if p.is_null() {
        return "".into();
    }
    // SAFETY: per the contract.
    String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(p, len) })
}

/// The struct and variant tables of a description, as the value layer keeps them.
fn tables_of(d: &RoleDesc) -> Tables {
    let mut t = Tables::default();
    for (name, fields) in &d.structs {
        let id = t.structs.len() as u32;
        t.struct_ids.entry(name.clone()).or_insert(id);
        t.structs.push((name.clone(), fields.clone()));
    }
    for name in &d.variants {
        let id = t.variants.len() as u32;
        t.variant_ids.entry(name.clone()).or_insert(id);
        t.variants.push(name.clone());
    }
    t
}

/// The command-line arguments after the program name.
///
/// # Safety
/// `argv` is null or holds `argc` NUL-terminated strings.
unsafe fn args_of(argc: c_int, argv: *const *const c_char) -> Vec<String> {
    let mut args = Vec::new();
    if !argv.is_null() {
        for i in 1..usize::try_from(argc).unwrap_or(0) {
            // SAFETY: argv holds argc NUL-terminated entries.
            let a = unsafe { std::ffi::CStr::from_ptr(*argv.add(i)) };
            args.push(a.to_string_lossy().into_owned());
        }
    }
    args
}

/// Which member of the family `family` (of `n` members) this executable runs: the value of
/// `--member i` among the arguments before `--`. The two arguments are taken out of `argv`
/// (the rest moves down, a null pointer after them), so the member's `main` sees `argc - 2`
/// arguments. Missing, malformed or out of range: the error names the family and the range,
/// and the result is -1.
///
/// # Safety
/// `argv` holds `argc` NUL-terminated strings followed by a null pointer, and may be written
/// (as C's `main` receives it); `family` points to `len` bytes of UTF-8.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_member(
    argc: c_int,
    argv: *mut *const c_char,
    n: usize,
    family: *const u8,
    len: usize,
) -> i64 {
    let family = if family.is_null() {
        String::new()
    } else {
        // SAFETY: per the contract.
        String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(family, len) }).into_owned()
    };
    // SAFETY: per the contract.
    let args = unsafe { args_of(argc, argv) };
    let (k, index) = match crate::startup::find_member(&family, n, &args) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("error: {e}");
            return -1;
        }
    };
    // `--member` stands at argv[k + 1]: the entries after its value move down by two, and the
    // two freed slots at the end become null pointers.
    let argc = args.len() + 1;
    // SAFETY: argv has argc + 1 entries (the last a null pointer), and k + 2 < argc since
    // `--member` and its value are among them.
    unsafe {
        for i in k + 1..argc - 2 {
            *argv.add(i) = *argv.add(i + 2);
        }
        for i in argc - 2..argc {
            *argv.add(i) = std::ptr::null();
        }
    }
    MEMBER.store(index as i64, Ordering::Relaxed);
    index as i64
}

/// The member index `chor_rt_member` found (-1 before it ran): the program of a class of
/// alike members is compiled once and computes from it whom it talks to and the values
/// that depend on the member (`chor_project::family`).
static MEMBER: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(-1);

/// The index of the member this family executable runs (see [`chor_rt_member`]).
#[unsafe(no_mangle)]
pub extern "C" fn chor_rt_member_index() -> i64 {
    MEMBER.load(Ordering::Relaxed)
}

/// Starts the role: reads `--config PATH` from the command line, the deployment file, and
/// connects with every peer. Returns -1 to go on, or the exit status after printing why not.
///
/// # Safety
/// `argv` holds `argc` NUL-terminated strings; `desc` points to `len` bytes (the program
/// description the code generator wrote: role, roles, fingerprint, locations, type names).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_start(
    argc: c_int,
    argv: *const *const c_char,
    desc: *const u8,
    len: usize,
) -> c_int {
    let bytes: &[u8] = if desc.is_null() {
        &[]
    } else {
        // SAFETY: per the contract.
        unsafe { std::slice::from_raw_parts(desc, len) }
    };
    let d = match RoleDesc::decode(bytes) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: internal error: {e}");
            return 1;
        }
    };
    // A class of alike members shares one description: this member's role and first
    // actions.
    let Some(d) = d.for_member(chor_rt_member_index()) else {
        eprintln!(
            "error: internal error: member {} is not one this code was compiled for",
            chor_rt_member_index()
        );
        return 1;
    };
    // SAFETY: per the contract.
    let args = unsafe { args_of(argc, argv) };
    let r = &d.role;
    let cfg = match crate::startup::load_config(r, &d.roles, &args) {
        Ok(c) => c,
        Err(status) => return status,
    };
    set_tables(tables_of(&d));
    let _ = MSG_TYPES.set(d.msg_types);
    // Connections only with the peers this role exchanges messages with (those it has a
    // first action with): a role connected to every other one paid for connections,
    // handshakes and threads it never used (a third of a three-role pipeline's set-up).
    // Communication is symmetric, so both ends of every used pair agree on it.
    let talks_with: Vec<&str> = d.first.iter().map(|(p, _)| p.as_str()).collect();
    let session = match Session::connect_tcp_with(
        r,
        &talks_with,
        &cfg,
        Fingerprint(d.fingerprint),
        Arc::from(d.locs.clone()),
    ) {
        Ok(s) => s,
        Err(e) => {
            let e = e.with_first_action(|peer| {
                d.first
                    .iter()
                    .find(|(p, _)| p == peer)
                    .map(|(_, loc)| loc.clone())
            });
            eprintln!("error: {e}");
            return 1;
        }
    };
    let _ = RT.set(Rt {
        role: d.role,
        roles: d.roles,
        locs: d.locs,
    });
    match SESSION.lock() {
        Ok(mut g) => *g = Some(session),
        Err(p) => *p.into_inner() = Some(session),
    }
    -1
}

/// Runs the role's code (`entry`) on a large stack, then closes the session. Returns the exit
/// status.
///
/// The stack is a mapping of [`STACK_SIZE`] (and a guard page below it) that this thread
/// switches to (`psm`), not a thread of its own: starting and ending a thread with a 1 GiB
/// stack took about 0.1 ms of CPU a role, a tenth of a three-role program's start-up. Pages
/// are only backed once touched, as a thread's stack would be.
#[unsafe(no_mangle)]
pub extern "C" fn chor_rt_run(entry: extern "C" fn()) -> c_int {
    let ran = on_large_stack(move || {
        let here = 0u8;
        let top = &here as *const u8 as u64;
        // Leave a margin for the runtime's own frames below the deepest generated frame.
        chor_rt_stack_limit.store(
            top.saturating_sub(STACK_SIZE as u64 - (4 << 20)),
            Ordering::Relaxed,
        );
        entry();
    });
    if !ran {
        die(format!("role {}: internal error", role()));
    }
    let _ = std::io::stdout().flush();
    match take_session().map(Session::close) {
        Some(Err(e)) => {
            eprintln!("error: {e}");
            1
        }
        _ => 0,
    }
}

/// Runs `f` on a fresh stack of [`STACK_SIZE`] bytes on this thread; false if it panicked.
/// The stack is left mapped: the process ends soon after.
fn on_large_stack(f: impl FnOnce()) -> bool {
    // The machine's page (4 KiB here, 16 or 64 KiB on some other processors): the guard
    // must be a whole page of its own, and the stack must start on the next one.
    // SAFETY: sysconf only reads a system setting.
    #[allow(unsafe_code)]
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => 4096,
    };
    // SAFETY: an anonymous private mapping at an address the kernel picks touches no
    // existing memory; NORESERVE and lazy backing make its size cost address space only.
    #[allow(unsafe_code)]
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            STACK_SIZE + page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        die(format!(
            "role {}: cannot start: no memory for its stack: {}",
            role(),
            std::io::Error::last_os_error()
        ));
    }
    let base = base.cast::<u8>();
    // SAFETY: the lowest page of the mapping just made becomes the guard page: a frame that
    // runs past the stack faults there instead of writing over other memory. Then the
    // stack's base is page-aligned and its size a multiple of the page (as psm requires),
    // and the callback cannot unwind out of `on_stack`: `catch_unwind` stops every panic.
    #[allow(unsafe_code)]
    unsafe {
        libc::mprotect(base.cast(), page, libc::PROT_NONE);
        psm::on_stack(base.add(page), STACK_SIZE, || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_ok()
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Faults

/// Stops the role for a fault in its own code.
///
/// # Safety
/// `msg` points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_fault(msg: *const u8, len: usize, loc: u64) -> ! {
    // SAFETY: per the contract.
    fault_at(unsafe { text(msg, len) }.into_owned(), loc)
}

/// A value no arm covers (`kind` 0: a `match`; 1: a `let` pattern). Consumes `v`.
///
/// # Safety
/// `(t, b)` is a live value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_fault_nomatch(t: u64, b: u64, kind: u64, loc: u64) -> ! {
    // SAFETY: per the contract.
    let x = unsafe { peek(v(t, b)) };
    let lit = to_literal(&x);
    if kind == 0 {
        fault_at(format!("no arm of this match covers {lit}"), loc)
    } else {
        fault_at(format!("the pattern does not match {lit}"), loc)
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn chor_rt_stack_overflow(loc: u64) -> ! {
    fault_at(
        "stack overflow: recursion too deep (only tail calls run in constant stack)",
        loc,
    )
}

// ---------------------------------------------------------------------------------------------
// Reference counts and construction

/// Adds a reference (borrows).
///
/// # Safety
/// `(t, b)` is a live value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_inc(t: u64, b: u64) {
    // SAFETY: per the contract, `b` came from `Rc::into_raw` of the type the tag names.
    unsafe {
        match t {
            TAG_STR => Rc::increment_strong_count(b as *const String),
            TAG_TUPLE => Rc::increment_strong_count(b as *const Vec<Val>),
            TAG_LIST => {
                std::mem::forget((*ManuallyDrop::new(List::from_raw(b as *const u8))).clone())
            }
            TAG_MAP => Rc::increment_strong_count(b as *const BTreeMap<Val, Val>),
            TAG_STRUCT | TAG_VARIANT => Rc::increment_strong_count(b as *const Agg),
            TAG_FUNC => Rc::increment_strong_count(b as *const FuncObj),
            _ => {}
        }
    }
}

/// Drops a reference.
///
/// # Safety
/// `(t, b)` is a live value whose reference the caller gives up.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_dec(t: u64, b: u64) {
    // SAFETY: per the contract, `b` came from `Rc::into_raw` of the type the tag names.
    unsafe {
        match t {
            TAG_STR => Rc::decrement_strong_count(b as *const String),
            TAG_TUPLE => Rc::decrement_strong_count(b as *const Vec<Val>),
            TAG_LIST => drop(List::from_raw(b as *const u8)),
            TAG_MAP => Rc::decrement_strong_count(b as *const BTreeMap<Val, Val>),
            TAG_STRUCT | TAG_VARIANT => Rc::decrement_strong_count(b as *const Agg),
            TAG_FUNC => Rc::decrement_strong_count(b as *const FuncObj),
            _ => {}
        }
    }
}

/// A new string with the `len` bytes at `p`.
///
/// # Safety
/// `p` points to `len` readable bytes of UTF-8.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_str(p: *const u8, len: usize) -> V {
    // SAFETY: per the contract.
    into_raw(Val::str(unsafe { text(p, len) }.into_owned()))
}

/// A tuple, list, struct or variant (`tag`) with `n` values at `items` (consumed).
///
/// # Safety
/// `items` points to `n` live values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_make(tag: u64, id: u64, items: *const V, n: usize) -> V {
    let mut xs = Vec::with_capacity(n);
    for i in 0..n {
        // SAFETY: per the contract.
        xs.push(unsafe { from_raw(*items.add(i)) });
    }
    into_raw(match tag {
        TAG_TUPLE => Val::tuple(xs),
        TAG_LIST => Val::list(xs),
        TAG_STRUCT => Val::Struct(Rc::new(Agg {
            id: id as u32,
            fields: xs,
        })),
        _ => Val::variant(id as u32, xs),
    })
}

/// The empty list `[]`, with room for four `Int`s (what the first push would make), in the
/// compact form.
#[unsafe(no_mangle)]
pub extern "C" fn chor_rt_list_empty() -> V {
    into_raw(Val::List(List::with_room(4)))
}

/// A function value for the code at `code`.
///
/// # Safety
/// `m` / `n` point to `ml` / `nl` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_make_func(
    code: u64,
    is_variant: u64,
    m: *const u8,
    ml: usize,
    n: *const u8,
    nl: usize,
) -> V {
    // SAFETY: per the contract.
    let (module, name) = unsafe { (text(m, ml).into_owned(), text(n, nl).into_owned()) };
    into_raw(Val::Func(Rc::new(FuncObj {
        is_variant: is_variant != 0,
        module: if module.is_empty() {
            None
        } else {
            Some(module)
        },
        name,
        code: code as usize,
    })))
}

/// The code address of a function value (borrows).
///
/// # Safety
/// `(t, b)` is a live value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_func_code(t: u64, b: u64, loc: u64) -> u64 {
    // SAFETY: per the contract.
    match &*unsafe { peek(v(t, b)) } {
        Val::Func(f) => f.code as u64,
        other => fault_at(format!("{} is not a function", to_literal(other)), loc),
    }
}

// ---------------------------------------------------------------------------------------------
// Access (for patterns and field/tuple projections)

fn elems(x: &Val) -> Option<&[Val]> {
    match x {
        Val::Tuple(a) | Val::Struct(a) | Val::Variant(a) => Some(&a.fields),
        _ => None,
    }
}

/// The ABI words of a value, borrowed (the count is left alone).
fn raw_of(x: &Val) -> V {
    match x {
        Val::Unit => UNIT,
        Val::Bool(b) => v(TAG_BOOL, *b as u64),
        Val::Int(i) => v(TAG_INT, *i as u64),
        Val::Float(f) => v(TAG_FLOAT, f.to_bits()),
        Val::Str(r) => v(TAG_STR, Rc::as_ptr(r) as u64),
        Val::Tuple(r) => v(TAG_TUPLE, Rc::as_ptr(r) as u64),
        Val::List(r) => v(TAG_LIST, r.as_ptr() as u64),
        Val::Map(r) => v(TAG_MAP, Rc::as_ptr(r) as u64),
        Val::Struct(r) => v(TAG_STRUCT, Rc::as_ptr(r) as u64),
        Val::Variant(r) => v(TAG_VARIANT, Rc::as_ptr(r) as u64),
        Val::Func(r) => v(TAG_FUNC, Rc::as_ptr(r) as u64),
    }
}

/// Element `i` of a tuple, list, struct or variant, borrowed.
fn elem(x: &Val, i: usize) -> Option<V> {
    match x {
        Val::List(xs) => match xs.view() {
            ListView::Ints(is) => is.get(i).map(|n| v(TAG_INT, *n as u64)),
            ListView::Vals(vs) => vs.get(i).map(raw_of),
        },
        other => elems(other)?.get(i).map(raw_of),
    }
}

/// Element `i` of a tuple, list, struct or variant, borrowed (no new reference).
///
/// # Safety
/// `(t, b)` is a live value; the result lives as long as it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_peek(t: u64, b: u64, i: u64) -> V {
    // SAFETY: per the contract.
    let x = unsafe { peek(v(t, b)) };
    elem(&x, i as usize).unwrap_or(UNIT)
}

/// Field or element `i` of an aggregate (consumed), as a new reference.
///
/// # Safety
/// `(t, b)` is a live value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_field(t: u64, b: u64, i: u64, loc: u64) -> V {
    // SAFETY: per the contract.
    let x = unsafe { from_raw(v(t, b)) };
    match elem(&x, i as usize) {
        Some(e) => {
            // SAFETY: `e` is a live element of `x`; the new reference is the caller's.
            unsafe { chor_rt_inc(e.tag, e.bits) };
            e
        }
        None => fault_at(format!("{} has no element {i}", to_literal(&x)), loc),
    }
}

/// Field `name` of a struct (consumed), looked up by name.
///
/// # Safety
/// `(t, b)` is a live value; `n` points to `nl` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_field_named(
    t: u64,
    b: u64,
    n: *const u8,
    nl: usize,
    loc: u64,
) -> V {
    // SAFETY: per the contract.
    let (x, name) = unsafe { (from_raw(v(t, b)), text(n, nl)) };
    if let Val::Struct(s) = &x
        && let Some((_, names)) = tables().structs.get(s.id as usize)
        && let Some(i) = names.iter().position(|f| *f == name)
        && let Some(e) = s.fields.get(i)
    {
        return into_raw(e.clone());
    }
    fault_at(format!("no field `{name}` on {}", to_literal(&x)), loc)
}

/// The variant id of a variant (borrows); `u64::MAX` for anything else.
///
/// # Safety
/// `(t, b)` is a live value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_variant_id(t: u64, b: u64) -> u64 {
    // SAFETY: per the contract.
    match &*unsafe { peek(v(t, b)) } {
        Val::Variant(a) => a.id as u64,
        _ => u64::MAX,
    }
}

/// The length of a list (borrows); `u64::MAX` for anything else.
///
/// # Safety
/// `(t, b)` is a live value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_list_len(t: u64, b: u64) -> u64 {
    // SAFETY: per the contract.
    match &*unsafe { peek(v(t, b)) } {
        Val::List(xs) => xs.len() as u64,
        _ => u64::MAX,
    }
}

/// The list without its first `n` elements (borrows the list; a new list).
///
/// # Safety
/// `(t, b)` is a live value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_list_rest(t: u64, b: u64, n: u64) -> V {
    // SAFETY: per the contract.
    match &*unsafe { peek(v(t, b)) } {
        Val::List(xs) => into_raw(Val::List(xs.slice(n as usize, usize::MAX))),
        _ => into_raw(Val::list(Vec::new())),
    }
}

/// Whether a value (borrowed) equals another (consumed).
///
/// # Safety
/// Both are live values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_eq_lit(t: u64, b: u64, lt: u64, lb: u64) -> u64 {
    // SAFETY: per the contract.
    let (x, y) = unsafe { (peek(v(t, b)), from_raw(v(lt, lb))) };
    (*x == y) as u64
}

// ---------------------------------------------------------------------------------------------
// Operators

/// A binary operator (numbered as [`Op::ALL`]) on two consumed values.
///
/// # Safety
/// Both are live values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_binop(op: u64, at: u64, ab: u64, bt: u64, bb: u64, loc: u64) -> V {
    // SAFETY: per the contract.
    let (x, y) = unsafe { (from_raw(v(at, ab)), from_raw(v(bt, bb))) };
    let Some(op) = Op::ALL.get(op as usize) else {
        fault_at("unknown operator", loc)
    };
    ok(binary(*op, x, y), loc)
}

/// `-x` for a Float (Ints are negated inline); consumes.
///
/// # Safety
/// `(t, b)` is a live value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_neg(t: u64, b: u64, loc: u64) -> V {
    // SAFETY: per the contract.
    match unsafe { from_raw(v(t, b)) } {
        Val::Float(x) => into_raw(Val::Float(-x)),
        Val::Int(i) => match i.checked_neg() {
            Some(n) => into_raw(Val::Int(n)),
            None => fault_at("integer overflow", loc),
        },
        other => fault_at(format!("cannot apply `-` to {}", to_literal(&other)), loc),
    }
}

// ---------------------------------------------------------------------------------------------
// Messaging

/// Sends a value (borrowed) to the main role number `to`.
///
/// # Safety
/// `(t, b)` is a live value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_send(to: u64, t: u64, b: u64, loc: u64) {
    // SAFETY: per the contract.
    let x = unsafe { peek(v(t, b)) };
    // The sender refuses what no receiver would decode (and what `to_wire` would recurse on).
    if chor_print::deeper_than(&*x, crate::codec::MAX_DEPTH) {
        fault_at(crate::session::too_deep_message(peer(to)), loc)
    }
    // Encoded straight from the native value (a compact list from its `i64`s), then copied
    // into the connection's buffer.
    let r = SEND_BUF.with_borrow_mut(|buf| {
        buf.clear();
        if !super::wire::encode_val(&x, buf) {
            return None;
        }
        let r = with_session(|s| s.send_encoded(peer(to), buf, loc as u32));
        if buf.capacity() > 1 << 20 {
            *buf = Vec::new();
        }
        Some(r)
    });
    match r {
        None => fault_at("function values cannot travel in a message", loc),
        Some(Some(Ok(()))) => {}
        Some(Some(Err(e))) => die(e.to_string()),
        Some(None) => fault_at("the session is closed", loc),
    }
}

/// Receives a value of message type `ty` (an entry of the program's type table) from the
/// main role number `from`. A value of another type ends the role: generated code relies on
/// the type (it reads an `Int` list's elements without looking at their tags, for example).
#[unsafe(no_mangle)]
pub extern "C" fn chor_rt_recv(from: u64, ty: u64, loc: u64) -> V {
    let types = MSG_TYPES.get_or_init(TypeTable::default);
    let ty = u32::try_from(ty).unwrap_or(u32::MAX);
    let peer = peer(from);
    let loc = loc as u32;
    // The frame is decoded straight into native values, checked against the type as it goes.
    let r = with_session(|s| {
        RECV_BUF.with_borrow_mut(|buf| {
            // Not validated first: the typed decoder checks every byte it reads.
            s.recv_frame(peer, loc, buf)?;
            let budget = s.decode_budget(buf.len());
            let r = super::wire::decode_typed_bounded(buf, types, ty, budget);
            if buf.capacity() > 1 << 20 {
                *buf = Vec::new();
            }
            r.map_err(|e| s.recv_error(peer, loc, e))
        })
    });
    match r {
        Some(Ok(x)) => into_raw(x),
        Some(Err(e)) => die(e.to_string()),
        None => fault_at("the session is closed", u64::from(loc)),
    }
}

thread_local! {
    /// The frame being received (reused: most frames are small).
    static RECV_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The frame being sent (reused likewise).
    static SEND_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Sends the selection `label` to the main role number `to`.
///
/// # Safety
/// `l` points to `ll` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_select(to: u64, l: *const u8, ll: usize, loc: u64) {
    // SAFETY: per the contract.
    let label = unsafe { text(l, ll) }.into_owned();
    match with_session(|s| s.send(peer(to), Message::Label(label), loc as u32)) {
        Some(Ok(())) => {}
        Some(Err(e)) => die(e.to_string()),
        None => fault_at("the session is closed", loc),
    }
}

/// Waits for a selection from the main role number `from`; returns the index of its label
/// among the tab-separated `labels`.
///
/// # Safety
/// `l` points to `ll` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_branch(from: u64, l: *const u8, ll: usize, loc: u64) -> u64 {
    // SAFETY: per the contract.
    let labels = unsafe { text(l, ll) }.into_owned();
    let labels: Vec<&str> = labels.split('\t').collect();
    match with_session(|s| s.recv_label(peer(from), &labels, loc as u32)) {
        Some(Ok(got)) => labels.iter().position(|l| *l == got).unwrap_or(0) as u64,
        Some(Err(e)) => die(e.to_string()),
        None => fault_at("the session is closed", loc),
    }
}

// ---------------------------------------------------------------------------------------------
// Builtins of the standard library (stdlib/*.chor `#[builtin]`); every argument is consumed.

macro_rules! builtin {
    ($name:ident($($a:ident),*) $body:expr) => {
        /// A `#[builtin]` of the standard library.
        ///
        /// # Safety
        /// Every argument pair is a live value, consumed.
        #[unsafe(no_mangle)]
        #[allow(unused_variables)]
        pub unsafe extern "C" fn $name($($a: V,)* loc: u64) -> V {
            // SAFETY: per the contract.
            $(let $a = unsafe { from_raw($a) };)*
            let r: Result<Val, Fault> = $body;
            ok(r, loc)
        }
    };
}

builtin!(chor_b_print(x) {
    let line = to_display(&x);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    Ok(Val::Unit)
});
builtin!(chor_b_to_string(x) Ok(Val::str(to_display(&x))));
builtin!(chor_b_read_line() Ok(Val::str(super::world::read_stdin_line().unwrap_or_default())));
builtin!(chor_b_panic(x) Err(format!("panic: {}", to_display(&x))));
builtin!(chor_b_list_len(l) list_len(l));
builtin!(chor_b_list_get(l, i) list_get(l, &i));

/// `list::take`: the first `n` elements (both consumed; in place when the list is not
/// shared). A list and an `Int` skip the general path (merge sort takes half a list at
/// every step).
///
/// # Safety
/// Both are live values, consumed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_b_list_take(l: V, n: V, loc: u64) -> V {
    if l.tag == TAG_LIST && n.tag == TAG_INT {
        // SAFETY: a list's bits come from `List::into_raw`; the reference is ours.
        let mut list = unsafe { List::from_raw(l.bits as *const u8) };
        list.truncate(usize::try_from(n.bits as i64).unwrap_or(0));
        // Copying a shared list makes a new one: its address.
        return v(TAG_LIST, list.into_raw() as u64);
    }
    // SAFETY: per the contract.
    let (l, n) = unsafe { (from_raw(l), from_raw(n)) };
    ok(list_take(l, &n), loc)
}

/// `list::drop`: the list without its first `n` elements (both consumed; in place when the
/// list is not shared). As [`chor_b_list_take`].
///
/// # Safety
/// Both are live values, consumed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_b_list_drop(l: V, n: V, loc: u64) -> V {
    if l.tag == TAG_LIST && n.tag == TAG_INT {
        // SAFETY: a list's bits come from `List::into_raw`; the reference is ours.
        let mut list = unsafe { List::from_raw(l.bits as *const u8) };
        list.drop_front(usize::try_from(n.bits as i64).unwrap_or(0));
        return v(TAG_LIST, list.into_raw() as u64);
    }
    // SAFETY: per the contract.
    let (l, n) = unsafe { (from_raw(l), from_raw(n)) };
    ok(list_drop(l, &n), loc)
}

builtin!(chor_b_string_len(s) string_len(&s));
builtin!(chor_b_string_split(s, sep) string_split(&s, &sep));
builtin!(chor_b_string_contains(s, sub) string_contains(&s, &sub));
builtin!(chor_b_string_to_int(s) string_to_int(&s));
builtin!(chor_b_string_chars(s) string_chars(&s));
builtin!(chor_b_map_new() Ok(Val::Map(Rc::new(BTreeMap::new()))));
builtin!(chor_b_map_insert(m, k, x) map_insert(m, k, x));
builtin!(chor_b_map_get(m, k) map_get(m, &k));
builtin!(chor_b_map_remove(m, k) map_remove(m, &k));
builtin!(chor_b_map_len(m) map_len(m));
builtin!(chor_b_map_keys(m) map_keys(m));
builtin!(chor_b_float_from_int(x) library::float_from_int(&x));
builtin!(chor_b_float_to_int(x) library::float_to_int_v(&x));
builtin!(chor_b_float_sqrt(x) library::float_sqrt(&x));
builtin!(chor_b_float_floor(x) library::float_floor(&x));
builtin!(chor_b_string_trim(s) library::string_trim(&s));
builtin!(chor_b_string_replace(s, a, b) library::string_replace(&s, &a, &b));
builtin!(chor_b_string_slice(s, a, b) library::string_slice(&s, &a, &b));
builtin!(chor_b_string_find(s, n) library::string_find(&s, &n));
builtin!(chor_b_string_to_upper(s) library::string_to_upper(&s));
builtin!(chor_b_string_to_lower(s) library::string_to_lower(&s));
builtin!(chor_b_string_to_float(s) library::string_to_float(&s));
builtin!(chor_b_list_sort(l) library::list_sort(l));
builtin!(chor_b_list_sum(l) library::list_sum(l));
builtin!(chor_b_list_set(l, i, x) library::list_set(l, &i, x));
builtin!(chor_b_list_insert(l, i, x) library::list_insert(l, &i, x));
builtin!(chor_b_list_remove(l, i) library::list_remove(l, &i));
builtin!(chor_b_io_read_line() world::io_read_line());
builtin!(chor_b_io_write(s) world::io_write(&s));
builtin!(chor_b_io_eprint(s) world::io_eprint(&s));
builtin!(chor_b_env_args() world::env_args());
builtin!(chor_b_env_var(n) world::env_var_v(&n));
builtin!(chor_b_fs_read(p) world::fs_read_v(&p));
builtin!(chor_b_fs_write(p, s) world::fs_write_v(&p, &s));
builtin!(chor_b_fs_append(p, s) world::fs_append_v(&p, &s));
builtin!(chor_b_fs_exists(p) world::fs_exists_v(&p));
builtin!(chor_b_time_now_ms() world::time_now_ms());
builtin!(chor_b_time_monotonic_ms() world::time_monotonic_ms());
builtin!(chor_b_time_sleep_ms(n) world::time_sleep_ms(&n));
builtin!(chor_b_random_int(lo, hi) world::random_int(role(), &lo, &hi));
builtin!(chor_b_random_float() world::random_float(role()));
builtin!(chor_b_crypto_sha256(s) world::crypto_sha256(&s));
builtin!(chor_b_crypto_hmac_sha256(k, s) world::crypto_hmac_sha256(&k, &s));

/// The runtime symbol and arity of a `#[builtin]` function, by module and name.
pub fn builtin_symbol(module: Option<&str>, name: &str) -> Option<(&'static str, usize)> {
    let table: HashMap<(Option<&str>, &str), (&'static str, usize)> = [
        ((None, "print"), ("chor_b_print", 1)),
        ((None, "to_string"), ("chor_b_to_string", 1)),
        ((None, "read_line"), ("chor_b_read_line", 0)),
        ((None, "panic"), ("chor_b_panic", 1)),
        ((Some("list"), "len"), ("chor_b_list_len", 1)),
        ((Some("list"), "get"), ("chor_b_list_get", 2)),
        ((Some("list"), "push"), ("chor_b_list_push", 2)),
        ((Some("list"), "take"), ("chor_b_list_take", 2)),
        ((Some("list"), "drop"), ("chor_b_list_drop", 2)),
        ((Some("string"), "len"), ("chor_b_string_len", 1)),
        ((Some("string"), "split"), ("chor_b_string_split", 2)),
        ((Some("string"), "contains"), ("chor_b_string_contains", 2)),
        ((Some("string"), "to_int"), ("chor_b_string_to_int", 1)),
        ((Some("string"), "chars"), ("chor_b_string_chars", 1)),
        ((Some("map"), "new"), ("chor_b_map_new", 0)),
        ((Some("map"), "insert"), ("chor_b_map_insert", 3)),
        ((Some("map"), "get"), ("chor_b_map_get", 2)),
        ((Some("map"), "remove"), ("chor_b_map_remove", 2)),
        ((Some("map"), "len"), ("chor_b_map_len", 1)),
        ((Some("map"), "keys"), ("chor_b_map_keys", 1)),
        ((Some("float"), "from_int"), ("chor_b_float_from_int", 1)),
        ((Some("float"), "to_int"), ("chor_b_float_to_int", 1)),
        ((Some("float"), "sqrt"), ("chor_b_float_sqrt", 1)),
        ((Some("float"), "floor"), ("chor_b_float_floor", 1)),
        ((Some("string"), "trim"), ("chor_b_string_trim", 1)),
        ((Some("string"), "replace"), ("chor_b_string_replace", 3)),
        ((Some("string"), "slice"), ("chor_b_string_slice", 3)),
        ((Some("string"), "find"), ("chor_b_string_find", 2)),
        ((Some("string"), "to_upper"), ("chor_b_string_to_upper", 1)),
        ((Some("string"), "to_lower"), ("chor_b_string_to_lower", 1)),
        ((Some("string"), "to_float"), ("chor_b_string_to_float", 1)),
        ((Some("list"), "sort"), ("chor_b_list_sort", 1)),
        ((Some("list"), "sum"), ("chor_b_list_sum", 1)),
        ((Some("list"), "set"), ("chor_b_list_set", 3)),
        ((Some("list"), "insert"), ("chor_b_list_insert", 3)),
        ((Some("list"), "remove"), ("chor_b_list_remove", 2)),
        ((Some("io"), "read_line"), ("chor_b_io_read_line", 0)),
        ((Some("io"), "write"), ("chor_b_io_write", 1)),
        ((Some("io"), "eprint"), ("chor_b_io_eprint", 1)),
        ((Some("env"), "args"), ("chor_b_env_args", 0)),
        ((Some("env"), "var"), ("chor_b_env_var", 1)),
        ((Some("fs"), "read"), ("chor_b_fs_read", 1)),
        ((Some("fs"), "write"), ("chor_b_fs_write", 2)),
        ((Some("fs"), "append"), ("chor_b_fs_append", 2)),
        ((Some("fs"), "exists"), ("chor_b_fs_exists", 1)),
        ((Some("time"), "now_ms"), ("chor_b_time_now_ms", 0)),
        (
            (Some("time"), "monotonic_ms"),
            ("chor_b_time_monotonic_ms", 0),
        ),
        ((Some("time"), "sleep_ms"), ("chor_b_time_sleep_ms", 1)),
        ((Some("random"), "int"), ("chor_b_random_int", 2)),
        ((Some("random"), "float"), ("chor_b_random_float", 0)),
        ((Some("crypto"), "sha256"), ("chor_b_crypto_sha256", 1)),
        (
            (Some("crypto"), "hmac_sha256"),
            ("chor_b_crypto_hmac_sha256", 2),
        ),
    ]
    .into_iter()
    .collect();
    table.get(&(module, name)).copied()
}

/// Tag of "no element" returned by [`chor_rt_list_get_b`] / [`chor_rt_map_get_b`].
pub const TAG_NONE: u64 = 255;

/// `match list::get(xs, i) { Some(x) => …, None => … }` without the `Option`: element `i`
/// (a new reference) or a value tagged [`TAG_NONE`]. Borrows the list, consumes the index.
/// (Generated code reads lists in the Int form itself.)
///
/// # Safety
/// Both are live values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_list_get_b(lt: u64, lb: u64, it: u64, ib: u64, loc: u64) -> V {
    // SAFETY: per the contract.
    let (l, i) = unsafe { (peek(v(lt, lb)), from_raw(v(it, ib))) };
    match (&*l, &i) {
        (Val::List(xs), Val::Int(i)) => match usize::try_from(*i).ok().and_then(|i| xs.get(i)) {
            Some(x) => into_raw(x),
            None => v(TAG_NONE, 0),
        },
        _ => fault_at(
            format!("expected a List and an Int, found {}", to_literal(&l)),
            loc,
        ),
    }
}

/// `match map::get(m, k) { … }` without the `Option` (see [`chor_rt_list_get_b`]). Borrows
/// the map, consumes the key.
///
/// # Safety
/// Both are live values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_map_get_b(mt: u64, mb: u64, kt: u64, kb: u64, loc: u64) -> V {
    // SAFETY: per the contract.
    let (m, k) = unsafe { (peek(v(mt, mb)), from_raw(v(kt, kb))) };
    match &*m {
        Val::Map(m) => match m.get(&k) {
            Some(x) => into_raw(x.clone()),
            None => v(TAG_NONE, 0),
        },
        other => fault_at(format!("expected a Map, found {}", to_literal(other)), loc),
    }
}

/// `list::push`: in place when the list is not shared (the common case, kept short).
///
/// # Safety
/// Both are live values, consumed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_b_list_push(l: V, x: V, loc: u64) -> V {
    if l.tag == TAG_LIST {
        // SAFETY: a list's bits come from `List::into_raw`; the reference is ours.
        let mut list = unsafe { List::from_raw(l.bits as *const u8) };
        if x.tag == TAG_INT {
            list.push(Val::Int(x.bits as i64));
        } else {
            // SAFETY: per the contract.
            list.push(unsafe { from_raw(x) });
        }
        // Growing may have moved the list: its new address.
        return v(TAG_LIST, list.into_raw() as u64);
    }
    // SAFETY: per the contract.
    let (l, x) = unsafe { (from_raw(l), from_raw(x)) };
    ok(list_push(l, x), loc)
}

/// `s ++ "literal"`: appends the `len` bytes at `p` to `s` (consumed; in place when not
/// shared).
///
/// # Safety
/// `(t, b)` is a live value; `p` points to `len` bytes of UTF-8.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_concat_str(
    t: u64,
    b: u64,
    p: *const u8,
    len: usize,
    loc: u64,
) -> V {
    // SAFETY: per the contract (the code generator passes the bytes of a `str`).
    let lit = unsafe {
        let bytes: &[u8] = if p.is_null() {
            &[]
        } else {
            std::slice::from_raw_parts(p, len)
        };
        std::str::from_utf8_unchecked(bytes)
    };
    if t == TAG_STR {
        // SAFETY: a string's bits come from `Rc::into_raw` of a `String`; the reference is ours.
        let mut rc = ManuallyDrop::new(unsafe { Rc::from_raw(b as *const String) });
        if let Some(s) = Rc::get_mut(&mut rc) {
            match lit.as_bytes() {
                // One byte of UTF-8 is an ASCII character.
                [c] => s.push(char::from(*c)),
                _ => s.push_str(lit),
            }
            return v(t, b);
        }
    }
    // SAFETY: per the contract.
    match unsafe { from_raw(v(t, b)) } {
        Val::Str(s) => {
            let mut n = String::with_capacity(s.len() + lit.len());
            n.push_str(&s);
            n.push_str(lit);
            into_raw(Val::str(n))
        }
        other => ok(binary(Op::Concat, other, Val::str(lit)), loc),
    }
}

/// Signature of a glue entry `chor_x_NAME` (see the driver's `externs.rs`).
pub type ExternEntry = unsafe extern "C" fn(*const u8, usize, *mut *mut u8, *mut usize) -> i32;
/// Signature of the glue's `chor_x_free`.
pub type ExternFree = unsafe extern "C" fn(*mut u8, usize);

/// Why a call through an extern's glue gave no value.
#[derive(Debug, Clone, PartialEq)]
pub enum GlueError {
    /// The glue's own message (a panic it caught, a wrong argument), which names the extern.
    Failed(String),
    /// The result bytes are a label, not a value.
    Label,
    /// The result bytes are no message at all.
    Malformed(String),
}

/// Calls an extern through its glue with its arguments as one tuple: the bytes that cross are
/// those of a message (`crate::codec`), in every back end, so the interpreters and native
/// code run the very same Rust code the same way.
///
/// # Safety
/// `entry` and `free` are a generated glue's `chor_x_NAME` and `chor_x_free`.
pub unsafe fn call_glue(
    entry: ExternEntry,
    free: ExternFree,
    args: crate::value::Value,
) -> Result<crate::value::Value, GlueError> {
    let bytes = crate::codec::encode(&Message::Value(args));
    let mut out: *mut u8 = std::ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: the glue reads `len` bytes at `bytes` and writes a boxed slice it allocated to
    // `out`/`len`, which is handed back to its `chor_x_free` once copied.
    let code = unsafe { entry(bytes.as_ptr(), bytes.len(), &mut out, &mut len) };
    let result = if out.is_null() {
        Vec::new()
    } else {
        // SAFETY: see above; the slice is valid until freed.
        let r = unsafe { std::slice::from_raw_parts(out, len) }.to_vec();
        unsafe { free(out, len) };
        r
    };
    if code != 0 {
        return Err(GlueError::Failed(
            String::from_utf8_lossy(&result).into_owned(),
        ));
    }
    match crate::codec::decode(&result) {
        Ok(Message::Value(w)) => Ok(w),
        Ok(Message::Label(_)) => Err(GlueError::Label),
        Err(e) => Err(GlueError::Malformed(e.to_string())),
    }
}

/// Calls a Rust extern through its glue: `entry` and `free` are the glue's functions, `(t, b)`
/// the argument tuple (consumed; `()` for no argument). The arguments and the result cross as
/// message bytes; an error of the glue (a panic it caught) ends the role at `loc`.
///
/// # Safety
/// `entry` and `free` are the addresses of a generated glue's `chor_x_NAME` and `chor_x_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_extern(entry: u64, free: u64, t: u64, b: u64, loc: u64) -> V {
    // SAFETY: per the contract (owned argument).
    let args = unsafe { from_raw(v(t, b)) };
    let wire = match to_wire(&args) {
        Some(crate::value::Value::Unit) => crate::value::Value::Tuple(Vec::new()),
        Some(w) => w,
        None => fault_at("a function value cannot be passed to an extern", loc),
    };
    drop(args);
    // SAFETY: per the contract, these are the glue's functions with these signatures.
    let (entry, free) = unsafe {
        (
            std::mem::transmute::<usize, ExternEntry>(entry as usize),
            std::mem::transmute::<usize, ExternFree>(free as usize),
        )
    };
    // SAFETY: per the contract.
    match unsafe { call_glue(entry, free, wire) } {
        Ok(w) => match from_wire(w) {
            Ok(x) => into_raw(x),
            Err(e) => fault_at(format!("an extern returned {e}"), loc),
        },
        Err(GlueError::Failed(m)) => fault_at(m, loc),
        Err(_) => fault_at("an extern returned malformed bytes", loc),
    }
}

/// Stops the role after a direct extern call failed (a panic caught by the glue): `msg` /
/// `len` is the message the glue wrote, a boxed slice that `free` (the glue's `chor_x_free`)
/// releases.
///
/// # Safety
/// `msg` points to `len` bytes boxed by the glue; `free` is the glue's `chor_x_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn chor_rt_extern_failed(msg: *mut u8, len: usize, free: u64, loc: u64) {
    // SAFETY: per the contract.
    let text =
        String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(msg, len) }).into_owned();
    // SAFETY: per the contract.
    unsafe { std::mem::transmute::<usize, ExternFree>(free as usize)(msg, len) };
    fault_at(text, loc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_code_finds_the_count_of_every_heap_value() {
        // What the inline code does: read the word at RC_STRONG from `bits`.
        let count = |x: V| {
            // SAFETY: `x` is a live heap value; its count is inside the allocation.
            unsafe {
                (x.bits as *const u8)
                    .offset(RC_STRONG as isize)
                    .cast::<u64>()
                    .read()
            }
        };
        let values = [
            Val::str("s"),
            Val::tuple(vec![Val::Int(1), Val::Unit]),
            Val::list(vec![Val::Int(1)]),
            Val::Map(Rc::new(BTreeMap::new())),
            Val::Struct(Rc::new(Agg {
                id: 0,
                fields: vec![],
            })),
            Val::variant(0, vec![Val::Int(2)]),
        ];
        for x in values {
            let x = into_raw(x);
            assert_eq!(count(x), 1, "tag {}", x.tag);
            // SAFETY: `x` is live; the extra reference is dropped again below.
            unsafe { chor_rt_inc(x.tag, x.bits) };
            assert_eq!(count(x), 2, "tag {}", x.tag);
            // SAFETY: as above; then the last reference is taken back and dropped.
            unsafe {
                drop(from_raw(x));
                assert_eq!(count(x), 1, "tag {}", x.tag);
                drop(from_raw(x));
            }
        }
    }

    #[test]
    fn push_fills_free_slots_then_grows() {
        let l = into_raw(Val::list(vec![]));
        let mut l = l;
        for i in 0..100 {
            // SAFETY: `l` is a live list whose reference is given to the call.
            l = unsafe { chor_b_list_push(l, v(TAG_INT, i), 0) };
        }
        // SAFETY: `l` was made by into_raw; its reference is taken back.
        let back = unsafe { from_raw(l) };
        let want: Vec<Val> = (0..100).map(Val::Int).collect();
        assert_eq!(back, Val::list(want));
    }

    #[test]
    fn push_into_a_shared_list_copies_it() {
        let a = into_raw(Val::list(vec![Val::Int(1)]));
        // SAFETY: `a` is live; the second reference is the push's, the first stays ours.
        let (a, b) = unsafe {
            chor_rt_inc(a.tag, a.bits);
            let b = chor_b_list_push(a, v(TAG_INT, 2), 0);
            (from_raw(a), from_raw(b))
        };
        assert_eq!(to_literal(&a), "[1]");
        assert_eq!(to_literal(&b), "[1, 2]");
        // Strings too: appending a literal to a shared string leaves the other holder's.
        let s = into_raw(Val::str("ab"));
        // SAFETY: as above.
        let (s, t) = unsafe {
            chor_rt_inc(s.tag, s.bits);
            let t = chor_rt_concat_str(s.tag, s.bits, "c".as_ptr(), 1, 0);
            (from_raw(s), from_raw(t))
        };
        assert_eq!(to_display(&s), "ab");
        assert_eq!(to_display(&t), "abc");
    }
}
