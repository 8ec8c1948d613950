//! The embedded adapter: a sqllogictest connection that is a `basalt_engine::Session` in this
//! process.
//!
//! Each connection owns a worker thread that holds its session and runs statements one at a
//! time. The test's async side waits for the answer with a timeout, so a statement that never
//! finishes fails its record instead of hanging the run, and a panic in the engine is reported
//! as that statement's error.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;

use basalt_engine::{Engine, QueryResult, Session, SqlType, StatementResult};
use sqllogictest::{DBOutput, DefaultColumnType};
use tokio::sync::oneshot;

use crate::convention::Convention;
use crate::database::{command_count, ConnectionOptions, TEST_USER};
use crate::error::SltError;

type Output = Result<DBOutput<DefaultColumnType>, SltError>;

struct Request {
    sql: String,
    hint: Option<Vec<DefaultColumnType>>,
    reply: oneshot::Sender<Output>,
}

/// One session of an engine that lives in this process.
pub struct EmbeddedConnection {
    engine: Arc<Engine>,
    options: ConnectionOptions,
    requests: mpsc::Sender<Request>,
}

impl EmbeddedConnection {
    /// Opens a new session on `engine`.
    pub fn open(engine: Arc<Engine>, options: ConnectionOptions) -> Result<Self, SltError> {
        let requests = spawn_worker(engine.clone(), options.convention)?;
        Ok(EmbeddedConnection {
            engine,
            options,
            requests,
        })
    }

    /// Runs `sql` (one or more statements) and renders its result.
    pub async fn run(&mut self, sql: &str) -> Output {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            sql: sql.to_string(),
            hint: self.options.hint.get(),
            reply,
        };
        self.requests
            .send(request)
            .map_err(|_| SltError::harness("the session's worker thread has exited"))?;
        match tokio::time::timeout(self.options.statement_timeout, answer).await {
            Ok(Ok(output)) => output,
            Ok(Err(_)) => Err(SltError::harness("the session's worker thread has exited")),
            Err(_) => {
                // The worker is stuck in the engine; leave it behind (it exits once the statement
                // ends and it finds its channel closed) and carry on with a fresh session.
                self.options.timed_out.store(true, Ordering::SeqCst);
                self.requests = spawn_worker(self.engine.clone(), self.options.convention)?;
                Err(SltError::harness(format!(
                    "statement timed out after {} s",
                    self.options.statement_timeout.as_secs_f64()
                )))
            }
        }
    }
}

fn spawn_worker(
    engine: Arc<Engine>,
    convention: Convention,
) -> Result<mpsc::Sender<Request>, SltError> {
    let (requests, inbox) = mpsc::channel::<Request>();
    std::thread::Builder::new()
        .name("slt-session".into())
        .spawn(move || serve(engine, convention, inbox))
        .map_err(|e| SltError::harness(format!("cannot start a session thread: {e}")))?;
    Ok(requests)
}

fn serve(engine: Arc<Engine>, convention: Convention, inbox: mpsc::Receiver<Request>) {
    let mut session = engine.session(TEST_USER);
    while let Ok(request) = inbox.recv() {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            run_statements(
                &mut session,
                &request.sql,
                convention,
                request.hint.as_deref(),
            )
        }));
        let output = outcome.unwrap_or_else(|panic| {
            // The session may be half-way through a change; start over with a fresh one.
            session = engine.session(TEST_USER);
            Err(SltError::harness(format!(
                "the engine panicked: {}",
                panic_message(panic.as_ref())
            )))
        });
        // The caller may have given up waiting (a timeout); nobody is left to tell.
        let _ = request.reply.send(output);
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Runs every statement in `sql`; rows from query statements are concatenated, otherwise the
/// affected-row count is the last command's, as the simple query protocol reports them.
fn run_statements(
    session: &mut Session,
    sql: &str,
    convention: Convention,
    hint: Option<&[DefaultColumnType]>,
) -> Output {
    let results = session.run(sql).map_err(|e| engine_error(&e))?;
    // TIMESTAMPTZ values print in the session's zone, as the server sends them.
    let zone = session.settings().time_zone();
    let mut types: Option<Vec<DefaultColumnType>> = None;
    let mut rows = Vec::new();
    let mut count = 0;
    for result in results {
        match result {
            StatementResult::Query(query) => {
                types.get_or_insert_with(|| {
                    query.columns.iter().map(|c| column_type(c.ty)).collect()
                });
                count = query.num_rows() as u64;
                render_rows(&query, convention, hint, zone, &mut rows);
            }
            StatementResult::Command { tag } => count = command_count(&tag),
        }
    }
    Ok(match types {
        Some(types) => DBOutput::Rows { types, rows },
        None => DBOutput::StatementComplete(count),
    })
}

fn render_rows(
    query: &QueryResult,
    convention: Convention,
    hint: Option<&[DefaultColumnType]>,
    zone: basalt_engine::pgtext::Zone,
    rows: &mut Vec<Vec<String>>,
) {
    for batch in &query.batches {
        for row in 0..batch.num_rows() {
            let values = query
                .columns
                .iter()
                .enumerate()
                .map(|(i, column)| {
                    let text = basalt_engine::pgtext::format_value(
                        batch.column(i).as_ref(),
                        row,
                        column.ty,
                        zone,
                    );
                    convention.render(text.as_deref(), hint.and_then(|h| h.get(i)))
                })
                .collect();
            rows.push(values);
        }
    }
}

/// The sqllogictest type character for a result column.
fn column_type(ty: SqlType) -> DefaultColumnType {
    match ty {
        SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => DefaultColumnType::Integer,
        SqlType::Decimal { .. } | SqlType::Real | SqlType::Double => {
            DefaultColumnType::FloatingPoint
        }
        SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text => DefaultColumnType::Text,
        // An array compares as its text form.
        SqlType::Array { .. } => DefaultColumnType::Text,
        SqlType::Boolean
        | SqlType::Date
        | SqlType::Timestamp
        | SqlType::Time
        | SqlType::Timestamptz
        | SqlType::Interval => DefaultColumnType::Any,
    }
}

/// An engine error as the server would report it: the same message and SQLSTATE code, from the
/// server's one mapping.
fn engine_error(error: &basalt_engine::Error) -> SltError {
    let reported = basalt_server::sqlstate::SqlError::from_engine(error);
    SltError {
        message: reported.message,
        sqlstate: Some(reported.code.to_string()),
    }
}
