//! `basalt serve`'s limits, set by its flags and seen from a client of the real binary:
//! `--max-connections` refuses the client beyond it (53300) and keeps serving the others.

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
