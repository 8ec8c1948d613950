//! 100,000 single-row INSERTs in autocommit, sent by sixteen clients at once as an application's
//! connections would send them: each commits through the write-ahead log (whose fsyncs the
//! concurrent commits share), and the rows reach segment files in bulk, so the data directory
//! ends with fewer than 100 data files and every row is there after a restart.

use basalt_engine::Engine;

use crate::common::{bigint, data_files};

#[test]
fn a_hundred_thousand_single_row_inserts_leave_under_a_hundred_data_files() {
    // Input: t (id INTEGER, s VARCHAR(20)); 16 sessions each run 6,250 statements
    // `INSERT INTO t VALUES (id, 'row<id>')` in autocommit, ids 0 to 99,999; then a restart.
    const ROWS: i64 = 100_000;
    const CLIENTS: i64 = 16;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let engine = Engine::open(dir.path()).expect("the engine opens");
    engine
        .session("test")
        .run("CREATE TABLE t (id INTEGER, s VARCHAR(20))")
        .expect("CREATE TABLE");
    std::thread::scope(|scope| {
        for client in 0..CLIENTS {
            let engine = engine.clone();
            scope.spawn(move || {
                let mut session = engine.session("test");
                let per = ROWS / CLIENTS;
                for id in client * per..(client + 1) * per {
                    session
                        .run(&format!("INSERT INTO t VALUES ({id}, 'row{id}')"))
                        .expect("INSERT");
                }
            });
        }
    });
    let check = |session: &mut basalt_engine::Session| {
        assert_eq!(bigint(session, "SELECT count(*) FROM t"), ROWS);
        assert_eq!(bigint(session, "SELECT count(DISTINCT id) FROM t"), ROWS);
        assert_eq!(
            bigint(session, "SELECT sum(id) FROM t"),
            ROWS * (ROWS - 1) / 2
        );
        assert_eq!(
            bigint(session, "SELECT count(*) FROM t WHERE s = 'row' || id"),
            ROWS
        );
    };
    check(&mut engine.session("test"));
    drop(engine);
    let files = data_files(dir.path());
    assert!(files < 100, "{files} data files");
    let engine = Engine::open(dir.path()).expect("the engine reopens");
    check(&mut engine.session("test"));
}
