//! Checking a program again after an edit, reusing the results of the items the edit did not
//! touch (`chor_check::Reuse`), finds exactly what checking it from scratch finds: the
//! diagnostics of the static checks and of knowledge of choice, with every span, message (some
//! quote line numbers) and fix, and the language server's tables of hovers and references. Random edits of the ui programs, the examples and a generated program, three in a
//! row, each checked with the caches of the one before.

use chor_check::{
    CheckCache, Program, Reuse, check_diagnostics, check_program, check_program_reusing, program,
};
use chor_diagnostics::Diagnostic;
use chor_project::{ChoiceCache, check_choices, check_choices_reusing};
use proptest::prelude::*;

/// Root texts (with the importable files of the ui tests).
fn corpus() -> Vec<String> {
    let mut out = crate::support::chor_sources(&["ui", "../examples"]);
    out.push(chor_tests::generated_program(200));
    out
}

fn imports() -> Vec<(String, String)> {
    let lib = concat!(env!("CARGO_MANIFEST_DIR"), "/ui/lib/shapes.chor");
    vec![(
        "lib/shapes.chor".to_owned(),
        std::fs::read_to_string(lib).expect("ui lib"),
    )]
}

/// Edits that keep a program parsing more often than not (so that results can be reused),
/// some that introduce name, type and role errors, and some syntax errors (results of the last
/// program without them are reused meanwhile).
const INSERTS: &[&str] = &[
    "", " ", "\n", "\n\n", "1", "7", "x", "_", "A", "// c\n", "  ", "0", ";", "(", "{", "}", "let",
    "=", "\"",
];

fn edit() -> impl Strategy<Value = (f64, usize, &'static str)> {
    (
        0.0..=1.0f64,
        prop_oneof![3 => Just(0usize), 1 => 1usize..3],
        prop::sample::select(INSERTS),
    )
}

fn apply(text: &str, (at, remove, insert): (f64, usize, &str)) -> String {
    let mut at = ((text.len() as f64) * at) as usize;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let mut end = at;
    for _ in 0..remove {
        match text[end..].chars().next() {
            Some(c) => end += c.len_utf8(),
            None => break,
        }
    }
    format!("{}{insert}{}", &text[..at], &text[end..])
}

struct Last {
    program: Program,
    check: CheckCache,
    tables: CheckCache,
    choices: ChoiceCache,
}

/// Check `p` reusing `last` (as the driver does) and compare with a check from scratch.
fn check_against_scratch(p: Program, last: Option<&Last>) -> Result<Last, TestCaseError> {
    let reuse = last.and_then(|l| Reuse::new(&l.program, &p));
    let previous = reuse.as_ref().zip(last);
    let (diags, check) = check_diagnostics(&p, previous.map(|(r, l)| (r, &l.check)));
    let scratch = check_program(&p);
    prop_assert_eq!(&diags, &scratch.diagnostics);
    let (checked, tables) = check_program_reusing(&p, previous.map(|(r, l)| (r, &l.tables)));
    prop_assert_eq!(&checked, &scratch);
    let syntax_ok = !p.diagnostics.iter().any(Diagnostic::is_error);
    let choices = if syntax_ok {
        let (found, choices) = check_choices_reusing(&p, previous.map(|(r, l)| (r, &l.choices)));
        prop_assert_eq!(&found, &check_choices(&p));
        choices
    } else {
        ChoiceCache::default()
    };
    Ok(Last {
        program: p,
        check,
        tables,
        choices,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn reusing_results_equals_checking_from_scratch(
        src in 0..corpus().len(),
        edits in prop::collection::vec(edit(), 3),
    ) {
        let corpus = corpus();
        let mut text = corpus[src].clone();
        let mut last = check_against_scratch(program::from_source("t.chor", &text, imports()), None)?;
        for e in edits {
            text = apply(&text, e);
            let p = program::from_source("t.chor", &text, imports());
            let next = check_against_scratch(p, Some(&last))?;
            // Like the driver: while the text has syntax errors, keep the last check without.
            if next.program.diagnostics.is_empty() || !last.program.diagnostics.is_empty() {
                last = next;
            }
        }
    }
}

/// An edit inside one body reuses every other item (the property above only shows that the
/// results are right; this shows they are reused), also when it moves the text after it.
#[test]
fn an_edit_in_a_body_reuses_the_other_items() {
    let text = chor_tests::generated_program(1_000);
    let old = program::from_source("t.chor", &text, Vec::new());
    let at = text.find("Put5(\"k").expect("edit site") + "Put5(\"k".len();
    for (range, insert) in [(at..at, "x"), (at..at, "\n"), (at - 1..at, "")] {
        let mut new_text = text.clone();
        new_text.replace_range(range, insert);
        let new = program::from_source("t.chor", &new_text, Vec::new());
        let reuse = Reuse::new(&old, &new).expect("headers unchanged");
        let changed: Vec<_> = new
            .units
            .iter()
            .enumerate()
            .flat_map(|(u, unit)| (0..unit.ast.items.len()).map(move |i| (u, i)))
            .filter(|(u, i)| !reuse.unchanged(chor_check::ItemRef { unit: *u, item: *i }))
            .collect();
        assert_eq!(
            changed.len(),
            1,
            "only the edited choreography: {changed:?}"
        );
    }
}

/// Messages that quote line numbers (E0202 says on which line a variable lives) are checked
/// again when an edit adds or removes lines: a newline, a space or a deletion at every offset
/// of a file that has them after another item.
#[test]
fn line_numbers_follow_the_edit() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/ui/e0202_variable_at_other_role.chor"
    );
    let text = "fn before(n: Int) -> Int {\n    n + 1\n}\n\n".to_owned()
        + &std::fs::read_to_string(path).expect("ui test");
    let first = program::from_source("t.chor", &text, Vec::new());
    assert!(
        check_program(&first)
            .diagnostics
            .iter()
            .any(|d| d.labels.iter().any(|l| l.message.contains("(line"))),
        "the file has messages with line numbers"
    );
    let last = check_against_scratch(first, None).expect("first check");
    let mut reused = 0;
    for at in (0..=text.len()).filter(|i| text.is_char_boundary(*i)) {
        for (remove, insert) in [(0, "\n"), (0, " "), (1, "")] {
            if at + remove > text.len() {
                continue;
            }
            let new_text = format!("{}{insert}{}", &text[..at], &text[at + remove..]);
            let p = program::from_source("t.chor", &new_text, Vec::new());
            reused += usize::from(Reuse::new(&last.program, &p).is_some());
            check_against_scratch(p, Some(&last)).expect("same diagnostics");
        }
    }
    assert!(reused > 100, "results were reused ({reused} times)");
}

/// An agreed binding is pure only if every function it calls is, following calls: its result
/// depends on other items' bodies. Editing such a body (making it pure, or impure) is seen by
/// the check that reuses the choreography's result.
#[test]
fn an_edit_in_a_called_body_rechecks_purity() {
    let impure = "fn log(n: Int) -> Int {\n    print(\"x\");\n    n\n}\n\n\
        fn scaled(n: Int) -> Int {\n    log(n) * 2\n}\n\n\
        choreography main(A, B)() {\n    A.1 -> (A, B).k;\n    let (A, B).y = scaled(k);\n    \
        B.print(y);\n}\n";
    let pure = impure.replace("    print(\"x\");\n", "");
    for (from, to) in [(impure.to_owned(), pure.clone()), (pure, impure.to_owned())] {
        let first = program::from_source("t.chor", &from, Vec::new());
        let last = check_against_scratch(first, None).expect("first check");
        let next = program::from_source("t.chor", &to, Vec::new());
        assert!(
            Reuse::new(&last.program, &next).is_some(),
            "results reusable"
        );
        check_against_scratch(next, Some(&last)).expect("same diagnostics");
    }
}
