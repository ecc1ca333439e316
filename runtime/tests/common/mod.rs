//! Helpers shared by the integration tests: free loopback ports, deployment files in a
//! scratch directory, and sessions started on threads. Everything stays on 127.0.0.1.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use chor_runtime::config::{DeployConfig, Secret};
use chor_runtime::{Fingerprint, RtError, Session};

pub const FP: Fingerprint = Fingerprint([7; 32]);
pub const OTHER_FP: Fingerprint = Fingerprint([8; 32]);
pub const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
pub const WRONG_SECRET: &[u8] = b"fedcba9876543210fedcba9876543210";

/// A port nobody listens on right now (bind port 0, read it, release it).
pub fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    l.local_addr().expect("local addr")
}

/// The location table used by the tests: id n is "test.chor:n".
pub fn locs() -> Arc<[String]> {
    (0..100).map(|i| format!("test.chor:{i}")).collect()
}

/// A loopback deployment for `roles`, with short timeouts.
pub fn config(roles: &[&str], secret: Option<&[u8]>, connect_ms: u64) -> DeployConfig {
    let map: BTreeMap<String, SocketAddr> =
        roles.iter().map(|r| (r.to_string(), free_addr())).collect();
    let mut cfg = DeployConfig::loopback(map);
    cfg.secret = secret.map(|s| Secret::new(s.to_vec()));
    cfg.connect_timeout_ms = connect_ms;
    cfg
}

/// Starts `role` connecting on a thread.
pub fn start(
    role: &str,
    cfg: &DeployConfig,
    fp: Fingerprint,
) -> thread::JoinHandle<Result<Session, RtError>> {
    let role = role.to_string();
    let cfg = cfg.clone();
    thread::spawn(move || Session::connect_tcp(&role, &cfg, fp, locs()))
}

/// Connects every role of `cfg` at once and returns their sessions in role order.
pub fn connect_all(cfg: &DeployConfig) -> Vec<Session> {
    let handles: Vec<_> = cfg.roles.keys().map(|r| start(r, cfg, FP)).collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("no panic").expect("connected"))
        .collect()
}

/// A fresh scratch directory under the system temp dir.
pub fn scratch_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "chor-runtime-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}
