//! A renamed view or index keeps its new name across a restart: the name lives in the
//! manifest's objects, committed as any DDL is.

use basalt_engine::Engine;

use crate::common::rows;

// Input: a table with a PRIMARY KEY, a view over it and an index on it; the view and both
// indexes renamed (one rename rolled back), then the engine closed and opened again.
#[test]
fn renamed_views_and_indexes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = Engine::open(dir.path()).unwrap();
        let mut s = engine.session("basalt");
        s.run(
            "CREATE TABLE t (a INT PRIMARY KEY, b TEXT);
             INSERT INTO t VALUES (1, 'one'), (2, 'two');
             CREATE VIEW v AS SELECT a, b FROM t;
             CREATE INDEX i ON t (b);
             ALTER VIEW v RENAME TO w;
             ALTER INDEX i RENAME TO j;
             BEGIN;
             ALTER INDEX t_pkey RENAME TO t_key;
             COMMIT;
             BEGIN;
             ALTER VIEW w RENAME TO never;
             ROLLBACK;",
        )
        .unwrap();
    }
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    assert_eq!(
        rows(
            &mut s,
            "SELECT relname, relkind FROM pg_class WHERE relname IN ('v', 'w', 'never', 'i', 'j', 't_pkey', 't_key') ORDER BY 1"
        ),
        ["j|i", "t_key|i", "w|v"]
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT conname FROM pg_constraint WHERE conrelid = 't'::regclass"
        ),
        ["t_key"]
    );
    assert_eq!(
        rows(&mut s, "SELECT a, b FROM w ORDER BY a"),
        ["1|one", "2|two"]
    );
}

// Input: a table with a PRIMARY KEY, an index and rows, and a view, moved to other schemas
// (one move rolled back), then the engine closed and opened again.
#[test]
fn moved_tables_and_views_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = Engine::open(dir.path()).unwrap();
        let mut s = engine.session("basalt");
        s.run(
            "CREATE SCHEMA s1;
             CREATE SCHEMA s2;
             CREATE TABLE t (a INT PRIMARY KEY, b TEXT);
             CREATE INDEX t_b ON t (b);
             INSERT INTO t VALUES (1, 'one'), (2, 'two');
             CREATE VIEW v AS SELECT 1 AS x;
             ALTER TABLE t SET SCHEMA s1;
             ALTER VIEW v SET SCHEMA s2;
             BEGIN;
             ALTER TABLE s1.t SET SCHEMA s2;
             ROLLBACK;",
        )
        .unwrap();
    }
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session("basalt");
    assert_eq!(
        rows(
            &mut s,
            "SELECT c.relname, n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relname IN ('t', 't_pkey', 't_b', 'v') ORDER BY 1"
        ),
        ["t|s1", "t_b|s1", "t_pkey|s1", "v|s2"]
    );
    assert_eq!(
        rows(&mut s, "SELECT a, b FROM s1.t ORDER BY a"),
        ["1|one", "2|two"]
    );
    assert_eq!(rows(&mut s, "SELECT x FROM s2.v"), ["1"]);
}
