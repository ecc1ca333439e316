//! The value runtime of native role executables: the heap values that generated code
//! manipulates (reference counted), their order and printing (chor-print's, shared with the
//! reference interpreter), the `#[builtin]` functions of the standard library, and the `extern "C"`
//! entry points (`chor_rt_*`, `chor_b_*`) that the Cranelift back end calls.
//!
//! - [`rc`]: [`rc::Rc`], the reference-counted box of heap values, whose count generated code
//!   updates inline at a fixed offset ([`rc::COUNT_OFFSET`]);
//! - [`val`]: [`val::Val`], the program's type tables, order, printing, wire conversion;
//! - [`list`]: lists, compact (`i64` elements) while every element is an `Int`;
//! - [`wire`]: received frames decoded straight into typed values, and the depth check of
//!   values to send;
//! - [`library`]: the conversion, text, sorting and index builtins (shared with the interpreter);
//! - [`world`]: `io::`, `env::`, `fs::`, `time::`, `random::`, `crypto::` (shared with the
//!   interpreter);
//! - [`ffi`]: the C ABI over values, messaging and process start/stop.

pub mod ffi;
pub mod library;
pub mod list;
pub mod rc;
pub mod val;
pub mod wire;
pub mod world;
