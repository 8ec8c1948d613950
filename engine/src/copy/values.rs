//! One loaded field to one column value, and columns of values to Arrow arrays.
//!
//! Text goes through the engine's own input functions (`types::datum`), so COPY and INSERT
//! accept the same spellings; COPY's options (NULL AS, EMPTYASNULL, BLANKSASNULL, TRIMBLANKS,
//! TRUNCATECOLUMNS, DATEFORMAT, TIMEFORMAT) act around them.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder, Float64Builder, Int16Builder,
    Int32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::ArrayRef;
use basalt_storage::SqlType;

use crate::copy::options::{CopyOptions, TimeFormat};
use crate::error::{Error, Result};
use crate::pgtext::days_from_civil;
use crate::types::datum::{
    check_decimal_precision, parse_bool, parse_date, parse_decimal_text, parse_float, parse_int,
    parse_timestamp, rescale_decimal,
};
use crate::types::range::{self, MICROS_PER_DAY};
use crate::types::{display_name, Datum};

/// Reads one field for a column of type `ty`. `raw` is the field after unescaping; `None` is
/// a field that is NULL already (the NULL AS string, or a JSON null).
pub fn convert(raw: Option<&str>, ty: SqlType, o: &CopyOptions) -> Result<Datum> {
    let Some(s) = raw else {
        return Ok(Datum::Null);
    };
    if ty.is_string() {
        if s.is_empty() && o.empty_as_null {
            return Ok(Datum::Null);
        }
        if o.blanks_as_null && !s.is_empty() && s.trim().is_empty() {
            return Ok(Datum::Null);
        }
        let s = if o.trim_blanks { s.trim_end() } else { s };
        return fit_text(s, ty, o.truncate_columns).map(Datum::Text);
    }
    // Empty fields of other types are always NULL, as in Redshift (PostgreSQL rejects them).
    if !o.postgres && s.trim().is_empty() {
        return Ok(Datum::Null);
    }
    Ok(match ty {
        SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => Datum::Int(parse_int(s, ty)?),
        SqlType::Decimal { precision, scale } => {
            let (v, from) = parse_decimal_text(s)?;
            let v = rescale_decimal(v, from, scale).ok_or_else(|| Error::NumericOutOfRange {
                message: "numeric field overflow".into(),
            })?;
            check_decimal_precision(v, precision, scale)?;
            Datum::Decimal(v, scale)
        }
        SqlType::Real | SqlType::Double => Datum::Float(parse_float(s, ty)?),
        SqlType::Boolean => Datum::Boolean(parse_bool(s)?),
        SqlType::Date => Datum::Date(read_date(s, &o.date_format)?),
        SqlType::Timestamp => Datum::Timestamp(read_timestamp(s, &o.time_format)?),
        // TIMEFORMAT patterns apply to TIMESTAMP only; these read as PostgreSQL reads them.
        SqlType::Timestamptz => {
            Datum::Timestamptz(crate::types::temporal::parse_timestamptz_with(s, o.zone)?)
        }
        SqlType::Time | SqlType::Interval => Datum::parse(s, ty)?,
        SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text => {
            Datum::Text(s.to_string())
        }
        SqlType::Array { .. } => Datum::parse(s, ty)?,
    })
}

/// [`convert`] for the spellings almost every loaded number and date has, read from the
/// field's bytes without decoding them as text: `-123` for an integer, `-123.45` with at most
/// the column's scale of fraction digits for a DECIMAL, `YYYY-MM-DD` for a DATE (under the
/// default or 'auto' DATEFORMAT). `None` for anything else, which [`convert`] reads (and
/// rejects, when it must): a value this returns is the one `convert` gives.
pub fn convert_plain(b: &[u8], ty: SqlType, o: &CopyOptions) -> Option<Datum> {
    match ty {
        SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => {
            let (neg, digits) = sign(b);
            let v = plain_digits(digits)? as i64;
            let v = if neg { -v } else { v };
            let (lo, hi) = crate::types::datum::int_range(ty);
            (lo..=hi).contains(&v).then_some(Datum::Int(v))
        }
        SqlType::Decimal { precision, scale } => {
            let (neg, body) = sign(b);
            let (int, frac) = match body.iter().position(|&c| c == b'.') {
                Some(i) => (&body[..i], &body[i + 1..]),
                None => (body, &[][..]),
            };
            let scale = u32::try_from(scale).ok()?;
            if int.is_empty() || frac.len() as u32 > scale || body.len() == int.len() + 1 {
                return None;
            }
            // At most 18 digits at the column's scale, so that the u64 cannot overflow.
            if int.len() as u32 + scale > 18 {
                return None;
            }
            let mut v = plain_digits(int)?;
            if !frac.is_empty() {
                v = v * 10u64.pow(frac.len() as u32) + plain_digits(frac)?;
            }
            let v = i128::from(v * 10u64.pow(scale - frac.len() as u32));
            if v.unsigned_abs() >= 10u128.pow(u32::from(precision).min(38)) {
                return None;
            }
            Some(Datum::Decimal(if neg { -v } else { v }, scale as i8))
        }
        SqlType::Date if matches!(o.date_format, TimeFormat::Default | TimeFormat::Auto) => {
            if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
                return None;
            }
            let (y, m, d) = (
                plain_digits(&b[..4])?,
                plain_digits(&b[5..7])?,
                plain_digits(&b[8..])?,
            );
            if y == 0 {
                return None;
            }
            let days = days_from_civil(y as i64, m as u32, d as u32)?;
            range::check_date(i64::from(days)).ok().map(Datum::Date)
        }
        _ => None,
    }
}

/// A leading minus sign, and the bytes after it.
fn sign(b: &[u8]) -> (bool, &[u8]) {
    match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    }
}

/// One to eighteen ASCII digits as a number; `None` for anything else.
fn plain_digits(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 18 {
        return None;
    }
    let mut v = 0u64;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u64::from(d);
    }
    Some(v)
}

/// A string for a CHAR(n) / VARCHAR(n) column: too long is an error, or cut at a character
/// boundary with TRUNCATECOLUMNS. CHAR(n) may drop trailing blanks to fit, as PostgreSQL's does.
pub fn fit_text(s: &str, ty: SqlType, truncate: bool) -> Result<String> {
    fitted(s, ty, truncate).map(str::to_string)
}

/// [`fit_text`] as a slice of `s`.
fn fitted(s: &str, ty: SqlType, truncate: bool) -> Result<&str> {
    let limit = match ty {
        SqlType::Char { length } | SqlType::Varchar { length } => length as usize,
        _ => return Ok(s),
    };
    if s.len() <= limit {
        return Ok(s);
    }
    if matches!(ty, SqlType::Char { .. }) && s.trim_end_matches(' ').len() <= limit {
        return Ok(&s[..limit]);
    }
    if truncate {
        let mut end = limit;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        return Ok(&s[..end]);
    }
    Err(Error::StringTooLong {
        message: format!("value too long for type {}({limit})", display_name(ty)),
    })
}

/// [`convert`] for a column of a string type, into `slot`: a `Datum::Text` already there
/// keeps its buffer, so that a load does not allocate a string per field.
pub fn convert_text_into(s: &str, ty: SqlType, o: &CopyOptions, slot: &mut Datum) -> Result<()> {
    if (s.is_empty() && o.empty_as_null)
        || (o.blanks_as_null && !s.is_empty() && s.trim().is_empty())
    {
        *slot = Datum::Null;
        return Ok(());
    }
    let s = if o.trim_blanks { s.trim_end() } else { s };
    let s = fitted(s, ty, o.truncate_columns)?;
    match &mut *slot {
        Datum::Text(buf) => {
            buf.clear();
            buf.push_str(s);
        }
        other => *other = Datum::Text(s.to_string()),
    }
    // CHAR(n) is stored blank-padded: padded here, an ASCII value is not copied again when
    // the load's arrays are fitted to their columns.
    if let (SqlType::Char { length }, Datum::Text(buf)) = (ty, slot) {
        let length = length as usize;
        if buf.len() < length && buf.is_ascii() {
            buf.extend(std::iter::repeat_n(' ', length - buf.len()));
        }
    }
    Ok(())
}

fn bad_date(ty: &str, s: &str) -> Error {
    Error::InvalidDatetime {
        message: format!("invalid input syntax for type {ty}: \"{s}\""),
    }
}

fn read_date(s: &str, f: &TimeFormat) -> Result<i32> {
    // A date read through a timestamp format is that timestamp's date, once it is in range.
    let date_of = |m: i64| range::check_timestamp(m).map(range::timestamp_to_date);
    match f {
        TimeFormat::Default => parse_date(s),
        TimeFormat::Auto => parse_date(s).or_else(|e| auto_micros(s).ok_or(e).and_then(date_of)),
        TimeFormat::EpochSecs | TimeFormat::EpochMillis => {
            date_of(epoch_micros(s, f).ok_or_else(|| bad_date("date", s))?)
        }
        TimeFormat::Pattern(p) => date_of(pattern_micros(s, p).ok_or_else(|| bad_date("date", s))?),
    }
}

fn read_timestamp(s: &str, f: &TimeFormat) -> Result<i64> {
    match f {
        TimeFormat::Default => parse_timestamp(s),
        TimeFormat::Auto => {
            parse_timestamp(s).or_else(|e| auto_micros(s).ok_or(e).and_then(range::check_timestamp))
        }
        TimeFormat::EpochSecs | TimeFormat::EpochMillis => {
            range::check_timestamp(epoch_micros(s, f).ok_or_else(|| bad_date("timestamp", s))?)
        }
        TimeFormat::Pattern(p) => {
            range::check_timestamp(pattern_micros(s, p).ok_or_else(|| bad_date("timestamp", s))?)
        }
    }
}

fn epoch_micros(s: &str, f: &TimeFormat) -> Option<i64> {
    let t = s.trim();
    let (whole, frac) = match t.split_once('.') {
        Some((w, f)) => (w, f),
        None => (t, ""),
    };
    let v: i64 = whole.parse().ok()?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let unit = if *f == TimeFormat::EpochSecs {
        1_000_000
    } else {
        1_000
    };
    let mut m = v.checked_mul(unit)?;
    // Fractional digits below the unit, to microseconds.
    let mut scale = unit / 10;
    for b in frac.bytes() {
        if scale == 0 {
            break;
        }
        m = m.checked_add((b - b'0') as i64 * scale * v.signum().max(1))?;
        scale /= 10;
    }
    Some(m)
}

/// The layouts DATEFORMAT / TIMEFORMAT 'auto' tries after the ISO one.
const AUTO_PATTERNS: &[&str] = &[
    "YYYYMMDD HH24:MI:SS",
    "YYYYMMDD",
    "YYYY/MM/DD HH24:MI:SS",
    "YYYY/MM/DD",
    "MM/DD/YYYY HH24:MI:SS",
    "MM/DD/YYYY",
    "DD-MON-YYYY",
    "MON DD YYYY",
    "YYYY-MM-DDTHH24:MI:SS",
    "YYYY.MM.DD",
];

fn auto_micros(s: &str) -> Option<i64> {
    AUTO_PATTERNS.iter().find_map(|p| pattern_micros(s, p))
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// Reads `s` by a Redshift datetime pattern: YYYY, YY, MM, MON, DD, HH24, HH12, HH, MI, SS,
/// US (microseconds, 1 to 6 digits; `SS.US` or `SS.SSSSSS`), AM/PM; anything else is literal.
/// Returns microseconds since the epoch, or `None` when `s` does not fit.
pub fn pattern_micros(s: &str, pattern: &str) -> Option<i64> {
    let s = s.trim().as_bytes();
    let p = pattern.as_bytes();
    let (mut si, mut pi) = (0usize, 0usize);
    let (mut year, mut month, mut day) = (1970i64, 1u32, 1u32);
    let (mut hour, mut minute, mut second, mut micros) = (0i64, 0i64, 0i64, 0i64);
    let mut pm: Option<bool> = None;
    let digits = |si: &mut usize, max: usize| -> Option<i64> {
        let start = *si;
        while *si < s.len() && *si - start < max && s[*si].is_ascii_digit() {
            *si += 1;
        }
        if *si == start {
            return None;
        }
        std::str::from_utf8(&s[start..*si]).ok()?.parse().ok()
    };
    let upper: Vec<u8> = p.to_ascii_uppercase();
    let starts = |pi: usize, tok: &str| upper[pi..].starts_with(tok.as_bytes());
    while pi < p.len() {
        if starts(pi, "YYYY") {
            year = digits(&mut si, 4)?;
            pi += 4;
        } else if starts(pi, "YY") {
            let y = digits(&mut si, 2)?;
            year = if y < 70 { 2000 + y } else { 1900 + y };
            pi += 2;
        } else if starts(pi, "MON") {
            let word = s.get(si..si + 3)?.to_ascii_uppercase();
            month = MONTHS
                .iter()
                .position(|m| m.as_bytes() == word.as_slice())? as u32
                + 1;
            si += 3;
            pi += 3;
        } else if starts(pi, "MM") {
            month = digits(&mut si, 2)? as u32;
            pi += 2;
        } else if starts(pi, "DD") {
            day = digits(&mut si, 2)? as u32;
            pi += 2;
        } else if starts(pi, "HH24") || starts(pi, "HH12") {
            hour = digits(&mut si, 2)?;
            pi += 4;
        } else if starts(pi, "HH") {
            hour = digits(&mut si, 2)?;
            pi += 2;
        } else if starts(pi, "MI") {
            minute = digits(&mut si, 2)?;
            pi += 2;
        } else if starts(pi, "SS.SSSSSS") || starts(pi, "SS.US") {
            second = digits(&mut si, 2)?;
            pi += if starts(pi, "SS.US") { 5 } else { 9 };
            if si < s.len() && s[si] == b'.' {
                si += 1;
                micros = fraction(&mut si, s)?;
            }
        } else if starts(pi, "SS") {
            second = digits(&mut si, 2)?;
            pi += 2;
        } else if starts(pi, "US") {
            micros = fraction(&mut si, s)?;
            pi += 2;
        } else if starts(pi, "AM") || starts(pi, "PM") {
            let word = s.get(si..si + 2)?.to_ascii_uppercase();
            pm = Some(match word.as_slice() {
                b"AM" => false,
                b"PM" => true,
                _ => return None,
            });
            si += 2;
            pi += 2;
        } else {
            // A literal: must match (case-insensitive); a blank matches any run of blanks.
            if p[pi] == b' ' {
                while si < s.len() && s[si] == b' ' {
                    si += 1;
                }
            } else {
                if si >= s.len() || !s[si].eq_ignore_ascii_case(&p[pi]) {
                    return None;
                }
                si += 1;
            }
            pi += 1;
        }
    }
    if si != s.len() {
        return None;
    }
    if let Some(pm) = pm {
        if !(1..=12).contains(&hour) {
            return None;
        }
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > crate::pgtext::days_in_month(year, month)
        || !(0..24).contains(&hour)
        || !(0..60).contains(&minute)
        || !(0..60).contains(&second)
    {
        return None;
    }
    let days = days_from_civil(year, month, day)? as i64;
    days.checked_mul(MICROS_PER_DAY)?
        .checked_add(((hour * 60 + minute) * 60 + second) * 1_000_000 + micros)
}

/// One to six fractional-second digits as microseconds (more are cut).
fn fraction(si: &mut usize, s: &[u8]) -> Option<i64> {
    let start = *si;
    let mut v = 0i64;
    while *si < s.len() && s[*si].is_ascii_digit() {
        if *si - start < 6 {
            v = v * 10 + (s[*si] - b'0') as i64;
        }
        *si += 1;
    }
    let n = *si - start;
    if n == 0 {
        return None;
    }
    for _ in n..6 {
        v *= 10;
    }
    Some(v)
}

/// The most bytes a CHAR(n) builder reserves up front for its values (n per row).
const STRING_BYTES_RESERVED_MAX: usize = 16 << 20;

/// A column being filled, typed as its table column.
pub enum ColumnBuilder {
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Decimal(Decimal128Builder, u8, i8),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
    Utf8(StringBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    /// TIME, TIMESTAMPTZ and INTERVAL: the values, built into an array at the end.
    Datums(SqlType, Vec<Datum>),
}

impl ColumnBuilder {
    pub fn new(ty: SqlType) -> Self {
        ColumnBuilder::with_capacity(ty, 0)
    }

    /// A builder with room for `rows` values (and, for strings, their offsets; the bytes
    /// grow as they come).
    pub fn with_capacity(ty: SqlType, rows: usize) -> Self {
        // A few rows at least; a small piece (a COPY FROM STDIN message's records) reserves
        // no more than it needs, since its arrays are held until a run is appended.
        let rows = rows.max(16);
        match ty {
            SqlType::SmallInt => ColumnBuilder::Int16(Int16Builder::with_capacity(rows)),
            SqlType::Integer => ColumnBuilder::Int32(Int32Builder::with_capacity(rows)),
            SqlType::BigInt => ColumnBuilder::Int64(Int64Builder::with_capacity(rows)),
            SqlType::Decimal { precision, scale } => {
                ColumnBuilder::Decimal(Decimal128Builder::with_capacity(rows), precision, scale)
            }
            SqlType::Real => ColumnBuilder::Float32(Float32Builder::with_capacity(rows)),
            SqlType::Double => ColumnBuilder::Float64(Float64Builder::with_capacity(rows)),
            SqlType::Boolean => ColumnBuilder::Boolean(BooleanBuilder::with_capacity(rows)),
            SqlType::Char { length } => ColumnBuilder::Utf8(StringBuilder::with_capacity(
                rows,
                rows.saturating_mul(length as usize)
                    .min(STRING_BYTES_RESERVED_MAX),
            )),
            SqlType::Varchar { .. } | SqlType::Text => {
                ColumnBuilder::Utf8(StringBuilder::with_capacity(rows, 1024))
            }
            SqlType::Date => ColumnBuilder::Date(Date32Builder::with_capacity(rows)),
            SqlType::Timestamp => {
                ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::with_capacity(rows))
            }
            SqlType::Time | SqlType::Timestamptz | SqlType::Interval => {
                ColumnBuilder::Datums(ty, Vec::new())
            }
            // No table column is an array (storage refuses them): an array value appended
            // here fails as a mismatch.
            SqlType::Array { .. } => ColumnBuilder::Utf8(StringBuilder::new()),
        }
    }

    /// Appends a value `convert` produced for this column's type.
    pub fn append(&mut self, d: &Datum) -> Result<()> {
        let mismatch = || Error::Internal(format!("COPY value {d:?} does not fit its column"));
        match (self, d) {
            (ColumnBuilder::Int16(b), Datum::Null) => b.append_null(),
            (ColumnBuilder::Int32(b), Datum::Null) => b.append_null(),
            (ColumnBuilder::Int64(b), Datum::Null) => b.append_null(),
            (ColumnBuilder::Decimal(b, ..), Datum::Null) => b.append_null(),
            (ColumnBuilder::Float32(b), Datum::Null) => b.append_null(),
            (ColumnBuilder::Float64(b), Datum::Null) => b.append_null(),
            (ColumnBuilder::Boolean(b), Datum::Null) => b.append_null(),
            (ColumnBuilder::Utf8(b), Datum::Null) => b.append_null(),
            (ColumnBuilder::Date(b), Datum::Null) => b.append_null(),
            (ColumnBuilder::Timestamp(b), Datum::Null) => b.append_null(),
            (ColumnBuilder::Int16(b), Datum::Int(v)) => {
                b.append_value(i16::try_from(*v).map_err(|_| mismatch())?)
            }
            (ColumnBuilder::Int32(b), Datum::Int(v)) => {
                b.append_value(i32::try_from(*v).map_err(|_| mismatch())?)
            }
            (ColumnBuilder::Int64(b), Datum::Int(v)) => b.append_value(*v),
            (ColumnBuilder::Decimal(b, ..), Datum::Decimal(v, _)) => b.append_value(*v),
            (ColumnBuilder::Float32(b), Datum::Float(v)) => b.append_value(*v as f32),
            (ColumnBuilder::Float64(b), Datum::Float(v)) => b.append_value(*v),
            (ColumnBuilder::Boolean(b), Datum::Boolean(v)) => b.append_value(*v),
            (ColumnBuilder::Utf8(b), Datum::Text(v)) => b.append_value(v),
            (ColumnBuilder::Date(b), Datum::Date(v)) => b.append_value(*v),
            (ColumnBuilder::Timestamp(b), Datum::Timestamp(v)) => b.append_value(*v),
            (
                ColumnBuilder::Datums(_, values),
                Datum::Null | Datum::Time(_) | Datum::Timestamptz(_) | Datum::Interval(_),
            ) => values.push(d.clone()),
            _ => return Err(mismatch()),
        }
        Ok(())
    }

    /// A builder with room for `rows` values and, for a VARCHAR or TEXT column, `bytes` bytes
    /// of them (when their size is known ahead, so that the builder does not grow by copies).
    pub fn with_capacity_and_bytes(ty: SqlType, rows: usize, bytes: usize) -> Self {
        match ty {
            SqlType::Varchar { .. } | SqlType::Text => ColumnBuilder::Utf8(
                StringBuilder::with_capacity(rows.max(16), bytes.min(STRING_BYTES_RESERVED_MAX)),
            ),
            _ => ColumnBuilder::with_capacity(ty, rows),
        }
    }

    pub fn finish(&mut self) -> Result<ArrayRef> {
        Ok(match self {
            ColumnBuilder::Int16(b) => Arc::new(b.finish()),
            ColumnBuilder::Int32(b) => Arc::new(b.finish()),
            ColumnBuilder::Int64(b) => Arc::new(b.finish()),
            ColumnBuilder::Decimal(b, p, s) => {
                Arc::new(b.finish().with_precision_and_scale(*p, *s)?)
            }
            ColumnBuilder::Float32(b) => Arc::new(b.finish()),
            ColumnBuilder::Float64(b) => Arc::new(b.finish()),
            ColumnBuilder::Boolean(b) => Arc::new(b.finish()),
            ColumnBuilder::Utf8(b) => Arc::new(b.finish()),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b) => Arc::new(b.finish()),
            ColumnBuilder::Datums(ty, values) => {
                crate::kernels::cast::datums_to_array(&std::mem::take(values), *ty)?
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> CopyOptions {
        CopyOptions::default()
    }

    // Patterns against matching and non-matching text.
    #[test]
    fn patterns_read_dates_and_times() {
        let day = |y, m, d| days_from_civil(y, m, d).unwrap() as i64 * MICROS_PER_DAY;
        assert_eq!(
            pattern_micros("2024/02/29", "YYYY/MM/DD"),
            Some(day(2024, 2, 29))
        );
        assert_eq!(pattern_micros("2023/02/29", "YYYY/MM/DD"), None);
        assert_eq!(
            pattern_micros("05-Mar-99", "DD-MON-YY"),
            Some(day(1999, 3, 5))
        );
        assert_eq!(
            pattern_micros("2024-01-02 03:04:05.5", "YYYY-MM-DD HH24:MI:SS.US"),
            Some(day(2024, 1, 2) + 11_045_500_000)
        );
        assert_eq!(
            pattern_micros("01/02/2024 01:00 PM", "MM/DD/YYYY HH12:MI AM"),
            Some(day(2024, 1, 2) + 13 * 3_600_000_000)
        );
        assert_eq!(pattern_micros("2024-01-02x", "YYYY-MM-DD"), None);
    }

    // Every spelling the plain reader takes gives the value the input functions give, and
    // it leaves the rest to them: signs, blanks, exponents, too many fraction digits, values
    // out of the type's range or precision, impossible dates, other date layouts.
    #[test]
    fn plain_fields_read_as_the_input_functions_read_them() {
        let dec = |precision, scale| SqlType::Decimal { precision, scale };
        let cases: &[(&str, SqlType, bool)] = &[
            ("0", SqlType::Integer, true),
            ("-17", SqlType::SmallInt, true),
            ("32767", SqlType::SmallInt, true),
            ("32768", SqlType::SmallInt, false),
            ("-2147483648", SqlType::Integer, true),
            ("2147483648", SqlType::Integer, false),
            ("999999999999999999", SqlType::BigInt, true),
            ("9223372036854775807", SqlType::BigInt, false),
            ("+5", SqlType::BigInt, false),
            (" 5", SqlType::BigInt, false),
            ("-", SqlType::BigInt, false),
            ("1e3", SqlType::BigInt, false),
            ("12.34", dec(15, 2), true),
            ("-0.05", dec(15, 2), true),
            ("-0", dec(15, 2), true),
            ("7", dec(15, 2), true),
            ("7.5", dec(15, 2), true),
            ("1.005", dec(15, 2), false),
            ("7.", dec(15, 2), false),
            (".5", dec(15, 2), false),
            ("1e2", dec(15, 2), false),
            ("999.99", dec(5, 2), true),
            ("1000.00", dec(5, 2), false),
            ("1234567890123456.78", dec(18, 2), true),
            ("12345678901234567.89", dec(19, 2), false),
            ("12", dec(10, -1), false),
            ("1996-03-13", SqlType::Date, true),
            ("2024-02-29", SqlType::Date, true),
            ("2023-02-29", SqlType::Date, false),
            ("0000-01-01", SqlType::Date, false),
            ("1996-3-13", SqlType::Date, false),
            ("1996-03-13 BC", SqlType::Date, false),
            ("19960313", SqlType::Date, false),
        ];
        for &(text, ty, plain) in cases {
            let general = convert(Some(text), ty, &opts());
            match convert_plain(text.as_bytes(), ty, &opts()) {
                Some(v) => {
                    assert!(plain, "{text} as {ty:?} was read plainly");
                    assert_eq!(Some(&v), general.as_ref().ok(), "{text} as {ty:?}");
                }
                None => assert!(!plain, "{text} as {ty:?} was not read plainly"),
            }
        }
        let mut o = opts();
        o.date_format = TimeFormat::Pattern("YYYY-DD-MM".into());
        assert_eq!(convert_plain(b"1996-03-13", SqlType::Date, &o), None);
        assert_eq!(convert_plain(b"5", SqlType::Text, &o), None);
    }

    // Options around the input functions.
    #[test]
    fn conversions_follow_the_options() {
        let mut o = opts();
        assert_eq!(
            convert(Some(""), SqlType::Integer, &o).unwrap(),
            Datum::Null
        );
        assert_eq!(
            convert(Some(""), SqlType::Text, &o).unwrap(),
            Datum::Text(String::new())
        );
        o.empty_as_null = true;
        assert_eq!(convert(Some(""), SqlType::Text, &o).unwrap(), Datum::Null);
        let v5 = SqlType::Varchar { length: 5 };
        let e = convert(Some("abcdef"), v5, &o).unwrap_err();
        assert_eq!(
            e.to_string(),
            "value too long for type character varying(5)"
        );
        o.truncate_columns = true;
        assert_eq!(
            convert(Some("abcdé"), SqlType::Varchar { length: 5 }, &o).unwrap(),
            Datum::Text("abcd".into())
        );
        o.time_format = TimeFormat::EpochSecs;
        assert_eq!(
            convert(Some("86400.5"), SqlType::Timestamp, &o).unwrap(),
            Datum::Timestamp(86_400_500_000)
        );
        o.date_format = TimeFormat::Auto;
        assert_eq!(
            convert(Some("20240105"), SqlType::Date, &o).unwrap(),
            Datum::Date(days_from_civil(2024, 1, 5).unwrap())
        );
        let e = convert(Some("x"), SqlType::Integer, &o).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid input syntax for type integer: \"x\""
        );
        let d = SqlType::Decimal {
            precision: 5,
            scale: 2,
        };
        assert_eq!(
            convert(Some("1.005"), d, &o).unwrap(),
            Datum::Decimal(101, 2)
        );
        assert!(convert(Some("12345.6"), d, &o).is_err());
    }
}
