//! Hash aggregation. Group keys are encoded with arrow-row (any mix of types, NULLs grouped
//! together as SQL requires); each aggregate keeps one accumulator slot per group.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Decimal128Type;
use arrow_array::{Array, ArrayRef, Decimal128Array, Float64Array, Int64Array, RecordBatch};
use arrow_row::{RowConverter, Rows, SortField};
use basalt_storage::SqlType;
use rayon::prelude::*;

use super::make_batch;
use crate::error::{Error, Result};
use crate::kernels::cast::{cast_array, to_f64, to_i64};
use crate::kernels::eval::evaluate;
use crate::planner::expr::{AggCall, AggFunc, Expr};
use crate::types::datum::{pow10, rescale_decimal, DECIMAL_DIGITS_MAX};
use crate::types::decimal_scale;

/// Per-group state of one aggregate.
pub(crate) enum Accumulator {
    Count(Vec<i64>),
    /// Exact sum of integers or decimals (at the input's scale), and rows seen.
    SumExact {
        sums: Vec<i128>,
        counts: Vec<i64>,
    },
    SumFloat {
        sums: Vec<f64>,
        counts: Vec<i64>,
    },
    /// Smallest or largest value, kept in arrow-row form (which orders like SQL).
    MinMax {
        best: Vec<Option<Box<[u8]>>>,
        converter: RowConverter,
        max: bool,
    },
}

/// (group, value) pairs already counted by a DISTINCT aggregate, and the value encoder.
type DistinctSeen = (HashSet<(u32, Box<[u8]>)>, RowConverter);

struct AggState {
    call: AggCall,
    acc: Accumulator,
    /// (group, value) pairs already counted, for DISTINCT aggregates.
    seen: Option<DistinctSeen>,
}

impl AggState {
    fn new(call: &AggCall) -> Result<Self> {
        let arg_ty = call.arg.as_ref().map(|a| a.ty());
        let acc = match call.func {
            AggFunc::CountStar | AggFunc::Count => Accumulator::Count(Vec::new()),
            AggFunc::Sum | AggFunc::Avg => match arg_ty {
                Some(SqlType::Real | SqlType::Double) => Accumulator::SumFloat {
                    sums: Vec::new(),
                    counts: Vec::new(),
                },
                _ => Accumulator::SumExact {
                    sums: Vec::new(),
                    counts: Vec::new(),
                },
            },
            AggFunc::Min | AggFunc::Max => Accumulator::MinMax {
                best: Vec::new(),
                converter: RowConverter::new(vec![SortField::new(
                    arg_ty.unwrap_or(SqlType::Text).arrow_type(),
                )])?,
                max: call.func == AggFunc::Max,
            },
        };
        let seen = match (&call.arg, call.distinct) {
            (Some(a), true) => Some((
                HashSet::new(),
                RowConverter::new(vec![SortField::new(a.ty().arrow_type())])?,
            )),
            _ => None,
        };
        Ok(AggState {
            call: call.clone(),
            acc,
            seen,
        })
    }

    fn resize(&mut self, groups: usize) {
        match &mut self.acc {
            Accumulator::Count(c) => c.resize(groups, 0),
            Accumulator::SumExact { sums, counts } => {
                sums.resize(groups, 0);
                counts.resize(groups, 0);
            }
            Accumulator::SumFloat { sums, counts } => {
                sums.resize(groups, 0.0);
                counts.resize(groups, 0);
            }
            Accumulator::MinMax { best, .. } => best.resize(groups, None),
        }
    }

    /// Adds one batch: `group_ids[i]` is row i's group, `arg` the argument values.
    fn update(&mut self, group_ids: &[u32], arg: Option<&ArrayRef>) -> Result<()> {
        // Rows to count: non-NULL arguments, and for DISTINCT only first occurrences.
        let include: Option<Vec<bool>> = match (&mut self.seen, arg) {
            (Some((set, conv)), Some(a)) => {
                let rows = conv.convert_columns(std::slice::from_ref(a))?;
                Some(
                    (0..a.len())
                        .map(|i| {
                            a.is_valid(i) && set.insert((group_ids[i], rows.row(i).as_ref().into()))
                        })
                        .collect(),
                )
            }
            _ => None,
        };
        let take = |i: usize| -> bool {
            match (&include, arg) {
                (Some(inc), _) => inc[i],
                (None, Some(a)) => a.is_valid(i),
                (None, None) => true,
            }
        };
        let ety = self.call.arg.as_ref().map(|a| a.ty());
        match &mut self.acc {
            Accumulator::Count(counts) => {
                for (i, g) in group_ids.iter().enumerate() {
                    if take(i) {
                        counts[*g as usize] += 1;
                    }
                }
            }
            Accumulator::SumExact { sums, counts } => {
                let a = arg.ok_or_else(|| Error::Internal("sum without argument".into()))?;
                let of = || Error::NumericOutOfRange {
                    message: "numeric value out of range".into(),
                };
                match ety {
                    Some(SqlType::Decimal { .. }) => {
                        let d = a.as_primitive::<Decimal128Type>();
                        for (i, g) in group_ids.iter().enumerate() {
                            if take(i) {
                                let g = *g as usize;
                                sums[g] = sums[g].checked_add(d.value(i)).ok_or_else(of)?;
                                counts[g] += 1;
                            }
                        }
                    }
                    _ => {
                        let v = to_i64(a)?;
                        for (i, g) in group_ids.iter().enumerate() {
                            if take(i) {
                                let g = *g as usize;
                                sums[g] = sums[g].checked_add(v.value(i) as i128).ok_or_else(of)?;
                                counts[g] += 1;
                            }
                        }
                    }
                }
            }
            Accumulator::SumFloat { sums, counts } => {
                let a = arg.ok_or_else(|| Error::Internal("sum without argument".into()))?;
                let v = to_f64(a, ety.unwrap_or(SqlType::Double));
                for (i, g) in group_ids.iter().enumerate() {
                    if take(i) {
                        let g = *g as usize;
                        sums[g] += v.value(i);
                        counts[g] += 1;
                    }
                }
            }
            Accumulator::MinMax {
                best,
                converter,
                max,
            } => {
                let a = arg.ok_or_else(|| Error::Internal("min without argument".into()))?;
                let rows = converter.convert_columns(std::slice::from_ref(a))?;
                for (i, g) in group_ids.iter().enumerate() {
                    if !take(i) {
                        continue;
                    }
                    let r = rows.row(i);
                    let slot = &mut best[*g as usize];
                    let better = match slot {
                        None => true,
                        Some(b) => {
                            let cur = b.as_ref();
                            if *max {
                                r.as_ref() > cur
                            } else {
                                r.as_ref() < cur
                            }
                        }
                    };
                    if better {
                        *slot = Some(r.as_ref().into());
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<ArrayRef> {
        let ty = self.call.ty;
        let arg_ty = self.call.arg.as_ref().map(|a| a.ty());
        let func = self.call.func;
        let of = |t: SqlType| Error::NumericOutOfRange {
            message: format!("{} out of range", crate::types::display_name(t)),
        };
        Ok(match self.acc {
            Accumulator::Count(c) => Arc::new(Int64Array::from(c)),
            Accumulator::SumExact { sums, counts } => {
                let in_scale = arg_ty.map(decimal_scale).unwrap_or(0);
                let out_scale = decimal_scale(ty);
                let limit = pow10(DECIMAL_DIGITS_MAX) - 1;
                let mut vals: Vec<Option<i128>> = Vec::with_capacity(sums.len());
                for (s, n) in sums.into_iter().zip(counts) {
                    if n == 0 {
                        vals.push(None);
                        continue;
                    }
                    let v = if func == AggFunc::Avg {
                        // sum / n at the output scale, rounded half away from zero.
                        let num = rescale_decimal(s, in_scale, out_scale).ok_or_else(|| of(ty))?;
                        let n = n as i128;
                        let q = num / n;
                        let r = num % n;
                        if r.abs() * 2 >= n {
                            q + num.signum()
                        } else {
                            q
                        }
                    } else {
                        rescale_decimal(s, in_scale, out_scale).ok_or_else(|| of(ty))?
                    };
                    if v > limit || v < -limit {
                        return Err(of(ty));
                    }
                    vals.push(Some(v));
                }
                match ty {
                    SqlType::BigInt => {
                        let ints = vals
                            .into_iter()
                            .map(|v| v.map(|v| i64::try_from(v).map_err(|_| of(ty))).transpose())
                            .collect::<Result<Int64Array>>()?;
                        Arc::new(ints)
                    }
                    SqlType::Decimal { precision, scale } => Arc::new(
                        vals.into_iter()
                            .collect::<Decimal128Array>()
                            .with_precision_and_scale(precision, scale)?,
                    ),
                    other => return Err(Error::Internal(format!("exact sum into {other}"))),
                }
            }
            Accumulator::SumFloat { sums, counts } => {
                let vals: Float64Array = sums
                    .into_iter()
                    .zip(counts)
                    .map(|(s, n)| {
                        (n > 0).then(|| {
                            if func == AggFunc::Avg {
                                s / n as f64
                            } else {
                                s
                            }
                        })
                    })
                    .collect();
                let arr: ArrayRef = Arc::new(vals);
                cast_array(&arr, SqlType::Double, ty, false)?
            }
            Accumulator::MinMax {
                best, converter, ..
            } => {
                let null_row = converter
                    .convert_columns(&[arrow_array::new_null_array(&ty.arrow_type(), 1)])?;
                let parser = converter.parser();
                let rows: Vec<arrow_row::Row<'_>> = best
                    .iter()
                    .map(|b| match b {
                        Some(bytes) => parser.parse(bytes),
                        None => null_row.row(0),
                    })
                    .collect();
                let mut cols = converter.convert_rows(rows)?;
                cols.pop()
                    .ok_or_else(|| Error::Internal("min/max produced no column".into()))?
            }
        })
    }
}

/// The values of `call` from accumulator slots filled elsewhere (the window operator keeps
/// one slot per row, its frame's state).
pub(crate) fn finish_accumulator(call: &AggCall, acc: Accumulator) -> Result<ArrayRef> {
    AggState {
        call: call.clone(),
        acc,
        seen: None,
    }
    .finish()
}

/// Groups `input` by `groups` and computes `aggs`. With no group expressions the result is one
/// row even for empty input (as `SELECT count(*) FROM empty` returns 0).
pub fn aggregate(
    input: Vec<RecordBatch>,
    groups: &[Expr],
    aggs: &[AggCall],
) -> Result<Vec<RecordBatch>> {
    let mut states = aggs.iter().map(AggState::new).collect::<Result<Vec<_>>>()?;
    let converter = RowConverter::new(
        groups
            .iter()
            .map(|g| SortField::new(g.ty().arrow_type()))
            .collect(),
    )?;
    let mut group_map: HashMap<Box<[u8]>, u32> = HashMap::new();
    let mut keys: Vec<Box<[u8]>> = Vec::new();
    let mut ngroups: usize = if groups.is_empty() { 1 } else { 0 };
    for s in states.iter_mut() {
        s.resize(ngroups);
    }
    // Evaluate group keys and aggregate arguments for every batch in parallel; only the
    // hashing into groups and the accumulation below run in order.
    type Evaluated = (Option<Rows>, Vec<Option<ArrayRef>>);
    let evaluated: Vec<Evaluated> = input
        .par_iter()
        .map(|batch| {
            let rows = if groups.is_empty() {
                None
            } else {
                let cols = groups
                    .iter()
                    .map(|g| evaluate(g, batch))
                    .collect::<Result<Vec<_>>>()?;
                Some(converter.convert_columns(&cols)?)
            };
            let args = aggs
                .iter()
                .map(|a| a.arg.as_ref().map(|e| evaluate(e, batch)).transpose())
                .collect::<Result<Vec<_>>>()?;
            Ok((rows, args))
        })
        .collect::<Result<_>>()?;
    for (batch, (rows, args)) in input.iter().zip(evaluated) {
        let n = batch.num_rows();
        let group_ids: Vec<u32> = match &rows {
            None => vec![0; n],
            Some(rows) => {
                let mut ids = Vec::with_capacity(n);
                for i in 0..n {
                    let r = rows.row(i);
                    let id = match group_map.get(r.as_ref()) {
                        Some(id) => *id,
                        None => {
                            let id = keys.len() as u32;
                            let key: Box<[u8]> = r.as_ref().into();
                            keys.push(key.clone());
                            group_map.insert(key, id);
                            id
                        }
                    };
                    ids.push(id);
                }
                ngroups = keys.len();
                ids
            }
        };
        for (s, arg) in states.iter_mut().zip(args) {
            s.resize(ngroups);
            s.update(&group_ids, arg.as_ref())?;
        }
    }
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(groups.len() + aggs.len());
    if !groups.is_empty() {
        let parser = converter.parser();
        let rows: Vec<arrow_row::Row<'_>> = keys.iter().map(|k| parser.parse(k)).collect();
        columns.extend(converter.convert_rows(rows)?);
    }
    for s in states {
        columns.push(s.finish()?);
    }
    if ngroups == 0 {
        return Ok(vec![]);
    }
    Ok(vec![make_batch(columns, ngroups)?])
}
