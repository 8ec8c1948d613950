//! The write-ahead log and resident segments, through the store's public API: small appends
//! become durable without segment files, survive a crash, are checkpointed into few files,
//! and deletes, truncates and snapshots of resident rows behave as they do for files.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::test_util::{int_batch, int_def, int_values, segment_files};
use crate::wal::{WAL_DIR, WAL_FILE, WAL_HEADER_BYTES};
use crate::{Error, Store, StoreOptions};

fn open(dir: &Path) -> Arc<Store> {
    Arc::new(Store::open(dir).unwrap())
}

fn open_with(dir: &Path, checkpoint_rows: u64) -> Arc<Store> {
    let options = StoreOptions {
        checkpoint_rows,
        ..StoreOptions::default()
    };
    Arc::new(Store::open_with(dir, options).unwrap())
}

/// Drops `store` as a crash would leave it: nothing checkpointed.
fn crash(store: Arc<Store>) {
    store.crash_on_drop.store(true, Ordering::Relaxed);
    drop(store);
}

fn create(store: &Arc<Store>, name: &str) {
    let mut txn = store.begin();
    txn.create_table(int_def(name)).unwrap();
    txn.commit().unwrap();
}

fn insert(store: &Arc<Store>, name: &str, values: std::ops::Range<i64>) {
    let mut txn = store.begin();
    txn.append("public", name, &[int_batch(values)]).unwrap();
    txn.commit().unwrap();
}

fn wal_len(dir: &Path) -> u64 {
    std::fs::metadata(dir.join(WAL_DIR).join(WAL_FILE))
        .unwrap()
        .len()
}

#[test]
fn small_appends_write_no_segment_files_and_replay_after_a_crash() {
    // Input: table `t`, then 500 single-row commits of 0..500, the store crashed (no
    // checkpoint) and reopened, then closed cleanly and reopened.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = open(dir);
    create(&store, "t");
    for v in 0..500 {
        insert(&store, "t", v..v + 1);
    }
    let expected: Vec<i64> = (0..500).collect();
    assert_eq!(int_values(&store, &store.snapshot(), "t"), expected);
    assert!(segment_files(dir).is_empty());
    let table = store.snapshot().table("public", "t").unwrap().clone();
    assert_eq!(table.segments.len(), 1);
    assert!(table.segments[0].is_resident());
    assert_eq!(store.snapshot().version, 501);
    crash(store);

    let store = open(dir);
    assert_eq!(store.snapshot().version, 501);
    assert_eq!(int_values(&store, &store.snapshot(), "t"), expected);
    // The replayed rows keep their segment id, so row ids taken before the crash still hold.
    assert_eq!(
        store.snapshot().table("public", "t").unwrap().segments[0].id,
        table.segments[0].id
    );
    drop(store);

    // The clean close checkpointed: one segment file, an empty WAL.
    assert_eq!(segment_files(dir).len(), 1);
    assert_eq!(wal_len(dir), WAL_HEADER_BYTES);
    let store = open(dir);
    let table = store.snapshot().table("public", "t").unwrap().clone();
    assert!(!table.segments[0].is_resident());
    assert_eq!(int_values(&store, &store.snapshot(), "t"), expected);
}

#[test]
fn deletes_and_truncates_of_resident_rows_are_logged_and_replayed() {
    // Input: `t` holding 0..10 as ten single-row commits; rows 2 and 5 deleted in one
    // transaction, 11..13 inserted in another that also deletes its own row 11; then `u`
    // gets 0..3 and is truncated and refilled with 9; crash and reopen.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = open(dir);
    create(&store, "t");
    create(&store, "u");
    for v in 0..10 {
        insert(&store, "t", v..v + 1);
    }
    let before = store.snapshot();
    let segment = before.table("public", "t").unwrap().segments[0].id;
    let mut txn = store.begin();
    txn.delete_rows("public", "t", &BTreeMap::from([(segment, vec![2, 5])]))
        .unwrap();
    txn.commit().unwrap();

    let mut txn = store.begin();
    txn.append("public", "t", &[int_batch(11..13)]).unwrap();
    let own = txn.snapshot().table("public", "t").unwrap().segments[1].id;
    txn.delete_rows("public", "t", &BTreeMap::from([(own, vec![0])]))
        .unwrap();
    txn.commit().unwrap();

    insert(&store, "u", 0..3);
    let mut txn = store.begin();
    txn.truncate("public", "u").unwrap();
    txn.append("public", "u", &[int_batch(9..10)]).unwrap();
    txn.commit().unwrap();

    let expected = [0, 1, 3, 4, 6, 7, 8, 9, 12];
    assert_eq!(int_values(&store, &store.snapshot(), "t"), expected);
    assert_eq!(int_values(&store, &store.snapshot(), "u"), [9]);
    // The snapshot taken before still sees its version.
    assert_eq!(
        int_values(&store, &before, "t"),
        (0..10).collect::<Vec<_>>()
    );
    assert!(segment_files(dir).is_empty());
    crash(store);

    let store = open(dir);
    assert_eq!(int_values(&store, &store.snapshot(), "t"), expected);
    assert_eq!(int_values(&store, &store.snapshot(), "u"), [9]);
    let t = store.snapshot().table("public", "t").unwrap().clone();
    assert_eq!(t.segments.len(), 1);
    assert_eq!(t.segments[0].deleted.runs(), &[(2, 1), (5, 1), (10, 1)]);
}

#[test]
fn a_torn_tail_record_is_ignored_and_cut_off() {
    // Input: `t` with three single-row commits (0, 1, 2); the WAL file then loses the last
    // 3 bytes (a torn write); reopen, one more commit, crash, reopen.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = open(dir);
    create(&store, "t");
    for v in 0..3 {
        insert(&store, "t", v..v + 1);
    }
    crash(store);
    let path = dir.join(WAL_DIR).join(WAL_FILE);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();

    let store = open(dir);
    assert_eq!(int_values(&store, &store.snapshot(), "t"), [0, 1]);
    insert(&store, "t", 7..8);
    crash(store);
    let store = open(dir);
    assert_eq!(int_values(&store, &store.snapshot(), "t"), [0, 1, 7]);

    // A flipped byte in the last record's body is a torn record too.
    crash(store);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let store = open(dir);
    assert_eq!(int_values(&store, &store.snapshot(), "t"), [0, 1]);
}

#[test]
fn checkpoints_flush_resident_rows_in_bulk_and_keep_row_ids() {
    // Input: checkpoints every 100 rows; `t` gets 250 single-row commits. A transaction that
    // began after row 50 deletes row 3 of the resident segment after a checkpoint wrote it to
    // a file; then DDL in a transaction with small appends.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = open_with(dir, 100);
    create(&store, "t");
    let mut deleter = None;
    for v in 0..250 {
        insert(&store, "t", v..v + 1);
        if v == 50 {
            let txn = store.begin();
            let segment = txn.snapshot().table("public", "t").unwrap().segments[0].clone();
            assert!(segment.is_resident());
            deleter = Some((txn, segment.id));
        }
    }
    // Checkpoints after rows 100 and 200: two files, 50 rows resident.
    assert_eq!(segment_files(dir).len(), 2);
    let (mut txn, segment) = deleter.unwrap();
    txn.delete_rows("public", "t", &BTreeMap::from([(segment, vec![3])]))
        .unwrap();
    // The table was appended to after the deleter's base: a conflict, as for files.
    assert!(matches!(txn.commit(), Err(Error::SerializationConflict(_))));
    let mut txn = store.begin();
    txn.delete_rows("public", "t", &BTreeMap::from([(segment, vec![3])]))
        .unwrap();
    txn.commit().unwrap();

    // Transactions that began while the last 50 rows were resident delete from them after a
    // checkpoint wrote them to a file under the same id: no conflict, same rows.
    let tail = store.snapshot().table("public", "t").unwrap().segments[2].clone();
    assert!(tail.is_resident());
    let mut a = store.begin();
    let mut b = store.begin();
    store.checkpoint().unwrap();
    assert_eq!(segment_files(dir).len(), 3);
    a.delete_rows("public", "t", &BTreeMap::from([(tail.id, vec![0])]))
        .unwrap();
    a.commit().unwrap();
    let mut c = store.begin();
    b.create_table(int_def("v")).unwrap();
    b.commit().unwrap();
    c.delete_rows("public", "t", &BTreeMap::from([(tail.id, vec![1])]))
        .unwrap();
    c.create_table(int_def("w")).unwrap();
    c.commit().unwrap();

    let mut txn = store.begin();
    txn.append("public", "t", &[int_batch(1000..1001)]).unwrap();
    txn.create_table(int_def("u")).unwrap();
    txn.append("public", "u", &[int_batch(5..6)]).unwrap();
    txn.append("public", "u", &[int_batch(6..7)]).unwrap();
    txn.commit().unwrap();
    // The DDL commit was a checkpoint: `t`'s new row and `u`'s rows (one file) are files.
    assert_eq!(segment_files(dir).len(), 5);
    let mut expected: Vec<i64> = (0..250)
        .filter(|v| *v != 3 && *v != 200 && *v != 201)
        .collect();
    expected.push(1000);
    assert_eq!(int_values(&store, &store.snapshot(), "t"), expected);
    assert_eq!(int_values(&store, &store.snapshot(), "u"), [5, 6]);
    crash(store);
    let store = open(dir);
    assert_eq!(int_values(&store, &store.snapshot(), "t"), expected);
    assert_eq!(int_values(&store, &store.snapshot(), "u"), [5, 6]);
}

#[test]
fn a_hundred_thousand_single_row_commits_leave_few_files() {
    // Input: 100,000 single-row commits to `t` from 64 threads at once (their fsyncs are
    // shared), then a clean close and a reopen.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = open(dir);
    create(&store, "t");
    let threads = 64;
    let per_thread = 100_000 / threads;
    std::thread::scope(|s| {
        for t in 0..threads {
            let store = store.clone();
            s.spawn(move || {
                for i in 0..per_thread {
                    let v = (t * per_thread + i) as i64;
                    insert(&store, "t", v..v + 1);
                }
            });
        }
    });
    let rows = threads * per_thread;
    assert_eq!(store.snapshot().version, 1 + rows as u64);
    drop(store);
    let files = segment_files(dir).len();
    assert!(files < 100, "{files} segment files");
    let store = open(dir);
    let mut values = int_values(&store, &store.snapshot(), "t");
    values.sort_unstable();
    assert_eq!(values, (0..rows as i64).collect::<Vec<_>>());
}

mod faults {
    use super::*;
    use crate::fault::{self, Kind, Site};

    #[test]
    fn a_full_disk_on_the_wal_fails_that_commit_only() {
        // Input: `t` with rows 0 and 1 committed; the next WAL write fails as a full disk;
        // then row 2 commits; crash and reopen.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let store = open(dir);
        create(&store, "t");
        insert(&store, "t", 0..2);
        let len = wal_len(dir);
        fault::inject(dir, Site::WalWrite, Kind::DiskFull, 1);
        let mut txn = store.begin();
        txn.append("public", "t", &[int_batch(100..101)]).unwrap();
        match txn.commit() {
            Err(Error::DiskFull { path, .. }) => assert!(path.ends_with(WAL_FILE), "{path}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(wal_len(dir), len);
        assert_eq!(int_values(&store, &store.snapshot(), "t"), [0, 1]);
        insert(&store, "t", 2..3);
        assert_eq!(int_values(&store, &store.snapshot(), "t"), [0, 1, 2]);
        crash(store);
        let store = open(dir);
        assert_eq!(int_values(&store, &store.snapshot(), "t"), [0, 1, 2]);
    }

    #[test]
    fn a_failed_wal_fsync_loses_its_commits_and_the_store_goes_on() {
        // Input: `t` with row 0; the next WAL fsync fails (EIO) under a commit of row 1 that
        // also deletes row 0; then rows 2 and 3 commit; crash and reopen.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let store = open(dir);
        create(&store, "t");
        insert(&store, "t", 0..1);
        let segment = store.snapshot().table("public", "t").unwrap().segments[0].id;
        fault::inject(dir, Site::WalSync, Kind::Io, 1);
        let mut txn = store.begin();
        txn.append("public", "t", &[int_batch(1..2)]).unwrap();
        txn.delete_rows("public", "t", &BTreeMap::from([(segment, vec![0])]))
            .unwrap();
        match txn.commit() {
            Err(Error::Io { source, .. }) => {
                assert!(
                    source.to_string().contains("could not be made durable"),
                    "{source}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(int_values(&store, &store.snapshot(), "t"), [0]);
        insert(&store, "t", 2..3);
        insert(&store, "t", 3..4);
        assert_eq!(int_values(&store, &store.snapshot(), "t"), [0, 2, 3]);
        crash(store);
        let store = open(dir);
        assert_eq!(int_values(&store, &store.snapshot(), "t"), [0, 2, 3]);
    }

    #[test]
    fn failed_segment_and_manifest_writes_abort_and_leave_no_files() {
        // Input: `t` with two WAL rows; a bulk append whose segment write fails (full disk);
        // a CREATE TABLE whose manifest write fails (EIO); a checkpoint whose segment write
        // fails; then each retried.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let store = open(dir);
        create(&store, "t");
        insert(&store, "t", 0..2);

        fault::inject(dir, Site::SegmentWrite, Kind::DiskFull, 1);
        let mut txn = store.begin();
        let big = int_batch(10_000..20_000);
        assert!(matches!(
            txn.append("public", "t", std::slice::from_ref(&big)),
            Err(Error::DiskFull { .. })
        ));
        // The transaction is still usable and the retry commits.
        txn.append("public", "t", &[big]).unwrap();
        txn.commit().unwrap();
        assert_eq!(int_values(&store, &store.snapshot(), "t").len(), 10_002);
        assert_eq!(segment_files(dir).len(), 2);

        fault::inject(dir, Site::ManifestWrite, Kind::Io, 1);
        insert(&store, "t", 2..3);
        let mut txn = store.begin();
        txn.create_table(int_def("u")).unwrap();
        assert!(matches!(txn.commit(), Err(Error::Io { .. })));
        assert!(store.snapshot().table("public", "u").is_none());
        // The checkpoint that commit attempted wrote `t`'s resident row; it was removed.
        assert_eq!(segment_files(dir).len(), 2);
        create(&store, "u");
        assert_eq!(segment_files(dir).len(), 3);

        fault::inject(dir, Site::SegmentWrite, Kind::DiskFull, 1);
        insert(&store, "t", 3..4);
        assert!(matches!(store.checkpoint(), Err(Error::DiskFull { .. })));
        assert_eq!(segment_files(dir).len(), 3);
        store.checkpoint().unwrap();
        assert_eq!(segment_files(dir).len(), 4);
        let values = int_values(&store, &store.snapshot(), "t");
        assert_eq!(values.len(), 10_004);
        drop(store);
        let store = open(dir);
        assert_eq!(int_values(&store, &store.snapshot(), "t"), values);
        assert!(store.verify().unwrap().is_empty());
    }
}
