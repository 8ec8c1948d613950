//! Basalt's SQL test runners.
//!
//! SQL behaviour is specified by sqllogictest files under `slt/<area>/`. Each file runs on a
//! fresh database twice: against the engine embedded in the test process, and over the
//! PostgreSQL wire protocol against a server started in the process. Both adapters turn results
//! into the same strings (PostgreSQL's text form, `NULL`, `(empty)`) and errors into the same
//! `<message> (SQLSTATE <code>)` text, so one expected output serves both.
//!
//! Modules, from a value to a verdict:
//! - [`convention`]: how a value is rendered (PostgreSQL text, or sqlite's corpus conventions).
//! - [`error`]: the error both adapters report.
//! - [`embedded`]: a connection that is an engine session in this process.
//! - [`wire`]: a connection that is a tokio-postgres client of an in-process server.
//! - [`database`]: a fresh database per file, and the sqllogictest connection over either mode.
//! - [`files`]: finding `.slt` files.
//! - [`harness`]: one file as a test (`tests/slt.rs`), and the rewrite mode.
//! - [`conformance`]: record-by-record pass/fail counts over a corpus (`basalt-conformance`).

pub mod conformance;
pub mod convention;
pub mod database;
pub mod embedded;
pub mod error;
pub mod files;
pub mod harness;
pub mod wire;
