//! [`Rc`]: the reference-counted box of every heap value of native code (strings, tuples,
//! lists, maps, structs, variants, function values), with a header this crate defines.
//!
//! Generated code updates reference counts inline: it reads and writes the count at
//! [`COUNT_OFFSET`] bytes from the address [`Rc::into_raw`] returns (the value's address), and
//! calls `chor_rt_dec` only to free. `std::rc::Rc` keeps its counts in a private layout that
//! a standard library release may change; this box is `repr(C)` (one `usize` count, then the
//! value), so the offset is part of this crate's ABI, and a compile-time check in
//! [`Rc::new`] refuses any value type for which it would not hold.
//!
//! It offers the subset of `std::rc::Rc`'s API the runtime uses, with the same meaning. There
//! are no weak references: a count of 1 means unshared (what an in-place update tests, here
//! and inline in generated code). Like std's, it is neither `Send` nor `Sync`: a role runs its
//! code on one thread.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;

/// Byte offset of the reference count from a value's address (`Rc::into_raw`): the count is
/// the word just before the value.
pub const COUNT_OFFSET: i32 = -8;

/// The allocation: the count, then the value.
#[repr(C)]
struct Inner<T> {
    count: Cell<usize>,
    value: T,
}

/// A reference-counted pointer to a `T` (see the module documentation).
pub struct Rc<T> {
    ptr: NonNull<Inner<T>>,
    /// Owns an `Inner<T>` (for drop checking) and is `!Send`/`!Sync` through the pointer.
    _owns: PhantomData<Inner<T>>,
}

impl<T> Rc<T> {
    /// Where the value sits in the allocation; generated code relies on the count being
    /// right before it.
    const VALUE_OFFSET: usize = {
        let at = std::mem::offset_of!(Inner<T>, value);
        assert!(
            at as i64 == -(COUNT_OFFSET as i64),
            "the count must be the word right before the value (COUNT_OFFSET)"
        );
        at
    };

    pub fn new(value: T) -> Rc<T> {
        // Evaluated at compile time for every `T` a box is made of.
        let _ = Self::VALUE_OFFSET;
        let inner = Box::new(Inner {
            count: Cell::new(1),
            value,
        });
        Rc {
            ptr: NonNull::from(Box::leak(inner)),
            _owns: PhantomData,
        }
    }

    fn count(&self) -> &Cell<usize> {
        // SAFETY: `ptr` points to a live `Inner` while any `Rc` to it exists.
        unsafe { &(*self.ptr.as_ptr()).count }
    }

    /// The number of references.
    pub fn strong_count(this: &Self) -> usize {
        this.count().get()
    }

    /// The value's address; the count is at [`COUNT_OFFSET`] from it.
    pub fn as_ptr(this: &Self) -> *const T {
        // SAFETY: the allocation is live; no reference to the value is created.
        unsafe { &raw const (*this.ptr.as_ptr()).value }
    }

    /// Gives up the reference as the value's address (for [`Rc::from_raw`] later).
    pub fn into_raw(this: Self) -> *const T {
        let this = ManuallyDrop::new(this);
        Rc::as_ptr(&this)
    }

    /// Takes back a reference given up by [`Rc::into_raw`].
    ///
    /// # Safety
    /// `p` came from [`Rc::into_raw`] of an `Rc<T>` (same `T`), and that reference is given
    /// to the result.
    pub unsafe fn from_raw(p: *const T) -> Rc<T> {
        // SAFETY: per the contract, the allocation starts `VALUE_OFFSET` bytes before `p`.
        let inner = unsafe { p.byte_sub(Self::VALUE_OFFSET) } as *mut Inner<T>;
        Rc {
            // SAFETY: derived from a non-null allocation.
            ptr: unsafe { NonNull::new_unchecked(inner) },
            _owns: PhantomData,
        }
    }

    /// Adds a reference to the value at `p`.
    ///
    /// # Safety
    /// `p` came from [`Rc::into_raw`] and its allocation is live.
    pub unsafe fn increment_strong_count(p: *const T) {
        // SAFETY: per the contract; the extra reference is kept by not dropping the copy.
        let rc = ManuallyDrop::new(unsafe { Rc::from_raw(p) });
        let _more: ManuallyDrop<Rc<T>> = ManuallyDrop::new(Rc::clone(&rc));
    }

    /// Drops a reference to the value at `p` (freeing it with the last one).
    ///
    /// # Safety
    /// `p` came from [`Rc::into_raw`] and the caller gives up one reference.
    pub unsafe fn decrement_strong_count(p: *const T) {
        // SAFETY: per the contract.
        drop(unsafe { Rc::from_raw(p) });
    }

    /// The value, mutably, if this is the only reference.
    pub fn get_mut(this: &mut Self) -> Option<&mut T> {
        if Rc::strong_count(this) == 1 {
            // SAFETY: the only reference, borrowed mutably.
            Some(unsafe { &mut (*this.ptr.as_ptr()).value })
        } else {
            None
        }
    }

    /// The value, mutably: a copy first if it is shared.
    pub fn make_mut(this: &mut Self) -> &mut T
    where
        T: Clone,
    {
        if Rc::strong_count(this) != 1 {
            *this = Rc::new((**this).clone());
        }
        // SAFETY: the only reference now, borrowed mutably.
        unsafe { &mut (*this.ptr.as_ptr()).value }
    }

    /// The value if this is the only reference, else the reference back.
    pub fn try_unwrap(this: Self) -> Result<T, Self> {
        if Rc::strong_count(&this) != 1 {
            return Err(this);
        }
        let this = ManuallyDrop::new(this);
        // SAFETY: the only reference: the allocation is ours to take apart.
        let inner = unsafe { Box::from_raw(this.ptr.as_ptr()) };
        Ok(inner.value)
    }

    /// The value if this is the only reference (the reference is dropped otherwise).
    pub fn into_inner(this: Self) -> Option<T> {
        Rc::try_unwrap(this).ok()
    }

    /// The value: moved out if this is the only reference, else cloned.
    pub fn unwrap_or_clone(this: Self) -> T
    where
        T: Clone,
    {
        Rc::try_unwrap(this).unwrap_or_else(|rc| (*rc).clone())
    }

    /// Whether both point to the same allocation.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        a.ptr == b.ptr
    }
}

impl<T> Clone for Rc<T> {
    fn clone(&self) -> Rc<T> {
        let c = self.count();
        // A count cannot reach usize::MAX without that many references in memory; should it
        // ever, wrapping would free a live value, so stop instead.
        if c.get() == usize::MAX {
            std::process::abort();
        }
        c.set(c.get() + 1);
        Rc {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T> Drop for Rc<T> {
    fn drop(&mut self) {
        let c = self.count();
        let left = c.get() - 1;
        c.set(left);
        if left == 0 {
            // SAFETY: the last reference: the allocation was made by `Box` in `new`.
            drop(unsafe { Box::from_raw(self.ptr.as_ptr()) });
        }
    }
}

impl<T> Deref for Rc<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the value lives while this reference does.
        unsafe { &(*self.ptr.as_ptr()).value }
    }
}

impl<T> AsRef<T> for Rc<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: fmt::Debug> fmt::Debug for Rc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: Default> Default for Rc<T> {
    fn default() -> Rc<T> {
        Rc::new(T::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Records when it is dropped.
    struct Noisy<'a>(&'a RefCell<Vec<&'static str>>, &'static str);
    impl Drop for Noisy<'_> {
        fn drop(&mut self) {
            self.0.borrow_mut().push(self.1);
        }
    }

    #[test]
    fn the_count_is_the_word_before_the_value() {
        let a = Rc::new(String::from("x"));
        let p = Rc::as_ptr(&a).cast::<u8>();
        // SAFETY: the count is inside the allocation, COUNT_OFFSET bytes before the value.
        let count = || unsafe { p.offset(COUNT_OFFSET as isize).cast::<usize>().read() };
        assert_eq!(count(), 1);
        let b = a.clone();
        assert_eq!(count(), 2);
        drop(b);
        assert_eq!(count(), 1);
        // Through raw pointers, as generated code holds values.
        let raw = Rc::into_raw(a);
        // SAFETY: `raw` is live; the increment's reference is dropped by the decrement.
        unsafe {
            Rc::increment_strong_count(raw);
            assert_eq!(count(), 2);
            Rc::decrement_strong_count(raw);
            assert_eq!(count(), 1);
            assert_eq!(*Rc::from_raw(raw), "x");
        }
    }

    #[test]
    fn values_are_dropped_once_with_the_last_reference() {
        let log = RefCell::new(Vec::new());
        let a = Rc::new(Noisy(&log, "a"));
        let b = a.clone();
        drop(a);
        assert!(log.borrow().is_empty());
        drop(b);
        assert_eq!(*log.borrow(), ["a"]);
        let c = Rc::new(Noisy(&log, "c"));
        let d = c.clone();
        // Shared: not unwrapped, and dropping that reference frees nothing yet.
        assert!(Rc::into_inner(c).is_none());
        assert_eq!(*log.borrow(), ["a"]);
        let inner = Rc::into_inner(d).expect("the last reference");
        assert_eq!(*log.borrow(), ["a"]);
        drop(inner);
        assert_eq!(*log.borrow(), ["a", "c"]);
    }

    #[test]
    fn in_place_updates_only_when_unshared() {
        let mut a = Rc::new(vec![1]);
        Rc::get_mut(&mut a).expect("unshared").push(2);
        let b = a.clone();
        assert!(Rc::get_mut(&mut a).is_none());
        Rc::make_mut(&mut a).push(3);
        assert_eq!((a.as_slice(), b.as_slice()), (&[1, 2, 3][..], &[1, 2][..]));
        assert!(!Rc::ptr_eq(&a, &b));
        assert_eq!(Rc::strong_count(&b), 1);
        let b2 = b.clone();
        assert_eq!(Rc::unwrap_or_clone(b2), vec![1, 2]);
        assert_eq!(Rc::try_unwrap(b).expect("unshared"), vec![1, 2]);
    }
}
