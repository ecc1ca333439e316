//! TLS between roles: messages flow under a CA or pinned certificates, a role cannot pass for
//! another, strangers and plaintext peers are refused, and a byte altered in transit ends
//! both roles with a "message integrity" error. Everything stays on 127.0.0.1.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;

use chor_runtime::config::DeployConfig;
use chor_runtime::error::ErrorKind;
use chor_runtime::{Message, Session, Value};
use common::*;

fn int(i: i64) -> Message {
    Message::Value(Value::Int(i))
}

fn exchange(cfg: &DeployConfig) {
    let hb = start("Bob", cfg, FP);
    let alice = Session::connect_tcp("Alice", cfg, FP, locs()).expect("alice connects");
    let bob = hb.join().expect("no panic").expect("bob connects");
    for i in 0..100 {
        alice.send("Bob", int(i), 1).expect("send");
    }
    for i in 0..100 {
        assert_eq!(bob.recv("Alice", 2).expect("recv"), int(i));
    }
    // A message larger than a TLS record (16 KiB) and larger than the receive buffer.
    let big = Message::Value(Value::Str("x".repeat(300_000)));
    bob.send("Alice", big.clone(), 3).expect("send big");
    assert_eq!(alice.recv("Bob", 4).expect("recv big"), big);
    close_all(vec![alice, bob]);
}

#[test]
fn roles_talk_over_tls_trusting_a_ca() {
    let dir = scratch_dir();
    write_cluster(&dir, &["Alice", "Bob"]);
    exchange(&tls_config(&["Alice", "Bob"], &dir, false, 5000));
}

#[test]
fn roles_talk_over_tls_with_pinned_certificates() {
    let dir = scratch_dir();
    write_cluster(&dir, &["Alice", "Bob"]);
    exchange(&tls_config(&["Alice", "Bob"], &dir, true, 5000));
}

#[test]
fn three_roles_with_tls_and_a_shared_secret() {
    let dir = scratch_dir();
    write_cluster(&dir, &["A", "B", "C"]);
    let mut cfg = tls_config(&["A", "B", "C"], &dir, false, 5000);
    cfg.secret = Some(chor_runtime::config::Secret::new(SECRET.to_vec()));
    let s = connect_all(&cfg);
    s[0].send("C", int(1), 1).expect("send");
    s[2].send("B", int(2), 1).expect("send");
    s[1].send("A", int(3), 1).expect("send");
    assert_eq!(s[2].recv("A", 1).expect("recv"), int(1));
    assert_eq!(s[1].recv("C", 1).expect("recv"), int(2));
    assert_eq!(s[0].recv("B", 1).expect("recv"), int(3));
    close_all(s);
}

/// Carol holds a valid certificate of the same cluster, for Carol; she dials Bob claiming to
/// be Alice. Bob refuses, then the real Alice gets in.
#[test]
fn a_role_cannot_pass_for_another_role() {
    let dir = scratch_dir();
    write_cluster(&dir, &["Alice", "Bob", "Carol"]);
    let cfg = tls_config(&["Alice", "Bob"], &dir, false, 5000);
    let hb = start("Bob", &cfg, FP);
    let mut carol = cfg.clone();
    let alice = carol.roles.get_mut("Alice").expect("alice");
    alice.cert = Some(dir.join("Carol.pem"));
    alice.key = Some(dir.join("Carol.key"));
    carol.connect_timeout_ms = 1500;
    let e = Session::connect_tcp("Alice", &carol, FP, locs())
        .err()
        .expect("carol is refused");
    assert!(
        e.to_string()
            .contains("its TLS certificate is not the certificate of the role it claims"),
        "{e}"
    );
    // The same under pinning: Carol's certificate is pinned for Carol, not for Alice.
    let alice = Session::connect_tcp("Alice", &cfg, FP, locs()).expect("real alice connects");
    let bob = hb.join().expect("no panic").expect("bob connects");
    alice.send("Bob", int(7), 1).expect("send");
    assert_eq!(bob.recv("Alice", 2).expect("recv"), int(7));
    close_all(vec![alice, bob]);
}

#[test]
fn a_pinned_role_cannot_pass_for_another_role() {
    let dir = scratch_dir();
    write_cluster(&dir, &["Alice", "Bob", "Carol"]);
    let mut cfg = tls_config(&["Alice", "Bob", "Carol"], &dir, true, 5000);
    cfg.roles.remove("Carol");
    let hb = start("Bob", &cfg, FP);
    let mut carol = cfg.clone();
    let alice = carol.roles.get_mut("Alice").expect("alice");
    alice.key = Some(dir.join("Carol.key"));
    alice.cert = Some(dir.join("Carol.pem"));
    carol.connect_timeout_ms = 1000;
    let e = Session::connect_tcp_with("Alice", &["Bob"], &carol, FP, locs())
        .err()
        .expect("carol is refused");
    assert!(e.to_string().contains("TLS"), "{e}");
    let alice = Session::connect_tcp_with("Alice", &["Bob"], &cfg, FP, locs()).expect("alice");
    let bob = hb.join().expect("no panic").expect("bob connects");
    close_all(vec![alice, bob]);
}

/// A listener holding Carol's certificate answers at Bob's address: Alice does not talk to it.
#[test]
fn a_listener_with_another_roles_certificate_is_not_trusted() {
    let dir = scratch_dir();
    write_cluster(&dir, &["Alice", "Bob", "Carol"]);
    let cfg = tls_config(&["Alice", "Bob"], &dir, false, 800);
    let mut fake_bob = cfg.clone();
    let bob = fake_bob.roles.get_mut("Bob").expect("bob");
    bob.cert = Some(dir.join("Carol.pem"));
    bob.key = Some(dir.join("Carol.key"));
    let hb = start("Bob", &fake_bob, FP);
    let e = Session::connect_tcp("Alice", &cfg, FP, locs())
        .err()
        .expect("alice refuses the impostor");
    let text = e.to_string();
    assert!(text.contains("TLS handshake failed"), "{text}");
    assert!(text.contains("certificate"), "{text}");
    assert!(hb.join().expect("no panic").is_err());
}

/// A certificate from another CA (another cluster) is refused in both directions.
#[test]
fn a_certificate_from_another_ca_is_refused() {
    let dir = scratch_dir();
    write_cluster(&dir, &["Alice", "Bob"]);
    let other = scratch_dir();
    write_cluster(&other, &["Alice", "Bob"]);
    let cfg = tls_config(&["Alice", "Bob"], &dir, false, 800);
    let hb = start("Bob", &cfg, FP);
    let mut stranger = cfg.clone();
    let a = stranger.roles.get_mut("Alice").expect("alice");
    a.cert = Some(other.join("Alice.pem"));
    a.key = Some(other.join("Alice.key"));
    let e = Session::connect_tcp("Alice", &stranger, FP, locs())
        .err()
        .expect("refused");
    assert!(e.to_string().contains("TLS"), "{e}");
    assert!(hb.join().expect("no panic").is_err());
}

/// A plaintext peer (no TLS configured) cannot talk to a TLS listener, which still accepts
/// the real peer afterwards.
#[test]
fn a_plaintext_peer_is_refused_by_a_tls_listener() {
    let dir = scratch_dir();
    write_cluster(&dir, &["Alice", "Bob"]);
    let cfg = tls_config(&["Alice", "Bob"], &dir, false, 5000);
    let hb = start("Bob", &cfg, FP);
    let mut plain = cfg.clone();
    plain.tls = None;
    plain.connect_timeout_ms = 500;
    assert!(Session::connect_tcp("Alice", &plain, FP, locs()).is_err());
    let alice = Session::connect_tcp("Alice", &cfg, FP, locs()).expect("real alice");
    let bob = hb.join().expect("no panic").expect("bob connects");
    close_all(vec![alice, bob]);
}

/// Forwards one connection between `listener` and `upstream`; in the direction towards
/// `upstream` it flips the last byte of the first TLS record longer than `over` bytes.
fn flipping_proxy(
    listener: TcpListener,
    upstream: SocketAddr,
    over: usize,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let Ok((down, _)) = listener.accept() else {
            return;
        };
        // The role behind the proxy starts on another thread and may not be listening yet:
        // without retrying, a loaded machine made Alice's only way in fail for good.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let up = loop {
            match TcpStream::connect(upstream) {
                Ok(up) => break up,
                Err(_) if std::time::Instant::now() < until => {
                    thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(_) => return,
            }
        };
        let (mut d2, mut u2) = (
            down.try_clone().expect("clone"),
            up.try_clone().expect("clone"),
        );
        let back = thread::spawn(move || {
            let _ = std::io::copy(&mut u2, &mut d2);
            let _ = d2.shutdown(std::net::Shutdown::Write);
        });
        let (mut down, mut up) = (down, up);
        // Record parser: 5-byte header (type, version, length), then the body.
        let mut header = Vec::new();
        let mut left = 0usize;
        let mut flip_at_end = false;
        let mut flipped = false;
        let mut buf = [0u8; 65536];
        loop {
            let n = match down.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            for b in &mut buf[..n] {
                if left == 0 {
                    header.push(*b);
                    if header.len() == 5 {
                        left = usize::from(u16::from_be_bytes([header[3], header[4]]));
                        flip_at_end = !flipped && left > over;
                        header.clear();
                    }
                } else {
                    left -= 1;
                    if left == 0 && flip_at_end {
                        *b ^= 0x01;
                        flipped = true;
                        flip_at_end = false;
                    }
                }
            }
            if up.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = up.shutdown(std::net::Shutdown::Write);
        let _ = back.join();
    })
}

#[test]
fn a_byte_flipped_in_transit_ends_both_roles_with_an_integrity_error() {
    let dir = scratch_dir();
    write_cluster(&dir, &["Alice", "Bob"]);
    let proxy = TcpListener::bind("127.0.0.1:0").expect("bind");
    let proxy_addr = proxy.local_addr().expect("addr");
    let bob_listen = free_addr();
    let text = format!(
        "[roles]\nAlice = {{ address = \"{}\", cert = \"Alice.pem\", key = \"Alice.key\" }}\n\
         Bob = {{ address = \"{proxy_addr}\", listen = \"{bob_listen}\", cert = \"Bob.pem\", \
         key = \"Bob.key\" }}\n[security]\nca = \"ca.pem\"\n[runtime]\nconnect_timeout_ms = 5000\n\
         idle_timeout_ms = 5000\n",
        free_addr()
    );
    let cfg = DeployConfig::from_str(&text, &dir).expect("config");
    let px = flipping_proxy(proxy, bob_listen, 2000);
    let hb = start("Bob", &cfg, FP);
    let alice = Session::connect_tcp("Alice", &cfg, FP, locs()).expect("alice connects");
    let bob = hb.join().expect("no panic").expect("bob connects");
    // Small messages pass untouched; the first big record is altered.
    alice.send("Bob", int(1), 1).expect("send");
    assert_eq!(bob.recv("Alice", 2).expect("recv"), int(1));
    alice
        .send("Bob", Message::Value(Value::Str("y".repeat(3000))), 3)
        .expect("send");
    let eb = bob.recv("Alice", 4).expect_err("bob detects the change");
    assert!(matches!(eb.kind(), ErrorKind::Integrity { .. }), "{eb}");
    let tb = eb.to_string();
    assert!(
        tb.starts_with("role Bob: message integrity check failed on the connection with peer Alice while Bob was waiting to receive at test.chor:4"),
        "{tb}"
    );
    let ea = alice.recv("Bob", 5).expect_err("alice learns of it");
    let ta = ea.to_string();
    assert!(
        ta.starts_with(
            "role Alice: message integrity check failed on the connection with peer Bob"
        ),
        "{ta}"
    );
    assert!(ta.contains("altered in transit"), "{ta}");
    drop(alice);
    drop(bob);
    let _ = px.join();
    let _ = std::fs::remove_dir_all(dir);
}
