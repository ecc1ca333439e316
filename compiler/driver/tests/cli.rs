//! End-to-end tests of the `chor` binary: every command on the examples, exit codes, and the
//! diagnostics people read.

mod common;

use common::deep::nested_value;
use common::{by_role, chor, examples, ok, parse_expected, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn lines_of(out: &Output) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| l.strip_prefix('['))
        .filter_map(|l| l.split_once("] "))
        .map(|(r, l)| (r.to_owned(), l.to_owned()))
        .collect()
}

fn tmp(name: &str, src: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chor-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let p = dir.join(format!("{name}.chor"));
    std::fs::write(&p, src).expect("write");
    p
}

/// Every example passes, without a warning: the examples are written as the language means
/// them (an idle role in a choreography passed as an argument, as `remote_map`'s `AtHome`, is
/// no warning: the parameter's type fixes its roles).
#[test]
fn check_accepts_every_example() {
    for ex in examples() {
        let out = chor().arg("check").arg(&ex).output().expect("runs");
        ok(&out, ex.display());
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains("Warning"), "{}: {all}", ex.display());
    }
}

#[test]
fn simulate_and_run_print_the_expected_output() {
    for ex in examples() {
        let expected = parse_expected(
            &std::fs::read_to_string(ex.with_extension("expected")).expect("expected"),
        );
        for cmd in ["simulate", "run"] {
            let out = chor()
                .arg(cmd)
                .arg(&ex)
                .stdin(Stdio::null())
                .output()
                .expect("runs");
            ok(&out, format!("{cmd} {}", ex.display()));
            assert_eq!(by_role(&lines_of(&out)), expected, "{cmd} {}", ex.display());
        }
    }
}

#[test]
fn missing_semicolon_is_shown_with_its_source_line() {
    let p = tmp(
        "semi",
        "choreography main(A, B) {\n    let A.x = 1\n    A.x -> B.y;\n}\n",
    );
    let out = chor().arg("check").arg(&p).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("expected `;`"), "{err}");
    assert!(err.contains("let A.x = 1"), "{err}");
    assert!(err.contains(":2:16"), "{err}");
}

#[test]
fn knowledge_of_choice_error_and_json() {
    let p = tmp(
        "koc",
        "choreography main(A, B) {\n    let A.x = 1;\n    if A.x > 0 {\n        A.x -> B.y;\n    }\n}\n",
    );
    let out = chor().arg("check").arg(&p).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("B cannot know which branch A chose"), "{err}");
    let out = chor()
        .args(["check", "--format", "json"])
        .arg(&p)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(json[0]["code"], "E0501");
    assert_eq!(json[0]["labels"][0]["span"]["line"], 3);
    assert!(
        json[0]["fix"]["edits"]
            .as_array()
            .is_some_and(|e| e.len() == 2)
    );
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = chor()
        .args(["check", "/nonexistent/x.chor"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file"));
}

#[test]
fn runtime_fault_names_role_and_line() {
    let p = tmp(
        "div",
        "choreography main(A, B) {\n    let A.x = 0;\n    A.print(10 / x);\n}\n",
    );
    for cmd in ["simulate", "run"] {
        let out = chor()
            .arg(cmd)
            .arg(&p)
            .stdin(Stdio::null())
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("division by zero"), "{cmd}: {err}");
        assert!(err.contains("A"), "{cmd}: {err}");
        assert!(err.contains(":3"), "{cmd}: {err}");
    }
}

#[test]
fn trace_prints_messages_and_selections() {
    let out = chor()
        .args(["simulate", "--trace"])
        .arg(root().join("examples/bookseller.chor"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Buyer -> Seller: \"Types and Programming Languages\""),
        "{text}"
    );
    assert!(text.contains("Seller -> Buyer: 87"), "{text}");
    assert!(text.contains("Buyer -> Seller[Buy]"), "{text}");
}

#[test]
fn project_prints_each_role() {
    let out = chor()
        .arg("project")
        .arg(root().join("examples/bookseller.chor"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("send title -> Seller;"), "{text}");
    assert!(text.contains("branch Buyer {"), "{text}");
    let out = chor()
        .args(["project", "--role", "Seller"])
        .arg(root().join("examples/bookseller.chor"))
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("role Buyer"), "{text}");
}

#[test]
fn stdin_goes_to_the_first_role() {
    let p = tmp(
        "stdin",
        "choreography main(A, B) {\n    let A.name = read_line();\n    A.name -> B.n;\n    B.print(\"hello \" ++ n);\n}\n",
    );
    for cmd in ["simulate", "run"] {
        let mut child = chor()
            .arg(cmd)
            .arg(&p)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("runs");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(b"world\n").expect("write");
        }
        let out = child.wait_with_output().expect("waits");
        assert!(out.status.success(), "{cmd}");
        assert_eq!(
            lines_of(&out),
            vec![("B".to_owned(), "hello world".to_owned())],
            "{cmd}"
        );
    }
}

#[test]
fn imports_are_relative_and_cycles_are_reported() {
    let dir = std::env::temp_dir().join(format!("chor-cli-{}-imports", std::process::id()));
    std::fs::create_dir_all(dir.join("lib")).expect("dir");
    std::fs::write(
        dir.join("main.chor"),
        "import \"lib/util.chor\";\nchoreography main(A) {\n    A.print(double(21));\n}\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("lib/util.chor"),
        "import \"more.chor\";\nfn double(x: Int) -> Int { add(x, x) }\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("lib/more.chor"),
        "fn add(a: Int, b: Int) -> Int { a + b }\n",
    )
    .expect("write");
    let out = chor()
        .arg("simulate")
        .arg(dir.join("main.chor"))
        .output()
        .expect("runs");
    ok(&out, "chor");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[A] 42\n");
    // a cycle: more.chor imports util.chor back
    std::fs::write(
        dir.join("lib/more.chor"),
        "import \"util.chor\";\nfn add(a: Int, b: Int) -> Int { a + b }\n",
    )
    .expect("write");
    let out = chor()
        .arg("check")
        .arg(dir.join("main.chor"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("import cycle"), "{err}");
    assert!(err.contains("more.chor"), "{err}");
    // a missing import
    std::fs::write(
        dir.join("lib/more.chor"),
        "import \"nowhere.chor\";\nfn add(a: Int, b: Int) -> Int { a + b }\n",
    )
    .expect("write");
    let out = chor()
        .arg("check")
        .arg(dir.join("main.chor"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot import \"nowhere.chor\""), "{err}");
}

#[test]
fn examples_and_stdlib_are_canonically_formatted() {
    let mut files = examples();
    for e in std::fs::read_dir(root().join("stdlib"))
        .expect("stdlib/")
        .filter_map(Result::ok)
    {
        files.push(e.path());
    }
    let out = chor()
        .arg("fmt")
        .arg("--check")
        .args(&files)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "not canonical: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Runs `chor` with `args` and fails the test if it does not end within 20 seconds (a read
/// that never ends would hang here).
fn output_promptly(args: &[&std::ffi::OsStr]) -> Output {
    let mut child = chor()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if child.try_wait().expect("waits").is_some() {
            return child.wait_with_output().expect("output");
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`chor {args:?}` did not end within 20 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn special_and_huge_source_files_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("chor-cli-{}-bounded", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let fifo = dir.join("pipe.chor");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    // Just over the 8 MiB limit: a comment, so that only the size is wrong.
    let huge = dir.join("huge.chor");
    let mut text = String::from("choreography main(A) { A.print(1); }\n//");
    text.push_str(&"x".repeat(8 * 1024 * 1024));
    std::fs::write(&huge, &text).expect("write");
    let folder = dir.join("folder.chor");
    std::fs::create_dir_all(&folder).expect("dir");
    let cases: [(&Path, &str); 4] = [
        (&fifo, "FIFO"),
        (Path::new("/dev/zero"), "character device"),
        (&huge, "larger than the limit"),
        (&folder, "directory"),
    ];
    for (path, why) in cases {
        // As the FILE of a command.
        for cmd in ["check", "simulate", "fmt"] {
            let out = output_promptly(&[cmd.as_ref(), path.as_os_str()]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "chor {cmd} {}: {err}",
                path.display()
            );
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains(why), "{err}");
        }
        // As an import.
        let main = dir.join("main.chor");
        std::fs::write(
            &main,
            format!(
                "import \"{}\";\nchoreography main(A) {{\n    A.print(1);\n}}\n",
                path.display()
            ),
        )
        .expect("write");
        let out = output_promptly(&["check".as_ref(), main.as_os_str()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("cannot import"), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains(why), "{err}");
        assert!(err.contains("main.chor:1"), "{err}");
    }
    // Just under the limit is read.
    text.truncate(8 * 1024 * 1024 - 1);
    std::fs::write(&huge, &text).expect("write");
    let out = output_promptly(&["check".as_ref(), huge.as_os_str()]);
    ok(&out, "chor");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Input nested 40,000 levels deep, in every shape, is checked, built and run without a crash
/// (the phases recurse on a big stack; see docs/language.md, "Limits").
#[test]
fn forty_thousand_levels_of_nesting_compile_and_run() {
    let n = 40_000;
    let shapes = [
        ("list", nested_value("[", "1", "]", n, "\"done\""), "done"),
        ("tuple", nested_value("(", "1", ",)", n, "\"done\""), "done"),
        (
            "parens",
            nested_value("(", "7", ")", n, "to_string(x)"),
            "7",
        ),
        ("minus", nested_value("- ", "7", "", n, "to_string(x)"), "7"),
        (
            "minus_odd",
            nested_value("- ", "7", "", n + 1, "to_string(x)"),
            "-7",
        ),
        (
            "not",
            nested_value("!", "true", "", n, "to_string(x)"),
            "true",
        ),
        (
            "block",
            nested_value("{ ", "7", " }", n, "to_string(x)"),
            "7",
        ),
    ];
    for (name, src, want) in shapes {
        let path = tmp(&format!("deep-{name}"), &src);
        let out = chor().arg("check").arg(&path).output().expect("runs");
        ok(&out, format!("{name}: check failed"));
        let out = chor().arg("run").arg(&path).output().expect("runs");
        ok(&out, format!("{name}: run failed"));
        assert_eq!(
            lines_of(&out),
            vec![("A".to_owned(), want.to_owned())],
            "{name}"
        );
        let out = chor()
            .args(["fmt", "--check"])
            .arg(&path)
            .output()
            .expect("runs");
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{name}: fmt crashed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Nesting beyond the limit is refused with E0005 at its line, whatever makes it deep:
/// brackets, prefix operators, a chain of infix operators, or all of them.
#[test]
fn nesting_beyond_the_limit_is_a_diagnostic_at_its_line() {
    let n = 50_001;
    let shapes = [
        ("list", nested_value("[", "1", "]", n, "\"done\"")),
        ("minus", nested_value("- ", "1", "", n, "to_string(x)")),
        (
            "not",
            nested_value("!", "true", "", 1_000_000, "to_string(x)"),
        ),
        ("sum", nested_value("", "1", " + 1", n, "to_string(x)")),
        (
            "mixed",
            nested_value("-(", "1", ")", n / 2 + 1, "to_string(x)"),
        ),
    ];
    for (name, src) in shapes {
        let path = tmp(&format!("toodeep-{name}"), &src);
        for cmd in ["check", "build", "simulate", "fmt"] {
            let out = chor().arg(cmd).arg(&path).output().expect("runs");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{name}, {cmd}: {err:.300}");
            assert!(
                err.contains("E0005") && err.contains("nested more than 50000 levels deep"),
                "{name}, {cmd}: {err:.300}"
            );
            assert!(
                err.contains(":2:"),
                "{name}, {cmd}: not at line 2: {err:.300}"
            );
        }
    }
}

/// Variables dropped after the last statement that names them (a long body keeps few values
/// live) still hold their values wherever they are used: shadowing, use in branches and in
/// later statements, receives; native output equals the interpreter's.
#[test]
fn early_drops_keep_values_that_are_used_later() {
    let src = r#"
fn twice(s: String) -> String {
    let a = s ++ s;
    let b = a ++ "|";
    let a = b ++ a;
    let unused = [a, b];
    a
}

choreography main(A, B) {
    let A.s = "a";
    let A.t = s ++ "b";
    let A.s = t ++ "c";
    A.t -> B.u;
    let B.v = u ++ "!";
    let A.w = twice(t);
    if A.s == "abc" {
        A -> B[Yes];
        B.print(v);
        A.print(s);
    } else {
        A -> B[No];
    }
    A.s -> B.r1;
    A.s -> B.r2;
    let A.l = [s, t, w];
    A.print(to_string(l));
    B.print(u ++ r1 ++ r2);
    B.print(v);
}
"#;
    let path = tmp("early-drops", src);
    let sim = chor().arg("simulate").arg(&path).output().expect("runs");
    ok(&sim, "chor");
    let run = chor().arg("run").arg(&path).output().expect("runs");
    ok(&run, "chor");
    let (mut a, mut b) = (lines_of(&sim), lines_of(&run));
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert!(
        a.contains(&(
            "A".to_owned(),
            "[\"abc\", \"ab\", \"abab|abab\"]".to_owned()
        )),
        "{a:?}"
    );
    assert!(
        a.contains(&("B".to_owned(), "ababcabc".to_owned())),
        "{a:?}"
    );
}

/// A reader that stops early (`chor check f.chor 2>&1 | head -1`) ends the command quietly,
/// with the status of a process a SIGPIPE ended, never with a panic.
#[test]
fn closed_output_pipe_is_not_a_panic() {
    let src: String = (0..300)
        .map(|i| format!("    A.{i} -> B.unused{i};\n"))
        .collect();
    let p = tmp(
        "closed_pipe",
        &format!("choreography main(A, B) {{\n{src}}}\n"),
    );
    let mut child = chor()
        .arg("check")
        .arg(&p)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    // Close the reading end before the 300 warnings are written.
    drop(child.stderr.take());
    let status = child.wait().expect("ends");
    assert_eq!(status.code(), Some(141), "{status:?}");
}
