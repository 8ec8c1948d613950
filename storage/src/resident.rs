//! Rows that live in memory (and in the write-ahead log) rather than in a segment file.
//!
//! A small INSERT's rows become a *resident* segment: its [`SegmentMeta`] carries an
//! `Arc<Resident>` instead of naming a file. Committed small appends to one table extend the
//! table's last resident segment (its *tail*): the rows are pushed to the shared [`Resident`],
//! and the new manifest's `SegmentMeta::rows` grows. A snapshot reads only the first `rows`
//! rows it knows of, so older snapshots keep seeing exactly their version although they share
//! the chunks. Positions never move: a row's position in the tail is its position in the
//! segment file the tail is eventually flushed to (under the same segment id), so delete
//! vectors and row ids stay valid across the flush.
//!
//! [`SegmentMeta`]: crate::SegmentMeta

use std::sync::{Mutex, PoisonError};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::error::{Error, Result};

/// The rows of one resident segment, as chunks in row order. Append-only, except that a
/// failed commit cuts back what it pushed.
#[derive(Default)]
pub struct Resident {
    chunks: Mutex<Vec<RecordBatch>>,
}

impl std::fmt::Debug for Resident {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let chunks = self.chunks.lock().unwrap_or_else(PoisonError::into_inner);
        let rows: usize = chunks.iter().map(RecordBatch::num_rows).sum();
        write!(f, "Resident({} rows in {} chunks)", rows, chunks.len())
    }
}

/// Two resident segments are equal only when they are the same rows in memory.
impl PartialEq for Resident {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Resident {
    /// No rows yet.
    pub(crate) fn new() -> Resident {
        Resident::default()
    }

    /// Holding `batch`.
    pub(crate) fn with(batch: RecordBatch) -> Resident {
        Resident {
            chunks: Mutex::new(vec![batch]),
        }
    }

    /// Rows held, committed or not.
    #[cfg(test)]
    pub(crate) fn len(&self) -> u64 {
        let chunks = self.chunks.lock().unwrap_or_else(PoisonError::into_inner);
        chunks.iter().map(|c| c.num_rows() as u64).sum()
    }

    /// Appends `batch`. Chunks are merged as a binary counter merges (while the one before the
    /// last is no larger than the last), so a tail of n single-row inserts is O(log n) chunks
    /// and each row is copied O(log n) times.
    pub(crate) fn push(&self, schema: &SchemaRef, batch: RecordBatch) {
        let mut chunks = self.chunks.lock().unwrap_or_else(PoisonError::into_inner);
        chunks.push(batch);
        while chunks.len() >= 2 {
            let n = chunks.len();
            if chunks[n - 2].num_rows() > chunks[n - 1].num_rows() {
                break;
            }
            // Merging only saves work later; the rows are the same either way.
            let Ok(merged) = arrow_select::concat::concat_batches(schema, &chunks[n - 2..]) else {
                break;
            };
            chunks.truncate(n - 2);
            chunks.push(merged);
        }
    }

    /// Drops every row at position `rows` and after (a commit that pushed them failed).
    pub(crate) fn truncate(&self, rows: u64) {
        let mut chunks = self.chunks.lock().unwrap_or_else(PoisonError::into_inner);
        let mut seen = 0u64;
        let mut keep = 0;
        for chunk in chunks.iter_mut() {
            if seen >= rows {
                break;
            }
            let n = chunk.num_rows() as u64;
            if seen + n > rows {
                *chunk = chunk.slice(0, (rows - seen) as usize);
            }
            seen += n.min(rows - seen);
            keep += 1;
        }
        chunks.truncate(keep);
    }

    /// The first `rows` rows (at least one) as one batch of the columns they were pushed
    /// with: those of the table definition before an ADD or DROP COLUMN.
    pub(crate) fn read_as_written(&self, rows: u64) -> Result<RecordBatch> {
        let schema = {
            let chunks = self.chunks.lock().unwrap_or_else(PoisonError::into_inner);
            match chunks.first() {
                Some(first) => first.schema(),
                None => {
                    return Err(Error::Internal(format!(
                        "a resident segment holds no rows, its snapshot expects {rows}"
                    )))
                }
            }
        };
        self.read(&schema, rows)
    }

    /// The first `rows` rows as one batch of `schema`.
    pub(crate) fn read(&self, schema: &SchemaRef, rows: u64) -> Result<RecordBatch> {
        let mut parts = Vec::new();
        {
            let chunks = self.chunks.lock().unwrap_or_else(PoisonError::into_inner);
            let mut seen = 0u64;
            for chunk in chunks.iter() {
                if seen >= rows {
                    break;
                }
                let n = (chunk.num_rows() as u64).min(rows - seen);
                parts.push(chunk.slice(0, n as usize));
                seen += n;
            }
            if seen != rows {
                return Err(Error::Internal(format!(
                    "a resident segment holds {seen} rows, its snapshot expects {rows}"
                )));
            }
        }
        match parts.len() {
            1 => Ok(parts.remove(0)),
            _ => arrow_select::concat::concat_batches(schema, &parts)
                .map_err(|e| Error::Internal(format!("reading resident rows: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{int_batch, int_def};

    #[test]
    fn pushes_merge_into_few_chunks_and_snapshots_read_their_prefix() {
        // Input: 1,000 single-row pushes of 0..1000, read at several row counts, then cut
        // back to 500 rows and pushed once more.
        let schema = int_def("t").arrow_schema();
        let r = Resident::new();
        for v in 0..1000 {
            r.push(&schema, int_batch(v..v + 1));
        }
        assert!(r.chunks.lock().unwrap().len() <= 11);
        assert_eq!(r.len(), 1000);
        for rows in [0, 1, 7, 512, 1000] {
            let b = r.read(&schema, rows).unwrap();
            assert_eq!(b, int_batch(0..rows as i64));
        }
        assert!(r.read(&schema, 1001).is_err());
        r.truncate(500);
        assert_eq!(r.len(), 500);
        r.push(&schema, int_batch(7..8));
        let b = r.read(&schema, 501).unwrap();
        assert_eq!(b.slice(0, 500), int_batch(0..500));
        assert_eq!(b.slice(500, 1), int_batch(7..8));
    }
}
