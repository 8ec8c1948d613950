//! VALUES: constant rows built column by column.

use arrow_array::RecordBatch;
use basalt_storage::SqlType;

use super::make_batch;
use crate::error::Result;
use crate::kernels::cast::{datum_at, datums_to_array};
use crate::kernels::eval::{empty_schema, evaluate};
use crate::planner::expr::Expr;

pub fn values(rows: &[Vec<Expr>], types: &[SqlType]) -> Result<Vec<RecordBatch>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let one = RecordBatch::try_new_with_options(
        empty_schema(),
        vec![],
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    let mut columns = Vec::with_capacity(types.len());
    for (c, ty) in types.iter().enumerate() {
        let mut datums = Vec::with_capacity(rows.len());
        for row in rows {
            let e = row
                .get(c)
                .ok_or_else(|| crate::Error::Internal("ragged VALUES".into()))?;
            let v = match e {
                Expr::Literal { value, .. } => value.clone(),
                other => datum_at(evaluate(other, &one)?.as_ref(), 0, *ty),
            };
            datums.push(v);
        }
        columns.push(datums_to_array(&datums, *ty)?);
    }
    Ok(vec![make_batch(columns, rows.len())?])
}
