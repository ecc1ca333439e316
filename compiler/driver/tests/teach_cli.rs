//! The teaching commands end to end through the `chor` binary: `chor fmt` (in place, `--check`,
//! several files, syntax errors refused), `chor diagram` (SVG, Mermaid, `--choreography`, `-o`)
//! and `chor simulate --trace --diagram` (one arrow per message that really flowed).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn chor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chor"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("chor runs")
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
        .display()
        .to_string()
}

fn scratch(test: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("teach-cli-{test}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn fmt_check_reports_then_rewrites_in_place() {
    let dir = scratch("fmt");
    let messy = dir.join("messy.chor");
    let tidy = dir.join("tidy.chor");
    let src = "// keep me\nchoreography main(A,B){let A.x=1; // one\nA.x->B.y;B.print(y);}\n";
    std::fs::write(&messy, src).expect("write");
    std::fs::write(&tidy, "choreography main(A) {\n    A.print(1);\n}\n").expect("write");
    let (m, t) = (messy.display().to_string(), tidy.display().to_string());

    let out = chor(&["fmt", "--check", &m, &t]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout).trim(), m, "only the messy file is listed");
    assert_eq!(
        std::fs::read_to_string(&messy).expect("read"),
        src,
        "--check changes nothing"
    );

    let out = chor(&["fmt", &m, &t]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&messy).expect("read"),
        "// keep me\nchoreography main(A, B) {\n    let A.x = 1; // one\n    A.x -> B.y;\n    B.print(y);\n}\n"
    );
    let out = chor(&["fmt", "--check", &m, &t]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).is_empty());
    // No temporary files are left behind.
    let left: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .collect();
    assert_eq!(left.len(), 2);
}

#[test]
fn fmt_refuses_a_file_with_syntax_errors() {
    let dir = scratch("fmt-err");
    let bad = dir.join("bad.chor");
    let src = "choreography main(A, B) {\n    let A.x = ;\n    A.x -> B.y\n}\n";
    std::fs::write(&bad, src).expect("write");
    let out = chor(&["fmt", &bad.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("[E0001] Error: expected an expression"),
        "{err}"
    );
    assert!(err.contains("was not formatted"), "{err}");
    assert_eq!(std::fs::read_to_string(&bad).expect("read"), src);
}

#[test]
fn fmt_check_accepts_the_examples_as_written() {
    for name in [
        "bookseller.chor",
        "kv_store.chor",
        "two_buyer.chor",
        "ping_pong.chor",
    ] {
        let out = chor(&["fmt", "--check", &example(name)]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stdout));
    }
}

#[test]
fn diagram_svg_mermaid_and_errors() {
    let out = chor(&["diagram", &example("bookseller.chor")]);
    assert_eq!(out.status.code(), Some(0));
    let svg = text(&out.stdout);
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert_eq!(svg.matches("class=\"lifeline\"").count(), 2);

    let out = chor(&[
        "diagram",
        &example("ping_pong.chor"),
        "--format",
        "mermaid",
        "--choreography",
        "PingPong",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let m = text(&out.stdout);
    assert!(m.starts_with("sequenceDiagram\n"), "{m}");
    assert!(m.contains("Ping-->>Pong: [Again]"), "{m}");
    assert!(m.contains("Ping->>Pong: n → ball"), "{m}");
    assert!(
        // The recursive call is the next round of PingPong, and says so.
        m.contains("Note over Ping,Pong: ref ↻ next round: PingPong(Ping, Pong)(Ping.next)"),
        "{m}"
    );

    let dir = scratch("diagram");
    let file = dir.join("out.svg");
    let out = chor(&[
        "diagram",
        &example("merge_sort.chor"),
        "-o",
        &file.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert!(
        std::fs::read_to_string(&file)
            .expect("written")
            .contains("ref")
    );

    let out = chor(&[
        "diagram",
        &example("merge_sort.chor"),
        "--choreography",
        "Nope",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no choreography named `Nope` (this file has Sort, main)"));
}

#[test]
fn simulate_trace_diagram_draws_the_messages_that_flowed() {
    let dir = scratch("trace");
    for name in [
        "bookseller",
        "ping_pong",
        "two_buyer",
        "merge_sort",
        "kv_store",
    ] {
        let file = dir.join(format!("{name}.svg"));
        let out = chor(&[
            "simulate",
            &example(&format!("{name}.chor")),
            "--trace",
            "--diagram",
            &file.display().to_string(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        // Trace lines: `A -> B: value` and `A -> B[Label]`; printed lines start with `[`.
        let comms = stdout
            .lines()
            .filter(|l| !l.starts_with('[') && l.contains(": "))
            .count();
        let selects = stdout
            .lines()
            .filter(|l| !l.starts_with('[') && !l.contains(": ") && l.ends_with(']'))
            .count();
        let prints = stdout.lines().filter(|l| l.starts_with('[')).count();
        let svg = std::fs::read_to_string(&file).expect("diagram written");
        assert_eq!(svg.matches("<line class=\"comm\"").count(), comms, "{name}");
        assert_eq!(
            svg.matches("<line class=\"select\"").count(),
            selects,
            "{name}"
        );
        assert_eq!(
            svg.matches("<rect class=\"note\"").count(),
            prints,
            "{name}"
        );
        assert!(comms > 0 && prints > 0, "{name}");
    }
    // The rounds of a recursive procedure are marked: ping_pong's main starts round 1 and
    // each of the five recursive calls starts the next, with no mark for round 1.
    let svg = std::fs::read_to_string(dir.join("ping_pong.svg")).expect("written");
    let rounds: Vec<usize> = (1..=8)
        .filter(|r| svg.contains(&format!("PingPong: round {r}<")))
        .collect();
    assert_eq!(rounds, vec![2, 3, 4, 5, 6], "{svg}");
    assert_eq!(svg.matches("<g class=\"ref\">").count(), 5, "{svg}");
    // The bookseller run: the values and the receiving variables.
    let svg = std::fs::read_to_string(dir.join("bookseller.svg")).expect("written");
    assert!(
        svg.contains("title = &quot;Types and Programming Languages&quot;"),
        "{svg}"
    );
    assert!(svg.contains("price = 87"), "{svg}");
    assert!(svg.contains("[Buy]"), "{svg}");

    let mmd = dir.join("run.mmd");
    let out = chor(&[
        "simulate",
        &example("two_buyer.chor"),
        "--diagram",
        &mmd.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let m = std::fs::read_to_string(&mmd).expect("written");
    assert!(m.contains("Seller->>Buyer1: price = 87"), "{m}");
    assert!(m.contains("Seller->>Buyer2: price = 87"), "{m}");
}
