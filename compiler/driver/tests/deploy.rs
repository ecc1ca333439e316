//! Role executables deployed by hand, as on separate machines: `chor build`, then
//! `./Role --config deploy.toml` in any start order, with a shared secret, and the faults of the
//! design card (absent peer, killed peer, wrong secret, wrong program, garbage on the port,
//! runtime fault) each ending in a clear error — never a hang.

mod common;

use common::{build_in, chor, ok, temp_dir, text};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn start(exe: &Path, config: &Path) -> Child {
    Command::new(exe)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start role")
}

/// Wait with a deadline; kill on timeout so a hang fails the test instead of blocking it.
fn finish(mut c: Child, limit: Duration) -> Output {
    let t0 = Instant::now();
    loop {
        if let Ok(Some(_)) = c.try_wait() {
            return c.wait_with_output().expect("output");
        }
        if t0.elapsed() > limit {
            let _ = c.kill();
            let o = c.wait_with_output().expect("output");
            panic!(
                "role did not finish within {limit:?}; stderr: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn set_config(dir: &Path, extra: &str) -> PathBuf {
    let cfg = dir.join("deploy.toml");
    let base = std::fs::read_to_string(&cfg).expect("deploy.toml");
    let base = base.replace("connect_timeout_ms = 10000", "connect_timeout_ms = 3000");
    std::fs::write(&cfg, format!("{base}{extra}")).expect("write");
    cfg
}

const BOOKSELLER: &str = include_str!("../../../examples/bookseller.chor");

#[test]
fn roles_start_in_any_order_and_share_a_secret() {
    let dir = temp_dir("deploy-order");
    let out = build_in(&dir, BOOKSELLER);
    std::fs::write(out.join("cluster.key"), "correct horse battery staple\n").expect("key");
    let cfg = set_config(&out, "\n[security]\nsecret_file = \"cluster.key\"\n");
    // Buyer first this time, Seller a little later.
    let buyer = start(&out.join("Buyer"), &cfg);
    std::thread::sleep(Duration::from_millis(300));
    let seller = start(&out.join("Seller"), &cfg);
    let b = finish(buyer, Duration::from_secs(20));
    let s = finish(seller, Duration::from_secs(20));
    ok(&b, "chor");
    ok(&s, "chor");
    assert_eq!(text(&b.stdout), "buying for 87\n");
    assert_eq!(text(&s.stdout), "sold Types and Programming Languages\n");
}

#[test]
fn absent_peer_times_out_with_a_clear_error() {
    let dir = temp_dir("deploy-absent");
    let out = build_in(&dir, BOOKSELLER);
    let cfg = set_config(&out, "");
    let t0 = Instant::now();
    let b = finish(start(&out.join("Buyer"), &cfg), Duration::from_secs(20));
    assert!(!b.status.success());
    assert!(t0.elapsed() < Duration::from_secs(15));
    let err = text(&b.stderr);
    assert!(err.contains("Buyer") && err.contains("Seller"), "{err}");
    // No action is pending yet: the error names the first one with the absent peer.
    let first = BOOKSELLER
        .lines()
        .position(|l| l.contains("Buyer.title -> Seller.title;"))
        .expect("the first message")
        + 1;
    assert!(
        err.contains(&format!(
            "the first action with Seller is at prog.chor:{first}"
        )),
        "{err}"
    );
}

#[test]
fn killed_peer_is_reported_with_the_pending_line() {
    let dir = temp_dir("deploy-killed");
    let out = build_in(
        &dir,
        "choreography main(A, B) {\n    let A.n = read_line();\n    A.n -> B.x;\n    B.print(x);\n}\n",
    );
    let cfg = set_config(&out, "");
    let a = start(&out.join("A"), &cfg); // blocks reading stdin
    let b = start(&out.join("B"), &cfg); // waits for A's message
    // Give both time to connect (generous: CI machines are busy).
    std::thread::sleep(Duration::from_millis(2000));
    let mut a = a;
    let _ = a.kill();
    let _ = a.wait();
    let b = finish(b, Duration::from_secs(20));
    assert!(!b.status.success());
    let err = text(&b.stderr);
    assert!(err.contains("role B"), "{err}");
    assert!(err.contains("peer A"), "{err}");
    assert!(err.contains("prog.chor:3"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn wrong_secret_and_garbage_are_refused_and_the_run_completes() {
    let dir = temp_dir("deploy-secret");
    let out = build_in(&dir, BOOKSELLER);
    std::fs::write(out.join("good.key"), "the real secret, long enough").expect("key");
    std::fs::write(out.join("bad.key"), "a guess that is long enough too").expect("key");
    let good = set_config(&out, "\n[security]\nsecret_file = \"good.key\"\n");
    let text_cfg = std::fs::read_to_string(&good).expect("cfg");
    // The real roles wait long enough for the impostor to give up first.
    std::fs::write(
        &good,
        text_cfg.replace("connect_timeout_ms = 3000", "connect_timeout_ms = 30000"),
    )
    .expect("cfg");
    let bad = out.join("bad.toml");
    std::fs::write(
        &bad,
        text_cfg
            .replace("good.key", "bad.key")
            .replace("connect_timeout_ms = 3000", "connect_timeout_ms = 1500"),
    )
    .expect("cfg");
    let addr_of = |role: &str| -> String {
        let line = text_cfg
            .lines()
            .find(|l| l.starts_with(role))
            .expect("role line");
        line.split('"').nth(1).expect("address").to_owned()
    };
    // Both ends listen and connect; start the real Seller, then throw an impostor and garbage at it.
    let seller = start(&out.join("Seller"), &good);
    std::thread::sleep(Duration::from_millis(300));
    let impostor = finish(start(&out.join("Buyer"), &bad), Duration::from_secs(20));
    assert!(
        !impostor.status.success(),
        "an impostor must not complete the run"
    );
    for _ in 0..3 {
        if let Ok(mut s) = std::net::TcpStream::connect(addr_of("Seller")) {
            let _ = s.write_all(b"\x00\xffGARBAGE not a chor frame\r\n\r\n");
        }
        if let Ok(mut s) = std::net::TcpStream::connect(addr_of("Buyer")) {
            let _ = s.write_all(b"GET / HTTP/1.1\r\n\r\n");
        }
    }
    let buyer = start(&out.join("Buyer"), &good);
    let b = finish(buyer, Duration::from_secs(40));
    let s = finish(seller, Duration::from_secs(40));
    ok(&b, "chor");
    ok(&s, "chor");
    assert_eq!(text(&b.stdout), "buying for 87\n");
    let log = text(&s.stderr);
    assert!(log.contains("refused"), "the refusal is logged: {log}");
    // The impostor retried several times; each kind of refusal is printed once, and the
    // repeats are summed up in one line instead of flooding the log.
    let printed = log.matches("refused a connection from").count();
    assert!(printed <= 3, "one line per kind of refusal: {log}");
}

#[test]
fn a_role_of_another_program_is_refused() {
    let dir = temp_dir("deploy-program");
    let out = build_in(&dir, BOOKSELLER);
    let other = build_in(
        &temp_dir("deploy-program-other"),
        &BOOKSELLER.replace("budget = 100", "budget = 99"),
    );
    let cfg = set_config(&out, "");
    let long = out.join("long.toml");
    std::fs::write(
        &long,
        std::fs::read_to_string(&cfg)
            .expect("cfg")
            .replace("connect_timeout_ms = 3000", "connect_timeout_ms = 30000"),
    )
    .expect("cfg");
    let seller = start(&out.join("Seller"), &long);
    std::thread::sleep(Duration::from_millis(300));
    let stranger = finish(start(&other.join("Buyer"), &cfg), Duration::from_secs(20));
    assert!(!stranger.status.success());
    let b = finish(start(&out.join("Buyer"), &long), Duration::from_secs(40));
    let s = finish(seller, Duration::from_secs(40));
    ok(&b, "chor");
    ok(&s, "chor");
}

#[test]
fn bad_config_is_a_clear_error() {
    let dir = temp_dir("deploy-config");
    let out = build_in(&dir, BOOKSELLER);
    let cfg = out.join("broken.toml");
    std::fs::write(&cfg, "[roles]\nBuyer = \"not an address\"\n").expect("write");
    let b = finish(start(&out.join("Buyer"), &cfg), Duration::from_secs(10));
    assert!(!b.status.success());
    assert!(!text(&b.stderr).is_empty());
    let b = finish(
        start(&out.join("Buyer"), &out.join("missing.toml")),
        Duration::from_secs(10),
    );
    assert!(!b.status.success());
    assert!(
        text(&b.stderr).contains("missing.toml"),
        "{}",
        text(&b.stderr)
    );
}

#[test]
fn chor_run_stops_everyone_when_a_role_fails() {
    let dir = temp_dir("deploy-fail");
    let file = dir.join("fail.chor");
    std::fs::write(
        &file,
        "choreography main(A, B) {\n    let A.x = 0;\n    A.print(1 / x);\n    A.x -> B.y;\n    B.print(y);\n}\n",
    )
    .expect("write");
    let t0 = Instant::now();
    let o = chor()
        .arg("run")
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1));
    assert!(t0.elapsed() < Duration::from_secs(20));
    let err = text(&o.stderr);
    assert!(err.contains("role A"), "{err}");
    assert!(err.contains("division by zero"), "{err}");
    assert!(err.contains("fail.chor:3"), "{err}");
}

#[test]
fn a_connection_still_in_its_handshake_when_set_up_ends_does_not_stop_the_role() {
    // A connection that never says anything holds a handshake thread of the listener until
    // set-up ends; that thread then reports (and wakes the set-up's `poll`) after set-up is
    // over, while the role runs: the report must go nowhere, without disturbing the role.
    let dir = temp_dir("deploy-inflight");
    let out = build_in(&dir, BOOKSELLER);
    let cfg = set_config(&out, "");
    let text_cfg = std::fs::read_to_string(&cfg).expect("cfg");
    let seller_addr = text_cfg
        .lines()
        .find(|l| l.starts_with("Seller"))
        .and_then(|l| l.split('"').nth(1))
        .expect("Seller's address")
        .to_owned();
    // Whether the listener has taken the silent connection off its queue before set-up ends
    // is up to the scheduler: the run is repeated until it has (most runs), and every run
    // must end well.
    let mut logs = Vec::new();
    for _ in 0..5 {
        let seller = start(&out.join("Seller"), &cfg);
        let t0 = Instant::now();
        let silent = loop {
            if let Ok(s) = std::net::TcpStream::connect(&seller_addr) {
                break s;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "Seller never listened"
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        // Time for the listener to accept it and start its handshake.
        std::thread::sleep(Duration::from_millis(100));
        let buyer = start(&out.join("Buyer"), &cfg);
        let b = finish(buyer, Duration::from_secs(20));
        let s = finish(seller, Duration::from_secs(20));
        drop(silent);
        ok(&b, "chor");
        ok(&s, "chor");
        assert_eq!(text(&b.stdout), "buying for 87\n");
        assert_eq!(text(&s.stdout), "sold Types and Programming Languages\n");
        // The silent connection was still in its handshake when set-up ended.
        let log = text(&s.stderr);
        if log.contains("refused a connection from") {
            return;
        }
        logs.push(log);
    }
    panic!("the silent connection was never taken during set-up: {logs:?}");
}

/// Starts `exe` like [`start`], handing it `listener` as `chor run` does
/// (`chor_runtime::startup::spawn_with_listener`).
fn start_handed(exe: &Path, config: &Path, listener: &std::net::TcpListener) -> Child {
    let mut cmd = Command::new(exe);
    cmd.arg("--config")
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    chor_runtime::startup::spawn_with_listener(&mut cmd, listener).expect("start role")
}

/// `chor run` binds every role's address before it starts any role, and hands each role its
/// listening socket (no dial is refused while a peer is still starting). A role accepts on
/// the socket it is handed: this test holds the Seller's address bound all along, so a
/// Seller that bound it itself would fail ("address in use"). A socket bound to another
/// address is not taken (the role binds its own), and a descriptor that is no listening
/// socket is ignored.
#[test]
fn a_role_accepts_on_the_socket_it_is_handed() {
    let dir = temp_dir("deploy-handed");
    let out = build_in(&dir, BOOKSELLER);
    let cfg = set_config(&out, "");
    let conf = chor_runtime::config::DeployConfig::from_file(&cfg).expect("deploy.toml");
    let seller_addr = conf.listen_of("Seller").expect("Seller's address");
    let run = |seller: Child| {
        let buyer = start(&out.join("Buyer"), &cfg);
        let b = finish(buyer, Duration::from_secs(20));
        let s = finish(seller, Duration::from_secs(20));
        ok(&b, "chor");
        ok(&s, "chor");
        assert_eq!(text(&b.stdout), "buying for 87\n");
        assert_eq!(text(&s.stdout), "sold Types and Programming Languages\n");
    };
    // Its own address, held by this process until both roles have ended.
    let held = std::net::TcpListener::bind(seller_addr).expect("bind Seller's address");
    run(start_handed(&out.join("Seller"), &cfg, &held));
    drop(held);
    // Another address: closed by the role, which binds its own.
    let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    run(start_handed(&out.join("Seller"), &cfg, &elsewhere));
    // A descriptor that is no listening socket (a file) is left alone.
    let file = std::fs::File::open(&cfg).expect("open");
    let mut cmd = Command::new(out.join("Seller"));
    cmd.arg("--config")
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env(
            chor_runtime::startup::LISTEN_FD_VAR,
            std::os::unix::io::AsRawFd::as_raw_fd(&file).to_string(),
        );
    run(cmd.spawn().expect("start role"));
}

/// B computes (sleeps) for three idle timeouts before it receives a list of three million
/// Ints (about 14 MB, more than the kernel buffers on both sides hold), and W waits for A
/// all that time. A's send waits for room for as long as B is alive (B's heartbeats keep
/// arriving), instead of failing after the idle timeout, and W keeps hearing A's
/// heartbeats while A's send waits: the run completes, plain and over TLS.
#[test]
fn a_large_send_to_a_busy_peer_waits_while_the_peer_is_alive() {
    const BUSY: &str = "choreography main(A, B, W) {
    B.time::sleep_ms(3000);
    let A.xs = list::range(0, 3000000);
    A.xs -> B.ys;
    B.print(list::len(ys));
    A.1 -> W.w;
    W.print(w);
}
";
    let dir = temp_dir("deploy-busy");
    let out = build_in(&dir, BUSY);
    let plain = set_config(&out, "");
    let text_cfg = std::fs::read_to_string(&plain).expect("cfg");
    let text_cfg = text_cfg.replace("idle_timeout_ms = 30000", "idle_timeout_ms = 1000");
    std::fs::write(&plain, &text_cfg).expect("cfg");
    // The same addresses over TLS, with keys from `chor keys`.
    let keys = dir.join("keys");
    ok(
        &chor()
            .arg("keys")
            .arg(&keys)
            .args(["--roles", "A,B,W"])
            .output()
            .expect("chor keys"),
        "chor keys",
    );
    let k = keys.display();
    let mut tls_text = String::new();
    for line in text_cfg.lines() {
        match line.split_once(" = \"") {
            Some((role, rest)) if ["A", "B", "W"].contains(&role.trim()) => {
                let r = role.trim();
                let addr = rest.trim_end_matches('"');
                tls_text.push_str(&format!(
                    "{r} = {{ address = \"{addr}\", cert = \"{k}/{r}.pem\", key = \"{k}/{r}.key\" }}\n"
                ));
            }
            _ => {
                tls_text.push_str(line);
                tls_text.push('\n');
            }
        }
    }
    tls_text.push_str(&format!("\n[security]\nca = \"{k}/ca.pem\"\n"));
    let tls = out.join("tls.toml");
    std::fs::write(&tls, tls_text).expect("tls.toml");
    for cfg in [plain, tls] {
        let roles: Vec<(&str, Child)> = ["B", "W", "A"]
            .into_iter()
            .map(|r| (r, start(&out.join(r), &cfg)))
            .collect();
        let mut outputs = std::collections::BTreeMap::new();
        for (r, c) in roles {
            let o = finish(c, Duration::from_secs(60));
            ok(&o, format!("role {r} with {}", cfg.display()));
            outputs.insert(r, text(&o.stdout));
        }
        assert_eq!(outputs["B"], "3000000\n", "{}", cfg.display());
        assert_eq!(outputs["W"], "1\n", "{}", cfg.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
