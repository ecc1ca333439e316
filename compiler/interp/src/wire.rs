//! Conversion between interpreter values and the runtime's wire values.

use crate::value::{StructVal, Value, VariantVal};
use chor_check::{Program, QualName};
use chor_runtime::value::Value as Wire;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The wire form of a value; `None` for function values (they never travel: the checker rejects
/// such programs).
pub fn to_wire(v: &Value) -> Option<Wire> {
    Some(match v {
        Value::Unit => Wire::Unit,
        Value::Bool(b) => Wire::Bool(*b),
        Value::Int(i) => Wire::Int(*i),
        Value::Float(x) => Wire::Float(*x),
        Value::Str(s) => Wire::Str(s.to_string()),
        Value::Tuple(items) => Wire::Tuple(items.iter().map(to_wire).collect::<Option<_>>()?),
        Value::List(items) => Wire::List(items.iter().map(to_wire).collect::<Option<_>>()?),
        Value::Map(m) => Wire::Map(
            m.iter()
                .map(|(k, v)| Some((to_wire(k)?, to_wire(v)?)))
                .collect::<Option<_>>()?,
        ),
        Value::Struct(s) => Wire::Struct {
            name: s.name.to_string(),
            fields: s.fields.iter().map(to_wire).collect::<Option<_>>()?,
        },
        Value::Variant(x) => Wire::Variant {
            name: x.name.to_string(),
            fields: x.fields.iter().map(to_wire).collect::<Option<_>>()?,
        },
        Value::Func(_) => return None,
    })
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
