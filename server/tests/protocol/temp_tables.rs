//! Temporary tables over the wire: each connection sees only its own, and a connection's
//! temporary tables are dropped when it goes away.

use std::path::Path;
use std::time::Duration;

use crate::common::*;

/// The JSON payload of the newest manifest of the data directory `dir`.
fn newest_manifest(dir: &Path) -> String {
    let mut names: Vec<_> = std::fs::read_dir(dir.join("manifest"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".manifest"))
        .collect();
    names.sort();
    let bytes = std::fs::read(dir.join("manifest").join(names.last().unwrap())).unwrap();
    String::from_utf8_lossy(&bytes[24..]).into_owned()
}

/// The first error's SQLSTATE of `sql`, which must fail.
async fn sqlstate(client: &tokio_postgres::Client, sql: &str) -> String {
    let e = bounded(client.simple_query(sql)).await.unwrap_err();
    e.code().unwrap().code().to_owned()
}

// Input: two connections that each make a temporary table `t` over a permanent table `t`,
// one also a temporary table `only_a`; each reads its own rows and never the other's (by name,
// pg_temp, or the catalogs). Then the first hangs up, and the newest manifest stops naming a
// temporary schema while the second's table is dropped by the second's own DROP.
#[tokio::test]
async fn temporary_tables_are_private_and_go_with_their_connection() {
    let (server, dir) = engine_server().await;
    let addr = server.local_addr();
    let a = connect(addr).await;
    let b = connect(addr).await;
    bounded(a.batch_execute(
        "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('permanent');
         CREATE TEMP TABLE t (v TEXT); INSERT INTO t VALUES ('a');
         CREATE TEMPORARY TABLE only_a (x INTEGER)",
    ))
    .await
    .unwrap();
    bounded(b.batch_execute("CREATE TEMP TABLE t (v TEXT); INSERT INTO t VALUES ('b')"))
        .await
        .unwrap();

    let rows = bounded(a.simple_query("SELECT v FROM t")).await.unwrap();
    assert_eq!(text_rows(&rows), [[Some("a".to_owned())]]);
    let rows = bounded(b.simple_query("SELECT v FROM t")).await.unwrap();
    assert_eq!(text_rows(&rows), [[Some("b".to_owned())]]);
    let rows = bounded(b.simple_query("SELECT v FROM public.t"))
        .await
        .unwrap();
    assert_eq!(text_rows(&rows), [[Some("permanent".to_owned())]]);

    // B reaches none of A's temporary tables, and its catalogs list none of them.
    assert_eq!(sqlstate(&b, "SELECT * FROM only_a").await, "42P01");
    assert_eq!(sqlstate(&b, "SELECT * FROM pg_temp.only_a").await, "42P01");
    let a_schema = bounded(a.simple_query(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relname = 'only_a'",
    ))
    .await
    .unwrap();
    let a_schema = text_rows(&a_schema)[0][0].clone().unwrap();
    assert!(a_schema.starts_with("pg_temp_"), "{a_schema}");
    assert_eq!(
        sqlstate(&b, &format!("SELECT * FROM {a_schema}.only_a")).await,
        "42P01"
    );
    for catalog in [
        "SELECT count(*) FROM pg_class WHERE relname = 'only_a'",
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'only_a'",
        "SELECT count(*) FROM svv_table_info WHERE \"table\" = 'only_a'",
        "SELECT count(*) FROM pg_class WHERE relname = 't'",
    ] {
        let rows = bounded(b.simple_query(catalog)).await.unwrap();
        let expected = if catalog.ends_with("'t'") { "2" } else { "0" };
        assert_eq!(text_rows(&rows), [[Some(expected.to_owned())]], "{catalog}");
    }
    assert!(newest_manifest(dir.path()).contains(&format!("\"schema\":\"{a_schema}\"")));

    // A hangs up: its temporary tables are dropped, B's stay.
    drop(a);
    bounded(async {
        while newest_manifest(dir.path()).contains(&format!("\"schema\":\"{a_schema}\"")) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let rows = bounded(b.simple_query("SELECT v FROM t")).await.unwrap();
    assert_eq!(text_rows(&rows), [[Some("b".to_owned())]]);
    let rows = bounded(b.simple_query("SELECT count(*) FROM public.t"))
        .await
        .unwrap();
    assert_eq!(text_rows(&rows), [[Some("1".to_owned())]]);

    // A new connection sees only the permanent table.
    let c = connect(addr).await;
    let rows = bounded(c.simple_query("SELECT v FROM t")).await.unwrap();
    assert_eq!(text_rows(&rows), [[Some("permanent".to_owned())]]);
    drop(b);
    bounded(async {
        while newest_manifest(dir.path()).contains("\"schema\":\"pg_temp_") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    server.shutdown().await;
}
