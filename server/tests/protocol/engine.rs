//! End to end: Basalt's engine in a temporary data directory, served over the wire.

use std::sync::Arc;

use crate::common::*;
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

// DEALLOCATE drops a statement Parse prepared (psycopg and psqlODBC clean up this way), so its
// name can be prepared again; an unknown name is 26000; DEALLOCATE ALL drops them all.
#[tokio::test]
async fn deallocate_drops_prepared_statements() {
    let (server, _dir) = engine_server().await;
    let client = connect(server.local_addr()).await;
    let statement = bounded(client.prepare("SELECT 1")).await.unwrap();
    // tokio-postgres numbers statement names across the whole process (s0, s1, ...), and
    // shows the name only in the statement's Debug form.
    let debug = format!("{statement:?}");
    let name = debug
        .split("name: \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert!(name.starts_with('s'), "{debug}");
    bounded(client.batch_execute(&format!("DEALLOCATE {name}")))
        .await
        .unwrap();
    let error = bounded(client.query(&statement, &[])).await.unwrap_err();
    assert_eq!(
        error.as_db_error().unwrap().code(),
        &SqlState::INVALID_SQL_STATEMENT_NAME
    );
    let error = bounded(client.batch_execute(&format!("DEALLOCATE {name}")))
        .await
        .unwrap_err();
    assert_eq!(
        error.as_db_error().unwrap().message(),
        format!("prepared statement \"{name}\" does not exist")
    );
    let again = bounded(client.prepare("SELECT 2")).await.unwrap();
    bounded(client.batch_execute("DEALLOCATE ALL"))
        .await
        .unwrap();
    let error = bounded(client.query(&again, &[])).await.unwrap_err();
    assert_eq!(
        error.as_db_error().unwrap().code(),
        &SqlState::INVALID_SQL_STATEMENT_NAME
    );
    server.shutdown().await;
}

// SET / SHOW over the wire, and the settings a client gives at startup: they become the
// session's values (and RESET's), and an unknown one refuses the connection with 42704.
#[tokio::test]
async fn settings_over_the_wire_and_at_startup() {
    let (server, _dir) = engine_server().await;
    let addr = server.local_addr();
    let mut config = tokio_postgres::Config::new();
    config
        .host(addr.ip().to_string())
        .port(addr.port())
        .user("basalt")
        .dbname("dev")
        .application_name("startup-app");
    let (client, connection) = bounded(config.connect(tokio_postgres::NoTls))
        .await
        .unwrap();
    tokio::spawn(connection);
    let show = |rows: &[tokio_postgres::SimpleQueryMessage]| text_rows(rows)[0][0].clone();
    let rows = bounded(client.simple_query("SHOW application_name"))
        .await
        .unwrap();
    assert_eq!(show(&rows).as_deref(), Some("startup-app"));
    bounded(client.batch_execute("SET application_name = 'other'; RESET application_name"))
        .await
        .unwrap();
    let rows = bounded(client.simple_query("SHOW application_name"))
        .await
        .unwrap();
    assert_eq!(show(&rows).as_deref(), Some("startup-app"));
    // Through the extended protocol too: SET has no result columns, SHOW one text column.
    bounded(client.execute("SET extra_float_digits = 3", &[]))
        .await
        .unwrap();
    let row = bounded(client.query_one("SHOW extra_float_digits", &[]))
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>("extra_float_digits"), "3");

    // `options` carries `-c name=value` settings, as libpq's PGOPTIONS.
    config.options("-c statement_timeout=5s --DateStyle=iso,ymd");
    let client = connect_with(&config).await.unwrap();
    let rows = bounded(client.simple_query("SHOW statement_timeout; SHOW DateStyle"))
        .await
        .unwrap();
    assert_eq!(
        text_rows(&rows),
        [
            vec![Some("5s".to_owned())],
            vec![Some("ISO, YMD".to_owned())]
        ]
    );
    let error = connect_with(config.options("-c nothing=1"))
        .await
        .err()
        .unwrap();
    let db = error.as_db_error().unwrap();
    assert_eq!(db.code(), &SqlState::UNDEFINED_OBJECT);
    assert_eq!(db.severity(), "FATAL");
    assert_eq!(
        db.message(),
        "unrecognized configuration parameter \"nothing\""
    );
    server.shutdown().await;
}

// A cancel request (sent on a connection of its own, with the key from BackendKeyData) stops
// the statement its session runs with 57014; the session lives on, and in a transaction block
// the block is failed until ROLLBACK. Other sessions are untouched.
#[tokio::test]
async fn cancel_requests_stop_the_running_statement() {
    let (server, _dir) = engine_server().await;
    let client = Arc::new(connect(server.local_addr()).await);
    let other = connect(server.local_addr()).await;
    let token = client.cancel_token();

    // A request that arrives before the statement starts is forgotten, as in PostgreSQL, so
    // the request is repeated until the statement reports it.
    let cancelled = |sql: &'static str| {
        let client = Arc::clone(&client);
        let token = token.clone();
        async move {
            let mut running = tokio::spawn(async move { client.simple_query(sql).await });
            bounded(async {
                loop {
                    token.cancel_query(tokio_postgres::NoTls).await.unwrap();
                    tokio::select! {
                        done = &mut running => break done.unwrap(),
                        _ = tokio::time::sleep(std::time::Duration::from_millis(50)) => {}
                    }
                }
            })
            .await
        }
    };

    let error = cancelled("SELECT pg_sleep(600)").await.unwrap_err();
    let db = error.as_db_error().unwrap();
    assert_eq!(db.code(), &SqlState::QUERY_CANCELED);
    assert_eq!(db.message(), "canceling statement due to user request");
    let rows = bounded(client.simple_query("SELECT 1")).await.unwrap();
    assert_eq!(text_rows(&rows), [vec![Some("1".to_owned())]]);

    bounded(client.batch_execute("BEGIN")).await.unwrap();
    let error = cancelled("SELECT pg_sleep(600)").await.unwrap_err();
    assert_eq!(error.code(), Some(&SqlState::QUERY_CANCELED));
    let error = bounded(client.simple_query("SELECT 1")).await.unwrap_err();
    assert_eq!(error.code(), Some(&SqlState::IN_FAILED_SQL_TRANSACTION));
    bounded(client.batch_execute("ROLLBACK")).await.unwrap();

    let rows = bounded(other.simple_query("SELECT 2")).await.unwrap();
    assert_eq!(text_rows(&rows), [vec![Some("2".to_owned())]]);
    server.shutdown().await;
}

// COPY FROM STDIN and COPY TO STDOUT through the simple protocol's copy sub-protocol, as psql
// runs them: CopyInResponse, the client's CopyData and CopyDone, then `COPY n`; a bad row
// fails the whole COPY and commits nothing; CopyFail aborts it; COPY TO STDOUT answers with
// CopyOutResponse, CopyData, CopyDone and `COPY n`.
#[tokio::test]
async fn copy_protocol() {
    let (server, _dir) = engine_server().await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    raw.query("CREATE TABLE c (a INTEGER, b TEXT)").await;

    raw.send(b'Q', &cstr("COPY c FROM STDIN")).await;
    let response = raw.recv().await.unwrap();
    assert_eq!(response.0, b'G', "{response:?}");
    raw.send(b'd', b"1\tone\n2\t\\N\n").await;
    raw.send(b'd', b"3\tthree\n").await;
    raw.send(b'c', &[]).await;
    let done = raw.until_ready().await;
    assert_eq!(tags(&done), "CZ");
    assert_eq!(done[0].1, cstr("COPY 3"));

    raw.send(b'Q', &cstr("COPY c FROM STDIN WITH (FORMAT csv)"))
        .await;
    assert_eq!(raw.recv().await.unwrap().0, b'G');
    raw.send(b'd', b"4,four\nx,bad\n").await;
    raw.send(b'c', &[]).await;
    let failed = raw.until_ready().await;
    assert_eq!(tags(&failed), "EZ");
    let fields = error_fields(&failed[0].1);
    assert!(fields.contains(&(b'C', "22P02".to_string())), "{fields:?}");

    raw.send(b'Q', &cstr("COPY c FROM STDIN")).await;
    assert_eq!(raw.recv().await.unwrap().0, b'G');
    raw.send(b'd', b"5\tfive\n").await;
    raw.send(b'f', &cstr("client gave up")).await;
    let aborted = raw.until_ready().await;
    assert_eq!(tags(&aborted), "EZ");
    let fields = error_fields(&aborted[0].1);
    assert!(fields.contains(&(b'C', "57014".to_string())), "{fields:?}");

    let out = raw
        .query("COPY (SELECT a, b FROM c ORDER BY a) TO STDOUT")
        .await;
    assert_eq!(tags(&out), "HdcCZ");
    assert_eq!(out[1].1, b"1\tone\n2\t\\N\n3\tthree\n");
    assert_eq!(out[3].1, cstr("COPY 3"));

    let out = raw
        .query("COPY c (b) TO STDOUT WITH (FORMAT csv, HEADER)")
        .await;
    // The header line goes in a CopyData of its own (PostgreSQL sends one per line).
    assert_eq!(tags(&out), "HddcCZ");
    assert_eq!(out[1].1, b"b\n");
    assert_eq!(out[2].1, b"one\n\nthree\n");
}
