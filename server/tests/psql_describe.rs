//! psql's describe commands (`\d table`, `\d+ table`, `\d view`, `\d+ view` down to the
//! view's definition, `\di`; with a primary key
//! and a UNIQUE constraint in `\d`'s "Indexes:") and its listings (`\l`, `\du`, `\dv`),
//! expanded output (`\x`) and `\copy` both ways against the real `basalt` binary must print
//! exactly what PostgreSQL 15's psql prints for the same objects (`psql/describe.out` and
//! `psql/listings.out`, recorded from PostgreSQL 15 with the objects of
//! `psql/describe_setup.sql` and `psql/listings_setup.sql` owned by a role named basalt).
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
    // `\d+` of the view: PostgreSQL's layout down to its definition, which is Basalt's own
    // text (ARCHITECTURE.md, "Deliberate differences from PostgreSQL").
    let view = psql(port, "\\d+ cheap\n");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        printed, expected,
        "psql printed something else than PostgreSQL 15's psql"
    );
    let view_expected =
        std::fs::read_to_string(here.join("describe_view.out")).expect("expected view");
    let (layout, definition) = view
        .split_once("View definition:\n")
        .expect("psql printed no view definition");
    let (expected_layout, _) = view_expected
        .split_once("View definition:\n")
        .expect("the recorded output has a view definition");
    assert_eq!(layout, expected_layout, "psql printed: {view}");
    assert_eq!(
        definition,
        "SELECT id, name FROM items WHERE price < 10\n\n"
    );
}

// A table of three rows, a view over it, and a user in a group: psql's `\l` of the database,
// `\du` of the two roles, `\dv`, a query in expanded display, and `\copy` out to a file,
// back in from it and out to standard output as CSV. PostgreSQL 15's output was recorded in
// a database created with `TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C' OWNER basalt`
// (Basalt compares strings byte by byte, as the C locale does) under a three-letter name,
// written here as `dev`.
#[test]
fn listings_expanded_display_and_copy_print_as_postgresql() {
    if !psql::available("the listings check") {
        return;
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/psql");
    let setup = std::fs::read_to_string(here.join("listings_setup.sql")).expect("setup");
    let expected = std::fs::read_to_string(here.join("listings.out")).expect("expected");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, port) = basalt_process::spawn(&dir.path().join("basalt-data"));
    psql(port, &setup);
    let file = dir.path().join("items.txt");
    let file = file.to_str().expect("a UTF-8 temporary path");
    let printed = psql(
        port,
        &format!(
            "\\l dev\n\\du fd*\n\\dv\n\\x\nSELECT * FROM fd_items ORDER BY id;\n\\x\n\\copy fd_items TO '{file}'\n\\copy fd_items FROM '{file}'\n\\copy (SELECT * FROM fd_items ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)\n"
        ),
    );
    let written = std::fs::read_to_string(file).expect("\\copy wrote the file");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        printed, expected,
        "psql printed something else than PostgreSQL 15's psql"
    );
    // PostgreSQL 15's text format of the same rows.
    assert_eq!(written, "1\tbolt\t2.50\n2\tnut\t0.75\n3\t\\N\t\\N\n");
}
