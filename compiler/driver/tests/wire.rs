//! Trust on the wire, tested against real role executables: a man in the middle that replaces
//! messages with random well-framed values of any type (the typed receive must turn each into
//! a clean error or accept it, never crash or trust it), under valgrind once; a stopped peer
//! (SIGSTOP) ends every waiting role within the idle timeout; and the deployment file's
//! `listen` addresses, extra roles and errors with file and line.

mod common;

use common::{chor, ok, temp_dir, text};

use chor_runtime::codec;
use chor_runtime::value::{Message, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

fn build(src: &Path, out: &Path, backend: &str) {
    let o = chor()
        .arg("build")
        .arg(src)
        .arg("-o")
        .arg(out)
        .arg("--backend")
        .arg(backend)
        .output()
        .expect("chor build");
    ok(&o, "chor");
}

fn free_addr() -> SocketAddr {
    chor_runtime::startup::fresh_loopback_addr()
}

/// The roles of a built program, from the `deploy.toml` that `chor build` wrote: a family's
/// list of addresses (`Ps = ["…", "…"]`) stands for its members `Ps[0]`, `Ps[1]`.
fn roles_of(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("deploy.toml")).expect("deploy.toml");
    let mut roles = Vec::new();
    let mut in_roles = false;
    for line in text.lines() {
        if line.starts_with('[') {
            in_roles = line == "[roles]";
        } else if in_roles && let Some((r, v)) = line.split_once('=') {
            let r = r.trim();
            if v.trim().starts_with('[') {
                let members = v.matches(',').count() + 1;
                roles.extend((0..members).map(|i| format!("{r}[{i}]")));
            } else {
                roles.push(r.to_string());
            }
        }
    }
    roles
}

/// Waits for a child with a deadline; kills it if it does not finish.
fn finish(mut c: Child, limit: Duration) -> (Output, bool) {
    let t0 = Instant::now();
    loop {
        if let Ok(Some(_)) = c.try_wait() {
            return (c.wait_with_output().expect("output"), true);
        }
        if t0.elapsed() > limit {
            let _ = c.kill();
            return (c.wait_with_output().expect("output"), false);
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Starts role `role` of the program built in `dir`: its executable, or for a member of a
/// family (`Ws[2]`) the family's executable with `--member 2`.
fn start(dir: &Path, role: &str, cfg: &Path, wrapper: Option<&[&str]>) -> Child {
    let (exe, member) = match chor_runtime::config::split_member(role) {
        Some((family, i)) => (dir.join(family), Some(i)),
        None => (dir.join(role), None),
    };
    let mut cmd = match wrapper {
        Some(w) => {
            let mut c = Command::new(w[0]);
            c.args(&w[1..]).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    if let Some(i) = member {
        cmd.args(["--member", &i.to_string()]);
    }
    cmd.arg("--config")
        .arg(cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start role")
}

// ---------------------------------------------------------------------------------------------
// Random values

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Names that occur in the examples (so that values pass the name check and reach the type
/// check) and some that do not.
const NAMES: &[&str] = &[
    "Some", "None", "Ok", "Err", "Quote", "Order", "Get", "Put", "Nope", "", "Commit", "Abort",
];

fn random_value(r: &mut Rng, depth: u32) -> Value {
    let leaf = depth == 0;
    match r.below(if leaf { 5 } else { 10 }) {
        0 => Value::Unit,
        1 => Value::Bool(r.below(2) == 1),
        2 => Value::Int(match r.below(4) {
            0 => 0,
            1 => i64::MAX,
            2 => i64::MIN,
            _ => r.next() as i64 % 1000,
        }),
        3 => Value::Float(f64::from_bits(r.next())),
        4 => Value::Str(["", "a", "hello", "\u{0}\u{7f}é"][r.below(4) as usize].to_string()),
        5 => Value::Tuple(
            (0..r.below(4))
                .map(|_| random_value(r, depth - 1))
                .collect(),
        ),
        6 => Value::List(
            (0..r.below(4))
                .map(|_| random_value(r, depth - 1))
                .collect(),
        ),
        7 => Value::Map(
            (0..r.below(3))
                .map(|_| (random_value(r, depth - 1), random_value(r, depth - 1)))
                .collect(),
        ),
        8 => Value::Struct {
            name: NAMES[r.below(NAMES.len() as u64) as usize].to_string(),
            fields: (0..r.below(4))
                .map(|_| random_value(r, depth - 1))
                .collect(),
        },
        _ => Value::Variant {
            name: NAMES[r.below(NAMES.len() as u64) as usize].to_string(),
            fields: (0..r.below(3))
                .map(|_| random_value(r, depth - 1))
                .collect(),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// The man in the middle

/// What the proxies share: which value message to replace (counting every value message
/// through every proxy, in both directions), and with what.
struct Mitm {
    seen: AtomicU64,
    target: u64,
    replacement: Vec<u8>,
    /// Instead of value message `target`: frame number `.0` (of any kind, counted over
    /// every proxy and both directions) is changed by `.1`.
    frame_edit: Option<(u64, FrameEdit)>,
    frames: AtomicU64,
    replaced: AtomicBool,
    stop: AtomicBool,
    /// Every proxied socket, shut down when the run ends so no pump thread outlives it.
    sockets: std::sync::Mutex<Vec<TcpStream>>,
}

impl Mitm {
    fn new(target: u64, replacement: Vec<u8>) -> Arc<Mitm> {
        Arc::new(Mitm {
            seen: AtomicU64::new(0),
            target,
            replacement,
            frame_edit: None,
            frames: AtomicU64::new(0),
            replaced: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            sockets: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// A proxy that changes frame number `frame` (of any kind) by `edit`.
    fn editing(frame: u64, edit: FrameEdit) -> Arc<Mitm> {
        let mut m = Mitm::new(u64::MAX, Vec::new());
        if let Some(m) = Arc::get_mut(&mut m) {
            m.frame_edit = Some((frame, edit));
        }
        m
    }

    fn end(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Ok(mut socks) = self.sockets.lock() {
            for s in socks.drain(..) {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

/// What a hostile peer (or anyone on the path) does to one frame.
#[derive(Clone, Debug)]
enum FrameEdit {
    /// Sends these bytes as the frame's body instead.
    Body(Vec<u8>),
    /// Sends the header and half the body, then closes the connection.
    Cut,
    /// Sends this length prefix (and nothing of the body), then keeps the connection open.
    Length(u32),
}

fn read_n(s: &mut TcpStream, n: usize) -> Option<Vec<u8>> {
    let mut b = vec![0u8; n];
    s.read_exact(&mut b).ok()?;
    Some(b)
}

/// Copies the handshake's `prefix` bytes as they are, then frame by frame.
fn pump(mut from: TcpStream, mut to: TcpStream, client_side: bool, m: Arc<Mitm>) {
    let mut handshake = || -> Option<Vec<u8>> {
        let mut from = from.try_clone().ok()?;
        let mut out = Vec::new();
        // Protocol 2 (runtime/src/session/handshake.rs); flags bit 0: a shared secret.
        if client_side {
            // HELLO: magic, version, flags, fingerprint, two names [, SPAKE2 message]; then
            // with a secret the key confirmation.
            out.extend(read_n(&mut from, 38)?);
            for _ in 0..2 {
                let len = read_n(&mut from, 1)?;
                out.extend(&len);
                out.extend(read_n(&mut from, usize::from(len[0]))?);
            }
            if out[5] & 1 != 0 {
                out.extend(read_n(&mut from, 33)?);
                to.write_all(&out).ok()?;
                out = read_n(&mut from, 32)?;
            }
        } else {
            // REPLY [, SPAKE2 message], then (when accepted) the verdict [, confirmation].
            out.extend(read_n(&mut from, 39)?);
            if out[38] == 0 {
                let secret = out[5] & 1 != 0;
                if secret {
                    out.extend(read_n(&mut from, 33)?);
                }
                to.write_all(&out).ok()?;
                out = read_n(&mut from, 1)?;
                if secret && out[0] == 0 {
                    out.extend(read_n(&mut from, 32)?);
                }
            }
        }
        Some(out)
    };
    let Some(prefix) = handshake() else {
        return;
    };
    if to.write_all(&prefix).is_err() {
        return;
    }
    while let Some(header) = read_n(&mut from, 4) {
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let Some(body) = read_n(&mut from, len) else {
            break;
        };
        let mut out = body;
        if let Some((frame, edit)) = &m.frame_edit {
            if m.frames.fetch_add(1, Ordering::SeqCst) == *frame {
                m.replaced.store(true, Ordering::SeqCst);
                match edit {
                    FrameEdit::Body(b) => out = b.clone(),
                    FrameEdit::Cut => {
                        let mut cut = header.clone();
                        cut.extend(&out[..out.len() / 2]);
                        let _ = to.write_all(&cut);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                        let _ = from.shutdown(std::net::Shutdown::Both);
                        return;
                    }
                    FrameEdit::Length(n) => {
                        let _ = to.write_all(&n.to_le_bytes());
                        // The rest never comes; the connection stays open.
                        while !m.stop.load(Ordering::SeqCst) {
                            thread::sleep(Duration::from_millis(5));
                        }
                        return;
                    }
                }
            }
        } else if let Ok(Message::Value(_)) = codec::decode(&out) {
            let k = m.seen.fetch_add(1, Ordering::SeqCst);
            if k == m.target {
                out = m.replacement.clone();
                m.replaced.store(true, Ordering::SeqCst);
            }
        }
        let mut frame = (out.len() as u32).to_le_bytes().to_vec();
        frame.extend(out);
        if to.write_all(&frame).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
    if m.stop.load(Ordering::SeqCst) {
        let _ = from.shutdown(std::net::Shutdown::Both);
    }
}

/// A proxy at `public` for the role listening at `real`.
fn proxy(public: SocketAddr, real: SocketAddr, m: Arc<Mitm>) -> thread::JoinHandle<()> {
    let l = TcpListener::bind(public).expect("bind proxy");
    l.set_nonblocking(true).expect("nonblocking");
    thread::spawn(move || {
        while !m.stop.load(Ordering::SeqCst) {
            match l.accept() {
                Ok((c, _)) => {
                    let _ = c.set_nonblocking(false);
                    let Ok(s) = TcpStream::connect(real) else {
                        continue;
                    };
                    let (c2, s2) = match (c.try_clone(), s.try_clone()) {
                        (Ok(a), Ok(b)) => (a, b),
                        _ => continue,
                    };
                    if let (Ok(mut socks), Ok(a), Ok(b)) =
                        (m.sockets.lock(), c.try_clone(), s.try_clone())
                    {
                        socks.push(a);
                        socks.push(b);
                    }
                    let (m1, m2) = (Arc::clone(&m), Arc::clone(&m));
                    thread::spawn(move || pump(c, s, true, m1));
                    thread::spawn(move || pump(s2, c2, false, m2));
                }
                Err(_) => thread::sleep(Duration::from_millis(2)),
            }
        }
    })
}

/// How one role process ended.
struct Ended {
    role: String,
    status: ExitStatus,
    stderr: String,
    stdout: String,
    finished: bool,
}

/// Runs every role of the program built in `dir`, each reached through a proxy, replacing
/// value message number `target` with `replacement`. Returns how each role ended and whether
/// the replacement happened.
fn run_through_proxies(
    dir: &Path,
    target: u64,
    replacement: Vec<u8>,
    valgrind_role: Option<&str>,
) -> (Vec<Ended>, bool, u64) {
    run_through_proxies_with(dir, target, replacement, valgrind_role, "")
}

/// [`run_through_proxies`] with `runtime` added to the deployment file's `[runtime]` table.
fn run_through_proxies_with(
    dir: &Path,
    target: u64,
    replacement: Vec<u8>,
    valgrind_role: Option<&str>,
    runtime: &str,
) -> (Vec<Ended>, bool, u64) {
    run_through(dir, Mitm::new(target, replacement), valgrind_role, runtime)
}

/// Runs every role of the program built in `dir`, each reached through a proxy doing what
/// `m` says. Returns how each role ended, whether the change happened and how many value
/// messages went through.
fn run_through(
    dir: &Path,
    m: Arc<Mitm>,
    valgrind_role: Option<&str>,
    runtime: &str,
) -> (Vec<Ended>, bool, u64) {
    let roles = roles_of(dir);
    let mut cfg = String::from("[roles]\n");
    let mut proxies = Vec::new();
    for r in &roles {
        let (public, real) = (free_addr(), free_addr());
        cfg.push_str(&format!(
            "\"{r}\" = {{ address = \"{public}\", listen = \"{real}\" }}\n"
        ));
        proxies.push(proxy(public, real, Arc::clone(&m)));
    }
    cfg.push_str("[runtime]\nconnect_timeout_ms = 15000\nidle_timeout_ms = 20000\n");
    cfg.push_str(runtime);
    static RUN: AtomicU64 = AtomicU64::new(0);
    let cfg_path = dir.join(format!("mitm-{}.toml", RUN.fetch_add(1, Ordering::SeqCst)));
    std::fs::write(&cfg_path, cfg).expect("write config");
    let valgrind: &[&str] = &["valgrind", "-q", "--error-exitcode=99"];
    let children: Vec<(String, Child)> = roles
        .iter()
        .map(|r| {
            let w = (valgrind_role == Some(r.as_str())).then_some(valgrind);
            (r.clone(), start(dir, r, &cfg_path, w))
        })
        .collect();
    let ended = children
        .into_iter()
        .map(|(role, c)| {
            let (o, finished) = finish(c, Duration::from_secs(60));
            Ended {
                role,
                status: o.status,
                stderr: text(&o.stderr),
                stdout: text(&o.stdout),
                finished,
            }
        })
        .collect();
    m.end();
    for p in proxies {
        let _ = p.join();
    }
    let _ = std::fs::remove_file(&cfg_path);
    (
        ended,
        m.replaced.load(Ordering::SeqCst),
        m.seen.load(Ordering::SeqCst),
    )
}

/// Every role ended on its own with status 0 or 1 (never a signal, a hang or valgrind's 99);
/// a rejected value is reported with peer, line and both types. Returns whether a role
/// rejected a value's type.
fn assert_clean(example: &str, target: u64, ended: &[Ended]) -> bool {
    let mut rejected = false;
    for e in ended {
        let what = format!(
            "{example}, value message {target}, role {}: {:?}\n{}",
            e.role, e.status, e.stderr
        );
        assert!(e.finished, "hang: {what}");
        assert!(
            matches!(e.status.code(), Some(0 | 1)),
            "crash or memory error: {what}"
        );
        if let Some(line) = e
            .stderr
            .lines()
            .find(|l| l.contains("sent a value of the wrong type"))
        {
            rejected = true;
            let ok = line.starts_with(&format!("error: role {}: peer ", e.role))
                && line.contains(".chor:")
                && line.contains(": expected ")
                && line.contains(", received ");
            assert!(ok, "unclear error: {what}");
        }
    }
    rejected
}

/// The number of value messages in a normal run of the program built in `dir` (which must
/// then give its usual output).
fn value_messages(dir: &Path) -> u64 {
    let (ended, replaced, seen) = run_through_proxies(dir, u64::MAX, Vec::new(), None);
    assert!(!replaced);
    for e in &ended {
        assert!(e.status.success(), "{}: {}", e.role, e.stderr);
    }
    seen
}

fn encode(v: Value) -> Vec<u8> {
    codec::encode(&Message::Value(v))
}

#[test]
fn random_values_at_every_receive_of_every_example_never_crash_a_role() {
    let root = temp_dir("wire-fuzz");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut runs, mut rejected) = (0, 0);
    for ex in common::examples() {
        let name = ex.file_stem().expect("name").to_string_lossy().into_owned();
        let dir = root.join(&name);
        build(&ex, &dir, "native");
        let n = value_messages(&dir);
        // Every receive of a short example; the first dozen of a long one.
        for target in 0..n.min(12) {
            let v = random_value(&mut rng, 3);
            let (ended, replaced, _) = run_through_proxies(&dir, target, encode(v), None);
            let why: Vec<String> = ended
                .iter()
                .map(|e| format!("{}: {}", e.role, e.stderr))
                .collect();
            assert!(replaced, "{name}: message {target} never came: {why:?}");
            rejected += usize::from(assert_clean(&name, target, &ended));
            runs += 1;
        }
    }
    eprintln!("{runs} runs, {rejected} rejected by a typed receive");
    // Most random values have the wrong type; some are right and are accepted.
    assert!(rejected * 2 > runs, "{rejected} of {runs} rejected");
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn the_interpreter_backend_checks_types_too() {
    let dir = temp_dir("wire-interp");
    let ex = common::examples()
        .into_iter()
        .find(|p| p.ends_with("bookseller.chor"))
        .expect("bookseller");
    build(&ex, &dir, "interp");
    // Message 0 is the title (a String), message 1 the price (an Int).
    let wrong = encode(Value::List(vec![Value::Str("x".into())]));
    let (ended, replaced, _) = run_through_proxies(&dir, 1, wrong, None);
    assert!(replaced);
    assert!(assert_clean("bookseller", 1, &ended));
    let buyer = ended.iter().find(|e| e.role == "Buyer").expect("buyer");
    assert!(
        buyer.stderr.contains(
            "error: role Buyer: peer Seller sent a value of the wrong type at prog.chor:"
        ) || buyer
            .stderr
            .contains("sent a value of the wrong type at bookseller.chor:"),
        "{}",
        buyer.stderr
    );
    assert!(
        buyer.stderr.contains("expected Int, received List<String>"),
        "{}",
        buyer.stderr
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The examples' receivers of a wrongly typed list, under valgrind: no invalid read, no
/// leak of a pointer onto the wire.
#[test]
fn a_wrongly_typed_list_is_rejected_cleanly_under_valgrind() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "valgrind is required in CI"
        );
        eprintln!("valgrind not found: skipping");
        return;
    }
    let dir = temp_dir("wire-valgrind");
    let ex = common::examples()
        .into_iter()
        .find(|p| p.ends_with("merge_sort.chor"))
        .expect("merge_sort");
    build(&ex, &dir, "native");
    let roles = roles_of(&dir);
    let n = value_messages(&dir);
    assert!(n > 0);
    // An Int where a list is due, and a list of strings: each receiver, under valgrind.
    let wrongs = [
        Value::Int(7),
        Value::List(vec![Value::Str("a".into()), Value::Str("b".into())]),
    ];
    let mut rejected = 0;
    for (i, w) in wrongs.into_iter().enumerate() {
        let (ended, replaced, _) = run_through_proxies(
            &dir,
            i as u64,
            encode(w),
            Some(roles[i % roles.len()].as_str()),
        );
        assert!(replaced);
        rejected += usize::from(assert_clean("merge_sort", i as u64, &ended));
    }
    assert_eq!(rejected, 2);
    let _ = std::fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------------------------------------
// Liveness

const WAITER: &str = r#"
choreography main(A, B, C) {
    let B.line = read_line();
    B.line -> A.x;
    A.x -> C.y;
    C.print(y);
}
"#;

#[test]
fn a_stopped_peer_ends_every_waiting_role_within_the_idle_timeout() {
    let dir = temp_dir("wire-sigstop");
    let src = dir.join("prog.chor");
    std::fs::write(&src, WAITER).expect("write");
    let out = dir.join("build");
    build(&src, &out, "native");
    let cfg = out.join("deploy.toml");
    let base = std::fs::read_to_string(&cfg).expect("deploy.toml");
    assert!(
        base.contains("idle_timeout_ms = 30000"),
        "chor build writes the default idle timeout: {base}"
    );
    std::fs::write(
        &cfg,
        base.replace("idle_timeout_ms = 30000", "idle_timeout_ms = 1000"),
    )
    .expect("write");
    let spawn = |r: &str, stdin: Stdio| {
        Command::new(out.join(r))
            .arg("--config")
            .arg(&cfg)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start")
    };
    // B waits for a line that never comes (its stdin stays open), alive: its heartbeats
    // keep A waiting. Then B is stopped.
    let b = spawn("B", Stdio::piped());
    let a = spawn("A", Stdio::null());
    let c = spawn("C", Stdio::null());
    thread::sleep(Duration::from_millis(2500));
    assert!(a_alive(&a), "A gave up on a live peer that is only slow");
    let stop = Command::new("kill")
        .args(["-STOP", &b.id().to_string()])
        .status()
        .expect("kill");
    assert!(stop.success());
    let stopped_at = Instant::now();
    let (a_out, a_done) = finish(a, Duration::from_secs(10));
    let (c_out, c_done) = finish(c, Duration::from_secs(10));
    let waited = stopped_at.elapsed();
    let _ = Command::new("kill")
        .args(["-KILL", &b.id().to_string()])
        .status();
    let _ = finish(b, Duration::from_secs(5));
    assert!(a_done && c_done, "roles waiting on a stopped peer hang");
    assert!(waited < Duration::from_secs(4), "{waited:?}");
    let a_err = text(&a_out.stderr);
    assert!(
        a_err.contains(
            "error: role A: timed out after 1000 ms waiting to receive from peer B at prog.chor:4"
        ),
        "{a_err}"
    );
    let c_err = text(&c_out.stderr);
    assert!(
        c_err.contains(
            "error: role C: peer A disconnected while C was waiting to receive at prog.chor:5"
        ),
        "{c_err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn a_alive(c: &Child) -> bool {
    // A process is alive while /proc has it and it is not a zombie.
    std::fs::read_to_string(format!("/proc/{}/stat", c.id()))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------------------------
// The deployment file

const PAIR: &str = r#"
choreography main(A, B) {
    let A.n = 41;
    A.n -> B.m;
    B.print(m + 1);
}
"#;

fn build_pair(name: &str) -> PathBuf {
    let dir = temp_dir(&format!("wire-{name}"));
    let src = dir.join("prog.chor");
    std::fs::write(&src, PAIR).expect("write");
    let out = dir.join("build");
    build(&src, &out, "native");
    out
}

fn run_with(out: &Path, cfg: &str) -> Vec<(String, Output)> {
    let path = out.join("custom.toml");
    std::fs::write(&path, cfg).expect("write");
    let children: Vec<_> = ["A", "B"]
        .iter()
        .map(|r| (r.to_string(), start(out, r, &path, None)))
        .collect();
    children
        .into_iter()
        .map(|(r, c)| {
            let (o, done) = finish(c, Duration::from_secs(20));
            assert!(done, "role {r} hangs");
            (r, o)
        })
        .collect()
}

#[test]
fn listen_addresses_differ_from_advertised_ones() {
    let out = build_pair("listen");
    // B is reached at one port and listens on another: a forwarder stands for the NAT.
    let (public, real) = (free_addr(), free_addr());
    let m = Mitm::new(u64::MAX, Vec::new());
    let p = proxy(public, real, Arc::clone(&m));
    let cfg = format!(
        "[roles]\nA = \"{}\"\nB = {{ address = \"{public}\", listen = \"{real}\" }}\n",
        free_addr()
    );
    let r = run_with(&out, &cfg);
    m.end();
    let _ = p.join();
    for (role, o) in &r {
        ok(o, role);
    }
    assert_eq!(text(&r[1].1.stdout), "42\n");
    assert_eq!(
        m.seen.load(Ordering::SeqCst),
        1,
        "the message went through the forwarder"
    );
}

#[test]
fn host_names_resolve_while_connecting() {
    let out = build_pair("hosts");
    let (a, b) = (free_addr(), free_addr());
    let cfg = format!(
        "[roles]\nA = \"localhost:{}\"\nB = \"localhost:{}\"\n",
        a.port(),
        b.port()
    );
    let r = run_with(&out, &cfg);
    for (role, o) in &r {
        ok(o, role);
    }
}

/// One role's error for a deployment file (the file is rejected before connecting).
fn config_error(out: &Path, cfg: &str) -> String {
    let path = out.join("bad.toml");
    std::fs::write(&path, cfg).expect("write");
    let (o, done) = finish(start(out, "A", &path, None), Duration::from_secs(20));
    assert!(done);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    text(&o.stderr)
}

#[test]
fn deployment_file_errors_name_the_file_and_line() {
    let out = build_pair("cfgerr");
    let file = out.join("bad.toml").display().to_string();
    let (a, b, c) = (free_addr(), free_addr(), free_addr());
    // An extra role.
    let e = config_error(
        &out,
        &format!("[roles]\nA = \"{a}\"\nB = \"{b}\"\nC = \"{c}\"\n"),
    );
    assert!(
        e.contains(&format!(
            "{file}:4: role C is not a role of this program (its roles are A, B)"
        )),
        "{e}"
    );
    // A missing role.
    let e = config_error(&out, &format!("[roles]\nA = \"{a}\"\n"));
    assert!(e.contains(&format!("{file}: role B has no address")), "{e}");
    // Two roles at one address.
    let e = config_error(&out, &format!("[roles]\nA = \"{a}\"\n\nB = \"{a}\"\n"));
    assert!(
        e.contains(&format!(
            "{file}:4: roles A and B both use {a} (A is on line 2)"
        )),
        "{e}"
    );
    // A bad value, an unknown key, bad TOML.
    let e = config_error(
        &out,
        &format!("[roles]\nA = \"{a}\"\nB = \"{b}\"\n[runtime]\nidle_timeout_ms = 0\n"),
    );
    assert!(
        e.contains(&format!("{file}:5: `runtime.idle_timeout_ms` must be")),
        "{e}"
    );
    let e = config_error(
        &out,
        &format!("[roles]\nA = \"{a}\"\nB = {{ address = \"{b}\", lisen = \"{b}\" }}\n"),
    );
    assert!(
        e.contains(&format!("{file}:3: unknown key `roles.B.lisen`")),
        "{e}"
    );
    let e = config_error(&out, "[roles]\nA = \"x\n");
    assert!(e.contains(&format!("{file}:2: invalid TOML")), "{e}");
}

#[test]
fn a_secret_file_others_can_read_is_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let out = build_pair("secretmode");
    let key = out.join("cluster.key");
    std::fs::write(&key, "correct horse battery staple\n").expect("key");
    let (a, b) = (free_addr(), free_addr());
    let cfg =
        format!("[roles]\nA = \"{a}\"\nB = \"{b}\"\n[security]\nsecret_file = \"cluster.key\"\n");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let r = run_with(&out, &cfg);
    for (role, o) in &r {
        ok(o, role);
        let err = text(&o.stderr);
        assert!(
            err.contains(&format!("warning: role {role}: the secret file"))
                && err.contains("can be read by other users (mode 644)"),
            "{err}"
        );
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let r = run_with(&out, &cfg);
    for (role, o) in &r {
        ok(o, role);
        assert!(!text(&o.stderr).contains("warning"), "{}", text(&o.stderr));
    }
}

// ---------------------------------------------------------------------------------------------
// Deep values

fn deep_program(depth: u64) -> String {
    format!(
        r#"
enum Tree {{ Leaf, Node(Tree) }}

fn deep(n: Int, t: Tree) -> Tree {{
    if n == 0 {{ t }} else {{ deep(n - 1, Node(t)) }}
}}

choreography main(A, B) {{
    let A.t = deep({depth}, Leaf);
    A.t -> B.t;
    B.print("received");
}}
"#
    )
}

fn run_program(name: &str, src: &str, backend: &str) -> Output {
    let dir = temp_dir(&format!("wire-{name}"));
    let file = dir.join("prog.chor");
    std::fs::write(&file, src).expect("write");
    let o = chor()
        .arg("run")
        .arg(&file)
        .arg("--backend")
        .arg(backend)
        .output()
        .expect("chor run");
    let _ = std::fs::remove_dir_all(dir);
    o
}

#[test]
fn the_sender_refuses_a_value_deeper_than_a_message_may_be() {
    // The same words in every back end, the reference interpreter included.
    const REFUSED: &str = "error: role A: cannot send a value nested deeper than 512 levels to peer B (the limit of a message) at prog.chor:10";
    // Ten million levels natively (the check stops at level 513, without recursion); the
    // interpreter builds its values recursively, so it gets a shallower one.
    for (backend, depth) in [("native", 10_000_000), ("interp", 20_000)] {
        let o = run_program(&format!("deep-{backend}"), &deep_program(depth), backend);
        assert_eq!(o.status.code(), Some(1), "{backend}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(REFUSED),
            "{backend}: {}",
            text(&o.stderr)
        );
    }
    // The limit itself travels.
    for backend in ["native", "interp"] {
        let o = run_program(&format!("limit-{backend}"), &deep_program(512), backend);
        ok(&o, backend);
        assert_eq!(text(&o.stdout), "[B] received\n");
    }
}

// ---------------------------------------------------------------------------------------------
// Decoded size

const BOOLS: &str = r#"
choreography main(A, B) {
    let A.xs = [true, false, true];
    A.xs -> B.ys;
    B.print("received");
}
"#;

/// A well-typed frame of many tiny elements (200,000 `Bool`s, 200 KB on the wire, 3.2 MB as
/// native values and 11 MB as a wire tree), within `max_message_bytes` (256 KiB), is refused
/// by the receiving role executable of either back end for the memory it would take, with
/// an error naming the peer and the line; nothing crashes. The unaltered run passes.
#[test]
fn a_frame_of_tiny_elements_is_refused_by_both_back_ends() {
    let hostile = encode(Value::List(vec![Value::Bool(true); 200_000]));
    for backend in ["native", "interp"] {
        let dir = temp_dir(&format!("wire-budget-{backend}"));
        let src = dir.join("prog.chor");
        std::fs::write(&src, BOOLS).expect("write");
        let out = dir.join("out");
        build(&src, &out, backend);
        let limit = "max_message_bytes = 262144\n";
        let (ended, _, seen) = run_through_proxies_with(&out, u64::MAX, Vec::new(), None, limit);
        assert_eq!(seen, 1, "{backend}");
        for e in &ended {
            assert!(e.status.success(), "{backend}, {}: {}", e.role, e.stderr);
        }
        let (ended, replaced, _) = run_through_proxies_with(&out, 0, hostile.clone(), None, limit);
        assert!(replaced, "{backend}");
        assert!(
            !assert_clean("bools", 0, &ended),
            "{backend}: not a type error"
        );
        let b = ended.iter().find(|e| e.role == "B").expect("role B");
        assert_eq!(b.status.code(), Some(1), "{backend}: {}", b.stderr);
        let line = b
            .stderr
            .lines()
            .find(|l| l.contains("would take more than"))
            .unwrap_or_default();
        assert!(
            line.starts_with(
                "error: role B: peer A sent a bad frame while B was waiting to receive at prog.chor:4: \
                 a message of 200006 bytes would take more than 804120 bytes of memory once decoded"
            ),
            "{backend}: {}",
            b.stderr
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

const INTS: &str = r#"
choreography main(A, B) {
    let A.xs = [1, 2, 3];
    A.xs -> B.ys;
    B.print(to_string(list::len(ys)) ++ " " ++ to_string(list::sum(ys)));
}
"#;

/// Both back ends receive the same messages within the same budget: a list of two million
/// small Ints (4 MB on the wire; 16 MB of native values, 32 MB of interpreter values, 112 MB
/// as a wire value tree), at the default `max_message_bytes`, arrives whole in the role
/// executables of either back end.
#[test]
fn a_list_of_two_million_ints_reaches_both_back_ends() {
    let n: i64 = 2_000_000;
    let big = encode(Value::List((0..n).map(|i| Value::Int(i % 50)).collect()));
    let sum: i64 = (0..n).map(|i| i % 50).sum();
    for backend in ["native", "interp"] {
        let dir = temp_dir(&format!("wire-ints-{backend}"));
        let src = dir.join("prog.chor");
        std::fs::write(&src, INTS).expect("write");
        let out = dir.join("out");
        build(&src, &out, backend);
        let (ended, replaced, _) = run_through_proxies_with(&out, 0, big.clone(), None, "");
        assert!(replaced, "{backend}");
        let b = ended.iter().find(|e| e.role == "B").expect("role B");
        assert!(b.status.success(), "{backend}: {}", b.stderr);
        assert_eq!(b.stdout, format!("{n} {sum}\n"), "{backend}");
        let _ = std::fs::remove_dir_all(dir);
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile frames, both back ends

/// A value (message 0, A to B), then a selection and a value back (messages 1 and 2).
const SELECT: &str = r#"
choreography main(A, B) {
    let A.n = 41;
    A.n -> B.m;
    if B.m > 0 {
        B -> A[Yes];
        B.m -> A.k;
        A.print(k + 1);
    } else {
        B -> A[No];
        A.print("no");
    }
}
"#;

/// Every kind of bad frame a peer (or anyone on the path of a plaintext connection) can
/// send where a role waits, against the role executables of both back ends: a selection
/// where a value is due and the other way round, a label the receive does not offer, bytes
/// that are no message, a message with bytes after it or of another format version, a frame
/// cut by the end of the connection, a length prefix over the limit. Each ends the receiving
/// role with status 1 and one error naming it, the peer and the line, in the same words in
/// both back ends; no role crashes or hangs.
#[test]
fn hostile_frames_are_refused_alike_by_both_back_ends() {
    let label = |l: &str| codec::encode(&Message::Label(l.into()));
    let mut trailing = encode(Value::Int(41));
    trailing.push(0);
    let mut version = encode(Value::Int(41));
    version[0] = 9;
    // (frame, edit, receiving role, what its error says)
    let cases: Vec<(u64, FrameEdit, &str, &str)> = vec![
        (
            0,
            FrameEdit::Body(label("Yes")),
            "B",
            "peer A sent label Yes",
        ),
        (
            1,
            FrameEdit::Body(encode(Value::Int(3))),
            "A",
            "peer B sent a value",
        ),
        (
            1,
            FrameEdit::Body(label("Maybe")),
            "A",
            "peer B sent label Maybe",
        ),
        (
            0,
            FrameEdit::Body(vec![1, 0, 0x77]),
            "B",
            "peer A sent a bad frame",
        ),
        (0, FrameEdit::Body(trailing), "B", "peer A sent a bad frame"),
        (0, FrameEdit::Body(version), "B", "peer A sent a bad frame"),
        (
            2,
            FrameEdit::Body(encode(Value::Str("x".into()))),
            "A",
            "peer B sent a value of the wrong type",
        ),
        (
            0,
            FrameEdit::Cut,
            "B",
            "peer A disconnected while B was waiting to receive",
        ),
        (
            0,
            FrameEdit::Length(u32::MAX),
            "B",
            "peer A sent a bad frame",
        ),
        (
            0,
            FrameEdit::Length((1 << 20) + 1),
            "B",
            "peer A sent a bad frame",
        ),
    ];
    let root = temp_dir("wire-hostile");
    let src = root.join("prog.chor");
    std::fs::write(&src, SELECT).expect("write");
    let mut lines: Vec<Vec<String>> = Vec::new();
    for backend in ["native", "interp"] {
        let dir = root.join(backend);
        build(&src, &dir, backend);
        let mut errors = Vec::new();
        for (frame, edit, role, says) in &cases {
            let m = Mitm::editing(*frame, edit.clone());
            let (ended, replaced, _) = run_through(&dir, m, None, "max_message_bytes = 1048576\n");
            let what = |e: &Ended| {
                format!(
                    "{backend}, frame {frame} {edit:?}: role {}: {:?}\n{}",
                    e.role, e.status, e.stderr
                )
            };
            assert!(replaced, "{backend}: frame {frame} never came");
            for e in &ended {
                assert!(e.finished, "hang: {}", what(e));
                assert!(matches!(e.status.code(), Some(0 | 1)), "crash: {}", what(e));
            }
            let r = ended.iter().find(|e| e.role == *role).expect("role");
            assert_eq!(r.status.code(), Some(1), "{}", what(r));
            let first = r
                .stderr
                .lines()
                .find(|l| l.starts_with("error: "))
                .unwrap_or("");
            assert!(
                first.starts_with(&format!("error: role {role}: {says}"))
                    && first.contains("prog.chor:"),
                "{}",
                what(r)
            );
            errors.push(first.to_string());
        }
        lines.push(errors);
    }
    assert_eq!(
        lines[0], lines[1],
        "the back ends word the errors differently"
    );
    let _ = std::fs::remove_dir_all(root);
}
