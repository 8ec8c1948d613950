//! Real PostgreSQL drivers against the real `basalt` binary: psycopg 3, psycopg2, asyncpg,
//! node-postgres, pgjdbc and psqlODBC each run a small workload (a table of every basic type,
//! inserts with parameters, typed results, an error's SQLSTATE, a rolled-back and a committed
//! transaction, a setting) from the scripts in `tests/clients/`; psycopg 3, psycopg2 and
//! psqlODBC also read results through server-side cursors, psycopg 3 nests transactions
//! as savepoints, and psycopg 3 and asyncpg load tables with binary COPY. SQLAlchemy 2's inspector reflects schemas, tables and columns, and pgjdbc's
//! DatabaseMetaData describes them, and each must see exactly what it sees on PostgreSQL 15.
//!
//! The drivers are external: `.ci/run` installs them (into `target/clients/`, or the directory
//! `BASALT_CLIENTS_DIR` names) and sets `BASALT_REQUIRE_CLIENTS`, so there a missing driver
//! fails its test. Elsewhere a missing driver is reported and its test passes.

#[path = "support/basalt_process.rs"]
mod basalt_process;
#[path = "support/psql.rs"]
mod psql;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest one client script may run.
const SCRIPT_WAIT_MAX: Duration = Duration::from_secs(180);

/// A running `basalt serve` on an ephemeral port with a fresh data directory.
struct Server {
    child: Child,
    port: u16,
    _data: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let data = tempfile::tempdir().expect("tempdir");
        let (child, port) = basalt_process::spawn(&data.path().join("data"));
        Server {
            child,
            port,
            _data: data,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clients_dir() -> PathBuf {
    std::env::var_os("BASALT_CLIENTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/clients"))
}

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Whether `command` runs and exits successfully.
fn works(command: &mut Command) -> bool {
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Says why a client's test is skipped, or fails it when CI requires every client.
fn missing(client: &str, why: &str) {
    assert!(
        std::env::var_os("BASALT_REQUIRE_CLIENTS").is_none(),
        "BASALT_REQUIRE_CLIENTS is set but {client} is not installed: {why}"
    );
    eprintln!("{client} is not installed ({why}): skipping its client test");
}

/// The venv's Python if it can import `module`.
fn python_with(module: &str) -> Option<PathBuf> {
    let python = clients_dir().join("venv/bin/python");
    works(Command::new(&python).args(["-c", &format!("import {module}")])).then_some(python)
}

/// Runs a client program against a fresh server and checks it printed `expect`.
fn run_client(mut command: Command, expect: &str) {
    let server = Server::start();
    let mut child = command
        .env("BASALT_PORT", server.port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("client starts");
    let deadline = Instant::now() + SCRIPT_WAIT_MAX;
    let status = loop {
        if let Some(status) = child.try_wait().expect("client status") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("client did not finish within {SCRIPT_WAIT_MAX:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut stdout);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    assert!(
        status.success() && stdout.contains(expect),
        "client failed ({status}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
}

#[test]
fn psycopg3() {
    let Some(python) = python_with("psycopg") else {
        return missing("psycopg", "no venv with psycopg");
    };
    let mut command = Command::new(python);
    command.arg(scripts_dir().join("psycopg_client.py"));
    run_client(command, "psycopg ok");
}

// Named (server-side) cursors streamed `itersize` rows at a time, scrolled, held over COMMIT,
// in binary; nested transaction blocks as savepoints.
#[test]
fn psycopg3_cursors_and_savepoints() {
    let Some(python) = python_with("psycopg") else {
        return missing("psycopg", "no venv with psycopg");
    };
    let mut command = Command::new(python);
    command.arg(scripts_dir().join("psycopg_cursors.py"));
    run_client(command, "psycopg cursors ok");
}

// psycopg2: parameters of several types, executemany, copy_expert both ways, named cursors.
#[test]
fn psycopg2() {
    let Some(python) = python_with("psycopg2") else {
        return missing("psycopg2", "no venv with psycopg2");
    };
    let mut command = Command::new(python);
    command.arg(scripts_dir().join("psycopg2_client.py"));
    run_client(command, "psycopg2 ok");
}

// SQLAlchemy's inspector (schemas, tables, columns) and Core, compared with what the same calls
// give on PostgreSQL 15 (`clients/sqlalchemy_client.out`).
#[test]
fn sqlalchemy() {
    let Some(python) = python_with("sqlalchemy, psycopg2") else {
        return missing("sqlalchemy", "no venv with sqlalchemy and psycopg2");
    };
    let mut command = Command::new(python);
    command.arg(scripts_dir().join("sqlalchemy_client.py"));
    run_client(command, "sqlalchemy ok");
}

#[test]
fn asyncpg() {
    let Some(python) = python_with("asyncpg") else {
        return missing("asyncpg", "no venv with asyncpg");
    };
    let mut command = Command::new(python);
    command.arg(scripts_dir().join("asyncpg_client.py"));
    run_client(command, "asyncpg ok");
}

// psycopg 3's binary COPY FROM STDIN (set_types, write_row) of every column type, the round
// trip of COPY TO STDOUT binary back into COPY FROM STDIN binary, and binary COPY errors.
#[test]
fn psycopg3_binary_copy() {
    let Some(python) = python_with("psycopg") else {
        return missing("psycopg", "no venv with psycopg");
    };
    let mut command = Command::new(python);
    command.arg(scripts_dir().join("psycopg_binary_copy.py"));
    run_client(command, "psycopg binary copy ok");
}

// asyncpg's copy_records_to_table (binary COPY FROM STDIN) and copy_from_table /
// copy_to_table in binary.
#[test]
fn asyncpg_copy() {
    let Some(python) = python_with("asyncpg") else {
        return missing("asyncpg", "no venv with asyncpg");
    };
    let mut command = Command::new(python);
    command.arg(scripts_dir().join("asyncpg_copy.py"));
    run_client(command, "asyncpg copy ok");
}

#[test]
fn node_postgres() {
    let modules = clients_dir().join("node_modules");
    if !modules.join("pg").is_dir() || !works(Command::new("node").arg("--version")) {
        return missing("node-postgres", "no node, or no node_modules/pg");
    }
    let mut command = Command::new("node");
    command
        .arg(scripts_dir().join("node_pg_client.js"))
        .env("NODE_PATH", modules);
    run_client(command, "node-postgres ok");
}

/// A `java` command running the class of `source` (compiled into `classes`) with pgjdbc on
/// its class path, or `None` (reported) when javac or the driver is missing.
fn java_command(source: &str, classes: &Path) -> Option<Command> {
    let jar = std::env::var_os("BASALT_PGJDBC_JAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/java/postgresql.jar"));
    if !jar.is_file() || !works(Command::new("javac").arg("-version")) {
        missing("pgjdbc", "no javac, or no postgresql.jar");
        return None;
    }
    let compiled = Command::new("javac")
        .arg("-d")
        .arg(classes)
        .arg(scripts_dir().join(source))
        .status()
        .expect("javac runs");
    assert!(compiled.success(), "{source} does not compile");
    let classpath = std::env::join_paths([classes, jar.as_path()]).expect("classpath");
    let mut command = Command::new("java");
    command
        .arg("-cp")
        .arg(classpath)
        .arg(source.trim_end_matches(".java"));
    Some(command)
}

#[test]
fn pgjdbc() {
    let classes = tempfile::tempdir().expect("tempdir");
    if let Some(command) = java_command("JdbcClient.java", classes.path()) {
        run_client(command, "pgjdbc ok");
    }
}

// pgjdbc's DatabaseMetaData (schemas, tables, columns, keys, indexes, types) and a query's
// ResultSetMetaData, compared with what the same calls give on PostgreSQL 15
// (`clients/JdbcMetadata.out`; the program's header says what it leaves out and why).
#[test]
fn pgjdbc_metadata() {
    let classes = tempfile::tempdir().expect("tempdir");
    if let Some(mut command) = java_command("JdbcMetadata.java", classes.path()) {
        command.arg(scripts_dir().join("JdbcMetadata.out"));
        run_client(command, "pgjdbc metadata ok");
    }
}

fn odbc_command(script: &str) -> Option<Command> {
    let Some(python) = python_with("pyodbc") else {
        missing("psqlODBC", "no venv with pyodbc");
        return None;
    };
    if !works(Command::new("odbcinst").args(["-q", "-d", "-n", "PostgreSQL Unicode"])) {
        missing(
            "psqlODBC",
            "no unixODBC driver named \"PostgreSQL Unicode\"",
        );
        return None;
    }
    let mut command = Command::new(python);
    command.arg(scripts_dir().join(script));
    Some(command)
}

#[test]
fn psqlodbc() {
    if let Some(command) = odbc_command("odbc_client.py") {
        run_client(command, "psqlodbc ok");
    }
}

// psqlODBC reading results through cursors (UseDeclareFetch=1, Fetch=7): a query larger than
// one FETCH, an early close, a transaction, SQLTables.
#[test]
fn psqlodbc_declare_fetch() {
    if let Some(command) = odbc_command("odbc_declare_fetch.py") {
        run_client(command, "psqlodbc declare/fetch ok");
    }
}

// psql's \dt lists the tables as PostgreSQL's psql prints them, from the catalogs.
#[test]
fn psql_list_tables() {
    if !psql::available("the \\dt check") {
        return;
    }
    let server = Server::start();
    let out = psql::run(
        server.port,
        &[
            "-c",
            "CREATE TABLE zebra (z INTEGER)",
            "-c",
            "CREATE TABLE apple (a TEXT)",
            "-c",
            "\\dt",
        ],
        "",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "CREATE TABLE\nCREATE TABLE\n        List of relations\n Schema | Name  | Type  | Owner  \n--------+-------+-------+--------\n public | apple | table | basalt\n public | zebra | table | basalt\n(2 rows)\n\n"
    );
}

// psql's \dn and \dn+ list the schemas as PostgreSQL 15's psql prints them: the owner, the
// access privileges from pg_namespace.nspacl (public's spelled out, a user schema's only once
// it has grants), one aclitem per line, and the descriptions (public's built-in one). The
// lines of s1 and s2 are PostgreSQL 15's for the same statements; public differs by design:
// Basalt's bootstrap superuser owns it and PUBLIC may CREATE in it, as in Redshift.
#[test]
fn psql_list_schemas() {
    if !psql::available("the \\dn check") {
        return;
    }
    let server = Server::start();
    let out = psql::run(
        server.port,
        &["-q"],
        "CREATE USER dnreader;
         CREATE SCHEMA s1;
         CREATE SCHEMA s2;
         GRANT USAGE ON SCHEMA s1 TO dnreader;
         COMMENT ON SCHEMA s2 IS 'second';
         \\dn
         \\dn+
",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        concat!(
            " List of schemas\n",
            "  Name  | Owner  \n",
            "--------+--------\n",
            " public | basalt\n",
            " s1     | basalt\n",
            " s2     | basalt\n",
            "(3 rows)\n",
            "\n",
            "                       List of schemas\n",
            "  Name  | Owner  | Access privileges |      Description       \n",
            "--------+--------+-------------------+------------------------\n",
            " public | basalt | basalt=UC/basalt +| standard public schema\n",
            "        |        | =UC/basalt        | \n",
            " s1     | basalt | basalt=UC/basalt +| \n",
            "        |        | dnreader=U/basalt | \n",
            " s2     | basalt |                   | second\n",
            "(3 rows)\n",
            "\n",
        )
    );
}
