//! Set-returning functions (`generate_series`, `unnest`, `generate_subscripts`,
//! `pg_partition_ancestors`, `pg_get_keywords`) in FROM and in the select list:
//! each input row is repeated once per row its calls produce, with their values beside it.
//!
//! Several calls run in lockstep, as PostgreSQL's `ROWS FROM (...)` and a select list with
//! several set-returning functions: an input row yields as many rows as its longest call, and
//! shorter calls are padded with NULLs. An input row for which every call is empty yields no
//! row. The work is per batch: arguments are evaluated once per batch, then the output is
//! gathered with `take`.

use std::sync::Arc;

use arrow_array::builder::{Decimal128Builder, Int32Builder, Int64Builder};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal128Type, Int16Type, Int32Type, Int64Type, IntervalMonthDayNanoType,
    TimestampMicrosecondType,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    UInt64Array,
};
use basalt_storage::SqlType;

use super::make_batch;
use crate::error::{Error, Result};
use crate::kernels::dates::add_interval;
use crate::kernels::eval::evaluate;
use crate::planner::plan::{KeywordColumn, SetCall, SetFunc};
use crate::types::temporal::Interval;

/// Most rows one input batch may expand to; past it the query fails (54000) rather than
/// exhausting memory.
const EXPANSION_ROWS_MAX: usize = 1 << 28;

/// Runs `calls` over every input batch; the output is the input's columns, one column per
/// call and, with `ordinality`, the row's position within its input row's rows (from 1).
pub fn set_functions(
    input: Vec<RecordBatch>,
    calls: &[SetCall],
    ordinality: bool,
    interrupt: &crate::interrupt::Interrupt,
) -> Result<Vec<RecordBatch>> {
    let mut out = Vec::with_capacity(input.len());
    for batch in &input {
        interrupt.check()?;
        let rows = batch.num_rows();
        let mut produced: Vec<CallOutput> = Vec::with_capacity(calls.len());
        for call in calls {
            let args = call
                .args
                .iter()
                .map(|a| evaluate(a, batch))
                .collect::<Result<Vec<_>>>()?;
            produced.push(run_call(call, &args, rows)?);
        }
        // Rows per input row: the longest call's.
        let mut counts = vec![0usize; rows];
        for p in &produced {
            for (c, n) in counts.iter_mut().zip(p.counts.iter()) {
                *c = (*c).max(*n);
            }
        }
        let total: usize = counts.iter().sum();
        if total > EXPANSION_ROWS_MAX {
            return Err(Error::ProgramLimitExceeded {
                message: format!(
                    "set-returning functions produce more than {EXPANSION_ROWS_MAX} rows"
                ),
            });
        }
        let mut repeat = Vec::with_capacity(total);
        for (i, n) in counts.iter().enumerate() {
            repeat.extend(std::iter::repeat_n(i as u64, *n));
        }
        let repeat = UInt64Array::from(repeat);
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns() + calls.len() + 1);
        for c in batch.columns() {
            columns.push(arrow_select::take::take(c.as_ref(), &repeat, None)?);
        }
        for (p, call) in produced.iter().zip(calls) {
            // Position of each output row's value in the call's values, or NULL (padding).
            let mut idx: Vec<Option<u64>> = Vec::with_capacity(total);
            for (i, n) in counts.iter().enumerate() {
                let have = p.counts[i];
                let start = p.starts[i];
                for k in 0..*n {
                    idx.push((k < have).then_some((start + k) as u64));
                }
            }
            let idx = UInt64Array::from(idx);
            let values = arrow_select::take::take(p.values.as_ref(), &idx, None)?;
            let values = if values.data_type() != &call.ty.arrow_type() {
                arrow_cast::cast(&values, &call.ty.arrow_type())?
            } else {
                values
            };
            columns.push(values);
        }
        if ordinality {
            let mut ord = Vec::with_capacity(total);
            for n in &counts {
                ord.extend(1..=(*n as i64));
            }
            columns.push(Arc::new(Int64Array::from(ord)));
        }
        out.push(make_batch(columns, total)?);
    }
    Ok(out)
}

/// One call's output over a batch: for input row `i`, `counts[i]` values starting at
/// `starts[i]` in `values`.
struct CallOutput {
    counts: Vec<usize>,
    starts: Vec<usize>,
    values: ArrayRef,
}

fn run_call(call: &SetCall, args: &[ArrayRef], rows: usize) -> Result<CallOutput> {
    match call.func {
        SetFunc::Unnest => unnest(args, rows),
        SetFunc::GenerateSubscripts => subscripts(args, rows),
        SetFunc::Keywords(column) => Ok(keywords(column, rows)),
        SetFunc::PartitionAncestors => Ok(CallOutput {
            counts: vec![0; rows],
            starts: vec![0; rows],
            values: Arc::new(arrow_array::Int32Array::from(Vec::<i32>::new())),
        }),
        SetFunc::GenerateSeries => match call.ty {
            SqlType::Decimal { precision, scale } => series_decimal(args, rows, precision, scale),
            SqlType::BigInt | SqlType::Integer => series_int(args, rows, call.ty),
            SqlType::Timestamp | SqlType::Timestamptz => series_timestamp(args, rows, call.ty),
            other => Err(Error::Internal(format!(
                "generate_series over {other:?} reached execution"
            ))),
        },
    }
}

/// `pg_get_keywords()`'s column `column`: every keyword, for each input row.
fn keywords(column: KeywordColumn, rows: usize) -> CallOutput {
    let all = crate::kernels::keywords::KEYWORDS;
    let values: ArrayRef = match column {
        KeywordColumn::BareLabel => Arc::new(BooleanArray::from_iter(
            all.iter().map(|k| Some(k.bare_label)),
        )),
        KeywordColumn::Word => Arc::new(StringArray::from_iter_values(all.iter().map(|k| k.word))),
        KeywordColumn::Catcode => Arc::new(StringArray::from_iter_values(
            all.iter().map(|k| k.category.code().to_string()),
        )),
        KeywordColumn::Catdesc => Arc::new(StringArray::from_iter_values(
            all.iter().map(|k| k.category.description()),
        )),
        KeywordColumn::Baredesc => Arc::new(StringArray::from_iter_values(
            all.iter().map(|k| k.bare_label_description()),
        )),
    };
    CallOutput {
        counts: vec![all.len(); rows],
        starts: vec![0; rows],
        values,
    }
}

fn unnest(args: &[ArrayRef], rows: usize) -> Result<CallOutput> {
    let [list] = args else {
        return Err(Error::Internal("unnest takes one array per call".into()));
    };
    let list = list
        .as_list_opt::<i32>()
        .ok_or_else(|| Error::Internal(format!("unnest of a {} array", list.data_type())))?;
    let offsets = list.value_offsets();
    let mut counts = Vec::with_capacity(rows);
    let mut starts = Vec::with_capacity(rows);
    for i in 0..rows {
        if list.is_null(i) {
            counts.push(0);
            starts.push(0);
        } else {
            let (a, b) = (offsets[i] as usize, offsets[i + 1] as usize);
            counts.push(b - a);
            starts.push(a);
        }
    }
    Ok(CallOutput {
        counts,
        starts,
        values: list.values().clone(),
    })
}

/// `generate_subscripts(array, dim, reverse, first)`: the subscripts of each row's array in
/// dimension 1, from `first` (1, or 0 for a vector); nothing for a NULL array, a NULL or other
/// dimension (arrays have one), or an empty array.
fn subscripts(args: &[ArrayRef], rows: usize) -> Result<CallOutput> {
    let [list, dims, reverse, first] = args else {
        return Err(Error::Internal("generate_subscripts arity".into()));
    };
    let list = list
        .as_list_opt::<i32>()
        .ok_or_else(|| Error::Internal(format!("generate_subscripts of a {}", list.data_type())))?;
    let dims = int_values(dims)?;
    let reverse: Vec<Option<bool>> = reverse
        .as_boolean_opt()
        .ok_or_else(|| Error::Internal("generate_subscripts reverse flag".into()))?
        .iter()
        .collect();
    let first = int_values(first)?;
    let offsets = list.value_offsets();
    let mut counts = Vec::with_capacity(rows);
    let mut starts = Vec::with_capacity(rows);
    let mut values: Vec<i32> = Vec::new();
    for i in 0..rows {
        let n = if list.is_null(i) || dims[i] != Some(1) || reverse[i].is_none() {
            0
        } else {
            (offsets[i + 1] - offsets[i]) as usize
        };
        check_total(values.len() + n)?;
        starts.push(values.len());
        counts.push(n);
        let low = first[i].unwrap_or(1) as i32;
        let high = low + n as i32 - 1;
        if reverse[i] == Some(true) {
            values.extend((low..=high).rev());
        } else {
            values.extend(low..=high);
        }
    }
    Ok(CallOutput {
        counts,
        starts,
        values: Arc::new(arrow_array::Int32Array::from(values)),
    })
}

/// Integer arguments as i64 per row (NULL: `None`).
fn int_values(a: &ArrayRef) -> Result<Vec<Option<i64>>> {
    Ok(match a.data_type() {
        arrow_schema::DataType::Int16 => a
            .as_primitive::<Int16Type>()
            .iter()
            .map(|v| v.map(i64::from))
            .collect(),
        arrow_schema::DataType::Int32 => a
            .as_primitive::<Int32Type>()
            .iter()
            .map(|v| v.map(i64::from))
            .collect(),
        arrow_schema::DataType::Int64 => a.as_primitive::<Int64Type>().iter().collect(),
        other => {
            return Err(Error::Internal(format!(
                "generate_series argument of type {other}"
            )))
        }
    })
}

fn zero_step() -> Error {
    Error::InvalidParameter {
        message: "step size cannot equal zero".into(),
    }
}

/// Checks the running total of produced values against the expansion limit.
fn check_total(total: usize) -> Result<()> {
    if total > EXPANSION_ROWS_MAX {
        return Err(Error::ProgramLimitExceeded {
            message: format!("set-returning functions produce more than {EXPANSION_ROWS_MAX} rows"),
        });
    }
    Ok(())
}

fn series_int(args: &[ArrayRef], rows: usize, ty: SqlType) -> Result<CallOutput> {
    let vals = args.iter().map(int_values).collect::<Result<Vec<_>>>()?;
    let mut counts = Vec::with_capacity(rows);
    let mut starts = Vec::with_capacity(rows);
    let mut out32 = Int32Builder::new();
    let mut out64 = Int64Builder::new();
    let mut total = 0usize;
    for i in 0..rows {
        starts.push(total);
        let start = vals[0][i];
        let stop = vals[1][i];
        let step = match vals.get(2) {
            Some(s) => s[i],
            None => Some(1),
        };
        let (Some(start), Some(stop), Some(step)) = (start, stop, step) else {
            counts.push(0);
            continue;
        };
        if step == 0 {
            return Err(zero_step());
        }
        // Values computed in i128 so the last step never overflows, as PostgreSQL stops at
        // the type's bound.
        let n: i128 = if (step > 0 && start > stop) || (step < 0 && start < stop) {
            0
        } else {
            (i128::from(stop) - i128::from(start)) / i128::from(step) + 1
        };
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        total = total.saturating_add(n);
        check_total(total)?;
        for k in 0..n {
            let v = i128::from(start) + i128::from(step) * k as i128;
            if ty == SqlType::Integer {
                out32.append_value(v as i32);
            } else {
                out64.append_value(v as i64);
            }
        }
        counts.push(n);
    }
    let values: ArrayRef = if ty == SqlType::Integer {
        Arc::new(out32.finish())
    } else {
        Arc::new(out64.finish())
    };
    Ok(CallOutput {
        counts,
        starts,
        values,
    })
}

/// `generate_series(start, stop, interval)` over timestamps: each value the previous moved by
/// the interval (months first, as `+ interval` does), while it has not passed `stop`.
/// Over TIMESTAMPTZ a fourth argument names the session's zone, in which the steps move the
/// local calendar as `timestamptz + interval` does.
fn series_timestamp(args: &[ArrayRef], rows: usize, ty: SqlType) -> Result<CallOutput> {
    let (start, stop, step, zone) = match args {
        [start, stop, step] => (start, stop, step, None),
        [start, stop, step, zone] => {
            let zone = zone.as_string::<i32>();
            let zone = (!zone.is_empty() && zone.is_valid(0))
                .then(|| crate::kernels::zones::session_zone(zone.value(0)))
                .flatten()
                .map(|(zone, _)| zone)
                .ok_or_else(|| Error::Internal("generate_series without its zone".into()))?;
            (start, stop, step, Some(zone))
        }
        _ => {
            return Err(Error::Internal(
                "timestamp generate_series takes three arguments".into(),
            ))
        }
    };
    let (start, stop) = (
        start.as_primitive::<TimestampMicrosecondType>(),
        stop.as_primitive::<TimestampMicrosecondType>(),
    );
    let step = step.as_primitive::<IntervalMonthDayNanoType>();
    let mut counts = Vec::with_capacity(rows);
    let mut starts = Vec::with_capacity(rows);
    let mut out: Vec<i64> = Vec::new();
    for i in 0..rows {
        starts.push(out.len());
        if start.is_null(i) || stop.is_null(i) || step.is_null(i) {
            counts.push(0);
            continue;
        }
        let (first, last) = (start.value(i), stop.value(i));
        let step = Interval::from_arrow(step.value(i));
        let direction = step.span().signum();
        if direction == 0 {
            return Err(zero_step());
        }
        let before = out.len();
        let mut cur = first;
        while (direction > 0 && cur <= last) || (direction < 0 && cur >= last) {
            out.push(cur);
            check_total(out.len())?;
            let next = match zone {
                Some(zone) => crate::kernels::zones::add_in_zone(zone, cur, step),
                None => add_interval(cur, step),
            };
            // A step past either end of the range is an error even when the series would end
            // there: PostgreSQL moves to the next value before it compares it with the stop.
            cur = next?;
        }
        counts.push(out.len() - before);
    }
    let values = TimestampMicrosecondArray::from(out);
    let values: ArrayRef = match ty.arrow_type() {
        arrow_schema::DataType::Timestamp(_, Some(zone)) => Arc::new(values.with_timezone(zone)),
        _ => Arc::new(values),
    };
    Ok(CallOutput {
        counts,
        starts,
        values,
    })
}

fn series_decimal(args: &[ArrayRef], rows: usize, precision: u8, scale: i8) -> Result<CallOutput> {
    let vals: Vec<Vec<Option<i128>>> = args
        .iter()
        .map(|a| {
            a.as_primitive_opt::<Decimal128Type>()
                .map(|p| p.iter().collect())
                .ok_or_else(|| Error::Internal("generate_series numeric argument".into()))
        })
        .collect::<Result<_>>()?;
    let one = crate::types::datum::pow10(u32::try_from(scale).unwrap_or(0));
    let mut counts = Vec::with_capacity(rows);
    let mut starts = Vec::with_capacity(rows);
    let mut out = Decimal128Builder::new();
    let mut total = 0usize;
    for i in 0..rows {
        starts.push(total);
        let step = match vals.get(2) {
            Some(s) => s[i],
            None => Some(one),
        };
        let (Some(start), Some(stop), Some(step)) = (vals[0][i], vals[1][i], step) else {
            counts.push(0);
            continue;
        };
        if step == 0 {
            return Err(zero_step());
        }
        let mut n = 0usize;
        let mut v = start;
        while (step > 0 && v <= stop) || (step < 0 && v >= stop) {
            out.append_value(v);
            n += 1;
            total += 1;
            check_total(total)?;
            match v.checked_add(step) {
                Some(next) => v = next,
                None => break,
            }
        }
        counts.push(n);
    }
    let values = out.finish().with_precision_and_scale(precision, scale)?;
    Ok(CallOutput {
        counts,
        starts,
        values: Arc::new(values),
    })
}
