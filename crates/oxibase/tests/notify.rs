//! LISTEN / NOTIFY over the wire: a tokio-postgres listener sleeps until a notification
//! arrives; notifications are sent after commit, in order, never for a rolled-back
//! transaction, and not to a session until its own transaction block ends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Server, runtime};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client, NoTls};

/// A client whose notifications arrive on a channel.
async fn listener(url: &str) -> (Client, mpsc::UnboundedReceiver<(String, String)>) {
    let (client, mut connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
    tokio::spawn(async move {
        while let Some(Ok(message)) = messages.next().await {
            if let AsyncMessage::Notification(n) = message {
                let _ = tx.send((n.channel().to_string(), n.payload().to_string()));
            }
        }
    });
    (client, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<(String, String)>) -> Option<(String, String)> {
    tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.ok().flatten()
}

async fn nothing(rx: &mut mpsc::UnboundedReceiver<(String, String)>) {
    let got = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await;
    assert!(got.is_err(), "unexpected notification {got:?}");
}

fn note(channel: &str, payload: &str) -> Option<(String, String)> {
    Some((channel.to_string(), payload.to_string()))
}

#[test]
fn listeners_sleep_until_a_committed_notification_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let (a, mut inbox) = listener(&server.url()).await;
        let b = server.connect().await;
        a.batch_execute("LISTEN jobs").await.unwrap();
        // An idle listener is woken by a commit in another session.
        b.batch_execute("NOTIFY jobs, 'first'").await.unwrap();
        assert_eq!(next(&mut inbox).await, note("jobs", "first"));
        // Sent at commit, in the order made, duplicates once; never on rollback.
        b.batch_execute("BEGIN; NOTIFY jobs, 'a'; SELECT pg_notify('jobs', 'b'); NOTIFY jobs, 'a'")
            .await
            .unwrap();
        nothing(&mut inbox).await;
        b.batch_execute("COMMIT").await.unwrap();
        assert_eq!(next(&mut inbox).await, note("jobs", "a"));
        assert_eq!(next(&mut inbox).await, note("jobs", "b"));
        nothing(&mut inbox).await;
        b.batch_execute("BEGIN; NOTIFY jobs, 'lost'; ROLLBACK").await.unwrap();
        nothing(&mut inbox).await;
        // Other channels are not heard; UNLISTEN stops hearing.
        b.batch_execute("NOTIFY other, 'x'").await.unwrap();
        nothing(&mut inbox).await;
        // A listener inside its own transaction block gets them when the block ends.
        a.batch_execute("BEGIN").await.unwrap();
        b.batch_execute("NOTIFY jobs, 'later'").await.unwrap();
        nothing(&mut inbox).await;
        a.batch_execute("COMMIT").await.unwrap();
        assert_eq!(next(&mut inbox).await, note("jobs", "later"));
        a.batch_execute("UNLISTEN jobs").await.unwrap();
        b.batch_execute("NOTIFY jobs, 'unheard'").await.unwrap();
        nothing(&mut inbox).await;
        // LISTEN in a rolled-back block never took effect.
        a.batch_execute("BEGIN; LISTEN jobs; ROLLBACK").await.unwrap();
        b.batch_execute("NOTIFY jobs, 'unheard either'").await.unwrap();
        nothing(&mut inbox).await;
        // A session hears its own notifications; payloads are bounded.
        a.batch_execute("LISTEN self").await.unwrap();
        a.batch_execute("NOTIFY self, 'me'").await.unwrap();
        assert_eq!(next(&mut inbox).await, note("self", "me"));
        let long = "x".repeat(9000);
        let e = b.execute("SELECT pg_notify('self', $1)", &[&long]).await.unwrap_err();
        assert_eq!(e.code(), Some(&tokio_postgres::error::SqlState::INVALID_PARAMETER_VALUE));
    });
}

#[test]
fn many_listeners_each_get_every_notification_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let mut inboxes = Vec::new();
        let mut clients = Vec::new();
        for _ in 0..4 {
            let (c, rx) = listener(&server.url()).await;
            c.batch_execute("LISTEN work").await.unwrap();
            clients.push(c);
            inboxes.push(rx);
        }
        let sender = server.connect().await;
        for i in 0..20 {
            sender.execute("SELECT pg_notify('work', $1)", &[&i.to_string()]).await.unwrap();
        }
        for rx in &mut inboxes {
            for i in 0..20 {
                assert_eq!(next(rx).await, note("work", &i.to_string()));
            }
        }
    });
}

/// A listener's connection reads by sleeping in the kernel while it listens on nothing, and
/// a wake then means termination; once LISTEN took effect a wake is a notification, however
/// soon it comes (stop 20's first version closed the connection when one came before the
/// connection's loop went round).
#[test]
fn notifications_racing_listen_never_end_the_listener() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::trust(dir.path());
    runtime().block_on(async {
        let (a, mut inbox) = listener(&server.url()).await;
        let b = server.connect().await;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let notifier = {
            let stop = stop.clone();
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    b.batch_execute("NOTIFY flip, 'x'").await.unwrap();
                }
            })
        };
        for i in 0..500 {
            a.batch_execute("LISTEN flip").await.unwrap_or_else(|e| panic!("round {i}: {e}"));
            a.batch_execute("UNLISTEN flip").await.unwrap_or_else(|e| panic!("round {i}: {e}"));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        notifier.await.unwrap();
        assert!(!a.is_closed());
        assert!(next(&mut inbox).await.is_some(), "some notifications were heard");
    });
}
