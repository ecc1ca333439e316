//! Roles started by `chor run` end when `chor` ends, however it ends: after `chor` is killed
//! with SIGKILL (a job runner's timeout, the OOM killer), SIGTERM or SIGINT, no role process
//! is left behind, and after SIGTERM and SIGINT no build directory either (after SIGKILL the
//! next `chor run` removes it) — for both back ends. A role killed during a run is reported
//! as the root cause, followed by where each other role was waiting when it lost it.

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

/// Three roles in an endless exchange through C: A and B wait on C, C on A and B.
const ROUNDS: &str = "choreography Rounds(A, B, C)(n: Int@C) {
    if C.n > 0 {
        C -> A, B[More];
        C.n -> A.x, B.y;
        A.x -> C.a;
        B.y -> C.b;
        Rounds(A, B, C)(C.(a + b - n - 1));
    } else {
        C -> A, B[Done];
    }
}

choreography main(A, B, C) {
    Rounds(A, B, C)(C.1000000000);
}
";

/// A fresh directory for `chor run`'s temporary files, with ROUNDS in it.
fn rounds_dir(name: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("chor-lifecycle-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let src = dir.join("rounds.chor");
    std::fs::write(&src, ROUNDS).expect("write");
    (dir, src)
}

/// `chor run` of `src` with its temporary files in `dir`, stderr piped.
fn start_run(backend: &str, dir: &Path, src: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_chor"))
        .args(["run", "--backend", backend])
        .arg(src)
        .env("TMPDIR", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chor runs")
}

/// The pid of the role process `role` under `run_dir`, once all `n` roles run.
fn role_pid(run_dir: &Path, role: &str, n: usize) -> u32 {
    let exe = run_dir.join(role);
    let mut found = None;
    assert!(
        wait_until(Duration::from_secs(120), || {
            let pids = processes_under(run_dir);
            found = pids
                .iter()
                .copied()
                .find(|p| std::fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|e| e == exe));
            pids.len() == n && found.is_some()
        }),
        "the roles never started under {}",
        run_dir.display()
    );
    found.expect("found")
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(ok.success(), "kill -{sig} {pid}");
}

/// Waits for `chor` with a deadline (killing it on timeout, so a hang fails the test).
fn finish(mut c: std::process::Child, limit: Duration) -> std::process::Output {
    let ended = wait_until(limit, || matches!(c.try_wait(), Ok(Some(_))));
    if !ended {
        let _ = c.kill();
    }
    let out = c.wait_with_output().expect("output");
    assert!(
        ended,
        "chor run still runs after {limit:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn killed_role_is_the_root_cause(backend: &str) {
    let (dir, src) = rounds_dir(&format!("killed-{backend}"));
    let chor = start_run(backend, &dir, &src);
    let run_dir = dir.join(format!("chor-run-{}", chor.id()));
    let b = role_pid(&run_dir, "B", 3);
    // Let the exchange run for a moment: B dies in the middle of it.
    std::thread::sleep(Duration::from_millis(300));
    signal(b, "KILL");
    let out = finish(chor, Duration::from_secs(30));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{backend}: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("error: role B was killed by signal 9 (SIGKILL)"),
        "{backend}: the killed role comes first: {err}"
    );
    // C talks with B: it names B and the line it was at; A talks only with C.
    let c = lines
        .iter()
        .find(|l| l.starts_with("error: role C: "))
        .unwrap_or_else(|| panic!("{backend}: no error from C: {err}"));
    assert!(
        c.contains("peer B disconnected while C was") && c.contains(" at rounds.chor:"),
        "{backend}: {c}"
    );
    let a = lines
        .iter()
        .find(|l| l.starts_with("error: role A: "))
        .unwrap_or_else(|| panic!("{backend}: no error from A: {err}"));
    assert!(
        a.contains("peer C disconnected while A was") && a.contains(" at rounds.chor:"),
        "{backend}: {a}"
    );
    assert!(!err.contains("panicked"), "{backend}: {err}");
    assert!(
        processes_under(&run_dir).is_empty() && !run_dir.exists(),
        "{backend}: roles or files left behind"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_killed_native_role_is_reported_before_the_roles_that_lost_it() {
    killed_role_is_the_root_cause("native");
}

#[test]
fn a_killed_interpreted_role_is_reported_before_the_roles_that_lost_it() {
    killed_role_is_the_root_cause("interp");
}

/// `chor run` ended by `sig` takes its roles and its build directory with it, and ends by
/// that signal; a directory that a `chor run` killed earlier left is removed too.
fn chor_ends_cleanly_on(backend: &str, sig: &str, signo: i32) {
    use std::os::unix::process::ExitStatusExt;
    let (dir, src) = rounds_dir(&format!("{sig}-{backend}"));
    // Left by a `chor run` killed long ago (a process that no longer exists).
    let dead = Command::new("true").spawn().expect("true");
    let dead_pid = dead.id();
    let _ = { dead }.wait();
    let stale = dir.join(format!("chor-run-{dead_pid}"));
    std::fs::create_dir_all(&stale).expect("stale dir");
    let long_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::open(&stale)
        .and_then(|f| f.set_modified(long_ago))
        .expect("age the stale dir");
    let chor = start_run(backend, &dir, &src);
    let run_dir = dir.join(format!("chor-run-{}", chor.id()));
    role_pid(&run_dir, "A", 3);
    assert!(
        !stale.exists(),
        "{backend}: the stale directory is still there"
    );
    signal(chor.id(), sig);
    let out = finish(chor, Duration::from_secs(30));
    assert_eq!(out.status.signal(), Some(signo), "{backend} {sig}: {out:?}");
    assert!(
        wait_until(Duration::from_secs(10), || processes_under(&run_dir)
            .is_empty()),
        "{backend} {sig}: roles {:?} outlived chor",
        processes_under(&run_dir)
    );
    assert!(
        !run_dir.exists(),
        "{backend} {sig}: {} is left behind",
        run_dir.display()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn native_roles_and_files_end_with_chor_on_sigterm_and_sigint() {
    chor_ends_cleanly_on("native", "TERM", 15);
    chor_ends_cleanly_on("native", "INT", 2);
}

#[test]
fn interpreted_roles_and_files_end_with_chor_on_sigterm() {
    chor_ends_cleanly_on("interp", "TERM", 15);
}

/// A role stopped with SIGSTOP would never end, and `chor run` would wait for it for ever
/// after its peers gave up on it: `chor run` ends it once a peer has timed out on it, and
/// reports it first.
fn stopped_role_is_ended(backend: &str) {
    let (dir, _) = rounds_dir(&format!("stopped-{backend}"));
    let project = dir.join("project");
    std::fs::create_dir_all(project.join("src")).expect("project");
    std::fs::write(
        project.join("chor.toml"),
        "[package]\nname = \"stopped\"\n[deploy]\nidle_timeout_ms = 1000\n",
    )
    .expect("chor.toml");
    std::fs::write(project.join("src/main.chor"), ROUNDS).expect("main.chor");
    let chor = Command::new(env!("CARGO_BIN_EXE_chor"))
        .args(["run", "--backend", backend])
        .current_dir(&project)
        .env("TMPDIR", &dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chor runs");
    let run_dir = dir.join(format!("chor-run-{}", chor.id()));
    let b = role_pid(&run_dir, "B", 3);
    std::thread::sleep(Duration::from_millis(300));
    signal(b, "STOP");
    let out = finish(chor, Duration::from_secs(30));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{backend}: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(
            "error: role B stopped responding (a peer heard nothing from it for the idle \
             timeout), so chor run ended it"
        ),
        "{backend}: {err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("error: role C: timed out after 1000 ms")
                && l.contains(" peer B at main.chor:")),
        "{backend}: {err}"
    );
    assert!(
        processes_under(&run_dir).is_empty() && !run_dir.exists(),
        "{backend}: roles or files left behind"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stopped_native_role_is_ended_once_its_peers_gave_up_on_it() {
    stopped_role_is_ended("native");
}

#[test]
fn a_stopped_interpreted_role_is_ended_once_its_peers_gave_up_on_it() {
    stopped_role_is_ended("interp");
}

/// A and C exchange messages for ever; B waits for A's message after that exchange.
const BYSTANDER: &str = "choreography Ping(A, C)(n: Int@A) {
    A.n -> C.m;
    C.(m + 1) -> A.k;
    Ping(A, C)(A.k);
}

choreography main(A, B, C) {
    Ping(A, C)(A.0);
    A.1 -> B.x;
    B.print(x);
}
";

/// A role stopped with SIGSTOP whose peers end for another reason before timing out on it
/// (here A is killed: C loses A at once) is all that is left of a failed run: `chor run`
/// ends it and says so after the root cause.
#[test]
fn a_stopped_role_is_ended_once_the_run_has_failed() {
    let (dir, _) = rounds_dir("bystander");
    let src = dir.join("bystander.chor");
    std::fs::write(&src, BYSTANDER).expect("write");
    let chor = start_run("native", &dir, &src);
    let run_dir = dir.join(format!("chor-run-{}", chor.id()));
    let b = role_pid(&run_dir, "B", 3);
    let a = role_pid(&run_dir, "A", 3);
    signal(b, "STOP");
    signal(a, "KILL");
    let out = finish(chor, Duration::from_secs(30));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error: role A was killed by signal 9 (SIGKILL)\n"),
        "{err}"
    );
    assert!(
        err.contains("error: role C: peer A disconnected while C was"),
        "{err}"
    );
    assert!(
        err.contains(
            "error: role B was stopped (SIGSTOP) when the run failed, so chor run ended it\n"
        ),
        "{err}"
    );
    assert!(processes_under(&run_dir).is_empty() && !run_dir.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// B fails at once; A then waits for a line of input that never comes (`chor`'s standard
/// input stays open), so the run waits for its user.
const FAILS_WHILE_A_READS: &str = "choreography main(A, B) {
    let B.z = 0;
    B.print(10 / z);
    let A.l = io::read_line();
    A.l -> B.m;
    B.print(m);
}
";

/// A run that waits for input after a role failed is ended by its user (SIGTERM here; Ctrl-C
/// is SIGINT): the failed role's error, kept for the report, is printed rather than lost.
fn a_kept_error_is_printed_when_chor_run_is_ended(backend: &str) {
    let dir = std::env::temp_dir().join(format!(
        "chor-lifecycle-kept-{backend}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    // A short idle timeout: the failed role lingers (its peers may still read its last
    // messages) for that long at most, then exits.
    std::fs::write(
        dir.join("chor.toml"),
        "[package]\nname = \"kept\"\nentry = \"prog.chor\"\n\n[deploy]\nidle_timeout_ms = 300\n",
    )
    .expect("write");
    let src = dir.join("prog.chor");
    std::fs::write(&src, FAILS_WHILE_A_READS).expect("write");
    let mut chor = Command::new(env!("CARGO_BIN_EXE_chor"))
        .args(["run", "--backend", backend])
        .arg(&src)
        .env("TMPDIR", &dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chor runs");
    let stdin = chor.stdin.take();
    let run_dir = dir.join(format!("chor-run-{}", chor.id()));
    let a = role_pid(&run_dir, "A", 2);
    // B has failed and exited; A still waits for its input.
    assert!(
        wait_until(Duration::from_secs(20), || processes_under(&run_dir)
            == vec![a]),
        "{backend}: B did not end on its own"
    );
    signal(chor.id(), "TERM");
    let out = finish(chor, Duration::from_secs(20));
    drop(stdin);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.starts_with("error: role B: ")
            && err.contains("division by zero")
            && err.contains("prog.chor:3"),
        "{backend}: the failed role's error was lost: {err:?}"
    );
    assert!(
        wait_until(Duration::from_secs(10), || processes_under(&run_dir)
            .is_empty()),
        "{backend}: roles outlived chor"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn native_kept_error_is_printed_when_chor_run_is_ended() {
    a_kept_error_is_printed_when_chor_run_is_ended("native");
}

#[test]
fn interpreted_kept_error_is_printed_when_chor_run_is_ended() {
    a_kept_error_is_printed_when_chor_run_is_ended("interp");
}
