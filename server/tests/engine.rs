//! End to end: Basalt's engine in a temporary data directory, served over the wire.

mod common;

use common::*;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;

// CREATE TABLE, INSERT and SELECT through the simple protocol, then the same table through
// the extended protocol with a parameter and binary results.
#[tokio::test]
async fn create_insert_select() {
    let (server, _dir) = engine_server().await;
    let client = connect(server.local_addr()).await;
    bounded(client.batch_execute(
        "CREATE TABLE t (a INTEGER NOT NULL, b VARCHAR(10), c NUMERIC(10,2));
         INSERT INTO t VALUES (1, 'one', 1.50), (2, NULL, -3.25), (3, 'three', 0)",
    ))
    .await
    .unwrap();

    let messages = bounded(client.simple_query("SELECT a, b, c FROM t ORDER BY a"))
        .await
        .unwrap();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        text_rows(&messages),
        [
            vec![s("1"), s("one"), s("1.50")],
            vec![s("2"), None, s("-3.25")],
            vec![s("3"), s("three"), s("0.00")],
        ]
    );

    // The client declares $1 as int4 (as JDBC does) and sends it in binary.
    let statement =
        bounded(client.prepare_typed("SELECT a, b FROM t WHERE a >= $1 ORDER BY a", &[Type::INT4]))
            .await
            .unwrap();
    assert_eq!(statement.params(), &[Type::INT4]);
    let rows = bounded(client.query(&statement, &[&2i32])).await.unwrap();
    let got: Vec<(i32, Option<String>)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, [(2, None), (3, Some("three".to_owned()))]);

    let error = bounded(client.simple_query("SELECT nope FROM t"))
        .await
        .unwrap_err();
    let db = error.as_db_error().unwrap();
    assert_eq!(db.code(), &SqlState::UNDEFINED_COLUMN);

    let error = bounded(client.simple_query("INSERT INTO t VALUES (NULL, 'x', 1)"))
        .await
        .unwrap_err();
    assert_eq!(
        error.as_db_error().unwrap().code(),
        &SqlState::NOT_NULL_VIOLATION
    );
    server.shutdown().await;
}

// A client that leaves parameter types to the server (tokio-postgres, asyncpg) gets them from
// the statement, and may then send typed binary values.
#[tokio::test]
async fn untyped_parameters_take_their_types_from_the_statement() {
    let (server, _dir) = engine_server().await;
    let client = connect(server.local_addr()).await;
    bounded(client.batch_execute(
        "CREATE TABLE p (a INTEGER, b VARCHAR(10), c NUMERIC(10,2));
         INSERT INTO p VALUES (1, 'one', 1.50), (2, 'two', 2.25)",
    ))
    .await
    .unwrap();
    let statement = bounded(client.prepare("SELECT b FROM p WHERE a = $1 AND b <> $2"))
        .await
        .unwrap();
    assert_eq!(statement.params(), &[Type::INT4, Type::VARCHAR]);
    let rows = bounded(client.query(&statement, &[&2i32, &"x"]))
        .await
        .unwrap();
    let got: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(got, ["two"]);
}
