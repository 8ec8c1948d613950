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
use super::datetime::DateField;
use crate::error::{Error, Result};
use crate::types::range;
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
    /// A TIMESTAMPTZ's local time (TIMESTAMP) in the session's zone: the cast to
    /// `timestamp` and the calendar that date and time functions read. Argument: the
    /// instant.
    ToLocal(Zone),
    /// The TIMESTAMPTZ whose local time in the session's zone is a TIMESTAMP: the cast from
    /// `timestamp` (and from `date`, at midnight). Argument: the timestamp.
    ToInstant(Zone),
    /// `timestamptz + interval` in the session's zone, as PostgreSQL's
    /// `timestamptz_pl_interval`: months, then days, move the local calendar (keeping the
    /// wall-clock time across a daylight-saving change), then the time part moves the
    /// instant. Arguments: the instant, the interval.
    AddInterval(Zone),
    /// Text read as a TIMESTAMPTZ, local to the session's zone unless it names a zone.
    FromText(Zone),
    /// A TIMESTAMPTZ as text in the session's zone (`2024-01-01 07:00:00-05`).
    ToText(Zone),
    /// The session zone's offset east of UTC in seconds at an instant (BIGINT), for
    /// EXTRACT's `timezone` fields.
    Offset(Zone),
    /// `date_trunc(unit, timestamptz)` in the session's zone, as PostgreSQL's
    /// `timestamptz_trunc`: the local time is truncated; a day or longer unit reads the
    /// result in the zone again, a shorter one keeps the instant's offset (so the hour of a
    /// repeated 01:30 keeps its own offset). Argument: the instant.
    Trunc(Zone, DateField),
}

/// A time zone: a zone of the IANA database, or a fixed offset east of UTC in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
    range::timestamp_out_of_range()
}

impl Zone {
    /// UTC, the zone of a session that sets none.
    pub const UTC: Zone = Zone::Fixed(0);

    /// Whether the zone is UTC at every instant (`UTC`, `Etc/UTC`, `GMT`, a zero offset).
    pub fn is_utc(self) -> bool {
        match self {
            Zone::Fixed(s) => s == 0,
            Zone::Named(tz) => matches!(
                tz,
                Tz::UTC
                    | Tz::Etc__UTC
                    | Tz::GMT
                    | Tz::Etc__GMT
                    | Tz::UCT
                    | Tz::Etc__UCT
                    | Tz::Universal
                    | Tz::Etc__Universal
                    | Tz::Zulu
                    | Tz::Etc__Zulu
                    | Tz::Greenwich
                    | Tz::Etc__Greenwich
            ),
        }
    }

    /// The offset east of UTC, in seconds, at the UTC instant `utc` (µs since the epoch).
    pub fn offset_at(self, utc: i64) -> Result<i64> {
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
        range::checked_timestamp(local.checked_sub(offset * MICROS_PER_SEC))
    }

    /// The local time in this zone of the UTC instant `utc`. Not range-checked: the first
    /// instant's local date west of UTC is a day before the first timestamp, and PostgreSQL
    /// casts it to DATE all the same.
    pub fn to_local(self, utc: i64) -> Result<i64> {
        utc.checked_add(self.offset_at(utc)? * MICROS_PER_SEC)
            .ok_or_else(out_of_range)
    }

    /// The offset east of UTC at `utc` for printing: an instant beyond the calendar the zone
    /// database covers prints in UTC rather than failing.
    pub fn display_offset(self, utc: i64) -> i64 {
        self.offset_at(utc).unwrap_or(0)
    }

    /// The zone's abbreviation at `utc` (`EST`, `CEST`), as to_char's `TZ` prints it; a fixed
    /// offset or a zone without one gives its offset (`+05`, `-03:30`).
    pub fn abbreviation_at(self, utc: i64) -> String {
        if let Zone::Named(tz) = self {
            if let Ok(t) = datetime_of(utc) {
                let offset = tz.offset_from_utc_datetime(&t);
                if let Some(name) = chrono_tz::OffsetName::abbreviation(&offset) {
                    return name.to_owned();
                }
            }
        }
        let mut out = String::new();
        write_offset(&mut out, self.display_offset(utc));
        out
    }
}

/// An offset east of UTC as PostgreSQL prints one after a time: `+05`, `-03:30`,
/// `+00:19:32`.
pub fn write_offset(out: &mut String, east: i64) {
    use std::fmt::Write as _;
    let sign = if east < 0 { '-' } else { '+' };
    let abs = east.unsigned_abs();
    let _ = write!(out, "{sign}{:02}", abs / 3600);
    if !abs.is_multiple_of(3600) {
        let _ = write!(out, ":{:02}", (abs / 60) % 60);
        if !abs.is_multiple_of(60) {
            let _ = write!(out, ":{:02}", abs % 60);
        }
    }
}

/// Reads a value of the `TimeZone` setting as PostgreSQL's `check_timezone` does, giving the
/// zone and the text SHOW prints, or `None` for a value it rejects:
///
/// - a number of hours (`-5`, `5.5`; east of Greenwich, as in SQL), shown as the POSIX
///   zone `<-05>+05`;
/// - a zone of the IANA database in any letter case (`america/new_york`), shown as the
///   database spells it;
/// - a POSIX zone without daylight-saving rules (`UTC+3`, `+02:00`, `<+05>-05`: the offset
///   is west of Greenwich), shown in upper case.
///
/// An `INTERVAL '...'` value (from `SET TIME ZONE INTERVAL '...'`) is read by the caller,
/// which gives it as a number of hours.
pub fn session_zone(text: &str) -> Option<(Zone, String)> {
    let numeric = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    if numeric {
        if let Ok(hours) = text.parse::<f64>() {
            return fixed_hours(hours);
        }
    }
    if let Some(tz) = iana_zone(text) {
        return Some((Zone::Named(tz), tz.name().to_owned()));
    }
    let west = posix_zone(text)?;
    Some((Zone::Fixed(-west), text.to_uppercase()))
}

/// A zone `hours` east of Greenwich, with the POSIX name PostgreSQL gives it.
fn fixed_hours(hours: f64) -> Option<(Zone, String)> {
    // PostgreSQL truncates to whole seconds.
    let east = (hours * 3600.0).trunc();
    if !east.is_finite() || east.abs() >= 168.0 * 3600.0 {
        return None;
    }
    fixed_offset(east as i64)
}

/// A zone `east` seconds east of Greenwich, with the POSIX name PostgreSQL gives it
/// (`<+05:30>-05:30`); POSIX offsets stop short of a week.
pub fn fixed_offset(east: i64) -> Option<(Zone, String)> {
    if east.unsigned_abs() >= 168 * 3600 {
        return None;
    }
    let abs = east.unsigned_abs();
    let mut text = format!("{:02}", abs / 3600);
    if !abs.is_multiple_of(3600) {
        text.push_str(&format!(":{:02}", (abs / 60) % 60));
        if !abs.is_multiple_of(60) {
            text.push_str(&format!(":{:02}", abs % 60));
        }
    }
    let name = if east < 0 {
        format!("<-{text}>+{text}")
    } else {
        format!("<+{text}>-{text}")
    };
    Some((Zone::Fixed(east), name))
}

/// A zone of the IANA database, by its name in any letter case.
fn iana_zone(text: &str) -> Option<Tz> {
    text.parse::<Tz>().ok().or_else(|| {
        chrono_tz::TZ_VARIANTS
            .iter()
            .find(|z| z.name().eq_ignore_ascii_case(text))
            .copied()
    })
}

/// A POSIX zone without daylight-saving rules (`STDoffset`, PostgreSQL's reading: the name
/// may be empty or `<quoted>`, the offset is `[+-]hh[:mm[:ss]]` west of Greenwich, hours
/// below 168): the offset west in seconds.
fn posix_zone(text: &str) -> Option<i64> {
    let rest = match text.strip_prefix('<') {
        Some(quoted) => &quoted[quoted.find('>')? + 1..],
        None => {
            text.trim_start_matches(|c: char| !(c.is_ascii_digit() || matches!(c, ',' | '-' | '+')))
        }
    };
    let (sign, rest) = match rest.as_bytes().first()? {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => (1, rest),
    };
    let mut secs = 0i64;
    for (k, part) in rest.split(':').enumerate() {
        let (limit, unit) = match k {
            0 => (167, 3600),
            1 => (59, 60),
            2 => (60, 1),
            _ => return None,
        };
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: i64 = part.parse().ok()?;
        if v > limit {
            return None;
        }
        secs += v * unit;
    }
    Some(sign * secs)
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
    match func {
        ZoneFunc::ToLocal(z) => return map_timestamps(arg(0)?, ty, |t| z.to_local(t)),
        ZoneFunc::ToInstant(z) => return map_timestamps(arg(0)?, ty, |t| z.to_utc(t)),
        ZoneFunc::AddInterval(z) => {
            let ts = arg(0)?.as_primitive::<TimestampMicrosecondType>();
            let ivs = arg(1)?.as_primitive::<IntervalMonthDayNanoType>();
            let at = |len: usize, i: usize| if len == 1 { 0 } else { i };
            let out = (0..n)
                .map(|i| {
                    let (a, b) = (at(ts.len(), i), at(ivs.len(), i));
                    if ts.is_null(a) || ivs.is_null(b) {
                        return Ok(None);
                    }
                    add_in_zone(z, ts.value(a), Interval::from_arrow(ivs.value(b))).map(Some)
                })
                .collect::<Result<Vec<_>>>()?;
            return Ok(with_type(TimestampMicrosecondArray::from(out), ty));
        }
        ZoneFunc::FromText(z) => {
            let text = arg(0)?.as_string::<i32>();
            let out = text
                .iter()
                .map(|v| v.map(|s| parse_timestamptz_in(s, z)).transpose())
                .collect::<Result<Vec<_>>>()?;
            return Ok(with_type(TimestampMicrosecondArray::from(out), ty));
        }
        ZoneFunc::ToText(z) => {
            let ts = arg(0)?.as_primitive::<TimestampMicrosecondType>();
            let mut s = String::new();
            let out: arrow_array::StringArray = ts
                .iter()
                .map(|v| {
                    v.map(|t| {
                        s.clear();
                        write_timestamptz(&mut s, t, z);
                        s.clone()
                    })
                })
                .collect();
            return Ok(Arc::new(out));
        }
        ZoneFunc::Offset(z) => {
            let ts = arg(0)?.as_primitive::<TimestampMicrosecondType>();
            let out: arrow_array::Int64Array = ts
                .iter()
                .map(|v| v.map(|t| z.offset_at(t)).transpose())
                .collect::<Result<_>>()?;
            return Ok(Arc::new(out));
        }
        ZoneFunc::Trunc(z, unit) => {
            let keeps_offset = matches!(
                unit,
                DateField::Hour
                    | DateField::Minute
                    | DateField::Second
                    | DateField::Millisecond
                    | DateField::Microsecond
            );
            return map_timestamps(arg(0)?, ty, |t| {
                let local = z.to_local(t)?;
                let truncated =
                    super::dates::micros_of(super::dates::trunc(datetime_of(local)?, unit)?)?;
                if keeps_offset {
                    t.checked_sub(local - truncated).ok_or_else(out_of_range)
                } else {
                    z.to_utc(truncated)
                }
            });
        }
        ZoneFunc::LocalToInstant | ZoneFunc::InstantToLocal | ZoneFunc::Convert => {}
    }
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
                (other, _) => return Err(Error::Internal(format!("{other:?} has no zone column"))),
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    let out = TimestampMicrosecondArray::from(out);
    Ok(match ty.arrow_type() {
        DataType::Timestamp(_, Some(zone)) => Arc::new(out.with_timezone(zone)),
        _ => Arc::new(out),
    })
}

fn with_type(out: TimestampMicrosecondArray, ty: SqlType) -> ArrayRef {
    match ty.arrow_type() {
        DataType::Timestamp(_, Some(zone)) => Arc::new(out.with_timezone(zone)),
        _ => Arc::new(out),
    }
}

/// `f` applied to every non-NULL value of a TIMESTAMP or TIMESTAMPTZ array, into `ty`.
fn map_timestamps(
    array: &ArrayRef,
    ty: SqlType,
    f: impl Fn(i64) -> Result<i64>,
) -> Result<ArrayRef> {
    let out = array
        .as_primitive::<TimestampMicrosecondType>()
        .iter()
        .map(|v| v.map(&f).transpose())
        .collect::<Result<Vec<_>>>()?;
    Ok(with_type(TimestampMicrosecondArray::from(out), ty))
}

/// `instant + interval` in `zone`, as PostgreSQL's `timestamptz_pl_interval`.
pub fn add_in_zone(zone: Zone, instant: i64, v: Interval) -> Result<i64> {
    let mut t = instant;
    if let Zone::Named(_) = zone {
        for step in [
            Interval {
                months: v.months,
                days: 0,
                micros: 0,
            },
            Interval {
                months: 0,
                days: v.days,
                micros: 0,
            },
        ] {
            if step != Interval::default() {
                let local = super::dates::add_interval(zone.to_local(t)?, step)?;
                t = zone.to_utc(local)?;
            }
        }
        return range::checked_timestamp(t.checked_add(v.micros));
    }
    // A fixed offset has no transitions: the instant moves as its local time does.
    super::dates::add_interval(t, v)
}

/// A TIMESTAMPTZ in `zone`: `YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM[:SS]][ BC]`, as
/// PostgreSQL prints one with DateStyle ISO.
pub fn write_timestamptz(out: &mut String, utc: i64, zone: Zone) {
    let offset = zone.display_offset(utc);
    let start = out.len();
    crate::pgtext::write_timestamp(out, utc.saturating_add(offset * MICROS_PER_SEC));
    let mut text = String::new();
    write_offset(&mut text, offset);
    match out[start..].strip_suffix(" BC").map(str::len) {
        Some(len) => out.insert_str(start + len, &text),
        None => out.push_str(&text),
    }
}

/// Reads `timestamp with time zone` text: a zone or offset in the text is honoured, and
/// text without one is local time in `zone`.
pub fn parse_timestamptz_in(s: &str, zone: Zone) -> Result<i64> {
    crate::types::temporal::parse_timestamptz_with(s, zone)
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

    fn shown(text: &str) -> Option<String> {
        session_zone(text).map(|(_, shown)| shown)
    }

    fn printed(zone: &str, utc: &str) -> String {
        let (zone, _) = session_zone(zone).unwrap();
        let mut out = String::new();
        write_timestamptz(&mut out, parse_timestamp(utc).unwrap(), zone);
        out
    }

    // Expected values from PostgreSQL 15's SET TIME ZONE and SHOW.
    #[test]
    fn session_zones_read_and_show_as_postgres_does() {
        assert_eq!(
            shown("america/new_york").as_deref(),
            Some("America/New_York")
        );
        assert_eq!(shown("utc").as_deref(), Some("UTC"));
        assert_eq!(shown("-5").as_deref(), Some("<-05>+05"));
        assert_eq!(shown("5.5").as_deref(), Some("<+05:30>-05:30"));
        assert_eq!(shown("+02:00").as_deref(), Some("+02:00"));
        assert_eq!(shown("utc+3").as_deref(), Some("UTC+3"));
        assert_eq!(shown("<+05>-05").as_deref(), Some("<+05>-05"));
        assert_eq!(session_zone("-5").unwrap().0, Zone::Fixed(-5 * 3600));
        assert_eq!(session_zone("+02:00").unwrap().0, Zone::Fixed(-2 * 3600));
        assert_eq!(session_zone("<+05>-05").unwrap().0, Zone::Fixed(5 * 3600));
        for bad in [
            "",
            "ABC",
            "pst",
            "Z",
            "Mars/Olympus",
            "200",
            "UTC+168",
            "+5:60",
        ] {
            assert!(session_zone(bad).is_none(), "{bad} should be refused");
        }
    }

    #[test]
    fn timestamptz_prints_with_the_zones_offset() {
        // Input: whole-hour, half-hour and local-mean-time offsets, and a BC year.
        assert_eq!(
            printed("America/New_York", "2024-01-01 12:00"),
            "2024-01-01 07:00:00-05"
        );
        assert_eq!(
            printed("Asia/Kolkata", "2024-01-01 12:00"),
            "2024-01-01 17:30:00+05:30"
        );
        assert_eq!(
            printed("America/New_York", "1880-01-01 12:00"),
            "1880-01-01 07:03:58-04:56:02"
        );
        assert_eq!(
            printed("-3.5", "2024-01-01 12:00"),
            "2024-01-01 08:30:00-03:30"
        );
        assert_eq!(
            printed("UTC", "0044-03-15 12:00 BC"),
            "0044-03-15 12:00:00+00 BC"
        );
    }

    #[test]
    fn adding_days_keeps_the_wall_clock_across_daylight_saving() {
        // Input: noon the day before New York springs forward, plus one day and 24 hours.
        let (ny, _) = session_zone("America/New_York").unwrap();
        let noon = ny
            .to_utc(parse_timestamp("2024-03-09 12:00").unwrap())
            .unwrap();
        let day = Interval {
            months: 0,
            days: 1,
            micros: 0,
        };
        let hours = Interval {
            months: 0,
            days: 0,
            micros: 24 * 3_600_000_000,
        };
        let mut out = String::new();
        write_timestamptz(&mut out, add_in_zone(ny, noon, day).unwrap(), ny);
        assert_eq!(out, "2024-03-10 12:00:00-04");
        out.clear();
        write_timestamptz(&mut out, add_in_zone(ny, noon, hours).unwrap(), ny);
        assert_eq!(out, "2024-03-10 13:00:00-04");
    }
}
