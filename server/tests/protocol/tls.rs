//! TLS: a certificate made for the test with the openssl command, psql connecting with
//! `sslmode=require`, and `--require-tls` refusing an unencrypted client.
//!
//! The test needs the `openssl` and `psql` commands. Without them it is skipped, unless
//! `BASALT_REQUIRE_PSQL` is set (CI sets it and installs both).

use std::path::Path;
use std::process::Command;

use crate::common::*;
use basalt_server::ServerConfig;
use tokio_postgres::error::SqlState;

fn available(command: &str) -> bool {
    let probe = if command == "openssl" {
        "version"
    } else {
        "--version"
    };
    let found = Command::new(command)
        .arg(probe)
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("BASALT_REQUIRE_PSQL").is_none(),
            "BASALT_REQUIRE_PSQL is set but {command} is not installed"
        );
    }
    found
}

/// A self-signed P-256 certificate for `localhost` and its key, as PEM files in `dir`.
fn certificate(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .arg("ec_paramgen_curve:prime256v1")
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(status.status.success(), "{status:?}");
    (cert, key)
}

/// Runs psql with connection string `conninfo` and command `sql`: (success, stdout, stderr).
fn psql(conninfo: &str, sql: &str) -> (bool, String, String) {
    let out = Command::new("psql")
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

// With --require-tls: psql with sslmode=require runs a query over TLS (the connection reports
// SSL); an unencrypted client is refused with FATAL 28000 as PostgreSQL's hostssl-only
// pg_hba.conf refuses it.
#[tokio::test]
async fn tls_connections_and_required_tls() {
    if !available("openssl") || !available("psql") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let data = dir.path().join("data");
    let engine = basalt_engine::Engine::open(&data).unwrap();
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    config.tls = Some(basalt_server::tls::acceptor(&cert, &key).unwrap());
    config.require_tls = true;
    let server = basalt_server::start(engine, config).await.unwrap();
    let port = server.local_addr().port();

    let secure = format!("host=127.0.0.1 port={port} user=basalt dbname=dev sslmode=require");
    let (ok, out, err) = tokio::task::spawn_blocking(move || psql(&secure, "SELECT 40 + 2"))
        .await
        .unwrap();
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "42");
    let secure = format!("host=127.0.0.1 port={port} user=basalt dbname=dev sslmode=require");
    let (ok, out, err) = tokio::task::spawn_blocking(move || psql(&secure, "\\conninfo"))
        .await
        .unwrap();
    assert!(ok, "{err}");
    assert!(out.contains("SSL connection"), "{out}");

    let plain = format!("host=127.0.0.1 port={port} user=basalt dbname=dev sslmode=disable");
    let (ok, _, err) = tokio::task::spawn_blocking(move || psql(&plain, "SELECT 1"))
        .await
        .unwrap();
    assert!(!ok);
    assert!(
        err.contains(
            "no pg_hba.conf entry for host \"127.0.0.1\", user \"basalt\", database \"dev\", no encryption"
        ),
        "{err}"
    );
    let error = connect_with(&pg_config(server.local_addr(), "basalt", "dev"))
        .await
        .unwrap_err();
    let db = error.as_db_error().unwrap();
    assert_eq!(db.code(), &SqlState::INVALID_AUTHORIZATION_SPECIFICATION);
    assert_eq!(db.severity(), "FATAL");
    server.shutdown().await;
}

// Without --require-tls both kinds of client are served; a bad key file is a clear error.
#[tokio::test]
async fn tls_is_optional_by_default() {
    if !available("openssl") || !available("psql") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let engine = basalt_engine::Engine::open(&dir.path().join("data")).unwrap();
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    config.tls = Some(basalt_server::tls::acceptor(&cert, &key).unwrap());
    let server = basalt_server::start(engine, config).await.unwrap();
    let client = connect(server.local_addr()).await;
    bounded(client.simple_query("SELECT 1")).await.unwrap();
    let port = server.local_addr().port();
    let secure = format!("host=127.0.0.1 port={port} user=basalt dbname=dev sslmode=require");
    let (ok, out, err) = tokio::task::spawn_blocking(move || psql(&secure, "\\conninfo"))
        .await
        .unwrap();
    assert!(ok, "{err}");
    assert!(out.contains("SSL connection"), "{out}");
    server.shutdown().await;

    let Err(bad) = basalt_server::tls::acceptor(&cert, &cert) else {
        panic!("a certificate is no key");
    };
    assert!(bad.to_string().starts_with("TLS: "), "{bad}");
    let Err(missing) = basalt_server::tls::acceptor(&dir.path().join("nope.pem"), &key) else {
        panic!("a missing file is an error");
    };
    assert!(missing.to_string().contains("could not read"), "{missing}");
}
