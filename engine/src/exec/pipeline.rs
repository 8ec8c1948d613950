//! Pipelines: a scan and the filters and projections above it run segment by segment on the
//! thread that read the segment, feeding a consumer that keeps per-segment state (a partial
//! aggregation), so a segment's rows are used while they are in cache and the operators in
//! between never materialize their whole output.
//!
//! Under EXPLAIN ANALYZE each operator of a pipeline reports the rows it produced and the time
//! it spent summed over the threads that ran it.

use std::time::{Duration, Instant};

use arrow_array::RecordBatch;

use super::aggregate::{key_converter, Evaluated, Partial};
use super::{make_batch, scan, ExecContext};
use crate::error::Result;
use crate::kernels::eval::{evaluate, evaluate_predicate, filter_batch};
use crate::planner::expr::{AggCall, Expr};
use crate::planner::plan::Plan;

/// The filters and projections over a scan, top first, and the scan; `None` when `plan` is
/// not such a chain.
pub(super) fn chain(mut plan: &Plan) -> Option<(Vec<&Plan>, &Plan)> {
    let mut ops = Vec::new();
    loop {
        match plan {
            Plan::Filter { input, .. } | Plan::Project { input, .. } => {
                ops.push(plan);
                plan = input;
            }
            Plan::Scan { .. } => return Some((ops, plan)),
            _ => return None,
        }
    }
}

/// Runs `ops` (top first) over one segment's batch, bottom up; `None` once no row is left.
pub(super) fn apply(
    ctx: &ExecContext<'_>,
    ops: &[&Plan],
    mut batch: RecordBatch,
) -> Result<Option<RecordBatch>> {
    for op in ops.iter().rev() {
        let started = Instant::now();
        batch = match op {
            Plan::Filter { predicate, .. } => {
                let mask = evaluate_predicate(predicate, &batch)?;
                if mask.true_count() == batch.num_rows() {
                    batch
                } else {
                    filter_batch(&batch, &mask)?
                }
            }
            Plan::Project { exprs, .. } => {
                let cols = exprs
                    .iter()
                    .map(|e| evaluate(e, &batch))
                    .collect::<Result<Vec<_>>>()?;
                make_batch(cols, batch.num_rows())?
            }
            _ => return Ok(Some(batch)),
        };
        if let Some(profile) = ctx.profile {
            profile.record_morsel(op, &batch, started.elapsed());
        }
        if batch.num_rows() == 0 {
            return Ok(None);
        }
    }
    Ok(Some(batch))
}

/// Rows of a segment's batch that go through the operators above the scan and into the
/// partial aggregation at a time: a few NUMERIC columns of this many rows fit in a core's
/// second-level cache.
const AGGREGATE_SLICE_ROWS: usize = 16_384;

/// What one segment contributes to an aggregation.
enum Part<'a> {
    /// Its own partial aggregation, to be merged.
    Partial(Partial<'a>),
    /// Its group keys and arguments, accumulated in segment order (aggregates whose parts
    /// cannot be merged).
    Evaluated(Evaluated),
}

/// Aggregates `input` segment by segment when it is a scan under filters and projections:
/// each segment is aggregated on the thread that read it and the parts merge in segment
/// order; aggregates that cannot be merged get each segment's evaluated keys and arguments,
/// accumulated in segment order. `None` when `input` is not such a pipeline.
pub(crate) fn aggregate(
    ctx: &ExecContext<'_>,
    input: &Plan,
    groups: &[Expr],
    aggs: &[AggCall],
) -> Result<Option<Vec<RecordBatch>>> {
    let Some((ops, scan_node)) = chain(input) else {
        return Ok(None);
    };
    // External tables are read whole by their own scan; the pipeline is for segments.
    let Plan::Scan {
        table,
        projection,
        filter,
        external: None,
    } = scan_node
    else {
        return Ok(None);
    };
    let converter = key_converter(groups)?;
    let mergeable = super::aggregate::mergeable(aggs);
    let mut total = Partial::new(groups, aggs, &converter)?;
    let (parts, counts) = scan::scan_map(
        ctx,
        table,
        projection,
        filter.as_ref(),
        ctx.key_filters.for_scan(scan_node),
        |batch: RecordBatch, read: Duration| {
            if let Some(profile) = ctx.profile {
                profile.record_morsel(scan_node, &batch, read);
            }
            if !mergeable {
                let Some(batch) = apply(ctx, &ops, batch)? else {
                    return Ok(None);
                };
                return Ok(Some(Part::Evaluated(total.evaluate(&batch)?)));
            }
            // A segment's rows go through the operators and into its partial aggregation a
            // slice at a time, so what each operator writes is still in cache when the next
            // one reads it.
            let mut part = Partial::new(groups, aggs, &converter)?;
            let mut seen = false;
            let mut at = 0;
            while at < batch.num_rows() {
                let len = AGGREGATE_SLICE_ROWS.min(batch.num_rows() - at);
                if let Some(slice) = apply(ctx, &ops, batch.slice(at, len))? {
                    part.update(&slice)?;
                    seen = true;
                }
                at += len;
            }
            Ok(seen.then_some(Part::Partial(part)))
        },
    )?;
    if let Some(profile) = ctx.profile {
        profile.record_scan(scan_node, &counts);
        for node in ops.iter().copied().chain([scan_node]) {
            profile.record_pipelined(node);
        }
    }
    let mut partials = Vec::new();
    for part in parts.into_iter().flatten().flatten() {
        ctx.interrupt.check()?;
        match part {
            Part::Partial(p) => partials.push(p),
            Part::Evaluated(e) => total.absorb(e)?,
        }
    }
    Ok(Some(total.merge_finish(partials)?))
}
