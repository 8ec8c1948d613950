//! Redshift's table attributes through the engine API: they survive reopening the data
//! directory, the embedded bulk-load path sorts by the sort key, and attribute errors point at
//! the offending word.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int32Array, RecordBatch, StringArray};
use basalt_engine::{Engine, Session};

use crate::common::rows;

const TABLE_DEF: &str =
    "SELECT tablename, \"column\", encoding, distkey, sortkey FROM pg_table_def \
                         WHERE tablename IN ('t', 'u') ORDER BY tablename, \"column\"";
const TABLE_INFO: &str =
    "SELECT \"table\", diststyle, sortkey1, sortkey_num FROM svv_table_info ORDER BY 1";

#[test]
fn attributes_survive_reopening_the_data_directory() {
    // Input: two tables with column and table attributes and a few rows, the engine dropped
    // and the directory opened again.
    let dir = tempfile::tempdir().unwrap();
    let (def, info) = {
        let engine = Engine::open(dir.path()).unwrap();
        let mut s = engine.session("basalt");
        s.run(
            "CREATE TABLE t (a INTEGER ENCODE az64 DISTKEY, b VARCHAR(8) ENCODE bytedict, c DATE ENCODE raw)
                 INTERLEAVED SORTKEY (c, a);
             CREATE TABLE u (x BIGINT ENCODE zstd SORTKEY) DISTSTYLE ALL;
             INSERT INTO t VALUES (2, 'b', '2024-01-02'), (1, 'a', '2024-01-01');
             INSERT INTO u VALUES (3), (1), (2);",
        )
        .unwrap();
        (rows(&mut s, TABLE_DEF), rows(&mut s, TABLE_INFO))
    };
    assert_eq!(
        def,
        [
            "t|a|az64|t|-2",
            "t|b|bytedict|f|0",
            "t|c|none|f|1",
            "u|x|zstd|f|1"
        ]
    );
    assert_eq!(def.len(), 4);
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    assert_eq!(rows(&mut s, TABLE_DEF), def);
    assert_eq!(rows(&mut s, TABLE_INFO), info);
    assert_eq!(info, ["t|KEY(a)|INTERLEAVED|2", "u|ALL|x|1"]);
    // Rows appended after reopening are still sorted by the kept key.
    s.run("INSERT INTO u VALUES (9), (7), (8)").unwrap();
    assert_eq!(
        rows(&mut s, "SELECT x FROM u"),
        ["1", "2", "3", "7", "8", "9"]
    );
}

#[test]
fn append_batches_sorts_by_the_sort_key() {
    // Input: a table sorted by (g, k), loaded through `Session::append_batches` with two
    // batches in reverse order.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    s.run("CREATE TABLE t (k INTEGER, g VARCHAR(4)) COMPOUND SORTKEY (g, k)")
        .unwrap();
    let batch = |ks: Vec<i32>, gs: Vec<&str>| {
        let k: ArrayRef = Arc::new(Int32Array::from(ks));
        let g: ArrayRef = Arc::new(StringArray::from(gs));
        RecordBatch::try_from_iter([("k", k), ("g", g)]).unwrap()
    };
    let loaded = s
        .append_batches(
            "t",
            &[
                batch(vec![5, 4, 3], vec!["b", "b", "a"]),
                batch(vec![2, 1], vec!["a", "b"]),
            ],
        )
        .unwrap();
    assert_eq!(loaded, 5);
    assert_eq!(
        rows(&mut s, "SELECT g, k FROM t"),
        ["a|2", "a|3", "b|1", "b|4", "b|5"]
    );
}

#[test]
fn attribute_errors_point_at_the_offending_word() {
    // Input: statements whose errors come from the attributes, with the 1-based character
    // position each error must carry.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    let cases = [
        ("CREATE TABLE t (a int) DISTKEY (nope)", 33),
        ("CREATE TABLE t (a int, b int) SORTKEY (b, nope)", 43),
        ("CREATE TABLE t (a bool ENCODE bytedict)", 31),
        ("CREATE TABLE t (a int ENCODE lz5)", 30),
        ("CREATE TABLE t (a int DISTKEY, b int DISTKEY)", 38),
        ("CREATE TABLE t (a int)\n  DISTSTYLE KEY", 36),
        ("CREATE TABLE t (a int SORTKEY, b intt)", 32),
    ];
    for (sql, position) in cases {
        let e = s.run(sql).unwrap_err();
        assert_eq!(e.position(), Some(position), "{sql}: {e}");
    }
}

#[test]
fn a_sort_key_lets_explain_analyze_skip_blocks() {
    // Input: 100,000 distinct integers in a scrambled order (n * 7919 mod 100,000), loaded
    // through `append_batches` into a table sorted by k and into one without a sort key;
    // a query selecting k between 10 and 20 from each.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    s.run("CREATE TABLE sorted (k INTEGER) SORTKEY (k); CREATE TABLE unsorted (k INTEGER)")
        .unwrap();
    let values: Vec<i32> = (0..100_000).map(|n| n * 7919 % 100_000).collect();
    for name in ["sorted", "unsorted"] {
        let k: ArrayRef = Arc::new(Int32Array::from(values.clone()));
        let batch = RecordBatch::try_from_iter([("k", k)]).unwrap();
        s.append_batches(name, &[batch]).unwrap();
    }
    let scan_line = |s: &mut Session, name: &str| -> String {
        let sql = format!("EXPLAIN ANALYZE SELECT count(*) FROM {name} WHERE k BETWEEN 10 AND 20");
        rows(s, &sql)
            .into_iter()
            .find(|l| l.contains("blocks read="))
            .unwrap_or_else(|| panic!("{sql}: no scan counts"))
    };
    let sorted = scan_line(&mut s, "sorted");
    // Four blocks of up to 32,768 rows: the sorted table's first holds k = 0 ..= 32,767. The
    // unsorted table's three full blocks each span nearly every value; only its last, of 1,696
    // scattered values, misses 10 ..= 20.
    assert!(sorted.contains("blocks read=1 skipped=3"), "{sorted}");
    let unsorted = scan_line(&mut s, "unsorted");
    assert!(unsorted.contains("blocks read=3 skipped=1"), "{unsorted}");
    assert_eq!(
        rows(
            &mut s,
            "SELECT count(*) FROM sorted WHERE k BETWEEN 10 AND 20"
        ),
        ["11"]
    );
}
