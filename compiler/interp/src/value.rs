//! Run-time values of the reference interpreter. Their order (map keys, `==`, `<`) and printing
//! are chor-print's, shared with native code through the [`chor_print::View`] impl below;
//! dropping a deeply nested value does not recurse ([`Seq`]).

use chor_print::{Items, Shape};
use std::cmp::Ordering;
use std::collections::BTreeMap;
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
    Tuple(Arc<Seq>),
    List(Arc<Seq>),
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
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(Seq(items)))
    }
    pub fn tuple(items: Vec<Value>) -> Value {
        Value::Tuple(Arc::new(Seq(items)))
    }
}

/// The elements of a tuple or list. A newtype over `Vec` so that dropping a value nested
/// millions of levels deep (a list wrapped in a list in a loop) does not recurse.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seq(pub Vec<Value>);

impl std::ops::Deref for Seq {
    type Target = Vec<Value>;
    fn deref(&self) -> &Vec<Value> {
        &self.0
    }
}
impl std::ops::DerefMut for Seq {
    fn deref_mut(&mut self) -> &mut Vec<Value> {
        &mut self.0
    }
}

impl FromIterator<Value> for Seq {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Seq {
        Seq(iter.into_iter().collect())
    }
}

impl Drop for Seq {
    fn drop(&mut self) {
        release(&mut self.0);
    }
}
impl Drop for StructVal {
    fn drop(&mut self) {
        release(&mut self.fields);
    }
}
impl Drop for VariantVal {
    fn drop(&mut self) {
        release(&mut self.fields);
    }
}

/// Drops `items` without recursion: the parts of compound values that this was the last
/// reference to are moved onto an explicit stack (emptied parts drop in constant stack).
fn release(items: &mut Vec<Value>) {
    fn compound(v: &Value) -> bool {
        matches!(
            v,
            Value::Tuple(_) | Value::List(_) | Value::Map(_) | Value::Struct(_) | Value::Variant(_)
        )
    }
    if !items.iter().any(compound) {
        return;
    }
    let mut stack = std::mem::take(items);
    while let Some(v) = stack.pop() {
        match v {
            Value::Tuple(a) | Value::List(a) => {
                if let Some(mut s) = Arc::into_inner(a) {
                    stack.append(&mut s.0);
                }
            }
            Value::Struct(a) => {
                if let Some(mut s) = Arc::into_inner(a) {
                    stack.append(&mut s.fields);
                }
            }
            Value::Variant(a) => {
                if let Some(mut s) = Arc::into_inner(a) {
                    stack.append(&mut s.fields);
                }
            }
            Value::Map(m) => {
                if let Some(m) = Arc::into_inner(m) {
                    for (k, x) in m {
                        stack.push(k);
                        stack.push(x);
                    }
                }
            }
            _ => {}
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
    /// The one order of values (chor-print), shared with native code.
    fn cmp(&self, other: &Value) -> Ordering {
        chor_print::compare(self, other)
    }
}

impl chor_print::View for Value {
    type Name = Arc<str>;
    fn shape(&self) -> Shape<'_, Value> {
        match self {
            Value::Unit => Shape::Unit,
            Value::Bool(b) => Shape::Bool(*b),
            Value::Int(i) => Shape::Int(*i),
            Value::Float(x) => Shape::Float(*x),
            Value::Str(s) => Shape::Str(s),
            Value::Tuple(xs) => Shape::Tuple(xs),
            Value::List(xs) => Shape::List(Items::Vals(xs)),
            Value::Map(m) => Shape::Map(m),
            Value::Struct(s) => Shape::Struct {
                name: &s.name,
                names: &s.field_names,
                fields: &s.fields,
            },
            Value::Variant(v) => Shape::Variant {
                name: &v.name,
                fields: &v.fields,
            },
            Value::Func(f) => match &**f {
                FuncVal::Named { module, name } => Shape::Func {
                    is_variant: false,
                    module: module.as_deref(),
                    name,
                },
                FuncVal::Variant(name) => Shape::Func {
                    is_variant: true,
                    module: None,
                    name,
                },
            },
        }
    }
}

/// Quote a string in literal syntax (the same escapes as source literals).
pub use chor_print::quote;

/// `Float` in literal syntax: always with a fractional part or exponent.
pub use chor_print::float_text;

/// The literal form of a value (strings quoted).
pub fn literal(v: &Value, out: &mut String) {
    chor_print::literal(v, out);
}

/// `to_string`: a String is itself, anything else its literal form.
pub fn to_display(v: &Value) -> String {
    chor_print::display(v)
}

/// The literal form as a new string.
pub fn to_literal(v: &Value) -> String {
    chor_print::to_literal(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_the_card() {
        let l = Value::list(vec![Value::Int(1), Value::Int(2), Value::Int(3)]);
        assert_eq!(to_display(&l), "[1, 2, 3]");
        let t = Value::tuple(vec![Value::Int(1), Value::str("a")]);
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
