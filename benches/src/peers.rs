//! The peer engines (DuckDB, DataFusion, and psycopg as the client of PostgreSQL-protocol
//! servers) run by `peers/peer.py` in a Python virtual
//! environment under the target directory, and the harnesses' progress lines.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

/// Pinned versions of the peers installed into the virtual environment.
pub const PEER_PACKAGES: [&str; 4] = [
    "duckdb==2.0.0",
    "datafusion==55.0.0",
    "pyarrow==26.0.1",
    "psycopg[binary]==3.2.10",
];

/// The workspace's target directory (`CARGO_TARGET_DIR` or `target/`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// The Python process running the peer engines (`peers/peer.py`), speaking JSON lines.
pub struct Peer {
    pub child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    /// Starts `peers/peer.py` in the virtual environment, installing the peers first.
    pub fn start(python: &str) -> Result<Peer> {
        let venv = target_dir().join("peers-venv");
        let venv_python = venv.join("bin/python");
        let stamp = venv.join("basalt-peers.txt");
        let wanted = PEER_PACKAGES.join("\n");
        if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
            progress(&format!(
                "installing {} into {}",
                PEER_PACKAGES.join(" "),
                venv.display()
            ));
            if !venv_python.exists() {
                run_command(Command::new(python).arg("-m").arg("venv").arg(&venv))?;
            }
            run_command(
                Command::new(&venv_python)
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                    ])
                    .args(PEER_PACKAGES),
            )?;
            std::fs::write(&stamp, &wanted)?;
            clear_progress();
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/peer.py");
        let mut child = Command::new(&venv_python)
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", script.display()))?;
        let stdin = child.stdin.take().ok_or_else(|| anyhow!("no stdin"))?;
        let stdout = BufReader::new(child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?);
        let mut peer = Peer {
            child,
            stdin,
            stdout,
        };
        let v = peer.call(json!({"op": "versions"}))?;
        println!(
            "Peers: DuckDB {}, DataFusion {} (Python {})",
            v["duckdb"].as_str().unwrap_or("not installed"),
            v["datafusion"].as_str().unwrap_or("not installed"),
            v["python"].as_str().unwrap_or("?"),
        );
        Ok(peer)
    }

    /// Sends a request; the outer error is a broken peer, the inner one the peer's answer.
    pub fn request(&mut self, req: Value) -> Result<Result<Value, String>> {
        writeln!(self.stdin, "{req}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            bail!("the peer process exited");
        }
        let v: Value = serde_json::from_str(&line).context("the peer's response")?;
        if v["ok"].as_bool() == Some(true) {
            Ok(Ok(v))
        } else {
            Ok(Err(v["error"]
                .as_str()
                .unwrap_or("unknown error")
                .to_string()))
        }
    }

    /// Sends a request and fails on an error answer.
    pub fn call(&mut self, req: Value) -> Result<Value> {
        let op = req["op"].as_str().unwrap_or_default().to_string();
        self.request(req)?.map_err(|e| anyhow!("peer {op}: {e}"))
    }

    /// Closes the peer's input and waits for it to exit.
    pub fn stop(mut self) {
        drop(self.stdin);
        let _ = self.child.wait();
    }
}

fn run_command(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

/// A progress line on stderr, replacing the last one.
pub fn progress(msg: &str) {
    eprint!("\r\x1b[2K{msg}");
    let _ = std::io::stderr().flush();
}

/// Clears the progress line.
pub fn clear_progress() {
    eprint!("\r\x1b[2K");
}
