//! [`RtError`]: why a role stopped, phrased for the person running the program.
//!
//! Every error names the role that failed; those about a peer name the peer and the action
//! the role was performing together with its source location (`bookseller.chor:12`), looked
//! up in the location table that the compiler hands to the session.

use std::fmt;

use crate::config::ConfigError;
use crate::types::TypeMismatch;

/// The pending action of a role when something went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Sending a message or a selection.
    Send,
    /// Waiting for a message or a selection.
    Recv,
    /// Flushing and closing its connections at the end of the run.
    Close,
}

impl Action {
    fn phrase(self) -> &'static str {
        match self {
            Action::Send => "sending",
            Action::Recv => "waiting to receive",
            Action::Close => "closing its connections",
        }
    }
}

/// A runtime error of one role (boxed: it is the error type of every hot-path action).
#[derive(Debug, Clone, PartialEq)]
pub struct RtError(Box<Inner>);

#[derive(Debug, Clone, PartialEq)]
struct Inner {
    role: String,
    kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorKind {
    /// The connection to `peer` closed or broke.
    Disconnected {
        peer: String,
        action: Action,
        loc: String,
        detail: String,
    },
    /// No message from `peer` within `[runtime] idle_timeout_ms`.
    Timeout {
        peer: String,
        action: Action,
        loc: String,
        after_ms: u64,
    },
    /// An authenticated peer sent bytes that are not a well-formed frame or message.
    BadFrame {
        peer: String,
        action: Action,
        loc: String,
        reason: String,
    },
    /// Bytes on the connection with `peer` failed TLS's integrity check: altered in transit,
    /// or injected by someone without the connection's keys.
    Integrity {
        peer: String,
        action: Action,
        loc: String,
        detail: String,
    },
    /// A message arrived that the projected program does not expect here
    /// (a value instead of a label, or a label outside the branch's labels).
    Unexpected {
        peer: String,
        loc: String,
        expected: String,
        got: String,
    },
    /// A value arrived whose type is not the one the receive expects.
    WrongType {
        peer: String,
        loc: String,
        mismatch: TypeMismatch,
    },
    /// An action named a role that is not a peer of this session.
    UnknownPeer {
        peer: String,
        action: Action,
        loc: String,
    },
    /// A peer could not be reached or did not connect within `connect_timeout_ms`.
    Connect {
        peer: String,
        addr: String,
        timeout_ms: u64,
        reason: String,
    },
    /// The role could not listen on its own address.
    Listen { addr: String, reason: String },
    /// The deployment file cannot be used.
    Config(ConfigError),
    /// A fault in the role's own code (division by zero, …), reported through the runtime.
    Fault { loc: String, message: String },
}

impl RtError {
    /// An error of `role`.
    pub fn new(role: impl Into<String>, kind: ErrorKind) -> Self {
        RtError(Box::new(Inner {
            role: role.into(),
            kind,
        }))
    }

    /// The role that stops.
    pub fn role(&self) -> &str {
        &self.0.role
    }

    /// What happened.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// A connection error names where the role first needed the peer (`file:line` from
    /// the program), since no action was pending yet when connecting failed.
    pub fn with_first_action(mut self, first: impl Fn(&str) -> Option<String>) -> Self {
        if let ErrorKind::Connect { peer, reason, .. } = &mut self.0.kind
            && let Some(loc) = first(peer)
        {
            reason.push_str(&format!("; the first action with {peer} is at {loc}"));
        }
        self
    }

    /// The peer involved, if any.
    pub fn peer(&self) -> Option<&str> {
        match &self.0.kind {
            ErrorKind::Disconnected { peer, .. }
            | ErrorKind::Timeout { peer, .. }
            | ErrorKind::BadFrame { peer, .. }
            | ErrorKind::Integrity { peer, .. }
            | ErrorKind::Unexpected { peer, .. }
            | ErrorKind::WrongType { peer, .. }
            | ErrorKind::UnknownPeer { peer, .. }
            | ErrorKind::Connect { peer, .. } => Some(peer),
            _ => None,
        }
    }
}

impl fmt::Display for RtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = &self.0.role;
        write!(f, "role {role}: ")?;
        match &self.0.kind {
            ErrorKind::Disconnected {
                peer,
                action,
                loc,
                detail,
            } => {
                write!(
                    f,
                    "peer {peer} disconnected while {role} was {}",
                    action.phrase()
                )?;
                if *action != Action::Close {
                    write!(f, " at {loc}")?;
                }
                if !detail.is_empty() {
                    write!(f, " ({detail})")?;
                }
                Ok(())
            }
            ErrorKind::Timeout {
                peer,
                action,
                loc,
                after_ms,
            } => match action {
                Action::Recv => write!(
                    f,
                    "timed out after {after_ms} ms waiting to receive from peer {peer} at {loc}"
                ),
                _ => write!(
                    f,
                    "timed out after {after_ms} ms while {} to peer {peer} at {loc}",
                    action.phrase()
                ),
            },
            ErrorKind::BadFrame {
                peer,
                action,
                loc,
                reason,
            } => write!(
                f,
                "peer {peer} sent a bad frame while {role} was {} at {loc}: {reason}",
                action.phrase()
            ),
            ErrorKind::Integrity {
                peer,
                action,
                loc,
                detail,
            } => write!(
                f,
                "message integrity check failed on the connection with peer {peer} while \
                 {role} was {} at {loc}: {detail}",
                action.phrase()
            ),
            ErrorKind::Unexpected {
                peer,
                loc,
                expected,
                got,
            } => write!(
                f,
                "peer {peer} sent {got} while {role} expected {expected} at {loc}"
            ),
            ErrorKind::WrongType {
                peer,
                loc,
                mismatch,
            } => write!(
                f,
                "peer {peer} sent a value of the wrong type at {loc}: {mismatch}"
            ),
            ErrorKind::UnknownPeer { peer, action, loc } => write!(
                f,
                "{peer} is not a peer of {role} (while {} at {loc})",
                action.phrase()
            ),
            ErrorKind::Connect {
                peer,
                addr,
                timeout_ms,
                reason,
            } => write!(
                f,
                "could not connect with peer {peer} at {addr} within {timeout_ms} ms: {reason}"
            ),
            ErrorKind::Listen { addr, reason } => {
                write!(f, "cannot listen on {addr}: {reason}")
            }
            ErrorKind::Config(e) => write!(f, "{e}"),
            ErrorKind::Fault { loc, message } => write!(f, "{message} at {loc}"),
        }
    }
}

impl std::error::Error for RtError {}
