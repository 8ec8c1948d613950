//! The engine's public API end to end, one binary for all of it: sessions and SQL in, rows out;
//! the data-directory lock; statistics across restarts; Redshift's table attributes. The crash
//! and write-fault tests stay separate binaries: they kill processes and inject faults.

mod alter_column;
mod checkpoint;
mod data_dir_lock;
mod session;
mod statistics;
mod table_attributes;
