//! The list-building functions of the standard library in the reference interpreter, printed
//! as ratios measured in one run (`cargo bench -p chor --bench library`, or with
//! `--profile dev` to reuse a debug build):
//! - `list::sort_by` against `list::sort` (a builtin) of the same list, and
//! - each at 4n against n elements: about 4 (times a log factor) when linear or n log n, 16
//!   when quadratic.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // a benchmark prints

use std::time::{Duration, Instant};

fn program(call: &str, n: usize) -> String {
    format!(
        "fn neg(x: Int) -> Int {{ 0 - x }}\n\
         choreography main(A) {{\n    \
         let A.xs = list::map(list::range(0, {n}), neg);\n    \
         A.print(list::len({call}));\n}}\n"
    )
}

/// The fastest of three simulations of the program.
fn time(src: &str) -> Duration {
    let prog = chor_check::program::from_source("bench.chor", src, vec![]);
    (0..3)
        .map(|_| {
            let t = Instant::now();
            let (_, r) = chor_driver::simulate_capture(&prog, vec![]);
            assert!(r.is_ok(), "the benchmark program runs");
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let n = 20_000;
    let base = time(&program("list::sort(xs)", n));
    for (name, call) in [
        ("list::sort_by(xs, neg)", "list::sort_by(xs, neg)"),
        ("list::zip(xs, xs)", "list::zip(xs, xs)"),
        ("list::sort(xs) (builtin)", "list::sort(xs)"),
    ] {
        let small = time(&program(call, n));
        let big = time(&program(call, 4 * n));
        println!(
            "{name:<26} n={n}: {:>8.2} ms ({:.2}x list::sort); 4n/n: {:.2}",
            small.as_secs_f64() * 1e3,
            small.as_secs_f64() / base.as_secs_f64(),
            big.as_secs_f64() / small.as_secs_f64()
        );
    }
}
