//! Building Arrow arrays from decoded blocks: one [`ColumnBuilder`] per projected column
//! collects every block of that column in a segment, then becomes one Arrow array.

use std::sync::Arc;

use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    IntervalMonthDayNanoType, Time64MicrosecondType, TimestampMicrosecondType,
};
use arrow_array::{ArrayRef, BooleanArray, PrimitiveArray, StringArray};
use arrow_buffer::{BooleanBufferBuilder, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};

use crate::segment::physical::{unpack_interval, PhysicalType};
use crate::types::{SqlType, TIMESTAMPTZ_ZONE};

/// Fixed-width values as they are persisted: little-endian, `WIDTH` bytes each.
pub(crate) trait LeValue: Copy + Default {
    const WIDTH: usize;
    fn put_le(self, out: &mut Vec<u8>);
    /// Reads one value from exactly `WIDTH` bytes (the caller slices with `chunks_exact`).
    fn from_le_chunk(chunk: &[u8]) -> Self;
}

macro_rules! le_value {
    ($($t:ty),*) => {$(
        impl LeValue for $t {
            const WIDTH: usize = std::mem::size_of::<$t>();
            fn put_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn from_le_chunk(chunk: &[u8]) -> Self {
                let mut bytes = [0u8; std::mem::size_of::<$t>()];
                bytes.copy_from_slice(chunk);
                <$t>::from_le_bytes(bytes)
            }
        }
    )*};
}
le_value!(u32, i16, i32, i64, f32, f64, i128);

/// Decoded values of one column, by physical type.
#[derive(Debug)]
pub(crate) enum ColumnValues {
    Boolean(BooleanBufferBuilder),
    Int16(Vec<i16>),
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Float32(Vec<f32>),
    Float64(Vec<f64>),
    Int128(Vec<i128>),
    /// Arrow `Utf8` offsets (starting with 0) and value bytes.
    Utf8 {
        offsets: Vec<i32>,
        bytes: Vec<u8>,
    },
}

/// Accumulates one column's blocks.
#[derive(Debug)]
pub(crate) struct ColumnBuilder {
    ty: SqlType,
    pub(crate) values: ColumnValues,
    validity: BooleanBufferBuilder,
    null_count: usize,
    len: usize,
}

impl ColumnBuilder {
    /// A builder for `rows` values of type `ty` (`rows` only sizes the allocations).
    pub(crate) fn new(ty: SqlType, rows: usize) -> ColumnBuilder {
        let values = match PhysicalType::of(ty) {
            PhysicalType::Boolean => ColumnValues::Boolean(BooleanBufferBuilder::new(rows)),
            PhysicalType::Int16 => ColumnValues::Int16(Vec::with_capacity(rows)),
            PhysicalType::Int32 => ColumnValues::Int32(Vec::with_capacity(rows)),
            PhysicalType::Int64 => ColumnValues::Int64(Vec::with_capacity(rows)),
            PhysicalType::Float32 => ColumnValues::Float32(Vec::with_capacity(rows)),
            PhysicalType::Float64 => ColumnValues::Float64(Vec::with_capacity(rows)),
            PhysicalType::Int128 => ColumnValues::Int128(Vec::with_capacity(rows)),
            PhysicalType::Utf8 => {
                let mut offsets = Vec::with_capacity(rows + 1);
                offsets.push(0);
                ColumnValues::Utf8 {
                    offsets,
                    bytes: Vec::new(),
                }
            }
        };
        ColumnBuilder {
            ty,
            values,
            validity: BooleanBufferBuilder::new(rows),
            null_count: 0,
            len: 0,
        }
    }

    /// Records the validity of a block of `rows` values: `bitmap` (LSB first, a set bit is a
    /// non-NULL value, at least `ceil(rows / 8)` bytes, checked by the caller) or all valid.
    pub(crate) fn push_validity(&mut self, rows: usize, bitmap: Option<&[u8]>, nulls: usize) {
        match bitmap {
            Some(bits) => self.validity.append_packed_range(0..rows, bits),
            None => self.validity.append_n(rows, true),
        }
        self.null_count += nulls;
        self.len += rows;
    }

    /// The column's SQL type.
    pub(crate) fn ty(&self) -> SqlType {
        self.ty
    }

    /// Values pushed so far, for checking that a block decoded to its row count.
    pub(crate) fn values_len(&self) -> usize {
        match &self.values {
            ColumnValues::Boolean(b) => b.len(),
            ColumnValues::Int16(v) => v.len(),
            ColumnValues::Int32(v) => v.len(),
            ColumnValues::Int64(v) => v.len(),
            ColumnValues::Float32(v) => v.len(),
            ColumnValues::Float64(v) => v.len(),
            ColumnValues::Int128(v) => v.len(),
            ColumnValues::Utf8 { offsets, .. } => offsets.len() - 1,
        }
    }

    /// Rows whose validity has been pushed.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The finished Arrow array, typed `self.ty.arrow_type()`.
    pub(crate) fn finish(mut self) -> Result<ArrayRef, String> {
        if self.values_len() != self.len {
            return Err(format!(
                "{} values decoded for {} rows",
                self.values_len(),
                self.len
            ));
        }
        let nulls = if self.null_count > 0 {
            let nulls = NullBuffer::new(self.validity.finish());
            if nulls.null_count() != self.null_count {
                return Err(format!(
                    "validity bitmaps hold {} NULLs, block headers say {}",
                    nulls.null_count(),
                    self.null_count
                ));
            }
            Some(nulls)
        } else {
            None
        };
        let ty = self.ty;
        let array: ArrayRef = match self.values {
            ColumnValues::Boolean(mut b) => Arc::new(BooleanArray::new(b.finish(), nulls)),
            ColumnValues::Int16(v) => primitive::<Int16Type>(v, nulls),
            ColumnValues::Int32(v) => match ty {
                SqlType::Date => primitive::<Date32Type>(v, nulls),
                _ => primitive::<Int32Type>(v, nulls),
            },
            ColumnValues::Int64(v) => match ty {
                SqlType::Timestamp => primitive::<TimestampMicrosecondType>(v, nulls),
                SqlType::Timestamptz => Arc::new(
                    PrimitiveArray::<TimestampMicrosecondType>::new(ScalarBuffer::from(v), nulls)
                        .with_timezone(TIMESTAMPTZ_ZONE),
                ),
                SqlType::Time => primitive::<Time64MicrosecondType>(v, nulls),
                _ => primitive::<Int64Type>(v, nulls),
            },
            ColumnValues::Int128(v) if ty == SqlType::Interval => {
                let values = v
                    .into_iter()
                    .map(|p| {
                        unpack_interval(p).ok_or_else(|| format!("interval value {p} out of range"))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                primitive::<IntervalMonthDayNanoType>(values, nulls)
            }
            ColumnValues::Float32(v) => primitive::<Float32Type>(v, nulls),
            ColumnValues::Float64(v) => primitive::<Float64Type>(v, nulls),
            ColumnValues::Int128(v) => {
                let SqlType::Decimal { precision, scale } = ty else {
                    return Err(format!("128-bit values for a {ty} column"));
                };
                Arc::new(
                    PrimitiveArray::<Decimal128Type>::new(ScalarBuffer::from(v), nulls)
                        .with_precision_and_scale(precision, scale)
                        .map_err(|e| e.to_string())?,
                )
            }
            ColumnValues::Utf8 { offsets, bytes } => {
                // The decoder checked that offsets start at 0 and never decrease, which is what
                // `OffsetBuffer::new` asserts; `try_new` then checks the bytes are UTF-8.
                let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
                Arc::new(
                    StringArray::try_new(offsets, Buffer::from_vec(bytes), nulls)
                        .map_err(|e| e.to_string())?,
                )
            }
        };
        debug_assert_eq!(array.data_type(), &ty.arrow_type());
        Ok(array)
    }
}

fn primitive<T: arrow_array::ArrowPrimitiveType>(
    values: Vec<T::Native>,
    nulls: Option<NullBuffer>,
) -> ArrayRef {
    Arc::new(PrimitiveArray::<T>::new(ScalarBuffer::from(values), nulls))
}
