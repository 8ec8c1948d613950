//! Exact integer and NUMERIC functions of PostgreSQL: `gcd`, `lcm`, `div`, `factorial` and the
//! NUMERIC form of `width_bucket`.
//!
//! The binder casts the arguments: integers arrive as BIGINT (Int64), NUMERIC arguments as
//! one NUMERIC type (Decimal128 at one scale), and `width_bucket`'s count as BIGINT. Values are
//! computed as `i128` at that scale, with PostgreSQL's overflow errors for the result type.
//! Every function here is strict.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Int64Type};
use arrow_array::{Array, ArrayRef, Decimal128Array, Int32Array, Int64Array};
use arrow_schema::DataType;
use basalt_storage::SqlType;

use crate::error::{Error, Result};

/// An exact function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExactFunc {
    /// `gcd(a, b)`: the greatest common divisor, never negative; `gcd(0, 0)` is 0.
    Gcd,
    /// `lcm(a, b)`: the least common multiple, never negative; 0 when either is 0.
    Lcm,
    /// `div(a, b)`: the integer quotient, truncated toward zero, as NUMERIC.
    Div,
    /// `factorial(n)`: n!, as NUMERIC.
    Factorial,
    /// `width_bucket(operand, bound1, bound2, count)` over NUMERIC.
    WidthBucket,
}

/// 10^38: NUMERIC values stay below it in magnitude.
const NUMERIC_LIMIT: i128 = 10i128.pow(38);

fn numeric_overflow() -> Error {
    Error::NumericOutOfRange {
        message: "value overflows numeric format".into(),
    }
}

fn out_of_range(ty: SqlType) -> Error {
    Error::NumericOutOfRange {
        message: match ty {
            SqlType::BigInt => "bigint out of range".into(),
            SqlType::Integer => "integer out of range".into(),
            _ => "value overflows numeric format".into(),
        },
    }
}

fn width_bucket_error(message: &str) -> Error {
    Error::InvalidWidthBucketArgument {
        message: message.into(),
    }
}

/// Row `row` of an Int64 or Decimal128 array as an `i128` at the array's scale.
fn value(a: &ArrayRef, row: usize) -> Result<Option<i128>> {
    if a.is_null(row) {
        return Ok(None);
    }
    match a.data_type() {
        DataType::Int64 => Ok(Some(i128::from(a.as_primitive::<Int64Type>().value(row)))),
        DataType::Decimal128(..) => Ok(Some(a.as_primitive::<Decimal128Type>().value(row))),
        other => Err(Error::Internal(format!("exact function over {other}"))),
    }
}

fn gcd(a: i128, b: i128) -> i128 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    // Both arguments come from Int64 or 38-digit NUMERIC, far inside i128.
    i128::try_from(a).unwrap_or(i128::MAX)
}

/// Whether `v` fits the result type `ty`.
fn fits(v: i128, ty: SqlType) -> bool {
    match ty {
        SqlType::Integer => i32::try_from(v).is_ok(),
        SqlType::BigInt => i64::try_from(v).is_ok(),
        _ => v.abs() < NUMERIC_LIMIT,
    }
}

fn apply(func: ExactFunc, v: &[i128], ty: SqlType) -> Result<i128> {
    let arg = |i: usize| {
        v.get(i)
            .copied()
            .ok_or_else(|| Error::Internal(format!("{func:?} arity")))
    };
    let r = match func {
        ExactFunc::Gcd => gcd(arg(0)?, arg(1)?),
        ExactFunc::Lcm => {
            let (a, b) = (arg(0)?, arg(1)?);
            if a == 0 || b == 0 {
                0
            } else {
                (a / gcd(a, b))
                    .checked_mul(b)
                    .map(i128::abs)
                    .ok_or_else(|| out_of_range(ty))?
            }
        }
        ExactFunc::Div => {
            let (a, b) = (arg(0)?, arg(1)?);
            if b == 0 {
                return Err(Error::DivisionByZero);
            }
            a / b
        }
        ExactFunc::Factorial => {
            let n = arg(0)?;
            if n < 0 {
                return Err(Error::NumericOutOfRange {
                    message: "factorial of a negative number is undefined".into(),
                });
            }
            let mut r: i128 = 1;
            for k in 2..=n {
                r = r
                    .checked_mul(k)
                    .filter(|r| *r < NUMERIC_LIMIT)
                    .ok_or_else(numeric_overflow)?;
            }
            r
        }
        ExactFunc::WidthBucket => {
            let (x, b1, b2, count) = (arg(0)?, arg(1)?, arg(2)?, arg(3)?);
            if count <= 0 {
                return Err(width_bucket_error("count must be greater than zero"));
            }
            if i32::try_from(count).is_err() {
                return Err(out_of_range(SqlType::Integer));
            }
            let (below, above) = match b1.cmp(&b2) {
                std::cmp::Ordering::Equal => {
                    return Err(width_bucket_error("lower bound cannot equal upper bound"))
                }
                std::cmp::Ordering::Less => (x < b1, x >= b2),
                std::cmp::Ordering::Greater => (x > b1, x <= b2),
            };
            if below {
                0
            } else if above {
                count + 1
            } else {
                // floor(count * (x - b1) / (b2 - b1)) + 1, exactly: the quotient is in
                // [0, count).
                let (num, den) = if b1 < b2 {
                    (x - b1, b2 - b1)
                } else {
                    (b1 - x, b1 - b2)
                };
                num.checked_mul(count).ok_or_else(numeric_overflow)? / den + 1
            }
        }
    };
    if !fits(r, ty) {
        return Err(out_of_range(ty));
    }
    Ok(r)
}

/// Evaluates `func` over `n` rows of `args`, giving values of type `ty` (INTEGER, BIGINT or
/// NUMERIC).
pub fn evaluate(func: ExactFunc, args: &[ArrayRef], ty: SqlType, n: usize) -> Result<ArrayRef> {
    let mut out: Vec<Option<i128>> = Vec::with_capacity(n);
    let mut row_values = Vec::with_capacity(args.len());
    for row in 0..n {
        row_values.clear();
        for a in args {
            match value(a, row)? {
                Some(v) => row_values.push(v),
                None => break,
            }
        }
        out.push(if row_values.len() < args.len() {
            None
        } else {
            Some(apply(func, &row_values, ty)?)
        });
    }
    // Every value was checked to fit `ty`.
    Ok(match ty {
        SqlType::Integer => Arc::new(Int32Array::from_iter(
            out.into_iter()
                .map(|v| v.and_then(|v| i32::try_from(v).ok())),
        )),
        SqlType::BigInt => Arc::new(Int64Array::from_iter(
            out.into_iter()
                .map(|v| v.and_then(|v| i64::try_from(v).ok())),
        )),
        SqlType::Decimal { precision, scale } => {
            Arc::new(Decimal128Array::from(out).with_precision_and_scale(precision, scale)?)
        }
        other => return Err(Error::Internal(format!("{func:?} giving {other}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // gcd and lcm over signed pairs, zeros included: never negative, PostgreSQL's values.
    #[test]
    fn gcd_and_lcm_of_signed_pairs() {
        let ty = SqlType::BigInt;
        assert_eq!(apply(ExactFunc::Gcd, &[-12, 18], ty).ok(), Some(6));
        assert_eq!(apply(ExactFunc::Gcd, &[0, 0], ty).ok(), Some(0));
        assert_eq!(apply(ExactFunc::Lcm, &[-4, 6], ty).ok(), Some(12));
        assert_eq!(apply(ExactFunc::Lcm, &[0, 6], ty).ok(), Some(0));
        // |i64::MIN| does not fit a BIGINT.
        assert!(apply(ExactFunc::Gcd, &[i128::from(i64::MIN), 0], ty).is_err());
    }

    // width_bucket at the bounds, in both directions, and the exact middle.
    #[test]
    fn width_bucket_bounds() {
        let ty = SqlType::Integer;
        let wb = |x, b1, b2, c| apply(ExactFunc::WidthBucket, &[x, b1, b2, c], ty).ok();
        assert_eq!(wb(0, 0, 10, 5), Some(1));
        assert_eq!(wb(10, 0, 10, 5), Some(6));
        assert_eq!(wb(-1, 0, 10, 5), Some(0));
        assert_eq!(wb(5, 0, 10, 2), Some(2));
        assert_eq!(wb(10, 10, 0, 4), Some(1));
        assert_eq!(wb(0, 10, 0, 4), Some(5));
        assert!(wb(1, 2, 2, 3).is_none());
        assert!(wb(1, 0, 2, 0).is_none());
    }

    // factorial stays exact up to 33! and overflows NUMERIC's 38 digits at 34!.
    #[test]
    fn factorial_limit() {
        let ty = crate::types::numeric(0);
        assert_eq!(
            apply(ExactFunc::Factorial, &[25], ty).ok(),
            Some(15_511_210_043_330_985_984_000_000)
        );
        assert!(apply(ExactFunc::Factorial, &[33], ty).is_ok());
        assert!(apply(ExactFunc::Factorial, &[34], ty).is_err());
        assert!(apply(ExactFunc::Factorial, &[-1], ty).is_err());
    }
}
