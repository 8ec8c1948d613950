//! Session work on the blocking pool, and results streamed back as DataRows.
//!
//! ```text
//!  async connection task                 blocking thread
//!  ---------------------                 ---------------
//!  execute() ---- statement, params ---> lock session, start statement (panics caught),
//!                                        unlock
//!            <--- head (oneshot) ------- Command(tag) | Rows(columns) | Err
//!  row stream <-- DataRow chunks ------- encode batch by batch as the engine's query thread
//!                 (bounded channel)      yields them (its own bounded channel), at most
//!                                        CHUNKS_IN_FLIGHT_MAX chunks ahead of the socket
//! ```
//!
//! A statement never runs on the async runtime's workers, and a panic inside one becomes an
//! `XX000` error for that statement alone. A query's rows stream from the engine
//! ([`basalt_engine::RowStream`]): memory stays bounded whatever the result's size, an error
//! part-way arrives after the rows before it, and a client that goes away (or a portal that is
//! closed) drops the stream, which stops the query and frees its query slot.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use basalt_engine::pgtext::Zone;
use basalt_engine::{Executed, RowStream, StatementResult};
use futures::stream::{self, StreamExt};
use pgwire::api::results::QueryResponse;
use pgwire::error::PgWireResult;
use pgwire::messages::data::DataRow;
use tokio::sync::{mpsc, oneshot};

use crate::backend::BackendSession;
use crate::encode::RowEncoder;
use crate::sqlstate::SqlError;
use crate::types::{field_infos, ResultFormats};

/// Most rows encoded into one chunk sent to the connection task.
const CHUNK_ROWS_MAX: usize = 1024;
/// Most encoded chunks waiting for the socket; the encoder blocks beyond that, so a large
/// result is never encoded whole ahead of a slow client.
const CHUNKS_IN_FLIGHT_MAX: usize = 4;

/// A connection's session, shared between the connection task and its blocking work.
pub(crate) type SharedSession<S> = Arc<Mutex<S>>;

/// Locks a session; a poisoned lock is taken as is, since panics inside the session are
/// caught and reported before the guard is released.
pub(crate) fn lock<S>(session: &Mutex<S>) -> MutexGuard<'_, S> {
    session.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `work` on the blocking pool with the session locked, turning a panic into `XX000`.
pub(crate) async fn blocking<S, T, F>(session: &SharedSession<S>, work: F) -> Result<T, SqlError>
where
    S: Send + 'static,
    T: Send + 'static,
    F: FnOnce(&mut S) -> Result<T, SqlError> + Send + 'static,
{
    let session = Arc::clone(session);
    let joined = tokio::task::spawn_blocking(move || {
        let mut guard = lock(&session);
        catch_unwind(AssertUnwindSafe(|| work(&mut guard)))
    })
    .await;
    match joined {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(panicked(panic.as_ref())),
        Err(join) => Err(SqlError::internal(format!(
            "internal error: statement worker failed: {join}"
        ))),
    }
}

fn panicked(payload: &(dyn Any + Send)) -> SqlError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".to_owned());
    SqlError::internal(format!("internal error: statement panicked: {message}"))
}

/// What running one statement produced.
pub(crate) enum Outcome {
    /// A command and its complete tag, e.g. `INSERT 0 3`.
    Command(String),
    /// Rows: their description and a stream of encoded DataRows (tag `SELECT`).
    Rows(QueryResponse),
}

type RowChunk = Result<Vec<DataRow>, SqlError>;

enum Head {
    Command(String),
    Rows(QueryResponse),
}

/// Runs `statement` with `params` on the blocking pool; rows are encoded in `formats`, except
/// that in the simple protocol (`simple`) a FETCH from a BINARY cursor sends binary.
pub(crate) async fn execute<S: BackendSession>(
    session: &SharedSession<S>,
    statement: S::Statement,
    params: Vec<Option<String>>,
    formats: ResultFormats,
    simple: bool,
) -> Result<Outcome, SqlError> {
    let (head_tx, head_rx) = oneshot::channel::<Result<Head, SqlError>>();
    let session = Arc::clone(session);
    // Detached: the head channel reports the outcome, and the row channel closing stops the
    // encoder if the client goes away.
    drop(tokio::task::spawn_blocking(move || {
        let mut formats = formats;
        let executed = {
            let mut guard = lock(&session);
            if simple && guard.binary_rows(&statement) {
                formats = ResultFormats::AllBinary;
            }
            let executed = catch_unwind(AssertUnwindSafe(|| {
                guard.execute_streaming(&statement, &params)
            }));
            (executed, guard.time_zone())
        };
        let (executed, zone) = executed;
        let tag = S::row_tag(&statement);
        match executed {
            Ok(Ok(Executed::Done(StatementResult::Command { tag }))) => {
                let _ = head_tx.send(Ok(Head::Command(tag)));
            }
            Ok(Ok(Executed::Done(StatementResult::Query(query)))) => {
                stream_rows(RowStream::ready(query), &formats, zone, tag, head_tx);
            }
            Ok(Ok(Executed::Rows(rows))) => stream_rows(rows, &formats, zone, tag, head_tx),
            Ok(Err(error)) => {
                let _ = head_tx.send(Err(SqlError::from_engine(&error)));
            }
            Err(panic) => {
                let _ = head_tx.send(Err(panicked(panic.as_ref())));
            }
        }
    }));
    let head = head_rx.await.map_err(|_| {
        SqlError::internal("internal error: statement worker stopped without a result")
    })??;
    Ok(match head {
        Head::Command(tag) => Outcome::Command(tag),
        Head::Rows(response) => Outcome::Rows(response),
    })
}

/// On the blocking thread: sends the result's description (with `tag`, the command tag's
/// word), then its rows chunk by chunk.
fn stream_rows(
    query: RowStream,
    formats: &ResultFormats,
    zone: Zone,
    tag: &str,
    head_tx: oneshot::Sender<Result<Head, SqlError>>,
) {
    let types = query.columns().iter().map(|c| c.ty).collect();
    let mut encoder = match RowEncoder::new(types, formats, zone) {
        Ok(encoder) => encoder,
        Err(error) => {
            let _ = head_tx.send(Err(error));
            return;
        }
    };
    let fields = Arc::new(field_infos(query.columns(), formats));
    let (rows_tx, rows_rx) = mpsc::channel::<RowChunk>(CHUNKS_IN_FLIGHT_MAX);
    let mut response = QueryResponse::new(fields, row_stream(rows_rx));
    response.set_command_tag(tag);
    if head_tx.send(Ok(Head::Rows(response))).is_err() {
        return;
    }
    // Each batch is dropped once encoded; dropping the stream (on return) stops the query.
    for batch in query {
        let batch = match batch {
            Ok(batch) => batch,
            Err(error) => {
                let _ = rows_tx.blocking_send(Err(SqlError::from_engine(&error)));
                return;
            }
        };
        if let Err(error) = encoder.check(&batch) {
            let _ = rows_tx.blocking_send(Err(error));
            return;
        }
        let rows = batch.num_rows();
        for start in (0..rows).step_by(CHUNK_ROWS_MAX) {
            let end = rows.min(start + CHUNK_ROWS_MAX);
            let chunk = catch_unwind(AssertUnwindSafe(|| encoder.encode(&batch, start..end)))
                .unwrap_or_else(|panic| Err(panicked(panic.as_ref())));
            let failed = chunk.is_err();
            // A closed channel means the client left or the portal was closed.
            if rows_tx.blocking_send(chunk).is_err() || failed {
                return;
            }
        }
    }
}

fn row_stream(
    rows_rx: mpsc::Receiver<RowChunk>,
) -> impl futures::Stream<Item = PgWireResult<DataRow>> + Send + 'static {
    stream::unfold(rows_rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    })
    .flat_map(|chunk| match chunk {
        Ok(rows) => stream::iter(rows.into_iter().map(Ok)).left_stream(),
        Err(error) => stream::iter([Err(error.into())]).right_stream(),
    })
}
