//! The conversion, text, sorting and index `#[builtin]`s of the standard library (`float::`,
//! `string::trim` … `string::to_float`, `list::sort`, `list::set/insert/remove`) as the
//! reference interpreter runs them. The computations and fault texts are the native runtime's
//! own ([`chor_runtime::rt::library`]), so both back ends agree by construction.

use crate::eval::{Evaluator, Res, as_int, as_list, as_str, fault};
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

/// The list-building functions of the standard library that are written in .chor
/// (`list::map`, `sort_by`, …), run directly on the interpreter's values.
///
/// Written in .chor they grow an accumulator with `push(acc, x)` while the caller's frame still
/// holds `acc`, so each push copies the list and the whole call is quadratic; here each is
/// O(n) (O(n log n) for `sort_by`). They compute exactly what the .chor bodies compute — the
/// same calls of the function argument in the same order, the same result — which the
/// differential tests check against native code (that runs the .chor bodies). `Err` hands the
/// arguments back for a function that has no fast path.
pub fn fast_path(
    ev: &Evaluator<'_>,
    module: Option<&str>,
    name: &str,
    args: Vec<Value>,
    span: Span,
) -> Result<Res<Value>, Vec<Value>> {
    let r = match (module, name, &args[..]) {
        (Some("list"), "range", [a, b]) => (|| {
            let (a, b) = (as_int(a, span)?, as_int(b, span)?);
            Ok(Value::list((a..b.max(a)).map(Value::Int).collect()))
        })(),
        (Some("list"), "reverse", [xs]) => {
            as_list(xs, span).map(|l| Value::list(l.iter().rev().cloned().collect()))
        }
        (Some("list"), "map", [xs, f]) => (|| {
            let l = as_list(xs, span)?;
            let mut out = Vec::with_capacity(l.len());
            for x in l.iter() {
                out.push(ev.call_value(f, vec![x.clone()], span)?);
            }
            Ok(Value::list(out))
        })(),
        (Some("list"), "filter", [xs, keep]) => (|| {
            let mut out = Vec::new();
            for x in as_list(xs, span)?.iter() {
                match ev.call_value(keep, vec![x.clone()], span)? {
                    Value::Bool(true) => out.push(x.clone()),
                    Value::Bool(false) => {}
                    other => {
                        return fault(
                            format!("condition is {}, not a Bool", to_literal(&other)),
                            span,
                        );
                    }
                }
            }
            Ok(Value::list(out))
        })(),
        (Some("list"), "sort_by", [xs, key]) => (|| {
            let l = as_list(xs, span)?;
            let mut keyed = Vec::with_capacity(l.len());
            for (i, x) in l.iter().enumerate() {
                keyed.push((ev.call_value(key, vec![x.clone()], span)?, i));
            }
            // Stable: equal keys keep their order (the index breaks ties, as in the .chor body).
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(Value::list(
                keyed.into_iter().map(|(_, i)| l[i].clone()).collect(),
            ))
        })(),
        (Some("list"), "zip", [xs, ys]) => (|| {
            let (a, b) = (as_list(xs, span)?, as_list(ys, span)?);
            Ok(Value::list(
                a.iter()
                    .zip(b.iter())
                    .map(|(x, y)| Value::tuple(vec![x.clone(), y.clone()]))
                    .collect(),
            ))
        })(),
        (Some("list"), "concat", [xss]) => (|| {
            let mut out = Vec::new();
            for xs in as_list(xss, span)?.iter() {
                out.extend(as_list(xs, span)?.iter().cloned());
            }
            Ok(Value::list(out))
        })(),
        (Some("map"), "values", [m]) => {
            crate::eval::as_map(m, span).map(|m| Value::list(m.values().cloned().collect()))
        }
        (Some("map"), "entries", [m]) => crate::eval::as_map(m, span).map(|m| {
            Value::list(
                m.iter()
                    .map(|(k, v)| Value::tuple(vec![k.clone(), v.clone()]))
                    .collect(),
            )
        }),
        (Some("string"), "join", [parts, sep]) => (|| {
            let sep = as_str(sep, span)?;
            let parts = as_list(parts, span)?
                .iter()
                .map(|p| as_str(p, span).map(|s| &**s))
                .collect::<Res<Vec<&str>>>()?;
            Ok(Value::str(&parts.join(&**sep)))
        })(),
        _ => return Err(args),
    };
    Ok(r)
}
