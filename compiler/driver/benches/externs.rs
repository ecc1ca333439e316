//! The cost of calling a Rust extern, printed as ratios measured in one run (`cargo bench -p
//! chor --bench externs`; not built by `cargo test`): a loop calling an extern that adds two
//! Ints vs the same loop calling a local chor function (inlined by code generation, and one
//! too big to inline, so called: labelled "not inlined"; it adds `a + b` too, behind a test
//! of `a < 0` that is never true, since small leaves are inlined at any depth) and vs the loop in
//! Rust (`rustc -O`) calling a function that is never inlined, in native code (executables
//! built once and run directly; start-up measured with a loop of zero iterations and
//! subtracted), and the extern vs the local function under `chor simulate` (start-up: build,
//! cargo's check that the crate is built, process start; also subtracted). Last, what an
//! already built extern crate adds to `chor build`: the program with the extern vs the same
//! program calling the local function, best of five builds each.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn project() -> PathBuf {
    let d = std::env::temp_dir().join(format!("chor-bench-externs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("src")).expect("mkdir");
    std::fs::create_dir_all(d.join("native/src")).expect("mkdir");
    let w = |p: &str, t: &str| std::fs::write(d.join(p), t).expect("write");
    w(
        "chor.toml",
        "[package]\nname = \"bench\"\n\n[extern]\ncrate = \"native\"\n",
    );
    w(
        "native/Cargo.toml",
        "[package]\nname = \"native\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    );
    w(
        "native/src/lib.rs",
        "pub fn add(a: i64, b: i64) -> i64 { a.wrapping_add(b) }\n",
    );
    w("src/main.chor", &program("add", 0));
    d
}

fn program(call: &str, n: u64) -> String {
    format!(
        "extern fn add(a: Int, b: Int) -> Int;\n\
         fn plus(a: Int, b: Int) -> Int {{ a + b }}\n\
         fn far2(a: Int, b: Int) -> Int {{ if a < 0 {{ (a - 1) * 2 + (b - 1) * 3 + (a + b) * 5 + (a - b) * 7 + a * b }} else {{ a + b }} }}\n\
         fn far1(a: Int, b: Int) -> Int {{ far2(a, b) }}\n\
         fn far0(a: Int, b: Int) -> Int {{ far1(a, b) }}\n\
         fn sum(i: Int, n: Int, acc: Int) -> Int {{ if i == n {{ acc }} else {{ sum(i + 1, n, {call}(acc, i)) }} }}\n\
         choreography main(A) {{ A.print(sum(0, {n}, 0)); }}\n"
    )
}

/// Best of three wall-clock times of `chor CMD` on the program.
fn time(dir: &Path, cmd: &str, call: &str, n: u64) -> Duration {
    let file = dir.join("src").join(format!("{call}_{n}.chor"));
    std::fs::write(&file, program(call, n)).expect("write");
    (0..3)
        .map(|_| {
            let t = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_chor"))
                .current_dir(dir)
                .arg(cmd)
                .arg(&file)
                .output()
                .expect("chor runs");
            let e = t.elapsed();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let want = format!("[A] {}\n", (n * n.saturating_sub(1)) / 2);
            assert_eq!(String::from_utf8_lossy(&out.stdout), want);
            e
        })
        .min()
        .unwrap_or_default()
}

/// Builds the program natively in the project; returns the directory of the executables.
fn build_native(dir: &Path, call: &str, n: u64) -> PathBuf {
    let file = dir.join("src").join(format!("{call}_{n}.chor"));
    std::fs::write(&file, program(call, n)).expect("write");
    let out = dir.join(format!("out-{call}-{n}"));
    let o = Command::new(env!("CARGO_BIN_EXE_chor"))
        .current_dir(dir)
        .args(["build", "-o"])
        .arg(&out)
        .arg(&file)
        .output()
        .expect("chor runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// One wall-clock time of the role executable (start-up included).
fn run_native(out: &Path, n: u64) -> Duration {
    let t = Instant::now();
    let o = Command::new(out.join("A"))
        .arg("--config")
        .arg(out.join("deploy.toml"))
        .output()
        .expect("role runs");
    let e = t.elapsed();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = format!("{}\n", (n * n.saturating_sub(1)) / 2);
    assert_eq!(String::from_utf8_lossy(&o.stdout), want);
    e
}

/// Best of nine times of each executable, run in turns (each round runs every one once),
/// so that a change in the machine's load falls on all of them alike.
fn run_in_turns(exes: &[(PathBuf, u64)]) -> Vec<Duration> {
    let mut best = vec![Duration::MAX; exes.len()];
    for _ in 0..9 {
        for (b, (out, n)) in best.iter_mut().zip(exes) {
            *b = (*b).min(run_native(out, *n));
        }
    }
    best
}

/// The same loop in Rust compiled with `rustc -O`, calling a function that is never inlined
/// (a direct call, as across a library boundary): nanoseconds per call, timed in-process.
fn rust_direct_ns(dir: &Path, n: u64) -> f64 {
    let src = dir.join("direct.rs");
    std::fs::write(
        &src,
        "#[inline(never)]\nfn add(a: i64, b: i64) -> i64 { a.wrapping_add(b) }\n\
         fn main() {\n    let n: i64 = std::env::args().nth(1).unwrap().parse().unwrap();\n    \
         let t = std::time::Instant::now();\n    let mut acc = 0i64;\n    \
         for i in 0..std::hint::black_box(n) { acc = add(acc, i); }\n    \
         let e = t.elapsed();\n    println!(\"{acc}\");\n    eprintln!(\"{}\", e.as_nanos());\n}\n",
    )
    .expect("write");
    let exe = dir.join("direct");
    let st = Command::new("rustc")
        .args(["-O", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .expect("rustc runs");
    assert!(st.success());
    (0..7)
        .map(|_| {
            let o = Command::new(&exe)
                .arg(n.to_string())
                .output()
                .expect("runs");
            let ns: f64 = String::from_utf8_lossy(&o.stderr)
                .trim()
                .parse()
                .unwrap_or(0.0);
            ns / n as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let dir = project();
    // The first run builds the crate.
    time(&dir, "simulate", "add", 0);
    // Native: executables built once, run directly; start-up measured with zero iterations.
    let n = 20_000_000;
    let calls = ["add", "plus", "far0"];
    let exes: Vec<(PathBuf, u64)> = calls
        .iter()
        .flat_map(|c| [(build_native(&dir, c, 0), 0), (build_native(&dir, c, n), n)])
        .collect();
    let times = run_in_turns(&exes);
    let per_call: Vec<f64> = times
        .chunks(2)
        .map(|t| t[1].saturating_sub(t[0]).as_secs_f64() * 1e9 / n as f64)
        .collect();
    let rust = rust_direct_ns(&dir, n);
    let build_ext = (0..5)
        .map(|_| {
            let t = Instant::now();
            build_native(&dir, "add", n);
            t.elapsed()
        })
        .min()
        .unwrap_or_default();
    let build_local = (0..5)
        .map(|_| {
            let t = Instant::now();
            build_native(&dir, "plus", n);
            t.elapsed()
        })
        .min()
        .unwrap_or_default();
    println!(
        "{n} calls natively: extern add {:.2} ns/call, local chor fn {:.2} ns/call (inlined), \
         local chor fn {:.2} ns/call (not inlined), rustc -O direct call {:.2} ns/call; \
         extern vs local (inlined) {:.2}x, extern vs local (not inlined) {:.2}x, \
         extern vs rustc {:.2}x",
        per_call[0],
        per_call[1],
        per_call[2],
        rust,
        per_call[0] / per_call[1].max(1e-3),
        per_call[0] / per_call[2].max(1e-3),
        per_call[0] / rust,
    );
    println!(
        "chor build with the extern crate already built: {:.0} ms, without an extern: {:.0} ms \
         (the extern adds {:.0} ms)",
        build_ext.as_secs_f64() * 1e3,
        build_local.as_secs_f64() * 1e3,
        build_ext.saturating_sub(build_local).as_secs_f64() * 1e3,
    );
    let (cmd, n) = ("simulate", 200_000u64);
    let base_extern = time(&dir, cmd, "add", 0);
    let base_local = time(&dir, cmd, "plus", 0);
    let ext = time(&dir, cmd, "add", n).saturating_sub(base_extern);
    let local = time(&dir, cmd, "plus", n).saturating_sub(base_local);
    let per = |d: Duration| d.as_secs_f64() * 1e9 / n as f64;
    // A local loop that finishes within the start-up's noise has no meaningful ratio.
    let ratio = if local < Duration::from_millis(5) {
        "not measurable: the local loop is within start-up noise".to_string()
    } else {
        format!("{:.2}x", ext.as_secs_f64() / local.as_secs_f64())
    };
    println!(
        "{n} calls under chor {cmd}: extern add {:.0} ns/call, local fn {:.1} ns/call, \
         ratio {ratio} (start-up {:.0} ms / {:.0} ms subtracted)",
        per(ext),
        per(local),
        base_extern.as_secs_f64() * 1e3,
        base_local.as_secs_f64() * 1e3,
    );
    let _ = std::fs::remove_dir_all(&dir);
}
