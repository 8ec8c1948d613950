//! A damaged byte on disk, as a user would meet it: in a block, the query that reads that column
//! fails with the storage's corruption error naming the file, the column and the block (SQLSTATE
//! XX001 over the wire), while a query of the table's other columns, and every other table,
//! still answers correctly; in a footer, every read of that segment fails the same way; in the
//! newest manifest, the engine refuses to open, naming the file, instead of answering from an
//! older version.

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use basalt_engine::{Engine, Error, StatementResult};

/// The single BIGINT value `sql` returns.
fn value(session: &mut basalt_engine::Session, sql: &str) -> Result<i64, Error> {
    let results = session.run(sql)?;
    let Some(StatementResult::Query(q)) = results.last() else {
        panic!("{sql}: not a query");
    };
    Ok(q.batches[0]
        .column(0)
        .as_primitive::<arrow_array::types::Int64Type>()
        .value(0))
}

/// The one segment file of the table `name`, and where in it the blocks of its column `column`
/// start.
fn segment_of(dir: &Path, name: &str, column: usize) -> (PathBuf, Vec<u64>) {
    let store = basalt_storage::Store::open(dir).expect("the store opens");
    let snapshot = store.snapshot();
    let table = snapshot.table("public", name).expect("the table");
    let [segment] = table.segments.as_slice() else {
        panic!("{} segments", table.segments.len());
    };
    let reader = store
        .open_segment(table, segment)
        .expect("the segment opens");
    let offsets = reader
        .blocks(column)
        .expect("the column")
        .iter()
        .map(|b| b.offset)
        .collect();
    let path = dir
        .join("tables")
        .join(table.id.to_string())
        .join(format!("{:020}.seg", segment.id));
    (path, offsets)
}

fn flip(path: &Path, at: u64) {
    let mut bytes = std::fs::read(path).expect("the file");
    bytes[at as usize] ^= 0x10;
    std::fs::write(path, bytes).expect("the file written back");
}

/// Asserts that `result` is the storage's corruption error naming `file`, with `detail` in it.
fn assert_corrupt<T: std::fmt::Debug>(result: Result<T, Error>, file: &Path, detail: &str) {
    match result {
        Err(Error::Storage(basalt_storage::Error::Corrupt { file: f, detail: d })) => {
            assert_eq!(f, file.display().to_string());
            assert!(d.contains(detail), "{d}");
        }
        other => panic!("{other:?}"),
    }
}

const SETUP: &str = "CREATE TABLE t (id INTEGER, s VARCHAR(100));
    INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 100000) i;
    CREATE TABLE u (a INTEGER);
    INSERT INTO u SELECT i FROM generate_series(1, 1000) i;
    CHECKPOINT";

#[test]
fn a_damaged_block_or_footer_fails_its_reads_only() {
    // Input: t (id, s) of 100,000 rows and u of 1,000, one segment file each; then one byte
    // flipped in the third block of t.s, and later in t's footer instead.
    let dir = tempfile::tempdir().expect("a temporary directory");
    {
        let engine = Engine::open(dir.path()).expect("the engine opens");
        engine.session("test").run(SETUP).expect("the setup");
    }
    let (path, blocks) = segment_of(dir.path(), "t", 1);
    assert!(blocks.len() > 2, "{} blocks", blocks.len());
    let pristine = std::fs::read(&path).expect("the segment file");
    flip(&path, blocks[2] + 40);

    let engine = Engine::open(dir.path()).expect("the engine opens");
    let mut session = engine.session("test");
    assert_corrupt(
        value(&mut session, "SELECT count(DISTINCT s) FROM t"),
        &path,
        "column 1 (\"s\") block 2",
    );
    // The session goes on; the other column of t, and u, read as written.
    assert_eq!(
        value(&mut session, "SELECT sum(id) FROM t").ok(),
        Some(5_000_050_000)
    );
    assert_eq!(
        value(&mut session, "SELECT count(*) FROM t WHERE id > 99000").ok(),
        Some(1000)
    );
    assert_eq!(
        value(&mut session, "SELECT sum(a) FROM u").ok(),
        Some(500_500)
    );
    drop(session);
    drop(engine);

    // The footer: its checksum covers every column's block list, so every read of t fails.
    let mut bytes = pristine.clone();
    let footer_byte = bytes.len() - 40;
    bytes[footer_byte] ^= 0x10;
    std::fs::write(&path, bytes).expect("the file written back");
    let engine = Engine::open(dir.path()).expect("the engine opens");
    let mut session = engine.session("test");
    assert_corrupt(
        value(&mut session, "SELECT sum(id) FROM t"),
        &path,
        "footer",
    );
    assert_eq!(
        value(&mut session, "SELECT sum(a) FROM u").ok(),
        Some(500_500)
    );
    drop(session);
    drop(engine);

    // Restored, everything reads again.
    std::fs::write(&path, pristine).expect("the file written back");
    let engine = Engine::open(dir.path()).expect("the engine opens");
    let mut session = engine.session("test");
    assert_eq!(
        value(&mut session, "SELECT count(DISTINCT s) FROM t").ok(),
        Some(100_000)
    );
}

#[test]
fn a_damaged_newest_manifest_stops_the_engine_from_opening() {
    // Input: t and u as above (the CHECKPOINT writes the newest manifest), then one byte
    // flipped in the middle of that manifest.
    let dir = tempfile::tempdir().expect("a temporary directory");
    {
        let engine = Engine::open(dir.path()).expect("the engine opens");
        engine.session("test").run(SETUP).expect("the setup");
    }
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(dir.path().join("manifest"))
        .expect("manifest/")
        .map(|e| e.expect("an entry").path())
        .collect();
    manifests.sort();
    let newest = manifests.last().expect("a manifest").clone();
    let len = std::fs::metadata(&newest).expect("the manifest").len();
    flip(&newest, len / 2);
    match Engine::open(dir.path()) {
        Err(e) => assert_corrupt(Err::<(), _>(e), &newest, "is the newest committed"),
        Ok(_) => panic!("the engine opened over a damaged manifest"),
    }
    // Nothing was deleted: both tables' segment files are still there.
    let files: usize = std::fs::read_dir(dir.path().join("tables"))
        .expect("tables/")
        .map(|t| {
            std::fs::read_dir(t.expect("a table").path())
                .expect("a table directory")
                .count()
        })
        .sum();
    assert_eq!(files, 2);
}
