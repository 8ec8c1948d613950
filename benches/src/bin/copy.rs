//! The COPY benchmark: TPC-H lineitem loaded from '|'-delimited text, from Parquet and from
//! JSON, by Basalt's COPY and by DuckDB's COPY into a native table, from the same files in the
//! same run.
//!
//! `cargo run --release -p basalt-benches --bin copy -- --sf 1` generates lineitem with the
//! `tpchgen` crate, writes it as '|'-delimited text, has DuckDB write the same rows as Parquet
//! (its default writer) and as newline-delimited JSON objects, then times, interleaved, each engine loading each file into a fresh
//! database (`--runs` times, the median kept; the time includes making the rows durable: Basalt's
//! commit, DuckDB's CHECKPOINT). It prints rows per second and Basalt's ratio to DuckDB.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use basalt_benches::peers::{clear_progress, progress, target_dir, Peer};
use basalt_benches::tpch::{self, Table};
use basalt_engine::{Engine, StatementResult};
use clap::Parser;
use serde_json::json;

/// The server's allocator, tuned as the server tunes it (`basalt serve` runs every COPY this
/// way): a load allocates and frees a window's arrays over and over.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "COPY of TPC-H lineitem from text and Parquet, beside DuckDB")]
struct Args {
    /// Scale factor (1 is about 6 million lineitem rows).
    #[arg(long, default_value_t = 1.0)]
    sf: f64,
    /// Timed loads per engine and format; the median is reported.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Where the files and databases go (emptied first).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// The Python interpreter that creates the peers' virtual environment.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Keep the generated files in the work directory and load the ones an earlier run with
    /// this option left there, so that several builds load the same files.
    #[arg(long)]
    keep_files: bool,
    /// The inputs to load, of `text`, `parquet` and `json` (newline-delimited objects that
    /// DuckDB writes from the Parquet file, the first time one is needed).
    #[arg(long, value_delimiter = ',', default_value = "text,parquet,json")]
    formats: Vec<String>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The user and system CPU time of this process so far, in seconds (from `/proc/self/stat`,
/// in Linux's USER_HZ ticks of 1/100 s; threads that have ended count too). On a machine
/// shared with other work the CPU a load uses varies far less than its elapsed time.
fn cpu_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The fields after the command name, which is in parentheses and may hold blanks.
    let rest = stat.rsplit_once(')').context("/proc/self/stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks = |i: usize| -> Result<f64> {
        Ok(fields.get(i).context("/proc/self/stat")?.parse::<u64>()? as f64)
    };
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// Loads `file` into a fresh Basalt database with COPY; returns seconds, CPU seconds and rows.
fn basalt_copy(
    dir: &std::path::Path,
    file: &std::path::Path,
    options: &str,
) -> Result<(f64, f64, u64)> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let engine = Engine::open(dir)?;
    let mut session = engine.session("basalt");
    session.run(tpch::SCHEMA_SQL)?;
    let sql = format!("COPY lineitem FROM '{}' {options}", file.display());
    let (started, cpu_started) = (Instant::now(), cpu_seconds()?);
    let out = session.run(&sql)?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds()? - cpu_started;
    let rows = match out.first() {
        Some(StatementResult::Command { tag }) => tag
            .strip_prefix("COPY ")
            .and_then(|n| n.parse().ok())
            .context("COPY's tag")?,
        _ => bail!("COPY returned no tag"),
    };
    Ok((seconds, cpu, rows))
}

fn main() -> Result<()> {
    basalt_engine::allocator::keep_freed_memory();
    let args = Args::parse();
    if !(args.sf > 0.0 && args.sf.is_finite()) || args.runs == 0 {
        bail!("--sf must be positive and --runs at least 1");
    }
    let work = args
        .work_dir
        .clone()
        .unwrap_or_else(|| target_dir().join(format!("copy-sf{}", args.sf)));
    let tbl = work.join("lineitem.tbl");
    let parquet_dir = work.join("parquet");
    let parquet = parquet_dir.join("lineitem.parquet");
    let rows_file = work.join("lineitem.rows");
    let kept = args.keep_files && parquet.exists() && rows_file.exists();
    if work.exists() && !kept {
        std::fs::remove_dir_all(&work)?;
    }
    std::fs::create_dir_all(&work)?;
    let threads = rayon::current_num_threads();
    println!(
        "COPY of TPC-H lineitem at SF {}, {threads} threads, Basalt {} ({})",
        args.sf,
        basalt_engine::VERSION,
        std::env::consts::ARCH
    );

    let mut peer = Peer::start(&args.python)?;
    let rows: u64 = if kept {
        std::fs::read_to_string(&rows_file)?
            .trim()
            .parse()
            .context("the kept row count")?
    } else {
        // The text file, from the generator (not timed).
        let mut out = BufWriter::new(std::fs::File::create(&tbl)?);
        let rows = Table::LineItem.generate(args.sf, |batches| -> Result<()> {
            for b in &batches {
                tpch::write_delimited(&mut out, Table::LineItem, b)?;
            }
            progress("generating lineitem");
            Ok(())
        })?;
        out.flush()?;
        drop(out);
        clear_progress();
        // DuckDB writes the Parquet file both engines then load.
        peer.call(
            json!({"op": "duckdb_copy", "db": work.join("duckdb.db"), "threads": threads,
            "schema": tpch::SCHEMA_SQL, "table": "lineitem", "path": tbl, "format": "text"}),
        )?;
        peer.call(json!({"op": "duckdb_parquet", "dir": parquet_dir, "tables": ["lineitem"]}))?;
        std::fs::write(&rows_file, rows.to_string())?;
        rows
    };
    let text_bytes = std::fs::metadata(&tbl)?.len();
    let parquet_bytes = std::fs::metadata(&parquet)?.len();
    println!(
        "lineitem: {rows} rows; text {:.1} MB, Parquet (written by DuckDB) {:.1} MB",
        text_bytes as f64 / 1e6,
        parquet_bytes as f64 / 1e6
    );

    let json = work.join("json").join("lineitem.json");
    if args.formats.iter().any(|f| f == "json") && !json.exists() {
        progress("writing lineitem as JSON");
        std::fs::create_dir_all(work.join("json"))?;
        peer.call(json!({"op": "duckdb_json", "parquet": parquet, "path": json}))?;
        clear_progress();
    }
    if json.exists() {
        println!(
            "JSON (newline-delimited objects written by DuckDB) {:.1} MB",
            std::fs::metadata(&json)?.len() as f64 / 1e6
        );
    }
    let formats = [
        ("'|'-delimited text", tbl.clone(), "DELIMITER '|'", "text"),
        ("Parquet", parquet.clone(), "FORMAT AS PARQUET", "parquet"),
        ("JSON", json.clone(), "FORMAT AS JSON 'auto'", "json"),
    ];
    for f in &args.formats {
        if !formats.iter().any(|(.., name)| name == f) {
            bail!("--formats takes text, parquet and json, not {f}");
        }
    }
    let formats = formats
        .into_iter()
        .filter(|(.., name)| args.formats.iter().any(|f| f == name));
    // Every run's pair, printed after the medians: on a busy machine the ratio of a pair,
    // whose loads ran one after the other, says more than either time.
    let mut pairs = Vec::new();
    println!();
    println!(
        "| Input | Basalt s | Basalt rows/s | DuckDB s | DuckDB rows/s | Basalt / DuckDB time \
         | Basalt CPU s | DuckDB CPU s | Basalt / DuckDB CPU |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (label, file, options, format) in formats {
        let mut basalt = Vec::new();
        let mut duck = Vec::new();
        let mut basalt_cpu = Vec::new();
        let mut duck_cpu = Vec::new();
        for run in 0..args.runs {
            progress(&format!("Basalt: COPY from {label}, run {}", run + 1));
            let (s, cpu, n) = basalt_copy(&work.join("basalt"), &file, options)?;
            basalt_cpu.push(cpu);
            if n != rows {
                bail!("Basalt loaded {n} rows from {label}, expected {rows}");
            }
            basalt.push(s);
            progress(&format!("DuckDB: COPY from {label}, run {}", run + 1));
            let r = peer.call(json!({"op": "duckdb_copy", "db": work.join("duckdb.db"),
                "threads": threads, "schema": tpch::SCHEMA_SQL, "table": "lineitem",
                "path": file, "format": format}))?;
            if r["rows"].as_u64() != Some(rows) {
                bail!(
                    "DuckDB loaded {} rows from {label}, expected {rows}",
                    r["rows"]
                );
            }
            duck.push(r["seconds"].as_f64().unwrap_or(f64::NAN));
            duck_cpu.push(r["cpu_seconds"].as_f64().unwrap_or(f64::NAN));
            pairs.push((label, run + 1, s, duck[run], cpu, duck_cpu[run]));
        }
        clear_progress();
        let (b, d) = (median(basalt), median(duck));
        let (bc, dc) = (median(basalt_cpu), median(duck_cpu));
        println!(
            "| {label} | {b:.2} | {:.0} | {d:.2} | {:.0} | {:.2}x | {bc:.2} | {dc:.2} | {:.2}x |",
            rows as f64 / b,
            rows as f64 / d,
            b / d,
            bc / dc
        );
    }
    if args.runs > 1 {
        println!();
        println!(
            "| Input | Run | Basalt s | DuckDB s | Basalt / DuckDB time | Basalt CPU s \
             | DuckDB CPU s |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for (label, run, b, d, bc, dc) in pairs {
            println!(
                "| {label} | {run} | {b:.2} | {d:.2} | {:.2}x | {bc:.2} | {dc:.2} |",
                b / d
            );
        }
    }
    peer.stop();
    if args.keep_files {
        std::fs::remove_dir_all(work.join("basalt")).ok();
        std::fs::remove_file(work.join("duckdb.db")).ok();
    } else {
        std::fs::remove_dir_all(&work).ok();
    }
    Ok(())
}
