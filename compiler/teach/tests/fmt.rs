//! Formatter tests: every example formats to a file that parses to the same tree, keeps its
//! comments, and is a fixed point; small cases pin the layout rules.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // tests read the examples from disk (the crate itself does no I/O)

use chor_diagnostics::FileId;
use chor_teach::fmt::{format_source, same_ast};
use std::path::{Path, PathBuf};

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/ exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "chor"))
        .collect();
    v.sort();
    v
}

fn fmt(src: &str) -> String {
    format_source(FileId(0), src).unwrap_or_else(|d| panic!("format failed: {d:#?}\n{src}"))
}

/// Format, then check meaning, comments and idempotence.
fn check_round_trip(src: &str) -> String {
    let once = fmt(src);
    let a = chor_syntax::parse(FileId(0), src);
    let b = chor_syntax::parse(FileId(0), &once);
    assert!(b.errors.is_empty(), "{:#?}\n{once}", b.errors);
    assert!(same_ast(&a.file, &b.file), "tree changed:\n{once}");
    let twice = fmt(&once);
    assert_eq!(once, twice, "not idempotent");
    once
}

#[test]
fn examples_round_trip() {
    for p in examples() {
        let src = std::fs::read_to_string(&p).expect("readable");
        let out = check_round_trip(&src);
        insta::assert_snapshot!(
            format!(
                "fmt_{}",
                p.file_stem().and_then(|s| s.to_str()).unwrap_or("x")
            ),
            out
        );
    }
}

#[test]
fn stdlib_round_trips() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../stdlib");
    for e in std::fs::read_dir(dir)
        .expect("stdlib/")
        .filter_map(Result::ok)
    {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "chor") {
            check_round_trip(&std::fs::read_to_string(&p).expect("readable"));
        }
    }
}

/// `check(input, expected)`: formats to exactly `expected`, which is itself a fixed point.
fn check(input: &str, expected: &str) {
    let out = check_round_trip(input);
    assert_eq!(
        out, expected,
        "\n--- got ---\n{out}\n--- want ---\n{expected}"
    );
}

#[test]
fn indentation_and_one_statement_per_line() {
    check(
        "choreography main(A,B){let A.x=1;A.x->B.y;if A.x>0{A->B[Yes];B.print(y);}else{A->B[No];}}",
        "choreography main(A, B) {\n    let A.x = 1;\n    A.x -> B.y;\n    if A.x > 0 {\n        A -> B[Yes];\n        B.print(y);\n    } else {\n        A -> B[No];\n    }\n}\n",
    );
}

#[test]
fn comments_stay_near() {
    check(
        "// head\n\n/// Doc.\nstruct P { a: Int, /* why */ b: Int }\nfn f(x: Int) -> Int { x + /* inner */ 1 } // tail\n",
        "// head\n\n/// Doc.\nstruct P {\n    a: Int, /* why */\n    b: Int,\n}\n\nfn f(x: Int) -> Int {\n    /* inner */\n    x + 1\n} // tail\n",
    );
    check(
        "choreography main(A, B) { // open\n    let A.x = 1; // one\n\n\n    // before\n    A.x -> B.x;\n    // last\n}\n",
        "choreography main(A, B) { // open\n    let A.x = 1; // one\n\n    // before\n    A.x -> B.x;\n    // last\n}\n",
    );
    check(
        "choreography main(A, B) {\n    if A.1 > 0 /* c */ {\n    } else { // e\n    }\n}\n",
        "choreography main(A, B) {\n    if A.(1 > 0) {\n        /* c */\n    } else { // e\n    }\n}\n",
    );
}

#[test]
fn lists_break_when_long_or_commented() {
    check(
        "fn f() -> List<Int> { [1, // one\n 2] }\n",
        "fn f() -> List<Int> {\n    [\n        1, // one\n        2,\n    ]\n}\n",
    );
    check(
        "fn f() -> (Int,) { (1,) }\nfn g(a: Int, b: Int) -> Int { g(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb) }\n",
        "fn f() -> (Int,) {\n    (1,)\n}\n\nfn g(a: Int, b: Int) -> Int {\n    g(\n        aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,\n        bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,\n    )\n}\n",
    );
}

/// A signature's parameters stay on one line only if the result and ` {` after them fit
/// too: the line never passes the width because of what follows the list.
#[test]
fn parameters_break_when_the_result_after_them_does_not_fit() {
    check(
        "fn fff(aaaaaaaaaaaa: Int, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb: Int, cccccccc: Int) -> List<String> { [] }\n",
        "fn fff(\n    aaaaaaaaaaaa: Int,\n    bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb: Int,\n    cccccccc: Int,\n) -> List<String> {\n    []\n}\n",
    );
    check(
        "choreography Round(A, B, C)(da: Int@A, db: Int@B, dc: Int@C) -> (Int@A, Int@B, Int@C) { return (A.da, B.db, C.dc); }\n",
        "choreography Round(A, B, C)(da: Int@A, db: Int@B, dc: Int@C) -> (Int@A, Int@B, Int@C) {\n    return (A.da, B.db, C.dc);\n}\n",
    );
    check(
        "choreography Prepare(Co, B1, B2)(t: Int@(Co, B1, B2), balance: Int@B1, limit: Int@B2) -> Bool@(Co, B1, B2) { return (Co, B1, B2).true; }\n",
        "choreography Prepare(Co, B1, B2)(\n    t: Int@(Co, B1, B2),\n    balance: Int@B1,\n    limit: Int@B2,\n) -> Bool@(Co, B1, B2) {\n    return (Co, B1, B2).true;\n}\n",
    );
}

/// `(Ws).k` in the arguments of a call bound with `let` (parsed as an expression) is the
/// group of the family, `Ws.k` one value per member: the parentheses stay.
#[test]
fn a_parenthesized_name_keeps_its_parentheses() {
    check(
        "choreography main(L, Ws[]) { let (Ws).m = Agree(L, Ws)((Ws).n, Ws.k); }\n",
        "choreography main(L, Ws[]) {\n    let (Ws).m = Agree(L, Ws)((Ws).n, Ws.k);\n}\n",
    );
    check(
        "fn f(x: Int) -> Int { (x) + 1 }\n",
        "fn f(x: Int) -> Int {\n    x + 1\n}\n",
    );
}

#[test]
fn precedence_and_tricky_forms_survive() {
    for src in [
        "fn f(a: Int, b: Int) -> Int { (a + b) * (a - (b - 1)) - -a }",
        "fn f(a: Bool) -> Bool { !(a && (a || a)) == (1 < 2) }",
        "fn f(t: ((Int, Int), Int)) -> Int { t.0.1 + (1).0 }",
        "fn f(x: Int) -> Int { (if x > 0 { 1 } else { 2 }) + 3 }",
        "fn f(x: Int) -> Int { match x { 0 => 1, n => { let y = n; y } } }",
        "fn f(x: Int) -> Int { if x > 0 { 1; } else if x < 0 { 2 } else { 3 }; 4 }",
        "fn f(x: Int) -> Int { { 1 } }",
        "fn f(x: Option<Int>) -> Int { match x { Some(_) => 1, None => return 2, } }",
        "fn f(q: Q) -> Int { match q { Q { a, b: 1, .. } => a, [h, ..t] => h, [] => 0, (a,) => a, N() => 0 } }",
        "fn f() -> Q { if (Q { a: 1 }) == x { Q { a: 1 } } else { Q {} } }",
        "#[builtin]\nfn g(x: fn(Int) -> ()) -> Int;",
        "choreography main(A, B) { A.(1.5) -> B.x; A.0 -> B.y; let B.z = P(A, B)(A.(x - 1) * 2); P(A, B)(A.3, B.x + 1); }",
        "choreography P(A, B)(x: Int@A) -> Int@B { match A.x { 0 => { A -> B[Z]; } n => { A -> B[N]; } } return B.0; }",
        "enum E<T> { A(T, Int), B }\nimport \"x.chor\";\nimport \"y.chor\";",
        "fn f(s: String) -> String { \"tab\\t \\\"q\\\" \\u{1F600} \\\\\" ++ s }",
        "fn f() -> Float { 1.0 + 2.5e-7 + 1e20 }",
    ] {
        check_round_trip(src);
    }
}

#[test]
fn syntax_errors_are_refused() {
    let r = format_source(FileId(0), "choreography main(A, B) { let A.x = ; }");
    assert!(r.is_err());
}

#[test]
fn extern_declarations_keep_their_keyword() {
    check(
        "/// Docs stay.\nextern   fn  lookup(key:String,n : Int)->Option<String> ;\nextern fn tick();\n",
        "/// Docs stay.\nextern fn lookup(key: String, n: Int) -> Option<String>;\n\nextern fn tick();\n",
    );
}

#[test]
fn generic_and_higher_order_choreographies_round_trip() {
    check(
        "choreography Relay< T >(A,B)(x:T@A)->T@B{A.x->B.y;return B.y;}\n\
         choreography Twice(A,B)(step:chor(X,Y)(Int@X)->Int@Y,n:Int@A)->Int@B{\n\
         let B.r=step(A,B)(A.n);return B.r;}\n\
         choreography Use(A,B)(f: chor(X, Y)(n: Int@X, String@Y), g: chor(X)) {\n\
         f(A,B)(A.1,B.\"s\");g(A)();Twice( A,B )( Relay ,A.(3));}\n",
        "choreography Relay<T>(A, B)(x: T@A) -> T@B {\n    A.x -> B.y;\n    return B.y;\n}\n\n\
         choreography Twice(A, B)(step: chor(X, Y)(Int@X) -> Int@Y, n: Int@A) -> Int@B {\n    \
         let B.r = step(A, B)(A.n);\n    return B.r;\n}\n\n\
         choreography Use(A, B)(f: chor(X, Y)(n: Int@X, String@Y), g: chor(X)) {\n    \
         f(A, B)(A.(1), B.\"s\");\n    g(A)();\n    Twice(A, B)(Relay, A.(3));\n}\n",
    );
}

#[test]
fn families_format_canonically() {
    check(
        "choreography Sum(Leader,Ws[])(xs:List<Int>@Leader,ys:Int@Ws)->Int@Leader{for W in Ws{Leader.index( W )->W.part;W.index(Ws)->Ws[(index(W)+1)%size(Ws)].from;}let Ws.s=part+ys;Ws.s->Leader.sums;Leader->Ws[Done];Leader->Ws[0],Ws[ 1 ][Go];Ws[0].print(s);return Leader.list::len(sums);}",
        "choreography Sum(Leader, Ws[])(xs: List<Int>@Leader, ys: Int@Ws) -> Int@Leader {\n    for W in Ws {\n        Leader.index(W) -> W.part;\n        W.index(Ws) -> Ws[(index(W) + 1) % size(Ws)].from;\n    }\n    let Ws.s = part + ys;\n    Ws.s -> Leader.sums;\n    Leader -> Ws[Done];\n    Leader -> Ws[0], Ws[1][Go];\n    Ws[0].print(s);\n    return Leader.list::len(sums);\n}\n",
    );
}

#[test]
fn conditional_expressions_format_canonically() {
    // The card's one-line forms become one statement per line; each branch ends with what it
    // yields, without `;`; `else if` stays a chain; a conditional at one role stays local.
    check(
        "choreography main(A, B, C) {\n    let B.y = if A.ok { A -> B[Yes]; A.v -> B.v; B.(v + 1) } else { A -> B[No]; B.(0) };\n    let (B.x, C.y) = match A.r { Some(n) => { A -> B, C[Got]; A.n -> B.x; (B.x, C.(0)) }, None => { A -> B, C[Empty]; (B.(0), C.(1)) } };\n    let (A, B).z: Int = if (A, B).c { (A, B).(1) } else if (A, B).d { (A, B).(2) } else { (A, B).(3) };\n    let B.w = if c { 1 } else { 2 };\n}\n",
        "choreography main(A, B, C) {\n    let B.y = if A.ok {\n        A -> B[Yes];\n        A.v -> B.v;\n        B.(v + 1)\n    } else {\n        A -> B[No];\n        B.(0)\n    };\n    let (B.x, C.y) = match A.r {\n        Some(n) => {\n            A -> B, C[Got];\n            A.n -> B.x;\n            (B.x, C.(0))\n        },\n        None => {\n            A -> B, C[Empty];\n            (B.(0), C.(1))\n        },\n    };\n    let (A, B).z: Int = if (A, B).c {\n        (A, B).(1)\n    } else if (A, B).d {\n        (A, B).(2)\n    } else {\n        (A, B).(3)\n    };\n    let B.w = if c { 1 } else { 2 };\n}\n",
    );
}
