//! WITH RECURSIVE: the anchor's rows, then round after round of the recursive term, each round
//! reading the rows the previous one added (the working table), until a round adds none.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::{RecordBatch, UInt32Array};
use arrow_row::{RowConverter, SortField};

use super::{project, run, timed, ExecContext, Output, SharedResults};
use crate::error::Result;
use crate::kernels::interval::{order_key_type, order_keys};
use crate::planner::plan::Plan;

/// Runs `plan`, of which only the first `cap` rows are used. A recursive union under it (through
/// projections) stops after the round that reaches `cap` rows, as PostgreSQL's, which runs a
/// round only when its reader asks for more rows, does: `WITH RECURSIVE t AS (... without an
/// end ...) SELECT * FROM t LIMIT 10` ends.
pub(super) fn run_limited<'a>(
    plan: &Plan,
    cap: u64,
    ctx: &ExecContext<'a>,
    shared: &SharedResults,
) -> Result<Output<'a>> {
    let batches = match plan {
        Plan::Project { input, exprs } if reaches_recursive_union(input) => {
            timed(plan, ctx, || {
                let input = run_limited(input, cap, ctx, shared)?;
                project::project(input.batches, exprs)
            })?
        }
        Plan::RecursiveUnion {
            id,
            anchor,
            recursive,
            all,
        } => timed(plan, ctx, || {
            recursive_union(*id, anchor, recursive, *all, Some(cap), ctx, shared)
        })?,
        _ => return run(plan, ctx, shared),
    };
    let reserved = ctx.memory.reserve_batches(&batches)?;
    Ok(Output { batches, reserved })
}

pub(super) fn reaches_recursive_union(plan: &Plan) -> bool {
    match plan {
        Plan::Project { input, .. } => reaches_recursive_union(input),
        Plan::RecursiveUnion { .. } => true,
        _ => false,
    }
}

/// Runs a recursive union; with `cap`, no round starts once the output has `cap` rows.
pub(super) fn recursive_union(
    id: usize,
    anchor: &Plan,
    recursive: &Plan,
    all: bool,
    cap: Option<u64>,
    ctx: &ExecContext<'_>,
    shared: &SharedResults,
) -> Result<Vec<RecordBatch>> {
    let mut distinct = if all {
        None
    } else {
        let fields = anchor
            .types()
            .iter()
            .map(|t| SortField::new(order_key_type(&t.arrow_type())))
            .collect();
        Some((RowConverter::new(fields)?, HashSet::new()))
    };
    // Every round's rows stay reserved until the output is complete.
    let mut held = Vec::new();
    let first = run(anchor, ctx, shared)?;
    held.push(first.reserved);
    let mut work = new_rows(first.batches, distinct.as_mut())?;
    // The recursive term's shared subplans may read the working table: they run every round.
    let mut subplans = Vec::new();
    recursive.shared_subplans(&mut subplans);
    let mut output = Vec::new();
    let mut produced: u64 = 0;
    let mut round = shared.clone();
    while work.iter().any(|b| b.num_rows() > 0) {
        ctx.interrupt.check()?;
        output.extend(work.iter().cloned());
        produced += work.iter().map(|b| b.num_rows() as u64).sum::<u64>();
        if cap.is_some_and(|cap| produced >= cap) {
            break;
        }
        round.insert(id, Arc::new(work));
        for (sub, input) in &subplans {
            let batches = run(input, ctx, &round)?.batches;
            round.insert(*sub, Arc::new(batches));
        }
        let added = run(recursive, ctx, &round)?;
        held.push(added.reserved);
        work = new_rows(added.batches, distinct.as_mut())?;
    }
    Ok(output)
}

/// The rows of `batches` not seen before (all of them under UNION ALL, when `distinct` is
/// `None`); rows compare equal when every column is equal, NULLs included.
fn new_rows(
    batches: Vec<RecordBatch>,
    distinct: Option<&mut (RowConverter, HashSet<Box<[u8]>>)>,
) -> Result<Vec<RecordBatch>> {
    let Some((converter, seen)) = distinct else {
        return Ok(batches);
    };
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let rows = converter.convert_columns(&order_keys(batch.columns())?)?;
        let keep: Vec<u32> = (0..batch.num_rows())
            .filter(|&i| seen.insert(rows.row(i).data().into()))
            .map(|i| i as u32)
            .collect();
        if keep.len() == batch.num_rows() {
            out.push(batch);
        } else if !keep.is_empty() {
            let idx = UInt32Array::from(keep);
            out.push(arrow_select::take::take_record_batch(&batch, &idx)?);
        }
    }
    Ok(out)
}
