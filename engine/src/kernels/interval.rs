//! INTERVAL and TIME kernels: interval arithmetic, `timestamp ± interval`, `timestamp -
//! timestamp`, `time ± interval`, `date + time`, justify_*, age and date_trunc of an interval,
//! and the order key that makes intervals compare as PostgreSQL compares them.
//!
//! An INTERVAL is an Arrow `Interval(MonthDayNano)` whose nanoseconds are whole microseconds;
//! TIME is `Time64(Microsecond)`. TIMESTAMPTZ values are UTC instants and the session zone is
//! UTC, so they move by an interval exactly as a TIMESTAMP does.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float64Type, Int32Type, IntervalMonthDayNanoType, Time64MicrosecondType,
    TimestampMicrosecondType,
};
use arrow_array::{
    Array, ArrayRef, Decimal128Array, IntervalMonthDayNanoArray, Time64MicrosecondArray,
    TimestampMicrosecondArray,
};
use arrow_schema::DataType;
use basalt_storage::SqlType;
use chrono::{Datelike, Timelike};

use super::dates::{add_interval, datetime_of, last_day_of};
use super::datetime::DateField;
use crate::error::{Error, Result};
use crate::types::range;
use crate::types::temporal::{overflow, Interval, MICROS_PER_DAY};

/// An INTERVAL or TIME operation the executor evaluates (see `ScalarFunc::Interval`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntervalFunc {
    /// `timestamp + interval` (TIMESTAMP or TIMESTAMPTZ); subtraction negates the interval.
    AddToTimestamp,
    /// `time + interval`: TIME, wrapping around midnight; months and days do not move it.
    AddToTime,
    /// `timestamp - timestamp`: the difference in days and time (`justify_hours`).
    SubTimestamps,
    /// `time - time`: an interval of the time part only.
    SubTimes,
    /// `date + time`: TIMESTAMP.
    DatePlusTime,
    /// `interval + interval`.
    Add,
    /// `interval - interval`.
    Sub,
    /// `interval * double precision`.
    Mul,
    /// `interval / double precision`.
    Div,
    /// `- interval`.
    Negate,
    JustifyHours,
    JustifyDays,
    JustifyInterval,
    /// `age(timestamp, timestamp)`: the difference in years, months and days.
    Age,
    /// `date_trunc(unit, interval)`.
    Trunc(DateField),
    /// `make_interval(years, months, weeks, days, hours, mins, secs)`: six INTEGERs and a
    /// DOUBLE PRECISION.
    Make,
}

/// The values of `array` as they compare and sort in SQL: an INTERVAL by its span (a month
/// as 30 days, a day as 24 hours, so `1 mon` equals `30 days`), as a NUMERIC of microseconds;
/// any other array as it is.
pub fn order_key(array: &ArrayRef) -> Result<ArrayRef> {
    if !matches!(array.data_type(), DataType::Interval(_)) {
        return Ok(array.clone());
    }
    let spans: Decimal128Array = array
        .as_primitive::<IntervalMonthDayNanoType>()
        .iter()
        .map(|v| v.map(|v| Interval::from_arrow(v).span()))
        .collect();
    Ok(Arc::new(spans.with_precision_and_scale(38, 0)?))
}

/// The Arrow type of [`order_key`]'s result for an array of type `t`.
pub fn order_key_type(t: &DataType) -> DataType {
    match t {
        DataType::Interval(_) => DataType::Decimal128(38, 0),
        other => other.clone(),
    }
}

/// [`order_key`] of every column, for keys compared in arrow-row form (set operations, hash
/// joins, recursive UNION) so that equal intervals are one key.
pub fn order_keys(columns: &[ArrayRef]) -> Result<Vec<ArrayRef>> {
    columns.iter().map(order_key).collect()
}

fn intervals(array: &ArrayRef) -> impl Iterator<Item = Option<Interval>> + '_ {
    array
        .as_primitive::<IntervalMonthDayNanoType>()
        .iter()
        .map(|v| v.map(Interval::from_arrow))
}

fn interval_array(values: Vec<Option<Interval>>) -> Result<ArrayRef> {
    let out = values
        .into_iter()
        .map(|v| v.map(|v| v.to_arrow().ok_or_else(overflow)).transpose())
        .collect::<Result<IntervalMonthDayNanoArray>>()?;
    Ok(Arc::new(out))
}

/// Applies `f` to the pairs of non-NULL values of two arrays (either may hold one value,
/// which then pairs with every value of the other).
fn zip_map<A, B, T>(
    a: &[Option<A>],
    b: &[Option<B>],
    n: usize,
    f: impl Fn(A, B) -> Result<T>,
) -> Result<Vec<Option<T>>>
where
    A: Copy,
    B: Copy,
{
    let at = |v: &[Option<A>], i: usize| if v.len() == 1 { v[0] } else { v[i] };
    let bt = |v: &[Option<B>], i: usize| if v.len() == 1 { v[0] } else { v[i] };
    (0..n)
        .map(|i| match (at(a, i), bt(b, i)) {
            (Some(x), Some(y)) => f(x, y).map(Some),
            _ => Ok(None),
        })
        .collect()
}

fn timestamps(array: &ArrayRef) -> Vec<Option<i64>> {
    array
        .as_primitive::<TimestampMicrosecondType>()
        .iter()
        .collect()
}

fn times(array: &ArrayRef) -> Vec<Option<i64>> {
    array
        .as_primitive::<Time64MicrosecondType>()
        .iter()
        .collect()
}

/// Evaluates `func` over `args`, producing `n` values of SQL type `ty`.
pub fn evaluate(func: IntervalFunc, args: &[ArrayRef], ty: SqlType, n: usize) -> Result<ArrayRef> {
    let arg = |i: usize| {
        args.get(i)
            .ok_or_else(|| Error::Internal(format!("{func:?} is missing argument {i}")))
    };
    let ivs = |i: usize| -> Result<Vec<Option<Interval>>> { Ok(intervals(arg(i)?).collect()) };
    match func {
        IntervalFunc::AddToTimestamp => {
            let out = zip_map(&timestamps(arg(0)?), &ivs(1)?, n, add_interval)?;
            let out = TimestampMicrosecondArray::from(out);
            Ok(match ty.arrow_type() {
                DataType::Timestamp(_, Some(zone)) => Arc::new(out.with_timezone(zone)),
                _ => Arc::new(out),
            })
        }
        IntervalFunc::AddToTime => {
            let out = zip_map(&times(arg(0)?), &ivs(1)?, n, |t, v| {
                Ok(t.wrapping_add(v.micros % MICROS_PER_DAY)
                    .rem_euclid(MICROS_PER_DAY))
            })?;
            Ok(Arc::new(Time64MicrosecondArray::from(out)))
        }
        IntervalFunc::SubTimestamps => {
            let out = zip_map(&timestamps(arg(0)?), &timestamps(arg(1)?), n, |a, b| {
                Interval {
                    months: 0,
                    days: 0,
                    micros: a.checked_sub(b).ok_or_else(overflow)?,
                }
                .justify_hours()
            })?;
            interval_array(out)
        }
        IntervalFunc::SubTimes => {
            let out = zip_map(&times(arg(0)?), &times(arg(1)?), n, |a, b| {
                Ok(Interval {
                    months: 0,
                    days: 0,
                    micros: a - b,
                })
            })?;
            interval_array(out)
        }
        IntervalFunc::DatePlusTime => {
            let days: Vec<Option<i32>> = arg(0)?.as_primitive::<Date32Type>().iter().collect();
            let out = zip_map(&days, &times(arg(1)?), n, |d, t| {
                range::checked_timestamp(range::date_to_timestamp(d)?.checked_add(t))
            })?;
            Ok(Arc::new(TimestampMicrosecondArray::from(out)))
        }
        IntervalFunc::Add => interval_array(zip_map(&ivs(0)?, &ivs(1)?, n, Interval::checked_add)?),
        IntervalFunc::Sub => interval_array(zip_map(&ivs(0)?, &ivs(1)?, n, Interval::checked_sub)?),
        IntervalFunc::Mul | IntervalFunc::Div => {
            let factors: Vec<Option<f64>> = arg(1)?.as_primitive::<Float64Type>().iter().collect();
            let op = if func == IntervalFunc::Mul {
                Interval::mul_f64
            } else {
                Interval::div_f64
            };
            interval_array(zip_map(&ivs(0)?, &factors, n, op)?)
        }
        IntervalFunc::Negate => interval_array(map(ivs(0)?, Interval::checked_neg)?),
        IntervalFunc::JustifyHours => interval_array(map(ivs(0)?, Interval::justify_hours)?),
        IntervalFunc::JustifyDays => interval_array(map(ivs(0)?, Interval::justify_days)?),
        IntervalFunc::JustifyInterval => interval_array(map(ivs(0)?, Interval::justify_interval)?),
        IntervalFunc::Age => {
            interval_array(zip_map(&timestamps(arg(0)?), &timestamps(arg(1)?), n, age)?)
        }
        IntervalFunc::Trunc(unit) => interval_array(map(ivs(0)?, |v| truncate(v, unit))?),
        IntervalFunc::Make => {
            let ints = (0..6)
                .map(|i| arg(i).map(|a| a.as_primitive::<Int32Type>()))
                .collect::<Result<Vec<_>>>()?;
            let secs = arg(6)?.as_primitive::<Float64Type>();
            let out = (0..n)
                .map(|i| {
                    if secs.is_null(i) || ints.iter().any(|a| a.is_null(i)) {
                        return Ok(None);
                    }
                    let v: [i32; 6] = std::array::from_fn(|k| ints[k].value(i));
                    make_interval(v, secs.value(i)).map(Some)
                })
                .collect::<Result<Vec<_>>>()?;
            interval_array(out)
        }
    }
}

/// `make_interval`: years and months make the months, weeks and days the days, hours,
/// minutes and seconds (rounded to microseconds) the time. A part that does not fit is
/// `interval out of range` (PostgreSQL 15 wraps around silently; later releases raise this).
fn make_interval(v: [i32; 6], secs: f64) -> Result<Interval> {
    let [years, months, weeks, days, hours, mins] = v.map(i64::from);
    let micros = (secs * 1e6).round_ties_even();
    if !micros.is_finite() || micros.abs() >= 9.2e18 {
        return Err(overflow());
    }
    let month_total = years * 12 + months;
    let day_total = weeks * 7 + days;
    let time = (hours * 3_600_000_000)
        .checked_add(mins * 60_000_000)
        .and_then(|t| t.checked_add(micros as i64));
    match (i32::try_from(month_total), i32::try_from(day_total), time) {
        (Ok(months), Ok(days), Some(micros)) => Ok(Interval {
            months,
            days,
            micros,
        }),
        _ => Err(overflow()),
    }
}

fn map<T>(
    values: Vec<Option<Interval>>,
    f: impl Fn(Interval) -> Result<T>,
) -> Result<Vec<Option<T>>> {
    values.into_iter().map(|v| v.map(&f).transpose()).collect()
}

/// `age(a, b)` as PostgreSQL's `timestamp_age`: the field-by-field difference of the two
/// calendar times, borrowing from the next larger field, with a month borrowed as the length
/// of the month the earlier value falls in.
fn age(a: i64, b: i64) -> Result<Interval> {
    let (ta, tb) = (datetime_of(a)?, datetime_of(b)?);
    let fields = |t: chrono::NaiveDateTime| {
        [
            i64::from(t.year()),
            i64::from(t.month()),
            i64::from(t.day()),
            i64::from(t.hour()),
            i64::from(t.minute()),
            i64::from(t.second()),
            i64::from(t.nanosecond() / 1000),
        ]
    };
    let (fa, fb) = (fields(ta), fields(tb));
    let mut d: [i64; 7] = std::array::from_fn(|i| fa[i] - fb[i]);
    let flip = a < b;
    if flip {
        d.iter_mut().for_each(|x| *x = -*x);
    }
    let [year, mon, mday, hour, min, sec, usec] = &mut d;
    while *usec < 0 {
        *usec += 1_000_000;
        *sec -= 1;
    }
    while *sec < 0 {
        *sec += 60;
        *min -= 1;
    }
    while *min < 0 {
        *min += 60;
        *hour -= 1;
    }
    while *hour < 0 {
        *hour += 24;
        *mday -= 1;
    }
    // The month lengths borrowed from: the earlier value's month, as PostgreSQL does.
    let earlier = if flip { ta } else { tb };
    let month_days = i64::from(last_day_of(earlier.year(), earlier.month())?.day());
    while *mday < 0 {
        *mday += month_days;
        *mon -= 1;
    }
    while *mon < 0 {
        *mon += 12;
        *year -= 1;
    }
    if flip {
        d.iter_mut().for_each(|x| *x = -*x);
    }
    let [year, mon, mday, hour, min, sec, usec] = d;
    Ok(Interval {
        months: i32::try_from(year * 12 + mon).map_err(|_| overflow())?,
        days: i32::try_from(mday).map_err(|_| overflow())?,
        micros: ((hour * 60 + min) * 60 + sec) * 1_000_000 + usec,
    })
}

/// `date_trunc(unit, interval)` as PostgreSQL's `interval_trunc`: the fields below `unit`
/// become zero (the months split into years and months, the time into hours, minutes,
/// seconds and microseconds).
fn truncate(v: Interval, unit: DateField) -> Result<Interval> {
    const HOUR: i64 = 3_600_000_000;
    let (years, months) = (v.months / 12, v.months % 12);
    let t = v.micros;
    Ok(match unit {
        DateField::Millennium => Interval {
            months: years / 1000 * 1000 * 12,
            ..Interval::default()
        },
        DateField::Century => Interval {
            months: years / 100 * 100 * 12,
            ..Interval::default()
        },
        DateField::Decade => Interval {
            months: years / 10 * 10 * 12,
            ..Interval::default()
        },
        DateField::Year => Interval {
            months: years * 12,
            ..Interval::default()
        },
        DateField::Quarter => Interval {
            months: years * 12 + months / 3 * 3,
            ..Interval::default()
        },
        DateField::Month => Interval {
            months: v.months,
            ..Interval::default()
        },
        DateField::Day => Interval { micros: 0, ..v },
        DateField::Hour => Interval {
            micros: t / HOUR * HOUR,
            ..v
        },
        DateField::Minute => Interval {
            micros: t / 60_000_000 * 60_000_000,
            ..v
        },
        DateField::Second => Interval {
            micros: t / 1_000_000 * 1_000_000,
            ..v
        },
        DateField::Millisecond => Interval {
            micros: t / 1000 * 1000,
            ..v
        },
        DateField::Microsecond => v,
        DateField::Week => {
            return Err(Error::Unsupported {
                message: "unit \"week\" not supported for type interval".into(),
            })
        }
        other => {
            return Err(Error::Unsupported {
                message: format!("unit \"{}\" not supported for type interval", other.name()),
            })
        }
    })
}

/// EXTRACT of `field` from an interval, as the integer whose NUMERIC scale
/// [`DateField::result_scale`] gives (PostgreSQL's `interval_part`).
pub(crate) fn interval_field(v: Interval, field: DateField) -> Result<i128> {
    const MINUTE: i64 = 60_000_000;
    let (years, months) = (i128::from(v.months / 12), i128::from(v.months % 12));
    Ok(match field {
        // Scale 0, 3 and 6: the microseconds within the minute each time.
        DateField::Microsecond | DateField::Millisecond | DateField::Second => {
            i128::from(v.micros % MINUTE)
        }
        DateField::Minute => i128::from(v.micros / MINUTE % 60),
        DateField::Hour => i128::from(v.micros / (60 * MINUTE)),
        DateField::Day => i128::from(v.days),
        DateField::Month => months,
        DateField::Quarter => months / 3 + 1,
        DateField::Year => years,
        DateField::Decade => years / 10,
        DateField::Century => years / 100,
        DateField::Millennium => years / 1000,
        // A year is 365.25 days and a month 30; seconds at scale 6.
        DateField::Epoch => {
            let quarter_days = 1461 * years + 120 * months + 4 * i128::from(v.days);
            quarter_days * 86_400 / 4 * 1_000_000 + i128::from(v.micros)
        }
        other => {
            return Err(Error::Unsupported {
                message: format!("unit \"{}\" not supported for type interval", other.name()),
            })
        }
    })
}

/// EXTRACT of `field` from a time of day (PostgreSQL's `time_part`).
pub(crate) fn time_field(us: i64, field: DateField) -> Result<i128> {
    Ok(match field {
        DateField::Microsecond | DateField::Millisecond | DateField::Second => {
            i128::from(us % 60_000_000)
        }
        DateField::Minute => i128::from(us / 60_000_000 % 60),
        DateField::Hour => i128::from(us / 3_600_000_000),
        DateField::Epoch => i128::from(us),
        other => {
            return Err(Error::Unsupported {
                message: format!(
                    "unit \"{}\" not supported for type time without time zone",
                    other.name()
                ),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::temporal::parse_interval;

    fn iv(s: &str) -> Interval {
        parse_interval(s).unwrap()
    }

    fn text(v: Interval) -> String {
        let mut s = String::new();
        crate::types::temporal::write_interval(&mut s, v);
        s
    }

    fn ts(s: &str) -> i64 {
        crate::types::datum::parse_timestamp(s).unwrap()
    }

    // Results of the same expressions in PostgreSQL 15.
    #[test]
    fn multiplication_and_division_cascade_fractions() {
        assert_eq!(text(iv("1 mon").mul_f64(1.5).unwrap()), "1 mon 15 days");
        assert_eq!(text(iv("1 day").mul_f64(1.5).unwrap()), "1 day 12:00:00");
        assert_eq!(text(iv("1 mon").div_f64(4.0).unwrap()), "7 days 12:00:00");
        assert_eq!(text(iv("1 hour").div_f64(3.0).unwrap()), "00:20:00");
        assert_eq!(
            text(iv("1 year 2 mons 3 days 04:05:06").mul_f64(-2.0).unwrap()),
            "-2 years -4 mons -6 days -08:10:12"
        );
        assert!(matches!(
            iv("1 day").div_f64(0.0),
            Err(Error::DivisionByZero)
        ));
        assert!(iv("100000000 years").mul_f64(1000.0).is_err());
    }

    #[test]
    fn justification_follows_postgres() {
        assert_eq!(
            text(iv("27 hours").justify_hours().unwrap()),
            "1 day 03:00:00"
        );
        assert_eq!(text(iv("35 days").justify_days().unwrap()), "1 mon 5 days");
        assert_eq!(
            text(iv("1 mon -1 hour").justify_interval().unwrap()),
            "29 days 23:00:00"
        );
        assert_eq!(
            text(iv("-1 day 1 hour").justify_hours().unwrap()),
            "-23:00:00"
        );
    }

    #[test]
    fn age_borrows_months_like_postgres() {
        let age_of = |a: &str, b: &str| text(age(ts(a), ts(b)).unwrap());
        assert_eq!(
            age_of("2001-04-10", "1957-06-13"),
            "43 years 9 mons 27 days"
        );
        assert_eq!(age_of("2020-03-01", "2020-01-31"), "1 mon 1 day");
        assert_eq!(
            age_of("1957-06-13", "2001-04-10"),
            "-43 years -9 mons -27 days"
        );
        assert_eq!(age_of("2020-01-01 10:00", "2019-12-31 12:00"), "22:00:00");
    }

    #[test]
    fn fields_and_truncation() {
        let v = iv("3 years 7 mons 12 days 26:45:30.5");
        let f = |field| interval_field(v, field).unwrap();
        assert_eq!(f(DateField::Year), 3);
        assert_eq!(f(DateField::Month), 7);
        assert_eq!(f(DateField::Quarter), 3);
        assert_eq!(f(DateField::Hour), 26);
        assert_eq!(f(DateField::Minute), 45);
        assert_eq!(f(DateField::Second), 30_500_000);
        // PostgreSQL: extract(epoch from interval '1 year 1 mon 1 day') = 34236000.000000
        assert_eq!(
            interval_field(iv("1 year 1 mon 1 day"), DateField::Epoch).unwrap(),
            34_236_000_000_000
        );
        assert_eq!(
            text(truncate(v, DateField::Hour).unwrap()),
            "3 years 7 mons 12 days 26:00:00"
        );
        assert_eq!(
            text(truncate(v, DateField::Quarter).unwrap()),
            "3 years 6 mons"
        );
        assert!(truncate(v, DateField::Week).is_err());
    }

    #[test]
    fn intervals_order_by_span() {
        let a: ArrayRef = Arc::new(IntervalMonthDayNanoArray::from(vec![
            iv("1 mon").to_arrow(),
            iv("31 days").to_arrow(),
            iv("720:00:00").to_arrow(),
        ]));
        let k = order_key(&a).unwrap();
        let k = k.as_primitive::<arrow_array::types::Decimal128Type>();
        assert_eq!(k.value(0), k.value(2));
        assert!(k.value(1) > k.value(0));
    }
}
