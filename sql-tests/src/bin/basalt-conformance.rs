//! `basalt-conformance DIR [--wire] [--min-passed N | --baseline FILE]`: runs every `.slt` file
//! under DIR on a fresh database, record by record, and prints how many records pass per file and
//! in total. Exits non-zero when the total falls below the minimum.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use basalt_sql_tests::conformance::{read_baseline, run_child_file, run_corpus, CorpusOptions};
use basalt_sql_tests::convention::Convention;
use basalt_sql_tests::database::Mode;
use clap::{Parser, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "basalt-conformance",
    about = "Counts the sqllogictest records Basalt passes, per file and in total"
)]
struct Args {
    /// A directory searched recursively for .slt files, or one .slt file.
    #[arg(required_unless_present = "child_file")]
    dir: Option<PathBuf>,

    /// Run the statements over the PostgreSQL wire protocol (a server in this process) instead
    /// of the embedded engine.
    #[arg(long)]
    wire: bool,

    /// Fail unless at least this many records pass.
    #[arg(long, conflicts_with = "baseline")]
    min_passed: Option<u64>,

    /// Fail unless at least as many records pass as the number in this file.
    #[arg(long)]
    baseline: Option<PathBuf>,

    /// Write the total passed into the --baseline file when it is higher than the number there.
    #[arg(long, requires = "baseline")]
    update_baseline: bool,

    /// How values are printed: sqlite's corpus conventions (`I` integers, `R` with three
    /// decimals) or PostgreSQL's text output (Basalt's own tests).
    #[arg(long, value_enum, default_value_t = ConventionArg::Sqlite)]
    convention: ConventionArg,

    /// A statement still running after this many seconds fails, and the rest of its file is not
    /// run.
    #[arg(long, default_value_t = 20)]
    timeout_secs: u64,

    /// Files run at the same time.
    #[arg(long, default_value_t = 1)]
    jobs: usize,

    /// Print why each failed record failed.
    #[arg(long, short)]
    verbose: bool,

    /// Internal: run one file and report each record's outcome on stdout.
    #[arg(long, hide = true)]
    child_file: Option<PathBuf>,

    /// Internal: the mode of a --child-file run.
    #[arg(long, hide = true, value_enum, default_value_t = ModeArg::Embedded)]
    mode: ModeArg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ConventionArg {
    Sqlite,
    Postgres,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ModeArg {
    Embedded,
    Wire,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let convention = match args.convention {
        ConventionArg::Sqlite => Convention::Sqlite,
        ConventionArg::Postgres => Convention::Postgres,
    };
    let timeout = Duration::from_secs(args.timeout_secs.max(1));
    if let Some(file) = &args.child_file {
        let mode = match args.mode {
            ModeArg::Embedded => Mode::Embedded,
            ModeArg::Wire => Mode::Wire,
        };
        return run_child_file(file, mode, convention, timeout);
    }
    match run(&args, convention, timeout) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("basalt-conformance: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args, convention: Convention, timeout: Duration) -> anyhow::Result<ExitCode> {
    let Some(root) = args.dir.clone() else {
        anyhow::bail!("no corpus directory given");
    };
    let minimum = match (&args.baseline, args.min_passed) {
        (Some(path), _) => Some(read_baseline(path)?),
        (None, n) => n,
    };
    let options = CorpusOptions {
        root,
        mode: if args.wire {
            Mode::Wire
        } else {
            Mode::Embedded
        },
        convention,
        statement_timeout: timeout,
        jobs: args.jobs,
    };
    let verbose = args.verbose;
    let totals = run_corpus(&options, |file| {
        println!("{}", file.summary());
        if verbose {
            for failure in &file.failures {
                println!("    {}", failure.replace('\n', "\n    "));
            }
        }
    })?;
    print!("total: {} passed, {} failed", totals.passed, totals.failed);
    if totals.skipped > 0 {
        print!(", {} skipped", totals.skipped);
    }
    println!();

    let Some(minimum) = minimum else {
        return Ok(ExitCode::SUCCESS);
    };
    if totals.passed < minimum {
        println!(
            "FAILED: {} records passed, fewer than the {minimum} required",
            totals.passed
        );
        return Ok(ExitCode::FAILURE);
    }
    match &args.baseline {
        Some(path) if totals.passed > minimum && args.update_baseline => {
            std::fs::write(path, format!("{}\n", totals.passed))?;
            println!(
                "baseline {} raised from {minimum} to {}",
                path.display(),
                totals.passed
            );
        }
        Some(path) if totals.passed > minimum => println!(
            "{} records passed, more than the baseline {minimum}: raise it with --update-baseline \
             (or write {} into {})",
            totals.passed,
            totals.passed,
            path.display()
        ),
        _ => println!("ok: at least {minimum} records passed"),
    }
    Ok(ExitCode::SUCCESS)
}
