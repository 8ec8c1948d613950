//! SQL types in the engine: values (`Datum`), type rules for operators, and conversions.

pub mod datum;
pub mod range;
pub mod temporal;

use basalt_storage::SqlType;

pub use datum::Datum;

/// Scale of a NUMERIC result whose scale PostgreSQL would choose from the values (division,
/// AVG). PostgreSQL picks it per value to keep at least 16 significant digits; a column needs one
/// scale, so Basalt uses 16, which PostgreSQL also gives for operands of similar magnitude.
pub const NUMERIC_DIVISION_SCALE: i8 = 16;

/// Precision of computed NUMERIC values (no declared typmod).
pub const NUMERIC_PRECISION: u8 = 38;

/// Position of a numeric type in PostgreSQL's implicit-promotion order.
pub fn numeric_rank(t: SqlType) -> Option<u8> {
    Some(match t {
        SqlType::SmallInt => 1,
        SqlType::Integer => 2,
        SqlType::BigInt => 3,
        SqlType::Decimal { .. } => 4,
        SqlType::Real => 5,
        SqlType::Double => 6,
        _ => return None,
    })
}

/// A computed NUMERIC type of the given scale.
pub fn numeric(scale: i8) -> SqlType {
    SqlType::Decimal {
        precision: NUMERIC_PRECISION,
        scale: scale.clamp(0, NUMERIC_PRECISION as i8),
    }
}

/// The scale a type has when promoted to NUMERIC.
pub fn decimal_scale(t: SqlType) -> i8 {
    match t {
        SqlType::Decimal { scale, .. } => scale,
        _ => 0,
    }
}

/// The type two values are converted to so they can be compared or combined (CASE branches,
/// COALESCE, UNION), following PostgreSQL's implicit casts. `None` when no implicit cast exists.
pub fn common_type(a: SqlType, b: SqlType) -> Option<SqlType> {
    if a == b {
        return Some(a);
    }
    if let (Some(ra), Some(rb)) = (numeric_rank(a), numeric_rank(b)) {
        let hi = if ra >= rb { a } else { b };
        return Some(match hi {
            SqlType::Decimal { .. } => numeric(decimal_scale(a).max(decimal_scale(b))),
            other => other,
        });
    }
    if a.is_string() && b.is_string() {
        return Some(SqlType::Text);
    }
    match (a, b) {
        (SqlType::Date, SqlType::Timestamp) | (SqlType::Timestamp, SqlType::Date) => {
            Some(SqlType::Timestamp)
        }
        (SqlType::Date | SqlType::Timestamp, SqlType::Timestamptz)
        | (SqlType::Timestamptz, SqlType::Date | SqlType::Timestamp) => Some(SqlType::Timestamptz),
        _ => None,
    }
}

/// True if values of `from` convert to `to` implicitly (in expressions, not just assignment).
pub fn implicit_cast(from: SqlType, to: SqlType) -> bool {
    if from == to {
        return true;
    }
    if let (SqlType::Array { element: f }, SqlType::Array { element: t }) = (from, to) {
        return implicit_cast(f.sql_type(), t.sql_type());
    }
    match (numeric_rank(from), numeric_rank(to)) {
        (Some(f), Some(t)) => return f <= t,
        (Some(_), None) | (None, Some(_)) => return false,
        _ => {}
    }
    (from.is_string() && to.is_string())
        || matches!(
            (from, to),
            (SqlType::Date, SqlType::Timestamp)
                | (SqlType::Date | SqlType::Timestamp, SqlType::Timestamptz)
        )
}

/// True if an assignment (INSERT, UPDATE) may convert `from` into a column of type `to`.
pub fn assignment_cast(from: SqlType, to: SqlType) -> bool {
    implicit_cast(from, to)
        || (numeric_rank(from).is_some() && numeric_rank(to).is_some())
        || to.is_string()
        || matches!(
            (from, to),
            (SqlType::Timestamp, SqlType::Date)
                | (
                    SqlType::Timestamptz,
                    SqlType::Date | SqlType::Timestamp | SqlType::Time
                )
                | (SqlType::Timestamp, SqlType::Time)
        )
}

/// True if an explicit CAST from `from` to `to` exists.
pub fn explicit_cast(from: SqlType, to: SqlType) -> bool {
    if let (SqlType::Array { element: f }, SqlType::Array { element: t }) = (from, to) {
        return explicit_cast(f.sql_type(), t.sql_type());
    }
    assignment_cast(from, to)
        || from.is_string()
        || matches!(
            (from, to),
            (SqlType::Boolean, SqlType::Integer)
                | (SqlType::Integer, SqlType::Boolean)
                | (SqlType::BigInt, SqlType::Boolean)
                | (SqlType::SmallInt, SqlType::Boolean)
        )
}

/// PostgreSQL's short internal type name, used as a column name for `expr::type`.
pub fn short_name(t: SqlType) -> &'static str {
    match t {
        SqlType::SmallInt => "int2",
        SqlType::Integer => "int4",
        SqlType::BigInt => "int8",
        SqlType::Decimal { .. } => "numeric",
        SqlType::Real => "float4",
        SqlType::Double => "float8",
        SqlType::Boolean => "bool",
        SqlType::Char { .. } => "bpchar",
        SqlType::Varchar { .. } => "varchar",
        SqlType::Text => "text",
        SqlType::Date => "date",
        SqlType::Timestamp => "timestamp",
        SqlType::Time => "time",
        SqlType::Timestamptz => "timestamptz",
        SqlType::Interval => "interval",
        SqlType::Array {
            element: basalt_storage::types::ArrayElement::Int2Vector,
        } => "int2vector",
        SqlType::Array {
            element: basalt_storage::types::ArrayElement::OidVector,
        } => "oidvector",
        SqlType::Array { element } => match element.sql_type() {
            SqlType::Array { .. } => "anyarray",
            e => array_short_name(e),
        },
    }
}

/// PostgreSQL's name of the array type of `t` (`_int4` for `integer`).
fn array_short_name(t: SqlType) -> &'static str {
    match t {
        SqlType::SmallInt => "_int2",
        SqlType::Integer => "_int4",
        SqlType::BigInt => "_int8",
        SqlType::Decimal { .. } => "_numeric",
        SqlType::Real => "_float4",
        SqlType::Double => "_float8",
        SqlType::Boolean => "_bool",
        SqlType::Char { .. } => "_bpchar",
        SqlType::Varchar { .. } => "_varchar",
        SqlType::Date => "_date",
        SqlType::Timestamp => "_timestamp",
        SqlType::Time => "_time",
        SqlType::Timestamptz => "_timestamptz",
        SqlType::Interval => "_interval",
        SqlType::Text | SqlType::Array { .. } => "_text",
    }
}

/// The name PostgreSQL uses for a type in error messages (`integer`, `text`, `numeric` ...).
pub fn display_name(t: SqlType) -> String {
    match t {
        SqlType::Decimal { .. } => "numeric".to_string(),
        SqlType::Char { .. } => "character".to_string(),
        SqlType::Varchar { .. } => "character varying".to_string(),
        other => other.pg_name(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Pairs of types and the type PostgreSQL resolves them to.
    #[test]
    fn common_types_follow_postgres() {
        assert_eq!(
            common_type(SqlType::Integer, SqlType::BigInt),
            Some(SqlType::BigInt)
        );
        assert_eq!(
            common_type(
                SqlType::Integer,
                SqlType::Decimal {
                    precision: 10,
                    scale: 2
                }
            ),
            Some(numeric(2))
        );
        assert_eq!(
            common_type(SqlType::Real, SqlType::Integer),
            Some(SqlType::Real)
        );
        assert_eq!(common_type(SqlType::Text, SqlType::Integer), None);
        assert_eq!(
            common_type(SqlType::Varchar { length: 3 }, SqlType::Char { length: 2 }),
            Some(SqlType::Text)
        );
    }
}
