//! Spill files: record batches a statement keeps beyond its memory bound (a scrollable
//! cursor's rows read so far), written to a temporary file of the data directory and read
//! back one batch at a time. PostgreSQL's tuplestore does the same past `work_mem`.
//!
//! ```text
//! <dir>/tmp/<number, 20 digits>.spill
//!
//!   offset 0                 batch 0: one Arrow IPC stream (schema, record batch, end marker)
//!   offset len(batch 0)      batch 1: one Arrow IPC stream
//!   ...
//! ```
//! Each batch is written as a self-contained Arrow IPC *stream* (the Arrow columnar format's
//! encapsulated messages, uncompressed, little-endian), so any batch can be decoded alone,
//! dictionary arrays included. Nothing in the file says where a batch starts: the offsets,
//! lengths and a CRC-32C of each batch's bytes live only in the [`SpillFile`] that wrote it,
//! which checks the CRC when it reads a batch back. The file is never fsynced and never read
//! by another process or after a restart: it is removed when its `SpillFile` is dropped, and
//! [`crate::store::Store::open`] removes whatever a crash left in `tmp/`.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::RecordBatch;

use crate::error::{io_at, Error, Result};

/// The data directory's folder of spill files.
pub const SPILL_DIR: &str = "tmp";
/// The extension of a spill file.
pub const SPILL_EXTENSION: &str = ".spill";

/// Numbers spill files: one process has a data directory open at a time (its lock file), so
/// a process-wide counter names each file once.
static NEXT_SPILL_FILE: AtomicU64 = AtomicU64::new(1);

/// Where one batch lies in its spill file.
#[derive(Clone, Copy, Debug)]
struct Extent {
    offset: u64,
    len: u64,
    crc: u32,
}

/// An open spill file: batches appended, read back by their index, and the file removed on
/// drop.
#[derive(Debug)]
pub struct SpillFile {
    path: PathBuf,
    file: File,
    batches: Vec<Extent>,
    /// Bytes written so far.
    len: u64,
}

impl SpillFile {
    /// Creates a new, empty spill file in `data_dir`'s `tmp/` (created if missing).
    pub(crate) fn create(data_dir: &Path) -> Result<SpillFile> {
        let dir = data_dir.join(SPILL_DIR);
        std::fs::create_dir_all(&dir).map_err(io_at(&dir))?;
        let number = NEXT_SPILL_FILE.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("{number:020}{SPILL_EXTENSION}"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_at(&path))?;
        Ok(SpillFile {
            path,
            file,
            batches: Vec::new(),
            len: 0,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.len
    }

    /// Batches written so far.
    pub fn batch_count(&self) -> usize {
        self.batches.len()
    }

    /// Appends `batch` and returns its index.
    pub fn append(&mut self, batch: &RecordBatch) -> Result<usize> {
        let bytes = encode(batch).map_err(|e| {
            Error::Internal(format!(
                "cannot encode a batch for {}: {e}",
                self.path.display()
            ))
        })?;
        self.file
            .write_all_at(&bytes, self.len)
            .map_err(io_at(&self.path))?;
        let len = bytes.len() as u64;
        self.batches.push(Extent {
            offset: self.len,
            len,
            crc: crc32c::crc32c(&bytes),
        });
        self.len += len;
        Ok(self.batches.len() - 1)
    }

    /// Reads back the batch appended as `index`.
    pub fn read(&self, index: usize) -> Result<RecordBatch> {
        let extent = self.batches.get(index).copied().ok_or_else(|| {
            Error::Internal(format!(
                "spill batch {index} asked of {} holding {}",
                self.path.display(),
                self.batches.len()
            ))
        })?;
        let len = usize::try_from(extent.len)
            .map_err(|_| Error::corrupt(&self.path, format!("batch {index} is too long")))?;
        let mut bytes = vec![0; len];
        self.file
            .read_exact_at(&mut bytes, extent.offset)
            .map_err(io_at(&self.path))?;
        if crc32c::crc32c(&bytes) != extent.crc {
            return Err(Error::corrupt(
                &self.path,
                format!("batch {index} fails its checksum"),
            ));
        }
        decode(&bytes)
            .map_err(|e| Error::corrupt(&self.path, format!("batch {index}: {e}")))?
            .ok_or_else(|| Error::corrupt(&self.path, format!("batch {index} holds no batch")))
    }
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        // Best effort: a file left behind is removed by the next startup.
        let _ = std::fs::remove_file(&self.path);
    }
}

fn encode(batch: &RecordBatch) -> Result<Vec<u8>, arrow_schema::ArrowError> {
    let mut writer = arrow_ipc::writer::StreamWriter::try_new(Vec::new(), &batch.schema())?;
    writer.write(batch)?;
    writer.finish()?;
    writer.into_inner()
}

fn decode(bytes: &[u8]) -> Result<Option<RecordBatch>, arrow_schema::ArrowError> {
    let mut reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)?;
    reader.next().transpose()
}

/// Removes every file of `data_dir`'s `tmp/`: at startup, nothing can still use one.
pub(crate) fn remove_leftovers(data_dir: &Path) -> Result<()> {
    let dir = data_dir.join(SPILL_DIR);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(&dir, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, ArrayRef, Int64Array, StringArray};
    use std::sync::Arc;

    fn batch(values: std::ops::Range<i64>) -> RecordBatch {
        let ints = Arc::new(Int64Array::from_iter_values(values.clone())) as ArrayRef;
        let texts = Arc::new(StringArray::from_iter(
            values.map(|v| (v % 3 != 0).then(|| format!("row {v}"))),
        )) as ArrayRef;
        RecordBatch::try_from_iter([("a", ints), ("b", texts)]).unwrap()
    }

    #[test]
    fn batches_read_back_in_any_order_and_the_file_goes_on_drop() {
        // Input: three batches (the second a slice of a larger one, with NULL strings)
        // appended to a spill file, read back last first.
        let tmp = tempfile::tempdir().unwrap();
        let mut file = SpillFile::create(tmp.path()).unwrap();
        let path = file.path().to_path_buf();
        assert!(path.starts_with(tmp.path().join(SPILL_DIR)));
        let batches = [batch(0..5), batch(0..100).slice(10, 20), batch(7..8)];
        for (i, b) in batches.iter().enumerate() {
            assert_eq!(file.append(b).unwrap(), i);
        }
        assert_eq!(file.batch_count(), 3);
        assert_eq!(file.bytes(), std::fs::metadata(&path).unwrap().len());
        for i in (0..3).rev() {
            let read = file.read(i).unwrap();
            assert_eq!(read, batches[i]);
        }
        assert_eq!(file.read(1).unwrap().column(0).len(), 20);
        assert!(matches!(file.read(3), Err(Error::Internal(_))));
        drop(file);
        assert!(!path.exists());
    }

    #[test]
    fn a_changed_byte_is_a_corruption_error_naming_the_file() {
        // Input: one batch spilled, then one byte of the file flipped behind its back.
        let tmp = tempfile::tempdir().unwrap();
        let mut file = SpillFile::create(tmp.path()).unwrap();
        file.append(&batch(0..10)).unwrap();
        let mut bytes = std::fs::read(file.path()).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        std::fs::write(file.path(), &bytes).unwrap();
        match file.read(0) {
            Err(Error::Corrupt { file: name, detail }) => {
                assert_eq!(name, file.path().display().to_string());
                assert!(detail.contains("checksum"), "{detail}");
            }
            other => panic!("expected a corruption error, got {other:?}"),
        }
    }

    #[test]
    fn leftovers_are_removed_and_a_missing_folder_is_fine() {
        // Input: a data directory without tmp/, then one whose tmp/ holds a crash's file.
        let tmp = tempfile::tempdir().unwrap();
        remove_leftovers(tmp.path()).unwrap();
        let file = SpillFile::create(tmp.path()).unwrap();
        let path = file.path().to_path_buf();
        std::mem::forget(file);
        assert!(path.exists());
        remove_leftovers(tmp.path()).unwrap();
        assert!(!path.exists());
        assert!(!tmp.path().join(SPILL_DIR).exists());
    }
}
