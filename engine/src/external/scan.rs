//! Reading an external table at query time.
//!
//! 1. Partitions: the filter's conjuncts that read only partition columns are evaluated over
//!    the partitions' values (one row per partition); partitions they reject are not read.
//! 2. Files of the remaining partitions are read in parallel, one rayon task per file:
//!    - Parquet: only the columns the query needs (matched by name, case-insensitively, as
//!      Spectrum and Athena match them; a column the file lacks reads as NULL), and only the
//!      row groups whose statistics may hold values in the zone-map ranges the planner
//!      derived from the filter (the same ranges that prune segments of local tables).
//!    - Text, CSV and JSON: COPY's readers, every row must load (the first bad one is the
//!      error, naming the file and line).
//! 3. Partition columns are added as constants, and the filter runs on every row read.

use arrow_array::{
    new_null_array, Array, ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array,
    Float64Array, Int16Array, Int32Array, Int64Array, RecordBatch, StringArray,
    Time64MicrosecondArray, TimestampMicrosecondArray, UInt32Array,
};
use arrow_cast::{can_cast_types, cast_with_options, CastOptions};
use arrow_schema::DataType;
use basalt_storage::{ColumnRange, SqlType, ZoneMap, ZoneValue};
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use rayon::prelude::*;

use crate::copy::values::ColumnBuilder;
use crate::copy::LoadPlan;
use crate::error::{Error, Result};
use crate::exec::make_batch;
use crate::external::source::{compression_of, ExternalSource, FileFormat};
use crate::interrupt::Interrupt;
use crate::kernels::eval::{evaluate_predicate, filter_batch};
use crate::planner::expr::{BinaryOp, Expr};
use crate::planner::ranges::column_ranges;
use crate::types::Datum;

/// Rows per batch read from a Parquet file.
const PARQUET_BATCH_ROWS: usize = 8192;

/// What a scan read and skipped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExternalCounts {
    pub partitions_read: usize,
    pub partitions_skipped: usize,
    pub files_read: usize,
    pub row_groups_read: usize,
    pub row_groups_skipped: usize,
}

/// A one-value array of `value` as type `ty`.
fn scalar_array(value: &Datum, ty: SqlType) -> Result<ArrayRef> {
    let mut b = ColumnBuilder::new(ty);
    b.append(value)?;
    b.finish()
}

/// `value` repeated `rows` times.
fn constant(value: &ArrayRef, rows: usize) -> Result<ArrayRef> {
    let idx = UInt32Array::from(vec![0u32; rows]);
    Ok(arrow_select::take::take(value.as_ref(), &idx, None)?)
}

/// The partitions (indices into `source.partitions`) that the filter's partition-only
/// conjuncts do not rule out.
pub fn prune_partitions(
    source: &ExternalSource,
    projection: &[usize],
    filter: Option<&Expr>,
) -> Result<Vec<usize>> {
    let all: Vec<usize> = (0..source.partitions.len()).collect();
    let data = source.table.columns.len();
    let Some(filter) = filter else {
        return Ok(all);
    };
    if source.table.partition_columns.is_empty() || source.partitions.is_empty() {
        return Ok(all);
    }
    let mut parts = Vec::new();
    filter.operands_of(BinaryOp::And, &mut parts);
    let partition_only: Vec<&Expr> = parts
        .into_iter()
        .filter(|c| {
            let cols = c.columns();
            !cols.is_empty()
                && cols
                    .iter()
                    .all(|i| projection.get(*i).is_some_and(|t| *t >= data))
        })
        .collect();
    if partition_only.is_empty() {
        return Ok(all);
    }
    let columns = source.columns();
    let n = source.partitions.len();
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(projection.len());
    for &t in projection {
        let ty = columns
            .get(t)
            .map(|c| c.ty)
            .ok_or_else(|| Error::Internal(format!("external column {t} out of range")))?;
        if t < data {
            arrays.push(new_null_array(&ty.arrow_type(), n));
        } else {
            let mut b = ColumnBuilder::new(ty);
            for p in &source.partitions {
                b.append(p.values.get(t - data).unwrap_or(&Datum::Null))?;
            }
            arrays.push(b.finish()?);
        }
    }
    let batch = make_batch(arrays, n)?;
    let mut keep = vec![true; n];
    for c in partition_only {
        let mask: BooleanArray = evaluate_predicate(c, &batch)?;
        for (i, k) in keep.iter_mut().enumerate() {
            *k &= mask.is_valid(i) && mask.value(i);
        }
    }
    Ok(all.into_iter().filter(|i| keep[*i]).collect())
}

/// The EXPLAIN line for a scan of `source`: the format and how many partitions and files
/// the filter lets through.
pub fn explain_note(
    source: &ExternalSource,
    projection: &[usize],
    filter: Option<&Expr>,
) -> String {
    let total_files = source.file_count();
    let format = match source.format {
        FileFormat::Parquet => "Parquet",
        FileFormat::Text => "text",
        FileFormat::Json => "JSON",
    };
    match prune_partitions(source, projection, filter) {
        Ok(kept) => {
            let files: usize = kept
                .iter()
                .filter_map(|i| source.partitions.get(*i))
                .map(|p| p.files.len())
                .sum();
            if source.table.partition_columns.is_empty() {
                format!("External {format} files: {files} of {total_files} read")
            } else {
                format!(
                    "External {format} files: {} of {} partitions, {files} of {total_files} files read",
                    kept.len(),
                    source.partitions.len()
                )
            }
        }
        Err(e) => format!("External {format} files: partition pruning failed: {e}"),
    }
}

/// Reads the `projection` columns (indices into the file columns then the partition
/// columns) of the rows that pass `filter`.
pub fn scan(
    source: &ExternalSource,
    projection: &[usize],
    filter: Option<&Expr>,
    interrupt: &Interrupt,
) -> Result<(Vec<RecordBatch>, ExternalCounts)> {
    let kept = prune_partitions(source, projection, filter)?;
    let columns = source.columns();
    let types: Vec<SqlType> = projection
        .iter()
        .filter_map(|c| columns.get(*c).map(|c| c.ty))
        .collect();
    let data = source.table.columns.len();
    let ranges: Vec<ColumnRange> = filter
        .map(|f| column_ranges(f, projection, &types))
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.column < data)
        .collect();
    // The file columns the query needs, each once, in the order first needed.
    let mut needed: Vec<usize> = Vec::new();
    for &c in projection {
        if c < data && !needed.contains(&c) {
            needed.push(c);
        }
    }
    let tasks: Vec<(usize, &str)> = kept
        .iter()
        .filter_map(|i| source.partitions.get(*i).map(|p| (*i, p)))
        .flat_map(|(i, p)| p.files.iter().map(move |f| (i, f.as_str())))
        .collect();
    let results: Vec<(Vec<RecordBatch>, ExternalCounts)> = tasks
        .par_iter()
        .map(|(p, file)| {
            interrupt.check()?;
            let (raw, counts) = read_file(source, file, &needed, &ranges, interrupt)?;
            let partition = &source.partitions[*p];
            let constants: Vec<Option<ArrayRef>> = projection
                .iter()
                .map(|&c| {
                    if c < data {
                        return Ok(None);
                    }
                    let ty = columns
                        .get(c)
                        .map(|c| c.ty)
                        .ok_or_else(|| Error::Internal("external column".into()))?;
                    let v = partition.values.get(c - data).unwrap_or(&Datum::Null);
                    scalar_array(v, ty).map(Some)
                })
                .collect::<Result<_>>()?;
            let mut out = Vec::with_capacity(raw.len());
            for (rows, batch) in raw {
                let mut cols: Vec<ArrayRef> = Vec::with_capacity(projection.len());
                for (i, &c) in projection.iter().enumerate() {
                    match &constants[i] {
                        Some(v) => cols.push(constant(v, rows)?),
                        None => {
                            let at = needed.iter().position(|n| *n == c).ok_or_else(|| {
                                Error::Internal("external column not read".into())
                            })?;
                            cols.push(batch[at].clone());
                        }
                    }
                }
                let batch = make_batch(cols, rows)?;
                let batch = match filter {
                    Some(f) => {
                        let mask = evaluate_predicate(f, &batch)?;
                        filter_batch(&batch, &mask)?
                    }
                    None => batch,
                };
                if batch.num_rows() > 0 {
                    out.push(batch);
                }
            }
            Ok((out, counts))
        })
        .collect::<Result<_>>()?;
    let mut counts = ExternalCounts {
        partitions_read: kept.len(),
        partitions_skipped: source.partitions.len() - kept.len(),
        ..Default::default()
    };
    let mut batches = Vec::new();
    for (b, c) in results {
        batches.extend(b);
        counts.files_read += c.files_read;
        counts.row_groups_read += c.row_groups_read;
        counts.row_groups_skipped += c.row_groups_skipped;
    }
    Ok((batches, counts))
}

/// One file's rows: for each batch its row count and the `needed` file columns, in order.
type FileRows = Vec<(usize, Vec<ArrayRef>)>;

fn read_file(
    source: &ExternalSource,
    file: &str,
    needed: &[usize],
    ranges: &[ColumnRange],
    interrupt: &Interrupt,
) -> Result<(FileRows, ExternalCounts)> {
    let fs = source.files.as_ref();
    let shown = fs.display(file);
    let bytes = fs.read(file)?;
    let mut counts = ExternalCounts {
        files_read: 1,
        ..Default::default()
    };
    if source.format == FileFormat::Parquet {
        let rows = read_parquet(source, bytes, &shown, needed, ranges, &mut counts)?;
        return Ok((rows, counts));
    }
    let mut options = source.options.clone();
    options.compression = compression_of(file);
    let table = basalt_storage::TableDef::new(
        source.table.schema.clone(),
        source.table.name.clone(),
        source.table.columns.clone(),
    );
    let plan = LoadPlan {
        targets: table
            .columns
            .iter()
            .enumerate()
            .map(|(index, c)| crate::copy::TargetColumn {
                index,
                name: c.name.clone(),
                ty: c.ty,
                nullable: true,
            })
            .collect(),
        table,
        options,
    };
    let batches = crate::copy::read_external_file(fs, file, bytes, &plan, interrupt)?;
    Ok((
        batches
            .into_iter()
            .map(|b| {
                let cols = needed.iter().map(|c| b.column(*c).clone()).collect();
                (b.num_rows(), cols)
            })
            .collect(),
        counts,
    ))
}

fn read_parquet(
    source: &ExternalSource,
    bytes: Vec<u8>,
    file: &str,
    needed: &[usize],
    ranges: &[ColumnRange],
    counts: &mut ExternalCounts,
) -> Result<FileRows> {
    let input = crate::copy::parquet::ParquetInput::open(bytes::Bytes::from(bytes), file)?;
    let schema = input.schema().clone();
    let metadata = input.metadata().clone();
    let columns = &source.table.columns;
    // Where each table column is in the file, by name.
    let position = |c: usize| -> Option<usize> {
        let name = &columns.get(c)?.name;
        schema
            .fields()
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(name))
    };
    let mut roots = Vec::new();
    for &c in needed {
        let Some(i) = position(c) else { continue };
        let (col, field) = (&columns[c], &schema.fields()[i]);
        if !crate::copy::parquet::compatible(field.data_type(), col.ty)
            || !can_cast_types(field.data_type(), &col.ty.arrow_type())
        {
            return Err(Error::DatatypeMismatch {
                message: format!(
                    "column \"{}\" of external table \"{}.{}\" is of type {} but the Parquet file \"{file}\" holds {} in column \"{}\"",
                    col.name,
                    source.table.schema,
                    source.table.name,
                    col.ty.pg_name(),
                    field.data_type(),
                    field.name()
                ),
                position: None,
            });
        }
        roots.push(i);
    }
    // Row groups: kept unless a range rules them out by their statistics.
    let groups = metadata.row_groups();
    let mut keep = vec![true; groups.len()];
    for r in ranges {
        let Some(col) = columns.get(r.column) else {
            continue;
        };
        let Some(i) = position(r.column) else {
            // The file lacks the column: every value is NULL, and NULL is in no range.
            keep.iter_mut().for_each(|k| *k = false);
            break;
        };
        let field = &schema.fields()[i];
        let Ok(converter) = StatisticsConverter::try_new(
            field.name(),
            input.reader_schema(),
            input.parquet_schema(),
        ) else {
            continue;
        };
        let (Ok(mins), Ok(maxes), Ok(nulls)) = (
            converter.row_group_mins(groups.iter()),
            converter.row_group_maxes(groups.iter()),
            converter.row_group_null_counts(groups.iter()),
        ) else {
            continue;
        };
        for (g, k) in keep.iter_mut().enumerate() {
            let rows = groups[g].num_rows().max(0) as u64;
            let null_count = nulls.is_valid(g).then(|| nulls.value(g));
            let zone = match (zone_value(&mins, g, col.ty), zone_value(&maxes, g, col.ty)) {
                (Some(min), Some(max)) => ZoneMap {
                    row_count: rows,
                    null_count: null_count.unwrap_or(0).min(rows),
                    min: Some(min),
                    max: Some(max),
                    min_exact: true,
                    max_exact: true,
                },
                // Every value NULL: no value is in any range.
                (None, None) if null_count == Some(rows) => ZoneMap {
                    row_count: rows,
                    null_count: rows,
                    ..ZoneMap::empty()
                },
                // No usable statistics: nothing is known.
                _ => continue,
            };
            *k &= r.may_match(&zone);
        }
    }
    let kept: Vec<usize> = (0..groups.len()).filter(|g| keep[*g]).collect();
    counts.row_groups_read += kept.len();
    counts.row_groups_skipped += groups.len() - kept.len();
    if kept.is_empty() {
        return Ok(Vec::new());
    }
    roots.sort_unstable();
    roots.dedup();
    let reader = input.read(&roots, Some(kept), PARQUET_BATCH_ROWS)?;
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch?;
        let rows = batch.num_rows();
        let mut cols = Vec::with_capacity(needed.len());
        for &c in needed {
            let col = &columns[c];
            let want = col.ty.arrow_type();
            let found = position(c).and_then(|i| {
                let name = schema.fields()[i].name();
                batch.schema().index_of(name).ok()
            });
            cols.push(match found {
                None => new_null_array(&want, rows),
                Some(j) => {
                    let a = batch.column(j);
                    if a.data_type() == &want {
                        a.clone()
                    } else {
                        cast_with_options(a, &want, &options).map_err(|e| Error::Load {
                            message: format!("{e} (file {file}, column {})", col.name),
                            cause: Box::new(Error::from(e)),
                        })?
                    }
                }
            });
        }
        out.push((rows, cols));
    }
    Ok(out)
}

/// Row group `g`'s bound in `stats` as a zone-map value of a `ty` column, when the file's
/// type orders its values as `ty` does (no conversion that could move a bound inwards).
fn zone_value(stats: &ArrayRef, g: usize, ty: SqlType) -> Option<ZoneValue> {
    if g >= stats.len() || stats.is_null(g) {
        return None;
    }
    let a = stats.as_any();
    let int = |v: i64| Some(ZoneValue::Int(v));
    match (ty, stats.data_type()) {
        (SqlType::SmallInt | SqlType::Integer | SqlType::BigInt, DataType::Int16) => {
            int(a.downcast_ref::<Int16Array>()?.value(g).into())
        }
        (SqlType::SmallInt | SqlType::Integer | SqlType::BigInt, DataType::Int32) => {
            int(a.downcast_ref::<Int32Array>()?.value(g).into())
        }
        (SqlType::SmallInt | SqlType::Integer | SqlType::BigInt, DataType::Int64) => {
            int(a.downcast_ref::<Int64Array>()?.value(g))
        }
        (SqlType::Date, DataType::Date32) => int(a.downcast_ref::<Date32Array>()?.value(g).into()),
        (SqlType::Timestamp, DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, None)) => {
            int(a.downcast_ref::<TimestampMicrosecondArray>()?.value(g))
        }
        // Microseconds since the epoch in UTC whatever the zone label says.
        (
            SqlType::Timestamptz,
            DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some(_)),
        ) => int(a.downcast_ref::<TimestampMicrosecondArray>()?.value(g)),
        (SqlType::Time, DataType::Time64(arrow_schema::TimeUnit::Microsecond)) => {
            int(a.downcast_ref::<Time64MicrosecondArray>()?.value(g))
        }
        (SqlType::Decimal { scale, .. }, DataType::Decimal128(_, s)) if *s == scale => Some(
            ZoneValue::Decimal(a.downcast_ref::<Decimal128Array>()?.value(g)),
        ),
        (SqlType::Real | SqlType::Double, DataType::Float64) => {
            Some(ZoneValue::Float(a.downcast_ref::<Float64Array>()?.value(g)))
        }
        (SqlType::Real | SqlType::Double, DataType::Float32) => Some(ZoneValue::Float(
            a.downcast_ref::<Float32Array>()?.value(g).into(),
        )),
        (SqlType::Boolean, DataType::Boolean) => Some(ZoneValue::Boolean(
            a.downcast_ref::<BooleanArray>()?.value(g),
        )),
        (SqlType::Varchar { .. } | SqlType::Text, DataType::Utf8) => Some(ZoneValue::Bytes(
            a.downcast_ref::<StringArray>()?
                .value(g)
                .as_bytes()
                .to_vec(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use arrow_array::Int64Array;
    use arrow_schema::{Field, Schema};
    use basalt_storage::{ColumnDef, ExternalTable};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    use super::*;
    use crate::copy::files::LocalFiles;

    fn column(name: &str, ty: SqlType) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            ty,
            nullable: true,
            encoding: Default::default(),
        }
    }

    /// A Parquet file of BIGINT `x` = `values`, in row groups of `group_rows`.
    fn write_parquet(path: &std::path::Path, values: std::ops::Range<i64>, group_rows: usize) {
        let schema = Arc::new(Schema::new(vec![Field::new("X", DataType::Int64, true)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from_iter_values(values))],
        )
        .unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group_rows))
            .build();
        let file = std::fs::File::create(path).unwrap();
        let mut w = ArrowWriter::try_new(file, schema, Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    fn compare(op: BinaryOp, column: usize, value: Datum, ty: SqlType) -> Expr {
        Expr::Binary {
            op,
            left: Box::new(Expr::Column { index: column, ty }),
            right: Box::new(Expr::literal(value, ty)),
            ty: SqlType::Boolean,
        }
    }

    #[test]
    fn row_groups_and_partitions_are_skipped_and_results_unchanged() {
        // Input: two partitions p=1 and p=2 of one Parquet file each, x = 0..300 in row groups
        // of 100 rows; scanned for x > 250, for p = 2, and for both.
        let dir = tempfile::tempdir().unwrap();
        for p in [1, 2] {
            let d = dir.path().join(format!("t/p={p}"));
            std::fs::create_dir_all(&d).unwrap();
            write_parquet(&d.join("part-0.parquet"), 0..300, 100);
        }
        std::fs::write(dir.path().join("t/_SUCCESS"), b"").unwrap();
        let table = ExternalTable {
            schema: "s".into(),
            name: "t".into(),
            columns: vec![column("x", SqlType::BigInt)],
            partition_columns: vec![column("p", SqlType::Integer)],
            stored_as: "PARQUET".into(),
            serde: String::new(),
            serde_parameters: BTreeMap::new(),
            location: dir.path().join("t").display().to_string(),
            properties: BTreeMap::new(),
            partitions: Vec::new(),
        };
        let files = Arc::new(LocalFiles::new(dir.path()));
        let source = crate::external::source::bind(&table, files).unwrap();
        assert_eq!(source.partitions.len(), 2);
        let interrupt = Interrupt::none();
        let rows = |batches: &[RecordBatch]| batches.iter().map(|b| b.num_rows()).sum::<usize>();

        let x_gt = compare(BinaryOp::Gt, 0, Datum::Int(250), SqlType::BigInt);
        let (batches, counts) = scan(&source, &[0, 1], Some(&x_gt), &interrupt).unwrap();
        assert_eq!(rows(&batches), 2 * 49);
        assert_eq!((counts.row_groups_read, counts.row_groups_skipped), (2, 4));
        assert_eq!(counts.files_read, 2);

        let p_eq = compare(BinaryOp::Eq, 1, Datum::Int(2), SqlType::Integer);
        let (batches, counts) = scan(&source, &[0, 1], Some(&p_eq), &interrupt).unwrap();
        assert_eq!(rows(&batches), 300);
        assert_eq!((counts.partitions_read, counts.partitions_skipped), (1, 1));
        assert_eq!(counts.files_read, 1);

        let both = Expr::Binary {
            op: BinaryOp::And,
            left: Box::new(x_gt.clone()),
            right: Box::new(p_eq),
            ty: SqlType::Boolean,
        };
        let (batches, counts) = scan(&source, &[0, 1], Some(&both), &interrupt).unwrap();
        let xs: Vec<i64> = batches
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                a.values().to_vec()
            })
            .collect();
        assert_eq!(xs, (251..300).collect::<Vec<_>>());
        assert_eq!((counts.row_groups_read, counts.row_groups_skipped), (1, 2));

        // Only the partition column: rows are counted from the files without reading x.
        let (batches, _) = scan(&source, &[1], None, &interrupt).unwrap();
        assert_eq!(rows(&batches), 600);
    }

    #[test]
    fn external_definitions_survive_a_restart() {
        // Input: an external schema and a Parquet table created in one engine, queried after
        // the data directory is opened again; then a file that is not Parquet.
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("files");
        std::fs::create_dir_all(&data).unwrap();
        write_parquet(&data.join("a.parquet"), 0..10, 4);
        let db = dir.path().join("db");
        {
            let engine = crate::Engine::open(&db).unwrap();
            let mut s = engine.session("test");
            s.run("CREATE EXTERNAL SCHEMA s FROM DATA CATALOG DATABASE 'd'")
                .unwrap();
            s.run(&format!(
                "CREATE EXTERNAL TABLE s.t (x BIGINT) STORED AS PARQUET LOCATION '{}'",
                data.display()
            ))
            .unwrap();
        }
        let engine = crate::Engine::open(&db).unwrap();
        let mut s = engine.session("test");
        let out = s.run("SELECT sum(x) FROM s.t WHERE x >= 5").unwrap();
        let crate::StatementResult::Query(q) = &out[0] else {
            panic!("{out:?}")
        };
        let sum = crate::pgtext::format_value(
            q.batches[0].column(0).as_ref(),
            0,
            q.columns[0].ty,
            crate::pgtext::Zone::UTC,
        );
        assert_eq!(sum.as_deref(), Some("35"));
        std::fs::write(data.join("b.parquet"), b"not parquet").unwrap();
        let e = s.run("SELECT count(*) FROM s.t").unwrap_err();
        assert!(
            e.to_string().contains("could not read Parquet file")
                && e.to_string().contains("b.parquet"),
            "{e}"
        );
    }
}
