//! Benchmark binary: runs every contender side by side in one invocation and prints ratios.
//!
//! Measured, each in two threads of this process over 127.0.0.1 (or in memory):
//! - ping-pong round trip of one small message (`Int`) each way, and
//! - pipelined one-way throughput of small messages (sender sends N, receiver acks once),
//!
//! over (a) chor-runtime's TCP session, (b) raw std TCP carrying the very same frames
//! (`u32` length + the same codec bytes, encoded and decoded the same way, one `write` per
//! message for ping-pong and a 64 KiB `BufWriter` for throughput), (c) ChoRus 0.5 with its
//! HTTP and local transports (a choreography of `comm`s), and (d) chor-runtime's in-process
//! mesh against bare std `mpsc` channels. Each figure is the median of several runs.
//! Goals (issue 4): TCP round trip within 1.1x of raw TCP; at least 5x faster than ChoRus over
//! HTTP; at least 1,000,000 small messages/s one way over loopback.

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Instant;

use chor_runtime::codec;
use chor_runtime::{DeployConfig, Fingerprint, Message, Session, Value};
use chorus_lib::core::{ChoreoOp, Choreography, ChoreographyLocation, LocationSet, Projector};
use chorus_lib::transport::http::{HttpTransport, HttpTransportConfigBuilder};
use chorus_lib::transport::local::{LocalTransport, LocalTransportChannelBuilder};

const RUNS: usize = 5;

fn msg(i: i64) -> Message {
    Message::Value(Value::Int(i))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
}

/// Runs `a` and `b` on two threads; returns what `a` returns (the timing side).
fn pair<A, B>(a: A, b: B) -> f64
where
    A: FnOnce() -> f64 + Send + 'static,
    B: FnOnce() + Send + 'static,
{
    let tb = thread::spawn(b);
    let r = a();
    tb.join().expect("peer thread");
    r
}

// ---------------------------------------------------------------- chor-runtime TCP

fn runtime_tcp_sessions() -> (Session, Session) {
    let mut roles = std::collections::BTreeMap::new();
    roles.insert("A".to_string(), free_addr());
    roles.insert("B".to_string(), free_addr());
    let mut cfg = DeployConfig::loopback(roles);
    cfg.secret = Some(chor_runtime::config::Secret::new(
        b"benchmark-secret-0123456789".to_vec(),
    ));
    let locs: Arc<[String]> = Arc::from(vec!["bench.chor:1".to_string()]);
    let fp = Fingerprint([1; 32]);
    let cfg2 = cfg.clone();
    let locs2 = Arc::clone(&locs);
    let hb = thread::spawn(move || Session::connect_tcp("B", &cfg2, fp, locs2).expect("B"));
    let a = Session::connect_tcp("A", &cfg, fp, locs).expect("A");
    (a, hb.join().expect("B thread"))
}

fn session_rtt(a: Session, b: Session, n: usize) -> f64 {
    pair(
        move || {
            for i in 0..1000 {
                a.send("B", msg(i), 0).expect("send");
                a.recv("B", 0).expect("recv");
            }
            let t = Instant::now();
            for i in 0..n as i64 {
                a.send("B", msg(i), 0).expect("send");
                a.recv("B", 0).expect("recv");
            }
            let us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
            a.close().expect("close");
            us
        },
        move || {
            for _ in 0..n + 1000 {
                let m = b.recv("A", 0).expect("recv");
                b.send("A", m, 0).expect("send");
            }
            b.close().expect("close");
        },
    )
}

fn session_throughput(a: Session, b: Session, n: usize) -> f64 {
    pair(
        move || {
            let t = Instant::now();
            for i in 0..n as i64 {
                a.send("B", msg(i), 0).expect("send");
            }
            a.recv("B", 0).expect("ack");
            let rate = n as f64 / t.elapsed().as_secs_f64();
            a.close().expect("close");
            rate
        },
        move || {
            for i in 0..n as i64 {
                let m = b.recv("A", 0).expect("recv");
                debug_assert_eq!(m, msg(i));
                let _ = i;
            }
            b.send("A", msg(0), 0).expect("ack");
            b.close().expect("close");
        },
    )
}

// ---------------------------------------------------------------- raw std TCP

fn raw_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let c = TcpStream::connect(addr).expect("connect");
    let (s, _) = l.accept().expect("accept");
    c.set_nodelay(true).expect("nodelay");
    s.set_nodelay(true).expect("nodelay");
    (c, s)
}

/// Appends one frame (u32 length + encoded message), like the runtime does.
fn frame(m: &Message, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    codec::encode_into(m, out);
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

fn read_frame(r: &mut BufReader<TcpStream>, buf: &mut Vec<u8>) -> Message {
    let mut h = [0u8; 4];
    r.read_exact(&mut h).expect("header");
    buf.resize(u32::from_le_bytes(h) as usize, 0);
    r.read_exact(buf).expect("payload");
    codec::decode(buf).expect("decode")
}

fn raw_rtt(n: usize) -> f64 {
    let (c, s) = raw_pair();
    pair(
        move || {
            let mut w = c.try_clone().expect("clone");
            let mut r = BufReader::with_capacity(64 << 10, c);
            let (mut out, mut inb) = (Vec::new(), Vec::new());
            let mut one = |i: i64| {
                out.clear();
                frame(&msg(i), &mut out);
                w.write_all(&out).expect("write");
                read_frame(&mut r, &mut inb);
            };
            for i in 0..1000 {
                one(i);
            }
            let t = Instant::now();
            for i in 0..n as i64 {
                one(i);
            }
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        },
        move || {
            let mut w = s.try_clone().expect("clone");
            let mut r = BufReader::with_capacity(64 << 10, s);
            let (mut out, mut inb) = (Vec::new(), Vec::new());
            for _ in 0..n + 1000 {
                let m = read_frame(&mut r, &mut inb);
                out.clear();
                frame(&m, &mut out);
                w.write_all(&out).expect("write");
            }
        },
    )
}

fn raw_throughput(n: usize) -> f64 {
    let (c, s) = raw_pair();
    pair(
        move || {
            let mut r = BufReader::new(c.try_clone().expect("clone"));
            let mut w = BufWriter::with_capacity(64 << 10, c);
            let mut out = Vec::new();
            let t = Instant::now();
            for i in 0..n as i64 {
                out.clear();
                frame(&msg(i), &mut out);
                w.write_all(&out).expect("write");
            }
            w.flush().expect("flush");
            read_frame(&mut r, &mut Vec::new());
            n as f64 / t.elapsed().as_secs_f64()
        },
        move || {
            let mut w = s.try_clone().expect("clone");
            let mut r = BufReader::with_capacity(64 << 10, s);
            let mut inb = Vec::new();
            for _ in 0..n {
                read_frame(&mut r, &mut inb);
            }
            let mut out = Vec::new();
            frame(&msg(0), &mut out);
            w.write_all(&out).expect("ack");
        },
    )
}

// ---------------------------------------------------------------- in-process

fn local_sessions() -> (Session, Session) {
    let roles = vec!["A".to_string(), "B".to_string()];
    let mut s = Session::local_mesh(&roles, Arc::from(vec!["bench.chor:1".to_string()]));
    let b = s.pop().expect("b");
    (s.pop().expect("a"), b)
}

fn mpsc_rtt(n: usize) -> f64 {
    let (ta, rb) = mpsc::channel::<Message>();
    let (tb, ra) = mpsc::channel::<Message>();
    pair(
        move || {
            for i in 0..1000 {
                ta.send(msg(i)).expect("send");
                ra.recv().expect("recv");
            }
            let t = Instant::now();
            for i in 0..n as i64 {
                ta.send(msg(i)).expect("send");
                ra.recv().expect("recv");
            }
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        },
        move || {
            for _ in 0..n + 1000 {
                let m = rb.recv().expect("recv");
                tb.send(m).expect("send");
            }
        },
    )
}

fn mpsc_throughput(n: usize) -> f64 {
    let (ta, rb) = mpsc::channel::<Message>();
    let (tb, ra) = mpsc::channel::<Message>();
    pair(
        move || {
            let t = Instant::now();
            for i in 0..n as i64 {
                ta.send(msg(i)).expect("send");
            }
            ra.recv().expect("ack");
            n as f64 / t.elapsed().as_secs_f64()
        },
        move || {
            for _ in 0..n {
                rb.recv().expect("recv");
            }
            tb.send(msg(0)).expect("ack");
        },
    )
}

// ---------------------------------------------------------------- ChoRus

#[derive(ChoreographyLocation)]
struct Alice;

#[derive(ChoreographyLocation)]
struct Bob;

struct PingPong {
    n: usize,
}

impl Choreography for PingPong {
    type L = LocationSet!(Alice, Bob);
    fn run(self, op: &impl ChoreoOp<Self::L>) {
        let mut x = op.locally(Alice, |_| 0i64);
        for _ in 0..self.n {
            let at_bob = op.comm(Alice, Bob, &x);
            let reply = op.locally(Bob, |un| *un.unwrap(&at_bob));
            x = op.comm(Bob, Alice, &reply);
        }
    }
}

struct Stream {
    n: usize,
}

impl Choreography for Stream {
    type L = LocationSet!(Alice, Bob);
    fn run(self, op: &impl ChoreoOp<Self::L>) {
        for i in 0..self.n as i64 {
            let x = op.locally(Alice, |_| i);
            op.comm(Alice, Bob, &x);
        }
        let ack = op.locally(Bob, |_| 0i64);
        op.comm(Bob, Alice, &ack);
    }
}

/// Runs `warm` then `timed` ping-pongs or streams on a fresh transport pair; returns
/// seconds for the timed part.
fn chorus_http(warm: usize, timed: usize, stream: bool) -> f64 {
    let (pa, pb) = (free_addr().port(), free_addr().port());
    let ca = HttpTransportConfigBuilder::for_target(Alice, ("127.0.0.1", pa))
        .with(Bob, ("127.0.0.1", pb))
        .build();
    let cb = HttpTransportConfigBuilder::for_target(Bob, ("127.0.0.1", pb))
        .with(Alice, ("127.0.0.1", pa))
        .build();
    let ta = HttpTransport::new(ca);
    let tb = HttpTransport::new(cb);
    pair(
        move || {
            let p = Projector::new(Alice, ta);
            run_role(&p, warm, timed, stream)
        },
        move || {
            let p = Projector::new(Bob, tb);
            run_role(&p, warm, timed, stream);
        },
    )
}

fn chorus_local(warm: usize, timed: usize, stream: bool) -> f64 {
    let ch = LocalTransportChannelBuilder::new()
        .with(Alice)
        .with(Bob)
        .build();
    let ta = LocalTransport::new(Alice, ch.clone());
    let tb = LocalTransport::new(Bob, ch);
    pair(
        move || {
            let p = Projector::new(Alice, ta);
            run_role(&p, warm, timed, stream)
        },
        move || {
            let p = Projector::new(Bob, tb);
            run_role(&p, warm, timed, stream);
        },
    )
}

/// Runs `warm` then `timed` iterations as one role; returns seconds for the timed part.
fn run_role<TLS, Target, T, I, S>(
    p: &Projector<TLS, Target, T, I>,
    warm: usize,
    timed: usize,
    stream: bool,
) -> f64
where
    TLS: LocationSet,
    Target: ChoreographyLocation + chorus_lib::core::Member<TLS, I>,
    T: chorus_lib::core::Transport<TLS, Target>,
    LocationSet!(Alice, Bob): chorus_lib::core::Subset<TLS, S>,
{
    if stream {
        p.epp_and_run(Stream { n: warm });
    } else {
        p.epp_and_run(PingPong { n: warm });
    }
    let t = Instant::now();
    if stream {
        p.epp_and_run(Stream { n: timed });
    } else {
        p.epp_and_run(PingPong { n: timed });
    }
    t.elapsed().as_secs_f64()
}

// ---------------------------------------------------------------- report

type Bench = (&'static str, Box<dyn Fn() -> f64>);

/// Runs every benchmark `RUNS` times, interleaved (run 1 of each, then run 2 of each, …) so
/// that background load on this small machine spreads over all contenders alike; returns the
/// median of each.
fn measure_all(benches: &[Bench]) -> Vec<f64> {
    // CHOR_BENCH_ONLY=substring runs only the matching benchmarks (the others report NaN).
    let only = std::env::var("CHOR_BENCH_ONLY").unwrap_or_default();
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); benches.len()];
    for run in 0..RUNS {
        for (i, (name, f)) in benches.iter().enumerate() {
            if !name.contains(only.as_str()) {
                results[i].push(f64::NAN);
                continue;
            }
            results[i].push(f());
            eprintln!("  run {}/{RUNS}: {name}", run + 1);
        }
    }
    results.into_iter().map(median).collect()
}

fn main() {
    let cores = thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "chor-runtime benchmark ({cores} cores; median of {RUNS} interleaved runs; small message = Int)"
    );
    println!();

    const RTT_N: usize = 20_000;
    const TP_N: usize = 1_000_000;
    const HTTP_RTT_N: usize = 500;
    const HTTP_TP_N: usize = 1_000;
    const CHORUS_LOCAL_N: usize = 100_000;

    let benches: Vec<Bench> = vec![
        (
            "runtime tcp rtt",
            Box::new(|| {
                let (a, b) = runtime_tcp_sessions();
                session_rtt(a, b, RTT_N)
            }),
        ),
        ("raw tcp rtt", Box::new(|| raw_rtt(RTT_N))),
        (
            "chorus http rtt",
            Box::new(|| chorus_http(50, HTTP_RTT_N, false) * 1e6 / HTTP_RTT_N as f64),
        ),
        (
            "chorus local rtt",
            Box::new(|| chorus_local(1000, RTT_N, false) * 1e6 / RTT_N as f64),
        ),
        (
            "runtime local rtt",
            Box::new(|| {
                let (a, b) = local_sessions();
                session_rtt(a, b, RTT_N)
            }),
        ),
        ("mpsc rtt", Box::new(|| mpsc_rtt(RTT_N))),
        (
            "runtime tcp throughput",
            Box::new(|| {
                let (a, b) = runtime_tcp_sessions();
                session_throughput(a, b, TP_N)
            }),
        ),
        ("raw tcp throughput", Box::new(|| raw_throughput(TP_N))),
        (
            "chorus http throughput",
            Box::new(|| HTTP_TP_N as f64 / chorus_http(50, HTTP_TP_N, true)),
        ),
        (
            "chorus local throughput",
            Box::new(|| CHORUS_LOCAL_N as f64 / chorus_local(1000, CHORUS_LOCAL_N, true)),
        ),
        (
            "runtime local throughput",
            Box::new(|| {
                let (a, b) = local_sessions();
                session_throughput(a, b, TP_N)
            }),
        ),
        ("mpsc throughput", Box::new(|| mpsc_throughput(TP_N))),
    ];
    let m = measure_all(&benches);
    let [
        rt_rtt,
        raw_rtt_us,
        ch_http_rtt,
        ch_local_rtt,
        loc_rtt,
        mpsc_rtt_us,
        rt_tp,
        raw_tp,
        ch_http_tp,
        ch_local_tp,
        loc_tp,
        mpsc_tp,
    ] = m[..]
    else {
        unreachable!("one result per benchmark")
    };

    println!("Round trip (one small message each way), microseconds per round trip:");
    println!("  chor-runtime TCP        {rt_rtt:9.2} us");
    println!("  raw std TCP (same fr.)  {raw_rtt_us:9.2} us");
    println!("  ChoRus HTTP             {ch_http_rtt:9.2} us");
    println!("  ChoRus local            {ch_local_rtt:9.2} us");
    println!("  chor-runtime in-process {loc_rtt:9.2} us");
    println!("  std mpsc                {mpsc_rtt_us:9.2} us");
    println!();
    println!("Pipelined one-way throughput, small messages per second:");
    println!("  chor-runtime TCP        {rt_tp:12.0} /s");
    println!("  raw std TCP (same fr.)  {raw_tp:12.0} /s");
    println!("  ChoRus HTTP             {ch_http_tp:12.0} /s");
    println!("  ChoRus local            {ch_local_tp:12.0} /s");
    println!("  chor-runtime in-process {loc_tp:12.0} /s");
    println!("  std mpsc                {mpsc_tp:12.0} /s");
    println!();
    let ok = |b: bool| if b { "met" } else { "NOT met" };
    let r1 = rt_rtt / raw_rtt_us;
    let r2 = ch_http_rtt / rt_rtt;
    let r2t = rt_tp / ch_http_tp;
    println!("Ratios:");
    println!(
        "  runtime TCP rtt / raw TCP rtt          {r1:8.3}x   (goal <= 1.1: {})",
        ok(r1 <= 1.1)
    );
    println!(
        "  ChoRus HTTP rtt / runtime TCP rtt      {r2:8.1}x   (goal >= 5: {})",
        ok(r2 >= 5.0)
    );
    println!("  runtime TCP / ChoRus HTTP throughput   {r2t:8.1}x");
    println!(
        "  runtime TCP throughput                 {:8.2} M msg/s (goal >= 1.0: {})",
        rt_tp / 1e6,
        ok(rt_tp >= 1e6)
    );
    println!(
        "  runtime TCP / raw TCP throughput       {:8.3}x",
        rt_tp / raw_tp
    );
    println!(
        "  ChoRus local rtt / runtime local rtt   {:8.2}x",
        ch_local_rtt / loc_rtt
    );
    println!(
        "  runtime local rtt / mpsc rtt           {:8.3}x",
        loc_rtt / mpsc_rtt_us
    );
    println!(
        "  runtime local / mpsc throughput        {:8.3}x",
        loc_tp / mpsc_tp
    );
}
