//! A connection's message loop: pgwire's, plus notifications pushed to an idle client.
//!
//! pgwire's `process_socket` only ever waits for the client's next message, so a server
//! cannot send anything unasked. LISTEN needs exactly that: a listener sleeps until a
//! notification arrives. This loop is pgwire's (TLS negotiation, startup timeout, message
//! dispatch, FATAL handling) with one more thing to wait for: the session's notification
//! waker. Everything is sent from this one task, between messages, so a notification never
//! interleaves with a response.
//!
//! A client comes over TCP (SSL negotiation first) or over a Unix-domain socket (no TLS: the
//! socket file's directory is the boundary, as in PostgreSQL).

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use oxibase_sql::session::Prepared;
use pgwire::api::DefaultClient;
use pgwire::api::{ClientInfo, ErrorHandler, PgWireConnectionState, PgWireServerHandlers};
use pgwire::messages::response::NotificationResponse;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::TlsAcceptor;
use pgwire::tokio::server::{
    MaybeTls, PgWireMessageServerCodec, negotiate_tls, process_error, process_message,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::codec::{Framed, FramedParts};

use crate::stream::{Blocking, ClientStream, Socket};
use crate::wire::{Conn, Handlers};

/// How long a client may take to finish startup (pgwire's default).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

type Wire<S> = Framed<S, PgWireMessageServerCodec<Prepared>>;

/// Serves one client connection until it ends.
pub async fn serve(
    client: Socket,
    tls: Option<TlsAcceptor>,
    handlers: Handlers,
) -> std::io::Result<()> {
    let startup_timeout = tokio::time::sleep(STARTUP_TIMEOUT);
    tokio::pin!(startup_timeout);
    match client {
        Socket::Tcp(socket) => {
            let socket = TcpStream::from_std(socket)?;
            let socket = tokio::select! {
                _ = &mut startup_timeout => return Ok(()),
                socket = negotiate_tls(socket, tls) => socket?,
            };
            let Some(socket) = socket else { return Ok(()) };
            let FramedParts { io, codec, read_buf, write_buf, .. } = socket.into_parts();
            let parts = (codec, read_buf, write_buf);
            match io {
                MaybeTls::Plain(tcp) => {
                    let (stream, blocking) = ClientStream::new(Socket::Tcp(tcp.into_std()?))?;
                    run(reframed(stream, parts), startup_timeout, handlers, blocking).await
                }
                io => run(reframed(io, parts), startup_timeout, handlers, Blocking::never()).await,
            }
        }
        Socket::Unix(socket) => {
            // A local client has no address; PostgreSQL shows it as NULL, pgwire wants one.
            let local = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            let codec = PgWireMessageServerCodec::new(DefaultClient::new(local, false));
            let (stream, blocking) = ClientStream::new(Socket::Unix(socket))?;
            let mut socket = Framed::new(stream, codec);
            socket.set_state(PgWireConnectionState::AwaitingStartup);
            run(socket, startup_timeout, handlers, blocking).await
        }
    }
}

/// A framed connection moved onto another stream: what was read and not yet decoded, and
/// the codec's state, go with it.
fn reframed<S>(
    io: S,
    (codec, read_buf, write_buf): (PgWireMessageServerCodec<Prepared>, BytesMut, BytesMut),
) -> Wire<S> {
    let mut parts = FramedParts::new(io, codec);
    parts.read_buf = read_buf;
    parts.write_buf = write_buf;
    Framed::from_parts(parts)
}

/// Serves a connected socket until the client leaves or the session is ended.
async fn run<S>(
    mut socket: Wire<S>,
    startup_timeout: std::pin::Pin<&mut tokio::time::Sleep>,
    handlers: Handlers,
    blocking: Blocking,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static,
{
    let conn = handlers.conn();
    let result = message_loop(&mut socket, startup_timeout, &handlers, &conn, blocking).await;
    // The session ends before the socket closes, as a PostgreSQL backend exits: a client
    // that sees the connection closed finds its transaction rolled back, its locks free and
    // its row gone from pg_stat_activity.
    conn.end_session();
    result
}

/// The message loop on a connected socket.
async fn message_loop<S>(
    socket: &mut Wire<S>,
    mut startup_timeout: std::pin::Pin<&mut tokio::time::Sleep>,
    handlers: &Handlers,
    conn: &Arc<Conn>,
    blocking: Blocking,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static,
{
    let wake = Arc::new(tokio::sync::Notify::new());
    let mut watching = false;
    // How many messages in a row left the shared thread.
    let mut handed_off = 0u32;
    // Every handler is the connection's Conn (named, so the socket's statement type is too).
    let errors = handlers.error_handler();
    loop {
        let starting = matches!(
            socket.state(),
            PgWireConnectionState::AwaitingStartup
                | PgWireConnectionState::AuthenticationInProgress
        );
        if !watching && !starting {
            let waker = wake.clone();
            let blocking = blocking.clone();
            watching = conn.watch_notifications(Arc::new(move || {
                waker.notify_one();
                // Only pg_terminate_backend wakes a session that may block (it listens on
                // no channel, so no notification comes).
                blocking.interrupt();
            }));
        }
        // A connection whose last two messages left the shared thread (they waited, or ran
        // long) keeps the thread it is on and waits there for its next message, in a
        // blocking read, as a connection with a thread of its own would: a client sending
        // such statements one after another (CALLs, queue takers, each committing) pays no
        // hand-off for each. One quick message and it is back among the shared thread's
        // connections. (After one: a transaction's COMMIT hands off and its next BEGIN is
        // quick, and waking a thread for that BEGIN alone cost TPC-B 7%.)
        let dedicated = handed_off >= 2 && blocking.possible() && !starting && conn.may_block();
        blocking.set(dedicated);
        // After allowing the read to block: a termination that came before woke nothing.
        if !starting && conn.terminated() {
            return send_terminated(socket).await;
        }
        let msg = if dedicated {
            // Off the shared thread already (unless the hand-off gave it back): a no-op.
            tokio::task::block_in_place(|| futures::executor::block_on(socket.next()))
        } else {
            tokio::select! {
                _ = &mut startup_timeout, if starting => None,
                _ = wake.notified(), if watching => {
                    if conn.terminated() {
                        return send_terminated(socket).await;
                    }
                    send_notifications(socket, conn).await?;
                    continue;
                }
                msg = socket.next() => msg,
            }
        };
        // Not while the message is handled: a LISTEN in it makes wakes mean notifications.
        blocking.set(false);
        let Some(Ok(msg)) = msg else {
            // A blocked read ends this way when pg_terminate_backend wakes it.
            if !starting && conn.terminated() {
                return send_terminated(socket).await;
            }
            break;
        };
        if matches!(msg, PgWireFrontendMessage::Terminate(_)) {
            break;
        }
        let is_extended_query = match socket.state() {
            PgWireConnectionState::CopyInProgress(is_extended_query) => is_extended_query,
            _ => msg.is_extended_query(),
        };
        let is_cancel_request = matches!(msg, PgWireFrontendMessage::CancelRequest(_));
        let handoffs = oxibase_common::worker::handoffs();
        let result = process_message(
            msg,
            socket,
            conn.clone(),
            conn.clone(),
            conn.clone(),
            conn.clone(),
            conn.clone(),
        )
        .await;
        handed_off =
            if oxibase_common::worker::handoffs() != handoffs { handed_off + 1 } else { 0 };
        if let Err(mut e) = result {
            errors.on_error(&*socket, &mut e);
            // A FATAL error ends the connection after its ErrorResponse, with no
            // ReadyForQuery (pgwire's process_error sends one; asyncpg, for one, takes that
            // for a broken protocol).
            if e.is_fatal() {
                let info: pgwire::error::ErrorInfo = e.into();
                socket.send(PgWireBackendMessage::ErrorResponse(info.into())).await?;
                break;
            }
            process_error(socket, e, is_extended_query).await?;
        }
        if is_cancel_request {
            break;
        }
        if watching && !is_extended_query {
            send_notifications(socket, conn).await?;
        }
    }
    Ok(())
}

/// Ends a connection pg_terminate_backend ended, as PostgreSQL does: FATAL 57P01.
async fn send_terminated<S>(socket: &mut S) -> std::io::Result<()>
where
    S: futures::Sink<PgWireBackendMessage, Error = std::io::Error> + Unpin,
{
    let info = pgwire::error::ErrorInfo::new(
        "FATAL".into(),
        "57P01".into(),
        "terminating connection due to administrator command".into(),
    );
    socket.send(PgWireBackendMessage::ErrorResponse(info.into())).await
}

/// Sends the session's pending notifications (none while it is inside a transaction block).
async fn send_notifications<S>(socket: &mut S, conn: &Conn) -> std::io::Result<()>
where
    S: futures::Sink<PgWireBackendMessage, Error = std::io::Error> + Unpin,
{
    let notes = conn.pending_notifications();
    if notes.is_empty() {
        return Ok(());
    }
    for n in notes {
        let message = NotificationResponse::new(n.pid, n.channel, n.payload);
        socket.feed(PgWireBackendMessage::NotificationResponse(message)).await?;
    }
    socket.flush().await
}
