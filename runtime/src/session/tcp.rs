//! The TCP transport: establishing one authenticated connection per pair of roles, and
//! moving length-prefixed frames over it.
//!
//! **Establishing.** For each pair the role whose name sorts first dials and the other
//! accepts, so every pair gets exactly one connection whatever order the roles start in
//! (`chor run` starts them in the reverse order of their names, listeners first).
//! Dialling retries every 0.2 ms for the first 25 ms (roles started together find each
//! other within a fraction of a millisecond), then with exponential backoff until
//! `connect_timeout_ms`. The listener is waited on in `poll`, together with the events of
//! the dialling and handshake threads, so a connection is accepted as soon as it arrives;
//! every accepted
//! connection runs its handshake on its own short-lived thread, so a port scanner, a peer
//! with the wrong secret or a different program is refused and logged without holding up
//! the real peer, which can still connect afterwards.
//!
//! **Frames.** `u32` little-endian length, then one encoded message (see [`crate::codec`]).
//! A frame of length 0 is a heartbeat: with an idle timeout configured, each side sends one
//! on every connection it has written nothing to for a third of the timeout (from the
//! flusher thread, so a role busy computing or waiting for input still shows it is alive).
//! A receive then fails only when the peer has been silent for the whole timeout: stopped,
//! crashed without closing, or cut off by the network.
//!
//! **Writes.** A send encodes the frame into the connection's outgoing buffer and returns:
//! it never waits for the receiver. The buffer is written out
//! - by the role itself as soon as it is about to block (before every receive and at close),
//!   so a request–reply exchange costs exactly one `write` per message, as raw TCP does;
//! - immediately once it holds [`FLUSH_AT`] bytes, so a long stream of sends goes out in
//!   large batches (one system call per few thousand small messages);
//! - by the session's flusher thread within about a millisecond otherwise, so a role that
//!   sends and then computes for a long time does not delay its peer (the flusher ticks only
//!   while the role is sending: it sleeps until the first send, and after 100 ms without a
//!   send until the next one).
//!
//! **Reads** happen on the receiving role's own thread straight from a buffered socket; the
//! kernel's socket buffers hold what a peer sent ahead. Without a thread hop on either side a
//! round trip costs what it costs over raw TCP.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use super::handshake::{self, HandshakeError, Identity, Status, Timed};
use super::tls::{Channel, Tls, TlsReader, TlsWriter};
use super::{LinkError, lock};
use crate::codec::{self, CodecError};
use crate::config::{DeployConfig, Endpoint};
use crate::error::{ErrorKind, RtError};
use crate::session::Fingerprint;
use crate::value::Message;

/// The largest frame accepted (and sent) unless `max_message_bytes` says otherwise: 64 MiB.
pub const MAX_FRAME: usize = crate::config::DEFAULT_MAX_MESSAGE_BYTES;

/// Outgoing bytes buffered before a send writes them out itself.
pub const FLUSH_AT: usize = 64 << 10;

/// How often the flusher thread writes out what sends left in the buffers.
const FLUSH_TICK: Duration = Duration::from_millis(1);

/// The longest the flusher's tick grows to while the role writes out its own sends (it
/// blocks right after sending, as a request–reply exchange does): each tick that finds
/// nothing to write doubles the next one up to this, and a tick that does write brings it
/// back to [`FLUSH_TICK`]. A ticking flusher on a CPU shared by the roles costs two context
/// switches per tick (about 8 % of those of a replicated store's requests at 1 ms), for
/// nothing when every send is followed by a receive.
const MAX_FLUSH_TICK: Duration = Duration::from_millis(4);

/// How long without any send after which the flusher parks until the next send.
const IDLE_AFTER: Duration = Duration::from_millis(100);

/// How long after set-up starts the peers are most likely starting too (`chor run` starts
/// every role at once): during this phase a refused dial is retried after [`QUICK_RETRY`],
/// so the connection is made within a fraction of a millisecond of the peer's listener
/// opening. Afterwards, dials back off exponentially (5 ms doubling to 200 ms). (The
/// listener needs no such phase: the establishing thread waits on it in `poll`.)
const QUICK_PHASE: Duration = Duration::from_millis(25);

/// The wait between attempts during [`QUICK_PHASE`]: a refused connection on loopback costs a
/// few microseconds, so this is cheap.
const QUICK_RETRY: Duration = Duration::from_micros(200);

/// More handshakes in flight than this and the oldest is dropped for the newcomer.
const MAX_PENDING_HANDSHAKES: usize = 128;

/// More handshakes in flight from one address than this and the oldest from that address is
/// dropped for the newcomer: junk or deliberately slow connections from one source cannot
/// crowd out the others, and a real peer (which completes its handshake in a round trip or
/// two, and dials again if it was dropped) always gets through.
const MAX_PENDING_PER_ADDRESS: usize = 32;

/// The handshakes in flight on one listener, oldest first.
#[derive(Default)]
struct Pending {
    next: u64,
    conns: std::collections::VecDeque<(u64, IpAddr, TcpStream)>,
}

impl Pending {
    /// Registers a connection; drops the oldest one over a limit. Returns its ticket.
    fn admit(&mut self, from: IpAddr, stream: &TcpStream) -> Option<u64> {
        let same = self.conns.iter().filter(|(_, ip, _)| *ip == from).count();
        let victim = if same >= MAX_PENDING_PER_ADDRESS {
            self.conns.iter().position(|(_, ip, _)| *ip == from)
        } else if self.conns.len() >= MAX_PENDING_HANDSHAKES {
            Some(0)
        } else {
            None
        };
        if let Some(i) = victim
            && let Some((_, _, s)) = self.conns.remove(i)
        {
            // Its handshake thread fails at its next read or write and ends.
            let _ = s.shutdown(Shutdown::Both);
        }
        let copy = stream.try_clone().ok()?;
        let ticket = self.next;
        self.next += 1;
        self.conns.push_back((ticket, from, copy));
        Some(ticket)
    }

    fn done(&mut self, ticket: u64) {
        self.conns.retain(|(t, _, _)| *t != ticket);
    }
}

// ---------------------------------------------------------------------------------------
// Establishing connections

/// The log of refused connections while a role sets up: the first refusal of each kind from
/// an address is printed, repeats (a peer with the wrong secret retries until its own
/// timeout) are counted and summed up once set-up ends, so the log does not flood.
struct RefusalLog {
    me: String,
    seen: BTreeMap<(IpAddr, String), u32>,
    summed_up: bool,
}

impl RefusalLog {
    fn new(me: &str) -> Arc<Mutex<RefusalLog>> {
        Arc::new(Mutex::new(RefusalLog {
            me: me.to_string(),
            seen: BTreeMap::new(),
            summed_up: false,
        }))
    }

    fn refused(&mut self, from: SocketAddr, reason: &str) {
        let n = self
            .seen
            .entry((from.ip(), reason.to_string()))
            .or_insert(0);
        *n += 1;
        if *n == 1 || self.summed_up {
            eprintln!(
                "chor: role {} refused a connection from {from}: {reason}",
                self.me
            );
        }
    }

    /// Prints how many repeats were left out; later refusals are printed as they come.
    fn sum_up(&mut self) {
        if self.summed_up {
            return;
        }
        self.summed_up = true;
        for ((ip, reason), n) in &self.seen {
            if *n > 1 {
                let more = n - 1;
                let s = if more == 1 { "" } else { "s" };
                eprintln!(
                    "chor: role {} refused {more} more connection{s} from {ip}: {reason}",
                    self.me
                );
            }
        }
    }
}

/// One authenticated connection: the socket, and the TLS state when TLS is on.
pub(crate) struct Established {
    stream: TcpStream,
    tls: Option<Channel>,
}

/// Connects `me` with every role in `peers` (sorted, without `me`). Returns the connections
/// in the order of `peers`.
pub(crate) fn establish(
    me: &str,
    peers: &[String],
    cfg: &DeployConfig,
    fp: Fingerprint,
) -> Result<Vec<Established>, RtError> {
    let cfg_err = |e| RtError::new(me, ErrorKind::Config(e));
    cfg.require_roles(peers).map_err(cfg_err)?;
    let tls: Option<Arc<Tls>> = Tls::load(cfg, me).map_err(cfg_err)?.map(Arc::new);
    let timeout_ms = cfg.connect_timeout_ms;
    let started = Instant::now();
    let deadline = started + Duration::from_millis(timeout_ms);

    let to_dial: Vec<&String> = peers.iter().filter(|p| p.as_str() > me).collect();
    let to_accept: BTreeSet<String> = peers.iter().filter(|p| p.as_str() < me).cloned().collect();

    enum Event {
        Dialled(String, Result<Established, String>),
        Accepted(String, Established),
        Refused(String),
    }
    let (tx, rx) = mpsc::channel::<Event>();
    // With a listener, this thread waits in `poll` on it and on `wake`, to which every event
    // sent on `tx` adds a byte: a connection is accepted the moment it arrives, and the
    // thread sleeps otherwise (looking at the listener every 0.2 ms cost a wake-up each
    // time, taken from the roles that were starting on the same CPUs).
    let wake = if to_accept.is_empty() {
        None
    } else {
        UnixStream::pair()
            .and_then(|(r, w)| {
                r.set_nonblocking(true)?;
                w.set_nonblocking(true)?;
                Ok((r, Arc::new(w)))
            })
            .ok()
    };
    let notify = Notify {
        tx,
        wake: wake.as_ref().map(|(_, w)| Arc::clone(w)),
    };

    let hs_timeout = Duration::from_millis(cfg.handshake_timeout_ms);
    // The socket `chor run` bound for this role, if it started it (see
    // `startup::spawn_with_listener`); dropped at once when no peer dials this role.
    let listen = cfg.listen_of(me);
    let inherited = listen
        .as_ref()
        .ok()
        .and_then(|a| crate::startup::inherited_listener(*a));
    let listener = if to_accept.is_empty() {
        None
    } else {
        let my_addr = listen.map_err(cfg_err)?;
        let l = inherited
            .map_or_else(|| TcpListener::bind(my_addr), Ok)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| {
                RtError::new(
                    me,
                    ErrorKind::Listen {
                        addr: my_addr.to_string(),
                        reason: if e.kind() == io::ErrorKind::AddrInUse {
                            format!("{e} (is this role already running?)")
                        } else {
                            e.to_string()
                        },
                    },
                )
            })?;
        Some(l)
    };

    // A role that only dials, and only one peer, dials on this thread: nothing else needs
    // doing meanwhile, and a thread fewer to start.
    let inline = listener.is_none() && to_dial.len() == 1;
    for peer in &to_dial {
        let peer = (*peer).clone();
        let endpoint = cfg.endpoint(&peer).map_err(cfg_err)?.clone();
        let addr = endpoint.address.clone();
        let notify = notify.clone();
        let me_owned = me.to_string();
        let secret = cfg.secret.clone();
        let peer_name = peer.clone();
        let tls = tls.clone();
        let job = move || {
            let id = Identity {
                fingerprint: fp,
                role: &me_owned,
                secret: secret.as_ref(),
            };
            let r = dial(&id, tls.as_deref(), &peer, &endpoint, deadline, hs_timeout);
            notify.send(Event::Dialled(peer, r));
        };
        if inline {
            job();
            continue;
        }
        thread::Builder::new()
            .name(format!("chor-dial-{peer_name}"))
            .spawn(job)
            .map_err(|e| {
                RtError::new(
                    me,
                    ErrorKind::Connect {
                        peer: peer_name,
                        addr,
                        timeout_ms,
                        reason: format!("cannot start a thread: {e}"),
                    },
                )
            })?;
    }

    // Roles that may still connect to us; a handshake thread claims its role here.
    let waiting = Arc::new(Mutex::new(to_accept.clone()));
    let accepts = Arc::new(to_accept.clone());
    // Set once we stop accepting, so a handshake that finishes late is refused.
    let closed = Arc::new(AtomicBool::new(false));
    let pending = Arc::new(Mutex::new(Pending::default()));
    let refusal_log = RefusalLog::new(me);

    let mut streams: std::collections::BTreeMap<String, Established> = Default::default();
    let mut dial_errors: std::collections::BTreeMap<String, String> = Default::default();
    let mut refusals: Vec<String> = Vec::new();
    let mut dialling = to_dial.len();

    // A dial thread reports its last error at the deadline; give it a moment to do so.
    let give_up = deadline + Duration::from_millis(200);
    let result: Result<(), ()> = loop {
        if streams.len() == peers.len() {
            break Ok(());
        }
        if !dial_errors.is_empty() {
            break Err(());
        }
        let mut accept_failed = false;
        if let Some(l) = &listener {
            loop {
                match l.accept() {
                    Ok((stream, from)) => {
                        let Some(ticket) = lock(&pending).admit(from.ip(), &stream) else {
                            continue;
                        };
                        let notify = notify.clone();
                        spawn_accept(
                            me,
                            fp,
                            cfg,
                            tls.clone(),
                            stream,
                            from,
                            Instant::now() + hs_timeout,
                            &accepts,
                            Arc::clone(&waiting),
                            Arc::clone(&closed),
                            (Arc::clone(&pending), ticket),
                            Arc::clone(&refusal_log),
                            move |r| {
                                notify.send(match r {
                                    Ok((role, s)) => Event::Accepted(role, s),
                                    Err(m) => Event::Refused(m),
                                });
                            },
                        );
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    // Other errors (e.g. a connection reset before it was accepted, or no
                    // file descriptor left) concern one connection only: keep listening, but
                    // look again in a while rather than at once.
                    Err(_) => {
                        accept_failed = true;
                        break;
                    }
                }
            }
        }
        let now = Instant::now();
        if now >= give_up || (now >= deadline && dialling == 0) {
            break Err(());
        }
        let until = if dialling == 0 { deadline } else { give_up };
        let mut wait = until.saturating_duration_since(now);
        if accept_failed {
            wait = wait.min(Duration::from_millis(2));
        }
        let event = match (&listener, &wake) {
            (Some(l), Some((woken, _))) => match rx.try_recv() {
                Ok(e) => Ok(e),
                Err(_) => {
                    wait_readable(&[l.as_raw_fd(), woken.as_raw_fd()], wait);
                    // Drop the wake-up bytes; the events themselves are on the channel.
                    let mut sink = [0u8; 64];
                    while matches!((&*woken).read(&mut sink), Ok(n) if n > 0) {}
                    rx.try_recv().map_err(|_| ())
                }
            },
            // Without the wake-up pair (it could not be made), look at the listener every
            // 2 ms as before.
            (Some(_), None) => rx
                .recv_timeout(wait.min(Duration::from_millis(2)))
                .map_err(|_| ()),
            (None, _) => rx.recv_timeout(wait).map_err(|_| ()),
        };
        match event {
            Ok(Event::Dialled(peer, r)) => {
                dialling -= 1;
                match r {
                    Ok(s) => {
                        streams.insert(peer, s);
                    }
                    Err(e) => {
                        dial_errors.insert(peer, e);
                    }
                }
            }
            Ok(Event::Accepted(peer, s)) => {
                streams.insert(peer, s);
            }
            Ok(Event::Refused(m)) => refusals.push(m),
            Err(_) => {}
        }
    };
    closed.store(true, Ordering::SeqCst);
    drop(listener);
    // Handshakes still in flight are of no use now.
    for (_, _, s) in lock(&pending).conns.drain(..) {
        let _ = s.shutdown(Shutdown::Both);
    }
    lock(&refusal_log).sum_up();

    if result.is_ok() {
        let out: Vec<Established> = peers.iter().filter_map(|p| streams.remove(p)).collect();
        if out.len() == peers.len() {
            return Ok(out);
        }
    }

    // A dial that overran the deadline reports after the loop gave up (a host name whose
    // lookup blocks: getaddrinfo has no timeout, and a resolver that does not answer takes
    // seconds); its reason is the one to give, not that the peer never dialled us.
    if result.is_err() {
        while let Ok(e) = rx.try_recv() {
            if let Event::Dialled(peer, Err(reason)) = e {
                dial_errors.entry(peer).or_insert(reason);
            }
        }
    }
    // Name the first peer we could not reach, with the best reason we have.
    if let Some((peer, reason)) = dial_errors.into_iter().next() {
        return Err(RtError::new(
            me,
            ErrorKind::Connect {
                addr: cfg
                    .roles
                    .get(&peer)
                    .map_or_else(String::new, |e| e.address.clone()),
                peer,
                timeout_ms,
                reason,
            },
        ));
    }
    let missing = peers
        .iter()
        .find(|p| !streams.contains_key(*p))
        .cloned()
        .unwrap_or_default();
    let listening = cfg
        .listen_of(me)
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    let mut reason = if missing.as_str() > me {
        // We dial it, and the attempt under way when time ran out has not ended.
        format!(
            "no attempt to reach it ended in time (resolving {} or connecting to it was still \
             under way)",
            cfg.roles
                .get(&missing)
                .map_or_else(String::new, |e| e.address.clone())
        )
    } else {
        format!("it never connected to {me} (listening on {listening})")
    };
    if let Some(last) = refusals.last() {
        reason.push_str(&format!("; refused: {last}"));
    }
    Err(RtError::new(
        me,
        ErrorKind::Connect {
            addr: cfg
                .roles
                .get(&missing)
                .map_or_else(String::new, |e| e.address.clone()),
            peer: missing,
            timeout_ms,
            reason,
        },
    ))
}

/// Hands set-up events to the thread establishing the connections, waking it if it waits in
/// [`wait_readable`].
struct Notify<E> {
    tx: mpsc::Sender<E>,
    wake: Option<Arc<UnixStream>>,
}

impl<E> Clone for Notify<E> {
    fn clone(&self) -> Self {
        Notify {
            tx: self.tx.clone(),
            wake: self.wake.clone(),
        }
    }
}

impl<E> Notify<E> {
    fn send(&self, e: E) {
        let _ = self.tx.send(e);
        if let Some(w) = &self.wake {
            // Full (many wake-ups not read yet) is as good as written.
            let _ = (&**w).write(&[1]);
        }
    }
}

/// Waits until one of `fds` is readable (a listener: a connection to accept), or `timeout`.
#[allow(unsafe_code)]
fn wait_readable(fds: &[RawFd], timeout: Duration) {
    let mut set: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // Rounded up: a timeout rounded down to 0 ms would spin until the deadline.
    let ms = i32::try_from(timeout.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
    // SAFETY: `set` is an array of `set.len()` initialised pollfd structures that outlives
    // the call; poll only writes their `revents`. An error (EINTR) is a spurious wake-up,
    // which the caller's loop tolerates.
    unsafe {
        libc::poll(set.as_mut_ptr(), set.len() as libc::nfds_t, ms);
    }
}

/// Dials `peer` until connected and authenticated, or until the deadline. A host name is
/// resolved again before every attempt, so one whose DNS entry appears late still works.
fn dial(
    id: &Identity<'_>,
    tls: Option<&Tls>,
    peer: &str,
    endpoint: &Endpoint,
    deadline: Instant,
    hs_timeout: Duration,
) -> Result<Established, String> {
    let quick_until = Instant::now() + QUICK_PHASE;
    let mut backoff = Duration::from_millis(5);
    let mut last = "no attempt was made".to_string();
    // Never empty once looked up (a name resolves to an address at least).
    let mut addrs: Vec<SocketAddr> = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(last);
        }
        // A host name is looked up once for the quick retries, then again before each
        // retry after them.
        let looked_up = if addrs.is_empty() || Instant::now() >= quick_until {
            endpoint
                .dial_addrs()
                .map(|a| addrs = a)
                .map_err(|e| format!("cannot resolve {}: {e}", endpoint.address))
        } else {
            Ok(())
        };
        match looked_up.and_then(|()| connect_any(&addrs, deadline)) {
            Ok(s) => {
                let hs_deadline = Instant::now()
                    + deadline
                        .saturating_duration_since(Instant::now())
                        .clamp(Duration::from_millis(1), hs_timeout);
                match s
                    .set_nodelay(true)
                    .map_err(|e| HandshakeError::Failed(e.to_string()))
                    .and_then(|()| client_handshake(&s, tls, id, peer, hs_deadline))
                {
                    Ok(tls) => return Ok(Established { stream: s, tls }),
                    // The peer is there and said no (another program, another secret
                    // setting, another role): retrying cannot change that.
                    Err(e @ HandshakeError::Refused(_)) => return Err(e.to_string()),
                    // Not (yet) a peer we can trust: keep trying until the deadline.
                    Err(e) => last = e.to_string(),
                }
            }
            Err(e) => last = e,
        }
        let now = Instant::now();
        let left = deadline.saturating_duration_since(now);
        if now < quick_until {
            thread::sleep(QUICK_RETRY.min(left));
            continue;
        }
        thread::sleep(backoff.min(left));
        backoff = (backoff * 2).min(Duration::from_millis(200));
    }
}

/// A connection to the first of `addrs` that takes one (a host name with IPv6 and IPv4
/// addresses, whose peer listens on one of them only, is reached there), each tried for at
/// most 2 s and none past `deadline`; else the last address's error.
fn connect_any(addrs: &[SocketAddr], deadline: Instant) -> Result<TcpStream, String> {
    let mut last = "no address".to_string();
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(addr, left.min(Duration::from_secs(2))) {
            Ok(s) => return Ok(s),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// The dialling side's handshake: TLS first when configured (the listener proves it is
/// `peer`), then the chor handshake inside it.
fn client_handshake(
    s: &TcpStream,
    tls: Option<&Tls>,
    id: &Identity<'_>,
    peer: &str,
    deadline: Instant,
) -> Result<Option<Channel>, HandshakeError> {
    let mut timed = Timed {
        stream: s,
        deadline,
    };
    let Some(tls) = tls else {
        handshake::client(&mut timed, id, peer)?;
        return Ok(None);
    };
    let mut chan = tls
        .connect(peer, s, deadline)
        .map_err(|e| HandshakeError::Failed(format!("TLS handshake failed: {e}")))?;
    handshake::client(&mut chan, id, peer)?;
    Ok(Some(chan))
}

/// The accepting side's handshake; returns the authenticated role, the TLS state, and what
/// the verdict needs.
fn server_handshake(
    s: &TcpStream,
    tls: Option<&Tls>,
    id: &Identity<'_>,
    deadline: Instant,
    expects: impl Fn(&str) -> bool,
) -> Result<(handshake::Accepted, Option<Channel>), String> {
    let mut timed = Timed {
        stream: s,
        deadline,
    };
    let Some(tls) = tls else {
        let a = handshake::server(&mut timed, id, expects).map_err(|e| e.to_string())?;
        return Ok((a, None));
    };
    let mut chan = tls
        .accept(s, deadline)
        .map_err(|e| format!("TLS handshake failed: {e}"))?;
    let a = handshake::server(&mut chan, id, expects).map_err(|e| e.to_string())?;
    if !chan.peer_is(&a.role) {
        let _ = handshake::send_verdict(
            &mut chan,
            Status::WrongCertificate,
            // Without a secret the reply is still to be sent, ahead of the verdict.
            Some(&a),
        );
        return Err(format!(
            "connection claiming role {}: {}",
            a.role,
            Status::WrongCertificate.describe()
        ));
    }
    Ok((a, Some(chan)))
}

#[allow(clippy::too_many_arguments)]
fn spawn_accept(
    me: &str,
    fp: Fingerprint,
    cfg: &DeployConfig,
    tls: Option<Arc<Tls>>,
    stream: TcpStream,
    from: SocketAddr,
    deadline: Instant,
    accepts: &Arc<BTreeSet<String>>,
    waiting: Arc<Mutex<BTreeSet<String>>>,
    closed: Arc<AtomicBool>,
    pending: (Arc<Mutex<Pending>>, u64),
    refusal_log: Arc<Mutex<RefusalLog>>,
    report: impl FnOnce(Result<(String, Established), String>) + Send + 'static,
) {
    let me = me.to_string();
    let secret = cfg.secret.clone();
    // Every role that dials us, connected already or not: a claim of one already connected
    // gets past the greeting and is refused as a duplicate ("this role is already
    // connected", which points at a second process or an impostor), not as a role we do
    // not expect (which points at a wrong deployment file).
    let expected = Arc::clone(accepts);
    let spawned = thread::Builder::new()
        .name("chor-accept".to_string())
        .spawn(move || {
            let id = Identity {
                fingerprint: fp,
                role: &me,
                secret: secret.as_ref(),
            };
            let outcome = (|| {
                stream.set_nonblocking(false).map_err(|e| e.to_string())?;
                stream.set_nodelay(true).map_err(|e| e.to_string())?;
                let (accepted, mut conn) =
                    server_handshake(&stream, tls.as_deref(), &id, deadline, |r| {
                        expected.contains(r)
                    })?;
                let role = accepted.role.clone();
                let mut timed = Timed {
                    stream: &stream,
                    deadline,
                };
                let mut verdict = |status: Status| match &mut conn {
                    Some(c) => handshake::send_verdict(c, status, Some(&accepted)),
                    None => handshake::send_verdict(&mut timed, status, Some(&accepted)),
                };
                let claimed = !closed.load(Ordering::SeqCst) && lock(&waiting).remove(&role);
                if !claimed {
                    let _ = verdict(Status::Duplicate);
                    return Err(format!(
                        "connection claiming role {role}: {}",
                        Status::Duplicate.describe()
                    ));
                }
                if let Err(e) = verdict(Status::Ok) {
                    lock(&waiting).insert(role.clone());
                    return Err(format!("connection from role {role} failed: {e}"));
                }
                Ok((role, conn))
            })();
            lock(&pending.0).done(pending.1);
            match outcome {
                Ok((role, tls)) => report(Ok((role, Established { stream, tls }))),
                Err(m) => {
                    lock(&refusal_log).refused(from, &m);
                    report(Err(m));
                }
            }
        });
    if spawned.is_err() {
        eprintln!("chor: refused a connection from {from}: cannot start a thread");
    }
}

// ---------------------------------------------------------------------------------------
// Moving frames

/// Where frames are read from: the socket through a buffer, or TLS over it (which buffers
/// and decrypts in place, so frames are decoded straight from its buffer).
enum WireRead {
    Plain(BufReader<TcpStream>),
    Tls(TlsReader),
}

impl WireRead {
    /// What is buffered, without reading.
    fn buffer(&self) -> &[u8] {
        match self {
            WireRead::Plain(b) => b.buffer(),
            WireRead::Tls(t) => t.buffered(),
        }
    }
}

impl Read for WireRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            WireRead::Plain(s) => s.read(buf),
            WireRead::Tls(t) => t.read(buf),
        }
    }
}

impl BufRead for WireRead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            WireRead::Plain(s) => s.fill_buf(),
            WireRead::Tls(t) => t.fill_buf(),
        }
    }

    fn consume(&mut self, n: usize) {
        match self {
            WireRead::Plain(s) => s.consume(n),
            WireRead::Tls(t) => t.consume(n),
        }
    }
}

/// Where frames are written to.
enum WireWrite {
    Plain(TcpStream),
    Tls(TlsWriter),
}

impl WireWrite {
    /// Writes `buf` out (and, with TLS, the records left pending before it). Its contents are
    /// used up: TLS encrypts them in place.
    fn write_out(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        match self {
            WireWrite::Plain(s) => write_all_while_heard(s, buf),
            WireWrite::Tls(t) if buf.is_empty() => t.drain(),
            WireWrite::Tls(t) => t.write_in_place(buf),
        }
    }

    /// Writes what the socket takes now, without waiting; what it does not take is kept
    /// (at the front of `buf`, or with TLS sealed in the writer) for the next write.
    /// Returns whether any bytes were written and whether everything went out.
    fn write_now(&mut self, buf: &mut Vec<u8>) -> io::Result<(bool, bool)> {
        match self {
            WireWrite::Plain(s) => {
                let n = send_now(s, buf)?;
                buf.drain(..n);
                Ok((n > 0, buf.is_empty()))
            }
            WireWrite::Tls(t) => t.write_now(buf),
        }
    }

    /// Whether bytes wait in the writer itself (TLS records sealed by [`WireWrite::write_now`]).
    fn has_pending(&self) -> bool {
        match self {
            WireWrite::Plain(_) => false,
            WireWrite::Tls(t) => t.has_pending(),
        }
    }
}

/// One established connection.
pub(crate) struct TcpLink {
    reader: Mutex<FrameReader>,
    pub(crate) out: Arc<Outbox>,
    stream: TcpStream,
}

impl TcpLink {
    pub(crate) fn new(
        conn: Established,
        idle: Option<Duration>,
        max_frame: usize,
        ctl: Arc<FlushCtl>,
    ) -> io::Result<TcpLink> {
        let stream = conn.stream;
        stream.set_read_timeout(idle)?;
        stream.set_write_timeout(idle)?;
        let (read_half, write_half) = match conn.tls {
            Some(c) => {
                let (r, w) = c.into_halves();
                (WireRead::Tls(r), WireWrite::Tls(w))
            }
            None => (
                WireRead::Plain(BufReader::with_capacity(FLUSH_AT, stream.try_clone()?)),
                WireWrite::Plain(stream.try_clone()?),
            ),
        };
        Ok(TcpLink {
            reader: Mutex::new(FrameReader {
                inner: read_half,
                scratch: Vec::new(),
                broken: None,
                max_frame,
            }),
            out: Arc::new(Outbox {
                dirty: AtomicBool::new(false),
                since: AtomicU64::new(0),
                active: AtomicBool::new(false),
                ctl,
                state: Mutex::new(OutState {
                    buf: Vec::with_capacity(4096),
                    stream: write_half,
                    failed: None,
                    last_loc: 0,
                    max_frame,
                    last_write: Instant::now(),
                }),
                fd: stream.as_raw_fd(),
            }),
            stream,
        })
    }

    pub(crate) fn set_idle_timeout(&self, idle: Option<Duration>) -> io::Result<()> {
        self.stream.set_read_timeout(idle)?;
        self.stream.set_write_timeout(idle)
    }

    pub(crate) fn send(&self, msg: &Message, loc: u32) -> Result<(), LinkError> {
        self.out.push(loc, |buf| codec::encode_into(msg, buf))
    }

    pub(crate) fn send_encoded(&self, bytes: &[u8], loc: u32) -> Result<(), LinkError> {
        self.out.push(loc, |buf| buf.extend_from_slice(bytes))
    }

    pub(crate) fn recv(&self) -> Result<Message, LinkError> {
        lock(&self.reader).read_message()
    }

    pub(crate) fn recv_encoded(&self, out: &mut Vec<u8>) -> Result<(), LinkError> {
        let mut r = lock(&self.reader);
        r.read_frame_into(out)
    }

    /// The next frame, unchecked (see [`super::Session::recv_frame`]).
    pub(crate) fn recv_frame(&self, out: &mut Vec<u8>) -> Result<(), LinkError> {
        let mut r = lock(&self.reader);
        if let Some(e) = &r.broken {
            return Err(e.clone());
        }
        let res = r.read_frame_raw(out);
        if let Err(e) = &res {
            r.broken = Some(e.clone());
        }
        res
    }

    /// Half-closes: the peer reads what was sent, then end of stream.
    pub(crate) fn shutdown_write(&self) {
        {
            let mut st = lock(&self.out.state);
            if st.failed.is_none()
                && let WireWrite::Tls(t) = &mut st.stream
            {
                let _ = t.close_notify();
            }
        }
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// After [`TcpLink::shutdown_write`]: reads (and drops) what the peer still sends —
    /// heartbeats — until it closes too, or until `until`. Closing a socket with unread
    /// bytes, or receiving bytes after closing, makes the kernel reset the connection, and a
    /// reset can destroy the last message the peer has not read yet.
    ///
    /// Past `until`, it goes on while bytes we sent are not yet acknowledged by the peer's
    /// kernel and the peer is alive (it sent something within `idle`): a reset destroys only
    /// what has not reached the peer's kernel, and a live peer busy for longer than the idle
    /// timeout before it reads our last message, or one behind a slow link, has not taken it
    /// yet. (Before, the role exited at `until`; its kernel, holding unread heartbeats, reset
    /// the connection, and the peer lost the end of the last message and failed with
    /// "connection reset" although both roles were well.) Once the peer falls silent for
    /// `idle`, it is dead or cut off, and there is no one left to deliver to.
    pub(crate) fn linger(&self, until: Instant, idle: Duration) {
        // What we sent could not be written out (the peer is gone or cut off): there is no
        // last message of ours left to protect, and waiting would only delay the exit.
        if lock(&self.out.state).failed.is_some() {
            return;
        }
        let mut r = lock(&self.reader);
        if r.broken.is_some() {
            return;
        }
        let mut sink = [0u8; 256];
        loop {
            let now = Instant::now();
            let left = until.saturating_duration_since(now);
            let wait = if !left.is_zero() {
                left
            } else if unacknowledged(&self.stream) && heard_within(&self.stream, idle) {
                // Look again at what is acknowledged every few milliseconds.
                Duration::from_millis(20)
            } else {
                return;
            };
            if self.stream.set_read_timeout(Some(wait)).is_err() {
                return;
            }
            match r.inner.read(&mut sink) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if blocked(&e) => {}
                Err(_) => return,
            }
        }
    }

    /// Closes at once in both directions (a dropped session looks like a crashed one).
    pub(crate) fn abort(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// The outgoing side of a connection: a buffer of encoded frames and the socket.
pub(crate) struct Outbox {
    /// Bytes are buffered that nobody has written out yet.
    dirty: AtomicBool,
    /// When the buffer last went from empty to holding a frame, in the session's count of
    /// such events ([`FlushCtl::order`]): a role about to block writes its buffers out in
    /// this order, the order it sent in.
    since: AtomicU64,
    /// A send happened since the flusher last looked.
    active: AtomicBool,
    ctl: Arc<FlushCtl>,
    state: Mutex<OutState>,
    /// The socket, for the flusher to see whether it has room.
    fd: RawFd,
}

struct OutState {
    buf: Vec<u8>,
    stream: WireWrite,
    /// Set by the first failed write; every later send reports it.
    failed: Option<LinkError>,
    /// Location of the last buffered send, to name it if writing it out fails later.
    last_loc: u32,
    max_frame: usize,
    /// When bytes were last written to the socket (heartbeats fill longer silences).
    last_write: Instant,
}

impl OutState {
    fn write_out(&mut self) -> Result<(), (LinkError, u32)> {
        self.check()?;
        if self.buf.is_empty() && !self.stream.has_pending() {
            return Ok(());
        }
        match self.stream.write_out(&mut self.buf) {
            Ok(()) => {
                self.last_write = Instant::now();
                self.buf.clear();
                self.trim();
                Ok(())
            }
            Err(e) => Err(self.fail(&e)),
        }
    }

    /// Like [`OutState::write_out`], but writes only what the socket takes now (see
    /// [`WireWrite::write_now`]). Returns whether everything went out.
    fn write_now(&mut self) -> Result<bool, (LinkError, u32)> {
        self.check()?;
        match self.stream.write_now(&mut self.buf) {
            Ok((wrote, done)) => {
                if wrote {
                    self.last_write = Instant::now();
                }
                if done {
                    self.trim();
                }
                Ok(done)
            }
            Err(e) => Err(self.fail(&e)),
        }
    }

    /// The failure kept from an earlier write, with the location of the last send.
    fn check(&self) -> Result<(), (LinkError, u32)> {
        match &self.failed {
            Some(e) => Err((e.clone(), self.last_loc)),
            None => Ok(()),
        }
    }

    /// Keeps a write's failure for the role's next action, and returns it.
    fn fail(&mut self, e: &io::Error) -> (LinkError, u32) {
        let e = LinkError::from_io(e);
        self.failed = Some(e.clone());
        (e, self.last_loc)
    }

    /// Gives back the memory of an emptied buffer that a burst made large.
    fn trim(&mut self) {
        if self.buf.capacity() > 4 * FLUSH_AT {
            self.buf.shrink_to(FLUSH_AT);
        }
    }
}

impl Outbox {
    fn push(&self, loc: u32, encode: impl FnOnce(&mut Vec<u8>)) -> Result<(), LinkError> {
        let mut st = lock(&self.state);
        if let Some(e) = &st.failed {
            return Err(e.clone());
        }
        let start = st.buf.len();
        if start == 0 {
            self.since.store(
                self.ctl.order.fetch_add(1, Ordering::Relaxed),
                Ordering::Relaxed,
            );
        }
        st.buf.extend_from_slice(&[0; 4]);
        encode(&mut st.buf);
        let len = st.buf.len() - start - 4;
        if len > st.max_frame {
            st.buf.truncate(start);
            return Err(LinkError::TooLarge(len, st.max_frame));
        }
        st.buf[start..start + 4].copy_from_slice(&(len as u32).to_le_bytes());
        st.last_loc = loc;
        if st.buf.len() >= FLUSH_AT {
            self.dirty.store(false, Ordering::Relaxed);
            st.write_out().map_err(|(e, _)| e)
        } else {
            self.dirty.store(true, Ordering::SeqCst);
            self.active.store(true, Ordering::Relaxed);
            if self.ctl.asleep.load(Ordering::SeqCst) {
                self.ctl.wake();
            }
            Ok(())
        }
    }

    /// Sends a heartbeat if nothing was written for `quiet` (a failure is kept for the role's
    /// next action to report).
    fn heartbeat(&self, quiet: Duration) {
        // Never waits: a connection busy being written to, or without room (its peer is not
        // reading, so it is not waiting for us), needs no heartbeat, and the others must not
        // wait for it.
        let Ok(mut st) = self.state.try_lock() else {
            return;
        };
        if st.failed.is_some() || st.last_write.elapsed() < quiet || !writable_now(self.fd) {
            return;
        }
        // Buffered frames say as much as a heartbeat; otherwise one goes out alone. Either
        // way only what the socket takes now: a write that waited here for room stopped
        // the heartbeats of every other connection.
        if st.buf.is_empty() {
            st.buf.extend_from_slice(&[0; 4]);
        }
        if let Ok(false) = st.write_now() {
            self.dirty.store(true, Ordering::SeqCst);
        }
    }

    /// Whether bytes are buffered, and since when (see [`Outbox::since`]).
    pub(crate) fn dirty_since(&self) -> Option<u64> {
        self.dirty
            .load(Ordering::SeqCst)
            .then(|| self.since.load(Ordering::Relaxed))
    }

    /// For the flusher thread: like [`Outbox::flush`], but only if nobody else is writing
    /// this connection and its socket has room, so that the flusher never waits on one
    /// connection (a role blocked writing a large message to a busy peer, or a full socket)
    /// while the others need their heartbeats. What is left stays buffered: the role writes
    /// it out itself before it next waits.
    /// Returns whether it wrote.
    fn flush_if_free(&self) -> bool {
        if !self.dirty.load(Ordering::SeqCst) || !writable_now(self.fd) {
            return false;
        }
        let Ok(mut st) = self.state.try_lock() else {
            return false;
        };
        self.dirty.store(false, Ordering::Relaxed);
        // Only what the socket takes now: room for some bytes is not room for the whole
        // buffer, and a write that waited for the rest (for as long as a busy peer stays
        // alive) stopped the heartbeats of the role's other connections, whose peers then
        // timed out on a live role. The rest stays buffered, for the next tick or for the
        // role, which writes it out before it next waits. A failure is kept in the outbox
        // and reported by the role's next action.
        if let Ok(false) = st.write_now() {
            self.dirty.store(true, Ordering::SeqCst);
        }
        true
    }

    /// Writes out whatever is buffered. On failure, returns the location of the last send.
    pub(crate) fn flush(&self) -> Result<(), (LinkError, u32)> {
        if !self.dirty.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut st = lock(&self.state);
        self.dirty.store(false, Ordering::Relaxed);
        st.write_out()
    }
}

/// Shared between a session's outboxes and its flusher thread.
#[derive(Default)]
pub(crate) struct FlushCtl {
    stop: AtomicBool,
    /// Counts the sends that found their connection's buffer empty (see [`Outbox::since`]).
    order: AtomicU64,
    /// The flusher is parked without a timeout; the next send must wake it.
    asleep: AtomicBool,
    thread: OnceLock<thread::Thread>,
}

impl FlushCtl {
    fn wake(&self) {
        if self.asleep.swap(false, Ordering::SeqCst)
            && let Some(t) = self.thread.get()
        {
            t.unpark();
        }
    }
}

/// The session's flusher thread.
pub(crate) struct Flusher {
    ctl: Arc<FlushCtl>,
    handle: thread::JoinHandle<()>,
}

impl Flusher {
    /// Writes out what sends leave in `outboxes` every [`FLUSH_TICK`] while the role is
    /// sending (less often, up to [`MAX_FLUSH_TICK`], while the role writes them out itself);
    /// until the first send, and after [`IDLE_AFTER`] without one, it parks until the next
    /// send wakes it, so an idle role costs no wake-ups. A role that sends continuously never
    /// pays for waking it.
    pub(crate) fn spawn(
        ctl: Arc<FlushCtl>,
        outboxes: Vec<Arc<Outbox>>,
        heartbeat: Option<Duration>,
    ) -> io::Result<Flusher> {
        let c = Arc::clone(&ctl);
        let handle = thread::Builder::new()
            .name("chor-flush".to_string())
            .spawn(move || {
                let _ = c.thread.set(thread::current());
                // Idle from the start: a role that has not sent anything yet (one computing
                // before its first message, or only receiving) costs no wake-ups. Ticking for
                // the first 100 ms took 1.4 ms of CPU from a role sorting 200,000 Ints, and
                // from its peers when they share a CPU while starting up.
                let mut last_active: Option<Instant> = None;
                let mut tick = FLUSH_TICK;
                let mut last_beat = Instant::now();
                while !c.stop.load(Ordering::SeqCst) {
                    let mut active = false;
                    let mut wrote = false;
                    for o in &outboxes {
                        active |= o.active.swap(false, Ordering::Relaxed);
                        wrote |= o.flush_if_free();
                    }
                    tick = if wrote {
                        FLUSH_TICK
                    } else {
                        (tick * 2).min(MAX_FLUSH_TICK)
                    };
                    if let Some(hb) = heartbeat
                        && last_beat.elapsed() >= hb / 4
                    {
                        last_beat = Instant::now();
                        for o in &outboxes {
                            o.heartbeat(hb);
                        }
                    }
                    let now = Instant::now();
                    if active {
                        last_active = Some(now);
                    }
                    if last_active.is_some_and(|t| now.duration_since(t) < IDLE_AFTER) {
                        thread::park_timeout(tick);
                        continue;
                    }
                    // Announce the sleep, then look once more: a send that set its buffer
                    // dirty before seeing `asleep` is flushed now, one after it wakes us.
                    c.asleep.store(true, Ordering::SeqCst);
                    if outboxes.iter().any(|o| o.dirty.load(Ordering::SeqCst)) {
                        c.asleep.store(false, Ordering::SeqCst);
                        // Left because its socket had no room: look again in a while, not at
                        // once (a send since then has unparked us already).
                        thread::park_timeout(tick);
                        continue;
                    }
                    if !c.stop.load(Ordering::SeqCst) {
                        match heartbeat {
                            // Wake for the next heartbeat even without sends.
                            Some(hb) => thread::park_timeout(hb / 4),
                            None => thread::park(),
                        }
                    }
                    c.asleep.store(false, Ordering::SeqCst);
                    // Woken by a send after a pause: it is not known yet whether the role
                    // writes out its own sends.
                    tick = FLUSH_TICK;
                }
            })?;
        Ok(Flusher { ctl, handle })
    }

    /// Asks the thread to end; `join` waits for it (a dropped session does not, since the
    /// thread may be blocked writing to a peer that does not read).
    pub(crate) fn stop(self, join: bool) {
        self.ctl.stop.store(true, Ordering::SeqCst);
        self.handle.thread().unpark();
        if join {
            let _ = self.handle.join();
        }
    }
}

/// Writes all of `buf` to `s`, for as long as the peer shows it is alive. A write that has
/// waited the socket's write timeout (the idle timeout) for room goes on waiting if the peer
/// sent anything within that time, a heartbeat at least: it is alive and busy (computing
/// before it reads this message), and the kernel's buffers are full. Only a peer silent for
/// the whole timeout (stopped, crashed without closing, cut off) fails the write, as it
/// fails a receive. (Failing at once made a role sending a large message to a peer that
/// computed for longer than the idle timeout before receiving it end with a timeout,
/// although the peer was well.)
pub(super) fn write_all_while_heard(s: &TcpStream, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match (&*s).write(buf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if blocked(&e) && heard_lately(s) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes what `s`'s socket takes now, without waiting (and without SIGPIPE); returns how
/// many bytes of `buf` were written (0 when the socket has no room).
#[allow(unsafe_code)]
pub(super) fn send_now(s: &TcpStream, buf: &[u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &buf[done..];
        // SAFETY: `rest` is a live, initialised byte slice for the length passed; send only
        // reads it.
        let r = unsafe {
            libc::send(
                s.as_raw_fd(),
                rest.as_ptr().cast(),
                rest.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        match usize::try_from(r) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(_) => {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => {}
                    io::ErrorKind::WouldBlock => break,
                    _ => return Err(e),
                }
            }
        }
    }
    Ok(done)
}

/// Whether a write failed for lack of room within the write timeout.
pub(super) fn blocked(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Whether the peer of `s` sent data (a frame or a heartbeat, read or not) within the
/// socket's write timeout: the kernel keeps when data last arrived (`TCP_INFO`).
pub(super) fn heard_lately(s: &TcpStream) -> bool {
    match s.write_timeout() {
        Ok(Some(window)) => heard_within(s, window),
        _ => false,
    }
}

/// Whether the peer of `s` sent data within `window` (see [`heard_lately`]).
fn heard_within(s: &TcpStream, window: Duration) -> bool {
    last_heard(s).is_some_and(|ago| ago < window)
}

/// Whether bytes written to `s` (or its FIN) are not yet acknowledged by the peer's kernel
/// (`SIOCOUTQ`; Linux, elsewhere unknown and taken as none).
#[allow(unsafe_code)]
fn unacknowledged(s: &TcpStream) -> bool {
    #[cfg(target_os = "linux")]
    {
        let mut n: libc::c_int = 0;
        // SAFETY: TIOCOUTQ (SIOCOUTQ for a socket) writes one int into `n`, which outlives
        // the call.
        let r = unsafe { libc::ioctl(s.as_raw_fd(), libc::TIOCOUTQ, &mut n) };
        r == 0 && n > 0
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = s;
        false
    }
}

/// How long ago data last arrived on `s` (Linux; elsewhere unknown, and a blocked write
/// fails at its timeout as before).
#[allow(unsafe_code)]
fn last_heard(s: &TcpStream) -> Option<Duration> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getsockopt writes at most `len` bytes into `info`, a plain C structure
        // that lives across the call, and updates `len`.
        let (r, info, len) = unsafe {
            let mut info: libc::tcp_info = std::mem::zeroed();
            let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
            let r = libc::getsockopt(
                s.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                (&mut info as *mut libc::tcp_info).cast(),
                &mut len,
            );
            (r, info, len)
        };
        // The field is in the first part of the structure every kernel since 2.6 fills.
        (r == 0 && len as usize >= 64)
            .then(|| Duration::from_millis(u64::from(info.tcpi_last_data_recv)))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = s;
        None
    }
}

/// Whether `fd` has room to write now (the flusher writes only then: see
/// [`Outbox::flush_if_free`]).
#[allow(unsafe_code)]
fn writable_now(fd: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one initialised pollfd that outlives the call; poll writes only `revents`.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    r == 1 && p.revents & libc::POLLOUT != 0
}

struct FrameReader {
    inner: WireRead,
    scratch: Vec<u8>,
    /// Once a read fails the stream position is unknown; every later read reports this.
    broken: Option<LinkError>,
    /// The largest frame accepted (`max_message_bytes`).
    max_frame: usize,
}

impl FrameReader {
    fn read_message(&mut self) -> Result<Message, LinkError> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        // Wait for data, skipping heartbeats; a timeout or error here is final.
        let fast = loop {
            match self.inner.fill_buf() {
                Ok(buf) if buf.len() >= 4 && buf[..4] == [0; 4] => {
                    self.inner.consume(4);
                    continue;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let e = LinkError::from_io(&e);
                    self.broken = Some(e.clone());
                    return Err(e);
                }
            }
            // Fast path: the whole frame is already buffered; decode it in place.
            let buf = self.inner.buffer();
            if buf.len() >= 4 {
                let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                if len > 0 && len <= self.max_frame && buf.len() >= 4 + len {
                    let mut budget = codec::Budget::for_wire_tree(len, self.max_frame);
                    break Some((
                        codec::decode_bounded(&buf[4..4 + len], &mut budget),
                        4 + len,
                    ));
                }
            }
            break None;
        };
        let r = match fast {
            Some((r, used)) => {
                self.inner.consume(used);
                r.map_err(|e| LinkError::BadFrame(e.to_string()))
            }
            None => {
                let mut scratch = std::mem::take(&mut self.scratch);
                let r = self.read_frame_raw(&mut scratch).and_then(|()| {
                    let mut budget = codec::Budget::for_wire_tree(scratch.len(), self.max_frame);
                    codec::decode_bounded(&scratch, &mut budget)
                        .map_err(|e: CodecError| LinkError::BadFrame(e.to_string()))
                });
                if scratch.capacity() <= 4 * FLUSH_AT {
                    self.scratch = scratch;
                }
                r
            }
        };
        if let Err(e) = &r {
            self.broken = Some(e.clone());
        }
        r
    }

    fn read_frame_into(&mut self, out: &mut Vec<u8>) -> Result<(), LinkError> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        let r = self
            .read_frame_raw(out)
            .and_then(|()| codec::validate(out).map_err(|e| LinkError::BadFrame(e.to_string())));
        if let Err(e) = &r {
            self.broken = Some(e.clone());
        }
        r
    }

    fn read_frame_raw(&mut self, out: &mut Vec<u8>) -> Result<(), LinkError> {
        let len = loop {
            let mut header = [0u8; 4];
            let mut got = 0;
            while got < 4 {
                match self.inner.read(&mut header[got..]) {
                    Ok(0) if got == 0 => {
                        return Err(LinkError::Closed("the connection was closed".to_string()));
                    }
                    Ok(0) => return Err(mid_frame()),
                    Ok(n) => got += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(LinkError::from_io(&e)),
                }
            }
            match u32::from_le_bytes(header) as usize {
                // A heartbeat.
                0 => continue,
                len => break len,
            }
        };
        if len > self.max_frame {
            return Err(LinkError::BadFrame(format!(
                "a message of {len} bytes exceeds the limit of {} bytes (max_message_bytes)",
                self.max_frame
            )));
        }
        out.clear();
        // `take` + `read_to_end` grows the buffer only as bytes actually arrive, so a
        // hostile length prefix cannot make us allocate what was never sent.
        match (&mut self.inner).take(len as u64).read_to_end(out) {
            Ok(n) if n == len => Ok(()),
            Ok(_) => Err(mid_frame()),
            Err(e) => Err(LinkError::from_io(&e)),
        }
    }
}

fn mid_frame() -> LinkError {
    LinkError::Closed("the connection closed in the middle of a frame".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link over a fresh loopback connection (the other end is returned to keep it open).
    fn link(ctl: &Arc<FlushCtl>) -> (TcpLink, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let a = TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
        let (b, _) = l.accept().expect("accept");
        let conn = Established {
            stream: a,
            tls: None,
        };
        let link = TcpLink::new(conn, None, MAX_FRAME, Arc::clone(ctl)).expect("link");
        (link, b)
    }

    #[test]
    fn the_flusher_writes_only_what_a_socket_takes_now() {
        let ctl = Arc::new(FlushCtl::default());
        let (x, mut xr) = link(&ctl);
        // A write that waits for room waits this long (then fails: the peer sends nothing).
        x.set_idle_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        // 24 MiB of frames while the peer reads nothing: more than loopback's socket
        // buffers hold, so the socket has room for part of it only.
        let mut expected = Vec::new();
        for i in 0..384u32 {
            expected.extend_from_slice(&65_536u32.to_le_bytes());
            expected.extend((0..65_536u32).map(|j| (i ^ j) as u8));
        }
        lock(&x.out.state).buf.extend_from_slice(&expected);
        x.out.dirty.store(true, Ordering::SeqCst);
        let started = Instant::now();
        assert!(x.out.flush_if_free(), "the fresh socket has room");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the flusher waited {:?} on one connection",
            started.elapsed()
        );
        // The rest is kept, in order, for the role to write out.
        assert!(x.out.dirty_since().is_some());
        assert!(lock(&x.out.state).failed.is_none());
        let reader = thread::spawn(move || {
            let mut got = Vec::new();
            xr.read_to_end(&mut got).expect("read");
            got
        });
        x.out.flush().expect("the role writes out the rest");
        x.shutdown_write();
        let got = reader.join().expect("reader");
        assert!(
            got == expected,
            "{} bytes of {} arrived, or altered",
            got.len(),
            expected.len()
        );
    }

    #[test]
    fn a_buffer_remembers_when_it_was_first_sent_to() {
        let ctl = Arc::new(FlushCtl::default());
        let (x, _xr) = link(&ctl);
        let (y, _yr) = link(&ctl);
        let m = Message::Label("L".into());
        assert_eq!(x.out.dirty_since(), None);
        y.send(&m, 0).expect("send");
        x.send(&m, 0).expect("send");
        // A second send to y does not make it younger.
        y.send(&m, 0).expect("send");
        let (sx, sy) = (x.out.dirty_since(), y.out.dirty_since());
        assert!(sy.is_some() && sx.is_some() && sy < sx, "{sy:?} {sx:?}");
        x.out.flush().expect("flush");
        y.out.flush().expect("flush");
        assert_eq!((x.out.dirty_since(), y.out.dirty_since()), (None, None));
        x.send(&m, 0).expect("send");
        y.send(&m, 0).expect("send");
        assert!(x.out.dirty_since() < y.out.dirty_since());
    }
}
