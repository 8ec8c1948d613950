//! psql's describe commands (`\d table`, `\d+ table`, `\d view`, `\di`) against the real
//! `basalt` binary must print exactly what PostgreSQL 15's psql prints for the same objects
//! (`psql/describe.out`, recorded from PostgreSQL 15 with the objects of
//! `psql/describe_setup.sql` owned by a role named basalt).
//!
//! psql is an external program: when it is not installed this test says so and passes, unless
//! `BASALT_REQUIRE_PSQL` is set (CI sets it, so there the test always runs).

#[path = "support/basalt_process.rs"]
mod basalt_process;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn psql_available() -> bool {
    Command::new("psql")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn psql(port: u16, sql: &str) -> String {
    let mut child = Command::new("psql")
        .args(["-X", "-q", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-U", "basalt", "-v", "ON_ERROR_STOP=1", "dev"])
        .env("PAGER", "")
        .env_remove("PGPASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(sql.as_bytes())
        .expect("write to psql");
    let out = child.wait_with_output().expect("psql finishes");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

// A table with two indexes and a view over it, described by psql.
#[test]
fn describe_commands_print_as_postgresql() {
    if !psql_available() {
        assert!(
            std::env::var_os("BASALT_REQUIRE_PSQL").is_none(),
            "BASALT_REQUIRE_PSQL is set but psql is not installed"
        );
        eprintln!("psql is not installed: skipping the describe check");
        return;
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/psql");
    let setup = std::fs::read_to_string(here.join("describe_setup.sql")).expect("setup");
    let expected = std::fs::read_to_string(here.join("describe.out")).expect("expected");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, port) = basalt_process::spawn(&dir.path().join("basalt-data"));
    psql(port, &setup);
    let printed = psql(port, "\\d items\n\\d+ items\n\\d cheap\n\\di\n");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        printed, expected,
        "psql printed something else than PostgreSQL 15's psql"
    );
}
