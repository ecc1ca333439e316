//! The connection handshake: both ends state the program and their roles, and, with a
//! shared secret configured, prove they hold it before any message is accepted. With TLS it
//! runs inside the TLS connection (whose certificates prove the roles); without, on the
//! bare socket (loopback, or with `allow_plaintext`).
//!
//! ```text
//! client -> server  HELLO    "CHOR" version flags fingerprint[32] len from len to [pake_c[33]]
//! server -> client  REPLY    "CHOR" version flags fingerprint[32] status [pake_s[33]]
//! client -> server  CONFIRM  confirm_c[32]                     (with a secret only)
//! server -> client  VERDICT  status [confirm_s[32]]            (confirm_s with a secret)
//! ```
//! Without a secret there is no CONFIRM, and a server that accepts the greeting sends REPLY
//! and VERDICT together, once it has claimed the client's slot: one round trip in all.
//! `flags` bit 0 says whether the side has a secret; both must agree. With a secret the two
//! sides run SPAKE2 (a password-authenticated key exchange, RustCrypto's `spake2` on
//! Ed25519): `pake_c` and `pake_s` are its messages, bound to the two role names, and each
//! side derives a key `K` that matches only if both used the same secret. Then
//! `confirm_x = HMAC-SHA256(K, "chor-v2 client"|"chor-v2 server" ‖ fingerprint ‖ pake_c ‖
//! pake_s ‖ from ‖ to)`. The client confirms first and the server answers with its own
//! confirmation only after checking the client's, so neither side reveals anything about the
//! secret to a party that has not proved it: a SPAKE2 message is a random-looking group
//! element, and a confirmation can be checked only by someone who knows the key of this
//! exchange, which needs the secret *and* the other side's ephemeral scalar. One connection
//! therefore tests one guess, online (the listener logs every failure), never a dictionary
//! offline. (Version 1 sent the listener's HMAC proof first, which let one connection test
//! guesses offline.) The SPAKE2 messages and the distinct side prefixes defeat replay and
//! reflection.
//!
//! Every field has a fixed or one-byte-bounded size, and the whole handshake has one deadline
//! (every read and write is given only the time left, see [`Timed`]), so garbage, a silent
//! peer or one that trickles a byte at a time costs one short-lived thread and nothing else.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use spake2::{Ed25519Group, Identity as PakeId, Password, Spake2};

use crate::config::Secret;
use crate::session::Fingerprint;
use crate::session::tls::PeerAlert;

const MAGIC: &[u8; 4] = b"CHOR";
/// Version of the handshake and framing protocol (independent of the codec's version).
const PROTOCOL: u8 = 2;
/// Length of a SPAKE2 message on Ed25519 (a side byte and a compressed point).
const PAKE_LEN: usize = 33;
const FLAG_SECRET: u8 = 1;

/// Outcome codes the server sends in REPLY and VERDICT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Status {
    Ok = 0,
    DifferentProgram = 1,
    NotMe = 2,
    UnexpectedRole = 3,
    SecretMismatch = 4,
    BadProof = 5,
    Duplicate = 6,
    WrongCertificate = 7,
}

impl Status {
    fn from_byte(b: u8) -> Option<Status> {
        Some(match b {
            0 => Status::Ok,
            1 => Status::DifferentProgram,
            2 => Status::NotMe,
            3 => Status::UnexpectedRole,
            4 => Status::SecretMismatch,
            5 => Status::BadProof,
            6 => Status::Duplicate,
            7 => Status::WrongCertificate,
            _ => return None,
        })
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Status::Ok => "accepted",
            Status::DifferentProgram => {
                "it runs a different program (the program fingerprints differ)"
            }
            Status::NotMe => "it is a different role than the one dialled",
            Status::UnexpectedRole => "it does not expect a connection from this role",
            Status::SecretMismatch => {
                "one side has a shared secret configured and the other has not"
            }
            Status::BadProof => {
                "the two sides hold different shared secrets (the key exchange did not confirm)"
            }
            Status::Duplicate => "this role is already connected",
            Status::WrongCertificate => {
                "its TLS certificate is not the certificate of the role it claims to be"
            }
        }
    }
}

/// What one end knows before the handshake.
pub(crate) struct Identity<'a> {
    pub fingerprint: Fingerprint,
    pub role: &'a str,
    pub secret: Option<&'a Secret>,
}

/// Why a handshake failed.
#[derive(Debug)]
pub(crate) enum HandshakeError {
    /// The other side refused us, with its reason.
    Refused(Status),
    /// The other side is not a chor peer we can trust (bad bytes, bad proof, I/O failure).
    Failed(String),
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandshakeError::Refused(s) => write!(f, "refused by the peer: {}", s.describe()),
            HandshakeError::Failed(m) => write!(f, "{m}"),
        }
    }
}

fn io_fail(what: &str) -> impl FnOnce(std::io::Error) -> HandshakeError + '_ {
    move |e| {
        let e = match e.kind() {
            std::io::ErrorKind::UnexpectedEof => "the other side closed the connection".to_string(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                "no answer in time".to_string()
            }
            // TLS 1.3 lets the client finish first: a listener that does not accept its
            // certificate says so with an alert during the first exchange inside TLS.
            _ => match e.get_ref().and_then(|i| i.downcast_ref::<PeerAlert>()) {
                Some(a) => format!(
                    "the peer ended the TLS connection with alert {:?} (it does not accept \
                     this role's certificate: another cluster's, or not this role's)",
                    a.alert
                ),
                None => e.to_string(),
            },
        };
        HandshakeError::Failed(format!("handshake failed while {what}: {e}"))
    }
}

fn flags(secret: Option<&Secret>) -> u8 {
    if secret.is_some() { FLAG_SECRET } else { 0 }
}

/// The exchange's state on one side once both SPAKE2 messages are known.
struct Transcript<'a> {
    fingerprint: &'a Fingerprint,
    pake_c: &'a [u8],
    pake_s: &'a [u8],
    from: &'a [u8],
    to: &'a [u8],
}

const SERVER: &[u8] = b"chor-v2 server";
const CLIENT: &[u8] = b"chor-v2 client";

impl Transcript<'_> {
    fn mac(&self, key: &[u8], side: &[u8]) -> Option<Hmac<Sha256>> {
        let mut m = Hmac::<Sha256>::new_from_slice(key).ok()?;
        m.update(side);
        m.update(&self.fingerprint.0);
        m.update(self.pake_c);
        m.update(self.pake_s);
        m.update(&[self.from.len() as u8]);
        m.update(self.from);
        m.update(&[self.to.len() as u8]);
        m.update(self.to);
        Some(m)
    }

    fn confirm(&self, key: &[u8], side: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        if let Some(m) = self.mac(key, side) {
            out.copy_from_slice(&m.finalize().into_bytes());
        }
        out
    }

    /// Constant-time check of a received confirmation.
    fn verify(&self, key: &[u8], side: &[u8], got: &[u8; 32]) -> bool {
        self.mac(key, side)
            .is_some_and(|m| m.verify_slice(got).is_ok())
    }
}

fn pake_start(
    secret: &Secret,
    client: bool,
    from: &[u8],
    to: &[u8],
) -> (Spake2<Ed25519Group>, Vec<u8>) {
    let pw = Password::new(secret.as_bytes());
    let (a, b) = (PakeId::new(from), PakeId::new(to));
    if client {
        Spake2::<Ed25519Group>::start_a(&pw, &a, &b)
    } else {
        Spake2::<Ed25519Group>::start_b(&pw, &a, &b)
    }
}

/// Client side: `me` dials `peer` over `stream` (a [`Timed`] socket, or TLS over one). On
/// success the stream carries frames.
pub(crate) fn client(
    stream: &mut impl ReadWrite,
    me: &Identity<'_>,
    peer: &str,
) -> Result<(), HandshakeError> {
    let pake = me
        .secret
        .map(|s| pake_start(s, true, me.role.as_bytes(), peer.as_bytes()));
    let mut hello = Vec::with_capacity(80 + me.role.len() + peer.len());
    hello.extend_from_slice(MAGIC);
    hello.push(PROTOCOL);
    hello.push(flags(me.secret));
    hello.extend_from_slice(&me.fingerprint.0);
    hello.push(me.role.len() as u8);
    hello.extend_from_slice(me.role.as_bytes());
    hello.push(peer.len() as u8);
    hello.extend_from_slice(peer.as_bytes());
    if let Some((_, msg)) = &pake {
        hello.extend_from_slice(msg);
    }
    stream
        .write_all(&hello)
        .map_err(io_fail("sending the greeting"))?;
    stream.flush().map_err(io_fail("sending the greeting"))?;

    let mut head = [0u8; 4 + 1 + 1 + 32 + 1];
    stream
        .read_exact(&mut head)
        .map_err(io_fail("reading the reply"))?;
    if &head[..4] != MAGIC || head[4] != PROTOCOL {
        return Err(HandshakeError::Failed(
            "the listener there is not a chor role of this protocol version".to_string(),
        ));
    }
    match Status::from_byte(head[38]) {
        Some(Status::Ok) => {}
        Some(s) => return Err(HandshakeError::Refused(s)),
        None => {
            return Err(HandshakeError::Failed(
                "malformed handshake reply".to_string(),
            ));
        }
    }
    if head[5] != flags(me.secret) {
        return Err(HandshakeError::Refused(Status::SecretMismatch));
    }
    if head[6..38] != me.fingerprint.0 {
        return Err(HandshakeError::Refused(Status::DifferentProgram));
    }
    let mut key_and_transcript = None;
    if let Some((state, pake_c)) = pake {
        let mut pake_s = [0u8; PAKE_LEN];
        stream
            .read_exact(&mut pake_s)
            .map_err(io_fail("reading the key exchange"))?;
        let key = state.finish(&pake_s).map_err(|_| {
            HandshakeError::Failed("the listener sent a malformed key exchange".to_string())
        })?;
        let t = Transcript {
            fingerprint: &me.fingerprint,
            pake_c: &pake_c,
            pake_s: &pake_s,
            from: me.role.as_bytes(),
            to: peer.as_bytes(),
        };
        stream
            .write_all(&t.confirm(&key, CLIENT))
            .map_err(io_fail("sending the key confirmation"))?;
        stream
            .flush()
            .map_err(io_fail("sending the key confirmation"))?;
        key_and_transcript = Some((key, pake_c, pake_s));
    }
    let mut verdict = [0u8; 1];
    stream
        .read_exact(&mut verdict)
        .map_err(io_fail("reading the verdict"))?;
    match Status::from_byte(verdict[0]) {
        Some(Status::Ok) => {}
        Some(s) => return Err(HandshakeError::Refused(s)),
        None => {
            return Err(HandshakeError::Failed(
                "malformed handshake verdict".to_string(),
            ));
        }
    }
    if let Some((key, pake_c, pake_s)) = key_and_transcript {
        let mut confirm_s = [0u8; 32];
        stream
            .read_exact(&mut confirm_s)
            .map_err(io_fail("reading the listener's key confirmation"))?;
        let t = Transcript {
            fingerprint: &me.fingerprint,
            pake_c: &pake_c,
            pake_s: &pake_s,
            from: me.role.as_bytes(),
            to: peer.as_bytes(),
        };
        if !t.verify(&key, SERVER, &confirm_s) {
            return Err(HandshakeError::Failed(
                "the listener failed to prove it holds the shared secret".to_string(),
            ));
        }
    }
    Ok(())
}

/// What the server side knows once the client has proved itself: its role, and with a
/// secret the confirmation to send with the verdict.
pub(crate) struct Accepted {
    pub role: String,
    confirm: Option<[u8; 32]>,
    /// The REPLY not sent yet (without a secret): [`send_verdict`] sends it first.
    reply: Option<Vec<u8>>,
}

/// Server side: `me` accepted a connection; `expects` says which client roles may dial it.
/// Returns the authenticated client; the caller then checks its certificate, claims the
/// role's slot and answers with [`send_verdict`] (so a slot is never held by a connection
/// that failed).
pub(crate) fn server(
    stream: &mut impl ReadWrite,
    me: &Identity<'_>,
    expects: impl Fn(&str) -> bool,
) -> Result<Accepted, HandshakeError> {
    let mut head = [0u8; 4 + 1 + 1 + 32];
    stream
        .read_exact(&mut head)
        .map_err(io_fail("reading the greeting"))?;
    if &head[..4] != MAGIC {
        return Err(HandshakeError::Failed(
            "not a chor handshake (bad magic bytes)".to_string(),
        ));
    }
    if head[4] != PROTOCOL {
        return Err(HandshakeError::Failed(format!(
            "unsupported handshake protocol version {}",
            head[4]
        )));
    }
    let from = read_name(stream)?;
    let to = read_name(stream)?;
    let mut pake_c = [0u8; PAKE_LEN];
    if head[5] & FLAG_SECRET != 0 {
        stream
            .read_exact(&mut pake_c)
            .map_err(io_fail("reading the key exchange"))?;
    }
    let status = if head[6..38] != me.fingerprint.0 {
        Status::DifferentProgram
    } else if head[5] != flags(me.secret) {
        Status::SecretMismatch
    } else if to != me.role.as_bytes() {
        Status::NotMe
    } else if !std::str::from_utf8(&from).is_ok_and(&expects) {
        Status::UnexpectedRole
    } else {
        Status::Ok
    };
    let mut reply = Vec::with_capacity(4 + 2 + 32 + 1 + PAKE_LEN);
    reply.extend_from_slice(MAGIC);
    reply.push(PROTOCOL);
    reply.push(flags(me.secret));
    reply.extend_from_slice(&me.fingerprint.0);
    reply.push(status as u8);
    let from_name = String::from_utf8_lossy(&from).into_owned();
    if status != Status::Ok {
        // Tell an honest client why (it reports it); this reveals nothing about the secret.
        let _ = stream.write_all(&reply);
        let _ = stream.flush();
        return Err(HandshakeError::Failed(format!(
            "connection claiming role {from_name}: {}",
            status.describe()
        )));
    }
    let Some(secret) = me.secret else {
        // Nothing more to learn from the client: the reply goes out with the verdict, in one
        // write, so the client reads both at once instead of being woken twice.
        return Ok(Accepted {
            role: from_name,
            confirm: None,
            reply: Some(reply),
        });
    };
    let (state, pake_s) = pake_start(secret, false, &from, &to);
    reply.extend_from_slice(&pake_s);
    stream
        .write_all(&reply)
        .map_err(io_fail("sending the reply"))?;
    stream.flush().map_err(io_fail("sending the reply"))?;
    let mut confirm_c = [0u8; 32];
    stream.read_exact(&mut confirm_c).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            HandshakeError::Failed(format!(
                "connection claiming role {from_name} closed before proving it holds the \
                 shared secret"
            ))
        } else {
            io_fail("reading the key confirmation")(e)
        }
    })?;
    let bad_proof = || {
        HandshakeError::Failed(format!(
            "connection claiming role {from_name}: {}",
            Status::BadProof.describe()
        ))
    };
    let Ok(key) = state.finish(&pake_c) else {
        let _ = send_verdict(stream, Status::BadProof, None);
        return Err(bad_proof());
    };
    let t = Transcript {
        fingerprint: &me.fingerprint,
        pake_c: &pake_c,
        pake_s: &pake_s,
        from: &from,
        to: &to,
    };
    if !t.verify(&key, CLIENT, &confirm_c) {
        let _ = send_verdict(stream, Status::BadProof, None);
        return Err(bad_proof());
    }
    Ok(Accepted {
        role: from_name,
        confirm: Some(t.confirm(&key, SERVER)),
        reply: None,
    })
}

/// The server's last word: whether the authenticated client is accepted (with the server's
/// key confirmation when accepted under a secret).
pub(crate) fn send_verdict(
    stream: &mut impl ReadWrite,
    verdict: Status,
    accepted: Option<&Accepted>,
) -> std::io::Result<()> {
    let mut out = accepted.and_then(|a| a.reply.clone()).unwrap_or_default();
    out.push(verdict as u8);
    if verdict == Status::Ok
        && let Some(c) = accepted.and_then(|a| a.confirm)
    {
        out.extend_from_slice(&c);
    }
    stream.write_all(&out)?;
    stream.flush()
}

fn read_name(stream: &mut impl ReadWrite) -> Result<Vec<u8>, HandshakeError> {
    let mut len = [0u8; 1];
    stream
        .read_exact(&mut len)
        .map_err(io_fail("reading the greeting"))?;
    let mut name = vec![0u8; usize::from(len[0])];
    stream
        .read_exact(&mut name)
        .map_err(io_fail("reading the greeting"))?;
    Ok(name)
}

/// `Read + Write`.
pub(crate) trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// A socket during the handshake: every read and write gets only the time left until the
/// handshake's deadline, so a peer that trickles bytes cannot stretch it.
pub(crate) struct Timed<'a> {
    pub stream: &'a TcpStream,
    pub deadline: Instant,
}

impl Timed<'_> {
    fn arm(&mut self) -> std::io::Result<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        // A zero timeout means "none" to the socket; the deadline check above covers it.
        let left = left.max(Duration::from_millis(1));
        self.stream.set_read_timeout(Some(left))?;
        self.stream.set_write_timeout(Some(left))
    }
}

impl Read for Timed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.arm()?;
        let mut s = self.stream;
        s.read(buf)
    }
}

impl Write for Timed<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.arm()?;
        let mut s = self.stream;
        s.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
