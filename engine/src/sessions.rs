//! The engine's open sessions and what each is doing, for `pg_stat_activity`, Redshift's
//! STV_SESSIONS and STV_RECENTS.
//!
//! Every [`crate::Session`] registers an [`Activity`] when it is created and removes it when
//! dropped. The session updates its entry when a statement starts (state `active`, the
//! statement's text and start) and when it ends (`idle`, `idle in transaction` or `idle in
//! transaction (aborted)`, as PostgreSQL names them), and when the server gives it its
//! process id (after the startup parameters, so `application_name` is the client's). The
//! catalogs read a copy of every entry when a query names them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The most bytes of a statement's text kept for `pg_stat_activity.query`, as PostgreSQL's
/// default `track_activity_query_size`.
pub const QUERY_TEXT_BYTES_MAX: usize = 1024;

/// `text` trimmed and cut to at most [`QUERY_TEXT_BYTES_MAX`] bytes on a character boundary
/// (a statement of a long script is shown without copying the whole script).
pub fn shown_text(text: &str) -> &str {
    let text = text.trim();
    let mut end = text.len().min(QUERY_TEXT_BYTES_MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// What one session is doing, as `pg_stat_activity` shows it.
#[derive(Debug, Clone)]
pub struct Activity {
    /// The process id the server gave the connection (0 for an embedded session).
    pub pid: i32,
    /// The role the session logged in as, and its OID.
    pub user: String,
    pub usesysid: u32,
    pub application_name: String,
    /// When the session started, its open transaction block started, its last statement
    /// started and its state last changed: microseconds since the epoch (UTC).
    pub backend_start: i64,
    pub xact_start: Option<i64>,
    pub query_start: Option<i64>,
    pub state_change: i64,
    /// `active`, `idle`, `idle in transaction` or `idle in transaction (aborted)`.
    pub state: &'static str,
    /// The statement running, or the last one when idle (empty before the first), its first
    /// [`QUERY_TEXT_BYTES_MAX`] bytes.
    pub query: String,
}

/// One session's entry in the registry; the session holds it and removes it when dropped.
#[derive(Debug)]
pub struct Entry {
    sessions: Arc<Sessions>,
    id: u64,
    activity: Arc<Mutex<Activity>>,
}

impl Entry {
    /// Changes the entry under its lock.
    pub fn update(&self, change: impl FnOnce(&mut Activity)) {
        change(&mut lock(&self.activity));
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        lock(&self.sessions.live).remove(&self.id);
    }
}

/// The registry of open sessions, one per engine.
#[derive(Debug, Default)]
pub struct Sessions {
    next: AtomicU64,
    live: Mutex<BTreeMap<u64, Arc<Mutex<Activity>>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Sessions {
    /// Registers a new session of `user` (OID `usesysid`), idle, started now.
    pub fn register(self: &Arc<Self>, user: &str, usesysid: u32) -> Entry {
        let now = crate::query_log::now_micros();
        let activity = Arc::new(Mutex::new(Activity {
            pid: 0,
            user: user.to_owned(),
            usesysid,
            application_name: String::new(),
            backend_start: now,
            xact_start: None,
            query_start: None,
            state_change: now,
            state: "idle",
            query: String::new(),
        }));
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.live).insert(id, Arc::clone(&activity));
        Entry {
            sessions: Arc::clone(self),
            id,
            activity,
        }
    }

    /// A copy of every open session's activity, oldest session first.
    pub fn snapshot(&self) -> Vec<Activity> {
        let live: Vec<Arc<Mutex<Activity>>> = lock(&self.live).values().cloned().collect();
        live.iter().map(|a| lock(a).clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Two sessions registered, one updated, then one dropped: the snapshot lists the open ones
    // in the order they started, with the update.
    #[test]
    fn entries_come_and_go_with_their_sessions() {
        let sessions = Arc::new(Sessions::default());
        let first = sessions.register("alice", 100);
        let second = sessions.register("bob", 101);
        second.update(|a| {
            a.state = "active";
            a.query = "SELECT 1".to_owned();
        });
        let all = sessions.snapshot();
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].user.as_str(), all[0].state), ("alice", "idle"));
        assert_eq!((all[1].user.as_str(), all[1].state), ("bob", "active"));
        assert_eq!(all[1].query, "SELECT 1");
        drop(first);
        let left = sessions.snapshot();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].usesysid, 101);
    }

    // A long text is cut on a character boundary at or below the limit; a short one is only
    // trimmed.
    #[test]
    fn shown_text_is_bounded() {
        assert_eq!(shown_text("  SELECT 1 \n"), "SELECT 1");
        let long = "é".repeat(QUERY_TEXT_BYTES_MAX);
        let shown = shown_text(&long);
        assert!(shown.len() <= QUERY_TEXT_BYTES_MAX);
        assert_eq!(shown.len(), QUERY_TEXT_BYTES_MAX);
        assert!(shown.chars().all(|c| c == 'é'));
        let odd = format!("x{long}");
        assert_eq!(shown_text(&odd).len(), QUERY_TEXT_BYTES_MAX - 1);
    }
}
