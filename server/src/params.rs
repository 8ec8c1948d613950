//! Bind parameters to the text values the engine takes.
//!
//! The engine reads every parameter as text, as PostgreSQL's input functions would. Text-format
//! parameters pass through (checked to be UTF-8); binary-format ones are decoded by their type
//! and printed in PostgreSQL's text form, so `$1` means the same in either format.

use basalt_engine::pgtext;
use basalt_engine::types::{range, temporal};
use pgwire::api::results::FieldFormat;
use pgwire::api::Type;

use crate::encode::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};
use crate::sqlstate::{code, SqlError};
use crate::types::oid;

/// Resolves Bind's parameter format codes: none (all text), one for all, or one per parameter.
pub(crate) fn parameter_format(codes: &[i16], index: usize) -> FieldFormat {
    match codes {
        [] => FieldFormat::Text,
        [one] => FieldFormat::from(*one),
        many => many
            .get(index)
            .map(|c| FieldFormat::from(*c))
            .unwrap_or(FieldFormat::Text),
    }
}

/// The text value of parameter `index` (0-based) of type `ty`, sent in `format`.
pub(crate) fn parameter_text(
    index: usize,
    ty: &Type,
    format: FieldFormat,
    raw: &[u8],
) -> Result<String, SqlError> {
    match format {
        FieldFormat::Text => utf8(raw),
        FieldFormat::Binary => binary_to_text(index, ty, raw),
    }
}

fn utf8(raw: &[u8]) -> Result<String, SqlError> {
    // PostgreSQL's encoding check refuses NUL as it refuses bytes that are not UTF-8.
    if raw.contains(&0) {
        return Err(SqlError::error(
            code::CHARACTER_NOT_IN_REPERTOIRE,
            "invalid byte sequence for encoding \"UTF8\": 0x00",
        ));
    }
    String::from_utf8(raw.to_vec()).map_err(|e| {
        let bad = &raw[e.utf8_error().valid_up_to()..];
        let shown: Vec<String> = bad.iter().take(2).map(|b| format!("0x{b:02x}")).collect();
        SqlError::error(
            code::CHARACTER_NOT_IN_REPERTOIRE,
            format!(
                "invalid byte sequence for encoding \"UTF8\": {}",
                shown.join(" ")
            ),
        )
    })
}

fn binary_to_text(index: usize, ty: &Type, raw: &[u8]) -> Result<String, SqlError> {
    binary_value_text(ty, raw, &|| {
        SqlError::error(
            code::INVALID_BINARY_REPRESENTATION,
            format!(
                "incorrect binary data format in bind parameter {}",
                index + 1
            ),
        )
    })
}

/// The text form of one value of type `ty` in PostgreSQL's binary format (as a binary Bind
/// parameter or a binary COPY field carries it); `bad_format` is the error for bytes that
/// are not a value of the type.
pub(crate) fn binary_value_text(
    ty: &Type,
    raw: &[u8],
    bad_format: &dyn Fn() -> SqlError,
) -> Result<String, SqlError> {
    let mut out = String::new();
    match ty.oid() {
        oid::BOOL => match raw {
            [b] => out.push(if *b != 0 { 't' } else { 'f' }),
            _ => return Err(bad_format()),
        },
        oid::INT2 => out = i16::from_be_bytes(fixed(raw).ok_or_else(bad_format)?).to_string(),
        oid::INT4 => out = i32::from_be_bytes(fixed(raw).ok_or_else(bad_format)?).to_string(),
        oid::INT8 => out = i64::from_be_bytes(fixed(raw).ok_or_else(bad_format)?).to_string(),
        oid::FLOAT4 => {
            pgtext::write_float4(
                &mut out,
                f32::from_be_bytes(fixed(raw).ok_or_else(bad_format)?),
            );
        }
        oid::FLOAT8 => {
            pgtext::write_float8(
                &mut out,
                f64::from_be_bytes(fixed(raw).ok_or_else(bad_format)?),
            );
        }
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::UNKNOWN => {
            out = utf8(raw)?;
        }
        oid::NUMERIC => out = numeric_to_text(raw).ok_or_else(bad_format)?,
        oid::DATE => {
            let days = i32::from_be_bytes(fixed(raw).ok_or_else(bad_format)?);
            match days {
                i32::MIN => out.push_str("-infinity"),
                i32::MAX => out.push_str("infinity"),
                _ => {
                    let unix = days
                        .checked_add(PG_EPOCH_DAYS)
                        .filter(|d| range::is_valid_date(i64::from(*d)))
                        .ok_or_else(|| {
                            SqlError::error(code::DATETIME_FIELD_OVERFLOW, "date out of range")
                        })?;
                    pgtext::write_date(&mut out, unix);
                }
            }
        }
        oid::TIMESTAMP => {
            let micros = i64::from_be_bytes(fixed(raw).ok_or_else(bad_format)?);
            match micros {
                i64::MIN => out.push_str("-infinity"),
                i64::MAX => out.push_str("infinity"),
                _ => {
                    let unix = unix_micros(micros)?;
                    pgtext::write_timestamp(&mut out, unix);
                }
            }
        }
        oid::TIME => {
            let micros = i64::from_be_bytes(fixed(raw).ok_or_else(bad_format)?);
            if !(0..=basalt_storage::types::TIME_MICROS_MAX).contains(&micros) {
                return Err(SqlError::error(
                    code::DATETIME_FIELD_OVERFLOW,
                    "time out of range",
                ));
            }
            temporal::write_time(&mut out, micros);
        }
        oid::TIMESTAMPTZ => {
            let micros = i64::from_be_bytes(fixed(raw).ok_or_else(bad_format)?);
            match micros {
                i64::MIN => out.push_str("-infinity"),
                i64::MAX => out.push_str("infinity"),
                _ => {
                    let unix = unix_micros(micros)?;
                    basalt_engine::kernels::zones::write_timestamptz(
                        &mut out,
                        unix,
                        basalt_engine::pgtext::Zone::UTC,
                    );
                }
            }
        }
        oid::INTERVAL => {
            // PostgreSQL's interval_recv: microseconds, days, months.
            if raw.len() != 16 {
                return Err(bad_format());
            }
            let micros = i64::from_be_bytes(fixed(&raw[..8]).ok_or_else(bad_format)?);
            let days = i32::from_be_bytes(fixed(&raw[8..12]).ok_or_else(bad_format)?);
            let months = i32::from_be_bytes(fixed(&raw[12..]).ok_or_else(bad_format)?);
            if micros.unsigned_abs() > range::INTERVAL_MICROS_MAX.unsigned_abs() {
                return Err(SqlError::error(
                    code::DATETIME_FIELD_OVERFLOW,
                    "interval out of range",
                ));
            }
            temporal::write_interval(
                &mut out,
                temporal::Interval {
                    months,
                    days,
                    micros,
                },
            );
        }
        _ => {
            return Err(SqlError::error(
                code::UNDEFINED_FUNCTION,
                format!("no binary input function available for type {}", ty.name()),
            ))
        }
    }
    Ok(out)
}

fn fixed<const N: usize>(raw: &[u8]) -> Option<[u8; N]> {
    raw.try_into().ok()
}

/// Sign words of PostgreSQL's binary NUMERIC.
const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;
const NUMERIC_PINF: u16 = 0xD000;
const NUMERIC_NINF: u16 = 0xF000;
/// Largest display scale PostgreSQL accepts.
const NUMERIC_DSCALE_MAX: u16 = 0x3FFF;

/// The text form of a binary NUMERIC (see [`crate::encode::write_numeric`] for the layout),
/// with exactly `dscale` fractional digits, or `None` if the bytes are not a valid NUMERIC.
pub fn numeric_to_text(raw: &[u8]) -> Option<String> {
    let word = |i: usize| -> Option<[u8; 2]> { raw.get(i..i + 2)?.try_into().ok() };
    let ndigits = i16::from_be_bytes(word(0)?);
    let weight = i16::from_be_bytes(word(2)?);
    let sign = u16::from_be_bytes(word(4)?);
    let dscale = u16::from_be_bytes(word(6)?);
    let ndigits = usize::try_from(ndigits).ok()?;
    if raw.len() != 8 + 2 * ndigits {
        return None;
    }
    match sign {
        NUMERIC_NAN => return Some("NaN".to_owned()),
        NUMERIC_PINF => return Some("Infinity".to_owned()),
        NUMERIC_NINF => return Some("-Infinity".to_owned()),
        NUMERIC_POS | NUMERIC_NEG => {}
        _ => return None,
    }
    if dscale > NUMERIC_DSCALE_MAX {
        return None;
    }
    let mut digits = Vec::with_capacity(ndigits);
    for i in 0..ndigits {
        let d = i16::from_be_bytes(word(8 + 2 * i)?);
        if !(0..10_000).contains(&d) {
            return None;
        }
        digits.push(d);
    }
    // Digit i has weight `weight - i`: the base-10000 exponent it multiplies.
    let digit_at = |w: i32| -> i16 {
        let i = i32::from(weight) - w;
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i).copied())
            .unwrap_or(0)
    };
    let mut out = String::new();
    if sign == NUMERIC_NEG && digits.iter().any(|d| *d != 0) {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for w in (0..=i32::from(weight)).rev() {
            if w == i32::from(weight) {
                out.push_str(&digit_at(w).to_string());
            } else {
                out.push_str(&format!("{:04}", digit_at(w)));
            }
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut frac = String::new();
        let mut w = -1;
        while frac.len() < usize::from(dscale) {
            frac.push_str(&format!("{:04}", digit_at(w)));
            w -= 1;
        }
        frac.truncate(usize::from(dscale));
        out.push_str(&frac);
    }
    Some(out)
}

/// A binary timestamp's microseconds since 2000-01-01 as microseconds since 1970, inside
/// Basalt's timestamp range.
fn unix_micros(micros: i64) -> Result<i64, SqlError> {
    micros
        .checked_add(PG_EPOCH_MICROS)
        .filter(|t| range::is_valid_timestamp(*t))
        .ok_or_else(|| SqlError::error(code::DATETIME_FIELD_OVERFLOW, "timestamp out of range"))
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::*;
    use crate::encode::write_numeric;

    fn bin(ty: &Type, raw: &[u8]) -> Result<String, SqlError> {
        parameter_text(0, ty, FieldFormat::Binary, raw)
    }

    // Binary parameters of each supported type, as a driver such as JDBC or asyncpg sends them.
    #[test]
    fn binary_parameters_become_postgres_text() {
        assert_eq!(bin(&Type::INT4, &[0, 0, 1, 0]).unwrap(), "256");
        assert_eq!(bin(&Type::INT2, &[0xff, 0xfe]).unwrap(), "-2");
        assert_eq!(bin(&Type::INT8, &(-7i64).to_be_bytes()).unwrap(), "-7");
        assert_eq!(bin(&Type::FLOAT8, &0.1f64.to_be_bytes()).unwrap(), "0.1");
        assert_eq!(bin(&Type::FLOAT4, &1.5f32.to_be_bytes()).unwrap(), "1.5");
        assert_eq!(bin(&Type::BOOL, &[1]).unwrap(), "t");
        assert_eq!(bin(&Type::TEXT, "héllo".as_bytes()).unwrap(), "héllo");
        assert_eq!(bin(&Type::DATE, &[0, 0, 0, 0]).unwrap(), "2000-01-01");
        assert_eq!(
            bin(&Type::DATE, &(-1i32).to_be_bytes()).unwrap(),
            "1999-12-31"
        );
        assert_eq!(
            bin(&Type::TIMESTAMP, &1_500_000i64.to_be_bytes()).unwrap(),
            "2000-01-01 00:00:01.5"
        );
        assert_eq!(
            bin(&Type::TIMESTAMP, &i64::MAX.to_be_bytes()).unwrap(),
            "infinity"
        );
    }

    // Wrong lengths, bad UTF-8 and types without a binary reader are errors with codes.
    #[test]
    fn bad_binary_parameters_are_errors() {
        assert_eq!(bin(&Type::INT4, &[0, 1]).unwrap_err().code, "22P03");
        assert_eq!(bin(&Type::BOOL, &[]).unwrap_err().code, "22P03");
        assert_eq!(bin(&Type::TEXT, &[0xff]).unwrap_err().code, "22021");
        assert_eq!(
            bin(&Type::TEXT, b"a\0b").unwrap_err().message,
            "invalid byte sequence for encoding \"UTF8\": 0x00"
        );
        assert_eq!(bin(&Type::UUID, &[0; 16]).unwrap_err().code, "42883");
        assert_eq!(
            bin(&Type::NUMERIC, &[0, 1, 0, 0]).unwrap_err().code,
            "22P03"
        );
        let e = parameter_text(1, &Type::TEXT, FieldFormat::Text, &[0x61, 0xc3]).unwrap_err();
        assert_eq!(e.code, "22021");
        assert_eq!(
            e.message,
            "invalid byte sequence for encoding \"UTF8\": 0xc3"
        );
    }

    // Binary dates, timestamps and intervals at each end of their ranges and one step past.
    #[test]
    fn binary_datetimes_beyond_their_ranges_are_errors() {
        let date = |unix: i32| bin(&Type::DATE, &(unix - PG_EPOCH_DAYS).to_be_bytes());
        let ts = |ty: &Type, unix: i64| bin(ty, &(unix - PG_EPOCH_MICROS).to_be_bytes());
        assert_eq!(date(range::DATE_MIN_DAYS).unwrap(), "4714-11-24 BC");
        assert_eq!(date(range::DATE_MAX_DAYS).unwrap(), "5874897-12-31");
        for e in [
            date(range::DATE_MIN_DAYS - 1),
            date(range::DATE_MAX_DAYS + 1),
        ] {
            let e = e.unwrap_err();
            assert_eq!((e.code, e.message.as_str()), ("22008", "date out of range"));
        }
        assert_eq!(
            ts(&Type::TIMESTAMP, range::TIMESTAMP_MAX_MICROS).unwrap(),
            "294246-12-31 23:59:59.999999"
        );
        for ty in [Type::TIMESTAMP, Type::TIMESTAMPTZ] {
            assert!(ts(&ty, range::TIMESTAMP_MIN_MICROS).is_ok());
            for unix in [
                range::TIMESTAMP_MIN_MICROS - 1,
                range::TIMESTAMP_MAX_MICROS + 1,
            ] {
                let e = ts(&ty, unix).unwrap_err();
                assert_eq!(
                    (e.code, e.message.as_str()),
                    ("22008", "timestamp out of range")
                );
            }
        }
        let interval = |micros: i64| {
            let mut raw = micros.to_be_bytes().to_vec();
            raw.extend_from_slice(&[0; 8]);
            bin(&Type::INTERVAL, &raw)
        };
        assert!(interval(-range::INTERVAL_MICROS_MAX).is_ok());
        let e = interval(range::INTERVAL_MICROS_MAX + 1).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("22008", "interval out of range")
        );
    }

    // NUMERIC bytes from PostgreSQL's numeric_send read back with their display scale.
    #[test]
    fn numeric_decodes_with_dscale() {
        let n = |raw: &[u8]| numeric_to_text(raw).unwrap();
        assert_eq!(
            n(&[0, 2, 0, 0, 0, 0, 0, 2, 0x00, 0x7b, 0x11, 0x94]),
            "123.45"
        );
        assert_eq!(n(&[0, 1, 0xff, 0xff, 0x40, 0, 0, 4, 0, 1]), "-0.0001");
        assert_eq!(n(&[0, 1, 0, 1, 0, 0, 0, 0, 0, 1]), "10000");
        assert_eq!(n(&[0, 0, 0, 0, 0, 0, 0, 2]), "0.00");
        assert_eq!(n(&[0, 0, 0, 0, 0xc0, 0, 0, 0]), "NaN");
        assert_eq!(n(&[0, 1, 0, 0, 0, 0, 0, 0, 0, 7]), "7");
        // A digit over 9999 is not a NUMERIC.
        assert_eq!(numeric_to_text(&[0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10]), None);
    }

    // Encoding then decoding gives back pgtext's decimal text for many values and scales.
    #[test]
    fn numeric_round_trips_through_text() {
        let values = [
            0i128,
            1,
            -1,
            9999,
            10_000,
            123_456_789,
            -987_654_321_012,
            i128::MAX,
            i128::MIN + 1,
        ];
        for scale in [0i8, 1, 2, 4, 5, 9, 38] {
            for v in values {
                let mut raw = BytesMut::new();
                write_numeric(&mut raw, v, scale);
                let mut expected = String::new();
                pgtext::write_decimal(&mut expected, v, scale);
                assert_eq!(
                    numeric_to_text(&raw).unwrap(),
                    expected,
                    "{v} scale {scale}"
                );
            }
        }
    }
}
