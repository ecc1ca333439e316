//! Native values on the wire: the [`Builder`] through which the typed decoder
//! ([`crate::decode`]) turns a received frame straight into [`Val`]s, checking each item
//! against the receive's message type as it goes, and the encoder of native values.
//!
//! Decoding straight into native values (instead of a [`crate::value::Value`] tree first) is
//! what bounds a receiver's memory: an `Int` of a `List<Int>` takes 8 bytes in the compact
//! list and at least 2 on the wire, and no intermediate tree of 56-byte nodes is built.

use super::rc::Rc;
use std::collections::BTreeMap;

use super::list::List;
use super::list::View as ListView;
use super::val::{Agg, Val, struct_name, tables, variant_name};
use crate::codec::{self, Budget, CodecError, Reader, grown, heap};
use crate::codec::{MSG_VALUE, T_FALSE, T_FLOAT, T_INT, T_LIST, T_MAP, T_STR, T_STRUCT};
use crate::codec::{T_TRUE, T_TUPLE, T_UNIT, T_VARIANT};
use crate::decode::{Builder, Failed, Kind, decode_typed_with, is_scalar, scalar, wrong_item};
use crate::types::{TyId, TyNode, TypeTable};

pub use crate::decode::RecvError;

// What decoded values take in memory, charged to the frame's [`Budget`]: a value slot in a
// list, tuple, struct or variant; the reference-counted blocks of strings, lists, maps and
// aggregates (count, then the Rust value); a map entry's share of the B-tree's nodes (a
// 384-byte leaf holds 5 to 11 entries of two values; 80 bytes covers trees built entry by
// entry, [`MAP_ENTRY_SORTED`] those built in one pass from sorted entries, whose nodes are
// full).
const VAL: usize = std::mem::size_of::<Val>();
const STR_BLOCK: usize = 8 + std::mem::size_of::<String>();
const LIST_BLOCK: usize = 8 + std::mem::size_of::<List>();
const AGG_BLOCK: usize = 8 + std::mem::size_of::<Agg>();
const MAP_BLOCK: usize = 8 + std::mem::size_of::<BTreeMap<Val, Val>>();
const MAP_ENTRY: usize = 80;
const MAP_ENTRY_SORTED: usize = 40;

/// What one open compound value is collecting.
enum Slot {
    Tuple(Vec<Val>),
    List(List),
    Map(BTreeMap<Val, Val>, Option<Val>),
    Struct(u32, Vec<Val>),
    Variant(u32, Vec<Val>),
}

/// An open compound value and the item slots charged for it so far (a sequence's capacity,
/// grown as a `Vec` grows).
struct Open {
    slot: Slot,
    done: usize,
    cap: usize,
}

/// Builds native values for the typed decoder ([`crate::decode`]); `fast` takes the
/// whole-collection paths for lists and maps of scalars.
struct Native {
    fast: bool,
}

impl Builder for Native {
    type Value = Val;
    type Open = Open;

    fn unit(&mut self) -> Val {
        Val::Unit
    }
    fn bool(&mut self, b: bool) -> Val {
        Val::Bool(b)
    }
    fn int(&mut self, i: i64) -> Val {
        Val::Int(i)
    }
    fn float(&mut self, x: f64) -> Val {
        Val::Float(x)
    }

    fn string(&mut self, s: &str, budget: &mut Budget, at: usize) -> Result<Val, CodecError> {
        budget.charge(heap(STR_BLOCK) + heap(s.len()), at)?;
        Ok(Val::str(s))
    }

    fn open(
        &mut self,
        kind: Kind<'_>,
        n: usize,
        room: usize,
        budget: &mut Budget,
        at: usize,
    ) -> Result<Option<Open>, CodecError> {
        let t = tables();
        let slot = match kind {
            Kind::Tuple => {
                budget.charge(charge_agg(n), at)?;
                Slot::Tuple(Vec::with_capacity(n.min(64)))
            }
            Kind::List(elem) => {
                budget.charge(heap(LIST_BLOCK), at)?;
                if matches!(elem, TyNode::Int) {
                    let cap = n.min(room / 2);
                    budget.charge(heap(cap * 8), at)?;
                    Slot::List(List::from_ints(Vec::with_capacity(cap)))
                } else {
                    Slot::List(List::new())
                }
            }
            Kind::Map(..) => {
                budget.charge(heap(MAP_BLOCK), at)?;
                Slot::Map(BTreeMap::new(), None)
            }
            Kind::Struct(name) => {
                let Some(id) = t.struct_ids.get(name).copied() else {
                    return Ok(None);
                };
                if t.structs.get(id as usize).is_none_or(|(_, f)| f.len() != n) {
                    return Ok(None);
                }
                budget.charge(charge_agg(n), at)?;
                Slot::Struct(id, Vec::with_capacity(n.min(64)))
            }
            Kind::Variant(name) => {
                let Some(id) = t.variant_ids.get(name).copied() else {
                    return Ok(None);
                };
                budget.charge(charge_agg(n), at)?;
                Slot::Variant(id, Vec::with_capacity(n.min(64)))
            }
        };
        // Aggregates were charged their whole capacity; a general list grows as its items
        // arrive.
        let cap = match slot {
            Slot::List(_) | Slot::Map(..) => 0,
            _ => n.min(64),
        };
        Ok(Some(Open { slot, done: 0, cap }))
    }

    /// Adds a finished item, charging the growth of the sequence's buffer (or the map's
    /// entry) first.
    fn add(
        &mut self,
        open: &mut Open,
        v: Val,
        budget: &mut Budget,
        at: usize,
    ) -> Result<(), CodecError> {
        match &open.slot {
            Slot::Map(_, Some(_)) => budget.charge(MAP_ENTRY, at)?,
            Slot::Map(_, None) => {}
            _ if open.done == open.cap => {
                // The old buffer is freed as the new one takes its items.
                let more = grown(open.cap);
                budget.charge(heap(more * VAL) - heap(open.cap * VAL), at)?;
                open.cap = more;
            }
            _ => {}
        }
        match &mut open.slot {
            Slot::Tuple(xs) | Slot::Struct(_, xs) | Slot::Variant(_, xs) => xs.push(v),
            Slot::List(l) => l.push(v),
            Slot::Map(m, key) => match key.take() {
                None => *key = Some(v),
                Some(k) => {
                    m.insert(k, v);
                }
            },
        }
        open.done += 1;
        Ok(())
    }

    fn finish(&mut self, open: Open) -> Val {
        match open.slot {
            Slot::Tuple(xs) => Val::tuple(xs),
            Slot::List(l) => Val::List(l),
            Slot::Map(m, _) => Val::Map(Rc::new(m)),
            Slot::Struct(id, fields) => Val::Struct(Rc::new(Agg { id, fields })),
            Slot::Variant(id, fields) => Val::variant(id, fields),
        }
    }

    /// The whole-collection paths: a list of Ints straight into the compact form, lists and
    /// maps of other scalars without opening anything.
    fn whole(
        &mut self,
        r: &mut Reader<'_>,
        kind: &Kind<'_>,
        n: usize,
        budget: &mut Budget,
        at: usize,
    ) -> Option<Result<Val, Failed>> {
        if !self.fast {
            return None;
        }
        match *kind {
            Kind::List(TyNode::Int) => Some(int_list(r, n, budget, at)),
            Kind::List(elem) if is_scalar(elem) => Some(scalar_list(self, r, elem, n, budget, at)),
            Kind::Map(k, v) if is_scalar(k) && is_scalar(v) => {
                Some(scalar_entries(self, r, k, v, n, budget, at))
            }
            _ => None,
        }
    }
}

/// A list of `n` Ints, straight into the compact form, with capacity as the bytes justify:
/// each Int takes at least two.
fn int_list(r: &mut Reader<'_>, n: usize, budget: &mut Budget, at: usize) -> Result<Val, Failed> {
    budget.charge(heap(LIST_BLOCK), at).map_err(Err)?;
    let cap = n.min(r.remaining() / 2);
    budget.charge(heap(cap * 8), at).map_err(Err)?;
    let mut xs = Vec::with_capacity(cap);
    if r.ints(n, &mut xs).map_err(Err)? < n {
        return Err(wrong_item(r));
    }
    Ok(Val::List(List::from_ints(xs)))
}

/// A list of `n` items of the scalar type `elem`.
fn scalar_list(
    b: &mut Native,
    r: &mut Reader<'_>,
    elem: &TyNode,
    n: usize,
    budget: &mut Budget,
    at: usize,
) -> Result<Val, Failed> {
    budget.charge(heap(LIST_BLOCK), at).map_err(Err)?;
    let cap = n.min(r.remaining());
    budget.charge(heap(cap * VAL), at).map_err(Err)?;
    let mut xs = Vec::with_capacity(cap);
    for _ in 0..n {
        xs.push(scalar(b, r, elem, budget)?);
    }
    Ok(Val::list(xs))
}

/// A map of `n` entries of scalar keys and values.
fn scalar_entries(
    b: &mut Native,
    r: &mut Reader<'_>,
    k: &TyNode,
    v: &TyNode,
    n: usize,
    budget: &mut Budget,
    at: usize,
) -> Result<Val, Failed> {
    budget.charge(heap(MAP_BLOCK), at).map_err(Err)?;
    let cap = n.min(r.remaining() / 2);
    budget.charge(heap(cap * 2 * VAL), at).map_err(Err)?;
    let mut kv = Vec::with_capacity(cap);
    for _ in 0..n {
        let key = scalar(b, r, k, budget)?;
        kv.push((key, scalar(b, r, v, budget)?));
    }
    let sorted = kv.windows(2).all(|w| w[0].0 < w[1].0);
    let per = if sorted { MAP_ENTRY_SORTED } else { MAP_ENTRY };
    budget
        .charge(kv.len().saturating_mul(per), r.pos)
        .map_err(Err)?;
    Ok(Val::Map(Rc::new(scalar_map(kv, sorted))))
}

/// Decodes a received frame into a value of type `ty` (an index past `types` accepts any
/// well-formed value of this program's types), within the memory budget of a frame of its
/// size under the default `max_message_bytes` ([`Budget`]).
pub fn decode_typed(bytes: &[u8], types: &TypeTable, ty: TyId) -> Result<Val, RecvError> {
    let budget = Budget::for_frame(bytes.len(), crate::config::DEFAULT_MAX_MESSAGE_BYTES);
    decode_typed_with(bytes, types, ty, &mut Native { fast: true }, budget)
}

/// [`decode_typed`] within `budget` (the receiving connection's, from its
/// `max_message_bytes`).
pub fn decode_typed_bounded(
    bytes: &[u8],
    types: &TypeTable,
    ty: TyId,
    budget: Budget,
) -> Result<Val, RecvError> {
    decode_typed_with(bytes, types, ty, &mut Native { fast: true }, budget)
}

/// [`decode_typed`] without the whole-collection paths for lists and maps of scalars: every
/// item goes through the general loop. Kept to measure the difference (`cargo bench -p
/// chor-runtime --bench wire_lists`); the two agree on every input.
#[doc(hidden)]
pub fn decode_typed_itemwise(bytes: &[u8], types: &TypeTable, ty: TyId) -> Result<Val, RecvError> {
    let budget = Budget::for_frame(bytes.len(), crate::config::DEFAULT_MAX_MESSAGE_BYTES);
    decode_typed_with(bytes, types, ty, &mut Native { fast: false }, budget)
}

/// The map of received entries. Senders write entries in key order, so the tree is built in
/// one pass from the sorted entries; entries out of order (or repeated keys) are inserted
/// one by one, as the general loop does (a later value for a key replaces the earlier).
fn scalar_map(kv: Vec<(Val, Val)>, sorted: bool) -> BTreeMap<Val, Val> {
    if sorted {
        return kv.into_iter().collect();
    }
    let mut m = BTreeMap::new();
    for (k, x) in kv {
        m.insert(k, x);
    }
    m
}

/// What a tuple, struct or variant of `n` fields takes: its block and its fields' buffer (a
/// capacity of at most 64 to start with; more is charged as it grows).
fn charge_agg(n: usize) -> usize {
    heap(AGG_BLOCK) + heap(n.min(64) * VAL)
}

/// Encodes `v` as a value message (version, kind, value) at the end of `out`, straight from
/// the native representation: a compact Int list is written from its `i64`s, and no wire
/// value ([`crate::value::Value`]) is built. Iterative, like the codec. Returns `false`, with
/// `out` partly written, for a value holding a function (which cannot travel); senders check
/// the depth first ([`chor_print::deeper_than`]).
pub fn encode_val(v: &Val, out: &mut Vec<u8>) -> bool {
    out.push(codec::VERSION);
    out.push(MSG_VALUE);
    let mut todo: Vec<&Val> = vec![v];
    while let Some(v) = todo.pop() {
        match v {
            Val::Unit => out.push(T_UNIT),
            Val::Bool(false) => out.push(T_FALSE),
            Val::Bool(true) => out.push(T_TRUE),
            Val::Int(i) => {
                out.push(T_INT);
                codec::put_varint(codec::zigzag(*i), out);
            }
            Val::Float(x) => {
                out.push(T_FLOAT);
                out.extend_from_slice(&x.to_bits().to_le_bytes());
            }
            Val::Str(s) => {
                out.push(T_STR);
                codec::put_str(s, out);
            }
            Val::Tuple(a) => {
                out.push(T_TUPLE);
                codec::put_varint(a.fields.len() as u64, out);
                todo.extend(a.fields.iter().rev());
            }
            Val::List(l) => {
                out.push(T_LIST);
                codec::put_varint(l.len() as u64, out);
                match l.view() {
                    ListView::Ints(xs) => put_ints(xs, out),
                    ListView::Vals(xs) => todo.extend(xs.iter().rev()),
                }
            }
            Val::Map(m) => {
                out.push(T_MAP);
                codec::put_varint(m.len() as u64, out);
                for (k, x) in m.iter().rev() {
                    todo.push(x);
                    todo.push(k);
                }
            }
            Val::Struct(a) => {
                out.push(T_STRUCT);
                codec::put_str(struct_name(a.id), out);
                codec::put_varint(a.fields.len() as u64, out);
                todo.extend(a.fields.iter().rev());
            }
            Val::Variant(a) => {
                out.push(T_VARIANT);
                codec::put_str(variant_name(a.id), out);
                codec::put_varint(a.fields.len() as u64, out);
                todo.extend(a.fields.iter().rev());
            }
            Val::Func(_) => return false,
        }
    }
    true
}

/// Writes `xs` as Int items (tag, zigzag varint): a chunk at a time into a stack buffer
/// sized for the longest encodings, then appended, so the output buffer is neither zeroed nor
/// checked for room per byte.
fn put_ints(xs: &[i64], out: &mut Vec<u8>) {
    const CHUNK: usize = 512;
    let mut buf = [0u8; CHUNK * 11];
    for chunk in xs.chunks(CHUNK) {
        let mut at = 0;
        for &x in chunk {
            let mut n = codec::zigzag(x);
            buf[at] = T_INT;
            at += 1;
            while n >= 0x80 {
                buf[at] = (n as u8) | 0x80;
                n >>= 7;
                at += 1;
            }
            buf[at] = n as u8;
            at += 1;
        }
        out.extend_from_slice(&buf[..at]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt::val::{from_wire, to_wire};
    use crate::types::TyNode as N;
    use crate::value::Message;
    use proptest::prelude::*;

    /// The encoding through the wire value tree, which the direct encoder must equal.
    fn via_tree(v: &Val) -> Vec<u8> {
        codec::encode(&Message::Value(to_wire(v).expect("no functions")))
    }

    fn direct(v: &Val) -> Vec<u8> {
        let mut out = Vec::new();
        assert!(encode_val(v, &mut out));
        out
    }

    fn table(nodes: Vec<TyNode>) -> TypeTable {
        let mut t = TypeTable::default();
        for n in nodes {
            t.push(n);
        }
        t
    }

    fn ints(xs: &[i64]) -> Val {
        Val::List(List::from_int_slice(xs))
    }

    fn map(kv: Vec<(Val, Val)>) -> Val {
        Val::Map(Rc::new(kv.into_iter().collect()))
    }

    const EDGES: [i64; 12] = [
        0,
        1,
        -1,
        63,
        -64,
        64,
        8191,
        -8192,
        8192,
        1 << 40,
        i64::MIN,
        i64::MAX,
    ];

    #[test]
    fn direct_encoding_is_the_encoding_of_the_tree() {
        let general = Val::list(vec![Val::Int(1), Val::str("a"), Val::Bool(true)]);
        let values = [
            Val::Unit,
            Val::Int(i64::MIN),
            Val::Float(-0.5),
            Val::str("héllo"),
            ints(&[]),
            ints(&EDGES),
            general.clone(),
            Val::tuple(vec![ints(&[1, 2]), general, Val::Unit]),
            map(vec![
                (Val::str("b"), ints(&[3])),
                (Val::str("a"), Val::list(vec![Val::Float(1.0)])),
            ]),
            map(vec![
                (Val::Int(2), Val::Bool(false)),
                (Val::Int(-2), Val::Bool(true)),
            ]),
            Val::list(vec![ints(&[5, 6]), ints(&[]), ints(&EDGES)]),
        ];
        for v in &values {
            assert_eq!(direct(v), via_tree(v), "{v:?}");
        }
        let f = Val::Func(Rc::new(crate::rt::val::FuncObj {
            is_variant: false,
            module: None,
            name: "f".into(),
            code: 0,
        }));
        assert!(!encode_val(
            &Val::list(vec![Val::Int(1), f]),
            &mut Vec::new()
        ));
    }

    #[test]
    fn homogeneous_lists_and_scalar_maps_decode_checked() {
        // 0 Int, 1 List<Int>, 2 Str, 3 List<String>, 4 Map<String, Int>, 5 Bool,
        // 6 Map<Int, Bool>, 7 Float, 8 List<Float>, 9 List<List<Int>>
        let t = table(vec![
            N::Int,
            N::List(0),
            N::Str,
            N::List(2),
            N::Map(2, 0),
            N::Bool,
            N::Map(0, 5),
            N::Float,
            N::List(7),
            N::List(1),
        ]);
        let cases = [
            (1, ints(&EDGES)),
            (1, ints(&[])),
            (
                3,
                Val::list(vec![Val::str("x"), Val::str(""), Val::str("zz")]),
            ),
            (3, Val::list(vec![])),
            (
                4,
                map(vec![
                    (Val::str("k"), Val::Int(-7)),
                    (Val::str("a"), Val::Int(1 << 50)),
                ]),
            ),
            (
                6,
                map(vec![
                    (Val::Int(1), Val::Bool(true)),
                    (Val::Int(-1), Val::Bool(false)),
                ]),
            ),
            (8, Val::list(vec![Val::Float(0.25), Val::Float(f64::MAX)])),
            (9, Val::list(vec![ints(&[1, 2]), ints(&[]), ints(&EDGES)])),
        ];
        for (ty, v) in cases {
            let got = decode_typed(&direct(&v), &t, ty).expect("well typed");
            assert_eq!(got, v, "type {ty}");
            if let Val::List(l) = &got {
                // Lists of Ints (empty ones too) arrive compact.
                assert_eq!(l.is_ints(), ty == 1 || l.is_empty(), "{got:?}");
            }
        }
        // Entries out of key order, and a repeated key (the later value wins), as the
        // general loop reads them.
        let mut unsorted = vec![codec::VERSION, 0, T_MAP, 3];
        for (k, x) in [("b", 1u8), ("a", 2), ("b", 3)] {
            unsorted.extend_from_slice(&[T_STR, 1, k.as_bytes()[0], T_INT, 2 * x]);
        }
        let want = map(vec![
            (Val::str("a"), Val::Int(2)),
            (Val::str("b"), Val::Int(3)),
        ]);
        for decode in [decode_typed, decode_typed_itemwise] {
            assert_eq!(decode(&unsorted, &t, 4).expect("typed"), want);
        }
        // A wrong element anywhere is a type mismatch naming that element.
        let wrong = [
            (
                1,
                Val::list(vec![Val::Int(1), Val::Int(2), Val::str("3")]),
                "element 2",
            ),
            (3, Val::list(vec![Val::str("a"), Val::Int(1)]), "element 1"),
            (4, map(vec![(Val::str("k"), Val::str("v"))]), "expected Int"),
            (
                6,
                map(vec![(Val::str("k"), Val::Bool(true))]),
                "expected Int",
            ),
            (1, Val::list(vec![Val::Unit]), "element 0"),
        ];
        for (ty, v, says) in wrong {
            match decode_typed(&direct(&v), &t, ty) {
                Err(RecvError::Type(m)) => {
                    let text = format!("{m}");
                    assert!(text.contains(says), "{text}");
                }
                other => panic!("{v:?} as {ty}: {other:?}"),
            }
            let itemwise = decode_typed_itemwise(&direct(&v), &t, ty);
            assert!(matches!(itemwise, Err(RecvError::Type(_))), "{itemwise:?}");
        }
        // Malformed bytes inside a compact list: an unknown tag, a cut varint, a cut frame.
        let good = direct(&ints(&[1, 300, 5]));
        let mut bad_tag = good.clone();
        bad_tag[6] = 0x77;
        let mut long_varint = good[..6].to_vec();
        long_varint.push(T_INT);
        long_varint.extend_from_slice(&[0xff; 11]);
        for bytes in [bad_tag, long_varint, good[..good.len() - 1].to_vec()] {
            for decode in [decode_typed, decode_typed_itemwise] {
                assert!(
                    matches!(decode(&bytes, &t, 1), Err(RecvError::Codec(_))),
                    "{bytes:?}"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn int_lists_round_trip_and_agree_with_the_general_decoder(
            xs in proptest::collection::vec(any::<i64>(), 0..200),
            small in proptest::collection::vec(-20000i64..20000, 0..200),
        ) {
            let t = table(vec![N::Int, N::List(0)]);
            for xs in [xs, small] {
                let v = ints(&xs);
                let bytes = direct(&v);
                prop_assert_eq!(&bytes, &via_tree(&v));
                let got = decode_typed(&bytes, &t, 1).expect("well typed");
                let Ok(Message::Value(w)) = codec::decode(&bytes) else { panic!("decodes") };
                prop_assert_eq!(&got, &from_wire(w).expect("known"));
                prop_assert_eq!(&got, &decode_typed_itemwise(&bytes, &t, 1).expect("typed"));
                prop_assert_eq!(got, v);
            }
        }
    }
}
