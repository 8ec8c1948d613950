//! The extended query protocol over a mock backend: Parse/Bind/Describe/Execute/Sync/Close,
//! parameters in text and binary, results in binary, portals fetched in pieces, errors.

use crate::common::*;
use tokio_postgres::error::{ErrorPosition, SqlState};
use tokio_postgres::types::{FromSql, Type};

/// A column's raw binary value, for types tokio-postgres does not decode by default.
#[derive(Debug, PartialEq)]
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(
        _ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

// `select $1, $2` prepared: parameter types come from the backend's describe; binary
// parameters reach the backend as text and come back in binary, NULLs included.
#[tokio::test]
async fn parameters_round_trip() {
    let (server, _) = mock_server(None).await;
    let client = connect(server.local_addr()).await;
    let statement = bounded(client.prepare("select $1, $2")).await.unwrap();
    assert_eq!(statement.params(), &[Type::INT4, Type::TEXT]);
    let columns: Vec<(&str, &Type)> = statement
        .columns()
        .iter()
        .map(|c| (c.name(), c.type_()))
        .collect();
    assert_eq!(columns, [("a", &Type::INT4), ("b", &Type::TEXT)]);

    let rows = bounded(client.query(&statement, &[&42i32, &"hé"]))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, i32>(0), 42);
    assert_eq!(rows[0].get::<_, &str>(1), "hé");

    let rows = bounded(client.query(&statement, &[&None::<i32>, &None::<&str>]))
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, Option<i32>>(0), None);
    assert_eq!(rows[0].get::<_, Option<&str>>(1), None);
    server.shutdown().await;
}

// Every type in binary format, as PostgreSQL's send functions write it, and a row of NULLs.
#[tokio::test]
async fn binary_format_of_every_type() {
    let (server, _) = mock_server(None).await;
    let client = connect(server.local_addr()).await;
    let rows = bounded(client.query("select types", &[])).await.unwrap();
    assert_eq!(rows.len(), 2);
    let row = &rows[0];
    assert_eq!(row.get::<_, i16>(0), -2);
    assert_eq!(row.get::<_, i32>(1), 42);
    assert_eq!(row.get::<_, i64>(2), 9_000_000_000);
    // -123.45: digits 123, 4500; weight 0; negative; dscale 2.
    assert_eq!(
        row.get::<_, Raw>(3),
        Raw(vec![0, 2, 0, 0, 0x40, 0, 0, 2, 0, 123, 0x11, 0x94])
    );
    assert_eq!(row.get::<_, f32>(4), 1.5);
    assert_eq!(row.get::<_, f64>(5), 0.1);
    assert!(row.get::<_, bool>(6));
    assert_eq!(row.get::<_, &str>(7), "ab ");
    assert_eq!(row.get::<_, &str>(8), "héllo");
    assert_eq!(row.get::<_, &str>(9), "a\tb");
    // 2024-02-29 is day 8825 after 2000-01-01.
    assert_eq!(row.get::<_, Raw>(10), Raw(8825i32.to_be_bytes().to_vec()));
    let micros = 8825i64 * 86_400_000_000 + 49_506_500_000;
    assert_eq!(row.get::<_, Raw>(11), Raw(micros.to_be_bytes().to_vec()));
    for i in 0..12 {
        assert_eq!(rows[1].get::<_, Option<Raw>>(i), None, "column {i}");
    }
    server.shutdown().await;
}

// An unknown table fails Parse with its SQLSTATE and position; a failing Execute leaves the
// connection usable.
#[tokio::test]
async fn errors_in_parse_and_execute() {
    let (server, _) = mock_server(None).await;
    let client = connect(server.local_addr()).await;
    let error = bounded(client.prepare("select * from missing"))
        .await
        .unwrap_err();
    let db = error.as_db_error().unwrap();
    assert_eq!(db.code(), &SqlState::UNDEFINED_TABLE);
    assert_eq!(db.position(), Some(&ErrorPosition::Original(15)));

    let error = bounded(client.query("select 1/0", &[])).await.unwrap_err();
    assert_eq!(
        error.as_db_error().unwrap().code(),
        &SqlState::DIVISION_BY_ZERO
    );
    let rows = bounded(client.query("select 1", &[])).await.unwrap();
    assert_eq!(rows[0].get::<_, i32>(0), 1);
    server.shutdown().await;
}

// Raw Parse/Bind/Describe/Execute/Sync with text parameters and one binary result column.
#[tokio::test]
async fn message_sequence_with_mixed_formats() {
    let (server, _) = mock_server(None).await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    raw.send(b'P', &parse_body("", "select $1, $2", &[])).await;
    raw.send(
        b'B',
        &bind_body("", "", &[], &[Some(b"7"), Some(b"x")], &[1, 0]),
    )
    .await;
    raw.send(b'D', &[b"P".as_slice(), &cstr("")].concat()).await;
    raw.send(b'E', &execute_body("", 0)).await;
    raw.send(b'S', &[]).await;
    let messages = raw.until_ready().await;
    assert_eq!(tags(&messages), "12TDCZ");
    let columns = row_description(&messages[2].1);
    assert_eq!(
        (columns[0].format, columns[1].format),
        (1, 0),
        "{columns:?}"
    );
    assert_eq!(
        data_row(&messages[3].1),
        [Some(7i32.to_be_bytes().to_vec()), Some(b"x".to_vec())]
    );
    assert_eq!(command_tag(&messages[4].1), "SELECT 1");
    assert_eq!(messages[5].1, b"I");
    server.shutdown().await;
}

// Binary parameters: an int4 and a text, declared by the client in Parse.
#[tokio::test]
async fn binary_parameters_with_declared_types() {
    let (server, _) = mock_server(None).await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    raw.send(b'P', &parse_body("two", "select $1, $2", &[23, 25]))
        .await;
    let forty_two = 42i32.to_be_bytes();
    raw.send(
        b'B',
        &bind_body("", "two", &[1], &[Some(&forty_two), Some(b"hi")], &[]),
    )
    .await;
    raw.send(b'E', &execute_body("", 0)).await;
    raw.send(b'S', &[]).await;
    let messages = raw.until_ready().await;
    assert_eq!(tags(&messages), "12DCZ");
    assert_eq!(
        text_row(&messages[2].1),
        [Some("42".to_owned()), Some("hi".to_owned())]
    );
    // A binary int4 of the wrong length fails the Bind.
    raw.send(
        b'B',
        &bind_body("", "two", &[1], &[Some(&[0, 1]), Some(b"hi")], &[]),
    )
    .await;
    raw.send(b'S', &[]).await;
    let messages = raw.until_ready().await;
    assert_eq!(tags(&messages), "EZ");
    assert_eq!(error_field(&messages[0].1, b'C').as_deref(), Some("22P03"));
    server.shutdown().await;
}

// Bind with the wrong number of parameters is a protocol violation; messages up to Sync are
// skipped and the connection carries on.
#[tokio::test]
async fn bind_checks_parameter_count() {
    let (server, _) = mock_server(None).await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    raw.send(b'P', &parse_body("", "select $1, $2", &[])).await;
    raw.send(b'B', &bind_body("", "", &[], &[Some(b"1")], &[]))
        .await;
    raw.send(b'E', &execute_body("", 0)).await;
    raw.send(b'S', &[]).await;
    let messages = raw.until_ready().await;
    assert_eq!(tags(&messages), "1EZ");
    assert_eq!(error_field(&messages[1].1, b'C').as_deref(), Some("08P01"));
    assert_eq!(
        error_field(&messages[1].1, b'M').as_deref(),
        Some("bind message supplies 1 parameters, but prepared statement \"\" requires 2")
    );
    assert_eq!(tags(&raw.query("select 1").await), "TDCZ");
    server.shutdown().await;
}

// Describe of a command: no parameters and NoData; a second Parse of the same name is 42P05;
// Close frees the name.
#[tokio::test]
async fn describe_close_and_duplicate_names() {
    let (server, _) = mock_server(None).await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    raw.send(b'P', &parse_body("ins", "insert 5", &[])).await;
    raw.send(b'D', &[b"S".as_slice(), &cstr("ins")].concat())
        .await;
    raw.send(b'S', &[]).await;
    let messages = raw.until_ready().await;
    assert_eq!(tags(&messages), "1tnZ");
    assert_eq!(messages[1].1, [0, 0]);

    raw.send(b'P', &parse_body("ins", "insert 6", &[])).await;
    raw.send(b'S', &[]).await;
    let messages = raw.until_ready().await;
    assert_eq!(tags(&messages), "EZ");
    assert_eq!(error_field(&messages[0].1, b'C').as_deref(), Some("42P05"));

    raw.send(b'C', &[b"S".as_slice(), &cstr("ins")].concat())
        .await;
    raw.send(b'P', &parse_body("ins", "insert 6", &[])).await;
    raw.send(b'B', &bind_body("", "ins", &[], &[], &[])).await;
    raw.send(b'E', &execute_body("", 0)).await;
    raw.send(b'S', &[]).await;
    let messages = raw.until_ready().await;
    assert_eq!(tags(&messages), "312CZ");
    assert_eq!(command_tag(&messages[3].1), "INSERT 0 6");
    server.shutdown().await;
}

// A portal read 10 rows at a time: PortalSuspended twice, then the last 5 and SELECT 5.
#[tokio::test]
async fn portal_fetched_in_pieces() {
    let (server, _) = mock_server(None).await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    raw.send(b'P', &parse_body("", "select series 25", &[]))
        .await;
    raw.send(b'B', &bind_body("cur", "", &[], &[], &[])).await;
    for _ in 0..3 {
        raw.send(b'E', &execute_body("cur", 10)).await;
    }
    raw.send(b'S', &[]).await;
    let messages = raw.until_ready().await;
    let expected = format!(
        "12{}s{}s{}CZ",
        "D".repeat(10),
        "D".repeat(10),
        "D".repeat(5)
    );
    assert_eq!(tags(&messages), expected);
    let last_row = &messages[messages.len() - 3];
    assert_eq!(text_row(&last_row.1), [Some("25".to_owned())]);
    assert_eq!(command_tag(&messages[messages.len() - 2].1), "SELECT 5");
    // Sync outside a transaction block closed the portal.
    raw.send(b'E', &execute_body("cur", 10)).await;
    raw.send(b'S', &[]).await;
    let messages = raw.until_ready().await;
    assert_eq!(tags(&messages), "EZ");
    assert_eq!(error_field(&messages[0].1, b'C').as_deref(), Some("34000"));
    server.shutdown().await;
}

// An empty statement parses, binds and executes as EmptyQueryResponse.
#[tokio::test]
async fn empty_statement() {
    let (server, _) = mock_server(None).await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    raw.send(b'P', &parse_body("", "", &[])).await;
    raw.send(b'B', &bind_body("", "", &[], &[], &[])).await;
    raw.send(b'D', &[b"P".as_slice(), &cstr("")].concat()).await;
    raw.send(b'E', &execute_body("", 0)).await;
    raw.send(b'S', &[]).await;
    assert_eq!(tags(&raw.until_ready().await), "12nIZ");
    server.shutdown().await;
}

// ReadyForQuery after Sync reports the failed transaction block, and portals survive Sync
// inside a block.
#[tokio::test]
async fn sync_reports_transaction_status() {
    let (server, _) = mock_server(None).await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    assert_eq!(raw.query("begin").await.last().unwrap().1, b"T");
    raw.send(b'P', &parse_body("", "select series 3", &[]))
        .await;
    raw.send(b'B', &bind_body("held", "", &[], &[], &[])).await;
    raw.send(b'E', &execute_body("held", 1)).await;
    raw.send(b'S', &[]).await;
    let messages = raw.until_ready().await;
    assert_eq!(tags(&messages), "12DsZ");
    assert_eq!(messages.last().unwrap().1, b"T");
    raw.send(b'E', &execute_body("held", 0)).await;
    raw.send(b'S', &[]).await;
    assert_eq!(tags(&raw.until_ready().await), "DDCZ");

    raw.send(b'P', &parse_body("", "select 1/0", &[])).await;
    raw.send(b'B', &bind_body("", "", &[], &[], &[])).await;
    raw.send(b'E', &execute_body("", 0)).await;
    raw.send(b'S', &[]).await;
    let messages = raw.until_ready().await;
    assert_eq!(tags(&messages), "12EZ");
    assert_eq!(messages.last().unwrap().1, b"E");
    server.shutdown().await;
}
