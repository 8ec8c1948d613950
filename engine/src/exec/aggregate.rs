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
            Accumulator::Count(counts) if include.is_none() && nulls.is_none() => {
                count_rows(counts, group_ids)
            }
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
                    Some(SqlType::Decimal { .. }) if include.is_none() => {
                        let d = a.as_primitive::<Decimal128Type>();
                        sum_exact(sums, counts, group_ids, d.values(), nulls.as_ref())?;
                    }
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
                        avg_exact(s, n as i128, in_scale, out_scale).ok_or_else(|| of(ty))?
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

/// Interleaved copies of the accumulators [`sum_in_lanes`] keeps.
const LANES: usize = 4;

/// Most groups for which [`sum_in_lanes`] keeps [`LANES`] copies of every accumulator.
const LANE_GROUPS_MAX: usize = 1024;

/// [`sum_exact`] without NULLs for few groups: consecutive rows add into different copies
/// (lanes) of the accumulators, so rows of the same group do not wait for each other's
/// store, and the lanes are added together at the end. Returns whether a sum overflowed.
fn sum_in_lanes(sums: &mut [i128], counts: &mut [i64], group_ids: &[u32], values: &[i128]) -> bool {
    let n = sums.len();
    let mut lane_sums = vec![0i128; LANES * n];
    let mut lane_counts = vec![0i64; LANES * n];
    let mut overflowed = false;
    let mut add = |slot: usize, v: i128| {
        if let (Some(s), Some(c)) = (lane_sums.get_mut(slot), lane_counts.get_mut(slot)) {
            let (sum, o) = s.overflowing_add(v);
            *s = sum;
            overflowed |= o;
            *c += 1;
        }
    };
    let (groups, rest_groups) = group_ids.split_at(group_ids.len() / LANES * LANES);
    let (vals, rest_vals) = values.split_at(groups.len().min(values.len()));
    for (g, v) in groups.chunks_exact(LANES).zip(vals.chunks_exact(LANES)) {
        for lane in 0..LANES {
            add(lane * n + g[lane] as usize, v[lane]);
        }
    }
    for (g, v) in rest_groups.iter().zip(rest_vals) {
        add(*g as usize, *v);
    }
    for lane in 0..LANES {
        let at = lane * n;
        for g in 0..n {
            let (sum, o) = sums[g].overflowing_add(lane_sums[at + g]);
            sums[g] = sum;
            overflowed |= o;
            counts[g] += lane_counts[at + g];
        }
    }
    overflowed
}

/// Counts each row in its group. With few groups, consecutive rows count into different
/// copies (lanes) of the counters, as [`sum_in_lanes`] adds, so that rows of one group do not
/// each wait for the previous row's store.
fn count_rows(counts: &mut [i64], group_ids: &[u32]) {
    let n = counts.len();
    if n > LANE_GROUPS_MAX {
        for g in group_ids {
            if let Some(c) = counts.get_mut(*g as usize) {
                *c += 1;
            }
        }
        return;
    }
    let mut lanes = vec![0i64; LANES * n];
    let whole = group_ids.len() / LANES * LANES;
    for chunk in group_ids[..whole].chunks_exact(LANES) {
        for (lane, g) in chunk.iter().enumerate() {
            if let Some(c) = lanes.get_mut(lane * n + *g as usize) {
                *c += 1;
            }
        }
    }
    for g in &group_ids[whole..] {
        if let Some(c) = lanes.get_mut(*g as usize) {
            *c += 1;
        }
    }
    for lane in lanes.chunks_exact(n.max(1)) {
        for (c, l) in counts.iter_mut().zip(lane) {
            *c += l;
        }
    }
}

/// Adds `values[i]` to group `group_ids[i]`'s exact sum and counts the row, for every row
/// that `nulls` does not hold NULL. The sums wrap and the loop only ORs an overflow flag, so it
/// has no branch per row; a sum that left i128's range on the way is still an error
/// ("numeric value out of range"), as the checked addition gave.
fn sum_exact(
    sums: &mut [i128],
    counts: &mut [i64],
    group_ids: &[u32],
    values: &[i128],
    nulls: Option<&arrow_buffer::NullBuffer>,
) -> Result<()> {
    let mut overflowed = false;
    let ngroups = sums.len();
    let mut add = |g: u32, v: i128| {
        let g = g as usize;
        let (s, o) = sums[g].overflowing_add(v);
        sums[g] = s;
        overflowed |= o;
        counts[g] += 1;
    };
    match nulls {
        None => {
            if let [first, rest @ ..] = group_ids {
                if rest.iter().all(|g| g == first) {
                    // One group (no GROUP BY, or a batch of one key): a plain running sum.
                    let mut total = 0i128;
                    for v in values {
                        let (s, o) = total.overflowing_add(*v);
                        total = s;
                        overflowed |= o;
                    }
                    let g = *first as usize;
                    let (s, o) = sums[g].overflowing_add(total);
                    sums[g] = s;
                    overflowed |= o;
                    counts[g] += values.len() as i64;
                } else if ngroups <= LANE_GROUPS_MAX {
                    overflowed |= sum_in_lanes(sums, counts, group_ids, values);
                } else {
                    for (g, v) in group_ids.iter().zip(values) {
                        add(*g, *v);
                    }
                }
            }
        }
        Some(n) => {
            for i in n.valid_indices() {
                add(group_ids[i], values[i]);
            }
        }
    }
    if overflowed {
        return Err(Error::NumericOutOfRange {
            message: "numeric value out of range".into(),
        });
    }
    Ok(())
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
    /// One or two short keys packed into one integer per row ([`packed_keys`]), with the key
    /// columns (to put a new group's key in arrow-row form).
    Packed(Vec<u128>, Vec<ArrayRef>),
}

/// Columns whose values pack into one 64-bit word each, with NULL told apart, key columns
/// at most: strings of up to [`PACKED_STRING_BYTES_MAX`] bytes, 16- and 32-bit integers and
/// dates. Two words make one u128 per row, and hashing that replaces encoding each row's
/// keys in arrow-row form (where a short string takes a padded 32-byte block) and hashing
/// and comparing those bytes.
const PACKED_KEYS_MAX: usize = 2;

/// Longest string a packed key holds: its bytes and its length fill one 64-bit word.
const PACKED_STRING_BYTES_MAX: usize = 7;

/// One integer per row that equals another row's exactly when their keys are the same
/// values (NULLs equal, as GROUP BY groups them), or `None` when the key columns are not all
/// packable (see [`PACKED_KEYS_MAX`]) or a string is too long.
fn packed_keys(cols: &[ArrayRef]) -> Option<Vec<u128>> {
    use arrow_array::types::{Date32Type, Int16Type, Int32Type};
    use arrow_schema::DataType;
    if cols.is_empty() || cols.len() > PACKED_KEYS_MAX {
        return None;
    }
    let rows = cols.first()?.len();
    let mut out = vec![0u128; rows];
    for (k, col) in cols.iter().enumerate() {
        let shift = 64 * k as u32;
        // A NULL is a word no value packs to: a value's word always has its low byte below
        // 0xFF (a string's length) or bit 32 set (an integer).
        const NULL_WORD: u64 = 0xFF;
        let nulls = col.logical_nulls();
        let is_null = |i: usize| nulls.as_ref().is_some_and(|n| n.is_null(i));
        let mut put_ints = |words: &mut dyn Iterator<Item = u32>| {
            for (i, (slot, w)) in out.iter_mut().zip(words).enumerate() {
                let word = if is_null(i) {
                    NULL_WORD
                } else {
                    u64::from(w) << 8 | 1 << 40
                };
                *slot |= u128::from(word) << shift;
            }
        };
        match col.data_type() {
            DataType::Utf8 => {
                let s = col.as_string::<i32>();
                let offsets = s.value_offsets();
                let bytes = s.value_data();
                if let Some((start, width)) = same_stride(offsets).filter(|_| nulls.is_none()) {
                    // Every value `width` bytes long (CHAR(n), flags): no offsets to read.
                    if width > PACKED_STRING_BYTES_MAX {
                        return None;
                    }
                    let values = bytes.get(start..start + width * rows)?;
                    if width == 0 {
                        continue;
                    }
                    for (slot, value) in out.iter_mut().zip(values.chunks_exact(width)) {
                        let mut word = width as u64;
                        for (j, b) in value.iter().enumerate() {
                            word |= u64::from(*b) << (8 * (j + 1));
                        }
                        *slot |= u128::from(word) << shift;
                    }
                    continue;
                }
                for (i, slot) in out.iter_mut().enumerate() {
                    let word = if is_null(i) {
                        NULL_WORD
                    } else {
                        let lo = usize::try_from(*offsets.get(i)?).ok()?;
                        let hi = usize::try_from(*offsets.get(i + 1)?).ok()?;
                        let value = bytes.get(lo..hi)?;
                        if value.len() > PACKED_STRING_BYTES_MAX {
                            return None;
                        }
                        // Byte by byte: a copy of a variable, tiny length would be a call.
                        let mut word = value.len() as u64;
                        for (j, b) in value.iter().enumerate() {
                            word |= u64::from(*b) << (8 * (j + 1));
                        }
                        word
                    };
                    *slot |= u128::from(word) << shift;
                }
            }
            DataType::Int16 => put_ints(
                &mut col
                    .as_primitive::<Int16Type>()
                    .values()
                    .iter()
                    .map(|v| u32::from(*v as u16)),
            ),
            DataType::Int32 => put_ints(
                &mut col
                    .as_primitive::<Int32Type>()
                    .values()
                    .iter()
                    .map(|v| *v as u32),
            ),
            DataType::Date32 => put_ints(
                &mut col
                    .as_primitive::<Date32Type>()
                    .values()
                    .iter()
                    .map(|v| *v as u32),
            ),
            _ => return None,
        }
    }
    Some(out)
}

/// The first offset and the one length of every value, when the values of a string array
/// all have the same length.
fn same_stride(offsets: &[i32]) -> Option<(usize, usize)> {
    let (first, rest) = offsets.split_first()?;
    let width = rest.first().map_or(0, |o| o - first);
    let mut even = true;
    for w in offsets.windows(2) {
        even &= w[1] - w[0] == width;
    }
    Some((usize::try_from(*first).ok()?, usize::try_from(width).ok()?)).filter(|_| even)
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

    /// An empty map of the same kind.
    fn empty_like(&self) -> GroupMap {
        match self {
            GroupMap::None => GroupMap::None,
            GroupMap::Int { ty, .. } => GroupMap::Int {
                map: HashMap::default(),
                null: None,
                keys: Vec::new(),
                ty: ty.clone(),
            },
            GroupMap::Rows { .. } => GroupMap::Rows {
                map: HashMap::default(),
                keys: Vec::new(),
            },
        }
    }

    /// The groups of this map split into `n` partitions by a hash of their keys (equal keys
    /// in different maps land in the same partition), each partition's in id order.
    fn partition_groups(&self, n: usize) -> Vec<Vec<u32>> {
        use std::hash::BuildHasher;
        let mut out = vec![Vec::new(); n];
        // Middle bits: the hash tables use the low ones for the slot and the top ones as tags.
        let part = |h: u64| ((h >> 24) as usize) % n;
        match self {
            GroupMap::None => out[0].push(0),
            GroupMap::Int { keys, .. } => {
                for (j, k) in keys.iter().enumerate() {
                    let q = k.map_or(0, |k| part(BuildIntHasher.hash_one(k)));
                    out[q].push(j as u32);
                }
            }
            GroupMap::Rows { keys, .. } => {
                for (j, k) in keys.iter().enumerate() {
                    out[part(BuildIntHasher.hash_one(k))].push(j as u32);
                }
            }
        }
        out
    }

    /// The id in this map of group `j` of `other` (a map of the same kind), added if new.
    fn id_of(&mut self, other: &GroupMap, j: u32) -> Result<u32> {
        match other {
            GroupMap::None => Ok(0),
            GroupMap::Int { keys, .. } => self.int_id(keys.get(j as usize).copied().flatten()),
            GroupMap::Rows { keys, .. } => match keys.get(j as usize) {
                Some(k) => self.row_id(k),
                None => Err(Error::Internal(format!("no group {j} to merge"))),
            },
        }
    }

    /// The keys of `maps` one after another, as the groups of one map whose ids are each
    /// map's ids offset by the sizes of the maps before it. Its hash table is left empty: it
    /// can only be finished, never looked up.
    fn concatenated(first: &GroupMap, maps: Vec<GroupMap>) -> GroupMap {
        let mut out = first.empty_like();
        for m in maps {
            match (&mut out, m) {
                (GroupMap::Int { keys, null, .. }, GroupMap::Int { keys: more, .. }) => {
                    if let Some(at) = more.iter().position(Option::is_none) {
                        *null = Some((keys.len() + at) as u32);
                    }
                    keys.extend(more);
                }
                (GroupMap::Rows { keys, .. }, GroupMap::Rows { keys: more, .. }) => {
                    keys.extend(more)
                }
                _ => {}
            }
        }
        out
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
    /// The group of each packed key seen (see [`packed_keys`]).
    packed: HashMap<u128, u32, BuildIntHasher>,
    /// Per aggregate, an earlier one whose state it reads instead of keeping its own (see
    /// [`twins`]).
    twin: Vec<Option<usize>>,
}

/// Per aggregate, the first earlier aggregate that keeps the same state: SUM and AVG of the
/// same argument (TPC-H Q1's `sum(l_quantity)` and `avg(l_quantity)`) both keep a sum and a
/// count per group, so one pass over the values serves both.
fn twins(aggs: &[AggCall]) -> Vec<Option<usize>> {
    let sums = |a: &AggCall| {
        matches!(a.func, AggFunc::Sum | AggFunc::Avg)
            && !a.distinct
            && a.arg.is_some()
            && a.order_by.is_empty()
    };
    aggs.iter()
        .enumerate()
        .map(|(j, b)| {
            if !sums(b) {
                return None;
            }
            aggs[..j].iter().position(|a| sums(a) && a.arg == b.arg)
        })
        .collect()
}

impl Accumulator {
    /// A copy of a sum's state, for its twin ([`twins`]); `None` for other states.
    fn copy_sum(&self) -> Option<Accumulator> {
        match self {
            Accumulator::SumExact { sums, counts } => Some(Accumulator::SumExact {
                sums: sums.clone(),
                counts: counts.clone(),
            }),
            Accumulator::SumFloat { sums, counts } => Some(Accumulator::SumFloat {
                sums: sums.clone(),
                counts: counts.clone(),
            }),
            Accumulator::SumInterval { sums, counts } => Some(Accumulator::SumInterval {
                sums: sums.clone(),
                counts: counts.clone(),
            }),
            _ => None,
        }
    }
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
            packed: HashMap::default(),
            twin: twins(aggs),
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
            _ => match packed_keys(&cols) {
                Some(packed) => BatchKeys::Packed(packed, cols),
                None => BatchKeys::Rows(self.converter.convert_columns(&cols)?),
            },
        };
        // A twin's argument is its twin's, already evaluated and accumulated there.
        let args = self
            .aggs
            .iter()
            .zip(&self.twin)
            .map(|(a, twin)| match twin {
                Some(_) => Ok(None),
                None => a.arg.as_ref().map(|e| evaluate(e, batch)).transpose(),
            })
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
            BatchKeys::Packed(packed, cols) => {
                let mut ids = Vec::with_capacity(e.rows);
                for (i, key) in packed.iter().enumerate() {
                    let id = match self.packed.get(key) {
                        Some(id) => *id,
                        None => {
                            // A key this part has not seen packed: its group by its arrow-row
                            // form, so packed and unpacked batches share the groups.
                            let row: Vec<ArrayRef> = cols.iter().map(|c| c.slice(i, 1)).collect();
                            let rows = self.converter.convert_columns(&row)?;
                            let id = self.map.row_id(rows.row(0).as_ref())?;
                            self.packed.insert(*key, id);
                            id
                        }
                    };
                    ids.push(id);
                }
                ids
            }
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
        for (((s, arg), order), twin) in self
            .states
            .iter_mut()
            .zip(e.args)
            .zip(e.order)
            .zip(&self.twin)
        {
            s.resize(ngroups);
            if twin.is_none() {
                s.update(&group_ids, arg.as_ref(), &order)?;
            }
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
        self.merge_mapped(other, &map)
    }

    /// Merges `parts` (over consecutive stretches of the input, in order) into this empty
    /// one and finishes. With many groups the keys are numbered in parallel: each part's
    /// groups are split into partitions by key hash, each partition's groups get their ids on
    /// a thread of their own (parts in order), and the ids of partition `q` follow those of
    /// the partitions before it; only adding up the accumulators stays serial. The groups
    /// then come out partition by partition rather than in order of first appearance.
    pub(crate) fn merge_finish(mut self, parts: Vec<Partial<'a>>) -> Result<Vec<RecordBatch>> {
        let groups: usize = parts.iter().map(Partial::ngroups).sum();
        if groups < PARTITIONED_MERGE_GROUPS
            || self.ngroups() > 0
            || matches!(self.map, GroupMap::None)
        {
            for p in parts {
                self.merge(p)?;
            }
            return self.finish();
        }
        let partitions = (rayon::current_num_threads() * 4).max(2);
        let buckets: Vec<Vec<Vec<u32>>> = parts
            .par_iter()
            .map(|p| p.map.partition_groups(partitions))
            .collect();
        // Per partition: its groups and, per part, the partition's id of each of the part's
        // groups in it.
        let numbered: Vec<(GroupMap, Vec<Vec<u32>>)> = (0..partitions)
            .into_par_iter()
            .map(|q| {
                let mut map = self.map.empty_like();
                let ids = parts
                    .iter()
                    .zip(&buckets)
                    .map(|(p, b)| b[q].iter().map(|&j| map.id_of(&p.map, j)).collect())
                    .collect::<Result<Vec<Vec<u32>>>>()?;
                Ok((map, ids))
            })
            .collect::<Result<_>>()?;
        let mut offsets = Vec::with_capacity(partitions);
        let mut next = 0u32;
        for (map, _) in &numbered {
            offsets.push(next);
            next += map.len() as u32;
        }
        let maps: Vec<Vec<u32>> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut map = vec![0u32; p.ngroups()];
                for (q, (_, ids)) in numbered.iter().enumerate() {
                    for (&j, &id) in buckets[i][q].iter().zip(&ids[i]) {
                        map[j as usize] = offsets[q] + id;
                    }
                }
                map
            })
            .collect();
        self.map = GroupMap::concatenated(
            &self.map,
            numbered.into_iter().map(|(map, _)| map).collect(),
        );
        for (p, map) in parts.into_iter().zip(maps) {
            self.merge_mapped(p, &map)?;
        }
        self.finish()
    }

    /// Adds `other`'s accumulators to this one's, `other`'s group `j` being this one's
    /// group `map[j]`, which exists already.
    fn merge_mapped(&mut self, other: Partial<'_>, map: &[u32]) -> Result<()> {
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
        for ((s, o), twin) in self.states.iter_mut().zip(other.states).zip(&self.twin) {
            s.resize(ngroups);
            if twin.is_none() {
                s.merge(o, map)?;
            }
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
        let mut states = self.states;
        for (j, twin) in self.twin.iter().enumerate() {
            if let Some(i) = *twin {
                let copy = states.get(i).and_then(|s| s.acc.copy_sum());
                match (copy, states.get_mut(j)) {
                    (Some(acc), Some(s)) => s.acc = acc,
                    _ => return Err(Error::Internal("an aggregate's twin keeps no sum".into())),
                }
            }
        }
        for s in states {
            columns.push(s.finish()?);
        }
        if ngroups == 0 {
            return Ok(vec![]);
        }
        Ok(vec![make_batch(columns, ngroups)?])
    }
}

/// Merged partial aggregations with at least this many groups between them number their
/// groups in parallel ([`Partial::merge_finish`]).
const PARTITIONED_MERGE_GROUPS: usize = 100_000;

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
        return total.merge_finish(parts);
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

/// `sum / n` (a decimal at `in_scale` over a positive count) at `out_scale`, rounded half away
/// from zero; `None` when the quotient does not fit. The sum is divided before it is scaled
/// up, so an average of large BIGINTs whose sum, scaled, would pass 38 digits still comes out
/// (PostgreSQL adds BIGINTs in NUMERIC and never overflows there).
fn avg_exact(sum: i128, n: i128, in_scale: i8, out_scale: i8) -> Option<i128> {
    if out_scale < in_scale {
        let num = rescale_decimal(sum, in_scale, out_scale)?;
        let (q, r) = (num / n, num % n);
        return Some(if r.abs() * 2 >= n {
            q + num.signum()
        } else {
            q
        });
    }
    let factor = pow10(u32::try_from(out_scale - in_scale).ok()?);
    let (q, r) = (sum / n, sum % n);
    // |r| < n, so r * factor fits for every count and the scales averages use.
    let rest = r.checked_mul(factor)?;
    let (fq, fr) = (rest / n, rest % n);
    let v = q.checked_mul(factor)?.checked_add(fq)?;
    Some(if fr.abs() * 2 >= n {
        v + sum.signum()
    } else {
        v
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn avg_exact_divides_before_scaling() {
        // Input: averages of two and of three values, one whose scaled sum passes 38 digits
        // (2,000 times 9e18 at scale 16), and the rounding of halves in both signs.
        assert_eq!(avg_exact(3, 2, 0, 1), Some(15));
        assert_eq!(avg_exact(-3, 2, 0, 0), Some(-2));
        assert_eq!(avg_exact(5, 3, 0, 2), Some(167));
        assert_eq!(avg_exact(-5, 3, 0, 2), Some(-167));
        let sum = 9_000_000_000_000_000_000_i128 * 2_000;
        assert_eq!(
            avg_exact(sum, 2_000, 0, 16),
            Some(9_000_000_000_000_000_000 * 10_i128.pow(16))
        );
        assert_eq!(avg_exact(i128::MAX, 1, 0, 16), None);
        assert_eq!(avg_exact(1_255, 10, 2, 1), Some(13));
    }

    use arrow_array::{Int32Array, StringArray};

    use super::*;

    fn column(index: usize, ty: SqlType) -> Expr {
        Expr::Column { index, ty }
    }

    const NUM: SqlType = SqlType::Decimal {
        precision: 12,
        scale: 2,
    };
    const SUM: SqlType = SqlType::Decimal {
        precision: 38,
        scale: 2,
    };

    fn batch(a: Vec<Option<&str>>, b: Vec<Option<i32>>, x: Vec<i128>) -> RecordBatch {
        let rows = x.len();
        let x = Decimal128Array::from(x)
            .with_precision_and_scale(12, 2)
            .unwrap();
        make_batch(
            vec![
                Arc::new(StringArray::from(a)),
                Arc::new(Int32Array::from(b)),
                Arc::new(x),
            ],
            rows,
        )
        .unwrap()
    }

    /// Each group as text, sorted.
    fn groups_of(out: &[RecordBatch], types: &[SqlType]) -> Vec<Vec<Option<String>>> {
        let mut rows: Vec<Vec<Option<String>>> = out
            .iter()
            .flat_map(|b| {
                (0..b.num_rows()).map(move |r| {
                    types
                        .iter()
                        .enumerate()
                        .map(|(c, ty)| {
                            crate::pgtext::format_value(
                                b.column(c).as_ref(),
                                r,
                                *ty,
                                crate::pgtext::Zone::UTC,
                            )
                        })
                        .collect()
                })
            })
            .collect();
        rows.sort();
        rows
    }

    #[test]
    fn packed_and_row_keys_make_the_same_groups() {
        // Input: (VARCHAR a, INTEGER b, NUMERIC x) in two batches: the first's keys all pack
        // (strings of 0 to 7 bytes, NULLs in both columns), the second has an 8-byte string,
        // so its keys go through arrow-row form; grouped by (a, b) with SUM(x) and COUNT(*),
        // once merged from parts and once absorbed in order (a float SUM makes it serial).
        let first = batch(
            vec![
                Some("ab"),
                Some("ab"),
                None,
                Some(""),
                None,
                Some("abcdefg"),
            ],
            vec![Some(1), Some(1), Some(1), None, None, Some(-2)],
            vec![150, 200, 300, 400, 500, 600],
        );
        let second = batch(
            vec![
                Some("ab"),
                Some("abcdefgh"),
                None,
                Some(""),
                Some("abcdefg"),
            ],
            vec![Some(1), Some(1), None, None, Some(-2)],
            vec![1000, 2000, 3000, 4000, 5000],
        );
        // A third whose strings are all two bytes long and not NULL (packed without reading
        // offsets), sliced so that its first offset is not 0.
        let third = batch(
            vec![Some("zz"), Some("ab"), Some("ab")],
            vec![Some(1), Some(1), Some(1)],
            vec![9000, 50, 50],
        )
        .slice(1, 2);
        let groups = [column(0, SqlType::Text), column(1, SqlType::Integer)];
        let sum = AggCall::new(AggFunc::Sum, Some(column(2, NUM)), false, SUM);
        let count = AggCall::new(AggFunc::CountStar, None, false, SqlType::BigInt);
        let expected: Vec<Vec<Option<String>>> = [
            (None, None, "35.00", "2"),
            (None, Some("1"), "3.00", "1"),
            (Some(""), None, "44.00", "2"),
            (Some("ab"), Some("1"), "14.50", "5"),
            (Some("abcdefg"), Some("-2"), "56.00", "2"),
            (Some("abcdefgh"), Some("1"), "20.00", "1"),
        ]
        .iter()
        .map(|(a, b, s, n)| {
            vec![
                a.map(String::from),
                b.map(String::from),
                Some(s.to_string()),
                Some(n.to_string()),
            ]
        })
        .collect();
        let types = [SqlType::Text, SqlType::Integer, SUM, SqlType::BigInt];
        let input = vec![first.clone(), second.clone(), third];
        let out = aggregate(input.clone(), &groups, &[sum.clone(), count.clone()]).unwrap();
        assert_eq!(groups_of(&out, &types), expected);

        let float = Expr::Cast {
            expr: Box::new(column(2, NUM)),
            to: SqlType::Double,
            explicit: true,
        };
        let fsum = AggCall::new(AggFunc::Sum, Some(float), false, SqlType::Double);
        let out = aggregate(input, &groups, &[sum, count, fsum]).unwrap();
        let mut types = types.to_vec();
        types.push(SqlType::Double);
        let serial: Vec<Vec<Option<String>>> = groups_of(&out, &types)
            .into_iter()
            .map(|mut r| {
                r.pop();
                r
            })
            .collect();
        assert_eq!(serial, expected);
    }

    #[test]
    fn sum_and_avg_of_one_argument_share_their_state() {
        // Input: keys a, b, a, NULL with NUMERIC values; SUM(x), AVG(x), SUM(x) again,
        // AVG(DISTINCT x) and COUNT(*). The second and third read the first's state; the
        // DISTINCT one keeps its own. Each result equals that aggregate computed alone.
        let input = vec![batch(
            vec![Some("a"), Some("b"), Some("a"), None],
            vec![Some(1); 4],
            vec![100, 250, 301, 7],
        )];
        let groups = [column(0, SqlType::Text)];
        let avg_ty = SqlType::Decimal {
            precision: 38,
            scale: 6,
        };
        let x = || Some(column(2, NUM));
        let aggs = [
            AggCall::new(AggFunc::Sum, x(), false, SUM),
            AggCall::new(AggFunc::Avg, x(), false, avg_ty),
            AggCall::new(AggFunc::Sum, x(), false, SUM),
            AggCall::new(AggFunc::Avg, x(), true, avg_ty),
            AggCall::new(AggFunc::CountStar, None, false, SqlType::BigInt),
        ];
        assert_eq!(twins(&aggs), vec![None, Some(0), Some(0), None, None]);
        let together = groups_of(
            &aggregate(input.clone(), &groups, &aggs).unwrap(),
            &[SqlType::Text, SUM, avg_ty, SUM, avg_ty, SqlType::BigInt],
        );
        for (k, a) in aggs.iter().enumerate() {
            let alone = groups_of(
                &aggregate(input.clone(), &groups, std::slice::from_ref(a)).unwrap(),
                &[SqlType::Text, a.ty],
            );
            let column: Vec<_> = together
                .iter()
                .map(|r| [r[0].clone(), r[k + 1].clone()])
                .collect();
            let alone: Vec<_> = alone.iter().map(|r| [r[0].clone(), r[1].clone()]).collect();
            assert_eq!(column, alone, "aggregate {k}");
        }
    }

    #[test]
    fn partitioned_merges_make_the_same_groups_as_serial_ones() {
        // Input: three batches whose keys overlap (each key i appears in the batches where
        // i % 3 allows), 160,000 distinct (a, b) keys in all, NULLs among both, enough for the
        // partitioned merge; grouped once by the integer b alone and once by (a, b), with
        // SUM(x), COUNT(*) and MIN(a). The same aggregation with a float SUM (never merged,
        // absorbed in order) gives the groups to compare with.
        let n: i32 = 160_000;
        let make = |offset: i32| {
            let ids: Vec<i32> = (0..n).filter(|i| (i + offset) % 3 != 0).collect();
            let a: Vec<Option<String>> = ids
                .iter()
                .map(|i| (i % 1000 != 7).then(|| format!("k{}", i % 50)))
                .collect();
            let b: Vec<Option<i32>> = ids.iter().map(|i| (i % 997 != 3).then_some(*i)).collect();
            let x: Vec<i128> = ids.iter().map(|i| i128::from(*i) * 3 + 1).collect();
            batch(a.iter().map(|v| v.as_deref()).collect(), b, x)
        };
        let input = vec![make(0), make(1), make(2)];
        let sum = AggCall::new(AggFunc::Sum, Some(column(2, NUM)), false, SUM);
        let count = AggCall::new(AggFunc::CountStar, None, false, SqlType::BigInt);
        let min = AggCall::new(
            AggFunc::Min,
            Some(column(0, SqlType::Text)),
            false,
            SqlType::Text,
        );
        let float = Expr::Cast {
            expr: Box::new(column(2, NUM)),
            to: SqlType::Double,
            explicit: true,
        };
        let fsum = AggCall::new(AggFunc::Sum, Some(float), false, SqlType::Double);
        for groups in [
            vec![column(1, SqlType::Integer)],
            vec![column(0, SqlType::Text), column(1, SqlType::Integer)],
        ] {
            let aggs = [sum.clone(), count.clone(), min.clone()];
            let mut types: Vec<SqlType> = groups.iter().map(Expr::ty).collect();
            types.extend([SUM, SqlType::BigInt, SqlType::Text]);
            let merged = aggregate(input.clone(), &groups, &aggs).unwrap();
            let mut serial_aggs = aggs.to_vec();
            serial_aggs.push(fsum.clone());
            let serial = aggregate(input.clone(), &groups, &serial_aggs).unwrap();
            let mut serial_types = types.clone();
            serial_types.push(SqlType::Double);
            let serial: Vec<Vec<Option<String>>> = groups_of(&serial, &serial_types)
                .into_iter()
                .map(|mut r| {
                    r.pop();
                    r
                })
                .collect();
            let merged = groups_of(&merged, &types);
            assert!(merged.len() > PARTITIONED_MERGE_GROUPS, "{}", merged.len());
            assert_eq!(merged, serial);
        }
    }

    #[test]
    fn sums_that_leave_i128_are_errors() {
        // Input: NUMERIC(38,0) values 10^38 - 1, summed over 2 groups of 3 rows (the lanes
        // path), over one group (the running-sum path) and with a NULL (the NULL-aware path):
        // i128 holds at most about 1.7 * 10^38, so each overflows.
        let big = crate::types::datum::pow10(38) - 1;
        let ty = SqlType::Decimal {
            precision: 38,
            scale: 0,
        };
        let sum = AggCall::new(AggFunc::Sum, Some(column(1, ty)), false, ty);
        let values = |nulls: bool| -> RecordBatch {
            let x: Decimal128Array = (0..6)
                .map(|i| (!nulls || i != 3).then_some(big))
                .collect::<Decimal128Array>()
                .with_precision_and_scale(38, 0)
                .unwrap();
            make_batch(
                vec![
                    Arc::new(Int32Array::from(vec![1, 2, 1, 2, 1, 2])),
                    Arc::new(x),
                ],
                6,
            )
            .unwrap()
        };
        for (groups, nulls) in [
            (vec![column(0, SqlType::Integer)], false),
            (vec![], false),
            (vec![column(0, SqlType::Integer)], true),
        ] {
            let err = aggregate(vec![values(nulls)], &groups, std::slice::from_ref(&sum));
            assert!(
                matches!(err, Err(Error::NumericOutOfRange { .. })),
                "{groups:?} {nulls}: {err:?}"
            );
        }
    }
}
