//! Roles started by `chor run` end when `chor` ends, however it ends: after `chor` is killed
//! with SIGKILL (a job runner's timeout, the OOM killer), no role process is left behind —
//! for both back ends.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The processes whose executable lies under `dir`.
fn processes_under(dir: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let e = e.ok()?;
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let exe = std::fs::read_link(e.path().join("exe")).ok()?;
            exe.starts_with(dir).then_some(pid)
        })
        .collect()
}

fn wait_until(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    ok()
}

fn roles_end_with_chor(backend: &str) {
    let dir = std::env::temp_dir().join(format!("chor-lifecycle-{backend}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    // The two roles exchange messages forever and never print: nothing but `chor`'s death
    // (no closed pipe) can stop them.
    let src = dir.join("forever.chor");
    std::fs::write(
        &src,
        "choreography Ping(A, B)(n: Int@A) {\n    A.n -> B.m;\n    B.(m + 1) -> A.k;\n    Ping(A, B)(A.k);\n}\n\nchoreography main(A, B) {\n    Ping(A, B)(A.0);\n}\n",
    )
    .expect("write");
    let mut chor = Command::new(env!("CARGO_BIN_EXE_chor"))
        .args(["run", "--backend", backend])
        .arg(&src)
        .env("TMPDIR", &dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chor runs");
    let run_dir: PathBuf = dir.join(format!("chor-run-{}", chor.id()));
    assert!(
        wait_until(Duration::from_secs(120), || processes_under(&run_dir).len()
            == 2),
        "{backend}: the two roles never started under {}",
        run_dir.display()
    );
    let stdin = chor.stdin.take();
    chor.kill().expect("SIGKILL");
    let _ = chor.wait();
    assert!(
        wait_until(Duration::from_secs(10), || processes_under(&run_dir)
            .is_empty()),
        "{backend}: roles {:?} outlived chor",
        processes_under(&run_dir)
    );
    if let Some(mut s) = stdin {
        let _ = s.write_all(b"late\n");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn native_roles_end_when_chor_is_killed() {
    roles_end_with_chor("native");
}

#[test]
fn interpreted_roles_end_when_chor_is_killed() {
    roles_end_with_chor("interp");
}
