//! The ClickBench-style generator and a few of its queries at a tiny row count, embedded:
//! the rows have the documented shapes, the same seed gives the same rows, and Basalt's
//! answers agree with values counted from the generated batches themselves. No timing.

use arrow_array::RecordBatch;
use arrow_array::{Array, Date32Array, Int16Array, Int32Array, Int64Array, StringArray};
use basalt_benches::answers::Answer;
use basalt_benches::clickbench::{self, Generator};
use basalt_benches::tpch::run_query;
use basalt_engine::Engine;

const ROWS: u64 = 20_000;

fn generate(rows: u64, seed: u64) -> Vec<RecordBatch> {
    let generator = Generator::new(rows, seed);
    let mut out = Vec::new();
    generator
        .generate(|batches| -> Result<(), arrow_schema::ArrowError> {
            out.extend(batches);
            Ok(())
        })
        .expect("the generator fails");
    out
}

fn column<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> &'a T {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_any()
        .downcast_ref::<T>()
        .unwrap_or_else(|| panic!("column {name} has another type"))
}

fn single(session: &mut basalt_engine::Session, sql: &str) -> String {
    let answer = Answer::from_query(&run_query(session, sql).expect(sql));
    assert_eq!(answer.rows.len(), 1, "{sql}");
    answer.rows[0][0].clone().expect("a NULL answer")
}

// 20,000 hits from the default seed, generated twice, and 20,000 from another seed.
#[test]
fn generator_is_deterministic_and_has_the_shapes() {
    let a = generate(ROWS, clickbench::SEED);
    let b = generate(ROWS, clickbench::SEED);
    assert_eq!(a, b, "the same seed must give the same rows");
    let other = generate(ROWS, clickbench::SEED + 1);
    assert_ne!(a, other, "another seed must give other rows");

    assert_eq!(a.iter().map(|b| b.num_rows() as u64).sum::<u64>(), ROWS);
    assert_eq!(a[0].num_columns(), 105);
    assert_eq!(a[0].schema(), clickbench::arrow_schema());

    let mut keys = Vec::new();
    let (mut top, mut empty_phrases, mut looked_up) = (0, 0, 0);
    let mut url_bytes = 0;
    for batch in &a {
        let counter = column::<Int32Array>(batch, "counterid");
        let date = column::<Date32Array>(batch, "eventdate");
        let user = column::<Int64Array>(batch, "userid");
        let phrase = column::<StringArray>(batch, "searchphrase");
        let url = column::<StringArray>(batch, "url");
        for r in 0..batch.num_rows() {
            keys.push((counter.value(r), date.value(r), user.value(r)));
            top += usize::from(counter.value(r) == clickbench::COUNTER_TOP);
            empty_phrases += usize::from(phrase.value(r).is_empty());
            looked_up += usize::from(user.value(r) == clickbench::USER_LOOKED_UP);
            url_bytes += url.value(r).len();
        }
    }
    // Sorted by ClickBench's primary key prefix.
    assert!(keys.windows(2).all(|w| w[0] <= w[1]));
    let share = |n: usize| n as f64 / ROWS as f64;
    assert!((0.25..0.45).contains(&share(top)), "counter 62: {top}");
    assert!(
        (0.8..0.93).contains(&share(empty_phrases)),
        "empty phrases: {empty_phrases}"
    );
    assert!(looked_up > 0, "Q20's user is missing");
    assert!(url_bytes as f64 / ROWS as f64 > 40.0, "URLs are too short");
    // July 2013: 15887 is 2013-07-01, 15917 2013-07-31.
    assert!(keys.iter().all(|k| (15_887..=15_917).contains(&k.1)));
}

// The same 20,000 hits loaded into Basalt; a few ClickBench queries checked against counts
// taken from the batches, and run twice for the same answer.
#[test]
fn queries_agree_with_the_generated_rows() {
    let batches = generate(ROWS, clickbench::SEED);
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut session = engine.session("basalt");
    session.run(clickbench::SCHEMA_SQL).unwrap();
    assert_eq!(session.append_batches("hits", &batches).unwrap(), ROWS);

    let (mut adv, mut looked_up, mut google, mut width_sum) = (0u64, 0u64, 0u64, 0i64);
    for b in &batches {
        let a = column::<Int16Array>(b, "advengineid");
        let u = column::<Int64Array>(b, "userid");
        let url = column::<StringArray>(b, "url");
        let w = column::<Int16Array>(b, "resolutionwidth");
        for r in 0..b.num_rows() {
            adv += u64::from(a.value(r) != 0);
            looked_up += u64::from(u.value(r) == clickbench::USER_LOOKED_UP);
            google += u64::from(url.value(r).contains("google"));
            width_sum += i64::from(w.value(r));
        }
        assert_eq!(b.column(0).null_count(), 0);
    }
    let q = |n: usize| clickbench::query(n).unwrap();
    assert_eq!(single(&mut session, q(1)), ROWS.to_string());
    assert_eq!(single(&mut session, q(2)), adv.to_string());
    assert_eq!(single(&mut session, q(21)), google.to_string());
    let q20 = Answer::from_query(&run_query(&mut session, q(20)).unwrap());
    assert_eq!(q20.rows.len() as u64, looked_up);
    let q30 = Answer::from_query(&run_query(&mut session, q(30)).unwrap());
    assert_eq!(q30.columns.len(), 90);
    assert_eq!(
        q30.rows[0][0].as_deref(),
        Some(width_sum.to_string().as_str())
    );
    assert_eq!(
        q30.rows[0][89].as_deref(),
        Some((width_sum + 89 * ROWS as i64).to_string().as_str())
    );

    // Grouped, ordered and limited queries: the same answer twice, of the expected shape.
    for n in [8, 13, 16, 37, 43] {
        let first = Answer::from_query(&run_query(&mut session, q(n)).unwrap());
        let second = Answer::from_query(&run_query(&mut session, q(n)).unwrap());
        assert_eq!(first, second, "Q{n:02}");
        assert!(first.rows.len() <= 10, "Q{n:02}");
    }
    let q13 = Answer::from_query(&run_query(&mut session, q(13)).unwrap());
    assert_eq!(q13.rows.len(), 10);
    assert!(q13.rows.iter().all(|r| r[0].as_deref() != Some("")));
}
