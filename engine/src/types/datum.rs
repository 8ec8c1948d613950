//! Single values (`Datum`) and reading them from text, as PostgreSQL's input functions do.

use basalt_storage::SqlType;

use crate::error::{Error, Result};
use crate::pgtext::{days_from_civil, days_in_month};
use crate::types::range;

/// Largest number of decimal digits an `i128` decimal can hold.
pub const DECIMAL_DIGITS_MAX: u32 = 38;

/// One SQL value outside of an array: literals, constant-folded results, parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Datum {
    Null,
    Boolean(bool),
    /// Any integer type.
    Int(i64),
    /// A decimal as a scaled integer: `value / 10^scale`.
    Decimal(i128, i8),
    /// REAL or DOUBLE PRECISION.
    Float(f64),
    /// Any string type.
    Text(String),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01 00:00:00.
    Timestamp(i64),
    /// TIME: microseconds since midnight.
    Time(i64),
    /// TIMESTAMPTZ: microseconds since 1970-01-01 00:00:00 UTC.
    Timestamptz(i64),
    /// INTERVAL: months, days and microseconds.
    Interval(crate::types::temporal::Interval),
    /// A one-dimensional array's elements, each a Datum of the element type or NULL.
    Array(Vec<Datum>),
}

/// 10^0 to 10^38.
const POW10: [i128; DECIMAL_DIGITS_MAX as usize + 1] = {
    let mut t = [1i128; DECIMAL_DIGITS_MAX as usize + 1];
    let mut i = 1;
    while i < t.len() {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Powers of ten as i128, for decimal scaling (exponents above 38 give 10^38).
pub fn pow10(exp: u32) -> i128 {
    POW10[exp.min(DECIMAL_DIGITS_MAX) as usize]
}

/// Number of decimal digits of |v| (0 has one digit).
pub fn decimal_digits(v: i128) -> u32 {
    let v = v.unsigned_abs();
    match POW10.iter().position(|p| v < *p as u128) {
        Some(n) => n.max(1) as u32,
        None => DECIMAL_DIGITS_MAX + 1,
    }
}

/// Rescales a decimal, rounding half away from zero when the scale shrinks (as PostgreSQL).
/// Returns `None` on overflow.
pub fn rescale_decimal(v: i128, from: i8, to: i8) -> Option<i128> {
    match to.cmp(&from) {
        std::cmp::Ordering::Equal => Some(v),
        std::cmp::Ordering::Greater => v.checked_mul(pow10((to - from) as u32)),
        std::cmp::Ordering::Less => {
            let div = pow10((from - to) as u32);
            let q = v / div;
            let r = v % div;
            if r.unsigned_abs() * 2 >= div.unsigned_abs() {
                Some(if v < 0 { q - 1 } else { q + 1 })
            } else {
                Some(q)
            }
        }
    }
}

/// Checks that a decimal at its scale fits `precision` digits, as a NUMERIC(p,s) column requires
/// (the value must round to an absolute value below 10^(p-s)).
pub fn check_decimal_precision(v: i128, precision: u8, _scale: i8) -> Result<()> {
    if v.unsigned_abs() >= pow10(precision as u32) as u128 {
        return Err(Error::NumericOutOfRange {
            message: "numeric field overflow".to_string(),
        });
    }
    Ok(())
}

fn invalid(ty: &str, s: &str) -> Error {
    Error::InvalidTextRepresentation {
        message: format!("invalid input syntax for type {ty}: \"{s}\""),
    }
}

/// Reads a PostgreSQL integer literal (surrounding whitespace allowed).
pub fn parse_int(s: &str, ty: SqlType) -> Result<i64> {
    let name = match ty {
        SqlType::SmallInt => "smallint",
        SqlType::Integer => "integer",
        _ => "bigint",
    };
    let t = s.trim();
    let v: i64 = match t.parse::<i64>() {
        Ok(v) => v,
        Err(_) => {
            // Digits only but too large: out of range, not a syntax error.
            let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::NumericOutOfRange {
                    message: format!("value \"{s}\" is out of range for type {name}"),
                });
            }
            return Err(invalid(name, s));
        }
    };
    let (lo, hi) = int_range(ty);
    if v < lo || v > hi {
        return Err(Error::NumericOutOfRange {
            message: format!("value \"{s}\" is out of range for type {name}"),
        });
    }
    Ok(v)
}

/// The range of an integer type.
pub fn int_range(ty: SqlType) -> (i64, i64) {
    match ty {
        SqlType::SmallInt => (i16::MIN as i64, i16::MAX as i64),
        SqlType::Integer => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    }
}

/// Reads a decimal number (`-12.345`, `1e3`, `.5`) into a scaled integer at its natural scale.
/// Returns (value, scale).
pub fn parse_decimal_text(s: &str) -> Result<(i128, i8)> {
    let t = s.trim();
    let err = || invalid("numeric", s);
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().map_err(|_| err())?),
        None => (t, 0),
    };
    let (neg, body) = match mantissa.as_bytes().first() {
        Some(b'-') => (true, &mantissa[1..]),
        Some(b'+') => (false, &mantissa[1..]),
        _ => (false, mantissa),
    };
    let (int_part, frac_part) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(err());
    }
    let overflow = || Error::NumericOutOfRange {
        message: "numeric value out of range".to_string(),
    };
    // The digits without leading zeros, at most DECIMAL_DIGITS_MAX of them (which an i128
    // holds), read in place: this runs for every value a COPY loads.
    const _: () = assert!(DECIMAL_DIGITS_MAX <= 38);
    let mut v: i128 = 0;
    let mut significant = 0usize;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        if significant == 0 && b == b'0' {
            continue;
        }
        significant += 1;
        if significant > DECIMAL_DIGITS_MAX as usize {
            return Err(overflow());
        }
        v = v * 10 + i128::from(b - b'0');
    }
    let mut scale = frac_part.len() as i32 - exp;
    if scale < 0 {
        v = v.checked_mul(pow10((-scale) as u32)).ok_or_else(overflow)?;
        scale = 0;
    }
    if scale > DECIMAL_DIGITS_MAX as i32 {
        // More fractional digits than we can keep: round to the maximum scale.
        let drop = (scale - DECIMAL_DIGITS_MAX as i32) as u32;
        v = rescale_decimal(v, drop.min(38) as i8, 0).ok_or_else(overflow)?;
        scale = DECIMAL_DIGITS_MAX as i32;
    }
    if v != 0 && decimal_digits(v) > DECIMAL_DIGITS_MAX {
        return Err(overflow());
    }
    Ok((if neg { -v } else { v }, scale as i8))
}

/// Reads a float as PostgreSQL's float4in/float8in (accepts `NaN`, `Infinity`, `-inf`...).
pub fn parse_float(s: &str, ty: SqlType) -> Result<f64> {
    let name = if ty == SqlType::Real {
        "real"
    } else {
        "double precision"
    };
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let v = match lower.as_str() {
        "nan" => f64::NAN,
        "infinity" | "+infinity" | "inf" | "+inf" => f64::INFINITY,
        "-infinity" | "-inf" => f64::NEG_INFINITY,
        _ => {
            if lower.contains("inf") || lower.contains("nan") {
                return Err(invalid(name, s));
            }
            t.parse::<f64>().map_err(|_| invalid(name, s))?
        }
    };
    if v.is_finite() && (v.is_infinite() || (ty == SqlType::Real && (v as f32).is_infinite())) {
        return Err(Error::NumericOutOfRange {
            message: format!("\"{s}\" is out of range for type {name}"),
        });
    }
    Ok(v)
}

/// Reads a boolean as PostgreSQL's boolin.
pub fn parse_bool(s: &str) -> Result<bool> {
    let t = s.trim().to_ascii_lowercase();
    match t.as_str() {
        "t" | "tr" | "tru" | "true" | "y" | "ye" | "yes" | "on" | "1" => Ok(true),
        "f" | "fa" | "fal" | "fals" | "false" | "n" | "no" | "of" | "off" | "0" => Ok(false),
        _ => Err(invalid("boolean", s)),
    }
}

fn datetime_error(ty: &str, s: &str) -> Error {
    Error::InvalidDatetime {
        message: format!("invalid input syntax for type {ty}: \"{s}\""),
    }
}

/// Reads `YYYY-MM-DD` (optionally followed by ` BC`) into days since 1970-01-01.
pub fn parse_date(s: &str) -> Result<i32> {
    let t = s.trim();
    let (body, bc) = match t.strip_suffix("BC").or_else(|| t.strip_suffix("bc")) {
        Some(b) => (b.trim_end(), true),
        None => (t, false),
    };
    // A time of day and a zone may follow; a date ignores them once they are valid.
    let (date_part, time_part) = match body.find([' ', 'T']) {
        Some(i) => (&body[..i], without_zone(body[i + 1..].trim())),
        None => (body, ""),
    };
    let days = parse_ymd(date_part, bc, s, "date")?;
    if !time_part.is_empty() && parse_time_of_day(time_part).is_none() {
        return Err(Error::InvalidDatetime {
            message: format!("date/time field value out of range: \"{s}\""),
        });
    }
    range::check_date(days).map_err(|_| Error::InvalidDatetime {
        message: format!("date out of range: \"{s}\""),
    })
}

/// A time of day without its trailing zone (`+00`, `-05:30`, `Z`): PostgreSQL's input for
/// `date` and `timestamp without time zone` accepts and ignores one (pgjdbc sends dates as
/// `2024-02-29 +00`).
fn without_zone(t: &str) -> &str {
    if let Some(rest) = t.strip_suffix(['Z', 'z']) {
        return rest.trim_end();
    }
    match t.find(['+', '-']) {
        Some(at)
            if at + 1 < t.len() && t[at + 1..].chars().all(|c| c.is_ascii_digit() || c == ':') =>
        {
            t[..at].trim_end()
        }
        _ => t,
    }
}

/// Days since 1970-01-01 of `Y-M-D` text, in an `i64`: a date past the end of the range is
/// the caller's `date out of range`, not a wrapped number.
fn parse_ymd(body: &str, bc: bool, original: &str, ty: &str) -> Result<i64> {
    let mut parts = body.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(datetime_error(ty, original));
    };
    let num = |p: &str| -> Result<i64> {
        if p.is_empty() || p.len() > 9 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(datetime_error(ty, original));
        }
        p.parse::<i64>().map_err(|_| datetime_error(ty, original))
    };
    let (y, m, d) = (num(y)?, num(m)?, num(d)?);
    if y == 0 {
        return Err(datetime_error(ty, original));
    }
    let year = if bc { 1 - y } else { y };
    let out_of_range = || Error::InvalidDatetime {
        message: format!("date/time field value out of range: \"{original}\""),
    };
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(year, m as u32) as i64 {
        return Err(out_of_range());
    }
    // Nine digits of year stay far inside an `i64` of days; beyond an `i32` is out of
    // every range.
    Ok(days_from_civil(year, m as u32, d as u32).map_or(i64::MAX, i64::from))
}

/// Reads `YYYY-MM-DD[ T]HH:MM[:SS[.ffffff]]` (or a bare date) into microseconds since the epoch.
pub fn parse_timestamp(s: &str) -> Result<i64> {
    let t = s.trim();
    let (body, bc) = match t.strip_suffix("BC").or_else(|| t.strip_suffix("bc")) {
        Some(b) => (b.trim_end(), true),
        None => (t, false),
    };
    let (date_part, time_part) = match body.find([' ', 'T']) {
        Some(i) => (&body[..i], without_zone(body[i + 1..].trim())),
        None => (body, ""),
    };
    let days = parse_ymd(date_part, bc, s, "timestamp")?;
    let mut micros = 0i64;
    if !time_part.is_empty() {
        micros = parse_time_of_day(time_part).ok_or_else(|| {
            // As PostgreSQL: a well-formed field past its range (24:00:01, 23:60) is 22008,
            // malformed text 22007.
            let fields: Vec<&str> = time_part.split(':').collect();
            let numeric = fields
                .iter()
                .all(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
            if numeric && (2..=3).contains(&fields.len()) {
                Error::InvalidDatetime {
                    message: format!("date/time field value out of range: \"{s}\""),
                }
            } else {
                datetime_error("timestamp", s)
            }
        })?;
    }
    range::checked_timestamp(
        days.checked_mul(range::MICROS_PER_DAY)
            .and_then(|d| d.checked_add(micros)),
    )
    .map_err(|_| timestamp_out_of_range(s))
}

/// PostgreSQL's error for timestamp text beyond the range: `timestamp out of range: "..."`.
pub(crate) fn timestamp_out_of_range(s: &str) -> Error {
    Error::InvalidDatetime {
        message: format!("timestamp out of range: \"{s}\""),
    }
}

/// `HH:MM[:SS[.ffffff]]` into microseconds since midnight; the hour 24 only as `24:00:00`.
pub(crate) fn parse_time_of_day(t: &str) -> Option<i64> {
    let mut it = t.splitn(3, ':');
    let h: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let (sec, frac) = match it.next() {
        Some(sf) => match sf.split_once('.') {
            Some((s, f)) => (s.parse::<i64>().ok()?, f),
            None => (sf.parse::<i64>().ok()?, ""),
        },
        None => (0, ""),
    };
    if !(0..=24).contains(&h) || !(0..60).contains(&m) || !(0..=60).contains(&sec) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut frac_micros = 0i64;
    for (i, b) in frac.bytes().take(7).enumerate() {
        let digit = (b - b'0') as i64;
        if i < 6 {
            frac_micros += digit * 10i64.pow(5 - i as u32);
        } else if digit >= 5 {
            frac_micros += 1;
        }
    }
    let micros = ((h * 60 + m) * 60 + sec) * 1_000_000 + frac_micros;
    if h == 24 && micros > 24 * 3_600_000_000 {
        return None;
    }
    Some(micros)
}

/// Splits the text form of a one-dimensional array (`{a,"b c",NULL}`, as PostgreSQL's
/// `array_in` reads it) into its elements: `None` for an unquoted NULL. Quoted elements keep
/// their white space and take `\` escapes; unquoted ones are trimmed and may escape too.
pub fn parse_array(s: &str) -> Result<Vec<Option<String>>> {
    // PostgreSQL adds the reason as a DETAIL line; Basalt's errors carry it in the message.
    let malformed = |detail: &str| Error::InvalidTextRepresentation {
        message: format!("malformed array literal: \"{s}\" ({detail})"),
    };
    let body = s.trim();
    let Some(inner) = body.strip_prefix('{') else {
        return Err(malformed(
            "Array value must start with \"{\" or dimension information.",
        ));
    };
    let Some(inner) = inner.strip_suffix('}') else {
        return Err(malformed("Unexpected end of input."));
    };
    let mut out = Vec::new();
    if inner.trim().is_empty() {
        return Ok(out);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        let mut item = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(malformed("Unexpected end of input.")),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => item.push(c),
                        None => return Err(malformed("Unexpected end of input.")),
                    },
                    Some(c) => item.push(c),
                }
            }
            while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                chars.next();
            }
        } else {
            let mut escaped_any = false;
            while let Some(&c) = chars.peek() {
                match c {
                    ',' => break,
                    '{' | '}' | '"' => return Err(malformed("Unexpected array element.")),
                    '\\' => {
                        chars.next();
                        match chars.next() {
                            Some(c) => item.push(c),
                            None => return Err(malformed("Unexpected end of input.")),
                        }
                        escaped_any = true;
                        continue;
                    }
                    _ => item.push(c),
                }
                chars.next();
            }
            let trimmed = item.trim_end().to_string();
            if trimmed.is_empty() {
                return Err(malformed("Unexpected \",\" character."));
            }
            if !escaped_any && trimmed.eq_ignore_ascii_case("NULL") {
                out.push(None);
                item.clear();
                match chars.next() {
                    None => break,
                    Some(',') => continue,
                    Some(_) => return Err(malformed("Unexpected array element.")),
                }
            }
            item = trimmed;
        }
        out.push(Some(item));
        match chars.next() {
            None => break,
            Some(',') => continue,
            Some(_) => return Err(malformed("Unexpected array element.")),
        }
    }
    Ok(out)
}

impl Datum {
    /// Reads text as a value of `ty` (PostgreSQL's input function for that type).
    pub fn parse(s: &str, ty: SqlType) -> Result<Datum> {
        Ok(match ty {
            SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => Datum::Int(parse_int(s, ty)?),
            SqlType::Decimal { .. } => {
                let (v, scale) = parse_decimal_text(s)?;
                Datum::Decimal(v, scale)
            }
            SqlType::Real | SqlType::Double => Datum::Float(parse_float(s, ty)?),
            SqlType::Boolean => Datum::Boolean(parse_bool(s)?),
            SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text => {
                Datum::Text(s.to_string())
            }
            SqlType::Date => Datum::Date(parse_date(s)?),
            SqlType::Timestamp => Datum::Timestamp(parse_timestamp(s)?),
            SqlType::Time => Datum::Time(crate::types::temporal::parse_time(s)?),
            SqlType::Timestamptz => {
                Datum::Timestamptz(crate::types::temporal::parse_timestamptz(s)?)
            }
            SqlType::Interval => Datum::Interval(crate::types::temporal::parse_interval(s)?),
            SqlType::Array { element } => Datum::Array(
                parse_array(s)?
                    .into_iter()
                    .map(|e| match e {
                        None => Ok(Datum::Null),
                        Some(e) => Datum::parse(&e, element.sql_type()),
                    })
                    .collect::<Result<_>>()?,
            ),
        })
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Integer literals at and beyond each type's range, and malformed ones.
    #[test]
    fn integers_parse_like_postgres() {
        assert_eq!(parse_int(" 42 ", SqlType::Integer).unwrap(), 42);
        assert!(matches!(
            parse_int("32768", SqlType::SmallInt),
            Err(Error::NumericOutOfRange { .. })
        ));
        assert!(matches!(
            parse_int("99999999999999999999", SqlType::BigInt),
            Err(Error::NumericOutOfRange { .. })
        ));
        assert!(matches!(
            parse_int("12a", SqlType::Integer),
            Err(Error::InvalidTextRepresentation { .. })
        ));
    }

    // Decimal text with signs, exponents and many fractional digits.
    #[test]
    fn decimals_keep_their_scale() {
        assert_eq!(parse_decimal_text("12.340").unwrap(), (12340, 3));
        assert_eq!(parse_decimal_text("-.5").unwrap(), (-5, 1));
        assert_eq!(parse_decimal_text("1e3").unwrap(), (1000, 0));
        assert_eq!(parse_decimal_text("1.5e-2").unwrap(), (15, 3));
        assert!(parse_decimal_text("1.2.3").is_err());
        assert!(parse_decimal_text("").is_err());
        // Leading zeros do not count against the 38 digits; a 39th significant digit does.
        assert_eq!(parse_decimal_text("000123.4500").unwrap(), (1_234_500, 4));
        assert_eq!(parse_decimal_text("-0.000").unwrap(), (0, 3));
        let nines = "9".repeat(38);
        assert_eq!(
            parse_decimal_text(&format!("00{nines}")).unwrap(),
            (nines.parse::<i128>().unwrap(), 0)
        );
        assert!(matches!(
            parse_decimal_text(&format!("1{nines}")),
            Err(Error::NumericOutOfRange { .. })
        ));
        assert_eq!(rescale_decimal(125, 2, 1), Some(13));
        assert_eq!(rescale_decimal(-125, 2, 1), Some(-13));
        assert_eq!(rescale_decimal(124, 2, 1), Some(12));
    }

    // Dates and timestamps, valid and not.
    #[test]
    fn dates_and_timestamps() {
        assert_eq!(parse_date("1970-01-02").unwrap(), 1);
        assert!(matches!(
            parse_date("2021-02-29"),
            Err(Error::InvalidDatetime { .. })
        ));
        assert!(parse_date("yesterday-ish").is_err());
        assert_eq!(
            parse_timestamp("1970-01-01 00:00:01.25").unwrap(),
            1_250_000
        );
        assert_eq!(parse_timestamp("1970-01-02").unwrap(), 86_400_000_000);
    }
}
