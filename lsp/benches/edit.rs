//! Benchmark: after a one-character edit in a generated 20,000-line file, the time until the
//! fresh diagnostics are computed (what the server publishes once the debounce has passed).
//! Two edits: replacing a digit (nothing moves) and inserting a character (everything after it
//! moves). Printed with a baseline measured in the same run: checking the same text in a new
//! database.
//!
//! `cargo bench -p chor-lsp --bench edit`

use chor_driver::db::Database;
use chor_lsp::{Analysis, features};
use std::path::Path;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let src = chor_tests::generated_program(20_000);
    if std::env::var_os("CHOR_PROBE").is_some() {
        for _ in 0..3 {
            let t = Instant::now();
            let parsed = chor_syntax::parse(chor_diagnostics::FileId(0), &src);
            let t_parse = t.elapsed();
            let t = Instant::now();
            let c = parsed.clone();
            let t_clone = t.elapsed();
            drop(c);
            let t = Instant::now();
            let prog = chor_check::program::from_source("x.chor", &src, Vec::new());
            let t_asm = t.elapsed();
            let t = Instant::now();
            let ck = chor_check::check_program(&prog);
            let t_check = t.elapsed();
            let t = Instant::now();
            let koc = chor_project::check_choices(&prog);
            let t_koc = t.elapsed();
            println!(
                "parse {:.1} clone {:.1} parse+assemble {:.1} check {:.1} choices {:.1} ms ({} {})",
                ms(t_parse),
                ms(t_clone),
                ms(t_asm),
                ms(t_check),
                ms(t_koc),
                ck.diagnostics.len(),
                koc.len()
            );
        }
    }
    let lines = src.lines().count();
    let path = Path::new("/chor-bench/big.chor");

    // Baseline: a cold check of the same text in a fresh database.
    let mut cold = Vec::new();
    for _ in 0..3 {
        let mut db = Database::default();
        let t = Instant::now();
        let file = db.set_text(path, src.clone()).id(&db);
        let n = features::diagnostics(&db, file).len();
        cold.push(t.elapsed());
        assert_eq!(n, 0, "the generated program checks");
    }

    // The server's path: replace the buffer with one character changed, recompute.
    // Replace: a digit in the middle of the file changes, nothing moves.
    let at = src.find("total_250(r, 3)").expect("edit site") + "total_250(r, ".len();
    let replace = measure(path, &src, |round, text| {
        let digit = if round % 2 == 0 { "4" } else { "3" };
        text.replace_range(at..at + 1, digit);
    });
    // Insert: typing into a string literal in the middle of the file, one more character each
    // round, so everything after it moves by one byte.
    let at = src.find("Put250(\"k").expect("edit site") + "Put250(\"k".len();
    let insert = measure(path, &src, |round, text| {
        text.insert(at + round, 'x');
    });
    let cold = median(cold);
    println!("file: {lines} lines, {} bytes", src.len());
    for (name, times) in [("replace", replace), ("insert", insert)] {
        let edit = median(times.clone());
        let best = times.iter().min().copied().unwrap_or_default();
        println!(
            "one-character edit ({name}) -> fresh diagnostics: median {:.1} ms, best {:.1} ms (goal < 50 ms)",
            ms(edit),
            ms(best)
        );
    }
    println!(
        "cold check of the same text in a new database: {:.1} ms",
        ms(cold)
    );
}

/// Open `src` in a new database, then 21 times: `edit` the current text (given the round) and
/// time setting it and computing the diagnostics.
fn measure(path: &Path, src: &str, edit: impl Fn(usize, &mut String)) -> Vec<Duration> {
    let mut db = Database::default();
    let file = Analysis::set_text(&mut db, path, src.to_owned());
    features::diagnostics(&db, file);
    let mut text = src.to_owned();
    let mut times = Vec::new();
    for round in 0..21 {
        edit(round, &mut text);
        let t = Instant::now();
        let file = Analysis::set_text(&mut db, path, text.clone());
        let diags = features::diagnostics(&db, file);
        times.push(t.elapsed());
        assert!(diags.is_empty(), "{diags:?}");
    }
    times
}
