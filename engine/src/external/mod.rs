//! External tables: SQL over Parquet, delimited text and JSON files that stay where they are
//! (Redshift Spectrum's, or Athena's, external schemas and tables).
//!
//! - `ddl`: the DDL statements (CREATE EXTERNAL SCHEMA / TABLE, DROP, ALTER TABLE ... ADD
//!   PARTITION), read from tokens.
//! - `catalog`: running them: the definitions are checked and stored in the manifest's
//!   external catalog (`basalt_storage::ExternalCatalog`), in the session's transaction.
//! - `source`: binding a FROM item that names an external table: its partitions (from
//!   `key=value` directories and ALTER TABLE ... ADD PARTITION) and their files are listed
//!   once per statement into an [`source::ExternalSource`], which the scan plan carries.
//! - `scan`: reading at query time: partitions pruned by the filter, Parquet files read for
//!   the needed columns only with row groups pruned by their statistics, text and JSON files
//!   parsed by COPY's own readers.
//! - `infer`: the columns of a table created without a column list, from its files.
//! - `views`: SVV_EXTERNAL_SCHEMAS, SVV_EXTERNAL_TABLES, SVV_EXTERNAL_COLUMNS and
//!   SVV_EXTERNAL_PARTITIONS.
//!
//! Files are only ever reached through `copy::files::FileStore`, as COPY reaches them.

pub mod catalog;
pub mod ddl;
pub mod infer;
pub mod scan;
pub mod source;
pub mod views;
