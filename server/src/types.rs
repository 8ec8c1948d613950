//! SQL types on the wire: the PostgreSQL type OID, size and modifier each [`SqlType`] is sent as.
//!
//! These are the values PostgreSQL itself puts in a RowDescription for a table column of the
//! same declared type, so clients (psql aligns numbers right by OID, JDBC reads precision and
//! scale from the modifier) behave as they do against PostgreSQL.

use basalt_engine::{ResultColumn, SqlType};
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::api::Type;
use pgwire::messages::data::FieldDescription;

/// PostgreSQL's `VARHDRSZ`, which type modifiers of variable-length types include.
const VARHDRSZ: i32 = 4;

/// Type OIDs from PostgreSQL's `pg_type.dat` that the server reads or writes.
pub mod oid {
    /// `bool`
    pub const BOOL: u32 = 16;
    /// `name`
    pub const NAME: u32 = 19;
    /// `int8`
    pub const INT8: u32 = 20;
    /// `int2`
    pub const INT2: u32 = 21;
    /// `int4`
    pub const INT4: u32 = 23;
    /// `text`
    pub const TEXT: u32 = 25;
    /// `float4`
    pub const FLOAT4: u32 = 700;
    /// `float8`
    pub const FLOAT8: u32 = 701;
    /// `unknown`: an untyped literal or parameter.
    pub const UNKNOWN: u32 = 705;
    /// `bpchar`: CHAR(n).
    pub const BPCHAR: u32 = 1042;
    /// `varchar`
    pub const VARCHAR: u32 = 1043;
    /// `date`
    pub const DATE: u32 = 1082;
    /// `timestamp` (without time zone)
    pub const TIMESTAMP: u32 = 1114;
    /// `time` (without time zone)
    pub const TIME: u32 = 1083;
    /// `timestamptz`
    pub const TIMESTAMPTZ: u32 = 1184;
    /// `interval`
    pub const INTERVAL: u32 = 1186;
    /// `numeric`
    pub const NUMERIC: u32 = 1700;
}

/// The PostgreSQL type a value of `ty` is sent as.
pub fn pg_type(ty: SqlType) -> Type {
    match ty {
        SqlType::SmallInt => Type::INT2,
        SqlType::Integer => Type::INT4,
        SqlType::BigInt => Type::INT8,
        SqlType::Decimal { .. } => Type::NUMERIC,
        SqlType::Real => Type::FLOAT4,
        SqlType::Double => Type::FLOAT8,
        SqlType::Boolean => Type::BOOL,
        SqlType::Char { .. } => Type::BPCHAR,
        SqlType::Varchar { .. } => Type::VARCHAR,
        SqlType::Text => Type::TEXT,
        SqlType::Date => Type::DATE,
        SqlType::Timestamp => Type::TIMESTAMP,
        SqlType::Time => Type::TIME,
        SqlType::Timestamptz => Type::TIMESTAMPTZ,
        SqlType::Interval => Type::INTERVAL,
        SqlType::Array {
            element: basalt_storage::types::ArrayElement::Int2Vector,
        } => Type::INT2_VECTOR,
        SqlType::Array {
            element: basalt_storage::types::ArrayElement::OidVector,
        } => Type::OID_VECTOR,
        SqlType::Array { element } => match pg_type(element.sql_type()) {
            t if t == Type::INT2 => Type::INT2_ARRAY,
            t if t == Type::INT4 => Type::INT4_ARRAY,
            t if t == Type::INT8 => Type::INT8_ARRAY,
            t if t == Type::NUMERIC => Type::NUMERIC_ARRAY,
            t if t == Type::FLOAT4 => Type::FLOAT4_ARRAY,
            t if t == Type::FLOAT8 => Type::FLOAT8_ARRAY,
            t if t == Type::BOOL => Type::BOOL_ARRAY,
            t if t == Type::DATE => Type::DATE_ARRAY,
            t if t == Type::TIMESTAMP => Type::TIMESTAMP_ARRAY,
            _ => Type::TEXT_ARRAY,
        },
    }
}

/// `pg_type.typlen`: the fixed width in bytes, or -1 for variable-width types.
pub fn type_size(ty: SqlType) -> i16 {
    match ty {
        SqlType::SmallInt => 2,
        SqlType::Integer | SqlType::Real | SqlType::Date => 4,
        SqlType::BigInt
        | SqlType::Double
        | SqlType::Timestamp
        | SqlType::Timestamptz
        | SqlType::Time => 8,
        SqlType::Interval => 16,
        SqlType::Boolean => 1,
        SqlType::Decimal { .. }
        | SqlType::Char { .. }
        | SqlType::Varchar { .. }
        | SqlType::Text
        | SqlType::Array { .. } => -1,
    }
}

/// `pg_attribute.atttypmod`: precision and scale of a NUMERIC, length of a CHAR or VARCHAR,
/// -1 for types without a modifier.
pub fn type_modifier(ty: SqlType) -> i32 {
    match ty {
        // PostgreSQL 15 keeps a (possibly negative) scale in the low 11 bits.
        SqlType::Decimal { precision, scale } => {
            ((i32::from(precision) << 16) | (i32::from(scale) & 0x7ff)) + VARHDRSZ
        }
        SqlType::Char { length } | SqlType::Varchar { length } => i32::try_from(length)
            .ok()
            .and_then(|n| n.checked_add(VARHDRSZ))
            .unwrap_or(-1),
        _ => -1,
    }
}

/// The result format codes of a Bind message, resolved per column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ResultFormats {
    /// Every column as text (no codes, or one code 0).
    #[default]
    AllText,
    /// Every column in binary (one code 1).
    AllBinary,
    /// One code per column.
    PerColumn(Vec<FieldFormat>),
}

impl ResultFormats {
    /// Reads Bind's format codes; the caller has checked they are 0 or 1 and as many as allowed.
    pub fn from_codes(codes: &[i16]) -> Self {
        match codes {
            [] => ResultFormats::AllText,
            [one] => match FieldFormat::from(*one) {
                FieldFormat::Text => ResultFormats::AllText,
                FieldFormat::Binary => ResultFormats::AllBinary,
            },
            many => ResultFormats::PerColumn(many.iter().map(|c| FieldFormat::from(*c)).collect()),
        }
    }

    /// The format of column `index` (text for a column the codes do not cover).
    pub fn format(&self, index: usize) -> FieldFormat {
        match self {
            ResultFormats::AllText => FieldFormat::Text,
            ResultFormats::AllBinary => FieldFormat::Binary,
            ResultFormats::PerColumn(formats) => {
                formats.get(index).copied().unwrap_or(FieldFormat::Text)
            }
        }
    }
}

/// The RowDescription entries for `columns`, with each column's format.
pub fn field_infos(columns: &[ResultColumn], formats: &ResultFormats) -> Vec<FieldInfo> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            FieldInfo::new(
                c.name.clone(),
                // An OID goes out as its four bytes, which pgwire takes as an i32.
                c.origin.map(|o| o.table as i32),
                c.origin.map(|o| o.column),
                pg_type(c.ty),
                formats.format(i),
            )
            .with_type_size(type_size(c.ty))
            .with_type_modifier(type_modifier(c.ty))
        })
        .collect()
}

/// The RowDescription message fields for `columns`.
pub fn field_descriptions(
    columns: &[ResultColumn],
    formats: &ResultFormats,
) -> Vec<FieldDescription> {
    field_infos(columns, formats)
        .iter()
        .map(FieldDescription::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Sizes and modifiers as PostgreSQL 15 describes columns declared with these types.
    #[test]
    fn row_description_matches_postgres() {
        let numeric = SqlType::Decimal {
            precision: 12,
            scale: 2,
        };
        assert_eq!(pg_type(numeric).oid(), 1700);
        assert_eq!(type_size(numeric), -1);
        assert_eq!(type_modifier(numeric), 786_438);
        assert_eq!(type_modifier(SqlType::Varchar { length: 10 }), 14);
        assert_eq!(type_modifier(SqlType::Char { length: 3 }), 7);
        assert_eq!(pg_type(SqlType::Char { length: 3 }).oid(), 1042);
        assert_eq!(pg_type(SqlType::Varchar { length: 3 }).oid(), 1043);
        assert_eq!(type_modifier(SqlType::Integer), -1);
        assert_eq!(type_size(SqlType::SmallInt), 2);
        assert_eq!(type_size(SqlType::Timestamp), 8);
        assert_eq!(type_size(SqlType::Boolean), 1);
        assert_eq!(type_size(SqlType::Text), -1);
        assert_eq!(pg_type(SqlType::Timestamp).oid(), 1114);
        assert_eq!(pg_type(SqlType::Date).oid(), 1082);
    }

    // The named OIDs agree with the wire types.
    #[test]
    fn oids_match_types() {
        assert_eq!(Type::BOOL.oid(), oid::BOOL);
        assert_eq!(Type::NAME.oid(), oid::NAME);
        assert_eq!(Type::INT8.oid(), oid::INT8);
        assert_eq!(Type::INT2.oid(), oid::INT2);
        assert_eq!(Type::INT4.oid(), oid::INT4);
        assert_eq!(Type::TEXT.oid(), oid::TEXT);
        assert_eq!(Type::FLOAT4.oid(), oid::FLOAT4);
        assert_eq!(Type::FLOAT8.oid(), oid::FLOAT8);
        assert_eq!(Type::UNKNOWN.oid(), oid::UNKNOWN);
        assert_eq!(Type::BPCHAR.oid(), oid::BPCHAR);
        assert_eq!(Type::VARCHAR.oid(), oid::VARCHAR);
        assert_eq!(Type::DATE.oid(), oid::DATE);
        assert_eq!(Type::TIMESTAMP.oid(), oid::TIMESTAMP);
        assert_eq!(Type::TIME.oid(), oid::TIME);
        assert_eq!(Type::TIMESTAMPTZ.oid(), oid::TIMESTAMPTZ);
        assert_eq!(Type::INTERVAL.oid(), oid::INTERVAL);
        assert_eq!(pg_type(SqlType::Time).oid(), 1083);
        assert_eq!(pg_type(SqlType::Timestamptz).oid(), 1184);
        assert_eq!(pg_type(SqlType::Interval).oid(), 1186);
        assert_eq!(type_size(SqlType::Interval), 16);
        assert_eq!(Type::NUMERIC.oid(), oid::NUMERIC);
    }

    // Bind format codes: none, one for all, one per column.
    #[test]
    fn result_formats_resolve_per_column() {
        assert_eq!(ResultFormats::from_codes(&[]).format(3), FieldFormat::Text);
        assert_eq!(
            ResultFormats::from_codes(&[1]).format(3),
            FieldFormat::Binary
        );
        let per = ResultFormats::from_codes(&[0, 1]);
        assert_eq!(per.format(0), FieldFormat::Text);
        assert_eq!(per.format(1), FieldFormat::Binary);
        assert_eq!(per.format(2), FieldFormat::Text);
    }
}
