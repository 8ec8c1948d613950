//! The data directory: recovery on open, the published manifest, reads and the commit step.
//!
//! ```text
//! <dir>/
//!   basalt.lock                              held (flock) while a Store has the directory open
//!   manifest/00000000000000000042.manifest   newest committed version
//!            00000000000000000041.manifest   kept for readers of older versions
//!            00000000000000000040.manifest   kept for readers of older versions
//!   tables/<table id>/<segment id, 20 digits>.seg
//!   wal/basalt.wal                           commits since the newest manifest (docs/wal.md)
//!   stats/<table id, 20 digits>.stats        ANALYZE's statistics (docs/statistics.md)
//!   tmp/<number, 20 digits>.spill             batches kept past a memory bound (spill.rs),
//!                                            emptied at startup
//! ```
//! The commit protocol is described in `docs/transactions.md`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_buffer::BooleanBuffer;
use arrow_schema::Schema;

use crate::catalog::{Manifest, SegmentMeta, TableDef, TableMeta};
use crate::delete_vector::DeleteVector;
use crate::durable::{create_dir, list_dir, sync_dir, ReplaceError, TMP_SUFFIX};
use crate::error::{io_at, Error, Result};
use crate::manifest::{self, Persisted};
use crate::resident::Resident;
use crate::segment::physical::PhysicalType;
use crate::segment::reader::{concat_arrays, gather_strings, MappedSegment};
use crate::segment::writer::write_segment;
use crate::segment::{
    ColumnPiece, SegmentReader, BLOCK_ROWS_MAX, SEGMENT_ROWS_MAX, WRITER_BLOCK_ROWS_MAX,
};
use crate::transaction::Transaction;
use crate::types::SqlType;
use crate::wal::{self, Record, TableChange, WalFile, WAL_HEADER_BYTES};
use crate::zone_map::ColumnRange;

/// The first table id; ids below it are PostgreSQL's built-in catalog OIDs.
pub const TABLE_ID_MIN: u64 = 16_384;
/// Manifest versions kept on disk: the newest and two before it, for readers still holding an
/// older version (and for an operator to start from, should the newest be damaged).
pub const MANIFESTS_KEPT: u64 = 3;

const MANIFEST_DIR: &str = "manifest";
/// The lock file in the data directory.
pub const LOCK_FILE: &str = "basalt.lock";
const TABLES_DIR: &str = "tables";
const SEGMENT_EXTENSION: &str = ".seg";

/// How a [`Store`] buffers small writes.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// An append of at most this many rows is a *small* append: its rows are kept in memory
    /// and made durable in the write-ahead log at commit, not written as a segment file.
    /// 0 turns the write-ahead log off (every append writes segment files).
    pub wal_append_rows_max: u64,
    /// A checkpoint (resident rows written to segment files, a manifest, the WAL emptied)
    /// runs after the commit that brings the rows appended through the WAL since the last one
    /// to this many.
    pub checkpoint_rows: u64,
    /// ... or the WAL file to this many bytes.
    pub checkpoint_wal_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            wal_append_rows_max: 4_096,
            checkpoint_rows: u64::from(BLOCK_ROWS_MAX),
            checkpoint_wal_bytes: 64 << 20,
        }
    }
}

/// Rows of one table a transaction may hold in memory for the WAL (one WAL block per column).
pub(crate) const PENDING_ROWS_MAX: u64 = BLOCK_ROWS_MAX as u64;
/// Bytes of one table's rows a transaction may hold in memory for the WAL.
pub(crate) const PENDING_BYTES_MAX: u64 = 8 << 20;
/// Bytes a resident segment may grow to before the next small append starts a new one.
const RESIDENT_BYTES_MAX: u64 = 256 << 20;
/// Segment files kept mapped at most (each mapping is one of the process's memory areas);
/// past it the cache starts over.
const MAPPED_SEGMENTS_MAX: usize = 4096;

/// A data directory.
///
/// One `Store` may have a data directory open at a time: opening takes an exclusive lock on
/// `<dir>/basalt.lock`, held until the `Store` is dropped (or the process exits), and a second
/// open fails at once with [`Error::DirectoryLocked`], in this process or another.
///
/// Dropping the store checkpoints it: rows still resident are written to segment files.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    /// Segment files mapped by earlier scans, by table and segment id, kept mapped (with
    /// their verified blocks) for the next: mapping a file anew faults its pages into the
    /// page tables again and sums every block read again. Segment ids are never reused, and a
    /// file never changes once written, so an entry cannot go stale; an unlinked file's
    /// space returns to the system when its entry goes.
    maps: Mutex<HashMap<(u64, u64), Arc<MappedSegment>>>,
    /// The open lock file; the lock is released when it is closed.
    _lock: File,
    /// The newest committed (durable) manifest. Readers clone the `Arc` and keep it as long as
    /// they like.
    current: RwLock<Arc<Manifest>>,
    /// Held while a commit is applied, so commits are applied one at a time (but not while
    /// the WAL is fsynced: see [`Store::wait_durable`]).
    commit: Mutex<CommitState>,
    /// Signalled when a WAL fsync finishes.
    synced: Condvar,
    next_table_id: AtomicU64,
    next_segment_id: AtomicU64,
    options: StoreOptions,
    /// ANALYZE's statistics, advisory and outside the manifests.
    statistics: crate::statistics::Statistics,
    /// Tests set this to leave the store as a crash would: no checkpoint on drop.
    #[cfg(test)]
    pub(crate) crash_on_drop: std::sync::atomic::AtomicBool,
}

/// The commit step's state, under [`Store::commit`]'s mutex.
///
/// ```text
///  commit (WAL) --write record--> written, unpublished --fsync (group)--> published
///                                      |
///                                      +-- fsync failed --> WAL cut back, records lost,
///                                                           written = published
/// ```
#[derive(Debug)]
struct CommitState {
    /// Set when a commit failed in a way that leaves the disk's state unknown (the directory
    /// fsync after a manifest rename, or cutting back the WAL after a failed write). The
    /// in-memory state can then no longer be trusted to match the disk, so later commits are
    /// refused until the store is opened again, which recovers from the disk. (After a failed
    /// fsync the kernel may have dropped the dirty pages, so retrying it proves nothing.)
    failed: Option<String>,
    /// The newest version including WAL records written but not yet known durable; commits
    /// check conflicts against it and build on it.
    written: Arc<Manifest>,
    wal: WalFile,
    /// Versions written to the WAL and not yet published, by sequence number (one per record).
    unpublished: Vec<(u64, Arc<Manifest>)>,
    /// Sequence number of the last record written, and its end offset in the WAL.
    seq_written: u64,
    /// Sequence number of the last record known durable, and the WAL length then.
    seq_synced: u64,
    synced_len: u64,
    /// Records lost to a failed fsync: (first seq, last seq, error).
    lost: Vec<(u64, u64, String)>,
    /// True while one committer fsyncs the WAL for everyone (group commit).
    leader: bool,
    /// Rows appended through the WAL since the last checkpoint.
    wal_rows: u64,
    /// The `wal_rows` and WAL length at which the next checkpoint is due.
    checkpoint_at_rows: u64,
    checkpoint_at_bytes: u64,
}

/// What one transaction changes, as the commit step needs it.
#[derive(Debug)]
pub(crate) struct Changes<'a> {
    pub(crate) base_version: u64,
    /// The transaction's working view, holding the tables it created.
    pub(crate) view: &'a Manifest,
    /// Tables created by the transaction (and not dropped again), in creation order.
    pub(crate) created: &'a [u64],
    /// Tables of the base version dropped by the transaction, with their names.
    pub(crate) dropped: &'a BTreeMap<u64, String>,
    /// Tables of the base version appended to, with their names and new segments.
    pub(crate) appended: &'a BTreeMap<u64, (String, Vec<SegmentMeta>)>,
    /// Tables of the base version whose rows were deleted or truncated, with their names.
    pub(crate) modified: &'a BTreeMap<u64, String>,
    /// Tables of the base version truncated (a subset of `modified`).
    pub(crate) truncated: &'a BTreeSet<u64>,
    /// Tables of the base version whose definition changed (a subset of `modified`; the
    /// view holds the new definitions).
    pub(crate) redefined: &'a BTreeSet<u64>,
    /// Ids of the resident segments the transaction appended (small appends, rows in memory).
    pub(crate) pending: &'a BTreeSet<u64>,
    /// Whether the transaction replaced the security catalog (the view holds the new one).
    pub(crate) security_changed: bool,
    /// The base version's external catalog, when the transaction changed it (the view holds
    /// the new one).
    pub(crate) external_base: Option<&'a crate::external::ExternalCatalog>,
    /// The base version's views and indexes, when the transaction changed them (the view
    /// holds the new ones).
    pub(crate) objects_base: Option<&'a crate::objects::Objects>,
}

/// What [`Store::scan_segment`] read and skipped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanCounts {
    pub segments_read: u64,
    pub segments_skipped: u64,
    /// Blocks decoded, over the projected columns.
    pub blocks_read: u64,
    /// Blocks not decoded because their segment or their own zone map ruled them out.
    pub blocks_skipped: u64,
}

impl ScanCounts {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &ScanCounts) {
        self.segments_read += other.segments_read;
        self.segments_skipped += other.segments_skipped;
        self.blocks_read += other.blocks_read;
        self.blocks_skipped += other.blocks_skipped;
    }
}

/// The result of scanning one segment.
#[derive(Debug)]
pub struct SegmentScan {
    /// The projected columns of the rows read; `None` when no row was read.
    pub batch: Option<RecordBatch>,
    /// Each returned row's position in the segment, when asked for.
    pub positions: Vec<u32>,
    pub counts: ScanCounts,
}

/// A segment opened for a scan ([`Store::open_scan`]).
#[derive(Debug)]
pub enum SegmentRows<'s> {
    /// Zone maps rule every row out, or none is live: nothing to read.
    Skipped(ScanCounts),
    Open(OpenScan<'s>),
}

/// A segment's rows that a scan reads (those its zone-map ranges keep and that are not
/// deleted), read column by column: first, as pieces, the columns a filter tests, then the
/// projected columns of the rows the filter picked.
#[derive(Debug)]
pub struct OpenScan<'s> {
    table: &'s TableMeta,
    segment: &'s SegmentMeta,
    source: ScanSource,
    /// Columns read as pieces so far, with their pieces.
    pieces: Vec<(usize, Vec<ColumnPiece>)>,
    counts: ScanCounts,
}

#[derive(Debug)]
enum ScanSource {
    /// A segment file, of whose rows the scan reads those inside `keep` (sorted, disjoint
    /// half-open row intervals) that are live: `rows` of them.
    File {
        reader: SegmentReader,
        keep: Vec<(u64, u64)>,
        rows: usize,
    },
    /// A resident segment's live rows (every column) and their positions.
    Resident {
        batch: RecordBatch,
        positions: Vec<u32>,
    },
}

impl OpenScan<'_> {
    /// Rows the scan reads, before any filter.
    pub fn rows(&self) -> usize {
        match &self.source {
            ScanSource::File { rows, .. } => *rows,
            ScanSource::Resident { batch, .. } => batch.num_rows(),
        }
    }

    /// Column `c` (an index into the table's columns) of the rows the scan reads, block by
    /// block, DICTIONARY blocks as their entries and codes: for evaluating a filter on the
    /// column once per distinct value. [`OpenScan::read`] reuses the pieces.
    pub fn pieces(&mut self, c: usize) -> Result<&[ColumnPiece]> {
        let at = match self.pieces.iter().position(|(col, _)| *col == c) {
            Some(at) => at,
            None => {
                let pieces = match &self.source {
                    ScanSource::File { reader, keep, rows } => {
                        let (pieces, read, skipped) =
                            reader.read_pieces(c, keep, &self.segment.deleted, *rows)?;
                        self.counts.blocks_read += read;
                        self.counts.blocks_skipped += skipped;
                        pieces
                    }
                    ScanSource::Resident { batch, .. } => {
                        let column = batch.columns().get(c).ok_or_else(|| {
                            Error::Internal(format!(
                                "column {c} of a table with {} columns",
                                self.table.def.columns.len()
                            ))
                        })?;
                        self.counts.blocks_read += 1;
                        vec![ColumnPiece::Values(column.clone())]
                    }
                };
                self.pieces.push((c, pieces));
                self.pieces.len() - 1
            }
        };
        Ok(self.pieces.get(at).map_or(&[], |(_, p)| p.as_slice()))
    }

    /// The columns `projection` of the rows the scan reads, or (with `selection`, one bit per
    /// such row) of the rows it picks, decoding only the blocks that hold a picked row; with
    /// each row's position in the segment when `want_positions`.
    pub fn read(
        mut self,
        projection: &[usize],
        selection: Option<&BooleanBuffer>,
        want_positions: bool,
    ) -> Result<SegmentScan> {
        let rows = self.rows();
        let all;
        let selection = match selection {
            Some(s) if s.len() != rows => {
                return Err(Error::Internal(format!(
                    "a selection of {} rows for a scan of {rows}",
                    s.len()
                )))
            }
            Some(s) => s,
            None => {
                if let ScanSource::File { reader, keep, .. } = &self.source {
                    if self.pieces.is_empty() {
                        // Every row of every column: decoded whole.
                        let (batch, read, skipped) =
                            reader.read_selected(projection, keep, &self.segment.deleted)?;
                        self.counts.blocks_read += read;
                        self.counts.blocks_skipped += skipped;
                        let positions = match want_positions {
                            true => self.positions(),
                            false => Vec::new(),
                        };
                        return Ok(SegmentScan {
                            batch: (batch.num_rows() > 0).then_some(batch),
                            positions,
                            counts: self.counts,
                        });
                    }
                }
                all = BooleanBuffer::new_set(rows);
                &all
            }
        };
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(projection.len());
        for &c in projection {
            let Some(column) = self.table.def.columns.get(c) else {
                return Err(Error::Internal(format!(
                    "projection names column {c} of a table with {} columns",
                    self.table.def.columns.len()
                )));
            };
            if let Some((_, pieces)) = self.pieces.iter().find(|(col, _)| *col == c) {
                arrays.push(select_pieces(column.ty, pieces, selection)?);
                continue;
            }
            match &self.source {
                ScanSource::File { reader, keep, .. } => {
                    let (array, read, skipped) =
                        reader.read_column_where(c, keep, &self.segment.deleted, selection)?;
                    self.counts.blocks_read += read;
                    self.counts.blocks_skipped += skipped;
                    arrays.push(array);
                }
                ScanSource::Resident { batch, .. } => {
                    let Some(column) = batch.columns().get(c) else {
                        return Err(Error::Internal(format!("no column {c} in resident rows")));
                    };
                    self.counts.blocks_read += 1;
                    arrays.push(ColumnPiece::Values(column.clone()).materialize(selection)?);
                }
            }
        }
        let batch = batch_of(
            &self.table.def,
            projection,
            arrays,
            selection.count_set_bits(),
        )?;
        let positions = match want_positions {
            true => {
                let all = self.positions();
                selection
                    .set_indices()
                    .filter_map(|i| all.get(i).copied())
                    .collect()
            }
            false => Vec::new(),
        };
        Ok(SegmentScan {
            batch: (batch.num_rows() > 0).then_some(batch),
            positions,
            counts: self.counts,
        })
    }

    /// The position in the segment of each row the scan reads.
    fn positions(&self) -> Vec<u32> {
        match &self.source {
            ScanSource::File { keep, .. } => keep
                .iter()
                .flat_map(|(s, e)| self.segment.deleted.live_rows(*s as u32, (*e - *s) as u32))
                .collect(),
            ScanSource::Resident { positions, .. } => positions.clone(),
        }
    }
}

/// The rows of `pieces` (one column's, of type `ty`) that `selection` picks, as one array.
fn select_pieces(
    ty: SqlType,
    pieces: &[ColumnPiece],
    selection: &BooleanBuffer,
) -> Result<ArrayRef> {
    let mut picks = Vec::with_capacity(pieces.len());
    let mut at = 0;
    for piece in pieces {
        let n = piece.len();
        if at + n > selection.len() {
            return Err(Error::Internal(format!(
                "a selection of {} rows for pieces of more",
                selection.len()
            )));
        }
        let picked = selection.slice(at, n);
        at += n;
        if picked.count_set_bits() > 0 {
            picks.push((piece, picked));
        }
    }
    if PhysicalType::of(ty) == PhysicalType::Utf8 {
        if let Some(array) = gather_strings(&picks)? {
            return Ok(array);
        }
    }
    let arrays = picks
        .iter()
        .map(|(piece, picked)| piece.materialize(picked))
        .collect::<Result<Vec<_>>>()?;
    concat_arrays(ty, &arrays)
}

/// A batch of the columns `projection` of `def`, holding `arrays` of `rows` rows.
fn batch_of(
    def: &TableDef,
    projection: &[usize],
    arrays: Vec<ArrayRef>,
    rows: usize,
) -> Result<RecordBatch> {
    let fields: Vec<_> = projection
        .iter()
        .filter_map(|c| def.columns.get(*c).map(|c| c.arrow_field()))
        .collect();
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options)
        .map_err(|e| Error::Internal(format!("scanned columns do not form a batch: {e}")))
}

/// The intersection of two sorted lists of disjoint half-open intervals.
fn intersect(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        let (start, end) = (x.0.max(y.0), x.1.min(y.1));
        if start < end {
            out.push((start, end));
        }
        if x.1 < y.1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// A failed commit step.
#[derive(Debug)]
pub(crate) enum CommitError {
    /// Nothing was published; the transaction's segment files may be deleted.
    NothingWritten(Error),
    /// The new manifest may be on disk: the segment files must stay.
    Indeterminate(Error),
}

impl Store {
    /// Opens the data directory `dir`, creating it (and its parents) if missing.
    ///
    /// Recovers to the newest manifest, and deletes files that no kept manifest refers to:
    /// segment files of transactions that never committed, tables dropped more than
    /// [`MANIFESTS_KEPT`] - 1 commits ago, and temporary files. An unreadable newest manifest is
    /// an error naming it ([`Error::Corrupt`]), never a silent fall back to an older version.
    pub fn open(dir: &Path) -> Result<Store> {
        Store::open_with(dir, StoreOptions::default())
    }

    /// [`Store::open`] with `options`. After the manifest, the commits in the write-ahead log
    /// are replayed (up to a torn tail, which a crash left and nobody was told committed).
    pub fn open_with(dir: &Path, options: StoreOptions) -> Result<Store> {
        create_dir(dir)?;
        let lock = lock_dir(dir)?;
        crate::spill::remove_leftovers(dir)?;
        let manifest_dir = dir.join(MANIFEST_DIR);
        let tables_dir = dir.join(TABLES_DIR);
        create_dir(&manifest_dir)?;
        create_dir(&tables_dir)?;

        let kept = recover_manifests(&manifest_dir)?;
        let current = kept.first().cloned().unwrap_or_else(|| Persisted {
            manifest: Manifest::default(),
            next_table_id: TABLE_ID_MIN,
            next_segment_id: 1,
        });
        collect_garbage(&tables_dir, &kept)?;
        let (wal, replayed) = WalFile::open(dir, &current.manifest)?;
        let newest = replayed
            .last()
            .cloned()
            .unwrap_or_else(|| current.manifest.clone());

        // Ids are never reused, not even those of tables only older kept manifests hold.
        let max_table = kept
            .iter()
            .flat_map(|p| p.manifest.tables.iter())
            .map(|t| t.id + 1)
            .max();
        let max_segment = kept
            .iter()
            .map(|p| &p.manifest)
            .chain(replayed.iter())
            .flat_map(|m| m.tables.iter())
            .flat_map(|t| t.segments.iter())
            .map(|s| s.id + 1)
            .max();
        let next_table_id = kept
            .iter()
            .map(|p| p.next_table_id)
            .chain(max_table)
            .max()
            .unwrap_or(TABLE_ID_MIN)
            .max(TABLE_ID_MIN);
        let next_segment_id = kept
            .iter()
            .map(|p| p.next_segment_id)
            .chain(max_segment)
            .max()
            .unwrap_or(1)
            .max(1);
        let wal_rows: u64 = resident_rows(&newest);
        let live_tables: Vec<u64> = newest.tables.iter().map(|t| t.id).collect();
        let statistics = crate::statistics::Statistics::open(dir, &live_tables)?;
        let newest = Arc::new(newest);
        let state = CommitState {
            failed: None,
            written: newest.clone(),
            synced_len: wal.len,
            wal,
            unpublished: Vec::new(),
            seq_written: 0,
            seq_synced: 0,
            lost: Vec::new(),
            leader: false,
            wal_rows,
            checkpoint_at_rows: options.checkpoint_rows,
            checkpoint_at_bytes: options.checkpoint_wal_bytes,
        };
        Ok(Store {
            dir: dir.to_path_buf(),
            _lock: lock,
            current: RwLock::new(newest),
            commit: Mutex::new(state),
            synced: Condvar::new(),
            next_table_id: AtomicU64::new(next_table_id),
            next_segment_id: AtomicU64::new(next_segment_id),
            maps: Mutex::new(HashMap::new()),
            options,
            statistics,
            #[cfg(test)]
            crash_on_drop: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// How this store buffers small writes.
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    /// The tables' statistics (ANALYZE).
    pub fn statistics(&self) -> &crate::statistics::Statistics {
        &self.statistics
    }

    /// Checks the data directory as it is now: reads every row of every segment of the newest
    /// version (so every block checksum is checked) and lists the files under `tables/` that
    /// no manifest kept on disk (nor the newest version) refers to. Startup garbage collection
    /// leaves none; a file listed here is an orphan.
    pub fn verify(&self) -> Result<Vec<PathBuf>> {
        // Mapped anew, every block's checksum is summed again, those verified before included.
        if let Ok(mut maps) = self.maps.lock() {
            maps.clear();
        }
        let newest = self.snapshot();
        for table in &newest.tables {
            let all: Vec<usize> = (0..table.def.columns.len()).collect();
            for segment in &table.segments {
                let batch = self.read_segment(table, segment, &all)?;
                if batch.num_rows() as u64 != segment.live_rows() {
                    return Err(Error::corrupt(
                        &self.segment_path(table.id, segment.id),
                        format!(
                            "read {} rows, the manifest says {} live",
                            batch.num_rows(),
                            segment.live_rows()
                        ),
                    ));
                }
            }
        }
        let mut referenced: HashMap<u64, HashSet<u64>> = HashMap::new();
        let mut manifests = vec![(*newest).clone()];
        for (path, name) in list_dir(&self.dir.join(MANIFEST_DIR))? {
            if manifest::parse_file_name(&name).is_some() {
                manifests.push(manifest::read(&path)?.manifest);
            }
        }
        for m in &manifests {
            for t in &m.tables {
                referenced
                    .entry(t.id)
                    .or_default()
                    .extend(t.segments.iter().filter(|s| !s.is_resident()).map(|s| s.id));
            }
        }
        let mut orphans = Vec::new();
        for (path, name) in list_dir(&self.tables_dir())? {
            match name.parse::<u64>().ok().and_then(|id| referenced.get(&id)) {
                Some(segments) if path.is_dir() => {
                    for (file, file_name) in list_dir(&path)? {
                        let wanted = parse_segment_file_name(&file_name)
                            .is_some_and(|id| segments.contains(&id));
                        if !wanted {
                            orphans.push(file);
                        }
                    }
                }
                // A table created since the last manifest has no segment files yet, but may
                // have its (empty) directory.
                _ if path.is_dir() && list_dir(&path)?.is_empty() => {}
                _ => orphans.push(path),
            }
        }
        Ok(orphans)
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new spill file in the data directory's `tmp/`, removed when dropped.
    pub fn spill_file(&self) -> Result<crate::spill::SpillFile> {
        crate::spill::SpillFile::create(&self.dir)
    }

    /// The latest committed version. Cheap: clones an `Arc`.
    pub fn snapshot(&self) -> Arc<Manifest> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Starts a transaction on the latest committed version.
    pub fn begin(self: &Arc<Self>) -> Transaction {
        Transaction::new(self.clone(), self.snapshot())
    }

    /// Starts a transaction on `base`, a version this store published (typically the snapshot
    /// a statement read before it writes). Its commit fails with a serialization conflict when
    /// a table it changes was changed by a commit after `base`.
    pub fn begin_at(self: &Arc<Self>, base: Arc<Manifest>) -> Transaction {
        Transaction::new(self.clone(), base)
    }

    /// Reads the columns `projection` (indexes into `table.def.columns`, in that order) of one
    /// segment into a batch of Arrow arrays typed by [`crate::SqlType::arrow_type`], leaving
    /// out the rows its delete vector holds. An empty projection yields a batch with no
    /// columns and the segment's live row count.
    pub fn read_segment(
        &self,
        table: &TableMeta,
        segment: &SegmentMeta,
        projection: &[usize],
    ) -> Result<RecordBatch> {
        if segment.is_resident() {
            let (all, _) = self.read_resident(table, segment)?;
            return all
                .project(projection)
                .map_err(|e| Error::Internal(format!("resident rows: {e}")));
        }
        let reader = self.open_segment(table, segment)?;
        if segment.deleted.is_empty() {
            return reader.read(projection);
        }
        let (batch, _, _) =
            reader.read_selected(projection, &[(0, segment.rows)], &segment.deleted)?;
        Ok(batch)
    }

    /// Scans one segment: reads the columns `projection` of the rows that are not deleted and
    /// may pass a filter needing `ranges`, skipping the whole segment when its zone maps (in
    /// the manifest) rule every row out, and otherwise skipping the blocks whose zone maps do,
    /// before decoding. Rows of a kept block are returned whether or not they fall in the
    /// ranges: the caller still applies its filter. With `want_positions`, also returns each
    /// output row's position in the segment (for DELETE and UPDATE).
    pub fn scan_segment(
        &self,
        table: &TableMeta,
        segment: &SegmentMeta,
        projection: &[usize],
        ranges: &[ColumnRange],
        want_positions: bool,
    ) -> Result<SegmentScan> {
        match self.open_scan(table, segment, projection, ranges)? {
            SegmentRows::Skipped(counts) => Ok(SegmentScan {
                batch: None,
                positions: Vec::new(),
                counts,
            }),
            SegmentRows::Open(open) => open.read(projection, None, want_positions),
        }
    }

    /// Opens segment `segment` for a scan of the columns `projection` that `ranges` restrict:
    /// `Skipped` when the segment's zone maps, or all its blocks', rule it out or it has no
    /// live row; otherwise the rows its blocks' zone maps keep, to read column by column.
    pub fn open_scan<'s>(
        &self,
        table: &'s TableMeta,
        segment: &'s SegmentMeta,
        projection: &[usize],
        ranges: &[ColumnRange],
    ) -> Result<SegmentRows<'s>> {
        let mut counts = ScanCounts::default();
        // Blocks of the projected columns; for a segment skipped by the manifest's zone maps,
        // whose footer is never read, the blocks this build would write for its rows.
        let segment_blocks = |reader: Option<&SegmentReader>| -> u64 {
            projection
                .iter()
                .map(|c| {
                    reader.and_then(|r| r.blocks(*c)).map_or(
                        segment.rows.div_ceil(u64::from(WRITER_BLOCK_ROWS_MAX)),
                        |b| b.len() as u64,
                    )
                })
                .sum()
        };
        let pruned = ranges.iter().any(|r| {
            segment
                .zone_map(&table.def, r.column)
                .is_some_and(|z| !r.may_match(z))
        });
        if pruned || segment.live_rows() == 0 {
            counts.segments_skipped = 1;
            counts.blocks_skipped = segment_blocks(None);
            return Ok(SegmentRows::Skipped(counts));
        }
        if segment.is_resident() {
            let (batch, positions) = self.read_resident(table, segment)?;
            counts.segments_read = 1;
            return Ok(SegmentRows::Open(OpenScan {
                table,
                segment,
                source: ScanSource::Resident { batch, positions },
                pieces: Vec::new(),
                counts,
            }));
        }
        let reader = self.open_segment(table, segment)?;
        // Row intervals every range's column keeps, intersected.
        let mut keep: Vec<(u64, u64)> = vec![(0, segment.rows)];
        // A column the segment does not hold reads one value: no block of it to skip.
        for range in ranges.iter().filter(|r| reader.holds(r.column)) {
            let Some(blocks) = reader.blocks(range.column) else {
                return Err(Error::Internal(format!(
                    "range on column {} of a table with {} columns",
                    range.column,
                    table.def.columns.len()
                )));
            };
            let mut matching = Vec::new();
            let mut start = 0u64;
            for block in blocks {
                let end = start + block.zone_map.row_count;
                if range.may_match(&block.zone_map) {
                    match matching.last_mut() {
                        Some((_, e)) if *e == start => *e = end,
                        _ => matching.push((start, end)),
                    }
                }
                start = end;
            }
            keep = intersect(&keep, &matching);
        }
        if keep.is_empty() {
            counts.segments_skipped = 1;
            counts.blocks_skipped = segment_blocks(Some(&reader));
            return Ok(SegmentRows::Skipped(counts));
        }
        counts.segments_read = 1;
        let rows = keep
            .iter()
            .map(|(s, e)| {
                let (s, e) = (*s as u32, *e as u32);
                segment.deleted.live_rows(s, e - s).len()
            })
            .sum();
        Ok(SegmentRows::Open(OpenScan {
            table,
            segment,
            source: ScanSource::File { reader, keep, rows },
            pieces: Vec::new(),
            counts,
        }))
    }

    /// Every column of the live rows of resident segment `segment`, and their positions.
    fn read_resident(
        &self,
        table: &TableMeta,
        segment: &SegmentMeta,
    ) -> Result<(RecordBatch, Vec<u32>)> {
        let Some(resident) = &segment.resident else {
            return Err(Error::Internal(format!("segment {} is a file", segment.id)));
        };
        let all = resident_batch(&table.def, segment, resident)?;
        let rows = u32::try_from(segment.rows)
            .map_err(|_| Error::Internal(format!("resident segment of {} rows", segment.rows)))?;
        let positions = segment.deleted.live_rows(0, rows);
        let live = if segment.deleted.is_empty() {
            all
        } else {
            let take = arrow_array::UInt32Array::from(positions.clone());
            arrow_select::take::take_record_batch(&all, &take)
                .map_err(|e| Error::Internal(format!("resident rows: {e}")))?
        };
        Ok((live, positions))
    }

    /// Opens and checks one segment file, for reading columns and block zone maps. A resident
    /// segment (rows in memory, see [`SegmentMeta::is_resident`]) has no file: an error.
    pub fn open_segment(&self, table: &TableMeta, segment: &SegmentMeta) -> Result<SegmentReader> {
        if segment.is_resident() {
            return Err(Error::Internal(format!(
                "segment {} of table {} is in memory, not in a file",
                segment.id, table.id
            )));
        }
        let path = self.segment_path(table.id, segment.id);
        let key = (table.id, segment.id);
        let cached = self
            .maps
            .lock()
            .ok()
            .and_then(|maps| maps.get(&key).cloned());
        let map = match cached {
            Some(map) => map,
            None => {
                let map = Arc::new(MappedSegment::map(&path, segment.bytes)?);
                if let Ok(mut maps) = self.maps.lock() {
                    if maps.len() >= MAPPED_SEGMENTS_MAX {
                        maps.clear();
                    }
                    maps.insert(key, Arc::clone(&map));
                }
                map
            }
        };
        SegmentReader::open_mapped(map, &path, table, segment)
    }

    pub(crate) fn table_dir(&self, table_id: u64) -> PathBuf {
        self.dir.join(TABLES_DIR).join(table_id.to_string())
    }

    pub(crate) fn tables_dir(&self) -> PathBuf {
        self.dir.join(TABLES_DIR)
    }

    pub(crate) fn segment_path(&self, table_id: u64, segment_id: u64) -> PathBuf {
        self.table_dir(table_id).join(segment_file_name(segment_id))
    }

    pub(crate) fn allocate_table_id(&self) -> u64 {
        self.next_table_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn allocate_segment_id(&self) -> u64 {
        self.next_segment_id.fetch_add(1, Ordering::Relaxed)
    }

    fn lock_commit(&self) -> MutexGuard<'_, CommitState> {
        self.commit.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn refuse_if_failed(&self, state: &CommitState) -> Result<(), CommitError> {
        match &state.failed {
            Some(reason) => Err(CommitError::NothingWritten(Error::Io {
                path: self.dir.display().to_string(),
                source: std::io::Error::other(format!(
                    "data directory is read-only after a failed commit ({reason}); \
                     restart to recover"
                )),
            })),
            None => Ok(()),
        }
    }

    /// The commit step: under the commit lock, checks `changes` for conflicts with commits
    /// after its base and applies them to the newest version. A transaction that only appended
    /// small batches, deleted rows or truncated tables is then written as one WAL record and
    /// published once an fsync (shared with the commits written meanwhile) made it durable;
    /// any other is a checkpoint: resident rows and its own are written to segment files and a
    /// new manifest is made durable and published.
    pub(crate) fn commit(&self, changes: &Changes<'_>) -> Result<Arc<Manifest>, CommitError> {
        let mut state = self.lock_commit();
        self.refuse_if_failed(&state)?;
        // External DDL is only in manifests: it never goes through the WAL.
        let wal_only = self.options.wal_append_rows_max > 0
            && changes.created.is_empty()
            && changes.dropped.is_empty()
            && !changes.security_changed
            && changes.external_base.is_none()
            && changes.objects_base.is_none()
            && changes.redefined.is_empty()
            && changes
                .appended
                .values()
                .all(|(_, segments)| segments.iter().all(SegmentMeta::is_resident));
        if !wal_only {
            state = self.drain_wal(state);
            self.refuse_if_failed(&state)?;
            let newest = state.written.clone();
            check_conflicts(&newest, changes).map_err(CommitError::NothingWritten)?;
            let next = apply(&newest, changes).map_err(CommitError::NothingWritten)?;
            return self.checkpoint_locked(&mut state, next, changes.pending);
        }

        let newest = state.written.clone();
        check_conflicts(&newest, changes).map_err(CommitError::NothingWritten)?;
        let record = derive_record(&newest, changes).map_err(CommitError::NothingWritten)?;
        let bytes = record
            .encode(&newest)
            .map_err(CommitError::NothingWritten)?;
        let (next, pushes) = wal::apply(&newest, &record)
            .map_err(|e| CommitError::NothingWritten(Error::Internal(e)))?;
        if let Err((e, restored)) = state.wal.append(&bytes) {
            if !restored {
                state.failed = Some(format!("could not cut back the WAL after: {e}"));
            }
            return Err(CommitError::NothingWritten(e));
        }
        for (resident, batch) in pushes {
            resident.push(&batch.schema(), batch);
        }
        state.wal_rows += record
            .tables
            .iter()
            .filter_map(|t| t.append.as_ref())
            .map(|(_, _, b)| b.num_rows() as u64)
            .sum::<u64>();
        let next = Arc::new(next);
        state.written = next.clone();
        state.seq_written += 1;
        let seq = state.seq_written;
        state.unpublished.push((seq, next.clone()));
        let mut state = self.wait_durable(state, seq)?;

        let due = state.wal_rows >= state.checkpoint_at_rows
            || state.wal.len >= state.checkpoint_at_bytes;
        if due && state.failed.is_none() {
            state = self.drain_wal(state);
            let newest = (*state.written).clone();
            if self
                .checkpoint_locked(&mut state, newest, &BTreeSet::new())
                .is_err()
            {
                // The commit itself is durable in the WAL. Try again after as much again.
                state.checkpoint_at_rows = state.wal_rows + self.options.checkpoint_rows;
                state.checkpoint_at_bytes = state.wal.len + self.options.checkpoint_wal_bytes;
            }
        }
        Ok(next)
    }

    /// Waits until WAL record `seq` is durable, fsyncing for every committer waiting when no
    /// other is (group commit): the first waiter becomes the leader, fsyncs without the lock
    /// while others keep writing records, then publishes every version the fsync covered.
    fn wait_durable<'a>(
        &'a self,
        mut state: MutexGuard<'a, CommitState>,
        seq: u64,
    ) -> Result<MutexGuard<'a, CommitState>, CommitError> {
        loop {
            if let Some((_, _, e)) = state
                .lost
                .iter()
                .find(|(lo, hi, _)| *lo < seq && seq <= *hi)
            {
                return Err(CommitError::NothingWritten(Error::Io {
                    path: state.wal.path().display().to_string(),
                    source: std::io::Error::other(format!(
                        "the commit could not be made durable: {e}"
                    )),
                }));
            }
            if state.seq_synced >= seq {
                return Ok(state);
            }
            if state.leader {
                state = self
                    .synced
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.leader = true;
            let (target, target_len) = (state.seq_written, state.wal.len);
            let file = state.wal.file.clone();
            let path = state.wal.path().to_path_buf();
            drop(state);
            let synced = wal::sync(&file, &path);
            state = self.lock_commit();
            state.leader = false;
            match synced {
                Ok(()) => self.publish_synced(&mut state, target, target_len),
                Err(e) => self.lose_unsynced(&mut state, e),
            }
            self.synced.notify_all();
        }
    }

    /// Makes every WAL record written so far durable and published (or lost), holding the
    /// commit lock: the start of every commit that writes a manifest.
    fn drain_wal<'a>(
        &'a self,
        mut state: MutexGuard<'a, CommitState>,
    ) -> MutexGuard<'a, CommitState> {
        while state.leader {
            state = self
                .synced
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if state.seq_written > state.seq_synced {
            let (target, target_len) = (state.seq_written, state.wal.len);
            match wal::sync(&state.wal.file, state.wal.path()) {
                Ok(()) => self.publish_synced(&mut state, target, target_len),
                Err(e) => self.lose_unsynced(&mut state, e),
            }
            self.synced.notify_all();
        }
        state
    }

    /// Records up to `target` (the WAL `len` bytes long) are durable: publish their versions.
    fn publish_synced(&self, state: &mut CommitState, target: u64, len: u64) {
        state.seq_synced = state.seq_synced.max(target);
        state.synced_len = state.synced_len.max(len);
        let split = state.unpublished.partition_point(|(seq, _)| *seq <= target);
        if let Some((_, newest)) = state.unpublished.drain(..split).next_back() {
            *self.current.write().unwrap_or_else(PoisonError::into_inner) = newest;
        }
    }

    /// An fsync of the WAL failed: the records after the last durable one may be lost. Cut
    /// the file back to its last durable length and forget their versions (and their rows in
    /// resident segments), so that nothing that may vanish in a crash is ever visible.
    fn lose_unsynced(&self, state: &mut CommitState, e: Error) {
        let (lo, hi) = (state.seq_synced, state.seq_written);
        if let Err(cut) = state.wal.cut_back(state.synced_len) {
            state.failed = Some(format!(
                "WAL fsync failed ({e}) and cutting it back failed ({cut})"
            ));
        }
        let published = self.snapshot();
        for t in &state.written.tables {
            for s in &t.segments {
                if let Some(resident) = &s.resident {
                    let keep = published
                        .table_by_id(t.id)
                        .and_then(|p| p.segments.iter().find(|p| p.id == s.id))
                        .map_or(0, |p| p.rows);
                    resident.truncate(keep);
                }
            }
        }
        state.written = published.clone();
        state.unpublished.clear();
        state.wal_rows = resident_rows(&published);
        state.lost.push((lo, hi, e.to_string()));
        state.seq_synced = hi;
    }

    /// Writes every resident segment of the newest version to its segment file and makes the
    /// result durable as a manifest, then empties the WAL. Run on [`Drop`] as well.
    pub fn checkpoint(&self) -> Result<()> {
        let state = self.lock_commit();
        self.refuse_if_failed(&state)
            .map_err(CommitError::into_error)?;
        let mut state = self.drain_wal(state);
        self.refuse_if_failed(&state)
            .map_err(CommitError::into_error)?;
        if state.wal.len == WAL_HEADER_BYTES && resident_rows(&state.written) == 0 {
            return Ok(());
        }
        let newest = (*state.written).clone();
        self.checkpoint_locked(&mut state, newest, &BTreeSet::new())
            .map(|_| ())
            .map_err(CommitError::into_error)
    }

    /// Makes `next` (the newest version, or a commit applied to it) durable as a manifest:
    /// the transaction's `pending` resident segments of each table merge into one, every
    /// resident segment is written as the segment file of its id (same rows, same positions,
    /// so delete vectors and row ids stay valid), then the manifest is written and published
    /// and the WAL, all of whose records it now holds, is emptied.
    fn checkpoint_locked(
        &self,
        state: &mut CommitState,
        mut next: Manifest,
        pending: &BTreeSet<u64>,
    ) -> Result<Arc<Manifest>, CommitError> {
        let mut flushed: Vec<(u64, u64)> = Vec::new();
        let result = (|| -> Result<()> {
            for t in &mut next.tables {
                merge_pending(t, pending)?;
                if !t.segments.iter().any(SegmentMeta::is_resident) {
                    continue;
                }
                let dir = self.table_dir(t.id);
                create_dir(&dir)?;
                for s in &mut t.segments {
                    let Some(resident) = s.resident.clone() else {
                        continue;
                    };
                    // Rows appended before an ADD or DROP COLUMN are written in the
                    // definition's columns now: the file holds what the manifest says.
                    let batch = resident_batch(&t.def, s, &resident)?;
                    let path = self.segment_path(t.id, s.id);
                    let meta = write_segment(&path, t.id, s.id, &t.def, &[batch])?;
                    flushed.push((t.id, s.id));
                    if meta.rows != s.rows {
                        return Err(Error::Internal(format!(
                            "flushed {} rows of resident segment {} of {}",
                            meta.rows, s.id, s.rows
                        )));
                    }
                    *s = SegmentMeta {
                        deleted: s.deleted.clone(),
                        ..meta
                    };
                }
                sync_dir(&dir)?;
            }
            if !flushed.is_empty() {
                sync_dir(&self.tables_dir())?;
            }
            Ok(())
        })();
        let remove_flushed = |flushed: &[(u64, u64)]| {
            for (t, s) in flushed {
                let _ = std::fs::remove_file(self.segment_path(*t, *s));
            }
        };
        if let Err(e) = result {
            remove_flushed(&flushed);
            return Err(CommitError::NothingWritten(e));
        }
        let persisted = Persisted {
            manifest: next,
            next_table_id: self.next_table_id.load(Ordering::Relaxed),
            next_segment_id: self.next_segment_id.load(Ordering::Relaxed),
        };
        let manifest_dir = self.dir.join(MANIFEST_DIR);
        match manifest::write(&manifest_dir, &persisted) {
            Ok(()) => {}
            Err(ReplaceError::Before(e)) => {
                remove_flushed(&flushed);
                return Err(CommitError::NothingWritten(e));
            }
            Err(ReplaceError::After(e)) => {
                state.failed = Some(e.to_string());
                return Err(CommitError::Indeterminate(e));
            }
        }
        let version = persisted.manifest.version;
        let published = Arc::new(persisted.manifest);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = published.clone();
        state.written = published.clone();
        // Every record in the WAL is in the manifest now; replay would skip them anyway.
        if state.wal.len > WAL_HEADER_BYTES {
            if let Err(e) = state.wal.cut_back(WAL_HEADER_BYTES) {
                state.failed = Some(format!("could not empty the WAL after a checkpoint: {e}"));
            }
        }
        state.synced_len = state.wal.len;
        state.wal_rows = 0;
        state.checkpoint_at_rows = self.options.checkpoint_rows;
        state.checkpoint_at_bytes = self.options.checkpoint_wal_bytes;
        // Best effort: a manifest that outlives its retention is removed by the next startup.
        if let Some(old) = version.checked_sub(MANIFESTS_KEPT).filter(|v| *v > 0) {
            let _ = std::fs::remove_file(manifest_dir.join(manifest::file_name(old)));
        }
        Ok(published)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        #[cfg(test)]
        if self.crash_on_drop.load(Ordering::Relaxed) {
            return;
        }
        // Best effort: what is not flushed stays in the WAL and is replayed at the next open.
        let _ = self.checkpoint();
    }
}

impl CommitError {
    fn into_error(self) -> Error {
        match self {
            CommitError::NothingWritten(e) | CommitError::Indeterminate(e) => e,
        }
    }
}

/// The first `segment.rows` rows of `resident` (the rows of resident segment `segment` of a
/// table defined by `def`), in `def`'s columns.
fn resident_batch(
    def: &TableDef,
    segment: &SegmentMeta,
    resident: &Resident,
) -> Result<RecordBatch> {
    let Some(held) = &segment.columns else {
        return resident.read(&def.arrow_schema(), segment.rows);
    };
    if segment.rows == 0 {
        return Ok(RecordBatch::new_empty(def.arrow_schema()));
    }
    let rows = resident.read_as_written(segment.rows)?;
    def.conform(held, &rows).map_err(|e| {
        Error::Internal(format!(
            "resident segment {} of {}: {e}",
            segment.id,
            def.qualified_name()
        ))
    })
}

/// Rows held in resident segments of `m`.
fn resident_rows(m: &Manifest) -> u64 {
    m.tables
        .iter()
        .flat_map(|t| t.segments.iter())
        .filter(|s| s.is_resident())
        .map(|s| s.rows)
        .sum()
}

/// Replaces the resident segments in `pending` of table `t` by one holding all their rows
/// (in order, with their delete vectors shifted), under the first one's id.
fn merge_pending(t: &mut TableMeta, pending: &BTreeSet<u64>) -> Result<()> {
    let Some(first) = t.segments.iter().position(|s| pending.contains(&s.id)) else {
        return Ok(());
    };
    let schema = t.def.arrow_schema();
    let mut batches = Vec::new();
    let mut deleted = Vec::new();
    let mut rows = 0u64;
    let mut zone_maps: Vec<crate::ZoneMap> = Vec::new();
    let mut bytes = 0;
    let mut id = None;
    for s in t.segments.iter().filter(|s| pending.contains(&s.id)) {
        let resident = s
            .resident
            .as_ref()
            .ok_or_else(|| Error::Internal(format!("pending segment {} is a file", s.id)))?;
        batches.push(resident_batch(&t.def, s, resident)?);
        deleted.extend(shifted(&s.deleted, rows)?);
        if zone_maps.is_empty() {
            zone_maps = s.zone_maps.clone();
        } else {
            for (z, other) in zone_maps.iter_mut().zip(&s.zone_maps) {
                z.merge(other);
            }
        }
        rows += s.rows;
        bytes += s.bytes;
        id.get_or_insert(s.id);
    }
    let batch = arrow_select::concat::concat_batches(&schema, &batches)
        .map_err(|e| Error::Internal(format!("merging pending rows: {e}")))?;
    let merged = SegmentMeta {
        id: id.unwrap_or_default(),
        rows,
        bytes,
        zone_maps,
        deleted: DeleteVector::from_rows(deleted),
        columns: None,
        resident: Some(Arc::new(crate::resident::Resident::with(batch))),
    };
    t.segments.retain(|s| !pending.contains(&s.id));
    t.segments.insert(first.min(t.segments.len()), merged);
    Ok(())
}

/// The rows of `deleted`, each moved `by` positions on.
fn shifted(deleted: &DeleteVector, by: u64) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for (first, count) in deleted.runs() {
        for row in *first..first + count {
            let moved = u32::try_from(u64::from(row) + by)
                .map_err(|_| Error::Internal(format!("row {row} + {by} past u32")))?;
            out.push(moved);
        }
    }
    Ok(out)
}

/// The WAL record of a transaction that only appended small batches (resident segments),
/// deleted rows or truncated tables, resolved against `newest`: its rows go to the end of the
/// table's last resident segment when there is room, or start a new one.
fn derive_record(newest: &Manifest, c: &Changes<'_>) -> Result<Record> {
    let version = newest
        .version
        .checked_add(1)
        .ok_or_else(|| Error::Internal("manifest version overflow".into()))?;
    let ids: BTreeSet<u64> = c
        .appended
        .keys()
        .chain(c.modified.keys())
        .copied()
        .collect();
    let mut tables = Vec::with_capacity(ids.len());
    for id in ids {
        let now = newest
            .table_by_id(id)
            .ok_or_else(|| Error::Internal(format!("changed table {id} vanished")))?;
        let view = c
            .view
            .table_by_id(id)
            .ok_or_else(|| Error::Internal(format!("changed table {id} is not in the view")))?;
        let truncate = c.truncated.contains(&id);
        let mut deletes = Vec::new();
        if c.modified.contains_key(&id) {
            for s in view.segments.iter().filter(|s| !c.pending.contains(&s.id)) {
                let old = now.segments.iter().find(|o| o.id == s.id).ok_or_else(|| {
                    Error::Internal(format!("segment {} of table {id} vanished", s.id))
                })?;
                let new: Vec<u32> = s
                    .deleted
                    .runs()
                    .iter()
                    .flat_map(|(f, n)| *f..f + n)
                    .filter(|r| !old.deleted.contains(*r))
                    .collect();
                if !new.is_empty() {
                    deletes.push((s.id, DeleteVector::from_rows(new)));
                }
            }
        }
        let pending: Vec<&SegmentMeta> = view
            .segments
            .iter()
            .filter(|s| c.pending.contains(&s.id))
            .collect();
        let append = match pending.first() {
            None => None,
            Some(first) => {
                let rows: u64 = pending.iter().map(|s| s.rows).sum();
                let bytes: u64 = pending.iter().map(|s| s.bytes).sum();
                let tail = match truncate {
                    true => None,
                    false => now.segments.last().filter(|s| {
                        s.is_resident()
                            && s.rows + rows <= u64::from(SEGMENT_ROWS_MAX)
                            && s.bytes + bytes <= RESIDENT_BYTES_MAX
                    }),
                };
                let (segment, offset) = tail.map_or((first.id, 0), |t| (t.id, t.rows));
                let schema = view.def.arrow_schema();
                let mut batches = Vec::with_capacity(pending.len());
                let mut at = offset;
                for p in &pending {
                    let resident = p.resident.as_ref().ok_or_else(|| {
                        Error::Internal(format!("pending segment {} is a file", p.id))
                    })?;
                    batches.push(resident_batch(&view.def, p, resident)?);
                    let moved = shifted(&p.deleted, at)?;
                    if !moved.is_empty() {
                        deletes.push((segment, DeleteVector::from_rows(moved)));
                    }
                    at += p.rows;
                }
                let batch = arrow_select::concat::concat_batches(&schema, &batches)
                    .map_err(|e| Error::Internal(format!("pending rows: {e}")))?;
                Some((segment, offset, batch))
            }
        };
        tables.push(TableChange {
            table_id: id,
            truncate,
            append,
            deletes,
        });
    }
    Ok(Record { version, tables })
}

/// Takes the exclusive lock on `dir`'s lock file, failing at once when another `Store` holds
/// it. The lock is advisory (`flock`): it excludes other Basalt processes, and other opens in
/// this process, because each open creates its own open file description.
fn lock_dir(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_at(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(Error::DirectoryLocked {
            dir: dir.display().to_string(),
            lock: path.display().to_string(),
        }),
        Err(TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

/// A write-write conflict: a table this transaction dropped, deleted rows from or truncated
/// was changed by a commit after its base version, or a table it only appended to was
/// dropped. (Appends commute: two transactions appending to one table both commit.)
fn check_conflicts(newest: &Manifest, c: &Changes<'_>) -> Result<()> {
    if c.security_changed && newest.security.change_version > c.base_version {
        // Role and grant changes are serialized as a whole.
        return Err(Error::SerializationConflict("pg_authid".into()));
    }
    // External DDL conflicts with any other external DDL committed after the base.
    if c.external_base.is_some_and(|base| *base != newest.external) {
        return Err(Error::SerializationConflict("external catalog".into()));
    }
    // Views, indexes and constraints conflict with any other change to them after the base;
    // besides, the relations they name must still be there, and a dropped table must have no
    // dependents.
    if c.objects_base.is_some_and(|base| *base != newest.objects) {
        return Err(Error::SerializationConflict("views and indexes".into()));
    }
    let objects = if c.objects_base.is_some() {
        &c.view.objects
    } else {
        &newest.objects
    };
    for (id, name) in c.dropped {
        if objects.dependents(*id).next().is_some()
            || objects.indexes.iter().any(|i| i.table == *id)
            || objects.constraints_of(*id).next().is_some()
            || objects.referencing(*id).next().is_some()
        {
            return Err(Error::SerializationConflict(name.clone()));
        }
    }
    if c.objects_base.is_some() {
        let mut after = newest.clone();
        after.tables.retain(|t| !c.dropped.contains_key(&t.id));
        for id in c.created {
            if let Some(t) = c.view.table_by_id(*id) {
                after.tables.push(t.clone());
            }
        }
        if let Some(e) = c.view.objects.dangling(&after) {
            return Err(Error::SerializationConflict(e));
        }
    }
    // A table renamed to a name another commit took meanwhile, or into a schema another
    // commit dropped.
    for id in c.redefined {
        if let Some(t) = c.view.table_by_id(*id) {
            // The names of tables this transaction renamed or dropped are free in the
            // version it publishes.
            if newest
                .table(&t.def.schema, &t.def.name)
                .is_some_and(|other| {
                    other.id != *id
                        && !c.redefined.contains(&other.id)
                        && !c.dropped.contains_key(&other.id)
                })
                || objects.view(&t.def.schema, &t.def.name).is_some()
                || objects.index(&t.def.schema, &t.def.name).is_some()
                || !objects.has_schema(&t.def.schema)
            {
                return Err(Error::SerializationConflict(t.def.name.clone()));
            }
        }
    }
    for id in c.created {
        if let Some(t) = c.view.table_by_id(*id) {
            // A table made in a schema another commit dropped meanwhile.
            if objects.view(&t.def.schema, &t.def.name).is_some()
                || objects.index(&t.def.schema, &t.def.name).is_some()
                || !objects.has_schema(&t.def.schema)
            {
                return Err(Error::SerializationConflict(t.def.name.clone()));
            }
        }
    }
    let touched = c
        .dropped
        .iter()
        .map(|(id, name)| (*id, name))
        .chain(c.modified.iter().map(|(id, name)| (*id, name)));
    for (id, name) in touched {
        match newest.table_by_id(id) {
            // Dropped by a later commit (ids are never reused).
            None => return Err(Error::SerializationConflict(name.clone())),
            Some(t) if t.change_version > c.base_version => {
                return Err(Error::SerializationConflict(name.clone()))
            }
            Some(_) => {}
        }
    }
    for (id, (name, _)) in c.appended {
        match newest.table_by_id(*id) {
            None => return Err(Error::SerializationConflict(name.clone())),
            // Rows appended in the columns of a definition an ADD or DROP COLUMN committed
            // after the base replaced.
            Some(now) => {
                let view = c.view.table_by_id(*id);
                let stale = view.is_none_or(|v| v.def.ids() != now.def.ids());
                if stale && !c.redefined.contains(id) {
                    return Err(Error::SerializationConflict(name.clone()));
                }
            }
        }
    }
    for id in c.created {
        let table = c
            .view
            .table_by_id(*id)
            .ok_or_else(|| Error::Internal(format!("created table {id} is not in the view")))?;
        if let Some(other) = newest.table(&table.def.schema, &table.def.name) {
            if !c.dropped.contains_key(&other.id) {
                // Created by a later commit.
                return Err(Error::SerializationConflict(table.def.name.clone()));
            }
        }
    }
    Ok(())
}

/// The manifest after `newest`: `newest` with the transaction's changes applied. Resident
/// segments the transaction appended stay separate entries (the checkpoint merges them).
fn apply(newest: &Manifest, c: &Changes<'_>) -> Result<Manifest> {
    let mut next = newest.clone();
    next.version = newest
        .version
        .checked_add(1)
        .ok_or_else(|| Error::Internal("manifest version overflow".into()))?;
    next.tables.retain(|t| !c.dropped.contains_key(&t.id));
    if c.external_base.is_some() {
        next.external = c.view.external.clone();
    }
    if c.objects_base.is_some() {
        next.objects = c.view.objects.clone();
    }
    let version = next.version;
    // No commit after the base changed the tables this one deleted from or truncated
    // (`check_conflicts`), so the newest version's segments are the base's, except that a
    // checkpoint may have written a resident segment to its file (same id, rows and
    // deletes): the view's segments, with those files, are the base's with this
    // transaction's changes applied.
    for id in c.modified.keys() {
        let now = newest
            .table_by_id(*id)
            .ok_or_else(|| Error::Internal(format!("changed table {id} vanished")))?;
        let mut segments = c
            .view
            .table_by_id(*id)
            .map(|t| t.segments.clone())
            .ok_or_else(|| Error::Internal(format!("changed table {id} is not in the view")))?;
        for s in segments.iter_mut().filter(|s| s.is_resident()) {
            if let Some(file) = now
                .segments
                .iter()
                .find(|f| f.id == s.id && !f.is_resident())
            {
                // The file holds what the resident segment held: the base definition's
                // columns, which this transaction's view names if it changed them.
                *s = SegmentMeta {
                    deleted: s.deleted.clone(),
                    columns: s.columns.clone(),
                    ..file.clone()
                };
            }
        }
        let table = next
            .table_by_id_mut(*id)
            .ok_or_else(|| Error::Internal(format!("changed table {id} vanished")))?;
        table.segments = segments;
        table.change_version = version;
        if c.redefined.contains(id) {
            if let Some(redefined) = c.view.table_by_id(*id) {
                table.def = redefined.def.clone();
            }
        }
    }
    // Tables only appended to: the newest version's segments (whatever later commits
    // did) plus this transaction's.
    for (id, (_, added)) in c.appended {
        if c.modified.contains_key(id) {
            continue;
        }
        let table = next
            .table_by_id_mut(*id)
            .ok_or_else(|| Error::Internal(format!("changed table {id} vanished")))?;
        table.segments.extend(added.iter().cloned());
        table.change_version = version;
    }
    if c.security_changed {
        next.security = c.view.security.clone();
        next.security.change_version = version;
    }
    for id in c.created {
        let mut table = c
            .view
            .table_by_id(*id)
            .cloned()
            .ok_or_else(|| Error::Internal(format!("created table {id} is not in the view")))?;
        table.change_version = next.version;
        next.tables.push(table);
    }
    Ok(next)
}

/// The file name of segment `id`.
pub(crate) fn segment_file_name(id: u64) -> String {
    format!("{id:020}{SEGMENT_EXTENSION}")
}

fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_EXTENSION)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Reads the newest manifest and returns it first, followed by the valid manifests kept before
/// it. Removes temporary files and deletes manifests past retention. No manifest files at all
/// is a new database (an empty list); an unreadable newest manifest is an error naming it, as
/// falling back to an older version would drop the commits only it holds.
fn recover_manifests(dir: &Path) -> Result<Vec<Persisted>> {
    let mut versions = Vec::new();
    for (path, name) in list_dir(dir)? {
        if name.ends_with(TMP_SUFFIX) {
            std::fs::remove_file(&path).map_err(io_at(&path))?;
        } else if let Some(v) = manifest::parse_file_name(&name) {
            versions.push((v, path));
        }
    }
    versions.sort_by_key(|(v, _)| std::cmp::Reverse(*v));

    let mut newest: Option<(usize, Persisted)> = None;
    let mut first_error = None;
    for (i, (v, path)) in versions.iter().enumerate() {
        match manifest::read(path) {
            Ok(p) if p.manifest.version == *v => {
                newest = Some((i, p));
                break;
            }
            Ok(p) => {
                first_error.get_or_insert_with(|| {
                    Error::corrupt(path, format!("holds version {}", p.manifest.version))
                });
            }
            Err(e @ Error::Corrupt { .. }) => {
                first_error.get_or_insert(e);
            }
            // An I/O error says nothing about the file's contents: fail the open at once.
            Err(e) => return Err(e),
        }
    }
    let Some((index, current)) = newest else {
        return match first_error {
            None => Ok(Vec::new()),
            Some(e) => Err(Error::corrupt(
                dir,
                format!(
                    "none of the {} manifest files is valid; newest: {e}",
                    versions.len()
                ),
            )),
        };
    };
    // A manifest is fsynced before its rename publishes it, so no crash leaves the newest one
    // unreadable: damage did, and the older versions lack its commits (the WAL was emptied
    // when it was written). Starting from them would lose committed rows without a word.
    if index > 0 {
        let (v, path) = &versions[0];
        let detail = match first_error {
            Some(Error::Corrupt { detail, .. }) => detail,
            _ => String::new(),
        };
        return Err(Error::corrupt(
            path,
            format!(
                "{detail}; version {v} is the newest committed, and starting from version {} \
                 would lose its commits: restore the file, or rename it (to \
                 {}.corrupt, say) to start from version {} without them",
                current.manifest.version,
                manifest::file_name(*v),
                current.manifest.version
            ),
        ));
    }
    let oldest_kept = current.manifest.version.saturating_sub(MANIFESTS_KEPT - 1);
    let mut kept = vec![current];
    let mut deleted = false;
    for (v, path) in versions.iter().skip(index + 1) {
        if *v < oldest_kept {
            std::fs::remove_file(path).map_err(io_at(path))?;
            deleted = true;
        } else if let Ok(p) = manifest::read(path) {
            if p.manifest.version == *v {
                kept.push(p);
            }
        }
    }
    if deleted {
        sync_dir(dir)?;
    }
    Ok(kept)
}

/// Deletes everything under `tables/` that none of the `kept` manifests refers to.
fn collect_garbage(tables_dir: &Path, kept: &[Persisted]) -> Result<()> {
    let mut referenced: HashMap<u64, HashSet<u64>> = HashMap::new();
    for p in kept {
        for t in &p.manifest.tables {
            referenced
                .entry(t.id)
                .or_default()
                .extend(t.segments.iter().map(|s| s.id));
        }
    }
    for (path, name) in list_dir(tables_dir)? {
        let segments = name.parse::<u64>().ok().and_then(|id| referenced.get(&id));
        match segments {
            Some(segments) if path.is_dir() => {
                for (file, file_name) in list_dir(&path)? {
                    let wanted = parse_segment_file_name(&file_name)
                        .is_some_and(|id| segments.contains(&id));
                    if !wanted {
                        remove_any(&file)?;
                    }
                }
            }
            _ => remove_any(&path)?,
        }
    }
    Ok(())
}

fn remove_any(path: &Path) -> Result<()> {
    if path.is_dir() {
        std::fs::remove_dir_all(path).map_err(io_at(path))
    } else {
        std::fs::remove_file(path).map_err(io_at(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{
        all_types_def, extremes_batch, files_under, generated_batch, int_batch, int_def,
        int_values, segment_files,
    };

    /// A store whose every append writes segment files (the WAL's own tests are in
    /// `wal_tests`).
    fn open(dir: &Path) -> Arc<Store> {
        Arc::new(crate::test_util::open_files_only(dir))
    }

    /// Commits a transaction that creates `public.<name>` (BIGINT x) holding `values`.
    fn create_with(store: &Arc<Store>, name: &str, values: std::ops::Range<i64>) -> Arc<Manifest> {
        let mut txn = store.begin();
        txn.create_table(int_def(name)).unwrap();
        txn.append("public", name, &[int_batch(values)]).unwrap();
        txn.commit().unwrap()
    }

    fn append(store: &Arc<Store>, name: &str, values: std::ops::Range<i64>) -> Arc<Manifest> {
        let mut txn = store.begin();
        txn.append("public", name, &[int_batch(values)]).unwrap();
        txn.commit().unwrap()
    }

    fn manifest_names(dir: &Path) -> Vec<String> {
        files_under(&dir.join(MANIFEST_DIR))
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn open_creates_missing_directories_and_starts_empty() {
        // Input: a data directory path two levels below an empty temporary directory.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        let store = open(&dir);
        assert!(dir.join(MANIFEST_DIR).is_dir() && dir.join(TABLES_DIR).is_dir());
        assert_eq!(*store.snapshot(), Manifest::default());
        let lock_only = vec![dir.join(LOCK_FILE), dir.join("wal").join("basalt.wal")];
        assert_eq!(files_under(&dir), lock_only);
        // A transaction that changes nothing publishes nothing.
        assert_eq!(store.begin().commit().unwrap().version, 0);
        assert_eq!(files_under(&dir), lock_only);
    }

    #[test]
    fn a_second_open_of_the_same_directory_fails_until_the_first_is_dropped() {
        // Input: one open store, then a second open of the same directory, then the first
        // store dropped and the directory opened again.
        let tmp = tempfile::tempdir().unwrap();
        let first = open(tmp.path());
        match Store::open(tmp.path()) {
            Err(Error::DirectoryLocked { dir, lock }) => {
                assert_eq!(dir, tmp.path().display().to_string());
                assert!(lock.ends_with(LOCK_FILE), "{lock}");
            }
            other => panic!("{other:?}"),
        }
        let message = Store::open(tmp.path()).unwrap_err().to_string();
        assert!(
            message.contains(&tmp.path().display().to_string()),
            "{message}"
        );
        drop(first);
        let again = open(tmp.path());
        // The lock file is not table data: garbage collection leaves it alone.
        drop(again);
        assert!(tmp.path().join(LOCK_FILE).exists());
        open(tmp.path());
    }

    #[test]
    fn reopen_after_commit_sees_the_data() {
        // Input: a committed table of every type holding edge values and 5,000 generated rows.
        let tmp = tempfile::tempdir().unwrap();
        let def = all_types_def("every");
        let batches = [extremes_batch(&def), generated_batch(&def, 0, 5_000)];
        let committed = {
            let store = open(tmp.path());
            let mut txn = store.begin();
            txn.create_table(def.clone()).unwrap();
            txn.append("public", "every", &batches).unwrap();
            txn.commit().unwrap()
        };
        assert_eq!(committed.version, 1);

        let store = open(tmp.path());
        let snapshot = store.snapshot();
        assert_eq!(*snapshot, *committed);
        let table = snapshot.table("public", "every").unwrap();
        assert_eq!(table.id, TABLE_ID_MIN);
        assert_eq!(table.rows(), 5_006);
        assert_eq!(table.segments.len(), 1);
        let all: Vec<usize> = (0..def.columns.len()).collect();
        let back = store.read_segment(table, &table.segments[0], &all).unwrap();
        assert_eq!(back.slice(0, 6), batches[0]);
        assert_eq!(back.slice(6, 5_000), batches[1]);
    }

    #[test]
    fn an_unreadable_newest_manifest_is_an_error_naming_it_and_nothing_is_deleted() {
        // Input: versions 1 (t = 0..10) and 2 (t += 10..20, in a segment of its own); then
        // version 2's file cut in half. Second round: the file renamed aside, as the error
        // says, and a new version 2 with a flipped byte.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        {
            let store = open(dir);
            create_with(&store, "t", 0..10);
            append(&store, "t", 10..20);
        }
        let segments = segment_files(dir);
        assert_eq!(segments.len(), 2);
        let v2 = dir.join(MANIFEST_DIR).join(manifest::file_name(2));
        let bytes = std::fs::read(&v2).unwrap();
        std::fs::write(&v2, &bytes[..bytes.len() / 2]).unwrap();

        // Version 1 lacks version 2's rows: starting from it would be a wrong answer.
        let unreadable = |dir: &Path| match Store::open(dir) {
            Err(Error::Corrupt { file, detail }) => {
                assert_eq!(file, v2.display().to_string());
                assert!(
                    detail.contains("version 2 is the newest committed")
                        && detail.contains("start from version 1"),
                    "{detail}"
                );
            }
            Err(other) => panic!("{other:?}"),
            Ok(store) => panic!("opened at version {}", store.snapshot().version),
        };
        unreadable(dir);
        // Nothing was collected or renamed: restoring the file recovers everything.
        assert_eq!(segment_files(dir), segments);
        assert!(v2.exists());
        assert!(dir.join(MANIFEST_DIR).join(manifest::file_name(1)).exists());
        std::fs::write(&v2, &bytes).unwrap();
        let store = open(dir);
        assert_eq!(store.snapshot().version, 2);
        assert_eq!(
            int_values(&store, &store.snapshot(), "t"),
            (0..20).collect::<Vec<_>>()
        );
        drop(store);

        // Renamed aside, the file no longer counts: version 1 is the newest, and the next
        // commit is version 2 again.
        std::fs::write(&v2, &bytes[..bytes.len() / 2]).unwrap();
        let aside = dir
            .join(MANIFEST_DIR)
            .join(format!("{}.corrupt", manifest::file_name(2)));
        std::fs::rename(&v2, &aside).unwrap();
        let store = open(dir);
        assert_eq!(store.snapshot().version, 1);
        assert_eq!(
            int_values(&store, &store.snapshot(), "t"),
            (0..10).collect::<Vec<_>>()
        );
        assert_eq!(segment_files(dir).len(), 1);
        assert_eq!(append(&store, "t", 30..31).version, 2);
        drop(store);

        let mut bytes = std::fs::read(&v2).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(&v2, &bytes).unwrap();
        unreadable(dir);
    }

    #[test]
    fn no_valid_manifest_is_an_error_not_an_empty_database() {
        // Input: one committed version whose only manifest file is then truncated to 10 bytes.
        let tmp = tempfile::tempdir().unwrap();
        {
            let store = open(tmp.path());
            create_with(&store, "t", 0..10);
        }
        let v1 = tmp.path().join(MANIFEST_DIR).join(manifest::file_name(1));
        let bytes = std::fs::read(&v1).unwrap();
        std::fs::write(&v1, &bytes[..10]).unwrap();
        match Store::open(tmp.path()) {
            Err(Error::Corrupt { file, detail }) => {
                assert!(file.ends_with(MANIFEST_DIR), "{file}");
                assert!(detail.contains("none of the 1 manifest files"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        // Nothing was collected: the segment is still there for recovery by hand.
        assert_eq!(segment_files(tmp.path()).len(), 1);
    }

    #[test]
    fn startup_removes_files_no_manifest_references() {
        // Input: a committed table, a transaction that appended but never finished (its
        // cleanup skipped, as in a crash), a stray segment and a stray table directory, and a
        // leftover temporary manifest.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let kept = {
            let store = open(dir);
            create_with(&store, "t", 0..10);
            let kept = segment_files(dir);
            let mut txn = store.begin();
            txn.append("public", "t", &[int_batch(10..20)]).unwrap();
            // A crash skips the rollback's cleanup: keep a copy of the uncommitted segment
            // and put it back after the rollback deleted it.
            let written: Vec<(PathBuf, Vec<u8>)> = segment_files(dir)
                .into_iter()
                .filter(|p| !kept.contains(p))
                .map(|p| {
                    let bytes = std::fs::read(&p).unwrap();
                    (p, bytes)
                })
                .collect();
            assert_eq!(written.len(), 1);
            drop(txn);
            for (path, bytes) in written {
                std::fs::write(path, bytes).unwrap();
            }
            kept
        };
        let table_dir = dir.join(TABLES_DIR).join(TABLE_ID_MIN.to_string());
        std::fs::write(table_dir.join(segment_file_name(999)), b"junk").unwrap();
        std::fs::write(table_dir.join("notes.txt"), b"junk").unwrap();
        std::fs::create_dir_all(dir.join(TABLES_DIR).join("99999")).unwrap();
        std::fs::write(
            dir.join(TABLES_DIR)
                .join("99999")
                .join(segment_file_name(1)),
            b"x",
        )
        .unwrap();
        std::fs::write(
            dir.join(MANIFEST_DIR)
                .join("00000000000000000002.manifest.tmp"),
            b"x",
        )
        .unwrap();
        assert_eq!(segment_files(dir).len(), kept.len() + 4);

        let store = open(dir);
        assert_eq!(segment_files(dir), kept);
        assert_eq!(manifest_names(dir), [manifest::file_name(1)]);
        assert_eq!(
            int_values(&store, &store.snapshot(), "t"),
            (0..10).collect::<Vec<_>>()
        );
        // Segment ids keep increasing past the abandoned transaction's.
        let next = append(&store, "t", 20..21);
        let ids: Vec<u64> = next.tables[0].segments.iter().map(|s| s.id).collect();
        assert!(ids[1] > ids[0]);
    }

    #[test]
    fn old_manifests_are_pruned_and_dropped_tables_collected_after_retention() {
        // Input: tables `gone` and `t`; `gone` is dropped at version 3, then `t` gets three
        // more appends (versions 4..6); the store is reopened after each step.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let store = open(dir);
        create_with(&store, "gone", 0..5);
        create_with(&store, "t", 0..5);
        let gone_dir = dir.join(TABLES_DIR).join(TABLE_ID_MIN.to_string());
        let old = store.snapshot();

        let mut txn = store.begin();
        txn.drop_table("public", "gone").unwrap();
        assert_eq!(txn.commit().unwrap().version, 3);
        // A reader still holding the old version can read the dropped table.
        assert_eq!(int_values(&store, &old, "gone"), (0..5).collect::<Vec<_>>());
        drop(store);

        // Versions 1..3 are kept, and version 2 still refers to `gone`.
        let store = open(dir);
        assert!(gone_dir.is_dir());
        for i in 0..3 {
            append(&store, "t", i..i + 1);
        }
        assert_eq!(
            manifest_names(dir),
            (4..=6).map(manifest::file_name).collect::<Vec<_>>()
        );
        drop(store);

        let store = open(dir);
        assert!(!gone_dir.exists());
        assert_eq!(store.snapshot().version, 6);
        assert_eq!(
            int_values(&store, &store.snapshot(), "t"),
            [0, 1, 2, 3, 4, 0, 1, 2]
        );
    }

    #[test]
    fn table_ids_start_at_16384_and_are_never_reused() {
        // Input: table `a` created and dropped, the store reopened, then `b` created; and a
        // rolled-back creation of `c` before `d`.
        let tmp = tempfile::tempdir().unwrap();
        {
            let store = open(tmp.path());
            create_with(&store, "a", 0..1);
            assert_eq!(
                store.snapshot().table("public", "a").unwrap().id,
                TABLE_ID_MIN
            );
            let mut txn = store.begin();
            txn.drop_table("public", "a").unwrap();
            txn.commit().unwrap();
        }
        let store = open(tmp.path());
        create_with(&store, "b", 0..1);
        assert_eq!(
            store.snapshot().table("public", "b").unwrap().id,
            TABLE_ID_MIN + 1
        );
        let mut txn = store.begin();
        txn.create_table(int_def("c")).unwrap();
        drop(txn);
        create_with(&store, "d", 0..1);
        assert_eq!(
            store.snapshot().table("public", "d").unwrap().id,
            TABLE_ID_MIN + 3
        );
    }

    /// A store in `dir` with table `t` of every type and 1,000 generated rows, committed in
    /// one segment file.
    fn all_types_table(dir: &Path) -> (Arc<Store>, Arc<Manifest>, TableDef) {
        let store = open(dir);
        let def = all_types_def("t");
        let mut txn = store.begin();
        txn.create_table(def.clone()).unwrap();
        txn.append("public", "t", &[generated_batch(&def, 0, 1_000)])
            .unwrap();
        let committed = txn.commit().unwrap();
        (store, committed, def)
    }

    #[test]
    fn a_flipped_byte_in_a_committed_segment_is_reported_with_its_file() {
        // Input: a committed table of 1,000 generated rows of every type, then one byte in the
        // middle of its segment file flipped.
        let tmp = tempfile::tempdir().unwrap();
        let (store, committed, def) = all_types_table(tmp.path());
        let [path] = segment_files(tmp.path()).try_into().unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x80;
        std::fs::write(&path, &bytes).unwrap();

        let table = committed.table("public", "t").unwrap();
        let all: Vec<usize> = (0..def.columns.len()).collect();
        match store.read_segment(table, &table.segments[0], &all) {
            Err(Error::Corrupt { file, detail }) => {
                assert_eq!(file, path.display().to_string());
                assert!(detail.contains("block 0 at offset"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn verify_sums_again_the_blocks_scans_verified_before() {
        // Input: a committed table of 1,000 rows read once (its file mapped and its blocks
        // verified), then one byte in the middle of its segment file flipped in place.
        use std::io::{Seek, SeekFrom, Write};
        let tmp = tempfile::tempdir().unwrap();
        let (store, committed, def) = all_types_table(tmp.path());
        let table = committed.table("public", "t").unwrap();
        let all: Vec<usize> = (0..def.columns.len()).collect();
        let first = store.read_segment(table, &table.segments[0], &all).unwrap();
        assert_eq!(first.num_rows(), 1_000);
        let again = store.read_segment(table, &table.segments[0], &all).unwrap();
        assert_eq!(again, first);

        let [path] = segment_files(tmp.path()).try_into().unwrap();
        let middle = std::fs::metadata(&path).unwrap().len() / 2;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let mut byte = [0u8];
        file.seek(SeekFrom::Start(middle)).unwrap();
        std::io::Read::read_exact(&mut file, &mut byte).unwrap();
        byte[0] ^= 0x80;
        file.seek(SeekFrom::Start(middle)).unwrap();
        file.write_all(&byte).unwrap();
        drop(file);

        match store.verify() {
            Err(Error::Corrupt { file, detail }) => {
                assert_eq!(file, path.display().to_string());
                assert!(detail.contains("checksum mismatch"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn scans_skip_segments_and_blocks_outside_the_ranges() {
        // Input: BIGINT x sorted: one segment of 0..200_000 (blocks of WRITER_BLOCK_ROWS_MAX
        // rows, the last shorter), one of 200_000..200_010, and one of ten NULLs.
        let w = u64::from(WRITER_BLOCK_ROWS_MAX);
        let first_blocks = 200_000u64.div_ceil(w);
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        let mut def = int_def("t");
        def.columns[0].nullable = true;
        let mut txn = store.begin();
        txn.create_table(def).unwrap();
        txn.append("public", "t", &[int_batch(0..200_000)]).unwrap();
        txn.commit().unwrap();
        append(&store, "t", 200_000..200_010);
        let mut txn = store.begin();
        let nulls = RecordBatch::try_new(
            store
                .snapshot()
                .table("public", "t")
                .unwrap()
                .def
                .arrow_schema(),
            vec![Arc::new(arrow_array::Int64Array::from(vec![
                None::<i64>;
                10
            ]))],
        )
        .unwrap();
        txn.append("public", "t", &[nulls]).unwrap();
        let snapshot = txn.commit().unwrap();
        let table = snapshot.table("public", "t").unwrap();
        let range = |lower: Option<(i64, bool)>, upper: Option<(i64, bool)>| ColumnRange {
            column: 0,
            lower: lower.map(|(v, i)| (crate::ZoneValue::Int(v), i)),
            upper: upper.map(|(v, i)| (crate::ZoneValue::Int(v), i)),
        };
        let scan = |ranges: &[ColumnRange], positions: bool| {
            let mut counts = ScanCounts::default();
            let mut out = Vec::new();
            for segment in &table.segments {
                let s = store
                    .scan_segment(table, segment, &[0], ranges, positions)
                    .unwrap();
                counts.add(&s.counts);
                out.push((s.batch.map(|b| b.num_rows()).unwrap_or(0), s.positions));
            }
            (counts, out)
        };

        // x = 70,000: the block of the first segment that holds it, only.
        let (counts, out) = scan(&[range(Some((70_000, true)), Some((70_000, true)))], true);
        assert_eq!(
            counts,
            ScanCounts {
                segments_read: 1,
                segments_skipped: 2,
                blocks_read: 1,
                blocks_skipped: first_blocks - 1 + 2,
            }
        );
        let start = 70_000 / w * w;
        assert_eq!(out[0].0 as u64, w);
        assert_eq!(out[0].1.first().copied(), Some(start as u32));
        assert_eq!(out[0].1.last().copied(), Some((start + w - 1) as u32));

        // x > 199_999 excludes the first segment at its last row, exactly at the bound.
        let (counts, out) = scan(&[range(Some((199_999, false)), None)], false);
        assert_eq!((counts.segments_read, counts.segments_skipped), (1, 2));
        assert_eq!(out[1].0, 10);

        // No range: every block is read, NULLs included.
        let (counts, out) = scan(&[], false);
        assert_eq!(
            (counts.blocks_read, counts.blocks_skipped),
            (first_blocks + 2, 0)
        );
        assert_eq!(out.iter().map(|o| o.0).sum::<usize>(), 200_020);

        // Two ranges whose blocks do not overlap: nothing is read.
        let (counts, _) = scan(
            &[
                range(None, Some((10, true))),
                range(Some((150_000, true)), None),
            ],
            false,
        );
        assert_eq!(counts.segments_read, 0);
    }

    #[test]
    fn scans_leave_out_deleted_rows_and_their_positions() {
        // Input: 0..200_000 in one segment; rows 65,536..65,546 (from a block boundary) and
        // 199,999 deleted; scanned for x BETWEEN 65,530 AND 65,540, in the two blocks either
        // side of the boundary.
        let w = WRITER_BLOCK_ROWS_MAX as usize;
        assert_eq!(65_536 % w, 0);
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        create_with(&store, "t", 0..200_000);
        let mut txn = store.begin();
        let id = store.snapshot().table("public", "t").unwrap().segments[0].id;
        let rows: Vec<u32> = (65_536..65_546).chain([199_999]).collect();
        txn.delete_rows("public", "t", &BTreeMap::from([(id, rows)]))
            .unwrap();
        let snapshot = txn.commit().unwrap();
        let table = snapshot.table("public", "t").unwrap();
        let segment = &table.segments[0];
        let range = ColumnRange {
            column: 0,
            lower: Some((crate::ZoneValue::Int(65_530), true)),
            upper: Some((crate::ZoneValue::Int(65_540), true)),
        };
        let s = store
            .scan_segment(table, segment, &[0], &[range], true)
            .unwrap();
        let blocks = 200_000usize.div_ceil(w) as u64;
        assert_eq!(
            (s.counts.blocks_read, s.counts.blocks_skipped),
            (2, blocks - 2)
        );
        let batch = s.batch.unwrap();
        assert_eq!(batch.num_rows(), 2 * w - 10);
        assert_eq!(s.positions.len(), batch.num_rows());
        let start = 65_536 - w;
        assert_eq!(
            s.positions[65_535 - start..65_537 - start],
            [65_535, 65_546]
        );
        let values = batch
            .column(0)
            .as_any()
            .downcast_ref::<arrow_array::Int64Array>()
            .unwrap();
        assert!(s
            .positions
            .iter()
            .zip(values.values())
            .all(|(p, v)| i64::from(*p) == *v));
        assert_eq!(int_values(&store, &snapshot, "t").len(), 199_989);
    }
}
