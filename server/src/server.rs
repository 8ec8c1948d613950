//! The listener: configuration, the accept loop, each connection's message loop, and shutdown.
//!
//! ```text
//!  start() --bind--> accept loop --spawn--> connection task (one per client)
//!                       |                      message loop: startup, queries, ...
//!  shutdown() --flag--> +-- stop accepting     closes between statements with FATAL 57P01
//!                       +-- wait up to shutdown_wait_max for connections, then abort them
//! ```

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use basalt_engine::Engine;
use futures::{FutureExt, SinkExt, StreamExt};
use pgwire::api::auth::AuthDriver;
use pgwire::api::{ClientInfo, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::server::{negotiate_tls, process_error, process_message};
use pgwire::tokio::TlsAcceptor;
use tokio::io::Interest;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{sleep, sleep_until, timeout, Instant};

use crate::auth::{Auth, ServerParameters};
use crate::backend::Backend;
use crate::connection::{Connection, Shared};
use crate::sqlstate::{code, SqlError};

/// How to run a server.
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port (see [`RunningServer::local_addr`]).
    pub listen: SocketAddr,
    /// The password of user `basalt`. `None` trusts every connection, which [`start`] allows
    /// on a loopback address only; with a password every connection uses SCRAM-SHA-256.
    pub password: Option<String>,
    /// Most connections served at once; more are refused with `53300`.
    pub connections_max: usize,
    /// Longest a client may take from connecting to finishing authentication (PostgreSQL's
    /// `authentication_timeout`); a client that stops mid-handshake is dropped after it.
    pub startup_wait_max: Duration,
    /// Encrypts connections that ask for it (SSLRequest, or PostgreSQL 17's direct TLS).
    pub tls: Option<TlsAcceptor>,
    /// Refuses connections that are not encrypted (needs `tls`).
    pub require_tls: bool,
    /// Longest [`RunningServer::shutdown`] waits for running statements before closing their
    /// connections anyway.
    pub shutdown_wait_max: Duration,
}

impl ServerConfig {
    /// Listen on `listen` without a password, with default limits.
    pub fn new(listen: SocketAddr) -> Self {
        ServerConfig {
            listen,
            password: None,
            connections_max: 100,
            startup_wait_max: Duration::from_secs(60),
            shutdown_wait_max: Duration::from_secs(10),
            tls: None,
            require_tls: false,
        }
    }

    /// Refuses what [`start`] would refuse without binding anything: a non-loopback address
    /// without a password, an empty password, no connections allowed.
    pub fn check(&self) -> Result<(), Error> {
        match &self.password {
            None if !self.listen.ip().is_loopback() => {
                return Err(Error::PasswordRequired { addr: self.listen })
            }
            Some(password) if password.is_empty() => return Err(Error::EmptyPassword),
            _ => {}
        }
        if self.connections_max == 0 {
            return Err(Error::NoConnections);
        }
        if self.require_tls && self.tls.is_none() {
            return Err(Error::Tls {
                message: "requiring TLS needs a certificate and key".into(),
            });
        }
        Ok(())
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("password", &self.password.as_ref().map(|_| "<set>"))
            .field("connections_max", &self.connections_max)
            .field("startup_wait_max", &self.startup_wait_max)
            .field("shutdown_wait_max", &self.shutdown_wait_max)
            .field("tls", &self.tls.is_some())
            .field("require_tls", &self.require_tls)
            .finish()
    }
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Without a password anyone who can reach the port could connect as superuser.
    #[error(
        "refusing to listen on {addr} without a password: connections are trusted without one, \
         so only a loopback address (127.0.0.1 or ::1) is allowed; set a password to listen on \
         {addr}"
    )]
    PasswordRequired {
        /// The non-loopback address asked for.
        addr: SocketAddr,
    },
    /// An empty password would let anyone in.
    #[error("the password is empty")]
    EmptyPassword,
    /// `connections_max` of zero would refuse everyone.
    #[error("connections_max must be at least 1")]
    NoConnections,
    /// The TLS certificate or key could not be used.
    #[error("TLS: {message}")]
    Tls {
        /// What is wrong with them.
        message: String,
    },
    /// The address could not be bound (in use, not local, no permission).
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

/// A server accepting connections in the background.
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    accept_loop: JoinHandle<()>,
}

impl RunningServer {
    /// The address the server listens on, with the actual port when 0 was asked for.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, lets each connection finish the statement it is running, closes the
    /// connections (idle ones at once, with `57P01`), and returns. Statements still running
    /// after `shutdown_wait_max` lose their connection.
    ///
    /// Dropping a `RunningServer` without calling this stops the server too, without waiting.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.accept_loop.await;
    }
}

/// Starts serving `engine` as configured; returns once the address is bound.
pub async fn start(engine: Arc<Engine>, config: ServerConfig) -> Result<RunningServer, Error> {
    start_with_backend(engine, config).await
}

/// Starts serving any [`Backend`]; [`start`] is this with Basalt's engine.
pub async fn start_with_backend<B: Backend>(
    backend: Arc<B>,
    config: ServerConfig,
) -> Result<RunningServer, Error> {
    config.check()?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: config.listen,
        source,
    })?;
    let shared = Arc::new(Shared {
        backend,
        auth: Auth::new(config.password),
        driver: AuthDriver::new(ServerParameters),
        cancels: std::sync::Mutex::default(),
        role_connections: std::sync::Mutex::default(),
        require_tls: config.require_tls,
    });
    let limits = Limits {
        connections_max: config.connections_max,
        startup_wait_max: config.startup_wait_max,
        shutdown_wait_max: config.shutdown_wait_max,
    };
    let (stop, stopped) = watch::channel(false);
    let accept_loop = tokio::spawn(accept_loop(listener, shared, stopped, limits, config.tls));
    Ok(RunningServer {
        local_addr,
        stop,
        accept_loop,
    })
}

#[derive(Clone, Copy)]
struct Limits {
    connections_max: usize,
    startup_wait_max: Duration,
    shutdown_wait_max: Duration,
}

/// True once shutdown was asked for, or the `RunningServer` was dropped.
fn stopping(stopped: &watch::Receiver<bool>) -> bool {
    *stopped.borrow() || stopped.has_changed().is_err()
}

/// Resolves when shutdown is asked for, or the `RunningServer` is dropped.
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    // The borrow guard is dropped here, so callers' futures stay `Send`.
    let _ = stopped.wait_for(|stop| *stop).await;
}

async fn accept_loop<B: Backend>(
    listener: TcpListener,
    shared: Arc<Shared<B>>,
    mut stopped: watch::Receiver<bool>,
    limits: Limits,
    tls: Option<TlsAcceptor>,
) {
    let slots = Arc::new(Semaphore::new(limits.connections_max));
    let mut connections = JoinSet::new();
    let for_connections = stopped.clone();
    loop {
        tokio::select! {
            _ = stop_requested(&mut stopped) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, _peer)) => {
                    let slot = Arc::clone(&slots).try_acquire_owned().ok();
                    let refusal = slot.is_none().then(|| {
                        SqlError::fatal(
                            code::TOO_MANY_CONNECTIONS,
                            "sorry, too many clients already",
                        )
                    });
                    let connection = Arc::new(Connection::new(Arc::clone(&shared), refusal));
                    let stopped = for_connections.clone();
                    let tls = tls.clone();
                    connections.spawn(async move {
                        let Some((tcp, hangup)) = watch_hangup(tcp) else {
                            return;
                        };
                        let watched = Arc::clone(&connection);
                        let hung_up = async move {
                            if let Some(hangup) = hangup {
                                wait_for_hangup(hangup).await;
                                watched.client_gone();
                            }
                            std::future::pending::<()>().await
                        };
                        let served = Arc::clone(&connection);
                        tokio::select! {
                            () = serve(tcp, served, stopped, limits.startup_wait_max, tls) => {}
                            () = hung_up => {}
                        }
                        // However the connection ended (a failed write can end it before the
                        // hang-up watcher fires), a statement still running for it, such as
                        // the query behind a result stream or a suspended portal, is
                        // cancelled rather than left to run to its end.
                        connection.client_gone();
                        drop(slot);
                    });
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    eprintln!("basalt: accepting a connection failed: {error}");
                    sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    // Connections see the same flag and close between statements.
    let drained = timeout(limits.shutdown_wait_max, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.shutdown().await;
    }
}

/// The client's socket, and a second handle on it that only watches for the client hanging
/// up (`None` if the socket cannot be duplicated). The message loop does not read while a
/// statement runs, so without it a client that goes away would be noticed only when the
/// statement's result is written; PostgreSQL's `client_connection_check_interval` watches the
/// same way (POLLRDHUP). `None` altogether when the socket cannot be taken out of the runtime.
fn watch_hangup(tcp: TcpStream) -> Option<(TcpStream, Option<TcpStream>)> {
    let std_tcp = tcp.into_std().ok()?;
    let watcher = std_tcp
        .try_clone()
        .ok()
        .and_then(|clone| TcpStream::from_std(clone).ok());
    let tcp = TcpStream::from_std(std_tcp).ok()?;
    Some((tcp, watcher))
}

/// Resolves once the client has closed its end of `watcher` (or the socket failed). Data the
/// client sends is left for the message loop to read: each readiness without a hangup is
/// cleared and the next one awaited.
async fn wait_for_hangup(watcher: TcpStream) {
    loop {
        match watcher.ready(Interest::READABLE).await {
            Ok(ready) if ready.is_read_closed() => return,
            Ok(_) => {
                let _ = watcher.try_io(Interest::READABLE, || {
                    Err::<(), _>(std::io::ErrorKind::WouldBlock.into())
                });
            }
            Err(_) => return,
        }
    }
}

/// One connection's message loop, after pgwire's own but stopping between messages on
/// shutdown.
async fn serve<B: Backend>(
    tcp: TcpStream,
    connection: Arc<Connection<B>>,
    mut stopped: watch::Receiver<bool>,
    startup_wait_max: Duration,
    tls: Option<TlsAcceptor>,
) {
    let startup_deadline = Instant::now() + startup_wait_max;
    let negotiated = tokio::select! {
        negotiated = negotiate_tls(tcp, tls) => negotiated,
        _ = sleep_until(startup_deadline) => return,
        _ = stop_requested(&mut stopped) => return,
    };
    let Ok(Some(mut socket)) = negotiated else {
        return;
    };
    loop {
        let starting = matches!(
            socket.state(),
            PgWireConnectionState::AwaitingStartup
                | PgWireConnectionState::AuthenticationInProgress
        );
        if stopping(&stopped) {
            if starting {
                let _ = socket.close().await;
            } else {
                let bye = SqlError::fatal(
                    code::ADMIN_SHUTDOWN,
                    "terminating connection due to administrator command",
                );
                send_fatal(&mut socket, bye.into()).await;
            }
            return;
        }
        // A message already waiting is served before a shutdown is noticed. pgwire's decoder
        // can panic on a truncated message; that ends this connection like any bad message.
        let message = tokio::select! {
            biased;
            message = AssertUnwindSafe(socket.next()).catch_unwind() => message,
            _ = sleep_until(startup_deadline), if starting => return,
            _ = stop_requested(&mut stopped) => continue,
        };
        let message = match message {
            Ok(Some(Ok(message))) => message,
            Ok(Some(Err(error))) => {
                // A length above the protocol's limit (1 GB - 1 for Query, Parse, Bind and
                // CopyData, 10,000 bytes for a startup packet and the other messages) is refused
                // from the header, before any of the body is read, in PostgreSQL's words.
                let message = match error {
                    PgWireError::MessageTooLarge(..) if starting => {
                        "invalid length of startup packet".to_owned()
                    }
                    PgWireError::MessageTooLarge(..) => "invalid message length".to_owned(),
                    other => other.to_string(),
                };
                let error = SqlError::fatal(code::PROTOCOL_VIOLATION, message);
                send_fatal(&mut socket, error.into()).await;
                return;
            }
            Err(_panic) => {
                let error = SqlError::fatal(code::PROTOCOL_VIOLATION, "invalid message format");
                send_fatal(&mut socket, error.into()).await;
                return;
            }
            Ok(None) => return,
        };
        if matches!(message, PgWireFrontendMessage::Terminate(_)) {
            return;
        }
        let extended = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => message.is_extended_query(),
        };
        let cancel_request = matches!(message, PgWireFrontendMessage::CancelRequest(_));
        // Statements catch their own panics; this catches one in the protocol code itself.
        let processed = AssertUnwindSafe(process_message(
            message,
            &mut socket,
            Arc::clone(&connection),
            Arc::clone(&connection),
            Arc::clone(&connection),
            Arc::clone(&connection),
            Arc::clone(&connection),
        ))
        .catch_unwind()
        .await
        .unwrap_or_else(|_panic| {
            Err(SqlError::fatal(
                code::INTERNAL_ERROR,
                "internal error while handling a message",
            )
            .into())
        });
        match processed {
            Ok(()) => {}
            // As PostgreSQL: a FATAL error is the connection's last message.
            Err(error) if error.is_fatal() => {
                send_fatal(&mut socket, error).await;
                return;
            }
            Err(error) => {
                if process_error(&mut socket, error, extended).await.is_err() {
                    return;
                }
            }
        }
        if cancel_request {
            return;
        }
    }
}

/// Sends `error` as the connection's last message and closes it.
async fn send_fatal<S>(socket: &mut S, error: PgWireError)
where
    S: futures::Sink<PgWireBackendMessage> + Unpin,
{
    let info = ErrorInfo::from(error);
    let _ = socket
        .send(PgWireBackendMessage::ErrorResponse(info.into()))
        .await;
    let _ = socket.close().await;
}
