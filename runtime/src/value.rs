//! The wire value: what a role can send to another, and the message that carries it.
//!
//! This mirrors the value types of the design card (section 3) minus function values, which
//! cannot travel. Structs and enum variants travel by name with positional fields in
//! declaration order, so both ends need only agree on the checked program (which the
//! handshake's fingerprint guarantees), not on a schema.

use chor_print::{Items, Shape, View};

/// A value that travels between roles.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `()`.
    Unit,
    /// `true` / `false`.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float (bit pattern preserved, NaN included).
    Float(f64),
    /// A UTF-8 string.
    Str(String),
    /// A tuple `(a, b, …)`.
    Tuple(Vec<Value>),
    /// A `List<T>`.
    List(Vec<Value>),
    /// A `Map<K, V>`; entries are kept in key order by the sender.
    Map(Vec<(Value, Value)>),
    /// A struct value: its type name and its fields in declaration order.
    Struct { name: String, fields: Vec<Value> },
    /// An enum variant (`Some(3)`, `None`): the variant name and its positional payload.
    Variant { name: String, fields: Vec<Value> },
}

/// What one role sends to another: a communicated value, or a selection label.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// `R.e -> S.x`: the value of `e`.
    Value(Value),
    /// `R -> S[Label]`: the branch R took.
    Label(String),
}

impl Message {
    /// A short description for error messages ("label Buy", "a value").
    pub fn describe(&self) -> String {
        match self {
            Message::Value(_) => "a value".to_string(),
            Message::Label(l) => format!("label {l}"),
        }
    }
}

impl Value {
    /// The wire form of a value of any back end (both show their values to chor-print as
    /// [`View`]s, so there is one conversion); `None` for a function value, which never
    /// travels (the checker rejects such programs).
    pub fn of_view<V: View>(v: &V) -> Option<Value> {
        let all = |xs: &[V]| xs.iter().map(Value::of_view).collect::<Option<Vec<_>>>();
        Some(match v.shape() {
            Shape::Unit => Value::Unit,
            Shape::Bool(b) => Value::Bool(b),
            Shape::Int(i) => Value::Int(i),
            Shape::Float(x) => Value::Float(x),
            Shape::Str(s) => Value::Str(s.to_owned()),
            Shape::Tuple(xs) => Value::Tuple(all(xs)?),
            Shape::List(Items::Ints(is)) => {
                Value::List(is.iter().map(|i| Value::Int(*i)).collect())
            }
            Shape::List(Items::Vals(xs)) => Value::List(all(xs)?),
            Shape::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, x)| Some((Value::of_view(k)?, Value::of_view(x)?)))
                    .collect::<Option<Vec<_>>>()?,
            ),
            Shape::Struct { name, fields, .. } => Value::Struct {
                name: name.to_owned(),
                fields: all(fields)?,
            },
            Shape::Variant { name, fields } => Value::Variant {
                name: name.to_owned(),
                fields: all(fields)?,
            },
            Shape::Func { .. } => return None,
        })
    }
}
