//! ANALYZE's statistics files across restarts: kept, ignored when corrupt, deleted with their
//! table; and the positions of APPROXIMATE COUNT's errors.

use basalt_engine::{Engine, StatementResult};

fn scalar(session: &mut basalt_engine::Session, sql: &str) -> String {
    let results = session.run(sql).expect("the query runs");
    let Some(StatementResult::Query(q)) = results.last() else {
        panic!("{sql}: not a query");
    };
    let column = q.batches[0].column(0).clone();
    let text = arrow_cast::display::ArrayFormatter::try_new(column.as_ref(), &Default::default())
        .expect("a formatter")
        .value(0)
        .to_string();
    text
}

fn stats_file(dir: &std::path::Path) -> std::path::PathBuf {
    let files: Vec<_> = std::fs::read_dir(dir.join("stats"))
        .expect("the statistics directory")
        .map(|e| e.expect("an entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

#[test]
fn statistics_survive_a_restart_and_a_corrupt_file_is_ignored() {
    // Input: a table of three rows analyzed; the engine reopened (statistics kept); then one
    // byte of the statistics file flipped and the engine reopened again: startup and queries
    // work, the table counts as never analyzed, and ANALYZE writes a good file again.
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = Engine::open(dir.path()).unwrap();
        let mut s = engine.session("basalt");
        s.run("CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2), (2); ANALYZE t")
            .unwrap();
        assert_eq!(
            scalar(&mut s, "SELECT reltuples FROM pg_class WHERE relname = 't'"),
            "3.0"
        );
    }
    {
        let engine = Engine::open(dir.path()).unwrap();
        let mut s = engine.session("basalt");
        assert_eq!(
            scalar(
                &mut s,
                "SELECT n_distinct FROM pg_stats WHERE tablename = 't'"
            ),
            "-0.6666667"
        );
    }
    let file = stats_file(dir.path());
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[30] ^= 0x10;
    std::fs::write(&file, &bytes).unwrap();
    {
        let engine = Engine::open(dir.path()).unwrap();
        let mut s = engine.session("basalt");
        assert_eq!(scalar(&mut s, "SELECT count(*) FROM t WHERE a = 2"), "2");
        assert_eq!(
            scalar(&mut s, "SELECT reltuples FROM pg_class WHERE relname = 't'"),
            "-1.0"
        );
        assert_eq!(
            scalar(
                &mut s,
                "SELECT stats_off FROM svv_table_info WHERE \"table\" = 't'"
            ),
            "100.00"
        );
        s.run("ANALYZE t").unwrap();
        assert_eq!(
            scalar(&mut s, "SELECT reltuples FROM pg_class WHERE relname = 't'"),
            "3.0"
        );
    }
    // A garbage file in place of the statistics is ignored too.
    std::fs::write(&file, b"not statistics").unwrap();
    {
        let engine = Engine::open(dir.path()).unwrap();
        let mut s = engine.session("basalt");
        assert_eq!(
            scalar(&mut s, "SELECT reltuples FROM pg_class WHERE relname = 't'"),
            "-1.0"
        );
        // Dropping the table deletes its statistics file.
        s.run("ANALYZE t; DROP TABLE t").unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path().join("stats")).unwrap().count(),
            0
        );
    }
}

#[test]
fn approximate_errors_point_at_the_word() {
    // Input: APPROXIMATE before COUNT without DISTINCT, on the second line of the text.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    s.run("CREATE TABLE t (x int)").unwrap();
    let e = s
        .run("SELECT 1,\n  approximate count(x) FROM t")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "APPROXIMATE applies only to COUNT(DISTINCT expression)"
    );
    assert_eq!(e.position(), Some(13));
    // A later error in the statement keeps its position: the blanked word shifts nothing.
    let e = s
        .run("SELECT APPROXIMATE COUNT(DISTINCT x), nope FROM t")
        .unwrap_err();
    assert_eq!(e.to_string(), "column \"nope\" does not exist");
    assert_eq!(e.position(), Some(39));
}

#[test]
fn statistics_of_a_block_are_durable_after_commit_and_gone_after_rollback() {
    // Input: two tables of three rows; `a` analyzed in a block that commits, `b` in a block
    // that rolls back (and in a session dropped with its block open); nothing is written
    // before the commit; after a restart `a` has its statistics and `b` has none.
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = Engine::open(dir.path()).unwrap();
        let mut s = engine.session("basalt");
        s.run("CREATE TABLE a (x int); INSERT INTO a VALUES (1), (2), (2)")
            .unwrap();
        s.run("CREATE TABLE b (x int); INSERT INTO b VALUES (1), (2), (3)")
            .unwrap();
        s.run("BEGIN; ANALYZE a").unwrap();
        let files = || std::fs::read_dir(dir.path().join("stats")).unwrap().count();
        assert_eq!(files(), 0, "nothing is written before the commit");
        s.run("COMMIT").unwrap();
        assert_eq!(files(), 1);
        s.run("BEGIN; ANALYZE b").unwrap();
        assert_eq!(
            scalar(&mut s, "SELECT reltuples FROM pg_class WHERE relname = 'b'"),
            "3.0"
        );
        s.run("ROLLBACK").unwrap();
        let mut open_block = engine.session("basalt");
        open_block.run("BEGIN; ANALYZE b").unwrap();
        drop(open_block);
        assert_eq!(files(), 1);
    }
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    assert_eq!(
        scalar(
            &mut s,
            "SELECT n_distinct FROM pg_stats WHERE tablename = 'a'"
        ),
        "-0.6666667"
    );
    assert_eq!(
        scalar(&mut s, "SELECT reltuples FROM pg_class WHERE relname = 'b'"),
        "-1.0"
    );
}

#[test]
fn copy_gathers_the_statistics_analyze_reads_back() {
    // Input: 600,000 rows of five types (NULLs, repeats, long and short strings) copied into
    // an empty table, so STATUPDATE analyzes it from the statistics gathered as the segments
    // were written; then ANALYZE, which reads every segment back, must store the same. Then a
    // second file copied with STATUPDATE ON after a DELETE: the old segments are read back,
    // the new ones gathered, and ANALYZE again agrees.
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, rows: std::ops::Range<u32>| {
        let path = dir.path().join(name);
        let mut text = String::new();
        for i in rows {
            let a = if i % 97 == 0 {
                String::new()
            } else {
                (i % 5_000).to_string()
            };
            let b = if i % 3 == 0 {
                format!("w{}", i % 700)
            } else {
                "long value ".repeat(1 + (i % 4) as usize)
            };
            let c = format!("{}.{:02}", i % 10_007, i % 100);
            let d = format!("1995-{:02}-{:02}", 1 + i % 12, 1 + i % 28);
            text.push_str(&format!(
                "{a}|{b}|{c}|{d}|{}\n",
                ["x", "yy", "zzz"][(i % 3) as usize]
            ));
        }
        std::fs::write(&path, text).unwrap();
        path
    };
    let first = file("first.txt", 0..600_000);
    let second = file("second.txt", 600_000..900_000);
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    s.run("CREATE TABLE t (a int, b varchar(60), c decimal(12,2), d date, e char(3))")
        .unwrap();
    let stats = "SELECT * FROM pg_stats WHERE tablename = 't' ORDER BY attname";
    s.run(&format!("COPY t FROM '{}'", first.display()))
        .unwrap();
    let gathered = crate::common::rows(&mut s, stats);
    assert_eq!(gathered.len(), 5, "{gathered:?}");
    s.run("ANALYZE t").unwrap();
    assert_eq!(crate::common::rows(&mut s, stats), gathered);

    s.run("DELETE FROM t WHERE a < 100").unwrap();
    s.run(&format!("COPY t FROM '{}' STATUPDATE ON", second.display()))
        .unwrap();
    let mixed = crate::common::rows(&mut s, stats);
    assert_ne!(mixed, gathered);
    s.run("ANALYZE t").unwrap();
    assert_eq!(crate::common::rows(&mut s, stats), mixed);
}
