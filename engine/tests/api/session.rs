//! End-to-end checks of the engine API: SQL in, PostgreSQL-formatted rows out.

use basalt_engine::{Engine, StatementResult};

use crate::common::rows;

// A small orders/customers schema: create, insert, filter, group, join, order, persist.
#[test]
fn create_insert_query_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = Engine::open(dir.path()).unwrap();
        let mut s = engine.session("basalt");
        s.run(
            "CREATE TABLE customers (id INTEGER NOT NULL, name VARCHAR(20), region CHAR(4));
             CREATE TABLE orders (id BIGINT, customer_id INTEGER, amount DECIMAL(10,2), placed DATE, express BOOLEAN);
             INSERT INTO customers VALUES (1, 'Ada', 'EU'), (2, 'Grace', 'US'), (3, 'Linus', NULL);
             INSERT INTO orders VALUES (10, 1, 12.5, '2024-01-03', true), (11, 1, 7.25, '2024-01-04', false),
                                       (12, 2, 100, '2024-02-01', NULL), (13, 4, 1.00, '2024-03-01', true);",
        )
        .unwrap();
        assert_eq!(
            rows(&mut s, "SELECT id, name, region FROM customers ORDER BY id"),
            vec!["1|Ada|EU  ", "2|Grace|US  ", "3|Linus|NULL"]
        );
        assert_eq!(
            rows(
                &mut s,
                "SELECT c.name, count(*), sum(o.amount), avg(o.amount), min(o.placed)
                 FROM customers c JOIN orders o ON o.customer_id = c.id
                 GROUP BY c.name ORDER BY 1"
            ),
            vec![
                "Ada|2|19.75|9.8750000000000000|2024-01-03",
                "Grace|1|100.00|100.0000000000000000|2024-02-01"
            ]
        );
        assert_eq!(
            rows(&mut s, "SELECT id * 2 + 1, amount / 4, express IS NULL FROM orders WHERE amount > 5 AND id <> 11 ORDER BY id DESC"),
            vec!["25|25.0000000000000000|t", "21|3.1250000000000000|f"]
        );
        assert_eq!(
            rows(
                &mut s,
                "SELECT count(*), sum(id) FROM orders WHERE id > 100"
            ),
            vec!["0|NULL"]
        );
        assert_eq!(
            rows(
                &mut s,
                "SELECT 7 / 2, -7 / 2, 7 % 3, 1.5 * 2, 1e2, 0.1::float8 + 0.2"
            ),
            vec!["3|-3|1|3.0|100|0.30000000000000004"]
        );
    }
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    assert_eq!(rows(&mut s, "SELECT count(*) FROM orders"), vec!["4"]);
}

// Errors keep the session usable and carry PostgreSQL's wording.
#[test]
fn errors_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    s.run("CREATE TABLE t (a INT, b TEXT)").unwrap();
    let cases = [
        ("SELECT * FROM nope", "relation \"nope\" does not exist"),
        ("SELECT c FROM t", "column \"c\" does not exist"),
        ("SELECT 1/0", "division by zero"),
        (
            "SELECT a + b FROM t",
            "operator does not exist: integer + text",
        ),
        (
            "INSERT INTO t VALUES ('x', 'y')",
            "invalid input syntax for type integer: \"x\"",
        ),
        ("SELECT 2147483647 + 1", "integer out of range"),
        (
            "SELECT a, count(*) FROM t",
            "column \"t.a\" must appear in the GROUP BY clause or be used in an aggregate function",
        ),
    ];
    for (sql, msg) in cases {
        let e = s.run(sql).unwrap_err();
        assert_eq!(e.to_string(), msg, "{sql}");
    }
    assert_eq!(rows(&mut s, "SELECT count(*) FROM t"), vec!["0"]);
}

// Parameters a client leaves untyped take their types from where they are used.
#[test]
fn describe_infers_parameter_types() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    s.run("CREATE TABLE t (a INTEGER, b VARCHAR(10), c DECIMAL(8,2), d DATE)")
        .unwrap();
    let describe = |s: &mut basalt_engine::Session, sql: &str| {
        let stmt = s.parse(sql).unwrap().remove(0);
        s.describe(&stmt).unwrap().params
    };
    use basalt_engine::SqlType;
    assert_eq!(
        describe(&mut s, "SELECT a FROM t WHERE a = $1 AND d > $2"),
        vec![SqlType::Integer, SqlType::Date]
    );
    assert_eq!(
        describe(&mut s, "INSERT INTO t VALUES ($1, $2, $3, $4)"),
        vec![
            SqlType::Integer,
            SqlType::Varchar { length: 10 },
            SqlType::Decimal {
                precision: 8,
                scale: 2
            },
            SqlType::Date
        ]
    );
    // A parameter with no context is text, as in PostgreSQL.
    assert_eq!(describe(&mut s, "SELECT $1"), vec![SqlType::Text]);
    // Executing with text values parses them as the inferred types.
    let stmt = s
        .parse("INSERT INTO t VALUES ($1, $2, $3, $4)")
        .unwrap()
        .remove(0);
    s.execute(
        &stmt,
        &[
            Some("7".into()),
            Some("seven".into()),
            Some("7.5".into()),
            None,
        ],
    )
    .unwrap();
    assert_eq!(
        rows(&mut s, "SELECT a, b, c, d FROM t"),
        vec!["7|seven|7.50|NULL"]
    );
}

// The embedded bulk-load path: Arrow batches straight into a table, checked like an INSERT.
#[test]
fn append_batches_loads_and_validates() {
    use arrow_array::{ArrayRef, Int32Array, RecordBatch, StringArray};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    s.run("CREATE TABLE t (id INTEGER NOT NULL, code CHAR(3), note VARCHAR(4))")
        .unwrap();
    let batch = |ids: Vec<Option<i32>>, codes: Vec<&str>, notes: Vec<&str>| {
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from(ids)),
            Arc::new(StringArray::from(codes)),
            Arc::new(StringArray::from(notes)),
        ];
        RecordBatch::try_from_iter(["id", "code", "note"].into_iter().zip(cols)).unwrap()
    };
    let loaded = s
        .append_batches(
            "t",
            &[batch(
                vec![Some(1), Some(2)],
                vec!["a", "bc"],
                vec!["x", "yy"],
            )],
        )
        .unwrap();
    assert_eq!(loaded, 2);
    // CHAR(3) is blank-padded, as an INSERT would store it.
    assert_eq!(
        rows(&mut s, "SELECT id, code, note FROM t ORDER BY id"),
        vec!["1|a  |x", "2|bc |yy"]
    );
    assert_eq!(
        rows(&mut s, "SELECT count(*) FROM t WHERE code = 'a'"),
        vec!["1"]
    );

    let too_long = s.append_batches("t", &[batch(vec![Some(3)], vec!["a"], vec!["toolong"])]);
    assert!(too_long.unwrap_err().to_string().contains("too long"));
    let null_id = s.append_batches("t", &[batch(vec![None], vec!["a"], vec!["n"])]);
    assert!(null_id.unwrap_err().to_string().contains("null value"));
    let missing = s.append_batches("nope", &[]);
    assert!(missing.unwrap_err().to_string().contains("does not exist"));
    assert_eq!(rows(&mut s, "SELECT count(*) FROM t"), vec!["2"]);
}

// EXPLAIN ANALYZE runs the query and prints every operator with its output rows, loops, time,
// output memory and, for scans, the segments and blocks read and skipped. Only the figures
// that do not depend on timing are checked.
#[test]
fn explain_analyze_reports_each_operator() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("test");
    s.run("CREATE TABLE t (x BIGINT, g INTEGER)").unwrap();
    // 300,000 rows in load order: two segments, so a range on x can skip one.
    let n = 300_000i64;
    let x: arrow_array::ArrayRef =
        std::sync::Arc::new(arrow_array::Int64Array::from_iter_values(0..n));
    let g: arrow_array::ArrayRef = std::sync::Arc::new(arrow_array::Int32Array::from_iter_values(
        (0..n).map(|v| (v % 3) as i32),
    ));
    let batch = arrow_array::RecordBatch::try_from_iter([("x", x), ("g", g)]).unwrap();
    s.append_batches("t", &[batch]).unwrap();

    let lines = rows(
        &mut s,
        "EXPLAIN ANALYZE SELECT g, count(*) FROM t WHERE x >= 299990 GROUP BY g ORDER BY g",
    );
    let line = |needle: &str| {
        lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} in {lines:#?}"))
            .clone()
    };
    assert!(
        line("Sort (1 keys)").contains("(actual rows=3 loops=1 time="),
        "{lines:#?}"
    );
    assert!(
        line("HashAggregate").contains("actual rows=3 loops=1"),
        "{lines:#?}"
    );
    let scan = line("Seq Scan on t");
    assert!(scan.contains("actual rows=10 loops=1"), "{scan}");
    assert!(scan.contains("segments read=1 skipped=1"), "{scan}");
    assert!(
        line("Zone maps:").contains("1 of 2 segments may match"),
        "{lines:#?}"
    );
    let peak = line("Peak Memory:");
    assert!(!peak.starts_with("Peak Memory: 0 kB"), "{peak}");
    assert!(
        lines.last().unwrap().starts_with("Execution Time: "),
        "{lines:#?}"
    );

    // A query that finds nothing reports zero rows.
    let lines = rows(
        &mut s,
        "EXPLAIN ANALYZE SELECT * FROM t WHERE x < 0 LIMIT 5",
    );
    assert!(lines[0].contains("actual rows=0"), "{lines:#?}");

    let err = s
        .run("EXPLAIN ANALYZE INSERT INTO t VALUES (1, 1)")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "EXPLAIN ANALYZE is supported for queries only"
    );
    assert_eq!(rows(&mut s, "SELECT count(*) FROM t"), ["300000"]);
}

// A hash join hands its build side's keys to the scan under its probe side: the scan of the
// big table returns only the rows whose key the small side holds, skips the segment whose zone
// map lies outside the keys' range, and is not run at all when the build side is empty.
#[test]
fn joins_filter_the_probe_scan_by_the_build_keys() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("test");
    s.run("CREATE TABLE big (x BIGINT, g INTEGER)").unwrap();
    // 300,000 rows in load order: two segments, the second holding x >= 262,144.
    let n = 300_000i64;
    let x: arrow_array::ArrayRef =
        std::sync::Arc::new(arrow_array::Int64Array::from_iter_values(0..n));
    let g: arrow_array::ArrayRef = std::sync::Arc::new(arrow_array::Int32Array::from_iter_values(
        (0..n).map(|v| (v % 1000) as i32),
    ));
    let batch = arrow_array::RecordBatch::try_from_iter([("x", x), ("g", g)]).unwrap();
    s.append_batches("big", &[batch]).unwrap();
    s.run("CREATE TABLE small (k BIGINT, h INTEGER)").unwrap();
    s.run("INSERT INTO small VALUES (5, 1), (70000, 2), (70001, 999), (NULL, 3)")
        .unwrap();

    let scan_line = |lines: &[String]| {
        lines
            .iter()
            .find(|l| l.contains("Seq Scan on big"))
            .unwrap_or_else(|| panic!("no scan of big in {lines:#?}"))
            .clone()
    };
    let lines = rows(
        &mut s,
        "EXPLAIN ANALYZE SELECT count(*) FROM small JOIN big ON big.x = small.k",
    );
    let scan = scan_line(&lines);
    assert!(scan.contains("actual rows=3 loops=1"), "{lines:#?}");
    assert!(scan.contains("segments read=1 skipped=1"), "{lines:#?}");
    assert_eq!(
        rows(
            &mut s,
            "SELECT count(*) FROM small JOIN big ON big.x = small.k"
        ),
        ["3"]
    );

    // Through a grouping key: only the groups the join keeps are aggregated.
    let query = "SELECT small.h, t.n FROM small JOIN \
                 (SELECT g, count(*) AS n FROM big GROUP BY g) t ON t.g = small.h ORDER BY 1";
    let lines = rows(&mut s, &format!("EXPLAIN ANALYZE {query}"));
    assert!(
        scan_line(&lines).contains("actual rows=1200 loops=1"),
        "{lines:#?}"
    );
    assert_eq!(rows(&mut s, query), ["1|300", "2|300", "3|300", "999|300"]);

    // An empty build side: the probe side never runs.
    let lines = rows(
        &mut s,
        "EXPLAIN ANALYZE SELECT count(*) FROM small JOIN big ON big.x = small.k WHERE small.h > 5000",
    );
    assert!(scan_line(&lines).contains("(never executed)"), "{lines:#?}");
}

// Workload management: with one query slot, a second session's query of a table waits in the
// queue (and times out there under statement_timeout, or is cancelled) until the first
// finishes; SET and queries of system views never wait, and STV_WLM_QUERY_STATE shows the
// running and the queued statement.
#[test]
fn statements_beyond_the_slots_wait_in_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let options = basalt_engine::EngineOptions {
        max_concurrent_queries: 1,
        ..Default::default()
    };
    let engine = Engine::open_with(dir.path(), options).unwrap();
    let mut setup = engine.session("setup");
    setup.run("CREATE TABLE t (x INTEGER)").unwrap();
    setup.run("INSERT INTO t VALUES (1), (2)").unwrap();
    let mut first = engine.session("a");
    let cancel_first = first.cancel_handle();
    let running = std::thread::spawn(move || first.run("SELECT pg_sleep(600) FROM t WHERE x = 1"));
    while engine.queue_state().running == 0 {
        std::thread::yield_now();
    }
    assert_eq!(
        rows(
            &mut setup,
            "SELECT state, slot_count, username, querytxt FROM stv_wlm_query_state"
        ),
        ["Running|1|a|SELECT pg_sleep(600) FROM t WHERE x = 1"]
    );

    // A query that waits for the slot is in the view too, as queued.
    let mut waiting = engine.session("c");
    let cancel_waiting = waiting.cancel_handle();
    let queued = std::thread::spawn(move || waiting.run("SELECT count(*) FROM t"));
    while engine.queue_state().queued == 0 {
        std::thread::yield_now();
    }
    assert_eq!(
        rows(
            &mut setup,
            "SELECT state, username, querytxt FROM stv_wlm_query_state ORDER BY query"
        ),
        [
            "Running|a|SELECT pg_sleep(600) FROM t WHERE x = 1",
            "QueuedWaiting|c|SELECT count(*) FROM t"
        ]
    );
    cancel_waiting.cancel();
    let err = queued.join().unwrap().unwrap_err();
    assert_eq!(err.to_string(), "canceling statement due to user request");
    assert_eq!(engine.queue_state().queued, 0);

    let mut second = engine.session("b");
    second.run("SET statement_timeout = 50").unwrap();
    let err = second.run("SELECT count(*) FROM t").unwrap_err();
    assert_eq!(
        err.to_string(),
        "canceling statement due to statement timeout"
    );
    assert_eq!(engine.queue_state().queued, 0);

    cancel_first.cancel();
    let err = running.join().unwrap().unwrap_err();
    assert_eq!(err.to_string(), "canceling statement due to user request");
    second.run("RESET statement_timeout").unwrap();
    assert_eq!(rows(&mut second, "SELECT count(*) FROM t"), ["2"]);
    assert_eq!(engine.queue_state().running, 0);
    assert!(rows(&mut second, "SELECT * FROM stv_wlm_query_state").is_empty());
}

// Each result column names the table column it shows unchanged (pg_class OID and attnum), as
// PostgreSQL's RowDescription does; computed columns name none.
#[test]
fn result_columns_name_their_table_column() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    s.run(
        "CREATE TABLE t (a INTEGER, b TEXT, c DATE);
         CREATE VIEW v AS SELECT c, a FROM t;",
    )
    .unwrap();
    let origin = |s: &mut basalt_engine::Session, relation: &str, column: &str| {
        let found = rows(
            s,
            &format!(
                "SELECT c.oid, a.attnum FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
                 WHERE c.relname = '{relation}' AND a.attname = '{column}'"
            ),
        );
        let [row] = found.as_slice() else {
            panic!("{relation}.{column}: {found:?}")
        };
        let (oid, attnum) = row.split_once('|').unwrap();
        Some(basalt_engine::ColumnOrigin {
            table: oid.parse().unwrap(),
            column: attnum.parse().unwrap(),
        })
    };
    let described = |s: &mut basalt_engine::Session, sql: &str| {
        let results = s.run(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let Some(StatementResult::Query(q)) = results.into_iter().last() else {
            panic!("{sql}: not a query");
        };
        q.columns.into_iter().map(|c| c.origin).collect::<Vec<_>>()
    };
    let expected = vec![
        origin(&mut s, "t", "c"),
        origin(&mut s, "t", "a"),
        None,
        origin(&mut s, "t", "b"),
    ];
    assert_eq!(
        described(&mut s, "SELECT c, x.a, a + 1, b AS renamed FROM t AS x"),
        expected
    );
    // Through a derived table and a WITH query, the table's columns still show.
    assert_eq!(
        described(
            &mut s,
            "WITH w AS (SELECT * FROM t) SELECT d.c, d.a, 1, w.b FROM (SELECT c, a FROM t) d, w"
        ),
        expected
    );
    // A view's columns are the view's own.
    assert_eq!(
        described(&mut s, "SELECT a, c FROM v"),
        vec![origin(&mut s, "v", "a"), origin(&mut s, "v", "c")]
    );
    // A set operation's and an aggregate's columns come from no table; a grouping column does.
    assert_eq!(
        described(&mut s, "SELECT a FROM t UNION SELECT a FROM t"),
        vec![None]
    );
    assert_eq!(
        described(&mut s, "SELECT a, count(*) FROM t GROUP BY a"),
        vec![origin(&mut s, "t", "a"), None]
    );
    assert_eq!(
        described(&mut s, "SELECT relname FROM pg_class"),
        vec![origin(&mut s, "pg_class", "relname")]
    );
}
