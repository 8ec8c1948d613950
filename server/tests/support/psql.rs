//! Running the real psql against a `basalt` server, for the tests that check what it prints.

// Each test binary that includes this uses part of it.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Whether psql is installed. When it is not, the calling test is skipped (this says so),
/// unless `BASALT_REQUIRE_PSQL` is set, as CI sets it: then the test fails.
pub fn available(check: &str) -> bool {
    let installed = Command::new("psql")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !installed {
        assert!(
            std::env::var_os("BASALT_REQUIRE_PSQL").is_none(),
            "BASALT_REQUIRE_PSQL is set but psql is not installed"
        );
        eprintln!("psql is not installed: skipping {check}");
    }
    installed
}

/// Runs psql as user basalt on database dev at `port`, with `args` after the database name and
/// `input` on its standard input, and fails the test if psql fails.
pub fn run(port: u16, args: &[&str], input: &str) -> Output {
    let mut child = Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-U", "basalt", "-v", "ON_ERROR_STOP=1", "dev"])
        .args(args)
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
        .write_all(input.as_bytes())
        .expect("write to psql");
    let out = child.wait_with_output().expect("psql finishes");
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
