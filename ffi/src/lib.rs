//! Values crossing between a chor program and the Rust functions behind its `extern fn`s.
//!
//! An extern is a plain `pub fn` of the project's crate taking and returning owned Rust values;
//! chor generates the glue that converts between those and chor values with the [`Chor`]
//! trait. The trait is implemented here for `i64` (Int), `f64` (Float), `bool`, `String`,
//! `()`, tuples, `Vec` (List), `BTreeMap` (Map), `Option` and `Result`; a struct or an enum
//! declared on both sides implements it through [`chor_struct!`] or [`chor_enum!`].
//!
//! Across the boundary a value travels as the bytes of chor's message codec (the runtime's
//! `codec.rs`: a version byte, a value-message byte, then the tagged value), so the native
//! runtime and the interpreters hand an extern the same bytes they would send to a peer. This
//! crate has no dependencies so that it builds anywhere the project's crate builds.

use std::collections::BTreeMap;

mod codec;
pub use codec::{decode, encode};

/// A chor value, as it crosses to and from Rust.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Unit,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// Entries in key order.
    Map(Vec<(Value, Value)>),
    /// A struct: its chor name and its fields in declaration order.
    Struct {
        name: String,
        fields: Vec<Value>,
    },
    /// An enum variant: its name and positional payload.
    Variant {
        name: String,
        fields: Vec<Value>,
    },
}

impl Value {
    /// A short description for error messages.
    pub fn kind(&self) -> String {
        match self {
            Value::Unit => "()".into(),
            Value::Bool(_) => "Bool".into(),
            Value::Int(_) => "Int".into(),
            Value::Float(_) => "Float".into(),
            Value::Str(_) => "String".into(),
            Value::Tuple(xs) => format!("a tuple of {}", xs.len()),
            Value::List(_) => "List".into(),
            Value::Map(_) => "Map".into(),
            Value::Struct { name, .. } => format!("struct {name}"),
            Value::Variant { name, .. } => format!("variant {name}"),
        }
    }
}

/// A Rust type with a chor counterpart.
pub trait Chor: Sized {
    fn into_chor(self) -> Value;
    /// Err names what was expected and what came.
    fn from_chor(v: Value) -> Result<Self, String>;
}

fn mismatch<T>(want: &str, got: &Value) -> Result<T, String> {
    Err(format!("expected {want}, got {}", got.kind()))
}

impl Chor for i64 {
    fn into_chor(self) -> Value {
        Value::Int(self)
    }
    fn from_chor(v: Value) -> Result<Self, String> {
        match v {
            Value::Int(i) => Ok(i),
            v => mismatch("Int", &v),
        }
    }
}

impl Chor for f64 {
    fn into_chor(self) -> Value {
        Value::Float(self)
    }
    fn from_chor(v: Value) -> Result<Self, String> {
        match v {
            Value::Float(x) => Ok(x),
            v => mismatch("Float", &v),
        }
    }
}

impl Chor for bool {
    fn into_chor(self) -> Value {
        Value::Bool(self)
    }
    fn from_chor(v: Value) -> Result<Self, String> {
        match v {
            Value::Bool(b) => Ok(b),
            v => mismatch("Bool", &v),
        }
    }
}

impl Chor for String {
    fn into_chor(self) -> Value {
        Value::Str(self)
    }
    fn from_chor(v: Value) -> Result<Self, String> {
        match v {
            Value::Str(s) => Ok(s),
            v => mismatch("String", &v),
        }
    }
}

impl Chor for () {
    fn into_chor(self) -> Value {
        Value::Unit
    }
    fn from_chor(v: Value) -> Result<Self, String> {
        match v {
            Value::Unit => Ok(()),
            Value::Tuple(xs) if xs.is_empty() => Ok(()),
            v => mismatch("()", &v),
        }
    }
}

impl<T: Chor> Chor for Vec<T> {
    fn into_chor(self) -> Value {
        Value::List(self.into_iter().map(Chor::into_chor).collect())
    }
    fn from_chor(v: Value) -> Result<Self, String> {
        match v {
            Value::List(xs) => xs.into_iter().map(T::from_chor).collect(),
            v => mismatch("List", &v),
        }
    }
}

impl<K: Chor + Ord, V: Chor> Chor for BTreeMap<K, V> {
    fn into_chor(self) -> Value {
        Value::Map(
            self.into_iter()
                .map(|(k, v)| (k.into_chor(), v.into_chor()))
                .collect(),
        )
    }
    fn from_chor(v: Value) -> Result<Self, String> {
        match v {
            Value::Map(es) => es
                .into_iter()
                .map(|(k, v)| Ok((K::from_chor(k)?, V::from_chor(v)?)))
                .collect(),
            v => mismatch("Map", &v),
        }
    }
}

impl<T: Chor> Chor for Option<T> {
    fn into_chor(self) -> Value {
        match self {
            Some(x) => Value::Variant {
                name: "Some".into(),
                fields: vec![x.into_chor()],
            },
            None => Value::Variant {
                name: "None".into(),
                fields: Vec::new(),
            },
        }
    }
    fn from_chor(v: Value) -> Result<Self, String> {
        match v {
            Value::Variant { name, fields } if name == "None" && fields.is_empty() => Ok(None),
            Value::Variant { name, fields } if name == "Some" && fields.len() == 1 => {
                fields.into_iter().next().map(T::from_chor).transpose()
            }
            v => mismatch("Option", &v),
        }
    }
}

impl<T: Chor, E: Chor> Chor for Result<T, E> {
    fn into_chor(self) -> Value {
        let (name, x) = match self {
            Ok(x) => ("Ok", x.into_chor()),
            Err(e) => ("Err", e.into_chor()),
        };
        Value::Variant {
            name: name.into(),
            fields: vec![x],
        }
    }
    fn from_chor(v: Value) -> Result<Self, String> {
        match v {
            Value::Variant { name, fields } if fields.len() == 1 => {
                let x = fields.into_iter().next();
                match (name.as_str(), x) {
                    ("Ok", Some(x)) => Ok(Ok(T::from_chor(x)?)),
                    ("Err", Some(x)) => Ok(Err(E::from_chor(x)?)),
                    _ => Err(format!("expected Result, got variant {name}")),
                }
            }
            v => mismatch("Result", &v),
        }
    }
}

macro_rules! tuple_impl {
    ($n:literal: $($t:ident),+) => {
        impl<$($t: Chor),+> Chor for ($($t,)+) {
            #[allow(non_snake_case)]
            fn into_chor(self) -> Value {
                let ($($t,)+) = self;
                Value::Tuple(vec![$($t.into_chor()),+])
            }
            fn from_chor(v: Value) -> Result<Self, String> {
                match v {
                    Value::Tuple(xs) if xs.len() == $n => {
                        let mut it = xs.into_iter();
                        Ok(($($t::from_chor(next(&mut it)?)?,)+))
                    }
                    v => mismatch(concat!("a tuple of ", $n), &v),
                }
            }
        }
    };
}

/// The next field of a struct, variant or tuple (the length was checked before).
#[doc(hidden)]
pub fn next(it: &mut impl Iterator<Item = Value>) -> Result<Value, String> {
    it.next().ok_or_else(|| "missing field".to_string())
}

tuple_impl!(1: A);
tuple_impl!(2: A, B);
tuple_impl!(3: A, B, C);
tuple_impl!(4: A, B, C, D);
tuple_impl!(5: A, B, C, D, E);
tuple_impl!(6: A, B, C, D, E, F);

/// Declares a struct that crosses to chor as the chor struct of the same name (fields in the
/// same order, with the types' Rust counterparts).
///
/// ```
/// chor_ffi::chor_struct! {
///     #[derive(Debug, PartialEq)]
///     pub struct Point { pub x: i64, pub y: f64 }
/// }
/// use chor_ffi::Chor;
/// let p = Point { x: 1, y: 2.5 };
/// assert_eq!(Point::from_chor(Point { x: 1, y: 2.5 }.into_chor()), Ok(p));
/// ```
#[macro_export]
macro_rules! chor_struct {
    ($(#[$m:meta])* $vis:vis struct $name:ident {
        $($(#[$fm:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)?
    }) => {
        $(#[$m])* $vis struct $name { $($(#[$fm])* $fvis $field: $ty),* }

        impl $crate::Chor for $name {
            fn into_chor(self) -> $crate::Value {
                $crate::Value::Struct {
                    name: stringify!($name).to_string(),
                    fields: vec![$($crate::Chor::into_chor(self.$field)),*],
                }
            }
            fn from_chor(v: $crate::Value) -> Result<Self, String> {
                match v {
                    $crate::Value::Struct { name, fields } if name == stringify!($name) => {
                        let mut _it = fields.into_iter();
                        Ok($name {
                            $($field: <$ty as $crate::Chor>::from_chor($crate::next(&mut _it)?)?),*
                        })
                    }
                    v => Err(format!(concat!("expected struct ", stringify!($name), ", got {}"), v.kind())),
                }
            }
        }
    };
}

/// Declares an enum that crosses to chor as the chor enum of the same name. A variant's
/// payload is written `Variant(name: Type, …)`; the names only bind the fields in the
/// generated conversions, the Rust variant is the tuple variant `Variant(Type, …)`.
///
/// ```
/// chor_ffi::chor_enum! {
///     #[derive(Debug, PartialEq)]
///     pub enum Shape { Circle(r: f64), Rect(w: f64, h: f64), Empty }
/// }
/// use chor_ffi::Chor;
/// assert_eq!(Shape::from_chor(Shape::Rect(1.0, 2.0).into_chor()), Ok(Shape::Rect(1.0, 2.0)));
/// assert_eq!(Shape::from_chor(Shape::Empty.into_chor()), Ok(Shape::Empty));
/// ```
#[macro_export]
macro_rules! chor_enum {
    ($(#[$m:meta])* $vis:vis enum $name:ident {
        $($var:ident $(( $($b:ident : $t:ty),* ))?),* $(,)?
    }) => {
        $(#[$m])* $vis enum $name { $($var $(( $($t),* ))?),* }

        impl $crate::Chor for $name {
            fn into_chor(self) -> $crate::Value {
                match self {
                    $($name::$var $(( $($b),* ))? => $crate::Value::Variant {
                        name: stringify!($var).to_string(),
                        fields: vec![$($($crate::Chor::into_chor($b)),*)?],
                    },)*
                }
            }
            fn from_chor(v: $crate::Value) -> Result<Self, String> {
                match v {
                    $crate::Value::Variant { name, fields } => {
                        let mut _it = fields.into_iter();
                        $(if name == stringify!($var) {
                            return Ok($name::$var $(( $(<$t as $crate::Chor>::from_chor($crate::next(&mut _it)?)?),* ))?);
                        })*
                        Err(format!(concat!("expected a variant of ", stringify!($name), ", got {}"), name))
                    }
                    v => Err(format!(concat!("expected enum ", stringify!($name), ", got {}"), v.kind())),
                }
            }
        }
    };
}

/// What the generated glue does for one call: decode the argument tuple, call `f`, encode the
/// result. A panic in `f` is caught here, so it never unwinds into chor's code; Err is the
/// message to report (a panic's text, or a value that does not convert).
pub fn call(
    args: &[u8],
    f: impl FnOnce(Vec<Value>) -> Result<Value, String>,
) -> Result<Vec<u8>, String> {
    let args = match decode(args)? {
        Value::Tuple(xs) => xs,
        v => return Err(format!("expected the argument tuple, got {}", v.kind())),
    };
    match catch(|| f(args)) {
        Ok(Ok(v)) => Ok(encode(&v)),
        Ok(Err(e)) | Err(e) => Err(e),
    }
}

/// Runs `f`, catching a panic: Err is its message, with the place it happened.
#[inline]
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    quiet_panics();
    guard(f)
}

/// [`catch`] without installing the panic hook, for a library that ran [`init`] when it was
/// loaded. The glue's direct entries (scalar arguments and result, no encoding) call the
/// extern through this: on the path without a panic it costs nothing (unwinding tables, no
/// check per call), so an entry compiles to the extern's own code; the cold part (the message)
/// is a function of its own.
#[inline(always)]
pub fn guard<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(panic_message)
}

/// Installs the panic hook that [`catch`] installs on first use; the glue runs it when the
/// library is loaded (a constructor), before any call of [`guard`].
pub fn init() {
    quiet_panics();
}

/// The message of a caught panic, with the place it happened.
#[cold]
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    let text = match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => match p.downcast::<&'static str>() {
            Ok(s) => (*s).to_string(),
            Err(_) => "(no message)".to_string(),
        },
    };
    let at = PANIC_AT.with(|a| a.take());
    match at {
        Some(at) => format!("panicked at {at}: {text}"),
        None => format!("panicked: {text}"),
    }
}

thread_local! {
    /// Where the last panic of this thread happened (set by the hook of `quiet_panics`).
    static PANIC_AT: std::cell::Cell<Option<String>> = const { std::cell::Cell::new(None) };
}

/// Replaces the default panic message on stderr by a note of the location, which `call`
/// reports in its error instead: chor prints one line naming the extern and the chor line.
/// The glue is a library of its own (with its own copy of std), so the hook only concerns the
/// extern crate's panics.
#[inline]
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if ONCE.is_completed() {
        return;
    }
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()));
            PANIC_AT.with(|a| a.set(at));
        }));
    });
}
