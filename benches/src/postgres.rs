//! A throwaway PostgreSQL 15 cluster for the harnesses that run PostgreSQL beside Basalt (the
//! wire throughput harness and the TPC-H harness's `--compare`): `initdb` in a directory of its
//! own (trust authentication, UTF8, C locale), started with `pg_ctl` on its own port on
//! 127.0.0.1 with the settings the harness asks for, and stopped when its [`Server`] is dropped.
//! As root, PostgreSQL's tools run as the `postgres` user (PostgreSQL refuses to run as root),
//! so the directory must be one that user can reach, such as one under the system's temporary
//! directory.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Where Debian's `postgresql-15` package installs PostgreSQL's programs.
pub const DEFAULT_PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A server process, stopped when dropped.
pub struct Server {
    /// A server the harness spawned itself (killed when dropped).
    pub child: Option<Child>,
    /// For PostgreSQL: `pg_ctl stop` instead of a kill.
    pub stop: Option<Command>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(cmd) = self.stop.as_mut() {
            let _ = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits until something accepts TCP connections on `port` of 127.0.0.1.
pub fn wait_for_port(port: u16, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{what} does not accept connections on port {port} after 60 s")
}

/// A TCP port of 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Whether the harness runs as root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A PostgreSQL command, run as the `postgres` user when the harness runs as root.
fn pg_command(bin: &Path, tool: &str, as_postgres: bool) -> Command {
    let exe = bin.join(tool);
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(exe);
        c
    } else {
        Command::new(exe)
    }
}

/// Runs `cmd`, failing with its standard error when it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Why PostgreSQL cannot run from `bin`, when its programs are not there.
pub fn missing(bin: &Path) -> Option<String> {
    (!bin.join("initdb").exists() || !bin.join("pg_ctl").exists()).then(|| {
        format!(
            "PostgreSQL 15 is not installed in {} (apt-get install -y postgresql-15, or --pg-bin)",
            bin.display()
        )
    })
}

/// Makes `path` the `postgres` user's when the harness runs as root, so the server can read it.
pub fn give_to_postgres(path: &Path) -> Result<()> {
    if is_root() {
        run(Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path))?;
    }
    Ok(())
}

/// Initializes a cluster in `dir/data` and starts it on `port`, with `settings` as `-c
/// name=value` options (values without blanks); its log goes to `dir/postgres.log`.
pub fn start_postgres(
    bin: &Path,
    dir: &Path,
    port: u16,
    settings: &[(&str, String)],
) -> Result<Server> {
    if let Some(why) = missing(bin) {
        bail!("{why}");
    }
    if TcpStream::connect(("127.0.0.1", port)).is_ok() {
        bail!("port {port} is taken; choose another with --pg-port");
    }
    let root = is_root();
    std::fs::create_dir_all(dir)?;
    give_to_postgres(dir)?;
    let data = dir.join("data");
    run(pg_command(bin, "initdb", root).arg("-D").arg(&data).args([
        "-A",
        "trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    ]))?;
    let mut options = format!(
        "-p {port} -c listen_addresses=127.0.0.1 -k {}",
        dir.display()
    );
    for (name, value) in settings {
        options.push_str(&format!(" -c {name}={value}"));
    }
    run(pg_command(bin, "pg_ctl", root)
        .arg("-D")
        .arg(&data)
        .args(["-o", &options, "-l"])
        .arg(dir.join("postgres.log"))
        .args(["-w", "start"]))?;
    let mut stop = pg_command(bin, "pg_ctl", root);
    stop.arg("-D").arg(&data).args(["-m", "fast", "-w", "stop"]);
    let server = Server {
        child: None,
        stop: Some(stop),
    };
    wait_for_port(port, "PostgreSQL")?;
    Ok(server)
}

/// A libpq connection string for the cluster [`start_postgres`] started on `port`.
pub fn dsn(port: u16) -> String {
    format!("host=127.0.0.1 port={port} user=postgres dbname=postgres")
}
