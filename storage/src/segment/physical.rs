//! Physical types: how a [`SqlType`]'s values are laid out in a block, and views of Arrow arrays
//! by physical type for the writer.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    IntervalMonthDayNanoType, Time64MicrosecondType, TimestampMicrosecondType,
};
use arrow_array::{Array, BooleanArray, StringArray};
use arrow_buffer::{IntervalMonthDayNano, NullBuffer};

use crate::error::{Error, Result};
use crate::types::SqlType;

/// The physical type of a column. The id is persisted in the segment footer, so a segment can be
/// checked against the table definition that claims it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PhysicalType {
    /// Bit-packed, LSB first.
    Boolean,
    /// SMALLINT.
    Int16,
    /// INTEGER and DATE (days since 1970-01-01).
    Int32,
    /// BIGINT, TIMESTAMP (microseconds since 1970-01-01 00:00:00), TIMESTAMPTZ (microseconds
    /// since 1970-01-01 00:00:00 UTC) and TIME (microseconds since midnight).
    Int64,
    /// REAL (IEEE 754 binary32).
    Float32,
    /// DOUBLE PRECISION (IEEE 754 binary64).
    Float64,
    /// DECIMAL: the unscaled value as a two's-complement 128-bit integer. INTERVAL: its months,
    /// days and microseconds packed into one integer by [`pack_interval`].
    Int128,
    /// CHAR, VARCHAR and TEXT: UTF-8 bytes.
    Utf8,
}

impl PhysicalType {
    /// Every physical type, for tests and exhaustive checks.
    #[cfg(test)]
    pub(crate) const ALL: [PhysicalType; 8] = [
        PhysicalType::Boolean,
        PhysicalType::Int16,
        PhysicalType::Int32,
        PhysicalType::Int64,
        PhysicalType::Float32,
        PhysicalType::Float64,
        PhysicalType::Int128,
        PhysicalType::Utf8,
    ];

    pub(crate) fn of(ty: SqlType) -> PhysicalType {
        match ty {
            SqlType::Boolean => PhysicalType::Boolean,
            SqlType::SmallInt => PhysicalType::Int16,
            SqlType::Integer | SqlType::Date => PhysicalType::Int32,
            SqlType::BigInt | SqlType::Timestamp | SqlType::Timestamptz | SqlType::Time => {
                PhysicalType::Int64
            }
            SqlType::Real => PhysicalType::Float32,
            SqlType::Double => PhysicalType::Float64,
            SqlType::Decimal { .. } | SqlType::Interval => PhysicalType::Int128,
            SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text => PhysicalType::Utf8,
            // No table column is an array (`check_def` refuses them), so no segment holds one;
            // `Piece::new` rejects list values whatever this answers.
            SqlType::Array { .. } => PhysicalType::Utf8,
        }
    }

    /// The persisted id.
    pub(crate) fn id(self) -> u8 {
        match self {
            PhysicalType::Boolean => 1,
            PhysicalType::Int16 => 2,
            PhysicalType::Int32 => 3,
            PhysicalType::Int64 => 4,
            PhysicalType::Float32 => 5,
            PhysicalType::Float64 => 6,
            PhysicalType::Int128 => 7,
            PhysicalType::Utf8 => 8,
        }
    }

    pub(crate) fn from_id(id: u8) -> Option<PhysicalType> {
        Some(match id {
            1 => PhysicalType::Boolean,
            2 => PhysicalType::Int16,
            3 => PhysicalType::Int32,
            4 => PhysicalType::Int64,
            5 => PhysicalType::Float32,
            6 => PhysicalType::Float64,
            7 => PhysicalType::Int128,
            8 => PhysicalType::Utf8,
            _ => return None,
        })
    }

    /// Bytes per value for fixed-width types; `None` for bit-packed booleans and strings.
    pub(crate) fn width(self) -> Option<usize> {
        match self {
            PhysicalType::Int16 => Some(2),
            PhysicalType::Int32 | PhysicalType::Float32 => Some(4),
            PhysicalType::Int64 | PhysicalType::Float64 => Some(8),
            PhysicalType::Int128 => Some(16),
            PhysicalType::Boolean | PhysicalType::Utf8 => None,
        }
    }
}

/// A typed view of one Arrow array's values (slicing already applied).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Values<'a> {
    Boolean(&'a BooleanArray),
    Int16(&'a [i16]),
    Int32(&'a [i32]),
    Int64(&'a [i64]),
    Float32(&'a [f32]),
    Float64(&'a [f64]),
    Int128(&'a [i128]),
    /// INTERVAL values, stored as INT128 through [`pack_interval`].
    Interval(&'a [IntervalMonthDayNano]),
    Utf8(&'a StringArray),
}

/// Packs an interval into the INT128 physical value `months·2^96 + days·2^64 + micros`, modulo
/// 2^128. Each part is signed; the map from (i32, i32, i64) to i128 is a bijection, so
/// [`unpack_interval`] recovers the parts exactly. Intervals that differ only in their time differ
/// by exactly that many microseconds, which keeps frame-of-reference offsets narrow. `None` when
/// the nanoseconds are not whole microseconds (Basalt's intervals always are).
pub(crate) fn pack_interval(v: IntervalMonthDayNano) -> Option<i128> {
    if v.nanoseconds % 1000 != 0 {
        return None;
    }
    let micros = i128::from(v.nanoseconds / 1000);
    Some(
        (i128::from(v.months) << 96)
            .wrapping_add(i128::from(v.days) << 64)
            .wrapping_add(micros),
    )
}

/// The INT128 value of an interval in a [`Values::Interval`], which `Piece::new` has checked
/// holds whole microseconds only.
pub(crate) fn packed_interval(v: IntervalMonthDayNano) -> i128 {
    pack_interval(v).unwrap_or_default()
}

/// The packed values of an interval piece, for code that works on INT128 values.
pub(crate) fn packed_intervals(v: &[IntervalMonthDayNano]) -> Vec<i128> {
    v.iter().map(|x| packed_interval(*x)).collect()
}

/// The inverse of [`pack_interval`]; `None` when the microseconds do not fit Arrow's
/// nanoseconds (a value no writer produces, so a corrupt one).
pub(crate) fn unpack_interval(packed: i128) -> Option<IntervalMonthDayNano> {
    // Each step takes the low bits of what is left, as signed: the inverse of the sums modulo
    // 2^128 in `pack_interval`.
    let micros = packed as i64;
    let rest = (packed.wrapping_sub(i128::from(micros)) >> 64) as i64;
    let days = rest as i32;
    let months = (rest.wrapping_sub(i64::from(days)) >> 32) as i32;
    Some(IntervalMonthDayNano::new(
        months,
        days,
        micros.checked_mul(1000)?,
    ))
}

/// One array's worth of a block's values: a contiguous run of rows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Piece<'a> {
    pub(crate) values: Values<'a>,
    pub(crate) nulls: Option<&'a NullBuffer>,
}

impl<'a> Piece<'a> {
    /// Views `array` as a column of type `ty`; an array of another Arrow type is the caller's bug.
    pub(crate) fn new(ty: SqlType, array: &'a dyn Array) -> Result<Piece<'a>> {
        let values = match ty {
            SqlType::Boolean => array.as_boolean_opt().map(Values::Boolean),
            SqlType::SmallInt => array
                .as_primitive_opt::<Int16Type>()
                .map(|a| Values::Int16(a.values())),
            SqlType::Integer => array
                .as_primitive_opt::<Int32Type>()
                .map(|a| Values::Int32(a.values())),
            SqlType::Date => array
                .as_primitive_opt::<Date32Type>()
                .map(|a| Values::Int32(a.values())),
            SqlType::BigInt => array
                .as_primitive_opt::<Int64Type>()
                .map(|a| Values::Int64(a.values())),
            SqlType::Timestamp | SqlType::Timestamptz => array
                .as_primitive_opt::<TimestampMicrosecondType>()
                .filter(|a| a.data_type() == &ty.arrow_type())
                .map(|a| Values::Int64(a.values())),
            SqlType::Time => array
                .as_primitive_opt::<Time64MicrosecondType>()
                .map(|a| Values::Int64(a.values())),
            SqlType::Interval => match array.as_primitive_opt::<IntervalMonthDayNanoType>() {
                Some(a) => {
                    let whole = a
                        .values()
                        .iter()
                        .enumerate()
                        .all(|(i, v)| a.is_null(i) || v.nanoseconds % 1000 == 0);
                    if !whole {
                        return Err(Error::Internal(
                            "an interval value has a fraction of a microsecond".into(),
                        ));
                    }
                    Some(Values::Interval(a.values()))
                }
                None => None,
            },
            SqlType::Real => array
                .as_primitive_opt::<Float32Type>()
                .map(|a| Values::Float32(a.values())),
            SqlType::Double => array
                .as_primitive_opt::<Float64Type>()
                .map(|a| Values::Float64(a.values())),
            SqlType::Decimal { .. } => array
                .as_primitive_opt::<Decimal128Type>()
                .filter(|a| a.data_type() == &ty.arrow_type())
                .map(|a| Values::Int128(a.values())),
            SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text => {
                array.as_string_opt::<i32>().map(Values::Utf8)
            }
            SqlType::Array { .. } => None,
        };
        let values = values.ok_or_else(|| {
            Error::Internal(format!(
                "a {} column was given an Arrow array of type {}",
                ty,
                array.data_type()
            ))
        })?;
        Ok(Piece {
            values,
            // For the types Basalt stores, physical nulls are the logical nulls. A null buffer
            // without nulls is dropped so that "no nulls" has one representation.
            nulls: array.nulls().filter(|n| n.null_count() > 0),
        })
    }

    pub(crate) fn len(&self) -> usize {
        match self.values {
            Values::Boolean(a) => a.len(),
            Values::Int16(v) => v.len(),
            Values::Int32(v) => v.len(),
            Values::Int64(v) => v.len(),
            Values::Float32(v) => v.len(),
            Values::Float64(v) => v.len(),
            Values::Int128(v) => v.len(),
            Values::Interval(v) => v.len(),
            Values::Utf8(a) => a.len(),
        }
    }

    pub(crate) fn null_count(&self) -> usize {
        self.nulls.map_or(0, |n| n.null_count())
    }

    pub(crate) fn is_valid(&self, i: usize) -> bool {
        self.nulls.is_none_or(|n| n.is_valid(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_pack_and_unpack_exactly() {
        // Input: intervals at every corner of the parts' ranges (months and days at i32's ends,
        // microseconds at the largest Arrow nanoseconds hold), mixed signs, and zero.
        let micros_max = i64::MAX / 1000;
        let parts = [
            (0, 0, 0),
            (1, 2, 3),
            (-1, 2, -3),
            (i32::MAX, i32::MAX, micros_max),
            (i32::MIN, i32::MIN, -micros_max),
            (i32::MAX, i32::MIN, -micros_max),
            (i32::MIN, i32::MAX, micros_max),
            (0, -1, 1),
            (0, 0, -1),
        ];
        for (m, d, us) in parts {
            let v = IntervalMonthDayNano::new(m, d, us * 1000);
            let packed = pack_interval(v).unwrap();
            assert_eq!(unpack_interval(packed), Some(v), "{m} {d} {us}");
        }
        // Intervals one microsecond apart pack one apart, across zero.
        let a = pack_interval(IntervalMonthDayNano::new(3, 4, -1000)).unwrap();
        let b = pack_interval(IntervalMonthDayNano::new(3, 4, 0)).unwrap();
        assert_eq!(b - a, 1);
        // The worked examples of docs/segment-format.md.
        assert_eq!(
            pack_interval(IntervalMonthDayNano::new(1, 2, 3000)),
            Some(0x0000_0001_0000_0002_0000_0000_0000_0003)
        );
        assert_eq!(
            pack_interval(IntervalMonthDayNano::new(0, -1, 0)).map(|p| p as u128),
            Some(0xFFFF_FFFF_FFFF_FFFF_0000_0000_0000_0000)
        );
        // A fraction of a microsecond cannot be stored.
        assert_eq!(pack_interval(IntervalMonthDayNano::new(0, 0, 1)), None);
    }

    #[test]
    fn pieces_check_arrow_types() {
        // Input: a TIMESTAMPTZ column given a zoneless timestamp array, and an INTERVAL column
        // given a value with a fraction of a microsecond: both are refused.
        let naive = arrow_array::TimestampMicrosecondArray::from(vec![1]);
        assert!(Piece::new(SqlType::Timestamptz, &naive).is_err());
        let odd =
            arrow_array::IntervalMonthDayNanoArray::from(vec![IntervalMonthDayNano::new(0, 0, 1)]);
        assert!(Piece::new(SqlType::Interval, &odd).is_err());
        let tz = naive.with_timezone(crate::types::TIMESTAMPTZ_ZONE);
        assert!(Piece::new(SqlType::Timestamptz, &tz).is_ok());
    }
}
