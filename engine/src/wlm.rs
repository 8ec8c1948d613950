//! Workload management: at most a configured number of statements execute at once; the rest
//! wait in a first-come, first-served queue, as in Redshift's WLM queue.
//!
//! A waiting statement still honours its cancel requests and `statement_timeout` (the time in
//! the queue counts toward the timeout). Only statements that run plans take a slot:
//! settings, transaction control and DDL never wait.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use crate::error::Result;
use crate::interrupt::Interrupt;

/// Longest wait between two checks of a queued statement's interrupt.
const POLL: Duration = Duration::from_millis(10);

#[derive(Debug, Default)]
struct State {
    running: usize,
    /// Tickets of the waiting statements are `served..issued`; the oldest goes first.
    issued: u64,
    served: u64,
    /// Tickets given up (cancelled while waiting) that have not been reached yet.
    abandoned: Vec<u64>,
    /// The statements waiting or running, by ticket.
    entries: BTreeMap<u64, Entry>,
}

/// A statement in the queue, for STV_WLM_QUERY_STATE.
#[derive(Debug)]
struct Entry {
    user: String,
    text: Arc<str>,
    queued_at: Instant,
    queued_wall: SystemTime,
    started_at: Option<Instant>,
}

/// One statement waiting for or holding a slot.
#[derive(Debug, Clone)]
pub struct QueryState {
    /// The statement's ticket, in arrival order.
    pub query: u64,
    pub user: String,
    /// The text the statement came in (the whole query string when it held several).
    pub text: Arc<str>,
    /// When it entered the queue.
    pub queued_at: SystemTime,
    /// True once it holds a slot.
    pub running: bool,
    pub queue_time: Duration,
    pub exec_time: Duration,
}

/// The engine's query slots.
#[derive(Debug)]
pub struct Queue {
    slots: usize,
    state: Mutex<State>,
    changed: Condvar,
}

/// What the queue holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueState {
    pub slots: usize,
    pub running: usize,
    pub queued: usize,
}

/// A slot held by a running statement; released when dropped.
#[derive(Debug)]
pub struct Slot<'a> {
    queue: &'a Queue,
    ticket: u64,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut state = self.queue.lock();
        state.running -= 1;
        state.entries.remove(&self.ticket);
        drop(state);
        self.queue.changed.notify_all();
    }
}

impl Queue {
    /// A queue running at most `slots` statements at once (at least one).
    pub fn new(slots: usize) -> Self {
        Queue {
            slots: slots.max(1),
            state: Mutex::default(),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Skips the tickets at the head of the line whose holders gave up.
    fn skip_abandoned(state: &mut State) {
        while let Some(i) = state.abandoned.iter().position(|t| *t == state.served) {
            state.abandoned.swap_remove(i);
            state.served += 1;
        }
    }

    /// Waits for a slot, in arrival order; `Err` if the statement is cancelled or times out
    /// first.
    /// `user` and `text` are what STV_WLM_QUERY_STATE shows of the statement.
    pub fn acquire(&self, interrupt: &Interrupt, user: &str, text: &Arc<str>) -> Result<Slot<'_>> {
        let mut state = self.lock();
        let ticket = state.issued;
        state.issued += 1;
        state.entries.insert(
            ticket,
            Entry {
                user: user.to_owned(),
                text: Arc::clone(text),
                queued_at: Instant::now(),
                queued_wall: SystemTime::now(),
                started_at: None,
            },
        );
        loop {
            Self::skip_abandoned(&mut state);
            if state.served == ticket && state.running < self.slots {
                state.served += 1;
                state.running += 1;
                if let Some(e) = state.entries.get_mut(&ticket) {
                    e.started_at = Some(Instant::now());
                }
                drop(state);
                // The next in line may fit too.
                self.changed.notify_all();
                return Ok(Slot {
                    queue: self,
                    ticket,
                });
            }
            if let Err(e) = interrupt.check() {
                state.entries.remove(&ticket);
                state.abandoned.push(ticket);
                Self::skip_abandoned(&mut state);
                drop(state);
                self.changed.notify_all();
                return Err(e);
            }
            state = self
                .changed
                .wait_timeout(state, POLL)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Every statement waiting or running, in arrival order.
    pub fn queries(&self) -> Vec<QueryState> {
        let state = self.lock();
        let now = Instant::now();
        state
            .entries
            .iter()
            .map(|(ticket, e)| QueryState {
                query: *ticket,
                user: e.user.clone(),
                text: Arc::clone(&e.text),
                queued_at: e.queued_wall,
                running: e.started_at.is_some(),
                queue_time: e.started_at.unwrap_or(now) - e.queued_at,
                exec_time: e.started_at.map(|s| now - s).unwrap_or_default(),
            })
            .collect()
    }

    /// Running and waiting statements.
    pub fn state(&self) -> QueueState {
        let state = self.lock();
        let waiting = state.issued - state.served - state.abandoned.len() as u64;
        QueueState {
            slots: self.slots,
            running: state.running,
            queued: waiting as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::error::Error;
    use crate::interrupt::InterruptSource;

    #[test]
    fn statements_beyond_the_slots_wait_in_order() {
        let queue = Arc::new(Queue::new(1));
        let none = Interrupt::none();
        let text: Arc<str> = Arc::from("SELECT 1");
        let first = queue.acquire(&none, "a", &text).unwrap();
        assert_eq!(
            queue.state(),
            QueueState {
                slots: 1,
                running: 1,
                queued: 0
            }
        );
        // Two waiters: the first to arrive runs first.
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut threads = Vec::new();
        for name in ["second", "third"] {
            let (waiter, order) = (Arc::clone(&queue), Arc::clone(&order));
            threads.push(std::thread::spawn(move || {
                let _slot = waiter
                    .acquire(&Interrupt::none(), name, &Arc::from(name))
                    .unwrap();
                order.lock().unwrap().push(name);
            }));
            while queue.state().queued < threads.len() {
                std::thread::yield_now();
            }
        }
        let seen: Vec<(String, bool)> = queue
            .queries()
            .into_iter()
            .map(|q| (q.user, q.running))
            .collect();
        assert_eq!(
            seen,
            [
                ("a".to_owned(), true),
                ("second".to_owned(), false),
                ("third".to_owned(), false)
            ]
        );
        drop(first);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["second", "third"]);
        assert_eq!(queue.state().running, 0);
        assert!(queue.queries().is_empty());
    }

    #[test]
    fn a_waiting_statement_can_be_cancelled_or_time_out() {
        let queue = Queue::new(1);
        let text: Arc<str> = Arc::from("SELECT 1");
        let held = queue.acquire(&Interrupt::none(), "a", &text).unwrap();
        let source = InterruptSource::default();
        let timed = source.start(Duration::from_millis(20));
        assert!(matches!(
            queue.acquire(&timed, "b", &text),
            Err(Error::StatementTimeout)
        ));
        let running = source.start(Duration::ZERO);
        source.handle().cancel();
        assert!(matches!(
            queue.acquire(&running, "b", &text),
            Err(Error::Cancelled)
        ));
        assert_eq!(queue.state().queued, 0);
        drop(held);
        // The abandoned tickets do not block the next statement.
        let _next = queue.acquire(&Interrupt::none(), "a", &text).unwrap();
        assert_eq!(queue.state().running, 1);
    }
}
