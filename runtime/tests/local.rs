//! The in-process transport: order, a three-role exchange, disconnects and idle timeouts.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use chor_runtime::error::ErrorKind;
use chor_runtime::{Message, Session, Value};

fn roles(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn messages_arrive_in_order() {
    let mut s = Session::local_mesh(&roles(&["Bob", "Alice"]), common::locs());
    let alice = s.pop().expect("alice");
    let bob = s.pop().expect("bob");
    assert_eq!((alice.role(), bob.role()), ("Alice", "Bob"));
    let t = thread::spawn(move || {
        for i in 0..10_000 {
            bob.send("Alice", Message::Value(Value::Int(i)), 1)
                .expect("send");
        }
    });
    for i in 0..10_000 {
        assert_eq!(alice.recv_value("Bob", 2).expect("recv"), Value::Int(i));
    }
    t.join().expect("bob ok");
}

#[test]
fn three_roles_exchange() {
    let s = Session::local_mesh(&roles(&["A", "B", "C"]), common::locs());
    let mut it = s.into_iter();
    let (a, b, c) = (
        it.next().expect("a"),
        it.next().expect("b"),
        it.next().expect("c"),
    );
    assert_eq!(a.peers().collect::<Vec<_>>(), ["B", "C"]);
    let tb = thread::spawn(move || {
        let x = b.recv_value("A", 1).expect("from a");
        b.send("C", Message::Value(x), 2).expect("to c");
    });
    let tc = thread::spawn(move || {
        let l = c.recv_label("A", &["Go"], 3).expect("label");
        let x = c.recv_value("B", 4).expect("from b");
        c.send("A", Message::Value(Value::Tuple(vec![Value::Str(l), x])), 5)
            .expect("to a");
    });
    a.send("B", Message::Value(Value::Int(42)), 6)
        .expect("send");
    a.send("C", Message::Label("Go".into()), 7).expect("select");
    assert_eq!(
        a.recv_value("C", 8).expect("reply"),
        Value::Tuple(vec![Value::Str("Go".into()), Value::Int(42)])
    );
    tb.join().expect("b ok");
    tc.join().expect("c ok");
}

#[test]
fn a_dropped_peer_is_a_disconnect_after_its_messages() {
    let mut s = Session::local_mesh(&roles(&["Buyer", "Seller"]), common::locs());
    let seller = s.pop().expect("seller");
    let buyer = s.pop().expect("buyer");
    buyer
        .send("Seller", Message::Label("Buy".into()), 1)
        .expect("send");
    drop(buyer);
    assert_eq!(
        seller.recv("Buyer", 2).expect("queued message first"),
        Message::Label("Buy".into())
    );
    let e = seller.recv("Buyer", 12).expect_err("then disconnect");
    assert!(
        e.to_string().starts_with(
            "role Seller: peer Buyer disconnected while Seller was waiting to receive at test.chor:12"
        ),
        "{e}"
    );
    let e = seller
        .send("Buyer", Message::Label("X".into()), 13)
        .expect_err("send fails");
    assert!(matches!(e.kind(), ErrorKind::Disconnected { .. }));
}

#[test]
fn idle_timeout_applies_to_local_sessions() {
    let mut s = Session::local_mesh(&roles(&["A", "B"]), common::locs());
    let _b = s.pop().expect("b");
    let mut a = s.pop().expect("a");
    a.set_idle_timeout(Some(Duration::from_millis(100)));
    let started = Instant::now();
    let e = a.recv("B", 99).expect_err("timeout");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        e.to_string(),
        "role A: timed out after 100 ms waiting to receive from peer B at test.chor:99"
    );
}

#[test]
fn locations_outside_the_table_are_still_named() {
    let s = Session::local_mesh(&roles(&["A", "B"]), common::locs());
    assert_eq!(s[0].location(3), "test.chor:3");
    assert_eq!(s[0].location(1000), "location #1000");
    let e = s[0].fault(3, "division by zero");
    assert_eq!(e.to_string(), "role A: division by zero at test.chor:3");
}

#[test]
fn encoded_messages_cross_the_local_transport() {
    let mut s = Session::local_mesh(&roles(&["A", "B"]), common::locs());
    let b = s.pop().expect("b");
    let a = s.pop().expect("a");
    let bytes = chor_runtime::codec::encode(&Message::Value(Value::Int(5)));
    a.send_encoded("B", &bytes, 1).expect("send");
    let mut out = Vec::new();
    b.recv_encoded("A", 2, &mut out).expect("recv");
    assert_eq!(out, bytes);
    let e = a
        .send_encoded("B", &[1, 0, 0x77], 3)
        .expect_err("malformed");
    assert!(e.to_string().contains("malformed message"), "{e}");
}

#[test]
fn peers_resolved_once_by_id() {
    let mut s = Session::local_mesh(&roles(&["A", "B", "C"]), common::locs());
    let c = s.pop().expect("c");
    let b = s.pop().expect("b");
    let a = s.pop().expect("a");
    let to_c = a.peer_id("C").expect("C is a peer of A");
    assert_eq!(a.peer_id("A"), None);
    assert_eq!(a.peer_id("D"), None);
    a.send_to(to_c, Message::Value(Value::Int(1)), 1)
        .expect("send");
    let from_a = c.peer_id("A").expect("A is a peer of C");
    assert_eq!(
        c.recv_from(from_a, 2).expect("recv"),
        Message::Value(Value::Int(1))
    );
    // An id from a larger session is out of range here: an error, not a panic.
    let big = Session::local_mesh(&roles(&["P", "Q", "R", "S"]), common::locs());
    let far = big[0].peer_id("S").expect("S");
    let e = b
        .send_to(far, Message::Label("X".into()), 3)
        .expect_err("not a peer");
    assert!(e.to_string().contains("peer #2 is not a peer of B"), "{e}");
}
