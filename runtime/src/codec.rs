//! The binary encoding of [`Message`]s: compact, versioned, and safe to decode from untrusted bytes.
//!
//! Layout (all integers little-endian or LEB128):
//! ```text
//! message := VERSION kind
//! kind    := 0x00 value | 0x01 str            (a value, or a selection label)
//! value   := 0x00                              Unit
//!          | 0x01 | 0x02                       Bool false | true
//!          | 0x03 zigzag-varint                Int
//!          | 0x04 f64-bits (8 bytes)           Float
//!          | 0x05 str                          Str
//!          | 0x06 varint(n) value*n            Tuple
//!          | 0x07 varint(n) value*n            List
//!          | 0x08 varint(n) (value value)*n    Map (entries in key order)
//!          | 0x09 str varint(n) value*n        Struct (name, fields in declaration order)
//!          | 0x0a str varint(n) value*n        Variant (name, positional payload)
//! str     := varint(len) utf8-bytes
//! ```
//! A small `Int` takes two bytes; a short label a handful. The first byte is the format
//! [`VERSION`], so a peer built with another runtime is rejected with a clear error instead
//! of being misread (the handshake's fingerprint normally catches that first).
//!
//! Decoding never panics and never allocates beyond what the input can justify: every count
//! is checked against the bytes that remain (each element takes at least one byte), the
//! decoder keeps its own stack instead of recursing, and nesting is limited to [`MAX_DEPTH`]
//! so that code walking the decoded value cannot exhaust a thread's stack either.

use std::fmt;

use crate::value::{Message, Value};

/// The format version written as the first byte of every encoded message.
pub const VERSION: u8 = 1;

/// The deepest nesting of tuples, lists, maps, structs and variants that decodes.
///
/// The decoder itself does not recurse, but values are recursive Rust data: dropping,
/// cloning, comparing or printing them recurses, so a bound is needed for a hostile peer not
/// to overflow the role's stack with a deep value. 512 levels keep such walks well within a
/// 2 MiB thread stack even in debug builds (measured: cloning overflows there past ~1000).
pub const MAX_DEPTH: usize = 512;

/// How many times its frame's size a decoded message may take in memory (see [`Budget`]).
pub const DECODE_FACTOR: usize = 4;

/// Bytes a decoded message may take beyond [`DECODE_FACTOR`] times its frame: the blocks
/// of the outermost values (a list's header block, a map's root), which a frame pays once.
pub const DECODE_SLACK: usize = 4096;

/// The memory a message received from the network may take once decoded: the decoders
/// charge every allocation they make (its size as the system allocator rounds it) and
/// refuse the frame ([`CodecErrorKind::TooLargeDecoded`]) as soon as the total would pass
/// the limit, so a peer cannot make a receiver's memory grow by more than the limit with one
/// message, whatever the value's shape (a frame of a million one-byte `()`s would otherwise
/// become a million 16-byte values).
///
/// The limit is [`DECODE_FACTOR`] times the frame's size (plus [`DECODE_SLACK`]), or
/// `max_message_bytes` if that is larger: a receiver that accepts frames of
/// `max_message_bytes` accepts as much memory for any value, so small messages of small
/// items (a list of a thousand `Bool`s) are never refused, and no frame can make a receiver
/// hold more than [`DECODE_FACTOR`] × `max_message_bytes` (plus the slack).
#[derive(Debug, Clone)]
pub struct Budget {
    left: usize,
    limit: usize,
    frame: usize,
}

impl Budget {
    /// The budget of a frame of `frame` bytes on a connection whose largest frame is
    /// `max_message_bytes`.
    pub fn for_frame(frame: usize, max_message_bytes: usize) -> Budget {
        let limit = frame
            .saturating_mul(DECODE_FACTOR)
            .saturating_add(DECODE_SLACK)
            .max(max_message_bytes);
        Budget {
            left: limit,
            limit,
            frame,
        }
    }

    /// The budget of a frame decoded into a wire value tree ([`decode_bounded`]) on a
    /// connection (the untyped receives: labels, [`crate::session::Session::recv`]): a
    /// caller may build its own values from the tree (at most 1.7 times the tree for the
    /// interpreter's, a field-less struct: 144 bytes against 88), so the tree gets a third of
    /// the frame's budget and both together stay within it. Typed receives decode straight
    /// into the receiver's values ([`crate::decode`]) with the whole budget.
    pub fn for_wire_tree(frame: usize, max_message_bytes: usize) -> Budget {
        Budget::for_frame(frame, max_message_bytes).share(1, 3)
    }

    /// No limit (messages from this process, not from the network).
    pub fn unlimited() -> Budget {
        Budget {
            left: usize::MAX,
            limit: usize::MAX,
            frame: 0,
        }
    }

    /// This budget with only `num / den` of it left for the decoder: for a receiver that
    /// builds a second form of the value from the decoded one (the interpreter's values
    /// from the wire tree), so both forms together stay within the limit.
    pub fn share(mut self, num: usize, den: usize) -> Budget {
        self.left = self.left / den.max(1) * num;
        self
    }

    /// Charges `bytes` of memory about to be allocated for the item at `offset`.
    pub fn charge(&mut self, bytes: usize, offset: usize) -> Result<(), CodecError> {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(CodecError {
                offset,
                kind: CodecErrorKind::TooLargeDecoded {
                    limit: self.limit,
                    frame: self.frame,
                },
            }),
        }
    }
}

/// What an allocation of `n` bytes takes from the system allocator: glibc's chunks carry an
/// 8-byte header, are 16-byte aligned and at least 32 bytes. 0 for no allocation. Public for
/// the builders of other crates ([`crate::decode::Builder`]), which charge what they allocate.
pub fn heap(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (n.saturating_add(8 + 15) & !15).max(32)
    }
}

/// The capacity a `Vec` grows to when an item is pushed at full capacity `cap` (amortized
/// doubling, at least 4), to charge the growth before it happens.
pub(crate) fn grown(cap: usize) -> usize {
    cap.saturating_mul(2).max(4)
}

pub(crate) const MSG_VALUE: u8 = 0x00;
pub(crate) const MSG_LABEL: u8 = 0x01;

pub(crate) const T_UNIT: u8 = 0x00;
pub(crate) const T_FALSE: u8 = 0x01;
pub(crate) const T_TRUE: u8 = 0x02;
pub(crate) const T_INT: u8 = 0x03;
pub(crate) const T_FLOAT: u8 = 0x04;
pub(crate) const T_STR: u8 = 0x05;
pub(crate) const T_TUPLE: u8 = 0x06;
pub(crate) const T_LIST: u8 = 0x07;
pub(crate) const T_MAP: u8 = 0x08;
pub(crate) const T_STRUCT: u8 = 0x09;
pub(crate) const T_VARIANT: u8 = 0x0a;

/// Why bytes did not decode, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError {
    /// Byte offset in the input where decoding failed.
    pub offset: usize,
    /// What was wrong there.
    pub kind: CodecErrorKind,
}

/// The kinds of malformed input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecErrorKind {
    /// The input is empty.
    Empty,
    /// The first byte is not a format version this runtime reads.
    UnsupportedVersion(u8),
    /// The input ends in the middle of an item.
    UnexpectedEnd,
    /// An unknown message kind or value tag.
    BadTag(u8),
    /// A varint longer than 64 bits.
    VarintOverflow,
    /// A length or count larger than the remaining input could hold.
    LengthTooLarge(u64),
    /// A string that is not UTF-8.
    InvalidUtf8,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Bytes left after a complete message.
    TrailingBytes(usize),
    /// Well formed, but its decoded form would take more memory than a frame of its size
    /// may ([`Budget`]): `limit` bytes for a frame of `frame` bytes.
    TooLargeDecoded { limit: usize, frame: usize },
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let CodecErrorKind::TooLargeDecoded { limit, frame } = self.kind {
            // Not malformed: refused for the memory it would take.
            return write!(
                f,
                "a message of {frame} bytes would take more than {limit} bytes of memory once \
                 decoded (the limit is {DECODE_FACTOR} times the frame's size, or \
                 max_message_bytes if that is larger; refused at byte {})",
                self.offset
            );
        }
        write!(f, "malformed message at byte {}: ", self.offset)?;
        match &self.kind {
            CodecErrorKind::Empty => write!(f, "empty message"),
            CodecErrorKind::UnsupportedVersion(v) => write!(
                f,
                "unsupported format version {v} (this runtime reads version {VERSION})"
            ),
            CodecErrorKind::UnexpectedEnd => write!(f, "unexpected end of input"),
            CodecErrorKind::BadTag(t) => write!(f, "unknown tag 0x{t:02x}"),
            CodecErrorKind::VarintOverflow => write!(f, "integer longer than 64 bits"),
            CodecErrorKind::LengthTooLarge(n) => {
                write!(f, "length {n} exceeds the remaining input")
            }
            CodecErrorKind::InvalidUtf8 => write!(f, "string is not valid UTF-8"),
            CodecErrorKind::TooDeep => write!(f, "values nested deeper than {MAX_DEPTH}"),
            CodecErrorKind::TrailingBytes(n) => write!(f, "{n} unexpected bytes after the message"),
            CodecErrorKind::TooLargeDecoded { .. } => Ok(()),
        }
    }
}

impl std::error::Error for CodecError {}

/// Encodes a message into a fresh buffer.
pub fn encode(msg: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    encode_into(msg, &mut out);
    out
}

/// Appends the encoding of `msg` to `out` (the transports encode straight into their buffers).
pub fn encode_into(msg: &Message, out: &mut Vec<u8>) {
    out.push(VERSION);
    match msg {
        Message::Value(v) => {
            out.push(MSG_VALUE);
            encode_value(v, out);
        }
        Message::Label(l) => {
            out.push(MSG_LABEL);
            put_str(l, out);
        }
    }
}

/// Appends the encoding of a bare value (no version byte, no message kind).
///
/// Iterative (an explicit stack of the values still to write), so a deep value costs heap,
/// not stack; senders refuse values deeper than [`MAX_DEPTH`] first ([`too_deep`]), since
/// the receiver would refuse them anyway.
pub fn encode_value(v: &Value, out: &mut Vec<u8>) {
    let mut todo: Vec<&Value> = vec![v];
    while let Some(v) = todo.pop() {
        match v {
            Value::Unit => out.push(T_UNIT),
            Value::Bool(false) => out.push(T_FALSE),
            Value::Bool(true) => out.push(T_TRUE),
            Value::Int(i) => {
                out.push(T_INT);
                put_varint(zigzag(*i), out);
            }
            Value::Float(x) => {
                out.push(T_FLOAT);
                out.extend_from_slice(&x.to_bits().to_le_bytes());
            }
            Value::Str(s) => {
                out.push(T_STR);
                put_str(s, out);
            }
            Value::Tuple(items) => {
                out.push(T_TUPLE);
                put_varint(items.len() as u64, out);
                todo.extend(items.iter().rev());
            }
            Value::List(items) => {
                out.push(T_LIST);
                put_varint(items.len() as u64, out);
                todo.extend(items.iter().rev());
            }
            Value::Map(entries) => {
                out.push(T_MAP);
                put_varint(entries.len() as u64, out);
                for (k, v) in entries.iter().rev() {
                    todo.push(v);
                    todo.push(k);
                }
            }
            Value::Struct { name, fields } => {
                out.push(T_STRUCT);
                put_str(name, out);
                put_varint(fields.len() as u64, out);
                todo.extend(fields.iter().rev());
            }
            Value::Variant { name, fields } => {
                out.push(T_VARIANT);
                put_str(name, out);
                put_varint(fields.len() as u64, out);
                todo.extend(fields.iter().rev());
            }
        }
    }
}

/// Whether `v` nests compound values (tuples, lists, maps, structs, variants) more than
/// `limit` levels deep. Iterative, and stops at the first path past the limit.
pub fn too_deep(v: &Value, limit: usize) -> bool {
    let mut todo: Vec<(&Value, usize)> = vec![(v, 0)];
    while let Some((v, d)) = todo.pop() {
        let children: &[Value] = match v {
            Value::Tuple(xs) | Value::List(xs) => xs,
            Value::Struct { fields, .. } | Value::Variant { fields, .. } => fields,
            Value::Map(kv) => {
                if !kv.is_empty() && d + 1 > limit {
                    return true;
                }
                for (k, x) in kv {
                    todo.push((k, d + 1));
                    todo.push((x, d + 1));
                }
                continue;
            }
            _ => continue,
        };
        if children.is_empty() {
            continue;
        }
        if d + 1 > limit {
            return true;
        }
        todo.extend(children.iter().map(|c| (c, d + 1)));
    }
    false
}

pub(crate) fn put_str(s: &str, out: &mut Vec<u8>) {
    put_varint(s.len() as u64, out);
    out.extend_from_slice(s.as_bytes());
}

pub(crate) fn put_varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

pub(crate) fn zigzag(i: i64) -> u64 {
    ((i << 1) ^ (i >> 63)) as u64
}

pub(crate) fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

/// Decodes one complete message; the input must contain exactly one. Unbounded: for bytes
/// this process made; what comes from the network goes through [`decode_bounded`].
pub fn decode(bytes: &[u8]) -> Result<Message, CodecError> {
    decode_bounded(bytes, &mut Budget::unlimited())
}

/// [`decode`], charging the wire value tree's memory to `budget`.
pub fn decode_bounded(bytes: &[u8], budget: &mut Budget) -> Result<Message, CodecError> {
    let mut r = Reader::start(bytes)?;
    let msg = match r.byte()? {
        MSG_VALUE => {
            budget.charge(VALUE_SIZE, r.pos)?;
            Message::Value(r.value(budget)?)
        }
        MSG_LABEL => Message::Label(r.string()?),
        t => return Err(r.err_at(r.pos - 1, CodecErrorKind::BadTag(t))),
    };
    r.finish()?;
    Ok(msg)
}

/// Checks that `bytes` hold exactly one well-formed message, without building it
/// (used by the C ABI, whose callers decode the bytes themselves).
pub fn validate(bytes: &[u8]) -> Result<(), CodecError> {
    let mut r = Reader::start(bytes)?;
    match r.byte()? {
        MSG_VALUE => r.skip_value()?,
        MSG_LABEL => {
            r.str_bytes()?;
        }
        t => return Err(r.err_at(r.pos - 1, CodecErrorKind::BadTag(t))),
    }
    r.finish()
}

/// A cursor over an encoded message (also used by the typed decoder, [`crate::decode`]);
/// public only as the argument of [`crate::decode::Builder::whole`], whose readers are
/// this crate's.
pub struct Reader<'a> {
    buf: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn start(buf: &'a [u8]) -> Result<Self, CodecError> {
        let mut r = Reader { buf, pos: 0 };
        match buf.first() {
            None => Err(r.err_at(0, CodecErrorKind::Empty)),
            Some(&VERSION) => {
                r.pos = 1;
                Ok(r)
            }
            Some(&v) => Err(r.err_at(0, CodecErrorKind::UnsupportedVersion(v))),
        }
    }

    pub(crate) fn err_at(&self, offset: usize, kind: CodecErrorKind) -> CodecError {
        CodecError { offset, kind }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn finish(&self) -> Result<(), CodecError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.err_at(self.pos, CodecErrorKind::TrailingBytes(n))),
        }
    }

    pub(crate) fn byte(&mut self) -> Result<u8, CodecError> {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.err_at(self.pos, CodecErrorKind::UnexpectedEnd)),
        }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if n > self.remaining() {
            return Err(self.err_at(self.pos, CodecErrorKind::UnexpectedEnd));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn varint(&mut self) -> Result<u64, CodecError> {
        let start = self.pos;
        let mut n: u64 = 0;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err(self.err_at(start, CodecErrorKind::VarintOverflow));
            }
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(self.err_at(start, CodecErrorKind::VarintOverflow))
    }

    /// Reads up to `n` items that are all `Int`s (tag, zigzag varint) into `out`, stopping
    /// before the first item with another tag; returns how many were read. The loop of the
    /// compact lists' receive: no value is built per element, and one- and two-byte varints
    /// (Ints up to ±8191) take a branch each.
    pub(crate) fn ints(&mut self, n: usize, out: &mut Vec<i64>) -> Result<usize, CodecError> {
        for done in 0..n {
            let buf = self.buf;
            let p = self.pos;
            match (buf.get(p), buf.get(p + 1), buf.get(p + 2)) {
                (Some(&T_INT), Some(&b0), _) if b0 < 0x80 => {
                    self.pos = p + 2;
                    out.push(unzigzag(u64::from(b0)));
                }
                (Some(&T_INT), Some(&b0), Some(&b1)) if b1 < 0x80 => {
                    self.pos = p + 3;
                    out.push(unzigzag(u64::from(b0 & 0x7f) | (u64::from(b1) << 7)));
                }
                (Some(&T_INT), _, _) => {
                    self.pos = p + 1;
                    let n = self.varint()?;
                    out.push(unzigzag(n));
                }
                (Some(_), _, _) => return Ok(done),
                (None, _, _) => return Err(self.err_at(p, CodecErrorKind::UnexpectedEnd)),
            }
        }
        Ok(n)
    }

    /// A count of items each at least `min_item` bytes long, checked against the input left.
    pub(crate) fn count(&mut self, min_item: usize) -> Result<usize, CodecError> {
        let start = self.pos;
        let n = self.varint()?;
        match usize::try_from(n) {
            Ok(k) if k.saturating_mul(min_item) <= self.remaining() => Ok(k),
            _ => Err(self.err_at(start, CodecErrorKind::LengthTooLarge(n))),
        }
    }

    pub(crate) fn str_bytes(&mut self) -> Result<&'a str, CodecError> {
        let len = self.count(1)?;
        let start = self.pos;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|_| self.err_at(start, CodecErrorKind::InvalidUtf8))
    }

    fn string(&mut self) -> Result<String, CodecError> {
        self.str_bytes().map(str::to_owned)
    }

    fn string_charged(&mut self, budget: &mut Budget) -> Result<String, CodecError> {
        let at = self.pos;
        let s = self.str_bytes()?;
        budget.charge(heap(s.len()), at)?;
        Ok(s.to_owned())
    }

    /// Decodes one value without recursion: compound values under construction wait on an
    /// explicit stack, whose height is the nesting depth.
    fn value(&mut self, budget: &mut Budget) -> Result<Value, CodecError> {
        let mut stack: Vec<Partial> = Vec::new();
        loop {
            let tag_pos = self.pos;
            let (mut done, opened) = match self.byte()? {
                T_UNIT => (Some(Value::Unit), None),
                T_FALSE => (Some(Value::Bool(false)), None),
                T_TRUE => (Some(Value::Bool(true)), None),
                T_INT => (Some(Value::Int(unzigzag(self.varint()?))), None),
                T_FLOAT => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(self.take(8)?);
                    (
                        Some(Value::Float(f64::from_bits(u64::from_le_bytes(b)))),
                        None,
                    )
                }
                T_STR => (Some(Value::Str(self.string_charged(budget)?)), None),
                T_TUPLE => (None, Some((Shape::Tuple, self.count(1)?))),
                T_LIST => (None, Some((Shape::List, self.count(1)?))),
                T_MAP => (None, Some((Shape::Map, self.count(2)?.saturating_mul(2)))),
                T_STRUCT => {
                    let name = self.string_charged(budget)?;
                    (None, Some((Shape::Struct(name), self.count(1)?)))
                }
                T_VARIANT => {
                    let name = self.string_charged(budget)?;
                    (None, Some((Shape::Variant(name), self.count(1)?)))
                }
                t => return Err(self.err_at(tag_pos, CodecErrorKind::BadTag(t))),
            };
            if let Some((shape, n)) = opened {
                // Every one of the `n` items must follow (the count was checked against the
                // bytes left), so the whole buffer is charged, and allocated, at once: a
                // count the budget cannot pay for is refused before anything is allocated.
                let cap = n;
                budget.charge(heap(cap.saturating_mul(VALUE_SIZE)), tag_pos)?;
                let p = Partial {
                    shape,
                    left: n,
                    items: Vec::with_capacity(cap),
                };
                if n > 0 {
                    if stack.len() >= MAX_DEPTH {
                        return Err(self.err_at(tag_pos, CodecErrorKind::TooDeep));
                    }
                    stack.push(p);
                    continue;
                }
                done = Some(p.finish(budget, tag_pos)?);
            }
            // Hand the finished value to its parent, closing every parent it completes.
            let mut v = done;
            while let Some(value) = v.take() {
                match stack.last_mut() {
                    None => return Ok(value),
                    Some(top) => {
                        let cap = top.items.capacity();
                        if top.items.len() == cap {
                            // The old buffer is freed as the new one takes its items.
                            let more = grown(cap);
                            let bytes = heap(more * VALUE_SIZE) - heap(cap * VALUE_SIZE);
                            budget.charge(bytes, self.pos)?;
                            top.items.reserve_exact(more - cap);
                        }
                        top.items.push(value);
                        top.left -= 1;
                        if top.left == 0
                            && let Some(p) = stack.pop()
                        {
                            v = Some(p.finish(budget, self.pos)?);
                        }
                    }
                }
            }
        }
    }

    /// Like [`Reader::value`] but allocates nothing beyond a stack of counts.
    fn skip_value(&mut self) -> Result<(), CodecError> {
        let mut stack: Vec<usize> = Vec::new();
        loop {
            let tag_pos = self.pos;
            let items = match self.byte()? {
                T_UNIT | T_FALSE | T_TRUE => 0,
                T_INT => {
                    self.varint()?;
                    0
                }
                T_FLOAT => {
                    self.take(8)?;
                    0
                }
                T_STR => {
                    self.str_bytes()?;
                    0
                }
                T_TUPLE | T_LIST => self.count(1)?,
                T_MAP => self.count(2)?.saturating_mul(2),
                T_STRUCT | T_VARIANT => {
                    self.str_bytes()?;
                    self.count(1)?
                }
                t => return Err(self.err_at(tag_pos, CodecErrorKind::BadTag(t))),
            };
            if items > 0 {
                if stack.len() >= MAX_DEPTH {
                    return Err(self.err_at(tag_pos, CodecErrorKind::TooDeep));
                }
                stack.push(items);
                continue;
            }
            loop {
                match stack.last_mut() {
                    None => return Ok(()),
                    Some(left) => {
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                        stack.pop();
                    }
                }
            }
        }
    }
}

/// The size of one wire value (what each item of a decoded sequence takes).
const VALUE_SIZE: usize = std::mem::size_of::<Value>();

enum Shape {
    Tuple,
    List,
    Map,
    Struct(String),
    Variant(String),
}

/// A compound value whose items are still being decoded.
struct Partial {
    shape: Shape,
    left: usize,
    items: Vec<Value>,
}

impl Partial {
    /// The finished value; a map's entries are paired in a second vector, charged here (the
    /// items' vector, already charged, is freed once they are moved).
    fn finish(self, budget: &mut Budget, offset: usize) -> Result<Value, CodecError> {
        if matches!(self.shape, Shape::Map) {
            budget.charge(heap(self.items.len() / 2 * 2 * VALUE_SIZE), offset)?;
        }
        Ok(match self.shape {
            Shape::Tuple => Value::Tuple(self.items),
            Shape::List => Value::List(self.items),
            Shape::Map => {
                let mut it = self.items.into_iter();
                let mut entries = Vec::with_capacity(it.len() / 2);
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    entries.push((k, v));
                }
                Value::Map(entries)
            }
            Shape::Struct(name) => Value::Struct {
                name,
                fields: self.items,
            },
            Shape::Variant(name) => Value::Variant {
                name,
                fields: self.items,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(msg: Message, expected: &[u8]) {
        let bytes = encode(&msg);
        assert_eq!(bytes, expected, "encoding of {msg:?}");
        assert_eq!(decode(&bytes), Ok(msg));
        assert_eq!(validate(&bytes), Ok(()));
    }

    #[test]
    fn small_values_are_compact() {
        check(Message::Value(Value::Unit), &[1, 0, 0]);
        check(Message::Value(Value::Int(3)), &[1, 0, 3, 6]);
        check(Message::Value(Value::Int(-1)), &[1, 0, 3, 1]);
        check(Message::Value(Value::Bool(true)), &[1, 0, 2]);
        check(Message::Label("Buy".into()), &[1, 1, 3, b'B', b'u', b'y']);
        check(
            Message::Value(Value::Variant {
                name: "None".into(),
                fields: vec![],
            }),
            &[1, 0, 0x0a, 4, b'N', b'o', b'n', b'e', 0],
        );
    }

    #[test]
    fn extreme_ints_round_trip() {
        for i in [i64::MIN, i64::MAX, 0, -64, 64, 1 << 40] {
            let m = Message::Value(Value::Int(i));
            assert_eq!(decode(&encode(&m)), Ok(m));
        }
    }

    fn err(bytes: &[u8]) -> CodecErrorKind {
        let e = decode(bytes).expect_err("should not decode");
        assert_eq!(validate(bytes).map_err(|e| e.kind), Err(e.kind.clone()));
        e.kind
    }

    #[test]
    fn malformed_inputs_are_reported() {
        assert_eq!(err(&[]), CodecErrorKind::Empty);
        assert_eq!(err(&[9, 0, 0]), CodecErrorKind::UnsupportedVersion(9));
        assert_eq!(err(&[1]), CodecErrorKind::UnexpectedEnd);
        assert_eq!(err(&[1, 7]), CodecErrorKind::BadTag(7));
        assert_eq!(err(&[1, 0, 0x42]), CodecErrorKind::BadTag(0x42));
        assert_eq!(err(&[1, 0, 0, 0]), CodecErrorKind::TrailingBytes(1));
        assert_eq!(err(&[1, 1, 2, 0xff, 0xfe]), CodecErrorKind::InvalidUtf8);
        assert_eq!(
            err(&[1, 0, 7, 0xff, 0xff, 0xff, 0xff, 0x0f]),
            CodecErrorKind::LengthTooLarge(0xffff_ffff)
        );
        assert_eq!(
            err(&[
                1, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f
            ]),
            CodecErrorKind::VarintOverflow
        );
        assert_eq!(err(&[1, 0, 4, 0, 0]), CodecErrorKind::UnexpectedEnd);
    }

    fn nested(depth: usize) -> Vec<u8> {
        let mut b = vec![1, 0];
        for _ in 0..depth {
            b.extend_from_slice(&[T_LIST, 1]);
        }
        b.push(T_UNIT);
        b
    }

    #[test]
    fn deep_values_encode_and_measure_without_recursion() {
        std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(|| {
                let mut v = Value::Unit;
                for _ in 0..1_000_000 {
                    v = Value::Tuple(vec![v]);
                }
                assert!(too_deep(&v, MAX_DEPTH));
                let msg = Message::Value(v);
                let bytes = encode(&msg);
                assert_eq!(bytes.len(), 2 + 2 * 1_000_000 + 1);
                assert_eq!(
                    decode(&bytes).map_err(|e| e.kind),
                    Err(CodecErrorKind::TooDeep)
                );
                // Dropping recurses: take the value apart level by level.
                if let Message::Value(mut v) = msg {
                    while let Value::Tuple(mut xs) = v {
                        v = xs.pop().unwrap_or(Value::Unit);
                    }
                }
            })
            .expect("spawn")
            .join()
            .expect("no stack overflow");
        let mut at_limit = Value::Unit;
        for _ in 0..MAX_DEPTH {
            at_limit = Value::List(vec![at_limit]);
        }
        assert!(!too_deep(&at_limit, MAX_DEPTH));
        assert!(too_deep(&Value::List(vec![at_limit.clone()]), MAX_DEPTH));
        // Empty compounds do not count as a level (as in the decoder).
        assert!(!too_deep(
            &Value::List(vec![at_limit, Value::List(vec![])]),
            MAX_DEPTH + 1
        ));
    }

    #[test]
    fn nesting_is_bounded() {
        // Runs on a thread with a small stack on purpose: the bound must keep decoding,
        // comparing and dropping the deepest accepted value safe there.
        std::thread::Builder::new()
            .stack_size(1 << 21)
            .spawn(|| {
                let ok = decode(&nested(MAX_DEPTH)).expect("depth limit itself decodes");
                assert_eq!(ok.clone(), ok);
                assert_eq!(validate(&nested(MAX_DEPTH)), Ok(()));
                assert_eq!(err(&nested(MAX_DEPTH + 1)), CodecErrorKind::TooDeep);
                assert_eq!(err(&nested(1_000_000)), CodecErrorKind::TooDeep);
            })
            .expect("spawn")
            .join()
            .expect("no stack overflow");
    }
}
