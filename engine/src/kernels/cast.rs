//! Casts between SQL types over whole arrays, with PostgreSQL's rounding, range checks and
//! error messages.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    IntervalMonthDayNanoType, Time64MicrosecondType, TimestampMicrosecondType,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, IntervalMonthDayNanoArray, Time64MicrosecondArray,
    TimestampMicrosecondArray,
};
use basalt_storage::types::TIMESTAMPTZ_ZONE;
use basalt_storage::SqlType;

use crate::error::{Error, Result};
use crate::pgtext;
use crate::types::datum::{self, check_decimal_precision, pow10, rescale_decimal};
use crate::types::range::{self, MICROS_PER_DAY};
use crate::types::{display_name, Datum};

fn out_of_range(to: SqlType) -> Error {
    Error::NumericOutOfRange {
        message: format!("{} out of range", display_name(to)),
    }
}

/// Most decimal digits a value of integer type `ty` has.
fn int_digits(ty: SqlType) -> u32 {
    match ty {
        SqlType::SmallInt => 5,
        SqlType::Integer => 10,
        _ => 19,
    }
}

/// Converts `array` (of SQL type `from`) to `to`. `explicit` is true for CAST / `::`, where
/// strings are silently truncated to a declared length; assignments raise an error instead.
pub fn cast_array(
    array: &ArrayRef,
    from: SqlType,
    to: SqlType,
    explicit: bool,
) -> Result<ArrayRef> {
    if from == to && !matches!(to, SqlType::Char { .. } | SqlType::Varchar { .. }) {
        return Ok(array.clone());
    }
    if to.is_string() {
        let strings: ArrayRef =
            if let (SqlType::Char { .. }, false) = (from, matches!(to, SqlType::Char { .. })) {
                // CHAR(n) loses its trailing blanks when it becomes VARCHAR or TEXT.
                let src = array.as_string::<i32>();
                let out: arrow_array::StringArray = src
                    .iter()
                    .map(|v| v.map(|s| s.trim_end_matches(' ')))
                    .collect();
                Arc::new(out)
            } else if from.is_string() {
                array.clone()
            } else {
                Arc::new(to_text(array, from))
            };
        return fit_string(&strings, to, explicit);
    }
    if from.is_string() {
        return from_text(array, to);
    }
    if let (SqlType::Array { element: f }, SqlType::Array { element: t }) = (from, to) {
        // Element by element: the offsets and NULLs stay.
        let list = array.as_list::<i32>();
        let values = cast_array(list.values(), f.sql_type(), t.sql_type(), explicit)?;
        let field = Arc::new(arrow_schema::Field::new(
            "item",
            t.sql_type().arrow_type(),
            true,
        ));
        return Ok(Arc::new(arrow_array::ListArray::try_new(
            field,
            list.offsets().clone(),
            values,
            list.nulls().cloned(),
        )?));
    }
    match (from, to) {
        (f, t) if is_int(f) && is_int(t) => int_to_int(array, f, t),
        (f, SqlType::Decimal { precision, scale }) if is_int(f) => {
            let ints = to_i64(array)?;
            let factor = pow10(scale.max(0) as u32);
            if int_digits(f) + scale.max(0) as u32 <= u32::from(precision) {
                // Every value fits: no per-row check.
                let out: Decimal128Array = ints.unary(|v| v as i128 * factor);
                return Ok(Arc::new(out.with_precision_and_scale(precision, scale)?));
            }
            let out: Decimal128Array = ints
                .iter()
                .map(|v| {
                    v.map(|v| {
                        let d = (v as i128)
                            .checked_mul(factor)
                            .ok_or_else(|| out_of_range(to))?;
                        check_decimal_precision(d, precision, scale)?;
                        Ok(d)
                    })
                    .transpose()
                })
                .collect::<Result<_>>()?;
            Ok(Arc::new(out.with_precision_and_scale(precision, scale)?))
        }
        (SqlType::Decimal { scale: fs, .. }, SqlType::Decimal { precision, scale }) => {
            let src = array.as_primitive::<Decimal128Type>();
            let from_precision = u32::from(src.precision());
            if scale >= fs && from_precision + (scale - fs) as u32 <= u32::from(precision) {
                // Widening: every value fits, no rounding, no per-row check.
                let factor = pow10((scale - fs) as u32);
                let out: Decimal128Array = if factor == 1 {
                    src.clone()
                } else {
                    src.unary(|v| v * factor)
                };
                return Ok(Arc::new(out.with_precision_and_scale(precision, scale)?));
            }
            let out: Decimal128Array = src
                .iter()
                .map(|v| {
                    v.map(|v| {
                        let d = rescale_decimal(v, fs, scale).ok_or_else(|| out_of_range(to))?;
                        check_decimal_precision(d, precision, scale)?;
                        Ok(d)
                    })
                    .transpose()
                })
                .collect::<Result<_>>()?;
            Ok(Arc::new(out.with_precision_and_scale(precision, scale)?))
        }
        (SqlType::Decimal { scale, .. }, t) if is_int(t) => {
            let src = array.as_primitive::<Decimal128Type>();
            let (lo, hi) = datum::int_range(t);
            let vals: Vec<Option<i64>> = src
                .iter()
                .map(|v| {
                    v.map(|v| {
                        let r = rescale_decimal(v, scale, 0).ok_or_else(|| out_of_range(t))?;
                        if r < lo as i128 || r > hi as i128 {
                            return Err(out_of_range(t));
                        }
                        Ok(r as i64)
                    })
                    .transpose()
                })
                .collect::<Result<_>>()?;
            Ok(ints_to_array(vals, t))
        }
        (SqlType::Decimal { scale, .. }, SqlType::Real | SqlType::Double) => {
            let src = array.as_primitive::<Decimal128Type>();
            let div = pow10(scale.max(0) as u32) as f64;
            let out: Float64Array = src.iter().map(|v| v.map(|v| v as f64 / div)).collect();
            float64_to(out, to)
        }
        (SqlType::Real | SqlType::Double, SqlType::Decimal { precision, scale }) => {
            let src = to_f64(array, from);
            let factor = pow10(scale.max(0) as u32) as f64;
            let out: Decimal128Array = src
                .iter()
                .map(|v| {
                    v.map(|v| {
                        if !v.is_finite() {
                            return Err(Error::NumericOutOfRange {
                                message: format!("cannot convert {v} to numeric"),
                            });
                        }
                        let scaled = (v * factor).round();
                        if scaled.abs() >= 1e38 {
                            return Err(out_of_range(to));
                        }
                        let d = scaled as i128;
                        check_decimal_precision(d, precision, scale)?;
                        Ok(d)
                    })
                    .transpose()
                })
                .collect::<Result<_>>()?;
            Ok(Arc::new(out.with_precision_and_scale(precision, scale)?))
        }
        (SqlType::Real | SqlType::Double, t) if is_int(t) => {
            let src = to_f64(array, from);
            let (lo, hi) = datum::int_range(t);
            let vals: Vec<Option<i64>> = src
                .iter()
                .map(|v| {
                    v.map(|v| {
                        let r = v.round_ties_even();
                        // i64::MAX is not exactly representable: compare against 2^63.
                        if !r.is_finite() || r < lo as f64 || r >= (hi as f64) + 1.0 {
                            return Err(out_of_range(t));
                        }
                        Ok(r as i64)
                    })
                    .transpose()
                })
                .collect::<Result<_>>()?;
            Ok(ints_to_array(vals, t))
        }
        (f, SqlType::Real | SqlType::Double) if is_int(f) => {
            let ints = to_i64(array)?;
            let out: Float64Array = ints.iter().map(|v| v.map(|v| v as f64)).collect();
            float64_to(out, to)
        }
        (SqlType::Real, SqlType::Double) => Ok(Arc::new(to_f64(array, from))),
        (SqlType::Double, SqlType::Real) => {
            let src = array.as_primitive::<Float64Type>();
            let out: Float32Array = src
                .iter()
                .map(|v| {
                    v.map(|v| {
                        let f = v as f32;
                        if v.is_finite() && f.is_infinite() {
                            return Err(Error::NumericOutOfRange {
                                message: "value out of range: overflow".to_string(),
                            });
                        }
                        Ok(f)
                    })
                    .transpose()
                })
                .collect::<Result<_>>()?;
            Ok(Arc::new(out))
        }
        (f, SqlType::Boolean) if is_int(f) => {
            let ints = to_i64(array)?;
            let out: BooleanArray = ints.iter().map(|v| v.map(|v| v != 0)).collect();
            Ok(Arc::new(out))
        }
        (SqlType::Boolean, t) if is_int(t) => {
            let b = array.as_boolean();
            Ok(ints_to_array(
                b.iter().map(|v| v.map(|v| v as i64)).collect(),
                t,
            ))
        }
        (SqlType::Date, SqlType::Timestamp) => Ok(Arc::new(dates_to_timestamps(array)?)),
        // The session zone is UTC, so a local timestamp and an instant share their numbers.
        (SqlType::Timestamp, SqlType::Timestamptz) => {
            let t = array.as_primitive::<TimestampMicrosecondType>();
            Ok(Arc::new(t.clone().with_timezone(TIMESTAMPTZ_ZONE)))
        }
        (SqlType::Timestamptz, SqlType::Timestamp) => {
            let t = array.as_primitive::<TimestampMicrosecondType>();
            Ok(Arc::new(t.clone().with_timezone_opt(None::<String>)))
        }
        (SqlType::Date, SqlType::Timestamptz) => Ok(Arc::new(
            dates_to_timestamps(array)?.with_timezone(TIMESTAMPTZ_ZONE),
        )),
        (SqlType::Timestamptz, SqlType::Date) => {
            let t = array.as_primitive::<TimestampMicrosecondType>();
            let out: Date32Array = t
                .iter()
                .map(|v| v.map(|v| v.div_euclid(MICROS_PER_DAY) as i32))
                .collect();
            Ok(Arc::new(out))
        }
        (SqlType::Timestamp | SqlType::Timestamptz, SqlType::Time) => {
            let t = array.as_primitive::<TimestampMicrosecondType>();
            let out: Time64MicrosecondArray = t
                .iter()
                .map(|v| v.map(|v| v.rem_euclid(MICROS_PER_DAY)))
                .collect();
            Ok(Arc::new(out))
        }
        (SqlType::Timestamp, SqlType::Date) => {
            let t = array.as_primitive::<TimestampMicrosecondType>();
            let out: Date32Array = t
                .iter()
                .map(|v| v.map(|v| v.div_euclid(MICROS_PER_DAY) as i32))
                .collect();
            Ok(Arc::new(out))
        }
        _ => Err(Error::CannotCoerce {
            message: format!(
                "cannot cast type {} to {}",
                display_name(from),
                display_name(to)
            ),
            position: None,
        }),
    }
}

fn is_int(t: SqlType) -> bool {
    matches!(t, SqlType::SmallInt | SqlType::Integer | SqlType::BigInt)
}

/// Any integer array widened to i64.
pub fn to_i64(array: &ArrayRef) -> Result<Int64Array> {
    Ok(match array.data_type() {
        arrow_schema::DataType::Int16 => array.as_primitive::<Int16Type>().unary(|v| v as i64),
        arrow_schema::DataType::Int32 => array.as_primitive::<Int32Type>().unary(|v| v as i64),
        arrow_schema::DataType::Int64 => array.as_primitive::<Int64Type>().clone(),
        other => return Err(Error::Internal(format!("to_i64 on {other}"))),
    })
}

/// A REAL or DOUBLE array as f64.
pub fn to_f64(array: &ArrayRef, from: SqlType) -> Float64Array {
    if from == SqlType::Real {
        array.as_primitive::<Float32Type>().unary(|v| v as f64)
    } else {
        array.as_primitive::<Float64Type>().clone()
    }
}

fn float64_to(a: Float64Array, to: SqlType) -> Result<ArrayRef> {
    if to == SqlType::Real {
        Ok(Arc::new(a.unary::<_, Float32Type>(|v| v as f32)))
    } else {
        Ok(Arc::new(a))
    }
}

/// Builds an integer array of type `t` from i64 values already range-checked for `t`.
pub fn ints_to_array(vals: Vec<Option<i64>>, t: SqlType) -> ArrayRef {
    match t {
        SqlType::SmallInt => Arc::new(
            vals.into_iter()
                .map(|v| v.map(|v| v as i16))
                .collect::<Int16Array>(),
        ),
        SqlType::Integer => Arc::new(
            vals.into_iter()
                .map(|v| v.map(|v| v as i32))
                .collect::<Int32Array>(),
        ),
        _ => Arc::new(vals.into_iter().collect::<Int64Array>()),
    }
}

fn int_to_int(array: &ArrayRef, _from: SqlType, to: SqlType) -> Result<ArrayRef> {
    let ints = to_i64(array)?;
    let (lo, hi) = datum::int_range(to);
    let vals: Vec<Option<i64>> = ints
        .iter()
        .map(|v| {
            v.map(|v| {
                if v < lo || v > hi {
                    Err(out_of_range(to))
                } else {
                    Ok(v)
                }
            })
            .transpose()
        })
        .collect::<Result<_>>()?;
    Ok(ints_to_array(vals, to))
}

/// Text form of every value (PostgreSQL's output functions).
fn to_text(array: &ArrayRef, from: SqlType) -> arrow_array::StringArray {
    let mut b = StringBuilder::with_capacity(array.len(), array.len() * 8);
    let mut s = String::new();
    for i in 0..array.len() {
        if array.is_null(i) {
            b.append_null();
        } else if from == SqlType::Boolean {
            // boolean's text cast spells the words out, unlike its output function.
            b.append_value(if array.as_boolean().value(i) {
                "true"
            } else {
                "false"
            });
        } else {
            s.clear();
            pgtext::write_value(&mut s, array.as_ref(), i, from, pgtext::Zone::UTC);
            b.append_value(&s);
        }
    }
    b.finish()
}

/// Applies CHAR(n) padding and VARCHAR(n)/CHAR(n) length limits (lengths in characters).
fn fit_string(array: &ArrayRef, to: SqlType, explicit: bool) -> Result<ArrayRef> {
    let (limit, pad) = match to {
        SqlType::Char { length } => (length as usize, true),
        SqlType::Varchar { length } => (length as usize, false),
        _ => return Ok(array.clone()),
    };
    let src = array.as_string::<i32>();
    // Already fitting (every VARCHAR value at most `limit` bytes, every CHAR value exactly
    // `limit` ASCII bytes): the array stays as it is.
    let fits = |v: &str| {
        if pad {
            v.len() == limit && v.is_ascii()
        } else {
            v.len() <= limit
        }
    };
    if src.iter().flatten().all(fits) {
        return Ok(array.clone());
    }
    let mut b = StringBuilder::with_capacity(src.len(), src.value_data().len());
    let mut padded = String::new();
    for v in src.iter() {
        let Some(v) = v else {
            b.append_null();
            continue;
        };
        let chars = if v.is_ascii() {
            v.len()
        } else {
            v.chars().count()
        };
        if chars > limit {
            let cut: String = v.chars().take(limit).collect();
            // PostgreSQL lets an assignment drop trailing blanks beyond the limit.
            if !explicit && !v.chars().skip(limit).all(|c| c == ' ') {
                return Err(Error::StringTooLong {
                    message: format!("value too long for type {}", to.pg_name()),
                });
            }
            b.append_value(&cut);
        } else if pad && chars < limit {
            padded.clear();
            padded.push_str(v);
            padded.extend(std::iter::repeat_n(' ', limit - chars));
            b.append_value(&padded);
        } else {
            b.append_value(v);
        }
    }
    Ok(Arc::new(b.finish()))
}

/// Reads every string with `to`'s input function.
fn from_text(array: &ArrayRef, to: SqlType) -> Result<ArrayRef> {
    let src = array.as_string::<i32>();
    let datums: Vec<Datum> = src
        .iter()
        .map(|v| match v {
            None => Ok(Datum::Null),
            Some(s) => Datum::parse(s, to),
        })
        .collect::<Result<_>>()?;
    datums_to_array(&datums, to)
}

/// Builds an array of type `ty` from values; each value must already be of `ty`'s family
/// (a decimal at any scale is rescaled, an integer is range-checked).
pub fn datums_to_array(values: &[Datum], ty: SqlType) -> Result<ArrayRef> {
    let mismatch = |d: &Datum| Error::Internal(format!("datum {d:?} does not fit {ty}"));
    Ok(match ty {
        SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => {
            let (lo, hi) = datum::int_range(ty);
            let vals = values
                .iter()
                .map(|d| match d {
                    Datum::Null => Ok(None),
                    Datum::Int(v) if *v >= lo && *v <= hi => Ok(Some(*v)),
                    Datum::Int(_) => Err(out_of_range(ty)),
                    other => Err(mismatch(other)),
                })
                .collect::<Result<Vec<_>>>()?;
            ints_to_array(vals, ty)
        }
        SqlType::Decimal { precision, scale } => {
            let arr: Decimal128Array = values
                .iter()
                .map(|d| match d {
                    Datum::Null => Ok(None),
                    Datum::Decimal(v, s) => {
                        let r = rescale_decimal(*v, *s, scale).ok_or_else(|| out_of_range(ty))?;
                        check_decimal_precision(r, precision, scale)?;
                        Ok(Some(r))
                    }
                    Datum::Int(v) => {
                        let r = (*v as i128)
                            .checked_mul(pow10(scale.max(0) as u32))
                            .ok_or_else(|| out_of_range(ty))?;
                        check_decimal_precision(r, precision, scale)?;
                        Ok(Some(r))
                    }
                    other => Err(mismatch(other)),
                })
                .collect::<Result<_>>()?;
            Arc::new(arr.with_precision_and_scale(precision, scale)?)
        }
        SqlType::Real => Arc::new(
            values
                .iter()
                .map(|d| match d {
                    Datum::Null => Ok(None),
                    Datum::Float(v) => Ok(Some(*v as f32)),
                    other => Err(mismatch(other)),
                })
                .collect::<Result<Float32Array>>()?,
        ),
        SqlType::Double => Arc::new(
            values
                .iter()
                .map(|d| match d {
                    Datum::Null => Ok(None),
                    Datum::Float(v) => Ok(Some(*v)),
                    other => Err(mismatch(other)),
                })
                .collect::<Result<Float64Array>>()?,
        ),
        SqlType::Boolean => {
            let mut b = BooleanBuilder::with_capacity(values.len());
            for d in values {
                match d {
                    Datum::Null => b.append_null(),
                    Datum::Boolean(v) => b.append_value(*v),
                    other => return Err(mismatch(other)),
                }
            }
            Arc::new(b.finish())
        }
        SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text => {
            let mut b = StringBuilder::new();
            for d in values {
                match d {
                    Datum::Null => b.append_null(),
                    Datum::Text(v) => b.append_value(v),
                    other => return Err(mismatch(other)),
                }
            }
            let arr: ArrayRef = Arc::new(b.finish());
            fit_string(&arr, ty, false)?
        }
        SqlType::Date => Arc::new(
            values
                .iter()
                .map(|d| match d {
                    Datum::Null => Ok(None),
                    Datum::Date(v) => Ok(Some(*v)),
                    other => Err(mismatch(other)),
                })
                .collect::<Result<Date32Array>>()?,
        ),
        SqlType::Timestamp => Arc::new(
            values
                .iter()
                .map(|d| match d {
                    Datum::Null => Ok(None),
                    Datum::Timestamp(v) => Ok(Some(*v)),
                    other => Err(mismatch(other)),
                })
                .collect::<Result<TimestampMicrosecondArray>>()?,
        ),
        SqlType::Time => Arc::new(
            values
                .iter()
                .map(|d| match d {
                    Datum::Null => Ok(None),
                    Datum::Time(v) => Ok(Some(*v)),
                    other => Err(mismatch(other)),
                })
                .collect::<Result<Time64MicrosecondArray>>()?,
        ),
        SqlType::Timestamptz => Arc::new(
            values
                .iter()
                .map(|d| match d {
                    Datum::Null => Ok(None),
                    Datum::Timestamptz(v) => Ok(Some(*v)),
                    other => Err(mismatch(other)),
                })
                .collect::<Result<TimestampMicrosecondArray>>()?
                .with_timezone(TIMESTAMPTZ_ZONE),
        ),
        SqlType::Interval => Arc::new(
            values
                .iter()
                .map(|d| match d {
                    Datum::Null => Ok(None),
                    Datum::Interval(v) => {
                        v.to_arrow()
                            .map(Some)
                            .ok_or_else(|| Error::InvalidDatetime {
                                message: "interval out of range".into(),
                            })
                    }
                    other => Err(mismatch(other)),
                })
                .collect::<Result<IntervalMonthDayNanoArray>>()?,
        ),
        SqlType::Array { element } => {
            let mut offsets = Vec::with_capacity(values.len() + 1);
            offsets.push(0i32);
            let mut items = Vec::new();
            let mut valid = Vec::with_capacity(values.len());
            for d in values {
                match d {
                    Datum::Null => valid.push(false),
                    Datum::Array(v) => {
                        items.extend(v.iter().cloned());
                        valid.push(true);
                    }
                    other => return Err(mismatch(other)),
                }
                let end = i32::try_from(items.len())
                    .map_err(|_| Error::Internal("array of more than 2^31 elements".into()))?;
                offsets.push(end);
            }
            let child = datums_to_array(&items, element.sql_type())?;
            list_array(element, offsets, child, valid)?
        }
    })
}

/// A list array of `element` values: row i holds `child[offsets[i]..offsets[i + 1]]`, NULL
/// where `valid[i]` is false.
pub fn list_array(
    element: basalt_storage::types::ArrayElement,
    offsets: Vec<i32>,
    child: ArrayRef,
    valid: Vec<bool>,
) -> Result<ArrayRef> {
    let field = Arc::new(arrow_schema::Field::new(
        "item",
        element.sql_type().arrow_type(),
        true,
    ));
    let nulls = valid
        .iter()
        .any(|v| !v)
        .then(|| arrow_buffer::NullBuffer::from(valid));
    Ok(Arc::new(arrow_array::ListArray::try_new(
        field,
        arrow_buffer::OffsetBuffer::new(offsets.into()),
        child,
        nulls,
    )?))
}

/// The value at `row` as a Datum.
pub fn datum_at(array: &dyn Array, row: usize, ty: SqlType) -> Datum {
    if array.is_null(row) {
        return Datum::Null;
    }
    match ty {
        SqlType::SmallInt => Datum::Int(array.as_primitive::<Int16Type>().value(row) as i64),
        SqlType::Integer => Datum::Int(array.as_primitive::<Int32Type>().value(row) as i64),
        SqlType::BigInt => Datum::Int(array.as_primitive::<Int64Type>().value(row)),
        SqlType::Decimal { scale, .. } => {
            Datum::Decimal(array.as_primitive::<Decimal128Type>().value(row), scale)
        }
        SqlType::Real => Datum::Float(array.as_primitive::<Float32Type>().value(row) as f64),
        SqlType::Double => Datum::Float(array.as_primitive::<Float64Type>().value(row)),
        SqlType::Boolean => Datum::Boolean(array.as_boolean().value(row)),
        SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text => {
            Datum::Text(array.as_string::<i32>().value(row).to_string())
        }
        SqlType::Date => Datum::Date(array.as_primitive::<Date32Type>().value(row)),
        SqlType::Timestamp => {
            Datum::Timestamp(array.as_primitive::<TimestampMicrosecondType>().value(row))
        }
        SqlType::Time => Datum::Time(array.as_primitive::<Time64MicrosecondType>().value(row)),
        SqlType::Timestamptz => {
            Datum::Timestamptz(array.as_primitive::<TimestampMicrosecondType>().value(row))
        }
        SqlType::Interval => Datum::Interval(crate::types::temporal::Interval::from_arrow(
            array.as_primitive::<IntervalMonthDayNanoType>().value(row),
        )),
        SqlType::Array { element } => {
            let items = array.as_list::<i32>().value(row);
            Datum::Array(
                (0..items.len())
                    .map(|i| datum_at(items.as_ref(), i, element.sql_type()))
                    .collect(),
            )
        }
    }
}

/// Converts a Datum (of any family) to `ty`, through the array cast.
pub fn cast_datum(value: &Datum, from: SqlType, to: SqlType, explicit: bool) -> Result<Datum> {
    if value.is_null() {
        return Ok(Datum::Null);
    }
    let arr = datums_to_array(std::slice::from_ref(value), from)?;
    let out = cast_array(&arr, from, to, explicit)?;
    Ok(datum_at(out.as_ref(), 0, to))
}

/// The natural SQL type of a Datum (NULL has none: TEXT).
pub fn datum_type(d: &Datum) -> SqlType {
    match d {
        Datum::Null | Datum::Text(_) => SqlType::Text,
        Datum::Boolean(_) => SqlType::Boolean,
        Datum::Int(v) if i32::try_from(*v).is_ok() => SqlType::Integer,
        Datum::Int(_) => SqlType::BigInt,
        Datum::Decimal(_, s) => crate::types::numeric(*s),
        Datum::Float(_) => SqlType::Double,
        Datum::Date(_) => SqlType::Date,
        Datum::Timestamp(_) => SqlType::Timestamp,
        Datum::Time(_) => SqlType::Time,
        Datum::Timestamptz(_) => SqlType::Timestamptz,
        Datum::Interval(_) => SqlType::Interval,
        // The first non-NULL element decides; an array of only NULLs is text[].
        Datum::Array(items) => items
            .iter()
            .find(|d| !d.is_null())
            .and_then(|d| datum_type(d).array_of())
            .unwrap_or(SqlType::Array {
                element: basalt_storage::types::ArrayElement::Text,
            }),
    }
}

/// The midnights of a column of dates. The dates are checked once, by their smallest and
/// largest, so the multiplication runs without a branch per row; a date past the end of
/// TIMESTAMP is PostgreSQL's `date out of range for timestamp`.
fn dates_to_timestamps(array: &ArrayRef) -> Result<TimestampMicrosecondArray> {
    let d = array.as_primitive::<Date32Type>();
    range::check_dates_have_timestamps(d.values(), d.nulls())?;
    Ok(d.unary(|v| i64::from(v) * MICROS_PER_DAY))
}
