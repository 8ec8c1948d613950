//! CHECKPOINT across a restart: the rows the write-ahead log held are in segment files and the
//! log is empty when the statement returns, and a reopened engine reads them back.

use basalt_engine::{Engine, StatementResult};

fn count(session: &mut basalt_engine::Session, sql: &str) -> i64 {
    let results = session.run(sql).expect("the query runs");
    let Some(StatementResult::Query(q)) = results.last() else {
        panic!("{sql}: not a query");
    };
    use arrow_array::cast::AsArray;
    q.batches[0]
        .column(0)
        .as_primitive::<arrow_array::types::Int64Type>()
        .value(0)
}

fn segment_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    let Ok(tables) = std::fs::read_dir(dir.join("tables")) else {
        return 0;
    };
    for table in tables {
        n += std::fs::read_dir(table.expect("a table directory").path())
            .expect("a table directory")
            .count();
    }
    n
}

/// Copies the files of `from` into `to` (the lock file excepted): the data directory as a
/// crash at this moment would leave it, since the copy sees what was written.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("the copy's directory");
    for entry in std::fs::read_dir(from).expect("the directory copied") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != basalt_storage::LOCK_FILE {
            std::fs::copy(entry.path(), target).expect("a file copied");
        }
    }
}

#[test]
fn checkpoint_writes_the_log_to_segments_before_a_restart() {
    // Input: three single-row INSERTs (held by the log, no segment file), then CHECKPOINT:
    // a segment file exists and the log is cut back to its 16-byte header when it returns.
    // The directory is copied at that moment (as a crash would leave it, without the
    // shutdown checkpoint) and an engine opened on the copy reads the three rows; then a
    // fourth row is inserted there and survives a clean restart too.
    let dir = tempfile::tempdir().unwrap();
    let wal = dir.path().join("wal").join("basalt.wal");
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    s.run("CREATE TABLE w (x bigint)").unwrap();
    for v in 1..=3 {
        s.run(&format!("INSERT INTO w VALUES ({v})")).unwrap();
    }
    assert_eq!(segment_files(dir.path()), 0);
    assert!(std::fs::metadata(&wal).unwrap().len() > 16);
    s.run("CHECKPOINT").unwrap();
    assert_eq!(segment_files(dir.path()), 1);
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), 16);
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    {
        let engine = Engine::open(copy.path()).unwrap();
        let mut s = engine.session("basalt");
        assert_eq!(
            count(&mut s, "SELECT count(*) FROM w WHERE x BETWEEN 1 AND 3"),
            3
        );
        s.run("INSERT INTO w VALUES (4)").unwrap();
    }
    let engine = Engine::open(copy.path()).unwrap();
    let mut s = engine.session("basalt");
    assert_eq!(
        count(&mut s, "SELECT count(*) FROM w WHERE x BETWEEN 1 AND 4"),
        4
    );
}
