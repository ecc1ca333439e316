//! chor-interp: the reference interpreter — of the global choreography (`chor simulate`) and of
//! the projected local programs (one thread per role, channels between them).

pub mod builtins;
pub mod eval;
pub mod global;
pub mod library;
pub mod local;
pub mod value;
pub mod wire;

pub use eval::{Io, RuntimeError};
pub use global::{RoleError, Simulator, TraceEvent};
pub use local::{ChannelTransport, LocalRunner, Msg, Transport, run_projected};
pub use value::Value;

/// Stack size for interpreter threads: deep (non-tail) recursion in user code needs room.
pub const STACK_SIZE: usize = 1 << 30;

/// Run `f` on a thread with a large stack (the interpreter recurses on the Rust stack).
pub fn with_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        match std::thread::Builder::new()
            .stack_size(STACK_SIZE)
            .spawn_scoped(s, f)
        {
            Ok(h) => match h.join() {
                Ok(v) => v,
                Err(p) => std::panic::resume_unwind(p),
            },
            Err(e) => panic!("cannot start the interpreter thread: {e}"),
        }
    })
}
