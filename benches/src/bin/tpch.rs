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
//! under the target directory on first use. PostgreSQL 15 (Debian's `postgresql-15`, `--pg-bin`)
//! runs the queries of `--pg-queries` (by default [`tpch::PG_QUERIES`]: all 22, which it
//! finishes within a minute each at SF 1; `--pg-timeout` cuts off slower ones) after the others: the harness initializes a cluster in a temporary directory, starts it on a port of its
//! own, loads the same rows with COPY, creates the keys and indexes of
//! `benches/tpch/postgres-keys.sql`, runs VACUUM ANALYZE, and checks PostgreSQL's answers against
//! DuckDB's too. Without PostgreSQL's programs the other engines still run and the output says
//! why PostgreSQL did not.
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
    common_geomeans, dir_size, geomean, git_commit, human_bytes, machine_line, median, peer_answer,
    ratio, vm_hwm,
};
use basalt_benches::peers::{clear_progress, progress, target_dir, Peer};
use basalt_benches::postgres::{self, free_port, start_postgres, Server, DEFAULT_PG_BIN};
use basalt_benches::tpch::{self, Table};
use basalt_engine::Engine;
use clap::Parser;
use serde_json::json;

/// Analytic queries allocate and free large arrays per segment; mimalloc reuses them where
/// the system allocator would map and unmap fresh pages each time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "TPC-H over Basalt, optionally beside DuckDB, DataFusion and PostgreSQL")]
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
    /// Run DuckDB, DataFusion and PostgreSQL beside Basalt and check Basalt's answers against
    /// DuckDB's.
    #[arg(long)]
    compare: bool,
    /// The queries PostgreSQL runs with --compare: `all`, `none` or a list such as `1,6,14`
    /// (default: tpch::PG_QUERIES, those it finishes within a minute at SF 1: all 22).
    #[arg(long)]
    pg_queries: Option<String>,
    /// PostgreSQL 15's bin directory (initdb, pg_ctl).
    #[arg(long, default_value = DEFAULT_PG_BIN)]
    pg_bin: PathBuf,
    /// The port PostgreSQL listens on (127.0.0.1; default: a free one).
    #[arg(long)]
    pg_port: Option<u16>,
    /// PostgreSQL's statement_timeout for each query run, in seconds: a query that takes longer
    /// shows "timeout" and is not timed further.
    #[arg(long, default_value_t = 60)]
    pg_timeout: u64,
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
    let pg_set = match &args.pg_queries {
        Some(text) => tpch::parse_query_set(text).map_err(|e| anyhow!("--pg-queries: {e}"))?,
        None => tpch::PG_QUERIES.to_vec(),
    };
    let pg_queries: Vec<usize> = queries
        .iter()
        .copied()
        .filter(|q| pg_set.contains(q))
        .collect();
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
    // PostgreSQL, when it runs: stopped and its directory removed when dropped.
    let mut pg: Option<PgPeer> = None;
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
            if pg_queries.is_empty() {
                println!("PostgreSQL: not run (--pg-queries selects none of the queries)");
            } else {
                let mut started = PgPeer {
                    server: None,
                    dir: std::env::temp_dir()
                        .join(format!("basalt-tpch-pg-{}", std::process::id())),
                };
                match start_and_load_postgres(&args, &mut started, &mut p, &tbl_dir, threads) {
                    Ok(()) => pg = Some(started),
                    Err(e) => {
                        clear_progress();
                        let why = format!("{e:#}");
                        println!(
                            "PostgreSQL: skipped: {}",
                            why.split_whitespace().collect::<Vec<_>>().join(" ")
                        );
                    }
                }
            }
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
        let on_pg = pg.is_some() && pg_queries.contains(&n);
        results.push(run_one(
            &mut session,
            peer.as_mut(),
            n,
            args.runs,
            skip,
            on_pg,
        )?);
    }
    clear_progress();
    report(&results, peer.is_some(), pg.is_some());
    println!();
    println!(
        "Peak memory (VmHWM): Basalt harness {}{}{}",
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
        },
        if pg.is_some() {
            " (PostgreSQL's server processes are not measured)"
        } else {
            ""
        }
    );
    println!(
        "Basalt on disk after the queries: {}",
        human_bytes(dir_size(&db_dir).unwrap_or(0))
    );
    if let Some(p) = peer {
        p.stop();
    }
    drop(pg);
    Ok(())
}

/// The PostgreSQL cluster of a `--compare` run: stopped, then its directory removed, when
/// dropped.
struct PgPeer {
    server: Option<Server>,
    dir: PathBuf,
}

impl Drop for PgPeer {
    fn drop(&mut self) {
        drop(self.server.take());
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// PostgreSQL's settings beside the defaults: as many processes per query as the other engines
/// have threads (the leader executes the plan too, so `threads - 1` parallel workers), and
/// memory for a machine that holds the data.
fn pg_settings(threads: usize) -> Vec<(&'static str, String)> {
    let workers = threads.saturating_sub(1);
    vec![
        ("max_parallel_workers_per_gather", workers.to_string()),
        ("max_parallel_workers", workers.to_string()),
        ("max_worker_processes", workers.max(8).to_string()),
        ("shared_buffers", "2GB".into()),
        ("work_mem", "256MB".into()),
        ("effective_cache_size", "8GB".into()),
        ("max_wal_size", "4GB".into()),
    ]
}

/// Starts PostgreSQL in `pg.dir`, loads the '|'-delimited tables of `tbl_dir` into it with COPY,
/// creates the keys and indexes of `postgres-keys.sql`, runs VACUUM ANALYZE, and connects the
/// peer's `postgres` engine to it.
fn start_and_load_postgres(
    args: &Args,
    pg: &mut PgPeer,
    peer: &mut Peer,
    tbl_dir: &Path,
    threads: usize,
) -> Result<()> {
    if let Some(why) = postgres::missing(&args.pg_bin) {
        bail!("{why}");
    }
    let port = match args.pg_port {
        Some(p) => p,
        None => free_port()?,
    };
    let settings = pg_settings(threads);
    progress("PostgreSQL: initdb and start");
    pg.server = Some(start_postgres(&args.pg_bin, &pg.dir, port, &settings)?);
    let dsn = postgres::dsn(port);
    let v = peer.call(json!({"op": "postgres_connect", "dsn": dsn,
        "settings": [format!("SET statement_timeout = '{}s'", args.pg_timeout)]}))?;
    println!(
        "PostgreSQL: {}",
        v["version"].as_str().unwrap_or("version unknown")
    );
    // The settings as the server has them, with the defaults that matter most here.
    let names: Vec<String> = settings
        .iter()
        .map(|(k, _)| format!("'{k}'"))
        .chain(
            ["parallel_leader_participation", "jit", "statement_timeout"].map(|k| format!("'{k}'")),
        )
        .collect();
    let r = peer.call(json!({"op": "query", "engine": "postgres", "rows": true,
        "sql": format!("SELECT name || '=' || current_setting(name) FROM unnest(ARRAY[{}]) WITH ORDINALITY AS s(name, i) ORDER BY i",
            names.join(", "))}))?;
    let shown: Vec<&str> = r["rows"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|row| row[0].as_str()).collect())
        .unwrap_or_default();
    println!(
        "PostgreSQL settings: {}; everything else as initdb leaves it",
        shown.join(", ")
    );
    peer.call(json!({"op": "pg_execute", "dsn": dsn, "sql": tpch::SCHEMA_SQL}))?;
    let mut copy = 0.0;
    for table in Table::ALL {
        progress(&format!("PostgreSQL: COPY {}", table.name()));
        let path = tbl_dir.join(format!("{}.tbl", table.name()));
        let r = peer.call(json!({"op": "pg_copy_in", "table": table.name(), "path": path}))?;
        copy += r["seconds"].as_f64().unwrap_or(0.0);
    }
    progress("PostgreSQL: keys and indexes");
    let r = peer.call(json!({"op": "pg_execute", "dsn": dsn, "sql": tpch::PG_KEYS_SQL}))?;
    let keys = r["seconds"].as_f64().unwrap_or(0.0);
    progress("PostgreSQL: VACUUM ANALYZE");
    let r = peer.call(json!({"op": "pg_execute", "dsn": dsn, "sql": "VACUUM ANALYZE"}))?;
    let vacuum = r["seconds"].as_f64().unwrap_or(0.0);
    let r = peer.call(json!({"op": "query", "engine": "postgres", "rows": true,
        "sql": "SELECT pg_database_size(current_database())::text"}))?;
    let bytes = r["rows"][0][0]
        .as_str()
        .and_then(|b| b.parse::<u64>().ok())
        .unwrap_or(0);
    clear_progress();
    println!(
        "PostgreSQL load: {copy:.2} s of COPY FROM STDIN (the '|'-delimited text, streamed by psycopg), {keys:.2} s of primary keys, foreign keys and indexes (benches/tpch/postgres-keys.sql), {vacuum:.2} s of VACUUM ANALYZE; on disk {} (database size, tables and indexes)",
        human_bytes(bytes)
    );
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
    /// PostgreSQL's time, for the queries it runs.
    postgres: Option<Result<f64, String>>,
    /// Basalt's answer compared with DuckDB's (with peers only).
    check: Option<Result<(), String>>,
    /// DataFusion's answer compared with DuckDB's, which checks the comparison itself.
    peer_check: Option<Result<(), String>>,
    /// PostgreSQL's answer compared with DuckDB's, for the queries it runs.
    pg_check: Option<Result<(), String>>,
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
    on_postgres: bool,
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
        postgres: None,
        check: None,
        peer_check: None,
        pg_check: None,
    };
    if let Some(peer) = peer {
        let (duck, theirs) = time_peer(peer, "duckdb", n, runs)?;
        let (df, df_answer) = time_peer(peer, "datafusion", n, runs)?;
        let (pg, pg_answer) = if on_postgres {
            let (t, a) = time_peer(peer, "postgres", n, runs)?;
            (Some(t), a)
        } else {
            (None, None)
        };
        let ordered = tpch::is_ordered(tpch::query(n).unwrap_or(""));
        let check = |a: &Option<Answer>, who: &str| match (a, &theirs) {
            (Some(a), Some(b)) => compare(a, b, ordered).map_err(|m| format!("wrong answer: {m}")),
            (None, _) => Err(format!("{who} failed")),
            (_, None) => Err("DuckDB failed".into()),
        };
        run.check = Some(check(&ours, "Basalt"));
        run.peer_check = Some(check(&df_answer, "DataFusion"));
        run.pg_check = pg.is_some().then(|| check(&pg_answer, "PostgreSQL"));
        run.duckdb = Some(duck);
        run.datafusion = Some(df);
        run.postgres = pg;
    }
    Ok(run)
}

fn cell(r: &Result<f64, String>) -> String {
    match r {
        Ok(s) => format!("{s:.3}"),
        Err(e) if e.starts_with("not run") => "not run".into(),
        Err(e) if e.contains("statement timeout") => "timeout".into(),
        Err(_) => "error".into(),
    }
}

fn report(results: &[QueryRun], peers: bool, pg: bool) {
    if peers && pg {
        println!("| Query | Basalt (s) | DuckDB (s) | DataFusion (s) | PostgreSQL (s) | Basalt/DuckDB | Basalt/DataFusion | Basalt/PostgreSQL | Basalt peak memory | Basalt's answer |");
        println!("|------:|-----------:|-----------:|---------------:|---------------:|--------------:|------------------:|------------------:|-------------------:|-----------------|");
    } else if peers {
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
            let (pg_time, pg_ratio) = if pg {
                (
                    format!(
                        " {} |",
                        r.postgres.as_ref().map(cell).unwrap_or_else(|| "-".into())
                    ),
                    format!(" {} |", fmt_ratio(ratio(&r.basalt, &r.postgres))),
                )
            } else {
                (String::new(), String::new())
            };
            println!(
                "| Q{:02} | {} | {} | {} |{pg_time} {} | {} |{pg_ratio} {} | {} |",
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
    let time = |r: &Option<Result<f64, String>>| r.as_ref().and_then(|t| t.clone().ok());
    let show = |v: Option<f64>, unit: &str| {
        v.map(|v| format!("{v:.3}{unit}"))
            .unwrap_or_else(|| "-".into())
    };
    let over = |means: &[Option<f64>], a: usize, b: usize| match (means[a], means[b]) {
        (Some(x), Some(y)) if y > 0.0 => Some(x / y),
        _ => None,
    };
    if peers {
        let correct = results
            .iter()
            .filter(|r| matches!(r.check, Some(Ok(()))))
            .count();
        println!(
            "Basalt's answers equal DuckDB's for {correct} of {} queries",
            results.len()
        );
        let agree = |who: &str, checks: Vec<(usize, &Result<(), String>)>| {
            println!(
                "{who}'s answers equal DuckDB's for {} of {} queries{}",
                checks.iter().filter(|(_, c)| c.is_ok()).count(),
                checks.len(),
                checks
                    .iter()
                    .filter_map(|(n, c)| c.as_ref().err().map(|e| format!("; Q{n:02}: {e}")))
                    .collect::<String>()
            );
        };
        let checks_of = |f: &dyn Fn(&QueryRun) -> &Option<Result<(), String>>| {
            results
                .iter()
                .filter_map(|r| f(r).as_ref().map(|c| (r.n, c)))
                .collect::<Vec<_>>()
        };
        agree("DataFusion", checks_of(&|r| &r.peer_check));
        if pg {
            agree("PostgreSQL", checks_of(&|r| &r.pg_check));
        }
        // Ratios over the queries every engine ran, so the means compare like with like.
        let (n, means) = common_geomeans(
            &results
                .iter()
                .map(|r| vec![r.basalt.clone().ok(), time(&r.duckdb), time(&r.datafusion)])
                .collect::<Vec<_>>(),
        );
        println!(
            "Over the {n} queries all three engines ran: geometric mean Basalt {}, DuckDB {}, DataFusion {}; Basalt/DuckDB {}, Basalt/DataFusion {}",
            show(means[0], " s"),
            show(means[1], " s"),
            show(means[2], " s"),
            show(over(&means, 0, 1), ""),
            show(over(&means, 0, 2), ""),
        );
        if pg {
            let (n, means) = common_geomeans(
                &results
                    .iter()
                    .map(|r| vec![r.basalt.clone().ok(), time(&r.duckdb), time(&r.postgres)])
                    .collect::<Vec<_>>(),
            );
            println!(
                "Over the {n} queries Basalt, DuckDB and PostgreSQL all ran: geometric mean Basalt {}, DuckDB {}, PostgreSQL {}; Basalt/PostgreSQL {}, Basalt/DuckDB {}",
                show(means[0], " s"),
                show(means[1], " s"),
                show(means[2], " s"),
                show(over(&means, 0, 2), ""),
                show(over(&means, 0, 1), ""),
            );
        }
    }
    let errors: Vec<String> = results
        .iter()
        .flat_map(|r| {
            let mut v = Vec::new();
            if let Err(e) = &r.basalt {
                v.push(format!("Q{:02} Basalt: {e}", r.n));
            }
            for (who, t) in [
                ("DuckDB", &r.duckdb),
                ("DataFusion", &r.datafusion),
                ("PostgreSQL", &r.postgres),
            ] {
                if let Some(Err(e)) = t {
                    v.push(format!("Q{:02} {who}: {e}", r.n));
                }
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
