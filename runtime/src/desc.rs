//! [`RoleDesc`]: what the code generator tells a native role executable about its program —
//! the role it plays, the roles of the program, the fingerprint, the source locations, the
//! struct and variant names, the message types of its receives and where it first needs
//! each peer. The code generator builds one and embeds [`RoleDesc::encode`]'s bytes;
//! `chor_rt_start` reads them back with [`RoleDesc::decode`]. One type on both sides, one
//! encoding, so the two cannot drift apart.
//!
//! Encoding (every count and length an unsigned LEB128 varint, every string UTF-8 with its
//! length first, so any text — tabs, newlines — travels unchanged):
//! ```text
//! desc    := "CHORDESC" version(2) role roles fp[32] locs structs variants types first
//!            members
//! roles   := n str*n            locs := n str*n          variants := n str*n
//! structs := n (name n str*n)*n                          first := n (peer loc)*n
//! members := n (index role first)*n
//! types   := n ty*n
//! ty      := 0 Any | 1 Unit | 2 Bool | 3 Int | 4 Float | 5 Str
//!          | 6 n id*n Tuple | 7 id List | 8 id id Map
//!          | 9 name shown n id*n Struct | 10 shown n (name n id*n)*n Enum
//! ```
//! Type ids index `types` and are checked on decoding. Decoding untrusted bytes never
//! panics; a malformed description is an error naming the byte offset.

use std::fmt;

use crate::types::{TyId, TyNode, TypeTable};

const MAGIC: &[u8; 8] = b"CHORDESC";
const VERSION: u8 = 2;

/// The description of one role's program.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleDesc {
    /// The role this executable plays.
    pub role: String,
    /// The roles of the program's `main`, in the order native code numbers them.
    pub roles: Vec<String>,
    /// The program's fingerprint (see [`crate::session::Fingerprint`]).
    pub fingerprint: [u8; 32],
    /// Source locations (`file:line`), indexed by the location ids native code passes.
    pub locs: Vec<String>,
    /// Struct names with their field names, indexed by struct id.
    pub structs: Vec<(String, Vec<String>)>,
    /// Variant names, indexed by variant id.
    pub variants: Vec<String>,
    /// The message types of the receives.
    pub msg_types: TypeTable,
    /// Where the role first needs each peer (`file:line`), named when connecting fails.
    pub first: Vec<(String, String)>,
    /// For the program of a class of alike members of a family, compiled once: each
    /// member's index, role name and `first`, which take the place of `role` and `first`
    /// for the member the executable runs (the rest is the same for every member).
    pub members: Vec<MemberDesc>,
}

/// What differs between the members of a class of alike members (see [`RoleDesc::members`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberDesc {
    pub index: u64,
    pub role: String,
    pub first: Vec<(String, String)>,
}

impl RoleDesc {
    /// The description as member `index` of a class sees it: its own role and `first`
    /// (`None`: not a member of the class; a description without members is everyone's).
    pub fn for_member(mut self, index: i64) -> Option<RoleDesc> {
        if self.members.is_empty() {
            return Some(self);
        }
        let m = self
            .members
            .iter()
            .position(|m| i64::try_from(m.index).ok() == Some(index))?;
        let m = self.members.swap_remove(m);
        self.role = m.role;
        self.first = m.first;
        self.members.clear();
        Some(self)
    }
}

/// A description that does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What is wrong.
    pub what: &'static str,
}

impl fmt::Display for DescError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed program description at byte {}: {}",
            self.offset, self.what
        )
    }
}

impl std::error::Error for DescError {}

fn put_n(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_n(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_strs(out: &mut Vec<u8>, xs: &[String]) {
    put_n(out, xs.len() as u64);
    for x in xs {
        put_str(out, x);
    }
}

fn put_ids(out: &mut Vec<u8>, ids: &[TyId]) {
    put_n(out, ids.len() as u64);
    for i in ids {
        put_n(out, u64::from(*i));
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn fail<T>(&self, what: &'static str) -> Result<T, DescError> {
        Err(DescError {
            offset: self.pos,
            what,
        })
    }

    fn byte(&mut self) -> Result<u8, DescError> {
        match self.bytes.get(self.pos) {
            Some(b) => {
                self.pos += 1;
                Ok(*b)
            }
            None => self.fail("unexpected end"),
        }
    }

    fn n(&mut self) -> Result<u64, DescError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        self.fail("varint too long")
    }

    /// A count of items that take at least one byte each (so no count exceeds the input).
    fn count(&mut self) -> Result<usize, DescError> {
        let n = self.n()?;
        match usize::try_from(n) {
            Ok(n) if n <= self.bytes.len() - self.pos => Ok(n),
            _ => self.fail("count larger than the description"),
        }
    }

    fn str(&mut self) -> Result<String, DescError> {
        let len = self.count()?;
        let s = &self.bytes[self.pos..self.pos + len];
        match std::str::from_utf8(s) {
            Ok(s) => {
                self.pos += len;
                Ok(s.to_string())
            }
            Err(_) => self.fail("invalid UTF-8"),
        }
    }

    fn strs(&mut self) -> Result<Vec<String>, DescError> {
        let n = self.count()?;
        (0..n).map(|_| self.str()).collect()
    }

    fn first(&mut self) -> Result<Vec<(String, String)>, DescError> {
        let n = self.count()?;
        (0..n).map(|_| Ok((self.str()?, self.str()?))).collect()
    }

    fn id(&mut self) -> Result<TyId, DescError> {
        let n = self.n()?;
        match TyId::try_from(n) {
            Ok(i) => Ok(i),
            Err(_) => self.fail("type id out of range"),
        }
    }

    fn ids(&mut self) -> Result<Vec<TyId>, DescError> {
        let n = self.count()?;
        (0..n).map(|_| self.id()).collect()
    }

    fn ty(&mut self) -> Result<TyNode, DescError> {
        Ok(match self.byte()? {
            0 => TyNode::Any,
            1 => TyNode::Unit,
            2 => TyNode::Bool,
            3 => TyNode::Int,
            4 => TyNode::Float,
            5 => TyNode::Str,
            6 => TyNode::Tuple(self.ids()?),
            7 => TyNode::List(self.id()?),
            8 => TyNode::Map(self.id()?, self.id()?),
            9 => TyNode::Struct {
                name: self.str()?,
                shown: self.str()?,
                fields: self.ids()?,
            },
            10 => {
                let shown = self.str()?;
                let n = self.count()?;
                let variants = (0..n)
                    .map(|_| Ok((self.str()?, self.ids()?)))
                    .collect::<Result<_, DescError>>()?;
                TyNode::Enum { shown, variants }
            }
            _ => {
                self.pos -= 1;
                return self.fail("unknown type tag");
            }
        })
    }
}

fn ty_ids(n: &TyNode) -> Vec<TyId> {
    match n {
        TyNode::Tuple(ts) => ts.clone(),
        TyNode::List(t) => vec![*t],
        TyNode::Map(k, v) => vec![*k, *v],
        TyNode::Struct { fields, .. } => fields.clone(),
        TyNode::Enum { variants, .. } => variants.iter().flat_map(|(_, ts)| ts).copied().collect(),
        _ => Vec::new(),
    }
}

impl RoleDesc {
    /// The bytes of the description (see the module documentation).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        put_str(&mut out, &self.role);
        put_strs(&mut out, &self.roles);
        out.extend_from_slice(&self.fingerprint);
        put_strs(&mut out, &self.locs);
        put_n(&mut out, self.structs.len() as u64);
        for (name, fields) in &self.structs {
            put_str(&mut out, name);
            put_strs(&mut out, fields);
        }
        put_strs(&mut out, &self.variants);
        put_n(&mut out, self.msg_types.nodes.len() as u64);
        for n in &self.msg_types.nodes {
            match n {
                TyNode::Any => out.push(0),
                TyNode::Unit => out.push(1),
                TyNode::Bool => out.push(2),
                TyNode::Int => out.push(3),
                TyNode::Float => out.push(4),
                TyNode::Str => out.push(5),
                TyNode::Tuple(ts) => {
                    out.push(6);
                    put_ids(&mut out, ts);
                }
                TyNode::List(t) => {
                    out.push(7);
                    put_n(&mut out, u64::from(*t));
                }
                TyNode::Map(k, v) => {
                    out.push(8);
                    put_n(&mut out, u64::from(*k));
                    put_n(&mut out, u64::from(*v));
                }
                TyNode::Struct {
                    name,
                    shown,
                    fields,
                } => {
                    out.push(9);
                    put_str(&mut out, name);
                    put_str(&mut out, shown);
                    put_ids(&mut out, fields);
                }
                TyNode::Enum { shown, variants } => {
                    out.push(10);
                    put_str(&mut out, shown);
                    put_n(&mut out, variants.len() as u64);
                    for (name, ts) in variants {
                        put_str(&mut out, name);
                        put_ids(&mut out, ts);
                    }
                }
            }
        }
        put_first(&mut out, &self.first);
        put_n(&mut out, self.members.len() as u64);
        for m in &self.members {
            put_n(&mut out, m.index);
            put_str(&mut out, &m.role);
            put_first(&mut out, &m.first);
        }
        out
    }

    /// Reads a description written by [`RoleDesc::encode`].
    pub fn decode(bytes: &[u8]) -> Result<RoleDesc, DescError> {
        let mut r = Reader { bytes, pos: 0 };
        if !bytes.starts_with(MAGIC) {
            return r.fail("not a chor program description");
        }
        r.pos = MAGIC.len();
        if r.byte()? != VERSION {
            r.pos -= 1;
            return r.fail("unsupported description version");
        }
        let role = r.str()?;
        let roles = r.strs()?;
        let mut fingerprint = [0u8; 32];
        for b in &mut fingerprint {
            *b = r.byte()?;
        }
        let locs = r.strs()?;
        let n = r.count()?;
        let structs = (0..n)
            .map(|_| Ok((r.str()?, r.strs()?)))
            .collect::<Result<_, DescError>>()?;
        let variants = r.strs()?;
        let n = r.count()?;
        let mut msg_types = TypeTable::default();
        for _ in 0..n {
            let at = r.pos;
            let node = r.ty()?;
            if ty_ids(&node).iter().any(|i| *i as usize >= n) {
                return Err(DescError {
                    offset: at,
                    what: "type id out of range",
                });
            }
            msg_types.push(node);
        }
        let first = r.first()?;
        let n = r.count()?;
        let members = (0..n)
            .map(|_| {
                Ok(MemberDesc {
                    index: r.n()?,
                    role: r.str()?,
                    first: r.first()?,
                })
            })
            .collect::<Result<_, DescError>>()?;
        if r.pos != bytes.len() {
            return r.fail("trailing bytes");
        }
        Ok(RoleDesc {
            role,
            roles,
            fingerprint,
            locs,
            structs,
            variants,
            msg_types,
            first,
            members,
        })
    }
}

fn put_first(out: &mut Vec<u8>, first: &[(String, String)]) {
    put_n(out, first.len() as u64);
    for (peer, loc) in first {
        put_str(out, peer);
        put_str(out, loc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RoleDesc {
        let mut t = TypeTable::default();
        let int = t.push(TyNode::Int);
        let s = t.push(TyNode::Str);
        let node = t.push(TyNode::Any);
        t.set(
            node,
            TyNode::Enum {
                shown: "Tree".to_string(),
                variants: vec![
                    ("Leaf".to_string(), vec![]),
                    ("Node".to_string(), vec![node, int, node]),
                ],
            },
        );
        let pair = t.push(TyNode::Struct {
            name: "P".to_string(),
            shown: "Pair<Int, String>".to_string(),
            fields: vec![int, s],
        });
        t.push(TyNode::Tuple(vec![int, s, pair]));
        t.push(TyNode::Map(s, pair));
        t.push(TyNode::List(node));
        for n in [TyNode::Unit, TyNode::Bool, TyNode::Float] {
            t.push(n);
        }
        RoleDesc {
            role: "Seller".to_string(),
            roles: vec![
                "Buyer".to_string(),
                "Seller".to_string(),
                "Ré\tle".to_string(),
            ],
            fingerprint: std::array::from_fn(|i| i as u8 * 7),
            // Text that the old tab-separated lines could not carry.
            locs: vec![
                "an unknown location".to_string(),
                "dir with\ttab/new\nline.chor:3".to_string(),
                String::new(),
            ],
            structs: vec![
                ("P".to_string(), vec!["a".to_string(), "b".to_string()]),
                ("Empty".to_string(), vec![]),
            ],
            variants: vec!["Leaf".to_string(), "Node".to_string()],
            msg_types: t,
            first: vec![("Buyer".to_string(), "shop.chor:12".to_string())],
            members: vec![
                MemberDesc {
                    index: 1,
                    role: "Ws[1]".to_string(),
                    first: vec![("Ws[0]".to_string(), "ring.chor:3".to_string())],
                },
                MemberDesc {
                    index: 2,
                    role: "Ws[2]".to_string(),
                    first: Vec::new(),
                },
            ],
        }
    }

    #[test]
    fn a_class_description_is_each_members_own() {
        let d = sample();
        let m = d.clone().for_member(1).expect("member 1");
        assert_eq!(m.role, "Ws[1]");
        assert_eq!(m.first, [("Ws[0]".to_string(), "ring.chor:3".to_string())]);
        assert!(m.members.is_empty() && m.locs == d.locs);
        assert_eq!(
            d.clone().for_member(2).map(|m| m.role),
            Some("Ws[2]".into())
        );
        assert_eq!(d.for_member(0), None);
        let alone = RoleDesc::default();
        assert_eq!(alone.clone().for_member(7), Some(alone));
    }

    #[test]
    fn descriptions_round_trip() {
        let d = sample();
        assert_eq!(RoleDesc::decode(&d.encode()), Ok(d));
        let empty = RoleDesc::default();
        assert_eq!(RoleDesc::decode(&empty.encode()), Ok(empty));
    }

    #[test]
    fn malformed_descriptions_are_errors_not_panics() {
        let bytes = sample().encode();
        // Every strict prefix, and every single-byte change, decodes to an error or to some
        // description, never a panic.
        for i in 0..bytes.len() {
            assert!(RoleDesc::decode(&bytes[..i]).is_err(), "prefix {i}");
            for flip in [0x01u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                let _ = RoleDesc::decode(&b);
            }
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            RoleDesc::decode(&trailing).map_err(|e| e.what),
            Err("trailing bytes")
        );
        assert!(RoleDesc::decode(b"role\tSeller\n").is_err());
    }

    #[test]
    fn type_ids_are_checked() {
        let mut d = RoleDesc::default();
        d.msg_types.push(TyNode::List(5));
        let e = RoleDesc::decode(&d.encode()).expect_err("dangling id");
        assert_eq!(e.what, "type id out of range");
    }
}
