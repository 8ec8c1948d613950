//! UNLOAD: a query's rows into files.
//!
//! Files are named as Redshift names them: with PARALLEL ON (the default) the rows are cut
//! into one contiguous share per slice (a slice is a worker of the rayon pool) and slice `s`
//! writes `<prefix><ssss>_part_<nn>`; with PARALLEL OFF one stream writes `<prefix><nnn>`.
//! A text, CSV or JSON file ends before the line that would take it past MAXFILESIZE (the
//! bound is on the bytes before compression); a Parquet file ends at the first row group
//! boundary at or past it. Parquet files end in `.parquet`, gzip
//! in `.gz`, zstd in `.zst`, bzip2 in `.bz2`, after any EXTENSION. PARTITION BY writes each partition under
//! `<prefix>/<col>=<value>/`, leaving the partition columns out of the files unless INCLUDE.

use std::io::Write;
use std::sync::Arc;

use arrow_array::{RecordBatch, UInt32Array};
use arrow_schema::{Field, Schema};
use basalt_storage::SqlType;
use rayon::prelude::*;

use crate::copy::files::FileStore;
use crate::copy::options::{Compression, OutputFormat, UnloadStatement};
use crate::error::{Error, Result};
use crate::pgtext::{format_value, Zone};
use crate::ResultColumn;

/// One output file's bytes and row count.
type EncodedFile = (Vec<u8>, u64);

/// What an UNLOAD wrote.
#[derive(Debug)]
pub struct Unloaded {
    pub files: Vec<String>,
    pub rows: u64,
}

/// Writes `batches` (of `columns`) as the statement asks.
pub fn unload(
    fs: &dyn FileStore,
    stmt: &UnloadStatement,
    columns: &[ResultColumn],
    batches: &[RecordBatch],
) -> Result<Unloaded> {
    let o = &stmt.options;
    let existing = fs.list_prefix(&stmt.to)?;
    if !existing.is_empty() {
        if o.clean_path {
            for f in &existing {
                fs.remove(f)?;
            }
        } else if !o.allow_overwrite {
            return Err(Error::DuplicateFile {
                message: format!(
                    "Specified unload destination \"{}\" is not empty. Consider using a different prefix, removing the target files, or using the ALLOWOVERWRITE option.",
                    fs.display(&stmt.to)
                ),
            });
        }
    }
    // Partition columns, by name.
    let mut part_cols = Vec::new();
    for p in &o.partition_by {
        let i =
            columns
                .iter()
                .position(|c| &c.name == p)
                .ok_or_else(|| Error::UndefinedColumn {
                    name: p.clone(),
                    position: None,
                })?;
        part_cols.push(i);
    }
    let mut outputs: Vec<(String, Vec<usize>, Vec<RecordBatch>)> = Vec::new();
    if part_cols.is_empty() {
        let keep: Vec<usize> = (0..columns.len()).collect();
        outputs.push((stmt.to.clone(), keep, batches.to_vec()));
    } else {
        let keep: Vec<usize> = (0..columns.len())
            .filter(|i| o.partition_include || !part_cols.contains(i))
            .collect();
        if keep.is_empty() {
            return Err(Error::InvalidParameter {
                message: "UNLOAD with PARTITION BY needs a column that is not a partition column; add INCLUDE".into(),
            });
        }
        let base = if stmt.to.ends_with('/') {
            stmt.to.clone()
        } else {
            format!("{}/", stmt.to)
        };
        // Rows grouped by their partition directory, in first-seen order.
        let mut groups: Vec<(String, Vec<(usize, u32)>)> = Vec::new();
        for (bi, b) in batches.iter().enumerate() {
            for row in 0..b.num_rows() {
                let mut dir = base.clone();
                for &c in &part_cols {
                    let v = format_value(b.column(c).as_ref(), row, columns[c].ty, Zone::UTC);
                    let v = match v {
                        Some(v) => encode_path_value(&v),
                        None => "__HIVE_DEFAULT_PARTITION__".to_string(),
                    };
                    dir.push_str(&format!("{}={}/", columns[c].name, v));
                }
                match groups.iter_mut().find(|(d, _)| *d == dir) {
                    Some((_, rows)) => rows.push((bi, row as u32)),
                    None => groups.push((dir, vec![(bi, row as u32)])),
                }
            }
        }
        for (dir, rows) in groups {
            let mut out = Vec::new();
            for (bi, b) in batches.iter().enumerate() {
                let idx: UInt32Array = rows
                    .iter()
                    .filter(|(x, _)| *x == bi)
                    .map(|(_, r)| *r)
                    .collect();
                if idx.is_empty() {
                    continue;
                }
                out.push(arrow_select::take::take_record_batch(b, &idx)?);
            }
            outputs.push((dir, keep.clone(), out));
        }
    }
    let mut written = Vec::new();
    let mut entries = Vec::new();
    let mut total = 0u64;
    for (prefix, keep, batches) in outputs {
        let cols: Vec<ResultColumn> = keep.iter().map(|i| columns[*i].clone()).collect();
        let batches: Vec<RecordBatch> = batches
            .iter()
            .map(|b| b.project(&keep))
            .collect::<std::result::Result<_, _>>()?;
        let streams = split_streams(&batches, o.parallel);
        let encoded: Vec<Result<Vec<EncodedFile>>> = streams
            .par_iter()
            .map(|s| encode_stream(s, &cols, stmt))
            .collect();
        for (slice, files) in encoded.into_iter().enumerate() {
            for (part, (bytes, rows)) in files?.into_iter().enumerate() {
                let name = file_name(&prefix, slice, part, stmt);
                fs.write(&name, &bytes)?;
                total += rows;
                entries.push((fs.display(&name), bytes.len() as u64, rows));
                written.push(name);
            }
        }
    }
    if o.manifest {
        let name = format!("{}manifest", stmt.to);
        let doc = manifest(&entries, columns, o.manifest_verbose);
        fs.write(&name, doc.as_bytes())?;
    }
    Ok(Unloaded {
        files: written,
        rows: total,
    })
}

/// Keeps letters, digits and `-_.` of a partition value; the rest is percent-encoded.
fn encode_path_value(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_. :".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The rows cut into one contiguous stream per slice (PARALLEL ON), or one stream.
fn split_streams(batches: &[RecordBatch], parallel: bool) -> Vec<Vec<RecordBatch>> {
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let slices = if parallel {
        rayon::current_num_threads().max(1)
    } else {
        1
    };
    if slices == 1 || rows == 0 {
        return vec![batches.to_vec()];
    }
    let share = rows.div_ceil(slices);
    let mut streams: Vec<Vec<RecordBatch>> = vec![Vec::new()];
    let mut in_current = 0usize;
    for b in batches {
        let mut offset = 0;
        while offset < b.num_rows() {
            if in_current == share {
                streams.push(Vec::new());
                in_current = 0;
            }
            let len = (share - in_current).min(b.num_rows() - offset);
            if let Some(s) = streams.last_mut() {
                s.push(b.slice(offset, len));
            }
            in_current += len;
            offset += len;
        }
    }
    streams
}

fn file_name(prefix: &str, slice: usize, part: usize, stmt: &UnloadStatement) -> String {
    let o = &stmt.options;
    let mut name = if o.parallel {
        format!("{prefix}{slice:04}_part_{part:02}")
    } else {
        format!("{prefix}{part:03}")
    };
    if let Some(ext) = &o.extension {
        name.push('.');
        name.push_str(ext.trim_start_matches('.'));
    }
    if o.format == OutputFormat::Parquet {
        name.push_str(".parquet");
    }
    match o.compression {
        Compression::Gzip => name.push_str(".gz"),
        Compression::Zstd => name.push_str(".zst"),
        Compression::Bzip2 => name.push_str(".bz2"),
        _ => {}
    }
    name
}

/// One stream's files: bytes and row count of each.
fn encode_stream(
    batches: &[RecordBatch],
    columns: &[ResultColumn],
    stmt: &UnloadStatement,
) -> Result<Vec<(Vec<u8>, u64)>> {
    let o = &stmt.options;
    if batches.iter().all(|b| b.num_rows() == 0) {
        return Ok(Vec::new());
    }
    if o.format == OutputFormat::Parquet {
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|c| Field::new(&c.name, c.ty.arrow_type(), true))
                .collect::<Vec<_>>(),
        ));
        let fitted: Vec<RecordBatch> = batches
            .iter()
            .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
            .collect::<std::result::Result<_, _>>()?;
        return crate::copy::parquet::encode_parquet(schema, &fitted, o.max_file_bytes);
    }
    let mut files = Vec::new();
    let mut buf = String::new();
    let mut rows = 0u64;
    let header = |buf: &mut String| {
        if o.header {
            let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
            write_line(
                buf,
                &names.iter().map(|n| Some(n.as_str())).collect::<Vec<_>>(),
                o,
            );
        }
    };
    header(&mut buf);
    let mut line = String::new();
    for b in batches {
        for row in 0..b.num_rows() {
            let values: Vec<Option<String>> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| format_value(b.column(i).as_ref(), row, c.ty, Zone::UTC))
                .collect();
            line.clear();
            if o.format == OutputFormat::Json {
                json_line(&mut line, columns, &values);
            } else {
                let refs: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
                write_line(&mut line, &refs, o);
            }
            // MAXFILESIZE is a bound: a file ends before the line that would pass it (a
            // line longer than the bound still gets a file of its own).
            if rows > 0 && (buf.len() + line.len()) as u64 > o.max_file_bytes {
                files.push((
                    compress(std::mem::take(&mut buf).into_bytes(), o.compression)?,
                    rows,
                ));
                rows = 0;
                header(&mut buf);
            }
            buf.push_str(&line);
            rows += 1;
        }
    }
    if rows > 0 {
        files.push((compress(buf.into_bytes(), o.compression)?, rows));
    }
    Ok(files)
}

fn write_line(buf: &mut String, values: &[Option<&str>], o: &crate::copy::options::UnloadOptions) {
    let csv = o.format == OutputFormat::Csv;
    let delim = o.delimiter.unwrap_or(if csv { b',' } else { b'|' }) as char;
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            buf.push(delim);
        }
        let Some(v) = v else {
            buf.push_str(&o.null_as);
            continue;
        };
        if csv {
            if v.contains([delim, '"', '\n', '\r']) || v.is_empty() {
                buf.push('"');
                buf.push_str(&v.replace('"', "\"\""));
                buf.push('"');
            } else {
                buf.push_str(v);
            }
            continue;
        }
        if o.add_quotes {
            buf.push('"');
        }
        if o.escape {
            for ch in v.chars() {
                if ch == delim
                    || ch == '\\'
                    || ch == '\n'
                    || ch == '\r'
                    || (o.add_quotes && ch == '"')
                {
                    buf.push('\\');
                }
                buf.push(ch);
            }
        } else {
            buf.push_str(v);
        }
        if o.add_quotes {
            buf.push('"');
        }
    }
    buf.push('\n');
}

fn json_line(buf: &mut String, columns: &[ResultColumn], values: &[Option<String>]) {
    // Keys in column order, as the query returns them.
    buf.push('{');
    for (i, (c, v)) in columns.iter().zip(values).enumerate() {
        let value = match v {
            None => serde_json::Value::Null,
            Some(s) => match c.ty {
                SqlType::Boolean => serde_json::Value::Bool(s == "t"),
                t if t.is_numeric() => match serde_json::from_str::<serde_json::Number>(s) {
                    Ok(n) => serde_json::Value::Number(n),
                    Err(_) => serde_json::Value::String(s.clone()),
                },
                _ => serde_json::Value::String(s.clone()),
            },
        };
        if i > 0 {
            buf.push(',');
        }
        buf.push_str(&serde_json::Value::String(c.name.clone()).to_string());
        buf.push(':');
        buf.push_str(&value.to_string());
    }
    buf.push_str("}\n");
}

fn compress(bytes: Vec<u8>, c: Compression) -> Result<Vec<u8>> {
    let fail = |e: std::io::Error| Error::Internal(format!("compressing UNLOAD output: {e}"));
    match c {
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(&bytes).map_err(fail)?;
            enc.finish().map_err(fail)
        }
        Compression::Zstd => zstd::stream::encode_all(bytes.as_slice(), 3).map_err(fail),
        Compression::Bzip2 => {
            let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            enc.write_all(&bytes).map_err(fail)?;
            enc.finish().map_err(fail)
        }
        _ => Ok(bytes),
    }
}

/// The manifest: `{"entries": [{"url": ..., "meta": {"content_length": n}}]}`, and with
/// VERBOSE each file's `record_count`, the column list and the total.
fn manifest(entries: &[(String, u64, u64)], columns: &[ResultColumn], verbose: bool) -> String {
    use serde_json::json;
    let list: Vec<serde_json::Value> = entries
        .iter()
        .map(|(url, len, rows)| {
            if verbose {
                json!({"url": url, "meta": {"content_length": len, "record_count": rows}})
            } else {
                json!({"url": url, "meta": {"content_length": len}})
            }
        })
        .collect();
    let mut doc = json!({ "entries": list });
    if verbose {
        let elements: Vec<serde_json::Value> = columns
            .iter()
            .map(|c| json!({"name": c.name, "type": {"base": c.ty.pg_name()}}))
            .collect();
        let total: u64 = entries.iter().map(|e| e.2).sum();
        let bytes: u64 = entries.iter().map(|e| e.1).sum();
        doc["schema"] = json!({ "elements": elements });
        doc["meta"] = json!({"content_length": bytes, "record_count": total});
        doc["author"] = json!({"name": "Basalt", "version": crate::VERSION});
    }
    doc.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::options::{UnloadOptions, MAX_FILE_BYTES_DEFAULT};

    fn opts(format: OutputFormat) -> UnloadOptions {
        UnloadOptions {
            format,
            partition_by: Vec::new(),
            partition_include: false,
            header: false,
            delimiter: None,
            null_as: String::new(),
            add_quotes: false,
            escape: false,
            parallel: true,
            max_file_bytes: MAX_FILE_BYTES_DEFAULT,
            manifest: false,
            manifest_verbose: false,
            allow_overwrite: false,
            clean_path: false,
            compression: Compression::None,
            extension: None,
        }
    }

    // CSV quoting and text escaping of one line.
    #[test]
    fn lines_quote_and_escape() {
        let mut buf = String::new();
        write_line(
            &mut buf,
            &[Some("a,b"), None, Some("x\"y"), Some("")],
            &opts(OutputFormat::Csv),
        );
        assert_eq!(buf, "\"a,b\",,\"x\"\"y\",\"\"\n");
        let mut o = opts(OutputFormat::Text);
        o.escape = true;
        let mut buf = String::new();
        write_line(&mut buf, &[Some("a|b\\"), Some("c\nd")], &o);
        assert_eq!(buf, "a\\|b\\\\|c\\\nd\n");
    }

    // Redshift's file names.
    #[test]
    fn file_names() {
        let stmt = |parallel, format| UnloadStatement {
            query: String::new(),
            to: "/o/p_".into(),
            options: UnloadOptions {
                parallel,
                ..opts(format)
            },
        };
        assert_eq!(
            file_name("/o/p_", 1, 0, &stmt(true, OutputFormat::Text)),
            "/o/p_0001_part_00"
        );
        assert_eq!(
            file_name("/o/p_", 0, 2, &stmt(false, OutputFormat::Text)),
            "/o/p_002"
        );
        assert_eq!(
            file_name("/o/p_", 0, 0, &stmt(true, OutputFormat::Parquet)),
            "/o/p_0000_part_00.parquet"
        );
    }

    // Path values keep safe characters.
    #[test]
    fn partition_values_are_encoded() {
        assert_eq!(encode_path_value("2024-01-02"), "2024-01-02");
        assert_eq!(encode_path_value("a/b"), "a%2Fb");
    }
}
