//! STL_QUERY: the queries the engine ran, queryable as `stl_query` (or
//! `pg_catalog.stl_query`), with Redshift's columns.
//!
//! As in Redshift, the log holds the statements that do work over tables (SELECTs that read a
//! table, INSERT, UPDATE, DELETE, CREATE TABLE AS, COPY and UNLOAD), whether they succeeded
//! (`aborted` 0) or failed (`aborted` 1); statements that read only constants and system
//! catalogs, settings, DDL and transaction control are not logged. A superuser sees every
//! session's rows; any other user sees only the rows of the queries it ran.
//!
//! The log lives in memory, one per open engine, and keeps the newest [`QUERY_LOG_ROWS_MAX`]
//! rows; it is lost on restart. Query ids count up from 1 for the engine's life and are the
//! same ids STL_LOAD_ERRORS records for a COPY.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use basalt_storage::SqlType;

use crate::types::Datum;

/// Rows kept before the oldest are dropped.
pub const QUERY_LOG_ROWS_MAX: usize = 10_000;

/// The longest `querytxt` kept, in characters; Redshift keeps the first 4,000 too.
pub const QUERY_TEXT_CHARS_MAX: usize = 4_000;

/// The columns of STL_QUERY that Basalt fills, with Redshift's names, in its order.
pub const COLUMNS: &[(&str, SqlType)] = &[
    ("userid", SqlType::Integer),
    ("query", SqlType::Integer),
    ("label", SqlType::Text),
    ("xid", SqlType::BigInt),
    ("pid", SqlType::Integer),
    ("database", SqlType::Text),
    ("querytxt", SqlType::Text),
    ("starttime", SqlType::Timestamp),
    ("endtime", SqlType::Timestamp),
    ("aborted", SqlType::Integer),
];

/// One logged query.
#[derive(Debug, Clone)]
pub struct QueryRow {
    /// The role that ran it (its `usesysid`).
    pub userid: u32,
    pub query: i64,
    /// The session's `query_group`, or `default`.
    pub label: String,
    /// The transaction it ran in.
    pub xid: i64,
    /// The backend process id of its session.
    pub pid: i32,
    pub database: String,
    /// The statement's text, cut to [`QUERY_TEXT_CHARS_MAX`] characters.
    pub querytxt: String,
    /// Start and end, microseconds since the epoch (UTC).
    pub starttime: i64,
    pub endtime: i64,
    pub aborted: bool,
}

/// The logged statement a session is running.
#[derive(Debug, Clone, Copy)]
pub struct Running {
    pub id: i64,
    /// Microseconds since the epoch (UTC).
    pub start: i64,
    /// Whether it is logged when it ends: always for writes, COPY and UNLOAD; for a query,
    /// once it is known to read a table.
    pub logged: bool,
}

/// Whether `stmt` is of a kind STL_QUERY logs: `Some(true)` for writes, CREATE TABLE AS,
/// COPY and UNLOAD, `Some(false)` for queries (logged if they turn out to read a table),
/// `None` for the rest.
pub fn logged_kind(stmt: &crate::Statement) -> Option<bool> {
    use sqlparser::ast::Statement as S;
    if let Some(transfer) = &stmt.transfer {
        return match transfer.as_ref() {
            crate::copy::options::Transfer::Copy(_) | crate::copy::options::Transfer::Unload(_) => {
                Some(true)
            }
            _ => None,
        };
    }
    if !stmt.is_plain() {
        return None;
    }
    match &stmt.ast {
        S::Query(_) => Some(false),
        S::Insert(_) | S::Update { .. } | S::Delete(_) => Some(true),
        S::CreateTable(ct) if ct.query.is_some() => Some(true),
        _ => None,
    }
}

/// Now, in microseconds since the epoch (UTC).
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// The engine's query log, and the counters of its query and transaction ids.
#[derive(Debug, Default)]
pub struct QueryLog {
    rows: Mutex<VecDeque<QueryRow>>,
    query: AtomicI64,
    xid: AtomicI64,
}

impl QueryLog {
    /// A new query id, increasing from 1.
    pub fn next_query(&self) -> i64 {
        self.query.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// A new transaction id, increasing from 1.
    pub fn next_xid(&self) -> i64 {
        self.xid.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Adds one row, dropping the oldest beyond the limit.
    pub fn record(&self, mut row: QueryRow) {
        if let Some((cut, _)) = row.querytxt.char_indices().nth(QUERY_TEXT_CHARS_MAX) {
            row.querytxt.truncate(cut);
        }
        let mut log = match self.rows.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        log.push_back(row);
        while log.len() > QUERY_LOG_ROWS_MAX {
            log.pop_front();
        }
    }

    /// The log as catalog rows, oldest first: every row for a superuser, else only the rows
    /// of role `viewer`.
    pub fn rows(&self, viewer: u32, superuser: bool) -> Vec<Vec<Datum>> {
        let log = match self.rows.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        log.iter()
            .filter(|r| superuser || r.userid == viewer)
            .map(|r| {
                vec![
                    Datum::Int(i64::from(r.userid)),
                    Datum::Int(r.query),
                    Datum::Text(r.label.clone()),
                    Datum::Int(r.xid),
                    Datum::Int(i64::from(r.pid)),
                    Datum::Text(r.database.clone()),
                    Datum::Text(r.querytxt.clone()),
                    Datum::Timestamp(r.starttime),
                    Datum::Timestamp(r.endtime),
                    Datum::Int(i64::from(r.aborted)),
                ]
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(userid: u32, query: i64, text: &str) -> QueryRow {
        QueryRow {
            userid,
            query,
            label: "default".into(),
            xid: 1,
            pid: 7,
            database: "dev".into(),
            querytxt: text.into(),
            starttime: 10,
            endtime: 20,
            aborted: false,
        }
    }

    // Rows match the column list; a user sees only its own rows, a superuser every row.
    #[test]
    fn rows_match_columns_and_visibility() {
        let log = QueryLog::default();
        assert_eq!(log.next_query(), 1);
        assert_eq!(log.next_query(), 2);
        assert_eq!(log.next_xid(), 1);
        log.record(row(10, 1, "select 1"));
        log.record(row(11, 2, "select 2"));
        let all = log.rows(10, true);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].len(), COLUMNS.len());
        let own = log.rows(11, false);
        assert_eq!(own.len(), 1);
        assert_eq!(own[0][1], Datum::Int(2));
    }

    // Long texts are cut at a character boundary; the log keeps only the newest rows.
    #[test]
    fn truncates_text_and_drops_oldest() {
        let log = QueryLog::default();
        let long = "é".repeat(QUERY_TEXT_CHARS_MAX + 10);
        log.record(row(1, 1, &long));
        let rows = log.rows(1, false);
        match &rows[0][6] {
            Datum::Text(t) => assert_eq!(t.chars().count(), QUERY_TEXT_CHARS_MAX),
            other => panic!("unexpected {other:?}"),
        }
        for q in 2..=(QUERY_LOG_ROWS_MAX as i64 + 5) {
            log.record(row(1, q, "x"));
        }
        let rows = log.rows(1, true);
        assert_eq!(rows.len(), QUERY_LOG_ROWS_MAX);
        assert_eq!(rows[0][1], Datum::Int(6));
    }
}
