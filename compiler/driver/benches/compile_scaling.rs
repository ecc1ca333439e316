//! Compile time against input size (`cargo bench -p chor --bench compile_scaling`; not built by
//! `cargo test`). Each input shape is generated at sizes n, 2n and 4n; the front end (parse and
//! check) and the whole build (check, projection and code generation of every role, linking
//! excluded) are timed, and the growth per doubling is printed. Linear compile time shows as a
//! ratio near 2 (the goal is at most 2.3); a quadratic phase shows as 4.
//!
//! Shapes: a body of heap-valued bindings, a body of receives, and one expression nested deep:
//! a list literal, a tuple, parentheses, unary minus and `!`; and choreographic `if`/`else`
//! nested deep, each branch with a selection (knowledge of choice merges the branches).
//!
//! `--scale K` multiplies every size by K (e.g. `--scale 0.25` for a quick run).

#[path = "../tests/common/deep.rs"]
mod deep;

use deep::{nested_choices, nested_value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One input shape: its name, its base size, and the program of size n.
struct Shape {
    name: &'static str,
    base: usize,
    source: fn(usize) -> String,
}

fn main_of(body: &str) -> String {
    format!("choreography main(A, B) {{\n{body}}}\n")
}

fn bindings(n: usize) -> String {
    let mut b = String::new();
    for i in 0..n {
        b.push_str(&format!("    let A.s{i} = \"x\" ++ to_string({i});\n"));
    }
    b.push_str(&format!("    A.print(s{});\n", n - 1));
    main_of(&b)
}

fn receives(n: usize) -> String {
    let mut b = String::from("    let A.s = \"x\";\n");
    for i in 0..n {
        b.push_str(&format!("    A.s -> B.r{i};\n"));
    }
    b.push_str(&format!("    B.print(r{});\n", n - 1));
    main_of(&b)
}

fn list(n: usize) -> String {
    nested_value("[", "1", "]", n, "x")
}

fn tuple(n: usize) -> String {
    nested_value("(", "1", ",)", n, "x")
}

fn parens(n: usize) -> String {
    nested_value("(", "1", ")", n, "to_string(x)")
}

fn minus(n: usize) -> String {
    nested_value("- ", "1", "", n, "to_string(x)")
}

fn not(n: usize) -> String {
    nested_value("!", "true", "", n, "to_string(x)")
}

/// What `chor check` does: open the file in a fresh database and run every check. Panics on
/// an error (every shape is a valid program).
fn check(path: &Path) -> chor_driver::Session {
    let s = chor_driver::Session::open(path).expect("opens");
    let diags = s.diagnostics();
    assert!(
        !diags.iter().any(|d| d.is_error()),
        "the generated program has errors: {}",
        s.render(&diags)
    );
    s
}

/// What `chor build` does before linking: check, project, compile every role to an object.
fn build(path: &Path) {
    let s = check(path);
    let prog = s.program();
    let locals = chor_driver::projections(&prog).expect("projects");
    let roles: Vec<String> = locals.iter().map(|l| l.role.clone()).collect();
    let lines = chor_diagnostics::LineIndex::new(&std::fs::read_to_string(path).expect("reads"));
    let loc_of = |sp: chor_diagnostics::Span| format!("scaling.chor:{}", lines.line(sp.start));
    for lp in &locals {
        let info = chor_codegen::RoleInfo {
            main_roles: &roles,
            fingerprint: [0; 32],
            loc_of: &loc_of,
            keep_clif: false,
        };
        chor_codegen::compile_role(&prog, lp, &info).expect("compiles");
    }
}

/// The fastest of several timings of `f` (fewer for slow inputs): the machine's noise only
/// adds time.
fn time(f: impl Fn()) -> Duration {
    let first = {
        let t = Instant::now();
        f();
        t.elapsed()
    };
    let runs = if first < Duration::from_millis(500) {
        5
    } else {
        2
    };
    (1..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .fold(first, Duration::min)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report(what: &str, sizes: &[usize], times: &[Duration]) -> f64 {
    let cols: Vec<String> = sizes
        .iter()
        .zip(times)
        .map(|(n, t)| format!("n={n}: {:.1} ms", ms(*t)))
        .collect();
    let ratios: Vec<f64> = times
        .windows(2)
        .map(|w| w[1].as_secs_f64() / w[0].as_secs_f64().max(1e-9))
        .collect();
    let worst = ratios.iter().copied().fold(0.0, f64::max);
    let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}x")).collect();
    println!(
        "  {what:<6} {}   per doubling: {}",
        cols.join(", "),
        shown.join(" ")
    );
    worst
}

fn run() {
    let scale: f64 = std::env::args()
        .skip_while(|a| a != "--scale")
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let shapes = [
        Shape {
            name: "heap-valued bindings",
            base: 4000,
            source: bindings,
        },
        Shape {
            name: "receives",
            base: 4000,
            source: receives,
        },
        Shape {
            name: "nested list literal",
            base: 10000,
            source: list,
        },
        Shape {
            name: "nested tuple",
            base: 10000,
            source: tuple,
        },
        Shape {
            name: "nested parentheses",
            base: 10000,
            source: parens,
        },
        Shape {
            name: "nested unary minus",
            base: 10000,
            source: minus,
        },
        Shape {
            name: "nested `!`",
            base: 10000,
            source: not,
        },
        Shape {
            name: "nested conditionals",
            base: 2000,
            source: nested_choices,
        },
    ];
    let dir = std::env::temp_dir().join(format!("chor-scaling-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    println!("== compile time per doubling of the input (goal: at most 2.3x) ==");
    let mut worst: Vec<(&str, f64)> = Vec::new();
    for s in &shapes {
        let n = ((s.base as f64 * scale) as usize).max(2);
        let sizes = [n, 2 * n, 4 * n];
        let srcs: Vec<PathBuf> = sizes
            .iter()
            .map(|&n| {
                let p = dir.join(format!("{}-{n}.chor", s.name.replace([' ', '`'], "_")));
                std::fs::write(&p, (s.source)(n)).expect("writes the input");
                p
            })
            .collect();
        println!("{}:", s.name);
        // Warm up once at the largest size: the first deep run touches the stack's pages and
        // grows the heap, which would be charged to the smallest size otherwise.
        if let Some(p) = srcs.last() {
            build(p);
        }
        let checks: Vec<Duration> = srcs
            .iter()
            .map(|src| {
                time(|| {
                    check(src);
                })
            })
            .collect();
        let c = report("check", &sizes, &checks);
        let builds: Vec<Duration> = srcs.iter().map(|src| time(|| build(src))).collect();
        let b = report("build", &sizes, &builds);
        worst.push((s.name, c.max(b)));
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!();
    println!("worst growth per doubling:");
    for (name, w) in worst {
        let mark = if w <= 2.3 { "" } else { "  (over 2.3x)" };
        println!("  {name:<22} {w:.2}x{mark}");
    }
}

fn main() {
    // Deeply nested input recurses in the compiler's phases; `chor` runs them on a big stack too.
    let t = std::thread::Builder::new()
        .stack_size(chor_interp::STACK_SIZE)
        .spawn(run)
        .expect("bench thread");
    t.join().expect("bench finished");
}
