//! Two roles on two hosts without TLS (`allow_plaintext`): each in its own network namespace,
//! joined by a veth pair, with a `deploy.toml` naming their real addresses. The dialler starts
//! while its peer's link is down and its peer is not running yet, and the run still completes
//! once both are there; a link that goes down in the middle of a bulk transfer ends the
//! receiver within the idle timeout and the sender (blocked on a full socket) soon after, each
//! naming the other and the line; a link that stays down through set-up ends both with the
//! connect timeout, naming the peer and its address; a link down for a third of the idle
//! timeout mid-run is survived; over a rate-limited link (`tc`'s token bucket), a role that
//! finishes first still delivers its last messages to a busy peer; a host name with an IPv6
//! and an IPv4 address reaches a peer listening on the second. (`tests/tls.rs` runs three
//! hosts over TLS through a bridge.)
//!
//! Creating namespaces needs root: elsewhere the tests are skipped with a notice, except
//! under CI, where they must run.

mod common;

use common::netns::{ip, or_skip, remove, spawn_in};
use common::{build_in, ok, temp_dir, text};

use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::thread;
use std::time::{Duration, Instant};

/// Two network namespaces joined by a veth pair; removed on drop.
struct Pair {
    tag: String,
    subnet: String,
    made: Vec<String>,
}

impl Pair {
    /// `n` tells the tests of this binary apart (they run in parallel).
    fn new(n: u8) -> Result<Pair, String> {
        let tag = format!("cf{}x{n}", std::process::id() % 100_000);
        let mut p = Pair {
            tag: tag.clone(),
            subnet: format!("10.215.{n}"),
            made: Vec::new(),
        };
        for i in 0..2 {
            let ns = p.ns(i);
            ip(&["netns", "add", &ns])?;
            p.made.push(ns);
        }
        ip(&[
            "link",
            "add",
            "name",
            &p.dev(0),
            "netns",
            &p.ns(0),
            "type",
            "veth",
            "peer",
            "name",
            &p.dev(1),
            "netns",
            &p.ns(1),
        ])?;
        for i in 0..2 {
            let addr = format!("{}.{}/24", p.subnet, i + 1);
            ip(&["-n", &p.ns(i), "addr", "add", &addr, "dev", &p.dev(i)])?;
            ip(&["-n", &p.ns(i), "link", "set", "lo", "up"])?;
            p.link(i, true);
        }
        Ok(p)
    }

    fn ns(&self, i: usize) -> String {
        format!("{}h{i}", self.tag)
    }

    fn dev(&self, i: usize) -> String {
        format!("{}v{i}", self.tag)
    }

    fn addr(&self, i: usize) -> String {
        format!("{}.{}:7100", self.subnet, i + 1)
    }

    /// Sets host `i`'s end of the link up or down (down: packets are dropped silently).
    fn link(&self, i: usize, up: bool) {
        let state = if up { "up" } else { "down" };
        ip(&["-n", &self.ns(i), "link", "set", &self.dev(i), state]).expect("set the link");
    }

    /// Starts `exe` on host `i`.
    fn spawn(&self, i: usize, exe: &Path, cfg: &Path) -> Child {
        spawn_in(&self.ns(i), exe, cfg)
    }

    /// A plaintext deployment file for roles A (host 0) and B (host 1).
    fn deploy(&self, dir: &Path, connect_ms: u64, idle_ms: u64) -> PathBuf {
        let cfg = dir.join("hosts.toml");
        std::fs::write(
            &cfg,
            format!(
                "[roles]\nA = \"{}\"\nB = \"{}\"\n[security]\nallow_plaintext = true\n\
                 [runtime]\nconnect_timeout_ms = {connect_ms}\nidle_timeout_ms = {idle_ms}\n",
                self.addr(0),
                self.addr(1)
            ),
        )
        .expect("write");
        cfg
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end inside it, and with it the pair.
        remove(&self.made);
    }
}

/// Waits for a child with a deadline; kills it if it does not finish. Returns its output
/// and how long it took.
fn finish(mut c: Child, limit: Duration) -> (Output, Option<Duration>) {
    let t0 = Instant::now();
    loop {
        if let Ok(Some(_)) = c.try_wait() {
            return (c.wait_with_output().expect("output"), Some(t0.elapsed()));
        }
        if t0.elapsed() > limit {
            let _ = c.kill();
            return (c.wait_with_output().expect("output"), None);
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// The line of `src` holding `needle` (1-based).
fn line_of(src: &str, needle: &str) -> usize {
    src.lines()
        .position(|l| l.contains(needle))
        .expect("the line")
        + 1
}

/// A ping-pong of `rounds` round trips; `at_b` runs at B before each answer.
fn ping(rounds: u32, at_b: &str) -> String {
    format!(
        "choreography Ping(A, B)(n: Int@A) {{
    if A.n > 0 {{
        A -> B[More];
        A.n -> B.m;{at_b}
        B.(m - 1) -> A.k;
        Ping(A, B)(A.k);
    }} else {{
        A -> B[Done];
        B.print(\"done\");
    }}
}}

choreography main(A, B) {{
    Ping(A, B)(A.{rounds});
}}
"
    )
}

/// Two hundred round trips.
fn fast_ping() -> String {
    ping(200, "")
}

#[test]
fn the_dialler_waits_for_a_peer_whose_link_and_process_come_late() {
    let Some(hosts) = or_skip(Pair::new(1)) else {
        return;
    };
    let dir = temp_dir("netns-late");
    let out = build_in(&dir, &fast_ping());
    let cfg = hosts.deploy(&dir, 20_000, 5_000);
    // A (which dials B) starts while B's link is down and B is not running: its dials go
    // unanswered, then are refused, then succeed.
    hosts.link(1, false);
    let a = hosts.spawn(0, &out.join("A"), &cfg);
    thread::sleep(Duration::from_millis(1500));
    hosts.link(1, true);
    thread::sleep(Duration::from_millis(500));
    let b = hosts.spawn(1, &out.join("B"), &cfg);
    let (ao, a_done) = finish(a, Duration::from_secs(40));
    let (bo, b_done) = finish(b, Duration::from_secs(40));
    assert!(a_done.is_some(), "A hangs: {}", text(&ao.stderr));
    assert!(b_done.is_some(), "B hangs: {}", text(&bo.stderr));
    ok(&ao, "A");
    ok(&bo, "B");
    assert_eq!(text(&bo.stdout), "done\n");
    let _ = std::fs::remove_dir_all(dir);
}

/// A streams lists of 20,000 Ints to B for ever.
const STREAM: &str = "choreography Stream(A, B)(xs: List<Int>@A) {
    A -> B[More];
    A.xs -> B._ys;
    Stream(A, B)(A.xs);
}

choreography main(A, B) {
    Stream(A, B)(A.list::range(0, 20000));
}
";

#[test]
fn a_link_cut_during_a_bulk_transfer_ends_both_roles_naming_the_peer() {
    let Some(hosts) = or_skip(Pair::new(2)) else {
        return;
    };
    let dir = temp_dir("netns-cut");
    let out = build_in(&dir, STREAM);
    let idle_ms = 1000;
    let cfg = hosts.deploy(&dir, 20_000, idle_ms);
    let a = hosts.spawn(0, &out.join("A"), &cfg);
    let b = hosts.spawn(1, &out.join("B"), &cfg);
    // Until the transfer runs: B has received a good part (its process lives and A's
    // socket buffer is full at times). On a loaded machine this takes a varying while.
    thread::sleep(Duration::from_millis(1500));
    hosts.link(1, false);
    let (bo, b_after) = finish(b, Duration::from_secs(20));
    let (ao, a_after) = finish(a, Duration::from_secs(20));
    let (a_err, b_err) = (text(&ao.stderr), text(&bo.stderr));
    let b_after = b_after.unwrap_or_else(|| panic!("B hangs after the cut: {b_err}"));
    let a_after = a_after.unwrap_or_else(|| panic!("A hangs after the cut: {a_err}"));
    let line = line_of(STREAM, "A.xs -> B._ys;");
    // B waits to receive: it gives up after the idle timeout of silence.
    assert!(
        b_err.contains(&format!(
            "error: role B: timed out after {idle_ms} ms waiting to receive from peer A at \
             prog.chor:{line}"
        )),
        "{b_err}"
    );
    // A is blocked writing into a full socket: it gives up once the socket has taken nothing
    // for the idle timeout (a write that took part of a batch, then nothing, counts twice).
    assert!(
        a_err.contains(&format!(
            "error: role A: timed out after {idle_ms} ms while sending to peer B at \
             prog.chor:{line}"
        )),
        "{a_err}"
    );
    assert!(!a_err.contains("panicked") && !b_err.contains("panicked"));
    // Bounded: generous margins for a loaded machine, far below a hang.
    assert!(b_after < Duration::from_secs(10), "B took {b_after:?}");
    assert!(a_after < Duration::from_secs(15), "A took {a_after:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_link_down_through_set_up_ends_both_roles_with_the_connect_timeout() {
    let Some(hosts) = or_skip(Pair::new(3)) else {
        return;
    };
    let dir = temp_dir("netns-down");
    let out = build_in(&dir, &fast_ping());
    let cfg = hosts.deploy(&dir, 3000, 5000);
    hosts.link(1, false);
    let a = hosts.spawn(0, &out.join("A"), &cfg);
    let b = hosts.spawn(1, &out.join("B"), &cfg);
    let (ao, a_took) = finish(a, Duration::from_secs(30));
    let (bo, b_took) = finish(b, Duration::from_secs(30));
    let (a_err, b_err) = (text(&ao.stderr), text(&bo.stderr));
    assert!(a_took.is_some(), "A hangs: {a_err}");
    assert!(b_took.is_some(), "B hangs: {b_err}");
    assert!(!ao.status.success() && !bo.status.success());
    let first = line_of(&fast_ping(), "A -> B[More];");
    assert!(
        a_err.contains(&format!(
            "error: role A: could not connect with peer B at {} within 3000 ms",
            hosts.addr(1)
        )) && a_err.contains(&format!("the first action with B is at prog.chor:{first}")),
        "{a_err}"
    );
    assert!(
        b_err.contains(&format!(
            "error: role B: could not connect with peer A at {} within 3000 ms: it never \
             connected to B (listening on {})",
            hosts.addr(0),
            hosts.addr(1)
        )),
        "{b_err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A hundred round trips, 20 ms apart.
fn slow_ping() -> String {
    ping(100, "\n        B.time::sleep_ms(20);")
}

#[test]
fn a_link_down_for_less_than_the_idle_timeout_is_survived() {
    let Some(hosts) = or_skip(Pair::new(4)) else {
        return;
    };
    let dir = temp_dir("netns-blip");
    let out = build_in(&dir, &slow_ping());
    let cfg = hosts.deploy(&dir, 20_000, 3000);
    let a = hosts.spawn(0, &out.join("A"), &cfg);
    let b = hosts.spawn(1, &out.join("B"), &cfg);
    // In the middle of the exchange the link goes down for a third of the idle timeout:
    // TCP retransmits once it is back (its backoff adds to the silence), and neither role may
    // take the other for dead.
    thread::sleep(Duration::from_millis(700));
    hosts.link(1, false);
    thread::sleep(Duration::from_millis(1000));
    hosts.link(1, true);
    let (ao, a_done) = finish(a, Duration::from_secs(30));
    let (bo, b_done) = finish(b, Duration::from_secs(30));
    assert!(a_done.is_some(), "A hangs: {}", text(&ao.stderr));
    assert!(b_done.is_some(), "B hangs: {}", text(&bo.stderr));
    ok(&ao, "A");
    ok(&bo, "B");
    assert_eq!(text(&bo.stdout), "done\n");
    let _ = std::fs::remove_dir_all(dir);
}

/// A sends lists (about 12 KB each) to B, which is busy for three idle timeouts before it
/// reads them, over a slow link; C waits for A's one message at the end, hearing only A's
/// heartbeats until then.
const FEED: &str = "choreography Feed(A, B)(n: Int@A) {
    if A.n > 0 {
        A -> B[More];
        A.list::range(0, 4000) -> B._xs;
        A.time::sleep_ms(2);
        Feed(A, B)(A.(n - 1));
    } else {
        A -> B[Done];
    }
}

choreography main(A, B, C) {
    B.time::sleep_ms(3000);
    Feed(A, B)(A.60);
    A.1 -> C.x;
    C.print(\"done\");
}
";

/// A finishes while much of what it sent to B is still in its send buffer, behind a slow link,
/// and B, alive, has not read for longer than the idle timeout: A may exit only once B's
/// kernel has taken it all (its exit would reset the connection and destroy the rest: B
/// failed with "the connection closed in the middle of a frame" while A reported success).
/// Meanwhile C hears only A's heartbeats, which must go on while the connection with B is
/// full (the flusher never waits on it: unit tests in the runtime's `tcp.rs` and `tls.rs`).
#[test]
fn a_last_message_behind_a_slow_link_reaches_a_busy_peer() {
    let Some(hosts) = or_skip(Pair::new(5)) else {
        return;
    };
    // 1 Mbit/s from A's host to B's (a token bucket filter; `tc` is Debian's iproute2).
    let tc = std::process::Command::new("ip")
        .args(["netns", "exec", &hosts.ns(0), "tc", "qdisc", "add", "dev"])
        .arg(hosts.dev(0))
        .args([
            "root", "tbf", "rate", "4mbit", "burst", "32kbit", "latency", "400ms",
        ])
        .output();
    match tc {
        Ok(o) if o.status.success() => {}
        other => {
            eprintln!("notice: test skipped: cannot limit the link's rate with tc: {other:?}");
            return;
        }
    }
    let dir = temp_dir("netns-slow");
    let out = build_in(&dir, FEED);
    let host0 = hosts.addr(0);
    let c_addr = host0.replace(":7100", ":7101");
    let cfg = dir.join("hosts.toml");
    std::fs::write(
        &cfg,
        format!(
            "[roles]\nA = \"{host0}\"\nB = \"{}\"\nC = \"{c_addr}\"\n\
             [security]\nallow_plaintext = true\n\
             [runtime]\nconnect_timeout_ms = 20000\nidle_timeout_ms = 1000\n",
            hosts.addr(1)
        ),
    )
    .expect("write");
    let a = hosts.spawn(0, &out.join("A"), &cfg);
    let b = hosts.spawn(1, &out.join("B"), &cfg);
    let c = hosts.spawn(0, &out.join("C"), &cfg);
    let (co, c_done) = finish(c, Duration::from_secs(60));
    let (ao, a_done) = finish(a, Duration::from_secs(60));
    let (bo, b_done) = finish(b, Duration::from_secs(60));
    for (r, o, done) in [("A", &ao, a_done), ("B", &bo, b_done), ("C", &co, c_done)] {
        assert!(done.is_some(), "{r} hangs: {}", text(&o.stderr));
        ok(o, r);
    }
    assert_eq!(text(&co.stdout), "done\n");
    let _ = std::fs::remove_dir_all(dir);
}

/// A's peer is at a host name, and A's resolver does not answer: the lookup outlasts the
/// connect timeout (getaddrinfo has none of its own), and A's error says so, rather than that
/// B never dialled A.
#[test]
fn a_host_name_whose_lookup_outlasts_the_connect_timeout_is_named_as_the_reason() {
    let Some(hosts) = or_skip(Pair::new(6)) else {
        return;
    };
    // `ip netns exec` puts /etc/netns/NS/resolv.conf in place of /etc/resolv.conf: a name
    // server at an address nobody has, asked once for a second.
    let etc = Path::new("/etc/netns").join(hosts.ns(0));
    std::fs::create_dir_all(&etc).expect("/etc/netns");
    std::fs::write(
        etc.join("resolv.conf"),
        format!(
            "nameserver {}.9\noptions timeout:1 attempts:1\n",
            hosts.subnet
        ),
    )
    .expect("resolv.conf");
    let dir = temp_dir("netns-dns");
    let out = build_in(&dir, &fast_ping());
    let cfg = dir.join("hosts.toml");
    std::fs::write(
        &cfg,
        format!(
            "[roles]\nA = \"{}\"\nB = \"b.chor-test.invalid:7100\"\n\
             [security]\nallow_plaintext = true\n[runtime]\nconnect_timeout_ms = 300\n",
            hosts.addr(0)
        ),
    )
    .expect("write");
    let a = hosts.spawn(0, &out.join("A"), &cfg);
    let (ao, took) = finish(a, Duration::from_secs(30));
    let _ = std::fs::remove_dir_all(&etc);
    let err = text(&ao.stderr);
    assert!(took.is_some(), "A hangs: {err}");
    assert!(
        err.contains(
            "error: role A: could not connect with peer B at b.chor-test.invalid:7100 within \
             300 ms: cannot resolve b.chor-test.invalid:7100"
        ),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// B's host name has an IPv6 address, which the resolver puts first, and an IPv4 one, and B
/// listens on the IPv4 address only: A dials each address the name has, and reaches B at
/// the second (it used to dial the first alone, refused until its connect timeout).
#[test]
fn a_host_name_is_dialled_at_each_of_its_addresses() {
    let Some(hosts) = or_skip(Pair::new(7)) else {
        return;
    };
    // Both hosts have an IPv6 address too; B's (a global one, preferred to IPv4 by the
    // resolver's ordering) answers, but nothing listens there.
    for i in 0..2 {
        let v6 = format!("2001:db8:7::{}/64", i + 1);
        ip(&[
            "-n",
            &hosts.ns(i),
            "addr",
            "add",
            &v6,
            "dev",
            &hosts.dev(i),
            "nodad",
        ])
        .expect("an IPv6 address");
    }
    // `ip netns exec` puts /etc/netns/NS/hosts in place of /etc/hosts.
    let etc = Path::new("/etc/netns").join(hosts.ns(0));
    std::fs::create_dir_all(&etc).expect("/etc/netns");
    let b_v4 = format!("{}.2", hosts.subnet);
    std::fs::write(
        etc.join("hosts"),
        format!("127.0.0.1 localhost\n2001:db8:7::2 b.dual.test\n{b_v4} b.dual.test\n"),
    )
    .expect("hosts");
    let dir = temp_dir("netns-dual");
    let out = build_in(&dir, &fast_ping());
    let cfg = dir.join("hosts.toml");
    std::fs::write(
        &cfg,
        format!(
            "[roles]\nA = \"{}\"\nB = {{ address = \"b.dual.test:7100\", listen = \"{b_v4}:7100\" }}\n\
             [security]\nallow_plaintext = true\n[runtime]\nconnect_timeout_ms = 3000\n",
            hosts.addr(0)
        ),
    )
    .expect("write");
    let b = hosts.spawn(1, &out.join("B"), &cfg);
    let a = hosts.spawn(0, &out.join("A"), &cfg);
    let (ao, a_took) = finish(a, Duration::from_secs(30));
    let (bo, b_took) = finish(b, Duration::from_secs(30));
    let _ = std::fs::remove_dir_all(&etc);
    let both = format!("A: {}\nB: {}", text(&ao.stderr), text(&bo.stderr));
    assert!(a_took.is_some() && b_took.is_some(), "{both}");
    assert!(ao.status.success() && bo.status.success(), "{both}");
    assert_eq!(text(&bo.stdout), "done\n");
    let _ = std::fs::remove_dir_all(dir);
}
