//! A scrollable cursor keeps the rows it has read in memory up to `work_mem` and writes the
//! older ones to a spill file in the data directory's `tmp/`, which it reads back when a FETCH
//! goes back to them; the file goes with the cursor (CLOSE, the end of its transaction, the
//! end of its session).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Int64Array, RecordBatch};
use basalt_engine::{Engine, Session, StatementResult};

/// Rows of the test table: more than two segments, so its scan yields several batches.
const ROWS: i64 = 600_000;

/// The spill files under `dir/tmp`.
fn spill_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir.join(basalt_storage::spill::SPILL_DIR)) else {
        return Vec::new();
    };
    entries
        .map(|e| e.expect("a directory entry").path())
        .collect()
}

/// The BIGINT values a FETCH returns, in order.
fn fetched(session: &mut Session, sql: &str) -> Vec<i64> {
    let results = session.run(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let Some(StatementResult::Query(q)) = results.last() else {
        panic!("{sql}: not a query");
    };
    q.batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect()
}

/// The command tag of `sql`'s last statement.
fn tag(session: &mut Session, sql: &str) -> String {
    match session
        .run(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .pop()
    {
        Some(StatementResult::Command { tag }) => tag,
        other => panic!("{sql}: not a command: {other:?}"),
    }
}

/// A session with `work_mem` at its 64kB minimum over table `t (x BIGINT)` holding
/// 1..=ROWS in order.
fn small_work_mem_session(engine: &Arc<Engine>) -> Session {
    let mut s = engine.session("basalt");
    s.run("CREATE TABLE t (x BIGINT)").expect("the table");
    let batch =
        RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from_iter_values(1..=ROWS)) as _)])
            .expect("the rows");
    s.append_batches("t", &[batch]).expect("the rows appended");
    s.run("SET work_mem = '64kB'")
        .expect("work_mem at its minimum");
    s
}

// Input: a SCROLL cursor over 600,000 rows (4.8 MB of BIGINTs) under a 64kB work_mem, read
// forward, then back and forth with FETCH ABSOLUTE, PRIOR, BACKWARD and MOVE BACKWARD ALL.
// Every FETCH returns PostgreSQL's rows; the older rows were spilled to one file, which is
// gone after CLOSE.
#[test]
fn a_scroll_cursor_past_work_mem_reads_its_spilled_rows_back_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = small_work_mem_session(&engine);
    s.run("BEGIN").unwrap();
    s.run("DECLARE c SCROLL CURSOR FOR SELECT x FROM t")
        .unwrap();
    assert!(spill_files(dir.path()).is_empty());

    let first = fetched(&mut s, "FETCH FORWARD 500000 FROM c");
    assert_eq!(first, (1..=500_000).collect::<Vec<i64>>());
    let files = spill_files(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    // Most of what was read is in the file, not in memory.
    let spilled = std::fs::metadata(&files[0]).unwrap().len();
    assert!(spilled > 2_000_000, "{spilled} bytes spilled");

    assert_eq!(fetched(&mut s, "FETCH ABSOLUTE 3 FROM c"), [3]);
    assert_eq!(fetched(&mut s, "FETCH PRIOR FROM c"), [2]);
    assert_eq!(fetched(&mut s, "FETCH ABSOLUTE 300000 FROM c"), [300_000]);
    assert_eq!(
        fetched(&mut s, "FETCH BACKWARD 3 FROM c"),
        [299_999, 299_998, 299_997]
    );
    assert_eq!(
        fetched(&mut s, "FETCH ALL FROM c"),
        (299_998..=ROWS).collect::<Vec<i64>>()
    );
    assert_eq!(fetched(&mut s, "FETCH PRIOR FROM c"), [ROWS]);
    assert_eq!(tag(&mut s, "MOVE BACKWARD ALL IN c"), "MOVE 599999");
    assert_eq!(fetched(&mut s, "FETCH NEXT FROM c"), [1]);
    assert_eq!(fetched(&mut s, "FETCH ABSOLUTE -1 FROM c"), [ROWS]);
    assert_eq!(
        fetched(&mut s, "FETCH BACKWARD ALL FROM c"),
        (1..ROWS).rev().collect::<Vec<i64>>()
    );
    assert_eq!(fetched(&mut s, "FETCH RELATIVE 250000 FROM c"), [250_000]);

    assert_eq!(spill_files(dir.path()), files);
    s.run("CLOSE c").unwrap();
    assert!(spill_files(dir.path()).is_empty());
    s.run("COMMIT").unwrap();
}

// Input: three cursors over the same rows under a 64kB work_mem: one whose block rolls back,
// one WITH HOLD materialized at COMMIT and read after it, and the session ended with the held
// cursor open. Each spill file goes when its cursor does.
#[test]
fn spill_files_go_with_their_transaction_and_session() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = small_work_mem_session(&engine);

    s.run("BEGIN").unwrap();
    s.run("DECLARE c SCROLL CURSOR FOR SELECT x FROM t")
        .unwrap();
    assert_eq!(fetched(&mut s, "FETCH ALL FROM c").len(), ROWS as usize);
    assert_eq!(spill_files(dir.path()).len(), 1);
    s.run("ROLLBACK").unwrap();
    assert!(spill_files(dir.path()).is_empty());

    s.run("BEGIN").unwrap();
    s.run("DECLARE h CURSOR WITH HOLD FOR SELECT x FROM t")
        .unwrap();
    assert_eq!(fetched(&mut s, "FETCH 2 FROM h"), [1, 2]);
    s.run("COMMIT").unwrap();
    // COMMIT read the rest of the rows, most of them into the spill file.
    assert_eq!(spill_files(dir.path()).len(), 1);
    assert_eq!(fetched(&mut s, "FETCH LAST FROM h"), [ROWS]);
    assert_eq!(fetched(&mut s, "FETCH ABSOLUTE 3 FROM h"), [3]);
    assert_eq!(fetched(&mut s, "FETCH PRIOR FROM h"), [2]);
    drop(s);
    assert!(spill_files(dir.path()).is_empty());
}
