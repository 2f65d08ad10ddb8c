//! A throwaway PostgreSQL server for side-by-side runs, driven with pgbench.
//!
//! The server is initialised in a temporary directory, runs as the `postgres` user when this
//! process is root (PostgreSQL refuses to run as root), listens on a loopback port with trust
//! authentication, and is stopped when dropped. fsync and synchronous_commit stay on.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running PostgreSQL server.
pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    child: Option<Child>,
}

/// What pgbench reported.
#[derive(Clone, Debug)]
pub struct PgbenchResult {
    /// Transactions per second.
    pub tps: f64,
    /// Average latency in milliseconds.
    pub latency_ms: f64,
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Finds PostgreSQL's server binaries (Debian keeps them out of PATH).
fn find_bin() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    candidates.sort();
    candidates.into_iter().rev().find(|p| p.join("postgres").exists())
}

fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=postgres", "--regid=postgres", "--init-groups"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl PgServer {
    /// Starts a server, or explains why it could not.
    pub fn start() -> Result<PgServer, String> {
        let bin =
            find_bin().ok_or("PostgreSQL server binaries not found under /usr/lib/postgresql")?;
        let dir = tempfile::Builder::new()
            .prefix("oxibase-pg")
            .tempdir_in("/tmp")
            .map_err(|e| e.to_string())?;
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .map_err(|e| e.to_string())?;
            if !ok.success() {
                return Err("could not chown the PostgreSQL directory to postgres".into());
            }
        }
        let data = dir.path().join("data");
        let out = as_postgres(&bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "-D"])
            .arg(&data)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let port = free_port().map_err(|e| e.to_string())?;
        let child = as_postgres(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=on",
                "-c",
                "synchronous_commit=on",
            ])
            .args(["-c", "shared_buffers=256MB", "-c", "max_connections=100"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        let server = PgServer { dir, bin, port, child: Some(child) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if server.psql("select 1").is_ok() {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("PostgreSQL did not start within 30 s".into())
    }

    /// Runs SQL through psql and returns its unaligned output.
    pub fn psql(&self, sql: &str) -> Result<String, String> {
        let out = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            .args(["-p", &self.port.to_string(), "-c", sql])
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs pgbench with a custom script for `seconds` with `clients` connections.
    pub fn pgbench(
        &self,
        script: &str,
        clients: usize,
        seconds: u64,
    ) -> Result<PgbenchResult, String> {
        let path = self.dir.path().join("script.sql");
        std::fs::write(&path, script).map_err(|e| e.to_string())?;
        let threads = clients.min(2);
        let out = Command::new("pgbench")
            .args(["-n", "-h", "127.0.0.1", "-U", "postgres", "-p", &self.port.to_string()])
            .args([
                "-c",
                &clients.to_string(),
                "-j",
                &threads.to_string(),
                "-T",
                &seconds.to_string(),
                "-f",
            ])
            .arg(&path)
            .arg("postgres")
            .output()
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!("pgbench failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let number_after = |label: &str| {
            text.lines()
                .find(|l| l.contains(label))
                .and_then(|l| l.split(label).nth(1))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<f64>().ok())
        };
        Ok(PgbenchResult {
            tps: number_after("tps = ")
                .ok_or_else(|| format!("no tps in pgbench output: {text}"))?,
            latency_ms: number_after("latency average = ").unwrap_or(0.0),
        })
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin.join("pg_ctl"))
            .arg("stop")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate"])
            .output();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
