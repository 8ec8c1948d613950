//! Basalt's wire-protocol tests, one binary for all of them: the simple and extended query
//! protocols over a mock backend, startup and TLS, roles, cursors, disconnects, temporary tables,
//! and the embedded engine reached through tokio-postgres. Tests that start the `basalt`
//! binary and drive real clients live beside this folder (`clients.rs`, `psql_readme.rs`).

// A panic in a test is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod copy_extended;
mod cursors;
mod disconnect;
mod engine;
mod extended;
mod roles;
mod simple;
mod startup;
mod streaming;
mod temp_tables;
mod tls;
mod tokio_postgres_client;
