//! The simple query protocol over a mock backend: rows, tags, several statements, errors with
//! SQLSTATE and position, transaction status, panics.

use crate::common::*;
use tokio_postgres::error::{ErrorPosition, SqlState};
use tokio_postgres::SimpleQueryMessage;

fn completions(messages: &[SimpleQueryMessage]) -> Vec<u64> {
    messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        })
        .collect()
}

// `select 1; insert 3`: one row then a command, each with its own completion.
#[tokio::test]
async fn statements_return_rows_and_tags() {
    let (server, backend) = mock_server(None).await;
    let client = connect(server.local_addr()).await;
    let messages = bounded(client.simple_query("select 1; insert 3"))
        .await
        .unwrap();
    assert_eq!(text_rows(&messages), [[Some("1".to_owned())]]);
    assert_eq!(completions(&messages), [1, 3]);
    assert_eq!(backend.executed(), ["select 1", "insert 3"]);
    server.shutdown().await;
}

// `insert 1; select * from missing; insert 2`: the error stops the string, the connection
// stays usable.
#[tokio::test]
async fn error_stops_later_statements() {
    let (server, backend) = mock_server(None).await;
    let client = connect(server.local_addr()).await;
    let error = bounded(client.batch_execute("insert 1; select * from missing; insert 2"))
        .await
        .unwrap_err();
    let db = error.as_db_error().unwrap();
    assert_eq!(db.code(), &SqlState::UNDEFINED_TABLE);
    assert_eq!(db.message(), "relation \"missing\" does not exist");
    assert_eq!(db.position(), Some(&ErrorPosition::Original(15)));
    assert_eq!(db.severity(), "ERROR");
    assert_eq!(backend.executed(), ["insert 1", "select * from missing"]);
    let again = bounded(client.simple_query("select 1")).await.unwrap();
    assert_eq!(text_rows(&again), [[Some("1".to_owned())]]);
    server.shutdown().await;
}

// A syntax error in the second statement fails the whole string before anything runs, with
// the position counted from the start of the string.
#[tokio::test]
async fn syntax_error_has_position() {
    let (server, backend) = mock_server(None).await;
    let client = connect(server.local_addr()).await;
    let error = bounded(client.simple_query("insert 1; selec 2"))
        .await
        .unwrap_err();
    let db = error.as_db_error().unwrap();
    assert_eq!(db.code(), &SqlState::SYNTAX_ERROR);
    assert_eq!(db.message(), "syntax error at or near \"selec\"");
    assert_eq!(db.position(), Some(&ErrorPosition::Original(11)));
    assert!(backend.executed().is_empty());
    server.shutdown().await;
}

// Every type in text format, exactly as PostgreSQL prints it, and a row of NULLs.
#[tokio::test]
async fn text_format_of_every_type() {
    let (server, _) = mock_server(None).await;
    let client = connect(server.local_addr()).await;
    let messages = bounded(client.simple_query("select types")).await.unwrap();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        text_rows(&messages),
        [
            vec![
                s("-2"),
                s("42"),
                s("9000000000"),
                s("-123.45"),
                s("1.5"),
                s("0.1"),
                s("t"),
                s("ab "),
                s("héllo"),
                s("a\tb"),
                s("2024-02-29"),
                s("2024-02-29 13:45:06.5"),
            ],
            vec![None; 12],
        ]
    );
    server.shutdown().await;
}

// The raw message sequence: RowDescription with PostgreSQL's sizes and modifiers, DataRows,
// CommandComplete "SELECT 2", ReadyForQuery idle.
#[tokio::test]
async fn row_description_and_tags_on_the_wire() {
    let (server, _) = mock_server(None).await;
    let (mut raw, startup) = RawClient::connect(server.local_addr()).await;
    let parameters: Vec<(String, String)> = startup
        .iter()
        .filter(|(t, _)| *t == b'S')
        .map(|(_, b)| {
            let parts: Vec<&[u8]> = b.split(|c| *c == 0).collect();
            (
                String::from_utf8(parts[0].to_vec()).unwrap(),
                String::from_utf8(parts[1].to_vec()).unwrap(),
            )
        })
        .collect();
    let get = |k: &str| {
        parameters
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("server_version"), Some("15.0 (Basalt 0.1.0)"));
    assert_eq!(get("DateStyle"), Some("ISO, MDY"));
    assert_eq!(get("TimeZone"), Some("UTC"));
    assert_eq!(get("integer_datetimes"), Some("on"));
    assert_eq!(get("session_authorization"), Some("basalt"));
    assert_eq!(get("client_encoding"), Some("UTF8"));

    let messages = raw.query("select types").await;
    assert_eq!(tags(&messages), "TDDCZ");
    let columns = row_description(&messages[0].1);
    let described: Vec<(&str, u32, i16, i32)> = columns
        .iter()
        .map(|c| (c.name.as_str(), c.oid, c.size, c.typmod))
        .collect();
    assert_eq!(
        described,
        [
            ("i2", 21, 2, -1),
            ("i4", 23, 4, -1),
            ("i8", 20, 8, -1),
            ("n", 1700, -1, (10 << 16 | 2) + 4),
            ("r", 700, 4, -1),
            ("d", 701, 8, -1),
            ("b", 16, 1, -1),
            ("c", 1042, -1, 7),
            ("v", 1043, -1, 14),
            ("t", 25, -1, -1),
            ("dt", 1082, 4, -1),
            ("ts", 1114, 8, -1),
        ]
    );
    assert!(columns.iter().all(|c| c.format == 0));
    assert_eq!(command_tag(&messages[3].1), "SELECT 2");
    assert_eq!(messages[4].1, b"I");
    server.shutdown().await;
}

// Empty strings, stray semicolons and comment-only strings answer EmptyQueryResponse.
#[tokio::test]
async fn empty_queries() {
    let (server, _) = mock_server(None).await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    for sql in ["", " ; ;", "-- nothing"] {
        assert_eq!(tags(&raw.query(sql).await), "IZ", "{sql:?}");
    }
    server.shutdown().await;
}

// ReadyForQuery follows the session: T in a block, E once an error fails it, I after ROLLBACK.
#[tokio::test]
async fn ready_for_query_reports_transaction_status() {
    let (server, _) = mock_server(None).await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    let status = |messages: &[Message]| messages.last().unwrap().1.clone();
    assert_eq!(status(&raw.query("begin").await), b"T");
    let failed = raw.query("select 1/0").await;
    assert_eq!(tags(&failed), "EZ");
    assert_eq!(error_field(&failed[0].1, b'C').as_deref(), Some("22012"));
    assert_eq!(status(&failed), b"E");
    let ignored = raw.query("select 1").await;
    assert_eq!(error_field(&ignored[0].1, b'C').as_deref(), Some("25P02"));
    assert_eq!(status(&ignored), b"E");
    let rolled_back = raw.query("commit").await;
    assert_eq!(command_tag(&rolled_back[0].1), "ROLLBACK");
    assert_eq!(status(&rolled_back), b"I");
    server.shutdown().await;
}

// A panicking statement is XX000 for that statement; the connection and others carry on.
#[tokio::test]
async fn panic_is_an_internal_error() {
    let (server, _) = mock_server(None).await;
    let client = connect(server.local_addr()).await;
    let other = connect(server.local_addr()).await;
    let error = bounded(client.simple_query("panic")).await.unwrap_err();
    let db = error.as_db_error().unwrap();
    assert_eq!(db.code(), &SqlState::INTERNAL_ERROR);
    assert!(db.message().contains("mock panic"), "{}", db.message());
    assert_eq!(
        text_rows(&bounded(client.simple_query("select 1")).await.unwrap()),
        [[Some("1".to_owned())]]
    );
    assert_eq!(
        text_rows(&bounded(other.simple_query("select 1")).await.unwrap()),
        [[Some("1".to_owned())]]
    );
    server.shutdown().await;
}

// A result batch that disagrees with its description is XX000, not a crash.
#[tokio::test]
async fn mismatched_batch_is_an_internal_error() {
    let (server, _) = mock_server(None).await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    let messages = raw.query("select mismatch").await;
    assert_eq!(tags(&messages), "TEZ");
    assert_eq!(error_field(&messages[1].1, b'C').as_deref(), Some("XX000"));
    assert_eq!(tags(&raw.query("select 1").await), "TDCZ");
    server.shutdown().await;
}

// A result of 5000 rows in five batches streams out whole.
#[tokio::test]
async fn large_result_streams() {
    let (server, _) = mock_server(None).await;
    let client = connect(server.local_addr()).await;
    let messages = bounded(client.simple_query("select series 5000"))
        .await
        .unwrap();
    let rows = text_rows(&messages);
    assert_eq!(rows.len(), 5000);
    assert_eq!(rows[4999], [Some("5000".to_owned())]);
    assert_eq!(completions(&messages), [5000]);
    server.shutdown().await;
}
