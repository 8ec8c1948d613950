//! Parquet files: COPY ... FORMAT AS PARQUET reads columns by position, as Redshift does;
//! UNLOAD ... FORMAT AS PARQUET writes the table types faithfully, Snappy-compressed:
//! DECIMAL as decimal, DATE as date, TIMESTAMP as TIMESTAMP(MICROS, isAdjustedToUTC=false),
//! TIMESTAMPTZ as TIMESTAMP(MICROS, isAdjustedToUTC=true), TIME as TIME(MICROS) and INTERVAL
//! as Parquet's INTERVAL.
//!
//! Parquet's INTERVAL is 12 bytes: months, days and milliseconds, each a little-endian
//! unsigned 32-bit integer. Basalt's intervals are signed and keep microseconds, so UNLOAD
//! refuses (22008) an interval with a negative part, a fraction of a millisecond, or a time
//! part longer than 2^32 - 1 milliseconds, rather than write a value that reads back
//! different. The arrow reader gives only part of an INTERVAL column for each Arrow interval
//! unit (months for YEAR_MONTH, days and milliseconds for DAY_TIME), so [`read`] reads such
//! a column under both and joins the halves.

use std::sync::Arc;

use rayon::prelude::*;

use arrow_array::cast::AsArray;
use arrow_array::types::{IntervalDayTimeType, IntervalMonthDayNanoType, IntervalYearMonthType};
use arrow_array::{Array, ArrayRef, FixedSizeBinaryArray, IntervalMonthDayNanoArray, RecordBatch};
use arrow_buffer::IntervalMonthDayNano;
use arrow_cast::{can_cast_types, cast_with_options, CastOptions};
use arrow_schema::{DataType, Field, IntervalUnit, Schema, SchemaRef};
use basalt_storage::SqlType;
use parquet::arrow::arrow_reader::{
    ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, ConvertedType};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::ChunkReader;

use crate::copy::LoadPlan;
use crate::error::{Error, Result};

/// Rows per batch read from a Parquet file.
const READ_BATCH_ROWS: usize = 8192;

/// Rows per batch COPY reads from a Parquet file (a segment's blocks take several).
const COPY_BATCH_ROWS: usize = 65_536;

fn corrupt(file: &str, e: impl std::fmt::Display) -> Error {
    Error::DataCorrupted {
        message: format!("could not read Parquet file \"{file}\": {e}"),
    }
}

/// True when a Parquet column of type `from` may load into a column of type `to`.
pub(crate) fn compatible(from: &DataType, to: SqlType) -> bool {
    use DataType as D;
    let int = matches!(
        from,
        D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32 | D::UInt64
    );
    match to {
        SqlType::SmallInt | SqlType::Integer | SqlType::BigInt => int,
        SqlType::Decimal { .. } => {
            int || matches!(
                from,
                D::Decimal128(..) | D::Decimal64(..) | D::Decimal32(..)
            )
        }
        SqlType::Real | SqlType::Double => {
            int || matches!(
                from,
                D::Float16 | D::Float32 | D::Float64 | D::Decimal128(..)
            )
        }
        SqlType::Boolean => matches!(from, D::Boolean),
        SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text => match from {
            D::Utf8 | D::LargeUtf8 | D::Utf8View => true,
            D::Dictionary(_, v) => matches!(v.as_ref(), D::Utf8 | D::LargeUtf8),
            _ => false,
        },
        SqlType::Date => matches!(from, D::Date32 | D::Date64),
        // A timestamp adjusted to UTC loads into TIMESTAMP as its UTC value, and one that is
        // not into TIMESTAMPTZ as a UTC value, as Redshift loads them.
        SqlType::Timestamp | SqlType::Timestamptz => matches!(from, D::Timestamp(..) | D::Date32),
        SqlType::Time => matches!(from, D::Time32(_) | D::Time64(_)),
        SqlType::Interval => matches!(from, D::Interval(IntervalUnit::MonthDayNano)),
        // No table column is an array.
        SqlType::Array { .. } => false,
    }
}

/// An open file the Parquet reader reads ranges of, by position, from any thread: the file
/// is never read whole into memory.
#[derive(Debug, Clone)]
pub struct SharedFile {
    file: Arc<std::fs::File>,
    len: u64,
}

impl SharedFile {
    pub fn new(file: std::fs::File, shown: &str) -> Result<SharedFile> {
        let len = file
            .metadata()
            .map_err(|e| crate::copy::files::io_error(shown, "read", &e))?
            .len();
        Ok(SharedFile {
            file: Arc::new(file),
            len,
        })
    }
}

impl parquet::file::reader::Length for SharedFile {
    fn len(&self) -> u64 {
        self.len
    }
}

/// A [`SharedFile`] read from a position on.
pub struct SharedFileReader {
    file: Arc<std::fs::File>,
    at: u64,
}

impl std::io::Read for SharedFileReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

impl parquet::file::reader::ChunkReader for SharedFile {
    type T = SharedFileReader;

    fn get_read(&self, start: u64) -> parquet::errors::Result<SharedFileReader> {
        Ok(SharedFileReader {
            file: self.file.clone(),
            at: start,
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0u8; length];
        self.file
            .read_exact_at(&mut buf, start)
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))?;
        Ok(bytes::Bytes::from(buf))
    }
}

/// Checks a Parquet file's columns against the COPY's target columns, by position.
fn check_columns(schema: &SchemaRef, file: &str, plan: &LoadPlan) -> Result<()> {
    if schema.fields().len() != plan.targets.len() {
        return Err(Error::BadCopyFileFormat {
            message: format!(
                "the Parquet file \"{file}\" has {} columns but COPY loads {}",
                schema.fields().len(),
                plan.targets.len()
            ),
        });
    }
    for (i, (f, t)) in schema.fields().iter().zip(&plan.targets).enumerate() {
        if !compatible(f.data_type(), t.ty) || !can_cast_types(f.data_type(), &t.ty.arrow_type()) {
            return Err(Error::DatatypeMismatch {
                message: format!(
                    "column \"{}\" is of type {} but column {} (\"{}\") of the Parquet file \"{file}\" holds {}",
                    t.name,
                    t.ty.pg_name(),
                    i + 1,
                    f.name(),
                    f.data_type()
                ),
                position: None,
            });
        }
    }
    Ok(())
}

/// The batches of the table's columns from row group `group` of a Parquet file.
fn read_row_group(
    input: &SharedFile,
    file: &str,
    plan: &LoadPlan,
    group: usize,
) -> Result<Vec<RecordBatch>> {
    let file_data = ParquetInput::open(input.clone(), file)?;
    let all: Vec<usize> = (0..file_data.schema().fields().len()).collect();
    let reader = file_data.read(&all, Some(vec![group]), COPY_BATCH_ROWS)?;
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch?;
        let mut arrays = Vec::with_capacity(plan.targets.len());
        for (i, t) in plan.targets.iter().enumerate() {
            let col = batch.column(i);
            let want = t.ty.arrow_type();
            let array = if col.data_type() == &want {
                col.clone()
            } else {
                cast_with_options(col, &want, &options).map_err(|e| Error::Load {
                    message: format!("{e} (file {file}, column {})", t.name),
                    cause: Box::new(Error::from(e)),
                })?
            };
            // A file may hold any 32- or 64-bit number as a date or timestamp.
            crate::types::range::check_column(array.as_ref(), t.ty).map_err(|e| Error::Load {
                message: format!("{e} (file {file}, column {})", t.name),
                cause: Box::new(e),
            })?;
            arrays.push(array);
        }
        out.push(plan.table_batch(arrays, batch.num_rows())?);
    }
    Ok(out)
}

/// Reads a Parquet file into batches of the table's columns, handing them to `emit` in file
/// order as they are read: a window of row groups at a time, the groups of a window decoded
/// in parallel. `emit` returns `false` to stop.
pub(crate) fn stream_parquet(
    input: SharedFile,
    file: &str,
    plan: &LoadPlan,
    interrupt: &crate::interrupt::Interrupt,
    emit: &mut dyn FnMut(Vec<RecordBatch>) -> Result<bool>,
) -> Result<()> {
    let groups = {
        let file_data = ParquetInput::open(input.clone(), file)?;
        check_columns(file_data.schema(), file, plan)?;
        file_data.metadata().num_row_groups()
    };
    let all: Vec<usize> = (0..groups).collect();
    for window in all.chunks(rayon::current_num_threads().max(1)) {
        interrupt.check()?;
        let parts: Vec<Result<Vec<RecordBatch>>> = window
            .par_iter()
            .map(|g| read_row_group(&input, file, plan, *g))
            .collect();
        for part in parts {
            if !emit(part?)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Writes Parquet files for one output stream, starting a new file when one passes
/// `max_bytes`. Returns each file's bytes and row count.
pub fn encode_parquet(
    schema: Arc<Schema>,
    batches: &[RecordBatch],
    max_bytes: u64,
) -> Result<Vec<(Vec<u8>, u64)>> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let fail = |e: parquet::errors::ParquetError| Error::Internal(format!("Parquet writer: {e}"));
    // The Parquet schema comes from the table types, with INTERVAL columns as Parquet's
    // INTERVAL (the converter's mapping of any Arrow interval); their values go to the writer
    // as the 12 bytes themselves. The Parquet logical types say everything, so no Arrow
    // schema is embedded (it would call the INTERVAL columns binary).
    let is_interval: Vec<bool> = schema
        .fields()
        .iter()
        .map(|f| matches!(f.data_type(), DataType::Interval(_)))
        .collect();
    let parquet_schema = ArrowSchemaConverter::new().convert(&schema).map_err(fail)?;
    let written = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .zip(&is_interval)
            .map(|(f, &iv)| {
                if iv {
                    Field::new(f.name(), DataType::FixedSizeBinary(INTERVAL_BYTES), true)
                } else {
                    f.as_ref().clone()
                }
            })
            .collect::<Vec<_>>(),
    ));
    let options = ArrowWriterOptions::new()
        .with_properties(props)
        .with_skip_arrow_metadata(true)
        .with_parquet_schema(parquet_schema);
    let new_writer = || {
        ArrowWriter::try_new_with_options(Vec::new(), written.clone(), options.clone())
            .map_err(fail)
    };
    let mut files = Vec::new();
    let mut writer = new_writer()?;
    let mut rows = 0u64;
    for batch in batches {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let len = READ_BATCH_ROWS.min(batch.num_rows() - offset);
            let part = batch.slice(offset, len);
            let mut columns = Vec::with_capacity(part.num_columns());
            for ((col, &iv), field) in part.columns().iter().zip(&is_interval).zip(schema.fields())
            {
                columns.push(if iv {
                    interval_bytes(col, field.name())?
                } else {
                    col.clone()
                });
            }
            writer
                .write(&RecordBatch::try_new(written.clone(), columns)?)
                .map_err(fail)?;
            rows += len as u64;
            offset += len;
            let size = (writer.bytes_written() + writer.in_progress_size()) as u64;
            if size >= max_bytes
                && (offset < batch.num_rows()
                    || !std::ptr::eq(batch, batches.last().unwrap_or(batch)))
            {
                files.push((writer.into_inner().map_err(fail)?, rows));
                rows = 0;
                writer = new_writer()?;
            }
        }
    }
    let last = writer.into_inner().map_err(fail)?;
    if rows > 0 || files.is_empty() {
        files.push((last, rows));
    }
    Ok(files)
}

/// Bytes of a Parquet INTERVAL value.
const INTERVAL_BYTES: i32 = 12;

/// Microseconds per millisecond; Arrow's interval nanoseconds per millisecond.
const NANOS_PER_MILLI: i64 = 1_000_000;

/// An interval column as Parquet INTERVAL values: months, days and milliseconds, each a
/// little-endian u32. A value Parquet cannot hold exactly is an error naming the column.
fn interval_bytes(col: &ArrayRef, column: &str) -> Result<ArrayRef> {
    let values = col
        .as_primitive_opt::<IntervalMonthDayNanoType>()
        .ok_or_else(|| Error::Internal(format!("column \"{column}\" is not an interval")))?;
    let mut out = Vec::with_capacity(values.len());
    for v in values.iter() {
        let Some(v) = v else {
            out.push(None);
            continue;
        };
        out.push(Some(encode_interval(v).map_err(|why| {
            let mut shown = String::new();
            crate::types::temporal::write_interval(
                &mut shown,
                crate::types::temporal::Interval::from_arrow(v),
            );
            Error::InvalidDatetime {
                message: format!(
                    "interval \"{shown}\" of column \"{column}\" is out of range for Parquet's INTERVAL: {why}"
                ),
            }
        })?));
    }
    let array =
        FixedSizeBinaryArray::try_from_sparse_iter_with_size(out.into_iter(), INTERVAL_BYTES)?;
    Ok(Arc::new(array))
}

/// The 12 bytes of one interval, or why it has none.
fn encode_interval(v: IntervalMonthDayNano) -> std::result::Result<[u8; 12], &'static str> {
    if v.months < 0 || v.days < 0 || v.nanoseconds < 0 {
        return Err("its months, days and milliseconds cannot be negative");
    }
    if v.nanoseconds % NANOS_PER_MILLI != 0 {
        return Err("it holds whole milliseconds only");
    }
    let millis = u32::try_from(v.nanoseconds / NANOS_PER_MILLI)
        .map_err(|_| "its time part holds at most 4294967295 milliseconds")?;
    let mut b = [0u8; 12];
    b[0..4].copy_from_slice(&(v.months as u32).to_le_bytes());
    b[4..8].copy_from_slice(&(v.days as u32).to_le_bytes());
    b[8..12].copy_from_slice(&millis.to_le_bytes());
    Ok(b)
}

/// An open Parquet file, read through the arrow reader with its INTERVAL columns whole.
pub(crate) struct ParquetInput<T: ChunkReader + 'static = bytes::Bytes> {
    bytes: T,
    file: String,
    builder: ParquetRecordBatchReaderBuilder<T>,
    /// The file's columns as Basalt reads them: INTERVAL columns as `MonthDayNano`.
    schema: SchemaRef,
    /// The reader's schema with INTERVAL columns as `YearMonth`, when the file has any.
    months_hint: Option<SchemaRef>,
    /// Whether each top-level column is a Parquet INTERVAL.
    is_interval: Vec<bool>,
}

impl<T: ChunkReader + Clone + 'static> ParquetInput<T> {
    /// Reads a file's footer; a file that is not Parquet is `DataCorrupted`.
    pub(crate) fn open(bytes: T, file: &str) -> Result<ParquetInput<T>> {
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes.clone())
            .map_err(|e| corrupt(file, e))?;
        let roots = builder.parquet_schema().root_schema().get_fields().to_vec();
        let is_interval: Vec<bool> = roots
            .iter()
            .map(|t| {
                t.is_primitive() && t.get_basic_info().converted_type() == ConvertedType::INTERVAL
            })
            .collect();
        if !is_interval.iter().any(|&b| b) {
            let schema = builder.schema().clone();
            return Ok(ParquetInput {
                bytes,
                file: file.to_string(),
                builder,
                schema,
                months_hint: None,
                is_interval,
            });
        }
        let hinted = |unit: IntervalUnit| -> SchemaRef {
            Arc::new(Schema::new(
                builder
                    .schema()
                    .fields()
                    .iter()
                    .zip(&is_interval)
                    .map(|(f, &iv)| {
                        if iv {
                            Field::new(f.name(), DataType::Interval(unit), f.is_nullable())
                        } else {
                            f.as_ref().clone()
                        }
                    })
                    .collect::<Vec<_>>(),
            ))
        };
        let (day_time, months, schema) = (
            hinted(IntervalUnit::DayTime),
            hinted(IntervalUnit::YearMonth),
            hinted(IntervalUnit::MonthDayNano),
        );
        let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(
            bytes.clone(),
            ArrowReaderOptions::new().with_schema(day_time),
        )
        .map_err(|e| corrupt(file, e))?;
        Ok(ParquetInput {
            bytes,
            file: file.to_string(),
            builder,
            schema,
            months_hint: Some(months),
            is_interval,
        })
    }

    /// The file's columns as Basalt reads them.
    pub(crate) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The arrow reader's own schema (INTERVAL columns as `DayTime`), for statistics.
    pub(crate) fn reader_schema(&self) -> &SchemaRef {
        self.builder.schema()
    }

    pub(crate) fn metadata(&self) -> &Arc<parquet::file::metadata::ParquetMetaData> {
        self.builder.metadata()
    }

    pub(crate) fn parquet_schema(&self) -> &parquet::schema::types::SchemaDescriptor {
        self.builder.parquet_schema()
    }

    /// Batches of the top-level columns `roots` (in file order) of the row groups
    /// `row_groups` (every one when `None`).
    pub(crate) fn read(
        self,
        roots: &[usize],
        row_groups: Option<Vec<usize>>,
        batch_rows: usize,
    ) -> Result<ParquetBatches> {
        let file = self.file.clone();
        let mask = ProjectionMask::roots(self.builder.parquet_schema(), roots.iter().copied());
        let mut builder = self
            .builder
            .with_projection(mask)
            .with_batch_size(batch_rows);
        if let Some(g) = &row_groups {
            builder = builder.with_row_groups(g.clone());
        }
        let main = builder.build().map_err(|e| corrupt(&file, e))?;
        let interval_roots: Vec<usize> = roots
            .iter()
            .copied()
            .filter(|&r| self.is_interval.get(r).copied().unwrap_or(false))
            .collect();
        let months = match (&self.months_hint, interval_roots.is_empty()) {
            (Some(hint), false) => {
                let b = ParquetRecordBatchReaderBuilder::try_new_with_options(
                    self.bytes,
                    ArrowReaderOptions::new().with_schema(hint.clone()),
                )
                .map_err(|e| corrupt(&file, e))?;
                let mask = ProjectionMask::roots(b.parquet_schema(), interval_roots);
                let mut b = b.with_projection(mask).with_batch_size(batch_rows);
                if let Some(g) = row_groups {
                    b = b.with_row_groups(g);
                }
                Some(b.build().map_err(|e| corrupt(&file, e))?)
            }
            _ => None,
        };
        let schema = Arc::new(Schema::new(
            self.schema
                .fields()
                .iter()
                .enumerate()
                .filter(|(i, _)| roots.contains(i))
                .map(|(_, f)| f.as_ref().clone())
                .collect::<Vec<_>>(),
        ));
        Ok(ParquetBatches {
            file,
            main,
            months,
            schema,
        })
    }
}

/// The batches of a [`ParquetInput`]: the main reader's, with each INTERVAL column's months
/// taken from a second reader of those columns alone (its batches line up row for row).
pub(crate) struct ParquetBatches {
    file: String,
    main: ParquetRecordBatchReader,
    months: Option<ParquetRecordBatchReader>,
    schema: SchemaRef,
}

impl ParquetBatches {
    fn join(&self, batch: RecordBatch, months: Option<RecordBatch>) -> Result<RecordBatch> {
        let Some(months) = months else {
            return Ok(batch);
        };
        if months.num_rows() != batch.num_rows() {
            return Err(Error::Internal(format!(
                "the INTERVAL columns of Parquet file \"{}\" read {} rows beside {}",
                self.file,
                months.num_rows(),
                batch.num_rows()
            )));
        }
        let mut columns = Vec::with_capacity(batch.num_columns());
        for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
            let Some(day_time) = col.as_primitive_opt::<IntervalDayTimeType>() else {
                columns.push(col.clone());
                continue;
            };
            let m = months
                .column_by_name(field.name())
                .and_then(|c| c.as_primitive_opt::<IntervalYearMonthType>())
                .ok_or_else(|| {
                    Error::Internal(format!(
                        "no months for INTERVAL column \"{}\"",
                        field.name()
                    ))
                })?;
            let mut values = Vec::with_capacity(day_time.len());
            for (dt, mo) in day_time.iter().zip(m.iter()) {
                values.push(match (dt, mo) {
                    (Some(dt), Some(mo)) => Some(
                        decode_interval(mo, dt.days, dt.milliseconds).ok_or_else(|| {
                            Error::InvalidDatetime {
                                message: format!(
                                    "interval out of range in column \"{}\" of Parquet file \"{}\"",
                                    field.name(),
                                    self.file
                                ),
                            }
                        })?,
                    ),
                    _ => None,
                });
            }
            columns.push(Arc::new(IntervalMonthDayNanoArray::from(values)) as ArrayRef);
        }
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

/// An interval from Parquet's three u32s (read by the arrow reader as i32s); `None` when
/// months or days pass i32.
fn decode_interval(months: i32, days: i32, millis: i32) -> Option<IntervalMonthDayNano> {
    let months = i32::try_from(months as u32).ok()?;
    let days = i32::try_from(days as u32).ok()?;
    Some(IntervalMonthDayNano::new(
        months,
        days,
        i64::from(millis as u32) * NANOS_PER_MILLI,
    ))
}

impl Iterator for ParquetBatches {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = match self.main.next()? {
            Ok(b) => b,
            Err(e) => return Some(Err(corrupt(&self.file, e))),
        };
        let months = match self.months.as_mut().map(|m| m.next()) {
            None => None,
            Some(Some(Ok(m))) => Some(m),
            Some(Some(Err(e))) => return Some(Err(corrupt(&self.file, e))),
            Some(None) => {
                return Some(Err(Error::Internal(format!(
                    "the INTERVAL columns of Parquet file \"{}\" ended early",
                    self.file
                ))))
            }
        };
        Some(self.join(batch, months))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, Time64MicrosecondArray, TimestampMicrosecondArray};
    use parquet::basic::{LogicalType, TimeUnit as ParquetTimeUnit};

    fn temporal_schema() -> Arc<Schema> {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int32, true),
            Field::new("t", SqlType::Time.arrow_type(), true),
            Field::new("tz", SqlType::Timestamptz.arrow_type(), true),
            Field::new("iv", SqlType::Interval.arrow_type(), true),
        ]))
    }

    // Three rows of TIME, TIMESTAMPTZ and INTERVAL (one all NULL) written and read back:
    // the Parquet types are TIME(MICROS), TIMESTAMP(MICROS, UTC) and INTERVAL, the interval's
    // bytes are months, days and milliseconds, and every value comes back unchanged.
    #[test]
    fn temporal_types_round_trip() {
        let schema = temporal_schema();
        let iv = IntervalMonthDayNanoArray::from(vec![
            Some(IntervalMonthDayNano::new(
                14,
                3,
                14_706_789 * NANOS_PER_MILLI,
            )),
            Some(IntervalMonthDayNano::new(0, 0, 0)),
            None,
        ]);
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int32Array::from(vec![1, 2, 3])),
                Arc::new(Time64MicrosecondArray::from(vec![
                    Some(45_296_789_012),
                    Some(0),
                    None,
                ])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        Some(1_704_164_645_123_456),
                        Some(-1),
                        None,
                    ])
                    .with_timezone(basalt_storage::types::TIMESTAMPTZ_ZONE),
                ),
                Arc::new(iv.clone()),
            ],
        )
        .unwrap();
        let files = encode_parquet(schema.clone(), std::slice::from_ref(&batch), u64::MAX).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].1, 3);
        let input = ParquetInput::open(bytes::Bytes::from(files[0].0.clone()), "f").unwrap();
        let columns = input.parquet_schema().columns().to_vec();
        assert_eq!(
            columns[1].logical_type_ref(),
            Some(&LogicalType::time(false, ParquetTimeUnit::MICROS))
        );
        assert_eq!(
            columns[2].logical_type_ref(),
            Some(&LogicalType::timestamp(true, ParquetTimeUnit::MICROS))
        );
        assert_eq!(columns[3].converted_type(), ConvertedType::INTERVAL);
        assert_eq!(columns[3].type_length(), 12);
        assert_eq!(
            input.schema().field(3).data_type(),
            &DataType::Interval(IntervalUnit::MonthDayNano)
        );
        let batches: Vec<RecordBatch> = input
            .read(&[0, 1, 2, 3], None, 2)
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        let refs: Vec<&RecordBatch> = batches.iter().collect();
        let back = arrow_select::concat::concat_batches(&batches[0].schema(), refs).unwrap();
        assert_eq!(back.num_rows(), 3);
        assert_eq!(back.column(0).as_ref(), batch.column(0).as_ref());
        assert_eq!(back.column(1).as_ref(), batch.column(1).as_ref());
        assert_eq!(back.column(3).as_ref(), &iv as &dyn Array);
        let tz = back
            .column(2)
            .as_primitive::<arrow_array::types::TimestampMicrosecondType>();
        assert_eq!(
            tz.values(),
            batch
                .column(2)
                .as_primitive::<arrow_array::types::TimestampMicrosecondType>()
                .values()
        );
        assert!(tz.is_null(2));
        // The INTERVAL column alone reads the same.
        let input = ParquetInput::open(bytes::Bytes::from(files[0].0.clone()), "f").unwrap();
        let only: Vec<RecordBatch> = input
            .read(&[3], None, 8)
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(only[0].column(0).as_ref(), &iv as &dyn Array);
    }

    // The bytes of an interval, and the intervals Parquet cannot hold.
    #[test]
    fn interval_bytes_and_refusals() {
        let b = encode_interval(IntervalMonthDayNano::new(1, 2, 3 * NANOS_PER_MILLI)).unwrap();
        assert_eq!(b, [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]);
        let max = encode_interval(IntervalMonthDayNano::new(
            0,
            0,
            i64::from(u32::MAX) * NANOS_PER_MILLI,
        ));
        assert_eq!(max.unwrap()[8..12], [0xff; 4]);
        assert!(encode_interval(IntervalMonthDayNano::new(-1, 0, 0)).is_err());
        assert!(encode_interval(IntervalMonthDayNano::new(0, -1, 0)).is_err());
        assert!(encode_interval(IntervalMonthDayNano::new(0, 0, -NANOS_PER_MILLI)).is_err());
        assert!(encode_interval(IntervalMonthDayNano::new(0, 0, 1_000)).is_err());
        assert!(encode_interval(IntervalMonthDayNano::new(
            0,
            0,
            (i64::from(u32::MAX) + 1) * NANOS_PER_MILLI
        ))
        .is_err());
        assert_eq!(
            decode_interval(1, 2, -1),
            Some(IntervalMonthDayNano::new(
                1,
                2,
                i64::from(u32::MAX) * NANOS_PER_MILLI
            ))
        );
        assert_eq!(decode_interval(-1, 0, 0), None);
        let e = interval_bytes(
            &(Arc::new(IntervalMonthDayNanoArray::from(vec![
                IntervalMonthDayNano::new(0, -1, 0),
            ])) as ArrayRef),
            "c",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "interval \"-1 days\" of column \"c\" is out of range for Parquet's INTERVAL: its months, days and milliseconds cannot be negative"
        );
    }
}
