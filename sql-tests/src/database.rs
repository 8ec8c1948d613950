//! A fresh database for one test file, and the sqllogictest connections to it.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use basalt_engine::Engine;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, MakeConnection};
use tempfile::TempDir;

use crate::convention::{Convention, TypeHint};
use crate::embedded::EmbeddedConnection;
use crate::error::SltError;
use crate::wire::WireConnection;

/// The user every test connects as.
pub const TEST_USER: &str = "basalt";

/// The database every wire test connects to.
pub const TEST_DATABASE: &str = "dev";

/// Where the statements of a test run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// In this process, through `basalt_engine::Session`.
    Embedded,
    /// Through a Basalt server started in this process on a loopback port, over the PostgreSQL
    /// wire protocol.
    Wire,
}

impl Mode {
    /// Both modes, in the order tests list them.
    pub const ALL: [Mode; 2] = [Mode::Embedded, Mode::Wire];

    /// The mode's name, also a sqllogictest label (`skipif wire`).
    pub fn name(self) -> &'static str {
        match self {
            Mode::Embedded => "embedded",
            Mode::Wire => "wire",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What every connection of one test file shares.
#[derive(Clone, Debug)]
pub struct ConnectionOptions {
    pub convention: Convention,
    /// The type string of the query being run (read by [`Convention::Sqlite`]).
    pub hint: TypeHint,
    /// A statement still running after this long fails with a timeout error.
    pub statement_timeout: Duration,
    /// Set once any statement of the file has timed out.
    pub timed_out: Arc<AtomicBool>,
}

impl ConnectionOptions {
    pub fn new(convention: Convention, statement_timeout: Duration) -> Self {
        ConnectionOptions {
            convention,
            hint: TypeHint::default(),
            statement_timeout,
            timed_out: Arc::new(AtomicBool::new(false)),
        }
    }

    /// True once a statement has timed out.
    pub fn has_timed_out(&self) -> bool {
        self.timed_out.load(Ordering::SeqCst)
    }
}

/// An empty database in a temporary directory, served in-process when the mode is
/// [`Mode::Wire`]. Dropped (and its directory deleted) by [`FreshDatabase::close`].
pub struct FreshDatabase {
    mode: Mode,
    options: ConnectionOptions,
    engine: Arc<Engine>,
    server: Option<basalt_server::RunningServer>,
    dir: TempDir,
}

impl FreshDatabase {
    /// Creates the database and, for [`Mode::Wire`], starts a server on 127.0.0.1 with a port
    /// the system picks.
    pub async fn open(mode: Mode, options: ConnectionOptions) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("basalt-slt-")
            .tempdir()
            .context("cannot create a temporary data directory")?;
        let engine = Engine::open(dir.path()).map_err(|e| {
            anyhow::anyhow!("cannot open a database in {}: {e}", dir.path().display())
        })?;
        let server = match mode {
            Mode::Embedded => None,
            Mode::Wire => {
                let listen: SocketAddr = ([127, 0, 0, 1], 0).into();
                let config = basalt_server::ServerConfig::new(listen);
                let server = basalt_server::start(engine.clone(), config)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot start a server: {e}"))?;
                Some(server)
            }
        };
        Ok(FreshDatabase {
            mode,
            options,
            engine,
            server,
            dir,
        })
    }

    /// Opens connections for a sqllogictest runner: a session, or a client of the server.
    pub fn connector(&self) -> impl MakeConnection<Conn = SltConnection> {
        let target = match &self.server {
            Some(server) => Target::Wire(server.local_addr()),
            None => Target::Embedded(self.engine.clone()),
        };
        let options = self.options.clone();
        move || {
            let target = target.clone();
            let options = options.clone();
            async move {
                match target {
                    Target::Embedded(engine) => {
                        EmbeddedConnection::open(engine, options).map(SltConnection::Embedded)
                    }
                    Target::Wire(addr) => WireConnection::open(addr, options)
                        .await
                        .map(SltConnection::Wire),
                }
            }
        }
    }

    /// The mode this database runs in.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Stops the server, if any, and deletes the data directory. Close the runner's connections
    /// first.
    pub async fn close(self) {
        if let Some(server) = self.server {
            server.shutdown().await;
        }
        drop(self.engine);
        // A directory that cannot be removed is left for the system's temp cleaner; it does not
        // change what the test showed.
        let _ = self.dir.close();
    }
}

#[derive(Clone)]
enum Target {
    Embedded(Arc<Engine>),
    Wire(SocketAddr),
}

/// A sqllogictest connection in either mode.
pub enum SltConnection {
    Embedded(EmbeddedConnection),
    Wire(WireConnection),
}

#[async_trait]
impl AsyncDB for SltConnection {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        match self {
            SltConnection::Embedded(c) => c.run(sql).await,
            SltConnection::Wire(c) => c.run(sql).await,
        }
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "basalt"
    }

    async fn sleep(duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    fn error_sql_state(error: &SltError) -> Option<String> {
        error.sqlstate.clone()
    }
}

/// The affected-row count in a command tag (`INSERT 0 3` is 3, `CREATE TABLE` is 0), read the
/// way tokio-postgres reads CommandComplete, so both modes agree.
pub fn command_count(tag: &str) -> u64 {
    tag.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Tags with and without a count.
    #[test]
    fn command_counts() {
        assert_eq!(command_count("INSERT 0 3"), 3);
        assert_eq!(command_count("SELECT 12"), 12);
        assert_eq!(command_count("CREATE TABLE"), 0);
        assert_eq!(command_count(""), 0);
    }
}
