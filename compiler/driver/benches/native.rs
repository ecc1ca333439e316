//! Benchmarks of the native back end, printed as ratios measured in one run (`cargo bench -p
//! chor --bench native`; not built by `cargo test`):
//! - local compute (recursive fib, merge sort of Ints, building a string one character at a
//!   time): native vs the same algorithm in Rust compiled here with `rustc -O`, and vs the
//!   reference interpreter (`chor simulate`, at smaller sizes where it finishes);
//! - compiled ping-pong vs raw TCP between two threads;
//! - compile time per example (front end, projection and code generation; linking excluded);
//! - executable size and peak resident memory.
//!
//! Process start-up and connection set-up are measured on an empty program and subtracted.
//! Local compute is reported twice: by wall time (best of several runs), and by CPU time
//! (user + system of the processes, summed over many runs from the kernel's account of
//! reaped children, the empty program's or a trivial Rust run's subtracted), which a machine
//! busy with other work disturbs far less than wall time.

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{build_native, chor};

fn work() -> PathBuf {
    let d = std::env::temp_dir().join(format!("chor-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

const LIB: &str = r#"
fn fib(n: Int) -> Int { if n < 2 { n } else { fib(n - 1) + fib(n - 2) } }

fn gen(n: Int, seed: Int, acc: List<Int>) -> List<Int> {
    if n == 0 { acc } else { gen(n - 1, (seed * 1103515245 + 12345) % 2147483648, list::push(acc, seed % 1000000)) }
}

fn append_from(xs: List<Int>, i: Int, acc: List<Int>) -> List<Int> {
    match list::get(xs, i) {
        None => acc,
        Some(x) => append_from(xs, i + 1, list::push(acc, x)),
    }
}

fn merge(xs: List<Int>, i: Int, ys: List<Int>, j: Int, acc: List<Int>) -> List<Int> {
    match list::get(xs, i) {
        None => append_from(ys, j, acc),
        Some(x) => match list::get(ys, j) {
            None => append_from(xs, i, acc),
            Some(y) => if x <= y {
                merge(xs, i + 1, ys, j, list::push(acc, x))
            } else {
                merge(xs, i, ys, j + 1, list::push(acc, y))
            },
        },
    }
}

fn sort(xs: List<Int>) -> List<Int> {
    let n = list::len(xs);
    if n <= 1 {
        xs
    } else {
        let left = sort(list::take(xs, n / 2));
        let right = sort(list::drop(xs, n / 2));
        merge(left, 0, right, 0, [])
    }
}

fn build(s: String, n: Int) -> String { if n == 0 { s } else { build(s ++ "x", n - 1) } }
"#;

fn program(body: &str) -> String {
    format!("{LIB}\nchoreography main(A, B) {{\n    {body}\n}}\n")
}

fn fib_body(n: u32) -> String {
    format!("A.print(fib({n}));")
}
fn sort_body(n: u32) -> String {
    format!(
        "let A.s = sort(gen({n}, 42, []));\n    A.print(list::len(s));\n    A.print(list::get(s, 0));\n    A.print(list::get(s, {}));",
        n - 1
    )
}
fn string_body(n: u32) -> String {
    format!("A.print(string::len(build(\"\", {n})));")
}

const RUST: &str = r#"
use std::time::Instant;
fn fib(n: i64) -> i64 { if n < 2 { n } else { fib(n - 1) + fib(n - 2) } }
fn merge(xs: &[i64], ys: &[i64]) -> Vec<i64> {
    let (mut i, mut j) = (0, 0);
    let mut acc = Vec::new();
    while i < xs.len() && j < ys.len() {
        if xs[i] <= ys[j] { acc.push(xs[i]); i += 1 } else { acc.push(ys[j]); j += 1 }
    }
    acc.extend_from_slice(&xs[i..]);
    acc.extend_from_slice(&ys[j..]);
    acc
}
fn sort(xs: Vec<i64>) -> Vec<i64> {
    let n = xs.len();
    if n <= 1 { return xs; }
    let left = sort(xs[..n / 2].to_vec());
    let right = sort(xs[n / 2..].to_vec());
    merge(&left, &right)
}
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: i64 = args[2].parse().unwrap();
    let t = Instant::now();
    match args[1].as_str() {
        "fib" => println!("{}", std::hint::black_box(fib(std::hint::black_box(n)))),
        "sort" => {
            let mut seed = 42i64;
            let mut xs = Vec::new();
            for _ in 0..n { xs.push(seed % 1000000); seed = (seed * 1103515245 + 12345) % 2147483648; }
            let s = sort(std::hint::black_box(xs));
            println!("{} {:?} {:?}", s.len(), s.first(), s.last());
        }
        _ => {
            let mut s = String::new();
            for _ in 0..n { s = std::hint::black_box(s); s.push_str("x"); }
            println!("{}", s.chars().count());
        }
    }
    eprintln!("{}", t.elapsed().as_nanos());
}
"#;

/// Peak resident memory (kB) of a running process, as last seen.
fn hwm_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Runs every role of a native build; returns the wall time, A's output and the peak RSS.
fn run_roles(out: &Path, roles: &[&str]) -> (Duration, String, u64) {
    let cfg = out.join("deploy.toml");
    let t = Instant::now();
    let mut children: Vec<_> = roles
        .iter()
        .map(|r| {
            Command::new(out.join(r))
                .arg("--config")
                .arg(&cfg)
                .stdout(Stdio::piped())
                .spawn()
                .expect("role starts")
        })
        .collect();
    let mut peak = 0;
    let mut outputs = Vec::new();
    for c in &mut children {
        let mut s = String::new();
        if let Some(mut o) = c.stdout.take() {
            // Poll memory while reading (the role ends when its output closes).
            let pid = c.id();
            let h = std::thread::spawn(move || {
                let mut s = String::new();
                let _ = o.read_to_string(&mut s);
                s
            });
            while !h.is_finished() {
                peak = peak.max(hwm_kb(pid));
                std::thread::sleep(Duration::from_millis(2));
            }
            s = h.join().unwrap_or_default();
        }
        outputs.push(s);
    }
    for c in &mut children {
        let st = c.wait().expect("role ends");
        assert!(st.success());
    }
    (t.elapsed(), outputs.swap_remove(0), peak)
}

fn best_of<T>(n: usize, mut f: impl FnMut() -> (Duration, T)) -> (Duration, T) {
    let mut best = f();
    for _ in 1..n {
        let r = f();
        if r.0 < best.0 {
            best = r;
        }
    }
    best
}

fn simulate_time(dir: &Path, name: &str, src: &str) -> Duration {
    let file = dir.join(format!("{name}.chor"));
    std::fs::write(&file, src).expect("write");
    let t = Instant::now();
    let o = chor()
        .arg("simulate")
        .arg(&file)
        .output()
        .expect("chor runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    t.elapsed()
}

fn rust_time(exe: &Path, what: &str, n: u32) -> Duration {
    let o = Command::new(exe)
        .args([what, &n.to_string()])
        .output()
        .expect("rust runs");
    let ns: u64 = String::from_utf8_lossy(&o.stderr)
        .trim()
        .parse()
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

/// User + system CPU time of this process's reaped children so far (`cutime` + `cstime` of
/// /proc/self/stat, in the kernel's clock ticks of 10 ms: callers sum many runs).
fn children_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start with the state, field 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(13).copied().unwrap_or(0) + f.get(14).copied().unwrap_or(0);
    // USER_HZ is 100 on Linux (the unit of these fields, whatever the kernel's own tick).
    Duration::from_millis(ticks * 10)
}

/// The CPU time per run of `runs` runs of `f` (see [`children_cpu`]).
fn cpu_per_run(runs: u32, mut f: impl FnMut()) -> Duration {
    let before = children_cpu();
    for _ in 0..runs {
        f();
    }
    children_cpu().saturating_sub(before) / runs
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Whether to run the section `name`: every section when the command line names none
/// (`cargo bench -p chor --bench native -- compute pingpong` runs two of them).
fn wants(name: &str) -> bool {
    const SECTIONS: [&str; 4] = ["compute", "interp", "pingpong", "compile"];
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| SECTIONS.contains(&a.as_str()))
        .collect();
    named.is_empty() || named.iter().any(|a| a == name)
}

/// A benchmark: its label, the baseline's argument, the size, the program's body.
type Case = (&'static str, &'static str, u32, fn(u32) -> String);

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = work();
    // Rust baseline.
    let rs = dir.join("baseline.rs");
    std::fs::write(&rs, RUST).expect("write");
    let rust_exe = dir.join("baseline");
    let st = Command::new("rustc")
        .args(["-O", "-o"])
        .arg(&rust_exe)
        .arg(&rs)
        .status()
        .expect("rustc runs");
    assert!(st.success());

    // Start-up cost of a native program (processes + connection), subtracted below.
    let empty = build_native(&dir, "empty", &program("A.print(0);"));
    let (startup, _) = best_of(11, || {
        let (t, _, _) = run_roles(&empty, &["A", "B"]);
        (t, ())
    });
    println!("start-up of a 2-role native program: {:.1} ms", ms(startup));
    if wants("compute") {
        println!();
        println!("== local compute ==");
        // CPU time of the empty program (both roles) and of a trivial Rust run, subtracted.
        const CPU_RUNS: u32 = 20;
        let empty_cpu = cpu_per_run(CPU_RUNS, || {
            run_roles(&empty, &["A", "B"]);
        });
        let rust_empty_cpu = cpu_per_run(CPU_RUNS, || {
            rust_time(&rust_exe, "fib", 0);
        });
        println!(
            "{:<28} {:>10} {:>10} {:>8} {:>9} {:>10} {:>10} {:>8}",
            "benchmark",
            "native ms",
            "rustc ms",
            "ratio",
            "peak RSS",
            "nat. CPU",
            "rustc CPU",
            "CPU ratio"
        );
        let cases: [Case; 3] = [
            ("fib 32", "fib", 32, fib_body),
            ("merge sort 200,000 Ints", "sort", 200_000, sort_body),
            ("build a 1 MB string", "string", 1_000_000, string_body),
        ];
        for (label, what, n, body) in cases {
            let out = build_native(&dir, what, &program(&body(n)));
            let (t, (text, peak)) = best_of(7, || {
                let (t, text, peak) = run_roles(&out, &["A", "B"]);
                (t, (text, peak))
            });
            let native = t.saturating_sub(startup);
            let rust = (0..7)
                .map(|_| rust_time(&rust_exe, what, n))
                .min()
                .unwrap_or_default();
            let native_cpu = cpu_per_run(CPU_RUNS, || {
                run_roles(&out, &["A", "B"]);
            })
            .saturating_sub(empty_cpu);
            let rust_cpu = cpu_per_run(CPU_RUNS, || {
                rust_time(&rust_exe, what, n);
            })
            .saturating_sub(rust_empty_cpu);
            println!(
                "{label:<28} {:>10.1} {:>10.1} {:>7.2}x {:>6} kB {:>10.1} {:>10.1} {:>7.2}x   ({})",
                ms(native),
                ms(rust),
                native.as_secs_f64() / rust.as_secs_f64().max(1e-9),
                peak,
                ms(native_cpu),
                ms(rust_cpu),
                native_cpu.as_secs_f64() / rust_cpu.as_secs_f64().max(1e-9),
                text.lines().next().unwrap_or("")
            );
        }
    }
    if wants("interp") {
        let sim_empty = simulate_time(&dir, "sim_empty", &program("A.print(0);"));
        println!();
        println!("== native vs the reference interpreter (smaller sizes) ==");
        let small: [Case; 3] = [
            ("fib 30", "fib", 30, fib_body),
            ("merge sort 20,000 Ints", "sort", 20_000, sort_body),
            ("build a 100 kB string", "string", 100_000, string_body),
        ];
        println!(
            "{:<28} {:>10} {:>10} {:>9}",
            "benchmark", "native ms", "interp ms", "speed-up"
        );
        for (label, what, n, body) in small {
            let src = program(&body(n));
            let out = build_native(&dir, &format!("{what}_small"), &src);
            let (t, _) = best_of(5, || {
                let (t, _, _) = run_roles(&out, &["A", "B"]);
                (t, ())
            });
            let native = t.saturating_sub(startup);
            let interp =
                simulate_time(&dir, &format!("{what}_sim"), &src).saturating_sub(sim_empty);
            println!(
                "{label:<28} {:>10.1} {:>10.1} {:>8.0}x",
                ms(native),
                ms(interp),
                interp.as_secs_f64() / native.as_secs_f64().max(1e-4)
            );
        }
    }
    if wants("pingpong") {
        println!();
        println!("== ping-pong ==");
        let rounds = 20_000u32;
        let pp = format!(
        "choreography Ping(A, B)(n: Int@A) {{
    if A.n == 0 {{ A -> B[Stop]; }} else {{ A -> B[Go]; A.n -> B.x; B.x -> A.y; Ping(A, B)(A.y - 1); }}
}}
choreography main(A, B) {{ Ping(A, B)(A.{rounds}); A.print(\"done\"); }}
"
    );
        let out = build_native(&dir, "pingpong", &pp);
        let (t, _) = best_of(3, || {
            let (t, _, _) = run_roles(&out, &["A", "B"]);
            (t, ())
        });
        let native = t.saturating_sub(startup);
        let raw = best_of(3, || (raw_tcp_ping_pong(rounds), ())).0;
        println!(
            "{rounds} round trips: native {:.1} ms, raw TCP {:.1} ms, ratio {:.2}x ({:.1} us per round trip native)",
            ms(native),
            ms(raw),
            native.as_secs_f64() / raw.as_secs_f64(),
            native.as_secs_f64() * 1e6 / f64::from(rounds)
        );
    }
    if wants("compile") {
        println!();
        println!("== compile time per example (check + project + codegen, linking excluded) ==");
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut files: Vec<_> = std::fs::read_dir(&examples)
            .expect("examples")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "chor"))
            .collect();
        files.sort();
        for f in files {
            let src = std::fs::read_to_string(&f).expect("read");
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
            let name = name.unwrap_or_default();
            let t = (0..5)
                .map(|_| {
                    let t = Instant::now();
                    let prog = chor_check::program::from_source(&name, &src, vec![]);
                    let _ = chor_check::check_program(&prog);
                    let locals = chor_project::project_program(&prog, "main").expect("projects");
                    let roles: Vec<String> = locals.iter().map(|l| l.role.clone()).collect();
                    let loc_of = |_s: chor_diagnostics::Span| String::from("x:1");
                    for lp in &locals {
                        let info = chor_codegen::RoleInfo {
                            main_roles: &roles,
                            fingerprint: [0; 32],
                            loc_of: &loc_of,
                            keep_clif: false,
                        };
                        chor_codegen::compile_role(&prog, lp, &info).expect("compiles");
                    }
                    t.elapsed()
                })
                .min()
                .unwrap_or_default();
            let exe = build_native(&dir, &name.replace(".chor", ""), &src);
            let size: u64 = std::fs::read_dir(&exe)
                .map(|d| {
                    d.filter_map(Result::ok)
                        .filter(|e| e.file_name() != "deploy.toml")
                        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
                        .max()
                        .unwrap_or(0)
                })
                .unwrap_or(0);
            println!(
                "{name:<24} {:>7.1} ms   largest executable {:.2} MB",
                ms(t),
                size as f64 / 1e6
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two threads exchanging an 8-byte counter over loopback TCP, `rounds` round trips.
fn raw_tcp_ping_pong(rounds: u32) -> Duration {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("accept");
        s.set_nodelay(true).ok();
        let mut buf = [0u8; 8];
        loop {
            if s.read_exact(&mut buf).is_err() {
                break;
            }
            let n = u64::from_le_bytes(buf);
            s.write_all(&buf).expect("write");
            if n == 0 {
                break;
            }
        }
    });
    let mut c = std::net::TcpStream::connect(addr).expect("connect");
    c.set_nodelay(true).ok();
    let t = Instant::now();
    let mut buf = [0u8; 8];
    for i in (0..u64::from(rounds)).rev() {
        c.write_all(&i.to_le_bytes()).expect("write");
        c.read_exact(&mut buf).expect("read");
    }
    let d = t.elapsed();
    let _ = server.join();
    d
}
