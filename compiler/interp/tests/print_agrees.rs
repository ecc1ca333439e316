//! One printing and one order for every back end: random values built both as the
//! interpreter's `Value` and as the native runtime's `Val` print the same `to_string` and the
//! same literal form as a plain recursive reference printer written from the card (section 7),
//! and order the same way as a plain recursive reference comparison. Values nested millions
//! of levels deep print, compare and drop on a small stack.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chor_interp::value::{FuncVal, StructVal, Value, VariantVal, to_display, to_literal};
use chor_runtime::rt::list::List;
use chor_runtime::rt::rc::Rc;
use chor_runtime::rt::val::{self as rt, Agg, FuncObj, Tables, Val};
use proptest::prelude::*;

/// Struct `k` of the test program has the first `k` of these field names.
const STRUCTS: [&str; 3] = ["Empty", "One", "Pair"];
const FIELDS: [&str; 2] = ["a", "b"];
const VARIANTS: [&str; 4] = ["None", "Some", "Zed", "Alpha"];
const FUNCS: [(bool, Option<&str>, &str); 3] = [
    (false, None, "f"),
    (false, Some("list"), "len"),
    (true, None, "Some"),
];

#[derive(Debug, Clone)]
enum Spec {
    Unit,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Tuple(Vec<Spec>),
    /// `true`: a list of Ints kept in the native runtime's general form.
    List(Vec<Spec>, bool),
    Map(Vec<(Spec, Spec)>),
    Struct(usize, Vec<Spec>),
    Variant(usize, Vec<Spec>),
    Func(usize),
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just('\0'),
            Just('\r'),
            Just('\n'),
            Just('\t'),
            Just('"'),
            Just('\\'),
            Just('\u{7f}'),
            Just('\u{1b}'),
            Just('\u{85}'),
            Just('é'),
            Just('😀'),
            Just('a'),
            Just('b'),
        ],
        0..6,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(f64::NAN),
        Just(-f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(1e16),
        Just(1.0),
        any::<f64>(),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let leaf = prop_oneof![
        Just(Spec::Unit),
        any::<bool>().prop_map(Spec::Bool),
        (-3i64..3).prop_map(Spec::Int),
        any::<i64>().prop_map(Spec::Int),
        float().prop_map(Spec::Float),
        text().prop_map(Spec::Str),
        (0..FUNCS.len()).prop_map(Spec::Func),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Spec::Tuple),
            (prop::collection::vec(inner.clone(), 0..4), any::<bool>())
                .prop_map(|(xs, g)| Spec::List(xs, g)),
            (
                prop::collection::vec((-3i64..3).prop_map(Spec::Int), 0..4),
                any::<bool>()
            )
                .prop_map(|(xs, g)| Spec::List(xs, g)),
            prop::collection::vec((inner.clone(), inner.clone()), 0..3).prop_map(Spec::Map),
            (0..STRUCTS.len()).prop_flat_map(move |k| prop::collection::vec(inner.clone(), k)
                .prop_map(move |fs| Spec::Struct(k, fs))),
            (
                0..VARIANTS.len(),
                prop::collection::vec((-3i64..3).prop_map(Spec::Int), 0..3)
            )
                .prop_map(|(k, fs)| Spec::Variant(k, fs)),
        ]
    })
}

fn tables() {
    let structs: Vec<(String, Vec<String>)> = STRUCTS
        .iter()
        .enumerate()
        .map(|(k, n)| {
            (
                n.to_string(),
                FIELDS[..k].iter().map(|f| f.to_string()).collect(),
            )
        })
        .collect();
    let struct_ids: HashMap<String, u32> = STRUCTS
        .iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), i as u32))
        .collect();
    let variant_ids: HashMap<String, u32> = VARIANTS
        .iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), i as u32))
        .collect();
    rt::set_tables(Tables {
        structs,
        variants: VARIANTS.iter().map(|s| s.to_string()).collect(),
        struct_ids,
        variant_ids,
    });
}

fn interp(s: &Spec) -> Value {
    match s {
        Spec::Unit => Value::Unit,
        Spec::Bool(b) => Value::Bool(*b),
        Spec::Int(i) => Value::Int(*i),
        Spec::Float(x) => Value::Float(*x),
        Spec::Str(t) => Value::str(t),
        Spec::Tuple(xs) => Value::tuple(xs.iter().map(interp).collect()),
        Spec::List(xs, _) => Value::list(xs.iter().map(interp).collect()),
        Spec::Map(kv) => Value::Map(Arc::new(
            kv.iter().map(|(k, v)| (interp(k), interp(v))).collect(),
        )),
        Spec::Struct(k, fs) => Value::Struct(Arc::new(StructVal {
            name: Arc::from(STRUCTS[*k]),
            field_names: FIELDS[..*k].iter().map(|f| Arc::from(*f)).collect(),
            fields: fs.iter().map(interp).collect(),
        })),
        Spec::Variant(k, fs) => Value::Variant(Arc::new(VariantVal {
            name: Arc::from(VARIANTS[*k]),
            fields: fs.iter().map(interp).collect(),
        })),
        Spec::Func(k) => {
            let (is_variant, module, name) = FUNCS[*k];
            Value::Func(Arc::new(if is_variant {
                FuncVal::Variant(Arc::from(name))
            } else {
                FuncVal::Named {
                    module: module.map(Arc::from),
                    name: Arc::from(name),
                }
            }))
        }
    }
}

fn native(s: &Spec) -> Val {
    match s {
        Spec::Unit => Val::Unit,
        Spec::Bool(b) => Val::Bool(*b),
        Spec::Int(i) => Val::Int(*i),
        Spec::Float(x) => Val::Float(*x),
        Spec::Str(t) => Val::str(t.as_str()),
        Spec::Tuple(xs) => Val::tuple(xs.iter().map(native).collect()),
        Spec::List(xs, general) => {
            let mut items: Vec<Val> = xs.iter().map(native).collect();
            if *general {
                // A non-Int element switches the list to the general form for good.
                let n = items.len();
                items.push(Val::Unit);
                let mut l = List::from_vals(items);
                l.truncate(n);
                Val::List(l)
            } else {
                Val::list(items)
            }
        }
        Spec::Map(kv) => Val::Map(Rc::new(
            kv.iter().map(|(k, v)| (native(k), native(v))).collect(),
        )),
        Spec::Struct(k, fs) => Val::Struct(Rc::new(Agg {
            id: *k as u32,
            fields: fs.iter().map(native).collect(),
        })),
        Spec::Variant(k, fs) => Val::variant(*k as u32, fs.iter().map(native).collect()),
        Spec::Func(k) => {
            let (is_variant, module, name) = FUNCS[*k];
            Val::Func(Rc::new(FuncObj {
                is_variant,
                module: module.map(str::to_owned),
                name: name.to_owned(),
                code: 0,
            }))
        }
    }
}

/// The card's printing rules, recursively, on an interpreter value (maps are already
/// deduplicated and ordered by the value order under test, which the order test checks).
fn reference_literal(v: &Value) -> String {
    let seq = |xs: &[Value]| {
        xs.iter()
            .map(reference_literal)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match v {
        Value::Unit => "()".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(x) => {
            if x.is_finite() && *x == x.trunc() && x.abs() < 1e16 {
                format!("{x:.1}")
            } else {
                format!("{x:?}")
            }
        }
        Value::Str(s) => {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
                    c => out.push(c),
                }
            }
            out + "\""
        }
        Value::Tuple(xs) if xs.len() == 1 => format!("({},)", seq(xs)),
        Value::Tuple(xs) => format!("({})", seq(xs)),
        Value::List(xs) => format!("[{}]", seq(xs)),
        Value::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, x)| format!("{}: {}", reference_literal(k), reference_literal(x)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Struct(s) if s.fields.is_empty() => format!("{} {{}}", s.name),
        Value::Struct(s) => format!(
            "{} {{ {} }}",
            s.name,
            s.field_names
                .iter()
                .zip(s.fields.iter())
                .map(|(n, x)| format!("{n}: {}", reference_literal(x)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Variant(x) if x.fields.is_empty() => x.name.to_string(),
        Value::Variant(x) => format!("{}({})", x.name, seq(&x.fields)),
        Value::Func(f) => match &**f {
            FuncVal::Named {
                module: Some(m),
                name,
            } => format!("<fn {m}::{name}>"),
            FuncVal::Named { module: None, name } | FuncVal::Variant(name) => {
                format!("<fn {name}>")
            }
        },
    }
}

/// Kind order for values of different kinds.
fn rank(v: &Value) -> u8 {
    match v {
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

fn reference_seq(a: &[Value], b: &[Value]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        match reference_cmp(x, y) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    a.len().cmp(&b.len())
}

/// The documented order, recursively: structural, lexicographic, floats by `total_cmp` with
/// one NaN.
fn reference_cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Unit, Value::Unit) => Ordering::Equal,
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => {
            let c = |f: f64| if f.is_nan() { f64::NAN } else { f };
            c(*x).total_cmp(&c(*y))
        }
        (Value::Str(x), Value::Str(y)) => x.cmp(y),
        (Value::Tuple(x), Value::Tuple(y)) | (Value::List(x), Value::List(y)) => {
            reference_seq(x, y)
        }
        (Value::Map(x), Value::Map(y)) => {
            let flat = |m: &BTreeMap<Value, Value>| -> Vec<Value> {
                m.iter().flat_map(|(k, v)| [k.clone(), v.clone()]).collect()
            };
            reference_seq(&flat(x), &flat(y))
        }
        (Value::Struct(x), Value::Struct(y)) => x
            .name
            .cmp(&y.name)
            .then_with(|| reference_seq(&x.fields, &y.fields)),
        (Value::Variant(x), Value::Variant(y)) => x
            .name
            .cmp(&y.name)
            .then_with(|| reference_seq(&x.fields, &y.fields)),
        (Value::Func(x), Value::Func(y)) => x.cmp(y),
        (x, y) => rank(x).cmp(&rank(y)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn interpreter_and_runtime_print_alike(s in spec()) {
        tables();
        let (i, n) = (interp(&s), native(&s));
        let want = reference_literal(&i);
        prop_assert_eq!(&to_literal(&i), &want);
        prop_assert_eq!(&rt::to_literal(&n), &want);
        prop_assert_eq!(to_display(&i), rt::to_display(&n));
    }

    #[test]
    fn interpreter_and_runtime_order_alike(a in spec(), b in spec()) {
        tables();
        let want = reference_cmp(&interp(&a), &interp(&b));
        prop_assert_eq!(interp(&a).cmp(&interp(&b)), want);
        prop_assert_eq!(native(&a).cmp(&native(&b)), want);
        prop_assert_eq!(interp(&a) == interp(&b), want == Ordering::Equal);
        prop_assert_eq!(interp(&a).cmp(&interp(&a)), Ordering::Equal);
        prop_assert_eq!(native(&a).cmp(&native(&a)), Ordering::Equal);
    }

    #[test]
    fn nesting_depth_is_measured_alike(s in spec(), limit in 0usize..5) {
        tables();
        prop_assert_eq!(
            chor_print::deeper_than(&interp(&s), limit),
            chor_print::deeper_than(&native(&s), limit)
        );
    }
}

#[test]
fn floats_follow_the_total_order() {
    let f = Value::Float;
    assert_eq!(f(f64::NAN), f(f64::NAN));
    assert_ne!(f(0.0), f(-0.0));
    assert!(f(-0.0) < f(0.0));
    assert!(f(f64::INFINITY) < f(f64::NAN));
    // Every NaN is the same value, whatever its sign (0.0 / 0.0 is negative on x86-64).
    assert_eq!(f(-f64::NAN), f(f64::NAN));
    assert!(f(f64::INFINITY) < f(-f64::NAN));
}

/// Runs `f` on a thread with a 256 KiB stack: anything recursive per level would overflow.
fn on_small_stack(f: impl FnOnce() + Send) {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn_scoped(s, f)
            .expect("thread")
            .join()
            .expect("no stack overflow");
    });
}

#[test]
fn ten_million_levels_print_compare_and_drop_without_recursion() {
    tables();
    on_small_stack(|| {
        const N: usize = 10_000_000;
        let some: Arc<str> = Arc::from("Some");
        let chain = |end: i64| {
            let mut v = Value::Int(end);
            for _ in 0..N {
                v = Value::Variant(Arc::new(VariantVal {
                    name: some.clone(),
                    fields: vec![v],
                }));
            }
            v
        };
        let a = chain(1);
        let text = to_literal(&a);
        assert_eq!(text.len(), N * "Some()".len() + 1);
        assert!(text.starts_with("Some(Some(") && text.contains("Some(1))"));
        drop(text);
        let b = chain(2);
        assert_eq!(a.cmp(&b), Ordering::Less);
        assert!(chor_print::deeper_than(&a, 512));
        drop(a);
        drop(b);
    });
    on_small_stack(|| {
        // Lists nested a million levels, and a list of ten million elements.
        let mut v = Value::list(vec![]);
        for i in 0..1_000_000 {
            v = Value::list(vec![Value::Int(i), v]);
        }
        let w = v.clone();
        assert_eq!(v, w);
        let text = to_literal(&v);
        assert!(text.starts_with("[999999, [999998, ["));
        drop(text);
        let mut n = Val::list(vec![]);
        for i in 0..1_000_000 {
            n = Val::list(vec![Val::Int(i), n]);
        }
        assert!(rt::to_literal(&n).contains("[1, [0, []]]"));
        assert_eq!(n.cmp(&n.clone()), Ordering::Equal);
        drop(n);
        let long = Value::list((0..10_000_000).map(Value::Int).collect());
        assert_eq!(to_literal(&long).len(), 68_888_890 + 2 + 2 * 9_999_999);
    });
}
