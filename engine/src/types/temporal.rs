//! TIME, TIMESTAMPTZ and INTERVAL values: reading and printing them as PostgreSQL's input and
//! output functions do (`DateStyle` ISO, `IntervalStyle` postgres), and their Arrow values.
//!
//! TIMESTAMPTZ text without a zone reads as local time in the session's zone (see
//! `kernels::zones`, which also prints it); a zone in the text (`Z`, `UTC`, `GMT`, `+05`,
//! `-03:30`, `+0530`, `Europe/Paris`, `PST`) is honoured.

use std::fmt::Write;

use arrow_buffer::IntervalMonthDayNano;

use crate::error::{Error, Result};
use crate::kernels::zones::Zone;
use crate::types::datum::{parse_time_of_day, parse_timestamp, timestamp_out_of_range};
use crate::types::range;

pub use crate::types::range::{INTERVAL_MICROS_MAX, MICROS_PER_DAY};

/// Microseconds in an hour.
const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// An interval as PostgreSQL keeps one: months, days and microseconds, each signed and apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

impl Interval {
    /// The Arrow value; `None` when the time part is beyond [`INTERVAL_MICROS_MAX`].
    pub fn to_arrow(self) -> Option<IntervalMonthDayNano> {
        Some(IntervalMonthDayNano::new(
            self.months,
            self.days,
            self.micros.checked_mul(1000)?,
        ))
    }

    /// The interval of an Arrow value (whose nanoseconds Basalt keeps whole microseconds).
    pub fn from_arrow(v: IntervalMonthDayNano) -> Interval {
        Interval {
            months: v.months,
            days: v.days,
            micros: v.nanoseconds / 1000,
        }
    }

    /// PostgreSQL's comparison key: a month is 30 days and a day 24 hours, so `1 mon` equals
    /// `30 days` and `1 day` equals `24:00:00`.
    pub fn span(self) -> i128 {
        (i128::from(self.months) * 30 + i128::from(self.days)) * i128::from(MICROS_PER_DAY)
            + i128::from(self.micros)
    }

    /// `self + other`, field by field as PostgreSQL adds intervals.
    pub fn checked_add(self, other: Interval) -> Result<Interval> {
        Interval {
            months: self.months.checked_add(other.months).ok_or_else(overflow)?,
            days: self.days.checked_add(other.days).ok_or_else(overflow)?,
            micros: self.micros.checked_add(other.micros).ok_or_else(overflow)?,
        }
        .in_range()
    }

    /// `self - other`, field by field.
    pub fn checked_sub(self, other: Interval) -> Result<Interval> {
        self.checked_add(other.checked_neg()?)
    }

    /// `-self`.
    pub fn checked_neg(self) -> Result<Interval> {
        Ok(Interval {
            months: self.months.checked_neg().ok_or_else(overflow)?,
            days: self.days.checked_neg().ok_or_else(overflow)?,
            micros: self.micros.checked_neg().ok_or_else(overflow)?,
        })
    }

    /// An error when the time part is beyond what Basalt holds.
    fn in_range(self) -> Result<Interval> {
        if self.micros.unsigned_abs() > INTERVAL_MICROS_MAX.unsigned_abs() {
            return Err(overflow());
        }
        Ok(self)
    }

    /// `self * factor` as PostgreSQL's `interval_mul`: whole months and days stay in their
    /// fields, and what a fraction leaves over cascades down (a month as 30 days, a day as 24
    /// hours), rounded to the microsecond.
    pub fn mul_f64(self, factor: f64) -> Result<Interval> {
        self.scale(|x| x * factor)
    }

    /// `self / divisor` as PostgreSQL's `interval_div`; division by zero is an error.
    pub fn div_f64(self, divisor: f64) -> Result<Interval> {
        if divisor == 0.0 {
            return Err(Error::DivisionByZero);
        }
        self.scale(|x| x / divisor)
    }

    fn scale(self, f: impl Fn(f64) -> f64) -> Result<Interval> {
        const SECS_PER_DAY: f64 = 86_400.0;
        let round = |x: f64| (x * 1e6).round_ties_even() / 1e6;
        let to_i32 = |x: f64| {
            if x.is_nan() || x < f64::from(i32::MIN) || x >= -f64::from(i32::MIN) {
                Err(overflow())
            } else {
                Ok(x.trunc() as i32)
            }
        };
        let months_exact = f(f64::from(self.months));
        let days_exact = f(f64::from(self.days));
        let months = to_i32(months_exact)?;
        let mut days = to_i32(days_exact)?;
        let month_remainder_days = round((months_exact - f64::from(months)) * 30.0);
        let mut sec_remainder = round(
            (days_exact - f64::from(days) + month_remainder_days - month_remainder_days.trunc())
                * SECS_PER_DAY,
        );
        if sec_remainder.abs() >= SECS_PER_DAY {
            let whole = (sec_remainder / SECS_PER_DAY).trunc();
            days = days.checked_add(to_i32(whole)?).ok_or_else(overflow)?;
            sec_remainder -= whole * SECS_PER_DAY;
        }
        days = days
            .checked_add(to_i32(month_remainder_days)?)
            .ok_or_else(overflow)?;
        let micros = (f(self.micros as f64) + sec_remainder * 1e6).round_ties_even();
        if micros.is_nan() || micros.abs() > INTERVAL_MICROS_MAX as f64 {
            return Err(overflow());
        }
        Ok(Interval {
            months,
            days,
            micros: micros as i64,
        })
    }

    /// Moves whole days of the time part into the days.
    fn carry_days(&mut self) -> Result<()> {
        let whole = i32::try_from(self.micros / MICROS_PER_DAY).map_err(|_| overflow())?;
        self.days = self.days.checked_add(whole).ok_or_else(overflow)?;
        self.micros %= MICROS_PER_DAY;
        Ok(())
    }

    /// Moves whole 30-day periods of the days into the months.
    fn carry_months(&mut self) -> Result<()> {
        self.months = self
            .months
            .checked_add(self.days / 30)
            .ok_or_else(overflow)?;
        self.days %= 30;
        Ok(())
    }

    /// Gives the time part the sign of the days, borrowing or lending one day.
    fn align_time_with_days(&mut self) {
        if self.days > 0 && self.micros < 0 {
            self.micros += MICROS_PER_DAY;
            self.days -= 1;
        } else if self.days < 0 && self.micros > 0 {
            self.micros -= MICROS_PER_DAY;
            self.days += 1;
        }
    }

    /// `justify_hours`: whole days of the time part move into the days.
    pub fn justify_hours(self) -> Result<Interval> {
        let mut v = self;
        v.carry_days()?;
        v.align_time_with_days();
        Ok(v)
    }

    /// `justify_days`: whole 30-day periods of the days move into the months.
    pub fn justify_days(self) -> Result<Interval> {
        let mut v = self;
        v.carry_months()?;
        if v.months > 0 && v.days < 0 {
            v.days += 30;
            v.months -= 1;
        } else if v.months < 0 && v.days > 0 {
            v.days -= 30;
            v.months += 1;
        }
        Ok(v)
    }

    /// `justify_interval`: both of the above, with the signs of all parts made to agree.
    pub fn justify_interval(self) -> Result<Interval> {
        let mut v = self;
        v.carry_days()?;
        v.carry_months()?;
        if v.months > 0 && (v.days < 0 || (v.days == 0 && v.micros < 0)) {
            v.days += 30;
            v.months -= 1;
        } else if v.months < 0 && (v.days > 0 || (v.days == 0 && v.micros > 0)) {
            v.days -= 30;
            v.months += 1;
        }
        v.align_time_with_days();
        Ok(v)
    }
}

/// PostgreSQL's error for an interval beyond its range (22008).
pub fn overflow() -> Error {
    crate::types::range::interval_out_of_range()
}

fn bad(ty: &str, s: &str) -> Error {
    Error::InvalidDatetime {
        message: format!("invalid input syntax for type {ty}: \"{s}\""),
    }
}

fn out_of_range(s: &str) -> Error {
    Error::InvalidDatetime {
        message: format!("date/time field value out of range: \"{s}\""),
    }
}

/// Splits a trailing zone off `t`: `Z`, `UTC`, `GMT`, or a signed `HH`, `HH:MM` or `HHMM`
/// offset. Returns the rest and the offset east of UTC in seconds; `None` when there is none.
fn split_zone(t: &str) -> Result<(&str, Option<i64>)> {
    let t = t.trim_end();
    for name in ["utc", "gmt", "z"] {
        if t.len() > name.len() && t[t.len() - name.len()..].eq_ignore_ascii_case(name) {
            let rest = &t[..t.len() - name.len()];
            // `Z` must follow the time directly; the names may be separated by a blank.
            if name != "z" || rest.ends_with(|c: char| c.is_ascii_digit()) {
                return Ok((rest.trim_end(), Some(0)));
            }
        }
    }
    // The last sign that is followed only by digits and colons starts an offset; a date's
    // hyphens are followed by more than that, so they never match.
    let Some(at) = t.rfind(['+', '-']) else {
        return Ok((t, None));
    };
    let zone = &t[at + 1..];
    if zone.is_empty() || !zone.bytes().all(|b| b.is_ascii_digit() || b == b':') {
        return Ok((t, None));
    }
    let before = t[..at].trim_end();
    // A date alone (`2024-01-02`) ends in digits joined by hyphens: not a zone.
    if !before.contains(':') {
        return Ok((t, None));
    }
    let (h, m) = match zone.split_once(':') {
        Some((h, m)) => (h, m),
        None if zone.len() == 4 => zone.split_at(2),
        None => (zone, "0"),
    };
    let (Ok(h), Ok(m)) = (h.parse::<i64>(), m.parse::<i64>()) else {
        return Err(bad("timestamp with time zone", t));
    };
    if h > 15 || m > 59 {
        return Err(Error::InvalidDatetime {
            message: format!("time zone displacement out of range: \"{t}\""),
        });
    }
    let secs = h * 3600 + m * 60;
    Ok((
        before,
        Some(if t.as_bytes()[at] == b'-' {
            -secs
        } else {
            secs
        }),
    ))
}

/// Reads `timestamp with time zone` text into microseconds since 1970-01-01 00:00:00 UTC;
/// text without a zone is UTC.
pub fn parse_timestamptz(s: &str) -> Result<i64> {
    parse_timestamptz_with(s, Zone::UTC)
}

/// Reads `timestamp with time zone` text into microseconds since 1970-01-01 00:00:00 UTC. A
/// zone in the text wins: an offset (`+05`, `-03:30`, `Z`), `UTC`/`GMT`, a zone name
/// (`Europe/Paris`) or abbreviation (`PST`); text without one is local time in `zone`, a
/// time daylight saving skips or repeats resolved as PostgreSQL does.
pub fn parse_timestamptz_with(s: &str, zone: Zone) -> Result<i64> {
    let t = s.trim();
    let (body, bc) = match t.strip_suffix("BC").or_else(|| t.strip_suffix("bc")) {
        Some(b) => (b.trim_end(), " BC"),
        None => (t, ""),
    };
    let (local, offset) = split_zone(body)?;
    let (local, named) = match offset {
        Some(_) => (local, None),
        None => split_zone_name(local)?,
    };
    let local = parse_timestamp(&format!("{local}{bc}")).map_err(|e| match e {
        Error::InvalidDatetime { message } if message.starts_with("timestamp out of range") => {
            timestamp_out_of_range(s)
        }
        Error::InvalidDatetime { message } if message.contains("out of range") => out_of_range(s),
        _ => bad("timestamp with time zone", s),
    })?;
    let utc = match offset {
        Some(offset) => local.checked_sub(offset * 1_000_000),
        None => named.unwrap_or(zone).to_utc(local).ok(),
    };
    range::checked_timestamp(utc).map_err(|_| timestamp_out_of_range(s))
}

/// Splits a trailing zone name or abbreviation (`America/New_York`, `PST`) off `t`: the
/// last word, when it has a letter and names a zone. A word with a `/` that names no zone
/// is PostgreSQL's `time zone "..." not recognized`.
fn split_zone_name(t: &str) -> Result<(&str, Option<Zone>)> {
    let Some((rest, word)) = t.rsplit_once(' ') else {
        return Ok((t, None));
    };
    if !word.bytes().any(|b| b.is_ascii_alphabetic()) || rest.trim().is_empty() {
        return Ok((t, None));
    }
    match crate::kernels::zones::parse_zone(word) {
        Ok(z) => Ok((rest.trim_end(), Some(z))),
        Err(_) if word.contains('/') => Err(Error::InvalidParameter {
            message: format!("time zone \"{}\" not recognized", word.to_lowercase()),
        }),
        Err(_) => Ok((t, None)),
    }
}

/// Reads `time without time zone` text (`HH:MM[:SS[.ffffff]]`, a leading date and a trailing
/// zone ignored, as PostgreSQL) into microseconds since midnight.
pub fn parse_time(s: &str) -> Result<i64> {
    let t = s.trim();
    let (t, _) = split_zone(t).map_err(|_| bad("time", s))?;
    let t = match t.split_once([' ', 'T']) {
        Some((date, time)) if date.contains('-') => time.trim(),
        _ => t,
    };
    if !t.contains(':') {
        return Err(bad("time", s));
    }
    let micros = parse_time_of_day(t).ok_or_else(|| {
        // PostgreSQL tells a well-formed but too large field from malformed text.
        let fields: Vec<&str> = t.split(':').collect();
        let numeric = fields
            .iter()
            .all(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
        if numeric && (2..=3).contains(&fields.len()) {
            out_of_range(s)
        } else {
            bad("time", s)
        }
    })?;
    if micros > MICROS_PER_DAY {
        return Err(out_of_range(s));
    }
    Ok(micros)
}

/// `HH:MM:SS[.ffffff]`, trailing fractional zeros dropped.
pub fn write_time(out: &mut String, micros: i64) {
    let secs = micros / 1_000_000;
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    write_fraction(out, micros % 1_000_000);
}

fn write_fraction(out: &mut String, frac: i64) {
    if frac != 0 {
        let f = format!("{:06}", frac.abs());
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
}

/// An interval in PostgreSQL's default `IntervalStyle` (postgres): `1 year 2 mons -3 days
/// +04:05:06.5`, `00:00:00` for zero.
pub fn write_interval(out: &mut String, v: Interval) {
    let years = v.months / 12;
    let months = v.months % 12;
    let mut is_zero = true;
    let mut is_before = false;
    for (value, unit) in [
        (i64::from(years), "year"),
        (i64::from(months), "mon"),
        (i64::from(v.days), "day"),
    ] {
        if value == 0 {
            continue;
        }
        let _ = write!(
            out,
            "{}{}{} {}{}",
            if is_zero { "" } else { " " },
            if is_before && value > 0 { "+" } else { "" },
            value,
            unit,
            if value != 1 { "s" } else { "" }
        );
        is_before = value < 0;
        is_zero = false;
    }
    if is_zero || v.micros != 0 {
        let minus = v.micros < 0;
        let abs = v.micros.unsigned_abs();
        let hours = abs / MICROS_PER_HOUR as u64;
        let rest = abs % MICROS_PER_HOUR as u64;
        let _ = write!(
            out,
            "{}{}{:02}:{:02}:{:02}",
            if is_zero { "" } else { " " },
            if minus {
                "-"
            } else if is_before {
                "+"
            } else {
                ""
            },
            hours,
            rest / 60_000_000,
            (rest / 1_000_000) % 60
        );
        write_fraction(out, (rest % 1_000_000) as i64);
    }
}

/// Reads interval text: PostgreSQL's `N unit` pairs, `hh:mm[:ss]`, `ago`, and `unit` for a bare
/// number (`INTERVAL '90' DAY`).
pub fn parse_interval(s: &str) -> Result<Interval> {
    let v = crate::planner::dates::parse_interval(s, None)?;
    if v.micros.unsigned_abs() > INTERVAL_MICROS_MAX as u64 {
        return Err(Error::InvalidDatetime {
            message: format!("interval field value out of range: \"{s}\""),
        });
    }
    Ok(Interval {
        months: v.months,
        days: v.days,
        micros: v.micros,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(s: &str) -> String {
        let mut out = String::new();
        crate::kernels::zones::write_timestamptz(
            &mut out,
            parse_timestamptz(s).unwrap(),
            Zone::UTC,
        );
        out
    }

    fn iv(s: &str) -> String {
        let mut out = String::new();
        write_interval(&mut out, parse_interval(s).unwrap());
        out
    }

    fn time(s: &str) -> String {
        let mut out = String::new();
        write_time(&mut out, parse_time(s).unwrap());
        out
    }

    #[test]
    fn timestamptz_reads_zones_and_prints_utc() {
        // Input: timestamps with no zone, Z, UTC, whole-hour, hh:mm and hhmm offsets, BC.
        assert_eq!(tz("2024-01-02 03:04:05"), "2024-01-02 03:04:05+00");
        assert_eq!(tz("2024-01-02T03:04:05Z"), "2024-01-02 03:04:05+00");
        assert_eq!(tz("2024-01-02 03:04:05 UTC"), "2024-01-02 03:04:05+00");
        assert_eq!(tz("2024-01-02 03:04:05+02"), "2024-01-02 01:04:05+00");
        assert_eq!(
            tz("2024-01-02 03:04:05.25-05:30"),
            "2024-01-02 08:34:05.25+00"
        );
        assert_eq!(tz("2024-01-02 03:04:05+0530"), "2024-01-01 21:34:05+00");
        assert_eq!(tz("2024-01-02"), "2024-01-02 00:00:00+00");
        assert_eq!(tz("0044-03-15 12:00:00 BC"), "0044-03-15 12:00:00+00 BC");
        assert!(parse_timestamptz("2024-13-02 00:00:00+00").is_err());
        assert!(parse_timestamptz("yesterday-ish").is_err());
        assert!(parse_timestamptz("2024-01-02 00:00:00+16").is_err());
    }

    #[test]
    fn time_reads_and_prints_like_postgres() {
        // Input: times with and without seconds and fractions, 24:00:00, a leading date and a
        // trailing zone; out-of-range and malformed text.
        assert_eq!(time("03:04:05"), "03:04:05");
        assert_eq!(time("3:04"), "03:04:00");
        assert_eq!(time("23:59:59.999999"), "23:59:59.999999");
        assert_eq!(time("12:00:00.5"), "12:00:00.5");
        assert_eq!(time("24:00:00"), "24:00:00");
        assert_eq!(time("2024-01-02 10:11:12"), "10:11:12");
        assert_eq!(time("10:11:12+05"), "10:11:12");
        assert!(matches!(
            parse_time("24:00:01"),
            Err(Error::InvalidDatetime { message }) if message.contains("out of range")
        ));
        assert!(matches!(
            parse_time("25:00:00"),
            Err(Error::InvalidDatetime { message }) if message.contains("out of range")
        ));
        assert!(matches!(
            parse_time("noon"),
            Err(Error::InvalidDatetime { message }) if message.contains("invalid input syntax")
        ));
    }

    #[test]
    fn intervals_print_like_postgres() {
        // Input: PostgreSQL's documented examples and the sign rules of IntervalStyle postgres.
        assert_eq!(
            iv("1 year 2 mons 3 days 04:05:06"),
            "1 year 2 mons 3 days 04:05:06"
        );
        assert_eq!(iv("-1 second"), "-00:00:01");
        assert_eq!(iv("0"), "00:00:00");
        assert_eq!(iv("1 day"), "1 day");
        assert_eq!(iv("2 hours"), "02:00:00");
        assert_eq!(iv("-1 day 2 hours"), "-1 days +02:00:00");
        assert_eq!(iv("1 mon -1 day"), "1 mon -1 days");
        assert_eq!(iv("100 hours 0.5 seconds"), "100:00:00.5");
        assert_eq!(iv("1 day ago"), "-1 days");
        assert_eq!(iv("13 months"), "1 year 1 mon");
        assert_eq!(iv("1.5 years"), "1 year 6 mons");
        assert!(parse_interval("1 fortnight").is_err());
        assert!(parse_interval("3000000 hours").is_err());
    }

    #[test]
    fn spans_follow_postgres_equality() {
        // Input: pairs PostgreSQL calls equal, and one it orders.
        let p = |s: &str| parse_interval(s).unwrap().span();
        assert_eq!(p("1 mon"), p("30 days"));
        assert_eq!(p("1 day"), p("24 hours"));
        assert!(p("1 mon") < p("31 days"));
    }
}
