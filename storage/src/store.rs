//! The data directory: recovery on open, the published manifest, reads and the commit step.
//!
//! ```text
//! <dir>/
//!   manifest/00000000000000000042.manifest   newest committed version
//!            00000000000000000041.manifest   kept for fallback
//!            00000000000000000040.manifest   kept for fallback
//!   tables/<table id>/<segment id, 20 digits>.seg
//! ```
//! The commit protocol is described in `docs/transactions.md`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use arrow_array::RecordBatch;

use crate::catalog::{Manifest, SegmentMeta, TableMeta};
use crate::durable::{create_dir, list_dir, sync_dir, ReplaceError, TMP_SUFFIX};
use crate::error::{io_at, Error, Result};
use crate::manifest::{self, Persisted};
use crate::segment::SegmentReader;
use crate::transaction::Transaction;

/// The first table id; ids below it are PostgreSQL's built-in catalog OIDs.
pub const TABLE_ID_MIN: u64 = 16_384;
/// Manifest versions kept on disk: the newest and two before it, for fallback when the newest
/// is unreadable.
pub const MANIFESTS_KEPT: u64 = 3;

const MANIFEST_DIR: &str = "manifest";
const TABLES_DIR: &str = "tables";
const SEGMENT_EXTENSION: &str = ".seg";

/// A data directory.
///
/// One process may have a data directory open at a time; nothing enforces it yet.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    /// The newest committed manifest. Readers clone the `Arc` and keep it as long as they like.
    current: RwLock<Arc<Manifest>>,
    /// Held for the whole commit step, so commits are applied one at a time.
    commit: Mutex<CommitState>,
    next_table_id: AtomicU64,
    next_segment_id: AtomicU64,
}

#[derive(Debug, Default)]
struct CommitState {
    /// Set when a commit failed after its manifest may have reached the disk (the directory
    /// fsync after the rename failed). The in-memory state can then no longer be trusted to
    /// match the disk, so later commits are refused until the store is opened again, which
    /// recovers from the disk. (After a failed fsync the kernel may have dropped the dirty
    /// pages, so retrying it proves nothing.)
    failed: Option<String>,
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
    /// Recovers to the newest manifest whose checksum validates, falling back to older ones when
    /// newer ones are corrupt (a corrupt one is renamed to `*.manifest.corrupt` and kept for
    /// inspection), and deletes files that no kept manifest refers to: segment files of
    /// transactions that never committed, tables dropped more than [`MANIFESTS_KEPT`] - 1
    /// commits ago, and temporary files. A directory holding manifest files none of which is
    /// valid is an error, not an empty database.
    pub fn open(dir: &Path) -> Result<Store> {
        create_dir(dir)?;
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

        // Ids are never reused, not even those of tables only older kept manifests hold.
        let max_table = kept
            .iter()
            .flat_map(|p| p.manifest.tables.iter())
            .map(|t| t.id + 1)
            .max();
        let max_segment = kept
            .iter()
            .flat_map(|p| p.manifest.tables.iter())
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
        Ok(Store {
            dir: dir.to_path_buf(),
            current: RwLock::new(Arc::new(current.manifest)),
            commit: Mutex::new(CommitState::default()),
            next_table_id: AtomicU64::new(next_table_id),
            next_segment_id: AtomicU64::new(next_segment_id),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
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

    /// Reads the columns `projection` (indexes into `table.def.columns`, in that order) of one
    /// segment into a batch of Arrow arrays typed by [`crate::SqlType::arrow_type`]. An empty
    /// projection yields a batch with no columns and the segment's row count.
    pub fn read_segment(
        &self,
        table: &TableMeta,
        segment: &SegmentMeta,
        projection: &[usize],
    ) -> Result<RecordBatch> {
        self.open_segment(table, segment)?.read(projection)
    }

    /// Opens and checks one segment file, for reading columns and block zone maps.
    pub fn open_segment(&self, table: &TableMeta, segment: &SegmentMeta) -> Result<SegmentReader> {
        SegmentReader::open(&self.segment_path(table.id, segment.id), table, segment)
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

    /// The commit step: under the commit lock, checks `changes` for conflicts with commits
    /// after its base, applies them to the newest manifest, makes that durable and publishes it.
    pub(crate) fn commit(&self, changes: &Changes<'_>) -> Result<Arc<Manifest>, CommitError> {
        let mut state = self.commit.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(reason) = &state.failed {
            return Err(CommitError::NothingWritten(Error::Io {
                path: self.dir.display().to_string(),
                source: std::io::Error::other(format!(
                    "data directory is read-only after a failed commit ({reason}); \
                     restart to recover"
                )),
            }));
        }
        let newest = self.snapshot();
        check_conflicts(&newest, changes).map_err(CommitError::NothingWritten)?;
        let next = apply(&newest, changes).map_err(CommitError::NothingWritten)?;
        let persisted = Persisted {
            manifest: next,
            next_table_id: self.next_table_id.load(Ordering::Relaxed),
            next_segment_id: self.next_segment_id.load(Ordering::Relaxed),
        };
        let manifest_dir = self.dir.join(MANIFEST_DIR);
        match manifest::write(&manifest_dir, &persisted) {
            Ok(()) => {}
            Err(ReplaceError::Before(e)) => return Err(CommitError::NothingWritten(e)),
            Err(ReplaceError::After(e)) => {
                state.failed = Some(e.to_string());
                return Err(CommitError::Indeterminate(e));
            }
        }
        let version = persisted.manifest.version;
        let published = Arc::new(persisted.manifest);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = published.clone();
        // Best effort: a manifest that outlives its retention is removed by the next startup.
        if let Some(old) = version.checked_sub(MANIFESTS_KEPT).filter(|v| *v > 0) {
            let _ = std::fs::remove_file(manifest_dir.join(manifest::file_name(old)));
        }
        drop(state);
        Ok(published)
    }
}

/// A write-write conflict: a table this transaction changed was changed by a commit after its
/// base version.
fn check_conflicts(newest: &Manifest, c: &Changes<'_>) -> Result<()> {
    let touched = c
        .dropped
        .iter()
        .map(|(id, name)| (*id, name))
        .chain(c.appended.iter().map(|(id, (name, _))| (*id, name)));
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

/// The manifest after `newest`: `newest` with the transaction's changes applied.
fn apply(newest: &Manifest, c: &Changes<'_>) -> Result<Manifest> {
    let mut next = newest.clone();
    next.version = newest
        .version
        .checked_add(1)
        .ok_or_else(|| Error::Internal("manifest version overflow".into()))?;
    next.tables.retain(|t| !c.dropped.contains_key(&t.id));
    let version = next.version;
    for (id, (_, segments)) in c.appended {
        let table = next
            .table_by_id_mut(*id)
            .ok_or_else(|| Error::Internal(format!("appended table {id} vanished")))?;
        table.segments.extend(segments.iter().cloned());
        table.change_version = version;
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

/// Finds the newest valid manifest and returns it first, followed by the valid manifests kept
/// for fallback. Removes temporary files, sets corrupt newer manifests aside and deletes
/// manifests past retention. No manifest files at all is a new database (an empty list).
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
            // An I/O error says nothing about the file's contents: never fall back over it.
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

    let mut set_aside = false;
    for (_, path) in versions.iter().take(index) {
        let mut aside = path.clone().into_os_string();
        aside.push(".corrupt");
        std::fs::rename(path, &aside).map_err(io_at(path))?;
        set_aside = true;
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
    if set_aside || deleted {
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

    fn open(dir: &Path) -> Arc<Store> {
        Arc::new(Store::open(dir).unwrap())
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
        assert!(files_under(&dir).is_empty());
        // A transaction that changes nothing publishes nothing.
        assert_eq!(store.begin().commit().unwrap().version, 0);
        assert!(files_under(&dir).is_empty());
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
    fn a_torn_or_corrupt_newest_manifest_falls_back_to_the_previous_one() {
        // Input: versions 1 (t = 0..10) and 2 (t += 10..20); then version 2's file is cut in
        // half, as a torn write would leave it. Second round: a flipped byte instead.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        {
            let store = open(dir);
            create_with(&store, "t", 0..10);
            append(&store, "t", 10..20);
        }
        let v2 = dir.join(MANIFEST_DIR).join(manifest::file_name(2));
        let bytes = std::fs::read(&v2).unwrap();
        std::fs::write(&v2, &bytes[..bytes.len() / 2]).unwrap();

        let store = open(dir);
        assert_eq!(store.snapshot().version, 1);
        assert_eq!(
            int_values(&store, &store.snapshot(), "t"),
            (0..10).collect::<Vec<_>>()
        );
        assert!(dir
            .join(MANIFEST_DIR)
            .join(format!("{}.corrupt", manifest::file_name(2)))
            .exists());
        // Version 2's segment was unreferenced and is gone; the next commit is version 2 again.
        assert_eq!(segment_files(dir).len(), 1);
        assert_eq!(append(&store, "t", 30..31).version, 2);
        drop(store);

        let mut bytes = std::fs::read(&v2).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(&v2, &bytes).unwrap();
        let store = open(dir);
        assert_eq!(store.snapshot().version, 1);
        assert_eq!(int_values(&store, &store.snapshot(), "t").len(), 10);
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
            std::mem::forget(txn);
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

    #[test]
    fn a_flipped_byte_in_a_committed_segment_is_reported_with_its_file() {
        // Input: a committed table of 1,000 generated rows of every type, then one byte in the
        // middle of its segment file flipped.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        let def = all_types_def("t");
        let mut txn = store.begin();
        txn.create_table(def.clone()).unwrap();
        txn.append("public", "t", &[generated_batch(&def, 0, 1_000)])
            .unwrap();
        let committed = txn.commit().unwrap();
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
}
