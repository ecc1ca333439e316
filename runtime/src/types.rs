//! Message types: what a receive expects, as a compact table of type descriptors, and the
//! check of a received value against it (the *typed receive*).
//!
//! The checker knows the static type of every communicated expression. It travels with each
//! receive as an index into a [`TypeTable`]: generic types are instantiated (`Option<Int>` and
//! `Option<String>` are two entries), and recursive types refer back into the table by index,
//! so the table is finite however deep the values are. Before generated code (or the
//! interpreter) sees a received value, [`TypeTable::check`] walks it against its entry — tags,
//! list elements, map keys and values, struct names and field counts, variant names and payload
//! counts — so a peer that sends an `Int` where a `List<Int>` is due is reported, never trusted.
//!
//! The walk keeps its own stack, so checking a value of millions of nodes cannot overflow the
//! thread's stack (the codec limits nesting anyway).
//!
//! The table also has a one-line-per-entry text form, which the code generator embeds in each
//! native executable and the runtime reads back ([`TypeTable::parse_line`]).

use std::fmt;

use crate::value::Value;

/// An index into a [`TypeTable`].
pub type TyId = u32;

/// One entry of a [`TypeTable`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TyNode {
    /// Not known statically (a type the program left open, e.g. the element type of a list
    /// that is always empty): any well-formed value is accepted, since no code inspects it at
    /// a particular type.
    Any,
    /// `()`.
    Unit,
    Bool,
    Int,
    Float,
    Str,
    /// A tuple of two or more elements.
    Tuple(Vec<TyId>),
    List(TyId),
    Map(TyId, TyId),
    /// A struct: its name on the wire, how it is written (`Pair<Int, Bool>`) and its fields'
    /// types in declaration order.
    Struct {
        name: String,
        shown: String,
        fields: Vec<TyId>,
    },
    /// An enum: how it is written and its variants with their payload types.
    Enum {
        shown: String,
        variants: Vec<(String, Vec<TyId>)>,
    },
}

/// The message types of one program.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TypeTable {
    pub nodes: Vec<TyNode>,
}

/// Why a received value does not have the expected type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeMismatch {
    /// The type the receive expects, as written in the program.
    pub expected: String,
    /// The received value's type as far as it can be told (`List<String>`).
    pub received: String,
    /// Where inside the value it went wrong, when not at the top (`element 3`, `field 1 of
    /// Order`), with what was expected there and what was found.
    pub inner: Option<(String, String, String)>,
}

impl fmt::Display for TypeMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}, received {}", self.expected, self.received)?;
        if let Some((path, want, got)) = &self.inner {
            write!(f, " ({path}: expected {want}, found {got})")?;
        }
        Ok(())
    }
}

/// How deep [`describe`] looks into a received value to name its type.
const DESCRIBE_DEPTH: usize = 4;

/// The type of a (received) value as far as it shows: `List<String>`, `Order`, `Some(…)`.
/// Empty collections show their element type as `?`.
pub fn describe(v: &Value) -> String {
    let mut out = String::new();
    describe_into(v, DESCRIBE_DEPTH, &mut out);
    out
}

fn describe_into(v: &Value, depth: usize, out: &mut String) {
    if depth == 0 {
        out.push('…');
        return;
    }
    match v {
        Value::Unit => out.push_str("()"),
        Value::Bool(_) => out.push_str("Bool"),
        Value::Int(_) => out.push_str("Int"),
        Value::Float(_) => out.push_str("Float"),
        Value::Str(_) => out.push_str("String"),
        Value::Tuple(xs) => {
            out.push('(');
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if i == 4 {
                    out.push('…');
                    break;
                }
                describe_into(x, depth - 1, out);
            }
            out.push(')');
        }
        Value::List(xs) => {
            out.push_str("List<");
            match xs.first() {
                Some(x) => describe_into(x, depth - 1, out),
                None => out.push('?'),
            }
            out.push('>');
        }
        Value::Map(kv) => {
            out.push_str("Map<");
            match kv.first() {
                Some((k, x)) => {
                    describe_into(k, depth - 1, out);
                    out.push_str(", ");
                    describe_into(x, depth - 1, out);
                }
                None => out.push_str("?, ?"),
            }
            out.push('>');
        }
        Value::Struct { name, fields } => {
            out.push_str(&clip(name));
            out.push_str(&format!(" (a struct with {} fields)", fields.len()));
        }
        Value::Variant { name, fields } => {
            out.push_str("variant ");
            out.push_str(&clip(name));
            if !fields.is_empty() {
                out.push_str(&format!(" with {} fields", fields.len()));
            }
        }
    }
}

/// A name from the network, shortened for an error message.
fn clip(name: &str) -> String {
    let mut s: String = name.chars().take(40).collect();
    if s.len() < name.len() {
        s.push('…');
    }
    s.escape_debug().to_string()
}

impl TypeTable {
    /// Adds `node` unless an equal entry exists; returns its index.
    pub fn intern(&mut self, node: TyNode) -> TyId {
        if let Some(i) = self.nodes.iter().position(|n| *n == node) {
            return i as TyId;
        }
        self.push(node)
    }

    /// Adds `node` as a new entry (for recursive types: reserve, then [`TypeTable::set`]).
    pub fn push(&mut self, node: TyNode) -> TyId {
        self.nodes.push(node);
        (self.nodes.len() - 1) as TyId
    }

    /// Replaces entry `id` (filling in a reserved entry).
    pub fn set(&mut self, id: TyId, node: TyNode) {
        if let Some(n) = self.nodes.get_mut(id as usize) {
            *n = node;
        }
    }

    fn node(&self, id: TyId) -> &TyNode {
        self.nodes.get(id as usize).unwrap_or(&TyNode::Any)
    }

    /// How the type is written in the program (`List<Int>`, `Option<String>`).
    pub fn show(&self, id: TyId) -> String {
        let mut out = String::new();
        self.show_into(id, 6, &mut out);
        out
    }

    fn show_into(&self, id: TyId, depth: usize, out: &mut String) {
        if depth == 0 {
            out.push('…');
            return;
        }
        match self.node(id) {
            TyNode::Any => out.push('_'),
            TyNode::Unit => out.push_str("()"),
            TyNode::Bool => out.push_str("Bool"),
            TyNode::Int => out.push_str("Int"),
            TyNode::Float => out.push_str("Float"),
            TyNode::Str => out.push_str("String"),
            TyNode::Tuple(xs) => {
                out.push('(');
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.show_into(*x, depth - 1, out);
                }
                out.push(')');
            }
            TyNode::List(x) => {
                out.push_str("List<");
                self.show_into(*x, depth - 1, out);
                out.push('>');
            }
            TyNode::Map(k, x) => {
                out.push_str("Map<");
                self.show_into(*k, depth - 1, out);
                out.push_str(", ");
                self.show_into(*x, depth - 1, out);
                out.push('>');
            }
            TyNode::Struct { shown, .. } | TyNode::Enum { shown, .. } => out.push_str(shown),
        }
    }

    /// Checks that `v` is a value of type `id`. Iterative: the depth of `v` costs heap, not
    /// stack.
    pub fn check(&self, id: TyId, v: &Value) -> Result<(), TypeMismatch> {
        // Each entry: the type expected, the value, and how to name its position.
        let mut stack: Vec<(TyId, &Value, Option<Step<'_>>)> = vec![(id, v, None)];
        // The positions of the ancestors of the value being checked are not kept (that would
        // cost a path per node); a mismatch names the innermost step only.
        while let Some((t, x, step)) = stack.pop() {
            let fail = |want: TyId| {
                let inner = step
                    .as_ref()
                    .map(|s| (s.text(), self.show(want), describe(x)));
                Err(TypeMismatch {
                    expected: self.show(id),
                    received: describe(v),
                    inner,
                })
            };
            match (self.node(t), x) {
                (TyNode::Any, _) => {}
                (TyNode::Unit, Value::Unit)
                | (TyNode::Bool, Value::Bool(_))
                | (TyNode::Int, Value::Int(_))
                | (TyNode::Float, Value::Float(_))
                | (TyNode::Str, Value::Str(_)) => {}
                (TyNode::Tuple(ts), Value::Tuple(xs)) if ts.len() == xs.len() => {
                    for (i, (t, x)) in ts.iter().zip(xs).enumerate() {
                        stack.push((*t, x, Some(Step::Element(i))));
                    }
                }
                (TyNode::List(e), Value::List(xs)) => {
                    for (i, x) in xs.iter().enumerate() {
                        stack.push((*e, x, Some(Step::Element(i))));
                    }
                }
                (TyNode::Map(k, e), Value::Map(kv)) => {
                    for (i, (kx, ex)) in kv.iter().enumerate() {
                        stack.push((*k, kx, Some(Step::Key(i))));
                        stack.push((*e, ex, Some(Step::Entry(i))));
                    }
                }
                (
                    TyNode::Struct { name, fields, .. },
                    Value::Struct {
                        name: n,
                        fields: fs,
                    },
                ) if name == n && fields.len() == fs.len() => {
                    for (i, (t, x)) in fields.iter().zip(fs).enumerate() {
                        stack.push((*t, x, Some(Step::Field(i, name.as_str()))));
                    }
                }
                (TyNode::Enum { variants, .. }, Value::Variant { name, fields }) => {
                    match variants
                        .iter()
                        .find(|(n, ts)| n == name && ts.len() == fields.len())
                    {
                        Some((vn, ts)) => {
                            for (i, (t, x)) in ts.iter().zip(fields).enumerate() {
                                stack.push((*t, x, Some(Step::Field(i, vn.as_str()))));
                            }
                        }
                        None => return fail(t),
                    }
                }
                _ => return fail(t),
            }
        }
        Ok(())
    }

    /// The text form of entry `id`: one line, tab-separated, without the line end.
    pub fn line(&self, id: TyId) -> String {
        let ids = |xs: &[TyId]| xs.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        match self.node(id) {
            TyNode::Any => "any".into(),
            TyNode::Unit => "unit".into(),
            TyNode::Bool => "bool".into(),
            TyNode::Int => "int".into(),
            TyNode::Float => "float".into(),
            TyNode::Str => "str".into(),
            TyNode::Tuple(xs) => format!("tuple\t{}", ids(xs)),
            TyNode::List(x) => format!("list\t{x}"),
            TyNode::Map(k, x) => format!("map\t{k}\t{x}"),
            TyNode::Struct {
                name,
                shown,
                fields,
            } => format!("struct\t{name}\t{}\t{}", clean(shown), ids(fields)),
            TyNode::Enum { shown, variants } => {
                let mut s = format!("enum\t{}", clean(shown));
                for (n, ts) in variants {
                    s.push_str(&format!("\t{n}={}", ids(ts)));
                }
                s
            }
        }
    }

    /// Reads back one line made by [`TypeTable::line`]; `None` if it is not one.
    pub fn parse_line(line: &str) -> Option<TyNode> {
        let ids = |s: &str| -> Option<Vec<TyId>> {
            if s.is_empty() {
                return Some(Vec::new());
            }
            s.split(',').map(|x| x.parse().ok()).collect()
        };
        let mut f = line.split('\t');
        Some(match f.next()? {
            "any" => TyNode::Any,
            "unit" => TyNode::Unit,
            "bool" => TyNode::Bool,
            "int" => TyNode::Int,
            "float" => TyNode::Float,
            "str" => TyNode::Str,
            "tuple" => TyNode::Tuple(ids(f.next()?)?),
            "list" => TyNode::List(f.next()?.parse().ok()?),
            "map" => TyNode::Map(f.next()?.parse().ok()?, f.next()?.parse().ok()?),
            "struct" => TyNode::Struct {
                name: f.next()?.to_string(),
                shown: f.next()?.to_string(),
                fields: ids(f.next()?)?,
            },
            "enum" => {
                let shown = f.next()?.to_string();
                let mut variants = Vec::new();
                for v in f {
                    let (n, ts) = v.split_once('=')?;
                    variants.push((n.to_string(), ids(ts)?));
                }
                TyNode::Enum { shown, variants }
            }
            _ => return None,
        })
    }
}

fn clean(s: &str) -> String {
    s.replace(['\t', '\n'], " ")
}

/// A position inside a value, for error messages.
enum Step<'a> {
    Element(usize),
    Key(usize),
    Entry(usize),
    Field(usize, &'a str),
}

impl Step<'_> {
    fn text(&self) -> String {
        match self {
            Step::Element(i) => format!("at element {i}"),
            Step::Key(i) => format!("at key {i}"),
            Step::Entry(i) => format!("at the value of entry {i}"),
            Step::Field(i, of) => format!("at field {i} of {of}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> (TypeTable, TyId, TyId, TyId) {
        let mut t = TypeTable::default();
        let int = t.intern(TyNode::Int);
        let list = t.intern(TyNode::List(int));
        let opt = t.push(TyNode::Any);
        t.set(
            opt,
            TyNode::Enum {
                shown: "Option<Int>".into(),
                variants: vec![("Some".into(), vec![int]), ("None".into(), vec![])],
            },
        );
        (t, int, list, opt)
    }

    #[test]
    fn accepts_values_of_the_type() {
        let (t, int, list, opt) = table();
        assert_eq!(t.check(int, &Value::Int(3)), Ok(()));
        let xs = Value::List(vec![Value::Int(1), Value::Int(2)]);
        assert_eq!(t.check(list, &xs), Ok(()));
        let some = Value::Variant {
            name: "Some".into(),
            fields: vec![Value::Int(1)],
        };
        assert_eq!(t.check(opt, &some), Ok(()));
    }

    #[test]
    fn names_expected_and_received_types() {
        let (t, _, list, opt) = table();
        let e = t
            .check(list, &Value::Int(3))
            .expect_err("an Int is not a list");
        assert_eq!(e.to_string(), "expected List<Int>, received Int");
        let strs = Value::List(vec![Value::Str("a".into())]);
        let e = t.check(list, &strs).expect_err("wrong elements");
        assert_eq!(
            e.to_string(),
            "expected List<Int>, received List<String> (at element 0: expected Int, found String)"
        );
        let bad = Value::Variant {
            name: "Some".into(),
            fields: vec![],
        };
        let e = t.check(opt, &bad).expect_err("wrong arity");
        assert_eq!(e.to_string(), "expected Option<Int>, received variant Some");
    }

    #[test]
    fn lines_round_trip() {
        let (t, ..) = table();
        for (i, n) in t.nodes.iter().enumerate() {
            assert_eq!(TypeTable::parse_line(&t.line(i as TyId)).as_ref(), Some(n));
        }
    }

    #[test]
    fn deep_values_check_without_recursion() {
        let mut t = TypeTable::default();
        let me = t.push(TyNode::Any);
        t.set(me, TyNode::List(me));
        let mut v = Value::List(vec![]);
        for _ in 0..200_000 {
            v = Value::List(vec![v]);
        }
        std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                assert_eq!(t.check(me, &v), Ok(()));
                // Dropping recurses: take the value apart level by level.
                let mut v = v;
                while let Value::List(mut xs) = v {
                    v = xs.pop().unwrap_or(Value::Unit);
                }
            })
            .expect("spawn")
            .join()
            .expect("no stack overflow");
    }
}
