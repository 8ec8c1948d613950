//! Workload management: at most a configured number of statements execute at once; the rest
//! wait in a first-come, first-served queue, as in Redshift's WLM queue.
//!
//! A waiting statement still honours its cancel requests and `statement_timeout` (the time in
//! the queue counts toward the timeout). Only statements that run plans take a slot:
//! settings, transaction control and DDL never wait.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

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
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut state = self.queue.lock();
        state.running -= 1;
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
    pub fn acquire(&self, interrupt: &Interrupt) -> Result<Slot<'_>> {
        let mut state = self.lock();
        let ticket = state.issued;
        state.issued += 1;
        loop {
            Self::skip_abandoned(&mut state);
            if state.served == ticket && state.running < self.slots {
                state.served += 1;
                state.running += 1;
                drop(state);
                // The next in line may fit too.
                self.changed.notify_all();
                return Ok(Slot { queue: self });
            }
            if let Err(e) = interrupt.check() {
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
        let first = queue.acquire(&none).unwrap();
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
                let _slot = waiter.acquire(&Interrupt::none()).unwrap();
                order.lock().unwrap().push(name);
            }));
            while queue.state().queued < threads.len() {
                std::thread::yield_now();
            }
        }
        drop(first);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["second", "third"]);
        assert_eq!(queue.state().running, 0);
    }

    #[test]
    fn a_waiting_statement_can_be_cancelled_or_time_out() {
        let queue = Queue::new(1);
        let held = queue.acquire(&Interrupt::none()).unwrap();
        let source = InterruptSource::default();
        let timed = source.start(Duration::from_millis(20));
        assert!(matches!(
            queue.acquire(&timed),
            Err(Error::StatementTimeout)
        ));
        let running = source.start(Duration::ZERO);
        source.handle().cancel();
        assert!(matches!(queue.acquire(&running), Err(Error::Cancelled)));
        assert_eq!(queue.state().queued, 0);
        drop(held);
        // The abandoned tickets do not block the next statement.
        let _next = queue.acquire(&Interrupt::none()).unwrap();
        assert_eq!(queue.state().running, 1);
    }
}
