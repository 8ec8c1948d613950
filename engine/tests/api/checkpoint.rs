//! CHECKPOINT across a restart: the rows the write-ahead log held are in segment files and the
//! log is empty when the statement returns, and a reopened engine reads them back.

use basalt_engine::Engine;

use crate::common::{bigint, copy_dir, data_files};

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
    assert_eq!(data_files(dir.path()), 0);
    assert!(std::fs::metadata(&wal).unwrap().len() > 16);
    s.run("CHECKPOINT").unwrap();
    assert_eq!(data_files(dir.path()), 1);
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), 16);
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    {
        let engine = Engine::open(copy.path()).unwrap();
        let mut s = engine.session("basalt");
        assert_eq!(
            bigint(&mut s, "SELECT count(*) FROM w WHERE x BETWEEN 1 AND 3"),
            3
        );
        s.run("INSERT INTO w VALUES (4)").unwrap();
    }
    let engine = Engine::open(copy.path()).unwrap();
    let mut s = engine.session("basalt");
    assert_eq!(
        bigint(&mut s, "SELECT count(*) FROM w WHERE x BETWEEN 1 AND 4"),
        4
    );
}
