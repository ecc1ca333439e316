//! TLS 1.3 between roles (rustls with the `ring` provider), mutually authenticated: each role
//! holds a certificate that names it, and a connection is accepted only from the role its
//! certificate names.
//!
//! **Identity.** A role's certificate carries one DNS subject alternative name derived from
//! its role name by [`role_dns_name`] (the name's bytes in hex, then `.role.chor`): DNS names
//! compare without case and allow few characters, so the role name is encoded rather than
//! used as it is (roles `A` and `a` stay apart). The dialling side asks rustls to verify the
//! listener's certificate for the dialled role's name; the listener learns the dialler's claimed
//! role from the chor handshake that runs inside TLS and checks it against the client
//! certificate with [`Tls::peer_is`] before it accepts. So a role holding a valid certificate
//! cannot pass for another role of the same program.
//!
//! **Trust** comes from the deployment file: a CA whose signature makes a certificate valid
//! (`[security] ca`), or the exact certificate of each role (`pinned = true`).
//!
//! **After the handshake** the rustls state machine is shared by the role's receiving thread
//! and the session's flusher: reads from the socket and writes to it happen outside the lock,
//! only decrypting and encrypting happen inside it, so a sender blocked on a full socket never
//! stops its own receiver (which would let two roles that both send a lot block each other).
//! A record that fails its integrity check ends the connection with a "message integrity"
//! error on this side, and the alert sent to the peer ends it there too.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    ClientConfig, ClientConnection, Connection, DigitallySignedStruct, DistinguishedName,
    RootCertStore, ServerConfig, ServerConnection, SignatureScheme,
};

use super::handshake::ReadWrite;
use super::lock;
use crate::config::{ConfigError, ConfigErrorKind, DeployConfig, TlsTrust};

/// The DNS name a role's certificate carries: the role name's bytes in lowercase hex, in
/// labels of at most 60 characters, then `.role.chor`. `None` for a name too long to encode.
pub fn role_dns_name(role: &str) -> Option<String> {
    let hex: String = role.bytes().map(|b| format!("{b:02x}")).collect();
    if hex.is_empty() {
        return None;
    }
    let labels: Vec<&str> = hex
        .as_bytes()
        .chunks(60)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    let name = format!("{}.role.chor", labels.join("."));
    (name.len() <= 253).then_some(name)
}

fn server_name(role: &str) -> Result<ServerName<'static>, String> {
    let name = role_dns_name(role)
        .ok_or_else(|| format!("role name {role} is too long for a TLS certificate"))?;
    ServerName::try_from(name).map_err(|e| format!("role {role}: {e}"))
}

/// ring's provider, with AES-128-GCM preferred: it is the fastest suite with AES
/// instructions (bulk throughput is a goal), and both ends use this order.
fn provider() -> Arc<CryptoProvider> {
    use rustls::crypto::ring::cipher_suite;
    let mut p = rustls::crypto::ring::default_provider();
    p.cipher_suites = vec![
        cipher_suite::TLS13_AES_128_GCM_SHA256,
        cipher_suite::TLS13_AES_256_GCM_SHA384,
        cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    ];
    Arc::new(p)
}

/// What one role needs for TLS: its configurations for both directions and its trust.
pub(crate) struct Tls {
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    trust: Arc<Trust>,
}

#[derive(Debug)]
enum Trust {
    Ca {
        server: Arc<dyn ServerCertVerifier>,
        client: Arc<dyn ClientCertVerifier>,
    },
    /// Role name → its certificate.
    Pinned(BTreeMap<String, CertificateDer<'static>>),
}

#[derive(Debug)]
struct RoleVerifier {
    trust: Arc<Trust>,
    algs: WebPkiSupportedAlgorithms,
}

impl Tls {
    /// Loads `me`'s certificate and key and the trust anchors the deployment file names.
    /// Errors name the file (and line) at fault.
    pub(crate) fn load(cfg: &DeployConfig, me: &str) -> Result<Option<Tls>, ConfigError> {
        let Some(mode) = &cfg.tls else {
            return Ok(None);
        };
        let fail = |line: Option<u32>, msg: String| ConfigError {
            origin: cfg.origin.clone(),
            line,
            kind: ConfigErrorKind::Tls(msg),
        };
        let mine = cfg
            .roles
            .get(me)
            .ok_or_else(|| fail(None, format!("role {me} has no entry under [roles]")))?;
        let cert_path = mine
            .cert
            .as_ref()
            .ok_or_else(|| fail(mine.line, format!("role {me} has no `cert`")))?;
        let key_path = mine.key.as_ref().ok_or_else(|| {
            fail(
                mine.line,
                format!("role {me} has no `key` (its private key, needed with TLS)"),
            )
        })?;
        let chain = read_certs(cert_path).map_err(|e| fail(mine.line, e))?;
        let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
            fail(
                mine.line,
                format!("cannot read the private key {}: {e}", key_path.display()),
            )
        })?;
        let provider = provider();
        let trust = match mode {
            TlsTrust::Ca { path, line } => {
                let mut roots = RootCertStore::empty();
                for c in read_certs(path).map_err(|e| fail(*line, e))? {
                    roots.add(c).map_err(|e| {
                        fail(
                            *line,
                            format!("the CA in {} is not usable: {e}", path.display()),
                        )
                    })?;
                }
                let roots = Arc::new(roots);
                let server = rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::clone(&roots),
                    Arc::clone(&provider),
                )
                .build()
                .map_err(|e| fail(*line, e.to_string()))?;
                let client = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    roots,
                    Arc::clone(&provider),
                )
                .build()
                .map_err(|e| fail(*line, e.to_string()))?;
                Trust::Ca { server, client }
            }
            TlsTrust::Pinned => {
                let mut pins = BTreeMap::new();
                for (role, e) in &cfg.roles {
                    let Some(path) = &e.cert else { continue };
                    let first = read_certs(path)
                        .map_err(|err| fail(e.line, err))?
                        .into_iter()
                        .next()
                        .ok_or_else(|| {
                            fail(e.line, format!("{} holds no certificate", path.display()))
                        })?;
                    pins.insert(role.clone(), first);
                }
                Trust::Pinned(pins)
            }
        };
        let trust = Arc::new(trust);
        let verifier = Arc::new(RoleVerifier {
            trust: Arc::clone(&trust),
            algs: provider.signature_verification_algorithms,
        });
        let tls_err = |e: rustls::Error| fail(mine.line, e.to_string());
        let mut client = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(tls_err)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::clone(&verifier) as Arc<dyn ServerCertVerifier>)
            .with_client_auth_cert(chain.clone(), key.clone_key())
            .map_err(tls_err)?;
        // Resumption would let a later connection skip the certificate check.
        client.resumption = rustls::client::Resumption::disabled();
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(tls_err)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(tls_err)?;
        // No session tickets: nothing but records of the connection follows the handshake.
        server.send_tls13_tickets = 0;
        Ok(Some(Tls {
            client: Arc::new(client),
            server: Arc::new(server),
            trust,
        }))
    }

    /// A client connection to `peer`, which must prove it is that role.
    pub(crate) fn client(&self, peer: &str) -> Result<ClientConnection, String> {
        ClientConnection::new(Arc::clone(&self.client), server_name(peer)?)
            .map_err(|e| e.to_string())
    }

    /// A server connection for an accepted socket.
    pub(crate) fn server(&self) -> Result<ServerConnection, String> {
        ServerConnection::new(Arc::clone(&self.server)).map_err(|e| e.to_string())
    }

    /// Whether the peer of a finished handshake (its certificates `certs`) is `role`.
    pub(crate) fn peer_is(&self, certs: Option<&[CertificateDer<'static>]>, role: &str) -> bool {
        let Some(cert) = certs.and_then(|c| c.first()) else {
            return false;
        };
        match &*self.trust {
            Trust::Pinned(pins) => pins.get(role) == Some(cert),
            Trust::Ca { .. } => {
                let Ok(name) = server_name(role) else {
                    return false;
                };
                webpki::EndEntityCert::try_from(cert)
                    .is_ok_and(|ee| ee.verify_is_valid_for_subject_name(&name).is_ok())
            }
        }
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read the certificate {}: {e}", path.display()))?
        .collect();
    let certs = certs.map_err(|e| format!("bad certificate in {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate", path.display()));
    }
    Ok(certs)
}

impl ServerCertVerifier for RoleVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &*self.trust {
            Trust::Ca { server, .. } => {
                server.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            }
            Trust::Pinned(pins) => {
                let want = server_name.to_str();
                let ok = pins
                    .iter()
                    .any(|(r, c)| c == end_entity && role_dns_name(r).as_deref() == Some(&want));
                if ok {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(rustls::Error::InvalidCertificate(
                        rustls::CertificateError::ApplicationVerificationFailure,
                    ))
                }
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

impl ClientCertVerifier for RoleVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match &*self.trust {
            Trust::Ca { client, .. } => client.verify_client_cert(end_entity, intermediates, now),
            // Which role it is gets checked once the handshake names it.
            Trust::Pinned(pins) if pins.values().any(|c| c == end_entity) => {
                Ok(ClientCertVerified::assertion())
            }
            Trust::Pinned(_) => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Runs the TLS handshake to its end over `io` (whose reads and writes carry the handshake
/// deadline).
pub(crate) fn complete<C, S>(conn: &mut C, io: &mut impl ReadWrite) -> Result<(), String>
where
    C: std::ops::DerefMut<Target = rustls::ConnectionCommon<S>>,
    S: rustls::SideData,
{
    while conn.is_handshaking() {
        conn.complete_io(io).map_err(|e| describe_io(&e))?;
    }
    // The client's last flight (its certificate and Finished) may still be buffered.
    while conn.wants_write() {
        conn.write_tls(io).map_err(|e| describe_io(&e))?;
    }
    io.flush().map_err(|e| describe_io(&e))
}

fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => "the other side closed the connection".to_string(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "no answer in time".to_string(),
        _ => format!("TLS: {e}"),
    }
}

// ---------------------------------------------------------------------------------------
// After the handshake

struct Shared {
    conn: Mutex<Connection>,
    /// Taken while encrypted bytes are written, after the connection lock is released, so
    /// records leave in the order they were sealed.
    wire: Mutex<TcpStream>,
}

/// Splits an established connection into its receiving and sending halves.
pub(crate) fn split(conn: Connection, stream: &TcpStream) -> io::Result<(TlsReader, TlsWriter)> {
    let mut conn = conn;
    // Our own buffers bound what is queued; rustls must not refuse a large frame.
    conn.set_buffer_limit(None);
    let shared = Arc::new(Shared {
        conn: Mutex::new(conn),
        wire: Mutex::new(stream.try_clone()?),
    });
    Ok((
        TlsReader {
            shared: Arc::clone(&shared),
            sock: stream.try_clone()?,
            raw: vec![0; 64 << 10],
            start: 0,
            end: 0,
        },
        TlsWriter {
            shared,
            sealed: Vec::new(),
        },
    ))
}

/// The receiving half: decrypts what arrives.
pub(crate) struct TlsReader {
    shared: Arc<Shared>,
    sock: TcpStream,
    /// Bytes read from the socket that rustls has not taken yet (`start..end`).
    raw: Vec<u8>,
    start: usize,
    end: usize,
}

/// The prefix of every error this module reports for a record that fails its check.
pub(crate) const INTEGRITY: &str = "message integrity check failed";

fn integrity_error(e: &rustls::Error) -> io::Error {
    use rustls::{AlertDescription, Error as E};
    let what = match e {
        E::DecryptError => {
            "a record was altered in transit or forged (TLS decryption failed)".to_string()
        }
        E::AlertReceived(AlertDescription::BadRecordMac) => {
            "the peer received a record that was altered in transit or forged (TLS alert \
             bad_record_mac)"
                .to_string()
        }
        E::AlertReceived(a) => format!("the peer ended the TLS connection (alert {a:?})"),
        other => format!("TLS: {other}"),
    };
    io::Error::new(io::ErrorKind::InvalidData, format!("{INTEGRITY}: {what}"))
}

impl Read for TlsReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            {
                let mut conn = lock(&self.shared.conn);
                match conn.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    // TCP closed without close_notify: a crashed peer, or a cut. What was
                    // received intact is delivered; a frame cut in half is reported so.
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                    Err(e) => return Err(e),
                }
                if self.start < self.end {
                    // Hand rustls whole records before processing: `read_tls` takes at most
                    // 4 KiB more per call (up to one record), and processing after every
                    // call would look at each record several times.
                    let mut closed = false;
                    let mut refused = None;
                    let first = self.start;
                    while self.start < self.end {
                        let mut pending = &self.raw[self.start..self.end];
                        let before = pending.len();
                        match conn.read_tls(&mut pending) {
                            Ok(0) => {
                                // close_notify seen: nothing more is read.
                                closed = true;
                                break;
                            }
                            Ok(_) => self.start += before - pending.len(),
                            // Its buffer holds a whole record: process it first.
                            Err(e) => {
                                refused = Some(e);
                                break;
                            }
                        }
                    }
                    let processed = conn.process_new_packets();
                    // Refused before taking anything, and processing freed nothing: report
                    // it rather than try again forever.
                    if let (Some(e), Ok(io)) = (refused, &processed)
                        && self.start == first
                        && io.plaintext_bytes_to_read() == 0
                    {
                        return Err(e);
                    }
                    if let Err(e) = processed {
                        // Tell the peer (an alert), then report.
                        let mut alert = Vec::new();
                        let _ = conn.write_tls(&mut alert);
                        let mut wire = lock(&self.shared.wire);
                        drop(conn);
                        let _ = wire.write_all(&alert);
                        return Err(integrity_error(&e));
                    }
                    if closed {
                        return match conn.reader().read(buf) {
                            Ok(n) => Ok(n),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
                            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                            Err(e) => Err(e),
                        };
                    }
                    continue;
                }
            }
            let n = self.sock.read(&mut self.raw)?;
            if n == 0 {
                let mut conn = lock(&self.shared.conn);
                let _ = conn.read_tls(&mut &[][..]);
                drop(conn);
                return Ok(0);
            }
            self.start = 0;
            self.end = n;
        }
    }
}

/// The sending half: encrypts and writes.
pub(crate) struct TlsWriter {
    shared: Arc<Shared>,
    sealed: Vec<u8>,
}

impl TlsWriter {
    /// Sends close_notify (the peer then reads end of stream, not a cut).
    pub(crate) fn close_notify(&mut self) -> io::Result<()> {
        let shared = Arc::clone(&self.shared);
        let mut conn = lock(&shared.conn);
        conn.send_close_notify();
        self.seal_and_send(conn)
    }

    fn seal_and_send(&mut self, mut conn: std::sync::MutexGuard<'_, Connection>) -> io::Result<()> {
        self.sealed.clear();
        while conn.wants_write() {
            conn.write_tls(&mut self.sealed)?;
        }
        let mut wire = lock(&self.shared.wire);
        drop(conn);
        let r = wire.write_all(&self.sealed);
        if self.sealed.capacity() > 1 << 20 {
            self.sealed = Vec::new();
        }
        r
    }
}

impl Write for TlsWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let shared = Arc::clone(&self.shared);
        let mut conn = lock(&shared.conn);
        conn.writer().write_all(buf)?;
        self.seal_and_send(conn)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
