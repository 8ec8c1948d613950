//! UNION, INTERSECT and EXCEPT. Rows are compared in arrow-row form, so NULLs are equal to each
//! other here, as SQL's set operations require.

use std::collections::{HashMap, HashSet};

use arrow_array::{RecordBatch, UInt32Array};
use arrow_row::{RowConverter, SortField};
use basalt_storage::SqlType;

use super::concat;
use crate::error::Result;
use crate::kernels::interval::{order_key_type, order_keys};
use crate::planner::expr::Expr;
use crate::planner::plan::SetOpKind;

pub fn set_op(
    left: Vec<RecordBatch>,
    right: Vec<RecordBatch>,
    types: &[SqlType],
    kind: SetOpKind,
    all: bool,
) -> Result<Vec<RecordBatch>> {
    if kind == SetOpKind::Union {
        let mut out = left;
        out.extend(right);
        if all {
            return Ok(out);
        }
        let groups: Vec<Expr> = types
            .iter()
            .enumerate()
            .map(|(i, ty)| Expr::Column { index: i, ty: *ty })
            .collect();
        return super::aggregate::aggregate(out, &groups, &[]);
    }
    let arrow_types: Vec<arrow_schema::DataType> = types.iter().map(|t| t.arrow_type()).collect();
    let left = concat(&left, &arrow_types)?;
    let right = concat(&right, &arrow_types)?;
    // Rows compare as SQL compares their values: equal intervals (`1 day`, `24 hours`) are
    // one value.
    let converter = RowConverter::new(
        arrow_types
            .iter()
            .map(|t| SortField::new(order_key_type(t)))
            .collect(),
    )?;
    let lrows = converter.convert_columns(&order_keys(left.columns())?)?;
    let rrows = converter.convert_columns(&order_keys(right.columns())?)?;
    // How many times each row occurs on the right.
    let mut counts: HashMap<&[u8], usize> = HashMap::new();
    for i in 0..right.num_rows() {
        *counts.entry(rrows.row(i).data()).or_default() += 1;
    }
    let mut emitted: HashSet<&[u8]> = HashSet::new();
    let mut keep: Vec<u32> = Vec::new();
    for i in 0..left.num_rows() {
        let key = lrows.row(i).data();
        let on_right = counts.get_mut(key);
        let take = match (kind, all, on_right) {
            (SetOpKind::Intersect, true, Some(n)) if *n > 0 => {
                *n -= 1;
                true
            }
            (SetOpKind::Intersect, false, Some(_)) => emitted.insert(key),
            (SetOpKind::Except, true, Some(n)) if *n > 0 => {
                *n -= 1;
                false
            }
            (SetOpKind::Except, true, _) => true,
            (SetOpKind::Except, false, None) => emitted.insert(key),
            _ => false,
        };
        if take {
            keep.push(i as u32);
        }
    }
    if keep.is_empty() {
        return Ok(vec![]);
    }
    let idx = UInt32Array::from(keep);
    Ok(vec![arrow_select::take::take_record_batch(&left, &idx)?])
}
