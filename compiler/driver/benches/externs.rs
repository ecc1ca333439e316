//! The cost of calling a Rust extern, printed as a ratio measured in one run (`cargo bench -p
//! chor --bench externs`; not built by `cargo test`): a loop calling an extern that adds two
//! Ints vs the same loop calling a local chor function, under `chor simulate` (the back end
//! that runs externs today). Start-up (including cargo's check that the crate is built) is
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

/// Best of three wall-clock times of `chor simulate` on the program.
fn time(dir: &Path, call: &str, n: u64) -> Duration {
    let file = dir.join("src").join(format!("{call}_{n}.chor"));
    std::fs::write(&file, program(call, n)).expect("write");
    (0..3)
        .map(|_| {
            let t = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_chor"))
                .current_dir(dir)
                .arg("simulate")
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
    let n = 200_000;
    // The first run builds the crate.
    time(&dir, "add", 0);
    let base_extern = time(&dir, "add", 0);
    let base_local = time(&dir, "plus", 0);
    let ext = time(&dir, "add", n).saturating_sub(base_extern);
    let local = time(&dir, "plus", n).saturating_sub(base_local);
    println!(
        "{n} calls under chor simulate: extern add {:.1} ms, local fn {:.1} ms, ratio {:.2}x \
         (start-up {:.0} ms / {:.0} ms subtracted)",
        ext.as_secs_f64() * 1e3,
        local.as_secs_f64() * 1e3,
        ext.as_secs_f64() / local.as_secs_f64().max(1e-9),
        base_extern.as_secs_f64() * 1e3,
        base_local.as_secs_f64() * 1e3,
    );
    let _ = std::fs::remove_dir_all(&dir);
}
