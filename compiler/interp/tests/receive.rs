//! The interpreter's typed receive ([`chor_interp::wire::Receiver`]): a frame decodes
//! straight into interpreter values, equal to those of the general decoder, checked against
//! the expected type with the native back end's verdicts, and within the same memory budget:
//! a list the native back end accepts at the default `max_message_bytes` is accepted here
//! too, and a frame of tiny elements is refused by both.

use chor_interp::value::Value;
use chor_interp::wire::{Receiver, from_wire};
use chor_runtime::codec::{self, Budget, CodecErrorKind};
use chor_runtime::config::DEFAULT_MAX_MESSAGE_BYTES;
use chor_runtime::decode::{RecvError, decode_typed_with};
use chor_runtime::rt::wire::decode_typed_bounded;
use chor_runtime::types::{TyNode as N, TypeTable};
use chor_runtime::value::{Message, Value as Wire};

const SRC: &str = r#"
struct P { a: Int, b: String }
enum Shape { Dot, Circle(Float) }

choreography main(A, B) {
    A.print("x");
}
"#;

fn program() -> chor_check::Program {
    chor_check::program::from_source("prog.chor", SRC, vec![])
}

/// 0 Int, 1 List<Int>, 2 String, 3 P, 4 Float, 5 Shape, 6 Map<String, Shape>,
/// 7 (P, List<Int>), 8 List<Bool>, 9 Bool, 10 List<Unit>, 11 Unit.
fn types() -> TypeTable {
    let mut t = TypeTable::default();
    for n in [
        N::Int,
        N::List(0),
        N::Str,
        N::Struct {
            name: "P".into(),
            shown: "P".into(),
            fields: vec![0, 2],
        },
        N::Float,
        N::Enum {
            shown: "Shape".into(),
            variants: vec![("Dot".into(), vec![]), ("Circle".into(), vec![4])],
        },
        N::Map(2, 5),
        N::Tuple(vec![3, 1]),
        N::List(9),
        N::Bool,
        N::List(11),
        N::Unit,
    ] {
        t.push(n);
    }
    t
}

fn frame(w: Wire) -> Vec<u8> {
    codec::encode(&Message::Value(w))
}

fn receive(bytes: &[u8], ty: u32, max: usize) -> Result<Value, RecvError> {
    let prog = program();
    let budget = Budget::for_frame(bytes.len(), max);
    decode_typed_with(bytes, &types(), ty, &mut Receiver::new(&prog), budget)
}

fn p(a: i64, b: &str) -> Wire {
    Wire::Struct {
        name: "P".into(),
        fields: vec![Wire::Int(a), Wire::Str(b.into())],
    }
}

fn circle(r: f64) -> Wire {
    Wire::Variant {
        name: "Circle".into(),
        fields: vec![Wire::Float(r)],
    }
}

#[test]
fn received_values_equal_those_of_the_general_decoder() {
    let prog = program();
    let dot = Wire::Variant {
        name: "Dot".into(),
        fields: vec![],
    };
    let cases = [
        (0, Wire::Int(-3)),
        (1, Wire::List((0..100).map(Wire::Int).collect())),
        (1, Wire::List(vec![])),
        (3, p(7, "x")),
        (5, dot.clone()),
        (5, circle(2.5)),
        (
            6,
            Wire::Map(vec![
                (Wire::Str("a".into()), circle(1.0)),
                (Wire::Str("b".into()), dot),
            ]),
        ),
        (
            7,
            Wire::Tuple(vec![p(1, ""), Wire::List(vec![Wire::Int(i64::MIN)])]),
        ),
        // Past the table: any value of the program's types.
        (99, Wire::List(vec![p(2, "y"), Wire::Unit, circle(0.5)])),
    ];
    for (ty, w) in cases {
        let got = receive(&frame(w.clone()), ty, DEFAULT_MAX_MESSAGE_BYTES).expect("well typed");
        let want = from_wire(&prog, w).expect("known types");
        assert_eq!(got, want, "type {ty}");
        assert_eq!(
            chor_interp::value::to_literal(&got),
            chor_interp::value::to_literal(&want)
        );
    }
}

#[test]
fn a_value_of_another_type_is_refused_as_natively() {
    let cases = [
        (1, Wire::List(vec![Wire::Int(1), Wire::Str("2".into())])),
        (5, p(1, "a")),
        (3, circle(1.0)),
        (
            5,
            Wire::Variant {
                name: "Square".into(),
                fields: vec![],
            },
        ),
        (
            99,
            Wire::Struct {
                name: "Q".into(),
                fields: vec![],
            },
        ),
    ];
    let t = types();
    for (i, (ty, w)) in cases.into_iter().enumerate() {
        let bytes = frame(w);
        let interp = receive(&bytes, ty, DEFAULT_MAX_MESSAGE_BYTES);
        let Err(RecvError::Type(m)) = interp else {
            panic!("case {i}: {interp:?}");
        };
        if i == 0 {
            assert!(m.to_string().contains("element 1"), "{m}");
        }
        if ty < 99 {
            let budget = Budget::for_frame(bytes.len(), DEFAULT_MAX_MESSAGE_BYTES);
            let native = decode_typed_bounded(&bytes, &t, ty, budget);
            let Err(RecvError::Type(n)) = native else {
                panic!("case {i}: {native:?}");
            };
            assert_eq!(m.to_string(), n.to_string());
        }
    }
    // A selection label where a value is due, and malformed bytes.
    let label = codec::encode(&Message::Label("Go".into()));
    assert!(matches!(
        receive(&label, 0, DEFAULT_MAX_MESSAGE_BYTES),
        Err(RecvError::Label(l)) if l == "Go"
    ));
    let mut cut = frame(Wire::List(vec![Wire::Int(1), Wire::Int(2)]));
    cut.pop();
    assert!(matches!(
        receive(&cut, 1, DEFAULT_MAX_MESSAGE_BYTES),
        Err(RecvError::Codec(_))
    ));
}

/// A frame of `n` small Ints as a `List<Int>`, written byte by byte.
fn small_ints(n: usize) -> Vec<u8> {
    let mut b = vec![codec::VERSION, 0, 0x07];
    let mut k = n as u64;
    while k >= 0x80 {
        b.push((k as u8) | 0x80);
        k >>= 7;
    }
    b.push(k as u8);
    for i in 0..n {
        // Zigzag: the Int `i % 50`.
        b.extend_from_slice(&[0x03, (i % 50 * 2) as u8]);
    }
    b
}

#[test]
fn a_list_the_native_back_end_accepts_is_accepted_too() {
    let t = types();
    let n = 2_000_000;
    let bytes = small_ints(n);
    let budget = Budget::for_frame(bytes.len(), DEFAULT_MAX_MESSAGE_BYTES);
    assert!(decode_typed_bounded(&bytes, &t, 1, budget).is_ok());
    match receive(&bytes, 1, DEFAULT_MAX_MESSAGE_BYTES) {
        Ok(Value::List(xs)) => {
            assert_eq!(xs.len(), n);
            assert!(matches!(xs[n - 1], Value::Int(49)));
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
}

#[test]
fn a_frame_of_tiny_elements_is_refused_by_both() {
    // 200,000 `Bool`s (200 KB) on a connection of 256 KiB frames: 3.2 MB of values either
    // way, past the 800 KB the frame may take.
    let t = types();
    let bools = frame(Wire::List(vec![Wire::Bool(true); 200_000]));
    let units = frame(Wire::List(vec![Wire::Unit; 200_000]));
    for (bytes, ty) in [(bools, 8), (units, 10)] {
        let budget = Budget::for_frame(bytes.len(), 256 << 10);
        let native = decode_typed_bounded(&bytes, &t, ty, budget);
        let interp = receive(&bytes, ty, 256 << 10);
        for r in [native.map(|_| ()), interp.map(|_| ())] {
            assert!(
                matches!(&r, Err(RecvError::Codec(e))
                    if matches!(e.kind, CodecErrorKind::TooLargeDecoded { .. })),
                "{r:?}"
            );
        }
    }
}
