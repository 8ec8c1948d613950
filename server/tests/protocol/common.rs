//! Test support: a mock backend that speaks a tiny fixed language, a raw protocol client for
//! checking exact message sequences, and helpers to start servers and connect with
//! tokio-postgres.

// Each test module uses part of this one; a panic here is a failed test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow_array::{
    Array, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int16Array,
    Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use basalt_engine::{
    Description, Error, QueryResult, ResultColumn, SqlType, StatementResult, TransactionStatus,
};
use basalt_server::{Backend, BackendSession, RunningServer, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest any test step may take.
pub const STEP_WAIT_MAX: Duration = Duration::from_secs(30);

/// Runs `f` or fails the test after [`STEP_WAIT_MAX`].
/// The rows of a simple-query response as text values (NULL as `None`).
pub fn text_rows(messages: &[tokio_postgres::SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

pub async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP_WAIT_MAX, f)
        .await
        .expect("test step timed out")
}

/// A backend whose sessions understand a handful of fixed statements (see `MockSession`), and
/// which records every statement it executes.
#[derive(Debug, Default)]
pub struct MockBackend {
    pub executed: Arc<Mutex<Vec<String>>>,
}

impl MockBackend {
    pub fn executed(&self) -> Vec<String> {
        self.executed.lock().unwrap().clone()
    }
}

impl Backend for MockBackend {
    type Session = MockSession;

    fn session(self: &Arc<Self>, _user: &str) -> MockSession {
        MockSession {
            executed: Arc::clone(&self.executed),
            in_block: false,
            failed: false,
        }
    }
}

/// The mock's language, one statement per `;`-separated piece (case-insensitive):
///
/// - `select 1`: one row, one INTEGER column `?column?`.
/// - `select types`: one column of each SQL type, a row of values and a row of NULLs.
/// - `select series N`: BIGINT `n` from 1 to N, in batches of 1000.
/// - `select $1, $2`: INTEGER `a` and TEXT `b` echoing the parameters.
/// - `select * from missing`: undefined table, position 15.
/// - `select 1/0`: division by zero when run.
/// - `select mismatch`: a batch whose Arrow type disagrees with its description.
/// - `insert N`: tag `INSERT 0 N`. `create table`: tag `CREATE TABLE`.
/// - `begin`, `commit`, `rollback`: transaction blocks; an error inside one fails it.
/// - `sleep MS`: sleeps, tag `SLEEP`. `panic`: panics.
/// - `-- comment`: nothing. Anything else: a syntax error at its first character.
#[derive(Debug)]
pub struct MockSession {
    executed: Arc<Mutex<Vec<String>>>,
    in_block: bool,
    failed: bool,
}

fn col(name: &str, ty: SqlType) -> ResultColumn {
    ResultColumn {
        name: name.to_owned(),
        ty,
        origin: None,
    }
}

pub fn all_types() -> Vec<ResultColumn> {
    vec![
        col("i2", SqlType::SmallInt),
        col("i4", SqlType::Integer),
        col("i8", SqlType::BigInt),
        col(
            "n",
            SqlType::Decimal {
                precision: 10,
                scale: 2,
            },
        ),
        col("r", SqlType::Real),
        col("d", SqlType::Double),
        col("b", SqlType::Boolean),
        col("c", SqlType::Char { length: 3 }),
        col("v", SqlType::Varchar { length: 10 }),
        col("t", SqlType::Text),
        col("dt", SqlType::Date),
        col("ts", SqlType::Timestamp),
    ]
}

fn all_types_batch() -> RecordBatch {
    let arrays: Vec<Arc<dyn Array>> = vec![
        Arc::new(Int16Array::from(vec![Some(-2), None])),
        Arc::new(Int32Array::from(vec![Some(42), None])),
        Arc::new(Int64Array::from(vec![Some(9_000_000_000), None])),
        Arc::new(
            Decimal128Array::from(vec![Some(-12_345), None])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        ),
        Arc::new(Float32Array::from(vec![Some(1.5), None])),
        Arc::new(Float64Array::from(vec![Some(0.1), None])),
        Arc::new(BooleanArray::from(vec![Some(true), None])),
        Arc::new(StringArray::from(vec![Some("ab "), None])),
        Arc::new(StringArray::from(vec![Some("héllo"), None])),
        Arc::new(StringArray::from(vec![Some("a\tb"), None])),
        // 2024-02-29 and 2024-02-29 13:45:06.5
        Arc::new(Date32Array::from(vec![Some(19_782), None])),
        Arc::new(TimestampMicrosecondArray::from(vec![
            Some(19_782 * 86_400_000_000 + 49_506_500_000),
            None,
        ])),
    ];
    let fields: Vec<_> = all_types()
        .iter()
        .zip(&arrays)
        .map(|(c, a)| (c.name.clone(), Arc::clone(a)))
        .collect();
    RecordBatch::try_from_iter(fields).unwrap()
}

fn syntax(message: &str, position: usize) -> Error {
    Error::Syntax {
        message: message.to_owned(),
        position: Some(position as u32),
    }
}

impl MockSession {
    fn describe_text(&self, sql: &str) -> Result<Description, Error> {
        let lower = sql.to_ascii_lowercase();
        let rows = |columns| Description {
            params: vec![],
            columns: Some(columns),
        };
        Ok(match lower.as_str() {
            "select 1" | "select 1/0" => rows(vec![col("?column?", SqlType::Integer)]),
            "select types" => rows(all_types()),
            "select mismatch" => rows(vec![col("m", SqlType::Text)]),
            "select $1, $2" => Description {
                params: vec![SqlType::Integer, SqlType::Text],
                columns: Some(vec![col("a", SqlType::Integer), col("b", SqlType::Text)]),
            },
            "select * from missing" => {
                return Err(Error::UndefinedTable {
                    name: "missing".into(),
                    position: Some(15),
                })
            }
            s if s.starts_with("select series ") => rows(vec![col("n", SqlType::BigInt)]),
            _ => Description {
                params: vec![],
                columns: None,
            },
        })
    }

    fn run(&mut self, sql: &str, params: &[Option<String>]) -> Result<StatementResult, Error> {
        let lower = sql.to_ascii_lowercase();
        let command = |tag: &str| {
            Ok(StatementResult::Command {
                tag: tag.to_owned(),
            })
        };
        match lower.as_str() {
            "begin" => {
                self.in_block = true;
                return command("BEGIN");
            }
            "commit" | "rollback" => {
                let tag = if self.failed { "ROLLBACK" } else { &lower };
                let tag = tag.to_ascii_uppercase();
                self.in_block = false;
                self.failed = false;
                return command(&tag);
            }
            _ if self.failed => return Err(Error::InFailedTransaction),
            _ => {}
        }
        let description = self.describe_text(sql)?;
        let query = |batch: RecordBatch| {
            Ok(StatementResult::Query(QueryResult {
                columns: description.columns.clone().unwrap_or_default(),
                batches: vec![batch],
            }))
        };
        match lower.as_str() {
            "select 1" => query(
                RecordBatch::try_from_iter([(
                    "?column?",
                    Arc::new(Int32Array::from(vec![1])) as Arc<dyn Array>,
                )])
                .unwrap(),
            ),
            "select 1/0" => Err(Error::DivisionByZero),
            "select types" => query(all_types_batch()),
            "select mismatch" => query(
                RecordBatch::try_from_iter([(
                    "m",
                    Arc::new(Int32Array::from(vec![1])) as Arc<dyn Array>,
                )])
                .unwrap(),
            ),
            "select $1, $2" => {
                let a =
                    match params.first().cloned().flatten() {
                        None => None,
                        Some(text) => Some(text.parse::<i32>().map_err(|_| {
                            Error::InvalidTextRepresentation {
                                message: format!(
                                    "invalid input syntax for type integer: \"{text}\""
                                ),
                            }
                        })?),
                    };
                let b = params.get(1).cloned().flatten();
                query(
                    RecordBatch::try_from_iter([
                        ("a", Arc::new(Int32Array::from(vec![a])) as Arc<dyn Array>),
                        ("b", Arc::new(StringArray::from(vec![b])) as Arc<dyn Array>),
                    ])
                    .unwrap(),
                )
            }
            s if s.starts_with("select series ") => {
                let n: i64 = s["select series ".len()..].parse().unwrap();
                let values: Vec<i64> = (1..=n).collect();
                let batches = values
                    .chunks(1000)
                    .map(|c| {
                        RecordBatch::try_from_iter([(
                            "n",
                            Arc::new(Int64Array::from(c.to_vec())) as Arc<dyn Array>,
                        )])
                        .unwrap()
                    })
                    .collect();
                Ok(StatementResult::Query(QueryResult {
                    columns: description.columns.unwrap_or_default(),
                    batches,
                }))
            }
            s if s.starts_with("insert ") => command(&format!("INSERT 0 {}", &s[7..])),
            "create table" => command("CREATE TABLE"),
            s if s.starts_with("sleep ") => {
                let ms: u64 = s[6..].parse().unwrap();
                std::thread::sleep(Duration::from_millis(ms));
                command("SLEEP")
            }
            "panic" => panic!("mock panic"),
            _ => Err(Error::Internal(format!("mock cannot run {sql:?}"))),
        }
    }
}

const KNOWN: &[&str] = &[
    "select", "insert", "create", "begin", "commit", "rollback", "sleep", "panic",
];

impl BackendSession for MockSession {
    type Statement = String;
    type CopyIn = ();

    fn parse(&mut self, sql: &str) -> Result<Vec<String>, Error> {
        let mut statements = Vec::new();
        let mut offset = 0;
        for piece in sql.split(';') {
            let trimmed = piece.trim();
            let start = offset + piece.find(trimmed).unwrap_or(0);
            offset += piece.chars().count() + 1;
            if trimmed.is_empty() || trimmed.starts_with("--") {
                continue;
            }
            let word = trimmed.split_whitespace().next().unwrap_or("");
            if !KNOWN.contains(&word.to_ascii_lowercase().as_str()) {
                return Err(syntax(
                    &format!("syntax error at or near \"{word}\""),
                    start + 1,
                ));
            }
            statements.push(trimmed.to_owned());
        }
        Ok(statements)
    }

    fn describe(&mut self, statement: &String) -> Result<Description, Error> {
        self.describe_text(statement)
    }

    fn execute(
        &mut self,
        statement: &String,
        params: &[Option<String>],
    ) -> Result<StatementResult, Error> {
        self.executed.lock().unwrap().push(statement.clone());
        let result = self.run(statement, params);
        if result.is_err() && self.in_block {
            self.failed = true;
        }
        result
    }

    fn transaction_status(&self) -> TransactionStatus {
        match (self.in_block, self.failed) {
            (false, _) => TransactionStatus::Idle,
            (true, false) => TransactionStatus::InBlock,
            (true, true) => TransactionStatus::Failed,
        }
    }
}

/// A server over a fresh mock backend on a free loopback port.
pub async fn mock_server(password: Option<&str>) -> (RunningServer, Arc<MockBackend>) {
    let backend = Arc::new(MockBackend::default());
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    config.password = password.map(str::to_owned);
    let server = basalt_server::start_with_backend(Arc::clone(&backend), config)
        .await
        .unwrap();
    (server, backend)
}

/// A server over Basalt's engine in a fresh temporary data directory (kept while the returned
/// directory lives).
pub async fn engine_server() -> (RunningServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let engine = basalt_engine::Engine::open(dir.path()).unwrap();
    let server = basalt_server::start(engine, ServerConfig::new("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    (server, dir)
}

/// tokio-postgres settings for user `user` on database `db` of `addr`.
pub fn pg_config(addr: SocketAddr, user: &str, db: &str) -> tokio_postgres::Config {
    let mut config = tokio_postgres::Config::new();
    config
        .host(addr.ip().to_string())
        .port(addr.port())
        .user(user)
        .dbname(db)
        .connect_timeout(STEP_WAIT_MAX);
    config
}

/// Connects with tokio-postgres and drives the connection in the background.
pub async fn connect_with(
    config: &tokio_postgres::Config,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = bounded(config.connect(tokio_postgres::NoTls)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Connects as `basalt` to `dev`, trusted.
pub async fn connect(addr: SocketAddr) -> tokio_postgres::Client {
    connect_with(&pg_config(addr, "basalt", "dev"))
        .await
        .unwrap()
}

/// One backend message: its type byte and body.
pub type Message = (u8, Vec<u8>);

/// A protocol client that sends hand-built frontend messages and returns backend messages as
/// they arrive, for checking exact sequences and fields.
pub struct RawClient {
    stream: TcpStream,
}

impl RawClient {
    /// Connects as `basalt` to `dev` (trusted) and reads up to the first ReadyForQuery.
    pub async fn connect(addr: SocketAddr) -> (Self, Vec<Message>) {
        let stream = bounded(TcpStream::connect(addr)).await.unwrap();
        let mut client = RawClient { stream };
        let mut body = Vec::new();
        body.extend_from_slice(&196_608i32.to_be_bytes());
        for (k, v) in [("user", "basalt"), ("database", "dev")] {
            body.extend_from_slice(k.as_bytes());
            body.push(0);
            body.extend_from_slice(v.as_bytes());
            body.push(0);
        }
        body.push(0);
        let mut packet = ((body.len() + 4) as i32).to_be_bytes().to_vec();
        packet.extend_from_slice(&body);
        client.stream.write_all(&packet).await.unwrap();
        let startup = client.until_ready().await;
        (client, startup)
    }

    /// Writes `bytes` as they are, for messages whose header lies about their length.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        bounded(self.stream.write_all(bytes)).await.unwrap();
    }

    pub async fn send(&mut self, tag: u8, body: &[u8]) {
        let mut packet = vec![tag];
        packet.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        packet.extend_from_slice(body);
        bounded(self.stream.write_all(&packet)).await.unwrap();
    }

    /// The next backend message, or `None` when the server closed the connection.
    pub async fn recv(&mut self) -> Option<Message> {
        let mut tag = [0u8; 1];
        if bounded(self.stream.read_exact(&mut tag)).await.is_err() {
            return None;
        }
        let mut len = [0u8; 4];
        bounded(self.stream.read_exact(&mut len)).await.ok()?;
        let mut body = vec![0u8; i32::from_be_bytes(len) as usize - 4];
        bounded(self.stream.read_exact(&mut body)).await.ok()?;
        Some((tag[0], body))
    }

    /// Messages up to and including the next ReadyForQuery.
    pub async fn until_ready(&mut self) -> Vec<Message> {
        let mut out = Vec::new();
        loop {
            let message = self
                .recv()
                .await
                .expect("connection closed before ReadyForQuery");
            let done = message.0 == b'Z';
            out.push(message);
            if done {
                return out;
            }
        }
    }

    /// Sends a simple Query and returns the responses through ReadyForQuery.
    pub async fn query(&mut self, sql: &str) -> Vec<Message> {
        self.send(b'Q', &cstr(sql)).await;
        self.until_ready().await
    }
}

/// `s` as a NUL-terminated string.
pub fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// A Parse message body.
pub fn parse_body(name: &str, sql: &str, oids: &[u32]) -> Vec<u8> {
    let mut b = cstr(name);
    b.extend(cstr(sql));
    b.extend((oids.len() as i16).to_be_bytes());
    for o in oids {
        b.extend(o.to_be_bytes());
    }
    b
}

/// A Bind message body.
pub fn bind_body(
    portal: &str,
    statement: &str,
    param_formats: &[i16],
    params: &[Option<&[u8]>],
    result_formats: &[i16],
) -> Vec<u8> {
    let mut b = cstr(portal);
    b.extend(cstr(statement));
    b.extend((param_formats.len() as i16).to_be_bytes());
    for f in param_formats {
        b.extend(f.to_be_bytes());
    }
    b.extend((params.len() as i16).to_be_bytes());
    for p in params {
        match p {
            None => b.extend((-1i32).to_be_bytes()),
            Some(v) => {
                b.extend((v.len() as i32).to_be_bytes());
                b.extend_from_slice(v);
            }
        }
    }
    b.extend((result_formats.len() as i16).to_be_bytes());
    for f in result_formats {
        b.extend(f.to_be_bytes());
    }
    b
}

/// An Execute message body.
pub fn execute_body(portal: &str, max_rows: i32) -> Vec<u8> {
    let mut b = cstr(portal);
    b.extend(max_rows.to_be_bytes());
    b
}

/// The type bytes of `messages`, as a string such as "TDCZ".
pub fn tags(messages: &[Message]) -> String {
    messages.iter().map(|(t, _)| *t as char).collect()
}

/// The fields of an ErrorResponse or NoticeResponse body, by field type byte.
pub fn error_fields(body: &[u8]) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some((&kind, tail)) = rest.split_first() {
        if kind == 0 {
            break;
        }
        let end = tail.iter().position(|b| *b == 0).unwrap();
        out.push((kind, String::from_utf8(tail[..end].to_vec()).unwrap()));
        rest = &tail[end + 1..];
    }
    out
}

/// One field of an ErrorResponse body.
pub fn error_field(body: &[u8], kind: u8) -> Option<String> {
    error_fields(body)
        .into_iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, v)| v)
}

/// One RowDescription column: name, type OID, type size, type modifier, format.
#[derive(Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub oid: u32,
    pub size: i16,
    pub typmod: i32,
    pub format: i16,
}

/// The columns of a RowDescription body.
pub fn row_description(body: &[u8]) -> Vec<Column> {
    let count = i16::from_be_bytes([body[0], body[1]]) as usize;
    let mut rest = &body[2..];
    let mut out = Vec::new();
    for _ in 0..count {
        let end = rest.iter().position(|b| *b == 0).unwrap();
        let name = String::from_utf8(rest[..end].to_vec()).unwrap();
        let f = &rest[end + 1..];
        out.push(Column {
            name,
            oid: u32::from_be_bytes(f[6..10].try_into().unwrap()),
            size: i16::from_be_bytes(f[10..12].try_into().unwrap()),
            typmod: i32::from_be_bytes(f[12..16].try_into().unwrap()),
            format: i16::from_be_bytes(f[16..18].try_into().unwrap()),
        });
        rest = &f[18..];
    }
    out
}

/// The values of a DataRow body (`None` for NULL).
pub fn data_row(body: &[u8]) -> Vec<Option<Vec<u8>>> {
    let count = i16::from_be_bytes([body[0], body[1]]) as usize;
    let mut rest = &body[2..];
    let mut out = Vec::new();
    for _ in 0..count {
        let len = i32::from_be_bytes(rest[..4].try_into().unwrap());
        rest = &rest[4..];
        if len < 0 {
            out.push(None);
        } else {
            out.push(Some(rest[..len as usize].to_vec()));
            rest = &rest[len as usize..];
        }
    }
    out
}

/// The values of a text-format DataRow body.
pub fn text_row(body: &[u8]) -> Vec<Option<String>> {
    data_row(body)
        .into_iter()
        .map(|v| v.map(|b| String::from_utf8(b).unwrap()))
        .collect()
}

/// The tag of a CommandComplete body.
pub fn command_tag(body: &[u8]) -> String {
    String::from_utf8(body[..body.len() - 1].to_vec()).unwrap()
}
