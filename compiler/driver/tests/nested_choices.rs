//! Deeply nested choreographic conditionals: `chor check` grows about linearly with the depth
//! (knowledge of choice merges each role's branches; a merge that copied the subtrees below it
//! made a chain of 2,000 decisions take seconds and 10,000 not finish), and no depth below the
//! nesting limit crashes any command.
//!
//! The growth is measured as a ratio between two depths in the same run (the fastest of a few
//! runs each), never against a fixed time: 10 times the depth must cost well under the 100
//! times a quadratic check would.

mod common;

use common::deep::nested_choices;
use common::{chor, ok, temp_dir};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// An `else if` chain: one label per branch, so B's merged projection has `n` arms.
fn else_if(n: usize) -> String {
    let mut s = String::from("choreography main(A, B, C) {\n    let A.x = 1;\n");
    for i in 0..n {
        s.push_str(&format!(
            "if A.x == {i} {{ A -> B[L{i}]; B.print(\"{i}\"); }} else "
        ));
    }
    s.push_str("{ A -> B[E]; B.print(\"end\"); }\nA.x -> C.x;\nC.print(to_string(x));\n}\n");
    s
}

/// Nested `match`es with a selection in each arm, and C, which every branch leaves alone.
fn matches(n: usize) -> String {
    let mut s = String::from("choreography main(A, B, C) {\n    let A.x = 1;\n");
    for i in 0..n {
        s.push_str(&format!(
            "match A.(x > {i}) {{ true => {{ A -> B[L]; B.print(\"l\"); }}, false => {{\nA -> B[R];\n"
        ));
    }
    s.push_str("B.print(\"end\");\n");
    s.push_str(&"} }".repeat(n));
    s.push_str("\nA.x -> C.x;\nC.print(to_string(x));\n}\n");
    s
}

/// Nested conditional expressions, each yielding a value at B.
fn yields(n: usize) -> String {
    let mut s = String::from("choreography main(A, B) {\n    let A.x = 1;\n    let B.y = ");
    for i in 0..n {
        s.push_str(&format!(
            "if A.x > {i} {{ A -> B[L]; B.({i}) }} else {{ A -> B[R]; let B.z{i} = \n"
        ));
    }
    s.push_str("0;\n");
    for i in (0..n).rev() {
        s.push_str(&format!("B.z{i} }};\n"));
    }
    s.push_str("    B.print(to_string(y));\n}\n");
    s
}

fn write(dir: &Path, name: &str, src: &str) -> PathBuf {
    let p = dir.join(format!("{name}.chor"));
    std::fs::write(&p, src).expect("writes the program");
    p
}

/// The fastest of three `chor check` runs (the machine's noise only adds time).
fn check_time(path: &Path) -> Duration {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            let out = chor().arg("check").arg(path).output().expect("runs");
            let d = t.elapsed();
            ok(&out, path.display());
            d
        })
        .min()
        .unwrap_or_default()
}

#[test]
fn checking_nested_conditionals_grows_about_linearly_with_depth() {
    let dir = temp_dir("nested-choices");
    type Shape = fn(usize) -> String;
    let shapes: [(&str, Shape); 4] = [
        ("if_else", nested_choices),
        ("else_if", else_if),
        ("match", matches),
        ("yield", yields),
    ];
    for (name, shape) in shapes {
        let small = write(&dir, &format!("{name}-1000"), &shape(1_000));
        let big = write(&dir, &format!("{name}-10000"), &shape(10_000));
        let (ts, tb) = (check_time(&small), check_time(&big));
        let ratio = tb.as_secs_f64() / ts.as_secs_f64().max(1e-6);
        // Linear is 10; what was quadratic or worse is 100 and more.
        assert!(
            ratio < 40.0,
            "{name}: 10,000 levels took {ratio:.1} times as long as 1,000 ({tb:?} against {ts:?})"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// At the deepest the nesting limit allows, every command that walks the choreography
/// finishes: no stack overflow, the expected output.
#[test]
fn nested_conditionals_near_the_nesting_limit_run() {
    let dir = temp_dir("nested-choices-deep");
    let path = write(&dir, "deep", &nested_choices(16_000));
    let out = chor().arg("check").arg(&path).output().expect("runs");
    ok(&out, "check of 16,000 nested conditionals");
    let out = chor().arg("simulate").arg(&path).output().expect("runs");
    let text = ok(&out, "simulate of 16,000 nested conditionals");
    assert_eq!(text.trim(), "[B] l", "{text:.300}");
    let path = write(&dir, "else-if", &else_if(10_000));
    let out = chor().arg("simulate").arg(&path).output().expect("runs");
    let text = ok(&out, "simulate of an else-if chain of 10,000");
    assert_eq!(text.trim(), "[B] 1\n[C] 1", "{text:.300}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `chor project` of deep nesting prints text linear in the depth: indentation stops growing
/// at a fixed depth (it grew with every level, and 10,000 levels printed gigabytes).
#[test]
fn projecting_deep_nesting_prints_text_linear_in_depth() {
    let dir = temp_dir("nested-choices-project");
    let size = |n: usize| {
        let path = write(&dir, &format!("p{n}"), &nested_choices(n));
        let out = chor().arg("project").arg(&path).output().expect("runs");
        ok(&out, "project of nested conditionals");
        out.stdout.len()
    };
    let (small, big) = (size(1_000), size(10_000));
    // Every level prints the same few lines, so ten times the depth is ten times the text.
    assert!(
        big < 11 * small,
        "10,000 levels printed {big} bytes against {small} for 1,000"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `chor fmt` of deep nesting writes text linear in the depth, as `chor project` prints it
/// (the indentation stops growing at the same depth), and formatting it again changes nothing.
/// Formatted text larger than chor reads back is not written: the file stays as it was.
#[test]
fn formatting_deep_nesting_writes_text_linear_in_depth() {
    let dir = temp_dir("nested-choices-fmt");
    let size = |n: usize| {
        let path = write(&dir, &format!("f{n}"), &nested_choices(n));
        let out = chor().arg("fmt").arg(&path).output().expect("runs");
        ok(&out, "fmt of nested conditionals");
        let once = std::fs::read_to_string(&path).expect("formatted");
        let out = chor()
            .arg("fmt")
            .arg("--check")
            .arg(&path)
            .output()
            .expect("runs");
        ok(&out, "fmt --check of formatted nested conditionals");
        once.len()
    };
    let (small, big) = (size(300), size(3_000));
    // Linear: about ten times (a little more, as the first 64 levels are indented less);
    // quadratic growth, as before, gave about a hundred times.
    assert!(
        big < 15 * small,
        "3,000 levels formatted to {big} bytes against {small} for 300"
    );
    let source = nested_choices(10_000);
    let path = write(&dir, "f10000", &source);
    let out = chor().arg("fmt").arg(&path).output().expect("runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("was not formatted") && err.contains("limit for source files"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).expect("read"), source);
    // `--check` lists it as not in canonical form.
    let out = chor()
        .args(["fmt", "--check"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
