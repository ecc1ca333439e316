//! One semantics: every program under tests/semantics/ prints, role by role and byte for byte,
//! the same lines under `chor simulate` (the reference), `chor run` (native code) and
//! `chor run --backend interp`, ends with the same exit status and reports the same fault
//! line — printing of control characters and `\r`, float order, faults and the roles that
//! keep running after one, faults inside the standard library, the message depth limit, the
//! recursion limit, and values nested far deeper than a stack.
//!
//! Each program's `.expected` file pins the reference: its `[Role] line` lines, then
//! `exit N` and, for a fault, the `error: …` line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What one back end did: each role's lines (bytes, split at '\n' only), the exit status and
/// the first line of standard error.
#[derive(Debug, PartialEq)]
struct Outcome {
    lines: BTreeMap<String, Vec<Vec<u8>>>,
    status: Option<i32>,
    error: String,
}

fn by_role(stdout: &[u8]) -> BTreeMap<String, Vec<Vec<u8>>> {
    let mut m: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    let body = stdout.strip_suffix(b"\n").unwrap_or(stdout);
    if body.is_empty() {
        return m;
    }
    for line in body.split(|b| *b == b'\n') {
        let text = line
            .strip_prefix(b"[")
            .expect("every line starts with [Role]");
        let end = text
            .iter()
            .position(|b| *b == b']')
            .expect("a role name ends with ]");
        let role = String::from_utf8_lossy(&text[..end]).into_owned();
        let rest = text[end + 1..]
            .strip_prefix(b" ")
            .unwrap_or(&text[end + 1..]);
        m.entry(role).or_default().push(rest.to_vec());
    }
    m
}

fn run(args: &[&str], path: &Path) -> Outcome {
    let out = Command::new(env!("CARGO_BIN_EXE_chor"))
        .args(args)
        .arg(path.file_name().expect("a file"))
        .current_dir(path.parent().expect("a directory"))
        .output()
        .expect("chor runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    Outcome {
        lines: by_role(&out.stdout),
        status: out.status.code(),
        // The checker's warnings come first; the fault is the first `error:` line.
        error: stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or("")
            .to_owned(),
    }
}

/// The `.expected` file as an outcome.
fn expected(path: &Path) -> Outcome {
    let text = std::fs::read(path.with_extension("expected")).expect("an .expected file");
    let mut stdout = Vec::new();
    let mut status = None;
    let mut error = String::new();
    for line in text.split(|b| *b == b'\n') {
        if let Some(n) = line.strip_prefix(b"exit ") {
            status = String::from_utf8_lossy(n).trim().parse().ok();
        } else if line.starts_with(b"error: ") {
            error = String::from_utf8_lossy(line).into_owned();
        } else if line.starts_with(b"[") {
            stdout.extend_from_slice(line);
            stdout.push(b'\n');
        }
    }
    Outcome {
        lines: by_role(&stdout),
        status,
        error,
    }
}

fn programs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/semantics");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/semantics exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "chor"))
        .collect();
    v.sort();
    v
}

fn show(o: &Outcome) -> String {
    let mut s = format!("exit {:?}\n{}\n", o.status, o.error);
    for (role, lines) in &o.lines {
        for l in lines {
            s.push_str(&format!("[{role}] {:?}\n", String::from_utf8_lossy(l)));
        }
    }
    s
}

#[test]
fn every_back_end_prints_what_the_reference_prints() {
    let programs = programs();
    assert!(programs.len() >= 8, "{programs:?}");
    let mut failures = Vec::new();
    for path in &programs {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        let want = expected(path);
        // Ten million levels are built in reasonable time by native code only; the
        // interpreters print and compare through the same code (chor-print), which
        // chor-interp's print_agrees test runs at that depth.
        let backends: &[&[&str]] = if name.starts_with("huge_") {
            &[&["run"]]
        } else {
            &[&["simulate"], &["run"], &["run", "--backend", "interp"]]
        };
        for args in backends {
            let got = run(args, path);
            if got != want {
                failures.push(format!(
                    "{name}: `chor {}` differs\n--- expected\n{}--- got\n{}",
                    args.join(" "),
                    show(&want),
                    show(&got)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
