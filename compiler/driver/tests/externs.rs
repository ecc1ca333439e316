//! Rust externs end to end: the sha3_auth example project (a real crates.io crate behind
//! `extern fn`s) gives its expected output under `simulate`, `run --backend interp` and native
//! `run`, and
//! the mistakes a crate can make are chor diagnostics, never link errors or unwinding panics.
//!
//! Each project is copied once into a temporary directory and its crate built once per test
//! binary; the other runs reuse cargo's cache there.

mod common;

use common::{chor_in, ok, text};

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("readable") {
        let p = e.expect("entry").path();
        let name = p.file_name().expect("name");
        if name == "target" {
            continue;
        }
        if p.is_dir() {
            copy_dir(&p, &to.join(name));
        } else {
            std::fs::copy(&p, to.join(name)).expect("copy");
        }
    }
}

/// A project directory under cargo's directory for test files (`CARGO_TARGET_TMPDIR`), the
/// same in every run: emptied but for the crate's `target`, so that its build (a crates.io
/// crate and its dependencies: over a gigabyte for sha3_auth) is reused by the next run
/// instead of left behind in the system's temporary directory by every run.
fn project_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("externs-{name}"));
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
    std::fs::create_dir_all(&dir).expect("project dir");
    dir
}

/// The sha3_auth example, copied and simulated once (which builds its crate).
fn sha3_project() -> &'static (PathBuf, Output) {
    static P: OnceLock<(PathBuf, Output)> = OnceLock::new();
    P.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sha3_auth");
        let dir = project_dir("sha3_auth");
        copy_dir(&root, &dir);
        let out = chor_in(&dir, &["simulate"]);
        (dir, out)
    })
}

fn expected() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sha3_auth/expected");
    std::fs::read_to_string(p).expect("expected output")
}

/// Lines per role, in order: roles run concurrently under `chor run`, each role's own output
/// is ordered.
fn by_role(out: &str) -> Vec<(String, Vec<String>)> {
    let mut roles: Vec<(String, Vec<String>)> = Vec::new();
    for l in out.lines() {
        let role = l.split(']').next().unwrap_or("").to_string();
        match roles.iter_mut().find(|(r, _)| *r == role) {
            Some((_, ls)) => ls.push(l.to_string()),
            None => roles.push((role, vec![l.to_string()])),
        }
    }
    roles.sort();
    roles
}

#[test]
fn sha3_example_simulates_to_its_expected_output() {
    let (_, out) = sha3_project();
    ok(out, "chor");
    assert_eq!(text(&out.stdout), expected());
    // The known SHA3-256 test vector: the hashing really is the crate's.
    assert!(
        expected().contains("3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532")
    );
}

#[test]
fn projected_interpreter_agrees_with_the_simulator() {
    let (dir, first) = sha3_project();
    ok(first, "chor");
    let out = chor_in(dir, &["run", "--backend", "interp"]);
    ok(&out, "chor");
    assert_eq!(by_role(&text(&out.stdout)), by_role(&expected()));
}

#[test]
fn native_code_agrees_with_the_simulator() {
    let (dir, first) = sha3_project();
    ok(first, "chor");
    let out = chor_in(dir, &["run"]);
    ok(&out, "chor");
    assert_eq!(by_role(&text(&out.stdout)), by_role(&expected()));
    // Native executables have the glue linked in on Linux: nothing beside them. Interpreter
    // ones load the library beside them, wherever the folder goes.
    let built = chor_in(dir, &["build", "-o", "out-native"]);
    ok(&built, "chor");
    assert_eq!(
        dir.join("out-native").join("chor-extern.lib").exists(),
        !cfg!(target_os = "linux")
    );
    let built = chor_in(dir, &["build", "--backend", "interp", "-o", "out-interp"]);
    ok(&built, "chor");
    assert!(dir.join("out-interp").join("chor-extern.lib").is_file());
}

/// A small project whose crate is rewritten by each case.
fn write_project(dir: &Path, main: &str, lib: &str) {
    std::fs::create_dir_all(dir.join("src")).expect("mkdir");
    std::fs::create_dir_all(dir.join("native/src")).expect("mkdir");
    std::fs::write(
        dir.join("chor.toml"),
        "[package]\nname = \"p\"\n\n[extern]\ncrate = \"native\"\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("native/Cargo.toml"),
        "[package]\nname = \"native\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\n\
         chor-ffi = { path = \"../target/chor/chor-ffi\" }\n",
    )
    .expect("write");
    std::fs::write(dir.join("src/main.chor"), main).expect("write");
    std::fs::write(dir.join("native/src/lib.rs"), lib).expect("write");
}

const MAIN: &str = "extern fn add(a: Int, b: Int) -> Int;\n\
                    extern fn shout(s: String) -> String;\n\
                    extern fn halve(n: Int) -> Int;\n\
                    extern fn type(n: Int) -> Int;\n\n\
                    choreography main(A) {\n    \
                    A.print(add(2, 3));\n    \
                    A.print(shout(\"hi\"));\n    \
                    A.print(type(41));\n    \
                    A.print(halve(4));\n    \
                    A.print(halve(3));\n}\n";

#[test]
fn crate_mistakes_are_diagnostics_and_panics_end_the_role() {
    let dir = project_dir("mistakes");
    // `shout` takes &str, `halve` is missing.
    write_project(
        &dir,
        MAIN,
        "pub fn add(a: i64, b: i64) -> i64 { a + b }\npub fn shout(s: &str) -> String { s.to_uppercase() }\n",
    );
    let out = chor_in(&dir, &["simulate"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("[E0603]")
            && err.contains("the extern `halve` is missing from the crate `native`"),
        "{err}"
    );
    assert!(
        err.contains("[E0604]")
            && err.contains("the extern `shout` has the chor type `fn(String) -> String`"),
        "{err}"
    );
    assert!(
        err.contains("fn(&'a str) -> String"),
        "the Rust type is named: {err}"
    );
    assert!(!err.contains("[E0602]"), "{err}");

    // A crate that does not compile: cargo's first error, with its place.
    std::fs::write(
        dir.join("native/src/lib.rs"),
        "pub fn add(a: i64, b: i64) -> i64 { a + \"b\" }\n",
    )
    .expect("write");
    let out = chor_in(&dir, &["run", "--backend", "interp"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("[E0602]")
            && err.contains("the extern crate `native` does not build: cannot add"),
        "{err}"
    );
    assert!(err.contains("lib.rs:1"), "{err}");

    // Everything defined; `halve` panics on odd numbers.
    std::fs::write(
        dir.join("native/src/lib.rs"),
        "pub fn add(a: i64, b: i64) -> i64 { a + b }\npub fn shout(s: String) -> String { s.to_uppercase() }\n\
         pub fn halve(n: i64) -> i64 { assert!(n % 2 == 0, \"odd: {n}\"); n / 2 }\n\
         pub fn r#type(n: i64) -> i64 { n + 1 }\n",
    )
    .expect("write");
    for args in [
        &["simulate"][..],
        &["run", "--backend", "interp"][..],
        &["run"][..],
    ] {
        let out = chor_in(&dir, args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(
            text(&out.stdout),
            "[A] 5\n[A] HI\n[A] 42\n[A] 2\n",
            "{args:?}"
        );
        assert!(
            err.contains("role A: the extern `halve` failed: panicked at")
                && err.contains(": odd: 3 at main.chor:11"),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("stack backtrace"),
            "the panic does not unwind into chor: {err}"
        );
    }
}

/// Externs whose parameters and result are `Int`, `Float`, `Bool` or `()` are called in
/// native code through the glue's direct entry (payload words, no encoding): every backend
/// prints the same, at the edges of each type, next to an extern of another signature; a
/// panic in a direct extern still ends the role naming the extern and the chor line.
#[test]
fn scalar_externs_call_directly_with_the_same_results() {
    let dir = project_dir("scalars");
    write_project(
        &dir,
        "extern fn mix(a: Int, x: Float, b: Bool) -> Float;\n\
         extern fn wrap(a: Int, b: Int) -> Int;\n\
         extern fn flip(b: Bool) -> Bool;\n\
         extern fn note(x: Float);\n\
         extern fn seven() -> Int;\n\
         extern fn shout(s: String) -> String;\n\
         extern fn root(x: Float) -> Float;\n\n\
         fn sum(i: Int, acc: Int) -> Int { if i == 0 { acc } else { sum(i - 1, wrap(acc, i)) } }\n\n\
         choreography main(A) {\n    \
         A.print(mix(3, 0.5, true));\n    \
         A.print(mix(1, -0.0, false));\n    \
         A.print(wrap(9223372036854775807, 1));\n    \
         A.print([flip(true), flip(false)]);\n    \
         A.print(note(2.5));\n    \
         A.print(seven() + sum(1000, 0));\n    \
         A.print(shout(\"direct\"));\n    \
         A.print(root(-1.0));\n}\n",
        "pub fn mix(a: i64, x: f64, b: bool) -> f64 { if b { a as f64 + x } else { x * a as f64 } }\n\
         pub fn wrap(a: i64, b: i64) -> i64 { a.wrapping_add(b) }\n\
         pub fn flip(b: bool) -> bool { !b }\n\
         pub fn note(x: f64) { assert!(x > 0.0); }\n\
         pub fn seven() -> i64 { 7 }\n\
         pub fn shout(s: String) -> String { s.to_uppercase() }\n\
         pub fn root(x: f64) -> f64 { assert!(x >= 0.0, \"negative: {x}\"); x.sqrt() }\n",
    );
    let glue = std::fs::read_to_string(dir.join("target/chor/glue/lib.rs"));
    let mut outs = Vec::new();
    // Native code twice: first with the shared library (no objcopy, so the glue cannot be
    // made one object: the build falls back), then with the glue linked in.
    for (args, objcopy) in [
        (&["simulate"][..], None),
        (&["run", "--backend", "interp"][..], None),
        (&["run"][..], Some("/nonexistent/objcopy")),
        (&["run"][..], None),
    ] {
        let mut cmd = common::chor();
        cmd.current_dir(&dir).args(args);
        if let Some(o) = objcopy {
            cmd.env("OBJCOPY", o);
        }
        let out = cmd.output().expect("chor runs");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("role A: the extern `root` failed: panicked at")
                && err.contains(": negative: -1 at main.chor:19"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("thread 'main' panicked"), "{err}");
        outs.push(text(&out.stdout));
    }
    assert_eq!(
        outs[0],
        "[A] 3.5\n[A] -0.0\n[A] -9223372036854775808\n[A] [false, true]\n[A] ()\n[A] 500507\n[A] DIRECT\n",
        "simulate"
    );
    assert_eq!(outs[1], outs[0], "interp");
    assert_eq!(outs[2], outs[0], "native, shared library");
    assert_eq!(outs[3], outs[0], "native, glue linked in");
    #[cfg(target_os = "linux")]
    glue_linked_in(&dir);
    // The glue has direct entries for the scalar signatures only.
    let glue = std::fs::read_to_string(dir.join("target/chor/glue/lib.rs")).or(glue);
    let glue = glue.expect("the glue's source");
    for name in ["mix", "wrap", "flip", "note", "seven", "root"] {
        assert!(glue.contains(&format!("fn chor_xd_{name}(")), "{name}");
    }
    assert!(!glue.contains("fn chor_xd_shout("));
    // A direct entry does not install the panic hook itself (the library's constructor did):
    // a panic in the first extern call of the role, before any generic entry, is still
    // reported with its place, and Rust's own message stays quiet.
    std::fs::write(
        dir.join("src/main.chor"),
        "extern fn root(x: Float) -> Float;\n\nchoreography main(A) {\n    A.print(root(-2.0));\n}\n",
    )
    .expect("write");
    let out = chor_in(&dir, &["run"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("role A: the extern `root` failed: panicked at")
            && err.contains(": negative: -2 at main.chor:4"),
        "{err}"
    );
    assert!(!err.contains("thread 'main' panicked"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// On Linux native executables have the glue linked in (`externs::static_object`): the object
/// is made once and reused, nothing goes beside the executables, and an object that does not
/// link is no link error. `dir` is the project of
/// `scalar_externs_call_directly_with_the_same_results`, built natively already.
#[cfg(target_os = "linux")]
fn glue_linked_in(dir: &Path) {
    let object = dir.join("target/chor/cargo/release/chor-extern.o");
    assert!(object.is_file(), "the glue as one object");
    let built = chor_in(dir, &["build", "-o", "out"]);
    ok(&built, "chor build");
    assert!(!dir.join("out/chor-extern.lib").exists(), "linked in");
    let built = common::chor()
        .current_dir(dir)
        .env("OBJCOPY", "/nonexistent/objcopy")
        .args(["build", "-o", "out"])
        .output()
        .expect("chor runs");
    ok(&built, "chor build");
    assert!(
        !dir.join("out/chor-extern.lib").exists(),
        "the object already made is reused: objcopy does not run again"
    );
    // An object that does not link (here: not an object at all) is no link error: the
    // executables link the shared library, and the object is made again next time.
    let bad = dir.join("bad-objcopy.sh");
    std::fs::write(
        &bad,
        "#!/bin/sh\nfor a; do last=$a; done\necho garbage > \"$last\"\n",
    )
    .expect("write");
    std::fs::set_permissions(&bad, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    std::fs::remove_file(&object).expect("remove the object");
    let built = common::chor()
        .current_dir(dir)
        .env("OBJCOPY", &bad)
        .args(["build", "-o", "out-bad"])
        .output()
        .expect("chor runs");
    ok(&built, "chor build with a broken object");
    assert!(dir.join("out-bad/chor-extern.lib").is_file());
    assert!(!object.exists(), "the broken object is not kept");
    let run = common::chor_in(dir, &["run"]);
    assert!(object.is_file(), "made again");
    assert_eq!(run.status.code(), Some(1));
    assert!(text(&run.stderr).contains(": negative: -1 at main.chor:19"));
}

#[test]
fn an_extern_in_a_project_with_a_broken_manifest_names_the_manifest_error() {
    let dir = project_dir("broken-manifest");
    write_project(&dir, MAIN, "pub fn add(a: i64, b: i64) -> i64 { a + b }\n");
    std::fs::write(
        dir.join("chor.toml"),
        "[package]\nname = \"p\"\n\n[extern]\ncrate = 7\n",
    )
    .expect("write");
    // Without FILE, the project is read first: its error is the whole answer.
    let out = chor_in(&dir, &["check"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("chor.toml:5: key `extern.crate`"), "{err}");
    // With FILE, the program is checked, and E0601 says why the crate is missing.
    let out = chor_in(&dir, &["check", "src/main.chor"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("[E0601]"), "{err}");
    assert!(
        err.contains("the project's chor.toml could not be read") && err.contains("chor.toml:5"),
        "the manifest's own error, with its line: {err}"
    );
}
