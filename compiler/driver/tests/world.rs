//! The effectful modules of the standard library (`io::`, `env::`, `fs::`, `time::`,
//! `random::`, `crypto::`) behave the same in every back end: the global interpreter
//! (`chor simulate`), the projected interpreter and native executables. Random draws are
//! compared with `CHOR_SEED` set; clocks are tested by properties, not values.

mod common;

use common::{chor, ok, temp_dir};

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The command line of each back end.
const BACK_ENDS: [&[&str]; 3] = [
    &["simulate"],
    &["run", "--backend", "interp"],
    &["run", "--backend", "native"],
];

/// Runs `chor ARGS FILE EXTRA` in `dir` with `stdin` as standard input and `env` set.
fn run_in(
    dir: &Path,
    args: &[&str],
    file: &Path,
    extra: &[&str],
    stdin: &str,
    env: &[(&str, &str)],
) -> Output {
    use std::io::Write;
    let mut cmd = chor();
    cmd.current_dir(dir)
        .args(args)
        .arg(file)
        .args(extra)
        .env_remove("CHOR_SEED")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("chor runs");
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(stdin.as_bytes());
    }
    child.wait_with_output().expect("chor ends")
}

/// `[Role] line` output, by role (the order between roles varies across back ends).
fn by_role(out: &[u8]) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(out).lines() {
        if let Some(rest) = line.strip_prefix('[')
            && let Some((role, text)) = rest.split_once("] ")
        {
            m.entry(role.to_owned()).or_default().push(text.to_owned());
        }
    }
    m
}

const EVERYTHING: &str = r#"fn neg(x: Int) -> Int { 0 - x }
fn first(p: (Int, String)) -> Int { p.0 }
fn small(x: Int) -> Int { random::int(-3, 3) }
fn big(x: Int) -> Int { random::int(0, 1000000) }
fn third(x: Int) -> Bool { x % 3 == 0 }

choreography main(A, B) {
    A.print(env::args());
    B.print(env::args());
    A.print(env::var("CHOR_WORLD_TEST"));
    A.print(env::var("CHOR_WORLD_UNSET"));
    A.print(env::var(""));
    A.print(io::read_line());
    A.print(io::read_line());
    A.print(io::read_line());
    A.print(read_line());
    B.print(io::read_line());
    B.print(read_line());
    B.print(io::read_line());
    A.io::write("one ");
    A.io::write("two\nthree ");
    A.print("four");
    A.print(fs::write("out.txt", "héllo\n"));
    A.print(fs::append("out.txt", "again"));
    A.print(fs::read("out.txt"));
    A.print(fs::exists("out.txt"));
    A.print(fs::exists("missing.txt"));
    A.print(fs::read("missing.txt"));
    A.print(fs::read("bad.bin"));
    A.print(fs::read("."));
    A.print(fs::write("no/such/dir/x.txt", "x"));
    A.print(crypto::sha256(""));
    A.print(crypto::sha256("héllo"));
    A.print(crypto::hmac_sha256("key", "The quick brown fox jumps over the lazy dog"));
    A.print(list::map(list::range(0, 5), small));
    B.print(list::map(list::range(0, 5), big));
    A.print(random::float());
    A.print(random::int(-9223372036854775807 - 1, 9223372036854775807));
    let A.f = random::float();
    A.print(f >= 0.0 && f < 1.0);
    A.print(list::sort_by([(2, "b"), (1, "x"), (2, "a"), (0, "z"), (1, "y")], first));
    A.print(list::sort_by(list::range(0, 6), neg));
    A.print(list::reverse(list::range(3, 0)));
    A.print(list::zip([1, 2, 3], ["a"]));
    A.print(list::concat([[1], [], [2, 3]]));
    A.print(list::filter(list::range(0, 10), third));
    A.print(map::entries(map::from_list([(2, "b"), (1, "a"), (2, "c")])));
    A.print(map::values(map::from_list([(2, "b"), (1, "a")])));
    A.print(string::join([], ","));
    A.print(string::join(["a", "b", "c"], ", "));
    B.io::write("unfinished");
}
"#;

/// One program touching every deterministic function of the effectful modules, with a seed,
/// `--stdin` for the second role, arguments and an environment variable: every back end
/// prints the same lines for each role.
#[test]
fn every_back_end_does_the_same_with_the_world() {
    let dir = temp_dir("everything");
    let path = dir.join("everything.chor");
    std::fs::write(&path, EVERYTHING).expect("write");
    std::fs::write(dir.join("b.txt"), "for B\r\nsecond\n").expect("write");
    let mut reference: Option<BTreeMap<String, Vec<String>>> = None;
    for args in BACK_ENDS {
        let _ = std::fs::remove_file(dir.join("out.txt"));
        std::fs::write(dir.join("bad.bin"), b"ok\xff\xfe").expect("write");
        let out = run_in(
            &dir,
            args,
            &path,
            &["--stdin", "B=b.txt", "--", "x", "y z"],
            "first\nsecond\n\u{fffd}",
            &[("CHOR_SEED", "42"), ("CHOR_WORLD_TEST", "set")],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        let got = by_role(&out.stdout);
        match &reference {
            None => {
                let a = &got["A"];
                assert_eq!(a[0], r#"["x", "y z"]"#);
                assert_eq!(a[1], r#"Some("set")"#);
                assert_eq!(a[2], "None");
                assert_eq!(a[3], "None");
                assert_eq!(a[4], r#"Some("first")"#);
                assert_eq!(a[5], r#"Some("second")"#);
                assert_eq!(a[6], "Some(\"\u{fffd}\")");
                assert_eq!(a[7], "", "the old read_line gives \"\" at end of input");
                assert_eq!(a[8], "one two");
                assert_eq!(a[9], "three four");
                assert!(a.contains(&r#"Ok("héllo\nagain")"#.to_owned()), "{a:?}");
                assert!(
                    a.contains(
                        &r#"Err("cannot read missing.txt: no such file or directory")"#.to_owned()
                    ),
                    "{a:?}"
                );
                assert!(
                    a.contains(
                        &r#"Err("cannot read bad.bin: not UTF-8 text (byte 2)")"#.to_owned()
                    ),
                    "{a:?}"
                );
                assert!(
                    a.contains(&r#"Err("cannot read .: it is a directory")"#.to_owned()),
                    "{a:?}"
                );
                // FIPS 180-2 and the HMAC example of Wikipedia.
                assert!(a.contains(
                    &"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_owned()
                ));
                assert!(a.contains(
                    &"f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8".to_owned()
                ));
                assert!(a.contains(&"true".to_owned()));
                assert!(
                    a.contains(
                        &"[(0, \"z\"), (1, \"x\"), (1, \"y\"), (2, \"b\"), (2, \"a\")]".to_owned()
                    ),
                    "sort_by is stable: {a:?}"
                );
                let b = &got["B"];
                assert_eq!(b[0], r#"["x", "y z"]"#);
                assert_eq!(b[1], r#"Some("for B")"#);
                assert_eq!(b[2], "second");
                assert_eq!(b[3], "None");
                assert_eq!(b.last().map(String::as_str), Some("unfinished"));
                reference = Some(got);
            }
            Some(want) => assert_eq!(&got, want, "{args:?} differs from simulate"),
        }
    }
    // Another seed draws other numbers; the same seed the same ones.
    let draws = |seed: &str| {
        let out = run_in(&dir, &["simulate"], &path, &[], "", &[("CHOR_SEED", seed)]);
        by_role(&out.stdout)["B"][4].clone()
    };
    assert_eq!(draws("7"), draws("7"));
    assert_ne!(draws("7"), draws("8"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without a seed, two runs draw different numbers.
#[test]
fn unseeded_draws_differ_between_runs() {
    let dir = temp_dir("unseeded");
    let path = dir.join("u.chor");
    std::fs::write(
        &path,
        "choreography main(A) {\n    A.print(random::int(0, 1000000000000));\n}\n",
    )
    .expect("write");
    let draw = || run_in(&dir, &["simulate"], &path, &[], "", &[]).stdout;
    assert_ne!(draw(), draw());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Clocks, by their properties: the wall clock is the system's, the monotonic clock never goes
/// back, and a sleep lasts at least as long as asked, in every back end.
#[test]
fn clocks_and_sleep_keep_their_properties() {
    let dir = temp_dir("time");
    let path = dir.join("time.chor");
    std::fs::write(
        &path,
        r#"choreography main(A, B) {
    A.print(time::now_ms());
    let A.t0 = time::monotonic_ms();
    A.time::sleep_ms(30);
    let A.t1 = time::monotonic_ms();
    let A.t2 = time::monotonic_ms();
    A.print(t1 - t0);
    A.print(t2 - t1);
    B.time::sleep_ms(0);
    B.print(time::now_ms());
}
"#,
    )
    .expect("write");
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis() as i64
    };
    for args in BACK_ENDS {
        let before = now();
        let out = run_in(&dir, args, &path, &[], "", &[]);
        let after = now();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = by_role(&out.stdout);
        let a: Vec<i64> = got["A"].iter().map(|l| l.parse().expect("Int")).collect();
        let b: i64 = got["B"][0].parse().expect("Int");
        for t in [a[0], b] {
            assert!(
                before <= t && t <= after,
                "{args:?}: {before} <= {t} <= {after}"
            );
        }
        assert!(a[1] >= 30, "{args:?}: slept {} ms", a[1]);
        assert!(a[2] >= 0, "{args:?}: monotonic went back by {}", a[2]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Faults of the effectful modules name the line in every back end.
#[test]
fn effect_faults_name_the_line_in_every_back_end() {
    let dir = temp_dir("faults");
    let cases = [
        (
            "lohi",
            "random::int(3, 2)",
            "random::int(3, 2): the low end is above the high end",
            &[][..],
        ),
        (
            "sleep",
            "time::sleep_ms(-5)",
            "time::sleep_ms of a negative duration (-5 ms)",
            &[][..],
        ),
        (
            "seed",
            "random::float()",
            "CHOR_SEED=`abc` is not an Int",
            &[("CHOR_SEED", "abc")][..],
        ),
    ];
    for (name, expr, message, env) in cases {
        let path = dir.join(format!("{name}.chor"));
        std::fs::write(
            &path,
            format!(
                "choreography main(A, B) {{\n    A.print(\"before\");\n    A.print({expr});\n}}\n"
            ),
        )
        .expect("write");
        for args in BACK_ENDS {
            let out = run_in(&dir, args, &path, &[], "", env);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{name} {args:?}: {err}");
            assert_eq!(String::from_utf8_lossy(&out.stdout), "[A] before\n");
            assert!(err.contains(message), "{name} {args:?}: {err}");
            assert!(
                err.contains(&format!("{name}.chor:3")),
                "{name} {args:?}: {err}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `io::eprint` goes to standard error, prefixed by the role, and a role's partial line is
/// printed when it ends; a role without input is at end of input.
#[test]
fn eprint_and_end_of_input_in_every_back_end() {
    let dir = temp_dir("eprint");
    let path = dir.join("e.chor");
    std::fs::write(
        &path,
        "choreography main(A, B) {\n    B.io::eprint(\"careful\");\n    B.print(io::read_line());\n    A.io::write(\"no newline\");\n    A.io::eprint(\"error: the program's own, not a fault\");\n    A.io::eprint(\"warning: also the program's\");\n}\n",
    )
    .expect("write");
    for args in BACK_ENDS {
        let out = run_in(&dir, args, &path, &[], "for A\n", &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.contains("[B] careful\n"), "{args:?}: {err}");
        // Lines that look like a role's error or warning are the program's own output when
        // the role ends well: `chor run` prints them like any other (they were dropped).
        if args.first() == Some(&"run") {
            assert!(
                err.contains("[A] error: the program's own, not a fault\n")
                    && err.contains("[A] warning: also the program's\n"),
                "{args:?}: {err}"
            );
        }
        let got = by_role(&out.stdout);
        assert_eq!(got["B"], ["None"], "{args:?}");
        assert_eq!(got["A"], ["no newline"], "{args:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--stdin` naming no role of `main`, twice the same role, or a missing file is an error of
/// the command line (status 2), before anything runs.
#[test]
fn bad_stdin_options_are_reported() {
    let dir = temp_dir("stdin");
    let path = dir.join("s.chor");
    std::fs::write(&path, "choreography main(A, B) {\n    A.print(1);\n}\n").expect("write");
    std::fs::write(dir.join("in.txt"), "x\n").expect("write");
    let cases: [(&[&str], &str); 4] = [
        (
            &["--stdin", "C=in.txt"],
            "--stdin names `C`, which is not a role of `main` (its roles are A, B)",
        ),
        (
            &["--stdin", "B=in.txt", "--stdin", "B=in.txt"],
            "--stdin names role `B` twice",
        ),
        (
            &["--stdin", "B=nope.txt"],
            "--stdin B=nope.txt: cannot read it",
        ),
        (&["--stdin", "B"], "--stdin `B`: expected ROLE=FILE"),
    ];
    for (extra, message) in cases {
        for args in [&["simulate"][..], &["run", "--backend", "interp"][..]] {
            let out = run_in(&dir, args, &path, extra, "", &[]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{extra:?} {args:?}: {err}");
            assert!(err.contains(message), "{extra:?} {args:?}: {err}");
            assert!(out.stdout.is_empty(), "{extra:?} {args:?}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A role executable takes the program's arguments after `--`.
#[test]
fn role_executables_take_arguments_after_a_double_dash() {
    let dir = temp_dir("exe-args");
    let path = dir.join("a.chor");
    std::fs::write(
        &path,
        "choreography main(A) {\n    A.print(env::args());\n}\n",
    )
    .expect("write");
    for backend in ["native", "interp"] {
        let out_dir = dir.join(backend);
        let st = chor()
            .args(["build", "--backend", backend, "-o"])
            .arg(&out_dir)
            .arg(&path)
            .output()
            .expect("chor build");
        ok(&st, "chor");
        let out = Command::new(out_dir.join("A"))
            .arg("--config")
            .arg(out_dir.join("deploy.toml"))
            .args(["--", "--config", "b"])
            .output()
            .expect("role runs");
        ok(&out, "chor");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "[\"--config\", \"b\"]\n"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `examples/persistent_kv`: the replicas keep their data in files, so a second run of the
/// whole system — in any back end, after a run in any back end — sees the first run's data.
#[test]
fn the_persistent_store_survives_a_restart() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/persistent_kv");
    let file = root.join("src/main.chor");
    let runs: [(&[&str], &[&str]); 3] = [
        (&["simulate"], &["run", "--backend", "native"]),
        (
            &["run", "--backend", "native"],
            &["run", "--backend", "interp"],
        ),
        (&["run", "--backend", "interp"], &["simulate"]),
    ];
    for (i, (first, second)) in runs.into_iter().enumerate() {
        let dir = temp_dir(&format!("kv{i}"));
        let out = run_in(
            &dir,
            first,
            &file,
            &[],
            "put alice 42\nput bob 7\nget alice\n",
            &[],
        );
        ok(&out, format!("{first:?}"));
        let got = by_role(&out.stdout);
        assert_eq!(
            got["Primary"],
            ["loaded 0 keys", "keys [\"alice\", \"bob\"]"],
            "{first:?}"
        );
        assert_eq!(
            got["Client"],
            ["put alice: saved", "put bob: saved", "alice = Some(\"42\")"]
        );
        let out = run_in(
            &dir,
            second,
            &file,
            &[],
            "get alice\nput alice 43\nget bob\nget carol\n",
            &[],
        );
        ok(&out, format!("{second:?}"));
        let got = by_role(&out.stdout);
        assert_eq!(
            got["Primary"][0], "loaded 2 keys",
            "{second:?} after {first:?}"
        );
        assert_eq!(
            got["Backup"][0], "loaded 2 keys",
            "{second:?} after {first:?}"
        );
        assert_eq!(
            got["Client"],
            [
                "alice = Some(\"42\")",
                "put alice: saved",
                "bob = Some(\"7\")",
                "carol = None"
            ],
            "{second:?} after {first:?}"
        );
        let log = std::fs::read_to_string(dir.join("backup.log")).expect("the backup's log");
        assert_eq!(log, "alice=42\nbob=7\nalice=43\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A file the role may not read or write is an `Err` value in every back end. Root reads
/// everything, so as root the roles run as `nobody` (through `setpriv`).
#[test]
fn permission_errors_are_err_values_in_every_back_end() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("perm");
    let path = dir.join("perm.chor");
    std::fs::write(
        &path,
        "choreography main(A) {\n    A.print(fs::read(\"secret.txt\"));\n    A.print(fs::append(\"secret.txt\", \"x\"));\n    A.print(fs::exists(\"secret.txt\"));\n}\n",
    )
    .expect("write");
    let secret = dir.join("secret.txt");
    std::fs::write(&secret, "s").expect("write");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).expect("mkdir");
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let uid = Command::new("id").arg("-u").output().expect("id runs");
    let root = String::from_utf8_lossy(&uid.stdout).trim() == "0";
    for args in BACK_ENDS {
        let mut cmd = if root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_chor"));
            c
        } else {
            chor()
        };
        // The unprivileged user builds `chor run`'s executables in a directory of its own.
        let out = cmd
            .current_dir(&dir)
            .env("TMPDIR", &tmp)
            .args(args)
            .arg(&path)
            .output()
            .expect("chor runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "[A] Err(\"cannot read secret.txt: permission denied\")\n\
             [A] Err(\"cannot append to secret.txt: permission denied\")\n\
             [A] true\n",
            "{args:?}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
