//! DELETE and UPDATE: from the row ids their plans yield to delete vectors and new rows.
//!
//! A target row may join several USING / FROM rows; like PostgreSQL, it is deleted or
//! updated once (UPDATE takes the first joined row's values).

use std::collections::{BTreeMap, HashSet};

use arrow_array::{Array, Int64Array, RecordBatch, UInt32Array};

use super::make_batch;
use super::scan::split_row_id;
use crate::error::{Error, Result};

/// The rows to delete, by segment id, and for UPDATE the batches of their new values (the
/// plan's columns after the row id, one row per distinct target row).
#[derive(Debug, Default)]
pub struct Changes {
    pub rows: BTreeMap<u64, Vec<u32>>,
    pub count: u64,
    pub new_rows: Vec<RecordBatch>,
}

/// Collects the distinct row ids in column 0 of `batches`; with `keep_values`, also the other
/// columns of the first row of each id.
pub fn collect(batches: &[RecordBatch], keep_values: bool) -> Result<Changes> {
    let mut seen: HashSet<i64> = HashSet::new();
    let mut changes = Changes::default();
    for batch in batches {
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| Error::Internal("row ids are not BIGINT".into()))?;
        let mut first_rows: Vec<u32> = Vec::new();
        for (row, id) in ids.iter().enumerate() {
            let id = id.ok_or_else(|| Error::Internal("NULL row id".into()))?;
            if !seen.insert(id) {
                continue;
            }
            let (segment, position) = split_row_id(id);
            changes.rows.entry(segment).or_default().push(position);
            changes.count += 1;
            if keep_values {
                first_rows.push(row as u32);
            }
        }
        if keep_values && !first_rows.is_empty() {
            let values: Vec<_> = batch.columns().iter().skip(1).cloned().collect();
            let values = if first_rows.len() == batch.num_rows() {
                values
            } else {
                let take = UInt32Array::from(first_rows.clone());
                values
                    .iter()
                    .map(|c| arrow_select::take::take(c.as_ref(), &take, None))
                    .collect::<std::result::Result<_, _>>()?
            };
            changes.new_rows.push(make_batch(values, first_rows.len())?);
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::Int32Array;

    use super::*;

    #[test]
    fn duplicate_row_ids_count_once_and_keep_their_first_values() {
        // Input: ids of segment 1 rows 0 and 5 and segment 2 row 3; segment 1 row 5 comes
        // twice (joined with two rows), first with value 20, then 21.
        let id = |seg: i64, pos: i64| (seg << super::super::scan::ROW_ID_POSITION_BITS) | pos;
        let ids = Int64Array::from(vec![id(1, 0), id(1, 5), id(2, 3), id(1, 5)]);
        let values = Int32Array::from(vec![10, 20, 30, 21]);
        let batch = make_batch(vec![Arc::new(ids), Arc::new(values)], 4).unwrap();
        let c = collect(&[batch], true).unwrap();
        assert_eq!(c.count, 3);
        assert_eq!(c.rows, BTreeMap::from([(1, vec![0, 5]), (2, vec![3])]));
        let kept = c.new_rows[0]
            .column(0)
            .as_any()
            .downcast_ref::<Int32Array>()
            .unwrap()
            .values()
            .to_vec();
        assert_eq!(kept, vec![10, 20, 30]);
    }
}
