//! chor-print: the literal syntax of values (design card, section 7) and their order, written
//! once for every back end.
//!
//! The reference interpreters (`chor simulate`, `--backend interp`) and the native runtime keep
//! values in different Rust types; both implement [`View`], which shows one level of a value as
//! a [`Shape`]. [`literal`], [`display`] and [`compare`] work on any [`View`], so printed text
//! and the order of values (`==`, `<`, map keys, sorting) cannot drift apart between back ends.
//! The formatter quotes string literals with [`quote`] and prints floats with [`float_text`].
//!
//! Printing and comparing never recurse: a value nested ten million levels deep (a list built
//! by wrapping a list in a loop, a hand-made linked list) is walked with an explicit stack, so
//! no back end can overflow its thread's stack on it. Levels that have no siblings left cost
//! one byte of that stack (printing) or nothing (comparing).
//!
//! Floats are ordered by IEEE 754 `totalOrder` with one NaN ([`float_cmp`]): `-0.0 < 0.0`,
//! and every NaN equals every other and sorts after `inf`. One order serves `==`, `<`, map
//! keys and sorting alike (docs/language.md, "Values and their order").

use std::cmp::Ordering;
use std::collections::{BTreeMap, btree_map};
use std::fmt::Write as _;

/// Quotes a string in literal syntax: `\n \t \r \\ \"` are escaped by name, every other
/// control character as `\u{…}` (hex, no leading zeros) — the forms of the card's section 2.
pub fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A `Float` in literal syntax: always with a fractional part or an exponent.
pub fn float_text(x: f64) -> String {
    if x.is_finite() && x == x.trunc() && x.abs() < 1e16 {
        format!("{x:.1}")
    } else {
        format!("{x:?}")
    }
}

/// The elements of a list: values, or bare integers (the native runtime's compact lists).
#[derive(Debug)]
pub enum Items<'a, V> {
    Vals(&'a [V]),
    Ints(&'a [i64]),
}

/// One level of a value.
#[derive(Debug)]
pub enum Shape<'a, V: View> {
    Unit,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    Tuple(&'a [V]),
    List(Items<'a, V>),
    Map(&'a BTreeMap<V, V>),
    /// `names` are the field names in declaration order, one for each of `fields`.
    Struct {
        name: &'a str,
        names: &'a [V::Name],
        fields: &'a [V],
    },
    Variant {
        name: &'a str,
        fields: &'a [V],
    },
    /// A function value: a named function (`module::name`) or a variant constructor; named
    /// functions order before constructors.
    Func {
        is_variant: bool,
        module: Option<&'a str>,
        name: &'a str,
    },
}

impl<V: View> Shape<'_, V> {
    /// Order of kinds, for values of different kinds (which well-typed programs never compare).
    fn rank(&self) -> u8 {
        match self {
            Shape::Unit => 0,
            Shape::Bool(_) => 1,
            Shape::Int(_) => 2,
            Shape::Float(_) => 3,
            Shape::Str(_) => 4,
            Shape::Tuple(_) => 5,
            Shape::List(_) => 6,
            Shape::Map(_) => 7,
            Shape::Struct { .. } => 8,
            Shape::Variant { .. } => 9,
            Shape::Func { .. } => 10,
        }
    }
}

/// A value type that can show one level of itself. Its `Ord` must be [`compare`] (map keys
/// are ordered by it).
pub trait View: Ord + Sized {
    /// How the value type stores a struct's field names.
    type Name: AsRef<str>;
    fn shape(&self) -> Shape<'_, Self>;
}

/// An element being walked: a value, or an integer of a compact list.
enum Elem<'a, V> {
    Val(&'a V),
    Int(i64),
}

impl<V> Clone for Elem<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<V> Copy for Elem<'_, V> {}

fn shape_of<V: View>(e: Elem<'_, V>) -> Shape<'_, V> {
    match e {
        Elem::Val(v) => v.shape(),
        Elem::Int(i) => Shape::Int(i),
    }
}

/// The elements of a compound value that are still to be walked.
enum Rest<'a, V: View> {
    Vals(std::slice::Iter<'a, V>),
    Ints(std::slice::Iter<'a, i64>),
    Fields(std::slice::Iter<'a, V::Name>, std::slice::Iter<'a, V>),
    /// Keys and values alternately; the value of the last key is waiting.
    Entries(Box<btree_map::Iter<'a, V, V>>, Option<&'a V>),
}

impl<'a, V: View> Rest<'a, V> {
    fn items(items: Items<'a, V>) -> Rest<'a, V> {
        match items {
            Items::Vals(xs) => Rest::Vals(xs.iter()),
            Items::Ints(xs) => Rest::Ints(xs.iter()),
        }
    }

    fn entries(m: &'a BTreeMap<V, V>) -> Rest<'a, V> {
        Rest::Entries(Box::new(m.iter()), None)
    }

    /// The next element; when printing, first writes the text that goes before it (`, `, a
    /// field name, `: `).
    fn next(&mut self, out: Option<&mut String>, first: bool) -> Option<Elem<'a, V>> {
        let sep = |out: Option<&mut String>, extra: &str| {
            if let Some(out) = out {
                if !first {
                    out.push_str(", ");
                }
                out.push_str(extra);
            }
        };
        match self {
            Rest::Vals(it) => {
                let v = it.next()?;
                sep(out, "");
                Some(Elem::Val(v))
            }
            Rest::Ints(it) => {
                let i = it.next()?;
                sep(out, "");
                Some(Elem::Int(*i))
            }
            Rest::Fields(names, it) => {
                let v = it.next()?;
                let name = names.next().map_or("?", AsRef::as_ref);
                if let Some(out) = out {
                    if !first {
                        out.push_str(", ");
                    }
                    out.push_str(name);
                    out.push_str(": ");
                }
                Some(Elem::Val(v))
            }
            Rest::Entries(it, waiting) => match waiting.take() {
                Some(v) => {
                    if let Some(out) = out {
                        out.push_str(": ");
                    }
                    Some(Elem::Val(v))
                }
                None => {
                    let (k, v) = it.next()?;
                    *waiting = Some(v);
                    sep(out, "");
                    Some(Elem::Val(k))
                }
            },
        }
    }

    fn is_done(&self) -> bool {
        match self {
            Rest::Vals(it) => it.len() == 0,
            Rest::Ints(it) => it.len() == 0,
            Rest::Fields(_, it) => it.len() == 0,
            Rest::Entries(it, waiting) => waiting.is_none() && it.len() == 0,
        }
    }
}

/// What closes a compound value once its elements are printed.
const CLOSE: [&str; 5] = [")", ",)", "]", "}", " }"];
const CLOSE_PAREN: u8 = 0;
const CLOSE_TUPLE1: u8 = 1;
const CLOSE_BRACKET: u8 = 2;
const CLOSE_BRACE: u8 = 3;
const CLOSE_STRUCT: u8 = 4;

/// Appends the literal form of `v` (strings quoted): `[1, 2]`, `(1, "a")`, `Some("1")`,
/// `Quote { title: "TAPL", price: 87 }`, `{"a": 1}`, `(1,)`, `Name {}`, `<fn list::len>`.
pub fn literal<V: View>(v: &V, out: &mut String) {
    // Closing texts of the compound values being printed, innermost last.
    let mut closes: Vec<u8> = Vec::new();
    // Compound values with elements left to print, and the height of `closes` when each
    // was opened (its own closing text is the last one below that height).
    let mut open: Vec<(Rest<'_, V>, usize)> = Vec::new();
    let mut cur: Elem<'_, V> = Elem::Val(v);
    loop {
        // Print `cur`: a scalar whole, a compound value up to its first element.
        let first: Option<(Rest<'_, V>, u8)> = match shape_of(cur) {
            Shape::Unit => {
                out.push_str("()");
                None
            }
            Shape::Bool(b) => {
                out.push_str(if b { "true" } else { "false" });
                None
            }
            Shape::Int(i) => {
                let _ = write!(out, "{i}");
                None
            }
            Shape::Float(x) => {
                out.push_str(&float_text(x));
                None
            }
            Shape::Str(s) => {
                quote(s, out);
                None
            }
            Shape::Func {
                module: Some(m),
                name,
                ..
            } => {
                let _ = write!(out, "<fn {m}::{name}>");
                None
            }
            Shape::Func {
                module: None, name, ..
            } => {
                let _ = write!(out, "<fn {name}>");
                None
            }
            Shape::Tuple(xs) => {
                out.push('(');
                let close = if xs.len() == 1 {
                    CLOSE_TUPLE1
                } else {
                    CLOSE_PAREN
                };
                Some((Rest::Vals(xs.iter()), close))
            }
            Shape::List(items) => {
                out.push('[');
                Some((Rest::items(items), CLOSE_BRACKET))
            }
            Shape::Map(m) => {
                out.push('{');
                Some((Rest::entries(m), CLOSE_BRACE))
            }
            Shape::Struct {
                name,
                names,
                fields,
            } => {
                out.push_str(name);
                if fields.is_empty() {
                    out.push_str(" {}");
                    None
                } else {
                    out.push_str(" { ");
                    Some((Rest::Fields(names.iter(), fields.iter()), CLOSE_STRUCT))
                }
            }
            Shape::Variant { name, fields } => {
                out.push_str(name);
                if fields.is_empty() {
                    None
                } else {
                    out.push('(');
                    Some((Rest::Vals(fields.iter()), CLOSE_PAREN))
                }
            }
        };
        if let Some((mut rest, close)) = first {
            closes.push(close);
            if let Some(e) = rest.next(Some(out), true) {
                if !rest.is_done() {
                    open.push((rest, closes.len()));
                }
                cur = e;
                continue;
            }
        }
        // Close what is complete and move on to the next element of the innermost open value.
        loop {
            let height = open.last().map_or(0, |o| o.1);
            while closes.len() > height {
                if let Some(c) = closes.pop() {
                    out.push_str(CLOSE[c as usize]);
                }
            }
            let Some((rest, _)) = open.last_mut() else {
                return;
            };
            match rest.next(Some(out), false) {
                Some(e) => {
                    if rest.is_done() {
                        open.pop();
                    }
                    cur = e;
                    break;
                }
                None => {
                    open.pop();
                }
            }
        }
    }
}

/// The literal form as a new string.
pub fn to_literal<V: View>(v: &V) -> String {
    let mut out = String::new();
    literal(v, &mut out);
    out
}

/// `to_string`: a String is itself, every other value its literal form.
pub fn display<V: View>(v: &V) -> String {
    match v.shape() {
        Shape::Str(s) => s.to_owned(),
        _ => to_literal(v),
    }
}

/// The order of floats: IEEE 754 `totalOrder` with every NaN made one positive NaN, so
/// `-inf < … < -0.0 < 0.0 < … < inf < NaN` and a NaN equals itself whatever its sign and
/// payload (which the hardware, not the program, decides: `0.0 / 0.0` is a negative NaN on
/// x86-64). Two floats are equal exactly when they print the same.
pub fn float_cmp(a: f64, b: f64) -> Ordering {
    let canonical = |x: f64| if x.is_nan() { f64::NAN } else { x };
    canonical(a).total_cmp(&canonical(b))
}

/// The outcome of comparing the top levels of two values.
enum Step<'a, V: View> {
    Decided(Ordering),
    /// Equal so far: the elements decide, in order, then their number.
    Elements(Rest<'a, V>, Rest<'a, V>),
}

fn step<'a, V: View>(x: Elem<'a, V>, y: Elem<'a, V>) -> Step<'a, V> {
    use Shape as S;
    use Step::{Decided, Elements};
    match (shape_of(x), shape_of(y)) {
        (S::Unit, S::Unit) => Decided(Ordering::Equal),
        (S::Bool(a), S::Bool(b)) => Decided(a.cmp(&b)),
        (S::Int(a), S::Int(b)) => Decided(a.cmp(&b)),
        (S::Float(a), S::Float(b)) => Decided(float_cmp(a, b)),
        (S::Str(a), S::Str(b)) => Decided(a.cmp(b)),
        (S::Tuple(a), S::Tuple(b)) => Elements(Rest::Vals(a.iter()), Rest::Vals(b.iter())),
        (S::List(Items::Ints(a)), S::List(Items::Ints(b))) => Decided(a.cmp(b)),
        (S::List(a), S::List(b)) => Elements(Rest::items(a), Rest::items(b)),
        (S::Map(a), S::Map(b)) => Elements(Rest::entries(a), Rest::entries(b)),
        (
            S::Struct {
                name: n1,
                fields: f1,
                ..
            },
            S::Struct {
                name: n2,
                fields: f2,
                ..
            },
        )
        | (
            S::Variant {
                name: n1,
                fields: f1,
            },
            S::Variant {
                name: n2,
                fields: f2,
            },
        ) => match n1.cmp(n2) {
            Ordering::Equal => Elements(Rest::Vals(f1.iter()), Rest::Vals(f2.iter())),
            o => Decided(o),
        },
        (
            S::Func {
                is_variant: v1,
                module: m1,
                name: n1,
            },
            S::Func {
                is_variant: v2,
                module: m2,
                name: n2,
            },
        ) => Decided((v1, m1, n1).cmp(&(v2, m2, n2))),
        (a, b) => Decided(a.rank().cmp(&b.rank())),
    }
}

/// The order of values: structural, lexicographic over elements (a shorter sequence that is a
/// prefix of a longer one is smaller), structs and variants by name then fields, floats by
/// [`float_cmp`]. `==` is `compare(..) == Equal`.
pub fn compare<V: View>(a: &V, b: &V) -> Ordering {
    // Pairs of compound values whose elements are still being compared: the innermost in
    // `inner`, the others in `outer` (so comparing a flat tuple or list allocates nothing).
    let mut outer: Vec<(Rest<'_, V>, Rest<'_, V>)> = Vec::new();
    let mut inner: Option<(Rest<'_, V>, Rest<'_, V>)> = None;
    let (mut x, mut y) = (Elem::Val(a), Elem::Val(b));
    loop {
        match step(x, y) {
            Step::Decided(Ordering::Equal) => {}
            Step::Decided(o) => return o,
            Step::Elements(p, q) => {
                if let Some(o) = inner.replace((p, q)) {
                    outer.push(o);
                }
            }
        }
        loop {
            let Some((p, q)) = inner.as_mut() else {
                return Ordering::Equal;
            };
            match (p.next(None, true), q.next(None, true)) {
                (Some(e), Some(f)) => {
                    if p.is_done() && q.is_done() {
                        inner = outer.pop();
                    }
                    x = e;
                    y = f;
                    break;
                }
                (None, None) => inner = outer.pop(),
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
            }
        }
    }
}

/// Whether `v` nests non-empty compound values (tuples, lists, maps, structs, variants) more
/// than `limit` levels deep — the rule of the message codec (a list of any length is one
/// level; an empty compound value is none).
pub fn deeper_than<V: View>(v: &V, limit: usize) -> bool {
    // Each open compound value with its elements left; the stack height is the depth.
    let mut open: Vec<Rest<'_, V>> = Vec::new();
    let mut cur = Elem::Val(v);
    loop {
        let rest = match shape_of(cur) {
            Shape::Tuple(xs) => Some(Rest::Vals(xs.iter())),
            // Integers nest nothing: a non-empty compact list is one level, with no inside.
            Shape::List(Items::Ints(xs)) => {
                if !xs.is_empty() && open.len() >= limit {
                    return true;
                }
                None
            }
            Shape::List(Items::Vals(xs)) => Some(Rest::Vals(xs.iter())),
            Shape::Map(m) => Some(Rest::entries(m)),
            Shape::Struct { fields, .. } | Shape::Variant { fields, .. } => {
                Some(Rest::Vals(fields.iter()))
            }
            _ => None,
        };
        let nonempty = rest.as_ref().is_some_and(|r| !r.is_done());
        if nonempty {
            if open.len() >= limit {
                return true;
            }
            if let Some(r) = rest {
                open.push(r);
            }
        }
        loop {
            let Some(r) = open.last_mut() else {
                return false;
            };
            match r.next(None, true) {
                Some(e) => {
                    cur = e;
                    break;
                }
                None => {
                    open.pop();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_quote_with_the_cards_escapes() {
        let mut out = String::new();
        quote("a\0b\r\n\t\"\\\u{7f}\u{1b}é", &mut out);
        assert_eq!(out, "\"a\\u{0}b\\r\\n\\t\\\"\\\\\\u{7f}\\u{1b}é\"");
    }

    #[test]
    fn floats_print_with_a_point_and_order_with_one_nan() {
        assert_eq!(float_text(1.0), "1.0");
        assert_eq!(float_text(-0.0), "-0.0");
        assert_eq!(float_text(1e16), "1e16");
        assert_eq!(float_text(f64::NAN), "NaN");
        assert_eq!(float_cmp(-f64::NAN, f64::NAN), Ordering::Equal);
        assert_eq!(float_cmp(f64::INFINITY, -f64::NAN), Ordering::Less);
        assert_eq!(float_cmp(-0.0, 0.0), Ordering::Less);
        assert_eq!(float_cmp(-1.0, -0.0), Ordering::Less);
    }
}
