//! The typed decoder: turns a received frame straight into the receiver's own values,
//! checking each item against the receive's message type as it goes. What it builds is up
//! to a [`Builder`]: native values (`rt::wire`) or the reference interpreter's values.
//!
//! Decoding straight into the receiver's values (instead of a [`crate::value::Value`] tree
//! first) is what lets every back end spend a frame's whole [`Budget`] on the values it
//! keeps: the builder charges what it allocates, as it allocates it. A value of the wrong
//! type is refused at its first wrong item, before the rest of the frame allocates
//! anything. Like the codec, the decoder keeps its own stack instead of recursing.

use crate::codec::{self, Budget, CodecError, CodecErrorKind, MAX_DEPTH, Reader};
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

/// How a decode step failed: `Ok(())` a type mismatch (described afterwards from the whole
/// frame), `Err(e)` malformed bytes or a refused budget.
pub type Failed = Result<(), CodecError>;

/// The compound value being opened, with what its items are expected to be.
pub enum Kind<'t> {
    Tuple,
    /// A list and its element type ([`TyNode::Any`] when not known).
    List(&'t TyNode),
    /// A map and its key and value types.
    Map(&'t TyNode, &'t TyNode),
    /// A struct of the given name (already checked against the expected type).
    Struct(&'t str),
    /// A variant of the given name (already checked against the expected type).
    Variant(&'t str),
}

/// What a typed decode builds: one receiver's representation of values. Every method that
/// allocates charges the allocation to the frame's budget first, at the real size of what
/// it allocates, so the budget bounds the receiver's memory whatever it builds.
pub trait Builder {
    /// A finished value.
    type Value;
    /// A compound value still collecting its items.
    type Open;

    fn unit(&mut self) -> Self::Value;
    fn bool(&mut self, b: bool) -> Self::Value;
    fn int(&mut self, i: i64) -> Self::Value;
    fn float(&mut self, x: f64) -> Self::Value;
    /// A string (read at byte `at`).
    fn string(
        &mut self,
        s: &str,
        budget: &mut Budget,
        at: usize,
    ) -> Result<Self::Value, CodecError>;
    /// Opens a compound value of `n` items at byte `at`, with `room` bytes of the frame left
    /// for its items. `Ok(None)`: a struct or variant this program does not know (or not
    /// with `n` fields), which is a type mismatch.
    fn open(
        &mut self,
        kind: Kind<'_>,
        n: usize,
        room: usize,
        budget: &mut Budget,
        at: usize,
    ) -> Result<Option<Self::Open>, CodecError>;
    /// Adds the next item (a map's key, then its value, alternately).
    fn add(
        &mut self,
        open: &mut Self::Open,
        item: Self::Value,
        budget: &mut Budget,
        at: usize,
    ) -> Result<(), CodecError>;
    fn finish(&mut self, open: Self::Open) -> Self::Value;
    /// A list of `n` items or a map of `n` entries read whole (from `r`), for builders with
    /// a faster path than item by item for some element types; `None` (the default): item
    /// by item.
    fn whole(
        &mut self,
        _r: &mut Reader<'_>,
        _kind: &Kind<'_>,
        _n: usize,
        _budget: &mut Budget,
        _at: usize,
    ) -> Option<Result<Self::Value, Failed>> {
        None
    }
}

/// Frames up to this size are decoded a second time to describe a mismatch fully.
const DESCRIBE_LIMIT: usize = 1 << 20;

/// Decodes a received frame into a value of type `ty` built by `b` (an index past `types`
/// accepts any well-formed value of this program's types), within `budget`.
pub fn decode_typed_with<B: Builder>(
    bytes: &[u8],
    types: &TypeTable,
    ty: TyId,
    b: &mut B,
    mut budget: Budget,
) -> Result<B::Value, RecvError> {
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
    match decode_value(&mut r, types, ty, b, &mut budget) {
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
    // Within a budget of its own, as the frame is untrusted.
    let mut budget = Budget::for_frame(bytes.len(), DESCRIBE_LIMIT);
    if bytes.len() <= DESCRIBE_LIMIT
        && let Ok(Message::Value(v)) = codec::decode_bounded(bytes, &mut budget)
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

/// The types of an open value's items.
enum Items<'t> {
    Each(&'t [TyId]),
    All(TyId),
    Pair(TyId, TyId),
    Any,
}

struct Open<'t, O> {
    value: O,
    items: Items<'t>,
    done: usize,
    left: usize,
}

impl<O> Open<'_, O> {
    /// The expected type of the next item (`None`: any).
    fn next_ty(&self) -> Option<TyId> {
        match &self.items {
            Items::Each(ts) => ts.get(self.done).copied(),
            Items::All(t) => Some(*t),
            Items::Pair(k, v) => Some(if self.done.is_multiple_of(2) { *k } else { *v }),
            Items::Any => None,
        }
    }
}

fn decode_value<B: Builder>(
    r: &mut Reader<'_>,
    types: &TypeTable,
    root: TyId,
    b: &mut B,
    budget: &mut Budget,
) -> Result<B::Value, Failed> {
    let node = |id: Option<TyId>| -> &TyNode {
        match id.and_then(|i| types.nodes.get(i as usize)) {
            Some(n) => n,
            None => &TyNode::Any,
        }
    };
    let mut stack: Vec<Open<'_, B::Open>> = Vec::new();
    let mut expect: Option<TyId> = Some(root);
    loop {
        let tag_pos = r.pos;
        let want = node(expect);
        let any = matches!(want, TyNode::Any);
        let tag = r.byte().map_err(Err)?;
        let (kind, items, n) = match tag {
            T_UNIT | T_FALSE | T_TRUE | T_INT | T_FLOAT | T_STR => {
                let v = if any || is_scalar(want) {
                    r.pos = tag_pos;
                    scalar(b, r, if any { scalar_of(tag) } else { want }, budget)?
                } else {
                    return Err(Ok(()));
                };
                match close(b, &mut stack, v, r.pos, budget)? {
                    Some(v) => return Ok(v),
                    None => {
                        expect = stack.last().and_then(Open::next_ty);
                        continue;
                    }
                }
            }
            T_TUPLE => {
                let n = r.count(1).map_err(Err)?;
                let items = match want {
                    TyNode::Tuple(ts) if ts.len() == n => Items::Each(ts),
                    TyNode::Any => Items::Any,
                    _ => return Err(Ok(())),
                };
                (Kind::Tuple, items, n)
            }
            T_LIST => {
                let n = r.count(1).map_err(Err)?;
                match want {
                    TyNode::List(e) => (Kind::List(node(Some(*e))), Items::All(*e), n),
                    TyNode::Any => (Kind::List(&TyNode::Any), Items::Any, n),
                    _ => return Err(Ok(())),
                }
            }
            T_MAP => {
                let n = r.count(2).map_err(Err)?;
                let (kind, items) = match want {
                    TyNode::Map(k, v) => (
                        Kind::Map(node(Some(*k)), node(Some(*v))),
                        Items::Pair(*k, *v),
                    ),
                    TyNode::Any => (Kind::Map(&TyNode::Any, &TyNode::Any), Items::Any),
                    _ => return Err(Ok(())),
                };
                (kind, items, n.saturating_mul(2))
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
                (Kind::Struct(name), items, n)
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
                (Kind::Variant(name), items, n)
            }
            other => {
                return Err(Err(CodecError {
                    offset: tag_pos,
                    kind: CodecErrorKind::BadTag(other),
                }));
            }
        };
        if n > 0 && stack.len() >= MAX_DEPTH {
            return Err(Err(too_deep(tag_pos)));
        }
        let whole = match kind {
            Kind::List(_) => b.whole(r, &kind, n, budget, tag_pos),
            Kind::Map(..) => b.whole(r, &kind, n / 2, budget, tag_pos),
            _ => None,
        };
        let value = match whole {
            Some(v) => v?,
            None => {
                let Some(value) = b
                    .open(kind, n, r.remaining(), budget, tag_pos)
                    .map_err(Err)?
                else {
                    return Err(Ok(()));
                };
                let open = Open {
                    value,
                    items,
                    done: 0,
                    left: n,
                };
                if n > 0 {
                    expect = open.next_ty();
                    stack.push(open);
                    continue;
                }
                b.finish(open.value)
            }
        };
        match close(b, &mut stack, value, r.pos, budget)? {
            Some(v) => return Ok(v),
            None => expect = stack.last().and_then(Open::next_ty),
        }
    }
}

/// Hands a finished value to its parent, closing every parent it completes; the whole
/// value once the outermost closes.
fn close<B: Builder>(
    b: &mut B,
    stack: &mut Vec<Open<'_, B::Open>>,
    value: B::Value,
    at: usize,
    budget: &mut Budget,
) -> Result<Option<B::Value>, Failed> {
    let mut v = value;
    loop {
        let Some(top) = stack.last_mut() else {
            return Ok(Some(v));
        };
        b.add(&mut top.value, v, budget, at).map_err(Err)?;
        top.done += 1;
        top.left -= 1;
        if top.left > 0 {
            return Ok(None);
        }
        match stack.pop() {
            Some(open) => v = b.finish(open.value),
            None => return Ok(None),
        }
    }
}

fn too_deep(offset: usize) -> CodecError {
    CodecError {
        offset,
        kind: CodecErrorKind::TooDeep,
    }
}

/// Whether items of this type are read by [`scalar`] (no nesting, nothing to open).
pub(crate) fn is_scalar(t: &TyNode) -> bool {
    matches!(
        t,
        TyNode::Unit | TyNode::Bool | TyNode::Int | TyNode::Float | TyNode::Str
    )
}

/// The scalar type a scalar tag stands for (an item whose type is not known).
fn scalar_of(tag: u8) -> &'static TyNode {
    match tag {
        T_UNIT => &TyNode::Unit,
        T_FALSE | T_TRUE => &TyNode::Bool,
        T_INT => &TyNode::Int,
        T_FLOAT => &TyNode::Float,
        _ => &TyNode::Str,
    }
}

/// The verdict on an item whose tag is not the one expected (at `r.pos`, not consumed): a
/// type mismatch for a tag of the format, malformed bytes for any other, as in the general
/// loop.
pub(crate) fn wrong_item(r: &mut Reader<'_>) -> Failed {
    let pos = r.pos;
    match r.byte() {
        Ok(t) if t <= T_VARIANT => Ok(()),
        Ok(t) => Err(CodecError {
            offset: pos,
            kind: CodecErrorKind::BadTag(t),
        }),
        Err(e) => Err(e),
    }
}

/// One item of the scalar type `want` (see [`is_scalar`]), checked.
pub(crate) fn scalar<B: Builder>(
    b: &mut B,
    r: &mut Reader<'_>,
    want: &TyNode,
    budget: &mut Budget,
) -> Result<B::Value, Failed> {
    let pos = r.pos;
    let tag = r.byte().map_err(Err)?;
    Ok(match (tag, want) {
        (T_UNIT, TyNode::Unit) => b.unit(),
        (T_FALSE | T_TRUE, TyNode::Bool) => b.bool(tag == T_TRUE),
        (T_INT, TyNode::Int) => b.int(codec::unzigzag(r.varint().map_err(Err)?)),
        (T_FLOAT, TyNode::Float) => {
            let mut bits = [0u8; 8];
            bits.copy_from_slice(r.take(8).map_err(Err)?);
            b.float(f64::from_bits(u64::from_le_bytes(bits)))
        }
        (T_STR, TyNode::Str) => {
            let at = r.pos;
            let s = r.str_bytes().map_err(Err)?;
            b.string(s, budget, at).map_err(Err)?
        }
        _ => {
            r.pos = pos;
            return Err(wrong_item(r));
        }
    })
}
