//! tokio-postgres, the Rust driver, against Basalt's engine: typed parameters of several
//! types, binary results, transactions with commit, rollback and savepoints, and a portal read
//! a few rows at a time.

use crate::common::*;
use tokio_postgres::types::Type;

// Parameters of several types go out in binary and come back in binary, through prepared
// statements whose parameter types the server infers or the client declares.
#[tokio::test]
async fn typed_parameters_and_binary_results() {
    let (server, _dir) = engine_server().await;
    let client = connect(server.local_addr()).await;
    bounded(client.batch_execute(
        "CREATE TABLE tp (s SMALLINT, i INTEGER, b BIGINT, r REAL, d DOUBLE PRECISION, \
         f BOOLEAN, v VARCHAR(20), x TEXT)",
    ))
    .await
    .unwrap();
    let insert = bounded(client.prepare("INSERT INTO tp VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
        .await
        .unwrap();
    assert_eq!(
        insert.params(),
        [
            Type::INT2,
            Type::INT4,
            Type::INT8,
            Type::FLOAT4,
            Type::FLOAT8,
            Type::BOOL,
            Type::VARCHAR,
            Type::TEXT
        ]
    );
    for i in 0..5i32 {
        let n = bounded(client.execute(
            &insert,
            &[
                &(i as i16),
                &i,
                &(i64::from(i) * 10_000_000_000),
                &(i as f32 + 0.5),
                &(f64::from(i) / 4.0),
                &(i % 2 == 0),
                &format!("v{i}"),
                &None::<String>,
            ],
        ))
        .await
        .unwrap();
        assert_eq!(n, 1);
    }
    let rows = bounded(client.query(
        "SELECT s, i, b, r, d, f, v, x FROM tp WHERE i >= $1 AND v <> $2 ORDER BY i",
        &[&3i32, &"v9"],
    ))
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    let first = &rows[0];
    assert_eq!(first.get::<_, i16>(0), 3);
    assert_eq!(first.get::<_, i32>(1), 3);
    assert_eq!(first.get::<_, i64>(2), 30_000_000_000);
    assert_eq!(first.get::<_, f32>(3), 3.5);
    assert_eq!(first.get::<_, f64>(4), 0.75);
    assert!(!first.get::<_, bool>(5));
    assert_eq!(first.get::<_, &str>(6), "v3");
    assert_eq!(first.get::<_, Option<&str>>(7), None);
    assert_eq!(rows[1].columns()[6].type_(), &Type::VARCHAR);

    // A parameter the client types explicitly.
    let typed = bounded(client.prepare_typed("SELECT $1::bigint * 2", &[Type::INT8]))
        .await
        .unwrap();
    let row = bounded(client.query_one(&typed, &[&21i64])).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 42);
    server.shutdown().await;
}

// A transaction commits or rolls back as a whole; savepoints undo their own part; a portal
// inside the transaction is read three rows at a time.
#[tokio::test]
async fn transactions_savepoints_and_portals() {
    let (server, _dir) = engine_server().await;
    let mut client = connect(server.local_addr()).await;
    bounded(client.batch_execute("CREATE TABLE tx (a INTEGER)"))
        .await
        .unwrap();

    let txn = bounded(client.transaction()).await.unwrap();
    bounded(txn.execute("INSERT INTO tx VALUES ($1)", &[&1i32]))
        .await
        .unwrap();
    bounded(txn.rollback()).await.unwrap();

    let mut txn = bounded(client.transaction()).await.unwrap();
    bounded(txn.execute("INSERT INTO tx VALUES ($1)", &[&2i32]))
        .await
        .unwrap();
    {
        let inner = bounded(txn.savepoint("inner")).await.unwrap();
        bounded(inner.execute("INSERT INTO tx VALUES ($1)", &[&3i32]))
            .await
            .unwrap();
        bounded(inner.rollback()).await.unwrap();
    }
    {
        // A nested transaction is a savepoint too; an error inside it is undone with it.
        let inner = bounded(txn.transaction()).await.unwrap();
        bounded(inner.execute("INSERT INTO tx VALUES ($1)", &[&4i32]))
            .await
            .unwrap();
        let error = bounded(inner.execute("SELECT 1 / 0", &[]))
            .await
            .unwrap_err();
        assert_eq!(
            error.code(),
            Some(&tokio_postgres::error::SqlState::DIVISION_BY_ZERO)
        );
        bounded(inner.rollback()).await.unwrap();
    }
    {
        let inner = bounded(txn.transaction()).await.unwrap();
        for a in 5..12i32 {
            bounded(inner.execute("INSERT INTO tx VALUES ($1)", &[&a]))
                .await
                .unwrap();
        }
        bounded(inner.commit()).await.unwrap();
    }
    let statement = bounded(txn.prepare("SELECT a FROM tx ORDER BY a"))
        .await
        .unwrap();
    let portal = bounded(txn.bind(&statement, &[])).await.unwrap();
    let mut seen = Vec::new();
    loop {
        let rows = bounded(txn.query_portal(&portal, 3)).await.unwrap();
        if rows.is_empty() {
            break;
        }
        assert!(rows.len() <= 3);
        seen.extend(rows.iter().map(|r| r.get::<_, i32>(0)));
    }
    assert_eq!(seen, [2, 5, 6, 7, 8, 9, 10, 11]);
    bounded(txn.commit()).await.unwrap();

    let rows = bounded(client.query("SELECT count(*) FROM tx", &[]))
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, i64>(0), 8);
    server.shutdown().await;
}

/// A value's binary form, whatever its type: for types the driver has no Rust type for
/// without optional features (TIME, INTERVAL).
#[derive(Debug)]
struct RawBinary(Vec<u8>);

impl<'a> tokio_postgres::types::FromSql<'a> for RawBinary {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawBinary(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

impl tokio_postgres::types::ToSql for RawBinary {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.0);
        Ok(tokio_postgres::types::IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

// TIME, TIMESTAMPTZ and INTERVAL parameters go out in binary (TIMESTAMPTZ as the driver's
// SystemTime, the others as PostgreSQL's binary layout), are stored, and come back in binary
// with their type OIDs, and as text.
#[tokio::test]
async fn time_timestamptz_and_interval_in_binary() {
    let (server, _dir) = engine_server().await;
    let client = connect(server.local_addr()).await;
    bounded(client.batch_execute("CREATE TABLE tz (t TIME, z TIMESTAMPTZ, i INTERVAL)"))
        .await
        .unwrap();
    let insert = bounded(client.prepare("INSERT INTO tz VALUES ($1, $2, $3)"))
        .await
        .unwrap();
    assert_eq!(
        insert.params(),
        [Type::TIME, Type::TIMESTAMPTZ, Type::INTERVAL]
    );
    // 01:02:03.5; 2024-01-02 03:04:05 UTC; 1 year 2 mons -3 days +04:05:06.
    let time = RawBinary(3_723_500_000i64.to_be_bytes().to_vec());
    let instant = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_704_164_645);
    let mut interval = 14_706_000_000i64.to_be_bytes().to_vec();
    interval.extend_from_slice(&(-3i32).to_be_bytes());
    interval.extend_from_slice(&14i32.to_be_bytes());
    let interval = RawBinary(interval);
    let n = bounded(client.execute(&insert, &[&time, &instant, &interval]))
        .await
        .unwrap();
    assert_eq!(n, 1);
    let row = bounded(client.query_one("SELECT t, z, i, t::text, z::text, i::text FROM tz", &[]))
        .await
        .unwrap();
    assert_eq!(row.columns()[0].type_(), &Type::TIME);
    assert_eq!(row.columns()[1].type_(), &Type::TIMESTAMPTZ);
    assert_eq!(row.columns()[2].type_(), &Type::INTERVAL);
    assert_eq!(row.get::<_, RawBinary>(0).0, time.0);
    assert_eq!(row.get::<_, std::time::SystemTime>(1), instant);
    assert_eq!(row.get::<_, RawBinary>(2).0, interval.0);
    assert_eq!(row.get::<_, &str>(3), "01:02:03.5");
    assert_eq!(row.get::<_, &str>(4), "2024-01-02 03:04:05+00");
    assert_eq!(row.get::<_, &str>(5), "1 year 2 mons -3 days +04:05:06");
    server.shutdown().await;
}

// Arrays, which are values of expressions and catalog columns: integer, bigint, text and
// double precision arrays with NULLs and an empty one come back in binary as tokio-postgres
// decodes PostgreSQL's array_send, and in text as PostgreSQL prints them; an int2vector
// catalog column (pg_index.indkey) reads in text.
#[tokio::test]
async fn arrays_in_binary_and_text() {
    let (server, _dir) = engine_server().await;
    let client = connect(server.local_addr()).await;
    let row = bounded(client.query_one(
        "SELECT ARRAY[1, NULL, 3], ARRAY[9000000000, -1], ARRAY['a', 'b c', NULL, ''], \
         ARRAY[1.5::double precision], '{}'::int[]",
        &[],
    ))
    .await
    .unwrap();
    assert_eq!(row.columns()[0].type_(), &Type::INT4_ARRAY);
    assert_eq!(row.columns()[2].type_(), &Type::TEXT_ARRAY);
    assert_eq!(row.get::<_, Vec<Option<i32>>>(0), [Some(1), None, Some(3)]);
    assert_eq!(row.get::<_, Vec<i64>>(1), [9_000_000_000, -1]);
    assert_eq!(
        row.get::<_, Vec<Option<String>>>(2),
        [
            Some("a".to_owned()),
            Some("b c".to_owned()),
            None,
            Some(String::new())
        ]
    );
    assert_eq!(row.get::<_, Vec<f64>>(3), [1.5]);
    assert!(row.get::<_, Vec<i32>>(4).is_empty());
    let text =
        bounded(client.simple_query("SELECT ARRAY[1, NULL, 3], ARRAY['a', 'b c', NULL, '']"))
            .await
            .unwrap();
    let rows = text_rows(&text);
    assert_eq!(
        rows[0],
        [
            Some("{1,NULL,3}".to_owned()),
            Some(r#"{a,"b c",NULL,""}"#.to_owned())
        ]
    );
    bounded(client.batch_execute(
        "CREATE TABLE ak (a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (b, a))",
    ))
    .await
    .unwrap();
    let keys =
        bounded(client.simple_query("SELECT indkey FROM pg_index WHERE indrelid = 'ak'::regclass"))
            .await
            .unwrap();
    assert_eq!(text_rows(&keys), [[Some("2 1".to_owned())]]);
    server.shutdown().await;
}
