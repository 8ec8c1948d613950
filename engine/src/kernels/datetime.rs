//! Date and time kernels: EXTRACT / date_part fields of DATE, TIMESTAMP, TIMESTAMPTZ, TIME
//! and INTERVAL values.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, IntervalMonthDayNanoType, Time64MicrosecondType, TimestampMicrosecondType,
};
use arrow_array::{Array, ArrayRef, Decimal128Array};
use basalt_storage::SqlType;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};

use crate::error::{Error, Result};
use crate::kernels::interval::{interval_field, time_field};
use crate::types::temporal::Interval;

/// A field EXTRACT and date_part can take out of a date or timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DateField {
    Millennium,
    Century,
    Decade,
    Year,
    IsoYear,
    Quarter,
    Month,
    Week,
    Day,
    Dow,
    IsoDow,
    Doy,
    Hour,
    Minute,
    Second,
    Millisecond,
    Microsecond,
    Epoch,
    Julian,
}

impl DateField {
    /// Parses a field name as PostgreSQL spells it (singular, plural and abbreviations).
    pub fn parse(name: &str) -> Option<DateField> {
        Some(match name.to_ascii_lowercase().as_str() {
            "millennium" | "millennia" | "millenniums" | "mil" | "mils" => DateField::Millennium,
            "century" | "centuries" | "cent" | "c" => DateField::Century,
            "decade" | "decades" | "dec" | "decs" => DateField::Decade,
            "year" | "years" | "y" | "yr" | "yrs" => DateField::Year,
            "isoyear" => DateField::IsoYear,
            "quarter" | "qtr" => DateField::Quarter,
            "month" | "months" | "mon" | "mons" => DateField::Month,
            "week" | "weeks" | "w" => DateField::Week,
            "day" | "days" | "d" => DateField::Day,
            "dow" | "dayofweek" => DateField::Dow,
            "isodow" => DateField::IsoDow,
            "doy" | "dayofyear" => DateField::Doy,
            "hour" | "hours" | "h" | "hr" | "hrs" => DateField::Hour,
            "minute" | "minutes" | "m" | "min" | "mins" => DateField::Minute,
            "second" | "seconds" | "s" | "sec" | "secs" => DateField::Second,
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" => DateField::Millisecond,
            "microsecond" | "microseconds" | "us" | "usec" | "usecs" => DateField::Microsecond,
            "epoch" => DateField::Epoch,
            "julian" | "j" => DateField::Julian,
            _ => return None,
        })
    }

    /// PostgreSQL's name for the field, for messages.
    pub fn name(self) -> &'static str {
        match self {
            DateField::Millennium => "millennium",
            DateField::Century => "century",
            DateField::Decade => "decade",
            DateField::Year => "year",
            DateField::IsoYear => "isoyear",
            DateField::Quarter => "quarter",
            DateField::Month => "month",
            DateField::Week => "week",
            DateField::Day => "day",
            DateField::Dow => "dow",
            DateField::IsoDow => "isodow",
            DateField::Doy => "doy",
            DateField::Hour => "hour",
            DateField::Minute => "minute",
            DateField::Second => "second",
            DateField::Millisecond => "millisecond",
            DateField::Microsecond => "microsecond",
            DateField::Epoch => "epoch",
            DateField::Julian => "julian",
        }
    }

    /// The scale of EXTRACT's NUMERIC result for a value of type `from`, or an error when the
    /// field does not apply to the type (as PostgreSQL rejects `EXTRACT(hour FROM date)`).
    pub fn result_scale(self, from: SqlType) -> Result<i8> {
        match from {
            SqlType::Date => match self {
                DateField::Hour
                | DateField::Minute
                | DateField::Second
                | DateField::Millisecond
                | DateField::Microsecond => Err(Error::Unsupported {
                    message: format!("unit \"{}\" not supported for type date", self.name()),
                }),
                _ => Ok(0),
            },
            SqlType::Timestamp | SqlType::Timestamptz => Ok(match self {
                DateField::Second | DateField::Epoch => 6,
                DateField::Millisecond => 3,
                DateField::Julian => {
                    return Err(Error::Unsupported {
                        message: format!(
                            "unit \"julian\" not supported for type {}",
                            from.pg_name()
                        ),
                    })
                }
                _ => 0,
            }),
            SqlType::Time | SqlType::Interval => {
                let fits = match self {
                    DateField::Microsecond
                    | DateField::Millisecond
                    | DateField::Second
                    | DateField::Minute
                    | DateField::Hour
                    | DateField::Epoch => true,
                    DateField::Day
                    | DateField::Month
                    | DateField::Quarter
                    | DateField::Year
                    | DateField::Decade
                    | DateField::Century
                    | DateField::Millennium => from == SqlType::Interval,
                    _ => false,
                };
                if !fits {
                    return Err(Error::Unsupported {
                        message: format!(
                            "unit \"{}\" not supported for type {}",
                            self.name(),
                            from.pg_name()
                        ),
                    });
                }
                Ok(match self {
                    DateField::Second | DateField::Epoch => 6,
                    DateField::Millisecond => 3,
                    _ => 0,
                })
            }
            other => Err(Error::Internal(format!("EXTRACT from {other}"))),
        }
    }
}

const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;
/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// Extracts `field` from every value of `array` (of SQL type `from`) as NUMERIC with the
/// scale [`DateField::result_scale`] gives.
pub fn extract(array: &ArrayRef, from: SqlType, field: DateField) -> Result<ArrayRef> {
    let scale = field.result_scale(from)?;
    let n = array.len();
    let mut out: Vec<Option<i128>> = Vec::with_capacity(n);
    match from {
        SqlType::Date => {
            let days = array.as_primitive::<Date32Type>();
            for v in days.iter() {
                out.push(match v {
                    None => None,
                    Some(d) => Some(date_field(d, field)?),
                });
            }
        }
        SqlType::Time => {
            for v in array.as_primitive::<Time64MicrosecondType>().iter() {
                out.push(v.map(|us| time_field(us, field)).transpose()?);
            }
        }
        SqlType::Interval => {
            for v in array.as_primitive::<IntervalMonthDayNanoType>().iter() {
                out.push(
                    v.map(|v| interval_field(Interval::from_arrow(v), field))
                        .transpose()?,
                );
            }
        }
        SqlType::Timestamp | SqlType::Timestamptz => {
            let ts = array.as_primitive::<TimestampMicrosecondType>();
            for v in ts.iter() {
                out.push(match v {
                    None => None,
                    Some(us) => Some(timestamp_field(us, field)?),
                });
            }
        }
        other => return Err(Error::Internal(format!("EXTRACT from {other}"))),
    }
    let arr = Decimal128Array::from(out)
        .with_precision_and_scale(crate::types::NUMERIC_PRECISION, scale)?;
    Ok(Arc::new(arr))
}

fn to_date(days: i32) -> Result<NaiveDate> {
    days.checked_add(UNIX_EPOCH_DAYS_FROM_CE)
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| Error::InvalidDatetime {
            message: "date out of range".into(),
        })
}

/// The calendar fields shared by dates and timestamps.
fn calendar_field(d: NaiveDate, field: DateField) -> Option<i128> {
    let year = i128::from(d.year());
    Some(match field {
        // PostgreSQL has no year 0: 1 BC is year 0 in chrono's proleptic calendar.
        DateField::Year => {
            if year <= 0 {
                year - 1
            } else {
                year
            }
        }
        DateField::Decade => year.div_euclid(10),
        DateField::Century => {
            if year > 0 {
                (year + 99) / 100
            } else {
                -((100 - year) / 100)
            }
        }
        DateField::Millennium => {
            if year > 0 {
                (year + 999) / 1000
            } else {
                -((1000 - year) / 1000)
            }
        }
        DateField::IsoYear => {
            let y = i128::from(d.iso_week().year());
            if y <= 0 {
                y - 1
            } else {
                y
            }
        }
        DateField::Quarter => i128::from((d.month() - 1) / 3 + 1),
        DateField::Month => i128::from(d.month()),
        DateField::Week => i128::from(d.iso_week().week()),
        DateField::Day => i128::from(d.day()),
        DateField::Dow => i128::from(d.weekday().num_days_from_sunday()),
        DateField::IsoDow => i128::from(d.weekday().number_from_monday()),
        DateField::Doy => i128::from(d.ordinal()),
        _ => return None,
    })
}

fn date_field(days: i32, field: DateField) -> Result<i128> {
    // The counts need no calendar, so they reach the dates past chrono's years.
    match field {
        DateField::Epoch => return Ok(i128::from(days) * 86_400),
        DateField::Julian => return Ok(i128::from(days) + i128::from(UNIX_EPOCH_JULIAN_DAY)),
        _ => {}
    }
    let d = to_date(days)?;
    if let Some(v) = calendar_field(d, field) {
        return Ok(v);
    }
    Err(Error::Unsupported {
        message: format!("unit \"{}\" not supported for type date", field.name()),
    })
}

fn timestamp_field(us: i64, field: DateField) -> Result<i128> {
    if field == DateField::Epoch {
        // Seconds with six decimals: the microseconds themselves at scale 6.
        return Ok(i128::from(us));
    }
    let dt: NaiveDateTime = DateTime::from_timestamp_micros(us)
        .map(|d| d.naive_utc())
        .ok_or_else(|| Error::InvalidDatetime {
            message: "timestamp out of range".into(),
        })?;
    if let Some(v) = calendar_field(dt.date(), field) {
        return Ok(v);
    }
    let micros_of_minute =
        i128::from(dt.second()) * 1_000_000 + i128::from(us.rem_euclid(1_000_000));
    Ok(match field {
        DateField::Hour => i128::from(dt.hour()),
        DateField::Minute => i128::from(dt.minute()),
        // Scale 6 for seconds, 3 for milliseconds, 0 for microseconds: the same integer.
        DateField::Second | DateField::Millisecond | DateField::Microsecond => micros_of_minute,
        other => {
            return Err(Error::Unsupported {
                message: format!(
                    "unit \"{}\" not supported for type timestamp without time zone",
                    other.name()
                ),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Date32Array, TimestampMicrosecondArray};

    fn one(array: ArrayRef, from: SqlType, field: DateField) -> i128 {
        extract(&array, from, field)
            .unwrap()
            .as_primitive::<arrow_array::types::Decimal128Type>()
            .value(0)
    }

    #[test]
    fn date_fields() {
        // 1995-03-15 is a Wednesday, day 74 of the year, ISO week 11.
        let d = NaiveDate::from_ymd_opt(1995, 3, 15).unwrap();
        let days = d.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE;
        let a: ArrayRef = Arc::new(Date32Array::from(vec![days]));
        let f = |field| one(a.clone(), SqlType::Date, field);
        assert_eq!(f(DateField::Year), 1995);
        assert_eq!(f(DateField::Month), 3);
        assert_eq!(f(DateField::Day), 15);
        assert_eq!(f(DateField::Quarter), 1);
        assert_eq!(f(DateField::Dow), 3);
        assert_eq!(f(DateField::IsoDow), 3);
        assert_eq!(f(DateField::Doy), 74);
        assert_eq!(f(DateField::Week), 11);
        assert_eq!(f(DateField::Decade), 199);
        assert_eq!(f(DateField::Century), 20);
        assert_eq!(f(DateField::Millennium), 2);
        assert_eq!(f(DateField::Epoch), i128::from(days) * 86_400);
        assert_eq!(f(DateField::Julian), 2_449_792);
        assert!(extract(&a, SqlType::Date, DateField::Hour).is_err());
    }

    #[test]
    fn timestamp_fields() {
        // 2020-01-01 10:20:05.25
        let us = 1_577_874_005_250_000i64;
        let a: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![us]));
        let f = |field| one(a.clone(), SqlType::Timestamp, field);
        assert_eq!(f(DateField::Hour), 10);
        assert_eq!(f(DateField::Minute), 20);
        assert_eq!(f(DateField::Second), 5_250_000);
        assert_eq!(f(DateField::Epoch), i128::from(us));
        assert_eq!(f(DateField::Year), 2020);
        let nulls: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![None::<i64>]));
        assert!(extract(&nulls, SqlType::Timestamp, DateField::Hour)
            .unwrap()
            .is_null(0));
    }
}
