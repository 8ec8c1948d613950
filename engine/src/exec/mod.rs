//! Physical operators: each turns its inputs' batches into output batches.
//!
//! Each operator's output is materialized, except in pipelines (`pipeline`): an aggregation
//! over a scan and the filters and projections above it runs segment by segment, each
//! segment's rows aggregated on the thread that read them; and a query's result streams
//! (`stream`): a scan with the filters, projections and limits above it emits segment by
//! segment through a bounded channel, and any other root emits its output batch by batch. Scans, filters, projections,
//! partial aggregations and hash-join probes run in parallel over batches (morsels) on the
//! rayon pool; partial aggregations merge, and sorts run, on one thread.
//!
//! - `scan`: reads segments (skipping what zone maps rule out), applies pushed-down filters.
//! - `dml`: row ids to delete vectors and new rows, for DELETE and UPDATE.
//! - `filter`, `project`: per-batch pipelines.
//! - `aggregate`: hash aggregation (grouping keys in arrow-row form).
//! - `join`: hash join and nested loop joins, inner and LEFT / RIGHT / FULL outer.
//! - `single_row`: the at-most-one-row check of scalar subqueries.
//! - `set_function`: set-returning functions (generate_series, unnest).
//! - `set_op`: UNION, INTERSECT and EXCEPT, with or without ALL.
//! - `recursive`: WITH RECURSIVE, round by round over a working table.
//! - `window`: window functions (partitions sorted, then computed in parallel).
//! - `sort`, `limit`, `values`.
//! - `stream`: a query's result, batch by batch as the root yields it, to a bounded channel.

pub(crate) mod aggregate;
pub(crate) mod dml;
mod filter;
mod hash;
mod join;
mod key_filter;
mod limit;
pub mod memory;
mod pipeline;
pub mod profile;
mod project;
mod recursive;
pub(crate) mod scan;
mod set_function;
mod set_op;
mod single_row;
mod sort;
pub mod stream;
mod values;
mod window;

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{Field, Schema};
use basalt_storage::Store;

use crate::error::Result;
use crate::planner::plan::Plan;

/// What operators need from the outside world while a statement runs.
pub struct ExecContext<'a> {
    pub store: &'a Store,
    /// The query's memory budget: every materialized output is reserved against it.
    pub memory: &'a memory::MemoryBudget,
    /// Polled between operators and inside long loops: cancel requests and timeouts.
    pub interrupt: &'a crate::interrupt::Interrupt,
    /// Per-operator figures, for EXPLAIN ANALYZE.
    pub profile: Option<&'a profile::Profile>,
    /// The join key sets handed to scans while the statement runs.
    pub(crate) key_filters: key_filter::KeyFilters,
}

/// Runs a plan to completion and returns its output batches. Shared subplans run first, once
/// each, innermost first; every use of one reads its stored result.
pub fn execute(plan: &Plan, ctx: &ExecContext<'_>) -> Result<Vec<RecordBatch>> {
    let (shared, _held) = run_shared(plan, ctx)?;
    Ok(run(plan, ctx, &shared)?.batches)
}

/// Runs `plan`'s shared subplans, once each, innermost first. Their results stay reserved
/// against the memory budget while the returned reservations are held: until the statement
/// ends.
fn run_shared<'a>(
    plan: &Plan,
    ctx: &ExecContext<'a>,
) -> Result<(SharedResults, Vec<memory::Reservation<'a>>)> {
    let mut order = Vec::new();
    plan.shared_subplans(&mut order);
    let mut shared = SharedResults::new();
    let mut held = Vec::new();
    for (id, input) in order {
        if !shared.contains_key(&id) {
            let output = run(&input, ctx, &shared)?;
            held.push(output.reserved);
            shared.insert(id, Arc::new(output.batches));
        }
    }
    Ok((shared, held))
}

/// The results of the shared subplans, by id.
type SharedResults = std::collections::HashMap<usize, Arc<Vec<RecordBatch>>>;

/// An operator's output, reserved against the query's memory budget until this is dropped:
/// after the operator that reads it has made its own output.
struct Output<'a> {
    batches: Vec<RecordBatch>,
    reserved: memory::Reservation<'a>,
}

fn run<'a>(plan: &Plan, ctx: &ExecContext<'a>, shared: &SharedResults) -> Result<Output<'a>> {
    let batches = timed(plan, ctx, || run_operator(plan, ctx, shared))?;
    let reserved = ctx.memory.reserve_batches(&batches)?;
    Ok(Output { batches, reserved })
}

/// Runs `operator` as the node `plan`: checks for interrupts around it and records its figures
/// for EXPLAIN ANALYZE.
fn timed(
    plan: &Plan,
    ctx: &ExecContext<'_>,
    operator: impl FnOnce() -> Result<Vec<RecordBatch>>,
) -> Result<Vec<RecordBatch>> {
    ctx.interrupt.check()?;
    let started = ctx.profile.map(|_| std::time::Instant::now());
    let output = operator()?;
    if let (Some(profile), Some(started)) = (ctx.profile, started) {
        profile.record(plan, &output, started.elapsed());
    }
    ctx.interrupt.check()?;
    Ok(output)
}

fn run_operator(
    plan: &Plan,
    ctx: &ExecContext<'_>,
    shared: &SharedResults,
) -> Result<Vec<RecordBatch>> {
    match plan {
        Plan::Scan {
            external: Some(source),
            projection,
            filter,
            ..
        } => Ok(crate::external::scan::scan(source, projection, filter.as_ref(), ctx.interrupt)?.0),
        Plan::Scan {
            table,
            projection,
            filter,
            external: None,
        } => {
            let keys = ctx.key_filters.for_scan(plan);
            let (batches, counts) =
                scan::scan_counted(ctx, table, projection, filter.as_ref(), keys)?;
            if let Some(profile) = ctx.profile {
                profile.record_scan(plan, &counts);
            }
            Ok(batches)
        }
        Plan::Values { rows, types } => values::values(rows, types),
        Plan::Filter { input, predicate } => {
            let input = run(input, ctx, shared)?;
            filter::filter(input.batches, predicate)
        }
        Plan::Project { input, exprs } => {
            let input = run(input, ctx, shared)?;
            project::project(input.batches, exprs)
        }
        Plan::Aggregate {
            input,
            groups,
            aggs,
        } => match pipeline::aggregate(ctx, input, groups, aggs)? {
            Some(out) => Ok(out),
            None => {
                let input = run(input, ctx, shared)?;
                aggregate::aggregate(input.batches, groups, aggs)
            }
        },
        Plan::Join {
            left,
            right,
            join_type,
            keys,
            filter,
            null_equal,
        } => {
            // With key filters to hand down, the left input runs first (in a plan whose
            // joins are ordered from the smallest input, usually the smaller side).
            let targets = key_filter::targets(plan);
            let (l, r) = if targets.is_empty() {
                let (l, r) = rayon::join(|| run(left, ctx, shared), || run(right, ctx, shared));
                (l?, r?)
            } else {
                let l = run(left, ctx, shared)?;
                if l.batches.iter().all(|b| b.num_rows() == 0) {
                    // Neither an inner nor a LEFT join has an output row without a left row.
                    return Ok(Vec::new());
                }
                key_filter::publish(&ctx.key_filters, plan, &l.batches, &targets)?;
                (l, run(right, ctx, shared)?)
            };
            join::join(
                l.batches,
                r.batches,
                &left.types(),
                &right.types(),
                *join_type,
                keys,
                filter.as_ref(),
                *null_equal,
                ctx.memory,
            )
        }
        Plan::SingleRow { input, key_columns } => {
            let input = run(input, ctx, shared)?;
            single_row::single_row(input.batches, *key_columns)
        }
        Plan::Sort { input, keys } => {
            let input = run(input, ctx, shared)?;
            sort::sort(input.batches, keys)
        }
        Plan::SetFunctions {
            input,
            calls,
            ordinality,
        } => {
            let input = run(input, ctx, shared)?;
            set_function::set_functions(input.batches, calls, *ordinality, ctx.interrupt)
        }
        Plan::Window { input, calls } => {
            let types = input.types();
            let input = run(input, ctx, shared)?;
            window::window(input.batches, &types, calls)
        }
        Plan::Limit {
            input,
            offset,
            limit,
        } => {
            let input = match limit {
                // A recursive query below stops once it has the rows the limit keeps.
                Some(n) => recursive::run_limited(input, offset.saturating_add(*n), ctx, shared)?,
                None => run(input, ctx, shared)?,
            };
            Ok(limit::limit(input.batches, *offset, *limit))
        }
        Plan::Shared { id, input } => match shared.get(id) {
            Some(batches) => Ok(batches.as_ref().clone()),
            None => Ok(run(input, ctx, shared)?.batches),
        },
        Plan::SetOp {
            left,
            right,
            kind,
            all,
        } => {
            let (l, r) = rayon::join(|| run(left, ctx, shared), || run(right, ctx, shared));
            let (l, r) = (l?, r?);
            set_op::set_op(l.batches, r.batches, &left.types(), *kind, *all)
        }
        Plan::RecursiveUnion {
            id,
            anchor,
            recursive,
            all,
        } => recursive::recursive_union(*id, anchor, recursive, *all, None, ctx, shared),
        Plan::WorkTable { id, .. } => match shared.get(id) {
            Some(batches) => Ok(batches.as_ref().clone()),
            None => Err(crate::error::Error::Internal(
                "a recursive query's working table was read outside its rounds".into(),
            )),
        },
    }
}

/// A batch of `columns` (all nullable, named by position) with `rows` rows.
pub fn make_batch(columns: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch> {
    let fields: Vec<Field> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| Field::new(format!("c{i}"), c.data_type().clone(), true))
        .collect();
    Ok(RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )?)
}

/// Concatenates batches into one (all must have the same column types).
pub fn concat(batches: &[RecordBatch], types: &[arrow_schema::DataType]) -> Result<RecordBatch> {
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut columns = Vec::with_capacity(types.len());
    for (i, ty) in types.iter().enumerate() {
        let arrays: Vec<&dyn arrow_array::Array> =
            batches.iter().map(|b| b.column(i).as_ref()).collect();
        columns.push(if arrays.is_empty() {
            arrow_array::new_empty_array(ty)
        } else {
            arrow_select::concat::concat(&arrays)?
        });
    }
    make_batch(columns, rows)
}
