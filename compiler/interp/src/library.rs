//! The conversion, text, sorting and index `#[builtin]`s of the standard library (`float::`,
//! `string::trim` … `string::to_float`, `list::sort`, `list::set/insert/remove`) as the
//! reference interpreter runs them. The computations and fault texts are the native runtime's
//! own ([`chor_runtime::rt::library`]), so both back ends agree by construction.

use crate::eval::{Res, as_int, as_list, as_str, fault};
use crate::value::{Value, to_literal};
use chor_diagnostics::Span;
use chor_runtime::rt::library as lib;
use std::sync::Arc;

fn arg(args: &[Value], i: usize, span: Span) -> Res<&Value> {
    match args.get(i) {
        Some(v) => Ok(v),
        None => fault("missing argument", span),
    }
}

fn float(v: &Value, span: Span) -> Res<f64> {
    match v {
        Value::Float(x) => Ok(*x),
        other => fault(
            format!("expected a Float, found {}", to_literal(other)),
            span,
        ),
    }
}

fn lifted<T>(r: Result<T, String>, span: Span) -> Res<T> {
    r.or_else(|m| fault(m, span))
}

fn option(v: Option<Value>) -> Value {
    v.map_or_else(Value::none, Value::some)
}

/// The builtin `module::name` of this group applied to `args`, or None when it is not one of
/// them.
pub fn call_library(
    module: Option<&str>,
    name: &str,
    args: Vec<Value>,
    span: Span,
) -> Option<Res<Value>> {
    if module == Some("list") && matches!(name, "set" | "insert" | "remove") {
        return Some(edit(name, args, span));
    }
    let args = &args[..];
    let text = |i: usize| -> Res<&Arc<str>> { as_str(arg(args, i, span)?, span) };
    let int = |i: usize| -> Res<i64> { as_int(arg(args, i, span)?, span) };
    let num = |i: usize| -> Res<f64> { float(arg(args, i, span)?, span) };
    let r = match (module?, name) {
        ("float", "from_int") => int(0).map(|x| Value::Float(x as f64)),
        ("float", "to_int") => {
            num(0).and_then(|x| lifted(lib::float_to_int(x), span).map(Value::Int))
        }
        ("float", "sqrt") => num(0).map(|x| Value::Float(x.sqrt())),
        ("float", "floor") => num(0).map(|x| Value::Float(x.floor())),
        ("string", "trim") => text(0).map(|s| Value::str(s.trim())),
        ("string", "replace") => (|| Ok(Value::str(&text(0)?.replace(&**text(1)?, text(2)?))))(),
        ("string", "slice") => (|| Ok(Value::str(&lib::str_slice(text(0)?, int(1)?, int(2)?))))(),
        ("string", "find") => (|| Ok(option(lib::str_find(text(0)?, text(1)?).map(Value::Int))))(),
        ("string", "to_upper") => text(0).map(|s| Value::str(&s.to_uppercase())),
        ("string", "to_lower") => text(0).map(|s| Value::str(&s.to_lowercase())),
        ("string", "to_float") => text(0).map(|s| option(lib::str_to_float(s).map(Value::Float))),
        ("list", "sort") => (|| {
            let mut v = as_list(arg(args, 0, span)?, span)?.to_vec();
            v.sort();
            Ok(Value::list(v))
        })(),
        ("list", "sum") => (|| {
            let xs = as_list(arg(args, 0, span)?, span)?;
            let ints = xs
                .iter()
                .map(|x| as_int(x, span))
                .collect::<Res<Vec<i64>>>()?;
            Ok(Value::Int(lifted(lib::int_sum(ints), span)?))
        })(),
        _ => return None,
    };
    Some(r)
}

/// `list::set`, `list::insert` and `list::remove`: in place when the list is not shared.
fn edit(name: &str, args: Vec<Value>, span: Span) -> Res<Value> {
    let mut args = args.into_iter();
    let (Some(Value::List(mut l)), Some(i)) = (args.next(), args.next()) else {
        return fault("expected a List and an index", span);
    };
    let at_end = name == "insert";
    let k = lifted(
        lib::list_index(name, as_int(&i, span)?, l.len(), at_end),
        span,
    )?;
    let v = Arc::make_mut(&mut l);
    match (name, args.next()) {
        ("set", Some(x)) => v[k] = x,
        ("insert", Some(x)) => v.insert(k, x),
        ("remove", None) => {
            v.remove(k);
        }
        _ => return fault("wrong number of arguments", span),
    }
    Ok(Value::List(l))
}
