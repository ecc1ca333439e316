//! Programs nested `n` levels deep, for the tests of nesting limits and for the
//! compile-scaling benchmark (`benches/compile_scaling.rs` includes this file).

/// `main(A, B)` binding `A.x` to `open` written `n` times, `inner`, then `close` written `n`
/// times, and printing `print` at A.
pub fn nested_value(open: &str, inner: &str, close: &str, n: usize, print: &str) -> String {
    format!(
        "choreography main(A, B) {{\n    let A.x = {}{inner}{};\n    A.print({print});\n}}\n",
        open.repeat(n),
        close.repeat(n)
    )
}

/// `n` nested `if A.… { … } else { … }`, each branch telling B which it is.
pub fn nested_choices(n: usize) -> String {
    let mut s = String::from("choreography main(A, B) {\n    let A.x = 1;\n");
    for i in 0..n {
        s.push_str(&format!(
            "if A.x > {i} {{ A -> B[L]; B.print(\"l\"); }} else {{\nA -> B[R];\n"
        ));
    }
    s.push_str("B.print(\"end\");\n");
    s.push_str(&"}".repeat(n));
    s.push_str("\n}\n");
    s
}
