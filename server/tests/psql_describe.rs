//! psql's describe commands (`\d table`, `\d+ table`, `\d view`, `\di`; with a primary key
//! and a UNIQUE constraint in `\d`'s "Indexes:") against the real
//! `basalt` binary must print exactly what PostgreSQL 15's psql prints for the same objects
//! (`psql/describe.out`, recorded from PostgreSQL 15 with the objects of
//! `psql/describe_setup.sql` owned by a role named basalt).
//!
//! psql is an external program: when it is not installed this test says so and passes, unless
//! `BASALT_REQUIRE_PSQL` is set (CI sets it, so there the test always runs).

#[path = "support/basalt_process.rs"]
mod basalt_process;
#[path = "support/psql.rs"]
mod psql;

use std::path::Path;

/// psql's output for `input`, quiet, with nothing on its standard error.
fn psql(port: u16, input: &str) -> String {
    let out = psql::run(port, &["-q"], input);
    assert!(
        out.stderr.is_empty(),
        "psql wrote: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

// A table with two indexes and a view over it, and a table with a primary key and a UNIQUE
// constraint, described by psql.
#[test]
fn describe_commands_print_as_postgresql() {
    if !psql::available("the describe check") {
        return;
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/psql");
    let setup = std::fs::read_to_string(here.join("describe_setup.sql")).expect("setup");
    let expected = std::fs::read_to_string(here.join("describe.out")).expect("expected");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, port) = basalt_process::spawn(&dir.path().join("basalt-data"));
    psql(port, &setup);
    let printed = psql(
        port,
        "\\d items\n\\d+ items\n\\d cheap\n\\di\n\\d vendors\n",
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        printed, expected,
        "psql printed something else than PostgreSQL 15's psql"
    );
}
