//! Binding date and time functions and operators: the current date and time, `date ±
//! integer`, `date - date`, `± INTERVAL` constants, date_trunc, DATEADD, DATEDIFF,
//! ADD_MONTHS, LAST_DAY, MONTHS_BETWEEN, to_char, to_date, to_timestamp, make_date,
//! make_time, make_timestamp[tz], make_interval, date_bin and isfinite. The kernels are in
//! `kernels::dates`.
//!
//! An interval constant added to a date or timestamp (`d >= current_date - interval '7 days'`,
//! what analysts write most) folds into one kernel call; every other INTERVAL and TIME
//! operator (`interval_arithmetic`) goes through `kernels::interval`.

use basalt_storage::SqlType;
use sqlparser::ast;
use sqlparser::tokenizer::Span;

use super::bind::{fold, Binder};
use super::expr::{BinaryOp, Expr, ScalarFunc};
use crate::error::{Error, Result};
use crate::kernels::dates::{unit_supported, DateFunc};
use crate::kernels::datetime::DateField;
use crate::kernels::interval::IntervalFunc;
use crate::kernels::zones::ZoneFunc;
use crate::types::Datum;

/// Functions whose first argument is a date part, written as a bare word in Redshift
/// (`DATEADD(month, 1, d)`), so it must not be bound as a column.
pub(crate) fn takes_date_part(name: &str) -> bool {
    matches!(
        name,
        "dateadd" | "datediff" | "date_add" | "date_diff" | "date_part" | "date_trunc"
    )
}

/// The first argument of a [`takes_date_part`] function, as a text constant when it is a bare
/// word.
pub(crate) fn date_part_word(e: &ast::Expr) -> Option<Expr> {
    match e {
        ast::Expr::Identifier(id) if id.quote_style.is_none() => Some(Expr::literal(
            Datum::Text(id.value.to_ascii_lowercase()),
            SqlType::Text,
        )),
        _ => None,
    }
}

/// An interval constant: months, days and microseconds, as PostgreSQL keeps one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct IntervalValue {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

fn bad_interval(text: &str) -> Error {
    Error::InvalidDatetime {
        message: format!("invalid input syntax for type interval: \"{text}\""),
    }
}

/// Parses PostgreSQL interval input: `N unit` pairs (`1 year 2 mons 3 days`), an `hh:mm[:ss]`
/// time, and a trailing unit given outside the quotes (`INTERVAL '90' DAY`).
pub(crate) fn parse_interval(text: &str, unit: Option<&str>) -> Result<IntervalValue> {
    let mut v = IntervalValue::default();
    let mut years = 0f64;
    let mut months = 0f64;
    let mut days = 0f64;
    let mut micros = 0f64;
    let lowered = text.trim().to_ascii_lowercase();
    let mut words: Vec<&str> = lowered.split_whitespace().collect();
    let ago = words.last() == Some(&"ago");
    if ago {
        words.pop();
    }
    if words.is_empty() {
        return Err(bad_interval(text));
    }
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if w.contains(':') {
            let neg = w.starts_with('-');
            let parts: Vec<&str> = w.trim_start_matches(['-', '+']).split(':').collect();
            if parts.len() < 2 || parts.len() > 3 {
                return Err(bad_interval(text));
            }
            let num = |s: &str| s.parse::<f64>().map_err(|_| bad_interval(text));
            let mut us = num(parts[0])? * 3.6e9 + num(parts[1])? * 6e7;
            if let Some(s) = parts.get(2) {
                us += num(s)? * 1e6;
            }
            micros += if neg { -us } else { us };
            i += 1;
            continue;
        }
        // Digits with a sign and a point: no exponent, `inf` or `nan`, as PostgreSQL reads it.
        if !w
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.'))
        {
            return Err(bad_interval(text));
        }
        let n: f64 = w.parse().map_err(|_| bad_interval(text))?;
        let unit_word = match words.get(i + 1) {
            Some(u) if u.parse::<f64>().is_err() && !u.contains(':') => {
                i += 2;
                *u
            }
            _ => {
                i += 1;
                // A bare number is seconds, as in PostgreSQL.
                unit.unwrap_or("second")
            }
        };
        // Whole years count apart from months, as PostgreSQL's fields do; a fraction of a
        // year is months.
        let mut add_years = |factor: f64| {
            years += n.trunc() * factor;
            months += n.fract() * factor * 12.0;
        };
        match unit_word {
            "millennium" | "millennia" | "millenniums" | "mil" | "mils" => add_years(1000.0),
            "century" | "centuries" | "cent" | "c" => add_years(100.0),
            "decade" | "decades" | "dec" | "decs" => add_years(10.0),
            "year" | "years" | "y" | "yr" | "yrs" => add_years(1.0),
            "month" | "months" | "mon" | "mons" => months += n,
            "week" | "weeks" | "w" => days += n * 7.0,
            "day" | "days" | "d" => days += n,
            "hour" | "hours" | "h" | "hr" | "hrs" => micros += n * 3.6e9,
            "minute" | "minutes" | "m" | "min" | "mins" => micros += n * 6e7,
            "second" | "seconds" | "s" | "sec" | "secs" => micros += n * 1e6,
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" => micros += n * 1e3,
            "microsecond" | "microseconds" | "us" | "usec" | "usecs" => micros += n,
            _ => return Err(bad_interval(text)),
        }
    }
    // Fractions cascade down as PostgreSQL's: a month is 30 days, a day 24 hours.
    let whole_months = months.trunc();
    days += (months - whole_months) * 30.0;
    let whole_days = days.trunc();
    micros += (days - whole_days) * 8.64e10;
    let sign = if ago { -1.0 } else { 1.0 };
    let (years, months, days, micros) = (
        sign * years,
        sign * whole_months,
        sign * whole_days,
        sign * micros.round(),
    );
    // Signed, as the fields are kept: `-2147483648 days` fits and `2147483648 days` does not.
    let fits_i32 = |x: f64| x.is_finite() && f64::from(i32::MIN) <= x && x <= f64::from(i32::MAX);
    let fits_micros = micros.is_finite() && micros.abs() <= 9.2e18;
    if !(fits_i32(years) && fits_i32(months) && fits_i32(days) && fits_micros) {
        return Err(Error::InvalidDatetime {
            message: format!("interval field value out of range: \"{text}\""),
        });
    }
    // Each field fits, their sum in months does not: PostgreSQL's `interval out of range`.
    let months = years * 12.0 + months;
    if !fits_i32(months) {
        return Err(crate::types::temporal::overflow());
    }
    v.months = months as i32;
    v.days = days as i32;
    v.micros = micros as i64;
    Ok(v)
}

/// The unit word of `INTERVAL '...' DAY` and the like.
fn field_word(f: &ast::DateTimeField) -> Option<&'static str> {
    Some(match f {
        ast::DateTimeField::Year | ast::DateTimeField::Years => "year",
        ast::DateTimeField::Month | ast::DateTimeField::Months => "month",
        ast::DateTimeField::Week(_) | ast::DateTimeField::Weeks => "week",
        ast::DateTimeField::Day | ast::DateTimeField::Days => "day",
        ast::DateTimeField::Hour | ast::DateTimeField::Hours => "hour",
        ast::DateTimeField::Minute | ast::DateTimeField::Minutes => "minute",
        ast::DateTimeField::Second | ast::DateTimeField::Seconds => "second",
        _ => return None,
    })
}

/// The value of an `INTERVAL` constant.
pub(crate) fn interval_constant(iv: &ast::Interval) -> Result<IntervalValue> {
    let text = match iv.value.as_ref() {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => s.clone(),
            ast::Value::Number(n, _) => n.clone(),
            other => other.to_string(),
        },
        _ => {
            return Err(Error::Unsupported {
                message: "only constant INTERVAL values are supported".into(),
            })
        }
    };
    let unit = match &iv.leading_field {
        None => None,
        Some(f) => Some(field_word(f).ok_or_else(|| Error::Unsupported {
            message: format!("INTERVAL unit {f} is not supported"),
        })?),
    };
    if iv.last_field.is_some() {
        return Err(Error::Unsupported {
            message: "INTERVAL ranges such as DAY TO SECOND are not supported yet".into(),
        });
    }
    parse_interval(&text, unit)
}

/// `e` converted to `to` by the plain cast kernel, whatever the session's zone: a
/// TIMESTAMPTZ to and from TIMESTAMP as the same microseconds (UTC).
fn plain_cast(e: Expr, to: SqlType) -> Expr {
    fold(Expr::Cast {
        expr: Box::new(e),
        to,
        explicit: true,
    })
}

impl Binder<'_> {
    /// The transaction's start (microseconds since 1970, UTC), as now() reports it: the
    /// statement's start outside a transaction block.
    fn now_micros(&self) -> i64 {
        *self.now.get_or_init(|| self.statement_micros())
    }

    /// The statement's start, as statement_timestamp() and GETDATE report it.
    fn statement_micros(&self) -> i64 {
        *self
            .statement_now
            .get_or_init(|| chrono::Utc::now().timestamp_micros())
    }

    /// An instant's local time in the session's zone.
    fn local_micros(&self, instant: i64) -> Result<i64> {
        self.zone().to_local(instant)
    }

    /// `value ± INTERVAL '...'` (`interval_first` for `INTERVAL '...' + value`): a date or
    /// timestamp moved by the interval.
    pub(crate) fn add_interval(
        &self,
        value: Expr,
        interval: IntervalValue,
        negate: bool,
        interval_first: bool,
        span: Span,
    ) -> Result<Expr> {
        let value = self.coerce_unknown(value, SqlType::Timestamp)?;
        if !matches!(value.ty(), SqlType::Date | SqlType::Timestamp) {
            // Any other type goes through the general operators on an interval constant.
            let constant = crate::types::temporal::Interval {
                months: interval.months,
                days: interval.days,
                micros: interval.micros,
            };
            if constant.to_arrow().is_none() {
                return Err(crate::types::temporal::overflow());
            }
            let op = if negate { BinaryOp::Sub } else { BinaryOp::Add };
            let constant = Expr::literal(Datum::Interval(constant), SqlType::Interval);
            return if interval_first {
                self.binary(op, constant, value, span)
            } else {
                self.binary(op, value, constant, span)
            };
        }
        let value = self.cast(value, SqlType::Timestamp, false, span)?;
        let neg = |x: i64| if negate { x.checked_neg() } else { Some(x) };
        let overflow = || Error::InvalidDatetime {
            message: "interval out of range".into(),
        };
        let months = neg(i64::from(interval.months))
            .and_then(|m| i32::try_from(m).ok())
            .ok_or_else(overflow)?;
        let days = neg(i64::from(interval.days))
            .and_then(|d| i32::try_from(d).ok())
            .ok_or_else(overflow)?;
        let micros = neg(interval.micros).ok_or_else(overflow)?;
        Ok(fold(Expr::Function {
            func: ScalarFunc::Date(DateFunc::AddInterval {
                months,
                days,
                micros,
            }),
            args: vec![value],
            ty: SqlType::Timestamp,
        }))
    }

    /// `value AT TIME ZONE zone`: a TIMESTAMP read as local time in the zone gives the
    /// TIMESTAMPTZ instant; a TIMESTAMPTZ (or DATE, at midnight UTC) gives its local TIMESTAMP
    /// in the zone. The zone is text (a name or POSIX offset) or an INTERVAL offset.
    pub(crate) fn at_time_zone(&self, value: Expr, zone: Expr, span: Span) -> Result<Expr> {
        let value = self.coerce_unknown(value, SqlType::Timestamptz)?;
        let zone = self.coerce_unknown(zone, SqlType::Text)?;
        let zone = match zone.ty() {
            SqlType::Interval => zone,
            t if t.is_string() => self.cast(zone, SqlType::Text, false, span)?,
            t => {
                return Err(Error::UndefinedFunction {
                    message: format!(
                        "function pg_catalog.timezone({}, {}) does not exist",
                        crate::types::display_name(t),
                        crate::types::display_name(value.ty())
                    ),
                    position: self.position(span),
                })
            }
        };
        if let Expr::Literal {
            value: Datum::Text(name),
            ..
        } = &zone
        {
            crate::kernels::zones::parse_zone(name)?;
        }
        let (func, value, ty) = match value.ty() {
            SqlType::Timestamp => (ZoneFunc::LocalToInstant, value, SqlType::Timestamptz),
            SqlType::Timestamptz | SqlType::Date => (
                ZoneFunc::InstantToLocal,
                self.cast(value, SqlType::Timestamptz, false, span)?,
                SqlType::Timestamp,
            ),
            t => {
                return Err(Error::UndefinedFunction {
                    message: format!(
                        "function pg_catalog.timezone({}, {}) does not exist",
                        crate::types::display_name(zone.ty()),
                        crate::types::display_name(t)
                    ),
                    position: self.position(span),
                })
            }
        };
        // The kernel reads both as microseconds since the epoch.
        let value = match value.ty() {
            SqlType::Timestamptz => plain_cast(value, SqlType::Timestamp),
            _ => value,
        };
        Ok(fold(Expr::Function {
            func: ScalarFunc::Zone(func),
            args: vec![zone, value],
            ty,
        }))
    }

    /// `date + integer`, `integer + date`, `date - integer` and `date - date`; `None` when the
    /// operands are not dates.
    pub(crate) fn date_arithmetic(
        &self,
        op: BinaryOp,
        l: &Expr,
        r: &Expr,
        span: Span,
    ) -> Result<Option<Expr>> {
        let is_int = |t: SqlType| matches!(t, SqlType::SmallInt | SqlType::Integer);
        let (lt, rt) = (l.ty(), r.ty());
        let add_days = |date: Expr, days: Expr, negate: bool| -> Result<Expr> {
            let days = self.cast(days, SqlType::Integer, false, span)?;
            let days = if negate {
                self.binary(
                    BinaryOp::Sub,
                    Expr::literal(Datum::Int(0), SqlType::Integer),
                    days,
                    span,
                )?
            } else {
                days
            };
            Ok(fold(Expr::Function {
                func: ScalarFunc::Date(DateFunc::AddDays),
                args: vec![date, days],
                ty: SqlType::Date,
            }))
        };
        Ok(Some(match (op, lt, rt) {
            (BinaryOp::Add, SqlType::Date, t) if is_int(t) => {
                add_days(l.clone(), r.clone(), false)?
            }
            (BinaryOp::Add, t, SqlType::Date) if is_int(t) => {
                add_days(r.clone(), l.clone(), false)?
            }
            (BinaryOp::Sub, SqlType::Date, t) if is_int(t) => add_days(l.clone(), r.clone(), true)?,
            (BinaryOp::Sub, SqlType::Date, SqlType::Date) => fold(Expr::Function {
                func: ScalarFunc::Date(DateFunc::DiffDays),
                args: vec![l.clone(), r.clone()],
                ty: SqlType::Integer,
            }),
            _ => return self.interval_arithmetic(op, l, r, span),
        }))
    }

    /// The operators on INTERVAL and TIME values, and the ones that yield an interval
    /// (`timestamp - timestamp`); `None` when the operands are none of these.
    fn interval_arithmetic(
        &self,
        op: BinaryOp,
        l: &Expr,
        r: &Expr,
        span: Span,
    ) -> Result<Option<Expr>> {
        use crate::kernels::interval::IntervalFunc as F;
        use SqlType::{Date, Interval, Time, Timestamp, Timestamptz};
        let call = |func: F, args: Vec<Expr>, ty: SqlType| {
            Some(fold(Expr::Function {
                func: ScalarFunc::Interval(func),
                args,
                ty,
            }))
        };
        let cast = |e: &Expr, ty: SqlType| self.cast(e.clone(), ty, false, span);
        let negated = |e: &Expr| fold(Expr::Negate(Box::new(e.clone())));
        let numeric = |t: SqlType| crate::types::numeric_rank(t).is_some();
        let moved = |value: &Expr, interval: Expr| -> Result<Option<Expr>> {
            Ok(match value.ty() {
                Time => call(F::AddToTime, vec![value.clone(), interval], Time),
                Timestamptz if !self.zone().is_utc() => Some(fold(Expr::Function {
                    func: ScalarFunc::Zone(ZoneFunc::AddInterval(self.zone())),
                    args: vec![value.clone(), interval],
                    ty: Timestamptz,
                })),
                Timestamptz => call(
                    F::AddToTimestamp,
                    vec![value.clone(), interval],
                    Timestamptz,
                ),
                Date | Timestamp => call(
                    F::AddToTimestamp,
                    vec![cast(value, Timestamp)?, interval],
                    Timestamp,
                ),
                _ => None,
            })
        };
        Ok(match (op, l.ty(), r.ty()) {
            (BinaryOp::Add, Interval, Interval) => {
                call(F::Add, vec![l.clone(), r.clone()], Interval)
            }
            (BinaryOp::Sub, Interval, Interval) => {
                call(F::Sub, vec![l.clone(), r.clone()], Interval)
            }
            (BinaryOp::Add, _, Interval) => moved(l, r.clone())?,
            (BinaryOp::Add, Interval, _) => moved(r, l.clone())?,
            (BinaryOp::Sub, _, Interval) => moved(l, negated(r))?,
            (BinaryOp::Mul, Interval, t) if numeric(t) => {
                call(F::Mul, vec![l.clone(), cast(r, SqlType::Double)?], Interval)
            }
            (BinaryOp::Mul, t, Interval) if numeric(t) => {
                call(F::Mul, vec![r.clone(), cast(l, SqlType::Double)?], Interval)
            }
            (BinaryOp::Div, Interval, t) if numeric(t) => {
                call(F::Div, vec![l.clone(), cast(r, SqlType::Double)?], Interval)
            }
            (BinaryOp::Sub, Time, Time) => call(F::SubTimes, vec![l.clone(), r.clone()], Interval),
            (BinaryOp::Add, Date, Time) => {
                call(F::DatePlusTime, vec![l.clone(), r.clone()], Timestamp)
            }
            (BinaryOp::Add, Time, Date) => {
                call(F::DatePlusTime, vec![r.clone(), l.clone()], Timestamp)
            }
            (BinaryOp::Sub, Date | Timestamp | Timestamptz, Date | Timestamp | Timestamptz) => {
                // `date - date` is an integer, handled before; any other pair of these is
                // compared as their common type.
                let common = crate::types::common_type(l.ty(), r.ty()).unwrap_or(Timestamp);
                call(
                    F::SubTimestamps,
                    vec![cast(l, common)?, cast(r, common)?],
                    Interval,
                )
            }
            _ => None,
        })
    }

    /// Converts `args` in place to INTEGER, except the one at `double` (DOUBLE PRECISION), as
    /// make_date, make_time, make_timestamp and make_interval take them; false when one is
    /// not of such a type (no implicit cast from BIGINT or NUMERIC to INTEGER).
    fn typed_args(&self, args: &mut [Expr], double: Option<usize>, span: Span) -> Result<bool> {
        for (i, a) in args.iter_mut().enumerate() {
            let want = if Some(i) == double {
                SqlType::Double
            } else {
                SqlType::Integer
            };
            let b = self.coerce_unknown(a.clone(), want)?;
            let fits = match want {
                SqlType::Double => b.ty().is_numeric(),
                _ => matches!(b.ty(), SqlType::SmallInt | SqlType::Integer),
            };
            if !fits {
                return Ok(false);
            }
            *a = self.cast(b, want, false, span)?;
        }
        Ok(true)
    }

    /// The date and time functions; `Err(args)` hands the arguments back when `name` is not
    /// one of them (or the arguments do not fit it).
    pub(crate) fn date_function(
        &self,
        name: &str,
        args: Vec<Expr>,
        span: Span,
    ) -> Result<std::result::Result<Expr, Vec<Expr>>> {
        let instant = |t: i64| Expr::literal(Datum::Timestamptz(t), SqlType::Timestamptz);
        let local = |t: i64| -> Result<Expr> {
            Ok(Expr::literal(
                Datum::Timestamp(self.local_micros(t)?),
                SqlType::Timestamp,
            ))
        };
        match (name, args.len()) {
            ("current_date", 0) => {
                let local = self.local_micros(self.now_micros())?;
                let days = local.div_euclid(86_400_000_000) as i32;
                return Ok(Ok(Expr::literal(Datum::Date(days), SqlType::Date)));
            }
            ("now" | "current_timestamp" | "transaction_timestamp", 0) => {
                return Ok(Ok(instant(self.now_micros())))
            }
            ("statement_timestamp", 0) => return Ok(Ok(instant(self.statement_micros()))),
            // The clock when the row is computed, not a constant.
            ("clock_timestamp", 0) => {
                return Ok(Ok(Expr::Function {
                    func: ScalarFunc::ClockTimestamp,
                    args: Vec::new(),
                    ty: SqlType::Timestamptz,
                }))
            }
            // Local times in the session's zone, as TIMESTAMP: PostgreSQL's localtimestamp
            // and Redshift's SYSDATE are the transaction's start, GETDATE the statement's.
            ("localtimestamp" | "sysdate", 0) => return local(self.now_micros()).map(Ok),
            ("getdate", 0) => return local(self.statement_micros()).map(Ok),
            ("localtime", 0) => {
                let t = self.local_micros(self.now_micros())?;
                return Ok(Ok(Expr::literal(
                    Datum::Time(t.rem_euclid(86_400_000_000)),
                    SqlType::Time,
                )));
            }
            _ => {}
        }
        let mut args = args;
        let expect = |args: &mut Vec<Expr>, i: usize, ty: SqlType| -> Result<bool> {
            let Some(a) = args.get(i).cloned() else {
                return Ok(false);
            };
            let a = self.coerce_unknown(a, ty)?;
            let fits = match ty {
                SqlType::Timestamp | SqlType::Date => {
                    matches!(a.ty(), SqlType::Timestamp | SqlType::Date)
                }
                SqlType::BigInt | SqlType::Integer => {
                    matches!(
                        a.ty(),
                        SqlType::SmallInt | SqlType::Integer | SqlType::BigInt
                    )
                }
                SqlType::Text => a.ty().is_string(),
                _ => false,
            };
            if !fits {
                return Ok(false);
            }
            args[i] = self.cast(a, ty, ty == SqlType::Text, span)?;
            Ok(true)
        };
        let unit = |args: &[Expr], what: &str| -> Result<DateField> {
            let not_recognized = |text: &str| {
                let message = if what == "date_trunc" {
                    format!("unit \"{text}\" not recognized for type timestamp without time zone")
                } else {
                    format!("{what}: unit \"{text}\" not recognized")
                };
                Error::InvalidParameter { message }
            };
            let text = match args.first() {
                Some(Expr::Literal {
                    value: Datum::Text(t),
                    ..
                }) => t.clone(),
                _ => {
                    return Err(Error::Unsupported {
                        message: format!("the date part of {what} must be a constant"),
                    })
                }
            };
            DateField::parse(&text)
                .filter(|f| unit_supported(*f))
                .ok_or_else(|| not_recognized(&text))
        };
        let call = |func: DateFunc, args: Vec<Expr>, ty: SqlType| {
            Ok(Ok(fold(Expr::Function {
                func: ScalarFunc::Date(func),
                args,
                ty,
            })))
        };
        let interval_call = |func: IntervalFunc, args: Vec<Expr>| {
            Ok(Ok(fold(Expr::Function {
                func: ScalarFunc::Interval(func),
                args,
                ty: SqlType::Interval,
            })))
        };
        match (name, args.len()) {
            ("date_trunc", 2) if args[1].ty() == SqlType::Interval => {
                if !expect(&mut args, 0, SqlType::Text)? {
                    return Ok(Err(args));
                }
                let field = match &args[0] {
                    Expr::Literal {
                        value: Datum::Text(t),
                        ..
                    } => DateField::parse(t).ok_or_else(|| Error::InvalidParameter {
                        message: format!("unit \"{t}\" not recognized for type interval"),
                    })?,
                    _ => {
                        return Err(Error::Unsupported {
                            message: "the date part of date_trunc must be a constant".into(),
                        })
                    }
                };
                let value = args.swap_remove(1);
                interval_call(IntervalFunc::Trunc(field), vec![value])
            }
            ("date_trunc", 2) if args[1].ty() == SqlType::Timestamptz && !self.zone().is_utc() => {
                if !expect(&mut args, 0, SqlType::Text)? {
                    return Ok(Err(args));
                }
                let field = unit(&args, "date_trunc").map_err(|e| match e {
                    Error::InvalidParameter { message } => Error::InvalidParameter {
                        message: message.replace("without time zone", "with time zone"),
                    },
                    other => other,
                })?;
                Ok(Ok(fold(Expr::Function {
                    func: ScalarFunc::Zone(ZoneFunc::Trunc(self.zone(), field)),
                    args: vec![args.swap_remove(1)],
                    ty: SqlType::Timestamptz,
                })))
            }
            ("date_trunc", 2) if args[1].ty() == SqlType::Timestamptz => {
                // In the session's zone (UTC) a TIMESTAMPTZ truncates as its UTC timestamp.
                let value = self.cast(args.swap_remove(1), SqlType::Timestamp, true, span)?;
                let e = self.date_function(name, vec![args.swap_remove(0), value], span)?;
                match e {
                    Ok(e) => Ok(Ok(self.cast(e, SqlType::Timestamptz, false, span)?)),
                    Err(args) => Ok(Err(args)),
                }
            }
            ("convert_timezone", 2 | 3) => {
                let last = args.len() - 1;
                let ts = self.coerce_unknown(args[last].clone(), SqlType::Timestamp)?;
                if !matches!(
                    ts.ty(),
                    SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz
                ) {
                    return Ok(Err(args));
                }
                let mut zones = Vec::with_capacity(2);
                if last == 1 {
                    zones.push(Expr::literal(Datum::Text("UTC".into()), SqlType::Text));
                }
                for a in &args[..last] {
                    let z = self.coerce_unknown(a.clone(), SqlType::Text)?;
                    if !z.ty().is_string() {
                        return Ok(Err(args));
                    }
                    zones.push(self.cast(z, SqlType::Text, false, span)?);
                }
                // A TIMESTAMPTZ is taken as its UTC time, as Redshift does.
                zones.push(match ts.ty() {
                    SqlType::Timestamptz => plain_cast(ts, SqlType::Timestamp),
                    _ => self.cast(ts, SqlType::Timestamp, true, span)?,
                });
                Ok(Ok(fold(Expr::Function {
                    func: ScalarFunc::Zone(ZoneFunc::Convert),
                    args: zones,
                    ty: SqlType::Timestamp,
                })))
            }
            ("justify_hours" | "justify_days" | "justify_interval", 1) => {
                let a = self.coerce_unknown(args.swap_remove(0), SqlType::Interval)?;
                if a.ty() != SqlType::Interval {
                    return Ok(Err(vec![a]));
                }
                let func = match name {
                    "justify_hours" => IntervalFunc::JustifyHours,
                    "justify_days" => IntervalFunc::JustifyDays,
                    _ => IntervalFunc::JustifyInterval,
                };
                interval_call(func, vec![a])
            }
            ("age", 1 | 2) => {
                for i in 0..args.len() {
                    let a = self.coerce_unknown(args[i].clone(), SqlType::Timestamp)?;
                    if !matches!(
                        a.ty(),
                        SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz
                    ) {
                        return Ok(Err(args));
                    }
                    // A TIMESTAMPTZ's calendar in the session's zone (UTC).
                    args[i] = self.cast(a, SqlType::Timestamp, true, span)?;
                }
                if args.len() == 1 {
                    // age(t) is measured from midnight of the current date.
                    let today = self.local_micros(self.now_micros())?;
                    let midnight = today.div_euclid(86_400_000_000) * 86_400_000_000;
                    args.insert(
                        0,
                        Expr::literal(Datum::Timestamp(midnight), SqlType::Timestamp),
                    );
                }
                interval_call(IntervalFunc::Age, args)
            }
            ("date_trunc", 2) => {
                if !expect(&mut args, 0, SqlType::Text)?
                    || !expect(&mut args, 1, SqlType::Timestamp)?
                {
                    return Ok(Err(args));
                }
                let field = unit(&args, "date_trunc")?;
                let value = args.swap_remove(1);
                call(DateFunc::Trunc(field), vec![value], SqlType::Timestamp)
            }
            ("dateadd" | "date_add", 3) => {
                if !expect(&mut args, 0, SqlType::Text)?
                    || !expect(&mut args, 1, SqlType::BigInt)?
                    || !expect(&mut args, 2, SqlType::Timestamp)?
                {
                    return Ok(Err(args));
                }
                let field = unit(&args, "dateadd")?;
                let value = args
                    .pop()
                    .ok_or_else(|| Error::Internal("dateadd".into()))?;
                let n = args
                    .pop()
                    .ok_or_else(|| Error::Internal("dateadd".into()))?;
                call(DateFunc::DateAdd(field), vec![n, value], SqlType::Timestamp)
            }
            ("datediff" | "date_diff", 3) => {
                if !expect(&mut args, 0, SqlType::Text)?
                    || !expect(&mut args, 1, SqlType::Timestamp)?
                    || !expect(&mut args, 2, SqlType::Timestamp)?
                {
                    return Ok(Err(args));
                }
                let field = unit(&args, "datediff")?;
                let end = args
                    .pop()
                    .ok_or_else(|| Error::Internal("datediff".into()))?;
                let start = args
                    .pop()
                    .ok_or_else(|| Error::Internal("datediff".into()))?;
                call(DateFunc::DateDiff(field), vec![start, end], SqlType::BigInt)
            }
            ("add_months", 2) => {
                if !expect(&mut args, 0, SqlType::Timestamp)?
                    || !expect(&mut args, 1, SqlType::BigInt)?
                {
                    return Ok(Err(args));
                }
                call(DateFunc::AddMonths, args, SqlType::Timestamp)
            }
            ("last_day", 1) => {
                if !expect(&mut args, 0, SqlType::Timestamp)? {
                    return Ok(Err(args));
                }
                let d = self.cast(args.swap_remove(0), SqlType::Date, true, span)?;
                call(DateFunc::LastDay, vec![d], SqlType::Date)
            }
            ("months_between", 2) => {
                if !expect(&mut args, 0, SqlType::Timestamp)?
                    || !expect(&mut args, 1, SqlType::Timestamp)?
                {
                    return Ok(Err(args));
                }
                let mut dates = Vec::with_capacity(2);
                for a in args {
                    dates.push(self.cast(a, SqlType::Date, true, span)?);
                }
                call(DateFunc::MonthsBetween, dates, SqlType::Double)
            }
            ("to_char", 2) if args[0].ty() == SqlType::Interval => {
                if !expect(&mut args, 1, SqlType::Text)? {
                    return Ok(Err(args));
                }
                call(DateFunc::ToCharInterval, args, SqlType::Text)
            }
            ("to_char", 2) if args[0].ty() == SqlType::Timestamptz => {
                if !expect(&mut args, 1, SqlType::Text)? {
                    return Ok(Err(args));
                }
                call(DateFunc::ToCharIn(self.zone()), args, SqlType::Text)
            }
            ("to_char", 2) => {
                let first = args[0].ty();
                if !matches!(first, SqlType::Date | SqlType::Timestamp)
                    || !expect(&mut args, 0, SqlType::Timestamp)?
                    || !expect(&mut args, 1, SqlType::Text)?
                {
                    return Ok(Err(args));
                }
                call(DateFunc::ToChar, args, SqlType::Text)
            }
            ("make_date", 3) | ("make_time", 3) | ("make_timestamp", 6) => {
                // INTEGER fields, and DOUBLE PRECISION seconds for the time.
                let secs = match name {
                    "make_date" => None,
                    _ => Some(args.len() - 1),
                };
                if !self.typed_args(&mut args, secs, span)? {
                    return Ok(Err(args));
                }
                match name {
                    "make_date" => call(DateFunc::MakeDate, args, SqlType::Date),
                    "make_time" => call(DateFunc::MakeTime, args, SqlType::Time),
                    _ => call(DateFunc::MakeTimestamp, args, SqlType::Timestamp),
                }
            }
            ("make_timestamptz", 6 | 7) => {
                let zone = if args.len() == 7 {
                    let z = self.coerce_unknown(args.swap_remove(6), SqlType::Text)?;
                    if !z.ty().is_string() {
                        args.push(z);
                        return Ok(Err(args));
                    }
                    Some(self.cast(z, SqlType::Text, false, span)?)
                } else {
                    None
                };
                if !self.typed_args(&mut args, Some(5), span)? {
                    args.extend(zone);
                    return Ok(Err(args));
                }
                let local = fold(Expr::Function {
                    func: ScalarFunc::Date(DateFunc::MakeTimestamp),
                    args,
                    ty: SqlType::Timestamp,
                });
                // The fields are a local time in the zone given, or the session's. A numeric
                // offset counts east of UTC here (ISO 8601), west in AT TIME ZONE (POSIX).
                Ok(Ok(match zone {
                    Some(Expr::Literal {
                        value: Datum::Text(z),
                        ..
                    }) if z.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-') => {
                        let posix = match z.strip_prefix('-') {
                            Some(rest) => format!("+{rest}"),
                            None => format!("-{}", z.trim_start_matches('+')),
                        };
                        let zone = Expr::literal(Datum::Text(posix), SqlType::Text);
                        self.at_time_zone(local, zone, span)?
                    }
                    Some(zone) => self.at_time_zone(local, zone, span)?,
                    None => self.cast(local, SqlType::Timestamptz, false, span)?,
                }))
            }
            ("make_interval", 0..=7) => {
                // Missing trailing arguments default to zero.
                while args.len() < 7 {
                    args.push(Expr::literal(Datum::Int(0), SqlType::Integer));
                }
                if !self.typed_args(&mut args, Some(6), span)? {
                    return Ok(Err(args));
                }
                interval_call(IntervalFunc::Make, args)
            }
            ("date_bin", 3) => {
                let stride = self.coerce_unknown(args[0].clone(), SqlType::Interval)?;
                if stride.ty() != SqlType::Interval {
                    return Ok(Err(args));
                }
                // timestamptz_bin when either timestamp is one, timestamp_bin otherwise;
                // neither depends on the zone, so both bin the microseconds.
                let zoned = args[1..].iter().any(|a| a.ty() == SqlType::Timestamptz);
                let mut bound = vec![stride];
                for a in &args[1..] {
                    let a = self.coerce_unknown(a.clone(), SqlType::Timestamp)?;
                    let a = match (zoned, a.ty()) {
                        (true, SqlType::Timestamptz) => plain_cast(a, SqlType::Timestamp),
                        (true, SqlType::Date | SqlType::Timestamp) => plain_cast(
                            self.cast(a, SqlType::Timestamptz, false, span)?,
                            SqlType::Timestamp,
                        ),
                        (false, SqlType::Date | SqlType::Timestamp) => {
                            self.cast(a, SqlType::Timestamp, false, span)?
                        }
                        _ => return Ok(Err(args)),
                    };
                    bound.push(a);
                }
                let binned = fold(Expr::Function {
                    func: ScalarFunc::Date(DateFunc::DateBin),
                    args: bound,
                    ty: SqlType::Timestamp,
                });
                Ok(Ok(if zoned {
                    plain_cast(binned, SqlType::Timestamptz)
                } else {
                    binned
                }))
            }
            ("to_timestamp", 1) => {
                let a = self.coerce_unknown(args[0].clone(), SqlType::Double)?;
                if !a.ty().is_numeric() {
                    return Ok(Err(args));
                }
                let seconds = self.cast(a, SqlType::Double, false, span)?;
                let instant = fold(Expr::Function {
                    func: ScalarFunc::Date(DateFunc::FromEpoch),
                    args: vec![seconds],
                    ty: SqlType::Timestamp,
                });
                Ok(Ok(plain_cast(instant, SqlType::Timestamptz)))
            }
            ("isfinite", 1) => {
                let a = &args[0];
                if !matches!(
                    a.ty(),
                    SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz | SqlType::Interval
                ) {
                    return Ok(Err(args));
                }
                // Basalt's dates, timestamps and intervals have no infinite values: every
                // value is finite, and NULL stays NULL.
                Ok(Ok(Expr::Case {
                    whens: vec![(
                        Expr::IsNull {
                            expr: Box::new(args.swap_remove(0)),
                            negated: false,
                        },
                        Expr::literal(Datum::Null, SqlType::Boolean),
                    )],
                    otherwise: Some(Box::new(Expr::literal(
                        Datum::Boolean(true),
                        SqlType::Boolean,
                    ))),
                    ty: SqlType::Boolean,
                }))
            }
            ("to_date", 2) | ("to_timestamp", 2) => {
                if !expect(&mut args, 0, SqlType::Text)? || !expect(&mut args, 1, SqlType::Text)? {
                    return Ok(Err(args));
                }
                if name == "to_date" {
                    call(DateFunc::ToDate, args, SqlType::Date)
                } else {
                    // TIMESTAMPTZ, as in PostgreSQL and Redshift: the fields are a local
                    // time in the session's zone.
                    let local = fold(Expr::Function {
                        func: ScalarFunc::Date(DateFunc::ToTimestamp),
                        args,
                        ty: SqlType::Timestamp,
                    });
                    Ok(Ok(self.cast(local, SqlType::Timestamptz, false, span)?))
                }
            }
            _ => Ok(Err(args)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_input() {
        let p = |s: &str| parse_interval(s, None).unwrap();
        assert_eq!(
            p("1 year 2 mons 3 days"),
            IntervalValue {
                months: 14,
                days: 3,
                micros: 0
            }
        );
        assert_eq!(p("90 days").days, 90);
        assert_eq!(p("-1 week").days, -7);
        assert_eq!(
            p("1.5 days"),
            IntervalValue {
                months: 0,
                days: 1,
                micros: 43_200_000_000
            }
        );
        assert_eq!(p("1 day 01:30").micros, 5_400_000_000);
        assert_eq!(p("2 hours ago").micros, -7_200_000_000);
        assert_eq!(parse_interval("90", Some("day")).unwrap().days, 90);
        assert!(parse_interval("1 fortnight", None).is_err());
        assert!(parse_interval("", None).is_err());
        assert!(parse_interval("99999999999 years", None).is_err());
    }

    #[test]
    fn interval_input_at_the_field_limits() {
        // Input: each field at i32's ends, one past them, and years whose months overflow;
        // the messages tell PostgreSQL's 22015 (a field) from its 22008 (the sum).
        let message = |s: &str| match parse_interval(s, None) {
            Err(Error::InvalidDatetime { message }) => message,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(
            parse_interval("-2147483648 days", None).unwrap().days,
            i32::MIN
        );
        assert_eq!(
            parse_interval("-2147483648 months", None).unwrap().months,
            i32::MIN
        );
        assert_eq!(
            parse_interval("178956970 years 7 months", None)
                .unwrap()
                .months,
            i32::MAX
        );
        assert_eq!(parse_interval("-1.5 years", None).unwrap().months, -18);
        assert!(message("2147483648 days").starts_with("interval field value out of range"));
        assert!(message("2147483648 months").starts_with("interval field value out of range"));
        assert!(message("214748365 decades").starts_with("interval field value out of range"));
        assert_eq!(message("178956971 years"), "interval out of range");
        assert_eq!(message("2147483647 months 1 year"), "interval out of range");
        assert!(message("1e10 days").starts_with("invalid input syntax"));
        assert!(message("nan days").starts_with("invalid input syntax"));
        assert!(message("inf days").starts_with("invalid input syntax"));
    }
}
