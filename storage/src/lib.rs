//! Basalt storage: immutable columnar segment files, versioned manifests and the catalog.
//!
//! A table is a set of immutable segment files; a [`Manifest`] names every table and segment of
//! one committed version of the database. Writers append rows as new segment files inside a
//! [`Transaction`] and publish them by committing a new manifest; readers pin a manifest
//! (an `Arc`) and see that version for as long as they hold it.
//!
//! Modules, from the bytes up:
//! - [`types`]: SQL column types and their Arrow types.
//! - `bytes`: little-endian layouts and a bounds-checked reader for persisted bytes.
//! - [`zone_map`]: min / max / null count / row count of blocks and segments.
//! - [`hll`]: the HyperLogLog sketch of distinct values (ANALYZE, APPROXIMATE COUNT).
//! - [`segment`]: segment files: blocks, encodings, compression, footer; writer and reader
//!   (format: `docs/segment-format.md`).
//! - [`column_encoding`]: per-column encoding preferences (Redshift's `ENCODE` keywords).
//! - [`delete_vector`]: the deleted rows of a segment (DELETE, UPDATE).
//! - [`catalog`]: table definitions, [`TableMeta`], [`SegmentMeta`] and [`Manifest`].
//! - [`security`]: roles, group memberships and granted privileges, kept in the manifest.
//! - [`external`]: external schemas and tables (definitions only; their files are not ours).
//! - [`objects`]: views, indexes and table constraints, kept in the manifest.
//! - [`manifest`]: manifest files on disk (one per version).
//! - `durable`: fsync, atomic rename and what Basalt assumes of the file system.
//! - [`resident`]: rows of small INSERTs held in memory until a checkpoint writes them to a
//!   segment file.
//! - `wal`: the write-ahead log those rows are durable in (format: `docs/wal.md`).
//! - [`fault`]: fault injection on the write path, for tests.
//! - [`statistics`]: per-table statistics gathered by ANALYZE, in their own files
//!   (format: `docs/statistics.md`).
//! - [`spill`]: temporary files of batches kept past a memory bound (a scrollable cursor's
//!   rows), in Arrow IPC.
//! - [`store`]: the data directory: recovery and garbage collection on open, reads, commits.
//! - [`transaction`]: write transactions and their commit protocol (`docs/transactions.md`).
//! - [`error`]: the crate's one error type.
//!
//! **Architecture Invariant:** storage does not depend on the engine, and only storage does file
//! I/O on table data.

mod bytes;
pub mod catalog;
pub mod column_encoding;
pub mod delete_vector;
mod durable;
pub mod error;
pub mod external;
pub mod fault;
pub mod hll;
pub mod manifest;
pub mod objects;
pub mod resident;
pub mod security;
pub mod segment;
pub mod spill;
pub mod statistics;
pub mod store;
pub mod transaction;
pub mod types;
mod wal;
pub mod zone_map;

#[cfg(test)]
mod column_ids_tests;
#[cfg(test)]
mod test_util;
#[cfg(test)]
mod wal_tests;

pub use catalog::{
    ColumnDef, ColumnDefault, DistStyle, Manifest, SegmentMeta, SortKey, TableDef, TableMeta,
};
pub use column_encoding::ColumnEncoding;
pub use delete_vector::DeleteVector;
pub use error::{Error, Result};
pub use external::{ExternalCatalog, ExternalPartition, ExternalSchema, ExternalTable};
pub use objects::{
    is_temp_schema, CommentDef, ConstraintDef, ConstraintKind, ForeignKey, IndexColumn, IndexDef,
    Objects, SchemaDef, ViewDef,
};
pub use security::Security;
pub use segment::{BlockMeta, ColumnPiece, SegmentReader};
pub use statistics::{ColumnStats, Statistics, StatisticsScope, TableStats};
pub use store::{
    OpenScan, ScanCounts, SegmentRows, SegmentScan, Store, StoreOptions, LOCK_FILE, MANIFESTS_KEPT,
    TABLE_ID_MIN,
};
pub use transaction::{GatheredStatistics, Savepoint, Transaction};
pub use types::SqlType;
pub use zone_map::{ColumnRange, ZoneMap, ZoneValue};
