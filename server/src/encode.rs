//! Arrow batches to DataRow messages, in text or binary format per column.
//!
//! The text format is [`basalt_engine::pgtext`]'s, byte for byte what PostgreSQL prints. The
//! binary format is PostgreSQL's `*send` functions: big-endian integers and floats, one byte for
//! a boolean, UTF-8 for strings, days and microseconds since 2000-01-01 for dates and
//! timestamps, and NUMERIC as base-10000 digits.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    IntervalMonthDayNanoType, Time64MicrosecondType, TimestampMicrosecondType,
};
use arrow_array::{Array, RecordBatch};
use basalt_engine::pgtext::Zone;
use basalt_engine::{pgtext, SqlType};
use bytes::{BufMut, BytesMut};
use pgwire::api::results::FieldFormat;
use pgwire::messages::data::DataRow;

use crate::sqlstate::{code, SqlError};
use crate::types::ResultFormats;

/// Days from 1970-01-01 (Arrow's epoch) to 2000-01-01 (PostgreSQL's).
pub(crate) const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 00:00 to 2000-01-01 00:00.
pub(crate) const PG_EPOCH_MICROS: i64 = PG_EPOCH_DAYS as i64 * 86_400 * 1_000_000;

/// Most columns a RowDescription can carry (PostgreSQL's own limit is lower, 1664).
pub(crate) const COLUMNS_MAX: usize = i16::MAX as usize;

/// Encodes the rows of one result, column types and formats fixed up front.
#[derive(Debug)]
pub(crate) struct RowEncoder {
    types: Vec<SqlType>,
    formats: Vec<FieldFormat>,
    /// The session's time zone, in which TIMESTAMPTZ text is written.
    zone: Zone,
    /// Reused for each text value.
    text: String,
    /// Bytes per row of the last chunk, to size the next chunk's buffer in one allocation.
    row_bytes_hint: usize,
}

impl RowEncoder {
    /// An encoder for columns of `types`, sent in `formats`.
    pub(crate) fn new(
        types: Vec<SqlType>,
        formats: &ResultFormats,
        zone: Zone,
    ) -> Result<Self, SqlError> {
        if types.len() > COLUMNS_MAX {
            return Err(SqlError::error(
                code::TOO_MANY_COLUMNS,
                format!(
                    "a result can have at most {COLUMNS_MAX} columns, this one has {}",
                    types.len()
                ),
            ));
        }
        let formats = (0..types.len()).map(|i| formats.format(i)).collect();
        Ok(RowEncoder {
            types,
            formats,
            zone,
            text: String::new(),
            row_bytes_hint: 64,
        })
    }

    /// Checks that `batch` has the columns the result described, so encoding cannot fail on a
    /// type mismatch (which would be an engine bug).
    pub(crate) fn check(&self, batch: &RecordBatch) -> Result<(), SqlError> {
        if batch.num_columns() != self.types.len() {
            return Err(SqlError::internal(format!(
                "result batch has {} columns but the result describes {}",
                batch.num_columns(),
                self.types.len()
            )));
        }
        for (i, (column, ty)) in batch.columns().iter().zip(&self.types).enumerate() {
            let expected = ty.arrow_type();
            if column.data_type() != &expected {
                return Err(SqlError::internal(format!(
                    "result column {} is {} in Arrow but {} in SQL (expected {})",
                    i + 1,
                    column.data_type(),
                    ty,
                    expected
                )));
            }
        }
        Ok(())
    }

    /// Encodes rows `rows` of a batch that passed [`RowEncoder::check`].
    pub(crate) fn encode(
        &mut self,
        batch: &RecordBatch,
        rows: std::ops::Range<usize>,
    ) -> Result<Vec<DataRow>, SqlError> {
        let mut out = Vec::with_capacity(rows.len());
        // Field count fits: `new` rejected more than i16::MAX columns.
        let field_count = self.types.len() as i16;
        // One buffer for the chunk, each row split off it: no allocation per row (a row that
        // outgrows what is left starts a new buffer).
        let mut data = BytesMut::with_capacity(self.row_bytes_hint.saturating_mul(rows.len()));
        let mut written = 0usize;
        for row in rows {
            for (i, column) in batch.columns().iter().enumerate() {
                let array = column.as_ref();
                if array.is_null(row) {
                    data.put_i32(-1);
                    continue;
                }
                let ty = self.types[i];
                match self.formats[i] {
                    FieldFormat::Text => {
                        self.text.clear();
                        pgtext::write_value(&mut self.text, array, row, ty, self.zone);
                        put_value(&mut data, self.text.as_bytes())?;
                    }
                    FieldFormat::Binary => {
                        let start = data.len();
                        data.put_i32(0);
                        write_binary(&mut data, array, row, ty)?;
                        let len = value_len(data.len() - start - 4)?;
                        data[start..start + 4].copy_from_slice(&len.to_be_bytes());
                    }
                }
            }
            written += data.len();
            out.push(DataRow::new(data.split(), field_count));
        }
        if !out.is_empty() {
            // A little over the average, so the next chunk's buffer rarely grows.
            self.row_bytes_hint = (written / out.len()).saturating_add(8);
        }
        Ok(out)
    }
}

fn value_len(len: usize) -> Result<i32, SqlError> {
    i32::try_from(len).map_err(|_| {
        SqlError::error(
            code::OUT_OF_MEMORY,
            format!("a value of {len} bytes is too large to send"),
        )
    })
}

fn put_value(data: &mut BytesMut, bytes: &[u8]) -> Result<(), SqlError> {
    data.put_i32(value_len(bytes.len())?);
    data.put_slice(bytes);
    Ok(())
}

/// Appends the binary form of `array[row]` (valid, and of `ty`'s Arrow type) to `out`.
pub(crate) fn write_binary(
    out: &mut BytesMut,
    array: &dyn Array,
    row: usize,
    ty: SqlType,
) -> Result<(), SqlError> {
    let mismatch = || SqlError::internal(format!("result column is not of type {ty}"));
    match ty {
        SqlType::SmallInt => out.put_i16(
            array
                .as_primitive_opt::<Int16Type>()
                .ok_or_else(mismatch)?
                .value(row),
        ),
        SqlType::Integer => out.put_i32(
            array
                .as_primitive_opt::<Int32Type>()
                .ok_or_else(mismatch)?
                .value(row),
        ),
        SqlType::BigInt => out.put_i64(
            array
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(mismatch)?
                .value(row),
        ),
        SqlType::Real => out.put_f32(
            array
                .as_primitive_opt::<Float32Type>()
                .ok_or_else(mismatch)?
                .value(row),
        ),
        SqlType::Double => out.put_f64(
            array
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(mismatch)?
                .value(row),
        ),
        SqlType::Boolean => {
            let v = array.as_boolean_opt().ok_or_else(mismatch)?.value(row);
            out.put_u8(u8::from(v));
        }
        SqlType::Decimal { scale, .. } => {
            let v = array
                .as_primitive_opt::<Decimal128Type>()
                .ok_or_else(mismatch)?
                .value(row);
            write_numeric(out, v, scale);
        }
        SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text => {
            let v = array
                .as_string_opt::<i32>()
                .ok_or_else(mismatch)?
                .value(row);
            out.put_slice(v.as_bytes());
        }
        SqlType::Date => {
            let days = array
                .as_primitive_opt::<Date32Type>()
                .ok_or_else(mismatch)?
                .value(row);
            out.put_i32(date_to_pg(days)?);
        }
        SqlType::Timestamp => {
            let micros = array
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or_else(mismatch)?
                .value(row);
            out.put_i64(timestamp_to_pg(micros)?);
        }
        SqlType::Time => {
            let micros = array
                .as_primitive_opt::<Time64MicrosecondType>()
                .ok_or_else(mismatch)?
                .value(row);
            out.put_i64(micros);
        }
        SqlType::Timestamptz => {
            let micros = array
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or_else(mismatch)?
                .value(row);
            out.put_i64(timestamp_to_pg(micros)?);
        }
        SqlType::Interval => {
            // PostgreSQL's interval_send: microseconds, days, months.
            let v = array
                .as_primitive_opt::<IntervalMonthDayNanoType>()
                .ok_or_else(mismatch)?
                .value(row);
            out.put_i64(v.nanoseconds / 1000);
            out.put_i32(v.days);
            out.put_i32(v.months);
        }
        SqlType::Array { element } => {
            // PostgreSQL's array_send: dimensions, a has-NULLs flag, the element type, each
            // dimension's length and lower bound (1), then each element length-prefixed (-1
            // for NULL). An empty array has no dimensions.
            let items = array.as_list_opt::<i32>().ok_or_else(mismatch)?.value(row);
            let element_ty = element.sql_type();
            let len = i32::try_from(items.len())
                .map_err(|_| SqlError::internal("array of more than 2^31 elements"))?;
            out.put_i32(i32::from(len > 0));
            out.put_i32(i32::from(items.null_count() > 0));
            // A vector's elements are int2 or oid, subscripted from 0.
            let element_oid = match element {
                basalt_storage::types::ArrayElement::OidVector => pgwire::api::Type::OID.oid(),
                _ => crate::types::pg_type(element_ty).oid(),
            };
            out.put_u32(element_oid);
            if len > 0 {
                out.put_i32(len);
                out.put_i32(i32::from(!element.is_vector()));
            }
            for i in 0..items.len() {
                if items.is_null(i) {
                    out.put_i32(-1);
                    continue;
                }
                let start = out.len();
                out.put_i32(0);
                write_binary(out, items.as_ref(), i, element_ty)?;
                let n = value_len(out.len() - start - 4)?;
                out[start..start + 4].copy_from_slice(&n.to_be_bytes());
            }
        }
    }
    Ok(())
}

/// Days since 1970-01-01 to days since 2000-01-01.
fn date_to_pg(days: i32) -> Result<i32, SqlError> {
    days.checked_sub(PG_EPOCH_DAYS)
        .ok_or_else(|| SqlError::error(code::DATETIME_FIELD_OVERFLOW, "date out of range"))
}

/// Microseconds since 1970-01-01 to microseconds since 2000-01-01.
fn timestamp_to_pg(micros: i64) -> Result<i64, SqlError> {
    micros
        .checked_sub(PG_EPOCH_MICROS)
        .ok_or_else(|| SqlError::error(code::DATETIME_FIELD_OVERFLOW, "timestamp out of range"))
}

/// NUMERIC's sign word for a positive or zero value.
const NUMERIC_POS: u16 = 0x0000;
/// NUMERIC's sign word for a negative value.
const NUMERIC_NEG: u16 = 0x4000;

/// Appends `value * 10^-scale` in PostgreSQL's binary NUMERIC format:
///
/// ```text
/// ndigits: i16 | weight: i16 | sign: u16 | dscale: u16 | ndigits x digit: i16 (0..=9999)
/// ```
///
/// The value is `sum(digit[i] * 10000^(weight - i))`; leading and trailing zero digits are
/// dropped, and zero has no digits and weight 0. `dscale` is the column's scale, so `1.50` in
/// a NUMERIC(5,2) reads back as `1.50`.
pub fn write_numeric(out: &mut BytesMut, value: i128, scale: i8) {
    if !write_numeric_fast(out, value, scale) {
        write_numeric_digits(out, value, scale);
    }
}

/// Magnitudes below this, times at most 10^3 (aligning the scale to whole base-10000 digits),
/// fit a `u128`.
const NUMERIC_FAST_MAGNITUDE_MAX: u128 = 10u128.pow(35);

/// [`write_numeric`] by integer arithmetic, without allocating: for scales from 0 and
/// magnitudes below [`NUMERIC_FAST_MAGNITUDE_MAX`] (every DECIMAL a table usually holds).
/// `false`, with nothing written, for any other value.
fn write_numeric_fast(out: &mut BytesMut, value: i128, scale: i8) -> bool {
    let magnitude = value.unsigned_abs();
    if scale < 0 || magnitude >= NUMERIC_FAST_MAGNITUDE_MAX {
        return false;
    }
    let dscale = scale as u32;
    // Pad the fraction on the right to whole base-10000 digits: scale 2 -> times 100.
    let pad = (4 - dscale % 4) % 4;
    let mut rest = magnitude * 10u128.pow(pad);
    let fraction_groups = ((dscale + pad) / 4) as i16;
    // Base-10000 digits, least significant first: 10^35 * 10^3 < 10000^10.
    let mut groups = [0i16; 10];
    let mut len = 0usize;
    while rest > 0 {
        groups[len] = (rest % 10_000) as i16;
        rest /= 10_000;
        len += 1;
    }
    // Trailing zero digits are dropped; the weight counts from the most significant digit.
    let weight = if len == 0 {
        0
    } else {
        len as i16 - 1 - fraction_groups
    };
    let mut low = 0;
    while low < len && groups[low] == 0 {
        low += 1;
    }
    let digits = &groups[low..len];
    out.reserve(8 + 2 * digits.len());
    out.put_i16(digits.len() as i16);
    out.put_i16(weight);
    out.put_u16(if value < 0 && !digits.is_empty() {
        NUMERIC_NEG
    } else {
        NUMERIC_POS
    });
    out.put_u16(dscale as u16);
    for g in digits.iter().rev() {
        out.put_i16(*g);
    }
    true
}

/// [`write_numeric`] on decimal digits: exact for every i128 and every scale.
fn write_numeric_digits(out: &mut BytesMut, value: i128, scale: i8) {
    let mut digits = value.unsigned_abs().to_string();
    let dscale = if scale < 0 {
        // A negative scale multiplies by a power of ten; there are no fractional digits.
        if value != 0 {
            digits.extend(std::iter::repeat_n('0', usize::from(scale.unsigned_abs())));
        }
        0
    } else {
        scale as usize
    };
    let (int_part, frac_part) = if digits.len() > dscale {
        let split = digits.len() - dscale;
        (digits[..split].to_string(), digits[split..].to_string())
    } else {
        let mut frac = "0".repeat(dscale - digits.len());
        frac.push_str(&digits);
        (String::new(), frac)
    };
    // Pad the integer part on the left and the fraction on the right to whole base-10000
    // digits: "123" "45" -> "0123" "4500".
    let int_padded = format!("{}{int_part}", "0".repeat((4 - int_part.len() % 4) % 4));
    let frac_padded = format!("{frac_part}{}", "0".repeat((4 - frac_part.len() % 4) % 4));
    let int_groups = int_padded.len() / 4;
    let mut groups: Vec<i16> = int_padded
        .as_bytes()
        .chunks(4)
        .chain(frac_padded.as_bytes().chunks(4))
        .map(|chunk| {
            chunk
                .iter()
                .fold(0i16, |acc, d| acc * 10 + i16::from(d - b'0'))
        })
        .collect();
    // i128 has at most 39 digits plus 127 zeros of negative scale: 42 groups, so the
    // weight fits an i16.
    let mut weight = int_groups as i16 - 1;
    let leading_zeros = groups.iter().take_while(|g| **g == 0).count();
    groups.drain(..leading_zeros);
    weight -= leading_zeros as i16;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let sign = if value < 0 && !groups.is_empty() {
        NUMERIC_NEG
    } else {
        NUMERIC_POS
    };
    out.put_i16(groups.len() as i16);
    out.put_i16(weight);
    out.put_u16(sign);
    // PostgreSQL's NUMERIC scale is at most 16383; an i8 scale always fits.
    out.put_u16(dscale as u16);
    for g in groups {
        out.put_i16(g);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        BooleanArray, Date32Array, Decimal128Array, Int32Array, StringArray,
        TimestampMicrosecondArray,
    };

    use super::*;

    fn numeric(value: i128, scale: i8) -> Vec<u8> {
        let mut out = BytesMut::new();
        write_numeric(&mut out, value, scale);
        out.to_vec()
    }

    // Input: values of every magnitude from 0 to 10^36 (each power of ten, its neighbours and
    // a spread of digit patterns), both signs, scales 0 to 38: the integer fast path writes
    // exactly what the decimal-digit path writes, or declines.
    #[test]
    fn numeric_fast_path_matches_the_digit_path() {
        let mut values = vec![0i128, 1, 9999, 10_000, 10_001, 123_456_789];
        let mut p = 1i128;
        for _ in 0..36 {
            p *= 10;
            values.extend([p - 1, p, p + 1, p / 7 * 3 + 17, p / 3]);
        }
        for v in values {
            for v in [v, -v] {
                for scale in 0..=38i8 {
                    let mut fast = BytesMut::new();
                    let mut slow = BytesMut::new();
                    write_numeric_digits(&mut slow, v, scale);
                    if write_numeric_fast(&mut fast, v, scale) {
                        assert_eq!(fast, slow, "{v} scale {scale}");
                    } else {
                        assert!(fast.is_empty());
                        assert!(v.unsigned_abs() >= NUMERIC_FAST_MAGNITUDE_MAX);
                    }
                }
            }
        }
    }

    // Byte sequences from PostgreSQL 15's numeric_send, e.g.
    // `SELECT numeric_send(123.45::numeric(10,2))` = \x0002000000000002007b1194.
    #[test]
    fn numeric_binary_matches_postgres() {
        assert_eq!(
            numeric(12345, 2),
            [0, 2, 0, 0, 0, 0, 0, 2, 0x00, 0x7b, 0x11, 0x94]
        );
        // -0.0001: one digit 1 at weight -1, negative.
        assert_eq!(numeric(-1, 4), [0, 1, 0xff, 0xff, 0x40, 0, 0, 4, 0, 1]);
        // 10000: one digit 1 at weight 1, the trailing zero group dropped.
        assert_eq!(numeric(10000, 0), [0, 1, 0, 1, 0, 0, 0, 0, 0, 1]);
        // 0.00: no digits, weight 0, dscale 2.
        assert_eq!(numeric(0, 2), [0, 0, 0, 0, 0, 0, 0, 2]);
        // 1.50 keeps dscale 2 though the digits are 1, 5000.
        assert_eq!(numeric(150, 2), [0, 2, 0, 0, 0, 0, 0, 2, 0, 1, 0x13, 0x88]);
        // 12345678.9: digits 1234, 5678, 9000 with weight 1.
        assert_eq!(
            numeric(123456789, 1),
            [0, 3, 0, 1, 0, 0, 0, 1, 0x04, 0xd2, 0x16, 0x2e, 0x23, 0x28]
        );
        // 1.2e3 stored with scale -2 as 12: 1200 is one digit.
        assert_eq!(numeric(12, -2), [0, 1, 0, 0, 0, 0, 0, 0, 0x04, 0xb0]);
    }

    // The largest Decimal128 magnitudes encode without overflow.
    #[test]
    fn numeric_binary_handles_extremes() {
        let max = numeric(i128::MAX, 0);
        let ndigits = i16::from_be_bytes([max[0], max[1]]);
        assert_eq!(ndigits, 10);
        let min = numeric(i128::MIN, 38);
        assert_eq!(u16::from_be_bytes([min[4], min[5]]), NUMERIC_NEG);
        assert_eq!(u16::from_be_bytes([min[6], min[7]]), 38);
        let scaled = numeric(i128::MAX, -127);
        assert!(scaled.len() > 8);
    }

    // One row of several types in binary, one in text, with a NULL.
    #[test]
    fn rows_encode_per_format() {
        let batch = RecordBatch::try_from_iter([
            (
                "i",
                Arc::new(Int32Array::from(vec![Some(7), None])) as Arc<dyn Array>,
            ),
            (
                "s",
                Arc::new(StringArray::from(vec![Some("hé"), Some("x")])) as Arc<dyn Array>,
            ),
            (
                "b",
                Arc::new(BooleanArray::from(vec![true, false])) as Arc<dyn Array>,
            ),
            (
                "d",
                Arc::new(Date32Array::from(vec![10_958, 0])) as Arc<dyn Array>,
            ),
            (
                "t",
                Arc::new(TimestampMicrosecondArray::from(vec![
                    PG_EPOCH_MICROS + 1,
                    0,
                ])) as Arc<dyn Array>,
            ),
            (
                "n",
                Arc::new(
                    Decimal128Array::from(vec![150, -5])
                        .with_precision_and_scale(5, 2)
                        .unwrap(),
                ) as Arc<dyn Array>,
            ),
        ])
        .unwrap();
        let types = vec![
            SqlType::Integer,
            SqlType::Text,
            SqlType::Boolean,
            SqlType::Date,
            SqlType::Timestamp,
            SqlType::Decimal {
                precision: 5,
                scale: 2,
            },
        ];
        let mut binary =
            RowEncoder::new(types.clone(), &ResultFormats::AllBinary, Zone::UTC).unwrap();
        binary.check(&batch).unwrap();
        let rows = binary.encode(&batch, 0..2).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].field_count, 6);
        let expected: Vec<u8> = [
            &[0, 0, 0, 4, 0, 0, 0, 7][..],
            &[0, 0, 0, 3, b'h', 0xc3, 0xa9],
            &[0, 0, 0, 1, 1],
            &[0, 0, 0, 4, 0, 0, 0, 1],
            &[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1],
            &[0, 0, 0, 12, 0, 2, 0, 0, 0, 0, 0, 2, 0, 1, 0x13, 0x88],
        ]
        .concat();
        assert_eq!(rows[0].data.to_vec(), expected);
        assert_eq!(&rows[1].data[..4], &[0xff, 0xff, 0xff, 0xff]);

        let mut text = RowEncoder::new(types, &ResultFormats::AllText, Zone::UTC).unwrap();
        let rows = text.encode(&batch, 1..2).unwrap();
        let expected: Vec<u8> = [
            &[0xff, 0xff, 0xff, 0xff][..],
            &[0, 0, 0, 1, b'x'],
            &[0, 0, 0, 1, b'f'],
            &[0, 0, 0, 10],
            b"1970-01-01",
            &[0, 0, 0, 19],
            b"1970-01-01 00:00:00",
            &[0, 0, 0, 5],
            b"-0.05",
        ]
        .concat();
        assert_eq!(rows[0].data.to_vec(), expected);
    }

    // A batch whose Arrow types disagree with the described SQL types is an error, not a panic.
    #[test]
    fn mismatched_batch_is_rejected() {
        let batch = RecordBatch::try_from_iter([(
            "i",
            Arc::new(Int32Array::from(vec![1])) as Arc<dyn Array>,
        )])
        .unwrap();
        let encoder =
            RowEncoder::new(vec![SqlType::BigInt], &ResultFormats::AllText, Zone::UTC).unwrap();
        let err = encoder.check(&batch).unwrap_err();
        assert_eq!(err.code, "XX000");
        let encoder = RowEncoder::new(
            vec![SqlType::BigInt, SqlType::Text],
            &ResultFormats::AllText,
            Zone::UTC,
        )
        .unwrap();
        assert!(encoder.check(&batch).is_err());
    }
}
