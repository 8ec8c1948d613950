//! An external table as a statement sees it: its layout, and its partitions and their files,
//! listed once when the statement is bound.

use std::collections::BTreeMap;
use std::sync::Arc;

use basalt_storage::{ColumnDef, ExternalTable, SqlType, TableDef};

use crate::copy::files::FileStore;
use crate::copy::options::{Compression, CopyOptions, InputFormat, JsonMode};
use crate::error::{Error, Result};
use crate::types::Datum;

/// The directory name Hive gives a partition whose value is NULL.
pub const HIVE_NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// How an external table's files are laid out.
#[derive(Clone, Debug, PartialEq)]
pub enum FileFormat {
    Parquet,
    /// Delimited text (LazySimpleSerDe) or CSV (OpenCSVSerde), read by COPY's splitter.
    Text,
    Json,
}

/// One partition: its values (typed, in partition column order) and its files.
#[derive(Clone, Debug)]
pub struct Partition {
    pub values: Vec<Datum>,
    /// The values as written in the directory names or ALTER TABLE.
    pub raw: Vec<Option<String>>,
    pub location: String,
    pub files: Vec<String>,
}

/// An external table bound for one statement.
#[derive(Clone, Debug)]
pub struct ExternalSource {
    pub table: ExternalTable,
    pub format: FileFormat,
    /// COPY's options for text and JSON files (delimiter, header lines, NULL marker).
    pub options: CopyOptions,
    pub files: Arc<dyn FileStore>,
    pub partitions: Vec<Partition>,
}

impl ExternalSource {
    /// Every column a query sees: the file columns, then the partition columns.
    pub fn columns(&self) -> Vec<ColumnDef> {
        all_columns(&self.table)
    }

    /// How many files all partitions hold.
    pub fn file_count(&self) -> usize {
        self.partitions.iter().map(|p| p.files.len()).sum()
    }
}

/// The file columns, then the partition columns.
pub fn all_columns(table: &ExternalTable) -> Vec<ColumnDef> {
    table
        .columns
        .iter()
        .chain(&table.partition_columns)
        .cloned()
        .collect()
}

/// The table definition a scan of `table` presents: all its columns, no segments.
pub fn table_def(table: &ExternalTable) -> TableDef {
    TableDef::new(table.schema.clone(), table.name.clone(), all_columns(table))
}

/// The serialization library a `STORED AS` implies when no SerDe is named.
pub fn default_serde(stored_as: &str) -> &'static str {
    match stored_as {
        "PARQUET" => "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "JSON" => "org.openx.data.jsonserde.JsonSerDe",
        _ => "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
    }
}

/// One character of a SerDe parameter, as a byte.
fn one_byte(what: &str, value: &str) -> Result<u8> {
    match value.as_bytes() {
        [b] => Ok(*b),
        _ => Err(Error::InvalidParameter {
            message: format!("{what} must be a single ASCII character, not \"{value}\""),
        }),
    }
}

/// The file format and COPY options a table definition asks for.
pub fn layout(table: &ExternalTable) -> Result<(FileFormat, CopyOptions)> {
    let mut o = CopyOptions::default();
    let params = &table.serde_parameters;
    let serde = table.serde.to_ascii_lowercase();
    let format = if table.stored_as == "PARQUET" {
        o.format = InputFormat::Parquet;
        FileFormat::Parquet
    } else if table.stored_as == "JSON" || serde.contains("json") {
        o.format = InputFormat::Json(JsonMode::Auto { ignore_case: true });
        FileFormat::Json
    } else if serde.contains("opencsvserde") {
        o.format = InputFormat::Csv;
        o.delimiter = Some(match params.get("separatorChar") {
            Some(s) => one_byte("separatorChar", s)?,
            None => b',',
        });
        o.quote = match params.get("quoteChar") {
            Some(s) => one_byte("quoteChar", s)?,
            None => b'"',
        };
        FileFormat::Text
    } else {
        o.delimiter = Some(match params.get("field.delim") {
            Some(s) => one_byte("FIELDS TERMINATED BY", s)?,
            // Hive's default field delimiter, Ctrl-A.
            None => 1,
        });
        FileFormat::Text
    };
    if let Some(n) = table.properties.get("skip.header.line.count") {
        o.ignore_header = n.trim().parse().map_err(|_| Error::InvalidParameter {
            message: format!("skip.header.line.count must be a whole number, not \"{n}\""),
        })?;
    }
    o.null_as = Some(
        table
            .properties
            .get("serialization.null.format")
            .or_else(|| params.get("serialization.null.format"))
            .cloned()
            .unwrap_or_else(|| "\\N".to_string()),
    );
    // An empty field of a number or date column reads as NULL, as Spectrum reads it.
    o.empty_as_null = true;
    Ok((format, o))
}

/// The compression a file's name says it has.
pub fn compression_of(file: &str) -> Compression {
    let lower = file.to_ascii_lowercase();
    if lower.ends_with(".gz") || lower.ends_with(".gzip") {
        Compression::Gzip
    } else if lower.ends_with(".zst") || lower.ends_with(".zstd") {
        Compression::Zstd
    } else if lower.ends_with(".lz4") {
        Compression::Lz4
    } else if lower.ends_with(".bz2") {
        Compression::Bzip2
    } else {
        Compression::None
    }
}

/// Whether a file under a table's location holds data: hidden files and the markers that
/// writers leave (`_SUCCESS`, `.crc`, `_$folder$`) do not.
pub fn is_data_file(relative: &str) -> bool {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    !(name.is_empty()
        || name.starts_with('.')
        || name.starts_with('_')
        || name.ends_with("$folder$")
        || name.ends_with(".crc"))
}

/// Decodes `%XX` escapes, as Hive writes them in partition directory names.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The data files under `location`, with their paths relative to it. A location that does
/// not exist is an error naming it; an empty directory holds no files.
pub fn list_files(fs: &dyn FileStore, location: &str) -> Result<Vec<(String, String)>> {
    if !fs.exists(location) {
        return Err(Error::UndefinedFile {
            message: format!(
                "external table location \"{}\" does not exist",
                fs.display(location)
            ),
        });
    }
    let files = match fs.list(location) {
        Ok(f) => f,
        Err(Error::UndefinedFile { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    let root = fs.display(location);
    let root = root.trim_end_matches('/');
    Ok(files
        .into_iter()
        .filter_map(|f| {
            let relative = f
                .strip_prefix(root)
                .unwrap_or(&f)
                .trim_start_matches('/')
                .to_string();
            is_data_file(&relative).then_some((f, relative))
        })
        .collect())
}

/// The `key=value` directories of a relative path, keys in lower case.
pub fn partition_dirs(relative: &str) -> Vec<(String, String)> {
    let mut parts: Vec<&str> = relative.split('/').collect();
    parts.pop();
    parts
        .into_iter()
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((percent_decode(k).to_lowercase(), percent_decode(v)))
        })
        .collect()
}

/// A partition value as text to a value of the column's type.
pub fn partition_value(raw: Option<&str>, column: &ColumnDef, location: &str) -> Result<Datum> {
    let Some(raw) = raw.filter(|r| *r != HIVE_NULL_PARTITION) else {
        return Ok(Datum::Null);
    };
    let o = CopyOptions::default();
    crate::copy::values::convert(Some(raw), column.ty, &o).map_err(|e| Error::Load {
        message: format!(
            "{e} (partition column {} of partition \"{location}\")",
            column.name
        ),
        cause: Box::new(e),
    })
}

/// Binds `table` for one statement: lists its partitions and their files.
pub fn bind(table: &ExternalTable, files: Arc<dyn FileStore>) -> Result<ExternalSource> {
    let (format, options) = layout(table)?;
    let fs = files.as_ref();
    let mut partitions: Vec<Partition> = Vec::new();
    if table.partition_columns.is_empty() {
        let listed = list_files(fs, &table.location)?;
        partitions.push(Partition {
            values: Vec::new(),
            raw: Vec::new(),
            location: fs.display(&table.location),
            files: listed.into_iter().map(|(f, _)| f).collect(),
        });
    } else {
        // Partitions added by ALTER TABLE come first; a discovered directory with the same
        // values is the same partition.
        let mut by_values: BTreeMap<Vec<Option<String>>, usize> = BTreeMap::new();
        for p in &table.partitions {
            let raw: Vec<Option<String>> = p
                .values
                .iter()
                .map(|v| (v != HIVE_NULL_PARTITION).then(|| v.clone()))
                .collect();
            let listed = list_files(fs, &p.location)?;
            let values = typed(table, &raw, &p.location)?;
            by_values.insert(raw.clone(), partitions.len());
            partitions.push(Partition {
                values,
                raw,
                location: fs.display(&p.location),
                files: listed.into_iter().map(|(f, _)| f).collect(),
            });
        }
        // With partitions added by ALTER TABLE the location itself may be absent.
        let discovered = if table.partitions.is_empty() || fs.exists(&table.location) {
            list_files(fs, &table.location)?
        } else {
            Vec::new()
        };
        let root = fs.display(&table.location);
        for (file, relative) in discovered {
            let dirs = partition_dirs(&relative);
            let raw: Option<Vec<Option<String>>> = table
                .partition_columns
                .iter()
                .map(|c| {
                    dirs.iter()
                        .find(|(k, _)| *k == c.name)
                        .map(|(_, v)| (v != HIVE_NULL_PARTITION).then(|| v.clone()))
                })
                .collect();
            // Files outside a complete set of key=value directories are not in any
            // partition.
            let Some(raw) = raw else { continue };
            match by_values.get(&raw) {
                Some(&i) => {
                    // An added partition elsewhere owns these values; its directory wins.
                    if table.partitions.get(i).is_none() {
                        partitions[i].files.push(file);
                    }
                }
                None => {
                    let location = format!(
                        "{}/{}",
                        root.trim_end_matches('/'),
                        relative.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
                    );
                    let values = typed(table, &raw, &location)?;
                    by_values.insert(raw.clone(), partitions.len());
                    partitions.push(Partition {
                        values,
                        raw,
                        location,
                        files: vec![file],
                    });
                }
            }
        }
    }
    for p in &mut partitions {
        p.files.sort();
    }
    Ok(ExternalSource {
        table: table.clone(),
        format,
        options,
        files,
        partitions,
    })
}

fn typed(table: &ExternalTable, raw: &[Option<String>], location: &str) -> Result<Vec<Datum>> {
    table
        .partition_columns
        .iter()
        .zip(raw)
        .map(|(c, v)| partition_value(v.as_deref(), c, location))
        .collect()
}

/// Whether a type can be a partition column's (the value comes from a directory name).
pub fn partition_type_ok(ty: SqlType) -> bool {
    !matches!(ty, SqlType::Real | SqlType::Double)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_directories_and_hidden_files() {
        // Input: Hive-style paths with an escaped value, a file outside partitions, and the
        // marker files writers leave.
        assert_eq!(
            partition_dirs("Year=2024/city=New%20York/part-0.parquet"),
            [
                ("year".to_string(), "2024".to_string()),
                ("city".to_string(), "New York".to_string())
            ]
        );
        assert!(partition_dirs("part-0.parquet").is_empty());
        assert!(is_data_file("y=1/part-0.csv"));
        assert!(!is_data_file("y=1/_SUCCESS"));
        assert!(!is_data_file(".hidden"));
        assert!(!is_data_file("y=1/x_$folder$"));
        assert_eq!(percent_decode("a%2Fb%"), "a/b%");
        assert_eq!(compression_of("x.csv.gz"), Compression::Gzip);
        assert_eq!(compression_of("x.csv"), Compression::None);
    }
}
