//! Sort: orders all input rows by the keys (PostgreSQL's NULL placement by default).

use arrow_array::RecordBatch;
use arrow_ord::sort::{lexsort_to_indices, SortColumn, SortOptions};

use super::concat;
use crate::error::Result;
use crate::kernels::eval::evaluate;
use crate::kernels::interval::order_key;
use crate::planner::plan::SortKey;

pub fn sort(input: Vec<RecordBatch>, keys: &[SortKey]) -> Result<Vec<RecordBatch>> {
    let Some(first) = input.first() else {
        return Ok(vec![]);
    };
    let types: Vec<arrow_schema::DataType> = first
        .columns()
        .iter()
        .map(|c| c.data_type().clone())
        .collect();
    let batch = concat(&input, &types)?;
    if batch.num_rows() <= 1 || keys.is_empty() {
        return Ok(vec![batch]);
    }
    let columns = keys
        .iter()
        .map(|k| {
            Ok(SortColumn {
                values: order_key(&evaluate(&k.expr, &batch)?)?,
                options: Some(SortOptions {
                    descending: k.descending,
                    nulls_first: k.nulls_first,
                }),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let idx = lexsort_to_indices(&columns, None)?;
    Ok(vec![arrow_select::take::take_record_batch(&batch, &idx)?])
}
