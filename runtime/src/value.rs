//! The wire value: what a role can send to another, and the message that carries it.
//!
//! This mirrors the value types of the design card (section 3) minus function values, which
//! cannot travel. Structs and enum variants travel by name with positional fields in
//! declaration order, so both ends need only agree on the checked program (which the
//! handshake's fingerprint guarantees), not on a schema.

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
