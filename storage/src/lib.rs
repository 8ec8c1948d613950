//! Basalt storage: immutable columnar segment files, versioned manifests and the catalog.
//!
//! (API skeleton; the implementation is being written.)

pub mod types;

use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
pub use types::SqlType;

/// Everything that can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("relation \"{0}\" already exists")]
    TableExists(String),
    #[error("relation \"{0}\" does not exist")]
    NoSuchTable(String),
    #[error("could not serialize access due to concurrent update on table \"{0}\"")]
    SerializationConflict(String),
    #[error("corrupt data in {file}: {detail}")]
    Corrupt { file: String, detail: String },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("internal storage error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One column of a table definition.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ColumnDef {
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
}

/// A table definition as the catalog records it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TableDef {
    pub schema: String,
    pub name: String,
    pub columns: Vec<ColumnDef>,
}

/// A committed table: its definition and its segments.
#[derive(Clone, Debug)]
pub struct TableMeta {
    pub id: u64,
    pub def: TableDef,
    pub segments: Vec<SegmentMeta>,
}

/// One immutable segment file of a table.
#[derive(Clone, Debug)]
pub struct SegmentMeta {
    pub id: u64,
    pub rows: u64,
}

/// An immutable version of the whole database.
#[derive(Clone, Debug, Default)]
pub struct Manifest {
    pub version: u64,
    pub tables: Vec<TableMeta>,
}

impl Manifest {
    pub fn table(&self, schema: &str, name: &str) -> Option<&TableMeta> {
        self.tables
            .iter()
            .find(|t| t.def.schema == schema && t.def.name == name)
    }
}

/// A data directory.
#[derive(Debug)]
pub struct Store {}

impl Store {
    pub fn open(_dir: &Path) -> Result<Store> {
        Err(Error::Internal("not built".into()))
    }
    pub fn snapshot(&self) -> Arc<Manifest> {
        Arc::new(Manifest::default())
    }
    pub fn begin(self: &Arc<Self>) -> Transaction {
        Transaction {}
    }
    pub fn read_segment(
        &self,
        _table: &TableMeta,
        _segment: &SegmentMeta,
        _projection: &[usize],
    ) -> Result<RecordBatch> {
        Err(Error::Internal("not built".into()))
    }
}

/// A write transaction.
#[derive(Debug)]
pub struct Transaction {}

impl Transaction {
    pub fn snapshot(&self) -> &Manifest {
        unreachable!()
    }
    pub fn create_table(&mut self, _def: TableDef) -> Result<()> {
        Err(Error::Internal("not built".into()))
    }
    pub fn drop_table(&mut self, _schema: &str, _name: &str) -> Result<()> {
        Err(Error::Internal("not built".into()))
    }
    pub fn append(&mut self, _schema: &str, _name: &str, _batches: &[RecordBatch]) -> Result<()> {
        Err(Error::Internal("not built".into()))
    }
    pub fn commit(self) -> Result<Arc<Manifest>> {
        Err(Error::Internal("not built".into()))
    }
}
