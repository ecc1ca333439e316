//! The in-process transport: one channel per ordered pair of roles.
//!
//! Used by tests and by the interpreter to run projected programs as threads. A send never
//! blocks (channels are unbounded, which is exactly the asynchronous semantics of the design
//! card); a receive from a role whose session was dropped fails once its queued messages
//! are consumed, like a TCP peer that disconnects.

use std::sync::{Mutex, mpsc};
use std::time::Duration;

use super::{LinkError, lock};
use crate::value::Message;

pub(crate) struct LocalLink {
    tx: mpsc::Sender<Message>,
    rx: Mutex<mpsc::Receiver<Message>>,
}

/// Builds the links of a full mesh: `result[i]` holds role i's links to every other role,
/// in the order of `n` roles with role i itself left out.
pub(crate) fn mesh(n: usize) -> Vec<Vec<LocalLink>> {
    // channel[from][to]
    let mut senders: Vec<Vec<Option<mpsc::Sender<Message>>>> =
        (0..n).map(|_| (0..n).map(|_| None).collect()).collect();
    let mut receivers: Vec<Vec<Option<mpsc::Receiver<Message>>>> =
        (0..n).map(|_| (0..n).map(|_| None).collect()).collect();
    for from in 0..n {
        for to in 0..n {
            if from != to {
                let (tx, rx) = mpsc::channel();
                senders[from][to] = Some(tx);
                receivers[to][from] = Some(rx);
            }
        }
    }
    let mut out = Vec::with_capacity(n);
    for (me, (txs, rxs)) in senders.into_iter().zip(receivers).enumerate() {
        let links = txs
            .into_iter()
            .zip(rxs)
            .enumerate()
            .filter(|(other, _)| *other != me)
            .filter_map(|(_, pair)| match pair {
                (Some(tx), Some(rx)) => Some(LocalLink {
                    tx,
                    rx: Mutex::new(rx),
                }),
                _ => None,
            })
            .collect();
        out.push(links);
    }
    out
}

impl LocalLink {
    pub(crate) fn send(&self, msg: Message) -> Result<(), LinkError> {
        self.tx
            .send(msg)
            .map_err(|_| LinkError::Closed("its session has ended".to_string()))
    }

    pub(crate) fn recv(&self, timeout: Option<Duration>) -> Result<Message, LinkError> {
        let rx = lock(&self.rx);
        match timeout {
            None => rx
                .recv()
                .map_err(|_| LinkError::Closed("its session has ended".to_string())),
            Some(t) => rx.recv_timeout(t).map_err(|e| match e {
                mpsc::RecvTimeoutError::Timeout => LinkError::Timeout,
                mpsc::RecvTimeoutError::Disconnected => {
                    LinkError::Closed("its session has ended".to_string())
                }
            }),
        }
    }
}
