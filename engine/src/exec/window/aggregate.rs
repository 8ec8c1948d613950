//! Aggregates over window frames. Each keeps the state its grouped form keeps (see
//! `exec::aggregate::Accumulator`), one per distinct frame ([`super::frame`]), and the states
//! are finished by the grouped aggregates' own finalisation, so an aggregate OVER a window
//! gives the type, scale, rounding and NULL of the same aggregate under GROUP BY.

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, IntervalMonthDayNanoType};
use arrow_array::{Array, ArrayRef, UInt32Array};
use arrow_ord::sort::SortOptions;
use arrow_row::{RowConverter, SortField};
use basalt_storage::SqlType;

use super::frame::FrameStates;
use super::operator::Ctx;
use crate::error::{Error, Result};
use crate::exec::aggregate::{finish_accumulator, Accumulator};
use crate::kernels::cast::{to_f64, to_i64};
use crate::kernels::eval::evaluate;
use crate::planner::expr::{AggCall, AggFunc, WindowCall};
use crate::types::temporal::Interval;

fn out_of_range() -> Error {
    Error::NumericOutOfRange {
        message: "numeric value out of range".into(),
    }
}

/// Integer or NUMERIC values as unscaled i128s.
fn exact_values(a: &ArrayRef, ty: Option<SqlType>) -> Result<Vec<Option<i128>>> {
    Ok(match ty {
        Some(SqlType::Decimal { .. }) => a.as_primitive::<Decimal128Type>().iter().collect(),
        _ => to_i64(a)?.iter().map(|v| v.map(i128::from)).collect(),
    })
}

impl Ctx<'_> {
    /// The aggregate `func` of `call` over each row's frame; `args` are the call's arguments
    /// evaluated over the sorted rows.
    pub(super) fn frame_aggregate(
        &self,
        call: &WindowCall,
        func: AggFunc,
        args: &[ArrayRef],
    ) -> Result<ArrayRef> {
        let frame = &call.frame;
        let arg_ty = call.args.first().map(|a| a.ty());
        let arg = || {
            args.first()
                .ok_or_else(|| Error::Internal(format!("{} without an argument", call.func.name())))
        };
        let agg_call = AggCall {
            func,
            arg: call.args.first().cloned(),
            distinct: false,
            ty: call.ty,
            order_by: call.agg_order.clone(),
            separator: call.separator.clone(),
        };
        // The grouped aggregate's finalisation over the distinct frames' states, each row
        // then taking its frame's value.
        let finish = |slots: Vec<u32>, acc: Accumulator| -> Result<ArrayRef> {
            let values = finish_accumulator(&agg_call, acc)?;
            expand(values, slots)
        };
        match func {
            AggFunc::CountStar | AggFunc::Count => {
                let a = match func {
                    AggFunc::Count => Some(arg()?),
                    _ => None,
                };
                let add = |s: &mut i64, j: usize| {
                    if a.is_none_or(|a| a.is_valid(j)) {
                        *s += 1;
                    }
                    Ok(())
                };
                let remove = |s: &mut i64, j: usize| {
                    if a.is_none_or(|a| a.is_valid(j)) {
                        *s -= 1;
                    }
                    Ok(())
                };
                let FrameStates { states, slots } =
                    self.frame_states(frame, 0i64, &add, Some(&remove))?;
                finish(slots, Accumulator::Count(states))
            }
            AggFunc::Sum | AggFunc::Avg
                if matches!(arg_ty, Some(SqlType::Real | SqlType::Double)) =>
            {
                let v = to_f64(arg()?, arg_ty.unwrap_or(SqlType::Double));
                let add = |s: &mut (f64, i64), j: usize| {
                    if v.is_valid(j) {
                        s.0 += v.value(j);
                        s.1 += 1;
                    }
                    Ok(())
                };
                let FrameStates { states, slots } =
                    self.frame_states(frame, (0.0f64, 0i64), &add, None)?;
                let (sums, counts) = states.into_iter().unzip();
                finish(slots, Accumulator::SumFloat { sums, counts })
            }
            AggFunc::Sum | AggFunc::Avg if arg_ty == Some(SqlType::Interval) => {
                let v = arg()?.as_primitive::<IntervalMonthDayNanoType>();
                let add = |s: &mut (Interval, i64), j: usize| {
                    if v.is_valid(j) {
                        s.0 = s.0.checked_add(Interval::from_arrow(v.value(j)))?;
                        s.1 += 1;
                    }
                    Ok(())
                };
                let remove = |s: &mut (Interval, i64), j: usize| {
                    if v.is_valid(j) {
                        s.0 = s.0.checked_sub(Interval::from_arrow(v.value(j)))?;
                        s.1 -= 1;
                    }
                    Ok(())
                };
                let FrameStates { states, slots } =
                    self.frame_states(frame, (Interval::default(), 0i64), &add, Some(&remove))?;
                let (sums, counts) = states.into_iter().unzip();
                finish(slots, Accumulator::SumInterval { sums, counts })
            }
            AggFunc::Sum | AggFunc::Avg => {
                let vals = exact_values(arg()?, arg_ty)?;
                let add = |s: &mut (i128, i64), j: usize| {
                    if let Some(v) = vals[j] {
                        s.0 = s.0.checked_add(v).ok_or_else(out_of_range)?;
                        s.1 += 1;
                    }
                    Ok(())
                };
                let remove = |s: &mut (i128, i64), j: usize| {
                    if let Some(v) = vals[j] {
                        s.0 = s.0.checked_sub(v).ok_or_else(out_of_range)?;
                        s.1 -= 1;
                    }
                    Ok(())
                };
                let FrameStates { states, slots } =
                    self.frame_states(frame, (0i128, 0i64), &add, Some(&remove))?;
                let (sums, counts) = states.into_iter().unzip();
                finish(slots, Accumulator::SumExact { sums, counts })
            }
            AggFunc::VarSamp | AggFunc::VarPop | AggFunc::StddevSamp | AggFunc::StddevPop
                if matches!(arg_ty, Some(SqlType::Real | SqlType::Double)) =>
            {
                let v = to_f64(arg()?, arg_ty.unwrap_or(SqlType::Double));
                // PostgreSQL's float8_accum (Youngs and Cramer), as the grouped form adds.
                let add = |s: &mut (f64, f64, f64), j: usize| {
                    if v.is_valid(j) {
                        let x = v.value(j);
                        s.0 += 1.0;
                        s.1 += x;
                        if s.0 > 1.0 {
                            let tmp = x * s.0 - s.1;
                            s.2 += tmp * tmp / (s.0 * (s.0 - 1.0));
                        }
                    }
                    Ok(())
                };
                let FrameStates { states, slots } =
                    self.frame_states(frame, (0.0, 0.0, 0.0), &add, None)?;
                let mut acc = (Vec::new(), Vec::new(), Vec::new());
                for (n, sx, sxx) in states {
                    acc.0.push(n);
                    acc.1.push(sx);
                    acc.2.push(sxx);
                }
                let (n, sx, sxx) = acc;
                finish(slots, Accumulator::MomentsFloat { n, sx, sxx })
            }
            AggFunc::VarSamp | AggFunc::VarPop | AggFunc::StddevSamp | AggFunc::StddevPop => {
                let vals = exact_values(arg()?, arg_ty)?;
                let add = |s: &mut (i64, i128, i128), j: usize| {
                    if let Some(v) = vals[j] {
                        let sq = v.checked_mul(v).ok_or_else(out_of_range)?;
                        s.0 += 1;
                        s.1 = s.1.checked_add(v).ok_or_else(out_of_range)?;
                        s.2 = s.2.checked_add(sq).ok_or_else(out_of_range)?;
                    }
                    Ok(())
                };
                let remove = |s: &mut (i64, i128, i128), j: usize| {
                    if let Some(v) = vals[j] {
                        let sq = v.checked_mul(v).ok_or_else(out_of_range)?;
                        s.0 -= 1;
                        s.1 = s.1.checked_sub(v).ok_or_else(out_of_range)?;
                        s.2 = s.2.checked_sub(sq).ok_or_else(out_of_range)?;
                    }
                    Ok(())
                };
                let FrameStates { states, slots } =
                    self.frame_states(frame, (0i64, 0i128, 0i128), &add, Some(&remove))?;
                let mut acc = (Vec::new(), Vec::new(), Vec::new());
                for (n, s, q) in states {
                    acc.0.push(n);
                    acc.1.push(s);
                    acc.2.push(q);
                }
                let (n, sums, squares) = acc;
                finish(slots, Accumulator::MomentsExact { n, sums, squares })
            }
            AggFunc::BoolAnd | AggFunc::BoolOr => {
                let b = arg()?.as_boolean();
                // Counts of true and false values, which PostgreSQL's bool_accum_inv keeps too.
                let step = |d: i64| {
                    move |s: &mut (i64, i64), j: usize| {
                        if b.is_valid(j) {
                            if b.value(j) {
                                s.0 += d;
                            } else {
                                s.1 += d;
                            }
                        }
                        Ok(())
                    }
                };
                let (add, remove) = (step(1), step(-1));
                let FrameStates { states, slots } =
                    self.frame_states(frame, (0i64, 0i64), &add, Some(&remove))?;
                let and = func == AggFunc::BoolAnd;
                let vals = states
                    .into_iter()
                    .map(|(t, f)| (t + f > 0).then_some(if and { f == 0 } else { t > 0 }))
                    .collect();
                finish(slots, Accumulator::Bool { vals, and })
            }
            AggFunc::Min | AggFunc::Max => {
                let a = arg()?;
                let key = crate::kernels::interval::order_key(a)?;
                let rows = RowConverter::new(vec![SortField::new(key.data_type().clone())])?
                    .convert_columns(std::slice::from_ref(&key))?;
                let max = func == AggFunc::Max;
                let add = |s: &mut Option<u32>, j: usize| {
                    if a.is_valid(j) {
                        let better = match s {
                            None => true,
                            Some(b) => {
                                let o = rows.row(j).cmp(&rows.row(*b as usize));
                                if max {
                                    o.is_gt()
                                } else {
                                    o.is_lt()
                                }
                            }
                        };
                        if better {
                            *s = Some(j as u32);
                        }
                    }
                    Ok(())
                };
                let FrameStates { states, slots } = self.frame_states(frame, None, &add, None)?;
                let best: UInt32Array = slots.iter().map(|s| states[*s as usize]).collect();
                Ok(arrow_select::take::take(a.as_ref(), &best, None)?)
            }
            AggFunc::Median | AggFunc::PercentileCont { .. } | AggFunc::PercentileDisc { .. } => {
                let a = arg()?;
                let options = match func {
                    AggFunc::PercentileCont { descending, .. }
                    | AggFunc::PercentileDisc { descending, .. } => SortOptions {
                        descending,
                        nulls_first: false,
                    },
                    _ => SortOptions::default(),
                };
                // The grouped form's encoding: values in the order the percentile reads them.
                let converter = RowConverter::new(vec![SortField::new_with_options(
                    arg_ty.unwrap_or(SqlType::Text).arrow_type(),
                    options,
                )])?;
                let rows = converter.convert_columns(std::slice::from_ref(a))?;
                let FrameStates { states, slots } =
                    self.frame_states(frame, Vec::<u32>::new(), &keep_rows(a, false), None)?;
                let vals = states
                    .iter()
                    .map(|s| {
                        s.iter()
                            .map(|j| rows.row(*j as usize).as_ref().into())
                            .collect()
                    })
                    .collect();
                finish(slots, Accumulator::Ordered { vals, converter })
            }
            AggFunc::ArrayAgg | AggFunc::StringAgg => {
                let a = arg()?;
                let values = RowConverter::new(vec![SortField::new(
                    arg_ty.unwrap_or(SqlType::Text).arrow_type(),
                )])?;
                let rows = values.convert_columns(std::slice::from_ref(a))?;
                // LISTAGG's WITHIN GROUP order, else the frame's (the window's) order.
                let (keys, key_rows) = if call.agg_order.is_empty() {
                    (None, None)
                } else {
                    let converter = RowConverter::new(
                        call.agg_order
                            .iter()
                            .map(|k| {
                                SortField::new_with_options(
                                    k.expr.ty().arrow_type(),
                                    SortOptions {
                                        descending: k.descending,
                                        nulls_first: k.nulls_first,
                                    },
                                )
                            })
                            .collect(),
                    )?;
                    let cols = call
                        .agg_order
                        .iter()
                        .map(|k| evaluate(&k.expr, self.batch))
                        .collect::<Result<Vec<_>>>()?;
                    let r = converter.convert_columns(&cols)?;
                    (Some(converter), Some(r))
                };
                let keep_nulls = func == AggFunc::ArrayAgg;
                let FrameStates { states, slots } =
                    self.frame_states(frame, Vec::<u32>::new(), &keep_rows(a, keep_nulls), None)?;
                let vals = states
                    .iter()
                    .map(|s| {
                        s.iter()
                            .map(|j| {
                                let j = *j as usize;
                                let key: Box<[u8]> = match &key_rows {
                                    Some(k) => k.row(j).as_ref().into(),
                                    None => Box::default(),
                                };
                                (key, rows.row(j).as_ref().into())
                            })
                            .collect()
                    })
                    .collect();
                finish(slots, Accumulator::Collect { vals, values, keys })
            }
            AggFunc::ApproxCountDistinct => Err(Error::Internal(
                "APPROXIMATE COUNT(DISTINCT) is not a window aggregate".into(),
            )),
        }
    }
}

/// A step that lists the frame's rows, NULL values only when `nulls`.
fn keep_rows(a: &ArrayRef, nulls: bool) -> impl Fn(&mut Vec<u32>, usize) -> Result<()> + Sync + '_ {
    move |s: &mut Vec<u32>, j: usize| {
        if nulls || a.is_valid(j) {
            s.push(j as u32);
        }
        Ok(())
    }
}

/// Each row's value from its frame's: `values[slots[i]]` for row `i`.
fn expand(values: ArrayRef, slots: Vec<u32>) -> Result<ArrayRef> {
    if values.len() == slots.len() {
        // One frame per row: the slots count up from 0.
        return Ok(values);
    }
    Ok(arrow_select::take::take(
        values.as_ref(),
        &UInt32Array::from(slots),
        None,
    )?)
}
