//! `basalt`: the Basalt server binary.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use basalt_engine::{Engine, EngineOptions};
use basalt_server::auth::{DATABASE, SUPERUSER};
use basalt_server::ServerConfig;
use clap::{Parser, Subcommand};

/// Analytic queries allocate and free large arrays per segment; mimalloc reuses them where
/// the system allocator would map and unmap fresh pages each time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Longest the process waits, after the server has shut down, for statements still running on
/// their threads before it exits anyway.
const EXIT_WAIT_MAX: Duration = Duration::from_secs(5);

/// Basalt: a columnar data warehouse that speaks the PostgreSQL wire protocol.
///
/// `basalt serve` runs the server; connect with psql or any PostgreSQL driver to database
/// `dev` as user `basalt`. Without a password the server trusts every connection and so
/// listens on loopback only; see `basalt serve --help`.
#[derive(Parser, Debug)]
#[command(name = "basalt", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve a data directory over the PostgreSQL wire protocol.
    ///
    /// Clients connect to database `dev` as user `basalt` (a superuser). Without a password
    /// every connection is trusted, so the server then listens on a loopback address only;
    /// with a password (--password-file or BASALT_PASSWORD) every connection authenticates
    /// with SCRAM-SHA-256 and any address may be used. Stop with Ctrl-C or SIGTERM: running
    /// statements finish, then connections close.
    Serve(ServeArgs),
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    basalt serve\n  \
    basalt serve --data-dir /var/lib/basalt --listen 0.0.0.0:5439 --password-file /etc/basalt/password\n  \
    psql -h 127.0.0.1 -p 5439 -U basalt dev")]
struct ServeArgs {
    /// Data directory; created on first start.
    #[arg(long, value_name = "DIR", default_value = "./basalt-data")]
    data_dir: PathBuf,

    /// Address to listen on. Without a password only a loopback address (127.0.0.1, ::1,
    /// localhost) is accepted.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:5439")]
    listen: String,

    /// File whose first line (trimmed) is the password of user `basalt`. Without this flag the
    /// environment variable BASALT_PASSWORD sets the password; with neither, connections are
    /// trusted.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,

    /// PEM file with the server's TLS certificate chain; with --tls-key, clients may encrypt
    /// their connections (sslmode=require).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// PEM file with the private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Refuse connections that are not encrypted (needs --tls-cert and --tls-key).
    #[arg(long, requires = "tls_cert")]
    require_tls: bool,

    /// Seconds a client may take to connect and authenticate before it is dropped.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=600))]
    authentication_timeout: u64,

    /// Most client connections served at once (PostgreSQL's max_connections); a client
    /// beyond it is refused with "sorry, too many clients already" (53300).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_connections: u32,

    /// Most statements executing at once; further ones wait in a first-come, first-served
    /// queue (cancel requests and statement_timeout still apply while they wait).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    max_concurrent_queries: u16,

    /// The most memory one query may hold, as in `SET query_memory_limit` (`8GB`, `512MB`; 0
    /// for no limit): each session starts with it. Default: half the machine's memory.
    #[arg(long, value_name = "BYTES", value_parser = parse_memory_limit)]
    query_memory_limit: Option<u64>,
}

/// The environment variable that sets the password when --password-file is not given.
const PASSWORD_ENV: &str = "BASALT_PASSWORD";

fn main() -> ExitCode {
    basalt_engine::allocator::keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("basalt: {error:#}");
            // A refused configuration is a usage error; anything else a failure.
            let usage = matches!(
                error.downcast_ref::<basalt_server::Error>(),
                Some(
                    basalt_server::Error::PasswordRequired { .. }
                        | basalt_server::Error::EmptyPassword
                        | basalt_server::Error::Tls { .. }
                )
            );
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let listen = resolve(&args.listen)?;
    let password = match &args.password_file {
        Some(path) => Some(read_password(path)?),
        None => std::env::var(PASSWORD_ENV).ok(),
    };
    // Child processes need not inherit the password. Still single-threaded here, so changing
    // the environment is sound.
    std::env::remove_var(PASSWORD_ENV);
    let mut config = ServerConfig::new(listen);
    config.password = password;
    config.startup_wait_max = Duration::from_secs(args.authentication_timeout);
    config.connections_max = usize::try_from(args.max_connections).unwrap_or(usize::MAX);
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config.tls = Some(basalt_server::tls::acceptor(cert, key)?);
    }
    config.require_tls = args.require_tls;
    // Refuse a bad configuration before touching the data directory.
    config.check()?;
    std::fs::create_dir_all(&args.data_dir).with_context(|| {
        format!(
            "could not create data directory {}",
            args.data_dir.display()
        )
    })?;
    let options = EngineOptions {
        max_concurrent_queries: usize::from(args.max_concurrent_queries),
        query_memory_limit: args.query_memory_limit,
    };
    let engine = Engine::open_with(&args.data_dir, options)
        .with_context(|| format!("could not open data directory {}", args.data_dir.display()))?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("basalt-io")
        .build()
        .context("could not start the I/O runtime")?;
    let served = runtime.block_on(async {
        let server = basalt_server::start(engine, config).await?;
        let addr = server.local_addr();
        // A wildcard address is reachable locally through loopback.
        let host = match addr.ip() {
            ip if ip.is_unspecified() => "localhost".to_owned(),
            ip => ip.to_string(),
        };
        say(&format!(
            "Basalt {} listening on {} (data: {}); connect with: psql -h {host} -p {} -U {SUPERUSER} {DATABASE}",
            env!("CARGO_PKG_VERSION"),
            addr,
            args.data_dir.display(),
            addr.port(),
        ));
        wait_for_signal().await?;
        say("Basalt shutting down");
        server.shutdown().await;
        anyhow::Ok(())
    });
    // Statements still running on blocking threads after a bounded shutdown do not hold the
    // process.
    runtime.shutdown_timeout(EXIT_WAIT_MAX);
    served
}

/// `HOST:PORT`, where HOST may be a name such as `localhost`.
/// `--query-memory-limit`: an amount of memory with PostgreSQL's units (`8GB`, `512MB`).
fn parse_memory_limit(text: &str) -> Result<u64, String> {
    basalt_engine::settings::parse_memory(text)
        .ok_or_else(|| format!("{text:?} is not an amount of memory such as 8GB or 512MB"))
}

fn resolve(listen: &str) -> anyhow::Result<SocketAddr> {
    if let Ok(addr) = listen.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let mut addrs = listen
        .to_socket_addrs()
        .with_context(|| format!("--listen {listen:?} is not HOST:PORT"))?;
    addrs
        .next()
        .ok_or_else(|| anyhow!("--listen {listen:?} resolves to no address"))
}

fn read_password(path: &PathBuf) -> anyhow::Result<String> {
    let mut raw = std::fs::read(path)
        .with_context(|| format!("could not read password file {}", path.display()))?;
    let first_line = raw.split(|b| *b == b'\n').next().unwrap_or_default();
    let password = std::str::from_utf8(first_line)
        .map(|line| line.trim().to_owned())
        .with_context(|| format!("password file {} is not UTF-8", path.display()));
    // Keep no stray copy of the file's contents.
    raw.fill(0);
    std::hint::black_box(&raw);
    let password = password?;
    if password.is_empty() {
        bail!("password file {} has an empty first line", path.display());
    }
    Ok(password)
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
async fn wait_for_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("could not listen for SIGTERM")?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted.context("could not listen for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("could not listen for Ctrl-C")?;
    Ok(())
}

/// Prints a status line. A closed stdout (the terminal or pipe went away) must not stop the
/// server, so write errors are ignored.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
