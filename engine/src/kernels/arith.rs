//! Arithmetic on whole arrays with PostgreSQL's semantics: overflow and division by zero are
//! errors, integer division truncates, NUMERIC keeps exact scales.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Float64Type};
use arrow_array::{Array, ArrayRef, Decimal128Array, Float64Array, PrimitiveArray};
use arrow_buffer::NullBuffer;
use basalt_storage::SqlType;

use crate::error::{Error, Result};
use crate::kernels::cast::{cast_array, to_f64};
use crate::planner::expr::BinaryOp;
use crate::types::datum::{pow10, rescale_decimal, DECIMAL_DIGITS_MAX};
use crate::types::{decimal_scale, display_name};

/// Applies an arithmetic operator to two arrays already converted to the operation's type
/// (`ty` for integers and floats; any scales for NUMERIC, whose result scale `ty` fixes).
pub fn arithmetic(
    op: BinaryOp,
    l: &ArrayRef,
    r: &ArrayRef,
    lt: SqlType,
    rt: SqlType,
    ty: SqlType,
) -> Result<ArrayRef> {
    match ty {
        SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => int_arith(op, l, r, ty),
        SqlType::Real | SqlType::Double => {
            let a = to_f64(l, lt);
            let b = to_f64(r, rt);
            let out = float_arith(op, &a, &b)?;
            let out: ArrayRef = Arc::new(out);
            if ty == SqlType::Real {
                cast_array(&out, SqlType::Double, SqlType::Real, false)
            } else {
                Ok(out)
            }
        }
        SqlType::Decimal { scale, .. } => {
            decimal_arith(op, l, r, decimal_scale(lt), decimal_scale(rt), scale)
        }
        other => Err(Error::Internal(format!("arithmetic on {other}"))),
    }
}

fn overflow(ty: SqlType) -> Error {
    Error::NumericOutOfRange {
        message: format!("{} out of range", display_name(ty)),
    }
}

fn int_arith(op: BinaryOp, l: &ArrayRef, r: &ArrayRef, ty: SqlType) -> Result<ArrayRef> {
    use arrow_arith::numeric;
    let res = match op {
        BinaryOp::Add => numeric::add(l, r),
        BinaryOp::Sub => numeric::sub(l, r),
        BinaryOp::Mul => numeric::mul(l, r),
        BinaryOp::Div => numeric::div(l, r),
        BinaryOp::Mod => {
            // i64::MIN % -1 overflows in Rust; in SQL it is 0.
            return int_mod(l, r, ty);
        }
        _ => return Err(Error::Internal(format!("{op:?} is not arithmetic"))),
    };
    res.map_err(|e| match e {
        arrow_schema::ArrowError::DivideByZero => Error::DivisionByZero,
        arrow_schema::ArrowError::ArithmeticOverflow(_) => overflow(ty),
        other => Error::from(other),
    })
}

fn int_mod(l: &ArrayRef, r: &ArrayRef, ty: SqlType) -> Result<ArrayRef> {
    let a = crate::kernels::cast::to_i64(l)?;
    let b = crate::kernels::cast::to_i64(r)?;
    let nulls = NullBuffer::union(a.nulls(), b.nulls());
    let mut out = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        if nulls.as_ref().is_some_and(|n| n.is_null(i)) {
            out.push(None);
            continue;
        }
        let d = b.value(i);
        if d == 0 {
            return Err(Error::DivisionByZero);
        }
        out.push(Some(if d == -1 { 0 } else { a.value(i) % d }));
    }
    Ok(crate::kernels::cast::ints_to_array(out, ty))
}

fn float_arith(op: BinaryOp, a: &Float64Array, b: &Float64Array) -> Result<Float64Array> {
    if matches!(op, BinaryOp::Div | BinaryOp::Mod) {
        let nulls = NullBuffer::union(a.nulls(), b.nulls());
        for i in 0..b.len() {
            if b.value(i) == 0.0 && !nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                return Err(Error::DivisionByZero);
            }
        }
    }
    let f: fn(f64, f64) -> f64 = match op {
        BinaryOp::Add => |x, y| x + y,
        BinaryOp::Sub => |x, y| x - y,
        BinaryOp::Mul => |x, y| x * y,
        BinaryOp::Div => |x, y| x / y,
        BinaryOp::Mod => |x, y| x % y,
        _ => return Err(Error::Internal(format!("{op:?} is not arithmetic"))),
    };
    let out: PrimitiveArray<Float64Type> = arrow_arith::arity::binary(a, b, f)?;
    // A finite computation that overflows to infinity is an error in PostgreSQL.
    for i in 0..out.len() {
        if out.is_valid(i)
            && out.value(i).is_infinite()
            && a.value(i).is_finite()
            && b.value(i).is_finite()
        {
            return Err(Error::NumericOutOfRange {
                message: "value out of range: overflow".to_string(),
            });
        }
    }
    Ok(out)
}

fn decimal_arith(
    op: BinaryOp,
    l: &ArrayRef,
    r: &ArrayRef,
    ls: i8,
    rs: i8,
    scale: i8,
) -> Result<ArrayRef> {
    let a = l.as_primitive::<Decimal128Type>();
    let b = r.as_primitive::<Decimal128Type>();
    let nulls = NullBuffer::union(a.nulls(), b.nulls());
    let of = || Error::NumericOutOfRange {
        message: "numeric value out of range".to_string(),
    };
    let limit = pow10(DECIMAL_DIGITS_MAX) - 1;
    let (av, bv) = (a.values(), b.values());
    let is_null = |i: usize| nulls.as_ref().is_some_and(|n| n.is_null(i));
    let mut out = Vec::with_capacity(a.len());
    // Scale factors are the same for every row: work them out once, and leave the per-row
    // loop to the checked integer operations.
    let scale_up = |v: i128, by: u32| -> Result<i128> {
        if by == 0 {
            Ok(v)
        } else {
            v.checked_mul(pow10(by)).ok_or_else(of)
        }
    };
    match op {
        BinaryOp::Add | BinaryOp::Sub => {
            let common = ls.max(rs);
            let (ux, uy) = ((common - ls) as u32, (common - rs) as u32);
            let exact = common == scale;
            for (i, (&x, &y)) in av.iter().zip(bv.iter()).enumerate() {
                if is_null(i) {
                    out.push(0);
                    continue;
                }
                let (x, y) = (scale_up(x, ux)?, scale_up(y, uy)?);
                let v = if op == BinaryOp::Add {
                    x.checked_add(y)
                } else {
                    x.checked_sub(y)
                }
                .ok_or_else(of)?;
                let v = if exact {
                    v
                } else {
                    rescale_decimal(v, common, scale).ok_or_else(of)?
                };
                if v > limit || v < -limit {
                    return Err(of());
                }
                out.push(v);
            }
        }
        BinaryOp::Mul => {
            let exact = ls + rs == scale;
            for (i, (&x, &y)) in av.iter().zip(bv.iter()).enumerate() {
                if is_null(i) {
                    out.push(0);
                    continue;
                }
                let v = x.checked_mul(y).ok_or_else(of)?;
                let v = if exact {
                    v
                } else {
                    rescale_decimal(v, ls + rs, scale).ok_or_else(of)?
                };
                if v > limit || v < -limit {
                    return Err(of());
                }
                out.push(v);
            }
        }
        _ => {
            for i in 0..a.len() {
                if is_null(i) {
                    out.push(0);
                    continue;
                }
                let (x, y) = (av[i], bv[i]);
                let v = match op {
                    BinaryOp::Mod => {
                        let common = ls.max(rs);
                        let x = rescale_decimal(x, ls, common).ok_or_else(of)?;
                        let y = rescale_decimal(y, rs, common).ok_or_else(of)?;
                        if y == 0 {
                            return Err(Error::DivisionByZero);
                        }
                        rescale_decimal(x % y, common, scale).ok_or_else(of)?
                    }
                    BinaryOp::Div => {
                        if y == 0 {
                            return Err(Error::DivisionByZero);
                        }
                        // x/10^ls / (y/10^rs) at scale s = x * 10^(s - ls + rs) / y, rounded.
                        let shift = scale as i32 - ls as i32 + rs as i32;
                        let (num, den) = if shift >= 0 {
                            (x.checked_mul(pow10(shift as u32)).ok_or_else(of)?, y)
                        } else {
                            (x, y.checked_mul(pow10((-shift) as u32)).ok_or_else(of)?)
                        };
                        let q = num / den;
                        let rem = num % den;
                        if rem.unsigned_abs() * 2 >= den.unsigned_abs() {
                            if (num < 0) != (den < 0) {
                                q - 1
                            } else {
                                q + 1
                            }
                        } else {
                            q
                        }
                    }
                    _ => return Err(Error::Internal(format!("{op:?} is not arithmetic"))),
                };
                if v > limit || v < -limit {
                    return Err(of());
                }
                out.push(v);
            }
        }
    }
    let arr = Decimal128Array::new(out.into(), nulls)
        .with_precision_and_scale(crate::types::NUMERIC_PRECISION, scale)?;
    Ok(Arc::new(arr))
}

/// Negates a numeric array (unary minus), with overflow checks.
pub fn negate(a: &ArrayRef, ty: SqlType) -> Result<ArrayRef> {
    match ty {
        SqlType::Real | SqlType::Double => {
            let f = to_f64(a, ty).unary::<_, Float64Type>(|v| -v);
            cast_array(&(Arc::new(f) as ArrayRef), SqlType::Double, ty, false)
        }
        _ => arrow_arith::numeric::neg(a).map_err(|e| match e {
            arrow_schema::ArrowError::ArithmeticOverflow(_) => overflow(ty),
            other => Error::from(other),
        }),
    }
}
