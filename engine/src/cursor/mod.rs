//! Cursors: `DECLARE`, `FETCH`, `MOVE`, `CLOSE` and the `pg_cursors` view, with PostgreSQL's
//! semantics (and Redshift's, which are a subset).
//!
//! - `parse`: FETCH and MOVE from tokens (DECLARE and CLOSE come from sqlparser).
//! - `scroll`: the position state machine, PostgreSQL's portal rules case by case.
//! - `session`: the session's statements: declaring (binding the query at once, against the
//!   statement's snapshot), fetching, closing, and what COMMIT, ROLLBACK and savepoints do to
//!   cursors.
//!
//! How rows are kept. A cursor's query is bound when it is declared, so it reads the snapshot
//! of that moment, and starts at its first FETCH or MOVE (a runtime error surfaces there, as
//! in PostgreSQL). It then runs on a query thread of its own as a streamed SELECT does
//! (`exec::stream`): batches wait in a bounded channel, and a FETCH takes from the channel
//! only the batches it needs to answer, so a cursor over a result far larger than memory
//! returns its first rows at once and holds a bounded number of batches beyond what it kept.
//!
//! What it keeps of the rows read is the [`RowStore`]. A NO SCROLL cursor can never go back,
//! so each FETCH drops the batches wholly behind its position and a MOVE drops the rows it
//! passes: it reads the whole result at a steady footprint. A cursor declared without NO
//! SCROLL may go back at any time, so it keeps (spools) every batch it has read, never more:
//! the newest up to `work_mem` in memory, the older ones in a spill file of the data directory
//! (see [`RowStore`]), so its memory stays bounded whatever the client reads. A FETCH that needs
//! the end of the result (FETCH LAST, ABSOLUTE -n) reads the stream to its end before it
//! answers. A forward FETCH (FETCH ALL, FETCH n) does not gather its answer: once it has rows
//! in hand and needs more, the rest goes out as a [`FetchStream`] over the cursor's shared
//! [`Reader`], a batch at a time as the client takes the rows (see
//! [`Reader::forward_step`] for why that is the same as one FETCH).
//!
//! Between FETCHes the query thread waits on the full channel without its query slot
//! (`exec::stream::Idle::YieldSlot`) and queues for one again when a FETCH takes rows: an
//! open cursor occupies a slot only while it computes rows, so a client that leaves a cursor
//! open does not block the workload-management queue, nor its own session's later queries.
//! What an idle cursor does keep is its memory: the batches in the channel, and the output
//! of an operator that materializes (a sort, an aggregate, a join's build side). The FETCH
//! polls the session's cancel requests and `statement_timeout` while it waits for rows; the
//! query thread has an interrupt of its own, cancelled when the cursor is closed or its
//! transaction ends, so a cancel request or a timeout that arrives between FETCHes does not
//! touch the cursor.
//!
//! A WITH HOLD cursor declared in a transaction block reads the rest of its stream into its
//! store at COMMIT (PostgreSQL materializes held cursors there too), so it never reads segment
//! files after the transaction that wrote them is gone; ROLLBACK closes it unread.

pub mod parse;
mod scroll;
mod session;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arrow_array::{RecordBatch, UInt32Array};

use basalt_storage::spill::SpillFile;
use basalt_storage::store::Store;

use crate::error::{Error, Result};
use crate::exec::stream::RowStream;
use crate::interrupt::{CancelHandle, Interrupt, InterruptSource};
use crate::planner::plan::Plan;
use crate::types::Datum;
use crate::ResultColumn;
use parse::{Count, Direction};
use scroll::{Scroll, Span};

/// What DECLARE asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CursorOptions {
    /// BINARY: rows go to a simple-protocol client in binary format.
    pub binary: bool,
    /// NO SCROLL: forward only (and rows behind the position are dropped).
    pub no_scroll: bool,
    /// WITH HOLD: the cursor outlives the transaction that declared it.
    pub hold: bool,
}

/// Where a cursor's rows come from.
///
/// ```text
///   Pending --first FETCH/MOVE, or COMMIT of a WITH HOLD--> Ready(streaming)
///   Ready(streaming) --stream ends, or COMMIT of a WITH HOLD--> Ready(complete)
///   any --an error in its query or a FETCH--> Failed
/// ```
#[derive(Debug)]
enum Rows {
    /// Declared but not run yet: its query's plan, bound against the DECLARE's snapshot.
    Pending(Box<Plan>),
    /// Running or run: the rows read so far, the stream of the rest and the position,
    /// shared with a FETCH whose rows are still on their way to the client.
    Ready(Arc<Mutex<Reader>>),
    /// Its query or a FETCH failed; as PostgreSQL, it can only be closed now.
    Failed,
}

/// One open cursor of a session.
#[derive(Debug)]
pub(crate) struct Cursor {
    name: String,
    /// The whole query string the DECLARE came in, as pg_cursors shows it.
    statement: Arc<str>,
    columns: Vec<ResultColumn>,
    options: CursorOptions,
    /// When it was declared, in microseconds since the Unix epoch.
    created_micros: i64,
    rows: Rows,
    /// How many savepoints were open when it was declared: rolling back to savepoint `i`
    /// (0-based) closes the cursors of level above `i`.
    level: usize,
    /// Declared in the open transaction block: its ROLLBACK closes it, WITH HOLD or not.
    in_block: bool,
}

impl Cursor {
    /// The cursor's result columns.
    pub fn columns(&self) -> &[ResultColumn] {
        &self.columns
    }

    /// Whether a simple-protocol FETCH sends its rows in binary.
    pub fn binary(&self) -> bool {
        self.options.binary
    }

    /// Its pg_cursors row: name, statement, is_holdable, is_binary, is_scrollable,
    /// creation_time.
    pub fn catalog_row(&self) -> Vec<Datum> {
        vec![
            Datum::Text(self.name.clone()),
            Datum::Text(self.statement.to_string()),
            Datum::Boolean(self.options.hold),
            Datum::Boolean(self.options.binary),
            Datum::Boolean(!self.options.no_scroll),
            Datum::Timestamp(self.created_micros),
        ]
    }
}

/// A running cursor: the rows it has read, where it stands in them, and whether a FETCH
/// failed part-way.
#[derive(Debug)]
pub(crate) struct Reader {
    store: RowStore,
    scroll: Scroll,
    /// A FETCH failed after its first rows went out: as PostgreSQL, the cursor can only be
    /// closed now.
    failed: bool,
}

/// Locks a cursor's reader; a poisoned lock is taken as is (a panic there is caught and
/// reported before anything reads the reader again).
fn lock(reader: &Mutex<Reader>) -> MutexGuard<'_, Reader> {
    reader.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What one step of a forward FETCH found (see [`Reader::forward_step`]).
#[derive(Debug)]
enum Step {
    /// Rows to send (perhaps none); the position has moved past them.
    Rows(Vec<RecordBatch>),
    /// The next row has not been read yet.
    NeedRows,
    /// The FETCH has all its rows.
    Done,
}

impl Reader {
    fn new(store: RowStore, no_scroll: bool) -> Reader {
        Reader {
            store,
            scroll: Scroll::new(no_scroll),
            failed: false,
        }
    }

    /// One step of `FETCH FORWARD remaining` (`None`: ALL). A forward FETCH of n rows is
    /// the same, position and rows, as FETCHes of k1, k2, ... rows adding up to n, ending
    /// early at the result's end (PostgreSQL's `PortalRunSelect` moves forward row by row),
    /// so each step returns the rows already read past the position, at most `remaining`,
    /// and asks for another batch when there are none; once the result is complete, the
    /// last step asks for all that remain, so the cursor ends where one FETCH would leave
    /// it.
    fn forward_step(&mut self, remaining: &mut Option<u64>) -> Result<Step> {
        if *remaining == Some(0) {
            return Ok(Step::Done);
        }
        let complete = self.store.complete();
        let available = self.store.total.saturating_sub(self.scroll.current());
        if available == 0 && !complete {
            return Ok(Step::NeedRows);
        }
        let count = match *remaining {
            Some(n) if complete => Count::Rows(n),
            None if complete => Count::All,
            Some(n) => Count::Rows(n.min(available)),
            None => Count::Rows(available),
        };
        let (span, returned) = self
            .scroll
            .fetch_known(self.store.total, complete, Direction::Forward(count), false)?
            .ok_or_else(|| Error::Internal("a forward FETCH step ran past its rows".into()))?;
        let batches = self.store.rows(span)?;
        self.store.forget_below(self.scroll.lowest_reachable());
        *remaining = match *remaining {
            _ if complete => Some(0),
            Some(n) => Some(n.saturating_sub(returned)),
            None => None,
        };
        Ok(Step::Rows(batches))
    }
}

/// The rest of a forward FETCH (`FETCH ALL`, `FETCH 1000000`) that needed more rows than
/// its cursor had read: its rows stream to the client batch by batch as the cursor's query
/// yields them, as a SELECT's do, instead of being gathered first. It reads the cursor's
/// shared [`Reader`], polling the FETCH's interrupt (cancel requests, `statement_timeout`)
/// while it waits; an error ends it, fails the cursor and, through `failed`, the session's
/// transaction block.
#[derive(Debug)]
pub(crate) struct FetchStream {
    reader: Arc<Mutex<Reader>>,
    /// Rows still to return (`None`: all the rest).
    remaining: Option<u64>,
    /// Rows stepped over and not yet handed out.
    pending: VecDeque<RecordBatch>,
    interrupt: Interrupt,
    /// The session's flag for a streamed statement that failed.
    failed: Arc<AtomicBool>,
    done: bool,
}

impl Iterator for FetchStream {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        loop {
            if let Some(batch) = self.pending.pop_front() {
                return Some(Ok(batch));
            }
            if self.done {
                return None;
            }
            let mut reader = lock(&self.reader);
            let interrupt = &self.interrupt;
            let step = match reader.forward_step(&mut self.remaining) {
                Ok(Step::NeedRows) => reader
                    .store
                    .pull(&|| interrupt.check())
                    .map(|_| Step::Rows(Vec::new())),
                other => other,
            };
            match step {
                Ok(Step::Rows(batches)) => self.pending.extend(batches),
                Ok(Step::NeedRows) => {}
                Ok(Step::Done) => self.done = true,
                Err(e) => {
                    reader.failed = true;
                    self.failed.store(true, Ordering::Relaxed);
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Longest a failed FETCH waits for its cursor's query thread to stop. The thread polls its
/// interrupt between batches and inside every operator, so it stops well within this; the
/// bound only keeps a FETCH from waiting forever on a bug.
const FEED_STOP_WAIT_MAX: std::time::Duration = std::time::Duration::from_secs(30);

/// The running query behind a cursor: its stream, and the interrupt of its query thread,
/// which is cancelled when the feed is dropped (the cursor closed or its transaction ended),
/// so a thread still waiting for a query slot stops too.
#[derive(Debug)]
pub(crate) struct Feed {
    pub rows: RowStream,
    pub cancel: CancelHandle,
    /// Keeps the thread's interrupt registered while it runs.
    pub _source: InterruptSource,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Where a cursor keeps the rows it has read: how many bytes of batches it may hold in memory
/// (`work_mem`), and the data directory whose `tmp/` takes the rest.
#[derive(Clone, Debug)]
pub(crate) struct Spill {
    pub store: Arc<Store>,
    pub memory_bytes_max: u64,
}

/// One kept batch: in memory, or in the cursor's spill file.
#[derive(Debug)]
enum Kept {
    Memory(RecordBatch),
    Spilled { index: usize, rows: u64 },
}

impl Kept {
    fn rows(&self) -> u64 {
        match self {
            Kept::Memory(batch) => batch.num_rows() as u64,
            Kept::Spilled { rows, .. } => *rows,
        }
    }
}

/// A cursor's rows read so far: its non-empty batches in order, less those a NO SCROLL
/// cursor has left behind, and the feed of the rest while the query runs.
///
/// The newest batches stay in memory up to `work_mem` bytes (the newest one always, so a
/// FETCH answers from memory what it has just read); older ones are written to a spill file
/// (`basalt_storage::spill`) and read back when a FETCH goes back to them, as PostgreSQL's
/// tuplestore does past `work_mem`. The file goes when the store does: the cursor closed, its
/// transaction ended or its session gone.
#[derive(Debug)]
struct RowStore {
    batches: VecDeque<Kept>,
    /// Rows dropped from the front.
    dropped: u64,
    /// Rows read so far (the whole result's once `feed` is `None`).
    total: u64,
    /// The rest of the result; `None` once it has all been read.
    feed: Option<Feed>,
    /// Where batches past the memory bound go; `None` keeps everything in memory.
    spill: Option<Spill>,
    /// Bytes of the batches held in memory (Arrow's count of their buffers).
    memory_bytes: u64,
    /// The spill file, created with the first batch spilled.
    file: Option<SpillFile>,
    /// Index in `batches` of the oldest batch still in memory (all before it are spilled or
    /// dropped).
    first_in_memory: usize,
    /// The spilled batch read back last (its index in the file), so a run of FETCH PRIOR
    /// reads each spilled batch once, not once per row.
    read_back: Option<(usize, RecordBatch)>,
}

impl RowStore {
    /// A complete result, kept in memory.
    #[cfg(test)]
    fn new(batches: Vec<RecordBatch>) -> RowStore {
        let mut store = RowStore::streaming(None, None);
        for batch in batches {
            store.push(batch).unwrap();
        }
        store
    }

    /// Rows yet to be read from `feed` (none if `None`).
    fn streaming(feed: Option<Feed>, spill: Option<Spill>) -> RowStore {
        RowStore {
            batches: VecDeque::new(),
            dropped: 0,
            total: 0,
            feed,
            spill,
            memory_bytes: 0,
            file: None,
            first_in_memory: 0,
            read_back: None,
        }
    }

    fn push(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.total += batch.num_rows() as u64;
        self.memory_bytes += batch.get_array_memory_size() as u64;
        self.batches.push_back(Kept::Memory(batch));
        self.spill_over()
    }

    /// Writes the oldest batches in memory to the spill file until those left fit the bound
    /// (or only the newest is left).
    fn spill_over(&mut self) -> Result<()> {
        let Some(spill) = &self.spill else {
            return Ok(());
        };
        while self.memory_bytes > spill.memory_bytes_max
            && self.first_in_memory + 1 < self.batches.len()
        {
            let Some(kept) = self.batches.get_mut(self.first_in_memory) else {
                break;
            };
            if let Kept::Memory(batch) = kept {
                let file = match &mut self.file {
                    Some(file) => file,
                    None => self.file.insert(spill.store.spill_file()?),
                };
                let index = file.append(batch)?;
                self.memory_bytes = self
                    .memory_bytes
                    .saturating_sub(batch.get_array_memory_size() as u64);
                *kept = Kept::Spilled {
                    index,
                    rows: batch.num_rows() as u64,
                };
            }
            self.first_in_memory += 1;
        }
        Ok(())
    }

    /// Whether every row of the result has been read.
    fn complete(&self) -> bool {
        self.feed.is_none()
    }

    /// Reads the next batch of the feed, calling `check` while it waits; `false` once the
    /// result is complete.
    fn pull(&mut self, check: &dyn Fn() -> Result<()>) -> Result<bool> {
        let Some(feed) = self.feed.as_mut() else {
            return Ok(false);
        };
        match feed.rows.next_checked(check) {
            Some(Ok(batch)) => {
                self.push(batch)?;
                Ok(true)
            }
            Some(Err(e)) => {
                // A cancel request or timeout of the FETCH stops the query too: its thread is
                // told to stop, and the FETCH returns once it has, its slot given back.
                feed.cancel.cancel();
                feed.rows.wait_stopped(FEED_STOP_WAIT_MAX);
                self.feed = None;
                Err(e)
            }
            None => {
                self.feed = None;
                Ok(false)
            }
        }
    }

    /// The rows of `span`, in its order.
    fn rows(&mut self, span: Span) -> Result<Vec<RecordBatch>> {
        if span.len == 0 {
            return Ok(Vec::new());
        }
        // 0-based, end exclusive.
        let start = span.lowest() - 1;
        let end = start + span.len;
        if start < self.dropped || end > self.total {
            return Err(Error::Internal(format!(
                "cursor rows {start}..{end} asked of a result holding {}..{}",
                self.dropped, self.total
            )));
        }
        let mut out = Vec::new();
        let mut first = self.dropped;
        for kept in &self.batches {
            let rows = kept.rows();
            let from = start.max(first);
            let to = end.min(first + rows);
            if from < to {
                let batch = match kept {
                    Kept::Memory(batch) => batch.clone(),
                    Kept::Spilled { index, .. } => match &self.read_back {
                        Some((read, batch)) if read == index => batch.clone(),
                        _ => {
                            let batch = self
                                .file
                                .as_ref()
                                .ok_or_else(|| {
                                    Error::Internal("spilled rows without a file".into())
                                })?
                                .read(*index)?;
                            self.read_back = Some((*index, batch.clone()));
                            batch
                        }
                    },
                };
                out.push(batch.slice((from - first) as usize, (to - from) as usize));
            }
            first += rows;
            if first >= end {
                break;
            }
        }
        if span.backward {
            out.reverse();
            for batch in &mut out {
                let n = batch.num_rows() as u32;
                let indices = UInt32Array::from_iter_values((0..n).rev());
                *batch = arrow_select::take::take_record_batch(batch, &indices)?;
            }
        }
        Ok(out)
    }

    /// Drops the batches whose rows all lie below row `lowest` (1-based).
    fn forget_below(&mut self, lowest: u64) {
        while let Some(front) = self.batches.front() {
            let rows = front.rows();
            if self.dropped + rows >= lowest {
                break;
            }
            self.dropped += rows;
            if let Some(Kept::Memory(batch)) = self.batches.pop_front() {
                self.memory_bytes = self
                    .memory_bytes
                    .saturating_sub(batch.get_array_memory_size() as u64);
            }
            self.first_in_memory = self.first_in_memory.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, Int64Array};
    use std::sync::Arc;

    fn batch(values: std::ops::Range<i64>) -> RecordBatch {
        let array = Arc::new(Int64Array::from_iter_values(values)) as arrow_array::ArrayRef;
        RecordBatch::try_from_iter([("a", array)]).unwrap()
    }

    fn values(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                (0..a.len()).map(|i| a.value(i)).collect::<Vec<_>>()
            })
            .collect()
    }

    fn span(first: u64, len: u64, backward: bool) -> Span {
        Span {
            first,
            len,
            backward,
        }
    }

    #[test]
    fn spans_read_across_batch_boundaries_both_ways() {
        // Input: rows 1..=10 as batches of 3, 0 (empty), 4 and 3 rows.
        let mut store = RowStore::new(vec![batch(1..4), batch(0..0), batch(4..8), batch(8..11)]);
        assert_eq!(store.total, 10);
        assert_eq!(store.batches.len(), 3);
        assert_eq!(
            values(&store.rows(span(2, 7, false)).unwrap()),
            (2..9).collect::<Vec<_>>()
        );
        assert_eq!(
            values(&store.rows(span(9, 7, true)).unwrap()),
            [9, 8, 7, 6, 5, 4, 3]
        );
        assert_eq!(values(&store.rows(span(10, 1, false)).unwrap()), [10]);
        assert!(store.rows(span(5, 0, true)).unwrap().is_empty());
        assert!(store.rows(span(9, 3, false)).is_err());
    }

    #[test]
    fn forgetting_drops_only_whole_batches_behind() {
        // Input: rows 1..=10 as batches of 3, 4 and 3 rows; rows below 5, then below 9, are
        // no longer needed.
        let mut store = RowStore::new(vec![batch(1..4), batch(4..8), batch(8..11)]);
        store.forget_below(5);
        assert_eq!(store.dropped, 3);
        assert_eq!(
            values(&store.rows(span(5, 6, false)).unwrap()),
            [5, 6, 7, 8, 9, 10]
        );
        assert!(store.rows(span(3, 1, false)).is_err());
        store.forget_below(9);
        assert_eq!(store.dropped, 7);
        assert_eq!(store.batches.len(), 1);
        store.forget_below(12);
        assert!(store.batches.is_empty());
        assert!(store.rows(span(11, 0, false)).unwrap().is_empty());
    }

    #[test]
    fn batches_past_the_bound_spill_oldest_first_and_read_back_both_ways() {
        // Input: rows 1..=40 as ten batches of 4, kept under a bound of about two batches'
        // memory; then every span of 1 to 40 rows, forward and backward, and the rows below
        // 9 forgotten.
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let one = batch(1..5).get_array_memory_size() as u64;
        let spill = Spill {
            store,
            memory_bytes_max: 2 * one,
        };
        let mut rows = RowStore::streaming(None, Some(spill));
        for i in 0..10 {
            rows.push(batch(i * 4 + 1..i * 4 + 5)).unwrap();
            assert!(rows.memory_bytes <= 2 * one);
        }
        let in_memory = rows
            .batches
            .iter()
            .filter(|k| matches!(k, Kept::Memory(_)))
            .count();
        assert_eq!(in_memory, 2);
        assert_eq!(rows.first_in_memory, 8);
        let path = rows.file.as_ref().unwrap().path().to_path_buf();
        assert!(path.exists());
        assert_eq!(rows.file.as_ref().unwrap().batch_count(), 8);
        for first in 1..=40u64 {
            for len in 1..=first {
                let back = values(&rows.rows(span(first, len, true)).unwrap());
                let expected: Vec<i64> =
                    (first + 1 - len..=first).rev().map(|v| v as i64).collect();
                assert_eq!(back, expected);
                let forward = values(&rows.rows(span(first + 1 - len, len, false)).unwrap());
                assert_eq!(forward, expected.iter().rev().copied().collect::<Vec<_>>());
            }
        }
        rows.forget_below(9);
        assert_eq!(rows.first_in_memory, 6);
        assert_eq!(values(&rows.rows(span(9, 3, false)).unwrap()), [9, 10, 11]);
        assert!(rows.rows(span(8, 1, false)).is_err());
        drop(rows);
        assert!(!path.exists());
    }

    #[test]
    fn without_a_spill_target_or_under_the_bound_nothing_is_written() {
        // Input: rows 1..=12 as three batches, once with no spill target and once under a
        // bound far above their size.
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let spill = Spill {
            store,
            memory_bytes_max: 1 << 30,
        };
        for target in [None, Some(spill)] {
            let mut rows = RowStore::streaming(None, target);
            for i in 0..3 {
                rows.push(batch(i * 4 + 1..i * 4 + 5)).unwrap();
            }
            assert!(rows.file.is_none());
            assert_eq!(rows.first_in_memory, 0);
            assert_eq!(
                values(&rows.rows(span(12, 12, true)).unwrap()),
                (1..=12).rev().collect::<Vec<_>>()
            );
        }
        assert!(!dir.path().join(basalt_storage::spill::SPILL_DIR).exists());
    }
}
