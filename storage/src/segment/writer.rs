//! Writing a segment file: splitting rows into blocks, encoding them, and the footer.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;

use arrow_array::{Array, RecordBatch};
use rayon::prelude::*;

use crate::bytes::PutLe;
use crate::catalog::{SegmentMeta, TableDef};
use crate::error::{io_at, Error, Result};
use crate::segment::block::{encode_block, WrittenBlock};
use crate::segment::encoding::string_bytes;
use crate::segment::physical::{PhysicalType, Piece};
use crate::segment::{
    BLOCK_ROWS_MAX, BLOCK_STRING_BYTES_MAX, FORMAT_VERSION, HEADER_BYTES, SEGMENT_MAGIC,
    WRITER_BLOCK_ROWS_MAX,
};
use crate::statistics::ColumnAccumulator;
use crate::zone_map::ZoneMap;

/// A run of rows of one input: `(input index, first row, row count)`.
pub(crate) type Span = (usize, usize, usize);

/// Cuts the rows of consecutive inputs (given by their lengths) into chunks of at most
/// `rows_max` rows costing at most `cost_max` in total, where `cost(input, first, count)` is the
/// cost of a span and grows with `count`. A single row costing more than `cost_max` becomes a
/// chunk of its own. Empty inputs contribute nothing.
pub(crate) fn split_rows(
    lens: &[usize],
    rows_max: usize,
    cost_max: u64,
    cost: impl Fn(usize, usize, usize) -> u64,
) -> Vec<Vec<Span>> {
    assert!(rows_max > 0);
    let mut chunks = Vec::new();
    let mut chunk: Vec<Span> = Vec::new();
    let (mut chunk_rows, mut chunk_cost) = (0usize, 0u64);
    for (input, &len) in lens.iter().enumerate() {
        let mut start = 0;
        while start < len {
            let fits = |n: usize| chunk_cost.saturating_add(cost(input, start, n)) <= cost_max;
            let mut n = (rows_max - chunk_rows).min(len - start);
            if !fits(n) {
                // Largest count that fits: `lo` fits (or is 0), `hi` does not.
                let (mut lo, mut hi) = (0, n);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if fits(mid) {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                n = if lo == 0 && chunk_rows == 0 { 1 } else { lo };
            }
            if n == 0 {
                chunks.push(std::mem::take(&mut chunk));
                (chunk_rows, chunk_cost) = (0, 0);
                continue;
            }
            chunk.push((input, start, n));
            chunk_rows += n;
            chunk_cost = chunk_cost.saturating_add(cost(input, start, n));
            start += n;
            if chunk_rows == rows_max {
                chunks.push(std::mem::take(&mut chunk));
                (chunk_rows, chunk_cost) = (0, 0);
            }
        }
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    chunks
}

/// String bytes of rows `first..first + count` of `array`, 0 for other types.
pub(crate) fn span_string_bytes(array: &dyn Array, first: usize, count: usize) -> u64 {
    match array.as_any().downcast_ref::<arrow_array::StringArray>() {
        Some(strings) => string_bytes(strings, first, count),
        None => 0,
    }
}

/// One column's entry in the footer, as the writer accumulates it.
#[derive(Debug)]
struct ColumnFooter {
    ty: PhysicalType,
    /// `(offset, length, rows, nulls, zone map)` per block.
    blocks: Vec<(u64, u64, u32, u32, ZoneMap)>,
    zone_map: ZoneMap,
}

/// Writes `batches` (already checked against `def`, at most a segment's worth of rows) as the
/// segment file `path` in blocks of at most [`WRITER_BLOCK_ROWS_MAX`] rows, fsyncs it and
/// returns its metadata. The file must not exist. On error the partial file is removed.
pub(crate) fn write_segment(
    path: &Path,
    table_id: u64,
    segment_id: u64,
    def: &TableDef,
    batches: &[RecordBatch],
) -> Result<SegmentMeta> {
    let (meta, _) = create_segment(
        path,
        table_id,
        segment_id,
        def,
        batches,
        WRITER_BLOCK_ROWS_MAX,
        false,
    )?;
    Ok(meta)
}

/// [`write_segment`], also gathering every column's statistics (ANALYZE's, in column order)
/// from the values as their blocks are encoded, so that they need not be read back.
pub(crate) fn write_segment_gathering(
    path: &Path,
    table_id: u64,
    segment_id: u64,
    def: &TableDef,
    batches: &[RecordBatch],
) -> Result<(SegmentMeta, Vec<ColumnAccumulator>)> {
    let (meta, gathered) = create_segment(
        path,
        table_id,
        segment_id,
        def,
        batches,
        WRITER_BLOCK_ROWS_MAX,
        true,
    )?;
    let gathered = gathered.ok_or_else(|| Error::Internal("no statistics gathered".into()))?;
    Ok((meta, gathered))
}

/// [`write_segment`] with blocks of at most `block_rows_max` rows: tests write files as earlier
/// builds did, with blocks of [`BLOCK_ROWS_MAX`] rows.
#[cfg(test)]
pub(crate) fn write_segment_in_blocks(
    path: &Path,
    table_id: u64,
    segment_id: u64,
    def: &TableDef,
    batches: &[RecordBatch],
    block_rows_max: u32,
) -> Result<SegmentMeta> {
    let (meta, _) = create_segment(
        path,
        table_id,
        segment_id,
        def,
        batches,
        block_rows_max,
        false,
    )?;
    Ok(meta)
}

/// The segment's metadata and, with `gather`, its columns' statistics.
type Created = (SegmentMeta, Option<Vec<ColumnAccumulator>>);

fn create_segment(
    path: &Path,
    table_id: u64,
    segment_id: u64,
    def: &TableDef,
    batches: &[RecordBatch],
    block_rows_max: u32,
    gather: bool,
) -> Result<Created> {
    if block_rows_max == 0 || block_rows_max > BLOCK_ROWS_MAX {
        return Err(Error::Internal(format!(
            "blocks of {block_rows_max} rows, outside 1..={BLOCK_ROWS_MAX}"
        )));
    }
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_at(path))?;
    let result = write_segment_to(
        file,
        path,
        table_id,
        segment_id,
        def,
        batches,
        block_rows_max,
        gather,
    );
    if result.is_err() {
        // Best effort: an unreferenced file is removed by the next startup anyway.
        let _ = std::fs::remove_file(path);
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn write_segment_to(
    file: File,
    path: &Path,
    table_id: u64,
    segment_id: u64,
    def: &TableDef,
    batches: &[RecordBatch],
    block_rows_max: u32,
    gather: bool,
) -> Result<Created> {
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut offset: u64 = 0;
    let mut write = |out: &mut BufWriter<File>, bytes: &[u8]| -> Result<u64> {
        out.write_all(bytes).map_err(io_at(path))?;
        let at = offset;
        offset += bytes.len() as u64;
        Ok(at)
    };

    let mut header = Vec::with_capacity(HEADER_BYTES);
    header.extend_from_slice(&SEGMENT_MAGIC);
    header.put_u32(FORMAT_VERSION);
    header.put_u32(0);
    debug_assert_eq!(header.len(), HEADER_BYTES);
    write(&mut out, &header)?;

    // Every block of every column is encoded in parallel, then written in column order.
    let mut tasks: Vec<(usize, Vec<Span>)> = Vec::new();
    for (c, _) in def.columns.iter().enumerate() {
        let arrays: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
        let lens: Vec<usize> = arrays.iter().map(|a| a.len()).collect();
        let chunks = split_rows(
            &lens,
            block_rows_max as usize,
            BLOCK_STRING_BYTES_MAX,
            |i, first, n| arrays.get(i).map_or(0, |a| span_string_bytes(*a, first, n)),
        );
        tasks.extend(chunks.into_iter().map(|chunk| (c, chunk)));
    }
    // With `gather`, each block's values also go into a statistics accumulator (its zone map
    // is the block's), so the statistics cost no second pass over decoded segments.
    type Encoded = (Vec<u8>, WrittenBlock, Option<ColumnAccumulator>);
    let encoded: Vec<Result<Encoded>> = tasks
        .par_iter()
        .map(|(c, chunk)| {
            let column = def
                .columns
                .get(*c)
                .ok_or_else(|| Error::Internal(format!("no column {c}")))?;
            let mut slices = Vec::with_capacity(chunk.len());
            for (i, first, n) in chunk {
                let batch = batches
                    .get(*i)
                    .ok_or_else(|| Error::Internal(format!("no input {i}")))?;
                slices.push(batch.column(*c).slice(*first, *n));
            }
            let pieces = slices
                .iter()
                .map(|a| Piece::new(column.ty, a.as_ref()))
                .collect::<Result<Vec<_>>>()?;
            let mut block = Vec::new();
            let written = encode_block(&pieces, column.encoding, &mut block).map_err(|e| {
                Error::Internal(format!("encoding column {c} of {}: {e}", path.display()))
            })?;
            let gathered = if gather {
                let mut acc = ColumnAccumulator::new(*c, column);
                acc.add_block(&slices, &written.zone_map)?;
                Some(acc)
            } else {
                None
            };
            Ok((block, written, gathered))
        })
        .collect();
    let mut gathered: Option<Vec<ColumnAccumulator>> = gather.then(|| {
        def.columns
            .iter()
            .enumerate()
            .map(|(c, column)| ColumnAccumulator::new(c, column))
            .collect()
    });
    let mut columns: Vec<ColumnFooter> = def
        .columns
        .iter()
        .map(|column| ColumnFooter {
            ty: PhysicalType::of(column.ty),
            blocks: Vec::new(),
            zone_map: ZoneMap::empty(),
        })
        .collect();
    for ((c, _), done) in tasks.iter().zip(encoded) {
        let (block, written, block_stats) = done?;
        let at = write(&mut out, &block)?;
        if let (Some(all), Some(one)) = (gathered.as_mut(), block_stats) {
            let acc = all
                .get_mut(*c)
                .ok_or_else(|| Error::Internal(format!("no column {c}")))?;
            acc.merge(&one);
        }
        let footer = columns
            .get_mut(*c)
            .ok_or_else(|| Error::Internal(format!("no column {c}")))?;
        footer.zone_map.merge(&written.zone_map);
        footer.blocks.push((
            at,
            written.length,
            written.rows,
            written.nulls,
            written.zone_map,
        ));
    }
    debug_assert!(columns
        .iter()
        .all(|footer| footer.zone_map.row_count == rows as u64));
    if crate::fault::armed() {
        // An injected fault strikes with the blocks on disk and the footer not: the partial
        // file a full disk leaves, which the caller must remove.
        out.flush().map_err(io_at(path))?;
        crate::fault::check(crate::fault::Site::SegmentWrite, path)?;
    }

    let mut footer = Vec::new();
    footer.put_u64(table_id);
    footer.put_u64(segment_id);
    footer.put_u64(rows as u64);
    footer.put_u32(
        u32::try_from(columns.len()).map_err(|_| Error::Internal("too many columns".into()))?,
    );
    for column in &columns {
        footer.put_u8(column.ty.id());
        footer.put_u32(column.blocks.len() as u32);
        for (at, length, rows, nulls, zone_map) in &column.blocks {
            footer.put_u64(*at);
            footer.put_u64(*length);
            footer.put_u32(*rows);
            footer.put_u32(*nulls);
            zone_map.write_bounds(column.ty, &mut footer);
        }
    }
    let footer_len = u32::try_from(footer.len())
        .map_err(|_| Error::Internal(format!("footer of {} bytes", footer.len())))?;
    let mut trailer = Vec::with_capacity(16);
    trailer.put_u32(footer_len);
    trailer.put_u32(crc32c::crc32c(&footer));
    trailer.extend_from_slice(&SEGMENT_MAGIC);
    write(&mut out, &footer)?;
    write(&mut out, &trailer)?;

    let file = out
        .into_inner()
        .map_err(|e| Error::io(path, e.into_error()))?;
    file.sync_all().map_err(io_at(path))?;
    let bytes = file.metadata().map_err(io_at(path))?.len();
    if bytes != offset {
        return Err(Error::Internal(format!(
            "{} is {bytes} bytes after writing {offset}",
            path.display()
        )));
    }
    let meta = SegmentMeta {
        id: segment_id,
        rows: rows as u64,
        bytes,
        zone_maps: columns.into_iter().map(|c| c.zone_map).collect(),
        deleted: crate::delete_vector::DeleteVector::new(),
        columns: None,
        resident: None,
    };
    Ok((meta, gathered))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_rows_respects_row_and_cost_limits() {
        // Input: inputs of 5, 0 and 7 rows; at most 4 rows per chunk; each row costs 1 except
        // row 2 of input 2, which costs 100, with at most 3 cost per chunk.
        let cost = |input: usize, first: usize, n: usize| -> u64 {
            (first..first + n)
                .map(|r| if input == 2 && r == 2 { 100 } else { 1 })
                .sum()
        };
        let chunks = split_rows(&[5, 0, 7], 4, 3, cost);
        let expected: Vec<Vec<Span>> = vec![
            vec![(0, 0, 3)],
            vec![(0, 3, 2), (2, 0, 1)],
            vec![(2, 1, 1)],
            vec![(2, 2, 1)],
            vec![(2, 3, 3)],
            vec![(2, 6, 1)],
        ];
        assert_eq!(chunks, expected);

        // Input: 10 rows without cost, at most 4 rows per chunk.
        let chunks = split_rows(&[10], 4, 0, |_, _, _| 0);
        assert_eq!(
            chunks,
            vec![vec![(0, 0, 4)], vec![(0, 4, 4)], vec![(0, 8, 2)]]
        );
        assert!(split_rows(&[0, 0], 4, 0, |_, _, _| 0).is_empty());
    }

    #[test]
    fn values_view_matches_the_declared_type() {
        // Input: an Int32 array offered as a TEXT column.
        let a = arrow_array::Int32Array::from(vec![1]);
        assert!(Piece::new(crate::SqlType::Text, &a).is_err());
        let p = Piece::new(crate::SqlType::Integer, &a).unwrap();
        assert!(matches!(
            p.values,
            crate::segment::physical::Values::Int32(_)
        ));
    }
}
