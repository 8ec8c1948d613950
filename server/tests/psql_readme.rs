//! The README's example session, replayed through the real `basalt` binary and the real psql,
//! must print exactly what the README shows; and the data must survive a restart.
//!
//! psql is an external program: when it is not installed this test says so and passes, unless
//! `BASALT_REQUIRE_PSQL` is set (CI sets it, so there the test always runs).

#[path = "support/basalt_process.rs"]
mod basalt_process;
#[path = "support/psql.rs"]
mod psql;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The example session: the SQL typed at the prompts, and everything psql printed.
struct Session {
    sql: String,
    output: String,
}

fn readme_session() -> Session {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let text = std::fs::read_to_string(&readme).expect("README.md is readable");
    let start = text
        .find("<!-- example-session")
        .expect("README has an example-session marker");
    let block_start = text[start..].find("```text\n").expect("example block") + start + 8;
    let block_end = text[block_start..]
        .find("```")
        .expect("end of example block")
        + block_start;
    let mut sql = String::new();
    let mut output = String::new();
    for line in text[block_start..block_end].lines() {
        // psql's prompts: `dev=#` for a superuser (`dev=>` otherwise), `dev-#` on continuation.
        let prompt = ["dev=# ", "dev-# ", "dev=> ", "dev-> "]
            .iter()
            .find_map(|p| line.strip_prefix(p));
        if let Some(s) = prompt {
            sql.push_str(s);
            sql.push('\n');
        } else {
            output.push_str(line);
            output.push('\n');
        }
    }
    Session { sql, output }
}

/// A running `basalt serve` on an ephemeral port.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(data: &Path) -> Server {
        let (child, port) = basalt_process::spawn(data);
        Server { child, port }
    }

    /// Stops the server with SIGTERM (a graceful shutdown) and waits for it.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "basalt exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "basalt did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn psql(&self, sql: &str) -> String {
        let out = psql::run(self.port, &[], sql);
        String::from_utf8(out.stdout).expect("utf-8 output")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// The README's example, typed into psql against a fresh data directory; then a restart.
#[test]
fn readme_session_prints_as_documented_and_survives_restart() {
    if !psql::available("the README session check") {
        return;
    }
    let session = readme_session();
    let dir = tempfile::tempdir().expect("tempdir");
    let data: PathBuf = dir.path().join("basalt-data");

    let server = Server::start(&data);
    let printed = server.psql(&session.sql);
    assert_eq!(
        printed, session.output,
        "psql printed something else than the README shows"
    );
    server.stop();

    let server = Server::start(&data);
    let count = server.psql("SELECT count(*), sum(amount) FROM sales;");
    assert_eq!(
        count,
        " count |  sum   \n-------+--------\n     4 | 257.75\n(1 row)\n\n"
    );
    server.stop();
}
