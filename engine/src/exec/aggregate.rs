//! Hash aggregation. Group keys are encoded with arrow-row (any mix of types, NULLs grouped
//! together as SQL requires); each aggregate keeps one accumulator slot per group.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, IntervalMonthDayNanoType};
use arrow_array::{
    Array, ArrayRef, Decimal128Array, Float64Array, Int64Array, IntervalMonthDayNanoArray,
    RecordBatch,
};
use arrow_buffer::IntervalMonthDayNano;

use crate::types::temporal::{overflow, Interval};
use arrow_row::{RowConverter, Rows, SortField};
use basalt_storage::SqlType;
use rayon::prelude::*;

use super::hash::{int_keys, is_int_key, BuildIntHasher, BytesHasher};
use super::make_batch;
use crate::error::{Error, Result};
use crate::kernels::cast::{cast_array, to_f64, to_i64};
use crate::kernels::eval::evaluate;
use crate::planner::expr::{AggCall, AggFunc, Expr};
use crate::types::datum::{pow10, rescale_decimal, DECIMAL_DIGITS_MAX};
use crate::types::decimal_scale;

/// An ORDER BY key and a value, both in arrow-row form.
type KeyedValue = (Box<[u8]>, Box<[u8]>);

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
    /// Sum of intervals, field by field as PostgreSQL adds them, and rows seen.
    SumInterval {
        sums: Vec<Interval>,
        counts: Vec<i64>,
    },
    /// Rows, sum and sum of squares of integers or decimals, exactly, at the input's scale
    /// (squares at twice it), for the variances and standard deviations.
    MomentsExact {
        n: Vec<i64>,
        sums: Vec<i128>,
        squares: Vec<i128>,
    },
    /// Rows, sum and sum of squared deviations of floats, updated as PostgreSQL's
    /// float8_accum does (Youngs and Cramer), so results match it bit for bit.
    MomentsFloat {
        n: Vec<f64>,
        sx: Vec<f64>,
        sxx: Vec<f64>,
    },
    /// BOOL_AND (`and`) or BOOL_OR over the non-NULL values.
    Bool {
        vals: Vec<Option<bool>>,
        and: bool,
    },
    /// Every non-NULL value of each group in arrow-row form, in the order the ordered-set
    /// aggregate sorts by (PERCENTILE_CONT, PERCENTILE_DISC, MEDIAN).
    Ordered {
        vals: Vec<Vec<Box<[u8]>>>,
        converter: RowConverter,
    },
    /// Every value of each group (NULLs too for `array_agg`) in arrow-row form, each with its
    /// ORDER BY key in arrow-row form (empty without ORDER BY), in input order
    /// (`array_agg`, `string_agg`).
    Collect {
        vals: Vec<Vec<KeyedValue>>,
        values: RowConverter,
        keys: Option<RowConverter>,
    },
    /// APPROXIMATE COUNT(DISTINCT): one distinct-count sketch per group, which merge.
    Sketch(Vec<basalt_storage::hll::Sketch>),
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
            AggFunc::ApproxCountDistinct => Accumulator::Sketch(Vec::new()),
            AggFunc::Sum | AggFunc::Avg => match arg_ty {
                Some(SqlType::Interval) => Accumulator::SumInterval {
                    sums: Vec::new(),
                    counts: Vec::new(),
                },
                Some(SqlType::Real | SqlType::Double) => Accumulator::SumFloat {
                    sums: Vec::new(),
                    counts: Vec::new(),
                },
                _ => Accumulator::SumExact {
                    sums: Vec::new(),
                    counts: Vec::new(),
                },
            },
            AggFunc::VarSamp | AggFunc::VarPop | AggFunc::StddevSamp | AggFunc::StddevPop => {
                match arg_ty {
                    Some(SqlType::Real | SqlType::Double) => Accumulator::MomentsFloat {
                        n: Vec::new(),
                        sx: Vec::new(),
                        sxx: Vec::new(),
                    },
                    _ => Accumulator::MomentsExact {
                        n: Vec::new(),
                        sums: Vec::new(),
                        squares: Vec::new(),
                    },
                }
            }
            AggFunc::PercentileCont { descending, .. }
            | AggFunc::PercentileDisc { descending, .. } => Accumulator::Ordered {
                vals: Vec::new(),
                converter: RowConverter::new(vec![SortField::new_with_options(
                    arg_ty.unwrap_or(SqlType::Text).arrow_type(),
                    arrow_ord::sort::SortOptions {
                        descending,
                        nulls_first: false,
                    },
                )])?,
            },
            AggFunc::Median => Accumulator::Ordered {
                vals: Vec::new(),
                converter: RowConverter::new(vec![SortField::new(
                    arg_ty.unwrap_or(SqlType::Text).arrow_type(),
                )])?,
            },
            AggFunc::BoolAnd | AggFunc::BoolOr => Accumulator::Bool {
                vals: Vec::new(),
                and: call.func == AggFunc::BoolAnd,
            },
            AggFunc::ArrayAgg | AggFunc::StringAgg => Accumulator::Collect {
                vals: Vec::new(),
                values: RowConverter::new(vec![SortField::new(
                    arg_ty.unwrap_or(SqlType::Text).arrow_type(),
                )])?,
                keys: if call.order_by.is_empty() {
                    None
                } else {
                    Some(RowConverter::new(
                        call.order_by
                            .iter()
                            .map(|k| {
                                SortField::new_with_options(
                                    k.expr.ty().arrow_type(),
                                    arrow_ord::sort::SortOptions {
                                        descending: k.descending,
                                        nulls_first: k.nulls_first,
                                    },
                                )
                            })
                            .collect(),
                    )?)
                },
            },
            AggFunc::Min | AggFunc::Max => Accumulator::MinMax {
                best: Vec::new(),
                converter: RowConverter::new(
                    min_max_columns(&arrow_array::new_null_array(
                        &arg_ty.unwrap_or(SqlType::Text).arrow_type(),
                        0,
                    ))?
                    .iter()
                    .map(|c| SortField::new(c.data_type().clone()))
                    .collect(),
                )?,
                max: call.func == AggFunc::Max,
            },
        };
        let seen = match (&call.arg, call.distinct) {
            // Values are told apart as they compare (an interval by its span).
            (Some(a), true) => Some((
                HashSet::new(),
                RowConverter::new(vec![SortField::new(match a.ty() {
                    SqlType::Interval => arrow_schema::DataType::Decimal128(38, 0),
                    t => t.arrow_type(),
                })])?,
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
            Accumulator::SumInterval { sums, counts } => {
                sums.resize(groups, Interval::default());
                counts.resize(groups, 0);
            }
            Accumulator::MomentsExact { n, sums, squares } => {
                n.resize(groups, 0);
                sums.resize(groups, 0);
                squares.resize(groups, 0);
            }
            Accumulator::MomentsFloat { n, sx, sxx } => {
                n.resize(groups, 0.0);
                sx.resize(groups, 0.0);
                sxx.resize(groups, 0.0);
            }
            Accumulator::Bool { vals, .. } => vals.resize(groups, None),
            Accumulator::Ordered { vals, .. } => vals.resize_with(groups, Vec::new),
            Accumulator::Collect { vals, .. } => vals.resize_with(groups, Vec::new),
            Accumulator::MinMax { best, .. } => best.resize(groups, None),
            Accumulator::Sketch(sketches) => {
                sketches.resize_with(groups, basalt_storage::hll::Sketch::new)
            }
        }
    }

    /// Adds one batch: `group_ids[i]` is row i's group, `arg` the argument values and `order`
    /// the ORDER BY keys of an order-sensitive aggregate.
    fn update(
        &mut self,
        group_ids: &[u32],
        arg: Option<&ArrayRef>,
        order: &[ArrayRef],
    ) -> Result<()> {
        // array_agg keeps NULLs; every other aggregate skips them.
        let keep_nulls = self.call.func == AggFunc::ArrayAgg;
        // Rows to count: non-NULL arguments, and for DISTINCT only first occurrences.
        let include: Option<Vec<bool>> = match (&mut self.seen, arg) {
            (Some((set, conv)), Some(a)) => {
                let rows = conv.convert_columns(&[crate::kernels::interval::order_key(a)?])?;
                Some(
                    (0..a.len())
                        .map(|i| {
                            (keep_nulls || a.is_valid(i))
                                && set.insert((group_ids[i], rows.row(i).as_ref().into()))
                        })
                        .collect(),
                )
            }
            _ => None,
        };
        let nulls = arg.and_then(|a| a.logical_nulls());
        let take = |i: usize| -> bool {
            match (&include, &nulls) {
                (Some(inc), _) => inc[i],
                (None, Some(n)) => n.is_valid(i),
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
            Accumulator::SumInterval { sums, counts } => {
                let a = arg.ok_or_else(|| Error::Internal("sum without argument".into()))?;
                let v = a.as_primitive::<IntervalMonthDayNanoType>();
                for (i, g) in group_ids.iter().enumerate() {
                    if take(i) {
                        let g = *g as usize;
                        sums[g] = sums[g].checked_add(Interval::from_arrow(v.value(i)))?;
                        counts[g] += 1;
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
            Accumulator::MomentsExact { n, sums, squares } => {
                let a = arg.ok_or_else(|| Error::Internal("variance without argument".into()))?;
                let of = || Error::NumericOutOfRange {
                    message: "numeric value out of range".into(),
                };
                let vals: Vec<Option<i128>> = match ety {
                    Some(SqlType::Decimal { .. }) => {
                        a.as_primitive::<Decimal128Type>().iter().collect()
                    }
                    _ => to_i64(a)?.iter().map(|v| v.map(i128::from)).collect(),
                };
                for (i, g) in group_ids.iter().enumerate() {
                    if let (true, Some(v)) = (take(i), vals[i]) {
                        let g = *g as usize;
                        n[g] += 1;
                        sums[g] = sums[g].checked_add(v).ok_or_else(of)?;
                        let sq = v.checked_mul(v).ok_or_else(of)?;
                        squares[g] = squares[g].checked_add(sq).ok_or_else(of)?;
                    }
                }
            }
            Accumulator::MomentsFloat { n, sx, sxx } => {
                let a = arg.ok_or_else(|| Error::Internal("variance without argument".into()))?;
                let v = to_f64(a, ety.unwrap_or(SqlType::Double));
                for (i, g) in group_ids.iter().enumerate() {
                    if take(i) {
                        let g = *g as usize;
                        let x = v.value(i);
                        n[g] += 1.0;
                        sx[g] += x;
                        if n[g] > 1.0 {
                            let tmp = x * n[g] - sx[g];
                            sxx[g] += tmp * tmp / (n[g] * (n[g] - 1.0));
                        }
                    }
                }
            }
            Accumulator::Sketch(sketches) => {
                let a = arg.ok_or_else(|| Error::Internal("count without argument".into()))?;
                let mut i = 0;
                basalt_storage::hll::hash_array(a.as_ref(), |h| {
                    if let (Some(h), Some(g)) = (h, group_ids.get(i)) {
                        if let Some(s) = sketches.get_mut(*g as usize) {
                            s.insert_hash(h);
                        }
                    }
                    i += 1;
                })
                .map_err(Error::Internal)?;
            }
            Accumulator::Ordered { vals, converter } => {
                let a = arg.ok_or_else(|| Error::Internal("percentile without argument".into()))?;
                let rows = converter.convert_columns(std::slice::from_ref(a))?;
                for (i, g) in group_ids.iter().enumerate() {
                    if take(i) {
                        vals[*g as usize].push(rows.row(i).as_ref().into());
                    }
                }
            }
            Accumulator::Bool { vals, and } => {
                let a = arg.ok_or_else(|| Error::Internal("bool_and without argument".into()))?;
                let b = a.as_boolean();
                for (i, g) in group_ids.iter().enumerate() {
                    if take(i) {
                        let slot = &mut vals[*g as usize];
                        let v = b.value(i);
                        *slot = Some(match slot {
                            None => v,
                            Some(cur) if *and => *cur && v,
                            Some(cur) => *cur || v,
                        });
                    }
                }
            }
            Accumulator::Collect { vals, values, keys } => {
                let a = arg.ok_or_else(|| Error::Internal("array_agg without argument".into()))?;
                let rows = values.convert_columns(std::slice::from_ref(a))?;
                let key_rows = keys
                    .as_ref()
                    .map(|k| k.convert_columns(order))
                    .transpose()?;
                for (i, g) in group_ids.iter().enumerate() {
                    let keep = match &include {
                        Some(inc) => inc[i],
                        None => keep_nulls || a.is_valid(i),
                    };
                    if !keep {
                        continue;
                    }
                    let key: Box<[u8]> = match &key_rows {
                        Some(k) => k.row(i).as_ref().into(),
                        None => Box::default(),
                    };
                    vals[*g as usize].push((key, rows.row(i).as_ref().into()));
                }
            }
            Accumulator::MinMax {
                best,
                converter,
                max,
            } => {
                let a = arg.ok_or_else(|| Error::Internal("min without argument".into()))?;
                let rows = converter.convert_columns(&min_max_columns(a)?)?;
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

    /// Adds `other`'s accumulators (over later input) into this one's: `other`'s group `j`
    /// is this one's group `map[j]`. Floating-point sums and moments are never merged (see
    /// [`mergeable`]).
    fn merge(&mut self, other: AggState, map: &[u32]) -> Result<()> {
        let of = || Error::NumericOutOfRange {
            message: "numeric value out of range".into(),
        };
        match (&mut self.acc, other.acc) {
            (Accumulator::Count(a), Accumulator::Count(b)) => {
                for (j, v) in b.into_iter().enumerate() {
                    a[map[j] as usize] += v;
                }
            }
            (
                Accumulator::SumInterval { sums, counts },
                Accumulator::SumInterval {
                    sums: osums,
                    counts: ocounts,
                },
            ) => {
                for (j, (s, n)) in osums.into_iter().zip(ocounts).enumerate() {
                    let g = map[j] as usize;
                    sums[g] = sums[g].checked_add(s)?;
                    counts[g] += n;
                }
            }
            (
                Accumulator::SumExact { sums, counts },
                Accumulator::SumExact {
                    sums: osums,
                    counts: ocounts,
                },
            ) => {
                for (j, (s, n)) in osums.into_iter().zip(ocounts).enumerate() {
                    let g = map[j] as usize;
                    sums[g] = sums[g].checked_add(s).ok_or_else(of)?;
                    counts[g] += n;
                }
            }
            (
                Accumulator::MomentsExact { n, sums, squares },
                Accumulator::MomentsExact {
                    n: on,
                    sums: osums,
                    squares: osquares,
                },
            ) => {
                for (j, ((c, s), q)) in on.into_iter().zip(osums).zip(osquares).enumerate() {
                    let g = map[j] as usize;
                    n[g] += c;
                    sums[g] = sums[g].checked_add(s).ok_or_else(of)?;
                    squares[g] = squares[g].checked_add(q).ok_or_else(of)?;
                }
            }
            (Accumulator::Bool { vals, and }, Accumulator::Bool { vals: ovals, .. }) => {
                for (j, v) in ovals.into_iter().enumerate() {
                    let slot = &mut vals[map[j] as usize];
                    *slot = match (*slot, v) {
                        (None, v) | (v, None) => v,
                        (Some(a), Some(b)) => Some(if *and { a && b } else { a || b }),
                    };
                }
            }
            (Accumulator::Sketch(sketches), Accumulator::Sketch(others)) => {
                for (j, other) in others.iter().enumerate() {
                    sketches[map[j] as usize].merge(other);
                }
            }
            (Accumulator::Ordered { vals, .. }, Accumulator::Ordered { vals: ovals, .. }) => {
                for (j, v) in ovals.into_iter().enumerate() {
                    vals[map[j] as usize].extend(v);
                }
            }
            (Accumulator::Collect { vals, .. }, Accumulator::Collect { vals: ovals, .. }) => {
                for (j, v) in ovals.into_iter().enumerate() {
                    vals[map[j] as usize].extend(v);
                }
            }
            (Accumulator::MinMax { best, max, .. }, Accumulator::MinMax { best: obest, .. }) => {
                for (j, v) in obest.into_iter().enumerate() {
                    let Some(v) = v else { continue };
                    let slot = &mut best[map[j] as usize];
                    let better = match slot {
                        None => true,
                        Some(cur) => {
                            if *max {
                                v > *cur
                            } else {
                                v < *cur
                            }
                        }
                    };
                    if better {
                        *slot = Some(v);
                    }
                }
            }
            _ => return Err(Error::Internal("merging unlike aggregate states".into())),
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
            Accumulator::Sketch(sketches) => Arc::new(Int64Array::from_iter_values(
                sketches
                    .iter()
                    .map(|s| i64::try_from(s.count()).unwrap_or(i64::MAX)),
            )),
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
            Accumulator::SumInterval { sums, counts } => {
                let vals = sums
                    .into_iter()
                    .zip(counts)
                    .map(|(s, n)| {
                        if n == 0 {
                            return Ok(None);
                        }
                        let v = if func == AggFunc::Avg {
                            s.div_f64(n as f64)?
                        } else {
                            s
                        };
                        v.to_arrow().ok_or_else(overflow).map(Some)
                    })
                    .collect::<Result<IntervalMonthDayNanoArray>>()?;
                Arc::new(vals)
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
            Accumulator::MomentsExact { n, sums, squares } => {
                let in_scale = arg_ty.map(decimal_scale).unwrap_or(0);
                let out_scale = decimal_scale(ty);
                let (precision, scale) = match ty {
                    SqlType::Decimal { precision, scale } => (precision, scale),
                    other => return Err(Error::Internal(format!("variance into {other}"))),
                };
                let limit = pow10(DECIMAL_DIGITS_MAX) - 1;
                let mut vals: Vec<Option<i128>> = Vec::with_capacity(n.len());
                for ((n, s), q) in n.into_iter().zip(sums).zip(squares) {
                    let v = moments_exact(func, n, s, q, in_scale, out_scale);
                    if let Some(v) = v {
                        if v > limit || v < -limit {
                            return Err(of(ty));
                        }
                    }
                    vals.push(v);
                }
                Arc::new(
                    vals.into_iter()
                        .collect::<Decimal128Array>()
                        .with_precision_and_scale(precision, scale)?,
                )
            }
            Accumulator::MomentsFloat { n, sx: _, sxx } => {
                let vals: Float64Array = n
                    .into_iter()
                    .zip(sxx)
                    .map(|(n, sxx)| {
                        let (var, ok) = match func {
                            AggFunc::VarSamp | AggFunc::StddevSamp => (sxx / (n - 1.0), n > 1.0),
                            _ => (sxx / n, n > 0.0),
                        };
                        ok.then(|| match func {
                            AggFunc::StddevSamp | AggFunc::StddevPop => var.sqrt(),
                            _ => var,
                        })
                    })
                    .collect();
                let arr: ArrayRef = Arc::new(vals);
                cast_array(&arr, SqlType::Double, ty, false)?
            }
            Accumulator::Bool { vals, .. } => Arc::new(arrow_array::BooleanArray::from(vals)),
            Accumulator::Ordered {
                mut vals,
                converter,
            } => {
                vals.par_iter_mut().for_each(|v| v.sort_unstable());
                // The values at the two positions each group's result reads.
                let (lo_at, hi_at): (Vec<Option<usize>>, Vec<Option<usize>>) = vals
                    .iter()
                    .map(|v| {
                        let n = v.len();
                        if n == 0 {
                            return (None, None);
                        }
                        match func {
                            AggFunc::PercentileDisc { fraction, .. } => {
                                let f = f64::from_bits(fraction);
                                let k = (f * n as f64).ceil() as usize;
                                let k = k.clamp(1, n) - 1;
                                (Some(k), Some(k))
                            }
                            AggFunc::PercentileCont { fraction, .. } => {
                                let pos = f64::from_bits(fraction) * (n - 1) as f64;
                                (Some(pos.floor() as usize), Some(pos.ceil() as usize))
                            }
                            _ => (Some((n - 1) / 2), Some(n / 2)),
                        }
                    })
                    .unzip();
                let pick = |at: &[Option<usize>]| -> Result<ArrayRef> {
                    let null_row = converter.convert_columns(&[arrow_array::new_null_array(
                        &arg_ty.unwrap_or(SqlType::Text).arrow_type(),
                        1,
                    )])?;
                    let parser = converter.parser();
                    let rows: Vec<arrow_row::Row<'_>> = vals
                        .iter()
                        .zip(at)
                        .map(|(v, k)| match k.and_then(|k| v.get(k)) {
                            Some(bytes) => parser.parse(bytes),
                            None => null_row.row(0),
                        })
                        .collect();
                    converter
                        .convert_rows(rows)?
                        .pop()
                        .ok_or_else(|| Error::Internal("percentile produced no column".into()))
                };
                let lo = pick(&lo_at)?;
                match func {
                    AggFunc::PercentileDisc { .. } => lo,
                    AggFunc::PercentileCont { fraction, .. } => {
                        let hi = pick(&hi_at)?;
                        let (lo, hi) = (to_f64(&lo, SqlType::Double), to_f64(&hi, SqlType::Double));
                        let f = f64::from_bits(fraction);
                        let out: Float64Array = vals
                            .iter()
                            .enumerate()
                            .map(|(g, v)| {
                                let (l, h) = (lo_at[g]?, hi_at[g]?);
                                let (a, b) = (lo.value(g), hi.value(g));
                                Some(if h > l {
                                    a + (f * (v.len() - 1) as f64 - l as f64) * (b - a)
                                } else {
                                    a
                                })
                            })
                            .collect();
                        Arc::new(out)
                    }
                    _ => median_finish(&lo, &pick(&hi_at)?, arg_ty, ty)?,
                }
            }
            Accumulator::Collect {
                mut vals,
                values,
                keys,
            } => {
                if keys.is_some() {
                    // Stable: values with equal keys keep their input order.
                    vals.par_iter_mut()
                        .for_each(|v| v.sort_by(|a, b| a.0.cmp(&b.0)));
                }
                let arg_ty = arg_ty.unwrap_or(SqlType::Text);
                let parser = values.parser();
                let rows: Vec<arrow_row::Row<'_>> = vals
                    .iter()
                    .flat_map(|v| v.iter().map(|(_, r)| parser.parse(r)))
                    .collect();
                let child = if rows.is_empty() {
                    arrow_array::new_empty_array(&arg_ty.arrow_type())
                } else {
                    values
                        .convert_rows(rows)?
                        .pop()
                        .ok_or_else(|| Error::Internal("array_agg produced no column".into()))?
                };
                match func {
                    AggFunc::StringAgg => {
                        let strings = child.as_string::<i32>();
                        let sep = self.call.separator.as_deref().unwrap_or("");
                        let mut at = 0;
                        let mut b = arrow_array::builder::StringBuilder::new();
                        let mut s = String::new();
                        for v in &vals {
                            if v.is_empty() {
                                b.append_null();
                                continue;
                            }
                            s.clear();
                            for k in 0..v.len() {
                                if k > 0 {
                                    s.push_str(sep);
                                }
                                s.push_str(strings.value(at + k));
                            }
                            at += v.len();
                            b.append_value(&s);
                        }
                        Arc::new(b.finish())
                    }
                    _ => {
                        let SqlType::Array { element } = ty else {
                            return Err(Error::Internal("array_agg of a non-array type".into()));
                        };
                        let mut offsets = Vec::with_capacity(vals.len() + 1);
                        offsets.push(0i32);
                        let mut end = 0usize;
                        for v in &vals {
                            end += v.len();
                            offsets.push(i32::try_from(end).map_err(|_| {
                                Error::Internal("array of more than 2^31 elements".into())
                            })?);
                        }
                        let valid = vals.iter().map(|v| !v.is_empty()).collect();
                        crate::kernels::cast::list_array(element, offsets, child, valid)?
                    }
                }
            }
            Accumulator::MinMax {
                best, converter, ..
            } => {
                let null_row = converter.convert_columns(&min_max_columns(
                    &arrow_array::new_null_array(&ty.arrow_type(), 1),
                )?)?;
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

/// A variance or standard deviation from exact moments: `n` rows, their sum `s` at
/// `in_scale` and sum of squares `q` at twice it, as a decimal at `out_scale` (rounded half
/// away from zero). NULL for no rows, and for one row with the sample forms. When the exact
/// arithmetic would overflow i128, and for the square root, the value goes through f64.
fn moments_exact(
    func: AggFunc,
    n: i64,
    s: i128,
    q: i128,
    in_scale: i8,
    out_scale: i8,
) -> Option<i128> {
    let sample = matches!(func, AggFunc::VarSamp | AggFunc::StddevSamp);
    if n == 0 || (sample && n == 1) {
        return None;
    }
    let nn = n as i128;
    let den = if sample { nn * (nn - 1) } else { nn * nn };
    let var_scale = 2 * i32::from(in_scale);
    let out = i32::from(out_scale);
    // n * q - s^2 at scale 2 * in_scale, then divided by den at out_scale.
    let exact = (|| {
        let num = nn.checked_mul(q)?.checked_sub(s.checked_mul(s)?)?;
        let (num, den) = if out >= var_scale {
            (num.checked_mul(pow10((out - var_scale) as u32))?, den)
        } else {
            (num, den.checked_mul(pow10((var_scale - out) as u32))?)
        };
        let quotient = num / den;
        let rem = num % den;
        Some(if rem.abs().checked_mul(2)? >= den {
            quotient + num.signum()
        } else {
            quotient
        })
    })();
    let var = match exact {
        Some(v) => v,
        None => {
            let sf = s as f64 / 10f64.powi(i32::from(in_scale));
            let qf = q as f64 / 10f64.powi(var_scale);
            let v = (n as f64 * qf - sf * sf) / den as f64;
            (v * 10f64.powi(out)).round() as i128
        }
    };
    match func {
        AggFunc::StddevSamp | AggFunc::StddevPop => {
            let v = var as f64 / 10f64.powi(out);
            Some((v.max(0.0).sqrt() * 10f64.powi(out)).round() as i128)
        }
        _ => Some(var),
    }
}

/// MEDIAN from each group's lower and upper middle values: their mean, exactly (one decimal
/// digit finer) for integers and NUMERIC, as `lo + (hi - lo) / 2` for floats.
fn median_finish(
    lo: &ArrayRef,
    hi: &ArrayRef,
    arg_ty: Option<SqlType>,
    ty: SqlType,
) -> Result<ArrayRef> {
    match (arg_ty, ty) {
        (Some(SqlType::Real | SqlType::Double), _) => {
            let t = arg_ty.unwrap_or(SqlType::Double);
            let (l, h) = (to_f64(lo, t), to_f64(hi, t));
            let out: Float64Array = (0..l.len())
                .map(|i| {
                    l.is_valid(i).then(|| {
                        let (a, b) = (l.value(i), h.value(i));
                        if a == b {
                            a
                        } else {
                            a + 0.5 * (b - a)
                        }
                    })
                })
                .collect();
            let arr: ArrayRef = Arc::new(out);
            cast_array(&arr, SqlType::Double, ty, false)
        }
        (Some(at), SqlType::Decimal { precision, scale }) => {
            let vals = |a: &ArrayRef| -> Result<Vec<Option<i128>>> {
                Ok(match at {
                    SqlType::Decimal { .. } => a.as_primitive::<Decimal128Type>().iter().collect(),
                    _ => to_i64(a)?.iter().map(|v| v.map(i128::from)).collect(),
                })
            };
            let (l, h) = (vals(lo)?, vals(hi)?);
            let out = l
                .into_iter()
                .zip(h)
                .map(|(a, b)| match (a, b) {
                    (Some(a), Some(b)) => a
                        .checked_add(b)
                        .and_then(|s| s.checked_mul(5))
                        .map(Some)
                        .ok_or_else(|| Error::NumericOutOfRange {
                            message: "numeric value out of range".into(),
                        }),
                    _ => Ok(None),
                })
                .collect::<Result<Decimal128Array>>()?;
            Ok(Arc::new(out.with_precision_and_scale(precision, scale)?))
        }
        _ => Err(Error::Internal(format!("median into {ty}"))),
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

/// One batch's group keys.
enum BatchKeys {
    /// No GROUP BY: every row is in the one group.
    None,
    /// A single integer or date key, with its NULLs.
    Int(Vec<i64>, Option<arrow_buffer::NullBuffer>),
    /// Any other keys, in arrow-row form.
    Rows(Rows),
}

/// Group keys and aggregate arguments evaluated over one batch.
pub(crate) struct Evaluated {
    rows: usize,
    keys: BatchKeys,
    /// The values of the interval keys (grouped by their span), by key position.
    intervals: Vec<(usize, ArrayRef)>,
    args: Vec<Option<ArrayRef>>,
    /// Each aggregate's ORDER BY keys (empty for most).
    order: Vec<Vec<ArrayRef>>,
}

/// The groups seen so far, each with its id (its accumulator slot).
enum GroupMap {
    /// No GROUP BY: one group, id 0.
    None,
    /// A single integer or date key (of Arrow type `ty`); NULL is a group of its own.
    Int {
        map: HashMap<i64, u32, BuildIntHasher>,
        null: Option<u32>,
        keys: Vec<Option<i64>>,
        ty: arrow_schema::DataType,
    },
    /// Any other keys, in arrow-row form.
    Rows {
        map: HashMap<Box<[u8]>, u32, BytesHasher>,
        keys: Vec<Box<[u8]>>,
    },
}

impl GroupMap {
    fn new(groups: &[Expr]) -> Self {
        match groups {
            [] => GroupMap::None,
            [g] if is_int_key(g.ty()) => GroupMap::Int {
                map: HashMap::default(),
                null: None,
                keys: Vec::new(),
                ty: g.ty().arrow_type(),
            },
            _ => GroupMap::Rows {
                map: HashMap::default(),
                keys: Vec::new(),
            },
        }
    }

    fn len(&self) -> usize {
        match self {
            GroupMap::None => 1,
            GroupMap::Int { keys, .. } => keys.len(),
            GroupMap::Rows { keys, .. } => keys.len(),
        }
    }

    /// The id of integer key `key` (`None` for NULL), added if new.
    fn int_id(&mut self, key: Option<i64>) -> Result<u32> {
        let GroupMap::Int {
            map, null, keys, ..
        } = self
        else {
            return Err(Error::Internal(
                "integer key for a non-integer grouping".into(),
            ));
        };
        let next = keys.len() as u32;
        let id = match key {
            None => *null.get_or_insert(next),
            Some(k) => *map.entry(k).or_insert(next),
        };
        if id == next {
            keys.push(key);
        }
        Ok(id)
    }

    /// The id of arrow-row key `key`, added if new.
    fn row_id(&mut self, key: &[u8]) -> Result<u32> {
        let GroupMap::Rows { map, keys } = self else {
            return Err(Error::Internal("row key for a non-row grouping".into()));
        };
        Ok(match map.get(key) {
            Some(id) => *id,
            None => {
                let id = keys.len() as u32;
                let key: Box<[u8]> = key.into();
                keys.push(key.clone());
                map.insert(key, id);
                id
            }
        })
    }
}

/// The groups and accumulators of an aggregation over part of its input. Parts computed
/// separately (one per segment, in parallel) merge into one, in input order.
pub(crate) struct Partial<'a> {
    groups: &'a [Expr],
    aggs: &'a [AggCall],
    converter: &'a RowConverter,
    map: GroupMap,
    states: Vec<AggState>,
    /// For each interval key (by key position), the first value each group saw: intervals
    /// group by their span (`1 mon` with `30 days`, as in PostgreSQL), and a group shows one
    /// of its values.
    intervals: Vec<(usize, Vec<Option<IntervalMonthDayNano>>)>,
}

/// The columns MIN and MAX keep in arrow-row form for a column of values: the values, led
/// by their order key where that differs from the values (an interval's span, so that
/// `31 days` beats `1 mon`). The values come back as the last column.
fn min_max_columns(values: &ArrayRef) -> Result<Vec<ArrayRef>> {
    let key = crate::kernels::interval::order_key(values)?;
    Ok(if key.data_type() == values.data_type() {
        vec![values.clone()]
    } else {
        vec![key, values.clone()]
    })
}

/// The row converter of the group keys of an aggregation (an interval key as its span).
pub(crate) fn key_converter(groups: &[Expr]) -> Result<RowConverter> {
    Ok(RowConverter::new(
        groups
            .iter()
            .map(|g| {
                SortField::new(match g.ty() {
                    SqlType::Interval => arrow_schema::DataType::Decimal128(38, 0),
                    t => t.arrow_type(),
                })
            })
            .collect(),
    )?)
}

/// Whether partial aggregations of `aggs` can be merged. DISTINCT needs one set of values
/// seen across the whole input; and floating-point sums and moments accumulate in input
/// order, so their results do not depend on how a table is split into segments and equal
/// PostgreSQL's serial aggregation bit for bit.
pub(crate) fn mergeable(aggs: &[AggCall]) -> bool {
    aggs.iter().all(|a| {
        let float = matches!(
            a.arg.as_ref().map(|e| e.ty()),
            Some(SqlType::Real | SqlType::Double)
        );
        let summing = matches!(
            a.func,
            AggFunc::Sum
                | AggFunc::Avg
                | AggFunc::VarSamp
                | AggFunc::VarPop
                | AggFunc::StddevSamp
                | AggFunc::StddevPop
        );
        let serial = a.distinct || (float && summing);
        !serial
    })
}

impl<'a> Partial<'a> {
    pub(crate) fn new(
        groups: &'a [Expr],
        aggs: &'a [AggCall],
        converter: &'a RowConverter,
    ) -> Result<Self> {
        let mut states = aggs.iter().map(AggState::new).collect::<Result<Vec<_>>>()?;
        let ngroups = if groups.is_empty() { 1 } else { 0 };
        for s in states.iter_mut() {
            s.resize(ngroups);
        }
        let intervals = groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.ty() == SqlType::Interval)
            .map(|(k, _)| (k, Vec::new()))
            .collect();
        Ok(Partial {
            groups,
            aggs,
            converter,
            map: GroupMap::new(groups),
            states,
            intervals,
        })
    }

    fn ngroups(&self) -> usize {
        self.map.len()
    }

    /// Evaluates the group keys and arguments over `batch` (needs no state: runs anywhere).
    pub(crate) fn evaluate(&self, batch: &RecordBatch) -> Result<Evaluated> {
        let mut cols = self
            .groups
            .iter()
            .map(|g| evaluate(g, batch))
            .collect::<Result<Vec<_>>>()?;
        let mut intervals = Vec::with_capacity(self.intervals.len());
        for (k, _) in &self.intervals {
            let span = crate::kernels::interval::order_key(&cols[*k])?;
            intervals.push((*k, std::mem::replace(&mut cols[*k], span)));
        }
        let keys = match (&self.map, cols.as_slice()) {
            (GroupMap::None, _) => BatchKeys::None,
            (GroupMap::Int { .. }, [col]) => match int_keys(col) {
                Some(values) => BatchKeys::Int(values, col.logical_nulls()),
                None => return Err(Error::Internal("integer group key of another type".into())),
            },
            _ => BatchKeys::Rows(self.converter.convert_columns(&cols)?),
        };
        let args = self
            .aggs
            .iter()
            .map(|a| a.arg.as_ref().map(|e| evaluate(e, batch)).transpose())
            .collect::<Result<Vec<_>>>()?;
        let order = self
            .aggs
            .iter()
            .map(|a| {
                a.order_by
                    .iter()
                    .map(|k| evaluate(&k.expr, batch))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Evaluated {
            rows: batch.num_rows(),
            keys,
            intervals,
            args,
            order,
        })
    }

    /// Accumulates one evaluated batch.
    pub(crate) fn absorb(&mut self, e: Evaluated) -> Result<()> {
        let group_ids: Vec<u32> = match &e.keys {
            BatchKeys::None => vec![0; e.rows],
            BatchKeys::Int(values, nulls) => values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let valid = nulls.as_ref().is_none_or(|n| n.is_valid(i));
                    self.map.int_id(valid.then_some(*v))
                })
                .collect::<Result<_>>()?,
            BatchKeys::Rows(rows) => (0..e.rows)
                .map(|i| self.map.row_id(rows.row(i).as_ref()))
                .collect::<Result<_>>()?,
        };
        let ngroups = self.ngroups();
        for ((_, firsts), (_, values)) in self.intervals.iter_mut().zip(&e.intervals) {
            firsts.resize(ngroups, None);
            let values = values.as_primitive::<IntervalMonthDayNanoType>();
            for (i, g) in group_ids.iter().enumerate() {
                let slot = &mut firsts[*g as usize];
                if slot.is_none() && values.is_valid(i) {
                    *slot = Some(values.value(i));
                }
            }
        }
        for ((s, arg), order) in self.states.iter_mut().zip(e.args).zip(e.order) {
            s.resize(ngroups);
            s.update(&group_ids, arg.as_ref(), &order)?;
        }
        Ok(())
    }

    /// Accumulates `batch`.
    pub(crate) fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        let e = self.evaluate(batch)?;
        self.absorb(e)
    }

    /// Adds `other`'s groups and accumulators to this one's (`other` covers later input).
    pub(crate) fn merge(&mut self, other: Partial<'_>) -> Result<()> {
        let map: Vec<u32> = match &other.map {
            GroupMap::None => vec![0],
            GroupMap::Int { keys, .. } => keys
                .iter()
                .map(|k| self.map.int_id(*k))
                .collect::<Result<_>>()?,
            GroupMap::Rows { keys, .. } => keys
                .iter()
                .map(|k| self.map.row_id(k))
                .collect::<Result<_>>()?,
        };
        let ngroups = self.ngroups();
        for ((_, firsts), (_, ofirsts)) in self.intervals.iter_mut().zip(other.intervals) {
            firsts.resize(ngroups, None);
            for (j, v) in ofirsts.into_iter().enumerate() {
                let slot = &mut firsts[map[j] as usize];
                if slot.is_none() {
                    *slot = v;
                }
            }
        }
        for (s, o) in self.states.iter_mut().zip(other.states) {
            s.resize(ngroups);
            s.merge(o, &map)?;
        }
        Ok(())
    }

    /// The result: group columns then aggregates, one row per group.
    pub(crate) fn finish(self) -> Result<Vec<RecordBatch>> {
        let ngroups = self.ngroups();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.groups.len() + self.aggs.len());
        match self.map {
            GroupMap::None => {}
            GroupMap::Int { keys, ty, .. } => {
                let ints: ArrayRef = Arc::new(Int64Array::from(keys));
                columns.push(arrow_cast::cast(&ints, &ty)?);
            }
            GroupMap::Rows { keys, .. } => {
                let parser = self.converter.parser();
                let rows: Vec<arrow_row::Row<'_>> = keys.iter().map(|k| parser.parse(k)).collect();
                columns.extend(self.converter.convert_rows(rows)?);
            }
        }
        for (k, mut firsts) in self.intervals {
            firsts.resize(ngroups, None);
            columns[k] = Arc::new(IntervalMonthDayNanoArray::from(firsts));
        }
        for s in self.states {
            columns.push(s.finish()?);
        }
        if ngroups == 0 {
            return Ok(vec![]);
        }
        Ok(vec![make_batch(columns, ngroups)?])
    }
}

/// Groups `input` by `groups` and computes `aggs`. With no group expressions the result is one
/// row even for empty input (as `SELECT count(*) FROM empty` returns 0).
pub fn aggregate(
    input: Vec<RecordBatch>,
    groups: &[Expr],
    aggs: &[AggCall],
) -> Result<Vec<RecordBatch>> {
    let converter = key_converter(groups)?;
    let mut total = Partial::new(groups, aggs, &converter)?;
    if mergeable(aggs) {
        // Each batch aggregates on its own thread; the parts merge in input order.
        let parts = input
            .par_iter()
            .map(|batch| {
                let mut part = Partial::new(groups, aggs, &converter)?;
                part.update(batch)?;
                Ok(part)
            })
            .collect::<Result<Vec<_>>>()?;
        for part in parts {
            total.merge(part)?;
        }
    } else {
        // Evaluate group keys and arguments for every batch in parallel; only the hashing
        // into groups and the accumulation run in order.
        let evaluated = input
            .par_iter()
            .map(|batch| total.evaluate(batch))
            .collect::<Result<Vec<_>>>()?;
        for e in evaluated {
            total.absorb(e)?;
        }
    }
    total.finish()
}
