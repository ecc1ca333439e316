//! The bytes crossing to an extern are the runtime's message bytes, both ways, and the glue's
//! `call` turns panics and mistyped values into errors.

use chor_ffi::{Chor, Value, call, chor_enum, chor_struct, decode, encode};
use chor_runtime::codec;
use chor_runtime::value::{Message, Value as Wire};
use std::collections::BTreeMap;

fn to_wire(v: &Value) -> Wire {
    match v {
        Value::Unit => Wire::Unit,
        Value::Bool(b) => Wire::Bool(*b),
        Value::Int(i) => Wire::Int(*i),
        Value::Float(x) => Wire::Float(*x),
        Value::Str(s) => Wire::Str(s.clone()),
        Value::Tuple(xs) => Wire::Tuple(xs.iter().map(to_wire).collect()),
        Value::List(xs) => Wire::List(xs.iter().map(to_wire).collect()),
        Value::Map(es) => Wire::Map(es.iter().map(|(k, v)| (to_wire(k), to_wire(v))).collect()),
        Value::Struct { name, fields } => Wire::Struct {
            name: name.clone(),
            fields: fields.iter().map(to_wire).collect(),
        },
        Value::Variant { name, fields } => Wire::Variant {
            name: name.clone(),
            fields: fields.iter().map(to_wire).collect(),
        },
    }
}

chor_struct! {
    #[derive(Debug, Clone, PartialEq)]
    pub struct Point { pub x: i64, pub y: f64 }
}

chor_enum! {
    #[derive(Debug, Clone, PartialEq)]
    pub enum Shape { Dot(p: Point), Poly(ps: Vec<Point>, closed: bool), Empty }
}

fn samples() -> Vec<Value> {
    let mut m = BTreeMap::new();
    m.insert("a".to_string(), vec![(1i64, true)]);
    m.insert("é".to_string(), vec![]);
    vec![
        ().into_chor(),
        i64::MIN.into_chor(),
        (-1i64).into_chor(),
        300i64.into_chor(),
        f64::NAN.into_chor(),
        "héllo".to_string().into_chor(),
        (1i64, "x".to_string(), false).into_chor(),
        m.into_chor(),
        Some(Shape::Poly(vec![Point { x: 1, y: -2.5 }], true)).into_chor(),
        Ok::<Shape, String>(Shape::Empty).into_chor(),
        Err::<i64, String>("no".into()).into_chor(),
    ]
}

#[test]
fn bytes_are_the_runtime_codec() {
    for v in samples() {
        let ours = encode(&v);
        let theirs = codec::encode(&Message::Value(to_wire(&v)));
        assert_eq!(ours, theirs, "{v:?}");
        let back = decode(&theirs).expect("decodes");
        assert_eq!(format!("{back:?}"), format!("{v:?}"));
    }
}

#[test]
fn user_types_round_trip_and_mismatches_are_named() {
    let s = Shape::Dot(Point { x: 3, y: 0.5 });
    assert_eq!(Shape::from_chor(s.clone().into_chor()), Ok(s));
    let e = Point::from_chor(Value::Int(1)).expect_err("an Int is no Point");
    assert!(e.contains("expected struct Point, got Int"), "{e}");
    let e = Shape::from_chor(Value::Variant {
        name: "Square".into(),
        fields: vec![],
    })
    .expect_err("unknown variant");
    assert!(e.contains("Square"), "{e}");
    assert!(decode(&[1, 0, 7, 200]).is_err(), "a count beyond the bytes");
    assert!(decode(&[]).is_err());
}

#[test]
fn call_catches_panics_and_reports_bad_arguments() {
    let args = encode(&Value::Tuple(vec![Value::Int(2), Value::Int(3)]));
    let add = |xs: Vec<Value>| {
        let mut it = xs.into_iter();
        let a = i64::from_chor(it.next().ok_or("arity")?)?;
        let b = i64::from_chor(it.next().ok_or("arity")?)?;
        Ok(a.checked_add(b).expect("no overflow").into_chor())
    };
    let out = call(&args, add).expect("adds");
    assert_eq!(decode(&out), Ok(Value::Int(5)));
    let big = encode(&Value::Tuple(vec![Value::Int(i64::MAX), Value::Int(1)]));
    let e = call(&big, add).expect_err("overflow panics");
    assert!(e.starts_with("panicked at ffi/tests/codec.rs:"), "{e}");
    assert!(e.ends_with(": no overflow"), "{e}");
    let wrong = encode(&Value::Tuple(vec![Value::Str("2".into()), Value::Int(1)]));
    assert_eq!(
        call(&wrong, add),
        Err("expected Int, got String".to_string())
    );
}
