//! Leaving a shared thread before work that may wait.
//!
//! The server runs its connections as tasks on a few runtime threads, one per core, so a
//! thread that finishes one client's query goes straight on to the next ready client
//! instead of sleeping and being woken for each message. A task on such a thread must not
//! wait (for a row lock, a commit's fsync, `pg_sleep`, a debugger) or run long: the clients
//! queued behind it would wait too, and a wait whose end depends on one of them would never
//! end. So work that may wait goes through [`blocking`], which lets the thread's other
//! clients move to another thread first: the waits themselves (a row lock, a commit group,
//! an advisory lock, a sleep) and, in the SQL layer, every statement but those touching at
//! most one row by key.
//!
//! The hand-off is the server's (a runtime detail the layers below it do not know): it
//! installs it on each of its runtime threads with [`set_hook`]. Elsewhere (the embedded
//! API, tests, a thread of one's own) there is none and [`blocking`] just runs its work.

use std::cell::Cell;

/// Runs the work it is given after moving the calling thread's other tasks elsewhere.
pub type Hook = fn(&mut dyn FnMut());

thread_local! {
    static HOOK: Cell<Option<Hook>> = const { Cell::new(None) };
    static HANDOFFS: Cell<u64> = const { Cell::new(0) };
}

/// Installs (or, with None, removes) the calling thread's hand-off.
pub fn set_hook(hook: Option<Hook>) {
    HOOK.with(|h| h.set(hook));
}

/// How many times work on this thread went through the hand-off (nested calls too): a
/// caller compares two readings to learn whether work in between left the shared thread.
pub fn handoffs() -> u64 {
    HANDOFFS.with(Cell::get)
}

/// Runs `f`, which may wait or run long, off the shared thread's other work.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    let Some(hook) = HOOK.with(Cell::get) else { return f() };
    HANDOFFS.with(|n| n.set(n.get() + 1));
    let mut f = Some(f);
    let mut out = None;
    hook(&mut || {
        if let Some(f) = f.take() {
            out = Some(f());
        }
    });
    match (out, f) {
        (Some(out), _) => out,
        // A hook that did not run the work: run it here.
        (None, Some(f)) => f(),
        (None, None) => unreachable!("the work ran and returned nothing"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    thread_local! {
        static HANDED_OFF: RefCell<usize> = const { RefCell::new(0) };
    }

    fn counting(f: &mut dyn FnMut()) {
        HANDED_OFF.with(|n| *n.borrow_mut() += 1);
        f();
    }

    fn ignoring(_: &mut dyn FnMut()) {}

    #[test]
    fn work_runs_once_through_the_hook_or_without_one() {
        set_hook(None);
        assert_eq!(blocking(|| 1), 1);
        set_hook(Some(counting));
        assert_eq!(blocking(|| 2), 2);
        assert_eq!(HANDED_OFF.with(|n| *n.borrow()), 1);
        set_hook(Some(ignoring));
        let mut runs = 0;
        blocking(|| runs += 1);
        assert_eq!(runs, 1);
        set_hook(None);
    }
}
