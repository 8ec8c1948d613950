//! The at-most-one-row check of scalar subqueries: passes batches through, failing when two
//! rows share the same key (the outer row's correlation values), or when there is more than
//! one row if there are no keys.

use std::collections::HashSet;

use arrow_array::RecordBatch;
use arrow_row::{RowConverter, SortField};

use crate::error::{Error, Result};

fn too_many_rows() -> Error {
    Error::CardinalityViolation {
        message: "more than one row returned by a subquery used as an expression".into(),
    }
}

pub fn single_row(batches: Vec<RecordBatch>, key_columns: usize) -> Result<Vec<RecordBatch>> {
    if key_columns == 0 {
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        if rows > 1 {
            return Err(too_many_rows());
        }
        return Ok(batches);
    }
    let Some(first) = batches.first() else {
        return Ok(batches);
    };
    let converter = RowConverter::new(
        first
            .columns()
            .iter()
            .take(key_columns)
            .map(|c| SortField::new(c.data_type().clone()))
            .collect(),
    )?;
    let mut seen: HashSet<Box<[u8]>> = HashSet::new();
    for b in &batches {
        let cols: Vec<_> = b.columns().iter().take(key_columns).cloned().collect();
        let rows = converter.convert_columns(&cols)?;
        for i in 0..b.num_rows() {
            if !seen.insert(rows.row(i).as_ref().into()) {
                return Err(too_many_rows());
            }
        }
    }
    Ok(batches)
}
