//! Window functions: rows are sorted by the window's partition keys, then its order keys;
//! partitions and peer groups (rows equal on the order keys) are found in one pass over the
//! sorted rows, and each call's values are computed partition by partition, partitions in
//! parallel on the rayon pool.
//!
//! Keys are compared in arrow-row form, which orders like SQL (NULLs placed as the ORDER BY
//! asks, NULL partition keys equal to each other). Value functions (LAG, FIRST_VALUE, MIN,
//! ...) compute row indices and gather the values with `take`, so they work for every type.
//! Aggregates over a frame keep a running state while the frame's start stays put and its end
//! moves forward, and start again when the start moves, as PostgreSQL does for aggregates
//! without an inverse: a float SUM adds the same values in the same order.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Decimal128Type;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, UInt32Array,
};
use arrow_ord::sort::SortOptions;
use arrow_row::{RowConverter, Rows, SortField};
use basalt_storage::SqlType;
use rayon::prelude::*;

use super::aggregate::{finish_accumulator, Accumulator};
use super::{concat, make_batch};
use crate::error::{Error, Result};
use crate::kernels::cast::{to_f64, to_i64};
use crate::kernels::eval::evaluate;
use crate::planner::expr::{
    AggCall, AggFunc, Expr, FrameBound, FrameUnits, RangeBound, WindowCall, WindowFrame, WindowFunc,
};
use crate::types::Datum;

/// Computes `calls` (which share one window) over `input`, whose columns have `input_types`.
/// The output is the input's columns, in window order, then one column per call.
pub fn window(
    input: Vec<RecordBatch>,
    input_types: &[SqlType],
    calls: &[WindowCall],
) -> Result<Vec<RecordBatch>> {
    let Some(first) = calls.first() else {
        return Ok(input);
    };
    let arrow_types: Vec<arrow_schema::DataType> =
        input_types.iter().map(|t| t.arrow_type()).collect();
    let batch = concat(&input, &arrow_types)?;
    drop(input);
    let n = batch.num_rows();
    if n == 0 {
        return Ok(vec![]);
    }
    if u32::try_from(n).is_err() {
        return Err(Error::ProgramLimitExceeded {
            message: format!(
                "window over {n} rows exceeds the limit of {} rows",
                u32::MAX
            ),
        });
    }

    // Sort by (partition keys, order keys), keeping input order among equal rows.
    let part_rows = key_rows(
        &batch,
        first
            .partition_by
            .iter()
            .map(|e| (e, SortOptions::default())),
    )?;
    let order_rows = key_rows(
        &batch,
        first.order_by.iter().map(|k| {
            (
                &k.expr,
                SortOptions {
                    descending: k.descending,
                    nulls_first: k.nulls_first,
                },
            )
        }),
    )?;
    let mut perm: Vec<u32> = (0..n as u32).collect();
    if part_rows.is_some() || order_rows.is_some() {
        perm.par_sort_by(|&a, &b| {
            let by = |rows: &Option<Rows>| match rows {
                Some(r) => r.row(a as usize).cmp(&r.row(b as usize)),
                None => std::cmp::Ordering::Equal,
            };
            by(&part_rows).then_with(|| by(&order_rows))
        });
    }
    let same = |rows: &Option<Rows>, i: usize| match rows {
        Some(r) => r.row(perm[i] as usize) == r.row(perm[i - 1] as usize),
        None => true,
    };

    // Partitions and peer groups, as ranges of sorted positions.
    let mut parts: Vec<Range<usize>> = Vec::new();
    let mut peer_start = vec![0u32; n];
    let mut peer_end = vec![0u32; n];
    // Each row's peer group, numbered across partitions, and each group's first row.
    let mut peer_group = vec![0u32; n];
    let mut group_starts: Vec<u32> = Vec::new();
    let mut part_begin = 0;
    let mut peer_begin = 0;
    for i in 1..=n {
        let new_part = i == n || !same(&part_rows, i);
        let new_peer = new_part || !same(&order_rows, i);
        if new_peer {
            let group = group_starts.len() as u32;
            group_starts.push(peer_begin as u32);
            for p in peer_begin..i {
                peer_start[p] = peer_begin as u32;
                peer_end[p] = i as u32;
                peer_group[p] = group;
            }
            peer_begin = i;
        }
        if new_part {
            parts.push(part_begin..i);
            part_begin = i;
        }
    }
    drop(part_rows);
    drop(order_rows);

    let sorted = arrow_select::take::take_record_batch(&batch, &UInt32Array::from(perm))?;
    drop(batch);
    group_starts.push(n as u32);
    let ctx = Ctx {
        batch: &sorted,
        parts: &parts,
        peer_start: &peer_start,
        peer_end: &peer_end,
        peer_group: &peer_group,
        group_starts: &group_starts,
        order_key: first.order_by.first().map(|k| {
            (
                &k.expr,
                SortOptions {
                    descending: k.descending,
                    nulls_first: k.nulls_first,
                },
            )
        }),
    };
    let mut columns: Vec<ArrayRef> = sorted.columns().to_vec();
    for call in calls {
        columns.push(ctx.compute(call)?);
    }
    Ok(vec![make_batch(columns, n)?])
}

/// The keys' values in arrow-row form (`None` when there are no keys).
fn key_rows<'e>(
    batch: &RecordBatch,
    keys: impl Iterator<Item = (&'e crate::planner::expr::Expr, SortOptions)>,
) -> Result<Option<Rows>> {
    let mut fields = Vec::new();
    let mut cols = Vec::new();
    for (e, options) in keys {
        // Intervals partition and order by their span, as they compare.
        let col = crate::kernels::interval::order_key(&evaluate(e, batch)?)?;
        fields.push(SortField::new_with_options(
            col.data_type().clone(),
            options,
        ));
        cols.push(col);
    }
    if cols.is_empty() {
        return Ok(None);
    }
    Ok(Some(RowConverter::new(fields)?.convert_columns(&cols)?))
}

/// The sorted rows and their partitions and peer groups.
struct Ctx<'a> {
    batch: &'a RecordBatch,
    parts: &'a [Range<usize>],
    /// First and one-past-last sorted position of each row's peer group.
    peer_start: &'a [u32],
    peer_end: &'a [u32],
    /// Each row's peer group (numbered over all partitions), and the first sorted position
    /// of each group followed by the row count.
    peer_group: &'a [u32],
    group_starts: &'a [u32],
    /// The window's first ORDER BY key and its direction (RANGE offsets read it).
    order_key: Option<(&'a Expr, SortOptions)>,
}

/// Where RANGE offset bounds put each row's frame start and end (sorted positions), when the
/// frame has such bounds.
#[derive(Default)]
struct RangeEnds {
    start: Option<Vec<u32>>,
    end: Option<Vec<u32>>,
}

impl Ctx<'_> {
    /// Runs `f` on every partition, in parallel, and concatenates the per-row results.
    fn per_partition<T: Send>(
        &self,
        f: impl Fn(Range<usize>) -> Result<Vec<T>> + Sync + Send,
    ) -> Result<Vec<T>> {
        let chunks: Vec<Vec<T>> = self
            .parts
            .par_iter()
            .map(|r| f(r.clone()))
            .collect::<Result<_>>()?;
        let mut out = Vec::with_capacity(self.batch.num_rows());
        for c in chunks {
            out.extend(c);
        }
        Ok(out)
    }

    /// The frame of the row at sorted position `i` in partition `part`, as a half-open range
    /// of sorted positions (empty when the bounds cross). `ends` holds the RANGE offset
    /// bounds ([`Ctx::range_ends`]).
    fn frame(
        &self,
        frame: &WindowFrame,
        ends: &RangeEnds,
        part: &Range<usize>,
        i: usize,
    ) -> Range<usize> {
        let offset = |d: &Datum| match d {
            Datum::Int(v) => usize::try_from(*v).unwrap_or(usize::MAX),
            _ => 0,
        };
        // GROUPS: the first row of the group `k` groups before (or after) the row's, kept
        // inside the partition.
        let group = self.peer_group[i] as usize;
        let first_group = self.peer_group[part.start] as usize;
        let last_group = self.peer_group[part.end - 1] as usize;
        let group_start = |g: usize| self.group_starts[g] as usize;
        let start = match (&frame.start, frame.units) {
            (FrameBound::UnboundedPreceding, _) => part.start,
            (FrameBound::CurrentRow, FrameUnits::Rows) => i,
            (FrameBound::CurrentRow, _) => self.peer_start[i] as usize,
            (FrameBound::UnboundedFollowing, _) => part.end,
            (FrameBound::Preceding(d), FrameUnits::Rows) => {
                i.saturating_sub(offset(d)).max(part.start)
            }
            (FrameBound::Following(d), FrameUnits::Rows) => {
                i.saturating_add(offset(d)).min(part.end)
            }
            (FrameBound::Preceding(d), FrameUnits::Groups) => {
                group_start(group.saturating_sub(offset(d)).max(first_group))
            }
            (FrameBound::Following(d), FrameUnits::Groups) => match group.checked_add(offset(d)) {
                Some(g) if g <= last_group => group_start(g),
                _ => part.end,
            },
            (FrameBound::Preceding(_) | FrameBound::Following(_), FrameUnits::Range) => {
                match &ends.start {
                    Some(v) => v[i] as usize,
                    None => self.peer_start[i] as usize,
                }
            }
        };
        let end = match (&frame.end, frame.units) {
            (FrameBound::UnboundedPreceding, _) => part.start,
            (FrameBound::CurrentRow, FrameUnits::Rows) => i + 1,
            (FrameBound::CurrentRow, _) => self.peer_end[i] as usize,
            (FrameBound::UnboundedFollowing, _) => part.end,
            (FrameBound::Preceding(d), FrameUnits::Rows) => {
                (i + 1).saturating_sub(offset(d)).max(part.start)
            }
            (FrameBound::Following(d), FrameUnits::Rows) => {
                i.saturating_add(offset(d)).saturating_add(1).min(part.end)
            }
            (FrameBound::Preceding(d), FrameUnits::Groups) => match group.checked_sub(offset(d)) {
                Some(g) if g >= first_group => group_start(g + 1),
                _ => part.start,
            },
            (FrameBound::Following(d), FrameUnits::Groups) => {
                let g = group.saturating_add(offset(d)).min(last_group);
                group_start(g + 1)
            }
            (FrameBound::Preceding(_) | FrameBound::Following(_), FrameUnits::Range) => {
                match &ends.end {
                    Some(v) => v[i] as usize,
                    None => self.peer_end[i] as usize,
                }
            }
        };
        start..end.max(start)
    }

    /// The frame starts and ends that RANGE offset bounds give: for a row whose key is not
    /// NULL, the first row (start) or one past the last row (end) of its partition whose key
    /// is within the bound, in ORDER BY order; NULL keys are never within a bound and a row
    /// whose key is NULL has its peers for frame (as in PostgreSQL).
    fn range_ends(&self, frame: &WindowFrame) -> Result<RangeEnds> {
        if frame.range_start.is_none() && frame.range_end.is_none() {
            return Ok(RangeEnds::default());
        }
        let Some((key_expr, options)) = self.order_key else {
            return Err(Error::Internal(
                "RANGE offset without an ORDER BY key".into(),
            ));
        };
        let raw = evaluate(key_expr, self.batch)?;
        let keys = make_batch(vec![raw.clone()], raw.len())?;
        let find = |range: &Option<RangeBound>, is_start: bool| -> Result<Option<Vec<u32>>> {
            let Some(range) = range else {
                return Ok(None);
            };
            let key = crate::kernels::interval::order_key(&evaluate(&range.key, &keys)?)?;
            let bound = crate::kernels::interval::order_key(&evaluate(&range.bound, &keys)?)?;
            let converter = RowConverter::new(vec![SortField::new_with_options(
                key.data_type().clone(),
                options,
            )])?;
            let key_rows = converter.convert_columns(std::slice::from_ref(&key))?;
            let bound_rows = converter.convert_columns(std::slice::from_ref(&bound))?;
            let out = self.per_partition(|part| {
                let mut v = Vec::with_capacity(part.len());
                for i in part.clone() {
                    if raw.is_null(i) || bound.is_null(i) {
                        let peers = if is_start {
                            self.peer_start[i]
                        } else {
                            self.peer_end[i]
                        };
                        v.push(peers);
                        continue;
                    }
                    let b = bound_rows.row(i);
                    // Keys ascend in row form within the partition, NULLs included (they sort
                    // at the end the ORDER BY puts them, so no bound reaches them).
                    let (mut lo, mut hi) = (part.start, part.end);
                    while lo < hi {
                        let mid = lo + (hi - lo) / 2;
                        let k = key_rows.row(mid);
                        let before = if is_start { k < b } else { k <= b };
                        if before {
                            lo = mid + 1;
                        } else {
                            hi = mid;
                        }
                    }
                    v.push(lo as u32);
                }
                Ok(v)
            })?;
            Ok(Some(out))
        };
        Ok(RangeEnds {
            start: find(&frame.range_start, true)?,
            end: find(&frame.range_end, false)?,
        })
    }

    /// Folds every row's frame into a state: `add` takes in one sorted position. The state
    /// carries on while the frame's start stays and its end grows, and restarts otherwise.
    fn frame_fold<S: Clone + Send + Sync>(
        &self,
        frame: &WindowFrame,
        init: S,
        add: impl Fn(&mut S, usize) -> Result<()> + Sync + Send,
    ) -> Result<Vec<S>> {
        let ends = self.range_ends(frame)?;
        self.per_partition(|part| {
            let mut out = Vec::with_capacity(part.len());
            let mut state = init.clone();
            let mut cur = part.start..part.start;
            for i in part.clone() {
                let f = self.frame(frame, &ends, &part, i);
                if f.start != cur.start || f.end < cur.end {
                    state = init.clone();
                    cur = f.start..f.start;
                }
                for j in cur.end..f.end {
                    add(&mut state, j)?;
                }
                cur.end = f.end;
                out.push(state.clone());
            }
            Ok(out)
        })
    }

    fn compute(&self, call: &WindowCall) -> Result<ArrayRef> {
        let args = call
            .args
            .iter()
            .map(|a| evaluate(a, self.batch))
            .collect::<Result<Vec<_>>>()?;
        let arg = |k: usize| {
            args.get(k).ok_or_else(|| {
                Error::Internal(format!("{} without argument {k}", call.func.name()))
            })
        };
        Ok(match call.func {
            WindowFunc::RowNumber => int64(
                self.per_partition(|p| Ok(p.clone().map(|i| (i - p.start + 1) as i64).collect()))?,
            ),
            WindowFunc::Rank => int64(self.per_partition(|p| {
                Ok(p.clone()
                    .map(|i| (self.peer_start[i] as usize - p.start + 1) as i64)
                    .collect())
            })?),
            WindowFunc::DenseRank => int64(self.per_partition(|p| {
                let mut rank = 0i64;
                Ok(p.clone()
                    .map(|i| {
                        if self.peer_start[i] as usize == i {
                            rank += 1;
                        }
                        rank
                    })
                    .collect())
            })?),
            WindowFunc::PercentRank => float64(self.per_partition(|p| {
                let n = p.len();
                Ok(p.clone()
                    .map(|i| {
                        if n <= 1 {
                            0.0
                        } else {
                            (self.peer_start[i] as usize - p.start) as f64 / (n - 1) as f64
                        }
                    })
                    .collect())
            })?),
            WindowFunc::CumeDist => float64(self.per_partition(|p| {
                let n = p.len() as f64;
                Ok(p.clone()
                    .map(|i| (self.peer_end[i] as usize - p.start) as f64 / n)
                    .collect())
            })?),
            WindowFunc::Ntile => {
                let buckets = to_i64(arg(0)?)?;
                let vals = self.per_partition(|p| ntile(&buckets, p))?;
                Arc::new(Int32Array::from(vals))
            }
            WindowFunc::Lag | WindowFunc::Lead => self.lag_lead(call.func, &args)?,
            WindowFunc::FirstValue | WindowFunc::LastValue | WindowFunc::NthValue => {
                let nth = match call.func {
                    WindowFunc::NthValue => Some(to_i64(arg(1)?)?),
                    _ => None,
                };
                let last = call.func == WindowFunc::LastValue;
                let ends = self.range_ends(&call.frame)?;
                let idx = self.per_partition(|p| {
                    let mut out = Vec::with_capacity(p.len());
                    for i in p.clone() {
                        let f = self.frame(&call.frame, &ends, &p, i);
                        let pos = match &nth {
                            None if f.is_empty() => None,
                            None if last => Some(f.end - 1),
                            None => Some(f.start),
                            Some(ns) => {
                                if ns.is_null(i) {
                                    None
                                } else {
                                    let k = ns.value(i);
                                    if k <= 0 {
                                        return Err(Error::InvalidNthValueArgument);
                                    }
                                    let k = usize::try_from(k - 1).unwrap_or(usize::MAX);
                                    (k < f.len()).then(|| f.start + k)
                                }
                            }
                        };
                        out.push(pos.map(|x| x as u32));
                    }
                    Ok(out)
                })?;
                arrow_select::take::take(arg(0)?.as_ref(), &UInt32Array::from(idx), None)?
            }
            WindowFunc::RatioToReport => {
                let a = arg(0)?;
                let v = to_f64(a, call.args[0].ty());
                float64_opt(self.per_partition(|p| {
                    let sum: f64 = p
                        .clone()
                        .filter(|i| v.is_valid(*i))
                        .map(|i| v.value(i))
                        .sum();
                    Ok(p.clone()
                        .map(|i| (v.is_valid(i) && sum != 0.0).then(|| v.value(i) / sum))
                        .collect())
                })?)
            }
            WindowFunc::Agg(func) => self.frame_aggregate(call, func, args.first())?,
        })
    }

    fn lag_lead(&self, func: WindowFunc, args: &[ArrayRef]) -> Result<ArrayRef> {
        let value = args
            .first()
            .ok_or_else(|| Error::Internal("lag without argument".into()))?;
        let offsets = args.get(1).map(to_i64).transpose()?;
        let mut idx: Vec<Option<u32>> = Vec::with_capacity(value.len());
        let mut use_default: Vec<bool> = Vec::with_capacity(value.len());
        let per = self.per_partition(|p| {
            let mut out = Vec::with_capacity(p.len());
            for i in p.clone() {
                let off = match &offsets {
                    Some(o) if o.is_null(i) => {
                        out.push((None, false));
                        continue;
                    }
                    Some(o) => o.value(i),
                    None => 1,
                };
                let target = if func == WindowFunc::Lag {
                    (i as i64).checked_sub(off)
                } else {
                    (i as i64).checked_add(off)
                };
                match target {
                    Some(t) if t >= p.start as i64 && t < p.end as i64 => {
                        out.push((Some(t as u32), false))
                    }
                    _ => out.push((None, true)),
                }
            }
            Ok(out)
        })?;
        for (i, d) in per {
            idx.push(i);
            use_default.push(d);
        }
        let taken = arrow_select::take::take(value.as_ref(), &UInt32Array::from(idx), None)?;
        match args.get(2) {
            Some(default) if use_default.iter().any(|d| *d) => Ok(arrow_select::zip::zip(
                &BooleanArray::from(use_default),
                default,
                &taken,
            )?),
            _ => Ok(taken),
        }
    }

    fn frame_aggregate(
        &self,
        call: &WindowCall,
        func: AggFunc,
        arg: Option<&ArrayRef>,
    ) -> Result<ArrayRef> {
        let frame = &call.frame;
        let arg_ty = call.args.first().map(|a| a.ty());
        let need = || Error::Internal(format!("{} without an argument", call.func.name()));
        let agg_call = AggCall::new(func, call.args.first().cloned(), false, call.ty);
        Ok(match func {
            AggFunc::CountStar => int64(self.frame_fold(frame, 0i64, |s, _| {
                *s += 1;
                Ok(())
            })?),
            AggFunc::Count => {
                let a = arg.ok_or_else(need)?;
                int64(self.frame_fold(frame, 0i64, |s, j| {
                    if a.is_valid(j) {
                        *s += 1;
                    }
                    Ok(())
                })?)
            }
            AggFunc::Sum | AggFunc::Avg
                if matches!(arg_ty, Some(SqlType::Real | SqlType::Double)) =>
            {
                let a = arg.ok_or_else(need)?;
                let v = to_f64(a, arg_ty.unwrap_or(SqlType::Double));
                let states = self.frame_fold(frame, (0.0f64, 0i64), |s, j| {
                    if v.is_valid(j) {
                        s.0 += v.value(j);
                        s.1 += 1;
                    }
                    Ok(())
                })?;
                let (sums, counts) = states.into_iter().unzip();
                finish_accumulator(&agg_call, Accumulator::SumFloat { sums, counts })?
            }
            AggFunc::Sum | AggFunc::Avg if arg_ty == Some(SqlType::Interval) => {
                let a = arg.ok_or_else(need)?;
                let v = a.as_primitive::<arrow_array::types::IntervalMonthDayNanoType>();
                let states = self.frame_fold(
                    frame,
                    (crate::types::temporal::Interval::default(), 0i64),
                    |s, j| {
                        if v.is_valid(j) {
                            s.0 =
                                s.0.checked_add(crate::types::temporal::Interval::from_arrow(
                                    v.value(j),
                                ))?;
                            s.1 += 1;
                        }
                        Ok(())
                    },
                )?;
                let (sums, counts) = states.into_iter().unzip();
                finish_accumulator(&agg_call, Accumulator::SumInterval { sums, counts })?
            }
            AggFunc::Sum | AggFunc::Avg => {
                let a = arg.ok_or_else(need)?;
                let vals: Vec<Option<i128>> = match arg_ty {
                    Some(SqlType::Decimal { .. }) => a
                        .as_primitive::<Decimal128Type>()
                        .iter()
                        .collect::<Vec<_>>(),
                    _ => to_i64(a)?.iter().map(|v| v.map(i128::from)).collect(),
                };
                let states = self.frame_fold(frame, (0i128, 0i64), |s, j| {
                    if let Some(v) = vals[j] {
                        s.0 = s.0.checked_add(v).ok_or_else(|| Error::NumericOutOfRange {
                            message: "numeric value out of range".into(),
                        })?;
                        s.1 += 1;
                    }
                    Ok(())
                })?;
                let (sums, counts) = states.into_iter().unzip();
                finish_accumulator(&agg_call, Accumulator::SumExact { sums, counts })?
            }
            AggFunc::Min | AggFunc::Max => {
                let a = arg.ok_or_else(need)?;
                let key = crate::kernels::interval::order_key(a)?;
                let rows = RowConverter::new(vec![SortField::new(key.data_type().clone())])?
                    .convert_columns(std::slice::from_ref(&key))?;
                let max = func == AggFunc::Max;
                let best = self.frame_fold(frame, None::<u32>, |s, j| {
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
                })?;
                arrow_select::take::take(a.as_ref(), &UInt32Array::from(best), None)?
            }
            other => {
                return Err(Error::Internal(format!(
                    "{other:?} is not a window aggregate"
                )))
            }
        })
    }
}

/// NTILE for one partition, as PostgreSQL computes it: the bucket count is read at the
/// partition's first row whose argument is not NULL; the first `rows % buckets` buckets get
/// one row more than the others.
fn ntile(buckets: &Int64Array, p: Range<usize>) -> Result<Vec<Option<i32>>> {
    let total = p.len() as i64;
    let mut out = Vec::with_capacity(p.len());
    // (current bucket, rows in it so far, rows per bucket, buckets that get one more)
    let mut state: Option<(i64, i64, i64, i64)> = None;
    for i in p {
        if state.is_none() {
            if buckets.is_null(i) {
                out.push(None);
                continue;
            }
            let k = buckets.value(i);
            if k <= 0 {
                return Err(Error::InvalidNtileArgument);
            }
            let mut boundary = total / k;
            let mut remainder = 0;
            if boundary <= 0 {
                boundary = 1;
            } else {
                remainder = total % k;
                if remainder != 0 {
                    boundary += 1;
                }
            }
            state = Some((1, 0, boundary, remainder));
        }
        let Some((bucket, in_bucket, boundary, remainder)) = state.as_mut() else {
            continue;
        };
        *in_bucket += 1;
        if *boundary < *in_bucket {
            if *remainder != 0 && *bucket == *remainder {
                *remainder = 0;
                *boundary -= 1;
            }
            *bucket += 1;
            *in_bucket = 1;
        }
        out.push(Some(i32::try_from(*bucket).unwrap_or(i32::MAX)));
    }
    Ok(out)
}

fn int64(v: Vec<i64>) -> ArrayRef {
    Arc::new(Int64Array::from(v))
}

fn float64(v: Vec<f64>) -> ArrayRef {
    Arc::new(Float64Array::from(v))
}

fn float64_opt(v: Vec<Option<f64>>) -> ArrayRef {
    Arc::new(Float64Array::from(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Ten rows in four buckets: PostgreSQL's ntile gives the first two buckets three rows.
    #[test]
    fn ntile_spreads_the_remainder_over_the_first_buckets() {
        let buckets = Int64Array::from(vec![4; 10]);
        let got: Vec<Option<i32>> = ntile(&buckets, 0..10).unwrap();
        let want: Vec<Option<i32>> = [1, 1, 1, 2, 2, 2, 3, 3, 4, 4].map(Some).to_vec();
        assert_eq!(got, want);
    }

    // More buckets than rows: every row is its own bucket.
    #[test]
    fn ntile_with_more_buckets_than_rows() {
        let buckets = Int64Array::from(vec![5; 3]);
        let got = ntile(&buckets, 0..3).unwrap();
        assert_eq!(got, vec![Some(1), Some(2), Some(3)]);
    }

    // A zero bucket count is an error, not a panic.
    #[test]
    fn ntile_rejects_zero_buckets() {
        let buckets = Int64Array::from(vec![0; 2]);
        assert!(matches!(
            ntile(&buckets, 0..2),
            Err(Error::InvalidNtileArgument)
        ));
    }
}
