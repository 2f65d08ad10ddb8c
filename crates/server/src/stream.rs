//! A plain client socket (TCP without TLS, or a Unix-domain socket) on the runtime the
//! connections share.
//!
//! The socket stays in blocking mode, registered with the runtime for readability only.
//! Reads are `recv(MSG_DONTWAIT)` once the runtime says there is something to read. tokio
//! registers its own streams for writability too, and a Unix socket signals that each time
//! the peer reads: every answer the client read would wake a runtime thread once more for
//! nothing. Writes go straight to the socket with `MSG_DONTWAIT`; when it is full (a client
//! not reading its results) the write waits in the kernel, after the runtime thread's other
//! connections moved to another thread ([`oxibase_common::worker::blocking`]), as a PostgreSQL
//! backend blocks in send.
//!
//! A connection that keeps a thread of its own for a while (see [`crate::connection`]) reads
//! instead with one blocking `recv`, which sleeps in the kernel until the client's bytes
//! arrive ([`Blocking::set`] allows it before each read). It does so only while nothing else
//! needs to wake it: its session is idle outside a transaction block (no idle-in-transaction
//! limit runs) and listens on no channel (no notification can come). What remains,
//! pg_terminate_backend, wakes a blocked read by shutting the socket's reading side
//! ([`Blocking::interrupt`]): the read ends as if the client had closed, and the loop sees
//! the termination. While it reads that way its socket is out of the runtime's poll set
//! (else each message would also wake a runtime thread for nothing); the first read through
//! the runtime puts it back.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};

/// The socket itself.
pub enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Socket {
    pub fn try_clone(&self) -> std::io::Result<Socket> {
        Ok(match self {
            Socket::Tcp(s) => Socket::Tcp(s.try_clone()?),
            Socket::Unix(s) => Socket::Unix(s.try_clone()?),
        })
    }

    pub fn shutdown(&self, how: Shutdown) -> std::io::Result<()> {
        match self {
            Socket::Tcp(s) => s.shutdown(how),
            Socket::Unix(s) => s.shutdown(how),
        }
    }

    /// Writes what it can of `message` and closes (a full socket loses the message, not
    /// the close).
    pub fn close_with(&self, message: Option<&[u8]>) {
        if let Some(m) = message {
            let _ = self.set_nonblocking(true);
            let _ = self.write(m);
        }
        let _ = self.shutdown(Shutdown::Both);
    }

    fn set_nonblocking(&self, nonblocking: bool) -> std::io::Result<()> {
        match self {
            Socket::Tcp(s) => s.set_nonblocking(nonblocking),
            Socket::Unix(s) => s.set_nonblocking(nonblocking),
        }
    }

    /// Reads, sleeping until there is something to read.
    fn read_waiting(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let read = match self {
                Socket::Tcp(s) => (&*s).read(buf),
                Socket::Unix(s) => (&*s).read(buf),
            };
            match read {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                read => return read,
            }
        }
    }

    /// Reads what is there, or fails with WouldBlock.
    fn read_now(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        use rustix::net::{RecvFlags, recv};
        loop {
            match recv(self, &mut *buf, RecvFlags::DONTWAIT) {
                Err(rustix::io::Errno::INTR) => continue,
                read => return read.map(|(_, n)| n).map_err(std::io::Error::from),
            }
        }
    }

    /// Writes what fits now, or fails with WouldBlock.
    fn write_now(&self, buf: &[u8]) -> std::io::Result<usize> {
        use rustix::net::{SendFlags, send};
        loop {
            match send(self, buf, SendFlags::DONTWAIT | SendFlags::NOSIGNAL) {
                Err(rustix::io::Errno::INTR) => continue,
                written => return written.map_err(std::io::Error::from),
            }
        }
    }

    /// Writes, waiting for room in the socket's buffer.
    fn write(&self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Socket::Tcp(s) => (&*s).write(buf),
            Socket::Unix(s) => (&*s).write(buf),
        }
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Socket::Tcp(s) => s.as_raw_fd(),
            Socket::Unix(s) => s.as_raw_fd(),
        }
    }
}

impl std::os::fd::AsFd for Socket {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Socket::Tcp(s) => s.as_fd(),
            Socket::Unix(s) => s.as_fd(),
        }
    }
}

/// Whether the connection may read by sleeping in `recv`, and how to wake it from there.
#[derive(Clone)]
pub struct Blocking {
    allowed: Arc<AtomicBool>,
    /// A second handle on the socket; none for a TLS connection, which never blocks.
    socket: Option<Arc<Socket>>,
}

impl Blocking {
    /// For a connection that always reads through the runtime.
    pub fn never() -> Blocking {
        Blocking { allowed: Arc::new(AtomicBool::new(false)), socket: None }
    }

    /// Whether reads can block at all (not under TLS).
    pub fn possible(&self) -> bool {
        self.socket.is_some()
    }

    /// Allows or forbids the next reads to block.
    pub fn set(&self, allowed: bool) {
        if self.socket.is_some() {
            self.allowed.store(allowed, Ordering::SeqCst);
        }
    }

    /// Wakes a read blocked now or about to block: its socket's reading side is shut, so
    /// the read ends as if the client had gone. Only for ending the connection.
    pub fn interrupt(&self) {
        if let Some(socket) = &self.socket
            && self.allowed.load(Ordering::SeqCst)
        {
            let _ = socket.shutdown(Shutdown::Read);
        }
    }
}

/// A plain client's stream.
pub struct ClientStream {
    socket: Registration,
    blocking: Arc<AtomicBool>,
}

/// Whether the socket is in the runtime's poll set. While reads block it is taken out: every
/// message the client sent would otherwise also wake a runtime thread in `epoll_wait` to
/// note a readiness nobody polls (measured: 0.7 context switches per queue job, 0.8 per CALL).
enum Registration {
    Polled(AsyncFd<Socket>),
    Plain(Socket),
    /// Only while moving between the two; an error there ends the connection.
    Gone,
}

impl Registration {
    fn socket(&self) -> std::io::Result<&Socket> {
        match self {
            Registration::Polled(fd) => Ok(fd.get_ref()),
            Registration::Plain(socket) => Ok(socket),
            Registration::Gone => Err(std::io::Error::other("client socket lost")),
        }
    }

    /// The socket, out of the runtime's poll set.
    fn plain(&mut self) -> std::io::Result<&Socket> {
        if let Registration::Polled(_) = self
            && let Registration::Polled(fd) = std::mem::replace(self, Registration::Gone)
        {
            *self = Registration::Plain(fd.into_inner());
        }
        self.socket()
    }

    /// The socket, in the runtime's poll set for readability.
    fn polled(&mut self) -> std::io::Result<&AsyncFd<Socket>> {
        if let Registration::Plain(_) = self
            && let Registration::Plain(socket) = std::mem::replace(self, Registration::Gone)
        {
            *self = Registration::Polled(register(socket)?);
        }
        match self {
            Registration::Polled(fd) => Ok(fd),
            _ => Err(std::io::Error::other("client socket lost")),
        }
    }
}

fn register(socket: Socket) -> std::io::Result<AsyncFd<Socket>> {
    // Deprecated as unsound for a `T` whose descriptor may change or close while
    // registered; this one owns its descriptor for the AsyncFd's whole life, and the
    // replacement is `unsafe`, which the workspace forbids.
    #[allow(deprecated)]
    AsyncFd::try_with_interest(socket, Interest::READABLE).map_err(|e| e.into_parts().1)
}

impl ClientStream {
    /// Registers the socket with the current runtime; returns with it the switch that lets
    /// its reads block.
    pub fn new(socket: Socket) -> std::io::Result<(ClientStream, Blocking)> {
        socket.set_nonblocking(false)?;
        let handle = Arc::new(socket.try_clone()?);
        let socket = Registration::Polled(register(socket)?);
        let allowed = Arc::new(AtomicBool::new(false));
        let blocking = Blocking { allowed: allowed.clone(), socket: Some(handle) };
        Ok((ClientStream { socket, blocking: allowed }, blocking))
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        // Reading needs initialized bytes, and every call zeroes them anew (the caller's
        // buffer comes uninitialized each time): at most 8 KiB, however large the buffer
        // grew for an earlier message.
        let limit = buf.remaining().min(8192);
        let this = self.get_mut();
        if this.blocking.load(Ordering::SeqCst) {
            let unfilled = buf.initialize_unfilled_to(limit);
            let n = this.socket.plain()?.read_waiting(unfilled)?;
            buf.advance(n);
            return Poll::Ready(Ok(()));
        }
        // Back in the poll set, a socket with bytes waiting is reported ready at once.
        let socket = this.socket.polled()?;
        loop {
            let mut ready = ready!(socket.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled_to(limit);
            match ready.try_io(|socket| socket.get_ref().read_now(unfilled)) {
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

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let socket = self.socket.socket()?;
        match socket.write_now(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                Poll::Ready(oxibase_common::worker::blocking(|| socket.write(buf)))
            }
            written => Poll::Ready(written),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.socket.socket()?.shutdown(Shutdown::Write))
    }
}
