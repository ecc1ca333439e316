//! The connection handshake: both ends state the program and their roles, and, with a
//! shared secret configured, prove they hold it before any message is accepted.
//!
//! ```text
//! client -> server  HELLO  "CHOR" version flags fingerprint[32] nonce_c[32] len from len to
//! server -> client  REPLY  "CHOR" version flags fingerprint[32] nonce_s[32] status [proof_s[32]]
//! client -> server  PROOF  proof_c[32]
//! server -> client  VERDICT status
//! ```
//! `flags` bit 0 says whether the side has a secret; both must agree. With a secret,
//! `proof_x = HMAC-SHA256(secret, "chor-v1 server"|"chor-v1 client" ‖ fingerprint ‖ nonce_c ‖
//! nonce_s ‖ from ‖ to)`: fresh nonces from both sides defeat replay, and the distinct
//! prefixes stop a proof being reflected back in the other direction. The server checks the
//! client's proof before it accepts, and the client checks the server's before it sends its
//! own, so neither end trusts an unauthenticated byte. Without a secret the proofs are zero
//! (and the deployment file has been checked to be loopback only).
//!
//! Every field has a fixed or one-byte-bounded size, and the whole handshake has one deadline
//! (every read and write is given only the time left), so garbage, a silent peer or one that
//! trickles a byte at a time costs one short-lived thread and nothing else.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::config::Secret;
use crate::session::Fingerprint;

const MAGIC: &[u8; 4] = b"CHOR";
/// Version of the handshake and framing protocol (independent of the codec's version).
const PROTOCOL: u8 = 1;
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
            Status::BadProof => "it does not hold the shared secret",
            Status::Duplicate => "this role is already connected",
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
            _ => e.to_string(),
        };
        HandshakeError::Failed(format!("handshake failed while {what}: {e}"))
    }
}

fn flags(secret: Option<&Secret>) -> u8 {
    if secret.is_some() { FLAG_SECRET } else { 0 }
}

fn nonce() -> Result<[u8; 32], HandshakeError> {
    let mut n = [0u8; 32];
    getrandom::fill(&mut n)
        .map_err(|e| HandshakeError::Failed(format!("no randomness for the handshake: {e}")))?;
    Ok(n)
}

struct Transcript<'a> {
    fingerprint: &'a Fingerprint,
    nonce_c: &'a [u8; 32],
    nonce_s: &'a [u8; 32],
    from: &'a [u8],
    to: &'a [u8],
}

impl Transcript<'_> {
    fn mac(&self, secret: Option<&Secret>, side: &[u8]) -> Option<Hmac<Sha256>> {
        let secret = secret?;
        let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
        m.update(side);
        m.update(&self.fingerprint.0);
        m.update(self.nonce_c);
        m.update(self.nonce_s);
        m.update(&[self.from.len() as u8]);
        m.update(self.from);
        m.update(&[self.to.len() as u8]);
        m.update(self.to);
        Some(m)
    }

    fn proof(&self, secret: Option<&Secret>, side: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        if let Some(m) = self.mac(secret, side) {
            out.copy_from_slice(&m.finalize().into_bytes());
        }
        out
    }

    /// Constant-time check of a received proof.
    fn verify(&self, secret: Option<&Secret>, side: &[u8], proof: &[u8; 32]) -> bool {
        match self.mac(secret, side) {
            Some(m) => m.verify_slice(proof).is_ok(),
            None => secret.is_none(),
        }
    }
}

const SERVER: &[u8] = b"chor-v1 server";
const CLIENT: &[u8] = b"chor-v1 client";

/// Client side: `me` dials `peer`. On success the stream carries frames.
pub(crate) fn client(
    stream: &mut TcpStream,
    me: &Identity<'_>,
    peer: &str,
    deadline: Instant,
) -> Result<(), HandshakeError> {
    let mut stream = Timed { stream, deadline };
    let nonce_c = nonce()?;
    let mut hello = Vec::with_capacity(80 + me.role.len() + peer.len());
    hello.extend_from_slice(MAGIC);
    hello.push(PROTOCOL);
    hello.push(flags(me.secret));
    hello.extend_from_slice(&me.fingerprint.0);
    hello.extend_from_slice(&nonce_c);
    hello.push(me.role.len() as u8);
    hello.extend_from_slice(me.role.as_bytes());
    hello.push(peer.len() as u8);
    hello.extend_from_slice(peer.as_bytes());
    stream
        .write_all(&hello)
        .map_err(io_fail("sending the greeting"))?;

    let mut head = [0u8; 4 + 1 + 1 + 32 + 32 + 1];
    stream
        .read_exact(&mut head)
        .map_err(io_fail("reading the reply"))?;
    if &head[..4] != MAGIC || head[4] != PROTOCOL {
        return Err(HandshakeError::Failed(
            "the listener there is not a chor role of this protocol version".to_string(),
        ));
    }
    match Status::from_byte(head[70]) {
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
    let mut nonce_s = [0u8; 32];
    nonce_s.copy_from_slice(&head[38..70]);
    let mut proof_s = [0u8; 32];
    stream
        .read_exact(&mut proof_s)
        .map_err(io_fail("reading the peer's proof"))?;
    let t = Transcript {
        fingerprint: &me.fingerprint,
        nonce_c: &nonce_c,
        nonce_s: &nonce_s,
        from: me.role.as_bytes(),
        to: peer.as_bytes(),
    };
    if !t.verify(me.secret, SERVER, &proof_s) {
        return Err(HandshakeError::Failed(
            "the listener failed to prove it holds the shared secret".to_string(),
        ));
    }
    stream
        .write_all(&t.proof(me.secret, CLIENT))
        .map_err(io_fail("sending the proof"))?;
    let mut verdict = [0u8; 1];
    stream
        .read_exact(&mut verdict)
        .map_err(io_fail("reading the verdict"))?;
    match Status::from_byte(verdict[0]) {
        Some(Status::Ok) => Ok(()),
        Some(s) => Err(HandshakeError::Refused(s)),
        None => Err(HandshakeError::Failed(
            "malformed handshake verdict".to_string(),
        )),
    }
}

/// Server side: `me` accepted a connection; `expects` says which client roles may dial it.
/// Returns the authenticated client's role; the caller then claims the role's slot and
/// answers with [`send_verdict`] (so a slot is never held by a connection that failed).
pub(crate) fn server(
    stream: &mut TcpStream,
    me: &Identity<'_>,
    deadline: Instant,
    expects: impl Fn(&str) -> bool,
) -> Result<String, HandshakeError> {
    let mut stream = Timed { stream, deadline };
    let mut head = [0u8; 4 + 1 + 1 + 32 + 32];
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
    let from = read_name(&mut stream)?;
    let to = read_name(&mut stream)?;
    let mut nonce_c = [0u8; 32];
    nonce_c.copy_from_slice(&head[38..70]);
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
    let nonce_s = nonce()?;
    let mut reply = Vec::with_capacity(4 + 2 + 32 + 32 + 1 + 32);
    reply.extend_from_slice(MAGIC);
    reply.push(PROTOCOL);
    reply.push(flags(me.secret));
    reply.extend_from_slice(&me.fingerprint.0);
    reply.extend_from_slice(&nonce_s);
    reply.push(status as u8);
    let from_name = String::from_utf8_lossy(&from).into_owned();
    if status != Status::Ok {
        // Tell an honest client why (it reports it); this reveals nothing about the secret.
        let _ = stream.write_all(&reply);
        return Err(HandshakeError::Failed(format!(
            "connection claiming role {from_name}: {}",
            status.describe()
        )));
    }
    let t = Transcript {
        fingerprint: &me.fingerprint,
        nonce_c: &nonce_c,
        nonce_s: &nonce_s,
        from: &from,
        to: &to,
    };
    reply.extend_from_slice(&t.proof(me.secret, SERVER));
    stream
        .write_all(&reply)
        .map_err(io_fail("sending the reply"))?;
    let mut proof_c = [0u8; 32];
    stream.read_exact(&mut proof_c).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof && me.secret.is_some() {
            // An honest client hangs up here when our proof fails its check.
            HandshakeError::Failed(format!(
                "connection claiming role {from_name} closed before proving it holds the \
                 shared secret (it may have a different secret)"
            ))
        } else {
            io_fail("reading the proof")(e)
        }
    })?;
    if !t.verify(me.secret, CLIENT, &proof_c) {
        let _ = send_verdict(stream.stream, Status::BadProof);
        return Err(HandshakeError::Failed(format!(
            "connection claiming role {from_name}: {}",
            Status::BadProof.describe()
        )));
    }
    Ok(from_name)
}

/// The server's last word: whether the authenticated client is accepted.
pub(crate) fn send_verdict(stream: &mut TcpStream, verdict: Status) -> std::io::Result<()> {
    stream.write_all(&[verdict as u8])
}

fn read_name(stream: &mut Timed<'_>) -> Result<Vec<u8>, HandshakeError> {
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

/// A stream during the handshake: every read and write gets only the time left until the
/// handshake's deadline, so a peer that trickles bytes cannot stretch it.
struct Timed<'a> {
    stream: &'a mut TcpStream,
    deadline: Instant,
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
        self.stream.read(buf)
    }
}

impl Write for Timed<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.arm()?;
        self.stream.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.flush()
    }
}
