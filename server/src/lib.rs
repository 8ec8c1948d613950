//! Basalt's PostgreSQL wire-protocol server: psql, JDBC, ODBC and every PostgreSQL driver talk
//! to Basalt through it.
//!
//! Modules, in the order a connection meets them:
//!
//! - [`server`]: configuration, the listener and accept loop, each connection's message loop,
//!   graceful shutdown. [`start`] is the entry point.
//! - [`auth`]: the `dev` database, the bootstrap `basalt` role and catalog roles: trust,
//!   SCRAM-SHA-256 or MD5, the ParameterStatus values clients read.
//! - `connection`: the per-connection handlers of the simple and extended query protocols.
//! - [`backend`]: the narrow [`Backend`] / [`BackendSession`] interface the protocol code runs
//!   statements through, implemented for [`basalt_engine::Engine`].
//! - `copy_in`: COPY FROM STDIN's data as the engine takes it; PostgreSQL's binary COPY
//!   format decoded into text lines.
//! - `exec`: statements on the blocking pool, panics caught, rows streamed back through a
//!   bounded channel.
//! - [`params`]: Bind parameters (text or binary) to the text values the engine takes.
//! - [`types`]: SQL types as PostgreSQL type OIDs, sizes and modifiers.
//! - [`encode`]: Arrow batches to DataRows in PostgreSQL's text and binary formats.
//! - [`sqlstate`]: every error to its SQLSTATE, in one place.
//! - [`tls`]: the rustls configuration for encrypted connections.
//!
//! **Architecture Invariant:** the server knows nothing of planning or Arrow kernels; it
//! parses, describes and executes through [`BackendSession`] and only reads result batches to
//! encode them.

pub mod auth;
pub mod backend;
mod connection;
mod copy_in;
pub mod encode;
mod exec;
pub mod params;
pub mod server;
pub mod sqlstate;
pub mod tls;
pub mod types;

pub use backend::{Backend, BackendSession};
pub use server::{start, start_with_backend, Error, RunningServer, ServerConfig};
