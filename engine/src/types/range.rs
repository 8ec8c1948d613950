//! The ranges of DATE, TIMESTAMP, TIMESTAMPTZ and INTERVAL values, and the checks that every
//! parser, kernel and decoder making such a value runs, so that none wraps or leaves its range.
//!
//! ```text
//!              4714-11-24 BC                                 294246-12-31    5874897-12-31
//!  DATE        |<------------------------------------------------------------------------>|
//!  TIMESTAMP   |<---------------------------------------------------------->|
//!              DATE_MIN_DAYS                                  TIMESTAMP_END_DAYS (exclusive)
//! ```
//!
//! DATE is PostgreSQL's range exactly: Julian day 0 (4714-11-24 BC) to 5874897-12-31.
//! TIMESTAMP and TIMESTAMPTZ start where PostgreSQL's do, at 4714-11-24 00:00:00 BC. PostgreSQL
//! ends them at 294276-12-31 23:59:59.999999, counting microseconds from 2000-01-01; Basalt
//! counts them from 1970-01-01 in an `i64`, as Arrow does, and that runs out 30 years earlier
//! (294247-01-10 04:00:54.775807). Basalt ends them, as PostgreSQL does, at a year's end below
//! the end of its integer: 294246-12-31 23:59:59.999999. The nine days left over keep a
//! timestamp shifted to local time by any zone offset inside the integer.
//!
//! INTERVAL keeps its months and days in `i32`s, as PostgreSQL does, and its time part as Arrow
//! does, in nanoseconds in an `i64`: at most [`INTERVAL_MICROS_MAX`] microseconds (about 2.56
//! million hours, where PostgreSQL allows 2.56 billion).
//!
//! The errors are PostgreSQL's: `date out of range`, `timestamp out of range`, `date out of
//! range for timestamp` and `interval out of range`, all SQLSTATE 22008.

use crate::error::{Error, Result};

/// Microseconds in a day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The first DATE, 4714-11-24 BC (Julian day 0), in days since 1970-01-01.
pub const DATE_MIN_DAYS: i32 = -2_440_588;
/// The last DATE, 5874897-12-31, in days since 1970-01-01.
pub const DATE_MAX_DAYS: i32 = 2_145_042_905;

/// The first TIMESTAMP, 4714-11-24 00:00:00 BC, in microseconds since 1970-01-01 00:00:00.
pub const TIMESTAMP_MIN_MICROS: i64 = DATE_MIN_DAYS as i64 * MICROS_PER_DAY;
/// The day TIMESTAMP ends before, 294247-01-01, in days since 1970-01-01.
pub const TIMESTAMP_END_DAYS: i32 = 106_751_982;
/// The last TIMESTAMP, 294246-12-31 23:59:59.999999, in microseconds since 1970-01-01.
pub const TIMESTAMP_MAX_MICROS: i64 = TIMESTAMP_END_DAYS as i64 * MICROS_PER_DAY - 1;

/// Largest time part of an interval Basalt holds, in microseconds: Arrow keeps it as
/// nanoseconds in an `i64`.
pub const INTERVAL_MICROS_MAX: i64 = i64::MAX / 1000;

// A timestamp's local time in a zone up to 16 hours east or west stays inside the integer.
const _: () = assert!(TIMESTAMP_MAX_MICROS <= i64::MAX - 16 * 3_600_000_000);
const _: () = assert!(TIMESTAMP_MIN_MICROS >= i64::MIN + 16 * 3_600_000_000);
// Every timestamp has a date: the timestamp range lies inside the date range.
const _: () = assert!(TIMESTAMP_END_DAYS <= DATE_MAX_DAYS);

/// PostgreSQL's error for a date beyond its range (22008).
pub fn date_out_of_range() -> Error {
    Error::InvalidDatetime {
        message: "date out of range".into(),
    }
}

/// PostgreSQL's error for a timestamp beyond its range (22008).
pub fn timestamp_out_of_range() -> Error {
    Error::InvalidDatetime {
        message: "timestamp out of range".into(),
    }
}

/// PostgreSQL's error for an interval beyond its range (22008).
pub fn interval_out_of_range() -> Error {
    Error::InvalidDatetime {
        message: "interval out of range".into(),
    }
}

/// PostgreSQL's error for a date that has no timestamp (22008).
pub fn date_out_of_range_for_timestamp() -> Error {
    Error::InvalidDatetime {
        message: "date out of range for timestamp".into(),
    }
}

/// Whether `days` since 1970-01-01 is a DATE.
pub const fn is_valid_date(days: i64) -> bool {
    DATE_MIN_DAYS as i64 <= days && days <= DATE_MAX_DAYS as i64
}

/// Whether `micros` since 1970-01-01 00:00:00 is a TIMESTAMP (or a TIMESTAMPTZ instant).
pub const fn is_valid_timestamp(micros: i64) -> bool {
    TIMESTAMP_MIN_MICROS <= micros && micros <= TIMESTAMP_MAX_MICROS
}

/// `days` as a DATE, or `date out of range`. Takes an `i64` so callers add in a wider type.
pub fn check_date(days: i64) -> Result<i32> {
    if is_valid_date(days) {
        Ok(days as i32)
    } else {
        Err(date_out_of_range())
    }
}

/// `micros` as a TIMESTAMP, or `timestamp out of range`.
pub fn check_timestamp(micros: i64) -> Result<i64> {
    if is_valid_timestamp(micros) {
        Ok(micros)
    } else {
        Err(timestamp_out_of_range())
    }
}

/// `micros` as a TIMESTAMP when the arithmetic that made it did not overflow, or
/// `timestamp out of range`: `checked_timestamp(a.checked_add(b))`.
pub fn checked_timestamp(micros: Option<i64>) -> Result<i64> {
    micros.map_or_else(|| Err(timestamp_out_of_range()), check_timestamp)
}

/// Whether the date `days` has a timestamp (its midnight).
pub const fn date_has_timestamp(days: i32) -> bool {
    DATE_MIN_DAYS <= days && days < TIMESTAMP_END_DAYS
}

/// The midnight of a date, or PostgreSQL's `date out of range for timestamp`.
pub fn date_to_timestamp(days: i32) -> Result<i64> {
    if date_has_timestamp(days) {
        Ok(i64::from(days) * MICROS_PER_DAY)
    } else {
        Err(date_out_of_range_for_timestamp())
    }
}

/// The date of a timestamp; every timestamp in range has one.
pub fn timestamp_to_date(micros: i64) -> i32 {
    debug_assert!(is_valid_timestamp(micros));
    micros.div_euclid(MICROS_PER_DAY) as i32
}

/// Smallest and largest of `values` whose slot `valid` allows, or `None` when there is none.
/// A plain fold over the slice when nothing is NULL, which the compiler vectorizes.
fn min_max<T: Copy + Ord>(
    values: &[T],
    valid: Option<&arrow_buffer::NullBuffer>,
) -> Option<(T, T)> {
    let first = match valid {
        None => *values.first()?,
        Some(nulls) => *values.iter().zip(nulls.iter()).find(|(_, ok)| *ok)?.0,
    };
    Some(match valid {
        None => values
            .iter()
            .fold((first, first), |(lo, hi), &v| (lo.min(v), hi.max(v))),
        Some(nulls) => values
            .iter()
            .zip(nulls.iter())
            .filter(|(_, ok)| *ok)
            .fold((first, first), |(lo, hi), (&v, _)| (lo.min(v), hi.max(v))),
    })
}

/// Checks a whole column of dates at once: `date out of range` when any non-NULL value is
/// outside the range. One min/max pass per batch instead of a branch per row.
pub fn check_date_values(values: &[i32], nulls: Option<&arrow_buffer::NullBuffer>) -> Result<()> {
    match min_max(values, nulls) {
        Some((lo, hi)) if !is_valid_date(i64::from(lo)) || !is_valid_date(i64::from(hi)) => {
            Err(date_out_of_range())
        }
        _ => Ok(()),
    }
}

/// Checks a whole column of timestamps at once: `timestamp out of range` when any non-NULL
/// value is outside the range.
pub fn check_timestamp_values(
    values: &[i64],
    nulls: Option<&arrow_buffer::NullBuffer>,
) -> Result<()> {
    match min_max(values, nulls) {
        Some((lo, hi)) if !is_valid_timestamp(lo) || !is_valid_timestamp(hi) => {
            Err(timestamp_out_of_range())
        }
        _ => Ok(()),
    }
}

/// Checks that every non-NULL date of a column has a timestamp, or `date out of range for
/// timestamp`; the column can then be multiplied out without a check per row.
pub fn check_dates_have_timestamps(
    values: &[i32],
    nulls: Option<&arrow_buffer::NullBuffer>,
) -> Result<()> {
    match min_max(values, nulls) {
        Some((lo, hi)) if !date_has_timestamp(lo) || !date_has_timestamp(hi) => {
            Err(date_out_of_range_for_timestamp())
        }
        _ => Ok(()),
    }
}

/// Checks a column of `ty` that came from outside the engine (a Parquet file, an external
/// table): its dates or timestamps must be in range. Other types pass untouched.
pub fn check_column(array: &dyn arrow_array::Array, ty: basalt_storage::SqlType) -> Result<()> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Date32Type, TimestampMicrosecondType};
    use arrow_array::Array;
    use basalt_storage::SqlType;
    match ty {
        SqlType::Date => {
            let d = array.as_primitive::<Date32Type>();
            check_date_values(d.values(), d.nulls())
        }
        SqlType::Timestamp | SqlType::Timestamptz => {
            let t = array.as_primitive::<TimestampMicrosecondType>();
            check_timestamp_values(t.values(), t.nulls())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pgtext::{days_from_civil, write_date, write_timestamp};

    #[test]
    fn constants_are_the_calendar_dates_they_name() {
        // Input: the civil dates the constants stand for (year 0 is 1 BC, so -4713 is 4714 BC).
        assert_eq!(days_from_civil(-4713, 11, 24), Some(DATE_MIN_DAYS));
        assert_eq!(days_from_civil(5_874_897, 12, 31), Some(DATE_MAX_DAYS));
        assert_eq!(days_from_civil(294_247, 1, 1), Some(TIMESTAMP_END_DAYS));
        let text = |f: &dyn Fn(&mut String)| {
            let mut s = String::new();
            f(&mut s);
            s
        };
        assert_eq!(text(&|s| write_date(s, DATE_MIN_DAYS)), "4714-11-24 BC");
        assert_eq!(text(&|s| write_date(s, DATE_MAX_DAYS)), "5874897-12-31");
        assert_eq!(
            text(&|s| write_timestamp(s, TIMESTAMP_MIN_MICROS)),
            "4714-11-24 00:00:00 BC"
        );
        assert_eq!(
            text(&|s| write_timestamp(s, TIMESTAMP_MAX_MICROS)),
            "294246-12-31 23:59:59.999999"
        );
    }

    #[test]
    fn single_values_are_checked_at_both_ends() {
        // Input: each end of each range and the value one step beyond it.
        assert!(check_date(i64::from(DATE_MIN_DAYS)).is_ok());
        assert!(check_date(i64::from(DATE_MAX_DAYS)).is_ok());
        assert!(check_date(i64::from(DATE_MIN_DAYS) - 1).is_err());
        assert!(check_date(i64::from(DATE_MAX_DAYS) + 1).is_err());
        assert!(check_date(i64::from(i32::MAX) + 1).is_err());
        assert!(check_timestamp(TIMESTAMP_MIN_MICROS).is_ok());
        assert!(check_timestamp(TIMESTAMP_MAX_MICROS).is_ok());
        assert!(check_timestamp(TIMESTAMP_MIN_MICROS - 1).is_err());
        assert!(check_timestamp(TIMESTAMP_MAX_MICROS + 1).is_err());
        assert!(checked_timestamp(i64::MAX.checked_add(1)).is_err());
        assert_eq!(checked_timestamp(Some(0)).ok(), Some(0));
    }

    #[test]
    fn dates_become_timestamps_only_inside_the_timestamp_range() {
        // Input: the first date, the last date with a timestamp, and the day after it.
        assert_eq!(
            date_to_timestamp(DATE_MIN_DAYS).ok(),
            Some(TIMESTAMP_MIN_MICROS)
        );
        assert_eq!(
            date_to_timestamp(TIMESTAMP_END_DAYS - 1).ok(),
            Some(TIMESTAMP_MAX_MICROS + 1 - MICROS_PER_DAY)
        );
        assert!(matches!(
            date_to_timestamp(TIMESTAMP_END_DAYS),
            Err(Error::InvalidDatetime { message }) if message == "date out of range for timestamp"
        ));
        assert!(date_to_timestamp(DATE_MIN_DAYS - 1).is_err());
        assert_eq!(
            timestamp_to_date(TIMESTAMP_MAX_MICROS),
            TIMESTAMP_END_DAYS - 1
        );
        assert_eq!(timestamp_to_date(TIMESTAMP_MIN_MICROS), DATE_MIN_DAYS);
    }

    #[test]
    fn columns_are_checked_by_their_extremes_and_skip_nulls() {
        // Input: columns in range, one value beyond either end, and an out-of-range value
        // that sits in a NULL slot.
        let nulls = arrow_buffer::NullBuffer::from(vec![true, false, true]);
        assert!(
            check_timestamp_values(&[0, TIMESTAMP_MAX_MICROS, TIMESTAMP_MIN_MICROS], None).is_ok()
        );
        assert!(check_timestamp_values(&[0, TIMESTAMP_MAX_MICROS + 1, 5], None).is_err());
        assert!(check_timestamp_values(&[TIMESTAMP_MIN_MICROS - 1, 0], None).is_err());
        assert!(check_timestamp_values(&[1, i64::MAX, 2], Some(&nulls)).is_ok());
        assert!(check_timestamp_values(&[1, 2, i64::MAX], Some(&nulls)).is_err());
        assert!(check_timestamp_values(&[], None).is_ok());
        assert!(check_date_values(&[DATE_MIN_DAYS, DATE_MAX_DAYS], None).is_ok());
        assert!(check_date_values(&[DATE_MAX_DAYS + 1], None).is_err());
        assert!(check_date_values(&[0, i32::MIN, 0], Some(&nulls)).is_ok());
        assert!(
            check_dates_have_timestamps(&[DATE_MIN_DAYS, TIMESTAMP_END_DAYS - 1], None).is_ok()
        );
        assert!(check_dates_have_timestamps(&[0, TIMESTAMP_END_DAYS], None).is_err());
        assert!(check_dates_have_timestamps(&[0, DATE_MAX_DAYS, 0], Some(&nulls)).is_ok());
    }
}
