//! Run-time values of native code: a two-word value (`tag`, `bits`) at the ABI, and its owned
//! Rust form [`Val`], reference counted (`Rc`: a role runs its code on one thread).
//!
//! Order and printing are chor-print's, shared with the reference interpreter through the
//! [`chor_print::View`] impl below; dropping a deeply nested value does not recurse
//! ([`release`]).

use super::rc::Rc;
use chor_print::{Items, Shape};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use super::list::{List, View as ListView};
use crate::value::Value as Wire;

/// Tags of the two-word ABI value; heap values have tags at or above [`TAG_STR`].
pub const TAG_UNIT: u64 = 0;
pub const TAG_BOOL: u64 = 1;
pub const TAG_INT: u64 = 2;
pub const TAG_FLOAT: u64 = 3;
pub const TAG_STR: u64 = 4;
pub const TAG_TUPLE: u64 = 5;
pub const TAG_LIST: u64 = 6;
pub const TAG_MAP: u64 = 7;
pub const TAG_STRUCT: u64 = 8;
pub const TAG_VARIANT: u64 = 9;
pub const TAG_FUNC: u64 = 10;

/// A tuple, struct or variant: its id in the program's tables and its fields.
#[derive(Debug, Clone)]
pub struct Agg {
    pub id: u32,
    pub fields: Vec<Val>,
}

/// A function value: its code address (for calls) and its name (for printing and order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FuncObj {
    /// Variant constructors order after named functions, as in the interpreter.
    pub is_variant: bool,
    pub module: Option<String>,
    pub name: String,
    pub code: usize,
}

#[derive(Debug, Clone)]
pub enum Val {
    Unit,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<String>),
    /// A tuple's elements (`id` is 0).
    Tuple(Rc<Agg>),
    /// A list is its own counted reference (one allocation: see [`List`]).
    List(List),
    Map(Rc<BTreeMap<Val, Val>>),
    Struct(Rc<Agg>),
    Variant(Rc<Agg>),
    Func(Rc<FuncObj>),
}

/// The program's struct and variant names, registered once at start by generated code.
#[derive(Debug, Default)]
pub struct Tables {
    pub structs: Vec<(String, Vec<String>)>,
    pub variants: Vec<String>,
    pub struct_ids: HashMap<String, u32>,
    pub variant_ids: HashMap<String, u32>,
}

static TABLES: OnceLock<Tables> = OnceLock::new();

/// Registers the program's tables (first call wins).
pub fn set_tables(t: Tables) {
    let _ = TABLES.set(t);
}

pub fn tables() -> &'static Tables {
    TABLES.get_or_init(Tables::default)
}

/// The name of variant `id` (`?` for an id the tables do not have).
pub(crate) fn variant_name(id: u32) -> &'static str {
    tables()
        .variants
        .get(id as usize)
        .map_or("?", String::as_str)
}

/// The name of struct `id` (`?` for an id the tables do not have).
pub(crate) fn struct_name(id: u32) -> &'static str {
    struct_info(id).0
}

fn struct_info(id: u32) -> (&'static str, &'static [String]) {
    tables()
        .structs
        .get(id as usize)
        .map_or(("?", &[][..]), |(n, f)| (n.as_str(), f.as_slice()))
}

impl Val {
    pub fn str(s: impl Into<String>) -> Val {
        Val::Str(Rc::new(s.into()))
    }
    pub fn variant(id: u32, fields: Vec<Val>) -> Val {
        Val::Variant(Rc::new(Agg { id, fields }))
    }
    pub fn named_variant(name: &str, fields: Vec<Val>) -> Val {
        let id = tables().variant_ids.get(name).copied().unwrap_or(u32::MAX);
        Val::variant(id, fields)
    }
    pub fn some(v: Val) -> Val {
        Val::named_variant("Some", vec![v])
    }
    pub fn none() -> Val {
        Val::named_variant("None", vec![])
    }
    pub fn tuple(fields: Vec<Val>) -> Val {
        Val::Tuple(Rc::new(Agg { id: 0, fields }))
    }
    /// A list of these values (compact when they are all `Int`s).
    pub fn list(items: Vec<Val>) -> Val {
        Val::List(List::from_vals(items))
    }
}

impl PartialEq for Val {
    fn eq(&self, other: &Val) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Val {}
impl PartialOrd for Val {
    fn partial_cmp(&self, other: &Val) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Val {
    /// The one order of values (chor-print), shared with the reference interpreter.
    fn cmp(&self, other: &Val) -> Ordering {
        match (self, other) {
            // The common case of the operators' slow path, without building shapes.
            (Val::Int(a), Val::Int(b)) => a.cmp(b),
            // Map keys, mostly: strings order by their bytes (chor-print's rule too).
            (Val::Str(a), Val::Str(b)) => a.as_str().cmp(b.as_str()),
            _ => chor_print::compare(self, other),
        }
    }
}

impl chor_print::View for Val {
    type Name = String;
    fn shape(&self) -> Shape<'_, Val> {
        match self {
            Val::Unit => Shape::Unit,
            Val::Bool(b) => Shape::Bool(*b),
            Val::Int(i) => Shape::Int(*i),
            Val::Float(x) => Shape::Float(*x),
            Val::Str(s) => Shape::Str(s),
            Val::Tuple(t) => Shape::Tuple(&t.fields),
            Val::List(l) => Shape::List(match l.view() {
                ListView::Ints(xs) => Items::Ints(xs),
                ListView::Vals(xs) => Items::Vals(xs),
            }),
            Val::Map(m) => Shape::Map(m),
            Val::Struct(s) => {
                let (name, names) = struct_info(s.id);
                Shape::Struct {
                    name,
                    names,
                    fields: &s.fields,
                }
            }
            Val::Variant(v) => Shape::Variant {
                name: variant_name(v.id),
                fields: &v.fields,
            },
            Val::Func(f) => Shape::Func {
                is_variant: f.is_variant,
                module: f.module.as_deref(),
                name: &f.name,
            },
        }
    }
}

impl Drop for Agg {
    fn drop(&mut self) {
        release(&mut self.fields);
    }
}

/// Drops `items` without recursion: the parts of compound values that this was the last
/// reference to are moved onto an explicit stack (emptied parts drop in constant stack), so
/// freeing a value nested millions of levels deep cannot overflow the role's stack.
pub(crate) fn release(items: &mut Vec<Val>) {
    fn compound(v: &Val) -> bool {
        matches!(
            v,
            Val::Tuple(_) | Val::List(_) | Val::Map(_) | Val::Struct(_) | Val::Variant(_)
        )
    }
    if !items.iter().any(compound) {
        return;
    }
    let mut stack = std::mem::take(items);
    while let Some(v) = stack.pop() {
        match v {
            Val::Tuple(a) | Val::Struct(a) | Val::Variant(a) => {
                if let Some(mut a) = Rc::into_inner(a) {
                    stack.append(&mut a.fields);
                }
            }
            Val::List(l) => l.release_into(&mut stack),
            Val::Map(m) => {
                if let Some(m) = Rc::into_inner(m) {
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

/// Quote a string in literal syntax.
pub use chor_print::{float_text, quote};

/// The literal form of a value (strings quoted).
pub fn literal(v: &Val, out: &mut String) {
    chor_print::literal(v, out);
}

/// `to_string`: a String is itself, anything else its literal form.
pub fn to_display(v: &Val) -> String {
    chor_print::display(v)
}

pub fn to_literal(v: &Val) -> String {
    chor_print::to_literal(v)
}

/// A value as it travels; `None` for a function value.
pub fn to_wire(v: &Val) -> Option<Wire> {
    Wire::of_view(v)
}

/// A received value; an error names a struct or variant this program does not know.
pub fn from_wire(w: Wire) -> Result<Val, String> {
    let all = |xs: Vec<Wire>| xs.into_iter().map(from_wire).collect::<Result<Vec<_>, _>>();
    Ok(match w {
        Wire::Unit => Val::Unit,
        Wire::Bool(b) => Val::Bool(b),
        Wire::Int(i) => Val::Int(i),
        Wire::Float(x) => Val::Float(x),
        Wire::Str(s) => Val::str(s),
        Wire::Tuple(xs) => Val::tuple(all(xs)?),
        Wire::List(xs) => Val::list(all(xs)?),
        Wire::Map(kv) => {
            let mut m = BTreeMap::new();
            for (k, x) in kv {
                m.insert(from_wire(k)?, from_wire(x)?);
            }
            Val::Map(Rc::new(m))
        }
        Wire::Struct { name, fields } => {
            let Some(id) = tables().struct_ids.get(&name).copied() else {
                return Err(format!("received a value of unknown struct `{name}`"));
            };
            Val::Struct(Rc::new(Agg {
                id,
                fields: all(fields)?,
            }))
        }
        Wire::Variant { name, fields } => {
            let Some(id) = tables().variant_ids.get(&name).copied() else {
                return Err(format!("received a value of unknown variant `{name}`"));
            };
            Val::variant(id, all(fields)?)
        }
    })
}

/// A runtime fault of the role's own code.
pub type Fault = String;

fn overflow() -> Fault {
    "integer overflow".into()
}

/// Binary operators in the order the code generator numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Concat,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub const ALL: [Op; 12] = [
        Op::Add,
        Op::Sub,
        Op::Mul,
        Op::Div,
        Op::Rem,
        Op::Concat,
        Op::Eq,
        Op::Ne,
        Op::Lt,
        Op::Le,
        Op::Gt,
        Op::Ge,
    ];
    pub fn text(self) -> &'static str {
        match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Rem => "%",
            Op::Concat => "++",
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

impl Op {
    /// `+`, `-`, `*`, `/` or `%`.
    pub fn is_arith(self) -> bool {
        matches!(self, Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Rem)
    }
    /// `==`, `!=`, `<`, `<=`, `>` or `>=`.
    pub fn is_comparison(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }
}

/// An arithmetic operator on two Ints as every back end computes it: overflow and division by
/// zero are faults, in these words (native code's inline fast path reports the same).
pub fn int_arith(op: Op, a: i64, b: i64) -> Result<i64, Fault> {
    let r = match op {
        Op::Add => a.checked_add(b),
        Op::Sub => a.checked_sub(b),
        Op::Mul => a.checked_mul(b),
        Op::Div | Op::Rem if b == 0 => return Err("division by zero".into()),
        Op::Div => a.checked_div(b),
        Op::Rem => a.checked_rem(b),
        _ => return Err(format!("`{}` is not arithmetic", op.text())),
    };
    r.ok_or_else(overflow)
}

/// Whether a comparison operator holds of two values ordered `o` (by chor-print's one order
/// of values); `None` for another operator.
pub fn compares(op: Op, o: Ordering) -> Option<bool> {
    Some(match op {
        Op::Eq => o == Ordering::Equal,
        Op::Ne => o != Ordering::Equal,
        Op::Lt => o == Ordering::Less,
        Op::Le => o != Ordering::Greater,
        Op::Gt => o == Ordering::Greater,
        Op::Ge => o != Ordering::Less,
        _ => return None,
    })
}

/// An arithmetic operator on two Floats (IEEE 754, no fault); `NaN` for another operator.
pub fn float_arith(op: Op, a: f64, b: f64) -> f64 {
    match op {
        Op::Add => a + b,
        Op::Sub => a - b,
        Op::Mul => a * b,
        Op::Div => a / b,
        Op::Rem => a % b,
        _ => f64::NAN,
    }
}

/// Apply a binary operator, consuming both operands (so `++` appends in place when the left
/// operand is not shared).
pub fn binary(op: Op, x: Val, y: Val) -> Result<Val, Fault> {
    use Op::*;
    match (op, x, y) {
        (op, Val::Int(a), Val::Int(b)) if op.is_arith() => int_arith(op, a, b).map(Val::Int),
        (op, Val::Float(a), Val::Float(b)) if op.is_arith() => {
            Ok(Val::Float(float_arith(op, a, b)))
        }
        (Concat, Val::Str(mut a), Val::Str(b)) => {
            match Rc::get_mut(&mut a) {
                Some(s) => s.push_str(&b),
                None => {
                    let mut s = String::with_capacity(a.len() + b.len());
                    s.push_str(&a);
                    s.push_str(&b);
                    a = Rc::new(s);
                }
            }
            Ok(Val::Str(a))
        }
        (Concat, Val::List(mut a), Val::List(b)) => {
            a.append(b);
            Ok(Val::List(a))
        }
        (op, a, b) if op.is_comparison() => Ok(Val::Bool(compares(op, a.cmp(&b)) == Some(true))),
        (op, a, b) => Err(format!(
            "cannot apply `{}` to {} and {}",
            op.text(),
            to_literal(&a),
            to_literal(&b)
        )),
    }
}

fn clamp(n: i64, len: usize) -> usize {
    if n <= 0 {
        0
    } else {
        (n as u64).min(len as u64) as usize
    }
}

fn expect_list(v: Val) -> Result<List, Fault> {
    match v {
        Val::List(l) => Ok(l),
        other => Err(format!("expected a List, found {}", to_literal(&other))),
    }
}
fn expect_int(v: &Val) -> Result<i64, Fault> {
    match v {
        Val::Int(i) => Ok(*i),
        other => Err(format!("expected an Int, found {}", to_literal(other))),
    }
}
fn expect_str(v: &Val) -> Result<&str, Fault> {
    match v {
        Val::Str(s) => Ok(s),
        other => Err(format!("expected a String, found {}", to_literal(other))),
    }
}
fn expect_map(v: Val) -> Result<Rc<BTreeMap<Val, Val>>, Fault> {
    match v {
        Val::Map(m) => Ok(m),
        other => Err(format!("expected a Map, found {}", to_literal(&other))),
    }
}

/// `list::get`.
pub fn list_get(l: Val, i: &Val) -> Result<Val, Fault> {
    let l = expect_list(l)?;
    let i = expect_int(i)?;
    Ok(match usize::try_from(i).ok().and_then(|i| l.get(i)) {
        Some(v) => Val::some(v),
        None => Val::none(),
    })
}

pub fn list_push(l: Val, x: Val) -> Result<Val, Fault> {
    let mut l = expect_list(l)?;
    l.push(x);
    Ok(Val::List(l))
}

pub fn list_take(l: Val, n: &Val) -> Result<Val, Fault> {
    let mut l = expect_list(l)?;
    let n = clamp(expect_int(n)?, l.len());
    l.truncate(n);
    Ok(Val::List(l))
}

pub fn list_drop(l: Val, n: &Val) -> Result<Val, Fault> {
    let mut l = expect_list(l)?;
    let n = clamp(expect_int(n)?, l.len());
    l.drop_front(n);
    Ok(Val::List(l))
}

pub fn list_len(l: Val) -> Result<Val, Fault> {
    Ok(Val::Int(expect_list(l)?.len() as i64))
}

pub fn string_len(s: &Val) -> Result<Val, Fault> {
    Ok(Val::Int(expect_str(s)?.chars().count() as i64))
}

pub fn string_split(s: &Val, sep: &Val) -> Result<Val, Fault> {
    let s = expect_str(s)?;
    let sep = expect_str(sep)?;
    let parts: Vec<Val> = if sep.is_empty() {
        s.chars().map(|c| Val::str(c.to_string())).collect()
    } else {
        s.split(sep).map(Val::str).collect()
    };
    Ok(Val::list(parts))
}

pub fn string_contains(s: &Val, sub: &Val) -> Result<Val, Fault> {
    Ok(Val::Bool(expect_str(s)?.contains(expect_str(sub)?)))
}

pub fn string_to_int(s: &Val) -> Result<Val, Fault> {
    Ok(match expect_str(s)?.parse::<i64>() {
        Ok(i) => Val::some(Val::Int(i)),
        Err(_) => Val::none(),
    })
}

pub fn string_chars(s: &Val) -> Result<Val, Fault> {
    Ok(Val::list(
        expect_str(s)?
            .chars()
            .map(|c| Val::str(c.to_string()))
            .collect(),
    ))
}

pub fn map_insert(m: Val, k: Val, v: Val) -> Result<Val, Fault> {
    let mut m = expect_map(m)?;
    Rc::make_mut(&mut m).insert(k, v);
    Ok(Val::Map(m))
}

pub fn map_get(m: Val, k: &Val) -> Result<Val, Fault> {
    let m = expect_map(m)?;
    Ok(match m.get(k) {
        Some(v) => Val::some(v.clone()),
        None => Val::none(),
    })
}

pub fn map_remove(m: Val, k: &Val) -> Result<Val, Fault> {
    let mut m = expect_map(m)?;
    Rc::make_mut(&mut m).remove(k);
    Ok(Val::Map(m))
}

pub fn map_len(m: Val) -> Result<Val, Fault> {
    Ok(Val::Int(expect_map(m)?.len() as i64))
}

pub fn map_keys(m: Val) -> Result<Val, Fault> {
    Ok(Val::list(expect_map(m)?.keys().cloned().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_the_interpreter() {
        let l = Val::list([Val::Int(1), Val::Int(2)].into_iter().collect());
        assert_eq!(to_display(&l), "[1, 2]");
        let t = Val::tuple(vec![Val::Int(1)]);
        assert_eq!(to_display(&t), "(1,)");
        assert_eq!(to_display(&Val::Float(1.0)), "1.0");
        assert_eq!(to_display(&Val::str("a\"b")), "a\"b");
        assert_eq!(to_literal(&Val::str("a\"b")), "\"a\\\"b\"");
    }

    #[test]
    fn concat_appends_in_place_when_unshared() {
        let a = Val::str("ab");
        let r = binary(Op::Concat, a, Val::str("c"));
        assert_eq!(r.map(|v| to_display(&v)), Ok("abc".to_string()));
        assert_eq!(
            binary(Op::Div, Val::Int(1), Val::Int(0)).err(),
            Some("division by zero".to_string())
        );
        assert_eq!(
            binary(Op::Rem, Val::Int(i64::MIN), Val::Int(-1)).err(),
            Some("integer overflow".to_string())
        );
    }
}
