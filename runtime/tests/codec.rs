//! Property tests of the codec: every value round-trips, and arbitrary bytes (random, or a
//! valid encoding with bytes flipped or cut off) decode to an error, never a panic.

use chor_runtime::codec::{decode, encode, validate};
use chor_runtime::{Message, Value};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Unit),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        // Compare floats by bits so NaN round-trips too.
        any::<u64>().prop_map(|b| Value::Float(f64::from_bits(b))),
        ".{0,12}".prop_map(Value::Str),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Tuple),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::vec((inner.clone(), inner.clone()), 0..4).prop_map(Value::Map),
            (
                "[A-Z][a-z]{0,6}",
                prop::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(|(name, fields)| Value::Struct { name, fields }),
            ("[A-Z][a-z]{0,6}", prop::collection::vec(inner, 0..3))
                .prop_map(|(name, fields)| Value::Variant { name, fields }),
        ]
    })
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        value().prop_map(Message::Value),
        "[A-Za-z_]{0,16}".prop_map(Message::Label),
    ]
}

/// Equality that treats floats by their bits (NaN != NaN under `==`).
fn same(a: &Message, b: &Message) -> bool {
    encode(a) == encode(b)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn round_trip(m in message()) {
        let bytes = encode(&m);
        let back = decode(&bytes).expect("decodes");
        prop_assert!(same(&m, &back), "{m:?} != {back:?}");
        prop_assert_eq!(validate(&bytes), Ok(()));
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let d = decode(&bytes);
        prop_assert_eq!(d.is_ok(), validate(&bytes).is_ok());
    }

    #[test]
    fn versioned_random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let mut b = vec![chor_runtime::codec::VERSION];
        b.extend(bytes);
        let d = decode(&b);
        prop_assert_eq!(d.is_ok(), validate(&b).is_ok());
    }

    #[test]
    fn corrupted_encodings_never_panic(m in message(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut bytes = encode(&m);
        for (i, b) in flips {
            let i = i.index(bytes.len());
            bytes[i] = b;
        }
        let d = decode(&bytes);
        prop_assert_eq!(d.is_ok(), validate(&bytes).is_ok());
    }

    #[test]
    fn truncated_encodings_are_errors(m in message(), cut in any::<prop::sample::Index>()) {
        // The encoding is prefix-free: no strict prefix of a message is a message.
        let bytes = encode(&m);
        let short = &bytes[..cut.index(bytes.len())];
        prop_assert!(decode(short).is_err());
        prop_assert!(validate(short).is_err());
    }
}

#[test]
fn huge_claimed_lengths_do_not_allocate() {
    // A list claiming 2^62 items in a 12-byte message is rejected before any allocation.
    let bytes = [
        1, 0, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f,
    ];
    assert!(decode(&bytes).is_err());
}

#[test]
fn decode_and_validate_agree_on_zeroed_bytes() {
    // Found by the corruption property: a map whose value is a map with a Float key.
    let m = Message::Value(Value::Map(vec![(
        Value::Tuple(vec![]),
        Value::Map(vec![(Value::Float(0.0), Value::Int(8192))]),
    )]));
    let bytes = encode(&m);
    for i in 0..bytes.len() {
        for b in [0u8, 1, 0x7f, 0x80, 0xff] {
            let mut c = bytes.clone();
            c[i] = b;
            assert_eq!(
                decode(&c).is_ok(),
                validate(&c).is_ok(),
                "byte {i} set to {b}: {c:?}"
            );
        }
    }
}
