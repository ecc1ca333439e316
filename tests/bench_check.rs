//! Benchmark: parse, assemble and check a generated program of about 100,000 lines, and print
//! lines per second together with the ratio to parsing the same text (a baseline measured in
//! the same run, so the figure means something on any machine).

use chor_check::{check_program, program};
use std::time::Instant;

fn main() {
    let src = chor_tests::generated_program(100_000);
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
