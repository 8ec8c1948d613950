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

/// Prefix of every test database's directory name in the system's temporary directory.
pub const DIR_PREFIX: &str = "basalt-slt-";

/// The lock file a Basalt data directory holds (flock) while it is open (see
/// `basalt_storage::store`).
const LOCK_FILE: &str = "basalt.lock";

/// A test database directory unchanged for this long whose lock no process holds is
/// abandoned: no open waits that long between creating the directory and locking it.
const ABANDONED_UNLOCKED_AGE: Duration = Duration::from_secs(60);

/// A test database directory without a lock file, unchanged for this long, is abandoned (a
/// run killed while it was being created or deleted).
const ABANDONED_UNLOCKED_EMPTY_AGE: Duration = Duration::from_secs(600);

/// How long [`FreshDatabase::close`] waits for sessions still finishing to let go of the
/// engine before it deletes the directory anyway.
const ENGINE_RELEASE_WAIT_MAX: Duration = Duration::from_secs(30);

/// How often [`FreshDatabase::close`] looks whether the engine has been let go.
const ENGINE_RELEASE_POLL: Duration = Duration::from_millis(5);

/// Deletes the test database directories that runs killed before they could delete them
/// left in `tmp`: those whose lock no process holds, unchanged for a while. A directory of a
/// run in progress is locked by its engine and left alone. Returns how many it deleted.
pub fn remove_abandoned_directories(tmp: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let path = entry.path();
        let is_test_dir = name.to_str().is_some_and(|n| n.starts_with(DIR_PREFIX))
            && entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_test_dir {
            continue;
        }
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .unwrap_or_default();
        let lock = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path.join(LOCK_FILE));
        let abandoned = match &lock {
            // Held while the file is open here, so no engine can open the directory while
            // it is deleted.
            Ok(file) => age >= ABANDONED_UNLOCKED_AGE && file.try_lock().is_ok(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                age >= ABANDONED_UNLOCKED_EMPTY_AGE
            }
            Err(_) => false,
        };
        if abandoned && std::fs::remove_dir_all(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// An empty database in a temporary directory, served in-process when the mode is
/// [`Mode::Wire`]. Deleted with its directory by [`FreshDatabase::close`], or when dropped
/// on any other path (a failed open, a panic); the directories of a run that was killed are
/// deleted by the next run's first open ([`remove_abandoned_directories`]).
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
        static SWEEP: std::sync::Once = std::sync::Once::new();
        SWEEP.call_once(|| {
            remove_abandoned_directories(&std::env::temp_dir());
        });
        let dir = tempfile::Builder::new()
            .prefix(DIR_PREFIX)
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
        // A session can outlive its client for a moment (a server task finishing its
        // statement). The engine is dropped last here, once no session holds it, because the
        // store writes what it still holds in memory when it is dropped: dropped elsewhere
        // after the directory is deleted, it would create the directory again.
        let mut waited = Duration::ZERO;
        while Arc::strong_count(&self.engine) > 1 && waited < ENGINE_RELEASE_WAIT_MAX {
            tokio::time::sleep(ENGINE_RELEASE_POLL).await;
            waited += ENGINE_RELEASE_POLL;
        }
        drop(self.engine);
        // A directory that cannot be removed is tried once more, then left for the next
        // run's sweep; it does not change what the test showed.
        let path = self.dir.path().to_owned();
        if self.dir.close().is_err() {
            let _ = std::fs::remove_dir_all(&path);
        }
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

    // Four directories in an empty temporary root: a test database whose lock is held, one
    // whose lock is free and that is old, one whose lock is free but that is new, and an old
    // directory of another name. Only the second is abandoned.
    #[test]
    fn removes_only_abandoned_directories() -> anyhow::Result<()> {
        let root = tempfile::tempdir()?;
        let old = std::time::SystemTime::now() - Duration::from_secs(3600);
        let make = |name: &str, lock: bool, modified: Option<std::time::SystemTime>| {
            let dir = root.path().join(name);
            std::fs::create_dir(&dir)?;
            if lock {
                std::fs::write(dir.join(LOCK_FILE), b"")?;
            }
            if let Some(t) = modified {
                std::fs::File::open(&dir)?.set_modified(t)?;
            }
            anyhow::Ok(dir)
        };
        let held = make("basalt-slt-held", true, Some(old))?;
        let holder = std::fs::File::open(held.join(LOCK_FILE))?;
        holder.try_lock()?;
        let free_old = make("basalt-slt-free", true, Some(old))?;
        let free_new = make("basalt-slt-new", true, None)?;
        let other = make("other-dir", false, Some(old))?;
        assert_eq!(remove_abandoned_directories(root.path()), 1);
        assert!(held.exists());
        assert!(!free_old.exists());
        assert!(free_new.exists());
        assert!(other.exists());
        drop(holder);
        Ok(())
    }

    // Tags with and without a count.
    #[test]
    fn command_counts() {
        assert_eq!(command_count("INSERT 0 3"), 3);
        assert_eq!(command_count("SELECT 12"), 12);
        assert_eq!(command_count("CREATE TABLE"), 0);
        assert_eq!(command_count(""), 0);
    }
}
