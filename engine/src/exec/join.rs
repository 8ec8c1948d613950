//! Inner joins. With equality keys: a hash join that builds on the right input and probes
//! with the left input's batches in parallel (NULL keys never match). Without keys: a nested
//! loop producing the cross product in bounded chunks. The residual filter runs on the joined
//! rows.

use std::collections::HashMap;

use arrow_array::{Array, ArrayRef, RecordBatch, UInt32Array};
use arrow_row::{RowConverter, SortField};
use basalt_storage::SqlType;
use rayon::prelude::*;

use super::{concat, make_batch};
use crate::error::Result;
use crate::kernels::eval::{evaluate, evaluate_predicate, filter_batch};
use crate::planner::expr::Expr;

/// Rows produced per chunk of a cross product.
const CROSS_CHUNK_ROWS_MAX: usize = 64 * 1024;

pub fn join(
    left: Vec<RecordBatch>,
    right: Vec<RecordBatch>,
    left_types: &[SqlType],
    right_types: &[SqlType],
    keys: &[(Expr, Expr)],
    filter: Option<&Expr>,
) -> Result<Vec<RecordBatch>> {
    let rtypes: Vec<arrow_schema::DataType> = right_types.iter().map(|t| t.arrow_type()).collect();
    let right = concat(&right, &rtypes)?;
    if right.num_rows() == 0 || left.is_empty() {
        return Ok(vec![]);
    }
    let _ = left_types;
    let out: Vec<Vec<RecordBatch>> = if keys.is_empty() {
        left.par_iter()
            .map(|l| cross(l, &right, filter))
            .collect::<Result<_>>()?
    } else {
        let table = HashTable::build(&right, keys)?;
        left.par_iter()
            .map(|l| table.probe(l, &right, keys, filter))
            .collect::<Result<_>>()?
    };
    Ok(out
        .into_iter()
        .flatten()
        .filter(|b| b.num_rows() > 0)
        .collect())
}

fn combine(
    l: &RecordBatch,
    li: &UInt32Array,
    r: &RecordBatch,
    ri: &UInt32Array,
    filter: Option<&Expr>,
) -> Result<RecordBatch> {
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(l.num_columns() + r.num_columns());
    for c in l.columns() {
        cols.push(arrow_select::take::take(c.as_ref(), li, None)?);
    }
    for c in r.columns() {
        cols.push(arrow_select::take::take(c.as_ref(), ri, None)?);
    }
    let batch = make_batch(cols, li.len())?;
    match filter {
        Some(f) => {
            let mask = evaluate_predicate(f, &batch)?;
            filter_batch(&batch, &mask)
        }
        None => Ok(batch),
    }
}

fn cross(l: &RecordBatch, r: &RecordBatch, filter: Option<&Expr>) -> Result<Vec<RecordBatch>> {
    let (ln, rn) = (l.num_rows(), r.num_rows());
    let mut out = Vec::new();
    let mut li = Vec::new();
    let mut ri = Vec::new();
    for i in 0..ln {
        for j in 0..rn {
            li.push(i as u32);
            ri.push(j as u32);
            if li.len() == CROSS_CHUNK_ROWS_MAX {
                out.push(combine(
                    l,
                    &UInt32Array::from(std::mem::take(&mut li)),
                    r,
                    &UInt32Array::from(std::mem::take(&mut ri)),
                    filter,
                )?);
            }
        }
    }
    if !li.is_empty() {
        out.push(combine(
            l,
            &UInt32Array::from(li),
            r,
            &UInt32Array::from(ri),
            filter,
        )?);
    }
    Ok(out)
}

/// The build side: key bytes to the right rows holding them.
struct HashTable {
    converter: RowConverter,
    map: HashMap<Box<[u8]>, Vec<u32>>,
}

impl HashTable {
    fn build(right: &RecordBatch, keys: &[(Expr, Expr)]) -> Result<Self> {
        let converter = RowConverter::new(
            keys.iter()
                .map(|(_, r)| SortField::new(r.ty().arrow_type()))
                .collect(),
        )?;
        let cols = keys
            .iter()
            .map(|(_, r)| evaluate(r, right))
            .collect::<Result<Vec<_>>>()?;
        let rows = converter.convert_columns(&cols)?;
        let mut map: HashMap<Box<[u8]>, Vec<u32>> = HashMap::new();
        for i in 0..right.num_rows() {
            if cols.iter().any(|c| c.is_null(i)) {
                continue;
            }
            map.entry(rows.row(i).as_ref().into())
                .or_default()
                .push(i as u32);
        }
        Ok(HashTable { converter, map })
    }

    fn probe(
        &self,
        l: &RecordBatch,
        right: &RecordBatch,
        keys: &[(Expr, Expr)],
        filter: Option<&Expr>,
    ) -> Result<Vec<RecordBatch>> {
        let cols = keys
            .iter()
            .map(|(k, _)| evaluate(k, l))
            .collect::<Result<Vec<_>>>()?;
        let rows = self.converter.convert_columns(&cols)?;
        let mut li = Vec::new();
        let mut ri = Vec::new();
        for i in 0..l.num_rows() {
            if cols.iter().any(|c| c.is_null(i)) {
                continue;
            }
            if let Some(matches) = self.map.get(rows.row(i).as_ref()) {
                for m in matches {
                    li.push(i as u32);
                    ri.push(*m);
                }
            }
        }
        if li.is_empty() {
            return Ok(vec![]);
        }
        Ok(vec![combine(
            l,
            &UInt32Array::from(li),
            right,
            &UInt32Array::from(ri),
            filter,
        )?])
    }
}
