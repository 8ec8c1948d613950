//! Date and timestamp arithmetic and formatting: `date ± integer`, `date - date`,
//! `± INTERVAL` constants, date_trunc, DATEADD, DATEDIFF, ADD_MONTHS, LAST_DAY,
//! MONTHS_BETWEEN, to_char, to_date and to_timestamp.
//!
//! DATE values are Arrow `Date32` (days since 1970-01-01), TIMESTAMP values
//! `Timestamp(Microsecond)` (microseconds since 1970-01-01 00:00:00), both without a zone.

use std::sync::Arc;

use arrow_array::builder::{Date32Builder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float64Type, Int32Type, Int64Type, IntervalMonthDayNanoType,
    TimestampMicrosecondType,
};
use arrow_array::{Array, ArrayRef, Time64MicrosecondArray, TimestampMicrosecondArray};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use super::datetime::DateField;
use crate::error::{Error, Result};
use crate::pgtext::{civil_from_days, days_from_civil, days_in_month};
use crate::types::range::{self, MICROS_PER_DAY};
use crate::types::temporal::Interval;

/// A date or timestamp function the executor evaluates (see `ScalarFunc::Date`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DateFunc {
    /// `date + integer` (`date - integer` negates the integer first): DATE.
    AddDays,
    /// `date - date`: INTEGER days.
    DiffDays,
    /// `timestamp + INTERVAL 'months, days, microseconds'`: TIMESTAMP.
    AddInterval { months: i32, days: i32, micros: i64 },
    /// `date_trunc(unit, timestamp)`: TIMESTAMP.
    Trunc(DateField),
    /// `DATEADD(part, n, timestamp)`: TIMESTAMP.
    DateAdd(DateField),
    /// `DATEDIFF(part, start, end)`: BIGINT, the part boundaries crossed.
    DateDiff(DateField),
    /// `ADD_MONTHS(timestamp, n)`: TIMESTAMP; a month's last day stays its month's last day.
    AddMonths,
    /// `LAST_DAY(date)`: DATE.
    LastDay,
    /// `MONTHS_BETWEEN(date, date)`: DOUBLE PRECISION.
    MonthsBetween,
    /// `to_char(timestamp, format)`: TEXT.
    ToChar,
    /// to_char of a TIMESTAMPTZ in the session's zone. Arguments: the instant, the
    /// template.
    ToCharIn(crate::kernels::zones::Zone),
    /// to_char of an INTERVAL: its years, months, days and time fields. Arguments: the
    /// interval, the template.
    ToCharInterval,
    /// `to_date(text, format)`: DATE.
    ToDate,
    /// `to_timestamp(text, format)`: TIMESTAMP.
    ToTimestamp,
    /// `make_date(year, month, day)` over INTEGERs: DATE; a negative year is BC.
    MakeDate,
    /// `make_time(hour, min, sec)` over INTEGER, INTEGER, DOUBLE PRECISION: TIME.
    MakeTime,
    /// `make_timestamp(year, month, day, hour, min, sec)`: TIMESTAMP.
    MakeTimestamp,
    /// `date_bin(stride, source, origin)` over INTERVAL, TIMESTAMP, TIMESTAMP: the start of
    /// the stride-long bin, counted from origin, that holds source (TIMESTAMP).
    DateBin,
    /// `to_timestamp(double precision)`: seconds since 1970-01-01 00:00:00 UTC, as the
    /// microseconds of that instant (the planner types them TIMESTAMPTZ).
    FromEpoch,
}

const EPOCH_DAYS_FROM_CE: i32 = 719_163;

fn out_of_range(what: &str) -> Error {
    Error::InvalidDatetime {
        message: format!("{what} out of range"),
    }
}

pub(crate) fn date_of(days: i32) -> Result<NaiveDate> {
    days.checked_add(EPOCH_DAYS_FROM_CE)
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| out_of_range("date"))
}

pub(crate) fn days_of(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - EPOCH_DAYS_FROM_CE
}

pub(crate) fn datetime_of(us: i64) -> Result<NaiveDateTime> {
    let days = us.div_euclid(MICROS_PER_DAY);
    let rest = us.rem_euclid(MICROS_PER_DAY);
    let date = date_of(i32::try_from(days).map_err(|_| out_of_range("timestamp"))?)?;
    let secs = (rest / 1_000_000) as u32;
    let nanos = ((rest % 1_000_000) * 1000) as u32;
    let time = NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos)
        .ok_or_else(|| out_of_range("timestamp"))?;
    Ok(NaiveDateTime::new(date, time))
}

/// The microseconds of a calendar time, or `timestamp out of range`: every timestamp a
/// function builds from calendar fields comes through here.
pub(crate) fn micros_of(t: NaiveDateTime) -> Result<i64> {
    let days = i64::from(days_of(t.date()));
    let time = t.time();
    let in_day = i64::from(time.num_seconds_from_midnight()) * 1_000_000
        + i64::from(time.nanosecond() / 1000);
    range::checked_timestamp(
        days.checked_mul(MICROS_PER_DAY)
            .and_then(|d| d.checked_add(in_day)),
    )
}

/// `timestamp + interval` on microseconds since the epoch, as PostgreSQL adds one: the
/// months first (the day of month clamped to the target month's last day), then the days,
/// then the time. The calendar is counted without chrono, so every timestamp in range moves.
pub(crate) fn add_interval(us: i64, v: Interval) -> Result<i64> {
    let us = if v.months != 0 {
        let (days, time) = (us.div_euclid(MICROS_PER_DAY), us.rem_euclid(MICROS_PER_DAY));
        let days = i32::try_from(days).map_err(|_| range::timestamp_out_of_range())?;
        let (y, m, d) = civil_from_days(days);
        let total = y * 12 + i64::from(m) - 1 + i64::from(v.months);
        let (year, month) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
        let day = d.min(days_in_month(year, month));
        let moved = days_from_civil(year, month, day).ok_or_else(range::timestamp_out_of_range)?;
        range::checked_timestamp(
            i64::from(moved)
                .checked_mul(MICROS_PER_DAY)
                .and_then(|x| x.checked_add(time)),
        )?
    } else {
        us
    };
    range::checked_timestamp(
        i64::from(v.days)
            .checked_mul(MICROS_PER_DAY)
            .and_then(|d| us.checked_add(d))
            .and_then(|x| x.checked_add(v.micros)),
    )
}

/// Adds `months` to a date, keeping the day of month where the target month has it and
/// clamping it to the month's last day otherwise (PostgreSQL's rule for `+ interval`).
fn add_months_clamped(d: NaiveDate, months: i64) -> Result<NaiveDate> {
    let total = i64::from(d.year()) * 12 + i64::from(d.month0()) + months;
    let year = i32::try_from(total.div_euclid(12)).map_err(|_| out_of_range("date"))?;
    let month = (total.rem_euclid(12) + 1) as u32;
    let last = last_day_of(year, month)?;
    NaiveDate::from_ymd_opt(year, month, d.day().min(last.day()))
        .ok_or_else(|| out_of_range("date"))
}

pub(crate) fn last_day_of(year: i32, month: u32) -> Result<NaiveDate> {
    let (ny, nm) = if month == 12 {
        (year.checked_add(1).ok_or_else(|| out_of_range("date"))?, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .ok_or_else(|| out_of_range("date"))
}

fn is_last_day(d: NaiveDate) -> bool {
    d.succ_opt().is_none_or(|n| n.month() != d.month())
}

/// Truncates a timestamp to `unit`, as PostgreSQL's date_trunc (weeks start on Monday;
/// decades, centuries and millennia as PostgreSQL counts them).
pub fn trunc(t: NaiveDateTime, unit: DateField) -> Result<NaiveDateTime> {
    let d = t.date();
    let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
    let year_start = |y: i32| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .map(midnight)
            .ok_or_else(|| out_of_range("timestamp"))
    };
    let y = d.year();
    Ok(match unit {
        DateField::Microsecond => t,
        DateField::Millisecond => t
            .with_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
            .unwrap_or(t),
        DateField::Second => t.with_nanosecond(0).unwrap_or(t),
        DateField::Minute => {
            d.and_time(NaiveTime::from_hms_opt(t.hour(), t.minute(), 0).unwrap_or(NaiveTime::MIN))
        }
        DateField::Hour => {
            d.and_time(NaiveTime::from_hms_opt(t.hour(), 0, 0).unwrap_or(NaiveTime::MIN))
        }
        DateField::Day => midnight(d),
        DateField::Week => {
            midnight(d - Duration::days(i64::from(d.weekday().num_days_from_monday())))
        }
        DateField::Month => midnight(d.with_day(1).unwrap_or(d)),
        DateField::Quarter => midnight(
            NaiveDate::from_ymd_opt(y, d.month0() / 3 * 3 + 1, 1)
                .ok_or_else(|| out_of_range("timestamp"))?,
        ),
        DateField::Year => year_start(y)?,
        DateField::Decade => year_start(y.div_euclid(10) * 10)?,
        DateField::Century => year_start((y - 1).div_euclid(100) * 100 + 1)?,
        DateField::Millennium => year_start((y - 1).div_euclid(1000) * 1000 + 1)?,
        other => {
            return Err(Error::InvalidParameter {
                message: format!(
                    "unit \"{}\" not supported for type timestamp without time zone",
                    other.name()
                ),
            })
        }
    })
}

/// Whether `date_trunc`, DATEADD and DATEDIFF take `unit`.
pub fn unit_supported(unit: DateField) -> bool {
    matches!(
        unit,
        DateField::Microsecond
            | DateField::Millisecond
            | DateField::Second
            | DateField::Minute
            | DateField::Hour
            | DateField::Day
            | DateField::Week
            | DateField::Month
            | DateField::Quarter
            | DateField::Year
            | DateField::Decade
            | DateField::Century
            | DateField::Millennium
    )
}

/// Adds `n` units to a timestamp (Redshift's DATEADD: month arithmetic clamps the day, as
/// `+ interval` does). Counted on microseconds and civil dates, not chrono, so every
/// timestamp in range moves.
fn date_add(us: i64, unit: DateField, n: i64) -> Result<i64> {
    let span = |unit_us: i64| {
        range::checked_timestamp(n.checked_mul(unit_us).and_then(|d| us.checked_add(d)))
    };
    let months = |per: i64| {
        let months = n
            .checked_mul(per)
            .and_then(|m| i32::try_from(m).ok())
            .ok_or_else(range::timestamp_out_of_range)?;
        add_interval(
            us,
            Interval {
                months,
                days: 0,
                micros: 0,
            },
        )
    };
    match unit {
        DateField::Microsecond => span(1),
        DateField::Millisecond => span(1000),
        DateField::Second => span(1_000_000),
        DateField::Minute => span(60_000_000),
        DateField::Hour => span(3_600_000_000),
        DateField::Day => span(MICROS_PER_DAY),
        DateField::Week => span(7 * MICROS_PER_DAY),
        DateField::Month => months(1),
        DateField::Quarter => months(3),
        DateField::Year => months(12),
        DateField::Decade => months(120),
        DateField::Century => months(1200),
        DateField::Millennium => months(12000),
        other => Err(Error::InvalidParameter {
            message: format!(
                "dateadd does not support the date part \"{}\"",
                other.name()
            ),
        }),
    }
}

/// The number of `unit` boundaries crossed going from `a` to `b` (Redshift's DATEDIFF).
fn date_diff(a: NaiveDateTime, b: NaiveDateTime, unit: DateField) -> Result<i64> {
    let month_index = |t: NaiveDateTime| i64::from(t.year()) * 12 + i64::from(t.month0());
    let truncated = |unit: DateField| -> Result<i64> {
        Ok(micros_of(trunc(b, unit)?)? - micros_of(trunc(a, unit)?)?)
    };
    Ok(match unit {
        DateField::Microsecond => micros_of(b)? - micros_of(a)?,
        DateField::Millisecond => truncated(unit)? / 1000,
        DateField::Second => truncated(unit)? / 1_000_000,
        DateField::Minute => truncated(unit)? / 60_000_000,
        DateField::Hour => truncated(unit)? / 3_600_000_000,
        DateField::Day => truncated(unit)? / MICROS_PER_DAY,
        DateField::Week => truncated(unit)? / (7 * MICROS_PER_DAY),
        DateField::Month => month_index(b) - month_index(a),
        DateField::Quarter => month_index(b).div_euclid(3) - month_index(a).div_euclid(3),
        DateField::Year => i64::from(b.year()) - i64::from(a.year()),
        DateField::Decade => {
            i64::from(b.year()).div_euclid(10) - i64::from(a.year()).div_euclid(10)
        }
        DateField::Century => {
            i64::from(b.year() - 1).div_euclid(100) - i64::from(a.year() - 1).div_euclid(100)
        }
        DateField::Millennium => {
            i64::from(b.year() - 1).div_euclid(1000) - i64::from(a.year() - 1).div_euclid(1000)
        }
        other => {
            return Err(Error::InvalidParameter {
                message: format!(
                    "datediff does not support the date part \"{}\"",
                    other.name()
                ),
            })
        }
    })
}

/// Oracle's and Redshift's MONTHS_BETWEEN: whole months when both dates fall on the same day
/// of month or both on a month's last day, otherwise with the days over a 31-day month.
fn months_between(a: NaiveDate, b: NaiveDate) -> f64 {
    let months = (i64::from(a.year()) * 12 + i64::from(a.month0()))
        - (i64::from(b.year()) * 12 + i64::from(b.month0()));
    if a.day() == b.day() || (is_last_day(a) && is_last_day(b)) {
        return months as f64;
    }
    months as f64 + (f64::from(a.day()) - f64::from(b.day())) / 31.0
}

/// Evaluates `func` over its argument arrays (already cast to the types the binder chose).
pub fn evaluate(func: DateFunc, args: &[ArrayRef], n: usize) -> Result<ArrayRef> {
    let arg = |i: usize| {
        args.get(i)
            .ok_or_else(|| Error::Internal(format!("{func:?} is missing argument {i}")))
    };
    match func {
        DateFunc::AddDays => {
            let (d, k) = (arg(0)?.as_primitive::<Date32Type>(), arg(1)?);
            let k = k.as_primitive::<Int32Type>();
            let mut out = Date32Builder::with_capacity(n);
            for i in 0..n {
                if d.is_null(i) || k.is_null(i) {
                    out.append_null();
                    continue;
                }
                out.append_value(range::check_date(
                    i64::from(d.value(i)) + i64::from(k.value(i)),
                )?);
            }
            Ok(Arc::new(out.finish()))
        }
        DateFunc::DiffDays => {
            let (a, b) = (
                arg(0)?.as_primitive::<Date32Type>(),
                arg(1)?.as_primitive::<Date32Type>(),
            );
            let out: arrow_array::Int32Array = a
                .iter()
                .zip(b.iter())
                .map(|(a, b)| match (a, b) {
                    (Some(a), Some(b)) => Ok(Some(
                        a.checked_sub(b).ok_or_else(|| out_of_range("integer"))?,
                    )),
                    _ => Ok(None),
                })
                .collect::<Result<_>>()?;
            Ok(Arc::new(out))
        }
        DateFunc::AddInterval {
            months,
            days,
            micros,
        } => {
            let v = Interval {
                months,
                days,
                micros,
            };
            let out = arg(0)?
                .as_primitive::<TimestampMicrosecondType>()
                .iter()
                .map(|t| t.map(|t| add_interval(t, v)).transpose())
                .collect::<Result<TimestampMicrosecondArray>>()?;
            Ok(Arc::new(out))
        }
        DateFunc::Trunc(unit) => map_timestamps(arg(0)?, |t| trunc(t, unit)),
        DateFunc::DateAdd(unit) => {
            let k = arg(0)?.as_primitive::<Int64Type>();
            let ts = arg(1)?.as_primitive::<TimestampMicrosecondType>();
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                if k.is_null(i) || ts.is_null(i) {
                    out.push(None);
                    continue;
                }
                out.push(Some(date_add(ts.value(i), unit, k.value(i))?));
            }
            Ok(Arc::new(TimestampMicrosecondArray::from(out)))
        }
        DateFunc::DateDiff(unit) => {
            let a = arg(0)?.as_primitive::<TimestampMicrosecondType>();
            let b = arg(1)?.as_primitive::<TimestampMicrosecondType>();
            let mut out = Int64Builder::with_capacity(n);
            for i in 0..n {
                if a.is_null(i) || b.is_null(i) {
                    out.append_null();
                    continue;
                }
                out.append_value(date_diff(
                    datetime_of(a.value(i))?,
                    datetime_of(b.value(i))?,
                    unit,
                )?);
            }
            Ok(Arc::new(out.finish()))
        }
        DateFunc::AddMonths => {
            let ts = arg(0)?.as_primitive::<TimestampMicrosecondType>();
            let k = arg(1)?.as_primitive::<Int64Type>();
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                if k.is_null(i) || ts.is_null(i) {
                    out.push(None);
                    continue;
                }
                let t = datetime_of(ts.value(i))?;
                let moved = add_months_clamped(t.date(), k.value(i))?;
                let moved = if is_last_day(t.date()) {
                    last_day_of(moved.year(), moved.month())?
                } else {
                    moved
                };
                out.push(Some(micros_of(moved.and_time(t.time()))?));
            }
            Ok(Arc::new(TimestampMicrosecondArray::from(out)))
        }
        DateFunc::LastDay => {
            let d = arg(0)?.as_primitive::<Date32Type>();
            let mut out = Date32Builder::with_capacity(n);
            for v in d.iter() {
                match v {
                    None => out.append_null(),
                    Some(v) => {
                        let d = date_of(v)?;
                        out.append_value(days_of(last_day_of(d.year(), d.month())?));
                    }
                }
            }
            Ok(Arc::new(out.finish()))
        }
        DateFunc::MakeDate => {
            let [y, m, d] = [0, 1, 2].map(|i| arg(i).map(|a| a.as_primitive::<Int32Type>()));
            let (y, m, d) = (y?, m?, d?);
            let out = (0..n)
                .map(|i| {
                    if y.is_null(i) || m.is_null(i) || d.is_null(i) {
                        return Ok(None);
                    }
                    make_date(y.value(i), m.value(i), d.value(i)).map(Some)
                })
                .collect::<Result<arrow_array::Date32Array>>()?;
            Ok(Arc::new(out))
        }
        DateFunc::MakeTime => {
            let h = arg(0)?.as_primitive::<Int32Type>();
            let m = arg(1)?.as_primitive::<Int32Type>();
            let s = arg(2)?.as_primitive::<Float64Type>();
            let out = (0..n)
                .map(|i| {
                    if h.is_null(i) || m.is_null(i) || s.is_null(i) {
                        return Ok(None);
                    }
                    make_time(h.value(i), m.value(i), s.value(i)).map(Some)
                })
                .collect::<Result<Time64MicrosecondArray>>()?;
            Ok(Arc::new(out))
        }
        DateFunc::MakeTimestamp => {
            let ints = (0..5)
                .map(|i| arg(i).map(|a| a.as_primitive::<Int32Type>()))
                .collect::<Result<Vec<_>>>()?;
            let s = arg(5)?.as_primitive::<Float64Type>();
            let out = (0..n)
                .map(|i| {
                    if s.is_null(i) || ints.iter().any(|a| a.is_null(i)) {
                        return Ok(None);
                    }
                    let v: Vec<i32> = ints.iter().map(|a| a.value(i)).collect();
                    make_timestamp([v[0], v[1], v[2]], v[3], v[4], s.value(i)).map(Some)
                })
                .collect::<Result<TimestampMicrosecondArray>>()?;
            Ok(Arc::new(out))
        }
        DateFunc::DateBin => {
            let stride = arg(0)?.as_primitive::<IntervalMonthDayNanoType>();
            let source = arg(1)?.as_primitive::<TimestampMicrosecondType>();
            let origin = arg(2)?.as_primitive::<TimestampMicrosecondType>();
            let out = (0..n)
                .map(|i| {
                    if stride.is_null(i) || source.is_null(i) || origin.is_null(i) {
                        return Ok(None);
                    }
                    let stride = Interval::from_arrow(stride.value(i));
                    date_bin(stride, source.value(i), origin.value(i)).map(Some)
                })
                .collect::<Result<TimestampMicrosecondArray>>()?;
            Ok(Arc::new(out))
        }
        DateFunc::FromEpoch => {
            let out = arg(0)?
                .as_primitive::<Float64Type>()
                .iter()
                .map(|v| v.map(from_epoch).transpose())
                .collect::<Result<TimestampMicrosecondArray>>()?;
            Ok(Arc::new(out))
        }
        DateFunc::MonthsBetween => {
            let a = arg(0)?.as_primitive::<Date32Type>();
            let b = arg(1)?.as_primitive::<Date32Type>();
            let mut out = Float64Builder::with_capacity(n);
            for i in 0..n {
                if a.is_null(i) || b.is_null(i) {
                    out.append_null();
                    continue;
                }
                out.append_value(months_between(date_of(a.value(i))?, date_of(b.value(i))?));
            }
            Ok(Arc::new(out.finish()))
        }
        DateFunc::ToChar => {
            let ts = arg(0)?.as_primitive::<TimestampMicrosecondType>();
            let fmt = arg(1)?.as_string::<i32>();
            let mut out = StringBuilder::with_capacity(n, n * 16);
            for i in 0..n {
                if ts.is_null(i) || fmt.is_null(i) {
                    out.append_null();
                    continue;
                }
                out.append_value(to_char(datetime_of(ts.value(i))?, fmt.value(i)));
            }
            Ok(Arc::new(out.finish()))
        }
        DateFunc::ToCharIn(zone) => {
            let ts = arg(0)?.as_primitive::<TimestampMicrosecondType>();
            let fmt = arg(1)?.as_string::<i32>();
            let mut out = StringBuilder::with_capacity(n, n * 16);
            for i in 0..n {
                if ts.is_null(i) || fmt.is_null(i) {
                    out.append_null();
                    continue;
                }
                let utc = ts.value(i);
                let local = datetime_of(zone.to_local(utc)?)?;
                let name = zone.abbreviation_at(utc);
                let offset = zone.display_offset(utc);
                out.append_value(to_char_in(local, fmt.value(i), Some((&name, offset))));
            }
            Ok(Arc::new(out.finish()))
        }
        DateFunc::ToCharInterval => {
            let ivs = arg(0)?.as_primitive::<arrow_array::types::IntervalMonthDayNanoType>();
            let fmt = arg(1)?.as_string::<i32>();
            let mut out = StringBuilder::with_capacity(n, n * 16);
            for i in 0..n {
                if ivs.is_null(i) || fmt.is_null(i) {
                    out.append_null();
                    continue;
                }
                let v = crate::types::temporal::Interval::from_arrow(ivs.value(i));
                out.append_value(to_char_interval(v, fmt.value(i))?);
            }
            Ok(Arc::new(out.finish()))
        }
        DateFunc::ToDate | DateFunc::ToTimestamp => {
            let text = arg(0)?.as_string::<i32>();
            let fmt = arg(1)?.as_string::<i32>();
            let mut us = Vec::with_capacity(n);
            for i in 0..n {
                if text.is_null(i) || fmt.is_null(i) {
                    us.push(None);
                    continue;
                }
                us.push(Some(parse_formatted(text.value(i), fmt.value(i))?));
            }
            if func == DateFunc::ToDate {
                let out = us
                    .into_iter()
                    .zip(text.iter())
                    .map(|(t, text)| {
                        t.map(|(days, _)| {
                            range::check_date(days).map_err(|_| Error::InvalidDatetime {
                                message: format!(
                                    "date out of range: \"{}\"",
                                    text.unwrap_or_default()
                                ),
                            })
                        })
                        .transpose()
                    })
                    .collect::<Result<arrow_array::Date32Array>>()?;
                return Ok(Arc::new(out));
            }
            let out = us
                .into_iter()
                .map(|t| {
                    t.map(|(days, in_day)| {
                        range::checked_timestamp(
                            days.checked_mul(MICROS_PER_DAY)
                                .and_then(|d| d.checked_add(in_day)),
                        )
                    })
                    .transpose()
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Arc::new(TimestampMicrosecondArray::from(out)))
        }
    }
}

/// C's `%02g` as PostgreSQL prints seconds in its field errors: six significant digits,
/// trailing zeros dropped, at least two characters.
fn seconds_text(s: f64) -> String {
    let mut t = if s == s.trunc() && s.abs() < 1e6 {
        format!("{s}")
    } else {
        let digits = (5 - s.abs().log10().floor() as i32).max(0) as usize;
        let t = format!("{s:.digits$}");
        if t.contains('.') {
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            t
        }
    };
    if t.len() < 2 {
        t.insert(0, '0');
    }
    t
}

/// The days of a calendar date given as PostgreSQL's make_date takes it (a negative year is
/// BC, year 0 does not exist), or `date field value out of range`.
fn civil_days(year: i32, month: i32, day: i32) -> Result<i64> {
    let bad = || Error::InvalidDatetime {
        message: format!("date field value out of range: {year}-{month:02}-{day:02}"),
    };
    if year == 0 {
        return Err(bad());
    }
    // Astronomical numbering: 1 BC is year 0.
    let astronomical = if year < 0 {
        i64::from(year) + 1
    } else {
        i64::from(year)
    };
    let month = u32::try_from(month).map_err(|_| bad())?;
    let day = u32::try_from(day).map_err(|_| bad())?;
    days_from_civil(astronomical, month, day)
        .map(i64::from)
        .ok_or_else(bad)
}

/// `make_date(year, month, day)`: days since 1970-01-01.
fn make_date(year: i32, month: i32, day: i32) -> Result<i32> {
    let days = civil_days(year, month, day)?;
    if range::is_valid_date(days) {
        Ok(days as i32)
    } else {
        Err(Error::InvalidDatetime {
            message: format!("date out of range: {year}-{month:02}-{day:02}"),
        })
    }
}

/// The microseconds since midnight of a time of day as PostgreSQL's make_time and
/// make_timestamp check it: up to 24:00:00, seconds up to 60 (rounded to microseconds).
fn time_micros(hour: i32, min: i32, sec: f64) -> Result<i64> {
    let valid = (0..=24).contains(&hour)
        && (0..60).contains(&min)
        && (0.0..=60.0).contains(&sec)
        && (hour < 24 || (min == 0 && sec == 0.0));
    if !valid {
        return Err(Error::InvalidDatetime {
            message: format!(
                "time field value out of range: {hour}:{min:02}:{}",
                seconds_text(sec)
            ),
        });
    }
    Ok((i64::from(hour) * 60 + i64::from(min)) * 60 * 1_000_000
        + (sec * 1e6).round_ties_even() as i64)
}

/// `make_time(hour, min, sec)`: microseconds since midnight (24:00:00 included).
fn make_time(hour: i32, min: i32, sec: f64) -> Result<i64> {
    time_micros(hour, min, sec)
}

/// `make_timestamp(year, month, day, hour, min, sec)`: microseconds since 1970.
fn make_timestamp(date: [i32; 3], hour: i32, min: i32, sec: f64) -> Result<i64> {
    let [year, month, day] = date;
    let days = civil_days(year, month, day)?;
    let time = time_micros(hour, min, sec)?;
    let micros = days
        .checked_mul(MICROS_PER_DAY)
        .and_then(|d| d.checked_add(time));
    match micros {
        Some(us) if range::is_valid_timestamp(us) => Ok(us),
        _ => Err(Error::InvalidDatetime {
            message: format!(
                "timestamp out of range: {year}-{month:02}-{day:02} {hour}:{min:02}:{}",
                seconds_text(sec)
            ),
        }),
    }
}

/// `date_bin(stride, source, origin)` as PostgreSQL's `timestamp_bin`: the bins are whole
/// strides from origin, and a source before origin falls in the bin below it.
pub(crate) fn date_bin(stride: Interval, source: i64, origin: i64) -> Result<i64> {
    if stride.months != 0 {
        return Err(Error::Unsupported {
            message: "timestamps cannot be binned into intervals containing months or years".into(),
        });
    }
    let stride = i64::from(stride.days)
        .checked_mul(MICROS_PER_DAY)
        .and_then(|d| d.checked_add(stride.micros))
        .ok_or_else(range::interval_out_of_range)?;
    if stride <= 0 {
        return Err(Error::DatetimeOverflow {
            message: "stride must be greater than zero".into(),
        });
    }
    let diff = source
        .checked_sub(origin)
        .ok_or_else(range::interval_out_of_range)?;
    let floor = diff - diff.rem_euclid(stride);
    range::checked_timestamp(origin.checked_add(floor))
}

/// `to_timestamp(seconds)`: the instant that many seconds after 1970-01-01 00:00:00 UTC.
fn from_epoch(seconds: f64) -> Result<i64> {
    if seconds.is_nan() {
        return Err(Error::DatetimeOverflow {
            message: "timestamp cannot be NaN".into(),
        });
    }
    let micros = (seconds * 1e6).round_ties_even();
    let min = range::TIMESTAMP_MIN_MICROS as f64;
    let end = range::TIMESTAMP_MAX_MICROS as f64 + 1.0;
    if !(min..end).contains(&micros) {
        let mut text = String::new();
        crate::pgtext::write_float8(&mut text, seconds);
        return Err(Error::InvalidDatetime {
            message: format!("timestamp out of range: \"{text}\""),
        });
    }
    range::check_timestamp(micros as i64)
}

fn map_timestamps(
    array: &ArrayRef,
    f: impl Fn(NaiveDateTime) -> Result<NaiveDateTime>,
) -> Result<ArrayRef> {
    let ts = array.as_primitive::<TimestampMicrosecondType>();
    let out = ts
        .iter()
        .map(|v| match v {
            None => Ok(None),
            Some(us) => Ok(Some(micros_of(f(datetime_of(us)?)?)?)),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(TimestampMicrosecondArray::from(out)))
}

/// One element of a to_char / to_date template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pattern {
    YearComma,
    Year4,
    Year3,
    Year2,
    Year1,
    Month2,
    MonthName(Case, bool),
    Day2,
    DayOfYear,
    DayName(Case, bool),
    DayOfWeek,
    IsoDayOfWeek,
    Hour24,
    Hour12,
    Minute,
    Second,
    Millis,
    Micros,
    Meridiem(Case, bool),
    /// `BC` / `AD` (`B.C.` / `A.D.` when dotted): the era.
    Era(Case, bool),
    Quarter,
    Week,
    IsoWeek,
    Julian,
    /// `TZ` / `tz`: the zone's abbreviation (empty for a TIMESTAMP).
    ZoneName(Case),
    /// `OF`: the offset, `+05:30`.
    ZoneOffset,
    /// `TZH`: the offset's signed hours, `+05`.
    ZoneHours,
    /// `TZM`: the offset's minutes, `30`.
    ZoneMinutes,
}

/// Letter case of a name pattern: `MONTH`, `Month`, `month`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Upper,
    Title,
    Lower,
}

/// The template patterns, longest first so `HH24` wins over `HH`.
const PATTERNS: &[(&str, Pattern)] = &[
    ("TZH", Pattern::ZoneHours),
    ("TZM", Pattern::ZoneMinutes),
    ("TZ", Pattern::ZoneName(Case::Upper)),
    ("tz", Pattern::ZoneName(Case::Lower)),
    ("OF", Pattern::ZoneOffset),
    ("Y,YYY", Pattern::YearComma),
    ("YYYY", Pattern::Year4),
    ("HH24", Pattern::Hour24),
    ("HH12", Pattern::Hour12),
    ("MONTH", Pattern::MonthName(Case::Upper, true)),
    ("Month", Pattern::MonthName(Case::Title, true)),
    ("month", Pattern::MonthName(Case::Lower, true)),
    ("A.M.", Pattern::Meridiem(Case::Upper, true)),
    ("P.M.", Pattern::Meridiem(Case::Upper, true)),
    ("a.m.", Pattern::Meridiem(Case::Lower, true)),
    ("p.m.", Pattern::Meridiem(Case::Lower, true)),
    ("B.C.", Pattern::Era(Case::Upper, true)),
    ("A.D.", Pattern::Era(Case::Upper, true)),
    ("b.c.", Pattern::Era(Case::Lower, true)),
    ("a.d.", Pattern::Era(Case::Lower, true)),
    ("YYY", Pattern::Year3),
    ("MON", Pattern::MonthName(Case::Upper, false)),
    ("Mon", Pattern::MonthName(Case::Title, false)),
    ("mon", Pattern::MonthName(Case::Lower, false)),
    ("DAY", Pattern::DayName(Case::Upper, true)),
    ("Day", Pattern::DayName(Case::Title, true)),
    ("day", Pattern::DayName(Case::Lower, true)),
    ("DDD", Pattern::DayOfYear),
    ("YY", Pattern::Year2),
    ("MM", Pattern::Month2),
    ("DD", Pattern::Day2),
    ("DY", Pattern::DayName(Case::Upper, false)),
    ("Dy", Pattern::DayName(Case::Title, false)),
    ("dy", Pattern::DayName(Case::Lower, false)),
    ("HH", Pattern::Hour12),
    ("MI", Pattern::Minute),
    ("SS", Pattern::Second),
    ("MS", Pattern::Millis),
    ("US", Pattern::Micros),
    ("BC", Pattern::Era(Case::Upper, false)),
    ("AD", Pattern::Era(Case::Upper, false)),
    ("bc", Pattern::Era(Case::Lower, false)),
    ("ad", Pattern::Era(Case::Lower, false)),
    ("AM", Pattern::Meridiem(Case::Upper, false)),
    ("PM", Pattern::Meridiem(Case::Upper, false)),
    ("am", Pattern::Meridiem(Case::Lower, false)),
    ("pm", Pattern::Meridiem(Case::Lower, false)),
    ("IW", Pattern::IsoWeek),
    ("WW", Pattern::Week),
    ("ID", Pattern::IsoDayOfWeek),
    ("Y", Pattern::Year1),
    ("D", Pattern::DayOfWeek),
    ("Q", Pattern::Quarter),
    ("J", Pattern::Julian),
];

/// A parsed template item: a pattern (with PostgreSQL's FM "fill mode" prefix) or literal
/// text.
#[derive(Debug, PartialEq, Eq)]
enum Item {
    Pattern { pattern: Pattern, fill: bool },
    Literal(String),
}

fn parse_template(fmt: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut rest = fmt;
    let mut literal = String::new();
    while !rest.is_empty() {
        let (fill, after_fm) = match rest.strip_prefix("FM").or_else(|| rest.strip_prefix("fm")) {
            Some(r) => (true, r),
            None => (false, rest),
        };
        if let Some((text, pattern)) = PATTERNS.iter().find(|(t, _)| after_fm.starts_with(t)) {
            if !literal.is_empty() {
                items.push(Item::Literal(std::mem::take(&mut literal)));
            }
            items.push(Item::Pattern {
                pattern: *pattern,
                fill,
            });
            rest = &after_fm[text.len()..];
            continue;
        }
        let mut chars = rest.chars();
        match chars.next() {
            Some('"') => {
                // Quoted text is copied as is; a backslash escapes a quote inside it.
                let mut escaped = false;
                for c in chars.by_ref() {
                    match c {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        c => {
                            literal.push(c);
                            escaped = false;
                        }
                    }
                }
            }
            Some(c) => literal.push(c),
            None => break,
        }
        rest = chars.as_str();
    }
    if !literal.is_empty() {
        items.push(Item::Literal(literal));
    }
    items
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn cased(name: &str, case: Case, full: bool, fill: bool) -> String {
    let name = if full {
        // PostgreSQL pads full names to 9 characters unless FM is given.
        if fill {
            name.to_owned()
        } else {
            format!("{name:<9}")
        }
    } else {
        name.chars().take(3).collect()
    };
    match case {
        Case::Upper => name.to_uppercase(),
        Case::Title => name,
        Case::Lower => name.to_lowercase(),
    }
}

/// PostgreSQL's to_char for a timestamp.
pub fn to_char(t: NaiveDateTime, fmt: &str) -> String {
    to_char_in(t, fmt, None)
}

/// to_char of a TIMESTAMPTZ: `t` is its local time, `zone` the zone's abbreviation and
/// offset east of UTC in seconds there (`None` for a TIMESTAMP: no name, offset zero).
pub fn to_char_in(t: NaiveDateTime, fmt: &str, zone: Option<(&str, i64)>) -> String {
    let (zone_name, offset) = zone.unwrap_or(("", 0));
    let mut out = String::with_capacity(fmt.len() + 8);
    let num = |out: &mut String, v: i64, width: usize, fill: bool| {
        if fill {
            out.push_str(&v.to_string());
        } else {
            out.push_str(&format!("{v:0width$}"));
        }
    };
    // Years count from 1 in each era: the astronomical year 0 is 1 BC.
    let bc = t.year() <= 0;
    let year = match bc {
        true => 1 - i64::from(t.year()),
        false => i64::from(t.year()),
    };
    let hour12 = match t.hour() % 12 {
        0 => 12,
        h => h,
    };
    for item in parse_template(fmt) {
        let (pattern, fill) = match item {
            Item::Literal(s) => {
                out.push_str(&s);
                continue;
            }
            Item::Pattern { pattern, fill } => (pattern, fill),
        };
        match pattern {
            Pattern::YearComma => {
                out.push_str(&format!("{},{:03}", year / 1000, year % 1000));
            }
            Pattern::Year4 => num(&mut out, year, 4, fill),
            Pattern::Year3 => num(&mut out, year % 1000, 3, fill),
            Pattern::Year2 => num(&mut out, year % 100, 2, fill),
            Pattern::Year1 => num(&mut out, year % 10, 1, fill),
            Pattern::Month2 => num(&mut out, i64::from(t.month()), 2, fill),
            Pattern::MonthName(case, full) => {
                out.push_str(&cased(MONTHS[t.month0() as usize], case, full, fill))
            }
            Pattern::Day2 => num(&mut out, i64::from(t.day()), 2, fill),
            Pattern::DayOfYear => num(&mut out, i64::from(t.ordinal()), 3, fill),
            Pattern::DayName(case, full) => out.push_str(&cased(
                DAYS[t.weekday().num_days_from_sunday() as usize],
                case,
                full,
                fill,
            )),
            Pattern::DayOfWeek => num(
                &mut out,
                i64::from(t.weekday().num_days_from_sunday() + 1),
                1,
                fill,
            ),
            Pattern::IsoDayOfWeek => num(
                &mut out,
                i64::from(t.weekday().number_from_monday()),
                1,
                fill,
            ),
            Pattern::Hour24 => num(&mut out, i64::from(t.hour()), 2, fill),
            Pattern::Hour12 => num(&mut out, i64::from(hour12), 2, fill),
            Pattern::Minute => num(&mut out, i64::from(t.minute()), 2, fill),
            Pattern::Second => num(&mut out, i64::from(t.second()), 2, fill),
            Pattern::Millis => num(&mut out, i64::from(t.nanosecond() / 1_000_000), 3, fill),
            Pattern::Micros => num(&mut out, i64::from(t.nanosecond() / 1000), 6, fill),
            Pattern::Meridiem(case, dotted) => {
                let pm = t.hour() >= 12;
                let s = match (pm, dotted) {
                    (false, false) => "AM",
                    (true, false) => "PM",
                    (false, true) => "A.M.",
                    (true, true) => "P.M.",
                };
                out.push_str(&match case {
                    Case::Lower => s.to_lowercase(),
                    _ => s.to_owned(),
                });
            }
            Pattern::Era(case, dotted) => {
                let s = match (bc, dotted) {
                    (false, false) => "AD",
                    (true, false) => "BC",
                    (false, true) => "A.D.",
                    (true, true) => "B.C.",
                };
                out.push_str(&match case {
                    Case::Lower => s.to_lowercase(),
                    _ => s.to_owned(),
                });
            }
            Pattern::Quarter => num(&mut out, i64::from(t.month0() / 3 + 1), 1, fill),
            Pattern::Week => num(&mut out, i64::from((t.ordinal() - 1) / 7 + 1), 2, fill),
            Pattern::IsoWeek => num(&mut out, i64::from(t.iso_week().week()), 2, fill),
            Pattern::Julian => num(&mut out, i64::from(days_of(t.date())) + 2_440_588, 1, true),
            Pattern::ZoneName(case) => out.push_str(&match case {
                Case::Lower => zone_name.to_lowercase(),
                _ => zone_name.to_owned(),
            }),
            Pattern::ZoneOffset => {
                let sign = if offset < 0 { '-' } else { '+' };
                let abs = offset.unsigned_abs();
                out.push_str(&format!("{sign}{:02}", abs / 3600));
                if (abs / 60) % 60 != 0 {
                    out.push_str(&format!(":{:02}", (abs / 60) % 60));
                }
            }
            Pattern::ZoneHours => {
                let sign = if offset < 0 { '-' } else { '+' };
                out.push_str(&format!("{sign}{:02}", offset.unsigned_abs() / 3600));
            }
            Pattern::ZoneMinutes => {
                out.push_str(&format!("{:02}", (offset.unsigned_abs() / 60) % 60));
            }
        }
    }
    out
}

/// to_char of an interval, as PostgreSQL's `interval_to_char`: the fields are the
/// interval's own (years and months of its months, its days, hours of its time part, which
/// may pass 24), each signed; a negative field takes one more column than its width. Names
/// of months and days, day-of-week and zone fields have no meaning for an interval and are
/// PostgreSQL's error.
pub fn to_char_interval(v: crate::types::temporal::Interval, fmt: &str) -> Result<String> {
    let invalid = || Error::InvalidDatetime {
        message: "invalid format specification for an interval value".into(),
    };
    let year = i64::from(v.months / 12);
    let mon = i64::from(v.months % 12);
    let mday = i64::from(v.days);
    let hour = v.micros / 3_600_000_000;
    let min = (v.micros / 60_000_000) % 60;
    let sec = (v.micros / 1_000_000) % 60;
    let usec = v.micros % 1_000_000;
    let yday = (year * 12 + mon) * 30 + mday;
    let mut out = String::with_capacity(fmt.len() + 8);
    // C's "%0*d": the width counts the sign.
    let num = |out: &mut String, value: i64, width: usize, fill: bool| {
        let width = if fill { 0 } else { width };
        out.push_str(&format!("{value:0width$}"));
    };
    let signed_width = |value: i64, width: usize| if value >= 0 { width } else { width + 1 };
    for item in parse_template(fmt) {
        let (pattern, fill) = match item {
            Item::Literal(s) => {
                out.push_str(&s);
                continue;
            }
            Item::Pattern { pattern, fill } => (pattern, fill),
        };
        match pattern {
            Pattern::YearComma => {
                let thousands = year / 1000;
                out.push_str(&format!("{thousands},{:03}", year - thousands * 1000));
            }
            Pattern::Year4 => num(&mut out, year, signed_width(year, 4), fill),
            Pattern::Year3 => num(&mut out, year % 1000, signed_width(year, 3), fill),
            Pattern::Year2 => num(&mut out, year % 100, signed_width(year, 2), fill),
            Pattern::Year1 => num(&mut out, year % 10, 1, false),
            Pattern::Month2 => num(&mut out, mon, signed_width(mon, 2), fill),
            Pattern::Day2 => num(&mut out, mday, 2, fill),
            Pattern::DayOfYear => num(&mut out, yday, 3, fill),
            Pattern::Hour24 => num(&mut out, hour, signed_width(hour, 2), fill),
            Pattern::Hour12 => {
                let h = if hour % 12 == 0 { 12 } else { hour % 12 };
                num(&mut out, h, signed_width(hour, 2), fill)
            }
            Pattern::Minute => num(&mut out, min, signed_width(min, 2), fill),
            Pattern::Second => num(&mut out, sec, signed_width(sec, 2), fill),
            Pattern::Millis => num(&mut out, usec / 1000, 3, false),
            Pattern::Micros => num(&mut out, usec, 6, false),
            Pattern::Meridiem(case, dotted) => {
                let pm = hour % 24 >= 12;
                let s = match (pm, dotted) {
                    (false, false) => "AM",
                    (true, false) => "PM",
                    (false, true) => "A.M.",
                    (true, true) => "P.M.",
                };
                out.push_str(&match case {
                    Case::Lower => s.to_lowercase(),
                    _ => s.to_owned(),
                });
            }
            Pattern::Quarter => {
                if mon != 0 {
                    out.push_str(&((mon - 1) / 3 + 1).to_string());
                }
            }
            Pattern::Week => num(&mut out, (yday - 1) / 7 + 1, 2, fill),
            Pattern::MonthName(..)
            | Pattern::DayName(..)
            | Pattern::Era(..)
            | Pattern::DayOfWeek
            | Pattern::IsoDayOfWeek
            | Pattern::ZoneName(_)
            | Pattern::ZoneOffset
            | Pattern::ZoneHours
            | Pattern::ZoneMinutes => return Err(invalid()),
            Pattern::IsoWeek | Pattern::Julian => {
                return Err(Error::Unsupported {
                    message: "IW and J are not supported in to_char of an interval yet".into(),
                })
            }
        }
    }
    Ok(out)
}

/// to_date / to_timestamp: reads `text` by the template `fmt`. Literal template text skips
/// as many input characters; numeric fields read up to their width (or to the next
/// non-digit), names match case-insensitively.
/// Returns days since 1970-01-01 and microseconds into the day, the days unchecked: to_date
/// and to_timestamp check them against their own ranges.
fn parse_formatted(text: &str, fmt: &str) -> Result<(i64, i64)> {
    let bad = |what: &str| Error::InvalidDatetime {
        message: format!("invalid value \"{text}\" for \"{what}\""),
    };
    let mut rest = text;
    let (mut year, mut month, mut day) = (None::<i32>, None::<u32>, None::<u32>);
    let (mut hour, mut minute, mut second, mut micros) = (0u32, 0u32, 0u32, 0u32);
    let mut pm: Option<bool> = None;
    let mut bc = false;
    let mut doy: Option<u32> = None;
    let number = |rest: &mut &str, width: usize, what: &str| -> Result<i64> {
        let s = rest.trim_start();
        let (neg, s) = match s.strip_prefix('-') {
            Some(s) if what == "YYYY" => (true, s),
            _ => (false, s),
        };
        let len = s
            .char_indices()
            .take(width)
            .take_while(|(_, c)| c.is_ascii_digit())
            .map(|(i, c)| i + c.len_utf8())
            .last()
            .ok_or_else(|| bad(what))?;
        let v: i64 = s[..len].parse().map_err(|_| bad(what))?;
        *rest = &s[len..];
        Ok(if neg { -v } else { v })
    };
    let name = |rest: &mut &str, names: &[&str], full: bool, what: &str| -> Result<u32> {
        let s = rest.trim_start();
        for (i, n) in names.iter().enumerate() {
            let n = if full { n } else { &n[..3] };
            if s.len() >= n.len() && s[..n.len()].eq_ignore_ascii_case(n) {
                *rest = &s[n.len()..];
                return Ok(i as u32);
            }
        }
        Err(bad(what))
    };
    let items = parse_template(fmt);
    for (index, item) in items.iter().enumerate() {
        // A year followed directly by another field reads four digits (`YYYYMMDD`).
        let year_width = match items.get(index + 1) {
            Some(Item::Pattern { .. }) => 4,
            _ => 8,
        };
        let pattern = match *item {
            Item::Literal(ref s) => {
                for _ in s.chars() {
                    let mut chars = rest.chars();
                    if chars.next().is_some() {
                        rest = chars.as_str();
                    }
                }
                continue;
            }
            Item::Pattern { pattern, .. } => pattern,
        };
        let small = |v: i64, what: &str| u32::try_from(v).map_err(|_| bad(what));
        match pattern {
            Pattern::Year4 => year = Some(number(&mut rest, year_width, "YYYY")? as i32),
            Pattern::YearComma => {
                let thousands = number(&mut rest, 3, "Y,YYY")?;
                rest = rest.strip_prefix(',').unwrap_or(rest);
                year = Some((thousands * 1000 + number(&mut rest, 3, "Y,YYY")?) as i32);
            }
            Pattern::Year3 => year = Some(2000 + number(&mut rest, 3, "YYY")? as i32),
            Pattern::Year2 => {
                // PostgreSQL's rule: two-digit years are 1970..2069.
                let y = number(&mut rest, 2, "YY")? as i32;
                year = Some(if y < 70 { 2000 + y } else { 1900 + y });
            }
            Pattern::Year1 => year = Some(2000 + number(&mut rest, 1, "Y")? as i32),
            Pattern::Month2 => month = Some(small(number(&mut rest, 2, "MM")?, "MM")?),
            Pattern::MonthName(_, full) => month = Some(name(&mut rest, &MONTHS, full, "MON")? + 1),
            Pattern::Day2 => day = Some(small(number(&mut rest, 2, "DD")?, "DD")?),
            Pattern::DayOfYear => doy = Some(small(number(&mut rest, 3, "DDD")?, "DDD")?),
            Pattern::DayName(_, full) => {
                name(&mut rest, &DAYS, full, "DAY")?;
            }
            Pattern::DayOfWeek | Pattern::IsoDayOfWeek | Pattern::Quarter => {
                number(&mut rest, 1, "D")?;
            }
            Pattern::Hour24 => hour = small(number(&mut rest, 2, "HH24")?, "HH24")?,
            Pattern::Hour12 => hour = small(number(&mut rest, 2, "HH12")?, "HH12")?,
            Pattern::Minute => minute = small(number(&mut rest, 2, "MI")?, "MI")?,
            Pattern::Second => second = small(number(&mut rest, 2, "SS")?, "SS")?,
            Pattern::Millis => micros = small(number(&mut rest, 3, "MS")?, "MS")? * 1000,
            Pattern::Micros => micros = small(number(&mut rest, 6, "US")?, "US")?,
            Pattern::Meridiem(_, dotted) => {
                let s = rest.trim_start();
                let len = if dotted { 4 } else { 2 };
                let word = s.get(..len).ok_or_else(|| bad("AM"))?;
                pm = Some(word.to_ascii_uppercase().starts_with('P'));
                rest = &s[len..];
            }
            Pattern::Era(_, dotted) => {
                let s = rest.trim_start();
                let len = if dotted { 4 } else { 2 };
                let word = s
                    .get(..len)
                    .filter(|w| {
                        let allowed: [&str; 2] = match dotted {
                            true => ["A.D.", "B.C."],
                            false => ["AD", "BC"],
                        };
                        allowed.iter().any(|a| w.eq_ignore_ascii_case(a))
                    })
                    .ok_or_else(|| Error::InvalidDatetime {
                        message: format!(
                            "invalid value \"{}\" for \"{}\"",
                            s.chars().take(len).collect::<String>(),
                            if dotted { "B.C." } else { "BC" }
                        ),
                    })?;
                bc = word.starts_with(['B', 'b']);
                rest = &s[len..];
            }
            Pattern::ZoneName(_)
            | Pattern::ZoneOffset
            | Pattern::ZoneHours
            | Pattern::ZoneMinutes => {
                return Err(Error::Unsupported {
                    message: "time zone fields are not supported in to_date and to_timestamp \
                              yet"
                    .into(),
                })
            }
            Pattern::Week | Pattern::IsoWeek | Pattern::Julian => {
                return Err(Error::Unsupported {
                    message: "week and Julian day fields are not supported in to_date and \
                              to_timestamp yet"
                        .into(),
                })
            }
        }
    }
    if let Some(pm) = pm {
        if !(1..=12).contains(&hour) {
            return Err(Error::InvalidDatetime {
                message: format!("hour \"{hour}\" is invalid for the 12-hour clock"),
            });
        }
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    let field_out_of_range = || Error::InvalidDatetime {
        message: format!("date/time field value out of range: \"{text}\""),
    };
    // Years count from 1 in each era, as written: BC (or a negative year, and BC of a
    // negative year is AD) becomes the astronomical year, in which 1 BC is year 0.
    let year = i64::from(year.unwrap_or(1));
    let year = if bc { -year } else { year };
    let year = if year < 0 { year + 1 } else { year };
    // The calendar is counted without chrono, whose years end long before DATE's do.
    let days = match doy {
        Some(doy) if month.is_none() && day.is_none() => {
            let year_days = if days_in_month(year, 2) == 29 {
                366
            } else {
                365
            };
            if !(1..=year_days).contains(&doy) {
                return Err(field_out_of_range());
            }
            days_from_civil(year, 1, 1).map(|d| i64::from(d) + i64::from(doy) - 1)
        }
        _ => {
            let (m, d) = (month.unwrap_or(1), day.unwrap_or(1));
            if !(1..=12).contains(&m) || d == 0 || d > days_in_month(year, m) {
                return Err(field_out_of_range());
            }
            days_from_civil(year, m, d).map(i64::from)
        }
    };
    let time = NaiveTime::from_hms_micro_opt(hour, minute, second, micros)
        .ok_or_else(field_out_of_range)?;
    let in_day = i64::from(time.num_seconds_from_midnight()) * 1_000_000
        + i64::from(time.nanosecond() / 1000);
    // A year past an `i32` of days is past every range.
    Ok((days.unwrap_or(i64::MAX), in_day))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn truncation_follows_postgresql() {
        let t = ts("2024-05-17 13:45:12.345678");
        let cases = [
            (DateField::Millisecond, "2024-05-17 13:45:12.345"),
            (DateField::Second, "2024-05-17 13:45:12"),
            (DateField::Minute, "2024-05-17 13:45:00"),
            (DateField::Hour, "2024-05-17 13:00:00"),
            (DateField::Day, "2024-05-17 00:00:00"),
            (DateField::Week, "2024-05-13 00:00:00"),
            (DateField::Month, "2024-05-01 00:00:00"),
            (DateField::Quarter, "2024-04-01 00:00:00"),
            (DateField::Year, "2024-01-01 00:00:00"),
            (DateField::Decade, "2020-01-01 00:00:00"),
            (DateField::Century, "2001-01-01 00:00:00"),
            (DateField::Millennium, "2001-01-01 00:00:00"),
        ];
        for (unit, want) in cases {
            assert_eq!(trunc(t, unit).unwrap(), ts(want), "{unit:?}");
        }
        assert!(trunc(t, DateField::Dow).is_err());
    }

    #[test]
    fn month_arithmetic_clamps_to_the_month_end() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            add_months_clamped(d("2024-01-31"), 1).unwrap(),
            d("2024-02-29")
        );
        assert_eq!(
            add_months_clamped(d("2024-03-31"), -13).unwrap(),
            d("2023-02-28")
        );
        assert_eq!(
            add_months_clamped(d("2024-12-15"), 1).unwrap(),
            d("2025-01-15")
        );
        assert_eq!(months_between(d("2024-03-31"), d("2024-02-29")), 1.0);
        assert_eq!(months_between(d("2024-03-15"), d("2024-01-15")), 2.0);
        assert!(
            (months_between(d("2024-03-16"), d("2024-01-15")) - (2.0 + 1.0 / 31.0)).abs() < 1e-12
        );
    }

    #[test]
    fn intervals_move_timestamps_up_to_the_ends_of_the_range() {
        // Input: the first and last timestamps moved by months, days and microseconds, inside
        // the range and one step past it; a month step clamps the day of month.
        let iv = |months, days, micros| Interval {
            months,
            days,
            micros,
        };
        let (first, last) = (range::TIMESTAMP_MIN_MICROS, range::TIMESTAMP_MAX_MICROS);
        assert_eq!(add_interval(last, iv(0, 0, -1)).unwrap(), last - 1);
        assert!(add_interval(last, iv(0, 0, 1)).is_err());
        assert!(add_interval(first, iv(0, 0, -1)).is_err());
        assert!(add_interval(first, iv(0, -1, 0)).is_err());
        assert!(add_interval(first, iv(-1, 0, 0)).is_err());
        assert!(add_interval(0, iv(i32::MAX, 0, 0)).is_err());
        assert!(add_interval(0, iv(i32::MIN, 0, 0)).is_err());
        assert!(add_interval(0, iv(0, i32::MAX, 0)).is_err());
        assert!(add_interval(last, iv(0, 0, i64::MAX)).is_err());
        // 294246-12-31 23:59:59.999999 less eleven months is 294246-01-31, past chrono's years.
        let jan = add_interval(last, iv(-11, 0, 0)).unwrap();
        let mut text = String::new();
        crate::pgtext::write_timestamp(&mut text, jan);
        assert_eq!(text, "294246-01-31 23:59:59.999999");
        let feb = add_interval(jan, iv(1, 0, 0)).unwrap();
        text.clear();
        crate::pgtext::write_timestamp(&mut text, feb);
        assert_eq!(text, "294246-02-28 23:59:59.999999");
    }

    #[test]
    fn datediff_counts_boundaries() {
        let a = ts("2019-12-31 23:59:59");
        let b = ts("2020-01-01 00:00:00");
        assert_eq!(date_diff(a, b, DateField::Year).unwrap(), 1);
        assert_eq!(date_diff(a, b, DateField::Month).unwrap(), 1);
        assert_eq!(date_diff(a, b, DateField::Day).unwrap(), 1);
        assert_eq!(date_diff(a, b, DateField::Second).unwrap(), 1);
        assert_eq!(date_diff(b, a, DateField::Quarter).unwrap(), -1);
        assert_eq!(
            date_diff(
                ts("2024-01-01 00:00:00"),
                ts("2024-12-31 00:00:00"),
                DateField::Week
            )
            .unwrap(),
            52
        );
    }

    #[test]
    fn to_char_and_back() {
        let t = ts("2024-03-05 14:07:09.123456");
        assert_eq!(to_char(t, "YYYY-MM-DD HH24:MI:SS"), "2024-03-05 14:07:09");
        assert_eq!(
            to_char(t, "Day, DD Month YYYY"),
            "Tuesday  , 05 March     2024"
        );
        assert_eq!(
            to_char(t, "FMDay, FMDD FMMonth YYYY"),
            "Tuesday, 5 March 2024"
        );
        assert_eq!(to_char(t, "HH12:MI am Q \"Q\"Q"), "02:07 pm 1 Q1");
        assert_eq!(to_char(t, "MS US DDD IW"), "123 123456 065 10");
        assert_eq!(to_char(t, "Y,YYY J"), "2,024 2460375");
        let split = |t: NaiveDateTime| {
            let us = micros_of(t).unwrap();
            (us.div_euclid(MICROS_PER_DAY), us.rem_euclid(MICROS_PER_DAY))
        };
        assert_eq!(
            parse_formatted("05 Mar 2024 02:07:09 PM", "DD Mon YYYY HH12:MI:SS AM").unwrap(),
            split(ts("2024-03-05 14:07:09"))
        );
        assert_eq!(
            parse_formatted("20240305", "YYYYMMDD").unwrap(),
            split(ts("2024-03-05 00:00:00"))
        );
        assert_eq!(
            parse_formatted("2024 060", "YYYY DDD").unwrap(),
            split(ts("2024-02-29 00:00:00"))
        );
        // Past chrono's calendar, inside DATE's.
        assert_eq!(
            parse_formatted("5874897-12-31", "YYYY-MM-DD").unwrap(),
            (i64::from(range::DATE_MAX_DAYS), 0)
        );
        assert!(parse_formatted("2023 366", "YYYY DDD").is_err());
        assert!(parse_formatted("2024-02-30", "YYYY-MM-DD").is_err());
        assert!(parse_formatted("x", "YYYY").is_err());
    }
}
