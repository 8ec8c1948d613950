//! The storage harness's parts (`src/bin/storage.rs`, checked at a small scale by
//! `tests/storage.rs`): TPC-H lineitem loaded into Basalt and written as Parquet from the same
//! batches, the bytes each takes, both decoded back to Arrow, and the one-week `l_shipdate` query
//! on a copy sorted by `l_shipdate` beside the unsorted table, with the blocks it reads.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use basalt_engine::{Session, StatementResult};
use basalt_storage::{SqlType, Store, TableMeta};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;

use crate::tpch::{self, Table};

/// The unsorted table, loaded in the generator's order (by `l_orderkey`).
pub const UNSORTED: &str = "lineitem";
/// The copy with `SORTKEY (l_shipdate)`.
pub const SORTED: &str = "lineitem_sorted";
/// The ZSTD level of the Parquet file: the level Basalt's ZSTD blocks use.
pub const PARQUET_ZSTD_LEVEL: i32 = 3;
/// Rows per batch when reading the Parquet file: a Basalt block's rows.
pub const PARQUET_BATCH_ROWS: usize = 65_536;
/// Days from 1970-01-01 to 1992-01-06, the first Monday on or after the first `l_shipdate`
/// (1992-01-02).
const FIRST_MONDAY_DAYS: i32 = 8040;
/// Days from 1970-01-01 to 1998-12-01, after the last `l_shipdate`.
const LAST_SHIPDATE_DAYS: i32 = 10_561;

/// `CREATE TABLE name (...)` with lineitem's columns as `schema.sql` declares them, and a
/// `SORTKEY (l_shipdate)` when `sorted`.
pub fn lineitem_ddl(name: &str, sorted: bool) -> Result<String> {
    let stmt = tpch::SCHEMA_SQL
        .split(';')
        .map(str::trim)
        .find(|s| s.starts_with("CREATE TABLE lineitem ("))
        .ok_or_else(|| anyhow!("schema.sql has no lineitem"))?;
    let body = stmt.trim_start_matches("CREATE TABLE lineitem ");
    let sort = if sorted { " SORTKEY (l_shipdate)" } else { "" };
    Ok(format!("CREATE TABLE {name} {body}{sort}"))
}

/// Generates lineitem at scale factor `sf`, appends it to a new Basalt table [`UNSORTED`] in
/// `appends` appends of about equal rows, in the generator's order (one append is what one COPY
/// does), and writes the same batches to `parquet` with the parquet crate (ZSTD at
/// [`PARQUET_ZSTD_LEVEL`], the writer's other defaults). Returns the rows.
pub fn load(session: &mut Session, sf: f64, parquet: &Path, appends: usize) -> Result<u64> {
    session.run(&lineitem_ddl(UNSORTED, false)?)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(PARQUET_ZSTD_LEVEL)?))
        .build();
    let file = File::create(parquet).with_context(|| format!("creating {}", parquet.display()))?;
    let mut writer = ArrowWriter::try_new(file, Table::LineItem.arrow_schema(), Some(props))?;
    let mut all = Vec::new();
    let rows = Table::LineItem.generate(sf, |batches| -> Result<()> {
        for b in batches {
            // Basalt stores CHAR(n) values blank-padded to n characters, as PostgreSQL does;
            // the Parquet file gets the same values.
            let b = pad_chars(&b)?;
            writer.write(&b)?;
            all.push(b);
        }
        Ok(())
    })?;
    writer.close()?;
    let per_append = usize::try_from(rows)?.div_ceil(appends.max(1)).max(1);
    let mut piece = Vec::new();
    let mut piece_rows = 0;
    let mut appended = 0;
    for b in &all {
        let mut offset = 0;
        while offset < b.num_rows() {
            let len = (b.num_rows() - offset).min(per_append - piece_rows);
            piece.push(b.slice(offset, len));
            piece_rows += len;
            offset += len;
            if piece_rows == per_append {
                appended += session.append_batches(UNSORTED, &piece)?;
                piece.clear();
                piece_rows = 0;
            }
        }
    }
    if !piece.is_empty() {
        appended += session.append_batches(UNSORTED, &piece)?;
    }
    if appended != rows {
        bail!("appended {appended} rows of {rows}");
    }
    Ok(rows)
}

/// `batch` (lineitem's) with its CHAR(n) columns' values blank-padded to n characters.
fn pad_chars(batch: &RecordBatch) -> Result<RecordBatch> {
    let mut columns = batch.columns().to_vec();
    for (column, (_, ty)) in columns.iter_mut().zip(Table::LineItem.columns()) {
        let SqlType::Char { length } = ty else {
            continue;
        };
        let width = usize::try_from(*length)?;
        let values = column
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| anyhow!("a CHAR column is not Utf8"))?;
        let padded: StringArray = values
            .iter()
            .map(|v| v.map(|v| format!("{v:<width$}")))
            .collect();
        *column = Arc::new(padded);
    }
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// Creates [`SORTED`] and fills it from [`UNSORTED`] with INSERT ... SELECT, which sorts each
/// insert's rows by the sort key before cutting them into segments: one insert of every row, or,
/// with `by_year`, one per `l_shipdate` year in date order (as a table loaded each year would
/// be).
pub fn create_sorted(session: &mut Session, by_year: bool) -> Result<()> {
    session.run(&lineitem_ddl(SORTED, true)?)?;
    if !by_year {
        session.run(&format!("INSERT INTO {SORTED} SELECT * FROM {UNSORTED}"))?;
        return Ok(());
    }
    for year in 1992..=1998 {
        session.run(&format!(
            "INSERT INTO {SORTED} SELECT * FROM {UNSORTED} \
             WHERE l_shipdate >= DATE '{year}-01-01' AND l_shipdate < DATE '{}-01-01'",
            year + 1
        ))?;
    }
    Ok(())
}

/// The committed table `name` of schema `public`.
pub fn table(store: &Store, name: &str) -> Result<TableMeta> {
    store
        .snapshot()
        .table("public", name)
        .cloned()
        .ok_or_else(|| anyhow!("no table {name}"))
}

/// Bytes of the table's segment files.
pub fn basalt_bytes(store: &Store, name: &str) -> Result<u64> {
    let t = table(store, name)?;
    if let Some(s) = t.segments.iter().find(|s| s.is_resident()) {
        bail!("segment {} of {name} is still in memory", s.id);
    }
    Ok(t.segments.iter().map(|s| s.bytes).sum())
}

/// Bytes of each column's blocks (headers, bitmaps and payloads), over the table's segments.
pub fn basalt_column_bytes(store: &Store, name: &str) -> Result<Vec<u64>> {
    let t = table(store, name)?;
    let mut out = vec![0u64; t.def.columns.len()];
    for s in &t.segments {
        let reader = store.open_segment(&t, s)?;
        for (c, total) in out.iter_mut().enumerate() {
            let blocks = reader
                .blocks(c)
                .ok_or_else(|| anyhow!("segment {} has no column {c}", s.id))?;
            *total += blocks.iter().map(|b| b.length).sum::<u64>();
        }
    }
    Ok(out)
}

/// Compressed bytes of each column's chunks in the Parquet file, over its row groups.
pub fn parquet_column_bytes(path: &Path) -> Result<Vec<u64>> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?;
    let meta = builder.metadata();
    let columns = meta.file_metadata().schema_descr().num_columns();
    let mut out = vec![0u64; columns];
    for rg in meta.row_groups() {
        for (c, total) in out.iter_mut().enumerate() {
            *total += u64::try_from(rg.column(c).compressed_size())?;
        }
    }
    Ok(out)
}

/// Decodes every column of every segment of table `name` to Arrow, in segment order; on the
/// rayon pool's threads, one segment per task, when `parallel`.
pub fn decode_basalt(store: &Store, name: &str, parallel: bool) -> Result<Vec<RecordBatch>> {
    decode_basalt_columns(store, name, None, parallel)
}

/// [`decode_basalt`] of the columns `projection` only (all when `None`).
pub fn decode_basalt_columns(
    store: &Store,
    name: &str,
    projection: Option<&[usize]>,
    parallel: bool,
) -> Result<Vec<RecordBatch>> {
    let t = table(store, name)?;
    let all: Vec<usize> = match projection {
        Some(p) => p.to_vec(),
        None => (0..t.def.columns.len()).collect(),
    };
    let read = |s| store.read_segment(&t, s, &all).map_err(anyhow::Error::from);
    if parallel {
        t.segments.par_iter().map(read).collect()
    } else {
        t.segments.iter().map(read).collect()
    }
}

/// Reads the whole Parquet file to Arrow with the parquet crate, in row-group order, in batches
/// of [`PARQUET_BATCH_ROWS`]; on the rayon pool's threads, one row group per task, when
/// `parallel`.
pub fn read_parquet(path: &Path, parallel: bool) -> Result<Vec<RecordBatch>> {
    if !parallel {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?
            .with_batch_size(PARQUET_BATCH_ROWS)
            .build()?;
        return Ok(reader.collect::<Result<Vec<_>, _>>()?);
    }
    let groups = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?
        .metadata()
        .num_row_groups();
    let parts = (0..groups)
        .into_par_iter()
        .map(|g| -> Result<Vec<RecordBatch>> {
            let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?
                .with_batch_size(PARQUET_BATCH_ROWS)
                .with_row_groups(vec![g])
                .build()?;
            Ok(reader.collect::<Result<Vec<_>, _>>()?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(parts.into_iter().flatten().collect())
}

/// Reads column `column` of the Parquet file to Arrow on one thread, as [`read_parquet`] does.
pub fn read_parquet_column(path: &Path, column: usize) -> Result<Vec<RecordBatch>> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), [column]);
    let reader = builder
        .with_batch_size(PARQUET_BATCH_ROWS)
        .with_projection(mask)
        .build()?;
    Ok(reader.collect::<Result<Vec<_>, _>>()?)
}

/// Whether two sequences of batches hold the same rows in the same order, with the same column
/// types and values, however the rows are cut into batches.
pub fn same_rows(a: &[RecordBatch], b: &[RecordBatch]) -> bool {
    difference(a, b).is_none()
}

/// The first difference between two sequences of batches (see [`same_rows`]), described.
pub fn difference(a: &[RecordBatch], b: &[RecordBatch]) -> Option<String> {
    let rows = |v: &[RecordBatch]| v.iter().map(|x| x.num_rows()).sum::<usize>();
    if rows(a) != rows(b) {
        return Some(format!("{} rows against {}", rows(a), rows(b)));
    }
    let (mut i, mut j, mut off_a, mut off_b, mut row) = (0, 0, 0, 0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (&a[i], &b[j]);
        if x.num_columns() != y.num_columns() {
            return Some(format!(
                "{} columns against {}",
                x.num_columns(),
                y.num_columns()
            ));
        }
        let len = (x.num_rows() - off_a).min(y.num_rows() - off_b);
        for c in 0..x.num_columns() {
            let l = x.column(c).slice(off_a, len);
            let r = y.column(c).slice(off_b, len);
            if l.as_ref() != r.as_ref() {
                let at = (0..len)
                    .find(|k| l.slice(*k, 1).as_ref() != r.slice(*k, 1).as_ref())
                    .unwrap_or(0);
                return Some(format!(
                    "column {c} ({}) row {}: {:?} against {:?}",
                    x.schema().field(c).name(),
                    row + at,
                    l.slice(at, 1),
                    r.slice(at, 1)
                ));
            }
        }
        off_a += len;
        off_b += len;
        row += len;
        if off_a == x.num_rows() {
            i += 1;
            off_a = 0;
        }
        if off_b == y.num_rows() {
            j += 1;
            off_b = 0;
        }
    }
    None
}

/// `YYYY-MM-DD` of `days` since 1970-01-01 (proleptic Gregorian).
pub fn date_text(days: i32) -> String {
    // Howard Hinnant's civil_from_days.
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The first day (days since 1970-01-01) of every Monday-to-Sunday week from 1992-01-06 that
/// starts before the last `l_shipdate`.
pub fn weeks() -> Vec<i32> {
    (FIRST_MONDAY_DAYS..LAST_SHIPDATE_DAYS).step_by(7).collect()
}

/// The one-week query: rows shipped in the seven days from `first_day` and their extended
/// price.
pub fn week_query(table: &str, first_day: i32) -> String {
    format!(
        "SELECT count(*), sum(l_extendedprice) FROM {table} \
         WHERE l_shipdate >= DATE '{}' AND l_shipdate < DATE '{}'",
        date_text(first_day),
        date_text(first_day + 7)
    )
}

/// What EXPLAIN ANALYZE says the week query's scan read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeekScan {
    /// Rows the query counted.
    pub rows: i64,
    /// Blocks decoded and skipped, over the two columns the query reads (`l_shipdate` and
    /// `l_extendedprice`, whose blocks hold the same rows).
    pub blocks_read: u64,
    pub blocks_skipped: u64,
}

/// The lines EXPLAIN ANALYZE prints for `sql`.
pub fn explain_analyze(session: &mut Session, sql: &str) -> Result<Vec<String>> {
    let plan = query(session, &format!("EXPLAIN ANALYZE {sql}"))?;
    let mut lines = Vec::new();
    for b in &plan {
        let col = b
            .column(0)
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .ok_or_else(|| anyhow!("EXPLAIN ANALYZE's column is not text"))?;
        lines.extend(col.iter().flatten().map(str::to_string));
    }
    Ok(lines)
}

/// Runs the week query under EXPLAIN ANALYZE and reads the scan's block counts from the plan.
pub fn week_scan(session: &mut Session, table: &str, first_day: i32) -> Result<WeekScan> {
    let sql = week_query(table, first_day);
    let rows = match query(session, &sql)?.first() {
        Some(b) if b.num_rows() == 1 => b
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .map(|a| a.value(0))
            .ok_or_else(|| anyhow!("count(*) is not a bigint"))?,
        _ => bail!("the week query returned no row"),
    };
    let lines = explain_analyze(session, &sql)?;
    let number = |line: &str, key: &str| -> Option<u64> {
        let rest = &line[line.find(key)? + key.len()..];
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    let scan = lines
        .iter()
        .find(|l| l.contains(" blocks read="))
        .ok_or_else(|| anyhow!("no scan in the plan:\n{}", lines.join("\n")))?;
    let (Some(read), Some(skipped)) = (
        number(scan, " blocks read="),
        scan.find(" blocks read=")
            .and_then(|p| number(&scan[p..], " skipped=")),
    ) else {
        bail!("no block counts in {scan:?}");
    };
    Ok(WeekScan {
        rows,
        blocks_read: read,
        blocks_skipped: skipped,
    })
}

/// Blocks of table `name`'s column `column` as STV_BLOCKLIST lists them.
pub fn column_blocks(session: &mut Session, name: &str, column: &str) -> Result<i64> {
    let index = Table::LineItem
        .columns()
        .iter()
        .position(|(c, _)| *c == column)
        .ok_or_else(|| anyhow!("lineitem has no column {column}"))?;
    let sql = format!(
        "SELECT count(*) FROM stv_blocklist b JOIN svv_table_info t ON b.tbl = t.table_id \
         WHERE t.\"table\" = '{name}' AND b.col = {index}"
    );
    match query(session, &sql)?.first() {
        Some(b) if b.num_rows() == 1 => b
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .map(|a| a.value(0))
            .ok_or_else(|| anyhow!("count(*) is not a bigint")),
        _ => bail!("the block count returned no row"),
    }
}

/// Runs one query and returns its batches.
pub fn query(session: &mut Session, sql: &str) -> Result<Vec<RecordBatch>> {
    match session.run(sql)?.pop() {
        Some(StatementResult::Query(q)) => Ok(q.batches),
        _ => bail!("{sql} returned no rows"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Dates around the range TPC-H uses, against known calendar days.
    #[test]
    fn dates() {
        assert_eq!(date_text(0), "1970-01-01");
        assert_eq!(date_text(FIRST_MONDAY_DAYS - 5), "1992-01-01");
        assert_eq!(date_text(FIRST_MONDAY_DAYS), "1992-01-06");
        assert_eq!(date_text(LAST_SHIPDATE_DAYS), "1998-12-01");
        assert_eq!(date_text(11_016), "2000-02-29");
    }

    // Batches cut at different rows compare equal; one changed value does not.
    #[test]
    fn same_rows_ignores_batch_boundaries() {
        use std::sync::Arc;
        let schema = Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
            "x",
            arrow_schema::DataType::Int64,
            false,
        )]));
        let batch = |v: Vec<i64>| {
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(v))]).unwrap()
        };
        let a = vec![batch(vec![1, 2, 3]), batch(vec![4, 5])];
        let b = vec![batch(vec![1]), batch(vec![2, 3, 4, 5])];
        assert!(same_rows(&a, &b));
        let c = vec![batch(vec![1]), batch(vec![2, 3, 4, 6])];
        assert!(!same_rows(&a, &c));
        assert!(!same_rows(&a, &b[..1]));
    }
}
