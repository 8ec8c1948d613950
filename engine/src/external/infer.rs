//! The columns of an external table created without a column list, found in its files as a
//! Glue crawler finds them:
//!
//! - Parquet: the first file's schema, each Arrow type mapped to its SQL type.
//! - Delimited text and CSV: the first [`SAMPLE_ROWS_MAX`] rows of the first file. Each
//!   column takes the narrowest of BIGINT, NUMERIC, DOUBLE PRECISION, DATE, TIMESTAMP and
//!   BOOLEAN that reads every sampled value, else VARCHAR(65535); NULL markers and empty
//!   fields fit any type. The first row is a header when every field of it is text that does
//!   not fit the type its column takes from the other rows (and some column is not text);
//!   its fields name the columns, otherwise they are `col0`, `col1`, ...
//! - JSON: the keys of the first sampled objects, in the order first seen, in lower case;
//!   numbers, booleans and strings typed as for text, objects and arrays VARCHAR.
//!
//! Partition columns are the `key=value` directories above the first file, their types
//! taken from the values of every partition directory.

use arrow_schema::{DataType, IntervalUnit};
use basalt_storage::{ColumnDef, ColumnEncoding, ExternalTable, SqlType};

use crate::copy::files::FileStore;
use crate::copy::text::{Layout, Splitter};
use crate::error::{Error, Result};
use crate::external::source::{compression_of, layout, list_files, partition_dirs, FileFormat};

/// Rows (or JSON objects) sampled for types.
pub const SAMPLE_ROWS_MAX: usize = 1000;

/// A string column's type when the files say nothing narrower, as Spectrum reads `string`.
const TEXT_TYPE: SqlType = SqlType::Varchar {
    length: basalt_storage::types::VARCHAR_LENGTH_MAX,
};

/// What the files say about a table's columns.
#[derive(Debug)]
pub struct Inferred {
    pub columns: Vec<ColumnDef>,
    pub partition_columns: Vec<ColumnDef>,
    /// The first line of the text files is a header.
    pub header: bool,
}

fn column(name: String, ty: SqlType) -> ColumnDef {
    ColumnDef {
        name,
        ty,
        nullable: true,
        encoding: ColumnEncoding::Auto,
    }
}

/// The kinds of value a sample can read as, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Only NULLs seen so far.
    Unknown,
    BigInt,
    /// Digits with a fraction: integer digits and scale.
    Numeric,
    Double,
    Date,
    Timestamp,
    Boolean,
    Text,
}

/// The type a column's samples agree on.
#[derive(Clone, Copy, Debug)]
struct Guess {
    kind: Kind,
    /// For NUMERIC: most integer digits and most fractional digits seen.
    digits: u32,
    scale: u32,
}

impl Guess {
    fn new() -> Self {
        Guess {
            kind: Kind::Unknown,
            digits: 0,
            scale: 0,
        }
    }

    fn add(&mut self, value: &str) {
        let v = value.trim();
        let (kind, digits, scale) = classify(v);
        self.digits = self.digits.max(digits);
        self.scale = self.scale.max(scale);
        self.kind = match (self.kind, kind) {
            (Kind::Unknown, k) | (k, Kind::Unknown) => k,
            (a, b) if a == b => a,
            (Kind::BigInt, Kind::Numeric) | (Kind::Numeric, Kind::BigInt) => Kind::Numeric,
            (
                Kind::BigInt | Kind::Numeric | Kind::Double,
                Kind::BigInt | Kind::Numeric | Kind::Double,
            ) => Kind::Double,
            (Kind::Date, Kind::Timestamp) | (Kind::Timestamp, Kind::Date) => Kind::Timestamp,
            _ => Kind::Text,
        };
    }

    fn sql_type(&self) -> SqlType {
        match self.kind {
            Kind::BigInt => SqlType::BigInt,
            Kind::Numeric => {
                let scale = self.scale.min(37);
                let precision = (self.digits + scale).clamp(18, 38);
                SqlType::Decimal {
                    precision: precision as u8,
                    scale: scale as i8,
                }
            }
            Kind::Double => SqlType::Double,
            Kind::Date => SqlType::Date,
            Kind::Timestamp => SqlType::Timestamp,
            Kind::Boolean => SqlType::Boolean,
            Kind::Unknown | Kind::Text => TEXT_TYPE,
        }
    }
}

/// The narrowest kind `v` reads as, with its integer and fractional digit counts.
fn classify(v: &str) -> (Kind, u32, u32) {
    let unsigned = v.strip_prefix(['-', '+']).unwrap_or(v);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        if v.parse::<i64>().is_ok() {
            return (Kind::BigInt, unsigned.len() as u32, 0);
        }
        return (Kind::Double, 0, 0);
    }
    if let Some((int, frac)) = unsigned.split_once('.') {
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !(int.is_empty() && frac.is_empty()) && all_digits(int) && all_digits(frac) {
            let (d, s) = (int.len() as u32, frac.len() as u32);
            if d + s <= 38 {
                return (Kind::Numeric, d, s);
            }
            return (Kind::Double, 0, 0);
        }
    }
    if !v.is_empty()
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && v.parse::<f64>().is_ok_and(f64::is_finite)
    {
        return (Kind::Double, 0, 0);
    }
    if chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok() {
        return (Kind::Date, 0, 0);
    }
    if chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f").is_ok()
        || chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
    {
        return (Kind::Timestamp, 0, 0);
    }
    if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
        return (Kind::Boolean, 0, 0);
    }
    (Kind::Text, 0, 0)
}

/// A header field or JSON key as a column name: lower case, other characters `_`.
fn column_name(raw: &str, index: usize) -> String {
    let name: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        format!("col{index}")
    } else {
        name
    }
}

/// The columns of `table`'s files (its location, layout and properties set).
pub fn infer(table: &ExternalTable, fs: &dyn FileStore) -> Result<Inferred> {
    let files = list_files(fs, &table.location)?;
    let Some((first, first_relative)) = files.first() else {
        return Err(Error::InvalidTableDefinition {
            message: format!(
                "external table location \"{}\" holds no files to infer the columns from; give a column list",
                fs.display(&table.location)
            ),
            position: None,
        });
    };
    let partition_columns = infer_partitions(first_relative, &files);
    let (format, options) = layout(table)?;
    let shown = fs.display(first);
    let bytes = fs.read(first)?;
    let (columns, header) = match format {
        FileFormat::Parquet => (parquet_columns(bytes, &shown)?, false),
        FileFormat::Json => {
            let data = crate::copy::files::decompress(bytes, compression_of(first), &shown)?;
            (json_columns(&data, &shown)?, false)
        }
        FileFormat::Text => {
            let data = crate::copy::files::decompress(bytes, compression_of(first), &shown)?;
            let layout = match options.format {
                crate::copy::options::InputFormat::Csv => Layout::Csv {
                    delimiter: options.delimiter.unwrap_or(b','),
                    quote: options.quote,
                    escape: options.csv_escape.unwrap_or(options.quote),
                },
                _ => Layout::Text {
                    delimiter: options.delimiter.unwrap_or(1),
                    escape: false,
                    remove_quotes: false,
                },
            };
            let null = options.null_as.clone().unwrap_or_default();
            text_columns(&data, layout, options.ignore_header, &null, &shown)?
        }
    };
    let columns: Vec<ColumnDef> = columns
        .into_iter()
        .filter(|c| !partition_columns.iter().any(|p| p.name == c.name))
        .collect();
    Ok(Inferred {
        columns,
        partition_columns,
        header,
    })
}

/// Partition columns from the `key=value` directories above `first`, typed by the values
/// every file's directories give them.
fn infer_partitions(first: &str, files: &[(String, String)]) -> Vec<ColumnDef> {
    let keys: Vec<String> = partition_dirs(first).into_iter().map(|(k, _)| k).collect();
    let mut guesses = vec![Guess::new(); keys.len()];
    for (_, relative) in files {
        for (k, v) in partition_dirs(relative) {
            if let Some(i) = keys.iter().position(|x| *x == k) {
                if v != crate::external::source::HIVE_NULL_PARTITION {
                    guesses[i].add(&v);
                }
            }
        }
    }
    keys.into_iter()
        .zip(guesses)
        .map(|(k, g)| {
            // A partition value is read from a directory name: no floating point.
            let ty = match g.sql_type() {
                SqlType::Double | SqlType::Boolean => TEXT_TYPE,
                t => t,
            };
            column(k, ty)
        })
        .collect()
}

fn parquet_columns(bytes: Vec<u8>, file: &str) -> Result<Vec<ColumnDef>> {
    let input = crate::copy::parquet::ParquetInput::open(bytes::Bytes::from(bytes), file)?;
    let mut out = Vec::new();
    for f in input.schema().fields() {
        use DataType as D;
        let ty = match f.data_type() {
            D::Int8 | D::Int16 | D::UInt8 => SqlType::SmallInt,
            D::Int32 | D::UInt16 => SqlType::Integer,
            D::Int64 | D::UInt32 | D::UInt64 => SqlType::BigInt,
            D::Float16 | D::Float32 => SqlType::Real,
            D::Float64 => SqlType::Double,
            D::Decimal128(p, s) | D::Decimal256(p, s) if *p <= 38 && *s >= 0 && (*s as u8) <= *p => {
                SqlType::Decimal {
                    precision: *p,
                    scale: *s,
                }
            }
            D::Decimal32(p, s) | D::Decimal64(p, s) if *s >= 0 && (*s as u8) <= *p => {
                SqlType::Decimal {
                    precision: *p,
                    scale: *s,
                }
            }
            D::Boolean => SqlType::Boolean,
            D::Utf8 | D::LargeUtf8 | D::Utf8View => TEXT_TYPE,
            D::Dictionary(_, v) if matches!(v.as_ref(), D::Utf8 | D::LargeUtf8) => TEXT_TYPE,
            D::Date32 | D::Date64 => SqlType::Date,
            // TIMESTAMP(isAdjustedToUTC=true) reads with a zone.
            D::Timestamp(_, Some(_)) => SqlType::Timestamptz,
            D::Timestamp(_, None) => SqlType::Timestamp,
            D::Time32(_) | D::Time64(_) => SqlType::Time,
            D::Interval(IntervalUnit::MonthDayNano) => SqlType::Interval,
            other => {
                return Err(Error::Unsupported {
                    message: format!(
                        "column \"{}\" of Parquet file \"{file}\" is of type {other}, which external tables cannot read",
                        f.name()
                    ),
                })
            }
        };
        out.push(column(f.name().to_lowercase(), ty));
    }
    Ok(out)
}

fn text_columns(
    data: &[u8],
    layout: Layout,
    skip: u64,
    null: &str,
    file: &str,
) -> Result<(Vec<ColumnDef>, bool)> {
    let mut splitter = Splitter::new(data, layout);
    splitter.skip_lines(skip);
    let mut rows: Vec<Vec<String>> = Vec::new();
    for rec in splitter.take(SAMPLE_ROWS_MAX + 1) {
        let rec = rec.map_err(|e| Error::BadCopyFileFormat {
            message: format!("{} (file {file}, line {})", e.message, e.line),
        })?;
        rows.push(
            rec.fields
                .iter()
                .map(|f| String::from_utf8_lossy(&f.value).into_owned())
                .collect(),
        );
    }
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    if width == 0 {
        return Err(Error::InvalidTableDefinition {
            message: format!("file \"{file}\" holds no rows to infer the columns from"),
            position: None,
        });
    }
    let guess = |rows: &[Vec<String>]| -> Vec<Guess> {
        let mut g = vec![Guess::new(); width];
        for r in rows {
            for (i, v) in r.iter().enumerate() {
                if !v.is_empty() && v != null {
                    g[i].add(v);
                }
            }
        }
        g
    };
    let rest = guess(rows.get(1..).unwrap_or_default());
    let first = &rows[0];
    // A header: every field is text that does not read as its column's type, and some
    // column is not text.
    let header = skip == 0
        && rows.len() > 1
        && first.len() == width
        && rest
            .iter()
            .any(|g| g.kind != Kind::Text && g.kind != Kind::Unknown)
        && first.iter().zip(&rest).all(|(v, g)| {
            let (k, _, _) = classify(v.trim());
            k == Kind::Text && (g.kind != Kind::Text || !v.trim().is_empty())
        });
    let guesses = if header { rest } else { guess(&rows) };
    let mut names: Vec<String> = Vec::with_capacity(width);
    for i in 0..width {
        let mut name = if header {
            column_name(first.get(i).map(String::as_str).unwrap_or(""), i)
        } else {
            format!("col{i}")
        };
        if names.contains(&name) {
            name = format!("{name}_{i}");
        }
        names.push(name);
    }
    Ok((
        names
            .into_iter()
            .zip(guesses)
            .map(|(n, g)| column(n, g.sql_type()))
            .collect(),
        header,
    ))
}

/// A JSON value whose object keys keep the order they were written in (`serde_json`'s map
/// sorts them).
enum Ordered {
    Object(Vec<(String, serde_json::Value)>),
    Other,
}

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                    out.push((k, v));
                }
                Ok(Ordered::Object(out))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Ordered, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Ordered::Other)
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<Ordered, E> {
                Ok(Ordered::Other)
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<Ordered, E> {
                Ok(Ordered::Other)
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<Ordered, E> {
                Ok(Ordered::Other)
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<Ordered, E> {
                Ok(Ordered::Other)
            }
            fn visit_str<E>(self, _: &str) -> std::result::Result<Ordered, E> {
                Ok(Ordered::Other)
            }
            fn visit_unit<E>(self) -> std::result::Result<Ordered, E> {
                Ok(Ordered::Other)
            }
        }
        d.deserialize_any(Visit)
    }
}

fn json_columns(data: &[u8], file: &str) -> Result<Vec<ColumnDef>> {
    let mut names: Vec<String> = Vec::new();
    let mut guesses: Vec<Guess> = Vec::new();
    let stream = serde_json::Deserializer::from_slice(data).into_iter::<Ordered>();
    for value in stream.take(SAMPLE_ROWS_MAX) {
        let value = value.map_err(|e| Error::BadCopyFileFormat {
            message: format!("invalid JSON in file \"{file}\": {e}"),
        })?;
        let Ordered::Object(map) = value else {
            continue;
        };
        for (k, v) in map {
            let name = column_name(&k, names.len());
            let i = match names.iter().position(|n| *n == name) {
                Some(i) => i,
                None => {
                    names.push(name);
                    guesses.push(Guess::new());
                    names.len() - 1
                }
            };
            match v {
                serde_json::Value::Null => {}
                serde_json::Value::String(s) => guesses[i].add(&s),
                serde_json::Value::Number(n) => guesses[i].add(&n.to_string()),
                serde_json::Value::Bool(b) => guesses[i].add(if b { "true" } else { "false" }),
                _ => guesses[i].kind = Kind::Text,
            }
        }
    }
    if names.is_empty() {
        return Err(Error::InvalidTableDefinition {
            message: format!("file \"{file}\" holds no JSON objects to infer the columns from"),
            position: None,
        });
    }
    Ok(names
        .into_iter()
        .zip(guesses)
        .map(|(n, g)| column(n, g.sql_type()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_take_the_narrowest_type_that_reads_them_all() {
        // Input: a CSV with a header, an integer column that also holds a NULL marker, a
        // mixed integer/decimal column, dates, timestamps, booleans and free text.
        let data = b"id,Amount,day,at,ok,Note\n1,2.5,2024-01-01,2024-01-01 10:00:00,true,x\n\\N,10,2024-01-02,2024-01-02 11:00:00.5,false,y z\n";
        let (cols, header) = text_columns(
            data,
            Layout::Csv {
                delimiter: b',',
                quote: b'"',
                escape: b'"',
            },
            0,
            "\\N",
            "f",
        )
        .unwrap();
        assert!(header);
        let got: Vec<(String, SqlType)> = cols.into_iter().map(|c| (c.name, c.ty)).collect();
        assert_eq!(
            got,
            [
                ("id".to_string(), SqlType::BigInt),
                (
                    "amount".to_string(),
                    SqlType::Decimal {
                        precision: 18,
                        scale: 1
                    }
                ),
                ("day".to_string(), SqlType::Date),
                ("at".to_string(), SqlType::Timestamp),
                ("ok".to_string(), SqlType::Boolean),
                ("note".to_string(), TEXT_TYPE),
            ]
        );
        // Without a header line the columns are col0, col1, ... and a double mixes in.
        let (cols, header) = text_columns(
            b"1|1e3\n2|x\n",
            Layout::Text {
                delimiter: b'|',
                escape: false,
                remove_quotes: false,
            },
            0,
            "\\N",
            "f",
        )
        .unwrap();
        assert!(!header);
        assert_eq!(cols[0].name, "col0");
        assert_eq!(cols[0].ty, SqlType::BigInt);
        assert_eq!(cols[1].ty, TEXT_TYPE);
        assert_eq!(classify("1e3").0, Kind::Double);
    }
}
