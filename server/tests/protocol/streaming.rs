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
    let observer = connect(addr).await;
    let messages = bounded(observer.simple_query("SELECT count(*) FROM big"))
        .await
        .unwrap();
    assert_eq!(text_rows(&messages), [[Some(ROWS.to_string())]]);
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
