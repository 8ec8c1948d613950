//! PostgreSQL's text output format for every SQL type: what psql prints, byte for byte.
//!
//! The wire protocol's text format and the SQL test runners both use this, so a value reads the
//! same wherever it is shown.

use std::fmt::Write;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    IntervalMonthDayNanoType, Time64MicrosecondType, TimestampMicrosecondType,
};
use arrow_array::Array;
use basalt_storage::SqlType;

use crate::kernels::zones;
pub use crate::kernels::zones::Zone;
use crate::types::temporal;

/// Days from 0001-01-01 (proleptic Gregorian, CE) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Appends the text form of `array[row]` (which must be valid) to `out`.
///
/// `ty` selects the formatting (a DECIMAL's scale, CHAR padding is already in the value);
/// a TIMESTAMPTZ prints in `zone`, the session's TimeZone.
pub fn write_value(out: &mut String, array: &dyn Array, row: usize, ty: SqlType, zone: Zone) {
    debug_assert!(array.is_valid(row));
    match ty {
        SqlType::SmallInt => push_display(out, array.as_primitive::<Int16Type>().value(row)),
        SqlType::Integer => push_display(out, array.as_primitive::<Int32Type>().value(row)),
        SqlType::BigInt => push_display(out, array.as_primitive::<Int64Type>().value(row)),
        SqlType::Decimal { scale, .. } => write_decimal(
            out,
            array.as_primitive::<Decimal128Type>().value(row),
            scale,
        ),
        SqlType::Real => write_float4(out, array.as_primitive::<Float32Type>().value(row)),
        SqlType::Double => write_float8(out, array.as_primitive::<Float64Type>().value(row)),
        SqlType::Boolean => out.push(if array.as_boolean().value(row) {
            't'
        } else {
            'f'
        }),
        SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text => {
            out.push_str(array.as_string::<i32>().value(row))
        }
        SqlType::Date => write_date(out, array.as_primitive::<Date32Type>().value(row)),
        SqlType::Timestamp => write_timestamp(
            out,
            array.as_primitive::<TimestampMicrosecondType>().value(row),
        ),
        SqlType::Time => temporal::write_time(
            out,
            array.as_primitive::<Time64MicrosecondType>().value(row),
        ),
        SqlType::Timestamptz => zones::write_timestamptz(
            out,
            array.as_primitive::<TimestampMicrosecondType>().value(row),
            zone,
        ),
        SqlType::Interval => temporal::write_interval(
            out,
            temporal::Interval::from_arrow(
                array.as_primitive::<IntervalMonthDayNanoType>().value(row),
            ),
        ),
        SqlType::Array { element } if element.is_vector() => {
            // int2vector / oidvector: the elements separated by spaces, no braces.
            let list = array.as_list::<i32>();
            let items = list.value(row);
            for i in 0..items.len() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, items.as_ref(), i, element.sql_type(), zone);
            }
        }
        SqlType::Array { element } => {
            let list = array.as_list::<i32>();
            write_array(out, list.value(row).as_ref(), element.sql_type(), zone);
        }
    }
}

/// An array's text form as PostgreSQL's `array_out` writes it: `{1,2,NULL}`, with an element
/// double-quoted when it is empty, reads as NULL, or holds a character the array syntax uses
/// (`{}",\` or white space), and `"` and `\` escaped with a backslash inside quotes.
pub fn write_array(out: &mut String, elements: &dyn Array, ty: SqlType, zone: Zone) {
    out.push('{');
    let mut item = String::new();
    for i in 0..elements.len() {
        if i > 0 {
            out.push(',');
        }
        if elements.is_null(i) {
            out.push_str("NULL");
            continue;
        }
        item.clear();
        write_value(&mut item, elements, i, ty, zone);
        let quote = item.is_empty()
            || item.eq_ignore_ascii_case("NULL")
            || item
                .chars()
                .any(|c| matches!(c, '{' | '}' | '"' | ',' | '\\') || c.is_ascii_whitespace());
        if quote {
            out.push('"');
            for c in item.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        } else {
            out.push_str(&item);
        }
    }
    out.push('}');
}

/// The text form of `array[row]` (a TIMESTAMPTZ in `zone`), or `None` for NULL.
pub fn format_value(array: &dyn Array, row: usize, ty: SqlType, zone: Zone) -> Option<String> {
    if array.is_null(row) {
        return None;
    }
    let mut s = String::new();
    write_value(&mut s, array, row, ty, zone);
    Some(s)
}

fn push_display(out: &mut String, v: impl std::fmt::Display) {
    // Writing to a String cannot fail.
    let _ = write!(out, "{v}");
}

/// A scaled integer with exactly `scale` fractional digits, as PostgreSQL prints `numeric(p,s)`.
pub fn write_decimal(out: &mut String, value: i128, scale: i8) {
    if scale <= 0 {
        push_display(out, value);
        for _ in 0..(-scale) {
            if value != 0 {
                out.push('0');
            }
        }
        return;
    }
    let scale = scale as usize;
    let digits = value.unsigned_abs().to_string();
    if value < 0 {
        out.push('-');
    }
    if digits.len() <= scale {
        out.push_str("0.");
        for _ in 0..(scale - digits.len()) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
}

/// `float8` output with PostgreSQL's default `extra_float_digits = 1`: the shortest text that
/// reads back to the same value, in exponent form when the decimal exponent is below -4 or at
/// least 15.
pub fn write_float8(out: &mut String, v: f64) {
    write_float(out, v, format!("{v:e}"), 15);
}

/// `float4` output, as [`write_float8`] with an exponent threshold of 6.
pub fn write_float4(out: &mut String, v: f32) {
    write_float(out, v as f64, format!("{v:e}"), 6);
}

fn write_float(out: &mut String, v: f64, sci: String, exp_max: i32) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    // `sci` is Rust's shortest round-trip form, e.g. "-1.2345e3"; rebuild it PostgreSQL's way.
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if negative {
        out.push('-');
    }
    if v == 0.0 {
        out.push('0');
        return;
    }
    if exp < -4 || exp >= exp_max {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in 0..(int_len - digits.len()) {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
}

/// Civil date from days since 1970-01-01 (proleptic Gregorian). Returns (year, month, day) where
/// year 0 is 1 BC.
pub fn civil_from_days(days: i32) -> (i64, u32, u32) {
    // Howard Hinnant's days_from_civil inverse.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a civil date (year 0 is 1 BC), or `None` if the month or day is
/// not valid for that year.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i32> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    i32::try_from(era * 146_097 + doe - 719_468).ok()
}

/// Number of days in `month` of `year` (proleptic Gregorian; year 0 is a leap year).
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// `YYYY-MM-DD`, with ` BC` for years before 1 CE, as PostgreSQL's ISO DateStyle.
pub fn write_date(out: &mut String, days: i32) {
    let (y, m, d) = civil_from_days(days);
    write_ymd(out, y, m, d);
    if y <= 0 {
        out.push_str(" BC");
    }
}

fn write_ymd(out: &mut String, y: i64, m: u32, d: u32) {
    let year = if y <= 0 { 1 - y } else { y };
    let _ = write!(out, "{year:04}-{m:02}-{d:02}");
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` with trailing fractional zeros dropped, as PostgreSQL.
pub fn write_timestamp(out: &mut String, micros: i64) {
    let days = micros.div_euclid(86_400_000_000);
    let rem = micros.rem_euclid(86_400_000_000);
    let (y, m, d) = civil_from_days(days as i32);
    write_ymd(out, y, m, d);
    let secs = rem / 1_000_000;
    let frac = rem % 1_000_000;
    let _ = write!(
        out,
        " {:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    if frac != 0 {
        let f = format!("{frac:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    if y <= 0 {
        out.push_str(" BC");
    }
}

/// Ensure the constant matches the algorithm above.
const _: () = assert!(UNIX_EPOCH_DAYS_FROM_CE == 719_163);

#[cfg(test)]
mod tests {
    use super::*;

    fn f8(v: f64) -> String {
        let mut s = String::new();
        write_float8(&mut s, v);
        s
    }
    fn f4(v: f32) -> String {
        let mut s = String::new();
        write_float4(&mut s, v);
        s
    }
    fn dec(v: i128, scale: i8) -> String {
        let mut s = String::new();
        write_decimal(&mut s, v, scale);
        s
    }

    // Values whose PostgreSQL 15 output is known from psql.
    #[test]
    fn float8_matches_postgres() {
        assert_eq!(f8(0.1), "0.1");
        assert_eq!(f8(1.0), "1");
        assert_eq!(f8(-2.5), "-2.5");
        assert_eq!(f8(123456789012345.0), "123456789012345");
        assert_eq!(f8(1234567890123456.0), "1.234567890123456e+15");
        assert_eq!(f8(1e15), "1e+15");
        assert_eq!(f8(0.0001), "0.0001");
        assert_eq!(f8(0.00001), "1e-05");
        assert_eq!(f8(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(f8(-0.0), "-0");
        assert_eq!(f8(f64::NAN), "NaN");
        assert_eq!(f8(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(f8(1e300), "1e+300");
    }

    #[test]
    fn float4_matches_postgres() {
        assert_eq!(f4(1.5), "1.5");
        assert_eq!(f4(123456.0), "123456");
        assert_eq!(f4(1000000.0), "1e+06");
        assert_eq!(f4(0.1), "0.1");
        assert_eq!(f4(f32::INFINITY), "Infinity");
    }

    #[test]
    fn decimal_keeps_its_scale() {
        assert_eq!(dec(150, 2), "1.50");
        assert_eq!(dec(-5, 2), "-0.05");
        assert_eq!(dec(0, 2), "0.00");
        assert_eq!(dec(42, 0), "42");
        assert_eq!(dec(-42, 0), "-42");
        assert_eq!(dec(i128::MAX / 10, 10).len(), 39);
    }

    // Dates across the epoch, leap days and BC.
    #[test]
    fn dates_round_trip() {
        for days in [-800_000, -719_163, -1, 0, 1, 59, 10_957, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), Some(days));
        }
        let mut s = String::new();
        write_date(&mut s, 0);
        assert_eq!(s, "1970-01-01");
        s.clear();
        write_date(&mut s, days_from_civil(2000, 2, 29).unwrap_or_default());
        assert_eq!(s, "2000-02-29");
        s.clear();
        write_date(&mut s, days_from_civil(0, 1, 1).unwrap_or_default());
        assert_eq!(s, "0001-01-01 BC");
        assert_eq!(days_from_civil(2001, 2, 29), None);
    }

    #[test]
    fn timestamps_trim_fraction() {
        let mut s = String::new();
        write_timestamp(&mut s, 1_500_000);
        assert_eq!(s, "1970-01-01 00:00:01.5");
        s.clear();
        write_timestamp(&mut s, -1);
        assert_eq!(s, "1969-12-31 23:59:59.999999");
    }
}
