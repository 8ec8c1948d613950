//! Segment write and read throughput (rows/s) for a mixed-type table, and a filtered scan: a
//! range on the `id` column (ascending, so each block's zone map covers a narrow range) that
//! keeps one block of the segment's seven, and one that keeps none, beside the same scan
//! without a range. Throughput counts the segment's rows in every case, so the filtered
//! scans' figures say how many rows per second a scan gets through by skipping.

use std::sync::Arc;

use basalt_benches::{facts_batch, facts_def, Rng};
use basalt_storage::{ColumnRange, Store, ZoneValue};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const ROWS: usize = 200_000;

fn storage(c: &mut Criterion) {
    let batch = facts_batch(0, ROWS, &mut Rng::new(42));
    let mut group = c.benchmark_group("segment");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(10);

    // Each iteration appends one segment in its own committed transaction.
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(dir.path()).expect("open store"));
    let mut t = store.begin();
    t.create_table(facts_def()).expect("create");
    t.commit().expect("commit");
    group.bench_function("write", |b| {
        b.iter(|| {
            let mut t = store.begin();
            t.append("public", "facts", std::slice::from_ref(&batch))
                .expect("append");
            t.commit().expect("commit");
        })
    });

    // Reads all columns of one segment back into Arrow.
    let snap = store.snapshot();
    let table = snap.table("public", "facts").expect("table").clone();
    let seg = table.segments[0].clone();
    group.bench_function("read_all_columns", |b| {
        b.iter(|| {
            store
                .read_segment(&table, &seg, &[0, 1, 2, 3])
                .expect("read")
        })
    });
    group.bench_function("read_one_column", |b| {
        b.iter(|| store.read_segment(&table, &seg, &[2]).expect("read"))
    });

    // `id BETWEEN 70000 AND 71999`: 2,000 rows, all in one of the segment's blocks (the third
    // of seven, of 32,768 rows each but the last), which the zone maps keep; the rows outside
    // the range that the kept block holds are returned too (the caller's filter drops them).
    let range = |lower: i64, upper: i64| ColumnRange {
        column: 0,
        lower: Some((ZoneValue::Int(lower), true)),
        upper: Some((ZoneValue::Int(upper), true)),
    };
    // The same two columns without a range: every block read, the baseline of the skipping.
    group.bench_function("scan_two_columns_unfiltered", |b| {
        b.iter(|| {
            store
                .scan_segment(&table, &seg, &[0, 2], &[], false)
                .expect("scan")
        })
    });
    let narrow = [range(70_000, 71_999)];
    let scan = store
        .scan_segment(&table, &seg, &[0, 2], &narrow, false)
        .expect("scan");
    let blocks = ROWS.div_ceil(basalt_storage::segment::WRITER_BLOCK_ROWS_MAX as usize) as u64;
    assert_eq!(
        (scan.counts.blocks_read, scan.counts.blocks_skipped),
        (2, 2 * (blocks - 1))
    );
    group.bench_function("filtered_scan_one_block", |b| {
        b.iter(|| {
            store
                .scan_segment(&table, &seg, &[0, 2], &narrow, false)
                .expect("scan")
        })
    });
    // A range past every id: the segment's zone map rules it out without opening the file.
    let none = [range(1_000_000, 2_000_000)];
    group.bench_function("filtered_scan_none", |b| {
        b.iter(|| {
            store
                .scan_segment(&table, &seg, &[0, 2], &none, false)
                .expect("scan")
        })
    });
    group.finish();
}

criterion_group!(benches, storage);
criterion_main!(benches);
