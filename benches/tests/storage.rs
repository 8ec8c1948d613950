//! The storage harness's checks at scale factor 0.01 (about 60,000 lineitem rows), without
//! timings: Basalt decodes lineitem to the same Arrow rows the parquet crate reads back from the
//! Parquet file written from the same batches, and the one-week `l_shipdate` query on a copy
//! sorted by `l_shipdate` reads fewer blocks than on the unsorted table while counting the same
//! rows.
//!
//! At this scale a table fits in one 32,768-row block per column, so both tables are loaded in
//! several appends: the unsorted one in 8 (in `l_orderkey` order, each spanning every ship
//! date), the sorted one year by year, each a segment of its own.

use basalt_benches::storage::{self, SORTED, UNSORTED};
use basalt_storage::Store;

const SF: f64 = 0.01;

#[test]
fn storage_harness_at_sf_0_01() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("basalt");
    let parquet = dir.path().join("lineitem.parquet");
    let rows;
    {
        let engine = basalt_engine::Engine::open(&db).unwrap();
        let mut session = engine.session("basalt");
        rows = storage::load(&mut session, SF, &parquet, 8).unwrap();
        assert!(rows > 50_000, "{rows} rows");
        storage::create_sorted(&mut session, true).unwrap();

        // Every week of the sorted copy is pruned to its own year's segment, or two when it
        // spans New Year; the unsorted table reads nearly every segment.
        let total = 2 * storage::column_blocks(&mut session, UNSORTED, "l_shipdate").unwrap();
        assert_eq!(total, 16);
        let sorted_total = 2 * storage::column_blocks(&mut session, SORTED, "l_shipdate").unwrap();
        assert_eq!(sorted_total, 14);
        let (mut counted, mut unsorted_read, mut sorted_read) = (0, 0, 0);
        for week in storage::weeks() {
            let u = storage::week_scan(&mut session, UNSORTED, week).unwrap();
            let s = storage::week_scan(&mut session, SORTED, week).unwrap();
            assert_eq!(u.rows, s.rows, "week of {}", storage::date_text(week));
            assert_eq!(u.blocks_read + u.blocks_skipped, 16);
            assert_eq!(s.blocks_read + s.blocks_skipped, 14);
            // The first and last weeks fall outside some unsorted segments' ranges too.
            assert!(
                u.blocks_read >= s.blocks_read,
                "week of {}",
                storage::date_text(week)
            );
            let expected = if s.rows > 0 { 2..=4 } else { 0..=4 };
            assert!(
                expected.contains(&s.blocks_read),
                "week of {}: {s:?}",
                storage::date_text(week)
            );
            counted += u.rows;
            unsorted_read += u.blocks_read;
            sorted_read += s.blocks_read;
        }
        assert!(
            sorted_read * 4 < unsorted_read,
            "{sorted_read} {unsorted_read}"
        );
        // The weeks from 1992-01-06 miss the first few ship dates only.
        assert!(counted > rows as i64 * 99 / 100, "{counted} of {rows}");
    }

    // The engine is closed; read the segments directly.
    let store = Store::open(&db).unwrap();
    let from_parquet = storage::read_parquet(&parquet, false).unwrap();
    let from_parquet_parallel = storage::read_parquet(&parquet, true).unwrap();
    let decoded = storage::decode_basalt(&store, UNSORTED, false).unwrap();
    let decoded_parallel = storage::decode_basalt(&store, UNSORTED, true).unwrap();
    assert_eq!(decoded.len(), 8);
    assert!(storage::same_rows(&decoded, &from_parquet));
    assert!(storage::same_rows(
        &decoded_parallel,
        &from_parquet_parallel
    ));
    assert!(storage::same_rows(&decoded, &decoded_parallel));
    // The sorted copy holds the same rows in another order.
    let sorted = storage::decode_basalt(&store, SORTED, false).unwrap();
    assert!(!storage::same_rows(&decoded, &sorted));
    assert_eq!(
        sorted.iter().map(|b| b.num_rows() as u64).sum::<u64>(),
        rows
    );

    // Sizes: every column has bytes in both files, and Basalt's columns add up to less than its
    // segment files.
    let basalt_columns = storage::basalt_column_bytes(&store, UNSORTED).unwrap();
    let parquet_columns = storage::parquet_column_bytes(&parquet).unwrap();
    assert_eq!(basalt_columns.len(), 16);
    assert_eq!(parquet_columns.len(), 16);
    assert!(basalt_columns
        .iter()
        .chain(&parquet_columns)
        .all(|b| *b > 0));
    let files = storage::basalt_bytes(&store, UNSORTED).unwrap();
    assert!(basalt_columns.iter().sum::<u64>() < files);
}
