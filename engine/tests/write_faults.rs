//! Failed writes through SQL: a full disk or an I/O error while a commit, or a bulk INSERT,
//! writes aborts that statement's transaction with the storage error (SQLSTATE 53100 or 58030
//! over the wire), leaves no partial file, and the database goes on: later statements commit and
//! see exactly the committed rows.

// Helpers below are test code too: a failed unwrap is a failed test.
#![cfg(test)]

use basalt_engine::{Engine, Error, StatementResult};
use basalt_storage::fault::{self, Kind, Site};

fn count(session: &mut basalt_engine::Session) -> String {
    let results = session.run("SELECT count(*) FROM t").unwrap();
    let Some(StatementResult::Query(q)) = results.last() else {
        panic!("no query result");
    };
    arrow_cast::display::array_value_to_string(q.batches[0].column(0), 0).unwrap()
}

#[test]
fn a_full_disk_aborts_the_insert_and_the_database_goes_on() {
    // Input: table t with one row; an INSERT whose WAL write finds the disk full; an INSERT
    // whose WAL fsync fails; a block whose COMMIT (with CREATE TABLE, so a manifest) fails;
    // then more INSERTs, and the directory reopened.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut session = engine.session("test");
    session
        .run("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)")
        .unwrap();

    fault::inject(dir.path(), Site::WalWrite, Kind::DiskFull, 1);
    let err = session.run("INSERT INTO t VALUES (2)").unwrap_err();
    assert!(
        matches!(err, Error::Storage(basalt_storage::Error::DiskFull { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("no space left on device"), "{err}");

    fault::inject(dir.path(), Site::WalSync, Kind::Io, 1);
    let err = session.run("INSERT INTO t VALUES (3)").unwrap_err();
    assert!(
        matches!(err, Error::Storage(basalt_storage::Error::Io { .. })),
        "{err:?}"
    );
    assert_eq!(count(&mut session), "1");

    session
        .run("BEGIN; INSERT INTO t VALUES (4); CREATE TABLE u (y INTEGER)")
        .unwrap();
    fault::inject(dir.path(), Site::ManifestWrite, Kind::DiskFull, 1);
    let err = session.run("COMMIT").unwrap_err();
    assert!(
        matches!(err, Error::Storage(basalt_storage::Error::DiskFull { .. })),
        "{err:?}"
    );
    assert!(session.run("SELECT * FROM u").is_err());

    session.run("INSERT INTO t VALUES (5), (6)").unwrap();
    assert_eq!(count(&mut session), "3");
    drop(session);
    drop(engine);
    let engine = Engine::open(dir.path()).unwrap();
    let mut session = engine.session("test");
    assert_eq!(count(&mut session), "3");
}

/// Files under `dir/tables`: the table data.
fn data_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("tables"))
        .unwrap()
        .map(|t| std::fs::read_dir(t.unwrap().path()).unwrap().count())
        .sum()
}

#[test]
fn a_full_disk_while_a_bulk_insert_writes_its_segment_leaves_no_file() {
    // Input: table t with one row; a 300,000-row INSERT ... SELECT, written to a segment file
    // of its own, whose write finds the disk full once its blocks are out; the same INSERT
    // again; then the directory reopened.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut session = engine.session("test");
    session
        .run("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1); CHECKPOINT")
        .unwrap();
    let files = data_files(dir.path());

    let bulk = "INSERT INTO t SELECT i FROM generate_series(1, 300000) i";
    fault::inject(dir.path(), Site::SegmentWrite, Kind::DiskFull, 1);
    let err = session.run(bulk).unwrap_err();
    assert!(
        matches!(err, Error::Storage(basalt_storage::Error::DiskFull { .. })),
        "{err:?}"
    );
    assert_eq!(count(&mut session), "1");
    // The partial segment file is gone.
    assert_eq!(data_files(dir.path()), files);

    session.run(bulk).unwrap();
    assert_eq!(count(&mut session), "300001");
    drop(session);
    drop(engine);
    let engine = Engine::open(dir.path()).unwrap();
    let mut session = engine.session("test");
    assert_eq!(count(&mut session), "300001");
}
