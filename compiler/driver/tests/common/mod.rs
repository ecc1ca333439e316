//! Shared helpers for the driver's integration tests (each test binary uses a part of them).
#![allow(dead_code)]

pub mod deep;
pub mod generate;
pub mod netns;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `chor` binary of this build.
pub fn chor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chor"))
}

/// Runs `chor ARGS` in `dir`.
pub fn chor_in(dir: &Path, args: &[&str]) -> Output {
    chor()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("chor runs")
}

/// Bytes a process wrote, as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts that the process succeeded, showing `what` and its standard error if it did not;
/// returns its standard output.
#[track_caller]
pub fn ok(out: &Output, what: impl std::fmt::Display) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}",
        out.status,
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// A count of generated cases: the environment variable `var` when set to a number (a longer
/// or shorter run), `default` otherwise.
pub fn env_count(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// `chor build` of `src`, written to `dir/prog.chor`, into `dir/build`; returns that folder
/// (role executables and the loopback deploy.toml).
pub fn build_in(dir: &Path, src: &str) -> PathBuf {
    let file = dir.join("prog.chor");
    std::fs::write(&file, src).expect("write");
    let out = dir.join("build");
    let o = chor()
        .arg("build")
        .arg(&file)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("chor build");
    ok(&o, "chor build");
    out
}

/// A fresh, empty directory under the system's temporary directory, named for the test
/// binary's process so that parallel runs do not meet.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("chor-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Returns in every branch of tail conditionals (nested, `else if`, `match` with payloads), in
/// a recursive procedure with rotated roles, and results used by other roles afterwards; its
/// output is [`tail_returns_output`].
pub const TAIL_RETURNS: &str = r#"
enum Reply { Accept(Int), Reject, Later(String) }

choreography Sign(A, B)(n: Int@A) -> Int@B {
    A.n -> B.n;
    if B.n < 0 {
        B -> A[Neg];
        return B.(-1);
    } else if B.n == 0 {
        B -> A[Zero];
        return B.0;
    } else {
        B -> A[Pos];
        match B.n {
            1 => { return B.1; },
            _ => {
                if B.n > 100 { return B.100; } else { B.print("small"); return B.2; }
            },
        }
    }
}

choreography Decide(A, B)(r: Reply@A) -> Int@A {
    match A.r {
        Accept(n) => { A -> B[Yes]; A.n -> B.n; B.(n + 1) -> A.m; return A.m; },
        Reject => { A -> B[No]; return A.0; },
        Later(why) => { A -> B[Wait]; A.print(why); return A.(-1); },
    }
}

choreography Sum(A, B, C)(n: Int@A) -> Int@A {
    if A.n <= 0 {
        A -> B, C[Done];
        C.print("base");
        return A.0;
    } else {
        A -> B, C[More];
        A.(n - 1) -> B.m;
        let B.r = Sum(B, C, A)(B.m);
        B.(r + 1) -> A.s, C.s;
        C.print("level " ++ to_string(s));
        return A.(s + n);
    }
}

choreography main(A, B, C) {
    let B.s1 = Sign(A, B)(A.5);
    let B.s2 = Sign(A, B)(A.0);
    let B.s3 = Sign(A, B)(A.(-7));
    let B.s4 = Sign(A, B)(A.1);
    let B.s5 = Sign(A, B)(A.500);
    B.[s1, s2, s3, s4, s5] -> C.signs;
    C.print(signs);
    let A.d1 = Decide(A, B)(A.Accept(4));
    let A.d2 = Decide(A, B)(A.Reject);
    let A.d3 = Decide(A, B)(A.Later("soon"));
    A.[d1, d2, d3] -> B.ds;
    B.print(ds);
    let A.t = Sum(A, B, C)(A.4);
    A.t -> C.t;
    C.print("sum " ++ to_string(t));
}
"#;

/// What [`TAIL_RETURNS`] prints, role by role (worked out by hand from the program).
pub fn tail_returns_output() -> BTreeMap<String, Vec<String>> {
    [
        ("A", vec!["soon", "base", "level 6"]),
        ("B", vec!["small", "[5, 0, -1]", "level 3"]),
        (
            "C",
            vec!["[2, 0, -1, 1, 100]", "level 1", "level 10", "sum 14"],
        ),
    ]
    .into_iter()
    .map(|(r, ls)| (r.to_owned(), ls.into_iter().map(str::to_owned).collect()))
    .collect()
}

/// Group `(role, line)` output by role, keeping each role's order.
pub fn by_role(lines: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (r, l) in lines {
        m.entry(r.clone()).or_default().push(l.clone());
    }
    m
}

/// Parse an `.expected` file of `[Role] line` lines.
pub fn parse_expected(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut pairs = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('[') {
            if let Some((role, l)) = rest.split_once("] ") {
                pairs.push((role.to_owned(), l.to_owned()));
            } else if let Some(role) = rest.strip_suffix(']') {
                pairs.push((role.to_owned(), String::new()));
            }
        }
    }
    by_role(&pairs)
}

/// The repository's `examples/*.chor`, sorted.
pub fn examples() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/ exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "chor"))
        .collect();
    v.sort();
    v
}
