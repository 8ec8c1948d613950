//! A client that goes away while its statement runs: the statement is cancelled (it leaves
//! STV_WLM_QUERY_STATE and gives its query slot back) and the server goes on serving.

use std::time::Duration;

use crate::common::*;

/// How many statements whose text starts with `prefix` run or wait for a query slot.
// A failed query here fails the test, which is what it should do.
#[allow(clippy::unwrap_used)]
async fn running(client: &tokio_postgres::Client, prefix: &str) -> String {
    let messages = client
        .simple_query(&format!(
            "SELECT count(*) FROM stv_wlm_query_state WHERE querytxt LIKE '{prefix}%'"
        ))
        .await
        .unwrap();
    text_rows(&messages)[0][0].clone().unwrap()
}

/// Polls until `running` reports `count` (bounded by the step limit).
async fn wait_until_running(client: &tokio_postgres::Client, prefix: &str, count: &str) {
    bounded(async {
        while running(client, prefix).await != count {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

// Input: a one-row table and a client that runs a ten-minute `pg_sleep` over it, then drops
// its socket mid-statement. Another connection watches STV_WLM_QUERY_STATE, and afterwards
// the single query slot of the server is free again.
#[tokio::test]
async fn a_client_that_hangs_up_has_its_statement_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let engine = basalt_engine::Engine::open_with(
        dir.path(),
        basalt_engine::EngineOptions {
            max_concurrent_queries: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let server = basalt_server::start(
        engine,
        basalt_server::ServerConfig::new("127.0.0.1:0".parse().unwrap()),
    )
    .await
    .unwrap();
    let addr = server.local_addr();
    let observer = connect(addr).await;
    bounded(observer.batch_execute("CREATE TABLE one (a INTEGER); INSERT INTO one VALUES (1)"))
        .await
        .unwrap();

    let sleeper = "SELECT pg_sleep(600) FROM one";
    let (mut raw, _) = RawClient::connect(addr).await;
    raw.send(b'Q', &cstr(sleeper)).await;
    wait_until_running(&observer, sleeper, "1").await;
    drop(raw);
    wait_until_running(&observer, sleeper, "0").await;

    // The only query slot is free: a query over a table runs at once.
    let messages = bounded(observer.simple_query("SELECT a FROM one"))
        .await
        .unwrap();
    assert_eq!(text_rows(&messages), [[Some("1".to_owned())]]);
    // And new connections are served.
    let other = connect(addr).await;
    let messages = bounded(other.simple_query("SELECT count(*) FROM one"))
        .await
        .unwrap();
    assert_eq!(text_rows(&messages), [[Some("1".to_owned())]]);
    server.shutdown().await;
}
