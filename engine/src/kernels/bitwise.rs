//! The bitwise operators of the integer types, as PostgreSQL defines them: `&`, `|`, `#` and
//! `~` on `smallint`, `integer` and `bigint`, and the shifts `<<` and `>>` of any of them by
//! an `integer` count. NULL in, NULL out.
//!
//! PostgreSQL shifts with C's `<<` and `>>` on the operand promoted to at least 32 bits, so
//! the machine takes the count modulo 32 (`integer`, `smallint`) or 64 (`bigint`): `1 << 32`
//! is 1, `1 << -1` is `1 << 31`. A `smallint` is shifted as an `integer` and the result
//! truncated to 16 bits: `1::smallint << 16` is 0, `16384::smallint >> 32` is 16384. `>>` is
//! arithmetic (it keeps the sign). Arrow's shift kernels take the count the same way
//! (`wrapping_shl` of the count as `u32`), so `integer` and `bigint` use them directly.

use std::sync::Arc;

use arrow_arith::bitwise as bw;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int16Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, Int16Array, PrimitiveArray};
use basalt_storage::SqlType;

use crate::error::{Error, Result};
use crate::kernels::cast::cast_array;
use crate::planner::expr::BinaryOp;

/// Applies a bitwise operator. For `&`, `|` and `#` both operands are already of the result
/// type `ty`; for the shifts `l` is of type `ty` and `r` an `integer` count. A one-row
/// operand beside a longer one is a constant, applied to every row of the other.
pub fn bitwise(op: BinaryOp, l: &ArrayRef, r: &ArrayRef, ty: SqlType) -> Result<ArrayRef> {
    let shift = matches!(op, BinaryOp::ShiftLeft | BinaryOp::ShiftRight);
    match ty {
        SqlType::SmallInt if shift => {
            // Shifted as an integer, then truncated to 16 bits.
            let wide = cast_array(l, SqlType::SmallInt, SqlType::Integer, false)?;
            let out = typed_i32(op, wide.as_primitive(), r.as_primitive())?;
            let narrow: Int16Array = arrow_arith::arity::unary(&out, |x| x as i16);
            Ok(Arc::new(narrow))
        }
        SqlType::SmallInt => Ok(Arc::new(typed_i16(op, l.as_primitive(), r.as_primitive())?)),
        SqlType::Integer => Ok(Arc::new(typed_i32(op, l.as_primitive(), r.as_primitive())?)),
        SqlType::BigInt => {
            let r = if shift {
                cast_array(r, SqlType::Integer, SqlType::BigInt, false)?
            } else {
                r.clone()
            };
            Ok(Arc::new(typed_i64(op, l.as_primitive(), r.as_primitive())?))
        }
        other => Err(Error::Internal(format!("bitwise operator on {other}"))),
    }
}

/// `~x` of an integer array.
pub fn bitwise_not(v: &ArrayRef, ty: SqlType) -> Result<ArrayRef> {
    Ok(match ty {
        SqlType::SmallInt => Arc::new(bw::bitwise_not(v.as_primitive::<Int16Type>())?),
        SqlType::Integer => Arc::new(bw::bitwise_not(v.as_primitive::<Int32Type>())?),
        SqlType::BigInt => Arc::new(bw::bitwise_not(v.as_primitive::<Int64Type>())?),
        other => return Err(Error::Internal(format!("~ on {other}"))),
    })
}

/// One operator on two arrays of one integer type, a one-row side taken as a scalar. A
/// macro rather than a generic function: arrow's shift kernels bound their type by
/// `num_traits`, which this crate does not depend on.
macro_rules! typed_fn {
    ($name:ident, $t:ty) => {
        fn $name(
            op: BinaryOp,
            l: &PrimitiveArray<$t>,
            r: &PrimitiveArray<$t>,
        ) -> Result<PrimitiveArray<$t>> {
            if r.len() == 1 && l.len() != 1 {
                if r.is_null(0) {
                    return Ok(PrimitiveArray::new_null(l.len()));
                }
                let c = r.value(0);
                return Ok(match op {
                    BinaryOp::BitAnd => bw::bitwise_and_scalar(l, c)?,
                    BinaryOp::BitOr => bw::bitwise_or_scalar(l, c)?,
                    BinaryOp::BitXor => bw::bitwise_xor_scalar(l, c)?,
                    BinaryOp::ShiftLeft => bw::bitwise_shift_left_scalar(l, c)?,
                    BinaryOp::ShiftRight => bw::bitwise_shift_right_scalar(l, c)?,
                    other => return Err(Error::Internal(format!("{other:?} is not bitwise"))),
                });
            }
            if l.len() == 1 && r.len() != 1 {
                if l.is_null(0) {
                    return Ok(PrimitiveArray::new_null(r.len()));
                }
                // The commutative operators swap sides; a shift of a constant repeats it.
                return match op {
                    BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::BitXor => $name(op, r, l),
                    _ => $name(
                        op,
                        &PrimitiveArray::<$t>::from_value(l.value(0), r.len()),
                        r,
                    ),
                };
            }
            Ok(match op {
                BinaryOp::BitAnd => bw::bitwise_and(l, r)?,
                BinaryOp::BitOr => bw::bitwise_or(l, r)?,
                BinaryOp::BitXor => bw::bitwise_xor(l, r)?,
                BinaryOp::ShiftLeft => bw::bitwise_shift_left(l, r)?,
                BinaryOp::ShiftRight => bw::bitwise_shift_right(l, r)?,
                other => return Err(Error::Internal(format!("{other:?} is not bitwise"))),
            })
        }
    };
}

typed_fn!(typed_i16, Int16Type);
typed_fn!(typed_i32, Int32Type);
typed_fn!(typed_i64, Int64Type);

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, Int64Array};

    fn ints(v: &[Option<i32>]) -> ArrayRef {
        Arc::new(Int32Array::from(v.to_vec()))
    }

    // Counts of 32 and more, and negative counts, are taken modulo the width, as PostgreSQL
    // on every platform it runs on shifts them.
    #[test]
    fn shift_counts_wrap_at_the_width() {
        let one = ints(&[Some(1); 5]);
        let counts = ints(&[Some(31), Some(32), Some(33), Some(-1), None]);
        let out = bitwise(BinaryOp::ShiftLeft, &one, &counts, SqlType::Integer).unwrap();
        let out = out.as_primitive::<Int32Type>();
        assert_eq!(out.value(0), i32::MIN);
        assert_eq!(out.value(1), 1);
        assert_eq!(out.value(2), 2);
        assert_eq!(out.value(3), i32::MIN);
        assert!(out.is_null(4));

        let big: ArrayRef = Arc::new(Int64Array::from(vec![-8i64, 1, -1]));
        let counts = ints(&[Some(65), Some(64), Some(63)]);
        let out = bitwise(BinaryOp::ShiftRight, &big, &counts, SqlType::BigInt).unwrap();
        assert_eq!(out.as_primitive::<Int64Type>().values(), &[-4, 1, -1]);
    }

    // A smallint shifts as an integer and is truncated to 16 bits afterwards.
    #[test]
    fn smallint_shifts_as_integer() {
        let small: ArrayRef = Arc::new(Int16Array::from(vec![1i16, 1, 1, -32768, 16384]));
        let counts = ints(&[Some(15), Some(16), Some(32), Some(16), Some(32)]);
        let left = bitwise(BinaryOp::ShiftLeft, &small, &counts, SqlType::SmallInt).unwrap();
        assert_eq!(left.as_primitive::<Int16Type>().value(0), -32768);
        assert_eq!(left.as_primitive::<Int16Type>().value(1), 0);
        assert_eq!(left.as_primitive::<Int16Type>().value(2), 1);
        let right = bitwise(BinaryOp::ShiftRight, &small, &counts, SqlType::SmallInt).unwrap();
        assert_eq!(right.as_primitive::<Int16Type>().value(3), -1);
        assert_eq!(right.as_primitive::<Int16Type>().value(4), 16384);
    }

    // A one-row side is a constant applied to every row of the other, on either side.
    #[test]
    fn constant_operands() {
        let v = ints(&[Some(12), None, Some(5)]);
        let c = ints(&[Some(10)]);
        let and = bitwise(BinaryOp::BitAnd, &c, &v, SqlType::Integer).unwrap();
        let and = and.as_primitive::<Int32Type>();
        assert_eq!((and.value(0), and.is_null(1), and.value(2)), (8, true, 0));
        let shl = bitwise(BinaryOp::ShiftLeft, &c, &v, SqlType::Integer).unwrap();
        assert_eq!(shl.as_primitive::<Int32Type>().value(2), 320);
        let null = ints(&[None]);
        let out = bitwise(BinaryOp::BitXor, &v, &null, SqlType::Integer).unwrap();
        assert_eq!(out.null_count(), 3);
        let not = bitwise_not(&v, SqlType::Integer).unwrap();
        assert_eq!(not.as_primitive::<Int32Type>().value(0), -13);
    }
}
