//! The storage benchmark: TPC-H lineitem's bytes on disk, its full decode to Arrow, and zone
//! maps, each beside a peer in the same run.
//!
//! `cargo run --release -p basalt-benches --bin storage -- --sf 1` generates lineitem with the
//! `tpchgen` crate, appends it to a Basalt table in one append and writes the same batches as
//! Parquet (ZSTD level 3) with the parquet crate; DuckDB loads that Parquet file into its own
//! database file. It prints:
//!
//! 1. bytes on disk: Basalt's segment files beside the Parquet file and DuckDB's database file,
//!    and per column Basalt's blocks beside Parquet's column chunks;
//! 2. full decode of every column to Arrow: Basalt's segments beside the parquet crate reading
//!    the Parquet file, on one thread and on all (median of `--runs`, after checking once that
//!    both give the same rows), and each column alone on one thread;
//! 3. zone maps: a copy sorted by `l_shipdate` (`SORTKEY`, filled by one INSERT ... SELECT);
//!    for every week the `l_shipdate` blocks the one-week query reads there (from EXPLAIN
//!    ANALYZE; STV_BLOCKLIST gives the total) with the least, most and median share, the
//!    EXPLAIN ANALYZE of a week that reads the most, and for a few weeks its time beside the
//!    same query on the unsorted table.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use basalt_benches::peers::{clear_progress, progress, target_dir, Peer};
use basalt_benches::storage::{self, SORTED, UNSORTED};
use basalt_benches::tpch::Table;
use basalt_engine::Engine;
use basalt_storage::Store;
use clap::Parser;
use serde_json::json;

#[derive(Parser, Debug)]
#[command(about = "TPC-H lineitem's storage: bytes, decode and zone maps, beside peers")]
struct Args {
    /// Scale factor (1 is about 6 million lineitem rows).
    #[arg(long, default_value_t = 1.0)]
    sf: f64,
    /// Timed runs of each decode; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Timed runs of each week query (a few milliseconds each); the median is reported.
    #[arg(long, default_value_t = 21)]
    query_runs: usize,
    /// Where the files and databases go (emptied first, deleted after unless `--keep`).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the work directory.
    #[arg(long)]
    keep: bool,
    /// The Python interpreter that creates the peers' virtual environment.
    #[arg(long, default_value = "python3")]
    python: String,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// Seconds `f` takes, median of `runs`; what `f` returns is dropped outside the timing.
fn time<T>(runs: usize, label: &str, mut f: impl FnMut() -> Result<T>) -> Result<f64> {
    let mut seconds = Vec::with_capacity(runs);
    for run in 0..runs {
        progress(&format!("{label}, run {}", run + 1));
        let started = Instant::now();
        let out = f()?;
        seconds.push(started.elapsed().as_secs_f64());
        drop(out);
    }
    Ok(median(seconds))
}

fn main() -> Result<()> {
    let args = Args::parse();
    if !(args.sf > 0.0 && args.sf.is_finite()) || args.runs == 0 || args.query_runs == 0 {
        bail!("--sf must be positive, --runs and --query-runs at least 1");
    }
    let work = args
        .work_dir
        .clone()
        .unwrap_or_else(|| target_dir().join(format!("storage-sf{}", args.sf)));
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    std::fs::create_dir_all(&work)?;
    let threads = rayon::current_num_threads();
    println!(
        "Storage of TPC-H lineitem at SF {}, {threads} threads, Basalt {} ({})",
        args.sf,
        basalt_engine::VERSION,
        std::env::consts::ARCH
    );
    let db = work.join("basalt");
    let parquet = work.join("lineitem.parquet");

    // Load (not timed): Basalt's table and the Parquet file from the same batches, then the
    // sorted copy.
    let rows = {
        let engine = Engine::open(&db)?;
        let mut session = engine.session("basalt");
        progress("generating lineitem, writing Parquet and appending to Basalt");
        let rows = storage::load(&mut session, args.sf, &parquet, 1)?;
        progress("INSERT INTO lineitem_sorted SELECT * FROM lineitem");
        storage::create_sorted(&mut session, false)?;
        clear_progress();
        rows
    };

    let mut peer = Peer::start(&args.python)?;
    progress("DuckDB: COPY lineitem FROM the Parquet file");
    let duck = peer.call(json!({"op": "duckdb_copy", "db": work.join("duckdb.db"),
        "threads": threads, "schema": basalt_benches::tpch::SCHEMA_SQL, "table": "lineitem",
        "path": parquet, "format": "parquet"}))?;
    clear_progress();
    peer.stop();
    if duck["rows"].as_u64() != Some(rows) {
        bail!("DuckDB loaded {} rows, expected {rows}", duck["rows"]);
    }
    let duck_bytes = duck["bytes"].as_u64().unwrap_or(0);

    // 1. Bytes on disk.
    let store = Store::open(&db)?;
    let basalt_bytes = storage::basalt_bytes(&store, UNSORTED)?;
    let sorted_bytes = storage::basalt_bytes(&store, SORTED)?;
    let parquet_bytes = std::fs::metadata(&parquet)?.len();
    let segments = storage::table(&store, UNSORTED)?.segments.len();
    println!("lineitem: {rows} rows; Basalt {segments} segments");
    println!();
    println!("| lineitem on disk | MB | Basalt / it |");
    println!("|---|---:|---:|");
    println!(
        "| Basalt segment files (load order) | {:.1} | 1.00x |",
        mb(basalt_bytes)
    );
    println!(
        "| Basalt segment files (SORTKEY l_shipdate) | {:.1} | {:.2}x |",
        mb(sorted_bytes),
        basalt_bytes as f64 / sorted_bytes as f64
    );
    println!(
        "| Parquet, ZSTD level {}, parquet crate | {:.1} | {:.2}x |",
        storage::PARQUET_ZSTD_LEVEL,
        mb(parquet_bytes),
        basalt_bytes as f64 / parquet_bytes as f64
    );
    println!(
        "| DuckDB database file | {:.1} | {:.2}x |",
        mb(duck_bytes),
        basalt_bytes as f64 / duck_bytes as f64
    );
    let basalt_columns = storage::basalt_column_bytes(&store, UNSORTED)?;
    let parquet_columns = storage::parquet_column_bytes(&parquet)?;
    println!();
    println!("| Column | Basalt MB | Parquet MB | Basalt / Parquet |");
    println!("|---|---:|---:|---:|");
    for (((name, _), b), p) in Table::LineItem
        .columns()
        .iter()
        .zip(&basalt_columns)
        .zip(&parquet_columns)
    {
        println!(
            "| {name} | {:.2} | {:.2} | {:.2}x |",
            mb(*b),
            mb(*p),
            *b as f64 / *p as f64
        );
    }

    // 2. Full decode to Arrow.
    progress("checking that Basalt and Parquet decode to the same rows");
    let decoded = storage::decode_basalt(&store, UNSORTED, true)?;
    let read = storage::read_parquet(&parquet, true)?;
    if let Some(d) = storage::difference(&decoded, &read) {
        bail!("Basalt's decoded lineitem differs from the Parquet file's: {d}");
    }
    drop((decoded, read));
    println!();
    println!("| Full decode to Arrow | Basalt s | Basalt rows/s | Parquet s | Parquet rows/s | Basalt / Parquet time |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (label, parallel) in [("1 thread", false), ("all threads", true)] {
        let mut b = Vec::new();
        let mut p = Vec::new();
        // Interleaved, so both see the same load on a shared machine.
        for _ in 0..args.runs {
            b.push(time(1, &format!("Basalt decode, {label}"), || {
                storage::decode_basalt(&store, UNSORTED, parallel)
            })?);
            p.push(time(1, &format!("Parquet read, {label}"), || {
                storage::read_parquet(&parquet, parallel)
            })?);
        }
        clear_progress();
        let (b, p) = (median(b), median(p));
        let label = if parallel {
            format!("{threads} threads")
        } else {
            label.to_string()
        };
        println!(
            "| {label} | {b:.2} | {:.0} | {p:.2} | {:.0} | {:.2}x |",
            rows as f64 / b,
            rows as f64 / p,
            b / p
        );
    }
    // Per column, on one thread.
    println!();
    println!("| Decode of one column, 1 thread | Basalt ms | Parquet ms | Basalt / Parquet time |");
    println!("|---|---:|---:|---:|");
    for (c, (name, _)) in Table::LineItem.columns().iter().enumerate() {
        let mut b = Vec::new();
        let mut p = Vec::new();
        for _ in 0..args.runs {
            b.push(time(1, &format!("Basalt decode of {name}"), || {
                storage::decode_basalt_columns(&store, UNSORTED, Some(&[c]), false)
            })?);
            p.push(time(1, &format!("Parquet read of {name}"), || {
                storage::read_parquet_column(&parquet, c)
            })?);
        }
        clear_progress();
        let (b, p) = (median(b), median(p));
        println!(
            "| {name} | {:.1} | {:.1} | {:.2}x |",
            b * 1000.0,
            p * 1000.0,
            b / p
        );
    }
    drop(store);

    // 3. Zone maps.
    let engine = Engine::open(&db)?;
    let mut session = engine.session("basalt");
    let total = storage::column_blocks(&mut session, SORTED, "l_shipdate")?;
    let unsorted_total = storage::column_blocks(&mut session, UNSORTED, "l_shipdate")?;
    let weeks = storage::weeks();
    let mut fractions = Vec::with_capacity(weeks.len());
    let mut weeks_read = Vec::with_capacity(weeks.len());
    let mut under = 0;
    for (i, week) in weeks.iter().enumerate() {
        progress(&format!(
            "EXPLAIN ANALYZE of week {} of {}",
            i + 1,
            weeks.len()
        ));
        let s = storage::week_scan(&mut session, SORTED, *week)?;
        if s.blocks_read + s.blocks_skipped != 2 * total as u64 {
            bail!("the week query's scan saw {s:?}, the table has {total} blocks per column");
        }
        // The two columns' blocks hold the same rows: half the blocks read are l_shipdate's.
        let fraction = (s.blocks_read / 2) as f64 / total as f64;
        if fraction < 0.02 {
            under += 1;
        }
        fractions.push(s.blocks_read / 2);
        weeks_read.push((*week, s.blocks_read / 2));
    }
    clear_progress();
    fractions.sort_unstable();
    println!();
    let percent = |blocks: u64| 100.0 * blocks as f64 / total as f64;
    let (least, most, middle) = (
        fractions[0],
        fractions[fractions.len() - 1],
        fractions[fractions.len() / 2],
    );
    println!(
        "Zone maps: {} l_shipdate blocks in the sorted copy, {unsorted_total} in the unsorted \
         table. Over the {} weeks from {}: the sorted copy's one-week query reads {least}..{most} \
         l_shipdate blocks ({:.2}% to {:.2}%, median {middle}, {:.2}%), under 2% of them in \
         {under} weeks ({:.0}%).",
        total,
        weeks.len(),
        storage::date_text(weeks[0]),
        percent(least),
        percent(most),
        percent(middle),
        100.0 * under as f64 / weeks.len() as f64
    );
    // The first week that reads the most blocks, as EXPLAIN ANALYZE shows it.
    if let Some((week, _)) = weeks_read.iter().find(|(_, b)| *b == most) {
        println!();
        println!(
            "EXPLAIN ANALYZE of the week from {} on the sorted copy:",
            storage::date_text(*week)
        );
        println!();
        println!("```");
        for line in storage::explain_analyze(&mut session, &storage::week_query(SORTED, *week))? {
            println!("{line}");
        }
        println!("```");
    }
    println!();
    println!("| Week from | Rows | Sorted: l_shipdate blocks read | Unsorted: read | Sorted ms | Unsorted ms | Unsorted / sorted time |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let step = weeks.len() / 5;
    for week in weeks.iter().step_by(step.max(1)).take(5) {
        let s = storage::week_scan(&mut session, SORTED, *week)?;
        let u = storage::week_scan(&mut session, UNSORTED, *week)?;
        if s.rows != u.rows {
            bail!(
                "the sorted copy counts {} rows, the table {}",
                s.rows,
                u.rows
            );
        }
        let mut st = Vec::new();
        let mut ut = Vec::new();
        for _ in 0..args.query_runs {
            st.push(time(1, "week query, sorted", || {
                storage::query(&mut session, &storage::week_query(SORTED, *week))
            })?);
            ut.push(time(1, "week query, unsorted", || {
                storage::query(&mut session, &storage::week_query(UNSORTED, *week))
            })?);
        }
        clear_progress();
        let (st, ut) = (median(st), median(ut));
        println!(
            "| {} | {} | {} of {total} ({:.1}%) | {} of {unsorted_total} | {:.2} | {:.2} | {:.1}x |",
            storage::date_text(*week),
            s.rows,
            s.blocks_read / 2,
            100.0 * (s.blocks_read / 2) as f64 / total as f64,
            u.blocks_read / 2,
            st * 1000.0,
            ut * 1000.0,
            ut / st
        );
    }
    drop(session);
    drop(engine);
    if !args.keep {
        std::fs::remove_dir_all(&work).ok();
    }
    Ok(())
}
