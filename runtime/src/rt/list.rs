//! Lists of native code: one reference-counted allocation holding a header and the elements
//! right after it, in one of two forms chosen at run time (no types needed from the checker):
//!
//! - **Ints**: every element is an `Int`, stored as a bare `i64` (8 bytes an element);
//! - **Vals**: any values ([`Val`], 16 bytes an element).
//!
//! A list starts in the Int form (an empty list too) and switches to the general form when a
//! non-`Int` element arrives; it never switches back. The form is invisible to programs:
//! length, elements, order, printing and the wire form are those of the general list with the
//! same elements (see the tests).
//!
//! [`List`] is the reference-counted handle itself (cloning it adds a reference, as `Rc` does):
//! a list used to be an `Rc` box around a header that pointed to a separate buffer, two
//! allocations a list and two frees; merge sort spent a quarter of its time in the allocator.
//! Now the header and the elements share one block, grown by `realloc`. A list is changed in
//! place only when its handle is the only reference (a shared list is copied first, like
//! `Rc::make_mut`); growing may move the block, so every change goes through `&mut List`,
//! which then points to the new block, and the C ABI returns the (possibly new) address.
//!
//! `list::drop` on an unshared list moves the start forward instead of shifting the elements;
//! the dropped prefix is reclaimed when the block would otherwise grow, and a block that
//! `take`/`drop` leave at most a quarter full shrinks.
//!
//! The block is `repr(C)`: the reference count, then the header that generated code reads
//! directly at fixed offsets from the list's address (the address of the word after the
//! count, so the count is at [`super::rc::COUNT_OFFSET`] as for every other heap value): the
//! form at [`LIST_KIND`], the address of element 0 at [`LIST_DATA`], the length at
//! [`LIST_LEN`] and the number of free slots after the last element at [`LIST_ROOM`].
//! Generated code appends an `Int` to an unshared Int list with room by writing the slot and
//! updating `len` and `room`; free slots are not initialized (nothing reads a slot before
//! something writes it). Everything else goes through this module, which keeps the header up
//! to date ([`List::sync`]).
#![allow(unsafe_code)]

use std::alloc::Layout;
use std::borrow::Cow;
use std::marker::PhantomData;
use std::ptr::NonNull;

use super::val::Val;

/// [`List`]'s form: every element an `Int`, stored as `i64`.
pub const KIND_INTS: u64 = 0;
/// [`List`]'s form: any values.
pub const KIND_VALS: u64 = 1;

/// Byte offsets of the header fields that generated code reads (and, for an inline push,
/// writes: `len` and `room`), from the list's address.
pub const LIST_KIND: i32 = 0;
pub const LIST_DATA: i32 = 8;
pub const LIST_LEN: i32 = 16;
pub const LIST_ROOM: i32 = 24;

/// Blocks with fewer slots than this are never shrunk.
const SHRINK_MIN: usize = 32;

/// The start of a list's block; the elements follow it.
#[repr(C)]
struct Head {
    /// References to the list (1: unshared).
    count: usize,
    /// [`KIND_INTS`] or [`KIND_VALS`] (header).
    kind: u64,
    /// The address of element 0 (header).
    data: *mut u8,
    /// The number of elements (header).
    len: usize,
    /// Free slots after the last element in the Int form, 0 in the general form (header):
    /// generated code's inline push then needs no test of the form.
    room: usize,
    /// How many dropped slots (uninitialized) precede element 0.
    start: usize,
    /// Slots in the block.
    cap: usize,
}

/// Where the elements start in the block.
const SLOTS: usize = std::mem::size_of::<Head>();

/// The byte offset of the list's address (what the C ABI passes) in the block.
const ADDR: usize = std::mem::offset_of!(Head, kind);

// The offsets generated code relies on, and the count right before the list's address.
const _: () = {
    assert!(std::mem::offset_of!(Head, count) + 8 == ADDR);
    assert!(ADDR as i64 == -(super::rc::COUNT_OFFSET as i64));
    assert!(std::mem::offset_of!(Head, data) - ADDR == LIST_DATA as usize);
    assert!(std::mem::offset_of!(Head, len) - ADDR == LIST_LEN as usize);
    assert!(std::mem::offset_of!(Head, room) - ADDR == LIST_ROOM as usize);
    assert!(SLOTS.is_multiple_of(std::mem::align_of::<Val>()));
    assert!(std::mem::align_of::<Head>() >= std::mem::align_of::<Val>());
};

/// A list (the payload of `Val::List`): a counted reference to its block.
pub struct List {
    ptr: NonNull<Head>,
    /// Owns values (for drop checking); `!Send`/`!Sync` through the pointer: a role runs its
    /// code on one thread.
    _owns: PhantomData<Val>,
}

/// The elements of a list, borrowed.
#[derive(Debug, Clone, Copy)]
pub enum View<'a> {
    Ints(&'a [i64]),
    Vals(&'a [Val]),
}

/// The size of one slot of a form.
fn slot_size(kind: u64) -> usize {
    if kind == KIND_INTS {
        std::mem::size_of::<i64>()
    } else {
        std::mem::size_of::<Val>()
    }
}

/// The layout of a block with `cap` slots of `kind`.
fn layout(kind: u64, cap: usize) -> Layout {
    cap.checked_mul(slot_size(kind))
        .and_then(|b| b.checked_add(SLOTS))
        .and_then(|size| Layout::from_size_align(size, std::mem::align_of::<Head>()).ok())
        .unwrap_or_else(|| {
            // More slots than the address space: what a failed allocation does too.
            std::alloc::handle_alloc_error(Layout::new::<Head>())
        })
}

impl Default for List {
    fn default() -> List {
        List::new()
    }
}

impl std::fmt::Debug for List {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.view() {
            View::Ints(xs) => f.debug_tuple("Ints").field(&xs).finish(),
            View::Vals(xs) => f.debug_tuple("Vals").field(&xs).finish(),
        }
    }
}

impl Clone for List {
    /// Another reference to the same list.
    fn clone(&self) -> List {
        let h = self.ptr.as_ptr();
        // SAFETY: the block lives while this reference does; one thread uses it.
        unsafe {
            // A count cannot reach usize::MAX without that many references in memory; should
            // it ever, wrapping would free a live list, so stop instead.
            if (*h).count == usize::MAX {
                std::process::abort();
            }
            (*h).count += 1;
        }
        List {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl Drop for List {
    /// Drops a reference; the last one frees the elements (without recursion, see
    /// [`super::val::release`]) and the block.
    fn drop(&mut self) {
        let h = self.ptr.as_ptr();
        // SAFETY: the block lives while this reference does.
        unsafe {
            (*h).count -= 1;
            if (*h).count != 0 {
                return;
            }
            // The last reference: this handle owns the block alone while it takes it apart.
            (*h).count = 1;
        }
        if !self.is_ints() && !self.is_empty() {
            let mut items = self.take_vals();
            super::val::release(&mut items);
        }
        self.free();
    }
}

impl List {
    /// A new unshared block of `kind` with `cap` slots and no elements.
    fn alloc(kind: u64, cap: usize) -> List {
        let lay = layout(kind, cap);
        // SAFETY: the layout has a non-zero size (the header).
        let p = unsafe { std::alloc::alloc(lay) }.cast::<Head>();
        let Some(ptr) = NonNull::new(p) else {
            std::alloc::handle_alloc_error(lay)
        };
        // SAFETY: freshly allocated, large enough for the header.
        unsafe {
            ptr.as_ptr().write(Head {
                count: 1,
                kind,
                data: std::ptr::null_mut(),
                len: 0,
                room: 0,
                start: 0,
                cap,
            });
        }
        let mut l = List {
            ptr,
            _owns: PhantomData,
        };
        l.sync();
        l
    }

    /// Frees the block (its elements are gone already).
    fn free(&mut self) {
        let (kind, cap) = (self.head().kind, self.head().cap);
        // SAFETY: allocated with this layout (kind and cap are kept with every reallocation).
        unsafe { std::alloc::dealloc(self.ptr.as_ptr().cast(), layout(kind, cap)) };
    }

    fn head(&self) -> &Head {
        // SAFETY: the block lives while this reference does.
        unsafe { self.ptr.as_ref() }
    }

    /// The header, to change; only called on an unshared list.
    fn head_mut(&mut self) -> &mut Head {
        debug_assert_eq!(self.head().count, 1);
        // SAFETY: the only reference, borrowed mutably.
        unsafe { self.ptr.as_mut() }
    }

    /// The first slot of the block.
    fn slots(&self) -> *mut u8 {
        // SAFETY: the slots follow the header inside the block.
        unsafe { self.ptr.as_ptr().cast::<u8>().add(SLOTS) }
    }

    /// Refreshes `data` and `room` from `start`, `len` and `cap`.
    fn sync(&mut self) {
        let slots = self.slots();
        let h = self.head_mut();
        h.room = if h.kind == KIND_INTS {
            h.cap - h.start - h.len
        } else {
            0
        };
        h.data = slots.wrapping_add(h.start * slot_size(h.kind));
    }

    /// Free slots after the last element (either form).
    fn spare(&self) -> usize {
        let h = self.head();
        h.cap - h.start - h.len
    }

    /// Whether this is the only reference (what an in-place change needs).
    pub fn is_unique(&self) -> bool {
        self.head().count == 1
    }

    /// An empty list.
    pub fn new() -> List {
        List::alloc(KIND_INTS, 0)
    }

    pub fn from_ints(xs: Vec<i64>) -> List {
        List::from_int_slice(&xs)
    }

    /// A list of copies of these `Int`s.
    pub fn from_int_slice(xs: &[i64]) -> List {
        let mut l = List::alloc(KIND_INTS, xs.len());
        // SAFETY: the block has `xs.len()` slots; the source is another allocation.
        unsafe { std::ptr::copy_nonoverlapping(xs.as_ptr(), l.slots().cast(), xs.len()) };
        l.head_mut().len = xs.len();
        l.sync();
        l
    }

    /// An empty list in the Int form with `room` free slots: the first pushes of `Int`s into
    /// it are inline stores.
    pub fn with_room(room: usize) -> List {
        List::alloc(KIND_INTS, room)
    }

    /// A list of these values, in the Int form when they are all `Int`s.
    pub fn from_vals(xs: Vec<Val>) -> List {
        if xs.iter().all(|x| matches!(x, Val::Int(_))) {
            let ints: Vec<i64> = xs.iter().map(int_of).collect();
            return List::from_int_slice(&ints);
        }
        let mut l = List::alloc(KIND_VALS, xs.len());
        let n = xs.len();
        let mut xs = xs;
        // SAFETY: the values move into the block's `n` slots; the vector forgets them (length
        // 0) and frees only its buffer.
        unsafe {
            std::ptr::copy_nonoverlapping(xs.as_ptr(), l.slots().cast::<Val>(), n);
            xs.set_len(0);
        }
        l.head_mut().len = n;
        l.sync();
        l
    }

    pub fn len(&self) -> usize {
        self.head().len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the list is in the Int form.
    pub fn is_ints(&self) -> bool {
        self.head().kind == KIND_INTS
    }

    pub fn view(&self) -> View<'_> {
        let h = self.head();
        // SAFETY: `data` points to `len` initialized elements of the form `kind` says, alive
        // as long as this reference.
        unsafe {
            if h.kind == KIND_INTS {
                View::Ints(std::slice::from_raw_parts(h.data.cast::<i64>(), h.len))
            } else {
                View::Vals(std::slice::from_raw_parts(h.data.cast::<Val>(), h.len))
            }
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

    /// The elements as owned values (moved out when the list is not shared).
    pub fn into_vals(mut self) -> Vec<Val> {
        match self.view() {
            View::Ints(xs) => xs.iter().map(|x| Val::Int(*x)).collect(),
            View::Vals(xs) if !self.is_unique() => xs.to_vec(),
            View::Vals(_) => self.take_vals(),
        }
    }

    /// Moves the elements of an unshared general list out (it is left empty).
    fn take_vals(&mut self) -> Vec<Val> {
        let h = self.head_mut();
        let (data, n) = (h.data.cast::<Val>(), h.len);
        h.len = 0;
        h.start = 0;
        let mut out = Vec::with_capacity(n);
        // SAFETY: the `n` elements at `data` are initialized; the list forgets them (length
        // 0) as they move into `out`, which has room for them.
        unsafe {
            std::ptr::copy_nonoverlapping(data, out.as_mut_ptr(), n);
            out.set_len(n);
        }
        self.sync();
        out
    }

    /// For [`super::val::release`]: the elements of the list if this was its last reference
    /// (the list is freed), else nothing (the reference is dropped).
    pub(super) fn release_into(mut self, stack: &mut Vec<Val>) {
        if self.is_unique() && !self.is_ints() && !self.is_empty() {
            stack.append(&mut self.take_vals());
        }
    }

    /// Makes this the only reference, copying the elements (with room for `extra` more) if
    /// the list is shared.
    fn unshare(&mut self, extra: usize) {
        if !self.is_unique() {
            *self = self.copy(0, self.len(), extra);
        }
    }

    /// A new unshared list with copies of elements `from..to` and `extra` free slots.
    fn copy(&self, from: usize, to: usize, extra: usize) -> List {
        match self.view() {
            View::Ints(xs) => {
                let xs = &xs[from..to];
                let mut l = List::alloc(KIND_INTS, xs.len() + extra);
                // SAFETY: the new block has room for `xs`.
                unsafe { std::ptr::copy_nonoverlapping(xs.as_ptr(), l.slots().cast(), xs.len()) };
                l.head_mut().len = xs.len();
                l.sync();
                l
            }
            View::Vals(xs) => {
                let xs = &xs[from..to];
                let mut l = List::alloc(KIND_VALS, xs.len() + extra);
                let dst = l.slots().cast::<Val>();
                for (i, x) in xs.iter().enumerate() {
                    // SAFETY: slot `i` of the new block, written once; the length follows
                    // the writes so a panic in `clone` (there is none) would leak, not drop
                    // uninitialized slots.
                    unsafe { dst.add(i).write(x.clone()) };
                }
                l.head_mut().len = xs.len();
                l.sync();
                l
            }
        }
    }

    /// Moves the elements to the front of the block (no dropped prefix). Unshared only.
    fn compact(&mut self) {
        let (start, len, kind) = (self.head().start, self.head().len, self.head().kind);
        if start == 0 {
            return;
        }
        let size = slot_size(kind);
        let slots = self.slots();
        // SAFETY: both ranges lie in the block; `copy` allows the overlap. The moved slots
        // are now uninitialized as far as the list is concerned (before the new `start +
        // len`), so nothing is dropped twice.
        unsafe { std::ptr::copy(slots.add(start * size), slots, len * size) };
        self.head_mut().start = 0;
        self.sync();
    }

    /// Resizes the block to `cap` slots (at least `start + len`). Unshared only.
    fn realloc(&mut self, cap: usize) {
        let h = self.head();
        debug_assert!(cap >= h.start + h.len);
        let old = layout(h.kind, h.cap);
        let new = layout(h.kind, cap);
        // SAFETY: the block was allocated with `old`; the new size is not zero.
        let p = unsafe { std::alloc::realloc(self.ptr.as_ptr().cast(), old, new.size()) };
        let Some(p) = NonNull::new(p.cast::<Head>()) else {
            std::alloc::handle_alloc_error(new)
        };
        self.ptr = p;
        self.head_mut().cap = cap;
        self.sync();
    }

    /// Makes room for `extra` more elements after the last: the dropped prefix is reused
    /// when it is at least as long as the elements, else the block grows (at least
    /// doubling). Unshared only.
    fn reserve(&mut self, extra: usize) {
        if self.spare() >= extra {
            return;
        }
        if self.head().start >= self.head().len {
            self.compact();
            if self.spare() >= extra {
                return;
            }
        }
        let h = self.head();
        let need = (h.start + h.len)
            .checked_add(extra)
            .unwrap_or_else(|| std::alloc::handle_alloc_error(Layout::new::<Head>()));
        let cap = need.max(h.cap.saturating_mul(2)).max(4);
        self.realloc(cap);
    }

    /// Switches to the general form, with room for `extra` more elements. Unshared only.
    fn generalize(&mut self, extra: usize) {
        if !self.is_ints() {
            return;
        }
        let mut l = List::alloc(KIND_VALS, self.len() + extra);
        if let View::Ints(xs) = self.view() {
            let dst = l.slots().cast::<Val>();
            for (i, x) in xs.iter().enumerate() {
                // SAFETY: slot `i` of the new block.
                unsafe { dst.add(i).write(Val::Int(*x)) };
            }
            l.head_mut().len = xs.len();
        }
        l.sync();
        // The old block holds only Ints: dropping it frees it.
        *self = l;
    }

    /// Appends an `Int` when the list is in the Int form with a free slot (what generated
    /// code does inline). Unshared only.
    #[inline]
    fn push_int_fast(&mut self, x: i64) -> bool {
        let h = self.head_mut();
        if h.kind != KIND_INTS || h.room == 0 {
            return false;
        }
        // SAFETY: a free slot of the block, right after the last element.
        unsafe { h.data.cast::<i64>().add(h.len).write(x) };
        h.len += 1;
        h.room -= 1;
        true
    }

    /// Appends `x` (in place when unshared).
    pub fn push(&mut self, x: Val) {
        self.unshare(1);
        match x {
            Val::Int(i) if self.is_ints() => {
                if !self.push_int_fast(i) {
                    self.reserve(1);
                    self.push_int_fast(i);
                }
            }
            x => {
                self.generalize(1);
                self.reserve(1);
                let h = self.head_mut();
                // SAFETY: a free slot right after the last element.
                unsafe { h.data.cast::<Val>().add(h.len).write(x) };
                h.len += 1;
                self.sync();
            }
        }
    }

    /// Appends copies of the elements of `ys` (unshared only; `ys` is another list).
    fn extend_view(&mut self, ys: View<'_>) {
        if ys.is_empty() {
            return;
        }
        if let View::Vals(_) = ys {
            self.generalize(ys.len());
        }
        self.reserve(ys.len());
        let h = self.head_mut();
        let end = h.len;
        match (h.kind, ys) {
            (KIND_INTS, View::Ints(ys)) => {
                // SAFETY: `reserve` made room for `ys` after the last element.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        ys.as_ptr(),
                        h.data.cast::<i64>().add(end),
                        ys.len(),
                    )
                };
                h.len += ys.len();
            }
            (_, ys) => {
                let dst = h.data.cast::<Val>();
                for (i, y) in ys_vals(ys).enumerate() {
                    // SAFETY: as above; the length grows with every write.
                    unsafe { dst.add(end + i).write(y) };
                    h.len += 1;
                }
            }
        }
        self.sync();
    }

    /// Appends the elements of `other` (consumed; its values are moved when it is unshared).
    pub fn append(&mut self, mut other: List) {
        if self.is_empty() && self.is_unique() && other.is_unique() {
            // Nothing to keep: take the other block as it is.
            *self = other;
            return;
        }
        self.unshare(other.len());
        if other.is_unique() && !other.is_ints() && !self.is_ints() {
            let mut vals = other.take_vals();
            self.reserve(vals.len());
            let h = self.head_mut();
            let end = h.len;
            let n = vals.len();
            // SAFETY: room for `n` after the last element; the values move (the vector
            // forgets them and frees only its buffer).
            unsafe {
                std::ptr::copy_nonoverlapping(vals.as_ptr(), h.data.cast::<Val>().add(end), n);
                vals.set_len(0);
            }
            h.len += n;
            self.sync();
            return;
        }
        self.extend_view(other.view());
    }

    /// Appends copies of the elements of `other` (`xs ++ xs` too: `self` is then shared, so
    /// it is copied before it changes, and `other` still sees the old elements).
    pub fn extend_from(&mut self, other: &List) {
        self.unshare(other.len());
        self.extend_view(other.view());
    }

    /// Keeps the first `n` elements.
    pub fn truncate(&mut self, n: usize) {
        let n = n.min(self.len());
        if !self.is_unique() {
            *self = self.copy(0, n, 0);
            return;
        }
        if let View::Vals(xs) = self.view() {
            let tail = xs[n..].as_ptr().cast_mut();
            let k = xs.len() - n;
            self.head_mut().len = n;
            // SAFETY: the elements past `n`, no longer part of the list, dropped once.
            unsafe { std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(tail, k)) };
        }
        self.head_mut().len = n;
        self.sync();
        self.shrink_if_sparse();
    }

    /// Removes the first `n` elements.
    pub fn drop_front(&mut self, n: usize) {
        let n = n.min(self.len());
        if !self.is_unique() {
            *self = self.copy(n, self.len(), 0);
            return;
        }
        if let View::Vals(xs) = self.view() {
            let head = xs.as_ptr().cast_mut();
            // The list forgets them first, then they are dropped once.
            let h = self.head_mut();
            h.start += n;
            h.len -= n;
            // SAFETY: the first `n` elements, no longer part of the list.
            unsafe { std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(head, n)) };
        } else {
            let h = self.head_mut();
            h.start += n;
            h.len -= n;
        }
        if self.is_empty() {
            // Empty now: forget the prefix outright.
            self.head_mut().start = 0;
        }
        self.sync();
        self.shrink_if_sparse();
    }

    /// Gives memory back when at most a quarter of the block holds elements. Unshared only.
    fn shrink_if_sparse(&mut self) {
        let (cap, len) = (self.head().cap, self.len());
        if cap >= SHRINK_MIN && len * 4 <= cap {
            self.compact();
            self.realloc(len);
        }
    }

    /// Replaces element `i` (`i < len`), in place when unshared.
    pub fn set_at(&mut self, i: usize, x: Val) {
        assert!(i < self.len(), "set_at past the end");
        self.unshare(0);
        match x {
            Val::Int(n) if self.is_ints() => {
                // SAFETY: element `i` exists.
                unsafe { self.head().data.cast::<i64>().add(i).write(n) };
            }
            x => {
                self.generalize(0);
                // SAFETY: element `i` exists; the old value is dropped by the assignment.
                unsafe { *self.head().data.cast::<Val>().add(i) = x };
            }
        }
    }

    /// Puts `x` before element `i` (`i <= len`), shifting the rest.
    pub fn insert_at(&mut self, i: usize, x: Val) {
        assert!(i <= self.len(), "insert_at past the end");
        self.unshare(1);
        if !(self.is_ints() && matches!(x, Val::Int(_))) {
            self.generalize(1);
        }
        self.reserve(1);
        let h = self.head_mut();
        let size = slot_size(h.kind);
        // SAFETY: room for one more after the last element; the move shifts elements
        // `i..len` one slot up, then slot `i` is written.
        unsafe {
            let at = h.data.add(i * size);
            std::ptr::copy(at, at.add(size), (h.len - i) * size);
            match x {
                Val::Int(n) if h.kind == KIND_INTS => at.cast::<i64>().write(n),
                x => at.cast::<Val>().write(x),
            }
        }
        h.len += 1;
        self.sync();
    }

    /// Removes element `i` (`i < len`), shifting the rest.
    pub fn remove_at(&mut self, i: usize) {
        assert!(i < self.len(), "remove_at past the end");
        self.unshare(0);
        let h = self.head_mut();
        let size = slot_size(h.kind);
        // SAFETY: element `i` exists: it is read out (dropped after the shift), and elements
        // `i + 1..len` move one slot down.
        let gone = unsafe {
            let at = h.data.add(i * size);
            let gone = (h.kind != KIND_INTS).then(|| at.cast::<Val>().read());
            std::ptr::copy(at.add(size), at, (h.len - i - 1) * size);
            gone
        };
        h.len -= 1;
        self.sync();
        drop(gone);
        self.shrink_if_sparse();
    }

    /// A new list with copies of elements `from..to` (clamped to the length).
    pub fn slice(&self, from: usize, to: usize) -> List {
        let to = to.min(self.len());
        let from = from.min(to);
        self.copy(from, to, 0)
    }

    /// Gives up the reference as the list's address (for [`List::from_raw`] later).
    pub fn into_raw(self) -> *const u8 {
        let p = self.as_ptr();
        std::mem::forget(self);
        p
    }

    /// The list's address: the header generated code reads starts there, the count is at
    /// [`super::rc::COUNT_OFFSET`] from it.
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr().cast::<u8>().wrapping_add(ADDR)
    }

    /// Takes back a reference given up by [`List::into_raw`].
    ///
    /// # Safety
    /// `p` came from [`List::into_raw`] (or [`List::as_ptr`] of a live list whose reference
    /// is handed over), and that reference is given to the result.
    pub unsafe fn from_raw(p: *const u8) -> List {
        // SAFETY: per the contract, the block starts `ADDR` bytes before `p`.
        let head = unsafe { p.sub(ADDR) }.cast::<Head>().cast_mut();
        List {
            // SAFETY: derived from a live block.
            ptr: unsafe { NonNull::new_unchecked(head) },
            _owns: PhantomData,
        }
    }
}

/// The elements of a view as values.
fn ys_vals<'a>(ys: View<'a>) -> impl Iterator<Item = Val> + 'a {
    let (ints, vals) = match ys {
        View::Ints(xs) => (xs, &[][..]),
        View::Vals(xs) => (&[][..], xs),
    };
    ints.iter()
        .map(|x| Val::Int(*x))
        .chain(vals.iter().cloned())
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
    use crate::rt::val::{to_literal, to_wire};
    use std::cmp::Ordering;

    fn ints(xs: &[i64]) -> List {
        List::from_ints(xs.to_vec())
    }

    /// The same elements in the general form (never compacted).
    fn general(xs: &[i64]) -> List {
        let mut l = List::alloc(KIND_VALS, 0);
        for x in xs {
            l.push(Val::Int(*x));
        }
        assert!(!l.is_ints());
        l
    }

    fn vals(l: &List) -> Vec<Val> {
        l.iter().map(Cow::into_owned).collect()
    }

    #[test]
    fn an_empty_list_with_room_is_an_empty_int_list() {
        let mut l = List::with_room(4);
        assert_eq!((l.len(), l.head().room, l.head().kind), (0, 4, KIND_INTS));
        l.push(Val::Int(5));
        assert_eq!((l.len(), l.head().room), (1, 3));
        assert_eq!((l.get(0), l.get(1)), (Some(Val::Int(5)), None));
        l.push(Val::Bool(true));
        assert_eq!((l.len(), l.head().kind), (2, KIND_VALS));
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
        assert_eq!(to_literal(&Val::List(l)), "[1, 2, 3, 4, \"x\", 6]");
        // A literal of Ints is compact; one with anything else is not.
        assert!(List::from_vals(vec![Val::Int(1)]).is_ints());
        assert!(List::from_vals(vec![]).is_ints());
        assert!(!List::from_vals(vec![Val::Int(1), Val::Bool(true)]).is_ints());
    }

    #[test]
    fn both_forms_print_compare_and_travel_alike() {
        let xs = [3, -1, 7, i64::MIN, i64::MAX];
        let (a, b) = (Val::List(ints(&xs)), Val::List(general(&xs)));
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
                assert_eq!(Val::List(x).cmp(&Val::List(y)), want, "{p:?} vs {q:?}");
            }
        }
        // Mixed lists order element by element: Int before String.
        let mut m = ints(&[1]);
        m.push(Val::str("a"));
        assert!(Val::List(ints(&[1, 2])) < Val::List(m));
        // Nested lists.
        let outer = |l: List| Val::list(vec![Val::List(l), Val::Int(0)]);
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
        let (a, b) = (Val::List(ints(&xs)), Val::List(general(&xs)));
        assert_eq!(bytes(&a), bytes(&b));
        let nested = |l: List| Val::list(vec![Val::List(l), Val::str("s")]);
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
        let block = l.ptr;
        l.drop_front(10);
        assert_eq!(l.len(), 990);
        assert_eq!(l.get(0), Some(Val::Int(10)));
        assert_eq!(l.ptr, block, "dropped in place");
        l.truncate(5);
        assert_eq!(vals(&l), (10..15).map(Val::Int).collect::<Vec<_>>());
        // Shrunk: at most a quarter was left.
        assert!(l.head().cap < 32, "{}", l.head().cap);
        assert!(l.is_ints());
        let mut g = general(&(0..100).collect::<Vec<_>>());
        g.drop_front(98);
        assert_eq!(vals(&g), vec![Val::Int(98), Val::Int(99)]);
        g.drop_front(5);
        assert!(g.is_empty());
        g.push(Val::Int(1));
        assert_eq!(vals(&g), vec![Val::Int(1)]);
        // Values dropped from either end of a general list are freed once (the strings'
        // counts say so) and the rest stay.
        let s = Val::str("s");
        let mut h = List::new();
        for _ in 0..40 {
            h.push(s.clone());
        }
        h.drop_front(3);
        h.truncate(30);
        h.remove_at(0);
        let count = |v: &Val| match v {
            Val::Str(r) => crate::rt::rc::Rc::strong_count(r),
            _ => 0,
        };
        assert_eq!(count(&s), 30);
        drop(h);
        assert_eq!(count(&s), 1);
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
        assert!(l.head().cap <= 64, "{}", l.head().cap);
        assert!(l.is_ints());
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
        assert_eq!(to_literal(&Val::List(a.clone())), "[1, 2, 3, \"s\", 4]");
        let mut b = ints(&[0]);
        b.extend_from(&a);
        assert_eq!(to_literal(&Val::List(b)), "[0, 1, 2, 3, \"s\", 4]");
        assert_eq!(vals(&a.slice(1, 3)), vec![Val::Int(2), Val::Int(3)]);
        assert_eq!(a.slice(4, 99).len(), 1);
        assert_eq!(a.slice(9, 99).len(), 0);
        // A list appended to itself, in both forms.
        let mut c = a.clone();
        c.extend_from(&a);
        assert_eq!(c.len(), 10);
        let mut d = ints(&[7, 8]);
        d.append(d.clone());
        assert_eq!(vals(&d), [7, 8, 7, 8].map(Val::Int).to_vec());
        // Unshared general lists move their values across.
        let mut e = general(&[1]);
        e.append(general(&[2, 3]));
        assert_eq!(vals(&e), [1, 2, 3].map(Val::Int).to_vec());
        assert_eq!(a.into_vals().len(), 5);
    }

    /// A change to a shared list copies it first: the other references keep their elements
    /// (as `Rc::make_mut` did), in both forms and for every kind of change.
    #[test]
    fn shared_lists_are_copied_before_they_change() {
        type Edit = fn(&mut List);
        let edits: [(&str, Edit); 9] = [
            ("push", |l| l.push(Val::Int(9))),
            ("push str", |l| l.push(Val::str("z"))),
            ("truncate", |l| l.truncate(1)),
            ("drop", |l| l.drop_front(1)),
            ("set", |l| l.set_at(0, Val::Int(-1))),
            ("insert", |l| l.insert_at(1, Val::Int(5))),
            ("remove", |l| l.remove_at(0)),
            ("append", |l| l.append(ints(&[4]))),
            ("extend", |l| l.extend_from(&general(&[4]))),
        ];
        for (what, edit) in edits {
            for make in [ints, general] {
                let orig = make(&[1, 2, 3]);
                let mut other = orig.clone();
                assert!(!orig.is_unique());
                edit(&mut other);
                assert_eq!(vals(&orig), [1, 2, 3].map(Val::Int).to_vec(), "{what}");
                assert!(orig.is_unique(), "{what}: the copy let go of the original");
                assert!(other.is_unique());
                // And the same edit in place gives the same elements.
                let mut alone = make(&[1, 2, 3]);
                edit(&mut alone);
                assert_eq!(vals(&alone), vals(&other), "{what}");
            }
        }
    }

    #[test]
    fn the_header_describes_the_elements() {
        let mut l = ints(&[5, 6, 7]);
        l.drop_front(1);
        let at = |l: &List, off: i32| {
            // SAFETY: a header word of a live list.
            unsafe { l.as_ptr().offset(off as isize).cast::<u64>().read() }
        };
        assert_eq!(at(&l, LIST_KIND), KIND_INTS);
        assert_eq!(at(&l, LIST_LEN), 2);
        let p = at(&l, LIST_DATA) as *const i64;
        match l.view() {
            View::Ints(xs) => assert_eq!(xs.as_ptr(), p),
            View::Vals(_) => panic!("form changed"),
        }
        // One allocation: the elements follow the header.
        assert_eq!(p, l.slots().cast::<i64>().wrapping_add(1));
        // The count is the word before the list's address.
        let k = l.clone();
        assert_eq!(at(&l, crate::rt::rc::COUNT_OFFSET), 2);
        drop(k);
        assert_eq!(at(&l, crate::rt::rc::COUNT_OFFSET), 1);
        // Through the C ABI's raw address and back.
        let raw = l.into_raw();
        // SAFETY: the reference given up just above.
        let mut l = unsafe { List::from_raw(raw) };
        assert_eq!(at(&l, LIST_ROOM), 0);
        l.push(Val::Unit);
        assert_eq!(at(&l, LIST_KIND), KIND_VALS);
        assert_eq!(at(&l, LIST_LEN), 3);
    }

    #[test]
    fn dropping_deeply_nested_lists_does_not_recurse() {
        let mut v = Val::List(List::new());
        for _ in 0..1_000_000 {
            let mut l = List::new();
            l.push(v);
            v = Val::List(l);
        }
        drop(v);
    }
}
