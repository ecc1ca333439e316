//! Run-time values of the reference interpreter, their total order (map keys) and printing.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// A struct value: type name, field names (shared per type) and field values in declaration order.
#[derive(Debug, Clone, PartialEq)]
pub struct StructVal {
    pub name: Arc<str>,
    pub field_names: Arc<[Arc<str>]>,
    pub fields: Vec<Value>,
}

/// An enum variant value with its positional payload.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantVal {
    pub name: Arc<str>,
    pub fields: Vec<Value>,
}

/// A function used as a value: a named function (`module`, `name`) or a variant constructor.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum FuncVal {
    Named {
        module: Option<Arc<str>>,
        name: Arc<str>,
    },
    Variant(Arc<str>),
}

#[derive(Debug, Clone)]
pub enum Value {
    Unit,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    Tuple(Arc<Vec<Value>>),
    List(Arc<Vec<Value>>),
    Map(Arc<BTreeMap<Value, Value>>),
    Struct(Arc<StructVal>),
    Variant(Arc<VariantVal>),
    Func(Arc<FuncVal>),
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }
    pub fn variant(name: &str, fields: Vec<Value>) -> Value {
        Value::Variant(Arc::new(VariantVal {
            name: Arc::from(name),
            fields,
        }))
    }
    pub fn some(v: Value) -> Value {
        Value::variant("Some", vec![v])
    }
    pub fn none() -> Value {
        Value::variant("None", vec![])
    }
    fn rank(&self) -> u8 {
        match self {
            Value::Unit => 0,
            Value::Bool(_) => 1,
            Value::Int(_) => 2,
            Value::Float(_) => 3,
            Value::Str(_) => 4,
            Value::Tuple(_) => 5,
            Value::List(_) => 6,
            Value::Map(_) => 7,
            Value::Struct(_) => 8,
            Value::Variant(_) => 9,
            Value::Func(_) => 10,
        }
    }
    /// Whether this value (transitively) holds a function.
    pub fn has_func(&self) -> bool {
        match self {
            Value::Func(_) => true,
            Value::Tuple(v) | Value::List(v) => v.iter().any(Value::has_func),
            Value::Map(m) => m.iter().any(|(k, v)| k.has_func() || v.has_func()),
            Value::Struct(s) => s.fields.iter().any(Value::has_func),
            Value::Variant(v) => v.fields.iter().any(Value::has_func),
            _ => false,
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Value {}
impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Value) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Value {
    fn cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Unit, Value::Unit) => Ordering::Equal,
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => a.total_cmp(b),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            (Value::Tuple(a), Value::Tuple(b)) | (Value::List(a), Value::List(b)) => {
                a.iter().cmp(b.iter())
            }
            (Value::Map(a), Value::Map(b)) => a.iter().cmp(b.iter()),
            (Value::Struct(a), Value::Struct(b)) => a
                .name
                .cmp(&b.name)
                .then_with(|| a.fields.iter().cmp(b.fields.iter())),
            (Value::Variant(a), Value::Variant(b)) => a
                .name
                .cmp(&b.name)
                .then_with(|| a.fields.iter().cmp(b.fields.iter())),
            (Value::Func(a), Value::Func(b)) => a.cmp(b),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }
}

/// Quote a string in literal syntax (the same escapes as source literals).
pub use chor_syntax::pretty::quote_str as quote;

/// `Float` in literal syntax: always with a fractional part or exponent.
pub use chor_syntax::pretty::float_text;

/// The literal form of a value (strings quoted).
pub fn literal(v: &Value, out: &mut String) {
    fn seq(items: &[Value], out: &mut String) {
        for (i, x) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            literal(x, out);
        }
    }
    match v {
        Value::Unit => out.push_str("()"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(x) => out.push_str(&float_text(*x)),
        Value::Str(s) => quote(s, out),
        Value::Tuple(items) => {
            out.push('(');
            seq(items, out);
            if items.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        Value::List(items) => {
            out.push('[');
            seq(items, out);
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                literal(k, out);
                out.push_str(": ");
                literal(x, out);
            }
            out.push('}');
        }
        Value::Struct(s) => {
            out.push_str(&s.name);
            if s.fields.is_empty() {
                out.push_str(" {}");
                return;
            }
            out.push_str(" { ");
            for (i, (n, x)) in s.field_names.iter().zip(s.fields.iter()).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(n);
                out.push_str(": ");
                literal(x, out);
            }
            out.push_str(" }");
        }
        Value::Variant(x) => {
            out.push_str(&x.name);
            if !x.fields.is_empty() {
                out.push('(');
                seq(&x.fields, out);
                out.push(')');
            }
        }
        Value::Func(f) => match &**f {
            FuncVal::Named {
                module: Some(m),
                name,
            } => {
                let _ = write!(out, "<fn {m}::{name}>");
            }
            FuncVal::Named { module: None, name } => {
                let _ = write!(out, "<fn {name}>");
            }
            FuncVal::Variant(n) => {
                let _ = write!(out, "<fn {n}>");
            }
        },
    }
}

/// `to_string`: a String is itself, anything else its literal form.
pub fn to_display(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        other => {
            let mut out = String::new();
            literal(other, &mut out);
            out
        }
    }
}

/// The literal form as a new string.
pub fn to_literal(v: &Value) -> String {
    let mut out = String::new();
    literal(v, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_the_card() {
        let l = Value::List(Arc::new(vec![Value::Int(1), Value::Int(2), Value::Int(3)]));
        assert_eq!(to_display(&l), "[1, 2, 3]");
        let t = Value::Tuple(Arc::new(vec![Value::Int(1), Value::str("a")]));
        assert_eq!(to_display(&t), "(1, \"a\")");
        assert_eq!(to_display(&Value::some(Value::str("1"))), "Some(\"1\")");
        assert_eq!(to_display(&Value::none()), "None");
        assert_eq!(to_display(&Value::Unit), "()");
        assert_eq!(to_display(&Value::str("hi")), "hi");
        assert_eq!(to_display(&Value::Float(1.0)), "1.0");
        assert_eq!(to_display(&Value::Float(3.5)), "3.5");
        let mut m = BTreeMap::new();
        m.insert(Value::str("b"), Value::str("2"));
        m.insert(Value::str("a"), Value::str("1"));
        assert_eq!(
            to_display(&Value::Map(Arc::new(m))),
            "{\"a\": \"1\", \"b\": \"2\"}"
        );
        let s = Value::Struct(Arc::new(StructVal {
            name: Arc::from("Quote"),
            field_names: Arc::from(vec![Arc::from("title"), Arc::from("price")]),
            fields: vec![Value::str("TAPL"), Value::Int(87)],
        }));
        assert_eq!(to_display(&s), "Quote { title: \"TAPL\", price: 87 }");
    }
}
