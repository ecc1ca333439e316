//! Families of roles, measured side by side in one run (`cargo bench -p chor --bench
//! families`, or `--profile dev` to skip the release build of `chor`: the runtime linked into
//! native executables is always built in release; `CHOR_BENCH_ROUNDS` sets the rounds; not
//! built by `cargo test`):
//! - **gather**: a leader sends a round number to 16 members and gathers one Int from each,
//!   many rounds; chor native (17 processes) against a hand-written Rust program doing the
//!   same fan-in with 16 threads and std TCP (`TCP_NODELAY`, one 8-byte write per message).
//!   Both are timed at two round counts and the difference divided by the extra rounds, so
//!   process start-up and connection set-up cancel out; the ratio is per round.
//! - **start-up**: `chor run` of a 16-member family, and of the same executables started by
//!   hand: the time until the first member prints what the first message brought, against a
//!   family of one.
//! - **memory**: the peak resident set of every process of `examples/map_reduce.chor` with 16
//!   workers (by `/usr/bin/time -f %M`), against the goal of 5 MB per member.
//! - **code**: the size of the `Workers` executable of `examples/map_reduce.chor` and the
//!   time `chor build` takes, at 4 and 16 workers, with the code of a class of alike members
//!   compiled once (as `chor build` does) against every member compiled on its own
//!   (`CHOR_FAMILY_PER_MEMBER=1`, the baseline).
//!
//! `CHOR_BENCH_ONLY=code` (or `gather`, `startup`, `memory`) runs one of them.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::chor;

const MEMBERS: usize = 16;

fn work() -> PathBuf {
    let d = std::env::temp_dir().join(format!("chor-bench-families-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Writes `src` to `dir/NAME.chor` and builds it natively at `--size size`.
fn build(dir: &Path, name: &str, src: &str, size: &str) -> PathBuf {
    let file = dir.join(format!("{name}.chor"));
    std::fs::write(&file, src).expect("write");
    build_file(dir, name, &file, size)
}

fn build_file(dir: &Path, name: &str, file: &Path, size: &str) -> PathBuf {
    let out = dir.join(name);
    let o = chor()
        .args(["build", "--backend", "native", "--size", size, "-o"])
        .arg(&out)
        .arg(file)
        .output()
        .expect("chor runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// The gather loop: every round the leader tells each member the round (a broadcast) and
/// gathers one Int from each; the rounds are counted by a value every role agrees on, so no
/// selection is sent.
fn gather_program(rounds: u64) -> String {
    format!(
        "choreography Rounds(L, Ws[])(k: Int@(L, Ws), acc: Int@L) {{
    if (L, Ws).k == 0 {{
        L.print(acc);
    }} else {{
        L.k -> Ws.r;
        Ws.(r + index(Ws)) -> L.vs;
        Rounds(L, Ws)((L, Ws).(k - 1), L.((acc + list::sum(vs)) % 1000003));
    }}
}}

choreography main(L, Ws[]) {{
    let (L, Ws).k = {rounds};
    Rounds(L, Ws)((L, Ws).k, L.0);
}}
"
    )
}

/// Starts the leader and every member of a native build (`--member i`), stdout piped.
fn start(out: &Path, leader: &str, family: &str, n: usize) -> Vec<Child> {
    let cfg = out.join("deploy.toml");
    let mut children = vec![
        Command::new(out.join(leader))
            .arg("--config")
            .arg(&cfg)
            .stdout(Stdio::piped())
            .spawn()
            .expect("leader starts"),
    ];
    for i in 0..n {
        children.push(
            Command::new(out.join(family))
                .arg("--config")
                .arg(&cfg)
                .args(["--member", &i.to_string()])
                .stdout(Stdio::piped())
                .spawn()
                .expect("member starts"),
        );
    }
    children
}

/// Runs a build to the end; returns the wall time and the leader's output.
fn run_all(out: &Path, n: usize) -> (Duration, String) {
    let t = Instant::now();
    let children = start(out, "L", "Ws", n);
    let mut leader = String::new();
    for (k, c) in children.into_iter().enumerate() {
        let o = c.wait_with_output().expect("ends");
        assert!(o.status.success(), "process {k} failed");
        if k == 0 {
            leader = String::from_utf8_lossy(&o.stdout).into_owned();
        }
    }
    (t.elapsed(), leader)
}

fn best<T>(n: usize, mut f: impl FnMut() -> (Duration, T)) -> (Duration, T) {
    let mut best = f();
    for _ in 1..n {
        let r = f();
        if r.0 < best.0 {
            best = r;
        }
    }
    best
}

/// The same fan-in by hand: a leader thread and `n` member threads over loopback TCP.
/// Returns the time of `rounds` rounds (after every connection is made) and the checksum.
fn rust_fan_in(rounds: u64, n: usize) -> (Duration, i64) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let members: Vec<_> = (0..n)
        .map(|i| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).expect("connect");
                s.set_nodelay(true).expect("nodelay");
                s.write_all(&(i as u64).to_le_bytes()).expect("hello");
                let mut b = [0u8; 8];
                for _ in 0..rounds {
                    s.read_exact(&mut b).expect("read");
                    let r = i64::from_le_bytes(b);
                    s.write_all(&(r + i as i64).to_le_bytes()).expect("write");
                }
            })
        })
        .collect();
    let mut conns: Vec<Option<TcpStream>> = (0..n).map(|_| None).collect();
    for _ in 0..n {
        let (mut s, _) = listener.accept().expect("accept");
        s.set_nodelay(true).expect("nodelay");
        let mut b = [0u8; 8];
        s.read_exact(&mut b).expect("hello");
        conns[u64::from_le_bytes(b) as usize] = Some(s);
    }
    let mut conns: Vec<TcpStream> = conns
        .into_iter()
        .map(|c| c.expect("every member"))
        .collect();
    let t = Instant::now();
    let mut acc = 0i64;
    for k in (1..=rounds as i64).rev() {
        for c in &mut conns {
            c.write_all(&k.to_le_bytes()).expect("send");
        }
        let mut sum = 0;
        let mut b = [0u8; 8];
        for c in &mut conns {
            c.read_exact(&mut b).expect("gather");
            sum += i64::from_le_bytes(b);
        }
        acc = (acc + sum) % 1_000_003;
    }
    let took = t.elapsed();
    for m in members {
        m.join().expect("member");
    }
    (took, acc)
}

fn gather(dir: &Path, rounds: u64) {
    let few = rounds / 10;
    let size = format!("Ws={MEMBERS}");
    let a = build(dir, "gather_few", &gather_program(few), &size);
    let b = build(dir, "gather_many", &gather_program(rounds), &size);
    let (ta, _) = best(3, || run_all(&a, MEMBERS));
    let (tb, out) = best(3, || run_all(&b, MEMBERS));
    let (ra, _) = best(3, || rust_fan_in(few, MEMBERS));
    let (rb, sum) = best(3, || rust_fan_in(rounds, MEMBERS));
    assert_eq!(
        out.trim(),
        sum.to_string(),
        "both compute the same checksum"
    );
    let extra = (rounds - few) as f64;
    let chor_round = tb.saturating_sub(ta).as_secs_f64() / extra;
    let rust_round = rb.saturating_sub(ra).as_secs_f64() / extra;
    println!(
        "== gather of one Int from {MEMBERS} members (plus the round's broadcast), {few} and {rounds} rounds =="
    );
    println!(
        "chor native, 17 processes:   {:>8.2} µs per round ({ta:?} / {tb:?} in all)",
        chor_round * 1e6
    );
    println!(
        "Rust threads over std TCP:   {:>8.2} µs per round ({ra:?} / {rb:?} after connecting)",
        rust_round * 1e6
    );
    println!(
        "ratio chor / Rust: {:.2} (goal <= 1.3)",
        chor_round / rust_round.max(1e-12)
    );
}

const FIRST: &str = "choreography main(L, Ws[]) {
    L.1 -> Ws.x;
    Ws.print(\"got \" ++ to_string(x));
}
";

/// Time from `spawn` to the first line with "got" on the child's standard output.
fn first_line(mut c: Child, t: Instant) -> Duration {
    let out = c.stdout.take().expect("piped");
    let mut lines = BufReader::new(out).lines();
    let mut at = None;
    for l in lines.by_ref() {
        if at.is_none() && l.expect("utf-8").contains("got") {
            at = Some(t.elapsed());
        }
    }
    assert!(c.wait().expect("ends").success());
    at.expect("a member printed")
}

/// `chor run` of FIRST at `n` members: time to the first message's line.
fn chor_run_first(file: &Path, n: usize) -> Duration {
    let t = Instant::now();
    let c = chor()
        .args(["run", "--backend", "native", "--size", &format!("Ws={n}")])
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chor runs");
    first_line(c, t)
}

/// The built executables of FIRST started by hand: time to the first message's line.
fn started_first(out: &Path, n: usize) -> Duration {
    let t = Instant::now();
    let mut children = start(out, "L", "Ws", n);
    let members = children.split_off(1);
    let firsts: Vec<Duration> = members.into_iter().map(|c| first_line(c, t)).collect();
    for c in children {
        assert!(c.wait_with_output().expect("ends").status.success());
    }
    firsts.into_iter().min().unwrap_or_default()
}

fn startup(dir: &Path) {
    let file = dir.join("first.chor");
    std::fs::write(&file, FIRST).expect("write");
    let one = build_file(dir, "first1", &file, "Ws=1");
    let many = build_file(dir, "first16", &file, &format!("Ws={MEMBERS}"));
    let run1 = best(3, || (chor_run_first(&file, 1), ())).0;
    let run16 = best(3, || (chor_run_first(&file, MEMBERS), ())).0;
    let s1 = best(5, || (started_first(&one, 1), ())).0;
    let s16 = best(5, || (started_first(&many, MEMBERS), ())).0;
    println!("== start-up: time to the first message's line ==");
    println!("`chor run` (build included), 1 member:   {run1:?}");
    println!(
        "`chor run` (build included), {MEMBERS} members: {run16:?} (ratio {:.2})",
        run16.as_secs_f64() / run1.as_secs_f64()
    );
    println!("built executables started, 1 member:     {s1:?}");
    println!(
        "built executables started, {MEMBERS} members:   {s16:?} (ratio {:.2})",
        s16.as_secs_f64() / s1.as_secs_f64()
    );
}

/// Peak resident set (kB) of every process of a run, leader first.
fn peaks(out: &Path, n: usize) -> Vec<u64> {
    let cfg = out.join("deploy.toml");
    let spawn = |exe: PathBuf, member: Option<usize>, file: PathBuf| {
        let mut c = Command::new("/usr/bin/time");
        c.args(["-f", "%M", "-o"]).arg(&file).arg(exe);
        c.arg("--config").arg(&cfg);
        if let Some(i) = member {
            c.args(["--member", &i.to_string()]);
        }
        (c.stdout(Stdio::null()).spawn().expect("starts"), file)
    };
    let mut children = vec![spawn(out.join("Leader"), None, out.join("rss-leader"))];
    for i in 0..n {
        children.push(spawn(
            out.join("Workers"),
            Some(i),
            out.join(format!("rss-{i}")),
        ));
    }
    children
        .into_iter()
        .map(|(mut c, file)| {
            assert!(c.wait().expect("ends").success());
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            text.lines()
                .rev()
                .find_map(|l| l.trim().parse().ok())
                .unwrap_or(0)
        })
        .collect()
}

fn memory(dir: &Path) {
    if !Path::new("/usr/bin/time").exists() {
        println!("== memory: /usr/bin/time is not installed, skipped ==");
        return;
    }
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/map_reduce.chor");
    let out = build_file(dir, "map_reduce", &example, &format!("Workers={MEMBERS}"));
    let all = peaks(&out, MEMBERS);
    let members = &all[1..];
    let max = members.iter().copied().max().unwrap_or(0);
    let mean = members.iter().sum::<u64>() as f64 / members.len().max(1) as f64;
    println!("== memory: map_reduce.chor with {MEMBERS} workers, native, peak resident set ==");
    println!("leader: {} kB", all[0]);
    println!(
        "members: mean {mean:.0} kB, max {max} kB; ratio max / 5 MB goal: {:.2}",
        max as f64 / 5120.0
    );
}

fn main() {
    let rounds: u64 = std::env::var("CHOR_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let dir = work();
    let only = std::env::var("CHOR_BENCH_ONLY").ok();
    let run = |name: &str| only.as_deref().is_none_or(|o| o == name);
    if run("gather") {
        gather(&dir, rounds);
    }
    if run("startup") {
        startup(&dir);
    }
    if run("memory") {
        memory(&dir);
    }
    if run("code") {
        code(&dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The family executable's size and the build's wall time, classes against every member
/// compiled on its own, for map-reduce at 4 and 16 workers (the best of 3 builds each).
fn code(dir: &Path) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/map_reduce.chor");
    println!("code: examples/map_reduce.chor, the Workers executable (best of 3 builds)");
    let mut sizes = Vec::new();
    for n in [4, 16] {
        let size = format!("Workers={n}");
        let measure = |per_member: bool| {
            let out = dir.join(format!("code-{n}-{per_member}"));
            let mut best_time = Duration::MAX;
            for _ in 0..3 {
                let _ = std::fs::remove_dir_all(&out);
                let mut cmd = chor();
                cmd.args(["build", "--backend", "native", "--size", &size, "-o"])
                    .arg(&out)
                    .arg(&file);
                if per_member {
                    cmd.env("CHOR_FAMILY_PER_MEMBER", "1");
                } else {
                    cmd.env_remove("CHOR_FAMILY_PER_MEMBER");
                }
                let t = Instant::now();
                let o = cmd.output().expect("chor runs");
                let took = t.elapsed();
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                best_time = best_time.min(took);
            }
            let exe = out.join("Workers");
            let bytes = std::fs::metadata(&exe)
                .expect("the family's executable")
                .len();
            (bytes, text_size(&exe), best_time)
        };
        let (base_bytes, base_text, base_time) = measure(true);
        let (bytes, text, time) = measure(false);
        println!(
            "  {n:>2} workers: executable {bytes} bytes, every member on its own {base_bytes} bytes \
             (ratio {:.3}); build {:.2} s, every member on its own {:.2} s (ratio {:.3})",
            bytes as f64 / base_bytes as f64,
            time.as_secs_f64(),
            base_time.as_secs_f64(),
            time.as_secs_f64() / base_time.as_secs_f64(),
        );
        if let (Some(t), Some(bt)) = (text, base_text) {
            println!("      code (text section) {t} bytes, every member on its own {bt} bytes");
        }
        sizes.push((bytes, base_bytes, text, base_text));
    }
    // Most of the executable is the runtime; what each further member adds is the code.
    if let [(a, base_a, ta, base_ta), (b, base_b, tb, base_tb)] = sizes[..] {
        let per = b.saturating_sub(a) as f64 / 12.0;
        let base_per = base_b.saturating_sub(base_a) as f64 / 12.0;
        println!(
            "  each further worker adds {per:.0} bytes to the executable, every member on its \
             own {base_per:.0} bytes"
        );
        if let (Some(ta), Some(base_ta), Some(tb), Some(base_tb)) = (ta, base_ta, tb, base_tb) {
            let per = tb.saturating_sub(ta) as f64 / 12.0;
            let base_per = base_tb.saturating_sub(base_ta) as f64 / 12.0;
            println!(
                "  and {per:.0} bytes of code, every member on its own {base_per:.0} bytes \
                 (ratio {:.3})",
                per / base_per.max(1.0)
            );
        }
    }
}

/// The size of an executable's code (`size`'s text column), if `size` is there.
fn text_size(exe: &Path) -> Option<u64> {
    let o = Command::new("size").arg(exe).output().ok()?;
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    out.lines().nth(1)?.split_whitespace().next()?.parse().ok()
}
