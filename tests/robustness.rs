//! Robustness: random bytes and random token sequences go through parse, assemble and check
//! without a panic (half-typed code is the normal case in an editor).

use chor_check::{check_program, program};
use proptest::prelude::*;

/// Token spellings to build random programs from: keywords, punctuation, and a few names that
/// mean something to the checker (roles, stdlib items, variants).
const TOKENS: &[&str] = &[
    "choreography",
    "fn",
    "struct",
    "enum",
    "let",
    "if",
    "else",
    "match",
    "return",
    "import",
    "true",
    "false",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "<",
    ">",
    "<=",
    ">=",
    "==",
    "!=",
    "=",
    "+",
    "++",
    "-",
    "*",
    "/",
    "%",
    "&&",
    "||",
    "!",
    "->",
    "=>",
    ".",
    "..",
    ",",
    ";",
    ":",
    "::",
    "@",
    "#",
    "|",
    "main",
    "A",
    "B",
    "C",
    "x",
    "y",
    "xs",
    "Int",
    "String",
    "List",
    "Map",
    "Option",
    "Some",
    "None",
    "Ok",
    "print",
    "list",
    "len",
    "map",
    "T",
    "0",
    "1",
    "42",
    "3.5",
    "\"s\"",
    "_",
    "builtin",
    "P",
    "Q",
    "h",
    "t",
];

fn check_text(src: &str) {
    let p = program::from_source("fuzz.chor", src, Vec::new());
    let c = check_program(&p);
    let _ = chor_check::check_entry(&p);
    // Rendering must not panic either.
    let sources = crate::support::Sources {
        root_name: "fuzz.chor".into(),
        root: src.to_owned(),
        imports: Vec::new(),
    };
    let _ = crate::support::render(&c.diagnostics, &sources);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        check_text(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_tokens_do_not_panic(toks in proptest::collection::vec(proptest::sample::select(TOKENS), 0..80)) {
        check_text(&toks.join(" "));
    }

    /// Random edits of a valid program (the most realistic half-typed code).
    #[test]
    fn truncated_and_mutated_examples_do_not_panic(cut in 0usize..2000, tok in proptest::sample::select(TOKENS), at in 0usize..2000) {
        let base: Vec<char> = include_str!("../examples/kv_store.chor").chars().collect();
        let cut = cut.min(base.len());
        let mut s: String = base[..cut].iter().collect();
        check_text(&s);
        let at = at.min(s.len());
        if s.is_char_boundary(at) {
            s.insert_str(at, tok);
        }
        s.extend(base[cut..].iter().take(50));
        check_text(&s);
    }
}
