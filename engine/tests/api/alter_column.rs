//! ALTER TABLE ADD / DROP COLUMN across a restart: rows inserted before and after each change
//! (segment files and rows still in the write-ahead log) read as the newest definition in a
//! directory copied as a crash would leave it and after a clean restart.

use arrow_array::cast::AsArray;
use basalt_engine::{Engine, Session, StatementResult};

use crate::common::copy_dir;

/// The rows of `sql`, whose one column is text.
fn lines(session: &mut Session, sql: &str) -> Vec<String> {
    let results = session.run(sql).expect("the query runs");
    let Some(StatementResult::Query(q)) = results.last() else {
        panic!("{sql}: not a query");
    };
    let mut out = Vec::new();
    for batch in &q.batches {
        let column = batch.column(0).as_string::<i32>();
        out.extend(column.iter().map(|v| v.unwrap_or("NULL").to_owned()));
    }
    out
}

const ROWS: &str = "SELECT a::text || ',' || coalesce(c::text, 'null') || ',' || coalesce(d, 'null') FROM t ORDER BY a";

#[test]
fn added_and_dropped_columns_survive_a_crash_and_a_restart() {
    // Input: t (a, b) with a bulk INSERT ... SELECT and single-row INSERTs (held by the log),
    // ADD c DEFAULT 7, more single-row INSERTs, DROP b, ADD d, a last single-row INSERT;
    // the directory copied then (its last rows only in the log), opened, and the original
    // closed and reopened.
    let dir = tempfile::tempdir().unwrap();
    let expected = vec![
        "1,7,null",
        "2,7,null",
        "3,7,null",
        "10,7,null",
        "11,-3,null",
        "12,7,null",
        "13,8,x",
    ];
    {
        let engine = Engine::open(dir.path()).unwrap();
        let mut s = engine.session("basalt");
        s.run("CREATE TABLE t (a INT, b VARCHAR(10))").unwrap();
        s.run("INSERT INTO t SELECT 1, 'one' UNION ALL SELECT 2, 'two' UNION ALL SELECT 3, NULL")
            .unwrap();
        s.run("INSERT INTO t VALUES (10, 'ten')").unwrap();
        s.run("ALTER TABLE t ADD COLUMN c INT DEFAULT 7").unwrap();
        s.run("INSERT INTO t VALUES (11, 'eleven', -3)").unwrap();
        s.run("INSERT INTO t (a, b) VALUES (12, 'twelve')").unwrap();
        s.run("ALTER TABLE t DROP COLUMN b").unwrap();
        s.run("ALTER TABLE t ADD COLUMN d TEXT").unwrap();
        s.run("INSERT INTO t VALUES (13, 8, 'x')").unwrap();
        assert_eq!(lines(&mut s, ROWS), expected);
        let copy = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), copy.path());
        let engine = Engine::open(copy.path()).unwrap();
        let mut s = engine.session("basalt");
        assert_eq!(lines(&mut s, ROWS), expected);
        assert_eq!(
            lines(
                &mut s,
                "SELECT column_name || ':' || coalesce(column_default, 'none') FROM information_schema.columns WHERE table_name = 't' ORDER BY ordinal_position"
            ),
            vec!["a:none", "c:7", "d:none"]
        );
    }
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    assert_eq!(lines(&mut s, ROWS), expected);
    s.run("VACUUM t").unwrap();
    assert_eq!(lines(&mut s, ROWS), expected);
}
