//! Conversion between interpreter values and the runtime's wire values.
//!
//! A value deeper than a message may be ([`chor_runtime::codec::MAX_DEPTH`]) is refused by
//! [`too_deep`] before conversion, so the recursive conversions here never go deeper than
//! that limit whatever the program built; received values are within it by construction.

use crate::value::{StructVal, Value, VariantVal};
use chor_check::{Program, QualName};
use chor_runtime::value::Value as Wire;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Whether `v` nests compound values more than `limit` levels deep (iterative).
pub fn too_deep(v: &Value, limit: usize) -> bool {
    let mut todo: Vec<(&Value, usize)> = vec![(v, 0)];
    while let Some((v, d)) = todo.pop() {
        let before = todo.len();
        match v {
            Value::Tuple(xs) | Value::List(xs) => todo.extend(xs.iter().map(|x| (x, d + 1))),
            Value::Struct(s) => todo.extend(s.fields.iter().map(|x| (x, d + 1))),
            Value::Variant(x) => todo.extend(x.fields.iter().map(|x| (x, d + 1))),
            Value::Map(m) => {
                for (k, x) in m.iter() {
                    todo.push((k, d + 1));
                    todo.push((x, d + 1));
                }
            }
            _ => {}
        }
        if todo.len() > before && d + 1 > limit {
            return true;
        }
    }
    false
}

/// The wire form of a value; `None` for function values (they never travel: the checker rejects
/// such programs).
pub fn to_wire(v: &Value) -> Option<Wire> {
    Wire::of_view(v)
}

/// The interpreter value of a wire value; struct field names come from the program.
pub fn from_wire(prog: &Program, w: Wire) -> Result<Value, String> {
    Ok(match w {
        Wire::Unit => Value::Unit,
        Wire::Bool(b) => Value::Bool(b),
        Wire::Int(i) => Value::Int(i),
        Wire::Float(x) => Value::Float(x),
        Wire::Str(s) => Value::Str(Arc::from(s)),
        Wire::Tuple(items) => Value::Tuple(Arc::new(
            items
                .into_iter()
                .map(|x| from_wire(prog, x))
                .collect::<Result<_, _>>()?,
        )),
        Wire::List(items) => Value::List(Arc::new(
            items
                .into_iter()
                .map(|x| from_wire(prog, x))
                .collect::<Result<_, _>>()?,
        )),
        Wire::Map(entries) => {
            let mut m = BTreeMap::new();
            for (k, v) in entries {
                m.insert(from_wire(prog, k)?, from_wire(prog, v)?);
            }
            Value::Map(Arc::new(m))
        }
        Wire::Struct { name, fields } => {
            let def = prog
                .structs
                .get(&QualName::global(&name))
                .and_then(|r| prog.struct_def(*r))
                .ok_or_else(|| format!("received a value of unknown struct type `{name}`"))?;
            if def.fields.len() != fields.len() {
                return Err(format!(
                    "received a `{name}` with {} fields, expected {}",
                    fields.len(),
                    def.fields.len()
                ));
            }
            Value::Struct(Arc::new(StructVal {
                name: Arc::from(name.as_str()),
                field_names: def
                    .fields
                    .iter()
                    .map(|f| Arc::from(f.name.name.as_str()))
                    .collect(),
                fields: fields
                    .into_iter()
                    .map(|x| from_wire(prog, x))
                    .collect::<Result<_, _>>()?,
            }))
        }
        Wire::Variant { name, fields } => {
            if !prog.variants.contains_key(&name) {
                return Err(format!("received a value of unknown variant `{name}`"));
            }
            Value::Variant(Arc::new(VariantVal {
                name: Arc::from(name.as_str()),
                fields: fields
                    .into_iter()
                    .map(|x| from_wire(prog, x))
                    .collect::<Result<_, _>>()?,
            }))
        }
    })
}
