//! Calls of `extern fn`s in the interpreters: the project's glue library (built by the driver
//! as a cdylib) is loaded once per process, and each extern is its exported `chor_x_NAME`.
//!
//! Arguments and result cross as message bytes (`chor_runtime::codec`), the same bytes the
//! native back end hands the glue, so every back end runs the very same Rust code. The glue
//! catches panics (`chor_ffi::call`) and returns them as an error, which ends the role with a
//! fault naming the extern and the call's line.
//!
//! Loading a library and calling through raw function pointers is the one foreign-code
//! boundary of the interpreters, hence the `unsafe` below.
#![allow(unsafe_code)]

use crate::eval::{Res, fault};
use crate::value::Value;
use chor_check::Program;
use chor_diagnostics::Span;
use chor_runtime::value::Value as Wire;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use chor_runtime::rt::ffi::{ExternEntry as Entry, ExternFree as Free, GlueError, call_glue};

struct Glue {
    /// Kept for the life of the process: the function pointers below point into it.
    lib: libloading::Library,
    free: Free,
    entries: Mutex<HashMap<String, Entry>>,
}

static GLUE: OnceLock<Glue> = OnceLock::new();

/// Loads the glue library of the project (once per process; a second call with any path is a
/// no-op, since a process runs one program).
pub fn load(path: &Path) -> Result<(), String> {
    if GLUE.get().is_some() {
        return Ok(());
    }
    // SAFETY: the library is the glue chor generated and cargo built; its initialisers are
    // those of ordinary Rust crates.
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|e| format!("cannot load the extern library {}: {e}", path.display()))?;
    // SAFETY: `chor_x_free` has this signature in every generated glue.
    let free: Free = unsafe { lib.get::<Free>(b"chor_x_free\0") }
        .map(|s| *s)
        .map_err(|e| format!("{} is not a chor extern library: {e}", path.display()))?;
    let _ = GLUE.set(Glue {
        lib,
        free,
        entries: Mutex::new(HashMap::new()),
    });
    Ok(())
}

fn entry(g: &Glue, name: &str) -> Result<Entry, String> {
    let mut m = g.entries.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = m.get(name) {
        return Ok(*e);
    }
    let sym = format!("chor_x_{name}\0");
    // SAFETY: every `chor_x_NAME` of the glue has the `Entry` signature.
    let e: Entry = unsafe { g.lib.get::<Entry>(sym.as_bytes()) }
        .map(|s| *s)
        .map_err(|e| format!("the extern library has no `{name}`: {e}"))?;
    m.insert(name.to_string(), e);
    Ok(e)
}

/// Calls the extern `name` with `args`; a fault names the extern and points at the call.
pub fn call(prog: &Program, name: &str, args: Vec<Value>, span: Span) -> Res<Value> {
    let Some(g) = GLUE.get() else {
        return fault(
            format!("the extern `{name}` is not loaded (its project's crate was not built)"),
            span,
        );
    };
    let e = match entry(g, name) {
        Ok(e) => e,
        Err(m) => return fault(m, span),
    };
    let wire: Option<Vec<Wire>> = args.iter().map(crate::wire::to_wire).collect();
    let Some(wire) = wire else {
        return fault(
            format!("a function value passed to the extern `{name}`"),
            span,
        );
    };
    // SAFETY: `e` and `g.free` are the loaded glue's functions.
    let w = match unsafe { call_glue(e, g.free, Wire::Tuple(wire)) } {
        Ok(w) => w,
        // The glue's message names the extern.
        Err(GlueError::Failed(m)) => return fault(m, span),
        Err(GlueError::Label) => {
            return fault(format!("the extern `{name}` returned a label"), span);
        }
        Err(GlueError::Malformed(err)) => {
            return fault(
                format!("the extern `{name}` returned bad bytes: {err}"),
                span,
            );
        }
    };
    match crate::wire::from_wire(prog, w) {
        Ok(v) => Ok(v),
        Err(m) => fault(format!("the extern `{name}` returned {m}"), span),
    }
}
