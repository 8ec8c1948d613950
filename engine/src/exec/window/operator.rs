//! The window operator: sorting, partitions and peer groups, and the ranking and value
//! functions.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, UInt32Array,
};
use arrow_ord::sort::SortOptions;
use arrow_row::{RowConverter, Rows, SortField};
use basalt_storage::SqlType;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::exec::{concat, make_batch};
use crate::kernels::cast::{to_f64, to_i64};
use crate::kernels::eval::evaluate;
use crate::planner::expr::{Expr, WindowCall, WindowFunc};

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
pub(super) struct Ctx<'a> {
    pub(super) batch: &'a RecordBatch,
    pub(super) parts: &'a [Range<usize>],
    /// First and one-past-last sorted position of each row's peer group.
    pub(super) peer_start: &'a [u32],
    pub(super) peer_end: &'a [u32],
    /// Each row's peer group (numbered over all partitions), and the first sorted position
    /// of each group followed by the row count.
    pub(super) peer_group: &'a [u32],
    pub(super) group_starts: &'a [u32],
    /// The window's first ORDER BY key and its direction (RANGE offsets read it).
    pub(super) order_key: Option<(&'a Expr, SortOptions)>,
}

impl Ctx<'_> {
    /// Runs `f` on every partition, in parallel, and concatenates the per-row results.
    pub(super) fn per_partition<T: Send>(
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
                        let f = self.frame_rows(&call.frame, &ends, &p, i);
                        let pos = match &nth {
                            None if last => f.last(),
                            None => f.nth(0),
                            Some(ns) => {
                                if ns.is_null(i) {
                                    None
                                } else {
                                    let k = ns.value(i);
                                    if k <= 0 {
                                        return Err(Error::InvalidNthValueArgument);
                                    }
                                    let k = usize::try_from(k - 1).unwrap_or(usize::MAX);
                                    f.nth(k)
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
            WindowFunc::Agg(func) => self.frame_aggregate(call, func, &args)?,
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
