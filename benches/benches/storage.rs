//! Segment write and read throughput (rows/s) for a mixed-type table.

use std::sync::Arc;

use basalt_benches::{facts_batch, facts_def, Rng};
use basalt_storage::Store;
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
    group.finish();
}

criterion_group!(benches, storage);
criterion_main!(benches);
