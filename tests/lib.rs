//! chor-tests: the integration test suite of the workspace (all tests live in `main.rs`) and the
//! program generator shared by the checker and language-server benchmarks.

/// Functions, data types and choreographies using most constructs, about `lines` lines.
pub fn generated_program(lines: usize) -> String {
    let mut s = String::new();
    let mut i = 0;
    // `s` always ends with a newline, so its line count is its number of newlines.
    let mut count = 0;
    while count < lines {
        let block = format!(
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
        count += block.matches('\n').count();
        s.push_str(&block);
        i += 1;
    }
    s.push_str(
        "\nchoreography main(X, Y, Z) {\n    let X.r = Rec0 { name: \"a\", qty: 2, tags: [] };\n    let Y.n = 4;\n    let Z.out = Proc0(X, Y, Z)(X.r, Y.n);\n    Z.print(out);\n}\n",
    );
    s
}
