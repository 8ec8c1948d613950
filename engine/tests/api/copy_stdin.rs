//! COPY FROM STDIN as its data arrives: parsed as its lines end (a bad row fails the push
//! that ends its line), appended a run at a time, visible only at its commit, and undone
//! whole by a late error or the client's CopyFail.

use basalt_engine::{Engine, Session, StatementResult};

use crate::common::{bigint, data_files};

/// Bytes per worker the tests' windows hold, so a few megabytes make many windows.
const CHUNK_BYTES: usize = 16 << 10;

/// Bytes per push, as a client's CopyData messages.
const PUSH_BYTES: usize = 8 << 10;

/// Starts `COPY table FROM STDIN` with small windows and pushes `data` in pieces, flushing
/// each full window as the protocol layer does.
fn copy_in(s: &mut Session, table: &str, data: &[u8]) -> basalt_engine::copy::postgres::CopyIn {
    let stmt = s
        .parse(&format!("COPY {table} FROM STDIN"))
        .expect("the COPY parses")
        .remove(0);
    let mut copy = s
        .copy_in_start(&stmt)
        .expect("a COPY FROM STDIN")
        .expect("the COPY starts")
        .with_chunk_bytes(CHUNK_BYTES);
    for piece in data.chunks(PUSH_BYTES) {
        if copy.push(piece) {
            s.copy_in_flush(&mut copy);
        }
    }
    copy
}

fn tag(result: StatementResult) -> String {
    match result {
        StatementResult::Command { tag } => tag,
        StatementResult::Query(_) => panic!("COPY returned rows"),
    }
}

fn lines(rows: std::ops::Range<u64>) -> Vec<u8> {
    rows.flat_map(|i| format!("{i}\tv{}\n", i % 977).into_bytes())
        .collect()
}

#[test]
fn stdin_loads_window_by_window_and_commits_once() {
    // Input: 600,000 rows of (int, text) sent in 8 KB pieces into windows of 16 KB per
    // worker: the load parses many windows, never holds more than a window of input or more
    // than a segment plus a window of rows, shows nothing to another session before it
    // ends, and loads the same rows as a COPY from a file of the same data.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    let mut other = engine.session("basalt");
    s.run("CREATE TABLE t (a int, b varchar(8)); CREATE TABLE f (a int, b varchar(8))")
        .unwrap();
    let data = lines(0..600_000);
    let copy = copy_in(&mut s, "t", &data);
    assert!(copy.windows_parsed() > 20, "{}", copy.windows_parsed());
    assert!(
        copy.peak_input_bytes() <= copy.window_bytes() + PUSH_BYTES,
        "{} > {} + {PUSH_BYTES}",
        copy.peak_input_bytes(),
        copy.window_bytes()
    );
    let segment = 262_144;
    assert!(copy.peak_held_rows() > 0);
    assert!(
        copy.peak_held_rows() <= segment + copy.window_bytes(),
        "{}",
        copy.peak_held_rows()
    );
    assert_eq!(bigint(&mut other, "SELECT count(*) FROM t"), 0);
    assert_eq!(tag(s.copy_in_finish(copy).unwrap()), "COPY 600000");
    assert_eq!(bigint(&mut other, "SELECT count(*) FROM t"), 600_000);

    let file = dir.path().join("t.txt");
    let piped: Vec<u8> = data
        .iter()
        .map(|b| if *b == b'\t' { b'|' } else { *b })
        .collect();
    std::fs::write(&file, &piped).unwrap();
    s.run(&format!("COPY f FROM '{}'", file.display())).unwrap();
    assert_eq!(
        bigint(
            &mut s,
            "SELECT count(*) FROM (SELECT * FROM t EXCEPT SELECT * FROM f) d"
        ),
        0
    );
    assert_eq!(
        bigint(&mut s, "SELECT sum(a) FROM t"),
        (0..600_000i64).sum::<i64>()
    );
}

#[test]
fn stdin_late_error_loads_nothing() {
    // Input: 600,000 good rows (more than two segments, so segment files are written
    // before the end) and then a bad one. The COPY fails naming the bad row's line, the
    // table stays empty and the segment files written are gone; inside a transaction block
    // the block fails and its earlier rows roll back with it.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    s.run("CREATE TABLE t (a int, b text); INSERT INTO t VALUES (-1, 'x'); DELETE FROM t")
        .unwrap();
    let files_before = data_files(dir.path());
    let mut data = lines(0..600_000);
    data.extend_from_slice(b"oops\tv\n");
    let copy = copy_in(&mut s, "t", &data);
    assert!(copy.windows_parsed() > 20);
    let e = s.copy_in_finish(copy).unwrap_err().to_string();
    assert!(e.contains("line 600001"), "{e}");
    assert!(e.contains("invalid input syntax for type integer"), "{e}");
    assert_eq!(bigint(&mut s, "SELECT count(*) FROM t"), 0);
    assert_eq!(data_files(dir.path()), files_before);

    s.run("BEGIN; INSERT INTO t VALUES (1, 'kept until the error')")
        .unwrap();
    let copy = copy_in(&mut s, "t", &data);
    assert!(s.copy_in_finish(copy).is_err());
    let e = s.run("SELECT 1").unwrap_err().to_string();
    assert!(e.contains("current transaction is aborted"), "{e}");
    s.run("ROLLBACK").unwrap();
    assert_eq!(bigint(&mut s, "SELECT count(*) FROM t"), 0);
    assert_eq!(data_files(dir.path()), files_before);
}

#[test]
fn stdin_copy_fail_after_windows_loads_nothing() {
    // Input: 600,000 good rows pushed (segments appended), then the client's CopyFail: the
    // table stays empty and no segment file is left.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    s.run("CREATE TABLE t (a int, b text); INSERT INTO t VALUES (-1, 'x'); DELETE FROM t")
        .unwrap();
    let files_before = data_files(dir.path());
    let copy = copy_in(&mut s, "t", &lines(0..600_000));
    assert!(copy.windows_parsed() > 20);
    s.copy_in_abort(copy);
    assert_eq!(bigint(&mut s, "SELECT count(*) FROM t"), 0);
    assert_eq!(data_files(dir.path()), files_before);
}

#[test]
fn sorted_table_loads_in_sorted_runs_until_vacuum() {
    // Input: 1,200,000 rows whose sort key cycles through 0..1000, loaded from a file into
    // a table with a SORTKEY: more than one sorted run (1,048,576 rows), so the runs' key
    // ranges overlap and SVV_TABLE_INFO reports the table unsorted; VACUUM merges the runs
    // into one sorted order (0 unsorted). The rows are the same throughout.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    s.run("CREATE TABLE k (k int, i int) SORTKEY (k)").unwrap();
    let data: Vec<u8> = (0..1_200_000u64)
        .flat_map(|i| format!("{}|{i}\n", i % 1000).into_bytes())
        .collect();
    let file = dir.path().join("k.txt");
    std::fs::write(&file, &data).unwrap();
    s.run(&format!("COPY k FROM '{}'", file.display())).unwrap();
    let check = "SELECT count(*) + sum(k) * 3 + sum(i) FROM k";
    let expected = (0..1_200_000i64)
        .map(|i| 1 + (i % 1000) * 3 + i)
        .sum::<i64>();
    assert_eq!(bigint(&mut s, check), expected);
    let unsorted = |s: &mut Session| {
        crate::common::rows(
            s,
            "SELECT unsorted FROM svv_table_info WHERE \"table\" = 'k'",
        )
    };
    assert_eq!(unsorted(&mut s), vec!["100.00"]);
    s.run("VACUUM k").unwrap();
    assert_eq!(unsorted(&mut s), vec!["0.00"]);
    assert_eq!(bigint(&mut s, check), expected);
}

#[test]
fn file_copy_that_fails_late_leaves_no_segment_files() {
    // Input: a file of 700,000 rows with bad rows at lines 5 and 700,000, loaded with
    // MAXERROR 1, so segments are appended (by the load's appender) before the second bad
    // row fails the COPY. The error names line 700000, STL_LOAD_ERRORS holds both lines, the
    // table stays empty and the segment files written are gone; inside a transaction block
    // the block fails and its earlier rows roll back with it.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    s.run("CREATE TABLE t (a int, b text); INSERT INTO t VALUES (-1, 'x'); DELETE FROM t")
        .unwrap();
    let files_before = data_files(dir.path());
    let path = dir.path().join("in.txt");
    let mut text = String::new();
    for i in 1..=700_000u32 {
        match i {
            5 | 700_000 => text.push_str("oops|v\n"),
            _ => text.push_str(&format!("{i}|v{i}\n")),
        }
    }
    std::fs::write(&path, text).unwrap();
    let copy = format!("COPY t FROM '{}' MAXERROR 1", path.display());
    let e = s.run(&copy).unwrap_err().to_string();
    assert!(e.contains("line 700000"), "{e}");
    assert_eq!(bigint(&mut s, "SELECT count(*) FROM t"), 0);
    assert_eq!(data_files(dir.path()), files_before);
    assert_eq!(
        bigint(
            &mut s,
            "SELECT sum(line_number)::bigint FROM stl_load_errors WHERE err_code = 1207"
        ),
        700_005
    );

    s.run("BEGIN; INSERT INTO t VALUES (1, 'kept until the error')")
        .unwrap();
    assert!(s.run(&copy).is_err());
    s.run("ROLLBACK").unwrap();
    assert_eq!(bigint(&mut s, "SELECT count(*) FROM t"), 0);
    assert_eq!(data_files(dir.path()), files_before);
}

#[test]
fn stdin_bad_row_fails_at_the_push_that_ends_its_line() {
    // Input: two good rows, then a bad one whose line arrives in two pieces, far less than a
    // window: the COPY has not failed while the bad line is unfinished, fails at the push
    // that ends it (PostgreSQL reports a bad row while the data still streams), pushes after
    // it are ignored, and nothing is loaded. Inside a transaction block the block fails.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    s.run("CREATE TABLE t (a int, b text)").unwrap();
    let start = |s: &mut Session| {
        let stmt = s.parse("COPY t FROM STDIN").unwrap().remove(0);
        s.copy_in_start(&stmt).unwrap().unwrap()
    };
    let mut copy = start(&mut s);
    assert!(!copy.push(b"1\tx\n2\ty\noo"));
    assert!(!copy.failed());
    assert!(!copy.push(b"ps\tz"));
    assert!(!copy.failed());
    assert!(!copy.push(b"\n3\tw\n"));
    assert!(copy.failed());
    assert!(!copy.push(b"4\tv\n"));
    let e = s.copy_in_finish(copy).unwrap_err().to_string();
    assert!(
        e.contains("invalid input syntax for type integer: \"oops\""),
        "{e}"
    );
    assert!(e.contains("line 3"), "{e}");
    assert_eq!(bigint(&mut s, "SELECT count(*) FROM t"), 0);

    s.run("BEGIN; INSERT INTO t VALUES (1, 'before')").unwrap();
    let mut copy = start(&mut s);
    copy.push(b"5\tx\nbad\n");
    assert!(copy.failed());
    assert!(s.copy_in_finish(copy).is_err());
    let e = s.run("SELECT 1").unwrap_err().to_string();
    assert!(e.contains("current transaction is aborted"), "{e}");
    s.run("ROLLBACK").unwrap();
    assert_eq!(bigint(&mut s, "SELECT count(*) FROM t"), 0);
}

#[test]
fn stdin_in_large_messages_parses_by_windows() {
    // Input: 600,000 rows pushed in pieces of 3 MB (more than the 1 MB a push parses on the
    // caller's thread), then the same rows in 8 KB pieces after a first 3 MB one, so the
    // rows parsed by windows and those parsed message by message meet in one load: every row
    // loads once, and a bad row inside a large piece fails the COPY at the flush that parses
    // it, naming its line, with nothing loaded.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    s.run("CREATE TABLE t (a int, b varchar(8))").unwrap();
    let data = lines(0..600_000);
    let start = |s: &mut Session| {
        let stmt = s.parse("COPY t FROM STDIN").unwrap().remove(0);
        s.copy_in_start(&stmt).unwrap().unwrap()
    };
    let mut copy = start(&mut s);
    for piece in data.chunks(3 << 20) {
        // A full-size piece asks for a flush; the last, short one is parsed in the push.
        assert_eq!(copy.push(piece), piece.len() == 3 << 20);
        s.copy_in_flush(&mut copy);
        assert!(!copy.failed());
    }
    assert_eq!(tag(s.copy_in_finish(copy).unwrap()), "COPY 600000");
    let mut copy = start(&mut s);
    let (head, tail) = data.split_at(3 << 20);
    assert!(copy.push(head));
    s.copy_in_flush(&mut copy);
    for piece in tail.chunks(PUSH_BYTES) {
        if copy.push(piece) {
            s.copy_in_flush(&mut copy);
        }
    }
    assert_eq!(tag(s.copy_in_finish(copy).unwrap()), "COPY 600000");
    assert_eq!(bigint(&mut s, "SELECT count(*) FROM t"), 1_200_000);
    assert_eq!(bigint(&mut s, "SELECT count(DISTINCT a) FROM t"), 600_000);
    assert_eq!(
        bigint(&mut s, "SELECT sum(a) FROM t"),
        2 * (0..600_000i64).sum::<i64>()
    );

    let mut bad = lines(0..300_000);
    bad.extend_from_slice(b"oops\tv\n");
    bad.extend_from_slice(&lines(300_000..400_000));
    let mut copy = start(&mut s);
    assert!(copy.push(&bad));
    s.copy_in_flush(&mut copy);
    assert!(copy.failed());
    let e = s.copy_in_finish(copy).unwrap_err().to_string();
    assert!(e.contains("line 300001"), "{e}");
    assert_eq!(bigint(&mut s, "SELECT count(*) FROM t"), 1_200_000);
}
