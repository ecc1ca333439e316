//! chor-interp: the reference interpreter — of the global choreography (`chor simulate`) and of
//! the projected local programs (one thread per role, channels between them).

pub mod builtins;
pub mod eval;
pub mod externs;
pub mod global;
pub mod library;
pub mod local;
pub mod value;
pub mod wire;
pub mod world;

pub use eval::{Io, RuntimeError};
pub use global::{RoleError, Simulator, TraceEvent};
pub use local::{ChannelTransport, LocalRunner, Msg, Transport, run_projected};
pub use value::Value;

/// Stack size for interpreter threads: deep (non-tail) recursion in user code needs room.
pub const STACK_SIZE: usize = 1 << 30;

/// The interpreter's guard against exhausting its thread's stack: user recursion and deeply
/// nested expressions are evaluated on the Rust stack, so every call and every expression
/// compares the stack pointer with a floor, and below it the role stops with the same
/// "stack overflow" fault that native code raises — never a crash of the process.
pub mod stack {
    use std::cell::Cell;

    /// Room kept below the floor for what runs between two checks (one expression's own
    /// frames, a builtin, printing).
    const MARGIN: usize = 64 << 20;
    /// The room assumed on a thread that was not started by [`super::with_big_stack`]
    /// (every platform's default thread stack is larger).
    const UNKNOWN_THREAD_ROOM: usize = 512 << 10;

    thread_local! {
        static FLOOR: Cell<usize> = const { Cell::new(0) };
    }

    fn here() -> usize {
        let marker = 0u8;
        std::hint::black_box(&marker) as *const u8 as usize
    }

    /// Declares that the current thread has `size` bytes of stack, most of them still free.
    pub fn enter(size: usize) {
        let room = size.saturating_sub(MARGIN).max(UNKNOWN_THREAD_ROOM);
        FLOOR.with(|f| f.set(here().saturating_sub(room)));
    }

    /// Whether the stack is nearly exhausted.
    pub fn exhausted() -> bool {
        FLOOR.with(|f| {
            if f.get() == 0 {
                f.set(here().saturating_sub(UNKNOWN_THREAD_ROOM));
            }
            here() < f.get()
        })
    }

    /// The fault every back end reports when the stack is exhausted.
    pub const OVERFLOW: &str =
        "stack overflow: recursion too deep (only tail calls run in constant stack)";
}

/// Run `f` on a thread with a large stack (the interpreter recurses on the Rust stack).
pub fn with_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        match std::thread::Builder::new()
            .stack_size(STACK_SIZE)
            .spawn_scoped(s, || {
                stack::enter(STACK_SIZE);
                f()
            }) {
            Ok(h) => match h.join() {
                Ok(v) => v,
                Err(p) => std::panic::resume_unwind(p),
            },
            Err(e) => panic!("cannot start the interpreter thread: {e}"),
        }
    })
}
