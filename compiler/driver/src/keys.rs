//! `chor keys DIR --roles A,B,...`: a cluster CA and one key pair per role for TLS between
//! role executables (see docs/wire.md). Each role's certificate names it the way the runtime
//! checks (`chor_runtime::session::role_dns_name`); private keys are written readable by
//! their owner only, and nothing existing is overwritten (a CA replaced by mistake would cut
//! every deployed role off).

use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// Writes `ca.pem`, `ca.key` and `ROLE.pem`, `ROLE.key` for each role into `dir`. Returns the
/// files written.
pub fn write_keys(dir: &Path, roles: &[String]) -> Result<Vec<PathBuf>, String> {
    if roles.is_empty() {
        return Err("no roles given (--roles A,B,...)".to_string());
    }
    let mut seen = std::collections::BTreeSet::new();
    for r in roles {
        if r.is_empty() || r.contains(['/', '\\']) || r.starts_with('.') {
            return Err(format!("{r:?} cannot be a role name (it names a file)"));
        }
        if chor_runtime::session::role_dns_name(r).is_none() {
            return Err(format!("role name {r} is too long for a certificate"));
        }
        if !seen.insert(r) {
            return Err(format!("role {r} is given twice"));
        }
    }
    let mut files = vec![dir.join("ca.pem"), dir.join("ca.key")];
    for r in roles {
        files.push(dir.join(format!("{r}.pem")));
        files.push(dir.join(format!("{r}.key")));
    }
    if let Some(f) = files.iter().find(|f| f.exists()) {
        return Err(format!(
            "{} already exists; keys are never overwritten (choose an empty directory)",
            f.display()
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let fail = |e: rcgen::Error| format!("cannot make a certificate: {e}");

    let ca_key = KeyPair::generate().map_err(fail)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name
        .push(DnType::CommonName, "chor cluster CA");
    let ca_cert = ca.self_signed(&ca_key).map_err(fail)?;
    write(&files[0], ca_cert.pem().as_bytes(), false)?;
    write(&files[1], ca_key.serialize_pem().as_bytes(), true)?;
    let issuer = Issuer::new(ca, ca_key);
    for r in roles {
        let key = KeyPair::generate().map_err(fail)?;
        let name = chor_runtime::session::role_dns_name(r)
            .ok_or_else(|| format!("role name {r} is too long for a certificate"))?;
        let mut p = CertificateParams::new(vec![name]).map_err(fail)?;
        p.distinguished_name.push(DnType::CommonName, r.as_str());
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        // Every role both dials and accepts.
        p.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = p.signed_by(&key, &issuer).map_err(fail)?;
        write(&dir.join(format!("{r}.pem")), cert.pem().as_bytes(), false)?;
        write(
            &dir.join(format!("{r}.key")),
            key.serialize_pem().as_bytes(),
            true,
        )?;
    }
    Ok(files)
}

/// Creates `path` (never replacing a file); `secret` files are mode 0600 from the start.
fn write(path: &Path, bytes: &[u8], secret: bool) -> Result<(), String> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut f = o
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    f.write_all(bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `chor keys`: writes the files and prints what to put into `deploy.toml`.
pub fn cmd_keys(dir: &Path, roles: &str) -> i32 {
    let roles: Vec<String> = roles
        .split(',')
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect();
    match write_keys(dir, &roles) {
        Ok(files) => {
            for f in &files {
                println!("wrote {}", f.display());
            }
            println!(
                "\nIn deploy.toml (paths relative to it; copy each role's .key only to its own \
                 host, and keep ca.key offline):\n"
            );
            println!("[roles]");
            for r in &roles {
                let d = dir.display();
                println!(
                    "{r} = {{ address = \"HOST:PORT\", cert = \"{d}/{r}.pem\", key = \"{d}/{r}.key\" }}"
                );
            }
            println!("[security]\nca = \"{}/ca.pem\"", dir.display());
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
