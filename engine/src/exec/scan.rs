//! Table scan: reads each segment's projected columns (in parallel) and applies the filter
//! pushed down into it.

use arrow_array::RecordBatch;
use basalt_storage::TableMeta;
use rayon::prelude::*;

use super::{make_batch, ExecContext};
use crate::error::Result;
use crate::kernels::eval::{evaluate_predicate, filter_batch};
use crate::planner::expr::Expr;

pub fn scan(
    ctx: &ExecContext<'_>,
    table: &TableMeta,
    projection: &[usize],
    filter: Option<&Expr>,
) -> Result<Vec<RecordBatch>> {
    let batches: Vec<Option<RecordBatch>> = table
        .segments
        .par_iter()
        .map(|seg| {
            let raw = ctx.store.read_segment(table, seg, projection)?;
            let batch = make_batch(raw.columns().to_vec(), raw.num_rows())?;
            let batch = match filter {
                Some(f) => {
                    let mask = evaluate_predicate(f, &batch)?;
                    filter_batch(&batch, &mask)?
                }
                None => batch,
            };
            Ok((batch.num_rows() > 0).then_some(batch))
        })
        .collect::<Result<_>>()?;
    Ok(batches.into_iter().flatten().collect())
}
