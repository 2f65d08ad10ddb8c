//! The Unix-domain socket local clients connect through, as PostgreSQL's
//! `unix_socket_directories`: `DIR/.s.PGSQL.PORT`, where PORT is the TCP port, so
//! `psql -h DIR -p PORT` (and libpq's `host=DIR`) find it the way they find PostgreSQL's.
//!
//! A socket file left by a server that died is replaced; one another live server answers on
//! is not (starting would steal its clients). The file goes when the server stops.
//!
//! A client's stream ([`LocalStream`]) waits only for readability. tokio registers its
//! streams for writability too, and a Unix socket signals it each time the peer reads: every
//! answer the client read woke the connection's thread once more for nothing (epoll reported
//! EPOLLOUT), half again as many context switches per query as over TCP. Writes go straight
//! to the socket; when it is full (a client not reading its results), the connection's own
//! thread blocks until there is room, as a PostgreSQL backend blocks in send.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use oxibase_common::{Result, errinput};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::UnixListener;

/// A listening socket file, removed when dropped.
pub struct LocalSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl LocalSocket {
    /// Listens on `dir/.s.PGSQL.port`.
    pub fn bind(dir: &Path, port: u16) -> Result<LocalSocket> {
        let path = dir.join(format!(".s.PGSQL.{port}"));
        let shown = path.display().to_string();
        let failed = |e: &dyn std::fmt::Display| {
            errinput!(IO_ERROR, "could not listen on Unix socket {shown}: {e}")
        };
        if !dir.is_dir() {
            return Err(
                failed(&"no such directory").with_hint("Create it, or pick another --socket-dir.")
            );
        }
        if path.exists() {
            if UnixStream::connect(&path).is_ok() {
                return Err(failed(&"another server is listening there")
                    .with_hint("Stop that server, or use another --listen port or --socket-dir."));
            }
            std::fs::remove_file(&path).map_err(|e| failed(&e))?;
        }
        let listener = UnixListener::bind(&path).map_err(|e| failed(&e))?;
        let socket = LocalSocket { listener, path };
        // Connecting needs write permission on the file; roles and passwords decide who
        // gets in (PostgreSQL's unix_socket_permissions 0777).
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&socket.path, std::fs::Permissions::from_mode(0o777))
            .map_err(|e| failed(&e))?;
        Ok(socket)
    }

    /// The socket file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next local client.
    pub async fn accept(&self) -> std::io::Result<tokio::net::UnixStream> {
        self.listener.accept().await.map(|(socket, _)| socket)
    }
}

impl Drop for LocalSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A local client's stream, registered for readability only (see the module's notes).
pub struct LocalStream {
    socket: AsyncFd<UnixStream>,
}

impl LocalStream {
    /// Registers the stream with the current runtime.
    pub fn new(socket: UnixStream) -> std::io::Result<LocalStream> {
        socket.set_nonblocking(true)?;
        // Deprecated as unsound for a `T` whose descriptor may change or close while
        // registered; this one owns its descriptor for the AsyncFd's whole life, and the
        // replacement is `unsafe`, which the workspace forbids.
        #[allow(deprecated)]
        let socket = AsyncFd::with_interest(socket, Interest::READABLE)?;
        Ok(LocalStream { socket })
    }
}

impl AsyncRead for LocalStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            let mut ready = ready!(self.socket.poll_read_ready(cx))?;
            // Reading needs initialized bytes, and every call zeroes them anew (the caller's
            // buffer comes uninitialized each time): at most 8 KiB, however large the
            // buffer grew for an earlier message.
            let unfilled = buf.initialize_unfilled_to(buf.remaining().min(8192));
            match ready.try_io(|socket| (&mut socket.get_ref()).read(unfilled)) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                // Not readable after all: readiness was cleared, wait again.
                Err(_) => continue,
            }
        }
    }
}

impl AsyncWrite for LocalStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let mut socket = self.socket.get_ref();
        match socket.write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                // Full: wait for room on this connection's own thread.
                socket.set_nonblocking(false)?;
                let written = socket.write(buf);
                socket.set_nonblocking(true)?;
                Poll::Ready(written)
            }
            written => Poll::Ready(written),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.socket.get_ref().shutdown(std::net::Shutdown::Write))
    }
}
