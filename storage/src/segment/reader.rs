//! Reading a segment file through a memory map: checking its frame and footer on open, then
//! decoding projected columns into Arrow arrays.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow_array::cast::AsArray;
use arrow_array::{
    Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions, StringArray, UInt32Array,
};
use arrow_buffer::{BooleanBuffer, BooleanBufferBuilder, NullBuffer, OffsetBuffer};
use arrow_schema::Schema;
use memmap2::Mmap;

use crate::bytes::{to_usize, ByteReader};
use crate::catalog::ColumnDef;
use crate::catalog::{SegmentMeta, TableMeta};
use crate::delete_vector::DeleteVector;
use crate::error::{io_at, Error, Result};
use crate::segment::block::{
    decode_block_checked, decode_block_piece, Checksum, BLOCK_HEADER_BYTES,
};
use crate::segment::column::ColumnBuilder;
use crate::segment::physical::PhysicalType;
use crate::segment::{
    FORMAT_VERSION, HEADER_BYTES, SEGMENT_MAGIC, SEGMENT_ROWS_MAX, TRAILER_BYTES,
};
use crate::zone_map::ZoneMap;

/// Where one block lies in its segment file, and its zone map (which holds its row count).
#[derive(Clone, Debug, PartialEq)]
pub struct BlockMeta {
    /// Byte offset of the block header from the start of the file.
    pub offset: u64,
    /// Bytes in the block: header, bitmap and payload.
    pub length: u64,
    pub zone_map: ZoneMap,
}

/// An open, checked segment file. Opening checks the file's frame (magic numbers, version,
/// footer checksum) and that its footer agrees with the table and segment that name it; each
/// block's checksum is checked when the block is first read through its mapping.
#[derive(Debug)]
pub struct SegmentReader {
    path: PathBuf,
    map: Arc<MappedSegment>,
    rows: u64,
    /// The table definition's columns; `blocks` and `fills` are indexed like them.
    columns: Vec<ColumnDef>,
    /// Each column's blocks (none for a column the segment does not hold).
    blocks: Vec<Vec<BlockMeta>>,
    /// For each column the segment does not hold (added after it was written), the
    /// one-row value its rows read (its default, or NULL).
    fills: Vec<Option<ArrayRef>>,
}

/// Maps `file` read-only.
#[allow(unsafe_code)]
fn map_file(file: &File, path: &Path) -> Result<Mmap> {
    // SAFETY: a memory map is undefined behaviour if the file changes underneath it. Segment
    // files are written whole and fsynced before any manifest refers to them, and from then on
    // Basalt never writes, truncates or renames them; they are only unlinked, which leaves an
    // existing mapping intact. Nothing else may modify a data directory while Basalt runs.
    unsafe { Mmap::map(file) }.map_err(io_at(path))
}

/// A segment file mapped into memory, kept mapped across scans (`Store`'s cache) with the
/// blocks whose checksums have been verified: segment files never change once written, so a
/// block verified once need not be summed again while the mapping lives.
#[derive(Debug)]
pub(crate) struct MappedSegment {
    map: Mmap,
    /// Byte offsets of the blocks verified so far.
    verified: Mutex<HashSet<u64>>,
}

impl MappedSegment {
    /// Maps the segment file at `path`, which the manifest says is `bytes` long.
    pub(crate) fn map(path: &Path, bytes: u64) -> Result<MappedSegment> {
        let corrupt = |detail: String| Error::corrupt(path, detail);
        let file = File::open(path).map_err(io_at(path))?;
        let len = file.metadata().map_err(io_at(path))?.len();
        if len != bytes {
            return Err(corrupt(format!(
                "file is {len} bytes but the manifest says {bytes}"
            )));
        }
        if len < (HEADER_BYTES + TRAILER_BYTES) as u64 {
            return Err(corrupt(format!(
                "file of {len} bytes is too short for a segment"
            )));
        }
        let map = map_file(&file, path)?;
        if map.len() as u64 != len {
            return Err(corrupt(format!(
                "file changed size from {len} to {} while opening",
                map.len()
            )));
        }
        Ok(MappedSegment {
            map,
            verified: Mutex::new(HashSet::new()),
        })
    }

    /// The file's length.
    pub(crate) fn len(&self) -> u64 {
        self.map.len() as u64
    }

    /// How the block at `offset` is to be checked.
    fn checksum(&self, offset: u64) -> Checksum {
        match self.verified.lock() {
            Ok(v) if v.contains(&offset) => Checksum::Verified,
            _ => Checksum::Verify,
        }
    }

    /// Notes that the block at `offset` decoded with its checksum verified.
    fn verified(&self, offset: u64, checksum: Checksum) {
        if checksum == Checksum::Verify {
            if let Ok(mut v) = self.verified.lock() {
                v.insert(offset);
            }
        }
    }
}

impl SegmentReader {
    /// Opens the segment file at `path`, which `table` lists as `segment`.
    #[cfg(test)]
    pub(crate) fn open(
        path: &Path,
        table: &TableMeta,
        segment: &SegmentMeta,
    ) -> Result<SegmentReader> {
        let map = Arc::new(MappedSegment::map(path, segment.bytes)?);
        SegmentReader::open_mapped(map, path, table, segment)
    }

    /// Opens the segment `map`ped from `path`, which `table` lists as `segment`.
    pub(crate) fn open_mapped(
        map: Arc<MappedSegment>,
        path: &Path,
        table: &TableMeta,
        segment: &SegmentMeta,
    ) -> Result<SegmentReader> {
        let corrupt = |detail: String| Error::corrupt(path, detail);
        if map.len() != segment.bytes {
            return Err(corrupt(format!(
                "file is {} bytes but the manifest says {}",
                map.len(),
                segment.bytes
            )));
        }
        let bytes: &[u8] = &map.map;

        let mut header = ByteReader::new(bytes);
        let magic: [u8; 8] = header.array().map_err(&corrupt)?;
        let version = header.u32().map_err(&corrupt)?;
        let reserved = header.u32().map_err(&corrupt)?;
        if magic != SEGMENT_MAGIC {
            return Err(corrupt(format!("bad header magic {magic:02x?}")));
        }
        if version != FORMAT_VERSION {
            return Err(corrupt(format!(
                "segment format version {version}, this build reads {FORMAT_VERSION}"
            )));
        }
        if reserved != 0 {
            return Err(corrupt(format!(
                "reserved header field is {reserved:#x}, not 0"
            )));
        }

        let trailer_at = bytes.len() - TRAILER_BYTES;
        let mut trailer = ByteReader::new(bytes.get(trailer_at..).unwrap_or_default());
        let footer_len = trailer.u32().map_err(&corrupt)? as usize;
        let footer_crc = trailer.u32().map_err(&corrupt)?;
        let magic: [u8; 8] = trailer.array().map_err(&corrupt)?;
        if magic != SEGMENT_MAGIC {
            return Err(corrupt(format!("bad trailer magic {magic:02x?}")));
        }
        let footer_at = trailer_at
            .checked_sub(footer_len)
            .filter(|at| *at >= HEADER_BYTES)
            .ok_or_else(|| corrupt(format!("footer length {footer_len} exceeds the file")))?;
        let footer = bytes.get(footer_at..trailer_at).unwrap_or_default();
        let crc = crc32c::crc32c(footer);
        if crc != footer_crc {
            return Err(corrupt(format!(
                "footer checksum mismatch (stored {footer_crc:#010x}, computed {crc:#010x})"
            )));
        }

        let (rows, blocks) = parse_footer(footer, footer_at as u64, table, segment)
            .map_err(|e| corrupt(format!("footer: {e}")))?;
        let def = &table.def;
        let mut fills = Vec::with_capacity(def.columns.len());
        for c in 0..def.columns.len() {
            let held = segment.zone_map(def, c).is_some();
            fills.push(match held {
                true => None,
                false => Some(def.fill(c, 1).map_err(|e| {
                    Error::Internal(format!("table {}: {e}", def.qualified_name()))
                })?),
            });
        }
        Ok(SegmentReader {
            path: path.to_path_buf(),
            map,
            rows,
            columns: def.columns.clone(),
            blocks,
            fills,
        })
    }

    /// False for a column of the table the segment does not hold (one added after it was
    /// written, whose rows read the column's default): it has no blocks.
    pub fn holds(&self, column: usize) -> bool {
        self.fills.get(column).is_some_and(Option::is_none)
    }

    /// Column `c`'s fill repeated `rows` times, if the segment does not hold it.
    fn filled(&self, c: usize, rows: usize) -> Result<Option<ArrayRef>> {
        let Some(Some(one)) = self.fills.get(c) else {
            return Ok(None);
        };
        let zeros = arrow_array::UInt32Array::from(vec![0u32; rows]);
        arrow_select::take::take(one.as_ref(), &zeros, None)
            .map(Some)
            .map_err(|e| Error::Internal(format!("filling column {c}: {e}")))
    }

    /// Rows in the segment.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The blocks of column `column` (an index into the table's columns), in row order.
    pub fn blocks(&self, column: usize) -> Option<&[BlockMeta]> {
        self.blocks.get(column).map(Vec::as_slice)
    }

    /// Decodes the columns `projection` (indexes into the table's columns, in that order) into
    /// one batch holding every row of the segment.
    pub fn read(&self, projection: &[usize]) -> Result<RecordBatch> {
        let rows = to_usize(self.rows, "row count").map_err(|e| Error::corrupt(&self.path, e))?;
        let mut fields = Vec::with_capacity(projection.len());
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(projection.len());
        for &c in projection {
            let (Some(column), Some(blocks)) = (self.columns.get(c), self.blocks.get(c)) else {
                return Err(Error::Internal(format!(
                    "projection names column {c} of a table with {} columns",
                    self.columns.len()
                )));
            };
            match self.filled(c, rows)? {
                Some(fill) => arrays.push(fill),
                None => arrays.push(self.read_column(c, column, blocks, rows)?),
            }
            fields.push(column.arrow_field());
        }
        let schema = Arc::new(Schema::new(fields));
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(schema, arrays, &options).map_err(|e| {
            Error::corrupt(
                &self.path,
                format!("decoded columns do not form a batch: {e}"),
            )
        })
    }

    /// Decodes the columns `projection` for the rows inside `keep` (sorted, disjoint
    /// half-open row intervals) that `deleted` does not hold, decoding only the blocks that
    /// overlap `keep`. Returns the batch and how many blocks were decoded and skipped (over the
    /// projected columns).
    pub(crate) fn read_selected(
        &self,
        projection: &[usize],
        keep: &[(u64, u64)],
        deleted: &DeleteVector,
    ) -> Result<(RecordBatch, u64, u64)> {
        let whole = keep == [(0, self.rows)];
        if whole && deleted.is_empty() {
            let blocks: usize = projection
                .iter()
                .filter_map(|c| self.blocks.get(*c).map(Vec::len))
                .sum();
            return Ok((self.read(projection)?, blocks as u64, 0));
        }
        let kept = |row: u64| -> bool {
            let at = keep.partition_point(|(start, _)| *start <= row);
            at > 0
                && keep.get(at - 1).is_some_and(|(_, end)| row < *end)
                && !u32::try_from(row).is_ok_and(|r| deleted.contains(r))
        };
        let rows_out: u64 = keep
            .iter()
            .map(|(start, end)| {
                let (s, e) = (*start as u32, *end as u32);
                deleted.live_rows(s, e - s).len() as u64
            })
            .sum();
        let (mut read, mut skipped) = (0u64, 0u64);
        let mut fields = Vec::with_capacity(projection.len());
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(projection.len());
        for &c in projection {
            let (Some(column), Some(blocks)) = (self.columns.get(c), self.blocks.get(c)) else {
                return Err(Error::Internal(format!(
                    "projection names column {c} of a table with {} columns",
                    self.columns.len()
                )));
            };
            let rows_usize =
                to_usize(rows_out, "row count").map_err(|e| Error::corrupt(&self.path, e))?;
            if let Some(fill) = self.filled(c, rows_usize)? {
                arrays.push(fill);
                fields.push(column.arrow_field());
                continue;
            }
            let mut selected = Vec::new();
            let mut mask = Vec::new();
            let mut start = 0u64;
            for (b, block) in blocks.iter().enumerate() {
                let end = start + block.zone_map.row_count;
                let overlaps = keep.iter().any(|(s, e)| *s < end && start < *e);
                if overlaps {
                    selected.push(b);
                    mask.extend((start..end).map(kept));
                    read += 1;
                } else {
                    skipped += 1;
                }
                start = end;
            }
            let covered: u64 = selected
                .iter()
                .filter_map(|b| blocks.get(*b))
                .map(|b| b.zone_map.row_count)
                .sum();
            let covered =
                to_usize(covered, "row count").map_err(|e| Error::corrupt(&self.path, e))?;
            let array = self.read_blocks(c, column, &selected, covered)?;
            let array = if mask.iter().all(|k| *k) {
                array
            } else {
                let mask = BooleanArray::from(mask);
                arrow_select::filter::filter(array.as_ref(), &mask).map_err(|e| {
                    Error::Internal(format!(
                        "filtering column {c} of {}: {e}",
                        self.path.display()
                    ))
                })?
            };
            if array.len() as u64 != rows_out {
                return Err(Error::Internal(format!(
                    "column {c} of {} selected {} rows, expected {rows_out}",
                    self.path.display(),
                    array.len()
                )));
            }
            arrays.push(array);
            fields.push(column.arrow_field());
        }
        let schema = Arc::new(Schema::new(fields));
        let options = RecordBatchOptions::new().with_row_count(Some(rows_out as usize));
        let batch = RecordBatch::try_new_with_options(schema, arrays, &options).map_err(|e| {
            Error::corrupt(
                &self.path,
                format!("decoded columns do not form a batch: {e}"),
            )
        })?;
        Ok((batch, read, skipped))
    }

    /// Column `c`'s blocks that overlap `keep` (sorted, disjoint half-open row intervals),
    /// each with which of its rows are inside `keep` and not in `deleted`, in row order; and
    /// how many blocks of the column lie wholly outside `keep`.
    fn kept_blocks(
        &self,
        c: usize,
        keep: &[(u64, u64)],
        deleted: &DeleteVector,
    ) -> Result<(Vec<KeptBlock>, u64)> {
        let Some(blocks) = self.blocks.get(c) else {
            return Err(Error::Internal(format!(
                "column {c} of a table with {} columns",
                self.columns.len()
            )));
        };
        let kept = |row: u64| -> bool {
            let at = keep.partition_point(|(start, _)| *start <= row);
            at > 0
                && keep.get(at - 1).is_some_and(|(_, end)| row < *end)
                && !u32::try_from(row).is_ok_and(|r| deleted.contains(r))
        };
        let mut out = Vec::new();
        let mut skipped = 0;
        let mut start = 0u64;
        for (index, block) in blocks.iter().enumerate() {
            let end = start + block.zone_map.row_count;
            if keep.iter().any(|(s, e)| *s < end && start < *e) {
                let whole = keep.iter().any(|(s, e)| *s <= start && end <= *e)
                    && (deleted.is_empty()
                        || deleted.live_rows(start as u32, (end - start) as u32).len() as u64
                            == end - start);
                let rows = to_usize(end - start, "block rows")
                    .map_err(|e| Error::corrupt(&self.path, e))?;
                let rows = match whole {
                    true => None,
                    false => Some(BooleanBuffer::collect_bool(rows, |i| {
                        kept(start + i as u64)
                    })),
                };
                out.push(KeptBlock { index, rows });
            } else {
                skipped += 1;
            }
            start = end;
        }
        Ok((out, skipped))
    }

    /// Block `b` of column `c`: its bytes in the file and its row and NULL counts.
    fn block_bytes(&self, c: usize, b: usize) -> Result<BlockBytes<'_>> {
        let (Some(column), Some(meta)) = (
            self.columns.get(c),
            self.blocks.get(c).and_then(|bs| bs.get(b)),
        ) else {
            return Err(Error::Internal(format!("no block {b} in column {c}")));
        };
        let mut block = BlockBytes {
            path: &self.path,
            c,
            b,
            column,
            offset: meta.offset,
            bytes: &[],
            rows: 0,
            nulls: 0,
        };
        // `open` checked every block lies inside the file; look it up checked regardless.
        block.bytes = meta
            .offset
            .checked_add(meta.length)
            .and_then(|end| self.map.map.get(meta.offset as usize..end as usize))
            .ok_or_else(|| block.corrupt("block lies outside the file".into()))?;
        block.rows = u32::try_from(meta.zone_map.row_count)
            .map_err(|_| block.corrupt("row count".into()))?;
        block.nulls = u32::try_from(meta.zone_map.null_count)
            .map_err(|_| block.corrupt("null count".into()))?;
        Ok(block)
    }

    /// Checks and decodes block `b` of column `c` as a piece, restricted to `rows` (`None`:
    /// all of them).
    fn piece(&self, c: usize, b: usize, rows: Option<&BooleanBuffer>) -> Result<ColumnPiece> {
        let block = self.block_bytes(c, b)?;
        let checksum = self.map.checksum(block.offset);
        let piece = decode_block_piece(
            block.bytes,
            block.rows,
            block.nulls,
            block.column.ty,
            checksum,
        )
        .map_err(|e| block.corrupt(e))?;
        self.map.verified(block.offset, checksum);
        if piece.len() != block.rows as usize {
            return Err(block.corrupt(format!("{} values decoded", piece.len())));
        }
        match rows {
            Some(rows) => piece.select(rows),
            None => Ok(piece),
        }
    }

    /// Column `c` for the rows inside `keep` that `deleted` does not hold, block by block,
    /// DICTIONARY blocks as codes (see [`ColumnPiece`]), for evaluating a predicate once per
    /// distinct value. Also returns how many blocks were decoded and skipped.
    pub(crate) fn read_pieces(
        &self,
        c: usize,
        keep: &[(u64, u64)],
        deleted: &DeleteVector,
        rows_out: usize,
    ) -> Result<(Vec<ColumnPiece>, u64, u64)> {
        if let Some(fill) = self.filled(c, rows_out)? {
            return Ok((vec![ColumnPiece::Values(fill)], 0, 0));
        }
        let (blocks, skipped) = self.kept_blocks(c, keep, deleted)?;
        let pieces = blocks
            .iter()
            .map(|k| self.piece(c, k.index, k.rows.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        let len: usize = pieces.iter().map(ColumnPiece::len).sum();
        if len != rows_out {
            return Err(Error::Internal(format!(
                "column {c} of {} selected {len} rows, expected {rows_out}",
                self.path.display()
            )));
        }
        Ok((pieces, blocks.len() as u64, skipped))
    }

    /// Column `c` for the rows inside `keep` that `deleted` does not hold and that
    /// `selection` (one bit per such row) picks, decoding only the blocks holding a picked row.
    /// Also returns how many blocks were decoded and skipped.
    pub(crate) fn read_column_where(
        &self,
        c: usize,
        keep: &[(u64, u64)],
        deleted: &DeleteVector,
        selection: &BooleanBuffer,
    ) -> Result<(ArrayRef, u64, u64)> {
        if let Some(fill) = self.filled(c, selection.count_set_bits())? {
            return Ok((fill, 0, 0));
        }
        let Some(column) = self.columns.get(c) else {
            return Err(Error::Internal(format!("no column {c}")));
        };
        let Some(metas) = self.blocks.get(c) else {
            return Err(Error::Internal(format!("no blocks of column {c}")));
        };
        let (blocks, mut skipped) = self.kept_blocks(c, keep, deleted)?;
        // Each kept block with the part of `selection` that falls on its kept rows.
        let mut picks = Vec::with_capacity(blocks.len());
        let mut at = 0;
        for k in &blocks {
            let rows = match &k.rows {
                Some(r) => r.count_set_bits(),
                None => metas
                    .get(k.index)
                    .map_or(0, |b| b.zone_map.row_count as usize),
            };
            if at + rows > selection.len() {
                return Err(Error::Internal(format!(
                    "a selection of {} rows for column {c} of {}",
                    selection.len(),
                    self.path.display()
                )));
            }
            let picked = selection.slice(at, rows);
            at += rows;
            if picked.count_set_bits() == 0 {
                skipped += 1;
            } else {
                picks.push((k, picked));
            }
        }
        if at != selection.len() {
            return Err(Error::Internal(format!(
                "a selection of {} rows for {at} rows of column {c} of {}",
                selection.len(),
                self.path.display()
            )));
        }
        let read = picks.len() as u64;
        // Strings, or a sparse selection: block by block, DICTIONARY blocks by their codes.
        // Otherwise every picked block decodes into one array, filtered once.
        let sparse = selection.count_set_bits() * 2 < selection.len();
        if PhysicalType::of(column.ty) == PhysicalType::Utf8 {
            let pieces = picks
                .iter()
                .map(|(k, picked)| Ok((self.piece(c, k.index, k.rows.as_ref())?, picked.clone())))
                .collect::<Result<Vec<_>>>()?;
            let refs: Vec<(&ColumnPiece, BooleanBuffer)> =
                pieces.iter().map(|(p, s)| (p, s.clone())).collect();
            if let Some(array) = gather_strings(&refs)? {
                return Ok((array, read, skipped));
            }
            let arrays = pieces
                .iter()
                .map(|(piece, picked)| piece.materialize(picked))
                .collect::<Result<Vec<_>>>()?;
            return Ok((concat_arrays(column.ty, &arrays)?, read, skipped));
        }
        if sparse {
            let arrays = picks
                .iter()
                .map(|(k, picked)| self.piece(c, k.index, k.rows.as_ref())?.materialize(picked))
                .collect::<Result<Vec<_>>>()?;
            return Ok((concat_arrays(column.ty, &arrays)?, read, skipped));
        }
        let mut mask = BooleanBufferBuilder::new(selection.len());
        let mut covered = 0;
        for (k, picked) in &picks {
            match &k.rows {
                None => mask.append_buffer(picked),
                Some(rows) => {
                    let mut next = picked.iter();
                    for kept in rows.iter() {
                        mask.append(kept && next.next().unwrap_or(false));
                    }
                }
            }
            covered += k.rows.as_ref().map_or(picked.len(), BooleanBuffer::len);
        }
        let indexes: Vec<usize> = picks.iter().map(|(k, _)| k.index).collect();
        let array = self.read_blocks(c, column, &indexes, covered)?;
        let mask = mask.finish();
        if mask.count_set_bits() == mask.len() {
            return Ok((array, read, skipped));
        }
        Ok((filter_array(&array, &mask)?, read, skipped))
    }

    fn read_column(
        &self,
        c: usize,
        column: &ColumnDef,
        blocks: &[BlockMeta],
        rows: usize,
    ) -> Result<ArrayRef> {
        let all: Vec<usize> = (0..blocks.len()).collect();
        self.read_blocks(c, column, &all, rows)
    }

    /// Decodes the blocks `selected` (indexes into its blocks, in order) of column `c`, which
    /// hold `rows` rows together, into one array.
    fn read_blocks(
        &self,
        c: usize,
        column: &ColumnDef,
        selected: &[usize],
        rows: usize,
    ) -> Result<ArrayRef> {
        let mut builder = ColumnBuilder::new(column.ty, rows);
        for &b in selected {
            let block = self.block_bytes(c, b)?;
            let checksum = self.map.checksum(block.offset);
            decode_block_checked(block.bytes, block.rows, block.nulls, checksum, &mut builder)
                .map_err(|e| block.corrupt(e))?;
            self.map.verified(block.offset, checksum);
        }
        if builder.len() != rows {
            return Err(Error::corrupt(
                &self.path,
                format!(
                    "column {c} (\"{}\") holds {} rows, the segment {rows}",
                    column.name,
                    builder.len()
                ),
            ));
        }
        builder.finish().map_err(|e| {
            Error::corrupt(&self.path, format!("column {c} (\"{}\"): {e}", column.name))
        })
    }
}

/// One block's bytes in a segment file, for decoding, and where it lies, for errors.
struct BlockBytes<'r> {
    path: &'r Path,
    c: usize,
    b: usize,
    column: &'r ColumnDef,
    offset: u64,
    bytes: &'r [u8],
    rows: u32,
    nulls: u32,
}

impl BlockBytes<'_> {
    /// The file is corrupt at this block: `detail`.
    fn corrupt(&self, detail: String) -> Error {
        Error::corrupt(
            self.path,
            format!(
                "column {} (\"{}\") block {} at offset {}: {detail}",
                self.c, self.column.name, self.b, self.offset
            ),
        )
    }
}

/// A block of a column that overlaps a scan's kept rows: which of its rows are kept and
/// live (`None`: all of them).
struct KeptBlock {
    index: usize,
    rows: Option<BooleanBuffer>,
}

/// One block's values of a column, for some of its rows.
#[derive(Clone, Debug)]
pub enum ColumnPiece {
    /// The values, decoded.
    Values(ArrayRef),
    /// A DICTIONARY block: its distinct values (`entries`, followed by one NULL entry when a
    /// row is NULL) and, for each row, the index of its value in `entries`.
    Coded {
        entries: ArrayRef,
        codes: UInt32Array,
    },
}

impl ColumnPiece {
    /// Rows in the piece.
    pub fn len(&self) -> usize {
        match self {
            ColumnPiece::Values(a) => a.len(),
            ColumnPiece::Coded { codes, .. } => codes.len(),
        }
    }

    /// True for a piece of no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The piece restricted to the rows `rows` picks (one bit per row of the piece).
    fn select(self, rows: &BooleanBuffer) -> Result<ColumnPiece> {
        if rows.len() != self.len() {
            return Err(Error::Internal(format!(
                "a selection of {} rows for a block of {}",
                rows.len(),
                self.len()
            )));
        }
        Ok(match self {
            ColumnPiece::Values(a) => ColumnPiece::Values(filter_array(&a, rows)?),
            ColumnPiece::Coded { entries, codes } => ColumnPiece::Coded {
                entries,
                codes: filter_codes(&codes, rows)?,
            },
        })
    }

    /// The values of the rows `rows` picks (one bit per row of the piece), as an array.
    pub fn materialize(&self, rows: &BooleanBuffer) -> Result<ArrayRef> {
        if rows.len() != self.len() {
            return Err(Error::Internal(format!(
                "a selection of {} rows for a block of {}",
                rows.len(),
                self.len()
            )));
        }
        match self {
            ColumnPiece::Values(a) if rows.count_set_bits() == a.len() => Ok(a.clone()),
            ColumnPiece::Values(a) => filter_array(a, rows),
            ColumnPiece::Coded { entries, codes } => {
                let picked = match rows.count_set_bits() == codes.len() {
                    true => codes.clone(),
                    false => filter_codes(codes, rows)?,
                };
                arrow_select::take::take(entries.as_ref(), &picked, None)
                    .map_err(|e| Error::Internal(format!("dictionary values: {e}")))
            }
        }
    }
}

/// The rows `picked` picks of each string piece, one after the other, as one array, built in
/// one pass that copies each picked value once (a DICTIONARY piece's through its codes).
/// Filtering, taking and concatenating would copy them two or three times. `None` when a
/// piece is not a `Utf8` array.
pub(crate) fn gather_strings(picks: &[(&ColumnPiece, BooleanBuffer)]) -> Result<Option<ArrayRef>> {
    if let [(ColumnPiece::Values(values), picked)] = picks {
        if picked.count_set_bits() == values.len() && values.as_string_opt::<i32>().is_some() {
            return Ok(Some(values.clone()));
        }
    }
    let rows: usize = picks.iter().map(|(_, p)| p.count_set_bits()).sum();
    let mut offsets: Vec<i32> = Vec::with_capacity(rows + 1);
    offsets.push(0);
    let mut bytes: Vec<u8> = Vec::new();
    // Built once the first NULL shows up.
    let mut nulls: Option<BooleanBufferBuilder> = None;
    let overflow = || Error::Internal("a string column of more than 2 GiB in one segment".into());
    for (piece, picked) in picks {
        if picked.len() != piece.len() {
            return Err(Error::Internal(format!(
                "a selection of {} rows for a block of {}",
                picked.len(),
                piece.len()
            )));
        }
        // Each value of the piece's value array, by index: `None` for NULL.
        let (values, codes) = match piece {
            ColumnPiece::Values(a) => (a, None),
            ColumnPiece::Coded { entries, codes } => (entries, Some(codes.values())),
        };
        let Some(values) = values.as_string_opt::<i32>() else {
            return Ok(None);
        };
        let data = values.value_data();
        let value_offsets = values.value_offsets();
        let slices: Vec<Option<&[u8]>> = match codes {
            // A dictionary's entries, looked up once each.
            Some(_) => (0..values.len())
                .map(|i| {
                    values
                        .is_valid(i)
                        .then(|| &data[value_offsets[i] as usize..value_offsets[i + 1] as usize])
                })
                .collect(),
            None => Vec::new(),
        };
        if let Some(codes) = codes {
            if let Some(width) = same_width(&slices) {
                let count = picked.count_set_bits();
                let first = bytes.len();
                i32::try_from(first + count * width).map_err(|_| overflow())?;
                gather_fixed(&slices, width, codes, picked, &mut bytes)?;
                offsets.extend((1..=count).map(|k| (first + k * width) as i32));
                if let Some(n) = &mut nulls {
                    n.append_n(count, true);
                }
                continue;
            }
        }
        if bytes.is_empty() {
            let share = picked.count_set_bits() as f64 / picked.len().max(1) as f64;
            let estimate = match codes {
                Some(_) => slices.iter().flatten().map(|s| s.len()).max().unwrap_or(0) * rows,
                None => (data.len() as f64 * share) as usize,
            };
            bytes.reserve(estimate);
        }
        for i in picked.set_indices() {
            let value = match codes {
                Some(codes) => {
                    let code = codes.get(i).copied().unwrap_or(u32::MAX) as usize;
                    match slices.get(code) {
                        Some(v) => *v,
                        None => {
                            return Err(Error::Internal(format!(
                                "dictionary code {code} of {} entries",
                                slices.len()
                            )))
                        }
                    }
                }
                None => values
                    .is_valid(i)
                    .then(|| &data[value_offsets[i] as usize..value_offsets[i + 1] as usize]),
            };
            match value {
                Some(v) => {
                    // A one-byte value (CHAR(1) flags) without a call to copy it.
                    match v {
                        [b] => bytes.push(*b),
                        _ => bytes.extend_from_slice(v),
                    }
                    if let Some(n) = &mut nulls {
                        n.append(true);
                    }
                }
                None => {
                    let n = nulls.get_or_insert_with(|| {
                        let mut n = BooleanBufferBuilder::new(rows);
                        n.append_n(offsets.len() - 1, true);
                        n
                    });
                    n.append(false);
                }
            }
            offsets.push(i32::try_from(bytes.len()).map_err(|_| overflow())?);
        }
    }
    let nulls = nulls.map(|mut n| NullBuffer::new(n.finish()));
    let array = StringArray::try_new(OffsetBuffer::new(offsets.into()), bytes.into(), nulls)
        .map_err(|e| Error::Internal(format!("gathering strings: {e}")))?;
    Ok(Some(Arc::new(array)))
}

/// The one length every entry of a dictionary has, when none is NULL (CHAR(n) columns, and
/// flags such as TPC-H's `l_returnflag`).
fn same_width(entries: &[Option<&[u8]>]) -> Option<usize> {
    let width = entries.first()?.as_ref()?.len();
    entries
        .iter()
        .all(|e| e.is_some_and(|e| e.len() == width))
        .then_some(width)
}

/// Appends to `bytes` the entry of each row `picked` picks, every entry `width` bytes long
/// ([`same_width`]): the offsets follow from the row count, so the loop only copies bytes, one
/// table lookup per row for one-byte entries.
fn gather_fixed(
    entries: &[Option<&[u8]>],
    width: usize,
    codes: &[u32],
    picked: &BooleanBuffer,
    bytes: &mut Vec<u8>,
) -> Result<()> {
    let bad_code = |code: u32| {
        Error::Internal(format!(
            "dictionary code {code} of {} entries",
            entries.len()
        ))
    };
    let all = picked.count_set_bits() == codes.len();
    if width == 1 {
        let table: Vec<u8> = entries
            .iter()
            .filter_map(|e| e.and_then(|e| e.first().copied()))
            .collect();
        let mut bad = None;
        let mut byte = |code: u32| match table.get(code as usize) {
            Some(b) => *b,
            None => {
                bad = Some(code);
                0
            }
        };
        if all {
            bytes.extend(codes.iter().map(|c| byte(*c)));
        } else {
            bytes.extend(picked.set_indices().map(|i| byte(codes[i])));
        }
        return match bad {
            Some(code) => Err(bad_code(code)),
            None => Ok(()),
        };
    }
    let mut copy = |code: u32| match entries.get(code as usize) {
        Some(Some(v)) => {
            bytes.extend_from_slice(v);
            Ok(())
        }
        _ => Err(bad_code(code)),
    };
    if all {
        codes.iter().try_for_each(|c| copy(*c))
    } else {
        picked.set_indices().try_for_each(|i| copy(codes[i]))
    }
}

fn filter_codes(codes: &UInt32Array, rows: &BooleanBuffer) -> Result<UInt32Array> {
    let mask = BooleanArray::new(rows.clone(), None);
    arrow_select::filter::filter(codes, &mask)
        .map_err(|e| Error::Internal(format!("filtering dictionary codes: {e}")))
        .map(|a| a.as_primitive::<arrow_array::types::UInt32Type>().clone())
}

fn filter_array(array: &ArrayRef, rows: &BooleanBuffer) -> Result<ArrayRef> {
    let mask = BooleanArray::new(rows.clone(), None);
    arrow_select::filter::filter(array.as_ref(), &mask)
        .map_err(|e| Error::Internal(format!("filtering a block: {e}")))
}

/// One array of type `ty` holding `arrays` one after the other.
pub(crate) fn concat_arrays(ty: crate::types::SqlType, arrays: &[ArrayRef]) -> Result<ArrayRef> {
    match arrays {
        [] => Ok(arrow_array::new_empty_array(&ty.arrow_type())),
        [one] => Ok(one.clone()),
        _ => {
            let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
            arrow_select::concat::concat(&refs)
                .map_err(|e| Error::Internal(format!("joining blocks: {e}")))
        }
    }
}

/// Parses and checks the footer, which starts at byte `footer_at` of the file. Blocks must tile
/// the space between the header and the footer exactly, in column order.
fn parse_footer(
    footer: &[u8],
    footer_at: u64,
    table: &TableMeta,
    segment: &SegmentMeta,
) -> Result<(u64, Vec<Vec<BlockMeta>>), String> {
    let mut r = ByteReader::new(footer);
    let table_id = r.u64()?;
    let segment_id = r.u64()?;
    let rows = r.u64()?;
    let column_count = r.u32()?;
    if table_id != table.id || segment_id != segment.id {
        return Err(format!(
            "belongs to table {table_id} segment {segment_id}, not table {} segment {}",
            table.id, segment.id
        ));
    }
    if rows != segment.rows {
        return Err(format!(
            "holds {rows} rows, the manifest says {}",
            segment.rows
        ));
    }
    // Bounds every allocation a read makes by what a writer can produce.
    if rows == 0 || rows > u64::from(SEGMENT_ROWS_MAX) {
        return Err(format!("holds {rows} rows, outside 1..={SEGMENT_ROWS_MAX}"));
    }
    // The table column each of the segment's columns is (none for a dropped one).
    let def = &table.def;
    let held: Vec<Option<usize>> = match &segment.columns {
        None => (0..def.columns.len()).map(Some).collect(),
        Some(ids) => ids.iter().map(|id| def.column_of_id(*id)).collect(),
    };
    if column_count as usize != held.len() {
        return Err(format!(
            "has {column_count} columns, the manifest says {}",
            held.len()
        ));
    }
    let mut next = HEADER_BYTES as u64;
    let mut columns = vec![Vec::new(); def.columns.len()];
    for (c, table_column) in held.iter().enumerate() {
        let type_id = r.u8()?;
        let Some(found) = PhysicalType::from_id(type_id) else {
            return Err(format!("column {c} has unknown physical type id {type_id}"));
        };
        let column = table_column.and_then(|t| def.columns.get(t));
        // A dropped column is never decoded: its blocks are only checked to tile the file.
        let ty = match column {
            Some(column) => {
                let ty = PhysicalType::of(column.ty);
                if found != ty {
                    return Err(format!(
                        "column {c} holds {found:?} values, a {} column needs {ty:?}",
                        column.ty
                    ));
                }
                ty
            }
            None => found,
        };
        let block_count = r.u32()?;
        // Each block entry takes at least 25 bytes, which bounds the allocation by the footer.
        if block_count as usize > r.remaining() / 25 {
            return Err(format!("column {c} claims {block_count} blocks"));
        }
        let mut blocks = Vec::with_capacity(block_count as usize);
        let mut column_rows = 0u64;
        for b in 0..block_count {
            let offset = r.u64()?;
            let length = r.u64()?;
            let block_rows = r.u32()?;
            let block_nulls = r.u32()?;
            let where_ = || format!("column {c} block {b}");
            if offset != next {
                return Err(format!("{} starts at {offset}, expected {next}", where_()));
            }
            next = offset
                .checked_add(length)
                .filter(|end| *end <= footer_at && length >= BLOCK_HEADER_BYTES as u64)
                .ok_or_else(|| {
                    format!(
                        "{} of {length} bytes at {offset} overruns the footer at {footer_at}",
                        where_()
                    )
                })?;
            if block_rows == 0 || block_nulls > block_rows {
                return Err(format!(
                    "{} has {block_rows} rows and {block_nulls} NULLs",
                    where_()
                ));
            }
            let zone_map = ZoneMap::read_bounds(ty, block_rows.into(), block_nulls.into(), &mut r)
                .map_err(|e| format!("{}: {e}", where_()))?;
            column_rows += u64::from(block_rows);
            blocks.push(BlockMeta {
                offset,
                length,
                zone_map,
            });
        }
        if column_rows != rows {
            return Err(format!(
                "column {c} holds {column_rows} rows, the segment {rows}"
            ));
        }
        if let Some(slot) = table_column.and_then(|t| columns.get_mut(t)) {
            *slot = blocks;
        }
    }
    if next != footer_at {
        return Err(format!(
            "blocks end at {next} but the footer starts at {footer_at}"
        ));
    }
    if r.remaining() != 0 {
        return Err(format!("{} unexpected bytes at the end", r.remaining()));
    }
    Ok((rows, columns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::TableDef;
    use crate::column_encoding::ColumnEncoding;
    use crate::segment::physical::pack_interval;
    use crate::segment::writer::{write_segment, write_segment_in_blocks};
    use crate::segment::{BLOCK_ROWS_MAX, WRITER_BLOCK_ROWS_MAX};
    use crate::test_util::{all_null_batch, all_types_def, extremes_batch, generated_batch};
    use crate::types::{TIMESTAMPTZ_ZONE, TIME_MICROS_MAX};
    use crate::zone_map::ZoneValue;
    use crate::SqlType;
    use arrow_array::types::IntervalMonthDayNano;
    use arrow_array::{
        IntervalMonthDayNanoArray, Time64MicrosecondArray, TimestampMicrosecondArray,
    };

    /// Writes `batches` as segment 1 of table 16384 in `dir` and returns the table listing it.
    fn write(dir: &Path, def: &TableDef, batches: &[RecordBatch]) -> (PathBuf, TableMeta) {
        let path = dir.join("seg");
        let _ = std::fs::remove_file(&path);
        let segment = write_segment(&path, 16_384, 1, def, batches).unwrap();
        let table = TableMeta {
            id: 16_384,
            def: def.clone(),
            segments: vec![segment],
            change_version: 1,
        };
        (path, table)
    }

    fn read(path: &Path, table: &TableMeta, projection: &[usize]) -> Result<RecordBatch> {
        SegmentReader::open(path, table, &table.segments[0])?.read(projection)
    }

    fn all(def: &TableDef) -> Vec<usize> {
        (0..def.columns.len()).collect()
    }

    #[test]
    fn every_type_round_trips_with_extremes_and_nulls() {
        // Input: one row group of edge values of all twelve SQL types (NULLs, empty and 100 KB
        // strings, NaN / ±Inf / -0.0, integer and 38-digit decimal extremes, year-1 dates).
        let dir = tempfile::tempdir().unwrap();
        let def = all_types_def("t");
        let batch = extremes_batch(&def);
        let (path, table) = write(dir.path(), &def, std::slice::from_ref(&batch));
        let back = read(&path, &table, &all(&def)).unwrap();
        assert_eq!(back, batch);
        for (c, column) in def.columns.iter().enumerate() {
            assert_eq!(back.column(c).data_type(), &column.ty.arrow_type());
        }
        // Floats compare bitwise: -0.0 and the NaN survive as themselves.
        let reals = back
            .column(4)
            .as_any()
            .downcast_ref::<arrow_array::Float32Array>()
            .unwrap();
        assert!(reals.value(0).is_nan());
        assert_eq!(reals.value(3).to_bits(), (-0.0f32).to_bits());

        let zones = &table.segments[0].zone_maps;
        assert_eq!(zones[0].min, Some(ZoneValue::Int(i16::MIN.into())));
        assert_eq!(zones[0].max, Some(ZoneValue::Int(i16::MAX.into())));
        assert_eq!(zones[0].null_count, 1);
        assert_eq!(
            zones[3].max,
            Some(ZoneValue::Decimal(crate::test_util::DECIMAL_38_MAX))
        );
        assert!(matches!(zones[4].max, Some(ZoneValue::Float(f)) if f.is_nan()));
        assert_eq!(zones[4].min, Some(ZoneValue::Float(f64::NEG_INFINITY)));
        assert_eq!(zones[10].min, Some(ZoneValue::Int(i32::MIN.into())));
        assert!(
            !zones[9].max_exact,
            "the 100 KB string's bound is truncated"
        );
    }

    #[test]
    fn all_null_columns_round_trip_without_zone_bounds() {
        // Input: 1,000 rows in which every value of every type is NULL.
        let dir = tempfile::tempdir().unwrap();
        let def = all_types_def("t");
        let batch = all_null_batch(&def, 1_000);
        let (path, table) = write(dir.path(), &def, std::slice::from_ref(&batch));
        assert_eq!(read(&path, &table, &all(&def)).unwrap(), batch);
        for zone in &table.segments[0].zone_maps {
            assert_eq!((zone.row_count, zone.null_count), (1_000, 1_000));
            assert_eq!((&zone.min, &zone.max), (&None, &None));
        }
    }

    #[test]
    fn columns_span_several_blocks_and_input_batches() {
        // Input: 150,000 generated rows, given as three slices of 70,000, 1 and 79,999 rows.
        let dir = tempfile::tempdir().unwrap();
        let def = all_types_def("t");
        let whole = generated_batch(&def, -1_000, 150_000);
        let parts = [
            whole.slice(0, 70_000),
            whole.slice(70_000, 1),
            whole.slice(70_001, 79_999),
        ];
        let (path, table) = write(dir.path(), &def, &parts);
        let reader = SegmentReader::open(&path, &table, &table.segments[0]).unwrap();
        assert_eq!(reader.rows(), 150_000);
        for c in 0..def.columns.len() {
            let blocks = reader.blocks(c).unwrap();
            let rows: Vec<u64> = blocks.iter().map(|b| b.zone_map.row_count).collect();
            let full = u64::from(WRITER_BLOCK_ROWS_MAX);
            assert_eq!(
                rows,
                [full, full, full, full, 150_000 - 4 * full],
                "column {c}"
            );
        }
        // BIGINT column: i * 1,000,003 from i = -1,000, NULL where i % 7 == 0 (not at the
        // ends of the first block).
        let bigint = reader.blocks(2).unwrap();
        assert_eq!(
            bigint[0].zone_map.min,
            Some(ZoneValue::Int(-1_000 * 1_000_003))
        );
        assert_eq!(
            bigint[0].zone_map.max,
            Some(ZoneValue::Int(
                (i64::from(WRITER_BLOCK_ROWS_MAX) - 1_001) * 1_000_003
            ))
        );
        assert_eq!(
            table.segments[0].zone_maps[2].max,
            Some(ZoneValue::Int(148_999 * 1_000_003))
        );
        assert_eq!(reader.read(&all(&def)).unwrap(), whole);
    }

    #[test]
    fn pieces_and_selected_reads_return_the_rows_whole_reads_do() {
        // Input: 150,000 rows (five blocks per column) of k TEXT, one of five words or NULL
        // (every 7th row), DICTIONARY-encoded; n BIGINT = i; d DECIMAL(12,2) = i / 100.
        let dir = tempfile::tempdir().unwrap();
        let column = |name: &str, ty| ColumnDef {
            name: name.into(),
            ty,
            nullable: true,
            encoding: Default::default(),
        };
        let decimal = SqlType::Decimal {
            precision: 12,
            scale: 2,
        };
        let def = TableDef::new(
            "public",
            "t",
            vec![
                column("k", SqlType::Text),
                column("n", SqlType::BigInt),
                column("d", decimal),
            ],
        );
        let words = ["AIR", "MAIL", "SHIP", "TRUCK", "REG AIR"];
        let rows = 150_000i64;
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(
                def.columns
                    .iter()
                    .map(|c| c.arrow_field())
                    .collect::<Vec<_>>(),
            )),
            vec![
                Arc::new(arrow_array::StringArray::from_iter(
                    (0..rows).map(|i| (i % 7 != 0).then(|| words[(i % 5) as usize])),
                )),
                Arc::new(arrow_array::Int64Array::from_iter_values(0..rows)),
                Arc::new(
                    arrow_array::Decimal128Array::from_iter_values((0..rows).map(i128::from))
                        .with_precision_and_scale(12, 2)
                        .unwrap(),
                ),
            ],
        )
        .unwrap();
        let (path, table) = write(dir.path(), &def, &[batch]);
        let reader = SegmentReader::open(&path, &table, &table.segments[0]).unwrap();
        let concat = |arrays: Vec<ArrayRef>| concat_arrays(SqlType::Text, &arrays).unwrap();

        // Every row: k's pieces are all codes; materialized they are the column.
        let whole = [(0, rows as u64)];
        let none = DeleteVector::new();
        let (pieces, read, skipped) = reader.read_pieces(0, &whole, &none, 150_000).unwrap();
        assert_eq!((pieces.len(), read, skipped), (5, 5, 0));
        assert!(pieces
            .iter()
            .all(|p| matches!(p, ColumnPiece::Coded { entries, .. } if entries.len() == 6)));
        let k = reader.read(&[0]).unwrap().column(0).clone();
        let all_of = |p: &ColumnPiece| p.materialize(&BooleanBuffer::new_set(p.len())).unwrap();
        assert_eq!(&concat(pieces.iter().map(all_of).collect()), &k);

        // Kept intervals crossing blocks, deleted rows: pieces, and selections sparse (every
        // 10th row below output row 30,000) and dense (all but every 3rd), equal the
        // whole read of those rows, filtered.
        let keep = [(10_000, 40_000), (65_000, 150_000)];
        let deleted = DeleteVector::from_rows((20_000..30_000).step_by(2).chain([149_999]));
        let (expected, _, _) = reader.read_selected(&[0, 1, 2], &keep, &deleted).unwrap();
        let n = expected.num_rows();
        let (pieces, _, _) = reader.read_pieces(0, &keep, &deleted, n).unwrap();
        assert_eq!(
            &concat(pieces.iter().map(all_of).collect()),
            expected.column(0)
        );
        let sparse = BooleanBuffer::collect_bool(n, |i| i % 10 == 0 && i < 30_000);
        let dense = BooleanBuffer::collect_bool(n, |i| i % 3 != 0);
        for selection in [sparse, dense] {
            let mask = BooleanArray::new(selection.clone(), None);
            let want = arrow_select::filter::filter_record_batch(&expected, &mask).unwrap();
            for c in 0..3 {
                let (got, read, skipped) = reader
                    .read_column_where(c, &keep, &deleted, &selection)
                    .unwrap();
                assert_eq!(&got, want.column(c), "column {c}");
                assert_eq!(read + skipped, 5, "column {c}");
            }
        }
        // The sparse selection picks nothing past the third block (whose kept rows start at
        // output row 25,536): the last two are not read.
        let sparse = BooleanBuffer::collect_bool(n, |i| i % 10 == 0 && i < 30_000);
        let (_, read, skipped) = reader
            .read_column_where(1, &keep, &deleted, &sparse)
            .unwrap();
        assert_eq!((read, skipped), (3, 2));
        // A selection of the wrong length is an error, not a panic.
        assert!(reader
            .read_column_where(1, &keep, &deleted, &BooleanBuffer::new_set(n + 1))
            .is_err());
    }

    #[test]
    fn gathered_strings_equal_filtered_and_concatenated_pieces() {
        // Input: a plain piece with a NULL and an empty string, a DICTIONARY piece whose last
        // entry is NULL, and a piece of one-byte values; every row picked, none, and every
        // other one.
        let plain = ColumnPiece::Values(Arc::new(StringArray::from(vec![
            Some("alpha"),
            None,
            Some(""),
            Some("δέλτα"),
        ])));
        let coded = ColumnPiece::Coded {
            entries: Arc::new(StringArray::from(vec![Some("R"), Some("long value"), None])),
            codes: UInt32Array::from(vec![0, 1, 2, 1, 0, 2]),
        };
        let flags = ColumnPiece::Values(Arc::new(StringArray::from(vec!["A", "F", "N"])));
        // DICTIONARY pieces whose entries all have one length (one byte, three, none).
        let coded_flags = ColumnPiece::Coded {
            entries: Arc::new(StringArray::from(vec!["N", "R", "A"])),
            codes: UInt32Array::from(vec![2, 0, 0, 1, 2]),
        };
        let coded_chars = ColumnPiece::Coded {
            entries: Arc::new(StringArray::from(vec!["abc", "xyz"])),
            codes: UInt32Array::from(vec![1, 1, 0]),
        };
        let coded_empty = ColumnPiece::Coded {
            entries: Arc::new(StringArray::from(vec![""])),
            codes: UInt32Array::from(vec![0, 0, 0]),
        };
        let pieces = [
            &plain,
            &coded_flags,
            &coded,
            &coded_chars,
            &flags,
            &coded_empty,
            &coded_flags,
        ];
        let picks: [fn(usize) -> bool; 3] = [|_| true, |_| false, |i| i % 2 == 0];
        for pick in picks {
            let picked: Vec<(&ColumnPiece, BooleanBuffer)> = pieces
                .iter()
                .map(|p| (*p, BooleanBuffer::collect_bool(p.len(), pick)))
                .collect();
            let expected: Vec<ArrayRef> = picked
                .iter()
                .map(|(p, rows)| p.materialize(rows).unwrap())
                .collect();
            let expected = concat_arrays(SqlType::Text, &expected).unwrap();
            let gathered = gather_strings(&picked).unwrap().unwrap();
            assert_eq!(gathered.as_ref(), expected.as_ref());
        }
        // A code past the dictionary is an error, not a panic.
        let bad = ColumnPiece::Coded {
            entries: Arc::new(StringArray::from(vec!["x"])),
            codes: UInt32Array::from(vec![0, 7]),
        };
        assert!(gather_strings(&[(&bad, BooleanBuffer::new_set(2))]).is_err());
        let bad_wide = ColumnPiece::Coded {
            entries: Arc::new(StringArray::from(vec!["xy"])),
            codes: UInt32Array::from(vec![0, 7]),
        };
        assert!(gather_strings(&[(&bad_wide, BooleanBuffer::new_set(2))]).is_err());
        assert!(gather_strings(&[(&bad_wide, BooleanBuffer::from(vec![false, true]))]).is_err());
        // Not Utf8: left to the general path.
        let ints = ColumnPiece::Values(Arc::new(arrow_array::Int64Array::from(vec![1])));
        assert!(gather_strings(&[(&ints, BooleanBuffer::new_set(1))])
            .unwrap()
            .is_none());
    }

    #[test]
    fn segments_with_blocks_of_earlier_builds_still_read() {
        // Input: 150,000 generated rows written in blocks of BLOCK_ROWS_MAX rows, as builds
        // before the smaller writer blocks wrote them: the same format version, read by the
        // same code, with the same zone maps per block.
        let dir = tempfile::tempdir().unwrap();
        let def = all_types_def("t");
        let whole = generated_batch(&def, -1_000, 150_000);
        let path = dir.path().join("old");
        let segment = write_segment_in_blocks(
            &path,
            16_384,
            1,
            &def,
            std::slice::from_ref(&whole),
            BLOCK_ROWS_MAX,
        )
        .unwrap();
        let table = TableMeta {
            id: 16_384,
            def: def.clone(),
            segments: vec![segment],
            change_version: 1,
        };
        let reader = SegmentReader::open(&path, &table, &table.segments[0]).unwrap();
        let full = u64::from(BLOCK_ROWS_MAX);
        for c in 0..def.columns.len() {
            let rows: Vec<u64> = reader
                .blocks(c)
                .unwrap()
                .iter()
                .map(|b| b.zone_map.row_count)
                .collect();
            assert_eq!(rows, [full, full, 150_000 - 2 * full], "column {c}");
        }
        assert_eq!(reader.read(&all(&def)).unwrap(), whole);
        // A selection of rows 70,000..70,010 decodes the second block of each column only.
        let (batch, read, skipped) = reader
            .read_selected(&[0, 2], &[(70_000, 70_010)], &DeleteVector::new())
            .unwrap();
        assert_eq!((read, skipped), (2, 4));
        assert_eq!(batch.column(1), &whole.column(2).slice(70_000, 10));
        // More rows per block than the format allows is refused before writing.
        assert!(write_segment_in_blocks(
            &dir.path().join("big"),
            16_384,
            2,
            &def,
            std::slice::from_ref(&whole),
            BLOCK_ROWS_MAX + 1,
        )
        .is_err());
    }

    #[test]
    fn temporal_types_round_trip_under_every_encoding_they_accept() {
        // Input: a TIME, a TIMESTAMPTZ and an INTERVAL column under each ENCODE preference its
        // type accepts, each holding 2 * WRITER_BLOCK_ROWS_MAX + 1,000 rows: a first block all
        // NULL; a second running through many values with NULLs, starting at the type's
        // minimum and ending at its maximum; a third of one value with a NULL in every tenth
        // row.
        let w = WRITER_BLOCK_ROWS_MAX as usize;
        let n = 2 * w + 1_000;
        let (first, last) = (w, 2 * w - 1);
        // Row i's seed, or None for NULL.
        let seed = |i: usize| -> Option<i64> {
            if i < w
                || (i >= 2 * w && i.is_multiple_of(10))
                || (i > first + 1 && i < last && i.is_multiple_of(13))
            {
                None
            } else if i >= 2 * w {
                Some(7)
            } else {
                Some(((i - w) as i64).wrapping_mul(2_654_435_761))
            }
        };
        let micros_max = i64::MAX / 1000;
        let time: ArrayRef = Arc::new(Time64MicrosecondArray::from_iter((0..n).map(|i| {
            seed(i).map(|v| match i {
                _ if i == first => 0,
                _ if i == last => TIME_MICROS_MAX,
                _ => v.rem_euclid(TIME_MICROS_MAX + 1),
            })
        })));
        let timestamptz: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from_iter((0..n).map(|i| {
                seed(i).map(|v| match i {
                    _ if i == first => i64::MIN,
                    _ if i == last => i64::MAX,
                    _ => v,
                })
            }))
            .with_timezone(TIMESTAMPTZ_ZONE),
        );
        // Zone maps order intervals by their packed INT128 value (docs/segment-format.md), in
        // which the interval of every part at its minimum (i32::MIN months and days, the most
        // negative microseconds) wraps around to just below 2^127 and is the largest, above
        // the interval of every part at its maximum; i32::MIN months alone packs to -2^127,
        // the smallest.
        let interval_at = |i: usize, v: i64| match i {
            _ if i == first => IntervalMonthDayNano::new(i32::MIN, 0, 0),
            _ if i == first + 1 => {
                IntervalMonthDayNano::new(i32::MIN, i32::MIN, -micros_max * 1000)
            }
            _ if i == last => IntervalMonthDayNano::new(i32::MAX, i32::MAX, micros_max * 1000),
            _ => IntervalMonthDayNano::new(
                (v % 37) as i32,
                (v % 400) as i32,
                (v % 1_000_000_000_000) * 1000,
            ),
        };
        let interval: ArrayRef = Arc::new(IntervalMonthDayNanoArray::from_iter(
            (0..n).map(|i| seed(i).map(|v| interval_at(i, v))),
        ));
        let (min_interval, max_interval) = (
            i128::MIN,
            pack_interval(IntervalMonthDayNano::new(
                i32::MIN,
                i32::MIN,
                -micros_max * 1000,
            ))
            .unwrap(),
        );
        assert_eq!(
            max_interval,
            i128::MAX - (1 << 95) - i128::from(micros_max) + 1
        );
        let cases = [
            (
                SqlType::Time,
                time,
                ZoneValue::Int(0),
                ZoneValue::Int(TIME_MICROS_MAX),
            ),
            (
                SqlType::Timestamptz,
                timestamptz,
                ZoneValue::Int(i64::MIN),
                ZoneValue::Int(i64::MAX),
            ),
            (
                SqlType::Interval,
                interval,
                ZoneValue::Decimal(min_interval),
                ZoneValue::Decimal(max_interval),
            ),
        ];
        let mut columns = Vec::new();
        let mut arrays = Vec::new();
        for (ty, array, _, _) in &cases {
            for preference in ColumnEncoding::ALL {
                if preference.check(*ty).is_ok() {
                    columns.push(crate::ColumnDef {
                        name: format!("c{}", columns.len()),
                        ty: *ty,
                        nullable: true,
                        encoding: preference,
                    });
                    arrays.push(array.clone());
                }
            }
        }
        // Every type takes at least AUTO, RAW, RUNLENGTH, ZSTD, LZO and AZ64.
        assert!(columns.len() >= 3 * 6, "{}", columns.len());
        let def = TableDef::new("public", "t", columns);
        let batch = RecordBatch::try_new(def.arrow_schema(), arrays).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (path, table) = write(dir.path(), &def, std::slice::from_ref(&batch));
        let reader = SegmentReader::open(&path, &table, &table.segments[0]).unwrap();
        assert_eq!(reader.read(&all(&def)).unwrap(), batch);
        for (c, column) in def.columns.iter().enumerate() {
            let (_, _, min, max) = cases.iter().find(|k| k.0 == column.ty).unwrap();
            let blocks = reader.blocks(c).unwrap();
            let zones: Vec<&ZoneMap> = blocks.iter().map(|b| &b.zone_map).collect();
            assert_eq!(zones.len(), 3, "{}", column.name);
            // The all-NULL block has no bounds; the second holds both extremes.
            assert_eq!((zones[0].null_count, &zones[0].min), (w as u64, &None));
            assert_eq!(zones[1].min.as_ref(), Some(min), "{}", column.name);
            assert_eq!(zones[1].max.as_ref(), Some(max), "{}", column.name);
            assert_eq!(zones[2].null_count, 100);
            assert_eq!(table.segments[0].zone_maps[c].min.as_ref(), Some(min));
            // The third block alone, as a scan kept by its zone map reads it.
            let (back, read, skipped) = reader
                .read_selected(&[c], &[(2 * w as u64, n as u64)], &DeleteVector::new())
                .unwrap();
            assert_eq!((read, skipped), (1, 2));
            assert_eq!(back.column(0), &batch.column(c).slice(2 * w, 1_000));
        }
    }

    #[test]
    fn projections_pick_reorder_and_may_be_empty() {
        // Input: 100 generated rows; projections [9, 0], [3, 3], [] and [12] (out of range).
        let dir = tempfile::tempdir().unwrap();
        let def = all_types_def("t");
        let batch = generated_batch(&def, 0, 100);
        let (path, table) = write(dir.path(), &def, std::slice::from_ref(&batch));

        let picked = read(&path, &table, &[9, 0]).unwrap();
        assert_eq!(picked.schema().field(0).name(), &def.columns[9].name);
        assert_eq!(picked.column(0), batch.column(9));
        assert_eq!(picked.column(1), batch.column(0));

        let twice = read(&path, &table, &[3, 3]).unwrap();
        assert_eq!(twice.column(0), twice.column(1));

        let none = read(&path, &table, &[]).unwrap();
        assert_eq!((none.num_columns(), none.num_rows()), (0, 100));

        assert!(matches!(
            read(&path, &table, &[12]),
            Err(Error::Internal(_))
        ));
    }

    #[test]
    fn every_flipped_byte_of_a_segment_file_is_reported_corrupt() {
        // Input: a 20-row segment of every type; each byte of the file flipped in turn.
        let dir = tempfile::tempdir().unwrap();
        let def = all_types_def("t");
        let batch = generated_batch(&def, 0, 20);
        let (path, table) = write(dir.path(), &def, std::slice::from_ref(&batch));
        let good = std::fs::read(&path).unwrap();
        assert_eq!(read(&path, &table, &all(&def)).unwrap(), batch);
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x04;
            std::fs::write(&path, &bad).unwrap();
            match read(&path, &table, &all(&def)) {
                Err(Error::Corrupt { file, detail }) => {
                    assert_eq!(file, path.display().to_string());
                    assert!(!detail.is_empty());
                }
                other => panic!("byte {i}: {other:?}"),
            }
        }
    }

    #[test]
    fn truncated_segment_files_are_reported_corrupt() {
        // Input: a 20-row segment cut to each shorter length, with the manifest's byte count
        // both unchanged and (as if the manifest agreed) matching the cut.
        let dir = tempfile::tempdir().unwrap();
        let def = all_types_def("t");
        let (path, table) = write(dir.path(), &def, &[generated_batch(&def, 0, 20)]);
        let good = std::fs::read(&path).unwrap();
        for len in 0..good.len() {
            std::fs::write(&path, &good[..len]).unwrap();
            assert!(matches!(
                read(&path, &table, &all(&def)),
                Err(Error::Corrupt { .. })
            ));
            let mut agreeing = table.clone();
            agreeing.segments[0].bytes = len as u64;
            assert!(
                matches!(
                    read(&path, &agreeing, &all(&def)),
                    Err(Error::Corrupt { .. })
                ),
                "length {len}"
            );
        }
    }

    #[test]
    fn a_segment_of_another_table_or_shape_is_rejected() {
        // Input: a valid segment opened as another table id, another segment id, with another
        // row count, and under a definition with a different column type.
        let dir = tempfile::tempdir().unwrap();
        let def = all_types_def("t");
        let (path, table) = write(dir.path(), &def, &[generated_batch(&def, 0, 20)]);
        let mut other = table.clone();
        other.id += 1;
        assert!(matches!(
            read(&path, &other, &[0]),
            Err(Error::Corrupt { .. })
        ));
        let mut other = table.clone();
        other.segments[0].id += 1;
        assert!(matches!(
            read(&path, &other, &[0]),
            Err(Error::Corrupt { .. })
        ));
        let mut other = table.clone();
        other.segments[0].rows += 1;
        assert!(matches!(
            read(&path, &other, &[0]),
            Err(Error::Corrupt { .. })
        ));
        let mut other = table.clone();
        other.def.columns[0].ty = crate::SqlType::BigInt;
        assert!(matches!(
            read(&path, &other, &[0]),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(
            read(&dir.path().join("missing"), &table, &[0]),
            Err(Error::Io { .. })
        ));
    }
}
