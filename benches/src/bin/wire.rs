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
//! resident memory (VmHWM) of `basalt serve` during each method, reset before it, and its
//! resident memory (VmRSS) sampled every 100 ms during the first timed run of each method,
//! with the readings taken when 10 %, 50 % and 90 % of the rows had reached the client.
//!
//! Larger results than the loaded table: `--repeat K` reads the table K times in one query
//! (`SELECT ... FROM lineitem UNION ALL ...`, each input a streamed scan, and
//! `COPY (that query) TO STDOUT`), `--columns` picks the columns (fewer columns leave less
//! work to Python per row), `--stream` fetches through psycopg's `Cursor.stream` so the
//! client holds one chunk rather than the whole result, and `--no-postgres` leaves
//! PostgreSQL out. A 100-million-row run: `--rows 10000000 --repeat 10 --stream`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use basalt_benches::harness::{
    command_line, date_line, git_commit, human_bytes, machine_line, median, proc_status_kb, vm_hwm,
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
    /// Reads the table this many times in one query (UNION ALL), so the result has
    /// `--rows` times this many rows.
    #[arg(long, default_value_t = 1)]
    repeat: u64,
    /// The select list (and COPY's columns): `*` or lineitem's column names, comma-separated.
    #[arg(long, default_value = "*")]
    columns: String,
    /// Fetches with psycopg's `Cursor.stream` (chunks of `--chunk` rows) instead of a
    /// client-side cursor, which holds the whole result in the client before `fetchmany`.
    #[arg(long)]
    stream: bool,
    /// Leaves PostgreSQL out: Basalt alone, for its memory over a long result.
    #[arg(long)]
    no_postgres: bool,
    /// Skips the warm-up run of each method (and so the check of the COPY outputs).
    #[arg(long)]
    no_warm_up: bool,
}

/// Interval between two readings of the server's resident memory.
const RSS_SAMPLE_INTERVAL: Duration = Duration::from_millis(100);

/// Reads the resident memory (VmRSS) of a process every [`RSS_SAMPLE_INTERVAL`] on a thread of
/// its own until stopped.
struct RssSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<u64>>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(rss) = resident_memory(pid) {
                    samples.push(rss);
                }
                std::thread::sleep(RSS_SAMPLE_INTERVAL);
            }
            samples
        });
        RssSampler { stop, thread }
    }

    /// Stops the sampling; the readings in order.
    fn finish(self) -> Vec<u64> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// One method's memory figures over its first timed run on Basalt.
struct Memory {
    /// VmRSS just before the query was sent.
    before: u64,
    /// VmRSS when 10 %, 50 % and 90 % of the rows had arrived.
    at: [Option<u64>; 3],
    /// Every 100 ms reading during the run.
    samples: Vec<u64>,
    /// VmHWM over the method's runs (warm-up included), reset before them.
    hwm: u64,
}

/// Resets the peak resident memory (VmHWM) of process `pid` to its current resident memory.
fn reset_peak_memory(pid: u32) -> Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
        .with_context(|| format!("resetting the peak memory of process {pid}"))
}

/// The peak resident memory (VmHWM) of process `pid`, in bytes.
fn peak_memory(pid: u32) -> Result<u64> {
    vm_hwm(Some(pid)).with_context(|| format!("no VmHWM in /proc/{pid}/status"))
}

/// The resident memory (VmRSS) of process `pid`, in bytes.
fn resident_memory(pid: u32) -> Result<u64> {
    proc_status_kb(Some(pid), "VmRSS:").with_context(|| format!("no VmRSS in /proc/{pid}/status"))
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

/// What the methods run: the query, the COPY, and the rows both return.
struct Workload {
    select: String,
    copy: String,
    rows: u64,
    stream: bool,
    chunk: usize,
}

impl Workload {
    fn new(args: &Args) -> Workload {
        let one = format!("SELECT {} FROM lineitem", args.columns);
        let select = vec![one; args.repeat as usize].join(" UNION ALL ");
        let copy = if args.repeat == 1 && args.columns == "*" {
            "COPY lineitem TO STDOUT".to_string()
        } else {
            format!("COPY ({select}) TO STDOUT")
        };
        Workload {
            select,
            copy,
            rows: args.rows * args.repeat,
            stream: args.stream,
            chunk: args.chunk,
        }
    }

    /// The query as the report names it.
    fn shown(&self, copy: bool) -> String {
        let text = if copy { &self.copy } else { &self.select };
        let reads = text.matches(" FROM lineitem").count();
        match text.split_once(" UNION ALL ") {
            Some((first, _)) => {
                let first = first.trim_start_matches("COPY (");
                let union = format!("{first} UNION ALL ... ({reads} scans)");
                if copy {
                    format!("COPY ({union}) TO STDOUT")
                } else {
                    union
                }
            }
            None => text.clone(),
        }
    }
}

/// How a method fetches the table.
#[derive(Clone, Copy, PartialEq)]
enum Method {
    SelectText,
    SelectBinary,
    Copy,
}

/// Runs `method` once; with `rss_pid`, the peer reads that process's VmRSS at 10 %, 50 %
/// and 90 % of the rows.
fn fetch(
    peer: &mut Peer,
    dsn: &str,
    method: Method,
    work: &Workload,
    digest: bool,
    rss_pid: Option<u32>,
) -> Result<(Fetch, Value)> {
    let v = if method == Method::Copy {
        peer.call(json!({"op": "pg_copy_out", "dsn": dsn, "sql": work.copy,
            "digest": digest, "rss_pid": rss_pid, "expect": work.rows}))?
    } else {
        peer.call(json!({"op": "pg_select", "dsn": dsn, "sql": work.select,
            "chunk": work.chunk, "binary": method == Method::SelectBinary,
            "stream": work.stream, "rss_pid": rss_pid, "expect": work.rows}))?
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
    if args.rows == 0 || args.runs == 0 || args.chunk == 0 || args.repeat == 0 {
        bail!("--rows, --runs, --chunk and --repeat must be at least 1");
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
    let workload = Workload::new(args);
    let with_pg = !args.no_postgres;
    println!(
        "# Wire throughput: lineitem, {} rows{}",
        args.rows,
        if args.repeat > 1 {
            format!(
                " read {} times in one query ({} rows)",
                args.repeat, workload.rows
            )
        } else {
            String::new()
        }
    );
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
        "Timing: {} the median of {} timed runs{}",
        if args.no_warm_up {
            "no warm-up,"
        } else {
            "one warm-up per server and method, then"
        },
        args.runs,
        if with_pg { ", interleaved" } else { "" }
    );

    // The rows: lineitem's first `rows` rows, into Basalt and into a text file for PostgreSQL.
    let sf = ((args.rows as f64 / 6_000_000.0) * 1.02 * 100.0).ceil() / 100.0;
    let db_dir = work.join("basalt");
    std::fs::create_dir_all(pg_dir)?;
    let tbl = pg_dir.join("lineitem.tbl");
    let mut out = with_pg
        .then(|| File::create(&tbl).map(BufWriter::new))
        .transpose()?;
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
        if let Some(out) = out.as_mut() {
            for b in &take {
                tpch::write_delimited(out, Table::LineItem, b)?;
            }
        }
        progress(&format!(
            "loading lineitem into Basalt: {loaded}/{} rows",
            args.rows
        ));
        Ok(())
    })?;
    if let Some(mut out) = out {
        out.flush()?;
    }
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
    let _pg = if with_pg {
        let pg = start_postgres(&args.pg_bin, pg_dir, args.pg_port, &[])?;
        give_to_postgres(&tbl)?;
        Some(pg)
    } else {
        None
    };
    let basalt_dsn = format!("host=127.0.0.1 port={basalt_port} user=basalt dbname=dev");
    let pg_dsn = postgres::dsn(args.pg_port);

    let mut peer = Peer::start(&args.python)?;
    let v = peer.call(json!({"op": "pg_version", "dsn": basalt_dsn}))?;
    let basalt_version = v["version"].as_str().unwrap_or("?").to_string();
    if with_pg {
        let v = peer.call(json!({"op": "pg_version", "dsn": pg_dsn}))?;
        println!(
            "Client: psycopg {} (libpq {}); PostgreSQL: {}",
            v["psycopg"].as_str().unwrap_or("?"),
            v["libpq"],
            v["version"].as_str().unwrap_or("?")
        );
    } else {
        println!(
            "Client: psycopg {} (libpq {}); PostgreSQL not run (--no-postgres)",
            v["psycopg"].as_str().unwrap_or("?"),
            v["libpq"],
        );
    }
    println!("Basalt server: {basalt_version}");
    if with_pg {
        progress("PostgreSQL: loading lineitem");
        let ddl = lineitem_ddl("lineitem", false)?;
        peer.call(json!({"op": "pg_execute", "dsn": pg_dsn, "sql": ddl}))?;
        let r = peer.call(json!({"op": "pg_execute", "dsn": pg_dsn,
            "sql": format!("COPY lineitem FROM '{}' (DELIMITER '|')", tbl.display())}))?;
        let copy_in = r["seconds"].as_f64().unwrap_or(f64::NAN);
        let r = peer
            .call(json!({"op": "pg_execute", "dsn": pg_dsn, "sql": "VACUUM ANALYZE lineitem"}))?;
        clear_progress();
        println!(
            "PostgreSQL load: COPY from the text file {copy_in:.2} s, then VACUUM ANALYZE {:.2} s (default configuration)",
            r["seconds"].as_f64().unwrap_or(f64::NAN)
        );
        std::fs::remove_file(&tbl).ok();
    }
    println!();

    let mut servers = vec![("Basalt", basalt_dsn.as_str())];
    if with_pg {
        servers.push(("PostgreSQL", pg_dsn.as_str()));
    }
    let fetch_how = if args.stream {
        "streamed by psycopg's Cursor.stream"
    } else {
        "fetched by psycopg"
    };
    let methods = [
        (
            format!(
                "{}, {fetch_how} (text, chunks of {})",
                workload.shown(false),
                args.chunk
            ),
            Method::SelectText,
        ),
        (
            format!(
                "{}, {fetch_how} (binary, chunks of {})",
                workload.shown(false),
                args.chunk
            ),
            Method::SelectBinary,
        ),
        (
            format!("{}, read by psycopg's copy API", workload.shown(true)),
            Method::Copy,
        ),
    ];
    let mut rows_out = Vec::new();
    let mut memory = Vec::new();
    for (label, method) in &methods {
        let (label, method) = (label.as_str(), *method);
        let copy = method == Method::Copy;
        reset_peak_memory(basalt_pid)?;
        // Warm-up: every row arrives; COPY outputs are compared line by line, in any order.
        let mut digests = Vec::new();
        if !args.no_warm_up {
            for (name, dsn) in &servers {
                progress(&format!("{name}: {label}, warm-up"));
                let (f, v) = fetch(&mut peer, dsn, method, &workload, true, None)?;
                if f.rows != workload.rows {
                    bail!(
                        "{name}: {label} returned {} rows, expected {}",
                        f.rows,
                        workload.rows
                    );
                }
                digests.push(v["digest"].as_str().map(str::to_string));
            }
        }
        let mut times = [Vec::new(), Vec::new()];
        let mut bytes = [None, None];
        let mut sampled = None;
        for run in 0..args.runs {
            for (i, (name, dsn)) in servers.iter().enumerate() {
                progress(&format!("{name}: {label}, run {}/{}", run + 1, args.runs));
                // Basalt's first timed run is watched: VmRSS every 100 ms and at 10/50/90 %.
                let watch = i == 0 && run == 0;
                let before = resident_memory(basalt_pid)?;
                let sampler = watch.then(|| RssSampler::start(basalt_pid));
                let (f, v) = fetch(
                    &mut peer,
                    dsn,
                    method,
                    &workload,
                    false,
                    watch.then_some(basalt_pid),
                )?;
                if f.rows != workload.rows {
                    bail!(
                        "{name}: {label} returned {} rows, expected {}",
                        f.rows,
                        workload.rows
                    );
                }
                if let Some(sampler) = sampler {
                    let at = ["10", "50", "90"].map(|p| v["rss_at"][p].as_u64());
                    sampled = Some((before, at, sampler.finish()));
                }
                times[i].push(f.seconds);
                bytes[i] = f.bytes;
            }
        }
        let (before, at, samples) = sampled.context("no run watched")?;
        memory.push((
            label,
            Memory {
                before,
                at,
                samples,
                hwm: peak_memory(basalt_pid)?,
            },
        ));
        let same = (copy && with_pg && !args.no_warm_up)
            .then(|| digests[0].is_some() && digests[0] == digests[1]);
        rows_out.push((
            label,
            median(times[0].clone()),
            with_pg.then(|| median(times[1].clone())),
            bytes,
            same,
        ));
    }
    clear_progress();

    let n = workload.rows as f64;
    if with_pg {
        println!("| Fetch | Basalt (s) | Basalt rows/s | PostgreSQL (s) | PostgreSQL rows/s | Basalt/PostgreSQL time |");
        println!("|-------|-----------:|--------------:|---------------:|------------------:|-----------------------:|");
    } else {
        println!("| Fetch | Basalt (s) | Basalt rows/s |");
        println!("|-------|-----------:|--------------:|");
    }
    for (label, b, p, _, _) in &rows_out {
        match p {
            Some(p) => println!(
                "| {label} | {b:.2} | {:.0} | {p:.2} | {:.0} | {:.2} |",
                n / b,
                n / p,
                b / p
            ),
            None => println!("| {label} | {b:.2} | {:.0} |", n / b),
        }
    }
    println!();
    for (label, b, p, bytes, same) in &rows_out {
        match (bytes[0], p.zip(bytes[1])) {
            (Some(bb), Some((p, pb))) => println!(
                "- {label}: Basalt sent {} ({:.0} MB/s), PostgreSQL {} ({:.0} MB/s); the same lines (in any order): {}",
                human_bytes(bb),
                bb as f64 / 1e6 / b,
                human_bytes(pb),
                pb as f64 / 1e6 / p,
                match same {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "not compared (no warm-up)",
                }
            ),
            (Some(bb), None) => println!(
                "- {label}: Basalt sent {} ({:.0} MB/s)",
                human_bytes(bb),
                bb as f64 / 1e6 / b
            ),
            _ => {}
        }
    }
    println!();
    println!("Resident memory of basalt serve during the first timed run of each method (VmRSS read every {} ms, and when 10 %, 50 % and 90 % of the rows had reached the client; VmHWM over all the method's runs):", RSS_SAMPLE_INTERVAL.as_millis());
    println!();
    println!("| Fetch | before | at 10 % | at 50 % | at 90 % | min..max of the samples after the first tenth | peak (samples) | VmHWM | samples |");
    println!("|-------|-------:|--------:|--------:|--------:|--------------------:|---------------:|------:|--------:|");
    let shown = |b: Option<u64>| b.map(human_bytes).unwrap_or_else(|| "?".into());
    for (label, m) in &memory {
        let settled = &m.samples[m.samples.len() / 10..];
        let (lo, hi) = (settled.iter().copied().min(), settled.iter().copied().max());
        println!(
            "| {label} | {} | {} | {} | {} | {}..{} | {} | {} | {} |",
            human_bytes(m.before),
            shown(m.at[0]),
            shown(m.at[1]),
            shown(m.at[2]),
            shown(lo),
            shown(hi),
            shown(m.samples.iter().copied().max()),
            human_bytes(m.hwm),
            m.samples.len()
        );
    }
    peer.stop();
    drop(basalt);
    Ok(())
}
