//! The wire adapter: a sqllogictest connection that is a tokio-postgres client talking to a
//! Basalt server over the simple query protocol (text format), as psql does.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sqllogictest::{DBOutput, DefaultColumnType};
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use crate::database::{ConnectionOptions, TEST_DATABASE, TEST_USER};
use crate::error::SltError;

type Output = Result<DBOutput<DefaultColumnType>, SltError>;

/// How long to wait for the server to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// One client connection to a server.
pub struct WireConnection {
    addr: SocketAddr,
    options: ConnectionOptions,
    client: Client,
}

impl WireConnection {
    /// Connects to the server at `addr` as the test user, without a password (the server trusts
    /// loopback connections).
    pub async fn open(addr: SocketAddr, options: ConnectionOptions) -> Result<Self, SltError> {
        let client = connect(addr).await?;
        Ok(WireConnection {
            addr,
            options,
            client,
        })
    }

    /// Runs `sql` (one or more statements) and renders its result.
    pub async fn run(&mut self, sql: &str) -> Output {
        let hint = self.options.hint.get();
        let messages = match tokio::time::timeout(
            self.options.statement_timeout,
            self.client.simple_query(sql),
        )
        .await
        {
            Ok(Ok(messages)) => messages,
            Ok(Err(e)) => return Err(client_error(&e)),
            Err(_) => {
                // Ask the server to stop, then carry on with a new connection: the old one is
                // still busy with the statement.
                self.options.timed_out.store(true, Ordering::SeqCst);
                let _ = self.client.cancel_token().cancel_query(NoTls).await;
                self.client = connect(self.addr).await?;
                return Err(SltError::harness(format!(
                    "statement timed out after {} s",
                    self.options.statement_timeout.as_secs_f64()
                )));
            }
        };

        let convention = self.options.convention;
        let mut types: Option<Vec<DefaultColumnType>> = None;
        let mut rows = Vec::new();
        let mut count = 0;
        for message in messages {
            match message {
                SimpleQueryMessage::RowDescription(columns) => {
                    // Text format carries no types we could trust; the column count is what the
                    // runner checks.
                    types.get_or_insert_with(|| vec![DefaultColumnType::Any; columns.len()]);
                }
                SimpleQueryMessage::Row(row) => {
                    let mut values = Vec::with_capacity(row.len());
                    for i in 0..row.len() {
                        let text = row.try_get(i).map_err(|e| client_error(&e))?;
                        let expected = hint.as_ref().and_then(|h| h.get(i));
                        values.push(convention.render(text, expected));
                    }
                    rows.push(values);
                }
                SimpleQueryMessage::CommandComplete(n) => count = n,
                _ => {}
            }
        }
        Ok(match types {
            Some(types) => DBOutput::Rows { types, rows },
            None => DBOutput::StatementComplete(count),
        })
    }
}

async fn connect(addr: SocketAddr) -> Result<Client, SltError> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(addr.ip().to_string())
        .port(addr.port())
        .user(TEST_USER)
        .dbname(TEST_DATABASE)
        .application_name("basalt-sql-tests")
        .connect_timeout(CONNECT_TIMEOUT);
    let (client, connection) = config.connect(NoTls).await.map_err(|e| client_error(&e))?;
    tokio::spawn(async move {
        // The connection ends when the client is dropped; an error then has nobody to go to,
        // and the next statement on the client reports it.
        let _ = connection.await;
    });
    Ok(client)
}

/// The server's message and SQLSTATE for an ErrorResponse; the client's own description for
/// anything else (a closed connection, a protocol error).
fn client_error(error: &tokio_postgres::Error) -> SltError {
    match error.as_db_error() {
        Some(db) => SltError {
            message: db.message().to_string(),
            sqlstate: Some(db.code().code().to_string()),
        },
        None => {
            let mut message = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                message.push_str(": ");
                message.push_str(&cause.to_string());
                source = cause.source();
            }
            SltError::harness(message)
        }
    }
}
