//! chor-syntax: lexer, grammar and syntax tree of the .chor language.
//!
//! `parse::parse` never fails: it returns a tree and the list of syntax errors.

pub mod ast;
pub mod lexer;
pub mod parse;
pub mod pretty;
pub mod spans;

pub use parse::{Parsed, as_chor_call, common_ends, parse, reparse};
