//! Formatter property test on generated choreographies: for 600 programs from the generator
//! (a quarter of them calling Rust externs) —
//! with comments sprinkled in (line comments at line ends and on lines of their own, block
//! comments between tokens) and layout scrambled — formatting keeps the syntax tree (modulo
//! spans) and every comment in order, is idempotent, and the formatted program still passes the
//! knowledge-of-choice check and prints the same output.

mod common;

use chor_check::program::from_source;
use chor_diagnostics::FileId;
use chor_teach::fmt::{comment_texts, format_source, same_ast};
use common::generate::{Rng, program, program_with_externs};

/// Add comments and change whitespace without changing the program.
fn scramble(src: &str, seed: u64) -> String {
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut out = String::new();
    let mut n = 0;
    for line in src.lines() {
        if rng.chance(10) {
            n += 1;
            out.push_str(&format!("// own line {n}\n"));
        }
        let mut in_str = false;
        let mut prev = '\0';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            }
            if c == ' ' && !in_str {
                match rng.below(40) {
                    0 => {
                        n += 1;
                        out.push_str(&format!(" /* b{n} */ "));
                    }
                    1 => out.push_str("  "),
                    2 => out.push('\n'),
                    _ => out.push(' '),
                }
            } else {
                out.push(c);
            }
            prev = c;
        }
        if rng.chance(15) {
            n += 1;
            out.push_str(&format!(" // end {n}"));
        }
        out.push('\n');
        if rng.chance(5) {
            out.push('\n');
        }
    }
    out
}

#[test]
fn formatting_generated_programs_keeps_meaning_and_comments_and_is_idempotent() {
    for seed in 0..600u64 {
        // A quarter with extern declarations and calls (never among the simulated ones below,
        // which would need their crate).
        let plain = if seed % 4 == 1 {
            program_with_externs(seed)
        } else {
            program(seed)
        };
        let src = if seed % 2 == 0 {
            plain.clone()
        } else {
            scramble(&plain, seed)
        };
        let a = chor_syntax::parse(FileId(0), &src);
        assert!(
            a.errors.is_empty(),
            "seed {seed}: scrambling broke the program\n{src}"
        );
        let once =
            format_source(FileId(0), &src).unwrap_or_else(|d| panic!("seed {seed}: {d:#?}\n{src}"));
        let b = chor_syntax::parse(FileId(0), &once);
        assert!(b.errors.is_empty(), "seed {seed}: {:#?}\n{once}", b.errors);
        assert!(
            same_ast(&a.file, &b.file),
            "seed {seed}: tree changed\n{src}\n---\n{once}"
        );
        assert_eq!(
            comment_texts(&a.comments),
            comment_texts(&b.comments),
            "seed {seed}"
        );
        let twice = format_source(FileId(0), &once).expect("formats again");
        assert_eq!(once, twice, "seed {seed}: not idempotent\n{src}");
        if seed % 2 == 0 {
            // Generated programs are already laid out canonically, apart from blank lines.
            assert!(
                once.lines().all(|l| l.len() == l.trim_end().len()),
                "seed {seed}"
            );
        }
        if seed % 20 == 0 {
            let p1 = from_source("a.chor", &src, vec![]);
            let p2 = from_source("b.chor", &once, vec![]);
            assert!(chor_project::check_choices(&p2).is_empty(), "seed {seed}");
            // Generated programs draw seeded random numbers: both runs get the same seed.
            let seeded = Some(seed as i64);
            let (out1, r1) = chor_driver::simulate_capture_seeded(&p1, vec![], seeded);
            let (out2, r2) = chor_driver::simulate_capture_seeded(&p2, vec![], seeded);
            assert_eq!((out1, r1.is_ok()), (out2, r2.is_ok()), "seed {seed}");
        }
    }
}
