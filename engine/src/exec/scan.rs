//! Table scan: reads each segment's projected columns (in parallel), skipping the segments and
//! blocks that the zone-map ranges implied by the pushed-down filter rule out, leaving out
//! deleted rows, and applying the filter.
//!
//! The target scan of a DELETE or UPDATE carries one more column than the table,
//! [`ROW_ID_COLUMN`]: each row's id, `segment id << ROW_ID_POSITION_BITS | position`.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use basalt_storage::{ColumnRange, ScanCounts, TableMeta};
use rayon::prelude::*;

use super::{make_batch, ExecContext};
use crate::error::{Error, Result};
use crate::kernels::eval::{evaluate_predicate, filter_batch};
use crate::planner::dml::ROW_ID_COLUMN;
use crate::planner::expr::Expr;
use crate::planner::ranges::column_ranges;

/// Bits of a row id that hold the row's position in its segment.
pub const ROW_ID_POSITION_BITS: u32 = 20;
const _: () = assert!(basalt_storage::segment::SEGMENT_ROWS_MAX <= 1 << ROW_ID_POSITION_BITS);

/// Splits a row id into (segment id, position).
pub fn split_row_id(id: i64) -> (u64, u32) {
    let id = id as u64;
    (
        id >> ROW_ID_POSITION_BITS,
        (id & ((1 << ROW_ID_POSITION_BITS) - 1)) as u32,
    )
}

pub fn scan(
    ctx: &ExecContext<'_>,
    table: &TableMeta,
    projection: &[usize],
    filter: Option<&Expr>,
) -> Result<Vec<RecordBatch>> {
    Ok(scan_counted(ctx, table, projection, filter)?.0)
}

/// [`scan`], also returning what storage read and skipped.
pub fn scan_counted(
    ctx: &ExecContext<'_>,
    table: &TableMeta,
    projection: &[usize],
    filter: Option<&Expr>,
) -> Result<(Vec<RecordBatch>, ScanCounts)> {
    // The rows read so far count against the query's budget before the scan ends.
    let read = std::sync::atomic::AtomicU64::new(0);
    let (batches, counts) = scan_map(ctx, table, projection, filter, |b, _| {
        let size = b.get_array_memory_size() as u64;
        let so_far = read.fetch_add(size, std::sync::atomic::Ordering::Relaxed) + size;
        ctx.memory.check(so_far)?;
        Ok(b)
    })?;
    Ok((batches.into_iter().flatten().collect(), counts))
}

/// Scans `table` as [`scan_counted`] does and hands each segment's surviving rows, as one
/// batch, to `each` on the thread that read it, so a pipeline of operators runs over a
/// segment while it is still in cache, with the time the segment took to read and filter.
/// Results come back in segment order, with `None` for segments that were skipped or had no
/// matching row.
pub fn scan_map<T: Send>(
    ctx: &ExecContext<'_>,
    table: &TableMeta,
    projection: &[usize],
    filter: Option<&Expr>,
    each: impl Fn(RecordBatch, std::time::Duration) -> Result<T> + Sync,
) -> Result<(Vec<Option<T>>, ScanCounts)> {
    let scan = SegmentScan::new(table, projection, filter);
    let results: Vec<(Option<T>, ScanCounts)> = (0..scan.segments())
        .into_par_iter()
        .map(|i| {
            let started = std::time::Instant::now();
            let (batch, counts) = scan.read(ctx, i)?;
            match batch {
                Some(batch) => Ok((Some(each(batch, started.elapsed())?), counts)),
                None => Ok((None, counts)),
            }
        })
        .collect::<Result<_>>()?;
    let mut counts = ScanCounts::default();
    let mut out = Vec::with_capacity(results.len());
    for (item, c) in results {
        counts.add(&c);
        out.push(item);
    }
    Ok((out, counts))
}

/// A scan of one table, prepared once and then read segment by segment (from any thread):
/// the parallel scans above and the streaming scan (`stream`) share it.
pub(crate) struct SegmentScan<'t> {
    /// The table without a DELETE's or UPDATE's row-id column.
    stored: std::borrow::Cow<'t, TableMeta>,
    /// The row-id column's position in the table, for a DELETE's or UPDATE's target.
    row_id: Option<usize>,
    projection: &'t [usize],
    /// `projection` without the row-id column: what storage reads.
    stored_projection: Vec<usize>,
    ranges: Vec<ColumnRange>,
    filter: Option<&'t Expr>,
}

impl<'t> SegmentScan<'t> {
    pub(crate) fn new(
        table: &'t TableMeta,
        projection: &'t [usize],
        filter: Option<&'t Expr>,
    ) -> Self {
        // A DELETE's or UPDATE's target: the table without its row-id column.
        let row_id = table
            .def
            .columns
            .last()
            .filter(|c| c.name == ROW_ID_COLUMN)
            .map(|_| table.def.columns.len() - 1);
        let stored: std::borrow::Cow<'_, TableMeta> = match row_id {
            Some(n) => {
                let mut t = table.clone();
                t.def.columns.truncate(n);
                std::borrow::Cow::Owned(t)
            }
            None => std::borrow::Cow::Borrowed(table),
        };
        let stored_projection: Vec<usize> = projection
            .iter()
            .copied()
            .filter(|c| Some(*c) != row_id)
            .collect();
        let types: Vec<_> = projection
            .iter()
            .filter_map(|c| table.def.columns.get(*c).map(|c| c.ty))
            .collect();
        let ranges = match filter {
            Some(f) => column_ranges(f, projection, &types)
                .into_iter()
                .filter(|r| Some(r.column) != row_id)
                .collect(),
            None => Vec::new(),
        };
        SegmentScan {
            stored,
            row_id,
            projection,
            stored_projection,
            ranges,
            filter,
        }
    }

    /// How many segments the table has.
    pub(crate) fn segments(&self) -> usize {
        self.stored.segments.len()
    }

    /// Segment `index`'s surviving rows (`None` when it was skipped or no row matched) and
    /// what storage read and skipped of it.
    pub(crate) fn read(
        &self,
        ctx: &ExecContext<'_>,
        index: usize,
    ) -> Result<(Option<RecordBatch>, ScanCounts)> {
        ctx.interrupt.check()?;
        let Some(seg) = self.stored.segments.get(index) else {
            return Err(Error::Internal(format!(
                "scan of segment {index} of {}",
                self.segments()
            )));
        };
        let scanned = ctx.store.scan_segment(
            &self.stored,
            seg,
            &self.stored_projection,
            &self.ranges,
            self.row_id.is_some(),
        )?;
        let Some(raw) = scanned.batch else {
            return Ok((None, scanned.counts));
        };
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.projection.len());
        let mut next = 0;
        for c in self.projection {
            if Some(*c) == self.row_id {
                if seg.id >= 1 << (63 - ROW_ID_POSITION_BITS) {
                    return Err(Error::Internal(format!(
                        "segment id {} too large for a row id",
                        seg.id
                    )));
                }
                let base = (seg.id << ROW_ID_POSITION_BITS) as i64;
                let ids: Int64Array = scanned
                    .positions
                    .iter()
                    .map(|p| base | i64::from(*p))
                    .collect();
                columns.push(Arc::new(ids));
            } else {
                columns.push(raw.column(next).clone());
                next += 1;
            }
        }
        let batch = make_batch(columns, raw.num_rows())?;
        let batch = match self.filter {
            Some(f) => {
                let mask = evaluate_predicate(f, &batch)?;
                if mask.true_count() == batch.num_rows() {
                    batch
                } else {
                    filter_batch(&batch, &mask)?
                }
            }
            None => batch,
        };
        if batch.num_rows() == 0 {
            return Ok((None, scanned.counts));
        }
        Ok((Some(batch), scanned.counts))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Array, Int64Array};
    use basalt_storage::SqlType;

    use super::*;
    use crate::planner::expr::BinaryOp;
    use crate::types::Datum;

    fn compare(op: BinaryOp, value: i64) -> Expr {
        Expr::Binary {
            op,
            left: Box::new(Expr::Column {
                index: 0,
                ty: SqlType::BigInt,
            }),
            right: Box::new(Expr::literal(Datum::Int(value), SqlType::BigInt)),
            ty: SqlType::Boolean,
        }
    }

    #[test]
    fn filtered_scans_skip_blocks_and_return_the_same_rows() {
        // Input: BIGINT x = 0..300,000 loaded in order (two segments: 262,144 rows in eight
        // blocks of 32,768, then 37,856 rows in two), with x = 70,000 deleted; scanned for x > 299,990,
        // for x = 70,000 and x = 70,001, and for x <> 5 (no range).
        let dir = tempfile::tempdir().unwrap();
        let engine = crate::Engine::open(dir.path()).unwrap();
        let mut session = engine.session("test");
        session.run("CREATE TABLE t (x BIGINT)").unwrap();
        let batch = make_batch(
            vec![Arc::new(Int64Array::from_iter_values(0..300_000))],
            300_000,
        )
        .unwrap();
        session.append_batches("t", &[batch]).unwrap();
        session.run("DELETE FROM t WHERE x = 70000").unwrap();
        let manifest = engine.store.snapshot();
        let table = manifest.table("public", "t").unwrap();
        let interrupt = crate::interrupt::Interrupt::none();
        let ctx = ExecContext {
            store: &engine.store,
            memory: &crate::exec::memory::MemoryBudget::unlimited(),
            interrupt: &interrupt,
            profile: None,
        };
        let values = |batches: &[RecordBatch]| -> Vec<i64> {
            batches
                .iter()
                .flat_map(|b| {
                    let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                    a.values().to_vec()
                })
                .collect()
        };

        let f = compare(BinaryOp::Gt, 299_990);
        let (batches, counts) = scan_counted(&ctx, table, &[0], Some(&f)).unwrap();
        assert_eq!(values(&batches), (299_991..300_000).collect::<Vec<_>>());
        assert_eq!(
            counts,
            ScanCounts {
                segments_read: 1,
                segments_skipped: 1,
                blocks_read: 1,
                blocks_skipped: 9,
            }
        );

        let f = compare(BinaryOp::Eq, 70_000);
        let (batches, counts) = scan_counted(&ctx, table, &[0], Some(&f)).unwrap();
        assert!(values(&batches).is_empty());
        assert_eq!((counts.blocks_read, counts.blocks_skipped), (1, 9));
        let f = compare(BinaryOp::Eq, 70_001);
        let (batches, _) = scan_counted(&ctx, table, &[0], Some(&f)).unwrap();
        assert_eq!(values(&batches), [70_001]);

        let f = compare(BinaryOp::NotEq, 5);
        let (batches, counts) = scan_counted(&ctx, table, &[0], Some(&f)).unwrap();
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 299_998);
        assert_eq!((counts.blocks_read, counts.blocks_skipped), (10, 0));
    }
}
