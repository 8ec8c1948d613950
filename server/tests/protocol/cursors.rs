//! Cursors and savepoints on the wire, message by message: command tags as PostgreSQL sends
//! them, FETCH's RowDescription in the simple and the extended protocol, binary cursors, a
//! cursor described as a portal, and ReadyForQuery's status around ROLLBACK TO.

use crate::common::*;

/// A server with table `t` (a INTEGER, b TEXT) holding rows 1..=5, and a raw client.
async fn server_with_rows() -> (basalt_server::RunningServer, tempfile::TempDir, RawClient) {
    let (server, dir) = engine_server().await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    let messages = raw
        .query(
            "CREATE TABLE t (a INTEGER, b TEXT); \
             INSERT INTO t VALUES (1, 'r1'), (2, 'r2'), (3, 'r3'), (4, 'r4'), (5, 'r5')",
        )
        .await;
    assert_eq!(tags(&messages), "CCZ");
    (server, dir, raw)
}

/// The CommandComplete tags of `messages`.
fn command_tags(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .filter(|(t, _)| *t == b'C')
        .map(|(_, body)| command_tag(body))
        .collect()
}

// The simple protocol: DECLARE, FETCH (rows with the query's RowDescription, `FETCH n`),
// MOVE (`MOVE n`), CLOSE and CLOSE ALL, each tag as PostgreSQL 15 sends it.
#[tokio::test]
async fn simple_protocol_tags_and_rows() {
    let (server, _dir, mut raw) = server_with_rows().await;
    let messages = raw
        .query("BEGIN; DECLARE c CURSOR FOR SELECT a, b FROM t ORDER BY a")
        .await;
    assert_eq!(command_tags(&messages), ["BEGIN", "DECLARE CURSOR"]);
    assert_eq!(messages.last().unwrap().1, b"T");

    let messages = raw.query("FETCH 2 FROM c").await;
    assert_eq!(tags(&messages), "TDDCZ");
    let columns = row_description(&messages[0].1);
    assert_eq!(columns.len(), 2);
    assert_eq!((columns[0].name.as_str(), columns[0].oid), ("a", 23));
    assert_eq!((columns[1].name.as_str(), columns[1].oid), ("b", 25));
    assert_eq!(
        text_row(&messages[2].1),
        [Some("2".to_owned()), Some("r2".to_owned())]
    );
    assert_eq!(command_tags(&messages), ["FETCH 2"]);

    let messages = raw.query("MOVE ALL IN c; FETCH PRIOR c").await;
    assert_eq!(tags(&messages), "CTDCZ");
    assert_eq!(command_tags(&messages), ["MOVE 3", "FETCH 1"]);
    assert_eq!(
        text_row(&messages[2].1),
        [Some("5".to_owned()), Some("r5".to_owned())]
    );

    // A FETCH past the end still describes its rows.
    let messages = raw.query("FETCH ALL c").await;
    assert_eq!(tags(&messages), "TCZ");
    assert_eq!(command_tags(&messages), ["FETCH 0"]);

    let messages = raw
        .query("DECLARE d CURSOR FOR SELECT 1; CLOSE c; CLOSE ALL")
        .await;
    assert_eq!(
        command_tags(&messages),
        ["DECLARE CURSOR", "CLOSE CURSOR", "CLOSE CURSOR ALL"]
    );
    let messages = raw.query("FETCH d").await;
    assert_eq!(tags(&messages), "EZ");
    assert_eq!(error_field(&messages[0].1, b'C').as_deref(), Some("34000"));
    assert_eq!(messages.last().unwrap().1, b"E");
    assert_eq!(command_tags(&raw.query("ROLLBACK").await), ["ROLLBACK"]);

    let messages = raw.query("DECLARE c CURSOR FOR SELECT 1").await;
    assert_eq!(error_field(&messages[0].1, b'C').as_deref(), Some("25P01"));
    assert_eq!(
        error_field(&messages[0].1, b'M').as_deref(),
        Some("DECLARE CURSOR can only be used in transaction blocks")
    );
    server.shutdown().await;
}

// A BINARY cursor's rows reach a simple-protocol client in binary, with format 1 in the
// RowDescription; the extended protocol's result formats override it, as in PostgreSQL.
#[tokio::test]
async fn binary_cursors_send_binary_in_the_simple_protocol() {
    let (server, _dir, mut raw) = server_with_rows().await;
    raw.query("BEGIN; DECLARE bc BINARY CURSOR FOR SELECT a FROM t ORDER BY a")
        .await;
    let messages = raw.query("FETCH 1 bc").await;
    assert_eq!(tags(&messages), "TDCZ");
    assert_eq!(row_description(&messages[0].1)[0].format, 1);
    assert_eq!(
        data_row(&messages[1].1),
        [Some(1i32.to_be_bytes().to_vec())]
    );

    raw.send(b'P', &parse_body("", "FETCH 1 bc", &[])).await;
    raw.send(b'B', &bind_body("", "", &[], &[], &[])).await;
    raw.send(b'E', &execute_body("", 0)).await;
    raw.send(b'S', &[]).await;
    let messages = raw.until_ready().await;
    assert_eq!(tags(&messages), "12DCZ");
    assert_eq!(text_row(&messages[2].1), [Some("2".to_owned())]);
    server.shutdown().await;
}

// The extended protocol: DECLARE with a parameter, FETCH described with the cursor's
// columns, Execute with a row limit, and the cursor described as a portal by its name.
#[tokio::test]
async fn extended_protocol_declare_describe_and_fetch() {
    let (server, _dir, mut raw) = server_with_rows().await;
    raw.query("BEGIN").await;
    raw.send(
        b'P',
        &parse_body(
            "",
            "DECLARE p CURSOR FOR SELECT a, b FROM t WHERE a > $1 ORDER BY a",
            &[],
        ),
    )
    .await;
    raw.send(b'D', &[b"S".as_slice(), &cstr("")].concat()).await;
    raw.send(b'B', &bind_body("", "", &[], &[Some(b"1")], &[]))
        .await;
    raw.send(b'E', &execute_body("", 0)).await;
    raw.send(b'S', &[]).await;
    let messages = raw.until_ready().await;
    assert_eq!(tags(&messages), "1tn2CZ");
    // The parameter takes its type from the query: int4.
    assert_eq!(&messages[1].1[2..], 23u32.to_be_bytes());
    assert_eq!(command_tags(&messages), ["DECLARE CURSOR"]);

    // psycopg describes a named cursor as a portal.
    raw.send(b'D', &[b"P".as_slice(), &cstr("p")].concat())
        .await;
    raw.send(b'S', &[]).await;
    let messages = raw.until_ready().await;
    assert_eq!(tags(&messages), "TZ");
    let names: Vec<String> = row_description(&messages[0].1)
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["a", "b"]);

    raw.send(b'P', &parse_body("f", "FETCH FORWARD 3 FROM p", &[]))
        .await;
    raw.send(b'D', &[b"S".as_slice(), &cstr("f")].concat())
        .await;
    raw.send(b'B', &bind_body("", "f", &[], &[], &[1])).await;
    raw.send(b'E', &execute_body("", 2)).await;
    raw.send(b'E', &execute_body("", 0)).await;
    raw.send(b'S', &[]).await;
    let messages = raw.until_ready().await;
    assert_eq!(tags(&messages), "1tT2DDsDCZ");
    assert_eq!(row_description(&messages[2].1).len(), 2);
    assert_eq!(
        data_row(&messages[4].1)[0],
        Some(2i32.to_be_bytes().to_vec())
    );
    assert_eq!(command_tags(&messages), ["FETCH 1"]);

    // MOVE has no rows to describe.
    raw.send(b'P', &parse_body("", "MOVE ALL p", &[])).await;
    raw.send(b'D', &[b"S".as_slice(), &cstr("")].concat()).await;
    raw.send(b'B', &bind_body("", "", &[], &[], &[])).await;
    raw.send(b'E', &execute_body("", 0)).await;
    raw.send(b'S', &[]).await;
    let messages = raw.until_ready().await;
    assert_eq!(tags(&messages), "1tn2CZ");
    assert_eq!(command_tags(&messages), ["MOVE 1"]);
    server.shutdown().await;
}

// ROLLBACK TO brings a failed block back: ReadyForQuery goes from 'E' to 'T'; the tags are
// SAVEPOINT, ROLLBACK and RELEASE.
#[tokio::test]
async fn rollback_to_clears_the_failed_state() {
    let (server, _dir, mut raw) = server_with_rows().await;
    let messages = raw
        .query("BEGIN; SAVEPOINT s; INSERT INTO t VALUES (6, 'r6')")
        .await;
    assert_eq!(
        command_tags(&messages),
        ["BEGIN", "SAVEPOINT", "INSERT 0 1"]
    );
    let messages = raw.query("SELECT 1 / 0").await;
    assert_eq!(tags(&messages), "EZ");
    assert_eq!(messages.last().unwrap().1, b"E");
    let messages = raw.query("ROLLBACK TO SAVEPOINT s").await;
    assert_eq!(command_tags(&messages), ["ROLLBACK"]);
    assert_eq!(messages.last().unwrap().1, b"T");
    let messages = raw.query("RELEASE s; SELECT count(*) FROM t; COMMIT").await;
    assert_eq!(command_tags(&messages), ["RELEASE", "SELECT 1", "COMMIT"]);
    let rows: Vec<_> = messages
        .iter()
        .filter(|(t, _)| *t == b'D')
        .map(|(_, b)| text_row(b))
        .collect();
    assert_eq!(rows, [[Some("5".to_owned())]]);
    assert_eq!(messages.last().unwrap().1, b"I");
    server.shutdown().await;
}
