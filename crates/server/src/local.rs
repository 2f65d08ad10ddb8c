//! The Unix-domain socket local clients connect through, as PostgreSQL's
//! `unix_socket_directories`: `DIR/.s.PGSQL.PORT`, where PORT is the TCP port, so
//! `psql -h DIR -p PORT` (and libpq's `host=DIR`) find it the way they find PostgreSQL's.
//!
//! A socket file left by a server that died is replaced; one another live server answers on
//! is not (starting would steal its clients). The file goes when the server stops.
//!
//! A local client's stream is a [`crate::stream::ClientStream`], as a plain TCP client's.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use oxibase_common::{Result, errinput};
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
