//! [`Session`]: one role's connections to all its peers, and the actions the projected
//! program performs on them (send, receive, close).
//!
//! A session is built either over TCP from the deployment file ([`Session::connect_tcp`])
//! or as an in-process mesh of threads and channels ([`Session::local_mesh`]); the actions
//! are the same. Every action carries a location id, an index into the table of source
//! locations the compiler provides, so that a failure names the line the role was at.

mod handshake;
mod local;
mod tcp;
mod tls;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::codec::{self, MAX_DEPTH};
use crate::config::DeployConfig;
use crate::error::{Action, ErrorKind, RtError};
use crate::types::{TyId, TypeMismatch, TypeTable};
use crate::value::{Message, Value};

pub use tcp::{FLUSH_AT, MAX_FRAME};
pub use tls::role_dns_name;

/// The hash of the checked program, computed by the compiler. Both ends of a connection must
/// present the same fingerprint: roles of different programs (or versions) never talk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

/// A peer of one session, resolved by [`Session::peer_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerId(usize);

/// One role's connections to all its peers.
pub struct Session {
    role: String,
    /// Sorted by name.
    peers: Vec<Peer>,
    locs: Arc<[String]>,
    idle_timeout: Option<Duration>,
    flusher: Option<tcp::Flusher>,
    /// The largest frame received (`max_message_bytes`); sets the decoding budget.
    max_message_bytes: usize,
}

struct Peer {
    name: String,
    link: Link,
}

enum Link {
    Local(local::LocalLink),
    Tcp(tcp::TcpLink),
}

/// A failure of one link, before the session names role, peer and location.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LinkError {
    Closed(String),
    Timeout,
    BadFrame(String),
    TooLarge(usize, usize),
    /// A TLS record failed its integrity check (here or at the peer).
    Integrity(String),
}

impl LinkError {
    fn from_io(e: &std::io::Error) -> LinkError {
        use std::io::ErrorKind as K;
        if e.kind() == K::InvalidData {
            let text = e.to_string();
            if let Some(detail) = text.strip_prefix(tls::INTEGRITY) {
                return LinkError::Integrity(detail.trim_start_matches(": ").to_string());
            }
        }
        match e.kind() {
            K::WouldBlock | K::TimedOut => LinkError::Timeout,
            _ => LinkError::Closed(e.to_string()),
        }
    }
}

/// Locks a mutex; a panic elsewhere while it was held does not make its data unusable here
/// (all the guarded state stays consistent between statements).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Session {
    /// TCP: listen on the role's own address, connect with every other role of the deployment
    /// file (retrying with backoff), and run the handshake (fingerprint, role, and with a
    /// secret configured an HMAC challenge–response), all within `connect_timeout_ms`.
    pub fn connect_tcp(
        role: &str,
        cfg: &DeployConfig,
        fp: Fingerprint,
        locs: Arc<[String]>,
    ) -> Result<Session, RtError> {
        let peers: Vec<String> = cfg.roles.keys().filter(|r| *r != role).cloned().collect();
        Self::connect_tcp_with(role, &peers, cfg, fp, locs)
    }

    /// Like [`Session::connect_tcp`], but connects only with `peers` (the roles of the
    /// program), each of which must have an address in the deployment file.
    pub fn connect_tcp_with<S: AsRef<str>>(
        role: &str,
        peers: &[S],
        cfg: &DeployConfig,
        fp: Fingerprint,
        locs: Arc<[String]>,
    ) -> Result<Session, RtError> {
        let mut names: Vec<String> = peers
            .iter()
            .map(|p| p.as_ref().to_string())
            .filter(|p| p != role)
            .collect();
        names.sort();
        names.dedup();
        let streams = tcp::establish(role, &names, cfg, fp)?;
        let idle = cfg.idle_timeout_ms.map(Duration::from_millis);
        let ctl = Arc::new(tcp::FlushCtl::default());
        let mut out = Vec::with_capacity(names.len());
        for (name, stream) in names.into_iter().zip(streams) {
            let link = tcp::TcpLink::new(stream, idle, cfg.max_message_bytes, Arc::clone(&ctl))
                .map_err(|e| {
                    RtError::new(
                        role,
                        ErrorKind::Disconnected {
                            peer: name.clone(),
                            action: Action::Send,
                            loc: "the start of the run".to_string(),
                            detail: e.to_string(),
                        },
                    )
                })?;
            out.push(Peer {
                name,
                link: Link::Tcp(link),
            });
        }
        let outboxes = out
            .iter()
            .filter_map(|p| match &p.link {
                Link::Tcp(t) => Some(Arc::clone(&t.out)),
                Link::Local(_) => None,
            })
            .collect();
        // Without the flusher, sends still go out when the role next blocks; so a failure to
        // start it costs latency only, not correctness.
        // Heartbeats at a third of the idle timeout: two may be lost or late before a live
        // peer is taken for a dead one.
        let heartbeat = idle.map(|d| d / 3);
        let flusher = tcp::Flusher::spawn(ctl, outboxes, heartbeat).ok();
        Ok(Session {
            role: role.to_string(),
            peers: out,
            locs,
            idle_timeout: idle,
            flusher,
            max_message_bytes: cfg.max_message_bytes,
        })
    }

    /// An in-process mesh of sessions over channels, one per role, in the order of `roles`
    /// (whose names should be distinct).
    pub fn local_mesh(roles: &[String], locs: Arc<[String]>) -> Vec<Session> {
        let links = local::mesh(roles.len());
        links
            .into_iter()
            .enumerate()
            .map(|(me, links)| {
                let others = roles
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != me)
                    .map(|(_, r)| r.clone());
                let mut peers: Vec<Peer> = others
                    .zip(links)
                    .map(|(name, l)| Peer {
                        name,
                        link: Link::Local(l),
                    })
                    .collect();
                peers.sort_by(|a, b| a.name.cmp(&b.name));
                Session {
                    role: roles[me].clone(),
                    peers,
                    locs: Arc::clone(&locs),
                    idle_timeout: None,
                    flusher: None,
                    max_message_bytes: crate::config::DEFAULT_MAX_MESSAGE_BYTES,
                }
            })
            .collect()
    }

    /// The memory a received frame of `frame` bytes may take once decoded (see
    /// [`codec::Budget`]).
    pub fn decode_budget(&self, frame: usize) -> codec::Budget {
        codec::Budget::for_frame(frame, self.max_message_bytes)
    }

    /// The role this session acts for.
    pub fn role(&self) -> &str {
        &self.role
    }

    /// Resolves a peer's name once, for callers that act on it many times
    /// ([`Session::send_to`], [`Session::recv_from`]). Valid for this session only.
    pub fn peer_id(&self, name: &str) -> Option<PeerId> {
        self.find(name).map(PeerId)
    }

    /// The peers' names, sorted.
    pub fn peers(&self) -> impl Iterator<Item = &str> {
        self.peers.iter().map(|p| p.name.as_str())
    }

    /// Changes how long a receive may wait (`None`: indefinitely).
    pub fn set_idle_timeout(&mut self, idle: Option<Duration>) {
        self.idle_timeout = idle;
        for p in &self.peers {
            if let Link::Tcp(t) = &p.link {
                let _ = t.set_idle_timeout(idle);
            }
        }
    }

    /// The source location of location id `loc` ("bookseller.chor:12").
    pub fn location(&self, loc: u32) -> String {
        match self.locs.get(loc as usize) {
            Some(l) => l.clone(),
            None => format!("location #{loc}"),
        }
    }

    /// Sends `msg` to `peer`. Asynchronous: returns without waiting for the receive.
    pub fn send(&self, peer: &str, msg: Message, loc: u32) -> Result<(), RtError> {
        let p = self.peer(peer, Action::Send, loc)?;
        self.send_via(p, msg, loc)
    }

    /// Like [`Session::send`], with the peer resolved once by [`Session::peer_id`].
    pub fn send_to(&self, peer: PeerId, msg: Message, loc: u32) -> Result<(), RtError> {
        let p = self.peer_by_id(peer, Action::Send, loc)?;
        self.send_via(p, msg, loc)
    }

    fn send_via(&self, p: &Peer, msg: Message, loc: u32) -> Result<(), RtError> {
        if let Message::Value(v) = &msg
            && codec::too_deep(v, MAX_DEPTH)
        {
            return Err(self.fault(loc, too_deep_message(&p.name)));
        }
        let r = match &p.link {
            Link::Local(l) => l.send(msg),
            Link::Tcp(t) => t.send(&msg, loc),
        };
        r.map_err(|e| self.link_error(&p.name, Action::Send, loc, e))
    }

    /// Sends an already encoded message (see [`crate::codec`]); used by the C ABI.
    pub fn send_encoded(&self, peer: &str, bytes: &[u8], loc: u32) -> Result<(), RtError> {
        let p = self.peer(peer, Action::Send, loc)?;
        let r = match &p.link {
            Link::Local(l) => match crate::codec::decode(bytes) {
                Ok(m) => l.send(m),
                Err(e) => {
                    return Err(self.fault(loc, format!("cannot send a malformed message: {e}")));
                }
            },
            Link::Tcp(t) => t.send_encoded(bytes, loc),
        };
        r.map_err(|e| self.link_error(peer, Action::Send, loc, e))
    }

    /// Waits for the next message from `peer`.
    pub fn recv(&self, peer: &str, loc: u32) -> Result<Message, RtError> {
        let p = self.peer(peer, Action::Recv, loc)?;
        self.recv_via(p, loc)
    }

    /// Like [`Session::recv`], with the peer resolved once by [`Session::peer_id`].
    pub fn recv_from(&self, peer: PeerId, loc: u32) -> Result<Message, RtError> {
        let p = self.peer_by_id(peer, Action::Recv, loc)?;
        self.recv_via(p, loc)
    }

    fn recv_via(&self, p: &Peer, loc: u32) -> Result<Message, RtError> {
        let r = match &p.link {
            Link::Local(l) => l.recv(self.idle_timeout),
            Link::Tcp(t) => {
                self.flush_all()?;
                t.recv()
            }
        };
        r.map_err(|e| self.link_error(&p.name, Action::Recv, loc, e))
    }

    /// Waits for the next message from `peer` into `out`, encoded and checked to be well
    /// formed; used by the C ABI.
    pub fn recv_encoded(&self, peer: &str, loc: u32, out: &mut Vec<u8>) -> Result<(), RtError> {
        self.recv_bytes(peer, loc, out, true)
    }

    /// Like [`Session::recv_encoded`], without checking that the frame is well formed: for
    /// callers that decode it with a checking decoder anyway (the native typed receive), so
    /// a large frame is read once, not twice.
    pub fn recv_frame(&self, peer: &str, loc: u32, out: &mut Vec<u8>) -> Result<(), RtError> {
        self.recv_bytes(peer, loc, out, false)
    }

    /// The next message from `peer` as bytes in `out`; a frame off the network is checked to
    /// be well formed when `checked` (a local message is encoded here, so always is).
    fn recv_bytes(
        &self,
        peer: &str,
        loc: u32,
        out: &mut Vec<u8>,
        checked: bool,
    ) -> Result<(), RtError> {
        let p = self.peer(peer, Action::Recv, loc)?;
        let r = match &p.link {
            Link::Local(l) => l.recv(self.idle_timeout).map(|m| {
                out.clear();
                crate::codec::encode_into(&m, out);
            }),
            Link::Tcp(t) => {
                self.flush_all()?;
                if checked {
                    t.recv_encoded(out)
                } else {
                    t.recv_frame(out)
                }
            }
        };
        r.map_err(|e| self.link_error(peer, Action::Recv, loc, e))
    }

    /// Waits for a value from `peer`; a selection label there is an error.
    pub fn recv_value(&self, peer: &str, loc: u32) -> Result<Value, RtError> {
        match self.recv(peer, loc)? {
            Message::Value(v) => Ok(v),
            m @ Message::Label(_) => Err(self.unexpected(peer, loc, "a value", &m)),
        }
    }

    /// Waits for a value from `peer` and checks that it is of type `ty` in `types` (an index
    /// past the table accepts any value); a selection label or a value of another type is an
    /// error naming the peer, both types and the receive's location.
    pub fn recv_typed(
        &self,
        peer: &str,
        types: &TypeTable,
        ty: TyId,
        loc: u32,
    ) -> Result<Value, RtError> {
        let v = self.recv_value(peer, loc)?;
        if (ty as usize) < types.nodes.len()
            && let Err(m) = types.check(ty, &v)
        {
            return Err(self.wrong_type(peer, loc, m));
        }
        Ok(v)
    }

    /// Waits for a value of type `ty` in `types` from `peer` and decodes it straight into
    /// `b`'s values ([`crate::decode`]), within the budget of its frame; `out` holds the
    /// frame meanwhile. A selection label, malformed bytes or a value of another type is an
    /// error naming the peer and the receive's location (and both types).
    pub fn recv_built<B: crate::decode::Builder>(
        &self,
        peer: &str,
        types: &TypeTable,
        ty: TyId,
        loc: u32,
        out: &mut Vec<u8>,
        b: &mut B,
    ) -> Result<B::Value, RtError> {
        // Not validated first: the typed decoder checks every byte it reads.
        self.recv_frame(peer, loc, out)?;
        let budget = self.decode_budget(out.len());
        crate::decode::decode_typed_with(out, types, ty, b, budget)
            .map_err(|e| self.recv_error(peer, loc, e))
    }

    /// The error for a frame from `peer` at `loc` that the typed decoder refused.
    pub fn recv_error(&self, peer: &str, loc: u32, e: crate::decode::RecvError) -> RtError {
        use crate::decode::RecvError;
        match e {
            RecvError::Codec(e) => self.bad_message(peer, loc, e.to_string()),
            RecvError::Label(l) => self.unexpected(peer, loc, "a value", &Message::Label(l)),
            RecvError::Type(m) => self.wrong_type(peer, loc, m),
        }
    }

    /// The error for a value of the wrong type from `peer` at `loc`.
    pub(crate) fn wrong_type(&self, peer: &str, loc: u32, mismatch: TypeMismatch) -> RtError {
        RtError::new(
            &self.role,
            ErrorKind::WrongType {
                peer: peer.to_string(),
                loc: self.location(loc),
                mismatch,
            },
        )
    }

    /// The error for a malformed message from `peer` at `loc`.
    pub(crate) fn bad_message(&self, peer: &str, loc: u32, reason: String) -> RtError {
        self.link_error(peer, Action::Recv, loc, LinkError::BadFrame(reason))
    }

    /// Waits for a selection from `peer` and checks it is one of `labels`.
    pub fn recv_label(&self, peer: &str, labels: &[&str], loc: u32) -> Result<String, RtError> {
        let m = self.recv(peer, loc)?;
        if let Message::Label(l) = &m
            && labels.contains(&l.as_str())
        {
            return Ok(l.clone());
        }
        let expected = match labels {
            [one] => format!("label {one}"),
            _ => format!("one of the labels {}", labels.join(", ")),
        };
        Err(self.unexpected(peer, loc, &expected, &m))
    }

    /// An error for a fault in the role's own code at `loc` (division by zero, …).
    pub fn fault(&self, loc: u32, message: impl Into<String>) -> RtError {
        RtError::new(
            &self.role,
            ErrorKind::Fault {
                loc: self.location(loc),
                message: message.into(),
            },
        )
    }

    /// Writes out everything sent, then closes every connection cleanly (peers read what was
    /// sent, then end of stream). With an idle timeout (and so heartbeats), it returns once
    /// every peer has closed its side too, or after the timeout.
    pub fn close(mut self) -> Result<(), RtError> {
        let flushed = self.flush_all_for(Action::Close);
        for p in &self.peers {
            if let Link::Tcp(t) = &p.link {
                t.shutdown_write();
            }
        }
        if let Some(f) = self.flusher.take() {
            f.stop(true);
        }
        // With heartbeats, peers still running keep sending: wait until each has closed, for
        // one idle timeout at most (a peer that runs on has had that long to read our last
        // message), or for as long as a live peer has not yet taken all we sent.
        if let Some(idle) = self.idle_timeout {
            let until = std::time::Instant::now() + idle;
            for p in &self.peers {
                if let Link::Tcp(t) = &p.link {
                    t.linger(until, idle);
                }
            }
        }
        // Drop the links now without the abortive shutdown of `Drop`.
        self.peers.clear();
        flushed
    }

    fn flush_all(&self) -> Result<(), RtError> {
        self.flush_all_for(Action::Send)
    }

    /// Writes out every connection's buffer, in the order the role first sent on each since
    /// it last blocked: the peer sent to first is woken first. Written in the order of the
    /// peers' names instead, a client that sends a selection to both servers of a replicated
    /// store and then the request to the primary wakes the backup first, which finds only
    /// the selection and blocks again (one more context switch per request when the
    /// processes share a CPU).
    fn flush_all_for(&self, action: Action) -> Result<(), RtError> {
        let flush = |p: &Peer, t: &tcp::TcpLink| {
            t.out
                .flush()
                .map_err(|(e, loc)| self.link_error(&p.name, action, loc, e))
        };
        fn dirty(p: &Peer) -> Option<(u64, &tcp::TcpLink)> {
            match &p.link {
                Link::Tcp(t) => t.out.dirty_since().map(|since| (since, t)),
                Link::Local(_) => None,
            }
        }
        if self.peers.len() <= 16 {
            // Few peers: pick the oldest dirty buffer each time, without allocating.
            for _ in 0..self.peers.len() {
                let sinces = self.peers.iter().map(|p| dirty(p).map(|(since, _)| since));
                let Some(i) = oldest(sinces) else { break };
                if let Link::Tcp(t) = &self.peers[i].link {
                    flush(&self.peers[i], t)?;
                }
            }
            return Ok(());
        }
        let mut order: Vec<(u64, &Peer, &tcp::TcpLink)> = self
            .peers
            .iter()
            .filter_map(|p| dirty(p).map(|(since, t)| (since, p, t)))
            .collect();
        order.sort_by_key(|(since, _, _)| *since);
        for (_, p, t) in order {
            flush(p, t)?;
        }
        Ok(())
    }

    fn find(&self, name: &str) -> Option<usize> {
        // Programs have few roles: a scan comparing lengths first beats a binary search.
        if self.peers.len() <= 16 {
            self.peers.iter().position(|p| p.name == name)
        } else {
            self.peers
                .binary_search_by(|p| p.name.as_str().cmp(name))
                .ok()
        }
    }

    fn peer(&self, name: &str, action: Action, loc: u32) -> Result<&Peer, RtError> {
        match self.find(name) {
            Some(i) => Ok(&self.peers[i]),
            None => Err(self.unknown_peer(name.to_string(), action, loc)),
        }
    }

    fn peer_by_id(&self, id: PeerId, action: Action, loc: u32) -> Result<&Peer, RtError> {
        self.peers
            .get(id.0)
            .ok_or_else(|| self.unknown_peer(format!("peer #{}", id.0), action, loc))
    }

    fn unknown_peer(&self, peer: String, action: Action, loc: u32) -> RtError {
        RtError::new(
            &self.role,
            ErrorKind::UnknownPeer {
                peer,
                action,
                loc: self.location(loc),
            },
        )
    }

    pub(crate) fn unexpected(
        &self,
        peer: &str,
        loc: u32,
        expected: &str,
        got: &Message,
    ) -> RtError {
        RtError::new(
            &self.role,
            ErrorKind::Unexpected {
                peer: peer.to_string(),
                loc: self.location(loc),
                expected: expected.to_string(),
                got: got.describe(),
            },
        )
    }

    fn link_error(&self, peer: &str, action: Action, loc: u32, e: LinkError) -> RtError {
        let peer = peer.to_string();
        let loc = self.location(loc);
        let kind = match e {
            LinkError::Closed(detail) => ErrorKind::Disconnected {
                peer,
                action,
                loc,
                detail,
            },
            LinkError::Timeout => ErrorKind::Timeout {
                peer,
                action,
                loc,
                after_ms: self
                    .idle_timeout
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            },
            LinkError::BadFrame(reason) => ErrorKind::BadFrame {
                peer,
                action,
                loc,
                reason,
            },
            LinkError::Integrity(detail) => ErrorKind::Integrity {
                peer,
                action,
                loc,
                detail,
            },
            LinkError::TooLarge(n, max) => ErrorKind::Fault {
                loc,
                message: format!(
                    "cannot send a message of {n} bytes to peer {peer} (the limit is {max} \
                     bytes, max_message_bytes in the deployment file)"
                ),
            },
        };
        RtError::new(&self.role, kind)
    }
}

/// The position of the smallest of `sinces` that is there: the buffer that has waited
/// longest (see [`Session::flush_all_for`]).
fn oldest(sinces: impl Iterator<Item = Option<u64>>) -> Option<usize> {
    sinces
        .enumerate()
        .filter_map(|(i, s)| s.map(|s| (s, i)))
        .min()
        .map(|(_, i)| i)
}

/// Why a value deeper than the codec's limit is not sent (the receiver would refuse it).
pub fn too_deep_message(peer: &str) -> String {
    format!(
        "cannot send a value nested deeper than {MAX_DEPTH} levels to peer {peer} (the limit \
         of a message)"
    )
}

impl Drop for Session {
    /// A session dropped without [`Session::close`] ends like a crashed process: connections
    /// are shut down at once (unsent buffered messages are lost) and peers waiting on this
    /// role get a disconnect error.
    fn drop(&mut self) {
        for p in &self.peers {
            if let Link::Tcp(t) = &p.link {
                t.abort();
            }
        }
        if let Some(f) = self.flusher.take() {
            f.stop(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::oldest;

    #[test]
    fn buffers_are_written_out_in_the_order_they_were_first_sent_to() {
        assert_eq!(oldest([None, None].into_iter()), None);
        assert_eq!(
            oldest([Some(7), None, Some(3), Some(5)].into_iter()),
            Some(2)
        );
        assert_eq!(oldest([None, Some(9)].into_iter()), Some(1));
        // Writing out each in turn empties the buffers oldest first.
        let mut sinces = [Some(4), Some(2), None, Some(3)];
        let mut written = Vec::new();
        while let Some(i) = oldest(sinces.iter().copied()) {
            written.push(i);
            sinces[i] = None;
        }
        assert_eq!(written, vec![1, 3, 0]);
    }
}
