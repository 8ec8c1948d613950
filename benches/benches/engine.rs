//! SQL over the embedded engine: a filtered scan, a grouped aggregate, a sort with LIMIT and a
//! hash join, on one million generated rows.

use std::sync::Arc;

use basalt_benches::{facts_batch, Rng};
use basalt_engine::Engine;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const ROWS: usize = 1_000_000;
const BATCH_ROWS: usize = 200_000;

fn engine(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine: Arc<Engine> = Engine::open(dir.path()).expect("open");
    let mut session = engine.session("basalt");
    session
        .run("CREATE TABLE facts (id BIGINT, grp INTEGER, amount DECIMAL(12,2), tag VARCHAR(16))")
        .expect("create");
    let mut rng = Rng::new(42);
    let mut start = 0i64;
    let mut values = String::new();
    while (start as usize) < ROWS {
        let batch = facts_batch(start, BATCH_ROWS, &mut rng);
        values.clear();
        // Loaded with multi-row INSERTs through the engine's public API (the setup, not
        // measured).
        values.push_str("INSERT INTO facts VALUES ");
        for r in 0..batch.num_rows() {
            use arrow_array::cast::AsArray;
            use arrow_array::types::{Decimal128Type, Int32Type, Int64Type};
            if r > 0 {
                values.push(',');
            }
            let id = batch.column(0).as_primitive::<Int64Type>().value(r);
            let grp = batch.column(1).as_primitive::<Int32Type>().value(r);
            let amount = batch.column(2).as_primitive::<Decimal128Type>().value(r);
            let tag = batch.column(3).as_string::<i32>().value(r);
            values.push_str(&format!(
                "({id},{grp},{}.{:02},'{tag}')",
                amount / 100,
                amount % 100
            ));
        }
        session.run(&values).expect("load");
        start += BATCH_ROWS as i64;
    }
    session
        .run("CREATE TABLE groups (grp INTEGER, label TEXT)")
        .expect("create groups");
    let groups: Vec<String> = (0..100).map(|g| format!("({g}, 'group {g}')")).collect();
    session
        .run(&format!("INSERT INTO groups VALUES {}", groups.join(",")))
        .expect("load groups");

    let queries = [
        ("filter_count", "SELECT count(*) FROM facts WHERE amount > 5000.00"),
        (
            "group_by",
            "SELECT grp, count(*), sum(amount), avg(amount) FROM facts GROUP BY grp",
        ),
        ("top_n", "SELECT id, amount FROM facts ORDER BY amount DESC LIMIT 10"),
        (
            "hash_join",
            "SELECT g.label, count(*) FROM facts f JOIN groups g ON f.grp = g.grp WHERE f.tag = 'tag-03' GROUP BY g.label",
        ),
    ];
    let mut group = c.benchmark_group("query");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(10);
    for (name, sql) in queries {
        group.bench_function(name, |b| b.iter(|| session.run(sql).expect(sql)));
    }
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
