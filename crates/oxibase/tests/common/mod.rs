//! Helpers shared by the end-to-end tests: a real `oxibase serve` and its clients.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::{Read, Seek, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// A port no other test of this binary was given (tests run in parallel: two servers
/// handed the same port would have one fail to bind while the other answers for it).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap();
    loop {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// A running `oxibase serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub http: u16,
    /// Its stderr: a file, not a pipe, so a server that logs a lot never blocks on a pipe
    /// no one reads.
    log: std::fs::File,
}

impl Server {
    pub fn start(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        Server::start_at(free_port(), dir, extra, env)
    }

    /// Starts a server listening on `port` (to restart one where its clients expect it).
    pub fn start_at(port: u16, dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let http = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_oxibase"));
        cmd.args(["serve", "--data-dir"])
            .arg(dir)
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--http",
                &format!("127.0.0.1:{http}"),
            ])
            .args(extra)
            .stdout(Stdio::null());
        let log = tempfile::tempfile().unwrap();
        cmd.stderr(log.try_clone().unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start oxibase serve");
        let mut server = Server { child, port, http, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            // A server that exited says why (a port taken meanwhile by another test, ...).
            if let Ok(Some(status)) = server.child.try_wait() {
                let stderr = server.stderr();
                panic!("oxibase serve exited with {status} before listening:\n{stderr}");
            }
            assert!(Instant::now() < deadline, "server did not start listening in 60 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        // The port answers: make sure it is this server that does.
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("oxibase serve exited with {status}; another process answers on port {port}");
        }
        server
    }

    /// Stops the server (SIGTERM) and returns what it wrote on stderr.
    pub fn stop_with_log(self) -> String {
        let mut log = self.log.try_clone().unwrap();
        self.stop();
        let mut out = String::new();
        log.rewind().unwrap();
        log.read_to_string(&mut out).unwrap();
        out
    }

    /// What the server wrote on stderr so far.
    pub fn stderr(&mut self) -> String {
        let mut out = String::new();
        let _ = self.log.rewind();
        let _ = self.log.read_to_string(&mut out);
        out
    }

    pub fn trust(dir: &Path) -> Server {
        Server::start(dir, &["--auth", "trust"], &[])
    }

    pub fn url(&self) -> String {
        format!("host=127.0.0.1 port={} user=oxibase dbname=oxibase", self.port)
    }

    pub async fn connect(&self) -> Client {
        connect(&self.url()).await.unwrap()
    }

    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// A protocol 3.0 StartupMessage for user and database oxibase.
#[allow(dead_code)]
pub fn startup_message() -> Vec<u8> {
    startup_message_with(&[])
}

/// A protocol 3.0 StartupMessage for user and database oxibase, with more parameters.
#[allow(dead_code)]
pub fn startup_message_with(parameters: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196608i32.to_be_bytes());
    for &(k, v) in [("user", "oxibase"), ("database", "oxibase")].iter().chain(parameters) {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    msg.extend(body);
    msg
}

/// A simple-protocol Query message.
#[allow(dead_code)]
pub fn query_message(sql: &str) -> Vec<u8> {
    let mut m = vec![b'Q'];
    m.extend_from_slice(&((sql.len() + 5) as i32).to_be_bytes());
    m.extend_from_slice(sql.as_bytes());
    m.push(0);
    m
}

/// A frontend message: its type byte, length and body.
#[allow(dead_code)]
pub fn frontend_message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// Reads backend messages up to ReadyForQuery; returns those before it.
#[allow(dead_code)]
pub fn until_ready(s: &mut impl std::io::Read) -> Vec<(u8, Vec<u8>)> {
    let mut seen = Vec::new();
    loop {
        let (kind, body) = read_message(s);
        if kind == b'Z' {
            return seen;
        }
        seen.push((kind, body));
    }
}

/// Reads one backend message: its type byte and body.
#[allow(dead_code)]
pub fn read_message(s: &mut impl std::io::Read) -> (u8, Vec<u8>) {
    let mut head = [0u8; 5];
    s.read_exact(&mut head).unwrap();
    let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut body = vec![0u8; len - 4];
    s.read_exact(&mut body).unwrap();
    (head[0], body)
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

pub fn rows(messages: Vec<SimpleQueryMessage>) -> Vec<Vec<Option<String>>> {
    messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect()
}

/// One HTTP request to the server's API: (status, body).
pub fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}
