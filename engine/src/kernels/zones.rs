//! Time zones: `AT TIME ZONE` and Redshift's CONVERT_TIMEZONE over the IANA zone database
//! (`chrono-tz`), daylight saving time included.
//!
//! A zone is an IANA name (`America/New_York`, `Europe/Paris`, `UTC`; any letter case), an
//! abbreviation (`PST`, `CEST`: a fixed offset, as in PostgreSQL), or a fixed offset. Offsets written as text follow POSIX, as PostgreSQL's do: `'+05'` and
//! `'UTC+5'` are five hours *west* of Greenwich; an INTERVAL offset (`INTERVAL '+05:00'`) is
//! east, as in ISO 8601.
//!
//! A local time a transition skips (02:30 on a spring-forward day) takes the offset in force
//! before the transition, and one a transition repeats takes the offset after it, as
//! PostgreSQL resolves them.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{IntervalMonthDayNanoType, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, TimestampMicrosecondArray};
use arrow_schema::DataType;
use basalt_storage::SqlType;
use chrono::{Offset, TimeZone};
use chrono_tz::Tz;

use super::dates::datetime_of;
use crate::error::{Error, Result};
use crate::types::temporal::Interval;

/// A zone function the executor evaluates (see `ScalarFunc::Zone`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ZoneFunc {
    /// `timestamp AT TIME ZONE zone`: the instant (TIMESTAMPTZ) whose local time in `zone` is
    /// the timestamp. Arguments: the zone, the timestamp.
    LocalToInstant,
    /// `timestamptz AT TIME ZONE zone`: the local time (TIMESTAMP) in `zone` of the instant.
    InstantToLocal,
    /// `CONVERT_TIMEZONE(source, target, timestamp)`: the local time in `target` of the
    /// moment whose local time in `source` is the timestamp.
    Convert,
}

/// A time zone: a zone of the IANA database, or a fixed offset east of UTC in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    Named(Tz),
    Fixed(i64),
}

fn unknown_zone(text: &str) -> Error {
    Error::InvalidParameter {
        message: format!("time zone \"{text}\" not recognized"),
    }
}

/// Zone abbreviations of PostgreSQL's default set, with their fixed offsets east of UTC in
/// seconds. As in PostgreSQL they win over IANA zones of the same name (`CET` is always
/// +01:00).
const ABBREVIATIONS: &[(&str, i64)] = &[
    ("z", 0),
    ("zulu", 0),
    ("ut", 0),
    ("wet", 0),
    ("west", 3600),
    ("bst", 3600),
    ("cet", 3600),
    ("cest", 7200),
    ("met", 3600),
    ("mest", 7200),
    ("eet", 7200),
    ("eest", 10800),
    ("msk", 10800),
    ("ist", 7200),
    ("pkt", 18000),
    ("hkt", 28800),
    ("awst", 28800),
    ("jst", 32400),
    ("kst", 32400),
    ("acst", 34200),
    ("acdt", 37800),
    ("aest", 36000),
    ("aedt", 39600),
    ("nzst", 43200),
    ("nzdt", 46800),
    ("ast", -14400),
    ("adt", -10800),
    ("edt", -14400),
    ("cst", -21600),
    ("cdt", -18000),
    ("mdt", -21600),
    ("pst", -28800),
    ("pdt", -25200),
    ("akst", -32400),
    ("akdt", -28800),
    ("est", -18000),
    ("mst", -25200),
    ("hst", -36000),
    ("nst", -12600),
    ("ndt", -9000),
];

/// Reads a zone as PostgreSQL does: an IANA name in any letter case, an abbreviation of
/// PostgreSQL's default set (`PST`, `CEST`; a fixed offset), or a POSIX offset (`+05`, `-03:30`, `UTC+5`, `GMT-2`: positive is west of Greenwich).
pub fn parse_zone(text: &str) -> Result<Zone> {
    let t = text.trim();
    if let Some((_, east)) = ABBREVIATIONS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(t))
    {
        return Ok(Zone::Fixed(*east));
    }
    if let Ok(tz) = t.parse::<Tz>() {
        return Ok(Zone::Named(tz));
    }
    if let Some(tz) = chrono_tz::TZ_VARIANTS
        .iter()
        .find(|z| z.name().eq_ignore_ascii_case(t))
    {
        return Ok(Zone::Named(*tz));
    }
    let offset = ["utc", "gmt"]
        .iter()
        .find_map(|p| {
            t.get(..3)
                .filter(|head| head.eq_ignore_ascii_case(p))
                .map(|_| &t[3..])
        })
        .unwrap_or(t);
    posix_offset(offset)
        .map(|west| Zone::Fixed(-west))
        .ok_or_else(|| unknown_zone(text))
}

/// A signed `H`, `HH`, `HH:MM`, `HHMM` or `HH:MM:SS` offset in seconds (west positive, as
/// POSIX writes it).
fn posix_offset(s: &str) -> Option<i64> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        b'0'..=b'9' => (1, s),
        _ => return None,
    };
    let parts: Vec<&str> = if rest.contains(':') {
        rest.split(':').collect()
    } else if rest.len() > 2 {
        vec![&rest[..rest.len() - 2], &rest[rest.len() - 2..]]
    } else {
        vec![rest]
    };
    if parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut secs = 0i64;
    for (k, p) in parts.iter().enumerate() {
        let v: i64 = p.parse().ok()?;
        let limit = if k == 0 { 15 } else { 59 };
        if v > limit {
            return None;
        }
        secs += v * [3600, 60, 1][k];
    }
    Some(sign * secs)
}

/// The zone of an INTERVAL offset (`AT TIME ZONE INTERVAL '-08:00'`): east, as ISO 8601.
fn interval_zone(v: Interval) -> Result<Zone> {
    if v.months != 0 || v.days != 0 || v.micros % 1_000_000 != 0 {
        return Err(Error::InvalidParameter {
            message: "interval time zone must not include months or days".into(),
        });
    }
    Ok(Zone::Fixed(v.micros / 1_000_000))
}

const MICROS_PER_SEC: i64 = 1_000_000;

fn out_of_range() -> Error {
    Error::InvalidDatetime {
        message: "timestamp out of range".into(),
    }
}

impl Zone {
    /// The offset east of UTC, in seconds, at the UTC instant `utc` (µs since the epoch).
    fn offset_at(self, utc: i64) -> Result<i64> {
        match self {
            Zone::Fixed(s) => Ok(s),
            Zone::Named(tz) => {
                let t = datetime_of(utc).map_err(|_| out_of_range())?;
                Ok(i64::from(
                    tz.offset_from_utc_datetime(&t).fix().local_minus_utc(),
                ))
            }
        }
    }

    /// The UTC instant whose local time in this zone is `local` (both µs since the epoch).
    pub fn to_utc(self, local: i64) -> Result<i64> {
        let offset = match self {
            Zone::Fixed(s) => s,
            Zone::Named(tz) => {
                let t = datetime_of(local).map_err(|_| out_of_range())?;
                match tz.offset_from_local_datetime(&t) {
                    chrono::LocalResult::Single(o) => i64::from(o.fix().local_minus_utc()),
                    // A repeated local time: the offset after the transition.
                    chrono::LocalResult::Ambiguous(_, after) => {
                        i64::from(after.fix().local_minus_utc())
                    }
                    // A skipped local time: the offset before the transition, which is the
                    // offset a day earlier.
                    chrono::LocalResult::None => {
                        let day_before = local - 86_400 * MICROS_PER_SEC;
                        self.offset_at(day_before)?
                    }
                }
            }
        };
        local
            .checked_sub(offset * MICROS_PER_SEC)
            .ok_or_else(out_of_range)
    }

    /// The local time in this zone of the UTC instant `utc`.
    pub fn to_local(self, utc: i64) -> Result<i64> {
        utc.checked_add(self.offset_at(utc)? * MICROS_PER_SEC)
            .ok_or_else(out_of_range)
    }
}

/// The zones of a column of zone names (TEXT) or offsets (INTERVAL), parsed once per
/// distinct value in a row.
fn zones(array: &ArrayRef) -> Result<Vec<Option<Zone>>> {
    match array.data_type() {
        DataType::Interval(_) => array
            .as_primitive::<IntervalMonthDayNanoType>()
            .iter()
            .map(|v| {
                v.map(|v| interval_zone(Interval::from_arrow(v)))
                    .transpose()
            })
            .collect(),
        _ => {
            let mut last: Option<(&str, Zone)> = None;
            let text = array.as_string::<i32>();
            text.iter()
                .map(|v| {
                    let Some(name) = v else { return Ok(None) };
                    if let Some((n, z)) = last {
                        if n == name {
                            return Ok(Some(z));
                        }
                    }
                    let z = parse_zone(name)?;
                    last = Some((name, z));
                    Ok(Some(z))
                })
                .collect()
        }
    }
}

/// Evaluates `func` over `args` (zones first, the timestamp last) into `n` values of `ty`.
pub fn evaluate(func: ZoneFunc, args: &[ArrayRef], ty: SqlType, n: usize) -> Result<ArrayRef> {
    let arg = |i: usize| {
        args.get(i)
            .ok_or_else(|| Error::Internal(format!("{func:?} is missing argument {i}")))
    };
    let at = |v: &[Option<Zone>], i: usize| if v.len() == 1 { v[0] } else { v[i] };
    let first = zones(arg(0)?)?;
    let (second, ts) = match func {
        ZoneFunc::Convert => (Some(zones(arg(1)?)?), arg(2)?),
        _ => (None, arg(1)?),
    };
    let ts = ts.as_primitive::<TimestampMicrosecondType>();
    let tsv = |i: usize| {
        let i = if ts.len() == 1 { 0 } else { i };
        ts.is_valid(i).then(|| ts.value(i))
    };
    let out = (0..n)
        .map(|i| {
            let (Some(z), Some(t)) = (at(&first, i), tsv(i)) else {
                return Ok(None);
            };
            Ok(Some(match (func, &second) {
                (ZoneFunc::LocalToInstant, _) => z.to_utc(t)?,
                (ZoneFunc::InstantToLocal, _) => z.to_local(t)?,
                (ZoneFunc::Convert, Some(target)) => {
                    let Some(target) = at(target, i) else {
                        return Ok(None);
                    };
                    target.to_local(z.to_utc(t)?)?
                }
                (ZoneFunc::Convert, None) => {
                    return Err(Error::Internal("CONVERT_TIMEZONE without a target".into()))
                }
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    let out = TimestampMicrosecondArray::from(out);
    Ok(match ty.arrow_type() {
        DataType::Timestamp(_, Some(zone)) => Arc::new(out.with_timezone(zone)),
        _ => Arc::new(out),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::datum::parse_timestamp;

    fn local(z: &str, utc: &str) -> String {
        let us = parse_zone(z)
            .unwrap()
            .to_local(parse_timestamp(utc).unwrap())
            .unwrap();
        let mut s = String::new();
        crate::pgtext::write_timestamp(&mut s, us);
        s
    }

    fn utc(z: &str, local: &str) -> String {
        let us = parse_zone(z)
            .unwrap()
            .to_utc(parse_timestamp(local).unwrap())
            .unwrap();
        let mut s = String::new();
        crate::pgtext::write_timestamp(&mut s, us);
        s
    }

    // Expected values from PostgreSQL 15.
    #[test]
    fn named_zones_follow_daylight_saving_time() {
        assert_eq!(
            local("America/New_York", "2024-01-15 12:00"),
            "2024-01-15 07:00:00"
        );
        assert_eq!(
            local("america/new_york", "2024-07-15 12:00"),
            "2024-07-15 08:00:00"
        );
        assert_eq!(
            local("Asia/Kolkata", "2024-07-15 12:00"),
            "2024-07-15 17:30:00"
        );
        // 02:30 does not exist on 2024-03-10 in New York; 01:30 on 2024-11-03 happens twice.
        assert_eq!(
            utc("America/New_York", "2024-03-10 02:30"),
            "2024-03-10 07:30:00"
        );
        assert_eq!(
            utc("America/New_York", "2024-11-03 01:30"),
            "2024-11-03 06:30:00"
        );
    }

    #[test]
    fn text_offsets_are_posix() {
        assert_eq!(local("+05", "2024-01-01 12:00"), "2024-01-01 07:00:00");
        assert_eq!(local("UTC-3", "2024-01-01 12:00"), "2024-01-01 15:00:00");
        assert_eq!(local("-05:30", "2024-01-01 12:00"), "2024-01-01 17:30:00");
        assert!(parse_zone("Mars/Olympus").is_err());
        assert!(parse_zone("+25").is_err());
    }
}
