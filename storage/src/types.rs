//! SQL column types as the catalog records them, and their Arrow representation.

use arrow_schema::{DataType, Field, IntervalUnit, TimeUnit};
use serde::{Deserialize, Serialize};

/// Largest DECIMAL precision Basalt supports (Redshift and Arrow's `Decimal128` agree).
pub const DECIMAL_PRECISION_MAX: u8 = 38;

/// Longest CHAR/VARCHAR declaration, in bytes (as Redshift).
pub const VARCHAR_LENGTH_MAX: u32 = 65535;

/// The time zone of TIMESTAMPTZ's Arrow type: values are instants, kept in UTC.
pub const TIMESTAMPTZ_ZONE: &str = "+00:00";

/// Microseconds in a day: TIME values lie in `0 ..= TIME_MICROS_MAX` (`24:00:00` included, as in
/// PostgreSQL).
pub const TIME_MICROS_MAX: i64 = 86_400_000_000;

/// A column's SQL type. This is what the catalog persists; the Arrow type used in memory and the
/// PostgreSQL type OID sent to clients both derive from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SqlType {
    SmallInt,
    Integer,
    BigInt,
    /// DECIMAL(precision, scale), stored as Arrow `Decimal128`.
    Decimal {
        precision: u8,
        scale: i8,
    },
    Real,
    Double,
    Boolean,
    /// CHAR(n): blank-padded to `n` bytes.
    Char {
        length: u32,
    },
    /// VARCHAR(n): at most `n` bytes of UTF-8.
    Varchar {
        length: u32,
    },
    /// TEXT / unbounded VARCHAR.
    Text,
    Date,
    /// TIMESTAMP WITHOUT TIME ZONE, microsecond precision.
    Timestamp,
    /// TIME WITHOUT TIME ZONE: microseconds since midnight, `0 ..= 86_400_000_000` (PostgreSQL
    /// accepts `24:00:00`).
    Time,
    /// TIMESTAMP WITH TIME ZONE: an instant, microseconds since 1970-01-01 00:00:00 UTC. The
    /// session's `TimeZone` only changes how it is read and printed.
    Timestamptz,
    /// INTERVAL: months, days and microseconds kept apart, as PostgreSQL keeps them.
    Interval,
    /// A one-dimensional array of `element` values (NULLs allowed), as PostgreSQL's `text[]`
    /// or `integer[]`. A type of expressions and catalog columns: no table column has it, as
    /// Redshift has no array columns either.
    Array {
        element: ArrayElement,
    },
}

/// The element type of an [`SqlType::Array`]. Every scalar type but the bounded strings, whose
/// arrays are arrays of text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "element", rename_all = "snake_case")]
pub enum ArrayElement {
    SmallInt,
    Integer,
    BigInt,
    Decimal {
        precision: u8,
        scale: i8,
    },
    Real,
    Double,
    Boolean,
    Text,
    Date,
    Timestamp,
    /// PostgreSQL's `int2vector` (as `pg_index.indkey`): SMALLINT elements, subscripts from
    /// 0, written `1 3`. Only catalog columns have it.
    Int2Vector,
    /// PostgreSQL's `oidvector` (as `pg_index.indclass`): OIDs (INTEGER in Basalt),
    /// subscripts from 0, written `1978 3124`. Only catalog columns have it.
    OidVector,
}

impl ArrayElement {
    /// The element type of arrays of `t`; `None` for arrays themselves (Basalt's arrays have
    /// one dimension).
    pub fn of(t: SqlType) -> Option<ArrayElement> {
        Some(match t {
            SqlType::SmallInt => ArrayElement::SmallInt,
            SqlType::Integer => ArrayElement::Integer,
            SqlType::BigInt => ArrayElement::BigInt,
            SqlType::Decimal { precision, scale } => ArrayElement::Decimal { precision, scale },
            SqlType::Real => ArrayElement::Real,
            SqlType::Double => ArrayElement::Double,
            SqlType::Boolean => ArrayElement::Boolean,
            SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text => ArrayElement::Text,
            SqlType::Date => ArrayElement::Date,
            SqlType::Timestamp => ArrayElement::Timestamp,
            // Arrays of the newer date/time types are not built yet.
            SqlType::Time | SqlType::Timestamptz | SqlType::Interval => return None,
            SqlType::Array { .. } => return None,
        })
    }

    /// The SQL type of one element.
    pub fn sql_type(self) -> SqlType {
        match self {
            ArrayElement::SmallInt => SqlType::SmallInt,
            ArrayElement::Integer => SqlType::Integer,
            ArrayElement::BigInt => SqlType::BigInt,
            ArrayElement::Decimal { precision, scale } => SqlType::Decimal { precision, scale },
            ArrayElement::Real => SqlType::Real,
            ArrayElement::Double => SqlType::Double,
            ArrayElement::Boolean => SqlType::Boolean,
            ArrayElement::Text => SqlType::Text,
            ArrayElement::Date => SqlType::Date,
            ArrayElement::Timestamp => SqlType::Timestamp,
            ArrayElement::Int2Vector => SqlType::SmallInt,
            ArrayElement::OidVector => SqlType::Integer,
        }
    }

    /// Whether arrays of this kind are PostgreSQL's vectors (`int2vector`, `oidvector`):
    /// subscripts from 0, elements separated by spaces in text.
    pub fn is_vector(self) -> bool {
        matches!(self, ArrayElement::Int2Vector | ArrayElement::OidVector)
    }
}

impl SqlType {
    /// The Arrow type of this column's values in memory.
    pub fn arrow_type(&self) -> DataType {
        match self {
            SqlType::SmallInt => DataType::Int16,
            SqlType::Integer => DataType::Int32,
            SqlType::BigInt => DataType::Int64,
            SqlType::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale),
            SqlType::Real => DataType::Float32,
            SqlType::Double => DataType::Float64,
            SqlType::Boolean => DataType::Boolean,
            SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text => DataType::Utf8,
            SqlType::Date => DataType::Date32,
            SqlType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            SqlType::Time => DataType::Time64(TimeUnit::Microsecond),
            SqlType::Timestamptz => {
                DataType::Timestamp(TimeUnit::Microsecond, Some(TIMESTAMPTZ_ZONE.into()))
            }
            SqlType::Interval => DataType::Interval(IntervalUnit::MonthDayNano),
            SqlType::Array { element } => DataType::List(std::sync::Arc::new(Field::new(
                "item",
                element.sql_type().arrow_type(),
                true,
            ))),
        }
    }

    /// The array type whose elements are of this type (`None` for an array).
    pub fn array_of(self) -> Option<SqlType> {
        ArrayElement::of(self).map(|element| SqlType::Array { element })
    }

    /// True for types whose values are numbers.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            SqlType::SmallInt
                | SqlType::Integer
                | SqlType::BigInt
                | SqlType::Decimal { .. }
                | SqlType::Real
                | SqlType::Double
        )
    }

    /// True for CHAR, VARCHAR and TEXT.
    pub fn is_string(&self) -> bool {
        matches!(
            self,
            SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text
        )
    }

    /// The type as PostgreSQL's `format_type` spells it, e.g. `numeric(12,2)`.
    pub fn pg_name(&self) -> String {
        match self {
            SqlType::SmallInt => "smallint".into(),
            SqlType::Integer => "integer".into(),
            SqlType::BigInt => "bigint".into(),
            SqlType::Decimal { precision, scale } => format!("numeric({precision},{scale})"),
            SqlType::Real => "real".into(),
            SqlType::Double => "double precision".into(),
            SqlType::Boolean => "boolean".into(),
            SqlType::Char { length } => format!("character({length})"),
            SqlType::Varchar { length } => format!("character varying({length})"),
            SqlType::Text => "text".into(),
            SqlType::Date => "date".into(),
            SqlType::Timestamp => "timestamp without time zone".into(),
            SqlType::Time => "time without time zone".into(),
            SqlType::Timestamptz => "timestamp with time zone".into(),
            SqlType::Interval => "interval".into(),
            SqlType::Array {
                element: ArrayElement::Int2Vector,
            } => "int2vector".into(),
            SqlType::Array {
                element: ArrayElement::OidVector,
            } => "oidvector".into(),
            SqlType::Array { element } => format!("{}[]", element.sql_type().pg_name()),
        }
    }
}

impl std::fmt::Display for SqlType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.pg_name())
    }
}
