//! The 22 TPC-H queries at scale factor 0.01 against the answers DuckDB gave on the same
//! generated data (`benches/tpch/answers/sf0.01/`, written by the harness's `--write-answers`).
//!
//! Queries Basalt cannot answer yet are listed with their reason in
//! `benches/tpch/answers/known-failing.txt`. The test fails when a query outside that list fails
//! or answers wrongly, and when a listed query now passes, so the list can only shrink. A query
//! listed as `skip` runs too long for a test and is not run here; `tpch --write-answers` runs it.

use basalt_benches::answers::{Known, KnownFailing};
use basalt_benches::tpch;
use basalt_engine::Engine;

const SF: f64 = 0.01;

#[test]
fn tpch_answers_at_sf_0_01() {
    let known = std::fs::read_to_string(tpch::known_failing_path()).unwrap();
    let known = KnownFailing::parse(&known).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut session = engine.session("basalt");
    let loaded = tpch::create_and_load(&mut session, SF, |_, _| Ok(())).unwrap();
    let lineitems = loaded.iter().find(|(t, _)| *t == tpch::Table::LineItem);
    assert_eq!(lineitems.map(|l| l.1), Some(60_175));

    let mut problems = Vec::new();
    for n in 1..=22 {
        let listed = known.0.get(&n);
        if let Some(Known::Skip(_)) = listed {
            continue;
        }
        match (tpch::check_query(&mut session, SF, n), listed) {
            (Ok(()), None) => {}
            (Ok(()), Some(_)) => problems.push(format!(
                "q{n:02} passes now: remove it from known-failing.txt"
            )),
            (Err(e), None) => problems.push(format!("q{n:02} fails: {e}")),
            (Err(_), Some(_)) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
