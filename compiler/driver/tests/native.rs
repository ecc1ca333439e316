//! The native back end against the reference interpreter: every example and a few hundred
//! generated programs print, role by role, what `chor simulate` prints when built with
//! `--backend native` and run as processes (also programs calling Rust externs of a test
//! crate); runtime faults stop a role with an error naming
//! the source line (never a signal); tail-recursive server loops run in flat memory.

mod common;

use common::{chor, examples, ok, parse_expected, temp_dir};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

/// `[Role] line` output grouped by role.
fn parse_run(out: &[u8]) -> BTreeMap<String, Vec<String>> {
    parse_expected(&String::from_utf8_lossy(out))
}

/// Runs are seeded (`CHOR_SEED`): generated programs draw random numbers, and every back end
/// must draw the same ones.
fn run_native(path: &Path) -> Output {
    chor()
        .env("CHOR_SEED", "1")
        .args(["run", "--backend", "native"])
        .arg(path)
        .output()
        .expect("chor runs")
}

fn simulate(path: &Path) -> Output {
    chor()
        .env("CHOR_SEED", "1")
        .arg("simulate")
        .arg(path)
        .output()
        .expect("chor runs")
}

#[test]
fn examples_run_natively_with_the_expected_output() {
    for path in examples() {
        let expected = parse_expected(
            &std::fs::read_to_string(path.with_extension("expected")).expect("expected file"),
        );
        let out = run_native(&path);
        ok(&out, path.display());
        assert_eq!(parse_run(&out.stdout), expected, "{}", path.display());
    }
}

fn cases() -> u64 {
    common::env_count("CHOR_NATIVE_DIFF_CASES", 200)
}

#[test]
fn generated_programs_run_natively_like_the_simulator() {
    let dir = temp_dir("diff");
    let n = cases();
    let failures: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2u64)
            .map(|w| {
                let dir = &dir;
                s.spawn(move || {
                    let mut bad = Vec::new();
                    for seed in (w..n).step_by(2) {
                        let src = common::generate::program(seed);
                        let path = dir.join(format!("gen{seed}.chor"));
                        std::fs::write(&path, &src).expect("write");
                        let sim = simulate(&path);
                        let nat = run_native(&path);
                        if !sim.status.success() || !nat.status.success() {
                            bad.push(format!(
                                "seed {seed}: simulate {:?}, native {:?}: {}\n{src}",
                                sim.status.code(),
                                nat.status.code(),
                                String::from_utf8_lossy(&nat.stderr)
                            ));
                        } else if parse_run(&sim.stdout) != parse_run(&nat.stdout) {
                            bad.push(format!(
                                "seed {seed}: outputs differ\nsimulate: {:?}\nnative: {:?}\n{src}",
                                parse_run(&sim.stdout),
                                parse_run(&nat.stdout)
                            ));
                        }
                    }
                    bad
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    });
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!("native differential: {n} generated programs agree");
}

fn extern_cases() -> u64 {
    common::env_count("CHOR_NATIVE_EXTERN_CASES", 16)
}

/// Generated programs that call Rust externs (`generate::program_with_externs`), in a project
/// whose crate is built once (by the first `simulate`, before the workers start) and cached
/// between test runs: native code, whose scalar externs are direct calls, and every third
/// program the interpreter-backed executables, print what the simulator prints.
#[test]
fn generated_programs_with_externs_run_natively_like_the_simulator() {
    let dir = common::generate::extern_project();
    let first = simulate(&dir.join("src/main.chor"));
    ok(&first, "simulate builds the extern crate");
    let n = extern_cases();
    let failures: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2u64)
            .map(|w| {
                let dir = &dir;
                s.spawn(move || {
                    let mut bad = Vec::new();
                    for seed in (w..n).step_by(2) {
                        let src = common::generate::program_with_externs(seed);
                        let path = dir.join("src").join(format!("gen{seed}.chor"));
                        std::fs::write(&path, &src).expect("write");
                        let sim = simulate(&path);
                        let mut runs = vec![("native", run_native(&path))];
                        if seed % 3 == 0 {
                            let interp = chor()
                                .env("CHOR_SEED", "1")
                                .args(["run", "--backend", "interp"])
                                .arg(&path)
                                .output()
                                .expect("chor runs");
                            runs.push(("interp", interp));
                        }
                        for (backend, out) in runs {
                            if !sim.status.success() || !out.status.success() {
                                bad.push(format!(
                                    "seed {seed}: simulate {:?}, {backend} {:?}: {}{}\n{src}",
                                    sim.status.code(),
                                    out.status.code(),
                                    String::from_utf8_lossy(&sim.stderr),
                                    String::from_utf8_lossy(&out.stderr)
                                ));
                            } else if parse_run(&sim.stdout) != parse_run(&out.stdout) {
                                bad.push(format!(
                                    "seed {seed}: outputs differ\nsimulate: {:?}\n{backend}: {:?}\n{src}",
                                    parse_run(&sim.stdout),
                                    parse_run(&out.stdout)
                                ));
                            }
                        }
                        let _ = std::fs::remove_file(&path);
                    }
                    bad
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|h| h.join().expect("worker"))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!("native differential with externs: {n} generated programs agree");
}

/// Builds and runs a one-file program natively; returns the run's output.
fn run_src(name: &str, src: &str) -> Output {
    let dir = temp_dir(name);
    let path = dir.join(format!("{name}.chor"));
    std::fs::write(&path, src).expect("write");
    let out = run_native(&path);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// Runs a one-file program natively and with `chor simulate`; the outputs must agree, role
/// by role. Returns the native output.
fn assert_like_simulator(name: &str, src: &str) -> String {
    let dir = temp_dir(name);
    let path = dir.join(format!("{name}.chor"));
    std::fs::write(&path, src).expect("write");
    let sim = simulate(&path);
    let nat = run_native(&path);
    let _ = std::fs::remove_dir_all(&dir);
    ok(&sim, name);
    ok(&nat, name);
    assert_eq!(parse_run(&nat.stdout), parse_run(&sim.stdout), "{name}");
    String::from_utf8_lossy(&nat.stdout).into_owned()
}

#[test]
fn returns_in_tail_position_branches_run_natively_like_the_simulator() {
    let out = assert_like_simulator("tail_returns", common::TAIL_RETURNS);
    assert_eq!(parse_run(out.as_bytes()), common::tail_returns_output());
}

fn assert_fault(name: &str, src: &str, message: &str, line: usize) {
    let out = run_src(name, src);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{name}: {err}");
    let want = format!("{message} at {name}.chor:{line}");
    assert!(err.contains(&want), "{name}: expected `{want}` in:\n{err}");
    assert!(!err.contains("signal"), "{name}: {err}");
}

#[test]
fn runtime_faults_name_the_source_line() {
    assert_fault(
        "div",
        "fn f(a: Int, b: Int) -> Int { a / b }\nchoreography main(A, B) {\n    A.print(f(1, 0));\n}\n",
        "role A: division by zero",
        1,
    );
    assert_fault(
        "overflow",
        "choreography main(A, B) {\n    let A.x = 9223372036854775807;\n    A.print(x + 1);\n}\n",
        "role A: integer overflow",
        3,
    );
    // (A failed `match` or `let` pattern cannot pass the checker's exhaustiveness check; the
    // generated code still guards every match with a fault naming the line.)
    assert_fault(
        "negate",
        "choreography main(A, B) {\n    let A.x = -9223372036854775807 - 1;\n    A.print(-x);\n}\n",
        "role A: integer overflow",
        3,
    );
    assert_fault(
        "remainder",
        "fn f(a: Int, b: Int) -> Int { a % b }\nchoreography main(A, B) {\n    A.print(f(-9223372036854775807 - 1, -1));\n}\n",
        "role A: integer overflow",
        1,
    );
    assert_fault(
        "panic",
        "choreography main(A, B) {\n    A.print(1);\n    let A.x: Int = panic(\"out of range\");\n}\n",
        "role A: panic: out of range",
        3,
    );
    assert_fault(
        "deep",
        "fn deep(n: Int) -> Int { if n == 0 { 0 } else { 1 + deep(n - 1) } }\nchoreography main(A, B) {\n    A.print(deep(1000000000));\n}\n",
        "role A: stack overflow: recursion too deep (only tail calls run in constant stack)",
        1,
    );
    // A call of a leaf (too big to inline, calling no generated code) has no stack check
    // before it; the recursion around it still stops with the error, not a signal.
    assert_fault(
        "deep_leaf",
        "fn leaf(a: Int, b: Int) -> Int {\n    let x = a * 3 + b;\n    let y = x * x % 1000 + list::len([a, b]);\n    if x > y { x - y + a * b } else { y - x + a - b }\n}\nfn deep(n: Int) -> Int { if n == 0 { 0 } else { leaf(n, 1) % 2 + deep(n - 1) } }\nchoreography main(A, B) {\n    A.print(deep(1000000000));\n}\n",
        "role A: stack overflow: recursion too deep (only tail calls run in constant stack)",
        6,
    );
}

/// Overflow checks dropped where a branch bounds the variable (`if n < 2 … else n - 1`, the
/// index of a `Some` arm of `list::get`): results at the edges of the ranges agree with the
/// simulator, and where the bounds leave room for overflow it still faults at the line.
#[test]
fn bounded_arithmetic_keeps_overflow_faults() {
    assert_like_simulator(
        "ranges",
        r#"fn down(n: Int) -> Int { if n < 2 { n } else { n - 2 } }
fn up(n: Int) -> Int { if n >= 9223372036854775806 { 0 } else { n + 1 } }
fn flipped(n: Int) -> Int { if 0 < n && n <= 100 { n - 9223372036854775807 } else { -1 } }
fn negated(n: Int) -> Int { if !(n > -5) { n + 9223372036854775807 } else { n - 3 } }
fn either(n: Int) -> Int { if n < 0 || n > 10 { 0 } else { n * 2 - 9223372036854775807 } }
fn idx(xs: List<Int>, i: Int, acc: Int) -> Int {
    match list::get(xs, i) { None => acc, Some(x) => idx(xs, i + 1, acc + i + x) }
}
fn eq(n: Int) -> Int { if n == -9223372036854775807 - 1 { n + 1 } else { 0 } }
choreography main(A, B) {
    A.print([down(2), down(9223372036854775807), down(-9223372036854775807 - 1)]);
    A.print([up(9223372036854775805), up(-9223372036854775807 - 1), up(9223372036854775807)]);
    A.print([flipped(1), flipped(100), flipped(0), flipped(101)]);
    A.print([negated(-5), negated(-9223372036854775807 - 1), negated(9223372036854775807)]);
    A.print([either(0), either(10), either(11)]);
    A.print(idx([5, 6, 7], 0, 0));
    A.print(eq(-9223372036854775807 - 1));
}
"#,
    );
    let faults: [(&str, &str); 4] = [
        ("if n > 0 { n + 1 } else { 0 }", "9223372036854775807"),
        ("if n < 10 { n - 1 } else { 0 }", "-9223372036854775807 - 1"),
        ("if !(n < 5) { n + 9223372036854775800 } else { 0 }", "9"),
        ("if n != 3 { n - 1 } else { 0 }", "-9223372036854775807 - 1"),
    ];
    for (k, (body, arg)) in faults.iter().enumerate() {
        assert_fault(
            &format!("range_fault_{k}"),
            &format!(
                "fn f(n: Int) -> Int {{ {body} }}\nchoreography main(A, B) {{\n    A.print(f({arg}));\n}}\n"
            ),
            "role A: integer overflow",
            1,
        );
    }
}

/// `[]` is made with free slots in the compact form: pushes of `Int`s fill them inline, a
/// value of another kind switches the list to the general form, and the empty list compares,
/// prints, nests and travels like any other.
#[test]
fn empty_list_literals_behave_like_the_interpreter() {
    assert_like_simulator(
        "empty_lists",
        r#"fn fill(n: Int, acc: List<Int>) -> List<Int> { if n == 0 { acc } else { fill(n - 1, list::push(acc, n)) } }
choreography main(A, B) {
    let A.e: List<Int> = [];
    A.print([list::len(e), list::len(fill(3, [])), list::len(fill(9, e))]);
    A.print(fill(6, []));
    A.print(e == [] && [] == e);
    A.print(list::push(list::push([], "s"), "t"));
    A.print(list::push(list::push([], [1]), []));
    A.print([[], [1], []]);
    A.print(list::get(e, 0));
    A.print(list::take(fill(5, []), 2));
    A.e -> B.got;
    B.print(list::push(got, 7));
}
"#,
    );
}

/// The resident memory of a process, in kB.
fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs the server loop for `n` rounds; returns the server's peak resident memory (kB) seen.
fn server_loop_peak(n: u64) -> u64 {
    let src = format!(
        "choreography Serve(C, S)(n: Int@C, total: Int@S) {{
    if C.n == 0 {{
        C -> S[Stop];
        S.print(total);
    }} else {{
        C -> S[Req];
        C.[n, n + 1] -> S.req;
        let S.reply = \"ok \" ++ to_string(list::len(req));
        S.reply -> C.r;
        Serve(C, S)(C.n - 1, S.total + 1);
    }}
}}
choreography main(C, S) {{
    Serve(C, S)(C.{n}, S.0);
    C.print(\"done\");
}}
"
    );
    let dir = temp_dir(&format!("server{n}"));
    let path = dir.join("server.chor");
    std::fs::write(&path, src).expect("write");
    let out = chor()
        .args(["build", "--backend", "native", "-o"])
        .arg(dir.join("out"))
        .arg(&path)
        .output()
        .expect("chor runs");
    ok(&out, "chor");
    let cfg = dir.join("out/deploy.toml");
    let mut server = Command::new(dir.join("out/S"))
        .arg("--config")
        .arg(&cfg)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("server starts");
    let mut client = Command::new(dir.join("out/C"))
        .arg("--config")
        .arg(&cfg)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("client starts");
    let mut peak = 0;
    while server.try_wait().ok().flatten().is_none() {
        if let Some(kb) = rss_kb(server.id()) {
            peak = peak.max(kb);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(client.wait().expect("client").success());
    let out = server.wait_with_output().expect("server");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), n.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    peak
}

#[test]
fn a_million_iteration_server_loop_runs_in_flat_memory() {
    let small = server_loop_peak(10_000);
    let big = server_loop_peak(1_000_000);
    // A hundred times the iterations: the same memory, give or take the allocator's slack.
    assert!(
        big < small + 4096,
        "server memory grew with iterations: {small} kB for 10k rounds, {big} kB for 1M"
    );
    assert!(big < 10 * 1024, "server used {big} kB");
}

#[test]
fn a_missing_c_compiler_is_a_clear_error() {
    let dir = temp_dir("nocc");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let out = chor()
        .env("CC", dir.join("no-such-cc"))
        .args(["build", "-o"])
        .arg(dir.join("out"))
        .arg(examples.join("bookseller.chor"))
        .output()
        .expect("chor runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no C compiler"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tail_calls_run_in_constant_stack() {
    // Mutual tail recursion, one of the calls through a function value, ten million deep.
    let out = run_src(
        "tails",
        "fn step(n: Int) -> Int { if n == 0 { 0 } else { go(step, n - 1) } }
fn go(f: fn(Int) -> Int, n: Int) -> Int { f(n) }
fn count(n: Int, acc: Int) -> Int { if n == 0 { acc } else { count(n - 1, acc + 1) } }
choreography main(A, B) {
    A.print(step(10000000));
    A.print(count(10000000, 0));
}
",
    );
    ok(&out, "chor");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[A] 0\n[A] 10000000\n"
    );
}

/// Self tail calls of local functions, which run as loops (a jump back to the function's
/// start with the parameters rebound), with arguments whose reference counts matter: a list
/// that the loop only reads, a list shared between two parameters and with the caller, values
/// of a generic type swapped between parameters, strings and lists growing in place.
fn self_tail_loops(n: u64) -> String {
    format!(
        r#"fn walk(xs: List<Int>, i: Int, acc: Int) -> Int {{
    match list::get(xs, i) {{ None => acc, Some(x) => walk(xs, i + 1, acc + x) }}
}}
fn swap<T>(a: T, b: T, n: Int) -> T {{ if n == 0 {{ a }} else {{ swap(b, a, n - 1) }} }}
fn build(s: String, n: Int) -> String {{ if n == 0 {{ s }} else {{ build(s ++ "ab", n - 1) }} }}
fn keep(xs: List<Int>, n: Int, last: List<Int>) -> List<Int> {{
    if n == 0 {{ last }} else {{ keep(xs, n - 1, xs) }}
}}
fn grow(xs: List<Int>, n: Int) -> List<Int> {{ if n == 0 {{ xs }} else {{ grow(list::push(xs, n), n - 1) }} }}
fn joined(xs: List<String>, i: Int, acc: String) -> String {{
    match list::get(xs, i) {{ None => acc, Some(s) => joined(xs, i + 1, acc ++ s) }}
}}
fn both(n: Int, acc: Int) -> Int {{
    if n == 0 {{ acc }} else if n % 1000 == 0 {{ both(n - 1, acc + both(0, n)) }} else {{ both(n - 1, acc + 1) }}
}}
choreography main(A, B) {{
    let A.big = grow([], {n});
    A.print(list::len(big));
    A.print(walk(big, 0, 0));
    let A.small = [1, 2, 3];
    let A.k = keep(small, {n}, [9]);
    A.print(list::push(k, 4));
    A.print(small);
    A.print(swap("left", "right", {n} + 1));
    A.print(swap([1], [2, 2], {n}));
    A.print(string::len(build("", {n})));
    A.print(joined(["a", "bc", "d"], 0, ""));
    A.print(both({n}, 0));
    A.print(list::get(big, 0));
}}
"#
    )
}

#[test]
fn self_tail_calls_loop_with_reference_counts_intact() {
    // Small: the same output as the simulator.
    assert_like_simulator("self_loops_small", &self_tail_loops(1000));
    // Ten million iterations: far deeper than any stack of frames, in constant stack.
    let n: u64 = 10_000_000;
    let out = run_src("self_loops", &self_tail_loops(n));
    ok(&out, "chor");
    let thousands: u64 = (1..=n / 1000).map(|k| k * 1000).sum();
    let want = format!(
        "[A] {n}\n[A] {}\n[A] [1, 2, 3, 4]\n[A] [1, 2, 3]\n[A] right\n[A] [1]\n[A] {}\n[A] abcd\n[A] {}\n[A] Some({n})\n",
        n * (n + 1) / 2,
        2 * n,
        n - n / 1000 + thousands
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
}

/// Lists in both of the runtime's forms (compact Ints, general values) against the
/// interpreter: switching forms, out-of-bounds `get` inline and as an `Option`, lists shared
/// and then changed, nested lists, order (map keys), queues (drop at the front, push at the
/// back), list patterns, messages and maps holding lists, and strings appended in place.
#[test]
fn lists_in_both_forms_behave_like_the_interpreter() {
    let out = assert_like_simulator("lists", LISTS);
    assert!(out.contains("[A] [4, 1, 5, 2, 6, 3, 99]"), "{out}");
    assert!(
        out.contains("[B] {\"e\": [], \"k\": [4, 1, 5, 2, 6, 3]}"),
        "{out}"
    );
}

const LISTS: &str = r#"fn fill(n: Int, acc: List<Int>) -> List<Int> {
    if n == 0 { acc } else { fill(n - 1, list::push(acc, n * 3 % 7)) }
}

fn sum(xs: List<Int>, i: Int, acc: Int) -> Int {
    match list::get(xs, i) {
        None => acc,
        Some(x) => sum(xs, i + 1, acc + x),
    }
}

fn count<T>(xs: List<T>, i: Int) -> Int {
    match list::get(xs, i) {
        None => i,
        Some(_) => count(xs, i + 1),
    }
}

fn queue(q: List<Int>, n: Int, total: Int) -> Int {
    if n == 0 {
        total + list::len(q)
    } else {
        let q = list::push(q, n);
        match list::get(q, 0) {
            None => total,
            Some(x) => queue(list::drop(q, 1), n - 1, total + x),
        }
    }
}

fn first_or(xs: List<String>, d: String) -> String {
    match list::get(xs, 0) {
        Some(s) => s,
        None => d,
    }
}

fn shape(xs: List<Int>) -> String {
    match xs {
        [] => "empty",
        [a] => "one " ++ to_string(a),
        [a, b, ..rest] => "two " ++ to_string(a + b) ++ " and " ++ to_string(rest),
    }
}

choreography main(A, B) {
    // Int lists, built by pushes and by literals, print and compare alike.
    let A.xs = fill(6, []);
    A.print(xs);
    A.print(xs == [4, 1, 5, 2, 6, 3]);
    A.print([[1, 2], [3]] == [[1, 2], [3]]);
    // Order (seen through map keys): lists built by pushes and literals, nested lists.
    let A.keys: Map<List<Int>, Int> = map::new();
    let A.keys = map::insert(keys, [1, 3], 1);
    let A.keys = map::insert(keys, list::push([1], 2), 2);
    let A.keys = map::insert(keys, fill(2, []), 3);
    let A.keys = map::insert(keys, [], 4);
    let A.keys = map::insert(keys, [1, 2, 3], 5);
    let A.keys = map::insert(keys, [-5, 9], 6);
    let A.keys = map::insert(keys, [1, 2], 7);
    A.print(keys);
    A.print(map::keys(keys));
    let A.nested: Map<List<List<Int>>, Bool> = map::new();
    let A.nested = map::insert(nested, [[1, 2], []], true);
    let A.nested = map::insert(nested, [[1, 2], [0]], false);
    let A.nested = map::insert(nested, [list::push([1], 2)], false);
    A.print(nested);
    A.print(sum(xs, 0, 0));
    A.print(count(xs, 0));
    // Out of bounds, inside a match and as an Option.
    A.print(list::get(xs, 6));
    A.print(list::get(xs, -1));
    A.print(list::get(xs, 5));
    let A.far = match list::get(xs, 100) { Some(x) => x, None => -1 };
    A.print(far);
    let A.neg = match list::get(xs, -3) { Some(x) => x, None => -2 };
    A.print(neg);
    // Shared, then changed: the other holders keep their elements.
    let A.ys = list::push(xs, 99);
    let A.zs = list::take(xs, 2);
    let A.ws = list::drop(xs, 4);
    A.print(xs);
    A.print(ys);
    A.print(zs);
    A.print(ws);
    A.print(list::push(ws, 7) ++ zs);
    A.print(ws);
    // Lists of other values start empty and switch form on the first element.
    let A.names: List<String> = [];
    let A.names = list::push(names, "ann");
    let A.names = list::push(names, "bo");
    A.print(names);
    A.print(first_or(names, "none"));
    A.print(first_or(list::drop(names, 5), "none"));
    A.print(count(names, 0));
    A.print([1.5, 2.0] ++ [0.25]);
    let A.flags: Map<List<Bool>, List<String>> = map::new();
    let A.flags = map::insert(flags, [true, false], ["a", "b"]);
    let A.flags = map::insert(flags, [true], ["a"]);
    A.print(flags);
    // Nested lists: the inner list is shared with the outer one.
    let A.inner = [1, 2];
    let A.outer = [inner, [3]];
    let A.outer2 = list::push(outer, list::push(inner, 5));
    A.print(inner);
    A.print(outer);
    A.print(outer2);
    A.print(match list::get(outer2, 2) { Some(l) => list::len(l), None => 0 });
    A.print(to_string(outer2) ++ "!");
    // A queue: push at the back, drop at the front, many times.
    A.print(queue([1, 2, 3], 5000, 0));
    A.print(shape([]));
    A.print(shape([4]));
    A.print(shape(fill(5, [])));
    A.print(list::len(list::drop(fill(100, []), 98)));
    // Strings appended in place, and a shared one that must not change.
    let A.s = "ab";
    let A.t = s ++ "c";
    let A.u = t ++ "é" ++ "";
    A.print(s);
    A.print(t);
    A.print(u);
    A.print(string::len(u));
    // Compact lists in messages, and maps with list values.
    A.xs -> B.got;
    B.print(got);
    B.print(got == [4, 1, 5, 2, 6, 3]);
    B.print(list::push(got, 0));
    A.outer2 -> B.nested;
    B.print(nested);
    A.keys -> B.keys;
    B.print(keys);
    let B.m: Map<String, List<Int>> = map::new();
    let B.m = map::insert(m, "k", got);
    let B.m = map::insert(m, "e", []);
    B.print(m);
    B.print(match map::get(m, "k") { Some(l) => list::len(l), None => -1 });
    B.print(match map::get(m, "zz") { Some(l) => list::len(l), None => -1 });
    let B.counts: Map<String, Int> = map::new();
    let B.counts = map::insert(counts, "a", 1);
    B.print(match map::get(counts, "a") { Some(n) => n + 1, None => 0 });
    B.m -> A.back;
    A.print(back);
}
"#;

/// Small functions are inlined at non-tail calls (one level, recursive ones too): names,
/// ownership, generics, function values and faults inside them work as in a call.
#[test]
fn inlined_functions_behave_like_calls() {
    let dir = temp_dir("inline");
    let path = dir.join("inline.chor");
    std::fs::write(&path, INLINE).expect("write");
    let sim = simulate(&path);
    let nat = run_native(&path);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(sim.status.code(), Some(1));
    assert_eq!(nat.status.code(), Some(1));
    assert_eq!(parse_run(&nat.stdout), parse_run(&sim.stdout));
    let err = String::from_utf8_lossy(&nat.stderr);
    assert!(
        err.contains("role A: integer overflow at inline.chor:14"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&nat.stdout).contains("[A] 2432902008176640000"));
}

/// Small functions are inlined two levels deep: each level sees only its own variables (the
/// same names at every level), reference counts of strings and lists stay right across the
/// levels, generic parameters are those of each level, and a fault two levels down names its
/// own line.
#[test]
fn functions_inlined_two_levels_deep_behave_like_calls() {
    assert_like_simulator(
        "inline2",
        r#"fn inner(x: Int, s: String) -> String { s ++ to_string(x) }
fn middle(x: Int, s: String) -> String { inner(x + 1, s ++ "-") ++ inner(x, s) }
fn outer(x: Int, s: String) -> String { middle(x * 2, s) ++ middle(x, "o") }
fn pair<T>(a: T, b: T) -> List<T> { [a, b] }
fn both<T>(x: T) -> List<List<T>> { [pair(x, x), pair(x, x)] }
fn grow(xs: List<Int>, x: Int) -> List<Int> { list::push(xs, x) }
fn grow2(xs: List<Int>, x: Int) -> List<Int> { grow(grow(xs, x), x + 1) }
fn fib(n: Int) -> Int { if n < 2 { n } else { fib(n - 1) + fib(n - 2) } }
choreography main(A, B) {
    let A.s = "s";
    let A.x = 3;
    A.print(outer(x, s));
    A.print([s, to_string(x)]);
    A.print(both("b"));
    A.print(both(1));
    let A.xs = [0];
    A.print(grow2(xs, 1));
    A.print(grow2(grow2(xs, 5), 7));
    A.print(xs);
    A.print([fib(0), fib(1), fib(2), fib(3), fib(10), fib(25)]);
}
"#,
    );
    assert_fault(
        "inline2_fault",
        "fn low(n: Int) -> Int { n * 4611686018427387904 }\nfn mid(n: Int) -> Int { low(n) + 1 }\nchoreography main(A, B) {\n    A.print(mid(1));\n    A.print(mid(2));\n}\n",
        "role A: integer overflow",
        1,
    );
}

const INLINE: &str = r#"fn twice(x: Int) -> Int { x + x }
fn first<T>(xs: List<T>, d: T) -> T {
    match list::get(xs, 0) {
        Some(x) => x,
        None => d,
    }
}
fn helper(n: Int) -> Int { n * 10 }
fn shadow(helper: Int) -> Int { helper + 1 }
fn uses_helper(x: Int) -> Int { helper(x) + 1 }
fn push2(xs: List<Int>, x: Int) -> List<Int> { list::push(list::push(xs, x), x) }
fn greet(s: String) -> String { s ++ "!" }
fn apply(f: fn(Int) -> Int, x: Int) -> Int { f(x) }
fn fact(n: Int) -> Int { if n <= 1 { 1 } else { n * fact(n - 1) } }
fn tree(n: Int) -> Int { if n < 2 { n } else { tree(n - 1) + tree(n - 2) } }
fn count(n: Int, acc: Int) -> Int { if n == 0 { acc } else { count(n - 1, acc + 1) } }
fn wrap(n: Int) -> Int { count(n, 0) }
fn pick(b: Bool, x: String, y: String) -> String { if b { x } else { y } }

choreography main(A, B) {
    let A.helper = 5;
    A.print(uses_helper(helper));
    A.print(shadow(helper));
    let A.xs = [1, 2];
    let A.ys = push2(xs, 3);
    A.print(xs);
    A.print(ys);
    A.print(push2(ys, 4));
    A.print(first(ys, 0));
    A.print(first(["a"], "none"));
    let A.empty: List<String> = [];
    A.print(first(empty, "none"));
    let A.s = "hi";
    A.print(greet(s));
    A.print(s);
    A.print(greet(greet(s)));
    A.print(apply(twice, 21));
    A.print(apply(fact, 10));
    A.print(list::map([1, 2, 3], twice));
    A.print(tree(20));
    A.print(twice(twice(3)));
    A.print(fact(20));
    A.print(wrap(1000000));
    A.print(pick(true, s, "no"));
    A.print(pick(list::len(ys) > 5, "big", s));
    A.print(fact(21));
}
"#;

/// Conditional expressions natively: nested in a branch, two targets at one role, a tuple
/// pattern, a target that shadows the variable its branch reads, and one in every round of a
/// recursive procedure (a loop), with the values freed where each branch ends.
#[test]
fn conditional_expressions_run_natively_like_the_simulator() {
    let out = assert_like_simulator("condexpr", COND_EXPR);
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(
        got,
        [
            "[B] 12 60",
            "[B] 112 100",
            "[B] 116 40",
            "[B] 117 1",
            "[B] 119 20",
            "[B] 120 1",
            "[B] 120 0",
            "[B] 120"
        ]
    );
}

const COND_EXPR: &str = r#"
choreography Loop(A, B)(n: Int@A, acc: Int@B) -> Int@B {
    let B.(lo, hi) = if A.(n % 2 == 0) {
        A -> B[Even];
        A.n -> B.m;
        B.((m, m * 10))
    } else {
        A -> B[Odd];
        let B.z = if A.(n > 4) {
            A -> B[Big];
            B.(100)
        } else {
            A -> B[Small];
            B.(1)
        };
        B.((z, z))
    };
    let (B.s, B.t) = if A.(n > 0) { A -> B[More]; (B.(lo + acc), B.(hi)) } else { A -> B[Done]; (B.(acc), B.(0)) };
    B.print(to_string(s) ++ " " ++ to_string(t));
    if A.(n > 0) {
        A -> B[Again];
        let B.r = Loop(A, B)(A.(n - 1), B.s);
        return B.r;
    } else {
        A -> B[Stop];
        return B.s;
    }
}

choreography main(A, B) {
    let B.acc = 5;
    let B.acc = if A.true { A -> B[T]; B.(acc + 1) } else { A -> B[F]; B.(acc) };
    let B.out = Loop(A, B)(A.(6), B.acc);
    B.print(out);
}
"#;

/// A conditional expression in a generic choreography (one instance per type) and in a
/// higher-order one (a choreography argument called inside a branch).
#[test]
fn conditional_expressions_in_generic_and_higher_order_choreographies() {
    let out = assert_like_simulator("condgeneric", COND_GENERIC);
    assert!(out.contains("[A] 5"), "{out}");
    assert!(out.contains("[B] right110"), "{out}");
}

const COND_GENERIC: &str = r#"
choreography Pick<T>(A, B)(x: T@A, y: T@A, c: Bool@A) -> T@B {
    let B.r = if A.c { A -> B[X]; A.x -> B.v; B.(v) } else { A -> B[Y]; A.y -> B.v; B.(v) };
    return B.r;
}
choreography Twice(A, B)(f: chor(X, Y)(Int@X) -> Int@Y, n: Int@A) -> Int@B {
    let (A.k, B.m) = if A.(n > 2) { A -> B[Big]; let B.a = f(A, B)(A.n); (A.(n), B.(a)) } else { A -> B[Small]; (A.(0), B.(0)) };
    A.print(k);
    return B.m;
}
choreography Double(X, Y)(v: Int@X) -> Int@Y { X.(v * 2) -> Y.w; return Y.w; }
choreography main(A, B) {
    let B.s = Pick(A, B)(A."left", A."right", A.(false));
    let B.i = Pick(A, B)(A.(1), A.(2), A.(true));
    let B.t = Twice(A, B)(Double, A.(5));
    B.print(s ++ to_string(i) ++ to_string(t));
}
"#;
