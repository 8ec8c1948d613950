//! Starting the real `basalt` binary for tests that drive it from outside.

// Each test binary that includes this uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Starts `basalt serve` on an ephemeral loopback port over `data`, and returns the process
/// and the port it reported in its startup line.
pub fn spawn(data: &Path) -> (Child, u16) {
    spawn_with(data, &[])
}

/// [`spawn`] with more `basalt serve` flags.
pub fn spawn_with(data: &Path, flags: &[&str]) -> (Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_basalt"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("basalt starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("startup line");
    // "Basalt 0.1.0 listening on 127.0.0.1:PORT (data: ...)"
    let port = line
        .split("listening on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|addr| addr.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected startup line: {line}"));
    (child, port)
}
