//! Filter: keeps the rows where the predicate is true (NULL counts as false).

use arrow_array::RecordBatch;
use rayon::prelude::*;

use crate::error::Result;
use crate::kernels::eval::{evaluate_predicate, filter_batch};
use crate::planner::expr::Expr;

pub fn filter(input: Vec<RecordBatch>, predicate: &Expr) -> Result<Vec<RecordBatch>> {
    let out: Vec<RecordBatch> = input
        .par_iter()
        .map(|b| {
            let mask = evaluate_predicate(predicate, b)?;
            // Fast path: an all-true mask keeps the batch as it is.
            if mask.true_count() == b.num_rows() {
                return Ok(b.clone());
            }
            filter_batch(b, &mask)
        })
        .collect::<Result<_>>()?;
    Ok(out.into_iter().filter(|b| b.num_rows() > 0).collect())
}
