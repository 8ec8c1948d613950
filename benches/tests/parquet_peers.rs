//! UNLOAD's Parquet files read by other engines: pyarrow and DuckDB (the peers of
//! `peers/peer.py`) read a file of every column type UNLOAD maps and see the same values as
//! Basalt, with the logical types the columns have (DECIMAL as decimal, DATE as date,
//! TIMESTAMP as timestamp, TIMESTAMPTZ as a UTC timestamp, TIME as time).
//!
//! The peers live in a Python virtual environment under the target directory, which the
//! benchmark harnesses install. Without it the test says so and passes, unless
//! `BASALT_REQUIRE_PEERS=1` (as in CI), which installs the peers if they are missing.

use basalt_benches::answers::Answer;
use basalt_benches::peers::{target_dir, Peer};
use basalt_engine::{Engine, StatementResult};
use serde_json::{json, Value};

/// The peers' answer for one reader: its column types and its rows, values as text.
fn reader(got: &Value, name: &str) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let part = &got[name];
    let types = part["types"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: no types in {got}"))
        .iter()
        .map(|t| t.as_str().unwrap_or_default().replace(' ', ""))
        .collect();
    let rows = part["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: no rows in {got}"))
        .iter()
        .map(|r| {
            r.as_array()
                .into_iter()
                .flatten()
                .map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .collect();
    (types, rows)
}

#[test]
fn parquet_unloaded_reads_the_same_in_pyarrow_and_duckdb() {
    // Input: three rows of fifteen columns, one of each type UNLOAD writes (the extremes of
    // the integers, a DECIMAL(38,10) of 38 digits, fractions of a second, a TIMESTAMPTZ
    // given at +05, a non-ASCII string, an empty one) and a row of NULLs, unloaded to one
    // Parquet file. Both readers give each column its logical type and every value as
    // Basalt shows it (CHAR compared without its trailing blanks).
    let installed = target_dir().join("peers-venv/bin/python").exists();
    let required = std::env::var("BASALT_REQUIRE_PEERS").as_deref() == Ok("1");
    if !installed && !required {
        eprintln!(
            "skipped: the peers are not installed (run a harness, or set BASALT_REQUIRE_PEERS=1)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    s.run(
        "CREATE TABLE typed (i SMALLINT, n INTEGER, b BIGINT, d DECIMAL(12,3), \
         big DECIMAL(38,10), r REAL, f DOUBLE PRECISION, t BOOLEAN, c CHAR(4), v VARCHAR(20), \
         x TEXT, dd DATE, ts TIMESTAMP, tz TIMESTAMPTZ, tm TIME)",
    )
    .unwrap();
    s.run(
        "INSERT INTO typed VALUES \
         (32767, 2147483647, 9000000000, 12345.678, 1234567890123456789012345678.0123456789, \
          1.5, 2.25, true, 'ab', 'var', 'text', '2024-02-29', '2024-02-29 12:34:56.789', \
          '2024-01-02 03:04:05.123456+00', '12:34:56.789012'), \
         (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), \
         (-32768, -2147483648, -9223372036854775808, -0.001, -0.0000000001, -3.5, 1000.125, \
          false, 'abcd', '', 'é', '1900-01-01', '1970-01-01 00:00:00', \
          '1999-12-31 23:59:59+05', '00:00:00')",
    )
    .unwrap();
    let prefix = dir.path().join("out/typed_");
    s.run(&format!(
        "UNLOAD ('SELECT * FROM typed') TO '{}' FORMAT AS PARQUET PARALLEL OFF",
        prefix.display()
    ))
    .unwrap();
    let file = dir.path().join("out/typed_000.parquet");
    assert!(file.exists(), "UNLOAD wrote no {}", file.display());

    // CHAR's trailing blanks do not count (as in PostgreSQL); the file may hold them.
    let trim_char = |rows: &mut Vec<Vec<Option<String>>>| {
        for row in rows.iter_mut() {
            if let Some(Some(c)) = row.get_mut(8) {
                *c = c.trim_end_matches(' ').to_string();
            }
        }
        rows.sort();
    };
    let mut ours = match s.run("SELECT * FROM typed").unwrap().pop() {
        Some(StatementResult::Query(q)) => Answer::from_query(&q).rows,
        other => panic!("SELECT gave {other:?}"),
    };
    trim_char(&mut ours);

    let mut peer = Peer::start("python3").unwrap();
    let got = peer
        .call(json!({"op": "parquet_read", "path": file.display().to_string()}))
        .unwrap();
    peer.stop();

    let expected_types = [
        (
            "pyarrow",
            vec![
                "int16",
                "int32",
                "int64",
                "decimal128(12,3)",
                "decimal128(38,10)",
                "float",
                "double",
                "bool",
                "string",
                "string",
                "string",
                "date32[day]",
                "timestamp[us]",
                "timestamp[us,tz=UTC]",
                "time64[us]",
            ],
        ),
        (
            "duckdb",
            vec![
                "SMALLINT",
                "INTEGER",
                "BIGINT",
                "DECIMAL(12,3)",
                "DECIMAL(38,10)",
                "FLOAT",
                "DOUBLE",
                "BOOLEAN",
                "VARCHAR",
                "VARCHAR",
                "VARCHAR",
                "DATE",
                "TIMESTAMP",
                "TIMESTAMPWITHTIMEZONE",
                "TIME",
            ],
        ),
    ];
    for (name, types) in expected_types {
        let (got_types, mut rows) = reader(&got, name);
        assert_eq!(got_types, types, "{name}'s column types");
        trim_char(&mut rows);
        assert_eq!(rows, ours, "{name}'s rows");
    }
}
