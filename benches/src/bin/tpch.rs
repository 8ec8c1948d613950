//! The TPC-H harness.
//!
//! `cargo run --release -p basalt-benches --bin tpch -- --sf 1` generates the eight tables at
//! scale factor 1, loads them into a fresh Basalt database through `Session::append_batches`
//! (then ANALYZE, as COPY does after loading empty tables),
//! runs the 22 queries (one warm-up and `--runs` timed runs each) and prints per-query medians,
//! their geometric mean, peak memory and the database's size on disk.
//!
//! `--compare` also runs DuckDB (native tables) and DataFusion (over Parquet files DuckDB writes)
//! in a Python process beside it, interleaved query by query, prints Basalt's ratios to them, and
//! checks that Basalt's answers equal DuckDB's. The peers are installed into a virtual environment
//! under the target directory on first use.
//!
//! `--write-answers` stores DuckDB's answers at the scale factor (default 0.01) under
//! `benches/tpch/answers/` and rewrites the list of queries Basalt does not answer correctly yet.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use basalt_benches::answers::{compare, Answer, Known, KnownFailing};
use basalt_benches::harness::{
    dir_size, geomean, git_commit, human_bytes, machine_line, median, peer_answer, ratio, vm_hwm,
};
use basalt_benches::peers::{clear_progress, progress, target_dir, Peer};
use basalt_benches::tpch::{self, Table};
use basalt_engine::Engine;
use clap::Parser;
use serde_json::json;

/// Analytic queries allocate and free large arrays per segment; mimalloc reuses them where
/// the system allocator would map and unmap fresh pages each time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "TPC-H over Basalt, optionally beside DuckDB and DataFusion")]
struct Args {
    /// Scale factor (1 is about 1 GB of raw data; 6 million lineitem rows).
    #[arg(long)]
    sf: Option<f64>,
    /// Timed runs per query, after one warm-up run.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The queries to run, e.g. `1,6,14` (default: all 22).
    #[arg(long, value_delimiter = ',')]
    queries: Vec<usize>,
    /// Queries not to run on Basalt (they still run on the peers). Default: those
    /// benches/tpch/answers/known-failing.txt lists as too slow (`skip:`); with no list, none.
    #[arg(long, value_delimiter = ',', num_args = 0..=1)]
    skip_basalt: Option<Vec<usize>>,
    /// Run DuckDB and DataFusion beside Basalt and check Basalt's answers against DuckDB's.
    #[arg(long)]
    compare: bool,
    /// Store DuckDB's answers at the scale factor (default 0.01) in benches/tpch/answers/ and
    /// rewrite known-failing.txt from Basalt's results.
    #[arg(long, conflicts_with = "compare")]
    write_answers: bool,
    /// Where the databases and exported data go (emptied first).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// The Python interpreter that creates the peers' virtual environment.
    #[arg(long, default_value = "python3")]
    python: String,
}

fn main() -> Result<()> {
    basalt_engine::allocator::keep_freed_memory();
    let args = Args::parse();
    let sf = args
        .sf
        .unwrap_or(if args.write_answers { 0.01 } else { 1.0 });
    if !(sf > 0.0 && sf.is_finite()) {
        bail!("--sf must be a positive number");
    }
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let queries: Vec<usize> = if args.queries.is_empty() {
        (1..=22).collect()
    } else {
        args.queries.clone()
    };
    if let Some(q) = queries.iter().find(|q| tpch::query(**q).is_none()) {
        bail!("there is no query {q}: queries are numbered 1 to 22");
    }
    let work = args
        .work_dir
        .clone()
        .unwrap_or_else(|| target_dir().join(format!("tpch-sf{sf}")));
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("emptying {}", work.display()))?;
    }
    std::fs::create_dir_all(&work)?;
    let with_peers = args.compare || args.write_answers;
    let threads = rayon::current_num_threads();

    print_header(sf, &args, threads);

    // Load Basalt, exporting the same batches as text for the peers.
    let db_dir = work.join("basalt");
    let tbl_dir = work.join("tbl");
    std::fs::create_dir_all(&tbl_dir)?;
    let engine = Engine::open(&db_dir)?;
    let mut session = engine.session("basalt");
    let load = load_basalt(&mut session, sf, with_peers.then_some(tbl_dir.as_path()))?;
    let rows: u64 = load.rows.iter().map(|r| r.1).sum();
    println!(
        "Basalt load: {rows} rows in {:.2} s of append_batches ({:.0} rows/s), then {:.2} s of ANALYZE; generating them took {:.2} s",
        load.append.as_secs_f64(),
        rows as f64 / load.append.as_secs_f64().max(1e-9),
        load.analyze.as_secs_f64(),
        load.generate.as_secs_f64(),
    );
    println!(
        "Basalt on disk: {}; peak memory of generation and load {}",
        human_bytes(dir_size(&db_dir).unwrap_or(0)),
        vm_hwm(None)
            .map(human_bytes)
            .unwrap_or_else(|| "unknown".into())
    );

    let mut peer = None;
    if with_peers {
        let mut p = Peer::start(&args.python)?;
        let tables: BTreeMap<&str, String> = Table::ALL
            .iter()
            .map(|t| {
                (
                    t.name(),
                    tbl_dir
                        .join(format!("{}.tbl", t.name()))
                        .display()
                        .to_string(),
                )
            })
            .collect();
        progress("DuckDB: loading");
        let r = p.call(json!({"op": "duckdb_load", "db": work.join("duckdb.db"),
            "threads": threads, "schema": tpch::SCHEMA_SQL, "tables": tables}))?;
        println!(
            "DuckDB load: {:.2} s from '|'-delimited text; on disk {}",
            r["seconds"].as_f64().unwrap_or(0.0),
            human_bytes(r["bytes"].as_u64().unwrap_or(0))
        );
        if args.compare {
            let names: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
            let parquet = work.join("parquet");
            progress("DuckDB: writing Parquet");
            let r = p.call(json!({"op": "duckdb_parquet", "dir": parquet, "tables": names}))?;
            println!(
                "Parquet for DataFusion: written by DuckDB in {:.2} s, {}",
                r["seconds"].as_f64().unwrap_or(0.0),
                human_bytes(r["bytes"].as_u64().unwrap_or(0))
            );
            p.call(
                json!({"op": "datafusion_load", "dir": parquet, "threads": threads,
                "tables": names}),
            )?;
        }
        std::fs::remove_dir_all(&tbl_dir).ok();
        peer = Some(p);
    }
    println!();

    if args.write_answers {
        let peer = peer.as_mut().ok_or_else(|| anyhow!("no peer"))?;
        return write_answers(&mut session, peer, sf, &queries);
    }

    let skip_basalt: Vec<usize> = match &args.skip_basalt {
        Some(list) => list.clone(),
        None => {
            let path = tpch::known_failing_path();
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let known =
                KnownFailing::parse(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
            known
                .0
                .iter()
                .filter(|(_, k)| matches!(k, Known::Skip(_)))
                .map(|(n, _)| *n)
                .collect()
        }
    };
    let mut results = Vec::new();
    for &n in &queries {
        let skip = skip_basalt.contains(&n);
        results.push(run_one(&mut session, peer.as_mut(), n, args.runs, skip)?);
    }
    clear_progress();
    report(&results, peer.is_some());
    println!();
    println!(
        "Peak memory (VmHWM): Basalt harness {}{}",
        peak_overall()
            .map(human_bytes)
            .unwrap_or_else(|| "unknown".into()),
        match &peer {
            Some(p) => format!(
                ", peer process (DuckDB and DataFusion together) {}",
                vm_hwm(Some(p.child.id()))
                    .map(human_bytes)
                    .unwrap_or_else(|| "unknown".into())
            ),
            None => String::new(),
        }
    );
    println!(
        "Basalt on disk after the queries: {}",
        human_bytes(dir_size(&db_dir).unwrap_or(0))
    );
    if let Some(p) = peer {
        p.stop();
    }
    Ok(())
}

fn print_header(sf: f64, args: &Args, threads: usize) {
    println!("# TPC-H SF {sf}");
    println!();
    println!(
        "Command: cargo run --release -p basalt-benches --bin tpch -- {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    println!("{}; query threads {threads}", machine_line());
    println!(
        "Basalt {} ({})",
        env!("CARGO_PKG_VERSION"),
        git_commit().unwrap_or_else(|| "commit unknown".into())
    );
    println!(
        "Timing: one warm-up run, then the median of {} timed runs; results are fetched in full",
        args.runs
    );
    println!(
        "Basalt peak memory: the harness's peak resident size while the query ran, including \
         memory kept from earlier queries and the mapped data"
    );
}

struct Load {
    rows: Vec<(Table, u64)>,
    generate: Duration,
    append: Duration,
    analyze: Duration,
}

fn load_basalt(
    session: &mut basalt_engine::Session,
    sf: f64,
    export: Option<&Path>,
) -> Result<Load> {
    session.run(tpch::SCHEMA_SQL)?;
    let mut out = Load {
        rows: Vec::new(),
        generate: Duration::ZERO,
        append: Duration::ZERO,
        analyze: Duration::ZERO,
    };
    for table in Table::ALL {
        let total = table.approx_rows(sf);
        let mut file = match export {
            Some(dir) => Some(BufWriter::new(std::fs::File::create(
                dir.join(format!("{}.tbl", table.name())),
            )?)),
            None => None,
        };
        let mut done = 0u64;
        let mut generated = Instant::now();
        let rows = table.generate(sf, |batches| -> Result<()> {
            out.generate += generated.elapsed();
            let started = Instant::now();
            session.append_batches(table.name(), &batches)?;
            out.append += started.elapsed();
            if let Some(f) = file.as_mut() {
                for b in &batches {
                    tpch::write_delimited(f, table, b)?;
                }
            }
            done += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
            progress(&format!(
                "Basalt: loading {} {done}/~{total} rows",
                table.name()
            ));
            generated = Instant::now();
            Ok(())
        })?;
        if let Some(mut f) = file {
            f.flush()?;
        }
        out.rows.push((table, rows));
    }
    // What COPY's STATUPDATE does after a load into empty tables: statistics for the planner,
    // as the peers gather theirs while loading.
    progress("Basalt: ANALYZE");
    let started = Instant::now();
    session.run("ANALYZE")?;
    out.analyze = started.elapsed();
    clear_progress();
    Ok(out)
}

/// One query's measurements: per engine, the median seconds or the error.
struct QueryRun {
    n: usize,
    basalt: Result<f64, String>,
    /// The harness's peak resident memory while Basalt ran the query (Linux only).
    basalt_peak: Option<u64>,
    duckdb: Option<Result<f64, String>>,
    datafusion: Option<Result<f64, String>>,
    /// Basalt's answer compared with DuckDB's (with peers only).
    check: Option<Result<(), String>>,
    /// DataFusion's answer compared with DuckDB's, which checks the comparison itself.
    peer_check: Option<Result<(), String>>,
}

fn time_basalt(
    session: &mut basalt_engine::Session,
    n: usize,
    runs: usize,
) -> (Result<f64, String>, Option<Answer>) {
    let sql = tpch::query(n).unwrap_or_default();
    progress(&format!("q{n:02}: Basalt warm-up"));
    let answer = match tpch::run_query(session, sql) {
        Ok(q) => Answer::from_query(&q),
        Err(e) => return (Err(e), None),
    };
    let mut times = Vec::new();
    for i in 0..runs {
        progress(&format!("q{n:02}: Basalt run {}/{runs}", i + 1));
        let started = Instant::now();
        if let Err(e) = tpch::run_query(session, sql) {
            return (Err(e), Some(answer));
        }
        times.push(started.elapsed().as_secs_f64());
    }
    (Ok(median(times)), Some(answer))
}

fn time_peer(
    peer: &mut Peer,
    engine: &str,
    n: usize,
    runs: usize,
) -> Result<(Result<f64, String>, Option<Answer>)> {
    let sql = tpch::query(n).unwrap_or_default();
    progress(&format!("q{n:02}: {engine} warm-up"));
    let r = peer.request(json!({"op": "query", "engine": engine, "sql": sql, "rows": true}))?;
    let answer = match r {
        Ok(v) => peer_answer(&v)?,
        Err(e) => return Ok((Err(e), None)),
    };
    let mut times = Vec::new();
    for i in 0..runs {
        progress(&format!("q{n:02}: {engine} run {}/{runs}", i + 1));
        match peer.request(json!({"op": "query", "engine": engine, "sql": sql}))? {
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
    skip_basalt: bool,
) -> Result<QueryRun> {
    let mut basalt_peak = None;
    let (basalt, ours) = if skip_basalt {
        (Err("not run (--skip-basalt, by default the queries known-failing.txt lists as too slow)".to_string()), None)
    } else {
        let peak_before = vm_hwm(None);
        let reset = reset_peak();
        let r = time_basalt(session, n, runs);
        basalt_peak = if reset { vm_hwm(None) } else { None };
        PEAK_SEEN.fetch_max(
            peak_before.unwrap_or(0).max(basalt_peak.unwrap_or(0)),
            std::sync::atomic::Ordering::Relaxed,
        );
        r
    };
    let mut run = QueryRun {
        n,
        basalt,
        basalt_peak,
        duckdb: None,
        datafusion: None,
        check: None,
        peer_check: None,
    };
    if let Some(peer) = peer {
        let (duck, theirs) = time_peer(peer, "duckdb", n, runs)?;
        let (df, df_answer) = time_peer(peer, "datafusion", n, runs)?;
        let ordered = tpch::is_ordered(tpch::query(n).unwrap_or(""));
        let check = |a: &Option<Answer>, who: &str| match (a, &theirs) {
            (Some(a), Some(b)) => compare(a, b, ordered).map_err(|m| format!("wrong answer: {m}")),
            (None, _) => Err(format!("{who} failed")),
            (_, None) => Err("DuckDB failed".into()),
        };
        run.check = Some(check(&ours, "Basalt"));
        run.peer_check = Some(check(&df_answer, "DataFusion"));
        run.duckdb = Some(duck);
        run.datafusion = Some(df);
    }
    Ok(run)
}

fn cell(r: &Result<f64, String>) -> String {
    match r {
        Ok(s) => format!("{s:.3}"),
        Err(e) if e.starts_with("not run") => "not run".into(),
        Err(_) => "error".into(),
    }
}

fn report(results: &[QueryRun], peers: bool) {
    if peers {
        println!("| Query | Basalt (s) | DuckDB (s) | DataFusion (s) | Basalt/DuckDB | Basalt/DataFusion | Basalt peak memory | Basalt's answer |");
        println!("|------:|-----------:|-----------:|---------------:|--------------:|------------------:|-------------------:|-----------------|");
    } else {
        println!("| Query | Basalt (s) | Basalt peak memory |");
        println!("|------:|-----------:|-------------------:|");
    }
    let peak = |r: &QueryRun| r.basalt_peak.map(human_bytes).unwrap_or_else(|| "-".into());
    let fmt_ratio = |r: Option<f64>| r.map(|r| format!("{r:.2}")).unwrap_or_else(|| "-".into());
    for r in results {
        if peers {
            let check = match &r.check {
                Some(Ok(())) => "equals DuckDB's".to_string(),
                Some(Err(_)) if r.basalt.is_err() => "-".to_string(),
                Some(Err(e)) => e.clone(),
                None => String::new(),
            };
            println!(
                "| Q{:02} | {} | {} | {} | {} | {} | {} | {} |",
                r.n,
                cell(&r.basalt),
                r.duckdb.as_ref().map(cell).unwrap_or_default(),
                r.datafusion.as_ref().map(cell).unwrap_or_default(),
                fmt_ratio(ratio(&r.basalt, &r.duckdb)),
                fmt_ratio(ratio(&r.basalt, &r.datafusion)),
                peak(r),
                check,
            );
        } else {
            println!("| Q{:02} | {} | {} |", r.n, cell(&r.basalt), peak(r));
        }
    }
    println!();
    let ok: Vec<&QueryRun> = results.iter().filter(|r| r.basalt.is_ok()).collect();
    let basalt_times: Vec<f64> = ok.iter().filter_map(|r| r.basalt.clone().ok()).collect();
    println!(
        "Basalt ran {} of {} queries; geometric mean of their medians: {}",
        ok.len(),
        results.len(),
        geomean(&basalt_times)
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
        let peers_agree = results
            .iter()
            .filter(|r| matches!(r.peer_check, Some(Ok(()))))
            .count();
        println!(
            "DataFusion's answers equal DuckDB's for {peers_agree} of {} queries{}",
            results.len(),
            results
                .iter()
                .filter_map(|r| match &r.peer_check {
                    Some(Err(e)) => Some(format!("; Q{:02}: {e}", r.n)),
                    _ => None,
                })
                .collect::<String>()
        );
        // Ratios over the queries every engine ran, so the means compare like with like.
        let all: Vec<&QueryRun> = results
            .iter()
            .filter(|r| {
                r.basalt.is_ok()
                    && matches!(r.duckdb, Some(Ok(_)))
                    && matches!(r.datafusion, Some(Ok(_)))
            })
            .collect();
        let g = |f: &dyn Fn(&QueryRun) -> Option<f64>| {
            geomean(&all.iter().filter_map(|r| f(r)).collect::<Vec<_>>())
        };
        let show = |v: Option<f64>, unit: &str| {
            v.map(|v| format!("{v:.3}{unit}"))
                .unwrap_or_else(|| "-".into())
        };
        println!(
            "Over the {} queries all three engines ran: geometric mean Basalt {}, DuckDB {}, DataFusion {}; Basalt/DuckDB {}, Basalt/DataFusion {}",
            all.len(),
            show(g(&|r| r.basalt.clone().ok()), " s"),
            show(g(&|r| r.duckdb.clone().and_then(|d| d.ok())), " s"),
            show(g(&|r| r.datafusion.clone().and_then(|d| d.ok())), " s"),
            show(g(&|r| ratio(&r.basalt, &r.duckdb)), ""),
            show(g(&|r| ratio(&r.basalt, &r.datafusion)), ""),
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
            if let Some(Err(e)) = &r.datafusion {
                v.push(format!("Q{:02} DataFusion: {e}", r.n));
            }
            v
        })
        .collect();
    if !errors.is_empty() {
        println!();
        println!("Failed or not run:");
        for e in errors {
            println!("- {}", e.lines().next().unwrap_or(""));
        }
    }
}

fn write_answers(
    session: &mut basalt_engine::Session,
    peer: &mut Peer,
    sf: f64,
    queries: &[usize],
) -> Result<()> {
    let dir = tpch::answers_dir(sf);
    std::fs::create_dir_all(&dir)?;
    for &n in queries {
        let sql = tpch::query(n).unwrap_or_default();
        progress(&format!("q{n:02}: DuckDB"));
        let v = peer
            .request(json!({"op": "query", "engine": "duckdb", "sql": sql, "rows": true}))?
            .map_err(|e| anyhow!("DuckDB fails q{n:02}: {e}"))?;
        let text = peer_answer(&v)?
            .to_text()
            .map_err(|e| anyhow!("q{n:02}: {e}"))?;
        std::fs::write(dir.join(format!("q{n:02}.tbl")), text)?;
    }
    clear_progress();
    println!(
        "Wrote DuckDB's answers for {} queries to {}",
        queries.len(),
        dir.display()
    );
    let path = tpch::known_failing_path();
    let mut known = match std::fs::read_to_string(&path) {
        Ok(text) => KnownFailing::parse(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?,
        Err(_) => KnownFailing::default(),
    };
    for &n in queries {
        progress(&format!("q{n:02}: Basalt"));
        let outcome = tpch::check_query(session, sf, n);
        let skipped = matches!(known.0.get(&n), Some(Known::Skip(_)));
        match (outcome, skipped) {
            // A query listed as too slow for the test stays listed; only a person can say it is
            // fast enough now.
            (Ok(()), true) => println!("q{n:02}: passes (listed as too slow for the test)"),
            (Err(e), true) => println!("q{n:02}: {e} (listed as too slow for the test)"),
            (Ok(()), false) => {
                known.0.remove(&n);
                println!("q{n:02}: passes");
            }
            (Err(e), false) => {
                println!("q{n:02}: {e}");
                known.0.insert(n, Known::Fails(e));
            }
        }
    }
    clear_progress();
    std::fs::write(&path, known.to_text())?;
    println!(
        "Wrote {} ({} queries listed)",
        path.display(),
        known.0.len()
    );
    Ok(())
}

/// The highest VmHWM seen before a reset by [`reset_peak`].
static PEAK_SEEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Resets this process's VmHWM to its current resident size (Linux: `5` into
/// `/proc/self/clear_refs`), so that it measures the next query alone.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The peak resident memory of this process over the whole run, across resets.
fn peak_overall() -> Option<u64> {
    let seen = PEAK_SEEN.load(std::sync::atomic::Ordering::Relaxed);
    match vm_hwm(None) {
        Some(now) => Some(now.max(seen)),
        None => (seen > 0).then_some(seen),
    }
}
