//! Running one of Basalt's own `.slt` files as a test: on a fresh database, stopping at the first
//! record that does not match, or rewriting the file's expected output.

use std::path::Path;
use std::time::Duration;

use sqllogictest::{default_normalizer, default_validator, ColumnType, Runner};

use crate::convention::Convention;
use crate::database::{ConnectionOptions, FreshDatabase, Mode};

/// Set (to anything but `0`) to rewrite the expected output of the selected `.slt` files from
/// what the embedded engine returns.
pub const COMPLETE_ENV: &str = "BASALT_SLT_COMPLETE";

/// A statement of Basalt's own tests still running after this long fails. It is a guard against
/// a hung run, not a performance check: the tests use small data.
pub const TEST_STATEMENT_TIMEOUT: Duration = Duration::from_secs(300);

/// True when [`COMPLETE_ENV`] asks for rewriting.
pub fn complete_requested() -> bool {
    std::env::var(COMPLETE_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The runner's column check: a query's type string must name as many columns as the result
/// has. The characters themselves are documentation (the wire's text format carries no types).
#[allow(clippy::ptr_arg)] // The signature is sqllogictest's `ColumnTypeValidator`.
pub fn column_count_validator<T: ColumnType>(actual: &Vec<T>, expected: &Vec<T>) -> bool {
    actual.len() == expected.len()
}

/// Runs the test file at `path` in `mode` on a fresh database, or rewrites its expected output
/// when `complete` is set. Returns the failure report.
pub fn run_test_file(path: &Path, mode: Mode, complete: bool) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let result = runtime.block_on(async {
        let options = ConnectionOptions::new(Convention::Postgres, TEST_STATEMENT_TIMEOUT);
        let database = FreshDatabase::open(mode, options)
            .await
            .map_err(|e| format!("{e:#}"))?;
        let mut runner = Runner::new(database.connector());
        runner.with_column_validator(column_count_validator);
        runner.add_label("basalt");
        runner.add_label(mode.name());
        let result = if complete {
            runner
                .update_test_file(
                    path,
                    " ",
                    default_validator,
                    default_normalizer,
                    column_count_validator,
                )
                .await
                .map_err(|e| format!("cannot rewrite {}: {e}", path.display()))
        } else {
            runner
                .run_file_async(path)
                .await
                .map_err(|e| e.display(false).to_string())
        };
        runner.shutdown_async().await;
        drop(runner);
        database.close().await;
        result
    });
    // A statement that timed out may still hold a thread; do not wait for it.
    runtime.shutdown_background();
    result
}
