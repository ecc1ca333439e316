//! Differential tests: the projected programs, run concurrently, print exactly what the global
//! reference interpreter prints, role by role, and never deadlock — on every example and on
//! thousands of generated choreographies.

mod common;

use chor_check::program::from_source;
use common::{by_role, examples, parse_expected};
use std::time::Duration;

#[test]
fn examples_simulate_and_project_to_expected_output() {
    let files = examples();
    assert!(
        files.len() >= 8,
        "expected at least 8 examples, found {}",
        files.len()
    );
    for path in files {
        let src = std::fs::read_to_string(&path).expect("readable");
        let expected_path = path.with_extension("expected");
        let expected = parse_expected(
            &std::fs::read_to_string(&expected_path).expect("every example has a .expected file"),
        );
        let prog = from_source(&path.display().to_string(), &src, vec![]);
        assert!(
            !prog.diagnostics.iter().any(|d| d.is_error()),
            "{}: {:?}",
            path.display(),
            prog.diagnostics
        );
        let koc = chor_project::check_choices(&prog);
        assert!(koc.is_empty(), "{}: {koc:#?}", path.display());
        let (lines, r) = chor_driver::simulate_capture(&prog, vec![]);
        assert_eq!(r, Ok(()), "{}", path.display());
        assert_eq!(by_role(&lines), expected, "simulate {}", path.display());
        let (lines, r) = chor_driver::run_projected_capture(&prog, vec![], Duration::from_secs(20))
            .expect("projects");
        assert_eq!(r, Ok(()), "{}", path.display());
        assert_eq!(
            by_role(&lines),
            expected,
            "projected run {}",
            path.display()
        );
    }
}

fn differential(seed: u64) {
    let src = common::generate::program(seed);
    let prog = from_source("gen.chor", &src, vec![]);
    let errors: Vec<_> = prog.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(
        errors.is_empty(),
        "seed {seed}: generator made a bad program: {errors:?}\n{src}"
    );
    let koc = chor_project::check_choices(&prog);
    assert!(
        koc.is_empty(),
        "seed {seed}: knowledge of choice rejected a generated program: {koc:#?}\n{src}"
    );
    let (global, r1) = chor_driver::simulate_capture(&prog, vec![]);
    assert_eq!(r1, Ok(()), "seed {seed}: simulate failed\n{src}");
    let (local, r2) = chor_driver::run_projected_capture(&prog, vec![], Duration::from_secs(10))
        .unwrap_or_else(|d| panic!("seed {seed}: projection failed {d:#?}\n{src}"));
    assert_eq!(
        r2,
        Ok(()),
        "seed {seed}: projected run failed (deadlock?)\n{src}"
    );
    assert_eq!(
        by_role(&global),
        by_role(&local),
        "seed {seed}: outputs differ\n{src}"
    );
}

/// How many generated programs the differential test checks (override with CHOR_DIFF_CASES).
fn cases() -> u64 {
    std::env::var("CHOR_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000)
}

#[test]
fn generated_programs_agree() {
    let n = cases();
    for seed in 0..n {
        differential(seed);
    }
    eprintln!("differential: {n} generated programs agree");
}

#[test]
fn generator_makes_varied_programs() {
    let mut with_if = 0;
    let mut with_relay = 0;
    let mut with_multicast = 0;
    for seed in 0..200 {
        let p = common::generate::program(seed);
        with_if += usize::from(p.contains("\n    if "));
        with_relay += usize::from(p.matches("[Yes]").count() > 2);
        with_multicast += usize::from(p.lines().any(|l| l.contains(") -> ") && l.contains(", ")));
    }
    assert!(with_if > 50, "{with_if}");
    assert!(with_relay > 20, "{with_relay}");
    assert!(with_multicast > 20, "{with_multicast}");
}

#[test]
fn a_million_rounds_of_ping_pong_run_in_bounded_memory() {
    // The tail call projects to a loop in both interpreters: no stack or memory growth.
    let src = r#"
choreography Loop(A, B)(n: Int@A) {
    if A.n > 0 {
        A -> B[Go];
        A.n -> B.m;
        B.(m - 1) -> A.k;
        Loop(A, B)(A.k);
    } else {
        A -> B[Stop];
        B.print("done");
    }
}
choreography main(Ping, Pong) {
    Loop(Ping, Pong)(Ping.1000000);
}
"#;
    let prog = from_source("loop.chor", src, vec![]);
    assert!(prog.diagnostics.is_empty(), "{:?}", prog.diagnostics);
    let before = resident_kb();
    let (lines, r) = chor_driver::run_projected_capture(&prog, vec![], Duration::from_secs(60))
        .expect("projects");
    assert_eq!(r, Ok(()));
    assert_eq!(lines, vec![("Pong".to_owned(), "done".to_owned())]);
    if let (Some(b), Some(a)) = (before, resident_kb()) {
        assert!(
            a < b + 200_000,
            "resident memory grew from {b} kB to {a} kB"
        );
    }
}

fn resident_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn generator_covers_match_and_structured_messages() {
    let progs: Vec<String> = (0..200).map(common::generate::program).collect();
    assert!(progs.iter().filter(|p| p.contains("match ")).count() > 30);
    assert!(progs.iter().filter(|p| p.contains("Some(\"q")).count() > 30);
}

#[test]
fn generated_programs_agree_as_processes_over_tcp() {
    // The whole deployment path: role executables, TCP, the wire codec.
    let dir = std::env::temp_dir().join(format!("chor-diff-tcp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    for seed in 5000..5012 {
        let src = common::generate::program(seed);
        let prog = from_source("gen.chor", &src, vec![]);
        let (global, r) = chor_driver::simulate_capture(&prog, vec![]);
        assert_eq!(r, Ok(()), "seed {seed}");
        let file = dir.join(format!("gen{seed}.chor"));
        std::fs::write(&file, &src).expect("write");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_chor"))
            .arg("run")
            .arg(&file)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("chor run");
        assert!(
            out.status.success(),
            "seed {seed}: {}\n{src}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix('['))
            .filter_map(|l| l.split_once("] "))
            .map(|(r, l)| (r.to_owned(), l.to_owned()))
            .collect();
        assert_eq!(by_role(&lines), by_role(&global), "seed {seed}\n{src}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
