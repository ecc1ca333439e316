//! The cost of calling a Rust extern, printed as a ratio measured in one run (`cargo bench -p
//! chor --bench externs`; not built by `cargo test`): a loop calling an extern that adds two
//! Ints vs the same loop calling a local chor function, in native code (`chor run`) and under
//! `chor simulate`. Start-up (build, cargo's check that the crate is built, process start) is
//! measured with a loop of zero iterations and subtracted.

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

fn main() {
    let dir = project();
    // The first run builds the crate.
    time(&dir, "simulate", "add", 0);
    for (cmd, n) in [("run", 2_000_000), ("simulate", 200_000)] {
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
    }
    let _ = std::fs::remove_dir_all(&dir);
}
