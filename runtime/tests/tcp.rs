//! The TCP transport on loopback: messages in order, three roles, and one test per fault
//! (absent peer, peer gone mid-run, garbage on the port, wrong secret, different program,
//! idle timeout, bad frame, unexpected label). Every test is bounded by short timeouts.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use chor_runtime::error::{Action, ErrorKind};
use chor_runtime::{DeployConfig, Message, Session, Value};
use common::*;

fn int(i: i64) -> Message {
    Message::Value(Value::Int(i))
}

#[test]
fn many_messages_arrive_in_order_both_ways() {
    let cfg = config(&["Alice", "Bob"], Some(SECRET), 5000);
    let mut s = connect_all(&cfg);
    let bob = s.pop().expect("bob");
    let alice = s.pop().expect("alice");
    const N: i64 = 20_000;
    let t = thread::spawn(move || {
        for i in 0..N {
            assert_eq!(bob.recv("Alice", 1).expect("recv"), int(i));
            bob.send("Alice", int(-i), 2).expect("send");
        }
        bob.close().expect("close");
    });
    // Pipelined: everything goes out before the first reply is read.
    for i in 0..N {
        alice.send("Bob", int(i), 3).expect("send");
    }
    for i in 0..N {
        assert_eq!(alice.recv("Bob", 4).expect("recv"), int(-i));
    }
    alice.close().expect("close");
    t.join().expect("bob ok");
}

#[test]
fn ping_pong_with_every_kind_of_value() {
    let cfg = config(&["Client", "Server"], None, 5000);
    let mut s = connect_all(&cfg);
    let server = s.pop().expect("server");
    let client = s.pop().expect("client");
    let values = vec![
        Value::Unit,
        Value::Bool(true),
        Value::Float(-0.5),
        Value::Str("héllo\n".into()),
        Value::Tuple(vec![Value::Int(1), Value::Str("a".into())]),
        Value::List((0..1000).map(Value::Int).collect()),
        Value::Map(vec![(Value::Str("a".into()), Value::Int(1))]),
        Value::Struct {
            name: "Quote".into(),
            fields: vec![Value::Str("TAPL".into()), Value::Int(87)],
        },
        Value::Variant {
            name: "Some".into(),
            fields: vec![Value::Str("x".repeat(200_000))],
        },
    ];
    let n = values.len();
    let t = thread::spawn(move || {
        for _ in 0..n {
            let m = server.recv("Client", 1).expect("recv");
            server.send("Client", m, 2).expect("echo");
        }
        server.close().expect("close");
    });
    for v in values {
        client
            .send("Server", Message::Value(v.clone()), 3)
            .expect("send");
        assert_eq!(client.recv_value("Server", 4).expect("reply"), v);
    }
    client.close().expect("close");
    t.join().expect("server ok");
}

#[test]
fn three_roles_multicast_and_selection() {
    let cfg = config(&["A", "B", "C"], Some(SECRET), 5000);
    let mut s = connect_all(&cfg);
    let c = s.pop().expect("c");
    let b = s.pop().expect("b");
    let a = s.pop().expect("a");
    let worker = |me: Session, other: &'static str| {
        thread::spawn(move || {
            let mut sum = 0;
            while me.recv_label("A", &["More", "Done"], 1).expect("label") == "More" {
                let Value::Int(x) = me.recv_value("A", 2).expect("value") else {
                    panic!("not an int")
                };
                sum += x;
                // Workers also talk to each other.
                me.send(other, int(x), 3).expect("send to other");
                assert_eq!(me.recv(other, 4).expect("from other"), int(x));
            }
            me.send("A", int(sum), 5).expect("result");
            me.close().expect("close");
        })
    };
    let tb = worker(b, "C");
    let tc = worker(c, "B");
    for x in 1..=100 {
        for peer in ["B", "C"] {
            a.send(peer, Message::Label("More".into()), 6)
                .expect("select");
            a.send(peer, int(x), 7).expect("multicast");
        }
    }
    for peer in ["B", "C"] {
        a.send(peer, Message::Label("Done".into()), 8)
            .expect("select");
    }
    assert_eq!(a.recv("B", 9).expect("b result"), int(5050));
    assert_eq!(a.recv("C", 9).expect("c result"), int(5050));
    a.close().expect("close");
    tb.join().expect("b ok");
    tc.join().expect("c ok");
}

#[test]
fn roles_may_start_in_any_order() {
    let cfg = config(&["A", "B", "C"], Some(SECRET), 5000);
    // The role that only accepts starts last, after the others have been retrying a while.
    let ha = start("A", &cfg, FP);
    thread::sleep(Duration::from_millis(300));
    let hb = start("B", &cfg, FP);
    thread::sleep(Duration::from_millis(300));
    let c = Session::connect_tcp("C", &cfg, FP, locs()).expect("c");
    let a = ha.join().expect("a").expect("a connects");
    let b = hb.join().expect("b").expect("b connects");
    a.send("C", int(1), 1).expect("send");
    b.send("C", int(2), 1).expect("send");
    assert_eq!(c.recv("A", 2).expect("a"), int(1));
    assert_eq!(c.recv("B", 2).expect("b"), int(2));
    for s in [a, b, c] {
        s.close().expect("close");
    }
}

#[test]
fn absent_peer_times_out_with_a_clear_error() {
    let cfg = config(&["Alice", "Bob"], None, 300);
    let started = Instant::now();
    for role in ["Alice", "Bob"] {
        let e = Session::connect_tcp(role, &cfg, FP, locs())
            .err()
            .expect("no peer, no session");
        let text = e.to_string();
        let other = if role == "Alice" { "Bob" } else { "Alice" };
        assert!(
            matches!(e.kind(), ErrorKind::Connect { peer, timeout_ms: 300, .. } if peer == other),
            "{text}"
        );
        assert!(
            text.starts_with(&format!("role {role}: could not connect with peer {other}")),
            "{text}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn dropped_peer_is_a_disconnect_naming_peer_and_location() {
    let cfg = config(&["Buyer", "Seller"], Some(SECRET), 5000);
    let mut s = connect_all(&cfg);
    let seller = s.pop().expect("seller");
    let buyer = s.pop().expect("buyer");
    buyer.send("Seller", int(1), 3).expect("send");
    assert_eq!(seller.recv("Buyer", 4).expect("first"), int(1));
    let t = thread::spawn(move || seller.recv("Buyer", 12));
    thread::sleep(Duration::from_millis(100));
    drop(buyer);
    let e = t.join().expect("no panic").expect_err("disconnect");
    assert_eq!(e.role(), "Seller");
    assert!(matches!(
        e.kind(),
        ErrorKind::Disconnected {
            action: Action::Recv,
            ..
        }
    ));
    assert!(
        e.to_string().starts_with(
            "role Seller: peer Buyer disconnected while Seller was waiting to receive at test.chor:12"
        ),
        "{e}"
    );
}

/// The child process of [`killed_peer_process_is_a_disconnect`]: plays Bob, then hangs
/// until killed. Run only by that test (it is ignored otherwise).
#[test]
#[ignore = "helper process for killed_peer_process_is_a_disconnect"]
fn child_role_bob() {
    let Ok(path) = std::env::var("CHOR_TEST_CHILD_CONFIG") else {
        return;
    };
    let cfg = DeployConfig::from_file(&path).expect("config");
    let bob = Session::connect_tcp("Bob", &cfg, FP, locs()).expect("bob connects");
    bob.send("Alice", Message::Label("Ready".into()), 1)
        .expect("send");
    assert_eq!(
        bob.recv("Alice", 2).expect("ack"),
        Message::Label("Ack".into())
    );
    thread::sleep(Duration::from_secs(30));
}

#[test]
fn killed_peer_process_is_a_disconnect() {
    let dir = scratch_dir();
    std::fs::write(dir.join("cluster.key"), [SECRET, b"\n"].concat()).expect("key");
    let (a, b) = (free_addr(), free_addr());
    std::fs::write(
        dir.join("deploy.toml"),
        format!(
            "[roles]\nAlice = \"{a}\"\nBob = \"{b}\"\n[security]\nsecret_file = \"cluster.key\"\n\
             [runtime]\nconnect_timeout_ms = 10000\n"
        ),
    )
    .expect("config");
    let cfg = DeployConfig::from_file(dir.join("deploy.toml")).expect("config parses");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--ignored", "--exact", "child_role_bob", "--nocapture"])
        .env("CHOR_TEST_CHILD_CONFIG", dir.join("deploy.toml"))
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn child");
    let alice = Session::connect_tcp("Alice", &cfg, FP, locs());
    let alice = match alice {
        Ok(s) => s,
        Err(e) => {
            let _ = child.kill();
            panic!("{e}");
        }
    };
    assert_eq!(
        alice.recv("Bob", 1).expect("ready"),
        Message::Label("Ready".into())
    );
    alice
        .send("Bob", Message::Label("Ack".into()), 2)
        .expect("ack");
    let t = thread::spawn(move || alice.recv("Bob", 42));
    thread::sleep(Duration::from_millis(200));
    child.kill().expect("kill child");
    let _ = child.wait();
    let e = t.join().expect("no panic").expect_err("disconnect");
    assert!(
        e.to_string().starts_with(
            "role Alice: peer Bob disconnected while Alice was waiting to receive at test.chor:42"
        ),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Opens connections to `addr` until one succeeds (the role listens once it starts).
fn connect_to(addr: std::net::SocketAddr) -> TcpStream {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpStream::connect(addr) {
            Ok(s) => return s,
            Err(e) if Instant::now() > until => panic!("cannot reach {addr}: {e}"),
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

#[test]
fn garbage_on_the_port_is_refused_and_the_run_completes() {
    let cfg = config(&["Alice", "Bob"], Some(SECRET), 5000);
    let bob_addr = cfg.roles["Bob"].resolved.expect("an address");
    // Bob accepts (the role whose name sorts first dials).
    let hb = start("Bob", &cfg, FP);
    // Random bytes, then an HTTP request, then a connection that says nothing at all, then a
    // greeting with the right magic but nonsense after it.
    let mut junk = connect_to(bob_addr);
    junk.write_all(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8])
        .expect("write");
    let mut http = connect_to(bob_addr);
    http.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let _silent = connect_to(bob_addr);
    let mut near = connect_to(bob_addr);
    near.write_all(b"CHOR\x01\x00").expect("write");
    near.write_all(&[0xff; 200]).expect("write");
    // The garbage is answered by a closed connection (or at most a refusal), never accepted.
    let mut buf = [0u8; 256];
    junk.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    assert!(matches!(junk.read(&mut buf), Ok(0) | Err(_)));
    let alice =
        Session::connect_tcp("Alice", &cfg, FP, locs()).expect("alice connects after garbage");
    let bob = hb.join().expect("no panic").expect("bob connects");
    alice.send("Bob", int(5), 1).expect("send");
    assert_eq!(bob.recv("Alice", 2).expect("recv"), int(5));
    bob.send("Alice", int(6), 3).expect("send");
    assert_eq!(alice.recv("Bob", 4).expect("recv"), int(6));
    alice.close().expect("close");
    bob.close().expect("close");
}

#[test]
fn wrong_secret_is_refused_and_the_real_peer_then_connects() {
    let cfg = config(&["Alice", "Bob"], Some(SECRET), 5000);
    let hb = start("Bob", &cfg, FP);
    let mut impostor = cfg.clone();
    impostor.secret = Some(chor_runtime::config::Secret::new(WRONG_SECRET.to_vec()));
    impostor.connect_timeout_ms = 400;
    let e = Session::connect_tcp("Alice", &impostor, FP, locs())
        .err()
        .expect("impostor refused");
    assert!(e.to_string().contains("shared secret"), "{e}");
    // An impostor without any secret is refused too.
    let mut no_secret = impostor.clone();
    no_secret.secret = None;
    let e = Session::connect_tcp("Alice", &no_secret, FP, locs())
        .err()
        .expect("impostor refused");
    assert!(e.to_string().contains("secret"), "{e}");
    let alice = Session::connect_tcp("Alice", &cfg, FP, locs()).expect("real alice connects");
    let bob = hb.join().expect("no panic").expect("bob connects");
    alice.send("Bob", int(1), 1).expect("send");
    assert_eq!(bob.recv("Alice", 2).expect("recv"), int(1));
    alice.close().expect("close");
    bob.close().expect("close");
}

#[test]
fn listener_with_wrong_secret_is_not_trusted() {
    // Alice dials an impostor Bob that holds a different secret: Alice must not accept it.
    let cfg = config(&["Alice", "Bob"], Some(SECRET), 600);
    let mut impostor = cfg.clone();
    impostor.secret = Some(chor_runtime::config::Secret::new(WRONG_SECRET.to_vec()));
    let hb = start("Bob", &impostor, FP);
    let e = Session::connect_tcp("Alice", &cfg, FP, locs())
        .err()
        .expect("alice refuses the impostor");
    assert!(e.to_string().contains("different shared secrets"), "{e}");
    assert!(hb.join().expect("no panic").is_err());
}

#[test]
fn different_program_is_refused_and_the_real_peer_then_connects() {
    let cfg = config(&["Alice", "Bob"], None, 5000);
    let hb = start("Bob", &cfg, FP);
    let mut other = cfg.clone();
    other.connect_timeout_ms = 400;
    let e = Session::connect_tcp("Alice", &other, OTHER_FP, locs())
        .err()
        .expect("other program refused");
    assert!(e.to_string().contains("different program"), "{e}");
    let alice = Session::connect_tcp("Alice", &cfg, FP, locs()).expect("real alice connects");
    let bob = hb.join().expect("no panic").expect("bob connects");
    bob.send("Alice", int(9), 1).expect("send");
    assert_eq!(alice.recv("Bob", 2).expect("recv"), int(9));
    alice.close().expect("close");
    bob.close().expect("close");
}

#[test]
fn heartbeats_keep_a_slow_but_live_peer() {
    let mut cfg = config(&["Alice", "Bob"], None, 5000);
    cfg.idle_timeout_ms = Some(300);
    let mut s = connect_all(&cfg);
    let bob = s.pop().expect("bob");
    let alice = s.pop().expect("alice");
    let t = std::thread::spawn(move || {
        // Five idle timeouts without a message: only heartbeats show Bob is alive.
        std::thread::sleep(Duration::from_millis(1500));
        bob.send("Alice", int(5), 1).expect("send");
        bob
    });
    assert_eq!(
        alice.recv("Bob", 2).expect("a live peer is waited for"),
        int(5)
    );
    let bob = t.join().expect("no panic");
    alice.close().expect("close");
    bob.close().expect("close");
}

#[test]
fn idle_timeout_ends_a_wait_that_would_hang() {
    // Bob runs without an idle timeout, so he sends no heartbeats: to Alice he looks like a
    // stopped process (the SIGSTOP case is tested with real processes in the driver's tests).
    let quiet = config(&["Alice", "Bob"], None, 5000);
    let mut cfg = quiet.clone();
    cfg.idle_timeout_ms = Some(200);
    let hb = start("Bob", &quiet, FP);
    let alice = Session::connect_tcp("Alice", &cfg, FP, locs()).expect("alice connects");
    let bob = hb.join().expect("no panic").expect("bob connects");
    let started = Instant::now();
    let e = alice.recv("Bob", 17).expect_err("times out");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(e.kind(), ErrorKind::Timeout { after_ms: 200, .. }),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "role Alice: timed out after 200 ms waiting to receive from peer Bob at test.chor:17"
    );
    drop(bob);
}

#[test]
fn bad_frame_from_an_authenticated_peer_ends_the_role() {
    let cfg = config(&["Alice", "Bob"], Some(SECRET), 5000);
    let mut s = connect_all(&cfg);
    let bob = s.pop().expect("bob");
    let alice = s.pop().expect("alice");
    // Bypass the encoder: a frame whose content is not a message.
    alice.send_encoded("Bob", &[1, 0, 0x77], 1).expect("send");
    alice.send("Bob", int(1), 2).expect("send");
    let e = bob.recv("Alice", 5).expect_err("bad frame");
    assert!(matches!(e.kind(), ErrorKind::BadFrame { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with(
            "role Bob: peer Alice sent a bad frame while Bob was waiting to receive at test.chor:5"
        ),
        "{e}"
    );
    // The stream is not trusted any more.
    assert!(bob.recv("Alice", 6).is_err());
}

#[test]
fn unexpected_label_ends_the_role() {
    let cfg = config(&["Alice", "Bob"], None, 5000);
    let mut s = connect_all(&cfg);
    let bob = s.pop().expect("bob");
    let alice = s.pop().expect("alice");
    alice
        .send("Bob", Message::Label("Maybe".into()), 1)
        .expect("send");
    alice
        .send("Bob", Message::Label("Buy".into()), 1)
        .expect("send");
    let e = bob
        .recv_label("Alice", &["Buy", "Quit"], 8)
        .expect_err("unexpected");
    assert_eq!(
        e.to_string(),
        "role Bob: peer Alice sent label Maybe while Bob expected one of the labels Buy, Quit at test.chor:8"
    );
    let e = bob.recv_value("Alice", 9).expect_err("label, not value");
    assert!(
        e.to_string()
            .contains("sent label Buy while Bob expected a value"),
        "{e}"
    );
}

#[test]
fn unknown_peer_is_an_error_not_a_panic() {
    let cfg = config(&["Alice", "Bob"], None, 5000);
    let s = connect_all(&cfg);
    let e = s[0].send("Carol", int(1), 3).expect_err("no such peer");
    assert_eq!(
        e.to_string(),
        "role Alice: Carol is not a peer of Alice (while sending at test.chor:3)"
    );
}

#[test]
fn a_listener_that_is_not_a_chor_role_is_not_trusted() {
    // Bob's address is held by something that answers with junk.
    let cfg = config(&["Alice", "Bob"], None, 500);
    let l =
        std::net::TcpListener::bind(cfg.roles["Bob"].resolved.expect("an address")).expect("bind");
    // Serves junk until the test binary exits (the thread is left detached on purpose).
    thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let _ = s.write_all(&[0x55; 200]);
        }
    });
    let e = Session::connect_tcp("Alice", &cfg, FP, locs())
        .err()
        .expect("junk listener refused");
    assert!(e.to_string().contains("not a chor role"), "{e}");
}

#[test]
fn close_delivers_everything_sent() {
    let cfg = config(&["Alice", "Bob"], None, 5000);
    let mut s = connect_all(&cfg);
    let bob = s.pop().expect("bob");
    let alice = s.pop().expect("alice");
    for i in 0..5000 {
        alice.send("Bob", int(i), 1).expect("send");
    }
    alice.close().expect("close");
    for i in 0..5000 {
        assert_eq!(bob.recv("Alice", 2).expect("recv"), int(i));
    }
    let e = bob
        .recv("Alice", 3)
        .expect_err("closed after the last message");
    assert!(matches!(e.kind(), ErrorKind::Disconnected { .. }));
}

#[test]
fn a_send_followed_by_long_computation_still_arrives() {
    // Nothing blocks on Alice's side after the send: the flusher thread must write it out,
    // both while it is ticking, after it went to sleep for lack of sends, and after a phase
    // of request and reply in which Alice wrote out every send herself (the flusher then
    // ticks less often).
    let cfg = config(&["Alice", "Bob"], None, 5000);
    let mut s = connect_all(&cfg);
    let bob = s.pop().expect("bob");
    let alice = s.pop().expect("alice");
    for (i, idle_before, exchanges) in [
        (1, 0, 0),
        (2, 400, 0),
        (3, 0, 0),
        (4, 400, 0),
        (5, 0, 30),
        (6, 400, 30),
    ] {
        thread::sleep(Duration::from_millis(idle_before));
        for k in 0..exchanges {
            alice.send("Bob", int(-k), 1).expect("request");
            assert_eq!(bob.recv("Alice", 2).expect("request"), int(-k));
            bob.send("Alice", int(k), 3).expect("reply");
            assert_eq!(alice.recv("Bob", 4).expect("reply"), int(k));
            thread::sleep(Duration::from_millis(1));
        }
        alice.send("Bob", int(i), 1).expect("send");
        let started = Instant::now();
        assert_eq!(bob.recv("Alice", 2).expect("recv"), int(i));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
    drop(alice);
}

#[test]
fn a_role_missing_from_the_deployment_file_is_a_clear_error() {
    let cfg = config(&["Alice", "Bob"], None, 300);
    let e = Session::connect_tcp("Carol", &cfg, FP, locs())
        .err()
        .expect("Carol has no address");
    assert!(
        e.to_string()
            .starts_with("role Carol: deployment file: role Carol has no address"),
        "{e}"
    );
    let e = Session::connect_tcp_with("Alice", &["Alice", "Bob", "Dave"], &cfg, FP, locs())
        .err()
        .expect("Dave has no address");
    assert!(e.to_string().contains("role Dave has no address"), "{e}");
}

#[test]
fn an_address_in_use_is_a_clear_error() {
    let cfg = config(&["Alice", "Bob"], None, 300);
    let _squatter =
        std::net::TcpListener::bind(cfg.roles["Bob"].resolved.expect("an address")).expect("bind");
    let e = Session::connect_tcp("Bob", &cfg, FP, locs())
        .err()
        .expect("cannot listen");
    assert!(
        e.to_string().starts_with(&format!(
            "role Bob: cannot listen on {}",
            cfg.roles["Bob"].resolved.expect("an address")
        )),
        "{e}"
    );
    assert!(
        e.to_string().contains("is this role already running?"),
        "{e}"
    );
}

#[test]
fn the_real_peer_gets_in_while_a_thousand_junk_connections_are_open() {
    let mut cfg = config(&["Alice", "Bob"], Some(SECRET), 15_000);
    cfg.handshake_timeout_ms = 2_000;
    let bob_addr = cfg.roles["Bob"].resolved.expect("an address");
    let hb = start("Bob", &cfg, FP);
    // Half the junk trickles one byte at a time (a slow-loris handshake), half stays silent.
    let mut junk: Vec<TcpStream> = (0..1000).map(|_| connect_to(bob_addr)).collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickle: Vec<TcpStream> = junk
        .iter()
        .step_by(2)
        .filter_map(|s| s.try_clone().ok())
        .collect();
    let s2 = std::sync::Arc::clone(&stop);
    let trickler = thread::spawn(move || {
        let mut trickle = trickle;
        while !s2.load(std::sync::atomic::Ordering::SeqCst) {
            for s in &mut trickle {
                let _ = s.write_all(b"C");
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    // More junk keeps arriving while the real peer connects.
    let late = thread::spawn(move || {
        // (Refused once Bob has all his peers and closed his listener.)
        (0..200)
            .filter_map(|_| {
                thread::sleep(Duration::from_millis(2));
                TcpStream::connect(bob_addr).ok()
            })
            .collect::<Vec<_>>()
    });
    let started = Instant::now();
    let alice = Session::connect_tcp("Alice", &cfg, FP, locs()).expect("the real peer gets in");
    let bob = hb.join().expect("no panic").expect("bob connects");
    assert!(started.elapsed() < Duration::from_secs(10));
    alice.send("Bob", int(1), 1).expect("send");
    assert_eq!(bob.recv("Alice", 2).expect("recv"), int(1));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    trickler.join().expect("no panic");
    junk.extend(late.join().expect("no panic"));
    alice.close().expect("close");
    bob.close().expect("close");
}

#[test]
fn a_trickling_handshake_is_cut_off_at_its_deadline() {
    let mut cfg = config(&["Alice", "Bob"], None, 8_000);
    cfg.handshake_timeout_ms = 500;
    let bob_addr = cfg.roles["Bob"].resolved.expect("an address");
    let hb = start("Bob", &cfg, FP);
    let mut slow = connect_to(bob_addr);
    let started = Instant::now();
    // One byte every 100 ms: each read is quick, the handshake as a whole is not.
    let mut closed_after = None;
    for b in b"CHOR\x01\x00".iter().chain([0u8; 64].iter()) {
        if slow.write_all(&[*b]).is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        let mut probe = [0u8; 1];
        slow.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        if let Ok(0) = slow.read(&mut probe) {
            closed_after = Some(started.elapsed());
            break;
        }
    }
    let closed_after = closed_after.expect("the listener hung up on the trickling connection");
    assert!(
        closed_after < Duration::from_millis(2_000),
        "{closed_after:?}"
    );
    let alice = Session::connect_tcp("Alice", &cfg, FP, locs()).expect("alice connects");
    let bob = hb.join().expect("no panic").expect("bob connects");
    alice.close().expect("close");
    bob.close().expect("close");
}

#[test]
fn max_message_bytes_bounds_what_is_sent_and_received() {
    // Alice allows large messages, Bob only 1000 bytes.
    let cfg = config(&["Alice", "Bob"], None, 5000);
    let mut small = cfg.clone();
    small.max_message_bytes = 1000;
    let hb = start("Bob", &small, FP);
    let alice = Session::connect_tcp("Alice", &cfg, FP, locs()).expect("alice connects");
    let bob = hb.join().expect("no panic").expect("bob connects");
    // Bob refuses to send more than his limit, naming it.
    let e = bob
        .send("Alice", Message::Value(Value::Str("x".repeat(2000))), 3)
        .expect_err("too large to send");
    assert!(
        e.to_string().starts_with(
            "role Bob: cannot send a message of 2005 bytes to peer Alice (the limit is 1000 bytes"
        ),
        "{e}"
    );
    // And refuses to receive more, before reading the frame.
    alice
        .send("Bob", Message::Value(Value::Str("y".repeat(2000))), 4)
        .expect("alice may send it");
    let e = bob.recv("Alice", 5).expect_err("too large to receive");
    assert!(
        e.to_string().contains(
            "a message of 2005 bytes exceeds the limit of 1000 bytes (max_message_bytes)"
        ),
        "{e}"
    );
    drop(alice);
    drop(bob);
}

/// The greeting of protocol 2 from `from` to `to`, claiming a secret, with `pake` appended.
fn secret_hello(from: &str, to: &str, pake: &[u8]) -> Vec<u8> {
    let mut h = b"CHOR\x02\x01".to_vec();
    h.extend_from_slice(&FP.0);
    h.push(from.len() as u8);
    h.extend_from_slice(from.as_bytes());
    h.push(to.len() as u8);
    h.extend_from_slice(to.as_bytes());
    h.extend_from_slice(pake);
    h
}

/// Offline guessing: a stranger who connects and claims to be Alice gets, before proving
/// anything, only the listener's SPAKE2 message (fresh on every connection), and nothing
/// more until it confirms; a wrong confirmation earns a one-byte refusal, never a value
/// computed from the secret that a guess could be checked against. The real peer then gets in.
#[test]
fn an_unauthenticated_connection_learns_nothing_to_test_guesses_against() {
    use spake2::{Ed25519Group, Identity, Password, Spake2};
    let cfg = config(&["Alice", "Bob"], Some(SECRET), 5000);
    let hb = start("Bob", &cfg, FP);
    let bob_addr = cfg.addr_of("Bob").expect("addr");
    let mut first_messages = Vec::new();
    for _ in 0..2 {
        let mut s = connect_to(bob_addr);
        let (state, pake_c) = Spake2::<Ed25519Group>::start_a(
            &Password::new(b"a guess at the secret"),
            &Identity::new(b"Alice"),
            &Identity::new(b"Bob"),
        );
        s.write_all(&secret_hello("Alice", "Bob", &pake_c))
            .expect("hello");
        let mut reply = [0u8; 4 + 2 + 32 + 1 + 33];
        s.read_exact(&mut reply).expect("reply");
        assert_eq!(&reply[..6], b"CHOR\x02\x01");
        assert_eq!(reply[38], 0, "accepted so far");
        let pake_s = reply[39..].to_vec();
        // Nothing else comes until the dialler confirms.
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        let mut more = [0u8; 64];
        assert!(
            matches!(s.read(&mut more), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut),
            "the listener must not send anything more before the dialler proves itself"
        );
        // The key of the guess confirms nothing: the listener refuses and sends no proof.
        let key = state.finish(&pake_s).expect("a valid SPAKE2 element");
        let mut confirm = [0u8; 32];
        confirm.copy_from_slice(&key[..32]);
        s.write_all(&confirm).expect("confirm");
        s.set_read_timeout(Some(Duration::from_secs(3)))
            .expect("timeout");
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        assert_eq!(rest, vec![5], "one byte: refused (bad proof), then closed");
        first_messages.push(pake_s);
    }
    assert_ne!(
        first_messages[0], first_messages[1],
        "every connection gets a fresh key-exchange message"
    );
    let alice = Session::connect_tcp("Alice", &cfg, FP, locs()).expect("real alice connects");
    let bob = hb.join().expect("no panic").expect("bob connects");
    alice.send("Bob", int(9), 1).expect("send");
    assert_eq!(bob.recv("Alice", 2).expect("recv"), int(9));
    alice.close().expect("close");
    bob.close().expect("close");
}

/// A value nested deeper than a message may be is refused by the receiver, naming the peer
/// that sent it, on both receive paths (wire values, and native values through the typed
/// decoder that native role executables use).
#[test]
fn a_too_deep_value_is_refused_naming_the_peer() {
    use chor_runtime::codec::{MAX_DEPTH, VERSION};
    use chor_runtime::rt::wire::{RecvError, decode_typed};
    use chor_runtime::types::{TyNode, TypeTable};
    // MAX_DEPTH + 1 nested one-element lists around a unit.
    let mut frame = vec![VERSION, 0x00];
    for _ in 0..=MAX_DEPTH {
        frame.extend_from_slice(&[0x07, 0x01]);
    }
    frame.push(0x00);
    let cfg = config(&["Alice", "Bob"], None, 5000);
    let mut s = connect_all(&cfg);
    let bob = s.pop().expect("bob");
    let alice = s.pop().expect("alice");
    alice.send_encoded("Bob", &frame, 1).expect("send");
    let e = bob.recv("Alice", 5).expect_err("too deep");
    let text = e.to_string();
    assert!(
        text.starts_with(
            "role Bob: peer Alice sent a bad frame while Bob was waiting to receive at test.chor:5"
        ) && text.contains(&format!("nested deeper than {MAX_DEPTH}")),
        "{text}"
    );
    let mut t = TypeTable::default();
    let any = t.push(TyNode::Any);
    assert!(matches!(
        decode_typed(&frame, &t, any),
        Err(RecvError::Codec(c)) if c.to_string().contains("nested deeper")
    ));
    drop(alice);
    drop(bob);
}

/// A frame of many tiny elements, well within `max_message_bytes` but decoding to more than
/// four times its size, ends the receiving role with an error naming the peer, the location
/// and the memory limit, on both receive paths (the wire tree, and native values through the
/// typed decoder with the session's budget, as `chor_rt_recv` does).
#[test]
fn a_frame_that_would_decode_too_large_is_refused_naming_the_peer() {
    use chor_runtime::codec::VERSION;
    use chor_runtime::rt::wire::{RecvError, decode_typed_bounded};
    use chor_runtime::types::{TyNode, TypeTable};
    // 60,000 units: 60 KB on the wire, about 1 MB as native values.
    let n: usize = 60_000;
    let mut frame = vec![VERSION, 0x00, 0x07];
    let mut k = n as u64;
    while k >= 0x80 {
        frame.push((k as u8) | 0x80);
        k >>= 7;
    }
    frame.push(k as u8);
    frame.extend(std::iter::repeat_n(0x00, n));
    let mut cfg = config(&["Alice", "Bob"], None, 5000);
    cfg.max_message_bytes = 64 << 10;
    let mut s = connect_all(&cfg);
    let bob = s.pop().expect("bob");
    let alice = s.pop().expect("alice");
    alice.send_encoded("Bob", &frame, 1).expect("send");
    alice.send_encoded("Bob", &frame, 2).expect("send");
    let e = bob.recv("Alice", 5).expect_err("too large decoded");
    let text = e.to_string();
    assert!(
        text.starts_with(
            "role Bob: peer Alice sent a bad frame while Bob was waiting to receive at test.chor:5"
        ) && text.contains(&format!(
            "a message of {} bytes would take more than",
            frame.len()
        )) && text.contains("max_message_bytes"),
        "{text}"
    );
    // 4 × the frame + 4 KiB (the wire tree grows as its items arrive, so it is refused
    // part of the way).
    assert!(
        text.contains(&format!(
            "would take more than {} bytes of memory once decoded (the limit is 4 times the \
             frame's size, or max_message_bytes if that is larger; refused at byte ",
            4 * frame.len() + 4096
        )),
        "{text}"
    );
    // The native path, on a second connection.
    let mut s = connect_all(&cfg);
    let bob = s.pop().expect("bob");
    let alice = s.pop().expect("alice");
    alice.send_encoded("Bob", &frame, 1).expect("send");
    let mut t = TypeTable::default();
    let unit = t.push(TyNode::Unit);
    let list = t.push(TyNode::List(unit));
    let mut buf = Vec::new();
    bob.recv_frame("Alice", 5, &mut buf).expect("a frame");
    let r = decode_typed_bounded(&buf, &t, list, bob.decode_budget(buf.len()));
    // Native values: refused at the list's tag, before its buffer is allocated.
    assert!(
        matches!(&r, Err(RecvError::Codec(c)) if c.to_string().ends_with("refused at byte 2)")),
        "{r:?}"
    );
    // With the default limit (64 MiB) the same frame is a legitimate message.
    let cfg = config(&["Alice", "Bob"], None, 5000);
    let mut s = connect_all(&cfg);
    let bob = s.pop().expect("bob");
    let alice = s.pop().expect("alice");
    alice.send_encoded("Bob", &frame, 1).expect("send");
    match bob.recv("Alice", 5).expect("decodes") {
        Message::Value(Value::List(xs)) => assert_eq!(xs.len(), n),
        other => panic!("{other:?}"),
    }
    drop(alice);
    drop(bob);
}

/// The greeting of protocol 2 from `from` to `to` without a secret, for program `fp`.
fn plain_hello(from: &str, to: &str, fp: chor_runtime::Fingerprint) -> Vec<u8> {
    let mut h = b"CHOR\x02\x00".to_vec();
    h.extend_from_slice(&fp.0);
    h.push(from.len() as u8);
    h.extend_from_slice(from.as_bytes());
    h.push(to.len() as u8);
    h.extend_from_slice(to.as_bytes());
    h
}

/// Sends `hello` to `addr` and returns the status byte of the reply and, if one follows,
/// of the verdict.
fn greet(addr: std::net::SocketAddr, hello: &[u8]) -> (u8, Option<u8>) {
    let mut s = connect_to(addr);
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(hello).expect("write");
    let mut reply = [0u8; 39];
    s.read_exact(&mut reply).expect("a reply");
    assert_eq!(&reply[..4], b"CHOR");
    let mut verdict = [0u8; 1];
    let v = match s.read(&mut verdict) {
        Ok(1) => Some(verdict[0]),
        _ => None,
    };
    (reply[38], v)
}

/// Claims the listener does not accept are refused with their reason, and the slot of a
/// role is taken once: a second connection claiming a connected role (here the real one,
/// after a stranger who knew the program took its place on a deployment without a secret)
/// is refused with "this role is already connected", which the real role reports. The
/// listener then runs with the connection it accepted, and its loss names the role.
#[test]
fn claims_the_listener_does_not_expect_and_a_second_claim_of_a_role_are_refused() {
    let cfg = config(&["Alice", "Bob", "Carol"], None, 4000);
    let bob_addr = cfg.roles["Bob"].resolved.expect("an address");
    // Bob accepts Alice and dials Carol, who is not there: Bob stays in set-up meanwhile.
    let hb = start("Bob", &cfg, FP);
    // (reply status, verdict): 1 another program, 2 not me, 3 a role Bob does not expect.
    assert_eq!(
        greet(bob_addr, &plain_hello("Alice", "Bob", OTHER_FP)),
        (1, None)
    );
    assert_eq!(
        greet(bob_addr, &plain_hello("Alice", "Carol", FP)),
        (2, None)
    );
    assert_eq!(
        greet(bob_addr, &plain_hello("Mallory", "Bob", FP)),
        (3, None)
    );
    assert_eq!(greet(bob_addr, &plain_hello("Bob", "Bob", FP)), (3, None));
    // Carol dials nobody but is dialled by Bob: she is not expected at Bob's listener.
    assert_eq!(greet(bob_addr, &plain_hello("Carol", "Bob", FP)), (3, None));
    // A stranger with the program's fingerprint claims Alice first and is accepted.
    let mut stranger = connect_to(bob_addr);
    stranger
        .write_all(&plain_hello("Alice", "Bob", FP))
        .expect("write");
    let mut answer = [0u8; 40];
    stranger.read_exact(&mut answer).expect("answer");
    assert_eq!((answer[38], answer[39]), (0, 0), "accepted");
    // The real Alice is refused: Alice's slot is taken.
    let alice = Session::connect_tcp("Alice", &cfg, FP, locs());
    let e = alice.err().expect("Alice is refused").to_string();
    assert!(
        e.contains("role Alice") && e.contains("peer Bob") && e.contains("already connected"),
        "{e}"
    );
    // So is any further claim of Alice.
    assert_eq!(
        greet(bob_addr, &plain_hello("Alice", "Bob", FP)),
        (0, Some(6))
    );
    let carol = start("Carol", &cfg, FP);
    let bob = hb.join().expect("no panic").expect("bob connects");
    let _carol = carol.join().expect("no panic");
    drop(stranger);
    let e = bob
        .recv("Alice", 7)
        .expect_err("Alice's connection is gone");
    assert!(
        e.to_string()
            .contains("peer Alice disconnected while Bob was waiting to receive at test.chor:7"),
        "{e}"
    );
}

/// An authenticated peer that starts a frame and stops in its middle (the header announces
/// 50 MB, ten bytes follow, then nothing, the connection open): heartbeats cannot come in
/// the middle of a frame, so the receive ends after the idle timeout, in every receive path,
/// naming the peer; and the announced size is never allocated up front (the frame's bytes
/// are read as they arrive).
#[test]
fn a_frame_cut_short_by_a_stalled_peer_times_out() {
    for path in ["message", "frame", "checked"] {
        let mut cfg = config(&["Alice", "Bob"], None, 5000);
        cfg.idle_timeout_ms = Some(300);
        let bob_addr = cfg.roles["Bob"].resolved.expect("an address");
        let hb = start("Bob", &cfg, FP);
        let mut alice = connect_to(bob_addr);
        alice
            .write_all(&plain_hello("Alice", "Bob", FP))
            .expect("write");
        let mut answer = [0u8; 40];
        alice.read_exact(&mut answer).expect("answer");
        assert_eq!((answer[38], answer[39]), (0, 0), "accepted");
        let bob = hb.join().expect("no panic").expect("bob connects");
        let mut start_of_frame = (50_000_000u32).to_le_bytes().to_vec();
        start_of_frame.extend_from_slice(&[1, 0, 7, 0x0a, 0, 0, 0, 0, 0, 0]);
        alice.write_all(&start_of_frame).expect("write");
        let started = Instant::now();
        let mut buf = Vec::new();
        let e = match path {
            "message" => bob.recv("Alice", 9).map(|_| ()),
            "frame" => bob.recv_frame("Alice", 9, &mut buf),
            _ => bob.recv_encoded("Alice", 9, &mut buf),
        }
        .expect_err("times out");
        assert!(started.elapsed() < Duration::from_secs(5), "{path}");
        assert_eq!(
            e.to_string(),
            "role Bob: timed out after 300 ms waiting to receive from peer Alice at test.chor:9",
            "{path}"
        );
        assert!(buf.capacity() < 1 << 20, "{path}: {} bytes", buf.capacity());
        drop(alice);
    }
}

#[test]
fn roles_on_ipv6_and_ipv4_loopback_talk_to_each_other() {
    let v6 = || {
        std::net::TcpListener::bind("[::1]:0")
            .and_then(|l| l.local_addr())
            .expect("IPv6 loopback")
    };
    let roles: std::collections::BTreeMap<String, std::net::SocketAddr> = [
        ("A".to_string(), v6()),
        ("B".to_string(), free_addr()),
        ("C".to_string(), v6()),
    ]
    .into_iter()
    .collect();
    let mut cfg = DeployConfig::loopback(roles);
    cfg.connect_timeout_ms = 5000;
    cfg.idle_timeout_ms = Some(2000);
    let mut s = connect_all(&cfg);
    let c = s.pop().expect("c");
    let b = s.pop().expect("b");
    let a = s.pop().expect("a");
    let relay = |me: Session, from: &'static str, to: &'static str| {
        thread::spawn(move || {
            let m = me.recv(from, 1).expect("recv");
            me.send(to, m, 2).expect("send");
            me.close().expect("close");
        })
    };
    // Around the ring A → B → C → A, across both address families.
    let tb = relay(b, "A", "C");
    let tc = relay(c, "B", "A");
    a.send("B", int(6), 3).expect("send");
    assert_eq!(a.recv("C", 4).expect("back"), int(6));
    a.close().expect("close");
    tb.join().expect("b");
    tc.join().expect("c");
}

#[test]
fn a_last_message_a_busy_peer_has_not_taken_yet_survives_the_senders_exit() {
    let mut cfg = config(&["A", "B"], None, 5000);
    cfg.idle_timeout_ms = Some(300);
    let mut s = connect_all(&cfg);
    let b = s.pop().expect("b");
    let a = s.pop().expect("a");
    // More than B's receive buffer holds while B reads nothing: the rest stays in A's send
    // buffer, where A's exit would destroy it.
    let big = Message::Value(Value::Str("x".repeat(4 << 20)));
    let t = thread::spawn(move || {
        // Alive (heartbeats) but busy for several idle timeouts before it reads.
        thread::sleep(Duration::from_millis(1200));
        let got = b.recv("A", 1);
        let _ = b.close();
        got
    });
    a.send("B", big.clone(), 2).expect("send");
    let started = Instant::now();
    a.close().expect("close");
    // A waited for B to take the message, not for ever.
    assert!(started.elapsed() < Duration::from_secs(10));
    let got = t.join().expect("b").expect("B receives the whole message");
    assert!(got == big, "the message arrived altered");
}
