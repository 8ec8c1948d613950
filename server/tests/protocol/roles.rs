//! Users, passwords and privileges end to end: several connections as different roles against
//! Basalt's engine, served over the wire.

use std::net::SocketAddr;

use crate::common::*;
use tokio_postgres::error::SqlState;

/// Connects as `user` with `password`.
async fn login(
    addr: SocketAddr,
    user: &str,
    password: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let mut config = pg_config(addr, user, "dev");
    config.password(password);
    connect_with(&config).await
}

/// The first column of the first row of `sql`, as text.
async fn one(client: &tokio_postgres::Client, sql: &str) -> Option<String> {
    let messages = bounded(client.simple_query(sql))
        .await
        .expect("the query runs");
    text_rows(&messages)
        .into_iter()
        .next()
        .and_then(|row| row.into_iter().next().flatten())
}

async fn fails(client: &tokio_postgres::Client, sql: &str) -> (SqlState, String) {
    let error = bounded(client.simple_query(sql))
        .await
        .expect_err("the query fails");
    let db = error.as_db_error().expect("a database error");
    (db.code().clone(), db.message().to_owned())
}

// A user created with a password logs in with SCRAM; a wrong password is 28P01, an unknown
// user 28000, a user without a password cannot log in; current_user and session_user name
// the login, pg_backend_pid is the connection's.
#[tokio::test]
async fn catalog_users_authenticate() {
    let (server, _dir) = engine_server().await;
    let addr = server.local_addr();
    let admin = connect(addr).await;
    bounded(admin.batch_execute(
        "CREATE USER alice PASSWORD 'Secret123';
         CREATE USER nopass PASSWORD DISABLE;
         CREATE ROLE quiet;",
    ))
    .await
    .unwrap();

    let alice = login(addr, "alice", "Secret123").await.unwrap();
    assert_eq!(
        one(&alice, "SELECT current_user").await.as_deref(),
        Some("alice")
    );
    assert_eq!(
        one(&alice, "SELECT session_user").await.as_deref(),
        Some("alice")
    );
    assert_eq!(
        one(&alice, "SHOW is_superuser").await.as_deref(),
        Some("off")
    );
    let pid: i32 = one(&alice, "SELECT pg_backend_pid()")
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(pid, 0);

    let wrong = login(addr, "alice", "Secret124").await.unwrap_err();
    let db = wrong.as_db_error().unwrap();
    assert_eq!(db.code(), &SqlState::INVALID_PASSWORD);
    assert_eq!(
        db.message(),
        "password authentication failed for user \"alice\""
    );
    let unknown = login(addr, "mallory", "Secret123").await.unwrap_err();
    let db = unknown.as_db_error().unwrap();
    assert_eq!(db.code(), &SqlState::INVALID_AUTHORIZATION_SPECIFICATION);
    assert_eq!(db.message(), "role \"mallory\" does not exist");
    let none = login(addr, "nopass", "anything1A").await.unwrap_err();
    assert_eq!(
        none.as_db_error().unwrap().code(),
        &SqlState::INVALID_PASSWORD
    );
    let quiet = login(addr, "quiet", "anything1A").await.unwrap_err();
    assert_eq!(
        quiet.as_db_error().unwrap().message(),
        "role \"quiet\" is not permitted to log in"
    );

    // A changed password takes effect for the next login.
    bounded(admin.batch_execute("ALTER USER alice PASSWORD 'Changed123'"))
        .await
        .unwrap();
    assert!(login(addr, "alice", "Secret123").await.is_err());
    login(addr, "alice", "Changed123").await.unwrap();
    // A user may change their own password, not their attributes.
    bounded(alice.batch_execute("ALTER USER alice PASSWORD 'Mine12345'"))
        .await
        .unwrap();
    let (code, message) = fails(&alice, "ALTER USER alice CREATEDB").await;
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    assert_eq!(message, "permission denied to alter role");
    login(addr, "alice", "Mine12345").await.unwrap();
    server.shutdown().await;
}

// A user created with an md5 hash logs in with MD5 authentication.
#[tokio::test]
async fn md5_users_authenticate_with_md5() {
    let (server, _dir) = engine_server().await;
    let addr = server.local_addr();
    let admin = connect(addr).await;
    // md5('Secret123' || 'olddriver')
    let hash = one(&admin, "SELECT md5('Secret123olddriver')")
        .await
        .unwrap();
    bounded(admin.batch_execute(&format!("CREATE USER olddriver PASSWORD 'md5{hash}'")))
        .await
        .unwrap();
    let old = login(addr, "olddriver", "Secret123").await.unwrap();
    assert_eq!(
        one(&old, "SELECT current_user").await.as_deref(),
        Some("olddriver")
    );
    assert!(login(addr, "olddriver", "Secret124").await.is_err());
    server.shutdown().await;
}

// CONNECTION LIMIT 1: a second connection is refused with 53300 until the first closes.
#[tokio::test]
async fn connection_limit_per_user() {
    let (server, _dir) = engine_server().await;
    let addr = server.local_addr();
    let admin = connect(addr).await;
    bounded(admin.batch_execute("CREATE USER one PASSWORD 'Secret123' CONNECTION LIMIT 1"))
        .await
        .unwrap();
    let first = login(addr, "one", "Secret123").await.unwrap();
    let second = login(addr, "one", "Secret123").await.unwrap_err();
    let db = second.as_db_error().unwrap();
    assert_eq!(db.code(), &SqlState::TOO_MANY_CONNECTIONS);
    assert_eq!(db.message(), "too many connections for role \"one\"");
    drop(first);
    // The slot frees once the server has seen the first connection go.
    let mut again = None;
    for _ in 0..100 {
        if let Ok(c) = login(addr, "one", "Secret123").await {
            again = Some(c);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(again.is_some());
    server.shutdown().await;
}

// Privileges: a user reads nothing until granted SELECT, subqueries and WITH queries are
// checked too, writes need their own privilege, only the owner drops, GRANT to a group
// reaches its members, REVOKE takes it back; a user's own tables are theirs.
#[tokio::test]
async fn privileges_are_enforced() {
    let (server, _dir) = engine_server().await;
    let addr = server.local_addr();
    let admin = connect(addr).await;
    bounded(admin.batch_execute(
        "CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1), (2);
         CREATE TABLE secret (s INTEGER); INSERT INTO secret VALUES (42);
         CREATE USER bob PASSWORD 'Secret123';
         CREATE GROUP readers;",
    ))
    .await
    .unwrap();
    let bob = login(addr, "bob", "Secret123").await.unwrap();
    let denied = |table: &str| {
        (
            SqlState::INSUFFICIENT_PRIVILEGE,
            format!("permission denied for table {table}"),
        )
    };
    assert_eq!(fails(&bob, "SELECT * FROM t").await, denied("t"));
    // The catalogs are readable, except those holding password verifiers.
    assert_eq!(
        one(&bob, "SELECT count(*) FROM pg_user").await.as_deref(),
        Some("2")
    );
    assert_eq!(
        fails(&bob, "SELECT * FROM pg_shadow").await,
        (
            SqlState::INSUFFICIENT_PRIVILEGE,
            "permission denied for view pg_shadow".to_owned()
        )
    );
    assert_eq!(
        one(&bob, "SELECT has_table_privilege('t', 'SELECT')")
            .await
            .as_deref(),
        Some("f")
    );

    bounded(admin.batch_execute("GRANT SELECT ON t TO bob"))
        .await
        .unwrap();
    assert_eq!(
        one(&bob, "SELECT count(*) FROM t").await.as_deref(),
        Some("2")
    );
    assert_eq!(
        fails(&bob, "SELECT a FROM t WHERE a IN (SELECT s FROM secret)").await,
        denied("secret")
    );
    assert_eq!(
        fails(&bob, "WITH w AS (SELECT * FROM secret) SELECT * FROM t, w").await,
        denied("secret")
    );
    assert_eq!(fails(&bob, "INSERT INTO t VALUES (3)").await, denied("t"));
    assert_eq!(fails(&bob, "DELETE FROM t").await, denied("t"));
    assert_eq!(fails(&bob, "TRUNCATE t").await, denied("t"));
    assert_eq!(
        fails(&bob, "DROP TABLE t").await,
        (
            SqlState::INSUFFICIENT_PRIVILEGE,
            "must be owner of table t".to_owned()
        )
    );

    // Through a group.
    bounded(admin.batch_execute(
        "GRANT INSERT ON TABLE t TO GROUP readers; ALTER GROUP readers ADD USER bob",
    ))
    .await
    .unwrap();
    bounded(bob.batch_execute("INSERT INTO t VALUES (3)"))
        .await
        .unwrap();
    bounded(admin.batch_execute("ALTER GROUP readers DROP USER bob"))
        .await
        .unwrap();
    assert_eq!(fails(&bob, "INSERT INTO t VALUES (4)").await, denied("t"));

    bounded(admin.batch_execute("REVOKE SELECT ON t FROM bob"))
        .await
        .unwrap();
    assert_eq!(fails(&bob, "SELECT * FROM t").await, denied("t"));

    // Bob's own table: his to use and drop; the superuser still reads it.
    bounded(bob.batch_execute(
        "CREATE TABLE mine (m INTEGER); INSERT INTO mine VALUES (7); SELECT * FROM mine",
    ))
    .await
    .unwrap();
    assert_eq!(
        one(&admin, "SELECT m FROM mine").await.as_deref(),
        Some("7")
    );
    assert_eq!(
        fails(&admin, "DROP USER bob").await.0,
        SqlState::DEPENDENT_OBJECTS_STILL_EXIST
    );
    bounded(bob.batch_execute("DROP TABLE mine")).await.unwrap();

    // SET SESSION AUTHORIZATION is for superusers only.
    assert_eq!(
        fails(&bob, "SET SESSION AUTHORIZATION basalt").await,
        (
            SqlState::INSUFFICIENT_PRIVILEGE,
            "permission denied to set session authorization".to_owned()
        )
    );
    bounded(admin.batch_execute("SET SESSION AUTHORIZATION bob"))
        .await
        .unwrap();
    assert_eq!(
        one(&admin, "SELECT current_user").await.as_deref(),
        Some("bob")
    );
    assert_eq!(
        fails(&admin, "SELECT * FROM secret").await,
        denied("secret")
    );
    bounded(admin.batch_execute("RESET SESSION AUTHORIZATION"))
        .await
        .unwrap();
    assert_eq!(
        one(&admin, "SELECT current_user").await.as_deref(),
        Some("basalt")
    );
    server.shutdown().await;
}

// Roles survive a restart: they live in the manifest.
#[tokio::test]
async fn roles_persist_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = basalt_engine::Engine::open(dir.path()).unwrap();
        let mut session = engine.session("basalt");
        session
            .run("CREATE USER carol PASSWORD 'Secret123'; CREATE TABLE x (a INT); GRANT SELECT ON x TO carol")
            .unwrap();
    }
    let engine = basalt_engine::Engine::open(dir.path()).unwrap();
    let server = basalt_server::start(
        engine,
        basalt_server::ServerConfig::new("127.0.0.1:0".parse().unwrap()),
    )
    .await
    .unwrap();
    let carol = login(server.local_addr(), "carol", "Secret123")
        .await
        .unwrap();
    assert_eq!(
        one(&carol, "SELECT count(*) FROM x").await.as_deref(),
        Some("0")
    );
    server.shutdown().await;
}

// A client that stops in the middle of authentication is dropped once the authentication
// timeout has passed: the server closes the socket.
#[tokio::test]
async fn a_stalled_handshake_is_dropped() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let engine = basalt_engine::Engine::open(dir.path()).unwrap();
    engine
        .session("basalt")
        .run("CREATE USER slow PASSWORD 'Secret123'")
        .unwrap();
    let mut config = basalt_server::ServerConfig::new("127.0.0.1:0".parse().unwrap());
    config.startup_wait_max = std::time::Duration::from_millis(200);
    let server = basalt_server::start(engine, config).await.unwrap();
    let mut stream = bounded(tokio::net::TcpStream::connect(server.local_addr()))
        .await
        .unwrap();
    let mut body = 196_608i32.to_be_bytes().to_vec();
    for (k, v) in [("user", "slow"), ("database", "dev")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut packet = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    stream.write_all(&packet).await.unwrap();
    // AuthenticationSASL arrives; the client never answers it.
    let mut first = [0u8; 1];
    bounded(stream.read_exact(&mut first)).await.unwrap();
    assert_eq!(first[0], b'R');
    let mut rest = Vec::new();
    let read = bounded(stream.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the server closed the stalled connection");
    server.shutdown().await;
}
