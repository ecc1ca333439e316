//! The standard library's faults (`float::to_int` of NaN or out of range, `list::set`,
//! `list::insert` and `list::remove` with an index out of range, `list::sum` overflowing) stop
//! the role with the same message naming the line of the call in every back end: the global
//! interpreter (`chor simulate`), the projected interpreter and native executables. (Their
//! results are compared in `examples/library_tour.chor`, which every example test runs.)

mod common;

use common::{chor, temp_dir};

/// A program whose role A prints a line, then faults on line 3 evaluating `expr`.
fn program(expr: &str) -> String {
    format!(
        "choreography main(A, B) {{\n    A.print(\"before\");\n    A.print({expr});\n    A.print(\"after\");\n}}\n"
    )
}

/// The command line of each back end: the reference interpreter, projected and native runs.
const BACK_ENDS: [&[&str]; 3] = [
    &["simulate"],
    &["run", "--backend", "interp"],
    &["run", "--backend", "native"],
];

/// Runs `expr` in every back end; each must print the first line only, exit with status 1 and
/// report `message` at line 3 of the file.
fn assert_fault_everywhere(name: &str, expr: &str, message: &str) {
    let dir = temp_dir(name);
    let path = dir.join(format!("{name}.chor"));
    std::fs::write(&path, program(expr)).expect("write");
    for args in BACK_ENDS {
        let out = chor().args(args).arg(&path).output().expect("chor runs");
        let err = String::from_utf8_lossy(&out.stderr);
        let what = format!("{name} with {args:?}");
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "[A] before\n",
            "{what}: {err}"
        );
        assert!(
            err.contains(message),
            "{what}: expected `{message}` in:\n{err}"
        );
        let line = if args[0] == "simulate" {
            format!("{name}.chor:3:")
        } else {
            format!("at {name}.chor:3")
        };
        assert!(err.contains(&line), "{what}: expected `{line}` in:\n{err}");
        assert!(!err.contains("<stdlib>"), "{what}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn library_faults_name_the_line_of_the_call_in_every_back_end() {
    let cases = [
        (
            "nan",
            "float::to_int(float::sqrt(-1.0))",
            "float::to_int of NaN",
        ),
        (
            "huge",
            "float::to_int(1e19)",
            "float::to_int of 1e19: out of the range of Int",
        ),
        (
            "infinite",
            "float::to_int(-1.0 / 0.0)",
            "float::to_int of -inf: out of the range of Int",
        ),
        (
            "set",
            "list::set([1, 2], 2, 0)",
            "list::set: index 2 is out of range for a list of length 2",
        ),
        (
            "insert",
            "list::insert([1, 2], 3, 0)",
            "list::insert: index 3 is out of range for a list of length 2",
        ),
        (
            "insert_negative",
            "list::insert([\"a\"], -1, \"b\")",
            "list::insert: index -1 is out of range for a list of length 1",
        ),
        (
            "remove",
            "list::remove([], 0)",
            "list::remove: index 0 is out of range for a list of length 0",
        ),
        (
            "sum",
            "list::sum([9223372036854775807, 1])",
            "integer overflow",
        ),
    ];
    for (name, expr, message) in cases {
        assert_fault_everywhere(name, expr, message);
    }
}

/// Lists whose declared element type the native back end uses (`List<Int>`, `List<String>`)
/// stay correct through the library's edits and sorts, in every back end.
#[test]
fn edits_and_sorts_of_declared_lists_agree_in_every_back_end() {
    let src = r#"fn total(xs: List<Int>, i: Int, acc: Int) -> Int {
    match list::get(xs, i) {
        Some(x) => total(xs, i + 1, acc + x),
        None => acc,
    }
}

fn names(xs: List<String>) -> List<String> {
    let ys: List<String> = list::insert(list::set(xs, 0, "z"), 1, "m");
    list::sort(list::remove(ys, 2))
}

choreography main(A, B) {
    let A.xs: List<Int> = [5, 1, 4];
    let A.ys: List<Int> = list::sort(list::insert(list::set(list::remove(xs, 0), 0, 7), 2, 3));
    A.print(ys);
    A.print(total(list::sort(ys), 0, 0));
    A.print(list::get(list::sort(ys), 0));
    A.print(names(["a", "b", "c"]));
    A.print(list::set([1.5, 2.0], 0, 1.0) == [1.0, 2.0]);
}
"#;
    let dir = temp_dir("typed");
    let path = dir.join("typed.chor");
    std::fs::write(&path, src).expect("write");
    let want = "[A] [3, 4, 7]\n[A] 14\n[A] Some(3)\n[A] [\"c\", \"m\", \"z\"]\n[A] true\n";
    for args in BACK_ENDS {
        let out = chor().args(args).arg(&path).output().expect("chor runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{args:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
