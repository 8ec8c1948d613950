//! Streaming a query's result: batches leave the executor as the plan's root yields them,
//! through a bounded channel, so a large result never sits whole in memory.
//!
//! ```text
//!  caller (server encoder / Session::run)        query thread (one per streamed statement)
//!  --------------------------------------        -----------------------------------------
//!  RowStream::next() <--- batch ------------- sync_channel(STREAM_BATCHES_MAX) <--- stream()
//!                    <--- Err(e), then end --  (an error ends the stream after its rows)
//!  drop(RowStream)   ---> the next send fails: the thread stops, frees its memory and slot
//! ```
//!
//! What streams: a scan, and the filters, projections and LIMIT / OFFSET above it. The scan
//! reads segments on the rayon pool, at most [`SEGMENTS_AHEAD_MAX`] (or one per thread) ahead
//! of the one the consumer waits for, with the filters and projections applied on the thread
//! that read each segment; segments are emitted in table order. A LIMIT stops the scan once it
//! has its rows. UNION ALL streams its inputs one after the other. Any other root (sort,
//! aggregate, join, ...) runs as `run` does, materializing only its own output, which is then
//! emitted batch by batch: filters, projections and limits above it still apply batch by
//! batch.
//!
//! The query thread owns everything the statement needs: the plan (whose table metadata pins
//! the snapshot it was bound against), the memory budget, the interrupt (cancel requests and
//! `statement_timeout` stop it between segments and batches) and the workload-management
//! slot, which it acquires itself and holds until the stream ends or is dropped.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

use arrow_array::RecordBatch;

use super::pipeline::{apply, chain};
use super::scan::SegmentScan;
use super::{limit, run, ExecContext, SharedResults};
use crate::error::{Error, Result};
use crate::interrupt::Interrupt;
use crate::planner::plan::{Plan, SetOpKind};
use crate::{QueryResult, ResultColumn};

/// Most batches waiting in the channel between the query thread and its consumer.
pub const STREAM_BATCHES_MAX: usize = 2;
/// Most segments read ahead of the one the consumer waits for, whatever the pool's size.
const SEGMENTS_AHEAD_MAX: usize = 8;

/// Runs `plan`, handing its output to `emit` batch by batch as the root yields it; `emit`
/// returns `false` once it wants no more, which stops the plan. Shared subplans run first, as
/// in [`super::execute`].
pub(crate) fn stream(
    plan: &Plan,
    ctx: &ExecContext<'_>,
    emit: &mut dyn FnMut(RecordBatch) -> Result<bool>,
) -> Result<()> {
    let (shared, _held) = super::run_shared(plan, ctx)?;
    stream_node(plan, ctx, &shared, emit)?;
    Ok(())
}

/// [`stream`] collected into batches: the embedded API's result, and what a streamed query
/// would have sent.
pub(crate) fn collect(plan: &Plan, ctx: &ExecContext<'_>) -> Result<Vec<RecordBatch>> {
    let mut out = Vec::new();
    stream(plan, ctx, &mut |batch| {
        out.push(batch);
        Ok(true)
    })?;
    Ok(out)
}

/// Streams `plan`'s output into `emit`; `Ok(false)` when `emit` asked to stop.
fn stream_node(
    plan: &Plan,
    ctx: &ExecContext<'_>,
    shared: &SharedResults,
    emit: &mut dyn FnMut(RecordBatch) -> Result<bool>,
) -> Result<bool> {
    ctx.interrupt.check()?;
    match plan {
        Plan::Filter { .. } | Plan::Project { .. } | Plan::Scan { .. } => {
            if let Some((
                ops,
                scan_node @ Plan::Scan {
                    table,
                    projection,
                    filter,
                    external: None,
                },
            )) = chain(plan)
            {
                let keys = ctx.key_filters.for_scan(scan_node);
                let scan = SegmentScan::new(table, projection, filter.as_ref(), keys);
                return scan_ordered(ctx, &scan, &ops, emit);
            }
            let (Plan::Filter { input, .. } | Plan::Project { input, .. }) = plan else {
                return emit_all(plan, ctx, shared, emit);
            };
            // A filter or projection over an operator that materializes: applied batch by
            // batch as that operator's output is emitted.
            stream_node(
                input,
                ctx,
                shared,
                &mut |batch| match apply(ctx, &[plan], batch)? {
                    Some(batch) => emit(batch),
                    None => Ok(true),
                },
            )
        }
        // A recursive query below a limit stops after the round that reaches the limit
        // (`recursive::run_limited`), which `run` does.
        Plan::Limit { input, .. } if super::recursive::reaches_recursive_union(input) => {
            emit_all(plan, ctx, shared, emit)
        }
        Plan::Limit {
            input,
            offset,
            limit,
        } => {
            let mut skip = *offset;
            let mut left = limit.unwrap_or(u64::MAX);
            if left == 0 {
                return Ok(true);
            }
            let mut wanted = true;
            stream_node(input, ctx, shared, &mut |batch| {
                let rows = batch.num_rows() as u64;
                if skip >= rows {
                    skip -= rows;
                    return Ok(true);
                }
                let take = (rows - skip).min(left);
                let sliced = limit::limit(vec![batch], skip, Some(take));
                skip = 0;
                left -= take;
                for b in sliced {
                    if !emit(b)? {
                        wanted = false;
                        return Ok(false);
                    }
                }
                Ok(left > 0)
            })?;
            // The limit stopping its input is not its consumer stopping it.
            Ok(wanted)
        }
        // UNION ALL is its inputs one after the other (as `set_op` concatenates them): each
        // streams in turn, so a result of many scans never sits whole in memory.
        Plan::SetOp {
            left,
            right,
            kind: SetOpKind::Union,
            all: true,
        } => {
            if !stream_node(left, ctx, shared, emit)? {
                return Ok(false);
            }
            stream_node(right, ctx, shared, emit)
        }
        _ => emit_all(plan, ctx, shared, emit),
    }
}

/// Runs `plan` as a whole (as `run` does) and emits its output batch by batch.
fn emit_all(
    plan: &Plan,
    ctx: &ExecContext<'_>,
    shared: &SharedResults,
    emit: &mut dyn FnMut(RecordBatch) -> Result<bool>,
) -> Result<bool> {
    let output = run(plan, ctx, shared)?;
    for batch in output.batches {
        ctx.interrupt.check()?;
        if !emit(batch)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// What one segment's task produced: its surviving rows after `ops`, if any.
type SegmentRows = Result<Option<RecordBatch>>;

/// Reads `scan`'s segments on the rayon pool, a bounded number ahead, applies `ops` (filters
/// and projections, top first) on the thread that read each, and emits the results in
/// segment order.
fn scan_ordered(
    ctx: &ExecContext<'_>,
    scan: &SegmentScan<'_>,
    ops: &[&Plan],
    emit: &mut dyn FnMut(RecordBatch) -> Result<bool>,
) -> Result<bool> {
    let segments = scan.segments();
    let ahead = rayon::current_num_threads().clamp(1, SEGMENTS_AHEAD_MAX);
    // Set when the consumer stops or a segment fails: tasks not yet started do nothing.
    let stop = AtomicBool::new(false);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<(usize, SegmentRows)>();
    let read_one = |index: usize| -> SegmentRows {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let Some(batch) = scan.read(ctx, index)?.0 else {
            return Ok(None);
        };
        apply(ctx, ops, batch)
    };
    let read_one = &read_one;
    rayon::in_place_scope(|scope| {
        let outcome = (|| {
            let mut spawned = 0;
            let mut pending: BTreeMap<usize, SegmentRows> = BTreeMap::new();
            for next in 0..segments {
                while spawned < segments && spawned < next + ahead {
                    let done_tx = done_tx.clone();
                    let index = spawned;
                    scope.spawn(move |_| {
                        let rows = catch_unwind(AssertUnwindSafe(|| read_one(index)))
                            .unwrap_or_else(|panic| Err(panicked(panic.as_ref())));
                        // The receiver outlives the scope; a failed send cannot happen.
                        let _ = done_tx.send((index, rows));
                    });
                    spawned += 1;
                }
                let rows = loop {
                    if let Some(rows) = pending.remove(&next) {
                        break rows;
                    }
                    let (index, rows) = done_rx.recv().map_err(|_| {
                        Error::Internal("a segment of a streamed scan was lost".into())
                    })?;
                    pending.insert(index, rows);
                };
                if let Some(batch) = rows? {
                    let _reserved = ctx.memory.reserve_batches(std::slice::from_ref(&batch))?;
                    ctx.interrupt.check()?;
                    if !emit(batch)? {
                        return Ok(false);
                    }
                }
            }
            Ok(true)
        })();
        // Tasks still queued see this and return at once; the scope waits for them.
        stop.store(true, Ordering::Relaxed);
        outcome
    })
}

fn panicked(payload: &(dyn std::any::Any + Send)) -> Error {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".to_owned());
    Error::Internal(format!("statement panicked: {message}"))
}

/// A query's rows as they come: batches from a query thread (see the module docs), or the
/// batches of a result already complete. Iterating yields each batch; an error ends the stream.
/// Dropping the stream stops its query.
#[derive(Debug)]
pub struct RowStream {
    columns: Vec<ResultColumn>,
    source: Source,
    /// The STL_QUERY row recorded when the stream ends (its end time and whether it failed
    /// filled in then).
    log: Option<(Arc<crate::query_log::QueryLog>, crate::query_log::QueryRow)>,
}

#[derive(Debug)]
enum Source {
    Ready(std::vec::IntoIter<RecordBatch>),
    Running(Receiver<Result<RecordBatch>>),
    /// The rest of a cursor's FETCH, read from the cursor as the client takes the rows.
    Fetch(Box<crate::cursor::FetchStream>),
    Ended,
}

impl RowStream {
    /// The stream of a complete result.
    pub fn ready(result: QueryResult) -> Self {
        RowStream {
            columns: result.columns,
            source: Source::Ready(result.batches.into_iter()),
            log: None,
        }
    }

    /// The rest of a cursor's FETCH.
    pub(crate) fn fetched(columns: Vec<ResultColumn>, fetch: crate::cursor::FetchStream) -> Self {
        RowStream {
            columns,
            source: Source::Fetch(Box::new(fetch)),
            log: None,
        }
    }

    /// Records `row` in `queries` when the stream ends: aborted if it ends in an error or is
    /// dropped before its end.
    pub(crate) fn log_on_end(
        &mut self,
        queries: Arc<crate::query_log::QueryLog>,
        row: crate::query_log::QueryRow,
    ) {
        self.log = Some((queries, row));
    }

    fn ended(&mut self, aborted: bool) {
        if let Some((queries, mut row)) = self.log.take() {
            row.endtime = crate::query_log::now_micros();
            row.aborted = aborted;
            queries.record(row);
        }
    }

    /// The result's columns.
    pub fn columns(&self) -> &[ResultColumn] {
        &self.columns
    }

    /// The next item as [`Iterator::next`], waiting for it in short steps and calling `check`
    /// between them: the first error `check` returns ends the stream (as aborted) and is
    /// returned. A cursor's FETCH reads its stream this way, so a cancel request or the
    /// FETCH's `statement_timeout` stops the wait.
    pub(crate) fn next_checked(
        &mut self,
        check: &dyn Fn() -> Result<()>,
    ) -> Option<Result<RecordBatch>> {
        const STEP: std::time::Duration = std::time::Duration::from_millis(20);
        loop {
            let Source::Running(rx) = &mut self.source else {
                return self.next();
            };
            match rx.recv_timeout(STEP) {
                Ok(item) => {
                    if item.is_err() {
                        self.source = Source::Ended;
                        self.ended(true);
                    }
                    return Some(item);
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return self.next(),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if let Err(e) = check() {
                        // The query thread may still run: see `wait_stopped`.
                        self.ended(true);
                        return Some(Err(e));
                    }
                }
            }
        }
    }

    /// Waits at most `max` for the query thread to stop (its interrupt having fired), so
    /// that its query slot and memory are free when this returns; what it still sends is
    /// dropped. The stream is ended afterwards.
    pub(crate) fn wait_stopped(&mut self, max: std::time::Duration) {
        if let Source::Running(rx) = &self.source {
            let deadline = std::time::Instant::now() + max;
            while rx
                .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
                .is_ok()
            {}
        }
        self.source = Source::Ended;
    }

    /// Reads the whole stream into a result (the first error ends it).
    pub fn collect_all(self) -> Result<QueryResult> {
        let columns = self.columns.clone();
        let batches = self.collect::<Result<Vec<_>>>()?;
        Ok(QueryResult { columns, batches })
    }
}

impl Iterator for RowStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        let item = match &mut self.source {
            Source::Ready(batches) => batches.next().map(Ok),
            Source::Running(rx) => rx.recv().ok(),
            Source::Fetch(fetch) => fetch.next(),
            Source::Ended => None,
        };
        match &item {
            Some(Ok(_)) => {}
            // An error is the last item; a closed channel is the end.
            Some(Err(_)) => {
                self.source = Source::Ended;
                self.ended(true);
            }
            None => {
                self.source = Source::Ended;
                self.ended(false);
            }
        }
        item
    }
}

impl Drop for RowStream {
    /// A stream dropped before its end stopped its query: it is logged as aborted.
    fn drop(&mut self) {
        self.ended(true);
    }
}

/// What [`crate::Session::execute_streaming`] produced.
#[derive(Debug)]
pub enum Executed {
    /// A command's outcome, or rows that were complete before the statement returned.
    Done(crate::StatementResult),
    /// A query's rows, still being produced.
    Rows(RowStream),
}

impl From<crate::StatementResult> for Executed {
    fn from(result: crate::StatementResult) -> Self {
        Executed::Done(result)
    }
}

/// What a streamed query's thread needs to run it.
pub(crate) struct QueryJob {
    pub engine: Arc<crate::Engine>,
    pub plan: Plan,
    pub memory_limit_bytes: u64,
    pub interrupt: Interrupt,
    /// The user and statement text the workload-management queue shows, when the query must
    /// hold a query slot.
    pub queue: Option<(String, Arc<str>)>,
    /// Set when the query fails after its stream was handed out, so the session can fail its
    /// transaction block as a failed statement does.
    pub failed: Arc<AtomicBool>,
}

/// What a query thread does with its query slot while its consumer does not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Idle {
    /// Keeps it: a statement's stream, read to its end (or dropped) while the statement runs.
    HoldSlot,
    /// Gives it back while the channel is full and queues again for one when the consumer
    /// takes a batch: a cursor's stream, which its session reads one FETCH at a time, so an
    /// open cursor between FETCHes occupies no slot (and its own session's later queries
    /// cannot wait behind it).
    YieldSlot,
}

/// Starts `job` on a query thread of its own; its rows come through the returned stream.
pub(crate) fn start(columns: Vec<ResultColumn>, job: QueryJob) -> Result<RowStream> {
    start_with(columns, job, Idle::HoldSlot)
}

/// [`start`], choosing what the thread does with its slot while nobody reads.
pub(crate) fn start_with(
    columns: Vec<ResultColumn>,
    job: QueryJob,
    idle: Idle,
) -> Result<RowStream> {
    let (tx, rx) = sync_channel::<Result<RecordBatch>>(STREAM_BATCHES_MAX);
    let spawned = std::thread::Builder::new()
        .name("basalt-query".into())
        .spawn(move || {
            let ran = catch_unwind(AssertUnwindSafe(|| run_job(&job, &tx, idle)))
                .unwrap_or_else(|panic| Err(panicked(panic.as_ref())));
            if let Err(error) = ran {
                job.failed.store(true, Ordering::Relaxed);
                let _ = tx.send(Err(error));
            }
        });
    if let Err(e) = spawned {
        return Err(Error::Internal(format!(
            "could not start a query thread: {e}"
        )));
    }
    Ok(RowStream {
        columns,
        source: Source::Running(rx),
        log: None,
    })
}

/// On the query thread: waits for a query slot if the plan needs one, then streams the plan
/// into `tx`. A send that fails means the consumer is gone, which stops the plan.
fn run_job(job: &QueryJob, tx: &SyncSender<Result<RecordBatch>>, idle: Idle) -> Result<()> {
    let engine = &job.engine;
    let acquire = || match &job.queue {
        Some((user, text)) => engine.queue.acquire(&job.interrupt, user, text).map(Some),
        None => Ok(None),
    };
    let mut slot = acquire()?;
    let memory = super::memory::MemoryBudget::new(job.memory_limit_bytes);
    let ctx = ExecContext {
        store: &engine.store,
        memory: &memory,
        interrupt: &job.interrupt,
        profile: None,
        key_filters: Default::default(),
    };
    stream(&job.plan, &ctx, &mut |batch| {
        job.interrupt.check()?;
        if idle == Idle::HoldSlot || slot.is_none() {
            return Ok(tx.send(Ok(batch)).is_ok());
        }
        match tx.try_send(Ok(batch)) {
            Ok(()) => Ok(true),
            Err(TrySendError::Disconnected(_)) => Ok(false),
            Err(TrySendError::Full(item)) => {
                // The consumer has all it can hold: wait for it without a slot.
                slot = None;
                if tx.send(item).is_err() {
                    return Ok(false);
                }
                slot = acquire()?;
                Ok(true)
            }
        }
    })?;
    job.interrupt.check()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Array, Int64Array};
    use basalt_storage::segment::SEGMENT_ROWS_MAX;

    use super::*;
    use crate::exec::make_batch;
    use crate::{EngineOptions, Executed, Session};

    const SEGMENT: i64 = SEGMENT_ROWS_MAX as i64;

    /// A session on an engine with one query slot and table `t (x BIGINT)` holding
    /// 0..3 * SEGMENT + 10 in order (four segments).
    fn session(dir: &std::path::Path) -> Session {
        let engine = crate::Engine::open_with(
            dir,
            EngineOptions {
                max_concurrent_queries: 1,
                ..Default::default()
            },
        )
        .unwrap();
        let mut session = engine.session("test");
        session.run("CREATE TABLE t (x BIGINT)").unwrap();
        let rows = 3 * SEGMENT + 10;
        let batch = make_batch(
            vec![Arc::new(Int64Array::from_iter_values(0..rows))],
            rows as usize,
        )
        .unwrap();
        session.append_batches("t", &[batch]).unwrap();
        session
    }

    fn stream_of(session: &mut Session, sql: &str) -> RowStream {
        let stmt = session.parse(sql).unwrap().remove(0);
        match session.execute_streaming(&stmt, &[]).unwrap() {
            Executed::Rows(rows) => rows,
            Executed::Done(_) => panic!("{sql} did not stream"),
        }
    }

    fn values(batch: &RecordBatch) -> Vec<i64> {
        let a = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        a.values().to_vec()
    }

    // Input: a projection that divides by zero at the last row (fourth segment). The stream
    // yields the first three segments' rows in order, then the error, then ends; a collected
    // run of the same query fails without rows.
    #[test]
    fn an_error_in_a_later_segment_follows_the_rows_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = session(dir.path());
        let sql = format!("SELECT x, 1 / (x - {}) FROM t", 3 * SEGMENT + 9);
        let mut seen = Vec::new();
        let mut stream = stream_of(&mut session, &sql);
        let error = loop {
            match stream.next() {
                Some(Ok(batch)) => seen.extend(values(&batch)),
                Some(Err(e)) => break e,
                None => panic!("the stream ended without the error"),
            }
        };
        assert!(matches!(error, Error::DivisionByZero), "{error:?}");
        assert!(stream.next().is_none());
        assert_eq!(seen, (0..3 * SEGMENT).collect::<Vec<_>>());
        assert!(matches!(session.run(&sql), Err(Error::DivisionByZero)));
    }

    // Input: LIMIT / OFFSET windows across a segment boundary and past the end, streamed and
    // collected: the same rows, in table order.
    #[test]
    fn limits_slice_the_stream() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = session(dir.path());
        for (limit, offset, expected) in [
            (
                5,
                SEGMENT - 2,
                (SEGMENT - 2..SEGMENT + 3).collect::<Vec<_>>(),
            ),
            (3, 0, vec![0, 1, 2]),
            (100, 3 * SEGMENT + 8, vec![3 * SEGMENT + 8, 3 * SEGMENT + 9]),
            (0, 0, vec![]),
        ] {
            let sql = format!("SELECT x FROM t WHERE x >= 0 LIMIT {limit} OFFSET {offset}");
            let streamed: Vec<i64> = stream_of(&mut session, &sql)
                .flat_map(|b| values(&b.unwrap()))
                .collect();
            assert_eq!(streamed, expected, "{sql}");
            let collected: Vec<i64> = match session.run(&sql).unwrap().remove(0) {
                crate::StatementResult::Query(q) => q.batches.iter().flat_map(values).collect(),
                other => panic!("{other:?}"),
            };
            assert_eq!(streamed, collected, "{sql}");
        }
    }

    // Input: a stream read for one batch and then dropped, on an engine with one query slot.
    // The query stops and gives the slot back: a query over the table then runs (under a
    // statement_timeout, so a slot never given back fails the test instead of hanging it).
    #[test]
    fn a_dropped_stream_frees_its_query_slot() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = session(dir.path());
        let mut stream = stream_of(&mut session, "SELECT x FROM t");
        assert_eq!(
            stream.next().unwrap().unwrap().column(0).len() as i64,
            SEGMENT
        );
        drop(stream);
        session.run("SET statement_timeout = 60000").unwrap();
        let result = session.run("SELECT count(*) FROM t").unwrap().remove(0);
        let crate::StatementResult::Query(q) = result else {
            panic!("{result:?}");
        };
        assert_eq!(q.num_rows(), 1);
    }
}
