//! Benchmark: parse, assemble and check a generated program of about 100,000 lines, and print
//! lines per second together with the ratio to parsing the same text (a baseline measured in
//! the same run, so the figure means something on any machine).

use chor_check::{check_program, program};
use std::fmt::Write as _;
use std::time::Instant;

/// A program with many functions, data types and choreographies using most constructs.
fn generate(target_lines: usize) -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.lines().count() < target_lines {
        let _ = write!(
            s,
            r#"
struct Rec{i} {{ name: String, qty: Int, tags: List<String> }}
enum Msg{i} {{ Put{i}(String, Int), Get{i}(String), Stop{i} }}

fn total_{i}(r: Rec{i}, unit: Int) -> Int {{
    let base = r.qty * unit;
    let extra = match list::get(r.tags, 0) {{
        Some(t) => string::len(t),
        None => 0,
    }};
    if base > 100 {{ base - extra }} else {{ base + extra }}
}}

fn describe_{i}(m: Msg{i}) -> String {{
    match m {{
        Put{i}(k, v) => k ++ "=" ++ to_string(v),
        Get{i}(k) => "get " ++ k,
        Stop{i} => "stop",
    }}
}}

choreography Proc{i}(A, B, C)(r: Rec{i}@A, n: Int@B) -> Int@C {{
    let A.t = total_{i}(r, 3);
    A.t -> B.t, C.t;
    let B.sum = t + n;
    if B.sum > 10 {{
        B -> A, C[Big];
        B.sum -> C.s;
        let C.msg = Put{i}("k", s);
        C.print(describe_{i}(msg));
        return C.s;
    }} else {{
        B -> A, C[Small];
        let C.xs = [t, t + 1, t + 2];
        let C.y = match xs {{
            [] => 0,
            [h, ..rest] => h + list::len(rest),
        }};
        return C.y;
    }}
}}
"#
        );
        i += 1;
    }
    let _ = write!(
        s,
        "\nchoreography main(X, Y, Z) {{\n    let X.r = Rec0 {{ name: \"a\", qty: 2, tags: [] }};\n    let Y.n = 4;\n    let Z.out = Proc0(X, Y, Z)(X.r, Y.n);\n    Z.print(out);\n}}\n"
    );
    s
}

fn main() {
    let src = generate(100_000);
    let lines = src.lines().count();
    // Warm up once, then take the best of a few runs.
    let mut best_parse = f64::MAX;
    let mut best_all = f64::MAX;
    let mut best_check = f64::MAX;
    for _ in 0..3 {
        let t0 = Instant::now();
        let parsed = chor_syntax::parse(chor_diagnostics::FileId(0), &src);
        best_parse = best_parse.min(t0.elapsed().as_secs_f64());
        assert!(
            parsed.errors.is_empty(),
            "generated program has syntax errors"
        );
        let t1 = Instant::now();
        let p = program::from_source("bench.chor", &src, Vec::new());
        let t2 = Instant::now();
        let c = check_program(&p);
        let t3 = Instant::now();
        best_all = best_all.min((t3 - t1).as_secs_f64());
        best_check = best_check.min((t3 - t2).as_secs_f64());
        assert!(
            !c.has_errors(),
            "generated program has errors: {:?}",
            c.diagnostics.first()
        );
    }
    println!("lines:                      {lines}");
    println!("parse (baseline):           {:.3} s", best_parse);
    println!(
        "check_program:              {:.3} s  ({:.0} lines/s)",
        best_check,
        lines as f64 / best_check
    );
    println!(
        "parse + assemble + check:   {:.3} s  ({:.0} lines/s)",
        best_all,
        lines as f64 / best_all
    );
    println!("check / parse ratio:        {:.2}", best_check / best_parse);
}
