//! LISTEN / NOTIFY: asynchronous notifications between sessions, delivered after commit.
//!
//! ```text
//!   session A: LISTEN jobs                      (registered when A's transaction commits)
//!   session B: BEGIN; INSERT ...; NOTIFY jobs, '42'; COMMIT
//!                          └─ queued in B's block ─┘ published once the commit is durable
//!   session A: its inbox receives (B's pid, "jobs", "42"); its waker (the server's
//!              connection loop) sends NotificationResponse while A is idle
//! ```
//!
//! As in PostgreSQL: notifications of a rolled-back transaction are never sent; identical
//! notifications (channel and payload) of one transaction are sent once; a transaction's
//! notifications arrive in the order they were made; a session that listens gets its own
//! notifications too; LISTEN and UNLISTEN take effect at commit. Payloads are at most 8000
//! bytes. NB: transactions committing at the same moment publish in the order their commits
//! returned, which can differ from their commit timestamps when they share a group commit.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use oxibase_common::{Result, errinput};
use parking_lot::Mutex;

/// The most bytes a payload may have (PostgreSQL's limit).
pub const MAX_PAYLOAD: usize = 8000;

/// A notification as a listener receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The notifying session's backend id.
    pub pid: i32,
    /// The channel.
    pub channel: String,
    /// The payload ('' when none was given).
    pub payload: String,
}

/// Called when a session's inbox gets a notification (the server wakes its connection).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// One session's inbox and its waker.
#[derive(Default)]
pub(crate) struct Inbox {
    pub(crate) queue: VecDeque<Notification>,
    pub(crate) waker: Option<Waker>,
}

/// The database's channels and the listening sessions' inboxes.
#[derive(Default)]
pub(crate) struct Notifier {
    channels: Mutex<HashMap<String, HashSet<i32>>>,
    inboxes: Mutex<HashMap<i32, Inbox>>,
    /// Notifications in all inboxes (changed under `inboxes`' lock): a session with nothing
    /// to take, after every statement, does not lock the inboxes shared by all sessions.
    queued: AtomicUsize,
}

/// What a transaction does to its session's channels, applied at commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ListenOp {
    Listen(String),
    Unlisten(String),
    UnlistenAll,
}

impl Notifier {
    /// Applies a committed transaction's LISTEN and UNLISTEN; returns whether the session
    /// listens on any channel after them.
    pub(crate) fn apply(&self, pid: i32, ops: &[ListenOp]) -> bool {
        let mut channels = self.channels.lock();
        for op in ops {
            match op {
                ListenOp::Listen(c) => {
                    channels.entry(c.clone()).or_default().insert(pid);
                }
                ListenOp::Unlisten(c) => {
                    if let Some(set) = channels.get_mut(c) {
                        set.remove(&pid);
                    }
                }
                ListenOp::UnlistenAll => channels.values_mut().for_each(|s| {
                    s.remove(&pid);
                }),
            }
        }
        channels.retain(|_, s| !s.is_empty());
        channels.values().any(|s| s.contains(&pid))
    }

    /// Delivers a committed transaction's notifications to every listener.
    pub(crate) fn publish(&self, pid: i32, notes: Vec<(String, String)>) {
        if notes.is_empty() {
            return;
        }
        let channels = self.channels.lock();
        let mut inboxes = self.inboxes.lock();
        let mut woken = Vec::new();
        for (channel, payload) in notes {
            let Some(listeners) = channels.get(&channel) else { continue };
            for listener in listeners {
                let inbox = inboxes.entry(*listener).or_default();
                self.queued.fetch_add(1, Ordering::Release);
                inbox.queue.push_back(Notification {
                    pid,
                    channel: channel.clone(),
                    payload: payload.clone(),
                });
                if let Some(w) = &inbox.waker
                    && !woken.contains(listener)
                {
                    woken.push(*listener);
                    w();
                }
            }
        }
    }

    /// Takes a session's received notifications.
    pub(crate) fn take(&self, pid: i32) -> Vec<Notification> {
        // A notification for this session was counted before its waker ran, and the waker
        // (or the statement that follows) is what makes the connection take.
        if self.queued.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        match self.inboxes.lock().get_mut(&pid) {
            Some(inbox) => {
                self.queued.fetch_sub(inbox.queue.len(), Ordering::Release);
                inbox.queue.drain(..).collect()
            }
            None => Vec::new(),
        }
    }

    /// Sets the function that wakes a session's connection when a notification arrives.
    pub(crate) fn set_waker(&self, pid: i32, waker: Waker) {
        self.inboxes.lock().entry(pid).or_default().waker = Some(waker);
    }

    /// Wakes a session's connection (to deliver something other than a notification: a
    /// termination).
    pub(crate) fn wake(&self, pid: i32) {
        let waker = self.inboxes.lock().get(&pid).and_then(|i| i.waker.clone());
        if let Some(waker) = waker {
            waker();
        }
    }

    /// Forgets a session (it ended).
    pub(crate) fn remove(&self, pid: i32) {
        self.apply(pid, &[ListenOp::UnlistenAll]);
        if let Some(inbox) = self.inboxes.lock().remove(&pid) {
            self.queued.fetch_sub(inbox.queue.len(), Ordering::Release);
        }
    }
}

/// Checks a NOTIFY's channel and payload.
pub(crate) fn check(channel: &str, payload: &str) -> Result<()> {
    if channel.is_empty() {
        return Err(errinput!(INVALID_PARAMETER_VALUE, "channel name cannot be empty"));
    }
    if payload.len() >= MAX_PAYLOAD {
        return Err(errinput!(INVALID_PARAMETER_VALUE, "payload string too long")
            .with_detail(format!("at most {} bytes", MAX_PAYLOAD - 1)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(channel: &str, payload: &str) -> (String, String) {
        (channel.to_string(), payload.to_string())
    }

    /// `take` skips the shared inboxes while none holds anything; what is queued is still
    /// taken, by each listener, once.
    #[test]
    fn each_listener_takes_its_notifications_once() {
        let notifier = Notifier::default();
        assert!(notifier.take(1).is_empty());
        assert!(notifier.apply(1, &[ListenOp::Listen("jobs".into())]));
        assert!(notifier.apply(2, &[ListenOp::Listen("jobs".into())]));
        notifier.publish(3, vec![note("jobs", "a"), note("other", "x"), note("jobs", "b")]);
        let payloads = |n: Vec<Notification>| n.into_iter().map(|n| n.payload).collect::<Vec<_>>();
        assert_eq!(payloads(notifier.take(1)), ["a", "b"]);
        assert!(notifier.take(1).is_empty());
        assert_eq!(payloads(notifier.take(2)), ["a", "b"]);
        assert_eq!(notifier.queued.load(Ordering::Acquire), 0);
        // A session that ends with notifications untaken leaves nothing counted.
        notifier.publish(3, vec![note("jobs", "c")]);
        notifier.remove(1);
        assert_eq!(payloads(notifier.take(2)), ["c"]);
        assert_eq!(notifier.queued.load(Ordering::Acquire), 0);
        notifier.publish(3, vec![note("jobs", "d")]);
        assert_eq!(payloads(notifier.take(2)), ["d"]);
    }
}
