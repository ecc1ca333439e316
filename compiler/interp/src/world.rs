//! The effectful modules of the standard library (`io::`, `env::`, `fs::`, `time::`,
//! `random::`, `crypto::`) as the reference interpreter runs them. Input, output, arguments
//! and random streams go through the embedding's [`Io`](crate::Io) (one role's or many roles'
//! in one process); files, clocks and hashes are the native runtime's own functions
//! ([`chor_runtime::rt::world`]), so every back end gives the same results and messages.

use crate::eval::{Evaluator, Res, as_int, as_str, fault};
use crate::value::Value;
use chor_diagnostics::Span;
use chor_runtime::rt::world as w;
use std::sync::Arc;

/// The modules implemented here.
pub const MODULES: &[&str] = &["io", "env", "fs", "time", "random", "crypto"];

fn result(r: Result<Value, String>) -> Value {
    match r {
        Ok(v) => Value::variant("Ok", vec![v]),
        Err(e) => Value::variant("Err", vec![Value::str(&e)]),
    }
}

fn option(v: Option<String>) -> Value {
    v.map_or_else(Value::none, |s| Value::some(Value::str(&s)))
}

/// The builtin `module::name` applied to `args`.
pub fn call_world(
    ev: &Evaluator<'_>,
    module: &str,
    name: &str,
    args: &[Value],
    span: Span,
) -> Res<Value> {
    let arg = |i: usize| -> Res<&Value> {
        match args.get(i) {
            Some(v) => Ok(v),
            None => fault("missing argument", span),
        }
    };
    let text = |i: usize| -> Res<&Arc<str>> { as_str(arg(i)?, span) };
    let int = |i: usize| -> Res<i64> { as_int(arg(i)?, span) };
    let role = ev.current_role();
    let io = ev.io;
    let lifted = |r: Result<Value, String>| r.or_else(|m| fault(m, span));
    match (module, name) {
        ("io", "read_line") => Ok(option(io.read_input(&role))),
        ("io", "write") => {
            io.write(&role, text(0)?);
            Ok(Value::Unit)
        }
        ("io", "eprint") => {
            io.eprint(&role, text(0)?);
            Ok(Value::Unit)
        }
        ("env", "args") => Ok(Value::list(
            io.args().iter().map(|a| Value::str(a)).collect(),
        )),
        ("env", "var") => Ok(option(w::env_var(text(0)?))),
        ("fs", "read") => Ok(result(w::fs_read(text(0)?).map(|s| Value::str(&s)))),
        ("fs", "write") => Ok(result(
            w::fs_write(text(0)?, text(1)?).map(|()| Value::Unit),
        )),
        ("fs", "append") => Ok(result(
            w::fs_append(text(0)?, text(1)?).map(|()| Value::Unit),
        )),
        ("fs", "exists") => Ok(Value::Bool(w::fs_exists(text(0)?))),
        ("time", "now_ms") => Ok(Value::Int(w::now_ms())),
        ("time", "monotonic_ms") => Ok(Value::Int(w::monotonic_ms())),
        ("time", "sleep_ms") => lifted(w::sleep_ms(int(0)?).map(|()| Value::Unit)),
        ("random", "int") => {
            let (lo, hi) = (int(0)?, int(1)?);
            lifted(
                io.streams()
                    .draw(&role, |r| r.int(lo, hi))
                    .and_then(|x| x)
                    .map(Value::Int),
            )
        }
        ("random", "float") => lifted(io.streams().draw(&role, |r| r.float()).map(Value::Float)),
        ("crypto", "sha256") => Ok(Value::str(&w::sha256_hex(text(0)?))),
        ("crypto", "hmac_sha256") => Ok(Value::str(&w::hmac_sha256_hex(text(0)?, text(1)?))),
        _ => fault(
            format!("no implementation of builtin `{module}::{name}`"),
            span,
        ),
    }
}
