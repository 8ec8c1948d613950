//! The narrow interface the wire code runs statements through, and its implementation for
//! Basalt's engine.
//!
//! The protocol code knows nothing of planning or Arrow kernels: it parses, describes and
//! executes through [`BackendSession`], and only reads the Arrow batches of a result to encode
//! them. Tests drive the same protocol code with a mock backend.

use std::sync::Arc;

use basalt_engine::pgtext::Zone;

use crate::copy_in::BinaryCopyReader;
use crate::encode::RowEncoder;
use crate::sqlstate::SqlError;
use crate::types::ResultFormats;
use basalt_engine::{
    CancelHandle, Description, Engine, Executed, Result, Session, Statement, StatementResult,
    TransactionStatus,
};

/// A database that opens one session per connection.
pub trait Backend: Send + Sync + 'static {
    /// One connection's session.
    type Session: BackendSession;

    /// Opens a session for the authenticated `user`.
    fn session(self: &Arc<Self>, user: &str) -> Self::Session;

    /// How catalog role `user` logs in; `None` when the backend has no such role (only the
    /// bootstrap superuser may then log in).
    fn login(&self, _user: &str) -> Option<basalt_engine::security::Login> {
        None
    }
}

/// One connection's state: settings and the open transaction.
///
/// Every method may take as long as a query does; the server calls them on a blocking thread,
/// never on the async runtime's workers.
pub trait BackendSession: Send + 'static {
    /// A parsed statement, kept by prepared statements and portals.
    type Statement: Clone + Send + Sync + 'static;

    /// Parses SQL text holding zero or more `;`-separated statements.
    fn parse(&mut self, sql: &str) -> Result<Vec<Self::Statement>>;

    /// The parameter types and result columns of a statement, without running it.
    fn describe(&mut self, statement: &Self::Statement) -> Result<Description>;

    /// Runs one statement; `params` are the text values of `$1`, `$2`, ... (NULL as `None`).
    fn execute(
        &mut self,
        statement: &Self::Statement,
        params: &[Option<String>],
    ) -> Result<StatementResult>;

    /// Runs one statement as [`BackendSession::execute`] does, except that a query's rows may
    /// arrive as a stream while the query still runs (the session is free meanwhile). By
    /// default the statement's result is complete when this returns.
    fn execute_streaming(
        &mut self,
        statement: &Self::Statement,
        params: &[Option<String>],
    ) -> Result<Executed> {
        self.execute(statement, params).map(Executed::from)
    }

    /// Where the session stands with respect to transaction blocks, for ReadyForQuery.
    fn transaction_status(&self) -> TransactionStatus;

    /// The command tag's word for a statement's rows: `FETCH` for a FETCH, else `SELECT`.
    fn row_tag(_statement: &Self::Statement) -> &'static str {
        "SELECT"
    }

    /// Whether the simple protocol sends this statement's rows in binary (a FETCH from a
    /// BINARY cursor).
    fn binary_rows(&self, _statement: &Self::Statement) -> bool {
        false
    }

    /// The result columns of open cursor `name`, which the extended protocol can describe
    /// as a portal.
    fn cursor_columns(&self, _name: &str) -> Option<Vec<basalt_engine::ResultColumn>> {
        None
    }

    /// For a `DEALLOCATE` statement, the prepared statement it names (`None` for ALL).
    fn deallocates(_statement: &Self::Statement) -> Option<Option<String>> {
        None
    }

    /// Records the process id the client was told (BackendKeyData), for `pg_backend_pid()`.
    fn set_backend_pid(&mut self, _pid: i32) {}

    /// Applies a configuration parameter the client sent in its startup message.
    fn set_startup_parameter(&mut self, _name: &str, _value: &str) -> Result<()> {
        Ok(())
    }

    /// Reported parameters (ParameterStatus) whose values changed since the last call; the
    /// first call lists them all. Empty for a session without settings.
    fn reported_parameters(&mut self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// What a cancel request for this session calls, if its statements can be cancelled.
    fn cancel_handle(&self) -> Option<CancelHandle> {
        None
    }

    /// The session's time zone (its `TimeZone` setting), in which TIMESTAMPTZ values are
    /// sent in text format.
    fn time_zone(&self) -> Zone {
        Zone::UTC
    }

    /// A COPY FROM STDIN collecting the client's data.
    type CopyIn: Send + 'static;

    /// Whether a statement uses the copy sub-protocol: `Some(true)` for COPY FROM STDIN (its
    /// data follows in CopyData messages), `Some(false)` for COPY TO STDOUT.
    fn copy_direction(_statement: &Self::Statement) -> Option<bool> {
        None
    }

    /// Starts a COPY FROM STDIN: its sink and how the client sends its data.
    fn copy_in_start(
        &mut self,
        _statement: &Self::Statement,
    ) -> Result<(Self::CopyIn, CopyInFormat)> {
        Err(basalt_engine::Error::Unsupported {
            message: "COPY is not supported".into(),
        })
    }

    /// Adds one CopyData message's bytes (the records they complete are parsed at once, so a
    /// bad row fails the copy at the message that brings it). True when the copy holds a full
    /// window of data or a run of rows to append: the caller then runs
    /// [`BackendSession::copy_in_flush`] before adding more.
    fn copy_in_push(_copy: &mut Self::CopyIn, _data: &[u8]) -> bool {
        false
    }

    /// Parses the data a COPY FROM STDIN holds and appends its whole runs of rows; an error
    /// is kept in the copy and reported by [`BackendSession::copy_in_finish`].
    fn copy_in_flush(&mut self, _copy: &mut Self::CopyIn) {}

    /// Whether the COPY has failed (data that does not decode or parse, a failed append):
    /// the caller ends it at once with [`BackendSession::copy_in_finish`], which reports the
    /// error, rather than waiting for the client's CopyDone.
    fn copy_in_failed(_copy: &Self::CopyIn) -> bool {
        false
    }

    /// Loads what the client sent; the command tag (`COPY n`).
    fn copy_in_finish(&mut self, _copy: Self::CopyIn) -> std::result::Result<String, SqlError> {
        Err(SqlError::from_engine(&basalt_engine::Error::Unsupported {
            message: "COPY is not supported".into(),
        }))
    }

    /// Drops a COPY FROM STDIN the client abandoned (CopyFail); nothing is loaded.
    fn copy_in_abort(&mut self, _copy: Self::CopyIn) {}

    /// Starts a COPY TO STDOUT: its output is produced as the protocol layer reads it.
    fn copy_out(
        &mut self,
        _statement: &Self::Statement,
    ) -> std::result::Result<CopyOutput, SqlError> {
        Err(SqlError::from_engine(&basalt_engine::Error::Unsupported {
            message: "COPY is not supported".into(),
        }))
    }
}

/// How the client sends a COPY FROM STDIN's data (for CopyInResponse).
#[derive(Clone, Copy, Debug)]
pub struct CopyInFormat {
    /// Columns per row.
    pub columns: usize,
    /// Whether the data is in PostgreSQL's binary COPY format.
    pub binary: bool,
}

/// A COPY FROM STDIN into Basalt's engine as its CopyData messages arrive: text and CSV go
/// to the engine's sink as they are; binary data is decoded into text lines first.
#[derive(Debug)]
pub struct EngineCopyIn {
    sink: basalt_engine::copy::postgres::CopyIn,
    /// The decoder of a `FORMAT binary` COPY.
    binary: Option<BinaryCopyReader>,
    /// The first fault in the data; what follows it is ignored, and the COPY fails when the
    /// client ends it.
    error: Option<SqlError>,
    /// The text lines of one CopyData message's tuples.
    lines: Vec<u8>,
}

/// A running COPY TO STDOUT, as the protocol layer sends it.
pub struct CopyOutput {
    /// Columns per row (for CopyOutResponse).
    pub columns: usize,
    /// Whether the output is in PostgreSQL's binary COPY format.
    pub binary: bool,
    /// The output in pieces, each with the rows it holds, produced as they are read; an
    /// error ends it. Dropping it stops the query.
    pub chunks: Box<dyn Iterator<Item = CopyChunk> + Send>,
}

/// A piece of a COPY TO STDOUT's output, or the error that ends it.
pub type CopyChunk = std::result::Result<CopyPiece, SqlError>;

/// A piece of a COPY TO STDOUT's output.
#[derive(Debug)]
pub struct CopyPiece {
    pub data: Vec<u8>,
    /// The rows it holds.
    pub rows: u64,
    /// Where each CopyData message ends in `data`, the last at `data.len()`, for output sent
    /// a row per message; `None` to split it in messages of any size.
    pub message_ends: Option<Vec<usize>>,
}

/// The signature and header of PostgreSQL's binary COPY format: `PGCOPY\n\377\r\n\0`, flags
/// (no OIDs) and the length of the header extension (none), big-endian.
const BINARY_COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The binary format's trailer: a field count of -1.
const BINARY_COPY_TRAILER: &[u8] = &(-1i16).to_be_bytes();

/// Encodes `out`'s rows in the binary COPY format: the header, then per row its field count
/// and each field as a DataRow carries it (length, -1 for NULL, then the binary value), then
/// the trailer. As PostgreSQL, each row is a CopyData message of its own, the header goes
/// with the first row (or the trailer, when there is none) and the trailer alone.
fn binary_copy(
    mut out: basalt_engine::copy::postgres::CopyOut,
    zone: Zone,
) -> std::result::Result<CopyOutput, SqlError> {
    let columns = out.columns();
    let types = out.result_columns().iter().map(|c| c.ty).collect();
    let mut encoder = RowEncoder::new(types, &ResultFormats::AllBinary, zone)?;
    let mut header_due = true;
    let mut ended = false;
    let chunks = std::iter::from_fn(move || {
        if ended {
            return None;
        }
        let mut data = Vec::new();
        if header_due {
            header_due = false;
            data.extend_from_slice(BINARY_COPY_HEADER);
        }
        match out.next_batch() {
            Some(Ok(batch)) => Some((|| {
                encoder.check(&batch)?;
                let rows = encoder.encode(&batch, 0..batch.num_rows())?;
                data.reserve(rows.iter().map(|r| r.data.len() + 2).sum());
                let mut ends = Vec::with_capacity(rows.len());
                for row in &rows {
                    data.extend_from_slice(&row.field_count.to_be_bytes());
                    data.extend_from_slice(&row.data);
                    ends.push(data.len());
                }
                if rows.is_empty() && !data.is_empty() {
                    // No row to carry the header: it waits for the next piece.
                    header_due = true;
                    data.clear();
                }
                Ok(CopyPiece {
                    data,
                    rows: rows.len() as u64,
                    message_ends: Some(ends),
                })
            })()),
            Some(Err(e)) => {
                ended = true;
                Some(Err(SqlError::from_engine(&e)))
            }
            None => {
                ended = true;
                data.extend_from_slice(BINARY_COPY_TRAILER);
                let end = data.len();
                Some(Ok(CopyPiece {
                    data,
                    rows: 0,
                    message_ends: Some(vec![end]),
                }))
            }
        }
    });
    Ok(CopyOutput {
        columns,
        binary: true,
        chunks: Box::new(chunks),
    })
}

impl Backend for Engine {
    type Session = Session;

    fn session(self: &Arc<Self>, user: &str) -> Session {
        Engine::session(self, user)
    }

    fn login(&self, user: &str) -> Option<basalt_engine::security::Login> {
        Engine::login(self, user)
    }
}

impl BackendSession for Session {
    type Statement = Statement;
    type CopyIn = EngineCopyIn;

    fn copy_direction(statement: &Statement) -> Option<bool> {
        statement.copy_direction()
    }

    fn copy_in_start(&mut self, statement: &Statement) -> Result<(Self::CopyIn, CopyInFormat)> {
        let sink = Session::copy_in_start(self, statement).unwrap_or_else(|| {
            Err(basalt_engine::Error::Internal(
                "not a COPY FROM STDIN statement".into(),
            ))
        })?;
        let format = CopyInFormat {
            columns: sink.columns(),
            binary: sink.binary(),
        };
        let binary = sink
            .binary()
            .then(|| BinaryCopyReader::new(&sink.column_types()));
        let copy = EngineCopyIn {
            sink,
            binary,
            error: None,
            lines: Vec::new(),
        };
        Ok((copy, format))
    }

    fn copy_in_push(copy: &mut Self::CopyIn, data: &[u8]) -> bool {
        if copy.error.is_some() {
            return false;
        }
        let Some(reader) = &mut copy.binary else {
            return copy.sink.push(data);
        };
        copy.lines.clear();
        let decoded = reader.push(data, &mut copy.lines);
        let full = copy.sink.push(&copy.lines);
        copy.error = decoded.err();
        full && copy.error.is_none()
    }

    fn copy_in_flush(&mut self, copy: &mut Self::CopyIn) {
        Session::copy_in_flush(self, &mut copy.sink);
    }

    fn copy_in_failed(copy: &Self::CopyIn) -> bool {
        copy.error.is_some() || copy.sink.failed()
    }

    fn copy_in_finish(&mut self, copy: Self::CopyIn) -> std::result::Result<String, SqlError> {
        let fault = copy
            .error
            .or_else(|| copy.binary.as_ref().and_then(|r| r.finish().err()));
        if let Some(error) = fault {
            Session::copy_in_abort(self, copy.sink);
            return Err(error);
        }
        match Session::copy_in_finish(self, copy.sink) {
            Ok(StatementResult::Command { tag }) => Ok(tag),
            Ok(StatementResult::Query(_)) => Err(SqlError::internal("COPY returned rows")),
            Err(e) => Err(SqlError::from_engine(&e)),
        }
    }

    fn copy_in_abort(&mut self, copy: Self::CopyIn) {
        Session::copy_in_abort(self, copy.sink);
    }

    fn copy_out(&mut self, statement: &Statement) -> std::result::Result<CopyOutput, SqlError> {
        let out = Session::copy_out(self, statement)
            .unwrap_or_else(|| {
                Err(basalt_engine::Error::Internal(
                    "not a COPY TO STDOUT statement".into(),
                ))
            })
            .map_err(|e| SqlError::from_engine(&e))?;
        if out.binary() {
            return binary_copy(out, self.time_zone());
        }
        let mut out = out;
        let columns = out.columns();
        let chunks = std::iter::from_fn(move || {
            out.next_chunk().map(|chunk| {
                chunk
                    .map(|(data, rows)| CopyPiece {
                        data,
                        rows,
                        message_ends: None,
                    })
                    .map_err(|e| SqlError::from_engine(&e))
            })
        });
        Ok(CopyOutput {
            columns,
            binary: false,
            chunks: Box::new(chunks),
        })
    }

    fn parse(&mut self, sql: &str) -> Result<Vec<Statement>> {
        Session::parse(self, sql)
    }

    fn describe(&mut self, statement: &Statement) -> Result<Description> {
        Session::describe(self, statement)
    }

    fn execute(
        &mut self,
        statement: &Statement,
        params: &[Option<String>],
    ) -> Result<StatementResult> {
        Session::execute(self, statement, params)
    }

    fn execute_streaming(
        &mut self,
        statement: &Statement,
        params: &[Option<String>],
    ) -> Result<Executed> {
        Session::execute_streaming(self, statement, params)
    }

    fn transaction_status(&self) -> TransactionStatus {
        Session::transaction_status(self)
    }

    fn row_tag(statement: &Statement) -> &'static str {
        statement.row_tag()
    }

    fn binary_rows(&self, statement: &Statement) -> bool {
        self.fetches_binary(statement)
    }

    fn cursor_columns(&self, name: &str) -> Option<Vec<basalt_engine::ResultColumn>> {
        Session::cursor_columns(self, name)
    }

    fn deallocates(statement: &Statement) -> Option<Option<String>> {
        statement.deallocates()
    }

    fn set_startup_parameter(&mut self, name: &str, value: &str) -> Result<()> {
        self.settings_mut().set_startup(name, value)
    }

    fn set_backend_pid(&mut self, pid: i32) {
        Session::set_backend_pid(self, pid);
    }

    fn cancel_handle(&self) -> Option<CancelHandle> {
        Some(Session::cancel_handle(self))
    }

    fn time_zone(&self) -> Zone {
        self.settings().time_zone()
    }

    fn reported_parameters(&mut self) -> Vec<(String, String)> {
        self.settings_mut()
            .reported_changes()
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect()
    }
}
