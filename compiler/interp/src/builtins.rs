//! The `#[builtin]` functions of the standard library, as the reference interpreter runs them.

use crate::eval::{Evaluator, Res, as_int, as_list, as_map, as_str, display, fault};
use crate::value::Value;
use chor_diagnostics::Span;
use std::collections::BTreeMap;
use std::sync::Arc;

fn arg(args: &[Value], i: usize, span: Span) -> Res<&Value> {
    match args.get(i) {
        Some(v) => Ok(v),
        None => fault("missing argument", span),
    }
}

fn clamp(n: i64, len: usize) -> usize {
    if n <= 0 {
        0
    } else {
        (n as u64).min(len as u64) as usize
    }
}

pub fn call_builtin(
    ev: &Evaluator<'_>,
    module: Option<&str>,
    name: &str,
    mut args: Vec<Value>,
    span: Span,
) -> Res<Value> {
    match (module, name) {
        (None, "print") => {
            ev.io
                .print(&ev.current_role(), &display(arg(&args, 0, span)?));
            Ok(Value::Unit)
        }
        (None, "to_string") => Ok(Value::str(&display(arg(&args, 0, span)?))),
        (None, "read_line") => Ok(Value::str(
            &ev.io.read_input(&ev.current_role()).unwrap_or_default(),
        )),
        (None, "panic") => fault(format!("panic: {}", display(arg(&args, 0, span)?)), span),
        (Some("list"), "len") => Ok(Value::Int(as_list(arg(&args, 0, span)?, span)?.len() as i64)),
        (Some("list"), "get") => {
            let l = as_list(arg(&args, 0, span)?, span)?;
            let i = as_int(arg(&args, 1, span)?, span)?;
            Ok(match usize::try_from(i).ok().and_then(|i| l.get(i)) {
                Some(v) => Value::some(v.clone()),
                None => Value::none(),
            })
        }
        (Some("list"), "push") => {
            if args.len() != 2 {
                return fault("missing argument", span);
            }
            let x = args.pop().unwrap_or(Value::Unit);
            let Some(Value::List(mut l)) = args.pop() else {
                return fault("expected a List", span);
            };
            Arc::make_mut(&mut l).push(x);
            Ok(Value::List(l))
        }
        (Some("list"), "take") => {
            let l = as_list(arg(&args, 0, span)?, span)?;
            let n = clamp(as_int(arg(&args, 1, span)?, span)?, l.len());
            Ok(Value::list(l[..n].to_vec()))
        }
        (Some("list"), "drop") => {
            let l = as_list(arg(&args, 0, span)?, span)?;
            let n = clamp(as_int(arg(&args, 1, span)?, span)?, l.len());
            Ok(Value::list(l[n..].to_vec()))
        }
        (Some("string"), "len") => Ok(Value::Int(
            as_str(arg(&args, 0, span)?, span)?.chars().count() as i64,
        )),
        (Some("string"), "split") => {
            let s = as_str(arg(&args, 0, span)?, span)?;
            let sep = as_str(arg(&args, 1, span)?, span)?;
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars().map(|c| Value::str(&c.to_string())).collect()
            } else {
                s.split(&**sep).map(Value::str).collect()
            };
            Ok(Value::list(parts))
        }
        (Some("string"), "contains") => {
            let s = as_str(arg(&args, 0, span)?, span)?;
            let sub = as_str(arg(&args, 1, span)?, span)?;
            Ok(Value::Bool(s.contains(&**sub)))
        }
        (Some("string"), "to_int") => {
            let s = as_str(arg(&args, 0, span)?, span)?;
            Ok(match s.parse::<i64>() {
                Ok(i) => Value::some(Value::Int(i)),
                Err(_) => Value::none(),
            })
        }
        (Some("string"), "chars") => {
            let s = as_str(arg(&args, 0, span)?, span)?;
            Ok(Value::list(
                s.chars().map(|c| Value::str(&c.to_string())).collect(),
            ))
        }
        (Some("map"), "new") => Ok(Value::Map(Arc::new(BTreeMap::new()))),
        (Some("map"), "insert") => {
            if args.len() != 3 {
                return fault("missing argument", span);
            }
            let v = args.pop().unwrap_or(Value::Unit);
            let k = args.pop().unwrap_or(Value::Unit);
            let Some(Value::Map(mut m)) = args.pop() else {
                return fault("expected a Map", span);
            };
            Arc::make_mut(&mut m).insert(k, v);
            Ok(Value::Map(m))
        }
        (Some("map"), "get") => {
            let m = as_map(arg(&args, 0, span)?, span)?;
            Ok(match m.get(arg(&args, 1, span)?) {
                Some(v) => Value::some(v.clone()),
                None => Value::none(),
            })
        }
        (Some("map"), "remove") => {
            if args.len() != 2 {
                return fault("missing argument", span);
            }
            let k = args.pop().unwrap_or(Value::Unit);
            let Some(Value::Map(mut m)) = args.pop() else {
                return fault("expected a Map", span);
            };
            Arc::make_mut(&mut m).remove(&k);
            Ok(Value::Map(m))
        }
        (Some("map"), "len") => Ok(Value::Int(as_map(arg(&args, 0, span)?, span)?.len() as i64)),
        (Some("map"), "keys") => Ok(Value::list(
            as_map(arg(&args, 0, span)?, span)?
                .keys()
                .cloned()
                .collect(),
        )),
        (Some(m), n) if crate::world::MODULES.contains(&m) => {
            crate::world::call_world(ev, m, n, &args, span)
        }
        (m, n) => match crate::library::call_library(m, n, args, span) {
            Some(r) => r,
            None => fault(
                format!(
                    "no implementation of builtin `{}{n}`",
                    m.map(|m| format!("{m}::")).unwrap_or_default()
                ),
                span,
            ),
        },
    }
}
