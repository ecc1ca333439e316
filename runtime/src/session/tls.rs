//! TLS 1.3 between roles (rustls with the `aws-lc-rs` provider), mutually authenticated: each
//! role holds a certificate that names it, and a connection is accepted only from the role its
//! certificate names.
//!
//! **Identity.** A role's certificate carries one DNS subject alternative name derived from
//! its role name by [`role_dns_name`] (the name's bytes in hex, then `.role.chor`): DNS names
//! compare without case and allow few characters, so the role name is encoded rather than
//! used as it is (roles `A` and `a` stay apart). The dialling side asks rustls to verify the
//! listener's certificate for the dialled role's name; the listener learns the dialler's claimed
//! role from the chor handshake that runs inside TLS and checks it against the client
//! certificate with [`Channel::peer_is`] before it accepts. So a role holding a valid certificate
//! cannot pass for another role of the same program.
//!
//! **Trust** comes from the deployment file: a CA whose signature makes a certificate valid
//! (`[security] ca`), or the exact certificate of each role (`pinned = true`).
//!
//! **After the handshake** records are sealed and opened by this module (rustls keeps the
//! secrets and derives the next ones on a key update; see "the record layer" below). The
//! receiving half belongs to the role's receiving thread, the sending half to whichever thread
//! writes; sealing happens under one lock and writing under a second one, so a sender blocked
//! on a full socket never stops its own receiver (which would let two roles that both send a
//! lot block each other). A record that fails its integrity check ends the connection with a
//! "message integrity" error on this side, and the alert sent to the peer ends it there too.

use std::collections::BTreeMap;
use std::io::{self, BufRead, IoSlice, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_lc_rs::aead;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientConnectionData, UnbufferedClientConnection};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::kernel::KernelConnection;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ServerConnectionData, UnbufferedServerConnection};
use rustls::unbuffered::{ConnectionState, EncodeError, UnbufferedStatus};
use rustls::{
    AlertDescription, ClientConfig, ConnectionTrafficSecrets, DigitallySignedStruct,
    DistinguishedName, ExtractedSecrets, RootCertStore, ServerConfig, SignatureScheme,
};

use super::handshake::Timed;
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

/// aws-lc-rs's provider, with AES-128-GCM preferred: it is the fastest suite with AES
/// instructions (bulk throughput is a goal), and both ends use this order.
fn provider() -> Arc<CryptoProvider> {
    use rustls::crypto::aws_lc_rs::cipher_suite;
    let mut p = rustls::crypto::aws_lc_rs::default_provider();
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
        // The record layer after the handshake is this module's (see below).
        client.enable_secret_extraction = true;
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(tls_err)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(tls_err)?;
        // No session tickets: nothing but records of the connection follows the handshake.
        server.send_tls13_tickets = 0;
        server.enable_secret_extraction = true;
        Ok(Some(Tls {
            client: Arc::new(client),
            server: Arc::new(server),
            trust,
        }))
    }
}

/// Whether the peer of a finished handshake (its certificates `certs`) is `role`.
fn peer_is(trust: &Trust, certs: Option<&[CertificateDer<'static>]>, role: &str) -> bool {
    let Some(cert) = certs.and_then(|c| c.first()) else {
        return false;
    };
    match trust {
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

// ---------------------------------------------------------------------------------------
// The handshake

/// A rustls connection of either side while it handshakes (the unbuffered API: records are
/// read into, and written from, buffers of ours).
trait Handshaking {
    type Data;
    fn is_handshaking(&self) -> bool;
    fn step<'c, 'i>(&'c mut self, incoming: &'i mut [u8]) -> UnbufferedStatus<'c, 'i, Self::Data>;
}

impl Handshaking for UnbufferedClientConnection {
    type Data = ClientConnectionData;
    fn is_handshaking(&self) -> bool {
        (**self).is_handshaking()
    }
    fn step<'c, 'i>(&'c mut self, incoming: &'i mut [u8]) -> UnbufferedStatus<'c, 'i, Self::Data> {
        self.process_tls_records(incoming)
    }
}

impl Handshaking for UnbufferedServerConnection {
    type Data = ServerConnectionData;
    fn is_handshaking(&self) -> bool {
        (**self).is_handshaking()
    }
    fn step<'c, 'i>(&'c mut self, incoming: &'i mut [u8]) -> UnbufferedStatus<'c, 'i, Self::Data> {
        self.process_tls_records(incoming)
    }
}

/// What the handshake leaves over: received bytes rustls did not look at, and application
/// data it decrypted (both are the peer's first bytes after the handshake).
struct Leftover {
    incoming: Vec<u8>,
    used: usize,
    plaintext: Vec<u8>,
}

/// The largest handshake flight accepted: certificates chains are a few KiB.
const MAX_HANDSHAKE_BUFFER: usize = 256 << 10;

/// Runs the TLS handshake to its end over `io` (whose reads and writes carry the handshake
/// deadline).
fn drive<C: Handshaking>(conn: &mut C, io: &mut Timed<'_>) -> Result<Leftover, String> {
    let mut left = Leftover {
        incoming: vec![0; 32 << 10],
        used: 0,
        plaintext: Vec::new(),
    };
    let mut outgoing: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 4096];
    loop {
        let UnbufferedStatus { mut discard, state } = conn.step(&mut left.incoming[..left.used]);
        let mut read_more = false;
        let mut writable = false;
        let mut failed = None;
        match state {
            Ok(ConnectionState::EncodeTlsData(mut s)) => loop {
                match s.encode(&mut chunk) {
                    Ok(n) => {
                        outgoing.extend_from_slice(&chunk[..n]);
                        break;
                    }
                    Err(EncodeError::InsufficientSize(e)) => chunk.resize(e.required_size, 0),
                    Err(e) => {
                        failed = Some(format!("TLS: {e}"));
                        break;
                    }
                }
            },
            Ok(ConnectionState::TransmitTlsData(t)) => {
                io.write_all(&outgoing).map_err(|e| describe_io(&e))?;
                outgoing.clear();
                t.done();
            }
            Ok(ConnectionState::ReadTraffic(mut r)) => {
                while let Some(rec) = r.next_record() {
                    let rec = rec.map_err(|e| format!("TLS: {e}"))?;
                    discard += rec.discard;
                    left.plaintext.extend_from_slice(rec.payload);
                }
            }
            Ok(ConnectionState::WriteTraffic(_)) => writable = true,
            Ok(ConnectionState::BlockedHandshake) => read_more = true,
            Ok(ConnectionState::PeerClosed | ConnectionState::Closed) => {
                return Err("the other side closed the connection".to_string());
            }
            Ok(_) => failed = Some("TLS: unexpected early data".to_string()),
            Err(e) => failed = Some(describe_tls(&e)),
        }
        if discard > 0 {
            left.incoming.copy_within(discard..left.used, 0);
            left.used -= discard;
        }
        if let Some(e) = failed {
            // Send the alert rustls queued, so the peer learns why.
            for _ in 0..4 {
                match conn.step(&mut left.incoming[..left.used]).state {
                    Ok(ConnectionState::EncodeTlsData(mut s)) => {
                        if let Ok(n) = s.encode(&mut chunk) {
                            outgoing.extend_from_slice(&chunk[..n]);
                        }
                    }
                    Ok(ConnectionState::TransmitTlsData(t)) => {
                        let _ = io.write_all(&outgoing);
                        outgoing.clear();
                        t.done();
                    }
                    _ => break,
                }
            }
            if !outgoing.is_empty() {
                let _ = io.write_all(&outgoing);
            }
            return Err(e);
        }
        if writable {
            // Nothing more to say; done once the peer is authenticated too (the server may
            // send before it has checked the client's certificate).
            if !conn.is_handshaking() && outgoing.is_empty() {
                return Ok(left);
            }
            read_more = true;
        }
        if read_more {
            if left.used == left.incoming.len() {
                if left.used >= MAX_HANDSHAKE_BUFFER {
                    return Err("TLS: handshake messages too large".to_string());
                }
                left.incoming.resize(left.used * 2, 0);
            }
            let n = io
                .read(&mut left.incoming[left.used..])
                .map_err(|e| describe_io(&e))?;
            if n == 0 {
                return Err("the other side closed the connection".to_string());
            }
            left.used += n;
        }
    }
}

fn describe_tls(e: &rustls::Error) -> String {
    format!("TLS: {e}")
}

fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => "the other side closed the connection".to_string(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "no answer in time".to_string(),
        _ => format!("TLS: {e}"),
    }
}

impl Tls {
    /// The dialling side: a TLS handshake with `peer`, which must prove it is that role.
    /// Returns the connection's two halves, still bound to the handshake's deadline.
    pub(crate) fn connect(
        &self,
        peer: &str,
        stream: &TcpStream,
        deadline: Instant,
    ) -> Result<Channel, String> {
        let mut conn =
            UnbufferedClientConnection::new(Arc::clone(&self.client), server_name(peer)?)
                .map_err(|e| describe_tls(&e))?;
        let left = drive(&mut conn, &mut Timed { stream, deadline })?;
        let (secrets, kernel) = conn
            .dangerous_into_kernel_connection()
            .map_err(|e| describe_tls(&e))?;
        Channel::new(
            stream,
            deadline,
            secrets,
            Kernel::Client(kernel),
            left,
            None,
        )
    }

    /// The accepting side: a TLS handshake with whoever dialled; which role its certificate
    /// names is checked later with [`Channel::peer_is`].
    pub(crate) fn accept(&self, stream: &TcpStream, deadline: Instant) -> Result<Channel, String> {
        let mut conn = UnbufferedServerConnection::new(Arc::clone(&self.server))
            .map_err(|e| describe_tls(&e))?;
        let left = drive(&mut conn, &mut Timed { stream, deadline })?;
        let certs = conn.peer_certificates().map(<[_]>::to_vec);
        let (secrets, kernel) = conn
            .dangerous_into_kernel_connection()
            .map_err(|e| describe_tls(&e))?;
        Channel::new(
            stream,
            deadline,
            secrets,
            Kernel::Server(kernel),
            left,
            Some((Arc::clone(&self.trust), certs)),
        )
    }
}

// ---------------------------------------------------------------------------------------
// After the handshake: the record layer
//
// rustls runs the handshake and keeps the traffic secrets (its `kernel` API: the secrets
// after a key update come from it); sealing and opening records happens here, in buffers of
// ours, so received bytes are decrypted where they landed and leave as decoded values with
// no copy in between (rustls's own buffered API copied each byte three more times, which
// cost about as much as decrypting). The record format is TLS 1.3's (RFC 8446 §5.2), with
// its limits: at most 2^14 bytes of plaintext per record, a nonce from the sequence number,
// the record header as additional data, the content type inside the encryption.

const APPLICATION_DATA: u8 = 23;
const ALERT: u8 = 21;
const HANDSHAKE: u8 = 22;
const KEY_UPDATE: u8 = 24;
const NEW_SESSION_TICKET: u8 = 4;
const HEADER: usize = 5;
const TAG: usize = 16;
const MAX_PLAIN: usize = 1 << 14;
const MAX_CIPHER: usize = MAX_PLAIN + 256;
/// Received bytes buffered at once: many records, so one `recv` takes what a bulk sender
/// has queued and most frames are decoded straight from the decrypted bytes.
const RX_BUFFER: usize = 256 << 10;

// Alert descriptions sent or told apart.
const CLOSE_NOTIFY: u8 = 0;
const UNEXPECTED_MESSAGE: u8 = 10;
const BAD_RECORD_MAC: u8 = 20;
const RECORD_OVERFLOW: u8 = 22;
const DECODE_ERROR: u8 = 50;
const ILLEGAL_PARAMETER: u8 = 47;
const USER_CANCELED: u8 = 90;

/// The secrets of one direction: the AEAD key, its IV and the sequence number of the next
/// record.
struct Keys {
    key: aead::LessSafeKey,
    iv: [u8; aead::NONCE_LEN],
    seq: u64,
}

impl Keys {
    fn new(secrets: &ConnectionTrafficSecrets, seq: u64) -> io::Result<Keys> {
        let (alg, key, iv) = match secrets {
            ConnectionTrafficSecrets::Aes128Gcm { key, iv } => (&aead::AES_128_GCM, key, iv),
            ConnectionTrafficSecrets::Aes256Gcm { key, iv } => (&aead::AES_256_GCM, key, iv),
            ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => {
                (&aead::CHACHA20_POLY1305, key, iv)
            }
            _ => return Err(io::Error::other("TLS: unsupported cipher suite")),
        };
        let key = aead::UnboundKey::new(alg, key.as_ref())
            .map_err(|_| io::Error::other("TLS: bad traffic key"))?;
        let iv: [u8; aead::NONCE_LEN] = iv
            .as_ref()
            .try_into()
            .map_err(|_| io::Error::other("TLS: bad IV"))?;
        Ok(Keys {
            key: aead::LessSafeKey::new(key),
            iv,
            seq,
        })
    }

    /// The nonce of the next record (the IV xor the sequence number); a sequence number is
    /// never used twice.
    fn next_nonce(&mut self) -> io::Result<aead::Nonce> {
        if self.seq == u64::MAX {
            return Err(io::Error::other("TLS: sequence numbers exhausted"));
        }
        let mut n = self.iv;
        for (b, s) in n[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *b ^= s;
        }
        self.seq += 1;
        Ok(aead::Nonce::assume_unique_for_key(n))
    }
}

/// rustls's side of an established connection: it derives the secrets after a key update.
enum Kernel {
    Client(KernelConnection<ClientConnectionData>),
    Server(KernelConnection<ServerConnectionData>),
}

impl Kernel {
    fn update_tx(&mut self) -> Result<(u64, ConnectionTrafficSecrets), rustls::Error> {
        match self {
            Kernel::Client(k) => k.update_tx_secret(),
            Kernel::Server(k) => k.update_tx_secret(),
        }
    }

    fn update_rx(&mut self) -> Result<(u64, ConnectionTrafficSecrets), rustls::Error> {
        match self {
            Kernel::Client(k) => k.update_rx_secret(),
            Kernel::Server(k) => k.update_rx_secret(),
        }
    }

    /// Records one key may seal: the cipher suite's confidentiality limit (2^23 or more
    /// full-size records for AES-GCM), with a margin.
    fn record_limit(&self) -> u64 {
        let suite = match self {
            Kernel::Client(k) => k.negotiated_cipher_suite(),
            Kernel::Server(k) => k.negotiated_cipher_suite(),
        };
        let limit = match suite {
            rustls::SupportedCipherSuite::Tls13(s) => s.common.confidentiality_limit,
            #[allow(unreachable_patterns)]
            _ => 1 << 23,
        };
        limit.saturating_sub(1 << 10).max(1)
    }
}

/// The sending direction, shared by the sending half and the receiving half (which answers
/// with alerts and key updates).
struct Tx {
    keys: Keys,
    /// Sequence number at which the keys are updated.
    limit: u64,
    /// Set once a fatal alert went out: nothing more is sent.
    failed: Option<String>,
}

impl Tx {
    /// Seals `data` as records of content type `typ`, appended to `out`.
    fn seal(
        &mut self,
        kernel: &Mutex<Kernel>,
        typ: u8,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        out.reserve(data.len() + data.len().div_ceil(MAX_PLAIN) * (HEADER + 1 + TAG));
        for chunk in data.chunks(MAX_PLAIN) {
            if self.keys.seq >= self.limit {
                self.update(kernel, out)?;
            }
            self.seal_record(typ, chunk, out)?;
        }
        Ok(())
    }

    /// The header of a record carrying `plain` bytes of content (the type byte not
    /// included).
    fn header(plain: usize) -> [u8; HEADER] {
        let [hi, lo] = ((plain + 1 + TAG) as u16).to_be_bytes();
        [APPLICATION_DATA, 3, 3, hi, lo]
    }

    fn seal_record(&mut self, typ: u8, chunk: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        let start = out.len();
        let header = Tx::header(chunk.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(chunk);
        out.push(typ);
        let nonce = self.keys.next_nonce()?;
        let tag = self
            .keys
            .key
            .seal_in_place_separate_tag(nonce, aead::Aad::from(header), &mut out[start + HEADER..])
            .map_err(|_| io::Error::other("TLS: sealing failed"))?;
        out.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Sends a KeyUpdate under the current keys, then switches to the next ones.
    fn update(&mut self, kernel: &Mutex<Kernel>, out: &mut Vec<u8>) -> io::Result<()> {
        self.seal_record(HANDSHAKE, &[KEY_UPDATE, 0, 0, 1, 0], out)?;
        let (seq, secrets) = lock(kernel)
            .update_tx()
            .map_err(|e| io::Error::other(format!("TLS: {e}")))?;
        self.keys = Keys::new(&secrets, seq)?;
        Ok(())
    }
}

/// The socket written to, and during the handshake its deadline.
struct Wire {
    sock: TcpStream,
    deadline: Option<Instant>,
    /// Sealed records the socket had no room for when the session's flusher wrote
    /// ([`TlsWriter::write_now`]); they go out before anything sealed after them.
    pending: Vec<u8>,
}

impl Wire {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.drain()?;
        self.write_raw(bytes)
    }

    /// Writes out the records left pending, waiting for room as any write does.
    fn drain(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let r = self.write_raw(&pending);
        if r.is_ok() {
            // Keep the allocation for the next time the socket is short of room.
            self.pending = pending;
            self.pending.clear();
        }
        r
    }

    fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.deadline {
            Some(deadline) => Timed {
                stream: &self.sock,
                deadline,
            }
            .write_all(bytes),
            None => super::tcp::write_all_while_heard(&self.sock, bytes),
        }
    }
}

struct Shared {
    kernel: Mutex<Kernel>,
    tx: Mutex<Tx>,
    /// Taken while sealed bytes are written, after the `tx` lock is released, so records
    /// leave in the order they were sealed and a sender blocked on a full socket never holds
    /// up its own receiver (which would let two roles that both send a lot block each other).
    wire: Mutex<Wire>,
}

impl Shared {
    /// Seals `data` (content type `typ`) and writes it out.
    fn send(&self, typ: u8, data: &[u8], sealed: &mut Vec<u8>) -> io::Result<()> {
        let mut tx = lock(&self.tx);
        if let Some(e) = &tx.failed {
            return Err(io::Error::new(io::ErrorKind::InvalidData, e.clone()));
        }
        sealed.clear();
        tx.seal(&self.kernel, typ, data, sealed)?;
        let mut wire = lock(&self.wire);
        drop(tx);
        wire.write_all(sealed)
    }

    /// Sends a fatal alert (best effort) and stops sending.
    fn fatal_alert(&self, desc: u8, why: &str) {
        let mut tx = lock(&self.tx);
        if tx.failed.is_some() {
            return;
        }
        let mut sealed = Vec::new();
        let ok = tx
            .seal(&self.kernel, ALERT, &[2, desc], &mut sealed)
            .is_ok();
        tx.failed = Some(why.to_string());
        let mut wire = lock(&self.wire);
        drop(tx);
        if ok {
            let _ = wire.write_all(&sealed);
        }
    }
}

/// An established TLS connection: both halves, before they go to their threads. During the
/// chor handshake that follows TLS's, reads and writes keep the handshake deadline.
pub(crate) struct Channel {
    pub(crate) reader: TlsReader,
    pub(crate) writer: TlsWriter,
    /// On the accepting side: the trust and the peer's certificates, to check its role.
    peer: Option<(Arc<Trust>, Option<Vec<CertificateDer<'static>>>)>,
}

impl Channel {
    fn new(
        stream: &TcpStream,
        deadline: Instant,
        secrets: ExtractedSecrets,
        kernel: Kernel,
        left: Leftover,
        peer: Option<(Arc<Trust>, Option<Vec<CertificateDer<'static>>>)>,
    ) -> Result<Channel, String> {
        let fail = |e: io::Error| format!("TLS: {e}");
        let tx = Tx {
            keys: Keys::new(&secrets.tx.1, secrets.tx.0).map_err(fail)?,
            limit: kernel.record_limit(),
            failed: None,
        };
        let rx = Keys::new(&secrets.rx.1, secrets.rx.0).map_err(fail)?;
        let shared = Arc::new(Shared {
            kernel: Mutex::new(kernel),
            tx: Mutex::new(tx),
            wire: Mutex::new(Wire {
                sock: stream.try_clone().map_err(fail)?,
                deadline: Some(deadline),
                pending: Vec::new(),
            }),
        });
        // The buffer starts with what the handshake left: plaintext, then records.
        let early = left.plaintext.len();
        let mut buf = vec![0u8; RX_BUFFER.max(early + left.used + MAX_CIPHER)];
        buf[..early].copy_from_slice(&left.plaintext);
        buf[early..early + left.used].copy_from_slice(&left.incoming[..left.used]);
        Ok(Channel {
            reader: TlsReader {
                shared: Arc::clone(&shared),
                sock: stream.try_clone().map_err(fail)?,
                deadline: Some(deadline),
                keys: Box::new(rx),
                buf,
                pos: 0,
                plain_end: early,
                raw: early,
                end: early + left.used,
                eof: false,
                failed: None,
                pending: None,
            },
            writer: TlsWriter {
                shared,
                sealed: Vec::new(),
            },
            peer,
        })
    }

    /// Whether the peer (on the accepting side) holds `role`'s certificate.
    pub(crate) fn peer_is(&self, role: &str) -> bool {
        let Some((trust, certs)) = &self.peer else {
            return false;
        };
        peer_is(trust, certs.as_deref(), role)
    }

    /// Ends the handshake phase: from now on the socket's own timeouts apply.
    pub(crate) fn into_halves(self) -> (TlsReader, TlsWriter) {
        let (mut r, w) = (self.reader, self.writer);
        r.deadline = None;
        lock(&w.shared.wire).deadline = None;
        (r, w)
    }
}

impl Read for Channel {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl Write for Channel {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The prefix of every error this module reports for a record that fails its check.
pub(crate) const INTEGRITY: &str = "message integrity check failed";

/// A fatal alert from the peer. Its text starts with [`INTEGRITY`]; the chor handshake
/// tells it apart (a refused certificate shows up this way).
#[derive(Debug)]
pub(crate) struct PeerAlert {
    pub(crate) alert: AlertDescription,
    text: String,
}

impl std::fmt::Display for PeerAlert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for PeerAlert {}

/// The receiving half: reads records into its buffer and opens them where they are.
pub(crate) struct TlsReader {
    shared: Arc<Shared>,
    sock: TcpStream,
    deadline: Option<Instant>,
    /// Boxed: a key schedule is large, and the reader lives inside the link.
    keys: Box<Keys>,
    /// `pos..plain_end`: plaintext not yet taken; `raw..end`: received bytes not yet opened
    /// (a record opened is written to `plain_end`, which never passes `raw`).
    buf: Vec<u8>,
    pos: usize,
    plain_end: usize,
    raw: usize,
    end: usize,
    /// close_notify received, or the TCP connection closed.
    eof: bool,
    /// Once something failed, every later read reports it.
    failed: Option<(io::ErrorKind, String)>,
    /// The first report of a failure found behind plaintext of the same read: the plaintext
    /// (from records that passed their check) is delivered first, then this.
    pending: Option<io::Error>,
}

impl TlsReader {
    fn fail(&mut self, kind: io::ErrorKind, text: String) -> io::Error {
        self.failed = Some((kind, text.clone()));
        io::Error::new(kind, text)
    }

    /// A violation by the peer (or by someone on the path): alert it, report it.
    fn violation(&mut self, desc: u8, what: &str) -> io::Error {
        let text = format!("{INTEGRITY}: {what}");
        self.shared.fatal_alert(desc, &text);
        self.fail(io::ErrorKind::InvalidData, text)
    }

    /// Opens every whole record in `raw..end`, appending application data at `plain_end`.
    fn open_records(&mut self) -> io::Result<()> {
        while !self.eof && self.end - self.raw >= HEADER {
            let h = &self.buf[self.raw..self.raw + HEADER];
            let header = [h[0], h[1], h[2], h[3], h[4]];
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            if header[0] != APPLICATION_DATA {
                return Err(self.violation(
                    UNEXPECTED_MESSAGE,
                    &format!("TLS: a record of unexpected type {}", header[0]),
                ));
            }
            if len > MAX_CIPHER {
                return Err(self.violation(RECORD_OVERFLOW, "TLS: a record too large"));
            }
            if len < 1 + TAG {
                return Err(self.violation(DECODE_ERROR, "TLS: a record too short"));
            }
            if self.end - self.raw < HEADER + len {
                break;
            }
            let nonce = match self.keys.next_nonce() {
                Ok(n) => n,
                Err(e) => return Err(self.fail(io::ErrorKind::InvalidData, format!("{e}"))),
            };
            let record_end = self.raw + HEADER + len;
            let shift = self.raw + HEADER - self.plain_end;
            let opened = self.keys.key.open_within(
                nonce,
                aead::Aad::from(header),
                &mut self.buf[self.plain_end..record_end],
                shift..,
            );
            self.raw = record_end;
            let Ok(plain) = opened else {
                return Err(self.violation(
                    BAD_RECORD_MAC,
                    "a record was altered in transit or forged (TLS decryption failed)",
                ));
            };
            // The content type is the last byte that is not padding.
            let Some(at) = plain.iter().rposition(|&b| b != 0) else {
                return Err(self.violation(UNEXPECTED_MESSAGE, "TLS: a record without a type"));
            };
            // Padding does not raise the limit: content and type fit in 2^14 + 1 bytes
            // (RFC 8446 §5.4).
            if plain.len() > MAX_PLAIN + 1 {
                return Err(self.violation(RECORD_OVERFLOW, "TLS: a record too large"));
            }
            match plain[at] {
                APPLICATION_DATA => self.plain_end += at,
                ALERT => {
                    let body = plain[..at].to_vec();
                    self.alert(&body)?;
                }
                HANDSHAKE => {
                    let body = plain[..at].to_vec();
                    self.handshake_message(&body)?;
                }
                t => {
                    return Err(self.violation(
                        UNEXPECTED_MESSAGE,
                        &format!("TLS: a record of unexpected type {t}"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn alert(&mut self, body: &[u8]) -> io::Result<()> {
        let &[_, desc] = body else {
            return Err(self.violation(DECODE_ERROR, "TLS: a malformed alert"));
        };
        match desc {
            CLOSE_NOTIFY => {
                self.eof = true;
                Ok(())
            }
            // Followed by close_notify.
            USER_CANCELED => Ok(()),
            _ => {
                let alert = AlertDescription::from(desc);
                let text = if alert == AlertDescription::BadRecordMac {
                    format!(
                        "{INTEGRITY}: the peer received a record that was altered in transit or \
                         forged (TLS alert bad_record_mac)"
                    )
                } else {
                    format!("{INTEGRITY}: the peer ended the TLS connection (alert {alert:?})")
                };
                self.failed = Some((io::ErrorKind::InvalidData, text.clone()));
                // The peer sends nothing more; nor do we.
                lock(&self.shared.tx).failed = Some(text.clone());
                Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    PeerAlert { alert, text },
                ))
            }
        }
    }

    /// After the handshake only KeyUpdate (and session tickets, which are ignored: resumption
    /// is off) may come.
    fn handshake_message(&mut self, mut body: &[u8]) -> io::Result<()> {
        if body.is_empty() {
            return Err(self.violation(UNEXPECTED_MESSAGE, "TLS: an empty handshake record"));
        }
        while !body.is_empty() {
            let &[typ, a, b, c, ref rest @ ..] = body else {
                return Err(self.violation(DECODE_ERROR, "TLS: a malformed handshake message"));
            };
            let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
            if rest.len() < len {
                return Err(self.violation(DECODE_ERROR, "TLS: a malformed handshake message"));
            }
            let (msg, next) = rest.split_at(len);
            body = next;
            match (typ, msg) {
                // Keys change at a record's end: nothing may follow a KeyUpdate in its record.
                (KEY_UPDATE, &[_]) if !body.is_empty() => {
                    return Err(self.violation(
                        UNEXPECTED_MESSAGE,
                        "TLS: a KeyUpdate not at the end of its record",
                    ));
                }
                (KEY_UPDATE, &[requested]) if requested > 1 => {
                    return Err(self.violation(
                        ILLEGAL_PARAMETER,
                        &format!("TLS: a KeyUpdate with the invalid request value {requested}"),
                    ));
                }
                (KEY_UPDATE, &[requested]) => {
                    let keys = lock(&self.shared.kernel)
                        .update_rx()
                        .map_err(|e| io::Error::other(format!("TLS: {e}")))
                        .and_then(|(seq, s)| Keys::new(&s, seq));
                    match keys {
                        Ok(k) => *self.keys = k,
                        Err(e) => return Err(self.fail(io::ErrorKind::InvalidData, e.to_string())),
                    }
                    if requested == 1 {
                        // Answer with an update of our own before any more data (unless
                        // sending already stopped).
                        let mut tx = lock(&self.shared.tx);
                        if tx.failed.is_some() {
                            continue;
                        }
                        let mut sealed = Vec::new();
                        tx.update(&self.shared.kernel, &mut sealed)?;
                        let mut wire = lock(&self.shared.wire);
                        drop(tx);
                        wire.write_all(&sealed)?;
                    }
                }
                (KEY_UPDATE, _) => {
                    return Err(self.violation(DECODE_ERROR, "TLS: a malformed KeyUpdate"));
                }
                // Only a server sends tickets.
                (NEW_SESSION_TICKET, _)
                    if matches!(*lock(&self.shared.kernel), Kernel::Client(_)) => {}
                _ => {
                    return Err(self.violation(
                        UNEXPECTED_MESSAGE,
                        &format!("TLS: unexpected handshake message {typ}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Makes plaintext available unless the connection ended; called when none is left.
    fn refill(&mut self) -> io::Result<()> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        if let Some((kind, text)) = &self.failed {
            return Err(io::Error::new(*kind, text.clone()));
        }
        loop {
            // No plaintext yet: unopened bytes move to the front, and plaintext is written from
            // there on (again after records that carried none, so they never fill the buffer).
            if self.raw > 0 {
                self.buf.copy_within(self.raw..self.end, 0);
                self.end -= self.raw;
                self.raw = 0;
            }
            self.pos = 0;
            self.plain_end = 0;
            if let Err(e) = self.open_records() {
                if self.failed.is_none() {
                    self.failed = Some((e.kind(), e.to_string()));
                }
                if self.plain_end == 0 {
                    return Err(e);
                }
                // Records before the bad one passed their check: theirs first.
                self.pending = Some(e);
                return Ok(());
            }
            if self.plain_end > 0 || self.eof {
                return Ok(());
            }
            let n = match self.deadline {
                Some(deadline) => Timed {
                    stream: &self.sock,
                    deadline,
                }
                .read(&mut self.buf[self.end..]),
                None => self.sock.read(&mut self.buf[self.end..]),
            };
            match n {
                // TCP closed without close_notify: a crashed peer, or a cut. What was
                // received intact is delivered (a frame cut in half is reported above); a
                // record cut in half is a cut for certain.
                Ok(0) if self.end > self.raw => {
                    return Err(self.fail(
                        io::ErrorKind::UnexpectedEof,
                        "TLS: the connection closed in the middle of a record".to_string(),
                    ));
                }
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Read for TlsReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(out.len());
            out[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl TlsReader {
    /// The plaintext received and not yet taken.
    pub(crate) fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..self.plain_end]
    }
}

impl BufRead for TlsReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.plain_end {
            self.refill()?;
        }
        Ok(&self.buf[self.pos..self.plain_end])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.plain_end);
    }
}

/// The sending half: seals and writes.
pub(crate) struct TlsWriter {
    shared: Arc<Shared>,
    sealed: Vec<u8>,
}

impl TlsWriter {
    /// Sends close_notify (the peer then reads end of stream, not a cut).
    pub(crate) fn close_notify(&mut self) -> io::Result<()> {
        self.shared
            .send(ALERT, &[1, CLOSE_NOTIFY], &mut self.sealed)
    }

    pub(crate) fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let r = self.shared.send(APPLICATION_DATA, buf, &mut self.sealed);
        if self.sealed.capacity() > 1 << 20 {
            self.sealed = Vec::new();
        }
        r
    }

    /// For the session's flusher, which must never wait on one connection: seals `buf`
    /// (which is emptied) and writes what the socket takes now; the rest stays pending, to go
    /// out first at the next write. Returns whether any bytes were written and whether
    /// nothing is left pending. Another thread writing this connection (its receiver
    /// answering a key update) leaves everything as it is.
    pub(crate) fn write_now(&mut self, buf: &mut Vec<u8>) -> io::Result<(bool, bool)> {
        let mut tx = lock(&self.shared.tx);
        if let Some(e) = &tx.failed {
            return Err(io::Error::new(io::ErrorKind::InvalidData, e.clone()));
        }
        let Ok(mut wire) = self.shared.wire.try_lock() else {
            return Ok((false, false));
        };
        if !buf.is_empty() {
            tx.seal(
                &self.shared.kernel,
                APPLICATION_DATA,
                buf,
                &mut wire.pending,
            )?;
            buf.clear();
        }
        drop(tx);
        let n = super::tcp::send_now(&wire.sock, &wire.pending)?;
        wire.pending.drain(..n);
        Ok((n > 0, wire.pending.is_empty()))
    }

    /// Whether sealed records wait to be written ([`TlsWriter::write_now`]).
    pub(crate) fn has_pending(&self) -> bool {
        !lock(&self.shared.wire).pending.is_empty()
    }

    /// Writes out the records left pending, waiting for room.
    pub(crate) fn drain(&mut self) -> io::Result<()> {
        lock(&self.shared.wire).drain()
    }

    /// Like [`TlsWriter::write_all`], without copying a large `buf`: its records are
    /// encrypted where they are, and headers, content types and tags are written around them
    /// (one vectored write). `buf` holds ciphertext afterwards.
    ///
    /// A record's content type byte is encrypted right after its data: the byte that follows
    /// a chunk (the next chunk's first, or one pushed at the end) is set aside, replaced by the
    /// type for the encryption, its ciphertext kept with the tag, and put back.
    pub(crate) fn write_in_place(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        let records = buf.len().div_ceil(MAX_PLAIN);
        let mut tx = lock(&self.shared.tx);
        // Small batches (a copy costs nothing), the handshake phase (writes keep a deadline)
        // and batches that reach a key update take the copying path.
        if buf.len() < MAX_PLAIN
            || lock(&self.shared.wire).deadline.is_some()
            || tx.keys.seq.saturating_add(records as u64) >= tx.limit
        {
            drop(tx);
            return self.write_all(buf);
        }
        if let Some(e) = &tx.failed {
            return Err(io::Error::new(io::ErrorKind::InvalidData, e.clone()));
        }
        let n = buf.len();
        buf.push(0);
        let mut around: Vec<([u8; HEADER], [u8; 1 + TAG])> = Vec::with_capacity(records);
        for start in (0..n).step_by(MAX_PLAIN) {
            let end = (start + MAX_PLAIN).min(n);
            let header = Tx::header(end - start);
            let kept = std::mem::replace(&mut buf[end], APPLICATION_DATA);
            let nonce = tx.keys.next_nonce()?;
            let sealed = tx.keys.key.seal_in_place_separate_tag(
                nonce,
                aead::Aad::from(header),
                &mut buf[start..=end],
            );
            let mut tail = [0u8; 1 + TAG];
            tail[0] = std::mem::replace(&mut buf[end], kept);
            let tag = sealed.map_err(|_| io::Error::other("TLS: sealing failed"))?;
            tail[1..].copy_from_slice(tag.as_ref());
            around.push((header, tail));
        }
        buf.truncate(n);
        let mut wire = lock(&self.shared.wire);
        drop(tx);
        // Records sealed before these go first.
        wire.drain()?;
        let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(3 * records);
        for (i, (header, tail)) in around.iter().enumerate() {
            let start = i * MAX_PLAIN;
            slices.push(IoSlice::new(header));
            slices.push(IoSlice::new(&buf[start..(start + MAX_PLAIN).min(n)]));
            slices.push(IoSlice::new(tail));
        }
        let mut left: &mut [IoSlice<'_>] = &mut slices;
        while !left.is_empty() {
            match send_vectored(&wire.sock, left) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(k) => IoSlice::advance_slices(&mut left, k),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The peer is alive and busy: wait on (see `write_all_while_heard`).
                Err(e) if super::tcp::blocked(&e) && super::tcp::heard_lately(&wire.sock) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// `writev` on a socket, without SIGPIPE: std's `write_vectored` is `writev`, which raises
/// SIGPIPE when the connection is already closed (std's `write` passes `MSG_NOSIGNAL`). A
/// native role executable has no Rust `main` to ignore that signal, so a batch written to a
/// peer that had just died killed the role before it could say which peer it lost.
#[allow(unsafe_code)]
fn send_vectored(sock: &TcpStream, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    // Linux's IOV_MAX; the rest goes in the next call (the caller loops).
    let n = bufs.len().min(1024);
    // SAFETY: `IoSlice` has the layout of `iovec` on Unix (documented); `msg` points to `n`
    // of them, which outlive the call, and sendmsg only reads them.
    let sent = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = n as _;
        libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)
    };
    usize::try_from(sent).map_err(|_| io::Error::last_os_error())
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::thread;
    use std::time::Duration;

    use super::*;

    /// A CA and certificates for roles A and B in `dir`.
    fn cluster(dir: &Path) {
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
            let mut p =
                CertificateParams::new(vec![role_dns_name(r).expect("name")]).expect("params");
            p.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
            let cert = p.signed_by(&key, &issuer).expect("sign");
            std::fs::write(dir.join(format!("{r}.pem")), cert.pem()).expect("write");
            std::fs::write(dir.join(format!("{r}.key")), key.serialize_pem()).expect("write");
        }
    }

    /// A connected pair (A dialled B) whose keys are updated every `limit` records.
    fn pair(name: &str, limit: u64) -> ((TlsReader, TlsWriter), (TlsReader, TlsWriter)) {
        let dir = std::env::temp_dir().join(format!("chor-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        cluster(&dir);
        let text = "[roles]\n\
            A = { address = \"127.0.0.1:1\", cert = \"A.pem\", key = \"A.key\" }\n\
            B = { address = \"127.0.0.1:2\", cert = \"B.pem\", key = \"B.key\" }\n\
            [security]\nca = \"ca.pem\"\n";
        let cfg = DeployConfig::from_str(text, &dir).expect("config");
        let a = Tls::load(&cfg, "A").expect("load").expect("tls");
        let b = Tls::load(&cfg, "B").expect("load").expect("tls");
        let _ = std::fs::remove_dir_all(&dir);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let deadline = Instant::now() + Duration::from_secs(20);
        let server = thread::spawn(move || {
            let (s, _) = listener.accept().expect("accept");
            let chan = b.accept(&s, deadline).expect("server handshake");
            assert!(chan.peer_is("A") && !chan.peer_is("B"));
            chan
        });
        let s = TcpStream::connect(addr).expect("connect");
        let client = a.connect("B", &s, deadline).expect("client handshake");
        let server = server.join().expect("no panic");
        let halves = |c: Channel| {
            lock(&c.writer.shared.tx).limit = limit;
            c.into_halves()
        };
        (halves(client), halves(server))
    }

    /// Sends `msgs` on one thread while the other end reads and compares them.
    fn stream(from: &mut TlsWriter, to: &mut TlsReader, msgs: &[Vec<u8>]) {
        thread::scope(|s| {
            s.spawn(|| {
                for (i, m) in msgs.iter().enumerate() {
                    // Both ways of writing: copied, and sealed in place.
                    if i % 2 == 0 {
                        from.write_all(m).expect("write");
                    } else {
                        from.write_in_place(&mut m.clone()).expect("write");
                    }
                }
            });
            for m in msgs {
                let mut got = vec![0; m.len()];
                to.read_exact(&mut got).expect("read");
                assert!(got == *m, "a message of {} bytes arrived altered", m.len());
            }
        });
    }

    fn messages() -> Vec<Vec<u8>> {
        (0..60u32)
            .map(|i| {
                let len = [1, 700, 16 << 10, (16 << 10) + 1, 40_000, 70_000][i as usize % 6];
                (0..len).map(|j| (i as usize * 31 + j) as u8).collect()
            })
            .collect()
    }

    #[test]
    fn a_write_now_takes_what_the_socket_takes_and_the_rest_goes_first_later() {
        let ((_ar, mut aw), (mut br, _bw)) = pair("write-now", u64::MAX);
        // 24 MiB while the peer reads nothing: more than loopback's socket buffers hold.
        let big: Vec<u8> = (0..24u32 << 20).map(|i| (i % 251) as u8).collect();
        let started = Instant::now();
        let (wrote, done) = aw.write_now(&mut big.clone()).expect("write now");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "it waited for room"
        );
        assert!(wrote && !done, "part written, the rest pending");
        assert!(aw.has_pending());
        let reader = thread::spawn(move || {
            let mut got = vec![0; big.len() + 3];
            br.read_exact(&mut got).expect("read");
            (big, got)
        });
        // Sealed later, written after what is pending: by both ways of writing.
        aw.write_all(b"a").expect("write");
        aw.write_in_place(&mut vec![b'b'; 1]).expect("write");
        aw.write_in_place(&mut vec![b'c'; 1]).expect("write");
        assert!(!aw.has_pending());
        let (big, got) = reader.join().expect("reader");
        assert!(
            got[..big.len()] == big[..],
            "the pending records arrived altered"
        );
        assert_eq!(&got[big.len()..], b"abc");
    }

    #[test]
    #[allow(unsafe_code)]
    fn a_batch_written_to_a_closed_connection_raises_no_sigpipe() {
        let ((_ar, mut aw), _b) = pair("sigpipe", u64::MAX);
        thread::spawn(move || {
            // With SIGPIPE blocked on this thread, one the write raises stays pending here,
            // where `sigpending` sees it (the test process ignores it otherwise).
            // SAFETY: signal sets on the stack, initialised by sigemptyset before use.
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, libc::SIGPIPE);
                libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            }
            lock(&aw.shared.wire)
                .sock
                .shutdown(std::net::Shutdown::Write)
                .expect("shutdown");
            // Large enough to be sealed in place and sent with one vectored write.
            let mut big = vec![7u8; 64 << 10];
            let e = aw
                .write_in_place(&mut big)
                .expect_err("the connection is closed");
            assert_eq!(e.kind(), io::ErrorKind::BrokenPipe, "{e}");
            // SAFETY: as above.
            let raised = unsafe {
                let mut pending: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut pending);
                libc::sigpending(&mut pending);
                libc::sigismember(&pending, libc::SIGPIPE) == 1
            };
            assert!(!raised, "the write raised SIGPIPE");
        })
        .join()
        .expect("no panic");
    }

    #[test]
    fn data_flows_both_ways_across_many_key_updates() {
        let ((mut ar, mut aw), (mut br, mut bw)) = pair("updates", 3);
        let msgs = messages();
        stream(&mut aw, &mut br, &msgs);
        stream(&mut bw, &mut ar, &msgs);
        // Far more records than the limit went out: the keys were updated along the way.
        for w in [&aw, &bw] {
            assert!(lock(&w.shared.tx).keys.seq <= 3);
        }
        aw.close_notify().expect("close");
        let mut rest = Vec::new();
        assert_eq!(br.read_to_end(&mut rest).expect("end of stream"), 0);
    }

    #[test]
    fn a_key_update_the_peer_requests_is_answered() {
        let ((mut ar, aw), (mut br, mut bw)) = pair("requested", u64::MAX);
        {
            // A asks B to update its keys too.
            let mut tx = lock(&aw.shared.tx);
            let mut sealed = Vec::new();
            tx.seal_record(HANDSHAKE, &[KEY_UPDATE, 0, 0, 1, 1], &mut sealed)
                .expect("seal");
            let (seq, secrets) = lock(&aw.shared.kernel).update_tx().expect("update");
            tx.keys = Keys::new(&secrets, seq).expect("keys");
            tx.seal_record(APPLICATION_DATA, b"after", &mut sealed)
                .expect("seal");
            lock(&aw.shared.wire).write_all(&sealed).expect("write");
        }
        let mut got = [0u8; 5];
        br.read_exact(&mut got).expect("read");
        assert_eq!(&got, b"after");
        // B answered with its own update before sending anything else.
        assert_eq!(lock(&bw.shared.tx).keys.seq, 0);
        let msgs = messages();
        stream(&mut bw, &mut ar, &msgs);
    }

    /// Records without data (legal, and alike: each costs 22 bytes) never fill the receive
    /// buffer into a false end of stream.
    #[test]
    fn many_empty_records_are_not_an_end_of_stream() {
        let ((_ar, aw), (mut br, _bw)) = pair("empty", u64::MAX);
        thread::scope(|s| {
            s.spawn(|| {
                let mut sealed = Vec::new();
                let mut tx = lock(&aw.shared.tx);
                for _ in 0..(3 * RX_BUFFER / (HEADER + 1 + TAG)) {
                    tx.seal_record(APPLICATION_DATA, &[], &mut sealed)
                        .expect("seal");
                }
                tx.seal_record(APPLICATION_DATA, b"x", &mut sealed)
                    .expect("seal");
                lock(&aw.shared.wire).write_all(&sealed).expect("write");
            });
            let mut got = [0u8; 1];
            br.read_exact(&mut got).expect("read");
            assert_eq!(&got, b"x");
        });
    }

    #[test]
    fn an_unexpected_handshake_message_ends_the_connection_cleanly() {
        let ((_ar, aw), (mut br, _bw)) = pair("unexpected", u64::MAX);
        {
            let mut tx = lock(&aw.shared.tx);
            let mut sealed = Vec::new();
            // A ClientHello after the handshake.
            tx.seal_record(HANDSHAKE, &[1, 0, 0, 2, 3, 3], &mut sealed)
                .expect("seal");
            lock(&aw.shared.wire).write_all(&sealed).expect("write");
        }
        let mut got = [0u8; 1];
        let e = br.read_exact(&mut got).expect_err("refused");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(
            e.to_string()
                .starts_with("message integrity check failed: TLS: unexpected handshake message"),
            "{e}"
        );
        // Every later read reports the same.
        assert!(br.read_exact(&mut got).is_err());
    }

    // -----------------------------------------------------------------------------------
    // A hostile peer: after a real handshake, A writes bytes of its choosing on the raw
    // socket and B must end with an error that names the problem (or deliver exactly what
    // was sealed), without a panic, without spinning, in its fixed buffer.

    /// Records sealed with A's current sending keys (nothing is written).
    fn sealed(aw: &TlsWriter, typ: u8, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        lock(&aw.shared.tx)
            .seal_record(typ, data, &mut out)
            .expect("seal");
        out
    }

    /// A record whose inner plaintext (content, type byte and padding) is `inner` as given.
    fn sealed_inner(aw: &TlsWriter, inner: &[u8]) -> Vec<u8> {
        let mut tx = lock(&aw.shared.tx);
        let len = u16::try_from(inner.len() + TAG).expect("length");
        let [hi, lo] = len.to_be_bytes();
        let header = [APPLICATION_DATA, 3, 3, hi, lo];
        let mut out = header.to_vec();
        out.extend_from_slice(inner);
        let nonce = tx.keys.next_nonce().expect("nonce");
        let tag = tx
            .keys
            .key
            .seal_in_place_separate_tag(nonce, aead::Aad::from(header), &mut out[HEADER..])
            .expect("seal");
        out.extend_from_slice(tag.as_ref());
        out
    }

    /// A writes `bytes` on its raw socket (and with `close` then ends its sending direction)
    /// while B reads until an error or the end of the stream: what B delivered, and how its
    /// reading ended. B's receive buffer never grows.
    fn feed(
        aw: &TlsWriter,
        br: &mut TlsReader,
        bytes: &[u8],
        close: bool,
    ) -> (Vec<u8>, io::Result<()>) {
        // A reader that waited forever, or spun, fails here instead of hanging the tests.
        br.sock
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let size = br.buf.len();
        let out = thread::scope(|s| {
            s.spawn(|| {
                let wire = lock(&aw.shared.wire);
                let _ = wire.sock.set_write_timeout(Some(Duration::from_secs(20)));
                // B may stop reading at an error: what it does not take is not waited for.
                let _ = (&wire.sock).write_all(bytes);
                if close {
                    let _ = wire.sock.shutdown(std::net::Shutdown::Write);
                }
            });
            let mut got = Vec::new();
            let mut chunk = vec![0u8; 8192];
            let end = loop {
                match br.read(&mut chunk) {
                    Ok(0) => break Ok(()),
                    Ok(n) => got.extend_from_slice(&chunk[..n]),
                    Err(e) => break Err(e),
                }
            };
            (got, end)
        });
        assert_eq!(br.buf.len(), size, "the receive buffer grew");
        out
    }

    /// `end` is an error of `kind` whose text contains `names`; B then keeps reporting it.
    fn refused(br: &mut TlsReader, end: io::Result<()>, kind: io::ErrorKind, names: &str) {
        let e = end.expect_err("the hostile bytes are refused");
        assert_eq!(e.kind(), kind, "{e}");
        assert!(
            e.to_string().contains(names),
            "{e:?} does not name {names:?}"
        );
        let again = br.read(&mut [0u8; 16]).expect_err("still failed");
        assert!(again.to_string().contains(names), "{again}");
    }

    const BAD: io::ErrorKind = io::ErrorKind::InvalidData;

    #[test]
    fn a_record_cut_by_the_end_of_the_connection_is_an_error() {
        for (i, keep) in [3usize, HEADER, HEADER + 7].into_iter().enumerate() {
            let ((_ar, aw), (mut br, _bw)) = pair(&format!("cut{i}"), u64::MAX);
            let mut bytes = sealed(&aw, APPLICATION_DATA, b"hello");
            let next = sealed(&aw, APPLICATION_DATA, b"world");
            bytes.extend_from_slice(&next[..keep]);
            let (got, end) = feed(&aw, &mut br, &bytes, true);
            assert_eq!(
                got, b"hello",
                "the whole record before the cut is delivered"
            );
            refused(
                &mut br,
                end,
                io::ErrorKind::UnexpectedEof,
                "the connection closed in the middle of a record",
            );
        }
    }

    #[test]
    fn record_lengths_over_the_limit_are_refused_before_anything_is_buffered() {
        for (i, len) in [MAX_CIPHER + 1, usize::from(u16::MAX)]
            .into_iter()
            .enumerate()
        {
            let ((_ar, aw), (mut br, _bw)) = pair(&format!("over{i}"), u64::MAX);
            let [hi, lo] = u16::try_from(len).expect("len").to_be_bytes();
            // Only the header: the length alone decides, B does not wait for the body.
            let (got, end) = feed(&aw, &mut br, &[APPLICATION_DATA, 3, 3, hi, lo], false);
            assert!(got.is_empty());
            refused(&mut br, end, BAD, "TLS: a record too large");
        }
    }

    #[test]
    fn a_record_exactly_at_the_length_limit_is_opened_and_its_content_checked() {
        // Forged bytes of the largest allowed length reach decryption, which refuses them.
        let ((_ar, aw), (mut br, _bw)) = pair("limit0", u64::MAX);
        let [hi, lo] = u16::try_from(MAX_CIPHER).expect("len").to_be_bytes();
        let mut bytes = vec![APPLICATION_DATA, 3, 3, hi, lo];
        bytes.resize(HEADER + MAX_CIPHER, 0x5a);
        let (_, end) = feed(&aw, &mut br, &bytes, false);
        refused(&mut br, end, BAD, "altered in transit or forged");
        // A sealed record of that length carries more than 2^14 bytes of content.
        let ((_ar, aw), (mut br, _bw)) = pair("limit1", u64::MAX);
        let bytes = sealed(&aw, APPLICATION_DATA, &vec![7u8; MAX_CIPHER - TAG - 1]);
        assert_eq!(bytes.len(), HEADER + MAX_CIPHER);
        let (got, end) = feed(&aw, &mut br, &bytes, false);
        assert!(got.is_empty());
        refused(&mut br, end, BAD, "TLS: a record too large");
        // Padding does not raise the limit on the inner plaintext (RFC 8446 §5.4).
        let ((_ar, aw), (mut br, _bw)) = pair("limit2", u64::MAX);
        let mut inner = b"short".to_vec();
        inner.push(APPLICATION_DATA);
        inner.resize(MAX_CIPHER - TAG, 0);
        let (got, end) = feed(&aw, &mut br, &sealed_inner(&aw, &inner), false);
        assert!(got.is_empty());
        refused(&mut br, end, BAD, "TLS: a record too large");
        // The largest legal record passes.
        let ((_ar, aw), (mut br, _bw)) = pair("limit3", u64::MAX);
        let data: Vec<u8> = (0..MAX_PLAIN).map(|i| i as u8).collect();
        let (got, end) = feed(&aw, &mut br, &sealed(&aw, APPLICATION_DATA, &data), true);
        end.expect("a clean end");
        assert!(got == data);
    }

    #[test]
    fn records_too_short_for_a_tag_are_refused() {
        for (i, len) in [0usize, 1, TAG - 1, TAG].into_iter().enumerate() {
            let ((_ar, aw), (mut br, _bw)) = pair(&format!("short{i}"), u64::MAX);
            let [hi, lo] = u16::try_from(len).expect("len").to_be_bytes();
            let mut bytes = vec![APPLICATION_DATA, 3, 3, hi, lo];
            bytes.resize(HEADER + len, 0);
            let (got, end) = feed(&aw, &mut br, &bytes, false);
            assert!(got.is_empty());
            refused(&mut br, end, BAD, "TLS: a record too short");
        }
    }

    #[test]
    fn a_replayed_record_fails_authentication() {
        let ((_ar, aw), (mut br, _bw)) = pair("replay", u64::MAX);
        let one = sealed(&aw, APPLICATION_DATA, b"one");
        let bytes = [one.as_slice(), one.as_slice()].concat();
        let (got, end) = feed(&aw, &mut br, &bytes, false);
        assert_eq!(got, b"one", "the first copy is delivered, once");
        refused(
            &mut br,
            end,
            BAD,
            "a record was altered in transit or forged",
        );
    }

    #[test]
    fn reordered_records_fail_authentication() {
        let ((_ar, aw), (mut br, _bw)) = pair("reorder", u64::MAX);
        let one = sealed(&aw, APPLICATION_DATA, b"one");
        let two = sealed(&aw, APPLICATION_DATA, b"two");
        let (got, end) = feed(&aw, &mut br, &[two, one].concat(), false);
        assert!(got.is_empty(), "nothing out of order is delivered");
        refused(
            &mut br,
            end,
            BAD,
            "a record was altered in transit or forged",
        );
    }

    #[test]
    fn a_record_of_another_outer_type_is_refused() {
        // change_cipher_spec, alert and handshake in the clear, and a type that does not exist.
        for (i, typ) in [20u8, ALERT, HANDSHAKE, 99].into_iter().enumerate() {
            let ((_ar, aw), (mut br, _bw)) = pair(&format!("outer{i}"), u64::MAX);
            let mut bytes = sealed(&aw, APPLICATION_DATA, b"data");
            bytes[0] = typ;
            let (got, end) = feed(&aw, &mut br, &bytes, false);
            assert!(got.is_empty());
            refused(
                &mut br,
                end,
                BAD,
                &format!("TLS: a record of unexpected type {typ}"),
            );
        }
    }

    #[test]
    fn a_record_of_padding_only_has_no_type_and_is_refused() {
        for (i, n) in [1usize, 10, MAX_PLAIN + 1].into_iter().enumerate() {
            let ((_ar, aw), (mut br, _bw)) = pair(&format!("pad{i}"), u64::MAX);
            let (got, end) = feed(&aw, &mut br, &sealed_inner(&aw, &vec![0; n]), false);
            assert!(got.is_empty());
            refused(&mut br, end, BAD, "TLS: a record without a type");
        }
        // An inner content type that TLS 1.3 does not carry there.
        let ((_ar, aw), (mut br, _bw)) = pair("pad-type", u64::MAX);
        let (_, end) = feed(&aw, &mut br, &sealed(&aw, 20, b"x"), false);
        refused(&mut br, end, BAD, "TLS: a record of unexpected type 20");
    }

    /// Empty records cost the sender as many bytes as they cost B work: B opens them as they
    /// come in its fixed buffer, then waits on the socket (it does not spin: a read timeout
    /// ends the wait) and reads a later byte.
    #[test]
    fn a_flood_of_empty_records_neither_spins_nor_grows_memory() {
        let ((_ar, aw), (mut br, _bw)) = pair("flood", u64::MAX);
        let mut flood = Vec::new();
        {
            let mut tx = lock(&aw.shared.tx);
            for _ in 0..150_000 {
                tx.seal_record(APPLICATION_DATA, &[], &mut flood)
                    .expect("seal");
            }
        }
        let size = br.buf.len();
        let sent = lock(&aw.shared.tx).keys.seq;
        thread::scope(|s| {
            s.spawn(|| {
                lock(&aw.shared.wire).write_all(&flood).expect("write");
            });
            br.sock
                .set_read_timeout(Some(Duration::from_millis(300)))
                .expect("timeout");
            let mut got = [0u8; 1];
            // Each read ends by timing out on the socket, never with data or an end, until
            // the whole flood is opened (bounded: a stuck reader fails the test).
            for _ in 0..400 {
                match br.read(&mut got) {
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) => {}
                    r => panic!("an empty record delivered something: {r:?}"),
                }
                if br.keys.seq == sent {
                    break;
                }
            }
        });
        assert_eq!(br.keys.seq, sent, "the whole flood was opened");
        assert_eq!(br.buf.len(), size);
        let (got, end) = feed(&aw, &mut br, &sealed(&aw, APPLICATION_DATA, b"x"), true);
        end.expect("a clean end");
        assert_eq!(got, b"x");
    }

    #[test]
    fn a_key_update_with_an_invalid_request_value_is_refused() {
        for (i, v) in [2u8, 255].into_iter().enumerate() {
            let ((_ar, aw), (mut br, _bw)) = pair(&format!("kuval{i}"), u64::MAX);
            let bytes = sealed(&aw, HANDSHAKE, &[KEY_UPDATE, 0, 0, 1, v]);
            let (_, end) = feed(&aw, &mut br, &bytes, false);
            refused(
                &mut br,
                end,
                BAD,
                &format!("TLS: a KeyUpdate with the invalid request value {v}"),
            );
            // B's receiving keys did not change (new keys start at sequence number 0).
            assert_eq!(br.keys.seq, 1);
        }
        // A KeyUpdate body of another length than one byte.
        for (i, body) in [&[KEY_UPDATE, 0, 0, 0][..], &[KEY_UPDATE, 0, 0, 2, 0, 0]]
            .into_iter()
            .enumerate()
        {
            let ((_ar, aw), (mut br, _bw)) = pair(&format!("kulen{i}"), u64::MAX);
            let (_, end) = feed(&aw, &mut br, &sealed(&aw, HANDSHAKE, body), false);
            refused(&mut br, end, BAD, "TLS: a malformed KeyUpdate");
            assert_eq!(br.keys.seq, 1);
        }
    }

    #[test]
    fn a_key_update_not_at_the_end_of_its_record_is_refused() {
        let follow: [&[u8]; 2] = [&[KEY_UPDATE, 0, 0, 1, 0], &[NEW_SESSION_TICKET, 0, 0, 0]];
        for (i, next) in follow.into_iter().enumerate() {
            let ((_ar, aw), (mut br, _bw)) = pair(&format!("kuend{i}"), u64::MAX);
            let body = [&[KEY_UPDATE, 0, 0, 1, 0][..], next].concat();
            let (_, end) = feed(&aw, &mut br, &sealed(&aw, HANDSHAKE, &body), false);
            refused(
                &mut br,
                end,
                BAD,
                "TLS: a KeyUpdate not at the end of its record",
            );
        }
    }

    #[test]
    fn handshake_messages_other_than_key_update_are_refused() {
        // Finished, CertificateRequest (post-handshake authentication is not offered),
        // and a ticket sent to the server.
        let mut finished = vec![20u8, 0, 0, 32];
        finished.resize(4 + 32, 1);
        let cases: [(&[u8], u8); 3] = [
            (&finished, 20),
            (&[13, 0, 0, 2, 0, 0], 13),
            (&[NEW_SESSION_TICKET, 0, 0, 0], NEW_SESSION_TICKET),
        ];
        for (i, (msg, typ)) in cases.into_iter().enumerate() {
            let ((_ar, aw), (mut br, _bw)) = pair(&format!("hs{i}"), u64::MAX);
            let (_, end) = feed(&aw, &mut br, &sealed(&aw, HANDSHAKE, msg), false);
            refused(
                &mut br,
                end,
                BAD,
                &format!("TLS: unexpected handshake message {typ}"),
            );
        }
        // Messages cut short, or longer than their record, or an empty record.
        let broken: [&[u8]; 3] = [&[KEY_UPDATE, 0], &[KEY_UPDATE, 0, 0, 9, 0], &[]];
        for (i, msg) in broken.into_iter().enumerate() {
            let ((_ar, aw), (mut br, _bw)) = pair(&format!("hsbad{i}"), u64::MAX);
            let (_, end) = feed(&aw, &mut br, &sealed(&aw, HANDSHAKE, msg), false);
            let want = if msg.is_empty() {
                "TLS: an empty handshake record"
            } else {
                "TLS: a malformed handshake message"
            };
            refused(&mut br, end, BAD, want);
        }
        // A client ignores a ticket (resumption is off) and reads on.
        let ((mut ar, _aw), (_br, bw)) = pair("ticket", u64::MAX);
        let mut bytes = sealed(&bw, HANDSHAKE, &[NEW_SESSION_TICKET, 0, 0, 0]);
        bytes.extend(sealed(&bw, APPLICATION_DATA, b"after"));
        let (got, end) = feed(&bw, &mut ar, &bytes, true);
        end.expect("a clean end");
        assert_eq!(got, b"after");
    }

    #[test]
    fn an_alert_ends_the_connection_naming_it() {
        let ((_ar, aw), (mut br, _bw)) = pair("alert", u64::MAX);
        let mut bytes = sealed(&aw, APPLICATION_DATA, b"before");
        bytes.extend(sealed(&aw, ALERT, &[2, 40]));
        let (got, end) = feed(&aw, &mut br, &bytes, false);
        // The data before the alert passed its check: it comes first, then the alert.
        assert_eq!(got, b"before");
        let e = end.expect_err("the alert ends it");
        let alert = e
            .get_ref()
            .and_then(|i| i.downcast_ref::<PeerAlert>())
            .expect("a PeerAlert");
        assert_eq!(alert.alert, AlertDescription::HandshakeFailure);
        refused(
            &mut br,
            Err(e),
            BAD,
            "the peer ended the TLS connection (alert HandshakeFailure)",
        );
        // Nor does B send anything after it.
        assert!(lock(&br.shared.tx).failed.is_some());
        // Alerts of another size than two bytes.
        let malformed: [&[u8]; 3] = [&[], &[2], &[2, 40, 0]];
        for (i, body) in malformed.into_iter().enumerate() {
            let ((_ar, aw), (mut br, _bw)) = pair(&format!("alertbad{i}"), u64::MAX);
            let (_, end) = feed(&aw, &mut br, &sealed(&aw, ALERT, body), false);
            refused(&mut br, end, BAD, "TLS: a malformed alert");
        }
    }

    /// Data after close_notify is ignored (RFC 8446 §6.1): the stream ends where the alert is,
    /// and stays ended.
    #[test]
    fn data_after_close_notify_is_never_delivered() {
        let ((_ar, aw), (mut br, _bw)) = pair("closed", u64::MAX);
        let mut bytes = sealed(&aw, APPLICATION_DATA, b"before");
        bytes.extend(sealed(&aw, ALERT, &[1, CLOSE_NOTIFY]));
        bytes.extend(sealed(&aw, APPLICATION_DATA, b"after"));
        bytes.extend(b"not even a record");
        let (got, end) = feed(&aw, &mut br, &bytes, false);
        end.expect("a clean end");
        assert_eq!(got, b"before");
        for _ in 0..3 {
            assert_eq!(br.read(&mut [0u8; 16]).expect("still the end"), 0);
        }
    }

    mod mutated {
        use proptest::prelude::*;

        use super::*;

        /// `msgs` sealed by A as one stream (with key updates every `limit` records), then
        /// close_notify; and where each record starts.
        fn sealed_stream(aw: &TlsWriter, msgs: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
            let mut stream = Vec::new();
            let mut tx = lock(&aw.shared.tx);
            for m in msgs {
                tx.seal(&aw.shared.kernel, APPLICATION_DATA, m, &mut stream)
                    .expect("seal");
            }
            tx.seal(&aw.shared.kernel, ALERT, &[1, CLOSE_NOTIFY], &mut stream)
                .expect("seal");
            let mut starts = Vec::new();
            let mut at = 0;
            while at < stream.len() {
                starts.push(at);
                at += HEADER + usize::from(u16::from_be_bytes([stream[at + 3], stream[at + 4]]));
            }
            assert_eq!(at, stream.len());
            (stream, starts)
        }

        fn messages() -> impl Strategy<Value = Vec<Vec<u8>>> {
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..20_000), 1..4)
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            /// A valid stream (data over records of every size, key updates, close_notify)
            /// with bytes changed anywhere, or in record headers: B delivers a prefix of the
            /// data and then an error, never other data; unchanged, exactly the data.
            #[test]
            fn a_changed_byte_is_an_error_never_wrong_data(
                msgs in messages(),
                limit in 1u64..5,
                flips in prop::collection::vec(
                    (any::<prop::sample::Index>(), any::<bool>(), 0..HEADER, 1u8..=255),
                    0..4,
                ),
            ) {
                let ((_ar, aw), (mut br, _bw)) = pair("mutated", limit);
                let (stream, starts) = sealed_stream(&aw, &msgs);
                let mut changed = stream.clone();
                for (at, in_header, offset, x) in &flips {
                    let at = if *in_header {
                        starts[at.index(starts.len())] + offset
                    } else {
                        at.index(stream.len())
                    };
                    changed[at] ^= x;
                }
                let data = msgs.concat();
                let (got, end) = feed(&aw, &mut br, &changed, true);
                if changed == stream {
                    prop_assert!(end.is_ok(), "{end:?}");
                    prop_assert!(got == data, "the data arrived altered");
                } else {
                    prop_assert!(data.starts_with(&got), "wrong data delivered");
                    let e = end.expect_err("a changed stream is refused");
                    let text = e.to_string();
                    prop_assert!(text.contains("TLS"), "{text}");
                    prop_assert!(
                        matches!(e.kind(), io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof),
                        "{e:?}"
                    );
                }
            }

            /// The same stream cut anywhere by the end of TCP: B delivers the data of the
            /// whole records before the cut; a cut inside a record is an error naming it.
            #[test]
            fn a_cut_stream_delivers_a_prefix_and_names_a_cut_record(
                msgs in messages(),
                limit in 1u64..5,
                cut in any::<prop::sample::Index>(),
                at_boundary in any::<bool>(),
            ) {
                let ((_ar, aw), (mut br, _bw)) = pair("cut", limit);
                let (stream, starts) = sealed_stream(&aw, &msgs);
                let cut = if at_boundary {
                    starts[cut.index(starts.len())]
                } else {
                    cut.index(stream.len() + 1)
                };
                let data = msgs.concat();
                let (got, end) = feed(&aw, &mut br, &stream[..cut], true);
                prop_assert!(data.starts_with(&got), "wrong data delivered");
                if cut == stream.len() {
                    prop_assert!(end.is_ok() && got == data, "{end:?}");
                } else if starts.contains(&cut) {
                    // TCP closed between records: the end of the stream, as without TLS
                    // (the frames above tell a message cut in half).
                    prop_assert!(end.is_ok(), "{end:?}");
                } else {
                    let e = end.expect_err("a record cut in half is an error");
                    prop_assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
                    prop_assert!(
                        e.to_string().contains("the connection closed in the middle of a record"),
                        "{e}"
                    );
                }
            }
        }
    }
}
