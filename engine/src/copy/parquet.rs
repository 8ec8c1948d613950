//! Parquet files: COPY ... FORMAT AS PARQUET reads columns by position, as Redshift does;
//! UNLOAD ... FORMAT AS PARQUET writes the table types faithfully (DECIMAL as decimal, DATE as
//! date, TIMESTAMP as timestamp in microseconds without a zone), Snappy-compressed.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_cast::{can_cast_types, cast_with_options, CastOptions};
use arrow_schema::DataType;
use basalt_storage::SqlType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::copy::LoadPlan;
use crate::error::{Error, Result};

/// Rows per batch read from a Parquet file.
const READ_BATCH_ROWS: usize = 8192;

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
        SqlType::Timestamp => matches!(from, D::Timestamp(..) | D::Date32),
        // Loading these from Parquet is not built yet.
        SqlType::Time | SqlType::Timestamptz | SqlType::Interval => false,
        // No table column is an array.
        SqlType::Array { .. } => false,
    }
}

/// Reads a whole Parquet file into one batch of the table's columns.
pub fn load_parquet(bytes: Vec<u8>, file: &str, plan: &LoadPlan) -> Result<RecordBatch> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .map_err(|e| corrupt(file, e))?;
    let schema = builder.schema().clone();
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
    let reader = builder
        .with_batch_size(READ_BATCH_ROWS)
        .build()
        .map_err(|e| corrupt(file, e))?;
    let mut parts: Vec<Vec<ArrayRef>> = vec![Vec::new(); plan.targets.len()];
    let mut rows = 0usize;
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    for batch in reader {
        let batch = batch.map_err(|e| corrupt(file, e))?;
        rows += batch.num_rows();
        for (i, t) in plan.targets.iter().enumerate() {
            let col = batch.column(i);
            let want = t.ty.arrow_type();
            let arr = if col.data_type() == &want {
                col.clone()
            } else {
                cast_with_options(col, &want, &options).map_err(|e| Error::Load {
                    message: format!("{e} (file {file}, column {})", t.name),
                    cause: Box::new(Error::from(e)),
                })?
            };
            parts[i].push(arr);
        }
    }
    let mut arrays = Vec::with_capacity(parts.len());
    for (p, t) in parts.iter().zip(&plan.targets) {
        let refs: Vec<&dyn arrow_array::Array> = p.iter().map(|a| a.as_ref()).collect();
        arrays.push(if refs.is_empty() {
            arrow_array::new_empty_array(&t.ty.arrow_type())
        } else {
            arrow_select::concat::concat(&refs)?
        });
    }
    plan.table_batch(arrays, rows)
}

/// Writes Parquet files for one output stream, starting a new file when one passes
/// `max_bytes`. Returns each file's bytes and row count.
pub fn encode_parquet(
    schema: Arc<arrow_schema::Schema>,
    batches: &[RecordBatch],
    max_bytes: u64,
) -> Result<Vec<(Vec<u8>, u64)>> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let fail = |e: parquet::errors::ParquetError| Error::Internal(format!("Parquet writer: {e}"));
    let mut files = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut buf, schema.clone(), Some(props.clone())).map_err(fail)?;
    let mut rows = 0u64;
    for batch in batches {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let len = READ_BATCH_ROWS.min(batch.num_rows() - offset);
            writer.write(&batch.slice(offset, len)).map_err(fail)?;
            rows += len as u64;
            offset += len;
            let size = (writer.bytes_written() + writer.in_progress_size()) as u64;
            if size >= max_bytes
                && (offset < batch.num_rows()
                    || !std::ptr::eq(batch, batches.last().unwrap_or(batch)))
            {
                writer.close().map_err(fail)?;
                files.push((std::mem::take(&mut buf), rows));
                rows = 0;
                writer = ArrowWriter::try_new(&mut buf, schema.clone(), Some(props.clone()))
                    .map_err(fail)?;
            }
        }
    }
    writer.close().map_err(fail)?;
    if rows > 0 || files.is_empty() {
        files.push((buf, rows));
    }
    Ok(files)
}
