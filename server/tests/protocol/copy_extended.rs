//! COPY through the extended query protocol, as tokio-postgres sends it (Parse, Bind,
//! Describe, Execute, Sync): Describe answers NoData, Execute answers CopyInResponse or
//! CopyOutResponse, and the copy sub-protocol follows; errors part-way leave the connection
//! usable and the transaction status as PostgreSQL leaves it. A malformed binary row, and a
//! text or CSV row that does not load, is answered at the CopyData that brings it, in the
//! simple protocol too.

use std::pin::pin;

use bytes::Bytes;
use futures::{SinkExt, TryStreamExt};
use tokio_postgres::binary_copy::{BinaryCopyInWriter, BinaryCopyOutStream};
use tokio_postgres::types::{ToSql, Type};

use crate::common::*;

async fn rows(client: &tokio_postgres::Client, sql: &str) -> Vec<Vec<Option<String>>> {
    text_rows(&bounded(client.simple_query(sql)).await.unwrap())
}

// copy_in in text format, in two pieces; copy_out of the same rows in text; copy_in of a bad
// row commits nothing and the connection goes on.
#[tokio::test]
async fn copy_in_and_out_in_text() {
    let (server, _dir) = engine_server().await;
    let client = connect(server.local_addr()).await;
    bounded(client.batch_execute("CREATE TABLE ct (a INTEGER, b TEXT)"))
        .await
        .unwrap();
    let sink = bounded(client.copy_in("COPY ct FROM STDIN")).await.unwrap();
    let mut sink = pin!(sink);
    bounded(sink.send(Bytes::from_static(b"1\tone\n2\t")))
        .await
        .unwrap();
    bounded(sink.send(Bytes::from_static(b"\\N\n3\tthree\n")))
        .await
        .unwrap();
    assert_eq!(bounded(sink.as_mut().finish()).await.unwrap(), 3);

    let out = bounded(client.copy_out("COPY (SELECT a, b FROM ct ORDER BY a) TO STDOUT"))
        .await
        .unwrap();
    let chunks: Vec<Bytes> = bounded(out.try_collect()).await.unwrap();
    assert_eq!(chunks.concat(), b"1\tone\n2\t\\N\n3\tthree\n");

    let sink = bounded(client.copy_in("COPY ct FROM STDIN (FORMAT csv)"))
        .await
        .unwrap();
    let mut sink = pin!(sink);
    bounded(sink.send(Bytes::from_static(b"4,four\nx,bad\n")))
        .await
        .unwrap();
    let error = bounded(sink.as_mut().finish()).await.unwrap_err();
    assert_eq!(error.code().unwrap().code(), "22P02", "{error:?}");
    assert_eq!(
        rows(&client, "SELECT count(*) FROM ct").await,
        vec![vec![Some("3".to_owned())]]
    );
}

// BinaryCopyInWriter writes rows of several types in binary; BinaryCopyOutStream reads them
// back with the same values (it needs PostgreSQL's framing: a row per CopyData, the header
// with the first row or, for no rows, with the trailer).
#[tokio::test]
async fn binary_copy_in_and_out() {
    let (server, _dir) = engine_server().await;
    let client = connect(server.local_addr()).await;
    bounded(client.batch_execute(
        "CREATE TABLE cb (i INTEGER, b BIGINT, d DOUBLE PRECISION, f BOOLEAN, v VARCHAR(10), \
         x TEXT)",
    ))
    .await
    .unwrap();
    let types = [
        Type::INT4,
        Type::INT8,
        Type::FLOAT8,
        Type::BOOL,
        Type::VARCHAR,
        Type::TEXT,
    ];
    let sink = bounded(client.copy_in("COPY cb FROM STDIN (FORMAT binary)"))
        .await
        .unwrap();
    let writer = BinaryCopyInWriter::new(sink, &types);
    let mut writer = pin!(writer);
    for i in 0..100i32 {
        let text = (i % 3 != 0).then(|| format!("t\t{i}\n"));
        let values: [&(dyn ToSql + Sync); 6] = [
            &i,
            &(i64::from(i) << 33),
            &(f64::from(i) / 8.0),
            &(i % 2 == 0),
            &format!("v{i}"),
            &text,
        ];
        bounded(writer.as_mut().write(&values)).await.unwrap();
    }
    assert_eq!(bounded(writer.as_mut().finish()).await.unwrap(), 100);

    let out =
        bounded(client.copy_out("COPY (SELECT * FROM cb ORDER BY i) TO STDOUT (FORMAT binary)"))
            .await
            .unwrap();
    let read: Vec<_> = bounded(BinaryCopyOutStream::new(out, &types).try_collect())
        .await
        .unwrap();
    assert_eq!(read.len(), 100);
    let none =
        bounded(client.copy_out("COPY (SELECT * FROM cb WHERE i < 0) TO STDOUT (FORMAT binary)"))
            .await
            .unwrap();
    let none: Vec<_> = bounded(BinaryCopyOutStream::new(none, &types).try_collect())
        .await
        .unwrap();
    assert!(none.is_empty());
    for (i, row) in (0..100i32).zip(&read) {
        assert_eq!(row.get::<i32>(0), i);
        assert_eq!(row.get::<i64>(1), i64::from(i) << 33);
        assert_eq!(row.get::<f64>(2), f64::from(i) / 8.0);
        assert_eq!(row.get::<bool>(3), i % 2 == 0);
        assert_eq!(row.get::<&str>(4), format!("v{i}"));
        assert_eq!(
            row.get::<Option<&str>>(5).map(str::to_owned),
            (i % 3 != 0).then(|| format!("t\t{i}\n"))
        );
    }
}

// A copy_in sink dropped before finish sends CopyFail: the COPY loads nothing, the client
// gets 57014 "COPY from stdin failed: ...", and the connection runs the next statement. In a
// transaction block the block fails until ROLLBACK.
#[tokio::test]
async fn abandoned_copy_leaves_the_connection_usable() {
    let (server, _dir) = engine_server().await;
    let mut client = connect(server.local_addr()).await;
    bounded(client.batch_execute("CREATE TABLE cf (a INTEGER)"))
        .await
        .unwrap();
    {
        let sink = bounded(client.copy_in::<_, Bytes>("COPY cf FROM STDIN"))
            .await
            .unwrap();
        let mut sink = Box::pin(sink);
        bounded(sink.send(Bytes::from_static(b"1\n")))
            .await
            .unwrap();
    }
    assert_eq!(
        rows(&client, "SELECT count(*) FROM cf").await,
        vec![vec![Some("0".to_owned())]]
    );

    let txn = bounded(client.transaction()).await.unwrap();
    bounded(txn.execute("INSERT INTO cf VALUES (7)", &[]))
        .await
        .unwrap();
    {
        let sink = bounded(txn.copy_in::<_, Bytes>("COPY cf FROM STDIN"))
            .await
            .unwrap();
        let mut sink = Box::pin(sink);
        bounded(sink.send(Bytes::from_static(b"2\n")))
            .await
            .unwrap();
    }
    let error = bounded(txn.simple_query("SELECT 1")).await.unwrap_err();
    assert_eq!(error.code().unwrap().code(), "25P02", "{error:?}");
    bounded(txn.rollback()).await.unwrap();
    assert_eq!(
        rows(&client, "SELECT count(*) FROM cf").await,
        vec![vec![Some("0".to_owned())]]
    );
}

// The exact messages: Describe of a COPY portal is NoData, Execute is CopyInResponse; a Sync
// sent with the Execute is ignored in copy mode; CopyFail gets ErrorResponse 57014 with the
// client's message, and the following Sync ReadyForQuery, 'E' inside a transaction block.
// Execute of COPY TO STDOUT is CopyOutResponse, CopyData, CopyDone and `COPY n`.
#[tokio::test]
async fn copy_messages_in_the_extended_protocol() {
    let (server, _dir) = engine_server().await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    raw.query("CREATE TABLE cm (a INTEGER)").await;
    raw.query("BEGIN").await;

    raw.send(b'P', &parse_body("", "COPY cm FROM STDIN", &[]))
        .await;
    raw.send(b'B', &bind_body("", "", &[], &[], &[])).await;
    raw.send(b'D', &[&[b'P'][..], &cstr("")].concat()).await;
    raw.send(b'E', &execute_body("", 0)).await;
    raw.send(b'S', &[]).await;
    let mut head = Vec::new();
    for _ in 0..4 {
        head.push(raw.recv().await.unwrap());
    }
    assert_eq!(tags(&head), "12nG");
    assert_eq!(head[3].1, [0, 0, 1, 0, 0]);
    raw.send(b'd', b"1\n").await;
    raw.send(b'f', &cstr("no more")).await;
    raw.send(b'S', &[]).await;
    let failed = raw.until_ready().await;
    assert_eq!(tags(&failed), "EZ");
    assert_eq!(
        error_field(&failed[0].1, b'C').as_deref(),
        Some("57014"),
        "{failed:?}"
    );
    assert_eq!(
        error_field(&failed[0].1, b'M').as_deref(),
        Some("COPY from stdin failed: no more")
    );
    assert_eq!(failed[1].1, b"E");
    raw.query("ROLLBACK").await;

    raw.send(
        b'P',
        &parse_body("", "COPY cm FROM STDIN (FORMAT csv)", &[]),
    )
    .await;
    raw.send(b'B', &bind_body("", "", &[], &[], &[])).await;
    raw.send(b'E', &execute_body("", 0)).await;
    raw.send(b'S', &[]).await;
    raw.send(b'd', b"5\n6\n").await;
    raw.send(b'c', &[]).await;
    raw.send(b'S', &[]).await;
    let done = raw.until_ready().await;
    assert_eq!(tags(&done), "12GCZ");
    assert_eq!(done[3].1, cstr("COPY 2"));
    assert_eq!(done[4].1, b"I");

    raw.send(b'P', &parse_body("", "COPY cm TO STDOUT", &[]))
        .await;
    raw.send(b'B', &bind_body("", "", &[], &[], &[])).await;
    raw.send(b'D', &[&[b'P'][..], &cstr("")].concat()).await;
    raw.send(b'E', &execute_body("", 0)).await;
    raw.send(b'S', &[]).await;
    let out = raw.until_ready().await;
    assert_eq!(tags(&out), "12nHdcCZ");
    assert_eq!(out[4].1, b"5\n6\n");
    assert_eq!(out[6].1, cstr("COPY 2"));

    // A COPY the session refuses fails at Execute; the rest waits for Sync.
    raw.send(b'P', &parse_body("", "COPY nosuch FROM STDIN", &[]))
        .await;
    raw.send(b'B', &bind_body("", "", &[], &[], &[])).await;
    raw.send(b'E', &execute_body("", 0)).await;
    raw.send(b'S', &[]).await;
    let refused = raw.until_ready().await;
    assert_eq!(tags(&refused), "12EZ", "{refused:?}");
    assert_eq!(error_field(&refused[2].1, b'C').as_deref(), Some("42P01"));
}

/// A binary COPY header with no extension.
const BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// A binary COPY tuple of one INTEGER.
fn int_tuple(v: i32) -> Vec<u8> {
    [
        &1i16.to_be_bytes()[..],
        &4i32.to_be_bytes(),
        &v.to_be_bytes(),
    ]
    .concat()
}

// Input: binary COPY FROM STDIN whose second CopyData holds a tuple of two fields for a
// one-column table, in the simple protocol (outside and inside a transaction block) and in the
// extended protocol. As in PostgreSQL the error (22P04) comes back at once, before the client
// ends the data: ReadyForQuery follows it in the simple protocol ('E' in the block), the
// extended protocol waits for Sync; the client's later CopyData and CopyDone are ignored, and
// no row of the COPY is loaded.
#[tokio::test]
async fn malformed_binary_row_fails_at_its_copy_data() {
    let (server, _dir) = engine_server().await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    raw.query("CREATE TABLE cbad (a INTEGER)").await;
    let bad_tuple = [&2i16.to_be_bytes()[..], &[0, 0, 0, 0], &[0, 0, 0, 0]].concat();
    let count = |messages: &[Message]| text_row(&messages[1].1)[0].clone();

    raw.send(b'Q', &cstr("COPY cbad FROM STDIN (FORMAT binary)"))
        .await;
    assert_eq!(raw.recv().await.unwrap().0, b'G');
    raw.send(b'd', &[BINARY_HEADER, &int_tuple(1)].concat())
        .await;
    raw.send(b'd', &bad_tuple).await;
    let failed = raw.until_ready().await;
    assert_eq!(tags(&failed), "EZ", "{failed:?}");
    assert_eq!(error_field(&failed[0].1, b'C').as_deref(), Some("22P04"));
    assert_eq!(
        error_field(&failed[0].1, b'M').as_deref(),
        Some("row field count is 2, expected 1")
    );
    assert_eq!(failed[1].1, b"I");
    raw.send(b'd', &int_tuple(3)).await;
    raw.send(b'c', &[]).await;
    let counted = raw.query("SELECT count(*) FROM cbad").await;
    assert_eq!(tags(&counted), "TDCZ", "{counted:?}");
    assert_eq!(count(&counted).as_deref(), Some("0"));

    raw.query("BEGIN").await;
    raw.query("INSERT INTO cbad VALUES (7)").await;
    raw.send(b'Q', &cstr("COPY cbad FROM STDIN (FORMAT binary)"))
        .await;
    assert_eq!(raw.recv().await.unwrap().0, b'G');
    raw.send(b'd', &[BINARY_HEADER, &int_tuple(1), &bad_tuple].concat())
        .await;
    let failed = raw.until_ready().await;
    assert_eq!(tags(&failed), "EZ", "{failed:?}");
    assert_eq!(failed[1].1, b"E");
    raw.send(b'c', &[]).await;
    let refused = raw.query("SELECT 1").await;
    assert_eq!(error_field(&refused[0].1, b'C').as_deref(), Some("25P02"));
    raw.query("ROLLBACK").await;

    raw.send(
        b'P',
        &parse_body("", "COPY cbad FROM STDIN (FORMAT binary)", &[]),
    )
    .await;
    raw.send(b'B', &bind_body("", "", &[], &[], &[])).await;
    raw.send(b'E', &execute_body("", 0)).await;
    raw.send(b'S', &[]).await;
    let mut head = Vec::new();
    for _ in 0..3 {
        head.push(raw.recv().await.unwrap());
    }
    assert_eq!(tags(&head), "12G");
    raw.send(b'd', &[BINARY_HEADER, &int_tuple(1)].concat())
        .await;
    raw.send(b'd', &bad_tuple).await;
    let error = raw.recv().await.unwrap();
    assert_eq!(error.0, b'E', "{error:?}");
    assert_eq!(error_field(&error.1, b'C').as_deref(), Some("22P04"));
    raw.send(b'd', &int_tuple(3)).await;
    raw.send(b'c', &[]).await;
    raw.send(b'S', &[]).await;
    assert_eq!(tags(&raw.until_ready().await), "Z");
    let counted = raw.query("SELECT count(*) FROM cbad").await;
    assert_eq!(count(&counted).as_deref(), Some("0"));
}

// Input: text COPY FROM STDIN of a few rows, far less than a parse window, whose third line
// is bad and arrives split over two CopyData messages; then a CSV COPY whose quoted field
// holds a newline and spans two messages before a bad row. As in PostgreSQL the error comes
// back at the CopyData that ends the bad line, before the client ends the data (nothing
// waits for CopyDone): 22P02 naming line and column, ReadyForQuery ('E' inside a block);
// the client's later CopyData and CopyDone are ignored and no row is loaded.
#[tokio::test]
async fn bad_text_row_fails_at_the_copy_data_that_ends_its_line() {
    let (server, _dir) = engine_server().await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    raw.query("CREATE TABLE ctext (a INTEGER, b TEXT)").await;
    let count = |messages: &[Message]| text_row(&messages[1].1)[0].clone();

    raw.send(b'Q', &cstr("COPY ctext FROM STDIN")).await;
    assert_eq!(raw.recv().await.unwrap().0, b'G');
    raw.send(b'd', b"1\tx\n2\ty\noo").await;
    raw.send(b'd', b"ps\tz").await;
    raw.send(b'd', b"\n3\tw\n").await;
    let failed = raw.until_ready().await;
    assert_eq!(tags(&failed), "EZ", "{failed:?}");
    assert_eq!(error_field(&failed[0].1, b'C').as_deref(), Some("22P02"));
    let message = error_field(&failed[0].1, b'M').unwrap_or_default();
    assert!(
        message.starts_with("invalid input syntax for type integer: \"oops\"")
            && message.contains("line 3, column a"),
        "{message}"
    );
    assert_eq!(failed[1].1, b"I");
    raw.send(b'd', b"4\tv\n").await;
    raw.send(b'c', &[]).await;
    let counted = raw.query("SELECT count(*) FROM ctext").await;
    assert_eq!(tags(&counted), "TDCZ", "{counted:?}");
    assert_eq!(count(&counted).as_deref(), Some("0"));

    raw.query("BEGIN").await;
    raw.query("INSERT INTO ctext VALUES (7, 'kept until the error')")
        .await;
    raw.send(b'Q', &cstr("COPY ctext FROM STDIN (FORMAT csv)"))
        .await;
    assert_eq!(raw.recv().await.unwrap().0, b'G');
    raw.send(b'd', b"1,\"two\nlines").await;
    raw.send(b'd', b"\"\n2,x\nbad,").await;
    raw.send(b'd', b"y\n").await;
    let failed = raw.until_ready().await;
    assert_eq!(tags(&failed), "EZ", "{failed:?}");
    assert_eq!(error_field(&failed[0].1, b'C').as_deref(), Some("22P02"));
    let message = error_field(&failed[0].1, b'M').unwrap_or_default();
    assert!(message.contains(", column a)"), "{message}");
    assert_eq!(failed[1].1, b"E");
    raw.send(b'c', &[]).await;
    let refused = raw.query("SELECT 1").await;
    assert_eq!(error_field(&refused[0].1, b'C').as_deref(), Some("25P02"));
    raw.query("ROLLBACK").await;
    let counted = raw.query("SELECT count(*) FROM ctext").await;
    assert_eq!(count(&counted).as_deref(), Some("0"));
}

// Input: text COPY FROM STDIN of 400,000 good rows in 8 KB CopyData messages (more than a
// segment, so whole runs of rows have gone to the load's transaction), then a message that
// ends a bad row, then no more data. The error comes back at that message, before any
// CopyDone (22P02, the row's line), the client's CopyDone after it is ignored, nothing is
// committed, and the connection loads the same rows afterwards.
#[tokio::test]
async fn bad_row_after_many_messages_fails_before_copy_done() {
    let (server, _dir) = engine_server().await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    raw.query("CREATE TABLE cmany (a INTEGER, b TEXT)").await;
    let count = |messages: &[Message]| text_row(&messages[1].1)[0].clone();
    let good: Vec<u8> = (0..400_000)
        .flat_map(|i| format!("{i}\tv{}\n", i % 977).into_bytes())
        .collect();

    raw.send(b'Q', &cstr("COPY cmany FROM STDIN")).await;
    assert_eq!(raw.recv().await.unwrap().0, b'G');
    for piece in good.chunks(8 << 10) {
        raw.send(b'd', piece).await;
    }
    raw.send(b'd', b"oops\tz\n").await;
    let failed = raw.until_ready().await;
    assert_eq!(tags(&failed), "EZ", "{failed:?}");
    assert_eq!(error_field(&failed[0].1, b'C').as_deref(), Some("22P02"));
    let message = error_field(&failed[0].1, b'M').unwrap_or_default();
    assert!(
        message.contains("\"oops\"") && message.contains("line 400001, column a"),
        "{message}"
    );
    raw.send(b'c', &[]).await;
    let counted = raw.query("SELECT count(*) FROM cmany").await;
    assert_eq!(tags(&counted), "TDCZ", "{counted:?}");
    assert_eq!(count(&counted).as_deref(), Some("0"));

    raw.send(b'Q', &cstr("COPY cmany FROM STDIN")).await;
    assert_eq!(raw.recv().await.unwrap().0, b'G');
    for piece in good.chunks(8 << 10) {
        raw.send(b'd', piece).await;
    }
    raw.send(b'c', &[]).await;
    let done = raw.until_ready().await;
    assert_eq!(tags(&done), "CZ", "{done:?}");
    let counted = raw.query("SELECT count(*), sum(a) FROM cmany").await;
    assert_eq!(
        text_row(&counted[1].1),
        vec![Some("400000".to_owned()), Some("79999800000".to_owned())]
    );
}
