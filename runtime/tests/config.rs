//! The deployment file: what parses, defaults, and one clear error per mistake.

mod common;

use std::path::Path;

use chor_runtime::config::{ConfigErrorKind, DeployConfig};

fn parse(text: &str) -> Result<DeployConfig, ConfigErrorKind> {
    DeployConfig::from_str(text, Path::new("/nonexistent")).map_err(|e| e.kind)
}

fn error_text(text: &str) -> String {
    DeployConfig::from_str(text, Path::new("/nonexistent"))
        .expect_err("should not parse")
        .to_string()
}

#[test]
fn loopback_file_with_defaults() {
    let cfg =
        parse("[roles]\nBuyer = \"127.0.0.1:7100\"\nSeller = \"[::1]:7101\"\n").expect("parses");
    assert_eq!(cfg.roles.len(), 2);
    assert_eq!(cfg.roles["Buyer"].resolved.expect("resolved").port(), 7100);
    assert!(cfg.roles["Seller"].resolved.expect("resolved").is_ipv6());
    assert_eq!(cfg.connect_timeout_ms, 10_000);
    assert_eq!(cfg.idle_timeout_ms, Some(30_000));
    assert_eq!(cfg.handshake_timeout_ms, 5_000);
    assert_eq!(cfg.max_message_bytes, 64 << 20);
    assert_eq!(cfg.secret, None);
}

#[test]
fn runtime_table() {
    let cfg = parse(
        "[roles]\nA = \"127.0.0.1:1\"\n[runtime]\nconnect_timeout_ms = 250\nidle_timeout_ms = 5000\n",
    )
    .expect("parses");
    assert_eq!(cfg.connect_timeout_ms, 250);
    assert_eq!(cfg.idle_timeout_ms, Some(5000));
}

#[test]
fn host_names_resolve() {
    let cfg = parse("[roles]\nA = \"localhost:7100\"\n").expect("parses");
    assert!(
        cfg.roles["A"]
            .resolved
            .expect("resolved")
            .ip()
            .is_loopback()
    );
}

#[test]
fn missing_role() {
    let cfg = parse("[roles]\nBuyer = \"127.0.0.1:7100\"\n").expect("parses");
    let e = cfg
        .require_roles(&["Buyer", "Seller"])
        .expect_err("Seller missing");
    assert_eq!(e.kind, ConfigErrorKind::MissingRole("Seller".into()));
    assert!(
        e.to_string()
            .contains("role Seller has no address: add `Seller = \"host:port\"` under [roles]"),
        "{e}"
    );
    assert_eq!(
        parse("[runtime]\nconnect_timeout_ms = 5\n"),
        Err(ConfigErrorKind::NoRoles)
    );
}

#[test]
fn bad_addresses() {
    assert!(matches!(
        parse("[roles]\nA = \"127.0.0.1\"\n"),
        Err(ConfigErrorKind::BadAddress { reason, .. }) if reason == "missing the port"
    ));
    assert!(matches!(
        parse("[roles]\nA = \"127.0.0.1:99999\"\n"),
        Err(ConfigErrorKind::BadAddress { .. })
    ));
    assert!(error_text("[roles]\nA = 7100\n").contains("`roles.A` must be a string"));
    assert!(
        error_text("[roles]\nA = \"127.0.0.1:x\"\n")
            .contains("role A has a bad address \"127.0.0.1:x\"")
    );
}

#[test]
fn non_loopback_needs_tls_or_an_explicit_opt_in() {
    let e = error_text("[roles]\nA = \"127.0.0.1:1\"\nB = \"10.0.0.2:7100\"\n");
    assert!(
        e.contains(
            "deployment file:3: role B is at 10.0.0.2:7100, which is not a loopback address"
        ),
        "{e}"
    );
    assert!(e.contains("[security] ca"), "{e}");
    assert!(e.contains("allow_plaintext = true"), "{e}");
    // A shared secret authenticates but does not encrypt: still refused off loopback.
    let e = error_text(
        "[roles]\nA = \"127.0.0.1:1\"\nB = \"10.0.0.2:7100\"\n[security]\nsecret_file = \"k\"\n",
    );
    assert!(e.contains("not a loopback address"), "{e}");
    let cfg = parse(
        "[roles]\nA = \"127.0.0.1:1\"\nB = \"10.0.0.2:7100\"\n[security]\nallow_plaintext = true\n",
    )
    .expect("explicit opt-in parses");
    assert!(cfg.allow_plaintext && cfg.tls.is_none());
}

#[test]
fn tls_trust_and_certificates() {
    use chor_runtime::config::TlsTrust;
    let cfg = parse(
        "[roles]\nA = { address = \"10.0.0.1:7100\", cert = \"a.pem\", key = \"a.key\" }\n\
         B = { address = \"10.0.0.2:7100\", cert = \"b.pem\" }\n[security]\nca = \"ca.pem\"\n",
    )
    .expect("parses");
    assert_eq!(
        cfg.tls,
        Some(TlsTrust::Ca {
            path: Path::new("/nonexistent/ca.pem").to_path_buf(),
            line: Some(5)
        })
    );
    assert_eq!(
        cfg.roles["A"].key.as_deref(),
        Some(Path::new("/nonexistent/a.key"))
    );
    let cfg = parse(
        "[roles]\nA = { address = \"127.0.0.1:1\", cert = \"a.pem\" }\n[security]\npinned = true\n",
    )
    .expect("parses");
    assert_eq!(cfg.tls, Some(TlsTrust::Pinned));
    // Every role needs a certificate, named on its line.
    let e = error_text(
        "[roles]\nA = { address = \"127.0.0.1:1\", cert = \"a.pem\" }\nB = \"127.0.0.1:2\"\n\
         [security]\nca = \"ca.pem\"\n",
    );
    assert!(
        e.starts_with("deployment file:3: role B has no certificate"),
        "{e}"
    );
    let e = error_text(
        "[roles]\nA = { address = \"127.0.0.1:1\", cert = \"a.pem\" }\n[security]\nca = \"c\"\npinned = true\n",
    );
    assert!(
        e.contains(":5: [security] has both `ca` and `pinned = true`"),
        "{e}"
    );
}

#[test]
fn secret_is_read_relative_to_the_file() {
    let dir = common::scratch_dir();
    std::fs::create_dir_all(dir.join("keys")).expect("mkdir");
    std::fs::write(dir.join("keys/cluster.key"), "0123456789abcdef0123\n").expect("key");
    std::fs::write(
        dir.join("deploy.toml"),
        "[roles]\nA = \"10.0.0.1:7100\"\nB = \"10.0.0.2:7100\"\n[security]\nsecret_file = \"keys/cluster.key\"\nallow_plaintext = true\n",
    )
    .expect("file");
    let cfg = DeployConfig::from_file(dir.join("deploy.toml")).expect("parses");
    let secret = cfg.secret.as_ref().expect("secret");
    assert_eq!(secret.as_bytes(), b"0123456789abcdef0123");
    assert_eq!(format!("{secret:?}"), "Secret(<20 bytes>)");
    assert_eq!(cfg.secret_file, Some(dir.join("keys/cluster.key")));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unreadable_or_short_secret() {
    let e = error_text("[roles]\nA = \"127.0.0.1:1\"\n[security]\nsecret_file = \"missing.key\"\n");
    assert!(
        e.contains("cannot use secret_file /nonexistent/missing.key"),
        "{e}"
    );
    let dir = common::scratch_dir();
    std::fs::write(dir.join("short.key"), "abc\n").expect("key");
    let e = DeployConfig::from_str(
        "[roles]\nA = \"127.0.0.1:1\"\n[security]\nsecret_file = \"short.key\"\n",
        &dir,
    )
    .expect_err("short");
    assert!(
        e.to_string()
            .contains("the secret is 3 bytes long; use at least 16"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unknown_keys_and_bad_values() {
    assert_eq!(
        parse("[roles]\nA = \"127.0.0.1:1\"\n[runtime]\nconect_timeout_ms = 5\n"),
        Err(ConfigErrorKind::UnknownKey(
            "runtime.conect_timeout_ms".into()
        ))
    );
    assert_eq!(
        parse("[roles]\nA = \"127.0.0.1:1\"\n[rolez]\n"),
        Err(ConfigErrorKind::UnknownKey("rolez".into()))
    );
    assert!(
        error_text("[roles]\nA = \"127.0.0.1:1\"\n[runtime]\nidle_timeout_ms = -1\n")
            .contains("`runtime.idle_timeout_ms` must be a positive integer (milliseconds)")
    );
    assert!(error_text("[roles\n").contains("invalid TOML"));
}

#[test]
fn unreadable_file_names_the_path() {
    let e = DeployConfig::from_file("/nonexistent/deploy.toml").expect_err("no file");
    assert!(
        e.to_string()
            .starts_with("/nonexistent/deploy.toml: cannot read the deployment file"),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn a_private_key_others_can_read_is_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = common::scratch_dir();
    let key = dir.join("A.key");
    std::fs::write(&key, "not checked here").expect("key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let text = "[roles]\nA = { address = \"127.0.0.1:1\", cert = \"A.pem\", key = \"A.key\" }\n\
                B = { address = \"127.0.0.1:2\", cert = \"B.pem\", key = \"B.key\" }\n\
                [security]\nca = \"ca.pem\"\n";
    let cfg = DeployConfig::from_str(text, &dir).expect("parses");
    assert_eq!(cfg.warnings.len(), 1, "{:?}", cfg.warnings);
    assert!(
        cfg.warnings[0].contains("the private key") && cfg.warnings[0].contains("mode 644"),
        "{:?}",
        cfg.warnings
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let cfg = DeployConfig::from_str(text, &dir).expect("parses");
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn port_zero_is_refused_where_a_role_is_dialled_or_listens() {
    // Bound, port 0 picks a random port no peer could know: every peer would dial port 0
    // until its connect timeout.
    for text in [
        "[roles]\nA = \"127.0.0.1:0\"\nB = \"127.0.0.1:7101\"\n",
        "[roles]\nA = \"[::1]:0\"\nB = \"127.0.0.1:7101\"\n",
        "[roles]\nA = \"localhost:0\"\nB = \"127.0.0.1:7101\"\n",
        "[roles]\nA = { address = \"127.0.0.1:7100\", listen = \"127.0.0.1:0\" }\nB = \"127.0.0.1:7101\"\n",
    ] {
        let e = error_text(text);
        assert!(
            e.starts_with("deployment file:2: role A has a bad address") && e.contains("port 0"),
            "{text}: {e}"
        );
    }
}

#[test]
fn a_listen_address_another_role_is_at_is_refused_but_wildcards_are_not() {
    // B would bind A's address: A's peers would dial B, or one of the two binds would fail.
    let e = error_text(
        "[roles]\nA = \"127.0.0.1:7100\"\nB = { address = \"127.0.0.1:7101\", listen = \"127.0.0.1:7100\" }\n",
    );
    assert!(
        e.contains("deployment file:3: roles A and B both use listen address 127.0.0.1:7100 (A is on line 2)"),
        "{e}"
    );
    // Each role in its own container binds the wildcard address on the same port.
    let cfg = parse(
        "[roles]\nA = { address = \"10.0.0.1:7100\", listen = \"0.0.0.0:7100\" }\n\
         B = { address = \"10.0.0.2:7100\", listen = \"0.0.0.0:7100\" }\n\
         C = { address = \"10.0.0.3:7100\", listen = \"[::]:7100\" }\n\
         D = { address = \"10.0.0.4:7100\", listen = \"[::]:7100\" }\n\
         [security]\nallow_plaintext = true\n",
    )
    .expect("wildcard listen addresses on separate hosts");
    assert_eq!(cfg.roles.len(), 4);
}
