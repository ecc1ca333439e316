//! Benchmark: after a one-character edit in a generated 20,000-line file, the time until the
//! fresh diagnostics are computed (what the server publishes once the debounce has passed).
//! Two edits in the middle of the file: replacing a digit (nothing moves) and inserting a
//! character (everything after it moves); and, for information, typing a statement near the
//! top (nearly everything moves, and the text has a syntax error until the statement is
//! complete). Printed with a baseline measured in the same run: checking the same
//! text in a new database.
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
    // Replace: a digit in the middle of the file changes, nothing moves.
    let at = src.find("total_250(r, 3)").expect("edit site") + "total_250(r, ".len();
    let replace = move |round: usize, text: &mut String| {
        let digit = if round.is_multiple_of(2) { "4" } else { "3" };
        text.replace_range(at..at + 1, digit);
    };
    // Insert: typing into a string literal in the middle of the file, one more character each
    // round, so everything after it moves by one byte.
    let at = src.find("Put250(\"k").expect("edit site") + "Put250(\"k".len();
    let insert = move |round: usize, text: &mut String| text.insert(at + round, 'x');
    // Typing a statement character by character in the first choreography, so that nearly
    // the whole file moves: the text has a syntax error until its `;`.
    let statement = "C.print(to_string(s)); ";
    let at = src.find("        return C.s;").expect("edit site") + 8;
    assert!(at < src.len() / 100, "near the top");
    let type_statement = move |round: usize, text: &mut String| {
        let c = statement[round..].chars().next().unwrap_or(' ');
        text.insert(at + round, c);
    };

    if std::env::var_os("CHOR_PROBE").is_some() {
        probe(&src, "replace", &replace);
        probe(&src, "insert", &insert);
        probe(&src, "typing", &type_statement);
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
    let replace = measure(path, &src, replace, true);
    let insert = measure(path, &src, insert, true);
    let typing = measure(path, &src, type_statement, false);
    let cold = median(cold);
    println!("file: {lines} lines, {} bytes", src.len());
    for (name, (times, tables)) in [
        ("replace", replace),
        ("insert", insert),
        (
            "typing a statement near the top, syntax errors until its `;`",
            typing,
        ),
    ] {
        let edit = median(times.clone());
        let best = times.iter().min().copied().unwrap_or_default();
        println!(
            "one-character edit ({name}) -> fresh diagnostics: median {:.1} ms, best {:.1} ms (goal < 50 ms); then the hover and reference tables: median {:.1} ms",
            ms(edit),
            ms(best),
            ms(median(tables))
        );
    }
    println!(
        "cold check of the same text in a new database: {:.1} ms",
        ms(cold)
    );
}

/// Open `src` in a new database, then 21 times: `edit` the current text (given the round) and
/// time setting it and computing the diagnostics (which must be none if `clean`), then,
/// separately, the tables of hovers and references.
fn measure(
    path: &Path,
    src: &str,
    edit: impl Fn(usize, &mut String),
    clean: bool,
) -> (Vec<Duration>, Vec<Duration>) {
    let mut db = Database::default();
    let file = Analysis::set_text(&mut db, path, src.to_owned());
    features::diagnostics(&db, file);
    let mut text = src.to_owned();
    let mut times = Vec::new();
    let mut tables = Vec::new();
    for round in 0..21 {
        edit(round, &mut text);
        let t = Instant::now();
        let file = Analysis::set_text(&mut db, path, text.clone());
        let diags = features::diagnostics(&db, file);
        times.push(t.elapsed());
        assert!(diags.is_empty() || !clean, "{diags:?}");
        // What the other features (hover, semantic tokens, inlay hints…) read next.
        let t = Instant::now();
        db.checked(file);
        tables.push(t.elapsed());
    }
    (times, tables)
}

/// `CHOR_PROBE=1`: where an edit's time goes, phase by phase, as the database runs them (the
/// medians of 11 edits; dropping the previous values is left out, the database does it on
/// another thread), and what the same phases cost from scratch.
fn probe(src: &str, name: &str, edit: &dyn Fn(usize, &mut String)) {
    use chor_check::program::MemoryLoader;
    use chor_check::{Program, Reuse, check_diagnostics_resolving, check_program};
    use chor_project::{check_choices, check_choices_reusing};
    use chor_syntax::{Parsed, parse, reparse};
    use std::sync::Arc;

    let file = chor_diagnostics::FileId(0);
    let assemble = |parsed: Arc<Parsed>, text: &str| {
        let mut p = Program::assemble(file, "big.chor", parsed, &mut MemoryLoader::default());
        p.add_source(file, text);
        Arc::new(p)
    };
    let mut text = src.to_owned();
    let t = Instant::now();
    let mut parsed = Arc::new(parse(file, &text));
    let t_parse = t.elapsed();
    let t = Instant::now();
    let mut prog = assemble(parsed.clone(), &text);
    let t_assemble = t.elapsed();
    let t = Instant::now();
    let full = check_program(&prog);
    let t_full = t.elapsed();
    let t = Instant::now();
    let (_, ir, mut check) = check_diagnostics_resolving(&prog, None);
    let t_diags = t.elapsed();
    // Projection reads the roles the checks resolved (as the database does).
    let resolved = |prog: &Program, ir| {
        let mut p = prog.clone();
        p.ir = Arc::new(ir);
        p
    };
    let t = Instant::now();
    let (_, mut choices) = check_choices_reusing(&resolved(&prog, ir.clone()), None);
    let t_choices = t.elapsed();
    assert!(full.diagnostics.is_empty() && check_choices(&resolved(&prog, ir)).is_empty());
    println!(
        "from scratch: parse {:.1}, assemble {:.1}, check with tables ({} hovers, {} references) {:.1}, check {:.1}, choices {:.1} ms",
        ms(t_parse),
        ms(t_assemble),
        full.hovers.len(),
        full.references.len(),
        ms(t_full),
        ms(t_diags),
        ms(t_choices)
    );
    let mut phases: [Vec<Duration>; 5] = Default::default();
    // Like the database: the base of each edit is the last version without syntax errors.
    let mut current = text.clone();
    for round in 0..11 {
        let mut new_text = current.clone();
        edit(round, &mut new_text);
        let t = Instant::now();
        let new_parsed = Arc::new(reparse(file, &parsed, &text, &new_text));
        phases[0].push(t.elapsed());
        let t = Instant::now();
        let new_prog = assemble(new_parsed.clone(), &new_text);
        phases[1].push(t.elapsed());
        let t = Instant::now();
        let reuse = Reuse::new(&prog, &new_prog).expect("results can be reused");
        phases[2].push(t.elapsed());
        let t = Instant::now();
        let (_, ir, new_check) = check_diagnostics_resolving(&new_prog, Some((&reuse, &check)));
        phases[3].push(t.elapsed());
        current = new_text.clone();
        if !new_prog.diagnostics.is_empty() {
            continue;
        }
        let t = Instant::now();
        let new_resolved = resolved(&new_prog, ir);
        let (_, new_choices) = check_choices_reusing(&new_resolved, Some((&reuse, &choices)));
        phases[4].push(t.elapsed());
        (text, parsed, prog, check, choices) =
            (new_text, new_parsed, new_prog, new_check, new_choices);
    }
    if phases[4].is_empty() {
        phases[4].push(Duration::ZERO);
    }
    let [reparse, assemble, reuse, check, choices] = phases.map(|p| ms(median(p)));
    println!(
        "{name}: reparse {reparse:.1}, assemble {assemble:.1}, reuse plan {reuse:.1}, check {check:.1}, choices {choices:.1} ms"
    );
}
