//! `basalt serve`'s limits, set by its flags and seen from a client of the real binary:
//! `--max-connections` refuses the client beyond it (53300) and keeps serving the others;
//! `--tls-cert`, `--tls-key` and `--require-tls` serve psql with `sslmode=require` and refuse
//! it with `sslmode=disable`. The TLS test needs the `openssl` and `psql` commands; without
//! them it is skipped, unless `BASALT_REQUIRE_PSQL` is set (CI sets it and installs both).

#[path = "support/basalt_process.rs"]
mod basalt_process;

use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

/// Longest any step may take before the test fails instead of hanging.
const STEP_WAIT_MAX: std::time::Duration = std::time::Duration::from_secs(30);

async fn connect(
    port: u16,
) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), tokio_postgres::Error> {
    let config = format!("host=127.0.0.1 port={port} user=basalt dbname=dev");
    let (client, connection) =
        tokio::time::timeout(STEP_WAIT_MAX, tokio_postgres::connect(&config, NoTls))
            .await
            .expect("connecting does not hang")?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok((client, driver))
}

// With --max-connections 2, two clients are served and a third is refused with 53300; once
// one of the two leaves, a new client is served again.
#[tokio::test]
async fn max_connections_refuses_the_client_beyond_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, port) =
        basalt_process::spawn_with(&dir.path().join("data"), &["--max-connections", "2"]);
    let (first, _first_driver) = connect(port).await.expect("first client");
    let (second, second_driver) = connect(port).await.expect("second client");
    let refused = match connect(port).await {
        Ok(_) => panic!("the third client is served"),
        Err(e) => e,
    };
    assert_eq!(
        refused.as_db_error().map(|e| e.code()),
        Some(&SqlState::TOO_MANY_CONNECTIONS),
        "{refused}"
    );
    let one = first
        .query_one("SELECT 1", &[])
        .await
        .expect("first still served");
    assert_eq!(one.get::<_, i32>(0), 1);
    drop(second);
    let _ = second_driver.await;
    // The server notices the departure when the connection task ends; try until it has.
    let deadline = std::time::Instant::now() + STEP_WAIT_MAX;
    let (again, _again_driver) = loop {
        match connect(port).await {
            Ok(c) => break c,
            Err(e) if std::time::Instant::now() < deadline => {
                assert_eq!(
                    e.as_db_error().map(|e| e.code()),
                    Some(&SqlState::TOO_MANY_CONNECTIONS)
                );
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("no room after a client left: {e}"),
        }
    };
    let two = again
        .query_one("SELECT 2", &[])
        .await
        .expect("new client served");
    assert_eq!(two.get::<_, i32>(0), 2);
    let _ = child.kill();
    let _ = child.wait();
}

/// Whether `command` runs; a missing one skips the test unless CI requires it.
fn available(command: &str, probe: &str) -> bool {
    let found = std::process::Command::new(command)
        .arg(probe)
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("BASALT_REQUIRE_PSQL").is_none(),
            "BASALT_REQUIRE_PSQL is set but {command} is not installed"
        );
        eprintln!("{command} is not installed: skipping the TLS flags check");
    }
    found
}

/// psql with connection string `conninfo` running `sql`: (success, stdout, stderr).
fn psql(conninfo: &str, sql: &str) -> (bool, String, String) {
    let out = std::process::Command::new("psql")
        .args([conninfo, "-X", "-A", "-t", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "20")
        .output()
        .expect("psql runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// basalt serve with a self-signed certificate and --require-tls: psql with sslmode=require
// runs a query over TLS; with sslmode=disable it is refused as PostgreSQL refuses a client no
// hostssl-only pg_hba.conf entry admits (28000, "... no encryption").
#[test]
fn require_tls_refuses_unencrypted_clients() {
    if !available("openssl", "version") || !available("psql", "--version") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .arg("ec_paramgen_curve:prime256v1")
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(made.status.success(), "{made:?}");
    let (cert, key) = (
        cert.to_str().expect("UTF-8 path").to_owned(),
        key.to_str().expect("UTF-8 path").to_owned(),
    );
    let (mut child, port) = basalt_process::spawn_with(
        &dir.path().join("data"),
        &["--tls-cert", &cert, "--tls-key", &key, "--require-tls"],
    );
    let conninfo =
        |mode: &str| format!("host=127.0.0.1 port={port} user=basalt dbname=dev sslmode={mode}");
    let (ok, out, err) = psql(&conninfo("require"), "SELECT 41 + 1");
    let (plain_ok, _, plain_err) = psql(&conninfo("disable"), "SELECT 1");
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "sslmode=require: {err}");
    assert_eq!(out.trim(), "42");
    assert!(!plain_ok, "an unencrypted client was served");
    assert!(plain_err.contains("no encryption"), "{plain_err}");
}
