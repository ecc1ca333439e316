//! The decoding budget: a frame of many tiny elements cannot make a receiver's memory grow by
//! more than `DECODE_FACTOR` times the frame (plus a small constant), on both receive paths
//! (native values through the typed decoder, and the wire value tree the interpreter's
//! executables read, which gets a third of the budget). Every kind of element whose decoded form
//! takes more than that is refused with an error that says so; the kinds that fit decode;
//! and a receiver whose `max_message_bytes` allows more accepts them all.

use chor_runtime::codec::{self, Budget, CodecErrorKind, DECODE_FACTOR};
use chor_runtime::rt::val::{Tables, Val, set_tables};
use chor_runtime::rt::wire::{RecvError, decode_typed_bounded};
use chor_runtime::types::{TyNode, TypeTable};
use chor_runtime::value::Message;

/// About the size of each hostile frame.
const FRAME: usize = 256 << 10;

fn varint(mut k: u64, out: &mut Vec<u8>) {
    while k >= 0x80 {
        out.push((k as u8) | 0x80);
        k >>= 7;
    }
    out.push(k as u8);
}

/// The kinds of element, the encoding of one, and whether a list of them fits in 4× its
/// frame as native values / as a wire tree with a third of that.
struct Kind {
    name: &'static str,
    elem: &'static [u8],
    native_fits: bool,
    tree_fits: bool,
}

const KINDS: &[Kind] = &[
    Kind {
        name: "units",
        elem: &[0x00],
        native_fits: false,
        tree_fits: false,
    },
    Kind {
        name: "bools",
        elem: &[0x02],
        native_fits: false,
        tree_fits: false,
    },
    // 8 bytes each in the compact list, 2 on the wire: exactly 4×.
    Kind {
        name: "small ints",
        elem: &[0x03, 0x02],
        native_fits: true,
        tree_fits: false,
    },
    Kind {
        name: "large ints",
        elem: &[
            0x03, 0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ],
        native_fits: true,
        tree_fits: false,
    },
    Kind {
        name: "empty strings",
        elem: &[0x05, 0x00],
        native_fits: false,
        tree_fits: false,
    },
    Kind {
        name: "16-byte strings",
        elem: b"\x05\x100123456789abcdef",
        native_fits: false,
        tree_fits: false,
    },
    Kind {
        name: "empty lists",
        elem: &[0x07, 0x00],
        native_fits: false,
        tree_fits: false,
    },
    Kind {
        name: "lists of 1 Int",
        elem: &[0x07, 0x01, 0x03, 0x02],
        native_fits: false,
        tree_fits: false,
    },
    Kind {
        name: "structs {Int,Int}",
        elem: &[0x09, 0x01, b'P', 0x02, 0x03, 0x02, 0x03, 0x02],
        native_fits: false,
        tree_fits: false,
    },
    Kind {
        name: "variants Some(Int)",
        elem: &[0x0a, 0x04, b'S', b'o', b'm', b'e', 0x01, 0x03, 0x02],
        native_fits: false,
        tree_fits: false,
    },
    Kind {
        name: "unit variants None",
        elem: &[0x0a, 0x04, b'N', b'o', b'n', b'e', 0x00],
        native_fits: false,
        tree_fits: false,
    },
];

fn tables() {
    set_tables(Tables {
        structs: vec![("P".to_string(), vec!["a".to_string(), "b".to_string()])],
        variants: vec!["None".to_string(), "Some".to_string()],
        struct_ids: [("P".to_string(), 0)].into_iter().collect(),
        variant_ids: [("None".to_string(), 0), ("Some".to_string(), 1)]
            .into_iter()
            .collect(),
    });
}

/// The type table: 0 Int, then the element type of `name`, then the list of it.
fn types(name: &str) -> (TypeTable, u32) {
    let mut t = TypeTable::default();
    let int = t.push(TyNode::Int);
    let elem = match name {
        "units" => t.push(TyNode::Unit),
        "bools" => t.push(TyNode::Bool),
        "empty strings" | "16-byte strings" | "256-byte strings" => t.push(TyNode::Str),
        "empty lists" | "lists of 1 Int" => t.push(TyNode::List(int)),
        "structs {Int,Int}" => t.push(TyNode::Struct {
            name: "P".to_string(),
            shown: "P".to_string(),
            fields: vec![int, int],
        }),
        "variants Some(Int)" | "unit variants None" => t.push(TyNode::Enum {
            shown: "Option<Int>".to_string(),
            variants: vec![
                ("None".to_string(), vec![]),
                ("Some".to_string(), vec![int]),
            ],
        }),
        _ => int,
    };
    let list = t.push(TyNode::List(elem));
    (t, list)
}

/// A value message: one list of as many copies of `elem` as fit in about `size` bytes.
fn list_frame(elem: &[u8], size: usize) -> Vec<u8> {
    let n = size / elem.len();
    let mut out = vec![codec::VERSION, 0x00, 0x07];
    varint(n as u64, &mut out);
    for _ in 0..n {
        out.extend_from_slice(elem);
    }
    out
}

/// A map of `n` distinct small Int keys to small Ints, in key order.
fn map_frame(n: usize) -> Vec<u8> {
    let mut out = vec![codec::VERSION, 0x00, 0x08];
    varint(n as u64, &mut out);
    for i in 0..n as u64 {
        out.push(0x03);
        varint(i << 1, &mut out);
        out.extend_from_slice(&[0x03, 0x02]);
    }
    out
}

fn is_budget_error(e: &codec::CodecError, frame: usize) -> bool {
    let text = e.to_string();
    matches!(e.kind, CodecErrorKind::TooLargeDecoded { limit, .. } if limit <= DECODE_FACTOR * frame + codec::DECODE_SLACK)
        && text.contains(&format!("a message of {frame} bytes would take more than"))
        && text.contains("max_message_bytes")
}

/// Decodes `frame` both ways within a budget of 4× it (a receiver whose `max_message_bytes`
/// is at most that), checking the verdicts.
fn check(name: &str, frame: &[u8], ty: (&TypeTable, u32), native_fits: bool, tree_fits: bool) {
    let len = frame.len();
    let native = decode_typed_bounded(frame, ty.0, ty.1, Budget::for_frame(len, 0));
    match (&native, native_fits) {
        (Ok(Val::List(_) | Val::Map(_)), true) => {}
        (Err(RecvError::Codec(e)), false) if is_budget_error(e, len) => {}
        _ => panic!("{name}, native: {native:?}"),
    }
    let tree = codec::decode_bounded(frame, &mut Budget::for_wire_tree(len, 0));
    match (&tree, tree_fits) {
        (Ok(Message::Value(_)), true) => {}
        (Err(e), false) if is_budget_error(e, len) => {}
        _ => panic!("{name}, wire tree: {:?}", tree.as_ref().map(|_| "a value")),
    }
    // A receiver that accepts larger frames accepts as much memory for any frame (the wire
    // tree takes up to 56 bytes an element, and gets a third).
    let roomy = 256 * len;
    let native = decode_typed_bounded(frame, ty.0, ty.1, Budget::for_frame(len, roomy));
    assert!(native.is_ok(), "{name}, native, roomy: {native:?}");
    let tree = codec::decode_bounded(frame, &mut Budget::for_wire_tree(len, roomy));
    assert!(tree.is_ok(), "{name}, wire tree, roomy");
}

#[test]
fn a_frame_of_tiny_elements_is_refused_or_decodes_within_four_times_its_size() {
    tables();
    for k in KINDS {
        let (t, list) = types(k.name);
        let frame = list_frame(k.elem, FRAME);
        check(k.name, &frame, (&t, list), k.native_fits, k.tree_fits);
    }
    // Long strings fit both ways.
    let (t, list) = types("256-byte strings");
    let mut elem = vec![0x05, 0x80, 0x02];
    elem.extend_from_slice(&[b'x'; 256]);
    check(
        "256-byte strings",
        &list_frame(&elem, FRAME),
        (&t, list),
        true,
        true,
    );
    // Maps of small entries (about 5 bytes on the wire, a B-tree entry of two values).
    let mut t = TypeTable::default();
    let int = t.push(TyNode::Int);
    let map = t.push(TyNode::Map(int, int));
    check(
        "map Int->Int",
        &map_frame(FRAME / 6),
        (&t, map),
        false,
        false,
    );
}

#[test]
fn small_messages_of_tiny_elements_decode_under_the_default_limit() {
    tables();
    let default = chor_runtime::config::DEFAULT_MAX_MESSAGE_BYTES;
    for k in KINDS {
        let (t, list) = types(k.name);
        // A thousand elements: far more than 4× their frame in memory, far less than
        // max_message_bytes.
        let frame = list_frame(k.elem, 1000 * k.elem.len());
        let budget = Budget::for_frame(frame.len(), default);
        let v = decode_typed_bounded(&frame, &t, list, budget.clone());
        assert!(
            matches!(&v, Ok(Val::List(l)) if l.len() == 1000),
            "{}: {v:?}",
            k.name
        );
        let tree = codec::decode_bounded(&frame, &mut Budget::for_wire_tree(frame.len(), default));
        assert!(
            matches!(&tree, Ok(Message::Value(chor_runtime::Value::List(xs))) if xs.len() == 1000),
            "{}",
            k.name
        );
    }
}

#[test]
fn nested_tiny_elements_are_charged_too() {
    tables();
    // A list of lists of units: every inner list is charged its block and its growth, so
    // nesting does not hide the amplification.
    let mut t = TypeTable::default();
    let unit = t.push(TyNode::Unit);
    let inner = t.push(TyNode::List(unit));
    let outer = t.push(TyNode::List(inner));
    let mut elem = vec![0x07, 0x10];
    elem.extend_from_slice(&[0x00; 16]);
    let frame = list_frame(&elem, FRAME);
    check("lists of 16 units", &frame, (&t, outer), false, false);
    // A tuple of many units (aggregates grow past their first 64 fields).
    let mut t = TypeTable::default();
    let any = t.push(TyNode::Any);
    let mut frame = vec![codec::VERSION, 0x00, 0x06];
    varint(FRAME as u64, &mut frame);
    frame.extend(std::iter::repeat_n(0x00, FRAME));
    let r = decode_typed_bounded(&frame, &t, any, Budget::for_frame(frame.len(), 0));
    assert!(
        matches!(&r, Err(RecvError::Codec(e)) if is_budget_error(e, frame.len())),
        "{r:?}"
    );
}
