//! Native values on the wire: the typed decoder that turns a received frame straight into
//! [`Val`]s, checking each item against the receive's message type as it goes, and the depth
//! check senders run before encoding.
//!
//! Decoding straight into native values (instead of a [`crate::value::Value`] tree first) is
//! what bounds a receiver's memory: an `Int` of a `List<Int>` takes 8 bytes in the compact
//! list and at least 2 on the wire, and no intermediate tree of 56-byte nodes is built. A
//! value of the wrong type is refused at its first wrong item, before the rest of the frame
//! allocates anything. Like the codec, the decoder keeps its own stack.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::list::List;
use super::val::{Agg, Val, tables};
use crate::codec::{self, CodecError, CodecErrorKind, MAX_DEPTH, Reader};
use crate::codec::{MSG_VALUE, T_FALSE, T_FLOAT, T_INT, T_LIST, T_MAP, T_STR, T_STRUCT};
use crate::codec::{T_TRUE, T_TUPLE, T_UNIT, T_VARIANT};
use crate::types::{TyId, TyNode, TypeMismatch, TypeTable};
use crate::value::Message;

/// Why a received frame was not accepted.
#[derive(Debug)]
pub enum RecvError {
    /// The bytes are not a well-formed message.
    Codec(CodecError),
    /// A selection label came where a value is due.
    Label(String),
    /// A value of another type.
    Type(TypeMismatch),
}

/// Frames up to this size are decoded a second time to describe a mismatch fully.
const DESCRIBE_LIMIT: usize = 1 << 20;

/// What one open compound value is collecting.
enum Slot {
    Tuple(Vec<Val>),
    List(List),
    Map(BTreeMap<Val, Val>, Option<Val>),
    Struct(u32, Vec<Val>),
    Variant(u32, Vec<Val>),
}

/// The types of an open value's items.
enum Items<'t> {
    Each(&'t [TyId]),
    All(TyId),
    Pair(TyId, TyId),
    Any,
}

struct Open<'t> {
    slot: Slot,
    items: Items<'t>,
    done: usize,
    left: usize,
}

impl Open<'_> {
    /// The expected type of the next item (`None`: any).
    fn next_ty(&self) -> Option<TyId> {
        match &self.items {
            Items::Each(ts) => ts.get(self.done).copied(),
            Items::All(t) => Some(*t),
            Items::Pair(k, v) => Some(if self.done.is_multiple_of(2) { *k } else { *v }),
            Items::Any => None,
        }
    }

    fn add(&mut self, v: Val) {
        match &mut self.slot {
            Slot::Tuple(xs) | Slot::Struct(_, xs) | Slot::Variant(_, xs) => xs.push(v),
            Slot::List(l) => l.push(v),
            Slot::Map(m, key) => match key.take() {
                None => *key = Some(v),
                Some(k) => {
                    m.insert(k, v);
                }
            },
        }
        self.done += 1;
        self.left -= 1;
    }

    fn finish(self) -> Val {
        match self.slot {
            Slot::Tuple(xs) => Val::tuple(xs),
            Slot::List(l) => Val::List(Rc::new(l)),
            Slot::Map(m, _) => Val::Map(Rc::new(m)),
            Slot::Struct(id, fields) => Val::Struct(Rc::new(Agg { id, fields })),
            Slot::Variant(id, fields) => Val::variant(id, fields),
        }
    }
}

/// Decodes a received frame into a value of type `ty` (an index past `types` accepts any
/// well-formed value of this program's types).
pub fn decode_typed(bytes: &[u8], types: &TypeTable, ty: TyId) -> Result<Val, RecvError> {
    let mut r = Reader::start(bytes).map_err(RecvError::Codec)?;
    let kind = r.byte().map_err(RecvError::Codec)?;
    if kind != MSG_VALUE {
        return Err(match codec::decode(bytes) {
            Ok(Message::Label(l)) => RecvError::Label(l),
            Ok(Message::Value(_)) => RecvError::Codec(CodecError {
                offset: 1,
                kind: CodecErrorKind::BadTag(kind),
            }),
            Err(e) => RecvError::Codec(e),
        });
    }
    match decode_value(&mut r, types, ty) {
        Ok(v) => {
            r.finish().map_err(RecvError::Codec)?;
            Ok(v)
        }
        Err(Err(e)) => Err(RecvError::Codec(e)),
        Err(Ok(())) => Err(RecvError::Type(mismatch(bytes, types, ty))),
    }
}

/// Describes a type mismatch found while decoding `bytes`.
fn mismatch(bytes: &[u8], types: &TypeTable, ty: TyId) -> TypeMismatch {
    let expected = types.show(ty);
    if bytes.len() <= DESCRIBE_LIMIT
        && let Ok(Message::Value(v)) = codec::decode(bytes)
    {
        if let Err(m) = types.check(ty, &v) {
            return m;
        }
        // The shape is right but a struct or variant is not one of this program's.
        return TypeMismatch {
            expected,
            received: crate::types::describe(&v),
            inner: None,
        };
    }
    TypeMismatch {
        expected,
        received: "a value of another type".to_string(),
        inner: None,
    }
}

/// `Err(Ok(()))`: a type mismatch (described afterwards); `Err(Err(e))`: malformed bytes.
fn decode_value(
    r: &mut Reader<'_>,
    types: &TypeTable,
    root: TyId,
) -> Result<Val, Result<(), CodecError>> {
    let t = tables();
    let node = |id: Option<TyId>| -> &TyNode {
        match id.and_then(|i| types.nodes.get(i as usize)) {
            Some(n) => n,
            None => &TyNode::Any,
        }
    };
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut expect: Option<TyId> = Some(root);
    loop {
        let tag_pos = r.pos;
        let want = node(expect);
        let any = matches!(want, TyNode::Any);
        let tag = r.byte().map_err(Err)?;
        let mut opened: Option<(Slot, Items<'_>, usize)> = None;
        let mut value: Option<Val> = None;
        match tag {
            T_UNIT if any || matches!(want, TyNode::Unit) => value = Some(Val::Unit),
            T_FALSE | T_TRUE if any || matches!(want, TyNode::Bool) => {
                value = Some(Val::Bool(tag == T_TRUE));
            }
            T_INT if any || matches!(want, TyNode::Int) => {
                value = Some(Val::Int(codec::unzigzag(r.varint().map_err(Err)?)));
            }
            T_FLOAT if any || matches!(want, TyNode::Float) => {
                let mut b = [0u8; 8];
                b.copy_from_slice(r.take(8).map_err(Err)?);
                value = Some(Val::Float(f64::from_bits(u64::from_le_bytes(b))));
            }
            T_STR if any || matches!(want, TyNode::Str) => {
                value = Some(Val::str(r.str_bytes().map_err(Err)?));
            }
            T_TUPLE => {
                let n = r.count(1).map_err(Err)?;
                let items = match want {
                    TyNode::Tuple(ts) if ts.len() == n => Items::Each(ts),
                    TyNode::Any => Items::Any,
                    _ => return Err(Ok(())),
                };
                opened = Some((Slot::Tuple(Vec::with_capacity(n.min(64))), items, n));
            }
            T_LIST => {
                let n = r.count(1).map_err(Err)?;
                let items = match want {
                    TyNode::List(e) => Items::All(*e),
                    TyNode::Any => Items::Any,
                    _ => return Err(Ok(())),
                };
                let list = if matches!(
                    node(Some(match items {
                        Items::All(e) => e,
                        _ => u32::MAX,
                    })),
                    TyNode::Int
                ) {
                    // Capacity as the bytes justify: each Int takes at least two.
                    List::from_ints(Vec::with_capacity(n.min(r.remaining() / 2)))
                } else {
                    List::new()
                };
                opened = Some((Slot::List(list), items, n));
            }
            T_MAP => {
                let n = r.count(2).map_err(Err)?;
                let items = match want {
                    TyNode::Map(k, v) => Items::Pair(*k, *v),
                    TyNode::Any => Items::Any,
                    _ => return Err(Ok(())),
                };
                opened = Some((Slot::Map(BTreeMap::new(), None), items, n.saturating_mul(2)));
            }
            T_STRUCT => {
                let name = r.str_bytes().map_err(Err)?;
                let n = r.count(1).map_err(Err)?;
                let items = match want {
                    TyNode::Struct {
                        name: w, fields, ..
                    } if w == name && fields.len() == n => Items::Each(fields),
                    TyNode::Any => Items::Any,
                    _ => return Err(Ok(())),
                };
                let Some(id) = t.struct_ids.get(name).copied() else {
                    return Err(Ok(()));
                };
                if t.structs.get(id as usize).is_none_or(|(_, f)| f.len() != n) {
                    return Err(Ok(()));
                }
                opened = Some((Slot::Struct(id, Vec::with_capacity(n.min(64))), items, n));
            }
            T_VARIANT => {
                let name = r.str_bytes().map_err(Err)?;
                let n = r.count(1).map_err(Err)?;
                let items = match want {
                    TyNode::Enum { variants, .. } => {
                        match variants.iter().find(|(v, ts)| v == name && ts.len() == n) {
                            Some((_, ts)) => Items::Each(ts),
                            None => return Err(Ok(())),
                        }
                    }
                    TyNode::Any => Items::Any,
                    _ => return Err(Ok(())),
                };
                let Some(id) = t.variant_ids.get(name).copied() else {
                    return Err(Ok(()));
                };
                opened = Some((Slot::Variant(id, Vec::with_capacity(n.min(64))), items, n));
            }
            T_UNIT | T_FALSE | T_TRUE | T_INT | T_FLOAT | T_STR => return Err(Ok(())),
            other => {
                return Err(Err(CodecError {
                    offset: tag_pos,
                    kind: CodecErrorKind::BadTag(other),
                }));
            }
        }
        if let Some((slot, items, n)) = opened {
            let open = Open {
                slot,
                items,
                done: 0,
                left: n,
            };
            if n > 0 {
                if stack.len() >= MAX_DEPTH {
                    return Err(Err(CodecError {
                        offset: tag_pos,
                        kind: CodecErrorKind::TooDeep,
                    }));
                }
                expect = open.next_ty();
                stack.push(open);
                continue;
            }
            value = Some(open.finish());
        }
        // Hand the finished value to its parent, closing every parent it completes.
        let mut v = value;
        while let Some(x) = v.take() {
            match stack.last_mut() {
                None => return Ok(x),
                Some(top) => {
                    top.add(x);
                    if top.left == 0 {
                        v = stack.pop().map(Open::finish);
                    } else {
                        expect = top.next_ty();
                    }
                }
            }
        }
    }
}
