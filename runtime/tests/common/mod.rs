//! Helpers shared by the integration tests: free loopback ports, deployment files in a
//! scratch directory, and sessions started on threads. Everything stays on 127.0.0.1.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
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
    chor_runtime::startup::fresh_loopback_addr()
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

/// Writes a cluster CA (`ca.pem`, `ca.key`) and, for each role, `ROLE.pem` and `ROLE.key`
/// signed by it and naming the role as `chor keys` does.
pub fn write_cluster(dir: &std::path::Path, roles: &[&str]) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name
        .push(DnType::CommonName, "test cluster CA");
    let ca_cert = ca.self_signed(&ca_key).expect("ca cert");
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).expect("write");
    std::fs::write(dir.join("ca.key"), ca_key.serialize_pem()).expect("write");
    let issuer = Issuer::new(ca, ca_key);
    for role in roles {
        write_role_cert(dir, role, role, &issuer);
    }
}

/// Writes `FILE.pem`/`FILE.key`: a certificate for `role` signed by `issuer`.
pub fn write_role_cert(
    dir: &std::path::Path,
    file: &str,
    role: &str,
    issuer: &rcgen::Issuer<'_, rcgen::KeyPair>,
) {
    use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair};
    let key = KeyPair::generate().expect("key");
    let name = chor_runtime::session::role_dns_name(role).expect("dns name");
    let mut p = CertificateParams::new(vec![name]).expect("params");
    p.distinguished_name.push(DnType::CommonName, role);
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let cert = p.signed_by(&key, issuer).expect("sign");
    std::fs::write(dir.join(format!("{file}.pem")), cert.pem()).expect("write");
    std::fs::write(dir.join(format!("{file}.key")), key.serialize_pem()).expect("write");
}

/// A loopback deployment with TLS for `roles`, using the files `write_cluster` wrote in
/// `dir` (`pinned`: trust each role's certificate instead of the CA).
pub fn tls_config(
    roles: &[&str],
    dir: &std::path::Path,
    pinned: bool,
    connect_ms: u64,
) -> DeployConfig {
    let mut text = String::from("[roles]\n");
    for r in roles {
        text.push_str(&format!(
            "{r} = {{ address = \"{}\", cert = \"{r}.pem\", key = \"{r}.key\" }}\n",
            free_addr()
        ));
    }
    text.push_str("[security]\n");
    text.push_str(if pinned {
        "pinned = true\n"
    } else {
        "ca = \"ca.pem\"\n"
    });
    text.push_str(&format!("[runtime]\nconnect_timeout_ms = {connect_ms}\n"));
    DeployConfig::from_str(&text, dir).expect("tls config parses")
}

/// Closes sessions all at once (with heartbeats on, a close waits for the peers to close).
pub fn close_all(sessions: Vec<Session>) {
    let closing: Vec<_> = sessions
        .into_iter()
        .map(|s| thread::spawn(move || s.close()))
        .collect();
    for c in closing {
        c.join().expect("no panic").expect("close");
    }
}
