//! Stopping a running statement: on request (a client's cancel request, or any thread holding
//! a [`CancelHandle`]) or when the session's `statement_timeout` passes.
//!
//! The executor polls [`Interrupt::check`] between operators and per segment in scans, so a
//! statement stops within one operator's work; `pg_sleep` polls it while it waits. The check
//! is one relaxed atomic load, plus a clock read when a deadline is set.
//!
//! As in PostgreSQL, a cancel request only affects a statement that is running: one that
//! arrives while the session is idle is forgotten when the next statement starts.
//!
//! Each session's state is also registered under a numeric key, so an expression bound in a
//! session (`pg_sleep`) can find it without carrying a pointer in the plan.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// A session's interrupt state, shared with its [`CancelHandle`]s.
#[derive(Debug, Default)]
struct Flag {
    cancelled: AtomicBool,
    /// The running statement's deadline in nanoseconds after [`epoch`], 0 for none.
    deadline: AtomicU64,
}

impl Flag {
    fn check(&self) -> Result<()> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        match self.deadline.load(Ordering::Relaxed) {
            0 => Ok(()),
            deadline if since_epoch(Instant::now()) >= deadline => Err(Error::StatementTimeout),
            _ => Ok(()),
        }
    }
}

/// The instant deadlines are counted from.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn since_epoch(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch()).as_nanos()).unwrap_or(u64::MAX)
}

/// Every live session's flag, by key.
fn registry() -> std::sync::MutexGuard<'static, HashMap<u64, Weak<Flag>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<u64, Weak<Flag>>>> = OnceLock::new();
    REGISTRY
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Cancels whatever statement the session runs when [`CancelHandle::cancel`] is called. It can
/// be sent to other threads and kept for the session's lifetime.
#[derive(Debug, Clone)]
pub struct CancelHandle {
    flag: Arc<Flag>,
}

impl CancelHandle {
    /// Asks the running statement, if any, to stop with `57014`.
    pub fn cancel(&self) {
        self.flag.cancelled.store(true, Ordering::Relaxed);
    }
}

/// What a running statement polls to know whether it must stop.
#[derive(Debug, Clone)]
pub struct Interrupt {
    flag: Arc<Flag>,
}

impl Interrupt {
    /// An interrupt that never fires, for work outside any session.
    pub fn none() -> Self {
        Interrupt {
            flag: Arc::default(),
        }
    }

    /// `Err` once the statement was cancelled or its deadline passed.
    #[inline]
    pub fn check(&self) -> Result<()> {
        self.flag.check()
    }
}

/// The per-session source of [`Interrupt`]s, registered under [`InterruptSource::key`] while
/// it lives.
#[derive(Debug)]
pub(crate) struct InterruptSource {
    flag: Arc<Flag>,
    key: u64,
}

impl Default for InterruptSource {
    fn default() -> Self {
        static NEXT_KEY: AtomicU64 = AtomicU64::new(1);
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        let flag = Arc::new(Flag::default());
        registry().insert(key, Arc::downgrade(&flag));
        InterruptSource { flag, key }
    }
}

impl Drop for InterruptSource {
    fn drop(&mut self) {
        registry().remove(&self.key);
    }
}

impl InterruptSource {
    pub(crate) fn handle(&self) -> CancelHandle {
        CancelHandle {
            flag: Arc::clone(&self.flag),
        }
    }

    /// The key expressions bound in this session use to reach its interrupt.
    pub(crate) fn key(&self) -> u64 {
        self.key
    }

    /// The interrupt of a statement starting now: earlier cancel requests are forgotten, and
    /// a `timeout` of zero means none.
    pub(crate) fn start(&self, timeout: Duration) -> Interrupt {
        self.flag.cancelled.store(false, Ordering::Relaxed);
        let deadline = if timeout.is_zero() {
            0
        } else {
            since_epoch(Instant::now() + timeout).max(1)
        };
        self.flag.deadline.store(deadline, Ordering::Relaxed);
        Interrupt {
            flag: Arc::clone(&self.flag),
        }
    }
}

/// Waits `duration` (`pg_sleep`), returning early with an error when the statement of the
/// session registered under `key` is cancelled or times out. Key 0 or an unknown key waits
/// without interruption.
pub(crate) fn sleep(key: u64, duration: Duration) -> Result<()> {
    /// Longest wait between two checks.
    const SLICE: Duration = Duration::from_millis(10);
    let flag = registry().get(&key).and_then(Weak::upgrade);
    let end = Instant::now() + duration;
    loop {
        if let Some(flag) = &flag {
            flag.check()?;
        }
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        std::thread::sleep((end - now).min(SLICE));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_reaches_the_running_statement_only() {
        let source = InterruptSource::default();
        let handle = source.handle();
        handle.cancel();
        // A request made while idle is forgotten when the next statement starts.
        let running = source.start(Duration::ZERO);
        assert!(running.check().is_ok());
        handle.cancel();
        assert!(matches!(running.check(), Err(Error::Cancelled)));
        assert!(matches!(
            sleep(source.key(), Duration::from_secs(3600)),
            Err(Error::Cancelled)
        ));
        assert!(source.start(Duration::ZERO).check().is_ok());
    }

    #[test]
    fn a_passed_deadline_is_a_timeout() {
        let source = InterruptSource::default();
        let running = source.start(Duration::from_millis(20));
        assert!(matches!(
            sleep(source.key(), Duration::from_secs(3600)),
            Err(Error::StatementTimeout)
        ));
        assert!(matches!(running.check(), Err(Error::StatementTimeout)));
        assert!(source.start(Duration::from_secs(3600)).check().is_ok());
        assert!(Interrupt::none().check().is_ok());
    }

    #[test]
    fn a_dropped_session_is_unregistered() {
        let source = InterruptSource::default();
        let key = source.key();
        drop(source);
        assert!(registry().get(&key).is_none());
        assert!(sleep(key, Duration::from_millis(1)).is_ok());
    }
}
