//! Re-parsing after an edit gives exactly what a full parse of the new text gives: the tree with
//! every span and doc comment, the syntax errors and the comments. Random edits (insertions,
//! deletions, replacements, including quotes, braces, comment openers and newlines) are applied
//! to the examples, the ui programs and a generated program, twice in a row (the second edit
//! starts from the re-parsed tree).

use chor_diagnostics::FileId;
use chor_syntax::{Parsed, parse, reparse};
use proptest::prelude::*;
use std::sync::Arc;

/// Every `.chor` file of the examples and the ui tests, and a generated program.
fn corpus() -> Vec<String> {
    let mut out = crate::support::chor_sources(&["../examples", "ui", "ui/lib"]);
    out.push(chor_tests::generated_program(300));
    out
}

/// Text an edit inserts: what typing produces most of the time (letters, digits, spaces,
/// newlines), and what changes how the rest of the file lexes or nests.
const INSERTS: &[&str] = &[
    "",
    "",
    "x",
    "a",
    "1",
    "0",
    " ",
    "\n",
    "\n\n",
    "\"",
    "\"s\"",
    "{",
    "}",
    "(",
    ")",
    ";",
    ",",
    ".",
    "/*",
    "*/",
    "/* c */",
    "//",
    "// note\n",
    "///",
    "/// doc\n",
    "\\",
    "é",
    "->",
    "A.",
    "fn",
    "fn g() {}\n",
    "struct S { a: Int }\n",
    "let A.y = 1;",
    "1.5",
    "t.0.1",
    "#[builtin]",
];

#[derive(Debug, Clone)]
struct Edit {
    /// Where, as a fraction of the text length (moved to a character boundary).
    at: f64,
    /// How many characters to remove there.
    remove: usize,
    insert: &'static str,
}

fn edit() -> impl Strategy<Value = Edit> {
    (
        0.0..=1.0f64,
        prop_oneof![3 => Just(0usize), 1 => 1usize..12],
        prop::sample::select(INSERTS),
    )
        .prop_map(|(at, remove, insert)| Edit { at, remove, insert })
}

fn apply(text: &str, e: &Edit) -> String {
    let mut at = ((text.len() as f64) * e.at) as usize;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let mut end = at;
    for _ in 0..e.remove {
        match text[end..].chars().next() {
            Some(c) => end += c.len_utf8(),
            None => break,
        }
    }
    let mut out = String::with_capacity(text.len() + e.insert.len());
    out.push_str(&text[..at]);
    out.push_str(e.insert);
    out.push_str(&text[end..]);
    out
}

fn check_reparse(old_text: &str, old: &Parsed, new_text: &str) -> Result<Parsed, TestCaseError> {
    let file = FileId(3);
    let full = parse(file, new_text);
    let incremental = reparse(file, old, old_text, new_text);
    prop_assert_eq!(&incremental, &full, "re-parse of {:?}", new_text);
    Ok(incremental)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn reparse_equals_full_parse(src in 0..corpus().len(), e1 in edit(), e2 in edit()) {
        let corpus = corpus();
        let text0 = &corpus[src];
        let p0 = parse(FileId(3), text0);
        let text1 = apply(text0, &e1);
        let p1 = check_reparse(text0, &p0, &text1)?;
        let text2 = apply(&text1, &e2);
        check_reparse(&text1, &p1, &text2)?;
    }
}

/// The common edits of typing reuse the items they do not touch (the property above only
/// shows the result is right; this shows the incremental path is taken).
#[test]
fn typing_reuses_untouched_items() {
    let file = FileId(0);
    let text = chor_tests::generated_program(2_000);
    let old = parse(file, &text);
    assert!(old.errors.is_empty());
    let at = text.find("total_25(r, 3)").expect("edit site") + "total_25(r, ".len();
    // Replace a digit, insert a digit, insert a newline, delete a digit, edit a doc comment.
    let edits: Vec<(usize, usize, &str)> = vec![
        (at, 1, "4"),
        (at, 0, "4"),
        (at, 0, "\n"),
        (at, 1, ""),
        (at - "    let A.t = total_25(r, ".len(), 0, "/// d\n"),
    ];
    for (at, remove, insert) in edits {
        let mut new_text = text.clone();
        new_text.replace_range(at..at + remove, insert);
        let new = reparse(file, &old, &text, &new_text);
        assert_eq!(new, parse(file, &new_text));
        let shared = new
            .file
            .items
            .iter()
            .zip(&old.file.items)
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count();
        let edited = old
            .file
            .items
            .iter()
            .position(|it| it.span().end as usize > at)
            .expect("edited item");
        // Later items are shared too when the length did not change (otherwise they moved).
        let expected = if insert.len() == remove {
            old.file.items.len() - 1
        } else {
            edited
        };
        assert_eq!(shared, expected, "untouched items are shared");
        assert_eq!(new.file.items.len(), old.file.items.len());
    }
}
