//! A loop that branches on an agreed value against the same loop told by selections, both
//! compiled natively and run side by side in one run (`cargo bench -p chor --bench agreed`, or
//! `--profile dev` to skip the release build; `CHOR_BENCH_ROUNDS` sets the rounds; not built by
//! `cargo test`). Prints both wall times and their ratio, after subtracting the start-up
//! and connection set-up of a loop of zero rounds.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::build_native;

/// The loop: `decide` heads the conditional, `more`/`stop` start its branches, `param` and
/// `arg` say where the counter lives.
fn program(decide: &str, more: &str, stop: &str, param: &str, arg: &str, start: &str) -> String {
    format!(
        "choreography Loop(A, B)(n: Int@{param}, a: Int@A, b: Int@B) {{
    if {decide}.n > 0 {{
        {more}
        Loop(A, B)({arg}.(n - 1), A.((a * 7 + n) % 1000003), B.((b * 5 + 1) % 1000003));
    }} else {{
        {stop}
        A.print(a);
        B.print(b);
    }}
}}

choreography main(A, B) {{
    {start}
    Loop(A, B)({arg}.n, A.1, B.1);
}}
"
    )
}

fn agreed(rounds: u64) -> String {
    let start = format!("A.{rounds} -> (A, B).n;");
    program("(A, B)", "", "", "(A, B)", "(A, B)", &start)
}

fn selected(rounds: u64) -> String {
    let start = format!("let A.n = {rounds};");
    program("A", "A -> B[More];", "A -> B[Stop];", "A", "A", &start)
}

/// Runs both roles of a build; returns the wall time and their output.
fn run(out: &Path) -> (Duration, String) {
    let cfg = out.join("deploy.toml");
    let t = Instant::now();
    let children: Vec<_> = ["A", "B"]
        .iter()
        .map(|r| {
            Command::new(out.join(r))
                .arg("--config")
                .arg(&cfg)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("role starts")
        })
        .collect();
    let mut text = String::new();
    for c in children {
        let o = c.wait_with_output().expect("role ends");
        assert!(o.status.success());
        text.push_str(&String::from_utf8_lossy(&o.stdout));
    }
    (t.elapsed(), text)
}

/// The best of `n` runs.
fn best(out: &Path, n: usize) -> (Duration, String) {
    let mut best: Option<(Duration, String)> = None;
    for _ in 0..n {
        let r = run(out);
        if best.as_ref().is_none_or(|b| r.0 < b.0) {
            best = Some(r);
        }
    }
    best.unwrap_or_default()
}

fn main() {
    let rounds: u64 = std::env::var("CHOR_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let dir = std::env::temp_dir().join(format!("chor-bench-agreed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let base = build_native(&dir, "base", &agreed(0));
    let a = build_native(&dir, "agreed", &agreed(rounds));
    let s = build_native(&dir, "selected", &selected(rounds));
    let (t0, _) = best(&base, 3);
    let (ta, out_a) = best(&a, 3);
    let (ts, out_s) = best(&s, 3);
    assert_eq!(out_a, out_s, "both loops compute the same values");
    let ta = ta.saturating_sub(t0);
    let ts = ts.saturating_sub(t0);
    println!("== a loop of {rounds} rounds, native, start-up ({t0:?}) subtracted ==");
    println!("branching on an agreed value (no message per round): {ta:?}");
    println!("told by a selection every round:                      {ts:?}");
    println!(
        "ratio selections / agreed: {:.2}",
        ts.as_secs_f64() / ta.as_secs_f64().max(1e-9)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
