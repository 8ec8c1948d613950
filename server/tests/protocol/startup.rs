//! Startup, authentication, connection limits and shutdown over a mock backend.

use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use basalt_server::{Error, ServerConfig};
use tokio_postgres::error::SqlState;

// Database `prod` does not exist: FATAL 3D000.
#[tokio::test]
async fn unknown_database_is_fatal() {
    let (server, _) = mock_server(None).await;
    let error = connect_with(&pg_config(server.local_addr(), "basalt", "prod"))
        .await
        .unwrap_err();
    let db = error.as_db_error().unwrap();
    assert_eq!(db.code(), &SqlState::INVALID_CATALOG_NAME);
    assert_eq!(db.severity(), "FATAL");
    assert_eq!(db.message(), "database \"prod\" does not exist");
    server.shutdown().await;
}

// Role `alice` does not exist: FATAL 28000.
#[tokio::test]
async fn unknown_user_is_fatal() {
    let (server, _) = mock_server(None).await;
    let error = connect_with(&pg_config(server.local_addr(), "alice", "dev"))
        .await
        .unwrap_err();
    let db = error.as_db_error().unwrap();
    assert_eq!(db.code(), &SqlState::INVALID_AUTHORIZATION_SPECIFICATION);
    assert_eq!(db.severity(), "FATAL");
    assert_eq!(db.message(), "role \"alice\" does not exist");
    server.shutdown().await;
}

// With a password, SCRAM-SHA-256 lets the right password in.
#[tokio::test]
async fn scram_accepts_the_password() {
    let (server, _) = mock_server(Some("correct horse")).await;
    let mut config = pg_config(server.local_addr(), "basalt", "dev");
    config.password("correct horse");
    let client = connect_with(&config).await.unwrap();
    let rows = bounded(client.query("select 1", &[])).await.unwrap();
    assert_eq!(rows[0].get::<_, i32>(0), 1);
    server.shutdown().await;
}

// A wrong password: FATAL 28P01 naming the startup's user.
#[tokio::test]
async fn scram_rejects_a_wrong_password() {
    let (server, backend) = mock_server(Some("correct horse")).await;
    let mut config = pg_config(server.local_addr(), "basalt", "dev");
    config.password("battery staple");
    let error = connect_with(&config).await.unwrap_err();
    let db = error.as_db_error().unwrap();
    assert_eq!(db.code(), &SqlState::INVALID_PASSWORD);
    assert_eq!(db.severity(), "FATAL");
    assert_eq!(
        db.message(),
        "password authentication failed for user \"basalt\""
    );
    assert!(backend.executed().is_empty());
    server.shutdown().await;
}

// Without a password a non-loopback address is refused; with one it is served.
#[tokio::test]
async fn non_loopback_needs_a_password() {
    let backend = Arc::new(MockBackend::default());
    let any = "0.0.0.0:0".parse().unwrap();
    let refused = basalt_server::start_with_backend(Arc::clone(&backend), ServerConfig::new(any))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, Error::PasswordRequired { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("without a password"));

    let mut config = ServerConfig::new(any);
    config.password = Some("s3cret".to_owned());
    let server = basalt_server::start_with_backend(backend, config)
        .await
        .unwrap();
    server.shutdown().await;

    let mut empty = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    empty.password = Some(String::new());
    assert!(matches!(empty.check(), Err(Error::EmptyPassword)));
}

// Binding a port that is taken is an error naming the address.
#[tokio::test]
async fn bind_failure_is_reported() {
    let (server, _) = mock_server(None).await;
    let taken = server.local_addr();
    let result = basalt_server::start_with_backend(
        Arc::new(MockBackend::default()),
        ServerConfig::new(taken),
    )
    .await;
    let error = result.unwrap_err();
    assert!(matches!(error, Error::Bind { addr, .. } if addr == taken));
    server.shutdown().await;
}

// With room for one connection, a second is refused with 53300 and the first still works.
#[tokio::test]
async fn connection_limit() {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    config.connections_max = 1;
    let server = basalt_server::start_with_backend(Arc::new(MockBackend::default()), config)
        .await
        .unwrap();
    let first = connect(server.local_addr()).await;
    let error = connect_with(&pg_config(server.local_addr(), "basalt", "dev"))
        .await
        .unwrap_err();
    assert_eq!(
        error.as_db_error().unwrap().code(),
        &SqlState::TOO_MANY_CONNECTIONS
    );
    let rows = bounded(first.query("select 1", &[])).await.unwrap();
    assert_eq!(rows.len(), 1);
    server.shutdown().await;
}

// Shutdown while one connection runs `sleep 300` and another idles: the statement finishes
// and its client gets the result; both connections are then closed.
#[tokio::test]
async fn shutdown_finishes_running_statements() {
    let (server, backend) = mock_server(None).await;
    let busy = connect(server.local_addr()).await;
    let idle = connect(server.local_addr()).await;
    let running = tokio::spawn(async move {
        let result = busy.simple_query("sleep 300").await.map(|m| m.len());
        (busy, result)
    });
    bounded(async {
        while backend.executed().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    bounded(server.shutdown()).await;
    let (busy, result) = bounded(running).await.unwrap();
    assert_eq!(result.unwrap(), 1);
    assert!(bounded(busy.simple_query("select 1")).await.is_err());
    let error = bounded(idle.simple_query("select 1")).await.unwrap_err();
    assert!(
        error.is_closed() || error.as_db_error().is_some(),
        "{error}"
    );
}

// Shutdown with a 100 ms bound while `sleep 1500` runs: shutdown returns without waiting for
// the statement, and its client loses the connection.
#[tokio::test]
async fn shutdown_wait_is_bounded() {
    let backend = Arc::new(MockBackend::default());
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    config.shutdown_wait_max = Duration::from_millis(100);
    let server = basalt_server::start_with_backend(Arc::clone(&backend), config)
        .await
        .unwrap();
    let busy = connect(server.local_addr()).await;
    let running =
        tokio::spawn(async move { busy.simple_query("sleep 1500").await.map(|m| m.len()) });
    bounded(async {
        while backend.executed().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    bounded(server.shutdown()).await;
    let result = bounded(running).await.unwrap();
    assert!(result.unwrap_err().is_closed());
}

// A truncated Parse message (no parameter count): FATAL 08P01 for that connection only; the
// server keeps serving others.
#[tokio::test]
async fn malformed_message_ends_only_its_connection() {
    let (server, _) = mock_server(None).await;
    let (mut raw, _) = RawClient::connect(server.local_addr()).await;
    raw.send(b'P', &[0, b's', b'e', b'l', 0]).await;
    let (tag, body) = raw.recv().await.unwrap();
    assert_eq!(tag, b'E');
    assert_eq!(error_field(&body, b'S').as_deref(), Some("FATAL"));
    assert_eq!(error_field(&body, b'C').as_deref(), Some("08P01"));
    assert!(raw.recv().await.is_none());
    let client = connect(server.local_addr()).await;
    let rows = bounded(client.query("select 1", &[])).await.unwrap();
    assert_eq!(rows.len(), 1);
    server.shutdown().await;
}

// Messages whose length header exceeds the protocol's limits, refused from the header alone
// (nothing of the body is read or buffered): a Query claiming 2 GB (above the 1 GB - 1 limit of
// Query, Parse, Bind and CopyData) and a Sync claiming 20,000 bytes (above the 10,000 of the
// other messages), as PostgreSQL limits them. Each gets FATAL 08P01 and loses only its own
// connection; a startup packet claiming 20,000 bytes is refused before authentication.
#[tokio::test]
async fn oversized_messages_end_only_their_connection() {
    let (server, _) = mock_server(None).await;
    let bystander = connect(server.local_addr()).await;
    for (tag, length) in [(b'Q', 0x7fff_fff0u32), (b'S', 20_000)] {
        let (mut raw, _) = RawClient::connect(server.local_addr()).await;
        let mut header = vec![tag];
        header.extend_from_slice(&length.to_be_bytes());
        header.extend_from_slice(b"SELECT 1");
        raw.send_raw(&header).await;
        let (tag, body) = raw.recv().await.expect("an error before the close");
        assert_eq!(tag, b'E');
        assert_eq!(error_field(&body, b'S').as_deref(), Some("FATAL"));
        assert_eq!(error_field(&body, b'C').as_deref(), Some("08P01"));
        assert_eq!(
            error_field(&body, b'M').as_deref(),
            Some("invalid message length")
        );
        assert!(raw.recv().await.is_none());
    }
    let mut stream = bounded(tokio::net::TcpStream::connect(server.local_addr()))
        .await
        .unwrap();
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut startup = 20_000u32.to_be_bytes().to_vec();
        startup.extend_from_slice(&196_608i32.to_be_bytes());
        bounded(stream.write_all(&startup)).await.unwrap();
        let mut reply = Vec::new();
        bounded(stream.read_to_end(&mut reply)).await.unwrap();
        assert_eq!(reply.first(), Some(&b'E'), "{reply:?}");
        let text = String::from_utf8_lossy(&reply);
        assert!(text.contains("08P01"), "{text}");
        assert!(text.contains("invalid length of startup packet"), "{text}");
    }
    let rows = bounded(bystander.query("select 1", &[])).await.unwrap();
    assert_eq!(rows.len(), 1);
    server.shutdown().await;
}
