//! The write-ahead log: one file, `wal/basalt.wal`, holding the commits made since the newest
//! manifest. Format (byte by byte, version 1) in `docs/wal.md`; the commit protocol in
//! `docs/transactions.md`.
//!
//! ```text
//! +---------------- file header (16 bytes) ----------------+
//! | magic "BASALTWL" (8) | format version u32 | reserved u32 |
//! +--------------------------------------------------------+
//! | record | record | ...                                   |
//! +--------------------------------------------------------+
//! record: | body length u32 | crc32c u32 (of the body) | body |
//! ```
//! A record is one commit that only appended small batches, deleted rows or truncated tables
//! (no DDL, no segment files). Its body holds the manifest version the commit produced and,
//! per table, what changed. Replay reads records in order and stops at the first one that is
//! torn (short, or its checksum fails): that is the tail a crash left, and it was never
//! acknowledged.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};

use crate::bytes::{ByteReader, PutLe};
use crate::catalog::{Manifest, SegmentMeta};
use crate::column_encoding::ColumnEncoding;
use crate::delete_vector::DeleteVector;
use crate::durable::{create_dir, sync_dir};
use crate::error::{io_at, Error, Result};
use crate::resident::Resident;
use crate::segment::block::{decode_block, encode_block, BLOCK_HEADER_BYTES};
use crate::segment::column::ColumnBuilder;
use crate::segment::physical::Piece;
use crate::segment::BLOCK_ROWS_MAX;
use crate::zone_map::ZoneMap;

/// First 8 bytes of the WAL file.
pub const WAL_MAGIC: [u8; 8] = *b"BASALTWL";
/// The WAL format version this build writes and reads.
pub const WAL_FORMAT_VERSION: u32 = 1;
/// Bytes of the file header; the first record starts here.
pub(crate) const WAL_HEADER_BYTES: u64 = 16;
const RECORD_HEADER_BYTES: usize = 8;
/// The directory and file name of the WAL in the data directory.
pub(crate) const WAL_DIR: &str = "wal";
pub(crate) const WAL_FILE: &str = "basalt.wal";

const FLAG_TRUNCATE: u8 = 1;
const FLAG_APPEND: u8 = 2;

/// What one committed transaction did to one table, resolved against the version it was
/// applied to.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TableChange {
    pub(crate) table_id: u64,
    /// Every segment of the table is removed first (TRUNCATE).
    pub(crate) truncate: bool,
    /// Rows appended to resident segment `.0` starting at position `.1` (its row count
    /// before); a segment id the table does not hold starts a new resident segment at 0.
    pub(crate) append: Option<(u64, u64, RecordBatch)>,
    /// Rows newly deleted, by segment id, applied after the append (so they may name rows it
    /// appended).
    pub(crate) deletes: Vec<(u64, DeleteVector)>,
}

/// One commit.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Record {
    /// The manifest version this commit produced.
    pub(crate) version: u64,
    pub(crate) tables: Vec<TableChange>,
}

impl Record {
    /// The record's bytes, header included.
    pub(crate) fn encode(&self, manifest: &Manifest) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        body.put_u64(self.version);
        body.put_u32(self.tables.len() as u32);
        for t in &self.tables {
            let table = manifest.table_by_id(t.table_id).ok_or_else(|| {
                Error::Internal(format!("WAL record for unknown table {}", t.table_id))
            })?;
            body.put_u64(t.table_id);
            let mut flags = 0;
            if t.truncate {
                flags |= FLAG_TRUNCATE;
            }
            if t.append.is_some() {
                flags |= FLAG_APPEND;
            }
            body.put_u8(flags);
            if let Some((segment, offset, batch)) = &t.append {
                let rows = u32::try_from(batch.num_rows())
                    .ok()
                    .filter(|n| *n > 0 && *n <= BLOCK_ROWS_MAX)
                    .ok_or_else(|| {
                        Error::Internal(format!("a WAL append of {} rows", batch.num_rows()))
                    })?;
                if batch.num_columns() != table.def.columns.len() {
                    return Err(Error::Internal("WAL append of the wrong width".into()));
                }
                body.put_u64(*segment);
                body.put_u64(*offset);
                body.put_u32(rows);
                body.put_u32(batch.num_columns() as u32);
                for (column, array) in table.def.columns.iter().zip(batch.columns()) {
                    let piece = Piece::new(column.ty, array.as_ref())?;
                    let mut block = Vec::new();
                    let written = encode_block(&[piece], ColumnEncoding::Raw, &mut block)
                        .map_err(Error::Internal)?;
                    body.put_u32(written.nulls);
                    body.put_u32(block.len() as u32);
                    body.extend_from_slice(&block);
                }
            }
            body.put_u32(t.deletes.len() as u32);
            for (segment, rows) in &t.deletes {
                body.put_u64(*segment);
                body.put_u32(rows.runs().len() as u32);
                for (first, count) in rows.runs() {
                    body.put_u32(*first);
                    body.put_u32(*count);
                }
            }
        }
        let len = u32::try_from(body.len())
            .map_err(|_| Error::Internal(format!("a WAL record of {} bytes", body.len())))?;
        let mut out = Vec::with_capacity(RECORD_HEADER_BYTES + body.len());
        out.put_u32(len);
        out.put_u32(crc32c::crc32c(&body));
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Parses a record body whose checksum matched; `manifest` (the version it applies to)
    /// gives the column types. Any inconsistency is corruption.
    fn decode(body: &[u8], manifest: &Manifest) -> Result<Record, String> {
        let mut r = ByteReader::new(body);
        let version = r.u64()?;
        let count = r.u32()?;
        let mut tables = Vec::new();
        for _ in 0..count {
            let table_id = r.u64()?;
            let flags = r.u8()?;
            if flags & !(FLAG_TRUNCATE | FLAG_APPEND) != 0 {
                return Err(format!("unknown flags {flags:#04x}"));
            }
            let table = manifest
                .table_by_id(table_id)
                .ok_or_else(|| format!("record for table {table_id}, which does not exist"))?;
            let append = if flags & FLAG_APPEND != 0 {
                let segment = r.u64()?;
                let offset = r.u64()?;
                let rows = r.u32()?;
                let columns = r.u32()? as usize;
                if rows == 0 || rows > BLOCK_ROWS_MAX || columns != table.def.columns.len() {
                    return Err(format!(
                        "append of {rows} rows in {columns} columns to a table of {}",
                        table.def.columns.len()
                    ));
                }
                let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns);
                for column in &table.def.columns {
                    let nulls = r.u32()?;
                    let len = r.u32()? as usize;
                    if len < BLOCK_HEADER_BYTES {
                        return Err(format!("block of {len} bytes"));
                    }
                    let block = r.take(len)?;
                    let mut builder = ColumnBuilder::new(column.ty, rows as usize);
                    decode_block(block, rows, nulls, &mut builder)?;
                    arrays.push(builder.finish()?);
                }
                let batch = RecordBatch::try_new_with_options(
                    table.def.arrow_schema(),
                    arrays,
                    &RecordBatchOptions::new().with_row_count(Some(rows as usize)),
                )
                .map_err(|e| format!("appended rows: {e}"))?;
                Some((segment, offset, batch))
            } else {
                None
            };
            let deletes_len = r.u32()?;
            let mut deletes = Vec::new();
            for _ in 0..deletes_len {
                let segment = r.u64()?;
                let runs = r.u32()?;
                let mut rows = Vec::new();
                for _ in 0..runs {
                    let first = r.u32()?;
                    let count = r.u32()?;
                    let end = first
                        .checked_add(count)
                        .ok_or_else(|| format!("delete run {first}+{count}"))?;
                    rows.extend(first..end);
                }
                deletes.push((segment, DeleteVector::from_rows(rows)));
            }
            tables.push(TableChange {
                table_id,
                truncate: flags & FLAG_TRUNCATE != 0,
                append,
                deletes,
            });
        }
        if r.remaining() != 0 {
            return Err(format!("{} bytes after the record", r.remaining()));
        }
        Ok(Record { version, tables })
    }
}

/// Rows to push into resident segments once the record that appends them is written.
pub(crate) type Pushes = Vec<(Arc<Resident>, RecordBatch)>;

/// Applies `record` to `base` (the version before it): the next version, and the rows to push
/// into resident segments. Fails when the record does not fit `base`.
pub(crate) fn apply(base: &Manifest, record: &Record) -> Result<(Manifest, Pushes), String> {
    if Some(record.version) != base.version.checked_add(1) {
        return Err(format!(
            "record of version {} after version {}",
            record.version, base.version
        ));
    }
    let mut next = base.clone();
    next.version = record.version;
    let mut pushes = Vec::new();
    for change in &record.tables {
        let table = next
            .table_by_id_mut(change.table_id)
            .ok_or_else(|| format!("table {} does not exist", change.table_id))?;
        if change.truncate {
            table.segments.clear();
        }
        if let Some((segment_id, offset, batch)) = &change.append {
            let zone_maps = zone_maps_of(&table.def, batch)?;
            let rows = batch.num_rows() as u64;
            let bytes = batch_bytes(batch);
            let resident = match table.segments.iter_mut().find(|s| s.id == *segment_id) {
                Some(tail) => {
                    let Some(resident) = tail.resident.clone() else {
                        return Err(format!("append to segment {segment_id}, a file"));
                    };
                    if tail.columns.is_some() {
                        return Err(format!(
                            "append to segment {segment_id}, of an earlier table definition"
                        ));
                    }
                    if tail.rows != *offset {
                        return Err(format!(
                            "append at row {offset} of segment {segment_id} of {} rows",
                            tail.rows
                        ));
                    }
                    tail.rows += rows;
                    tail.bytes += bytes;
                    for (z, new) in tail.zone_maps.iter_mut().zip(&zone_maps) {
                        z.merge(new);
                    }
                    resident
                }
                None => {
                    if *offset != 0 {
                        return Err(format!("new segment {segment_id} starting at {offset}"));
                    }
                    let resident = Arc::new(Resident::new());
                    table.segments.push(SegmentMeta {
                        id: *segment_id,
                        rows,
                        bytes,
                        zone_maps,
                        deleted: DeleteVector::new(),
                        columns: None,
                        resident: Some(resident.clone()),
                    });
                    resident
                }
            };
            pushes.push((resident, batch.clone()));
        }
        for (segment_id, rows) in &change.deletes {
            let segment = table
                .segments
                .iter_mut()
                .find(|s| s.id == *segment_id)
                .ok_or_else(|| format!("delete from segment {segment_id}, which is not there"))?;
            if let Some((first, count)) = rows.runs().last() {
                if u64::from(*first) + u64::from(*count) > segment.rows {
                    return Err(format!(
                        "delete of rows up to {} of segment {segment_id} of {} rows",
                        first + count,
                        segment.rows
                    ));
                }
            }
            segment.deleted = segment
                .deleted
                .with_rows(rows.runs().iter().flat_map(|(f, c)| *f..f + c));
        }
        table.change_version = record.version;
    }
    Ok((next, pushes))
}

/// One zone map per column of `batch`.
pub(crate) fn zone_maps_of(
    def: &crate::catalog::TableDef,
    batch: &RecordBatch,
) -> Result<Vec<ZoneMap>, String> {
    def.columns
        .iter()
        .zip(batch.columns())
        .map(|(c, a)| {
            Piece::new(c.ty, a.as_ref())
                .map(|p| ZoneMap::of_pieces(&[p]))
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// The memory `batch`'s values take (what a resident segment reports as its size).
pub(crate) fn batch_bytes(batch: &RecordBatch) -> u64 {
    batch
        .columns()
        .iter()
        .map(|a| a.to_data().get_slice_memory_size().unwrap_or(0) as u64)
        .sum()
}

/// The open WAL file, positioned at its end.
#[derive(Debug)]
pub(crate) struct WalFile {
    path: PathBuf,
    pub(crate) file: Arc<File>,
    /// Bytes in the file (header and every record written).
    pub(crate) len: u64,
}

impl WalFile {
    /// Opens `dir/wal/basalt.wal`, creating it (durably) if missing, and returns it with the
    /// records after `manifest`'s version that it holds, in order, each applied to the
    /// version before it (the last element is the newest version). A torn tail is cut off.
    pub(crate) fn open(dir: &Path, manifest: &Manifest) -> Result<(WalFile, Vec<Manifest>)> {
        let wal_dir = dir.join(WAL_DIR);
        create_dir(&wal_dir)?;
        let path = wal_dir.join(WAL_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_at(&path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_at(&path))?;
        if (bytes.len() as u64) < WAL_HEADER_BYTES {
            // New, or torn while its header was written: start it again.
            file.set_len(0).map_err(io_at(&path))?;
            file.seek(SeekFrom::Start(0)).map_err(io_at(&path))?;
            let mut header = Vec::with_capacity(WAL_HEADER_BYTES as usize);
            header.extend_from_slice(&WAL_MAGIC);
            header.put_u32(WAL_FORMAT_VERSION);
            header.put_u32(0);
            file.write_all(&header).map_err(io_at(&path))?;
            file.sync_all().map_err(io_at(&path))?;
            sync_dir(&wal_dir)?;
            let wal = WalFile {
                path,
                file: Arc::new(file),
                len: WAL_HEADER_BYTES,
            };
            return Ok((wal, Vec::new()));
        }
        let corrupt = |detail: String| Error::corrupt(&path, detail);
        let mut r = ByteReader::new(&bytes);
        let magic: [u8; 8] = r.array().map_err(&corrupt)?;
        let format = r.u32().map_err(&corrupt)?;
        let reserved = r.u32().map_err(&corrupt)?;
        if magic != WAL_MAGIC {
            return Err(corrupt(format!("bad magic {magic:02x?}")));
        }
        if format != WAL_FORMAT_VERSION || reserved != 0 {
            return Err(corrupt(format!(
                "WAL format version {format} (reserved {reserved}), this build reads \
                 {WAL_FORMAT_VERSION}"
            )));
        }
        let mut versions: Vec<Manifest> = Vec::new();
        let mut end = WAL_HEADER_BYTES as usize;
        while let Some(header) = bytes.get(end..end + RECORD_HEADER_BYTES) {
            let mut h = ByteReader::new(header);
            let len = h.u32().map_err(&corrupt)? as usize;
            let crc = h.u32().map_err(&corrupt)?;
            let start = end + RECORD_HEADER_BYTES;
            let Some(body) = bytes.get(start..start + len) else {
                break;
            };
            if crc32c::crc32c(body) != crc {
                break;
            }
            let at = end;
            end = start + len;
            let base = versions.last().unwrap_or(manifest);
            let version = ByteReader::new(body).u64().map_err(&corrupt)?;
            if version <= base.version {
                // Already in the manifest (a checkpoint wrote it before the WAL was reset).
                if !versions.is_empty() {
                    return Err(corrupt(format!(
                        "record at offset {at} goes back to version {version}"
                    )));
                }
                continue;
            }
            let record = Record::decode(body, base)
                .map_err(|e| corrupt(format!("record at offset {at}: {e}")))?;
            let (next, pushes) =
                apply(base, &record).map_err(|e| corrupt(format!("record at offset {at}: {e}")))?;
            for (resident, batch) in pushes {
                resident.push(&batch.schema(), batch);
            }
            versions.push(next);
        }
        if end < bytes.len() {
            // The torn tail of a crash: never acknowledged, so never applied. Cut it off so
            // the next record follows the last good one.
            file.set_len(end as u64).map_err(io_at(&path))?;
            file.sync_all().map_err(io_at(&path))?;
        }
        file.seek(SeekFrom::Start(end as u64))
            .map_err(io_at(&path))?;
        let wal = WalFile {
            path,
            file: Arc::new(file),
            len: end as u64,
        };
        Ok((wal, versions))
    }

    /// The file's path, for errors.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `bytes` (not yet durable). On failure the file is cut back to its old length;
    /// if even that fails the error says so and the caller must stop writing.
    pub(crate) fn append(&mut self, bytes: &[u8]) -> Result<(), (Error, bool)> {
        let written = crate::fault::check(crate::fault::Site::WalWrite, &self.path)
            .and_then(|()| (&*self.file).write_all(bytes).map_err(io_at(&self.path)));
        match written {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                let restored = self.cut_back(self.len);
                Err((e, restored.is_ok()))
            }
        }
    }

    /// Cuts the file back to `len` bytes and makes that durable.
    pub(crate) fn cut_back(&mut self, len: u64) -> Result<()> {
        self.file.set_len(len).map_err(io_at(&self.path))?;
        (&*self.file)
            .seek(SeekFrom::Start(len))
            .map_err(io_at(&self.path))?;
        self.file.sync_all().map_err(io_at(&self.path))?;
        self.len = len;
        Ok(())
    }
}

/// Makes everything written to `file` so far durable.
pub(crate) fn sync(file: &File, path: &Path) -> Result<()> {
    crate::fault::check(crate::fault::Site::WalSync, path)?;
    file.sync_data().map_err(io_at(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::TableMeta;
    use crate::test_util::{int_batch, int_def};

    #[test]
    fn a_single_row_append_record_is_the_documented_bytes() {
        // Input: the example of docs/wal.md: the value 7 appended to resident segment 12
        // (3 rows) of table 16384 (one BIGINT column), producing version 42.
        let manifest = Manifest {
            version: 41,
            tables: vec![TableMeta {
                id: 16_384,
                def: int_def("t"),
                segments: Vec::new(),
                change_version: 1,
            }],
            security: Default::default(),
            external: Default::default(),
            objects: Default::default(),
        };
        let record = Record {
            version: 42,
            tables: vec![TableChange {
                table_id: 16_384,
                truncate: false,
                append: Some((12, 3, int_batch(7..8))),
                deletes: Vec::new(),
            }],
        };
        let bytes = record.encode(&manifest).unwrap();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "59000000077bac782a00000000000000010000000040000000000000020c0000000000000003000000\
             00000000010000000100000000000000200000000000000001000000000000000800000008000000b5\
             f858b0070000000000000000000000"
        );
        let body = &bytes[RECORD_HEADER_BYTES..];
        assert_eq!(Record::decode(body, &manifest).unwrap(), record);
    }

    #[test]
    fn records_with_deletes_truncates_and_nulls_round_trip() {
        // Input: a record truncating table 16384, appending 0..300 with every third value
        // NULL to a new segment 5, and deleting rows 1, 2 and 299 of it.
        let mut def = int_def("t");
        def.columns[0].nullable = true;
        let manifest = Manifest {
            version: 1,
            tables: vec![TableMeta {
                id: 16_384,
                def: def.clone(),
                segments: Vec::new(),
                change_version: 1,
            }],
            security: Default::default(),
            external: Default::default(),
            objects: Default::default(),
        };
        let values: arrow_array::Int64Array = (0..300).map(|v| (v % 3 != 0).then_some(v)).collect();
        let batch = RecordBatch::try_new(def.arrow_schema(), vec![Arc::new(values)]).unwrap();
        let record = Record {
            version: 2,
            tables: vec![TableChange {
                table_id: 16_384,
                truncate: true,
                append: Some((5, 0, batch)),
                deletes: vec![(5, DeleteVector::from_rows([1, 2, 299]))],
            }],
        };
        let bytes = record.encode(&manifest).unwrap();
        let back = Record::decode(&bytes[RECORD_HEADER_BYTES..], &manifest).unwrap();
        assert_eq!(back, record);
        let (next, pushes) = apply(&manifest, &back).unwrap();
        assert_eq!(pushes.len(), 1);
        let segment = &next.tables[0].segments[0];
        assert_eq!((segment.id, segment.rows), (5, 300));
        assert_eq!(segment.deleted.count(), 3);
        assert_eq!(segment.zone_maps[0].null_count, 100);
        // A record for the wrong version, or appending at the wrong offset, does not apply.
        let mut wrong = back.clone();
        wrong.version = 3;
        assert!(apply(&manifest, &wrong).is_err());
        let mut wrong = back;
        wrong.tables[0].append.as_mut().unwrap().1 = 4;
        assert!(apply(&manifest, &wrong).is_err());
    }
}
