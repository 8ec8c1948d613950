//! The ClickBench-style harness: single-table web analytics over a generated `hits` table.
//!
//! `cargo run --release -p basalt-benches --bin clickbench -- --rows 1000000 --compare`
//! generates the hits (`basalt_benches::clickbench`, from a seed, nothing downloaded), appends
//! them to a fresh Basalt database through `Session::append_batches`, and runs the 43 queries
//! (one warm-up and `--runs` timed runs each), printing per-query medians, their geometric mean,
//! the load time and the bytes on disk.
//!
//! `--compare` also writes the same batches as a Parquet file that DuckDB loads into a native
//! table (same schema, same thread count), runs each query on DuckDB right after Basalt, prints
//! Basalt/DuckDB ratios and checks that Basalt's answers equal DuckDB's. A query Basalt cannot
//! run is reported as an error in the table.

use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use basalt_benches::answers::{compare, Answer};
use basalt_benches::clickbench::{self, Generator};
use basalt_benches::harness::{
    command_line, date_line, dir_size, geomean, git_commit, human_bytes, machine_line, median,
    peer_answer, ratio, vm_hwm,
};
use basalt_benches::peers::{clear_progress, progress, target_dir, Peer};
use basalt_benches::tpch::run_query;
use basalt_engine::Engine;
use clap::Parser;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::json;

/// Analytic queries allocate and free large arrays per segment; mimalloc reuses them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "ClickBench-style web analytics over Basalt, optionally beside DuckDB")]
struct Args {
    /// Hits to generate (ClickBench's own table has 99,997,497).
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// The generator's seed.
    #[arg(long, default_value_t = clickbench::SEED)]
    seed: u64,
    /// Timed runs per query, after one warm-up run.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The queries to run, e.g. `1,20,43` (default: all 43).
    #[arg(long, value_delimiter = ',')]
    queries: Vec<usize>,
    /// Run DuckDB beside Basalt and check Basalt's answers against DuckDB's.
    #[arg(long)]
    compare: bool,
    /// Where the databases and the Parquet file go (emptied first).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// The Python interpreter that creates the peers' virtual environment.
    #[arg(long, default_value = "python3")]
    python: String,
}

/// One query's measurements.
struct QueryRun {
    n: usize,
    basalt: Result<f64, String>,
    duckdb: Option<Result<f64, String>>,
    /// Basalt's answer compared with DuckDB's.
    check: Option<Result<(), String>>,
    /// Rows of DuckDB's answer (or Basalt's without peers).
    rows: Option<usize>,
}

fn main() -> Result<()> {
    basalt_engine::allocator::keep_freed_memory();
    let args = Args::parse();
    if args.rows == 0 || args.runs == 0 {
        bail!("--rows and --runs must be at least 1");
    }
    let queries: Vec<usize> = if args.queries.is_empty() {
        (1..=clickbench::QUERIES.len()).collect()
    } else {
        args.queries.clone()
    };
    if let Some(q) = queries.iter().find(|q| clickbench::query(**q).is_none()) {
        bail!("there is no query {q}: queries are numbered 1 to 43");
    }
    let work = args
        .work_dir
        .clone()
        .unwrap_or_else(|| target_dir().join(format!("clickbench-{}", args.rows)));
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("emptying {}", work.display()))?;
    }
    std::fs::create_dir_all(&work)?;
    let threads = rayon::current_num_threads();

    println!("# ClickBench-style hits, {} rows", args.rows);
    println!();
    println!("{}", date_line());
    println!("{}", command_line("clickbench"));
    println!("{}; query threads {threads}", machine_line());
    println!(
        "Basalt {} ({})",
        basalt_engine::VERSION,
        git_commit().unwrap_or_else(|| "commit unknown".into())
    );
    println!(
        "Timing: one warm-up run, then the median of {} timed runs; results are fetched in full",
        args.runs
    );

    // Generate and load Basalt, writing the same batches as Parquet for DuckDB.
    progress("generating the hits' keys");
    let started = Instant::now();
    let generator = Generator::new(args.rows, args.seed);
    let mut generate = started.elapsed();
    let db_dir = work.join("basalt");
    let engine = Engine::open(&db_dir)?;
    let mut session = engine.session("basalt");
    session.run(clickbench::SCHEMA_SQL)?;
    let parquet = work.join("hits.parquet");
    let mut writer = if args.compare {
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let file =
            File::create(&parquet).with_context(|| format!("creating {}", parquet.display()))?;
        Some(ArrowWriter::try_new(
            file,
            clickbench::arrow_schema(),
            Some(props),
        )?)
    } else {
        None
    };
    let mut append = Duration::ZERO;
    let mut done = 0u64;
    let mut generated = Instant::now();
    generator.generate(|batches| -> Result<()> {
        generate += generated.elapsed();
        let started = Instant::now();
        session.append_batches("hits", &batches)?;
        append += started.elapsed();
        if let Some(w) = writer.as_mut() {
            for b in &batches {
                w.write(b)?;
            }
        }
        done += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
        progress(&format!("Basalt: loading hits {done}/{}", args.rows));
        generated = Instant::now();
        Ok(())
    })?;
    if let Some(w) = writer {
        w.close()?;
    }
    clear_progress();
    println!(
        "Basalt load: {} rows in {:.2} s of append_batches ({:.0} rows/s); generating them took {:.2} s",
        args.rows,
        append.as_secs_f64(),
        args.rows as f64 / append.as_secs_f64().max(1e-9),
        generate.as_secs_f64(),
    );
    println!(
        "Basalt on disk: {}",
        human_bytes(dir_size(&db_dir).unwrap_or(0))
    );

    let mut peer = None;
    if args.compare {
        println!(
            "Parquet file for DuckDB (Snappy, written by the parquet crate): {}",
            human_bytes(std::fs::metadata(&parquet)?.len())
        );
        let mut p = Peer::start(&args.python)?;
        progress("DuckDB: loading");
        let r = p.call(
            json!({"op": "duckdb_load_parquet", "db": work.join("duckdb.db"),
            "threads": threads, "schema": clickbench::SCHEMA_SQL,
            "tables": {"hits": parquet}}),
        )?;
        clear_progress();
        if r["rows"]["hits"].as_u64() != Some(args.rows) {
            bail!(
                "DuckDB loaded {} rows, expected {}",
                r["rows"]["hits"],
                args.rows
            );
        }
        println!(
            "DuckDB load: {:.2} s (INSERT INTO hits SELECT * FROM read_parquet(...), then CHECKPOINT); on disk {}",
            r["seconds"].as_f64().unwrap_or(0.0),
            human_bytes(r["bytes"].as_u64().unwrap_or(0))
        );
        std::fs::remove_file(&parquet).ok();
        peer = Some(p);
    }
    println!();

    let mut results = Vec::new();
    for &n in &queries {
        results.push(run_one(&mut session, peer.as_mut(), n, args.runs)?);
    }
    clear_progress();
    report(&results, peer.is_some());
    println!();
    println!(
        "Peak memory (VmHWM): Basalt harness {}{}",
        vm_hwm(None)
            .map(human_bytes)
            .unwrap_or_else(|| "unknown".into()),
        match &peer {
            Some(p) => format!(
                ", DuckDB's process {}",
                vm_hwm(Some(p.child.id()))
                    .map(human_bytes)
                    .unwrap_or_else(|| "unknown".into())
            ),
            None => String::new(),
        }
    );
    if let Some(p) = peer {
        p.stop();
    }
    drop(session);
    drop(engine);
    std::fs::remove_dir_all(&work).ok();
    Ok(())
}

fn time_basalt(
    session: &mut basalt_engine::Session,
    n: usize,
    runs: usize,
) -> (Result<f64, String>, Option<Answer>) {
    let sql = clickbench::query(n).unwrap_or_default();
    progress(&format!("q{n:02}: Basalt warm-up"));
    let answer = match run_query(session, sql) {
        Ok(q) => Answer::from_query(&q),
        Err(e) => return (Err(e), None),
    };
    let mut times = Vec::new();
    for i in 0..runs {
        progress(&format!("q{n:02}: Basalt run {}/{runs}", i + 1));
        let started = Instant::now();
        if let Err(e) = run_query(session, sql) {
            return (Err(e), Some(answer));
        }
        times.push(started.elapsed().as_secs_f64());
    }
    (Ok(median(times)), Some(answer))
}

fn time_duckdb(
    peer: &mut Peer,
    n: usize,
    runs: usize,
) -> Result<(Result<f64, String>, Option<Answer>)> {
    let sql = clickbench::query(n).unwrap_or_default();
    progress(&format!("q{n:02}: DuckDB warm-up"));
    let r = peer.request(json!({"op": "query", "engine": "duckdb", "sql": sql, "rows": true}))?;
    let answer = match r {
        Ok(v) => peer_answer(&v)?,
        Err(e) => return Ok((Err(e), None)),
    };
    let mut times = Vec::new();
    for i in 0..runs {
        progress(&format!("q{n:02}: DuckDB run {}/{runs}", i + 1));
        match peer.request(json!({"op": "query", "engine": "duckdb", "sql": sql}))? {
            Ok(v) => times.push(v["seconds"].as_f64().unwrap_or(f64::NAN)),
            Err(e) => return Ok((Err(e), Some(answer))),
        }
    }
    Ok((Ok(median(times)), Some(answer)))
}

fn run_one(
    session: &mut basalt_engine::Session,
    peer: Option<&mut Peer>,
    n: usize,
    runs: usize,
) -> Result<QueryRun> {
    let (basalt, ours) = time_basalt(session, n, runs);
    let mut run = QueryRun {
        n,
        basalt,
        duckdb: None,
        check: None,
        rows: ours.as_ref().map(|a| a.rows.len()),
    };
    if let Some(peer) = peer {
        let (duck, theirs) = time_duckdb(peer, n, runs)?;
        let ordered = clickbench::is_ordered(clickbench::query(n).unwrap_or(""));
        run.check = Some(match (&ours, &theirs) {
            (Some(a), Some(b)) => compare(a, b, ordered).map_err(|m| format!("wrong answer: {m}")),
            (None, _) => Err("Basalt failed".into()),
            (_, None) => Err("DuckDB failed".into()),
        });
        run.rows = theirs.as_ref().map(|a| a.rows.len()).or(run.rows);
        run.duckdb = Some(duck);
    }
    Ok(run)
}

fn cell(r: &Result<f64, String>) -> String {
    match r {
        Ok(s) => format!("{s:.3}"),
        Err(_) => "error".into(),
    }
}

fn report(results: &[QueryRun], peers: bool) {
    let fmt_ratio = |r: Option<f64>| r.map(|r| format!("{r:.2}")).unwrap_or_else(|| "-".into());
    let rows = |r: &QueryRun| r.rows.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
    if peers {
        println!("| Query | Rows | Basalt (s) | DuckDB (s) | Basalt/DuckDB | Basalt's answer |");
        println!("|------:|-----:|-----------:|-----------:|--------------:|-----------------|");
    } else {
        println!("| Query | Rows | Basalt (s) |");
        println!("|------:|-----:|-----------:|");
    }
    for r in results {
        if peers {
            let check = match &r.check {
                Some(Ok(())) => "equals DuckDB's".to_string(),
                Some(Err(_)) if r.basalt.is_err() => "error (below)".to_string(),
                Some(Err(e)) => e.lines().next().unwrap_or("").to_string(),
                None => String::new(),
            };
            println!(
                "| Q{:02} | {} | {} | {} | {} | {} |",
                r.n,
                rows(r),
                cell(&r.basalt),
                r.duckdb.as_ref().map(cell).unwrap_or_default(),
                fmt_ratio(ratio(&r.basalt, &r.duckdb)),
                check,
            );
        } else {
            println!("| Q{:02} | {} | {} |", r.n, rows(r), cell(&r.basalt));
        }
    }
    println!();
    let ok: Vec<f64> = results
        .iter()
        .filter_map(|r| r.basalt.clone().ok())
        .collect();
    println!(
        "Basalt ran {} of {} queries; geometric mean of their medians: {}",
        ok.len(),
        results.len(),
        geomean(&ok)
            .map(|g| format!("{g:.3} s"))
            .unwrap_or_else(|| "-".into())
    );
    if peers {
        let correct = results
            .iter()
            .filter(|r| matches!(r.check, Some(Ok(()))))
            .count();
        println!(
            "Basalt's answers equal DuckDB's for {correct} of {} queries",
            results.len()
        );
        let both: Vec<&QueryRun> = results
            .iter()
            .filter(|r| r.basalt.is_ok() && matches!(r.duckdb, Some(Ok(_))))
            .collect();
        let g = |f: &dyn Fn(&QueryRun) -> Option<f64>| {
            geomean(&both.iter().filter_map(|r| f(r)).collect::<Vec<_>>())
        };
        let show = |v: Option<f64>, unit: &str| {
            v.map(|v| format!("{v:.3}{unit}"))
                .unwrap_or_else(|| "-".into())
        };
        println!(
            "Over the {} queries both engines ran: geometric mean Basalt {}, DuckDB {}; Basalt/DuckDB {}",
            both.len(),
            show(g(&|r| r.basalt.clone().ok()), " s"),
            show(g(&|r| r.duckdb.clone().and_then(|d| d.ok())), " s"),
            show(g(&|r| ratio(&r.basalt, &r.duckdb)), ""),
        );
    }
    let errors: Vec<String> = results
        .iter()
        .flat_map(|r| {
            let mut v = Vec::new();
            if let Err(e) = &r.basalt {
                v.push(format!("Q{:02} Basalt: {e}", r.n));
            }
            if let Some(Err(e)) = &r.duckdb {
                v.push(format!("Q{:02} DuckDB: {e}", r.n));
            }
            v
        })
        .collect();
    if !errors.is_empty() {
        println!();
        println!("Failed:");
        for e in errors {
            println!("- {}", e.lines().next().unwrap_or(""));
        }
    }
}
