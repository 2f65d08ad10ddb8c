//! Debug sessions: a statement (a `CALL` or `SELECT` that calls routines) run under the
//! step debugger on a server-side session of its own, driven from another session through
//! SQL functions, so any client (the TUI) can debug over the ordinary protocol:
//!
//! ```text
//!   select oxibase_debug_start('call transfer(1, 2, 10)')   -> id (paused at the first instruction)
//!   select oxibase_debug_step(id, 'into' | 'over' | 'out' | 'continue')   -> state (JSON)
//!   select oxibase_debug_breakpoint(id, function, pc)       -> state (toggles a breakpoint;
//!                                                              function -1: on source line pc)
//!   select oxibase_debug_state(id)                          -> state
//!   select oxibase_debug_end(id, commit)                    -> state (aborts a running call;
//!                                                              commits or rolls back)
//! ```
//!
//! The debugged statement runs in an explicit transaction on a thread of its own. The Wasm
//! runtime finds the session's [`DebugSession`] through a thread-local ([`current`]) and, at
//! every instruction, asks it whether to stop ([`DebugSession::at`]); a stop publishes the
//! frames and blocks that thread until the next command, so the transaction (and its row
//! locks, which the monitor shows) stays open while paused. Host calls the routine makes are
//! recorded with their parameters and row counts.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// How the debugged call goes on from a stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Stop at the next instruction.
    Into,
    /// Stop at the next instruction of this frame or a caller.
    Over,
    /// Stop at the next instruction of a caller.
    Out,
    /// Stop only at a breakpoint.
    Continue,
}

/// A frame at a stop, innermost first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Frame {
    /// The function's index in its module.
    pub function: u32,
    /// The module-relative byte offset of the instruction.
    pub pc: u32,
    /// Locals (parameters first).
    pub locals: Vec<String>,
    /// The operand stack, bottom first.
    pub stack: Vec<String>,
    /// The line of the routine's source, when its module carries line tables (Rust).
    pub line: Option<u32>,
}

/// A statement the routine ran through the host ABI.
#[derive(Clone, Debug, PartialEq)]
pub struct HostCall {
    /// Its SQL.
    pub sql: String,
    /// Its parameters, as text.
    pub params: Vec<String>,
    /// Rows returned or affected, or the error.
    pub outcome: std::result::Result<u64, String>,
}

/// Where a debug session is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Running between stops.
    Running,
    /// Stopped, waiting for a command.
    Paused,
    /// The statement ended; its transaction waits for `oxibase_debug_end`.
    Finished,
    /// Committed or rolled back: the session is over.
    Ended,
}

/// What a debug session shows.
#[derive(Clone, Debug)]
pub struct State {
    /// Running, paused, finished or ended.
    pub status: Status,
    /// The call stack at the stop, innermost first.
    pub frames: Vec<Frame>,
    /// Statements the routine ran so far.
    pub host_calls: Vec<HostCall>,
    /// The rows the transaction has written so far (as of the last statement).
    pub writes: Vec<String>,
    /// The statement's outcome once finished: its command tag and rows, or its error.
    pub outcome: Option<std::result::Result<String, String>>,
    /// How it ended: COMMIT or ROLLBACK.
    pub ended: Option<String>,
    /// Moves at every change, so a waiter knows it saw a new state.
    version: u64,
}

/// The commands a stopped routine waits for.
enum Command {
    Go(Step),
    Abort,
}

struct Control {
    state: State,
    breakpoints: BTreeSet<(u32, u32)>,
    /// Breakpoints on source lines (modules with line tables).
    line_breakpoints: BTreeSet<u32>,
    step: Step,
    /// The frame depth and source line the current step started from.
    depth: usize,
    line: Option<u32>,
    /// The line of the instruction before this one (a line breakpoint stops on entering).
    previous_line: Option<u32>,
    command: Option<Command>,
    aborting: bool,
}

/// One debug session; see the module documentation.
pub struct DebugSession {
    /// Its number, for the SQL functions.
    pub id: u32,
    /// The user who started it (only they, or a superuser, may drive it).
    pub user: String,
    /// The pid of the session that runs the statement (to cancel it on abort).
    pub pid: Mutex<Option<i32>>,
    control: Mutex<Control>,
    changed: Condvar,
}

thread_local! {
    static CURRENT: std::cell::RefCell<Option<Arc<DebugSession>>> = const { std::cell::RefCell::new(None) };
}

/// The debug session of the statement this thread runs, if it runs under the debugger.
pub fn current() -> Option<Arc<DebugSession>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Runs `f` with `session` as this thread's debug session.
pub fn with_session<T>(session: Arc<DebugSession>, f: impl FnOnce() -> T) -> T {
    CURRENT.with(|c| *c.borrow_mut() = Some(session));
    let out = f();
    CURRENT.with(|c| *c.borrow_mut() = None);
    out
}

/// What [`DebugSession::at`] tells the routine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// Go on.
    Go,
    /// Stop the call (it fails; the transaction rolls back).
    Abort,
}

impl DebugSession {
    fn new(id: u32, user: &str) -> DebugSession {
        DebugSession {
            id,
            user: user.to_string(),
            pid: Mutex::new(None),
            control: Mutex::new(Control {
                state: State {
                    status: Status::Running,
                    frames: Vec::new(),
                    host_calls: Vec::new(),
                    writes: Vec::new(),
                    outcome: None,
                    ended: None,
                    version: 0,
                },
                breakpoints: BTreeSet::new(),
                line_breakpoints: BTreeSet::new(),
                step: Step::Into,
                depth: 0,
                line: None,
                previous_line: None,
                command: None,
                aborting: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn publish(&self, control: &mut Control, status: Status) {
        control.state.status = status;
        control.state.version += 1;
        self.changed.notify_all();
    }

    /// Called by the runtime before each instruction: `depth` frames, the innermost at
    /// (`function`, `pc`), on source `line` when the module maps it (`lines`: whether it
    /// maps any: steps then go by line, and instructions outside the body are stepped
    /// through). Stops (publishing `frames()`) when the current step or a breakpoint says
    /// so, and then waits for the next command.
    pub fn at(
        &self,
        depth: usize,
        (function, pc): (u32, u32),
        (line, lines): (Option<u32>, bool),
        frames: impl FnOnce() -> Vec<Frame>,
    ) -> Resume {
        let mut control = self.control.lock();
        if control.aborting {
            return Resume::Abort;
        }
        let entering = line.is_some() && line != control.previous_line;
        control.previous_line = line;
        let moved = !lines || (line.is_some() && (line != control.line || depth != control.depth));
        let stop = control.breakpoints.contains(&(function, pc))
            || (entering && line.is_some_and(|l| control.line_breakpoints.contains(&l)))
            || match control.step {
                Step::Into => moved,
                Step::Over => moved && depth <= control.depth,
                Step::Out => depth < control.depth && (!lines || line.is_some()),
                Step::Continue => false,
            };
        if !stop {
            return Resume::Go;
        }
        drop(control);
        let frames = frames();
        let mut control = self.control.lock();
        control.state.frames = frames;
        self.publish(&mut control, Status::Paused);
        loop {
            match control.command.take() {
                Some(Command::Go(step)) => {
                    control.step = step;
                    control.depth = depth;
                    control.line = line;
                    self.publish(&mut control, Status::Running);
                    return Resume::Go;
                }
                Some(Command::Abort) => {
                    control.aborting = true;
                    self.publish(&mut control, Status::Running);
                    return Resume::Abort;
                }
                None => self.changed.wait(&mut control),
            }
        }
    }

    /// Whether the call is being aborted (the runtime stops it at its next check).
    pub fn aborting(&self) -> bool {
        self.control.lock().aborting
    }

    /// Records a statement the routine ran, and the transaction's rows after it.
    pub fn host_call(&self, call: HostCall, writes: Vec<String>) {
        let mut control = self.control.lock();
        control.state.host_calls.push(call);
        control.state.writes = writes;
    }

    fn finish(&self, outcome: std::result::Result<String, String>) {
        let mut control = self.control.lock();
        control.state.outcome = Some(outcome);
        control.state.frames.clear();
        self.publish(&mut control, Status::Finished);
    }

    fn ended(&self, how: &str) {
        let mut control = self.control.lock();
        control.state.ended = Some(how.to_string());
        self.publish(&mut control, Status::Ended);
    }

    /// The state now.
    pub fn state(&self) -> State {
        self.control.lock().state.clone()
    }

    /// The breakpoints, as (function, pc).
    pub fn breakpoints(&self) -> Vec<(u32, u32)> {
        self.control.lock().breakpoints.iter().copied().collect()
    }

    /// The breakpoints on source lines.
    pub fn line_breakpoints(&self) -> Vec<u32> {
        self.control.lock().line_breakpoints.iter().copied().collect()
    }

    /// Adds a breakpoint on a source line, or removes it if it is set.
    pub fn toggle_line_breakpoint(&self, line: u32) {
        let mut control = self.control.lock();
        if !control.line_breakpoints.remove(&line) {
            control.line_breakpoints.insert(line);
        }
    }

    /// Adds the breakpoint, or removes it if it is set.
    pub fn toggle_breakpoint(&self, function: u32, pc: u32) {
        let mut control = self.control.lock();
        if !control.breakpoints.remove(&(function, pc)) {
            control.breakpoints.insert((function, pc));
        }
    }

    /// Resumes a paused call and waits (up to `timeout`) until it stops again or finishes.
    pub fn step(&self, step: Step, timeout: Duration) -> State {
        self.command(Command::Go(step), timeout)
    }

    /// Aborts the call (it fails with an error and its transaction will roll back), and
    /// waits until the statement has ended.
    pub fn abort(&self, timeout: Duration) -> State {
        self.command(Command::Abort, timeout)
    }

    fn command(&self, command: Command, timeout: Duration) -> State {
        let deadline = Instant::now() + timeout;
        let mut control = self.control.lock();
        if control.state.status != Status::Paused {
            if matches!(command, Command::Abort) {
                control.aborting = true;
            }
            return self.wait_settled(control, deadline);
        }
        let seen = control.state.version;
        control.command = Some(command);
        self.changed.notify_all();
        // Wait for the routine to take the command, then for it to settle.
        while control.state.version == seen {
            if self.changed.wait_until(&mut control, deadline).timed_out() {
                return control.state.clone();
            }
        }
        self.wait_settled(control, deadline)
    }

    /// Waits until the session is not running (paused, finished or ended).
    fn wait_settled(
        &self,
        mut control: parking_lot::MutexGuard<'_, Control>,
        deadline: Instant,
    ) -> State {
        while control.state.status == Status::Running {
            if self.changed.wait_until(&mut control, deadline).timed_out() {
                break;
            }
        }
        control.state.clone()
    }

    /// Waits until the call stops for the first time, or the statement finishes.
    pub fn wait_stopped(&self, timeout: Duration) -> State {
        let deadline = Instant::now() + timeout;
        let control = self.control.lock();
        self.wait_settled(control, deadline)
    }

    /// Waits until the session has finished its statement (or ended).
    fn wait_finished(&self, timeout: Duration) -> State {
        let deadline = Instant::now() + timeout;
        let mut control = self.control.lock();
        while matches!(control.state.status, Status::Running | Status::Paused) {
            if self.changed.wait_until(&mut control, deadline).timed_out() {
                break;
            }
        }
        control.state.clone()
    }
}

/// The debug sessions of a database.
#[derive(Default)]
pub struct DebugSessions {
    next: AtomicU32,
    /// By id: the session, the session that drives it, and where its verdict goes.
    sessions: Mutex<HashMap<u32, Entry>>,
}

struct Entry {
    debug: Arc<DebugSession>,
    owner: i32,
    end: std::sync::mpsc::Sender<bool>,
}

impl DebugSessions {
    /// Starts debugging `sql` as `user` on a session thread of its own: the statement runs in
    /// an explicit transaction on `session`, and stops at its first instruction.
    pub fn start(
        &self,
        user: &str,
        owner: i32,
        sql: &str,
        mut session: crate::Session,
    ) -> Arc<DebugSession> {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let debug = Arc::new(DebugSession::new(id, user));
        let (end_tx, end_rx) = std::sync::mpsc::channel::<bool>();
        self.sessions.lock().insert(id, Entry { debug: debug.clone(), owner, end: end_tx });
        let thread_debug = debug.clone();
        let sql = sql.to_string();
        *debug.pid.lock() = Some(session.pid());
        std::thread::spawn(move || {
            let debug = thread_debug;
            let outcome = session
                .execute("set statement_timeout = 0")
                .and_then(|_| session.execute("begin"))
                .and_then(|_| with_session(debug.clone(), || session.execute(&sql)));
            debug.finish(match outcome {
                Ok(out) => Ok(describe(&out)),
                Err(e) => Err(format!("{} ({})", e.message(), e.code())),
            });
            // Wait for the verdict: commit (true) or roll back; a dropped sender rolls back.
            let commit = end_rx.recv().unwrap_or(false);
            let how = if commit { "COMMIT" } else { "ROLLBACK" };
            let ended = match session.execute(if commit { "commit" } else { "rollback" }) {
                Ok(out) => out.tag().to_string(),
                Err(e) => format!("{how} failed: {}", e.message()),
            };
            debug.ended(&ended);
        });
        debug
    }

    /// A session by id.
    pub fn get(&self, id: u32) -> Option<Arc<DebugSession>> {
        self.sessions.lock().get(&id).map(|e| e.debug.clone())
    }

    /// Rolls back every debug session `owner` drives (the owner's connection ended).
    pub fn end_owned_by(&self, owner: i32) {
        let ids: Vec<u32> = self
            .sessions
            .lock()
            .iter()
            .filter(|(_, e)| e.owner == owner)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.end(id, false, Duration::from_secs(10));
        }
    }

    /// Ends a session: aborts its call if it still runs, then commits or rolls back.
    pub fn end(&self, id: u32, commit: bool, timeout: Duration) -> Option<State> {
        let Entry { debug, end, .. } = self.sessions.lock().remove(&id)?;
        let state = debug.state();
        if matches!(state.status, Status::Running | Status::Paused) {
            debug.abort(timeout);
            debug.wait_finished(timeout);
        }
        let commit = commit && matches!(debug.state().outcome, Some(Ok(_)));
        let _ = end.send(commit);
        let deadline = Instant::now() + timeout;
        let mut control = debug.control.lock();
        while control.state.status != Status::Ended {
            if debug.changed.wait_until(&mut control, deadline).timed_out() {
                break;
            }
        }
        Some(control.state.clone())
    }
}

/// A statement's output in a line: its tag, and its rows (first few) as text.
fn describe(out: &crate::Output) -> String {
    let rows = out.rows();
    if rows.is_empty() {
        return out.tag().to_string();
    }
    let zone = crate::types::datetime::Zone::UTC;
    let shown: Vec<String> =
        rows.iter().take(10).map(|r| crate::types::text::display_row(r, &zone)).collect();
    format!("{} {}", out.tag(), shown.join(" "))
}

/// A state as JSON, for the SQL functions.
pub fn state_json(id: u32, state: &State, breakpoints: &[(u32, u32)], lines: &[u32]) -> String {
    use serde_json::json;
    let status = match state.status {
        Status::Running => "running",
        Status::Paused => "paused",
        Status::Finished => "finished",
        Status::Ended => "ended",
    };
    let frames: Vec<_> = state
        .frames
        .iter()
        .map(|f| {
            json!({"function": f.function, "pc": f.pc, "line": f.line, "locals": f.locals, "stack": f.stack})
        })
        .collect();
    let calls: Vec<_> = state
        .host_calls
        .iter()
        .map(|c| match &c.outcome {
            Ok(rows) => json!({"sql": c.sql, "params": c.params, "rows": rows}),
            Err(e) => json!({"sql": c.sql, "params": c.params, "error": e}),
        })
        .collect();
    let (result, error) = match &state.outcome {
        Some(Ok(r)) => (Some(r.clone()), None),
        Some(Err(e)) => (None, Some(e.clone())),
        None => (None, None),
    };
    json!({
        "id": id,
        "status": status,
        "frames": frames,
        "host_calls": calls,
        "writes": state.writes,
        "breakpoints": breakpoints.iter().map(|(f, pc)| json!([f, pc])).collect::<Vec<_>>(),
        "line_breakpoints": lines,
        "result": result,
        "error": error,
        "ended": state.ended,
    })
    .to_string()
}
