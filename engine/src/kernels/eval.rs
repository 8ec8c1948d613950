//! Evaluates bound expressions over a batch, producing one array per expression.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{
    new_null_array, Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions, Scalar,
    StringArray, UInt32Array,
};
use arrow_schema::{Schema, SchemaRef};
use basalt_storage::SqlType;

use crate::error::{Error, Result};
use crate::kernels::arith::{arithmetic, negate};
use crate::kernels::cast::{cast_array, datums_to_array};
use crate::kernels::interval::order_key;
use crate::kernels::{datetime, func, string};
use crate::planner::expr::{BinaryOp, Expr, RoundMode, ScalarFunc};

/// Evaluates `expr` over every row of `batch`.
pub fn evaluate(expr: &Expr, batch: &RecordBatch) -> Result<ArrayRef> {
    let n = batch.num_rows();
    match expr {
        Expr::Column { index, .. } => batch
            .columns()
            .get(*index)
            .cloned()
            .ok_or_else(|| Error::Internal(format!("column {index} out of range"))),
        Expr::Literal { value, ty, .. } => {
            let one = datums_to_array(std::slice::from_ref(value), *ty)?;
            repeat(&one, n)
        }
        Expr::Binary {
            op, left, right, ..
        } if op.is_comparison()
            && !matches!(left.ty(), SqlType::Array { .. })
            && (matches!(right.as_ref(), Expr::Literal { .. })
                || matches!(left.as_ref(), Expr::Literal { .. })) =>
        {
            // A constant side is compared as one scalar, not repeated for every row.
            let side = |e: &Expr| -> Result<(ArrayRef, bool)> {
                match e {
                    Expr::Literal { value, ty, .. } => Ok((
                        order_key(&datums_to_array(std::slice::from_ref(value), *ty)?)?,
                        true,
                    )),
                    e => Ok((order_key(&evaluate(e, batch)?)?, false)),
                }
            };
            let (l, l_scalar) = side(left)?;
            let (r, r_scalar) = side(right)?;
            let out = match (l_scalar, r_scalar) {
                (true, false) => compare(*op, &Scalar::new(l), &r)?,
                (false, true) => compare(*op, &l, &Scalar::new(r))?,
                _ => compare(*op, &l, &r)?,
            };
            if l_scalar && r_scalar {
                // Both constant: one row of result, repeated.
                return repeat(&(Arc::new(out) as ArrayRef), n);
            }
            Ok(Arc::new(out))
        }
        Expr::Binary {
            op,
            left,
            right,
            ty,
        } => {
            // A constant operand of arithmetic is one row, applied to every row of the other.
            let arith = matches!(
                op,
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod
            ) || op.is_bitwise();
            let side = |e: &Expr| -> Result<ArrayRef> {
                match e {
                    Expr::Literal { value, ty, .. } if arith && n > 1 => {
                        datums_to_array(std::slice::from_ref(value), *ty)
                    }
                    e => evaluate(e, batch),
                }
            };
            let l = side(left)?;
            let r = side(right)?;
            let out = binary(*op, &l, &r, left.ty(), right.ty(), *ty)?;
            if out.len() != n {
                // Both sides were constants.
                return repeat(&out, n);
            }
            Ok(out)
        }
        Expr::Not(e) => {
            let v = evaluate(e, batch)?;
            Ok(Arc::new(arrow_arith::boolean::not(v.as_boolean())?))
        }
        Expr::Negate(e) => negate(&evaluate(e, batch)?, e.ty()),
        Expr::IsNull { expr, negated } => {
            let v = evaluate(expr, batch)?;
            let out = if *negated {
                arrow_arith::boolean::is_not_null(v.as_ref())?
            } else {
                arrow_arith::boolean::is_null(v.as_ref())?
            };
            Ok(Arc::new(out))
        }
        Expr::Cast { expr, to, explicit } => {
            let v = evaluate(expr, batch)?;
            cast_array(&v, expr.ty(), *to, *explicit)
        }
        Expr::Case {
            whens,
            otherwise,
            ty,
        } => case(whens, otherwise.as_deref(), *ty, batch),
        Expr::Function { func, args, ty } => {
            let vals = args
                .iter()
                .enumerate()
                .map(|(i, a)| match (func, i, a) {
                    // A constant LIKE pattern stays one value, compiled once.
                    (ScalarFunc::Like | ScalarFunc::ILike, 1, Expr::Literal { value, ty, .. }) => {
                        datums_to_array(std::slice::from_ref(value), *ty)
                    }
                    _ => evaluate(a, batch),
                })
                .collect::<Result<Vec<_>>>()?;
            function(*func, &vals, args, *ty, n)
        }
        Expr::Aggregate(_) => Err(Error::Internal(
            "aggregate evaluated outside an aggregation".into(),
        )),
        Expr::Window(_) => Err(Error::Internal(
            "window function evaluated outside a window operator".into(),
        )),
    }
}

/// Evaluates a predicate to a mask where NULL counts as false (as WHERE does).
pub fn evaluate_predicate(expr: &Expr, batch: &RecordBatch) -> Result<BooleanArray> {
    let v = evaluate(expr, batch)?;
    let b = v.as_boolean();
    Ok(match b.nulls() {
        Some(nulls) => {
            let values = b.values() & nulls.inner();
            BooleanArray::new(values, None)
        }
        None => b.clone(),
    })
}

/// Repeats a one-row array `n` times.
pub fn repeat(one: &ArrayRef, n: usize) -> Result<ArrayRef> {
    if n == 1 {
        return Ok(one.clone());
    }
    if one.is_null(0) {
        return Ok(new_null_array(one.data_type(), n));
    }
    let idx = UInt32Array::from(vec![0u32; n]);
    Ok(arrow_select::take::take(one.as_ref(), &idx, None)?)
}

/// A comparison of two arrays, or of an array and a scalar.
fn compare(
    op: BinaryOp,
    l: &dyn arrow_array::Datum,
    r: &dyn arrow_array::Datum,
) -> Result<BooleanArray> {
    use arrow_ord::cmp;
    Ok(match op {
        BinaryOp::Eq => cmp::eq(l, r)?,
        BinaryOp::NotEq => cmp::neq(l, r)?,
        BinaryOp::Lt => cmp::lt(l, r)?,
        BinaryOp::LtEq => cmp::lt_eq(l, r)?,
        BinaryOp::Gt => cmp::gt(l, r)?,
        BinaryOp::GtEq => cmp::gt_eq(l, r)?,
        other => return Err(Error::Internal(format!("{other:?} is not a comparison"))),
    })
}

/// A comparison of two arrays of arrays, element by element as PostgreSQL's array
/// comparison (a NULL element sorts after every value; a shorter array that is a prefix of a
/// longer one sorts first), through arrow-row encodings, which order the same way.
fn compare_arrays(op: BinaryOp, l: &ArrayRef, r: &ArrayRef) -> Result<BooleanArray> {
    let converter = arrow_row::RowConverter::new(vec![arrow_row::SortField::new_with_options(
        l.data_type().clone(),
        arrow_ord::sort::SortOptions {
            descending: false,
            nulls_first: false,
        },
    )])?;
    let (lr, rr) = (
        converter.convert_columns(std::slice::from_ref(l))?,
        converter.convert_columns(std::slice::from_ref(r))?,
    );
    Ok((0..l.len())
        .map(|i| {
            if l.is_null(i) || r.is_null(i) {
                return None;
            }
            let ord = lr.row(i).cmp(&rr.row(i));
            Some(match op {
                BinaryOp::Eq => ord.is_eq(),
                BinaryOp::NotEq => ord.is_ne(),
                BinaryOp::Lt => ord.is_lt(),
                BinaryOp::LtEq => ord.is_le(),
                BinaryOp::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            })
        })
        .collect())
}

fn binary(
    op: BinaryOp,
    l: &ArrayRef,
    r: &ArrayRef,
    lt: SqlType,
    rt: SqlType,
    ty: SqlType,
) -> Result<ArrayRef> {
    Ok(match op {
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => {
            return arithmetic(op, l, r, lt, rt, ty)
        }
        BinaryOp::BitAnd
        | BinaryOp::BitOr
        | BinaryOp::BitXor
        | BinaryOp::ShiftLeft
        | BinaryOp::ShiftRight => return crate::kernels::bitwise::bitwise(op, l, r, ty),
        BinaryOp::Eq
        | BinaryOp::NotEq
        | BinaryOp::Lt
        | BinaryOp::LtEq
        | BinaryOp::Gt
        | BinaryOp::GtEq
            if matches!(lt, SqlType::Array { .. }) =>
        {
            Arc::new(compare_arrays(op, l, r)?)
        }
        BinaryOp::Eq
        | BinaryOp::NotEq
        | BinaryOp::Lt
        | BinaryOp::LtEq
        | BinaryOp::Gt
        | BinaryOp::GtEq => Arc::new(compare(op, &order_key(l)?, &order_key(r)?)?),
        BinaryOp::And => Arc::new(arrow_arith::boolean::and_kleene(
            l.as_boolean(),
            r.as_boolean(),
        )?),
        BinaryOp::Or => Arc::new(arrow_arith::boolean::or_kleene(
            l.as_boolean(),
            r.as_boolean(),
        )?),
        BinaryOp::Concat => {
            let a = l.as_string::<i32>();
            let b = r.as_string::<i32>();
            let out: StringArray = a
                .iter()
                .zip(b.iter())
                .map(|(x, y)| match (x, y) {
                    (Some(x), Some(y)) => Some(format!("{x}{y}")),
                    _ => None,
                })
                .collect();
            Arc::new(out)
        }
    })
}

/// A batch of only the rows where `mask` is true (keeps row count for zero-column batches).
pub fn filter_batch(batch: &RecordBatch, mask: &BooleanArray) -> Result<RecordBatch> {
    if batch.num_columns() == 0 {
        let rows = mask.true_count();
        return Ok(RecordBatch::try_new_with_options(
            batch.schema(),
            vec![],
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?);
    }
    Ok(arrow_select::filter::filter_record_batch(batch, mask)?)
}

/// CASE: each WHEN is tested only on rows no earlier WHEN took, and each THEN is evaluated only
/// on the rows it produces, so `CASE WHEN b = 0 THEN 0 ELSE a / b END` never divides by zero.
fn case(
    whens: &[(Expr, Expr)],
    otherwise: Option<&Expr>,
    ty: SqlType,
    batch: &RecordBatch,
) -> Result<ArrayRef> {
    let n = batch.num_rows();
    // For each row: which branch array it takes its value from, and its row there.
    let mut source: Vec<(usize, usize)> = vec![(0, 0); n];
    let mut arrays: Vec<ArrayRef> = vec![new_null_array(&ty.arrow_type(), 1)];
    // Rows still undecided, as indices into the original batch.
    let mut remaining: Vec<u32> = (0..n as u32).collect();
    for (cond, then) in whens {
        if remaining.is_empty() {
            break;
        }
        let sub = take_rows(batch, &remaining)?;
        let mask = evaluate_predicate(cond, &sub)?;
        let taken = filter_batch(&sub, &mask)?;
        if taken.num_rows() > 0 {
            let values = evaluate(then, &taken)?;
            let slot = arrays.len();
            arrays.push(values);
            let mut k = 0;
            for (i, row) in remaining.iter().enumerate() {
                if mask.value(i) {
                    source[*row as usize] = (slot, k);
                    k += 1;
                }
            }
        }
        remaining = remaining
            .iter()
            .enumerate()
            .filter(|(i, _)| !mask.value(*i))
            .map(|(_, r)| *r)
            .collect();
    }
    if let Some(e) = otherwise {
        if !remaining.is_empty() {
            let sub = take_rows(batch, &remaining)?;
            let values = evaluate(e, &sub)?;
            let slot = arrays.len();
            arrays.push(values);
            for (k, row) in remaining.iter().enumerate() {
                source[*row as usize] = (slot, k);
            }
        }
    }
    let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
    Ok(arrow_select::interleave::interleave(&refs, &source)?)
}

fn take_rows(batch: &RecordBatch, rows: &[u32]) -> Result<RecordBatch> {
    let idx = UInt32Array::from(rows.to_vec());
    if batch.num_columns() == 0 {
        return Ok(RecordBatch::try_new_with_options(
            batch.schema(),
            vec![],
            &RecordBatchOptions::new().with_row_count(Some(rows.len())),
        )?);
    }
    Ok(arrow_select::take::take_record_batch(batch, &idx)?)
}

fn function(
    func: ScalarFunc,
    vals: &[ArrayRef],
    args: &[Expr],
    ty: SqlType,
    n: usize,
) -> Result<ArrayRef> {
    let arg = |i: usize| {
        vals.get(i)
            .ok_or_else(|| Error::Internal(format!("{func:?} is missing argument {i}")))
    };
    match func {
        ScalarFunc::Abs => {
            let a = arg(0)?;
            let neg = negate(a, ty)?;
            let zero = cast_array(
                &datums_to_array(&[crate::types::Datum::Int(0)], SqlType::Integer)?,
                SqlType::Integer,
                ty,
                false,
            )?;
            let zero = repeat(&zero, a.len())?;
            let is_neg = arrow_ord::cmp::lt(a, &zero)?;
            Ok(arrow_select::zip::zip(&is_neg, &neg, a)?)
        }
        ScalarFunc::Length => {
            let a = arg(0)?.as_string::<i32>();
            let out: arrow_array::Int32Array = a
                .iter()
                .map(|v| v.map(|s| s.chars().count() as i32))
                .collect();
            Ok(Arc::new(out))
        }
        ScalarFunc::Upper | ScalarFunc::Lower => {
            let a = arg(0)?.as_string::<i32>();
            let out: StringArray = a
                .iter()
                .map(|v| {
                    v.map(|s| {
                        // Character by character, as PostgreSQL maps case: a character
                        // whose mapping is more than one character (ß) stays as it is.
                        s.chars()
                            .map(|c| {
                                let mut m: Box<dyn Iterator<Item = char>> =
                                    if func == ScalarFunc::Upper {
                                        Box::new(c.to_uppercase())
                                    } else {
                                        Box::new(c.to_lowercase())
                                    };
                                match (m.next(), m.next()) {
                                    (Some(one), None) => one,
                                    _ => c,
                                }
                            })
                            .collect::<String>()
                    })
                })
                .collect();
            Ok(Arc::new(out))
        }
        ScalarFunc::Round => {
            let a = arg(0)?;
            let from = args.first().map(|e| e.ty()).unwrap_or(ty);
            match from {
                SqlType::Decimal { .. } => cast_array(a, from, ty, false),
                _ => {
                    let f = crate::kernels::cast::to_f64(a, from);
                    // PostgreSQL's round(float8) rounds half to even (rint).
                    let out: arrow_array::Float64Array = f.unary(|v: f64| v.round_ties_even());
                    cast_array(&(Arc::new(out) as ArrayRef), SqlType::Double, ty, false)
                }
            }
        }
        ScalarFunc::Like | ScalarFunc::ILike => {
            let constant = matches!(args.get(1), Some(Expr::Literal { .. }));
            string::like(arg(0)?, arg(1)?, constant, func == ScalarFunc::ILike)
        }
        ScalarFunc::Substring => string::substring(arg(0)?, arg(1)?, vals.get(2)),
        ScalarFunc::Extract(field) => {
            let from = args.first().map(|e| e.ty()).unwrap_or(ty);
            datetime::extract(arg(0)?, from, field)
        }
        ScalarFunc::Row(f) => func::evaluate(f, vals, n),
        ScalarFunc::Exact(f) => crate::kernels::exact::evaluate(f, vals, ty, n),
        ScalarFunc::DecimalRound(mode, tens) => {
            let from = args.first().map(|e| e.ty()).unwrap_or(ty);
            decimal_round(arg(0)?, from, ty, mode, tens)
        }
        ScalarFunc::Greatest | ScalarFunc::Least => {
            let mut acc = arg(0)?.clone();
            for v in &vals[1..] {
                // Keep acc where v is NULL or does not beat it; NULLs lose to any value.
                let (vk, acck) = (order_key(v)?, order_key(&acc)?);
                let beats = if func == ScalarFunc::Greatest {
                    arrow_ord::cmp::gt(&vk, &acck)?
                } else {
                    arrow_ord::cmp::lt(&vk, &acck)?
                };
                let acc_null = arrow_arith::boolean::is_null(acc.as_ref())?;
                let take_v = arrow_arith::boolean::or_kleene(&beats, &acc_null)?;
                let take_v = match take_v.nulls() {
                    Some(nulls) => BooleanArray::new(take_v.values() & nulls.inner(), None),
                    None => take_v,
                };
                acc = arrow_select::zip::zip(&take_v, v, &acc)?;
            }
            Ok(acc)
        }
        ScalarFunc::BitNot => crate::kernels::bitwise::bitwise_not(arg(0)?, ty),
        ScalarFunc::Grouping => Err(Error::Internal(
            "GROUPING evaluated outside an aggregation".into(),
        )),
        ScalarFunc::Random => {
            let out: arrow_array::Float64Array = (0..n).map(|_| Some(random_f64())).collect();
            Ok(Arc::new(out))
        }
        ScalarFunc::ClockTimestamp => {
            let out: arrow_array::TimestampMicrosecondArray = (0..n)
                .map(|_| Some(chrono::Utc::now().timestamp_micros()))
                .collect();
            Ok(Arc::new(
                out.with_timezone(basalt_storage::types::TIMESTAMPTZ_ZONE),
            ))
        }
        ScalarFunc::Date(f) => crate::kernels::dates::evaluate(f, vals, n),
        ScalarFunc::Interval(f) => crate::kernels::interval::evaluate(f, vals, ty, n),
        ScalarFunc::Zone(f) => crate::kernels::zones::evaluate(f, vals, ty, n),
        ScalarFunc::Array(f) => {
            let types: Vec<SqlType> = args.iter().map(|e| e.ty()).collect();
            crate::kernels::array::evaluate(f, vals, &types, ty, n)
        }
        ScalarFunc::Sleep(key) => {
            let seconds = arg(0)?;
            let seconds = seconds
                .as_any()
                .downcast_ref::<arrow_array::Float64Array>()
                .ok_or_else(|| Error::Internal("pg_sleep of a non-double".into()))?;
            let mut out = arrow_array::builder::StringBuilder::with_capacity(n, 0);
            for i in 0..n {
                if seconds.is_null(i) {
                    out.append_null();
                    continue;
                }
                let s = seconds.value(i);
                if s > 0.0 {
                    // Past a century the value cannot be waited for anyway.
                    let s = s.min(3.2e9);
                    crate::interrupt::sleep(key, std::time::Duration::from_secs_f64(s))?;
                }
                out.append_value("");
            }
            Ok(Arc::new(out.finish()))
        }
        ScalarFunc::Version => {
            let one: ArrayRef = Arc::new(StringArray::from(vec![crate::version_string()]));
            repeat(&one, n)
        }
    }
}

/// An empty schema, for batches with rows but no columns.
pub fn empty_schema() -> SchemaRef {
    Arc::new(Schema::empty())
}

/// ceil, floor, trunc, round or sign of NUMERIC values, exactly, from scale `from` to `to`'s
/// scale, then to a multiple of 10^`tens` (`round(x, -2)`). A result past `to`'s precision is
/// 22003.
fn decimal_round(
    a: &ArrayRef,
    from: SqlType,
    to: SqlType,
    mode: RoundMode,
    tens: u8,
) -> Result<ArrayRef> {
    let (
        SqlType::Decimal { scale: s_in, .. },
        SqlType::Decimal {
            precision,
            scale: s_out,
        },
    ) = (from, to)
    else {
        return Err(Error::Internal(format!(
            "decimal rounding from {from} to {to}"
        )));
    };
    // Digits dropped below the result's last kept digit; negative when the result has more
    // scale than the input. Every value has at most 38 digits, so dropping 38 drops them all,
    // and 10^38 still fits an i128.
    let max_digits = u32::from(crate::types::NUMERIC_PRECISION);
    let drop = i32::from(s_in) - i32::from(s_out) + i32::from(tens);
    let (down, up) = if drop >= 0 {
        (drop.unsigned_abs().min(max_digits), u32::from(tens))
    } else {
        (0, drop.unsigned_abs())
    };
    let d = 10i128.pow(down);
    let scale_up = 10i128.checked_pow(up);
    let limit = 10i128.pow(u32::from(precision).min(max_digits));
    let of = || Error::NumericOutOfRange {
        message: "numeric field overflow".to_string(),
    };
    let src = a.as_primitive::<arrow_array::types::Decimal128Type>();
    let out: arrow_array::Decimal128Array = src.try_unary(|v| {
        if mode == RoundMode::Sign {
            return Ok(v.signum());
        }
        let (q, r) = (v / d, v % d);
        let q = match mode {
            RoundMode::Trunc | RoundMode::Sign => q,
            RoundMode::Ceil => q + i128::from(r > 0),
            RoundMode::Floor => q - i128::from(r < 0),
            // Half away from zero: |r| >= d / 2, written so that 2|r| cannot overflow.
            RoundMode::Round if r.abs() >= d - r.abs() => q + v.signum(),
            RoundMode::Round => q,
        };
        let v = scale_up.and_then(|m| q.checked_mul(m)).ok_or_else(of)?;
        if v.abs() >= limit {
            return Err(of());
        }
        Ok(v)
    })?;
    Ok(Arc::new(out.with_precision_and_scale(precision, s_out)?))
}

/// A pseudo-random double in [0, 1): xorshift64* over a per-thread state seeded from the clock.
fn random_f64() -> f64 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0x9E37_79B9_7F4A_7C15);
            nanos | 1
        });
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    })
}
