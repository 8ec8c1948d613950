//! Projection: computes one output column per expression.

use arrow_array::RecordBatch;
use rayon::prelude::*;

use super::make_batch;
use crate::error::Result;
use crate::kernels::eval::evaluate;
use crate::planner::expr::Expr;

pub fn project(input: Vec<RecordBatch>, exprs: &[Expr]) -> Result<Vec<RecordBatch>> {
    input
        .par_iter()
        .map(|b| {
            let cols = exprs
                .iter()
                .map(|e| evaluate(e, b))
                .collect::<Result<Vec<_>>>()?;
            make_batch(cols, b.num_rows())
        })
        .collect()
}
