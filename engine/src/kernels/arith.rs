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
///
/// A one-row operand beside a longer one is a constant, applied to every row of the other.
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
            let mut a = to_f64(l, lt);
            let mut b = to_f64(r, rt);
            if a.len() == 1 && b.len() != 1 {
                a = broadcast_f64(&a, b.len());
            } else if b.len() == 1 && a.len() != 1 {
                b = broadcast_f64(&b, a.len());
            }
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

/// `a` (one row) repeated `n` times.
fn broadcast_f64(a: &Float64Array, n: usize) -> Float64Array {
    if a.is_null(0) {
        Float64Array::new_null(n)
    } else {
        Float64Array::from_value(a.value(0), n)
    }
}

fn int_arith(op: BinaryOp, l: &ArrayRef, r: &ArrayRef, ty: SqlType) -> Result<ArrayRef> {
    use arrow_arith::numeric;
    if op == BinaryOp::Mod {
        // i64::MIN % -1 overflows in Rust; in SQL it is 0.
        let (l, r) = equal_lengths(l, r)?;
        return int_mod(&l, &r, ty);
    }
    let ls = (l.len() == 1 && r.len() != 1).then(|| arrow_array::Scalar::new(l.clone()));
    let rs = (r.len() == 1 && l.len() != 1).then(|| arrow_array::Scalar::new(r.clone()));
    let a: &dyn arrow_array::Datum = match &ls {
        Some(s) => s,
        None => l,
    };
    let b: &dyn arrow_array::Datum = match &rs {
        Some(s) => s,
        None => r,
    };
    let res = match op {
        BinaryOp::Add => numeric::add(a, b),
        BinaryOp::Sub => numeric::sub(a, b),
        BinaryOp::Mul => numeric::mul(a, b),
        BinaryOp::Div => numeric::div(a, b),
        _ => return Err(Error::Internal(format!("{op:?} is not arithmetic"))),
    };
    res.map_err(|e| match e {
        arrow_schema::ArrowError::DivideByZero => Error::DivisionByZero,
        arrow_schema::ArrowError::ArithmeticOverflow(_) => overflow(ty),
        other => Error::from(other),
    })
}

/// `l` and `r` with a one-row side repeated to the other's length.
fn equal_lengths(l: &ArrayRef, r: &ArrayRef) -> Result<(ArrayRef, ArrayRef)> {
    use crate::kernels::eval::repeat;
    Ok(if l.len() == 1 && r.len() != 1 {
        (repeat(l, r.len())?, r.clone())
    } else if r.len() == 1 && l.len() != 1 {
        (l.clone(), repeat(r, l.len())?)
    } else {
        (l.clone(), r.clone())
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
    if (l.len() == 1) != (r.len() == 1)
        && matches!(op, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul)
    {
        return decimal_scalar(op, l, r, ls, rs, scale);
    }
    let (l, r) = equal_lengths(l, r)?;
    let a = l.as_primitive::<Decimal128Type>();
    let b = r.as_primitive::<Decimal128Type>();
    let nulls = NullBuffer::union(a.nulls(), b.nulls());
    if op == BinaryOp::Mul && ls + rs == scale {
        if let Some(out) = mul_narrow(a.values(), b.values()) {
            return decimal_array(out, nulls, scale);
        }
    }
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
                let v = mul_i128(x, y).ok_or_else(of)?;
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

/// NUMERIC `*` over two equally long arrays at the product's own scale, when every value of
/// both fits 64 bits (nearly always): two such values multiply exactly in 128 bits, and their
/// product stays below 2^126 < 10^38, the NUMERIC limit, so no row needs a check. The loop
/// keeps no branch per row (it only ORs a flag), so it vectorizes; `None` when some value is
/// wider, or sits in a NULL slot wider, and the checked per-row loop must decide.
fn mul_narrow(a: &[i128], b: &[i128]) -> Option<Vec<i128>> {
    let mut wide = false;
    let out: Vec<i128> = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| {
            let (xn, yn) = (x as i64, y as i64);
            wide |= (i128::from(xn) != x) | (i128::from(yn) != y);
            i128::from(xn) * i128::from(yn)
        })
        .collect();
    (!wide).then_some(out)
}

/// [`mul_narrow`] with a constant right side `c` that fits 64 bits.
fn mul_narrow_by(a: &[i128], c: i64) -> Option<Vec<i128>> {
    let mut wide = false;
    let out: Vec<i128> = a
        .iter()
        .map(|&x| {
            let xn = x as i64;
            wide |= i128::from(xn) != x;
            i128::from(xn) * i128::from(c)
        })
        .collect();
    (!wide).then_some(out)
}

/// NUMERIC `+` or `-` (`subtract`) of constant `c` and every value of `a` (`c - x` when
/// `constant_left`), all at one scale, without a branch per row: the wrapping sums are exact
/// unless the overflow flag or the 38-digit limit flag is raised, in which case `None` leaves
/// the decision to the checked per-row loop.
fn add_narrow(a: &[i128], c: i128, subtract: bool, constant_left: bool) -> Option<Vec<i128>> {
    let limit = pow10(DECIMAL_DIGITS_MAX) - 1;
    let mut bad = false;
    let out: Vec<i128> = a
        .iter()
        .map(|&x| {
            let (v, o) = match (subtract, constant_left) {
                (false, _) => x.overflowing_add(c),
                (true, true) => c.overflowing_sub(x),
                (true, false) => x.overflowing_sub(c),
            };
            bad |= o | (v > limit) | (v < -limit);
            v
        })
        .collect();
    (!bad).then_some(out)
}

/// A NUMERIC array at `scale` from its values and NULLs.
fn decimal_array(values: Vec<i128>, nulls: Option<NullBuffer>, scale: i8) -> Result<ArrayRef> {
    Ok(Arc::new(
        Decimal128Array::new(values.into(), nulls)
            .with_precision_and_scale(crate::types::NUMERIC_PRECISION, scale)?,
    ))
}

/// `x * y`, `None` on overflow; values that fit in 64 bits (nearly all) multiply without the
/// 128-bit overflow check.
#[inline]
fn mul_i128(x: i128, y: i128) -> Option<i128> {
    match (i64::try_from(x), i64::try_from(y)) {
        (Ok(x), Ok(y)) => Some(i128::from(x) * i128::from(y)),
        _ => x.checked_mul(y),
    }
}

/// NUMERIC `+`, `-` or `*` where one side is a single value (a constant), applied to every
/// row of the other.
fn decimal_scalar(
    op: BinaryOp,
    l: &ArrayRef,
    r: &ArrayRef,
    ls: i8,
    rs: i8,
    scale: i8,
) -> Result<ArrayRef> {
    let constant_left = l.len() == 1;
    let (one, many, one_scale, many_scale) = if constant_left {
        (l, r, ls, rs)
    } else {
        (r, l, rs, ls)
    };
    let one = one.as_primitive::<Decimal128Type>();
    let many = many.as_primitive::<Decimal128Type>();
    if one.is_null(0) {
        return Ok(Arc::new(
            Decimal128Array::new_null(many.len())
                .with_precision_and_scale(crate::types::NUMERIC_PRECISION, scale)?,
        ));
    }
    let of = || Error::NumericOutOfRange {
        message: "numeric value out of range".to_string(),
    };
    let c = one.value(0);
    let fast = match op {
        BinaryOp::Mul if ls + rs == scale => i64::try_from(c)
            .ok()
            .and_then(|c| mul_narrow_by(many.values(), c)),
        // `1 - l_discount`: the constant, at a scale no finer than the column's, moves to
        // the column's scale once.
        BinaryOp::Add | BinaryOp::Sub if many_scale == scale && one_scale <= scale => {
            rescale_decimal(c, one_scale, scale)
                .and_then(|c| add_narrow(many.values(), c, op == BinaryOp::Sub, constant_left))
        }
        _ => None,
    };
    if let Some(out) = fast {
        return decimal_array(out, many.nulls().cloned(), scale);
    }
    let out = if op == BinaryOp::Mul {
        let exact = ls + rs == scale;
        map_decimal(many, scale, |x| {
            let v = mul_i128(x, c)?;
            if exact {
                Some(v)
            } else {
                rescale_decimal(v, ls + rs, scale)
            }
        })
    } else {
        let common = ls.max(rs);
        let c = rescale_decimal(c, one_scale, common).ok_or_else(of)?;
        let up = pow10((common - many_scale) as u32);
        let exact = common == scale;
        map_decimal(many, scale, |x| {
            let x = if up == 1 { x } else { x.checked_mul(up)? };
            let v = match (op, constant_left) {
                (BinaryOp::Add, _) => x.checked_add(c),
                (_, true) => c.checked_sub(x),
                (_, false) => x.checked_sub(c),
            }?;
            if exact {
                Some(v)
            } else {
                rescale_decimal(v, common, scale)
            }
        })
    };
    out.ok_or_else(of)
}

/// `f` over every non-NULL value of `a`, as NUMERIC at `scale`; `None` if `f` overflows or a
/// result needs more than 38 digits.
fn map_decimal(
    a: &Decimal128Array,
    scale: i8,
    f: impl Fn(i128) -> Option<i128>,
) -> Option<ArrayRef> {
    let limit = pow10(DECIMAL_DIGITS_MAX) - 1;
    let nulls = a.nulls();
    let mut out = Vec::with_capacity(a.len());
    for (i, &x) in a.values().iter().enumerate() {
        if nulls.is_some_and(|n| n.is_null(i)) {
            out.push(0);
            continue;
        }
        let v = f(x)?;
        if v > limit || v < -limit {
            return None;
        }
        out.push(v);
    }
    let arr = Decimal128Array::new(out.into(), nulls.cloned())
        .with_precision_and_scale(crate::types::NUMERIC_PRECISION, scale)
        .ok()?;
    Some(Arc::new(arr))
}

/// Negates a numeric array (unary minus), with overflow checks.
pub fn negate(a: &ArrayRef, ty: SqlType) -> Result<ArrayRef> {
    match ty {
        SqlType::Real | SqlType::Double => {
            let f = to_f64(a, ty).unary::<_, Float64Type>(|v| -v);
            cast_array(&(Arc::new(f) as ArrayRef), SqlType::Double, ty, false)
        }
        SqlType::Interval => crate::kernels::interval::evaluate(
            crate::kernels::interval::IntervalFunc::Negate,
            std::slice::from_ref(a),
            ty,
            a.len(),
        ),
        _ => arrow_arith::numeric::neg(a).map_err(|e| match e {
            arrow_schema::ArrowError::ArithmeticOverflow(_) => overflow(ty),
            other => Error::from(other),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(values: Vec<Option<i128>>, scale: i8) -> ArrayRef {
        Arc::new(
            values
                .into_iter()
                .collect::<Decimal128Array>()
                .with_precision_and_scale(38, scale)
                .unwrap(),
        )
    }

    fn values(a: &ArrayRef) -> Vec<Option<i128>> {
        a.as_primitive::<Decimal128Type>().iter().collect()
    }

    const N2: SqlType = SqlType::Decimal {
        precision: 38,
        scale: 2,
    };

    #[test]
    fn narrow_products_and_sums_match_the_checked_loop() {
        // Input: NUMERIC(38,2) columns with a NULL, multiplied row by row (scale 4), by the
        // constant 1.50 and added to and subtracted from it on either side (scale 2); then a
        // value wider than 64 bits whose product overflows, and one whose sum passes 38 digits.
        let n4 = SqlType::Decimal {
            precision: 38,
            scale: 4,
        };
        let a = numeric(vec![Some(250), None, Some(-1_000_000), Some(7)], 2);
        let b = numeric(vec![Some(-4), Some(9), Some(3), Some(0)], 2);
        let c = numeric(vec![Some(150)], 2);
        let mul = arithmetic(BinaryOp::Mul, &a, &b, N2, N2, n4).unwrap();
        assert_eq!(values(&mul), [Some(-1000), None, Some(-3_000_000), Some(0)]);
        let by = arithmetic(BinaryOp::Mul, &a, &c, N2, N2, n4).unwrap();
        assert_eq!(
            values(&by),
            [Some(37_500), None, Some(-150_000_000), Some(1050)]
        );
        let add = arithmetic(BinaryOp::Add, &c, &a, N2, N2, N2).unwrap();
        assert_eq!(values(&add), [Some(400), None, Some(-999_850), Some(157)]);
        let sub = arithmetic(BinaryOp::Sub, &c, &a, N2, N2, N2).unwrap();
        assert_eq!(values(&sub), [Some(-100), None, Some(1_000_150), Some(143)]);
        let sub = arithmetic(BinaryOp::Sub, &a, &c, N2, N2, N2).unwrap();
        assert_eq!(
            values(&sub),
            [Some(100), None, Some(-1_000_150), Some(-143)]
        );

        let wide = numeric(vec![Some(1), Some(i128::from(i64::MAX) * 1_000_000_000)], 2);
        let err = arithmetic(BinaryOp::Mul, &wide, &wide, N2, N2, n4);
        assert!(
            matches!(err, Err(Error::NumericOutOfRange { .. })),
            "{err:?}"
        );
        let top = numeric(vec![Some(pow10(DECIMAL_DIGITS_MAX) - 1)], 2);
        let err = arithmetic(BinaryOp::Add, &wide, &top, N2, N2, N2);
        assert!(
            matches!(err, Err(Error::NumericOutOfRange { .. })),
            "{err:?}"
        );
    }
}
