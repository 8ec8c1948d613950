//! The storage crate's one error type, grouped by who is at fault.

use std::path::Path;

/// Everything that can go wrong in storage.
///
/// The server maps each variant to a SQLSTATE code; storage itself knows nothing of codes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // --- The caller's request does not fit the catalog -------------------------------------------
    /// CREATE TABLE of a name the transaction's view already holds (42P07).
    #[error("relation \"{0}\" already exists")]
    TableExists(String),
    /// A table name the transaction's view does not hold (42P01).
    #[error("relation \"{0}\" does not exist")]
    NoSuchTable(String),

    // --- The environment: another process -------------------------------------------------------
    /// The data directory is open in another `Store` (this process or another one) (55006).
    #[error(
        "data directory \"{dir}\" is in use by another Basalt process (lock file {lock} is held)"
    )]
    DirectoryLocked { dir: String, lock: String },

    // --- Concurrency ------------------------------------------------------------------------------
    /// A commit after this transaction's start changed a table this transaction changed (40001).
    #[error("could not serialize access due to concurrent update on table \"{0}\"")]
    SerializationConflict(String),

    // --- The data or the environment ------------------------------------------------------------
    /// A file's bytes are not what Basalt wrote: bad magic, checksum mismatch, truncation,
    /// out-of-range offset (XX001). `file` is the path, `detail` names the block or field.
    #[error("corrupt data in {file}: {detail}")]
    Corrupt { file: String, detail: String },
    /// An operating-system I/O failure on `path`.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file system holding the data directory is full (53100).
    #[error("could not write {path}: no space left on device")]
    DiskFull {
        path: String,
        #[source]
        source: std::io::Error,
    },

    // --- Us ---------------------------------------------------------------------------------------
    /// A bug in Basalt (including a caller breaking this crate's documented contract).
    #[error("internal storage error: {0}")]
    Internal(String),
}

/// Storage's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error on `path`, singling out a full disk.
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Error {
        let path = path.display().to_string();
        if source.kind() == std::io::ErrorKind::StorageFull {
            Error::DiskFull { path, source }
        } else {
            Error::Io { path, source }
        }
    }

    /// A corruption error on `path`.
    pub(crate) fn corrupt(path: &Path, detail: impl Into<String>) -> Error {
        Error::Corrupt {
            file: path.display().to_string(),
            detail: detail.into(),
        }
    }
}

/// `.map_err(io_at(path))`: attaches the path to an I/O error.
pub(crate) fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}
