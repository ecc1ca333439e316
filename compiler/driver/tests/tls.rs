//! TLS between real role executables: `chor keys` writes a cluster CA and per-role keys that
//! the roles use as they are; and the multi-host test, three network namespaces joined by
//! veth pairs through a bridge, one role in each, TLS on: the two-buyer and two-phase-commit
//! examples give their expected output, and cutting one namespace's link mid-run ends every
//! role within the idle timeout, naming the peer it lost.

mod common;

use common::netns::{ip, or_skip, remove, spawn_in};
use common::{chor, ok, temp_dir, text};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

fn build(src: &Path, out: &Path) {
    let o = chor()
        .arg("build")
        .arg(src)
        .arg("-o")
        .arg(out)
        .output()
        .expect("chor build");
    ok(&o, "chor");
}

fn keys(dir: &Path, roles: &str) -> Output {
    chor()
        .arg("keys")
        .arg(dir)
        .arg("--roles")
        .arg(roles)
        .output()
        .expect("chor keys")
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

/// The expected output of `role` in an example's `.expected` file (`[Role] line`).
fn expected_of(example: &str, role: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(format!("{example}.expected"));
    let all = std::fs::read_to_string(path).expect("expected file");
    let prefix = format!("[{role}] ");
    all.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(format!("{name}.chor"))
}

/// A deployment file with TLS: each role at its address, its files in `keys`.
fn tls_deploy(roles: &[(&str, String)], keys: &Path, idle_ms: u64) -> String {
    let mut t = String::from("[roles]\n");
    for (r, addr) in roles {
        let k = keys.display();
        t.push_str(&format!(
            "{r} = {{ address = \"{addr}\", cert = \"{k}/{r}.pem\", key = \"{k}/{r}.key\" }}\n"
        ));
    }
    t.push_str(&format!(
        "[security]\nca = \"{}/ca.pem\"\n[runtime]\nconnect_timeout_ms = 10000\nidle_timeout_ms = {idle_ms}\n",
        keys.display()
    ));
    t
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
}

#[test]
fn chor_keys_writes_a_ca_and_owner_only_keys_that_roles_use_over_tls() {
    let dir = temp_dir("tls-keys");
    let k = dir.join("keys");
    let o = keys(&k, "Buyer1,Buyer2,Seller");
    ok(&o, "chor");
    let out = text(&o.stdout);
    assert!(out.contains("[security]\nca = "), "{out}");
    for f in ["ca", "Buyer1", "Buyer2", "Seller"] {
        assert!(k.join(format!("{f}.pem")).exists(), "{f}.pem");
        #[cfg(unix)]
        assert_eq!(mode(&k.join(format!("{f}.key"))), 0o600, "{f}.key");
    }
    // Never overwrites.
    let again = keys(&k, "Buyer1");
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("already exists"),
        "{}",
        text(&again.stderr)
    );
    assert!(!keys(&dir.join("k2"), "A,A").status.success());

    // The two-buyer example over TLS on loopback, with exactly these files.
    let out_dir = dir.join("build");
    build(&example("two_buyer"), &out_dir);
    let roles = ["Buyer1", "Buyer2", "Seller"];
    let addrs: Vec<(&str, String)> = roles
        .iter()
        .map(|r| (*r, chor_runtime::startup::fresh_loopback_addr().to_string()))
        .collect();
    let cfg = dir.join("tls.toml");
    std::fs::write(&cfg, tls_deploy(&addrs, &k, 5000)).expect("write");
    let children: Vec<_> = roles
        .iter()
        .map(|r| {
            Command::new(out_dir.join(r))
                .arg("--config")
                .arg(&cfg)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start")
        })
        .collect();
    for (r, c) in roles.iter().zip(children) {
        let (o, done) = finish(c, Duration::from_secs(30));
        assert!(done, "role {r} hangs");
        ok(&o, r);
        assert_eq!(text(&o.stdout), expected_of("two_buyer", r), "{r}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------------------------------------
// Three hosts

/// Three network namespaces (one per role) and a fourth holding the bridge that joins their
/// veth links; removed on drop.
struct Hosts {
    tag: String,
    names: Vec<String>,
}

const SUBNET: &str = "10.213.7";

impl Hosts {
    fn new(n: usize) -> Result<Hosts, String> {
        let tag = format!("ch{}", std::process::id() % 100_000);
        let mut h = Hosts {
            tag: tag.clone(),
            names: Vec::new(),
        };
        let sw = format!("{tag}sw");
        ip(&["netns", "add", &sw])?;
        h.names.push(sw.clone());
        ip(&["-n", &sw, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &sw, "link", "set", "br0", "up"])?;
        for i in 0..n {
            let ns = format!("{tag}h{i}");
            ip(&["netns", "add", &ns])?;
            h.names.push(ns.clone());
            let (inner, outer) = (format!("{tag}i{i}"), format!("{tag}o{i}"));
            ip(&[
                "link", "add", "name", &inner, "netns", &ns, "type", "veth", "peer", "name",
                &outer, "netns", &sw,
            ])?;
            ip(&["-n", &sw, "link", "set", &outer, "master", "br0"])?;
            ip(&["-n", &sw, "link", "set", &outer, "up"])?;
            let addr = format!("{SUBNET}.{}/24", i + 1);
            ip(&["-n", &ns, "addr", "add", &addr, "dev", &inner])?;
            ip(&["-n", &ns, "link", "set", &inner, "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(h)
    }

    fn addr(i: usize) -> String {
        format!("{SUBNET}.{}:7100", i + 1)
    }

    /// Starts `exe` inside host `i`.
    fn spawn(&self, i: usize, exe: &Path, cfg: &Path) -> Child {
        spawn_in(&format!("{}h{i}", self.tag), exe, cfg)
    }

    /// Cuts host `i` off: its port on the bridge goes down, and packets are dropped silently.
    fn cut(&self, i: usize) {
        ip(&[
            "-n",
            &format!("{}sw", self.tag),
            "link",
            "set",
            &format!("{}o{i}", self.tag),
            "down",
        ])
        .expect("cut the link");
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        remove(&self.names);
    }
}

/// Many rounds in which every message goes to or from C: cut C off and A and B wait on C,
/// while C waits on A.
const ROUNDS: &str = r#"
choreography Rounds(A, B, C)(n: Int@C) {
    if C.n > 0 {
        C -> A, B[More];
        C.n -> A.x, B.y;
        A.x -> C.a;
        B.y -> C.b;
        let C.next = a + b - n - 1;
        Rounds(A, B, C)(C.next);
    } else {
        C -> A, B[Done];
        C.print("done");
    }
}

choreography main(A, B, C) {
    let C.n = 1000000000;
    Rounds(A, B, C)(C.n);
}
"#;

#[test]
fn three_hosts_over_tls_run_the_examples_and_survive_a_cut_link() {
    let Some(hosts) = or_skip(Hosts::new(3)) else {
        return;
    };
    let dir = temp_dir("tls-hosts");
    let k = dir.join("keys");
    let all_roles = "Buyer1,Buyer2,Seller,Coordinator,P1,P2,A,B,C";
    let o = keys(&k, all_roles);
    ok(&o, "chor");

    for (ex, roles) in [
        ("two_buyer", ["Buyer1", "Buyer2", "Seller"]),
        ("two_phase_commit", ["Coordinator", "P1", "P2"]),
    ] {
        let out = dir.join(ex);
        build(&example(ex), &out);
        let addrs: Vec<(&str, String)> = roles
            .iter()
            .enumerate()
            .map(|(i, r)| (*r, Hosts::addr(i)))
            .collect();
        let cfg = dir.join(format!("{ex}.toml"));
        std::fs::write(&cfg, tls_deploy(&addrs, &k, 5000)).expect("write");
        let children: Vec<_> = (0..3)
            .map(|i| hosts.spawn(i, &out.join(roles[i]), &cfg))
            .collect();
        for (r, c) in roles.iter().zip(children) {
            let (o, done) = finish(c, Duration::from_secs(40));
            assert!(done, "{ex}: role {r} hangs");
            ok(&o, format!("{ex}: {r}"));
            assert_eq!(text(&o.stdout), expected_of(ex, r), "{ex}: {r}");
        }
    }

    // A long run; then C's link is cut.
    let src = dir.join("rounds.chor");
    std::fs::write(&src, ROUNDS).expect("write");
    let out = dir.join("rounds");
    build(&src, &out);
    let roles = ["A", "B", "C"];
    let addrs: Vec<(&str, String)> = roles
        .iter()
        .enumerate()
        .map(|(i, r)| (*r, Hosts::addr(i)))
        .collect();
    let cfg = dir.join("rounds.toml");
    let idle_ms = 2000;
    std::fs::write(&cfg, tls_deploy(&addrs, &k, idle_ms)).expect("write");
    let children: Vec<_> = (0..3)
        .map(|i| hosts.spawn(i, &out.join(roles[i]), &cfg))
        .collect();
    thread::sleep(Duration::from_millis(2500));
    hosts.cut(2);
    let cut_at = Instant::now();
    let mut ended = Vec::new();
    for (r, c) in roles.iter().zip(children) {
        let (o, done) = finish(c, Duration::from_secs(15));
        ended.push((r, o, done, cut_at.elapsed()));
    }
    for (r, o, done, after) in &ended {
        let err = text(&o.stderr);
        assert!(*done, "role {r} still runs 15 s after the cut: {err}");
        assert!(!o.status.success(), "role {r} ended normally: {err}");
        assert!(
            !text(&o.stdout).contains("done"),
            "the run ended before the cut"
        );
        // Within the idle timeout (plus the time to notice and exit).
        assert!(
            *after < Duration::from_millis(idle_ms + 2500),
            "role {r} took {after:?}"
        );
        // C waits on A or B (both are gone for it); A and B wait on C.
        let lost = if **r == "C" {
            err.contains("from peer A") || err.contains("from peer B")
        } else {
            err.contains("from peer C")
        };
        assert!(
            err.contains(&format!("error: role {r}: timed out after {idle_ms} ms")) && lost,
            "role {r}: {err}"
        );
    }
    drop(hosts);
    let _ = std::fs::remove_dir_all(dir);
}
