//! Lists of native code: a contiguous buffer with a dropped prefix, in one of two forms chosen
//! at run time (no types needed from the checker):
//!
//! - **Ints**: every element is an `Int`, stored as a bare `i64` (8 bytes an element);
//! - **Vals**: any values ([`Val`], 16 bytes an element).
//!
//! A list starts in the Int form (an empty list too) and switches to the general form when a
//! non-`Int` element arrives; it never switches back. The form is invisible to programs:
//! length, elements, order, printing and the wire form are those of the general list with the
//! same elements (see the tests).
//!
//! `list::drop` on an unshared list moves the start forward instead of shifting the elements;
//! the dropped prefix is reclaimed when the buffer would otherwise grow, and a buffer that
//! `take`/`drop` leave at most a quarter full shrinks.
//!
//! The first fields ([`List`] is `repr(C)`) form a header that generated code reads directly:
//! the form at [`LIST_KIND`], the address of element 0 at [`LIST_DATA`], the length at
//! [`LIST_LEN`] and, for the Int form, the number of free slots after the last element at
//! [`LIST_ROOM`]. Generated code appends an `Int` to an unshared Int list with room by writing
//! the slot and updating `len` and `room` (the slots of an Int buffer are all initialized, so
//! this is a plain store into the `Vec`'s elements). Everything else goes through this module,
//! which keeps the header up to date ([`List::sync`]).

use std::borrow::Cow;

use super::val::Val;

/// [`List`]'s form: every element an `Int`, stored as `i64`.
pub const KIND_INTS: u64 = 0;
/// [`List`]'s form: any values.
pub const KIND_VALS: u64 = 1;

/// Byte offsets of the header fields that generated code reads (and, for an inline push,
/// writes: `len` and `room`).
pub const LIST_KIND: i32 = 0;
pub const LIST_DATA: i32 = 8;
pub const LIST_LEN: i32 = 16;
pub const LIST_ROOM: i32 = 24;

/// Buffers smaller than this many elements are never shrunk.
const SHRINK_MIN: usize = 32;

#[derive(Debug)]
enum Store {
    /// Every slot is initialized: elements `start..start + len`, then `room` free slots
    /// (zeros or stale values).
    Ints(Vec<i64>),
    /// Elements `start..` (`len` of them); the ones before `start` are `Val::Unit` (dropped).
    Vals(Vec<Val>),
}

/// A list (the payload of `Val::List`).
#[repr(C)]
#[derive(Debug)]
pub struct List {
    /// [`KIND_INTS`] or [`KIND_VALS`] (header).
    kind: u64,
    /// The address of element 0 (header).
    data: *mut u8,
    /// The number of elements (header).
    len: usize,
    /// Free slots after the last element, for the Int form; 0 for the general form (header).
    room: usize,
    /// How many dropped elements precede element 0 in the store.
    start: usize,
    store: Store,
}

/// The elements of a list, borrowed.
#[derive(Debug, Clone, Copy)]
pub enum View<'a> {
    Ints(&'a [i64]),
    Vals(&'a [Val]),
}

impl Default for List {
    fn default() -> List {
        List::new()
    }
}

impl Drop for List {
    /// Frees the elements without recursion (see [`super::val::release`]).
    fn drop(&mut self) {
        if let Some(vals) = self.vals_mut() {
            super::val::release(vals);
        }
    }
}

impl Clone for List {
    /// A copy of the elements (without the dropped prefix, no spare room).
    fn clone(&self) -> List {
        self.slice(0, self.len)
    }
}

impl List {
    fn with(store: Store) -> List {
        let len = match &store {
            Store::Ints(v) => v.len(),
            Store::Vals(v) => v.len(),
        };
        let mut l = List {
            kind: KIND_INTS,
            data: std::ptr::null_mut(),
            len,
            room: 0,
            start: 0,
            store,
        };
        l.sync();
        l
    }

    /// The store of the general form, for [`super::val::release`] to empty (the list is
    /// being dropped: its header is not kept up to date).
    pub(super) fn vals_mut(&mut self) -> Option<&mut Vec<Val>> {
        match &mut self.store {
            Store::Vals(v) => Some(v),
            Store::Ints(_) => None,
        }
    }

    /// An empty list.
    pub fn new() -> List {
        List::with(Store::Ints(Vec::new()))
    }

    pub fn from_ints(xs: Vec<i64>) -> List {
        List::with(Store::Ints(xs))
    }

    /// An empty list in the Int form with `room` free slots (zeros): the first pushes of
    /// `Int`s into it are inline stores.
    pub fn with_room(room: usize) -> List {
        let mut l = List::from_ints(vec![0; room]);
        l.len = 0;
        l.sync();
        l
    }

    /// A list of these values, in the Int form when they are all `Int`s.
    pub fn from_vals(xs: Vec<Val>) -> List {
        if xs.iter().all(|x| matches!(x, Val::Int(_))) {
            List::from_ints(xs.iter().map(int_of).collect())
        } else {
            List::with(Store::Vals(xs))
        }
    }

    /// Refreshes the header from the store, `start` and `len`.
    fn sync(&mut self) {
        match &mut self.store {
            Store::Ints(v) => {
                self.kind = KIND_INTS;
                self.room = v.len() - self.start - self.len;
                self.data = v.as_mut_ptr().wrapping_add(self.start).cast();
            }
            Store::Vals(v) => {
                self.kind = KIND_VALS;
                self.room = 0;
                self.len = v.len() - self.start;
                self.data = v.as_mut_ptr().wrapping_add(self.start).cast();
            }
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the list is in the Int form.
    pub fn is_ints(&self) -> bool {
        matches!(self.store, Store::Ints(_))
    }

    pub fn view(&self) -> View<'_> {
        match &self.store {
            Store::Ints(v) => View::Ints(&v[self.start..self.start + self.len]),
            Store::Vals(v) => View::Vals(&v[self.start..]),
        }
    }

    /// Element `i`, as a new value.
    pub fn get(&self, i: usize) -> Option<Val> {
        match self.view() {
            View::Ints(xs) => xs.get(i).map(|x| Val::Int(*x)),
            View::Vals(xs) => xs.get(i).cloned(),
        }
    }

    /// The elements as values (borrowed where the list holds values).
    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, Val>> + '_ {
        let (ints, vals) = match self.view() {
            View::Ints(xs) => (xs, &[][..]),
            View::Vals(xs) => (&[][..], xs),
        };
        ints.iter()
            .map(|x| Cow::Owned(Val::Int(*x)))
            .chain(vals.iter().map(Cow::Borrowed))
    }

    /// The elements as owned values.
    pub fn into_vals(mut self) -> Vec<Val> {
        self.compact();
        match std::mem::replace(&mut self.store, Store::Ints(Vec::new())) {
            Store::Ints(mut v) => {
                v.truncate(self.len);
                v.into_iter().map(Val::Int).collect()
            }
            Store::Vals(v) => v,
        }
    }

    /// Moves the elements to the front of the store (no dropped prefix; free slots kept).
    fn compact(&mut self) {
        if self.start == 0 {
            return;
        }
        match &mut self.store {
            Store::Ints(v) => v.copy_within(self.start..self.start + self.len, 0),
            Store::Vals(v) => {
                v.drain(..self.start);
            }
        }
        self.start = 0;
        self.sync();
    }

    /// The Int buffer made ready to take `extra` more elements at `start + len`: the dropped
    /// prefix is reused when it is at least half the buffer, else the buffer grows (at least
    /// doubling), its new slots zeroed. Only for the Int form.
    fn int_room(&mut self, extra: usize) {
        if self.room >= extra {
            return;
        }
        if self.start >= self.len {
            self.compact();
            if self.room >= extra {
                return;
            }
        }
        if let Store::Ints(v) = &mut self.store {
            let need = self.start + self.len + extra;
            let slots = need.max(v.len() * 2).max(4);
            v.resize(slots, 0);
        }
        self.sync();
    }

    /// Switches to the general form, with room for `extra` more elements.
    fn generalize(&mut self, extra: usize) {
        if let Store::Ints(v) = &self.store {
            let live = &v[self.start..self.start + self.len];
            let mut vals = Vec::with_capacity(live.len() + extra);
            vals.extend(live.iter().map(|x| Val::Int(*x)));
            self.store = Store::Vals(vals);
            self.start = 0;
            self.sync();
        }
    }

    /// Before appending `extra` values to the general form: reuse the dropped prefix rather
    /// than grow a buffer that is at least half dropped.
    fn val_room(&mut self, extra: usize) {
        if let Store::Vals(v) = &self.store
            && v.len() + extra > v.capacity()
            && self.start >= self.len
        {
            self.compact();
        }
    }

    /// Appends an `Int` when the Int buffer has a free slot (what generated code does inline).
    #[inline]
    pub fn push_int_fast(&mut self, x: i64) -> bool {
        if self.room == 0 {
            return false;
        }
        if let Store::Ints(v) = &mut self.store
            && let Some(slot) = v.get_mut(self.start + self.len)
        {
            *slot = x;
            self.len += 1;
            self.room -= 1;
            return true;
        }
        false
    }

    pub fn push(&mut self, x: Val) {
        match x {
            Val::Int(i) if self.is_ints() => {
                if !self.push_int_fast(i) {
                    self.int_room(1);
                    self.push_int_fast(i);
                }
            }
            x => {
                self.generalize(1);
                self.val_room(1);
                if let Store::Vals(v) = &mut self.store {
                    v.push(x);
                }
                self.sync();
            }
        }
    }

    /// Appends copies of the elements of `ys` (as `Int`s or values).
    fn extend_view(&mut self, ys: View<'_>) {
        if ys.is_empty() {
            return;
        }
        if let View::Vals(_) = ys {
            self.generalize(ys.len());
        }
        if self.is_ints() {
            self.int_room(ys.len());
        } else {
            self.val_room(ys.len());
        }
        let end = self.start + self.len;
        match (&mut self.store, ys) {
            (Store::Ints(v), View::Ints(ys)) => {
                v[end..end + ys.len()].copy_from_slice(ys);
                self.len += ys.len();
            }
            (Store::Vals(v), View::Ints(ys)) => v.extend(ys.iter().map(|y| Val::Int(*y))),
            (Store::Vals(v), View::Vals(ys)) => v.extend_from_slice(ys),
            // Generalized above.
            (Store::Ints(_), View::Vals(_)) => {}
        }
        self.sync();
    }

    /// Appends the elements of `other` (consumed).
    pub fn append(&mut self, other: List) {
        if other.is_ints() || self.is_ints() {
            return self.extend_view(other.view());
        }
        // Both general: move the values.
        self.val_room(other.len());
        if let Store::Vals(v) = &mut self.store {
            v.extend(other.into_vals());
        }
        self.sync();
    }

    /// Appends copies of the elements of `other`.
    pub fn extend_from(&mut self, other: &List) {
        self.extend_view(other.view());
    }

    /// Keeps the first `n` elements.
    pub fn truncate(&mut self, n: usize) {
        let n = n.min(self.len);
        match &mut self.store {
            Store::Ints(_) => self.len = n,
            Store::Vals(v) => v.truncate(self.start + n),
        }
        self.sync();
        self.shrink_if_sparse();
    }

    /// Removes the first `n` elements.
    pub fn drop_front(&mut self, n: usize) {
        let n = n.min(self.len);
        if let Store::Vals(v) = &mut self.store {
            for x in &mut v[self.start..self.start + n] {
                *x = Val::Unit;
            }
        }
        self.start += n;
        self.len -= n;
        if self.len == 0 {
            // Empty now: forget the prefix outright.
            if let Store::Vals(v) = &mut self.store {
                v.clear();
            }
            self.start = 0;
        }
        self.sync();
        self.shrink_if_sparse();
    }

    /// Gives memory back when at most a quarter of the buffer holds elements.
    fn shrink_if_sparse(&mut self) {
        let cap = match &self.store {
            Store::Ints(v) => v.capacity(),
            Store::Vals(v) => v.capacity(),
        };
        if cap >= SHRINK_MIN && self.len * 4 <= cap {
            self.compact();
            match &mut self.store {
                Store::Ints(v) => {
                    v.truncate(self.len);
                    v.shrink_to_fit();
                }
                Store::Vals(v) => v.shrink_to_fit(),
            }
            self.sync();
        }
    }

    /// Replaces element `i` (`i < len`), in place.
    pub fn set_at(&mut self, i: usize, x: Val) {
        match (&mut self.store, x) {
            (Store::Ints(v), Val::Int(n)) => v[self.start + i] = n,
            (_, x) => {
                self.generalize(0);
                if let Store::Vals(v) = &mut self.store {
                    v[self.start + i] = x;
                }
            }
        }
    }

    /// Puts `x` before element `i` (`i <= len`), shifting the rest.
    pub fn insert_at(&mut self, i: usize, x: Val) {
        match x {
            Val::Int(n) if self.is_ints() => {
                self.int_room(1);
                let s = self.start;
                if let Store::Ints(v) = &mut self.store {
                    v.copy_within(s + i..s + self.len, s + i + 1);
                    v[s + i] = n;
                }
                self.len += 1;
            }
            x => {
                self.generalize(1);
                if let Store::Vals(v) = &mut self.store {
                    v.insert(self.start + i, x);
                }
            }
        }
        self.sync();
    }

    /// Removes element `i` (`i < len`), shifting the rest.
    pub fn remove_at(&mut self, i: usize) {
        let s = self.start;
        match &mut self.store {
            Store::Ints(v) => {
                v.copy_within(s + i + 1..s + self.len, s + i);
                self.len -= 1;
            }
            Store::Vals(v) => {
                v.remove(s + i);
            }
        }
        self.sync();
        self.shrink_if_sparse();
    }

    /// A new list with copies of elements `from..to` (clamped to the length).
    pub fn slice(&self, from: usize, to: usize) -> List {
        let to = to.min(self.len);
        let from = from.min(to);
        match self.view() {
            View::Ints(xs) => List::from_ints(xs[from..to].to_vec()),
            View::Vals(xs) => List::with(Store::Vals(xs[from..to].to_vec())),
        }
    }
}

impl View<'_> {
    pub fn len(&self) -> usize {
        match self {
            View::Ints(xs) => xs.len(),
            View::Vals(xs) => xs.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn int_of(x: &Val) -> i64 {
    match x {
        Val::Int(i) => *i,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt::rc::Rc;
    use crate::rt::val::{to_literal, to_wire};
    use std::cmp::Ordering;

    fn ints(xs: &[i64]) -> List {
        List::from_ints(xs.to_vec())
    }

    /// The same elements in the general form (never compacted).
    fn general(xs: &[i64]) -> List {
        List::with(Store::Vals(xs.iter().map(|x| Val::Int(*x)).collect()))
    }

    fn vals(l: &List) -> Vec<Val> {
        l.iter().map(Cow::into_owned).collect()
    }

    #[test]
    fn an_empty_list_with_room_is_an_empty_int_list() {
        let mut l = List::with_room(4);
        assert_eq!((l.len(), l.room, l.kind), (0, 4, KIND_INTS));
        l.push(Val::Int(5));
        assert_eq!((l.len(), l.room), (1, 3));
        assert_eq!((l.get(0), l.get(1)), (Some(Val::Int(5)), None));
        l.push(Val::Bool(true));
        assert_eq!((l.len(), l.kind), (2, KIND_VALS));
        assert_eq!(l.get(1), Some(Val::Bool(true)));
    }
    #[test]
    fn int_lists_switch_to_the_general_form_on_the_first_other_element() {
        let mut l = ints(&[1, 2, 3]);
        assert!(l.is_ints());
        l.push(Val::Int(4));
        assert!(l.is_ints());
        l.push(Val::str("x"));
        assert!(!l.is_ints());
        assert_eq!(l.len(), 5);
        assert_eq!(l.get(0), Some(Val::Int(1)));
        assert_eq!(l.get(4), Some(Val::str("x")));
        assert_eq!(l.get(5), None);
        l.push(Val::Int(6));
        assert_eq!(to_literal(&Val::List(Rc::new(l))), "[1, 2, 3, 4, \"x\", 6]");
        // A literal of Ints is compact; one with anything else is not.
        assert!(List::from_vals(vec![Val::Int(1)]).is_ints());
        assert!(List::from_vals(vec![]).is_ints());
        assert!(!List::from_vals(vec![Val::Int(1), Val::Bool(true)]).is_ints());
    }

    #[test]
    fn both_forms_print_compare_and_travel_alike() {
        let xs = [3, -1, 7, i64::MIN, i64::MAX];
        let (a, b) = (
            Val::List(Rc::new(ints(&xs))),
            Val::List(Rc::new(general(&xs))),
        );
        assert_eq!(to_literal(&a), to_literal(&b));
        assert_eq!(to_literal(&a), format!("{xs:?}"));
        assert_eq!(a.cmp(&b), Ordering::Equal);
        assert_eq!(to_wire(&a), to_wire(&b));
        for (p, q) in [
            (&[1, 2][..], &[1, 3][..]),
            (&[1, 2], &[1]),
            (&[], &[0]),
            (&[5], &[-5]),
        ] {
            let want = p.cmp(q);
            for (x, y) in [
                (ints(p), ints(q)),
                (ints(p), general(q)),
                (general(p), ints(q)),
            ] {
                let lv = |l: List| Val::List(Rc::new(l));
                assert_eq!(lv(x).cmp(&lv(y)), want, "{p:?} vs {q:?}");
            }
        }
        // Mixed lists order element by element: Int before String.
        let mut m = ints(&[1]);
        m.push(Val::str("a"));
        assert!(Val::List(Rc::new(ints(&[1, 2]))) < Val::List(Rc::new(m)));
        // Nested lists.
        let outer = |l: List| Val::list(vec![Val::List(Rc::new(l)), Val::Int(0)]);
        assert_eq!(to_literal(&outer(ints(&[1, 2]))), "[[1, 2], 0]");
        assert_eq!(outer(ints(&[1, 2])), outer(general(&[1, 2])));
        assert_eq!(to_wire(&outer(ints(&[1]))), to_wire(&outer(general(&[1]))));
    }

    #[test]
    fn both_forms_encode_to_the_same_bytes_and_decode_compact() {
        use crate::codec::{decode, encode};
        use crate::rt::val::from_wire;
        use crate::value::Message;
        let bytes = |v: &Val| encode(&Message::Value(to_wire(v).expect("no functions")));
        let xs = [0, 1, -1, 1 << 40];
        let (a, b) = (
            Val::List(Rc::new(ints(&xs))),
            Val::List(Rc::new(general(&xs))),
        );
        assert_eq!(bytes(&a), bytes(&b));
        let nested = |l: List| Val::list(vec![Val::List(Rc::new(l)), Val::str("s")]);
        assert_eq!(bytes(&nested(ints(&xs))), bytes(&nested(general(&xs))));
        // A received list of Ints arrives in the compact form, equal to the one sent.
        let Ok(Message::Value(w)) = decode(&bytes(&b)) else {
            panic!("decodes")
        };
        let got = from_wire(w).expect("known types");
        assert_eq!(got, a);
        match &got {
            Val::List(l) => assert!(l.is_ints()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn take_and_drop_in_place_and_shrink() {
        let mut l = ints(&(0..1000).collect::<Vec<_>>());
        l.drop_front(10);
        assert_eq!(l.len(), 990);
        assert_eq!(l.get(0), Some(Val::Int(10)));
        l.truncate(5);
        assert_eq!(vals(&l), (10..15).map(Val::Int).collect::<Vec<_>>());
        // Shrunk: at most a quarter was left.
        match &l.store {
            Store::Ints(v) => assert!(v.capacity() < 32, "{}", v.capacity()),
            Store::Vals(_) => panic!("form changed"),
        }
        let mut g = general(&(0..100).collect::<Vec<_>>());
        g.drop_front(98);
        assert_eq!(vals(&g), vec![Val::Int(98), Val::Int(99)]);
        g.drop_front(5);
        assert!(g.is_empty());
        g.push(Val::Int(1));
        assert_eq!(vals(&g), vec![Val::Int(1)]);
    }

    #[test]
    fn a_queue_reuses_its_dropped_prefix() {
        let mut l = List::new();
        for i in 0..16 {
            l.push(Val::Int(i));
        }
        for i in 16..100_000 {
            l.push(Val::Int(i));
            l.drop_front(1);
        }
        assert_eq!(l.len(), 16);
        assert_eq!(l.get(0), Some(Val::Int(100_000 - 16)));
        match &l.store {
            Store::Ints(v) => assert!(v.capacity() <= 64, "{}", v.capacity()),
            Store::Vals(_) => panic!("form changed"),
        }
    }

    #[test]
    fn append_and_slices_keep_the_elements() {
        let mut a = ints(&[1, 2]);
        a.append(ints(&[3]));
        assert!(a.is_ints());
        let mut s = List::new();
        s.push(Val::str("s"));
        a.append(s.clone());
        a.extend_from(&ints(&[4]));
        assert_eq!(
            to_literal(&Val::List(Rc::new(a.clone()))),
            "[1, 2, 3, \"s\", 4]"
        );
        let mut b = ints(&[0]);
        b.extend_from(&a);
        assert_eq!(to_literal(&Val::List(Rc::new(b))), "[0, 1, 2, 3, \"s\", 4]");
        assert_eq!(vals(&a.slice(1, 3)), vec![Val::Int(2), Val::Int(3)]);
        assert_eq!(a.slice(4, 99).len(), 1);
        assert_eq!(a.slice(9, 99).len(), 0);
        assert_eq!(a.into_vals().len(), 5);
    }

    #[test]
    fn the_header_describes_the_elements() {
        let mut l = ints(&[5, 6, 7]);
        l.drop_front(1);
        assert_eq!(l.kind, KIND_INTS);
        assert_eq!(l.len, 2);
        let p = l.data.cast::<i64>();
        match l.view() {
            View::Ints(xs) => assert_eq!(xs.as_ptr(), p),
            View::Vals(_) => panic!("form changed"),
        }
        // Offsets generated code relies on.
        assert_eq!(std::mem::offset_of!(List, kind), LIST_KIND as usize);
        assert_eq!(std::mem::offset_of!(List, data), LIST_DATA as usize);
        assert_eq!(std::mem::offset_of!(List, len), LIST_LEN as usize);
        assert_eq!(std::mem::offset_of!(List, room), LIST_ROOM as usize);
        l.push(Val::Unit);
        assert_eq!(l.kind, KIND_VALS);
        assert_eq!(l.len, 3);
    }
}
