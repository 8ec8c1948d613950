//! SQL column types as the catalog records them, and their Arrow representation.

use arrow_schema::{DataType, TimeUnit};
use serde::{Deserialize, Serialize};

/// Largest DECIMAL precision Basalt supports (Redshift and Arrow's `Decimal128` agree).
pub const DECIMAL_PRECISION_MAX: u8 = 38;

/// Longest CHAR/VARCHAR declaration, in bytes (as Redshift).
pub const VARCHAR_LENGTH_MAX: u32 = 65535;

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
        }
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
        }
    }
}

impl std::fmt::Display for SqlType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.pg_name())
    }
}
