//! Table scan: reads each segment's projected columns (in parallel), skipping the segments and
//! blocks that the zone-map ranges implied by the pushed-down filter rule out, leaving out
//! deleted rows, and applying the filter.
//!
//! The target scan of a DELETE or UPDATE carries one more column than the table,
//! [`ROW_ID_COLUMN`]: each row's id, `segment id << ROW_ID_POSITION_BITS | position`.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use arrow_buffer::{BooleanBuffer, BooleanBufferBuilder};
use basalt_storage::{ColumnPiece, ColumnRange, ScanCounts, SegmentRows, SqlType, TableMeta};
use rayon::prelude::*;

use super::key_filter::{KeyFilter, KeySet};
use super::{make_batch, ExecContext};
use crate::error::{Error, Result};
use crate::kernels::eval::{evaluate_predicate, filter_batch};
use crate::planner::dml::ROW_ID_COLUMN;
use crate::planner::expr::{BinaryOp, Expr};
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

/// Scans `table`'s `projection` columns, keeping the rows that pass `filter` and whose join
/// keys are in `keys`' sets; also returns what storage read and skipped.
pub fn scan_counted(
    ctx: &ExecContext<'_>,
    table: &TableMeta,
    projection: &[usize],
    filter: Option<&Expr>,
    keys: Vec<KeyFilter>,
) -> Result<(Vec<RecordBatch>, ScanCounts)> {
    // The rows read so far count against the query's budget before the scan ends.
    let read = std::sync::atomic::AtomicU64::new(0);
    let (batches, counts) = scan_map(ctx, table, projection, filter, keys, |b, _| {
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
    keys: Vec<KeyFilter>,
    each: impl Fn(RecordBatch, std::time::Duration) -> Result<T> + Sync,
) -> Result<(Vec<Option<T>>, ScanCounts)> {
    let scan = SegmentScan::new(table, projection, filter, keys);
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
    /// The filter's conjuncts that read one stored column and are safe to evaluate on values
    /// no row asks for, by column: each segment evaluates them first, on the column's
    /// distinct values where a block is DICTIONARY-encoded, and decodes the other columns
    /// only for the rows they pick.
    prefilters: Vec<Prefilter>,
    /// Sets of join keys handed down by the joins above (`key_filter`), by stored column:
    /// evaluated with the prefilters.
    keys: Vec<(usize, Arc<KeySet>)>,
    /// The rest of the filter, applied to the rows the prefilters picked.
    residual: Option<Expr>,
}

/// One test of a stored column's values in [`SegmentScan::read`].
enum Check<'a> {
    Predicate(&'a Expr),
    Keys(&'a KeySet),
}

/// Conjuncts of a scan's filter on one stored column.
struct Prefilter {
    /// The column's index in the table.
    column: usize,
    /// The conjuncts, ANDed, reading the column as column 0.
    predicate: Expr,
}

impl<'t> SegmentScan<'t> {
    pub(crate) fn new(
        table: &'t TableMeta,
        projection: &'t [usize],
        filter: Option<&'t Expr>,
        keys: Vec<KeyFilter>,
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
        let mut ranges: Vec<ColumnRange> = match filter {
            Some(f) => column_ranges(f, projection, &types)
                .into_iter()
                .filter(|r| Some(r.column) != row_id)
                .collect(),
            None => Vec::new(),
        };
        let keys: Vec<(usize, Arc<KeySet>)> = keys
            .into_iter()
            .filter_map(|k| {
                let column = projection.get(k.column).copied()?;
                (Some(column) != row_id).then_some((column, k.set))
            })
            .collect();
        ranges.extend(keys.iter().filter_map(|(c, set)| set.range(*c)));
        let (prefilters, residual) = match filter {
            Some(f) => split_filter(f, projection, row_id),
            None => (Vec::new(), None),
        };
        SegmentScan {
            stored,
            row_id,
            projection,
            stored_projection,
            ranges,
            prefilters,
            keys,
            residual,
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
        let mut open =
            match ctx
                .store
                .open_scan(&self.stored, seg, &self.stored_projection, &self.ranges)?
            {
                SegmentRows::Skipped(counts) => return Ok((None, counts)),
                SegmentRows::Open(open) => open,
            };
        let mut selection: Option<BooleanBuffer> = None;
        let checks = self
            .prefilters
            .iter()
            .map(|p| (p.column, Check::Predicate(&p.predicate)))
            .chain(self.keys.iter().map(|(c, set)| (*c, Check::Keys(set))));
        for (column, check) in checks {
            let mut picked = BooleanBufferBuilder::new(open.rows());
            for piece in open.pieces(column)? {
                picked.append_buffer(&match check {
                    Check::Predicate(p) => piece_mask(p, piece)?,
                    Check::Keys(set) => piece_passes(piece, |values| set.mask(values.as_ref()))?,
                });
            }
            let picked = picked.finish();
            let picked = match selection {
                Some(s) => &s & &picked,
                None => picked,
            };
            let none = picked.count_set_bits() == 0;
            selection = Some(picked);
            if none {
                break;
            }
        }
        let scanned = open.read(
            &self.stored_projection,
            selection.as_ref(),
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
        let batch = match &self.residual {
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

/// Splits `filter` (over the columns `projection` of a table, `row_id` being the position of
/// a DELETE's or UPDATE's row-id column) into prefilters, one per stored column its
/// safe-to-repeat one-column conjuncts read, and the AND of the other conjuncts.
fn split_filter(
    filter: &Expr,
    projection: &[usize],
    row_id: Option<usize>,
) -> (Vec<Prefilter>, Option<Expr>) {
    let mut conjuncts = Vec::new();
    filter.operands_of(BinaryOp::And, &mut conjuncts);
    let mut prefilters: Vec<Prefilter> = Vec::new();
    let mut rest: Vec<Expr> = Vec::new();
    for c in conjuncts {
        let column = match c.columns().as_slice() {
            [one] => projection.get(*one).copied().filter(|t| Some(*t) != row_id),
            _ => None,
        };
        match column {
            Some(column) if c.is_safe_to_repeat() => {
                let predicate = c.map_columns(&|_| 0);
                match prefilters.iter_mut().find(|p| p.column == column) {
                    Some(p) => p.predicate = and(p.predicate.clone(), predicate),
                    None => prefilters.push(Prefilter { column, predicate }),
                }
            }
            _ => rest.push(c.clone()),
        }
    }
    (prefilters, rest.into_iter().reduce(and))
}

fn and(left: Expr, right: Expr) -> Expr {
    Expr::Binary {
        op: BinaryOp::And,
        left: Box::new(left),
        right: Box::new(right),
        ty: SqlType::Boolean,
    }
}

/// Which rows of `piece` pass `predicate` (which reads the piece's column as column 0; NULL
/// is false): for a DICTIONARY piece, evaluated once per entry.
fn piece_mask(predicate: &Expr, piece: &ColumnPiece) -> Result<BooleanBuffer> {
    piece_passes(piece, |values| {
        let batch = make_batch(vec![values.clone()], values.len())?;
        Ok(evaluate_predicate(predicate, &batch)?.values().clone())
    })
}

/// Which rows of `piece` `passes` picks, given which of a set of the column's values pass:
/// the piece's values, or a DICTIONARY piece's entries mapped through its codes.
fn piece_passes(
    piece: &ColumnPiece,
    passes: impl Fn(&ArrayRef) -> Result<BooleanBuffer>,
) -> Result<BooleanBuffer> {
    match piece {
        ColumnPiece::Values(values) => passes(values),
        ColumnPiece::Coded { entries, codes } => {
            let table: Vec<bool> = passes(entries)?.iter().collect();
            let codes = codes.values();
            Ok(BooleanBuffer::collect_bool(codes.len(), |i| {
                codes
                    .get(i)
                    .and_then(|c| table.get(*c as usize))
                    .copied()
                    .unwrap_or(false)
            }))
        }
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
            key_filters: Default::default(),
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
        let (batches, counts) = scan_counted(&ctx, table, &[0], Some(&f), Vec::new()).unwrap();
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
        let (batches, counts) = scan_counted(&ctx, table, &[0], Some(&f), Vec::new()).unwrap();
        assert!(values(&batches).is_empty());
        assert_eq!((counts.blocks_read, counts.blocks_skipped), (1, 9));
        let f = compare(BinaryOp::Eq, 70_001);
        let (batches, _) = scan_counted(&ctx, table, &[0], Some(&f), Vec::new()).unwrap();
        assert_eq!(values(&batches), [70_001]);

        let f = compare(BinaryOp::NotEq, 5);
        let (batches, counts) = scan_counted(&ctx, table, &[0], Some(&f), Vec::new()).unwrap();
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 299_998);
        assert_eq!((counts.blocks_read, counts.blocks_skipped), (10, 0));
    }
}
