//! Runs the MVCC scenario scripts in `tests/scripts/`: one case per file, each with a header
//! saying what it proves, checked against golden output (regenerate with
//! `UPDATE_GOLDENFILES=1 cargo test -p oxibase-mvcc --test scenarios`).
//!
//! Script language (the prefix names a transaction; each line is one statement):
//!
//! ```text
//! t1: begin [isolation=snapshot|read_committed|serializable] [read_only=true] [as_of=t0]
//! t1: get KEY...            t1: get_latest KEY          t1: scan [from=K] [to=K] [reverse=true]
//! t1: put KEY=VALUE...      t1: delete KEY...
//! t1: lock KEY [mode=key_share|share|no_key_update|update] [wait=block|nowait|skip] [timeout_ms=N]
//! t1: savepoint NAME        t1: rollback_to NAME
//! t1: commit                t1: rollback
//! t2: put a=1 [async]       runs on a thread; prints "blocked" once it waits for a row lock
//! t2: await                 waits for the async command and prints its result
//! t1: get a [same_statement]  runs as part of the previous line's statement
//! gc                        collects garbage and prints how many versions went
//! dump                      prints every version in the engine, timestamps named by committer
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::collections::{BTreeMap, HashMap};
use std::error::Error;
use std::fmt::Write as _;
use std::ops::Bound;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use goldenscript::{ArgumentConsumer, Command, Context};
use oxibase_engine::{Engine, Memory};
use oxibase_mvcc::version::{decode_head, decode_value, is_head, split_version_key};
use oxibase_mvcc::{
    Isolation, LockMode, LockOutcome, LockWait, Mvcc, MvccOptions, Savepoint, Transaction, Ts,
    TxnOptions,
};

type Outcome = Result<String, String>;

#[allow(clippy::large_enum_variant)] // a handful per scenario
enum Slot {
    Ready(Transaction),
    Waiting(JoinHandle<(Option<Transaction>, Outcome)>),
}

struct Runner {
    engine: std::sync::Arc<Memory>,
    store: Mvcc,
    txns: HashMap<String, Slot>,
    savepoints: HashMap<(String, String), Savepoint>,
    /// Commit timestamps by the name of the transaction that committed.
    commits: BTreeMap<Ts, String>,
    names: HashMap<String, Ts>,
}

impl Runner {
    fn new() -> Self {
        let options = MvccOptions {
            maintenance_interval: None,
            deadlock_check_interval: Duration::from_millis(10),
            ..Default::default()
        };
        let engine = std::sync::Arc::new(Memory::new());
        let store = Mvcc::open(Box::new(engine.clone()), None, options).unwrap();
        Self {
            engine,
            store,
            txns: HashMap::new(),
            savepoints: HashMap::new(),
            commits: BTreeMap::new(),
            names: HashMap::new(),
        }
    }

    fn take(&mut self, name: &str) -> Result<Transaction, Box<dyn Error>> {
        match self.txns.remove(name) {
            Some(Slot::Ready(txn)) => Ok(txn),
            Some(Slot::Waiting(handle)) => {
                self.txns.insert(name.to_string(), Slot::Waiting(handle));
                Err(format!("{name} is still running an async command").into())
            }
            None => Err(format!("no transaction {name}").into()),
        }
    }

    fn dump(&self) -> Result<String, Box<dyn Error>> {
        let mut out = String::new();
        for item in self.raw_engine().scan((Bound::Unbounded, Bound::Unbounded)) {
            let (key, value) = item?;
            if key[0] == 0 {
                continue; // store metadata
            }
            // A key's head (its latest version) is stored under the bare key; the versions
            // it superseded follow, newest first.
            let (user_key, ts, value, head) = if is_head(&value) {
                let (ts, v) = decode_head(value)?;
                (key.clone(), ts, v, true)
            } else {
                let (user_key, ts) = split_version_key(&key)?;
                (user_key.to_vec(), ts, decode_value(value)?, false)
            };
            let who = self.commits.get(&ts).cloned().unwrap_or_else(|| "?".into());
            let value = match value {
                Some(v) => format!("{:?}", String::from_utf8_lossy(&v)),
                None => "<deleted>".into(),
            };
            let role = if head { " (head)" } else { "" };
            writeln!(out, "{}@{who} → {value}{role}", String::from_utf8_lossy(&user_key))?;
        }
        Ok(out)
    }

    fn raw_engine(&self) -> &dyn Engine {
        self.engine.as_ref()
    }
}

/// Takes a `key=value` argument and parses it.
fn key_arg<T: std::str::FromStr>(
    args: &mut ArgumentConsumer<'_>,
    key: &str,
) -> Result<Option<T>, String>
where
    T::Err: std::fmt::Display,
{
    args.take_key(key).map(|v| v.parse::<T>().map_err(|e| format!("bad {key}: {e}"))).transpose()
}

/// Runs one statement of a transaction (or, with `continues`, more of the previous one).
fn run_statement(txn: &Transaction, command: &Command, continues: bool) -> Outcome {
    let err = |e: oxibase_common::Error| format!("{} ({})", e.message(), e.code());
    if !continues {
        txn.begin_statement().map_err(err)?;
    }
    let mut out = String::new();
    let mut args = command.consume_args();
    match command.name.as_str() {
        "get" | "get_latest" => {
            while let Some(key) = args.next_pos() {
                let value = if command.name == "get" {
                    txn.get(key.as_bytes())
                } else {
                    txn.get_latest(key.as_bytes())
                };
                let value = value.map_err(err)?;
                let shown = value
                    .map_or("None".to_string(), |v| format!("{:?}", String::from_utf8_lossy(&v)));
                writeln!(out, "{key} → {shown}").ok();
            }
        }
        "scan" => {
            let from = key_arg::<String>(&mut args, "from")?;
            let to = key_arg::<String>(&mut args, "to")?;
            let reverse = key_arg::<bool>(&mut args, "reverse")?.unwrap_or(false);
            let range = (
                from.map_or(Bound::Unbounded, |f| Bound::Included(f.into_bytes())),
                to.map_or(Bound::Unbounded, |t| Bound::Excluded(t.into_bytes())),
            );
            let scan = txn.scan(range).map_err(err)?;
            let items: Vec<_> = if reverse { scan.rev().collect() } else { scan.collect() };
            for item in items {
                let (k, v) = item.map_err(err)?;
                writeln!(
                    out,
                    "{} → {:?}",
                    String::from_utf8_lossy(&k),
                    String::from_utf8_lossy(&v)
                )
                .ok();
            }
            if out.is_empty() {
                out.push_str("(empty)\n");
            }
        }
        "put" => {
            while let Some((key, value)) = args.next_key() {
                txn.put(key.as_bytes(), value.as_bytes().to_vec()).map_err(err)?;
            }
        }
        "delete" => {
            while let Some(key) = args.next_pos() {
                txn.delete(key.as_bytes()).map_err(err)?;
            }
        }
        "lock" => {
            let key = args.next_pos().ok_or("lock takes a key")?;
            let mode = match key_arg::<String>(&mut args, "mode")?.as_deref() {
                Some("key_share") => LockMode::KeyShare,
                Some("share") => LockMode::Share,
                Some("no_key_update") => LockMode::NoKeyUpdate,
                Some("update") | None => LockMode::Update,
                Some(m) => return Err(format!("unknown lock mode {m}")),
            };
            let timeout = key_arg::<u64>(&mut args, "timeout_ms")?.map(Duration::from_millis);
            let wait = match key_arg::<String>(&mut args, "wait")?.as_deref() {
                Some("nowait") => LockWait::NoWait,
                Some("skip") => LockWait::SkipLocked,
                Some("block") | None => LockWait::Wait(timeout),
                Some(w) => return Err(format!("unknown wait policy {w}")),
            };
            match txn.lock(key.as_bytes(), mode, wait).map_err(err)? {
                LockOutcome::Acquired => writeln!(out, "locked {key} {}", mode.sql()).ok(),
                LockOutcome::Skipped => {
                    writeln!(out, "skipped {key} (locked by another transaction)").ok()
                }
            };
        }
        name => return Err(format!("unknown command {name}")),
    }
    args.reject_next().map_err(|e| e.to_string())?;
    Ok(out)
}

fn parse_isolation(value: Option<String>) -> Result<Isolation, Box<dyn Error>> {
    Ok(match value.as_deref() {
        None | Some("snapshot") => Isolation::Snapshot,
        Some("read_committed") => Isolation::ReadCommitted,
        Some("serializable") => Isolation::Serializable,
        Some(other) => return Err(format!("unknown isolation {other}").into()),
    })
}

impl goldenscript::Runner for Runner {
    type Command = Command;

    fn run(&mut self, command: &Command, context: &Context) -> Result<String, Box<dyn Error>> {
        let Some(name) = context.prefix.clone() else {
            return match command.name.as_str() {
                "dump" => self.dump(),
                "gc" => Ok(format!("removed {} versions\n", self.store.gc()?)),
                other => Err(format!("unknown command {other}").into()),
            };
        };
        let as_error = |outcome: Outcome| outcome.map_err(Box::<dyn Error>::from);
        match command.name.as_str() {
            "begin" => {
                let mut args = command.consume_args();
                let isolation = parse_isolation(key_arg(&mut args, "isolation")?)?;
                let read_only = key_arg::<bool>(&mut args, "read_only")?.unwrap_or(false);
                let as_of = match key_arg::<String>(&mut args, "as_of")? {
                    Some(t) => Some(*self.names.get(&t).ok_or(format!("{t} has not committed"))?),
                    None => None,
                };
                args.reject_next()?;
                let options = TxnOptions { isolation, read_only, as_of, lock_timeout: None };
                let txn = self
                    .store
                    .begin(options)
                    .map_err(|e| format!("{} ({})", e.message(), e.code()))?;
                self.txns.insert(name, Slot::Ready(txn));
                Ok(String::new())
            }
            "commit" | "rollback" => {
                let txn = self.take(&name)?;
                if command.name == "rollback" {
                    txn.rollback()?;
                    return Ok(String::new());
                }
                let ts = txn.commit().map_err(|e| format!("{} ({})", e.message(), e.code()))?;
                // A transaction that wrote nothing "commits" at its snapshot: keep the writer's name.
                self.commits.entry(ts).or_insert_with(|| name.clone());
                self.names.insert(name, ts);
                Ok(String::new())
            }
            "savepoint" | "rollback_to" => {
                let sp_name =
                    command.consume_args().next_pos().ok_or("savepoint name missing")?.to_string();
                let Some(Slot::Ready(txn)) = self.txns.get(&name) else {
                    return Err(format!("no transaction {name}").into());
                };
                if command.name == "savepoint" {
                    let sp = txn.savepoint()?;
                    self.savepoints.insert((name, sp_name), sp);
                } else {
                    let sp =
                        self.savepoints.get(&(name.clone(), sp_name)).ok_or("no such savepoint")?;
                    txn.rollback_to(sp)?;
                }
                Ok(String::new())
            }
            "await" => match self.txns.remove(&name) {
                Some(Slot::Waiting(handle)) => {
                    let (txn, outcome) = handle.join().map_err(|_| "async command panicked")?;
                    if let Some(txn) = txn {
                        self.txns.insert(name, Slot::Ready(txn));
                    }
                    as_error(outcome)
                }
                _ => Err(format!("{name} has no async command").into()),
            },
            _ if context.tags.contains("async") => {
                let txn = self.take(&name)?;
                let id = txn.id();
                let cmd = command.clone();
                let handle = std::thread::spawn(move || {
                    let outcome = run_statement(&txn, &cmd, false);
                    (Some(txn), outcome)
                });
                // Wait until the command either finishes or is seen waiting for a lock.
                let deadline = Instant::now() + Duration::from_secs(10);
                loop {
                    if handle.is_finished() {
                        let (txn, outcome) = handle.join().map_err(|_| "async command panicked")?;
                        if let Some(txn) = txn {
                            self.txns.insert(name, Slot::Ready(txn));
                        }
                        return as_error(outcome);
                    }
                    let waiting = self
                        .store
                        .locks()
                        .iter()
                        .any(|l| l.waiters.iter().any(|(t, _, _)| *t == id));
                    if waiting || Instant::now() > deadline {
                        self.txns.insert(name, Slot::Waiting(handle));
                        return Ok("blocked\n".into());
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            _ => {
                let Some(Slot::Ready(txn)) = self.txns.get(&name) else {
                    return Err(format!("no ready transaction {name}").into());
                };
                as_error(run_statement(txn, command, context.tags.contains("same_statement")))
            }
        }
    }
}

#[test]
fn scenarios() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts");
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    assert!(!paths.is_empty());
    let mut failed = Vec::new();
    for path in paths {
        let outcome =
            std::panic::catch_unwind(|| goldenscript::run(&mut Runner::new(), &path).unwrap());
        if let Err(e) = outcome {
            let message = e.downcast_ref::<String>().cloned().unwrap_or_default();
            eprintln!("{}: {message}", path.display());
            failed.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(failed.is_empty(), "failed scenarios: {failed:?}");
}
