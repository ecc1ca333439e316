//! chor-syntax: lexer, grammar and syntax tree of the .chor language.
//!
//! `parse::parse` never fails: it returns a tree and the list of syntax errors.

pub mod ast;
pub mod ids;
pub mod lexer;
pub mod parse;
pub mod pretty;
pub mod spans;

/// How deep source text may nest: open brackets around a point plus the operators before it
/// in its bracket (see docs/language.md, "Limits"). Deeper text is refused with error E0005
/// (the compiler's phases recurse over the syntax tree, on a stack of `chor_interp::STACK_SIZE`).
pub const MAX_NESTING: usize = 50_000;

pub use parse::{Parsed, as_chor_call, common_ends, parse, reparse};
