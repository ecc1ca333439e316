//! Conversion between interpreter values and the runtime's wire values, and the builder
//! through which a received frame decodes straight into interpreter values ([`Receiver`]).
//!
//! A value deeper than a message may be ([`chor_runtime::codec::MAX_DEPTH`]) is refused by
//! [`too_deep`] before conversion, so the recursive conversions here never go deeper than
//! that limit whatever the program built; received values are within it by construction.

use crate::value::{Seq, StructVal, Value, VariantVal};
use chor_check::{Program, QualName};
use chor_runtime::codec::{Budget, CodecError, heap};
use chor_runtime::decode::{Builder, Kind};
use chor_runtime::value::Value as Wire;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Whether `v` nests compound values more than `limit` levels deep (iterative).
pub fn too_deep(v: &Value, limit: usize) -> bool {
    let mut todo: Vec<(&Value, usize)> = vec![(v, 0)];
    while let Some((v, d)) = todo.pop() {
        let before = todo.len();
        match v {
            Value::Tuple(xs) | Value::List(xs) => todo.extend(xs.iter().map(|x| (x, d + 1))),
            Value::Struct(s) => todo.extend(s.fields.iter().map(|x| (x, d + 1))),
            Value::Variant(x) => todo.extend(x.fields.iter().map(|x| (x, d + 1))),
            Value::Map(m) => {
                for (k, x) in m.iter() {
                    todo.push((k, d + 1));
                    todo.push((x, d + 1));
                }
            }
            _ => {}
        }
        if todo.len() > before && d + 1 > limit {
            return true;
        }
    }
    false
}

/// The wire form of a value; `None` for function values (they never travel: the checker rejects
/// such programs).
pub fn to_wire(v: &Value) -> Option<Wire> {
    Wire::of_view(v)
}

/// The interpreter value of a wire value; struct field names come from the program.
pub fn from_wire(prog: &Program, w: Wire) -> Result<Value, String> {
    Ok(match w {
        Wire::Unit => Value::Unit,
        Wire::Bool(b) => Value::Bool(b),
        Wire::Int(i) => Value::Int(i),
        Wire::Float(x) => Value::Float(x),
        Wire::Str(s) => Value::Str(Arc::from(s)),
        Wire::Tuple(items) => Value::Tuple(Arc::new(
            items
                .into_iter()
                .map(|x| from_wire(prog, x))
                .collect::<Result<_, _>>()?,
        )),
        Wire::List(items) => Value::List(Arc::new(
            items
                .into_iter()
                .map(|x| from_wire(prog, x))
                .collect::<Result<_, _>>()?,
        )),
        Wire::Map(entries) => {
            let mut m = BTreeMap::new();
            for (k, v) in entries {
                m.insert(from_wire(prog, k)?, from_wire(prog, v)?);
            }
            Value::Map(Arc::new(m))
        }
        Wire::Struct { name, fields } => {
            let def = prog
                .structs
                .get(&QualName::global(&name))
                .and_then(|r| prog.struct_def(*r))
                .ok_or_else(|| format!("received a value of unknown struct type `{name}`"))?;
            if def.fields.len() != fields.len() {
                return Err(format!(
                    "received a `{name}` with {} fields, expected {}",
                    fields.len(),
                    def.fields.len()
                ));
            }
            Value::Struct(Arc::new(StructVal {
                name: Arc::from(name.as_str()),
                field_names: def
                    .fields
                    .iter()
                    .map(|f| Arc::from(f.name.name.as_str()))
                    .collect(),
                fields: fields
                    .into_iter()
                    .map(|x| from_wire(prog, x))
                    .collect::<Result<_, _>>()?,
            }))
        }
        Wire::Variant { name, fields } => {
            if !prog.variants.contains_key(&name) {
                return Err(format!("received a value of unknown variant `{name}`"));
            }
            Value::Variant(Arc::new(VariantVal {
                name: Arc::from(name.as_str()),
                fields: fields
                    .into_iter()
                    .map(|x| from_wire(prog, x))
                    .collect::<Result<_, _>>()?,
            }))
        }
    })
}

// What received values take in memory, charged to the frame's budget as they are built: a
// value slot in a tuple, list, struct or variant; an `Arc`'s block (two counts, then the
// value); a map entry's share of the B-tree's nodes: a leaf holds 11 entries of two values
// (and a header) and at least 5 of them once it has split, and the internal nodes above
// the leaves take at most a fifth more.
const VALUE: usize = std::mem::size_of::<Value>();
const ARC: usize = 16;
const SEQ_BLOCK: usize = ARC + std::mem::size_of::<Seq>();
const MAP_BLOCK: usize = ARC + std::mem::size_of::<BTreeMap<Value, Value>>();
const STRUCT_BLOCK: usize = ARC + std::mem::size_of::<StructVal>();
const VARIANT_BLOCK: usize = ARC + std::mem::size_of::<VariantVal>();
const MAP_LEAF: usize = 11 * 2 * VALUE + 16;
const MAP_ENTRY: usize = ((MAP_LEAF + 23) & !15) * 6 / 25;

/// A compound interpreter value whose items are still arriving.
pub enum Open {
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Map(BTreeMap<Value, Value>, Option<Value>),
    Struct(Arc<str>, Arc<[Arc<str>]>, Vec<Value>),
    Variant(Arc<str>, Vec<Value>),
}

/// A struct type's name and field names, shared by its values.
type Names = (Arc<str>, Arc<[Arc<str>]>);

/// Builds interpreter values straight from a received frame ([`chor_runtime::decode`]), so
/// the frame's whole budget goes to the values the interpreter keeps. A struct's or
/// variant's name and field names are made once per type and shared by every value of it.
pub struct Receiver<'p> {
    prog: &'p Program,
    structs: HashMap<String, Names>,
    variants: HashMap<String, Arc<str>>,
}

impl<'p> Receiver<'p> {
    pub fn new(prog: &'p Program) -> Receiver<'p> {
        Receiver {
            prog,
            structs: HashMap::new(),
            variants: HashMap::new(),
        }
    }

    /// The shared name and field names of struct `name` with `n` fields; `None` if the
    /// program has no such struct.
    fn struct_names(
        &mut self,
        name: &str,
        n: usize,
        budget: &mut Budget,
        at: usize,
    ) -> Result<Option<Names>, CodecError> {
        if let Some(names) = self.structs.get(name) {
            return Ok((names.1.len() == n).then(|| names.clone()));
        }
        let prog = self.prog;
        let Some(def) = prog
            .structs
            .get(&QualName::global(name))
            .and_then(|r| prog.struct_def(*r))
        else {
            return Ok(None);
        };
        if def.fields.len() != n {
            return Ok(None);
        }
        let fields = def.fields.iter().map(|f| f.name.name.as_str());
        let bytes = fields.clone().map(|f| heap(ARC + f.len())).sum::<usize>();
        // The names, the shared array of field names, and the cache's own copy of the name.
        let array = heap(ARC + n * std::mem::size_of::<Arc<str>>());
        budget.charge(
            bytes + array + heap(ARC + name.len()) + heap(name.len()),
            at,
        )?;
        let names = (
            Arc::from(name),
            fields.map(Arc::from).collect::<Arc<[Arc<str>]>>(),
        );
        self.structs.insert(name.to_owned(), names.clone());
        Ok(Some(names))
    }

    /// The shared name of variant `name`; `None` if the program has no such variant.
    fn variant_name(
        &mut self,
        name: &str,
        budget: &mut Budget,
        at: usize,
    ) -> Result<Option<Arc<str>>, CodecError> {
        if let Some(n) = self.variants.get(name) {
            return Ok(Some(Arc::clone(n)));
        }
        if !self.prog.variants.contains_key(name) {
            return Ok(None);
        }
        budget.charge(heap(ARC + name.len()) + heap(name.len()), at)?;
        let n: Arc<str> = Arc::from(name);
        self.variants.insert(name.to_owned(), Arc::clone(&n));
        Ok(Some(n))
    }
}

/// The items' buffer of a compound of `n` items, charged whole: every item must follow (the
/// decoder checked the count against the bytes left), so an honest frame is charged exactly.
fn items(n: usize, budget: &mut Budget, at: usize) -> Result<Vec<Value>, CodecError> {
    budget.charge(heap(n.saturating_mul(VALUE)), at)?;
    Ok(Vec::with_capacity(n))
}

impl Builder for Receiver<'_> {
    type Value = Value;
    type Open = Open;

    fn unit(&mut self) -> Value {
        Value::Unit
    }
    fn bool(&mut self, b: bool) -> Value {
        Value::Bool(b)
    }
    fn int(&mut self, i: i64) -> Value {
        Value::Int(i)
    }
    fn float(&mut self, x: f64) -> Value {
        Value::Float(x)
    }

    fn string(&mut self, s: &str, budget: &mut Budget, at: usize) -> Result<Value, CodecError> {
        budget.charge(heap(ARC + s.len()), at)?;
        Ok(Value::str(s))
    }

    fn open(
        &mut self,
        kind: Kind<'_>,
        n: usize,
        _room: usize,
        budget: &mut Budget,
        at: usize,
    ) -> Result<Option<Open>, CodecError> {
        Ok(Some(match kind {
            Kind::Tuple => {
                budget.charge(heap(SEQ_BLOCK), at)?;
                Open::Tuple(items(n, budget, at)?)
            }
            Kind::List(_) => {
                budget.charge(heap(SEQ_BLOCK), at)?;
                Open::List(items(n, budget, at)?)
            }
            Kind::Map(..) => {
                budget.charge(heap(MAP_BLOCK), at)?;
                Open::Map(BTreeMap::new(), None)
            }
            Kind::Struct(name) => {
                let Some((name, fields)) = self.struct_names(name, n, budget, at)? else {
                    return Ok(None);
                };
                budget.charge(heap(STRUCT_BLOCK), at)?;
                Open::Struct(name, fields, items(n, budget, at)?)
            }
            Kind::Variant(name) => {
                let Some(name) = self.variant_name(name, budget, at)? else {
                    return Ok(None);
                };
                budget.charge(heap(VARIANT_BLOCK), at)?;
                Open::Variant(name, items(n, budget, at)?)
            }
        }))
    }

    fn add(
        &mut self,
        open: &mut Open,
        item: Value,
        budget: &mut Budget,
        at: usize,
    ) -> Result<(), CodecError> {
        match open {
            Open::Tuple(xs) | Open::List(xs) | Open::Struct(_, _, xs) | Open::Variant(_, xs) => {
                xs.push(item)
            }
            Open::Map(m, key) => match key.take() {
                None => *key = Some(item),
                Some(k) => {
                    budget.charge(MAP_ENTRY, at)?;
                    m.insert(k, item);
                }
            },
        }
        Ok(())
    }

    fn finish(&mut self, open: Open) -> Value {
        match open {
            Open::Tuple(xs) => Value::Tuple(Arc::new(Seq(xs))),
            Open::List(xs) => Value::List(Arc::new(Seq(xs))),
            Open::Map(m, _) => Value::Map(Arc::new(m)),
            Open::Struct(name, field_names, fields) => Value::Struct(Arc::new(StructVal {
                name,
                field_names,
                fields,
            })),
            Open::Variant(name, fields) => Value::Variant(Arc::new(VariantVal { name, fields })),
        }
    }
}
