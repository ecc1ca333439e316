//! TLS against plaintext, in one run: the round trip of a small message (ping-pong) and the
//! one-way throughput of a stream of messages, small (`Int`) and bulk (64 KiB strings),
//! between two sessions on two threads over 127.0.0.1. Goals (issue: "encryption and
//! identity"): a TLS round trip at most 1.3× the plaintext one, TLS bulk throughput at least
//! 0.7× the plaintext one. Contenders alternate, five runs each; the medians and their ratios
//! are printed.
//!
//! Run with `cargo bench -p chor-runtime --bench tls`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use chor_runtime::config::DeployConfig;
use chor_runtime::{Fingerprint, Message, Session, Value};

const FP: Fingerprint = Fingerprint([3; 32]);
const ROUND_TRIPS: usize = 20_000;
const SMALL: usize = 400_000;
const BULK: usize = 4_000;
const BULK_BYTES: usize = 64 << 10;

fn free_addr() -> SocketAddr {
    chor_runtime::startup::fresh_loopback_addr()
}

/// Two distinct free ports (a port released by the first probe may come back).
fn two_addrs() -> (SocketAddr, SocketAddr) {
    let a = free_addr();
    loop {
        let b = free_addr();
        if b != a {
            return (a, b);
        }
    }
}

fn locs() -> Arc<[String]> {
    vec!["bench.chor:1".to_string()].into()
}

fn write_cluster(dir: &Path) {
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
        KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).expect("write");
    let issuer = Issuer::new(ca, ca_key);
    for r in ["A", "B"] {
        let key = KeyPair::generate().expect("key");
        let name = chor_runtime::session::role_dns_name(r).expect("name");
        let mut p = CertificateParams::new(vec![name]).expect("params");
        p.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = p.signed_by(&key, &issuer).expect("sign");
        std::fs::write(dir.join(format!("{r}.pem")), cert.pem()).expect("write");
        std::fs::write(dir.join(format!("{r}.key")), key.serialize_pem()).expect("write");
    }
}

fn config(tls: Option<&Path>) -> DeployConfig {
    match tls {
        None => {
            let (a, b) = two_addrs();
            let roles: BTreeMap<String, SocketAddr> = [("A", a), ("B", b)]
                .into_iter()
                .map(|(r, a)| (r.to_string(), a))
                .collect();
            DeployConfig::loopback(roles)
        }
        Some(dir) => {
            let (a, b) = two_addrs();
            let text = format!(
                "[roles]\nA = {{ address = \"{}\", cert = \"A.pem\", key = \"A.key\" }}\n\
                 B = {{ address = \"{}\", cert = \"B.pem\", key = \"B.key\" }}\n\
                 [security]\nca = \"ca.pem\"\n",
                a, b
            );
            let mut cfg = DeployConfig::from_str(&text, dir).expect("config");
            // As in the plaintext case: no heartbeats, and a close does not wait for the peer.
            cfg.idle_timeout_ms = None;
            cfg
        }
    }
}

fn pair(cfg: &DeployConfig) -> (Session, Session) {
    let c = cfg.clone();
    let b = thread::spawn(move || Session::connect_tcp("B", &c, FP, locs()));
    let a = Session::connect_tcp("A", cfg, FP, locs()).expect("A");
    (a, b.join().expect("no panic").expect("B"))
}

/// Mean round trip.
fn ping_pong(cfg: &DeployConfig) -> Duration {
    let (a, b) = pair(cfg);
    let echo = thread::spawn(move || {
        for _ in 0..ROUND_TRIPS {
            let m = b.recv("A", 0).expect("recv");
            b.send("A", m, 0).expect("send");
        }
        b
    });
    let t0 = Instant::now();
    for i in 0..ROUND_TRIPS {
        a.send("B", Message::Value(Value::Int(i as i64)), 0)
            .expect("send");
        a.recv("B", 0).expect("recv");
    }
    let d = t0.elapsed() / ROUND_TRIPS as u32;
    let b = echo.join().expect("no panic");
    let _ = a.close();
    drop(b);
    d
}

/// Bytes (of message payload) per second, one way.
fn stream(cfg: &DeployConfig, n: usize, msg: Message, payload: usize) -> f64 {
    let (a, b) = pair(cfg);
    let sink = thread::spawn(move || {
        for _ in 0..n {
            b.recv("A", 0).expect("recv");
        }
        b.send("A", Message::Value(Value::Unit), 0).expect("ack");
        b
    });
    let t0 = Instant::now();
    for _ in 0..n {
        a.send("B", msg.clone(), 0).expect("send");
    }
    a.recv("B", 0).expect("ack");
    let secs = t0.elapsed().as_secs_f64();
    let b = sink.join().expect("no panic");
    let _ = a.close();
    drop(b);
    (n * payload) as f64 / secs
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir: PathBuf = std::env::temp_dir().join(format!("chor-tls-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    write_cluster(&dir);
    // CHOR_BENCH_RUNS=n: more runs for a noisy machine.
    let runs = std::env::var("CHOR_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(5)
        .max(1);
    let (mut rt, mut small, mut bulk) = (
        [Vec::new(), Vec::new()],
        [Vec::new(), Vec::new()],
        [Vec::new(), Vec::new()],
    );
    let big = Message::Value(Value::Str("z".repeat(BULK_BYTES - 8)));
    // `-- bulk` measures bulk throughput only; `-- bulk tls` only its TLS side, `-- bulk
    // plain` only its plaintext side (to profile them, or to compare their CPU time).
    let bulk_only = std::env::args().any(|a| a == "bulk");
    let tls_only = std::env::args().any(|a| a == "tls");
    let plain_only = std::env::args().any(|a| a == "plain");
    for _ in 0..runs {
        for (i, tls) in [None, Some(dir.as_path())].into_iter().enumerate() {
            if (tls_only && tls.is_none()) || (plain_only && tls.is_some()) {
                bulk[i].push(f64::NAN);
                continue;
            }
            let cfg = config(tls);
            if !bulk_only {
                rt[i].push(ping_pong(&cfg).as_secs_f64() * 1e6);
                small[i].push(stream(&cfg, SMALL, Message::Value(Value::Int(7)), 1));
            }
            bulk[i].push(stream(&cfg, BULK, big.clone(), BULK_BYTES));
        }
    }
    if bulk_only {
        let (p, t) = (median(bulk[0].clone()), median(bulk[1].clone()));
        println!(
            "bulk (64 KiB strings), medians of {runs} runs: plaintext {:.0} MB/s, TLS {:.0} MB/s, {:.2}x",
            p / 1e6,
            t / 1e6,
            t / p
        );
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let (rt_p, rt_t) = (median(rt[0].clone()), median(rt[1].clone()));
    let (sm_p, sm_t) = (median(small[0].clone()), median(small[1].clone()));
    let (bk_p, bk_t) = (median(bulk[0].clone()), median(bulk[1].clone()));
    println!("TLS 1.3 (rustls, aws-lc-rs) against plaintext TCP, medians of {runs} runs");
    println!(
        "{:<34} {:>14} {:>14} {:>8}",
        "", "plaintext", "TLS", "ratio"
    );
    println!(
        "{:<34} {:>11.2} us {:>11.2} us {:>7.2}x   (goal <= 1.3x)",
        "round trip, Int",
        rt_p,
        rt_t,
        rt_t / rt_p
    );
    println!(
        "{:<34} {:>10.2} M/s {:>10.2} M/s {:>7.2}x",
        "one way, Int messages",
        sm_p / 1e6,
        sm_t / 1e6,
        sm_t / sm_p
    );
    println!(
        "{:<34} {:>9.0} MB/s {:>9.0} MB/s {:>7.2}x   (goal >= 0.7x)",
        "one way, bulk (64 KiB strings)",
        bk_p / 1e6,
        bk_t / 1e6,
        bk_t / bk_p
    );
    let _ = std::fs::remove_dir_all(&dir);
}
