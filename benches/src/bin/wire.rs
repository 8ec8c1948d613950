//! The wire throughput harness: a whole table read over the PostgreSQL protocol from the
//! `basalt` server and from PostgreSQL 15, by the same client (psycopg), in the same run.
//!
//! `cargo build --release -p basalt-server` first (the harness starts `target/release/basalt`),
//! then `cargo run --release -p basalt-benches --bin wire -- --rows 10000000`. It generates the
//! first `--rows` rows of TPC-H lineitem (16 columns: integers, decimals, CHAR, VARCHAR, dates),
//! appends them to a fresh Basalt data directory and starts `basalt serve` on it; it writes the
//! same rows as '|'-delimited text, initializes a PostgreSQL cluster in a temporary directory
//! (trust authentication, `--pg-port`, default 5436) and loads them there with COPY. Then it
//! times, interleaved and after one warm-up each, (a) `SELECT * FROM lineitem` executed and
//! fetched in full by psycopg (a client-side cursor, text format, rows converted to Python
//! values, `fetchmany` in chunks), (b) the same in the binary format (psycopg's binary cursor,
//! the extended protocol) and (c) `COPY lineitem TO STDOUT` read through psycopg's copy API,
//! and prints rows per second for both servers and Basalt's ratio. The warm-up checks that
//! both servers returned every row and that the COPY outputs hold the same lines (a table's
//! row order is not defined, so their order is not compared). It also reports the peak
//! resident memory (VmHWM) of `basalt serve` during each method, reset before it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use basalt_benches::harness::{
    command_line, date_line, git_commit, human_bytes, machine_line, median,
};
use basalt_benches::peers::{clear_progress, progress, target_dir, Peer};
use basalt_benches::postgres::{
    self, free_port, give_to_postgres, start_postgres, wait_for_port, Server, DEFAULT_PG_BIN,
};
use basalt_benches::storage::lineitem_ddl;
use basalt_benches::tpch::{self, Table};
use basalt_engine::Engine;
use clap::Parser;
use serde_json::{json, Value};

#[derive(Parser, Debug)]
#[command(
    about = "Rows per second over the PostgreSQL protocol: basalt serve beside PostgreSQL 15"
)]
struct Args {
    /// Rows of lineitem to load into both servers.
    #[arg(long, default_value_t = 10_000_000)]
    rows: u64,
    /// Timed runs per server and fetch method, after one warm-up; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Rows psycopg's `fetchmany` takes at a time.
    #[arg(long, default_value_t = 10_000)]
    chunk: usize,
    /// The port PostgreSQL listens on (127.0.0.1).
    #[arg(long, default_value_t = 5436)]
    pg_port: u16,
    /// PostgreSQL 15's bin directory (initdb, pg_ctl).
    #[arg(long, default_value = DEFAULT_PG_BIN)]
    pg_bin: PathBuf,
    /// The `basalt` server binary (default: target/release/basalt).
    #[arg(long)]
    basalt: Option<PathBuf>,
    /// Where Basalt's data directory goes (emptied first).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// The Python interpreter that creates the peers' virtual environment.
    #[arg(long, default_value = "python3")]
    python: String,
}

/// Resets the peak resident memory (VmHWM) of process `pid` to its current resident memory.
fn reset_peak_memory(pid: u32) -> Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
        .with_context(|| format!("resetting the peak memory of process {pid}"))
}

/// The peak resident memory (VmHWM) of process `pid`, in bytes.
fn peak_memory(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .with_context(|| format!("no VmHWM in /proc/{pid}/status"))?;
    Ok(kb * 1024)
}

fn start_basalt(exe: &Path, data: &Path, port: u16, log: &Path) -> Result<Server> {
    let log = File::create(log)?;
    let child = Command::new(exe)
        .arg("serve")
        .arg("--data-dir")
        .arg(data)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    let server = Server {
        child: Some(child),
        stop: None,
    };
    wait_for_port(port, "basalt serve")?;
    Ok(server)
}

/// One timed fetch's result.
struct Fetch {
    seconds: f64,
    rows: u64,
    bytes: Option<u64>,
}

/// How a method fetches the table.
#[derive(Clone, Copy, PartialEq)]
enum Method {
    SelectText,
    SelectBinary,
    Copy,
}

fn fetch(
    peer: &mut Peer,
    dsn: &str,
    method: Method,
    chunk: usize,
    digest: bool,
) -> Result<(Fetch, Value)> {
    let v = if method == Method::Copy {
        peer.call(
            json!({"op": "pg_copy_out", "dsn": dsn, "sql": "COPY lineitem TO STDOUT",
            "digest": digest}),
        )?
    } else {
        peer.call(
            json!({"op": "pg_select", "dsn": dsn, "sql": "SELECT * FROM lineitem",
            "chunk": chunk, "binary": method == Method::SelectBinary}),
        )?
    };
    Ok((
        Fetch {
            seconds: v["seconds"].as_f64().unwrap_or(f64::NAN),
            rows: v["rows"].as_u64().unwrap_or(0),
            bytes: v["bytes"].as_u64(),
        },
        v,
    ))
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.rows == 0 || args.runs == 0 || args.chunk == 0 {
        bail!("--rows, --runs and --chunk must be at least 1");
    }
    let basalt_exe = args
        .basalt
        .clone()
        .unwrap_or_else(|| target_dir().join("release/basalt"));
    let basalt_exe = basalt_exe.canonicalize().with_context(|| {
        format!(
            "{} does not exist: build it with cargo build --release -p basalt-server",
            basalt_exe.display()
        )
    })?;
    let work = args
        .work_dir
        .clone()
        .unwrap_or_else(|| target_dir().join("wire"));
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("emptying {}", work.display()))?;
    }
    std::fs::create_dir_all(&work)?;
    // PostgreSQL's cluster and the text file it loads live where its own user can read them.
    let pg_dir = std::env::temp_dir().join(format!("basalt-wire-pg-{}", std::process::id()));
    let result = run_all(&args, &basalt_exe, &work, &pg_dir);
    std::fs::remove_dir_all(&pg_dir).ok();
    std::fs::remove_dir_all(&work).ok();
    result
}

fn run_all(args: &Args, basalt_exe: &Path, work: &Path, pg_dir: &Path) -> Result<()> {
    println!("# Wire throughput: lineitem, {} rows", args.rows);
    println!();
    println!("{}", date_line());
    println!("{}", command_line("wire"));
    println!("{}", machine_line());
    println!(
        "Basalt {} ({}), server binary {}",
        basalt_engine::VERSION,
        git_commit().unwrap_or_else(|| "commit unknown".into()),
        basalt_exe.display()
    );
    println!(
        "Timing: one warm-up per server and method, then the median of {} timed runs, interleaved",
        args.runs
    );

    // The rows: lineitem's first `rows` rows, into Basalt and into a text file for PostgreSQL.
    let sf = ((args.rows as f64 / 6_000_000.0) * 1.02 * 100.0).ceil() / 100.0;
    let db_dir = work.join("basalt");
    std::fs::create_dir_all(pg_dir)?;
    let tbl = pg_dir.join("lineitem.tbl");
    let mut out = BufWriter::new(File::create(&tbl)?);
    let engine = Engine::open(&db_dir)?;
    let mut session = engine.session("basalt");
    session.run(&lineitem_ddl("lineitem", false)?)?;
    let mut loaded = 0u64;
    let mut append = Duration::ZERO;
    Table::LineItem.generate(sf, |batches| -> Result<()> {
        let mut take = Vec::new();
        for b in batches {
            let left = args.rows.saturating_sub(loaded) as usize;
            if left == 0 {
                break;
            }
            let b = if b.num_rows() > left {
                b.slice(0, left)
            } else {
                b
            };
            loaded += b.num_rows() as u64;
            take.push(b);
        }
        if take.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        session.append_batches("lineitem", &take)?;
        append += started.elapsed();
        for b in &take {
            tpch::write_delimited(&mut out, Table::LineItem, b)?;
        }
        progress(&format!(
            "loading lineitem into Basalt: {loaded}/{} rows",
            args.rows
        ));
        Ok(())
    })?;
    out.flush()?;
    drop(out);
    drop(session);
    drop(engine);
    clear_progress();
    if loaded != args.rows {
        bail!(
            "lineitem at SF {sf} has {loaded} rows, fewer than --rows {}",
            args.rows
        );
    }
    println!(
        "Basalt load: {loaded} rows in {:.2} s of append_batches (embedded, before the server starts)",
        append.as_secs_f64()
    );

    let basalt_port = free_port()?;
    let basalt = start_basalt(basalt_exe, &db_dir, basalt_port, &work.join("basalt.log"))?;
    let basalt_pid = basalt
        .child
        .as_ref()
        .map(Child::id)
        .context("basalt serve has no process")?;
    let _pg = start_postgres(&args.pg_bin, pg_dir, args.pg_port, &[])?;
    give_to_postgres(&tbl)?;
    let basalt_dsn = format!("host=127.0.0.1 port={basalt_port} user=basalt dbname=dev");
    let pg_dsn = postgres::dsn(args.pg_port);

    let mut peer = Peer::start(&args.python)?;
    let v = peer.call(json!({"op": "pg_version", "dsn": pg_dsn}))?;
    println!(
        "Client: psycopg {} (libpq {}); PostgreSQL: {}",
        v["psycopg"].as_str().unwrap_or("?"),
        v["libpq"],
        v["version"].as_str().unwrap_or("?")
    );
    let v = peer.call(json!({"op": "pg_version", "dsn": basalt_dsn}))?;
    println!("Basalt server: {}", v["version"].as_str().unwrap_or("?"));
    progress("PostgreSQL: loading lineitem");
    let ddl = lineitem_ddl("lineitem", false)?;
    peer.call(json!({"op": "pg_execute", "dsn": pg_dsn, "sql": ddl}))?;
    let r = peer.call(json!({"op": "pg_execute", "dsn": pg_dsn,
        "sql": format!("COPY lineitem FROM '{}' (DELIMITER '|')", tbl.display())}))?;
    let copy_in = r["seconds"].as_f64().unwrap_or(f64::NAN);
    let r =
        peer.call(json!({"op": "pg_execute", "dsn": pg_dsn, "sql": "VACUUM ANALYZE lineitem"}))?;
    clear_progress();
    println!(
        "PostgreSQL load: COPY from the text file {copy_in:.2} s, then VACUUM ANALYZE {:.2} s (default configuration)",
        r["seconds"].as_f64().unwrap_or(f64::NAN)
    );
    std::fs::remove_file(&tbl).ok();
    println!();

    let servers = [
        ("Basalt", basalt_dsn.as_str()),
        ("PostgreSQL", pg_dsn.as_str()),
    ];
    let methods = [
        (
            "SELECT * FROM lineitem, fetched by psycopg (text, fetchmany)",
            Method::SelectText,
        ),
        (
            "SELECT * FROM lineitem, fetched by psycopg (binary, fetchmany)",
            Method::SelectBinary,
        ),
        (
            "COPY lineitem TO STDOUT, read by psycopg's copy API",
            Method::Copy,
        ),
    ];
    let mut rows_out = Vec::new();
    let mut peaks = Vec::new();
    for (label, method) in methods {
        let copy = method == Method::Copy;
        reset_peak_memory(basalt_pid)?;
        // Warm-up: every row arrives; COPY outputs are compared line by line, in any order.
        let mut digests = Vec::new();

        for (name, dsn) in servers {
            progress(&format!("{name}: {label}, warm-up"));
            let (f, v) = fetch(&mut peer, dsn, method, args.chunk, true)?;
            if f.rows != args.rows {
                bail!(
                    "{name}: {label} returned {} rows, expected {}",
                    f.rows,
                    args.rows
                );
            }
            digests.push(v["digest"].as_str().map(str::to_string));
        }
        let mut times = [Vec::new(), Vec::new()];
        let mut bytes = [None, None];
        for run in 0..args.runs {
            for (i, (name, dsn)) in servers.iter().enumerate() {
                progress(&format!("{name}: {label}, run {}/{}", run + 1, args.runs));
                let (f, _) = fetch(&mut peer, dsn, method, args.chunk, false)?;
                times[i].push(f.seconds);
                bytes[i] = f.bytes;
            }
        }
        peaks.push((label, peak_memory(basalt_pid)?));
        let same = copy.then(|| digests[0].is_some() && digests[0] == digests[1]);
        rows_out.push((
            label,
            median(times[0].clone()),
            median(times[1].clone()),
            bytes,
            same,
        ));
    }
    clear_progress();

    println!("| Fetch | Basalt (s) | Basalt rows/s | PostgreSQL (s) | PostgreSQL rows/s | Basalt/PostgreSQL time |");
    println!("|-------|-----------:|--------------:|---------------:|------------------:|-----------------------:|");
    let n = args.rows as f64;
    for (label, b, p, _, _) in &rows_out {
        println!(
            "| {label} | {b:.2} | {:.0} | {p:.2} | {:.0} | {:.2} |",
            n / b,
            n / p,
            b / p
        );
    }
    println!();
    for (label, b, p, bytes, same) in &rows_out {
        if let (Some(bb), Some(pb)) = (bytes[0], bytes[1]) {
            println!(
                "- {label}: Basalt sent {} ({:.0} MB/s), PostgreSQL {} ({:.0} MB/s); the same lines (in any order): {}",
                human_bytes(bb),
                bb as f64 / 1e6 / b,
                human_bytes(pb),
                pb as f64 / 1e6 / p,
                if *same == Some(true) {
                    "yes"
                } else {
                    "no"
                }
            );
        }
    }
    println!();
    for (label, peak) in &peaks {
        println!(
            "- {label}: peak resident memory of basalt serve {}",
            human_bytes(*peak)
        );
    }
    peer.stop();
    Ok(())
}
