//! STL_LOAD_ERRORS: the rows COPY rejected, queryable as `stl_load_errors` (or
//! `pg_catalog.stl_load_errors`).
//!
//! The log lives in memory, one per open engine, and is lost on restart; it keeps the newest
//! [`LOAD_ERRORS_ROWS_MAX`] rows. A rejected row is logged whether its COPY then commits (the
//! row was within MAXERROR) or fails, as in Redshift, and the log is not part of any
//! transaction.

use std::sync::Mutex;

use basalt_storage::SqlType;

use crate::types::Datum;

/// Rows kept before the oldest are dropped.
pub const LOAD_ERRORS_ROWS_MAX: usize = 100_000;

/// The columns of STL_LOAD_ERRORS that Basalt fills, with Redshift's names, in its order.
pub const COLUMNS: &[(&str, SqlType)] = &[
    ("query", SqlType::Integer),
    ("tbl", SqlType::Integer),
    ("starttime", SqlType::Timestamp),
    ("filename", SqlType::Text),
    ("line_number", SqlType::BigInt),
    ("colname", SqlType::Text),
    ("type", SqlType::Text),
    ("raw_line", SqlType::Text),
    ("raw_field_value", SqlType::Text),
    ("err_code", SqlType::Integer),
    ("err_reason", SqlType::Text),
];

/// One rejected row.
#[derive(Debug, Clone)]
pub struct LoadErrorRow {
    /// The COPY's query id, as STL_QUERY logs it.
    pub query: i64,
    /// The table's id (its `pg_class` OID).
    pub tbl: i64,
    /// When the COPY started, microseconds since the epoch (UTC).
    pub starttime: i64,
    pub filename: String,
    pub line_number: i64,
    pub colname: String,
    pub ty: String,
    pub raw_line: String,
    pub raw_field_value: String,
    pub err_code: i32,
    pub err_reason: String,
}

/// The engine's log of rejected rows.
#[derive(Debug, Default)]
pub struct LoadErrorLog {
    rows: Mutex<Vec<LoadErrorRow>>,
}

impl LoadErrorLog {
    pub fn record(&self, rows: Vec<LoadErrorRow>) {
        let mut log = match self.rows.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        log.extend(rows);
        if log.len() > LOAD_ERRORS_ROWS_MAX {
            let drop = log.len() - LOAD_ERRORS_ROWS_MAX;
            log.drain(..drop);
        }
    }

    /// The log as catalog rows.
    pub fn rows(&self) -> Vec<Vec<Datum>> {
        let log = match self.rows.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        log.iter()
            .map(|r| {
                vec![
                    Datum::Int(r.query),
                    Datum::Int(r.tbl),
                    Datum::Timestamp(r.starttime),
                    Datum::Text(r.filename.clone()),
                    Datum::Int(r.line_number),
                    Datum::Text(r.colname.clone()),
                    Datum::Text(r.ty.clone()),
                    Datum::Text(r.raw_line.clone()),
                    Datum::Text(r.raw_field_value.clone()),
                    Datum::Int(r.err_code as i64),
                    Datum::Text(r.err_reason.clone()),
                ]
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Rows match the column list.
    #[test]
    fn rows_match_columns() {
        let log = LoadErrorLog::default();
        let q = 1;
        log.record(vec![LoadErrorRow {
            query: q,
            tbl: 1,
            starttime: 0,
            filename: "f".into(),
            line_number: 3,
            colname: "c".into(),
            ty: "integer".into(),
            raw_line: "x".into(),
            raw_field_value: "x".into(),
            err_code: 1207,
            err_reason: "bad".into(),
        }]);
        let rows = log.rows();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].len(), COLUMNS.len());
    }
}
