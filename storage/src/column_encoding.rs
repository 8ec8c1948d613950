//! Per-column encoding preferences, named after Redshift's `ENCODE` keywords so the engine can
//! map `CREATE TABLE ... ENCODE <keyword>` onto them one to one.
//!
//! A preference narrows what the segment writer may choose per block; it never changes how a
//! block is read, because every block records its own encoding and compression. Where the
//! preferred encoding cannot encode a block (a dictionary over a column of booleans), or its
//! analysis says it does not pay (runs averaging under two rows), the writer falls back to PLAIN.
//!
//! | Keyword        | Block encodings the writer may pick    | Compression                  | SQL types accepted                              |
//! |----------------|----------------------------------------|------------------------------|-------------------------------------------------|
//! | AUTO (default) | PLAIN, FRAME_OF_REFERENCE, RUN_LENGTH, DICTIONARY | LZ4, or ZSTD when it pays a quarter more | all |
//! | RAW            | PLAIN                                  | none                         | all                                             |
//! | BYTEDICT       | DICTIONARY (else PLAIN)                | LZ4 when it pays             | all but BOOLEAN                                 |
//! | DELTA          | FRAME_OF_REFERENCE (else PLAIN)        | LZ4 when it pays             | SMALLINT, INTEGER, BIGINT, DECIMAL, DATE, TIMESTAMP |
//! | DELTA32K       | FRAME_OF_REFERENCE (else PLAIN)        | LZ4 when it pays             | INTEGER, BIGINT, DECIMAL, DATE, TIMESTAMP       |
//! | MOSTLY8        | FRAME_OF_REFERENCE (else PLAIN)        | LZ4 when it pays             | SMALLINT, INTEGER, BIGINT, DECIMAL              |
//! | MOSTLY16       | FRAME_OF_REFERENCE (else PLAIN)        | LZ4 when it pays             | INTEGER, BIGINT, DECIMAL                        |
//! | MOSTLY32       | FRAME_OF_REFERENCE (else PLAIN)        | LZ4 when it pays             | BIGINT, DECIMAL                                 |
//! | RUNLENGTH      | RUN_LENGTH (else PLAIN)                | LZ4 when it pays             | all                                             |
//! | TEXT255        | DICTIONARY (else PLAIN)                | LZ4 when it pays             | VARCHAR, TEXT                                   |
//! | TEXT32K        | DICTIONARY (else PLAIN)                | LZ4 when it pays             | VARCHAR, TEXT                                   |
//! | ZSTD           | as AUTO                                | ZSTD when it saves anything  | all                                             |
//! | LZO            | PLAIN                                  | LZ4 when it pays             | all but BOOLEAN, REAL, DOUBLE PRECISION         |
//! | AZ64           | FRAME_OF_REFERENCE (else PLAIN)        | LZ4 when it pays             | SMALLINT, INTEGER, BIGINT, DECIMAL, DATE, TIMESTAMP, TIMESTAMPTZ, TIME, INTERVAL |
//!
//! Basalt's frame of reference adapts its bit width per block, so DELTA, DELTA32K and the
//! MOSTLYn widths all choose the same encoding; they differ only in the types Redshift accepts.
//!
//! For the types Redshift has, the table is Redshift's; TIME and INTERVAL, which Redshift's
//! table does not list, are accepted wherever the encoding applies to their values (AZ64,
//! BYTEDICT, LZO, RUNLENGTH, ZSTD). Data directories written before LZO was refused for
//! BOOLEAN, REAL and DOUBLE PRECISION may hold such columns; [`ColumnEncoding::check_stored`]
//! still reads them.

use serde::{Deserialize, Serialize};

use crate::segment::compression::CompressionPolicy;
use crate::segment::encoding::Encoding;
use crate::types::SqlType;

/// A column's encoding preference (Redshift's `ENCODE` keyword). See the module docs for what
/// each one allows and accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnEncoding {
    /// The writer chooses per block.
    #[default]
    Auto,
    Raw,
    Bytedict,
    Delta,
    Delta32k,
    Mostly8,
    Mostly16,
    Mostly32,
    Runlength,
    Text255,
    Text32k,
    Zstd,
    /// LZ4 stands in for LZO.
    Lzo,
    /// Frame of reference plus LZ4.
    Az64,
}

impl ColumnEncoding {
    /// Every preference, for exhaustive checks.
    pub const ALL: [ColumnEncoding; 14] = [
        ColumnEncoding::Auto,
        ColumnEncoding::Raw,
        ColumnEncoding::Bytedict,
        ColumnEncoding::Delta,
        ColumnEncoding::Delta32k,
        ColumnEncoding::Mostly8,
        ColumnEncoding::Mostly16,
        ColumnEncoding::Mostly32,
        ColumnEncoding::Runlength,
        ColumnEncoding::Text255,
        ColumnEncoding::Text32k,
        ColumnEncoding::Zstd,
        ColumnEncoding::Lzo,
        ColumnEncoding::Az64,
    ];

    /// The preference an `ENCODE` keyword names (case-insensitive), or `None`.
    pub fn from_keyword(keyword: &str) -> Option<ColumnEncoding> {
        ColumnEncoding::ALL
            .into_iter()
            .find(|e| e.keyword().eq_ignore_ascii_case(keyword))
    }

    /// The Redshift keyword, upper case.
    pub fn keyword(self) -> &'static str {
        match self {
            ColumnEncoding::Auto => "AUTO",
            ColumnEncoding::Raw => "RAW",
            ColumnEncoding::Bytedict => "BYTEDICT",
            ColumnEncoding::Delta => "DELTA",
            ColumnEncoding::Delta32k => "DELTA32K",
            ColumnEncoding::Mostly8 => "MOSTLY8",
            ColumnEncoding::Mostly16 => "MOSTLY16",
            ColumnEncoding::Mostly32 => "MOSTLY32",
            ColumnEncoding::Runlength => "RUNLENGTH",
            ColumnEncoding::Text255 => "TEXT255",
            ColumnEncoding::Text32k => "TEXT32K",
            ColumnEncoding::Zstd => "ZSTD",
            ColumnEncoding::Lzo => "LZO",
            ColumnEncoding::Az64 => "AZ64",
        }
    }

    /// Whether a column of type `ty` may use this encoding; the error is the message to report,
    /// as Redshift rejects, for example, `BOOLEAN ENCODE BYTEDICT`.
    pub fn check(&self, ty: SqlType) -> Result<(), String> {
        use SqlType as T;
        let accepted = match self {
            ColumnEncoding::Auto
            | ColumnEncoding::Raw
            | ColumnEncoding::Runlength
            | ColumnEncoding::Zstd => true,
            ColumnEncoding::Bytedict => ty != T::Boolean,
            // Redshift's LZO takes neither BOOLEAN nor the floating-point types.
            ColumnEncoding::Lzo => !matches!(ty, T::Boolean | T::Real | T::Double),
            ColumnEncoding::Delta => matches!(
                ty,
                T::SmallInt | T::Integer | T::BigInt | T::Decimal { .. } | T::Date | T::Timestamp
            ),
            // Redshift's AZ64 also takes TIME and TIMESTAMPTZ; Basalt's INTERVAL packs into one
            // integer, so the frame of reference fits it too.
            ColumnEncoding::Az64 => matches!(
                ty,
                T::SmallInt
                    | T::Integer
                    | T::BigInt
                    | T::Decimal { .. }
                    | T::Date
                    | T::Timestamp
                    | T::Timestamptz
                    | T::Time
                    | T::Interval
            ),
            ColumnEncoding::Delta32k => matches!(
                ty,
                T::Integer | T::BigInt | T::Decimal { .. } | T::Date | T::Timestamp
            ),
            ColumnEncoding::Mostly8 => {
                matches!(ty, T::SmallInt | T::Integer | T::BigInt | T::Decimal { .. })
            }
            ColumnEncoding::Mostly16 => matches!(ty, T::Integer | T::BigInt | T::Decimal { .. }),
            ColumnEncoding::Mostly32 => matches!(ty, T::BigInt | T::Decimal { .. }),
            ColumnEncoding::Text255 | ColumnEncoding::Text32k => {
                matches!(ty, T::Varchar { .. } | T::Text)
            }
        };
        if accepted {
            Ok(())
        } else {
            Err(format!(
                "invalid encoding type {} for column type {ty}",
                self.keyword()
            ))
        }
    }

    /// Whether a manifest may hold this preference for a column of type `ty`: what [`check`]
    /// accepts, and LZO on any type, as CREATE TABLE accepted it before it followed Redshift's
    /// table there. The writer can encode every type under LZO (PLAIN blocks).
    ///
    /// [`check`]: ColumnEncoding::check
    pub fn check_stored(&self, ty: SqlType) -> Result<(), String> {
        match self {
            ColumnEncoding::Lzo => Ok(()),
            _ => self.check(ty),
        }
    }

    /// The block encodings the writer may choose among.
    pub(crate) fn encodings(self) -> &'static [Encoding] {
        match self {
            ColumnEncoding::Auto | ColumnEncoding::Zstd => &Encoding::ALL,
            ColumnEncoding::Raw | ColumnEncoding::Lzo => &[Encoding::Plain],
            ColumnEncoding::Bytedict | ColumnEncoding::Text255 | ColumnEncoding::Text32k => {
                &[Encoding::Dictionary]
            }
            ColumnEncoding::Delta
            | ColumnEncoding::Delta32k
            | ColumnEncoding::Mostly8
            | ColumnEncoding::Mostly16
            | ColumnEncoding::Mostly32
            | ColumnEncoding::Az64 => &[Encoding::FrameOfReference],
            ColumnEncoding::Runlength => &[Encoding::RunLength],
        }
    }

    /// The compressions the writer may use.
    pub(crate) fn compression(self) -> CompressionPolicy {
        match self {
            ColumnEncoding::Auto => CompressionPolicy::Auto,
            ColumnEncoding::Raw => CompressionPolicy::None,
            ColumnEncoding::Zstd => CompressionPolicy::Zstd,
            _ => CompressionPolicy::Lz4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_round_trip_and_types_are_checked() {
        // Input: every keyword in lower case, and a few type / encoding pairs Redshift rejects
        // or accepts.
        for e in ColumnEncoding::ALL {
            assert_eq!(
                ColumnEncoding::from_keyword(&e.keyword().to_lowercase()),
                Some(e)
            );
        }
        assert_eq!(ColumnEncoding::from_keyword("lz5"), None);
        assert!(ColumnEncoding::Bytedict.check(SqlType::Boolean).is_err());
        assert!(ColumnEncoding::Delta.check(SqlType::Text).is_err());
        assert!(ColumnEncoding::Mostly32.check(SqlType::Integer).is_err());
        assert!(ColumnEncoding::Text255.check(SqlType::Integer).is_err());
        assert!(ColumnEncoding::Text255
            .check(SqlType::Varchar { length: 10 })
            .is_ok());
        assert!(ColumnEncoding::Az64.check(SqlType::Date).is_ok());
        assert!(ColumnEncoding::Az64.check(SqlType::Timestamptz).is_ok());
        assert!(ColumnEncoding::Az64.check(SqlType::Interval).is_ok());
        assert!(ColumnEncoding::Delta.check(SqlType::Time).is_err());
        assert!(ColumnEncoding::Mostly8.check(SqlType::Interval).is_err());
        assert!(ColumnEncoding::Bytedict.check(SqlType::Interval).is_ok());
        assert!(ColumnEncoding::Runlength.check(SqlType::Boolean).is_ok());
        assert!(ColumnEncoding::Lzo.check(SqlType::Double).is_err());
        assert!(ColumnEncoding::Lzo.check_stored(SqlType::Double).is_ok());
        assert!(ColumnEncoding::Bytedict
            .check_stored(SqlType::Boolean)
            .is_err());
        // The manifest spells each preference as its keyword in lower case.
        for e in ColumnEncoding::ALL {
            let json = format!("\"{}\"", e.keyword().to_lowercase());
            assert_eq!(serde_json::to_string(&e).unwrap(), json);
        }
    }

    #[test]
    fn accepted_types_follow_redshifts_compatibility_table() {
        // Input: Redshift's table of encodings and the data types each accepts ("Compression
        // encodings", Amazon Redshift Database Developer Guide), for every Redshift type Basalt
        // has, against every keyword.
        use SqlType as T;
        let types = [
            ("SMALLINT", T::SmallInt),
            ("INTEGER", T::Integer),
            ("BIGINT", T::BigInt),
            (
                "DECIMAL",
                T::Decimal {
                    precision: 38,
                    scale: 2,
                },
            ),
            ("REAL", T::Real),
            ("DOUBLE PRECISION", T::Double),
            ("BOOLEAN", T::Boolean),
            ("CHAR", T::Char { length: 5 }),
            ("VARCHAR", T::Varchar { length: 300 }),
            ("DATE", T::Date),
            ("TIMESTAMP", T::Timestamp),
            ("TIMESTAMPTZ", T::Timestamptz),
        ];
        let all =
            "SMALLINT INTEGER BIGINT DECIMAL REAL DOUBLE PRECISION BOOLEAN CHAR VARCHAR DATE \
                   TIMESTAMP TIMESTAMPTZ";
        let table = [
            (ColumnEncoding::Auto, all),
            (ColumnEncoding::Raw, all),
            (
                ColumnEncoding::Az64,
                "SMALLINT INTEGER BIGINT DECIMAL DATE TIMESTAMP TIMESTAMPTZ",
            ),
            (
                ColumnEncoding::Bytedict,
                "SMALLINT INTEGER BIGINT DECIMAL REAL DOUBLE PRECISION CHAR VARCHAR DATE \
                 TIMESTAMP TIMESTAMPTZ",
            ),
            (
                ColumnEncoding::Delta,
                "SMALLINT INTEGER BIGINT DATE TIMESTAMP DECIMAL",
            ),
            (
                ColumnEncoding::Delta32k,
                "INTEGER BIGINT DATE TIMESTAMP DECIMAL",
            ),
            (
                ColumnEncoding::Lzo,
                "SMALLINT INTEGER BIGINT DECIMAL CHAR VARCHAR DATE TIMESTAMP TIMESTAMPTZ",
            ),
            (ColumnEncoding::Mostly8, "SMALLINT INTEGER BIGINT DECIMAL"),
            (ColumnEncoding::Mostly16, "INTEGER BIGINT DECIMAL"),
            (ColumnEncoding::Mostly32, "BIGINT DECIMAL"),
            (ColumnEncoding::Runlength, all),
            (ColumnEncoding::Text255, "VARCHAR"),
            (ColumnEncoding::Text32k, "VARCHAR"),
            (ColumnEncoding::Zstd, all),
        ];
        assert_eq!(table.len(), ColumnEncoding::ALL.len());
        for (encoding, accepted) in table {
            // "DOUBLE PRECISION" is one name; the others are single words.
            let accepted = accepted.replace("DOUBLE PRECISION", "DOUBLE_PRECISION");
            let accepted: Vec<&str> = accepted.split_whitespace().collect();
            for (name, ty) in types {
                let listed = accepted.contains(&name.replace(' ', "_").as_str());
                assert_eq!(
                    encoding.check(ty).is_ok(),
                    listed,
                    "{} for {name}",
                    encoding.keyword()
                );
            }
        }
    }
}
