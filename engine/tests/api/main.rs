//! The engine's public API end to end, one binary for all of it: sessions and SQL in, rows out;
//! the data-directory lock; statistics across restarts; Redshift's table attributes; damaged
//! files; many single-row INSERTs; cursors spilling past work_mem. The crash and write-fault tests stay separate binaries: they
//! kill processes and inject faults.

mod alter_column;
mod checkpoint;
mod common;
mod copy_stdin;
mod corruption;
mod cursor_spill;
mod data_dir_lock;
mod proc_catalog;
mod renames;
mod session;
mod single_row_inserts;
mod statistics;
mod table_attributes;
