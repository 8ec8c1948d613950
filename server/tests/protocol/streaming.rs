//! Results stream from the engine: the first rows of a query reach the client while later
//! segments are still being read, so a client sees rows before an error in a later segment,
//! can cancel (or hang up on) a query that is still producing rows, and can read a portal a
//! few rows at a time. Each test's query could not pass if the whole result were computed
//! before the first row was sent: its last segment either fails or sleeps for ten minutes.

use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch};
use basalt_storage::segment::SEGMENT_ROWS_MAX;

use crate::common::*;

/// Rows of the test table: three full segments and a few rows of a fourth.
const ROWS: i64 = 3 * SEGMENT_ROWS_MAX as i64 + 10;

/// A query over the test table whose last row sleeps ten minutes (interruptibly).
const SLEEPER: &str =
    "SELECT x, pg_sleep(CASE WHEN x = 3 * 262144 + 9 THEN 600 ELSE 0 END) FROM big";

/// A server whose engine has table `big (x BIGINT)` holding 0..ROWS in order, over four
/// segments, and at most one query running at a time.
async fn big_table_server() -> (basalt_server::RunningServer, tempfile::TempDir) {
    assert_eq!(SEGMENT_ROWS_MAX, 262_144, "SLEEPER names the last row");
    let dir = tempfile::tempdir().unwrap();
    let engine = basalt_engine::Engine::open_with(
        dir.path(),
        basalt_engine::EngineOptions {
            max_concurrent_queries: 1,
            ..Default::default()
        },
    )
    .unwrap();
    {
        let mut session = engine.session("basalt");
        session.run("CREATE TABLE big (x BIGINT)").unwrap();
        let batch = RecordBatch::try_from_iter([(
            "x",
            Arc::new(Int64Array::from_iter_values(0..ROWS)) as _,
        )])
        .unwrap();
        session.append_batches("big", &[batch]).unwrap();
    }
    let server = basalt_server::start(
        engine,
        basalt_server::ServerConfig::new("127.0.0.1:0".parse().unwrap()),
    )
    .await
    .unwrap();
    (server, dir)
}

/// Reads messages until the first DataRow, which it returns; fails on anything but a
/// RowDescription before it.
async fn first_data_row(raw: &mut RawClient) -> Vec<Option<String>> {
    loop {
        let (tag, body) = raw.recv().await.expect("connection closed before a row");
        match tag {
            b'T' => continue,
            b'D' => return text_row(&body),
            _ => panic!("expected rows, got {}: {:?}", tag as char, body),
        }
    }
}

/// Reads DataRows until another message arrives; returns how many, and that message.
async fn rows_until_other(raw: &mut RawClient) -> (usize, Message) {
    let mut rows = 0;
    loop {
        let message = raw.recv().await.expect("connection closed mid-result");
        if message.0 != b'D' {
            return (rows, message);
        }
        rows += 1;
    }
}

/// The process id and secret key of a connection's BackendKeyData.
fn backend_key(startup: &[Message]) -> (i32, i32) {
    let (_, body) = startup
        .iter()
        .find(|(tag, _)| *tag == b'K')
        .expect("no BackendKeyData");
    (
        i32::from_be_bytes(body[0..4].try_into().unwrap()),
        i32::from_be_bytes(body[4..8].try_into().unwrap()),
    )
}

/// Checks that a new connection can run a query over the table, which needs the server's only
/// query slot: whatever ran before has given it back.
async fn the_query_slot_is_free(addr: std::net::SocketAddr) {
    let observer = connect(addr).await;
    let messages = bounded(observer.simple_query("SELECT count(*) FROM big"))
        .await
        .unwrap();
    assert_eq!(text_rows(&messages), [[Some(ROWS.to_string())]]);
}

/// Sends a CancelRequest for (`pid`, `key`) on a connection of its own.
async fn send_cancel(addr: std::net::SocketAddr, (pid, key): (i32, i32)) {
    use tokio::io::AsyncWriteExt;
    let mut stream = bounded(tokio::net::TcpStream::connect(addr)).await.unwrap();
    let mut packet = 16i32.to_be_bytes().to_vec();
    packet.extend_from_slice(&80_877_102i32.to_be_bytes());
    packet.extend_from_slice(&pid.to_be_bytes());
    packet.extend_from_slice(&key.to_be_bytes());
    bounded(stream.write_all(&packet)).await.unwrap();
}

// Input: 786,442 rows over four segments and a division by zero at the last row. The rows of
// the first three segments arrive, in order, then the error (22012), then ReadyForQuery; the
// connection goes on serving, as in PostgreSQL.
#[tokio::test]
async fn an_error_in_a_later_batch_follows_the_rows_before_it() {
    let (server, _dir) = big_table_server().await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    raw.send(b'Q', &cstr("SELECT x, 1 / (x - (3 * 262144 + 9)) FROM big"))
        .await;
    assert_eq!(
        first_data_row(&mut raw).await,
        [Some("0".into()), Some("0".into())]
    );
    let (rows, (tag, body)) = rows_until_other(&mut raw).await;
    assert_eq!(tag, b'E', "{body:?}");
    assert_eq!(error_field(&body, b'C').as_deref(), Some("22012"));
    // Every row of the first three segments, and none of the fourth.
    assert_eq!(rows + 1, 3 * SEGMENT_ROWS_MAX as usize);
    let (tag, _) = raw.recv().await.unwrap();
    assert_eq!(tag, b'Z');
    let messages = raw.query("SELECT count(*) FROM big").await;
    assert_eq!(tags(&messages), "TDCZ");
    assert_eq!(text_row(&messages[1].1), [Some(ROWS.to_string())]);
    server.shutdown().await;
}

// Input: UNION ALL of the table and a query over it failing with a division by zero at its
// last row. UNION ALL streams its inputs in turn: every row of the first arrives, then the
// second's first three segments, then the error (22012), as a query over one table of twice
// the rows would send them.
#[tokio::test]
async fn union_all_streams_its_inputs_in_turn() {
    let (server, _dir) = big_table_server().await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    raw.send(
        b'Q',
        &cstr("SELECT x FROM big UNION ALL SELECT 1 / (x - (3 * 262144 + 9)) FROM big"),
    )
    .await;
    assert_eq!(first_data_row(&mut raw).await, [Some("0".into())]);
    let (rows, (tag, body)) = rows_until_other(&mut raw).await;
    assert_eq!(tag, b'E', "{body:?}");
    assert_eq!(error_field(&body, b'C').as_deref(), Some("22012"));
    assert_eq!(rows + 1, ROWS as usize + 3 * SEGMENT_ROWS_MAX as usize);
    assert_eq!(raw.recv().await.unwrap().0, b'Z');
    server.shutdown().await;
}

// Input: a query whose last row sleeps ten minutes. Its first row arrives while it sleeps; a
// cancel request then stops it with 57014 after the rows already sent, and the session is
// ready for the next query (which needs the only query slot).
#[tokio::test]
async fn a_streaming_query_can_be_cancelled_after_its_first_rows() {
    let (server, _dir) = big_table_server().await;
    let addr = server.local_addr();
    let (mut raw, startup) = RawClient::connect(addr).await;
    raw.send(b'Q', &cstr(SLEEPER)).await;
    assert_eq!(
        first_data_row(&mut raw).await,
        [Some("0".into()), Some("".into())]
    );
    send_cancel(addr, backend_key(&startup)).await;
    let (_, (tag, body)) = rows_until_other(&mut raw).await;
    assert_eq!(tag, b'E', "{body:?}");
    assert_eq!(error_field(&body, b'C').as_deref(), Some("57014"));
    assert_eq!(raw.recv().await.unwrap().0, b'Z');
    let messages = raw.query("SELECT max(x) FROM big").await;
    assert_eq!(text_row(&messages[1].1), [Some((ROWS - 1).to_string())]);
    server.shutdown().await;
}

// Input: the same query under a one-second statement_timeout: rows arrive, then 57014 for the
// timeout, inside a transaction block, which the error fails.
#[tokio::test]
async fn statement_timeout_stops_a_streaming_query() {
    let (server, _dir) = big_table_server().await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    raw.query("BEGIN").await;
    raw.query("SET statement_timeout = 1000").await;
    raw.send(b'Q', &cstr(SLEEPER)).await;
    first_data_row(&mut raw).await;
    let (_, (tag, body)) = rows_until_other(&mut raw).await;
    assert_eq!(tag, b'E', "{body:?}");
    assert_eq!(error_field(&body, b'C').as_deref(), Some("57014"));
    assert_eq!(
        error_field(&body, b'M').as_deref(),
        Some("canceling statement due to statement timeout")
    );
    // ReadyForQuery reports the failed block.
    let (tag, body) = raw.recv().await.unwrap();
    assert_eq!((tag, body), (b'Z', vec![b'E']));
    let messages = raw.query("SELECT 1").await;
    assert_eq!(error_field(&messages[0].1, b'C').as_deref(), Some("25P02"));
    raw.query("ROLLBACK").await;
    server.shutdown().await;
}

// Input: the same query; the client hangs up after its first row. The query stops and gives
// its query slot back (a second connection then runs a query over a table, which needs it).
#[tokio::test]
async fn a_client_that_hangs_up_mid_stream_frees_the_query() {
    let (server, _dir) = big_table_server().await;
    let addr = server.local_addr();
    let (mut raw, _) = RawClient::connect(addr).await;
    raw.send(b'Q', &cstr(SLEEPER)).await;
    first_data_row(&mut raw).await;
    drop(raw);
    the_query_slot_is_free(addr).await;
    server.shutdown().await;
}

// Input: all of the table through the extended protocol, read five rows at a time (as
// pgjdbc's setFetchSize does): each Execute sends the next five rows in order and
// PortalSuspended; the portal keeps the rest of the stream while the client waits; closing it
// stops the query, which gives its query slot back.
#[tokio::test]
async fn a_portal_reads_a_stream_a_few_rows_at_a_time() {
    let (server, _dir) = big_table_server().await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    raw.send(b'P', &parse_body("", "SELECT x FROM big", &[]))
        .await;
    raw.send(b'B', &bind_body("p", "", &[], &[], &[])).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        raw.send(b'E', &execute_body("p", 5)).await;
        raw.send(b'H', &[]).await;
        loop {
            let (tag, body) = raw.recv().await.unwrap();
            match tag {
                b'1' | b'2' => {}
                b'D' => seen.push(text_row(&body)[0].clone().unwrap()),
                b's' => break,
                _ => panic!("unexpected {}: {body:?}", tag as char),
            }
        }
    }
    let expected: Vec<String> = (0..15).map(|i| i.to_string()).collect();
    assert_eq!(seen, expected);
    let mut close = vec![b'P'];
    close.extend(cstr("p"));
    raw.send(b'C', &close).await;
    raw.send(b'S', &[]).await;
    let messages = raw.until_ready().await;
    assert_eq!(tags(&messages), "3Z");
    // The closed portal's query gave its slot back.
    let messages = raw.query("SELECT count(*) FROM big").await;
    assert_eq!(text_row(&messages[1].1), [Some(ROWS.to_string())]);
    server.shutdown().await;
}

/// Reads messages until the first CopyData, after the CopyOutResponse; returns its bytes.
async fn first_copy_data(raw: &mut RawClient) -> Vec<u8> {
    let (tag, body) = raw.recv().await.expect("connection closed before the copy");
    assert_eq!(tag, b'H', "{body:?}");
    let (tag, body) = raw.recv().await.expect("connection closed before the data");
    assert_eq!(tag, b'd', "{body:?}");
    body
}

/// Reads CopyData messages until another message arrives; returns their bytes and that
/// message.
async fn copy_data_until_other(raw: &mut RawClient) -> (Vec<u8>, Message) {
    let mut data = Vec::new();
    loop {
        let (tag, body) = raw.recv().await.expect("connection closed mid-copy");
        if tag != b'd' {
            return (data, (tag, body));
        }
        data.extend_from_slice(&body);
    }
}

/// The rows of a simple-protocol FETCH's reply, in text, and its command tag.
async fn fetched(raw: &mut RawClient, sql: &str) -> (Vec<String>, String) {
    let messages = raw.query(sql).await;
    let rows = messages
        .iter()
        .filter(|(tag, _)| *tag == b'D')
        .map(|(_, body)| text_row(body)[0].clone().unwrap())
        .collect();
    let tag = messages
        .iter()
        .find(|(tag, _)| *tag == b'C')
        .map(|(_, body)| command_tag(body))
        .unwrap_or_else(|| panic!("{sql}: no CommandComplete in {messages:?}"));
    (rows, tag)
}

// Input: a NO SCROLL cursor over the query whose last row sleeps ten minutes (a cursor that
// ran its query whole before its first FETCH would sleep there, and the test step would time
// out). FETCH n, FETCH FORWARD, MOVE and FETCH NEXT read from the running query in order; a
// FETCH ALL sends the rows before the sleeping one as they come, then is cancelled (57014)
// while it waits on that row, which stops the query and frees the only query slot. Before it, a step back on another NO SCROLL cursor is refused
// with 55000, as PostgreSQL refuses it, and leaves that cursor unusable.
#[tokio::test]
async fn a_cursor_reads_a_running_query_a_few_rows_at_a_time() {
    let (server, _dir) = big_table_server().await;
    let addr = server.local_addr();
    let (mut raw, startup) = RawClient::connect(addr).await;
    raw.query("BEGIN").await;
    raw.query("DECLARE d NO SCROLL CURSOR FOR SELECT x FROM big")
        .await;
    let (rows, _) = fetched(&mut raw, "FETCH 1 FROM d").await;
    assert_eq!(rows, ["0"]);
    raw.query("SAVEPOINT s").await;
    let messages = raw.query("FETCH BACKWARD 1 FROM d").await;
    assert_eq!(tags(&messages), "EZ");
    assert_eq!(error_field(&messages[0].1, b'C').as_deref(), Some("55000"));
    raw.query("ROLLBACK TO s").await;
    let messages = raw.query("FETCH 1 FROM d").await;
    assert_eq!(error_field(&messages[0].1, b'C').as_deref(), Some("55000"));
    raw.query("ROLLBACK TO s").await;
    assert_eq!(tags(&raw.query("CLOSE d").await), "CZ");
    let messages = raw
        .query(&format!("DECLARE c NO SCROLL CURSOR FOR {SLEEPER}"))
        .await;
    assert_eq!(tags(&messages), "CZ");
    let (rows, tag) = fetched(&mut raw, "FETCH 3 FROM c").await;
    assert_eq!(
        (rows, tag.as_str()),
        (vec!["0".into(), "1".into(), "2".into()], "FETCH 3")
    );
    let (rows, tag) = fetched(&mut raw, "FETCH FORWARD 2 FROM c").await;
    assert_eq!(
        (rows, tag.as_str()),
        (vec!["3".into(), "4".into()], "FETCH 2")
    );
    let (rows, tag) = fetched(&mut raw, "MOVE FORWARD 300000 IN c").await;
    assert_eq!((rows.len(), tag.as_str()), (0, "MOVE 300000"));
    let (rows, tag) = fetched(&mut raw, "FETCH NEXT FROM c").await;
    assert_eq!((rows, tag.as_str()), (vec!["300005".into()], "FETCH 1"));
    raw.send(b'Q', &cstr("FETCH ALL FROM c")).await;
    // The FETCH streams what comes before the sleeping row, then waits on it: cancel it.
    assert_eq!(
        first_data_row(&mut raw).await,
        [Some("300006".into()), Some("".into())]
    );
    send_cancel(addr, backend_key(&startup)).await;
    let (_, (tag, body)) = rows_until_other(&mut raw).await;
    assert_eq!(tag, b'E', "{body:?}");
    assert_eq!(error_field(&body, b'C').as_deref(), Some("57014"));
    assert_eq!(raw.recv().await.unwrap(), (b'Z', vec![b'E']));
    // As in PostgreSQL, the cursor cannot be run again; the block is failed anyway.
    raw.query("ROLLBACK").await;
    let messages = raw.query("SELECT count(*) FROM big").await;
    assert_eq!(text_row(&messages[1].1), [Some(ROWS.to_string())]);
    server.shutdown().await;
}

// Input: a scrollable cursor over the query whose last row sleeps ten minutes, read with
// FETCH 1000000 under a one-second statement_timeout. The rows before the sleeping one
// arrive while it sleeps, in order (a FETCH that gathered its answer before sending it would
// send none before the timeout), then 57014 for the timeout fails the block; after ROLLBACK
// the query slot is free.
#[tokio::test]
async fn a_large_fetch_streams_its_rows_and_times_out() {
    let (server, _dir) = big_table_server().await;
    let addr = server.local_addr();
    let (mut raw, _) = RawClient::connect(addr).await;
    raw.query("BEGIN").await;
    let messages = raw
        .query(&format!("DECLARE c SCROLL CURSOR FOR {SLEEPER}"))
        .await;
    assert_eq!(tags(&messages), "CZ");
    raw.query("SET statement_timeout = 1000").await;
    raw.send(b'Q', &cstr("FETCH 1000000 FROM c")).await;
    assert_eq!(
        first_data_row(&mut raw).await,
        [Some("0".into()), Some("".into())]
    );
    let mut next = 1u64;
    let (tag, body) = loop {
        let (tag, body) = raw.recv().await.expect("connection closed mid-result");
        if tag != b'D' {
            break (tag, body);
        }
        assert_eq!(text_row(&body)[0], Some(next.to_string()));
        next += 1;
    };
    assert_eq!(tag, b'E', "{body:?}");
    assert_eq!(error_field(&body, b'C').as_deref(), Some("57014"));
    assert_eq!(
        error_field(&body, b'M').as_deref(),
        Some("canceling statement due to statement timeout")
    );
    // Nothing of the batch holding the sleeping row.
    assert!(next <= 3 * SEGMENT_ROWS_MAX as u64, "{next} rows");
    assert_eq!(raw.recv().await.unwrap(), (b'Z', vec![b'E']));
    raw.query("ROLLBACK").await;
    the_query_slot_is_free(addr).await;
    server.shutdown().await;
}

// Input: a cursor over the whole table, read two rows, left open. With one query slot, the
// same session and another one each run a query over the table meanwhile (an open cursor
// holds no slot between FETCHes); the cursor then goes on where it was, and CLOSE ends it.
#[tokio::test]
async fn an_open_cursor_does_not_hold_the_query_slot_between_fetches() {
    let (server, _dir) = big_table_server().await;
    let addr = server.local_addr();
    let (mut raw, _) = RawClient::connect(addr).await;
    raw.query("BEGIN").await;
    raw.query("DECLARE c CURSOR FOR SELECT x FROM big").await;
    let (rows, _) = fetched(&mut raw, "FETCH 2 FROM c").await;
    assert_eq!(rows, ["0", "1"]);
    let messages = raw.query("SELECT count(*) FROM big").await;
    assert_eq!(text_row(&messages[1].1), [Some(ROWS.to_string())]);
    let observer = connect(addr).await;
    let messages = bounded(observer.simple_query("SELECT max(x) FROM big"))
        .await
        .unwrap();
    assert_eq!(text_rows(&messages), [[Some((ROWS - 1).to_string())]]);
    let (rows, _) = fetched(&mut raw, "FETCH 2 FROM c").await;
    assert_eq!(rows, ["2", "3"]);
    // A scrollable cursor keeps what it read: back to the first row.
    let (rows, _) = fetched(&mut raw, "FETCH ABSOLUTE 1 FROM c").await;
    assert_eq!(rows, ["0"]);
    let (rows, tag) = fetched(&mut raw, "MOVE LAST IN c").await;
    assert_eq!((rows.len(), tag.as_str()), (0, "MOVE 1"));
    let (rows, _) = fetched(&mut raw, "FETCH PRIOR FROM c").await;
    assert_eq!(rows, [(ROWS - 2).to_string()]);
    assert_eq!(tags(&raw.query("CLOSE c").await), "CZ");
    raw.query("COMMIT").await;
    server.shutdown().await;
}

// Input: COPY of the query whose last row sleeps ten minutes, in text. The first rows arrive
// as CopyData while the query sleeps (a COPY that encoded its whole result first would never
// send them); a cancel request then ends the copy with 57014 and frees the query slot.
#[tokio::test]
async fn copy_to_stdout_streams_and_can_be_cancelled() {
    let (server, _dir) = big_table_server().await;
    let addr = server.local_addr();
    let (mut raw, startup) = RawClient::connect(addr).await;
    raw.send(b'Q', &cstr(&format!("COPY ({SLEEPER}) TO STDOUT")))
        .await;
    let first = first_copy_data(&mut raw).await;
    assert!(first.starts_with(b"0\t\n1\t\n2\t\n"), "{first:?}");
    send_cancel(addr, backend_key(&startup)).await;
    let (_, (tag, body)) = copy_data_until_other(&mut raw).await;
    assert_eq!(tag, b'E', "{body:?}");
    assert_eq!(error_field(&body, b'C').as_deref(), Some("57014"));
    assert_eq!(raw.recv().await.unwrap().0, b'Z');
    let messages = raw.query("SELECT count(*) FROM big").await;
    assert_eq!(text_row(&messages[1].1), [Some(ROWS.to_string())]);
    server.shutdown().await;
}

// Input: the same COPY in CSV with a header; the client reads the first CopyData and hangs
// up. The query stops and gives its slot back to a second connection's query.
#[tokio::test]
async fn a_client_that_hangs_up_mid_copy_frees_the_query() {
    let (server, _dir) = big_table_server().await;
    let addr = server.local_addr();
    let (mut raw, _) = RawClient::connect(addr).await;
    raw.send(
        b'Q',
        &cstr(&format!(
            "COPY ({SLEEPER}) TO STDOUT WITH (FORMAT csv, HEADER)"
        )),
    )
    .await;
    let first = first_copy_data(&mut raw).await;
    assert_eq!(first, b"x,pg_sleep\n");
    drop(raw);
    the_query_slot_is_free(addr).await;
    server.shutdown().await;
}

// Input: COPY of a whole table (four batches) and of three rows in binary. The row count of
// the CommandComplete tag is the table's; the binary output is PostgreSQL's format byte by
// byte: signature, flags, extension length, a field count and length-prefixed big-endian
// value per row, and the -1 trailer.
#[tokio::test]
async fn copy_to_stdout_counts_rows_and_writes_binary() {
    let (server, _dir) = big_table_server().await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    let messages = raw.query("COPY big TO STDOUT").await;
    let data: Vec<u8> = messages
        .iter()
        .filter(|(tag, _)| *tag == b'd')
        .flat_map(|(_, body)| body.clone())
        .collect();
    assert_eq!(data.iter().filter(|b| **b == b'\n').count() as i64, ROWS);
    assert!(data.ends_with(format!("{}\n", ROWS - 1).as_bytes()));
    let tag = messages.iter().find(|(tag, _)| *tag == b'C').unwrap();
    assert_eq!(command_tag(&tag.1), format!("COPY {ROWS}"));
    let messages = raw
        .query("COPY (SELECT x FROM big WHERE x < 3) TO STDOUT (FORMAT binary)")
        .await;
    assert_eq!(messages[0].0, b'H');
    // Overall format 1, one column, in binary.
    assert_eq!(messages[0].1, [1, 0, 1, 0, 1]);
    let data: Vec<u8> = messages
        .iter()
        .filter(|(tag, _)| *tag == b'd')
        .flat_map(|(_, body)| body.clone())
        .collect();
    let mut expected = b"PGCOPY\n\xff\r\n\0".to_vec();
    expected.extend([0u8; 8]);
    for x in 0i64..3 {
        expected.extend(1i16.to_be_bytes());
        expected.extend(8i32.to_be_bytes());
        expected.extend(x.to_be_bytes());
    }
    expected.extend((-1i16).to_be_bytes());
    assert_eq!(data, expected);
    let tag = messages.iter().find(|(tag, _)| *tag == b'C').unwrap();
    assert_eq!(command_tag(&tag.1), "COPY 3");
    let messages = raw
        .query("COPY big TO STDOUT (FORMAT binary, HEADER)")
        .await;
    assert_eq!(error_field(&messages[0].1, b'C').as_deref(), Some("42601"));
    server.shutdown().await;
}
