//! Conformance runs: how many records of a corpus of `.slt` files (ours, or another engine's)
//! Basalt gets right.
//!
//! Unlike a test, a conformance run does not stop at the first mismatch: it runs every record of
//! every file and counts. Each file runs in a child process of its own (the same binary, with
//! [`CHILD_FLAG`]) on a fresh database:
//!
//! ```text
//!  parent: for each file ──spawn──> child: parse, open a fresh database, run records one by one
//!     ^                                 |
//!     └──── "@@slt pass|fail|skip" ─────┘  one line per record on stdout
//! ```
//!
//! A statement that runs past its timeout makes the child give up the rest of its file and exit,
//! which also stops the runaway statement; an engine crash only loses the file it happened in.
//! Records the child never reported count as failed.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use anyhow::Context;
use sqllogictest::{DefaultColumnType, QueryExpect, Record, RecordOutput, Runner};

use crate::convention::Convention;
use crate::database::{ConnectionOptions, FreshDatabase, Mode};
use crate::files::{display_name, find_slt_files};
use crate::harness::column_count_validator;

/// The hidden command-line flag that makes the conformance binary run one file as a child.
pub const CHILD_FLAG: &str = "--child-file";

/// Prefix of the child's protocol lines (anything else on its stdout is passed through).
const LINE_PREFIX: &str = "@@slt ";

/// Extra time the parent grants a child beyond the statement timeout before it kills it
/// (covers opening the database and a child whose own timer cannot fire).
const CHILD_GRACE: Duration = Duration::from_secs(60);

/// What to run and how.
#[derive(Clone, Debug)]
pub struct CorpusOptions {
    /// A directory searched recursively for `.slt` files, or one file.
    pub root: PathBuf,
    pub mode: Mode,
    pub convention: Convention,
    pub statement_timeout: Duration,
    /// Files run at the same time.
    pub jobs: usize,
}

/// The outcome of one file.
#[derive(Clone, Debug, Default)]
pub struct FileReport {
    /// The path relative to the corpus root.
    pub name: String,
    pub passed: u64,
    pub failed: u64,
    /// Records left out by `skipif` / `onlyif`.
    pub skipped: u64,
    /// One entry per failed record: where, and why.
    pub failures: Vec<String>,
    /// Why the file stopped early, if it did.
    pub aborted: Option<String>,
}

impl FileReport {
    /// `select1.slt: 1021 passed, 12 failed`, with skipped records and an early stop if any.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} passed, {} failed",
            self.name, self.passed, self.failed
        );
        if self.skipped > 0 {
            s.push_str(&format!(", {} skipped", self.skipped));
        }
        if let Some(why) = &self.aborted {
            s.push_str(&format!(" (stopped early: {why})"));
        }
        s
    }
}

/// Totals over a corpus.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

/// Runs every file of the corpus, calling `report` for each file in path order, and returns the
/// totals.
pub fn run_corpus(
    options: &CorpusOptions,
    mut report: impl FnMut(&FileReport),
) -> anyhow::Result<Totals> {
    let files = find_slt_files(&options.root)?;
    anyhow::ensure!(
        !files.is_empty(),
        "no .slt files under {}",
        options.root.display()
    );
    let exe = std::env::current_exe().context("cannot find the conformance binary")?;
    let files = Arc::new(files);
    let next = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = mpsc::channel::<(usize, FileReport)>();
    let workers: Vec<_> = (0..options.jobs.max(1).min(files.len()))
        .map(|_| {
            let (files, next, done_tx) = (files.clone(), next.clone(), done_tx.clone());
            let (options, exe) = (options.clone(), exe.clone());
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(path) = files.get(i) else { break };
                let name = display_name(&options.root, path);
                let file_report = run_child(&exe, path, name, &options);
                if done_tx.send((i, file_report)).is_err() {
                    break;
                }
            })
        })
        .collect();
    drop(done_tx);

    // Report in path order whatever order the files finish in.
    let mut pending: Vec<Option<FileReport>> = vec![None; files.len()];
    let mut printed = 0;
    let mut totals = Totals::default();
    for (i, file_report) in done_rx {
        pending[i] = Some(file_report);
        while let Some(Some(file_report)) = pending.get_mut(printed).map(Option::take) {
            totals.passed += file_report.passed;
            totals.failed += file_report.failed;
            totals.skipped += file_report.skipped;
            report(&file_report);
            printed += 1;
        }
    }
    for worker in workers {
        let _ = worker.join();
    }
    anyhow::ensure!(printed == files.len(), "a worker thread stopped early");
    Ok(totals)
}

/// The arguments that make the conformance binary run `path` as a child.
fn child_args(path: &Path, options: &CorpusOptions) -> Vec<String> {
    vec![
        CHILD_FLAG.to_string(),
        path.display().to_string(),
        "--mode".to_string(),
        options.mode.name().to_string(),
        "--convention".to_string(),
        match options.convention {
            Convention::Postgres => "postgres",
            Convention::Sqlite => "sqlite",
        }
        .to_string(),
        "--timeout-secs".to_string(),
        options.statement_timeout.as_secs().to_string(),
    ]
}

fn run_child(exe: &Path, path: &Path, name: String, options: &CorpusOptions) -> FileReport {
    let mut file_report = FileReport {
        name,
        ..FileReport::default()
    };
    let spawned = Command::new(exe)
        .args(child_args(path, options))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            file_report.failed = 1;
            file_report.aborted = Some(format!("cannot start a child process: {e}"));
            return file_report;
        }
    };
    let lines = read_lines(&mut child);
    let mut expected: Option<u64> = None;
    let mut finished = false;
    let patience = options.statement_timeout + CHILD_GRACE;
    loop {
        let line = match lines.recv_timeout(patience) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                file_report.aborted =
                    Some(format!("no progress for {} s, killed", patience.as_secs()));
                break;
            }
        };
        let Some(message) = line.strip_prefix(LINE_PREFIX) else {
            // Not ours: pass it on.
            println!("{line}");
            continue;
        };
        let (word, rest) = message.split_once(' ').unwrap_or((message, ""));
        match word {
            "records" => expected = rest.parse().ok(),
            "pass" => file_report.passed += 1,
            "skip" => file_report.skipped += 1,
            "fail" => {
                file_report.failed += 1;
                file_report.failures.push(unescape(rest));
            }
            "abort" => file_report.aborted = Some(unescape(rest)),
            "done" => finished = true,
            _ => {}
        }
    }
    let status = child.wait();
    if !finished && file_report.aborted.is_none() {
        file_report.aborted = Some(match status {
            Ok(status) => format!("the child process ended without finishing ({status})"),
            Err(e) => format!("the child process was lost: {e}"),
        });
    }
    // Records never reported (the child stopped early) failed.
    let reported = file_report.passed + file_report.failed + file_report.skipped;
    match expected {
        Some(n) => file_report.failed += n.saturating_sub(reported),
        None if reported == 0 => file_report.failed = 1,
        None => {}
    }
    file_report
}

/// The child's stdout, line by line, on a channel (so the parent can wait with a timeout).
fn read_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The child's side: runs every record of the file at `path` on a fresh database and writes one
/// protocol line per record to stdout.
pub fn run_child_file(
    path: &Path,
    mode: Mode,
    convention: Convention,
    statement_timeout: Duration,
) -> ExitCode {
    let emit = |line: String| {
        let mut out = std::io::stdout().lock();
        // A parent that stopped listening leaves nobody to tell.
        let _ = writeln!(out, "{LINE_PREFIX}{line}");
        let _ = out.flush();
    };
    let records = match sqllogictest::parse_file::<DefaultColumnType>(path) {
        Ok(records) => records,
        Err(e) => {
            emit("records 1".into());
            emit(format!("fail {}", escape(&format!("cannot parse: {e}"))));
            emit("done".into());
            return ExitCode::SUCCESS;
        }
    };
    let runnable = records
        .iter()
        .take_while(|r| !matches!(r, Record::Halt { .. }))
        .filter(|r| matches!(r, Record::Statement { .. } | Record::Query { .. }))
        .count();
    emit(format!("records {runnable}"));

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            emit(format!(
                "abort {}",
                escape(&format!("cannot start a runtime: {e}"))
            ));
            return ExitCode::FAILURE;
        }
    };
    let options = ConnectionOptions::new(convention, statement_timeout);
    let finished = runtime.block_on(async {
        let database = match FreshDatabase::open(mode, options.clone()).await {
            Ok(database) => database,
            Err(e) => {
                emit(format!("abort {}", escape(&format!("{e:#}"))));
                return false;
            }
        };
        let mut runner = Runner::new(database.connector());
        runner.with_column_validator(column_count_validator);
        // Basalt follows PostgreSQL: `skipif postgresql` / `onlyif postgresql` apply to it.
        runner.add_label("postgresql");
        runner.add_label("basalt");
        runner.add_label(mode.name());
        let mut finished = true;
        for record in records {
            let line = match &record {
                Record::Halt { .. } => break,
                Record::Statement { loc, .. } | Record::Query { loc, .. } => Some(loc.line()),
                _ => None,
            };
            options.hint.set(match &record {
                Record::Query {
                    expected: QueryExpect::Results { types, .. },
                    ..
                } => Some(types.clone()),
                _ => None,
            });
            let outcome = runner.run_async(record).await;
            if let Some(line) = line {
                match outcome {
                    Ok(RecordOutput::Nothing) => emit("skip".into()),
                    Ok(_) => emit("pass".into()),
                    Err(e) => emit(format!(
                        "fail {}",
                        escape(&format!("line {line}: {}", e.kind().display(false)))
                    )),
                }
            }
            if options.has_timed_out() {
                emit(format!(
                    "abort {}",
                    escape("a statement timed out; the rest of the file was not run")
                ));
                finished = false;
                break;
            }
        }
        runner.shutdown_async().await;
        drop(runner);
        // A timed-out statement may keep the database busy; do not wait long for it.
        let _ = tokio::time::timeout(Duration::from_secs(5), database.close()).await;
        finished
    });
    if finished {
        emit("done".into());
    }
    // Exiting (rather than returning) stops any statement still running on another thread.
    std::process::exit(0)
}

/// Reads a baseline file: the first line that is an integer (lines starting with `#` are
/// comments).
pub fn read_baseline(path: &Path) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the baseline {}", path.display()))?;
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(|l| l.parse().ok())
        .with_context(|| format!("{} holds no number", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Messages with newlines and backslashes survive the one-line protocol.
    #[test]
    fn escape_round_trips() {
        for s in ["plain", "two\nlines", "back\\slash\\n", "", "\\"] {
            assert_eq!(unescape(&escape(s)), s);
            assert!(!escape(s).contains('\n'));
        }
    }

    // Comments and blank lines before the number are skipped.
    #[test]
    fn baseline_skips_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.passed");
        std::fs::write(&path, "# passing records\n\n1234\n").unwrap();
        assert_eq!(read_baseline(&path).unwrap(), 1234);
        std::fs::write(&path, "# nothing\n").unwrap();
        assert!(read_baseline(&path).is_err());
    }

    // The summary line names the file and its counts.
    #[test]
    fn summary_line() {
        let mut r = FileReport {
            name: "select1.slt".into(),
            passed: 1021,
            failed: 12,
            ..FileReport::default()
        };
        assert_eq!(r.summary(), "select1.slt: 1021 passed, 12 failed");
        r.skipped = 3;
        assert_eq!(
            r.summary(),
            "select1.slt: 1021 passed, 12 failed, 3 skipped"
        );
    }
}
